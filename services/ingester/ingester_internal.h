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
 *
 * Blocks (blocks.c): every cut_interval each tenant's head is cut into
 * blocks of block_duration (aligned ranges [k*d, (k+1)*d)) once it holds
 * more than 1.5*d of data. A cut of [lo, hi) for tenant T:
 *   1. appends a min-valid marker record (T, hi) to the WAL; applied
 *      through the sequencer like a push, it sets T's head min valid time
 *      to hi, so from that WAL position on samples below hi are refused
 *      (live and on replay alike) and the head holds every sample below
 *      hi that will ever be accepted;
 *   2. builds the block from the head and uploads it;
 *   3. persists hi as T's "in blocks below" time in the WAL's meta store
 *      (replay starts every tenant's head at it, dropping samples that
 *      are in blocks);
 *   4. truncates the head below hi (chunks, then empty series) once
 *      retain_cut_data has passed, so queriers that list blocks
 *      periodically find the samples in the head or in the block.
 * If the upload fails, the head keeps the data (its min valid time is
 * already hi) and the next round retries [lo, hi). WAL truncation: each
 * applied record is remembered (position, tenant, max sample time; a
 * marker counts as hi - 1); after a round the longest prefix of records
 * whose time is below their tenant's persisted time is deleted.
 */
#ifndef TR_SVC_INGESTER_INTERNAL_H
#define TR_SVC_INGESTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prompb/prompb.h"
#include "tsdb/block.h"
#include "trident/ingester.pb-c.h"

struct tr_app;
struct tr_counter;
struct tr_counter_vec;
struct tr_err;
struct tr_gauge;
struct tr_gauge_vec;
struct tr_head;
struct tr_http_server;
struct tr_kv_log;
struct tr_labels;
struct tr_objstore;
struct tr_rpc_call;
struct tr_rpc_request;
struct tr_rpc_server;
struct tr_series;

#define INGESTER_TENANT_MAX 150
/* Cuts whose head truncation may wait at once; beyond, the oldest goes
 * early. */
#define INGESTER_PENDING_TRUNCATIONS 16

/* Latest metadata of one metric family. */
struct ingester_metadata {
    char *family;
    int type;
    char *help;
    char *unit;
};

/* One stored exemplar with a copy of its series' labels (series may be
 * garbage collected from the head). */
struct ingester_exemplar {
    struct tr_labels *series;
    struct tr_labels *labels;
    double value;
    int64_t t;
};

/* A block uploaded from a tenant's head: its id and range [mint, maxt). */
struct ingester_upload {
    char id[TR_BLOCK_ID_LEN + 1];
    int64_t mint;
    int64_t maxt;
};

struct ingester_tenant {
    char id[INGESTER_TENANT_MAX + 1];
    struct tr_head *head;
    /* Samples below this time are in object storage (persisted in the WAL
     * meta store); INT64_MIN before the first cut. */
    _Atomic int64_t in_blocks_below;
    _Atomic int64_t last_append_ns; /* monotonic; idle flush */
    /* Head truncations waiting for retain_cut_data, oldest first
     * (cut_lock guards). */
    struct {
        int64_t below;
        int64_t at_ns; /* monotonic */
    } truncations[INGESTER_PENDING_TRUNCATIONS];
    size_t ntruncations;
    /* Blocks this process uploaded whose samples the head still holds,
     * oldest first (lock guards): a querier that reads them does not need
     * those samples again (ingester_uploaded_cover). */
    struct ingester_upload *uploaded;
    size_t nuploaded;
    size_t capuploaded;

    pthread_mutex_t lock; /* guards metadata, exemplars and uploaded */
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
    struct tr_counter *blocks_cut;
    struct tr_gauge *min_valid_time;
};

/* One applied WAL record, for WAL truncation. */
struct ingester_wal_rec {
    uint64_t pos;
    struct ingester_tenant *tenant; /* NULL: no data (skipped record) */
    int64_t max_t;                  /* highest sample time; INT64_MIN: none */
};

struct ingester {
    char instance_id[128];
    int64_t started_at_ms;
    struct tr_kv_log *wal;
    struct tr_objstore *store;     /* NULL without the storage module */
    int64_t max_series_per_tenant; /* 0: no limit */
    int64_t max_exemplars_per_tenant;
    int64_t block_ms;        /* ingester.block_duration */
    int64_t cut_interval_ns; /* ingester.cut_interval */
    int64_t retain_ns;       /* ingester.retain_cut_data */
    int64_t idle_flush_ns;   /* ingester.flush_idle_timeout; 0: off */
    bool flush_on_shutdown;

    pthread_rwlock_t tenants_lock;
    struct ingester_tenant **tenants; /* sorted by id */
    size_t ntenants;
    size_t captenants;

    /* Sequencer: the WAL position whose record is applied next. */
    pthread_mutex_t seq_lock;
    pthread_cond_t seq_cond;
    uint64_t apply_next;
    bool wal_broken; /* an append failed: RocksDB refuses more writes */
    /* Applied records not yet truncated, oldest first (a ring); guarded
     * by seq_lock (the replay fills it before pushes start). */
    struct ingester_wal_rec *recs;
    size_t recs_cap;
    size_t recs_start;
    size_t recs_len;
    bool recs_lost; /* out of memory once: never truncate the WAL again */

    /* Cutting (blocks.c): one cut at a time (cutter thread, /flush). */
    pthread_mutex_t cut_lock;
    pthread_mutex_t cutter_lock; /* guards cutter_stop with cutter_cond */
    pthread_cond_t cutter_cond;
    bool cutter_stop;
    bool cutter_started;
    pthread_t cutter_thread;

