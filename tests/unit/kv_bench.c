/*
 * Throughput of the RocksDB log (lib/kv/log.h) per sync policy and thread
 * count, with 1 KiB records, one record per append. Not a test: run it by
 * hand from a release build and copy the table into docs/benchmarks.md.
 *
 *   tr-kv-bench [seconds-per-case] [parent-dir] [policy:threads ...]
 *
 * Without cases it runs always:1 always:4 group:1 group:4 group:16
 * interval:1 interval:4.
 * Each case writes a fresh log in a temporary directory under parent-dir
 * (default /tmp) and removes it afterwards.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "kv/log.h"

#define RECORD_SIZE 1024

struct bench_case {
    enum tr_kv_log_sync sync;
    int threads;
};

struct worker {
    struct tr_kv_log *log;
    atomic_bool *stop;
    uint64_t appends;
    int64_t latency_ns; /* sum over appends */
    int failed;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    char rec[RECORD_SIZE];
    for (size_t i = 0; i < sizeof(rec); i++) {
        rec[i] = (char)(i * 131 + (uintptr_t)w);
    }
    struct tr_kv_log_record r = {rec, sizeof(rec)};
    while (!atomic_load(w->stop)) {
        int64_t t0 = tr_mono_ns();
        struct tr_err err;
        if (tr_kv_log_append(w->log, &r, 1, NULL, &err) != TR_OK) {
            fprintf(stderr, "%s\n", err.msg);
            w->failed = 1;
            return NULL;
        }
        w->latency_ns += tr_mono_ns() - t0;
        w->appends++;
        rec[w->appends % sizeof(rec)]++;
    }
    return NULL;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
run_case(const struct bench_case *c, double seconds, const char *parent)
{
    char root[256];
    snprintf(root, sizeof(root), "%s/tr-kv-bench-XXXXXX", parent);
    if (!mkdtemp(root)) {
        perror("cannot create the benchmark directory");
        return 1;
    }
    struct tr_kv_log_options opts = {.sync = c->sync};
    struct tr_err err;
    struct tr_kv_log *log = tr_kv_log_open(root, &opts, &err);
    if (!log) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    atomic_bool stop = false;
    struct worker w[64];
    pthread_t th[64];
    for (int i = 0; i < c->threads; i++) {
        w[i] = (struct worker){log, &stop, 0, 0, 0};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    int64_t t0 = tr_mono_ns();
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, true);
    uint64_t appends = 0;
    int64_t latency = 0;
    int failed = 0;
    for (int i = 0; i < c->threads; i++) {
        pthread_join(th[i], NULL);
        appends += w[i].appends;
        latency += w[i].latency_ns;
        failed |= w[i].failed;
    }
    double elapsed = (double)(tr_mono_ns() - t0) / 1e9;
    tr_kv_log_close(log);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

    double rate = (double)appends / elapsed;
    printf("| %-8s | %7d | %12.0f | %8.1f | %14.3f |\n",
           tr_kv_log_sync_name(c->sync), c->threads, rate,
           rate * RECORD_SIZE / 1e6,
           appends ? (double)latency / (double)appends / 1e6 : 0.0);
    fflush(stdout);
    return failed;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    const char *parent = argc > 2 ? argv[2] : "/tmp";
    if (seconds <= 0) {
        fprintf(stderr, "usage: tr-kv-bench [seconds-per-case] [dir]\n");
        return 2;
    }
    static const struct bench_case defaults[] = {
        {TR_KV_LOG_SYNC_ALWAYS, 1},   {TR_KV_LOG_SYNC_ALWAYS, 4},
        {TR_KV_LOG_SYNC_GROUP, 1},    {TR_KV_LOG_SYNC_GROUP, 4},
        {TR_KV_LOG_SYNC_GROUP, 16},   {TR_KV_LOG_SYNC_INTERVAL, 1},
        {TR_KV_LOG_SYNC_INTERVAL, 4},
    };
    struct bench_case cases[32];
    size_t ncases = 0;
    for (int i = 3; i < argc && ncases < 32; i++) {
        char name[32];
        int threads = 0;
        struct tr_err err;
        if (sscanf(argv[i], "%31[a-z]:%d", name, &threads) != 2 ||
            threads < 1 || threads > 64 ||
            tr_kv_log_sync_parse(name, &cases[ncases].sync, &err) != TR_OK) {
            fprintf(stderr,
                    "cannot parse case \"%s\": want "
                    "<group|always|interval>:<1-64>\n",
                    argv[i]);
            return 2;
        }
        cases[ncases++].threads = threads;
    }
    if (ncases == 0) {
        memcpy(cases, defaults, sizeof(defaults));
        ncases = sizeof(defaults) / sizeof(defaults[0]);
    }
    printf("1 KiB records, one per append, %.1f s per case\n\n", seconds);
    printf(
        "| policy   | threads | appends/s    | MB/s     | avg latency ms |\n");
    printf(
        "|----------|---------|--------------|----------|----------------|\n");
    int failed = 0;
    for (size_t i = 0; i < ncases; i++) {
        failed |= run_case(&cases[i], seconds, parent);
    }
    return failed;
}
