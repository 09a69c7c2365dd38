/*
 * Tests for lib/promapi: Prometheus HTTP API parameter parsing (times,
 * durations, U__ names) with Prometheus's messages, and response bodies
 * compared byte for byte with what Prometheus 2.42 writes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "json/writer.h"
#include "promapi/params.h"
#include "promapi/response.h"
#include "tsdb/labels.h"

static int64_t
time_ok(const char *s)
{
    int64_t ms = 0;
    struct tr_err err;
    int rc = tr_promapi_parse_time(s, &ms, &err);
    if (rc != TR_OK) {
        fail_msg("parse_time(%s): %s", s, err.msg);
    }
    return ms;
}

static void
test_parse_time(void **state)
{
    assert_int_equal(time_ok("4"), 4000);
    assert_int_equal(time_ok("1700000000.123"), INT64_C(1700000000123));
    /* Fractions round to the millisecond like Prometheus. */
    assert_int_equal(time_ok("1.0006"), 1001);
    assert_int_equal(time_ok("1.0004"), 1000);
    assert_int_equal(time_ok("-1.5"), -1500);
    assert_int_equal(time_ok("1e3"), 1000000);
    assert_int_equal(time_ok("2023-11-14T22:13:20Z"), INT64_C(1700000000000));
    assert_int_equal(time_ok("2023-11-14T22:13:20.5Z"), INT64_C(1700000000500));
    assert_int_equal(time_ok("2023-11-14T23:13:20.1239+01:00"),
                     INT64_C(1700000000123));
    assert_true(time_ok("-292273086-05-16T16:47:06Z") ==
                TR_PROMAPI_MIN_TIME_MS);
    assert_true(time_ok("292277025-08-18T07:12:54.999999999Z") ==
                TR_PROMAPI_MAX_TIME_MS);

    struct tr_err err;
    int64_t ms;
    assert_int_equal(tr_promapi_parse_time("foo", &ms, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot parse \"foo\" to a valid timestamp");
    assert_int_equal(tr_promapi_parse_time("", &ms, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot parse \"\" to a valid timestamp");
    assert_int_equal(tr_promapi_parse_time(" 1", &ms, &err), TR_EINVAL);
    assert_int_equal(tr_promapi_parse_time("NaN", &ms, &err), TR_EINVAL);
}

static void
test_time_param(void **state)
{
    struct tr_err err;
    int64_t ms = 0;
    assert_int_equal(tr_promapi_time_param(NULL, "time", 42, &ms, &err), TR_OK);
    assert_int_equal(ms, 42);
    assert_int_equal(tr_promapi_time_param("", "start", 7, &ms, &err), TR_OK);
    assert_int_equal(ms, 7);
    assert_int_equal(tr_promapi_time_param("10", "end", 7, &ms, &err), TR_OK);
    assert_int_equal(ms, 10000);
    assert_int_equal(tr_promapi_time_param("x\"y", "time", 0, &ms, &err),
                     TR_EINVAL);
    assert_string_equal(err.msg,
                        "invalid parameter \"time\": Invalid time value for "
                        "'time': cannot parse \"x\\\"y\" to a valid "
                        "timestamp");
}

static void
test_parse_duration(void **state)
{
    struct tr_err err;
    int64_t ns;
    assert_int_equal(tr_promapi_parse_duration("15", &ns, &err), TR_OK);
    assert_int_equal(ns, INT64_C(15000000000));
    assert_int_equal(tr_promapi_parse_duration("0.5", &ns, &err), TR_OK);
    assert_int_equal(ns, INT64_C(500000000));
    assert_int_equal(tr_promapi_parse_duration("-1", &ns, &err), TR_OK);
    assert_int_equal(ns, -INT64_C(1000000000));
    assert_int_equal(tr_promapi_parse_duration("0", &ns, &err), TR_OK);
    assert_int_equal(ns, 0);
    assert_int_equal(tr_promapi_parse_duration("5m", &ns, &err), TR_OK);
    assert_int_equal(ns, INT64_C(300000000000));
    assert_int_equal(tr_promapi_parse_duration("1h30m", &ns, &err), TR_OK);
    assert_int_equal(ns, INT64_C(5400000000000));
    assert_int_equal(tr_promapi_parse_duration("abc", &ns, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot parse \"abc\" to a valid duration");
    assert_int_equal(tr_promapi_parse_duration("", &ns, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot parse \"\" to a valid duration");
    assert_int_equal(tr_promapi_parse_duration("1e300", &ns, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot parse \"1e300\" to a valid "
                                 "duration. It overflows int64");

    tr_err_set(&err, TR_EINVAL, "cannot parse \"x\" to a valid duration");
    assert_int_equal(tr_promapi_invalid_param(&err, "step"), TR_EINVAL);
    assert_string_equal(err.msg, "invalid parameter \"step\": cannot parse "
                                 "\"x\" to a valid duration");
}

static void
unescape_is(const char *in, const char *want)
{
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_promapi_unescape_name(in, strlen(in), &b), TR_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    tr_buf_fini(&b);
}

static void
test_unescape_name(void **state)
{
    unescape_is("job", "job");
    unescape_is("__name__", "__name__");
    unescape_is("U__my_2e_label", "my.label");
    unescape_is("U__a__b", "a_b");
    unescape_is("U__http_2e_status__code", "http.status_code");
    unescape_is("U___1f600_", "\xf0\x9f\x98\x80");
    unescape_is("U__", "");
    /* Malformed escapes leave the name as it was. */
    unescape_is("U__a_", "U__a_");
    unescape_is("U__a_zz_", "U__a_zz_");
    unescape_is("U__a_d800_", "U__a_d800_");
    unescape_is("U__a_1234567_", "U__a_1234567_");
    unescape_is("u__a_2e_", "u__a_2e_");
}

static void
test_label_name_valid(void **state)
{
    assert_true(tr_promapi_label_name_valid("job", 3));
    assert_true(tr_promapi_label_name_valid("my.label", 8));
    assert_true(tr_promapi_label_name_valid("\xc3\xa9t\xc3\xa9", 6));
    assert_false(tr_promapi_label_name_valid("", 0));
    assert_false(tr_promapi_label_name_valid("a\xff", 2));
    assert_false(tr_promapi_label_name_valid("\xc0\x80", 2)); /* overlong */
    assert_false(tr_promapi_label_name_valid("\xed\xa0\x80", 3));
    assert_false(tr_promapi_label_name_valid("\xe2\x82", 2));
}

static void
test_errtypes(void **state)
{
    assert_string_equal(tr_promapi_errtype_name(TR_PROMAPI_ERR_BAD_DATA),
                        "bad_data");
    assert_int_equal(tr_promapi_errtype_status(TR_PROMAPI_ERR_BAD_DATA), 400);
    assert_int_equal(tr_promapi_errtype_status(TR_PROMAPI_ERR_EXECUTION), 422);
    assert_int_equal(tr_promapi_errtype_status(TR_PROMAPI_ERR_TIMEOUT), 503);
    assert_int_equal(tr_promapi_errtype_status(TR_PROMAPI_ERR_CANCELED), 499);
    assert_int_equal(tr_promapi_errtype_status(TR_PROMAPI_ERR_INTERNAL), 500);
    assert_int_equal(tr_promapi_errtype_of_code(TR_ELIMIT),
                     TR_PROMAPI_ERR_EXECUTION);
    assert_int_equal(tr_promapi_errtype_of_code(TR_EIO),
                     TR_PROMAPI_ERR_INTERNAL);

    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_promapi_error_body(&b, TR_PROMAPI_ERR_BAD_DATA,
                                           "end timestamp must not be "
                                           "before start time"),
                     TR_OK);
    assert_string_equal(b.data,
                        "{\"status\":\"error\",\"errorType\":\"bad_data\","
                        "\"error\":\"end timestamp must not be before start "
                        "time\"}");
    tr_buf_fini(&b);
}

/* Writes v as a whole success body into a string for comparison. */
static void
body_is(const struct tr_promql_value *v, const struct tr_promapi_stats *st,
        const char *const *warnings, size_t n, const char *want)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    tr_promapi_success_begin(&w);
    tr_promapi_write_query_data(&w, v, st);
    tr_promapi_success_end(&w, warnings, n);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_string_equal(b.data, want);
    tr_buf_fini(&b);
}

static void
test_scalar_and_string(void **state)
{
    struct tr_promql_value v = {.type = TR_PROMQL_TYPE_SCALAR};
    v.u.scalar.t = 4000;
    v.u.scalar.v = 2;
    body_is(&v, NULL, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
            "\"result\":[4,\"2\"]}}");
    v.u.scalar.t = 1500;
    v.u.scalar.v = NAN;
    body_is(&v, NULL, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
            "\"result\":[1.500,\"NaN\"]}}");
    v.u.scalar.v = -INFINITY;
    const char *warn[] = {"a warning"};
    body_is(&v, NULL, warn, 1,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
            "\"result\":[1.500,\"-Inf\"]},\"warnings\":[\"a warning\"]}");

    struct tr_promql_value s = {.type = TR_PROMQL_TYPE_STRING};
    s.u.string.t = 1700000000123;
    s.u.string.data = "a\"b";
    s.u.string.len = 3;
    body_is(&s, NULL, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"string\","
            "\"result\":[1700000000.123,\"a\\\"b\"]}}");
}

static const struct tr_label up_job[] = {
    {"__name__", 8, "up", 2},
    {"job", 3, "api", 3},
};

static void
test_vector_and_matrix(void **state)
{
    struct tr_promql_sample samples[2] = {
        {{up_job, 2}, 10000, 1},
        {{NULL, 0}, 10000, 0.1},
    };
    struct tr_promql_value v = {.type = TR_PROMQL_TYPE_VECTOR};
    v.u.vector.samples = samples;
    v.u.vector.n = 2;
    body_is(&v, NULL, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
            "\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"api\"},"
            "\"value\":[10,\"1\"]},{\"metric\":{},\"value\":[10,\"0.1\"]}]}}");
    v.u.vector.n = 0;
    body_is(&v, NULL, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
            "\"result\":[]}}");

    struct tr_promql_point pts[3] = {{1000, 1e21}, {2001, 1e-7}, {3000, -0.0}};
    struct tr_promql_series series = {{up_job, 2}, pts, 3};
    struct tr_promql_value m = {.type = TR_PROMQL_TYPE_MATRIX};
    m.u.matrix.series = &series;
    m.u.matrix.n = 1;
    body_is(&m, NULL, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
            "\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"api\"},"
            "\"values\":[[1,\"1e+21\"],[2.001,\"1e-07\"],[3,\"-0\"]]}]}}");

    struct tr_promapi_stats st = {
        .eval_total_ns = 1500000000,
        .prepare_ns = 500000000,
        .total_queryable_samples = 12,
        .peak_samples = 3,
    };
    m.u.matrix.n = 0;
    body_is(&m, &st, NULL, 0,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
            "\"result\":[],\"stats\":{\"timings\":{\"evalTotalTime\":1.5,"
            "\"resultSortTime\":0,\"queryPreparationTime\":0.5,"
            "\"innerEvalTime\":1,\"execQueueTime\":0,\"execTotalTime\":1.5},"
            "\"samples\":{\"totalQueryableSamples\":12,\"peakSamples\":3}}}}");
}

/* Points of a matrix are written in one piece; they must read exactly as
 * the JSON writer's timestamp and Prometheus value would write them. */
static void
test_matrix_points_match_writer(void **state)
{
    static const int64_t ts[] = {0,
                                 1,
                                 999,
                                 1000,
                                 1500,
                                 -1,
                                 -1500,
                                 -2000,
                                 INT64_C(1700000000123),
                                 INT64_MAX,
                                 INT64_MIN + 1};
    static const double vs[] = {
        0,       -0.0,       1,        0.1,
        1e-7,    -2.5e-7,    1e21,     1e20,
        -1e22,   NAN,        INFINITY, -INFINITY,
        1.0 / 3, 123456.789, 5e-324,   1.7976931348623157e308};
    size_t n = sizeof(ts) / sizeof(ts[0]) * (sizeof(vs) / sizeof(vs[0]));
    struct tr_promql_point *pts = calloc(n, sizeof(*pts));
    assert_non_null(pts);
    size_t k = 0;
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        for (size_t j = 0; j < sizeof(vs) / sizeof(vs[0]); j++) {
            pts[k++] = (struct tr_promql_point){ts[i], vs[j]};
        }
    }
    struct tr_promql_series series = {{up_job, 2}, pts, n};
    struct tr_promql_value v = {.type = TR_PROMQL_TYPE_MATRIX};
    v.u.matrix.series = &series;
    v.u.matrix.n = 1;

    struct tr_buf want = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &want);
    tr_json_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        tr_json_array_begin(&w);
        tr_json_unix_ms(&w, pts[i].t);
        tr_json_prom_value(&w, pts[i].v);
        tr_json_array_end(&w);
    }
    tr_json_array_end(&w);
    assert_int_equal(tr_json_finish(&w), TR_OK);

    struct tr_buf got = TR_BUF_INIT;
    tr_json_init(&w, &got);
    tr_promapi_write_query_data(&w, &v, NULL);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    const char *values = strstr(got.data, "\"values\":");
    assert_non_null(values);
    values += strlen("\"values\":");
    assert_true(strlen(values) == want.len + 3); /* plus "}]}" */
    assert_memory_equal(values, want.data, want.len);
    tr_buf_fini(&want);
    tr_buf_fini(&got);
    free(pts);
}

