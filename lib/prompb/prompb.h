/*
 * A zero-copy codec for the two metrics write messages on the hot path:
 * prometheus.WriteRequest (remote write 1.0: timeseries = 1, metadata = 3)
 * and trident.ingester.PushMetricsRequest (tenant = 1, timeseries = 2,
 * metadata = 3). Both carry the same prometheus.TimeSeries encoding.
 *
 * Decoding fills flat arrays instead of a tree of small allocations:
 * every label is a pointer+length into the input buffer (no copy, no NUL
 * terminator: the input must outlive the request), samples are (t, v)
 * pairs, a series is a set of slices (index + count) of those arrays.
 * Slices let a caller validate in place: dropping labels or samples of a
 * series only shrinks its counts, dropping a series only compacts the
 * series array.
 *
 * Native histograms are not decoded, only checked for wire validity,
 * counted and kept as the raw bytes of each Histogram message (so a
 * decode/encode round trip loses nothing). Unknown fields are skipped by
 * wire type; a known field with the wrong wire type, a truncated field,
 * an over-long varint, a group or a field number 0 fail the decode.
 */
#ifndef TR_PROMPB_PROMPB_H
#define TR_PROMPB_PROMPB_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/labels.h" /* struct tr_label: name/value pointer+length */

struct tr_buf;
struct tr_err;

/* Which message a buffer holds. */
enum tr_prompb_message {
    TR_PROMPB_WRITE_REQUEST, /* prometheus.WriteRequest */
    TR_PROMPB_PUSH_METRICS,  /* trident.ingester.PushMetricsRequest */
};

/* A float sample. */
struct tr_prompb_sample {
    int64_t t; /* milliseconds since the epoch */
    double v;  /* bit-exact (stale markers are NaNs with a payload) */
};

/* An exemplar: its labels are a slice of request.exemplar_labels. */
struct tr_prompb_exemplar {
    uint32_t labels; /* first label in request.exemplar_labels */
    uint32_t nlabels;
    double value;
    int64_t timestamp;
};

/* A native histogram, undecoded: the bytes of its Histogram message
 * (borrowed from the input, or NULL when not known, see
 * tr_prompb_from_write_request). */
struct tr_prompb_histogram {
    const uint8_t *data;
    size_t len;
};

/*
 * One prometheus.TimeSeries: slices of the request's arrays, and the
 * bytes it was decoded from. The encoder copies those bytes as they are
 * while raw is set, so whoever changes a series (its slices or the
 * elements they cover: dropping, sorting) must set raw to NULL.
 */
struct tr_prompb_series {
    const uint8_t *raw; /* the TimeSeries message in the input, or NULL */
    size_t raw_len;
    uint32_t labels; /* first label in request.labels */
    uint32_t nlabels;
    uint32_t samples; /* first sample in request.samples */
    uint32_t nsamples;
    uint32_t exemplars; /* first exemplar in request.exemplars */
    uint32_t nexemplars;
    uint32_t histograms; /* first histogram in request.histograms */
    uint32_t nhistograms;
};

/* One prometheus.MetricMetadata; strings borrowed from the input. */
struct tr_prompb_metadata {
    int32_t type; /* prometheus.MetricMetadata.MetricType */
    const char *family;
    size_t family_len;
    const char *help;
    size_t help_len;
    const char *unit;
    size_t unit_len;
};

/*
 * A decoded request. Arrays belong to the struct and are reused by the
 * next decode (capacity is kept); strings point into the decoded input.
 */
struct tr_prompb_request {
    const char *tenant; /* PushMetricsRequest only; NULL when absent */
    size_t tenant_len;
    struct tr_prompb_series *series;
    size_t nseries, cap_series;
    struct tr_label *labels; /* series labels */
    size_t nlabels, cap_labels;
    struct tr_label *exemplar_labels;
    size_t nexemplar_labels, cap_exemplar_labels;
    struct tr_prompb_sample *samples;
    size_t nsamples, cap_samples;
    struct tr_prompb_exemplar *exemplars;
    size_t nexemplars, cap_exemplars;
    struct tr_prompb_histogram *histograms;
    size_t nhistograms, cap_histograms;
    struct tr_prompb_metadata *metadata;
    size_t nmetadata, cap_metadata;
};

/* An empty request (all zero is one too). */
void tr_prompb_request_init(struct tr_prompb_request *r);
/* Frees the arrays (not the input they point into). */
void tr_prompb_request_fini(struct tr_prompb_request *r);
/* Empties r and keeps its capacity. */
void tr_prompb_request_reset(struct tr_prompb_request *r);

/*
 * A request with the arrays this thread used last (their capacity kept),
 * or a new empty one: decoding into it reallocates nothing once the
 * thread has seen a request of that size. NULL when out of memory. Give
 * it back with tr_prompb_request_put; a thread keeps at most one (freed
 * when the thread exits).
 */
struct tr_prompb_request *tr_prompb_request_get(void);
/* Returns r (from tr_prompb_request_get) to this thread's cache, or frees
 * it when the cache is full or r holds more than 16 MiB of arrays. NULL
 * is ignored. */
void tr_prompb_request_put(struct tr_prompb_request *r);

/*
 * Decodes len bytes of message kind into r (reset first). The input must
 * stay valid and unchanged while r is used. Errors: TR_EINVAL with
 * "cannot decode <message>: <what> at byte <offset>" (r is then reset),
 * TR_ENOMEM.
 */
int tr_prompb_decode(struct tr_prompb_request *r, enum tr_prompb_message kind,
                     const void *data, size_t len, struct tr_err *err);

/*
 * Encodes a trident.ingester.PushMetricsRequest from r: tenant, then the
 * series r->series[series_idx[i]] for i < nseries (the first nseries
 * series in order when series_idx is NULL), then likewise the metadata. Appends
 * to out. Empty strings and zero fields are left out as proto3 does, except
 * sample values, which are written unless their bits are all zero (so -0.0
 * survives). Histograms are written back from their raw bytes (those without
 * bytes are left out). Errors: TR_ENOMEM (out keeps what it had).
 */
int tr_prompb_encode_push(const struct tr_prompb_request *r, const char *tenant,
                          size_t tenant_len, const uint32_t *series_idx,
                          size_t nseries, const uint32_t *metadata_idx,
                          size_t nmetadata, struct tr_buf *out,
                          struct tr_err *err);

#endif
