/*
 * Body codecs for HTTP request bodies: gzip, deflate (zlib) and snappy
 * (the raw/block format, not the framed one).
 *
 * Every decoder takes a limit on the decoded size and enforces it before
 * allocating: snappy checks the length in its header, gzip and deflate
 * grow their output in steps and stop as soon as the limit would be
 * passed. So a decompression bomb costs at most `max_out` bytes of memory.
 *
 * Decoders append to out (a struct tr_buf owned by the caller; on error
 * out may hold a partial result, which the caller discards). Errors:
 * TR_ELIMIT when the decoded data would exceed max_out (map to 413),
 * TR_EINVAL for corrupt input (map to 400), TR_ENOMEM.
 */
#ifndef TR_HTTP_ENCODING_H
#define TR_HTTP_ENCODING_H

#include <stddef.h>

struct tr_buf;
struct tr_err;

/*
 * Decodes a gzip stream (RFC 1952; concatenated members are decoded one
 * after another, as Go and curl do).
 */
int tr_http_decode_gzip(const void *in, size_t len, size_t max_out,
                        struct tr_buf *out, struct tr_err *err);

/*
 * Decodes Content-Encoding: deflate, which HTTP defines as the zlib format
 * (RFC 1950); a raw deflate stream (RFC 1951), which some clients send
 * instead, is accepted too.
 */
int tr_http_decode_deflate(const void *in, size_t len, size_t max_out,
                           struct tr_buf *out, struct tr_err *err);

/*
 * Decodes snappy block format (varint decoded length, then elements), the
 * format of Prometheus remote write and Loki protobuf push. The length in
 * the header is checked against max_out before anything is allocated.
 */
int tr_http_decode_snappy(const void *in, size_t len, size_t max_out,
                          struct tr_buf *out, struct tr_err *err);

/* Appends in compressed with snappy block format to out. TR_OK/TR_ENOMEM. */
int tr_http_encode_snappy(const void *in, size_t len, struct tr_buf *out,
                          struct tr_err *err);

/*
 * Decodes according to a Content-Encoding value: "gzip" (or "x-gzip"),
 * "deflate", "snappy", and "identity" or NULL/"" (copied as is, still
 * subject to max_out). Matching ignores case. An unknown encoding fails
 * with TR_ENOTFOUND and the message
 * "cannot decode body: unsupported Content-Encoding \"<name>\"" (map to
 * 415).
 */
int tr_http_decode(const char *encoding, const void *in, size_t len,
                   size_t max_out, struct tr_buf *out, struct tr_err *err);

#endif
