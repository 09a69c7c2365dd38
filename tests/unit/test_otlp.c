/*
 * Unit tests for lib/otlp translation of metrics into Prometheus series
 * (names, labels, values, timestamps per metric kind, target_info,
 * exemplars, stale markers, dropped points and their messages), the naming
 * rules and the export responses.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "otlp/decode.h"
#include "otlp/metrics.h"
#include "otlp/naming.h"
#include "otlp/response.h"

/* 2023-11-14T22:13:20Z in ns and ms. */
#define T0_NS "1700000000000000000"
#define T0_MS INT64_C(1700000000000)

static int
setup(void **state)
{
    *state = tr_arena_create(0);
    return *state == NULL;
}

static int
teardown(void **state)
{
    tr_arena_destroy(*state);
    return 0;
}

/* Decodes OTLP JSON and translates it; fails the test on error. */
static void
translate_json(struct tr_arena *a, const char *json,
               const struct tr_otlp_metrics_opts *opts,
               struct tr_otlp_metrics_result *res)
{
    tr_otlp_metrics_request *req = NULL;
    struct tr_err err;

    tr_err_clear(&err);
    if (tr_otlp_metrics_decode(a, TR_OTLP_JSON, json, strlen(json), &req,
                               &err) != TR_OK) {
        fail_msg("decode: %s", err.msg);
    }
    if (tr_otlp_metrics_translate(a, req, opts, res, &err) != TR_OK) {
        fail_msg("translate: %s", err.msg);
    }
    assert_non_null(res->write);
}

/* "name{a=\"1\",b=\"2\"}" for a series (labels in their stored order). */
static void
series_text(const Prometheus__TimeSeries *ts, char *out, size_t size)
{
    const char *name = "";
    size_t n = 0;
    bool first = true;

    for (size_t i = 0; i < ts->n_labels; i++) {
        if (strcmp(ts->labels[i]->name, "__name__") == 0) {
            name = ts->labels[i]->value;
        }
    }
    n += (size_t)snprintf(out + n, size - n, "%s{", name);
    for (size_t i = 0; i < ts->n_labels && n < size; i++) {
        if (strcmp(ts->labels[i]->name, "__name__") == 0) {
            continue;
        }
        n +=
            (size_t)snprintf(out + n, size - n, "%s%s=\"%s\"", first ? "" : ",",
                             ts->labels[i]->name, ts->labels[i]->value);
        first = false;
    }
    if (n < size) {
        snprintf(out + n, size - n, "}");
    }
}

static const Prometheus__TimeSeries *
find_series(const Prometheus__WriteRequest *wr, const char *want)
{
    char text[1024];

    for (size_t i = 0; i < wr->n_timeseries; i++) {
        series_text(wr->timeseries[i], text, sizeof(text));
        if (strcmp(text, want) == 0) {
            return wr->timeseries[i];
        }
    }
    return NULL;
}

/* The series must exist and hold exactly one sample (value, ts). */
static const Prometheus__TimeSeries *
check_one(const Prometheus__WriteRequest *wr, const char *want, double value,
          int64_t ts)
{
    const Prometheus__TimeSeries *s = find_series(wr, want);

    if (s == NULL) {
        char text[1024];

        for (size_t i = 0; i < wr->n_timeseries; i++) {
            series_text(wr->timeseries[i], text, sizeof(text));
            print_message("  have %s\n", text);
        }
        fail_msg("no series %s", want);
    }
    assert_int_equal(s->n_samples, 1);
    if (isnan(value)) {
        assert_true(isnan(s->samples[0]->value));
    } else if (s->samples[0]->value != value) {
        fail_msg("%s: value %g, want %g", want, s->samples[0]->value, value);
    }
    assert_int_equal(s->samples[0]->timestamp, ts);
    return s;
}

