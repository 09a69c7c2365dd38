/*
 * Internals of the PromQL engine shared by engine.c, eval_*.c and
 * functions_eval.c. Not a public interface.
 *
 * Evaluation model (as Prometheus's range evaluation): every instant-vector
 * or scalar expression is evaluated once over all steps of the current
 * evaluation range [start, end] every interval. An instant vector becomes
 * a "step matrix": series whose points sit exactly on steps; a scalar an
 * array of one value per step. An instant query is a range of one step.
 * Subqueries evaluate their inner expression over their own aligned
 * range, then range functions slide windows over the result.
 *
 * All memory comes from the query arena, so evaluation errors unwind with
 * longjmp (ev_fail) without leaking; code that holds heap or library
 * resources across calls that can fail must release them first.
 */
#ifndef TR_PROMQL_EVAL_INTERNAL_H
#define TR_PROMQL_EVAL_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "promql/ast.h"
#include "promql/engine.h"
#include "promql/storage.h"
#include "promql/value.h"

struct tr_arena;

/* A series under construction. */
struct ev_series {
    struct tr_promql_labels lbl;
    struct tr_promql_point *p;
    size_t n;
    size_t cap;
};

struct ev_matrix {
    struct ev_series *s;
    size_t n;
    size_t cap;
};

/* Result of evaluating a node. */
struct ev_value {
    enum tr_promql_type type;
    struct ev_matrix m; /* VECTOR (step matrix) or MATRIX (raw points) */
    double *sc;         /* SCALAR: one value per step */
    struct tr_promql_str str;
};

/* A range-vector argument ready for windowing. */
struct ev_range {
    struct ev_matrix m; /* points in time order, no stale markers */
    int64_t range;
    int64_t offset;
    bool has_at;
    int64_t at;
    /* The vector selector (for absent labels), NULL for subqueries. */
    const struct tr_promql_node *vs;
};

struct ev {
    struct tr_arena *arena;
    const struct tr_promql_queryable *qa;
    int64_t start;
    int64_t end;
    int64_t interval;
    size_t nsteps;
    int64_t qstart; /* the query's own start and end (for @ start()) */
    int64_t qend;
    int64_t qstep; /* 0 for an instant query */
    int64_t lookback;
    int64_t default_interval;
    int64_t max_samples;
    int64_t cur_samples;
    struct tr_promql_stats *stats;
    int64_t deadline_ns; /* monotonic; 0: none */
    const volatile int *cancel;
    unsigned check_counter;
    /* Function whose argument is being selected (select hints). */
    const char *hint_func;
    jmp_buf jmp;
    struct tr_err *err;
    enum tr_promql_errtype etype;
    int code;
};

/* ---- errors, limits -------------------------------------------------- */

/* Records the error and unwinds to tr_promql_exec. */
_Noreturn void ev_fail(struct ev *ev, enum tr_promql_errtype t, int code,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Unwinds with TR_ENOMEM when p is NULL; returns p. */
void *ev_check_alloc(struct ev *ev, void *p);
/* Checks the deadline and cancellation now (ev_tick's slow path). */
void ev_tick_check(struct ev *ev);
/* Checks the deadline and cancellation every so often (called per step
 * and series, so the common case is inline). */
static inline void
ev_tick(struct ev *ev)
{
    if ((++ev->check_counter & 255) == 0) {
        ev_tick_check(ev);
    }
}
/* Fails with the sample limit's error. */
_Noreturn void ev_fail_max_samples(struct ev *ev);
/* Adds (or with negative n removes) samples held; fails over the limit. */
static inline void
ev_account(struct ev *ev, int64_t n)
{
    ev->cur_samples += n;
    if (ev->cur_samples > ev->stats->peak_samples) {
        ev->stats->peak_samples = ev->cur_samples;
    }
    if (n > 0 && ev->cur_samples > ev->max_samples) {
        ev_fail_max_samples(ev);
    }
}

/* ---- memory ------------------------------------------------------------ */

void *ev_alloc(struct ev *ev, size_t size);
void *ev_calloc(struct ev *ev, size_t n, size_t size);
char *ev_strndup(struct ev *ev, const char *s, size_t n);

/* ---- series and matrices ---------------------------------------------- */

/* Appends a series with labels lbl; returns its index. */
size_t ev_matrix_add(struct ev *ev, struct ev_matrix *m,
                     struct tr_promql_labels lbl, size_t cap_hint);
/* Makes room for more points in s (ev_series_push's slow path). */
void ev_series_grow(struct ev *ev, struct ev_series *s);
static inline void
ev_series_push(struct ev *ev, struct ev_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        ev_series_grow(ev, s);
    }
    s->p[s->n].t = t;
    s->p[s->n].v = v;
    s->n++;
}
/* Points held by m. */
int64_t ev_matrix_points(const struct ev_matrix *m);
/* Drops series without points. */
void ev_matrix_compact(struct ev_matrix *m);
/*
 * Merges series with equal labels (points interleaved by time); fails
 * with "vector cannot contain metrics with the same labelset" when two
 * have a point at the same time, or, with strict, whenever two series
 * have the same labels.
 */
