/*
 * lib/prompb: the hand-written codec against protobuf-c on random
 * requests (decode of protobuf-c's bytes, protobuf-c's decode of ours,
 * byte equality of the encodings), unknown fields, wire errors, and
 * truncated/corrupted inputs (run under ASan: every input lives in a
 * buffer of exactly its size).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "prometheus/remote.pb-c.h"
#include "prompb/from_pb.h"
#include "prompb/prompb.h"
#include "trident/ingester.pb-c.h"

/* ---- random requests built with protobuf-c ----------------------------- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    uint64_t x = rng_state += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t
rnd_below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rnd() % n);
}

static char *
rnd_string(struct tr_arena *a)
{
    static const char *const pool[] = {
        "",     "__name__", "job",   "instance", "node_cpu_seconds_total",
        "mode", "idle",     "ü-ß-€", "a\"b\\c",  "x",
        "le",   "+Inf",     "0.005", "trace_id", "0123456789abcdef"};
    if (rnd_below(4) == 0) {
        size_t n = rnd_below(40);
        char *s = tr_arena_alloc(a, n + 1);
        for (size_t i = 0; i < n; i++) {
            s[i] = (char)(1 + rnd_below(255)); /* any byte but NUL */
        }
        s[n] = '\0';
        return s;
    }
    return (char *)pool[rnd_below(sizeof(pool) / sizeof(pool[0]))];
}

static double
rnd_double(void)
{
    /* No -0.0: protobuf-c (like Go's protobuf) drops it as a zero, so
     * its bytes cannot carry it; test_negative_zero covers it. */
    switch (rnd_below(6)) {
    case 0:
    case 1:
        return 0.0;
    case 2: {
        uint64_t b = 0x7ff0000000000002ull; /* Prometheus's stale NaN */
        double v;
        memcpy(&v, &b, 8);
        return v;
    }
    case 3:
        return (double)rnd_below(1000000) / 100.0;
    default: {
        uint64_t b = rnd();
        double v;
        memcpy(&v, &b, 8);
        return v;
    }
    }
}

static int64_t
rnd_time(void)
{
    switch (rnd_below(4)) {
    case 0:
        return 0;
    case 1:
        return -(int64_t)rnd_below(1000000);
    default:
        return (int64_t)1700000000000 + (int64_t)rnd_below(100000000);
    }
}

static Prometheus__Label **
rnd_labels(struct tr_arena *a, size_t n)
{
    Prometheus__Label **ls = tr_arena_calloc(a, n + 1, sizeof(*ls));
    for (size_t i = 0; i < n; i++) {
        ls[i] = tr_arena_calloc(a, 1, sizeof(**ls));
        prometheus__label__init(ls[i]);
        ls[i]->name = rnd_string(a);
        ls[i]->value = rnd_string(a);
    }
    return ls;
}

static Prometheus__TimeSeries *
rnd_series(struct tr_arena *a, bool histograms)
{
    Prometheus__TimeSeries *ts = tr_arena_calloc(a, 1, sizeof(*ts));
    prometheus__time_series__init(ts);
    ts->n_labels = rnd_below(12);
    ts->labels = rnd_labels(a, ts->n_labels);
    ts->n_samples = rnd_below(5);
    ts->samples = tr_arena_calloc(a, ts->n_samples + 1, sizeof(*ts->samples));
    for (size_t i = 0; i < ts->n_samples; i++) {
        ts->samples[i] = tr_arena_calloc(a, 1, sizeof(Prometheus__Sample));
        prometheus__sample__init(ts->samples[i]);
        ts->samples[i]->value = rnd_double();
        ts->samples[i]->timestamp = rnd_time();
    }
    ts->n_exemplars = rnd_below(4) == 0 ? rnd_below(3) : 0;
    ts->exemplars =
        tr_arena_calloc(a, ts->n_exemplars + 1, sizeof(*ts->exemplars));
    for (size_t i = 0; i < ts->n_exemplars; i++) {
        Prometheus__Exemplar *ex = tr_arena_calloc(a, 1, sizeof(*ex));
        prometheus__exemplar__init(ex);
        ex->n_labels = rnd_below(3);
        ex->labels = rnd_labels(a, ex->n_labels);
        ex->value = rnd_double();
        ex->timestamp = rnd_time();
        ts->exemplars[i] = ex;
    }
    ts->n_histograms = histograms && rnd_below(5) == 0 ? 1 + rnd_below(2) : 0;
    ts->histograms =
        tr_arena_calloc(a, ts->n_histograms + 1, sizeof(*ts->histograms));
    for (size_t i = 0; i < ts->n_histograms; i++) {
        Prometheus__Histogram *h = tr_arena_calloc(a, 1, sizeof(*h));
        prometheus__histogram__init(h);
        h->count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
        h->count_int = rnd_below(1000);
        h->sum = rnd_double();
        h->schema = (int32_t)rnd_below(8) - 4;
        h->timestamp = rnd_time();
        h->n_positive_deltas = rnd_below(4);
        h->positive_deltas =
            tr_arena_calloc(a, h->n_positive_deltas + 1, sizeof(int64_t));
        for (size_t k = 0; k < h->n_positive_deltas; k++) {
            h->positive_deltas[k] = (int64_t)rnd_below(100) - 50;
        }
        ts->histograms[i] = h;
    }
    return ts;
}

