/*
 * The PromQL evaluation engine, with the semantics of Prometheus 2.42.
 *
 * Usage:
 *
 *   struct tr_promql_engine *e = tr_promql_engine_create(NULL);
 *   struct tr_promql_queryable q;
 *   tr_promql_head_queryable(head, &q);             (storage.h)
 *   struct tr_promql_result res;
 *   struct tr_err err;
 *   if (tr_promql_range_query(e, &q, arena, "rate(x[5m])", 11,
 *                             start_ms, end_ms, step_ms, &res, &err) != TR_OK)
 *       respond(tr_promql_errtype_name(res.errtype), err.msg);
 *   ... read res.value (value.h), all of it in arena ...
 *   tr_arena_reset(arena);
 *
 * An instant query evaluates the expression at one time and returns a
 * scalar, a string, an instant vector (in evaluation order; sort() and
 * topk() orders are kept) or, for a range-vector expression, a matrix of
 * raw samples. A range query evaluates a scalar or instant-vector
 * expression at start, start+step, ..., end and returns a matrix sorted
 * by label set, each series with the points at the steps where it had a
 * value (a scalar expression becomes one series with no labels).
 *
 * Semantics follow Prometheus 2.42: lookback delta with closed windows
 * [t - lookback, t], stale markers ending series, range selectors over
 * [t - range, t], offset and @ (including start()/end()), subqueries
 * aligned to absolute multiples of their step (default step: the
 * engine's default evaluation interval), every operator, aggregation and
 * function of 2.42 on float samples. Native histograms are out of scope:
 * histogram_count/sum/fraction return empty vectors on float data, as
 * Prometheus does.
 *
 * Known differences from Prometheus (deliberate, documented):
 *  - a range query whose instant-vector step produces two series with the
 *    same label set fails with "vector cannot contain metrics with the
 *    same labelset" (Prometheus only fails for instant queries there);
 *  - regular expressions are PCRE2, not Go RE2 (label_replace,
 *    selectors);
 *  - math functions come from the C library and may differ from Go in the
 *    last bit for some inputs (log2 and log10 follow Go's formulas);
 *  - the sample limit counts the points held by intermediate results,
 *    which approximates Prometheus's peak-sample accounting.
 *
 * The engine holds only options; one engine may run any number of queries
 * on different threads at once (each with its own arena).
 */
#ifndef TR_PROMQL_ENGINE_H
#define TR_PROMQL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "promql/ast.h"
#include "promql/storage.h"
#include "promql/value.h"

struct tr_arena;

/* Prometheus defaults. */
#define TR_PROMQL_DEFAULT_LOOKBACK_MS INT64_C(300000) /* 5m */
#define TR_PROMQL_DEFAULT_MAX_SAMPLES INT64_C(50000000)
#define TR_PROMQL_DEFAULT_TIMEOUT_MS INT64_C(120000)      /* 2m */
#define TR_PROMQL_DEFAULT_EVAL_INTERVAL_MS INT64_C(60000) /* 1m */
/* Most points per series a range query may ask for (an API check). */
#define TR_PROMQL_MAX_POINTS_PER_SERIES 11000

struct tr_promql_engine_options {
    /* How far back an instant selector looks for a sample; 0: 5m. */
    int64_t lookback_delta_ms;
    /* Most samples a query may hold in memory at once; 0: 50,000,000. */
    int64_t max_samples;
    /* Default query timeout; 0: 2m. A query may override it. */
    int64_t timeout_ms;
    /* Step of subqueries written without one ([5m:]); 0: 1m, like the
     * default global evaluation_interval of Prometheus. */
    int64_t default_eval_interval_ms;
};

/* How a query failed, mapped to Prometheus's API errorType. */
enum tr_promql_errtype {
    TR_PROMQL_ERR_NONE = 0,
    TR_PROMQL_ERR_BAD_DATA,  /* "bad_data", 400: parse or type errors */
    TR_PROMQL_ERR_EXECUTION, /* "execution", 422: evaluation errors */
    TR_PROMQL_ERR_TIMEOUT,   /* "timeout", 503 */
    TR_PROMQL_ERR_CANCELED,  /* "canceled", 503 */
    TR_PROMQL_ERR_INTERNAL,  /* "internal", 500: storage failures */
};

/* "bad_data", "execution", "timeout", "canceled", "internal" ("" for
 * NONE). */
