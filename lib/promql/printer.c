/*
 * AST -> canonical PromQL text, in the form Prometheus 2.42 prints
 * expressions (Expr.String(), which format_query uses for short queries):
 * numbers in Go's shortest %g form, strings with Go quoting, matchers
 * sorted, "by (a, b)" after the operator, durations as model.Duration.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "promql/ast.h"
#include "promql/lexer.h"

char *
tr_promql_duration_format(int64_t ns, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
        bool exact; /* years and weeks only when nothing is left over */
    } units[] = {
        {"y", INT64_C(1000) * 60 * 60 * 24 * 365, true},
        {"w", INT64_C(1000) * 60 * 60 * 24 * 7, true},
        {"d", INT64_C(1000) * 60 * 60 * 24, false},
        {"h", INT64_C(1000) * 60 * 60, false},
        {"m", INT64_C(1000) * 60, false},
        {"s", INT64_C(1000), false},
        {"ms", 1, false},
    };
    int64_t ms = ns / 1000000;
    size_t pos = 0;

    if (size == 0) {
        return out;
    }
    out[0] = '\0';
    if (ms <= 0) {
        snprintf(out, size, "0s");
        return out;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (units[i].exact && ms % units[i].ms != 0) {
            continue;
        }
        int64_t v = ms / units[i].ms;
        if (v > 0 && pos < size) {
            pos += (size_t)snprintf(out + pos, size - pos, "%" PRId64 "%s", v,
                                    units[i].unit);
            ms -= v * units[i].ms;
        }
    }
    return out;
}

