#include "tsdb/head.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

/* See head.h for the locking design. */
#define MAP_STRIPES 64 /* power of two; picked by the top hash bits */
#define MAP_STRIPE_SHIFT 58
#define SERIES_LOCKS 256 /* power of two; picked by series id */

/* A closed chunk: immutable encoded bytes. */
struct closed_chunk {
    unsigned char *data;
    uint32_t len;
    int64_t min_t;
    int64_t max_t;
};

struct tr_series {
    uint64_t hash;
    struct tr_labels *labels;
    uint32_t id;
    _Atomic uint32_t refs;     /* the head's (while linked) + callers' */
    uint32_t nclosed;          /* guarded by the series lock */
    bool removed;              /* guarded; unlinked by garbage collection */
    _Atomic int64_t min_t;     /* INT64_MAX until the first sample */
    _Atomic int64_t max_t;     /* INT64_MIN until the first sample */
    struct tr_chunk open;      /* guarded; never empty once a sample came */
    struct closed_chunk *closed; /* guarded; nclosed entries, oldest first */
};

/* A slot of the series map. The hash sits beside the pointer so that a
 * probe compares hashes without touching (cache-missing) the series. */
struct map_slot {
    uint64_t hash;
    struct tr_series *series; /* NULL: free */
};

struct map_stripe {
    pthread_rwlock_t lock;
    struct map_slot *slots; /* open addressing by hash */
    uint32_t cap;
    uint32_t count;
};

struct tr_head {
    uint32_t max_samples;
    uint32_t max_series;
    tr_head_hash_fn hash_fn;
    struct map_stripe stripes[MAP_STRIPES];
    pthread_mutex_t series_locks[SERIES_LOCKS];

    pthread_rwlock_t index_lock; /* guards ix, the id map and next_id */
    struct tr_index *ix;
    /* Id -> series: open addressing on the id (ids are never reused, so a
     * dense array would grow with every series ever created). */
    struct tr_series **id_slots;
    uint32_t id_cap;
    uint32_t id_count;
    uint32_t next_id;

    pthread_mutex_t gc_lock; /* one tr_head_truncate at a time */

    _Atomic int64_t min_valid_time;
    _Atomic int64_t min_time;
    _Atomic int64_t max_time;
    _Atomic uint64_t nseries_atomic;
    _Atomic uint64_t nchunks;
    _Atomic uint64_t appended;
    _Atomic uint64_t rejected[4];
    _Atomic int64_t memory; /* series, labels, chunks, map, id table */
};

/* ==== helpers ========================================================== */

static pthread_mutex_t *
series_lock(struct tr_head *h, const struct tr_series *s)
{
    return &h->series_locks[s->id & (SERIES_LOCKS - 1)];
}

static void
mem_add(struct tr_head *h, int64_t delta)
{
    atomic_fetch_add_explicit(&h->memory, delta, memory_order_relaxed);
}

static void
atomic_min(_Atomic int64_t *a, int64_t v)
{
    int64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v < cur && !atomic_compare_exchange_weak_explicit(
                          a, &cur, v, memory_order_relaxed,
                          memory_order_relaxed)) {
    }
}

static void
atomic_max(_Atomic int64_t *a, int64_t v)
{
    int64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(
                          a, &cur, v, memory_order_relaxed,
                          memory_order_relaxed)) {
    }
}

/* Bytes accounted to s in h->memory apart from its chunks. */
static int64_t
series_memory(const struct tr_series *s)
{
    return (int64_t)(sizeof(*s) + tr_labels_memory(s->labels));
}

static void
series_free(struct tr_series *s)
{
    if (s == NULL) {
        return;
    }
    for (uint32_t i = 0; i < s->nclosed; i++) {
        tr_free(s->closed[i].data);
    }
    tr_free(s->closed);
    tr_chunk_fini(&s->open);
    tr_labels_destroy(s->labels);
    tr_free(s);
}

/* ==== create / destroy ================================================= */

struct tr_head *
tr_head_create(const struct tr_head_options *opts)
{
    struct tr_head *h = tr_calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->max_samples = TR_CHUNK_DEFAULT_SAMPLES;
    if (opts != NULL && opts->max_samples_per_chunk > 0) {
        h->max_samples = opts->max_samples_per_chunk > TR_CHUNK_MAX_SAMPLES
                             ? TR_CHUNK_MAX_SAMPLES
                             : opts->max_samples_per_chunk;
    }
    h->max_series = opts != NULL ? opts->max_series : 0;
    h->hash_fn = opts != NULL && opts->hash_fn != NULL ? opts->hash_fn
                                                       : tr_labels_hash;
    for (int i = 0; i < MAP_STRIPES; i++) {
        pthread_rwlock_init(&h->stripes[i].lock, NULL);
    }
    for (int i = 0; i < SERIES_LOCKS; i++) {
        pthread_mutex_init(&h->series_locks[i], NULL);
    }
    pthread_rwlock_init(&h->index_lock, NULL);
    pthread_mutex_init(&h->gc_lock, NULL);
    atomic_init(&h->min_valid_time, INT64_MIN);
    atomic_init(&h->min_time, INT64_MAX);
    atomic_init(&h->max_time, INT64_MIN);
    atomic_init(&h->memory, (int64_t)sizeof(*h));
    h->ix = tr_index_create();
    if (h->ix == NULL) {
        tr_head_destroy(h);
        return NULL;
    }
    return h;
}

