/*
 * The append-only log on RocksDB (see log.h for the contract).
 *
 * Ordering is the heart of it. RocksDB recovers its own write-ahead log as
 * a prefix of the writes in the order they entered RocksDB. If two of our
 * appends could be in flight at once, position 10 might reach RocksDB
 * before position 9, and a crash between them would leave a hole that no
 * later append fills. So exactly one thread at a time (the "leader") hands
 * positions out and writes them; the others wait. With group commit the
 * waiters queue their requests and the next leader writes all of them in
 * one synced RocksDB write, which is where the throughput comes from.
 */
#include "kv/log.h"

#include <errno.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

/* Key in the "default" column family holding the first position. */
static const char STATE_FIRST_KEY[] = "log.first";

enum { CF_STATE, CF_LOG, CF_META, CF_COUNT };
static const char *const CF_NAMES[CF_COUNT] = {"default", "log", "meta"};

/* One caller's append, queued for a leader (lives on the caller's stack). */
struct append_req {
    const struct tr_kv_log_record *recs;
    size_t n;
    uint64_t pos;       /* set by the leader: position of recs[0] */
    int rc;             /* set by the leader */
    struct tr_err *err; /* the caller's; the leader fills it on error */
    bool done;          /* set by the leader under mu */
    struct append_req *next;
};

struct tr_kv_log {
    char *dir;
    struct tr_kv_log_options opts;

    rocksdb_options_t *db_opts;        /* also used by "default" and "meta" */
    rocksdb_options_t *log_opts;       /* the "log" column family */
    rocksdb_writeoptions_t *wo_append; /* sync per policy */
    rocksdb_writeoptions_t *wo_sync;   /* truncate and meta writes */
    rocksdb_readoptions_t *ro_scan;    /* replay: do not churn the cache */
    rocksdb_readoptions_t *ro_get;
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[CF_COUNT];
    rocksdb_writebatch_t *batch; /* only the current leader touches it */

    pthread_mutex_t mu;
    pthread_cond_t cv;       /* an append finished or the leader left */
    bool writing;            /* a leader is writing; guarded by mu */
    struct append_req *head; /* queued appends (group/interval); mu */
    struct append_req *tail;
    uint64_t first; /* guarded by mu */
    uint64_t next;  /* guarded by mu */
    bool mu_ready;

    pthread_mutex_t truncate_mu; /* one truncation at a time */
    bool truncate_mu_ready;

    /* TR_KV_LOG_SYNC_INTERVAL: the thread that fsyncs periodically. */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    bool sync_stop;
    bool sync_ready;
    pthread_t sync_thread;
    bool sync_running;
};

static void
put_be64(char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t
get_be64(const char *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | (uint8_t)in[i];
    }
    return v;
}

/* Sets err from a RocksDB error string and frees the string. */
static int
rocks_fail(struct tr_err *err, int code, char *rerr, const char *what,
           const char *dir)
{
    int rc = tr_err_set(err, code, "cannot %s %s: %s", what, dir,
                        rerr ? rerr : "unknown error");
    rocksdb_free(rerr);
    return rc;
}

int
tr_kv_log_sync_parse(const char *name, enum tr_kv_log_sync *out,
                     struct tr_err *err)
{
    static const enum tr_kv_log_sync all[] = {
        TR_KV_LOG_SYNC_GROUP, TR_KV_LOG_SYNC_ALWAYS, TR_KV_LOG_SYNC_INTERVAL};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, tr_kv_log_sync_name(all[i])) == 0) {
            *out = all[i];
            return TR_OK;
        }
    }
    return tr_err_set(err, TR_EINVAL,
                      "cannot parse log sync policy \"%s\": "
                      "want group, always or interval",
                      name);
}

const char *
tr_kv_log_sync_name(enum tr_kv_log_sync sync)
{
    switch (sync) {
    case TR_KV_LOG_SYNC_GROUP:
        return "group";
    case TR_KV_LOG_SYNC_ALWAYS:
        return "always";
    case TR_KV_LOG_SYNC_INTERVAL:
        return "interval";
    }
    return "unknown";
}

