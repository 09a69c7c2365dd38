/*
 * Reads for one tenant, merged from every ingester (recent data, over
 * ingester.* RPCs) and from the blocks in object storage (older data).
 *
 * The same series can come from several places: replicas of one ingester
 * set, and an ingester that still holds data it has already uploaded in a
 * block. Series are therefore merged by label set and samples by
 * timestamp, keeping one sample per timestamp.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "querier_internal.h"
#include "ring/pool.h"
#include "rpc/rpc.h"
#include "trident/ingester.pb-c.h"
#include "tsdb/block.h"
#include "tsdb/chunk.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

/* ---- collecting series from several sources ----------------------------- */

/*
 * One series as one source answered it, still encoded: an ingester's
 * chunks (copied into the arena) or a block's series (its set is kept
 * until the merge). Samples are decoded only when the parts of a series
 * are merged, straight into the one array the engine gets, so a query
 * holds each sample decoded once plus the compressed parts.
 */
struct part_chunk {
    int64_t min_t;
    int64_t max_t;
    const uint8_t *data;
    size_t len;
};

struct part {
    const struct tr_labels *labels;
    size_t order;  /* arrival order: of equal samples the first wins */
    size_t bound;  /* most samples it yields in [mint, maxt] */
    int64_t min_t; /* its samples lie in [min_t, max_t] */
    int64_t max_t;
    const struct part_chunk *chunks; /* ingester part: n_chunks chunks */
    size_t n_chunks;
    const struct tr_block_series *block; /* block part */
};

/* Label sets created while collecting; freed when the arena resets. */
struct label_keeper {
    struct tr_labels **sets;
    size_t n;
    size_t cap;
};

/* A merged series, as the engine or the series API gets it. */
struct merged_series {
    const struct tr_labels *labels;
    struct tr_promql_point *points; /* arena; strictly increasing time */
    size_t n;
};

struct collector {
    struct tr_arena *arena;
    struct part *parts; /* tr_malloc'd */
    size_t n;
    size_t cap;
    /* Block series sets the block parts point into (tr_malloc'd). */
    struct tr_block_series_set *sets;
    size_t n_sets;
    size_t cap_sets;
    struct label_keeper *keeper; /* in the arena */
    int64_t mint;
    int64_t maxt;
    bool labels_only;
    /* The result of collector_merge (tr_malloc'd). */
    struct merged_series *out;
    size_t n_out;
};

static void
keeper_free(void *arg)
{
    struct label_keeper *k = arg;
    for (size_t i = 0; i < k->n; i++) {
        tr_labels_destroy(k->sets[i]);
    }
    tr_free(k->sets);
    k->sets = NULL;
    k->n = 0;
}

/* Hands ls to the keeper: it lives until the arena resets. */
static int
keeper_add(struct label_keeper *k, struct tr_labels *ls, struct tr_err *err)
{
    if (tr_grow((void **)&k->sets, &k->cap, k->n + 1, sizeof(*k->sets)) !=
        TR_OK) {
        tr_labels_destroy(ls);
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    k->sets[k->n++] = ls;
    return TR_OK;
}

static int
collector_init(struct collector *c, struct tr_arena *arena, int64_t mint,
               int64_t maxt, bool labels_only, struct tr_err *err)
{
    memset(c, 0, sizeof(*c));
    c->arena = arena;
    c->mint = mint;
    c->maxt = maxt;
    c->labels_only = labels_only;
    c->keeper = tr_arena_calloc(arena, 1, sizeof(*c->keeper));
    if (c->keeper == NULL ||
        tr_arena_on_reset(arena, keeper_free, c->keeper) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    return TR_OK;
}

static void
collector_fini(struct collector *c)
{
    for (size_t i = 0; i < c->n_sets; i++) {
        tr_block_series_set_fini(&c->sets[i]);
    }
    tr_free(c->sets);
    tr_free(c->parts);
    tr_free(c->out);
    memset(c, 0, sizeof(*c));
}

/* Adds a part (its labels and encoded samples set by the caller). */
static int
collector_add(struct collector *c, const struct part *p, struct tr_err *err)
{
    if (tr_grow((void **)&c->parts, &c->cap, c->n + 1, sizeof(*c->parts)) !=
        TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    c->parts[c->n] = *p;
    c->parts[c->n].order = c->n;
    c->n++;
    return TR_OK;
}

static int
compare_points(const void *a, const void *b)
{
    const struct tr_promql_point *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Makes points strictly increasing in time (one sample per timestamp);
 * sources normally already are, so this is mostly a check. */
static size_t
normalize_run(struct tr_promql_point *p, size_t n)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++) {
        sorted = p[i].t > p[i - 1].t;
    }
    if (sorted) {
        return n;
    }
    /* qsort is not stable: of equal timestamps any one stays, which is
     * fine for replicas of the same sample. */
    qsort(p, n, sizeof(*p), compare_points);
    size_t out = n > 0 ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i].t != p[out - 1].t) {
            p[out++] = p[i];
        }
    }
    return out;
}

static int
compare_parts(const void *a, const void *b)
{
    const struct part *x = a, *y = b;
    int c = tr_labels_compare(x->labels, y->labels);
    if (c != 0) {
        return c;
    }
    return (x->order > y->order) - (x->order < y->order);
}

/* Decodes part p's samples in [mint, maxt] into out (room for p->bound),
 * in time order without duplicates. Returns the count or a negative code. */
