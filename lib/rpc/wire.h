/*
 * Private to lib/rpc: the two-frame envelope (Header, payload) shared by
 * the client and the server, and the process-wide context. Not a public
 * header; include "rpc/rpc.h" instead.
 */
#ifndef TR_RPC_WIRE_H
#define TR_RPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "trident/rpc.pb-c.h"

typedef Trident__Rpc__Header tr_rpc_header_pb;

/*
 * Packs hdr into one frame (packed straight into the zmq message, no
 * copy) and sends it with flags (ZMQ_SNDMORE, ZMQ_DONTWAIT). Returns 0,
 * or -1 with errno from zmq_msg_send (EAGAIN, EHOSTUNREACH, ETERM...).
 */
int rpc_wire_send_header(void *sock, const tr_rpc_header_pb *hdr, int flags);

/* Sends a copy of data[0..len) as one frame. Same returns. */
int rpc_wire_send_copy(void *sock, const void *data, size_t len, int flags);

/*
 * Receives one message (all its frames) from sock with flags. Returns 0
 * with *hdr (free with rpc_wire_header_free) and payload (initialized;
 * caller closes it) when the message is a well-formed header + payload;
 * 1 when a message was received but malformed (and dropped); -1 with
 * errno on receive failure (EAGAIN, ETERM, EINTR).
 */
int rpc_wire_recv(void *sock, tr_rpc_header_pb **hdr, zmq_msg_t *payload,
                  int flags);

/* Unpacks a header from bytes; NULL when malformed. */
tr_rpc_header_pb *rpc_wire_header_unpack(const void *data, size_t len);
void rpc_wire_header_free(tr_rpc_header_pb *hdr);

/* Receives and discards the remaining frames of a multipart message. */
void rpc_wire_drain(void *sock);

/* Sets ZMQ_LINGER 0 and closes sock. NULL is allowed. */
void rpc_wire_close(void *sock);

/* Milliseconds left until deadline_ns (tr_mono_ns), rounded up, >= 0. */
int rpc_ms_left(int64_t deadline_ns);

#endif