void
tr_head_destroy(struct tr_head *h)
{
    if (h == NULL) {
        return;
    }
    for (uint32_t i = 0; i < h->id_cap; i++) {
        series_free(h->id_slots[i]);
    }
    tr_free(h->id_slots);
    for (int i = 0; i < MAP_STRIPES; i++) {
        tr_free(h->stripes[i].slots);
        pthread_rwlock_destroy(&h->stripes[i].lock);
    }
    for (int i = 0; i < SERIES_LOCKS; i++) {
        pthread_mutex_destroy(&h->series_locks[i]);
    }
    pthread_rwlock_destroy(&h->index_lock);
    pthread_mutex_destroy(&h->gc_lock);
    tr_index_destroy(h->ix);
    tr_free(h);
}

/* ==== series map ======================================================= */

static struct map_stripe *
stripe_of(struct tr_head *h, uint64_t hash)
{
    return &h->stripes[hash >> MAP_STRIPE_SHIFT];
}

/* The series with these labels in the stripe (lock held), or NULL. */
static struct tr_series *
stripe_find(const struct map_stripe *st, uint64_t hash,
            const struct tr_labels *ls)
{
    if (st->cap == 0) {
        return NULL;
    }
    uint32_t mask = st->cap - 1;
    for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        const struct map_slot *slot = &st->slots[i];
        if (slot->series == NULL) {
            return NULL;
        }
        /* Equal hashes of different sets are possible: compare sets. */
        if (slot->hash == hash && tr_labels_equal(slot->series->labels, ls)) {
            return slot->series;
        }
    }
}

static void
stripe_put(struct map_slot *slots, uint32_t cap, struct tr_series *s)
{
    uint32_t mask = cap - 1;
    uint32_t i = (uint32_t)s->hash & mask;
    while (slots[i].series != NULL) {
        i = (i + 1) & mask;
    }
    slots[i] = (struct map_slot){s->hash, s};
}

/* Removes s from the stripe (write lock held), shifting later entries of
 * its probe run back so lookups need no tombstones. False when s is not
 * there. Same scheme as slots_remove, homes read from the slots. */
static bool
stripe_remove(struct map_stripe *st, const struct tr_series *s)
{
    if (st->cap == 0) {
        return false;
    }
    struct map_slot *slots = st->slots;
    uint32_t mask = st->cap - 1;
    uint32_t i = (uint32_t)s->hash & mask;
    while (slots[i].series != s) {
        if (slots[i].series == NULL) {
            return false;
        }
        i = (i + 1) & mask;
    }
    slots[i] = (struct map_slot){0, NULL};
    for (uint32_t j = (i + 1) & mask; slots[j].series != NULL;
         j = (j + 1) & mask) {
        uint32_t k = (uint32_t)slots[j].hash & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            slots[i] = slots[j];
            slots[j] = (struct map_slot){0, NULL};
            i = j;
        }
    }
    return true;
}

/*
 * Removes s from an open-addressing table of series pointers whose home
 * slot is home(s) & (cap - 1), shifting later entries of its probe run
 * back so lookups need no tombstones. False when s is not there.
 */
