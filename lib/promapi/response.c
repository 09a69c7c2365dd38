#include "promapi/response.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "tsdb/labels.h"

const char *
tr_promapi_errtype_name(enum tr_promapi_errtype t)
{
    switch (t) {
    case TR_PROMAPI_ERR_BAD_DATA:
        return "bad_data";
    case TR_PROMAPI_ERR_EXECUTION:
        return "execution";
    case TR_PROMAPI_ERR_TIMEOUT:
        return "timeout";
    case TR_PROMAPI_ERR_CANCELED:
        return "canceled";
    case TR_PROMAPI_ERR_INTERNAL:
        return "internal";
    case TR_PROMAPI_ERR_NOT_FOUND:
        return "not_found";
    case TR_PROMAPI_ERR_UNAVAILABLE:
        return "unavailable";
    case TR_PROMAPI_ERR_NONE:
        break;
    }
    return "";
}

int
tr_promapi_errtype_status(enum tr_promapi_errtype t)
{
    switch (t) {
    case TR_PROMAPI_ERR_NONE:
        return 200;
    case TR_PROMAPI_ERR_BAD_DATA:
        return 400;
    case TR_PROMAPI_ERR_EXECUTION:
        return 422;
    case TR_PROMAPI_ERR_TIMEOUT:
    case TR_PROMAPI_ERR_UNAVAILABLE:
        return 503;
    case TR_PROMAPI_ERR_CANCELED:
        return 499; /* nginx's "client closed request", as Prometheus */
    case TR_PROMAPI_ERR_NOT_FOUND:
        return 404;
    case TR_PROMAPI_ERR_INTERNAL:
        break;
    }
    return 500;
}

enum tr_promapi_errtype
tr_promapi_errtype_of_code(int code)
{
    switch (code) {
    case TR_EINVAL:
        return TR_PROMAPI_ERR_BAD_DATA;
    case TR_ELIMIT:
        return TR_PROMAPI_ERR_EXECUTION;
    case TR_ETIMEOUT:
        return TR_PROMAPI_ERR_TIMEOUT;
    case TR_ECANCELED:
        return TR_PROMAPI_ERR_CANCELED;
    case TR_EUNAVAIL:
        return TR_PROMAPI_ERR_UNAVAILABLE;
    case TR_ENOTFOUND:
        return TR_PROMAPI_ERR_NOT_FOUND;
    default:
        return TR_PROMAPI_ERR_INTERNAL;
    }
}

static bool
needs_html_escape(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<' || c == '>' || c == '&' ||
            (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
             ((unsigned char)s[i + 2] & 0xfe) == 0xa8)) {
            return true;
        }
    }
    return false;
}

void
tr_promapi_write_string(struct tr_json *w, const char *s, size_t len)
{
    if (!needs_html_escape(s, len)) {
        tr_json_string_len(w, s, len);
        return;
    }
    /* Escape as usual, then replace the characters Go also escapes
     * (they pass the JSON escaper unchanged). */
    struct tr_buf plain = TR_BUF_INIT;
    struct tr_buf out = TR_BUF_INIT;
    int rc = tr_json_append_string(&plain, s, len);
    for (size_t i = 0; rc == TR_OK && i < plain.len; i++) {
        unsigned char c = (unsigned char)plain.data[i];
        if (c == '<') {
            rc = tr_buf_append_str(&out, "\\u003c");
        } else if (c == '>') {
            rc = tr_buf_append_str(&out, "\\u003e");
        } else if (c == '&') {
            rc = tr_buf_append_str(&out, "\\u0026");
        } else if (c == 0xe2 && i + 2 < plain.len &&
                   (unsigned char)plain.data[i + 1] == 0x80 &&
                   ((unsigned char)plain.data[i + 2] & 0xfe) == 0xa8) {
            rc = tr_buf_append_str(
                &out, (unsigned char)plain.data[i + 2] == 0xa8 ? "\\u2028"
                                                               : "\\u2029");
            i += 2;
        } else {
            rc = tr_buf_append_byte(&out, (char)c);
        }
    }
    if (rc == TR_OK) {
        tr_json_raw(w, out.data, out.len);
    } else {
        tr_json_string_len(w, s, len); /* out of memory: w notices */
    }
    tr_buf_fini(&plain);
    tr_buf_fini(&out);
}

