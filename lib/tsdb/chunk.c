#include "tsdb/chunk.h"

#include <string.h>

#include "base/err.h"
#include "base/mem.h"

#define HEADER_BITS 16
/* Largest sample: '1111' + 64 dod bits, '11' + 5 + 6 + 64 value bits. */
#define MAX_SAMPLE_BYTES 19
/* First sample: a 10-byte varint and 8 bytes of value. */
#define MAX_FIRST_BYTES 18
#define NO_WINDOW 0xff

/* dod buckets: prefix value, prefix bits, payload bits. '0' is dod == 0. */
static const struct {
    uint8_t prefix;
    uint8_t prefix_bits;
    uint8_t bits;
} buckets[] = {
    {0x2, 2, 8},  /* '10'   */
    {0x6, 3, 14}, /* '110'  */
    {0xe, 4, 20}, /* '1110' */
    {0xf, 4, 64}, /* '1111' */
};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static uint64_t
double_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double
bits_double(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

double
tr_stale_nan(void)
{
    return bits_double(TR_STALE_NAN_BITS);
}

bool
tr_is_stale_nan(double v)
{
    return double_bits(v) == TR_STALE_NAN_BITS;
}

/* True when the signed value d fits in n bits of two's complement. */
static bool
fits_bits(int64_t d, unsigned n)
{
    if (n >= 64) {
        return true;
    }
    int64_t lim = INT64_C(1) << (n - 1);
    return d >= -lim && d < lim;
}

static uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* ==== writing ========================================================== */

void
tr_chunk_init(struct tr_chunk *c)
{
    memset(c, 0, sizeof(*c));
    c->lead = NO_WINDOW;
}

void
tr_chunk_fini(struct tr_chunk *c)
{
    tr_free(c->data);
    tr_chunk_init(c);
}

/* Ensures room for `extra` more bytes beyond the bits used; new bytes zero. */
static int
reserve(struct tr_chunk *c, size_t extra)
{
    size_t used = (c->nbits + 7) / 8;
    if (used + extra <= c->cap) {
        return TR_OK;
    }
    /* Grow by half: a full 120-sample chunk wastes little. */
    size_t cap = c->cap == 0 ? 32 : c->cap + c->cap / 2;
    if (cap < used + extra) {
        cap = used + extra;
    }
    unsigned char *data = tr_realloc(c->data, cap);
    if (data == NULL) {
        return TR_ENOMEM;
    }
    memset(data + c->cap, 0, cap - c->cap);
    c->data = data;
    c->cap = (uint32_t)cap;
    return TR_OK;
}

/* Writes the low n bits of v (n <= 64), most significant first. */
static void
put_bits(struct tr_chunk *c, uint64_t v, unsigned n)
{
    while (n > 0) {
        unsigned used = c->nbits & 7;
        unsigned room = 8 - used;
        unsigned take = n < room ? n : room;
        unsigned bits = (unsigned)(v >> (n - take)) & ((1u << take) - 1);
        c->data[c->nbits >> 3] |= (unsigned char)(bits << (room - take));
        c->nbits += take;
        n -= take;
    }
}

static void
put_varint(struct tr_chunk *c, uint64_t v)
{
    while (v >= 0x80) {
        put_bits(c, (v & 0x7f) | 0x80, 8);
        v >>= 7;
    }
    put_bits(c, v, 8);
}

static void
put_value(struct tr_chunk *c, uint64_t v)
{
    uint64_t x = v ^ c->v_last;
    if (x == 0) {
        put_bits(c, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x);
    unsigned trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31) {
        lead = 31; /* 5 bits */
    }
    if (c->lead != NO_WINDOW && lead >= c->lead && trail >= c->trail) {
        unsigned m = 64 - c->lead - c->trail;
        put_bits(c, 0x2, 2);
        put_bits(c, x >> c->trail, m);
        return;
    }
    unsigned m = 64 - lead - trail;
    put_bits(c, 0x3, 2);
    put_bits(c, lead, 5);
    put_bits(c, m & 63, 6); /* 64 is written as 0 */
    put_bits(c, x >> trail, m);
    c->lead = (uint8_t)lead;
    c->trail = (uint8_t)trail;
}

static void
write_count(struct tr_chunk *c)
{
    c->data[0] = (unsigned char)(c->count >> 8);
    c->data[1] = (unsigned char)c->count;
}

int
tr_chunk_append(struct tr_chunk *c, int64_t t, double v, struct tr_err *err)
{
    uint64_t vb = double_bits(v);
    if (c->count == TR_CHUNK_MAX_SAMPLES) {
        return tr_err_set(err, TR_ELIMIT,
                          "cannot append to chunk: it is full (%d samples)",
                          TR_CHUNK_MAX_SAMPLES);
    }
    if (c->count > 0 && t <= c->t_last) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot append to chunk: timestamp %lld is not "
                          "after the last one (%lld)",
                          (long long)t, (long long)c->t_last);
    }
    if (c->count == 0) {
        if (reserve(c, 2 + MAX_FIRST_BYTES) != TR_OK) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot append to chunk: out of memory");
        }
        c->nbits = HEADER_BITS;
        put_varint(c, zigzag(t));
        put_bits(c, vb, 64);
        c->t_first = t;
    } else {
        if (reserve(c, MAX_SAMPLE_BYTES) != TR_OK) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot append to chunk: out of memory");
        }
        /* Unsigned arithmetic: gaps up to 2^64 - 1 are exact. */
        uint64_t delta = (uint64_t)t - (uint64_t)c->t_last;
        if (c->count == 1) {
            put_varint(c, delta);
        } else {
            int64_t dod = (int64_t)(delta - c->delta);
            if (dod == 0) {
                put_bits(c, 0, 1);
            } else {
                for (size_t i = 0; i < NBUCKETS; i++) {
                    if (fits_bits(dod, buckets[i].bits)) {
                        put_bits(c, buckets[i].prefix, buckets[i].prefix_bits);
                        put_bits(c, (uint64_t)dod, buckets[i].bits);
                        break;
                    }
                }
            }
        }
        put_value(c, vb);
        c->delta = delta;
    }
    c->t_last = t;
    c->v_last = vb;
    c->count++;
    write_count(c);
    return TR_OK;
}

