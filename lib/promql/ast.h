/*
 * The PromQL abstract syntax tree, as produced by the parser (parser.h).
 *
 * The tree mirrors the expression kinds of Prometheus 2.42 so that an
 * evaluator can walk it with one switch on `kind`:
 *
 *   NUMBER     1, -2.5, Inf           u.number
 *   STRING     "abc"                  u.string
 *   VECTOR     up{job="x"} offset 5m  u.vector
 *   MATRIX     up[5m] @ 100           u.matrix (wraps a VECTOR node)
 *   SUBQUERY   rate(x[1m])[1h:5m]     u.subquery
 *   CALL       rate(x[5m])            u.call
 *   AGGREGATE  sum by (a) (x)         u.aggregate
 *   BINARY     a + on(b) c            u.binary
 *   UNARY      -x                     u.unary (a minus on a number literal
 *                                     is folded into the literal instead)
 *   PAREN      (x)                    u.paren
 *
 * Every node and every string in it lives in the arena given to the parser;
 * nothing is freed separately. Strings are pointer+length and also
 * NUL-terminated (label values may contain NUL bytes through escapes, so
 * use the length).
 *
 * Durations are int64 nanoseconds (base/clock.h), timestamps of @ are int64
 * milliseconds since the epoch, as Prometheus keeps them.
 */
#ifndef TR_PROMQL_AST_H
#define TR_PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;

/* Value types of expressions (Prometheus ValueType). */
enum tr_promql_type {
    TR_PROMQL_TYPE_NONE = 0,
    TR_PROMQL_TYPE_SCALAR,
    TR_PROMQL_TYPE_VECTOR, /* "instant vector" */
    TR_PROMQL_TYPE_MATRIX, /* "range vector" */
    TR_PROMQL_TYPE_STRING,
};

enum tr_promql_kind {
    TR_PROMQL_NUMBER = 1,
    TR_PROMQL_STRING,
    TR_PROMQL_VECTOR,
    TR_PROMQL_MATRIX,
    TR_PROMQL_SUBQUERY,
    TR_PROMQL_CALL,
    TR_PROMQL_AGGREGATE,
    TR_PROMQL_BINARY,
    TR_PROMQL_UNARY,
    TR_PROMQL_PAREN,
};

/* Binary operators, and ADD/SUB also as unary operators. */
enum tr_promql_op {
    TR_PROMQL_OP_ADD = 1,
    TR_PROMQL_OP_SUB,
    TR_PROMQL_OP_MUL,
    TR_PROMQL_OP_DIV,
    TR_PROMQL_OP_MOD,
    TR_PROMQL_OP_POW,
    TR_PROMQL_OP_ATAN2,
    TR_PROMQL_OP_EQL, /* == */
    TR_PROMQL_OP_NEQ, /* != */
    TR_PROMQL_OP_GTR, /* > */
    TR_PROMQL_OP_LSS, /* < */
    TR_PROMQL_OP_GTE, /* >= */
    TR_PROMQL_OP_LTE, /* <= */
    TR_PROMQL_OP_AND,
    TR_PROMQL_OP_OR,
    TR_PROMQL_OP_UNLESS,
};

enum tr_promql_agg_op {
    TR_PROMQL_AGG_SUM = 1,
    TR_PROMQL_AGG_AVG,
    TR_PROMQL_AGG_COUNT,
    TR_PROMQL_AGG_MIN,
    TR_PROMQL_AGG_MAX,
    TR_PROMQL_AGG_GROUP,
    TR_PROMQL_AGG_STDDEV,
    TR_PROMQL_AGG_STDVAR,
    TR_PROMQL_AGG_TOPK,         /* param: scalar k */
    TR_PROMQL_AGG_BOTTOMK,      /* param: scalar k */
    TR_PROMQL_AGG_COUNT_VALUES, /* param: string label */
    TR_PROMQL_AGG_QUANTILE,     /* param: scalar phi */
};

enum tr_promql_match_type {
    TR_PROMQL_MATCH_EQ = 1, /* =  */
    TR_PROMQL_MATCH_NEQ,    /* != */
    TR_PROMQL_MATCH_RE,     /* =~ (anchored: the whole value must match) */
    TR_PROMQL_MATCH_NRE,    /* !~ */
};

