/*
 * Which blocks a tenant has in object storage. Listing a bucket is slow
 * and blocks appear only every couple of hours, so each tenant's list
 * (ids with their time ranges from meta.json) is reused for a refresh
 * interval; open blocks (their index tables) stay in a tr_block_cache.
 */
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "querier_internal.h"
#include "tsdb/block.h"

struct block_ref {
    char id[TR_BLOCK_ID_LEN + 1];
    int64_t mint; /* inclusive */
    int64_t maxt; /* exclusive */
};

struct tenant_blocks {
    char tenant[TR_BLOCK_TENANT_MAX + 1];
    struct block_ref *blocks;
    size_t n;
    int64_t listed_at_ns; /* tr_mono_ns() */
    struct tenant_blocks *next;
};

struct querier_blocks {
    struct tr_objstore *os;
    struct tr_block_cache *cache;
    int64_t refresh_ns;
    pthread_mutex_t lock;
    struct tenant_blocks *tenants;
};

struct querier_blocks *
querier_blocks_create(struct tr_objstore *os, size_t cache_size,
                      int64_t refresh_ns)
{
    struct querier_blocks *b = tr_calloc(1, sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    b->os = os;
    b->refresh_ns = refresh_ns;
    pthread_mutex_init(&b->lock, NULL);
    b->cache = tr_block_cache_create(os, cache_size);
    if (b->cache == NULL) {
        querier_blocks_destroy(b);
        return NULL;
    }
    return b;
}

void
querier_blocks_destroy(struct querier_blocks *b)
{
    if (b == NULL) {
        return;
    }
    while (b->tenants != NULL) {
        struct tenant_blocks *t = b->tenants;
        b->tenants = t->next;
        tr_free(t->blocks);
        tr_free(t);
    }
    tr_block_cache_destroy(b->cache);
    pthread_mutex_destroy(&b->lock);
    tr_free(b);
}

static const struct block_ref *
find_ref(const struct tenant_blocks *t, const char *id)
{
    for (size_t i = 0; t != NULL && i < t->n; i++) {
        if (strcmp(t->blocks[i].id, id) == 0) {
            return &t->blocks[i];
        }
    }
    return NULL;
}

/* Lists the tenant's blocks again; ranges of known ids are reused, new
 * ones read from meta.json. Called with the lock held. */
static int
relist(struct querier_blocks *b, struct tenant_blocks *t, struct tr_err *err)
{
    struct tr_block_id_list ids = {0};
    int rc = tr_block_list(b->os, t->tenant, &ids, err);
    if (rc != TR_OK) {
        tr_block_id_list_fini(&ids);
        return rc;
    }
    struct block_ref *refs =
        tr_calloc(ids.len > 0 ? ids.len : 1, sizeof(*refs));
    if (refs == NULL) {
        tr_block_id_list_fini(&ids);
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < ids.len; i++) {
        const struct block_ref *known = find_ref(t, ids.ids[i]);
        if (known != NULL) {
            refs[n++] = *known;
            continue;
        }
        struct tr_block_meta meta;
        rc = tr_block_meta_read(b->os, t->tenant, ids.ids[i], &meta, err);
        if (rc == TR_ENOTFOUND) {
            continue; /* deleted since the listing */
        }
        if (rc != TR_OK) {
            tr_free(refs);
            tr_block_id_list_fini(&ids);
            return rc;
        }
        memcpy(refs[n].id, meta.id, sizeof(refs[n].id));
        refs[n].mint = meta.mint;
        refs[n].maxt = meta.maxt;
        n++;
    }
    tr_block_id_list_fini(&ids);
    tr_free(t->blocks);
    t->blocks = refs;
    t->n = n;
    t->listed_at_ns = tr_mono_ns();
    return TR_OK;
}

int
querier_blocks_for_range(struct querier_blocks *b, const char *tenant,
                         int64_t mint, int64_t maxt, struct tr_block ***out,
                         size_t *n, struct tr_err *err)
{
    *out = NULL;
    *n = 0;
    if (strlen(tenant) > TR_BLOCK_TENANT_MAX) {
        return TR_OK; /* no such tenant can have blocks */
    }
    char ids[64][TR_BLOCK_ID_LEN + 1];
    char(*want)[TR_BLOCK_ID_LEN + 1] = ids;
    size_t n_want = 0;
    int rc = TR_OK;

    pthread_mutex_lock(&b->lock);
    struct tenant_blocks *t = b->tenants;
    while (t != NULL && strcmp(t->tenant, tenant) != 0) {
        t = t->next;
    }
    if (t == NULL) {
        t = tr_calloc(1, sizeof(*t));
        if (t == NULL) {
            pthread_mutex_unlock(&b->lock);
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        strcpy(t->tenant, tenant);
        t->next = b->tenants;
        b->tenants = t;
    }
    if (t->listed_at_ns == 0 ||
        tr_mono_ns() - t->listed_at_ns >= b->refresh_ns) {
        rc = relist(b, t, err);
        if (rc != TR_OK) {
            pthread_mutex_unlock(&b->lock);
            return tr_err_prefix(err, "cannot list blocks of tenant %s",
                                 tenant);
        }
    }
    if (t->n > 64) {
        want = tr_malloc(t->n * sizeof(*want));
        if (want == NULL) {
            pthread_mutex_unlock(&b->lock);
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->blocks[i].maxt > mint && t->blocks[i].mint <= maxt) {
            memcpy(want[n_want++], t->blocks[i].id, sizeof(want[0]));
        }
    }
    pthread_mutex_unlock(&b->lock);

    if (n_want > 0) {
        *out = tr_calloc(n_want, sizeof(**out));
        if (*out == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
            goto done;
        }
    }
    for (size_t i = 0; i < n_want; i++) {
        struct tr_block *blk = NULL;
        rc = tr_block_cache_get(b->cache, tenant, want[i], &blk, err);
        if (rc == TR_ENOTFOUND) {
            rc = TR_OK; /* deleted (compacted away) since it was listed */
            continue;
        }
        if (rc != TR_OK) {
            for (size_t k = 0; k < *n; k++) {
                tr_block_release((*out)[k]);
            }
            tr_free(*out);
            *out = NULL;
            *n = 0;
            goto done;
        }
        (*out)[(*n)++] = blk;
    }
done:
    if (want != ids) {
        tr_free(want);
    }
    return rc;
}