static void *
sync_main(void *arg)
{
    struct tr_kv_log *log = arg;
    int64_t period_ns = log->opts.sync_interval_ms * 1000000;

    pthread_mutex_lock(&log->sync_mu);
    while (!log->sync_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + period_ns;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!log->sync_stop &&
               pthread_cond_timedwait(&log->sync_cv, &log->sync_mu, &until) !=
                   ETIMEDOUT) {
        }
        if (log->sync_stop) {
            break;
        }
        pthread_mutex_unlock(&log->sync_mu);
        char *rerr = NULL;
        rocksdb_flush_wal(log->db, 1, &rerr);
        if (rerr) {
            tr_log_error("cannot sync log", "dir=%s error=\"%s\"", log->dir,
                         rerr);
            rocksdb_free(rerr);
        }
        pthread_mutex_lock(&log->sync_mu);
    }
    pthread_mutex_unlock(&log->sync_mu);
    return NULL;
}

/* Reads `first` and `next` back from the database after open. */
static int
recover_bounds(struct tr_kv_log *log, struct tr_err *err)
{
    char *rerr = NULL;
    size_t vlen = 0;
    uint64_t stored_first = 0;
    char *val =
        rocksdb_get_cf(log->db, log->ro_get, log->cf[CF_STATE], STATE_FIRST_KEY,
                       sizeof(STATE_FIRST_KEY) - 1, &vlen, &rerr);
    if (rerr) {
        return rocks_fail(err, TR_EIO, rerr, "open log", log->dir);
    }
    if (val) {
        if (vlen != 8) {
            rocksdb_free(val);
            return tr_err_set(err, TR_EIO,
                              "cannot open log %s: bad first position "
                              "record (%zu bytes)",
                              log->dir, vlen);
        }
        stored_first = get_be64(val);
        rocksdb_free(val);
    }

    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(log->db, log->ro_scan, log->cf[CF_LOG]);
    uint64_t lowest = 0;
    uint64_t highest = 0;
    bool any = false;
    int rc = TR_OK;
    rocksdb_iter_seek_to_last(it);
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *key = rocksdb_iter_key(it, &klen);
        if (klen == 8) {
            highest = get_be64(key);
            any = true;
        } else {
            rc = tr_err_set(err, TR_EIO,
                            "cannot open log %s: bad key (%zu bytes)", log->dir,
                            klen);
        }
    }
    if (rc == TR_OK && any && stored_first == 0) {
        /* Never truncated: the log starts at its lowest key. */
        rocksdb_iter_seek_to_first(it);
        if (rocksdb_iter_valid(it)) {
            size_t klen;
            const char *key = rocksdb_iter_key(it, &klen);
            lowest = klen == 8 ? get_be64(key) : 1;
        }
    }
    if (rc == TR_OK) {
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) {
            rc = rocks_fail(err, TR_EIO, rerr, "open log", log->dir);
        }
    }
    rocksdb_iter_destroy(it);
    if (rc != TR_OK) {
        return rc;
    }

    log->next = any ? highest + 1 : 1;
    if (stored_first > 0) {
        log->first = stored_first;
    } else {
        log->first = any ? lowest : log->next;
    }
    /* Truncated past every record: positions continue after the cut. */
    if (log->first > log->next) {
        log->next = log->first;
    }
    return TR_OK;
}

struct tr_kv_log *
tr_kv_log_open(const char *dir, const struct tr_kv_log_options *opts,
               struct tr_err *err)
{
    struct tr_kv_log *log = tr_calloc(1, sizeof(*log));
    if (!log) {
        tr_err_set(err, TR_ENOMEM, "cannot open log %s: out of memory", dir);
        return NULL;
    }
    if (opts) {
        log->opts = *opts;
    }
    if (log->opts.sync != TR_KV_LOG_SYNC_GROUP &&
        log->opts.sync != TR_KV_LOG_SYNC_ALWAYS &&
        log->opts.sync != TR_KV_LOG_SYNC_INTERVAL) {
        tr_err_set(err, TR_EINVAL, "cannot open log %s: unknown sync policy %d",
                   dir, (int)log->opts.sync);
        tr_free(log);
        return NULL;
    }
    if (log->opts.sync_interval_ms <= 0) {
        log->opts.sync_interval_ms = TR_KV_LOG_DEFAULT_SYNC_INTERVAL_MS;
    }
    if (log->opts.write_buffer_size == 0) {
        log->opts.write_buffer_size = TR_KV_LOG_DEFAULT_WRITE_BUFFER;
    }
    if (log->opts.max_write_buffers <= 0) {
        log->opts.max_write_buffers = 2;
    }
    log->dir = tr_strdup(dir);
    if (!log->dir) {
        tr_err_set(err, TR_ENOMEM, "cannot open log %s: out of memory", dir);
        goto fail;
    }
    if (pthread_mutex_init(&log->mu, NULL) != 0) {
        tr_err_set(err, TR_EIO, "cannot open log %s: mutex init", dir);
        goto fail;
    }
    if (pthread_cond_init(&log->cv, NULL) != 0) {
        pthread_mutex_destroy(&log->mu);
        tr_err_set(err, TR_EIO, "cannot open log %s: condvar init", dir);
        goto fail;
    }
    log->mu_ready = true;
    if (pthread_mutex_init(&log->truncate_mu, NULL) != 0) {
        tr_err_set(err, TR_EIO, "cannot open log %s: mutex init", dir);
        goto fail;
    }
    log->truncate_mu_ready = true;

