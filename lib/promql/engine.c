/*
 * The PromQL engine: query entry points, result conversion, and the
 * evaluation of selectors, subqueries, literals and unary operators.
 * Functions, aggregations and binary operators live in functions_eval.c,
 * eval_agg.c and eval_binary.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/mem.h"
#include "promql/eval_internal.h"
#include "promql/parser.h"
#include "tsdb/matcher.h"

struct tr_promql_engine {
    struct tr_promql_engine_options opts;
};

static int64_t
ns_to_ms(int64_t ns)
{
    return ns / TR_NS_PER_MS;
}

/* ---- engine -------------------------------------------------------------- */

struct tr_promql_engine *
tr_promql_engine_create(const struct tr_promql_engine_options *opts)
{
    struct tr_promql_engine *e = tr_calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    if (opts != NULL) {
        e->opts = *opts;
    }
    if (e->opts.lookback_delta_ms <= 0) {
        e->opts.lookback_delta_ms = TR_PROMQL_DEFAULT_LOOKBACK_MS;
    }
    if (e->opts.max_samples <= 0) {
        e->opts.max_samples = TR_PROMQL_DEFAULT_MAX_SAMPLES;
    }
    if (e->opts.timeout_ms == 0) {
        e->opts.timeout_ms = TR_PROMQL_DEFAULT_TIMEOUT_MS;
    }
    if (e->opts.default_eval_interval_ms <= 0) {
        e->opts.default_eval_interval_ms = TR_PROMQL_DEFAULT_EVAL_INTERVAL_MS;
    }
    return e;
}

void
tr_promql_engine_destroy(struct tr_promql_engine *e)
{
    tr_free(e);
}

const char *
tr_promql_errtype_name(enum tr_promql_errtype t)
{
    switch (t) {
    case TR_PROMQL_ERR_BAD_DATA:
        return "bad_data";
    case TR_PROMQL_ERR_EXECUTION:
        return "execution";
    case TR_PROMQL_ERR_TIMEOUT:
        return "timeout";
    case TR_PROMQL_ERR_CANCELED:
        return "canceled";
    case TR_PROMQL_ERR_INTERNAL:
        return "internal";
    case TR_PROMQL_ERR_NONE:
        break;
    }
    return "";
}

int
tr_promql_errtype_http_status(enum tr_promql_errtype t)
{
    switch (t) {
    case TR_PROMQL_ERR_BAD_DATA:
        return 400;
    case TR_PROMQL_ERR_EXECUTION:
        return 422;
    case TR_PROMQL_ERR_TIMEOUT:
    case TR_PROMQL_ERR_CANCELED:
        return 503;
    case TR_PROMQL_ERR_INTERNAL:
        return 500;
    case TR_PROMQL_ERR_NONE:
        break;
    }
    return 200;
}

int
tr_promql_check_range(int64_t start_ms, int64_t end_ms, int64_t step_ms,
                      struct tr_err *err)
{
    if (end_ms < start_ms) {
        return tr_err_set(err, TR_EINVAL,
                          "end timestamp must not be before start time");
    }
    if (step_ms <= 0) {
        return tr_err_set(err, TR_EINVAL,
                          "zero or negative query resolution step widths "
                          "are not accepted. Try a positive integer");
    }
    if ((end_ms - start_ms) / step_ms > TR_PROMQL_MAX_POINTS_PER_SERIES) {
        return tr_err_set(err, TR_EINVAL,
                          "exceeded maximum resolution of 11,000 points per "
                          "timeseries. Try decreasing the query resolution "
                          "(?step=XX)");
    }
    return TR_OK;
}

/* ---- small helpers ------------------------------------------------------- */

const struct tr_promql_node *
ev_unparen(const struct tr_promql_node *n)
{
    while (n != NULL && n->kind == TR_PROMQL_PAREN) {
        n = n->u.paren.expr;
    }
    return n;
}

static bool
resolve_at(const struct ev *ev, const struct tr_promql_at *at, int64_t *out)
{
    switch (at->kind) {
    case TR_PROMQL_AT_TIMESTAMP:
        *out = at->timestamp_ms;
        return true;
    case TR_PROMQL_AT_START:
        *out = ev->qstart;
        return true;
    case TR_PROMQL_AT_END:
        *out = ev->qend;
        return true;
    case TR_PROMQL_AT_NONE:
        break;
    }
    return false;
}

