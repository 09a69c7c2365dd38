/*
 * The distributor module: the pool of ingesters it writes to, the /ring
 * status page, and the metrics push endpoints (push.c).
 */
#include "distributor.h"

#include <string.h>

#include "app/server.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"
#include "distributor_internal.h"
#include "http/server.h"
#include "json/writer.h"
#include "ring/pool.h"

/* GET /ring: each ingester as this distributor sees it. JSON when the
 * client asks for it, otherwise a small HTML table for people. */
static void
handle_ring(struct tr_http_req *req, void *arg)
{
    struct distributor *d = arg;
    const char *accept = tr_http_req_header(req, "Accept");
    bool json = accept != NULL && strstr(accept, "application/json") != NULL;
    struct tr_buf out = TR_BUF_INIT;
    struct tr_json w;
    size_t n = tr_ingester_pool_size(d->ingesters);

    if (json) {
        tr_json_init(&w, &out);
        tr_json_object_begin(&w);
        tr_json_key(&w, "ingesters");
        tr_json_array_begin(&w);
    } else {
        tr_buf_append_str(&out, "<!DOCTYPE html><html><head><title>Ingester "
                                "ring</title></head><body><h1>Ingesters</h1>"
                                "<table border=\"1\"><tr><th>Endpoint</th>"
                                "<th>Instance</th><th>State</th><th>Last "
                                "heartbeat</th><th>Error</th></tr>\n");
    }
    for (size_t i = 0; i < n; i++) {
        struct tr_member_info m;
        tr_ingester_pool_info(d->ingesters, i, &m);
        const char *state = tr_member_state_name(m.state);
        if (json) {
            tr_json_object_begin(&w);
            tr_json_key(&w, "endpoint");
            tr_json_string(&w, m.endpoint);
            tr_json_key(&w, "instance_id");
            tr_json_string(&w, m.instance_id);
            tr_json_key(&w, "state");
            tr_json_string(&w, state);
            tr_json_key(&w, "last_heartbeat_ms");
            tr_json_int(&w, m.last_ok_ms);
            tr_json_key(&w, "error");
            tr_json_string(&w, m.last_error);
            tr_json_object_end(&w);
        } else {
            tr_buf_appendf(&out,
                           "<tr><td>%s</td><td>%s</td><td>%s</td>"
                           "<td>%lld</td><td>",
                           m.endpoint, m.instance_id, state,
                           (long long)m.last_ok_ms);
            for (const char *c = m.last_error; *c != '\0'; c++) {
                if (*c == '<') {
                    tr_buf_append_str(&out, "&lt;");
                } else if (*c == '&') {
                    tr_buf_append_str(&out, "&amp;");
                } else {
                    tr_buf_append_byte(&out, *c);
                }
            }
            tr_buf_append_str(&out, "</td></tr>\n");
        }
    }
    if (json) {
        tr_json_array_end(&w);
        tr_json_object_end(&w);
        tr_json_finish(&w);
        tr_http_reply_buf(req, 200, "application/json", &out);
    } else {
        tr_buf_append_str(&out, "</table></body></html>\n");
        tr_http_reply_buf(req, 200, "text/html; charset=utf-8", &out);
    }
    tr_buf_fini(&out);
}

/* Write paths of signals not built yet: 501 naming them, on the main port
 * (otlp == false) or the OTLP/HTTP port (otlp == true). */
static const struct {
    const char *path;
    const char *name;
    bool otlp;
} pending_writes[] = {
    {"/loki/api/v1/push", "Loki push", false},
    {"/api/prom/push", "Loki push", false},
    {"/otlp/v1/logs", "OTLP logs", false},
    {"/otlp/v1/traces", "OTLP traces", false},
    {"/v1/logs", "OTLP logs", true},
    {"/v1/traces", "OTLP traces", true},
};

static int
route_pending_writes(struct tr_http_server *http,
                     struct tr_http_server *otlp_http, struct tr_err *err)
{
    for (size_t i = 0; i < sizeof(pending_writes) / sizeof(pending_writes[0]);
         i++) {
        struct tr_http_server *on = pending_writes[i].otlp ? otlp_http : http;
        if (on != NULL &&
            tr_http_route(on, TR_HTTP_POST, pending_writes[i].path,
                          tr_server_not_implemented,
                          (void *)pending_writes[i].name, err) != TR_OK) {
            return err != NULL ? err->code : TR_EINVAL;
        }
    }
    return TR_OK;
}

