#include "http/server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/encoding.h"
#include "json/writer.h"
#include "metrics/registry.h"

#define DEFAULT_THREADS 4
#define DEFAULT_MAX_BODY (32u * 1024 * 1024)
#define DEFAULT_MAX_DECODED (64u * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 120000u
#define DEFAULT_STOP_GRACE_MS 10000u
/* Per-connection memory for MHD (request line + headers must fit): long
 * PromQL queries arrive in GET query strings. */
#define CONNECTION_MEMORY (128 * 1024)
/* Bytes of an over-limit chunked body we read and drop before giving up
 * on the connection (so the client can still see the 413). */
#define DISCARD_MAX (16u * 1024 * 1024)
#define MAX_PATH_PARAMS 8

/* ---- routes ----------------------------------------------------------- */

enum seg_kind {
    SEG_LIT = 0,   /* must equal the path segment */
    SEG_PARAM = 1, /* {name}: any one segment */
    SEG_REST = 2,  /* {name...}: all remaining segments */
};

struct seg {
    enum seg_kind kind;
    char *text; /* literal text or parameter name */
    size_t len;
};

struct route {
    char *pattern;
    unsigned methods;
    tr_http_handler_fn fn;
    void *arg;
    struct seg *segs;
    size_t nsegs;
};

struct kv {
    const char *key;
    const char *value;
};

struct tr_http_server {
    char *addr;
    char *name;
    uint16_t port_opt;
    uint16_t port;
    unsigned threads;
    size_t max_body;
    size_t max_decoded;
    unsigned timeout_ms;
    unsigned stop_grace_ms;
    struct route *routes;
    size_t nroutes;
    struct MHD_Daemon *daemon;
    int quiesced_fd; /* listen socket handed back by MHD_quiesce_daemon */
    bool stopped;
    atomic_int inflight;
    /* self-metrics */
    struct tr_histogram_vec *duration;
    struct tr_counter_vec *received;
    struct tr_gauge *inflight_gauge;
};

struct header {
    struct header *next;
    const char *name;
    const char *value;
};

struct tr_http_req {
    struct tr_http_server *srv;
    struct MHD_Connection *conn;
    struct tr_arena *arena;
    int64_t start_ns;
    bool started; /* first access-handler call seen */
    bool counted; /* included in inflight */
    const char *raw_uri;
    const char *method;
    unsigned method_bit;
    const char *path;
    const struct route *route; /* NULL: 404 or 405 */
    const char *route_label;
    unsigned allow; /* methods of routes matching the path */
    struct kv pparams[MAX_PATH_PARAMS];
    size_t npparams;
    struct kv *params; /* query + form, parsed on first use */
    size_t nparams;
    bool params_parsed;
    /* body */
    struct tr_buf raw;
    struct tr_buf body;
    size_t received;  /* body bytes read from the client */
    size_t discarded; /* of those, dropped after passing the limit */
    bool too_large;
    bool body_snappy;
    /* response */
    bool replied;
    int status;
    const char *content_type;
    char *resp_body; /* tr_malloc'd, handed to MHD when queued */
    size_t resp_len;
    struct header *headers;
    int queued_status; /* 0: nothing queued yet */
    char remote[80];
};

static unsigned
method_bit(const char *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } table[] = {
        {"GET", TR_HTTP_GET},   {"POST", TR_HTTP_POST},
        {"PUT", TR_HTTP_PUT},   {"DELETE", TR_HTTP_DELETE},
        {"HEAD", TR_HTTP_HEAD},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(m, table[i].name) == 0) {
            return table[i].bit;
        }
    }
    return 0;
}

static void
route_fini(struct route *r)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        tr_free(r->segs[i].text);
    }
    tr_free(r->segs);
    tr_free(r->pattern);
}

