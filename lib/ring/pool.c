#include "ring/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "rpc/rpc.h"
#include "trident/ingester.pb-c.h"

struct member {
    struct tr_rpc_client *client;
    struct tr_member_info info; /* guarded by pool->lock */
};

struct tr_ingester_pool {
    struct member *members;
    size_t count;
    int64_t interval_ns;
    int timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    bool checker_running;
    pthread_t checker;
};

static void
check_member(struct tr_ingester_pool *pool, struct member *m)
{
    Trident__Ingester__StatusRequest req =
        TRIDENT__INGESTER__STATUS_REQUEST__INIT;
    uint8_t payload[16];
    size_t len = trident__ingester__status_request__pack(&req, payload);
    struct tr_buf resp = TR_BUF_INIT;
    struct tr_err err = {0};
    int rc = tr_rpc_client_call(m->client, "ingester.Status", payload, len,
                                pool->timeout_ms, &resp, &err);
    Trident__Ingester__StatusResponse *status = NULL;
    if (rc == TR_OK) {
        status = trident__ingester__status_response__unpack(
            NULL, resp.len, (const uint8_t *)resp.data);
        if (status == NULL) {
            rc = tr_err_set(&err, TR_EIO,
                            "cannot decode ingester.Status reply");
        }
    }

    pthread_mutex_lock(&pool->lock);
    enum tr_member_state before = m->info.state;
    if (rc == TR_OK) {
        m->info.state = TR_MEMBER_ACTIVE;
        m->info.last_ok_ms = tr_now_ms();
        m->info.last_error[0] = '\0';
        m->info.series = status->series;
        snprintf(m->info.instance_id, sizeof(m->info.instance_id), "%s",
                 status->instance_id);
    } else {
        m->info.state = TR_MEMBER_UNHEALTHY;
        snprintf(m->info.last_error, sizeof(m->info.last_error), "%s",
                 err.msg);
    }
    enum tr_member_state after = m->info.state;
    pthread_mutex_unlock(&pool->lock);

    if (before != after) {
        if (after == TR_MEMBER_ACTIVE) {
            tr_log_info("ingester is healthy", "endpoint=%s",
                        m->info.endpoint);
        } else {
            tr_log_warn("ingester is unhealthy", "endpoint=%s err=\"%s\"",
                        m->info.endpoint, err.msg);
        }
    }
    if (status != NULL) {
        trident__ingester__status_response__free_unpacked(status, NULL);
    }
    tr_buf_fini(&resp);
}

void
tr_ingester_pool_check_now(struct tr_ingester_pool *pool)
{
    for (size_t i = 0; i < pool->count; i++) {
        check_member(pool, &pool->members[i]);
    }
}

static void *
checker_main(void *arg)
{
    struct tr_ingester_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping) {
        pthread_mutex_unlock(&pool->lock);
        tr_ingester_pool_check_now(pool);
        pthread_mutex_lock(&pool->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + pool->interval_ns;
        until.tv_sec += (time_t)(ns / TR_NS_PER_SEC);
        until.tv_nsec = (long)(ns % TR_NS_PER_SEC);
        while (!pool->stopping &&
               pthread_cond_timedwait(&pool->wake, &pool->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

struct tr_ingester_pool *
tr_ingester_pool_create(const char *const *endpoints, size_t count,
                        const struct tr_ingester_pool_opts *opts,
                        struct tr_err *err)
{
    struct tr_ingester_pool *pool = tr_calloc(1, sizeof(*pool));
    if (pool == NULL) {
        tr_err_set(err, TR_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->wake, &attr);
    pthread_condattr_destroy(&attr);
    pool->interval_ns = opts != NULL && opts->check_interval_ns > 0
                            ? opts->check_interval_ns
                            : 5 * TR_NS_PER_SEC;
    pool->timeout_ms = opts != NULL && opts->call_timeout_ms > 0
                           ? opts->call_timeout_ms
                           : 5000;
    pool->members = tr_calloc(count > 0 ? count : 1, sizeof(*pool->members));
    if (pool->members == NULL) {
        tr_err_set(err, TR_ENOMEM, "out of memory");
        goto fail;
    }
    struct tr_rpc_client_opts client_opts = {
        .name = opts != NULL ? opts->client_name : NULL,
        .default_timeout_ms = pool->timeout_ms,
    };
    for (size_t i = 0; i < count; i++) {
        struct member *m = &pool->members[i];
        m->client = tr_rpc_client_create(endpoints[i], &client_opts, err);
        if (m->client == NULL) {
            tr_err_prefix(err, "cannot use ingester address");
            goto fail;
        }
        pool->count++;
        snprintf(m->info.endpoint, sizeof(m->info.endpoint), "%s",
                 endpoints[i]);
    }
    if (pthread_create(&pool->checker, NULL, checker_main, pool) != 0) {
        tr_err_set(err, TR_EIO, "cannot start ingester health checker");
        goto fail;
    }
    pool->checker_running = true;
    return pool;
fail:
    tr_ingester_pool_destroy(pool);
    return NULL;
}

void
tr_ingester_pool_destroy(struct tr_ingester_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    if (pool->checker_running) {
        pthread_mutex_lock(&pool->lock);
        pool->stopping = true;
        pthread_cond_signal(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
        pthread_join(pool->checker, NULL);
    }
    for (size_t i = 0; i < pool->count; i++) {
        tr_rpc_client_destroy(pool->members[i].client);
    }
    tr_free(pool->members);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    tr_free(pool);
}

size_t
tr_ingester_pool_size(const struct tr_ingester_pool *pool)
{
    return pool->count;
}

struct tr_rpc_client *
tr_ingester_pool_client(struct tr_ingester_pool *pool, size_t i)
{
    return pool->members[i].client;
}

enum tr_member_state
tr_ingester_pool_state(struct tr_ingester_pool *pool, size_t i)
{
    pthread_mutex_lock(&pool->lock);
    enum tr_member_state s = pool->members[i].info.state;
    pthread_mutex_unlock(&pool->lock);
    return s;
}

void
tr_ingester_pool_info(struct tr_ingester_pool *pool, size_t i,
                      struct tr_member_info *out)
{
    pthread_mutex_lock(&pool->lock);
    *out = pool->members[i].info;
    pthread_mutex_unlock(&pool->lock);
}

const char *
tr_member_state_name(enum tr_member_state state)
{
    switch (state) {
    case TR_MEMBER_JOINING:
        return "JOINING";
    case TR_MEMBER_ACTIVE:
        return "ACTIVE";
    case TR_MEMBER_UNHEALTHY:
        return "UNHEALTHY";
    }
    return "UNKNOWN";
}