static bool
slots_remove(struct tr_series **slots, uint32_t cap, struct tr_series *s,
             uint64_t (*home)(const struct tr_series *))
{
    if (cap == 0) {
        return false;
    }
    uint32_t mask = cap - 1;
    uint32_t i = (uint32_t)home(s) & mask;
    while (slots[i] != s) {
        if (slots[i] == NULL) {
            return false;
        }
        i = (i + 1) & mask;
    }
    slots[i] = NULL;
    for (uint32_t j = (i + 1) & mask; slots[j] != NULL; j = (j + 1) & mask) {
        uint32_t k = (uint32_t)home(slots[j]) & mask;
        /* Move slots[j] into the hole unless its home lies in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            slots[i] = slots[j];
            slots[j] = NULL;
            i = j;
        }
    }
    return true;
}

static uint64_t
id_hash(uint32_t id)
{
    return (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15) >> 32;
}

static uint64_t
id_home(const struct tr_series *s)
{
    return id_hash(s->id);
}

/* The series with id in the id map (index lock held), or NULL. */
static struct tr_series *
id_find(const struct tr_head *h, uint32_t id)
{
    if (h->id_cap == 0) {
        return NULL;
    }
    uint32_t mask = h->id_cap - 1;
    for (uint32_t i = (uint32_t)id_hash(id) & mask;; i = (i + 1) & mask) {
        struct tr_series *s = h->id_slots[i];
        if (s == NULL || s->id == id) {
            return s;
        }
    }
}

static void
id_put(struct tr_series **slots, uint32_t cap, struct tr_series *s)
{
    uint32_t mask = cap - 1;
    uint32_t i = (uint32_t)id_hash(s->id) & mask;
    while (slots[i] != NULL) {
        i = (i + 1) & mask;
    }
    slots[i] = s;
}

/* Room for one more id at a load of at most 1/2 (index lock held). */
static int
id_reserve(struct tr_head *h)
{
    if ((uint64_t)(h->id_count + 1) * 2 <= h->id_cap) {
        return TR_OK;
    }
    uint32_t cap = h->id_cap == 0 ? 1024 : h->id_cap * 2;
    struct tr_series **slots = tr_calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return TR_ENOMEM;
    }
    for (uint32_t i = 0; i < h->id_cap; i++) {
        if (h->id_slots[i] != NULL) {
            id_put(slots, cap, h->id_slots[i]);
        }
    }
    tr_free(h->id_slots);
    mem_add(h, (int64_t)(cap - h->id_cap) * (int64_t)sizeof(*slots));
    h->id_slots = slots;
    h->id_cap = cap;
    return TR_OK;
}

/* Room for one more series at a load of at most 3/4 (write lock held). */
static int
stripe_reserve(struct tr_head *h, struct map_stripe *st)
{
    if ((uint64_t)(st->count + 1) * 4 <= (uint64_t)st->cap * 3) {
        return TR_OK;
    }
    uint32_t cap = st->cap == 0 ? 16 : st->cap * 2;
    struct map_slot *slots = tr_calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return TR_ENOMEM;
    }
    for (uint32_t i = 0; i < st->cap; i++) {
        if (st->slots[i].series != NULL) {
            stripe_put(slots, cap, st->slots[i].series);
        }
    }
    tr_free(st->slots);
    mem_add(h, (int64_t)(cap - st->cap) * (int64_t)sizeof(*slots));
    st->slots = slots;
    st->cap = cap;
    return TR_OK;
}

struct tr_series *
tr_head_get(struct tr_head *h, const struct tr_labels *ls)
{
    uint64_t hash = h->hash_fn(ls);
    struct map_stripe *st = stripe_of(h, hash);
    pthread_rwlock_rdlock(&st->lock);
    struct tr_series *s = stripe_find(st, hash, ls);
    if (s != NULL) {
        atomic_fetch_add(&s->refs, 1);
    }
    pthread_rwlock_unlock(&st->lock);
    return s;
}

void
tr_head_series_release(struct tr_head *h, struct tr_series *s)
{
    (void)h;
    if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1) {
        /* Only an unlinked series can lose its last reference. */
        series_free(s);
    }
}

/* Gives s an id and indexes it (index lock taken here). */
static int
register_series(struct tr_head *h, struct tr_series *s, struct tr_err *err)
{
    int rc = TR_OK;
    pthread_rwlock_wrlock(&h->index_lock);
    if (h->max_series > 0 && h->id_count >= h->max_series) {
        rc = tr_err_set(err, TR_ELIMIT,
                        "cannot create series: limit of %u series reached",
                        (unsigned)h->max_series);
        goto done;
    }
    if (h->next_id == UINT32_MAX) {
        rc = tr_err_set(err, TR_ELIMIT, "cannot create series: ids used up");
        goto done;
    }
    if (id_reserve(h) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot create series: out of memory");
        goto done;
    }
    s->id = h->next_id;
    rc = tr_index_add(h->ix, s->id, s->labels, err);
    if (rc != TR_OK) {
        tr_err_prefix(err, "cannot create series");
        goto done;
    }
    h->next_id++;
    id_put(h->id_slots, h->id_cap, s);
    h->id_count++;
    atomic_fetch_add(&h->nseries_atomic, 1);
done:
    pthread_rwlock_unlock(&h->index_lock);
    return rc;
}

int
tr_head_get_or_create(struct tr_head *h, const struct tr_labels *ls,
                      struct tr_series **out, bool *created,
                      struct tr_err *err)
{
    uint64_t hash = h->hash_fn(ls);
    struct map_stripe *st = stripe_of(h, hash);
    if (created != NULL) {
        *created = false;
    }
    pthread_rwlock_rdlock(&st->lock);
    *out = stripe_find(st, hash, ls);
    if (*out != NULL) {
        atomic_fetch_add(&(*out)->refs, 1);
    }
    pthread_rwlock_unlock(&st->lock);
    if (*out != NULL) {
        return TR_OK;
    }

    /* Build the series outside any lock. */
    struct tr_series *s = tr_calloc(1, sizeof(*s));
    if (s == NULL || (s->labels = tr_labels_dup(ls)) == NULL) {
        series_free(s);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot create series: out of memory");
    }
    s->hash = hash;
    atomic_init(&s->refs, 2); /* the head's and the caller's */
    atomic_init(&s->min_t, INT64_MAX);
    atomic_init(&s->max_t, INT64_MIN);
    tr_chunk_init(&s->open);