/* Splits pattern into segments. TR_OK, TR_EINVAL or TR_ENOMEM. */
static int
parse_pattern(struct route *r, const char *pattern, struct tr_err *err)
{
    if (pattern == NULL || pattern[0] != '/') {
        return tr_err_set(err, TR_EINVAL,
                          "cannot add route %s: pattern must start with /",
                          pattern != NULL ? pattern : "(null)");
    }
    r->pattern = tr_strdup(pattern);
    if (r->pattern == NULL) {
        return TR_ENOMEM;
    }
    size_t n = 0;
    for (const char *p = pattern; *p != '\0'; p++) {
        n += *p == '/';
    }
    if (strcmp(pattern, "/") == 0) {
        n = 0;
    }
    r->segs = tr_calloc(n > 0 ? n : 1, sizeof(struct seg));
    if (r->segs == NULL) {
        return TR_ENOMEM;
    }
    const char *p = pattern + 1;
    size_t nparams = 0;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(p, '/');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        struct seg *s = &r->segs[i];
        r->nsegs = i + 1;
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            const char *name = p + 1;
            size_t nlen = len - 2;
            s->kind = SEG_PARAM;
            if (nlen > 3 && memcmp(name + nlen - 3, "...", 3) == 0) {
                s->kind = SEG_REST;
                nlen -= 3;
                if (i + 1 != n) {
                    return tr_err_set(err, TR_EINVAL,
                                      "cannot add route %s: {%.*s...} must "
                                      "be the last segment",
                                      pattern, (int)nlen, name);
                }
            }
            if (nlen == 0 || memchr(name, '{', nlen) != NULL ||
                memchr(name, '}', nlen) != NULL) {
                return tr_err_set(err, TR_EINVAL,
                                  "cannot add route %s: bad parameter name",
                                  pattern);
            }
            if (++nparams > MAX_PATH_PARAMS) {
                return tr_err_set(err, TR_EINVAL,
                                  "cannot add route %s: more than %d "
                                  "parameters",
                                  pattern, MAX_PATH_PARAMS);
            }
            s->text = tr_strndup(name, nlen);
            s->len = nlen;
        } else {
            if (memchr(p, '{', len) != NULL || memchr(p, '}', len) != NULL) {
                return tr_err_set(err, TR_EINVAL,
                                  "cannot add route %s: a parameter must be "
                                  "a whole segment",
                                  pattern);
            }
            s->kind = SEG_LIT;
            s->text = tr_strndup(p, len);
            s->len = len;
        }
        if (s->text == NULL) {
            return TR_ENOMEM;
        }
        p = end != NULL ? end + 1 : p + len;
    }
    return TR_OK;
}

/*
 * Matches path against r, filling params (may be NULL). Path segments are
 * the pieces between slashes; "/" has none and "/a/" has "a" and "".
 */
static bool
route_match(const struct route *r, const char *path, struct kv *params,
            size_t *nparams, struct tr_arena *arena)
{
    const char *p = path[0] == '/' ? path + 1 : path;
    bool root = strcmp(path, "/") == 0;
    size_t np = 0;
    for (size_t i = 0; i < r->nsegs; i++) {
        const struct seg *s = &r->segs[i];
        if (root) {
            return false; /* "/" has no segments */
        }
        if (s->kind == SEG_REST) {
            if (params != NULL) {
                params[np].key = s->text;
                params[np].value = p;
                np++;
            }
            if (nparams != NULL) {
                *nparams = np;
            }
            return true;
        }
        if (p == NULL) {
            return false; /* path ran out */
        }
        const char *end = strchr(p, '/');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (s->kind == SEG_LIT) {
            if (len != s->len || memcmp(p, s->text, len) != 0) {
                return false;
            }
        } else {
            if (len == 0) {
                return false; /* {name} needs a non-empty segment */
            }
            if (params != NULL) {
                params[np].key = s->text;
                params[np].value = tr_arena_strndup(arena, p, len);
                if (params[np].value == NULL) {
                    return false;
                }
                np++;
            }
        }
        p = end != NULL ? end + 1 : NULL;
    }
    if (nparams != NULL) {
        *nparams = np;
    }
    /* All pattern segments used: the path must be used up too. */
    return r->nsegs == 0 ? root : p == NULL;
}

