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

    assert_int_equal(tr_labels_parse(labels, strlen(labels), &ls, &err),
                     TR_OK);
    assert_int_equal(tr_head_get_or_create(f->head, ls, &s, NULL, &err),
                     TR_OK);
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
                assert_int_equal(tr_head_append(f->head, s, t, a + d * i,
                                                 NULL, &err),
                                 TR_OK);
                t += step_ms;
            }
            continue;
        }
        double v = strcmp(tok, "NaN") == 0   ? NAN
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
            free(lines[i]);
        }
        free(lines);
    }
    char *s = tr_buf_detach(&out, NULL);
    return s != NULL ? s : strdup("");
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
        fail_msg("query %s at %lld\n got: %s\nwant: %s", query,
                 (long long)t_s, got, want);
    }
    free(got);
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
    free(got);
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

/* ---- tests ------------------------------------------------------------------ */

static void
test_selectors_lookback(void **state)
{
    struct fx *f = *state;
    load(f, "{__name__=\"m\", job=\"a\"}", 0, 60000, "1 2 3 _ _ _ _ _ _ _ 10");
    load(f, "{__name__=\"m\", job=\"b\"}", 0, 60000, "5 stale 7");

    check(f, 0, "m", "{__name__=\"m\", job=\"a\"} => 1\n"
                     "{__name__=\"m\", job=\"b\"} => 5");
    check(f, 90, "m", "{__name__=\"m\", job=\"a\"} => 2");
    check(f, 120, "m{job=\"b\"}", "{__name__=\"m\", job=\"b\"} => 7");
    /* Lookback is closed: exactly 5m after the last sample still counts. */
    check(f, 420, "m", "{__name__=\"m\", job=\"a\"} => 3\n"
                       "{__name__=\"m\", job=\"b\"} => 7");
    check(f, 421, "m", "");
    check(f, 600, "m{job=~\"a|c\"}", "{__name__=\"m\", job=\"a\"} => 10");
    check(f, 60, "m[1m]", "{__name__=\"m\", job=\"a\"} => 1@0 2@60\n"
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selectors_lookback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_range_query, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
