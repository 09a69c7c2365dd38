/*
 * Retention: deletes metrics blocks that ended more than the retention
 * period ago, for every tenant in the object store.
 */
#ifndef TR_SVC_COMPACTOR_RETENTION_H
#define TR_SVC_COMPACTOR_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct tr_err;
struct tr_objstore;

/* Called for each block deleted (for metrics and logs); may be NULL. */
typedef void (*compactor_deleted_fn)(void *arg, const char *tenant,
                                     const char *block_id);

/*
 * Deletes every block whose end (maxt) is at or before now_ms - retention_ms.
 * Blocks are deleted meta.json first, so a block interrupted half-way is no
 * longer listed and the next run finishes it. Returns TR_OK, or the first
 * store error (blocks handled before it stay deleted). *deleted counts the
 * blocks removed.
 */
int compactor_apply_retention(struct tr_objstore *os, int64_t retention_ms,
                              int64_t now_ms, compactor_deleted_fn on_delete,
                              void *arg, size_t *deleted, struct tr_err *err);

#endif
