/*
 * Immutable metrics blocks in object storage.
 *
 * Every 2 h the head is cut into a block: the samples of every series in a
 * time range [mint, maxt), stored as three objects under
 * "<tenant>/metrics/<block id>/":
 *
 *   chunks     the samples as byte-aligned columns: per series a time
 *              column (delta-of-delta varints) and a value column
 *              (varint deltas of decimal-scaled integers, so 12.37 is
 *              stored as 1237 with 2 decimals, or those deltas over their
 *              common divisor as residuals from their median, for steady
 *              counters; a Gorilla-style XOR form for series that are not
 *              decimal; NaN payloads, stale markers, +-Inf and -0.0
 *              round-trip bit for bit). Series
 *              with identical timestamps (scraped together) share one
 *              time column. Each stream is cut into pages of about 64
 *              KiB, each page an independent zstd frame (with a content
 *              checksum), so a reader fetches and decodes only the pages
 *              a query needs.
 *   index      symbol table, series table, postings, label table, page
 *              tables and a fixed-size table of contents at the end (see
 *              block_format.h for the byte layout).
 *   meta.json  id, tenant, range, counts, format version, compaction
 *              level and the sizes of the other two files. Uploaded LAST:
 *              a block without meta.json is incomplete and ignored.
 *
 * Determinism: the files are a pure function of (tenant, range, level,
 * options, samples). Series are sorted by label set, symbols bytewise,
 * columns are encoded from the samples (so head chunk boundaries do not
 * matter), zstd runs single-threaded at a fixed level, and nothing time- or
 * host-dependent is written. The block id is ULID-shaped (26 Crockford
 * base32 characters): 48 bits of mint (ms, so ids sort by start time) then
 * 80 bits of an XXH3-128 over the tenant, range, level and the
 * uncompressed content. Replicas fed the same samples therefore produce
 * the same id and the same bytes (with the same zstd version), and their
 * uploads overwrite each other harmlessly.
 *
 * Reading: tr_block_open fetches meta.json, then the index's table of
 * contents and its small sections (symbols, label table, page tables) with
 * ranged reads and keeps them in memory; postings lists (each with a
 * checksum), series pages and column pages are fetched with ranged reads
 * per query, adjacent ranges merged. A struct tr_block is immutable once open
 * and may be used from several threads at once; tr_block_cache keeps open
 * blocks by tenant and id (blocks never change, so entries never go stale).
 */
#ifndef TR_TSDB_BLOCK_H
#define TR_TSDB_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "tsdb/head.h"
#include "tsdb/index.h"

struct tr_arena;
struct tr_err;
struct tr_head;
struct tr_labels;
struct tr_matcher;
struct tr_objstore;

/* Format version written to meta.json and the index; readers accept
 * TR_BLOCK_FORMAT_MIN_VERSION up to it and refuse others. */
#define TR_BLOCK_FORMAT_VERSION 3
#define TR_BLOCK_FORMAT_MIN_VERSION 2
/* Length of a block id (without the NUL). */
#define TR_BLOCK_ID_LEN 26
/* Longest tenant id accepted. */
#define TR_BLOCK_TENANT_MAX 150
/* Folder of metrics blocks under a tenant. */
#define TR_BLOCK_DIR "metrics"

/* Parsed meta.json. */
struct tr_block_meta {
    char id[TR_BLOCK_ID_LEN + 1];
    char tenant[TR_BLOCK_TENANT_MAX + 1];
    uint32_t version;
    uint32_t level; /* compaction level: 1 for blocks cut from a head */
    int64_t mint;   /* inclusive, ms */
    int64_t maxt;   /* exclusive, ms */
    uint64_t series;
    uint64_t samples;
    uint64_t chunks;      /* time columns stored (series scraped together share
                             one; a single-sample series needs none) */
    uint64_t index_size;  /* bytes of the "index" object */
    uint64_t chunks_size; /* bytes of the "chunks" object */
};

/* ---- writing ---------------------------------------------------------- */

struct tr_block_options {
    const char *tenant; /* required; borrowed; one key segment, no '/' */
    int64_t mint;       /* block range [mint, maxt), maxt > mint */
    int64_t maxt;
    uint32_t level;             /* 0 means 1 */
    uint32_t samples_per_chunk; /* ignored since format 2 (a series'
                                   samples are one unit); kept for source
                                   compatibility */
    uint32_t chunk_page_size;   /* uncompressed bytes per column page; 0: 64
                                   KiB */
    uint32_t series_per_page;   /* series per index series page; 0: 64 */
    int zstd_level;             /* 0 means 9 */
};

/* A finished block held in memory: the three files and the parsed meta. */
struct tr_block_files {
    struct tr_block_meta meta;
    struct tr_buf index;
    struct tr_buf chunks;
    struct tr_buf meta_json;
};

