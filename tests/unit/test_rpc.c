/*
 * Unit tests for lib/rpc: unary and streaming calls over inproc:// and
 * tcp://, concurrency, errors, deadlines, cancel, version mismatch, and a
 * server in another process that is killed and restarted.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "rpc/rpc.h"
#include "trident/rpc.pb-c.h"

extern char **environ;

/* ---- handlers ----------------------------------------------------------- */

static void
h_echo(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    tr_rpc_call_reply(call, req->payload, req->len);
}

/* Same as h_echo through the zero-copy path (ownership handed over). */
static void
h_echo_take(struct tr_rpc_call *call, const struct tr_rpc_request *req,
            void *arg)
{
    void *copy = tr_malloc(req->len > 0 ? req->len : 1);
    if (req->len > 0) {
        memcpy(copy, req->payload, req->len);
    }
    tr_rpc_call_reply_take(call, copy, req->len);
}

static void
h_whoami(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    tr_rpc_call_reply(call, req->peer, strlen(req->peer));
}

/* Payload "N": streams "msg-0".."msg-N-1" then ends. */
static void
h_stream(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    char count[16] = "";
    memcpy(count, req->payload, req->len < 15 ? req->len : 15);
    int n = atoi(count);
    for (int i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "msg-%d", i);
        /* Every other message goes through the zero-copy path. */
        int rc;
        if (i % 2 == 1) {
            rc = tr_rpc_call_send_take(call, tr_strdup(msg), (size_t)len);
        } else {
            rc = tr_rpc_call_send(call, msg, (size_t)len);
        }
        if (rc != TR_OK) {
            return;
        }
    }
    tr_rpc_call_end(call);
}

static void
h_fail(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    tr_rpc_call_fail(call, TR_ELIMIT, "cannot append: too many series");
}

static void
h_no_reply(struct tr_rpc_call *call, const struct tr_rpc_request *req,
           void *arg)
{
}

/* What the slow and endless handlers observed. */
static struct {
    atomic_llong arrived_ns;
    atomic_llong deadline_ns;
    atomic_llong gave_up_ns;
    atomic_int send_rc;
} seen;

/* Replies only when canceled or past its deadline (i.e. never in time). */
static void
h_slow(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    atomic_store(&seen.arrived_ns, tr_mono_ns());
    atomic_store(&seen.deadline_ns, req->deadline_ns);
    while (!tr_rpc_call_canceled(call)) {
        usleep(1000);
    }
    atomic_store(&seen.gave_up_ns, tr_mono_ns());
    int rc = tr_rpc_call_reply(call, "late", 4);
    atomic_store(&seen.send_rc, rc);
}

/* Streams until a send fails, records why. */
static void
h_endless(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    for (int i = 0;; i++) {
        int rc = tr_rpc_call_send(call, "tick", 4);
        if (rc != TR_OK) {
            atomic_store(&seen.send_rc, rc);
            atomic_store(&seen.gave_up_ns, tr_mono_ns());
            return;
        }
        usleep(1000);
    }
}

/* Replies only once 4 calls are inside the handler at the same time. */
static atomic_int rendezvous_arrived;

static void
h_rendezvous(struct tr_rpc_call *call, const struct tr_rpc_request *req,
             void *arg)
{
    atomic_fetch_add(&rendezvous_arrived, 1);
    int64_t give_up = tr_mono_ns() + 3 * TR_NS_PER_SEC;
    while (atomic_load(&rendezvous_arrived) < 4 && tr_mono_ns() < give_up) {
        usleep(1000);
    }
    int n = atomic_load(&rendezvous_arrived);
    if (n < 4) {
        tr_rpc_call_fail(call, TR_ETIMEOUT, "only %d calls ran at once", n);
    } else {
        tr_rpc_call_reply(call, "ok", 2);
    }
}

/* ---- fixture ------------------------------------------------------------ */

struct fixture {
    char endpoint[64];
    char tcp[256];
    struct tr_rpc_server *server;
    struct tr_rpc_client *client;
};

