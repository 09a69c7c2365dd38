/*
 * PromQL parser: recursive descent with precedence climbing for binary
 * operators, followed by a type-checking pass. Both follow Prometheus
 * 2.42 (its grammar, precedence table and checkAST rules) as learned from
 * its documentation and observed behaviour.
 *
 * Error reporting emulates Prometheus's LALR parser: the first error wins,
 * lexer errors carry their own text, and a syntax error is worded after the
 * innermost construct that has an error rule there ("in label matching",
 * "in grouping opts", "in offset", "in @", "in subquery selector", "in
 * aggregation"), or plainly "unexpected <token>" otherwise.
 *
 * On the first error the parser jumps back to the entry point (longjmp):
 * everything it allocated lives in the caller's arena, so there is
 * nothing to unwind. Nothing that owns heap memory outside the arena is
 * live across a call that may jump.
 */
#include "promql/parser.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/arena.h"
#include "base/buf.h"
#include "promql/lexer.h"

/* Binding power of binary operators; higher binds tighter. */
enum {
    PREC_NONE = 0,
    PREC_OR,
    PREC_AND, /* and unless */
    PREC_CMP, /* == != > < >= <= */
    PREC_ADD, /* + - */
    PREC_MUL, /* * / % atan2; also unary minus */
    PREC_POW, /* ^, right-associative */
};

struct parser {
    struct lexer lx;
    struct tr_arena *arena;
    struct token tok; /* lookahead, valid when have_tok */
    bool have_tok;
    uint32_t last_closing; /* end of the last ) } ] number or duration */
    int depth;
    int agg_depth; /* > 0 inside an aggregation: "in aggregation" */
    jmp_buf jb;
    int code;
    uint32_t err_pos;
    char err_msg[TR_ERR_MSG_MAX];
};

static struct tr_promql_node *parse_expr(struct parser *p, int min_prec);
static bool tok_starts_expr(enum tok_type t);

/* ------------------------------------------------------------------ */
/* Errors and tokens                                                   */
/* ------------------------------------------------------------------ */

static void fail(struct parser *p, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
fail(struct parser *p, uint32_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
    va_end(ap);
    p->err_pos = pos;
    p->code = TR_EINVAL;
    longjmp(p->jb, 1);
}

static void oom(struct parser *p) __attribute__((noreturn));

static void
oom(struct parser *p)
{
    snprintf(p->err_msg, sizeof(p->err_msg), "out of memory");
    p->err_pos = 0;
    p->code = TR_ENOMEM;
    longjmp(p->jb, 1);
}

static const struct token *
peek(struct parser *p)
{
    if (!p->have_tok) {
        lexer_next(&p->lx, &p->tok);
        p->have_tok = true;
        if (p->tok.type == TOK_ERROR) {
            fail(p, p->tok.pos, "%s", p->lx.err);
        }
        switch (p->tok.type) {
        case TOK_RPAREN:
        case TOK_RBRACE:
        case TOK_RBRACKET:
        case TOK_NUMBER:
        case TOK_DURATION:
            p->last_closing = p->tok.pos + p->tok.len;
            break;
        default:
            break;
        }
    }
    return &p->tok;
}

static struct token
consume(struct parser *p)
{
    peek(p);
    p->have_tok = false;
    return p->tok;
}

/* "unexpected <token>[ in <context>][, expected <expected>]" */
static void unexpected(struct parser *p, const char *context,
                       const char *expected) __attribute__((noreturn));

static void
unexpected(struct parser *p, const char *context, const char *expected)
{
    char desc[TR_ERR_MSG_MAX / 2];
    const struct token *t = peek(p);

    if (!context && p->agg_depth > 0) {
        context = "aggregation";
    }
    tok_describe(&p->lx, t, desc, sizeof(desc));
    fail(p, t->pos, "unexpected %s%s%s%s%s", desc, context ? " in " : "",
         context ? context : "", expected ? ", expected " : "",
         expected ? expected : "");
}

static void *
alloc(struct parser *p, size_t size)
{
    void *m = tr_arena_calloc(p->arena, 1, size);
    if (!m) {
        oom(p);
    }
    return m;
}

static struct tr_promql_str
copy_str(struct parser *p, const char *s, size_t len)
{
    char *d = tr_arena_strndup(p->arena, s, len);
    if (!d) {
        oom(p);
    }
    return (struct tr_promql_str){d, len};
}

static struct tr_promql_node *
new_node(struct parser *p, enum tr_promql_kind kind, uint32_t start,
         uint32_t end)
{
    struct tr_promql_node *n = alloc(p, sizeof(*n));
    n->kind = kind;
    n->pos.start = start;
    n->pos.end = end;
    n->height = 1;
    return n;
}

/* Sets n's height from its children (a, b may be NULL); refuses too high. */
static void
set_height(struct parser *p, struct tr_promql_node *n,
           const struct tr_promql_node *a, const struct tr_promql_node *b)
{
    uint32_t h = 0;
    if (a && a->height > h) {
        h = a->height;
    }
    if (b && b->height > h) {
        h = b->height;
    }
    if (h + 1 > n->height) {
        n->height = h + 1;
    }
    if (n->height > TR_PROMQL_MAX_DEPTH) {
        fail(p, n->pos.start,
             "expression nested too deeply (more than %d levels)",
             TR_PROMQL_MAX_DEPTH);
    }
}

/* Go's %q of a string, for messages. */
static const char *
quoted(struct parser *p, const char *s, size_t len)
{
    struct tr_buf b = TR_BUF_INIT;
    if (tr_promql_format_string(s, len, &b) != TR_OK) {
        tr_buf_fini(&b);
        oom(p);
    }
    struct tr_promql_str q = copy_str(p, b.data, b.len);
    tr_buf_fini(&b);
    return q.data;
}

/* A growable array of pointers or structs in the arena. */
struct vec {
    void *items;
    size_t n;
    size_t cap;
};

static void *
vec_push(struct parser *p, struct vec *v, size_t item_size)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        void *items = alloc(p, cap * item_size);
        if (v->n > 0) {
            memcpy(items, v->items, v->n * item_size);
        }
        v->items = items;
        v->cap = cap;
    }
    return (char *)v->items + item_size * v->n++;
}

/* ------------------------------------------------------------------ */
/* Literals                                                            */
/* ------------------------------------------------------------------ */