const char *tr_promql_errtype_name(enum tr_promql_errtype t);
/* HTTP status Prometheus answers with for t (200 for NONE). */
int tr_promql_errtype_http_status(enum tr_promql_errtype t);

struct tr_promql_stats {
    /* Most samples held at once, as counted against max_samples. */
    int64_t peak_samples;
    /* Samples read from storage. */
    int64_t samples_read;
    /* Series returned by storage selects. */
    int64_t series_read;
};

struct tr_promql_result {
    /* The value (in the arena); type NONE on error. */
    struct tr_promql_value value;
    /* Set when the query function returns an error. */
    enum tr_promql_errtype errtype;
    struct tr_promql_stats stats;
};

/* A query in full (the convenience functions below fill one in). */
struct tr_promql_query {
    /* Either text/len, or expr (a tree from tr_promql_parse, borrowed,
     * used instead of text when non-NULL). */
    const char *text;
    size_t len;
    const struct tr_promql_node *expr;
    /* Instant query: start_ms == end_ms and step_ms == 0. Range query:
     * step_ms > 0 and start_ms <= end_ms. */
    int64_t start_ms;
    int64_t end_ms;
    int64_t step_ms;
    /* 0: the engine's timeout. Negative: no timeout. */
    int64_t timeout_ms;
    /* Optional: evaluation stops with "canceled" once *cancel != 0. */
    const volatile int *cancel;
};

/* Creates an engine with opts (NULL: defaults). NULL when out of memory. */
struct tr_promql_engine *
tr_promql_engine_create(const struct tr_promql_engine_options *opts);
/* NULL is allowed. */
void tr_promql_engine_destroy(struct tr_promql_engine *e);

/*
 * Runs q against queryable qa, allocating everything (parse tree, values,
 * labels) in arena. Returns TR_OK with *res filled, or a negative code
 * with res->errtype and err set:
 *  - TR_EINVAL, BAD_DATA: parse error (Prometheus text "1:5: parse error:
 *    ..."), bad time range, range query of a string or range vector
 *    ("invalid expression type \"range vector\" for range query, must be
 *    Scalar or instant Vector");
 *  - TR_EINVAL, EXECUTION: evaluation errors with Prometheus's messages
 *    ("found duplicate series for the match group ...", "multiple matches
 *    for labels: many-to-one matching must be explicit
 *    (group_left/group_right)", "vector cannot contain metrics with the
 *    same labelset", invalid function arguments...);
 *  - TR_ELIMIT, EXECUTION: "query processing would load too many samples
 *    into memory in query execution";
 *  - TR_ETIMEOUT, TIMEOUT: "query timed out in query execution";
 *  - TR_ECANCELED, CANCELED: "query was canceled in query execution";
 *  - storage error codes (or TR_ENOMEM), INTERNAL.
 * res is always fully written; err may be NULL.
 */
int tr_promql_exec(struct tr_promql_engine *e,
                   const struct tr_promql_queryable *qa, struct tr_arena *arena,
                   const struct tr_promql_query *q,
                   struct tr_promql_result *res, struct tr_err *err);

/* Instant query of text (len bytes) at t_ms. See tr_promql_exec. */
int tr_promql_instant_query(struct tr_promql_engine *e,
                            const struct tr_promql_queryable *qa,
                            struct tr_arena *arena, const char *text,
                            size_t len, int64_t t_ms,
                            struct tr_promql_result *res, struct tr_err *err);

/* Range query of text over [start_ms, end_ms] every step_ms. See
 * tr_promql_exec. */
int tr_promql_range_query(struct tr_promql_engine *e,
                          const struct tr_promql_queryable *qa,
                          struct tr_arena *arena, const char *text, size_t len,
                          int64_t start_ms, int64_t end_ms, int64_t step_ms,
                          struct tr_promql_result *res, struct tr_err *err);

/*
 * The checks the Prometheus API applies to a range query's parameters
 * before running it: end not before start ("end timestamp must not be
 * before start time"), step positive ("zero or negative query resolution
 * step widths are not accepted. Try a positive integer"), and at most
 * TR_PROMQL_MAX_POINTS_PER_SERIES points ("exceeded maximum resolution of
 * 11,000 points per timeseries. Try decreasing the query resolution
 * (?step=XX)"). TR_OK or TR_EINVAL (errorType bad_data) with err set.
 */
int tr_promql_check_range(int64_t start_ms, int64_t end_ms, int64_t step_ms,
                          struct tr_err *err);

#endif
