#include "otlp/decode.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/err.h"

/* ---- content types ---------------------------------------------------- */

/* True when the media type in ct (up to ';' or blanks) equals want. */
static bool
media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);

    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    if (strncasecmp(ct, want, n) != 0) {
        return false;
    }
    ct += n;
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

int
tr_otlp_format_from_content_type(const char *content_type,
                                 enum tr_otlp_format *out, struct tr_err *err)
{
    if (content_type == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot accept OTLP request: no Content-Type "
                          "(want application/x-protobuf or application/json)");
    }
    if (media_type_is(content_type, "application/x-protobuf")) {
        *out = TR_OTLP_PROTOBUF;
        return TR_OK;
    }
    if (media_type_is(content_type, "application/json")) {
        *out = TR_OTLP_JSON;
        return TR_OK;
    }
    return tr_err_set(err, TR_EINVAL,
                      "cannot accept OTLP request: unsupported Content-Type "
                      "\"%.100s\" (want application/x-protobuf or "
                      "application/json)",
                      content_type);
}

const char *
tr_otlp_format_content_type(enum tr_otlp_format fmt)
{
    return fmt == TR_OTLP_JSON ? "application/json" : "application/x-protobuf";
}

/* ---- JSON decoding state ---------------------------------------------- */

#define PATH_MAX_LEN 240

struct jctx {
    struct tr_arena *arena;
    struct tr_err *err;
    char path[PATH_MAX_LEN + 8]; /* "resourceMetrics[0].scopeMetrics..." */
    size_t path_len;
};

/* Appends to the path; returns the previous length for path_pop. */
static size_t
path_push_key(struct jctx *c, const char *key)
{
    size_t old = c->path_len;
    size_t room = PATH_MAX_LEN - c->path_len;
    int n;

    if (c->path_len >= PATH_MAX_LEN) {
        return old;
    }
    n = snprintf(c->path + c->path_len, room + 1, "%s%s",
                 c->path_len > 0 ? "." : "", key);
    c->path_len += (n < 0 || (size_t)n > room) ? room : (size_t)n;
    return old;
}

static size_t
path_push_index(struct jctx *c, size_t i)
{
    size_t old = c->path_len;
    size_t room = PATH_MAX_LEN - c->path_len;
    int n;

    if (c->path_len >= PATH_MAX_LEN) {
        return old;
    }
    n = snprintf(c->path + c->path_len, room + 1, "[%zu]", i);
    c->path_len += (n < 0 || (size_t)n > room) ? room : (size_t)n;
    return old;
}

static void
path_pop(struct jctx *c, size_t old)
{
    c->path_len = old;
    c->path[old] = '\0';
}

/* Sets "cannot decode OTLP JSON: <path>: <cause>" and returns TR_EINVAL. */
static int
jfail(struct jctx *c, const char *cause)
{
    return tr_err_set(c->err, TR_EINVAL, "cannot decode OTLP JSON: %s%s%s",
                      c->path_len > 0 ? c->path : "",
                      c->path_len > 0 ? ": " : "", cause);
}

static int
jnomem(struct jctx *c)
{
    return tr_err_set(c->err, TR_ENOMEM,
                      "cannot decode OTLP JSON: out of memory");
}

/* ---- scalars ------------------------------------------------------------ */