int
tr_promapi_error_body(struct tr_buf *out, enum tr_promapi_errtype t,
                      const char *msg)
{
    struct tr_json w;
    tr_json_init(&w, out);
    tr_json_object_begin(&w);
    tr_json_key(&w, "status");
    tr_json_string(&w, "error");
    tr_json_key(&w, "errorType");
    tr_json_string(&w, tr_promapi_errtype_name(t));
    tr_json_key(&w, "error");
    tr_promapi_write_string(&w, msg, strlen(msg));
    tr_json_object_end(&w);
    return tr_json_finish(&w);
}

void
tr_promapi_success_begin(struct tr_json *w)
{
    tr_json_object_begin(w);
    tr_json_key(w, "status");
    tr_json_string(w, "success");
    tr_json_key(w, "data");
}

void
tr_promapi_success_end(struct tr_json *w, const char *const *warnings, size_t n)
{
    if (n > 0) {
        tr_json_key(w, "warnings");
        tr_json_array_begin(w);
        for (size_t i = 0; i < n; i++) {
            tr_promapi_write_string(w, warnings[i], strlen(warnings[i]));
        }
        tr_json_array_end(w);
    }
    tr_json_object_end(w);
}

void
tr_promapi_write_labels(struct tr_json *w, const struct tr_promql_labels *ls)
{
    tr_json_object_begin(w);
    for (size_t i = 0; i < ls->n; i++) {
        const struct tr_label *l = &ls->pairs[i];
        tr_json_key_len(w, l->name, l->name_len);
        tr_promapi_write_string(w, l->value, l->value_len);
    }
    tr_json_object_end(w);
}

void
tr_promapi_write_tr_labels(struct tr_json *w, const struct tr_labels *ls)
{
    struct tr_labels_iter it;
    struct tr_label l;
    tr_json_object_begin(w);
    tr_labels_iter_init(&it, ls);
    while (tr_labels_iter_next(&it, &l)) {
        tr_json_key_len(w, l.name, l.name_len);
        tr_promapi_write_string(w, l.value, l.value_len);
    }
    tr_json_object_end(w);
}

/* Writes u in decimal ending at end (exclusive); returns the start. */
static char *
put_uint_backwards(char *end, uint64_t u, int min_digits)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
        min_digits--;
    } while (u != 0 || min_digits > 0);
    return end;
}

/*
 * [<unix seconds>,"<value>"] in one piece, as tr_json_unix_ms and
 * tr_json_prom_value write them: a range result holds hundreds of
 * thousands of points, so this is the hot path of the API.
 */
static void
write_point(struct tr_json *w, int64_t t, double v)
{
    char buf[96];
    char digits[24];
    char *end = digits + sizeof(digits);
    uint64_t a = t < 0 ? 0ULL - (uint64_t)t : (uint64_t)t;
    char *p = end;
    if (a % 1000 != 0) {
        p = put_uint_backwards(p, a % 1000, 3);
        *--p = '.';
    }
    p = put_uint_backwards(p, a / 1000, 1);
    if (t < 0) {
        *--p = '-';
    }
    size_t n = 0;
    buf[n++] = '[';
    memcpy(buf + n, p, (size_t)(end - p));
    n += (size_t)(end - p);
    buf[n++] = ',';
    buf[n++] = '"';
    /* Prometheus: 'f' layout, except exponents for tiny and huge values;
     * 'f' needs at most 48 bytes here (see tr_json_prom_value). */
    double m = fabs(v);
    char fmt = (m != 0 && (m < 1e-6 || m >= 1e21)) ? 'e' : 'f';
    n += tr_json_format_float(v, fmt, buf + n, sizeof(buf) - n - 2);
    buf[n++] = '"';
    buf[n++] = ']';
    tr_json_raw(w, buf, n);
}

