/*
 * PromQL test-script runner (see promqltest.h for the language).
 *
 * Parsing follows the observable behaviour of Prometheus's runner: lines
 * are trimmed, comments blank out, a blank line ends a block, and the
 * value notation expands "a+bxn" into n+1 values by repeated addition (so
 * rounding accumulates the same way).
 */
#include "promql/promqltest.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "promql/engine.h"
#include "promql/parser.h"
#include "promql/storage.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"

/* ---- small helpers ---------------------------------------------------- */

/* The stale marker (value.h), built here so parsing needs no engine. */
static double
stale_nan(void)
{
    uint64_t bits = TR_PROMQL_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static bool
is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == TR_PROMQL_STALE_NAN_BITS;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
prefix_ci(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)s[i]) != word[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Parses a number at s: [+-] then Inf, NaN (any case) or a decimal with
 * optional fraction and exponent. Hex is not accepted, so "0x3" reads as
 * zero repeated. Returns bytes consumed, 0 when there is no number.
 */
static size_t
scan_number(const char *s, size_t len, bool allow_sign, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (allow_sign && i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (prefix_ci(s + i, len - i, "inf")) {
        *out = neg ? -INFINITY : INFINITY;
        return i + 3;
    }
    if (prefix_ci(s + i, len - i, "nan")) {
        *out = NAN;
        return i + 3;
    }
    size_t start = i, digits = 0;
    while (i < len && isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && isdigit((unsigned char)s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-')) {
            j++;
        }
        if (j < len && isdigit((unsigned char)s[j])) {
            while (j < len && isdigit((unsigned char)s[j])) {
                j++;
            }
            i = j;
        }
    }
    char tmp[64];
    size_t n = i - start;
    if (n >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, s + start, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    *out = neg ? -v : v;
    return i;
}

/* Parses a whole string as a number (an expected scalar line). */
static bool
parse_whole_number(const char *s, size_t len, double *out)
{
    size_t n = scan_number(s, len, true, out);
    return n > 0 && n == len;
}

static int
parse_duration_ms(const char *s, size_t len, int64_t *out, struct tr_err *err)
{
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp)) {
        return tr_err_set(err, TR_EINVAL, "cannot parse duration \"%.*s\"",
                          (int)len, s);
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    int64_t ns;
    int rc = tr_duration_parse(tmp, &ns, err);
    if (rc != TR_OK) {
        return rc;
    }
    *out = ns / TR_NS_PER_MS;
    return TR_OK;
}

/* Shortest text that reads back as v (like Go's %v for floats). */
static void
format_double(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, is_stale_nan(v) ? "stale" : "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    } else {
        int prec = 1;
        for (; prec < 17; prec++) {
            snprintf(out, size, "%.*g", prec, v);
            if (strtod(out, NULL) == v) {
                break;
            }
        }
        /* Plain decimals in the range Go prints them so (no exponent). */
        int e = v == 0 ? 0 : (int)floor(log10(fabs(v)));
        if (e >= -4 && e < 21) {
            int decimals = prec - 1 - e;
            snprintf(out, size, "%.*f", decimals > 0 ? decimals : 0, v);
        } else {
            snprintf(out, size, "%.*g", prec, v);
        }
    }
}

/* ---- series descriptions ---------------------------------------------- */

/* Where the label part of a series description ends (after '}' or the
 * bare metric name). 0 when there is none. */
static size_t
scan_metric(const char *s, size_t len, bool *braces)
{
    size_t i = 0;
    while (i < len &&
           (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')) {
        i++;
    }
    *braces = false;
    if (i < len && s[i] == '{') {
        *braces = true;
        char quote = 0;
        for (i++; i < len; i++) {
            char c = s[i];
            if (quote) {
                if (c == '\\' && quote != '`') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '"' || c == '\'' || c == '`') {
                quote = c;
            } else if (c == '}') {
                return i + 1;
            }
        }
        return 0;
    }
    return i;
}

static int
parse_labels_part(const char *s, size_t n, bool braces, struct tr_labels **out,
                  struct tr_err *err)
{
    if (braces) {
        return tr_labels_parse(s, n, out, err);
    }
    /* A bare metric name: the label parser wants braces. */
    struct tr_buf b = TR_BUF_INIT;
    if (tr_buf_append(&b, s, n) != TR_OK ||
        tr_buf_append_str(&b, "{}") != TR_OK) {
        tr_buf_fini(&b);
        return tr_err_set(err, TR_ENOMEM, "cannot parse labels: no memory");
    }
    int rc = tr_labels_parse(b.data, b.len, out, err);
    tr_buf_fini(&b);
    return rc;
}

struct value_list {
    struct tr_promqltest_value *v;
    size_t n;
    size_t cap;
};

static int
values_push(struct value_list *l, double v, bool omitted)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *p = tr_realloc(l->v, cap * sizeof(*l->v));
        if (p == NULL) {
            return TR_ENOMEM;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n].v = v;
    l->v[l->n].omitted = omitted;
    l->n++;
    return TR_OK;
}

/* Reads "x<uint>" at s; returns bytes consumed or 0. */
static size_t
scan_times(const char *s, size_t len, uint64_t *count)
{
    if (len < 2 || s[0] != 'x' || !isdigit((unsigned char)s[1])) {
        return 0;
    }
    uint64_t c = 0;
    size_t i = 1;
    while (i < len && isdigit((unsigned char)s[i])) {
        c = c * 10 + (uint64_t)(s[i] - '0');
        if (c > 1000000) {
            return 0;
        }
        i++;
    }
    *count = c;
    return i;
}

/* Expands one whitespace-free item ("1+2x3", "_x2", "stale", "NaN"). */
static int
parse_item(const char *s, size_t len, struct value_list *l, struct tr_err *err)
{
    uint64_t count;
    size_t k;
    if (s[0] == '_') {
        if (len == 1) {
            return values_push(l, 0, true);
        }
        k = scan_times(s + 1, len - 1, &count);
        if (k == 0 || 1 + k != len) {
            goto bad;
        }
        for (uint64_t i = 0; i < count; i++) {
            if (values_push(l, 0, true) != TR_OK) {
                return TR_ENOMEM;
            }
        }
        return TR_OK;
    }
    double first, delta = 0;
    bool add = false;
    size_t i;
    if (len >= 5 && strncmp(s, "stale", 5) == 0) {
        first = stale_nan();
        i = 5;
    } else {
        i = scan_number(s, len, true, &first);
        if (i == 0) {
            goto bad;
        }
    }
    if (i == len) {
        return values_push(l, first, false);
    }
    if (s[i] == '+' || s[i] == '-') {
        size_t d = scan_number(s + i, len - i, true, &delta);
        if (d == 0) {
            goto bad;
        }
        i += d;
        add = true;
        k = scan_times(s + i, len - i, &count);
        if (k == 0) {
            goto bad;
        }
    } else {
        k = scan_times(s + i, len - i, &count);
        if (k == 0) {
            goto bad;
        }
    }
    if (i + k != len) {
        goto bad;
    }
    /* n+1 values: the repetition counts steps after the first. Only
     * "a+bxn" adds (so "stalexn" keeps the stale marker's exact bits). */
    for (uint64_t j = 0; j <= count; j++) {
        if (values_push(l, first, false) != TR_OK) {
            return TR_ENOMEM;
        }
        if (add) {
            first += delta;
        }
    }
    return TR_OK;
bad:
    return tr_err_set(err, TR_EINVAL,
                      "cannot parse series description: bad value \"%.*s\" "
                      "(want a number, NaN, Inf, stale, _, a+bxn or axn)",
                      (int)len, s);
}

int
tr_promqltest_parse_series(const char *line, size_t len,
                           struct tr_labels **labels,
                           struct tr_promqltest_value **values, size_t *n,
                           struct tr_err *err)
{
    *labels = NULL;
    *values = NULL;
    *n = 0;
    while (len > 0 && is_space(line[0])) {
        line++;
        len--;
    }
    bool braces;
    size_t end = scan_metric(line, len, &braces);
    if (end == 0) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot parse series description: missing metric "
                          "name or label set in \"%.*s\"",
                          (int)len, line);
    }
    struct tr_labels *ls = NULL;
    int rc = parse_labels_part(line, end, braces, &ls, err);
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot parse series description");
    }
    struct value_list l = {0};
    size_t i = end;
    if (i < len && !is_space(line[i])) {
        rc = tr_err_set(err, TR_EINVAL,
                        "cannot parse series description: unexpected "
                        "\"%c\" after the label set",
                        line[i]);
        goto fail;
    }
    while (i < len) {
        while (i < len && is_space(line[i])) {
            i++;
        }
        size_t start = i;
        while (i < len && !is_space(line[i])) {
            i++;
        }
        if (i > start) {
            rc = parse_item(line + start, i - start, &l, err);
            if (rc != TR_OK) {
                goto fail;
            }
        }
    }
    *labels = ls;
    *values = l.v;
    *n = l.n;
    return TR_OK;
