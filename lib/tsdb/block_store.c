/* Block listing, deletion and the cache of open blocks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/objstore.h"
#include "tsdb/block.h"
#include "tsdb/block_format.h"

/* ---- listing ---------------------------------------------------------- */

void
tr_block_id_list_fini(struct tr_block_id_list *l)
{
    tr_free(l->ids);
    memset(l, 0, sizeof(*l));
}

struct list_ctx {
    size_t prefix_len;
    struct tr_block_id_list *out;
};

/* Keeps "<prefix><id>/meta.json" keys. */
static int
on_list(void *arg, const struct tr_objstore_entry *e, struct tr_err *err)
{
    struct list_ctx *ctx = arg;
    const char *rest = e->key + ctx->prefix_len;
    static const char suffix[] = "/" TR_BLOCK_FILE_META;
    if (e->is_prefix || strlen(rest) != TR_BLOCK_ID_LEN + sizeof(suffix) - 1 ||
        strcmp(rest + TR_BLOCK_ID_LEN, suffix) != 0 ||
        !tr_block_id_valid(rest, TR_BLOCK_ID_LEN)) {
        return TR_OK;
    }
    struct tr_block_id_list *l = ctx->out;
    if (l->len == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        void *p = tr_realloc(l->ids, cap * sizeof(*l->ids));
        if (p == NULL) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot list blocks: out of "
                              "memory");
        }
        l->ids = p;
        l->cap = cap;
    }
    memcpy(l->ids[l->len], rest, TR_BLOCK_ID_LEN);
    l->ids[l->len][TR_BLOCK_ID_LEN] = '\0';
    l->len++;
    return TR_OK;
}

int
tr_block_list(struct tr_objstore *os, const char *tenant,
              struct tr_block_id_list *out, struct tr_err *err)
{
    out->len = 0;
    if (tr_block_tenant_check(tenant, err) != TR_OK) {
        return tr_err_prefix(err, "cannot list blocks");
    }
    char prefix[TR_OBJSTORE_KEY_MAX + 1];
    snprintf(prefix, sizeof(prefix), "%s/%s/", tenant, TR_BLOCK_DIR);
    struct list_ctx ctx = {strlen(prefix), out};
    /* Keys come in order, so ids come out sorted. */
    int rc = tr_objstore_list(os, prefix, NULL, on_list, &ctx, err);
    if (rc != TR_OK) {
        out->len = 0;
        return tr_err_prefix(err, "cannot list blocks of tenant %s", tenant);
    }
    return TR_OK;
}

/* ---- deleting --------------------------------------------------------- */

struct key_list {
    char **keys;
    size_t len;
    size_t cap;
};

