#include "base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

#define DEFAULT_BLOCK_SIZE (16 * 1024)
#define ALIGNMENT 16
#define MAX_GROWN_BLOCK (4 * 1024 * 1024)

struct block {
    struct block *next;
    size_t size;
    size_t used;
    _Alignas(ALIGNMENT) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *arg);
    void *arg;
};

struct tr_arena {
    struct block *blocks; /* newest first; the last one is kept on reset */
    struct cleanup *cleanups;
    size_t block_size;
    size_t used;
    /* Blocks a reset kept for reuse (tr_arena_set_keep), and their bytes. */
    struct block *spare;
    size_t spare_bytes;
    size_t keep;
};

static struct block *
block_new(size_t size)
{
    struct block *b = tr_malloc(sizeof(*b) + size);
    if (b != NULL) {
        b->next = NULL;
        b->size = size;
        b->used = 0;
    }
    return b;
}

struct tr_arena *
tr_arena_create(size_t block_size)
{
    struct tr_arena *a = tr_calloc(1, sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    a->block_size = block_size != 0 ? block_size : DEFAULT_BLOCK_SIZE;
    a->blocks = block_new(a->block_size);
    if (a->blocks == NULL) {
        tr_free(a);
        return NULL;
    }
    return a;
}

static void
run_cleanups(struct tr_arena *a)
{
    while (a->cleanups != NULL) {
        struct cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg); /* the node itself lives in the arena */
    }
}

/* Takes the smallest spare block that holds size bytes, or NULL. */
static struct block *
take_spare(struct tr_arena *a, size_t size)
{
    struct block **best = NULL;
    for (struct block **p = &a->spare; *p != NULL; p = &(*p)->next) {
        if ((*p)->size >= size &&
            (best == NULL || (*p)->size < (*best)->size)) {
            best = p;
            if ((*p)->size == size) {
                break; /* regular blocks: usually the first one */
            }
        }
    }
    if (best == NULL) {
        return NULL;
    }
    struct block *b = *best;
    *best = b->next;
    a->spare_bytes -= b->size;
    b->next = NULL;
    b->used = 0;
    return b;
}

void
tr_arena_reset(struct tr_arena *a)
{
    run_cleanups(a);
    /* Keep one regular-sized block for reuse, spare blocks up to the keep
     * limit, and free the rest. */
    struct block *keep = NULL;
    while (a->blocks != NULL) {
        struct block *b = a->blocks;
        a->blocks = b->next;
        if (keep == NULL && b->size == a->block_size) {
            keep = b;
        } else if (a->spare_bytes + b->size <= a->keep) {
            b->next = a->spare;
            a->spare = b;
            a->spare_bytes += b->size;
        } else {
            tr_free(b);
        }
    }
    if (keep == NULL) {
        keep = take_spare(a, a->block_size);
    }
    if (keep == NULL) {
        keep = block_new(a->block_size); /* only big blocks were left */
    }
    /* A failed block_new leaves blocks NULL; alloc then reports ENOMEM. */
    a->blocks = keep;
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->used = 0;
}

void
tr_arena_set_keep(struct tr_arena *a, size_t bytes)
{
    a->keep = bytes;
    while (a->spare != NULL && a->spare_bytes > bytes) {
        struct block *b = a->spare;
        a->spare = b->next;
        a->spare_bytes -= b->size;
        tr_free(b);
    }
}

void
tr_arena_destroy(struct tr_arena *a)
{
    if (a == NULL) {
        return;
    }
    run_cleanups(a);
    while (a->blocks != NULL) {
        struct block *b = a->blocks;
        a->blocks = b->next;
        tr_free(b);
    }
    while (a->spare != NULL) {
        struct block *b = a->spare;
        a->spare = b->next;
        tr_free(b);
    }
    tr_free(a);
}

void *
tr_arena_alloc(struct tr_arena *a, size_t size)
{
    size_t rounded = (size + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
    struct block *b = a->blocks;

    if (rounded < size || b == NULL) {
        return NULL; /* overflow, or a reset that could not keep a block */
    }
    if (b->size - b->used < rounded) {
        /* Blocks grow with the arena (a quarter of what it holds, up to
         * MAX_GROWN_BLOCK): a query holding hundreds of MiB then uses
         * a few big blocks, which the allocator maps and unmaps whole,
         * instead of thousands that fragment the heap after a reset. */
        size_t most =
            a->block_size > MAX_GROWN_BLOCK ? a->block_size : MAX_GROWN_BLOCK;
        size_t grown = a->used / 4 / a->block_size * a->block_size;
        grown = grown < a->block_size ? a->block_size
                : grown > most        ? most
                                      : grown;
        if (rounded > grown / 4) {
            /* Big allocation: its own block, behind the current one so the
             * current block keeps serving small allocations. */
            struct block *big =
                a->spare != NULL ? take_spare(a, rounded) : NULL;
            if (big == NULL) {
                big = block_new(rounded);
            }
            if (big == NULL) {
                return NULL;
            }
            big->used = rounded;
            big->next = b->next;
            b->next = big;
            a->used += rounded;
            return big->data;
        }
        b = a->spare != NULL ? take_spare(a, grown) : NULL;
        if (b == NULL) {
            b = block_new(grown);
        }
        if (b == NULL) {
            return NULL;
        }
        b->next = a->blocks;
        a->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += rounded;
    a->used += rounded;
    return p;
}

void *
tr_arena_calloc(struct tr_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    void *p = tr_arena_alloc(a, count * size);
    if (p != NULL) {
        memset(p, 0, count * size);
    }
    return p;
}

char *
tr_arena_strndup(struct tr_arena *a, const char *s, size_t n)
{
    char *p = tr_arena_alloc(a, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *
tr_arena_sprintf(struct tr_arena *a, const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *p = n >= 0 ? tr_arena_alloc(a, (size_t)n + 1) : NULL;
    if (p != NULL) {
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    }
    va_end(ap);
    return p;
}

int
tr_arena_on_reset(struct tr_arena *a, void (*fn)(void *arg), void *arg)
{
    struct cleanup *c = tr_arena_alloc(a, sizeof(*c));
    if (c == NULL) {
        return TR_ENOMEM;
    }
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return TR_OK;
}

size_t
tr_arena_used(const struct tr_arena *a)
{
    return a->used;
}

static void *
pb_alloc(void *data, size_t size)
{
    return tr_arena_alloc(data, size);
}

static void
pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

void
tr_arena_pb_allocator(struct tr_arena *a, ProtobufCAllocator *out)
{
    out->alloc = pb_alloc;
    out->free = pb_free;
    out->allocator_data = a;
}