static void
distributor_destroy(struct distributor *d)
{
    if (d == NULL) {
        return;
    }
    tr_ingester_pool_destroy(d->ingesters);
    distributor_ratelimit_destroy(d->ratelimit);
    tr_free(d);
}

static int
distributor_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    struct tr_server *server = tr_server_of(app);
    struct distributor *d = tr_calloc(1, sizeof(*d));
    if (d == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }

    /* Static membership: the configured ingesters, or the one in this
     * process over inproc:// (the same RPC path, a shorter wire). */
    const char *local = tr_server_rpc_local_endpoint(server);
    const char *const *endpoints =
        (const char *const *)cfg->ingester_client.addresses.items;
    size_t count = cfg->ingester_client.addresses.count;
    if (count == 0) {
        if (!tr_app_has(app, "ingester")) {
            tr_err_set(err, TR_EINVAL,
                       "no ingesters to write to: set "
                       "-ingester_client.addresses=tcp://host:9095[,...] "
                       "or run the ingester role in this process");
            goto fail;
        }
        endpoints = &local;
        count = 1;
    }
    struct tr_ingester_pool_opts pool_opts = {
        .client_name = "distributor",
        .check_interval_ns = cfg->ingester_client.health_check_interval_ns,
        .call_timeout_ms =
            (int)(cfg->ingester_client.timeout_ns / TR_NS_PER_MS),
    };
    d->ingesters = tr_ingester_pool_create(endpoints, count, &pool_opts, err);
    if (d->ingesters == NULL) {
        goto fail;
    }

    if (cfg->limits.ingestion_rate < 0 ||
        cfg->limits.ingestion_burst_size < 0 ||
        cfg->limits.max_label_names_per_series < 0 ||
        cfg->limits.max_label_name_length < 0 ||
        cfg->limits.max_label_value_length < 0 ||
        cfg->limits.max_metadata_length < 0) {
        tr_err_set(err, TR_EINVAL,
                   "invalid limits: ingestion rate, burst and lengths must "
                   "not be negative");
        goto fail;
    }
    d->limits = (struct distributor_limits){
        .max_label_names = cfg->limits.max_label_names_per_series,
        .max_name_len = cfg->limits.max_label_name_length,
        .max_value_len = cfg->limits.max_label_value_length,
        .max_metadata_len = cfg->limits.max_metadata_length,
        .grace_ms = cfg->limits.creation_grace_period_ns / TR_NS_PER_MS,
        .max_age_ms = cfg->limits.reject_old_samples_max_age_ns / TR_NS_PER_MS,
    };
    d->ingestion_rate = cfg->limits.ingestion_rate;
    d->ingestion_burst = cfg->limits.ingestion_burst_size;
    d->ratelimit = distributor_ratelimit_create(
        cfg->limits.ingestion_rate, cfg->limits.ingestion_burst_size);
    if (d->ratelimit == NULL) {
        tr_err_set(err, TR_ENOMEM, "out of memory");
        goto fail;
    }
    d->auth_enabled = cfg->auth.enabled;
    d->no_auth_tenant = cfg->auth.no_auth_tenant;
    d->timeout_ns = cfg->ingester_client.timeout_ns > 0
                        ? cfg->ingester_client.timeout_ns
                        : 5 * TR_NS_PER_SEC;
    if (distributor_push_metrics_init(d, err) != TR_OK) {
        goto fail;
    }

    struct tr_http_server *http = tr_server_http(server);
    if (tr_http_route(http, TR_HTTP_GET, "/ring", handle_ring, d, err) ||
        tr_http_route(http, TR_HTTP_GET, "/distributor/ring", handle_ring, d,
                      err) ||
        distributor_push_routes(d, http, tr_server_otlp_http(server), err) ||
        route_pending_writes(http, tr_server_otlp_http(server), err)) {
        goto fail;
    }
    *state = d;
    return TR_OK;
fail:
    distributor_destroy(d);
    return err != NULL ? err->code : TR_EIO;
}

static void
distributor_stop(struct tr_app *app, void *state)
{
    distributor_destroy(state);
}

static const char *const distributor_deps[] = {"server", NULL};

const struct tr_module tr_distributor_module = {
    .name = "distributor",
    .deps = distributor_deps,
    .is_role = true,
    .start = distributor_start,
    .stop = distributor_stop,
};