/* Go's fmt.Sprint(float64): shortest digits, %e form outside [1e-4, 1e6). */
static int
format_float(double v, struct tr_buf *out)
{
    char tmp[64];
    char digits[32];
    int nd = 0;
    int exp10 = 0;

    if (isnan(v)) {
        return tr_buf_append_str(out, "NaN");
    }
    if (isinf(v)) {
        return tr_buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    }
    if (signbit(v)) {
        int rc = tr_buf_append_byte(out, '-');
        if (rc != TR_OK) {
            return rc;
        }
        v = -v;
    }
    if (v == 0) {
        return tr_buf_append_byte(out, '0');
    }
    /* The fewest significant digits that read back as the same double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    for (const char *p = tmp; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9') {
            digits[nd++] = *p;
        }
    }
    exp10 = atoi(strchr(tmp, 'e') + 1);
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    digits[nd] = '\0';

    struct tr_buf *b = out;
    int rc = TR_OK;
    if (exp10 < -4 || exp10 >= 6) {
        rc = tr_buf_append_byte(b, digits[0]);
        if (rc == TR_OK && nd > 1) {
            rc = tr_buf_appendf(b, ".%s", digits + 1);
        }
        if (rc == TR_OK) {
            rc = tr_buf_appendf(b, "e%c%02d", exp10 < 0 ? '-' : '+',
                                exp10 < 0 ? -exp10 : exp10);
        }
        return rc;
    }
    if (exp10 < 0) {
        rc = tr_buf_append_str(b, "0.");
        for (int i = 0; rc == TR_OK && i < -exp10 - 1; i++) {
            rc = tr_buf_append_byte(b, '0');
        }
        return rc == TR_OK ? tr_buf_append_str(b, digits) : rc;
    }
    for (int i = 0; rc == TR_OK && i <= exp10; i++) {
        rc = tr_buf_append_byte(b, i < nd ? digits[i] : '0');
    }
    if (rc == TR_OK && nd > exp10 + 1) {
        rc = tr_buf_appendf(b, ".%s", digits + exp10 + 1);
    }
    return rc;
}

int
tr_promql_format_string(const char *s, size_t len, struct tr_buf *out)
{
    int rc = tr_buf_append_byte(out, '"');
    size_t i = 0;

    while (rc == TR_OK && i < len) {
        size_t w;
        uint32_t r = utf8_decode(s + i, len - i, &w);
        if (r == 0xFFFD && w == 1) {
            rc = tr_buf_appendf(out, "\\x%02x", (unsigned char)s[i]);
            i++;
            continue;
        }
        switch (r) {
        case '\a':
            rc = tr_buf_append_str(out, "\\a");
            break;
        case '\b':
            rc = tr_buf_append_str(out, "\\b");
            break;
        case '\f':
            rc = tr_buf_append_str(out, "\\f");
            break;
        case '\n':
            rc = tr_buf_append_str(out, "\\n");
            break;
        case '\r':
            rc = tr_buf_append_str(out, "\\r");
            break;
        case '\t':
            rc = tr_buf_append_str(out, "\\t");
            break;
        case '\v':
            rc = tr_buf_append_str(out, "\\v");
            break;
        case '\\':
            rc = tr_buf_append_str(out, "\\\\");
            break;
        case '"':
            rc = tr_buf_append_str(out, "\\\"");
            break;
        default:
            if (rune_is_print(r)) {
                rc = tr_buf_append(out, s + i, w);
            } else if (r < 0x20 || r == 0x7F) {
                rc = tr_buf_appendf(out, "\\x%02x", (unsigned)r);
            } else if (r < 0x10000) {
                rc = tr_buf_appendf(out, "\\u%04x", (unsigned)r);
            } else {
                rc = tr_buf_appendf(out, "\\U%08x", (unsigned)r);
            }
            break;
        }
        i += w;
    }
    return rc == TR_OK ? tr_buf_append_byte(out, '"') : rc;
}

int
tr_promql_format_matcher(const struct tr_promql_matcher *m, struct tr_buf *out)
{
    int rc = tr_buf_append(out, m->name.data, m->name.len);
    if (rc == TR_OK) {
        rc = tr_buf_append_str(out, tr_promql_match_type_name(m->type));
    }
    if (rc == TR_OK) {
        rc = tr_promql_format_string(m->value.data, m->value.len, out);
    }
    return rc;
}

static int
format_modifiers(const struct tr_promql_at *at, int64_t offset_ns,
                 struct tr_buf *out)
{
    char d[64];
    int rc = TR_OK;

    switch (at->kind) {
    case TR_PROMQL_AT_TIMESTAMP:
        rc = tr_buf_appendf(out, " @ %.3f", (double)at->timestamp_ms / 1000.0);
        break;
    case TR_PROMQL_AT_START:
        rc = tr_buf_append_str(out, " @ start()");
        break;
    case TR_PROMQL_AT_END:
        rc = tr_buf_append_str(out, " @ end()");
        break;
    case TR_PROMQL_AT_NONE:
        break;
    }
    if (rc == TR_OK && offset_ns > 0) {
        rc = tr_buf_appendf(out, " offset %s",
                            tr_promql_duration_format(offset_ns, d, sizeof(d)));
    } else if (rc == TR_OK && offset_ns < 0) {
        rc =
            tr_buf_appendf(out, " offset -%s",
                           tr_promql_duration_format(-offset_ns, d, sizeof(d)));
    }
    return rc;
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name{sorted matchers}, without modifiers. */
static int
format_selector(const struct tr_promql_vector_selector *vs, struct tr_buf *out)
{
    int rc = tr_buf_append(out, vs->name.data, vs->name.len);
    if (rc != TR_OK || vs->n_matchers == 0) {
        return rc;
    }
    char **strs = tr_calloc(vs->n_matchers, sizeof(*strs));
    size_t n = 0;
    if (!strs) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; rc == TR_OK && i < vs->n_matchers; i++) {
        const struct tr_promql_matcher *m = &vs->matchers[i];
        /* The name given before the braces is not repeated inside. */
        if (m->type == TR_PROMQL_MATCH_EQ && m->name.len == 8 &&
            memcmp(m->name.data, "__name__", 8) == 0 &&
            m->value.len == vs->name.len &&
            memcmp(m->value.data, vs->name.data, vs->name.len) == 0) {
            continue;
        }
        struct tr_buf one = TR_BUF_INIT;
        rc = tr_promql_format_matcher(m, &one);
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(&one, '\0');
        }
        if (rc != TR_OK) {
            tr_buf_fini(&one);
            break;
        }
        size_t len;
        strs[n++] = tr_buf_detach(&one, &len);
    }
    if (rc == TR_OK && n > 0) {
        qsort(strs, n, sizeof(*strs), compare_strings);
        rc = tr_buf_append_byte(out, '{');
        for (size_t i = 0; rc == TR_OK && i < n; i++) {
            if (i > 0) {
                rc = tr_buf_append_byte(out, ',');
            }
            if (rc == TR_OK) {
                rc = tr_buf_append_str(out, strs[i]);
            }
        }
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(out, '}');
        }
    }
    for (size_t i = 0; i < n; i++) {
        tr_free(strs[i]);
    }
    tr_free(strs);
    return rc;
}

static int
format_labels(const struct tr_promql_str *labels, size_t n, struct tr_buf *out)
{
    int rc = tr_buf_append_byte(out, '(');
    for (size_t i = 0; rc == TR_OK && i < n; i++) {
        if (i > 0) {
            rc = tr_buf_append_str(out, ", ");
        }
        if (rc == TR_OK) {
            rc = tr_buf_append(out, labels[i].data, labels[i].len);
        }
    }
    return rc == TR_OK ? tr_buf_append_byte(out, ')') : rc;
}

