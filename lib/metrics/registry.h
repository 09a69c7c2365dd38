/*
 * Self-monitoring metrics: counters, gauges and histograms exposed in the
 * Prometheus text exposition format 0.0.4.
 *
 * A metric family is registered once, beside the code that updates it,
 * usually into the process-wide registry from tr_metrics_default(); tests
 * make their own registries. A family may have label names (a "vec"); its
 * children (one per combination of label values) are looked up with
 * tr_<kind>_vec_get() and then updated lock-free with atomics, so hot paths
 * look a child up once and keep the pointer. Families without labels have
 * exactly one child, returned by the register call itself.
 *
 *   static struct tr_counter_vec *pushes;
 *   pushes = tr_counter_vec_register(tr_metrics_default(),
 *       "tr_push_requests_total", "Push requests by outcome.",
 *       (const char *[]){"outcome"}, 1, &err);
 *   struct tr_counter *ok = tr_counter_vec_get(pushes, (const char *[]){"ok"});
 *   tr_counter_inc(ok);
 *
 * Registering a name that already exists returns the existing family when
 * the kind and the label names match (and, for histograms, the buckets),
 * so two modules (or two servers) may register the same metric; otherwise
 * it fails. Children and families live as long as their registry: pointers
 * stay valid until tr_metrics_registry_destroy(), which only tests call.
 *
 * Everything here is thread-safe. Registration and child creation take a
 * lock; updates of a child never do.
 */
#ifndef TR_METRICS_REGISTRY_H
#define TR_METRICS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;

/* Content-Type of tr_metrics_expose() output. */
#define TR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Most histogram buckets a family may have (excluding +Inf). */
#define TR_METRICS_MAX_BUCKETS 64

struct tr_metrics_registry;

/* Opaque children: one series each. */
struct tr_counter;
struct tr_gauge;
struct tr_histogram;
/* Opaque families with label names. */
struct tr_counter_vec;
struct tr_gauge_vec;
struct tr_histogram_vec;

/* Value callback for metrics computed at scrape time. */
typedef double (*tr_metrics_value_fn)(void *arg);

/*
 * Default histogram buckets for request durations in seconds:
 * .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (the Prometheus client default).
 */
extern const double tr_metrics_duration_buckets[];
extern const size_t tr_metrics_duration_buckets_len;

/* ---- registries ------------------------------------------------------- */

/* An empty registry, for tests or a separate endpoint. NULL on ENOMEM. */
struct tr_metrics_registry *tr_metrics_registry_create(void);

/*
 * Frees the registry, its families and children: every pointer obtained
 * from it becomes invalid. NULL is allowed. Do not call while other
 * threads may still update or scrape it.
 */
void tr_metrics_registry_destroy(struct tr_metrics_registry *r);

/*
 * The process-wide registry, created on first use with the process
 * metrics (tr_metrics_register_process) already in it. Never destroyed.
 * Aborts if it cannot be allocated at all.
 */
struct tr_metrics_registry *tr_metrics_default(void);

/*
 * Registers the standard process metrics, computed at scrape time from
 * /proc/self and getrusage: process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds, plus
 * tr_mem_bytes (heap bytes in use through tr_malloc). Idempotent.
 * TR_OK or TR_ENOMEM.
 */
int tr_metrics_register_process(struct tr_metrics_registry *r,
                                struct tr_err *err);

/*
 * Appends the whole registry in text format 0.0.4 to out: families sorted
 * by name, each with # HELP and # TYPE lines, children sorted by label
 * values, label values escaped (\\, \", \n). Histograms write cumulative
 * _bucket{le="..."} lines ending with le="+Inf", then _sum and _count.
 * Families with labels but no children yet are left out. Value callbacks
 * run here, under the registry lock: they must not register metrics.
 * TR_OK or TR_ENOMEM.
 */
int tr_metrics_expose(struct tr_metrics_registry *r, struct tr_buf *out);

/* ---- registration ----------------------------------------------------- */

