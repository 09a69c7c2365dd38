/*
 * Inside the querier role: the module state and the parts it is split
 * into.
 *
 *   querier.c     module start/stop, configuration, RPC registration
 *   blocks.c      per-tenant lists of blocks in object storage
 *   store.c       reads merged from every ingester and the blocks: series
 *                 selects (the PromQL queryable), series, label names and
 *                 values, metadata, exemplars
 *   prometheus.c  the querier.Prometheus RPC: evaluates one Prometheus
 *                 API request and renders the response
 */
#ifndef TR_SVC_QUERIER_INTERNAL_H
#define TR_SVC_QUERIER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/storage.h"

struct tr_arena;
struct tr_block;
struct tr_block_cache;
struct tr_err;
struct tr_ingester_pool;
struct tr_labels;
struct tr_matcher;
struct tr_objstore;
struct tr_promql_engine;
struct tr_rpc_call;
struct tr_rpc_request;

/* ---- blocks.c ----------------------------------------------------------- */

struct querier_blocks;

/*
 * Lists of each tenant's blocks in os (borrowed), re-listed when older
 * than refresh_ns, and a cache of cache_size open blocks. NULL on ENOMEM.
 */
struct querier_blocks *querier_blocks_create(struct tr_objstore *os,
                                             size_t cache_size,
                                             int64_t refresh_ns);
void querier_blocks_destroy(struct querier_blocks *b);

/*
 * The open blocks of tenant whose range overlaps [mint, maxt] (inclusive),
 * in *out (an array from tr_malloc holding *n new references: release
 * each with tr_block_release, then tr_free the array). Store errors pass
 * up with "cannot list blocks of tenant <t>" in front.
 */
int querier_blocks_for_range(struct querier_blocks *b, const char *tenant,
                             int64_t mint, int64_t maxt, struct tr_block ***out,
                             size_t *n, struct tr_err *err);

/* ---- querier.c ---------------------------------------------------------- */

/* Most idle query arenas kept, and what each keeps of its memory. */
#define QUERIER_ARENA_POOL 8
#define QUERIER_ARENA_BLOCK (64 * 1024)
#define QUERIER_ARENA_KEEP (32 * 1024 * 1024)

struct querier {
    struct tr_ingester_pool *ingesters;
    struct querier_blocks *blocks;
    struct tr_promql_engine *engine;
    /* Engine options, for requests that override one (lookback_delta). */
    int64_t lookback_delta_ms;
    int64_t max_samples;
    int64_t timeout_ms;
    int64_t default_eval_interval_ms;
    int ingester_timeout_ms;
    /* Idle query arenas: queries reuse their memory instead of faulting in
     * fresh pages every time. */
    pthread_mutex_t arenas_lock;
    struct tr_arena *arenas[QUERIER_ARENA_POOL];
    size_t n_arenas;
};

/* An empty arena for one query (from the pool, or new); NULL on ENOMEM. */
struct tr_arena *querier_arena_get(struct querier *q);
/* Resets a (NULL is allowed) and returns it to the pool (or destroys it
 * when the pool is full). */
void querier_arena_put(struct querier *q, struct tr_arena *a);

/* ---- store.c ------------------------------------------------------------ */

/* A select on behalf of one tenant: the PromQL queryable's context. */
struct querier_store_ctx {
    struct querier *q;
    const char *tenant;
    int64_t deadline_ns; /* tr_mono_ns() clock; 0: none */
};

/* Fills *out with a queryable over ctx (borrowed for the query). */
void querier_store_queryable(struct querier_store_ctx *ctx,
                             struct tr_promql_queryable *out);

/*
 * The series (labels only) matching every matcher of any of the n_sets
 * matcher sets, in [mint, maxt], merged across ingesters and blocks,
 * sorted and unique. *out is an arena array of *count label sets that
 * live until the arena is reset.
 */
int querier_store_series(struct querier_store_ctx *ctx, struct tr_arena *arena,
                         struct tr_matcher **const *sets, const size_t *set_len,
                         size_t n_sets, int64_t mint, int64_t maxt,
                         const struct tr_labels ***out, size_t *count,
                         struct tr_err *err);

/*
 * Sorted unique label names (name == NULL) or values of label name, of the
 * series matching any of the matcher sets (no sets: all series) in
 * [mint, maxt]. *out is an arena array of *count NUL-terminated strings
 * in the arena.
 */
int querier_store_label_strings(struct querier_store_ctx *ctx,
                                struct tr_arena *arena, const char *name,
                                struct tr_matcher **const *sets,
                                const size_t *set_len, size_t n_sets,
                                int64_t mint, int64_t maxt, const char ***out,
                                size_t *count, struct tr_err *err);

/* One metadata entry of a metric family. */
struct querier_metadata {
    const char *metric;
    const char *type; /* "counter", "gauge", ... */
    const char *help;
    const char *unit;
};

/*
 * Metric metadata from every ingester (metric: one family or NULL for
 * all), sorted by metric then type, help, unit, without duplicates, in
 * the arena.
 */
int querier_store_metadata(struct querier_store_ctx *ctx,
                           struct tr_arena *arena, const char *metric,
                           struct querier_metadata **out, size_t *count,
                           struct tr_err *err);

/* Exemplars of one series. */
struct querier_exemplar {
    const struct tr_labels *labels;
    double value;
    int64_t t_ms;
};
struct querier_series_exemplars {
    const struct tr_labels *series;
    struct querier_exemplar *exemplars;
    size_t n;
};

/*
 * Exemplars in [mint, maxt] of the series matching any of the matcher
 * sets, from every ingester, grouped by series (sorted), each group in
 * time order without duplicates, in the arena.
 */
int querier_store_exemplars(struct querier_store_ctx *ctx,
                            struct tr_arena *arena,
                            struct tr_matcher **const *sets,
                            const size_t *set_len, size_t n_sets, int64_t mint,
                            int64_t maxt, struct querier_series_exemplars **out,
                            size_t *count, struct tr_err *err);

/* ---- prometheus.c ------------------------------------------------------- */

/* The querier.Prometheus RPC handler; arg is the struct querier. */
void querier_prometheus_handle(struct tr_rpc_call *call,
                               const struct tr_rpc_request *req, void *arg);

#endif