    int rc = TR_OK;
    pthread_rwlock_wrlock(&st->lock);
    struct tr_series *found = stripe_find(st, hash, ls);
    if (found != NULL) {
        /* Another thread created it meanwhile. */
        atomic_fetch_add(&found->refs, 1);
        *out = found;
    } else if (stripe_reserve(h, st) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot create series: out of memory");
    } else if ((rc = register_series(h, s, err)) == TR_OK) {
        stripe_put(st->slots, st->cap, s);
        st->count++;
        mem_add(h, series_memory(s));
        *out = s;
        if (created != NULL) {
            *created = true;
        }
        s = NULL;
    }
    pthread_rwlock_unlock(&st->lock);
    series_free(s);
    return rc;
}

/* ==== append =========================================================== */

const char *
tr_append_reject_name(enum tr_append_reject r)
{
    switch (r) {
    case TR_APPEND_OK:
        return "ok";
    case TR_APPEND_OUT_OF_ORDER:
        return "out_of_order";
    case TR_APPEND_DUPLICATE:
        return "duplicate";
    case TR_APPEND_TOO_OLD:
        return "too_old";
    }
    return "unknown";
}

void
tr_head_set_min_valid_time(struct tr_head *h, int64_t t)
{
    atomic_store(&h->min_valid_time, t);
}

int64_t
tr_head_min_valid_time(const struct tr_head *h)
{
    return atomic_load(&((struct tr_head *)h)->min_valid_time);
}

int64_t
tr_head_min_time(const struct tr_head *h)
{
    return atomic_load(&((struct tr_head *)h)->min_time);
}

static int
reject(struct tr_head *h, enum tr_append_reject why,
       enum tr_append_reject *out, struct tr_err *err, int64_t t,
       int64_t last)
{
    static const char *const what[] = {"", "out of order", "duplicate "
                                       "timestamp with a different value",
                                       "too old"};
    static const char *const ref[] = {"", "last", "last", "min valid"};
    atomic_fetch_add_explicit(&h->rejected[why], 1, memory_order_relaxed);
    if (out != NULL) {
        *out = why;
    }
    return tr_err_set(err, TR_EINVAL,
                      "cannot append sample: %s (t=%lld, %s=%lld)", what[why],
                      (long long)t, ref[why], (long long)last);
}

static uint64_t
value_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

/* Moves the full open chunk to the closed list (series lock held). */
static int
cut_chunk(struct tr_head *h, struct tr_series *s)
{
    struct closed_chunk *closed =
        tr_realloc(s->closed, (s->nclosed + 1) * sizeof(*closed));
    if (closed == NULL) {
        return TR_ENOMEM;
    }
    s->closed = closed;
    int64_t before = (int64_t)tr_chunk_memory(&s->open);
    struct closed_chunk *c = &closed[s->nclosed];
    c->min_t = tr_chunk_min_time(&s->open);
    c->max_t = tr_chunk_max_time(&s->open);
    size_t len;
    c->data = tr_chunk_detach(&s->open, &len);
    c->len = (uint32_t)len;
    s->nclosed++;
    mem_add(h, (int64_t)len - before + (int64_t)sizeof(*closed));
    return TR_OK;
}

static int append_relinked(struct tr_head *h, struct tr_series *s, int64_t t,
                           double v, enum tr_append_reject *why,
                           struct tr_err *err);

int
tr_head_append(struct tr_head *h, struct tr_series *s, int64_t t, double v,
               enum tr_append_reject *why, struct tr_err *err)
{
    int64_t min_valid = atomic_load_explicit(&h->min_valid_time,
                                             memory_order_relaxed);
    if (why != NULL) {
        *why = TR_APPEND_OK;
    }
    if (t < min_valid) {
        return reject(h, TR_APPEND_TOO_OLD, why, err, t, min_valid);
    }
    pthread_mutex_t *lock = series_lock(h, s);
    pthread_mutex_lock(lock);
    if (s->removed) {
        /* Garbage collected while the caller held it: append to the
         * series now linked under the same labels (created if needed). */
        pthread_mutex_unlock(lock);
        return append_relinked(h, s, t, v, why, err);
    }
    struct tr_chunk *open = &s->open;
    if (tr_chunk_count(open) > 0) {
        int64_t last_t = tr_chunk_max_time(open);
        if (t < last_t) {
            pthread_mutex_unlock(lock);
            return reject(h, TR_APPEND_OUT_OF_ORDER, why, err, t, last_t);
        }
        if (t == last_t) {
            bool same = value_bits(v) == value_bits(tr_chunk_last_value(open));
            pthread_mutex_unlock(lock);
            return same ? TR_OK
                        : reject(h, TR_APPEND_DUPLICATE, why, err, t, last_t);
        }
        if (tr_chunk_count(open) >= h->max_samples &&
            cut_chunk(h, s) != TR_OK) {
            pthread_mutex_unlock(lock);
            return tr_err_set(err, TR_ENOMEM,
                              "cannot append sample: out of memory");
        }
    }
    bool first_in_chunk = tr_chunk_count(open) == 0;
    int64_t before = (int64_t)tr_chunk_memory(open);
    int rc = tr_chunk_append(open, t, v, err);
    if (rc == TR_OK) {
        mem_add(h, (int64_t)tr_chunk_memory(open) - before);
        if (atomic_load_explicit(&s->min_t, memory_order_relaxed) ==
            INT64_MAX) {
            atomic_store_explicit(&s->min_t, t, memory_order_relaxed);
        }
        atomic_store_explicit(&s->max_t, t, memory_order_relaxed);
    }
    pthread_mutex_unlock(lock);
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot append sample");
    }
    if (first_in_chunk) {
        atomic_fetch_add_explicit(&h->nchunks, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&h->appended, 1, memory_order_relaxed);
    atomic_min(&h->min_time, t);
    atomic_max(&h->max_time, t);
    return TR_OK;
}

