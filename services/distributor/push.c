/*
 * The metrics write endpoints: Prometheus remote write 1.0 and OTLP/HTTP
 * metrics. Both end in the same path: resolve the tenant, validate, apply
 * the rate limit, send to the ingesters, then answer in the protocol's
 * terms (remote write: 204 / 400 text / 429 / 5xx; OTLP: 200 with
 * partial_success, or a google.rpc.Status body).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app/server.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "distributor_internal.h"
#include "http/encoding.h"
#include "http/server.h"
#include "tenant/tenant.h"
#include "json/writer.h"
#include "metrics/registry.h"
#include "otlp/decode.h"
#include "otlp/metrics.h"
#include "otlp/response.h"
#include "prompb/from_pb.h"
#include "prompb/prompb.h"

enum protocol {
    PROTO_PROMETHEUS,
    PROTO_OTLP,
};

static const char *const protocol_names[] = {"prometheus", "otlp"};

int
distributor_push_metrics_init(struct distributor *d, struct tr_err *err)
{
    struct tr_metrics_registry *r = tr_metrics_default();
    const char *tenant[] = {"tenant"};
    const char *tenant_reason[] = {"tenant", "reason"};
    const char *proto_status[] = {"protocol", "status"};
    d->received_samples = tr_counter_vec_register(
        r, "tr_distributor_received_samples_total",
        "Samples that passed validation and limits and were sent to "
        "ingesters.",
        tenant, 1, err);
    d->received_exemplars = tr_counter_vec_register(
        r, "tr_distributor_received_exemplars_total",
        "Exemplars that passed validation and were sent to ingesters.", tenant,
        1, err);
    d->received_metadata = tr_counter_vec_register(
        r, "tr_distributor_received_metadata_total",
        "Metric metadata entries that passed validation.", tenant, 1, err);
    d->discarded_samples = tr_counter_vec_register(
        r, "tr_discarded_samples_total",
        "Samples refused by validation, limits or the ingesters' heads.",
        tenant_reason, 2, err);
    d->requests = tr_counter_vec_register(
        r, "tr_distributor_requests_total",
        "Write requests by protocol and HTTP status.", proto_status, 2, err);
    if (d->received_samples == NULL || d->received_exemplars == NULL ||
        d->received_metadata == NULL || d->discarded_samples == NULL ||
        d->requests == NULL) {
        return err != NULL ? err->code : TR_ENOMEM;
    }
    return TR_OK;
}

static void
count_request(struct distributor *d, enum protocol p, int status)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    const char *values[] = {protocol_names[p], code};
    tr_counter_inc(tr_counter_vec_get(d->requests, values));
}

/* The outcome of the shared write path. */
struct write_result {
    int status;         /* 204 when everything was written */
    struct tr_buf body; /* error text for non-2xx and partial writes */
    int64_t rejected;   /* samples not written (any reason) */
};

static void
add_discarded(struct distributor *d, const char *tenant,
              const struct distributor_report *rep)
{
    for (int r = 0; r < REASON_COUNT; r++) {
        if (rep->discarded[r] > 0) {
            const char *values[] = {
                tenant, distributor_reason_name((enum distributor_reason)r)};
            tr_counter_add_u64(tr_counter_vec_get(d->discarded_samples, values),
                               (uint64_t)rep->discarded[r]);
        }
    }
}

static int
status_of_send_error(int code)
{
    switch (code) {
    case TR_ETIMEOUT:
        return 504;
    case TR_EINVAL:
    case TR_ENOTFOUND:
        return 500; /* a bug between roles: the sender cannot fix it */
    default:
        return 503; /* down, not ready, overloaded: retry later */
    }
}

/*
 * Validates, limits and sends one tenant's write request (in arena).
 * Fills out (status and body); the caller writes the response.
 */
