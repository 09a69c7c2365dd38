/*
 * Inside the query-frontend role.
 *
 *   query_frontend.c  module start/stop, querier clients, routes
 *   prometheus_api.c  the Prometheus HTTP API: parameters, tenant, the
 *                     querier.Prometheus call, and the endpoints answered
 *                     here (format_query, rules, alerts, status stubs)
 *
 * Long queries are not split by day and results are not cached yet; the
 * one place where a request becomes querier work (frontend_call_querier)
 * is where splitting and caching will go.
 */
#ifndef TR_SVC_QUERY_FRONTEND_INTERNAL_H
#define TR_SVC_QUERY_FRONTEND_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;
struct tr_http_server;
struct tr_rpc_client;

struct frontend {
    struct tr_rpc_client **queriers;
    size_t n_queriers;
    atomic_size_t next; /* round robin over queriers */
    bool auth_enabled;
    const char *no_auth_tenant; /* borrowed from the config */
    int64_t query_timeout_ms;   /* querier.timeout */
};

/*
 * Sends a packed querier.Prometheus request to a querier (in turn; the
 * next one if a querier is unreachable) and waits up to timeout_ms.
 * On success sets *status and replaces body with the querier's JSON.
 */
int frontend_call_querier(struct frontend *f, const void *req, size_t len,
                          int64_t timeout_ms, int *status, struct tr_buf *body,
                          struct tr_err *err);

/* Registers the Prometheus API under /api/v1 and /prometheus/api/v1. */
int frontend_prometheus_routes(struct frontend *f, struct tr_http_server *http,
                               struct tr_err *err);

#endif
