/*
 * Unit tests for the PromQL test-script runner (promql/promqltest.h): the
 * value notation, the script grammar and its errors, the comparison, that
 * wrong expectations fail, and finally every case file of tests/promql/
 * against the Trident engine (minus the listed known failures).
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "promql/promqltest.h"
#include "tsdb/labels.h"

/* ---- series descriptions ---------------------------------------------- */

static void
expect_values(const char *line, const char *want_labels, const double *want,
              const bool *omitted, size_t n)
{
    struct tr_labels *ls;
    struct tr_promqltest_value *v;
    size_t got;
    struct tr_err err;
    int rc =
        tr_promqltest_parse_series(line, strlen(line), &ls, &v, &got, &err);
    if (rc != TR_OK) {
        fail_msg("%s: %s", line, err.msg);
    }
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_labels_format(ls, &b), TR_OK);
    assert_int_equal(b.len, strlen(want_labels));
    assert_memory_equal(b.data, want_labels, b.len);
    tr_buf_fini(&b);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        bool om = omitted != NULL && omitted[i];
        assert_int_equal(v[i].omitted, om);
        if (om) {
            continue;
        }
        if (isnan(want[i])) {
            assert_true(isnan(v[i].v));
        } else if (v[i].v != want[i]) {
            fail_msg("%s: value %zu is %.17g, want %.17g", line, i, v[i].v,
                     want[i]);
        }
    }
    tr_labels_destroy(ls);
    tr_free(v);
}

static void
test_series_expansion(void **state)
{
    (void)state;
    expect_values("m 1+2x3", "{__name__=\"m\"}", (double[]){1, 3, 5, 7}, NULL,
                  4);
    expect_values("m 5-1x2", "{__name__=\"m\"}", (double[]){5, 4, 3}, NULL, 3);
    expect_values("m 7x2", "{__name__=\"m\"}", (double[]){7, 7, 7}, NULL, 3);
    expect_values("m 1x0", "{__name__=\"m\"}", (double[]){1}, NULL, 1);
    expect_values("m -1 +2 1e3 1.5e-1", "{__name__=\"m\"}",
                  (double[]){-1, 2, 1000, 0.15}, NULL, 4);
    expect_values("m 1.5+0.5x2", "{__name__=\"m\"}", (double[]){1.5, 2, 2.5},
                  NULL, 3);
    expect_values("m -2-2x2", "{__name__=\"m\"}", (double[]){-2, -4, -6}, NULL,
                  3);
    expect_values("m 1 _ 3 _x2 5", "{__name__=\"m\"}",
                  (double[]){1, 0, 3, 0, 0, 5},
                  (bool[]){false, true, false, true, true, false}, 6);
    expect_values("m NaN Inf -Inf +Inf nan inf", "{__name__=\"m\"}",
                  (double[]){NAN, INFINITY, -INFINITY, INFINITY, NAN, INFINITY},
                  NULL, 6);
    expect_values("m Inf+0x1", "{__name__=\"m\"}",
                  (double[]){INFINITY, INFINITY}, NULL, 2);
    /* The sum accumulates like repeated addition, rounding included. */
    double acc[4] = {0};
    for (int i = 1; i < 4; i++) {
        acc[i] = acc[i - 1] + 0.1;
    }
    expect_values("m 0+0.1x3", "{__name__=\"m\"}", acc, NULL, 4);
    /* Labels: name and braces, braces only, quotes with braces inside. */
    expect_values("  up{job=\"a\",  i=\"1\"}   4  ",
                  "{__name__=\"up\", i=\"1\", job=\"a\"}", (double[]){4}, NULL,
                  1);
    expect_values("{a=\"}{\"} 2", "{a=\"}{\"}", (double[]){2}, NULL, 1);
    expect_values("ns:rule_name{x=\"\\\"\"} 1",
                  "{__name__=\"ns:rule_name\", x=\"\\\"\"}", (double[]){1},
                  NULL, 1);
    expect_values("m{}", "{__name__=\"m\"}", NULL, NULL, 0);
}

