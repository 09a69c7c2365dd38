/*
 * RPC server: one I/O thread owns the ROUTER socket (bound to every
 * endpoint) and a pool of worker threads runs the handlers.
 *
 * Why not the classic ROUTER -> zmq_proxy -> inproc DEALER -> workers: a
 * proxy hands each incoming message to the next worker round-robin, so a
 * CANCEL could never reach the worker running the call it cancels, and the
 * hello state of a connection would have to live in every worker. Here the
 * I/O thread reads every message itself:
 *   - HELLO is answered on the spot and remembered per connection
 *     (routing id -> peer name);
 *   - REQUEST becomes a call object on a mutex/condvar queue (unknown
 *     methods, missing hellos and a full queue are answered on the spot);
 *   - CANCEL finds the call in the in-flight list and sets its flag, which
 *     handlers poll through tr_rpc_call_canceled().
 * Workers never touch the ROUTER (zmq sockets are not thread-safe): each
 * owns a PUSH socket connected to the I/O thread's inproc PULL, and the
 * I/O thread forwards those frames [routing id, header, payload] to the
 * ROUTER. Payload frames travel by reference all the way (inproc passes
 * the zmq_msg_t; replies made with *_take wrap the caller's buffer with
 * zmq_msg_init_data), so large replies are not copied.
 *
 * ROUTER_MANDATORY makes a send to a vanished caller fail (EHOSTUNREACH)
 * instead of being dropped silently: the I/O thread then cancels that
 * caller's calls, so a streaming handler stops producing for nobody.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "rpc/wire.h"

/* ZeroMQ routing ids are at most 255 bytes. */
#define ROUTING_ID_MAX 255
/* A connection silent this long is forgotten; its next call re-hellos. */
#define PEER_IDLE_NS (600 * TR_NS_PER_SEC)
/* Messages handled per socket per poll round, so neither side starves. */
#define IO_BATCH 256

struct method {
    char *name;
    tr_rpc_handler_fn fn;
    void *arg;
};

/* A connection that said hello (I/O thread only). */
struct peer {
    unsigned char rid[ROUTING_ID_MAX];
    size_t rid_len;
    char *name;
    int64_t last_seen_ns;
};

enum call_state { CALL_OPEN, CALL_STREAMING, CALL_DONE };

struct tr_rpc_call {
    struct tr_rpc_server *server;
    struct tr_rpc_call *prev, *next; /* in-flight list (server lock) */
    struct tr_rpc_call *next_queued; /* run queue (server lock) */
    unsigned char rid[ROUTING_ID_MAX];
    size_t rid_len;
    uint64_t id;
    const struct method *method;
    char *peer;
    zmq_msg_t payload;
    int64_t deadline_ns;
    bool stream;
    atomic_bool canceled;
    /* Worker-only fields. */
    enum call_state state;
    void *out; /* the worker's PUSH socket */
};

struct worker {
    struct tr_rpc_server *server;
    pthread_t thread;
    void *push;
    struct tr_arena *arena;
};

struct tr_rpc_server {
    void *ctx;
    char *name;
    int n_workers;
    int max_queue;
    struct method *methods;
    size_t n_methods;

    void *router; /* owned by the I/O thread once started */
    void *pull;   /* workers -> I/O thread */
    char out_endpoint[64];
    int wake[2]; /* pipe: wakes the I/O thread to stop */
    pthread_t io_thread;
    bool io_running;
    struct worker *workers;
    int workers_running;
    bool started;
    bool stopped;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct tr_rpc_call *inflight;
    struct tr_rpc_call *queue_head, *queue_tail;
    int queued;
    bool stopping;

    /* I/O thread only. */
    struct peer *peers;
    size_t n_peers, cap_peers;
    int64_t last_sweep_ns;
};

static atomic_uint server_seq;

/* ---- call objects ------------------------------------------------------- */

static void
call_free(struct tr_rpc_call *call)
{
    if (call != NULL) {
        zmq_msg_close(&call->payload);
        tr_free(call->peer);
        tr_free(call);
    }
}

static void
free_taken(void *data, void *hint)
{
    (void)hint;
    tr_free(data);
}

