/*
 * Helpers of the PromQL engine: errors and limits, arena memory, step
 * matrices, label sets, a small hash map and float formatting.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "promql/eval_internal.h"

/* ---- errors, limits -------------------------------------------------- */

void
ev_fail(struct ev *ev, enum tr_promql_errtype t, int code, const char *fmt, ...)
{
    va_list ap;
    char msg[TR_ERR_MSG_MAX];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tr_err_set(ev->err, code, "%s", msg);
    ev->etype = t;
    ev->code = code;
    longjmp(ev->jmp, 1);
}

void *
ev_check_alloc(struct ev *ev, void *p)
{
    if (p == NULL) {
        ev_fail(ev, TR_PROMQL_ERR_INTERNAL, TR_ENOMEM,
                "cannot evaluate query: out of memory");
    }
    return p;
}

void
ev_tick_check(struct ev *ev)
{
    if (ev->cancel != NULL && *ev->cancel != 0) {
        ev_fail(ev, TR_PROMQL_ERR_CANCELED, TR_ECANCELED,
                "query was canceled in query execution");
    }
    if (ev->deadline_ns != 0 && tr_mono_ns() > ev->deadline_ns) {
        ev_fail(ev, TR_PROMQL_ERR_TIMEOUT, TR_ETIMEOUT,
                "query timed out in query execution");
    }
}

void
ev_fail_max_samples(struct ev *ev)
{
    ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_ELIMIT,
            "query processing would load too many samples into memory "
            "in query execution");
}

/* ---- memory ------------------------------------------------------------ */

void *
ev_alloc(struct ev *ev, size_t size)
{
    return ev_check_alloc(ev, tr_arena_alloc(ev->arena, size ? size : 1));
}

void *
ev_calloc(struct ev *ev, size_t n, size_t size)
{
    return ev_check_alloc(ev, tr_arena_calloc(ev->arena, n ? n : 1, size));
}

char *
ev_strndup(struct ev *ev, const char *s, size_t n)
{
    return ev_check_alloc(ev, tr_arena_strndup(ev->arena, s, n));
}

/* ---- series and matrices ---------------------------------------------- */

size_t
ev_matrix_add(struct ev *ev, struct ev_matrix *m, struct tr_promql_labels lbl,
              size_t cap_hint)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct ev_series *s = ev_alloc(ev, cap * sizeof(*s));
        if (m->n > 0) {
            memcpy(s, m->s, m->n * sizeof(*s));
        }
        m->s = s;
        m->cap = cap;
    }
    struct ev_series *s = &m->s[m->n];
    memset(s, 0, sizeof(*s));
    s->lbl = lbl;
    if (cap_hint > 0) {
        s->p = ev_alloc(ev, cap_hint * sizeof(*s->p));
        s->cap = cap_hint;
    }
    return m->n++;
}

void
ev_series_grow(struct ev *ev, struct ev_series *s)
{
    size_t cap = s->cap ? s->cap * 2 : 4;
    struct tr_promql_point *p = ev_alloc(ev, cap * sizeof(*p));
    if (s->n > 0) {
        memcpy(p, s->p, s->n * sizeof(*p));
    }
    s->p = p;
    s->cap = cap;
}

int64_t
ev_matrix_points(const struct ev_matrix *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        n += (int64_t)m->s[i].n;
    }
    return n;
}

void
ev_matrix_compact(struct ev_matrix *m)
{
    size_t j = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->s[i].n > 0) {
            m->s[j++] = m->s[i];
        }
    }
    m->n = j;
}

static _Noreturn void
fail_same_labelset(struct ev *ev)
{
    ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
            "vector cannot contain metrics with the same labelset");
}

/* Merges b's points into a (both sorted); fails on equal timestamps. */
static void
merge_series(struct ev *ev, struct ev_series *a, const struct ev_series *b)
{
    size_t n = a->n + b->n;
    struct tr_promql_point *p = ev_alloc(ev, n * sizeof(*p));
    size_t i = 0, j = 0, k = 0;

    while (i < a->n || j < b->n) {
        if (j == b->n || (i < a->n && a->p[i].t < b->p[j].t)) {
            p[k++] = a->p[i++];
        } else if (i == a->n || b->p[j].t < a->p[i].t) {
            p[k++] = b->p[j++];
        } else {
            fail_same_labelset(ev);
        }
    }
    a->p = p;
    a->n = n;
    a->cap = n;
}