static void
test_series_stale(void **state)
{
    (void)state;
    struct tr_labels *ls;
    struct tr_promqltest_value *v;
    size_t n;
    assert_int_equal(
        tr_promqltest_parse_series("m 1 stale stalex1", 17, &ls, &v, &n, NULL),
        TR_OK);
    assert_int_equal(n, 4);
    for (size_t i = 1; i < 4; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i].v, sizeof(bits));
        assert_true(bits == TR_PROMQL_STALE_NAN_BITS);
    }
    tr_labels_destroy(ls);
    tr_free(v);
}

static void
test_series_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "m 1+",        "m abc",   "m 1x",        "m _x",     "m 1+2",
        "m 1+2y3",     "m 1x2x3", "m{a=\"b\" 1", "m{a=b} 1", "m 1_",
        "m{a=\"b\"}1", "=1",      "m 1--",       "m x3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tr_labels *ls = NULL;
        struct tr_promqltest_value *v = NULL;
        size_t n;
        struct tr_err err;
        int rc = tr_promqltest_parse_series(bad[i], strlen(bad[i]), &ls, &v, &n,
                                            &err);
        if (rc != TR_EINVAL) {
            fail_msg("\"%s\" parsed (rc %d)", bad[i], rc);
        }
        assert_non_null(strstr(err.msg, "cannot parse series description"));
        assert_null(ls);
        assert_null(v);
    }
}

/* ---- scripts ---------------------------------------------------------- */

