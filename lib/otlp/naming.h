/*
 * OTLP metric and attribute names to Prometheus names, the way Prometheus's
 * OTLP endpoint (its otlptranslator) builds them for the legacy character
 * set ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]* for
 * labels).
 *
 * With suffixes (Prometheus's default UnderscoreEscapingWithSuffixes):
 *   - the name is split into words at every character outside
 *     [a-zA-Z0-9:] (so runs of '_', '.', '-', ... become one '_', and
 *     leading/trailing ones vanish);
 *   - the unit adds words: the part before '/' through the UCUM table
 *     (s seconds, ms milliseconds, us, ns, min minutes, h hours, d days,
 *     By bytes, KiBy kibibytes, MiBy, GiBy, TiBy, KBy kilobytes, MBy, GBy,
 *     TBy, m meters, V volts, A amperes, J joules, W watts, g grams,
 *     Cel celsius, Hz hertz, % percent, 1 nothing; unknown units are kept
 *     with invalid characters as '_'), the part after '/' as
 *     "per_<singular>" (s second, m minute, h hour, d day, w week,
 *     mo month, y year); a part containing '{' or '}' is dropped;
 *     the main unit word is not added when the name already has that word;
 *   - monotonic counters end in "total" (any other "total" word is
 *     removed), gauges with unit "1" end in "ratio" (likewise);
 *   - a leading digit gets a '_' in front.
 *   Like Prometheus, a per-unit ("per_second") is compared as one word and
 *   so is appended again when the name already ends in "_per_second".
 * Without suffixes (Mimir's default): characters outside [a-zA-Z0-9_:] are
 * replaced, a run of them by one '_', leading/trailing runs dropped; a
 * leading digit gets a '_'.
 *
 * Label names: characters outside [a-zA-Z0-9] become '_' with runs of them
 * collapsed to one (names of the form __x__ keep their double underscores),
 * a leading digit gets "key_", and a single leading '_' gets "key" unless
 * keep_underscore is set.
 */
#ifndef TR_OTLP_NAMING_H
#define TR_OTLP_NAMING_H

#include <stdbool.h>
#include <stddef.h>

struct tr_arena;

/* What the metric is, as far as its name is concerned. */
enum tr_otlp_name_kind {
    TR_OTLP_NAME_GAUGE,
    TR_OTLP_NAME_COUNTER,        /* monotonic cumulative sum: "_total" */
    TR_OTLP_NAME_UPDOWN_COUNTER, /* non-monotonic sum: no type suffix */
    TR_OTLP_NAME_HISTOGRAM,
    TR_OTLP_NAME_SUMMARY,
};

/*
 * The Prometheus metric family name for an OTLP metric name and UCUM unit
 * (either may be NULL, meaning empty), allocated in the arena. Returns
 * NULL when out of memory or when the result would be empty or only
 * underscores (such metrics cannot be stored; *invalid is then set to true
 * so the caller can tell this from out-of-memory).
 */
char *tr_otlp_metric_name(struct tr_arena *arena, const char *name,
                          const char *unit, enum tr_otlp_name_kind kind,
                          bool with_suffixes, bool *invalid);

/*
 * The Prometheus label name for an attribute key, in the arena. NULL when
 * out of memory or when the key is empty or sanitises to underscores only
 * (*invalid set to true then).
 */
char *tr_otlp_label_name(struct tr_arena *arena, const char *key,
                         bool keep_underscore, bool *invalid);

/*
 * The Prometheus unit word(s) for a UCUM unit ("By/s" -> "bytes_per_second",
 * "1" -> "", "{request}" -> ""), in the arena; NULL when out of memory.
 */
char *tr_otlp_unit_name(struct tr_arena *arena, const char *unit);

#endif
