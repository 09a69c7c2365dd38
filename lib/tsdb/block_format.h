/*
 * Byte layout of metrics blocks (private to block_*.c). FROZEN for format
 * version 3: change it only with a new TR_BLOCK_FORMAT_VERSION. Version 3
 * added the steady decimal value mode; readers also accept version 2
 * blocks (the same layout without that mode). (Version 1 stored Gorilla
 * chunks; no version 1 block was ever persisted, so readers do not support
 * it.)
 *
 * uvarint = unsigned LEB128 (tsdb/varint.h); zigzag(x) = (x << 1) ^ (x >>
 * 63). "zstd frame" = one complete zstd frame with its content size and
 * content checksum, so corruption is detected when it is decoded. Integers
 * in the TOC and checksums are little-endian.
 *
 * Samples are stored as two kinds of byte-aligned columns, one pair per
 * series (a series is one unit: it is fetched and decoded whole).
 *
 *   time column of n timestamps t[0] < ... < t[n-1] (t[0] and n are in
 *   the series entry; n == 1 gives an empty column):
 *     uvarint t[1] - t[0], then for i >= 2
 *     uvarint zigzag((t[i] - t[i-1]) - (t[i-1] - t[i-2])).
 *   Series with identical timestamps (those scraped together) share ONE
 *   time column: the writer stores a column once and later series point
 *   at it.
 *
 *   value column of n values: a mode byte, then
 *     mode 0..15 (decimal, d = mode): the values are k / 10^d for integers
 *       |k| <= 2^53, with (double)k / 10^d reproducing every bit. Values
 *       that are not (NaN payloads and stale markers, +-Inf, -0.0, values
 *       needing more than 15 decimals or larger than 2^53 / 10^d) are
 *       exceptions stored raw:
 *         uvarint e, e x (uvarint position [minus previous position + 1
 *         after the first], 8 bytes IEEE 754 bits),
 *       then for the n - e other values, in order, uvarint zigzag(k -
 *       previous k) (previous k starts at 0).
 *     mode 0x40 | d (steady decimal, format version 3): as decimal up to
       and including the exceptions, then uvarint g (>= 1), uvarint
       zigzag(b), uvarint zigzag(first k), then for each later k
       uvarint zigzag((k - previous k) / g - b). The writer takes g as the
       greatest common divisor of those deltas and b as the median of the
       quotients (the lower one of an even count): a counter's steady
       increase and a gauge that moves in pages become small numbers.
     mode 0x80 (XOR): per value x = bits XOR previous bits (starting at
 *       0): a byte (lz << 4) | tz, lz / tz = whole leading / trailing zero
 *       bytes of x (x == 0: lz 8, tz 0), then the 8 - lz - tz middle bytes
 *       of x, least significant first.
 *     The writer picks whichever is shortest (on a tie decimal, then steady
     decimal, then XOR).
 *
 * chunks object
 *   Two byte streams, the "time stream" (distinct time columns in order of
 *   first use) and the "value stream" (every series' value column in
 *   series order). Positions in a stream are "logical offsets". Each
 *   stream is cut into pages at column boundaries once a page reaches
 *   chunk_page_size bytes (so a page may exceed it by one column); each
 *   page is one zstd frame and the object is the pages of both streams
 *   back to back in the order they were filled.
 *
 * index object
 *   "TRBI" u8 version, 3 zero bytes                      (8 bytes header)
 *   symbols    zstd frame: uvarint count, count x (uvarint len, bytes);
 *              every label name and value once, sorted bytewise. A
 *              "symbol ref" is the position in this table.
 *   series     series pages, each a zstd frame holding series_per_page
 *              consecutive series (the last may hold fewer). Series are
 *              numbered from 0 in label order ("ordinals"). A page starts
 *              with uvarint logical offset of its first value column
 *              (the others follow back to back), then per series:
 *                uvarint nlabels, nlabels x (uvarint name ref, value ref)
 *                uvarint n samples (>= 1)
 *                uvarint t[0] - block mint, uvarint t[n-1] - t[0]
 *                uvarint time column logical offset, uvarint its length
 *                uvarint value column length (>= 1)
 *   postings   raw (not compressed, fetched per list): for every label
 *              pair in label-table order, the ascending ordinals of the
 *              series carrying it: uvarint first, then uvarint gaps (> 0),
 *              then u32 low half of XXH3-64 of those varint bytes.
 *   labels     zstd frame: uvarint nnames, then per name (sorted):
 *                uvarint name ref, uvarint nvalues, per value (sorted):
 *                  uvarint value ref, uvarint postings bytes (checksum
 *                  included), uvarint count
 *              Postings offsets are the running sum of the byte lengths.
 *   pages      zstd frame: uvarint nseries, uvarint series_per_page,
 *              uvarint number of series pages, per page uvarint bytes;
 *              uvarint number of chunk pages, per page (in object order)
 *              u8 stream (0 time, 1 value), uvarint compressed bytes,
 *              uvarint uncompressed bytes. Object offsets are running
 *              sums of compressed sizes, logical offsets running sums of
 *              the uncompressed sizes of the same stream.
 *   toc        "TRBT" u32 version, 5 x (u64 offset, u64 length) of
 *              symbols, series, postings, labels, pages; u64
 *              XXH64(seed 0) of the 88 bytes before it. 96 bytes.
 */
