/*
 * Internal request/response RPC between Trident roles (distributor ->
 * ingester pushes, querier -> ingester queries) over ZeroMQ.
 *
 * Payloads are opaque bytes: callers put serialized protobuf-c messages in
 * them. The envelope (proto/trident/rpc.proto) carries the method name,
 * a request id, the caller's remaining time and errors.
 *
 * One API, any transport: a server binds inproc://<name> (roles in the same
 * process, which must share one ZeroMQ context: tr_rpc_context() provides
 * it) and/or tcp://host:port; a client connects to either, and calling code
 * does not know which.
 *
 * Every connection starts with a hello carrying TR_RPC_PROTOCOL_VERSION and
 * the caller's name; a mismatch is refused on both sides with TR_EINVAL.
 * When the server restarts, the client notices on its next call (the server
 * asks for a new hello), says hello again and resends, transparently.
 *
 * Errors seen by callers read
 *   "cannot call ingester.Push on tcp://127.0.0.1:9095: <cause>"
 * with code TR_EUNAVAIL (no connection to the peer within the timeout),
 * TR_ETIMEOUT (sent, no answer in time), TR_ENOTFOUND (unknown method),
 * TR_EINVAL (version mismatch) or whatever code the handler failed with.
 *
 * Known limits: there is no flow control inside a stream; a server's
 * answers queue without bound (in the server and the client) until the
 * caller reads them, so streams should be bounded by the request (limits,
 * pages). Payloads above max_msg_bytes (64 MiB by default) are dropped
 * by a tcp server and the caller times out.
 */
#ifndef TR_RPC_RPC_H
#define TR_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_arena;
struct tr_buf;
struct tr_err;

/* Bumped on any incompatible change of the envelope or its semantics. */
#define TR_RPC_PROTOCOL_VERSION 1

/* Defaults used when the corresponding option is 0. */
#define TR_RPC_DEFAULT_TIMEOUT_MS 5000
#define TR_RPC_DEFAULT_WORKERS 4
#define TR_RPC_DEFAULT_MAX_QUEUE 1024
#define TR_RPC_DEFAULT_MAX_IDLE_SOCKETS 8
#define TR_RPC_DEFAULT_MAX_MSG_BYTES (64 * 1024 * 1024)

/* ---- Process-wide ZeroMQ context ---------------------------------------- */

/*
 * Returns the process-wide ZeroMQ context (a void * from zmq_ctx_new),
 * creating it on first use; NULL if ZeroMQ cannot create one. inproc://
 * endpoints only connect sockets of the same context, so every role of one
 * process should use this one (which is what a NULL zmq_ctx option means).
 * The context stays owned by this module.
 */
void *tr_rpc_context(void);

/*
 * Terminates the process-wide context, if it was created. Call it once at
 * exit, after every client and server using it was destroyed (sockets use
 * linger 0, so this does not hang on unsent messages). A later
 * tr_rpc_context() creates a fresh one.
 */
void tr_rpc_context_term(void);

/* ---- Server ------------------------------------------------------------- */

struct tr_rpc_server;

/* One incoming call, handed to a handler; see tr_rpc_call_* below. */
struct tr_rpc_call;

/* What a handler gets to read; everything is borrowed for the call. */
struct tr_rpc_request {
    const char *method;  /* e.g. "ingester.Push" */
    const char *peer;    /* caller's name from its hello */
    const void *payload; /* request bytes (may be NULL when len is 0) */
    size_t len;
    /*
     * When the caller stops waiting, on the tr_mono_ns() clock. Computed
     * from the caller's remaining time when the request arrived.
     */
    int64_t deadline_ns;
    bool stream; /* the caller used tr_rpc_client_stream() */
    /*
     * Scratch memory for this call (e.g. unpack the request with
     * tr_arena_pb_allocator()); reset when the handler returns.
     */
    struct tr_arena *arena;
};

/*
 * A handler runs on one of the server's worker threads, concurrently with
 * other handlers. It must finish the call exactly once: with one
 * tr_rpc_call_reply(), or with tr_rpc_call_send() any number of times then
 * tr_rpc_call_end(), or with tr_rpc_call_fail() (the _take variants count
 * as their copying twins). Returning without finishing
 * sends TR_EIO "handler returned without a reply" to the caller. The call
 * object is freed after the handler returns; do not keep it.
 */
typedef void (*tr_rpc_handler_fn)(struct tr_rpc_call *call,
                                  const struct tr_rpc_request *req, void *arg);

struct tr_rpc_server_opts {
    void *zmq_ctx;         /* NULL: tr_rpc_context() */
    const char *name;      /* this role/instance, for hellos and logs */
    int workers;           /* handler threads; 0: TR_RPC_DEFAULT_WORKERS */
    int max_queue;         /* queued calls beyond which callers get TR_ELIMIT */
    int64_t max_msg_bytes; /* larger incoming messages are dropped (tcp) */
};

/*
 * Creates a stopped server. opts may be NULL (all defaults). Returns NULL
 * with err set when ZeroMQ or memory fails.
 */
struct tr_rpc_server *
tr_rpc_server_create(const struct tr_rpc_server_opts *opts, struct tr_err *err);

/*
 * Registers fn(call, req, arg) for method (copied). Only before
 * tr_rpc_server_start(). TR_EINVAL if already started or the method is
 * registered twice; TR_ENOMEM.
 */
int tr_rpc_server_handle(struct tr_rpc_server *s, const char *method,
                         tr_rpc_handler_fn fn, void *arg, struct tr_err *err);