fail:
    tr_labels_destroy(ls);
    tr_free(l.v);
    return rc;
}

/* ---- scripts ---------------------------------------------------------- */

static void
labels_free(void *p)
{
    tr_labels_destroy(p);
}

static void
mem_free(void *p)
{
    tr_free(p);
}

struct parser {
    struct tr_promqltest_script *s;
    struct tr_arena *a;
    size_t cap_cmds;
    /* Lines of the file, trimmed, comments blanked. */
    const char **lines;
    size_t *lens;
    size_t n_lines;
    struct tr_err *err;
};

static int perr(struct parser *p, size_t line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
perr(struct parser *p, size_t line, int code, const char *fmt, ...)
{
    char msg[TR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tr_err_set(p->err, code, "%s:%zu: %s", p->s->name, line + 1, msg);
}

static struct tr_promqltest_cmd *
new_cmd(struct parser *p, enum tr_promqltest_cmd_kind kind, size_t line)
{
    struct tr_promqltest_script *s = p->s;
    if (s->n_cmds == p->cap_cmds) {
        size_t cap = p->cap_cmds ? p->cap_cmds * 2 : 32;
        struct tr_promqltest_cmd *c = tr_arena_calloc(p->a, cap, sizeof(*c));
        if (c == NULL) {
            return NULL;
        }
        if (s->n_cmds > 0) {
            memcpy(c, s->cmds, s->n_cmds * sizeof(*c));
        }
        s->cmds = c;
        p->cap_cmds = cap;
    }
    struct tr_promqltest_cmd *c = &s->cmds[s->n_cmds++];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->line = (uint32_t)line + 1;
    return c;
}

static int
add_series(struct parser *p, struct tr_promqltest_cmd *c, size_t *cap,
           size_t line)
{
    struct tr_labels *ls;
    struct tr_promqltest_value *vals;
    size_t n;
    struct tr_err e;
    int rc = tr_promqltest_parse_series(p->lines[line], p->lens[line], &ls,
                                        &vals, &n, &e);
    if (rc != TR_OK) {
        return perr(p, line, rc, "%s", e.msg);
    }
    if (tr_arena_on_reset(p->a, labels_free, ls) != TR_OK) {
        tr_labels_destroy(ls);
        tr_free(vals);
        return perr(p, line, TR_ENOMEM, "no memory");
    }
    if (vals != NULL && tr_arena_on_reset(p->a, mem_free, vals) != TR_OK) {
        tr_free(vals);
        return perr(p, line, TR_ENOMEM, "no memory");
    }
    for (size_t i = 0; i < c->n_series; i++) {
        if (tr_labels_equal(c->series[i].labels, ls)) {
            return perr(p, line, TR_EINVAL,
                        "duplicate series in one block: %.*s",
                        (int)p->lens[line], p->lines[line]);
        }
    }
    if (c->n_series == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct tr_promqltest_series *ns =
            tr_arena_calloc(p->a, ncap, sizeof(*ns));
        if (ns == NULL) {
            return perr(p, line, TR_ENOMEM, "no memory");
        }
        if (c->n_series > 0) {
            memcpy(ns, c->series, c->n_series * sizeof(*ns));
        }
        c->series = ns;
        *cap = ncap;
    }
    struct tr_promqltest_series *se = &c->series[c->n_series++];
    se->labels = ls;
    se->values = vals;
    se->n = n;
    se->line = (uint32_t)line + 1;
    return TR_OK;
}

/* Splits off the next whitespace-separated word of [*s, end). */
static bool
next_word(const char **s, const char *end, const char **w, size_t *wl)
{
    const char *p = *s;
    while (p < end && is_space(*p)) {
        p++;
    }
    const char *start = p;
    while (p < end && !is_space(*p)) {
        p++;
    }
    *w = start;
    *wl = (size_t)(p - start);
    *s = p;
    return *wl > 0;
}

static bool
word_is(const char *w, size_t wl, const char *lit)
{
    return wl == strlen(lit) && memcmp(w, lit, wl) == 0;
}

static int
parse_load(struct parser *p, size_t *i)
{
    size_t line = *i;
    const char *s = p->lines[line], *end = s + p->lens[line], *w;
    size_t wl;
    next_word(&s, end, &w, &wl); /* "load" */
    if (!next_word(&s, end, &w, &wl)) {
        return perr(p, line, TR_EINVAL,
                    "cannot parse load: want \"load <interval>\"");
    }
    const char *rest;
    size_t rl;
    if (next_word(&s, end, &rest, &rl)) {
        return perr(p, line, TR_EINVAL,
                    "cannot parse load: unexpected \"%.*s\"", (int)rl, rest);
    }
    struct tr_promqltest_cmd *c = new_cmd(p, TR_PROMQLTEST_LOAD, line);
    if (c == NULL) {
        return perr(p, line, TR_ENOMEM, "no memory");
    }
    struct tr_err e;
    if (parse_duration_ms(w, wl, &c->interval_ms, &e) != TR_OK ||
        c->interval_ms <= 0) {
        return perr(p, line, TR_EINVAL,
                    "cannot parse load: bad interval \"%.*s\"", (int)wl, w);
    }
    size_t cap = 0;
    while (*i + 1 < p->n_lines && p->lens[*i + 1] > 0) {
        (*i)++;
        int rc = add_series(p, c, &cap, *i);
        if (rc != TR_OK) {
            return rc;
        }
    }
    return TR_OK;
}

static int
parse_eval(struct parser *p, size_t *i)
{
    size_t line = *i;
    const char *s = p->lines[line], *end = s + p->lens[line], *w;
    size_t wl;
    next_word(&s, end, &w, &wl);
    struct tr_promqltest_cmd *c = new_cmd(p, TR_PROMQLTEST_EVAL, line);
    if (c == NULL) {
        return perr(p, line, TR_ENOMEM, "no memory");
    }
    if (word_is(w, wl, "eval_fail")) {
        c->fail = true;
    } else if (word_is(w, wl, "eval_ordered")) {
        c->ordered = true;
    } else if (!word_is(w, wl, "eval")) {
        return perr(p, line, TR_EINVAL,
                    "cannot parse eval: unknown command \"%.*s\"", (int)wl, w);
    }
    struct tr_err e;
    next_word(&s, end, &w, &wl);
    if (word_is(w, wl, "instant")) {
        next_word(&s, end, &w, &wl);
        if (!word_is(w, wl, "at")) {
            return perr(p, line, TR_EINVAL,
                        "cannot parse eval: want \"eval instant at <time> "
                        "<expr>\"");
        }
        next_word(&s, end, &w, &wl);
        if (parse_duration_ms(w, wl, &c->start_ms, &e) != TR_OK) {
            return perr(p, line, TR_EINVAL,
                        "cannot parse eval: bad time \"%.*s\"", (int)wl, w);
        }
        c->end_ms = c->start_ms;
    } else if (word_is(w, wl, "range")) {
        if (c->ordered) {
            return perr(p, line, TR_EINVAL,
                        "cannot parse eval: eval_ordered has no range form");
        }
        c->range = true;
        static const char *const kw[] = {"from", "to", "step"};
        int64_t *dst[] = {&c->start_ms, &c->end_ms, &c->step_ms};
        for (int k = 0; k < 3; k++) {
            next_word(&s, end, &w, &wl);
            if (!word_is(w, wl, kw[k])) {
                return perr(p, line, TR_EINVAL,
                            "cannot parse eval: want \"eval range from <t> "
                            "to <t> step <d> <expr>\"");
            }
            next_word(&s, end, &w, &wl);
            if (parse_duration_ms(w, wl, dst[k], &e) != TR_OK) {
                return perr(p, line, TR_EINVAL,
                            "cannot parse eval: bad %s \"%.*s\"", kw[k],
                            (int)wl, w);
            }
        }
        if (c->step_ms <= 0 || c->end_ms < c->start_ms) {
            return perr(p, line, TR_EINVAL,
                        "cannot parse eval: want start <= end and step > 0");
        }
    } else {
        return perr(p, line, TR_EINVAL,
                    "cannot parse eval: want \"instant\" or \"range\"");
    }
    while (s < end && is_space(*s)) {
        s++;
    }
    if (s == end) {
        return perr(p, line, TR_EINVAL, "cannot parse eval: no expression");
    }
    c->expr = tr_arena_strndup(p->a, s, (size_t)(end - s));
    if (c->expr == NULL) {
        return perr(p, line, TR_ENOMEM, "no memory");
    }
    size_t cap = 0;
    while (*i + 1 < p->n_lines && p->lens[*i + 1] > 0) {
        (*i)++;
        const char *l = p->lines[*i];
        size_t ll = p->lens[*i];
        if (ll == 11 && memcmp(l, "expect fail", 11) == 0) {
            c->fail = true;
            continue;
        }
        if (ll == 14 && memcmp(l, "expect ordered", 14) == 0) {
            c->ordered = true;
            continue;
        }
        double v;
        if (parse_whole_number(l, ll, &v)) {
            if (c->n_series > 0 || c->expect_scalar) {
                return perr(p, *i, TR_EINVAL,
                            "cannot parse expectation: a scalar must be the "
                            "only expected result");
            }
            /* As in Prometheus, a scalar ends the block. */
            c->expect_scalar = true;
            c->scalar = v;
            break;
        }
        if (c->expect_scalar) {
            return perr(p, *i, TR_EINVAL,
                        "cannot parse expectation: a scalar must be the "
                        "only expected result");
        }
        int rc = add_series(p, c, &cap, *i);
        if (rc != TR_OK) {
            return rc;
        }
        struct tr_promqltest_series *se = &c->series[c->n_series - 1];
        if (!c->range && se->n != 1) {
            return perr(p, *i, TR_EINVAL,
                        "cannot parse expectation: an instant eval expects "
                        "exactly one value per series, got %zu",
                        se->n);
        }
        if (c->range) {
            int64_t steps = (c->end_ms - c->start_ms) / c->step_ms + 1;
            if ((int64_t)se->n != steps) {
                return perr(p, *i, TR_EINVAL,
                            "cannot parse expectation: the range has %lld "
                            "steps but %zu values are given",
                            (long long)steps, se->n);
            }
        }
    }
    if (c->fail && (c->n_series > 0 || c->expect_scalar)) {
        return perr(p, line, TR_EINVAL,
                    "cannot parse eval: a failing eval expects no results");
    }
    if (c->ordered && c->expect_scalar) {
        return perr(p, line, TR_EINVAL,
                    "cannot parse eval: eval_ordered needs a vector");
    }
    /* The expression must parse unless the eval expects a failure. */
    if (!c->fail) {
        struct tr_arena *tmp = tr_arena_create(0);
        if (tmp == NULL) {
            return perr(p, line, TR_ENOMEM, "no memory");
        }
        struct tr_promql_node *node;
        int rc =
            tr_promql_parse(c->expr, strlen(c->expr), tmp, &node, NULL, &e);
        tr_arena_destroy(tmp);
        if (rc != TR_OK) {
            return perr(p, line, rc, "cannot parse expression %s: %s", c->expr,
                        e.msg);
        }
    }
    return TR_OK;
}

int
tr_promqltest_parse(const char *name, const char *text, size_t len,
                    struct tr_promqltest_script **out, struct tr_err *err)
{
    *out = NULL;
    struct parser p = {0};
    p.err = err;
    p.a = tr_arena_create(0);
    if (p.a == NULL) {
        return tr_err_set(err, TR_ENOMEM, "cannot parse %s: no memory", name);
    }
    int rc = TR_ENOMEM;
    p.s = tr_arena_calloc(p.a, 1, sizeof(*p.s));
    if (p.s == NULL) {
        goto nomem;
    }
    p.s->arena = p.a;
    p.s->name = tr_arena_strndup(p.a, name, strlen(name));
    if (p.s->name == NULL) {
        goto nomem;
    }
    size_t n = 1;
    for (size_t i = 0; i < len; i++) {
        n += text[i] == '\n';
    }
    p.lines = tr_arena_calloc(p.a, n, sizeof(*p.lines));
    p.lens = tr_arena_calloc(p.a, n, sizeof(*p.lens));
    if (p.lines == NULL || p.lens == NULL) {
        goto nomem;
    }
    const char *pos = text, *end = text + len;
    while (pos <= end && p.n_lines < n) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        const char *le = nl ? nl : end;
        const char *b = pos, *e = le;
        while (b < e && is_space(*b)) {
            b++;
        }
        while (e > b && is_space(e[-1])) {
            e--;
        }
        if (b < e && *b == '#') {
            e = b;
        }
        p.lines[p.n_lines] = b;
        p.lens[p.n_lines] = (size_t)(e - b);
        p.n_lines++;
        if (nl == NULL) {
            break;
        }
        pos = nl + 1;
    }
    for (size_t i = 0; i < p.n_lines; i++) {
        const char *l = p.lines[i], *w;
        size_t wl, ll = p.lens[i];
        if (ll == 0) {
            continue;
        }
        const char *s = l;
        next_word(&s, l + ll, &w, &wl);
        if (word_is(w, wl, "clear") && wl == ll) {
            if (new_cmd(&p, TR_PROMQLTEST_CLEAR, i) == NULL) {
                goto nomem;
            }
            continue;
        }
        if (word_is(w, wl, "load")) {
            rc = parse_load(&p, &i);
        } else if (wl >= 4 && memcmp(w, "eval", 4) == 0) {
            rc = parse_eval(&p, &i);
        } else {
            rc = perr(&p, i, TR_EINVAL, "unknown command \"%.*s\"", (int)ll, l);
        }
        if (rc != TR_OK) {
            goto fail;
        }
    }
    p.lines = NULL;
    *out = p.s;
    return TR_OK;
nomem:
    rc = tr_err_set(err, TR_ENOMEM, "cannot parse %s: no memory", name);
fail:
    tr_arena_destroy(p.a);
    return rc;
}

int
tr_promqltest_parse_file(const char *path, struct tr_promqltest_script **out,
                         struct tr_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return tr_err_set(err, TR_EIO, "cannot read %s: %s", path,
                          strerror(errno));
    }
    struct tr_buf b = TR_BUF_INIT;
    char chunk[8192];
    size_t n;
    int rc = TR_OK;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (tr_buf_append(&b, chunk, n) != TR_OK) {
            rc = tr_err_set(err, TR_ENOMEM, "cannot read %s: no memory", path);
            break;
        }
    }
    if (rc == TR_OK && ferror(f)) {
        rc = tr_err_set(err, TR_EIO, "cannot read %s: read error", path);
    }
    fclose(f);
    if (rc == TR_OK) {
        rc = tr_promqltest_parse(path, b.data ? b.data : "", b.len, out, err);
    }
    tr_buf_fini(&b);
    return rc;
}

