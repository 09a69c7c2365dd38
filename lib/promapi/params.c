#include "promapi/params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "promql/ast.h"

/* Go-quotes s (strconv.Quote, what %q prints) into a fixed buffer. */
static const char *
quote(const char *s, char *out, size_t size)
{
    struct tr_buf b = TR_BUF_INIT;
    if (tr_promql_format_string(s, strlen(s), &b) != TR_OK || b.len == 0) {
        snprintf(out, size, "\"%s\"", s);
    } else {
        snprintf(out, size, "%.*s", (int)b.len, b.data);
    }
    tr_buf_fini(&b);
    return out;
}

/* strconv.ParseFloat: the whole string must be a number (no spaces). */
static bool
parse_go_float(const char *s, double *out)
{
    if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
        *s == '\f' || *s == '\v') {
        return false;
    }
    /* strtod also reads "nan(...)", which Go does not. */
    if (strchr(s, '(') != NULL) {
        return false;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0') {
        return false;
    }
    if (errno == ERANGE && isinf(v)) {
        return false; /* Go refuses out-of-range values too */
    }
    *out = v;
    return true;
}

int
tr_promapi_parse_time(const char *s, int64_t *out_ms, struct tr_err *err)
{
    char q[TR_ERR_MSG_MAX / 2];
    double f;
    if (parse_go_float(s, &f)) {
        /* Rounded to the ms like Prometheus; far beyond any real time
         * the conversion would overflow, so refuse it. */
        if (isfinite(f) && fabs(f) < 9.2e15) {
            double whole;
            double frac = modf(f, &whole);
            *out_ms = (int64_t)whole * 1000 + (int64_t)llround(frac * 1000);
            return TR_OK;
        }
        return tr_err_set(err, TR_EINVAL,
                          "cannot parse %s to a valid timestamp",
                          quote(s, q, sizeof(q)));
    }
    int64_t ns;
    /* RFC 3339 starts with the year's digits (floats were read above). */
    if (*s >= '0' && *s <= '9' && tr_timestamp_parse(s, &ns, NULL) == TR_OK) {
        /* timestamp.FromTime truncates to the ms towards -Inf. */
        int64_t ms = ns / TR_NS_PER_MS;
        if (ns % TR_NS_PER_MS < 0) {
            ms--;
        }
        *out_ms = ms;
        return TR_OK;
    }
    if (strcmp(s, "-292273086-05-16T16:47:06Z") == 0) {
        *out_ms = TR_PROMAPI_MIN_TIME_MS;
        return TR_OK;
    }
    if (strcmp(s, "292277025-08-18T07:12:54.999999999Z") == 0) {
        *out_ms = TR_PROMAPI_MAX_TIME_MS;
        return TR_OK;
    }
    return tr_err_set(err, TR_EINVAL, "cannot parse %s to a valid timestamp",
                      quote(s, q, sizeof(q)));
}

int
tr_promapi_time_param(const char *value, const char *name, int64_t def_ms,
                      int64_t *out_ms, struct tr_err *err)
{
    if (value == NULL || *value == '\0') {
        *out_ms = def_ms;
        return TR_OK;
    }
    int rc = tr_promapi_parse_time(value, out_ms, err);
    if (rc != TR_OK) {
        tr_err_prefix(err, "Invalid time value for '%s'", name);
        tr_promapi_invalid_param(err, name);
    }
    return rc;
}

int
tr_promapi_parse_duration(const char *s, int64_t *out_ns, struct tr_err *err)
{
    char q[TR_ERR_MSG_MAX / 2];
    double f;
    if (parse_go_float(s, &f)) {
        double ns = f * 1e9;
        if (isnan(ns) || ns >= 9223372036854775807.0 ||
            ns < -9223372036854775808.0) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot parse %s to a valid duration. It "
                              "overflows int64",
                              quote(s, q, sizeof(q)));
        }
        *out_ns = (int64_t)ns;
        return TR_OK;
    }
    /* Prometheus durations need a unit ("5m"); numbers were handled. */
    if (*s != '\0' && tr_duration_parse(s, out_ns, NULL) == TR_OK) {
        return TR_OK;
    }
    return tr_err_set(err, TR_EINVAL, "cannot parse %s to a valid duration",
                      quote(s, q, sizeof(q)));
}

int
tr_promapi_invalid_param(struct tr_err *err, const char *name)
{
    if (err == NULL) {
        return TR_EINVAL;
    }
    return tr_err_prefix(err, "invalid parameter \"%s\"", name);
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescapes s (without the prefix) into out; false when malformed. */
static bool
unescape(const char *s, size_t len, struct tr_buf *out, bool *nomem)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '_') {
            if (tr_buf_append_byte(out, s[i]) != TR_OK) {
                *nomem = true;
                return false;
            }
            continue;
        }
        i++;
        if (i >= len) {
            return false;
        }
        if (s[i] == '_') {
            if (tr_buf_append_byte(out, '_') != TR_OK) {
                *nomem = true;
                return false;
            }
            continue;
        }
        uint32_t cp = 0;
        size_t digits = 0;
        for (;;) {
            if (i >= len || digits > 6) {
                return false;
            }
            if (s[i] == '_') {
                break;
            }
            int h = hex_value(s[i]);
            if (h < 0) {
                return false;
            }
            cp = cp * 16 + (uint32_t)h;
            digits++;
            i++;
        }
        /* Go's utf8.ValidRune: no surrogates, at most U+10FFFF. */
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        char enc[4];
        size_t n = utf8_encode(cp, enc);
        if (tr_buf_append(out, enc, n) != TR_OK) {
            *nomem = true;
            return false;
        }
    }
    return true;
}

int
tr_promapi_unescape_name(const char *s, size_t len, struct tr_buf *out)
{
    size_t mark = out->len;
    if (len >= 3 && memcmp(s, "U__", 3) == 0) {
        bool nomem = false;
        if (unescape(s + 3, len - 3, out, &nomem)) {
            return TR_OK;
        }
        if (nomem) {
            return TR_ENOMEM;
        }
        out->len = mark; /* malformed: the name stays as it was */
    }
    return tr_buf_append(out, s, len);
}

bool
tr_promapi_label_name_valid(const char *name, size_t len)
{
    if (len == 0) {
        return false;
    }
    const unsigned char *p = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > len) {
            return false;
        }
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n;
    }
    return true;
}