/*
 * Binds the server to endpoint ("inproc://ingester",
 * "tcp://127.0.0.1:9095"; port 0 picks a free port). Can be called
 * several times for several endpoints, only before start. When bound is
 * not NULL, the actual endpoint (port resolved) is written there as a
 * NUL-terminated string of at most bound_size bytes. TR_EINVAL for a bad
 * endpoint or after start, TR_EIO when the address is in use.
 */
int tr_rpc_server_bind(struct tr_rpc_server *s, const char *endpoint,
                       char *bound, size_t bound_size, struct tr_err *err);

/* Starts the worker threads and the I/O thread. TR_EIO/TR_ENOMEM. */
int tr_rpc_server_start(struct tr_rpc_server *s, struct tr_err *err);

/*
 * Stops the server: running calls see tr_rpc_call_canceled() turn true,
 * queued calls are answered TR_EUNAVAIL, then the threads are joined.
 * Waits for running handlers to return. Idempotent.
 */
void tr_rpc_server_stop(struct tr_rpc_server *s);

/* Stops (if needed) and frees the server. NULL is allowed. */
void tr_rpc_server_destroy(struct tr_rpc_server *s);

/*
 * Finishes a unary call with the reply bytes data[0..len) (copied).
 * Returns TR_OK, or TR_ECANCELED/TR_ETIMEOUT when the caller is gone (the
 * reply is then not sent), TR_ENOMEM. Finishing a call twice aborts.
 */
int tr_rpc_call_reply(struct tr_rpc_call *call, const void *data, size_t len);

/*
 * Like tr_rpc_call_reply() but takes data, which must come from
 * tr_malloc: it is handed to ZeroMQ without a copy and freed with tr_free
 * once sent, also on error.
 */
int tr_rpc_call_reply_take(struct tr_rpc_call *call, void *data, size_t len);

/*
 * Sends one message of a stream (copied / taken as above). Returns TR_OK,
 * or TR_ECANCELED when the caller canceled (or the server stops),
 * TR_ETIMEOUT when the deadline passed: the handler should then stop and
 * return (finishing is then optional).
 */
int tr_rpc_call_send(struct tr_rpc_call *call, const void *data, size_t len);
int tr_rpc_call_send_take(struct tr_rpc_call *call, void *data, size_t len);

/* Ends a stream successfully. Same returns as tr_rpc_call_send(). */
int tr_rpc_call_end(struct tr_rpc_call *call);

/*
 * Fails the call (unary or stream, also after some messages) with code (a
 * negative TR_E* code) and a printf message, which the caller receives as
 * its error code and message. Returns code.
 */
int tr_rpc_call_fail(struct tr_rpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * True when the caller canceled, its deadline passed, it disconnected, or
 * the server is stopping: long handlers should check it and give up.
 */
bool tr_rpc_call_canceled(const struct tr_rpc_call *call);

/* ---- Client ------------------------------------------------------------- */

struct tr_rpc_client;

struct tr_rpc_client_opts {
    void *zmq_ctx;          /* NULL: tr_rpc_context() */
    const char *name;       /* this role/instance, sent in the hello */
    int default_timeout_ms; /* used when a call passes 0 */
    int max_idle_sockets;   /* idle connections kept for reuse */
};

/*
 * Creates a client of the server at endpoint (inproc://... or
 * tcp://host:port; copied). Connecting is asynchronous: a server that is
 * down makes calls fail, not this. opts may be NULL. Returns NULL with
 * err set for a malformed endpoint (TR_EINVAL) or on failure.
 *
 * A client is safe to use from many threads at once: each call borrows a
 * socket from a small pool (opening one more when all are busy), so
 * concurrent calls never share a socket.
 */
struct tr_rpc_client *
tr_rpc_client_create(const char *endpoint,
                     const struct tr_rpc_client_opts *opts, struct tr_err *err);

/* Frees the client. No call may be running. NULL is allowed. */
void tr_rpc_client_destroy(struct tr_rpc_client *c);

/* The endpoint given at creation (borrowed). */
const char *tr_rpc_client_endpoint(const struct tr_rpc_client *c);

/*
 * Unary call: sends req[0..req_len) to method and waits at most timeout_ms
 * (0: the client's default) for the reply, which replaces resp's contents
 * (resp is reset first; the caller owns it and frees it with tr_buf_fini;
 * NULL discards the reply).
 * Returns TR_OK or an error code with err set, see the top of this file.
 */
int tr_rpc_client_call(struct tr_rpc_client *c, const char *method,
                       const void *req, size_t req_len, int timeout_ms,
                       struct tr_buf *resp, struct tr_err *err);

/*
 * Called for each message of a stream, on the calling thread; msg is
 * borrowed until it returns. Returning non-zero cancels the stream: the
 * server is told, and tr_rpc_client_stream() returns TR_ECANCELED.
 */
typedef int (*tr_rpc_stream_fn)(void *arg, const void *msg, size_t len);

/*
 * Streaming call: like tr_rpc_client_call() but calls fn for every
 * message until the server ends the stream (TR_OK) or fails it (its code).
 * timeout_ms bounds the whole stream. A unary reply to a streaming call
 * is delivered as a single message.
 */
int tr_rpc_client_stream(struct tr_rpc_client *c, const char *method,
                         const void *req, size_t req_len, int timeout_ms,
                         tr_rpc_stream_fn fn, void *arg, struct tr_err *err);

#endif