static ssize_t
part_decode(const struct collector *c, const struct part *p,
            struct tr_promql_point *out, struct tr_err *err)
{
    size_t k = 0;
    if (p->block != NULL) {
        int64_t *t;
        double *v;
        int rc = tr_block_series_samples(p->block, c->mint, c->maxt, &t, &v, &k,
                                         err);
        if (rc != TR_OK) {
            return rc;
        }
        if (k > p->bound) {
            k = p->bound;
        }
        for (size_t i = 0; i < k; i++) {
            out[i] = (struct tr_promql_point){t[i], v[i]};
        }
        tr_free(t);
        tr_free(v);
        return (ssize_t)normalize_run(out, k);
    }
    for (size_t i = 0; i < p->n_chunks; i++) {
        struct tr_chunk_iter it;
        int rc =
            tr_chunk_iter_init(&it, p->chunks[i].data, p->chunks[i].len, err);
        int64_t t;
        double v;
        while (rc == TR_OK && (rc = tr_chunk_iter_next(&it, &t, &v, err)) > 0) {
            if (t >= c->mint && t <= c->maxt && k < p->bound) {
                out[k++] = (struct tr_promql_point){t, v};
            }
            rc = TR_OK;
        }
        if (rc < 0) {
            return rc;
        }
    }
    return (ssize_t)normalize_run(out, k);
}

/* Orders a group's parts by their first sample time (a handful:
 * insertion sort). */
static void
order_by_time(const struct part **g, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const struct part *x = g[i];
        size_t at = i;
        while (at > 0 && g[at - 1]->min_t > x->min_t) {
            g[at] = g[at - 1];
            at--;
        }
        g[at] = x;
    }
}

/*
 * Merges n parts whose time ranges overlap into dst: each is decoded into
 * tmp (room for the sum of their bounds), then a k-way merge keeps one
 * sample per timestamp, that of the earliest-arrived part. Returns the
 * count or a negative code.
 */
static ssize_t
merge_overlapping(const struct collector *c, const struct part **g, size_t n,
                  struct tr_promql_point *tmp, struct tr_promql_point *dst,
                  struct tr_err *err)
{
    /* Per part: where its samples start in tmp, how many, how far. */
    size_t *at = tr_calloc(3 * n, sizeof(*at));
    if (at == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    size_t *len = at + n, *pos = at + 2 * n;
    for (size_t i = 0, off = 0; i < n; i++) {
        ssize_t k = part_decode(c, g[i], tmp + off, err);
        if (k < 0) {
            tr_free(at);
            return k;
        }
        at[i] = off;
        len[i] = (size_t)k;
        off += g[i]->bound;
    }
    size_t m = 0;
    for (;;) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (pos[i] == len[i]) {
                continue;
            }
            int64_t t = tmp[at[i] + pos[i]].t;
            int64_t bt = best == n ? 0 : tmp[at[best] + pos[best]].t;
            if (best == n || t < bt ||
                (t == bt && g[i]->order < g[best]->order)) {
                best = i;
            }
        }
        if (best == n) {
            break;
        }
        struct tr_promql_point p = tmp[at[best] + pos[best]];
        dst[m++] = p;
        for (size_t i = 0; i < n; i++) {
            if (pos[i] < len[i] && tmp[at[i] + pos[i]].t == p.t) {
                pos[i]++;
            }
        }
    }
    tr_free(at);
    return (ssize_t)m;
}

/*
 * Merges the parts of one series (n > 0) into *m. In time order, parts
 * that do not overlap the ones before them (blocks, and the head past
 * them) are decoded straight into the result; a run of overlapping parts
 * (a head still holding what the newest block has, or replicas) is
 * decoded apart and merged.
 */
