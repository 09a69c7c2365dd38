/*
 * Parameters of the Prometheus HTTP API (web/api/v1 of Prometheus 2.42),
 * parsed with Prometheus's rules and error messages, because Grafana shows
 * those messages to users as they are.
 *
 * Times are "rfc3339 | unix float seconds" (floats rounded to the
 * millisecond, as Prometheus does); durations are float seconds or
 * Prometheus durations ("5m", "1h30m"). Results are int64 milliseconds
 * (times) and nanoseconds (durations).
 */
#ifndef TR_PROMAPI_PARAMS_H
#define TR_PROMAPI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;

/* The defaults of start and end for the series and label APIs: the
 * oldest and newest times Prometheus can represent (its minTime and
 * maxTime), in ms. */
#define TR_PROMAPI_MIN_TIME_MS (-INT64_C(9223309901257974000))
#define TR_PROMAPI_MAX_TIME_MS INT64_C(9223309901257974999)

/*
 * Parses a timestamp like Prometheus's parseTime: a float number of
 * seconds (fraction rounded to ms), else RFC 3339 with an optional
 * fraction, else the text forms of TR_PROMAPI_MIN/MAX_TIME_MS. TR_OK with
 * *out_ms, or TR_EINVAL "cannot parse \"x\" to a valid timestamp".
 */
int tr_promapi_parse_time(const char *s, int64_t *out_ms, struct tr_err *err);

/*
 * A time parameter that may be absent, like Prometheus's parseTimeParam:
 * NULL or "" gives def_ms; a bad value fails with TR_EINVAL
 * "invalid parameter \"<name>\": Invalid time value for '<name>': cannot
 * parse ..." (the full API message).
 */
int tr_promapi_time_param(const char *value, const char *name, int64_t def_ms,
                          int64_t *out_ms, struct tr_err *err);

/*
 * Parses a duration like Prometheus's parseDuration: float seconds (may
 * be zero or negative) or a Prometheus duration. TR_OK with *out_ns, or
 * TR_EINVAL "cannot parse \"x\" to a valid duration" (or "... It
 * overflows int64").
 */
int tr_promapi_parse_duration(const char *s, int64_t *out_ns,
                              struct tr_err *err);

/*
 * Puts "invalid parameter \"<name>\": " in front of err's message, as
 * Prometheus's invalidParamError does. Returns err's code (TR_EINVAL when
 * err is NULL).
 */
int tr_promapi_invalid_param(struct tr_err *err, const char *name);

/*
 * Undoes the U__ escaping of label names in URL paths (Prometheus
 * "value encoding" escaping: "U__" prefix, "__" for '_', "_<hex>_" for a
 * code point). Appends the unescaped name to out; a name without the
 * prefix, or with a malformed escape, is appended unchanged (as
 * Prometheus does). TR_OK or TR_ENOMEM.
 */
int tr_promapi_unescape_name(const char *s, size_t len, struct tr_buf *out);

/* True when name is a label name the API accepts: non-empty valid UTF-8
 * (Trident stores UTF-8 label names, as Prometheus 3 does). */
bool tr_promapi_label_name_valid(const char *name, size_t len);

#endif
