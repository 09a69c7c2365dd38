/*
 * PromQL lexer (private to lib/promql). It follows the token rules of the
 * Prometheus 2.42 lexer, including its state (inside braces, inside a
 * range bracket, parenthesis depth), because those rules decide which
 * error a malformed query gets and where.
 */
#ifndef TR_PROMQL_LEXER_H
#define TR_PROMQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum tok_type {
    TOK_EOF = 0,
    TOK_ERROR,
    TOK_IDENT,        /* foo */
    TOK_METRIC_IDENT, /* foo:bar */
    TOK_NUMBER,
    TOK_DURATION,
    TOK_STRING, /* raw text including the quotes */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_ASSIGN, /* = */
    TOK_COLON,
    TOK_AT,
    /* operators */
    TOK_ADD,
    TOK_SUB,
    TOK_MUL,
    TOK_DIV,
    TOK_MOD,
    TOK_POW,
    TOK_EQLC, /* == */
    TOK_NEQ,
    TOK_LSS,
    TOK_GTR,
    TOK_LTE,
    TOK_GTE,
    TOK_EQL_REGEX,
    TOK_NEQ_REGEX,
    TOK_LAND,
    TOK_LOR,
    TOK_LUNLESS,
    TOK_ATAN2,
    /* aggregators */
    TOK_SUM,
    TOK_AVG,
    TOK_COUNT,
    TOK_MIN,
    TOK_MAX,
    TOK_GROUP,
    TOK_STDDEV,
    TOK_STDVAR,
    TOK_TOPK,
    TOK_BOTTOMK,
    TOK_COUNT_VALUES,
    TOK_QUANTILE,
    /* keywords */
    TOK_BOOL,
    TOK_BY,
    TOK_GROUP_LEFT,
    TOK_GROUP_RIGHT,
    TOK_IGNORING,
    TOK_OFFSET,
    TOK_ON,
    TOK_WITHOUT,
    /* @ preprocessors */
    TOK_START,
    TOK_END,
};

struct token {
    enum tok_type type;
    uint32_t pos; /* byte offset of the first byte */
    uint32_t len;
};

struct lexer {
    const char *in;
    size_t len;
    size_t pos;   /* next byte to read */
    size_t start; /* start of the token being scanned */
    int paren_depth;
    bool brace_open;
    bool bracket_open;
    bool got_colon;
    bool want_duration; /* just after '[': the next token is a duration */
    bool done;          /* EOF or an error was returned */
    char err[TR_ERR_MSG_MAX];
};

void lexer_init(struct lexer *lx, const char *in, size_t len);
/*
 * Scans the next token (comments and spaces skipped). After TOK_EOF or
 * TOK_ERROR (message in lx->err, position tok->pos) it keeps returning
 * TOK_EOF.
 */
void lexer_next(struct lexer *lx, struct token *tok);

bool tok_is_operator(enum tok_type t);
bool tok_is_aggregator(enum tok_type t);
bool tok_is_keyword(enum tok_type t);

/*
 * Describes a token the way Prometheus's parser names it in "unexpected
 * ..." messages (`identifier "x"`, `<by>`, `"("`, `end of input`).
 */
void tok_describe(const struct lexer *lx, const struct token *tok, char *out,
                  size_t size);

/*
 * Decodes one UTF-8 sequence like Go's utf8.DecodeRune: returns the rune
 * and its width; invalid input gives 0xFFFD with width 1.
 */
uint32_t utf8_decode(const char *s, size_t len, size_t *width);
/* Go's strconv.IsPrint, closely approximated. */
bool rune_is_print(uint32_t r);

#endif