static Prometheus__MetricMetadata **
rnd_metadata(struct tr_arena *a, size_t n)
{
    Prometheus__MetricMetadata **ms = tr_arena_calloc(a, n + 1, sizeof(*ms));
    for (size_t i = 0; i < n; i++) {
        ms[i] = tr_arena_calloc(a, 1, sizeof(**ms));
        prometheus__metric_metadata__init(ms[i]);
        ms[i]->type = (Prometheus__MetricMetadata__MetricType)rnd_below(8);
        ms[i]->metric_family_name = rnd_string(a);
        ms[i]->help = rnd_string(a);
        ms[i]->unit = rnd_string(a);
    }
    return ms;
}

static Prometheus__WriteRequest *
rnd_request(struct tr_arena *a, bool histograms)
{
    Prometheus__WriteRequest *r = tr_arena_calloc(a, 1, sizeof(*r));
    prometheus__write_request__init(r);
    r->n_timeseries = rnd_below(20);
    r->timeseries =
        tr_arena_calloc(a, r->n_timeseries + 1, sizeof(*r->timeseries));
    for (size_t i = 0; i < r->n_timeseries; i++) {
        r->timeseries[i] = rnd_series(a, histograms);
    }
    r->n_metadata = rnd_below(3) == 0 ? rnd_below(4) : 0;
    r->metadata = rnd_metadata(a, r->n_metadata);
    return r;
}

/* Packed bytes in a buffer of exactly their size (so ASan sees any
 * read past the end). Free with free(). */
static uint8_t *
pack_write(const Prometheus__WriteRequest *r, size_t *len)
{
    *len = prometheus__write_request__get_packed_size(r);
    uint8_t *b = malloc(*len > 0 ? *len : 1);
    prometheus__write_request__pack(r, b);
    return b;
}

static uint8_t *
pack_push(const Prometheus__WriteRequest *r, const char *tenant, size_t *len)
{
    Trident__Ingester__PushMetricsRequest p =
        TRIDENT__INGESTER__PUSH_METRICS_REQUEST__INIT;
    p.tenant = (char *)tenant;
    p.timeseries = r->timeseries;
    p.n_timeseries = r->n_timeseries;
    p.metadata = r->metadata;
    p.n_metadata = r->n_metadata;
    *len = trident__ingester__push_metrics_request__get_packed_size(&p);
    uint8_t *b = malloc(*len > 0 ? *len : 1);
    trident__ingester__push_metrics_request__pack(&p, b);
    return b;
}

/* ---- comparing the flat form with protobuf-c's tree -------------------- */

static void
assert_str(const char *pb, const char *s, size_t len)
{
    /* protobuf-c's C strings end at a NUL byte (corrupted inputs have
     * some); ours keep every byte. */
    const char *nul = memchr(s, '\0', len);
    if (nul != NULL) {
        len = (size_t)(nul - s);
    }
    assert_int_equal(strlen(pb), len);
    assert_memory_equal(pb, s, len);
}

static void
assert_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    assert_int_equal(x, y);
}

static void
assert_label(const Prometheus__Label *pb, const struct tr_label *l)
{
    assert_str(pb->name, l->name, l->name_len);
    assert_str(pb->value, l->value, l->value_len);
}

/* f (flat) holds exactly the series and metadata of pb. histogram_bytes:
 * whether f keeps each histogram's bytes (then they must unpack to an
 * equal histogram). */