/* The @ modifier. */
enum tr_promql_at_kind {
    TR_PROMQL_AT_NONE = 0,
    TR_PROMQL_AT_TIMESTAMP, /* @ <number>: at.timestamp_ms */
    TR_PROMQL_AT_START,     /* @ start(): the query's start time */
    TR_PROMQL_AT_END,       /* @ end(): the query's end time */
};

/* Vector matching cardinality of binary operations between vectors. */
enum tr_promql_card {
    TR_PROMQL_CARD_ONE_TO_ONE = 0,
    TR_PROMQL_CARD_MANY_TO_ONE,  /* group_left */
    TR_PROMQL_CARD_ONE_TO_MANY,  /* group_right */
    TR_PROMQL_CARD_MANY_TO_MANY, /* and, or, unless */
};

/* Byte offsets into the query text: [start, end). */
struct tr_promql_pos {
    uint32_t start;
    uint32_t end;
};

struct tr_promql_str {
    const char *data; /* NUL-terminated, arena memory */
    size_t len;
};

struct tr_promql_at {
    enum tr_promql_at_kind kind;
    int64_t timestamp_ms; /* for TR_PROMQL_AT_TIMESTAMP */
};

struct tr_promql_matcher {
    enum tr_promql_match_type type;
    struct tr_promql_str name;
    struct tr_promql_str value; /* unescaped */
    /* Whether the matcher accepts the empty string (a missing label). */
    bool matches_empty;
};

/*
 * A function of the function table (tr_promql_function_lookup). Arguments
 * beyond n_args - 1 of a variadic function have the type of the last one.
 */
enum tr_promql_func_id {
    TR_PROMQL_FN_ABS = 1,
    TR_PROMQL_FN_ABSENT,
    TR_PROMQL_FN_ABSENT_OVER_TIME,
    TR_PROMQL_FN_ACOS,
    TR_PROMQL_FN_ACOSH,
    TR_PROMQL_FN_ASIN,
    TR_PROMQL_FN_ASINH,
    TR_PROMQL_FN_ATAN,
    TR_PROMQL_FN_ATANH,
    TR_PROMQL_FN_AVG_OVER_TIME,
    TR_PROMQL_FN_CEIL,
    TR_PROMQL_FN_CHANGES,
    TR_PROMQL_FN_CLAMP,
    TR_PROMQL_FN_CLAMP_MAX,
    TR_PROMQL_FN_CLAMP_MIN,
    TR_PROMQL_FN_COS,
    TR_PROMQL_FN_COSH,
    TR_PROMQL_FN_COUNT_OVER_TIME,
    TR_PROMQL_FN_DAYS_IN_MONTH,
    TR_PROMQL_FN_DAY_OF_MONTH,
    TR_PROMQL_FN_DAY_OF_WEEK,
    TR_PROMQL_FN_DAY_OF_YEAR,
    TR_PROMQL_FN_DEG,
    TR_PROMQL_FN_DELTA,
    TR_PROMQL_FN_DERIV,
    TR_PROMQL_FN_EXP,
    TR_PROMQL_FN_FLOOR,
    TR_PROMQL_FN_HISTOGRAM_COUNT,
    TR_PROMQL_FN_HISTOGRAM_FRACTION,
    TR_PROMQL_FN_HISTOGRAM_QUANTILE,
    TR_PROMQL_FN_HISTOGRAM_SUM,
    TR_PROMQL_FN_HOLT_WINTERS,
    TR_PROMQL_FN_HOUR,
    TR_PROMQL_FN_IDELTA,
    TR_PROMQL_FN_INCREASE,
    TR_PROMQL_FN_IRATE,
    TR_PROMQL_FN_LABEL_JOIN,
    TR_PROMQL_FN_LABEL_REPLACE,
    TR_PROMQL_FN_LAST_OVER_TIME,
    TR_PROMQL_FN_LN,
    TR_PROMQL_FN_LOG10,
    TR_PROMQL_FN_LOG2,
    TR_PROMQL_FN_MAX_OVER_TIME,
    TR_PROMQL_FN_MIN_OVER_TIME,
    TR_PROMQL_FN_MINUTE,
    TR_PROMQL_FN_MONTH,
    TR_PROMQL_FN_PI,
    TR_PROMQL_FN_PREDICT_LINEAR,
    TR_PROMQL_FN_PRESENT_OVER_TIME,
    TR_PROMQL_FN_QUANTILE_OVER_TIME,
    TR_PROMQL_FN_RAD,
    TR_PROMQL_FN_RATE,
    TR_PROMQL_FN_RESETS,
    TR_PROMQL_FN_ROUND,
    TR_PROMQL_FN_SCALAR,
    TR_PROMQL_FN_SGN,
    TR_PROMQL_FN_SIN,
    TR_PROMQL_FN_SINH,
    TR_PROMQL_FN_SORT,
    TR_PROMQL_FN_SORT_DESC,
    TR_PROMQL_FN_SQRT,
    TR_PROMQL_FN_STDDEV_OVER_TIME,
    TR_PROMQL_FN_STDVAR_OVER_TIME,
    TR_PROMQL_FN_SUM_OVER_TIME,
    TR_PROMQL_FN_TAN,
    TR_PROMQL_FN_TANH,
    TR_PROMQL_FN_TIME,
    TR_PROMQL_FN_TIMESTAMP,
    TR_PROMQL_FN_VECTOR,
    TR_PROMQL_FN_YEAR,
};

