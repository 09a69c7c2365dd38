/*
 * Heap allocation. All project code allocates through these wrappers so
 * that the bytes in use can be exported as the tr_mem_bytes gauge, and so
 * that builds with TR_FAULT_INJECT can make allocations fail on demand
 * (environment TR_FAULT_MALLOC_EVERY=N fails every Nth call) to exercise
 * error paths.
 *
 * tr_malloc and friends return NULL on failure like malloc. The tr_x*
 * variants abort with a message instead; use them only where there is no
 * sensible way to report the failure (startup, tiny fixed structures).
 * Memory from these functions must be released with tr_free, never free().
 */
#ifndef TR_BASE_MEM_H
#define TR_BASE_MEM_H

#include <stddef.h>
#include <stdint.h>

void *tr_malloc(size_t size);
void *tr_calloc(size_t count, size_t size);
/* Like realloc: on failure returns NULL and leaves ptr untouched. */
void *tr_realloc(void *ptr, size_t size);
/* NULL is allowed. */
void tr_free(void *ptr);

/* Copy of s (or of its first n bytes, then NUL); caller frees with tr_free. */
char *tr_strdup(const char *s);
char *tr_strndup(const char *s, size_t n);

void *tr_xmalloc(size_t size);
void *tr_xcalloc(size_t count, size_t size);
char *tr_xstrdup(const char *s);

/*
 * Makes *arr (an array of *cap elements of elem bytes, from tr_malloc or
 * NULL) hold at least need elements, doubling its capacity (from 16).
 * Returns 0 (TR_OK), or TR_ENOMEM leaving *arr and *cap untouched.
 */
int tr_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Bytes currently allocated through these wrappers. */
int64_t tr_mem_bytes_in_use(void);

#endif