/* Negative when a is more specific than b (both match the same path). */
static int
route_cmp(const struct route *a, const struct route *b)
{
    size_t n = a->nsegs < b->nsegs ? a->nsegs : b->nsegs;
    for (size_t i = 0; i < n; i++) {
        if (a->segs[i].kind != b->segs[i].kind) {
            return (int)a->segs[i].kind - (int)b->segs[i].kind;
        }
    }
    /* Same kinds so far: the longer one has no rest where the other has. */
    return (int)b->nsegs - (int)a->nsegs;
}

/*
 * Picks the most specific route for the request and records the methods
 * of all routes matching the path (for 405's Allow header).
 */
static void
route_select(struct tr_http_req *req)
{
    struct tr_http_server *s = req->srv;
    const struct route *best = NULL;
    const struct route *best_any = NULL;
    unsigned want = req->method_bit;
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct route *r = &s->routes[i];
        if (!route_match(r, req->path, NULL, NULL, NULL)) {
            continue;
        }
        unsigned methods = r->methods;
        if (methods & TR_HTTP_GET) {
            methods |= TR_HTTP_HEAD;
        }
        req->allow |= methods;
        if (best_any == NULL || route_cmp(r, best_any) < 0) {
            best_any = r;
        }
        if ((methods & want) != 0 && (best == NULL || route_cmp(r, best) < 0)) {
            best = r;
        }
    }
    req->route = best;
    if (best != NULL) {
        req->route_label = best->pattern;
        route_match(best, req->path, req->pparams, &req->npparams, req->arena);
    } else {
        req->route_label = best_any != NULL ? best_any->pattern : "other";
    }
}

int
tr_http_route(struct tr_http_server *s, unsigned methods, const char *pattern,
              tr_http_handler_fn fn, void *arg, struct tr_err *err)
{
    if (s->daemon != NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot add route %s: server already started",
                          pattern);
    }
    if (fn == NULL || methods == 0) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot add route %s: no handler or no methods",
                          pattern);
    }
    for (size_t i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].pattern, pattern) == 0 &&
            (s->routes[i].methods & methods) != 0) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot add route %s: already registered for "
                              "some of these methods",
                              pattern);
        }
    }
    struct route r = {0};
    int rc = parse_pattern(&r, pattern, err);
    if (rc != TR_OK) {
        route_fini(&r);
        if (rc == TR_ENOMEM) {
            tr_err_set(err, rc, "cannot add route %s: out of memory", pattern);
        }
        return rc;
    }
    struct route *routes =
        tr_realloc(s->routes, (s->nroutes + 1) * sizeof(*routes));
    if (routes == NULL) {
        route_fini(&r);
        return tr_err_set(err, TR_ENOMEM, "cannot add route %s: out of memory",
                          pattern);
    }
    r.methods = methods;
    r.fn = fn;
    r.arg = arg;
    s->routes = routes;
    s->routes[s->nroutes++] = r;
    return TR_OK;
}

/* ---- parameters ------------------------------------------------------- */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Form decoding: '+' is a space, %XX a byte; a bad escape stays as is. */
static char *
form_unescape(struct tr_arena *a, const char *s, size_t len)
{
    char *out = tr_arena_alloc(a, len + 1);
    if (out == NULL) {
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* Appends the pairs of an application/x-www-form-urlencoded string. */
static int
parse_form(struct tr_http_req *req, const char *s, size_t len, size_t *cap)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != '&') {
            end++;
        }
        if (end > i) {
            size_t eq = i;
            while (eq < end && s[eq] != '=') {
                eq++;
            }
            if (req->nparams == *cap) {
                size_t ncap = *cap == 0 ? 16 : *cap * 2;
                struct kv *p = tr_arena_alloc(req->arena, ncap * sizeof(*p));
                if (p == NULL) {
                    return TR_ENOMEM;
                }
                if (req->nparams > 0) {
                    memcpy(p, req->params, req->nparams * sizeof(*p));
                }
                req->params = p;
                *cap = ncap;
            }
            struct kv *kv = &req->params[req->nparams];
            kv->key = form_unescape(req->arena, s + i, eq - i);
            kv->value =
                eq < end ? form_unescape(req->arena, s + eq + 1, end - eq - 1)
                         : "";
            if (kv->key == NULL || kv->value == NULL) {
                return TR_ENOMEM;
            }
            req->nparams++;
        }
        i = end + 1;
    }
    return TR_OK;
}

