#include "base/mem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tr_build_config.h"

/*
 * Each block carries a 16-byte header holding its size, so tr_free can keep
 * the in-use counter exact without malloc_usable_size (which differs between
 * allocators and sanitizers). 16 bytes keeps the user pointer max-aligned.
 */
#define HEADER_SIZE 16

static _Atomic int64_t bytes_in_use;

#if TR_FAULT_INJECT
static _Atomic long alloc_calls;

static int
should_fail(void)
{
    static long every = -1;
    if (every < 0) {
        const char *s = getenv("TR_FAULT_MALLOC_EVERY");
        every = s != NULL ? atol(s) : 0;
    }
    return every > 0 && (atomic_fetch_add(&alloc_calls, 1) + 1) % every == 0;
}
#else
#define should_fail() 0
#endif

void *
tr_malloc(size_t size)
{
    if (should_fail() || size > SIZE_MAX - HEADER_SIZE) {
        return NULL;
    }
    unsigned char *p = malloc(size + HEADER_SIZE);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &size, sizeof(size));
    atomic_fetch_add(&bytes_in_use, (int64_t)size);
    return p + HEADER_SIZE;
}

void *
tr_calloc(size_t count, size_t size)
{
    if (size != 0 && count > (SIZE_MAX - HEADER_SIZE) / size) {
        return NULL;
    }
    void *p = tr_malloc(count * size);
    if (p != NULL) {
        memset(p, 0, count * size);
    }
    return p;
}

void *
tr_realloc(void *ptr, size_t size)
{
    if (ptr == NULL) {
        return tr_malloc(size);
    }
    if (should_fail() || size > SIZE_MAX - HEADER_SIZE) {
        return NULL;
    }
    unsigned char *base = (unsigned char *)ptr - HEADER_SIZE;
    size_t old;
    memcpy(&old, base, sizeof(old));
    unsigned char *p = realloc(base, size + HEADER_SIZE);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &size, sizeof(size));
    atomic_fetch_add(&bytes_in_use, (int64_t)size - (int64_t)old);
    return p + HEADER_SIZE;
}

void
tr_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    unsigned char *base = (unsigned char *)ptr - HEADER_SIZE;
    size_t size;
    memcpy(&size, base, sizeof(size));
    atomic_fetch_sub(&bytes_in_use, (int64_t)size);
    free(base);
}

char *
tr_strndup(const char *s, size_t n)
{
    char *p = tr_malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *
tr_strdup(const char *s)
{
    return tr_strndup(s, strlen(s));
}

static void *
or_die(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "level=fatal msg=\"out of memory\"\n");
        abort();
    }
    return p;
}

void *
tr_xmalloc(size_t size)
{
    return or_die(tr_malloc(size));
}

void *
tr_xcalloc(size_t count, size_t size)
{
    return or_die(tr_calloc(count, size));
}

char *
tr_xstrdup(const char *s)
{
    return or_die(tr_strdup(s));
}

int64_t
tr_mem_bytes_in_use(void)
{
    return atomic_load(&bytes_in_use);
}

int
tr_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return TR_OK;
    }
    size_t ncap = *cap == 0 ? 16 : *cap;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            return TR_ENOMEM;
        }
        ncap *= 2;
    }
    if (elem != 0 && ncap > SIZE_MAX / elem) {
        return TR_ENOMEM;
    }
    void *p = tr_realloc(*arr, ncap * elem);
    if (p == NULL) {
        return TR_ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return TR_OK;
}
