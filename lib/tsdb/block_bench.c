/*
 * tr-tsdb-block-bench: bytes per sample of a block of node-exporter-like
 * data, Gorilla chunks alone (what the head holds) versus the final block
 * (zstd-paged columns), for a few zstd levels and page sizes, plus build
 * and read times. Not a test; run by hand from a release build:
 *
 *   tr-tsdb-block-bench [-series N] [-jitter MS] [-instances N]
 *
 * Data: `instances` targets, each exposing series/instances series that
 * share the target's scrape timestamps (15 s interval, 2 h block, optional
 * +-jitter ms per scrape): 15% CPU-seconds-like counters (2-decimal
 * increments), 15% integer counters with small increments, 10% counters
 * that rarely move, 35% gauges with 2-5 distinct values that change now and
 * then, 25% constant series. Deterministic (fixed PRNG seed).
 */
#define _XOPEN_SOURCE 700
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/objstore.h"
#include "tsdb/block.h"
#include "tsdb/chunk.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

#define STEP 15000
#define RANGE (2 * 3600 * 1000)
#define MINT INT64_C(1700000000000)

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double
uniform(void)
{
    return (double)(next_rand() >> 11) / 9007199254740992.0;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum kind { CPU, INTC, RARE, GAUGE, CONST };

static enum kind
kind_of(int m)
{
    int p = m % 20; /* 20 slots = 5% each */
    if (p < 3) {
        return CPU;
    }
    if (p < 6) {
        return INTC;
    }
    if (p < 8) {
        return RARE;
    }
    if (p < 15) {
        return GAUGE;
    }
    return CONST;
}

static const char *kind_names[] = {"cpu", "int", "rare", "gauge", "const"};

/* Gorilla bytes of n samples cut into 120-sample chunks. */
static size_t
gorilla_size(const int64_t *t, const double *v, size_t n)
{
    size_t total = 0;
    struct tr_chunk c;
    tr_chunk_init(&c);
    for (size_t i = 0; i < n; i++) {
        if (tr_chunk_count(&c) == TR_CHUNK_DEFAULT_SAMPLES) {
            total += tr_chunk_size(&c);
            tr_chunk_fini(&c);
            tr_chunk_init(&c);
        }
        tr_chunk_append(&c, t[i], v[i], NULL);
    }
    total += tr_chunk_size(&c);
    tr_chunk_fini(&c);
    return total;
}

int
main(int argc, char **argv)
{
    int nseries = 10000;
    int instances = 100;
    int jitter = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-series") == 0) {
            nseries = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "-instances") == 0) {
            instances = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "-jitter") == 0) {
            jitter = atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    int per = nseries / instances;
    size_t nsamp = RANGE / STEP;
    int64_t *t = malloc(nsamp * sizeof(*t));
    double *v = malloc(nsamp * sizeof(*v));
    struct tr_head *h = tr_head_create(NULL);
    size_t gorilla[5] = {0}, samples[5] = {0}, gorilla_total = 0;
    size_t total_samples = 0;
    double t0 = now_s();
    for (int inst = 0; inst < instances; inst++) {
        /* The target's scrape times, shared by all its series. */
        int64_t base = MINT + (int64_t)(uniform() * STEP);
        for (size_t i = 0; i < nsamp; i++) {
            int64_t j = jitter > 0
                            ? (int64_t)(next_rand() % (2 * jitter + 1)) - jitter
                            : 0;
            t[i] = base + (int64_t)i * STEP + j;
        }
        for (int m = 0; m < per; m++) {
            enum kind k = kind_of(m);
            char name[64], inst_s[64], extra[32];
            snprintf(name, sizeof(name), "node_metric_%s_%d", kind_names[k], m);
            snprintf(inst_s, sizeof(inst_s), "10.0.%d.%d:9100", inst / 250,
                     inst % 250);
            snprintf(extra, sizeof(extra), "%d", m % 8);
            const char *kv[] = {"__name__", name,   "instance", inst_s,
                                "job",      "node", "cpu",      extra};
            struct tr_labels *ls = NULL;
            struct tr_err err;
            if (tr_labels_from_strings(kv, 4, &ls, &err) != TR_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            struct tr_series *s;
            tr_head_get_or_create(h, ls, &s, NULL, &err);
            tr_labels_destroy(ls);
            double x = floor(uniform() * 1e6);
            double vals[5];
            int nvals = 2 + (int)(next_rand() % 4);
            for (int q = 0; q < nvals; q++) {
                vals[q] = floor(uniform() * 1e4) * 4096;
            }
            int cur = 0;
            for (size_t i = 0; i < nsamp; i++) {
                switch (k) {
                case CPU:
                    x = round((x + uniform() * 15) * 100) / 100;
                    break;
                case INTC:
                    x += (double)(next_rand() % 21);
                    break;
                case RARE:
                    x += uniform() < 0.05 ? 1 : 0;
                    break;
                case GAUGE:
                    if (uniform() < 0.1) {
                        cur = (int)(next_rand() % (uint64_t)nvals);
                    }
                    x = vals[cur];
                    break;
                case CONST:
                    break;
                }
                v[i] = x;
                tr_head_append(h, s, t[i], x, NULL, NULL);
            }
            size_t g = gorilla_size(t, v, nsamp);
            gorilla[k] += g;
            samples[k] += nsamp;
            gorilla_total += g;
            total_samples += nsamp;
        }
    }
    double t1 = now_s();
    printf("data: %d series (%d instances), %zu samples, 15 s interval, "
           "jitter +-%d ms, head filled in %.2f s\n",
           per * instances, instances, total_samples, jitter, t1 - t0);
    printf("gorilla only (120-sample chunks): %zu B = %.3f B/sample\n",
           gorilla_total, (double)gorilla_total / total_samples);
    for (int k = 0; k < 5; k++) {
        printf("  %-5s %.3f B/sample\n", kind_names[k],
               (double)gorilla[k] / samples[k]);
    }

    int levels[] = {3, 9, 19};
    uint32_t pages[] = {16 * 1024, 64 * 1024, 256 * 1024};
    printf("%-6s %-9s %12s %10s %12s %10s %9s %8s\n", "zstd", "page",
           "chunks B", "chunks B/s", "index B", "total B/s", "build s",
           "tcols");
    for (size_t li = 0; li < 3; li++) {
        for (size_t pi = 0; pi < 3; pi++) {
            struct tr_block_options o = {.tenant = "bench",
                                         .mint = MINT,
                                         .maxt = MINT + RANGE + STEP,
                                         .zstd_level = levels[li],
                                         .chunk_page_size = pages[pi]};
            struct tr_block_files f = {0};
            struct tr_err err;
            double b0 = now_s();
            if (tr_block_build_from_head(h, &o, &f, &err) != TR_OK) {
                fprintf(stderr, "build: %s\n", err.msg);
                return 1;
            }
            double b1 = now_s();
            size_t total = f.chunks.len + f.index.len + f.meta_json.len;
            printf("%-6d %-9" PRIu32
                   " %12zu %10.3f %12zu %10.3f %9.2f %8" PRIu64 "\n",
                   levels[li], pages[pi], f.chunks.len,
                   (double)f.chunks.len / total_samples, f.index.len,
                   (double)total / total_samples, b1 - b0, f.meta.chunks);
            tr_block_files_fini(&f);
        }
    }

    /* Read path with the defaults through a filesystem store. */
    char dir[] = "/tmp/tr-block-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    struct tr_objstore_options oo = {.backend = "filesystem", .fs_root = dir};
    struct tr_err err;
    struct tr_objstore *os = tr_objstore_create(&oo, &err);
    struct tr_block_options o = {
        .tenant = "bench", .mint = MINT, .maxt = MINT + RANGE + STEP};
    struct tr_block_files f = {0};
    tr_block_build_from_head(h, &o, &f, &err);
    tr_block_upload(os, &f, &err);
    struct tr_block *b = NULL;
    double r0 = now_s();
    if (tr_block_open(os, "bench", f.meta.id, &b, &err) != TR_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    double r1 = now_s();
    struct tr_block_series_set set = {0};
    tr_block_select(b, NULL, 0, MINT, MINT + RANGE + STEP, &set, &err);
    size_t got = 0;
    for (size_t i = 0; i < set.len; i++) {
        int64_t *tt;
        double *vv;
        size_t n;
        tr_block_series_samples(&set.series[i], MINT, MINT + RANGE + STEP, &tt,
                                &vv, &n, &err);
        got += n;
        tr_free(tt);
        tr_free(vv);
    }
    double r2 = now_s();
    struct tr_block_read_stats st;
    tr_block_read_stats(b, &st);
    printf("defaults: id %s, open %.1f ms, select+decode all %zu samples "
           "%.1f ms (%.1f M samples/s), %" PRIu64 " requests %" PRIu64 " B\n",
           f.meta.id, (r1 - r0) * 1e3, got, (r2 - r1) * 1e3,
           got / (r2 - r1) / 1e6, st.requests, st.bytes);
    tr_block_series_set_fini(&set);
    tr_block_release(b);
    tr_block_delete(os, "bench", f.meta.id, &err);
    tr_block_files_fini(&f);
    tr_objstore_destroy(os);
    rmdir(dir);
    tr_head_destroy(h);
    free(t);
    free(v);
    return 0;
}
