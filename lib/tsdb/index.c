#include "tsdb/index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

/* ==== private structures ================================================
 *
 * names: open-addressing table (linear probing, power-of-two capacity) of
 * name entries; each name entry owns a table of value entries of the same
 * kind; each value entry holds its postings list. Strings point into an
 * append-only pool owned by the index.
 */

#define INLINE_IDS 2
#define POOL_BLOCK 16384
#define POOL_BIG 1024 /* strings at least this long get their own block */

/* Postings list: up to INLINE_IDS ids live inside the struct. */
struct plist {
    uint32_t len;
    uint32_t cap; /* <= INLINE_IDS: inline */
    union {
        uint32_t inl[INLINE_IDS];
        uint32_t *heap;
    } u;
};

struct value_entry {
    const char *str; /* NULL: free slot */
    uint32_t len;
    uint32_t hash;
    struct plist ids;
};

struct name_entry {
    const char *str; /* NULL: free slot */
    uint32_t len;
    uint32_t hash;
    struct value_entry *values;
    uint32_t values_cap;
    uint32_t values_count;
    size_t series; /* sum of the values' postings lengths */
    bool dirty;    /* tr_index_remove: a removed series has this name */
};

struct pool_block {
    struct pool_block *next;
    size_t used;
    size_t cap;
    char data[];
};

struct tr_index {
    struct name_entry *names;
    uint32_t names_cap;
    uint32_t names_count;
    struct plist all;
    struct pool_block *pool;
    size_t memory;
    size_t values_total; /* value entries in all tables */
    size_t values_live;  /* of which with a non-empty postings list */
    uint32_t last_id;
    bool any;
};

/* ==== postings lists ==================================================== */

static uint32_t *
plist_ids(struct plist *p)
{
    return p->cap <= INLINE_IDS ? p->u.inl : p->u.heap;
}

static const uint32_t *
plist_cids(const struct plist *p)
{
    return p->cap <= INLINE_IDS ? p->u.inl : p->u.heap;
}

static void
plist_fini(struct plist *p)
{
    if (p->cap > INLINE_IDS) {
        tr_free(p->u.heap);
    }
}

/* Makes room for one more id. */
static int
plist_reserve(struct tr_index *ix, struct plist *p)
{
    uint32_t cap = p->cap < INLINE_IDS ? INLINE_IDS : p->cap;
    if (p->len < cap) {
        return TR_OK;
    }
    uint32_t ncap = cap < 8 ? 8 : cap + cap / 2;
    uint32_t *ids;
    if (p->cap <= INLINE_IDS) {
        ids = tr_malloc(ncap * sizeof(*ids));
        if (ids != NULL) {
            memcpy(ids, p->u.inl, p->len * sizeof(*ids));
        }
    } else {
        ids = tr_realloc(p->u.heap, ncap * sizeof(*ids));
    }
    if (ids == NULL) {
        return TR_ENOMEM;
    }
    ix->memory += (ncap - (p->cap > INLINE_IDS ? p->cap : 0)) * sizeof(*ids);
    p->u.heap = ids;
    p->cap = ncap;
    return TR_OK;
}

static void
plist_push(struct plist *p, uint32_t id)
{
    plist_ids(p)[p->len++] = id;
}

void
tr_postings_fini(struct tr_postings *p)
{
    tr_free(p->ids);
    memset(p, 0, sizeof(*p));
}

static int
postings_reserve(struct tr_postings *p, size_t n)
{
    if (n <= p->cap) {
        return TR_OK;
    }
    uint32_t *ids = tr_realloc(p->ids, (n == 0 ? 1 : n) * sizeof(*ids));
    if (ids == NULL) {
        return TR_ENOMEM;
    }
    p->ids = ids;
    p->cap = n;
    return TR_OK;
}

