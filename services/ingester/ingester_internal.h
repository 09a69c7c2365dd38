/*
 * The ingester's state shared by its files: the WAL, the tenants (each
 * with a metrics head, metadata and an exemplar ring), and the sequencer
 * that applies WAL records to the heads in WAL order.
 *
 * Why a sequencer: acceptance of a sample depends on the head's state (out
 * of order, duplicate, series limit). Replay applies records in WAL order,
 * so live pushes must too, or a restart could accept or refuse differently
 * than the live process did. Pushes append to the WAL concurrently (group
 * commit: one fsync for many pushes), then each waits for its position's
 * turn and applies its record; applying is fast next to an fsync.
 */
#ifndef TR_SVC_INGESTER_INTERNAL_H
#define TR_SVC_INGESTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trident/ingester.pb-c.h"

struct tr_app;
struct tr_counter;
struct tr_counter_vec;
struct tr_err;
struct tr_gauge;
struct tr_gauge_vec;
struct tr_head;
struct tr_kv_log;
struct tr_labels;
struct tr_objstore;
struct tr_rpc_call;
struct tr_rpc_request;
struct tr_rpc_server;
struct tr_series;

#define INGESTER_TENANT_MAX 150

/* Latest metadata of one metric family. */
struct ingester_metadata {
    char *family;
    int type;
    char *help;
    char *unit;
};

/* One stored exemplar; series stays valid while the head lives. */
struct ingester_exemplar {
    struct tr_series *series;
    struct tr_labels *labels;
    double value;
    int64_t t;
};

struct ingester_tenant {
    char id[INGESTER_TENANT_MAX + 1];
    struct tr_head *head;
    atomic_int_fast64_t series; /* created in the head */

    pthread_mutex_t lock;           /* guards metadata and exemplars */
    struct ingester_metadata *meta; /* sorted by family */
    size_t nmeta;
    size_t capmeta;
    struct ingester_exemplar *ex; /* ring of cap_ex entries */
    size_t cap_ex;
    size_t ex_start; /* oldest */
    size_t ex_len;

    /* Self-metrics children of this tenant. */
    struct tr_counter *appended;
    struct tr_counter *exemplars_appended;
    struct tr_gauge *memory_series;
};

struct ingester {
    char instance_id[128];
    int64_t started_at_ms;
    struct tr_kv_log *wal;
    struct tr_objstore *store;     /* NULL without the storage module */
    int64_t max_series_per_tenant; /* 0: no limit */
    int64_t max_exemplars_per_tenant;

    pthread_rwlock_t tenants_lock;
    struct ingester_tenant **tenants; /* sorted by id */
    size_t ntenants;
    size_t captenants;

    /* Sequencer: the WAL position whose record is applied next. */
    pthread_mutex_t seq_lock;
    pthread_cond_t seq_cond;
    uint64_t apply_next;
    bool wal_broken; /* an append failed: RocksDB refuses more writes */

    atomic_bool ready;    /* WAL replayed */
    atomic_bool stopping; /* module stopping: replay gives up */
    bool replay_started;
    pthread_t replay_thread;
    char replay_error[512]; /* why the replay failed (stays not ready) */

    /* Self-metrics. */
    struct tr_counter_vec *appended_samples;   /* {tenant} */
    struct tr_counter_vec *appended_exemplars; /* {tenant} */
    struct tr_counter_vec *discarded;          /* {tenant, reason} */
    struct tr_gauge_vec *memory_series;        /* {tenant} */
    struct tr_counter *wal_records;
    struct tr_counter *wal_bytes;
    struct tr_gauge *wal_replay_seconds;
    struct tr_counter *wal_replayed_records;
};

/* ---- tenants.c ---------------------------------------------------------- */

/* The tenant called id, or NULL (reads: no data yet). */
struct ingester_tenant *ingester_tenant_find(struct ingester *ing,
                                             const char *id);
/* The tenant called id, created with an empty head on first use; NULL
 * with err set on ENOMEM or an id that is too long. */
struct ingester_tenant *ingester_tenant_get(struct ingester *ing,
                                            const char *id, struct tr_err *err);
/* Frees every tenant. */
void ingester_tenants_destroy(struct ingester *ing);
/* Series in every head. */
int64_t ingester_series_total(struct ingester *ing);

/* Stores m as the latest metadata of its family. TR_OK or TR_ENOMEM. */
int ingester_tenant_put_metadata(struct ingester_tenant *t,
                                 const Prometheus__MetricMetadata *m);
/* Adds an exemplar of series s to the ring (dropping the oldest when
 * full; nothing when the ring has no room at all). ex's labels copied. */
int ingester_tenant_put_exemplar(struct ingester_tenant *t, struct tr_series *s,
                                 const Prometheus__Exemplar *ex);

/* ---- push.c ---------------------------------------------------------------
 */

/* What applying one push did. */
struct ingester_apply_result {
    int64_t accepted;
    int64_t rejected;
    int64_t rejected_limit;
    int64_t exemplars;
    size_t nerrors;
    char *errors[8]; /* first messages (tr_malloc'd) */
};

void ingester_apply_result_fini(struct ingester_apply_result *r);

/* The WAL record of a push: a format byte, the per-tenant series limit in
 * force (so replay decides exactly as the live push did), then the
 * PushMetricsRequest bytes. */
#define INGESTER_WAL_PUSH_V1 0x01

/*
 * Applies a decoded push (req) to its tenant with the given series limit.
 * Deterministic: the outcome depends only on the tenant's state and the
 * arguments. Used by live pushes (in WAL order) and by replay.
 */
int ingester_apply_push(struct ingester *ing,
                        const Trident__Ingester__PushMetricsRequest *req,
                        int64_t max_series, struct ingester_apply_result *out,
                        struct tr_err *err);

/* The ingester.PushMetrics handler (arg: struct ingester *). */
void ingester_handle_push(struct tr_rpc_call *call,
                          const struct tr_rpc_request *req, void *arg);

/* ---- wal_replay.c ---------------------------------------------------------
 */

/* Starts replaying the WAL in a background thread; ready turns true when
 * done. TR_OK or TR_ENOMEM/TR_EIO (thread). */
int ingester_replay_start(struct ingester *ing, struct tr_err *err);
/* Waits for the replay thread (asking it to stop first). */
void ingester_replay_join(struct ingester *ing);

/* ---- read.c ---------------------------------------------------------------
 */

/* Registers ingester.SelectMetrics, LabelNames, LabelValues, Metadata and
 * Exemplars on s. */
int ingester_read_register(struct ingester *ing, struct tr_rpc_server *s,
                           struct tr_err *err);

#endif