static int
format_node(const struct tr_promql_node *n, struct tr_buf *out)
{
    char d[64];
    int rc = TR_OK;

    switch (n->kind) {
    case TR_PROMQL_NUMBER:
        return format_float(n->u.number, out);
    case TR_PROMQL_STRING:
        return tr_promql_format_string(n->u.string.data, n->u.string.len, out);
    case TR_PROMQL_VECTOR:
        rc = format_selector(&n->u.vector, out);
        if (rc == TR_OK) {
            rc = format_modifiers(&n->u.vector.at, n->u.vector.offset_ns, out);
        }
        return rc;
    case TR_PROMQL_MATRIX: {
        const struct tr_promql_vector_selector *vs =
            &n->u.matrix.vector->u.vector;
        rc = format_selector(vs, out);
        if (rc == TR_OK) {
            rc = tr_buf_appendf(
                out, "[%s]",
                tr_promql_duration_format(n->u.matrix.range_ns, d, sizeof(d)));
        }
        if (rc == TR_OK) {
            rc = format_modifiers(&vs->at, vs->offset_ns, out);
        }
        return rc;
    }
    case TR_PROMQL_SUBQUERY:
        rc = format_node(n->u.subquery.expr, out);
        if (rc == TR_OK) {
            rc = tr_buf_appendf(out, "[%s:",
                                tr_promql_duration_format(
                                    n->u.subquery.range_ns, d, sizeof(d)));
        }
        if (rc == TR_OK && n->u.subquery.step_ns != 0) {
            rc = tr_buf_append_str(
                out,
                tr_promql_duration_format(n->u.subquery.step_ns, d, sizeof(d)));
        }
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(out, ']');
        }
        if (rc == TR_OK) {
            rc = format_modifiers(&n->u.subquery.at, n->u.subquery.offset_ns,
                                  out);
        }
        return rc;
    case TR_PROMQL_CALL:
        rc = tr_buf_appendf(out, "%s(", n->u.call.func->name);
        for (size_t i = 0; rc == TR_OK && i < n->u.call.n_args; i++) {
            if (i > 0) {
                rc = tr_buf_append_str(out, ", ");
            }
            if (rc == TR_OK) {
                rc = format_node(n->u.call.args[i], out);
            }
        }
        return rc == TR_OK ? tr_buf_append_byte(out, ')') : rc;
    case TR_PROMQL_AGGREGATE:
        rc = tr_buf_append_str(out, tr_promql_agg_op_name(n->u.aggregate.op));
        if (rc == TR_OK &&
            (n->u.aggregate.without || n->u.aggregate.n_grouping > 0)) {
            rc = tr_buf_append_str(out, n->u.aggregate.without ? " without "
                                                               : " by ");
            if (rc == TR_OK) {
                rc = format_labels(n->u.aggregate.grouping,
                                   n->u.aggregate.n_grouping, out);
            }
            if (rc == TR_OK) {
                rc = tr_buf_append_byte(out, ' ');
            }
        }
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(out, '(');
        }
        if (rc == TR_OK && n->u.aggregate.param) {
            rc = format_node(n->u.aggregate.param, out);
            if (rc == TR_OK) {
                rc = tr_buf_append_str(out, ", ");
            }
        }
        if (rc == TR_OK) {
            rc = format_node(n->u.aggregate.expr, out);
        }
        return rc == TR_OK ? tr_buf_append_byte(out, ')') : rc;
    case TR_PROMQL_BINARY: {
        const struct tr_promql_vector_matching *vm = n->u.binary.matching;
        rc = format_node(n->u.binary.lhs, out);
        if (rc == TR_OK) {
            rc = tr_buf_appendf(out, " %s%s", tr_promql_op_name(n->u.binary.op),
                                n->u.binary.return_bool ? " bool" : "");
        }
        /* Like Prometheus: "ignoring ()" prints as nothing at all. */
        if (rc == TR_OK && vm && (vm->n_labels > 0 || vm->on)) {
            rc = tr_buf_append_str(out, vm->on ? " on " : " ignoring ");
            if (rc == TR_OK) {
                rc = format_labels(vm->labels, vm->n_labels, out);
            }
            if (rc == TR_OK && (vm->card == TR_PROMQL_CARD_MANY_TO_ONE ||
                                vm->card == TR_PROMQL_CARD_ONE_TO_MANY)) {
                rc = tr_buf_append_str(out,
                                       vm->card == TR_PROMQL_CARD_MANY_TO_ONE
                                           ? " group_left "
                                           : " group_right ");
                if (rc == TR_OK) {
                    rc = format_labels(vm->include, vm->n_include, out);
                }
            }
        }
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(out, ' ');
        }
        return rc == TR_OK ? format_node(n->u.binary.rhs, out) : rc;
    }
    case TR_PROMQL_UNARY:
        rc = tr_buf_append_str(out, tr_promql_op_name(n->u.unary.op));
        return rc == TR_OK ? format_node(n->u.unary.expr, out) : rc;
    case TR_PROMQL_PAREN:
        rc = tr_buf_append_byte(out, '(');
        if (rc == TR_OK) {
            rc = format_node(n->u.paren.expr, out);
        }
        return rc == TR_OK ? tr_buf_append_byte(out, ')') : rc;
    }
    return TR_OK;
}

int
tr_promql_format(const struct tr_promql_node *node, struct tr_buf *out)
{
    return format_node(node, out);
}
