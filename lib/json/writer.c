#include "json/writer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

/* ------------------------------------------------------------------------
 * Number formatting
 * ------------------------------------------------------------------------ */

/*
 * Shortest decimal digits of a finite, positive v that parse back to v:
 * digs holds nd digits (no leading or trailing zeros) and the value is
 * 0.digs * 10^dp. Of several equally short candidates the closest to v
 * wins (ties to even), as Go's strconv picks them.
 *
 * The fast path below covers 2^-12 <= v < 2^127 (every value a dashboard
 * usually shows) with exact 128-bit integer arithmetic; the rest goes
 * through printf and strtod.
 */

__extension__ typedef unsigned __int128 u128;

/* floor(e * log10(2)) for |e| < 1650 (may be one too high for negative
 * e just below an integer, which the callers tolerate). */
static int
floor_log10_pow2(int e)
{
    return (int)(((int64_t)e * 78913) >> 18);
}

static const uint64_t pow10_u64[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

/* 10^k for k <= 38 as a 128-bit integer. */
static u128
pow10_u128(int k)
{
    u128 p = pow10_u64[k < 19 ? k : 19];
    for (int i = 19; i < k; i++) {
        p *= 10;
    }
    return p;
}

/* floor(x * 2^e2 / 10^q) with q <= 0 or e2 >= 0, exactly; *exact tells
 * whether nothing was cut off. False when it does not fit. */
static bool
scale_exact(uint64_t x, int e2, int q, uint64_t *out, bool *exact)
{
    u128 n = x;
    if (q <= 0) {
        /* x * 10^-q * 2^e2: x < 2^55, 10^21 < 2^70. */
        if (-q > 21) {
            return false;
        }
        n *= pow10_u128(-q);
        if (e2 >= 0) {
            if (e2 > 50) {
                return false;
            }
            n <<= e2;
            *exact = true;
        } else {
            if (-e2 >= 128) {
                return false;
            }
            u128 mask = ((u128)1 << -e2) - 1;
            *exact = (n & mask) == 0;
            n >>= -e2;
        }
    } else {
        if (e2 < 0 || e2 > 72 || q > 38) {
            return false;
        }
        n <<= e2;
        u128 d = pow10_u128(q);
        u128 quot = n / d;
        *exact = quot * d == n;
        n = quot;
    }
    if (n >> 64 != 0) {
        return false;
    }
    *out = (uint64_t)n;
    return true;
}

static bool
shortest_digits_fast(double v, char digs[18], int *nd, int *dp)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    int biased = (int)(bits >> 52 & 0x7ff);
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    if (biased == 0 || biased == 0x7ff) {
        return false; /* zero, subnormal, inf, nan */
    }
    uint64_t m2 = frac | UINT64_C(1) << 52;
    /* v = mv * 2^e2; the numbers that round to v lie between mm * 2^e2
     * and mp * 2^e2 (closer below at powers of two). */
    int e2 = biased - 1023 - 52 - 2;
    if (e2 < -66 || e2 > 72) {
        return false;
    }
    uint64_t mv = 4 * m2;
    uint64_t mp = mv + 2;
    uint64_t mm = mv - 1 - (frac != 0 || biased <= 1);
    /* Round-half-even parsing: the bounds themselves read back as v when
     * its mantissa is even. */
    bool inclusive = (m2 & 1) == 0;

    /* A decimal exponent low enough that the shortest answer has no
     * digits below it, high enough that the scaled values fit 64 bits. */
    int q = floor_log10_pow2(e2) - 1;
    uint64_t vr, vp, vm;
    bool vr_exact, vp_exact, vm_exact;
    if (!scale_exact(mv, e2, q, &vr, &vr_exact) ||
        !scale_exact(mp, e2, q, &vp, &vp_exact) ||
        !scale_exact(mm, e2, q, &vm, &vm_exact)) {
        return false;
    }
    if (!inclusive && vp_exact) {
        vp--; /* the upper bound itself reads back as the next double */
    }
    /* Remove digits while a shorter number still fits between the
     * bounds (Ryu's general case). */
    bool vm_zeros = inclusive && vm_exact;
    bool vr_zeros = vr_exact;
    unsigned last = 0;
    int removed = 0;
    while (vp / 10 > vm / 10) {
        vm_zeros = vm_zeros && vm % 10 == 0;
        vr_zeros = vr_zeros && last == 0;
        last = (unsigned)(vr % 10);
        vr /= 10;
        vp /= 10;
        vm /= 10;
        removed++;
    }
    if (vm_zeros) {
        /* The lower bound itself is allowed and has more zeros. */
        while (vm % 10 == 0) {
            vr_zeros = vr_zeros && last == 0;
            last = (unsigned)(vr % 10);
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
    }
    if (vr_zeros && last == 5 && vr % 2 == 0) {
        last = 4; /* exactly halfway: round to even */
    }
    uint64_t out = vr + ((vr == vm && !vm_zeros) || last >= 5);
    int exp10 = q + removed;
    while (out % 10 == 0) {
        out /= 10;
        exp10++;
    }
    char tmp[20];
    int n = 0;
    while (out > 0) {
        tmp[n++] = (char)('0' + out % 10);
        out /= 10;
    }
    if (n > 17) {
        return false; /* cannot happen; the slow path settles it */
    }
    for (int i = 0; i < n; i++) {
        digs[i] = tmp[n - 1 - i];
    }
    *nd = n;
    *dp = n + exp10;
    return true;
}

/*
 * At a power of two the doubles below are closer than those above, so the
 * correctly rounded 16 digits can miss v while the next 16-digit number
 * up reads back as v (Go prints that one). Replaces digs (n digits, first
 * at 10^*exp10) by it and returns true if so.
 */
static bool
next_up_reads_back(double v, char *digs, int n, int *exp10)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    if ((bits & ((UINT64_C(1) << 52) - 1)) != 0 || v < DBL_MIN) {
        return false;
    }
    char up[24];
    memcpy(up, digs, (size_t)n);
    int e = *exp10;
    int i = n - 1;
    while (i >= 0 && up[i] == '9') {
        up[i--] = '0';
    }
    if (i < 0) {
        up[0] = '1'; /* 99..9 + 1: one more power of ten */
        e++;
    } else {
        up[i]++;
    }
    char text[48];
    snprintf(text, sizeof(text), "%.1s.%.*se%d", up, n - 1, up + 1, e);
    if (strtod(text, NULL) != v) {
        return false;
    }
    memcpy(digs, up, (size_t)n);
    *exp10 = e;
    return true;
}