/* Whole-string signed decimal; false when s is not one or overflows. */
static bool
parse_i64_text(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_u64_text(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static int
get_i64(struct jctx *c, json_t *j, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;

    if (json_is_integer(j)) {
        v = json_integer_value(j);
    } else if (json_is_real(j)) {
        double d = json_real_value(j);

        /* 9.2e18 is the largest double below 2^63. */
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18) {
            return jfail(c, "expected an integer");
        }
        v = (int64_t)d;
    } else if (json_is_string(j)) {
        if (!parse_i64_text(json_string_value(j), &v)) {
            return jfail(c, "expected a number or numeric string");
        }
    } else {
        return jfail(c, "expected a number or numeric string");
    }
    if (v < lo || v > hi) {
        return jfail(c, "integer out of range");
    }
    *out = v;
    return TR_OK;
}

static int
get_u64(struct jctx *c, json_t *j, uint64_t hi, uint64_t *out)
{
    uint64_t v;

    if (json_is_integer(j)) {
        json_int_t i = json_integer_value(j);

        if (i < 0) {
            return jfail(c, "expected a non-negative integer");
        }
        v = (uint64_t)i;
    } else if (json_is_real(j)) {
        double d = json_real_value(j);

        if (d != floor(d) || d < 0 || d > 1.8e19) {
            return jfail(c, "expected a non-negative integer");
        }
        v = (uint64_t)d;
    } else if (json_is_string(j)) {
        if (!parse_u64_text(json_string_value(j), &v)) {
            return jfail(c, "expected a number or numeric string");
        }
    } else {
        return jfail(c, "expected a number or numeric string");
    }
    if (v > hi) {
        return jfail(c, "integer out of range");
    }
    *out = v;
    return TR_OK;
}

static int
get_double(struct jctx *c, json_t *j, double *out)
{
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return TR_OK;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;

        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return TR_OK;
        }
        if (strcmp(s, "Infinity") == 0) {
            *out = INFINITY;
            return TR_OK;
        }
        if (strcmp(s, "-Infinity") == 0) {
            *out = -INFINITY;
            return TR_OK;
        }
        if (*s != '\0' &&
            (*s == '-' || *s == '.' || (*s >= '0' && *s <= '9'))) {
            errno = 0;
            *out = strtod(s, &end);
            if (*end == '\0' && errno == 0) {
                return TR_OK;
            }
        }
    }
    return jfail(c, "expected a number, numeric string, \"NaN\", "
                    "\"Infinity\" or \"-Infinity\"");
}

static int
hex_digit(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Hex text of exactly want bytes (or empty) into arena bytes. */
static int
get_hex_id(struct jctx *c, const char *s, size_t len, size_t want,
           ProtobufCBinaryData *out)
{
    char msg[96];
    uint8_t *bytes;

    if (len == 0) {
        out->len = 0;
        out->data = NULL;
        return TR_OK;
    }
    snprintf(msg, sizeof(msg),
             "expected %zu hex digits (a %zu-byte id) or an empty string",
             want * 2, want);
    if (len != want * 2) {
        return jfail(c, msg);
    }
    bytes = tr_arena_alloc(c->arena, want);
    if (bytes == NULL) {
        return jnomem(c);
    }
    for (size_t i = 0; i < want; i++) {
        int hi = hex_digit((unsigned char)s[2 * i]);
        int lo = hex_digit((unsigned char)s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return jfail(c, msg);
        }
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    out->len = want;
    out->data = bytes;
    return TR_OK;
}

static int
b64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+' || ch == '-') {
        return 62;
    }
    if (ch == '/' || ch == '_') {
        return 63;
    }
    return -1;
}

/* Base64, standard or URL alphabet, '=' padding optional. */
static int
get_base64(struct jctx *c, const char *s, size_t len, ProtobufCBinaryData *out)
{
    uint8_t *bytes;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        return jfail(c, "expected base64");
    }
    bytes = tr_arena_alloc(c->arena, len * 3 / 4 + 1);
    if (bytes == NULL) {
        return jnomem(c);
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)s[i]);

        if (v < 0) {
            return jfail(c, "expected base64");
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[n++] = (uint8_t)(acc >> bits);
        }
    }
    out->len = n;
    out->data = n > 0 ? bytes : NULL;
    return TR_OK;
}

/* Bytes fields that the OTLP JSON mapping writes as hex, with their size. */
static size_t
hex_id_size(const char *field_name)
{
    if (strcmp(field_name, "trace_id") == 0) {
        return 16;
    }
    if (strcmp(field_name, "span_id") == 0 ||
        strcmp(field_name, "parent_span_id") == 0) {
        return 8;
    }
    return 0;
}

/* ---- messages ----------------------------------------------------------- */

static int decode_object(struct jctx *c, const ProtobufCMessageDescriptor *d,
                         json_t *obj, ProtobufCMessage *msg);

static size_t
field_elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static ProtobufCMessage *
new_message(struct tr_arena *a, const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = tr_arena_alloc(a, d->sizeof_message);

    if (m != NULL) {
        protobuf_c_message_init(d, m);
    }
    return m;
}

