#include "otlp/response.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "json/writer.h"

/*
 * All three responses have the same shape (partial_success = 1 holding an
 * int64 = 1 and a string = 2), so one protobuf writer serves them; the
 * generated structs are used for the metrics response only as a check in
 * the tests.
 */
static int
put_varint(struct tr_buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;

    do {
        tmp[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    return tr_buf_append(b, tmp, n);
}

static size_t
varint_size(uint64_t v)
{
    size_t n = 1;

    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

static int
encode_protobuf(int64_t rejected, const char *message, struct tr_buf *out)
{
    size_t mlen = message != NULL ? strlen(message) : 0;
    size_t inner = 0;
    int rc = TR_OK;

    if (rejected != 0) {
        inner += 1 + varint_size((uint64_t)rejected);
    }
    if (mlen > 0) {
        inner += 1 + varint_size(mlen) + mlen;
    }
    /* Field 1 (partial_success), wire type 2. */
    rc |= tr_buf_append_byte(out, 0x0a);
    rc |= put_varint(out, inner);
    if (rejected != 0) {
        rc |= tr_buf_append_byte(out, 0x08); /* field 1, varint */
        rc |= put_varint(out, (uint64_t)rejected);
    }
    if (mlen > 0) {
        rc |= tr_buf_append_byte(out, 0x12); /* field 2, length-delimited */
        rc |= put_varint(out, mlen);
        rc |= tr_buf_append(out, message, mlen);
    }
    return rc == TR_OK ? TR_OK : TR_ENOMEM;
}

static const char *
rejected_key(enum tr_otlp_signal signal)
{
    switch (signal) {
    case TR_OTLP_LOGS:
        return "rejectedLogRecords";
    case TR_OTLP_TRACES:
        return "rejectedSpans";
    default:
        return "rejectedDataPoints";
    }
}

int
tr_otlp_response_encode(enum tr_otlp_signal signal, enum tr_otlp_format fmt,
                        int64_t rejected, const char *message,
                        struct tr_buf *out, struct tr_err *err)
{
    bool partial = rejected != 0 || (message != NULL && message[0] != '\0');
    struct tr_json w;
    char num[32];

    if (fmt == TR_OTLP_PROTOBUF) {
        if (partial && encode_protobuf(rejected, message, out) != TR_OK) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot encode OTLP response: out of memory");
        }
        return TR_OK;
    }
    tr_json_init(&w, out);
    tr_json_object_begin(&w);
    if (partial) {
        tr_json_key(&w, "partialSuccess");
        tr_json_object_begin(&w);
        if (rejected != 0) {
            snprintf(num, sizeof(num), "%lld", (long long)rejected);
            tr_json_key(&w, rejected_key(signal));
            tr_json_string(&w, num);
        }
        if (message != NULL && message[0] != '\0') {
            tr_json_key(&w, "errorMessage");
            tr_json_string(&w, message);
        }
        tr_json_object_end(&w);
    }
    tr_json_object_end(&w);
    if (tr_json_finish(&w) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot encode OTLP response: out of memory");
    }
    return TR_OK;
}