static int
setup(void **state)
{
    static int seq;
    struct fixture *f = calloc(1, sizeof(*f));
    struct tr_err err;
    snprintf(f->endpoint, sizeof(f->endpoint), "inproc://rpc-test-%d", seq++);
    struct tr_rpc_server_opts so = {.name = "test-server", .workers = 4};
    f->server = tr_rpc_server_create(&so, &err);
    assert_non_null(f->server);
    static const struct {
        const char *name;
        tr_rpc_handler_fn fn;
    } methods[] = {
        {"t.Echo", h_echo},
        {"t.EchoTake", h_echo_take},
        {"t.Whoami", h_whoami},
        {"t.Stream", h_stream},
        {"t.Fail", h_fail},
        {"t.NoReply", h_no_reply},
        {"t.Slow", h_slow},
        {"t.Endless", h_endless},
        {"t.Rendezvous", h_rendezvous},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        assert_int_equal(tr_rpc_server_handle(f->server, methods[i].name,
                                              methods[i].fn, NULL, &err),
                         TR_OK);
    }
    assert_int_equal(
        tr_rpc_server_handle(f->server, "t.Echo", h_echo, NULL, &err),
        TR_EINVAL);
    assert_int_equal(tr_rpc_server_bind(f->server, f->endpoint, NULL, 0, &err),
                     TR_OK);
    assert_int_equal(tr_rpc_server_bind(f->server, "tcp://127.0.0.1:0", f->tcp,
                                        sizeof(f->tcp), &err),
                     TR_OK);
    assert_int_equal(tr_rpc_server_start(f->server, &err), TR_OK);
    struct tr_rpc_client_opts co = {.name = "distributor-1"};
    f->client = tr_rpc_client_create(f->endpoint, &co, &err);
    assert_non_null(f->client);
    memset(&seen, 0, sizeof(seen));
    atomic_store(&rendezvous_arrived, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    tr_rpc_client_destroy(f->client);
    tr_rpc_server_destroy(f->server);
    free(f);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_unary_inproc(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    struct tr_buf resp = TR_BUF_INIT;
    char payload[1024];
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (char)(i * 7);
    }
    assert_int_equal(tr_rpc_client_call(f->client, "t.Echo", payload,
                                        sizeof(payload), 1000, &resp, &err),
                     TR_OK);
    assert_int_equal(resp.len, sizeof(payload));
    assert_memory_equal(resp.data, payload, sizeof(payload));
    assert_int_equal(tr_rpc_client_call(f->client, "t.EchoTake", payload,
                                        sizeof(payload), 1000, &resp, &err),
                     TR_OK);
    assert_int_equal(resp.len, sizeof(payload));
    assert_memory_equal(resp.data, payload, sizeof(payload));
    /* A caller that only needs success passes no buffer. */
    assert_int_equal(tr_rpc_client_call(f->client, "t.Echo", "x", 1, 1000,
                                        NULL, &err),
                     TR_OK);
    /* Empty request, empty reply. */
    assert_int_equal(
        tr_rpc_client_call(f->client, "t.Echo", NULL, 0, 1000, &resp, &err),
        TR_OK);
    assert_int_equal(resp.len, 0);
    /* The hello carried the client's name to the handler. */
    assert_int_equal(
        tr_rpc_client_call(f->client, "t.Whoami", NULL, 0, 0, &resp, &err),
        TR_OK);
    assert_int_equal(resp.len, strlen("distributor-1"));
    assert_memory_equal(resp.data, "distributor-1", resp.len);
    tr_buf_fini(&resp);
}

static void
test_same_api_over_tcp(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    /* Port 0 was resolved to the real one. */
    assert_true(strncmp(f->tcp, "tcp://127.0.0.1:", 16) == 0);
    assert_true(atoi(f->tcp + 16) > 0);
    struct tr_rpc_client_opts co = {.name = "querier-1"};
    struct tr_rpc_client *c = tr_rpc_client_create(f->tcp, &co, &err);
    assert_non_null(c);
    assert_string_equal(tr_rpc_client_endpoint(c), f->tcp);
    struct tr_buf resp = TR_BUF_INIT;
    assert_int_equal(
        tr_rpc_client_call(c, "t.Echo", "over tcp", 8, 1000, &resp, &err),
        TR_OK);
    assert_memory_equal(resp.data, "over tcp", 8);
    assert_int_equal(
        tr_rpc_client_call(c, "t.Whoami", NULL, 0, 1000, &resp, &err), TR_OK);
    assert_memory_equal(resp.data, "querier-1", 9);
    tr_buf_fini(&resp);
    tr_rpc_client_destroy(c);
}

struct collected {
    int count;
    int cancel_after; /* 0: never */
    char last[32];
    bool in_order;
};

static int
collect(void *arg, const void *msg, size_t len)
{
    struct collected *c = arg;
    char want[32];
    snprintf(want, sizeof(want), "msg-%d", c->count);
    if (len != strlen(want) || memcmp(msg, want, len) != 0) {
        c->in_order = false;
    }
    c->count++;
    return c->cancel_after > 0 && c->count >= c->cancel_after;
}

static void
test_stream_inproc(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    struct collected got = {.in_order = true};
    assert_int_equal(tr_rpc_client_stream(f->client, "t.Stream", "50", 2, 1000,
                                          collect, &got, &err),
                     TR_OK);
    assert_int_equal(got.count, 50);
    assert_true(got.in_order);
    /* An empty stream is just an end. */
    got = (struct collected){.in_order = true};
    assert_int_equal(tr_rpc_client_stream(f->client, "t.Stream", "0", 1, 1000,
                                          collect, &got, &err),
                     TR_OK);
    assert_int_equal(got.count, 0);
    /* A unary reply to a streaming call arrives as one message. */
    got = (struct collected){.in_order = true};
    assert_int_equal(tr_rpc_client_stream(f->client, "t.Echo", "msg-0", 5, 1000,
                                          collect, &got, &err),
                     TR_OK);
    assert_int_equal(got.count, 1);
    assert_true(got.in_order);
}

struct worker_arg {
    struct tr_rpc_client *client;
    int index;
    int ok;
    const char *method;
};

static void *
call_many(void *p)
{
    struct worker_arg *w = p;
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_err err;
    for (int i = 0; i < 200; i++) {
        char payload[64];
        int len = snprintf(payload, sizeof(payload), "thread %d call %d",
                           w->index, i);
        if (tr_rpc_client_call(w->client, "t.Echo", payload, (size_t)len, 2000,
                               &resp, &err) == TR_OK &&
            resp.len == (size_t)len &&
            memcmp(resp.data, payload, (size_t)len) == 0) {
            w->ok++;
        }
    }
    tr_buf_fini(&resp);
    return NULL;
}

static void *
call_rendezvous(void *p)
{
    struct worker_arg *w = p;
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_err err;
    if (tr_rpc_client_call(w->client, "t.Rendezvous", NULL, 0, 5000, &resp,
                           &err) == TR_OK) {
        w->ok = 1;
    } else {
        fprintf(stderr, "rendezvous: %s\n", err.msg);
    }
    tr_buf_fini(&resp);
    return NULL;
}

static void
test_concurrent_calls_from_4_threads(void **state)
{
    struct fixture *f = *state;
    pthread_t t[4];
    struct worker_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker_arg){.client = f->client, .index = i};
        pthread_create(&t[i], NULL, call_many, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 200);
    }
    /* Four calls inside handlers at the same moment: the client does not
     * serialize them and the server runs them on 4 workers. */
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker_arg){.client = f->client, .index = i};
        pthread_create(&t[i], NULL, call_rendezvous, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 1);
    }
}

