/*
 * A runner for the PromQL test-script language of Prometheus
 * (promql/test.go), used to check the engine against case files
 * (tests/promql/ *.test) whose expectations were verified on a real
 * Prometheus 2.42.
 *
 * The language, line by line (lines are trimmed; '#' lines are blank):
 *
 *   load <interval>                 then one series per line:
 *     <metric{labels}> <values>     values expand as Prometheus does:
 *                                   "1" one value, "1x3" four 1s,
 *                                   "1+2x3" 1 3 5 7, "5-1x2" 5 4 3,
 *                                   "_" a missing sample, "_x3" three,
 *                                   "stale" the stale marker, NaN, Inf,
 *                                   -Inf; sample i is at i*interval
 *   clear                           forget every series
 *   eval[_fail|_ordered] instant at <time> <expr>
 *   eval[_fail] range from <start> to <end> step <step> <expr>
 *     <expected lines>              "{labels} v" (vector), "v" (scalar),
 *                                   for ranges "{labels} <values>" with
 *                                   one value per step, "_" for none;
 *                                   "expect fail" / "expect ordered"
 *                                   lines are accepted as the newer
 *                                   spelling of eval_fail/eval_ordered
 *
 * A blank line ends a load or eval block. Times and intervals are
 * Prometheus durations ("5m", "1h30m", "0"), counted from the epoch.
 * Values are compared with Prometheus's tolerance (relative 1e-6, NaN
 * equals NaN). An instant eval that is neither _fail nor _ordered is also
 * run as a range query from t-1m to t+1m step 1m and its middle step
 * compared, as Prometheus's runner does, so instant and range evaluation
 * must agree.
 *
 * The runner drives a backend (the Trident engine over a tr_head, or, in
 * the integration test, a real Prometheus over HTTP), so both answer the
 * same files through the same comparison.
 */
#ifndef TR_PROMQL_PROMQLTEST_H
#define TR_PROMQL_PROMQLTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "promql/value.h"

struct tr_arena;
struct tr_buf;
struct tr_labels;

/* One value of a series description: a number or a missing sample. */
struct tr_promqltest_value {
    double v;
    bool omitted;
};

/*
 * Parses one series description "metric{a=\"b\"} 1+2x3 _ stale" of len
 * bytes. On success *labels (caller frees with tr_labels_destroy) and
 * *values (n of them; caller frees with tr_free, NULL when n is 0) are
 * set. TR_EINVAL with "cannot parse series description: ..." for bad
 * input, TR_ENOMEM.
 */
int tr_promqltest_parse_series(const char *line, size_t len,
                               struct tr_labels **labels,
                               struct tr_promqltest_value **values, size_t *n,
                               struct tr_err *err);

enum tr_promqltest_cmd_kind {
    TR_PROMQLTEST_LOAD = 1,
    TR_PROMQLTEST_CLEAR,
    TR_PROMQLTEST_EVAL,
};

/* A series of a load, or an expected series of an eval. */
struct tr_promqltest_series {
    struct tr_labels *labels;
    struct tr_promqltest_value *values;
    size_t n;
    uint32_t line; /* 1-based line in the file */
};

struct tr_promqltest_cmd {
    enum tr_promqltest_cmd_kind kind;
    uint32_t line; /* 1-based */
    /* LOAD: the gap between samples. */
    int64_t interval_ms;
    /* EVAL */
    const char *expr;
    bool range;   /* eval range; else instant at start_ms */
    bool fail;    /* the query must fail */
    bool ordered; /* the vector's order must match the expected lines */
    int64_t start_ms;
    int64_t end_ms;  /* == start_ms for instant */
    int64_t step_ms; /* 0 for instant */
    bool expect_scalar;
    double scalar;
    /* LOAD: the series to load; EVAL: the expected series. */
    struct tr_promqltest_series *series;
    size_t n_series;
};

/* A parsed file. Everything lives in one arena freed by _destroy. */
struct tr_promqltest_script {
    const char *name; /* as given to tr_promqltest_parse */
    struct tr_promqltest_cmd *cmds;
    size_t n_cmds;
    struct tr_arena *arena; /* private */
};

