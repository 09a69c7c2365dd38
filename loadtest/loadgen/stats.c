#include "stats.h"

#include <math.h>

static int
bucket_of(int64_t ns)
{
    double us = (double)ns / 1000;
    if (us <= 1) {
        return 0;
    }
    int b = (int)ceil(8 * log2(us));
    return b >= LOADGEN_LAT_BUCKETS ? LOADGEN_LAT_BUCKETS - 1 : b;
}

void
loadgen_stats_observe(struct loadgen_stats *s, int64_t ns)
{
    int b = bucket_of(ns);
    atomic_fetch_add_explicit(&s->lat_total.counts[b], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat_window.counts[b], 1,
                              memory_order_relaxed);
}

double
loadgen_latency_quantile(const struct loadgen_latency *l, double q)
{
    uint64_t counts[LOADGEN_LAT_BUCKETS], total = 0;
    for (int i = 0; i < LOADGEN_LAT_BUCKETS; i++) {
        counts[i] = atomic_load_explicit(&l->counts[i], memory_order_relaxed);
        total += counts[i];
    }
    if (total == 0) {
        return 0;
    }
    /* The rank of the quantile, 1-based, as the nearest-rank method. */
    uint64_t rank = (uint64_t)ceil(q * (double)total);
    if (rank < 1) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (int i = 0; i < LOADGEN_LAT_BUCKETS; i++) {
        seen += counts[i];
        if (seen >= rank) {
            return exp2((double)i / 8) / 1e6;
        }
    }
    return exp2((double)(LOADGEN_LAT_BUCKETS - 1) / 8) / 1e6;
}

void
loadgen_latency_reset(struct loadgen_latency *l)
{
    for (int i = 0; i < LOADGEN_LAT_BUCKETS; i++) {
        atomic_store_explicit(&l->counts[i], 0, memory_order_relaxed);
    }
}
