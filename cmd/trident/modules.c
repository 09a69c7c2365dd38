#include "modules.h"

#include "app/server.h"
#include "app/storage.h"
#include "compactor.h"
#include "distributor.h"
#include "ingester.h"
#include "querier.h"
#include "query_frontend.h"

const struct tr_module *const tr_modules[] = {
    /* infrastructure */
    &tr_server_module,
    &tr_storage_module,
    /* roles */
    &tr_distributor_module,
    &tr_ingester_module,
    &tr_querier_module,
    &tr_query_frontend_module,
    &tr_compactor_module,
};

const size_t tr_modules_count = sizeof(tr_modules) / sizeof(tr_modules[0]);