void
tr_promqltest_script_destroy(struct tr_promqltest_script *s)
{
    if (s != NULL) {
        tr_arena_destroy(s->arena);
    }
}

/* ---- comparison ------------------------------------------------------- */

bool
tr_promqltest_almost_equal(double a, double b)
{
    /* Smallest positive normal double (Go's minNormal in the runner). */
    const double min_normal = 2.2250738585072014e-308;
    const double epsilon = 0.000001;
    if (isnan(a) && isnan(b)) {
        return true;
    }
    if (a == b) {
        return true;
    }
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || diff < min_normal) {
        return diff < epsilon * min_normal;
    }
    return diff / (fabs(a) + fabs(b)) < epsilon;
}

/* got labels as a tr_labels (for equality with expectations). */
static struct tr_labels *
got_labels(const struct tr_promql_labels *l)
{
    struct tr_labels *ls = NULL;
    if (tr_labels_from_pairs(l->pairs, l->n, &ls, NULL) != TR_OK) {
        return NULL;
    }
    return ls;
}

static void
append_labels(struct tr_buf *b, const struct tr_labels *ls)
{
    if (ls == NULL) {
        tr_buf_append_str(b, "<bad labels>");
    } else {
        tr_labels_format(ls, b);
    }
}

static void
append_value(struct tr_buf *b, double v)
{
    char tmp[64];
    format_double(v, tmp, sizeof(tmp));
    tr_buf_append_str(b, tmp);
}