/*
 * Sends [routing id, header, payload] through the worker's PUSH socket.
 * When take is set, data is owned by this function from here on.
 */
static int
call_send_frames(struct tr_rpc_call *call, Trident__Rpc__Kind kind, void *data,
                 size_t len, bool take, int code, const char *message)
{
    tr_rpc_header_pb hdr = TRIDENT__RPC__HEADER__INIT;
    hdr.kind = kind;
    hdr.id = call->id;
    hdr.code = code;
    hdr.message = (char *)(message != NULL ? message : "");

    zmq_msg_t payload;
    int rc;
    if (take && len > 0) {
        rc = zmq_msg_init_data(&payload, data, len, free_taken, NULL);
        if (rc != 0) {
            tr_free(data);
        }
    } else {
        rc = zmq_msg_init_size(&payload, len);
        if (rc == 0 && len > 0) {
            memcpy(zmq_msg_data(&payload), data, len);
        }
        if (take) {
            tr_free(data);
        }
    }
    if (rc != 0) {
        return TR_ENOMEM;
    }
    if (rpc_wire_send_copy(call->out, call->rid, call->rid_len, ZMQ_SNDMORE) !=
            0 ||
        rpc_wire_send_header(call->out, &hdr, ZMQ_SNDMORE) != 0 ||
        zmq_msg_send(&payload, call->out, 0) < 0) {
        /* Only ETERM (context shutting down) can get here. */
        zmq_msg_close(&payload);
        return TR_EUNAVAIL;
    }
    return TR_OK;
}

/* TR_OK while the caller still listens, else why not. */
static int
call_gone(const struct tr_rpc_call *call)
{
    if (atomic_load(&call->canceled)) {
        return TR_ECANCELED;
    }
    if (tr_mono_ns() >= call->deadline_ns) {
        return TR_ETIMEOUT;
    }
    return TR_OK;
}

static void
misuse(const struct tr_rpc_call *call, const char *what)
{
    tr_log_error("rpc handler misuse", "method=%s problem=\"%s\"",
                 call->method->name, what);
    abort();
}

bool
tr_rpc_call_canceled(const struct tr_rpc_call *call)
{
    return call_gone(call) != TR_OK;
}

static int
reply(struct tr_rpc_call *call, void *data, size_t len, bool take)
{
    if (call->state != CALL_OPEN) {
        misuse(call, "reply after the call was answered");
    }
    call->state = CALL_DONE;
    int rc = call_gone(call);
    if (rc != TR_OK) {
        if (take) {
            tr_free(data);
        }
        return rc;
    }
    return call_send_frames(call, TRIDENT__RPC__KIND__KIND_REPLY, data, len,
                            take, 0, NULL);
}

int
tr_rpc_call_reply(struct tr_rpc_call *call, const void *data, size_t len)
{
    return reply(call, (void *)data, len, false);
}

int
tr_rpc_call_reply_take(struct tr_rpc_call *call, void *data, size_t len)
{
    return reply(call, data, len, true);
}

static int
stream_send(struct tr_rpc_call *call, void *data, size_t len, bool take)
{
    if (call->state == CALL_DONE) {
        misuse(call, "stream message after the call was answered");
    }
    call->state = CALL_STREAMING;
    int rc = call_gone(call);
    if (rc != TR_OK) {
        if (take) {
            tr_free(data);
        }
        return rc;
    }
    return call_send_frames(call, TRIDENT__RPC__KIND__KIND_STREAM_MSG, data,
                            len, take, 0, NULL);
}

int
tr_rpc_call_send(struct tr_rpc_call *call, const void *data, size_t len)
{
    return stream_send(call, (void *)data, len, false);
}

int
tr_rpc_call_send_take(struct tr_rpc_call *call, void *data, size_t len)
{
    return stream_send(call, data, len, true);
}

int
tr_rpc_call_end(struct tr_rpc_call *call)
{
    if (call->state == CALL_DONE) {
        misuse(call, "stream end after the call was answered");
    }
    call->state = CALL_DONE;
    int rc = call_gone(call);
    if (rc != TR_OK) {
        return rc;
    }
    return call_send_frames(call, TRIDENT__RPC__KIND__KIND_STREAM_END, NULL, 0,
                            false, 0, NULL);
}