static int
append_relinked(struct tr_head *h, struct tr_series *s, int64_t t, double v,
                enum tr_append_reject *why, struct tr_err *err)
{
    struct tr_series *live = NULL;
    int rc = tr_head_get_or_create(h, s->labels, &live, NULL, err);
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot append sample");
    }
    rc = tr_head_append(h, live, t, v, why, err);
    tr_head_series_release(h, live);
    return rc;
}

/* ==== series accessors ================================================= */

const struct tr_labels *
tr_series_labels(const struct tr_series *s)
{
    return s->labels;
}

uint32_t
tr_series_id(const struct tr_series *s)
{
    return s->id;
}

uint64_t
tr_series_hash(const struct tr_series *s)
{
    return s->hash;
}

bool
tr_series_time_range(const struct tr_series *s, int64_t *min_t,
                     int64_t *max_t)
{
    struct tr_series *ms = (struct tr_series *)s;
    int64_t lo = atomic_load_explicit(&ms->min_t, memory_order_relaxed);
    int64_t hi = atomic_load_explicit(&ms->max_t, memory_order_relaxed);
    if (lo == INT64_MAX || hi == INT64_MIN) {
        return false;
    }
    *min_t = lo;
    *max_t = hi;
    return true;
}

/* ==== select and label queries ========================================= */

/* Drops the references the list holds; it stays allocated. */
static void
list_release(struct tr_series_list *l)
{
    for (size_t i = 0; i < l->len; i++) {
        tr_head_series_release(l->head, l->series[i]);
    }
    l->len = 0;
}

void
tr_series_list_fini(struct tr_series_list *l)
{
    list_release(l);
    tr_free(l->series);
    memset(l, 0, sizeof(*l));
}

static bool
overlaps(const struct tr_series *s, int64_t mint, int64_t maxt)
{
    int64_t lo, hi;
    return tr_series_time_range(s, &lo, &hi) && lo <= maxt && hi >= mint;
}

static int
series_compare(const void *pa, const void *pb)
{
    const struct tr_series *a = *(struct tr_series *const *)pa;
    const struct tr_series *b = *(struct tr_series *const *)pb;
    return tr_labels_compare(a->labels, b->labels);
}

/* Matching series with data in range, in id order (unsorted by labels). */
static int
select_unsorted(struct tr_head *h, struct tr_matcher *const *matchers,
                size_t n, int64_t mint, int64_t maxt,
                struct tr_series_list *out, struct tr_err *err)
{
    struct tr_postings ids = {0};
    list_release(out);
    out->head = h;
    pthread_rwlock_rdlock(&h->index_lock);
    int rc = tr_index_select(h->ix, matchers, n, &ids, err);
    if (rc == TR_OK && ids.len > out->cap) {
        struct tr_series **v =
            tr_realloc(out->series, ids.len * sizeof(*v));
        if (v == NULL) {
            rc = tr_err_set(err, TR_ENOMEM,
                            "cannot select series: out of memory");
        } else {
            out->series = v;
            out->cap = ids.len;
        }
    }
    for (size_t i = 0; rc == TR_OK && i < ids.len; i++) {
        struct tr_series *s = id_find(h, ids.ids[i]);
        if (s != NULL && overlaps(s, mint, maxt)) {
            atomic_fetch_add(&s->refs, 1);
            out->series[out->len++] = s;
        }
    }
    pthread_rwlock_unlock(&h->index_lock);
    tr_postings_fini(&ids);
    return rc;
}

int
tr_head_select(struct tr_head *h, struct tr_matcher *const *matchers,
               size_t n, int64_t mint, int64_t maxt,
               struct tr_series_list *out, struct tr_err *err)
{
    int rc = select_unsorted(h, matchers, n, mint, maxt, out, err);
    if (rc == TR_OK && out->len > 1) {
        qsort(out->series, out->len, sizeof(*out->series), series_compare);
    }
    return rc;
}

/* True when [mint, maxt] covers every sample in the head. */
static bool
covers_head(struct tr_head *h, int64_t mint, int64_t maxt)
{
    return mint <= atomic_load(&h->min_time) &&
           maxt >= atomic_load(&h->max_time);
}

