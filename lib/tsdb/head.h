/*
 * The head: one tenant's in-memory series store. Series are found by
 * label-set hash (collisions resolved by comparing label sets) or created;
 * each holds an open chunk plus closed ones; an inverted index maps labels
 * to series ids for selects and the label APIs.
 *
 * Concurrency design:
 *   - Series map: 64 stripes chosen by the top bits of the label hash, each
 *     an open-addressing table behind its own reader/writer lock, so the
 *     per-sample lookup takes a read lock on one stripe only.
 *   - Index + id table: one reader/writer lock. Writers: series creation
 *     (rare). Readers: select and label queries. Lock order when creating:
 *     stripe lock, then index lock; nothing takes a stripe lock while
 *     holding the index lock.
 *   - Samples: each series' chunks and last sample are guarded by one of
 *     256 mutexes picked by series id (striped, to keep series small).
 *     Appends to different series from several threads rarely contend;
 *     readers copy the chunk bytes they need under the same mutex and
 *     decode them without locks.
 *   - A series' min/max time and the head's counters are atomics, so
 *     selects can drop series outside a time range without locking them.
 *   - Series lifetime: every series pointer the head hands out carries a
 *     reference (tr_head_get, tr_head_get_or_create: release it with
 *     tr_head_series_release; tr_head_select: tr_series_list_fini releases
 *     the list's). The head holds one more while the series is linked in
 *     its map and index. References are taken under the stripe or index
 *     lock that found the series, and garbage collection unlinks series
 *     only under ALL stripe locks plus the index lock (write), so a lookup
 *     never races with an unlink; an unlinked series is freed when its
 *     last reference goes. So a pointer a caller holds never dangles, even
 *     across a tr_head_truncate.
 *   - Truncation (tr_head_truncate) raises the min valid time, drops whole
 *     chunks that end before it (series lock), then removes the series
 *     left empty (garbage collection, as above). A sample appended between
 *     the two steps keeps its series alive (re-checked under the series
 *     lock during the unlink); an append through a pointer to a series
 *     that was unlinked meanwhile goes to the series now linked under the
 *     same labels (created if needed), so no accepted sample is lost.
 *     Ids are never reused, so postings stay sorted.
 *   - Callers that never truncate may ignore the references: tr_head_destroy
 *     frees every linked series whatever its count.
 *
 * Memory per series: the series struct (104 B, open chunk embedded), its
 * label set (one allocation), its chunk bytes, a map slot, postings entries
 * and the index strings of its unique values. tr-tsdb-bench measured about
 * 500 B accounted / 670 B RSS per series for 100k series of 4 labels with
 * one full 120-sample chunk each.
 */
#ifndef TR_TSDB_HEAD_H
#define TR_TSDB_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "tsdb/chunk.h"
#include "tsdb/index.h"

struct tr_arena;
struct tr_err;
struct tr_labels;
struct tr_matcher;

/* Label-set hash used to find series; see tr_head_options.hash_fn. */
typedef uint64_t (*tr_head_hash_fn)(const struct tr_labels *ls);

struct tr_head_options {
    /* Samples per chunk before it is closed; 0 means 120. At most 65535. */
    uint32_t max_samples_per_chunk;
    /* Series the head will create; 0 means no limit (TR_ELIMIT beyond). */
    uint32_t max_series;
    /* Tests only (to force collisions); NULL means tr_labels_hash. */
    tr_head_hash_fn hash_fn;
};

/* Why tr_head_append refused a sample. */
enum tr_append_reject {
    TR_APPEND_OK = 0,
    TR_APPEND_OUT_OF_ORDER, /* older than the series' last sample */
    TR_APPEND_DUPLICATE,    /* same timestamp, different value */
    TR_APPEND_TOO_OLD,      /* older than the head's min valid time */
};

struct tr_head;
struct tr_series;

/* A head with options (NULL: defaults). NULL when out of memory. */
struct tr_head *tr_head_create(const struct tr_head_options *opts);
/* Frees every series. No other call may be running, and every series list
 * must be finished before. NULL is allowed. */