static void
assert_same(const Prometheus__TimeSeries *const *series, size_t nseries,
            const Prometheus__MetricMetadata *const *meta, size_t nmeta,
            const struct tr_prompb_request *f, bool histogram_bytes)
{
    assert_int_equal(f->nseries, nseries);
    for (size_t i = 0; i < nseries; i++) {
        const Prometheus__TimeSeries *ts = series[i];
        const struct tr_prompb_series *s = &f->series[i];
        assert_int_equal(s->nlabels, ts->n_labels);
        for (size_t k = 0; k < ts->n_labels; k++) {
            assert_label(ts->labels[k], &f->labels[s->labels + k]);
        }
        assert_int_equal(s->nsamples, ts->n_samples);
        for (size_t k = 0; k < ts->n_samples; k++) {
            const struct tr_prompb_sample *sm = &f->samples[s->samples + k];
            assert_int_equal(sm->t, ts->samples[k]->timestamp);
            assert_bits(sm->v, ts->samples[k]->value);
        }
        assert_int_equal(s->nexemplars, ts->n_exemplars);
        for (size_t k = 0; k < ts->n_exemplars; k++) {
            const Prometheus__Exemplar *ex = ts->exemplars[k];
            const struct tr_prompb_exemplar *e =
                &f->exemplars[s->exemplars + k];
            assert_int_equal(e->nlabels, ex->n_labels);
            for (size_t j = 0; j < ex->n_labels; j++) {
                assert_label(ex->labels[j], &f->exemplar_labels[e->labels + j]);
            }
            assert_bits(e->value, ex->value);
            assert_int_equal(e->timestamp, ex->timestamp);
        }
        assert_int_equal(s->nhistograms, ts->n_histograms);
        for (size_t k = 0; k < ts->n_histograms && histogram_bytes; k++) {
            const struct tr_prompb_histogram *h =
                &f->histograms[s->histograms + k];
            size_t n =
                prometheus__histogram__get_packed_size(ts->histograms[k]);
            uint8_t *b = malloc(n + 1);
            prometheus__histogram__pack(ts->histograms[k], b);
            assert_int_equal(h->len, n);
            assert_memory_equal(h->data, b, n);
            free(b);
        }
    }
    assert_int_equal(f->nmetadata, nmeta);
    for (size_t i = 0; i < nmeta; i++) {
        const struct tr_prompb_metadata *m = &f->metadata[i];
        assert_int_equal(m->type, meta[i]->type);
        assert_str(meta[i]->metric_family_name, m->family, m->family_len);
        assert_str(meta[i]->help, m->help, m->help_len);
        assert_str(meta[i]->unit, m->unit, m->unit_len);
    }
}

/* ---- tests ------------------------------------------------------------- */

static void
test_decode_matches_protobuf_c(void **state)
{
    (void)state;
    rng_state = 1;
    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    for (int iter = 0; iter < 400; iter++) {
        struct tr_arena *a = tr_arena_create(0);
        Prometheus__WriteRequest *r = rnd_request(a, true);
        size_t len;
        uint8_t *b = pack_write(r, &len);
        struct tr_err err;
        tr_err_clear(&err);
        int rc = tr_prompb_decode(&f, TR_PROMPB_WRITE_REQUEST, b, len, &err);
        if (rc != TR_OK) {
            fail_msg("%s", err.msg);
        }
        assert_null(f.tenant);
        assert_same((const Prometheus__TimeSeries *const *)r->timeseries,
                    r->n_timeseries,
                    (const Prometheus__MetricMetadata *const *)r->metadata,
                    r->n_metadata, &f, true);
        free(b);

        b = pack_push(r, iter % 3 == 0 ? "" : "tenant-1", &len);
        rc = tr_prompb_decode(&f, TR_PROMPB_PUSH_METRICS, b, len, &err);
        assert_int_equal(rc, TR_OK);
        if (iter % 3 == 0) {
            assert_null(f.tenant);
        } else {
            assert_int_equal(f.tenant_len, 8);
            assert_memory_equal(f.tenant, "tenant-1", 8);
        }
        assert_same((const Prometheus__TimeSeries *const *)r->timeseries,
                    r->n_timeseries,
                    (const Prometheus__MetricMetadata *const *)r->metadata,
                    r->n_metadata, &f, true);
        free(b);
        tr_arena_destroy(a);
    }
    tr_prompb_request_fini(&f);
}

