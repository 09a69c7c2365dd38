/*
 * The Prometheus HTTP API (Prometheus 2.42 / Mimir), under /api/v1 and
 * /prometheus/api/v1, GET and POST (form bodies) alike.
 *
 * Parameters are checked here, in Prometheus's order and with its
 * messages; the querier then parses the PromQL and the match[] selectors
 * and evaluates. Its answer (status and JSON body) is relayed unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "frontend_internal.h"
#include "http/server.h"
#include "json/writer.h"
#include "promapi/params.h"
#include "promapi/response.h"
#include "promql/ast.h"
#include "promql/parser.h"
#include "tenant/tenant.h"
#include "trident/querier.pb-c.h"

typedef Trident__Querier__PrometheusRequest prom_request;

/* Time added to a query's timeout for the RPC, so that the querier's own
 * "query timed out" answer arrives before the RPC gives up. */
#define RPC_MARGIN_MS 5000

static void
reply_error(struct tr_http_req *req, enum tr_promapi_errtype t, const char *msg)
{
    struct tr_buf body = TR_BUF_INIT;
    tr_promapi_error_body(&body, t, msg);
    tr_http_reply_buf(req, tr_promapi_errtype_status(t), "application/json",
                      &body);
    tr_buf_fini(&body);
}

static void
reply_bad_data(struct tr_http_req *req, const struct tr_err *err)
{
    reply_error(req, TR_PROMAPI_ERR_BAD_DATA, err->msg);
}

/* Resolves the tenant; on failure answers like Mimir (plain text, 401 for
 * a missing header, 400 for a bad one) and returns false. */
static bool
resolve_tenant(struct frontend *f, struct tr_http_req *req, char *tenant)
{
    struct tr_err err = {0};
    int rc = tr_tenant_resolve(tr_http_req_header(req, TR_TENANT_HEADER),
                               f->auth_enabled, f->no_auth_tenant, tenant,
                               TR_TENANT_MAX + 1, &err);
    if (rc == TR_OK) {
        return true;
    }
    tr_http_reply_text_error(req, rc == TR_EDENIED ? 401 : 400, "%s", err.msg);
    return false;
}

static const char *
param(struct tr_http_req *req, const char *name)
{
    const char *v = tr_http_req_param(req, name);
    return v != NULL ? v : "";
}

/* The timeout parameter, capped by querier.timeout. */
static bool
parse_timeout(struct frontend *f, struct tr_http_req *req, int64_t *out_ms)
{
    struct tr_err err = {0};
    const char *to = param(req, "timeout");
    *out_ms = f->query_timeout_ms;
    if (*to == '\0') {
        return true;
    }
    int64_t ns;
    if (tr_promapi_parse_duration(to, &ns, &err) != TR_OK) {
        tr_promapi_invalid_param(&err, "timeout");
        reply_bad_data(req, &err);
        return false;
    }
    int64_t ms = ns / TR_NS_PER_MS;
    if (ms < 1) {
        ms = 1; /* an expired deadline: the query times out at once */
    }
    if (ms < *out_ms) {
        *out_ms = ms;
    }
    return true;
}

/* Sends r to a querier and relays its answer. */
static void
forward(struct frontend *f, struct tr_http_req *req, prom_request *r,
        int64_t timeout_ms)
{
    struct tr_arena *arena = tr_http_req_arena(req);
    r->received_at_ns = tr_now_ns();
    size_t len = trident__querier__prometheus_request__get_packed_size(r);
    uint8_t *payload = tr_arena_alloc(arena, len > 0 ? len : 1);
    if (payload == NULL) {
        reply_error(req, TR_PROMAPI_ERR_INTERNAL, "out of memory");
        return;
    }
    trident__querier__prometheus_request__pack(r, payload);

    struct tr_buf body = TR_BUF_INIT;
    struct tr_err err = {0};
    int status = 500;
    int rc = frontend_call_querier(f, payload, len, timeout_ms + RPC_MARGIN_MS,
                                   &status, &body, &err);
    if (rc == TR_OK) {
        tr_http_reply_buf(req, status, "application/json", &body);
    } else {
        tr_log_warn("querier call failed", "path=%s err=\"%s\"",
                    tr_http_req_path(req), err.msg);
        enum tr_promapi_errtype t = TR_PROMAPI_ERR_INTERNAL;
        if (rc == TR_ETIMEOUT) {
            t = TR_PROMAPI_ERR_TIMEOUT;
        } else if (rc == TR_EUNAVAIL || rc == TR_ELIMIT) {
            t = TR_PROMAPI_ERR_UNAVAILABLE;
        }
        reply_error(req, t, err.msg);
    }
    tr_buf_fini(&body);
}