    log->db_opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(log->db_opts, 1);
    rocksdb_options_set_create_missing_column_families(log->db_opts, 1);
    /* Recover the longest consistent prefix of the WAL; a torn tail after
     * a power loss is dropped instead of failing the open. */
    rocksdb_options_set_wal_recovery_mode(log->db_opts, 2);
    rocksdb_options_set_keep_log_file_num(log->db_opts, 4);
    rocksdb_options_set_max_log_file_size(log->db_opts, 8 << 20);
    rocksdb_options_set_write_buffer_size(log->db_opts, 4 << 20);

    log->log_opts = rocksdb_options_create_copy(log->db_opts);
    rocksdb_options_set_write_buffer_size(log->log_opts,
                                          log->opts.write_buffer_size);
    rocksdb_options_set_max_write_buffer_number(log->log_opts,
                                                log->opts.max_write_buffers);
    /* The small column families ("default", "meta") see rare writes that
     * would keep old WAL files alive until RocksDB flushes them; it does
     * once the WAL outgrows this, which is about what the log's memtables
     * hold anyway. */
    rocksdb_options_set_max_total_wal_size(
        log->db_opts,
        log->opts.write_buffer_size * (uint64_t)log->opts.max_write_buffers);

    log->wo_append = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(log->wo_append,
                                  log->opts.sync != TR_KV_LOG_SYNC_INTERVAL);
    log->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(log->wo_sync, 1);
    log->ro_scan = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(log->ro_scan, 0);
    log->ro_get = rocksdb_readoptions_create();
    log->batch = rocksdb_writebatch_create();

    const rocksdb_options_t *cf_opts[CF_COUNT] = {log->db_opts, log->log_opts,
                                                  log->db_opts};
    char *rerr = NULL;
    log->db = rocksdb_open_column_families(log->db_opts, dir, CF_COUNT,
                                           CF_NAMES, cf_opts, log->cf, &rerr);
    if (rerr) {
        log->db = NULL;
        rocks_fail(err, TR_EIO, rerr, "open log", dir);
        goto fail;
    }
    if (recover_bounds(log, err) != TR_OK) {
        goto fail;
    }

    if (log->opts.sync == TR_KV_LOG_SYNC_INTERVAL) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        int crc = pthread_cond_init(&log->sync_cv, &attr);
        pthread_condattr_destroy(&attr);
        if (crc != 0 || pthread_mutex_init(&log->sync_mu, NULL) != 0) {
            if (crc == 0) {
                pthread_cond_destroy(&log->sync_cv);
            }
            tr_err_set(err, TR_EIO, "cannot open log %s: sync thread init",
                       dir);
            goto fail;
        }
        log->sync_ready = true;
        if (pthread_create(&log->sync_thread, NULL, sync_main, log) != 0) {
            tr_err_set(err, TR_EIO,
                       "cannot open log %s: cannot start the "
                       "sync thread",
                       dir);
            goto fail;
        }
        log->sync_running = true;
    }
    tr_log_debug("log opened", "dir=%s sync=%s first=%llu next=%llu", dir,
                 tr_kv_log_sync_name(log->opts.sync),
                 (unsigned long long)log->first, (unsigned long long)log->next);
    return log;

