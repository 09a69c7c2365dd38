#include "app/server.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"
#include "http/server.h"
#include "json/writer.h"
#include "rpc/rpc.h"
#include "tr_build_config.h"

#define LOCAL_RPC_ENDPOINT "inproc://trident"

struct tr_server {
    struct tr_app *app;
    struct tr_http_server *http;
    struct tr_http_server *otlp_http; /* NULL when disabled */
    struct tr_rpc_server *rpc;
    char rpc_tcp_endpoint[128];
};

/* ---- operations endpoints ----------------------------------------------- */

static void
handle_ready(struct tr_http_req *req, void *arg)
{
    struct tr_server *s = arg;
    struct tr_buf why = TR_BUF_INIT;
    if (tr_app_ready(s->app, &why)) {
        tr_http_reply(req, 200, "text/plain; charset=utf-8", "ready\n", 6);
    } else {
        tr_buf_append_byte(&why, '\n');
        tr_http_reply_buf(req, 503, "text/plain; charset=utf-8", &why);
    }
    tr_buf_fini(&why);
}

static void
handle_services(struct tr_http_req *req, void *arg)
{
    struct tr_server *s = arg;
    struct tr_buf out = TR_BUF_INIT;
    tr_app_write_services(s->app, &out);
    tr_http_reply_buf(req, 200, "text/plain; charset=utf-8", &out);
    tr_buf_fini(&out);
}

/* GET /config: the effective configuration, secrets masked;
 * ?mode=defaults shows the defaults instead. */
static void
handle_config(struct tr_http_req *req, void *arg)
{
    struct tr_server *s = arg;
    struct tr_buf out = TR_BUF_INIT;
    const char *mode = tr_http_req_param(req, "mode");

    if (mode != NULL && strcmp(mode, "defaults") == 0) {
        struct tr_config defaults;
        if (tr_config_init(&defaults, NULL) == TR_OK) {
            tr_config_write_yaml(&defaults, &out, true);
            tr_config_fini(&defaults);
        }
    } else if (mode == NULL || *mode == '\0') {
        tr_config_write_yaml(tr_app_config(s->app), &out, true);
    } else {
        tr_http_reply_text_error(req, 400,
                                 "unknown mode \"%s\": use defaults or "
                                 "leave it out",
                                 mode);
        return;
    }
    tr_http_reply_buf(req, 200, "text/plain; charset=utf-8", &out);
    tr_buf_fini(&out);
}

static void
write_build_info(struct tr_json *w)
{
    tr_json_object_begin(w);
    tr_json_key(w, "version");
    tr_json_string(w, TR_VERSION);
    tr_json_key(w, "revision");
    tr_json_string(w, TR_REVISION);
    tr_json_key(w, "branch");
    tr_json_string(w, TR_BRANCH);
    tr_json_key(w, "buildUser");
    tr_json_string(w, "");
    tr_json_key(w, "buildDate");
    tr_json_string(w, "");
    /* Grafana only displays it; say honestly what built us. */
    tr_json_key(w, "goVersion");
    tr_json_string(w, "C (gcc " __VERSION__ ")");
    tr_json_object_end(w);
}

/* Prometheus/Mimir form: inside the {"status","data"} envelope. No
 * "features" key: Grafana would then assume a Mimir ruler API. */
static void
handle_buildinfo_prometheus(struct tr_http_req *req, void *arg)
{
    struct tr_buf out = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &out);
    tr_json_object_begin(&w);
    tr_json_key(&w, "status");
    tr_json_string(&w, "success");
    tr_json_key(&w, "data");
    write_build_info(&w);
    tr_json_object_end(&w);
    tr_json_finish(&w);
    tr_http_reply_buf(req, 200, "application/json", &out);
    tr_buf_fini(&out);
}

/* Loki and Tempo form: the bare object. */
static void
handle_buildinfo_bare(struct tr_http_req *req, void *arg)
{
    struct tr_buf out = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &out);
    write_build_info(&w);
    tr_json_finish(&w);
    tr_http_reply_buf(req, 200, "application/json", &out);
    tr_buf_fini(&out);
}

void
tr_server_not_implemented(struct tr_http_req *req, void *arg)
{
    tr_http_reply_text_error(req, 501, "%s is not implemented yet",
                             (const char *)arg);
}

/* ---- module ------------------------------------------------------------- */

static void
server_destroy(struct tr_server *s)
{
    if (s == NULL) {
        return;
    }
    tr_http_server_destroy(s->otlp_http);
    tr_http_server_destroy(s->http);
    tr_rpc_server_destroy(s->rpc);
    tr_free(s);
}

static struct tr_http_server *
http_create(const struct tr_config *cfg, int64_t port, const char *name,
            struct tr_err *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct tr_http_server_opts opts = {
        .addr = cfg->server.http_listen_address,
        .port = (uint16_t)port,
        .threads = cfg->server.http_threads > 0
                       ? (unsigned)cfg->server.http_threads
                       : (unsigned)(cores > 0 ? cores : 2),
        .max_body_bytes = (size_t)cfg->server.http_max_request_bytes,
        .max_decoded_bytes = (size_t)cfg->server.http_max_decoded_bytes,
        .name = name,
    };
    return tr_http_server_create(&opts, err);
}

