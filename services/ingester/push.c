/*
 * ingester.PushMetrics: decode, append to the WAL (durable before the
 * answer), then apply to the tenant's head in WAL order (see the
 * sequencer in ingester_internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "ingester_internal.h"
#include "kv/log.h"
#include "metrics/registry.h"
#include "prompb/prompb.h"
#include "rpc/rpc.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"

enum reject_reason {
    REJ_INVALID_LABELS,
    REJ_SERIES_LIMIT,
    REJ_OUT_OF_ORDER,
    REJ_DUPLICATE,
    REJ_TOO_OLD,
    REJ_COUNT,
};

static const char *const rej_names[REJ_COUNT] = {
    "invalid_labels", "per_tenant_series_limit", "sample_out_of_order",
    "sample_duplicate_timestamp", "sample_out_of_bounds"};

void
ingester_apply_result_fini(struct ingester_apply_result *r)
{
    size_t kept = r->nerrors < 8 ? r->nerrors : 8;
    for (size_t i = 0; i < kept; i++) {
        tr_free(r->errors[i]);
    }
    r->nerrors = 0;
}

/* Records an error message about series ls (may be NULL). */
static void
add_error(struct ingester_apply_result *r, const struct tr_labels *ls,
          const char *msg)
{
    if (r->nerrors < 8) {
        struct tr_buf b = TR_BUF_INIT;
        if (ls != NULL) {
            tr_buf_append_str(&b, "series ");
            tr_labels_format(ls, &b);
            tr_buf_append_str(&b, ": ");
        }
        tr_buf_append_str(&b, msg);
        tr_buf_append_byte(&b, '\0');
        r->errors[r->nerrors] = tr_buf_detach(&b, NULL);
    }
    r->nerrors++;
}

static enum reject_reason
reason_of(enum tr_append_reject r)
{
    switch (r) {
    case TR_APPEND_DUPLICATE:
        return REJ_DUPLICATE;
    case TR_APPEND_TOO_OLD:
        return REJ_TOO_OLD;
    default:
        return REJ_OUT_OF_ORDER;
    }
}

int64_t
ingester_push_max_time(const struct tr_prompb_request *r)
{
    /* Samples of removed series never stay in the flat request: every
     * sample belongs to one of its series. */
    int64_t max_t = INT64_MIN;
    for (size_t i = 0; i < r->nseries; i++) {
        const struct tr_prompb_series *ts = &r->series[i];
        for (size_t k = 0; k < ts->nsamples; k++) {
            if (r->samples[ts->samples + k].t > max_t) {
                max_t = r->samples[ts->samples + k].t;
            }
        }
    }
    return max_t;
}

/* True when no sample of ts is at or after min_valid (and it has some):
 * its series is then not created at all. */
static bool
all_too_old(const struct tr_prompb_sample *samples, size_t n, int64_t min_valid)
{
    for (size_t k = 0; k < n; k++) {
        if (samples[k].t >= min_valid) {
            return false;
        }
    }
    return n > 0;
}

int
ingester_apply_push(struct ingester *ing, const struct tr_prompb_request *req,
                    int64_t max_series, struct ingester_apply_result *out,
                    struct tr_err *err)
{
    /* The id as a C string; one byte more than the longest valid id, so
     * an over-long one is refused by ingester_tenant_get as before. */
    char tenant[INGESTER_TENANT_MAX + 2];
    size_t tlen = req->tenant_len < sizeof(tenant) - 1 ? req->tenant_len
                                                       : sizeof(tenant) - 1;
    memcpy(tenant, req->tenant != NULL ? req->tenant : "", tlen);
    tenant[tlen] = '\0';
    struct ingester_tenant *t = ingester_tenant_get(ing, tenant, err);
    if (t == NULL) {
        return err != NULL ? err->code : TR_ENOMEM;
    }
    out->tenant = t;
    int64_t min_valid = tr_head_min_valid_time(t->head);
    bool created_any = false;
    int64_t rejected[REJ_COUNT] = {0};
    struct tr_err e;
    int rc = TR_OK;