void
ev_matrix_unique(struct ev *ev, struct ev_matrix *m, bool strict)
{
    if (m->n < 2) {
        return;
    }
    struct ev_map map;
    size_t j = 0;

    ev_map_init(ev, &map, m->n);
    for (size_t i = 0; i < m->n; i++) {
        uint64_t h = ev_labels_hash(&m->s[i].lbl);
        int32_t at = ev_map_get(&map, h);
        if (at < 0) {
            ev_map_put(ev, &map, h, (int32_t)j);
            m->s[j++] = m->s[i];
            continue;
        }
        if (strict) {
            fail_same_labelset(ev);
        }
        merge_series(ev, &m->s[at], &m->s[i]);
    }
    m->n = j;
}

/* ---- labels ------------------------------------------------------------ */

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static bool
bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

bool
tr_promql_labels_get(const struct tr_promql_labels *ls, const char *name,
                     size_t name_len, const char **value, size_t *len)
{
    for (size_t i = 0; i < ls->n; i++) {
        const struct tr_label *l = &ls->pairs[i];
        if (bytes_eq(l->name, l->name_len, name, name_len)) {
            if (value != NULL) {
                *value = l->value;
            }
            if (len != NULL) {
                *len = l->value_len;
            }
            return true;
        }
    }
    return false;
}

int
tr_promql_labels_compare(const struct tr_promql_labels *a,
                         const struct tr_promql_labels *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        const struct tr_label *x = &a->pairs[i], *y = &b->pairs[i];
        int c = bytes_cmp(x->name, x->name_len, y->name, y->name_len);
        if (c != 0) {
            return c;
        }
        c = bytes_cmp(x->value, x->value_len, y->value, y->value_len);
        if (c != 0) {
            return c;
        }
    }
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

int
tr_promql_labels_format(const struct tr_promql_labels *ls, struct tr_buf *out)
{
    int rc = tr_buf_append_byte(out, '{');
    for (size_t i = 0; rc == TR_OK && i < ls->n; i++) {
        const struct tr_label *l = &ls->pairs[i];
        if (i > 0) {
            rc = tr_buf_append_str(out, ", ");
        }
        if (rc == TR_OK) {
            rc = tr_buf_append(out, l->name, l->name_len);
        }
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(out, '=');
        }
        if (rc == TR_OK) {
            rc = tr_promql_format_string(l->value, l->value_len, out);
        }
    }
    return rc == TR_OK ? tr_buf_append_byte(out, '}') : rc;
}

bool
tr_promql_is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == TR_PROMQL_STALE_NAN_BITS;
}

double
tr_promql_stale_nan(void)
{
    uint64_t bits = TR_PROMQL_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

uint64_t
ev_labels_hash(const struct tr_promql_labels *l)
{
    XXH3_state_t st;
    static const char sep = (char)0xff;

    XXH3_64bits_reset(&st);
    for (size_t i = 0; i < l->n; i++) {
        XXH3_64bits_update(&st, l->pairs[i].name, l->pairs[i].name_len);
        XXH3_64bits_update(&st, &sep, 1);
        XXH3_64bits_update(&st, l->pairs[i].value, l->pairs[i].value_len);
        XXH3_64bits_update(&st, &sep, 1);
    }
    return XXH3_64bits_digest(&st);
}

bool
ev_labels_equal(const struct tr_promql_labels *a,
                const struct tr_promql_labels *b)
{
    return a->n == b->n && tr_promql_labels_compare(a, b) == 0;
}

bool
ev_name_in(const char *name, size_t len, const struct tr_promql_str *names,
           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (bytes_eq(name, len, names[i].data, names[i].len)) {
            return true;
        }
    }
    return false;
}

static bool
is_metric_name(const struct tr_label *l)
{
    return bytes_eq(l->name, l->name_len, TR_LABEL_METRIC_NAME, 8);
}

uint64_t
ev_labels_sig(const struct tr_promql_labels *l, bool on,
              const struct tr_promql_str *names, size_t n)
{
    XXH3_state_t st;
    static const char sep = (char)0xff;

    XXH3_64bits_reset(&st);
    for (size_t i = 0; i < l->n; i++) {
        const struct tr_label *p = &l->pairs[i];
        bool listed = ev_name_in(p->name, p->name_len, names, n);
        if (on ? !listed : (listed || is_metric_name(p))) {
            continue;
        }
        XXH3_64bits_update(&st, p->name, p->name_len);
        XXH3_64bits_update(&st, &sep, 1);
        XXH3_64bits_update(&st, p->value, p->value_len);
        XXH3_64bits_update(&st, &sep, 1);
    }
    return XXH3_64bits_digest(&st);
}

