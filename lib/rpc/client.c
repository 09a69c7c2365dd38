/*
 * RPC client: a small pool of DEALER sockets, one borrowed per call.
 *
 * Why a pool rather than one shared DEALER with a background I/O thread:
 * a call then runs entirely on the caller's thread (send, poll, receive,
 * stream callbacks), with no hand-off queues, no wake-ups and no thread to
 * stop, and a socket is only ever used by one thread at a time, which is
 * what ZeroMQ requires (the pool mutex is the memory barrier it asks for
 * when a socket moves between threads). The cost is one connection per
 * concurrent caller, bounded by how many calls run at once; idle sockets
 * beyond max_idle_sockets are closed.
 *
 * Each socket numbers its requests; an answer whose id is not the one
 * being waited for (the late reply of a call that timed out, the tail of
 * a canceled stream) is discarded, so a socket can always go back to the
 * pool whatever happened to its last call.
 *
 * ZMQ_IMMEDIATE keeps messages from queueing for a peer that is not
 * connected: a send to a down peer waits for a connection until the
 * deadline and fails with TR_EUNAVAIL instead of being delivered long
 * after the caller gave up. ZeroMQ reconnects by itself; a restarted
 * server does not know the new connection and answers HELLO_REQUIRED, on
 * which the call says hello again and resends once.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "rpc/wire.h"

struct csock {
    void *zs;
    uint64_t last_id;
    bool hello_done;
};

struct tr_rpc_client {
    void *ctx;
    char *endpoint;
    char *name;
    int default_timeout_ms;
    int max_idle;
    pthread_mutex_t lock;
    struct csock **idle;
    int n_idle;
};

/* What one call needs while it runs. */
struct call_ctx {
    struct tr_rpc_client *c;
    struct csock *s;
    const char *method;
    int timeout_ms;
    int64_t deadline_ns;
    bool stream;
    tr_rpc_stream_fn fn;
    void *fn_arg;
    struct tr_buf *resp;
    struct tr_err *err;
};

static int call_error(struct call_ctx *cc, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets "cannot call <method> on <endpoint>: <cause>" and returns code. */
static int
call_error(struct call_ctx *cc, int code, const char *fmt, ...)
{
    if (cc->err == NULL) {
        return code;
    }
    char cause[TR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    return tr_err_set(cc->err, code, "cannot call %s on %s: %s", cc->method,
                      cc->c->endpoint, cause);
}

static void
set_int_opt(void *sock, int opt, int value)
{
    zmq_setsockopt(sock, opt, &value, sizeof(value));
}

static void
csock_close(struct csock *s)
{
    if (s != NULL) {
        rpc_wire_close(s->zs);
        tr_free(s);
    }
}

static struct csock *
csock_open(struct tr_rpc_client *c, struct tr_err *err)
{
    struct csock *s = tr_calloc(1, sizeof(*s));
    if (s == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot connect to %s: out of memory",
                   c->endpoint);
        return NULL;
    }
    s->zs = zmq_socket(c->ctx, ZMQ_DEALER);
    if (s->zs == NULL) {
        tr_err_set(err, TR_EIO, "cannot connect to %s: %s", c->endpoint,
                   zmq_strerror(errno));
        tr_free(s);
        return NULL;
    }
    set_int_opt(s->zs, ZMQ_LINGER, 0);
    set_int_opt(s->zs, ZMQ_IMMEDIATE, 1);
    /* Streams are never dropped on the way in; the caller bounds them. */
    set_int_opt(s->zs, ZMQ_RCVHWM, 0);
    /* Fixed 100 ms reconnects: a restarted peer is found again at once. */
    set_int_opt(s->zs, ZMQ_RECONNECT_IVL, 100);
    /* Drop half-open TCP connections (peer host gone without a reset). */
    set_int_opt(s->zs, ZMQ_HEARTBEAT_IVL, 2000);
    set_int_opt(s->zs, ZMQ_HEARTBEAT_TIMEOUT, 6000);
    if (zmq_connect(s->zs, c->endpoint) != 0) {
        int e = errno;
        tr_err_set(err, e == ENOMEM ? TR_ENOMEM : TR_EINVAL,
                   "cannot connect to %s: %s", c->endpoint, zmq_strerror(e));
        csock_close(s);
        return NULL;
    }
    return s;
}

static struct csock *
pool_get(struct tr_rpc_client *c, struct tr_err *err)
{
    struct csock *s = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_idle > 0) {
        s = c->idle[--c->n_idle];
    }
    pthread_mutex_unlock(&c->lock);
    return s != NULL ? s : csock_open(c, err);
}