/* Frees the buffers. The struct may be zeroed or already finished. */
void tr_block_files_fini(struct tr_block_files *f);

/*
 * Builds a block from series added one by one in strictly increasing label
 * order (tr_labels_compare). Opaque; not thread-safe.
 */
struct tr_block_builder;

/*
 * Validates opts (copied) and returns a builder, or NULL with TR_EINVAL
 * ("cannot create block builder: ...") or TR_ENOMEM in err.
 */
struct tr_block_builder *
tr_block_builder_create(const struct tr_block_options *opts,
                        struct tr_err *err);

/* NULL is allowed. */
void tr_block_builder_destroy(struct tr_block_builder *b);

/*
 * Adds one series: labels ls (borrowed, copied) and n samples (borrowed)
 * with strictly increasing timestamps inside [mint, maxt). n == 0 adds
 * nothing. TR_EINVAL for labels not after the previous series', a
 * timestamp out of range or not increasing, or an empty label set;
 * TR_ENOMEM. After an error the builder may only be destroyed.
 */
int tr_block_builder_add(struct tr_block_builder *b, const struct tr_labels *ls,
                         const int64_t *t, const double *v, size_t n,
                         struct tr_err *err);

/*
 * Finishes the block into out (zeroed or finished by the caller; freed
 * with tr_block_files_fini). TR_ENOTFOUND when no series was added ("no
 * samples in range"), TR_EIO when zstd fails, TR_ENOMEM.
 */
int tr_block_builder_finish(struct tr_block_builder *b,
                            struct tr_block_files *out, struct tr_err *err);

/*
 * Builds the block of head h's samples in [opts->mint, opts->maxt). The
 * head may keep receiving appends; samples appended meanwhile may or may
 * not be included. Errors as tr_block_builder_create and _finish.
 */
int tr_block_build_from_head(struct tr_head *h,
                             const struct tr_block_options *opts,
                             struct tr_block_files *out, struct tr_err *err);

/*
 * Uploads f to os under "<tenant>/metrics/<id>/": chunks, index, then
 * meta.json. Errors from the store, prefixed "cannot upload block <id>".
 */
int tr_block_upload(struct tr_objstore *os, const struct tr_block_files *f,
                    struct tr_err *err);

/* ---- listing and deleting --------------------------------------------- */

/* Ids of complete blocks, ascending (so by mint). Caller storage. */
struct tr_block_id_list {
    char (*ids)[TR_BLOCK_ID_LEN + 1];
    size_t len;
    size_t cap;
};

void tr_block_id_list_fini(struct tr_block_id_list *l);

/*
 * Replaces out's contents with the ids of the tenant's blocks that have a
 * meta.json (one listing of "<tenant>/metrics/"). Store errors pass up.
 */
int tr_block_list(struct tr_objstore *os, const char *tenant,
                  struct tr_block_id_list *out, struct tr_err *err);

/*
 * Reads and parses a block's meta.json. TR_ENOTFOUND when absent,
 * TR_EINVAL ("cannot parse meta.json of block <id>: ...") when malformed
 * or of another format version or for a different tenant or id.
 */
int tr_block_meta_read(struct tr_objstore *os, const char *tenant,
                       const char *id, struct tr_block_meta *out,
                       struct tr_err *err);

/*
 * Deletes a block: meta.json first (so readers stop seeing it), then
 * every other object under its folder. Deleting an absent block succeeds.
 */
int tr_block_delete(struct tr_objstore *os, const char *tenant, const char *id,
                    struct tr_err *err);

/* Writes "<tenant>/metrics/<id>/<file>" into out (size TR_OBJSTORE_KEY_MAX
 * + 1). TR_EINVAL when too long. */
int tr_block_key(char *out, size_t size, const char *tenant, const char *id,
                 const char *file, struct tr_err *err);

/* ---- reading ---------------------------------------------------------- */

struct tr_block;

/*
 * Opens block id of tenant in os (borrowed; must outlive the block): reads
 * meta.json, the index's table of contents and its resident sections.
 * Returns TR_OK and *out (reference count 1; drop it with
 * tr_block_release), TR_ENOTFOUND (no meta.json), TR_EINVAL for a corrupt
 * or foreign block ("cannot open block <id>: ..."), store errors, or
 * TR_ENOMEM.
 */
int tr_block_open(struct tr_objstore *os, const char *tenant, const char *id,
                  struct tr_block **out, struct tr_err *err);

/* Takes another reference to b. */
void tr_block_retain(struct tr_block *b);
/* Drops a reference; the last one frees the block. NULL is allowed. */
void tr_block_release(struct tr_block *b);

