/*
 * A bump allocator for request-scoped memory (nginx pools, fluent-bit's
 * OTLP decoding arena). Allocations are never freed one by one: the whole
 * arena is reset when the request ends, which first runs the cleanup hooks
 * registered on it (for non-memory resources such as file descriptors),
 * newest first.
 *
 * protobuf-c can unpack straight into an arena through the allocator that
 * tr_arena_pb_allocator() fills in; its free does nothing, so unpacked
 * messages need no protobuf_c_message_free_unpacked().
 *
 * An arena is not thread-safe: one request, one thread.
 */
#ifndef TR_BASE_ARENA_H
#define TR_BASE_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct tr_arena;

/*
 * Creates an arena whose blocks hold block_size bytes (0 picks 16 KiB);
 * once it holds more, new blocks grow to a quarter of its size (at most
 * 4 MiB), and allocations over a quarter of a block get a block of their
 * own. NULL on allocation failure.
 */
struct tr_arena *tr_arena_create(size_t block_size);
/* Runs the cleanup hooks and frees everything. NULL is allowed. */
void tr_arena_destroy(struct tr_arena *a);
/* Runs the cleanup hooks and forgets all allocations, keeping one block
 * (and spare blocks up to the tr_arena_set_keep limit). */
void tr_arena_reset(struct tr_arena *a);

/*
 * Lets resets keep up to bytes of blocks (besides the one always kept) for
 * later allocations instead of freeing them, so an arena reused for
 * request after request stops paying for fresh memory (allocation and
 * page faults) each time. 0, the default, keeps none; lowering the limit
 * frees spare blocks above it.
 */
void tr_arena_set_keep(struct tr_arena *a, size_t bytes);

/* size bytes aligned for any type; NULL when out of memory. */
void *tr_arena_alloc(struct tr_arena *a, size_t size);
void *tr_arena_calloc(struct tr_arena *a, size_t count, size_t size);
/* NUL-terminated copy of the first n bytes of s. */
char *tr_arena_strndup(struct tr_arena *a, const char *s, size_t n);
char *tr_arena_sprintf(struct tr_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(arg) to run on reset/destroy. TR_OK or TR_ENOMEM. */
int tr_arena_on_reset(struct tr_arena *a, void (*fn)(void *arg), void *arg);

/* Bytes handed out since the last reset (for limits and metrics). */
size_t tr_arena_used(const struct tr_arena *a);

/* Fills *out with an allocator that allocates from a and never frees. */
void tr_arena_pb_allocator(struct tr_arena *a, ProtobufCAllocator *out);

#endif