static void
test_encode_matches_protobuf_c(void **state)
{
    (void)state;
    rng_state = 2;
    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    for (int iter = 0; iter < 400; iter++) {
        struct tr_arena *a = tr_arena_create(0);
        Prometheus__WriteRequest *r = rnd_request(a, true);
        size_t len;
        uint8_t *b = pack_write(r, &len);
        assert_int_equal(
            tr_prompb_decode(&f, TR_PROMPB_WRITE_REQUEST, b, len, NULL), TR_OK);

        /* Whole request: the same bytes as protobuf-c's. */
        struct tr_buf out = TR_BUF_INIT;
        assert_int_equal(tr_prompb_encode_push(&f, "t", 1, NULL, f.nseries,
                                               NULL, f.nmetadata, &out, NULL),
                         TR_OK);
        size_t plen;
        uint8_t *pb = pack_push(r, "t", &plen);
        assert_int_equal(out.len, plen);
        assert_memory_equal(out.data, pb, plen);
        free(pb);

        /* A subset in another order: protobuf-c reads the same content. */
        uint32_t sidx[20], midx[4];
        const Prometheus__TimeSeries *want_s[20];
        const Prometheus__MetricMetadata *want_m[4];
        size_t ns = 0, nm = 0;
        for (size_t i = f.nseries; i-- > 0;) {
            if (rnd_below(2) == 0) {
                sidx[ns] = (uint32_t)i;
                want_s[ns++] = r->timeseries[i];
            }
        }
        for (size_t i = 0; i < f.nmetadata; i++) {
            if (rnd_below(2) == 0) {
                midx[nm] = (uint32_t)i;
                want_m[nm++] = r->metadata[i];
            }
        }
        tr_buf_reset(&out);
        tr_buf_append(&out, "xyz", 3); /* appends after what is there */
        assert_int_equal(tr_prompb_encode_push(&f, "tenant", 6, sidx, ns, midx,
                                               nm, &out, NULL),
                         TR_OK);
        assert_memory_equal(out.data, "xyz", 3);
        Trident__Ingester__PushMetricsRequest *p =
            trident__ingester__push_metrics_request__unpack(
                NULL, out.len - 3, (const uint8_t *)out.data + 3);
        assert_non_null(p);
        assert_string_equal(p->tenant, "tenant");
        struct tr_prompb_request g;
        tr_prompb_request_init(&g);
        /* Compare through a second decode of our own bytes too. */
        assert_int_equal(tr_prompb_decode(&g, TR_PROMPB_PUSH_METRICS,
                                          out.data + 3, out.len - 3, NULL),
                         TR_OK);
        assert_same(want_s, ns, want_m, nm, &g, true);
        assert_same((const Prometheus__TimeSeries *const *)p->timeseries,
                    p->n_timeseries,
                    (const Prometheus__MetricMetadata *const *)p->metadata,
                    p->n_metadata, &g, true);
        tr_prompb_request_fini(&g);
        trident__ingester__push_metrics_request__free_unpacked(p, NULL);

        /* Changed series (raw cleared) are encoded from their slices:
         * drop the last sample and the first label of every other one. */
        for (size_t i = 0; i < f.nseries; i += 2) {
            struct tr_prompb_series *s = &f.series[i];
            Prometheus__TimeSeries *ts = r->timeseries[i];
            if (s->nsamples > 0) {
                s->nsamples--;
                ts->n_samples--;
            }
            if (s->nlabels > 0) {
                s->labels++;
                s->nlabels--;
                ts->labels++;
                ts->n_labels--;
            }
            s->raw = NULL;
        }
        tr_buf_reset(&out);
        assert_int_equal(tr_prompb_encode_push(&f, "t", 1, NULL, f.nseries,
                                               NULL, f.nmetadata, &out, NULL),
                         TR_OK);
        pb = pack_push(r, "t", &plen);
        assert_int_equal(out.len, plen);
        assert_memory_equal(out.data, pb, plen);
        free(pb);
        tr_buf_fini(&out);
        free(b);
        tr_arena_destroy(a);
    }
    tr_prompb_request_fini(&f);
}