/* The block's meta (borrowed, lives as long as b). */
const struct tr_block_meta *tr_block_get_meta(const struct tr_block *b);

/*
 * One selected series: its labels and (private) where its samples are.
 * Read the samples with tr_block_series_samples, which decodes the
 * columns straight into arrays. Valid while its set is.
 */
struct tr_block_series {
    struct tr_labels *labels; /* owned by the set */
    int64_t min_t;            /* first and last sample time in the block */
    int64_t max_t;
    size_t samples; /* in the block (not only the query range) */
    /* Private. */
    const int64_t *t;       /* decoded timestamps, shared, owned by set */
    const unsigned char *v; /* value column, owned by the set */
    size_t v_len;
};

/* Selected series sorted by label set. Caller storage; zeroed is empty. */
struct tr_block_series_set {
    struct tr_block_series *series;
    size_t len;
    size_t cap;
    /* Private: storage the series point into. */
    int64_t *times;
    unsigned char *values;
};

void tr_block_series_set_fini(struct tr_block_series_set *s);

/*
 * Replaces out's contents with the series matching every matcher
 * (borrowed; same rules as tr_index_select, no matchers = all series) that
 * have samples in [mint, maxt] (inclusive, as tr_head_select; a series
 * whose first and last samples straddle the range without one inside may
 * be listed too and then yields no samples), sorted by labels. Fetches
 * postings, series pages and column pages with ranged reads and decodes
 * the time columns (once per distinct column). Returns TR_OK, TR_ELIMIT
 * (regex match limit), TR_EINVAL for corrupt data ("cannot read block
 * <id>: ..."), store errors, TR_ENOMEM.
 */
int tr_block_select(struct tr_block *b, struct tr_matcher *const *matchers,
                    size_t n, int64_t mint, int64_t maxt,
                    struct tr_block_series_set *out, struct tr_err *err);

/* How many of s's samples lie within [mint, maxt] (exact, no decoding). */
size_t tr_block_series_count(const struct tr_block_series *s, int64_t mint,
                             int64_t maxt);

/*
 * Decodes the samples of one selected series within [mint, maxt] into
 * newly allocated arrays *t and *v (caller frees both with tr_free; NULL
 * when *n is 0). Only the values up to maxt are decoded. TR_OK, TR_EINVAL
 * ("cannot decode block series: value column is corrupt"), TR_ENOMEM.
 */
int tr_block_series_samples(const struct tr_block_series *s, int64_t mint,
                            int64_t maxt, int64_t **t, double **v, size_t *n,
                            struct tr_err *err);

/*
 * Sorted label names / values of label `name` of the series matching the
 * matchers with a chunk overlapping [mint, maxt], like tr_head_label_names
 * / _values; with no matchers and a range covering the block they come
 * from the label table without reading series. Strings and arrays come
 * from arena. Errors as tr_block_select.
 */
int tr_block_label_names(struct tr_block *b, struct tr_matcher *const *matchers,
                         size_t n, int64_t mint, int64_t maxt,
                         struct tr_arena *arena, struct tr_tsdb_str **out,
                         size_t *count, struct tr_err *err);
int tr_block_label_values(struct tr_block *b, const char *name, size_t name_len,
                          struct tr_matcher *const *matchers, size_t n,
                          int64_t mint, int64_t maxt, struct tr_arena *arena,
                          struct tr_tsdb_str **out, size_t *count,
                          struct tr_err *err);

/* Object store traffic of a block since it was opened (open included). */
struct tr_block_read_stats {
    uint64_t requests; /* GETs, ranged or whole */
    uint64_t bytes;    /* bytes received */
};

void tr_block_read_stats(const struct tr_block *b,
                         struct tr_block_read_stats *out);

/* ---- cache of open blocks --------------------------------------------- */

struct tr_block_cache;

/*
 * An in-memory cache of open blocks of store os (borrowed), keyed by
 * tenant and id, holding at most max_blocks (0 means 256), least recently
 * used evicted first. Thread-safe. NULL when out of memory.
 */
struct tr_block_cache *tr_block_cache_create(struct tr_objstore *os,
                                             size_t max_blocks);

/* Drops the cache's references (blocks still held by callers stay
 * valid until released). NULL is allowed. */
void tr_block_cache_destroy(struct tr_block_cache *c);

/*
 * Returns the open block (a new reference: release it with
 * tr_block_release), opening it on a miss. Errors as tr_block_open.
 */
int tr_block_cache_get(struct tr_block_cache *c, const char *tenant,
                       const char *id, struct tr_block **out,
                       struct tr_err *err);

/* Forgets a block (after deleting it). */
void tr_block_cache_evict(struct tr_block_cache *c, const char *tenant,
                          const char *id);

#endif
