/*
 * The ingester module: owns the write-ahead log and answers the ingester.*
 * RPC methods. The metrics head, push and query paths build on this.
 */
#include "ingester.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app/server.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"
#include "kv/log.h"
#include "rpc/rpc.h"
#include "trident/ingester.pb-c.h"

struct ingester {
    char instance_id[128];
    int64_t started_at_ms;
    struct tr_kv_log *wal;
};

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
    resp.ready = true;
    size_t len = trident__ingester__status_response__get_packed_size(&resp);
    uint8_t *out = tr_malloc(len > 0 ? len : 1);
    if (out == NULL) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        return;
    }
    trident__ingester__status_response__pack(&resp, out);
    tr_rpc_call_reply_take(call, out, len);
}

static void
ingester_destroy(struct ingester *ing)
{
    if (ing == NULL) {
        return;
    }
    tr_kv_log_close(ing->wal);
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
    if (*cfg->ingester.instance_id != '\0') {
        snprintf(ing->instance_id, sizeof(ing->instance_id), "%s",
                 cfg->ingester.instance_id);
    } else if (gethostname(ing->instance_id, sizeof(ing->instance_id)) != 0) {
        snprintf(ing->instance_id, sizeof(ing->instance_id), "ingester");
    }

    struct tr_kv_log_options wal_opts = {
        .sync_interval_ms = cfg->ingester.wal_sync_interval_ns / TR_NS_PER_MS,
    };
    if (tr_kv_log_sync_parse(cfg->ingester.wal_sync, &wal_opts.sync, err) !=
        TR_OK) {
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

    if (tr_rpc_server_handle(tr_server_rpc(server), "ingester.Status",
                             handle_status, ing, err) != TR_OK) {
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
    ingester_destroy(state);
}

static const char *const ingester_deps[] = {"server", "storage", NULL};

const struct tr_module tr_ingester_module = {
    .name = "ingester",
    .deps = ingester_deps,
    .is_role = true,
    .start = ingester_start,
    .stop = ingester_stop,
};
