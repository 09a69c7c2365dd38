/*
 * The PromQL function table of Prometheus 2.42: names, argument types,
 * optional and repeated arguments, result types. Sorted by name (bytewise)
 * for binary search.
 */
#include <string.h>

#include "promql/ast.h"

#define S TR_PROMQL_TYPE_SCALAR
#define V TR_PROMQL_TYPE_VECTOR
#define M TR_PROMQL_TYPE_MATRIX
#define T TR_PROMQL_TYPE_STRING

/* id, name, argument types, count, variadic, result */
static const struct tr_promql_function functions[] = {
    {TR_PROMQL_FN_ABS, "abs", {V}, 1, 0, V},
    {TR_PROMQL_FN_ABSENT, "absent", {V}, 1, 0, V},
    {TR_PROMQL_FN_ABSENT_OVER_TIME, "absent_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_ACOS, "acos", {V}, 1, 0, V},
    {TR_PROMQL_FN_ACOSH, "acosh", {V}, 1, 0, V},
    {TR_PROMQL_FN_ASIN, "asin", {V}, 1, 0, V},
    {TR_PROMQL_FN_ASINH, "asinh", {V}, 1, 0, V},
    {TR_PROMQL_FN_ATAN, "atan", {V}, 1, 0, V},
    {TR_PROMQL_FN_ATANH, "atanh", {V}, 1, 0, V},
    {TR_PROMQL_FN_AVG_OVER_TIME, "avg_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_CEIL, "ceil", {V}, 1, 0, V},
    {TR_PROMQL_FN_CHANGES, "changes", {M}, 1, 0, V},
    {TR_PROMQL_FN_CLAMP, "clamp", {V, S, S}, 3, 0, V},
    {TR_PROMQL_FN_CLAMP_MAX, "clamp_max", {V, S}, 2, 0, V},
    {TR_PROMQL_FN_CLAMP_MIN, "clamp_min", {V, S}, 2, 0, V},
    {TR_PROMQL_FN_COS, "cos", {V}, 1, 0, V},
    {TR_PROMQL_FN_COSH, "cosh", {V}, 1, 0, V},
    {TR_PROMQL_FN_COUNT_OVER_TIME, "count_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_DAY_OF_MONTH, "day_of_month", {V}, 1, 1, V},
    {TR_PROMQL_FN_DAY_OF_WEEK, "day_of_week", {V}, 1, 1, V},
    {TR_PROMQL_FN_DAY_OF_YEAR, "day_of_year", {V}, 1, 1, V},
    {TR_PROMQL_FN_DAYS_IN_MONTH, "days_in_month", {V}, 1, 1, V},
    {TR_PROMQL_FN_DEG, "deg", {V}, 1, 0, V},
    {TR_PROMQL_FN_DELTA, "delta", {M}, 1, 0, V},
    {TR_PROMQL_FN_DERIV, "deriv", {M}, 1, 0, V},
    {TR_PROMQL_FN_EXP, "exp", {V}, 1, 0, V},
    {TR_PROMQL_FN_FLOOR, "floor", {V}, 1, 0, V},
    {TR_PROMQL_FN_HISTOGRAM_COUNT, "histogram_count", {V}, 1, 0, V},
    {TR_PROMQL_FN_HISTOGRAM_FRACTION, "histogram_fraction", {S, S, V}, 3, 0, V},
    {TR_PROMQL_FN_HISTOGRAM_QUANTILE, "histogram_quantile", {S, V}, 2, 0, V},
    {TR_PROMQL_FN_HISTOGRAM_SUM, "histogram_sum", {V}, 1, 0, V},
    {TR_PROMQL_FN_HOLT_WINTERS, "holt_winters", {M, S, S}, 3, 0, V},
    {TR_PROMQL_FN_HOUR, "hour", {V}, 1, 1, V},
    {TR_PROMQL_FN_IDELTA, "idelta", {M}, 1, 0, V},
    {TR_PROMQL_FN_INCREASE, "increase", {M}, 1, 0, V},
    {TR_PROMQL_FN_IRATE, "irate", {M}, 1, 0, V},
    {TR_PROMQL_FN_LABEL_JOIN, "label_join", {V, T, T, T}, 4, -1, V},
    {TR_PROMQL_FN_LABEL_REPLACE, "label_replace", {V, T, T, T, T}, 5, 0, V},
    {TR_PROMQL_FN_LAST_OVER_TIME, "last_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_LN, "ln", {V}, 1, 0, V},
    {TR_PROMQL_FN_LOG10, "log10", {V}, 1, 0, V},
    {TR_PROMQL_FN_LOG2, "log2", {V}, 1, 0, V},
    {TR_PROMQL_FN_MAX_OVER_TIME, "max_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_MIN_OVER_TIME, "min_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_MINUTE, "minute", {V}, 1, 1, V},
    {TR_PROMQL_FN_MONTH, "month", {V}, 1, 1, V},
    {TR_PROMQL_FN_PI, "pi", {0}, 0, 0, S},
    {TR_PROMQL_FN_PREDICT_LINEAR, "predict_linear", {M, S}, 2, 0, V},
    {TR_PROMQL_FN_PRESENT_OVER_TIME, "present_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_QUANTILE_OVER_TIME, "quantile_over_time", {S, M}, 2, 0, V},
    {TR_PROMQL_FN_RAD, "rad", {V}, 1, 0, V},
    {TR_PROMQL_FN_RATE, "rate", {M}, 1, 0, V},
    {TR_PROMQL_FN_RESETS, "resets", {M}, 1, 0, V},
    {TR_PROMQL_FN_ROUND, "round", {V, S}, 2, 1, V},
    {TR_PROMQL_FN_SCALAR, "scalar", {V}, 1, 0, S},
    {TR_PROMQL_FN_SGN, "sgn", {V}, 1, 0, V},
    {TR_PROMQL_FN_SIN, "sin", {V}, 1, 0, V},
    {TR_PROMQL_FN_SINH, "sinh", {V}, 1, 0, V},
    {TR_PROMQL_FN_SORT, "sort", {V}, 1, 0, V},
    {TR_PROMQL_FN_SORT_DESC, "sort_desc", {V}, 1, 0, V},
    {TR_PROMQL_FN_SQRT, "sqrt", {V}, 1, 0, V},
    {TR_PROMQL_FN_STDDEV_OVER_TIME, "stddev_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_STDVAR_OVER_TIME, "stdvar_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_SUM_OVER_TIME, "sum_over_time", {M}, 1, 0, V},
    {TR_PROMQL_FN_TAN, "tan", {V}, 1, 0, V},
    {TR_PROMQL_FN_TANH, "tanh", {V}, 1, 0, V},
    {TR_PROMQL_FN_TIME, "time", {0}, 0, 0, S},
    {TR_PROMQL_FN_TIMESTAMP, "timestamp", {V}, 1, 0, V},
    {TR_PROMQL_FN_VECTOR, "vector", {S}, 1, 0, V},
    {TR_PROMQL_FN_YEAR, "year", {V}, 1, 1, V},
};

#undef S
#undef V
#undef M
#undef T

const struct tr_promql_function *
tr_promql_function_lookup(const char *name, size_t len)
{
    size_t lo = 0;
    size_t hi = sizeof(functions) / sizeof(functions[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *f = functions[mid].name;
        size_t flen = strlen(f);
        int c = memcmp(name, f, len < flen ? len : flen);
        if (c == 0) {
            c = len < flen ? -1 : len > flen ? 1 : 0;
        }
        if (c == 0) {
            return &functions[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

const struct tr_promql_function *
tr_promql_functions(size_t *n_out)
{
    *n_out = sizeof(functions) / sizeof(functions[0]);
    return functions;
}