fail:
    tr_kv_log_close(log);
    return NULL;
}

void
tr_kv_log_close(struct tr_kv_log *log)
{
    if (!log) {
        return;
    }
    if (log->sync_running) {
        pthread_mutex_lock(&log->sync_mu);
        log->sync_stop = true;
        pthread_cond_signal(&log->sync_cv);
        pthread_mutex_unlock(&log->sync_mu);
        pthread_join(log->sync_thread, NULL);
    }
    if (log->sync_ready) {
        pthread_cond_destroy(&log->sync_cv);
        pthread_mutex_destroy(&log->sync_mu);
    }
    if (log->db) {
        if (log->opts.sync == TR_KV_LOG_SYNC_INTERVAL) {
            /* A clean close loses nothing, whatever the policy. */
            char *rerr = NULL;
            rocksdb_flush_wal(log->db, 1, &rerr);
            if (rerr) {
                tr_log_error("cannot sync log", "dir=%s error=\"%s\"", log->dir,
                             rerr);
                rocksdb_free(rerr);
            }
        }
        for (int i = 0; i < CF_COUNT; i++) {
            if (log->cf[i]) {
                rocksdb_column_family_handle_destroy(log->cf[i]);
            }
        }
        rocksdb_close(log->db);
    }
    if (log->batch) {
        rocksdb_writebatch_destroy(log->batch);
    }
    if (log->ro_get) {
        rocksdb_readoptions_destroy(log->ro_get);
    }
    if (log->ro_scan) {
        rocksdb_readoptions_destroy(log->ro_scan);
    }
    if (log->wo_sync) {
        rocksdb_writeoptions_destroy(log->wo_sync);
    }
    if (log->wo_append) {
        rocksdb_writeoptions_destroy(log->wo_append);
    }
    if (log->log_opts) {
        rocksdb_options_destroy(log->log_opts);
    }
    if (log->db_opts) {
        rocksdb_options_destroy(log->db_opts);
    }
    if (log->truncate_mu_ready) {
        pthread_mutex_destroy(&log->truncate_mu);
    }
    if (log->mu_ready) {
        pthread_cond_destroy(&log->cv);
        pthread_mutex_destroy(&log->mu);
    }
    tr_free(log->dir);
    tr_free(log);
}

/*
 * Writes the requests in the list `group` at positions from `pos` on, in
 * one RocksDB write. Called by the leader without mu held. On failure the
 * RocksDB message is copied to msg.
 */
static int
write_group(struct tr_kv_log *log, struct append_req *group, uint64_t pos,
            char *msg, size_t msg_size)
{
    rocksdb_writebatch_clear(log->batch);
    for (struct append_req *r = group; r; r = r->next) {
        for (size_t i = 0; i < r->n; i++) {
            char key[8];
            put_be64(key, pos++);
            rocksdb_writebatch_put_cf(log->batch, log->cf[CF_LOG], key,
                                      sizeof(key), r->recs[i].data,
                                      r->recs[i].len);
        }
    }
    char *rerr = NULL;
    rocksdb_write(log->db, log->wo_append, log->batch, &rerr);
    rocksdb_writebatch_clear(log->batch);
    if (rerr) {
        snprintf(msg, msg_size, "%s", rerr);
        rocksdb_free(rerr);
        return TR_EIO;
    }
    return TR_OK;
}