static int
route(struct tr_http_server *http, unsigned methods, const char *pattern,
      tr_http_handler_fn fn, void *arg, struct tr_err *err)
{
    return tr_http_route(http, methods, pattern, fn, arg, err);
}

static int
server_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    struct tr_server *s = tr_calloc(1, sizeof(*s));
    if (s == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    s->app = app;
    s->http = http_create(cfg, cfg->server.http_listen_port, "http", err);
    if (s->http == NULL) {
        goto fail;
    }
    if (cfg->server.otlp_http_listen_port >= 0) {
        s->otlp_http = http_create(cfg, cfg->server.otlp_http_listen_port,
                                   "otlp-http", err);
        if (s->otlp_http == NULL) {
            goto fail;
        }
    }
    struct tr_rpc_server_opts rpc_opts = {
        .name = "trident",
        .workers = (int)cfg->server.rpc_threads,
    };
    s->rpc = tr_rpc_server_create(&rpc_opts, err);
    if (s->rpc == NULL) {
        goto fail;
    }

    const unsigned get = TR_HTTP_GET;
    if (route(s->http, get, "/ready", handle_ready, s, err) ||
        route(s->http, get, "/metrics", tr_http_metrics_handler, NULL, err) ||
        route(s->http, get, "/services", handle_services, s, err) ||
        route(s->http, get, "/config", handle_config, s, err) ||
        route(s->http, get, "/api/v1/status/buildinfo",
              handle_buildinfo_prometheus, s, err) ||
        route(s->http, get, "/prometheus/api/v1/status/buildinfo",
              handle_buildinfo_prometheus, s, err) ||
        route(s->http, get, "/loki/api/v1/status/buildinfo",
              handle_buildinfo_bare, s, err) ||
        route(s->http, get, "/api/status/buildinfo", handle_buildinfo_bare, s,
              err)) {
        goto fail;
    }
    if (s->otlp_http != NULL &&
        (route(s->otlp_http, get, "/ready", handle_ready, s, err) ||
         route(s->otlp_http, get, "/metrics", tr_http_metrics_handler, NULL,
               err))) {
        goto fail;
    }
    *state = s;
    return TR_OK;
fail:
    server_destroy(s);
    return err != NULL ? err->code : TR_EIO;
}

static int
server_serve(struct tr_app *app, void *state, struct tr_err *err)
{
    struct tr_server *s = state;
    const struct tr_config *cfg = tr_app_config(app);
    char endpoint[160];

    if (tr_rpc_server_bind(s->rpc, LOCAL_RPC_ENDPOINT, NULL, 0, err) !=
        TR_OK) {
        return tr_err_prefix(err, "cannot bind RPC %s", LOCAL_RPC_ENDPOINT);
    }
    snprintf(endpoint, sizeof(endpoint), "tcp://%s:%lld",
             cfg->server.rpc_listen_address,
             (long long)cfg->server.rpc_listen_port);
    if (tr_rpc_server_bind(s->rpc, endpoint, s->rpc_tcp_endpoint,
                           sizeof(s->rpc_tcp_endpoint), err) != TR_OK) {
        return tr_err_prefix(err, "cannot listen for RPC on %s", endpoint);
    }
    if (tr_rpc_server_start(s->rpc, err) != TR_OK) {
        return TR_EIO;
    }
    if (tr_http_server_start(s->http, err) != TR_OK) {
        return tr_err_prefix(err, "cannot listen for HTTP on %s:%lld",
                             cfg->server.http_listen_address,
                             (long long)cfg->server.http_listen_port);
    }
    if (s->otlp_http != NULL && tr_http_server_start(s->otlp_http, err)) {
        return tr_err_prefix(err, "cannot listen for OTLP/HTTP on %s:%lld",
                             cfg->server.http_listen_address,
                             (long long)cfg->server.otlp_http_listen_port);
    }
    /* Tests run with port 0 and read the real ports from this line. */
    tr_log_info("listening", "http=%s:%u otlp_http=%s:%u rpc=%s",
                cfg->server.http_listen_address,
                (unsigned)tr_http_server_port(s->http),
                cfg->server.http_listen_address,
                s->otlp_http != NULL
                    ? (unsigned)tr_http_server_port(s->otlp_http)
                    : 0u,
                s->rpc_tcp_endpoint);
    return TR_OK;
}

static void
server_unserve(struct tr_app *app, void *state)
{
    struct tr_server *s = state;
    tr_http_server_stop(s->http);
    if (s->otlp_http != NULL) {
        tr_http_server_stop(s->otlp_http);
    }
    tr_rpc_server_stop(s->rpc);
}

static void
server_stop(struct tr_app *app, void *state)
{
    server_destroy(state);
}

const struct tr_module tr_server_module = {
    .name = "server",
    .start = server_start,
    .stop = server_stop,
    .serve = server_serve,
    .unserve = server_unserve,
};

struct tr_server *
tr_server_of(struct tr_app *app)
{
    return tr_app_state(app, "server");
}

struct tr_http_server *
tr_server_http(struct tr_server *s)
{
    return s->http;
}

struct tr_http_server *
tr_server_otlp_http(struct tr_server *s)
{
    return s->otlp_http;
}

struct tr_rpc_server *
tr_server_rpc(struct tr_server *s)
{
    return s->rpc;
}

const char *
tr_server_rpc_local_endpoint(const struct tr_server *s)
{
    (void)s;
    return LOCAL_RPC_ENDPOINT;
}
