/* Unit tests for lib/metrics: registration, exposition, concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "metrics/registry.h"

static char *
expose(struct tr_metrics_registry *r)
{
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_metrics_expose(r, &b), TR_OK);
    tr_buf_append(&b, "", 0); /* make sure data is a C string */
    return tr_buf_detach(&b, NULL);
}

/* Checks the text line by line against a NULL-terminated list. */
static void
assert_lines(const char *text, const char *const *want)
{
    const char *p = text;
    size_t i = 0;
    for (; want[i] != NULL; i++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - p);
        if (len != strlen(want[i]) || memcmp(p, want[i], len) != 0) {
            print_error("line %zu: got '%.*s' want '%s'\n", i + 1, (int)len, p,
                        want[i]);
            fail();
        }
        p = nl + 1;
    }
    assert_string_equal(p, "");
}

static void
test_exposition_text(void **state)
{
    struct tr_metrics_registry *r = tr_metrics_registry_create();
    struct tr_err err;
    struct tr_counter *c =
        tr_counter_register(r, "zz_requests_total", "Requests.", &err);
    assert_non_null(c);
    tr_counter_inc(c);
    tr_counter_add(c, 2.5);
    tr_counter_add(c, -7); /* ignored */

    struct tr_gauge_vec *gv =
        tr_gauge_vec_register(r, "aa_temperature", "Line one\nback\\slash",
                              (const char *[]){"room", "floor"}, 2, &err);
    assert_non_null(gv);
    tr_gauge_set(tr_gauge_vec_get(gv, (const char *[]){"b\"q", "1"}), -3);
    tr_gauge_set(tr_gauge_vec_get(gv, (const char *[]){"a\nx\\y", "2"}), 1e6);
    struct tr_gauge *g = tr_gauge_vec_get(gv, (const char *[]){"c", NULL});
    tr_gauge_inc(g);
    tr_gauge_inc(g);
    tr_gauge_dec(g);
    tr_gauge_add(g, 0.5);

    struct tr_histogram_vec *hv = tr_histogram_vec_register(
        r, "mm_duration_seconds", "Durations.", (const double[]){0.1, 1, 2.5},
        3, (const char *[]){"op"}, 1, &err);
    assert_non_null(hv);
    struct tr_histogram *h = tr_histogram_vec_get(hv, (const char *[]){"x"});
    tr_histogram_observe(h, 0.05);
    tr_histogram_observe(h, 0.1); /* le is inclusive */
    tr_histogram_observe(h, 2);
    tr_histogram_observe(h, 100);
    assert_int_equal(tr_histogram_count(h), 4);

    /* A vec without children is left out entirely. */
    assert_non_null(tr_counter_vec_register(r, "bb_unused_total", "x",
                                            (const char *[]){"a"}, 1, &err));
    /* No help: no HELP line. */
    assert_non_null(tr_gauge_register(r, "cc_nohelp", NULL, &err));

    char *text = expose(r);
    const char *want[] = {
        "# HELP aa_temperature Line one\\nback\\\\slash",
        "# TYPE aa_temperature gauge",
        "aa_temperature{room=\"a\\nx\\\\y\",floor=\"2\"} 1e+06",
        "aa_temperature{room=\"b\\\"q\",floor=\"1\"} -3",
        "aa_temperature{room=\"c\",floor=\"\"} 1.5",
        "# TYPE cc_nohelp gauge",
        "cc_nohelp 0",
        "# HELP mm_duration_seconds Durations.",
        "# TYPE mm_duration_seconds histogram",
        "mm_duration_seconds_bucket{op=\"x\",le=\"0.1\"} 2",
        "mm_duration_seconds_bucket{op=\"x\",le=\"1\"} 2",
        "mm_duration_seconds_bucket{op=\"x\",le=\"2.5\"} 3",
        "mm_duration_seconds_bucket{op=\"x\",le=\"+Inf\"} 4",
        "mm_duration_seconds_sum{op=\"x\"} 102.15",
        "mm_duration_seconds_count{op=\"x\"} 4",
        "# HELP zz_requests_total Requests.",
        "# TYPE zz_requests_total counter",
        "zz_requests_total 3.5",
        NULL,
    };
    assert_lines(text, want);
    tr_free(text);
    tr_metrics_registry_destroy(r);
}

