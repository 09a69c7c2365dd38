/*
 * A durable append-only log of byte records on RocksDB: the ingester's
 * write-ahead log.
 *
 * Every record gets a position, a uint64 that starts at 1 in a new log and
 * grows by one per record with no gaps, across restarts too. A log holds the
 * positions [first, next): appends add at `next`, truncation removes from
 * `first`. In RocksDB each record is one key (the position as 8 big-endian
 * bytes, so the default bytewise comparator keeps positions in order) in the
 * column family "log". The column family "meta" holds small caller
 * key/values (checkpoints), and "default" holds the log's own state (where
 * the log starts after truncation).
 *
 * Durability (struct tr_kv_log_options.sync):
 *
 *   TR_KV_LOG_SYNC_GROUP (default): an append returns only once its records
 *     are on disk (fsync). Appends from concurrent threads are gathered by
 *     whichever of them is writing first (the leader) into one RocksDB write
 *     with one fsync, so N threads pay for about one fsync per round
 *     instead of N.
 *   TR_KV_LOG_SYNC_ALWAYS: each append does its own synced write. Same
 *     guarantee as GROUP, much lower throughput under concurrency; kept for
 *     comparison and for callers that want strictly one write per append.
 *   TR_KV_LOG_SYNC_INTERVAL: appends return as soon as RocksDB has handed
 *     the records to the operating system (write(2), no fsync); a background
 *     thread fsyncs the log every sync_interval_ms. LOSS WINDOW: if the
 *     machine loses power or the kernel crashes, records appended during
 *     the last sync_interval_ms (plus the time one fsync takes) may be lost
 *     even though their append returned TR_OK. A crash of only this process
 *     (including SIGKILL) loses nothing, as the kernel still holds the data.
 *
 * In every policy, what survives a crash is a prefix of the appends: if a
 * record is present after recovery, every record with a lower position is
 * too. Appends are serialized internally, so a batch is atomic (all of its
 * records or none) and its positions are contiguous.
 *
 * Thread safety: append, iterate, bounds, truncate and the meta functions
 * may be called from any number of threads at once. open and close must
 * not race with anything on the same log.
 */
#ifndef TR_KV_LOG_H
#define TR_KV_LOG_H

#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;
struct tr_kv_log;

enum tr_kv_log_sync {
    TR_KV_LOG_SYNC_GROUP = 0,
    TR_KV_LOG_SYNC_ALWAYS = 1,
    TR_KV_LOG_SYNC_INTERVAL = 2,
};

/* Default write buffer (memtable) size of the log column family. */
#define TR_KV_LOG_DEFAULT_WRITE_BUFFER (64u * 1024 * 1024)
/* Default fsync period of TR_KV_LOG_SYNC_INTERVAL. */
#define TR_KV_LOG_DEFAULT_SYNC_INTERVAL_MS 100

/*
 * Open options. A zeroed struct (or a NULL pointer to tr_kv_log_open) gives
 * the defaults: group commit, 64 MiB write buffer, 2 write buffers, 100 ms
 * interval (used only by TR_KV_LOG_SYNC_INTERVAL).
 */
struct tr_kv_log_options {
    enum tr_kv_log_sync sync;
    /* Fsync period for TR_KV_LOG_SYNC_INTERVAL; 0 means 100 ms. */
    int64_t sync_interval_ms;
    /* Memtable size of the log column family; 0 means 64 MiB. */
    size_t write_buffer_size;
    /* Memtables kept before writes stall; 0 means 2. */
    int max_write_buffers;
};

/* One record to append: borrowed bytes, copied by tr_kv_log_append. */
struct tr_kv_log_record {
    const void *data;
    size_t len;
};

/*
 * Called by tr_kv_log_iterate for each record in position order. data is
 * borrowed and valid only during the call. Return 0 to continue; any other
 * value stops the iteration and is returned by tr_kv_log_iterate.
 */
typedef int (*tr_kv_log_record_fn)(uint64_t pos, const void *data, size_t len,
                                   void *arg);

/*
 * Parses a sync policy name: "group", "always" or "interval". TR_OK, or
 * TR_EINVAL with a message naming the input.
 */
int tr_kv_log_sync_parse(const char *name, enum tr_kv_log_sync *out,
                         struct tr_err *err);