static bool
ieq(const char *s, size_t len, const char *lower)
{
    if (strlen(lower) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Number text as Prometheus reads it: an integer in Go's base-0 syntax
 * (0x1f hex, 017 octal) when that parses, else a Go float.
 */
static void
parse_number(struct parser *p, const struct token *t, double *out)
{
    const char *s = p->lx.in + t->pos;
    size_t len = t->len;
    char buf[128];

    if (ieq(s, len, "inf")) {
        *out = INFINITY;
        return;
    }
    if (ieq(s, len, "nan")) {
        *out = NAN;
        return;
    }
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        uint64_t v = 0;
        bool ok = len > 2;
        for (size_t i = 2; ok && i < len; i++) {
            char c = s[i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0 || v > (UINT64_C(1) << 63) / 16) {
                ok = false;
                break;
            }
            v = v * 16 + (uint64_t)d;
        }
        if (ok && v <= (uint64_t)INT64_MAX) {
            *out = (double)v;
            return;
        }
        /* Go's float syntax wants a p exponent in hex: never valid here. */
        fail(p, t->pos,
             "error parsing number: strconv.ParseFloat: parsing %s: "
             "invalid syntax",
             quoted(p, s, len));
    }
    if (len >= 2 && s[0] == '0' && strspn(s, "01234567") >= len) {
        uint64_t v = 0;
        bool ok = true;
        for (size_t i = 1; i < len; i++) {
            if (v > (uint64_t)INT64_MAX / 8) {
                ok = false;
                break;
            }
            v = v * 8 + (uint64_t)(s[i] - '0');
        }
        if (ok && v <= (uint64_t)INT64_MAX) {
            *out = (double)v;
            return;
        }
    }
    /* Go float syntax: digits [. digits] [e [+-] digits], some digit. */
    size_t i = 0;
    size_t digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    bool valid = digits > 0;
    if (valid && i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        size_t exp_digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp_digits++;
        }
        valid = exp_digits > 0;
    }
    if (!valid || i != len || len >= sizeof(buf)) {
        fail(p, t->pos,
             "error parsing number: strconv.ParseFloat: parsing %s: "
             "invalid syntax",
             quoted(p, s, len));
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (isinf(v)) {
        fail(p, t->pos,
             "error parsing number: strconv.ParseFloat: parsing %s: "
             "value out of range",
             quoted(p, s, len));
    }
    *out = v;
}

/*
 * A duration as Prometheus's model.ParseDuration reads it: units y w d h
 * m s ms, each at most once and in that order, integers only; and, as the
 * PromQL parser adds, greater than zero.
 */
static int64_t
parse_duration(struct parser *p, const struct token *t)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {
        {"y", INT64_C(365) * 24 * 3600 * 1000000000},
        {"w", INT64_C(7) * 24 * 3600 * 1000000000},
        {"d", INT64_C(24) * 3600 * 1000000000},
        {"h", INT64_C(3600) * 1000000000},
        {"m", INT64_C(60) * 1000000000},
        {"s", INT64_C(1000000000)},
        {"ms", INT64_C(1000000)},
    };
    const char *s = p->lx.in + t->pos;
    size_t len = t->len;
    size_t i = 0;
    size_t next_unit = 0;
    int64_t total = 0;
    bool overflow = false;

    while (i < len) {
        size_t d0 = i;
        uint64_t n = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n > (uint64_t)INT64_MAX / 10) {
                overflow = true;
            } else {
                n = n * 10 + (uint64_t)(s[i] - '0');
            }
            i++;
        }
        if (i == d0 || i == len) {
            goto invalid;
        }
        size_t u;
        size_t ulen = 1;
        if (s[i] == 'm' && i + 1 < len && s[i + 1] == 's') {
            u = 6;
            ulen = 2;
        } else {
            const char *pos = strchr("ywdhms", s[i]);
            if (!pos || s[i] == '\0') {
                goto invalid;
            }
            u = (size_t)(pos - "ywdhms");
        }
        if (u < next_unit) {
            goto invalid;
        }
        next_unit = u + 1;
        i += ulen;
        int64_t part;
        if (n > (uint64_t)INT64_MAX ||
            __builtin_mul_overflow((int64_t)n, units[u].ns, &part) ||
            __builtin_add_overflow(total, part, &total)) {
            overflow = true;
        }
    }
    if (overflow) {
        fail(p, t->pos, "duration out of range");
    }
    if (total == 0) {
        fail(p, t->pos, "duration must be greater than 0");
    }
    return total;
invalid:
    fail(p, t->pos, "not a valid duration string: %s", quoted(p, s, len));
}

static void
append_utf8(char *out, size_t *o, uint32_t r)
{
    if (r < 0x80) {
        out[(*o)++] = (char)r;
    } else if (r < 0x800) {
        out[(*o)++] = (char)(0xC0 | (r >> 6));
        out[(*o)++] = (char)(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (r >> 12));
        out[(*o)++] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (r & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (r >> 18));
        out[(*o)++] = (char)(0x80 | ((r >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (r & 0x3F));
    }
}

static uint32_t
hex_value(const char *s, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        v = v * 16 + (uint32_t)(c <= '9'   ? c - '0'
                                : c <= 'F' ? c - 'A' + 10
                                           : c - 'a' + 10);
    }
    return v;
}

/*
 * The value of a string token the lexer has already validated (escapes
 * well-formed): Go's unquoting, raw strings taken as they are.
 */
static struct tr_promql_str
unquote(struct parser *p, const struct token *t)
{
    const char *s = p->lx.in + t->pos + 1;
    size_t len = t->len - 2;
    char *out = alloc(p, len + 1);
    size_t o = 0;

    if (s[-1] == '`') {
        memcpy(out, s, len);
        out[len] = '\0';
        return (struct tr_promql_str){out, len};
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'a':
            out[o++] = '\a';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'v':
            out[o++] = '\v';
            break;
        case 'x':
            out[o++] = (char)hex_value(s + i + 1, 2);
            i += 2;
            break;
        case 'u':
            append_utf8(out, &o, hex_value(s + i + 1, 4));
            i += 4;
            break;
        case 'U':
            append_utf8(out, &o, hex_value(s + i + 1, 8));
            i += 8;
            break;
        default:
            if (c >= '0' && c <= '7') {
                out[o++] = (char)(((c - '0') << 6) | ((s[i + 1] - '0') << 3) |
                                  (s[i + 2] - '0'));
                i += 2;
            } else {
                out[o++] = c; /* \\ \" \' */
            }
            break;
        }
    }
    out[o] = '\0';
    return (struct tr_promql_str){out, o};
}

/* ------------------------------------------------------------------ */
/* Selectors                                                           */
/* ------------------------------------------------------------------ */

/* Start of the character class left open at the end of pattern. */
static size_t
open_class_start(const char *pat, size_t len)
{
    size_t start = len;
    bool in_class = false;

    for (size_t i = 0; i < len; i++) {
        if (pat[i] == '\\') {
            i++;
        } else if (!in_class && pat[i] == '[') {
            in_class = true;
            start = i;
            /* A ']' right after '[' or '[^' is a literal. */
            if (i + 1 < len && pat[i + 1] == '^') {
                i++;
            }
            if (i + 1 < len && pat[i + 1] == ']') {
                i++;
            }
        } else if (in_class && pat[i] == ']') {
            in_class = false;
        }
    }
    return in_class ? start : len;
}

/*
 * Go's RE2 refuses some Perl syntax that PCRE2 accepts; find the first
 * such construct (lookaround, backreference) outside a class.
 */
