/*
 * The PromQL parser: query text -> checked AST (ast.h), with the syntax,
 * the type rules and the error messages of Prometheus 2.42.
 *
 * Errors read like Prometheus's, because Grafana shows them to users as
 * they are: "1:15: parse error: unexpected <by>". Only the first error is
 * reported, as the Prometheus HTTP API does. That text goes into err->msg
 * (code TR_EINVAL) without a "cannot ..." prefix so the HTTP layer can put
 * "invalid parameter \"query\": " in front exactly like Prometheus; the
 * parts are also in struct tr_promql_error for callers that want them.
 *
 * Known differences from Prometheus (documented, deliberate):
 *  - invalid regular expressions are diagnosed by PCRE2, so the message
 *    after "error parsing regexp: " differs from Go's RE2 wording;
 *  - expressions nested deeper than TR_PROMQL_MAX_DEPTH levels are refused
 *    (Prometheus has no limit) to keep the recursion on the stack bounded.
 *
 * Not thread-safe per arena; the parser itself keeps no global state.
 */
#ifndef TR_PROMQL_PARSER_H
#define TR_PROMQL_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "promql/ast.h"

struct tr_arena;

/* Deepest nesting of expressions the parser accepts. */
#define TR_PROMQL_MAX_DEPTH 1000

struct tr_promql_error {
    uint32_t pos;  /* byte offset in the query */
    uint32_t line; /* 1-based */
    uint32_t col;  /* 1-based, in bytes from the start of the line */
    /* The message alone, e.g. "unexpected <by>". */
    char msg[TR_ERR_MSG_MAX];
};

/*
 * Parses and type-checks an expression of len bytes (no NUL needed). On
 * success *out is the root of a tree allocated in arena (valid until the
 * arena is reset) and TR_OK is returned. On bad input returns TR_EINVAL,
 * fills perr (may be NULL) and sets err (may be NULL) to the Prometheus
 * text "<line>:<col>: parse error: <msg>". TR_ENOMEM when the arena is
 * exhausted, TR_ELIMIT for input over 2 GiB. *out is NULL on any error.
 */
int tr_promql_parse(const char *query, size_t len, struct tr_arena *arena,
                    struct tr_promql_node **out, struct tr_promql_error *perr,
                    struct tr_err *err);

/*
 * Parses a series selector as the match[] parameter of the series, labels
 * and label values APIs takes it (Prometheus ParseMetricSelector): a
 * vector selector only, no range, offset or @. Like Prometheus it does not
 * require a non-empty matcher (the APIs check that themselves, with their
 * own message; see tr_promql_matchers_all_empty). On success *out is a
 * TR_PROMQL_VECTOR node in arena. Errors as tr_promql_parse.
 */
int tr_promql_parse_selector(const char *text, size_t len,
                             struct tr_arena *arena,
                             struct tr_promql_node **out,
                             struct tr_promql_error *perr, struct tr_err *err);

/*
 * True when every matcher of a selector accepts the empty string, i.e. the
 * selector would select every series ("{}", {a=~".*"}).
 */
bool tr_promql_matchers_all_empty(const struct tr_promql_node *vector);

#endif
