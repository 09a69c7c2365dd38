/*
 * PromQL engine tests: series are loaded into a real tr_head, queries run
 * through the head queryable, and results are compared in a canonical
 * text form (one line per series, sorted unless the query orders them).
 * Expected values follow Prometheus 2.42 (worked out by hand from its
 * documented semantics).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "promql/engine.h"
#include "promql/storage.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"

struct fx {
    struct tr_head *head;
    struct tr_promql_engine *eng;
    struct tr_promql_queryable q;
    struct tr_arena *arena;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->head = tr_head_create(NULL);
    f->eng = tr_promql_engine_create(NULL);
    f->arena = tr_arena_create(0);
    tr_promql_head_queryable(f->head, &f->q);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    tr_arena_destroy(f->arena);
    tr_promql_engine_destroy(f->eng);
    tr_head_destroy(f->head);
    free(f);
    return 0;
}

/*
 * Loads one series: labels in text form, samples from start_ms every
 * step_ms. Values as promqltest writes them: "1 2 3", "0+10x5" (6 values),
 * "_" for a gap, "stale" for a stale marker, "NaN", "Inf".
 */
static void
load(struct fx *f, const char *labels, int64_t start_ms, int64_t step_ms,
     const char *values)
{
    struct tr_labels *ls = NULL;
    struct tr_series *s = NULL;
    struct tr_err err;
    int64_t t = start_ms;
    const char *p = values;

    assert_int_equal(tr_labels_parse(labels, strlen(labels), &ls, &err), TR_OK);
    assert_int_equal(tr_head_get_or_create(f->head, ls, &s, NULL, &err), TR_OK);
    tr_labels_destroy(ls);
    while (*p) {
        char tok[64];
        size_t n = 0;
        while (*p == ' ') {
            p++;
        }
        while (*p && *p != ' ' && n < sizeof(tok) - 1) {
            tok[n++] = *p++;
        }
        tok[n] = '\0';
        if (n == 0) {
            break;
        }
        if (strcmp(tok, "_") == 0) {
            t += step_ms;
            continue;
        }
        if (strcmp(tok, "stale") == 0) {
            assert_int_equal(tr_head_append(f->head, s, t,
                                            tr_promql_stale_nan(), NULL, &err),
                             TR_OK);
            t += step_ms;
            continue;
        }
        char *x = strchr(tok, 'x');
        char *plus = strchr(tok + 1, '+');
        char *minus = strchr(tok + 1, '-');
        if (x != NULL && (plus != NULL || minus != NULL)) {
            char *op = plus != NULL ? plus : minus;
            double a = strtod(tok, NULL);
            double d = strtod(op + 1, NULL) * (op == plus ? 1 : -1);
            long cnt = strtol(x + 1, NULL, 10);
            for (long i = 0; i <= cnt; i++) {
                assert_int_equal(
                    tr_head_append(f->head, s, t, a + d * i, NULL, &err),
                    TR_OK);
                t += step_ms;
            }
            continue;
        }
        double v = strcmp(tok, "NaN") == 0    ? NAN
                   : strcmp(tok, "Inf") == 0  ? INFINITY
                   : strcmp(tok, "-Inf") == 0 ? -INFINITY
                                              : strtod(tok, NULL);
        assert_int_equal(tr_head_append(f->head, s, t, v, NULL, &err), TR_OK);
        t += step_ms;
    }
}

static int
cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical text of a result. Vectors: "labels => v" per line, sorted
 * unless ordered; matrices: "labels => v@t ..." per line. */
static char *
render(const struct tr_promql_value *v, bool ordered)
{
    struct tr_buf out = TR_BUF_INIT;
    char **lines = NULL;
    size_t n = 0;

    switch (v->type) {
    case TR_PROMQL_TYPE_SCALAR:
        tr_buf_append_str(&out, "scalar ");
        tr_promql_format_value(v->u.scalar.v, &out);
        break;
    case TR_PROMQL_TYPE_STRING:
        tr_buf_appendf(&out, "string %.*s", (int)v->u.string.len,
                       v->u.string.data);
        break;
    case TR_PROMQL_TYPE_VECTOR:
        lines = calloc(v->u.vector.n + 1, sizeof(*lines));
        for (size_t i = 0; i < v->u.vector.n; i++) {
            struct tr_buf l = TR_BUF_INIT;
            tr_promql_labels_format(&v->u.vector.samples[i].labels, &l);
            tr_buf_append_str(&l, " => ");
            tr_promql_format_value(v->u.vector.samples[i].v, &l);
            lines[n++] = tr_buf_detach(&l, NULL);
        }
        break;
    case TR_PROMQL_TYPE_MATRIX:
        lines = calloc(v->u.matrix.n + 1, sizeof(*lines));
        for (size_t i = 0; i < v->u.matrix.n; i++) {
            const struct tr_promql_series *s = &v->u.matrix.series[i];
            struct tr_buf l = TR_BUF_INIT;
            tr_promql_labels_format(&s->labels, &l);
            tr_buf_append_str(&l, " =>");
            for (size_t k = 0; k < s->n_points; k++) {
                tr_buf_append_byte(&l, ' ');
                tr_promql_format_value(s->points[k].v, &l);
                tr_buf_appendf(&l, "@%lld", (long long)(s->points[k].t / 1000));
            }
            lines[n++] = tr_buf_detach(&l, NULL);
        }
        break;
    default:
        tr_buf_append_str(&out, "none");
        break;
    }
    if (lines != NULL) {
        if (!ordered) {
            qsort(lines, n, sizeof(*lines), cmp_lines);
        }
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                tr_buf_append_byte(&out, '\n');
            }
            tr_buf_append_str(&out, lines[i]);
            tr_free(lines[i]);
        }
        free(lines);
    }
    char *s = tr_buf_detach(&out, NULL);
    return s != NULL ? s : tr_strdup("");
}

