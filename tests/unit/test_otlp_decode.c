/*
 * Unit tests for lib/otlp decoding: protobuf round trips for the three
 * signals, the OTLP JSON mapping (camelCase and snake_case keys, int64 as
 * strings or numbers, hex ids, base64 bytes, AnyValue kinds, unknown keys)
 * and the errors for bad input, with the JSON path of the problem.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/mem.h"
#include "otlp/decode.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

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

static tr_otlp_metrics_request *
metrics_json(struct tr_arena *a, const char *json)
{
    tr_otlp_metrics_request *req = NULL;
    struct tr_err err;

    tr_err_clear(&err);
    if (tr_otlp_metrics_decode(a, TR_OTLP_JSON, json, strlen(json), &req,
                               &err) != TR_OK) {
        fail_msg("decode failed: %s", err.msg);
    }
    return req;
}

/* Decodes JSON that must fail and compares the error message. */
static void
check_metrics_json_error(struct tr_arena *a, const char *json, const char *want)
{
    tr_otlp_metrics_request *req = NULL;
    struct tr_err err;

    tr_err_clear(&err);
    assert_int_equal(
        tr_otlp_metrics_decode(a, TR_OTLP_JSON, json, strlen(json), &req, &err),
        TR_EINVAL);
    assert_null(req);
    assert_string_equal(err.msg, want);
}

static void
test_content_type(void **state)
{
    enum tr_otlp_format f = TR_OTLP_JSON;
    struct tr_err err;

    assert_int_equal(
        tr_otlp_format_from_content_type("application/x-protobuf", &f, NULL),
        TR_OK);
    assert_int_equal(f, TR_OTLP_PROTOBUF);
    assert_int_equal(tr_otlp_format_from_content_type(
                         "Application/JSON; charset=utf-8", &f, NULL),
                     TR_OK);
    assert_int_equal(f, TR_OTLP_JSON);
    assert_int_equal(
        tr_otlp_format_from_content_type("application/jsonx", &f, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "unsupported Content-Type"));
    assert_int_equal(tr_otlp_format_from_content_type(NULL, &f, NULL),
                     TR_EINVAL);
    assert_string_equal(tr_otlp_format_content_type(TR_OTLP_JSON),
                        "application/json");
    assert_string_equal(tr_otlp_format_content_type(TR_OTLP_PROTOBUF),
                        "application/x-protobuf");
}

