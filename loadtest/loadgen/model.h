/*
 * The series model of trident-loadgen: which series exist and what value
 * each has at each scrape. Everything is a pure function of the seed, the
 * series count and the absolute step number (timestamp / interval), so two
 * runs with the same settings send identical data whatever the order or the
 * clock (real time, a fast simulated clock, or an OpenMetrics file).
 *
 * Series are grouped by instance, as a fleet of hosts each running
 * node-exporter (job="node") and an instrumented application (job="api"):
 * every instance carries the same LOADGEN_SLOTS series (CPU, memory,
 * network, disk and filesystem metrics; request counters and a classic
 * request-duration histogram), with per-instance rates and levels. The
 * last instance holds the remainder when the series count is not a
 * multiple of the slot count, so exactly `series` series exist.
 *
 * Value patterns follow what real exporters show: counters grow at a
 * per-series rate with jitter and reset when the host "reboots" (weekly,
 * at a per-instance phase); some counters never move (steal time, error
 * counts) and some gauges are constant (memory total, filesystem size) or
 * hold their value for many scrapes; gauges vary slowly (a daily-ish sine
 * plus noise), quantized as the exporters quantize them (4 KiB pages,
 * 10 ms of CPU, 0.01 of load). Histogram buckets are cumulative and grow
 * with their _count.
 *
 * Sample timestamps: step k of instance m is at k*interval + offset(m),
 * with the offsets spreading instances evenly over the interval, the way
 * Prometheus staggers its scrapes.
 *
 * Churn: a fraction of the instances changes identity every churn period
 * (their instance label gets a new generation suffix at a per-instance
 * phase), so old series stop and new ones start at a steady rate.
 */
#ifndef TR_LOADGEN_MODEL_H
#define TR_LOADGEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct tr_err;

/* Most labels one series carries, extra labels and __name__ included. */
#define LOADGEN_MAX_LABELS 16
/* Most extra labels (like Prometheus's external_labels). */
#define LOADGEN_MAX_EXTRA_LABELS 6
/* Buffer size for an instance label value. */
#define LOADGEN_INSTANCE_LEN 48

struct loadgen_model_config {
    uint64_t seed;
    int64_t series;      /* active series at any time, >= 1 */
    int64_t interval_ms; /* scrape interval, >= 1 */
    double churn_fraction; /* 0..1: instances that change identity */
    int64_t churn_period_ms;
    int extra_labels;
    const char *extra_names[LOADGEN_MAX_EXTRA_LABELS];  /* borrowed */
    const char *extra_values[LOADGEN_MAX_EXTRA_LABELS]; /* borrowed */
};

struct loadgen_label {
    const char *name;
    const char *value;
};

struct loadgen_model;

/*
 * Builds the model. Label names and values of cfg are borrowed and must
 * outlive the model. NULL with err set on bad settings (a duplicate or
 * reserved extra label name, zero series) or on allocation failure.
 */
struct loadgen_model *loadgen_model_create(
    const struct loadgen_model_config *cfg, struct tr_err *err);
/* NULL is allowed. */
void loadgen_model_destroy(struct loadgen_model *m);

/* The scrape interval in ms. */
int64_t loadgen_model_interval_ms(const struct loadgen_model *m);

/* Series per full instance. */
int loadgen_model_slots(const struct loadgen_model *m);
/* Number of instances (the last may be partial). */
int64_t loadgen_model_instances(const struct loadgen_model *m);
/* Series of instance `inst` (slots 0..n-1 exist). */
int loadgen_model_instance_series(const struct loadgen_model *m,
                                  int64_t inst);

/* Timestamp in ms of step `step` of instance `inst`. */
int64_t loadgen_model_timestamp(const struct loadgen_model *m, int64_t step,
                                int64_t inst);

/*
 * Writes the instance label values of `inst` as of timestamp ts_ms (the
 * identity changes over time for churning instances) into node and app,
 * each LOADGEN_INSTANCE_LEN bytes. Returns the generation number, which
 * changes exactly when the values do, so callers can cache them.
 */
int64_t loadgen_model_instance_names(const struct loadgen_model *m,
                                     int64_t inst, int64_t ts_ms, char *node,
                                     char *app);

/*
 * Fills out (LOADGEN_MAX_LABELS entries) with the labels of series `slot`
 * of an instance, sorted by name, __name__ included. The instance label
 * points at node or app (the strings from loadgen_model_instance_names,
 * borrowed); the other strings belong to the model. Returns the count.
 */
int loadgen_model_labels(const struct loadgen_model *m, int slot,
                         const char *node, const char *app,
                         struct loadgen_label *out);

/* Value of series `slot` of instance `inst` at step `step`. */
double loadgen_model_value(const struct loadgen_model *m, int64_t inst,
                           int slot, int64_t step);

/* "counter", "gauge" or "histogram" (the family's type), for metadata. */
const char *loadgen_model_type(const struct loadgen_model *m, int slot);

#endif