/* Instant query at t seconds; compares with want. */
static void
check_at(struct fx *f, int64_t t_s, const char *query, bool ordered,
         const char *want)
{
    struct tr_promql_result res;
    struct tr_err err;
    int rc = tr_promql_instant_query(f->eng, &f->q, f->arena, query,
                                     strlen(query), t_s * 1000, &res, &err);
    if (rc != TR_OK) {
        fail_msg("query %s failed: %s", query, err.msg);
    }
    char *got = render(&res.value, ordered);
    if (strcmp(got, want) != 0) {
        fail_msg("query %s at %lld\n got: %s\nwant: %s", query, (long long)t_s,
                 got, want);
    }
    tr_free(got);
    tr_arena_reset(f->arena);
}

static void
check(struct fx *f, int64_t t_s, const char *query, const char *want)
{
    check_at(f, t_s, query, false, want);
}

static void
check_range(struct fx *f, int64_t start_s, int64_t end_s, int64_t step_s,
            const char *query, const char *want)
{
    struct tr_promql_result res;
    struct tr_err err;
    int rc = tr_promql_range_query(f->eng, &f->q, f->arena, query,
                                   strlen(query), start_s * 1000, end_s * 1000,
                                   step_s * 1000, &res, &err);
    if (rc != TR_OK) {
        fail_msg("range query %s failed: %s", query, err.msg);
    }
    char *got = render(&res.value, true);
    if (strcmp(got, want) != 0) {
        fail_msg("range query %s\n got: %s\nwant: %s", query, got, want);
    }
    tr_free(got);
    tr_arena_reset(f->arena);
}

/* Expects the query to fail with errtype and a message containing msg. */
static void
check_error(struct fx *f, int64_t t_s, const char *query,
            enum tr_promql_errtype type, const char *msg)
{
    struct tr_promql_result res;
    struct tr_err err;
    int rc = tr_promql_instant_query(f->eng, &f->q, f->arena, query,
                                     strlen(query), t_s * 1000, &res, &err);
    if (rc == TR_OK) {
        fail_msg("query %s succeeded, want error %s", query, msg);
    }
    assert_int_equal(res.errtype, type);
    if (strstr(err.msg, msg) == NULL) {
        fail_msg("query %s: error %s, want %s", query, err.msg, msg);
    }
    tr_arena_reset(f->arena);
}

/* ---- tests ------------------------------------------------------------------
 */

static void
test_selectors_lookback(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"m\", job=\"a\"}", 0, 60000, "1 2 3 _ _ _ _ _ _ _ 10");
    load(f, "{__name__=\"m\", job=\"b\"}", 0, 60000, "5 stale 7");

    check(f, 0, "m",
          "{__name__=\"m\", job=\"a\"} => 1\n"
          "{__name__=\"m\", job=\"b\"} => 5");
    check(f, 90, "m", "{__name__=\"m\", job=\"a\"} => 2");
    check(f, 120, "m{job=\"b\"}", "{__name__=\"m\", job=\"b\"} => 7");
    /* Lookback is closed: exactly 5m after the last sample still counts. */
    check(f, 420, "m",
          "{__name__=\"m\", job=\"a\"} => 3\n"
          "{__name__=\"m\", job=\"b\"} => 7");
    check(f, 421, "m", "");
    check(f, 600, "m{job=~\"a|c\"}", "{__name__=\"m\", job=\"a\"} => 10");
    check(f, 60, "m[1m]",
          "{__name__=\"m\", job=\"a\"} => 1@0 2@60\n"
          "{__name__=\"m\", job=\"b\"} => 5@0");
    check(f, 120, "m offset 1m", "{__name__=\"m\", job=\"a\"} => 2");
    check(f, 600, "m @ 60", "{__name__=\"m\", job=\"a\"} => 2");
    check(f, 0, "timestamp(m @ 120)", "{job=\"a\"} => 120\n{job=\"b\"} => 120");
    check(f, 150, "timestamp(m)", "{job=\"a\"} => 120\n{job=\"b\"} => 120");
    check(f, 5, "1 + 2", "scalar 3");
    check(f, 5, "\"hi\"", "string hi");
}

