/*
 * Where the PromQL engine gets its samples from.
 *
 * The engine knows nothing of heads, blocks or ingesters: it asks a
 * queryable for the series matching a selector's matchers with samples in
 * [mint_ms, maxt_ms] (both inclusive), once per selector in the query.
 * The queryable answers with series sorted by label set (Prometheus
 * order, tr_labels_compare), each with its samples in time order, all
 * materialised in the query arena (or, for the label sets, in memory that
 * outlives the arena, such as a head's series).
 *
 * Samples include stale markers (the NaN with bits
 * TR_PROMQL_STALE_NAN_BITS, value.h) exactly as stored; the engine honours
 * them (a stale marker ends a series for lookback and is never a value).
 * A queryable may return samples outside [mint_ms, maxt_ms]; the engine
 * ignores them.
 *
 * The hints describe what the selector is for, so a storage can trim work
 * (e.g. downsample or skip chunks); using them is optional.
 */
#ifndef TR_PROMQL_STORAGE_H
#define TR_PROMQL_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/value.h"

struct tr_arena;
struct tr_err;
struct tr_head;
struct tr_labels;
struct tr_matcher;

/* What a select is for (Prometheus storage.SelectHints). */
struct tr_promql_select_hints {
    int64_t start_ms; /* same as the select's mint_ms */
    int64_t end_ms;   /* same as the select's maxt_ms */
    int64_t step_ms;  /* evaluation step; 0 for an instant query */
    int64_t range_ms; /* range of a range selector [5m]; 0 otherwise */
    /* Name of the function the selector is an argument of ("rate"), or
     * NULL. */
    const char *func;
    /* Grouping of an enclosing aggregation (informational; may be 0). */
    const struct tr_promql_str *grouping;
    size_t n_grouping;
    bool by; /* grouping is "by" (true) or "without" (false) */
};

/* One series answered by a select. */
struct tr_promql_storage_series {
    /* Borrowed: must stay valid until the query arena is reset. */
    const struct tr_labels *labels;
    /* Samples in time order, in the arena. */
    struct tr_promql_point *points;
    size_t n_points;
};

/*
 * Selects the series matching every matcher (borrowed; n of them, at
 * least one) with samples in [mint_ms, maxt_ms]. On success sets *series
 * to an array of *count series in the arena, sorted by label set, and
 * returns TR_OK. On failure returns a negative TR_E* code with err set;
 * TR_ELIMIT means a storage limit was hit, others are storage errors.
 */
typedef int (*tr_promql_select_fn)(void *ctx, struct tr_arena *arena,
                                   struct tr_matcher *const *matchers, size_t n,
                                   int64_t mint_ms, int64_t maxt_ms,
                                   const struct tr_promql_select_hints *hints,
                                   struct tr_promql_storage_series **series,
                                   size_t *count, struct tr_err *err);

/* A source of series: a select callback and its context (borrowed). */
struct tr_promql_queryable {
    tr_promql_select_fn select;
    void *ctx;
};

/*
 * Fills *out with a queryable over head h (borrowed; it must outlive every
 * query using *out). Selects use tr_head_select and copy each series'
 * samples in range into the query arena; label sets are borrowed from the
 * head. Safe to use from several threads at once (the head is).
 */
void tr_promql_head_queryable(struct tr_head *h,
                              struct tr_promql_queryable *out);

/*
 * Compiles the matchers of a vector selector into lib/tsdb matchers, in
 * arena memory: *out holds *n matchers (plus a NULL terminator) that are
 * destroyed when the arena resets. TR_EINVAL for a bad regular expression
 * (the message says why), TR_ENOMEM.
 */
struct tr_arena;
struct tr_err;
struct tr_matcher;
struct tr_promql_vector_selector;
int tr_promql_selector_matchers(struct tr_arena *arena,
                                const struct tr_promql_vector_selector *vs,
                                struct tr_matcher ***out, size_t *n,
                                struct tr_err *err);

#endif