static void
test_tr_labels_object(void **state)
{
    const char *kv[] = {"job", "a\nb", "__name__", "up"};
    struct tr_labels *ls;
    assert_int_equal(tr_labels_from_strings(kv, 2, &ls, NULL), TR_OK);
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    tr_promapi_write_tr_labels(&w, ls);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_string_equal(b.data, "{\"__name__\":\"up\",\"job\":\"a\\nb\"}");
    tr_buf_fini(&b);
    tr_labels_destroy(ls);
}

static void
test_html_escaping(void **state)
{
    /* Prometheus's encoder escapes <, >, & and U+2028/9 like Go. */
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    const char s[] = "a<b>&\"\n\xe2\x80\xa8\xe2\x80\xa9\xe2\x82\xac";
    tr_json_init(&w, &b);
    tr_json_array_begin(&w);
    tr_promapi_write_string(&w, s, sizeof(s) - 1);
    tr_promapi_write_string(&w, "plain", 5);
    tr_json_array_end(&w);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_string_equal(b.data, "[\"a\\u003cb\\u003e\\u0026\\\"\\n"
                                "\\u2028\\u2029\xe2\x82\xac\",\"plain\"]");
    tr_buf_reset(&b);
    assert_int_equal(tr_promapi_error_body(&b, TR_PROMAPI_ERR_BAD_DATA,
                                           "1:4: parse error: unexpected "
                                           "<op:+>"),
                     TR_OK);
    assert_string_equal(b.data, "{\"status\":\"error\",\"errorType\":"
                                "\"bad_data\",\"error\":\"1:4: parse error: "
                                "unexpected \\u003cop:+\\u003e\"}");
    tr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_time_param),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_unescape_name),
        cmocka_unit_test(test_label_name_valid),
        cmocka_unit_test(test_errtypes),
        cmocka_unit_test(test_scalar_and_string),
        cmocka_unit_test(test_vector_and_matrix),
        cmocka_unit_test(test_matrix_points_match_writer),
        cmocka_unit_test(test_tr_labels_object),
        cmocka_unit_test(test_html_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