static void
write_metrics(struct distributor *d, const char *tenant,
              struct tr_prompb_request *wreq, struct tr_arena *arena,
              int64_t deadline_ns, struct write_result *out)
{
    struct distributor_report rep = {0};
    struct distributor_send_result res = {0};
    struct tr_err err;
    tr_err_clear(&err);

    distributor_validate(wreq, &d->limits, tr_now_ms(), &rep);
    if (!distributor_ratelimit_allow(d->ratelimit, tenant, rep.samples_ok,
                                     tr_mono_ns())) {
        rep.discarded[REASON_RATE_LIMITED] += rep.samples_ok;
        add_discarded(d, tenant, &rep);
        out->status = 429;
        out->rejected = rep.samples_in;
        tr_buf_appendf(&out->body,
                       "cannot accept %lld samples for tenant %s: ingestion "
                       "rate limit exceeded (limits.ingestion_rate %lld "
                       "samples/s, limits.ingestion_burst_size %lld); "
                       "reduce the rate or raise the limit\n",
                       (long long)rep.samples_ok, tenant,
                       (long long)d->ingestion_rate,
                       (long long)d->ingestion_burst);
        distributor_report_fini(&rep);
        return;
    }

    int rc = distributor_send(d->ingesters, tenant, wreq, deadline_ns, arena,
                              &res, &rep, &err);
    add_discarded(d, tenant, &rep);
    if (rc != TR_OK) {
        out->status = status_of_send_error(rc);
        out->rejected = rep.samples_in;
        tr_buf_appendf(&out->body, "%s\n", err.msg);
        tr_log_warn("cannot write metrics", "tenant=%s err=\"%s\"", tenant,
                    err.msg);
        distributor_report_fini(&rep);
        return;
    }
    const char *tv[] = {tenant};
    tr_counter_add_u64(tr_counter_vec_get(d->received_samples, tv),
                       (uint64_t)rep.samples_ok);
    tr_counter_add_u64(tr_counter_vec_get(d->received_exemplars, tv),
                       (uint64_t)rep.exemplars_ok);
    tr_counter_add_u64(tr_counter_vec_get(d->received_metadata, tv),
                       (uint64_t)rep.metadata_ok);

    out->rejected = distributor_report_discarded(&rep) + res.samples_rejected;
    if (res.samples_rejected_limit > 0) {
        out->status = 429;
    } else if (rep.nerrors > 0) {
        out->status = 400;
    } else {
        out->status = 204;
    }
    if (rep.nerrors > 0) {
        tr_buf_append(&out->body, rep.errors.data, rep.errors.len);
        if (rep.nerrors > DISTRIBUTOR_MAX_ERRORS) {
            tr_buf_appendf(&out->body, "(and %zu more errors)\n",
                           rep.nerrors - DISTRIBUTOR_MAX_ERRORS);
        }
    }
    distributor_report_fini(&rep);
}

/* ---- Prometheus remote write ------------------------------------------- */

/* Content-Type check: RW 1.0 is application/x-protobuf, optionally with
 * proto=prometheus.WriteRequest; missing means 1.0. Returns NULL when
 * fine, else the message of a 415. */
static const char *
rw_content_type_problem(const char *ct)
{
    if (ct == NULL || *ct == '\0') {
        return NULL;
    }
    if (strstr(ct, "io.prometheus.write.v2.Request") != NULL) {
        return "remote write 2.0 (proto=io.prometheus.write.v2.Request) is "
               "not supported yet: configure the sender for remote write 1.0 "
               "(Prometheus: protobuf_message: prometheus.WriteRequest)";
    }
    if (strncasecmp(ct, "application/x-protobuf", 22) != 0) {
        return "unsupported Content-Type for remote write: expected "
               "application/x-protobuf (remote write 1.0)";
    }
    const char *proto = strstr(ct, "proto=");
    if (proto != NULL &&
        strncmp(proto + 6, "prometheus.WriteRequest", 23) != 0) {
        return "unsupported remote write protobuf message: only "
               "prometheus.WriteRequest (remote write 1.0) is supported";
    }
    return NULL;
}

static void
rw_reply(struct distributor *d, struct tr_http_req *req, int status,
         struct tr_buf *body)
{
    count_request(d, PROTO_PROMETHEUS, status);
    if (status == 204) {
        tr_http_reply(req, 204, NULL, NULL, 0);
    } else if (status == 200) {
        tr_http_reply(req, 200, NULL, NULL, 0);
    } else {
        tr_http_reply_buf(req, status, "text/plain; charset=utf-8", body);
    }
}