static void
check_sorted_unique(const Prometheus__WriteRequest *wr)
{
    for (size_t i = 0; i < wr->n_timeseries; i++) {
        const Prometheus__TimeSeries *s = wr->timeseries[i];

        for (size_t j = 1; j < s->n_labels; j++) {
            assert_true(strcmp(s->labels[j - 1]->name, s->labels[j]->name) < 0);
        }
    }
}

static const Prometheus__MetricMetadata *
find_meta(const Prometheus__WriteRequest *wr, const char *family)
{
    for (size_t i = 0; i < wr->n_metadata; i++) {
        if (strcmp(wr->metadata[i]->metric_family_name, family) == 0) {
            return wr->metadata[i];
        }
    }
    fail_msg("no metadata for %s", family);
    return NULL;
}

/* ---- naming --------------------------------------------------------- */

static void
check_name(const char *name, const char *unit, enum tr_otlp_name_kind kind,
           bool suffixes, const char *want)
{
    struct tr_arena *a = tr_arena_create(0);
    bool invalid = false;
    char *got = tr_otlp_metric_name(a, name, unit, kind, suffixes, &invalid);

    if (want == NULL) {
        assert_null(got);
        assert_true(invalid);
    } else if (got == NULL || strcmp(got, want) != 0) {
        fail_msg("metric name(%s, %s) = %s, want %s", name, unit,
                 got ? got : "NULL", want);
    }
    tr_arena_destroy(a);
}

static void
test_metric_names(void **state)
{
    const enum tr_otlp_name_kind G = TR_OTLP_NAME_GAUGE,
                                 C = TR_OTLP_NAME_COUNTER,
                                 U = TR_OTLP_NAME_UPDOWN_COUNTER,
                                 H = TR_OTLP_NAME_HISTOGRAM,
                                 S = TR_OTLP_NAME_SUMMARY;

    check_name("http.server.request.duration", "s", H, true,
               "http_server_request_duration_seconds");
    check_name("requests", "", C, true, "requests_total");
    check_name("requests_total", "", C, true, "requests_total");
    check_name("total.requests", "", C, true, "requests_total");
    check_name("cpu_usage", "1", G, true, "cpu_usage_ratio");
    check_name("cpu_usage_ratio", "1", G, true, "cpu_usage_ratio");
    check_name("items", "1", C, true, "items_total");
    check_name("response_time", "ms", S, true, "response_time_milliseconds");
    check_name("memory.usage", "By", G, true, "memory_usage_bytes");
    check_name("mem", "KiBy", G, true, "mem_kibibytes");
    check_name("temp", "Cel", G, true, "temp_celsius");
    check_name("util", "%", G, true, "util_percent");
    check_name("requests", "1/s", G, true, "requests_per_second");
    check_name("requests", "1/s", C, true, "requests_per_second_total");
    check_name("throughput", "By/s", G, true, "throughput_bytes_per_second");
    check_name("moves", "m/h", G, true, "moves_meters_per_hour");
    check_name("custom_metric", "custom_unit", G, true,
               "custom_metric_custom_unit");
    check_name("custom_metric", "{custom}", G, true, "custom_metric");
    check_name("custom_metric", "By/{custom}", G, true, "custom_metric_bytes");
    check_name("http.requests", "{request}", C, true, "http_requests_total");
    check_name("response_time_seconds", "s", G, true, "response_time_seconds");
    check_name("metric__with__multiple__underscores",
               "unit__multiple__underscores", G, true,
               "metric_with_multiple_underscores_unit_multiple_underscores");
    check_name("custom_metric", "unit@with#special/chars", G, true,
               "custom_metric_unit_with_special_per_chars");
    check_name("active.connections", "", U, true, "active_connections");
    check_name("123_requests", "", C, true, "_123_requests_total");
    check_name("a:b-c", "", G, true, "a:b_c");
    check_name("@#$%", "", G, true, NULL);
    check_name("", "", G, true, NULL);
    /* Like Prometheus, a per-unit already in the name is added again. */
    check_name("io_per_second", "1/s", G, true, "io_per_second_per_second");

    /* Without suffixes: only character escaping. */
    check_name("metric@with#special$chars", "s", G, false,
               "metric_with_special_chars");
    check_name("requests", "1", C, false, "requests");
    check_name("a__b..c", "", G, false, "a__b_c");
    check_name("123metric", "", G, false, "_123metric");
    check_name("@#$%", "", G, false, NULL);
}