static struct tr_promqltest_script *
parse_ok(const char *text)
{
    struct tr_promqltest_script *s;
    struct tr_err err;
    if (tr_promqltest_parse("t.test", text, strlen(text), &s, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
    return s;
}

static void
test_script_structure(void **state)
{
    (void)state;
    struct tr_promqltest_script *s =
        parse_ok("# comment\n"
                 "load 30s\n"
                 "  a{x=\"1\"} 1 2\n"
                 "\tb 0+1x4\n"
                 "\n"
                 "eval instant at 1m30s sum(a)\n"
                 "  {} 3\n"
                 "\n"
                 "eval_ordered instant at 0 sort(a)\n"
                 "  a{x=\"1\"} 1\n"
                 "\n"
                 "eval_fail instant at 0 rate(a)\n"
                 "\n"
                 "eval instant at 1h 1 + 1\n"
                 "  2\n"
                 "clear\n"
                 "eval range from 0 to 2m step 1m b\n"
                 "  b 0 _ 4\n"
                 "\n"
                 "eval instant at 0 foo(\n"
                 "  expect fail\n"
                 "\n"
                 "eval instant at 0 a\n"
                 "  expect ordered\n"
                 "  a{x=\"1\"} 1\n");
    assert_int_equal(s->n_cmds, 9);
    const struct tr_promqltest_cmd *c = s->cmds;
    assert_int_equal(c[0].kind, TR_PROMQLTEST_LOAD);
    assert_int_equal(c[0].line, 2);
    assert_int_equal(c[0].interval_ms, 30000);
    assert_int_equal(c[0].n_series, 2);
    assert_int_equal(c[0].series[1].n, 5);
    assert_int_equal(c[0].series[1].line, 4);
    assert_int_equal(c[1].kind, TR_PROMQLTEST_EVAL);
    assert_int_equal(c[1].start_ms, 90000);
    assert_int_equal(c[1].end_ms, 90000);
    assert_false(c[1].range);
    assert_string_equal(c[1].expr, "sum(a)");
    assert_int_equal(c[1].n_series, 1);
    assert_true(c[2].ordered);
    assert_true(c[3].fail);
    assert_int_equal(c[3].n_series, 0);
    assert_true(c[4].expect_scalar);
    assert_true(c[4].scalar == 2);
    assert_int_equal(c[4].start_ms, 3600000);
    assert_int_equal(c[5].kind, TR_PROMQLTEST_CLEAR);
    assert_int_equal(c[5].line, 16);
    assert_true(c[6].range);
    assert_int_equal(c[6].end_ms, 120000);
    assert_int_equal(c[6].step_ms, 60000);
    assert_true(c[6].series[0].values[1].omitted);
    assert_true(c[7].fail); /* an unparsable query is fine when failing */
    assert_true(c[8].ordered);
    tr_promqltest_script_destroy(s);
}

static void
test_script_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* substring of the error */
    } cases[] = {
        {"bogus\n", "t.test:1: unknown command"},
        {"load\n", "t.test:1: cannot parse load"},
        {"load 0s\n a 1\n", "bad interval"},
        {"load 1m\n a 1\n a 2\n", "t.test:3: duplicate series"},
        {"load 1m\n a 1+\n", "t.test:2: cannot parse series"},
        {"\n\neval instant 0 a\n", "t.test:3: cannot parse eval"},
        {"eval instant at x a\n", "bad time"},
        {"eval instant at 0\n", "no expression"},
        {"eval instant at 0 sum(\n", "cannot parse expression sum("},
        {"eval instant at 0 a\n a 1 2\n", "exactly one value"},
        {"eval instant at 0 a\n 1\n a 1\n", "t.test:3: unknown command"},
        {"eval instant at 0 a\n a 1\n 1\n", "only expected result"},
        {"eval range from 0 to 2m step 1m a\n a 1 2\n", "3 steps but 2"},
        {"eval range from 2m to 0 step 1m a\n", "start <= end"},
        {"eval range from 0 to 1m a\n", "want \"eval range"},
        {"eval_ordered range from 0 to 1m step 1m a\n", "no range form"},
        {"eval_fail instant at 0 a\n a 1\n", "expects no results"},
        {"eval_ordered instant at 0 1\n 1\n", "needs a vector"},
        {"evil instant at 0 a\n", "unknown command \"evil instant at 0 a\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tr_promqltest_script *s = NULL;
        struct tr_err err;
        int rc = tr_promqltest_parse("t.test", cases[i].text,
                                     strlen(cases[i].text), &s, &err);
        if (rc != TR_EINVAL || strstr(err.msg, cases[i].want) == NULL) {
            fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc,
                     rc == TR_OK ? "" : err.msg, cases[i].want);
        }
        assert_null(s);
    }
}

static void
test_almost_equal(void **state)
{
    (void)state;
    assert_true(tr_promqltest_almost_equal(NAN, NAN));
    assert_true(tr_promqltest_almost_equal(INFINITY, INFINITY));
    assert_false(tr_promqltest_almost_equal(INFINITY, -INFINITY));
    assert_false(tr_promqltest_almost_equal(NAN, 1));
    assert_true(tr_promqltest_almost_equal(1, 1 + 1e-9));
    assert_false(tr_promqltest_almost_equal(1, 1.00001));
    assert_true(tr_promqltest_almost_equal(1e300, 1e300 * (1 + 1e-7)));
    assert_false(tr_promqltest_almost_equal(0, 1e-300));
    assert_true(tr_promqltest_almost_equal(0, -0.0));
}

/* ---- running against the engine -------------------------------------- */

/* Runs text against Trident; returns the stats, report in *report. */
static struct tr_promqltest_stats
run_text(const char *text, char **report)
{
    struct tr_promqltest_script *s = parse_ok(text);
    struct tr_promqltest_trident *t = tr_promqltest_trident_create();
    assert_non_null(t);
    /* A temporary file, not open_memstream: cmocka's UNIT_TESTING build
     * replaces free(), which cannot free libc's buffers. */
    FILE *f = tmpfile();
    assert_non_null(f);
    struct tr_promqltest_stats st = {0};
    struct tr_err err;
    assert_int_equal(tr_promqltest_run(s, tr_promqltest_trident_backend(), t,
                                       NULL, f, &st, &err),
                     TR_OK);
    struct tr_buf b = TR_BUF_INIT;
    char chunk[4096];
    size_t got;
    rewind(f);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        tr_buf_append(&b, chunk, got);
    }
    tr_buf_append_byte(&b, '\0');
    fclose(f);
    *report = tr_buf_detach(&b, NULL);
    tr_promqltest_trident_destroy(t);
    tr_promqltest_script_destroy(s);
    return st;
}