/* First index i >= lo with ids[i] >= x (ids sorted). */
static size_t
lower_bound(const uint32_t *ids, size_t lo, size_t n, uint32_t x)
{
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int
tr_postings_intersect(const struct tr_postings *a, const struct tr_postings *b,
                      struct tr_postings *out)
{
    if (a->len > b->len) {
        const struct tr_postings *t = a;
        a = b;
        b = t;
    }
    out->len = 0;
    if (postings_reserve(out, a->len) != TR_OK) {
        return TR_ENOMEM;
    }
    /* Binary search from the short list when the lengths differ a lot. */
    bool gallop = a->len * 32 < b->len;
    size_t i = 0, j = 0;
    while (i < a->len && j < b->len) {
        if (gallop) {
            j = lower_bound(b->ids, j, b->len, a->ids[i]);
            if (j < b->len && b->ids[j] == a->ids[i]) {
                out->ids[out->len++] = a->ids[i];
                j++;
            }
            i++;
        } else if (a->ids[i] < b->ids[j]) {
            i++;
        } else if (a->ids[i] > b->ids[j]) {
            j++;
        } else {
            out->ids[out->len++] = a->ids[i];
            i++;
            j++;
        }
    }
    return TR_OK;
}

void
tr_postings_subtract(struct tr_postings *a, const struct tr_postings *b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->len) {
        while (j < b->len && b->ids[j] < a->ids[i]) {
            j++;
        }
        if (j < b->len && b->ids[j] == a->ids[i]) {
            i++;
            continue;
        }
        a->ids[k++] = a->ids[i++];
    }
    a->len = k;
}

/* ==== string pool ====================================================== */