static void
pool_put(struct tr_rpc_client *c, struct csock *s)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_idle < c->max_idle) {
        c->idle[c->n_idle++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    csock_close(s);
}

/*
 * Sends header + payload, waiting until the deadline for a connection.
 * TR_OK, or TR_EUNAVAIL (not connected in time, context gone).
 */
static int
send_msg(struct call_ctx *cc, const tr_rpc_header_pb *hdr, const void *data,
         size_t len)
{
    void *zs = cc->s->zs;
    for (;;) {
        if (rpc_wire_send_header(zs, hdr, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            return call_error(cc, TR_EUNAVAIL, "cannot send: %s",
                              zmq_strerror(errno));
        }
        int ms = rpc_ms_left(cc->deadline_ns);
        zmq_pollitem_t item = {zs, 0, ZMQ_POLLOUT, 0};
        int n = ms > 0 ? zmq_poll(&item, 1, ms) : 0;
        if (n < 0 && errno != EINTR) {
            return call_error(cc, TR_EUNAVAIL, "cannot send: %s",
                              zmq_strerror(errno));
        }
        if (n == 0 && rpc_ms_left(cc->deadline_ns) == 0) {
            return call_error(cc, TR_EUNAVAIL,
                              "not connected within %d ms "
                              "(peer down?)",
                              cc->timeout_ms);
        }
    }
    /* The other frames of a message whose first frame went never block. */
    if (rpc_wire_send_copy(zs, data, len, 0) != 0) {
        return call_error(cc, TR_EUNAVAIL, "cannot send: %s",
                          zmq_strerror(errno));
    }
    return TR_OK;
}

/* Best effort: tells the server to stop working on id. */
static void
send_cancel(struct csock *s, uint64_t id)
{
    tr_rpc_header_pb hdr = TRIDENT__RPC__HEADER__INIT;
    hdr.kind = TRIDENT__RPC__KIND__KIND_CANCEL;
    hdr.id = id;
    if (rpc_wire_send_header(s->zs, &hdr, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0) {
        rpc_wire_send_copy(s->zs, NULL, 0, 0);
    }
}

/*
 * Receives the next well-formed answer carrying id (others are stale and
 * dropped). TR_OK with *hdr and payload set, TR_ETIMEOUT at the deadline
 * (no error message set), TR_EUNAVAIL when the socket fails.
 */
static int
recv_answer(struct call_ctx *cc, uint64_t id, tr_rpc_header_pb **hdr,
            zmq_msg_t *payload)
{
    void *zs = cc->s->zs;
    for (;;) {
        int rc = rpc_wire_recv(zs, hdr, payload, ZMQ_DONTWAIT);
        if (rc == 0) {
            if ((*hdr)->id == id) {
                return TR_OK;
            }
            rpc_wire_header_free(*hdr);
            zmq_msg_close(payload);
            continue;
        }
        if (rc == 1 || (rc < 0 && errno == EINTR)) {
            continue;
        }
        if (errno != EAGAIN) {
            return call_error(cc, TR_EUNAVAIL, "cannot receive: %s",
                              zmq_strerror(errno));
        }
        int ms = rpc_ms_left(cc->deadline_ns);
        if (ms == 0) {
            return TR_ETIMEOUT;
        }
        zmq_pollitem_t item = {zs, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, ms) < 0 && errno != EINTR) {
            return call_error(cc, TR_EUNAVAIL, "cannot receive: %s",
                              zmq_strerror(errno));
        }
    }
}

static int
say_hello(struct call_ctx *cc)
{
    struct csock *s = cc->s;
    tr_rpc_header_pb hdr = TRIDENT__RPC__HEADER__INIT;
    hdr.kind = TRIDENT__RPC__KIND__KIND_HELLO;
    hdr.id = ++s->last_id;
    hdr.version = TR_RPC_PROTOCOL_VERSION;
    hdr.peer = cc->c->name;
    int rc = send_msg(cc, &hdr, NULL, 0);
    if (rc != TR_OK) {
        return rc;
    }
    for (;;) {
        tr_rpc_header_pb *in;
        zmq_msg_t payload;
        rc = recv_answer(cc, hdr.id, &in, &payload);
        if (rc == TR_ETIMEOUT) {
            /* A hello has no effect: no answer means nobody is there. */
            return call_error(cc, TR_EUNAVAIL,
                              "no answer to hello within "
                              "%d ms (peer down?)",
                              cc->timeout_ms);
        }
        if (rc != TR_OK) {
            return rc;
        }
        zmq_msg_close(&payload);
        int kind = in->kind;
        if (kind == TRIDENT__RPC__KIND__KIND_HELLO_OK) {
            unsigned version = in->version;
            if (version != TR_RPC_PROTOCOL_VERSION) {
                tr_log_warn("rpc hello refused",
                            "endpoint=%s server=\"%s\" "
                            "version=%u want=%u",
                            cc->c->endpoint, in->peer, version,
                            TR_RPC_PROTOCOL_VERSION);
                rc = call_error(cc, TR_EINVAL,
                                "server %s speaks protocol "
                                "version %u, this client speaks version %u",
                                in->peer, version, TR_RPC_PROTOCOL_VERSION);
            } else {
                s->hello_done = true;
            }
        } else if (kind == TRIDENT__RPC__KIND__KIND_ERROR) {
            int code = in->code < 0 ? in->code : TR_EIO;
            rc = call_error(cc, code, "%s", in->message);
        } else {
            rpc_wire_header_free(in);
            continue; /* nothing else answers a hello */
        }
        rpc_wire_header_free(in);
        return rc;
    }
}

/* Handles one answer to request id; 1 means "keep receiving". */
static int
on_answer(struct call_ctx *cc, uint64_t id, const tr_rpc_header_pb *in,
          zmq_msg_t *payload)
{
    const void *data = zmq_msg_data(payload);
    size_t len = zmq_msg_size(payload);
    switch (in->kind) {
    case TRIDENT__RPC__KIND__KIND_REPLY:
        if (cc->stream) {
            if (cc->fn(cc->fn_arg, data, len) != 0) {
                return call_error(cc, TR_ECANCELED, "canceled by the caller");
            }
            return TR_OK;
        }
        if (cc->resp == NULL) {
            return TR_OK; /* the caller does not want the reply */
        }
        tr_buf_reset(cc->resp);
        if (tr_buf_append(cc->resp, data, len) != TR_OK) {
            return call_error(cc, TR_ENOMEM,
                              "out of memory for a %zu-byte "
                              "reply",
                              len);
        }
        return TR_OK;
    case TRIDENT__RPC__KIND__KIND_STREAM_MSG:
        if (!cc->stream) {
            send_cancel(cc->s, id);
            return call_error(cc, TR_EIO,
                              "the server streamed an answer to "
                              "a unary call");
        }
        if (cc->fn(cc->fn_arg, data, len) != 0) {
            send_cancel(cc->s, id);
            return call_error(cc, TR_ECANCELED, "canceled by the caller");
        }
        return 1;
    case TRIDENT__RPC__KIND__KIND_STREAM_END:
        if (!cc->stream) {
            return call_error(cc, TR_EIO,
                              "the server ended a stream on a "
                              "unary call");
        }
        return TR_OK;
    case TRIDENT__RPC__KIND__KIND_ERROR:
        return call_error(cc, in->code < 0 ? in->code : TR_EIO, "%s",
                          in->message);
    default:
        return 1; /* not an answer to a request: ignore */
    }
}

static int
run_call(struct call_ctx *cc, const void *req, size_t req_len)
{
    struct csock *s = cc->s;
    for (int attempt = 0;; attempt++) {
        if (!s->hello_done) {
            int rc = say_hello(cc);
            if (rc != TR_OK) {
                return rc;
            }
        }
        tr_rpc_header_pb hdr = TRIDENT__RPC__HEADER__INIT;
        hdr.kind = TRIDENT__RPC__KIND__KIND_REQUEST;
        hdr.id = ++s->last_id;
        hdr.method = (char *)cc->method;
        hdr.stream = cc->stream;
        int ms = rpc_ms_left(cc->deadline_ns);
        hdr.timeout_ms = (uint32_t)(ms > 0 ? ms : 1);
        int rc = send_msg(cc, &hdr, req, req_len);
        if (rc != TR_OK) {
            return rc;
        }
        for (;;) {
            tr_rpc_header_pb *in;
            zmq_msg_t payload;
            rc = recv_answer(cc, hdr.id, &in, &payload);
            if (rc == TR_ETIMEOUT) {
                send_cancel(s, hdr.id);
                return call_error(cc, TR_ETIMEOUT,
                                  "no answer within %d ms "
                                  "(peer down?)",
                                  cc->timeout_ms);
            }
            if (rc != TR_OK) {
                return rc;
            }
            if (in->kind == TRIDENT__RPC__KIND__KIND_HELLO_REQUIRED) {
                rpc_wire_header_free(in);
                zmq_msg_close(&payload);
                s->hello_done = false;
                rc = 2; /* the server forgot us: hello and resend */
                break;
            }
            rc = on_answer(cc, hdr.id, in, &payload);
            rpc_wire_header_free(in);
            zmq_msg_close(&payload);
            if (rc != 1) {
                return rc;
            }
        }
        if (attempt > 0) {
            return call_error(cc, TR_EUNAVAIL,
                              "the server keeps asking "
                              "for a hello");
        }
    }
}

static int
call_common(struct tr_rpc_client *c, const char *method, const void *req,
            size_t req_len, int timeout_ms, bool stream, tr_rpc_stream_fn fn,
            void *fn_arg, struct tr_buf *resp, struct tr_err *err)
{
    struct call_ctx cc = {
        .c = c,
        .method = method,
        .timeout_ms = timeout_ms > 0 ? timeout_ms : c->default_timeout_ms,
        .stream = stream,
        .fn = fn,
        .fn_arg = fn_arg,
        .resp = resp,
        .err = err,
    };
    if (method == NULL || method[0] == '\0') {
        cc.method = "(none)";
        return call_error(&cc, TR_EINVAL, "empty method name");
    }
    cc.deadline_ns = tr_mono_ns() + (int64_t)cc.timeout_ms * TR_NS_PER_MS;
    cc.s = pool_get(c, err);
    if (cc.s == NULL) {
        return tr_err_prefix(err, "cannot call %s", method);
    }
    int rc = run_call(&cc, req, req_len);
    pool_put(c, cc.s);
    return rc;
}

int
tr_rpc_client_call(struct tr_rpc_client *c, const char *method, const void *req,
                   size_t req_len, int timeout_ms, struct tr_buf *resp,
                   struct tr_err *err)
{
    return call_common(c, method, req, req_len, timeout_ms, false, NULL, NULL,
                       resp, err);
}

int
tr_rpc_client_stream(struct tr_rpc_client *c, const char *method,
                     const void *req, size_t req_len, int timeout_ms,
                     tr_rpc_stream_fn fn, void *arg, struct tr_err *err)
{
    return call_common(c, method, req, req_len, timeout_ms, true, fn, arg, NULL,
                       err);
}

struct tr_rpc_client *
tr_rpc_client_create(const char *endpoint,
                     const struct tr_rpc_client_opts *opts, struct tr_err *err)
{
    struct tr_rpc_client_opts o = {0};
    if (opts != NULL) {
        o = *opts;
    }
    struct tr_rpc_client *c = tr_calloc(1, sizeof(*c));
    if (c == NULL) {
        tr_err_set(err, TR_ENOMEM,
                   "cannot create rpc client of %s: out of "
                   "memory",
                   endpoint);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->ctx = o.zmq_ctx != NULL ? o.zmq_ctx : tr_rpc_context();
    c->default_timeout_ms = o.default_timeout_ms > 0
                                ? o.default_timeout_ms
                                : TR_RPC_DEFAULT_TIMEOUT_MS;
    c->max_idle = o.max_idle_sockets > 0 ? o.max_idle_sockets
                                         : TR_RPC_DEFAULT_MAX_IDLE_SOCKETS;
    c->endpoint = tr_strdup(endpoint);
    c->name = tr_strdup(o.name != NULL ? o.name : "");
    c->idle = tr_calloc((size_t)c->max_idle, sizeof(*c->idle));
    if (c->endpoint == NULL || c->name == NULL || c->idle == NULL) {
        tr_err_set(err, TR_ENOMEM,
                   "cannot create rpc client of %s: out of "
                   "memory",
                   endpoint);
        goto fail;
    }
    if (c->ctx == NULL) {
        tr_err_set(err, TR_EIO,
                   "cannot create rpc client of %s: no ZeroMQ "
                   "context: %s",
                   endpoint, zmq_strerror(errno));
        goto fail;
    }
    /* Opening the first socket now reports a malformed endpoint early. */
    struct csock *s = csock_open(c, err);
    if (s == NULL) {
        tr_err_prefix(err, "cannot create rpc client");
        goto fail;
    }
    c->idle[c->n_idle++] = s;
    return c;
fail:
    tr_rpc_client_destroy(c);
    return NULL;
}

void
tr_rpc_client_destroy(struct tr_rpc_client *c)
{
    if (c == NULL) {
        return;
    }
    for (int i = 0; i < c->n_idle; i++) {
        csock_close(c->idle[i]);
    }
    tr_free(c->idle);
    tr_free(c->endpoint);
    tr_free(c->name);
    pthread_mutex_destroy(&c->lock);
    tr_free(c);
}

const char *
tr_rpc_client_endpoint(const struct tr_rpc_client *c)
{
    return c->endpoint;
}
