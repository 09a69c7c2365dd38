/*
 * The ingester module: opens the write-ahead log, replays it in the
 * background, and registers the ingester.* RPC methods (push.c, read.c)
 * and the operations endpoints.
 */
#include "ingester.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/server.h"
#include "app/storage.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"
#include "http/server.h"
#include "ingester_internal.h"
#include "kv/log.h"
#include "metrics/registry.h"
#include "rpc/rpc.h"
#include "trident/ingester.pb-c.h"

static void
handle_status(struct tr_rpc_call *call, const struct tr_rpc_request *req,
              void *arg)
{
    struct ingester *ing = arg;
    Trident__Ingester__StatusResponse resp =
        TRIDENT__INGESTER__STATUS_RESPONSE__INIT;
    uint64_t first, next;

    tr_kv_log_bounds(ing->wal, &first, &next);
    resp.instance_id = ing->instance_id;
    resp.started_at_ms = ing->started_at_ms;
    resp.wal_first_position = first;
    resp.wal_next_position = next;
    resp.ready = atomic_load(&ing->ready);
    resp.series = ingester_series_total(ing);
    size_t len = trident__ingester__status_response__get_packed_size(&resp);
    uint8_t *out = tr_malloc(len > 0 ? len : 1);
    if (out == NULL) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        return;
    }
    trident__ingester__status_response__pack(&resp, out);
    tr_rpc_call_reply_take(call, out, len);
}

/* Creates the directories above path (the log creates only its own), as
 * with an S3 store nothing else creates common.path_prefix. */
static int
make_parent_dirs(const char *path, struct tr_err *err)
{
    char dir[4096];
    int n = snprintf(dir, sizeof(dir), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        return tr_err_set(err, TR_EINVAL, "cannot open WAL %s: path too long",
                          path);
    }
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            return tr_err_set(err, TR_EIO, "cannot create directory %s: %s",
                              dir, strerror(errno));
        }
        *p = '/';
    }
    return TR_OK;
}

static int
metrics_init(struct ingester *ing, struct tr_err *err)
{
    struct tr_metrics_registry *r = tr_metrics_default();
    const char *tenant[] = {"tenant"};
    const char *tenant_reason[] = {"tenant", "reason"};
    ing->appended_samples = tr_counter_vec_register(
        r, "tr_ingester_appended_samples_total",
        "Samples appended to the heads (live pushes and WAL replay).", tenant,
        1, err);
    ing->appended_exemplars = tr_counter_vec_register(
        r, "tr_ingester_appended_exemplars_total",
        "Exemplars stored in the per-tenant rings.", tenant, 1, err);
    ing->discarded = tr_counter_vec_register(
        r, "tr_discarded_samples_total",
        "Samples refused by validation, limits or the ingesters' heads.",
        tenant_reason, 2, err);
    ing->memory_series =
        tr_gauge_vec_register(r, "tr_ingester_memory_series",
                              "Series in the in-memory heads.", tenant, 1, err);
    ing->wal_records = tr_counter_register(r, "tr_ingester_wal_records_total",
                                           "Records appended to the WAL.", err);
    ing->wal_bytes = tr_counter_register(r, "tr_ingester_wal_bytes_total",
                                         "Bytes appended to the WAL.", err);
    ing->wal_replay_seconds =
        tr_gauge_register(r, "tr_ingester_wal_replay_seconds",
                          "How long the last WAL replay at start took.", err);
    ing->wal_replayed_records =
        tr_counter_register(r, "tr_ingester_wal_replayed_records_total",
                            "WAL records applied by the replay at start.", err);
    ing->blocks_cut = tr_counter_vec_register(
        r, "tr_ingester_blocks_cut_total",
        "Blocks cut from the heads and uploaded to object storage.", tenant, 1,
        err);
    ing->min_valid_time = tr_gauge_vec_register(
        r, "tr_ingester_head_min_valid_time_seconds",
        "Samples older than this are refused (they are in blocks).", tenant, 1,
        err);
    ing->upload_failures = tr_counter_register(
        r, "tr_ingester_block_upload_failures_total",
        "Blocks that could not be built or uploaded (retried next round).",
        err);
    ing->selects_narrowed = tr_counter_register(
        r, "tr_ingester_selects_narrowed_total",
        "Selects that left out samples the querier reads from blocks it "
        "named.",
        err);
    ing->wal_truncations = tr_counter_register(
        r, "tr_ingester_wal_truncations_total",
        "Times the WAL was truncated after its records went to blocks.", err);
    ing->wal_first_position = tr_gauge_register(
        r, "tr_ingester_wal_first_position",
        "Position of the oldest record kept in the WAL.", err);
    if (ing->appended_samples == NULL || ing->appended_exemplars == NULL ||
        ing->discarded == NULL || ing->memory_series == NULL ||
        ing->wal_records == NULL || ing->wal_bytes == NULL ||
        ing->wal_replay_seconds == NULL || ing->wal_replayed_records == NULL ||
        ing->blocks_cut == NULL || ing->min_valid_time == NULL ||
        ing->upload_failures == NULL || ing->selects_narrowed == NULL ||
        ing->wal_truncations == NULL || ing->wal_first_position == NULL) {
        return err != NULL ? err->code : TR_ENOMEM;
    }
    return TR_OK;
}