static const char *
pool_strdup(struct tr_index *ix, const char *s, size_t n)
{
    struct pool_block *b = ix->pool;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n >= POOL_BIG ? n : POOL_BLOCK;
        struct pool_block *nb = tr_malloc(sizeof(*nb) + cap);
        if (nb == NULL) {
            return NULL;
        }
        nb->used = 0;
        nb->cap = cap;
        ix->memory += sizeof(*nb) + cap;
        if (n >= POOL_BIG && b != NULL) {
            /* Keep filling the current small block. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            ix->pool = nb;
        }
        b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    b->used += n;
    return p;
}

/* ==== hash tables ====================================================== */

static uint32_t
str_hash(const char *s, size_t n)
{
    return (uint32_t)XXH3_64bits(s, n);
}

/* Generic probe over an array of entries whose first fields are
 * (str, len, hash); returns the slot holding s or the free slot for it. */
#define PROBE(slots, cap, s, n, h, out)                                       \
    do {                                                                      \
        uint32_t mask_ = (cap) - 1;                                           \
        uint32_t i_ = (h) & mask_;                                            \
        for (;;) {                                                            \
            if ((slots)[i_].str == NULL ||                                    \
                ((slots)[i_].hash == (h) && (slots)[i_].len == (n) &&         \
                 memcmp((slots)[i_].str, (s), (n)) == 0)) {                   \
                (out) = &(slots)[i_];                                         \
                break;                                                        \
            }                                                                 \
            i_ = (i_ + 1) & mask_;                                            \
        }                                                                     \
    } while (0)

static struct name_entry *
name_find(const struct tr_index *ix, const char *s, size_t n)
{
    struct name_entry *e;
    if (ix->names_cap == 0) {
        return NULL;
    }
    uint32_t h = str_hash(s, n);
    PROBE(ix->names, ix->names_cap, s, n, h, e);
    return e->str != NULL ? e : NULL;
}

static struct value_entry *
value_find(const struct name_entry *ne, const char *s, size_t n)
{
    struct value_entry *e;
    if (ne->values_cap == 0) {
        return NULL;
    }
    uint32_t h = str_hash(s, n);
    PROBE(ne->values, ne->values_cap, s, n, h, e);
    return e->str != NULL ? e : NULL;
}

/* Grows a table when one more entry would pass a load of 4/5. */
static bool
needs_grow(uint32_t count, uint32_t cap)
{
    return (uint64_t)(count + 1) * 5 > (uint64_t)cap * 4;
}

static int
names_grow(struct tr_index *ix)
{
    uint32_t cap = ix->names_cap == 0 ? 16 : ix->names_cap * 2;
    struct name_entry *t = tr_calloc(cap, sizeof(*t));
    if (t == NULL) {
        return TR_ENOMEM;
    }
    for (uint32_t i = 0; i < ix->names_cap; i++) {
        struct name_entry *old = &ix->names[i], *e;
        if (old->str != NULL) {
            PROBE(t, cap, old->str, old->len, old->hash, e);
            *e = *old;
        }
    }
    ix->memory += (size_t)(cap - ix->names_cap) * sizeof(*t);
    tr_free(ix->names);
    ix->names = t;
    ix->names_cap = cap;
    return TR_OK;
}

static int
values_grow(struct tr_index *ix, struct name_entry *ne)
{
    uint32_t cap = ne->values_cap == 0 ? 4 : ne->values_cap * 2;
    struct value_entry *t = tr_calloc(cap, sizeof(*t));
    if (t == NULL) {
        return TR_ENOMEM;
    }
    for (uint32_t i = 0; i < ne->values_cap; i++) {
        struct value_entry *old = &ne->values[i], *e;
        if (old->str != NULL) {
            PROBE(t, cap, old->str, old->len, old->hash, e);
            *e = *old;
        }
    }
    ix->memory += (size_t)(cap - ne->values_cap) * sizeof(*t);
    tr_free(ne->values);
    ne->values = t;
    ne->values_cap = cap;
    return TR_OK;
}

static struct name_entry *
name_get_or_add(struct tr_index *ix, const char *s, size_t n)
{
    struct name_entry *e = name_find(ix, s, n);
    if (e != NULL) {
        return e;
    }
    if (needs_grow(ix->names_count, ix->names_cap) &&
        names_grow(ix) != TR_OK) {
        return NULL;
    }
    const char *copy = pool_strdup(ix, s, n);
    if (copy == NULL) {
        return NULL;
    }
    uint32_t h = str_hash(s, n);
    PROBE(ix->names, ix->names_cap, s, n, h, e);
    e->str = copy;
    e->len = (uint32_t)n;
    e->hash = h;
    ix->names_count++;
    return e;
}

static struct value_entry *
value_get_or_add(struct tr_index *ix, struct name_entry *ne, const char *s,
                 size_t n)
{
    struct value_entry *e = value_find(ne, s, n);
    if (e != NULL) {
        return e;
    }
    if (needs_grow(ne->values_count, ne->values_cap) &&
        values_grow(ix, ne) != TR_OK) {
        return NULL;
    }
    const char *copy = pool_strdup(ix, s, n);
    if (copy == NULL) {
        return NULL;
    }
    uint32_t h = str_hash(s, n);
    PROBE(ne->values, ne->values_cap, s, n, h, e);
    e->str = copy;
    e->len = (uint32_t)n;
    e->hash = h;
    ne->values_count++;
    ix->values_total++;
    return e;
}

/* ==== create / destroy / add =========================================== */

struct tr_index *
tr_index_create(void)
{
    struct tr_index *ix = tr_calloc(1, sizeof(*ix));
    if (ix != NULL) {
        ix->memory = sizeof(*ix);
    }
    return ix;
}

/* Frees the tables, postings and pool of ix, not ix itself. */
static void
destroy_tables(struct tr_index *ix)
{
    for (uint32_t i = 0; i < ix->names_cap; i++) {
        struct name_entry *ne = &ix->names[i];
        for (uint32_t j = 0; j < ne->values_cap; j++) {
            plist_fini(&ne->values[j].ids);
        }
        tr_free(ne->values);
    }
    tr_free(ix->names);
    plist_fini(&ix->all);
    while (ix->pool != NULL) {
        struct pool_block *next = ix->pool->next;
        tr_free(ix->pool);
        ix->pool = next;
    }
}

void
tr_index_destroy(struct tr_index *ix)
{
    if (ix == NULL) {
        return;
    }
    destroy_tables(ix);
    tr_free(ix);
}

int
tr_index_add(struct tr_index *ix, uint32_t id, const struct tr_labels *ls,
             struct tr_err *err)
{
    if (ix->any && id <= ix->last_id) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot index series %u: ids must increase (last "
                          "%u)",
                          (unsigned)id, (unsigned)ix->last_id);
    }
    size_t n = tr_labels_count(ls);
    struct value_entry *stack[32];
    struct value_entry **entries = stack;
    struct name_entry *names_stack[32];
    struct name_entry **names = names_stack;
    int rc = TR_ENOMEM;
    if (n > 32) {
        entries = tr_malloc(n * sizeof(*entries));
        names = tr_malloc(n * sizeof(*names));
        if (entries == NULL || names == NULL) {
            goto done;
        }
    }
    /* Phase 1 may fail: find or make every entry and room for the id. */
    struct tr_labels_iter it;
    struct tr_label l;
    size_t k = 0;
    tr_labels_iter_init(&it, ls);
    while (tr_labels_iter_next(&it, &l)) {
        struct name_entry *ne = name_get_or_add(ix, l.name, l.name_len);
        struct value_entry *ve =
            ne != NULL ? value_get_or_add(ix, ne, l.value, l.value_len) : NULL;
        if (ve == NULL || plist_reserve(ix, &ve->ids) != TR_OK) {
            goto done;
        }
        entries[k++] = ve;
    }
    if (plist_reserve(ix, &ix->all) != TR_OK) {
        goto done;
    }
    /* Names may have moved while the table grew: look them up again. */
    tr_labels_iter_init(&it, ls);
    for (k = 0; tr_labels_iter_next(&it, &l); k++) {
        names[k] = name_find(ix, l.name, l.name_len);
    }
    /* Phase 2 cannot fail. */
    for (k = 0; k < n; k++) {
        if (entries[k]->ids.len == 0) {
            ix->values_live++;
        }
        plist_push(&entries[k]->ids, id);
        names[k]->series++;
    }
    plist_push(&ix->all, id);
    ix->last_id = id;
    ix->any = true;
    rc = TR_OK;
done:
    if (entries != stack) {
        tr_free(entries);
    }
    if (names != names_stack) {
        tr_free(names);
    }
    if (rc != TR_OK) {
        tr_err_set(err, TR_ENOMEM, "cannot index series %u: out of memory",
                   (unsigned)id);
    }
    return rc;
}

/* ==== remove and compact =============================================== */

/* True when sorted ids[0..n) holds x. */
static bool
ids_contain(const uint32_t *ids, size_t n, uint32_t x)
{
    size_t i = lower_bound(ids, 0, n, x);
    return i < n && ids[i] == x;
}

/* Drops the ids of p found in ids[0..n); returns how many were dropped. */
static uint32_t
plist_filter(struct plist *p, const uint32_t *ids, size_t n)
{
    uint32_t *v = plist_ids(p);
    if (p->len == 0 || v[p->len - 1] < ids[0] || v[0] > ids[n - 1]) {
        return 0;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->len; i++) {
        if (!ids_contain(ids, n, v[i])) {
            v[k++] = v[i];
        }
    }
    uint32_t dropped = p->len - k;
    p->len = k;
    return dropped;
}

/*
 * Rebuilds the tables and the string pool with only the values (and
 * names) that still have series. Builds the new tables first and moves
 * the postings lists last, so running out of memory leaves ix unchanged.
 */
static void
compact(struct tr_index *ix)
{
    struct tr_index nx = {0};
    nx.memory = sizeof(nx);
    for (uint32_t i = 0; i < ix->names_cap; i++) {
        struct name_entry *ne = &ix->names[i];
        if (ne->str == NULL || ne->series == 0) {
            continue;
        }
        struct name_entry *nn = name_get_or_add(&nx, ne->str, ne->len);
        if (nn == NULL) {
            goto fail;
        }
        for (uint32_t j = 0; j < ne->values_cap; j++) {
            struct value_entry *ve = &ne->values[j];
            if (ve->str != NULL && ve->ids.len > 0 &&
                value_get_or_add(&nx, nn, ve->str, ve->len) == NULL) {
                goto fail;
            }
        }
    }
    /* Cannot fail from here: move the postings lists over. */
    size_t postings_mem = 0;
    for (uint32_t i = 0; i < ix->names_cap; i++) {
        struct name_entry *ne = &ix->names[i];
        if (ne->str == NULL) {
            continue;
        }
        struct name_entry *nn =
            ne->series > 0 ? name_find(&nx, ne->str, ne->len) : NULL;
        for (uint32_t j = 0; j < ne->values_cap; j++) {
            struct value_entry *ve = &ne->values[j];
            if (ve->str == NULL) {
                continue;
            }
            if (nn != NULL && ve->ids.len > 0) {
                struct value_entry *nv = value_find(nn, ve->str, ve->len);
                nv->ids = ve->ids;
                if (ve->ids.cap > INLINE_IDS) {
                    postings_mem += ve->ids.cap * sizeof(uint32_t);
                }
            } else {
                plist_fini(&ve->ids);
            }
        }
        if (nn != NULL) {
            nn->series = ne->series;
        }
        tr_free(ne->values);
    }
    tr_free(ix->names);
    while (ix->pool != NULL) {
        struct pool_block *next = ix->pool->next;
        tr_free(ix->pool);
        ix->pool = next;
    }
    if (ix->all.cap > INLINE_IDS) {
        postings_mem += ix->all.cap * sizeof(uint32_t);
    }
    ix->names = nx.names;
    ix->names_cap = nx.names_cap;
    ix->names_count = nx.names_count;
    ix->pool = nx.pool;
    ix->memory = nx.memory + postings_mem;
    ix->values_total = nx.values_total;
    ix->values_live = nx.values_total;
    return;
fail:
    destroy_tables(&nx);
}

void
tr_index_remove(struct tr_index *ix, const uint32_t *ids,
                const struct tr_labels *const *ls, size_t n)
{
    if (n == 0) {
        return;
    }
    /* Mark the names involved, then filter each of their lists once. */
    for (size_t i = 0; i < n; i++) {
        struct tr_labels_iter it;
        struct tr_label l;
        tr_labels_iter_init(&it, ls[i]);
        while (tr_labels_iter_next(&it, &l)) {
            struct name_entry *ne = name_find(ix, l.name, l.name_len);
            if (ne != NULL) {
                ne->dirty = true;
            }
        }
    }
    for (uint32_t i = 0; i < ix->names_cap; i++) {
        struct name_entry *ne = &ix->names[i];
        if (ne->str == NULL || !ne->dirty) {
            continue;
        }
        ne->dirty = false;
        for (uint32_t j = 0; j < ne->values_cap; j++) {
            struct value_entry *ve = &ne->values[j];
            if (ve->str == NULL || ve->ids.len == 0) {
                continue;
            }
            uint32_t dropped = plist_filter(&ve->ids, ids, n);
            ne->series -= dropped;
            if (dropped > 0 && ve->ids.len == 0) {
                ix->values_live--;
            }
        }
    }
    plist_filter(&ix->all, ids, n);
    size_t dead = ix->values_total - ix->values_live;
    if (dead >= 1024 && dead > ix->values_live) {
        compact(ix);
    }
}

size_t
tr_index_series_count(const struct tr_index *ix)
{
    return ix->all.len;
}

size_t
tr_index_memory(const struct tr_index *ix)
{
    return ix->memory;
}

/* ==== select =========================================================== */

static int
copy_plist(const struct plist *p, struct tr_postings *out)
{
    out->len = 0;
    if (postings_reserve(out, p->len) != TR_OK) {
        return TR_ENOMEM;
    }
    if (p->len > 0) {
        memcpy(out->ids, plist_cids(p), p->len * sizeof(uint32_t));
    }
    out->len = p->len;
    return TR_OK;
}

static int
id_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * out = union of k postings lists of one label name. Lists of one name are
 * disjoint (a series has one value per name), so no deduplication.
 */
static int
union_lists(const struct tr_index *ix, const struct plist **lists, size_t k,
            struct tr_postings *out)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++) {
        total += lists[i]->len;
    }
    out->len = 0;
    if (k == 1) {
        return copy_plist(lists[0], out);
    }
    if (postings_reserve(out, total) != TR_OK) {
        return TR_ENOMEM;
    }
    size_t span = (size_t)ix->last_id + 1;
    if (total * 16 < span) {
        /* Sparse: concatenate and sort. */
        for (size_t i = 0; i < k; i++) {
            memcpy(out->ids + out->len, plist_cids(lists[i]),
                   lists[i]->len * sizeof(uint32_t));
            out->len += lists[i]->len;
        }
        qsort(out->ids, out->len, sizeof(uint32_t), id_compare);
        return TR_OK;
    }
    /* Dense: a bitmap over the id space, read back in order. */
    size_t words = (span + 63) / 64;
    uint64_t *bits = tr_calloc(words, sizeof(*bits));
    if (bits == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        const uint32_t *ids = plist_cids(lists[i]);
        for (uint32_t j = 0; j < lists[i]->len; j++) {
            bits[ids[j] >> 6] |= UINT64_C(1) << (ids[j] & 63);
        }
    }
    for (size_t w = 0; w < words; w++) {
        uint64_t x = bits[w];
        while (x != 0) {
            out->ids[out->len++] = (uint32_t)(w * 64 +
                                              (size_t)__builtin_ctzll(x));
            x &= x - 1;
        }
    }
    tr_free(bits);
    return TR_OK;
}