static const struct tr_promqltest_series *
find_expected(const struct tr_promqltest_cmd *c, const struct tr_labels *ls,
              size_t *pos)
{
    for (size_t i = 0; i < c->n_series; i++) {
        if (ls != NULL && tr_labels_equal(c->series[i].labels, ls)) {
            *pos = i;
            return &c->series[i];
        }
    }
    return NULL;
}

static bool
compare_vector(const struct tr_promqltest_cmd *c,
               const struct tr_promql_sample *smp, size_t n, struct tr_buf *why)
{
    bool ok = true;
    bool *seen = tr_calloc(c->n_series + 1, sizeof(bool));
    if (seen == NULL) {
        tr_buf_append_str(why, "no memory");
        return false;
    }
    for (size_t i = 0; i < n && ok; i++) {
        struct tr_labels *ls = got_labels(&smp[i].labels);
        size_t pos;
        const struct tr_promqltest_series *e = find_expected(c, ls, &pos);
        if (e == NULL) {
            tr_buf_append_str(why, "unexpected metric ");
            append_labels(why, ls);
            tr_buf_append_str(why, " in result");
            ok = false;
        } else if (seen[pos]) {
            tr_buf_append_str(why, "metric ");
            append_labels(why, ls);
            tr_buf_append_str(why, " twice in result");
            ok = false;
        } else if (c->ordered && pos != i) {
            tr_buf_append_str(why, "expected metric ");
            append_labels(why, ls);
            tr_buf_appendf(why, " at position %zu but was at %zu", pos + 1,
                           i + 1);
            ok = false;
        } else if (!tr_promqltest_almost_equal(e->values[0].v, smp[i].v)) {
            tr_buf_append_str(why, "expected ");
            append_value(why, e->values[0].v);
            tr_buf_append_str(why, " for ");
            append_labels(why, ls);
            tr_buf_append_str(why, " but got ");
            append_value(why, smp[i].v);
            ok = false;
        } else {
            seen[pos] = true;
        }
        tr_labels_destroy(ls);
    }
    for (size_t i = 0; i < c->n_series && ok; i++) {
        if (!seen[i]) {
            tr_buf_append_str(why, "expected metric ");
            append_labels(why, c->series[i].labels);
            tr_buf_append_str(why, " not found");
            ok = false;
        }
    }
    tr_free(seen);
    return ok;
}

