/*
 * The compactor module. It owns no work yet: compaction and retention
 * arrive with the block format (see README.md).
 */
#include "compactor.h"

#include "base/err.h"

static int
compactor_start(struct tr_app *app, void **state, struct tr_err *err)
{
    *state = NULL;
    return TR_OK;
}

static const char *const compactor_deps[] = {"server", "storage", NULL};

const struct tr_module tr_compactor_module = {
    .name = "compactor",
    .deps = compactor_deps,
    .is_role = true,
    .start = compactor_start,
};