static void
test_range_query(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"m\", job=\"a\"}", 0, 60000, "1 2 3 4");
    load(f, "{__name__=\"m\", job=\"b\"}", 0, 60000, "5 stale 7");

    check_range(f, 0, 180, 60, "m",
                "{__name__=\"m\", job=\"a\"} => 1@0 2@60 3@120 4@180\n"
                "{__name__=\"m\", job=\"b\"} => 5@0 7@120 7@180");
    check_range(f, 0, 120, 60, "time()", "{} => 0@0 60@60 120@120");
    check_range(f, 0, 120, 60, "m @ end()",
                "{__name__=\"m\", job=\"a\"} => 3@0 3@60 3@120\n"
                "{__name__=\"m\", job=\"b\"} => 7@0 7@60 7@120");
    check_range(f, 60, 120, 60, "m @ start()",
                "{__name__=\"m\", job=\"a\"} => 2@60 2@120");
}

/* A single-value result close to want (for least squares and sqrt). */
static void
check_approx(struct fx *f, int64_t t_s, const char *query, double want)
{
    struct tr_promql_result res;
    struct tr_err err;
    int rc = tr_promql_instant_query(f->eng, &f->q, f->arena, query,
                                     strlen(query), t_s * 1000, &res, &err);
    if (rc != TR_OK) {
        fail_msg("query %s failed: %s", query, err.msg);
    }
    double got = NAN;
    if (res.value.type == TR_PROMQL_TYPE_SCALAR) {
        got = res.value.u.scalar.v;
    } else if (res.value.type == TR_PROMQL_TYPE_VECTOR &&
               res.value.u.vector.n == 1) {
        got = res.value.u.vector.samples[0].v;
    }
    if (!(fabs(got - want) <= 1e-9 * fmax(1, fabs(want)))) {
        fail_msg("query %s: got %.17g, want %.17g", query, got, want);
    }
    tr_arena_reset(f->arena);
}

static void
load_ab(struct fx *f)
{
    load(f, "{__name__=\"a\", job=\"x\", inst=\"1\"}", 0, 60000, "10");
    load(f, "{__name__=\"a\", job=\"y\", inst=\"2\"}", 0, 60000, "20");
    load(f, "{__name__=\"b\", job=\"x\"}", 0, 60000, "2");
    load(f, "{__name__=\"b\", job=\"y\"}", 0, 60000, "4");
}

static void
test_arithmetic_comparison(void **state)
{
    struct fx *f = *state;
    load_ab(f);
    check(f, 0, "a + 1",
          "{inst=\"1\", job=\"x\"} => 11\n"
          "{inst=\"2\", job=\"y\"} => 21");
    check(f, 0, "2 * a - 5",
          "{inst=\"1\", job=\"x\"} => 15\n"
          "{inst=\"2\", job=\"y\"} => 35");
    check(f, 0, "-a",
          "{inst=\"1\", job=\"x\"} => -10\n"
          "{inst=\"2\", job=\"y\"} => -20");
    check(f, 0, "a > 15", "{__name__=\"a\", inst=\"2\", job=\"y\"} => 20");
    check(f, 0, "15 < a", "{__name__=\"a\", inst=\"2\", job=\"y\"} => 20");
    check(f, 0, "a > bool 15",
          "{inst=\"1\", job=\"x\"} => 0\n"
          "{inst=\"2\", job=\"y\"} => 1");
    check(f, 0, "a == 10", "{__name__=\"a\", inst=\"1\", job=\"x\"} => 10");
    check(f, 0, "2 ^ 3 + 5 % 3", "scalar 10");
    check(f, 0, "1 > bool 2", "scalar 0");
    check(f, 0, "a / 0",
          "{inst=\"1\", job=\"x\"} => +Inf\n"
          "{inst=\"2\", job=\"y\"} => +Inf");
    check(f, 0, "a % 0",
          "{inst=\"1\", job=\"x\"} => NaN\n"
          "{inst=\"2\", job=\"y\"} => NaN");
}

static void
test_vector_matching(void **state)
{
    struct fx *f = *state;
    load_ab(f);
    load(f, "{__name__=\"c\", job=\"x\", k=\"1\"}", 0, 60000, "1");
    load(f, "{__name__=\"c\", job=\"x\", k=\"2\"}", 0, 60000, "1");
    load(f, "{__name__=\"info\", job=\"x\", team=\"t1\"}", 0, 60000, "1");

    check(f, 0, "a / on(job) b", "{job=\"x\"} => 5\n{job=\"y\"} => 5");
    check(f, 0, "a / ignoring(inst) b", "{job=\"x\"} => 5\n{job=\"y\"} => 5");
    check(f, 0, "a * on(job) group_left b",
          "{inst=\"1\", job=\"x\"} => 20\n{inst=\"2\", job=\"y\"} => 80");
    check(f, 0, "b * on(job) group_right a",
          "{inst=\"1\", job=\"x\"} => 20\n{inst=\"2\", job=\"y\"} => 80");
    check(f, 0, "a * on(job) group_left(team) info",
          "{inst=\"1\", job=\"x\", team=\"t1\"} => 10");
    /* one-to-one with on() keeps only the on() labels */
    check(f, 0, "a > on(job) b", "{job=\"x\"} => 10\n{job=\"y\"} => 20");
    check(f, 0, "a and on(job) b{job=\"x\"}",
          "{__name__=\"a\", inst=\"1\", job=\"x\"} => 10");
    check(f, 0, "a unless on(job) b{job=\"y\"}",
          "{__name__=\"a\", inst=\"1\", job=\"x\"} => 10");
    check(f, 0, "b or a{job=\"x\"}",
          "{__name__=\"a\", inst=\"1\", job=\"x\"} => 10\n"
          "{__name__=\"b\", job=\"x\"} => 2\n{__name__=\"b\", job=\"y\"} => 4");
    check(f, 0, "b or on(job) a",
          "{__name__=\"b\", job=\"x\"} => 2\n"
          "{__name__=\"b\", job=\"y\"} => 4");
    check(f, 0, "a and b", "");
    check_error(f, 0, "a + on() b", TR_PROMQL_ERR_EXECUTION,
                "found duplicate series for the match group {} on the right "
                "hand-side of the operation: [{__name__=\"b\", job=\"y\"}, "
                "{__name__=\"b\", job=\"x\"}];many-to-many matching not "
                "allowed: matching labels must be unique on one side");
    check_error(f, 0, "c + on(job) b", TR_PROMQL_ERR_EXECUTION,
                "multiple matches for labels: many-to-one matching must be "
                "explicit (group_left/group_right)");
    check_error(f, 0,
                "c + on(job) group_left b{job=\"x\"} * on(job) "
                "group_left c",
                TR_PROMQL_ERR_EXECUTION,
                "found duplicate series for the match group {job=\"x\"} on "
                "the right hand-side");
}