static void
test_unknown_method(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    struct tr_buf resp = TR_BUF_INIT;
    assert_int_equal(tr_rpc_client_call(f->client, "ingester.Nope", "x", 1,
                                        1000, &resp, &err),
                     TR_ENOTFOUND);
    assert_int_equal(err.code, TR_ENOTFOUND);
    char want[256];
    snprintf(want, sizeof(want),
             "cannot call ingester.Nope on %s: unknown "
             "method \"ingester.Nope\" on server test-server",
             f->endpoint);
    assert_string_equal(err.msg, want);
    tr_buf_fini(&resp);
}

static void
test_handler_error_propagates(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    struct tr_buf resp = TR_BUF_INIT;
    assert_int_equal(
        tr_rpc_client_call(f->client, "t.Fail", NULL, 0, 1000, &resp, &err),
        TR_ELIMIT);
    char want[256];
    snprintf(want, sizeof(want),
             "cannot call t.Fail on %s: cannot append: "
             "too many series",
             f->endpoint);
    assert_string_equal(err.msg, want);
    /* A handler that forgets to answer still produces an answer. */
    assert_int_equal(
        tr_rpc_client_call(f->client, "t.NoReply", NULL, 0, 1000, &resp, &err),
        TR_EIO);
    assert_non_null(strstr(err.msg, "handler for t.NoReply returned without "
                                    "a reply"));
    /* Errors reach streaming callers too. */
    struct collected got = {.in_order = true};
    assert_int_equal(tr_rpc_client_stream(f->client, "t.Fail", NULL, 0, 1000,
                                          collect, &got, &err),
                     TR_ELIMIT);
    tr_buf_fini(&resp);
}