void tr_head_destroy(struct tr_head *h);

/*
 * Finds the series with labels ls (borrowed) or creates it (copying ls).
 * *out carries a reference (see the lifetime rules above: release it with
 * tr_head_series_release); *created (may be NULL) says which.
 * Returns TR_OK, TR_ELIMIT (max_series reached), TR_ENOMEM.
 */
int tr_head_get_or_create(struct tr_head *h, const struct tr_labels *ls,
                          struct tr_series **out, bool *created,
                          struct tr_err *err);

/* The series with labels ls (with a reference), or NULL when there is
 * none. */
struct tr_series *tr_head_get(struct tr_head *h, const struct tr_labels *ls);

/* Drops a reference taken by tr_head_get or tr_head_get_or_create; frees
 * s if it was garbage collected and this was the last one. NULL is
 * allowed. */
void tr_head_series_release(struct tr_head *h, struct tr_series *s);

/*
 * Appends (t ms, v) to s (the caller holds a reference). A sample with the
 * timestamp and bit-identical value of the last one is accepted and
 * ignored, as Prometheus does. If s was garbage collected meanwhile the
 * sample goes to the series linked under the same labels.
 * Returns TR_OK, or TR_EINVAL with *reject (may be NULL) saying why and
 * err "cannot append sample: out of order (t=..., last=...)"; TR_ENOMEM.
 */
int tr_head_append(struct tr_head *h, struct tr_series *s, int64_t t,
                   double v, enum tr_append_reject *reject,
                   struct tr_err *err);

/* "ok", "out_of_order", "duplicate", "too_old" (metric label values). */
const char *tr_append_reject_name(enum tr_append_reject r);

/* Samples older than t are refused as TR_APPEND_TOO_OLD (default: none). */
void tr_head_set_min_valid_time(struct tr_head *h, int64_t t);
int64_t tr_head_min_valid_time(const struct tr_head *h);
/* Time of the oldest sample in the head (a lower bound: exact except
 * briefly during a truncation); INT64_MAX when empty. As in tr_head_stats,
 * without its locking. */
int64_t tr_head_min_time(const struct tr_head *h);

/* What tr_head_truncate removed. */
struct tr_head_truncation {
    uint64_t chunks_removed;
    uint64_t series_removed;
};

/*
 * Truncates the head below t (ms), typically after the samples before t
 * were written to a block: raises the min valid time to t (never lowers
 * it), drops every chunk whose last sample is before t (a chunk
 * straddling t stays whole: readers filter by time), then removes the
 * series left without samples from the map and the index (garbage
 * collection; see the lifetime rules above). Safe while other threads
 * append, create and read; one truncation runs at a time. out (may be
 * NULL) says what went. TR_OK or TR_ENOMEM (chunks may be dropped, series
 * not collected; the next call retries).
 */
int tr_head_truncate(struct tr_head *h, int64_t t,
                     struct tr_head_truncation *out, struct tr_err *err);

/* Label set of s (borrowed; lives as long as the head). */
const struct tr_labels *tr_series_labels(const struct tr_series *s);
/* Id of s in the index (from 0, increasing in creation order, never
 * reused after garbage collection). */
uint32_t tr_series_id(const struct tr_series *s);
/* The head's hash of its labels (tr_labels_hash unless overridden). */
uint64_t tr_series_hash(const struct tr_series *s);
/* Time range of s's samples; false (and nothing set) when it has none. */
bool tr_series_time_range(const struct tr_series *s, int64_t *min_t,
                          int64_t *max_t);

/* ---- selecting series ------------------------------------------------- */

/* A list of series pointers in caller storage; zeroed is empty. The list
 * holds a reference to each series (valid until tr_series_list_fini or the
 * next select into it), so it must be finished before tr_head_destroy. */
struct tr_series_list {
    struct tr_series **series;
    size_t len;
    size_t cap;
    struct tr_head *head; /* private: whose references the list holds */
};

