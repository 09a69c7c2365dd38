#include "base/clock.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

static int64_t
clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * TR_NS_PER_SEC + ts.tv_nsec;
}

int64_t
tr_now_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t
tr_now_ms(void)
{
    return clock_ns(CLOCK_REALTIME) / TR_NS_PER_MS;
}

int64_t
tr_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    /* Longest names first so "ms" is not read as "m" then "s". */
    {"ms", TR_NS_PER_MS},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* µs */
    {"ns", 1},
    {"y", 365 * 24 * 3600 * TR_NS_PER_SEC},
    {"w", 7 * 24 * 3600 * TR_NS_PER_SEC},
    {"d", 24 * 3600 * TR_NS_PER_SEC},
    {"h", 3600 * TR_NS_PER_SEC},
    {"m", 60 * TR_NS_PER_SEC},
    {"s", TR_NS_PER_SEC},
};

int
tr_duration_parse(const char *s, int64_t *out_ns, struct tr_err *err)
{
    const char *p = s;
    double total = 0;

    if (*p == '\0') {
        return tr_err_set(err, TR_EINVAL, "cannot parse duration: empty");
    }
    /* A bare number is seconds. */
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (*end == '\0' && errno == 0 && isfinite(secs)) {
        if (secs < 0) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot parse duration \"%s\": negative", s);
        }
        if (secs * 1e9 > 9.2e18) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot parse duration \"%s\": too long", s);
        }
        *out_ns = (int64_t)llround(secs * 1e9);
        return TR_OK;
    }
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p) && *p != '.') {
            return tr_err_set(err, TR_EINVAL,
                              "cannot parse duration \"%s\": expected a "
                              "number at \"%s\"",
                              s, p);
        }
        double v = strtod(p, &end);
        p = end;
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].name);
            if (strncmp(p, units[i].name, n) == 0) {
                total += v * (double)units[i].ns;
                p += n;
                break;
            }
        }
        if (i == sizeof(units) / sizeof(units[0])) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot parse duration \"%s\": unknown unit "
                              "at \"%s\" (use ms, s, m, h, d, w or y)",
                              s, p);
        }
    }
    if (total > 9.2e18) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot parse duration \"%s\": too long", s);
    }
    *out_ns = (int64_t)llround(total);
    return TR_OK;
}

char *
tr_duration_format(int64_t ns, char *out, size_t size)
{
    static const struct {
        const char *name;
        int64_t ns;
    } parts[] = {
        {"y", 365 * 24 * 3600 * TR_NS_PER_SEC},
        {"w", 7 * 24 * 3600 * TR_NS_PER_SEC},
        {"d", 24 * 3600 * TR_NS_PER_SEC},
        {"h", 3600 * TR_NS_PER_SEC},
        {"m", 60 * TR_NS_PER_SEC},
        {"s", TR_NS_PER_SEC},
        {"ms", TR_NS_PER_MS},
    };
    size_t pos = 0;

    if (size == 0) {
        return out;
    }
    out[0] = '\0';
    if (ns == 0) {
        snprintf(out, size, "0s");
        return out;
    }
    if (ns < 0) {
        pos += (size_t)snprintf(out, size, "-");
        ns = -ns;
    }
    if (ns < TR_NS_PER_MS) {
        snprintf(out + pos, size - pos, "%lldns", (long long)ns);
        return out;
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && pos < size;
         i++) {
        int64_t n = ns / parts[i].ns;
        if (n > 0) {
            pos += (size_t)snprintf(out + pos, size - pos, "%lld%s",
                                    (long long)n, parts[i].name);
            ns -= n * parts[i].ns;
        }
    }
    return out;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * well-known civil-calendar arithmetic). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
parse_rfc3339(const char *s, int64_t *out_ns)
{
    int y, mo, d, h, mi, sec, consumed = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
               &sec, &consumed) != 6 ||
        consumed != 19) {
        return TR_EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60) {
        return TR_EINVAL;
    }
    const char *p = s + consumed;
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100000000;
        p++;
        if (!isdigit((unsigned char)*p)) {
            return TR_EINVAL;
        }
        for (; isdigit((unsigned char)*p); p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5) {
            return TR_EINVAL;
        }
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return TR_EINVAL;
    }
    if (*p != '\0') {
        return TR_EINVAL;
    }
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                   h * 3600 + mi * 60 + sec - offset;
    *out_ns = secs * TR_NS_PER_SEC + frac;
    return TR_OK;
}

int
tr_timestamp_parse(const char *s, int64_t *out_ns, struct tr_err *err)
{
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (end != s && *end == '\0' && errno == 0 && isfinite(secs)) {
        if (fabs(secs) > 9.2e9) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot parse \"%s\" to a valid timestamp: "
                              "out of range",
                              s);
        }
        /* Round to whole microseconds first: float seconds carry noise
         * below that, and APIs document millisecond precision. */
        *out_ns = (int64_t)llround(secs * 1e6) * 1000;
        return TR_OK;
    }
    if (parse_rfc3339(s, out_ns) == TR_OK) {
        return TR_OK;
    }
    return tr_err_set(err, TR_EINVAL,
                      "cannot parse \"%s\" to a valid timestamp", s);
}