/* Decodes one JSON value j of field f into dst (the field's storage). */
static int
decode_value(struct jctx *c, const ProtobufCFieldDescriptor *f, json_t *j,
             void *dst)
{
    int64_t i;
    uint64_t u;
    int rc;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        rc = get_i64(c, j, INT32_MIN, INT32_MAX, &i);
        if (rc == TR_OK) {
            *(int32_t *)dst = (int32_t)i;
        }
        return rc;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        rc = get_u64(c, j, UINT32_MAX, &u);
        if (rc == TR_OK) {
            *(uint32_t *)dst = (uint32_t)u;
        }
        return rc;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        rc = get_i64(c, j, INT64_MIN, INT64_MAX, &i);
        if (rc == TR_OK) {
            *(int64_t *)dst = i;
        }
        return rc;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        rc = get_u64(c, j, UINT64_MAX, &u);
        if (rc == TR_OK) {
            *(uint64_t *)dst = u;
        }
        return rc;
    case PROTOBUF_C_TYPE_FLOAT: {
        double d;

        rc = get_double(c, j, &d);
        if (rc == TR_OK) {
            *(float *)dst = (float)d;
        }
        return rc;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return get_double(c, j, (double *)dst);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(j)) {
            return jfail(c, "expected true or false");
        }
        *(protobuf_c_boolean *)dst = json_is_true(j);
        return TR_OK;
    case PROTOBUF_C_TYPE_ENUM:
        if (json_is_string(j)) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(
                    f->descriptor, json_string_value(j));

            if (ev != NULL) {
                *(int32_t *)dst = ev->value;
                return TR_OK;
            }
        }
        rc = get_i64(c, j, INT32_MIN, INT32_MAX, &i);
        if (rc == TR_OK) {
            *(int32_t *)dst = (int32_t)i;
        }
        return rc;
    case PROTOBUF_C_TYPE_STRING: {
        char *s;

        if (!json_is_string(j)) {
            return jfail(c, "expected a string");
        }
        s = tr_arena_strndup(c->arena, json_string_value(j),
                             json_string_length(j));
        if (s == NULL) {
            return jnomem(c);
        }
        *(char **)dst = s;
        return TR_OK;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        size_t id_size = hex_id_size(f->name);

        if (!json_is_string(j)) {
            return jfail(c, id_size > 0 ? "expected a hex string"
                                        : "expected a base64 string");
        }
        if (id_size > 0) {
            return get_hex_id(c, json_string_value(j), json_string_length(j),
                              id_size, dst);
        }
        return get_base64(c, json_string_value(j), json_string_length(j), dst);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sub = f->descriptor;
        ProtobufCMessage *m;

        if (!json_is_object(j)) {
            return jfail(c, "expected an object");
        }
        m = new_message(c->arena, sub);
        if (m == NULL) {
            return jnomem(c);
        }
        rc = decode_object(c, sub, j, m);
        if (rc == TR_OK) {
            *(ProtobufCMessage **)dst = m;
        }
        return rc;
    }
    }
    return jfail(c, "unsupported field type");
}

static int
decode_field(struct jctx *c, const ProtobufCFieldDescriptor *f, json_t *j,
             ProtobufCMessage *msg)
{
    char *base = (char *)msg;

    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n, size = field_elem_size(f);
        char *arr = NULL;

        if (!json_is_array(j)) {
            return jfail(c, "expected an array");
        }
        n = json_array_size(j);
        if (n > 0) {
            arr = tr_arena_calloc(c->arena, n, size);
            if (arr == NULL) {
                return jnomem(c);
            }
        }
        for (size_t i = 0; i < n; i++) {
            size_t mark = path_push_index(c, i);
            json_t *e = json_array_get(j, i);
            int rc;

            if (json_is_null(e) && f->type != PROTOBUF_C_TYPE_MESSAGE) {
                rc = jfail(c, "null is not allowed in a list");
            } else if (json_is_null(e)) {
                /* A null message in a list is an empty message. */
                ProtobufCMessage *m = new_message(c->arena, f->descriptor);

                rc = m != NULL ? TR_OK : jnomem(c);
                *(ProtobufCMessage **)(arr + i * size) = m;
            } else {
                rc = decode_value(c, f, e, arr + i * size);
            }
            if (rc != TR_OK) {
                return rc;
            }
            path_pop(c, mark);
        }
        *(size_t *)(base + f->quantifier_offset) = n;
        *(void **)(base + f->offset) = arr;
        return TR_OK;
    }

    int rc = decode_value(c, f, j, base + f->offset);

    if (rc != TR_OK) {
        return rc;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
               f->quantifier_offset != 0 &&
               f->type != PROTOBUF_C_TYPE_MESSAGE &&
               f->type != PROTOBUF_C_TYPE_STRING) {
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    }
    return TR_OK;
}