int
tr_kv_log_append(struct tr_kv_log *log, const struct tr_kv_log_record *recs,
                 size_t n, uint64_t *first_pos, struct tr_err *err)
{
    if (n == 0) {
        return tr_err_set(err, TR_EINVAL, "cannot append to log %s: no records",
                          log->dir);
    }
    struct append_req req = {.recs = recs, .n = n, .err = err};
    bool batching = log->opts.sync != TR_KV_LOG_SYNC_ALWAYS;

    pthread_mutex_lock(&log->mu);
    if (batching) {
        if (log->tail) {
            log->tail->next = &req;
        } else {
            log->head = &req;
        }
        log->tail = &req;
    }
    while (log->writing && !req.done) {
        pthread_cond_wait(&log->cv, &log->mu);
    }
    if (req.done) {
        /* A leader wrote our records (and filled err on failure). */
        pthread_mutex_unlock(&log->mu);
        if (req.rc == TR_OK && first_pos) {
            *first_pos = req.pos;
        }
        return req.rc;
    }

    /* Lead: take every queued request (ours included) or, with the
     * "always" policy, just ours. */
    log->writing = true;
    struct append_req *group = &req;
    if (batching) {
        group = log->head;
        log->head = log->tail = NULL;
    }
    uint64_t pos = log->next;
    pthread_mutex_unlock(&log->mu);

    char msg[TR_ERR_MSG_MAX];
    int rc = write_group(log, group, pos, msg, sizeof(msg));

    pthread_mutex_lock(&log->mu);
    for (struct append_req *r = group; r;) {
        /* Read next first: once done is set, r's owner may return. */
        struct append_req *following = r->next;
        r->rc = rc;
        if (rc == TR_OK) {
            r->pos = pos;
            pos += r->n;
        } else {
            tr_err_set(r->err, rc, "cannot append to log %s: %s", log->dir,
                       msg);
        }
        r->done = true;
        r = following;
    }
    if (rc == TR_OK) {
        log->next = pos;
    }
    log->writing = false;
    pthread_cond_broadcast(&log->cv);
    pthread_mutex_unlock(&log->mu);

    if (rc == TR_OK && first_pos) {
        *first_pos = req.pos;
    }
    return rc;
}

int
tr_kv_log_iterate(struct tr_kv_log *log, uint64_t from, tr_kv_log_record_fn fn,
                  void *arg, struct tr_err *err)
{
    /* The iterator's implicit snapshot is taken here. A truncation that
     * races with it only makes us start later than `from`. */
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(log->db, log->ro_scan, log->cf[CF_LOG]);
    uint64_t first;
    tr_kv_log_bounds(log, &first, NULL);
    if (from < first) {
        from = first;
    }
    char start[8];
    put_be64(start, from);

    int rc = TR_OK;
    uint64_t expect = 0;
    for (rocksdb_iter_seek(it, start, sizeof(start)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *key = rocksdb_iter_key(it, &klen);
        if (klen != 8) {
            rc = tr_err_set(err, TR_EIO,
                            "cannot read log %s: bad key (%zu bytes)", log->dir,
                            klen);
            break;
        }
        uint64_t pos = get_be64(key);
        if (expect != 0 && pos != expect) {
            rc = tr_err_set(err, TR_EIO,
                            "cannot read log %s: position %llu missing "
                            "(next found is %llu)",
                            log->dir, (unsigned long long)expect,
                            (unsigned long long)pos);
            break;
        }
        expect = pos + 1;
        const char *val = rocksdb_iter_value(it, &vlen);
        rc = fn(pos, val, vlen, arg);
        if (rc != 0) {
            break;
        }
    }
    if (rc == TR_OK) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) {
            rc = rocks_fail(err, TR_EIO, rerr, "read log", log->dir);
        }
    }
    rocksdb_iter_destroy(it);
    return rc;
}

void
tr_kv_log_bounds(struct tr_kv_log *log, uint64_t *first, uint64_t *next)
{
    pthread_mutex_lock(&log->mu);
    if (first) {
        *first = log->first;
    }
    if (next) {
        *next = log->next;
    }
    pthread_mutex_unlock(&log->mu);
}

/*
 * Gives the disk space of positions < pos back, after the range delete:
 * 1. drops the SST files of levels 1+ that lie wholly below pos (cheap, no
 *    rewriting; RocksDB leaves level 0 and files under compaction alone);
 * 2. compacts what overlaps [0, pos): this flushes the memtable with the
 *    range tombstone and rewrites level-0 and straddling files without the
 *    deleted records (non-exclusive, so background compactions go on);
 * 3. flushes the tiny "default" column family, whose last write (the new
 *    start) would otherwise keep old WAL files alive.
 * Failures only cost disk space, so they are logged, not returned.
 */