static bool
ingester_ready(void *state)
{
    struct ingester *ing = state;
    return atomic_load(&ing->ready) && !atomic_load(&ing->shut_down);
}

static void
ingester_destroy(struct ingester *ing)
{
    if (ing == NULL) {
        return;
    }
    ingester_replay_join(ing);
    ingester_cutter_stop(ing);
    ingester_tenants_destroy(ing);
    tr_kv_log_close(ing->wal);
    tr_free(ing->recs);
    pthread_rwlock_destroy(&ing->tenants_lock);
    pthread_mutex_destroy(&ing->seq_lock);
    pthread_cond_destroy(&ing->seq_cond);
    pthread_mutex_destroy(&ing->cut_lock);
    pthread_mutex_destroy(&ing->cutter_lock);
    pthread_cond_destroy(&ing->cutter_cond);
    tr_free(ing);
}

static int
ingester_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    struct tr_server *server = tr_server_of(app);
    struct ingester *ing = tr_calloc(1, sizeof(*ing));
    if (ing == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    ing->started_at_ms = tr_now_ms();
    pthread_rwlock_init(&ing->tenants_lock, NULL);
    pthread_mutex_init(&ing->seq_lock, NULL);
    pthread_cond_init(&ing->seq_cond, NULL);
    pthread_mutex_init(&ing->cut_lock, NULL);
    pthread_mutex_init(&ing->cutter_lock, NULL);
    pthread_cond_init(&ing->cutter_cond, NULL);
    ing->store = tr_storage_of(app);
    if (cfg->ingester.block_duration_ns < TR_NS_PER_MS ||
        cfg->ingester.cut_interval_ns <= 0 ||
        cfg->ingester.retain_cut_data_ns < 0 ||
        cfg->ingester.flush_idle_timeout_ns < 0) {
        tr_err_set(err, TR_EINVAL,
                   "invalid ingester options: block_duration must be at "
                   "least 1ms, cut_interval positive, retain_cut_data "
                   "and flush_idle_timeout not negative");
        goto fail;
    }
    ing->block_ms = cfg->ingester.block_duration_ns / TR_NS_PER_MS;
    ing->cut_interval_ns = cfg->ingester.cut_interval_ns;
    ing->retain_ns = cfg->ingester.retain_cut_data_ns;
    ing->idle_flush_ns = cfg->ingester.flush_idle_timeout_ns;
    ing->flush_on_shutdown = cfg->ingester.flush_on_shutdown;
    if (cfg->limits.max_series_per_tenant < 0 ||
        cfg->limits.max_exemplars_per_tenant < 0) {
        tr_err_set(err, TR_EINVAL,
                   "invalid limits: max_series_per_tenant and "
                   "max_exemplars_per_tenant must not be negative");
        goto fail;
    }
    ing->max_series_per_tenant = cfg->limits.max_series_per_tenant;
    ing->max_exemplars_per_tenant = cfg->limits.max_exemplars_per_tenant;
    if (metrics_init(ing, err) != TR_OK) {
        goto fail;
    }
    if (*cfg->ingester.instance_id != '\0') {
        snprintf(ing->instance_id, sizeof(ing->instance_id), "%s",
                 cfg->ingester.instance_id);
    } else if (gethostname(ing->instance_id, sizeof(ing->instance_id)) != 0) {
        snprintf(ing->instance_id, sizeof(ing->instance_id), "ingester");
    }

    /* Small memtables: the WAL is only read back on replay, so memory
     * spent holding recent records buys nothing while running. */
    struct tr_kv_log_options wal_opts = {
        .sync_interval_ms = cfg->ingester.wal_sync_interval_ns / TR_NS_PER_MS,
        .write_buffer_size = (size_t)cfg->ingester.wal_memtable_bytes,
        .max_write_buffers = 2,
    };
    if (tr_kv_log_sync_parse(cfg->ingester.wal_sync, &wal_opts.sync, err) !=
        TR_OK) {
        goto fail;
    }
    if (make_parent_dirs(cfg->ingester.wal_dir, err) != TR_OK) {
        goto fail;
    }
    ing->wal = tr_kv_log_open(cfg->ingester.wal_dir, &wal_opts, err);
    if (ing->wal == NULL) {
        goto fail;
    }
    uint64_t first, next;
    tr_kv_log_bounds(ing->wal, &first, &next);
    tr_log_info("write-ahead log open", "dir=%s sync=%s records=%llu",
                cfg->ingester.wal_dir, cfg->ingester.wal_sync,
                (unsigned long long)(next - first));

    struct tr_rpc_server *rpc = tr_server_rpc(server);
    struct tr_http_server *http = tr_server_http(server);
    if (tr_rpc_server_handle(rpc, "ingester.Status", handle_status, ing, err) !=
            TR_OK ||
        tr_rpc_server_handle(rpc, "ingester.PushMetrics", ingester_handle_push,
                             ing, err) != TR_OK ||
        ingester_read_register(ing, rpc, err) != TR_OK ||
        ingester_blocks_register(ing, http, err) != TR_OK) {
        goto fail;
    }
    tr_gauge_set(ing->wal_first_position, (double)first);
    if (ingester_replay_start(ing, err) != TR_OK ||
        ingester_cutter_start(ing, err) != TR_OK) {
        goto fail;
    }
    *state = ing;
    return TR_OK;
fail:
    ingester_destroy(ing);
    return err != NULL ? err->code : TR_EIO;
}

static void
ingester_stop(struct tr_app *app, void *state)
{
    struct ingester *ing = state;
    ingester_replay_join(ing);
    ingester_cutter_stop(ing);
    if (ing->flush_on_shutdown && atomic_load(&ing->ready)) {
        struct tr_err err;
        tr_err_clear(&err);
        int64_t start = tr_mono_ns();
        if (ingester_cut_all(ing, true, &err) != TR_OK) {
            tr_log_error("cannot flush at shutdown (the WAL keeps the data)",
                         "err=\"%s\"", err.msg);
        } else {
            tr_log_info("flushed heads to blocks at shutdown", "took_ms=%lld",
                        (long long)((tr_mono_ns() - start) / TR_NS_PER_MS));
        }
    }
    ingester_destroy(ing);
}

static const char *const ingester_deps[] = {"server", "storage", NULL};

const struct tr_module tr_ingester_module = {
    .name = "ingester",
    .deps = ingester_deps,
    .is_role = true,
    .start = ingester_start,
    .stop = ingester_stop,
    .ready = ingester_ready,
};