static void
test_aggregations(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"m\", g=\"a\", i=\"1\"}", 0, 60000, "1");
    load(f, "{__name__=\"m\", g=\"a\", i=\"2\"}", 0, 60000, "2");
    load(f, "{__name__=\"m\", g=\"a\", i=\"3\"}", 0, 60000, "3");
    load(f, "{__name__=\"m\", g=\"b\", i=\"4\"}", 0, 60000, "10");

    check(f, 0, "sum(m)", "{} => 16");
    check(f, 0, "sum by (g) (m)", "{g=\"a\"} => 6\n{g=\"b\"} => 10");
    check(f, 0, "sum(m) by (__name__)", "{__name__=\"m\"} => 16");
    check(f, 0, "avg without (i) (m)", "{g=\"a\"} => 2\n{g=\"b\"} => 10");
    check(f, 0, "count(m)", "{} => 4");
    check(f, 0, "min(m)", "{} => 1");
    check(f, 0, "max by (g) (m)", "{g=\"a\"} => 3\n{g=\"b\"} => 10");
    check(f, 0, "group by (g) (m)", "{g=\"a\"} => 1\n{g=\"b\"} => 1");
    check(f, 0, "stdvar(m)", "{} => 12.5");
    check_approx(f, 0, "stddev(m)", sqrt(12.5));
    check(f, 0, "quantile(0.5, m)", "{} => 2.5");
    check(f, 0, "quantile(2, m)", "{} => +Inf");
    check(f, 0, "quantile(-1, m)", "{} => -Inf");
    check_at(f, 0, "topk(2, m)", true,
             "{__name__=\"m\", g=\"b\", i=\"4\"} => 10\n"
             "{__name__=\"m\", g=\"a\", i=\"3\"} => 3");
    check_at(f, 0, "bottomk(1, m)", true,
             "{__name__=\"m\", g=\"a\", i=\"1\"} => 1");
    check_at(f, 0, "topk by (g) (1, m)", true,
             "{__name__=\"m\", g=\"a\", i=\"3\"} => 3\n"
             "{__name__=\"m\", g=\"b\", i=\"4\"} => 10");
    check(f, 0, "topk(0, m)", "");
    check(f, 0, "count_values(\"v\", m * 0.5)",
          "{v=\"0.5\"} => 1\n{v=\"1\"} => 1\n{v=\"1.5\"} => 1\n{v=\"5\"} => 1");
    check(f, 0, "count_values by (g) (\"v\", m > 1)",
          "{g=\"a\", v=\"2\"} => 1\n{g=\"a\", v=\"3\"} => 1\n"
          "{g=\"b\", v=\"10\"} => 1");
    check(f, 0, "count_values without (i) (\"v\", m{g=\"b\"})",
          "{g=\"b\", v=\"10\"} => 1");
    check_error(f, 0, "count_values(\"1x\", m)", TR_PROMQL_ERR_EXECUTION,
                "invalid label name \"1x\"");
    check_error(f, 0, "topk(scalar(nothing), m)", TR_PROMQL_ERR_EXECUTION,
                "Scalar value NaN overflows int64");
}