static void
handle_remote_write(struct tr_http_req *req, void *arg)
{
    struct distributor *d = arg;
    struct tr_arena *arena = tr_http_req_arena(req);
    struct tr_buf body = TR_BUF_INIT;
    struct tr_buf plain = TR_BUF_INIT;
    /* This thread's arrays from its previous request (no regrowth). */
    struct tr_prompb_request *wreq = tr_prompb_request_get();
    struct tr_err err;
    tr_err_clear(&err);
    char tenant[TR_TENANT_MAX + 1];
    int status;

    const char *problem =
        rw_content_type_problem(tr_http_req_header(req, "Content-Type"));
    if (problem != NULL) {
        tr_buf_appendf(&body, "%s\n", problem);
        rw_reply(d, req, 415, &body);
        goto done;
    }
    const char *enc = tr_http_req_header(req, "Content-Encoding");
    if (enc != NULL && *enc != '\0' && strcasecmp(enc, "snappy") != 0) {
        tr_buf_appendf(&body,
                       "unsupported Content-Encoding \"%s\" for remote "
                       "write: the body must be snappy (block format)\n",
                       enc);
        rw_reply(d, req, 415, &body);
        goto done;
    }
    int rc = tr_tenant_resolve(tr_http_req_header(req, "X-Scope-OrgID"),
                               d->auth_enabled, d->no_auth_tenant, tenant,
                               sizeof(tenant), &err);
    if (rc != TR_OK) {
        tr_buf_appendf(&body, "%s\n", err.msg);
        rw_reply(d, req, rc == TR_EDENIED ? 401 : 400, &body);
        goto done;
    }

    size_t len;
    const char *data = tr_http_req_body(req, &len);
    if (!tr_http_req_body_was_snappy(req)) {
        /* No Content-Encoding: remote write bodies are snappy anyway. */
        rc = tr_http_decode_snappy(
            data, len, tr_http_req_max_decoded_bytes(req), &plain, &err);
        if (rc != TR_OK) {
            tr_buf_appendf(&body, "cannot decode remote write body: %s\n",
                           err.msg);
            rw_reply(d, req, rc == TR_ELIMIT ? 413 : 400, &body);
            goto done;
        }
        data = plain.data;
        len = plain.len;
    }
    /* Decoded once, zero-copy: labels point into data until the end. */
    rc = wreq == NULL
             ? tr_err_set(&err, TR_ENOMEM,
                          "cannot decode remote-write request: out "
                          "of memory")
             : tr_prompb_decode(wreq, TR_PROMPB_WRITE_REQUEST, data, len, &err);
    if (rc != TR_OK) {
        tr_buf_appendf(&body, "%s\n", err.msg);
        rw_reply(d, req, rc == TR_ENOMEM ? 503 : 400, &body);
        goto done;
    }
    struct write_result res = {.body = TR_BUF_INIT};
    int64_t deadline = tr_mono_ns() + d->timeout_ns;
    int64_t req_deadline = tr_http_req_deadline_ns(req);
    write_metrics(d, tenant, wreq, arena,
                  req_deadline < deadline ? req_deadline : deadline, &res);
    status = res.status;
    rw_reply(d, req, status, &res.body);
    tr_buf_fini(&res.body);
done:
    tr_prompb_request_put(wreq);
    tr_buf_fini(&plain);
    tr_buf_fini(&body);
}

/* ---- OTLP/HTTP metrics ------------------------------------------------- */

/* gRPC status codes for the google.rpc.Status body of failures. */
static int
grpc_code_of(int status)
{
    switch (status) {
    case 400:
    case 413:
    case 415:
        return 3; /* INVALID_ARGUMENT */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 429:
        return 8; /* RESOURCE_EXHAUSTED */
    case 503:
        return 14; /* UNAVAILABLE */
    case 504:
        return 4; /* DEADLINE_EXCEEDED */
    default:
        return 13; /* INTERNAL */
    }
}

static void
append_varint(struct tr_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        tr_buf_append_byte(b, (char)(v | 0x80));
        v >>= 7;
    }
    tr_buf_append_byte(b, (char)v);
}

/* A google.rpc.Status {code = 1, message = 2} in the request's encoding
 * (JSON when the encoding is unknown). msg may end in newlines; they are
 * trimmed and inner ones become "; ". */
static void
otlp_fail(struct distributor *d, struct tr_http_req *req,
          enum tr_otlp_format fmt, int status, const char *msg, size_t len)
{
    struct tr_buf text = TR_BUF_INIT;
    struct tr_buf out = TR_BUF_INIT;
    while (len > 0 && msg[len - 1] == '\n') {
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n') {
            tr_buf_append_str(&text, "; ");
        } else {
            tr_buf_append_byte(&text, msg[i]);
        }
    }
    tr_buf_append_byte(&text, '\0');
    text.len--;
    int code = grpc_code_of(status);
    if (fmt == TR_OTLP_PROTOBUF) {
        tr_buf_append_byte(&out, 0x08);
        append_varint(&out, (uint64_t)code);
        tr_buf_append_byte(&out, 0x12);
        append_varint(&out, text.len);
        tr_buf_append(&out, text.data, text.len);
    } else {
        struct tr_json w;
        tr_json_init(&w, &out);
        tr_json_object_begin(&w);
        tr_json_key(&w, "code");
        tr_json_int(&w, code);
        tr_json_key(&w, "message");
        tr_json_string(&w, text.data);
        tr_json_object_end(&w);
        tr_json_finish(&w);
    }
    count_request(d, PROTO_OTLP, status);
    if (status == 429 || status == 503) {
        tr_http_add_header(req, "Retry-After", "1");
    }
    tr_http_reply_buf(req, status, tr_otlp_format_content_type(fmt), &out);
    tr_buf_fini(&out);
    tr_buf_fini(&text);
}

