/*
 * HTTP/1.1 server on libmicrohttpd with a router, bounded and decoded
 * request bodies, and self-metrics.
 *
 * A server owns its own routes; several servers may run in one process
 * (the main port and the OTLP port). Handlers run synchronously on MHD's
 * internal thread pool: a handler reads the request through the accessors
 * below, fills the response with one of the tr_http_reply* calls and
 * returns. Keep-alive works as usual for HTTP/1.1.
 *
 *   struct tr_http_server_opts o = {.addr = "127.0.0.1", .port = 3100};
 *   struct tr_http_server *s = tr_http_server_create(&o, &err);
 *   tr_http_route(s, TR_HTTP_GET | TR_HTTP_POST, "/api/v1/query",
 *                 query_handler, ctx, &err);
 *   tr_http_route(s, TR_HTTP_GET, "/metrics", tr_http_metrics_handler,
 *                 NULL, &err);
 *   tr_http_server_start(s, &err);
 *   ...
 *   tr_http_server_stop(s);
 *   tr_http_server_destroy(s);
 *
 * Request bodies are read up to max_body_bytes (larger ones get 413 before
 * any of them is buffered when Content-Length says so, or as soon as the
 * limit is passed otherwise), then decoded per Content-Encoding (gzip,
 * deflate, snappy; limit max_decoded_bytes, 413 when passed, 400 when
 * corrupt; any other encoding gets 415) before the handler runs.
 *
 * Self-metrics, in the registry given at creation (default registry if
 * NULL): tr_request_duration_seconds histogram {method, route,
 * status_code} where route is the matched pattern ("other" when nothing
 * matched), tr_request_received_bytes_total counter {route} (body bytes as
 * received, before decoding) and tr_inflight_requests gauge.
 */
#ifndef TR_HTTP_SERVER_H
#define TR_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_arena;
struct tr_buf;
struct tr_err;
struct tr_metrics_registry;

/* Methods, as a bitmask for routes. A route with GET also answers HEAD. */
enum {
    TR_HTTP_GET = 1 << 0,
    TR_HTTP_POST = 1 << 1,
    TR_HTTP_PUT = 1 << 2,
    TR_HTTP_DELETE = 1 << 3,
    TR_HTTP_HEAD = 1 << 4,
};

struct tr_http_server_opts {
    const char *addr;      /* numeric IPv4/IPv6 or host name; NULL: 0.0.0.0 */
    uint16_t port;         /* 0: the kernel picks; read it back with _port() */
    unsigned threads;      /* MHD thread pool size; 0: 4 */
    size_t max_body_bytes; /* request body as received; 0: 32 MiB */
    size_t max_decoded_bytes; /* after Content-Encoding; 0: 64 MiB */
    /* Connections idle this long are closed, and handlers can read the
     * request deadline (start + timeout); 0: 120 s. Rounded up to whole
     * seconds for MHD. */
    unsigned timeout_ms;
    /* How long stop waits for requests in flight to finish; 0: 10 s. */
    unsigned stop_grace_ms;
    /* Where self-metrics go (borrowed); NULL: tr_metrics_default(). */
    struct tr_metrics_registry *metrics;
    /* Name for log lines ("http", "otlp-http"); NULL: "http". */
    const char *name;
};

struct tr_http_server;
struct tr_http_req;

/*
 * A handler: reads req, replies with tr_http_reply* and returns. A handler
 * that returns without replying produces a logged 500. arg is the pointer
 * given to tr_http_route.
 */
typedef void (*tr_http_handler_fn)(struct tr_http_req *req, void *arg);

/* ---- server ----------------------------------------------------------- */

/*
 * Creates a stopped server with no routes. opts is copied (strings too).
 * NULL with err set on bad options or ENOMEM.
 */
struct tr_http_server *
tr_http_server_create(const struct tr_http_server_opts *opts,
                      struct tr_err *err);

/*
 * Adds a route. methods is a mask of TR_HTTP_*; pattern is an absolute
 * path whose segments are literals, "{name}" (one whole segment, exposed
 * through tr_http_req_path_param) or, as the last segment only,
 * "{name...}" (the rest of the path, possibly empty, slashes included).
 * When several routes match a path the most specific wins: segment by
 * segment a literal beats a parameter, which beats a rest parameter; an
 * exact route therefore always beats a parameter route. The same pattern
 * may be registered again with other methods (e.g. a different handler
 * for POST). Routes must be added before tr_http_server_start.
 * TR_EINVAL for a malformed pattern or overlapping methods on the same
 * pattern, TR_ENOMEM.
 */