static bool
compare_matrix(const struct tr_promqltest_cmd *c,
               const struct tr_promql_series *ser, size_t n, struct tr_buf *why)
{
    bool ok = true;
    bool *seen = tr_calloc(c->n_series + 1, sizeof(bool));
    if (seen == NULL) {
        tr_buf_append_str(why, "no memory");
        return false;
    }
    for (size_t i = 0; i < n && ok; i++) {
        struct tr_labels *ls = got_labels(&ser[i].labels);
        size_t pos;
        const struct tr_promqltest_series *e = find_expected(c, ls, &pos);
        if (e == NULL || seen[pos]) {
            tr_buf_append_str(why, e ? "twice in result: "
                                     : "unexpected series in result: ");
            append_labels(why, ls);
            tr_labels_destroy(ls);
            ok = false;
            break;
        }
        seen[pos] = true;
        /* Walk the steps: expected value or "_", against got points. */
        size_t gp = 0;
        for (size_t k = 0; k < e->n && ok; k++) {
            int64_t t = c->start_ms + (int64_t)k * c->step_ms;
            bool have = gp < ser[i].n_points && ser[i].points[gp].t == t;
            if (gp < ser[i].n_points && ser[i].points[gp].t < t) {
                tr_buf_appendf(why, "unexpected point at t=%lld for ",
                               (long long)ser[i].points[gp].t);
                append_labels(why, ls);
                ok = false;
            } else if (e->values[k].omitted && have) {
                tr_buf_appendf(why, "expected no point at t=%lld for ",
                               (long long)t);
                append_labels(why, ls);
                tr_buf_append_str(why, " but got ");
                append_value(why, ser[i].points[gp].v);
                ok = false;
            } else if (!e->values[k].omitted && !have) {
                tr_buf_append_str(why, "expected ");
                append_value(why, e->values[k].v);
                tr_buf_appendf(why, " at t=%lld for ", (long long)t);
                append_labels(why, ls);
                tr_buf_append_str(why, " but got no point");
                ok = false;
            } else if (have && !tr_promqltest_almost_equal(
                                   e->values[k].v, ser[i].points[gp].v)) {
                tr_buf_append_str(why, "expected ");
                append_value(why, e->values[k].v);
                tr_buf_appendf(why, " at t=%lld for ", (long long)t);
                append_labels(why, ls);
                tr_buf_append_str(why, " but got ");
                append_value(why, ser[i].points[gp].v);
                ok = false;
            }
            if (have) {
                gp++;
            }
        }
        if (ok && gp < ser[i].n_points) {
            tr_buf_appendf(why, "unexpected point at t=%lld for ",
                           (long long)ser[i].points[gp].t);
            append_labels(why, ls);
            ok = false;
        }
        tr_labels_destroy(ls);
    }
    for (size_t i = 0; i < c->n_series && ok; i++) {
        if (!seen[i]) {
            tr_buf_append_str(why, "expected series ");
            append_labels(why, c->series[i].labels);
            tr_buf_append_str(why, " not found");
            ok = false;
        }
    }
    tr_free(seen);
    return ok;
}