void
ev_window(const struct ev_series *s, int64_t mint, int64_t maxt, size_t *lo,
          size_t *hi)
{
    size_t a = 0, b = s->n;
    while (a < b) { /* first point with t >= mint */
        size_t m = a + (b - a) / 2;
        if (s->p[m].t < mint) {
            a = m + 1;
        } else {
            b = m;
        }
    }
    *lo = a;
    b = s->n;
    while (a < b) { /* first point with t > maxt */
        size_t m = a + (b - a) / 2;
        if (s->p[m].t <= maxt) {
            a = m + 1;
        } else {
            b = m;
        }
    }
    *hi = a;
}

/* ---- storage ------------------------------------------------------------- */

static void
select_series(struct ev *ev, const struct tr_promql_vector_selector *vs,
              int64_t mint, int64_t maxt, int64_t range,
              struct tr_promql_storage_series **out, size_t *count)
{
    size_t n = 0;
    struct tr_matcher **ms = NULL;
    struct tr_err serr;

    tr_err_clear(&serr);
    /* The matchers live until the query's arena is reset. */
    int rc = tr_promql_selector_matchers(ev->arena, vs, &ms, &n, &serr);
    if (rc == TR_OK) {
        struct tr_promql_select_hints h = {
            .start_ms = mint,
            .end_ms = maxt,
            .step_ms = ev->qstep,
            .range_ms = range,
            .func = ev->hint_func,
        };
        *out = NULL;
        *count = 0;
        rc = ev->qa->select(ev->qa->ctx, ev->arena, ms, n, mint, maxt, &h, out,
                            count, &serr);
    }
    if (rc != TR_OK) {
        ev_fail(ev,
                rc == TR_ELIMIT || rc == TR_EINVAL ? TR_PROMQL_ERR_EXECUTION
                                                   : TR_PROMQL_ERR_INTERNAL,
                rc, "%s", serr.msg);
    }
    ev->stats->series_read += (int64_t)*count;
    for (size_t i = 0; i < *count; i++) {
        ev->stats->samples_read += (int64_t)(*out)[i].n_points;
    }
}

/* ---- selectors ----------------------------------------------------------- */

void
ev_eval_vector_selector(struct ev *ev, const struct tr_promql_node *n,
                        bool want_ts, struct ev_matrix *out)
{
    const struct tr_promql_vector_selector *vs = &n->u.vector;
    int64_t off = ns_to_ms(vs->offset_ns);
    int64_t at = 0;
    bool has_at = resolve_at(ev, &vs->at, &at);
    int64_t mint = (has_at ? at : ev->start) - off - ev->lookback;
    int64_t maxt = (has_at ? at : ev->end) - off;
    struct tr_promql_storage_series *ss;
    size_t count;

    select_series(ev, vs, mint, maxt, 0, &ss, &count);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < count; i++) {
        const struct tr_promql_point *p = ss[i].points;
        size_t np = ss[i].n_points, j = 0;
        struct ev_series *s = NULL;

        ev_tick(ev);
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            int64_t ref = (has_at ? at : ts) - off;
            while (j < np && p[j].t <= ref) {
                j++;
            }
            if (j == 0 || p[j - 1].t < ref - ev->lookback ||
                tr_promql_is_stale_nan(p[j - 1].v)) {
                continue;
            }
            if (s == NULL) {
                /* At most one point per remaining step. */
                size_t idx = ev_matrix_add(
                    ev, out, ev_labels_from_tsdb(ev, ss[i].labels),
                    ev->nsteps - k);
                s = &out->s[idx];
            }
            double v = want_ts ? (double)p[j - 1].t / 1000.0 : p[j - 1].v;
            ev_series_push(ev, s, ts, v);
        }
    }
}

/* Loads a matrix selector's series without stale markers. */
static void
eval_matrix_selector(struct ev *ev, const struct tr_promql_node *n,
                     struct ev_range *out)
{
    const struct tr_promql_node *vn = n->u.matrix.vector;
    const struct tr_promql_vector_selector *vs = &vn->u.vector;
    struct tr_promql_storage_series *ss;
    size_t count;