static const char *const load_text = "load 1m\n"
                                     "  m{a=\"1\"} 1+1x5\n"
                                     "  m{a=\"2\"} 10+10x5\n"
                                     "\n";

static void
check_run(const char *evals, unsigned want_passed, unsigned want_failed,
          const char *want_in_report)
{
    struct tr_buf b = TR_BUF_INIT;
    tr_buf_append_str(&b, load_text);
    tr_buf_append_str(&b, evals);
    char *report;
    struct tr_promqltest_stats st = run_text(b.data, &report);
    if (st.passed != want_passed || st.failed != want_failed ||
        (want_in_report && strstr(report, want_in_report) == NULL)) {
        fail_msg("script:\n%s\npassed %u failed %u, report:\n%s", b.data,
                 st.passed, st.failed, report);
    }
    tr_free(report);
    tr_buf_fini(&b);
}

static void
test_run_passes(void **state)
{
    (void)state;
    check_run("eval instant at 2m m\n"
              "  m{a=\"1\"} 3\n"
              "  m{a=\"2\"} 30\n"
              "\n"
              "eval instant at 2m sum(m)\n"
              "  {} 33\n"
              "\n"
              "eval instant at 0 2 * 3\n"
              "  6\n"
              "\n"
              "eval instant at 2m m{a=\"3\"}\n"
              "\n"
              "eval_ordered instant at 1m sort_desc(m)\n"
              "  m{a=\"2\"} 20\n"
              "  m{a=\"1\"} 2\n"
              "\n"
              "eval_fail instant at 0 m{a=\"1\"} + on() group_left m\n"
              "\n"
              "eval range from 0 to 2m step 1m m{a=\"1\"}\n"
              "  m{a=\"1\"} 1 2 3\n",
              7, 0, NULL);
}

/* A runner that cannot fail proves nothing: each wrong expectation must
 * be reported with its line, query and reason. */
static void
test_run_wrong_expectations_fail(void **state)
{
    (void)state;
    check_run("eval instant at 2m m\n"
              "  m{a=\"1\"} 4\n"
              "  m{a=\"2\"} 30\n",
              0, 1, "t.test:5: FAIL: eval m");
    check_run("eval instant at 2m m\n"
              "  m{a=\"1\"} 3\n",
              0, 1, "unexpected metric {__name__=\"m\", a=\"2\"} in result");
    check_run("eval instant at 2m m{a=\"1\"}\n"
              "  m{a=\"1\"} 3\n"
              "  m{a=\"9\"} 3\n",
              0, 1, "expected metric {__name__=\"m\", a=\"9\"} not found");
    check_run("eval instant at 2m sum(m)\n"
              "  sum 33\n",
              0, 1, "unexpected metric {} in result");
    check_run("eval instant at 0 2 * 3\n"
              "  7\n",
              0, 1, "expected scalar 7 but got 6");
    check_run("eval instant at 0 2 * 3\n"
              "  {} 6\n",
              0, 1, "expected a vector, got scalar");
    check_run("eval instant at 0 vector(6)\n"
              "  6\n",
              0, 1, "expected a scalar, got a vector");
    check_run("eval instant at 0 m\n", 0, 1, "unexpected metric");
    check_run("eval_ordered instant at 1m sort_desc(m)\n"
              "  m{a=\"1\"} 2\n"
              "  m{a=\"2\"} 20\n",
              0, 1, "at position 2 but was at 1");
    check_run("eval_fail instant at 0 m\n", 0, 1,
              "expected an error but the query succeeded");
    check_run("eval instant at 0 m{a=\"1\"} + on() group_left m\n", 0, 1,
              "query failed");
    check_run("eval range from 0 to 2m step 1m m{a=\"1\"}\n"
              "  m{a=\"1\"} 1 _ 3\n",
              0, 1, "expected no point at t=60000");
    check_run("eval range from 0 to 2m step 1m m{a=\"1\"}\n"
              "  m{a=\"1\"} 1 2 4\n",
              0, 1, "expected 4 at t=120000");
    check_run("eval range from 0 to 2m step 1m m{a=\"1\"} offset 1m\n"
              "  {a=\"1\"} 1 1 2\n",
              0, 1, "unexpected series");
    /* NaN must match NaN only. */
    check_run("eval instant at 0 m{a=\"1\"} * NaN\n"
              "  {a=\"1\"} 1\n",
              0, 1, "expected 1 for {a=\"1\"} but got NaN");
    /* Tolerance: 1e-6 relative passes, 1e-5 does not. */
    check_run("eval instant at 0 1/3\n"
              "  0.3333334\n",
              1, 0, NULL);
    check_run("eval instant at 0 1/3\n"
              "  0.33334\n",
              0, 1, NULL);
}

