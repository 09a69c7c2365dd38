/*
 * Distributor validation, tenant ids, rate limiting and series routing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "distributor_internal.h"
#include "prometheus/remote.pb-c.h"

#define NOW_MS INT64_C(1700000000000)

static const struct distributor_limits limits = {
    .max_label_names = 5,
    .max_name_len = 16,
    .max_value_len = 32,
    .max_metadata_len = 64,
    .grace_ms = 10 * 60 * 1000,
    .max_age_ms = 3600 * 1000,
};

/* A series from "name", "value", ... pairs (NULL-terminated) with nsamples
 * samples at t0, t0+1000, ... */
static Prometheus__TimeSeries *
series(struct tr_arena *a, int64_t t0, size_t nsamples, ...)
{
    Prometheus__TimeSeries *ts = tr_arena_calloc(a, 1, sizeof(*ts));
    prometheus__time_series__init(ts);
    ts->labels = tr_arena_calloc(a, 32, sizeof(*ts->labels));
    va_list ap;
    va_start(ap, nsamples);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        Prometheus__Label *l = tr_arena_calloc(a, 1, sizeof(*l));
        prometheus__label__init(l);
        l->name = (char *)name;
        l->value = (char *)va_arg(ap, const char *);
        ts->labels[ts->n_labels++] = l;
    }
    va_end(ap);
    ts->samples = tr_arena_calloc(a, nsamples + 1, sizeof(*ts->samples));
    for (size_t i = 0; i < nsamples; i++) {
        Prometheus__Sample *s = tr_arena_calloc(a, 1, sizeof(*s));
        prometheus__sample__init(s);
        s->timestamp = t0 + (int64_t)i * 1000;
        s->value = (double)i;
        ts->samples[ts->n_samples++] = s;
    }
    return ts;
}

static Prometheus__WriteRequest *
request(struct tr_arena *a, Prometheus__TimeSeries **list, size_t n)
{
    Prometheus__WriteRequest *r = tr_arena_calloc(a, 1, sizeof(*r));
    prometheus__write_request__init(r);
    r->timeseries = tr_arena_calloc(a, n + 1, sizeof(*r->timeseries));
    memcpy(r->timeseries, list, n * sizeof(*list));
    r->n_timeseries = n;
    return r;
}

/* The request as the distributor sees it: packed by protobuf-c (as a
 * sender would), decoded by lib/prompb into f. The bytes are kept in the
 * arena, which f points into. */
static struct tr_prompb_request *
flat(struct tr_arena *a, const Prometheus__WriteRequest *r)
{
    size_t len = prometheus__write_request__get_packed_size(r);
    uint8_t *b = tr_arena_alloc(a, len + 1);
    prometheus__write_request__pack(r, b);
    struct tr_prompb_request *f = tr_arena_calloc(a, 1, sizeof(*f));
    assert_int_equal(tr_prompb_decode(f, TR_PROMPB_WRITE_REQUEST, b, len, NULL),
                     TR_OK);
    return f;
}

/* The value of label i of series s of f, NUL-terminated in the arena. */
static const char *
label_value(struct tr_arena *a, const struct tr_prompb_request *f, size_t s,
            size_t i)
{
    const struct tr_label *l = &f->labels[f->series[s].labels + i];
    return tr_arena_strndup(a, l->value, l->value_len);
}

static const char *
label_name(struct tr_arena *a, const struct tr_prompb_request *f, size_t s,
           size_t i)
{
    const struct tr_label *l = &f->labels[f->series[s].labels + i];
    return tr_arena_strndup(a, l->name, l->name_len);
}

/* Validates a request holding one good series and `bad`, and checks that
 * the good one survives and bad is refused for `reason` with a message
 * containing `text`. */