/* A metrics request built with protobuf-c survives pack + decode. */
static void
test_metrics_protobuf_round_trip(void **state)
{
    struct tr_arena *a = *state;
    AnyValue sv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    KeyValue kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    KeyValue *kvs[] = {&kv};
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint hp =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *hps[] = {&hp};
    Opentelemetry__Proto__Metrics__V1__Histogram h =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
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
    uint64_t counts[] = {1, 2, 3};
    double bounds[] = {0.5, 1};
    tr_otlp_metrics_request *got = NULL;
    uint8_t *buf;
    size_t len;

    sv.value_case =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    sv.string_value = "svc";
    kv.key = "service.name";
    kv.value = &sv;
    res.n_attributes = 1;
    res.attributes = kvs;
    hp.time_unix_nano = UINT64_C(1700000000123456789);
    hp.count = 6;
    hp.sum_opt_case =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_OPT_SUM;
    hp.sum = 4.5;
    hp.n_bucket_counts = 3;
    hp.bucket_counts = counts;
    hp.n_explicit_bounds = 2;
    hp.explicit_bounds = bounds;
    h.n_data_points = 1;
    h.data_points = hps;
    h.aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    m.name = "latency";
    m.unit = "s";
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m.histogram = &h;
    sm.n_metrics = 1;
    sm.metrics = ms;
    rm.resource = &res;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = sms;
    req.n_resource_metrics = 1;
    req.resource_metrics = rms;

    len = protobuf_c_message_get_packed_size(&req.base);
    buf = tr_malloc(len);
    assert_non_null(buf);
    protobuf_c_message_pack(&req.base, buf);
    assert_int_equal(
        tr_otlp_metrics_decode(a, TR_OTLP_PROTOBUF, buf, len, &got, NULL),
        TR_OK);
    tr_free(buf);

    assert_int_equal(got->n_resource_metrics, 1);
    assert_string_equal(got->resource_metrics[0]->resource->attributes[0]->key,
                        "service.name");
    {
        const Opentelemetry__Proto__Metrics__V1__Metric *gm =
            got->resource_metrics[0]->scope_metrics[0]->metrics[0];
        const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *gp =
            gm->histogram->data_points[0];

        assert_string_equal(gm->name, "latency");
        assert_int_equal(
            gm->data_case,
            OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
        assert_int_equal(gp->time_unix_nano, UINT64_C(1700000000123456789));
        assert_int_equal(
            gp->sum_opt_case,
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_OPT_SUM);
        assert_true(gp->sum == 4.5);
        assert_int_equal(
            gp->min_opt_case,
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_OPT__NOT_SET);
        assert_int_equal(gp->n_bucket_counts, 3);
        assert_int_equal(gp->bucket_counts[2], 3);
        assert_true(gp->explicit_bounds[1] == 1.0);
    }
}

/* Hand-written wire bytes with an unpacked repeated field and an unknown
 * field: both must be accepted. */
static void
test_protobuf_unpacked_and_unknown_fields(void **state)
{
    struct tr_arena *a = *state;
    /* HistogramDataPoint: bucket_counts (6, fixed64) unpacked twice,
     * unknown field 99 varint, count (4) = 7. */
    static const uint8_t hp[] = {
        0x31, 1,    0,    0, 0, 0, 0, 0, 0, /* field 6, wire 1: 1 */
        0x31, 2,    0,    0, 0, 0, 0, 0, 0, /* field 6, wire 1: 2 */
        0x98, 0x06, 0x05,                   /* field 99 varint 5 */
        0x21, 7,    0,    0, 0, 0, 0, 0, 0, /* field 4 fixed64: 7 */
    };
    ProtobufCMessage *msg = NULL;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p;

    assert_int_equal(
        tr_otlp_decode_message(
            a, TR_OTLP_PROTOBUF,
            &opentelemetry__proto__metrics__v1__histogram_data_point__descriptor,
            "histogram point", hp, sizeof(hp), &msg, NULL),
        TR_OK);
    p = (Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *)msg;
    assert_int_equal(p->n_bucket_counts, 2);
    assert_int_equal(p->bucket_counts[0], 1);
    assert_int_equal(p->bucket_counts[1], 2);
    assert_int_equal(p->count, 7);
}

static void
test_protobuf_garbage(void **state)
{
    struct tr_arena *a = *state;
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0x01, 0x02};
    tr_otlp_metrics_request *req = NULL;
    tr_otlp_logs_request *lreq = NULL;
    struct tr_err err;

    assert_int_equal(tr_otlp_metrics_decode(a, TR_OTLP_PROTOBUF, garbage,
                                            sizeof(garbage), &req, &err),
                     TR_EINVAL);
    assert_string_equal(err.msg, "cannot decode OTLP protobuf metrics "
                                 "request: malformed message (5 bytes)");
    assert_int_equal(
        tr_otlp_logs_decode(a, TR_OTLP_PROTOBUF, "\xff\xff", 2, &lreq, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "logs request"));
}

static void
test_empty_body(void **state)
{
    struct tr_arena *a = *state;
    tr_otlp_traces_request *req = NULL;

    assert_int_equal(tr_otlp_traces_decode(a, TR_OTLP_JSON, "", 0, &req, NULL),
                     TR_OK);
    assert_non_null(req);
    assert_int_equal(req->n_resource_spans, 0);
    req = NULL;
    assert_int_equal(
        tr_otlp_traces_decode(a, TR_OTLP_PROTOBUF, "", 0, &req, NULL), TR_OK);
    assert_int_equal(req->n_resource_spans, 0);
}

