/*
 * Cutting heads into blocks, WAL truncation, /flush and
 * /ingester/shutdown (the design is in ingester_internal.h).
 *
 * One cut runs at a time (cut_lock): the cutter thread every
 * cut_interval, /flush, /ingester/shutdown and the flush at stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/server.h"
#include "ingester_internal.h"
#include "kv/log.h"
#include "metrics/registry.h"
#include "tsdb/block.h"
#include "tsdb/head.h"

/* Largest multiple of d not above t (d > 0). */
static int64_t
floor_to(int64_t t, int64_t d)
{
    int64_t q = t / d;
    if (t % d != 0 && t < 0) {
        q--;
    }
    return q * d;
}

/* ---- persisted in-blocks-below times ---------------------------------- */

/*
 * Writes every tenant's in-blocks-below time (t's replaced by below) to
 * the WAL's meta store as lines "<ms> <tenant>\n", then sets t's. The
 * value is written whole, so tenants never disagree with each other.
 */
static int
persist_in_blocks(struct ingester *ing, struct ingester_tenant *t,
                  int64_t below, struct tr_err *err)
{
    size_t n;
    struct ingester_tenant **ts = ingester_tenants_list(ing, &n);
    struct tr_buf b = TR_BUF_INIT;
    int rc = ts == NULL ? TR_ENOMEM : TR_OK;
    for (size_t i = 0; i < n && rc == TR_OK; i++) {
        int64_t v = ts[i] == t ? below : atomic_load(&ts[i]->in_blocks_below);
        if (v != INT64_MIN) {
            rc = tr_buf_appendf(&b, "%lld %s\n", (long long)v, ts[i]->id);
        }
    }
    tr_free(ts);
    if (rc != TR_OK) {
        tr_buf_fini(&b);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot persist block times: out "
                          "of memory");
    }
    rc =
        tr_kv_log_meta_put(ing->wal, INGESTER_META_IN_BLOCKS,
                           strlen(INGESTER_META_IN_BLOCKS), b.data, b.len, err);
    tr_buf_fini(&b);
    if (rc == TR_OK) {
        atomic_store(&t->in_blocks_below, below);
    }
    return rc;
}

int
ingester_blocks_load(struct ingester *ing, struct tr_err *err)
{
    struct tr_buf b = TR_BUF_INIT;
    int rc = tr_kv_log_meta_get(ing->wal, INGESTER_META_IN_BLOCKS,
                                strlen(INGESTER_META_IN_BLOCKS), &b, err);
    if (rc == TR_ENOTFOUND) {
        tr_err_clear(err);
        return TR_OK;
    }
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot load block times");
    }
    size_t off = 0;
    while (rc == TR_OK && off < b.len) {
        const char *line = b.data + off;
        const char *nl = memchr(line, '\n', b.len - off);
        const char *sp = memchr(line, ' ', b.len - off);
        if (nl == NULL || sp == NULL || sp > nl ||
            (size_t)(nl - sp - 1) > INGESTER_TENANT_MAX) {
            rc = tr_err_set(err, TR_EIO,
                            "cannot load block times: malformed meta value");
            break;
        }
        char num[32], tenant[INGESTER_TENANT_MAX + 1];
        snprintf(num, sizeof(num), "%.*s", (int)(sp - line), line);
        snprintf(tenant, sizeof(tenant), "%.*s", (int)(nl - sp - 1), sp + 1);
        int64_t below = strtoll(num, NULL, 10);
        struct ingester_tenant *t = NULL;
        rc = ingester_apply_min_valid(ing, tenant, below, &t, err);
        if (rc == TR_OK) {
            atomic_store(&t->in_blocks_below, below);
        }
        off = (size_t)(nl - b.data) + 1;
    }
    tr_buf_fini(&b);
    return rc;
}

/* ---- uploaded blocks --------------------------------------------------- */