bool
tr_promqltest_compare(const struct tr_promqltest_cmd *c,
                      const struct tr_promql_value *got, struct tr_buf *why)
{
    struct tr_buf sink = TR_BUF_INIT;
    if (why == NULL) {
        why = &sink;
    }
    bool ok = false;
    if (c->range) {
        if (got->type != TR_PROMQL_TYPE_MATRIX) {
            tr_buf_appendf(why, "expected a range result, got %s",
                           tr_promql_type_name(got->type));
        } else {
            ok = compare_matrix(c, got->u.matrix.series, got->u.matrix.n, why);
        }
    } else if (got->type == TR_PROMQL_TYPE_SCALAR) {
        if (!c->expect_scalar) {
            tr_buf_append_str(why, "expected a vector, got scalar ");
            append_value(why, got->u.scalar.v);
        } else if (!tr_promqltest_almost_equal(c->scalar, got->u.scalar.v)) {
            tr_buf_append_str(why, "expected scalar ");
            append_value(why, c->scalar);
            tr_buf_append_str(why, " but got ");
            append_value(why, got->u.scalar.v);
        } else {
            ok = true;
        }
    } else if (got->type == TR_PROMQL_TYPE_VECTOR) {
        if (c->expect_scalar) {
            tr_buf_append_str(why, "expected a scalar, got a vector");
        } else {
            ok = compare_vector(c, got->u.vector.samples, got->u.vector.n, why);
        }
    } else {
        tr_buf_appendf(why, "unexpected %s result on instant evaluation",
                       tr_promql_type_name(got->type));
    }
    tr_buf_fini(&sink);
    return ok;
}

/* ---- running ---------------------------------------------------------- */

static void
describe_expected(const struct tr_promqltest_cmd *c, struct tr_buf *b)
{
    if (c->fail) {
        tr_buf_append_str(b, "    (an error)\n");
        return;
    }
    if (c->expect_scalar) {
        tr_buf_append_str(b, "    ");
        append_value(b, c->scalar);
        tr_buf_append_str(b, "\n");
        return;
    }
    if (c->n_series == 0) {
        tr_buf_append_str(b, "    (empty)\n");
    }
    for (size_t i = 0; i < c->n_series; i++) {
        tr_buf_append_str(b, "    ");
        append_labels(b, c->series[i].labels);
        for (size_t k = 0; k < c->series[i].n; k++) {
            tr_buf_append_str(b, " ");
            if (c->series[i].values[k].omitted) {
                tr_buf_append_str(b, "_");
            } else {
                append_value(b, c->series[i].values[k].v);
            }
        }
        tr_buf_append_str(b, "\n");
    }
}

static void
describe_got(const struct tr_promql_value *v, struct tr_buf *b)
{
    switch (v->type) {
    case TR_PROMQL_TYPE_SCALAR:
        tr_buf_append_str(b, "    scalar ");
        append_value(b, v->u.scalar.v);
        tr_buf_append_str(b, "\n");
        break;
    case TR_PROMQL_TYPE_STRING:
        tr_buf_appendf(b, "    string \"%.*s\"\n", (int)v->u.string.len,
                       v->u.string.data);
        break;
    case TR_PROMQL_TYPE_VECTOR:
        if (v->u.vector.n == 0) {
            tr_buf_append_str(b, "    (empty vector)\n");
        }
        for (size_t i = 0; i < v->u.vector.n; i++) {
            struct tr_labels *ls = got_labels(&v->u.vector.samples[i].labels);
            tr_buf_append_str(b, "    ");
            append_labels(b, ls);
            tr_buf_append_str(b, " ");
            append_value(b, v->u.vector.samples[i].v);
            tr_buf_append_str(b, "\n");
            tr_labels_destroy(ls);
        }
        break;
    case TR_PROMQL_TYPE_MATRIX:
        if (v->u.matrix.n == 0) {
            tr_buf_append_str(b, "    (empty matrix)\n");
        }
        for (size_t i = 0; i < v->u.matrix.n; i++) {
            const struct tr_promql_series *s = &v->u.matrix.series[i];
            struct tr_labels *ls = got_labels(&s->labels);
            tr_buf_append_str(b, "    ");
            append_labels(b, ls);
            for (size_t k = 0; k < s->n_points; k++) {
                tr_buf_appendf(b, " %lld:", (long long)s->points[k].t);
                append_value(b, s->points[k].v);
            }
            tr_buf_append_str(b, "\n");
            tr_labels_destroy(ls);
        }
        break;
    default:
        tr_buf_append_str(b, "    (nothing)\n");
    }
}