static void
check_label(const char *key, bool keep_underscore, const char *want)
{
    struct tr_arena *a = tr_arena_create(0);
    bool invalid = false;
    char *got = tr_otlp_label_name(a, key, keep_underscore, &invalid);

    if (want == NULL) {
        assert_null(got);
        assert_true(invalid);
    } else if (got == NULL || strcmp(got, want) != 0) {
        fail_msg("label name(%s) = %s, want %s", key, got ? got : "NULL", want);
    }
    tr_arena_destroy(a);
}

static void
test_label_names(void **state)
{
    check_label("http.method", false, "http_method");
    check_label("http..method", false, "http_method");
    check_label("a__b", false, "a_b");
    check_label("123invalid", false, "key_123invalid");
    check_label("_private", false, "key_private");
    check_label("_private", true, "_private");
    check_label("__reserved__", false, "__reserved__");
    check_label("__re.se..rved__", false, "__re_se_rved__");
    check_label("caf\xc3\xa9.name", false, "caf_name");
    check_label("", false, NULL);
    check_label("...", false, "key_");
    check_label("...", true, NULL);
}

static void
test_unit_names(void **state)
{
    struct tr_arena *a = *state;

    assert_string_equal(tr_otlp_unit_name(a, "s"), "seconds");
    assert_string_equal(tr_otlp_unit_name(a, "By/s"), "bytes_per_second");
    assert_string_equal(tr_otlp_unit_name(a, "1/s"), "per_second");
    assert_string_equal(tr_otlp_unit_name(a, "1"), "");
    assert_string_equal(tr_otlp_unit_name(a, "{request}"), "");
    assert_string_equal(tr_otlp_unit_name(a, ""), "");
}

/* ---- translation ---------------------------------------------------- */

#define RESOURCE                                                               \
    "\"resource\":{\"attributes\":["                                           \
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"api\"}},"          \
    "{\"key\":\"service.namespace\",\"value\":{\"stringValue\":\"shop\"}},"    \
    "{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"i-1\"}},"   \
    "{\"key\":\"deployment.environment\",\"value\":{\"stringValue\":"          \
    "\"prod\"}}]}"