#define TR_PROMQL_MAX_FUNC_ARGS 5

struct tr_promql_function {
    enum tr_promql_func_id id;
    const char *name;
    /* Declared argument types; n_args of them. */
    enum tr_promql_type arg_types[TR_PROMQL_MAX_FUNC_ARGS];
    int n_args;
    /*
     * 0: exactly n_args arguments. > 0: the last argument is optional and
     * may be given up to `variadic` times. -1: the last argument may repeat
     * without limit (label_join). The minimum is then n_args - 1.
     */
    int variadic;
    enum tr_promql_type return_type;
};

struct tr_promql_node;

struct tr_promql_vector_selector {
    /* The metric name before the braces; empty when not given that way. */
    struct tr_promql_str name;
    /*
     * All matchers, in query order. As in Prometheus, a name given before
     * the braces is also present as the last matcher __name__="<name>", so
     * an evaluator needs only this list.
     */
    struct tr_promql_matcher *matchers;
    size_t n_matchers;
    int64_t offset_ns; /* original offset; negative looks into the future */
    struct tr_promql_at at;
};

struct tr_promql_vector_matching {
    enum tr_promql_card card;
    /* on (...) when true, ignoring (...) otherwise. */
    bool on;
    struct tr_promql_str *labels;
    size_t n_labels;
    /* group_left/group_right (...) extra labels. */
    struct tr_promql_str *include;
    size_t n_include;
};

struct tr_promql_node {
    enum tr_promql_kind kind;
    struct tr_promql_pos pos;
    /*
     * Levels in this subtree, 1 for a leaf. The parser refuses trees higher
     * than TR_PROMQL_MAX_DEPTH (parser.h), so recursion over a parsed tree
     * is bounded by that.
     */
    uint32_t height;
    union {
        double number;
        struct tr_promql_str string;
        struct tr_promql_vector_selector vector;
        struct {
            /* A TR_PROMQL_VECTOR node; its offset and @ apply. */
            struct tr_promql_node *vector;
            int64_t range_ns;
        } matrix;
        struct {
            struct tr_promql_node *expr;
            int64_t range_ns;
            /* 0 when omitted ([5m:]): the evaluator uses its default. */
            int64_t step_ns;
            int64_t offset_ns;
            struct tr_promql_at at;
        } subquery;
        struct {
            const struct tr_promql_function *func;
            struct tr_promql_node **args;
            size_t n_args;
        } call;
        struct {
            enum tr_promql_agg_op op;
            struct tr_promql_node *expr;
            /* topk/bottomk/quantile/count_values parameter, else NULL. */
            struct tr_promql_node *param;
            struct tr_promql_str *grouping;
            size_t n_grouping;
            bool without;
        } aggregate;
        struct {
            enum tr_promql_op op;
            struct tr_promql_node *lhs;
            struct tr_promql_node *rhs;
            bool return_bool;
            /*
             * Set only when both sides are instant vectors (after checking,
             * as Prometheus does); NULL otherwise. Set operators always
             * have TR_PROMQL_CARD_MANY_TO_MANY.
             */
            struct tr_promql_vector_matching *matching;
        } binary;
        struct {
            enum tr_promql_op op; /* ADD or SUB */
            struct tr_promql_node *expr;
        } unary;
        struct {
            struct tr_promql_node *expr;
        } paren;
    } u;
};