static void
test_deadline_exceeded(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    struct tr_buf resp = TR_BUF_INIT;
    int64_t start = tr_mono_ns();
    assert_int_equal(
        tr_rpc_client_call(f->client, "t.Slow", NULL, 0, 200, &resp, &err),
        TR_ETIMEOUT);
    int64_t took_ms = (tr_mono_ns() - start) / TR_NS_PER_MS;
    assert_true(took_ms >= 199 && took_ms < 1000);
    char want[256];
    snprintf(want, sizeof(want),
             "cannot call t.Slow on %s: no answer "
             "within 200 ms (peer down?)",
             f->endpoint);
    assert_string_equal(err.msg, want);
    /* The deadline travelled: the handler's is the caller's, give or take
     * the transit. */
    int64_t budget =
        atomic_load(&seen.deadline_ns) - atomic_load(&seen.arrived_ns);
    assert_true(budget > 100 * TR_NS_PER_MS && budget <= 200 * TR_NS_PER_MS);
    /* The handler noticed and its late reply was not sent. */
    int64_t give_up = tr_mono_ns() + 2 * TR_NS_PER_SEC;
    while (atomic_load(&seen.gave_up_ns) == 0 && tr_mono_ns() < give_up) {
        usleep(1000);
    }
    assert_true(atomic_load(&seen.gave_up_ns) != 0);
    int rc = atomic_load(&seen.send_rc);
    assert_true(rc == TR_ETIMEOUT || rc == TR_ECANCELED);
    /* The same client (and the socket it reused) still works. */
    assert_int_equal(
        tr_rpc_client_call(f->client, "t.Echo", "ok", 2, 1000, &resp, &err),
        TR_OK);
    assert_memory_equal(resp.data, "ok", 2);
    tr_buf_fini(&resp);
}

static int
count_ticks(void *arg, const void *msg, size_t len)
{
    int *n = arg;
    return ++*n >= 3; /* cancel on the third message */
}

static void
test_stream_cancel_reaches_handler(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    int ticks = 0;
    int64_t start = tr_mono_ns();
    assert_int_equal(tr_rpc_client_stream(f->client, "t.Endless", NULL, 0,
                                          10000, count_ticks, &ticks, &err),
                     TR_ECANCELED);
    assert_int_equal(ticks, 3);
    assert_non_null(strstr(err.msg, "canceled by the caller"));
    /* Long before the 10 s deadline, the handler learns of the cancel. */
    while (atomic_load(&seen.gave_up_ns) == 0 &&
           tr_mono_ns() - start < 3 * TR_NS_PER_SEC) {
        usleep(1000);
    }
    assert_int_equal(atomic_load(&seen.send_rc), TR_ECANCELED);
    /* The tail of the canceled stream is discarded by the next call. */
    struct tr_buf resp = TR_BUF_INIT;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tr_rpc_client_call(f->client, "t.Echo", "after", 5,
                                            1000, &resp, &err),
                         TR_OK);
        assert_int_equal(resp.len, 5);
        assert_memory_equal(resp.data, "after", 5);
    }
    tr_buf_fini(&resp);
}

/* Sends one two-frame envelope on a raw socket. */
static void
raw_send(void *sock, Trident__Rpc__Header *hdr)
{
    uint8_t buf[512];
    size_t len = trident__rpc__header__pack(hdr, buf);
    assert_int_equal(zmq_send(sock, buf, len, ZMQ_SNDMORE), (int)len);
    assert_int_equal(zmq_send(sock, "", 0, 0), 0);
}

/* Receives one envelope's header on a raw socket (1 s at most). */
static Trident__Rpc__Header *
raw_recv(void *sock)
{
    int timeout = 1000;
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    uint8_t buf[512];
    int len = zmq_recv(sock, buf, sizeof(buf), 0);
    assert_true(len >= 0);
    char payload[16];
    assert_true(zmq_recv(sock, payload, sizeof(payload), 0) >= 0);
    return trident__rpc__header__unpack(NULL, (size_t)len, buf);
}