/*
 * The slow path: doubles carry at least 15 significant decimal digits
 * (DBL_DIG), so if some decimal of <= 15 digits round-trips, rounding v to
 * 15 digits yields it (padded with zeros, which we strip). Otherwise 16,
 * else 17 digits, which always round-trip. (Subnormals have less
 * precision, so for them the search starts at one digit.) At powers of
 * two the next 16-digit number up may read back when the closest does not.
 */
static void
shortest_digits(double v, char digs[18], int *nd, int *dp)
{
    if (shortest_digits_fast(v, digs, nd, dp)) {
        return;
    }
    char tmp[40];
    /* Subnormals carry fewer digits: search from one digit up. */
    for (int prec = v < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        /* tmp is "d.ddde[+-]X..." (or "de[+-]X" when prec is 1). */
        int n = 0;
        const char *p = tmp;
        for (; *p != 'e'; p++) {
            if (*p != '.') {
                digs[n++] = *p;
            }
        }
        int exp10 = atoi(p + 1);
        if (prec < 17 && strtod(tmp, NULL) != v) {
            if (prec != 16 || !next_up_reads_back(v, digs, n, &exp10)) {
                continue;
            }
        }
        while (n > 1 && digs[n - 1] == '0') {
            n--;
        }
        *nd = n;
        *dp = exp10 + 1;
        return;
    }
}

/* Appends c to out if it fits; always counts it. */
static void
put(char *out, size_t size, size_t *len, char c)
{
    if (*len + 1 < size) {
        out[*len] = c;
    }
    (*len)++;
}

static void
put_str(char *out, size_t size, size_t *len, const char *s)
{
    for (; *s != '\0'; s++) {
        put(out, size, len, *s);
    }
}