static bool
find_unsupported(const char *pat, size_t len, char *msg, size_t size)
{
    bool in_class = false;

    for (size_t i = 0; i < len; i++) {
        if (pat[i] == '\\' && i + 1 < len) {
            if (!in_class && pat[i + 1] >= '1' && pat[i + 1] <= '9') {
                snprintf(msg, size, "invalid escape sequence: `\\%c`",
                         pat[i + 1]);
                return true;
            }
            i++;
        } else if (in_class) {
            in_class = pat[i] != ']';
        } else if (pat[i] == '[') {
            in_class = true;
        } else if (pat[i] == '(' && i + 2 < len && pat[i + 1] == '?' &&
                   (pat[i + 2] == '=' || pat[i + 2] == '!' ||
                    pat[i + 2] == '<')) {
            snprintf(msg, size, "invalid or unsupported Perl syntax: `(?%c`",
                     pat[i + 2]);
            return true;
        }
    }
    return false;
}

/* Words a PCRE2 compile error the way Go's regexp package would. */
static void
regex_error_message(const char *pat, size_t len, int code, size_t off,
                    char *msg, size_t size)
{
    size_t a, b;

    switch (code) {
    case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
        snprintf(msg, size, "missing closing ): `%.*s`", (int)len, pat);
        return;
    case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
        snprintf(msg, size, "unexpected ): `%.*s`", (int)len, pat);
        return;
    case PCRE2_ERROR_MISSING_SQUARE_BRACKET:
        a = open_class_start(pat, len);
        if (a < len) {
            snprintf(msg, size, "missing closing ]: `%.*s`", (int)(len - a),
                     pat + a);
            return;
        }
        break;
    case PCRE2_ERROR_QUANTIFIER_INVALID:
        if (off >= len) {
            break;
        }
        if (strchr("*+?", pat[off])) {
            if (off > 4 && strchr("*+?", pat[off - 1])) {
                snprintf(msg, size,
                         "invalid nested repetition operator: `%.2s`",
                         pat + off - 1);
            } else {
                snprintf(msg, size,
                         "missing argument to repetition operator: `%c`",
                         pat[off]);
            }
            return;
        }
        for (a = off; a > 0 && pat[a] != '{'; a--) {
        }
        for (b = off; b < len && pat[b] != '}'; b++) {
        }
        if (pat[a] == '{' && b < len) {
            snprintf(msg, size,
                     "missing argument to repetition operator: `%.*s`",
                     (int)(b - a + 1), pat + a);
            return;
        }
        break;
    case PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER:
        for (a = off < len ? off : len - 1; a > 0 && pat[a] != '{'; a--) {
        }
        for (b = a; b < len && pat[b] != '}'; b++) {
        }
        if (pat[a] == '{' && b < len) {
            snprintf(msg, size, "invalid repeat count: `%.*s`",
                     (int)(b - a + 1), pat + a);
            return;
        }
        break;
    case PCRE2_ERROR_CLASS_RANGE_ORDER:
        if (off >= 2 && off < len) {
            snprintf(msg, size, "invalid character class range: `%.3s`",
                     pat + off - 2);
            return;
        }
        break;
    default:
        break;
    }
    char text[200];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)text, sizeof(text));
    snprintf(msg, size, "%s: `%.*s`", text, (int)len, pat);
}

/*
 * Checks a regular expression matcher the way Prometheus compiles it
 * (anchored) and works out whether it accepts the empty string.
 */
static void
check_regex(struct parser *p, uint32_t pos, struct tr_promql_matcher *m)
{
    struct tr_buf pat = TR_BUF_INIT;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *re = NULL;
    bool is_empty_match = false;
    bool bad = false;
    char msg[TR_ERR_MSG_MAX / 2] = "";

    if (tr_buf_append_str(&pat, "^(?:") != TR_OK ||
        tr_buf_append(&pat, m->value.data, m->value.len) != TR_OK ||
        tr_buf_append_str(&pat, ")$") != TR_OK) {
        tr_buf_fini(&pat);
        oom(p);
    }
    if (find_unsupported(pat.data, pat.len, msg, sizeof(msg))) {
        bad = true;
    } else {
        re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len,
                           PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &errcode, &erroff,
                           NULL);
        if (!re) {
            bad = true;
            regex_error_message(pat.data, pat.len, errcode, erroff, msg,
                                sizeof(msg));
        }
    }
    if (re) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        if (md) {
            is_empty_match =
                pcre2_match(re, (PCRE2_SPTR) "", 0, 0, 0, md, NULL) >= 0;
            pcre2_match_data_free(md);
        }
        pcre2_code_free(re);
    }
    tr_buf_fini(&pat);
    if (bad) {
        fail(p, pos, "error parsing regexp: %s", msg);
    }
    m->matches_empty =
        m->type == TR_PROMQL_MATCH_RE ? is_empty_match : !is_empty_match;
}

/* Parses {name op "value", ...} into v; returns the end of '}'. */
static uint32_t
parse_matchers(struct parser *p, struct vec *v)
{
    consume(p); /* { */
    for (;;) {
        const struct token *t = peek(p);
        if (t->type == TOK_RBRACE) {
            return consume(p).pos + 1;
        }
        if (t->type != TOK_IDENT) {
            unexpected(p, "label matching", "identifier or \"}\"");
        }
        struct token name = consume(p);
        t = peek(p);
        enum tr_promql_match_type type;
        switch (t->type) {
        case TOK_ASSIGN:
            type = TR_PROMQL_MATCH_EQ;
            break;
        case TOK_NEQ:
            type = TR_PROMQL_MATCH_NEQ;
            break;
        case TOK_EQL_REGEX:
            type = TR_PROMQL_MATCH_RE;
            break;
        case TOK_NEQ_REGEX:
            type = TR_PROMQL_MATCH_NRE;
            break;
        default:
            unexpected(p, "label matching", "label matching operator");
        }
        consume(p);
        if (peek(p)->type != TOK_STRING) {
            unexpected(p, "label matching", "string");
        }
        struct token value = consume(p);
        struct tr_promql_matcher *m = vec_push(p, v, sizeof(*m));
        m->type = type;
        m->name = copy_str(p, p->lx.in + name.pos, name.len);
        m->value = unquote(p, &value);
        if (type == TR_PROMQL_MATCH_EQ) {
            m->matches_empty = m->value.len == 0;
        } else if (type == TR_PROMQL_MATCH_NEQ) {
            m->matches_empty = m->value.len != 0;
        } else {
            check_regex(p, name.pos, m);
        }
        t = peek(p);
        if (t->type == TOK_COMMA) {
            consume(p);
        } else if (t->type != TOK_RBRACE) {
            unexpected(p, "label matching", "\",\" or \"}\"");
        }
    }
}

/*
 * A vector selector: an optional metric name (already consumed, NULL if
 * none) and optional braces.
 */
