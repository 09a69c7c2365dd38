/*
 * Logging in logfmt on stderr, one line per call, written with a single
 * write(2) so lines from different threads never interleave:
 *
 *   ts=2026-11-22T03:20:00.123Z level=info caller=app.c:42 msg="started" role=ingester
 *
 * The optional second argument of the macros is a printf format for extra
 * key=value fields; it must be a string literal. Values that may contain
 * spaces or quotes should be printed with %s of a tr_log_quote() result or
 * as "%s" when known to be safe.
 *
 *   tr_log_info("role started", "role=%s took_ms=%lld", name, ms);
 *   tr_log_warn("peer down");
 */
#ifndef TR_BASE_LOG_H
#define TR_BASE_LOG_H

enum tr_log_level {
    TR_LOG_DEBUG = 0,
    TR_LOG_INFO = 1,
    TR_LOG_WARN = 2,
    TR_LOG_ERROR = 3,
};

void tr_log_set_level(enum tr_log_level level);
enum tr_log_level tr_log_get_level(void);
/* Parses "debug", "info", "warn", "error"; returns TR_OK or TR_EINVAL. */
int tr_log_level_parse(const char *name, enum tr_log_level *out);
const char *tr_log_level_name(enum tr_log_level level);

void tr_log_write(enum tr_log_level level, const char *file, int line,
                  const char *msg, const char *fields, ...)
    __attribute__((format(printf, 5, 6)));

#define TR_LOG_AT(level, msg, ...)                                            \
    do {                                                                      \
        if ((level) >= tr_log_get_level()) {                                  \
            tr_log_write((level), __FILE__, __LINE__, (msg), "" __VA_ARGS__); \
        }                                                                     \
    } while (0)

#define tr_log_debug(msg, ...) TR_LOG_AT(TR_LOG_DEBUG, msg, __VA_ARGS__)
#define tr_log_info(msg, ...) TR_LOG_AT(TR_LOG_INFO, msg, __VA_ARGS__)
#define tr_log_warn(msg, ...) TR_LOG_AT(TR_LOG_WARN, msg, __VA_ARGS__)
#define tr_log_error(msg, ...) TR_LOG_AT(TR_LOG_ERROR, msg, __VA_ARGS__)

#endif