/*
 * Parses a test script of len bytes; name (borrowed, copied) is used in
 * messages. On success *out is set (free with tr_promqltest_script_destroy).
 * TR_EINVAL with "<name>:<line>: cannot parse ...: <cause>" for bad input
 * (an expression PromQL refuses counts as bad input unless it is an
 * eval_fail), TR_ENOMEM.
 */
int tr_promqltest_parse(const char *name, const char *text, size_t len,
                        struct tr_promqltest_script **out, struct tr_err *err);

/* Reads and parses a file; errors as tr_promqltest_parse, TR_EIO when the
 * file cannot be read. */
int tr_promqltest_parse_file(const char *path,
                             struct tr_promqltest_script **out,
                             struct tr_err *err);

/* Frees s. NULL is allowed. */
void tr_promqltest_script_destroy(struct tr_promqltest_script *s);

/* Prometheus's test comparison: NaN equals NaN, else relative 1e-6. */
bool tr_promqltest_almost_equal(double a, double b);

/* ---- backends and running -------------------------------------------- */

/*
 * What the runner evaluates against. Every callback returns TR_OK, or
 * TR_EUNAVAIL when the backend itself broke (the runner then stops the
 * file and reports it), or for query() any other negative code with err
 * set when the query failed (which an eval_fail expects).
 */
struct tr_promqltest_backend {
    const char *name;
    /* Forgets every series. */
    int (*clear)(void *ctx, struct tr_err *err);
    /* Adds the samples of a LOAD command. */
    int (*load)(void *ctx, const struct tr_promqltest_cmd *load,
                struct tr_err *err);
    /*
     * Evaluates expr at start_ms (range false; *out a scalar, vector or
     * string) or over [start_ms, end_ms] every step_ms (*out a matrix),
     * allocating the result in arena.
     */
    int (*query)(void *ctx, struct tr_arena *arena, const char *expr,
                 bool range, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                 struct tr_promql_value *out, struct tr_err *err);
};

struct tr_promqltest_options {
    /* "file.test:LINE" entries (base name of the file, line of the eval)
     * whose failure is expected and tolerated; borrowed. */
    const char *const *known_failures;
    size_t n_known_failures;
    bool verbose; /* print every eval, not only failures */
};

struct tr_promqltest_stats {
    unsigned evals;
    unsigned passed;
    unsigned failed;       /* unexpected failures */
    unsigned known_failed; /* failures listed as known */
    unsigned fixed;        /* listed as known but passed */
};

/*
 * Compares what a backend answered for eval command cmd with its
 * expectations. Returns true when they agree; otherwise false with the
 * reason appended to why (may be NULL). range_mode says got came from the
 * instant-vs-range consistency check.
 */
bool tr_promqltest_compare(const struct tr_promqltest_cmd *cmd,
                           const struct tr_promql_value *got,
                           struct tr_buf *why);

/*
 * Runs every command of s against backend be (ctx is its state), adding
 * to *stats and writing a report of each failure (file:line, query,
 * expected and got) to report. Returns TR_OK when the script ran (even
 * with failing evals: see stats), TR_EUNAVAIL when the backend broke,
 * TR_ENOMEM.
 */
int tr_promqltest_run(const struct tr_promqltest_script *s,
                      const struct tr_promqltest_backend *be, void *ctx,
                      const struct tr_promqltest_options *opts, FILE *report,
                      struct tr_promqltest_stats *stats, struct tr_err *err);

/* ---- the Trident backend ---------------------------------------------- */

struct tr_promqltest_trident;

/* The Trident engine over an in-memory tr_head. NULL when out of memory. */
struct tr_promqltest_trident *tr_promqltest_trident_create(void);
void tr_promqltest_trident_destroy(struct tr_promqltest_trident *t);
/* The backend callbacks for a tr_promqltest_trident context. */
const struct tr_promqltest_backend *tr_promqltest_trident_backend(void);

/*
 * `trident promqltest [-v] [--known-failures FILE] FILE...`: runs each
 * file against the Trident engine and prints a summary. argv[0] is
 * "promqltest". The known-failures file holds one "file.test:LINE" per
 * line ('#' comments allowed). Returns 0 when every eval passed (known
 * failures allowed), 1 when some failed, 2 for usage or parse errors.
 */
int tr_promqltest_main(int argc, char **argv);

#endif
