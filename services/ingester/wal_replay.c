/*
 * WAL replay at start: every record is applied to the heads exactly as the
 * live push applied it (same order, same recorded series limit), in a
 * background thread so the process answers /ready (503) meanwhile.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "ingester_internal.h"
#include "kv/log.h"
#include "metrics/registry.h"

struct replay {
    struct ingester *ing;
    struct tr_arena *arena;
    struct tr_prompb_request req; /* reused by every record */
    uint64_t records;
    uint64_t skipped;
    int64_t samples;
    int64_t rejected;
};

static bool
get_uvarint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *off < len; shift += 7) {
        uint8_t b = p[(*off)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

static int
replay_record(uint64_t pos, const void *data, size_t len, void *arg)
{
    struct replay *r = arg;
    struct ingester *ing = r->ing;
    if (atomic_load(&ing->stopping)) {
        return 1;
    }
    const uint8_t *p = data;
    size_t off = 1;
    uint64_t limit = 0;
    if (len > 9 && len <= 9 + INGESTER_TENANT_MAX &&
        p[0] == INGESTER_WAL_MIN_VALID_V1) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) {
            u = u << 8 | p[1 + i];
        }
        char tenant[INGESTER_TENANT_MAX + 1];
        memcpy(tenant, p + 9, len - 9);
        tenant[len - 9] = '\0';
        struct ingester_tenant *t = NULL;
        struct tr_err err;
        tr_err_clear(&err);
        if (ingester_apply_min_valid(ing, tenant, (int64_t)u, &t, &err) !=
            TR_OK) {
            tr_log_error("cannot apply WAL record", "pos=%llu err=\"%s\"",
                         (unsigned long long)pos, err.msg);
        }
        ingester_track_record(ing, pos, t, (int64_t)u - 1);
        r->records++;
        tr_counter_inc(ing->wal_replayed_records);
        return 0;
    }
    if (len < 2 || p[0] != INGESTER_WAL_PUSH_V1 ||
        !get_uvarint(p, len, &off, &limit)) {
        tr_log_warn("skipping unknown WAL record", "pos=%llu len=%zu",
                    (unsigned long long)pos, len);
        r->skipped++;
        ingester_track_record(ing, pos, NULL, INT64_MIN);
        return 0;
    }
    /* The same decoder as live pushes (lib/prompb decodes what protobuf-c
     * decoded, checked against it in tests/unit/test_prompb.c). */
    struct tr_prompb_request *req = &r->req;
    if (tr_prompb_decode(req, TR_PROMPB_PUSH_METRICS, p + off, len - off,
                         NULL) != TR_OK ||
        req->tenant_len == 0 || req->tenant[0] == '\0') {
        tr_log_warn("skipping undecodable WAL record", "pos=%llu len=%zu",
                    (unsigned long long)pos, len);
        r->skipped++;
        ingester_track_record(ing, pos, NULL, INT64_MIN);
        tr_arena_reset(r->arena);
        return 0;
    }
    struct ingester_apply_result res = {0};
    struct tr_err err;
    tr_err_clear(&err);
    if (ingester_apply_push(ing, req, (int64_t)limit, &res, &err) != TR_OK) {
        tr_log_error("cannot apply WAL record", "pos=%llu err=\"%s\"",
                     (unsigned long long)pos, err.msg);
    }
    ingester_track_record(ing, pos, res.tenant, ingester_push_max_time(req));
    r->records++;
    r->samples += res.accepted;
    r->rejected += res.rejected;
    tr_counter_inc(ing->wal_replayed_records);
    ingester_apply_result_fini(&res);
    tr_arena_reset(r->arena);
    return 0;
}

static void *
replay_main(void *arg)
{
    struct ingester *ing = arg;
    struct replay r = {.ing = ing, .arena = tr_arena_create(0)};
    struct tr_err err;
    tr_err_clear(&err);
    int64_t start = tr_mono_ns();
    int rc = r.arena == NULL ? tr_err_set(&err, TR_ENOMEM, "out of memory")
                             : ingester_blocks_load(ing, &err);
    if (rc == TR_OK) {
        rc = tr_kv_log_iterate(ing->wal, 0, replay_record, &r, &err);
    }
    tr_arena_destroy(r.arena);
    tr_prompb_request_fini(&r.req);
    double secs = (double)(tr_mono_ns() - start) / (double)TR_NS_PER_SEC;
    if (rc == 1) {
        tr_log_info("WAL replay stopped: shutting down");
        return NULL;
    }
    if (rc != TR_OK) {
        /* Stay not ready: serving without the acknowledged data would
         * silently lose it. */
        snprintf(ing->replay_error, sizeof(ing->replay_error), "%s", err.msg);
        tr_log_error("cannot replay the WAL", "err=\"%s\"", err.msg);
        return NULL;
    }
    uint64_t next;
    tr_kv_log_bounds(ing->wal, NULL, &next);
    pthread_mutex_lock(&ing->seq_lock);
    ing->apply_next = next;
    pthread_mutex_unlock(&ing->seq_lock);
    tr_gauge_set(ing->wal_replay_seconds, secs);
    atomic_store(&ing->ready, true);
    tr_log_info("WAL replayed",
                "records=%llu skipped=%llu samples=%lld rejected=%lld "
                "series=%lld seconds=%.3f",
                (unsigned long long)r.records, (unsigned long long)r.skipped,
                (long long)r.samples, (long long)r.rejected,
                (long long)ingester_series_total(ing), secs);
    return NULL;
}

int
ingester_replay_start(struct ingester *ing, struct tr_err *err)
{
    if (pthread_create(&ing->replay_thread, NULL, replay_main, ing) != 0) {
        return tr_err_set(err, TR_EIO, "cannot start WAL replay thread");
    }
    ing->replay_started = true;
    return TR_OK;
}

void
ingester_replay_join(struct ingester *ing)
{
    if (ing->replay_started) {
        atomic_store(&ing->stopping, true);
        pthread_join(ing->replay_thread, NULL);
        ing->replay_started = false;
    }
}
