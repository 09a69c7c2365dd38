/*
 * Byte layout of metrics blocks (private to block_*.c). FROZEN for format
 * version 1: change it only with a new TR_BLOCK_FORMAT_VERSION.
 *
 * uvarint = unsigned LEB128 (tsdb/varint.h). "zstd frame" = one complete
 * zstd frame with its content size and content checksum, so corruption is
 * detected when it is decoded. Integers in the TOC are little-endian.
 *
 * chunks object
 *   The "chunk stream" is every chunk's bytes (tsdb/chunk.h XOR encoding)
 *   back to back: series in label order, each series' chunks in time
 *   order. Positions in it are "logical offsets". The stream is cut into
 *   pages at series boundaries once a page reaches chunk_page_size bytes
 *   (so a page may exceed it by one series); each page is one zstd frame
 *   and the object is the frames back to back.
 *
 * index object
 *   "TRBI" u8 version, 3 zero bytes                      (8 bytes header)
 *   symbols    zstd frame: uvarint count, count x (uvarint len, bytes);
 *              every label name and value once, sorted bytewise. A
 *              "symbol ref" is the position in this table.
 *   series     series pages, each a zstd frame holding series_per_page
 *              consecutive series (the last may hold fewer). Series are
 *              numbered from 0 in label order ("ordinals"). Per series:
 *                uvarint nlabels, nlabels x (uvarint name ref, value ref)
 *                uvarint logical offset of its first chunk
 *                uvarint nchunks, then per chunk:
 *                  uvarint byte length
 *                  uvarint mint - previous bound (block mint for the
 *                          first chunk, the previous chunk's maxt + 1
 *                          after that; chunks never overlap)
 *                  uvarint maxt - mint
 *   postings   raw (not compressed, fetched per list): for every label
 *              pair in label-table order, the ascending ordinals of the
 *              series carrying it: uvarint first, then uvarint gaps (> 0).
 *   labels     zstd frame: uvarint nnames, then per name (sorted):
 *                uvarint name ref, uvarint nvalues, per value (sorted):
 *                  uvarint value ref, uvarint postings bytes, uvarint count
 *              Postings offsets are the running sum of the byte lengths.
 *   pages      zstd frame: uvarint nseries, uvarint series_per_page,
 *              uvarint number of series pages, per page uvarint bytes;
 *              uvarint number of chunk pages, per page uvarint compressed
 *              bytes, uvarint uncompressed bytes. Offsets are running sums
 *              from the start of the series section / chunks object.
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