int
tr_rpc_call_fail(struct tr_rpc_call *call, int code, const char *fmt, ...)
{
    if (call->state == CALL_DONE) {
        misuse(call, "failure after the call was answered");
    }
    call->state = CALL_DONE;
    if (code >= 0) {
        code = TR_EIO; /* a failure must carry an error code */
    }
    if (call_gone(call) == TR_OK) {
        char msg[TR_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        call_send_frames(call, TRIDENT__RPC__KIND__KIND_ERROR, NULL, 0, false,
                         code, msg);
    }
    return code;
}

/* ---- workers ------------------------------------------------------------ */

static void
run_call(struct worker *w, struct tr_rpc_call *call, bool stopping)
{
    struct tr_rpc_server *s = w->server;
    call->out = w->push;
    if (stopping) {
        tr_rpc_call_fail(call, TR_EUNAVAIL, "server %s is stopping", s->name);
        return;
    }
    if (tr_rpc_call_canceled(call)) {
        call->state = CALL_DONE; /* nobody waits for an answer */
        return;
    }
    struct tr_rpc_request req = {
        .method = call->method->name,
        .peer = call->peer,
        .payload = zmq_msg_size(&call->payload) > 0
                       ? zmq_msg_data(&call->payload)
                       : NULL,
        .len = zmq_msg_size(&call->payload),
        .deadline_ns = call->deadline_ns,
        .stream = call->stream,
        .arena = w->arena,
    };
    call->method->fn(call, &req, call->method->arg);
    if (call->state != CALL_DONE) {
        tr_rpc_call_fail(call, TR_EIO,
                         "handler for %s returned without a "
                         "reply",
                         call->method->name);
    }
    tr_arena_reset(w->arena);
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct tr_rpc_server *s = w->server;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->queue_head == NULL && !s->stopping) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        struct tr_rpc_call *call = s->queue_head;
        if (call == NULL) {
            pthread_mutex_unlock(&s->lock);
            break; /* stopping and nothing left */
        }
        s->queue_head = call->next_queued;
        if (s->queue_head == NULL) {
            s->queue_tail = NULL;
        }
        s->queued--;
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);

        run_call(w, call, stopping);

        pthread_mutex_lock(&s->lock);
        if (call->prev != NULL) {
            call->prev->next = call->next;
        } else {
            s->inflight = call->next;
        }
        if (call->next != NULL) {
            call->next->prev = call->prev;
        }
        pthread_mutex_unlock(&s->lock);
        call_free(call);
    }
    return NULL;
}

/* ---- I/O thread --------------------------------------------------------- */