/*
 * The field a JSON key names: the lowerCamelCase JSON name maps back to the
 * proto name by putting '_' before each capital ("timeUnixNano" ->
 * "time_unix_nano"); snake_case keys match directly.
 */
static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
    char snake[128];
    size_t n = 0;

    for (const char *p = key; *p != '\0'; p++) {
        if (n + 3 > sizeof(snake)) {
            return NULL;
        }
        if (*p >= 'A' && *p <= 'Z') {
            snake[n++] = '_';
            snake[n++] = (char)(*p - 'A' + 'a');
        } else {
            snake[n++] = *p;
        }
    }
    snake[n] = '\0';
    return protobuf_c_message_descriptor_get_field_by_name(d, snake);
}

static int
decode_object(struct jctx *c, const ProtobufCMessageDescriptor *d, json_t *obj,
              ProtobufCMessage *msg)
{
    const char *key;
    json_t *val;

    if (!json_is_object(obj)) {
        return jfail(c, "expected an object");
    }
    json_object_foreach(obj, key, val)
    {
        const ProtobufCFieldDescriptor *f = find_field(d, key);
        size_t mark;
        int rc;

        if (f == NULL || json_is_null(val)) {
            continue; /* unknown keys are ignored, null is absent */
        }
        mark = path_push_key(c, key);
        rc = decode_field(c, f, val, msg);
        if (rc != TR_OK) {
            return rc;
        }
        path_pop(c, mark);
    }
    return TR_OK;
}

static int
decode_json(struct tr_arena *arena, const ProtobufCMessageDescriptor *desc,
            const void *data, size_t len, ProtobufCMessage **out,
            struct tr_err *err)
{
    struct jctx c = {.arena = arena, .err = err};
    json_error_t jerr;
    ProtobufCMessage *msg;
    json_t *root;
    int rc;

    root = json_loadb(data, len, 0, &jerr);
    if (root == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode OTLP JSON: line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    }
    msg = new_message(arena, desc);
    if (msg == NULL) {
        json_decref(root);
        return jnomem(&c);
    }
    rc = json_is_object(root) ? decode_object(&c, desc, root, msg)
                              : jfail(&c, "the body must be a JSON object");
    json_decref(root);
    if (rc == TR_OK) {
        *out = msg;
    }
    return rc;
}

/* ---- entry points ------------------------------------------------------- */

int
tr_otlp_decode_message(struct tr_arena *arena, enum tr_otlp_format fmt,
                       const ProtobufCMessageDescriptor *desc, const char *what,
                       const void *data, size_t len, ProtobufCMessage **out,
                       struct tr_err *err)
{
    ProtobufCAllocator alloc;
    ProtobufCMessage *msg;

    if (len == 0) {
        /* Empty body: protobuf's empty message, and an empty request. */
        msg = new_message(arena, desc);
        if (msg == NULL) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot decode OTLP %s: out "
                              "of memory",
                              what);
        }
        *out = msg;
        return TR_OK;
    }
    if (fmt == TR_OTLP_JSON) {
        return decode_json(arena, desc, data, len, out, err);
    }
    tr_arena_pb_allocator(arena, &alloc);
    msg = protobuf_c_message_unpack(desc, &alloc, len, data);
    if (msg == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode OTLP protobuf %s: malformed message "
                          "(%zu bytes)",
                          what, len);
    }
    *out = msg;
    return TR_OK;
}

int
tr_otlp_metrics_decode(struct tr_arena *arena, enum tr_otlp_format fmt,
                       const void *data, size_t len,
                       tr_otlp_metrics_request **out, struct tr_err *err)
{
    return tr_otlp_decode_message(
        arena, fmt,
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
        "metrics request", data, len, (ProtobufCMessage **)out, err);
}

int
tr_otlp_logs_decode(struct tr_arena *arena, enum tr_otlp_format fmt,
                    const void *data, size_t len, tr_otlp_logs_request **out,
                    struct tr_err *err)
{
    return tr_otlp_decode_message(
        arena, fmt,
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
        "logs request", data, len, (ProtobufCMessage **)out, err);
}

int
tr_otlp_traces_decode(struct tr_arena *arena, enum tr_otlp_format fmt,
                      const void *data, size_t len,
                      tr_otlp_traces_request **out, struct tr_err *err)
{
    return tr_otlp_decode_message(
        arena, fmt,
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        "traces request", data, len, (ProtobufCMessage **)out, err);
}