    memset(out, 0, sizeof(*out));
    out->range = ns_to_ms(n->u.matrix.range_ns);
    out->offset = ns_to_ms(vs->offset_ns);
    out->has_at = resolve_at(ev, &vs->at, &out->at);
    out->vs = vn;
    int64_t mint =
        (out->has_at ? out->at : ev->start) - out->offset - out->range;
    int64_t maxt = (out->has_at ? out->at : ev->end) - out->offset;

    select_series(ev, vs, mint, maxt, out->range, &ss, &count);
    for (size_t i = 0; i < count; i++) {
        struct tr_promql_point *p = ss[i].points;
        size_t np = ss[i].n_points, lo = 0, hi = np, k = 0;
        bool stale = false;

        ev_tick(ev);
        while (lo < np && p[lo].t < mint) {
            lo++;
        }
        while (hi > lo && p[hi - 1].t > maxt) {
            hi--;
        }
        for (k = lo; k < hi && !stale; k++) {
            stale = tr_promql_is_stale_nan(p[k].v);
        }
        if (stale) {
            struct tr_promql_point *q = ev_alloc(ev, (hi - lo) * sizeof(*q));
            size_t m = 0;
            for (k = lo; k < hi; k++) {
                if (!tr_promql_is_stale_nan(p[k].v)) {
                    q[m++] = p[k];
                }
            }
            p = q;
            lo = 0;
            hi = m;
        }
        if (hi == lo) {
            continue;
        }
        size_t idx = ev_matrix_add(ev, &out->m,
                                   ev_labels_from_tsdb(ev, ss[i].labels), 0);
        out->m.s[idx].p = p + lo;
        out->m.s[idx].n = hi - lo;
        out->m.s[idx].cap = hi - lo;
    }
}

/* Evaluates e over [start, end] every step, restoring the range after. */
static void
eval_in_range(struct ev *ev, const struct tr_promql_node *e, int64_t start,
              int64_t end, int64_t step, struct ev_matrix *out)
{
    int64_t s0 = ev->start, e0 = ev->end, i0 = ev->interval;
    size_t n0 = ev->nsteps;
    struct ev_value v;

    memset(out, 0, sizeof(*out));
    if (start > end) {
        return;
    }
    ev->start = start;
    ev->end = end;
    ev->interval = step;
    ev->nsteps = (size_t)((end - start) / step) + 1;
    ev_eval(ev, e, &v);
    if (v.type == TR_PROMQL_TYPE_SCALAR) {
        size_t idx =
            ev_matrix_add(ev, out, (struct tr_promql_labels){0}, ev->nsteps);
        for (size_t k = 0; k < ev->nsteps; k++) {
            ev_series_push(ev, &out->s[idx], start + (int64_t)k * step,
                           v.sc[k]);
        }
    } else {
        *out = v.m;
    }
    ev->start = s0;
    ev->end = e0;
    ev->interval = i0;
    ev->nsteps = n0;
}

static void
eval_subquery(struct ev *ev, const struct tr_promql_node *n,
              struct ev_range *out)
{
    int64_t step = n->u.subquery.step_ns ? ns_to_ms(n->u.subquery.step_ns)
                                         : ev->default_interval;
    memset(out, 0, sizeof(*out));
    out->range = ns_to_ms(n->u.subquery.range_ns);
    out->offset = ns_to_ms(n->u.subquery.offset_ns);
    out->has_at = resolve_at(ev, &n->u.subquery.at, &out->at);
    if (step <= 0) {
        ev_fail(ev, TR_PROMQL_ERR_BAD_DATA, TR_EINVAL,
                "zero or negative subquery step");
    }
    int64_t base_start = out->has_at ? out->at : ev->start;
    int64_t base_end = out->has_at ? out->at : ev->end;
    int64_t from = base_start - out->offset - out->range;
    /* First multiple of step at or after from (Go truncating division). */
    int64_t start = step * (from / step);
    if (start < from) {
        start += step;
    }
    const char *hf = ev->hint_func;
    ev->hint_func = NULL;
    eval_in_range(ev, n->u.subquery.expr, start, base_end - out->offset, step,
                  &out->m);
    ev->hint_func = hf;
    ev_matrix_compact(&out->m);
}