void ev_matrix_unique(struct ev *ev, struct ev_matrix *m, bool strict);
/*
 * Room to reserve for a new output series whose first point is at step
 * time ts: the steps left (at most one point each), capped so that many
 * sparse series do not reserve much more than they use.
 */
static inline size_t
ev_points_hint(const struct ev *ev, int64_t ts)
{
    size_t left = ev->nsteps - (size_t)((ts - ev->start) / ev->interval);
    return left < 1024 ? left : 1024;
}
/* Step index of time t in the current range. */
static inline size_t
ev_step_index(const struct ev *ev, int64_t t)
{
    return (size_t)((t - ev->start) / ev->interval);
}

/* ---- labels ------------------------------------------------------------ */

uint64_t ev_labels_hash(const struct tr_promql_labels *l);
bool ev_labels_equal(const struct tr_promql_labels *a,
                     const struct tr_promql_labels *b);
/* Hash of the labels named in names (on=true) or of all but those and
 * __name__ (on=false), as Prometheus's match signatures. */
uint64_t ev_labels_sig(const struct tr_promql_labels *l, bool on,
                       const struct tr_promql_str *names, size_t n);
bool ev_name_in(const char *name, size_t len, const struct tr_promql_str *names,
                size_t n);
struct tr_promql_labels ev_labels_drop_name(struct ev *ev,
                                            struct tr_promql_labels l);
/* Copy of a tr_labels set as pairs (strings borrowed from ls). */
struct tr_promql_labels ev_labels_from_tsdb(struct ev *ev,
                                            const struct tr_labels *ls);

/* A mutable label set in the arena. */
struct ev_lb {
    struct tr_label *p;
    size_t n;
    size_t cap;
};
void ev_lb_init(struct ev *ev, struct ev_lb *b, struct tr_promql_labels from,
                size_t extra);
/* Sets name=value (value copied into nothing: borrowed); empty deletes. */
void ev_lb_set(struct ev *ev, struct ev_lb *b, const char *name,
               size_t name_len, const char *value, size_t value_len);
void ev_lb_del(struct ev_lb *b, const char *name, size_t name_len);
/* Keeps only the labels named in names. */
void ev_lb_keep(struct ev_lb *b, const struct tr_promql_str *names, size_t n);
struct tr_promql_labels ev_lb_labels(const struct ev_lb *b);

/* Whether s is a valid label name [a-zA-Z_][a-zA-Z0-9_]*. */
bool ev_label_name_valid(const char *s, size_t len);
/* Formats v as Go's FormatFloat(v, 'f', -1, 64) into buf (>= 400 bytes). */
size_t ev_format_float(double v, char *buf, size_t size);

/* ---- hash map uint64 -> index --------------------------------------- */

struct ev_map {
    uint64_t *keys;
    int32_t *vals; /* -1: empty */
    size_t cap;    /* power of two */
    size_t len;
};
void ev_map_init(struct ev *ev, struct ev_map *m, size_t hint);
/* Index stored for key, or -1. */
int32_t ev_map_get(const struct ev_map *m, uint64_t key);
void ev_map_put(struct ev *ev, struct ev_map *m, uint64_t key, int32_t val);
void ev_map_clear(struct ev_map *m);

/* ---- evaluation ------------------------------------------------------- */

void ev_eval(struct ev *ev, const struct tr_promql_node *n,
             struct ev_value *out);
/* Evaluates a scalar-typed node into one value per step. */
double *ev_eval_scalar(struct ev *ev, const struct tr_promql_node *n);
/* Unwraps parentheses. */
const struct tr_promql_node *ev_unparen(const struct tr_promql_node *n);
/* Evaluates a matrix selector or subquery argument for windowing. */
void ev_eval_range(struct ev *ev, const struct tr_promql_node *n,
                   struct ev_range *out);
/* Evaluates a vector selector; with want_ts the values are the samples'
 * timestamps in seconds (for timestamp()). */
void ev_eval_vector_selector(struct ev *ev, const struct tr_promql_node *n,
                             bool want_ts, struct ev_matrix *out);
/* Window [lo, hi) of series s for reference time ref (moving cursors). */
void ev_window(const struct ev_series *s, int64_t mint, int64_t maxt,
               size_t *lo, size_t *hi);

void ev_eval_call(struct ev *ev, const struct tr_promql_node *n,
                  struct ev_value *out);
void ev_eval_aggregate(struct ev *ev, const struct tr_promql_node *n,
                       struct ev_value *out);
void ev_eval_binary(struct ev *ev, const struct tr_promql_node *n,
                    struct ev_value *out);

/* Go's math.Max / math.Min (NaN wins, signed zeros ordered). */
double ev_go_max(double a, double b);
double ev_go_min(double a, double b);
/* Prometheus quantile over values (sorted in place). */
double ev_quantile(double q, double *values, size_t n);
/* Go's %f/%v of a float for messages ("NaN", "+Inf"). */
const char *ev_fmt_g(double v, char *buf, size_t size);

#endif