static struct tr_promql_node *
parse_selector(struct parser *p, const struct token *name)
{
    struct vec v = {0};
    uint32_t start = name ? name->pos : peek(p)->pos;
    uint32_t end = name ? name->pos + name->len : 0;

    if (peek(p)->type == TOK_LBRACE) {
        end = parse_matchers(p, &v);
    }
    struct tr_promql_node *n = new_node(p, TR_PROMQL_VECTOR, start, end);
    if (name) {
        n->u.vector.name = copy_str(p, p->lx.in + name->pos, name->len);
        struct tr_promql_matcher *m = vec_push(p, &v, sizeof(*m));
        m->type = TR_PROMQL_MATCH_EQ;
        m->name = copy_str(p, "__name__", 8);
        m->value = n->u.vector.name;
        m->matches_empty = name->len == 0;
    } else {
        n->u.vector.name = copy_str(p, "", 0);
    }
    n->u.vector.matchers = v.items;
    n->u.vector.n_matchers = v.n;
    return n;
}

/* ------------------------------------------------------------------ */
/* Grouping labels, modifiers                                          */
/* ------------------------------------------------------------------ */

/* Tokens Prometheus accepts as a label name in by (...), on (...) etc. */
static bool
tok_is_label_like(enum tok_type t)
{
    switch (t) {
    case TOK_IDENT:
    case TOK_METRIC_IDENT:
    case TOK_BOOL:
    case TOK_BY:
    case TOK_GROUP_LEFT:
    case TOK_GROUP_RIGHT:
    case TOK_IGNORING:
    case TOK_LAND:
    case TOK_LOR:
    case TOK_LUNLESS:
    case TOK_OFFSET:
    case TOK_ON:
    case TOK_WITHOUT:
    case TOK_START:
    case TOK_END:
    case TOK_ATAN2:
        return true;
    default:
        return tok_is_aggregator(t);
    }
}

/* ( label, ... ) into *labels. */
static void
parse_grouping(struct parser *p, struct tr_promql_str **labels, size_t *n)
{
    struct vec v = {0};

    if (peek(p)->type != TOK_LPAREN) {
        unexpected(p, "grouping opts", "\"(\"");
    }
    consume(p);
    for (;;) {
        const struct token *t = peek(p);
        if (t->type == TOK_RPAREN) {
            consume(p);
            break;
        }
        if (!tok_is_label_like(t->type) || t->type == TOK_METRIC_IDENT) {
            /* A name with ':' is not a label name. */
            unexpected(p, "grouping opts", "label");
        }
        struct token l = consume(p);
        struct tr_promql_str *s = vec_push(p, &v, sizeof(*s));
        *s = copy_str(p, p->lx.in + l.pos, l.len);
        t = peek(p);
        if (t->type == TOK_COMMA) {
            consume(p);
        } else if (t->type != TOK_RPAREN) {
            unexpected(p, "grouping opts", "\",\" or \")\"");
        }
    }
    *labels = v.items;
    *n = v.n;
}

/* Tokens that can begin an expression. */
static bool
tok_starts_expr(enum tok_type t)
{
    switch (t) {
    case TOK_NUMBER:
    case TOK_STRING:
    case TOK_LPAREN:
    case TOK_LBRACE:
    case TOK_IDENT:
    case TOK_METRIC_IDENT:
    case TOK_ADD:
    case TOK_SUB:
    case TOK_BY:
    case TOK_WITHOUT:
    case TOK_OFFSET:
    case TOK_LAND:
    case TOK_LOR:
    case TOK_LUNLESS:
    case TOK_START:
    case TOK_END:
        return true;
    default:
        return tok_is_aggregator(t);
    }
}

/* Where offset and @ go; NULL (after an error) when node takes neither. */
struct modifiers {
    int64_t *offset_ns;
    struct tr_promql_at *at;
};

static struct modifiers
modifiers_of(struct parser *p, struct tr_promql_node *e, bool is_offset)
{
    switch (e->kind) {
    case TR_PROMQL_VECTOR:
        return (struct modifiers){&e->u.vector.offset_ns, &e->u.vector.at};
    case TR_PROMQL_MATRIX:
        return (struct modifiers){&e->u.matrix.vector->u.vector.offset_ns,
                                  &e->u.matrix.vector->u.vector.at};
    case TR_PROMQL_SUBQUERY:
        return (struct modifiers){&e->u.subquery.offset_ns, &e->u.subquery.at};
    default:
        break;
    }
    fail(p, e->pos.start,
         "%s modifier must be preceded by an instant vector selector or "
         "range vector selector or a subquery",
         is_offset ? "offset" : "@");
}

static void
parse_offset(struct parser *p, struct tr_promql_node *e)
{
    bool negative = false;

    consume(p); /* offset */
    if (peek(p)->type == TOK_SUB) {
        consume(p);
        negative = true;
    }
    if (peek(p)->type != TOK_DURATION) {
        unexpected(p, "offset", "duration");
    }
    struct token d = consume(p);
    int64_t ns = parse_duration(p, &d);
    struct modifiers m = modifiers_of(p, e, true);
    if (*m.offset_ns != 0) {
        fail(p, e->pos.start, "offset may not be set multiple times");
    }
    *m.offset_ns = negative ? -ns : ns;
    e->pos.end = p->last_closing;
}

static void
parse_at(struct parser *p, struct tr_promql_node *e)
{
    consume(p); /* @ */
    const struct token *t = peek(p);
    if (t->type == TOK_START || t->type == TOK_END) {
        enum tr_promql_at_kind kind =
            t->type == TOK_START ? TR_PROMQL_AT_START : TR_PROMQL_AT_END;
        consume(p);
        if (peek(p)->type != TOK_LPAREN) {
            unexpected(p, "@", "timestamp");
        }
        consume(p);
        if (peek(p)->type != TOK_RPAREN) {
            unexpected(p, "@", "timestamp");
        }
        consume(p);
        struct modifiers m = modifiers_of(p, e, false);
        if (m.at->kind != TR_PROMQL_AT_NONE) {
            fail(p, e->pos.start,
                 "@ <timestamp> may not be set multiple times");
        }
        m.at->kind = kind;
        e->pos.end = p->last_closing;
        return;
    }
    double sign = 1;
    if (t->type == TOK_ADD || t->type == TOK_SUB) {
        sign = t->type == TOK_SUB ? -1 : 1;
        consume(p);
    }
    if (peek(p)->type != TOK_NUMBER) {
        unexpected(p, "@", "timestamp");
    }
    struct token num = consume(p);
    double ts;
    parse_number(p, &num, &ts);
    ts *= sign;
    if (isinf(ts) || isnan(ts) || ts >= 9223372036854775807.0 ||
        ts <= -9223372036854775807.0) {
        /* Go prints these %f values as +Inf, -Inf and NaN. */
        if (isnan(ts) || isinf(ts)) {
            fail(p, e->pos.start, "timestamp out of bounds for @ modifier: %s",
                 isnan(ts) ? "NaN"
                 : ts > 0  ? "+Inf"
                           : "-Inf");
        }
        fail(p, e->pos.start, "timestamp out of bounds for @ modifier: %f", ts);
    }
    struct modifiers m = modifiers_of(p, e, false);
    if (m.at->kind != TR_PROMQL_AT_NONE) {
        fail(p, e->pos.start, "@ <timestamp> may not be set multiple times");
    }
    m.at->kind = TR_PROMQL_AT_TIMESTAMP;
    m.at->timestamp_ms = (int64_t)round(ts * 1000.0);
    e->pos.end = p->last_closing;
}

