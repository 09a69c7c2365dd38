/*
 * Round trips per second of lib/rpc: unary calls with a 1 KiB payload to an
 * echo handler, over inproc:// and over tcp loopback, from 1 and from 4
 * client threads. A measurement, not a test: it prints numbers.
 *
 *   tr-rpc-bench [seconds per run, default 2]
 *
 * Measured on the 2-core development VM (Release build, other builds
 * running, so +-40%): inproc 1 thread 9-14k/s (70-110 us), tcp loopback
 * 1 thread 5-6k/s (170-200 us); 4 threads: inproc 22-34k/s, tcp 14-15k/s.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "rpc/rpc.h"

#define PAYLOAD 1024

static void
echo(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    (void)arg;
    tr_rpc_call_reply(call, req->payload, req->len);
}

struct run {
    struct tr_rpc_client *client;
    int64_t until_ns;
    long calls;
    int failures;
};

static void *
bench_thread(void *arg)
{
    struct run *r = arg;
    char payload[PAYLOAD];
    memset(payload, 'x', sizeof(payload));
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_err err;
    while (tr_mono_ns() < r->until_ns) {
        if (tr_rpc_client_call(r->client, "bench.Echo", payload,
                               sizeof(payload), 2000, &resp, &err) != TR_OK ||
            resp.len != PAYLOAD) {
            r->failures++;
        }
        r->calls++;
    }
    tr_buf_fini(&resp);
    return NULL;
}

static void
measure(const char *endpoint, int threads, double seconds)
{
    struct tr_err err;
    struct tr_rpc_client_opts opts = {.name = "bench"};
    struct tr_rpc_client *c = tr_rpc_client_create(endpoint, &opts, &err);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    struct run runs[8];
    pthread_t tids[8];
    int64_t start = tr_mono_ns();
    for (int i = 0; i < threads; i++) {
        runs[i] = (struct run){c, start + (int64_t)(seconds * 1e9), 0, 0};
        pthread_create(&tids[i], NULL, bench_thread, &runs[i]);
    }
    long calls = 0;
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        calls += runs[i].calls;
        failures += runs[i].failures;
    }
    double took = (double)(tr_mono_ns() - start) / 1e9;
    printf("%-28s threads=%d payload=%dB  %8.0f round trips/s  "
           "(%.1f us each, %d failures)\n",
           endpoint, threads, PAYLOAD, (double)calls / took,
           took * 1e6 * threads / (double)calls, failures);
    tr_rpc_client_destroy(c);
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    struct tr_err err;
    struct tr_rpc_server_opts opts = {.name = "bench-server", .workers = 4};
    struct tr_rpc_server *s = tr_rpc_server_create(&opts, &err);
    char tcp[256];
    if (s == NULL ||
        tr_rpc_server_handle(s, "bench.Echo", echo, NULL, &err) != TR_OK ||
        tr_rpc_server_bind(s, "inproc://bench", NULL, 0, &err) != TR_OK ||
        tr_rpc_server_bind(s, "tcp://127.0.0.1:0", tcp, sizeof(tcp), &err) !=
            TR_OK ||
        tr_rpc_server_start(s, &err) != TR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    measure("inproc://bench", 1, seconds);
    measure(tcp, 1, seconds);
    measure("inproc://bench", 4, seconds);
    measure(tcp, 4, seconds);
    tr_rpc_server_destroy(s);
    tr_rpc_context_term();
    return 0;
}