static void
reclaim(struct tr_kv_log *log, uint64_t pos)
{
    char lo[8], hi[8];
    char *rerr = NULL;
    put_be64(lo, 0);
    put_be64(hi, pos - 1); /* the limit is inclusive */
    rocksdb_delete_file_in_range_cf(log->db, log->cf[CF_LOG], lo, sizeof(lo),
                                    hi, sizeof(hi), &rerr);
    if (rerr) {
        tr_log_warn("cannot drop truncated log files", "dir=%s error=\"%s\"",
                    log->dir, rerr);
        rocksdb_free(rerr);
        rerr = NULL;
    }

    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 0);
    put_be64(hi, pos); /* exclusive limit */
    rocksdb_compact_range_cf_opt(log->db, log->cf[CF_LOG], co, lo, sizeof(lo),
                                 hi, sizeof(hi));
    rocksdb_compactoptions_destroy(co);

    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush_cf(log->db, fo, log->cf[CF_STATE], &rerr);
    rocksdb_flushoptions_destroy(fo);
    if (rerr) {
        tr_log_warn("cannot flush log state", "dir=%s error=\"%s\"", log->dir,
                    rerr);
        rocksdb_free(rerr);
    }
}

int
tr_kv_log_truncate(struct tr_kv_log *log, uint64_t pos, struct tr_err *err)
{
    pthread_mutex_lock(&log->truncate_mu);
    uint64_t first, next;
    tr_kv_log_bounds(log, &first, &next);
    int rc = TR_OK;
    if (pos > next) {
        rc = tr_err_set(err, TR_EINVAL,
                        "cannot truncate log %s: position %llu is beyond "
                        "the end (next is %llu)",
                        log->dir, (unsigned long long)pos,
                        (unsigned long long)next);
        goto out;
    }
    if (pos <= first) {
        goto out;
    }

    /* The range delete and the new start go in one batch, so a crash
     * leaves either the old log or the truncated one. */
    char lo[8], hi[8];
    put_be64(lo, first);
    put_be64(hi, pos);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range_cf(b, log->cf[CF_LOG], lo, sizeof(lo), hi,
                                       sizeof(hi));
    rocksdb_writebatch_put_cf(b, log->cf[CF_STATE], STATE_FIRST_KEY,
                              sizeof(STATE_FIRST_KEY) - 1, hi, sizeof(hi));
    char *rerr = NULL;
    rocksdb_write(log->db, log->wo_sync, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) {
        rc = rocks_fail(err, TR_EIO, rerr, "truncate log", log->dir);
        goto out;
    }
    pthread_mutex_lock(&log->mu);
    log->first = pos;
    pthread_mutex_unlock(&log->mu);

    reclaim(log, pos);
out:
    pthread_mutex_unlock(&log->truncate_mu);
    return rc;
}

int
tr_kv_log_meta_put(struct tr_kv_log *log, const void *key, size_t klen,
                   const void *val, size_t vlen, struct tr_err *err)
{
    char *rerr = NULL;
    rocksdb_put_cf(log->db, log->wo_sync, log->cf[CF_META], key, klen, val,
                   vlen, &rerr);
    if (rerr) {
        return rocks_fail(err, TR_EIO, rerr, "write meta key of log", log->dir);
    }
    return TR_OK;
}

int
tr_kv_log_meta_delete(struct tr_kv_log *log, const void *key, size_t klen,
                      struct tr_err *err)
{
    char *rerr = NULL;
    rocksdb_delete_cf(log->db, log->wo_sync, log->cf[CF_META], key, klen,
                      &rerr);
    if (rerr) {
        return rocks_fail(err, TR_EIO, rerr, "write meta key of log", log->dir);
    }
    return TR_OK;
}

int
tr_kv_log_meta_get(struct tr_kv_log *log, const void *key, size_t klen,
                   struct tr_buf *out, struct tr_err *err)
{
    tr_buf_reset(out);
    char *rerr = NULL;
    size_t vlen = 0;
    char *val = rocksdb_get_cf(log->db, log->ro_get, log->cf[CF_META], key,
                               klen, &vlen, &rerr);
    if (rerr) {
        return rocks_fail(err, TR_EIO, rerr, "read meta key of log", log->dir);
    }
    if (!val) {
        return tr_err_set(err, TR_ENOTFOUND,
                          "cannot read meta key of log %s: not found",
                          log->dir);
    }
    int rc = tr_buf_append(out, val, vlen);
    rocksdb_free(val);
    if (rc != TR_OK) {
        return tr_err_set(err, rc,
                          "cannot read meta key of log %s: "
                          "out of memory",
                          log->dir);
    }
    return TR_OK;
}