/* Go's %e layout: d[.ddd]e<sign><at least two exponent digits>. */
static void
layout_e(const char *digs, int nd, int dp, bool two_digit_exp, char *out,
         size_t size, size_t *len)
{
    put(out, size, len, digs[0]);
    if (nd > 1) {
        put(out, size, len, '.');
        for (int i = 1; i < nd; i++) {
            put(out, size, len, digs[i]);
        }
    }
    int exp10 = dp - 1;
    put(out, size, len, 'e');
    put(out, size, len, exp10 < 0 ? '-' : '+');
    if (exp10 < 0) {
        exp10 = -exp10;
    }
    char e[8];
    int n = snprintf(e, sizeof(e), two_digit_exp ? "%02d" : "%d", exp10);
    for (int i = 0; i < n; i++) {
        put(out, size, len, e[i]);
    }
}

/* Go's %f layout with exactly the digits given (no exponent). */
static void
layout_f(const char *digs, int nd, int dp, char *out, size_t size, size_t *len)
{
    if (dp <= 0) {
        put(out, size, len, '0');
        put(out, size, len, '.');
        for (int i = 0; i < -dp; i++) {
            put(out, size, len, '0');
        }
        for (int i = 0; i < nd; i++) {
            put(out, size, len, digs[i]);
        }
        return;
    }
    for (int i = 0; i < dp; i++) {
        put(out, size, len, i < nd ? digs[i] : '0');
    }
    if (nd > dp) {
        put(out, size, len, '.');
        for (int i = dp; i < nd; i++) {
            put(out, size, len, digs[i]);
        }
    }
}

/* fmt: 'f', 'e', 'g' as in Go; 'j' is the JSON number layout. */
static size_t
format_float(double v, char fmt, char *out, size_t size)
{
    size_t len = 0;
    if (isnan(v)) {
        put_str(out, size, &len, "NaN");
    } else if (isinf(v)) {
        put_str(out, size, &len, v > 0 ? "+Inf" : "-Inf");
    } else {
        if (signbit(v)) {
            put(out, size, &len, '-');
            v = -v;
        }
        char digs[18];
        int nd = 1;
        int dp = 1;
        if (v == 0) {
            digs[0] = '0';
        } else {
            shortest_digits(v, digs, &nd, &dp);
        }
        int exp10 = dp - 1;
        bool use_e;
        switch (fmt) {
        case 'e':
            use_e = true;
            break;
        case 'g':
            use_e = v != 0 && (exp10 < -4 || exp10 >= 6);
            break;
        case 'j':
            use_e = v != 0 && (v < 1e-6 || v >= 1e21);
            break;
        default:
            use_e = false;
            break;
        }
        if (use_e) {
            layout_e(digs, nd, dp, fmt != 'j', out, size, &len);
        } else {
            layout_f(digs, nd, dp, out, size, &len);
        }
    }
    if (size > 0) {
        out[len < size ? len : size - 1] = '\0';
    }
    return len;
}

size_t
tr_json_format_float(double v, char fmt, char *out, size_t size)
{
    return format_float(v, fmt, out, size);
}

/* ------------------------------------------------------------------------
 * String escaping
 * ------------------------------------------------------------------------ */

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if the byte at s does not
 * start one. s[0] is known to be >= 0x80.
 */
static size_t
utf8_valid_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) {
            lo = 0xA0; /* overlong */
        } else if (c == 0xED) {
            hi = 0x9F; /* surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) {
            lo = 0x90; /* overlong */
        } else if (c == 0xF4) {
            hi = 0x8F; /* above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (left < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

/* 1 for bytes that can be copied as they are (printable ASCII but '"' and
 * '\\'); 0 for everything that needs a look. */
/* clang-format off */
static const unsigned char plain[256] = {
#define R8(x) x, x, x, x, x, x, x, x
    R8(0), R8(0), R8(0), R8(0),        /* 0x00-0x1f control */
    1, 1, 0, 1, 1, 1, 1, 1, R8(1),     /* 0x20-0x2f, '"' is 0x22 */
    R8(1), R8(1), R8(1), R8(1), R8(1), /* 0x30-0x57 */
    1, 1, 1, 1, 0, 1, 1, 1,            /* 0x58-0x5f, '\\' is 0x5c */
    R8(1), R8(1), R8(1), R8(1),        /* 0x60-0x7f */
    R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0),
    R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0),