struct tr_promql_labels
ev_labels_drop_name(struct ev *ev, struct tr_promql_labels l)
{
    for (size_t i = 0; i < l.n; i++) {
        if (is_metric_name(&l.pairs[i])) {
            struct tr_label *p = ev_alloc(ev, (l.n) * sizeof(*p));
            memcpy(p, l.pairs, i * sizeof(*p));
            memcpy(p + i, l.pairs + i + 1, (l.n - i - 1) * sizeof(*p));
            return (struct tr_promql_labels){p, l.n - 1};
        }
    }
    return l;
}

struct tr_promql_labels
ev_labels_from_tsdb(struct ev *ev, const struct tr_labels *ls)
{
    size_t n = tr_labels_count(ls);
    struct tr_label *p = ev_alloc(ev, (n ? n : 1) * sizeof(*p));
    struct tr_labels_iter it;
    size_t i = 0;

    tr_labels_iter_init(&it, ls);
    while (i < n && tr_labels_iter_next(&it, &p[i])) {
        i++;
    }
    return (struct tr_promql_labels){p, i};
}

void
ev_lb_init(struct ev *ev, struct ev_lb *b, struct tr_promql_labels from,
           size_t extra)
{
    b->cap = from.n + extra + 1;
    b->p = ev_alloc(ev, b->cap * sizeof(*b->p));
    if (from.n > 0) {
        memcpy(b->p, from.pairs, from.n * sizeof(*b->p));
    }
    b->n = from.n;
}

void
ev_lb_del(struct ev_lb *b, const char *name, size_t name_len)
{
    for (size_t i = 0; i < b->n; i++) {
        if (bytes_eq(b->p[i].name, b->p[i].name_len, name, name_len)) {
            memmove(&b->p[i], &b->p[i + 1], (b->n - i - 1) * sizeof(*b->p));
            b->n--;
            return;
        }
    }
}

void
ev_lb_set(struct ev *ev, struct ev_lb *b, const char *name, size_t name_len,
          const char *value, size_t value_len)
{
    if (value_len == 0) {
        ev_lb_del(b, name, name_len);
        return;
    }
    size_t i = 0;
    while (i < b->n) {
        int c = bytes_cmp(b->p[i].name, b->p[i].name_len, name, name_len);
        if (c == 0) {
            b->p[i].value = value;
            b->p[i].value_len = value_len;
            return;
        }
        if (c > 0) {
            break;
        }
        i++;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap * 2 + 1;
        struct tr_label *p = ev_alloc(ev, cap * sizeof(*p));
        memcpy(p, b->p, b->n * sizeof(*p));
        b->p = p;
        b->cap = cap;
    }
    memmove(&b->p[i + 1], &b->p[i], (b->n - i) * sizeof(*b->p));
    b->p[i] = (struct tr_label){name, name_len, value, value_len};
    b->n++;
}

void
ev_lb_keep(struct ev_lb *b, const struct tr_promql_str *names, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (ev_name_in(b->p[i].name, b->p[i].name_len, names, n)) {
            b->p[j++] = b->p[i];
        }
    }
    b->n = j;
}

struct tr_promql_labels
ev_lb_labels(const struct ev_lb *b)
{
    return (struct tr_promql_labels){b->p, b->n};
}

bool
ev_label_name_valid(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* ---- float formatting ------------------------------------------------- */

size_t
ev_format_float(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        return (size_t)snprintf(buf, size, "NaN");
    }
    if (isinf(v)) {
        return (size_t)snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    }
    /* Shortest %e that reads back exactly, as Go's shortest formatting. */
    char e[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, v);
        if (strtod(e, NULL) == v) {
            break;
        }
    }
    /* e = [-]d[.ddd]e(+|-)xx */
    const char *p = e;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    char digits[32];
    size_t nd = 0;
    while (*p && *p != 'e') {
        if (*p != '.') {
            digits[nd++] = *p;
        }
        p++;
    }
    int exp10 = atoi(p + 1);
    /* Drop trailing zeros of the mantissa (keep one digit). */
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    size_t o = 0;
    char out[400];
    if (neg) {
        out[o++] = '-';
    }
    if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++) {
            out[o++] = '0';
        }
        memcpy(out + o, digits, nd);
        o += nd;
    } else {
        size_t int_digits = (size_t)exp10 + 1;
        for (size_t i = 0; i < int_digits; i++) {
            out[o++] = i < nd ? digits[i] : '0';
        }
        if (nd > int_digits) {
            out[o++] = '.';
            memcpy(out + o, digits + int_digits, nd - int_digits);
            o += nd - int_digits;
        }
    }
    out[o] = '\0';
    return (size_t)snprintf(buf, size, "%s", out);
}