void
ev_eval_range(struct ev *ev, const struct tr_promql_node *n,
              struct ev_range *out)
{
    n = ev_unparen(n);
    if (n->kind == TR_PROMQL_MATRIX) {
        eval_matrix_selector(ev, n, out);
    } else if (n->kind == TR_PROMQL_SUBQUERY) {
        eval_subquery(ev, n, out);
    } else {
        ev_fail(ev, TR_PROMQL_ERR_BAD_DATA, TR_EINVAL,
                "cannot evaluate range vector: unexpected expression");
    }
}

/* A range vector as a value: the window at the (single) evaluation time. */
static void
eval_range_value(struct ev *ev, const struct tr_promql_node *n,
                 struct ev_value *out)
{
    struct ev_range r;

    ev_eval_range(ev, n, &r);
    out->type = TR_PROMQL_TYPE_MATRIX;
    memset(&out->m, 0, sizeof(out->m));
    int64_t ref = (r.has_at ? r.at : ev->start) - r.offset;
    for (size_t i = 0; i < r.m.n; i++) {
        size_t lo, hi;
        ev_window(&r.m.s[i], ref - r.range, ref, &lo, &hi);
        if (hi == lo) {
            continue;
        }
        size_t idx = ev_matrix_add(ev, &out->m, r.m.s[i].lbl, 0);
        out->m.s[idx].p = r.m.s[i].p + lo;
        out->m.s[idx].n = hi - lo;
        out->m.s[idx].cap = hi - lo;
    }
}

/* ---- dispatch ------------------------------------------------------------ */

double *
ev_eval_scalar(struct ev *ev, const struct tr_promql_node *n)
{
    struct ev_value v;
    ev_eval(ev, n, &v);
    if (v.type != TR_PROMQL_TYPE_SCALAR) {
        ev_fail(ev, TR_PROMQL_ERR_BAD_DATA, TR_EINVAL,
                "cannot evaluate expression: expected scalar, got %s",
                tr_promql_type_name(v.type));
    }
    return v.sc;
}

static void
eval_unary(struct ev *ev, const struct tr_promql_node *n, struct ev_value *out)
{
    ev_eval(ev, n->u.unary.expr, out);
    if (n->u.unary.op != TR_PROMQL_OP_SUB) {
        return;
    }
    if (out->type == TR_PROMQL_TYPE_SCALAR) {
        double *sc = ev_alloc(ev, ev->nsteps * sizeof(double));
        for (size_t k = 0; k < ev->nsteps; k++) {
            sc[k] = -out->sc[k];
        }
        out->sc = sc;
        return;
    }
    struct ev_matrix m = {0};
    for (size_t i = 0; i < out->m.n; i++) {
        const struct ev_series *s = &out->m.s[i];
        size_t idx =
            ev_matrix_add(ev, &m, ev_labels_drop_name(ev, s->lbl), s->n);
        for (size_t k = 0; k < s->n; k++) {
            ev_series_push(ev, &m.s[idx], s->p[k].t, -s->p[k].v);
        }
    }
    ev_matrix_unique(ev, &m, false);
    out->m = m;
}

static void
eval_node(struct ev *ev, const struct tr_promql_node *n, struct ev_value *out)
{
    memset(out, 0, sizeof(*out));
    ev_tick(ev);
    switch (n->kind) {
    case TR_PROMQL_NUMBER:
        out->type = TR_PROMQL_TYPE_SCALAR;
        out->sc = ev_alloc(ev, (ev->nsteps ? ev->nsteps : 1) * sizeof(double));
        for (size_t k = 0; k < ev->nsteps; k++) {
            out->sc[k] = n->u.number;
        }
        return;
    case TR_PROMQL_STRING:
        out->type = TR_PROMQL_TYPE_STRING;
        out->str = n->u.string;
        return;
    case TR_PROMQL_PAREN:
        eval_node(ev, n->u.paren.expr, out);
        return;
    case TR_PROMQL_UNARY:
        eval_unary(ev, n, out);
        return;
    case TR_PROMQL_VECTOR:
        out->type = TR_PROMQL_TYPE_VECTOR;
        ev_eval_vector_selector(ev, n, false, &out->m);
        return;
    case TR_PROMQL_MATRIX:
    case TR_PROMQL_SUBQUERY:
        eval_range_value(ev, n, out);
        return;
    case TR_PROMQL_CALL:
        ev_eval_call(ev, n, out);
        return;
    case TR_PROMQL_AGGREGATE:
        ev_eval_aggregate(ev, n, out);
        return;
    case TR_PROMQL_BINARY:
        ev_eval_binary(ev, n, out);
        return;
    }
    ev_fail(ev, TR_PROMQL_ERR_BAD_DATA, TR_EINVAL,
            "cannot evaluate expression: unknown node kind %d", (int)n->kind);
}