/*
 * out = union of the postings of the values of m's label for which the
 * matcher's result equals want.
 */
static int
matching_postings(const struct tr_index *ix, const struct tr_matcher *m,
                  bool want, struct tr_postings *out, struct tr_err *err)
{
    size_t name_len, value_len;
    const char *name = tr_matcher_name(m, &name_len);
    const char *value = tr_matcher_value(m, &value_len);
    enum tr_match_type type = tr_matcher_type(m);
    struct name_entry *ne = name_find(ix, name, name_len);

    out->len = 0;
    if (ne == NULL) {
        return TR_OK;
    }
    /* a="x" wanting matches, or a!="x" wanting non-matches: one value. */
    if (value_len > 0 && ((type == TR_MATCH_EQUAL && want) ||
                          (type == TR_MATCH_NOT_EQUAL && !want))) {
        struct value_entry *ve = value_find(ne, value, value_len);
        return ve != NULL ? copy_plist(&ve->ids, out) : TR_OK;
    }
    const struct plist **lists =
        tr_malloc((ne->values_count + 1) * sizeof(*lists));
    if (lists == NULL) {
        return tr_err_set(err, TR_ENOMEM, "cannot select series: out of "
                                          "memory");
    }
    size_t k = 0;
    int rc = TR_OK;
    for (uint32_t i = 0; i < ne->values_cap && rc == TR_OK; i++) {
        struct value_entry *ve = &ne->values[i];
        if (ve->str == NULL || ve->ids.len == 0) {
            continue;
        }
        rc = tr_matcher_match(m, ve->str, ve->len, err);
        if (rc >= 0) {
            if ((rc == 1) == want) {
                lists[k++] = &ve->ids;
            }
            rc = TR_OK;
        }
    }
    if (rc == TR_OK && k > 0) {
        rc = union_lists(ix, lists, k, out);
        if (rc != TR_OK) {
            tr_err_set(err, rc, "cannot select series: out of memory");
        }
    }
    tr_free(lists);
    return rc;
}