static bool
is_form_body(const struct tr_http_req *req)
{
    if (!(req->method_bit & (TR_HTTP_POST | TR_HTTP_PUT))) {
        return false;
    }
    const char *ct = tr_http_req_header(req, "Content-Type");
    return ct != NULL &&
           strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* Body values first, then the query string, as Go's ParseForm does. */
static void
parse_params(struct tr_http_req *req)
{
    if (req->params_parsed) {
        return;
    }
    req->params_parsed = true;
    size_t cap = 0;
    if (is_form_body(req)) {
        parse_form(req, req->body.data != NULL ? req->body.data : "",
                   req->body.len, &cap);
    }
    const char *q = req->raw_uri != NULL ? strchr(req->raw_uri, '?') : NULL;
    if (q != NULL) {
        const char *hash = strchr(q + 1, '#');
        size_t len = hash != NULL ? (size_t)(hash - q - 1) : strlen(q + 1);
        parse_form(req, q + 1, len, &cap);
    }
}

/* ---- request accessors ------------------------------------------------ */

const char *
tr_http_req_method(const struct tr_http_req *req)
{
    return req->method;
}

unsigned
tr_http_req_method_bit(const struct tr_http_req *req)
{
    return req->method_bit;
}

const char *
tr_http_req_path(const struct tr_http_req *req)
{
    return req->path;
}

const char *
tr_http_req_route(const struct tr_http_req *req)
{
    return req->route_label;
}

const char *
tr_http_req_path_param(const struct tr_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->npparams; i++) {
        if (strcmp(req->pparams[i].key, name) == 0) {
            return req->pparams[i].value;
        }
    }
    return NULL;
}

const char *
tr_http_req_param(const struct tr_http_req *req, const char *name)
{
    parse_params((struct tr_http_req *)req);
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].key, name) == 0) {
            return req->params[i].value;
        }
    }
    return NULL;
}

size_t
tr_http_req_param_all(const struct tr_http_req *req, const char *name,
                      const char *const **values)
{
    struct tr_http_req *r = (struct tr_http_req *)req;
    parse_params(r);
    size_t n = 0;
    for (size_t i = 0; i < r->nparams; i++) {
        n += strcmp(r->params[i].key, name) == 0;
    }
    *values = NULL;
    if (n == 0) {
        return 0;
    }
    const char **out = tr_arena_alloc(r->arena, n * sizeof(*out));
    if (out == NULL) {
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->nparams; i++) {
        if (strcmp(r->params[i].key, name) == 0) {
            out[k++] = r->params[i].value;
        }
    }
    *values = out;
    return n;
}