static void
test_registration_rules(void **state)
{
    struct tr_metrics_registry *r = tr_metrics_registry_create();
    struct tr_err err;
    const char *lbl[] = {"method", "route"};

    struct tr_counter_vec *a =
        tr_counter_vec_register(r, "x_total", "h", lbl, 2, &err);
    assert_non_null(a);
    /* Same shape: the same family comes back. */
    assert_ptr_equal(
        tr_counter_vec_register(r, "x_total", "other help", lbl, 2, &err), a);
    /* Same name, other kind or labels: error naming the metric. */
    assert_null(tr_gauge_vec_register(r, "x_total", "h", lbl, 2, &err));
    assert_int_equal(err.code, TR_EINVAL);
    assert_non_null(strstr(err.msg, "cannot register metric x_total"));
    assert_null(tr_counter_vec_register(r, "x_total", "h", lbl, 1, &err));
    assert_null(tr_counter_register(r, "x_total", "h", &err));

    /* Histograms also compare buckets. */
    assert_non_null(tr_histogram_register(r, "h_seconds", "h", NULL, 0, &err));
    assert_non_null(
        tr_histogram_register(r, "h_seconds", "h", tr_metrics_duration_buckets,
                              tr_metrics_duration_buckets_len, &err));
    assert_null(tr_histogram_register(r, "h_seconds", "h",
                                      (const double[]){1, 2}, 2, &err));

    /* Bad names. */
    assert_null(tr_counter_register(r, "9lives", "h", &err));
    assert_null(tr_counter_register(r, "has-dash", "h", &err));
    assert_null(tr_counter_register(r, "", "h", &err));
    assert_non_null(tr_counter_register(r, "ns:sub_total", "h", &err));
    assert_null(
        tr_counter_vec_register(r, "y", "h", (const char *[]){"__x"}, 1, &err));
    assert_null(
        tr_counter_vec_register(r, "y", "h", (const char *[]){"a:b"}, 1, &err));
    assert_null(tr_counter_vec_register(r, "y", "h", (const char *[]){"a", "a"},
                                        2, &err));
    assert_null(tr_histogram_vec_register(r, "y", "h", NULL, 0,
                                          (const char *[]){"le"}, 1, &err));
    assert_non_null(strstr(err.msg, "reserved"));
    /* Bad buckets. */
    assert_null(
        tr_histogram_register(r, "y", "h", (const double[]){2, 1}, 2, &err));
    assert_null(
        tr_histogram_register(r, "y", "h", (const double[]){1, NAN}, 2, &err));
    /* A trailing +Inf is accepted and implicit. */
    struct tr_histogram *h = tr_histogram_register(
        r, "z", "h", (const double[]){1, INFINITY}, 2, &err);
    assert_non_null(h);
    tr_histogram_observe(h, 5);
    assert_int_equal(tr_histogram_count(h), 1);
    assert_true(tr_histogram_sum(h) == 5);

    /* Children: same values, same pointer; different, different. */
    struct tr_counter *c1 =
        tr_counter_vec_get(a, (const char *[]){"GET", "/a"});
    assert_ptr_equal(c1, tr_counter_vec_get(a, (const char *[]){"GET", "/a"}));
    assert_ptr_not_equal(c1,
                         tr_counter_vec_get(a, (const char *[]){"GET", "/b"}));
    /* ("ab","c") and ("a","bc") are different series */
    assert_ptr_not_equal(tr_counter_vec_get(a, (const char *[]){"ab", "c"}),
                         tr_counter_vec_get(a, (const char *[]){"a", "bc"}));
    /* Many children force the table to grow; all stay findable. */
    struct tr_counter *kids[500];
    for (int i = 0; i < 500; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        kids[i] = tr_counter_vec_get(a, (const char *[]){"P", v});
        tr_counter_add_u64(kids[i], (uint64_t)i);
    }
    for (int i = 0; i < 500; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        assert_ptr_equal(kids[i],
                         tr_counter_vec_get(a, (const char *[]){"P", v}));
        assert_true(tr_counter_value(kids[i]) == i);
    }
    /* NULL children are ignored by updates. */
    tr_counter_inc(NULL);
    tr_gauge_set(NULL, 1);
    tr_histogram_observe(NULL, 1);
    tr_metrics_registry_destroy(r);
}

struct worker {
    struct tr_counter_vec *vec;
    struct tr_histogram *hist;
    struct tr_gauge *gauge;
    int id;
};

#define THREADS 4
#define ITERS 100000