/* Answers on the ROUTER directly (I/O thread), with an empty payload. */
static void
io_answer(struct tr_rpc_server *s, const void *rid, size_t rid_len,
          const tr_rpc_header_pb *hdr)
{
    if (rpc_wire_send_copy(s->router, rid, rid_len,
                           ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0) {
        return; /* caller vanished (EHOSTUNREACH): nothing to tell */
    }
    rpc_wire_send_header(s->router, hdr, ZMQ_SNDMORE);
    rpc_wire_send_copy(s->router, NULL, 0, 0);
}

static void io_error(struct tr_rpc_server *s, const void *rid, size_t rid_len,
                     uint64_t id, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
io_error(struct tr_rpc_server *s, const void *rid, size_t rid_len, uint64_t id,
         int code, const char *fmt, ...)
{
    char msg[TR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tr_rpc_header_pb hdr = TRIDENT__RPC__HEADER__INIT;
    hdr.kind = TRIDENT__RPC__KIND__KIND_ERROR;
    hdr.id = id;
    hdr.code = code;
    hdr.message = msg;
    io_answer(s, rid, rid_len, &hdr);
}

static struct peer *
peer_find(struct tr_rpc_server *s, const void *rid, size_t rid_len)
{
    for (size_t i = 0; i < s->n_peers; i++) {
        struct peer *p = &s->peers[i];
        if (p->rid_len == rid_len && memcmp(p->rid, rid, rid_len) == 0) {
            return p;
        }
    }
    return NULL;
}

static void
peer_remove(struct tr_rpc_server *s, size_t i)
{
    tr_free(s->peers[i].name);
    s->peers[i] = s->peers[s->n_peers - 1];
    s->n_peers--;
}

static void
peers_sweep(struct tr_rpc_server *s, int64_t now)
{
    for (size_t i = 0; i < s->n_peers;) {
        if (now - s->peers[i].last_seen_ns > PEER_IDLE_NS) {
            peer_remove(s, i);
        } else {
            i++;
        }
    }
    s->last_sweep_ns = now;
}

static void
handle_hello(struct tr_rpc_server *s, const void *rid, size_t rid_len,
             const tr_rpc_header_pb *in)
{
    const char *who = in->peer[0] != '\0' ? in->peer : "(unnamed)";
    if (in->version != TR_RPC_PROTOCOL_VERSION) {
        tr_log_warn("rpc hello refused",
                    "server=%s peer=\"%s\" version=%u "
                    "want=%u",
                    s->name, who, in->version, TR_RPC_PROTOCOL_VERSION);
        io_error(s, rid, rid_len, in->id, TR_EINVAL,
                 "server %s refused the hello of %s: protocol version %u, "
                 "the server speaks version %u",
                 s->name, who, in->version, TR_RPC_PROTOCOL_VERSION);
        return;
    }
    struct peer *p = peer_find(s, rid, rid_len);
    if (p == NULL) {
        if (s->n_peers == s->cap_peers) {
            size_t cap = s->cap_peers ? s->cap_peers * 2 : 16;
            struct peer *grown = tr_realloc(s->peers, cap * sizeof(*grown));
            if (grown == NULL) {
                io_error(s, rid, rid_len, in->id, TR_ENOMEM,
                         "server %s is out of memory", s->name);
                return;
            }
            s->peers = grown;
            s->cap_peers = cap;
        }
        p = &s->peers[s->n_peers];
        memset(p, 0, sizeof(*p));
        memcpy(p->rid, rid, rid_len);
        p->rid_len = rid_len;
        s->n_peers++;
    }
    char *name = tr_strdup(who);
    if (name == NULL) {
        peer_remove(s, (size_t)(p - s->peers));
        io_error(s, rid, rid_len, in->id, TR_ENOMEM,
                 "server %s is out of memory", s->name);
        return;
    }
    tr_free(p->name);
    p->name = name;
    p->last_seen_ns = tr_mono_ns();
    tr_log_debug("rpc hello", "server=%s peer=\"%s\"", s->name, who);

    tr_rpc_header_pb out = TRIDENT__RPC__HEADER__INIT;
    out.kind = TRIDENT__RPC__KIND__KIND_HELLO_OK;
    out.id = in->id;
    out.version = TR_RPC_PROTOCOL_VERSION;
    out.peer = s->name;
    io_answer(s, rid, rid_len, &out);
}

static const struct method *
method_find(const struct tr_rpc_server *s, const char *name)
{
    for (size_t i = 0; i < s->n_methods; i++) {
        if (strcmp(s->methods[i].name, name) == 0) {
            return &s->methods[i];
        }
    }
    return NULL;
}

/* Takes payload (moves it into the call or closes it). */
static void
handle_request(struct tr_rpc_server *s, const void *rid, size_t rid_len,
               const tr_rpc_header_pb *in, zmq_msg_t *payload)
{
    struct peer *p = peer_find(s, rid, rid_len);
    if (p == NULL) {
        tr_rpc_header_pb out = TRIDENT__RPC__HEADER__INIT;
        out.kind = TRIDENT__RPC__KIND__KIND_HELLO_REQUIRED;
        out.id = in->id;
        io_answer(s, rid, rid_len, &out);
        zmq_msg_close(payload);
        return;
    }
    int64_t now = tr_mono_ns();
    p->last_seen_ns = now;
    const struct method *m = method_find(s, in->method);
    if (m == NULL) {
        io_error(s, rid, rid_len, in->id, TR_ENOTFOUND,
                 "unknown method \"%s\" on server %s", in->method, s->name);
        zmq_msg_close(payload);
        return;
    }
    struct tr_rpc_call *call = tr_calloc(1, sizeof(*call));
    char *peer = tr_strdup(p->name);
    if (call == NULL || peer == NULL) {
        tr_free(call);
        tr_free(peer);
        io_error(s, rid, rid_len, in->id, TR_ENOMEM,
                 "server %s is out of memory", s->name);
        zmq_msg_close(payload);
        return;
    }
    call->server = s;
    memcpy(call->rid, rid, rid_len);
    call->rid_len = rid_len;
    call->id = in->id;
    call->method = m;
    call->peer = peer;
    zmq_msg_init(&call->payload);
    zmq_msg_move(&call->payload, payload);
    zmq_msg_close(payload);
    uint32_t timeout_ms =
        in->timeout_ms > 0 ? in->timeout_ms : TR_RPC_DEFAULT_TIMEOUT_MS;
    call->deadline_ns = now + (int64_t)timeout_ms * TR_NS_PER_MS;
    call->stream = in->stream;
    atomic_init(&call->canceled, false);
    call->state = CALL_OPEN;

    pthread_mutex_lock(&s->lock);
    int refuse = TR_OK;
    if (s->stopping) {
        refuse = TR_EUNAVAIL;
    } else if (s->queued >= s->max_queue) {
        refuse = TR_ELIMIT;
    } else {
        call->next = s->inflight;
        if (s->inflight != NULL) {
            s->inflight->prev = call;
        }
        s->inflight = call;
        if (s->queue_tail != NULL) {
            s->queue_tail->next_queued = call;
        } else {
            s->queue_head = call;
        }
        s->queue_tail = call;
        s->queued++;
        pthread_cond_signal(&s->cond);
    }
    int queued = s->queued;
    pthread_mutex_unlock(&s->lock);

    if (refuse == TR_EUNAVAIL) {
        io_error(s, rid, rid_len, in->id, refuse, "server %s is stopping",
                 s->name);
        call_free(call);
    } else if (refuse == TR_ELIMIT) {
        io_error(s, rid, rid_len, in->id, refuse,
                 "server %s is busy: %d calls already waiting", s->name,
                 queued);
        call_free(call);
    }
}

/* Flags the in-flight calls of a connection (all of them when id is 0). */
static void
cancel_calls(struct tr_rpc_server *s, const void *rid, size_t rid_len,
             uint64_t id)
{
    pthread_mutex_lock(&s->lock);
    for (struct tr_rpc_call *c = s->inflight; c != NULL; c = c->next) {
        if ((id == 0 || c->id == id) && c->rid_len == rid_len &&
            memcmp(c->rid, rid, rid_len) == 0) {
            atomic_store(&c->canceled, true);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void
read_router(struct tr_rpc_server *s)
{
    for (int n = 0; n < IO_BATCH; n++) {
        zmq_msg_t rid;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, s->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            return; /* EAGAIN: drained */
        }
        if (!zmq_msg_more(&rid)) {
            zmq_msg_close(&rid);
            continue;
        }
        tr_rpc_header_pb *hdr = NULL;
        zmq_msg_t payload;
        if (rpc_wire_recv(s->router, &hdr, &payload, 0) != 0) {
            zmq_msg_close(&rid);
            continue; /* malformed: dropped */
        }
        const void *rid_data = zmq_msg_data(&rid);
        size_t rid_len = zmq_msg_size(&rid);
        switch (hdr->kind) {
        case TRIDENT__RPC__KIND__KIND_HELLO:
            handle_hello(s, rid_data, rid_len, hdr);
            zmq_msg_close(&payload);
            break;
        case TRIDENT__RPC__KIND__KIND_REQUEST:
            handle_request(s, rid_data, rid_len, hdr, &payload);
            break;
        case TRIDENT__RPC__KIND__KIND_CANCEL:
            if (hdr->id != 0) {
                cancel_calls(s, rid_data, rid_len, hdr->id);
            }
            zmq_msg_close(&payload);
            break;
        default:
            zmq_msg_close(&payload);
            break;
        }
        rpc_wire_header_free(hdr);
        zmq_msg_close(&rid);
    }
}

/* Forwards the workers' [routing id, header, payload] to the ROUTER. */
static void
forward_answers(struct tr_rpc_server *s)
{
    for (int n = 0; n < IO_BATCH; n++) {
        zmq_msg_t part[3];
        zmq_msg_init(&part[0]);
        if (zmq_msg_recv(&part[0], s->pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part[0]);
            return;
        }
        int have = 1;
        while (have < 3 && zmq_msg_more(&part[have - 1])) {
            zmq_msg_init(&part[have]);
            if (zmq_msg_recv(&part[have], s->pull, 0) < 0) {
                zmq_msg_close(&part[have]);
                break;
            }
            have++;
        }
        if (have != 3 || zmq_msg_more(&part[2])) {
            /* Cannot happen: workers always send three frames. */
            rpc_wire_drain(s->pull);
            for (int i = 0; i < have; i++) {
                zmq_msg_close(&part[i]);
            }
            continue;
        }
        if (zmq_msg_send(&part[0], s->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            /*
             * EHOSTUNREACH: the caller disconnected. EAGAIN cannot happen
             * (unlimited send queue). Either way stop its calls.
             */
            cancel_calls(s, zmq_msg_data(&part[0]), zmq_msg_size(&part[0]), 0);
            for (int i = 0; i < 3; i++) {
                zmq_msg_close(&part[i]);
            }
            continue;
        }
        zmq_msg_close(&part[0]);
        /* The rest of a message whose first frame went through cannot fail
         * except on ETERM. */
        if (zmq_msg_send(&part[1], s->router, ZMQ_SNDMORE) < 0) {
            zmq_msg_close(&part[1]);
        }
        if (zmq_msg_send(&part[2], s->router, 0) < 0) {
            zmq_msg_close(&part[2]);
        }
    }
}

static void *
io_main(void *arg)
{
    struct tr_rpc_server *s = arg;
    zmq_pollitem_t items[3] = {
        {s->router, 0, ZMQ_POLLIN, 0},
        {s->pull, 0, ZMQ_POLLIN, 0},
        {NULL, s->wake[0], ZMQ_POLLIN, 0},
    };
    s->last_sweep_ns = tr_mono_ns();
    for (;;) {
        int n = zmq_poll(items, 3, 60 * 1000);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            tr_log_error("rpc server poll failed", "server=%s error=\"%s\"",
                         s->name, zmq_strerror(errno));
            break;
        }
        if (items[2].revents & ZMQ_POLLIN) {
            break;
        }
        /* Answers first: they finish work already done. */
        if (items[1].revents & ZMQ_POLLIN) {
            forward_answers(s);
        }
        if (items[0].revents & ZMQ_POLLIN) {
            read_router(s);
        }
        int64_t now = tr_mono_ns();
        if (now - s->last_sweep_ns > 60 * TR_NS_PER_SEC) {
            peers_sweep(s, now);
        }
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void
set_int_opt(void *sock, int opt, int value)
{
    zmq_setsockopt(sock, opt, &value, sizeof(value));
}

struct tr_rpc_server *
tr_rpc_server_create(const struct tr_rpc_server_opts *opts, struct tr_err *err)
{
    struct tr_rpc_server_opts o = {0};
    if (opts != NULL) {
        o = *opts;
    }
    struct tr_rpc_server *s = tr_calloc(1, sizeof(*s));
    if (s == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create rpc server: out of memory");
        return NULL;
    }
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->ctx = o.zmq_ctx != NULL ? o.zmq_ctx : tr_rpc_context();
    s->name =
        tr_strdup(o.name != NULL && o.name[0] != '\0' ? o.name : "rpc-server");
    s->n_workers = o.workers > 0 ? o.workers : TR_RPC_DEFAULT_WORKERS;
    s->max_queue = o.max_queue > 0 ? o.max_queue : TR_RPC_DEFAULT_MAX_QUEUE;
    int64_t max_msg =
        o.max_msg_bytes > 0 ? o.max_msg_bytes : TR_RPC_DEFAULT_MAX_MSG_BYTES;
    if (s->name == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create rpc server: out of memory");
        goto fail;
    }
    if (s->ctx == NULL) {
        tr_err_set(err, TR_EIO,
                   "cannot create rpc server %s: no ZeroMQ "
                   "context: %s",
                   s->name, zmq_strerror(errno));
        goto fail;
    }
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    if (s->router == NULL) {
        tr_err_set(err, TR_EIO, "cannot create rpc server %s: %s", s->name,
                   zmq_strerror(errno));
        goto fail;
    }
    set_int_opt(s->router, ZMQ_LINGER, 0);
    set_int_opt(s->router, ZMQ_ROUTER_MANDATORY, 1);
    /* Never block the I/O thread; see the known limits in rpc.h. */
    set_int_opt(s->router, ZMQ_SNDHWM, 0);
    zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &max_msg, sizeof(max_msg));
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        tr_err_set(err, TR_EIO, "cannot create rpc server %s: pipe: %s",
                   s->name, strerror(errno));
        goto fail;
    }
    return s;
fail:
    tr_rpc_server_destroy(s);
    return NULL;
}

int
tr_rpc_server_handle(struct tr_rpc_server *s, const char *method,
                     tr_rpc_handler_fn fn, void *arg, struct tr_err *err)
{
    if (s->started) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot register rpc method %s: "
                          "server %s already started",
                          method, s->name);
    }
    if (method == NULL || method[0] == '\0' || fn == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot register rpc method: "
                          "empty name or no handler");
    }
    if (method_find(s, method) != NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot register rpc method %s: "
                          "already registered",
                          method);
    }
    struct method *grown =
        tr_realloc(s->methods, (s->n_methods + 1) * sizeof(*grown));
    if (grown == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot register rpc method %s: "
                          "out of memory",
                          method);
    }
    s->methods = grown;
    char *name = tr_strdup(method);
    if (name == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot register rpc method %s: "
                          "out of memory",
                          method);
    }
    s->methods[s->n_methods++] = (struct method){name, fn, arg};
    return TR_OK;
}