int
tr_index_select(const struct tr_index *ix, struct tr_matcher *const *matchers,
                size_t n, struct tr_postings *out, struct tr_err *err)
{
    struct tr_postings cur = {0}, part = {0}, tmp = {0};
    bool narrowed = false;
    int rc = TR_OK;

    /* Narrow with matchers that need the label, equality first (cheap). */
    for (int pass = 0; pass < 2 && rc == TR_OK; pass++) {
        for (size_t i = 0; i < n && rc == TR_OK; i++) {
            const struct tr_matcher *m = matchers[i];
            bool eq = tr_matcher_type(m) == TR_MATCH_EQUAL;
            if (tr_matcher_matches_empty(m) || eq != (pass == 0)) {
                continue;
            }
            if (narrowed && cur.len == 0) {
                break; /* already empty */
            }
            rc = matching_postings(ix, m, true, narrowed ? &part : &cur, err);
            if (rc == TR_OK && narrowed) {
                rc = tr_postings_intersect(&cur, &part, &tmp);
                if (rc == TR_OK) {
                    struct tr_postings swap = cur;
                    cur = tmp;
                    tmp = swap;
                } else {
                    tr_err_set(err, rc, "cannot select series: out of "
                                        "memory");
                }
            }
            narrowed = true;
        }
    }
    if (rc == TR_OK && !narrowed) {
        rc = copy_plist(&ix->all, &cur);
        if (rc != TR_OK) {
            tr_err_set(err, rc, "cannot select series: out of memory");
        }
    }
    /* Subtract what matchers that accept a missing label reject. */
    for (size_t i = 0; i < n && rc == TR_OK && cur.len > 0; i++) {
        const struct tr_matcher *m = matchers[i];
        if (!tr_matcher_matches_empty(m)) {
            continue;
        }
        rc = matching_postings(ix, m, false, &part, err);
        if (rc == TR_OK) {
            tr_postings_subtract(&cur, &part);
        }
    }
    tr_postings_fini(&part);
    tr_postings_fini(&tmp);
    if (rc != TR_OK) {
        tr_postings_fini(&cur);
        return rc;
    }
    tr_postings_fini(out);
    *out = cur;
    return TR_OK;
}