static int
collect_key(void *arg, const struct tr_objstore_entry *e, struct tr_err *err)
{
    struct key_list *kl = arg;
    if (e->is_prefix) {
        return TR_OK;
    }
    if (kl->len == kl->cap) {
        size_t cap = kl->cap == 0 ? 8 : kl->cap * 2;
        char **p = tr_realloc(kl->keys, cap * sizeof(*p));
        if (p == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        kl->keys = p;
        kl->cap = cap;
    }
    kl->keys[kl->len] = tr_strdup(e->key);
    if (kl->keys[kl->len] == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    kl->len++;
    return TR_OK;
}

int
tr_block_delete(struct tr_objstore *os, const char *tenant, const char *id,
                struct tr_err *err)
{
    char key[TR_OBJSTORE_KEY_MAX + 1];
    int rc = tr_block_tenant_check(tenant, err);
    if (rc == TR_OK && !tr_block_id_valid(id, strlen(id))) {
        rc = tr_err_set(err, TR_EINVAL, "invalid block id \"%s\"", id);
    }
    if (rc == TR_OK) {
        rc =
            tr_block_key(key, sizeof(key), tenant, id, TR_BLOCK_FILE_META, err);
    }
    /* meta.json first: from then on readers no longer see the block. */
    if (rc == TR_OK) {
        rc = tr_objstore_delete(os, key, err);
    }
    struct key_list kl = {0};
    if (rc == TR_OK) {
        char prefix[TR_OBJSTORE_KEY_MAX + 1];
        snprintf(prefix, sizeof(prefix), "%s/%s/%s/", tenant, TR_BLOCK_DIR, id);
        /* Collect first: deleting while listing a directory is unsafe. */
        rc = tr_objstore_list(os, prefix, NULL, collect_key, &kl, err);
    }
    for (size_t i = 0; i < kl.len; i++) {
        if (rc == TR_OK) {
            rc = tr_objstore_delete(os, kl.keys[i], err);
        }
        tr_free(kl.keys[i]);
    }
    tr_free(kl.keys);
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot delete block %s", id);
    }
    return TR_OK;
}

/* ---- cache of open blocks --------------------------------------------- */

struct cache_entry {
    char tenant[TR_BLOCK_TENANT_MAX + 1];
    char id[TR_BLOCK_ID_LEN + 1];
    struct tr_block *block; /* the cache's reference */
    uint64_t used;          /* tick of the last get */
};

struct tr_block_cache {
    struct tr_objstore *os;
    pthread_mutex_t lock;
    struct cache_entry *entries;
    size_t len;
    size_t max;
    uint64_t tick;
};

struct tr_block_cache *
tr_block_cache_create(struct tr_objstore *os, size_t max_blocks)
{
    struct tr_block_cache *c = tr_calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->os = os;
    c->max = max_blocks == 0 ? 256 : max_blocks;
    c->entries = tr_calloc(c->max, sizeof(*c->entries));
    if (c->entries == NULL) {
        tr_free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void
tr_block_cache_destroy(struct tr_block_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->len; i++) {
        tr_block_release(c->entries[i].block);
    }
    pthread_mutex_destroy(&c->lock);
    tr_free(c->entries);
    tr_free(c);
}

/* Entry for (tenant, id) or NULL; caller holds the lock. */
static struct cache_entry *
cache_find(struct tr_block_cache *c, const char *tenant, const char *id)
{
    for (size_t i = 0; i < c->len; i++) {
        if (strcmp(c->entries[i].id, id) == 0 &&
            strcmp(c->entries[i].tenant, tenant) == 0) {
            return &c->entries[i];
        }
    }
    return NULL;
}

int
tr_block_cache_get(struct tr_block_cache *c, const char *tenant, const char *id,
                   struct tr_block **out, struct tr_err *err)
{
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = cache_find(c, tenant, id);
    if (e != NULL) {
        e->used = ++c->tick;
        tr_block_retain(e->block);
        *out = e->block;
        pthread_mutex_unlock(&c->lock);
        return TR_OK;
    }
    pthread_mutex_unlock(&c->lock);

    /* Open without the lock (it does network I/O); a racing get of the
     * same block may open it too, and the loser's copy is dropped. */
    struct tr_block *b = NULL;
    int rc = tr_block_open(c->os, tenant, id, &b, err);
    if (rc != TR_OK) {
        return rc;
    }
    pthread_mutex_lock(&c->lock);
    e = cache_find(c, tenant, id);
    if (e != NULL) {
        tr_block_release(b);
        b = e->block;
    } else {
        if (c->len == c->max) {
            size_t lru = 0;
            for (size_t i = 1; i < c->len; i++) {
                if (c->entries[i].used < c->entries[lru].used) {
                    lru = i;
                }
            }
            tr_block_release(c->entries[lru].block);
            c->entries[lru] = c->entries[--c->len];
        }
        e = &c->entries[c->len++];
        strcpy(e->tenant, tenant);
        strcpy(e->id, id);
        e->block = b;
    }
    e->used = ++c->tick;
    tr_block_retain(b);
    *out = b;
    pthread_mutex_unlock(&c->lock);
    return TR_OK;
}

void
tr_block_cache_evict(struct tr_block_cache *c, const char *tenant,
                     const char *id)
{
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = cache_find(c, tenant, id);
    if (e != NULL) {
        tr_block_release(e->block);
        *e = c->entries[--c->len];
    }
    pthread_mutex_unlock(&c->lock);
}