static void
test_version_mismatch_refused_by_server(void **state)
{
    struct fixture *f = *state;
    void *dealer = zmq_socket(tr_rpc_context(), ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_connect(dealer, f->endpoint), 0);

    Trident__Rpc__Header hello = TRIDENT__RPC__HEADER__INIT;
    hello.kind = TRIDENT__RPC__KIND__KIND_HELLO;
    hello.id = 1;
    hello.version = 99;
    hello.peer = "from-the-future";
    raw_send(dealer, &hello);
    Trident__Rpc__Header *in = raw_recv(dealer);
    assert_non_null(in);
    assert_int_equal(in->kind, TRIDENT__RPC__KIND__KIND_ERROR);
    assert_int_equal(in->id, 1);
    assert_int_equal(in->code, TR_EINVAL);
    assert_string_equal(in->message,
                        "server test-server refused the hello of "
                        "from-the-future: protocol version 99, the server "
                        "speaks version 1");
    trident__rpc__header__free_unpacked(in, NULL);

    /* Refused means not served. */
    Trident__Rpc__Header req = TRIDENT__RPC__HEADER__INIT;
    req.kind = TRIDENT__RPC__KIND__KIND_REQUEST;
    req.id = 2;
    req.method = "t.Echo";
    req.timeout_ms = 1000;
    raw_send(dealer, &req);
    in = raw_recv(dealer);
    assert_non_null(in);
    assert_int_equal(in->kind, TRIDENT__RPC__KIND__KIND_HELLO_REQUIRED);
    assert_int_equal(in->id, 2);
    trident__rpc__header__free_unpacked(in, NULL);
    zmq_close(dealer);
}

/* A fake server that answers one hello claiming protocol version 99. */
static void *
fake_future_server(void *router)
{
    int timeout = 3000;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    uint8_t rid[256], buf[512];
    int rid_len = zmq_recv(router, rid, sizeof(rid), 0);
    int len = zmq_recv(router, buf, sizeof(buf), 0);
    char payload[16];
    if (rid_len < 0 || len < 0 || zmq_recv(router, payload, 16, 0) < 0) {
        return NULL;
    }
    Trident__Rpc__Header *in =
        trident__rpc__header__unpack(NULL, (size_t)len, buf);
    Trident__Rpc__Header out = TRIDENT__RPC__HEADER__INIT;
    out.kind = TRIDENT__RPC__KIND__KIND_HELLO_OK;
    out.id = in != NULL ? in->id : 0;
    out.version = 99;
    out.peer = "future-server";
    trident__rpc__header__free_unpacked(in, NULL);
    zmq_send(router, rid, (size_t)rid_len, ZMQ_SNDMORE);
    size_t out_len = trident__rpc__header__pack(&out, buf);
    zmq_send(router, buf, out_len, ZMQ_SNDMORE);
    zmq_send(router, "", 0, 0);
    return NULL;
}

static void
test_version_mismatch_refused_by_client(void **state)
{
    void *router = zmq_socket(tr_rpc_context(), ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_bind(router, "inproc://rpc-test-future"), 0);
    pthread_t t;
    pthread_create(&t, NULL, fake_future_server, router);

    struct tr_err err;
    struct tr_rpc_client *c =
        tr_rpc_client_create("inproc://rpc-test-future", NULL, &err);
    assert_non_null(c);
    struct tr_buf resp = TR_BUF_INIT;
    assert_int_equal(
        tr_rpc_client_call(c, "t.Echo", NULL, 0, 2000, &resp, &err), TR_EINVAL);
    assert_string_equal(err.msg,
                        "cannot call t.Echo on inproc://rpc-test-future: "
                        "server future-server speaks protocol version 99, "
                        "this client speaks version 1");
    pthread_join(t, NULL);
    tr_buf_fini(&resp);
    tr_rpc_client_destroy(c);
    zmq_close(router);
}

static void
test_bad_endpoints(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    assert_null(tr_rpc_client_create("nonsense", NULL, &err));
    assert_int_equal(err.code, TR_EINVAL);
    assert_non_null(strstr(err.msg, "nonsense"));
    /* Binding after start is refused. */
    assert_int_equal(
        tr_rpc_server_bind(f->server, "inproc://late", NULL, 0, &err),
        TR_EINVAL);
    /* Nothing listens there: quick TR_EUNAVAIL with the clear message
     * (inproc queues for a name not bound yet, so the hello goes out and
     * nobody answers it). */
    struct tr_rpc_client *c =
        tr_rpc_client_create("inproc://nobody-home", NULL, &err);
    assert_non_null(c);
    struct tr_buf resp = TR_BUF_INIT;
    assert_int_equal(
        tr_rpc_client_call(c, "ingester.Push", NULL, 0, 100, &resp, &err),
        TR_EUNAVAIL);
    assert_string_equal(err.msg, "cannot call ingester.Push on "
                                 "inproc://nobody-home: no answer to hello "
                                 "within 100 ms (peer down?)");
    tr_buf_fini(&resp);
    tr_rpc_client_destroy(c);
}

