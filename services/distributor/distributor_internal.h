/*
 * Pieces of the distributor shared between its files and its unit tests:
 * validation of write requests against the limits, the
 * per-tenant rate limiter and the path that sends series to ingesters.
 */
#ifndef TR_SVC_DISTRIBUTOR_INTERNAL_H
#define TR_SVC_DISTRIBUTOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "prompb/prompb.h"

struct tr_arena;
struct tr_err;
struct tr_ingester_pool;

/* ---- validation (validate.c) ------------------------------------------- */

struct distributor_limits {
    int64_t max_label_names;  /* per series, __name__ included; 0: off */
    int64_t max_name_len;     /* bytes; 0: off */
    int64_t max_value_len;    /* bytes; 0: off */
    int64_t max_metadata_len; /* bytes; 0: off */
    int64_t grace_ms;         /* how far in the future samples may be */
    int64_t max_age_ms;       /* older samples are refused; 0: off */
};

/* Why data was discarded: the reason label of tr_discarded_samples_total. */
enum distributor_reason {
    REASON_MISSING_METRIC_NAME,
    REASON_INVALID_METRIC_NAME,
    REASON_INVALID_LABEL,
    REASON_INVALID_LABEL_VALUE,
    REASON_LABEL_NAME_TOO_LONG,
    REASON_LABEL_VALUE_TOO_LONG,
    REASON_MAX_LABEL_NAMES,
    REASON_DUPLICATE_LABEL_NAMES,
    REASON_TOO_OLD,
    REASON_TOO_FAR_IN_FUTURE,
    REASON_NATIVE_HISTOGRAM,
    REASON_RATE_LIMITED,
    REASON_COUNT,
};

/* "missing_metric_name", ... (stable metric label values). */
const char *distributor_reason_name(enum distributor_reason r);

/* First error messages kept for a response body. */
#define DISTRIBUTOR_MAX_ERRORS 10

/* What validation found; zero it before the first use. */
struct distributor_report {
    int64_t samples_in; /* float samples in the request */
    int64_t samples_ok; /* float samples left after validation */
    int64_t exemplars_ok;
    int64_t exemplars_dropped;
    int64_t metadata_ok;
    int64_t metadata_dropped;
    int64_t discarded[REASON_COUNT]; /* samples (histograms included) */
    size_t nerrors;                  /* all errors, also those not kept */
    struct tr_buf errors;            /* first ones, one per line */
};

/* Frees the error text. */
void distributor_report_fini(struct distributor_report *r);

/* Adds a printf message to the report's errors (keeps the first few). */
void distributor_report_error(struct distributor_report *r, const char *fmt,
                              ...) __attribute__((format(printf, 2, 3)));

/* Total samples discarded for any reason. */
int64_t distributor_report_discarded(const struct distributor_report *r);

/*
 * Validates req (decoded by lib/prompb) in place against lim at wall
 * clock now_ms: drops labels with empty values, sorts labels by name,
 * drops whole series whose labels break a rule, drops samples that are
 * too old or too far in the future, drops native histograms (not stored
 * yet), invalid exemplars and invalid metadata, and removes series with
 * nothing left. Each rejection is counted in *rep with a message. Only
 * slices shrink and arrays compact; nothing is allocated in req and its
 * strings still point into the decoded input. Never fails.
 */
void distributor_validate(struct tr_prompb_request *req,
                          const struct distributor_limits *lim, int64_t now_ms,
                          struct distributor_report *rep);

/* True when s matches [a-zA-Z_][a-zA-Z0-9_]* (label names). */
bool distributor_valid_label_name(const char *s, size_t len);
/* True when s matches [a-zA-Z_:][a-zA-Z0-9_:]* (metric names). */
bool distributor_valid_metric_name(const char *s, size_t len);

/* ---- rate limiting (ratelimit.c) ---------------------------------------- */

struct distributor_ratelimit;

/*
 * Token buckets per tenant: rate samples/s, at most burst samples banked.
 * rate 0 disables limiting. NULL on ENOMEM.
 */