/* The name of a sync policy ("group", ...), for logs and flags. */
const char *tr_kv_log_sync_name(enum tr_kv_log_sync sync);

/*
 * Opens the log in directory dir, creating the directory (one level) and
 * the log if missing, and recovers the bounds: `next` is one past the last
 * record found, `first` the truncation point or the first record. opts may
 * be NULL for the defaults; it is copied. Returns the log, or NULL with
 * err set ("cannot open log <dir>: <cause>"). Close with tr_kv_log_close.
 */
struct tr_kv_log *tr_kv_log_open(const char *dir,
                                 const struct tr_kv_log_options *opts,
                                 struct tr_err *err);

/*
 * Stops the interval sync thread, makes every appended record durable (one
 * last fsync) and closes the database. No other call on log may be running
 * or follow. NULL is allowed.
 */
void tr_kv_log_close(struct tr_kv_log *log);

/*
 * Appends the n records (n >= 1) atomically and stores the position of the
 * first one in *first_pos (may be NULL); record i gets *first_pos + i. The
 * record bytes are copied. When this returns TR_OK the records are durable
 * as the sync policy promises (see above). Errors: TR_EINVAL (n == 0),
 * TR_EIO ("cannot append to log <dir>: <rocksdb error>"). After an error
 * the positions are not handed out again by this process, but, as with any
 * failed fsync, the records may or may not be found after a restart; RocksDB
 * then refuses further writes until the log is reopened.
 */
int tr_kv_log_append(struct tr_kv_log *log, const struct tr_kv_log_record *recs,
                     size_t n, uint64_t *first_pos, struct tr_err *err);

/*
 * Calls fn for every record with position >= from (from below `first`
 * starts at `first`), in position order, as of a consistent snapshot taken
 * at the call: appends made meanwhile are not seen. Returns TR_OK after the
 * last record, fn's value if fn stopped the iteration, or TR_EIO ("cannot
 * read log <dir>: <cause>"), also when the stored positions are not dense.
 */
int tr_kv_log_iterate(struct tr_kv_log *log, uint64_t from,
                      tr_kv_log_record_fn fn, void *arg, struct tr_err *err);

/*
 * The log holds positions [*first, *next); it is empty when they are
 * equal. Either pointer may be NULL. The last record, if any, is *next - 1.
 */
void tr_kv_log_bounds(struct tr_kv_log *log, uint64_t *first, uint64_t *next);

/*
 * Deletes every record with position < pos; the new `first` is durable
 * when this returns, and pos <= first does nothing. Then it gives their
 * disk space back before returning: it drops the SST files wholly below
 * pos and compacts the rest of the range, flushing the memtable first (so
 * the call takes a moment, typically milliseconds, more when much of the
 * range is still in memtables or level 0; appends go on meanwhile). Errors:
 * TR_EINVAL if pos > next (records that do not exist yet), TR_EIO ("cannot
 * truncate log <dir>: <rocksdb error>"). A failure to reclaim space is
 * only logged.
 */
int tr_kv_log_truncate(struct tr_kv_log *log, uint64_t pos, struct tr_err *err);

/*
 * Small durable key/values beside the log (column family "meta"), for
 * checkpoints and the like. Keys and values are arbitrary bytes, copied.
 * Every put and delete is synced to disk before returning (and is ordered
 * with the log's appends: a put that returned is never lost while later
 * appends survive). Errors: TR_EIO ("cannot write meta key of log <dir>:
 * <rocksdb error>").
 */
int tr_kv_log_meta_put(struct tr_kv_log *log, const void *key, size_t klen,
                       const void *val, size_t vlen, struct tr_err *err);
int tr_kv_log_meta_delete(struct tr_kv_log *log, const void *key, size_t klen,
                          struct tr_err *err);

/*
 * Reads the value of key into out (reset first; the caller owns out and
 * frees it with tr_buf_fini). Errors: TR_ENOTFOUND when the key is absent
 * (out is then empty), TR_ENOMEM, TR_EIO.
 */
int tr_kv_log_meta_get(struct tr_kv_log *log, const void *key, size_t klen,
                       struct tr_buf *out, struct tr_err *err);

#endif
