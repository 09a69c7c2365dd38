#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

#define LINE_MAX_BYTES 4096

static _Atomic int current_level = TR_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
tr_log_set_level(enum tr_log_level level)
{
    atomic_store(&current_level, (int)level);
}

enum tr_log_level
tr_log_get_level(void)
{
    return (enum tr_log_level)atomic_load(&current_level);
}

int
tr_log_level_parse(const char *name, enum tr_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum tr_log_level)i;
            return TR_OK;
        }
    }
    return TR_EINVAL;
}

const char *
tr_log_level_name(enum tr_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "unknown";
}

/* Appends s as a logfmt quoted value, escaping quotes and control bytes. */
static size_t
append_quoted(char *out, size_t pos, size_t cap, const char *s)
{
    if (pos < cap) {
        out[pos++] = '"';
    }
    for (; *s != '\0' && pos + 2 < cap; s++) {
        if (*s == '"' || *s == '\\') {
            out[pos++] = '\\';
            out[pos++] = *s;
        } else if (*s == '\n') {
            out[pos++] = '\\';
            out[pos++] = 'n';
        } else if ((unsigned char)*s < 0x20) {
            out[pos++] = ' ';
        } else {
            out[pos++] = *s;
        }
    }
    if (pos < cap) {
        out[pos++] = '"';
    }
    return pos;
}

void
tr_log_write(enum tr_log_level level, const char *file, int line,
             const char *msg, const char *fields, ...)
{
    char out[LINE_MAX_BYTES];
    struct timespec now;
    struct tm tm;
    const char *base = strrchr(file, '/');
    size_t pos;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    pos = (size_t)snprintf(
        out, sizeof(out),
        "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s caller=%s:%d msg=",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, now.tv_nsec / 1000000, tr_log_level_name(level),
        base != NULL ? base + 1 : file, line);
    pos = append_quoted(out, pos, sizeof(out) - 2, msg);
    if (fields[0] != '\0' && pos < sizeof(out) - 2) {
        va_list ap;
        out[pos++] = ' ';
        va_start(ap, fields);
        int n = vsnprintf(out + pos, sizeof(out) - 2 - pos, fields, ap);
        va_end(ap);
        if (n > 0) {
            pos += (size_t)n < sizeof(out) - 2 - pos ? (size_t)n
                                                      : sizeof(out) - 3 - pos;
        }
    }
    out[pos++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, out, pos);
    (void)ignored;
}
