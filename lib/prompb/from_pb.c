#include "prompb/from_pb.h"

#include <string.h>

#include "base/err.h"
#include "base/mem.h"

/* Room for `more` elements in *arr (n used of *cap). */
static int
reserve(void **arr, size_t n, size_t *cap, size_t more, size_t elem)
{
    if (n + more <= *cap) {
        return TR_OK;
    }
    size_t ncap = *cap < 16 ? 16 : *cap;
    while (ncap < n + more) {
        ncap *= 2;
    }
    if (ncap > UINT32_MAX) {
        return TR_EINVAL;
    }
    void *p = tr_realloc(*arr, ncap * elem);
    if (p == NULL) {
        return TR_ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return TR_OK;
}

#define RESERVE(r, name, more)                                                 \
    reserve((void **)&(r)->name, (r)->n##name, &(r)->cap_##name, (more),       \
            sizeof(*(r)->name))

static struct tr_label
label_of(const Prometheus__Label *l)
{
    return (struct tr_label){l->name, strlen(l->name), l->value,
                             strlen(l->value)};
}

static int
add_series(struct tr_prompb_request *r, const Prometheus__TimeSeries *ts)
{
    size_t nel = 0;
    for (size_t i = 0; i < ts->n_exemplars; i++) {
        nel += ts->exemplars[i]->n_labels;
    }
    int rc;
    if ((rc = RESERVE(r, series, 1)) != TR_OK ||
        (rc = RESERVE(r, labels, ts->n_labels)) != TR_OK ||
        (rc = RESERVE(r, samples, ts->n_samples)) != TR_OK ||
        (rc = RESERVE(r, exemplars, ts->n_exemplars)) != TR_OK ||
        (rc = RESERVE(r, exemplar_labels, nel)) != TR_OK ||
        (rc = RESERVE(r, histograms, ts->n_histograms)) != TR_OK) {
        return rc;
    }
    struct tr_prompb_series s = {
        .labels = (uint32_t)r->nlabels,
        .nlabels = (uint32_t)ts->n_labels,
        .samples = (uint32_t)r->nsamples,
        .nsamples = (uint32_t)ts->n_samples,
        .exemplars = (uint32_t)r->nexemplars,
        .nexemplars = (uint32_t)ts->n_exemplars,
        .histograms = (uint32_t)r->nhistograms,
        .nhistograms = (uint32_t)ts->n_histograms,
    };
    for (size_t i = 0; i < ts->n_labels; i++) {
        r->labels[r->nlabels++] = label_of(ts->labels[i]);
    }
    for (size_t i = 0; i < ts->n_samples; i++) {
        r->samples[r->nsamples++] = (struct tr_prompb_sample){
            ts->samples[i]->timestamp, ts->samples[i]->value};
    }
    for (size_t i = 0; i < ts->n_exemplars; i++) {
        const Prometheus__Exemplar *ex = ts->exemplars[i];
        r->exemplars[r->nexemplars++] = (struct tr_prompb_exemplar){
            .labels = (uint32_t)r->nexemplar_labels,
            .nlabels = (uint32_t)ex->n_labels,
            .value = ex->value,
            .timestamp = ex->timestamp,
        };
        for (size_t k = 0; k < ex->n_labels; k++) {
            r->exemplar_labels[r->nexemplar_labels++] = label_of(ex->labels[k]);
        }
    }
    for (size_t i = 0; i < ts->n_histograms; i++) {
        r->histograms[r->nhistograms++] = (struct tr_prompb_histogram){NULL, 0};
    }
    r->series[r->nseries++] = s;
    return TR_OK;
}

int
tr_prompb_from_write_request(struct tr_prompb_request *r,
                             const Prometheus__WriteRequest *req,
                             struct tr_err *err)
{
    tr_prompb_request_reset(r);
    int rc = TR_OK;
    for (size_t i = 0; i < req->n_timeseries && rc == TR_OK; i++) {
        rc = add_series(r, req->timeseries[i]);
    }
    if (rc == TR_OK) {
        rc = RESERVE(r, metadata, req->n_metadata);
    }
    for (size_t i = 0; i < req->n_metadata && rc == TR_OK; i++) {
        const Prometheus__MetricMetadata *m = req->metadata[i];
        r->metadata[r->nmetadata++] =
            (struct tr_prompb_metadata){(int32_t)m->type,
                                        m->metric_family_name,
                                        strlen(m->metric_family_name),
                                        m->help,
                                        strlen(m->help),
                                        m->unit,
                                        strlen(m->unit)};
    }
    if (rc != TR_OK) {
        tr_prompb_request_reset(r);
        return tr_err_set(err, rc,
                          rc == TR_ENOMEM
                              ? "cannot convert write request: out of memory"
                              : "cannot convert write request: too many items");
    }
    return TR_OK;
}
