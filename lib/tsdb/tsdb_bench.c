/*
 * tr-tsdb-bench: memory per series and append throughput of the head.
 *
 *   tr-tsdb-bench [series] [samples_per_series]     (default 100000 120)
 *
 * Creates `series` series of 4 labels ({__name__, job, instance, handler},
 * like a scrape of many exporters), appends a monotonic counter every 15 s
 * to each, round-robin like a scrape loop, and prints memory per series
 * (head accounting, tr_malloc bytes, process RSS) and appends per second.
 * Build it in a release build for meaningful timings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"

static long
rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

int
main(int argc, char **argv)
{
    size_t nseries = argc > 1 ? (size_t)atol(argv[1]) : 100000;
    int nsamples = argc > 2 ? atoi(argv[2]) : 120;
    struct tr_err err;

    /* Label sets first, so they do not count as head memory. */
    struct tr_labels **ls = tr_calloc(nseries, sizeof(*ls));
    for (size_t i = 0; i < nseries; i++) {
        char name[64], job[32], instance[48], handler[48];
        snprintf(name, sizeof(name), "app_requests_%zu_total", i % 200);
        snprintf(job, sizeof(job), "job-%zu", i % 10);
        snprintf(instance, sizeof(instance), "10.%zu.%zu.%zu:9100",
                 (i / 200) % 50, (i / 10000) % 256, (i / 200) % 250);
        snprintf(handler, sizeof(handler), "/api/v1/item/%zu", i / 200);
        const char *kv[] = {"__name__", name, "job", job,
                            "instance", instance, "handler", handler};
        if (tr_labels_from_strings(kv, 4, &ls[i], &err) != TR_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    struct tr_series **s = tr_calloc(nseries, sizeof(*s));
    long rss0 = rss_bytes();
    int64_t mem0 = tr_mem_bytes_in_use();
    struct tr_head *h = tr_head_create(NULL);

    /* Round 0 creates every series (lookup + create + first append). */
    int64_t t0 = tr_mono_ns();
    for (size_t i = 0; i < nseries; i++) {
        bool created;
        if (tr_head_get_or_create(h, ls[i], &s[i], &created, &err) != TR_OK ||
            !created) {
            fprintf(stderr, "create %zu: %s\n", i, err.msg);
            return 1;
        }
        tr_head_append(h, s[i], 1700000000000, 0, NULL, NULL);
    }
    int64_t create_ns = tr_mono_ns() - t0;

    /* Rounds 1..n/2: lookup by labels + append (the ingest path). */
    double value = 0;
    int half = nsamples / 2;
    t0 = tr_mono_ns();
    for (int r = 1; r < half; r++) {
        for (size_t i = 0; i < nseries; i++) {
            struct tr_series *x;
            tr_head_get_or_create(h, ls[i], &x, NULL, NULL);
            value += (double)(i % 7);
            if (tr_head_append(h, x, 1700000000000 + (int64_t)r * 15000,
                               (double)r * 3 + (double)(i % 7), NULL,
                               &err) != TR_OK) {
                fprintf(stderr, "append: %s\n", err.msg);
                return 1;
            }
        }
    }
    int64_t lookup_ns = tr_mono_ns() - t0;
    size_t lookup_appends = (size_t)(half - 1) * nseries;

    /* Rounds n/2..n: append through cached handles only. */
    t0 = tr_mono_ns();
    for (int r = half; r < nsamples; r++) {
        for (size_t i = 0; i < nseries; i++) {
            tr_head_append(h, s[i], 1700000000000 + (int64_t)r * 15000,
                           (double)r * 3 + (double)(i % 7), NULL, NULL);
        }
    }
    int64_t direct_ns = tr_mono_ns() - t0;
    size_t direct_appends = (size_t)(nsamples - half) * nseries;

    struct tr_head_stats st;
    tr_head_stats(h, &st);
    long rss1 = rss_bytes();
    int64_t mem1 = tr_mem_bytes_in_use();
    printf("series %zu, samples/series %d, chunks %llu, samples %llu\n",
           nseries, nsamples, (unsigned long long)st.chunks,
           (unsigned long long)st.samples_appended);
    printf("memory/series: head accounting %.0f B, tr_malloc %.0f B, "
           "RSS %.0f B\n",
           (double)st.memory_bytes / (double)nseries,
           (double)(mem1 - mem0) / (double)nseries,
           (double)(rss1 - rss0) / (double)nseries);
    printf("create+first append: %.0f series/s\n",
           (double)nseries / ((double)create_ns / 1e9));
    printf("lookup+append: %.2f M samples/s\n",
           (double)lookup_appends / ((double)lookup_ns / 1e3));
    printf("append by handle: %.2f M samples/s\n",
           (double)direct_appends / ((double)direct_ns / 1e3));

    tr_head_destroy(h);
    for (size_t i = 0; i < nseries; i++) {
        tr_labels_destroy(ls[i]);
    }
    tr_free(ls);
    tr_free(s);
    return value < 0; /* keeps value live */
}