size_t
tr_chunk_count(const struct tr_chunk *c)
{
    return c->count;
}

int64_t
tr_chunk_min_time(const struct tr_chunk *c)
{
    return c->t_first;
}

int64_t
tr_chunk_max_time(const struct tr_chunk *c)
{
    return c->t_last;
}

double
tr_chunk_last_value(const struct tr_chunk *c)
{
    return bits_double(c->v_last);
}

const unsigned char *
tr_chunk_bytes(const struct tr_chunk *c, size_t *len)
{
    static const unsigned char empty[2] = {0, 0};
    if (c->count == 0) {
        *len = sizeof(empty);
        return empty;
    }
    *len = (c->nbits + 7) / 8;
    return c->data;
}

size_t
tr_chunk_size(const struct tr_chunk *c)
{
    return c->count == 0 ? 2 : (c->nbits + 7) / 8;
}

size_t
tr_chunk_memory(const struct tr_chunk *c)
{
    return c->cap;
}

void
tr_chunk_trim(struct tr_chunk *c)
{
    size_t used = (c->nbits + 7) / 8;
    if (c->data == NULL || used == c->cap) {
        return;
    }
    unsigned char *data = tr_realloc(c->data, used);
    if (data != NULL) { /* keeping the larger block is fine */
        c->data = data;
        c->cap = (uint32_t)used;
    }
}

unsigned char *
tr_chunk_detach(struct tr_chunk *c, size_t *len)
{
    if (c->count == 0) {
        *len = 0;
        tr_chunk_fini(c);
        return NULL;
    }
    tr_chunk_trim(c);
    unsigned char *data = c->data;
    *len = (c->nbits + 7) / 8;
    tr_chunk_init(c);
    return data;
}

/* ==== reading ========================================================== */

static int
corrupt(struct tr_err *err, const struct tr_chunk_iter *it, const char *what)
{
    return tr_err_set(err, TR_EINVAL, "cannot decode chunk: %s at sample %u",
                      what, (unsigned)it->index);
}