static void
handle_otlp_metrics(struct tr_http_req *req, void *arg)
{
    struct distributor *d = arg;
    struct tr_arena *arena = tr_http_req_arena(req);
    struct tr_err err;
    tr_err_clear(&err);
    enum tr_otlp_format fmt;
    char tenant[TR_TENANT_MAX + 1];

    if (tr_otlp_format_from_content_type(
            tr_http_req_header(req, "Content-Type"), &fmt, &err) != TR_OK) {
        otlp_fail(d, req, TR_OTLP_JSON, 415, err.msg, strlen(err.msg));
        return;
    }
    int rc = tr_tenant_resolve(tr_http_req_header(req, "X-Scope-OrgID"),
                               d->auth_enabled, d->no_auth_tenant, tenant,
                               sizeof(tenant), &err);
    if (rc != TR_OK) {
        otlp_fail(d, req, fmt, rc == TR_EDENIED ? 401 : 400, err.msg,
                  strlen(err.msg));
        return;
    }
    size_t len;
    const char *data = tr_http_req_body(req, &len);
    tr_otlp_metrics_request *mreq = NULL;
    rc = tr_otlp_metrics_decode(arena, fmt, data, len, &mreq, &err);
    if (rc != TR_OK) {
        otlp_fail(d, req, fmt, rc == TR_ENOMEM ? 503 : 400, err.msg,
                  strlen(err.msg));
        return;
    }
    struct tr_otlp_metrics_result tr = {0};
    if (tr_otlp_metrics_translate(arena, mreq, NULL, &tr, &err) != TR_OK) {
        otlp_fail(d, req, fmt, 503, err.msg, strlen(err.msg));
        return;
    }

    struct tr_prompb_request flat;
    tr_prompb_request_init(&flat);
    if (tr_prompb_from_write_request(&flat, tr.write, &err) != TR_OK) {
        otlp_fail(d, req, fmt, 503, err.msg, strlen(err.msg));
        return;
    }
    struct write_result res = {.body = TR_BUF_INIT};
    int64_t deadline = tr_mono_ns() + d->timeout_ns;
    int64_t req_deadline = tr_http_req_deadline_ns(req);
    write_metrics(d, tenant, &flat, arena,
                  req_deadline < deadline ? req_deadline : deadline, &res);
    tr_prompb_request_fini(&flat);
    if (res.status >= 401 && res.status != 400) {
        otlp_fail(d, req, fmt, res.status, res.body.data, res.body.len);
        tr_buf_fini(&res.body);
        return;
    }
    /* Written (maybe partly): 200 with partial_success naming what was
     * dropped by the translation and by validation. */
    struct tr_buf msg = TR_BUF_INIT;
    if (tr.message != NULL) {
        tr_buf_append_str(&msg, tr.message);
    }
    for (size_t i = 0; i < res.body.len; i++) {
        char c = res.body.data[i];
        if (c == '\n') {
            if (i + 1 < res.body.len) {
                tr_buf_append_str(&msg, "; ");
            }
            continue;
        }
        if (i == 0 && msg.len > 0) {
            tr_buf_append_str(&msg, "; ");
        }
        tr_buf_append_byte(&msg, c);
    }
    tr_buf_append_byte(&msg, '\0');
    int64_t rejected = tr.points_rejected + res.rejected;
    struct tr_buf out = TR_BUF_INIT;
    tr_otlp_response_encode(TR_OTLP_METRICS, fmt, rejected,
                            msg.len > 1 ? msg.data : NULL, &out, NULL);
    count_request(d, PROTO_OTLP, 200);
    tr_http_reply_buf(req, 200, tr_otlp_format_content_type(fmt), &out);
    tr_buf_fini(&out);
    tr_buf_fini(&msg);
    tr_buf_fini(&res.body);
}

int
distributor_push_routes(struct distributor *d, struct tr_http_server *http,
                        struct tr_http_server *otlp_http, struct tr_err *err)
{
    static const char *const rw_paths[] = {"/api/v1/push", "/api/v1/write",
                                           "/prometheus/api/v1/push",
                                           "/prometheus/api/v1/write"};
    for (size_t i = 0; i < sizeof(rw_paths) / sizeof(rw_paths[0]); i++) {
        if (tr_http_route(http, TR_HTTP_POST, rw_paths[i], handle_remote_write,
                          d, err) != TR_OK) {
            return err != NULL ? err->code : TR_EINVAL;
        }
    }
    if (tr_http_route(http, TR_HTTP_POST, "/otlp/v1/metrics",
                      handle_otlp_metrics, d, err) != TR_OK ||
        tr_http_route(http, TR_HTTP_POST, "/api/v1/otlp/v1/metrics",
                      handle_otlp_metrics, d, err) != TR_OK) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    if (otlp_http != NULL &&
        tr_http_route(otlp_http, TR_HTTP_POST, "/v1/metrics",
                      handle_otlp_metrics, d, err) != TR_OK) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    return TR_OK;
}