static void
test_from_write_request(void **state)
{
    (void)state;
    rng_state = 3;
    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    for (int iter = 0; iter < 100; iter++) {
        struct tr_arena *a = tr_arena_create(0);
        Prometheus__WriteRequest *r = rnd_request(a, true);
        assert_int_equal(tr_prompb_from_write_request(&f, r, NULL), TR_OK);
        assert_same((const Prometheus__TimeSeries *const *)r->timeseries,
                    r->n_timeseries,
                    (const Prometheus__MetricMetadata *const *)r->metadata,
                    r->n_metadata, &f, false);
        for (size_t i = 0; i < f.nhistograms; i++) {
            assert_null(f.histograms[i].data);
        }
        /* Encoding leaves the byteless histograms out. */
        struct tr_buf out = TR_BUF_INIT;
        assert_int_equal(tr_prompb_encode_push(&f, "", 0, NULL, f.nseries, NULL,
                                               f.nmetadata, &out, NULL),
                         TR_OK);
        Trident__Ingester__PushMetricsRequest *p =
            trident__ingester__push_metrics_request__unpack(
                NULL, out.len, (const uint8_t *)out.data);
        assert_non_null(p);
        assert_int_equal(p->n_timeseries, r->n_timeseries);
        for (size_t i = 0; i < p->n_timeseries; i++) {
            assert_int_equal(p->timeseries[i]->n_histograms, 0);
            assert_int_equal(p->timeseries[i]->n_samples,
                             r->timeseries[i]->n_samples);
        }
        trident__ingester__push_metrics_request__free_unpacked(p, NULL);
        tr_buf_fini(&out);
        tr_arena_destroy(a);
    }
    tr_prompb_request_fini(&f);
}

/* The input of the last decode_bytes (f points into it). */
static uint8_t *held;

/* Decodes a copy of hand-made bytes (in a buffer of their exact size,
 * kept until the next call or decode_bytes_done). */
static int
decode_bytes(enum tr_prompb_message kind, const char *bytes, size_t len,
             struct tr_prompb_request *f, struct tr_err *err)
{
    free(held);
    held = malloc(len > 0 ? len : 1);
    memcpy(held, bytes, len);
    tr_err_clear(err);
    return tr_prompb_decode(f, kind, held, len, err);
}

static void
decode_bytes_done(void)
{
    free(held);
    held = NULL;
}

/* -0.0 and NaN payloads survive our encode and decode bit for bit. */
static void
test_negative_zero(void **state)
{
    (void)state;
    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    struct tr_label l = {"__name__", 8, "m", 1};
    struct tr_prompb_series s = {
        .labels = 0, .nlabels = 1, .samples = 0, .nsamples = 3};
    uint64_t nan_bits = 0x7ff0000000000002ull;
    struct tr_prompb_sample sm[3] = {{1, -0.0}, {2, 0.0}, {3, 0.0}};
    memcpy(&sm[2].v, &nan_bits, 8);
    f.labels = &l;
    f.nlabels = 1;
    f.series = &s;
    f.nseries = 1;
    f.samples = sm;
    f.nsamples = 3;
    struct tr_buf out = TR_BUF_INIT;
    assert_int_equal(
        tr_prompb_encode_push(&f, "", 0, NULL, 1, NULL, 0, &out, NULL), TR_OK);
    struct tr_prompb_request g;
    tr_prompb_request_init(&g);
    assert_int_equal(
        tr_prompb_decode(&g, TR_PROMPB_PUSH_METRICS, out.data, out.len, NULL),
        TR_OK);
    assert_int_equal(g.nsamples, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g.samples[i].t, sm[i].t);
        assert_memory_equal(&g.samples[i].v, &sm[i].v, 8);
    }
    tr_prompb_request_fini(&g);
    tr_buf_fini(&out);
}