static void
set_matchers(struct tr_http_req *req, prom_request *r)
{
    const char *const *values;
    size_t n = tr_http_req_param_all(req, "match[]", &values);
    r->n_matchers = n;
    r->matchers = (char **)values;
}

/* An optional limit parameter (series, labels, label values). */
static bool
parse_limit(struct tr_http_req *req, prom_request *r)
{
    const char *s = param(req, "limit");
    if (*s == '\0') {
        return true;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || end == s) {
        struct tr_err err;
        tr_err_set(&err, TR_EINVAL, "cannot parse \"%s\": invalid syntax", s);
        tr_promapi_invalid_param(&err, "limit");
        reply_bad_data(req, &err);
        return false;
    }
    r->has_limit = v > 0;
    r->limit = v;
    return true;
}

/* ---- query, query_range ------------------------------------------------- */

static void
handle_query(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    struct tr_err err = {0};
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__QUERY;
    if (tr_promapi_time_param(tr_http_req_param(req, "time"), "time",
                              tr_now_ms(), &r.start_ms, &err) != TR_OK) {
        reply_bad_data(req, &err);
        return;
    }
    r.end_ms = r.start_ms;
    int64_t timeout_ms;
    if (!parse_timeout(f, req, &timeout_ms)) {
        return;
    }
    const char *lookback = param(req, "lookback_delta");
    if (*lookback != '\0') {
        int64_t ns;
        if (tr_promapi_parse_duration(lookback, &ns, &err) != TR_OK) {
            tr_promapi_invalid_param(&err, "lookback_delta");
            reply_bad_data(req, &err);
            return;
        }
        r.lookback_delta_ms = ns / TR_NS_PER_MS;
    }
    r.timeout_ms = timeout_ms;
    r.query = (char *)param(req, "query");
    r.stats = (char *)param(req, "stats");
    forward(f, req, &r, timeout_ms);
}

static void
handle_query_range(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    struct tr_err err = {0};
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__QUERY_RANGE;
    if (tr_promapi_parse_time(param(req, "start"), &r.start_ms, &err) !=
        TR_OK) {
        tr_promapi_invalid_param(&err, "start");
        reply_bad_data(req, &err);
        return;
    }
    if (tr_promapi_parse_time(param(req, "end"), &r.end_ms, &err) != TR_OK) {
        tr_promapi_invalid_param(&err, "end");
        reply_bad_data(req, &err);
        return;
    }
    if (r.end_ms < r.start_ms) {
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    "end timestamp must not be before start time");
        return;
    }
    int64_t step_ns;
    if (tr_promapi_parse_duration(param(req, "step"), &step_ns, &err) !=
        TR_OK) {
        tr_promapi_invalid_param(&err, "step");
        reply_bad_data(req, &err);
        return;
    }
    if (step_ns <= 0) {
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    "zero or negative query resolution step widths are not "
                    "accepted. Try a positive integer");
        return;
    }
    /* end.Sub(start)/step in Go: integer nanoseconds (the difference
     * saturates at the int64 limits like time.Duration). */
    __int128 span_ns = (__int128)(r.end_ms - r.start_ms) * TR_NS_PER_MS;
    if (span_ns > INT64_MAX) {
        span_ns = INT64_MAX;
    }
    if (span_ns / step_ns > 11000) {
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    "exceeded maximum resolution of 11,000 points per "
                    "timeseries. Try decreasing the query resolution "
                    "(?step=XX)");
        return;
    }
    r.step_ms = step_ns / TR_NS_PER_MS > 0 ? step_ns / TR_NS_PER_MS : 1;
    int64_t timeout_ms;
    if (!parse_timeout(f, req, &timeout_ms)) {
        return;
    }
    r.timeout_ms = timeout_ms;
    r.query = (char *)param(req, "query");
    r.stats = (char *)param(req, "stats");
    forward(f, req, &r, timeout_ms);
}

