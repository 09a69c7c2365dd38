/*
 * PromQL values: what an expression evaluates to and what the engine
 * returns (Prometheus promql.Value: Scalar, String, Vector, Matrix).
 *
 * Everything here is plain data allocated in the query arena given to the
 * engine (engine.h); nothing is freed separately and nothing outlives the
 * arena. Label pairs point into the arena or into label sets the storage
 * keeps alive for at least as long (storage.h).
 *
 * Label sets are arrays of struct tr_label (tsdb/labels.h) sorted by name,
 * without duplicate names and without empty values, like Prometheus
 * labels.Labels. They are not struct tr_labels because the engine builds
 * many short-lived sets per query and an arena array is far cheaper.
 */
#ifndef TR_PROMQL_VALUE_H
#define TR_PROMQL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"
#include "tsdb/labels.h"

struct tr_buf;

/* Bit pattern of the stale marker Prometheus writes when a series ends. */
#define TR_PROMQL_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* True when v is the stale marker (a particular NaN, compared bitwise). */
bool tr_promql_is_stale_nan(double v);
/* The stale marker as a double. */
double tr_promql_stale_nan(void);

/* A label set: pairs sorted by name (borrowed; see top of file). */
struct tr_promql_labels {
    const struct tr_label *pairs;
    size_t n;
};

/* One sample: milliseconds since the epoch and a value. */
struct tr_promql_point {
    int64_t t;
    double v;
};

/* A series of a range result or of a range vector: labels and points in
 * time order. */
struct tr_promql_series {
    struct tr_promql_labels labels;
    struct tr_promql_point *points;
    size_t n_points;
};

/* One element of an instant vector. t is the evaluation time. */
struct tr_promql_sample {
    struct tr_promql_labels labels;
    int64_t t;
    double v;
};

/*
 * A value. type is one of TR_PROMQL_TYPE_SCALAR, _STRING, _VECTOR (instant
 * vector) or _MATRIX (range vector, or the result of a range query).
 */
struct tr_promql_value {
    enum tr_promql_type type;
    union {
        struct {
            int64_t t;
            double v;
        } scalar;
        struct {
            int64_t t;
            const char *data; /* NUL-terminated too; use len */
            size_t len;
        } string;
        struct {
            struct tr_promql_sample *samples;
            size_t n;
        } vector;
        struct {
            struct tr_promql_series *series;
            size_t n;
        } matrix;
    } u;
};

/*
 * Finds the label called name in ls. Returns true and sets *value and *len
 * (borrowed; either pointer may be NULL) or false when ls has no such label.
 */
bool tr_promql_labels_get(const struct tr_promql_labels *ls, const char *name,
                          size_t name_len, const char **value, size_t *len);

/*
 * Orders label sets as Prometheus does (labels.Compare): pair by pair,
 * name then value bytewise, a prefix first. <0, 0 or >0.
 */
int tr_promql_labels_compare(const struct tr_promql_labels *a,
                             const struct tr_promql_labels *b);

/*
 * Appends ls as Prometheus prints labels: {__name__="up", job="api"}
 * (values Go-quoted), "{}" when empty. TR_OK or TR_ENOMEM.
 */
int tr_promql_labels_format(const struct tr_promql_labels *ls,
                            struct tr_buf *out);

/*
 * Appends v the way Prometheus's JSON API prints sample values
 * (strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, no
 * exponent; "NaN", "+Inf", "-Inf"). TR_OK or TR_ENOMEM.
 */
int tr_promql_format_value(double v, struct tr_buf *out);

#endif