/* Reads n bits (n <= 64) into *out; false when the bytes run out. */
static bool
get_bits(struct tr_chunk_iter *it, unsigned n, uint64_t *out)
{
    if (it->bitpos + n > (uint64_t)it->len * 8) {
        return false;
    }
    size_t at = (size_t)(it->bitpos >> 3);
    unsigned skip = (unsigned)(it->bitpos & 7);
    if (n > 0 && n + skip <= 64 && at + 8 <= it->len) {
        /* Fast path: the bits lie in the 8 bytes from here, read as one
         * big-endian word. */
        uint64_t w;
        memcpy(&w, it->data + at, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        *out = (w << skip) >> (64 - n);
        it->bitpos += n;
        return true;
    }
    uint64_t v = 0;
    while (n > 0) {
        unsigned used = (unsigned)(it->bitpos & 7);
        unsigned room = 8 - used;
        unsigned take = n < room ? n : room;
        unsigned byte = it->data[it->bitpos >> 3];
        unsigned bits = (byte >> (room - take)) & ((1u << take) - 1);
        v = take == 64 ? bits : (v << take) | bits;
        it->bitpos += take;
        n -= take;
    }
    *out = v;
    return true;
}

/*
 * The next 64 bits from the read position, left-aligned, without moving
 * it; false when fewer than 9 bytes are left (the callers then read bit
 * field by bit field). Lets a sample's fields be taken from one word.
 */
static bool
peek64(const struct tr_chunk_iter *it, uint64_t *out)
{
    size_t at = (size_t)(it->bitpos >> 3);
    unsigned skip = (unsigned)(it->bitpos & 7);
    if (at + 9 > it->len) {
        return false;
    }
    uint64_t w;
    memcpy(&w, it->data + at, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    if (skip != 0) {
        w = w << skip | (uint64_t)it->data[at + 8] >> (8 - skip);
    }
    *out = w;
    return true;
}

static bool
get_varint(struct tr_chunk_iter *it, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint64_t b;
        if (!get_bits(it, 8, &b) || (i == 9 && b > 1)) {
            return false;
        }
        v |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return true;
        }
    }
    return false;
}

int
tr_chunk_iter_init(struct tr_chunk_iter *it, const void *data, size_t len,
                   struct tr_err *err)
{
    memset(it, 0, sizeof(*it));
    if (len < 2) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode chunk: %zu bytes is too short", len);
    }
    it->data = data;
    it->len = len;
    it->remaining = (uint32_t)it->data[0] << 8 | it->data[1];
    it->bitpos = HEADER_BITS;
    it->lead = NO_WINDOW;
    return TR_OK;
}

static bool
get_value(struct tr_chunk_iter *it)
{
    uint64_t ctl, lead, m, x, w;
    if (peek64(it, &w)) {
        /* Fast path: control bits, window and value bits in one word. */
        if (w >> 63 == 0) {
            it->bitpos += 1;
            return true; /* same value */
        }
        unsigned used;
        if ((w >> 62 & 1) == 0) {
            if (it->lead == NO_WINDOW) {
                return false; /* '10' needs an earlier window */
            }
            used = 2;
        } else {
            lead = w >> 57 & 0x1f;
            m = w >> 51 & 0x3f;
            if (m == 0) {
                m = 64;
            }
            if (lead + m > 64) {
                return false;
            }
            it->lead = (uint8_t)lead;
            it->trail = (uint8_t)(64 - lead - m);
            used = 13;
        }
        m = 64 - it->lead - it->trail;
        if (used + m <= 64) {
            x = (w << used) >> (64 - m);
            it->bitpos += used + m;
            it->v ^= x << it->trail;
            return true;
        }
        it->bitpos += used; /* the value bits: below, field by field */
        if (!get_bits(it, (unsigned)m, &x)) {
            return false;
        }
        it->v ^= x << it->trail;
        return true;
    }
    if (!get_bits(it, 1, &ctl)) {
        return false;
    }
    if (ctl == 0) {
        return true; /* same value */
    }
    if (!get_bits(it, 1, &ctl)) {
        return false;
    }
    if (ctl == 1) {
        if (!get_bits(it, 5, &lead) || !get_bits(it, 6, &m)) {
            return false;
        }
        if (m == 0) {
            m = 64;
        }
        if (lead + m > 64) {
            return false;
        }
        it->lead = (uint8_t)lead;
        it->trail = (uint8_t)(64 - lead - m);
    } else if (it->lead == NO_WINDOW) {
        return false; /* '10' needs an earlier window */
    }
    m = 64 - it->lead - it->trail;
    if (!get_bits(it, (unsigned)m, &x)) {
        return false;
    }
    it->v ^= x << it->trail;
    return true;
}

