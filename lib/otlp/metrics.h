/*
 * OTLP metrics to Prometheus series, as Prometheus's own OTLP endpoint
 * translates them, producing the Prometheus__WriteRequest that remote write
 * would have carried.
 *
 * Per metric kind:
 *   gauge                      -> gauge <name>
 *   sum, cumulative, monotonic -> counter <name>_total (with suffixes)
 *   sum, cumulative, up/down   -> gauge <name>
 *   histogram, cumulative      -> <name>_bucket{le="<bound>"} (cumulative
 *                                 counts, plus le="+Inf" = count),
 *                                 <name>_sum (when the point has a sum),
 *                                 <name>_count
 *   summary                    -> <name>{quantile="<q>"}, <name>_sum,
 *                                 <name>_count
 *   delta or unspecified temporality, exponential histograms, metrics
 *   without data, names that sanitise to nothing -> dropped, their data
 *   points counted as rejected with a reason in the message.
 *
 * Labels of a point: its attributes under sanitised names (see naming.h;
 * attributes whose names collide after sanitising are merged, values joined
 * with ';' in the order of the original names), then job (service.namespace
 * + "/" + service.name, or service.name) and instance (service.instance.id)
 * from the resource, overriding attributes of those names, then __name__
 * and le/quantile. Labels are sorted by name; attribute values that are not
 * strings are rendered as OTLP's AsString does (ints in decimal, doubles as
 * JSON numbers, bools true/false, bytes base64, arrays and maps as JSON).
 * Attributes with empty names or names that sanitise to underscores are
 * skipped.
 *
 * Values: as_int as double; a point flagged "no recorded value" (flags bit
 * 0) becomes the Prometheus stale marker NaN 0x7ff0000000000002 in every
 * series it produces. Timestamps: nanoseconds / 1e6 (milliseconds).
 * Series with identical label sets are merged (samples in input order).
 *
 * Exemplars (on monotonic and up/down sums, and on the first histogram
 * bucket whose bound is >= the exemplar's value): trace_id and span_id in
 * lower-case hex, then the filtered attributes (sanitised names) unless the
 * label text would exceed 128 characters.
 *
 * target_info: for every resource with at least one data point and with
 * attributes besides service.name/namespace/instance.id, one series
 * target_info{job, instance, <other resource attributes>} = 1, sampled from
 * the resource's earliest to its latest point timestamp every half lookback
 * delta (plus the latest), as Prometheus does (at most
 * TR_OTLP_TARGET_INFO_MAX_SAMPLES samples, the latest ones), and only when
 * job or instance is known.
 *
 * Metadata: one entry per converted metric: type, family name, help = the
 * description, unit = the OTLP unit as sent.
 */
#ifndef TR_OTLP_METRICS_H
#define TR_OTLP_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "otlp/decode.h"
#include "prometheus/remote.pb-c.h"

struct tr_arena;
struct tr_err;

#define TR_OTLP_TARGET_INFO_MAX_SAMPLES 64

/* The stale marker Prometheus writes for "series ended". */
#define TR_OTLP_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* Options; a zeroed struct gives Prometheus's defaults. */
struct tr_otlp_metrics_opts {
    /* Do not add unit and _total/_ratio suffixes (Mimir's default). */
    bool without_suffixes;
    /* Keep a single leading '_' in label names instead of "key_". */
    bool keep_underscore_labels;
    /* Do not emit target_info. */
    bool disable_target_info;
    /* PromQL lookback delta in ms, for target_info spacing; 0 = 5 min. */
    int64_t lookback_ms;
};

struct tr_otlp_metrics_result {
    /* The series and metadata, in the arena (never NULL on success). */
    Prometheus__WriteRequest *write;
    /* OTLP data points turned into series. */
    int64_t points_converted;
    /* OTLP data points dropped (for partial_success.rejected_data_points). */
    int64_t points_rejected;
    /*
     * Why points were dropped, for partial_success.error_message: reasons
     * joined with "; " (e.g. "exponential histograms are not supported
     * yet; 3 data points of metric \"latency\" were dropped"). NULL when
     * nothing was dropped. In the arena.
     */
    const char *message;
    /* Samples written (series samples, target_info included). */
    int64_t samples;
};

/*
 * Translates the decoded request req (borrowed) into *out, allocating
 * everything in the arena (the caller resets it when the request is done;
 * strings in the result may point into req, so req must live as long).
 * opts may be NULL for the defaults.
 *
 * Dropped data never fails the call: it is counted in out. Returns TR_OK,
 * or TR_ENOMEM with err set when memory runs out.
 */
int tr_otlp_metrics_translate(struct tr_arena *arena,
                              const tr_otlp_metrics_request *req,
                              const struct tr_otlp_metrics_opts *opts,
                              struct tr_otlp_metrics_result *out,
                              struct tr_err *err);

#endif