/* A gauge built with protobuf-c, packed, decoded and translated. */
static void
test_gauge_from_protobuf(void **state)
{
    struct tr_arena *a = *state;
    Opentelemetry__Proto__Common__V1__AnyValue v_svc =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__AnyValue v_host =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__KeyValue kv_svc =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__KeyValue kv_host =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__KeyValue *res_attrs[] = {&kv_svc};
    Opentelemetry__Proto__Common__V1__KeyValue *pt_attrs[] = {&kv_host};
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint p =
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *ps[] = {&p};
    Opentelemetry__Proto__Metrics__V1__Gauge g =
        OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    Opentelemetry__Proto__Metrics__V1__Metric m =
        OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    Opentelemetry__Proto__Metrics__V1__Metric *ms[] = {&m};
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm =
        OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sms[] = {&sm};
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm =
        OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rms[] = {&rm};
    tr_otlp_metrics_request req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    tr_otlp_metrics_request *got = NULL;
    struct tr_otlp_metrics_result res_out;
    const Prometheus__MetricMetadata *md;
    uint8_t *buf;
    size_t len;

    v_svc.value_case =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v_svc.string_value = "api";
    kv_svc.key = "service.name";
    kv_svc.value = &v_svc;
    v_host.value_case =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v_host.int_value = -7;
    kv_host.key = "host.cpu";
    kv_host.value = &v_host;
    res.attributes = res_attrs;
    res.n_attributes = 1;
    p.attributes = pt_attrs;
    p.n_attributes = 1;
    p.time_unix_nano = UINT64_C(1700000000123999999);
    p.value_case =
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    p.as_double = 0.25;
    g.data_points = ps;
    g.n_data_points = 1;
    m.name = "system.cpu.utilization";
    m.unit = "1";
    m.description = "CPU use";
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m.gauge = &g;
    sm.metrics = ms;
    sm.n_metrics = 1;
    rm.resource = &res;
    rm.scope_metrics = sms;
    rm.n_scope_metrics = 1;
    req.resource_metrics = rms;
    req.n_resource_metrics = 1;

    len = protobuf_c_message_get_packed_size(&req.base);
    buf = tr_malloc(len);
    assert_non_null(buf);
    protobuf_c_message_pack(&req.base, buf);
    assert_int_equal(
        tr_otlp_metrics_decode(a, TR_OTLP_PROTOBUF, buf, len, &got, NULL),
        TR_OK);
    tr_free(buf);
    assert_int_equal(tr_otlp_metrics_translate(a, got, NULL, &res_out, NULL),
                     TR_OK);

    /* Only service.name: job, no instance, and no target_info. */
    assert_int_equal(res_out.write->n_timeseries, 1);
    check_one(res_out.write,
              "system_cpu_utilization_ratio{host_cpu=\"-7\",job=\"api\"}", 0.25,
              INT64_C(1700000000123));
    assert_int_equal(res_out.points_converted, 1);
    assert_int_equal(res_out.points_rejected, 0);
    assert_null(res_out.message);
    md = find_meta(res_out.write, "system_cpu_utilization_ratio");
    assert_int_equal(md->type, PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE);
    assert_string_equal(md->help, "CPU use");
    assert_string_equal(md->unit, "1");
}

