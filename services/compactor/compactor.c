/*
 * The compactor module: applies retention to metrics blocks every
 * compactor.interval. Merging small blocks into larger ones comes later
 * (see README.md).
 */
#include "compactor.h"

#include <pthread.h>
#include <time.h>

#include "app/storage.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "retention.h"

struct compactor {
    struct tr_objstore *os;
    int64_t retention_ms;
    int64_t interval_ns;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    pthread_t thread;
    struct tr_counter_vec *deleted_blocks;
    struct tr_counter *runs_failed;
    struct tr_gauge *last_success;
};

static void
count_deleted(void *arg, const char *tenant, const char *block_id)
{
    struct compactor *c = arg;
    tr_counter_inc(tr_counter_vec_get(c->deleted_blocks,
                                      (const char *[]){tenant}));
}

static void
run_once(struct compactor *c)
{
    struct tr_err err = {0};
    size_t deleted = 0;
    if (compactor_apply_retention(c->os, c->retention_ms, tr_now_ms(),
                                  count_deleted, c, &deleted,
                                  &err) != TR_OK) {
        tr_counter_inc(c->runs_failed);
        tr_log_warn("retention run failed", "err=\"%s\"", err.msg);
        return;
    }
    tr_gauge_set(c->last_success, (double)tr_now_ms() / 1e3);
    if (deleted > 0) {
        tr_log_info("retention run done", "deleted_blocks=%zu", deleted);
    }
}

static void *
compactor_main(void *arg)
{
    struct compactor *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        pthread_mutex_unlock(&c->lock);
        run_once(c);
        pthread_mutex_lock(&c->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + c->interval_ns;
        until.tv_sec += (time_t)(ns / TR_NS_PER_SEC);
        until.tv_nsec = (long)(ns % TR_NS_PER_SEC);
        while (!c->stopping &&
               pthread_cond_timedwait(&c->wake, &c->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int
compactor_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    if (cfg->compactor.retention_period_ns == 0) {
        tr_log_info("retention disabled; blocks are kept forever");
        *state = NULL;
        return TR_OK;
    }
    struct compactor *c = tr_calloc(1, sizeof(*c));
    if (c == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    c->os = tr_storage_of(app);
    c->retention_ms = cfg->compactor.retention_period_ns / TR_NS_PER_MS;
    c->interval_ns = cfg->compactor.interval_ns;
    struct tr_metrics_registry *reg = tr_metrics_default();
    c->deleted_blocks = tr_counter_vec_register(
        reg, "tr_compactor_blocks_deleted_total",
        "Blocks deleted because they passed the retention period.",
        (const char *[]){"tenant"}, 1, err);
    c->runs_failed = tr_counter_register(
        reg, "tr_compactor_runs_failed_total",
        "Retention runs that stopped on an object store error.", err);
    c->last_success = tr_gauge_register(
        reg, "tr_compactor_last_successful_run_timestamp_seconds",
        "When retention last completed without error.", err);
    if (c->deleted_blocks == NULL || c->runs_failed == NULL ||
        c->last_success == NULL) {
        tr_free(c);
        return err != NULL ? err->code : TR_EINVAL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&c->thread, NULL, compactor_main, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        tr_free(c);
        return tr_err_set(err, TR_EIO, "cannot start the retention thread");
    }
    tr_log_info("retention enabled", "retention_ms=%lld",
                (long long)c->retention_ms);
    *state = c;
    return TR_OK;
}

static void
compactor_stop(struct tr_app *app, void *state)
{
    struct compactor *c = state;
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    tr_free(c);
}

static const char *const compactor_deps[] = {"server", "storage", NULL};

const struct tr_module tr_compactor_module = {
    .name = "compactor",
    .deps = compactor_deps,
    .is_role = true,
    .start = compactor_start,
    .stop = compactor_stop,
};