int tr_http_route(struct tr_http_server *s, unsigned methods,
                  const char *pattern, tr_http_handler_fn fn, void *arg,
                  struct tr_err *err);

/*
 * Binds and starts serving. TR_EIO with the cause (e.g. address in use)
 * if MHD cannot start.
 */
int tr_http_server_start(struct tr_http_server *s, struct tr_err *err);

/* The port bound (useful with port 0); 0 when not started. */
uint16_t tr_http_server_port(const struct tr_http_server *s);

/*
 * Stops accepting connections, waits up to stop_grace_ms for requests in
 * flight to finish and their responses to be sent, then closes every
 * connection and joins the threads. Idempotent; a stopped server may not
 * be started again.
 */
void tr_http_server_stop(struct tr_http_server *s);

/* Stops (if running) and frees. NULL is allowed. */
void tr_http_server_destroy(struct tr_http_server *s);

/* ---- request accessors (valid only during the handler) ---------------- */

/* "GET", "POST", ... and its TR_HTTP_* bit (0 for other methods). */
const char *tr_http_req_method(const struct tr_http_req *req);
unsigned tr_http_req_method_bit(const struct tr_http_req *req);

/* The decoded path, without the query string. */
const char *tr_http_req_path(const struct tr_http_req *req);

/* The route pattern that matched ("/api/v1/label/{name}/values"). */
const char *tr_http_req_route(const struct tr_http_req *req);

/* A path parameter of the matched route by name; NULL if there is none. */
const char *tr_http_req_path_param(const struct tr_http_req *req,
                                   const char *name);

/*
 * The first value of a query or form parameter, NULL if absent. Like Go's
 * Request.FormValue (which Prometheus uses): values from an
 * application/x-www-form-urlencoded body (POST, PUT) come first, then
 * those from the query string.
 */
const char *tr_http_req_param(const struct tr_http_req *req, const char *name);

/*
 * All values of a repeated parameter ("match[]") in the same order as
 * above. *values points to an array (in the request arena) of the
 * returned count; NULL when the count is 0.
 */
size_t tr_http_req_param_all(const struct tr_http_req *req, const char *name,
                             const char *const **values);

/* A request header by name (case-insensitive); NULL if absent. */
const char *tr_http_req_header(const struct tr_http_req *req, const char *name);

/*
 * The request body after Content-Encoding decoding (NUL-terminated for
 * convenience; len excludes the NUL). Empty body: "" and 0. Owned by the
 * request.
 */
const char *tr_http_req_body(const struct tr_http_req *req, size_t *len);

/* True when the body arrived with Content-Encoding: snappy and was
 * decoded; handlers whose bodies are always snappy (remote write, Loki
 * protobuf push) decode it themselves otherwise. */
bool tr_http_req_body_was_snappy(const struct tr_http_req *req);

/* The limit for decoding more of the body in a handler. */
size_t tr_http_req_max_decoded_bytes(const struct tr_http_req *req);

/* The client address as "ip:port" ("[ip6]:port" for IPv6). */
const char *tr_http_req_remote_addr(const struct tr_http_req *req);

/* Request deadline on the tr_mono_ns() clock (start + timeout). */
int64_t tr_http_req_deadline_ns(const struct tr_http_req *req);

/* Arena freed after the response has been sent. Never NULL. */
struct tr_arena *tr_http_req_arena(struct tr_http_req *req);

/* ---- responses -------------------------------------------------------- */

/*
 * Sets the response: status, Content-Type (NULL: none) and a copy of the
 * body (len bytes). Calling a reply function again replaces the earlier
 * response. TR_OK or TR_ENOMEM (then the client gets a 500).
 */
int tr_http_reply(struct tr_http_req *req, int status, const char *content_type,
                  const void *body, size_t len);

/* Like tr_http_reply but takes body's data (the buffer is left empty). */
int tr_http_reply_buf(struct tr_http_req *req, int status,
                      const char *content_type, struct tr_buf *body);

/* Adds a response header (copied). TR_OK or TR_ENOMEM. */
int tr_http_add_header(struct tr_http_req *req, const char *name,
                       const char *value);

/*
 * A Prometheus API error: {"status":"error","errorType":<type>,
 * "error":<message>} with Content-Type application/json.
 */
int tr_http_reply_prom_error(struct tr_http_req *req, int status,
                             const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A plain text error (Loki push style): the message and a newline. */
int tr_http_reply_text_error(struct tr_http_req *req, int status,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Handler that serves a registry in the text exposition format; arg is a
 * struct tr_metrics_registry * or NULL for the default registry.
 */
void tr_http_metrics_handler(struct tr_http_req *req, void *arg);

#endif