/* Shared body of the two label queries; name == NULL asks for names. */
static int
label_query(struct tr_head *h, const char *name, size_t name_len,
            struct tr_matcher *const *matchers, size_t n, int64_t mint,
            int64_t maxt, struct tr_arena *arena, struct tr_tsdb_str **out,
            size_t *count, struct tr_err *err)
{
    *out = NULL;
    *count = 0;
    if (n == 0 && covers_head(h, mint, maxt)) {
        pthread_rwlock_rdlock(&h->index_lock);
        int rc = name == NULL
                     ? tr_index_label_names(h->ix, arena, out, count)
                     : tr_index_label_values(h->ix, name, name_len, arena,
                                             out, count);
        pthread_rwlock_unlock(&h->index_lock);
        return rc == TR_OK ? TR_OK
                           : tr_err_set(err, rc, "cannot list labels: out "
                                                 "of memory");
    }
    struct tr_series_list list = {0};
    int rc = select_unsorted(h, matchers, n, mint, maxt, &list, err);
    if (rc != TR_OK) {
        return rc;
    }
    size_t cap = 0;
    for (size_t i = 0; i < list.len; i++) {
        cap += name == NULL ? tr_labels_count(list.series[i]->labels) : 1;
    }
    struct tr_tsdb_str *v = tr_malloc((cap + 1) * sizeof(*v));
    if (v == NULL) {
        tr_series_list_fini(&list);
        return tr_err_set(err, TR_ENOMEM, "cannot list labels: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < list.len; i++) {
        tr_tsdb_strs_from_labels(list.series[i]->labels, name, name_len, v, &k);
    }
    rc = tr_tsdb_strs_sort_unique(v, k, arena, out, count);
    tr_free(v);
    tr_series_list_fini(&list);
    return rc == TR_OK ? TR_OK
                       : tr_err_set(err, rc, "cannot list labels: out of "
                                             "memory");
}

int
tr_head_label_names(struct tr_head *h, struct tr_matcher *const *matchers,
                    size_t n, int64_t mint, int64_t maxt,
                    struct tr_arena *arena, struct tr_tsdb_str **out,
                    size_t *count, struct tr_err *err)
{
    return label_query(h, NULL, 0, matchers, n, mint, maxt, arena, out,
                       count, err);
}

int
tr_head_label_values(struct tr_head *h, const char *name, size_t name_len,
                     struct tr_matcher *const *matchers, size_t n,
                     int64_t mint, int64_t maxt, struct tr_arena *arena,
                     struct tr_tsdb_str **out, size_t *count,
                     struct tr_err *err)
{
    return label_query(h, name, name_len, matchers, n, mint, maxt, arena, out,
                       count, err);
}

/* ==== reading samples ================================================== */

void
tr_series_chunks_fini(struct tr_series_chunks *sc)
{
    tr_buf_fini(&sc->bytes);
    tr_free(sc->chunks);
    memset(sc, 0, sizeof(*sc));
}

static int
add_chunk(struct tr_series_chunks *sc, const unsigned char *data, size_t len,
          int64_t min_t, int64_t max_t)
{
    if (sc->len == sc->cap) {
        size_t cap = sc->cap == 0 ? 4 : sc->cap * 2;
        struct tr_series_chunk *v =
            tr_realloc(sc->chunks, cap * sizeof(*v));
        if (v == NULL) {
            return TR_ENOMEM;
        }
        sc->chunks = v;
        sc->cap = cap;
    }
    struct tr_series_chunk *c = &sc->chunks[sc->len];
    c->off = sc->bytes.len;
    c->len = len;
    c->min_t = min_t;
    c->max_t = max_t;
    if (tr_buf_append(&sc->bytes, data, len) != TR_OK) {
        return TR_ENOMEM;
    }
    sc->len++;
    return TR_OK;
}

int
tr_head_read(struct tr_head *h, struct tr_series *s, int64_t mint,
             int64_t maxt, struct tr_series_chunks *sc, struct tr_err *err)
{
    int rc = TR_OK;
    sc->len = 0;
    tr_buf_reset(&sc->bytes);
    pthread_mutex_t *lock = series_lock(h, s);
    pthread_mutex_lock(lock);
    for (uint32_t i = 0; i < s->nclosed && rc == TR_OK; i++) {
        const struct closed_chunk *c = &s->closed[i];
        if (c->min_t <= maxt && c->max_t >= mint) {
            rc = add_chunk(sc, c->data, c->len, c->min_t, c->max_t);
        }
    }
    if (rc == TR_OK && tr_chunk_count(&s->open) > 0 &&
        tr_chunk_min_time(&s->open) <= maxt &&
        tr_chunk_max_time(&s->open) >= mint) {
        size_t len;
        const unsigned char *data = tr_chunk_bytes(&s->open, &len);
        rc = add_chunk(sc, data, len, tr_chunk_min_time(&s->open),
                       tr_chunk_max_time(&s->open));
    }
    pthread_mutex_unlock(lock);
    if (rc != TR_OK) {
        return tr_err_set(err, rc, "cannot read series: out of memory");
    }
    return TR_OK;
}

void
tr_series_iter_init(struct tr_series_iter *it,
                    const struct tr_series_chunks *sc, int64_t mint,
                    int64_t maxt)
{
    memset(it, 0, sizeof(*it));
    it->sc = sc;
    it->mint = mint;
    it->maxt = maxt;
}

/* Opens the next chunk that may hold samples >= target; false at the end. */
static int
open_next_chunk(struct tr_series_iter *it, int64_t target, struct tr_err *err)
{
    while (it->next_chunk < it->sc->len) {
        const struct tr_series_chunk *c = &it->sc->chunks[it->next_chunk++];
        if (c->max_t < target || c->min_t > it->maxt) {
            continue;
        }
        int rc = tr_chunk_iter_init(&it->cur,
                                    (const unsigned char *)it->sc->bytes.data +
                                        c->off,
                                    c->len, err);
        if (rc != TR_OK) {
            return rc;
        }
        it->in_chunk = true;
        return 1;
    }
    return 0;
}

int
tr_series_iter_seek(struct tr_series_iter *it, int64_t target, int64_t *t,
                    double *v, struct tr_err *err)
{
    if (target < it->mint) {
        target = it->mint;
    }
    for (;;) {
        if (!it->in_chunk) {
            int rc = open_next_chunk(it, target, err);
            if (rc <= 0) {
                return rc;
            }
        }
        int rc = tr_chunk_iter_seek(&it->cur, target, t, v, err);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            if (*t > it->maxt) {
                it->in_chunk = false;
                it->next_chunk = it->sc->len; /* chunks are in time order */
                return 0;
            }
            return 1;
        }
        it->in_chunk = false;
    }
}