struct distributor_ratelimit *distributor_ratelimit_create(int64_t rate,
                                                           int64_t burst);
void distributor_ratelimit_destroy(struct distributor_ratelimit *rl);

/*
 * Takes n samples from tenant's bucket at monotonic time now_ns. True when
 * allowed (tokens taken), false when the tenant is over its limit (nothing
 * taken). A request larger than the burst is never allowed. Thread-safe.
 */
bool distributor_ratelimit_allow(struct distributor_ratelimit *rl,
                                 const char *tenant, int64_t n, int64_t now_ns);

/* ---- sending to ingesters (send.c) ------------------------------------- */

/* What the ingesters said about one write. */
struct distributor_send_result {
    int64_t samples_accepted;
    int64_t samples_rejected;       /* by the heads (400 or, below, 429) */
    int64_t samples_rejected_limit; /* of those: per-tenant series limit */
    int64_t exemplars_accepted;
};

/*
 * The routing key of a series: the XXH3 hash of its canonical label
 * encoding (lib/tsdb/labels.h) seeded with a hash of the tenant, so that
 * equal series of different tenants spread independently. labels must be
 * sorted by name without empty values (as after validation).
 */
uint64_t distributor_routing_key(const char *tenant,
                                 const struct tr_label *labels, size_t n);

/*
 * Rendezvous (highest random weight) choice: fills out[] with up to rf
 * member indexes out of n, highest weight for key first, skipping members
 * usable[i] == false. Returns how many were chosen.
 */
size_t distributor_pick(uint64_t key, const bool *usable, size_t n, size_t rf,
                        size_t *out);

/*
 * Sends req's series (validated) of tenant to the ingesters of pool,
 * grouping them by routing key, each group encoded as one
 * trident.ingester.PushMetricsRequest by lib/prompb. The replication factor is
 * 1 for now: each series goes to one healthy ingester (the design takes rf and
 * a quorum so that RF=3 plugs in). Adds the ingesters' answers to *res and
 * their first error messages to *rep. Errors: TR_EUNAVAIL when no ingester can
 * be reached (503), TR_ETIMEOUT (504), or the code an ingester failed with.
 * deadline_ns bounds the calls (tr_mono_ns clock).
 */
int distributor_send(struct tr_ingester_pool *pool, const char *tenant,
                     const struct tr_prompb_request *req, int64_t deadline_ns,
                     struct tr_arena *arena,
                     struct distributor_send_result *res,
                     struct distributor_report *rep, struct tr_err *err);

/* ---- the module (distributor.c) and push handlers (push.c) ------------- */

struct tr_counter_vec;
struct tr_http_server;
struct distributor_ratelimit;

struct distributor {
    struct tr_ingester_pool *ingesters;
    struct distributor_ratelimit *ratelimit;
    struct distributor_limits limits;
    int64_t ingestion_rate;  /* for messages */
    int64_t ingestion_burst; /* for messages */
    bool auth_enabled;
    const char *no_auth_tenant;                /* borrowed from the config */
    int64_t timeout_ns;                        /* per push, all ingesters */
    struct tr_counter_vec *received_samples;   /* {tenant} */
    struct tr_counter_vec *received_exemplars; /* {tenant} */
    struct tr_counter_vec *received_metadata;  /* {tenant} */
    struct tr_counter_vec *discarded_samples;  /* {tenant, reason} */
    struct tr_counter_vec *requests;           /* {protocol, status} */
};

/*
 * Registers the metrics write endpoints: remote write on the main port,
 * OTLP on the main port and (when not NULL) on the OTLP/HTTP port.
 */
int distributor_push_routes(struct distributor *d, struct tr_http_server *http,
                            struct tr_http_server *otlp_http,
                            struct tr_err *err);

/* Registers d's self-metrics in the default registry. */
int distributor_push_metrics_init(struct distributor *d, struct tr_err *err);

#endif