/*
 * Each register call validates the name ([a-zA-Z_:][a-zA-Z0-9_:]*) and the
 * label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", no
 * duplicates, and no "le" for histograms), copies name, help and label
 * names, and returns the family (vec) or its only child. On a name clash
 * with a different kind, label names or buckets, on a bad name, or on
 * ENOMEM it returns NULL with err set ("cannot register metric <name>:
 * <cause>"). help may be NULL (then no # HELP line is written).
 * label_names is an array of nlabels strings, borrowed.
 */
struct tr_counter *tr_counter_register(struct tr_metrics_registry *r,
                                       const char *name, const char *help,
                                       struct tr_err *err);
struct tr_counter_vec *
tr_counter_vec_register(struct tr_metrics_registry *r, const char *name,
                        const char *help, const char *const *label_names,
                        size_t nlabels, struct tr_err *err);

struct tr_gauge *tr_gauge_register(struct tr_metrics_registry *r,
                                   const char *name, const char *help,
                                   struct tr_err *err);
struct tr_gauge_vec *tr_gauge_vec_register(struct tr_metrics_registry *r,
                                           const char *name, const char *help,
                                           const char *const *label_names,
                                           size_t nlabels, struct tr_err *err);

/*
 * buckets: nbuckets finite upper bounds in increasing order (borrowed; a
 * trailing +Inf is accepted and dropped). NULL picks
 * tr_metrics_duration_buckets. At most TR_METRICS_MAX_BUCKETS.
 */
struct tr_histogram *tr_histogram_register(struct tr_metrics_registry *r,
                                           const char *name, const char *help,
                                           const double *buckets,
                                           size_t nbuckets, struct tr_err *err);
struct tr_histogram_vec *
tr_histogram_vec_register(struct tr_metrics_registry *r, const char *name,
                          const char *help, const double *buckets,
                          size_t nbuckets, const char *const *label_names,
                          size_t nlabels, struct tr_err *err);

/*
 * A counter or gauge whose value fn(arg) computes at scrape time (no
 * labels). Registering the same name and kind again keeps the first
 * callback and returns TR_OK. TR_EINVAL on a bad name or clash,
 * TR_ENOMEM.
 */
int tr_counter_func_register(struct tr_metrics_registry *r, const char *name,
                             const char *help, tr_metrics_value_fn fn,
                             void *arg, struct tr_err *err);
int tr_gauge_func_register(struct tr_metrics_registry *r, const char *name,
                           const char *help, tr_metrics_value_fn fn, void *arg,
                           struct tr_err *err);

/* ---- children of vecs ------------------------------------------------- */

/*
 * The child for these label values (an array of as many strings as the
 * family has label names, borrowed and copied; NULL entries mean ""),
 * created at zero on first use. NULL only on ENOMEM. Cache the result on
 * hot paths: the lookup takes a read lock and hashes the values.
 */
struct tr_counter *tr_counter_vec_get(struct tr_counter_vec *v,
                                      const char *const *values);
struct tr_gauge *tr_gauge_vec_get(struct tr_gauge_vec *v,
                                  const char *const *values);
struct tr_histogram *tr_histogram_vec_get(struct tr_histogram_vec *v,
                                          const char *const *values);

/* ---- updates (lock-free; a NULL child is ignored) ---------------------- */

void tr_counter_inc(struct tr_counter *c);
void tr_counter_add_u64(struct tr_counter *c, uint64_t n);
/* Negative or NaN v is ignored: counters only go up. */
void tr_counter_add(struct tr_counter *c, double v);
double tr_counter_value(const struct tr_counter *c);

void tr_gauge_set(struct tr_gauge *g, double v);
void tr_gauge_add(struct tr_gauge *g, double v);
void tr_gauge_inc(struct tr_gauge *g);
void tr_gauge_dec(struct tr_gauge *g);
double tr_gauge_value(const struct tr_gauge *g);

/* Counts v in the first bucket whose upper bound is >= v, adds it to sum. */
void tr_histogram_observe(struct tr_histogram *h, double v);
/* Number of observations so far. */
uint64_t tr_histogram_count(const struct tr_histogram *h);
double tr_histogram_sum(const struct tr_histogram *h);

#endif