static void
test_rate_family(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"c\"}", 0, 60000, "0+10x10");
    load(f, "{__name__=\"r\"}", 0, 60000, "0 10 20 5 15");

    check(f, 600, "rate(c[5m])", "{} => 0.16666666666666666");
    check(f, 600, "increase(c[5m])", "{} => 50");
    check(f, 630, "increase(c[5m])", "{} => 50");
    check(f, 600, "delta(c[5m])", "{} => 50");
    check(f, 600, "irate(c[5m])", "{} => 0.16666666666666666");
    check(f, 600, "idelta(c[5m])", "{} => 10");
    check(f, 600, "rate(c[5m] offset 5m)", "{} => 0.16666666666666666");
    check(f, 240, "increase(r[5m])", "{} => 35");
    check(f, 240, "resets(r[5m])", "{} => 1");
    check(f, 240, "changes(r[5m])", "{} => 4");
    check(f, 240, "irate(r[5m])", "{} => 0.16666666666666666");
    check(f, 0, "rate(c[5m])", "");
    check_approx(f, 600, "deriv(c[5m])", 1.0 / 6);
    check_approx(f, 600, "predict_linear(c[5m], 60)", 110);
    check_approx(f, 600, "holt_winters(c[5m], 0.5, 0.5)", 100);
    check_error(
        f, 600, "holt_winters(c[5m], 2, 0.5)", TR_PROMQL_ERR_EXECUTION,
        "invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000");
}

/* Prometheus 2.42's extrapolatedRate, written out plainly as a reference
 * for the engine's (which skips the counter correction when it can). */
static bool
ref_rate(const int64_t *t, const double *v, size_t n, int64_t at, int64_t range,
         bool counter, bool per_second, double *out)
{
    size_t lo = 0, hi = 0;
    while (lo < n && t[lo] < at - range) {
        lo++;
    }
    for (hi = lo; hi < n && t[hi] <= at; hi++) {
    }
    if (hi - lo < 2) {
        return false;
    }
    double result = v[hi - 1] - v[lo];
    if (counter) {
        double last = 0;
        for (size_t i = lo; i < hi; i++) {
            if (v[i] < last) {
                result += last;
            }
            last = v[i];
        }
    }
    double to_start = (double)(t[lo] - (at - range)) / 1000;
    double to_end = (double)(at - t[hi - 1]) / 1000;
    double sampled = (double)(t[hi - 1] - t[lo]) / 1000;
    double avg = sampled / (double)(hi - lo - 1);
    if (counter && result > 0 && v[lo] >= 0) {
        double to_zero = sampled * (v[lo] / result);
        if (to_zero < to_start) {
            to_start = to_zero;
        }
    }
    double threshold = avg * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg / 2;
    interval += to_end < threshold ? to_end : avg / 2;
    result = result * (interval / sampled);
    if (per_second) {
        result = result / ((double)range / 1000.0);
    }
    *out = result;
    return true;
}

/*
 * Range functions slide their windows from step to step: every step of a
 * range query must equal an instant query at that time, for steps
 * shorter and longer than the range, over jittered samples with counter
 * resets and gaps; rate and increase must equal the reference bit for
 * bit.
 */
static void
test_range_windows_match_instant(void **state)
{
    struct fx *f = *state;
    enum { N = 400 };
    int64_t t[N];
    double v[N];
    struct tr_labels *ls = NULL;
    struct tr_series *s = NULL;
    struct tr_err err;
    assert_int_equal(tr_labels_parse("{__name__=\"c\"}", 14, &ls, &err), TR_OK);
    assert_int_equal(tr_head_get_or_create(f->head, ls, &s, NULL, &err), TR_OK);
    tr_labels_destroy(ls);
    srand(3);
    int64_t ts = 0;
    double val = 5;
    for (int i = 0; i < N; i++) {
        ts += 15000 + rand() % 400 - 200 + (rand() % 40 == 0 ? 300000 : 0);
        val = rand() % 25 == 0 ? (double)(rand() % 3) : val + rand() % 7 * 0.5;
        t[i] = ts;
        v[i] = val;
        assert_int_equal(tr_head_append(f->head, s, ts, val, NULL, &err),
                         TR_OK);
    }
    static const char *const fns[] = {
        "rate(c[%s])",          "increase(c[%s])",
        "delta(c[%s])",         "irate(c[%s])",
        "resets(c[%s])",        "changes(c[%s])",
        "max_over_time(c[%s])", "count_over_time(c[%s])",
        "rate(c[%s] offset 1m)"};
    static const char *const ranges[] = {"1m", "5m", "17m"};
    static const int64_t steps[] = {7, 15, 60, 400};
    int64_t end_s = ts / 1000 + 120;
    for (size_t a = 0; a < sizeof(fns) / sizeof(fns[0]); a++) {
        for (size_t b = 0; b < sizeof(ranges) / sizeof(ranges[0]); b++) {
            char q[128];
            snprintf(q, sizeof(q), fns[a], ranges[b]);
            int64_t range_ms = b == 0 ? 60000 : b == 1 ? 300000 : 1020000;
            for (size_t c = 0; c < sizeof(steps) / sizeof(steps[0]); c++) {
                struct tr_promql_result res;
                assert_int_equal(tr_promql_range_query(
                                     f->eng, &f->q, f->arena, q, strlen(q), 0,
                                     end_s * 1000, steps[c] * 1000, &res, &err),
                                 TR_OK);
                assert_int_equal(res.value.type, TR_PROMQL_TYPE_MATRIX);
                const struct tr_promql_point *pts = NULL;
                size_t np = 0, k = 0;
                if (res.value.u.matrix.n == 1) {
                    pts = res.value.u.matrix.series[0].points;
                    np = res.value.u.matrix.series[0].n_points;
                }
                struct tr_arena *one = tr_arena_create(0);
                for (int64_t at = 0; at <= end_s * 1000;
                     at += steps[c] * 1000) {
                    struct tr_promql_result ir;
                    assert_int_equal(tr_promql_instant_query(f->eng, &f->q, one,
                                                             q, strlen(q), at,
                                                             &ir, &err),
                                     TR_OK);
                    bool has = ir.value.u.vector.n == 1;
                    if (k < np && pts[k].t == at) {
                        if (!has ||
                            memcmp(&pts[k].v, &ir.value.u.vector.samples[0].v,
                                   sizeof(double)) != 0) {
                            fail_msg("%s step %lld at %lld: range %.17g, "
                                     "instant %s",
                                     q, (long long)steps[c], (long long)at,
                                     pts[k].v, has ? "differs" : "missing");
                        }
                        k++;
                    } else if (has) {
                        fail_msg("%s step %lld at %lld: only instant has a "
                                 "value",
                                 q, (long long)steps[c], (long long)at);
                    }
                    bool counter = a == 0 || a == 1;
                    double want;
                    if (counter &&
                        ref_rate(t, v, N, at, range_ms, true, a == 0, &want)) {
                        assert_true(has);
                        assert_memory_equal(&want,
                                            &ir.value.u.vector.samples[0].v,
                                            sizeof(double));
                    }
                    tr_arena_reset(one);
                }
                tr_arena_destroy(one);
                assert_int_equal(k, np);
                tr_arena_reset(f->arena);
            }
        }
    }
}