int
tr_rpc_server_bind(struct tr_rpc_server *s, const char *endpoint, char *bound,
                   size_t bound_size, struct tr_err *err)
{
    if (s->started) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot bind rpc server %s to %s: "
                          "already started",
                          s->name, endpoint);
    }
    if (zmq_bind(s->router, endpoint) != 0) {
        int e = errno;
        int code = (e == EADDRINUSE || e == EADDRNOTAVAIL) ? TR_EIO : TR_EINVAL;
        return tr_err_set(err, code, "cannot bind rpc server %s to %s: %s",
                          s->name, endpoint, zmq_strerror(e));
    }
    char last[256] = "";
    size_t size = sizeof(last);
    if (zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, last, &size) != 0) {
        snprintf(last, sizeof(last), "%s", endpoint);
    }
    if (bound != NULL && bound_size > 0) {
        if ((size_t)snprintf(bound, bound_size, "%s", last) >= bound_size) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot bind rpc server %s to "
                              "%s: bound endpoint %s does not fit %zu bytes",
                              s->name, endpoint, last, bound_size);
        }
    }
    tr_log_info("rpc server bound", "server=%s endpoint=%s", s->name, last);
    return TR_OK;
}

int
tr_rpc_server_start(struct tr_rpc_server *s, struct tr_err *err)
{
    if (s->started) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot start rpc server %s: "
                          "already started",
                          s->name);
    }
    s->started = true;
    snprintf(s->out_endpoint, sizeof(s->out_endpoint),
             "inproc://tr-rpc-answers-%u-%p", atomic_fetch_add(&server_seq, 1),
             (void *)s);
    s->pull = zmq_socket(s->ctx, ZMQ_PULL);
    if (s->pull == NULL) {
        goto zmq_fail;
    }
    set_int_opt(s->pull, ZMQ_LINGER, 0);
    if (zmq_bind(s->pull, s->out_endpoint) != 0) {
        goto zmq_fail;
    }
    s->workers = tr_calloc((size_t)s->n_workers, sizeof(*s->workers));
    if (s->workers == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot start rpc server %s: out "
                          "of memory",
                          s->name);
    }
    /*
     * Sockets and arenas are made here, on the caller's thread, so failures
     * are reported; pthread_create is the barrier ZeroMQ requires to hand
     * a socket to another thread.
     */
    for (int i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        w->server = s;
        w->arena = tr_arena_create(0);
        if (w->arena == NULL) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot start rpc server %s: "
                              "out of memory",
                              s->name);
        }
        w->push = zmq_socket(s->ctx, ZMQ_PUSH);
        if (w->push == NULL) {
            goto zmq_fail;
        }
        set_int_opt(w->push, ZMQ_LINGER, 0);
        if (zmq_connect(w->push, s->out_endpoint) != 0) {
            goto zmq_fail;
        }
    }
    for (int i = 0; i < s->n_workers; i++) {
        int rc = pthread_create(&s->workers[i].thread, NULL, worker_main,
                                &s->workers[i]);
        if (rc != 0) {
            tr_rpc_server_stop(s);
            return tr_err_set(err, TR_EIO,
                              "cannot start rpc server %s: "
                              "thread: %s",
                              s->name, strerror(rc));
        }
        s->workers_running++;
    }
    int rc = pthread_create(&s->io_thread, NULL, io_main, s);
    if (rc != 0) {
        tr_rpc_server_stop(s);
        return tr_err_set(err, TR_EIO,
                          "cannot start rpc server %s: thread: "
                          "%s",
                          s->name, strerror(rc));
    }
    s->io_running = true;
    tr_log_info("rpc server started", "server=%s workers=%d", s->name,
                s->n_workers);
    return TR_OK;