static void
test_known_failures(void **state)
{
    (void)state;
    struct tr_promqltest_script *s =
        parse_ok("load 1m\n m 1\n\neval instant at 0 m\n m 2\n\n"
                 "eval instant at 0 m\n m 1\n");
    struct tr_promqltest_trident *t = tr_promqltest_trident_create();
    const char *known[] = {"t.test:4", "t.test:7"};
    struct tr_promqltest_options o = {known, 2, false};
    struct tr_promqltest_stats st = {0};
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(tr_promqltest_run(s, tr_promqltest_trident_backend(), t,
                                       &o, devnull, &st, NULL),
                     TR_OK);
    fclose(devnull);
    assert_int_equal(st.evals, 2);
    assert_int_equal(st.known_failed, 1);
    assert_int_equal(st.fixed, 1);
    assert_int_equal(st.failed, 0);
    tr_promqltest_trident_destroy(t);
    tr_promqltest_script_destroy(s);
}

/* ---- the case files --------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every tests/promql/ *.test file through `trident promqltest`'s entry
 * point, with the known-failures list. The same files pass on Prometheus
 * 2.42 (tests/integration/promql_cases_vs_prometheus.sh).
 */
static void
test_case_files(void **state)
{
    (void)state;
    const char *dir = TR_TEST_SOURCE_DIR "/tests/promql";
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *files[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".test") == 0) {
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            files[n++] = tr_xstrdup(path);
        }
    }
    closedir(d);
    assert_true(n > 10);
    qsort(files, n, sizeof(files[0]), cmp_str);
    char *argv[260];
    int argc = 0;
    argv[argc++] = "promqltest";
    argv[argc++] = "--known-failures";
    argv[argc++] = TR_TEST_SOURCE_DIR "/tests/promql/known_failures.txt";
    for (size_t i = 0; i < n; i++) {
        argv[argc++] = files[i];
    }
    int rc = tr_promqltest_main(argc, argv);
    for (size_t i = 0; i < n; i++) {
        tr_free(files[i]);
    }
    assert_int_equal(rc, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_expansion),
        cmocka_unit_test(test_series_stale),
        cmocka_unit_test(test_series_errors),
        cmocka_unit_test(test_script_structure),
        cmocka_unit_test(test_script_errors),
        cmocka_unit_test(test_almost_equal),
        cmocka_unit_test(test_run_passes),
        cmocka_unit_test(test_run_wrong_expectations_fail),
        cmocka_unit_test(test_known_failures),
        cmocka_unit_test(test_case_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
