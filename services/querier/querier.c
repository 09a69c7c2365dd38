/*
 * The querier module. It owns no work yet: the PromQL engine over
 * ingesters and blocks arrives with the metrics path (see README.md).
 */
#include "querier.h"

#include "base/err.h"

static int
querier_start(struct tr_app *app, void **state, struct tr_err *err)
{
    *state = NULL;
    return TR_OK;
}

static const char *const querier_deps[] = {"server", "storage", NULL};

const struct tr_module tr_querier_module = {
    .name = "querier",
    .deps = querier_deps,
    .is_role = true,
    .start = querier_start,
};