#undef R8
};
/* clang-format on */

int
tr_json_append_string(struct tr_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    /* The common case (nothing to escape) needs exactly len + 2 bytes. */
    if (tr_buf_reserve(out, len + 2) != TR_OK) {
        return TR_ENOMEM;
    }
    out->data[out->len++] = '"';
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && plain[p[run]]) {
            run++;
        }
        if (run > i) {
            if (tr_buf_append(out, p + i, run - i) != TR_OK) {
                return TR_ENOMEM;
            }
            i = run;
            if (i == len) {
                break;
            }
        }
        unsigned char c = p[i];
        char esc[8];
        size_t n;
        const void *src = esc;
        if (c >= 0x80) {
            n = utf8_valid_len(p + i, len - i);
            if (n > 0) {
                src = p + i;
                i += n;
            } else {
                src = "\xEF\xBF\xBD"; /* U+FFFD for one bad byte */
                n = 3;
                i++;
            }
        } else {
            esc[0] = '\\';
            n = 2;
            switch (c) {
            case '"':
                esc[1] = '"';
                break;
            case '\\':
                esc[1] = '\\';
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\t':
                esc[1] = 't';
                break;
            case '\b':
                esc[1] = 'b';
                break;
            case '\f':
                esc[1] = 'f';
                break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xF];
                n = 6;
                break;
            }
            i++;
        }
        if (tr_buf_append(out, src, n) != TR_OK) {
            return TR_ENOMEM;
        }
    }
    return tr_buf_append_byte(out, '"');
}

/* ------------------------------------------------------------------------
 * Writer state
 * ------------------------------------------------------------------------ */

void
tr_json_init(struct tr_json *w, struct tr_buf *out)
{
    w->out = out;
    w->err = TR_OK;
    w->depth = 0;
    w->need_value = false;
    w->top_done = false;
}

int
tr_json_finish(const struct tr_json *w)
{
    if (w->err != TR_OK) {
        return w->err;
    }
    if (w->depth != 0 || !w->top_done) {
        return TR_EINVAL;
    }
    return TR_OK;
}

static int
fail(struct tr_json *w, int code)
{
    if (w->err == TR_OK) {
        w->err = code;
    }
    return w->err;
}

/*
 * Called before every value: checks that a value may come here and writes
 * the separating comma if needed.
 */
static int
before_value(struct tr_json *w)
{
    if (w->err != TR_OK) {
        return w->err;
    }
    if (w->depth == 0) {
        if (w->top_done) {
            return fail(w, TR_EINVAL); /* second top-level value */
        }
        return TR_OK;
    }
    char *top = &w->stack[w->depth - 1];
    if (*top == 'o' || *top == 'O') {
        if (!w->need_value) {
            return fail(w, TR_EINVAL); /* value without key */
        }
        w->need_value = false;
        return TR_OK;
    }
    if (*top == 'A') {
        if (tr_buf_append_byte(w->out, ',') != TR_OK) {
            return fail(w, TR_ENOMEM);
        }
    }
    *top = 'A';
    return TR_OK;
}

/* Called after every complete value. */
static int
after_value(struct tr_json *w, int rc)
{
    if (rc != TR_OK) {
        return fail(w, rc);
    }
    if (w->depth == 0) {
        w->top_done = true;
    }
    return TR_OK;
}

static int
emit(struct tr_json *w, const char *s, size_t len)
{
    int rc = before_value(w);
    if (rc != TR_OK) {
        return rc;
    }
    return after_value(w, tr_buf_append(w->out, s, len));
}

static int
open_container(struct tr_json *w, char kind, char bracket)
{
    int rc = before_value(w);
    if (rc != TR_OK) {
        return rc;
    }
    if (w->depth == TR_JSON_MAX_DEPTH) {
        return fail(w, TR_EINVAL);
    }
    if (tr_buf_append_byte(w->out, bracket) != TR_OK) {
        return fail(w, TR_ENOMEM);
    }
    w->stack[w->depth++] = kind;
    return TR_OK;
}