/* ==== label names and values =========================================== */

int
tr_tsdb_str_compare(const struct tr_tsdb_str *a, const struct tr_tsdb_str *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n > 0 ? memcmp(a->ptr, b->ptr, n) : 0;
    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

static int
str_compare(const void *pa, const void *pb)
{
    return tr_tsdb_str_compare(pa, pb);
}

void
tr_tsdb_strs_from_labels(const struct tr_labels *ls, const char *name,
                         size_t name_len, struct tr_tsdb_str *v, size_t *k)
{
    if (name != NULL) {
        if (tr_labels_get(ls, name, name_len, &v[*k].ptr, &v[*k].len)) {
            (*k)++;
        }
        return;
    }
    struct tr_labels_iter it;
    struct tr_label l;
    tr_labels_iter_init(&it, ls);
    while (tr_labels_iter_next(&it, &l)) {
        v[*k].ptr = l.name;
        v[*k].len = l.name_len;
        (*k)++;
    }
}

int
tr_tsdb_strs_sort_unique(struct tr_tsdb_str *v, size_t n,
                         struct tr_arena *arena, struct tr_tsdb_str **out,
                         size_t *count)
{
    if (n > 1) {
        qsort(v, n, sizeof(*v), str_compare);
    }
    struct tr_tsdb_str *res = tr_arena_alloc(arena, (n + 1) * sizeof(*res));
    if (res == NULL) {
        return TR_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && tr_tsdb_str_compare(&res[m - 1], &v[i]) == 0) {
            continue;
        }
        char *copy = tr_arena_strndup(arena, v[i].ptr, v[i].len);
        if (copy == NULL) {
            return TR_ENOMEM;
        }
        res[m].ptr = copy;
        res[m].len = v[i].len;
        m++;
    }
    *out = res;
    *count = m;
    return TR_OK;
}

