/*
 * Decoding OTLP export requests (metrics, logs, traces) from the two
 * OTLP/HTTP encodings into the protobuf-c structs generated from
 * proto/opentelemetry:
 *
 *   - protobuf (application/x-protobuf): protobuf-c unpacks into the arena;
 *   - JSON (application/json): the OTLP JSON mapping, read with jansson and
 *     written into the very same structs, so every later step sees one
 *     representation whatever the client sent.
 *
 * OTLP JSON rules followed: keys are lowerCamelCase (the proto snake_case
 * names are accepted too), unknown keys are ignored, null means "absent",
 * traceId/spanId/parentSpanId are hex (16 and 8 bytes, empty allowed) while
 * other bytes fields are base64 (standard or URL alphabet, padding
 * optional), 64-bit integers are decimal strings or numbers, other integers
 * are numbers (numeric strings accepted), doubles are numbers or the strings
 * "NaN", "Infinity", "-Infinity", enums are integers (their proto names are
 * accepted too), AnyValue is an object with one of stringValue, boolValue,
 * intValue, doubleValue, arrayValue, kvlistValue, bytesValue.
 *
 * Everything decoded lives in the arena: the caller resets or destroys the
 * arena when done and never frees the messages one by one.
 */
#ifndef TR_OTLP_DECODE_H
#define TR_OTLP_DECODE_H

#include <stddef.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

struct tr_arena;
struct tr_err;

/* Short names for the three request types. */
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest
    tr_otlp_metrics_request;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest
    tr_otlp_logs_request;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
    tr_otlp_traces_request;

/* The body encodings of OTLP/HTTP. */
enum tr_otlp_format {
    TR_OTLP_PROTOBUF = 0, /* application/x-protobuf */
    TR_OTLP_JSON = 1,     /* application/json */
};

/* The three signals (they differ in the partial-success counter's name). */
enum tr_otlp_signal {
    TR_OTLP_METRICS = 0,
    TR_OTLP_LOGS = 1,
    TR_OTLP_TRACES = 2,
};

/*
 * Picks the format from a Content-Type header value ("application/json",
 * "application/x-protobuf", parameters such as "; charset=utf-8" and case
 * ignored). TR_OK, or TR_EINVAL (HTTP 415) for anything else or NULL.
 */
int tr_otlp_format_from_content_type(const char *content_type,
                                     enum tr_otlp_format *out,
                                     struct tr_err *err);

/* The Content-Type to answer with for a format. */
const char *tr_otlp_format_content_type(enum tr_otlp_format fmt);

/*
 * Decodes an ExportMetricsServiceRequest of len bytes at data (borrowed;
 * not needed after the call) in the given format into the arena and stores
 * it in *out. An empty body is a valid, empty request.
 *
 * Errors: TR_EINVAL for bad input, with a message such as
 *   "cannot decode OTLP protobuf metrics request: malformed message"
 *   "cannot decode OTLP JSON: resourceMetrics[0].scopeMetrics[1].metrics[2]
 *    .sum.dataPoints[0].timeUnixNano: expected a number or numeric string"
 * TR_ENOMEM when the arena or jansson runs out of memory.
 */
int tr_otlp_metrics_decode(struct tr_arena *arena, enum tr_otlp_format fmt,
                           const void *data, size_t len,
                           tr_otlp_metrics_request **out, struct tr_err *err);

/* Same for ExportLogsServiceRequest. */
int tr_otlp_logs_decode(struct tr_arena *arena, enum tr_otlp_format fmt,
                        const void *data, size_t len,
                        tr_otlp_logs_request **out, struct tr_err *err);

/* Same for ExportTraceServiceRequest. */
int tr_otlp_traces_decode(struct tr_arena *arena, enum tr_otlp_format fmt,
                          const void *data, size_t len,
                          tr_otlp_traces_request **out, struct tr_err *err);

/*
 * The generic form behind the three above: decodes a message of any type
 * described by desc (one of the generated *__descriptor) and returns it in
 * *out. `what` names it in errors ("metrics request").
 */
int tr_otlp_decode_message(struct tr_arena *arena, enum tr_otlp_format fmt,
                           const ProtobufCMessageDescriptor *desc,
                           const char *what, const void *data, size_t len,
                           ProtobufCMessage **out, struct tr_err *err);

#endif