static int
close_container(struct tr_json *w, char kind, char bracket)
{
    if (w->err != TR_OK) {
        return w->err;
    }
    if (w->depth == 0 || w->need_value ||
        (w->stack[w->depth - 1] | 0x20) != kind) {
        return fail(w, TR_EINVAL);
    }
    w->depth--;
    return after_value(w, tr_buf_append_byte(w->out, bracket));
}

int
tr_json_object_begin(struct tr_json *w)
{
    return open_container(w, 'o', '{');
}

int
tr_json_object_end(struct tr_json *w)
{
    return close_container(w, 'o', '}');
}

int
tr_json_array_begin(struct tr_json *w)
{
    return open_container(w, 'a', '[');
}

int
tr_json_array_end(struct tr_json *w)
{
    return close_container(w, 'a', ']');
}

int
tr_json_key_len(struct tr_json *w, const char *key, size_t len)
{
    if (w->err != TR_OK) {
        return w->err;
    }
    if (w->depth == 0 || w->need_value ||
        (w->stack[w->depth - 1] | 0x20) != 'o') {
        return fail(w, TR_EINVAL);
    }
    char *top = &w->stack[w->depth - 1];
    if (*top == 'O' && tr_buf_append_byte(w->out, ',') != TR_OK) {
        return fail(w, TR_ENOMEM);
    }
    *top = 'O';
    if (tr_json_append_string(w->out, key, len) != TR_OK ||
        tr_buf_append_byte(w->out, ':') != TR_OK) {
        return fail(w, TR_ENOMEM);
    }
    w->need_value = true;
    return TR_OK;
}

int
tr_json_key(struct tr_json *w, const char *key)
{
    return tr_json_key_len(w, key, strlen(key));
}

int
tr_json_string_len(struct tr_json *w, const char *s, size_t len)
{
    int rc = before_value(w);
    if (rc != TR_OK) {
        return rc;
    }
    return after_value(w, tr_json_append_string(w->out, s, len));
}

int
tr_json_string(struct tr_json *w, const char *s)
{
    return tr_json_string_len(w, s, strlen(s));
}

int
tr_json_int(struct tr_json *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    return emit(w, tmp, (size_t)n);
}

int
tr_json_uint(struct tr_json *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    return emit(w, tmp, (size_t)n);
}

int
tr_json_double(struct tr_json *w, double v)
{
    if (!isfinite(v)) {
        if (w->err != TR_OK) {
            return w->err;
        }
        return fail(w, TR_EINVAL);
    }
    char tmp[TR_JSON_FLOAT_MAX];
    size_t n = format_float(v, 'j', tmp, sizeof(tmp));
    return emit(w, tmp, n);
}

int
tr_json_prom_value(struct tr_json *w, double v)
{
    /* 'f' is only used for 1e-6 <= |v| < 1e21, at most 21 integer digits
     * or 6 + 17 fraction digits, so 48 bytes hold every case. */
    char tmp[48];
    size_t n = 0;
    tmp[n++] = '"';
    double a = fabs(v);
    char fmt = (a != 0 && (a < 1e-6 || a >= 1e21)) ? 'e' : 'f';
    n += format_float(v, fmt, tmp + n, sizeof(tmp) - n - 1);
    tmp[n++] = '"';
    return emit(w, tmp, n);
}

int
tr_json_unix_ms(struct tr_json *w, int64_t ms)
{
    char tmp[32];
    int n;
    /* Unsigned so INT64_MIN negates without overflow. */
    unsigned long long a =
        ms < 0 ? 0ULL - (unsigned long long)ms : (unsigned long long)ms;
    const char *sign = ms < 0 ? "-" : "";
    if (a % 1000 == 0) {
        n = snprintf(tmp, sizeof(tmp), "%s%llu", sign, a / 1000);
    } else {
        n = snprintf(tmp, sizeof(tmp), "%s%llu.%03llu", sign, a / 1000,
                     a % 1000);
    }
    return emit(w, tmp, (size_t)n);
}

int
tr_json_bool(struct tr_json *w, bool v)
{
    return v ? emit(w, "true", 4) : emit(w, "false", 5);
}

int
tr_json_null(struct tr_json *w)
{
    return emit(w, "null", 4);
}

int
tr_json_raw(struct tr_json *w, const char *json, size_t len)
{
    return emit(w, json, len);
}