static void
test_over_time_absent(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"g\", job=\"j\"}", 0, 60000, "1 2 3 4 5");

    check(f, 240, "avg_over_time(g[5m])", "{job=\"j\"} => 3");
    check(f, 240, "sum_over_time(g[2m])", "{job=\"j\"} => 12");
    check(f, 240, "count_over_time(g[5m])", "{job=\"j\"} => 5");
    check(f, 240, "min_over_time(g[5m])", "{job=\"j\"} => 1");
    check(f, 240, "max_over_time(g[5m])", "{job=\"j\"} => 5");
    check(f, 240, "last_over_time(g[5m])", "{__name__=\"g\", job=\"j\"} => 5");
    check(f, 240, "present_over_time(g[5m])", "{job=\"j\"} => 1");
    check(f, 240, "quantile_over_time(0.5, g[5m])", "{job=\"j\"} => 3");
    check(f, 240, "stdvar_over_time(g[5m])", "{job=\"j\"} => 2");
    check_approx(f, 240, "stddev_over_time(g[5m])", sqrt(2));
    check(f, 240, "absent_over_time(g[1m])", "");
    check(f, 240, "absent_over_time(nope{job=\"x\", a=~\"b\"}[1m])",
          "{job=\"x\"} => 1");
    check(f, 240, "absent(nope{job=\"x\", job=\"y\", k=\"v\"})",
          "{k=\"v\"} => 1");
    check(f, 240, "absent(g)", "");
    check(f, 240, "absent(sum(nope))", "{} => 1");
    check_range(f, 240, 720, 120, "absent_over_time(g[2m])",
                "{} => 1@480 1@600 1@720");
}

static void
test_histogram_quantile(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"h_bucket\", le=\"0.1\", job=\"j\"}", 0, 60000, "10");
    load(f, "{__name__=\"h_bucket\", le=\"1\", job=\"j\"}", 0, 60000, "20");
    load(f, "{__name__=\"h_bucket\", le=\"+Inf\", job=\"j\"}", 0, 60000, "40");
    load(f, "{__name__=\"n_bucket\", le=\"1\"}", 0, 60000, "3");
    load(f, "{__name__=\"n_bucket\", le=\"2\"}", 0, 60000, "5");

    check(f, 0, "histogram_quantile(0.5, h_bucket)", "{job=\"j\"} => 1");
    check(f, 0, "histogram_quantile(0.25, h_bucket)", "{job=\"j\"} => 0.1");
    check(f, 0, "histogram_quantile(0.9, h_bucket)", "{job=\"j\"} => 1");
    check(f, 0, "histogram_quantile(1.5, h_bucket)", "{job=\"j\"} => +Inf");
    check(f, 0, "histogram_quantile(0.5, n_bucket)", "{} => NaN");
    check(f, 0, "histogram_quantile(0.5, sum by (le) (h_bucket))", "{} => 1");
    check(f, 0, "histogram_count(h_bucket)", "");
}