    atomic_bool ready;     /* WAL replayed */
    atomic_bool stopping;  /* module stopping: replay gives up */
    atomic_bool shut_down; /* /ingester/shutdown: refuse everything */
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
    struct tr_counter_vec *blocks_cut;   /* {tenant} */
    struct tr_gauge_vec *min_valid_time; /* {tenant} */
    struct tr_counter *upload_failures;
    struct tr_counter *selects_narrowed;
    struct tr_counter *wal_truncations;
    struct tr_gauge *wal_first_position;
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
/* Series in t's head (also sets its memory_series gauge). */
int64_t ingester_tenant_series(struct ingester_tenant *t);
/* Snapshot of the tenants (they live as long as the ingester): a
 * tr_malloc'd array the caller frees, or NULL with *n = 0. */
struct ingester_tenant **ingester_tenants_list(struct ingester *ing, size_t *n);

/* Stores m as the latest metadata of its family. TR_OK or TR_ENOMEM. */
int ingester_tenant_put_metadata(struct ingester_tenant *t,
                                 const struct tr_prompb_metadata *m);
/* Adds an exemplar of the series with labels series to the ring (dropping
 * the oldest when full; nothing when the ring has no room at all). Both
 * label sets are copied. */
int ingester_tenant_put_exemplar(struct ingester_tenant *t,
                                 const struct tr_labels *series,
                                 const struct tr_label *labels, size_t nlabels,
                                 double value, int64_t timestamp);

/* ---- push.c ---------------------------------------------------------------
 */

/* What applying one push did. */
struct ingester_apply_result {
    int64_t accepted;
    int64_t rejected;
    int64_t rejected_limit;
    int64_t exemplars;
    size_t nerrors;
    char *errors[8];                /* first messages (tr_malloc'd) */
    struct ingester_tenant *tenant; /* the push's tenant once applied */
};

void ingester_apply_result_fini(struct ingester_apply_result *r);

/* The WAL record of a push: a format byte, the per-tenant series limit in
 * force (so replay decides exactly as the live push did), then the
 * PushMetricsRequest bytes. */
#define INGESTER_WAL_PUSH_V1 0x01

/*
 * Applies a push decoded by lib/prompb (req, with a tenant) to its tenant
 * with the given series limit.
 * Deterministic: the outcome depends only on the tenant's state and the
 * arguments. Used by live pushes (in WAL order) and by replay.
 */
int ingester_apply_push(struct ingester *ing,
                        const struct tr_prompb_request *req, int64_t max_series,
                        struct ingester_apply_result *out, struct tr_err *err);

/* The min-valid marker record: format byte, the time (8 bytes, big
 * endian, two's complement), then the tenant id. */
#define INGESTER_WAL_MIN_VALID_V1 0x02

/* Highest sample timestamp of a push; INT64_MIN when it has none. */
int64_t ingester_push_max_time(const struct tr_prompb_request *r);

/* Applies a min-valid marker: raises tenant's head min valid time to t. */
int ingester_apply_min_valid(struct ingester *ing, const char *tenant,
                             int64_t t, struct ingester_tenant **out,
                             struct tr_err *err);

/* Remembers an applied record for WAL truncation (seq_lock held, or the
 * replay before pushes start). */
void ingester_track_record(struct ingester *ing, uint64_t pos,
                           struct ingester_tenant *t, int64_t max_t);

/*
 * Appends a min-valid marker for tenant t at time hi to the WAL and
 * applies it in WAL order (through the sequencer). TR_OK, or the WAL's
 * error (TR_EUNAVAIL when an earlier append failed).
 */
int ingester_write_min_valid(struct ingester *ing, struct ingester_tenant *t,
                             int64_t hi, struct tr_err *err);

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

/* ---- blocks.c -------------------------------------------------------------
 */

/* Meta-store key of the tenants' in-blocks-below times. */
#define INGESTER_META_IN_BLOCKS "ingester.in_blocks_below"

/* Loads the persisted in-blocks-below times into the tenants (creating
 * them) and their heads' min valid times. Before the replay. */
int ingester_blocks_load(struct ingester *ing, struct tr_err *err);
/* Starts the cutter thread (after the replay, from the replay thread). */
int ingester_cutter_start(struct ingester *ing, struct tr_err *err);
/* Stops and joins the cutter thread. */
void ingester_cutter_stop(struct ingester *ing);
/*
 * Cuts every tenant's head: everything (flush) or the complete ranges
 * due. Then truncates the WAL. TR_OK, or the first error (others go on).
 */
int ingester_cut_all(struct ingester *ing, bool flush, struct tr_err *err);
/*
 * For a select from mint by a querier that reads the blocks named in
 * known (n ids): the time below which every head sample of t is in one of
 * those blocks, so the answer may leave it out. That is the end of the
 * longest run of t's remembered uploads, from the first one ending after
 * mint, that the querier named, provided the run starts at or before mint
 * or the head's oldest sample (older head samples may be in blocks of an
 * earlier process that the ingester cannot vouch for). INT64_MIN when
 * nothing may be left out.
 */
int64_t ingester_uploaded_cover(struct ingester_tenant *t, int64_t mint,
                                char *const *known, size_t n);
/* Registers /flush, /ingester/flush and /ingester/shutdown. */
int ingester_blocks_register(struct ingester *ing, struct tr_http_server *http,
                             struct tr_err *err);

/* ---- read.c ---------------------------------------------------------------
 */

/* Registers ingester.SelectMetrics, LabelNames, LabelValues, Metadata and
 * Exemplars on s. */
int ingester_read_register(struct ingester *ing, struct tr_rpc_server *s,
                           struct tr_err *err);

#endif
