/*
 * Per-tenant ingestion rate limits: one token bucket per tenant, refilled
 * continuously at `rate` samples per second up to `burst` samples. Tenants
 * live in a small chained hash table under one mutex; a push takes the
 * lock once, which is cheap next to decoding the request.
 */
#include <pthread.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "distributor_internal.h"
#include "tenant/tenant.h"

#define RL_BUCKETS 256

struct bucket {
    struct bucket *next;
    double tokens;
    int64_t last_ns;
    char tenant[TR_TENANT_MAX + 1];
};

struct distributor_ratelimit {
    int64_t rate;
    int64_t burst;
    pthread_mutex_t lock;
    struct bucket *table[RL_BUCKETS];
};

struct distributor_ratelimit *
distributor_ratelimit_create(int64_t rate, int64_t burst)
{
    struct distributor_ratelimit *rl = tr_calloc(1, sizeof(*rl));
    if (rl == NULL) {
        return NULL;
    }
    rl->rate = rate;
    rl->burst = burst > 0 ? burst : rate;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void
distributor_ratelimit_destroy(struct distributor_ratelimit *rl)
{
    if (rl == NULL) {
        return;
    }
    for (size_t i = 0; i < RL_BUCKETS; i++) {
        struct bucket *b = rl->table[i];
        while (b != NULL) {
            struct bucket *next = b->next;
            tr_free(b);
            b = next;
        }
    }
    pthread_mutex_destroy(&rl->lock);
    tr_free(rl);
}

static size_t
slot_of(const char *tenant)
{
    size_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)tenant; *p; p++) {
        h = h * 33 + *p;
    }
    return h % RL_BUCKETS;
}

bool
distributor_ratelimit_allow(struct distributor_ratelimit *rl,
                            const char *tenant, int64_t n, int64_t now_ns)
{
    if (rl->rate <= 0 || n <= 0) {
        return true;
    }
    if (n > rl->burst) {
        return false;
    }
    bool ok = false;
    size_t slot = slot_of(tenant);
    pthread_mutex_lock(&rl->lock);
    struct bucket *b = rl->table[slot];
    while (b != NULL && strcmp(b->tenant, tenant) != 0) {
        b = b->next;
    }
    if (b == NULL) {
        b = tr_calloc(1, sizeof(*b));
        if (b == NULL) {
            /* No memory for the bookkeeping: do not refuse data for it. */
            pthread_mutex_unlock(&rl->lock);
            return true;
        }
        strncpy(b->tenant, tenant, TR_TENANT_MAX);
        b->tokens = (double)rl->burst;
        b->last_ns = now_ns;
        b->next = rl->table[slot];
        rl->table[slot] = b;
    }
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * (double)rl->rate /
                     (double)TR_NS_PER_SEC;
        if (b->tokens > (double)rl->burst) {
            b->tokens = (double)rl->burst;
        }
        b->last_ns = now_ns;
    }
    if (b->tokens >= (double)n) {
        b->tokens -= (double)n;
        ok = true;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