/* Remembers that block id holds t's head samples in [mint, maxt). */
static void
uploaded_add(struct ingester_tenant *t, const char *id, int64_t mint,
             int64_t maxt)
{
    pthread_mutex_lock(&t->lock);
    if (tr_grow((void **)&t->uploaded, &t->capuploaded, t->nuploaded + 1,
                sizeof(*t->uploaded)) != TR_OK) {
        /* Out of memory: forgetting every upload only makes selects send
         * more. */
        t->nuploaded = 0;
        pthread_mutex_unlock(&t->lock);
        return;
    }
    snprintf(t->uploaded[t->nuploaded].id, sizeof(t->uploaded[0].id), "%s", id);
    t->uploaded[t->nuploaded].mint = mint;
    t->uploaded[t->nuploaded].maxt = maxt;
    t->nuploaded++;
    pthread_mutex_unlock(&t->lock);
}

/* Forgets the uploads that end at or before the head's oldest sample:
 * they no longer vouch for anything it holds. (A truncation keeps chunks
 * that straddle its time, so that time alone would forget too early.) */
static void
uploaded_prune(struct ingester_tenant *t)
{
    int64_t below = tr_head_min_time(t->head);
    pthread_mutex_lock(&t->lock);
    size_t k = 0;
    while (k < t->nuploaded && t->uploaded[k].maxt <= below) {
        k++;
    }
    t->nuploaded -= k;
    memmove(t->uploaded, t->uploaded + k,
            t->nuploaded * sizeof(t->uploaded[0]));
    pthread_mutex_unlock(&t->lock);
}

static bool
named(const char *id, char *const *known, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(known[i], id) == 0) {
            return true;
        }
    }
    return false;
}