static void
expect_refused(Prometheus__TimeSeries *bad, enum distributor_reason reason,
               const char *text, struct tr_arena *a)
{
    Prometheus__TimeSeries *list[2] = {
        series(a, NOW_MS, 2, "__name__", "good", "job", "a", NULL), bad};
    struct tr_prompb_request *r = flat(a, request(a, list, 2));
    struct distributor_report rep = {0};
    int64_t bad_samples = (int64_t)bad->n_samples;
    distributor_validate(r, &limits, NOW_MS, &rep);
    assert_int_equal(r->nseries, 1);
    assert_string_equal(label_value(a, r, 0, 0), "good");
    assert_non_null(r->series[0].raw); /* unchanged: copied as it came */
    assert_int_equal(rep.samples_ok, 2);
    assert_int_equal(rep.discarded[reason], bad_samples);
    assert_int_equal(rep.nerrors, 1);
    tr_buf_append_byte(&rep.errors, '\0');
    if (strstr(rep.errors.data, text) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", rep.errors.data, text);
    }
    distributor_report_fini(&rep);
    tr_prompb_request_fini(r);
}

static void
test_label_rules(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    expect_refused(series(a, NOW_MS, 1, "job", "x", NULL),
                   REASON_MISSING_METRIC_NAME, "missing metric name", a);
    expect_refused(series(a, NOW_MS, 2, "__name__", "1up", NULL),
                   REASON_INVALID_METRIC_NAME, "invalid metric name \"1up\"",
                   a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "a-b", "x", NULL),
                   REASON_INVALID_LABEL, "invalid label name \"a-b\"", a);
    expect_refused(
        series(a, NOW_MS, 1, "__name__", "up", "job", "a", "job", "b", NULL),
        REASON_DUPLICATE_LABEL_NAMES, "duplicate label name \"job\"", a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "a", "1", "b", "1",
                          "c", "1", "d", "1", "e", "1", NULL),
                   REASON_MAX_LABEL_NAMES, "6 labels, more than the limit of 5",
                   a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up",
                          "a_very_long_label_name", "x", NULL),
                   REASON_LABEL_NAME_TOO_LONG, "limits.max_label_name_length",
                   a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "v",
                          "0123456789012345678901234567890123456789", NULL),
                   REASON_LABEL_VALUE_TOO_LONG, "limits.max_label_value_length",
                   a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "v", "a\xff", NULL),
                   REASON_INVALID_LABEL_VALUE, "not valid UTF-8", a);
    /* Past the 8-byte ASCII fast path too. */
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "v",
                          "abcdefghijklmnop\xc3", NULL),
                   REASON_INVALID_LABEL_VALUE, "not valid UTF-8", a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "v",
                          "abcdefgh\xed\xa0\x80", NULL),
                   REASON_INVALID_LABEL_VALUE, "not valid UTF-8", a);
    expect_refused(series(a, NOW_MS, 1, "__name__", "up", "v",
                          "abcdefghijklmnop\xc3\xbc", "9", "x", NULL),
                   REASON_INVALID_LABEL, "invalid label name \"9\"", a);
    tr_arena_destroy(a);
}

static void
test_time_rules(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    expect_refused(
        series(a, NOW_MS - 2 * 3600 * 1000, 3, "__name__", "old", NULL),
        REASON_TOO_OLD, "too old", a);
    expect_refused(series(a, NOW_MS + 3600 * 1000, 2, "__name__", "new", NULL),
                   REASON_TOO_FAR_IN_FUTURE, "too far in the future", a);

    /* Within one series only the bad samples go. */
    Prometheus__TimeSeries *ts =
        series(a, NOW_MS + 10 * 60 * 1000 - 1000, 3, "__name__", "x", NULL);
    struct tr_prompb_request *r = flat(a, request(a, &ts, 1));
    struct distributor_report rep = {0};
    distributor_validate(r, &limits, NOW_MS, &rep);
    assert_int_equal(r->nseries, 1);
    assert_int_equal(r->series[0].nsamples, 2);
    assert_int_equal(rep.discarded[REASON_TOO_FAR_IN_FUTURE], 1);
    distributor_report_fini(&rep);
    tr_prompb_request_fini(r);
    tr_arena_destroy(a);
}

