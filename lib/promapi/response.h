/*
 * Responses of the Prometheus HTTP API, byte for byte as Prometheus 2.42
 * writes them (web/api/v1):
 *
 *   {"status":"success","data":<data>[,"warnings":[...]]}
 *   {"status":"error","errorType":"bad_data","error":"<message>"}
 *
 * Query data is {"resultType":"vector","result":[...][,"stats":{...}]}
 * with sample values as strings ("1", "NaN", "+Inf") and timestamps as
 * seconds with millisecond fractions (json/writer.h does both). Label
 * sets are objects in label order; series in the order given.
 */
#ifndef TR_PROMAPI_RESPONSE_H
#define TR_PROMAPI_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "json/writer.h"
#include "promql/value.h"

struct tr_buf;
struct tr_labels;

/* errorType values and their HTTP statuses (Prometheus's respondError). */
enum tr_promapi_errtype {
    TR_PROMAPI_ERR_NONE = 0,
    TR_PROMAPI_ERR_BAD_DATA,    /* "bad_data", 400 */
    TR_PROMAPI_ERR_EXECUTION,   /* "execution", 422 */
    TR_PROMAPI_ERR_TIMEOUT,     /* "timeout", 503 */
    TR_PROMAPI_ERR_CANCELED,    /* "canceled", 499 */
    TR_PROMAPI_ERR_INTERNAL,    /* "internal", 500 */
    TR_PROMAPI_ERR_NOT_FOUND,   /* "not_found", 404 */
    TR_PROMAPI_ERR_UNAVAILABLE, /* "unavailable", 503 */
};

/* The errorType string ("" for NONE). */
const char *tr_promapi_errtype_name(enum tr_promapi_errtype t);
/* The HTTP status (200 for NONE). */
int tr_promapi_errtype_status(enum tr_promapi_errtype t);

/*
 * The errorType for a failure with TR_E* code, when nothing more specific
 * is known: EINVAL bad_data, ELIMIT execution, ETIMEOUT timeout,
 * ECANCELED canceled, EUNAVAIL unavailable, ENOTFOUND not_found, others
 * internal.
 */
enum tr_promapi_errtype tr_promapi_errtype_of_code(int code);

/*
 * Appends an error body with errtype t and message msg to out. TR_OK or
 * TR_ENOMEM.
 */
int tr_promapi_error_body(struct tr_buf *out, enum tr_promapi_errtype t,
                          const char *msg);

/*
 * Writes {"status":"success","data": so that the caller writes the data
 * value next, then calls tr_promapi_success_end. Errors are sticky in w.
 */
void tr_promapi_success_begin(struct tr_json *w);

/* Adds "warnings" when n > 0 (strings borrowed) and closes the object. */
void tr_promapi_success_end(struct tr_json *w, const char *const *warnings,
                            size_t n);

/*
 * Writes a string value as Prometheus's JSON encoder does: like
 * tr_json_string_len, and also "<", ">", "&", U+2028 and U+2029 escaped
 * as \u003c, \u003e, \u0026, \u2028, \u2029 (Go's HTML-safe escaping,
 * which Prometheus's encoder keeps on). Errors are sticky in w.
 */
void tr_promapi_write_string(struct tr_json *w, const char *s, size_t len);

/* Writes a label set as an object: {"__name__":"up","job":"api"}. */
void tr_promapi_write_labels(struct tr_json *w,
                             const struct tr_promql_labels *ls);
/* The same for a stored label set. */
void tr_promapi_write_tr_labels(struct tr_json *w, const struct tr_labels *ls);

/* Execution statistics of a query (stats=<anything>). */
struct tr_promapi_stats {
    int64_t eval_total_ns; /* whole evaluation */
    int64_t prepare_ns;    /* parsing and preparation */
    int64_t queue_ns;      /* waiting for a worker */
    int64_t total_queryable_samples;
    int64_t peak_samples;
};

/*
 * Writes query data: {"resultType":"<type>","result":<result>} plus
 * "stats" when stats is not NULL. Range-vector and range-query results
 * are "matrix" ({"metric":{...},"values":[[t,"v"],...]}), instant vectors
 * "vector" ({"metric":{...},"value":[t,"v"]}), scalars [t,"v"] and
 * strings [t,"s"].
 */
void tr_promapi_write_query_data(struct tr_json *w,
                                 const struct tr_promql_value *v,
                                 const struct tr_promapi_stats *stats);

#endif