static void
test_label_functions(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"g\", a=\"x-1\", b=\"y\"}", 0, 60000, "7");

    check(f, 0, "label_replace(g, \"dst\", \"v-$1\", \"a\", \"x-(.*)\")",
          "{__name__=\"g\", a=\"x-1\", b=\"y\", dst=\"v-1\"} => 7");
    check(f, 0,
          "label_replace(g, \"dst\", \"${n}z$$\", \"a\", \"(?P<n>x)-.*\")",
          "{__name__=\"g\", a=\"x-1\", b=\"y\", dst=\"xz$\"} => 7");
    check(f, 0, "label_replace(g, \"dst\", \"$1\", \"a\", \"nomatch\")",
          "{__name__=\"g\", a=\"x-1\", b=\"y\"} => 7");
    check(f, 0, "label_replace(g, \"a\", \"\", \"b\", \"y\")",
          "{__name__=\"g\", b=\"y\"} => 7");
    check(f, 0, "label_replace(g, \"dst\", \"$1x\", \"a\", \"(x)-1\")",
          "{__name__=\"g\", a=\"x-1\", b=\"y\"} => 7");
    check(f, 0, "label_join(g, \"j\", \"/\", \"a\", \"b\", \"none\")",
          "{__name__=\"g\", a=\"x-1\", b=\"y\", j=\"x-1/y/\"} => 7");
    check_error(f, 0, "label_replace(g, \"d\", \"\", \"a\", \"(\")",
                TR_PROMQL_ERR_EXECUTION,
                "invalid regular expression in label_replace(): (");
    check_error(f, 0, "label_replace(g, \"1d\", \"\", \"a\", \".*\")",
                TR_PROMQL_ERR_EXECUTION,
                "invalid destination label name in label_replace(): 1d");
    check_error(f, 0, "label_join(g, \"j\", \"\", \"-\")",
                TR_PROMQL_ERR_EXECUTION,
                "invalid source label name in label_join(): -");
}

static void
test_math_and_dates(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"m\", i=\"1\"}", 0, 60000, "-1.5");
    load(f, "{__name__=\"m\", i=\"2\"}", 0, 60000, "2.5");
    load(f, "{__name__=\"m\", i=\"3\"}", 0, 60000, "NaN");

    check(f, 0, "abs(m)",
          "{i=\"1\"} => 1.5\n{i=\"2\"} => 2.5\n{i=\"3\"} => NaN");
    check(f, 0, "ceil(m)", "{i=\"1\"} => -1\n{i=\"2\"} => 3\n{i=\"3\"} => NaN");
    check(f, 0, "floor(m)",
          "{i=\"1\"} => -2\n{i=\"2\"} => 2\n{i=\"3\"} => NaN");
    check(f, 0, "round(m)",
          "{i=\"1\"} => -1\n{i=\"2\"} => 3\n{i=\"3\"} => NaN");
    check(f, 0, "round(vector(1.234), 0.1)", "{} => 1.2");
    check(f, 0, "clamp(m, 0, 2)",
          "{i=\"1\"} => 0\n{i=\"2\"} => 2\n{i=\"3\"} => NaN");
    check(f, 0, "clamp(m, 2, 0)", "");
    check(f, 0, "clamp_max(m, 0)",
          "{i=\"1\"} => -1.5\n{i=\"2\"} => 0\n{i=\"3\"} => NaN");
    check(f, 0, "clamp_min(m, 0)",
          "{i=\"1\"} => 0\n{i=\"2\"} => 2.5\n{i=\"3\"} => NaN");
    check(f, 0, "sgn(m)", "{i=\"1\"} => -1\n{i=\"2\"} => 1\n{i=\"3\"} => NaN");
    check(f, 0, "log2(vector(8))", "{} => 3");
    check(f, 0, "ln(vector(1))", "{} => 0");
    check(f, 0, "sqrt(vector(16))", "{} => 4");
    check(f, 0, "exp(vector(0))", "{} => 1");
    check(f, 0, "deg(vector(pi()))", "{} => 180");
    check(f, 0, "rad(vector(180))", "{} => 3.141592653589793");
    check(f, 0, "year(vector(0))", "{} => 1970");
    check(f, 0, "day_of_week(vector(259200))", "{} => 0");
    check(f, 0, "days_in_month(vector(3456000))", "{} => 28");
    check(f, 0, "day_of_year(vector(3456000))", "{} => 41");
    check(f, 0, "hour(vector(18059))", "{} => 5");
    check(f, 0, "minute(vector(18059))", "{} => 0");
    check(f, 90000, "day_of_month()", "{} => 2");
    check(f, 0, "month()", "{} => 1");
    check(f, 0, "scalar(m)", "scalar NaN");
    check(f, 0, "scalar(m{i=\"2\"})", "scalar 2.5");
    check(f, 100, "time()", "scalar 100");
    check(f, 0, "vector(1)", "{} => 1");
    check_at(
        f, 0, "sort(m)", true,
        "{__name__=\"m\", i=\"1\"} => -1.5\n"
        "{__name__=\"m\", i=\"2\"} => 2.5\n{__name__=\"m\", i=\"3\"} => NaN");
    check_at(
        f, 0, "sort_desc(m)", true,
        "{__name__=\"m\", i=\"2\"} => 2.5\n"
        "{__name__=\"m\", i=\"1\"} => -1.5\n{__name__=\"m\", i=\"3\"} => NaN");
}

static void
test_subqueries(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"c\"}", 0, 60000, "0+10x10");

    check(f, 600, "max_over_time(c[5m:1m])", "{} => 100");
    check(f, 600, "sum_over_time(c[3m:1m])", "{} => 340");
    check(f, 610, "count_over_time(c[5m:2m])", "{} => 3");
    check(f, 600, "count_over_time(c[5m:])", "{} => 6");
    check(f, 600, "max_over_time(c[2m:1m] offset 3m)", "{} => 70");
    check(f, 0, "max_over_time(c[2m:1m] @ 300)", "{} => 50");
    check(f, 600, "rate(c[5m:1m])", "{} => 0.16666666666666666");
    check(f, 600, "c[2m:1m]", "{__name__=\"c\"} => 80@480 90@540 100@600");
    check(f, 600, "max_over_time(sum(c)[2m:30s])", "{} => 100");
    check_range(f, 300, 600, 150, "sum_over_time(c[1m:1m])",
                "{} => 90@300 70@450 190@600");
}

