/*
 * PromQL lexer. The rules (what a number, duration, identifier or string
 * is, which characters are allowed inside braces and brackets, and the
 * wording and position of each error) follow Prometheus 2.42 as observed,
 * so that malformed queries fail the same way.
 */
#include "promql/lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EOF_RUNE 0xFFFFFFFFu
#define RUNE_ERROR 0xFFFDu

/* ------------------------------------------------------------------ */
/* Character classes and UTF-8                                         */
/* ------------------------------------------------------------------ */

static bool
is_space(uint32_t r)
{
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool
is_digit(uint32_t r)
{
    return r >= '0' && r <= '9';
}

static bool
is_alpha(uint32_t r)
{
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool
is_alnum(uint32_t r)
{
    return is_alpha(r) || is_digit(r);
}

uint32_t
utf8_decode(const char *s, size_t len, size_t *width)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t r;
    size_t n;

    *width = 1;
    if (len == 0) {
        *width = 0;
        return RUNE_ERROR;
    }
    if (u[0] < 0x80) {
        return u[0];
    }
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        n = 2;
        r = u[0] & 0x1F;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        n = 3;
        r = u[0] & 0x0F;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        n = 4;
        r = u[0] & 0x07;
    } else {
        return RUNE_ERROR;
    }
    if (len < n) {
        return RUNE_ERROR;
    }
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            return RUNE_ERROR;
        }
        r = (r << 6) | (u[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if ((n == 3 && r < 0x800) || (n == 4 && r < 0x10000) || r > 0x10FFFF ||
        (r >= 0xD800 && r <= 0xDFFF)) {
        return RUNE_ERROR;
    }
    *width = n;
    return r;
}

bool
rune_is_print(uint32_t r)
{
    if (r < 0x80) {
        return r >= 0x20 && r < 0x7F;
    }
    /* C1 controls, no-break space and soft hyphen. */
    if (r <= 0xA0 || r == 0xAD) {
        return false;
    }
    /* Spaces, format characters and separators outside ASCII. */
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
        (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF ||
        (r >= 0xFFF0 && r <= 0xFFFB) || r == 0x1680 || r == 0x180E) {
        return false;
    }
    if ((r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF || r == 0xFFFE ||
        r == 0xFFFF) {
        return false;
    }
    /* Private use areas are not printable in Go either. */
    if ((r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000) {
        return false;
    }
    return true;
}

/* Go's %q of a rune: 'a', '\n', '\x00', 'é'. */
static void
quote_rune(uint32_t r, char *out, size_t size)
{
    if (r == EOF_RUNE) {
        r = RUNE_ERROR;
    }
    switch (r) {
    case '\a':
        snprintf(out, size, "'\\a'");
        return;
    case '\b':
        snprintf(out, size, "'\\b'");
        return;
    case '\f':
        snprintf(out, size, "'\\f'");
        return;
    case '\n':
        snprintf(out, size, "'\\n'");
        return;
    case '\r':
        snprintf(out, size, "'\\r'");
        return;
    case '\t':
        snprintf(out, size, "'\\t'");
        return;
    case '\v':
        snprintf(out, size, "'\\v'");
        return;
    case '\\':
        snprintf(out, size, "'\\\\'");
        return;
    case '\'':
        snprintf(out, size, "'\\''");
        return;
    default:
        break;
    }
    if (rune_is_print(r)) {
        char enc[5] = {0};
        if (r < 0x80) {
            enc[0] = (char)r;
        } else if (r < 0x800) {
            enc[0] = (char)(0xC0 | (r >> 6));
            enc[1] = (char)(0x80 | (r & 0x3F));
        } else if (r < 0x10000) {
            enc[0] = (char)(0xE0 | (r >> 12));
            enc[1] = (char)(0x80 | ((r >> 6) & 0x3F));
            enc[2] = (char)(0x80 | (r & 0x3F));
        } else {
            enc[0] = (char)(0xF0 | (r >> 18));
            enc[1] = (char)(0x80 | ((r >> 12) & 0x3F));
            enc[2] = (char)(0x80 | ((r >> 6) & 0x3F));
            enc[3] = (char)(0x80 | (r & 0x3F));
        }
        snprintf(out, size, "'%s'", enc);
    } else if (r < 0x20 || r == 0x7F) {
        snprintf(out, size, "'\\x%02x'", (unsigned)r);
    } else if (r < 0x10000) {
        snprintf(out, size, "'\\u%04x'", (unsigned)r);
    } else {
        snprintf(out, size, "'\\U%08x'", (unsigned)r);
    }
}

/* Go's %#U: "U+0071 'q'" (the quoted form only when printable). */
static void
format_code_point(uint32_t r, char *out, size_t size)
{
    if (rune_is_print(r)) {
        char q[16];
        quote_rune(r, q, sizeof(q));
        /* %#U prints the character itself, unescaped, between quotes. */
        if (r == '\'' || r == '\\') {
            snprintf(q, sizeof(q), "'%c'", (char)r);
        }
        snprintf(out, size, "U+%04X %s", (unsigned)r, q);
    } else {
        snprintf(out, size, "U+%04X", (unsigned)r);
    }
}

/* ------------------------------------------------------------------ */
/* Reading runes                                                       */
/* ------------------------------------------------------------------ */

struct scan {
    struct lexer *lx;
    size_t width; /* width of the last rune read, for backup */
};

static uint32_t
next_rune(struct scan *s)
{
    struct lexer *lx = s->lx;
    if (lx->pos >= lx->len) {
        s->width = 0;
        return EOF_RUNE;
    }
    uint32_t r = utf8_decode(lx->in + lx->pos, lx->len - lx->pos, &s->width);
    lx->pos += s->width;
    return r;
}

static void
backup(struct scan *s)
{
    s->lx->pos -= s->width;
}

static uint32_t
peek_rune(struct scan *s)
{
    uint32_t r = next_rune(s);
    backup(s);
    return r;
}

static bool
accept(struct scan *s, const char *valid)
{
    uint32_t r = next_rune(s);
    if (r != EOF_RUNE && r < 0x80 && r != 0 && strchr(valid, (int)r)) {
        return true;
    }
    backup(s);
    return false;
}

static void
accept_run(struct scan *s, const char *valid)
{
    while (accept(s, valid)) {
    }
}

static void
emit(struct lexer *lx, struct token *tok, enum tok_type type)
{
    tok->type = type;
    tok->pos = (uint32_t)lx->start;
    tok->len = (uint32_t)(lx->pos - lx->start);
    lx->start = lx->pos;
}

static void lex_error(struct lexer *lx, struct token *tok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lex_error(struct lexer *lx, struct token *tok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err, sizeof(lx->err), fmt, ap);
    va_end(ap);
    tok->type = TOK_ERROR;
    tok->pos = (uint32_t)lx->start;
    tok->len = 0;
    lx->done = true;
}

/* ------------------------------------------------------------------ */
/* Keywords                                                            */
/* ------------------------------------------------------------------ */

static const struct {
    const char *word;
    enum tok_type type;
} keywords[] = {
    {"and", TOK_LAND},
    {"or", TOK_LOR},
    {"unless", TOK_LUNLESS},
    {"atan2", TOK_ATAN2},
    {"sum", TOK_SUM},
    {"avg", TOK_AVG},
    {"count", TOK_COUNT},
    {"min", TOK_MIN},
    {"max", TOK_MAX},
    {"group", TOK_GROUP},
    {"stddev", TOK_STDDEV},
    {"stdvar", TOK_STDVAR},
    {"topk", TOK_TOPK},
    {"bottomk", TOK_BOTTOMK},
    {"count_values", TOK_COUNT_VALUES},
    {"quantile", TOK_QUANTILE},
    {"offset", TOK_OFFSET},
    {"by", TOK_BY},
    {"without", TOK_WITHOUT},
    {"on", TOK_ON},
    {"ignoring", TOK_IGNORING},
    {"group_left", TOK_GROUP_LEFT},
    {"group_right", TOK_GROUP_RIGHT},
    {"bool", TOK_BOOL},
    {"start", TOK_START},
    {"end", TOK_END},
    /* Inf and NaN are numbers, in any case. */
    {"inf", TOK_NUMBER},
    {"nan", TOK_NUMBER},
};

static bool
word_equal_ci(const char *a, size_t alen, const char *lower)
{
    size_t n = strlen(lower);
    if (alen != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

bool
tok_is_operator(enum tok_type t)
{
    return t >= TOK_ADD && t <= TOK_ATAN2;
}

bool
tok_is_aggregator(enum tok_type t)
{
    return t >= TOK_SUM && t <= TOK_QUANTILE;
}

bool
tok_is_keyword(enum tok_type t)
{
    return t >= TOK_BOOL && t <= TOK_WITHOUT;
}

/* ------------------------------------------------------------------ */
/* States                                                              */
/* ------------------------------------------------------------------ */

/*
 * Scans digits of a number; true when what follows cannot continue it
 * (so it is a number and not the start of a duration).
 */
static bool
scan_number(struct scan *s)
{
    const char *digits = "0123456789";
    if (accept(s, "0") && accept(s, "xX")) {
        digits = "0123456789abcdefABCDEF";
    }
    accept_run(s, digits);
    if (accept(s, ".")) {
        accept_run(s, digits);
    }
    if (accept(s, "eE")) {
        accept(s, "+-");
        accept_run(s, "0123456789");
    }
    return !is_alnum(peek_rune(s));
}

/* After the leading digits of a duration: unit, then digit+unit groups. */
static bool
accept_remaining_duration(struct scan *s)
{
    if (!accept(s, "smhdwy")) {
        return false;
    }
    accept(s, "s"); /* ms; bad pairs are caught by the duration parser */
    while (accept(s, "0123456789")) {
        accept_run(s, "0123456789");
        if (!accept(s, "smhdw")) {
            return false;
        }
        accept(s, "s");
    }
    return !is_alnum(next_rune(s));
}

static void
lex_number_or_duration(struct scan *s, struct token *tok)
{
    struct lexer *lx = s->lx;
    if (scan_number(s)) {
        emit(lx, tok, TOK_NUMBER);
        return;
    }
    if (accept_remaining_duration(s)) {
        backup(s);
        emit(lx, tok, TOK_DURATION);
        return;
    }
    lex_error(lx, tok, "bad number or duration syntax: \"%.*s\"",
              (int)(lx->pos - lx->start), lx->in + lx->start);
}

static void
lex_duration(struct scan *s, struct token *tok)
{
    struct lexer *lx = s->lx;
    if (scan_number(s)) {
        lex_error(lx, tok, "missing unit character in duration");
        return;
    }
    if (!accept_remaining_duration(s)) {
        lex_error(lx, tok, "bad duration syntax: \"%.*s\"",
                  (int)(lx->pos - lx->start), lx->in + lx->start);
        return;
    }
    backup(s);
    emit(lx, tok, TOK_DURATION);
}

static int
digit_value(uint32_t r)
{
    if (r >= '0' && r <= '9') {
        return (int)(r - '0');
    }
    if (r >= 'a' && r <= 'f') {
        return (int)(r - 'a' + 10);
    }
    if (r >= 'A' && r <= 'F') {
        return (int)(r - 'A' + 10);
    }
    return 16;
}

/* After a backslash in a quoted string; false after reporting an error. */
static bool
lex_escape(struct scan *s, uint32_t quote, struct token *tok)
{
    struct lexer *lx = s->lx;
    int n;
    uint32_t base, max;
    uint32_t ch = next_rune(s);
    char cp[32];

    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
        return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        n = 3;
        base = 8;
        max = 255;
        break;
    case 'x':
        ch = next_rune(s);
        n = 2;
        base = 16;
        max = 255;
        break;
    case 'u':
        ch = next_rune(s);
        n = 4;
        base = 16;
        max = 0x10FFFF;
        break;
    case 'U':
        ch = next_rune(s);
        n = 8;
        base = 16;
        max = 0x10FFFF;
        break;
    case EOF_RUNE:
        lex_error(lx, tok, "escape sequence not terminated");
        return false;
    default:
        if (ch == quote) {
            return true;
        }
        format_code_point(ch, cp, sizeof(cp));
        lex_error(lx, tok, "unknown escape sequence %s", cp);
        return false;
    }

    uint32_t x = 0;
    while (n > 0) {
        uint32_t d = ch == EOF_RUNE ? 16 : (uint32_t)digit_value(ch);
        if (d >= base) {
            if (ch == EOF_RUNE) {
                lex_error(lx, tok, "escape sequence not terminated");
                return false;
            }
            format_code_point(ch, cp, sizeof(cp));
            lex_error(lx, tok, "illegal character %s in escape sequence", cp);
            return false;
        }
        x = x * base + d;
        n--;
        if (n > 0) {
            ch = next_rune(s);
        }
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) {
        lex_error(lx, tok, "escape sequence is an invalid Unicode code point");
        return false;
    }
    return true;
}

static void
lex_string(struct scan *s, uint32_t quote, struct token *tok)
{
    struct lexer *lx = s->lx;
    for (;;) {
        uint32_t r = next_rune(s);
        if (r == '\\') {
            if (!lex_escape(s, quote, tok)) {
                return;
            }
            continue;
        }
        if (r == RUNE_ERROR) {
            lex_error(lx, tok, "invalid UTF-8 rune");
            return;
        }
        if (r == EOF_RUNE || r == '\n') {
            lex_error(lx, tok, "unterminated quoted string");
            return;
        }
        if (r == quote) {
            break;
        }
    }
    emit(lx, tok, TOK_STRING);
}

static void
lex_raw_string(struct scan *s, struct token *tok)
{
    struct lexer *lx = s->lx;
    for (;;) {
        uint32_t r = next_rune(s);
        if (r == RUNE_ERROR) {
            lex_error(lx, tok, "invalid UTF-8 rune");
            return;
        }
        if (r == EOF_RUNE) {
            lex_error(lx, tok, "unterminated raw string");
            return;
        }
        if (r == '`') {
            break;
        }
    }
    emit(lx, tok, TOK_STRING);
}

static void
lex_keyword_or_identifier(struct scan *s, struct token *tok)
{
    struct lexer *lx = s->lx;
    bool colon = false;
    for (;;) {
        uint32_t r = next_rune(s);
        if (is_alnum(r) || r == ':') {
            colon = colon || r == ':';
            continue;
        }
        backup(s);
        break;
    }
    const char *word = lx->in + lx->start;
    size_t n = lx->pos - lx->start;
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (word_equal_ci(word, n, keywords[i].word)) {
            emit(lx, tok, keywords[i].type);
            return;
        }
    }
    emit(lx, tok, colon ? TOK_METRIC_IDENT : TOK_IDENT);
}

/* Lines starting with '#' are comments; true when one was skipped. */
static bool
skip_comment(struct lexer *lx)
{
    if (lx->pos >= lx->len || lx->in[lx->pos] != '#') {
        return false;
    }
    while (lx->pos < lx->len && lx->in[lx->pos] != '\n') {
        lx->pos++;
    }
    lx->start = lx->pos;
    return true;
}

/* Inside {...}: identifiers, strings, match operators, commas. */
static bool
lex_inside_braces(struct scan *s, struct token *tok)
{
    struct lexer *lx = s->lx;
    char q[16];

    if (skip_comment(lx)) {
        return false;
    }
    uint32_t r = next_rune(s);
    if (r == EOF_RUNE) {
        lex_error(lx, tok, "unexpected end of input inside braces");
    } else if (is_space(r)) {
        lx->start = lx->pos;
        return false;
    } else if (is_alpha(r)) {
        while (is_alnum(next_rune(s))) {
        }
        backup(s);
        emit(lx, tok, TOK_IDENT);
    } else if (r == ',') {
        emit(lx, tok, TOK_COMMA);
    } else if (r == '"' || r == '\'') {
        lex_string(s, r, tok);
    } else if (r == '`') {
        lex_raw_string(s, tok);
    } else if (r == '=') {
        if (next_rune(s) == '~') {
            emit(lx, tok, TOK_EQL_REGEX);
        } else {
            backup(s);
            emit(lx, tok, TOK_ASSIGN);
        }
    } else if (r == '!') {
        uint32_t nr = next_rune(s);
        if (nr == '~') {
            emit(lx, tok, TOK_NEQ_REGEX);
        } else if (nr == '=') {
            emit(lx, tok, TOK_NEQ);
        } else {
            quote_rune(nr, q, sizeof(q));
            lex_error(lx, tok,
                      "unexpected character after '!' inside braces: %s", q);
        }
    } else if (r == '{') {
        lex_error(lx, tok, "unexpected left brace '{'");
    } else if (r == '}') {
        emit(lx, tok, TOK_RBRACE);
        lx->brace_open = false;
    } else {
        quote_rune(r, q, sizeof(q));
        lex_error(lx, tok, "unexpected character inside braces: %s", q);
    }
    return true;
}

/* Outside braces. Returns false when nothing was emitted (space). */
static bool
lex_statements(struct scan *s, struct token *tok)
{
    struct lexer *lx = s->lx;
    char q[16];

    if (skip_comment(lx)) {
        return false;
    }
    uint32_t r = next_rune(s);
    if (r == EOF_RUNE) {
        if (lx->paren_depth != 0) {
            lex_error(lx, tok, "unclosed left parenthesis");
        } else if (lx->bracket_open) {
            lex_error(lx, tok, "unclosed left bracket");
        } else {
            emit(lx, tok, TOK_EOF);
            lx->done = true;
        }
        return true;
    }
    if (is_space(r)) {
        lx->start = lx->pos;
        return false;
    }
    switch (r) {
    case ',':
        emit(lx, tok, TOK_COMMA);
        return true;
    case '*':
        emit(lx, tok, TOK_MUL);
        return true;
    case '/':
        emit(lx, tok, TOK_DIV);
        return true;
    case '%':
        emit(lx, tok, TOK_MOD);
        return true;
    case '+':
        emit(lx, tok, TOK_ADD);
        return true;
    case '-':
        emit(lx, tok, TOK_SUB);
        return true;
    case '^':
        emit(lx, tok, TOK_POW);
        return true;
    case '@':
        emit(lx, tok, TOK_AT);
        return true;
    case '=': {
        uint32_t t = peek_rune(s);
        if (t == '=') {
            next_rune(s);
            emit(lx, tok, TOK_EQLC);
        } else if (t == '~') {
            quote_rune(t, q, sizeof(q));
            lex_error(lx, tok, "unexpected character after '=': %s", q);
        } else {
            emit(lx, tok, TOK_ASSIGN);
        }
        return true;
    }
    case '!': {
        uint32_t t = next_rune(s);
        if (t == '=') {
            emit(lx, tok, TOK_NEQ);
        } else {
            quote_rune(t, q, sizeof(q));
            lex_error(lx, tok, "unexpected character after '!': %s", q);
        }
        return true;
    }
    case '<':
        if (peek_rune(s) == '=') {
            next_rune(s);
            emit(lx, tok, TOK_LTE);
        } else {
            emit(lx, tok, TOK_LSS);
        }
        return true;
    case '>':
        if (peek_rune(s) == '=') {
            next_rune(s);
            emit(lx, tok, TOK_GTE);
        } else {
            emit(lx, tok, TOK_GTR);
        }
        return true;
    case '"':
    case '\'':
        lex_string(s, r, tok);
        return true;
    case '`':
        lex_raw_string(s, tok);
        return true;
    case '(':
        emit(lx, tok, TOK_LPAREN);
        lx->paren_depth++;
        return true;
    case ')':
        emit(lx, tok, TOK_RPAREN);
        lx->paren_depth--;
        if (lx->paren_depth < 0) {
            /* Reported just after the parenthesis, as Prometheus does. */
            lex_error(lx, tok, "unexpected right parenthesis ')'");
        }
        return true;
    case '{':
        emit(lx, tok, TOK_LBRACE);
        lx->brace_open = true;
        return true;
    case '[':
        if (lx->bracket_open) {
            lex_error(lx, tok, "unexpected left bracket '['");
            return true;
        }
        lx->got_colon = false;
        emit(lx, tok, TOK_LBRACKET);
        while (is_space(peek_rune(s))) {
            next_rune(s);
        }
        lx->start = lx->pos;
        lx->bracket_open = true;
        lx->want_duration = true;
        return true;
    case ']':
        if (!lx->bracket_open) {
            lex_error(lx, tok, "unexpected right bracket ']'");
            return true;
        }
        emit(lx, tok, TOK_RBRACKET);
        lx->bracket_open = false;
        return true;
    default:
        break;
    }
    if (is_digit(r) || (r == '.' && is_digit(peek_rune(s)))) {
        backup(s);
        lex_number_or_duration(s, tok);
        return true;
    }
    if (is_alpha(r) || r == ':') {
        if (!lx->bracket_open) {
            backup(s);
            lex_keyword_or_identifier(s, tok);
            return true;
        }
        /*
         * Inside brackets any letter counts as the subquery colon; an odd
         * rule, kept because it decides what "x[5m:a]" reports.
         */
        if (lx->got_colon) {
            quote_rune(r, q, sizeof(q));
            lex_error(lx, tok, "unexpected colon %s", q);
            return true;
        }
        emit(lx, tok, TOK_COLON);
        lx->got_colon = true;
        return true;
    }
    quote_rune(r, q, sizeof(q));
    lex_error(lx, tok, "unexpected character: %s", q);
    return true;
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

void
lexer_init(struct lexer *lx, const char *in, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->in = in;
    lx->len = len;
}

void
lexer_next(struct lexer *lx, struct token *tok)
{
    struct scan s = {lx, 0};

    if (lx->done) {
        tok->type = TOK_EOF;
        tok->pos = (uint32_t)lx->len;
        tok->len = 0;
        return;
    }
    for (;;) {
        lx->start = lx->pos;
        if (lx->want_duration) {
            lx->want_duration = false;
            lex_duration(&s, tok);
            return;
        }
        bool emitted = lx->brace_open ? lex_inside_braces(&s, tok)
                                      : lex_statements(&s, tok);
        if (emitted) {
            return;
        }
    }
}

/* Go's "%.10q" of the token text followed by "..." when it is long. */
static void
quote_token_text(const char *text, size_t len, bool truncate, char *out,
                 size_t size)
{
    size_t o = 0;
    size_t runes = 0;

    if (size < 8) {
        out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < len && o + 14 < size;) {
        if (truncate && runes == 10) {
            break;
        }
        size_t w;
        uint32_t r = utf8_decode(text + i, len - i, &w);
        runes++;
        if (r == '"' || r == '\\') {
            out[o++] = '\\';
            out[o++] = (char)r;
        } else if (r == RUNE_ERROR && w == 1) {
            o += (size_t)snprintf(out + o, size - o, "\\x%02x",
                                  (unsigned char)text[i]);
        } else if (rune_is_print(r)) {
            memcpy(out + o, text + i, w);
            o += w;
        } else {
            char q[16];
            quote_rune(r, q, sizeof(q));
            /* strip the single quotes of the rune form */
            size_t ql = strlen(q);
            memcpy(out + o, q + 1, ql - 2);
            o += ql - 2;
        }
        i += w;
    }
    out[o++] = '"';
    out[o] = '\0';
    if (truncate && runes == 10 && o + 4 < size) {
        memcpy(out + o, "...", 4);
    }
}

void
tok_describe(const struct lexer *lx, const struct token *tok, char *out,
             size_t size)
{
    const char *text = lx->in + tok->pos;
    size_t len = tok->len;
    char q[TR_ERR_MSG_MAX / 2];

    switch (tok->type) {
    case TOK_EOF:
    case TOK_ERROR:
        snprintf(out, size, "end of input");
        return;
    case TOK_IDENT:
        quote_token_text(text, len, false, q, sizeof(q));
        snprintf(out, size, "identifier %s", q);
        return;
    case TOK_METRIC_IDENT:
        quote_token_text(text, len, false, q, sizeof(q));
        snprintf(out, size, "metric identifier %s", q);
        return;
    case TOK_NUMBER:
    case TOK_DURATION:
    case TOK_STRING:
        quote_token_text(text, len, len > 10, q, sizeof(q));
        snprintf(out, size, "%s %s",
                 tok->type == TOK_NUMBER     ? "number"
                 : tok->type == TOK_DURATION ? "duration"
                                             : "string",
                 q);
        return;
    case TOK_AT:
        /* Prometheus has no display name for @, hence this odd text. */
        snprintf(out, size, "\"<Item 57385>\" <op:%.*s>", (int)len, text);
        return;
    default:
        break;
    }
    if (tok_is_operator(tok->type)) {
        snprintf(out, size, "<op:%.*s>", (int)len, text);
    } else if (tok_is_aggregator(tok->type)) {
        snprintf(out, size, "<aggr:%.*s>", (int)len, text);
    } else if (tok_is_keyword(tok->type)) {
        snprintf(out, size, "<%.*s>", (int)len, text);
    } else {
        quote_token_text(text, len, len > 10, q, sizeof(q));
        snprintf(out, size, "%s", q);
    }
}