/* ---- series, labels, label values --------------------------------------- */

static bool
parse_range_params(struct tr_http_req *req, prom_request *r)
{
    struct tr_err err = {0};
    if (tr_promapi_time_param(tr_http_req_param(req, "start"), "start",
                              TR_PROMAPI_MIN_TIME_MS, &r->start_ms,
                              &err) != TR_OK ||
        tr_promapi_time_param(tr_http_req_param(req, "end"), "end",
                              TR_PROMAPI_MAX_TIME_MS, &r->end_ms,
                              &err) != TR_OK) {
        reply_bad_data(req, &err);
        return false;
    }
    return true;
}

static void
handle_series(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__SERIES;
    set_matchers(req, &r);
    if (r.n_matchers == 0) {
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    "no match[] parameter provided");
        return;
    }
    if (!parse_range_params(req, &r) || !parse_limit(req, &r)) {
        return;
    }
    forward(f, req, &r, f->query_timeout_ms);
}

static void
handle_labels(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__LABELS;
    if (!parse_range_params(req, &r) || !parse_limit(req, &r)) {
        return;
    }
    set_matchers(req, &r);
    forward(f, req, &r, f->query_timeout_ms);
}

static void
handle_label_values(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    const char *raw = tr_http_req_path_param(req, "name");
    struct tr_buf name = TR_BUF_INIT;
    if (tr_promapi_unescape_name(raw, strlen(raw), &name) != TR_OK ||
        tr_buf_append_byte(&name, '\0') != TR_OK) {
        tr_buf_fini(&name);
        reply_error(req, TR_PROMAPI_ERR_INTERNAL, "out of memory");
        return;
    }
    name.len--; /* the NUL is not part of the name */
    if (!tr_promapi_label_name_valid(name.data, name.len) ||
        memchr(name.data, '\0', name.len) != NULL) {
        struct tr_buf msg = TR_BUF_INIT;
        tr_buf_append_str(&msg, "invalid label name: ");
        tr_promql_format_string(name.data, name.len, &msg);
        tr_buf_append_byte(&msg, '\0');
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    msg.data != NULL ? msg.data : "invalid label name");
        tr_buf_fini(&msg);
        tr_buf_fini(&name);
        return;
    }
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__LABEL_VALUES;
    r.label_name = name.data;
    if (parse_range_params(req, &r) && parse_limit(req, &r)) {
        set_matchers(req, &r);
        forward(f, req, &r, f->query_timeout_ms);
    }
    tr_buf_fini(&name);
}

/* ---- metadata, exemplars ------------------------------------------------ */

/* strconv.Atoi for the metadata limits; false when not a number. */
static bool
parse_int(const char *s, int64_t *out)
{
    char *end;
    if (*s == '\0') {
        return false;
    }
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || *s == ' ') {
        return false;
    }
    *out = v;
    return true;
}

static void
handle_metadata(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__METADATA;
    const char *limit = param(req, "limit");
    if (*limit != '\0') {
        if (!parse_int(limit, &r.limit)) {
            reply_error(req, TR_PROMAPI_ERR_BAD_DATA, "limit must be a number");
            return;
        }
        r.has_limit = true;
    }
    const char *per_metric = param(req, "limit_per_metric");
    if (*per_metric != '\0' && !parse_int(per_metric, &r.limit_per_metric)) {
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    "limit_per_metric must be a number");
        return;
    }
    r.metric = (char *)param(req, "metric");
    forward(f, req, &r, f->query_timeout_ms);
}