/* The value type an expression evaluates to. */
enum tr_promql_type tr_promql_node_type(const struct tr_promql_node *node);

/* "scalar", "instant vector", "range vector", "string", "none". */
const char *tr_promql_type_name(enum tr_promql_type type);
/* "+", "==", "and", "atan2", ... */
const char *tr_promql_op_name(enum tr_promql_op op);
/* "sum", "count_values", ... */
const char *tr_promql_agg_op_name(enum tr_promql_agg_op op);
/* "=", "!=", "=~", "!~". */
const char *tr_promql_match_type_name(enum tr_promql_match_type type);

/* True for == != > < >= <=. */
bool tr_promql_op_is_comparison(enum tr_promql_op op);
/* True for and, or, unless. */
bool tr_promql_op_is_set(enum tr_promql_op op);

/*
 * Finds a function by name (len bytes, case-sensitive as in Prometheus).
 * Returns a pointer into a static table, or NULL for an unknown name.
 */
const struct tr_promql_function *tr_promql_function_lookup(const char *name,
                                                           size_t len);
/* The whole table, for listing (n_out receives its length). */
const struct tr_promql_function *tr_promql_functions(size_t *n_out);

/*
 * Ancestors of a visited node, innermost first: path->node is the parent,
 * path->up the grandparent, and so on. NULL at the root.
 */
struct tr_promql_path {
    struct tr_promql_node *node;
    const struct tr_promql_path *up;
};

/*
 * Called for every node, parents before children. Return 0 to descend,
 * 1 to skip this node's children, or a negative TR_E* code to stop the
 * walk (tr_promql_walk then returns that code).
 */
typedef int (*tr_promql_visit_fn)(struct tr_promql_node *node,
                                  const struct tr_promql_path *path, void *arg);

/*
 * Visits node and its descendants in source order (aggregate parameter
 * before expression, call arguments left to right, lhs before rhs).
 * Returns TR_OK or the first negative code returned by fn.
 */
int tr_promql_walk(struct tr_promql_node *node, tr_promql_visit_fn fn,
                   void *arg);

/*
 * Appends the canonical single-line PromQL text of node to out, as the
 * /api/v1/format_query endpoint of Prometheus 2.42 prints it for short
 * queries (it breaks queries longer than 100 characters over several
 * lines; this function never does). Returns TR_OK or TR_ENOMEM.
 */
int tr_promql_format(const struct tr_promql_node *node, struct tr_buf *out);

/*
 * Appends a label matcher as Prometheus prints it: name, operator and the
 * value quoted with Go escaping (a="b\n"). TR_OK or TR_ENOMEM.
 */
int tr_promql_format_matcher(const struct tr_promql_matcher *m,
                             struct tr_buf *out);

/*
 * Appends s in double quotes with Go's escaping (strconv.Quote), as
 * PromQL prints string literals and label values. TR_OK or TR_ENOMEM.
 */
int tr_promql_format_string(const char *s, size_t len, struct tr_buf *out);

/*
 * Writes a duration the way Prometheus prints one (model.Duration: "1h30m",
 * "90d" — years and weeks only when exact, milliseconds kept) into out and
 * returns out. ns is truncated to milliseconds; 0 prints "0s".
 */
char *tr_promql_duration_format(int64_t ns, char *out, size_t size);

#endif