    for (size_t i = 0; i < req->nseries && rc == TR_OK; i++) {
        const struct tr_prompb_series *ts = &req->series[i];
        const struct tr_prompb_sample *samples = &req->samples[ts->samples];
        int64_t n = (int64_t)ts->nsamples;
        /* The labels point into the request: no copy before the set. */
        const struct tr_label *pairs = &req->labels[ts->labels];
        struct tr_labels *ls = NULL;
        tr_err_clear(&e);
        int lrc = tr_labels_from_pairs(pairs, ts->nlabels, &ls, &e);
        if (lrc == TR_ENOMEM) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
            break;
        }
        if (lrc != TR_OK || tr_labels_count(ls) == 0) {
            rejected[REJ_INVALID_LABELS] += n;
            add_error(out, NULL,
                      lrc != TR_OK ? e.msg : "cannot append series: no labels");
            tr_labels_destroy(ls);
            continue;
        }
        if (all_too_old(samples, ts->nsamples, min_valid)) {
            /* In blocks already (or too old): no series for them. */
            rejected[REJ_TOO_OLD] += n;
            for (size_t k = 0; k < ts->nsamples; k++) {
                char msg[160];
                snprintf(msg, sizeof(msg),
                         "cannot append sample: too old (t=%lld, min "
                         "valid=%lld)",
                         (long long)samples[k].t, (long long)min_valid);
                add_error(out, ls, msg);
            }
            tr_labels_destroy(ls);
            continue;
        }
        struct tr_series *s = tr_head_get(t->head, ls);
        if (s == NULL) {
            if (max_series > 0 && ingester_tenant_series(t) >= max_series) {
                rejected[REJ_SERIES_LIMIT] += n;
                out->rejected_limit += n;
                char msg[400];
                snprintf(msg, sizeof(msg),
                         "cannot create series: tenant %s already has %lld "
                         "series, the limit (limits.max_series_per_tenant)",
                         t->id, (long long)max_series);
                add_error(out, ls, msg);
                tr_labels_destroy(ls);
                continue;
            }
            bool created = false;
            tr_err_clear(&e);
            if (tr_head_get_or_create(t->head, ls, &s, &created, &e) != TR_OK) {
                rc = tr_err_set(err, TR_ENOMEM, "%s", e.msg);
                tr_labels_destroy(ls);
                break;
            }
            created_any = created_any || created;
        }
        int64_t accepted = 0;
        for (size_t k = 0; k < ts->nsamples; k++) {
            enum tr_append_reject why = TR_APPEND_OK;
            tr_err_clear(&e);
            int arc = tr_head_append(t->head, s, samples[k].t, samples[k].v,
                                     &why, &e);
            if (arc == TR_OK) {
                accepted++;
            } else if (arc == TR_EINVAL) {
                rejected[reason_of(why)]++;
                add_error(out, ls, e.msg);
            } else {
                rc = tr_err_set(err, arc, "%s", e.msg);
                break;
            }
        }
        out->accepted += accepted;
        for (size_t k = 0; k < ts->nexemplars && rc == TR_OK; k++) {
            const struct tr_prompb_exemplar *ex =
                &req->exemplars[ts->exemplars + k];
            if (ingester_tenant_put_exemplar(
                    t, ls, &req->exemplar_labels[ex->labels], ex->nlabels,
                    ex->value, ex->timestamp) == TR_OK) {
                out->exemplars++;
            }
        }
        tr_head_series_release(t->head, s);
        tr_labels_destroy(ls);
    }
    if (created_any) {
        ingester_tenant_series(t); /* refreshes the gauge */
    }
    if (out->accepted > 0) {
        atomic_store(&t->last_append_ns, tr_mono_ns());
    }
    for (size_t i = 0; i < req->nmetadata && rc == TR_OK; i++) {
        if (ingester_tenant_put_metadata(t, &req->metadata[i]) != TR_OK) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        }
    }

    tr_counter_add_u64(t->appended, (uint64_t)out->accepted);
    tr_counter_add_u64(t->exemplars_appended, (uint64_t)out->exemplars);
    for (int r = 0; r < REJ_COUNT; r++) {
        out->rejected += rejected[r];
        if (rejected[r] > 0) {
            const char *values[] = {t->id, rej_names[r]};
            tr_counter_add_u64(tr_counter_vec_get(ing->discarded, values),
                               (uint64_t)rejected[r]);
        }
    }
    return rc;
}