int
tr_series_iter_next(struct tr_series_iter *it, int64_t *t, double *v,
                    struct tr_err *err)
{
    for (;;) {
        if (!it->in_chunk) {
            int rc = open_next_chunk(it, it->mint, err);
            if (rc <= 0) {
                return rc;
            }
            /* The first sample of a chunk may lie before mint. */
            rc = tr_chunk_iter_seek(&it->cur, it->mint, t, v, err);
            if (rc < 0) {
                return rc;
            }
            if (rc == 0) {
                it->in_chunk = false;
                continue;
            }
        } else {
            int rc = tr_chunk_iter_next(&it->cur, t, v, err);
            if (rc < 0) {
                return rc;
            }
            if (rc == 0) {
                it->in_chunk = false;
                continue;
            }
        }
        if (*t > it->maxt) {
            it->in_chunk = false;
            it->next_chunk = it->sc->len;
            return 0;
        }
        return 1;
    }
}

/* ==== truncation and garbage collection ================================ */

static int
id_compare(const void *pa, const void *pb)
{
    uint32_t a = (*(struct tr_series *const *)pa)->id;
    uint32_t b = (*(struct tr_series *const *)pb)->id;
    return a < b ? -1 : a > b;
}

/* Drops s's chunks that end before t (series lock held); returns how many
 * and updates s's time range. */
static uint32_t
drop_chunks(struct tr_head *h, struct tr_series *s, int64_t t)
{
    uint32_t drop = 0;
    int64_t freed = 0;
    while (drop < s->nclosed && s->closed[drop].max_t < t) {
        freed += (int64_t)s->closed[drop].len +
                 (int64_t)sizeof(struct closed_chunk);
        tr_free(s->closed[drop].data);
        drop++;
    }
    if (drop > 0) {
        s->nclosed -= drop;
        memmove(s->closed, s->closed + drop, s->nclosed * sizeof(*s->closed));
        if (s->nclosed == 0) {
            tr_free(s->closed);
            s->closed = NULL;
        }
    }
    if (s->nclosed == 0 && tr_chunk_count(&s->open) > 0 &&
        tr_chunk_max_time(&s->open) < t) {
        freed += (int64_t)tr_chunk_memory(&s->open);
        tr_chunk_fini(&s->open);
        tr_chunk_init(&s->open);
        freed -= (int64_t)tr_chunk_memory(&s->open);
        drop++;
    }
    mem_add(h, -freed);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    if (s->nclosed > 0) {
        lo = s->closed[0].min_t;
    } else if (tr_chunk_count(&s->open) > 0) {
        lo = tr_chunk_min_time(&s->open);
    }
    if (lo != INT64_MAX) {
        hi = atomic_load(&s->max_t);
    }
    atomic_store(&s->min_t, lo);
    atomic_store(&s->max_t, hi);
    return drop;
}

static bool
series_empty(const struct tr_series *s)
{
    return s->nclosed == 0 && tr_chunk_count(&s->open) == 0;
}

/* Unlinks the empty series of cand[0..n) (sorted by id) from the map, the
 * id map and the index, moving them to the front of cand (in id order);
 * returns how many. */