const char *
tr_http_req_header(const struct tr_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
tr_http_req_body(const struct tr_http_req *req, size_t *len)
{
    if (len != NULL) {
        *len = req->body.len;
    }
    return req->body.data != NULL ? req->body.data : "";
}

bool
tr_http_req_body_was_snappy(const struct tr_http_req *req)
{
    return req->body_snappy;
}

size_t
tr_http_req_max_decoded_bytes(const struct tr_http_req *req)
{
    return req->srv->max_decoded;
}

const char *
tr_http_req_remote_addr(const struct tr_http_req *req)
{
    struct tr_http_req *r = (struct tr_http_req *)req;
    if (r->remote[0] != '\0') {
        return r->remote;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[64];
    char serv[16];
    if (ci == NULL || ci->client_addr == NULL ||
        getnameinfo(ci->client_addr,
                    ci->client_addr->sa_family == AF_INET6
                        ? sizeof(struct sockaddr_in6)
                        : sizeof(struct sockaddr_in),
                    host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(r->remote, sizeof(r->remote), "unknown");
    } else if (ci->client_addr->sa_family == AF_INET6) {
        snprintf(r->remote, sizeof(r->remote), "[%.60s]:%.8s", host, serv);
    } else {
        snprintf(r->remote, sizeof(r->remote), "%.60s:%.8s", host, serv);
    }
    return r->remote;
}

int64_t
tr_http_req_deadline_ns(const struct tr_http_req *req)
{
    return req->start_ns + (int64_t)req->srv->timeout_ms * TR_NS_PER_MS;
}

struct tr_arena *
tr_http_req_arena(struct tr_http_req *req)
{
    return req->arena;
}

/* ---- responses -------------------------------------------------------- */

static void
set_response(struct tr_http_req *req, int status, const char *content_type,
             char *data, size_t len)
{
    tr_free(req->resp_body);
    req->replied = true;
    req->status = status;
    req->content_type =
        content_type != NULL
            ? tr_arena_strndup(req->arena, content_type, strlen(content_type))
            : NULL;
    req->resp_body = data;
    req->resp_len = len;
}

int
tr_http_reply(struct tr_http_req *req, int status, const char *content_type,
              const void *body, size_t len)
{
    char *copy = NULL;
    if (len > 0) {
        copy = tr_malloc(len);
        if (copy == NULL) {
            set_response(req, 500, NULL, NULL, 0);
            return TR_ENOMEM;
        }
        memcpy(copy, body, len);
    }
    set_response(req, status, content_type, copy, len);
    return TR_OK;
}

int
tr_http_reply_buf(struct tr_http_req *req, int status, const char *content_type,
                  struct tr_buf *body)
{
    size_t len = 0;
    char *data = tr_buf_detach(body, &len);
    set_response(req, status, content_type, data, len);
    return TR_OK;
}

int
tr_http_add_header(struct tr_http_req *req, const char *name, const char *value)
{
    struct header *h = tr_arena_alloc(req->arena, sizeof(*h));
    if (h == NULL) {
        return TR_ENOMEM;
    }
    h->name = tr_arena_strndup(req->arena, name, strlen(name));
    h->value = tr_arena_strndup(req->arena, value, strlen(value));
    if (h->name == NULL || h->value == NULL) {
        return TR_ENOMEM;
    }
    h->next = req->headers;
    req->headers = h;
    return TR_OK;
}

int
tr_http_reply_prom_error(struct tr_http_req *req, int status,
                         const char *error_type, const char *fmt, ...)
{
    char msg[TR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    tr_json_object_begin(&w);
    tr_json_key(&w, "status");
    tr_json_string(&w, "error");
    tr_json_key(&w, "errorType");
    tr_json_string(&w, error_type);
    tr_json_key(&w, "error");
    tr_json_string(&w, msg);
    tr_json_object_end(&w);
    if (tr_json_finish(&w) != TR_OK) {
        tr_buf_fini(&b);
        set_response(req, 500, NULL, NULL, 0);
        return TR_ENOMEM;
    }
    return tr_http_reply_buf(req, status, "application/json", &b);
}

int
tr_http_reply_text_error(struct tr_http_req *req, int status, const char *fmt,
                         ...)
{
    struct tr_buf b = TR_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = tr_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc != TR_OK || tr_buf_append_byte(&b, '\n') != TR_OK) {
        tr_buf_fini(&b);
        set_response(req, 500, NULL, NULL, 0);
        return TR_ENOMEM;
    }
    return tr_http_reply_buf(req, status, "text/plain; charset=utf-8", &b);
}

void
tr_http_metrics_handler(struct tr_http_req *req, void *arg)
{
    struct tr_metrics_registry *r = arg != NULL ? arg : tr_metrics_default();
    struct tr_buf b = TR_BUF_INIT;
    if (tr_metrics_expose(r, &b) != TR_OK) {
        tr_buf_fini(&b);
        tr_http_reply_text_error(req, 500, "cannot expose metrics: %s",
                                 "out of memory");
        return;
    }
    tr_http_reply_buf(req, 200, TR_METRICS_CONTENT_TYPE, &b);
}

/* Hands the response to MHD. On failure MHD closes the connection. */
static enum MHD_Result
queue_response(struct tr_http_req *req)
{
    if (!req->replied) {
        tr_log_error("handler produced no response", "route=%s",
                     req->route_label);
        tr_http_reply_text_error(req, 500, "internal error: no response");
    }
    struct MHD_Response *resp;
    if (req->resp_len > 0) {
        resp = MHD_create_response_from_buffer_with_free_callback(
            req->resp_len, req->resp_body, tr_free);
        if (resp != NULL) {
            req->resp_body = NULL; /* MHD frees it now */
        }
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    if (req->content_type != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                req->content_type);
    }
    for (struct header *h = req->headers; h != NULL; h = h->next) {
        MHD_add_response_header(resp, h->name, h->value);
    }
    enum MHD_Result ok =
        MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        req->queued_status = req->status;
    }
    return ok;
}

/* ---- MHD callbacks ---------------------------------------------------- */

static void
req_free(struct tr_http_req *req)
{
    if (req == NULL) {
        return;
    }
    tr_buf_fini(&req->raw);
    tr_buf_fini(&req->body);
    tr_free(req->resp_body);
    tr_arena_destroy(req->arena);
    tr_free(req);
}

/* Called by MHD with the raw URI (query included) before the headers: the
 * request object is born here and dies in on_completed. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct tr_http_req *req = tr_calloc(1, sizeof(*req));
    if (req == NULL) {
        return NULL;
    }
    req->srv = cls;
    req->conn = conn;
    req->start_ns = tr_mono_ns();
    req->arena = tr_arena_create(0);
    if (req->arena == NULL) {
        req_free(req);
        return NULL;
    }
    req->raw_uri = tr_arena_strndup(req->arena, uri, strlen(uri));
    return req;
}

static void
record_metrics(struct tr_http_req *req)
{
    struct tr_http_server *s = req->srv;
    if (req->queued_status != 0) {
        char code[8];
        snprintf(code, sizeof(code), "%d", req->queued_status);
        const char *method = req->method_bit != 0 ? req->method : "other";
        const char *values[] = {method, req->route_label, code};
        struct tr_histogram *h = tr_histogram_vec_get(s->duration, values);
        tr_histogram_observe(h, (double)(tr_mono_ns() - req->start_ns) / 1e9);
    }
    size_t bytes = req->received;
    if (bytes > 0) {
        const char *values[] = {req->route_label};
        tr_counter_add_u64(tr_counter_vec_get(s->received, values), bytes);
    }
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct tr_http_req *req = *con_cls;
    if (req == NULL) {
        return;
    }
    if (req->started && req->route_label != NULL) {
        record_metrics(req);
    }
    if (req->counted) {
        tr_gauge_dec(req->srv->inflight_gauge);
        atomic_fetch_sub(&req->srv->inflight, 1);
    }
    req_free(req);
    *con_cls = NULL;
}

/* Decodes the body and runs the handler (or answers 404/405). */
static void
dispatch(struct tr_http_req *req)
{
    struct tr_http_server *s = req->srv;
    if (req->too_large) {
        tr_http_reply_text_error(req, 413,
                                 "request body too large: limit is %zu bytes",
                                 s->max_body);
        return;
    }
    if (req->route == NULL) {
        if (req->allow == 0) {
            tr_http_reply_text_error(req, 404, "not found: %s", req->path);
            return;
        }
        char allow[64] = "";
        static const char *const names[] = {"GET", "POST", "PUT", "DELETE",
                                            "HEAD"};
        for (int i = 0; i < 5; i++) {
            if (req->allow & (1u << i)) {
                if (allow[0] != '\0') {
                    strcat(allow, ", ");
                }
                strcat(allow, names[i]);
            }
        }
        tr_http_add_header(req, "Allow", allow);
        tr_http_reply_text_error(req, 405,
                                 "method %s not allowed for %s (allowed: %s)",
                                 req->method, req->path, allow);
        return;
    }
    const char *enc = tr_http_req_header(req, "Content-Encoding");
    struct tr_err err;
    tr_err_clear(&err);
    if (req->raw.len > 0 || (enc != NULL && *enc != '\0')) {
        int rc = TR_OK;
        if (enc == NULL || *enc == '\0' || strcasecmp(enc, "identity") == 0) {
            /* No decoding: the received buffer becomes the body. */
            if (req->raw.len > s->max_decoded) {
                rc = tr_err_set(&err, TR_ELIMIT,
                                "cannot read body: %zu bytes exceed the "
                                "limit of %zu bytes",
                                req->raw.len, s->max_decoded);
            } else {
                req->body = req->raw;
                req->raw = (struct tr_buf)TR_BUF_INIT;
            }
        } else {
            rc = tr_http_decode(enc, req->raw.data, req->raw.len,
                                s->max_decoded, &req->body, &err);
            req->body_snappy = rc == TR_OK && strcasecmp(enc, "snappy") == 0;
        }
        if (rc != TR_OK) {
            int status = rc == TR_ELIMIT      ? 413
                         : rc == TR_ENOTFOUND ? 415
                         : rc == TR_ENOMEM    ? 500
                                              : 400;
            tr_http_reply_text_error(req, status, "%s", err.msg);
            return;
        }
    }
    req->route->fn(req, req->route->arg);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
    struct tr_http_server *s = cls;
    struct tr_http_req *req = *con_cls;
    if (req == NULL) {
        return MHD_NO; /* on_uri ran out of memory */
    }
    if (!req->started) {
        req->started = true;
        req->counted = true;
        atomic_fetch_add(&s->inflight, 1);
        tr_gauge_inc(s->inflight_gauge);
        req->method = tr_arena_strndup(req->arena, method, strlen(method));
        req->path = tr_arena_strndup(req->arena, url, strlen(url));
        if (req->method == NULL || req->path == NULL) {
            return MHD_NO;
        }
        req->method_bit = method_bit(method);
        route_select(req);
        /* Refuse an announced oversized body before reading any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > s->max_body) {
            req->too_large = true;
            dispatch(req);
            return queue_response(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        req->received += n;
        if (!req->too_large && req->raw.len + n > s->max_body) {
            req->too_large = true;
            req->discarded = req->raw.len;
            tr_buf_fini(&req->raw);
        }
        if (req->too_large) {
            /* MHD cannot answer mid-upload: drop the data and answer 413
             * at the end, unless the client keeps sending far too much. */
            req->discarded += n;
            return req->discarded > s->max_body + DISCARD_MAX ? MHD_NO
                                                              : MHD_YES;
        }
        if (tr_buf_append(&req->raw, upload_data, n) != TR_OK) {
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (req->queued_status != 0) {
        return MHD_YES; /* answered on the first call already */
    }
    dispatch(req);
    return queue_response(req);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct tr_http_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    tr_log_warn("http server", "server=%s mhd=\"%s\"", s->name, msg);
}

/* ---- server lifecycle ------------------------------------------------- */

struct tr_http_server *
tr_http_server_create(const struct tr_http_server_opts *opts,
                      struct tr_err *err)
{
    struct tr_http_server *s = tr_calloc(1, sizeof(*s));
    if (s == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create http server: out of memory");
        return NULL;
    }
    s->quiesced_fd = -1;
    s->addr = tr_strdup(opts->addr != NULL ? opts->addr : "0.0.0.0");
    s->name = tr_strdup(opts->name != NULL ? opts->name : "http");
    if (s->addr == NULL || s->name == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create http server: out of memory");
        goto fail;
    }
    s->port_opt = opts->port;
    s->threads = opts->threads != 0 ? opts->threads : DEFAULT_THREADS;
    s->max_body =
        opts->max_body_bytes != 0 ? opts->max_body_bytes : DEFAULT_MAX_BODY;
    s->max_decoded = opts->max_decoded_bytes != 0 ? opts->max_decoded_bytes
                                                  : DEFAULT_MAX_DECODED;
    s->timeout_ms =
        opts->timeout_ms != 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->stop_grace_ms =
        opts->stop_grace_ms != 0 ? opts->stop_grace_ms : DEFAULT_STOP_GRACE_MS;
    struct tr_metrics_registry *m =
        opts->metrics != NULL ? opts->metrics : tr_metrics_default();
    s->duration = tr_histogram_vec_register(
        m, "tr_request_duration_seconds",
        "Time to serve HTTP requests, by method, route and status code.", NULL,
        0, (const char *[]){"method", "route", "status_code"}, 3, err);
    s->received = tr_counter_vec_register(
        m, "tr_request_received_bytes_total",
        "HTTP request body bytes received (before decoding), by route.",
        (const char *[]){"route"}, 1, err);
    s->inflight_gauge = tr_gauge_register(m, "tr_inflight_requests",
                                          "HTTP requests being served.", err);
    if (s->duration == NULL || s->received == NULL ||
        s->inflight_gauge == NULL) {
        tr_err_prefix(err, "cannot create http server");
        goto fail;
    }
    return s;
fail:
    tr_http_server_destroy(s);
    return NULL;
}

int
tr_http_server_start(struct tr_http_server *s, struct tr_err *err)
{
    if (s->daemon != NULL || s->stopped) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot start http server %s: already started",
                          s->name);
    }
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)s->port_opt);
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(s->addr, port, &hints, &ai);
    if (gai != 0 || ai == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot start http server %s: cannot resolve "
                          "listen address %s: %s",
                          s->name, s->addr, gai_strerror(gai));
    }
    /* poll(), not epoll: with epoll, libmicrohttpd 0.9.75 does not notice
     * a client that disconnects in the middle of a request body, and the
     * request stays in flight until the idle timeout (measured; see
     * test_broken_clients). A pool of poll threads is plenty here. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    unsigned timeout_s = (s->timeout_ms + 999) / 1000;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        /* The logger must come first to catch option errors too. */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_SOCK_ADDR,
        ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)s->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (s->daemon == NULL) {
        return tr_err_set(err, TR_EIO,
                          "cannot start http server %s on %s:%u: "
                          "libmicrohttpd failed (address in use?)",
                          s->name, s->addr, (unsigned)s->port_opt);
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di != NULL ? di->port : s->port_opt;
    tr_log_info("http server started", "server=%s addr=%s port=%u threads=%u",
                s->name, s->addr, (unsigned)s->port, s->threads);
    return TR_OK;
}

