/*
 * Unsigned LEB128 varints, private to lib/tsdb (labels encoding, chunk
 * headers). Seven bits per byte, least significant group first, high bit set
 * on every byte but the last; a uint64 takes at most 10 bytes.
 */
#ifndef TR_TSDB_VARINT_H
#define TR_TSDB_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define TR_VARINT_MAX 10

/* Writes v at p (room for TR_VARINT_MAX bytes); returns bytes written. */
static inline size_t
tr_varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Bytes tr_varint_put would write for v. */
static inline size_t
tr_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/*
 * Reads a varint from [p, end). Returns bytes consumed, or 0 when the input
 * is truncated or longer than 10 bytes / overflows 64 bits.
 */
static inline size_t
tr_varint_get(const unsigned char *p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < TR_VARINT_MAX && p + i < end; i++) {
        uint64_t b = p[i];
        if (i == TR_VARINT_MAX - 1 && b > 1) {
            return 0;
        }
        v |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

#endif