static void
test_sorts_and_drops_empty(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    Prometheus__TimeSeries *ts =
        series(a, NOW_MS, 1, "zone", "eu", "job", "api", "empty", "",
               "__name__", "up", NULL);
    struct tr_prompb_request *r = flat(a, request(a, &ts, 1));
    struct distributor_report rep = {0};
    distributor_validate(r, &limits, NOW_MS, &rep);
    assert_int_equal(rep.nerrors, 0);
    assert_int_equal(r->series[0].nlabels, 3);
    assert_string_equal(label_name(a, r, 0, 0), "__name__");
    assert_string_equal(label_name(a, r, 0, 1), "job");
    assert_string_equal(label_name(a, r, 0, 2), "zone");
    assert_string_equal(label_value(a, r, 0, 2), "eu");
    assert_null(r->series[0].raw); /* changed: not copied as it came */
    distributor_report_fini(&rep);
    tr_prompb_request_fini(r);
    tr_arena_destroy(a);
}

static void
test_histograms_dropped_floats_kept(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    Prometheus__TimeSeries *ts = series(a, NOW_MS, 2, "__name__", "h", NULL);
    Prometheus__Histogram *h = tr_arena_calloc(a, 1, sizeof(*h));
    prometheus__histogram__init(h);
    ts->histograms = tr_arena_calloc(a, 1, sizeof(*ts->histograms));
    ts->histograms[0] = h;
    ts->n_histograms = 1;
    struct tr_prompb_request *r = flat(a, request(a, &ts, 1));
    struct distributor_report rep = {0};
    distributor_validate(r, &limits, NOW_MS, &rep);
    assert_int_equal(r->nseries, 1);
    assert_int_equal(r->series[0].nhistograms, 0);
    assert_int_equal(rep.samples_ok, 2);
    assert_int_equal(rep.discarded[REASON_NATIVE_HISTOGRAM], 1);
    tr_buf_append_byte(&rep.errors, '\0');
    assert_non_null(strstr(rep.errors.data, "native histograms are not "
                                            "supported"));
    distributor_report_fini(&rep);
    tr_prompb_request_fini(r);
    tr_arena_destroy(a);
}

static void
test_metadata_and_exemplars(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    Prometheus__TimeSeries *ts = series(a, NOW_MS, 1, "__name__", "c", NULL);
    ts->exemplars = tr_arena_calloc(a, 2, sizeof(*ts->exemplars));
    for (int i = 0; i < 2; i++) {
        Prometheus__Exemplar *ex = tr_arena_calloc(a, 1, sizeof(*ex));
        prometheus__exemplar__init(ex);
        ex->labels = tr_arena_calloc(a, 1, sizeof(*ex->labels));
        Prometheus__Label *l = tr_arena_calloc(a, 1, sizeof(*l));
        prometheus__label__init(l);
        l->name = i == 0 ? "trace_id" : "bad-name";
        l->value = "abc";
        ex->labels[0] = l;
        ex->n_labels = 1;
        ex->timestamp = NOW_MS;
        ts->exemplars[ts->n_exemplars++] = ex;
    }
    Prometheus__WriteRequest *w = request(a, &ts, 1);
    w->metadata = tr_arena_calloc(a, 2, sizeof(*w->metadata));
    for (int i = 0; i < 2; i++) {
        Prometheus__MetricMetadata *m = tr_arena_calloc(a, 1, sizeof(*m));
        prometheus__metric_metadata__init(m);
        m->metric_family_name = i == 0 ? "c" : "";
        w->metadata[w->n_metadata++] = m;
    }
    struct tr_prompb_request *r = flat(a, w);
    struct distributor_report rep = {0};
    distributor_validate(r, &limits, NOW_MS, &rep);
    assert_int_equal(rep.exemplars_ok, 1);
    assert_int_equal(rep.exemplars_dropped, 1);
    assert_int_equal(rep.metadata_ok, 1);
    assert_int_equal(rep.metadata_dropped, 1);
    assert_int_equal(r->nmetadata, 1);
    assert_int_equal(r->series[0].nexemplars, 1);
    assert_int_equal(
        r->exemplar_labels[r->exemplars[r->series[0].exemplars].labels]
            .name_len,
        8);
    assert_int_equal(rep.nerrors, 2);
    distributor_report_fini(&rep);
    tr_prompb_request_fini(r);
    tr_arena_destroy(a);
}

