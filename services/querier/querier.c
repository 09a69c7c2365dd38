/*
 * The querier module: evaluates Prometheus API requests that the
 * query-frontend sends over RPC (querier.Prometheus), reading every
 * ingester (recent data) and the blocks in object storage (older data).
 */
#include "querier.h"

#include "app/server.h"
#include "app/storage.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "config/config.h"
#include "promql/engine.h"
#include "querier_internal.h"
#include "ring/pool.h"
#include "rpc/rpc.h"

struct tr_arena *
querier_arena_get(struct querier *q)
{
    struct tr_arena *a = NULL;
    pthread_mutex_lock(&q->arenas_lock);
    if (q->n_arenas > 0) {
        a = q->arenas[--q->n_arenas];
    }
    pthread_mutex_unlock(&q->arenas_lock);
    if (a == NULL) {
        a = tr_arena_create(QUERIER_ARENA_BLOCK);
        if (a != NULL) {
            tr_arena_set_keep(a, QUERIER_ARENA_KEEP);
        }
    }
    return a;
}

void
querier_arena_put(struct querier *q, struct tr_arena *a)
{
    if (a == NULL) {
        return;
    }
    tr_arena_reset(a);
    pthread_mutex_lock(&q->arenas_lock);
    if (q->n_arenas < QUERIER_ARENA_POOL) {
        q->arenas[q->n_arenas++] = a;
        a = NULL;
    }
    pthread_mutex_unlock(&q->arenas_lock);
    tr_arena_destroy(a);
}

static void
querier_destroy(struct querier *q)
{
    if (q == NULL) {
        return;
    }
    for (size_t i = 0; i < q->n_arenas; i++) {
        tr_arena_destroy(q->arenas[i]);
    }
    pthread_mutex_destroy(&q->arenas_lock);
    tr_promql_engine_destroy(q->engine);
    querier_blocks_destroy(q->blocks);
    tr_ingester_pool_destroy(q->ingesters);
    tr_free(q);
}

static int
querier_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    struct tr_server *server = tr_server_of(app);
    struct querier *q = tr_calloc(1, sizeof(*q));
    if (q == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&q->arenas_lock, NULL);
    q->lookback_delta_ms = cfg->querier.lookback_delta_ns / TR_NS_PER_MS;
    q->max_samples = cfg->querier.max_samples;
    q->timeout_ms = cfg->querier.timeout_ns / TR_NS_PER_MS;
    q->default_eval_interval_ms =
        cfg->querier.default_evaluation_interval_ns / TR_NS_PER_MS;
    q->ingester_timeout_ms =
        (int)(cfg->ingester_client.timeout_ns / TR_NS_PER_MS);

    /* Every ingester: each holds part of the recent data (and replicas
     * hold copies, which the store merges). */
    const char *local = tr_server_rpc_local_endpoint(server);
    const char *const *endpoints =
        (const char *const *)cfg->ingester_client.addresses.items;
    size_t count = cfg->ingester_client.addresses.count;
    if (count == 0) {
        if (!tr_app_has(app, "ingester")) {
            tr_err_set(err, TR_EINVAL,
                       "no ingesters to query: set "
                       "-ingester_client.addresses=tcp://host:9095[,...] "
                       "or run the ingester role in this process");
            goto fail;
        }
        endpoints = &local;
        count = 1;
    }
    struct tr_ingester_pool_opts pool_opts = {
        .client_name = "querier",
        .check_interval_ns = cfg->ingester_client.health_check_interval_ns,
        .call_timeout_ms = q->ingester_timeout_ms,
    };
    q->ingesters = tr_ingester_pool_create(endpoints, count, &pool_opts, err);
    if (q->ingesters == NULL) {
        goto fail;
    }
    q->blocks = querier_blocks_create(
        tr_storage_of(app), (size_t)cfg->querier.block_cache_size,
        cfg->querier.block_list_refresh_interval_ns);
    struct tr_promql_engine_options eo = {
        .lookback_delta_ms = q->lookback_delta_ms,
        .max_samples = q->max_samples,
        .timeout_ms = q->timeout_ms,
        .default_eval_interval_ms = q->default_eval_interval_ms,
    };
    q->engine = tr_promql_engine_create(&eo);
    if (q->blocks == NULL || q->engine == NULL) {
        tr_err_set(err, TR_ENOMEM, "out of memory");
        goto fail;
    }
    if (tr_rpc_server_handle(tr_server_rpc(server), "querier.Prometheus",
                             querier_prometheus_handle, q, err) != TR_OK) {
        goto fail;
    }
    *state = q;
    return TR_OK;
fail:
    querier_destroy(q);
    return err != NULL ? err->code : TR_EINVAL;
}

static void
querier_stop(struct tr_app *app, void *state)
{
    querier_destroy(state);
}

static const char *const querier_deps[] = {"server", "storage", NULL};

const struct tr_module tr_querier_module = {
    .name = "querier",
    .deps = querier_deps,
    .is_role = true,
    .start = querier_start,
    .stop = querier_stop,
};