/* Waits for position pos's turn. False when the WAL broke and the turn
 * cannot come (an earlier append failed). Called with seq_lock held. */
static bool
wait_turn(struct ingester *ing, uint64_t pos)
{
    int64_t give_up = tr_mono_ns() + 30 * TR_NS_PER_SEC;
    while (ing->apply_next != pos) {
        if (ing->wal_broken && tr_mono_ns() > give_up) {
            return false;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&ing->seq_cond, &ing->seq_lock, &ts);
    }
    return true;
}

static size_t
put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static void
reply(struct tr_rpc_call *call, const struct ingester_apply_result *res)
{
    Trident__Ingester__PushMetricsResponse resp =
        TRIDENT__INGESTER__PUSH_METRICS_RESPONSE__INIT;
    resp.samples_accepted = res->accepted;
    resp.samples_rejected = res->rejected;
    resp.samples_rejected_limit = res->rejected_limit;
    resp.exemplars_accepted = res->exemplars;
    resp.n_errors = res->nerrors < 8 ? res->nerrors : 8;
    resp.errors = (char **)res->errors;
    size_t len =
        trident__ingester__push_metrics_response__get_packed_size(&resp);
    uint8_t *out = tr_malloc(len > 0 ? len : 1);
    if (out == NULL) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        return;
    }
    trident__ingester__push_metrics_response__pack(&resp, out);
    tr_rpc_call_reply_take(call, out, len);
}

/* Appends one record to the WAL; on failure marks the WAL broken (the
 * turns of later positions will not come) and returns TR_EUNAVAIL. */
static int
wal_append(struct ingester *ing, const void *rec, size_t len, uint64_t *pos,
           struct tr_err *err)
{
    struct tr_kv_log_record r = {rec, len};
    struct tr_err e;
    tr_err_clear(&e);
    if (tr_kv_log_append(ing->wal, &r, 1, pos, &e) != TR_OK) {
        pthread_mutex_lock(&ing->seq_lock);
        ing->wal_broken = true;
        pthread_cond_broadcast(&ing->seq_cond);
        pthread_mutex_unlock(&ing->seq_lock);
        tr_log_error("cannot append to the WAL", "err=\"%s\"", e.msg);
        return tr_err_set(err, TR_EUNAVAIL, "%s", e.msg);
    }
    tr_counter_inc(ing->wal_records);
    tr_counter_add_u64(ing->wal_bytes, (uint64_t)len);
    return TR_OK;
}

/* Takes seq_lock and waits for pos's turn; on false the lock is released
 * (the WAL broke before pos). */
static bool
turn_begin(struct ingester *ing, uint64_t pos)
{
    pthread_mutex_lock(&ing->seq_lock);
    if (!wait_turn(ing, pos)) {
        pthread_mutex_unlock(&ing->seq_lock);
        return false;
    }
    return true;
}

/* Hands the turn to pos + 1 and releases seq_lock. */
static void
turn_end(struct ingester *ing, uint64_t pos)
{
    ing->apply_next = pos + 1;
    pthread_cond_broadcast(&ing->seq_cond);
    pthread_mutex_unlock(&ing->seq_lock);
}

void
ingester_track_record(struct ingester *ing, uint64_t pos,
                      struct ingester_tenant *t, int64_t max_t)
{
    if (ing->recs_lost) {
        return;
    }
    if (ing->recs_len == ing->recs_cap) {
        size_t cap = ing->recs_cap ? ing->recs_cap * 2 : 1024;
        struct ingester_wal_rec *v = tr_malloc(cap * sizeof(*v));
        if (v == NULL) {
            tr_log_error("cannot track WAL records: out of memory; the WAL "
                         "will not be truncated until restart");
            ing->recs_lost = true;
            return;
        }
        for (size_t i = 0; i < ing->recs_len; i++) {
            v[i] = ing->recs[(ing->recs_start + i) % ing->recs_cap];
        }
        tr_free(ing->recs);
        ing->recs = v;
        ing->recs_cap = cap;
        ing->recs_start = 0;
    }
    ing->recs[(ing->recs_start + ing->recs_len) % ing->recs_cap] =
        (struct ingester_wal_rec){pos, t, max_t};
    ing->recs_len++;
}