/* expr [ range ] or expr [ range : step ] */
static struct tr_promql_node *
parse_brackets(struct parser *p, struct tr_promql_node *e)
{
    struct token lb = consume(p); /* [ */
    if (peek(p)->type != TOK_DURATION) {
        unexpected(p, "subquery selector", "duration");
    }
    struct token d = consume(p);
    int64_t range = parse_duration(p, &d);
    const struct token *t = peek(p);

    if (t->type == TOK_RBRACKET) {
        struct token rb = consume(p);
        const char *msg = NULL;
        if (e->kind != TR_PROMQL_VECTOR) {
            msg = "ranges only allowed for vector selectors";
        } else if (e->u.vector.offset_ns != 0) {
            msg = "no offset modifiers allowed before range";
        } else if (e->u.vector.at.kind == TR_PROMQL_AT_TIMESTAMP) {
            /* Like Prometheus: "x @ end()[5m]" passes, keeping the @. */
            msg = "no @ modifiers allowed before range";
        }
        if (msg) {
            fail(p, lb.pos, "%s", msg);
        }
        struct tr_promql_node *n =
            new_node(p, TR_PROMQL_MATRIX, e->pos.start, rb.pos + 1);
        n->u.matrix.vector = e;
        n->u.matrix.range_ns = range;
        set_height(p, n, e, NULL);
        return n;
    }
    if (t->type != TOK_COLON) {
        unexpected(p, "subquery or range", "\":\" or \"]\"");
    }
    consume(p);
    int64_t step = 0;
    t = peek(p);
    if (t->type == TOK_DURATION) {
        struct token sd = consume(p);
        step = parse_duration(p, &sd);
        if (peek(p)->type != TOK_RBRACKET) {
            unexpected(p, "subquery selector", "\"]\"");
        }
    } else if (t->type != TOK_RBRACKET) {
        unexpected(p, "subquery selector", "duration or \"]\"");
    }
    struct token rb = consume(p);
    struct tr_promql_node *n =
        new_node(p, TR_PROMQL_SUBQUERY, e->pos.start, rb.pos + 1);
    n->u.subquery.expr = e;
    n->u.subquery.range_ns = range;
    n->u.subquery.step_ns = step;
    set_height(p, n, e, NULL);
    return n;
}