static void
test_name_rules(void **state)
{
    assert_true(distributor_valid_label_name("_a1", 3));
    assert_false(distributor_valid_label_name("1a", 2));
    assert_false(distributor_valid_label_name("a:b", 3));
    assert_false(distributor_valid_label_name("", 0));
    assert_true(distributor_valid_metric_name("a:b_c", 5));
    assert_true(distributor_valid_metric_name(":a", 2));
    assert_false(distributor_valid_metric_name("a.b", 3));
    assert_false(distributor_valid_metric_name("1a", 2));
    assert_true(distributor_valid_metric_name("node_cpu_seconds_total9", 23));
    assert_false(distributor_valid_label_name("ab\xc3\xbc", 4));
    assert_false(distributor_valid_metric_name("", 0));
}

static void
test_ratelimit(void **state)
{
    struct distributor_ratelimit *rl = distributor_ratelimit_create(100, 200);
    int64_t t = 1000 * TR_NS_PER_SEC;
    assert_true(distributor_ratelimit_allow(rl, "a", 150, t));
    assert_false(distributor_ratelimit_allow(rl, "a", 100, t));
    assert_true(distributor_ratelimit_allow(rl, "b", 200, t)); /* own bucket */
    assert_false(
        distributor_ratelimit_allow(rl, "b", 201, t + 100 * TR_NS_PER_SEC));
    /* After one second, 100 more tokens: 150 banked. */
    assert_true(distributor_ratelimit_allow(rl, "a", 140, t + TR_NS_PER_SEC));
    assert_false(distributor_ratelimit_allow(rl, "a", 20, t + TR_NS_PER_SEC));
    distributor_ratelimit_destroy(rl);

    rl = distributor_ratelimit_create(0, 0);
    assert_true(distributor_ratelimit_allow(rl, "a", 1000000000, t));
    distributor_ratelimit_destroy(rl);
}

static void
test_routing(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    const struct tr_label ls[] = {{"__name__", 8, "up", 2}, {"job", 3, "x", 1}};
    const struct tr_label other[] = {{"__name__", 8, "up", 2},
                                     {"job", 3, "y", 1}};
    uint64_t k1 = distributor_routing_key("t1", ls, 2);
    uint64_t k1b = distributor_routing_key("t1", ls, 2);
    uint64_t k2 = distributor_routing_key("t2", ls, 2);
    uint64_t k3 = distributor_routing_key("t1", other, 2);
    assert_int_equal(k1, k1b);
    assert_true(k1 != k2);
    assert_true(k1 != k3);

    /* Rendezvous: spread over members; losing one moves only its keys. */
    bool usable[4] = {true, true, true, true};
    size_t hits[4] = {0};
    size_t before[1000];
    for (uint64_t k = 0; k < 1000; k++) {
        size_t out[1];
        assert_int_equal(distributor_pick(k * 7919, usable, 4, 1, out), 1);
        before[k] = out[0];
        hits[out[0]]++;
    }
    for (int i = 0; i < 4; i++) {
        assert_true(hits[i] > 150);
    }
    usable[2] = false;
    for (uint64_t k = 0; k < 1000; k++) {
        size_t out[3];
        assert_int_equal(distributor_pick(k * 7919, usable, 4, 3, out), 3);
        if (before[k] != 2) {
            assert_int_equal(out[0], before[k]);
        }
        assert_true(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
    }
    tr_arena_destroy(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_rules),
        cmocka_unit_test(test_time_rules),
        cmocka_unit_test(test_sorts_and_drops_empty),
        cmocka_unit_test(test_histograms_dropped_floats_kept),
        cmocka_unit_test(test_metadata_and_exemplars),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_routing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
