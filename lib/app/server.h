/*
 * The "server" module: the listeners every role shares. It owns the main
 * HTTP server (server.http_listen_port: query APIs, pushes, operations
 * endpoints), the OTLP/HTTP server (server.otlp_http_listen_port), and the
 * internal RPC server (inproc:// for roles in this process, tcp:// for
 * roles elsewhere).
 *
 * Roles depend on "server", fetch it with tr_server_of(app) in their
 * start(), and register routes and RPC handlers there; the listeners open
 * only once every module has started (see tr_module.serve).
 *
 * It also serves the operations endpoints of every process: /ready,
 * /metrics, /services, /config and the build-info endpoints.
 */
#ifndef TR_APP_SERVER_H
#define TR_APP_SERVER_H

#include "app/app.h"

struct tr_http_req;
struct tr_http_server;
struct tr_rpc_server;
struct tr_server;

extern const struct tr_module tr_server_module;

/* The running server module of app (borrowed), or NULL. */
struct tr_server *tr_server_of(struct tr_app *app);

/* The main HTTP server; routes may be added until the listeners open. */
struct tr_http_server *tr_server_http(struct tr_server *s);
/* The OTLP/HTTP server, or NULL when disabled (port -1). */
struct tr_http_server *tr_server_otlp_http(struct tr_server *s);
/* The RPC server; handlers may be added until the listeners open. */
struct tr_rpc_server *tr_server_rpc(struct tr_server *s);
/* The inproc:// endpoint of this process's RPC server. */
const char *tr_server_rpc_local_endpoint(const struct tr_server *s);

/*
 * Handler for endpoints that are not implemented yet: answers 501 with
 * "<name> is not implemented yet". arg is the endpoint's name (a string
 * that outlives the server).
 */
void tr_server_not_implemented(struct tr_http_req *req, void *arg);

#endif
