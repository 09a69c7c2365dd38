/* AST helpers: value types, operator names and the tree walk. */
#include "promql/ast.h"

#include "base/err.h"

enum tr_promql_type
tr_promql_node_type(const struct tr_promql_node *node)
{
    switch (node->kind) {
    case TR_PROMQL_NUMBER:
        return TR_PROMQL_TYPE_SCALAR;
    case TR_PROMQL_STRING:
        return TR_PROMQL_TYPE_STRING;
    case TR_PROMQL_VECTOR:
    case TR_PROMQL_AGGREGATE:
        return TR_PROMQL_TYPE_VECTOR;
    case TR_PROMQL_MATRIX:
    case TR_PROMQL_SUBQUERY:
        return TR_PROMQL_TYPE_MATRIX;
    case TR_PROMQL_CALL:
        return node->u.call.func->return_type;
    case TR_PROMQL_BINARY:
        if (tr_promql_node_type(node->u.binary.lhs) == TR_PROMQL_TYPE_SCALAR &&
            tr_promql_node_type(node->u.binary.rhs) == TR_PROMQL_TYPE_SCALAR) {
            return TR_PROMQL_TYPE_SCALAR;
        }
        return TR_PROMQL_TYPE_VECTOR;
    case TR_PROMQL_UNARY:
        return tr_promql_node_type(node->u.unary.expr);
    case TR_PROMQL_PAREN:
        return tr_promql_node_type(node->u.paren.expr);
    }
    return TR_PROMQL_TYPE_NONE;
}

const char *
tr_promql_type_name(enum tr_promql_type type)
{
    switch (type) {
    case TR_PROMQL_TYPE_SCALAR:
        return "scalar";
    case TR_PROMQL_TYPE_VECTOR:
        return "instant vector";
    case TR_PROMQL_TYPE_MATRIX:
        return "range vector";
    case TR_PROMQL_TYPE_STRING:
        return "string";
    case TR_PROMQL_TYPE_NONE:
        break;
    }
    return "none";
}

const char *
tr_promql_op_name(enum tr_promql_op op)
{
    static const char *const names[] = {
        [TR_PROMQL_OP_ADD] = "+",       [TR_PROMQL_OP_SUB] = "-",
        [TR_PROMQL_OP_MUL] = "*",       [TR_PROMQL_OP_DIV] = "/",
        [TR_PROMQL_OP_MOD] = "%",       [TR_PROMQL_OP_POW] = "^",
        [TR_PROMQL_OP_ATAN2] = "atan2", [TR_PROMQL_OP_EQL] = "==",
        [TR_PROMQL_OP_NEQ] = "!=",      [TR_PROMQL_OP_GTR] = ">",
        [TR_PROMQL_OP_LSS] = "<",       [TR_PROMQL_OP_GTE] = ">=",
        [TR_PROMQL_OP_LTE] = "<=",      [TR_PROMQL_OP_AND] = "and",
        [TR_PROMQL_OP_OR] = "or",       [TR_PROMQL_OP_UNLESS] = "unless",
    };
    if ((size_t)op < sizeof(names) / sizeof(names[0]) && names[op]) {
        return names[op];
    }
    return "?";
}

const char *
tr_promql_agg_op_name(enum tr_promql_agg_op op)
{
    static const char *const names[] = {
        [TR_PROMQL_AGG_SUM] = "sum",
        [TR_PROMQL_AGG_AVG] = "avg",
        [TR_PROMQL_AGG_COUNT] = "count",
        [TR_PROMQL_AGG_MIN] = "min",
        [TR_PROMQL_AGG_MAX] = "max",
        [TR_PROMQL_AGG_GROUP] = "group",
        [TR_PROMQL_AGG_STDDEV] = "stddev",
        [TR_PROMQL_AGG_STDVAR] = "stdvar",
        [TR_PROMQL_AGG_TOPK] = "topk",
        [TR_PROMQL_AGG_BOTTOMK] = "bottomk",
        [TR_PROMQL_AGG_COUNT_VALUES] = "count_values",
        [TR_PROMQL_AGG_QUANTILE] = "quantile",
    };
    if ((size_t)op < sizeof(names) / sizeof(names[0]) && names[op]) {
        return names[op];
    }
    return "?";
}

const char *
tr_promql_match_type_name(enum tr_promql_match_type type)
{
    switch (type) {
    case TR_PROMQL_MATCH_EQ:
        return "=";
    case TR_PROMQL_MATCH_NEQ:
        return "!=";
    case TR_PROMQL_MATCH_RE:
        return "=~";
    case TR_PROMQL_MATCH_NRE:
        return "!~";
    }
    return "?";
}

bool
tr_promql_op_is_comparison(enum tr_promql_op op)
{
    return op >= TR_PROMQL_OP_EQL && op <= TR_PROMQL_OP_LTE;
}

bool
tr_promql_op_is_set(enum tr_promql_op op)
{
    return op == TR_PROMQL_OP_AND || op == TR_PROMQL_OP_OR ||
           op == TR_PROMQL_OP_UNLESS;
}

static int
walk(struct tr_promql_node *node, const struct tr_promql_path *path,
     tr_promql_visit_fn fn, void *arg)
{
    int rc = fn(node, path, arg);
    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        return TR_OK;
    }
    struct tr_promql_path here = {node, path};
    struct tr_promql_node *kids[3] = {NULL, NULL, NULL};

    switch (node->kind) {
    case TR_PROMQL_MATRIX:
        kids[0] = node->u.matrix.vector;
        break;
    case TR_PROMQL_SUBQUERY:
        kids[0] = node->u.subquery.expr;
        break;
    case TR_PROMQL_CALL:
        for (size_t i = 0; i < node->u.call.n_args; i++) {
            rc = walk(node->u.call.args[i], &here, fn, arg);
            if (rc < 0) {
                return rc;
            }
        }
        return TR_OK;
    case TR_PROMQL_AGGREGATE:
        kids[0] = node->u.aggregate.param;
        kids[1] = node->u.aggregate.expr;
        break;
    case TR_PROMQL_BINARY:
        kids[0] = node->u.binary.lhs;
        kids[1] = node->u.binary.rhs;
        break;
    case TR_PROMQL_UNARY:
        kids[0] = node->u.unary.expr;
        break;
    case TR_PROMQL_PAREN:
        kids[0] = node->u.paren.expr;
        break;
    default:
        break;
    }
    for (int i = 0; i < 3; i++) {
        if (kids[i]) {
            rc = walk(kids[i], &here, fn, arg);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return TR_OK;
}

int
tr_promql_walk(struct tr_promql_node *node, tr_promql_visit_fn fn, void *arg)
{
    if (!node) {
        return TR_OK;
    }
    return walk(node, NULL, fn, arg);
}