static int
merge_group(struct collector *c, const struct part *parts, size_t n,
            struct merged_series *m, struct tr_err *err)
{
    const struct part *stack[16];
    const struct part **g = stack;
    size_t total = 0;
    int rc = TR_OK;
    m->n = 0;
    m->points = NULL;
    if (n > sizeof(stack) / sizeof(stack[0])) {
        g = tr_malloc(n * sizeof(*g));
        if (g == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++) {
        g[i] = &parts[i];
        total += parts[i].bound;
    }
    order_by_time(g, n);
    struct tr_promql_point *dst =
        total ? tr_arena_alloc(c->arena, total * sizeof(*dst)) : NULL;
    if (total > 0 && dst == NULL) {
        rc = tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && rc == TR_OK;) {
        /* The run of parts overlapping g[i]. */
        size_t j = i + 1, run_bound = g[i]->bound;
        int64_t run_max = g[i]->max_t;
        while (j < n && g[j]->min_t <= run_max) {
            run_max = g[j]->max_t > run_max ? g[j]->max_t : run_max;
            run_bound += g[j]->bound;
            j++;
        }
        ssize_t k;
        if (j == i + 1) {
            k = part_decode(c, g[i], dst + m->n, err);
        } else {
            struct tr_promql_point *tmp = tr_malloc(run_bound * sizeof(*tmp));
            k = tmp == NULL
                    ? tr_err_set(err, TR_ENOMEM, "out of memory")
                    : merge_overlapping(c, g + i, j - i, tmp, dst + m->n, err);
            tr_free(tmp);
        }
        if (k < 0) {
            rc = (int)k;
        } else {
            m->n += (size_t)k;
        }
        i = j;
    }
    if (g != stack) {
        tr_free(g);
    }
    m->points = dst;
    return rc;
}

/*
 * Sorts the parts by label set and merges each set's parts into c->out;
 * series left without samples in range are dropped (unless labels_only).
 * Block labels are borrowed from sets freed with the collector, so a
 * result series whose labels came only from blocks gets its own copy.
 */
static int
collector_merge(struct collector *c, struct tr_err *err)
{
    if (c->n == 0) {
        return TR_OK;
    }
    qsort(c->parts, c->n, sizeof(*c->parts), compare_parts);
    c->out = tr_malloc(c->n * sizeof(*c->out));
    if (c->out == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n;) {
        size_t j = i + 1;
        while (j < c->n &&
               tr_labels_compare(c->parts[i].labels, c->parts[j].labels) == 0) {
            j++;
        }
        struct merged_series m = {.labels = NULL};
        if (!c->labels_only) {
            int rc = merge_group(c, c->parts + i, j - i, &m, err);
            if (rc != TR_OK) {
                return rc;
            }
        }
        if (c->labels_only || m.n > 0) {
            for (size_t k = i; k < j && m.labels == NULL; k++) {
                if (c->parts[k].block == NULL) {
                    m.labels = c->parts[k].labels; /* the keeper has it */
                }
            }
            if (m.labels == NULL) {
                struct tr_labels *copy = tr_labels_dup(c->parts[i].labels);
                if (copy == NULL) {
                    return tr_err_set(err, TR_ENOMEM, "out of memory");
                }
                int rc = keeper_add(c->keeper, copy, err);
                if (rc != TR_OK) {
                    return rc;
                }
                m.labels = copy;
            }
            c->out[c->n_out++] = m;
        }
        i = j;
    }
    return TR_OK;
}

/* ---- ingesters ---------------------------------------------------------- */

static int
matchers_to_pb(struct tr_arena *a, struct tr_matcher *const *m, size_t n,
               Trident__Ingester__LabelMatcher ***out, struct tr_err *err)
{
    *out = NULL;
    if (n == 0) {
        return TR_OK;
    }
    Trident__Ingester__LabelMatcher **list =
        tr_arena_calloc(a, n, sizeof(*list));
    Trident__Ingester__LabelMatcher *items =
        tr_arena_calloc(a, n, sizeof(*items));
    if (list == NULL || items == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        size_t name_len, value_len;
        const char *name = tr_matcher_name(m[i], &name_len);
        const char *value = tr_matcher_value(m[i], &value_len);
        trident__ingester__label_matcher__init(&items[i]);
        switch (tr_matcher_type(m[i])) {
        case TR_MATCH_EQUAL:
            items[i].type = TRIDENT__INGESTER__LABEL_MATCHER__TYPE__EQ;
            break;
        case TR_MATCH_NOT_EQUAL:
            items[i].type = TRIDENT__INGESTER__LABEL_MATCHER__TYPE__NEQ;
            break;
        case TR_MATCH_REGEX:
            items[i].type = TRIDENT__INGESTER__LABEL_MATCHER__TYPE__RE;
            break;
        case TR_MATCH_NOT_REGEX:
            items[i].type = TRIDENT__INGESTER__LABEL_MATCHER__TYPE__NRE;
            break;
        }
        items[i].name = tr_arena_strndup(a, name, name_len);
        items[i].value = tr_arena_strndup(a, value, value_len);
        if (items[i].name == NULL || items[i].value == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        list[i] = &items[i];
    }
    *out = list;
    return TR_OK;
}

/* Packs a protobuf-c message into the arena. */
static void *
pack_in_arena(struct tr_arena *a, const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = tr_arena_alloc(a, *len > 0 ? *len : 1);
    if (buf != NULL) {
        protobuf_c_message_pack(msg, buf);
    }
    return buf;
}

static int
rpc_timeout_ms(const struct querier_store_ctx *ctx)
{
    if (ctx->deadline_ns > 0) {
        int64_t left = (ctx->deadline_ns - tr_mono_ns()) / TR_NS_PER_MS;
        return left < 1 ? 1 : (left > INT32_MAX ? INT32_MAX : (int)left);
    }
    return ctx->q->ingester_timeout_ms;
}

static int
labels_from_pb(Prometheus__Label **pb, size_t n, struct tr_labels **out,
               struct tr_err *err)
{
    struct tr_label stack[32];
    struct tr_label *pairs = stack;
    if (n == 0) {
        return tr_labels_from_pairs(NULL, 0, out, err);
    }
    if (n > 32) {
        pairs = tr_malloc(n * sizeof(*pairs));
        if (pairs == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++) {
        pairs[i] = (struct tr_label){pb[i]->name, strlen(pb[i]->name),
                                     pb[i]->value, strlen(pb[i]->value)};
    }
    int rc = tr_labels_from_pairs(pairs, n, out, err);
    if (pairs != stack) {
        tr_free(pairs);
    }
    return rc;
}

/* Copies a series' chunks that overlap [mint, maxt] into the arena as an
 * ingester part (labels set by the caller). */
static int
part_from_chunks(struct collector *c, const Trident__Ingester__SeriesChunks *sc,
                 struct part *p, struct tr_err *err)
{
    memset(p, 0, sizeof(*p));
    p->min_t = INT64_MAX;
    p->max_t = INT64_MIN;
    if (c->labels_only || sc->n_chunks == 0) {
        return TR_OK;
    }
    struct part_chunk *chunks =
        tr_arena_alloc(c->arena, sc->n_chunks * sizeof(*chunks));
    if (chunks == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < sc->n_chunks; i++) {
        const Trident__Ingester__Chunk *ch = sc->chunks[i];
        const ProtobufCBinaryData *d = &ch->data;
        if (ch->max_time_ms < c->mint || ch->min_time_ms > c->maxt ||
            d->len < 2) {
            continue;
        }
        uint8_t *data = tr_arena_alloc(c->arena, d->len);
        if (data == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        memcpy(data, d->data, d->len);
        int64_t lo = ch->min_time_ms < c->mint ? c->mint : ch->min_time_ms;
        int64_t hi = ch->max_time_ms > c->maxt ? c->maxt : ch->max_time_ms;
        chunks[p->n_chunks++] = (struct part_chunk){lo, hi, data, d->len};
        /* A chunk starts with its sample count (big-endian u16). */
        p->bound += ((size_t)d->data[0] << 8) | d->data[1];
        p->min_t = lo < p->min_t ? lo : p->min_t;
        p->max_t = hi > p->max_t ? hi : p->max_t;
    }
    p->chunks = chunks;
    return TR_OK;
}

struct select_stream {
    struct collector *c;
    struct tr_arena *scratch;
    struct tr_err *err;
    int rc;
};

static int
on_select_message(void *arg, const void *msg, size_t len)
{
    struct select_stream *s = arg;
    ProtobufCAllocator alloc;
    tr_arena_reset(s->scratch);
    tr_arena_pb_allocator(s->scratch, &alloc);
    Trident__Ingester__SelectMetricsResponse *resp =
        trident__ingester__select_metrics_response__unpack(&alloc, len, msg);
    if (resp == NULL) {
        s->rc = tr_err_set(s->err, TR_EIO,
                           "cannot decode ingester.SelectMetrics reply");
        return 1;
    }
    for (size_t i = 0; i < resp->n_series; i++) {
        Trident__Ingester__SeriesChunks *sc = resp->series[i];
        struct part p;
        s->rc = part_from_chunks(s->c, sc, &p, s->err);
        if (s->rc != TR_OK) {
            return 1;
        }
        if (!s->c->labels_only && p.bound == 0) {
            continue;
        }
        struct tr_labels *ls;
        s->rc = labels_from_pb(sc->labels, sc->n_labels, &ls, s->err);
        if (s->rc == TR_OK) {
            s->rc = keeper_add(s->c->keeper, ls, s->err);
        }
        if (s->rc == TR_OK) {
            p.labels = ls;
            s->rc = collector_add(s->c, &p, s->err);
        }
        if (s->rc != TR_OK) {
            return 1;
        }
    }
    return 0;
}

/* Selects from every ingester, naming the blocks that will be read so
 * ingesters leave out the samples they hold only until those blocks are
 * known. */
static int
select_ingesters(struct querier_store_ctx *ctx, struct collector *c,
                 struct tr_matcher *const *m, size_t n,
                 struct tr_block *const *blocks, size_t n_blocks,
                 struct tr_err *err)
{
    Trident__Ingester__SelectMetricsRequest req =
        TRIDENT__INGESTER__SELECT_METRICS_REQUEST__INIT;
    req.tenant = (char *)ctx->tenant;
    req.start_ms = c->mint;
    req.end_ms = c->maxt;
    req.labels_only = c->labels_only;
    req.n_matchers = n;
    int rc = matchers_to_pb(c->arena, m, n, &req.matchers, err);
    if (rc != TR_OK) {
        return rc;
    }
    req.known_blocks =
        tr_arena_alloc(c->arena, (n_blocks + 1) * sizeof(*req.known_blocks));
    if (req.known_blocks == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_blocks; i++) {
        req.known_blocks[i] = (char *)tr_block_get_meta(blocks[i])->id;
    }
    req.n_known_blocks = n_blocks;
    size_t len;
    void *payload = pack_in_arena(c->arena, &req.base, &len);
    if (payload == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    struct select_stream s = {.c = c, .err = err};
    s.scratch = querier_arena_get(ctx->q);
    if (s.scratch == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    size_t members = tr_ingester_pool_size(ctx->q->ingesters);
    for (size_t i = 0; i < members && rc == TR_OK; i++) {
        struct tr_rpc_client *client =
            tr_ingester_pool_client(ctx->q->ingesters, i);
        rc = tr_rpc_client_stream(client, "ingester.SelectMetrics", payload,
                                  len, rpc_timeout_ms(ctx), on_select_message,
                                  &s, err);
        if (s.rc != TR_OK) {
            rc = s.rc; /* our callback stopped the stream */
        }
    }
    querier_arena_put(ctx->q, s.scratch);
    return rc;
}

/* ---- blocks ------------------------------------------------------------- */

/* Keeps a block's selected series (their labels and encoded columns) for
 * the merge; *out points at the kept set. */
static int
keep_set(struct collector *c, struct tr_block_series_set *set,
         const struct tr_block_series_set **out, struct tr_err *err)
{
    if (tr_grow((void **)&c->sets, &c->cap_sets, c->n_sets + 1,
                sizeof(*c->sets)) != TR_OK) {
        tr_block_series_set_fini(set);
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    c->sets[c->n_sets] = *set;
    *out = &c->sets[c->n_sets++];
    return TR_OK;
}

static int
select_blocks(struct collector *c, struct tr_matcher *const *m, size_t n,
              struct tr_block *const *blocks, size_t n_blocks,
              struct tr_err *err)
{
    int rc = TR_OK;
    for (size_t b = 0; b < n_blocks && rc == TR_OK; b++) {
        struct tr_block_series_set set = {0};
        const struct tr_block_series_set *kept = NULL;
        rc = tr_block_select(blocks[b], m, n, c->mint, c->maxt, &set, err);
        if (rc != TR_OK) {
            tr_block_series_set_fini(&set);
            break;
        }
        rc = keep_set(c, &set, &kept, err);
        for (size_t i = 0; rc == TR_OK && i < kept->len; i++) {
            const struct tr_block_series *bs = &kept->series[i];
            struct part p = {.labels = bs->labels, .block = bs};
            if (!c->labels_only) {
                p.bound = tr_block_series_count(bs, c->mint, c->maxt);
                if (p.bound == 0) {
                    continue;
                }
                p.min_t = bs->min_t < c->mint ? c->mint : bs->min_t;
                p.max_t = bs->max_t > c->maxt ? c->maxt : bs->max_t;
            }
            rc = collector_add(c, &p, err);
        }
    }
    return rc;
}

/* Collects from every ingester, then every block of the range. */
static int
collect(struct querier_store_ctx *ctx, struct collector *c,
        struct tr_matcher *const *m, size_t n, struct tr_err *err)
{
    struct tr_block **blocks;
    size_t n_blocks;
    int rc = querier_blocks_for_range(ctx->q->blocks, ctx->tenant, c->mint,
                                      c->maxt, &blocks, &n_blocks, err);
    if (rc != TR_OK) {
        return rc;
    }
    rc = select_ingesters(ctx, c, m, n, blocks, n_blocks, err);
    if (rc == TR_OK) {
        rc = select_blocks(c, m, n, blocks, n_blocks, err);
    }
    for (size_t b = 0; b < n_blocks; b++) {
        tr_block_release(blocks[b]);
    }
    tr_free(blocks);
    return rc;
}

/* ---- the PromQL queryable ----------------------------------------------- */

static int
store_select(void *arg, struct tr_arena *arena,
             struct tr_matcher *const *matchers, size_t n, int64_t mint_ms,
             int64_t maxt_ms, const struct tr_promql_select_hints *hints,
             struct tr_promql_storage_series **series, size_t *count,
             struct tr_err *err)
{
    struct querier_store_ctx *ctx = arg;
    struct collector c;
    *series = NULL;
    *count = 0;
    int rc = collector_init(&c, arena, mint_ms, maxt_ms, false, err);
    if (rc == TR_OK) {
        rc = collect(ctx, &c, matchers, n, err);
    }
    if (rc == TR_OK) {
        rc = collector_merge(&c, err);
    }
    if (rc == TR_OK && c.n_out > 0) {
        struct tr_promql_storage_series *out =
            tr_arena_calloc(arena, c.n_out, sizeof(*out));
        if (out == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < c.n_out; i++) {
                out[i] = (struct tr_promql_storage_series){
                    c.out[i].labels, c.out[i].points, c.out[i].n};
            }
            *series = out;
            *count = c.n_out;
        }
    }
    collector_fini(&c);
    return rc;
}

void
querier_store_queryable(struct querier_store_ctx *ctx,
                        struct tr_promql_queryable *out)
{
    out->select = store_select;
    out->ctx = ctx;
}

/* ---- series ------------------------------------------------------------- */

int
querier_store_series(struct querier_store_ctx *ctx, struct tr_arena *arena,
                     struct tr_matcher **const *sets, const size_t *set_len,
                     size_t n_sets, int64_t mint, int64_t maxt,
                     const struct tr_labels ***out, size_t *count,
                     struct tr_err *err)
{
    struct collector c;
    *out = NULL;
    *count = 0;
    int rc = collector_init(&c, arena, mint, maxt, true, err);
    for (size_t i = 0; i < n_sets && rc == TR_OK; i++) {
        rc = collect(ctx, &c, sets[i], set_len[i], err);
    }
    if (rc == TR_OK) {
        rc = collector_merge(&c, err);
    }
    if (rc == TR_OK && c.n_out > 0) {
        const struct tr_labels **ls =
            tr_arena_calloc(arena, c.n_out, sizeof(*ls));
        if (ls == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < c.n_out; i++) {
                ls[i] = c.out[i].labels;
            }
            *out = ls;
            *count = c.n_out;
        }
    }
    collector_fini(&c);
    return rc;
}

/* ---- label names and values --------------------------------------------- */

struct strings {
    const char **items; /* tr_malloc'd array of arena strings */
    size_t n;
    size_t cap;
};

static int
strings_add(struct strings *s, struct tr_arena *a, const char *str, size_t len)
{
    if (tr_grow((void **)&s->items, &s->cap, s->n + 1, sizeof(*s->items)) !=
        TR_OK) {
        return TR_ENOMEM;
    }
    const char *copy = tr_arena_strndup(a, str, len);
    if (copy == NULL) {
        return TR_ENOMEM;
    }
    s->items[s->n++] = copy;
    return TR_OK;
}

static int
compare_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
ingester_label_strings(struct querier_store_ctx *ctx, struct tr_arena *arena,
                       const char *name, struct tr_matcher *const *m, size_t n,
                       int64_t mint, int64_t maxt, struct strings *acc,
                       struct tr_err *err)
{
    Trident__Ingester__LabelMatcher **pbm;
    int rc = matchers_to_pb(arena, m, n, &pbm, err);
    if (rc != TR_OK) {
        return rc;
    }
    size_t len;
    void *payload;
    const char *method;
    if (name == NULL) {
        Trident__Ingester__LabelNamesRequest req =
            TRIDENT__INGESTER__LABEL_NAMES_REQUEST__INIT;
        req.tenant = (char *)ctx->tenant;
        req.n_matchers = n;
        req.matchers = pbm;
        req.start_ms = mint;
        req.end_ms = maxt;
        payload = pack_in_arena(arena, &req.base, &len);
        method = "ingester.LabelNames";
    } else {
        Trident__Ingester__LabelValuesRequest req =
            TRIDENT__INGESTER__LABEL_VALUES_REQUEST__INIT;
        req.tenant = (char *)ctx->tenant;
        req.name = (char *)name;
        req.n_matchers = n;
        req.matchers = pbm;
        req.start_ms = mint;
        req.end_ms = maxt;
        payload = pack_in_arena(arena, &req.base, &len);
        method = "ingester.LabelValues";
    }
    if (payload == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    struct tr_buf resp = TR_BUF_INIT;
    size_t members = tr_ingester_pool_size(ctx->q->ingesters);
    for (size_t i = 0; i < members && rc == TR_OK; i++) {
        struct tr_rpc_client *client =
            tr_ingester_pool_client(ctx->q->ingesters, i);
        rc = tr_rpc_client_call(client, method, payload, len,
                                rpc_timeout_ms(ctx), &resp, err);
        if (rc != TR_OK) {
            break;
        }
        char **items;
        size_t n_items;
        if (name == NULL) {
            Trident__Ingester__LabelNamesResponse *r =
                trident__ingester__label_names_response__unpack(
                    NULL, resp.len, (const uint8_t *)resp.data);
            if (r == NULL) {
                rc = tr_err_set(err, TR_EIO, "cannot decode %s reply", method);
                break;
            }
            items = r->names;
            n_items = r->n_names;
            for (size_t k = 0; k < n_items && rc == TR_OK; k++) {
                rc = strings_add(acc, arena, items[k], strlen(items[k]));
            }
            trident__ingester__label_names_response__free_unpacked(r, NULL);
        } else {
            Trident__Ingester__LabelValuesResponse *r =
                trident__ingester__label_values_response__unpack(
                    NULL, resp.len, (const uint8_t *)resp.data);
            if (r == NULL) {
                rc = tr_err_set(err, TR_EIO, "cannot decode %s reply", method);
                break;
            }
            items = r->values;
            n_items = r->n_values;
            for (size_t k = 0; k < n_items && rc == TR_OK; k++) {
                rc = strings_add(acc, arena, items[k], strlen(items[k]));
            }
            trident__ingester__label_values_response__free_unpacked(r, NULL);
        }
        if (rc == TR_ENOMEM) {
            tr_err_set(err, TR_ENOMEM, "out of memory");
        }
    }
    tr_buf_fini(&resp);
    return rc;
}

static int
block_label_strings(struct querier_store_ctx *ctx, struct tr_arena *arena,
                    const char *name, struct tr_matcher *const *m, size_t n,
                    int64_t mint, int64_t maxt, struct strings *acc,
                    struct tr_err *err)
{
    struct tr_block **blocks;
    size_t n_blocks;
    int rc = querier_blocks_for_range(ctx->q->blocks, ctx->tenant, mint, maxt,
                                      &blocks, &n_blocks, err);
    for (size_t b = 0; b < n_blocks && rc == TR_OK; b++) {
        struct tr_tsdb_str *strs = NULL;
        size_t count = 0;
        if (name == NULL) {
            rc = tr_block_label_names(blocks[b], m, n, mint, maxt, arena, &strs,
                                      &count, err);
        } else {
            rc = tr_block_label_values(blocks[b], name, strlen(name), m, n,
                                       mint, maxt, arena, &strs, &count, err);
        }
        for (size_t k = 0; k < count && rc == TR_OK; k++) {
            if (strings_add(acc, arena, strs[k].ptr, strs[k].len) != TR_OK) {
                rc = tr_err_set(err, TR_ENOMEM, "out of memory");
            }
        }
    }
    for (size_t b = 0; b < n_blocks; b++) {
        tr_block_release(blocks[b]);
    }
    tr_free(blocks);
    return rc;
}

int
querier_store_label_strings(struct querier_store_ctx *ctx,
                            struct tr_arena *arena, const char *name,
                            struct tr_matcher **const *sets,
                            const size_t *set_len, size_t n_sets, int64_t mint,
                            int64_t maxt, const char ***out, size_t *count,
                            struct tr_err *err)
{
    struct strings acc = {0};
    int rc = TR_OK;
    *out = NULL;
    *count = 0;
    /* No match[]: one pass over all series. */
    size_t passes = n_sets > 0 ? n_sets : 1;
    for (size_t i = 0; i < passes && rc == TR_OK; i++) {
        struct tr_matcher *const *m = n_sets > 0 ? sets[i] : NULL;
        size_t n = n_sets > 0 ? set_len[i] : 0;
        rc = ingester_label_strings(ctx, arena, name, m, n, mint, maxt, &acc,
                                    err);
        if (rc == TR_OK) {
            rc = block_label_strings(ctx, arena, name, m, n, mint, maxt, &acc,
                                     err);
        }
    }
    if (rc == TR_OK && acc.n > 0) {
        qsort(acc.items, acc.n, sizeof(*acc.items), compare_str);
        const char **list = tr_arena_calloc(arena, acc.n, sizeof(*list));
        if (list == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        } else {
            size_t n = 0;
            for (size_t i = 0; i < acc.n; i++) {
                if (n == 0 || strcmp(list[n - 1], acc.items[i]) != 0) {
                    list[n++] = acc.items[i];
                }
            }
            *out = list;
            *count = n;
        }
    }
    tr_free(acc.items);
    return rc;
}

/* ---- metadata ----------------------------------------------------------- */

static const char *
metric_type_name(Prometheus__MetricMetadata__MetricType t)
{
    switch (t) {
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER:
        return "counter";
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE:
        return "gauge";
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM:
        return "histogram";
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGEHISTOGRAM:
        return "gaugehistogram";
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__SUMMARY:
        return "summary";
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__INFO:
        return "info";
    case PROMETHEUS__METRIC_METADATA__METRIC_TYPE__STATESET:
        return "stateset";
    default:
        return "unknown";
    }
}

static int
compare_metadata(const void *a, const void *b)
{
    const struct querier_metadata *x = a, *y = b;
    int c = strcmp(x->metric, y->metric);
    if (c == 0) {
        c = strcmp(x->type, y->type);
    }
    if (c == 0) {
        c = strcmp(x->help, y->help);
    }
    if (c == 0) {
        c = strcmp(x->unit, y->unit);
    }
    return c;
}

int
querier_store_metadata(struct querier_store_ctx *ctx, struct tr_arena *arena,
                       const char *metric, struct querier_metadata **out,
                       size_t *count, struct tr_err *err)
{
    Trident__Ingester__MetadataRequest req =
        TRIDENT__INGESTER__METADATA_REQUEST__INIT;
    req.tenant = (char *)ctx->tenant;
    req.metric = (char *)(metric != NULL ? metric : "");
    size_t len;
    void *payload = pack_in_arena(arena, &req.base, &len);
    *out = NULL;
    *count = 0;
    if (payload == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    struct querier_metadata *items = NULL;
    size_t n = 0, cap = 0;
    int rc = TR_OK;
    struct tr_buf resp = TR_BUF_INIT;
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(arena, &alloc);
    size_t members = tr_ingester_pool_size(ctx->q->ingesters);
    for (size_t i = 0; i < members && rc == TR_OK; i++) {
        rc = tr_rpc_client_call(tr_ingester_pool_client(ctx->q->ingesters, i),
                                "ingester.Metadata", payload, len,
                                rpc_timeout_ms(ctx), &resp, err);
        if (rc != TR_OK) {
            break;
        }
        /* Unpacked into the arena: the strings are kept as they are. */
        Trident__Ingester__MetadataResponse *r =
            trident__ingester__metadata_response__unpack(
                &alloc, resp.len, (const uint8_t *)resp.data);
        if (r == NULL) {
            rc = tr_err_set(err, TR_EIO,
                            "cannot decode ingester.Metadata reply");
            break;
        }
        for (size_t k = 0; k < r->n_metadata; k++) {
            if (tr_grow((void **)&items, &cap, n + 1, sizeof(*items)) !=
                TR_OK) {
                rc = tr_err_set(err, TR_ENOMEM, "out of memory");
                break;
            }
            const Prometheus__MetricMetadata *m = r->metadata[k];
            items[n++] = (struct querier_metadata){m->metric_family_name,
                                                   metric_type_name(m->type),
                                                   m->help, m->unit};
        }
    }
    tr_buf_fini(&resp);
    if (rc == TR_OK && n > 0) {
        qsort(items, n, sizeof(*items), compare_metadata);
        struct querier_metadata *list =
            tr_arena_calloc(arena, n, sizeof(*list));
        if (list == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        } else {
            size_t u = 0;
            for (size_t i = 0; i < n; i++) {
                if (u == 0 || compare_metadata(&list[u - 1], &items[i]) != 0) {
                    list[u++] = items[i];
                }
            }
            *out = list;
            *count = u;
        }
    }
    tr_free(items);
    return rc;
}

/* ---- exemplars ---------------------------------------------------------- */

struct raw_exemplars {
    const struct tr_labels *series;
    struct querier_exemplar *ex;
    size_t n;
    size_t order;
};

static int
compare_raw_exemplars(const void *a, const void *b)
{
    const struct raw_exemplars *x = a, *y = b;
    int c = tr_labels_compare(x->series, y->series);
    if (c != 0) {
        return c;
    }
    return (x->order > y->order) - (x->order < y->order);
}

static int
compare_exemplar(const void *a, const void *b)
{
    const struct querier_exemplar *x = a, *y = b;
    if (x->t_ms != y->t_ms) {
        return x->t_ms < y->t_ms ? -1 : 1;
    }
    return tr_labels_compare(x->labels, y->labels);
}

int
querier_store_exemplars(struct querier_store_ctx *ctx, struct tr_arena *arena,
                        struct tr_matcher **const *sets, const size_t *set_len,
                        size_t n_sets, int64_t mint, int64_t maxt,
                        struct querier_series_exemplars **out, size_t *count,
                        struct tr_err *err)
{
    struct collector c; /* used for its label keeper only */
    int rc = collector_init(&c, arena, mint, maxt, true, err);
    struct raw_exemplars *raw = NULL;
    size_t n_raw = 0, cap = 0;
    struct tr_buf resp = TR_BUF_INIT;
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(arena, &alloc);
    *out = NULL;
    *count = 0;

    for (size_t s = 0; s < n_sets && rc == TR_OK; s++) {
        Trident__Ingester__ExemplarsRequest req =
            TRIDENT__INGESTER__EXEMPLARS_REQUEST__INIT;
        req.tenant = (char *)ctx->tenant;
        req.start_ms = mint;
        req.end_ms = maxt;
        req.n_matchers = set_len[s];
        rc = matchers_to_pb(arena, sets[s], set_len[s], &req.matchers, err);
        size_t len = 0;
        void *payload =
            rc == TR_OK ? pack_in_arena(arena, &req.base, &len) : NULL;
        if (rc == TR_OK && payload == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        size_t members = tr_ingester_pool_size(ctx->q->ingesters);
        for (size_t i = 0; i < members && rc == TR_OK; i++) {
            rc = tr_rpc_client_call(
                tr_ingester_pool_client(ctx->q->ingesters, i),
                "ingester.Exemplars", payload, len, rpc_timeout_ms(ctx), &resp,
                err);
            if (rc != TR_OK) {
                break;
            }
            Trident__Ingester__ExemplarsResponse *r =
                trident__ingester__exemplars_response__unpack(
                    &alloc, resp.len, (const uint8_t *)resp.data);
            if (r == NULL) {
                rc = tr_err_set(err, TR_EIO,
                                "cannot decode ingester.Exemplars reply");
                break;
            }
            for (size_t k = 0; k < r->n_series && rc == TR_OK; k++) {
                Trident__Ingester__SeriesExemplars *se = r->series[k];
                if (tr_grow((void **)&raw, &cap, n_raw + 1, sizeof(*raw)) !=
                    TR_OK) {
                    rc = tr_err_set(err, TR_ENOMEM, "out of memory");
                    break;
                }
                struct tr_labels *ls;
                rc = labels_from_pb(se->labels, se->n_labels, &ls, err);
                if (rc == TR_OK) {
                    rc = keeper_add(c.keeper, ls, err);
                }
                struct querier_exemplar *ex =
                    tr_arena_calloc(arena, se->n_exemplars + 1, sizeof(*ex));
                if (rc == TR_OK && ex == NULL) {
                    rc = tr_err_set(err, TR_ENOMEM, "out of memory");
                }
                for (size_t e = 0; e < se->n_exemplars && rc == TR_OK; e++) {
                    const Prometheus__Exemplar *pe = se->exemplars[e];
                    struct tr_labels *el;
                    rc = labels_from_pb(pe->labels, pe->n_labels, &el, err);
                    if (rc == TR_OK) {
                        rc = keeper_add(c.keeper, el, err);
                    }
                    ex[e] =
                        (struct querier_exemplar){el, pe->value, pe->timestamp};
                }
                if (rc == TR_OK) {
                    raw[n_raw] =
                        (struct raw_exemplars){ls, ex, se->n_exemplars, n_raw};
                    n_raw++;
                }
            }
        }
    }
    tr_buf_fini(&resp);

    if (rc == TR_OK && n_raw > 0) {
        qsort(raw, n_raw, sizeof(*raw), compare_raw_exemplars);
        struct querier_series_exemplars *list =
            tr_arena_calloc(arena, n_raw, sizeof(*list));
        if (list == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        size_t n_out = 0;
        for (size_t i = 0; i < n_raw && rc == TR_OK;) {
            size_t j = i, total = 0;
            while (j < n_raw &&
                   tr_labels_compare(raw[i].series, raw[j].series) == 0) {
                total += raw[j].n;
                j++;
            }
            struct querier_exemplar *all =
                tr_arena_calloc(arena, total + 1, sizeof(*all));
            if (all == NULL) {
                rc = tr_err_set(err, TR_ENOMEM, "out of memory");
                break;
            }
            size_t k = 0;
            for (size_t g = i; g < j; g++) {
                memcpy(all + k, raw[g].ex, raw[g].n * sizeof(*all));
                k += raw[g].n;
            }
            qsort(all, k, sizeof(*all), compare_exemplar);
            size_t u = 0;
            for (size_t e = 0; e < k; e++) {
                if (u == 0 || compare_exemplar(&all[u - 1], &all[e]) != 0) {
                    all[u++] = all[e];
                }
            }
            if (u > 0) {
                list[n_out++] =
                    (struct querier_series_exemplars){raw[i].series, all, u};
            }
            i = j;
        }
        if (rc == TR_OK) {
            *out = list;
            *count = n_out;
        }
    }
    tr_free(raw);
    collector_fini(&c);
    return rc;
}