int
tr_promql_format_value(double v, struct tr_buf *out)
{
    char buf[400];
    size_t n = ev_format_float(v, buf, sizeof(buf));
    return tr_buf_append(out, buf, n);
}

const char *
ev_fmt_g(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(buf, size, "%f", v);
    }
    return buf;
}

/* ---- hash map ---------------------------------------------------------- */

void
ev_map_init(struct ev *ev, struct ev_map *m, size_t hint)
{
    size_t cap = 16;
    while (cap < hint * 2) {
        cap *= 2;
    }
    m->keys = ev_alloc(ev, cap * sizeof(*m->keys));
    m->vals = ev_alloc(ev, cap * sizeof(*m->vals));
    memset(m->vals, 0xff, cap * sizeof(*m->vals));
    m->cap = cap;
    m->len = 0;
}

int32_t
ev_map_get(const struct ev_map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)(key ^ (key >> 29)) & mask;
    while (m->vals[i] >= 0) {
        if (m->keys[i] == key) {
            return m->vals[i];
        }
        i = (i + 1) & mask;
    }
    return -1;
}

static void
map_insert(struct ev_map *m, uint64_t key, int32_t val)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)(key ^ (key >> 29)) & mask;
    while (m->vals[i] >= 0) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
}

void
ev_map_put(struct ev *ev, struct ev_map *m, uint64_t key, int32_t val)
{
    if ((m->len + 1) * 2 > m->cap) {
        struct ev_map old = *m;
        ev_map_init(ev, m, old.cap);
        for (size_t i = 0; i < old.cap; i++) {
            if (old.vals[i] >= 0) {
                map_insert(m, old.keys[i], old.vals[i]);
            }
        }
    }
    map_insert(m, key, val);
}

void
ev_map_clear(struct ev_map *m)
{
    if (m->len > 0) {
        memset(m->vals, 0xff, m->cap * sizeof(*m->vals));
        m->len = 0;
    }
}

/* ---- math ---------------------------------------------------------------- */

double
ev_go_max(double a, double b)
{
    if (isinf(a) && a > 0) {
        return a;
    }
    if (isinf(b) && b > 0) {
        return b;
    }
    if (isnan(a) || isnan(b)) {
        return NAN;
    }
    if (a == 0 && a == b) {
        return signbit(a) ? b : a;
    }
    return a > b ? a : b;
}

double
ev_go_min(double a, double b)
{
    if (isinf(a) && a < 0) {
        return a;
    }
    if (isinf(b) && b < 0) {
        return b;
    }
    if (isnan(a) || isnan(b)) {
        return NAN;
    }
    if (a == 0 && a == b) {
        return signbit(a) ? a : b;
    }
    return a < b ? a : b;
}

/* Prometheus orders values for quantiles with NaN first. */
static int
cmp_nan_first(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    bool an = isnan(a), bn = isnan(b);
    if (an || bn) {
        return an && bn ? 0 : an ? -1 : 1;
    }
    return a < b ? -1 : a > b ? 1 : 0;
}

double
ev_quantile(double q, double *values, size_t n)
{
    if (n == 0 || isnan(q)) {
        return NAN;
    }
    if (q < 0) {
        return -INFINITY;
    }
    if (q > 1) {
        return INFINITY;
    }
    qsort(values, n, sizeof(double), cmp_nan_first);
    double fn = (double)n;
    double rank = q * (fn - 1);
    double lower = fmax(0, floor(rank));
    double upper = fmin(fn - 1, lower + 1);
    double weight = rank - floor(rank);
    return values[(size_t)lower] * (1 - weight) +
           values[(size_t)upper] * weight;
}
