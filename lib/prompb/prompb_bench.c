/*
 * tr-prompb-bench: decode and encode throughput of lib/prompb against
 * protobuf-c on remote-write requests shaped like Prometheus's (2000
 * samples of node-exporter-like series, one sample each, 8 labels).
 * Usage: tr-prompb-bench [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "prometheus/remote.pb-c.h"
#include "prompb/prompb.h"
#include "trident/ingester.pb-c.h"

#define SERIES 2000
#define LABELS 8

static char names[LABELS][16] = {"__name__", "cpu",   "instance", "job",
                                 "mode",     "phase", "region",   "zone"};

static double
mb_per_s(size_t bytes, int iters, int64_t ns)
{
    return (double)bytes * iters / ((double)ns / 1e9) / 1e6;
}

int
main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    struct tr_arena *a = tr_arena_create(0);
    Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
    req.n_timeseries = SERIES;
    req.timeseries = tr_arena_calloc(a, SERIES, sizeof(*req.timeseries));
    for (size_t i = 0; i < SERIES; i++) {
        Prometheus__TimeSeries *ts = tr_arena_calloc(a, 1, sizeof(*ts));
        prometheus__time_series__init(ts);
        ts->n_labels = LABELS;
        ts->labels = tr_arena_calloc(a, LABELS, sizeof(*ts->labels));
        for (size_t k = 0; k < LABELS; k++) {
            Prometheus__Label *l = tr_arena_calloc(a, 1, sizeof(*l));
            prometheus__label__init(l);
            l->name = names[k];
            l->value =
                k == 0 ? "node_cpu_seconds_total"
                       : tr_arena_sprintf(a, "%s-%zu", names[k], i % (7 * k));
            ts->labels[k] = l;
        }
        ts->n_samples = 1;
        ts->samples = tr_arena_calloc(a, 1, sizeof(*ts->samples));
        ts->samples[0] = tr_arena_calloc(a, 1, sizeof(Prometheus__Sample));
        prometheus__sample__init(ts->samples[0]);
        ts->samples[0]->timestamp = 1700000000000 + (int64_t)i;
        ts->samples[0]->value = (double)i * 1.25;
        req.timeseries[i] = ts;
    }
    size_t len = prometheus__write_request__get_packed_size(&req);
    uint8_t *wire = malloc(len);
    prometheus__write_request__pack(&req, wire);
    printf("request: %zu series, %zu bytes\n", (size_t)SERIES, len);

    /* protobuf-c unpack into an arena (as the distributor did). */
    struct tr_arena *ua = tr_arena_create(0);
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(ua, &alloc);
    int64_t t0 = tr_mono_ns();
    for (int i = 0; i < iters; i++) {
        Prometheus__WriteRequest *r =
            prometheus__write_request__unpack(&alloc, len, wire);
        if (r == NULL) {
            return 1;
        }
        tr_arena_reset(ua);
    }
    int64_t pbc_dec = tr_mono_ns() - t0;

    struct tr_prompb_request f;
    tr_prompb_request_init(&f);
    t0 = tr_mono_ns();
    for (int i = 0; i < iters; i++) {
        if (tr_prompb_decode(&f, TR_PROMPB_WRITE_REQUEST, wire, len, NULL) !=
            0) {
            return 1;
        }
    }
    int64_t fast_dec = tr_mono_ns() - t0;

    /* Encoding the PushMetricsRequest: protobuf-c from the tree, prompb
     * from the flat form. */
    Trident__Ingester__PushMetricsRequest p =
        TRIDENT__INGESTER__PUSH_METRICS_REQUEST__INIT;
    p.tenant = "anonymous";
    p.timeseries = req.timeseries;
    p.n_timeseries = req.n_timeseries;
    t0 = tr_mono_ns();
    size_t plen = 0;
    for (int i = 0; i < iters; i++) {
        plen = trident__ingester__push_metrics_request__get_packed_size(&p);
        uint8_t *b = malloc(plen);
        trident__ingester__push_metrics_request__pack(&p, b);
        free(b);
    }
    int64_t pbc_enc = tr_mono_ns() - t0;
    struct tr_buf out = TR_BUF_INIT;
    t0 = tr_mono_ns();
    for (int i = 0; i < iters; i++) {
        tr_buf_reset(&out);
        tr_prompb_encode_push(&f, "anonymous", 9, NULL, f.nseries, NULL, 0,
                              &out, NULL);
    }
    int64_t fast_enc = tr_mono_ns() - t0;
    if (out.len != plen) {
        fprintf(stderr, "encodings differ in size: %zu vs %zu\n", out.len,
                plen);
        return 1;
    }

    printf("decode  protobuf-c %8.1f MB/s  prompb %8.1f MB/s  (%.1fx)\n",
           mb_per_s(len, iters, pbc_dec), mb_per_s(len, iters, fast_dec),
           (double)pbc_dec / (double)fast_dec);
    printf("encode  protobuf-c %8.1f MB/s  prompb %8.1f MB/s  (%.1fx)\n",
           mb_per_s(plen, iters, pbc_enc), mb_per_s(plen, iters, fast_enc),
           (double)pbc_enc / (double)fast_enc);
    tr_buf_fini(&out);
    tr_prompb_request_fini(&f);
    tr_arena_destroy(ua);
    tr_arena_destroy(a);
    free(wire);
    return 0;
}
