#include "rpc/wire.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"

/* protobuf-c allocations go through tr_malloc like every other heap use. */
static void *
pb_alloc(void *data, size_t size)
{
    (void)data;
    return tr_malloc(size);
}

static void
pb_free(void *data, void *ptr)
{
    (void)data;
    tr_free(ptr);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

int
rpc_wire_send_header(void *sock, const tr_rpc_header_pb *hdr, int flags)
{
    zmq_msg_t m;
    size_t size = trident__rpc__header__get_packed_size(hdr);
    if (zmq_msg_init_size(&m, size) != 0) {
        return -1;
    }
    trident__rpc__header__pack(hdr, zmq_msg_data(&m));
    if (zmq_msg_send(&m, sock, flags) < 0) {
        int saved = errno;
        zmq_msg_close(&m);
        errno = saved;
        return -1;
    }
    return 0;
}

int
rpc_wire_send_copy(void *sock, const void *data, size_t len, int flags)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, len) != 0) {
        return -1;
    }
    if (len > 0) {
        memcpy(zmq_msg_data(&m), data, len);
    }
    if (zmq_msg_send(&m, sock, flags) < 0) {
        int saved = errno;
        zmq_msg_close(&m);
        errno = saved;
        return -1;
    }
    return 0;
}

tr_rpc_header_pb *
rpc_wire_header_unpack(const void *data, size_t len)
{
    return trident__rpc__header__unpack(&pb_allocator, len, data);
}

void
rpc_wire_header_free(tr_rpc_header_pb *hdr)
{
    if (hdr != NULL) {
        trident__rpc__header__free_unpacked(hdr, &pb_allocator);
    }
}

void
rpc_wire_drain(void *sock)
{
    int more = 0;
    size_t size = sizeof(more);
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &size) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, sock, 0);
        zmq_msg_close(&m);
        if (rc < 0) {
            return;
        }
        size = sizeof(more);
    }
}

int
rpc_wire_recv(void *sock, tr_rpc_header_pb **hdr, zmq_msg_t *payload, int flags)
{
    zmq_msg_t head;
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, sock, flags) < 0) {
        int saved = errno;
        zmq_msg_close(&head);
        errno = saved;
        return -1;
    }
    if (!zmq_msg_more(&head)) {
        zmq_msg_close(&head);
        return 1;
    }
    zmq_msg_init(payload);
    /* The rest of a multipart message is already here: never blocks. */
    if (zmq_msg_recv(payload, sock, 0) < 0) {
        int saved = errno;
        zmq_msg_close(&head);
        zmq_msg_close(payload);
        errno = saved;
        return -1;
    }
    bool extra = zmq_msg_more(payload);
    *hdr = extra ? NULL
                 : rpc_wire_header_unpack(zmq_msg_data(&head),
                                          zmq_msg_size(&head));
    zmq_msg_close(&head);
    if (extra) {
        rpc_wire_drain(sock);
    }
    if (*hdr == NULL) {
        zmq_msg_close(payload);
        return 1;
    }
    return 0;
}

void
rpc_wire_close(void *sock)
{
    if (sock != NULL) {
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(sock);
    }
}

int
rpc_ms_left(int64_t deadline_ns)
{
    int64_t left = deadline_ns - tr_mono_ns();
    if (left <= 0) {
        return 0;
    }
    int64_t ms = (left + TR_NS_PER_MS - 1) / TR_NS_PER_MS;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}