static void
test_json_metrics(void **state)
{
    struct tr_arena *a = *state;
    const char *json =
        "{\"resourceMetrics\":[{"
        "  \"resource\":{\"attributes\":["
        "    {\"key\":\"service.name\",\"value\":{\"stringValue\":\"api\"}},"
        "    {\"key\":\"n\",\"value\":{\"intValue\":\"-42\"}},"
        "    {\"key\":\"n2\",\"value\":{\"intValue\":7}},"
        "    {\"key\":\"d\",\"value\":{\"doubleValue\":1.5}},"
        "    {\"key\":\"b\",\"value\":{\"boolValue\":true}},"
        "    {\"key\":\"raw\",\"value\":{\"bytesValue\":\"aGk=\"}},"
        "    {\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":["
        "        {\"stringValue\":\"x\"},{\"intValue\":\"1\"}]}}},"
        "    {\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":["
        "        {\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}]}}}"
        "  ],\"futureField\":{\"x\":[1,2]}},"
        "  \"scope_metrics\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1\"},"
        "   \"metrics\":[{\"name\":\"reqs\",\"unit\":\"1\","
        "     \"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,"
        "       \"dataPoints\":[{\"startTimeUnixNano\":\"1700000000000000000\","
        "         "
        "\"time_unix_nano\":1700000001000000000,\"asInt\":\"9007199254740993\","
        "         \"flags\":1,"
        "         \"exemplars\":[{\"timeUnixNano\":\"1700000000500000000\","
        "           \"asDouble\":\"NaN\","
        "           \"traceId\":\"5B8EFFF798038103D269B633813FC60C\","
        "           \"spanId\":\"eee19b7ec3c1b174\"}]}]}},"
        "    "
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asDouble\":\"-"
        "Infinity\"},"
        "       {\"asDouble\":2}]}},"
        "    "
        "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":"
        "\"AGGREGATION_TEMPORALITY_DELTA\","
        "       \"dataPoints\":[{\"count\":\"3\",\"sum\":1.25,"
        "         \"bucketCounts\":[\"1\",2],\"explicitBounds\":[0.5]}]}}"
        "   ]}]}]}";
    tr_otlp_metrics_request *req = metrics_json(a, json);
    const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm;
    const Opentelemetry__Proto__Metrics__V1__Metric *m;
    const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p;
    const Opentelemetry__Proto__Metrics__V1__Exemplar *e;
    KeyValue **at;

    assert_int_equal(req->n_resource_metrics, 1);
    rm = req->resource_metrics[0];
    at = rm->resource->attributes;
    assert_int_equal(rm->resource->n_attributes, 8);
    assert_string_equal(at[0]->value->string_value, "api");
    assert_int_equal(at[1]->value->int_value, -42);
    assert_int_equal(at[2]->value->int_value, 7);
    assert_true(at[3]->value->double_value == 1.5);
    assert_int_equal(
        at[4]->value->value_case,
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    assert_true(at[4]->value->bool_value);
    assert_int_equal(at[5]->value->bytes_value.len, 2);
    assert_memory_equal(at[5]->value->bytes_value.data, "hi", 2);
    assert_int_equal(at[6]->value->array_value->n_values, 2);
    assert_int_equal(at[6]->value->array_value->values[1]->int_value, 1);
    assert_string_equal(at[7]->value->kvlist_value->values[0]->key, "k");

    assert_int_equal(rm->n_scope_metrics, 1);
    assert_string_equal(rm->scope_metrics[0]->scope->name, "lib");
    m = rm->scope_metrics[0]->metrics[0];
    assert_int_equal(m->data_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    assert_int_equal(m->sum->aggregation_temporality, 2);
    assert_true(m->sum->is_monotonic);
    p = m->sum->data_points[0];
    assert_int_equal(p->start_time_unix_nano, UINT64_C(1700000000000000000));
    assert_int_equal(p->time_unix_nano, UINT64_C(1700000001000000000));
    assert_int_equal(
        p->value_case,
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
    /* Beyond 2^53: exact only because it came as a string. */
    assert_int_equal(p->as_int, INT64_C(9007199254740993));
    assert_int_equal(p->flags, 1);
    e = p->exemplars[0];
    assert_true(isnan(e->as_double));
    assert_int_equal(e->trace_id.len, 16);
    assert_memory_equal(e->trace_id.data,
                        "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33"
                        "\x81\x3f\xc6\x0c",
                        16);
    assert_int_equal(e->span_id.len, 8);
    assert_memory_equal(e->span_id.data, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74", 8);

    m = rm->scope_metrics[0]->metrics[1];
    assert_true(isinf(m->gauge->data_points[0]->as_double));
    assert_true(m->gauge->data_points[0]->as_double < 0);
    assert_true(m->gauge->data_points[1]->as_double == 2.0);

    m = rm->scope_metrics[0]->metrics[2];
    assert_int_equal(m->histogram->aggregation_temporality, 1);
    assert_int_equal(m->histogram->data_points[0]->count, 3);
    assert_int_equal(
        m->histogram->data_points[0]->sum_opt_case,
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_OPT_SUM);
    assert_int_equal(m->histogram->data_points[0]->bucket_counts[0], 1);
    assert_int_equal(m->histogram->data_points[0]->bucket_counts[1], 2);
}

static void
test_json_logs_and_traces(void **state)
{
    struct tr_arena *a = *state;
    const char *logs =
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{"
        "\"timeUnixNano\":\"1700000000000000001\",\"severityNumber\":9,"
        "\"severityText\":\"INFO\",\"body\":{\"stringValue\":\"hello\"},"
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"\","
        "\"flags\":1,\"eventName\":\"e\"}]}]}]}";
    const char *traces =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
        "\"spanId\":\"1112131415161718\",\"parentSpanId\":\"2122232425262728\","
        "\"name\":\"GET /\",\"kind\":2,\"startTimeUnixNano\":\"1\","
        "\"endTimeUnixNano\":\"3\",\"status\":{\"code\":2,\"message\":\"boom\"}"
        ","
        "\"events\":[{\"timeUnixNano\":\"2\",\"name\":\"ev\"}],"
        "\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
        "\"spanId\":\"3132333435363738\"}]}]}]}]}";
    tr_otlp_logs_request *lreq = NULL;
    tr_otlp_traces_request *treq = NULL;
    struct tr_err err;
    const Opentelemetry__Proto__Logs__V1__LogRecord *lr;
    const Opentelemetry__Proto__Trace__V1__Span *sp;

    assert_int_equal(
        tr_otlp_logs_decode(a, TR_OTLP_JSON, logs, strlen(logs), &lreq, &err),
        TR_OK);
    lr = lreq->resource_logs[0]->scope_logs[0]->log_records[0];
    assert_int_equal(lr->time_unix_nano, UINT64_C(1700000000000000001));
    assert_int_equal(lr->severity_number, 9);
    assert_string_equal(lr->body->string_value, "hello");
    assert_int_equal(lr->trace_id.len, 16);
    assert_int_equal(lr->trace_id.data[15], 0x10);
    assert_int_equal(lr->span_id.len, 0);
    assert_string_equal(lr->event_name, "e");

    assert_int_equal(tr_otlp_traces_decode(a, TR_OTLP_JSON, traces,
                                           strlen(traces), &treq, &err),
                     TR_OK);
    sp = treq->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(sp->span_id.data[0], 0x11);
    assert_int_equal(sp->parent_span_id.len, 8);
    assert_int_equal(sp->parent_span_id.data[7], 0x28);
    assert_int_equal(sp->kind, 2);
    assert_int_equal(sp->end_time_unix_nano, 3);
    assert_int_equal(sp->status->code, 2);
    assert_string_equal(sp->status->message, "boom");
    assert_string_equal(sp->events[0]->name, "ev");
    assert_int_equal(sp->links[0]->span_id.data[0], 0x31);
}

static void
test_json_errors(void **state)
{
    struct tr_arena *a = *state;

    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{},{\"metrics\":[{},{},"
        "{\"sum\":{\"dataPoints\":[{\"timeUnixNano\":true}]}}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[1]."
        "metrics[2].sum.dataPoints[0].timeUnixNano: expected a number or "
        "numeric string");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":"
        "{\"dataPoints\":[{\"exemplars\":[{\"traceId\":\"xyz\"}]}]}}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[0]."
        "metrics[0].gauge.dataPoints[0].exemplars[0].traceId: expected 32 "
        "hex digits (a 16-byte id) or an empty string");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"k\","
        "\"value\":{\"bytesValue\":\"!!\"}}]}}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].resource.attributes[0]"
        ".value.bytesValue: expected base64");
    check_metrics_json_error(a, "{\"resourceMetrics\":{}}",
                             "cannot decode OTLP JSON: resourceMetrics: "
                             "expected an array");
    check_metrics_json_error(a, "[1]",
                             "cannot decode OTLP JSON: the body must be a "
                             "JSON object");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":"
        "{\"dataPoints\":[{\"flags\":\"-1\"}]}}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[0]."
        "metrics[0].sum.dataPoints[0].flags: expected a number or numeric "
        "string");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":"
        "{\"dataPoints\":[{\"asInt\":\"12abc\"}]}}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[0]."
        "metrics[0].sum.dataPoints[0].asInt: expected a number or numeric "
        "string");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":"
        "5}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[0]."
        "metrics[0].name: expected a string");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":"
        "{\"isMonotonic\":1}}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[0]."
        "metrics[0].sum.isMonotonic: expected true or false");
    check_metrics_json_error(
        a,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":"
        "{\"dataPoints\":[{\"timeUnixNano\":1.5}]}}]}]}]}",
        "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[0]."
        "metrics[0].sum.dataPoints[0].timeUnixNano: expected a "
        "non-negative integer");

    /* Malformed JSON reports jansson's position. */
    {
        tr_otlp_metrics_request *req = NULL;
        struct tr_err err;

        assert_int_equal(
            tr_otlp_metrics_decode(a, TR_OTLP_JSON, "{\"a\":", 5, &req, &err),
            TR_EINVAL);
        assert_non_null(strstr(err.msg, "cannot decode OTLP JSON: line 1"));
    }
}

/* Null values are absent and unknown keys of any shape are skipped. */
static void
test_json_nulls_and_unknown(void **state)
{
    struct tr_arena *a = *state;
    tr_otlp_metrics_request *req = metrics_json(
        a, "{\"resourceMetrics\":[{\"resource\":null,\"schemaUrl\":null,"
           "\"unknown\":[{\"deep\":{\"x\":null}}],\"scopeMetrics\":[null,"
           "{\"metrics\":[{\"name\":\"m\",\"description\":\"d\\u00e9\","
           "\"sum\":{\"dataPoints\":[{\"asDouble\":\"2.5e3\"}]}}]}]}]}");
    const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm =
        req->resource_metrics[0];

    assert_null(rm->resource);
    assert_string_equal(rm->schema_url, "");
    assert_int_equal(rm->n_scope_metrics, 2);
    assert_int_equal(rm->scope_metrics[0]->n_metrics, 0);
    assert_string_equal(rm->scope_metrics[1]->metrics[0]->description,
                        "d\xc3\xa9");
    assert_true(
        rm->scope_metrics[1]->metrics[0]->sum->data_points[0]->as_double ==
        2500.0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),
        cmocka_unit_test_setup_teardown(test_metrics_protobuf_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_protobuf_unpacked_and_unknown_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protobuf_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_logs_and_traces, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_nulls_and_unknown, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