#ifndef TR_TSDB_BLOCK_FORMAT_H
#define TR_TSDB_BLOCK_FORMAT_H

#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;
struct tr_block_meta;

#define TR_BLOCK_INDEX_MAGIC "TRBI"
#define TR_BLOCK_TOC_MAGIC "TRBT"
#define TR_BLOCK_INDEX_HEADER_SIZE 8
#define TR_BLOCK_TOC_SIZE 96

enum {
    TR_BLOCK_SEC_SYMBOLS = 0,
    TR_BLOCK_SEC_SERIES,
    TR_BLOCK_SEC_POSTINGS,
    TR_BLOCK_SEC_LABELS,
    TR_BLOCK_SEC_PAGES,
    TR_BLOCK_SEC_COUNT,
};

/* Largest uncompressed page or section a reader accepts (a corrupt size
 * field must not make it allocate gigabytes). */
#define TR_BLOCK_MAX_DECODED (UINT64_C(1) << 30)

#define TR_BLOCK_FILE_INDEX "index"
#define TR_BLOCK_FILE_CHUNKS "chunks"
#define TR_BLOCK_FILE_META "meta.json"

struct tr_block_toc {
    uint64_t off[TR_BLOCK_SEC_COUNT];
    uint64_t len[TR_BLOCK_SEC_COUNT];
};

/* Appends the 96-byte TOC. TR_OK or TR_ENOMEM. */
int tr_block_toc_encode(const struct tr_block_toc *toc, struct tr_buf *out);

/* Parses a TOC of exactly TR_BLOCK_TOC_SIZE bytes and checks that every
 * section lies inside [8, index_size - 96]. TR_OK or TR_EINVAL. */
int tr_block_toc_decode(const void *data, uint64_t index_size,
                        struct tr_block_toc *toc, struct tr_err *err);

/* Appends meta as compact JSON (fixed key order). TR_OK or TR_ENOMEM. */
int tr_block_meta_encode(const struct tr_block_meta *meta, struct tr_buf *out);

/* Parses meta.json. TR_OK or TR_EINVAL naming the bad field. */
int tr_block_meta_decode(const void *data, size_t len,
                         struct tr_block_meta *out, struct tr_err *err);

/* Checks a tenant id: 1..TR_BLOCK_TENANT_MAX bytes, one key segment.
 * TR_OK or TR_EINVAL. */
int tr_block_tenant_check(const char *tenant, struct tr_err *err);

/* True when id has the block id shape (26 Crockford base32 chars). */
int tr_block_id_valid(const char *id, size_t len);

/* Writes the id for a block starting at mint with content hash bits
 * (80 used) into out (TR_BLOCK_ID_LEN + 1 bytes). */
void tr_block_id_format(int64_t mint, uint64_t hash_hi, uint64_t hash_lo,
                        char *out);

/* Streams of the chunks object. */
enum {
    TR_BLOCK_STREAM_TIME = 0,
    TR_BLOCK_STREAM_VALUE = 1,
};

/* Value column modes. */
#define TR_BLOCK_DECIMAL_MAX 15
#define TR_BLOCK_MODE_STEADY 0x40 /* | d; format version 3 */
#define TR_BLOCK_MODE_XOR 0x80

/* Bytes of the checksum closing every postings list. */
#define TR_BLOCK_POSTINGS_SUM 4

/* The checksum of a postings list's varint bytes. */
uint32_t tr_block_postings_sum(const void *data, size_t len);

/*
 * Appends the time column of t[0..n) (n >= 1, strictly increasing) to
 * out. TR_OK or TR_ENOMEM.
 */
int tr_block_times_encode(const int64_t *t, size_t n, struct tr_buf *out);

/*
 * Decodes a time column of exactly len bytes holding n timestamps from t0
 * into out[0..n). TR_OK, or TR_EINVAL when the bytes do not decode to n
 * strictly increasing timestamps ending at tlast using every byte.
 */
int tr_block_times_decode(const unsigned char *p, size_t len, int64_t t0,
                          int64_t tlast, size_t n, int64_t *out);

/*
 * Appends the value column of v[0..n) (n >= 1) to out; scratch has room
 * for 3n entries. TR_OK or TR_ENOMEM.
 */
int tr_block_values_encode(const double *v, size_t n, int64_t *scratch,
                           struct tr_buf *out);

/*
 * Decodes values lo..hi-1 (lo <= hi <= n) of a value column of exactly
 * len bytes holding n values into out[0..hi-lo). Bytes past value hi-1
 * are not read unless hi == n, when the column must end exactly there.
 * TR_OK or TR_EINVAL.
 */
int tr_block_values_decode(const unsigned char *p, size_t len, size_t n,
                           size_t lo, size_t hi, double *out);

/* Zigzag helpers for signed varints. */
static inline uint64_t
tr_block_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
tr_block_unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

#endif