static void *
hammer(void *arg)
{
    struct worker *w = arg;
    /* Half the threads share a child, half look theirs up each time. */
    struct tr_counter *shared =
        tr_counter_vec_get(w->vec, (const char *[]){"shared"});
    for (int i = 0; i < ITERS; i++) {
        tr_counter_inc(shared);
        tr_counter_add(shared, 0.5);
        char v[8];
        snprintf(v, sizeof(v), "t%d", i % 8);
        tr_counter_inc(tr_counter_vec_get(w->vec, (const char *[]){v}));
        tr_histogram_observe(w->hist, (double)(i % 4));
        tr_gauge_add(w->gauge, 1);
        tr_gauge_add(w->gauge, -1);
    }
    return NULL;
}

static void
test_concurrent_updates(void **state)
{
    struct tr_metrics_registry *r = tr_metrics_registry_create();
    struct tr_err err;
    struct tr_counter_vec *vec = tr_counter_vec_register(
        r, "c_total", "h", (const char *[]){"k"}, 1, &err);
    struct tr_histogram *hist = tr_histogram_register(
        r, "h", "h", (const double[]){0.5, 1.5, 2.5}, 3, &err);
    struct tr_gauge *gauge = tr_gauge_register(r, "g", "h", &err);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){vec, hist, gauge, i};
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    /* Scrape while they run: must not crash or deadlock. */
    for (int i = 0; i < 20; i++) {
        tr_free(expose(r));
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    struct tr_counter *shared =
        tr_counter_vec_get(vec, (const char *[]){"shared"});
    assert_true(tr_counter_value(shared) == THREADS * ITERS * 1.5);
    double total = 0;
    for (int i = 0; i < 8; i++) {
        char v[8];
        snprintf(v, sizeof(v), "t%d", i);
        total += tr_counter_value(tr_counter_vec_get(vec, (const char *[]){v}));
    }
    assert_true(total == THREADS * ITERS);
    assert_int_equal(tr_histogram_count(hist), THREADS * ITERS);
    /* values 0,1,2,3 equally often: sum = 1.5 * count */
    assert_true(tr_histogram_sum(hist) == 1.5 * THREADS * ITERS);
    assert_true(tr_gauge_value(gauge) == 0);

    char *text = expose(r);
    char line[128];
    snprintf(line, sizeof(line), "h_bucket{le=\"0.5\"} %d\n",
             THREADS * ITERS / 4);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof(line), "h_bucket{le=\"2.5\"} %d\n",
             THREADS * ITERS / 4 * 3);
    assert_non_null(strstr(text, line));
    assert_non_null(strstr(text, "h_bucket{le=\"+Inf\"} 400000\n"));
    assert_non_null(strstr(text, "h_count 400000\n"));
    tr_free(text);
    tr_metrics_registry_destroy(r);
}

static double
answer(void *arg)
{
    return *(double *)arg;
}

static void
test_callbacks_and_process(void **state)
{
    struct tr_metrics_registry *r = tr_metrics_registry_create();
    struct tr_err err;
    double v = 42;
    assert_int_equal(
        tr_gauge_func_register(r, "q_value", "h", answer, &v, &err), TR_OK);
    /* idempotent for the same kind, error for another */
    assert_int_equal(
        tr_gauge_func_register(r, "q_value", "h", answer, &v, &err), TR_OK);
    assert_int_equal(
        tr_counter_func_register(r, "q_value", "h", answer, &v, &err),
        TR_EINVAL);
    assert_int_equal(tr_metrics_register_process(r, &err), TR_OK);
    assert_int_equal(tr_metrics_register_process(r, &err), TR_OK);
    v = 7;
    char *text = expose(r);
    assert_non_null(strstr(text, "# TYPE q_value gauge\nq_value 7\n"));
    assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    const char *names[] = {"\nprocess_resident_memory_bytes ",
                           "\nprocess_virtual_memory_bytes ",
                           "\nprocess_open_fds ",
                           "\nprocess_max_fds ",
                           "\nprocess_start_time_seconds ",
                           "\ntr_mem_bytes "};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = strstr(text, names[i]);
        assert_non_null(p);
        double x = strtod(p + strlen(names[i]), NULL);
        assert_true(x > 0);
    }
    /* the start time is recent (within a day of now) */
    char *p = strstr(text, "\nprocess_start_time_seconds ");
    double start = strtod(p + strlen("\nprocess_start_time_seconds "), NULL);
    assert_true(fabs(start - (double)time(NULL)) < 86400);
    tr_free(text);
    tr_metrics_registry_destroy(r);

    /* The default registry exists once and has the process metrics. */
    struct tr_metrics_registry *d = tr_metrics_default();
    assert_ptr_equal(d, tr_metrics_default());
    text = expose(d);
    assert_non_null(strstr(text, "process_open_fds "));
    tr_free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition_text),
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_callbacks_and_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
