/*
 * The query-frontend module: the read entry point. Query APIs that are not
 * implemented yet answer 501 naming themselves, so a Grafana data source
 * pointed at them fails clearly instead of with a 404.
 */
#include "query_frontend.h"

#include <stddef.h>

#include "app/server.h"
#include "base/err.h"
#include "http/server.h"

static const struct {
    const char *pattern;
    const char *name;
} pending_apis[] = {
    {"/prometheus/api/v1/{rest...}", "the Prometheus query API"},
    {"/api/v1/{rest...}", "the Prometheus query API"},
    {"/loki/api/v1/{rest...}", "the Loki query API"},
    {"/tempo/api/{rest...}", "the Tempo query API"},
    {"/api/search", "Tempo search"},
    {"/api/echo", "the Tempo API"},
};

static int
query_frontend_start(struct tr_app *app, void **state, struct tr_err *err)
{
    struct tr_http_server *http = tr_server_http(tr_server_of(app));
    for (size_t i = 0; i < sizeof(pending_apis) / sizeof(pending_apis[0]);
         i++) {
        if (tr_http_route(http, TR_HTTP_GET | TR_HTTP_POST,
                          pending_apis[i].pattern, tr_server_not_implemented,
                          (void *)pending_apis[i].name, err) != TR_OK) {
            return err != NULL ? err->code : TR_EINVAL;
        }
    }
    *state = NULL;
    return TR_OK;
}

static const char *const query_frontend_deps[] = {"server", NULL};

const struct tr_module tr_query_frontend_module = {
    .name = "query-frontend",
    .deps = query_frontend_deps,
    .is_role = true,
    .start = query_frontend_start,
};
