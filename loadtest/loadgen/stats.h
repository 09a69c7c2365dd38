/*
 * Counters shared by the sender threads and the progress printer: samples
 * sent, acknowledged and dropped, requests by HTTP status, network errors,
 * retries, and request latencies in a log-scale histogram (buckets 2^(1/8)
 * apart, about 9% wide, from 1 us to ~2 minutes). All updates are relaxed
 * atomics: senders never wait for the printer.
 */
#ifndef TR_LOADGEN_STATS_H
#define TR_LOADGEN_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define LOADGEN_LAT_BUCKETS 224
#define LOADGEN_MAX_STATUS 600

struct loadgen_latency {
    atomic_uint_fast64_t counts[LOADGEN_LAT_BUCKETS];
};

struct loadgen_stats {
    atomic_int_fast64_t samples_sent;   /* first attempts only */
    atomic_int_fast64_t samples_acked;  /* answered 2xx */
    atomic_int_fast64_t samples_failed; /* dropped: refused or out of retries */
    atomic_int_fast64_t requests;       /* every attempt, retries included */
    atomic_int_fast64_t retries;
    atomic_int_fast64_t net_errors;     /* no HTTP answer at all */
    atomic_int_fast64_t bytes_sent;     /* compressed bodies */
    atomic_int_fast64_t status[LOADGEN_MAX_STATUS];
    struct loadgen_latency lat_total;
    struct loadgen_latency lat_window; /* since the last progress line */
};

/* Records one request's latency in both histograms. */
void loadgen_stats_observe(struct loadgen_stats *s, int64_t ns);

/*
 * Quantile q (0..1) of the histogram in seconds (the upper bound of the
 * bucket holding it); 0 when empty.
 */
double loadgen_latency_quantile(const struct loadgen_latency *l, double q);

/* Empties the histogram (the window after each progress line). */
void loadgen_latency_reset(struct loadgen_latency *l);

#endif
