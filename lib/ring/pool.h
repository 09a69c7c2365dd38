/*
 * A pool of RPC clients to the ingesters, with health checking.
 *
 * Membership is static for now: the endpoints come from
 * ingester_client.addresses (or the in-process ingester). A background
 * thread calls ingester.Status on each member every check interval and
 * marks it ACTIVE or UNHEALTHY, so writers can skip members that are down
 * and /ring can show the state. The gossip ring will later feed the same
 * pool with members it discovers.
 *
 * Thread-safe: any thread may call members while the checker runs.
 */
#ifndef TR_RING_POOL_H
#define TR_RING_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct tr_buf;
struct tr_err;
struct tr_rpc_client;

enum tr_member_state {
    TR_MEMBER_JOINING = 0, /* not checked yet */
    TR_MEMBER_ACTIVE,
    TR_MEMBER_UNHEALTHY,
};

struct tr_ingester_pool_opts {
    const char *client_name;   /* sent in the RPC hello, e.g. "distributor" */
    int64_t check_interval_ns; /* 0: 5 s */
    int call_timeout_ms;       /* 0: 5000 */
};

/* A snapshot of one member, for status pages. */
struct tr_member_info {
    char endpoint[128];
    char instance_id[128];
    enum tr_member_state state;
    int64_t last_ok_ms;    /* wall clock of the last successful check, 0 */
    char last_error[TR_ERR_MSG_MAX]; /* empty when healthy */
    int64_t series;
};

struct tr_ingester_pool;

/*
 * Creates a pool over endpoints (borrowed; copied) and starts its checker.
 * Returns NULL with err set for a malformed endpoint.
 */
struct tr_ingester_pool *
tr_ingester_pool_create(const char *const *endpoints, size_t count,
                        const struct tr_ingester_pool_opts *opts,
                        struct tr_err *err);
/* Stops the checker and closes the clients. NULL is allowed. */
void tr_ingester_pool_destroy(struct tr_ingester_pool *pool);

size_t tr_ingester_pool_size(const struct tr_ingester_pool *pool);
/* The client of member i (borrowed; valid until destroy). */
struct tr_rpc_client *tr_ingester_pool_client(struct tr_ingester_pool *pool,
                                              size_t i);
enum tr_member_state tr_ingester_pool_state(struct tr_ingester_pool *pool,
                                            size_t i);
/* Fills *out with a snapshot of member i. */
void tr_ingester_pool_info(struct tr_ingester_pool *pool, size_t i,
                           struct tr_member_info *out);
/* Runs one round of checks now, in the caller's thread (tests, startup). */
void tr_ingester_pool_check_now(struct tr_ingester_pool *pool);

const char *tr_member_state_name(enum tr_member_state state);

#endif
