/*
 * Label matchers as PromQL and LogQL selectors use them: name = "v",
 * name != "v", name =~ "re", name !~ "re".
 *
 * A series without the label is treated as having the empty value, so
 * {a=""} selects series without a, {a!=""} series with a, and a regex that
 * matches "" also selects series without the label (PromQL semantics).
 *
 * Regexes are PCRE2 with JIT, compiled fully anchored (the whole value
 * must match, as PromQL's "^(?s:re)$"), in UTF mode (invalid UTF-8 values
 * simply do not match across their bad bytes) with "." matching newlines.
 * Every match runs under a match limit so that a pathological pattern fails
 * with TR_ELIMIT instead of burning CPU. Plain literals, ".*" and ".+" skip
 * the regex engine.
 *
 * A matcher is immutable after creation; any number of threads may call
 * tr_matcher_match on it at once.
 */
#ifndef TR_TSDB_MATCHER_H
#define TR_TSDB_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;

enum tr_match_type {
    TR_MATCH_EQUAL,     /* =  */
    TR_MATCH_NOT_EQUAL, /* != */
    TR_MATCH_REGEX,     /* =~ */
    TR_MATCH_NOT_REGEX, /* !~ */
};

/* Backtracking steps one regex match may take (PCRE2 match limit). */
#define TR_MATCHER_MATCH_LIMIT 1000000

struct tr_matcher;

/*
 * Creates a matcher; name and value are borrowed and copied. Returns NULL
 * on failure with err set: TR_EINVAL for a regex that does not compile
 * ("cannot compile regex \"(a\": missing closing parenthesis at offset
 * 2"), TR_ENOMEM. Free with tr_matcher_destroy.
 */
struct tr_matcher *tr_matcher_create(enum tr_match_type type,
                                     const char *name, size_t name_len,
                                     const char *value, size_t value_len,
                                     struct tr_err *err);

/* NULL is allowed. */
void tr_matcher_destroy(struct tr_matcher *m);

/*
 * Tests a label value (pass "" / 0 for a series that lacks the label).
 * Returns 1 (matches), 0 (does not) or TR_ELIMIT when the regex hit the
 * match limit (err says so; treat the query as failed).
 */
int tr_matcher_match(const struct tr_matcher *m, const char *value,
                     size_t len, struct tr_err *err);

/* True when the matcher matches the empty value (a missing label). */
bool tr_matcher_matches_empty(const struct tr_matcher *m);

enum tr_match_type tr_matcher_type(const struct tr_matcher *m);
/* Name and value as given (borrowed from m; not NUL-terminated). */
const char *tr_matcher_name(const struct tr_matcher *m, size_t *len);
const char *tr_matcher_value(const struct tr_matcher *m, size_t *len);

/* "=", "!=", "=~" or "!~". */
const char *tr_match_type_op(enum tr_match_type type);

/* Appends the matcher as text, e.g. job=~"api|web". TR_OK or TR_ENOMEM. */
int tr_matcher_format(const struct tr_matcher *m, struct tr_buf *out);

#endif