static size_t
unlink_empty(struct tr_head *h, struct tr_series **cand, size_t n,
             uint32_t *ids, const struct tr_labels **lsv)
{
    size_t k = 0;
    for (int i = 0; i < MAP_STRIPES; i++) {
        pthread_rwlock_wrlock(&h->stripes[i].lock);
    }
    pthread_rwlock_wrlock(&h->index_lock);
    for (size_t i = 0; i < n; i++) {
        struct tr_series *s = cand[i];
        pthread_mutex_t *lock = series_lock(h, s);
        pthread_mutex_lock(lock);
        /* An append since the chunks were dropped keeps it alive. */
        if (!s->removed && series_empty(s)) {
            struct map_stripe *st = stripe_of(h, s->hash);
            if (!stripe_remove(st, s) ||
                !slots_remove(h->id_slots, h->id_cap, s, id_home)) {
                tr_log_error("series missing from the head's maps",
                             "id=%u", (unsigned)s->id);
                abort();
            }
            st->count--;
            h->id_count--;
            s->removed = true;
            ids[k] = s->id;
            lsv[k] = s->labels;
            /* Swap to the front: cand keeps every pointer. */
            cand[i] = cand[k];
            cand[k++] = s;
        }
        pthread_mutex_unlock(lock);
    }
    tr_index_remove(h->ix, ids, lsv, k);
    atomic_fetch_sub(&h->nseries_atomic, k);
    pthread_rwlock_unlock(&h->index_lock);
    for (int i = MAP_STRIPES - 1; i >= 0; i--) {
        pthread_rwlock_unlock(&h->stripes[i].lock);
    }
    return k;
}

int
tr_head_truncate(struct tr_head *h, int64_t t, struct tr_head_truncation *out,
                 struct tr_err *err)
{
    struct tr_head_truncation res = {0};
    int rc = TR_OK;
    pthread_mutex_lock(&h->gc_lock);
    atomic_max(&h->min_valid_time, t);

    /* Snapshot every series (with a reference each). The head's min time
     * is recomputed: reset first, so appends from here on record their own
     * times, then the scan covers every sample appended before. */
    pthread_rwlock_rdlock(&h->index_lock);
    size_t n = h->id_count;
    struct tr_series **all = tr_malloc((n + 1) * sizeof(*all));
    if (all == NULL) {
        pthread_rwlock_unlock(&h->index_lock);
        pthread_mutex_unlock(&h->gc_lock);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot truncate head: out of memory");
    }
    atomic_store(&h->min_time, INT64_MAX);
    size_t k = 0;
    for (uint32_t i = 0; i < h->id_cap; i++) {
        struct tr_series *s = h->id_slots[i];
        if (s != NULL) {
            atomic_fetch_add(&s->refs, 1);
            all[k++] = s;
        }
    }
    pthread_rwlock_unlock(&h->index_lock);

    /* Drop old chunks; empty series become candidates (moved to the
     * front of all, keeping their reference). */
    size_t ncand = 0;
    for (size_t i = 0; i < k; i++) {
        struct tr_series *s = all[i];
        pthread_mutex_t *lock = series_lock(h, s);
        pthread_mutex_lock(lock);
        uint32_t dropped = drop_chunks(h, s, t);
        bool empty = series_empty(s);
        int64_t min_t = atomic_load(&s->min_t);
        pthread_mutex_unlock(lock);
        res.chunks_removed += dropped;
        atomic_fetch_sub(&h->nchunks, dropped);
        if (empty) {
            all[ncand++] = s;
        } else {
            atomic_min(&h->min_time, min_t);
            tr_head_series_release(h, s);
        }
    }

    if (ncand > 0) {
        uint32_t *ids = tr_malloc(ncand * sizeof(*ids));
        const struct tr_labels **lsv = tr_malloc(ncand * sizeof(*lsv));
        if (ids == NULL || lsv == NULL) {
            rc = tr_err_set(err, TR_ENOMEM,
                            "cannot collect empty series: out of memory");
        } else {
            qsort(all, ncand, sizeof(*all), id_compare);
            size_t removed = unlink_empty(h, all, ncand, ids, lsv);
            /* all[0..removed) are now unlinked: drop the head's
             * reference (the snapshot's is dropped below). */
            for (size_t i = 0; i < removed; i++) {
                mem_add(h, -series_memory(all[i]));
                tr_head_series_release(h, all[i]);
            }
            res.series_removed = removed;
        }
        tr_free(ids);
        tr_free(lsv);
        for (size_t i = 0; i < ncand; i++) {
            tr_head_series_release(h, all[i]);
        }
    }
    tr_free(all);
    pthread_mutex_unlock(&h->gc_lock);
    if (out != NULL) {
        *out = res;
    }
    return rc;
}

/* ==== metrics ========================================================== */

void
tr_head_stats(struct tr_head *h, struct tr_head_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->series = atomic_load(&h->nseries_atomic);
    out->chunks = atomic_load(&h->nchunks);
    out->samples_appended = atomic_load(&h->appended);
    out->rejected_out_of_order = atomic_load(&h->rejected[TR_APPEND_OUT_OF_ORDER]);
    out->rejected_duplicate = atomic_load(&h->rejected[TR_APPEND_DUPLICATE]);
    out->rejected_too_old = atomic_load(&h->rejected[TR_APPEND_TOO_OLD]);
    out->min_time = atomic_load(&h->min_time);
    out->max_time = atomic_load(&h->max_time);
    pthread_rwlock_rdlock(&h->index_lock);
    size_t ix_mem = tr_index_memory(h->ix);
    pthread_rwlock_unlock(&h->index_lock);
    out->memory_bytes = (uint64_t)atomic_load(&h->memory) + ix_mem;
}