int64_t
ingester_uploaded_cover(struct ingester_tenant *t, int64_t mint,
                        char *const *known, size_t n)
{
    int64_t cover = INT64_MIN;
    int64_t oldest = tr_head_min_time(t->head); /* a lower bound: safe */
    int64_t from = oldest > mint ? oldest : mint;
    pthread_mutex_lock(&t->lock);
    size_t i = 0;
    while (i < t->nuploaded && t->uploaded[i].maxt <= mint) {
        i++; /* ends before the select: not needed */
    }
    if (i < t->nuploaded && t->uploaded[i].mint <= from) {
        /* Uploads are in time order and gaps between them held no
         * samples (a range without samples makes no block). */
        for (; i < t->nuploaded && named(t->uploaded[i].id, known, n); i++) {
            cover = t->uploaded[i].maxt;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return cover;
}

/* ---- cutting ----------------------------------------------------------- */

/* Builds and uploads t's block of [lo, hi) (nothing when it has no
 * samples there). */
static int
upload_range(struct ingester *ing, struct ingester_tenant *t, int64_t lo,
             int64_t hi, struct tr_err *err)
{
    struct tr_block_options o = {.tenant = t->id, .mint = lo, .maxt = hi};
    struct tr_block_files f = {0};
    int64_t start = tr_mono_ns();
    int rc = tr_block_build_from_head(t->head, &o, &f, err);
    if (rc == TR_ENOTFOUND) {
        tr_err_clear(err);
        tr_block_files_fini(&f);
        return TR_OK;
    }
    if (rc == TR_OK) {
        rc = tr_block_upload(ing->store, &f, err);
        if (rc != TR_OK) {
            tr_counter_inc(ing->upload_failures);
        }
    }
    if (rc == TR_OK) {
        uploaded_add(t, f.meta.id, lo, hi);
        tr_counter_inc(t->blocks_cut);
        tr_log_info("block cut",
                    "tenant=%s block=%s mint=%lld maxt=%lld "
                    "series=%llu samples=%llu took_ms=%lld",
                    t->id, f.meta.id, (long long)lo, (long long)hi,
                    (unsigned long long)f.meta.series,
                    (unsigned long long)f.meta.samples,
                    (long long)((tr_mono_ns() - start) / TR_NS_PER_MS));
    }
    tr_block_files_fini(&f);
    if (rc != TR_OK) {
        tr_err_prefix(err, "cannot cut block of tenant %s [%lld, %lld)", t->id,
                      (long long)lo, (long long)hi);
    }
    return rc;
}

/* Lowest time a block of t must start at: the head's (lower bound of
 * its) min time rounded down to a range, but not below what is in
 * blocks already. */
static int64_t
range_start(struct ingester *ing, struct ingester_tenant *t, int64_t head_min)
{
    int64_t below = atomic_load(&t->in_blocks_below);
    int64_t lo = floor_to(head_min, ing->block_ms);
    return below != INT64_MIN && lo < below ? below : lo;
}

/* Truncates t's head below the highest cut whose retention has passed
 * (all of them with force). */
static void
truncate_head(struct ingester_tenant *t, bool force)
{
    int64_t now = tr_mono_ns(), below = INT64_MIN;
    size_t done = 0;
    while (done < t->ntruncations &&
           (force || t->truncations[done].at_ns <= now)) {
        below = t->truncations[done++].below;
    }
    if (done == 0) {
        return;
    }
    t->ntruncations -= done;
    memmove(t->truncations, t->truncations + done,
            t->ntruncations * sizeof(t->truncations[0]));
    struct tr_head_truncation tr = {0};
    struct tr_err err;
    tr_err_clear(&err);
    if (tr_head_truncate(t->head, below, &tr, &err) != TR_OK) {
        tr_log_warn("cannot truncate head", "tenant=%s err=\"%s\"", t->id,
                    err.msg);
        return;
    }
    uploaded_prune(t);
    ingester_tenant_series(t);
    tr_log_debug("head truncated",
                 "tenant=%s below=%lld chunks=%llu "
                 "series=%llu",
                 t->id, (long long)below, (unsigned long long)tr.chunks_removed,
                 (unsigned long long)tr.series_removed);
}

/* Schedules the truncation of t's head below below after the retention. */
static void
schedule_truncation(struct ingester *ing, struct ingester_tenant *t,
                    int64_t below)
{
    if (t->ntruncations == INGESTER_PENDING_TRUNCATIONS) {
        /* Cuts come faster than the retention: the oldest goes now. */
        t->truncations[0].at_ns = 0;
        truncate_head(t, false);
    }
    t->truncations[t->ntruncations].below = below;
    t->truncations[t->ntruncations].at_ns = tr_mono_ns() + ing->retain_ns;
    t->ntruncations++;
    if (ing->retain_ns == 0) {
        truncate_head(t, true);
    }
}

/*
 * Cuts t's head: with flush, everything up to its max time at the call;
 * otherwise the complete ranges while it spans more than 1.5 ranges.
 * A range whose marker was written but whose upload failed (or was
 * interrupted by a crash) is retried first.
 */
static int
cut_tenant(struct ingester *ing, struct ingester_tenant *t, bool flush,
           struct tr_err *err)
{
    int64_t d = ing->block_ms;
    struct tr_head_stats st;
    truncate_head(t, false);
    tr_head_stats(t->head, &st);
    int64_t flush_to = st.max_time;
    for (;;) {
        tr_head_stats(t->head, &st);
        int64_t below = atomic_load(&t->in_blocks_below);
        int64_t mv = tr_head_min_valid_time(t->head);
        int64_t lo, hi;
        int rc;
        if (mv > below) {
            hi = mv; /* pending: the marker is in, the block is not */
        } else {
            if (st.min_time == INT64_MAX) {
                return TR_OK;
            }
            lo = range_start(ing, t, st.min_time);
            if (flush) {
                if (lo > flush_to) {
                    return TR_OK;
                }
                hi = floor_to(lo, d) + d;
                hi = hi > flush_to + 1 ? flush_to + 1 : hi;
            } else {
                if (st.max_time == INT64_MIN || st.max_time - lo <= d + d / 2) {
                    return TR_OK;
                }
                hi = floor_to(lo, d) + d;
            }
            rc = ingester_write_min_valid(ing, t, hi, err);
            if (rc != TR_OK) {
                return tr_err_prefix(err, "cannot cut block of tenant %s",
                                     t->id);
            }
            /* Pushes applied before the marker may have added older data:
             * the range starts from the head as of now. */
            tr_head_stats(t->head, &st);
        }
        lo = st.min_time == INT64_MAX ? hi : range_start(ing, t, st.min_time);
        if (lo < hi) {
            rc = upload_range(ing, t, lo, hi, err);
            if (rc != TR_OK) {
                return rc;
            }
        }
        rc = persist_in_blocks(ing, t, hi, err);
        if (rc != TR_OK) {
            return tr_err_prefix(err, "cannot cut block of tenant %s", t->id);
        }
        schedule_truncation(ing, t, hi);
    }
}

/* Deletes the longest prefix of WAL records that are all in blocks. */
static void
truncate_wal(struct ingester *ing)
{
    uint64_t upto = 0;
    pthread_mutex_lock(&ing->seq_lock);
    while (!ing->recs_lost && ing->recs_len > 0) {
        const struct ingester_wal_rec *r = &ing->recs[ing->recs_start];
        if (r->tenant != NULL &&
            r->max_t >= atomic_load(&r->tenant->in_blocks_below)) {
            break;
        }
        upto = r->pos + 1;
        ing->recs_start = (ing->recs_start + 1) % ing->recs_cap;
        ing->recs_len--;
    }
    pthread_mutex_unlock(&ing->seq_lock);
    uint64_t first;
    tr_kv_log_bounds(ing->wal, &first, NULL);
    if (upto > first) {
        struct tr_err err;
        tr_err_clear(&err);
        if (tr_kv_log_truncate(ing->wal, upto, &err) != TR_OK) {
            tr_log_error("cannot truncate the WAL", "err=\"%s\"", err.msg);
        } else {
            tr_counter_inc(ing->wal_truncations);
            tr_log_info("WAL truncated", "first=%llu",
                        (unsigned long long)upto);
        }
    }
    tr_kv_log_bounds(ing->wal, &first, NULL);
    tr_gauge_set(ing->wal_first_position, (double)first);
}

/* True when t got no sample for the idle timeout and has data not in
 * blocks. */
static bool
idle(struct ingester *ing, struct ingester_tenant *t)
{
    if (ing->idle_flush_ns <= 0 ||
        tr_mono_ns() - atomic_load(&t->last_append_ns) < ing->idle_flush_ns) {
        return false;
    }
    struct tr_head_stats st;
    tr_head_stats(t->head, &st);
    return st.max_time != INT64_MIN &&
           st.max_time >= atomic_load(&t->in_blocks_below);
}

static int
cut_tenants(struct ingester *ing, bool flush, const char *only,
            struct tr_err *err)
{
    if (ing->store == NULL) {
        return TR_OK;
    }
    size_t n;
    struct ingester_tenant **ts = ingester_tenants_list(ing, &n);
    if (ts == NULL) {
        return tr_err_set(err, TR_ENOMEM, "cannot cut blocks: out of memory");
    }
    int rc = TR_OK;
    pthread_mutex_lock(&ing->cut_lock);
    for (size_t i = 0; i < n; i++) {
        if (only != NULL && strcmp(only, ts[i]->id) != 0) {
            continue;
        }
        struct tr_err e;
        tr_err_clear(&e);
        int r = cut_tenant(ing, ts[i], flush || idle(ing, ts[i]), &e);
        if (r != TR_OK) {
            tr_log_error("cannot cut blocks", "tenant=%s err=\"%s\"", ts[i]->id,
                         e.msg);
            if (rc == TR_OK) {
                rc = r;
                if (err != NULL) {
                    *err = e;
                }
            }
        }
    }
    truncate_wal(ing);
    pthread_mutex_unlock(&ing->cut_lock);
    tr_free(ts);
    return rc;
}

int
ingester_cut_all(struct ingester *ing, bool flush, struct tr_err *err)
{
    return cut_tenants(ing, flush, NULL, err);
}

/* ---- the cutter thread -------------------------------------------------- */

static void *
cutter_main(void *arg)
{
    struct ingester *ing = arg;
    pthread_mutex_lock(&ing->cutter_lock);
    while (!ing->cutter_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + ing->cut_interval_ns;
        ts.tv_sec += ns / TR_NS_PER_SEC;
        ts.tv_nsec = ns % TR_NS_PER_SEC;
        pthread_cond_timedwait(&ing->cutter_cond, &ing->cutter_lock, &ts);
        if (ing->cutter_stop) {
            break;
        }
        pthread_mutex_unlock(&ing->cutter_lock);
        if (atomic_load(&ing->ready) && !atomic_load(&ing->shut_down)) {
            ingester_cut_all(ing, false, NULL);
        }
        pthread_mutex_lock(&ing->cutter_lock);
    }
    pthread_mutex_unlock(&ing->cutter_lock);
    return NULL;
}

int
ingester_cutter_start(struct ingester *ing, struct tr_err *err)
{
    if (pthread_create(&ing->cutter_thread, NULL, cutter_main, ing) != 0) {
        return tr_err_set(err, TR_EIO, "cannot start the block cutter thread");
    }
    ing->cutter_started = true;
    return TR_OK;
}

void
ingester_cutter_stop(struct ingester *ing)
{
    if (!ing->cutter_started) {
        return;
    }
    pthread_mutex_lock(&ing->cutter_lock);
    ing->cutter_stop = true;
    pthread_cond_broadcast(&ing->cutter_cond);
    pthread_mutex_unlock(&ing->cutter_lock);
    pthread_join(ing->cutter_thread, NULL);
    ing->cutter_started = false;
}

/* ---- HTTP endpoints ------------------------------------------------------ */

static bool
param_false(struct tr_http_req *req, const char *name)
{
    const char *v = tr_http_req_param(req, name);
    return v != NULL && strcmp(v, "false") == 0;
}

/* POST|GET /flush, /ingester/flush[?tenant=]: cuts everything the heads
 * hold into blocks now; 204 when done. */
static void
handle_flush(struct tr_http_req *req, void *arg)
{
    struct ingester *ing = arg;
    if (!atomic_load(&ing->ready)) {
        tr_http_reply_text_error(req, 503,
                                 "ingester not ready: replaying "
                                 "WAL");
        return;
    }
    const char *tenant = tr_http_req_param(req, "tenant");
    if (tenant != NULL && *tenant == '\0') {
        tenant = NULL;
    }
    struct tr_err err;
    tr_err_clear(&err);
    if (cut_tenants(ing, true, tenant, &err) != TR_OK) {
        tr_http_reply_text_error(req, 500, "%s", err.msg);
        return;
    }
    tr_http_reply(req, 204, NULL, "", 0);
}

static void *
terminate_main(void *arg)
{
    (void)arg;
    /* Let the response leave before the listeners close. */
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(getpid(), SIGTERM);
    return NULL;
}

/*
 * POST|GET /ingester/shutdown: flush (unless flush=false), then refuse
 * pushes (503) and report not ready; unless terminate=false, the process
 * then stops as on SIGTERM. 204 when done.
 */
static void
handle_shutdown(struct tr_http_req *req, void *arg)
{
    struct ingester *ing = arg;
    if (!atomic_load(&ing->ready)) {
        tr_http_reply_text_error(req, 503,
                                 "ingester not ready: replaying "
                                 "WAL");
        return;
    }
    /* Refuse pushes first, so the flush leaves nothing behind. */
    atomic_store(&ing->shut_down, true);
    struct tr_err err;
    tr_err_clear(&err);
    if (!param_false(req, "flush") &&
        ingester_cut_all(ing, true, &err) != TR_OK) {
        tr_http_reply_text_error(req, 500, "%s", err.msg);
        return;
    }
    tr_log_info("ingester shut down: not accepting writes", "terminate=%s",
                param_false(req, "terminate") ? "no" : "yes");
    if (!param_false(req, "terminate")) {
        pthread_t th;
        if (pthread_create(&th, NULL, terminate_main, NULL) == 0) {
            pthread_detach(th);
        }
    }
    tr_http_reply(req, 204, NULL, "", 0);
}

int
ingester_blocks_register(struct ingester *ing, struct tr_http_server *http,
                         struct tr_err *err)
{
    if (tr_http_route(http, TR_HTTP_GET | TR_HTTP_POST, "/flush", handle_flush,
                      ing, err) != TR_OK ||
        tr_http_route(http, TR_HTTP_GET | TR_HTTP_POST, "/ingester/flush",
                      handle_flush, ing, err) != TR_OK ||
        tr_http_route(http, TR_HTTP_GET | TR_HTTP_POST, "/ingester/shutdown",
                      handle_shutdown, ing, err) != TR_OK) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    return TR_OK;
}