/* ---- two processes ------------------------------------------------------ */

/* Starts tr-rpc-test-server on endpoint; writes its bound endpoint. */
static pid_t
spawn_server(const char *endpoint, char *bound, size_t bound_size)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {TR_RPC_TEST_SERVER, (char *)endpoint, "ingester-test",
                    NULL};
    pid_t pid;
    assert_int_equal(
        posix_spawn(&pid, TR_RPC_TEST_SERVER, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char line[300];
    size_t used = 0;
    int64_t give_up = tr_mono_ns() + 20 * TR_NS_PER_SEC;
    while (used < sizeof(line) - 1 && memchr(line, '\n', used) == NULL) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int ms = (int)((give_up - tr_mono_ns()) / TR_NS_PER_MS);
        assert_true(ms > 0);
        if (poll(&p, 1, ms) <= 0) {
            continue;
        }
        ssize_t n = read(fds[0], line + used, sizeof(line) - 1 - used);
        assert_true(n > 0);
        used += (size_t)n;
    }
    close(fds[0]);
    line[used] = '\0';
    assert_true(strncmp(line, "ENDPOINT ", 9) == 0);
    char *nl = strchr(line, '\n');
    *nl = '\0';
    snprintf(bound, bound_size, "%s", line + 9);
    return pid;
}

static void
test_two_processes_kill_and_restart(void **state)
{
    char endpoint[256];
    pid_t pid = spawn_server("tcp://127.0.0.1:0", endpoint, sizeof(endpoint));
    assert_true(strncmp(endpoint, "tcp://127.0.0.1:", 16) == 0);

    struct tr_err err;
    struct tr_rpc_client_opts co = {.name = "distributor-7"};
    struct tr_rpc_client *c = tr_rpc_client_create(endpoint, &co, &err);
    assert_non_null(c);
    struct tr_buf resp = TR_BUF_INIT;
    assert_int_equal(
        tr_rpc_client_call(c, "test.Echo", "first", 5, 5000, &resp, &err),
        TR_OK);
    assert_memory_equal(resp.data, "first", 5);
    assert_int_equal(
        tr_rpc_client_call(c, "test.Whoami", NULL, 0, 5000, &resp, &err),
        TR_OK);
    assert_int_equal(resp.len, strlen("distributor-7"));
    assert_memory_equal(resp.data, "distributor-7", resp.len);

    /* The server dies without a goodbye. */
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    int64_t start = tr_mono_ns();
    int rc = tr_rpc_client_call(c, "test.Echo", "second", 6, 500, &resp, &err);
    int64_t took_ms = (tr_mono_ns() - start) / TR_NS_PER_MS;
    assert_true(rc == TR_EUNAVAIL || rc == TR_ETIMEOUT);
    assert_true(took_ms < 1500);
    print_message("after SIGKILL: rc=%s in %lld ms: %s\n", tr_err_name(rc),
                  (long long)took_ms, err.msg);
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "cannot call test.Echo on %s: ", endpoint);
    assert_true(strncmp(err.msg, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(err.msg, "within 500 ms (peer down?)"));

    /* Same port, new process: the client recovers by itself. */
    char again[256];
    pid = spawn_server(endpoint, again, sizeof(again));
    assert_string_equal(again, endpoint);
    assert_int_equal(
        tr_rpc_client_call(c, "test.Echo", "third", 5, 5000, &resp, &err),
        TR_OK);
    assert_memory_equal(resp.data, "third", 5);
    /* The new process knows the caller: the hello was redone. */
    assert_int_equal(
        tr_rpc_client_call(c, "test.Whoami", NULL, 0, 5000, &resp, &err),
        TR_OK);
    assert_memory_equal(resp.data, "distributor-7", resp.len);

    tr_buf_fini(&resp);
    tr_rpc_client_destroy(c);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Clean stop (and, under sanitizers, no leak in the server). */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unary_inproc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_api_over_tcp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_inproc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_calls_from_4_threads,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_error_propagates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deadline_exceeded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_cancel_reaches_handler,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_mismatch_refused_by_server,
                                        setup, teardown),
        cmocka_unit_test(test_version_mismatch_refused_by_client),
        cmocka_unit_test_setup_teardown(test_bad_endpoints, setup, teardown),
        cmocka_unit_test(test_two_processes_kill_and_restart),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    tr_rpc_context_term();
    return failed;
}