int
ingester_apply_min_valid(struct ingester *ing, const char *tenant, int64_t t,
                         struct ingester_tenant **out, struct tr_err *err)
{
    struct ingester_tenant *ten = ingester_tenant_get(ing, tenant, err);
    if (ten == NULL) {
        return err != NULL ? err->code : TR_ENOMEM;
    }
    if (t > tr_head_min_valid_time(ten->head)) {
        tr_head_set_min_valid_time(ten->head, t);
    }
    tr_gauge_set(ten->min_valid_time,
                 (double)tr_head_min_valid_time(ten->head) / 1000.0);
    *out = ten;
    return TR_OK;
}

int
ingester_write_min_valid(struct ingester *ing, struct ingester_tenant *t,
                         int64_t hi, struct tr_err *err)
{
    size_t idlen = strlen(t->id);
    uint8_t rec[1 + 8 + INGESTER_TENANT_MAX];
    rec[0] = INGESTER_WAL_MIN_VALID_V1;
    for (int i = 0; i < 8; i++) {
        rec[1 + i] = (uint8_t)((uint64_t)hi >> (56 - 8 * i));
    }
    memcpy(rec + 9, t->id, idlen);
    uint64_t pos = 0;
    int rc = wal_append(ing, rec, 9 + idlen, &pos, err);
    if (rc != TR_OK) {
        return rc;
    }
    if (!turn_begin(ing, pos)) {
        return tr_err_set(err, TR_EUNAVAIL,
                          "cannot apply min valid time: the WAL failed "
                          "before it");
    }
    struct ingester_tenant *same;
    rc = ingester_apply_min_valid(ing, t->id, hi, &same, err);
    ingester_track_record(ing, pos, t, hi - 1);
    turn_end(ing, pos);
    return rc;
}

void
ingester_handle_push(struct tr_rpc_call *call,
                     const struct tr_rpc_request *rreq, void *arg)
{
    struct ingester *ing = arg;
    if (atomic_load(&ing->shut_down)) {
        tr_rpc_call_fail(call, TR_EUNAVAIL,
                         "ingester is shutting down: not accepting writes");
        return;
    }
    if (!atomic_load(&ing->ready)) {
        tr_rpc_call_fail(call, TR_EUNAVAIL,
                         "ingester not ready: replaying WAL");
        return;
    }
    /* Decoded zero-copy: the request points into rreq->payload. The
     * arrays are this thread's from its previous push (no regrowth). */
    struct tr_prompb_request *req = tr_prompb_request_get();
    struct tr_err err;
    tr_err_clear(&err);
    int rc = req == NULL ? tr_err_set(&err, TR_ENOMEM, "out of memory")
                         : tr_prompb_decode(req, TR_PROMPB_PUSH_METRICS,
                                            rreq->payload, rreq->len, &err);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
        goto out;
    }
    if (req->tenant_len == 0 || req->tenant[0] == '\0') {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot push metrics: the request names no tenant");
        goto out;
    }

    /* The WAL record: format, series limit in force, request bytes. */
    uint8_t *rec = tr_malloc(rreq->len + 16);
    if (rec == NULL) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        goto out;
    }
    size_t hdr = 0;
    rec[hdr++] = INGESTER_WAL_PUSH_V1;
    hdr += put_uvarint(rec + hdr, (uint64_t)ing->max_series_per_tenant);
    if (rreq->len > 0) {
        memcpy(rec + hdr, rreq->payload, rreq->len);
    }
    uint64_t pos = 0;
    rc = wal_append(ing, rec, hdr + rreq->len, &pos, &err);
    tr_free(rec);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
        goto out;
    }

    struct ingester_apply_result res = {0};
    if (!turn_begin(ing, pos)) {
        tr_rpc_call_fail(call, TR_EUNAVAIL,
                         "cannot apply push: the WAL failed before it (the "
                         "record will be replayed at restart)");
        goto out;
    }
    rc = ingester_apply_push(ing, req, ing->max_series_per_tenant, &res, &err);
    ingester_track_record(ing, pos, res.tenant, ingester_push_max_time(req));
    turn_end(ing, pos);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
    } else {
        reply(call, &res);
    }
    ingester_apply_result_fini(&res);
out:
    tr_prompb_request_put(req);
}