/* Releases the references and frees the array. */
void tr_series_list_fini(struct tr_series_list *l);

/*
 * Replaces out's contents with the series matching every matcher (see
 * tr_index_select for the rules) that have samples in [mint, maxt],
 * sorted by label set. Returns TR_OK, TR_ELIMIT (regex match limit),
 * TR_ENOMEM.
 */
int tr_head_select(struct tr_head *h, struct tr_matcher *const *matchers,
                   size_t n, int64_t mint, int64_t maxt,
                   struct tr_series_list *out, struct tr_err *err);

/*
 * Sorted label names (or values of label name) of the series matching the
 * matchers with samples in [mint, maxt]; with no matchers and a range
 * covering the whole head this reads the index directly. The array and
 * strings come from arena. TR_OK, TR_ELIMIT, TR_ENOMEM.
 */
int tr_head_label_names(struct tr_head *h, struct tr_matcher *const *matchers,
                        size_t n, int64_t mint, int64_t maxt,
                        struct tr_arena *arena, struct tr_tsdb_str **out,
                        size_t *count, struct tr_err *err);
int tr_head_label_values(struct tr_head *h, const char *name, size_t name_len,
                         struct tr_matcher *const *matchers, size_t n,
                         int64_t mint, int64_t maxt, struct tr_arena *arena,
                         struct tr_tsdb_str **out, size_t *count,
                         struct tr_err *err);

/* ---- reading samples -------------------------------------------------- */

/*
 * Copies of the chunks of one series that overlap a time range, oldest
 * first, taken under the series lock so they can be decoded without it.
 * Caller storage; zeroed is empty; tr_series_chunks_fini frees.
 */
struct tr_series_chunks {
    struct tr_buf bytes; /* every chunk's encoded bytes, back to back */
    struct tr_series_chunk {
        size_t off;
        size_t len;
        int64_t min_t;
        int64_t max_t;
    } *chunks;
    size_t len;
    size_t cap;
};

void tr_series_chunks_fini(struct tr_series_chunks *sc);

/* Replaces sc's contents with s's chunks overlapping [mint, maxt]. TR_OK or
 * TR_ENOMEM. */
int tr_head_read(struct tr_head *h, struct tr_series *s, int64_t mint,
                 int64_t maxt, struct tr_series_chunks *sc,
                 struct tr_err *err);

/*
 * Iterates the samples of sc within [mint, maxt] in time order. Fields are
 * private. next and seek return 1 with a sample, 0 at the end, TR_EINVAL
 * for corrupt bytes; seek moves to the first sample >= target (never
 * backwards).
 */
struct tr_series_iter {
    const struct tr_series_chunks *sc;
    size_t next_chunk;
    bool in_chunk;
    struct tr_chunk_iter cur;
    int64_t mint;
    int64_t maxt;
};

void tr_series_iter_init(struct tr_series_iter *it,
                         const struct tr_series_chunks *sc, int64_t mint,
                         int64_t maxt);
int tr_series_iter_next(struct tr_series_iter *it, int64_t *t, double *v,
                        struct tr_err *err);
int tr_series_iter_seek(struct tr_series_iter *it, int64_t target, int64_t *t,
                        double *v, struct tr_err *err);

/* ---- metrics ---------------------------------------------------------- */

struct tr_head_stats {
    uint64_t series;
    uint64_t chunks;          /* open (non-empty) and closed */
    uint64_t samples_appended;
    uint64_t rejected_out_of_order;
    uint64_t rejected_duplicate;
    uint64_t rejected_too_old;
    uint64_t memory_bytes; /* series, labels, chunks, map, index */
    /* Over the samples in the head (a lower bound: exact except briefly
     * during a truncation); INT64_MAX when empty. */
    int64_t min_time;
    /* Highest sample time ever appended; INT64_MIN before the first. */
    int64_t max_time;
};

void tr_head_stats(struct tr_head *h, struct tr_head_stats *out);

#endif