static void
handle_exemplars(struct tr_http_req *req, void *arg)
{
    struct frontend *f = arg;
    char tenant[TR_TENANT_MAX + 1];
    if (!resolve_tenant(f, req, tenant)) {
        return;
    }
    prom_request r = TRIDENT__QUERIER__PROMETHEUS_REQUEST__INIT;
    r.tenant = tenant;
    r.endpoint = TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__EXEMPLARS;
    if (!parse_range_params(req, &r)) {
        return;
    }
    if (r.end_ms < r.start_ms) {
        reply_error(req, TR_PROMAPI_ERR_BAD_DATA,
                    "end timestamp must not be before start timestamp");
        return;
    }
    r.query = (char *)param(req, "query");
    forward(f, req, &r, f->query_timeout_ms);
}

/* ---- answered here ------------------------------------------------------ */

static void
handle_format_query(struct tr_http_req *req, void *arg)
{
    const char *q = param(req, "query");
    struct tr_arena *arena = tr_http_req_arena(req);
    struct tr_promql_node *expr;
    struct tr_err err = {0};
    int rc = tr_promql_parse(q, strlen(q), arena, &expr, NULL, &err);
    if (rc != TR_OK) {
        tr_promapi_invalid_param(&err, "query");
        reply_error(req, tr_promapi_errtype_of_code(rc), err.msg);
        return;
    }
    struct tr_buf text = TR_BUF_INIT;
    struct tr_buf body = TR_BUF_INIT;
    struct tr_json w;
    tr_promql_format(expr, &text);
    tr_json_init(&w, &body);
    tr_promapi_success_begin(&w);
    tr_promapi_write_string(&w, text.data, text.len);
    tr_promapi_success_end(&w, NULL, 0);
    if (tr_json_finish(&w) == TR_OK) {
        tr_http_reply_buf(req, 200, "application/json", &body);
    } else {
        reply_error(req, TR_PROMAPI_ERR_INTERNAL, "out of memory");
    }
    tr_buf_fini(&text);
    tr_buf_fini(&body);
}

/* Fixed answers: there is no ruler, no alertmanager and no Prometheus
 * configuration file, so these are legitimately empty (as Mimir's). */
static void
handle_fixed(struct tr_http_req *req, void *arg)
{
    const char *data = arg;
    struct tr_buf body = TR_BUF_INIT;
    tr_buf_appendf(&body, "{\"status\":\"success\",\"data\":%s}", data);
    tr_http_reply_buf(req, 200, "application/json", &body);
    tr_buf_fini(&body);
}

int
frontend_prometheus_routes(struct frontend *f, struct tr_http_server *http,
                           struct tr_err *err)
{
    static const char *const prefixes[] = {"/api/v1", "/prometheus/api/v1"};
    const unsigned get = TR_HTTP_GET;
    const unsigned both = TR_HTTP_GET | TR_HTTP_POST;
    const struct {
        unsigned methods;
        const char *path;
        tr_http_handler_fn fn;
        void *arg; /* NULL: the frontend */
    } routes[] = {
        {both, "/query", handle_query, NULL},
        {both, "/query_range", handle_query_range, NULL},
        {both, "/series", handle_series, NULL},
        {both, "/labels", handle_labels, NULL},
        {get, "/label/{name}/values", handle_label_values, NULL},
        {get, "/metadata", handle_metadata, NULL},
        {both, "/query_exemplars", handle_exemplars, NULL},
        {both, "/format_query", handle_format_query, NULL},
        {get, "/rules", handle_fixed, "{\"groups\":[]}"},
        {get, "/alerts", handle_fixed, "{\"alerts\":[]}"},
        {get, "/status/config", handle_fixed, "{\"yaml\":\"\"}"},
        {get, "/status/flags", handle_fixed, "{}"},
    };
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
            char pattern[128];
            snprintf(pattern, sizeof(pattern), "%s%s", prefixes[p],
                     routes[i].path);
            void *arg = routes[i].arg != NULL ? routes[i].arg : (void *)f;
            if (tr_http_route(http, routes[i].methods, pattern, routes[i].fn,
                              arg, err) != TR_OK) {
                return err != NULL ? err->code : TR_EINVAL;
            }
        }
    }
    return TR_OK;
}