zmq_fail:
    return tr_err_set(err, TR_EIO, "cannot start rpc server %s: %s", s->name,
                      zmq_strerror(errno));
}

void
tr_rpc_server_stop(struct tr_rpc_server *s)
{
    if (s == NULL || !s->started || s->stopped) {
        return;
    }
    s->stopped = true;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    for (struct tr_rpc_call *c = s->inflight; c != NULL; c = c->next) {
        atomic_store(&c->canceled, true);
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    /* Workers first, while the I/O thread still forwards their answers. */
    for (int i = 0; i < s->workers_running; i++) {
        pthread_join(s->workers[i].thread, NULL);
    }
    s->workers_running = 0;
    if (s->io_running) {
        ssize_t w;
        do {
            w = write(s->wake[1], "x", 1);
        } while (w < 0 && errno == EINTR);
        pthread_join(s->io_thread, NULL);
        s->io_running = false;
    }
    /* All threads are joined: closing their sockets here is safe. */
    for (int i = 0; s->workers != NULL && i < s->n_workers; i++) {
        rpc_wire_close(s->workers[i].push);
        s->workers[i].push = NULL;
    }
    rpc_wire_close(s->pull);
    s->pull = NULL;
    rpc_wire_close(s->router);
    s->router = NULL;
    tr_log_info("rpc server stopped", "server=%s", s->name);
}

void
tr_rpc_server_destroy(struct tr_rpc_server *s)
{
    if (s == NULL) {
        return;
    }
    tr_rpc_server_stop(s);
    rpc_wire_close(s->pull);
    rpc_wire_close(s->router);
    for (int i = 0; s->workers != NULL && i < s->n_workers; i++) {
        rpc_wire_close(s->workers[i].push);
        tr_arena_destroy(s->workers[i].arena);
    }
    tr_free(s->workers);
    /* Calls can only be left over if threads never ran. */
    while (s->inflight != NULL) {
        struct tr_rpc_call *c = s->inflight;
        s->inflight = c->next;
        call_free(c);
    }
    for (size_t i = 0; i < s->n_peers; i++) {
        tr_free(s->peers[i].name);
    }
    tr_free(s->peers);
    for (size_t i = 0; i < s->n_methods; i++) {
        tr_free(s->methods[i].name);
    }
    tr_free(s->methods);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    tr_free(s->name);
    tr_free(s);
}