static bool
is_known_failure(const struct tr_promqltest_options *o, const char *name,
                 uint32_t line)
{
    if (o == NULL) {
        return false;
    }
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char key[512];
    snprintf(key, sizeof(key), "%s:%u", base, (unsigned)line);
    for (size_t i = 0; i < o->n_known_failures; i++) {
        if (strcmp(o->known_failures[i], key) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The instant-vs-range check: the points at t of a range query over
 * [t-1m, t+1m] as the value an instant query would give.
 */
static int
middle_step(struct tr_arena *a, const struct tr_promql_value *range,
            bool scalar, int64_t t, struct tr_promql_value *out,
            struct tr_buf *why)
{
    memset(out, 0, sizeof(*out));
    if (range->type != TR_PROMQL_TYPE_MATRIX) {
        tr_buf_appendf(why, "range query returned %s, not a matrix",
                       tr_promql_type_name(range->type));
        return TR_EINVAL;
    }
    size_t n = range->u.matrix.n, k = 0;
    struct tr_promql_sample *smp = tr_arena_calloc(a, n + 1, sizeof(*smp));
    if (smp == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct tr_promql_series *s = &range->u.matrix.series[i];
        for (size_t j = 0; j < s->n_points; j++) {
            if (s->points[j].t == t) {
                smp[k].labels = s->labels;
                smp[k].t = t;
                smp[k].v = s->points[j].v;
                k++;
                break;
            }
        }
    }
    if (scalar) {
        if (k != 1) {
            tr_buf_appendf(why,
                           "range query has %zu points at t=%lld for a "
                           "scalar",
                           k, (long long)t);
            return TR_EINVAL;
        }
        out->type = TR_PROMQL_TYPE_SCALAR;
        out->u.scalar.t = t;
        out->u.scalar.v = smp[0].v;
        return TR_OK;
    }
    out->type = TR_PROMQL_TYPE_VECTOR;
    out->u.vector.samples = smp;
    out->u.vector.n = k;
    return TR_OK;
}

/* Runs one eval; *passed tells the outcome, why the reason. */
static int
run_eval(const struct tr_promqltest_cmd *c,
         const struct tr_promqltest_backend *be, void *ctx, struct tr_arena *a,
         bool *passed, struct tr_buf *why, struct tr_buf *got_text,
         struct tr_err *err)
{
    struct tr_promql_value got;
    struct tr_err qerr;
    tr_err_clear(&qerr);
    memset(&got, 0, sizeof(got));
    *passed = false;
    int rc = be->query(ctx, a, c->expr, c->range, c->start_ms, c->end_ms,
                       c->step_ms, &got, &qerr);
    if (rc == TR_EUNAVAIL) {
        *err = qerr;
        return rc;
    }
    if (rc != TR_OK) {
        if (c->fail) {
            *passed = true;
        } else {
            tr_buf_appendf(why, "query failed: %s", qerr.msg);
        }
        return TR_OK;
    }
    if (c->fail) {
        tr_buf_append_str(why, "expected an error but the query succeeded");
        describe_got(&got, got_text);
        return TR_OK;
    }
    if (!tr_promqltest_compare(c, &got, why)) {
        describe_got(&got, got_text);
        return TR_OK;
    }
    if (c->range || c->ordered) {
        *passed = true;
        return TR_OK;
    }
    /* Range mode must agree with the instant result at its middle step. */
    struct tr_promql_value rv, mid;
    memset(&rv, 0, sizeof(rv));
    rc = be->query(ctx, a, c->expr, true, c->start_ms - 60000,
                   c->start_ms + 60000, 60000, &rv, &qerr);
    if (rc == TR_EUNAVAIL) {
        *err = qerr;
        return rc;
    }
    if (rc != TR_OK) {
        tr_buf_appendf(why, "range mode: query failed: %s", qerr.msg);
        return TR_OK;
    }
    rc = middle_step(a, &rv, got.type == TR_PROMQL_TYPE_SCALAR, c->start_ms,
                     &mid, why);
    if (rc == TR_ENOMEM) {
        return tr_err_set(err, rc, "cannot run eval: no memory");
    }
    if (rc != TR_OK || !tr_promqltest_compare(c, &mid, why)) {
        tr_buf_append_str(why, " (range mode, t-1m..t+1m step 1m)");
        describe_got(&rv, got_text);
        return TR_OK;
    }
    *passed = true;
    return TR_OK;
}

int
tr_promqltest_run(const struct tr_promqltest_script *s,
                  const struct tr_promqltest_backend *be, void *ctx,
                  const struct tr_promqltest_options *opts, FILE *report,
                  struct tr_promqltest_stats *stats, struct tr_err *err)
{
    struct tr_arena *a = tr_arena_create(0);
    if (a == NULL) {
        return tr_err_set(err, TR_ENOMEM, "cannot run %s: no memory", s->name);
    }
    struct tr_buf why = TR_BUF_INIT, got = TR_BUF_INIT, exp = TR_BUF_INIT;
    int rc = be->clear(ctx, err);
    for (size_t i = 0; i < s->n_cmds && rc == TR_OK; i++) {
        const struct tr_promqltest_cmd *c = &s->cmds[i];
        if (c->kind == TR_PROMQLTEST_CLEAR) {
            rc = be->clear(ctx, err);
        } else if (c->kind == TR_PROMQLTEST_LOAD) {
            rc = be->load(ctx, c, err);
        } else {
            bool passed;
            tr_buf_reset(&why);
            tr_buf_reset(&got);
            tr_buf_reset(&exp);
            tr_arena_reset(a);
            rc = run_eval(c, be, ctx, a, &passed, &why, &got, err);
            if (rc != TR_OK) {
                break;
            }
            bool known = is_known_failure(opts, s->name, c->line);
            stats->evals++;
            if (passed && known) {
                stats->fixed++;
                fprintf(report,
                        "%s:%u: FIXED (listed as a known failure "
                        "but passes): %s\n",
                        s->name, c->line, c->expr);
            } else if (passed) {
                stats->passed++;
                if (opts != NULL && opts->verbose) {
                    fprintf(report, "%s:%u: ok: %s\n", s->name, c->line,
                            c->expr);
                }
            } else {
                if (known) {
                    stats->known_failed++;
                } else {
                    stats->failed++;
                }
                describe_expected(c, &exp);
                fprintf(report,
                        "%s:%u: %s: %s%s %s\n  reason: %.*s\n  expected:\n"
                        "%.*s  got:\n%.*s",
                        s->name, c->line, known ? "KNOWN FAILURE" : "FAIL",
                        c->range ? "range " : "",
                        c->fail ? "eval_fail" : "eval", c->expr, (int)why.len,
                        why.data ? why.data : "", (int)exp.len,
                        exp.data ? exp.data : "", (int)got.len,
                        got.data ? got.data : "    (no result)\n");
            }
        }
    }
    if (rc != TR_OK) {
        fprintf(report, "%s: stopped: %s\n", s->name, err ? err->msg : "");
    }
    tr_buf_fini(&why);
    tr_buf_fini(&got);
    tr_buf_fini(&exp);
    tr_arena_destroy(a);
    return rc;
}

/* ---- the Trident backend ---------------------------------------------- */

struct tr_promqltest_trident {
    struct tr_head *head;
    struct tr_promql_engine *engine;
};

struct tr_promqltest_trident *
tr_promqltest_trident_create(void)
{
    struct tr_promqltest_trident *t = tr_calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->head = tr_head_create(NULL);
    t->engine = tr_promql_engine_create(NULL);
    if (t->head == NULL || t->engine == NULL) {
        tr_promqltest_trident_destroy(t);
        return NULL;
    }
    return t;
}

void
tr_promqltest_trident_destroy(struct tr_promqltest_trident *t)
{
    if (t == NULL) {
        return;
    }
    tr_head_destroy(t->head);
    tr_promql_engine_destroy(t->engine);
    tr_free(t);
}

static int
trident_clear(void *ctx, struct tr_err *err)
{
    struct tr_promqltest_trident *t = ctx;
    tr_head_destroy(t->head);
    t->head = tr_head_create(NULL);
    if (t->head == NULL) {
        return tr_err_set(err, TR_EUNAVAIL, "cannot clear head: no memory");
    }
    return TR_OK;
}

static int
trident_load(void *ctx, const struct tr_promqltest_cmd *c, struct tr_err *err)
{
    struct tr_promqltest_trident *t = ctx;
    for (size_t i = 0; i < c->n_series; i++) {
        const struct tr_promqltest_series *s = &c->series[i];
        struct tr_series *hs;
        int rc = tr_head_get_or_create(t->head, s->labels, &hs, NULL, err);
        if (rc != TR_OK) {
            tr_err_prefix(err, "cannot load line %u", s->line);
            return TR_EUNAVAIL;
        }
        for (size_t k = 0; k < s->n; k++) {
            if (s->values[k].omitted) {
                continue;
            }
            rc = tr_head_append(t->head, hs, (int64_t)k * c->interval_ms,
                                s->values[k].v, NULL, err);
            if (rc != TR_OK) {
                tr_err_prefix(err, "cannot load line %u", s->line);
                return TR_EUNAVAIL;
            }
        }
    }
    return TR_OK;
}

static int
trident_query(void *ctx, struct tr_arena *arena, const char *expr, bool range,
              int64_t start_ms, int64_t end_ms, int64_t step_ms,
              struct tr_promql_value *out, struct tr_err *err)
{
    struct tr_promqltest_trident *t = ctx;
    struct tr_promql_queryable qa;
    struct tr_promql_result res;
    tr_promql_head_queryable(t->head, &qa);
    int rc;
    if (range) {
        rc = tr_promql_range_query(t->engine, &qa, arena, expr, strlen(expr),
                                   start_ms, end_ms, step_ms, &res, err);
    } else {
        rc = tr_promql_instant_query(t->engine, &qa, arena, expr, strlen(expr),
                                     start_ms, &res, err);
    }
    if (rc == TR_EUNAVAIL) {
        rc = TR_EIO; /* an engine error is a query failure, not ours */
    }
    if (rc == TR_OK) {
        *out = res.value;
    }
    return rc;
}

static const struct tr_promqltest_backend trident_backend = {
    .name = "trident",
    .clear = trident_clear,
    .load = trident_load,
    .query = trident_query,
};

const struct tr_promqltest_backend *
tr_promqltest_trident_backend(void)
{
    return &trident_backend;
}

/* ---- trident promqltest ----------------------------------------------- */

/* Reads "file.test:LINE" entries, one a line; '#' starts a comment. */
static int
read_known_failures(const char *path, struct tr_buf *store, char ***list,
                    size_t *n, struct tr_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return tr_err_set(err, TR_EIO, "cannot read %s: %s", path,
                          strerror(errno));
    }
    char line[1024];
    size_t count = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *b = line, *e = line + strlen(line);
        while (b < e && is_space(*b)) {
            b++;
        }
        while (e > b && is_space(e[-1])) {
            e--;
        }
        if (e == b) {
            continue;
        }
        /* The entry is the first word. */
        char *sp = b;
        while (sp < e && !is_space(*sp)) {
            sp++;
        }
        if (tr_buf_append(store, b, (size_t)(sp - b)) != TR_OK ||
            tr_buf_append_byte(store, '\0') != TR_OK) {
            fclose(f);
            return tr_err_set(err, TR_ENOMEM, "cannot read %s: no memory",
                              path);
        }
        count++;
    }
    fclose(f);
    *list = tr_calloc(count + 1, sizeof(char *));
    if (*list == NULL) {
        return tr_err_set(err, TR_ENOMEM, "cannot read %s: no memory", path);
    }
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        (*list)[i] = store->data + off;
        off += strlen(store->data + off) + 1;
    }
    *n = count;
    return TR_OK;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: trident promqltest [-v] [--known-failures FILE] "
               "FILE...\n"
               "Runs PromQL test scripts (load/eval/clear) against the "
               "Trident engine.\n");
}