static void
test_unknown_fields_and_wire_forms(void **state)
{
    (void)state;
    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    struct tr_err err;
    /* WriteRequest { reserved 2 (varint); 7 (fixed32); timeseries {
     *   label {name "a" value "b" 9: fixed64}, 5: varint,
     *   sample {timestamp 5, value 1.0 (field order swapped), 3: len} };
     *   15: len "zz" } */
    static const char req[] = {
        0x10, 0x05,                       /* field 2 varint */
        0x3d, 1,    2,   3,    4,         /* field 7 fixed32 */
        0x0a, 0x24,                       /* timeseries, 36 bytes */
        0x0a, 0x0f,                       /* label, 15 bytes */
        0x0a, 0x01, 'a', 0x12, 0x01, 'b', /* name, value */
        0x49, 1,    2,   3,    4,    5,   6, 7,          8, /* 9: fixed64 */
        0x28, 0x2a,                                         /* 5: varint */
        0x12, 0x0f, /* sample, 15 bytes */
        0x10, 0x05, /* timestamp 5 */
        0x09, 0,    0,   0,    0,    0,   0, (char)0xf0, 0x3f, /* 1.0 */
        0x1a, 0x02, 'q', 'q',                                  /* 3: len */
        0x7a, 0x02, 'z', 'z',                                  /* 15: len */
    };
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, req, sizeof(req), &f, &err),
        TR_OK);
    assert_int_equal(f.nseries, 1);
    assert_int_equal(f.series[0].nlabels, 1);
    assert_int_equal(f.labels[0].name_len, 1);
    assert_int_equal(f.labels[0].name[0], 'a');
    assert_int_equal(f.labels[0].value[0], 'b');
    assert_int_equal(f.series[0].nsamples, 1);
    assert_int_equal(f.samples[0].t, 5);
    assert_true(f.samples[0].v == 1.0);

    /* Protobuf-c agrees. */
    Prometheus__WriteRequest *w =
        prometheus__write_request__unpack(NULL, sizeof(req), (const void *)req);
    assert_non_null(w);
    assert_same((const Prometheus__TimeSeries *const *)w->timeseries,
                w->n_timeseries, NULL, 0, &f, true);
    prometheus__write_request__free_unpacked(w, NULL);

    /* A repeated scalar field: the last one wins. */
    static const char twice[] = {0x0a, 0x0a, 0x0a, 0x08, 0x0a, 0x01,
                                 'a',  0x0a, 0x01, 'c',  0x12, 0x00};
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, twice, sizeof(twice), &f, &err),
        TR_OK);
    assert_int_equal(f.labels[0].name[0], 'c');
    assert_int_equal(f.labels[0].value_len, 0);

    /* Errors name the problem and the byte. */
    static const char trunc[] = {0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x05, 'a'};
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, trunc, sizeof(trunc), &f, &err),
        TR_EINVAL);
    assert_string_equal(err.msg, "cannot decode remote-write request: "
                                 "truncated field 1 of prometheus.Label at "
                                 "byte 4");
    assert_int_equal(f.nseries, 0);
    static const char outer[] = {0x0a, 0x09, 0x0a};
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, outer, sizeof(outer), &f, &err),
        TR_EINVAL);
    assert_string_equal(err.msg, "cannot decode remote-write request: "
                                 "truncated field 1 of "
                                 "prometheus.WriteRequest at byte 0");
    static const char wire[] = {0x0d, 1, 2, 3, 4};
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, wire, sizeof(wire), &f, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "field 1 of prometheus.WriteRequest has "
                                    "wire type 5 at byte 0"));
    static const char group[] = {0x0b, 0x0c};
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, group, sizeof(group), &f, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "unsupported wire type 3"));
    static const char zero[] = {0x02, 0x00};
    assert_int_equal(
        decode_bytes(TR_PROMPB_PUSH_METRICS, zero, sizeof(zero), &f, &err),
        TR_EINVAL);
    assert_non_null(strstr(err.msg, "cannot decode ingester.PushMetrics "
                                    "request: invalid field number 0"));
    static const char longvar[] = {
        0x10,       (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
        (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0x81, 0x00};
    assert_int_equal(decode_bytes(TR_PROMPB_WRITE_REQUEST, longvar,
                                  sizeof(longvar), &f, &err),
                     TR_EINVAL);
    assert_non_null(strstr(err.msg, "over-long varint in field 2"));
    /* The 10-byte varint of -1 is fine. */
    static const char minus1[] = {
        0x10,       (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
        (char)0xff, (char)0xff, (char)0xff, (char)0xff, 0x01};
    assert_int_equal(
        decode_bytes(TR_PROMPB_WRITE_REQUEST, minus1, sizeof(minus1), &f, &err),
        TR_OK);
    /* The empty request is valid and empty. */
    assert_int_equal(decode_bytes(TR_PROMPB_WRITE_REQUEST, "", 0, &f, &err),
                     TR_OK);
    assert_int_equal(f.nseries, 0);
    decode_bytes_done();
    tr_prompb_request_fini(&f);
}

/* Every prefix and many corruptions of valid requests: no crash or
 * overread (ASan), and the same verdict as protobuf-c; when both accept,
 * the same content. */
static void
test_truncation_and_corruption(void **state)
{
    (void)state;
    rng_state = 4;
    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    size_t agree = 0, accepted = 0;
    for (int iter = 0; iter < 60; iter++) {
        struct tr_arena *a = tr_arena_create(0);
        /* Histograms are only checked for wire validity, protobuf-c
         * checks their content: leave them out of the verdict test. */
        Prometheus__WriteRequest *r = rnd_request(a, false);
        size_t len;
        uint8_t *full = pack_write(r, &len);
        for (size_t cut = 0; cut <= len + 200; cut++) {
            size_t n = cut <= len ? cut : len;
            uint8_t *b = malloc(n > 0 ? n : 1);
            memcpy(b, full, n);
            if (cut > len && n > 0) {
                /* Corruption: one to three random bytes changed. */
                for (size_t k = 1 + rnd_below(3); k > 0; k--) {
                    b[rnd_below(n)] = (uint8_t)rnd();
                }
            }
            struct tr_err err;
            tr_err_clear(&err);
            int rc = tr_prompb_decode(&f, TR_PROMPB_WRITE_REQUEST, b, n, &err);
            assert_true(rc == TR_OK || rc == TR_EINVAL);
            if (rc != TR_OK) {
                assert_non_null(strstr(err.msg, "cannot decode remote-write "
                                                "request: "));
                assert_non_null(strstr(err.msg, " at byte "));
            }
            Prometheus__WriteRequest *w =
                prometheus__write_request__unpack(NULL, n, b);
            if ((w != NULL) != (rc == TR_OK)) {
                fail_msg("verdicts differ at cut %zu of %zu: protobuf-c %s, "
                         "prompb %s",
                         cut, len, w != NULL ? "ok" : "fails",
                         rc == TR_OK ? "ok" : err.msg);
            }
            agree++;
            if (w != NULL) {
                accepted++;
                assert_same(
                    (const Prometheus__TimeSeries *const *)w->timeseries,
                    w->n_timeseries,
                    (const Prometheus__MetricMetadata *const *)w->metadata,
                    w->n_metadata, &f, true);
                prometheus__write_request__free_unpacked(w, NULL);
            }
            free(b);
        }
        free(full);
        tr_arena_destroy(a);
    }
    print_message("%zu inputs, %zu accepted by both\n", agree, accepted);
    tr_prompb_request_fini(&f);
}

static void *
cache_thread(void *arg)
{
    (void)arg;
    struct tr_prompb_request *r = tr_prompb_request_get();
    assert_non_null(r);
    static const char req[] = {0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x00, 0x12, 0x00};
    assert_int_equal(
        tr_prompb_decode(r, TR_PROMPB_WRITE_REQUEST, req, sizeof(req), NULL),
        TR_OK);
    tr_prompb_request_put(r); /* freed when the thread exits (LSan) */
    return NULL;
}

/* A thread gets back the request it put, emptied, capacity kept. */
static void
test_thread_cache(void **state)
{
    (void)state;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cache_thread, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(pthread_create(&th, NULL, cache_thread, NULL), 0);
    pthread_join(th, NULL);

    struct tr_prompb_request *r = tr_prompb_request_get();
    static const char req[] = {0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x00, 0x12, 0x00};
    assert_int_equal(
        tr_prompb_decode(r, TR_PROMPB_WRITE_REQUEST, req, sizeof(req), NULL),
        TR_OK);
    assert_int_equal(r->nseries, 1);
    size_t cap = r->cap_labels;
    tr_prompb_request_put(r);
    struct tr_prompb_request *again = tr_prompb_request_get();
    assert_ptr_equal(again, r);
    assert_int_equal(again->nseries, 0);
    assert_int_equal(again->nlabels, 0);
    assert_int_equal(again->cap_labels, cap);
    struct tr_prompb_request *second = tr_prompb_request_get();
    assert_ptr_not_equal(second, again);
    tr_prompb_request_put(second);
    tr_prompb_request_put(again); /* cache full: freed */
    tr_prompb_request_put(NULL);
    /* Leave the main thread's cache empty: its destructor never runs. */
    struct tr_prompb_request *last = tr_prompb_request_get();
    tr_prompb_request_fini(last);
    tr_free(last);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_matches_protobuf_c),
        cmocka_unit_test(test_encode_matches_protobuf_c),
        cmocka_unit_test(test_from_write_request),
        cmocka_unit_test(test_negative_zero),
        cmocka_unit_test(test_thread_cache),
        cmocka_unit_test(test_unknown_fields_and_wire_forms),
        cmocka_unit_test(test_truncation_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