void
ev_eval(struct ev *ev, const struct tr_promql_node *n, struct ev_value *out)
{
    int64_t before = ev->cur_samples;

    eval_node(ev, n, out);
    if (out->type == TR_PROMQL_TYPE_VECTOR ||
        out->type == TR_PROMQL_TYPE_MATRIX) {
        /* The output is held while the inputs still are, then the inputs
         * are released. */
        int64_t pts = ev_matrix_points(&out->m);
        ev_account(ev, pts);
        ev->cur_samples = before + pts;
    } else {
        ev->cur_samples = before;
    }
}

/* ---- results ------------------------------------------------------------- */

static int
cmp_series(const void *a, const void *b)
{
    const struct tr_promql_series *x = a, *y = b;
    return tr_promql_labels_compare(&x->labels, &y->labels);
}

static void
to_result(struct ev *ev, const struct ev_value *v, bool range,
          struct tr_promql_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = v->type;
    switch (v->type) {
    case TR_PROMQL_TYPE_SCALAR:
        if (range) {
            struct tr_promql_series *s = ev_calloc(ev, 1, sizeof(*s));
            s->points = ev_alloc(ev, ev->nsteps * sizeof(*s->points));
            for (size_t k = 0; k < ev->nsteps; k++) {
                s->points[k].t = ev->start + (int64_t)k * ev->interval;
                s->points[k].v = v->sc[k];
            }
            s->n_points = ev->nsteps;
            out->type = TR_PROMQL_TYPE_MATRIX;
            out->u.matrix.series = s;
            out->u.matrix.n = 1;
        } else {
            out->u.scalar.t = ev->start;
            out->u.scalar.v = v->sc[0];
        }
        return;
    case TR_PROMQL_TYPE_STRING:
        out->u.string.t = ev->start;
        out->u.string.data = v->str.data;
        out->u.string.len = v->str.len;
        return;
    case TR_PROMQL_TYPE_VECTOR:
        if (!range) {
            struct tr_promql_sample *smp =
                ev_alloc(ev, (v->m.n ? v->m.n : 1) * sizeof(*smp));
            size_t n = 0;
            for (size_t i = 0; i < v->m.n; i++) {
                if (v->m.s[i].n == 0) {
                    continue;
                }
                smp[n].labels = v->m.s[i].lbl;
                smp[n].t = ev->start;
                smp[n].v = v->m.s[i].p[0].v;
                n++;
            }
            out->u.vector.samples = smp;
            out->u.vector.n = n;
            return;
        }
        out->type = TR_PROMQL_TYPE_MATRIX;
        /* fall through */
    case TR_PROMQL_TYPE_MATRIX: {
        struct tr_promql_series *ss =
            ev_alloc(ev, (v->m.n ? v->m.n : 1) * sizeof(*ss));
        size_t n = 0;
        for (size_t i = 0; i < v->m.n; i++) {
            if (v->m.s[i].n == 0) {
                continue;
            }
            ss[n].labels = v->m.s[i].lbl;
            ss[n].points = v->m.s[i].p;
            ss[n].n_points = v->m.s[i].n;
            n++;
        }
        if (range) {
            qsort(ss, n, sizeof(*ss), cmp_series);
        }
        out->u.matrix.series = ss;
        out->u.matrix.n = n;
        return;
    }
    case TR_PROMQL_TYPE_NONE:
        break;
    }
}

/* ---- entry points -------------------------------------------------------- */

