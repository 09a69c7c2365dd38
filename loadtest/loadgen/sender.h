/*
 * A sender: one thread with one keep-alive HTTP connection that turns its
 * share of the series into remote-write requests (snappy-compressed
 * protobuf WriteRequest, at most `batch` samples each) and posts them,
 * one request in flight at a time, as a Prometheus remote-write shard
 * does.
 *
 * Series are sharded by instance: sender j owns instances j, j+n, j+2n...
 * and walks them in order, step after step, so every series is always
 * sent by the same sender in timestamp order and never arrives out of
 * order, however many senders run.
 *
 * With the simulated clock no sender runs more than five simulated minutes
 * ahead of the slowest: receivers refuse samples older than what they have
 * already cut into a block (Prometheus: "out of bounds"), so a long
 * backfill must move forward together.
 *
 * Retries follow Prometheus: 5xx and network errors are retried with
 * exponential back-off (30 ms doubling to 5 s) up to `retries` times; 429
 * only with retry_429; other 4xx are dropped at once and counted failed.
 */
#ifndef TR_LOADGEN_SENDER_H
#define TR_LOADGEN_SENDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "stats.h"

enum loadgen_clock {
    LOADGEN_CLOCK_REAL, /* step k is sent when its timestamps come due */
    LOADGEN_CLOCK_SIM,  /* steps [start, end) as fast as allowed */
};

struct loadgen_config {
    const char *url;
    const char *tenant; /* X-Scope-OrgID, or NULL */
    enum loadgen_clock clock;
    int senders;
    int batch;          /* most samples per request */
    double rate;        /* samples/s over all senders; 0: unthrottled */
    int64_t start_step; /* first step (absolute: timestamp / interval) */
    int64_t end_step;   /* one past the last step (sim clock) */
    int retries;
    bool retry_429;
    int64_t timeout_ms;
    int64_t wall_to_mono_ns; /* add to a wall-clock time to get monotonic */
    int64_t t0_mono_ns;      /* start of the run (rate schedule origin) */
};

struct loadgen_sender {
    /* Set by the caller before loadgen_sender_start. */
    int id;
    const struct loadgen_config *cfg;     /* borrowed */
    const struct loadgen_model *model;    /* borrowed */
    struct loadgen_stats *stats;          /* borrowed, shared */
    atomic_int *stop;                     /* borrowed: non-zero ends it */
    struct loadgen_sender *all;           /* borrowed: every sender */

    /* The step this sender is at, for keeping senders in step. */
    atomic_int_fast64_t step_now;

    /* Monotonic due time of the batch in hand, 0 while idle or ahead of
     * schedule: now minus this is how far the sender lags. */
    atomic_int_fast64_t due_ns;
    /* First refusal seen (status and body), for the summary. */
    char first_error[256];
    atomic_int has_error;
    /* Set when the thread has finished its share. */
    atomic_int done;
    /* Private. */
    struct loadgen_sender_state *st;
    pthread_t thread;
    bool started;
};

/*
 * Allocates the sender's buffers and HTTP handle and starts its thread.
 * TR_OK, or TR_ENOMEM / TR_EIO with err set; the sender is then not
 * running but must still be passed to loadgen_sender_join.
 */
int loadgen_sender_start(struct loadgen_sender *s, struct tr_err *err);

/* Waits for the thread (if started) and frees what start allocated. */
void loadgen_sender_join(struct loadgen_sender *s);

#endif