int
tr_chunk_iter_next(struct tr_chunk_iter *it, int64_t *t, double *v,
                   struct tr_err *err)
{
    if (it->remaining == 0) {
        return 0;
    }
    if (it->index == 0) {
        uint64_t zt;
        if (!get_varint(it, &zt) || !get_bits(it, 64, &it->v)) {
            return corrupt(err, it, "truncated first sample");
        }
        it->t = unzigzag(zt);
    } else {
        uint64_t delta;
        if (it->index == 1) {
            if (!get_varint(it, &delta)) {
                return corrupt(err, it, "truncated timestamp");
            }
        } else {
            uint64_t bit, w;
            unsigned prefix_bits = 0;
            unsigned prefix = 0;
            int64_t dod = 0;
            /* Fast path: prefix and delta of delta from one word. */
            if (peek64(it, &w) && (w >> 60) != 0xf) {
                unsigned used = 1, n = 0;
                if (w >> 63 != 0) {
                    used = (w >> 62 & 1) == 0 ? 2 : (w >> 61 & 1) == 0 ? 3 : 4;
                    n = used == 2 ? 8 : used == 3 ? 14 : 20;
                    uint64_t raw = (w << used) >> (64 - n);
                    if ((raw >> (n - 1)) & 1) {
                        raw |= ~UINT64_C(0) << n; /* sign-extend */
                    }
                    dod = (int64_t)raw;
                }
                it->bitpos += used + n;
                prefix_bits = 4; /* done: skip the loop below */
            }
            /* Read up to 4 prefix bits, stopping at the first 0. */
            for (; prefix_bits < 4;) {
                if (!get_bits(it, 1, &bit)) {
                    return corrupt(err, it, "truncated timestamp");
                }
                prefix = prefix << 1 | (unsigned)bit;
                prefix_bits++;
                if (bit == 0 || prefix_bits == 4) {
                    break;
                }
            }
            if (prefix != 0) {
                size_t i = 0;
                while (buckets[i].prefix != prefix ||
                       buckets[i].prefix_bits != prefix_bits) {
                    i++;
                }
                unsigned n = buckets[i].bits;
                uint64_t raw;
                if (!get_bits(it, n, &raw)) {
                    return corrupt(err, it, "truncated timestamp");
                }
                /* Sign-extend from n bits. */
                if (n < 64 && (raw >> (n - 1)) & 1) {
                    raw |= ~UINT64_C(0) << n;
                }
                dod = (int64_t)raw;
            }
            delta = it->delta + (uint64_t)dod;
        }
        uint64_t next = (uint64_t)it->t + delta;
        /* Strictly increasing: a delta of 0 or one that wraps is corrupt. */
        if (delta == 0 || (int64_t)next <= it->t) {
            return corrupt(err, it, "timestamp not increasing");
        }
        if (!get_value(it)) {
            return corrupt(err, it, "bad value encoding");
        }
        it->t = (int64_t)next;
        it->delta = delta;
    }
    it->remaining--;
    it->index++;
    it->has_sample = true;
    *t = it->t;
    *v = bits_double(it->v);
    return 1;
}

int
tr_chunk_iter_seek(struct tr_chunk_iter *it, int64_t target, int64_t *t,
                   double *v, struct tr_err *err)
{
    if (it->has_sample && it->t >= target) {
        *t = it->t;
        *v = bits_double(it->v);
        return 1;
    }
    int rc;
    while ((rc = tr_chunk_iter_next(it, t, v, err)) > 0) {
        if (*t >= target) {
            return 1;
        }
    }
    return rc;
}

int
tr_chunk_decode(struct tr_chunk *c, const void *data, size_t len,
                struct tr_err *err)
{
    struct tr_chunk_iter it;
    int64_t t;
    double v;
    int rc = tr_chunk_iter_init(&it, data, len, err);
    if (rc != TR_OK) {
        return rc;
    }
    int64_t t_first = 0;
    while ((rc = tr_chunk_iter_next(&it, &t, &v, err)) > 0) {
        if (it.index == 1) {
            t_first = t;
        }
    }
    if (rc < 0) {
        return rc;
    }
    size_t used = it.index == 0 ? 2 : (size_t)((it.bitpos + 7) / 8);
    if (used != len) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode chunk: %zu trailing bytes",
                          len - used);
    }
    tr_chunk_fini(c);
    if (it.index == 0) {
        return TR_OK;
    }
    if (reserve(c, len + MAX_SAMPLE_BYTES) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot decode chunk: out of memory");
    }
    memcpy(c->data, data, len);
    /* Padding bits past the stream must be zero for later appends. */
    if (it.bitpos & 7) {
        c->data[len - 1] &= (unsigned char)(0xff << (8 - (it.bitpos & 7)));
    }
    c->nbits = (uint32_t)it.bitpos;
    c->t_first = t_first;
    c->t_last = it.t;
    c->delta = it.delta;
    c->v_last = it.v;
    c->count = (uint16_t)it.index;
    c->lead = it.lead;
    c->trail = it.trail;
    return TR_OK;
}