uint16_t
tr_http_server_port(const struct tr_http_server *s)
{
    return s->daemon != NULL ? s->port : 0;
}

void
tr_http_server_stop(struct tr_http_server *s)
{
    if (s == NULL || s->daemon == NULL) {
        return;
    }
    /* Stop accepting, let requests in flight finish, then shut down. */
    s->quiesced_fd = MHD_quiesce_daemon(s->daemon);
    int64_t deadline = tr_mono_ns() + (int64_t)s->stop_grace_ms * TR_NS_PER_MS;
    while (atomic_load(&s->inflight) > 0 && tr_mono_ns() < deadline) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&s->inflight);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    s->stopped = true;
    if (s->quiesced_fd >= 0) {
        close(s->quiesced_fd);
        s->quiesced_fd = -1;
    }
    if (left > 0) {
        tr_log_warn("http server stopped with requests in flight",
                    "server=%s requests=%d", s->name, left);
    } else {
        tr_log_info("http server stopped", "server=%s", s->name);
    }
}

void
tr_http_server_destroy(struct tr_http_server *s)
{
    if (s == NULL) {
        return;
    }
    tr_http_server_stop(s);
    for (size_t i = 0; i < s->nroutes; i++) {
        route_fini(&s->routes[i]);
    }
    tr_free(s->routes);
    tr_free(s->addr);
    tr_free(s->name);
    tr_free(s);
}