static void
write_seconds(struct tr_json *w, const char *key, int64_t ns)
{
    tr_json_key(w, key);
    tr_json_double(w, (double)ns / 1e9);
}

static void
write_stats(struct tr_json *w, const struct tr_promapi_stats *s)
{
    tr_json_key(w, "stats");
    tr_json_object_begin(w);
    tr_json_key(w, "timings");
    tr_json_object_begin(w);
    write_seconds(w, "evalTotalTime", s->eval_total_ns);
    write_seconds(w, "resultSortTime", 0);
    write_seconds(w, "queryPreparationTime", s->prepare_ns);
    write_seconds(w, "innerEvalTime", s->eval_total_ns - s->prepare_ns);
    write_seconds(w, "execQueueTime", s->queue_ns);
    write_seconds(w, "execTotalTime", s->eval_total_ns + s->queue_ns);
    tr_json_object_end(w);
    tr_json_key(w, "samples");
    tr_json_object_begin(w);
    tr_json_key(w, "totalQueryableSamples");
    tr_json_int(w, s->total_queryable_samples);
    tr_json_key(w, "peakSamples");
    tr_json_int(w, s->peak_samples);
    tr_json_object_end(w);
    tr_json_object_end(w);
}

void
tr_promapi_write_query_data(struct tr_json *w, const struct tr_promql_value *v,
                            const struct tr_promapi_stats *stats)
{
    tr_json_object_begin(w);
    tr_json_key(w, "resultType");
    switch (v->type) {
    case TR_PROMQL_TYPE_SCALAR:
        tr_json_string(w, "scalar");
        tr_json_key(w, "result");
        write_point(w, v->u.scalar.t, v->u.scalar.v);
        break;
    case TR_PROMQL_TYPE_STRING:
        tr_json_string(w, "string");
        tr_json_key(w, "result");
        tr_json_array_begin(w);
        tr_json_unix_ms(w, v->u.string.t);
        tr_promapi_write_string(w, v->u.string.data, v->u.string.len);
        tr_json_array_end(w);
        break;
    case TR_PROMQL_TYPE_VECTOR:
        tr_json_string(w, "vector");
        tr_json_key(w, "result");
        tr_json_array_begin(w);
        for (size_t i = 0; i < v->u.vector.n; i++) {
            const struct tr_promql_sample *s = &v->u.vector.samples[i];
            tr_json_object_begin(w);
            tr_json_key(w, "metric");
            tr_promapi_write_labels(w, &s->labels);
            tr_json_key(w, "value");
            write_point(w, s->t, s->v);
            tr_json_object_end(w);
        }
        tr_json_array_end(w);
        break;
    case TR_PROMQL_TYPE_MATRIX:
    case TR_PROMQL_TYPE_NONE:
        tr_json_string(w, "matrix");
        tr_json_key(w, "result");
        tr_json_array_begin(w);
        for (size_t i = 0;
             v->type == TR_PROMQL_TYPE_MATRIX && i < v->u.matrix.n; i++) {
            const struct tr_promql_series *s = &v->u.matrix.series[i];
            tr_json_object_begin(w);
            tr_json_key(w, "metric");
            tr_promapi_write_labels(w, &s->labels);
            tr_json_key(w, "values");
            tr_json_array_begin(w);
            for (size_t k = 0; k < s->n_points; k++) {
                write_point(w, s->points[k].t, s->points[k].v);
            }
            tr_json_array_end(w);
            tr_json_object_end(w);
        }
        tr_json_array_end(w);
        break;
    }
    if (stats != NULL) {
        write_stats(w, stats);
    }
    tr_json_object_end(w);
}
