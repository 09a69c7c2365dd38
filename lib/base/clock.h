/*
 * Clocks, durations and timestamps.
 *
 * Durations are int64 nanoseconds throughout (±292 years). One parser reads
 * every duration users type: Prometheus/Loki durations ("1h30m", "5m",
 * "2d", "1w", "1y"), Go durations ("1.5s", "300ms", "10us") and plain
 * numbers of seconds ("30", "0.5"), which the query APIs accept for step.
 */
#ifndef TR_BASE_CLOCK_H
#define TR_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

struct tr_err;

#define TR_NS_PER_MS INT64_C(1000000)
#define TR_NS_PER_SEC INT64_C(1000000000)

/* Wall clock since the Unix epoch. */
int64_t tr_now_ns(void);
int64_t tr_now_ms(void);
/* Monotonic clock, for deadlines and elapsed times. */
int64_t tr_mono_ns(void);

/*
 * Parses a duration (see above) into nanoseconds. Negative durations are
 * refused. Returns TR_OK or TR_EINVAL with a message naming the input.
 */
int tr_duration_parse(const char *s, int64_t *out_ns, struct tr_err *err);

/*
 * Formats ns the way Prometheus prints durations ("1h30m", "5m", "250ms",
 * "0s") into out; returns out.
 */
char *tr_duration_format(int64_t ns, char *out, size_t size);

/*
 * Parses a timestamp as the query APIs accept it: RFC 3339 with optional
 * fraction and zone ("2026-11-22T03:20:00.5Z", "...+01:00") or float Unix
 * seconds ("1700000000.123"). TR_OK or TR_EINVAL.
 */
int tr_timestamp_parse(const char *s, int64_t *out_ns, struct tr_err *err);

#endif