static void
test_errors_and_limits(void **state)
{
    struct fx *f = *state;
    struct tr_promql_result res;
    struct tr_err err;
    load(f, "{__name__=\"g\"}", 0, 1000, "0+1x3000");
    load(f, "{__name__=\"h\"}", 0, 1000, "0+1x3000");

    check_error(f, 10, "sum(", TR_PROMQL_ERR_BAD_DATA, "parse error");
    check_error(f, 10, "abs({__name__=~\"g|h\"})", TR_PROMQL_ERR_EXECUTION,
                "vector cannot contain metrics with the same labelset");
    check_error(f, 10, "rate({__name__=~\"g|h\"}[1m])", TR_PROMQL_ERR_EXECUTION,
                "vector cannot contain metrics with the same labelset");

    assert_int_not_equal(tr_promql_range_query(f->eng, &f->q, f->arena, "g[1m]",
                                               5, 0, 10000, 1000, &res, &err),
                         TR_OK);
    assert_int_equal(res.errtype, TR_PROMQL_ERR_BAD_DATA);
    assert_string_equal(err.msg, "invalid expression type \"range vector\" "
                                 "for range query, must be Scalar or instant "
                                 "Vector");
    tr_arena_reset(f->arena);
    assert_int_equal(tr_promql_check_range(0, 12000000, 1000, &err), TR_EINVAL);
    assert_int_equal(tr_promql_check_range(0, 11000000, 1000, &err), TR_OK);

    /* Too many samples. */
    struct tr_promql_engine_options o = {.max_samples = 100};
    struct tr_promql_engine *small = tr_promql_engine_create(&o);
    assert_int_equal(tr_promql_instant_query(small, &f->q, f->arena, "g", 1,
                                             10000, &res, &err),
                     TR_OK);
    tr_arena_reset(f->arena);
    assert_int_equal(tr_promql_instant_query(small, &f->q, f->arena, "g[5m]", 5,
                                             1000000, &res, &err),
                     TR_ELIMIT);
    assert_int_equal(res.errtype, TR_PROMQL_ERR_EXECUTION);
    assert_string_equal(err.msg, "query processing would load too many "
                                 "samples into memory in query execution");
    tr_arena_reset(f->arena);
    assert_int_equal(tr_promql_range_query(small, &f->q, f->arena, "g", 1, 0,
                                           1000000, 1000, &res, &err),
                     TR_ELIMIT);
    tr_arena_reset(f->arena);
    tr_promql_engine_destroy(small);

    /* Timeout and cancellation. */
    /* Sorting every 3600-point window of 3000 steps takes far longer than
     * the 1 ms allowed. */
    struct tr_promql_query q = {.text = "quantile_over_time(0.5, g[1h:1s])",
                                .len = 33,
                                .start_ms = 0,
                                .end_ms = 3000000,
                                .step_ms = 1000,
                                .timeout_ms = 1};
    assert_int_equal(tr_promql_exec(f->eng, &f->q, f->arena, &q, &res, &err),
                     TR_ETIMEOUT);
    assert_int_equal(res.errtype, TR_PROMQL_ERR_TIMEOUT);
    assert_string_equal(err.msg, "query timed out in query execution");
    tr_arena_reset(f->arena);
    volatile int cancel = 1;
    q.timeout_ms = 0;
    q.cancel = &cancel;
    assert_int_equal(tr_promql_exec(f->eng, &f->q, f->arena, &q, &res, &err),
                     TR_ECANCELED);
    assert_int_equal(res.errtype, TR_PROMQL_ERR_CANCELED);
    tr_arena_reset(f->arena);
    assert_string_equal(tr_promql_errtype_name(TR_PROMQL_ERR_EXECUTION),
                        "execution");
    assert_int_equal(tr_promql_errtype_http_status(TR_PROMQL_ERR_EXECUTION),
                     422);
}

static void
test_format_value(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {{0, "0"},
                 {-0.0, "-0"},
                 {1, "1"},
                 {0.1, "0.1"},
                 {1e21, "1000000000000000000000"},
                 {1.5e-7, "0.00000015"},
                 {123.456, "123.456"},
                 {1.0 / 3, "0.3333333333333333"},
                 {NAN, "NaN"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tr_buf b = TR_BUF_INIT;
        tr_promql_format_value(cases[i].v, &b);
        tr_buf_append_byte(&b, '\0');
        assert_string_equal(b.data, cases[i].s);
        tr_buf_fini(&b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selectors_lookback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_range_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arithmetic_comparison, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vector_matching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_windows_match_instant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_over_time_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_quantile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_label_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_math_and_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subqueries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_limits, setup,
                                        teardown),
        cmocka_unit_test(test_format_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