/* Trailing offset, @ and [...] bind to the expression just before. */
static struct tr_promql_node *
parse_postfix(struct parser *p, struct tr_promql_node *e)
{
    for (;;) {
        switch (peek(p)->type) {
        case TOK_OFFSET:
            parse_offset(p, e);
            break;
        case TOK_AT:
            parse_at(p, e);
            break;
        case TOK_LBRACKET:
            e = parse_brackets(p, e);
            break;
        default:
            return e;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Calls, aggregations, primaries                                      */
/* ------------------------------------------------------------------ */

/* ( expr, ... ) into *args; returns the end of ')'. */
static uint32_t
parse_args(struct parser *p, struct tr_promql_node ***args, size_t *n)
{
    struct vec v = {0};

    consume(p); /* ( */
    if (peek(p)->type != TOK_RPAREN) {
        for (;;) {
            struct tr_promql_node **slot = vec_push(p, &v, sizeof(*slot));
            *slot = parse_expr(p, PREC_NONE);
            const struct token *t = peek(p);
            if (t->type == TOK_COMMA) {
                struct token comma = consume(p);
                if (!tok_starts_expr(peek(p)->type)) {
                    fail(p, comma.pos,
                         "trailing commas not allowed in function call args");
                }
                continue;
            }
            if (t->type != TOK_RPAREN) {
                unexpected(p, NULL, NULL);
            }
            break;
        }
    }
    struct token rp = consume(p);
    *args = v.items;
    *n = v.n;
    return rp.pos + 1;
}

static struct tr_promql_node *
parse_call(struct parser *p, const struct token *name)
{
    struct tr_promql_node **args;
    size_t n_args;
    uint32_t end = parse_args(p, &args, &n_args);
    const struct tr_promql_function *f =
        tr_promql_function_lookup(p->lx.in + name->pos, name->len);
    if (!f) {
        fail(p, name->pos, "unknown function with name %s",
             quoted(p, p->lx.in + name->pos, name->len));
    }
    struct tr_promql_node *n = new_node(p, TR_PROMQL_CALL, name->pos, end);
    n->u.call.func = f;
    n->u.call.args = args;
    n->u.call.n_args = n_args;
    for (size_t i = 0; i < n_args; i++) {
        set_height(p, n, args[i], NULL);
    }
    return n;
}

static enum tr_promql_agg_op
agg_op_of(enum tok_type t)
{
    switch (t) {
    case TOK_SUM:
        return TR_PROMQL_AGG_SUM;
    case TOK_AVG:
        return TR_PROMQL_AGG_AVG;
    case TOK_COUNT:
        return TR_PROMQL_AGG_COUNT;
    case TOK_MIN:
        return TR_PROMQL_AGG_MIN;
    case TOK_MAX:
        return TR_PROMQL_AGG_MAX;
    case TOK_GROUP:
        return TR_PROMQL_AGG_GROUP;
    case TOK_STDDEV:
        return TR_PROMQL_AGG_STDDEV;
    case TOK_STDVAR:
        return TR_PROMQL_AGG_STDVAR;
    case TOK_TOPK:
        return TR_PROMQL_AGG_TOPK;
    case TOK_BOTTOMK:
        return TR_PROMQL_AGG_BOTTOMK;
    case TOK_COUNT_VALUES:
        return TR_PROMQL_AGG_COUNT_VALUES;
    default:
        return TR_PROMQL_AGG_QUANTILE;
    }
}

static void
parse_agg_modifier(struct parser *p, struct tr_promql_node *n)
{
    n->u.aggregate.without = consume(p).type == TOK_WITHOUT;
    parse_grouping(p, &n->u.aggregate.grouping, &n->u.aggregate.n_grouping);
}

static struct tr_promql_node *
parse_aggregate(struct parser *p, const struct token *op)
{
    struct tr_promql_node *n = new_node(p, TR_PROMQL_AGGREGATE, op->pos, 0);
    struct tr_promql_node **args;
    size_t n_args;
    enum tok_type t;

    n->u.aggregate.op = agg_op_of(op->type);
    p->agg_depth++;
    t = peek(p)->type;
    if (t == TOK_BY || t == TOK_WITHOUT) {
        parse_agg_modifier(p, n);
        if (peek(p)->type != TOK_LPAREN) {
            unexpected(p, NULL, NULL);
        }
        n->pos.end = parse_args(p, &args, &n_args);
    } else {
        n->pos.end = parse_args(p, &args, &n_args);
        t = peek(p)->type;
        if (t == TOK_BY || t == TOK_WITHOUT) {
            parse_agg_modifier(p, n);
            n->pos.end = p->last_closing;
        }
    }
    p->agg_depth--;

    if (n_args == 0) {
        fail(p, n->pos.start, "no arguments for aggregate expression provided");
    }
    enum tr_promql_agg_op a = n->u.aggregate.op;
    size_t want =
        (a == TR_PROMQL_AGG_TOPK || a == TR_PROMQL_AGG_BOTTOMK ||
         a == TR_PROMQL_AGG_QUANTILE || a == TR_PROMQL_AGG_COUNT_VALUES)
            ? 2
            : 1;
    if (n_args != want) {
        fail(p, n->pos.start,
             "wrong number of arguments for aggregate expression provided, "
             "expected %zu, got %zu",
             want, n_args);
    }
    if (want == 2) {
        n->u.aggregate.param = args[0];
    }
    n->u.aggregate.expr = args[want - 1];
    set_height(p, n, n->u.aggregate.expr, n->u.aggregate.param);
    return n;
}

static struct tr_promql_node *
parse_primary(struct parser *p)
{
    const struct token *t = peek(p);
    struct token tok;
    struct tr_promql_node *n;

    switch (t->type) {
    case TOK_NUMBER:
        tok = consume(p);
        n = new_node(p, TR_PROMQL_NUMBER, tok.pos, tok.pos + tok.len);
        parse_number(p, &tok, &n->u.number);
        return n;
    case TOK_STRING:
        tok = consume(p);
        n = new_node(p, TR_PROMQL_STRING, tok.pos, tok.pos + tok.len);
        n->u.string = unquote(p, &tok);
        return n;
    case TOK_LPAREN: {
        tok = consume(p);
        struct tr_promql_node *inner = parse_expr(p, PREC_NONE);
        if (peek(p)->type != TOK_RPAREN) {
            unexpected(p, NULL, NULL);
        }
        struct token rp = consume(p);
        n = new_node(p, TR_PROMQL_PAREN, tok.pos, rp.pos + 1);
        n->u.paren.expr = inner;
        set_height(p, n, inner, NULL);
        return n;
    }
    case TOK_LBRACE:
        return parse_selector(p, NULL);
    case TOK_IDENT:
        tok = consume(p);
        if (peek(p)->type == TOK_LPAREN) {
            return parse_call(p, &tok);
        }
        return parse_selector(p, &tok);
    case TOK_METRIC_IDENT:
    case TOK_BY:
    case TOK_WITHOUT:
    case TOK_OFFSET:
    case TOK_LAND:
    case TOK_LOR:
    case TOK_LUNLESS:
    case TOK_START:
    case TOK_END:
        /* Some keywords double as metric names where a name can go. */
        tok = consume(p);
        return parse_selector(p, &tok);
    default:
        break;
    }
    if (tok_is_aggregator(t->type)) {
        tok = consume(p);
        enum tok_type next = peek(p)->type;
        if (next == TOK_LPAREN || next == TOK_BY || next == TOK_WITHOUT) {
            return parse_aggregate(p, &tok);
        }
        return parse_selector(p, &tok); /* a metric called "sum" */
    }
    unexpected(p, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Expressions                                                         */
/* ------------------------------------------------------------------ */

static int
binary_prec(enum tok_type t, enum tr_promql_op *op)
{
    switch (t) {
    case TOK_LOR:
        *op = TR_PROMQL_OP_OR;
        return PREC_OR;
    case TOK_LAND:
        *op = TR_PROMQL_OP_AND;
        return PREC_AND;
    case TOK_LUNLESS:
        *op = TR_PROMQL_OP_UNLESS;
        return PREC_AND;
    case TOK_EQLC:
        *op = TR_PROMQL_OP_EQL;
        return PREC_CMP;
    case TOK_NEQ:
        *op = TR_PROMQL_OP_NEQ;
        return PREC_CMP;
    case TOK_GTR:
        *op = TR_PROMQL_OP_GTR;
        return PREC_CMP;
    case TOK_LSS:
        *op = TR_PROMQL_OP_LSS;
        return PREC_CMP;
    case TOK_GTE:
        *op = TR_PROMQL_OP_GTE;
        return PREC_CMP;
    case TOK_LTE:
        *op = TR_PROMQL_OP_LTE;
        return PREC_CMP;
    case TOK_ADD:
        *op = TR_PROMQL_OP_ADD;
        return PREC_ADD;
    case TOK_SUB:
        *op = TR_PROMQL_OP_SUB;
        return PREC_ADD;
    case TOK_MUL:
        *op = TR_PROMQL_OP_MUL;
        return PREC_MUL;
    case TOK_DIV:
        *op = TR_PROMQL_OP_DIV;
        return PREC_MUL;
    case TOK_MOD:
        *op = TR_PROMQL_OP_MOD;
        return PREC_MUL;
    case TOK_ATAN2:
        *op = TR_PROMQL_OP_ATAN2;
        return PREC_MUL;
    case TOK_POW:
        *op = TR_PROMQL_OP_POW;
        return PREC_POW;
    default:
        return PREC_NONE;
    }
}

/* [bool] [on|ignoring (...) [group_left|group_right [(...)]]] */
static void
parse_bin_modifiers(struct parser *p, struct tr_promql_node *n)
{
    struct tr_promql_vector_matching *vm = alloc(p, sizeof(*vm));
    n->u.binary.matching = vm;
    vm->card = TR_PROMQL_CARD_ONE_TO_ONE;

    if (peek(p)->type == TOK_BOOL) {
        consume(p);
        n->u.binary.return_bool = true;
    }
    enum tok_type t = peek(p)->type;
    if (t != TOK_ON && t != TOK_IGNORING) {
        return;
    }
    consume(p);
    vm->on = t == TOK_ON;
    parse_grouping(p, &vm->labels, &vm->n_labels);
    t = peek(p)->type;
    if (t != TOK_GROUP_LEFT && t != TOK_GROUP_RIGHT) {
        return;
    }
    consume(p);
    vm->card = t == TOK_GROUP_LEFT ? TR_PROMQL_CARD_MANY_TO_ONE
                                   : TR_PROMQL_CARD_ONE_TO_MANY;
    t = peek(p)->type;
    if (t == TOK_LPAREN) {
        parse_grouping(p, &vm->include, &vm->n_include);
    } else if (!tok_starts_expr(t)) {
        unexpected(p, "grouping opts", "\"(\"");
    }
}

static struct tr_promql_node *
parse_unary(struct parser *p)
{
    const struct token *t = peek(p);
    if (t->type == TOK_ADD || t->type == TOK_SUB) {
        struct token op = consume(p);
        /* Unary minus binds like '*': looser than '^', tighter than '+'. */
        struct tr_promql_node *e = parse_expr(p, PREC_POW);
        if (e->kind == TR_PROMQL_NUMBER) {
            if (op.type == TOK_SUB) {
                e->u.number = -e->u.number;
            }
            e->pos.start = op.pos;
            return e;
        }
        struct tr_promql_node *n =
            new_node(p, TR_PROMQL_UNARY, op.pos, e->pos.end);
        n->u.unary.op =
            op.type == TOK_SUB ? TR_PROMQL_OP_SUB : TR_PROMQL_OP_ADD;
        n->u.unary.expr = e;
        set_height(p, n, e, NULL);
        return n;
    }
    return parse_postfix(p, parse_primary(p));
}

static struct tr_promql_node *
parse_expr(struct parser *p, int min_prec)
{
    if (++p->depth > TR_PROMQL_MAX_DEPTH) {
        fail(p, peek(p)->pos,
             "expression nested too deeply (more than %d "
             "levels)",
             TR_PROMQL_MAX_DEPTH);
    }
    struct tr_promql_node *lhs = parse_unary(p);

    for (;;) {
        enum tr_promql_op op;
        int prec = binary_prec(peek(p)->type, &op);
        if (prec == PREC_NONE || prec < min_prec) {
            break;
        }
        consume(p);
        struct tr_promql_node *n =
            new_node(p, TR_PROMQL_BINARY, lhs->pos.start, 0);
        n->u.binary.op = op;
        n->u.binary.lhs = lhs;
        parse_bin_modifiers(p, n);
        n->u.binary.rhs = parse_expr(p, prec == PREC_POW ? prec : prec + 1);
        n->pos.end = n->u.binary.rhs->pos.end;
        set_height(p, n, lhs, n->u.binary.rhs);
        lhs = n;
    }
    p->depth--;
    return lhs;
}

/* ------------------------------------------------------------------ */
/* Type checking (Prometheus checkAST)                                 */
/* ------------------------------------------------------------------ */

static const char *
short_type_name(enum tr_promql_type t)
{
    switch (t) {
    case TR_PROMQL_TYPE_SCALAR:
        return "scalar";
    case TR_PROMQL_TYPE_VECTOR:
        return "vector";
    case TR_PROMQL_TYPE_MATRIX:
        return "matrix";
    case TR_PROMQL_TYPE_STRING:
        return "string";
    case TR_PROMQL_TYPE_NONE:
        break;
    }
    return "none";
}

static enum tr_promql_type check(struct parser *p, struct tr_promql_node *n);

static void
expect_type(struct parser *p, struct tr_promql_node *n,
            enum tr_promql_type want, const char *context)
{
    enum tr_promql_type t = check(p, n);
    if (t != want) {
        fail(p, n->pos.start, "expected type %s in %s, got %s",
             tr_promql_type_name(want), context, tr_promql_type_name(t));
    }
}

static void
check_selector(struct parser *p, struct tr_promql_node *n)
{
    const struct tr_promql_vector_selector *vs = &n->u.vector;
    if (vs->name.len > 0) {
        for (size_t i = 0; i + 1 < vs->n_matchers; i++) {
            const struct tr_promql_matcher *m = &vs->matchers[i];
            if (m->name.len == 8 && memcmp(m->name.data, "__name__", 8) == 0) {
                fail(p, n->pos.start,
                     "metric name must not be set twice: %s or %s",
                     quoted(p, vs->name.data, vs->name.len),
                     quoted(p, m->value.data, m->value.len));
            }
        }
        return;
    }
    if (tr_promql_matchers_all_empty(n)) {
        fail(p, n->pos.start,
             "vector selector must contain at least one non-empty matcher");
    }
}

static void
check_call(struct parser *p, struct tr_promql_node *n)
{
    const struct tr_promql_function *f = n->u.call.func;
    size_t got = n->u.call.n_args;
    size_t want = (size_t)f->n_args;
    char context[64];

    if (f->variadic == 0) {
        if (got != want) {
            fail(p, n->pos.start,
                 "expected %zu argument(s) in call to \"%s\", got %zu", want,
                 f->name, got);
        }
    } else {
        size_t min = want - 1;
        if (got < min) {
            fail(p, n->pos.start,
                 "expected at least %zu argument(s) in call to \"%s\", got "
                 "%zu",
                 min, f->name, got);
        }
        if (f->variadic > 0 && got > min + (size_t)f->variadic) {
            fail(p, n->pos.start,
                 "expected at most %zu argument(s) in call to \"%s\", got %zu",
                 min + (size_t)f->variadic, f->name, got);
        }
    }
    snprintf(context, sizeof(context), "call to function \"%s\"", f->name);
    for (size_t i = 0; i < got; i++) {
        size_t k = i;
        if (k >= want) {
            if (f->variadic == 0) {
                break;
            }
            k = want - 1;
        }
        expect_type(p, n->u.call.args[i], f->arg_types[k], context);
    }
}

/* Start of the operator of a binary expression, for its messages. */
static uint32_t
op_position(struct parser *p, const struct tr_promql_node *n)
{
    uint32_t pos = n->u.binary.lhs->pos.end;
    while (pos < p->lx.len &&
           (p->lx.in[pos] == ' ' || p->lx.in[pos] == '\t' ||
            p->lx.in[pos] == '\n' || p->lx.in[pos] == '\r')) {
        pos++;
    }
    return pos;
}

static void
check_binary(struct parser *p, struct tr_promql_node *n)
{
    enum tr_promql_type lt = check(p, n->u.binary.lhs);
    enum tr_promql_type rt = check(p, n->u.binary.rhs);
    enum tr_promql_op op = n->u.binary.op;
    struct tr_promql_vector_matching *vm = n->u.binary.matching;

    if (n->u.binary.return_bool && !tr_promql_op_is_comparison(op)) {
        fail(p, op_position(p, n),
             "bool modifier can only be used on comparison operators");
    }
    if (tr_promql_op_is_comparison(op) && !n->u.binary.return_bool &&
        lt == TR_PROMQL_TYPE_SCALAR && rt == TR_PROMQL_TYPE_SCALAR) {
        fail(p, op_position(p, n),
             "comparisons between scalars must use BOOL modifier");
    }
    if (tr_promql_op_is_set(op) && vm->card == TR_PROMQL_CARD_ONE_TO_ONE) {
        vm->card = TR_PROMQL_CARD_MANY_TO_MANY;
    }
    if (vm->on) {
        for (size_t i = 0; i < vm->n_labels; i++) {
            for (size_t j = 0; j < vm->n_include; j++) {
                if (vm->labels[i].len == vm->include[j].len &&
                    memcmp(vm->labels[i].data, vm->include[j].data,
                           vm->labels[i].len) == 0) {
                    fail(p, op_position(p, n),
                         "label %s must not occur in ON and GROUP clause at "
                         "once",
                         quoted(p, vm->labels[i].data, vm->labels[i].len));
                }
            }
        }
    }
    if (lt != TR_PROMQL_TYPE_SCALAR && lt != TR_PROMQL_TYPE_VECTOR) {
        fail(p, n->u.binary.lhs->pos.start,
             "binary expression must contain only scalar and instant vector "
             "types");
    }
    if (rt != TR_PROMQL_TYPE_SCALAR && rt != TR_PROMQL_TYPE_VECTOR) {
        fail(p, n->u.binary.rhs->pos.start,
             "binary expression must contain only scalar and instant vector "
             "types");
    }
    if (lt != TR_PROMQL_TYPE_VECTOR || rt != TR_PROMQL_TYPE_VECTOR) {
        if (vm->n_labels > 0) {
            fail(p, n->pos.start,
                 "vector matching only allowed between instant vectors");
        }
        n->u.binary.matching = NULL;
    } else if (tr_promql_op_is_set(op)) {
        if (vm->card == TR_PROMQL_CARD_ONE_TO_MANY ||
            vm->card == TR_PROMQL_CARD_MANY_TO_ONE) {
            fail(p, n->pos.start, "no grouping allowed for \"%s\" operation",
                 tr_promql_op_name(op));
        }
    }
    if ((lt == TR_PROMQL_TYPE_SCALAR || rt == TR_PROMQL_TYPE_SCALAR) &&
        tr_promql_op_is_set(op)) {
        fail(p, n->pos.start,
             "set operator \"%s\" not allowed in binary scalar expression",
             tr_promql_op_name(op));
    }
}

static enum tr_promql_type
check(struct parser *p, struct tr_promql_node *n)
{
    enum tr_promql_type t;

    switch (n->kind) {
    case TR_PROMQL_VECTOR:
        check_selector(p, n);
        break;
    case TR_PROMQL_MATRIX:
        check_selector(p, n->u.matrix.vector);
        break;
    case TR_PROMQL_SUBQUERY:
        t = check(p, n->u.subquery.expr);
        if (t != TR_PROMQL_TYPE_VECTOR) {
            fail(p, n->pos.start,
                 "subquery is only allowed on instant vector, got %s "
                 "instead",
                 short_type_name(t));
        }
        break;
    case TR_PROMQL_CALL:
        check_call(p, n);
        break;
    case TR_PROMQL_AGGREGATE:
        expect_type(p, n->u.aggregate.expr, TR_PROMQL_TYPE_VECTOR,
                    "aggregation expression");
        if (n->u.aggregate.op == TR_PROMQL_AGG_COUNT_VALUES) {
            expect_type(p, n->u.aggregate.param, TR_PROMQL_TYPE_STRING,
                        "aggregation parameter");
        } else if (n->u.aggregate.param) {
            expect_type(p, n->u.aggregate.param, TR_PROMQL_TYPE_SCALAR,
                        "aggregation parameter");
        }
        break;
    case TR_PROMQL_BINARY:
        check_binary(p, n);
        break;
    case TR_PROMQL_UNARY:
        t = check(p, n->u.unary.expr);
        if (t != TR_PROMQL_TYPE_SCALAR && t != TR_PROMQL_TYPE_VECTOR) {
            fail(p, n->pos.start,
                 "unary expression only allowed on expressions of type "
                 "scalar or instant vector, got \"%s\"",
                 tr_promql_type_name(t));
        }
        break;
    case TR_PROMQL_PAREN:
        check(p, n->u.paren.expr);
        break;
    case TR_PROMQL_NUMBER:
    case TR_PROMQL_STRING:
        break;
    }
    return tr_promql_node_type(n);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

static int
finish_error(struct parser *p, struct tr_promql_error *perr, struct tr_err *err)
{
    if (p->code == TR_ENOMEM) {
        if (perr) {
            memset(perr, 0, sizeof(*perr));
            snprintf(perr->msg, sizeof(perr->msg), "%s", p->err_msg);
        }
        return tr_err_set(err, TR_ENOMEM, "cannot parse query: out of memory");
    }
    uint32_t line = 1;
    uint32_t line_start = 0;
    for (uint32_t i = 0; i < p->err_pos && i < p->lx.len; i++) {
        if (p->lx.in[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    uint32_t col = p->err_pos - line_start + 1;
    if (perr) {
        perr->pos = p->err_pos;
        perr->line = line;
        perr->col = col;
        snprintf(perr->msg, sizeof(perr->msg), "%s", p->err_msg);
    }
    return tr_err_set(err, TR_EINVAL, "%u:%u: parse error: %s", line, col,
                      p->err_msg);
}

static void
parser_init(struct parser *p, const char *text, size_t len,
            struct tr_arena *arena)
{
    memset(p, 0, sizeof(*p));
    lexer_init(&p->lx, text, len);
    p->arena = arena;
}

int
tr_promql_parse(const char *query, size_t len, struct tr_arena *arena,
                struct tr_promql_node **out, struct tr_promql_error *perr,
                struct tr_err *err)
{
    /* In the arena: it is large, and it is not modified across setjmp. */
    struct parser *p = tr_arena_calloc(arena, 1, sizeof(*p));
    struct tr_promql_node *root;

    *out = NULL;
    if (!p) {
        return tr_err_set(err, TR_ENOMEM, "cannot parse query: out of memory");
    }
    if (len > UINT32_MAX / 2) {
        return tr_err_set(err, TR_ELIMIT, "cannot parse query: too long");
    }
    parser_init(p, query, len, arena);
    if (setjmp(p->jb) != 0) {
        return finish_error(p, perr, err);
    }
    if (peek(p)->type == TOK_EOF) {
        fail(p, 0, "no expression found in input");
    }
    root = parse_expr(p, PREC_NONE);
    if (peek(p)->type != TOK_EOF) {
        unexpected(p, NULL, NULL);
    }
    check(p, root);
    *out = root;
    return TR_OK;
}

int
tr_promql_parse_selector(const char *text, size_t len, struct tr_arena *arena,
                         struct tr_promql_node **out,
                         struct tr_promql_error *perr, struct tr_err *err)
{
    struct parser *p = tr_arena_calloc(arena, 1, sizeof(*p));
    struct tr_promql_node *n = NULL;

    *out = NULL;
    if (!p) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot parse selector: out of memory");
    }
    if (len > UINT32_MAX / 2) {
        return tr_err_set(err, TR_ELIMIT, "cannot parse selector: too long");
    }
    parser_init(p, text, len, arena);
    if (setjmp(p->jb) != 0) {
        return finish_error(p, perr, err);
    }
    enum tok_type t = peek(p)->type;
    if (t == TOK_LBRACE) {
        n = parse_selector(p, NULL);
    } else if (t == TOK_IDENT || t == TOK_METRIC_IDENT || t == TOK_BY ||
               t == TOK_WITHOUT || t == TOK_OFFSET || t == TOK_LAND ||
               t == TOK_LOR || t == TOK_LUNLESS || t == TOK_START ||
               t == TOK_END || tok_is_aggregator(t)) {
        struct token name = consume(p);
        n = parse_selector(p, &name);
    } else {
        unexpected(p, NULL, NULL);
    }
    if (peek(p)->type != TOK_EOF) {
        unexpected(p, NULL, NULL);
    }
    *out = n;
    return TR_OK;
}

bool
tr_promql_matchers_all_empty(const struct tr_promql_node *vector)
{
    for (size_t i = 0; i < vector->u.vector.n_matchers; i++) {
        if (!vector->u.vector.matchers[i].matches_empty) {
            return false;
        }
    }
    return true;
}
