/*
 * Gorilla-style compressed chunks of (int64 ms timestamp, double value)
 * samples, after Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time
 * Series Database" (VLDB 2015), with buckets sized for millisecond
 * timestamps.
 *
 * Byte format (TR_CHUNK_ENCODING_XOR; FROZEN once blocks are written): a
 * 2-byte big-endian sample count, then a bit stream written most
 * significant bit first and padded with zero bits to a whole byte:
 *
 *   sample 0:  zigzag varint of t0 (8 bits per varint byte), 64 raw bits of v0
 *   sample 1:  varint of delta1 = t1 - t0 (> 0), then value (below)
 *   sample n:  dod = delta_n - delta_{n-1} (two's complement, mod 2^64):
 *                 '0'                 dod == 0
 *                 '10'   + 8 bits     -128 <= dod < 128
 *                 '110'  + 14 bits    -8192 <= dod < 8192
 *                 '1110' + 20 bits    -524288 <= dod < 524288
 *                 '1111' + 64 bits    anything else
 *              then value (below)
 *   value:  x = bits(v) XOR bits(previous v)
 *                 '0'                 x == 0
 *                 '10' + m bits       x fits the previous window (its leading
 *                                     and trailing zero counts are >= the
 *                                     window's); m = 64 - lead - trail of
 *                                     the window
 *                 '11' + 5 bits lead (capped at 31) + 6 bits m (0 means 64)
 *                      + m bits       new window
 *
 * Values are compared and XORed as raw bit patterns, so every NaN payload
 * (including the Prometheus stale marker 0x7ff0000000000002), -0.0 and
 * +-Inf round-trip bit-exactly. The encoding is a pure function of the
 * samples: the same samples always give the same bytes.
 *
 * Timestamps must strictly increase (the head rejects out-of-order and
 * duplicate samples before they get here). Any int64 is allowed, negative
 * ones and gaps as large as INT64_MAX - INT64_MIN included.
 *
 * A struct tr_chunk is not thread-safe; the head guards each series' chunks.
 */
#ifndef TR_TSDB_CHUNK_H
#define TR_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_err;

/* Encoding id for persistence formats that store several encodings. */
#define TR_CHUNK_ENCODING_XOR 1
/* A chunk holds at most this many samples (the header count is 16 bits). */
#define TR_CHUNK_MAX_SAMPLES 65535
/* Samples per chunk the head cuts at unless configured otherwise. */
#define TR_CHUNK_DEFAULT_SAMPLES 120

/* Prometheus' staleness marker: a NaN with this exact bit pattern. */
#define TR_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* The stale marker as a double. */
double tr_stale_nan(void);
/* True when v has the stale marker's bit pattern (not for any NaN). */
bool tr_is_stale_nan(double v);

/*
 * An appendable chunk in caller storage. Fields are private (exposed so
 * that a series can embed its open chunk without another allocation).
 */
struct tr_chunk {
    unsigned char *data; /* tr_malloc'd; bytes past nbits are zero */
    uint32_t cap;        /* bytes allocated */
    uint32_t nbits;      /* bits used, header included */
    int64_t t_first;
    int64_t t_last;
    uint64_t delta;  /* t_last - previous t, as uint64 */
    uint64_t v_last; /* bit pattern */
    uint16_t count;
    uint8_t lead; /* value window; lead == 0xff: no window yet */
    uint8_t trail;
};

/* Makes c an empty chunk; allocates nothing yet. */
void tr_chunk_init(struct tr_chunk *c);
/* Frees c's bytes; c is empty afterwards. */
void tr_chunk_fini(struct tr_chunk *c);

/*
 * Appends a sample. t must be greater than the last timestamp. Returns
 * TR_OK; TR_EINVAL when t <= the last timestamp; TR_ELIMIT when the chunk
 * already holds TR_CHUNK_MAX_SAMPLES; TR_ENOMEM (the chunk is unchanged on
 * any error).
 */
int tr_chunk_append(struct tr_chunk *c, int64_t t, double v,
                    struct tr_err *err);

/* Samples in the chunk. */
size_t tr_chunk_count(const struct tr_chunk *c);
/* First and last timestamp; meaningless when the chunk is empty. */
int64_t tr_chunk_min_time(const struct tr_chunk *c);
int64_t tr_chunk_max_time(const struct tr_chunk *c);
/* Last value appended; meaningless when empty. */
double tr_chunk_last_value(const struct tr_chunk *c);

/*
 * The encoded bytes (borrowed; valid until the next append or fini) and
 * their number, which is also what tr_chunk_size returns. An empty chunk
 * has 2 bytes (a zero count).
 */
const unsigned char *tr_chunk_bytes(const struct tr_chunk *c, size_t *len);
size_t tr_chunk_size(const struct tr_chunk *c);
/* Bytes allocated (for memory accounting). */
size_t tr_chunk_memory(const struct tr_chunk *c);

/* Shrinks the allocation to the encoded size (for chunks that are full). */
void tr_chunk_trim(struct tr_chunk *c);

/*
 * Hands the encoded bytes to the caller (trimmed to their size; caller
 * frees with tr_free) and leaves c empty. Returns NULL with *len 0 for an
 * empty chunk.
 */
unsigned char *tr_chunk_detach(struct tr_chunk *c, size_t *len);

/*
 * Rebuilds an appendable chunk from encoded bytes (borrowed and copied),
 * decoding every sample to validate them and to restore the encoder state,
 * so appending to the result gives the bytes a never-persisted chunk would
 * have. c must be initialised and empty. TR_OK, TR_EINVAL ("cannot decode
 * chunk: ...": truncated, trailing bytes, timestamps not increasing) or
 * TR_ENOMEM.
 */
int tr_chunk_decode(struct tr_chunk *c, const void *data, size_t len,
                    struct tr_err *err);

/*
 * Forward iteration over encoded bytes (from tr_chunk_bytes or storage),
 * which are borrowed and must not change while the iterator is in use.
 * Fields are private.
 *
 *   struct tr_chunk_iter it;
 *   if (tr_chunk_iter_init(&it, data, len, err) != TR_OK) ...
 *   while ((rc = tr_chunk_iter_next(&it, &t, &v, err)) > 0) ...
 *   if (rc < 0) ... corrupt chunk
 */
struct tr_chunk_iter {
    const unsigned char *data;
    size_t len;
    uint64_t bitpos;
    uint32_t remaining; /* samples not yet returned */
    uint32_t index;     /* samples returned so far */
    int64_t t;
    uint64_t delta;
    uint64_t v;
    uint8_t lead;
    uint8_t trail;
    bool has_sample; /* t and v hold the last sample returned */
};

/* Starts at the first sample. TR_OK or TR_EINVAL when len < 2. */
int tr_chunk_iter_init(struct tr_chunk_iter *it, const void *data,
                       size_t len, struct tr_err *err);

/*
 * Moves to the next sample: 1 and the sample in *t and *v, 0 at the end,
 * TR_EINVAL when the bytes are corrupt ("cannot decode chunk: ...").
 */
int tr_chunk_iter_next(struct tr_chunk_iter *it, int64_t *t, double *v,
                       struct tr_err *err);

/*
 * Moves to the first sample with timestamp >= target, at or after the
 * current one (it never goes back): 1 and the sample, 0 when there is
 * none, TR_EINVAL when corrupt. After a seek, next returns the sample after
 * the one returned.
 */
int tr_chunk_iter_seek(struct tr_chunk_iter *it, int64_t target, int64_t *t,
                       double *v, struct tr_err *err);

#endif