/* Copies an entry's string into the arena as out[*k]. */
static int
arena_str(struct tr_arena *arena, const char *s, size_t n,
          struct tr_tsdb_str *out)
{
    char *copy = tr_arena_strndup(arena, s, n);
    if (copy == NULL) {
        return TR_ENOMEM;
    }
    out->ptr = copy;
    out->len = n;
    return TR_OK;
}

int
tr_index_label_names(const struct tr_index *ix, struct tr_arena *arena,
                     struct tr_tsdb_str **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct tr_tsdb_str *v =
        tr_arena_alloc(arena, (ix->names_count + 1) * sizeof(*v));
    if (v == NULL) {
        return TR_ENOMEM;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < ix->names_cap; i++) {
        const struct name_entry *ne = &ix->names[i];
        if (ne->str != NULL && ne->series > 0) {
            if (arena_str(arena, ne->str, ne->len, &v[k]) != TR_OK) {
                return TR_ENOMEM;
            }
            k++;
        }
    }
    qsort(v, k, sizeof(*v), str_compare);
    *out = v;
    *count = k;
    return TR_OK;
}

int
tr_index_label_values(const struct tr_index *ix, const char *name,
                      size_t name_len, struct tr_arena *arena,
                      struct tr_tsdb_str **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    const struct name_entry *ne = name_find(ix, name, name_len);
    size_t cap = ne != NULL ? ne->values_count : 0;
    struct tr_tsdb_str *v = tr_arena_alloc(arena, (cap + 1) * sizeof(*v));
    if (v == NULL) {
        return TR_ENOMEM;
    }
    size_t k = 0;
    for (uint32_t i = 0; ne != NULL && i < ne->values_cap; i++) {
        const struct value_entry *ve = &ne->values[i];
        if (ve->str != NULL && ve->ids.len > 0) {
            if (arena_str(arena, ve->str, ve->len, &v[k]) != TR_OK) {
                return TR_ENOMEM;
            }
            k++;
        }
    }
    qsort(v, k, sizeof(*v), str_compare);
    *out = v;
    *count = k;
    return TR_OK;
}
