#include "http/encoding.h"

#include <snappy-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/err.h"

/* Output grows in steps of at most this much, so a bomb is noticed before
 * a large allocation. */
#define INFLATE_STEP (256 * 1024)

/*
 * Inflates with zlib window_bits (31: gzip, 15: zlib, -15: raw deflate).
 * For gzip, further members after the first are decoded too.
 */
static int
inflate_into(const void *in, size_t len, size_t max_out, struct tr_buf *out,
             int window_bits, const char *what, struct tr_err *err)
{
    z_stream zs = {0};
    if (inflateInit2(&zs, window_bits) != Z_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot decode %s body: %s", what,
                          "out of memory");
    }
    size_t start = out->len;
    const unsigned char *p = in;
    size_t left = len;
    int rc = TR_OK;
    for (;;) {
        size_t produced = out->len - start;
        /* Room for at most one byte past the limit, which detects the
         * overflow; grown a step at a time (tr_buf doubles, so memory stays
         * under about twice the limit). */
        if (out->cap - out->len <= 1) {
            size_t step = max_out + 1 - produced;
            if (step > INFLATE_STEP) {
                step = INFLATE_STEP;
            }
            if (tr_buf_reserve(out, step) != TR_OK) {
                rc = TR_ENOMEM;
                break;
            }
        }
        size_t room = out->cap - out->len - 1; /* keep the courtesy NUL */
        if (produced + room > max_out + 1) {
            room = max_out + 1 - produced;
        }
        /* zlib counts in uInt; feed at most 1 GiB per call. */
        uInt in_now = left > (1u << 30) ? (1u << 30) : (uInt)left;
        uInt out_now = room > (1u << 30) ? (1u << 30) : (uInt)room;
        zs.next_in = (Bytef *)p;
        zs.avail_in = in_now;
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = out_now;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        size_t used = in_now - zs.avail_in;
        p += used;
        left -= used;
        out->len += out_now - zs.avail_out;
        out->data[out->len] = '\0';
        if (out->len - start > max_out) {
            rc = TR_ELIMIT;
            break;
        }
        if (zrc == Z_STREAM_END) {
            /* Another gzip member may follow (magic 1f 8b). */
            if (window_bits > 16 && left >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            if (left > 0 && window_bits > 16) {
                rc = TR_EINVAL;
                tr_err_set(err, rc,
                           "cannot decode %s body: %zu bytes of "
                           "trailing garbage",
                           what, left);
                inflateEnd(&zs);
                return rc;
            }
            break;
        }
        if (zrc == Z_BUF_ERROR && left == 0 && zs.avail_out > 0) {
            rc = TR_EINVAL;
            tr_err_set(err, rc, "cannot decode %s body: truncated input", what);
            inflateEnd(&zs);
            return rc;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = zrc == Z_MEM_ERROR ? TR_ENOMEM : TR_EINVAL;
            tr_err_set(err, rc, "cannot decode %s body: %s", what,
                       zs.msg != NULL ? zs.msg : "corrupt data");
            inflateEnd(&zs);
            return rc;
        }
    }
    inflateEnd(&zs);
    if (rc == TR_ELIMIT) {
        return tr_err_set(err, rc,
                          "cannot decode %s body: decoded size exceeds the "
                          "limit of %zu bytes",
                          what, max_out);
    }
    if (rc == TR_ENOMEM) {
        return tr_err_set(err, rc, "cannot decode %s body: out of memory",
                          what);
    }
    return TR_OK;
}

int
tr_http_decode_gzip(const void *in, size_t len, size_t max_out,
                    struct tr_buf *out, struct tr_err *err)
{
    return inflate_into(in, len, max_out, out, 16 + MAX_WBITS, "gzip", err);
}

int
tr_http_decode_deflate(const void *in, size_t len, size_t max_out,
                       struct tr_buf *out, struct tr_err *err)
{
    /* A zlib stream starts with CMF/FLG whose 16-bit value is a multiple
     * of 31 and whose method is 8; anything else is taken as raw. */
    const unsigned char *p = in;
    bool zlib = len >= 2 && (p[0] & 0x0F) == 8 &&
                ((unsigned)p[0] << 8 | p[1]) % 31 == 0;
    return inflate_into(in, len, max_out, out, zlib ? MAX_WBITS : -MAX_WBITS,
                        "deflate", err);
}

int
tr_http_decode_snappy(const void *in, size_t len, size_t max_out,
                      struct tr_buf *out, struct tr_err *err)
{
    size_t n = 0;
    if (snappy_uncompressed_length(in, len, &n) != SNAPPY_OK) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode snappy body: corrupt header");
    }
    if (n > max_out) {
        return tr_err_set(err, TR_ELIMIT,
                          "cannot decode snappy body: decoded size %zu "
                          "exceeds the limit of %zu bytes",
                          n, max_out);
    }
    if (tr_buf_reserve(out, n) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot decode snappy body: out of memory");
    }
    size_t got = n;
    if (snappy_uncompress(in, len, out->data + out->len, &got) != SNAPPY_OK ||
        got != n) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode snappy body: corrupt data");
    }
    out->len += n;
    out->data[out->len] = '\0';
    return TR_OK;
}

int
tr_http_encode_snappy(const void *in, size_t len, struct tr_buf *out,
                      struct tr_err *err)
{
    size_t max = snappy_max_compressed_length(len);
    if (tr_buf_reserve(out, max) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot encode snappy: out of memory");
    }
    size_t got = max;
    if (snappy_compress(in, len, out->data + out->len, &got) != SNAPPY_OK) {
        return tr_err_set(err, TR_EINVAL, "cannot encode snappy: failed");
    }
    out->len += got;
    out->data[out->len] = '\0';
    return TR_OK;
}

int
tr_http_decode(const char *encoding, const void *in, size_t len, size_t max_out,
               struct tr_buf *out, struct tr_err *err)
{
    if (encoding == NULL || *encoding == '\0' ||
        strcasecmp(encoding, "identity") == 0) {
        if (len > max_out) {
            return tr_err_set(err, TR_ELIMIT,
                              "cannot read body: %zu bytes exceed the limit "
                              "of %zu bytes",
                              len, max_out);
        }
        if (tr_buf_append(out, in, len) != TR_OK) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot read body: out of memory");
        }
        return TR_OK;
    }
    if (strcasecmp(encoding, "gzip") == 0 ||
        strcasecmp(encoding, "x-gzip") == 0) {
        return tr_http_decode_gzip(in, len, max_out, out, err);
    }
    if (strcasecmp(encoding, "deflate") == 0) {
        return tr_http_decode_deflate(in, len, max_out, out, err);
    }
    if (strcasecmp(encoding, "snappy") == 0) {
        return tr_http_decode_snappy(in, len, max_out, out, err);
    }
    return tr_err_set(err, TR_ENOTFOUND,
                      "cannot decode body: unsupported Content-Encoding "
                      "\"%.100s\"",
                      encoding);
}