int
tr_promqltest_main(int argc, char **argv)
{
    struct tr_promqltest_options opts = {0};
    struct tr_buf known_store = TR_BUF_INIT;
    char **known = NULL;
    int first = argc, status = 0;
    struct tr_err err;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            opts.verbose = true;
        } else if (strcmp(argv[i], "--known-failures") == 0 && i + 1 < argc) {
            if (read_known_failures(argv[++i], &known_store, &known,
                                    &opts.n_known_failures, &err) != TR_OK) {
                fprintf(stderr, "promqltest: %s\n", err.msg);
                status = 2;
                goto out;
            }
            opts.known_failures = (const char *const *)known;
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            goto out;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "promqltest: unknown flag %s\n", argv[i]);
            usage(stderr);
            status = 2;
            goto out;
        } else {
            first = i;
            break;
        }
    }
    if (first >= argc) {
        usage(stderr);
        status = 2;
        goto out;
    }
    struct tr_promqltest_stats total = {0};
    for (int i = first; i < argc; i++) {
        struct tr_promqltest_script *s;
        if (tr_promqltest_parse_file(argv[i], &s, &err) != TR_OK) {
            fprintf(stderr, "promqltest: %s\n", err.msg);
            status = 2;
            continue;
        }
        struct tr_promqltest_trident *t = tr_promqltest_trident_create();
        if (t == NULL) {
            fprintf(stderr, "promqltest: cannot create engine: no memory\n");
            tr_promqltest_script_destroy(s);
            status = 2;
            break;
        }
        struct tr_promqltest_stats st = {0};
        int rc =
            tr_promqltest_run(s, &trident_backend, t, &opts, stdout, &st, &err);
        printf("%s: %u evals, %u passed, %u failed, %u known failures%s\n",
               argv[i], st.evals, st.passed, st.failed, st.known_failed,
               rc != TR_OK ? " (stopped early)" : "");
        if (rc != TR_OK && status == 0) {
            status = 1;
        }
        total.evals += st.evals;
        total.passed += st.passed;
        total.failed += st.failed;
        total.known_failed += st.known_failed;
        total.fixed += st.fixed;
        tr_promqltest_trident_destroy(t);
        tr_promqltest_script_destroy(s);
    }
    printf("total: %u evals, %u passed, %u failed, %u known failures, %u "
           "fixed\n",
           total.evals, total.passed, total.failed, total.known_failed,
           total.fixed);
    if (status == 0 && (total.failed > 0 || total.fixed > 0)) {
        status = 1;
    }
out:
    tr_free(known);
    tr_buf_fini(&known_store);
    return status;
}