static void
test_sums_and_target_info(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const Prometheus__TimeSeries *s;
    const char *json =
        "{\"resourceMetrics\":[{" RESOURCE ",\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"http.requests\",\"unit\":\"{request}\",\"sum\":{"
        " \"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":["
        "  "
        "{\"attributes\":[{\"key\":\"code\",\"value\":{\"intValue\":\"200\"}}],"
        "   \"timeUnixNano\":\"" T0_NS "\",\"asInt\":\"17\","
        "   \"exemplars\":[{\"timeUnixNano\":\"1699999999500000000\","
        "    \"asInt\":\"1\",\"traceId\":\"5b8efff798038103d269b633813fc60c\","
        "    \"spanId\":\"eee19b7ec3c1b174\",\"filteredAttributes\":["
        "    {\"key\":\"user\",\"value\":{\"stringValue\":\"bob\"}}]}]},"
        "  "
        "{\"attributes\":[{\"key\":\"code\",\"value\":{\"intValue\":\"200\"}}],"
        "   \"timeUnixNano\":\"1700000015000000000\",\"asInt\":\"19\"}]}},"
        "{\"name\":\"queue.size\",\"unit\":\"By\",\"sum\":{"
        " \"aggregationTemporality\":2,\"isMonotonic\":false,\"dataPoints\":["
        "  {\"timeUnixNano\":\"" T0_NS "\",\"asDouble\":-3.5}]}}"
        "]}]}]}";

    translate_json(a, json, NULL, &r);
    check_sorted_unique(r.write);
    assert_int_equal(r.points_converted, 3);
    assert_int_equal(r.points_rejected, 0);

    /* Two points with one label set: one series, samples in order. */
    s = find_series(r.write, "http_requests_total{code=\"200\","
                             "instance=\"i-1\",job=\"shop/api\"}");
    assert_non_null(s);
    assert_int_equal(s->n_samples, 2);
    assert_true(s->samples[0]->value == 17);
    assert_int_equal(s->samples[0]->timestamp, T0_MS);
    assert_true(s->samples[1]->value == 19);
    assert_int_equal(s->samples[1]->timestamp, T0_MS + 15000);
    assert_int_equal(s->n_exemplars, 1);
    assert_true(s->exemplars[0]->value == 1);
    assert_int_equal(s->exemplars[0]->timestamp, T0_MS - 500);
    assert_int_equal(s->exemplars[0]->n_labels, 3);
    assert_string_equal(s->exemplars[0]->labels[0]->name, "trace_id");
    assert_string_equal(s->exemplars[0]->labels[0]->value,
                        "5b8efff798038103d269b633813fc60c");
    assert_string_equal(s->exemplars[0]->labels[1]->name, "span_id");
    assert_string_equal(s->exemplars[0]->labels[1]->value, "eee19b7ec3c1b174");
    assert_string_equal(s->exemplars[0]->labels[2]->value, "bob");

    /* Up/down counter: a gauge without _total. */
    check_one(r.write, "queue_size_bytes{instance=\"i-1\",job=\"shop/api\"}",
              -3.5, T0_MS);
    assert_int_equal(find_meta(r.write, "queue_size_bytes")->type,
                     PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE);
    assert_int_equal(find_meta(r.write, "http_requests_total")->type,
                     PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER);

    /* target_info: the other resource attributes, from the earliest to the
     * latest point of the resource. */
    s = find_series(r.write, "target_info{deployment_environment=\"prod\","
                             "instance=\"i-1\",job=\"shop/api\"}");
    assert_non_null(s);
    assert_int_equal(s->n_samples, 2);
    assert_true(s->samples[0]->value == 1);
    assert_int_equal(s->samples[0]->timestamp, T0_MS);
    assert_int_equal(s->samples[1]->timestamp, T0_MS + 15000);
    assert_int_equal(r.write->n_timeseries, 3);
    assert_int_equal(r.samples, 2 + 1 + 2);
}

/* target_info is sampled every half lookback delta across the batch. */
static void
test_target_info_spacing(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const Prometheus__TimeSeries *s;
    const char *json =
        "{\"resourceMetrics\":[{" RESOURCE ",\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":["
        " {\"timeUnixNano\":\"1700000600000000000\",\"asDouble\":1},"
        " {\"timeUnixNano\":\"" T0_NS "\",\"asDouble\":2}]}}]}]},"
        "{\"resource\":{\"attributes\":[{\"key\":\"host\",\"value\":"
        "{\"stringValue\":\"h\"}}]},\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":["
        " {\"timeUnixNano\":\"" T0_NS "\",\"asDouble\":3}]}}]}]}]}";
    struct tr_otlp_metrics_opts opts = {.lookback_ms = 0};

    translate_json(a, json, &opts, &r);
    s = find_series(r.write, "target_info{deployment_environment=\"prod\","
                             "instance=\"i-1\",job=\"shop/api\"}");
    assert_non_null(s);
    /* T0, +150s, +300s, +450s, then the latest (+600s). */
    assert_int_equal(s->n_samples, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(s->samples[i]->timestamp, T0_MS + (int64_t)i * 150000);
    }
    /* A resource without job or instance gets no target_info, and its
     * points carry no job label. */
    check_one(r.write, "g{}", 3, T0_MS);
    assert_int_equal(r.write->n_timeseries, 3);

    opts.disable_target_info = true;
    translate_json(a, json, &opts, &r);
    assert_null(find_series(r.write,
                            "target_info{deployment_environment=\"prod\","
                            "instance=\"i-1\",job=\"shop/api\"}"));
}

static void
test_histogram(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const Prometheus__TimeSeries *s;
    const char *json =
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"api\"}}]},"
        "\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"http.server.request.duration\",\"unit\":\"s\","
        " \"description\":\"Latency\",\"histogram\":{"
        " \"aggregationTemporality\":2,\"dataPoints\":["
        "  {\"timeUnixNano\":\"" T0_NS "\",\"count\":\"10\",\"sum\":4.5,"
        "   \"bucketCounts\":[\"2\",\"3\",\"4\",\"1\"],"
        "   \"explicitBounds\":[0.005,0.1,1],"
        "   \"exemplars\":[{\"timeUnixNano\":\"" T0_NS "\",\"asDouble\":0.05,"
        "     \"traceId\":\"0102030405060708090a0b0c0d0e0f10\"},"
        "    {\"timeUnixNano\":\"" T0_NS "\",\"asDouble\":7}]},"
        "  "
        "{\"attributes\":[{\"key\":\"route\",\"value\":{\"stringValue\":\"/"
        "x\"}}],"
        "   \"timeUnixNano\":\"" T0_NS "\",\"count\":\"1\","
        "   \"bucketCounts\":[\"1\"],\"explicitBounds\":[]}]}}]}]}]}";

    translate_json(a, json, NULL, &r);
    check_sorted_unique(r.write);
    assert_int_equal(r.points_converted, 2);
    check_one(r.write,
              "http_server_request_duration_seconds_count{job=\"api\"}", 10,
              T0_MS);
    check_one(r.write, "http_server_request_duration_seconds_sum{job=\"api\"}",
              4.5, T0_MS);
    check_one(r.write,
              "http_server_request_duration_seconds_bucket{job=\"api\","
              "le=\"0.005\"}",
              2, T0_MS);
    s = check_one(r.write,
                  "http_server_request_duration_seconds_bucket{job=\"api\","
                  "le=\"0.1\"}",
                  5, T0_MS);
    assert_int_equal(s->n_exemplars, 1);
    assert_true(s->exemplars[0]->value == 0.05);
    assert_string_equal(s->exemplars[0]->labels[0]->value,
                        "0102030405060708090a0b0c0d0e0f10");
    check_one(r.write,
              "http_server_request_duration_seconds_bucket{job=\"api\","
              "le=\"1\"}",
              9, T0_MS);
    s = check_one(r.write,
                  "http_server_request_duration_seconds_bucket{job=\"api\","
                  "le=\"+Inf\"}",
                  10, T0_MS);
    assert_int_equal(s->n_exemplars, 1);
    assert_true(s->exemplars[0]->value == 7);
    assert_int_equal(s->exemplars[0]->n_labels, 0);

    /* No sum in the point: no _sum series. */
    assert_null(find_series(r.write, "http_server_request_duration_seconds_sum{"
                                     "job=\"api\",route=\"/x\"}"));
    check_one(r.write,
              "http_server_request_duration_seconds_bucket{"
              "job=\"api\",le=\"+Inf\",route=\"/x\"}",
              1, T0_MS);
    check_one(r.write,
              "http_server_request_duration_seconds_count{"
              "job=\"api\",route=\"/x\"}",
              1, T0_MS);
    assert_int_equal(r.write->n_timeseries, 5 + 1 + 2);
    assert_int_equal(
        find_meta(r.write, "http_server_request_duration_seconds")->type,
        PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM);
}

static void
test_summary(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const char *json =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"rpc.latency\",\"unit\":\"ms\",\"summary\":{\"dataPoints\":"
        "["
        " {\"timeUnixNano\":\"" T0_NS "\",\"count\":\"4\",\"sum\":10.5,"
        "  \"quantileValues\":[{\"quantile\":0.5,\"value\":2},"
        "   "
        "{\"quantile\":0.99,\"value\":7.25},{\"quantile\":1,\"value\":8}]}]}}"
        "]}]}]}";

    translate_json(a, json, NULL, &r);
    check_one(r.write, "rpc_latency_milliseconds_sum{}", 10.5, T0_MS);
    check_one(r.write, "rpc_latency_milliseconds_count{}", 4, T0_MS);
    check_one(r.write, "rpc_latency_milliseconds{quantile=\"0.5\"}", 2, T0_MS);
    check_one(r.write, "rpc_latency_milliseconds{quantile=\"0.99\"}", 7.25,
              T0_MS);
    check_one(r.write, "rpc_latency_milliseconds{quantile=\"1\"}", 8, T0_MS);
    assert_int_equal(r.write->n_timeseries, 5);
    assert_int_equal(find_meta(r.write, "rpc_latency_milliseconds")->type,
                     PROMETHEUS__METRIC_METADATA__METRIC_TYPE__SUMMARY);
}

static bool
is_stale(double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    return bits == TR_OTLP_STALE_NAN_BITS;
}

static void
test_stale_marker(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const char *json =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":["
        " {\"timeUnixNano\":\"" T0_NS "\",\"asDouble\":5,\"flags\":1}]}},"
        "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":2,"
        " \"dataPoints\":[{\"timeUnixNano\":\"" T0_NS "\",\"flags\":1,"
        "  \"count\":\"3\",\"sum\":1,\"bucketCounts\":[\"3\",\"0\"],"
        "  \"explicitBounds\":[1]}]}}]}]}]}";

    translate_json(a, json, NULL, &r);
    assert_int_equal(r.write->n_timeseries, 5);
    for (size_t i = 0; i < r.write->n_timeseries; i++) {
        assert_int_equal(r.write->timeseries[i]->n_samples, 1);
        assert_true(is_stale(r.write->timeseries[i]->samples[0]->value));
    }
}

static void
test_dropped_points(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const char *json =
        "{\"resourceMetrics\":[{" RESOURCE ",\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"latency\",\"exponentialHistogram\":{"
        " \"aggregationTemporality\":2,\"dataPoints\":["
        "  {\"timeUnixNano\":\"" T0_NS "\",\"count\":\"1\",\"scale\":3},"
        "  {\"timeUnixNano\":\"" T0_NS "\"},{\"timeUnixNano\":\"" T0_NS
        "\"}]}},"
        "{\"name\":\"bytes.sent\",\"sum\":{\"aggregationTemporality\":1,"
        " \"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"" T0_NS "\","
        " \"asInt\":\"5\"}]}},"
        "{\"name\":\"nodata\"},"
        "{\"name\":\"empty\",\"gauge\":{}},"
        "{\"name\":\"ok\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0_NS
        "\",\"asInt\":\"1\"}]}}"
        "]}]}]}";

    translate_json(a, json, NULL, &r);
    assert_int_equal(r.points_converted, 1);
    assert_int_equal(r.points_rejected, 4);
    assert_non_null(r.message);
    assert_string_equal(r.message,
                        "exponential histograms are not supported yet; 3 "
                        "data points of metric \"latency\" were dropped; "
                        "delta temporality is not supported; 1 data point "
                        "of metric \"bytes.sent\" was dropped");
    check_one(r.write, "ok{instance=\"i-1\",job=\"shop/api\"}", 1, T0_MS);
    /* target_info still describes the resource. */
    assert_non_null(find_series(r.write,
                                "target_info{deployment_environment=\"prod\","
                                "instance=\"i-1\",job=\"shop/api\"}"));
    assert_int_equal(r.write->n_timeseries, 2);
    assert_int_equal(r.write->n_metadata, 1);
}

static void
test_labels(void **state)
{
    struct tr_arena *a = *state;
    struct tr_otlp_metrics_result r;
    const char *json =
        "{\"resourceMetrics\":[{" RESOURCE ",\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"m\",\"gauge\":{\"dataPoints\":[{\"attributes\":["
        " {\"key\":\"a_b\",\"value\":{\"stringValue\":\"2\"}},"
        " {\"key\":\"a.b\",\"value\":{\"stringValue\":\"1\"}},"
        " {\"key\":\"_x\",\"value\":{\"boolValue\":false}},"
        " {\"key\":\"9lives\",\"value\":{\"doubleValue\":1e21}},"
        " {\"key\":\"job\",\"value\":{\"stringValue\":\"overridden\"}},"
        " {\"key\":\"\",\"value\":{\"stringValue\":\"skipped\"}},"
        " {\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":["
        "   "
        "{\"stringValue\":\"x\"},{\"intValue\":\"3\"},{\"doubleValue\":0.5}]}}}"
        ","
        " {\"key\":\"map\",\"value\":{\"kvlistValue\":{\"values\":["
        "   {\"key\":\"z\",\"value\":{\"boolValue\":true}},"
        "   {\"key\":\"a\",\"value\":{\"bytesValue\":\"aGk=\"}}]}}}],"
        " \"timeUnixNano\":\"" T0_NS "\",\"asDouble\":1}]}}]}]}]}";
    struct tr_otlp_metrics_opts opts = {.without_suffixes = true};

    translate_json(a, json, &opts, &r);
    check_sorted_unique(r.write);
    check_one(r.write,
              "m{a_b=\"1;2\",arr=\"[\"x\",3,0.5]\",instance=\"i-1\","
              "job=\"shop/api\",key_9lives=\"1e+21\",key_x=\"false\","
              "map=\"{\"a\":\"aGk=\",\"z\":true}\"}",
              1, T0_MS);
}

static void
test_responses(void **state)
{
    struct tr_buf b = TR_BUF_INIT;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse
        *resp;

    /* Full success. */
    assert_int_equal(tr_otlp_response_encode(TR_OTLP_METRICS, TR_OTLP_JSON, 0,
                                             NULL, &b, NULL),
                     TR_OK);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "{}", 2);
    tr_buf_reset(&b);
    assert_int_equal(tr_otlp_response_encode(TR_OTLP_METRICS, TR_OTLP_PROTOBUF,
                                             0, NULL, &b, NULL),
                     TR_OK);
    assert_int_equal(b.len, 0);

    /* Partial success, JSON. */
    assert_int_equal(tr_otlp_response_encode(TR_OTLP_METRICS, TR_OTLP_JSON, 3,
                                             "3 \"dropped\"", &b, NULL),
                     TR_OK);
    assert_int_equal(b.len, strlen("{\"partialSuccess\":{\"rejectedDataPoints"
                                   "\":\"3\",\"errorMessage\":\"3 \\\"dropped"
                                   "\\\"\"}}"));
    assert_memory_equal(b.data,
                        "{\"partialSuccess\":{\"rejectedDataPoints\":\"3\","
                        "\"errorMessage\":\"3 \\\"dropped\\\"\"}}",
                        b.len);
    tr_buf_reset(&b);
    assert_int_equal(tr_otlp_response_encode(TR_OTLP_TRACES, TR_OTLP_JSON, 2,
                                             NULL, &b, NULL),
                     TR_OK);
    assert_memory_equal(
        b.data, "{\"partialSuccess\":{\"rejectedSpans\":\"2\"}}", b.len);
    tr_buf_reset(&b);

    /* Partial success, protobuf: the generated decoder reads it back. */
    assert_int_equal(tr_otlp_response_encode(TR_OTLP_METRICS, TR_OTLP_PROTOBUF,
                                             300, "too many", &b, NULL),
                     TR_OK);
    resp =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
            NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(resp);
    assert_non_null(resp->partial_success);
    assert_int_equal(resp->partial_success->rejected_data_points, 300);
    assert_string_equal(resp->partial_success->error_message, "too many");
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(
        resp, NULL);
    tr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_names),
        cmocka_unit_test(test_label_names),
        cmocka_unit_test_setup_teardown(test_unit_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge_from_protobuf, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sums_and_target_info, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_target_info_spacing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
        cmocka_unit_test(test_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
