/*
 * The query-frontend module: the read entry point. It owns the HTTP
 * routes of the query APIs and sends the work to queriers over RPC (the
 * in-process querier over inproc://, or query_frontend.querier_addresses).
 * Query APIs that are not implemented yet (Loki, Tempo) answer 501 naming
 * themselves, so a Grafana data source pointed at them fails clearly.
 */
#include "query_frontend.h"

#include <stddef.h>

#include "app/server.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "config/config.h"
#include "frontend_internal.h"
#include "http/server.h"
#include "rpc/rpc.h"
#include "trident/querier.pb-c.h"

static const struct {
    const char *pattern;
    const char *name;
} pending_apis[] = {
    {"/loki/api/v1/{rest...}", "the Loki query API"},
    {"/tempo/api/{rest...}", "the Tempo query API"},
    {"/api/search", "Tempo search"},
    {"/api/echo", "the Tempo API"},
};

int
frontend_call_querier(struct frontend *f, const void *req, size_t len,
                      int64_t timeout_ms, int *status, struct tr_buf *body,
                      struct tr_err *err)
{
    size_t first = atomic_fetch_add(&f->next, 1);
    int rc = TR_EUNAVAIL;
    struct tr_buf resp = TR_BUF_INIT;
    int timeout = timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms;
    for (size_t k = 0; k < f->n_queriers; k++) {
        struct tr_rpc_client *c = f->queriers[(first + k) % f->n_queriers];
        rc = tr_rpc_client_call(c, "querier.Prometheus", req, len, timeout,
                                &resp, err);
        if (rc != TR_EUNAVAIL) {
            break; /* only an unreachable querier is worth another try */
        }
    }
    if (rc == TR_OK) {
        Trident__Querier__PrometheusResponse *r =
            trident__querier__prometheus_response__unpack(
                NULL, resp.len, (const uint8_t *)resp.data);
        if (r == NULL) {
            rc = tr_err_set(err, TR_EIO,
                            "cannot decode querier.Prometheus reply");
        } else {
            *status = r->status;
            tr_buf_reset(body);
            rc = tr_buf_append(body, r->body.data, r->body.len);
            trident__querier__prometheus_response__free_unpacked(r, NULL);
        }
    }
    tr_buf_fini(&resp);
    return rc;
}

static void
frontend_destroy(struct frontend *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->n_queriers; i++) {
        tr_rpc_client_destroy(f->queriers[i]);
    }
    tr_free(f->queriers);
    tr_free(f);
}

static int
query_frontend_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    struct tr_server *server = tr_server_of(app);
    struct tr_http_server *http = tr_server_http(server);
    struct frontend *f = tr_calloc(1, sizeof(*f));
    if (f == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    f->auth_enabled = cfg->auth.enabled;
    f->no_auth_tenant = cfg->auth.no_auth_tenant;
    f->query_timeout_ms = cfg->querier.timeout_ns / TR_NS_PER_MS;

    const char *local = tr_server_rpc_local_endpoint(server);
    const char *const *endpoints =
        (const char *const *)cfg->query_frontend.querier_addresses.items;
    size_t count = cfg->query_frontend.querier_addresses.count;
    if (count == 0) {
        if (!tr_app_has(app, "querier")) {
            tr_err_set(err, TR_EINVAL,
                       "no queriers to send queries to: set "
                       "-query-frontend.querier-addresses=tcp://host:9095"
                       "[,...] or run the querier role in this process");
            goto fail;
        }
        endpoints = &local;
        count = 1;
    }
    f->queriers = tr_calloc(count, sizeof(*f->queriers));
    if (f->queriers == NULL) {
        tr_err_set(err, TR_ENOMEM, "out of memory");
        goto fail;
    }
    struct tr_rpc_client_opts opts = {.name = "query-frontend"};
    for (size_t i = 0; i < count; i++) {
        f->queriers[i] = tr_rpc_client_create(endpoints[i], &opts, err);
        if (f->queriers[i] == NULL) {
            tr_err_prefix(err, "cannot use querier %s", endpoints[i]);
            goto fail;
        }
        f->n_queriers++;
    }

    if (frontend_prometheus_routes(f, http, err) != TR_OK) {
        goto fail;
    }
    for (size_t i = 0; i < sizeof(pending_apis) / sizeof(pending_apis[0]);
         i++) {
        if (tr_http_route(http, TR_HTTP_GET | TR_HTTP_POST,
                          pending_apis[i].pattern, tr_server_not_implemented,
                          (void *)pending_apis[i].name, err) != TR_OK) {
            goto fail;
        }
    }
    *state = f;
    return TR_OK;
fail:
    frontend_destroy(f);
    return err != NULL ? err->code : TR_EINVAL;
}

static void
query_frontend_stop(struct tr_app *app, void *state)
{
    frontend_destroy(state);
}

static const char *const query_frontend_deps[] = {"server", NULL};

const struct tr_module tr_query_frontend_module = {
    .name = "query-frontend",
    .deps = query_frontend_deps,
    .is_role = true,
    .start = query_frontend_start,
    .stop = query_frontend_stop,
};