static int
exec_tree(struct tr_promql_engine *e, const struct tr_promql_queryable *qa,
          struct tr_arena *arena, const struct tr_promql_query *q,
          const struct tr_promql_node *root, struct tr_promql_result *res,
          struct tr_err *err)
{
    bool range = q->step_ms > 0;
    struct ev *ev = tr_arena_calloc(arena, 1, sizeof(*ev));
    if (ev == NULL) {
        res->errtype = TR_PROMQL_ERR_INTERNAL;
        return tr_err_set(err, TR_ENOMEM, "cannot run query: out of memory");
    }
    enum tr_promql_type type = tr_promql_node_type(root);
    if (range && type != TR_PROMQL_TYPE_SCALAR &&
        type != TR_PROMQL_TYPE_VECTOR) {
        res->errtype = TR_PROMQL_ERR_BAD_DATA;
        return tr_err_set(err, TR_EINVAL,
                          "invalid expression type \"%s\" for range query, "
                          "must be Scalar or instant Vector",
                          tr_promql_type_name(type));
    }
    ev->arena = arena;
    ev->qa = qa;
    ev->start = q->start_ms;
    ev->end = range ? q->end_ms : q->start_ms;
    ev->interval = range ? q->step_ms : 1;
    ev->nsteps = (size_t)((ev->end - ev->start) / ev->interval) + 1;
    ev->qstart = ev->start;
    ev->qend = ev->end;
    ev->qstep = range ? q->step_ms : 0;
    ev->lookback = e->opts.lookback_delta_ms;
    ev->default_interval = e->opts.default_eval_interval_ms;
    ev->max_samples = e->opts.max_samples;
    ev->stats = &res->stats;
    ev->cancel = q->cancel;
    ev->err = err;
    int64_t timeout = q->timeout_ms != 0 ? q->timeout_ms : e->opts.timeout_ms;
    if (timeout > 0) {
        ev->deadline_ns = tr_mono_ns() + timeout * TR_NS_PER_MS;
    }

    if (setjmp(ev->jmp) != 0) {
        memset(&res->value, 0, sizeof(res->value));
        res->errtype = ev->etype;
        return ev->code;
    }
    struct ev_value v;
    ev_eval(ev, root, &v);
    to_result(ev, &v, range, &res->value);
    return TR_OK;
}

int
tr_promql_exec(struct tr_promql_engine *e, const struct tr_promql_queryable *qa,
               struct tr_arena *arena, const struct tr_promql_query *q,
               struct tr_promql_result *res, struct tr_err *err)
{
    memset(res, 0, sizeof(*res));
    tr_err_clear(err);
    if (q->step_ms < 0 || (q->step_ms > 0 && q->end_ms < q->start_ms) ||
        (q->step_ms == 0 && q->end_ms != q->start_ms)) {
        res->errtype = TR_PROMQL_ERR_BAD_DATA;
        return tr_err_set(err, TR_EINVAL,
                          "cannot run query: invalid time range");
    }
    const struct tr_promql_node *root = q->expr;
    if (root == NULL) {
        struct tr_promql_node *parsed = NULL;
        int rc = tr_promql_parse(q->text, q->len, arena, &parsed, NULL, err);
        if (rc != TR_OK) {
            res->errtype = rc == TR_EINVAL ? TR_PROMQL_ERR_BAD_DATA
                                           : TR_PROMQL_ERR_INTERNAL;
            return rc;
        }
        root = parsed;
    }
    return exec_tree(e, qa, arena, q, root, res, err);
}

int
tr_promql_instant_query(struct tr_promql_engine *e,
                        const struct tr_promql_queryable *qa,
                        struct tr_arena *arena, const char *text, size_t len,
                        int64_t t_ms, struct tr_promql_result *res,
                        struct tr_err *err)
{
    struct tr_promql_query q = {
        .text = text, .len = len, .start_ms = t_ms, .end_ms = t_ms};
    return tr_promql_exec(e, qa, arena, &q, res, err);
}

int
tr_promql_range_query(struct tr_promql_engine *e,
                      const struct tr_promql_queryable *qa,
                      struct tr_arena *arena, const char *text, size_t len,
                      int64_t start_ms, int64_t end_ms, int64_t step_ms,
                      struct tr_promql_result *res, struct tr_err *err)
{
    struct tr_promql_query q = {.text = text,
                                .len = len,
                                .start_ms = start_ms,
                                .end_ms = end_ms,
                                .step_ms = step_ms};
    if (step_ms <= 0) {
        memset(res, 0, sizeof(*res));
        res->errtype = TR_PROMQL_ERR_BAD_DATA;
        return tr_promql_check_range(start_ms, end_ms, step_ms, err);
    }
    return tr_promql_exec(e, qa, arena, &q, res, err);
}
