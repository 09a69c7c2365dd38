/*
 * Sending validated series to the ingesters. Each series has a routing key
 * (hash of tenant and labels); rendezvous hashing over the usable members
 * picks its ingester(s), so adding or losing a member moves only the
 * series that member owns. The replication factor is a parameter of the
 * choice (1 today): with RF=3 every series gets three members and a write
 * succeeds when a quorum of them acknowledged it.
 */
#include <string.h>
#include <xxhash.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "distributor_internal.h"
#include "ring/pool.h"
#include "rpc/rpc.h"
#include "trident/ingester.pb-c.h"
#include "tsdb/labels.h"

#define REPLICATION_FACTOR 1

uint64_t
distributor_routing_key(const char *tenant, const struct tr_label *labels,
                        size_t n)
{
    /* tr_labels builds the canonical encoding whose hash is frozen
     * (lib/tsdb/labels.h). */
    uint64_t seed = XXH3_64bits(tenant, strlen(tenant));
    struct tr_labels *ls = NULL;
    uint64_t key = seed;
    if (tr_labels_from_pairs(labels, n, &ls, NULL) == TR_OK) {
        key = tr_labels_hash_seeded(ls, seed);
        tr_labels_destroy(ls);
    }
    return key;
}

/* Weight of member i for key: a mix of both (splitmix64 finaliser). */
static uint64_t
weight(uint64_t key, size_t i)
{
    uint64_t x = key ^ (0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

size_t
distributor_pick(uint64_t key, const bool *usable, size_t n, size_t rf,
                 size_t *out)
{
    size_t chosen = 0;
    while (chosen < rf) {
        bool found = false;
        size_t best = 0;
        uint64_t best_w = 0;
        for (size_t i = 0; i < n; i++) {
            if (!usable[i]) {
                continue;
            }
            bool taken = false;
            for (size_t k = 0; k < chosen; k++) {
                taken = taken || out[k] == i;
            }
            uint64_t w = weight(key, i);
            if (!taken && (!found || w > best_w)) {
                found = true;
                best = i;
                best_w = w;
            }
        }
        if (!found) {
            break;
        }
        out[chosen++] = best;
    }
    return chosen;
}

/* One PushMetrics call to member `member` with the series and metadata
 * of req chosen by the index lists (all of them when NULL). */
static int
push_one(struct tr_ingester_pool *pool, size_t member, const char *tenant,
         const struct tr_prompb_request *req, const uint32_t *series,
         size_t nseries, const uint32_t *metadata, size_t nmetadata,
         int64_t deadline_ns, struct distributor_send_result *res,
         struct distributor_report *rep, struct tr_err *err)
{
    struct tr_buf payload = TR_BUF_INIT;
    int rc = tr_prompb_encode_push(req, tenant, strlen(tenant), series, nseries,
                                   metadata, nmetadata, &payload, err);
    if (rc != TR_OK) {
        return rc;
    }

    int64_t left_ms = (deadline_ns - tr_mono_ns()) / TR_NS_PER_MS;
    if (left_ms <= 0) {
        tr_buf_fini(&payload);
        return tr_err_set(err, TR_ETIMEOUT,
                          "cannot push to ingester: request deadline passed");
    }
    struct tr_buf reply = TR_BUF_INIT;
    struct tr_rpc_client *client = tr_ingester_pool_client(pool, member);
    rc = tr_rpc_client_call(client, "ingester.PushMetrics", payload.data,
                            payload.len, left_ms > INT32_MAX ? 0 : (int)left_ms,
                            &reply, err);
    tr_buf_fini(&payload);
    if (rc != TR_OK) {
        tr_buf_fini(&reply);
        return rc;
    }
    Trident__Ingester__PushMetricsResponse *presp =
        trident__ingester__push_metrics_response__unpack(
            NULL, reply.len, (const uint8_t *)reply.data);
    tr_buf_fini(&reply);
    if (presp == NULL) {
        return tr_err_set(err, TR_EIO,
                          "cannot decode ingester.PushMetrics reply from %s",
                          tr_rpc_client_endpoint(client));
    }
    res->samples_accepted += presp->samples_accepted;
    res->samples_rejected += presp->samples_rejected;
    res->samples_rejected_limit += presp->samples_rejected_limit;
    res->exemplars_accepted += presp->exemplars_accepted;
    for (size_t i = 0; i < presp->n_errors; i++) {
        distributor_report_error(rep, "%s", presp->errors[i]);
    }
    /* More rejections than messages: keep the count of errors right. */
    if ((int64_t)presp->n_errors < presp->samples_rejected) {
        rep->nerrors +=
            (size_t)(presp->samples_rejected - (int64_t)presp->n_errors);
    }
    trident__ingester__push_metrics_response__free_unpacked(presp, NULL);
    return TR_OK;
}

int
distributor_send(struct tr_ingester_pool *pool, const char *tenant,
                 const struct tr_prompb_request *req, int64_t deadline_ns,
                 struct tr_arena *arena, struct distributor_send_result *res,
                 struct distributor_report *rep, struct tr_err *err)
{
    size_t members = tr_ingester_pool_size(pool);
    if (req->nseries == 0 && req->nmetadata == 0) {
        return TR_OK;
    }
    if (members == 1) {
        /* The common single-node case: no hashing at all. */
        return push_one(pool, 0, tenant, req, NULL, req->nseries, NULL,
                        req->nmetadata, deadline_ns, res, rep, err);
    }

    bool *usable = tr_arena_calloc(arena, members, sizeof(bool));
    size_t *count = tr_arena_calloc(arena, members, sizeof(size_t));
    size_t *mcount = tr_arena_calloc(arena, members, sizeof(size_t));
    size_t *owner = tr_arena_calloc(arena, req->nseries + 1, sizeof(size_t));
    size_t *mowner = tr_arena_calloc(arena, req->nmetadata + 1, sizeof(size_t));
    if (usable == NULL || count == NULL || mcount == NULL || owner == NULL ||
        mowner == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    bool any = false;
    for (size_t i = 0; i < members; i++) {
        usable[i] = tr_ingester_pool_state(pool, i) != TR_MEMBER_UNHEALTHY;
        any = any || usable[i];
    }
    if (!any) {
        return tr_err_set(err, TR_EUNAVAIL,
                          "cannot push to ingesters: none of the %zu is "
                          "healthy",
                          members);
    }
    for (size_t i = 0; i < req->nseries; i++) {
        const struct tr_prompb_series *ts = &req->series[i];
        uint64_t key = distributor_routing_key(tenant, &req->labels[ts->labels],
                                               ts->nlabels);
        size_t pick[REPLICATION_FACTOR];
        distributor_pick(key, usable, members, REPLICATION_FACTOR, pick);
        owner[i] = pick[0];
        count[pick[0]]++;
    }
    /* Metadata by family name, so each family lives on one ingester. */
    uint64_t seed = XXH3_64bits(tenant, strlen(tenant));
    for (size_t i = 0; i < req->nmetadata; i++) {
        const struct tr_prompb_metadata *md = &req->metadata[i];
        uint64_t key = XXH3_64bits_withSeed(md->family, md->family_len, seed);
        size_t pick[REPLICATION_FACTOR];
        distributor_pick(key, usable, members, REPLICATION_FACTOR, pick);
        mowner[i] = pick[0];
        mcount[pick[0]]++;
    }

    int rc = TR_OK;
    for (size_t m = 0; m < members && rc == TR_OK; m++) {
        if (count[m] == 0 && mcount[m] == 0) {
            continue;
        }
        uint32_t *series =
            tr_arena_alloc(arena, (count[m] + 1) * sizeof(*series));
        uint32_t *meta = tr_arena_alloc(arena, (mcount[m] + 1) * sizeof(*meta));
        if (series == NULL || meta == NULL) {
            return tr_err_set(err, TR_ENOMEM, "out of memory");
        }
        size_t ns = 0, nm = 0;
        for (size_t i = 0; i < req->nseries; i++) {
            if (owner[i] == m) {
                series[ns++] = (uint32_t)i;
            }
        }
        for (size_t i = 0; i < req->nmetadata; i++) {
            if (mowner[i] == m) {
                meta[nm++] = (uint32_t)i;
            }
        }
        rc = push_one(pool, m, tenant, req, series, ns, meta, nm, deadline_ns,
                      res, rep, err);
    }
    return rc;
}
