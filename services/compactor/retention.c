#include "retention.h"

#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "objstore/objstore.h"
#include "tsdb/block.h"

struct tenant_list {
    char **names;
    size_t count;
};

/* Collects the top-level prefixes of the bucket: one per tenant. */
static int
collect_tenant(void *arg, const struct tr_objstore_entry *entry,
               struct tr_err *err)
{
    struct tenant_list *l = arg;
    if (!entry->is_prefix) {
        return 0; /* a stray object at the top level is not a tenant */
    }
    size_t len = strlen(entry->key);
    if (len > 0 && entry->key[len - 1] == '/') {
        len--;
    }
    char **names = tr_realloc(l->names, (l->count + 1) * sizeof(*names));
    if (names == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    l->names = names;
    l->names[l->count] = tr_strndup(entry->key, len);
    if (l->names[l->count] == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    l->count++;
    return 0;
}

static int
apply_to_tenant(struct tr_objstore *os, const char *tenant, int64_t cutoff_ms,
                compactor_deleted_fn on_delete, void *arg, size_t *deleted,
                struct tr_err *err)
{
    struct tr_block_id_list ids = {0};
    int rc = tr_block_list(os, tenant, &ids, err);
    for (size_t i = 0; rc == TR_OK && i < ids.len; i++) {
        struct tr_block_meta meta;
        rc = tr_block_meta_read(os, tenant, ids.ids[i], &meta, err);
        if (rc == TR_ENOTFOUND) {
            rc = TR_OK; /* deleted meanwhile by another compactor */
            continue;
        }
        if (rc != TR_OK || meta.maxt > cutoff_ms) {
            continue;
        }
        rc = tr_block_delete(os, tenant, ids.ids[i], err);
        if (rc == TR_OK) {
            (*deleted)++;
            tr_log_info("deleted block past retention", "tenant=%s block=%s "
                        "maxt=%lld",
                        tenant, ids.ids[i], (long long)meta.maxt);
            if (on_delete != NULL) {
                on_delete(arg, tenant, ids.ids[i]);
            }
        }
    }
    tr_block_id_list_fini(&ids);
    return rc;
}

int
compactor_apply_retention(struct tr_objstore *os, int64_t retention_ms,
                          int64_t now_ms, compactor_deleted_fn on_delete,
                          void *arg, size_t *deleted, struct tr_err *err)
{
    struct tenant_list tenants = {0};
    *deleted = 0;
    int rc = tr_objstore_list(os, "", "/", collect_tenant, &tenants, err);
    for (size_t i = 0; rc == TR_OK && i < tenants.count; i++) {
        rc = apply_to_tenant(os, tenants.names[i], now_ms - retention_ms,
                             on_delete, arg, deleted, err);
        if (rc != TR_OK) {
            tr_err_prefix(err, "cannot apply retention to tenant %s",
                          tenants.names[i]);
        }
    }
    for (size_t i = 0; i < tenants.count; i++) {
        tr_free(tenants.names[i]);
    }
    tr_free(tenants.names);
    return rc;
}
