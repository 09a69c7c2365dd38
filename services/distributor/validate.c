/*
 * Validation of write requests against the per-tenant limits. Bad series
 * are dropped one by one with a message each, so good data in the same
 * request is still written and the sender learns what was refused.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "distributor_internal.h"
#include "tsdb/labels.h"

static const char *const reason_names[REASON_COUNT] = {
    [REASON_MISSING_METRIC_NAME] = "missing_metric_name",
    [REASON_INVALID_METRIC_NAME] = "invalid_metric_name",
    [REASON_INVALID_LABEL] = "label_invalid",
    [REASON_INVALID_LABEL_VALUE] = "label_value_invalid",
    [REASON_LABEL_NAME_TOO_LONG] = "label_name_too_long",
    [REASON_LABEL_VALUE_TOO_LONG] = "label_value_too_long",
    [REASON_MAX_LABEL_NAMES] = "max_label_names_per_series",
    [REASON_DUPLICATE_LABEL_NAMES] = "duplicate_label_names",
    [REASON_TOO_OLD] = "sample_too_old",
    [REASON_TOO_FAR_IN_FUTURE] = "sample_too_far_in_future",
    [REASON_NATIVE_HISTOGRAM] = "native_histogram_unsupported",
    [REASON_RATE_LIMITED] = "rate_limited",
};

const char *
distributor_reason_name(enum distributor_reason r)
{
    return r < REASON_COUNT ? reason_names[r] : "unknown";
}

void
distributor_report_fini(struct distributor_report *r)
{
    tr_buf_fini(&r->errors);
}

void
distributor_report_error(struct distributor_report *r, const char *fmt, ...)
{
    r->nerrors++;
    if (r->nerrors > DISTRIBUTOR_MAX_ERRORS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    tr_buf_vappendf(&r->errors, fmt, ap);
    va_end(ap);
    tr_buf_append_byte(&r->errors, '\n');
}

int64_t
distributor_report_discarded(const struct distributor_report *r)
{
    int64_t n = 0;
    for (int i = 0; i < REASON_COUNT; i++) {
        n += r->discarded[i];
    }
    return n;
}

/* ---- character rules ---------------------------------------------------- */

/* Which bytes may appear in names: bit 0 first byte of a label name,
 * bit 1 later bytes of a label name, bit 2 first byte of a metric name,
 * bit 3 later bytes of a metric name. */
enum { NAME_FIRST = 1, NAME_REST = 2, METRIC_FIRST = 4, METRIC_REST = 8 };

static unsigned char name_chars[256];

static void
init_name_chars(void)
{
    for (int c = 0; c < 256; c++) {
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        name_chars[c] =
            (unsigned char)((alpha ? NAME_FIRST | METRIC_FIRST : 0) |
                            (alpha || digit ? NAME_REST | METRIC_REST : 0) |
                            (c == ':' ? METRIC_FIRST | METRIC_REST : 0));
    }
}

static bool
name_matches(const char *s, size_t len, unsigned first, unsigned rest)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_name_chars);
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0 || (name_chars[u[0]] & first) == 0) {
        return false;
    }
    unsigned all = rest;
    for (size_t i = 1; i < len; i++) {
        all &= name_chars[u[i]];
    }
    return all != 0;
}

bool
distributor_valid_label_name(const char *s, size_t len)
{
    return name_matches(s, len, NAME_FIRST, NAME_REST);
}

bool
distributor_valid_metric_name(const char *s, size_t len)
{
    return name_matches(s, len, METRIC_FIRST, METRIC_REST);
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool
valid_utf8(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    /* Label values are nearly always ASCII: 8 bytes at a time first. */
    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w & UINT64_C(0x8080808080808080)) != 0) {
            break;
        }
        i += 8;
    }
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len) {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

/* Number of UTF-8 characters (bytes that do not continue a character). */
static size_t
utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    }
    return n;
}

/* ---- series text for messages ---------------------------------------------
 */

#define SERIES_TEXT_MAX 256

/* At most max bytes of s, escaped for a message. */
static void
append_escaped(struct tr_buf *b, const char *s, size_t len, size_t max)
{
    for (size_t i = 0; i < len && i < max; i++) {
        char c = s[i];
        if (c == '"' || c == '\\') {
            tr_buf_append_byte(b, '\\');
            tr_buf_append_byte(b, c);
        } else if (c == '\n') {
            tr_buf_append_str(b, "\\n");
        } else if ((unsigned char)c < 0x20) {
            tr_buf_appendf(b, "\\x%02x", (unsigned char)c);
        } else {
            tr_buf_append_byte(b, c);
        }
    }
}

static bool
is_metric_name(const struct tr_label *l)
{
    return l->name_len == sizeof(TR_LABEL_METRIC_NAME) - 1 &&
           memcmp(l->name, TR_LABEL_METRIC_NAME, l->name_len) == 0;
}

/* name{a="b", ...} as the sender would recognise it, cut at about 256
 * bytes. Works on unvalidated labels. */
static void
series_text(const struct tr_prompb_request *req,
            const struct tr_prompb_series *ts, struct tr_buf *out)
{
    tr_buf_reset(out);
    const struct tr_label *labels = &req->labels[ts->labels];
    const struct tr_label *name = NULL;
    for (size_t i = 0; i < ts->nlabels; i++) {
        if (is_metric_name(&labels[i])) {
            name = &labels[i];
            break;
        }
    }
    if (name != NULL) {
        append_escaped(out, name->value, name->value_len, 128);
    }
    tr_buf_append_byte(out, '{');
    bool first = true;
    for (size_t i = 0; i < ts->nlabels; i++) {
        const struct tr_label *l = &labels[i];
        if (l == name) {
            continue;
        }
        if (out->len > SERIES_TEXT_MAX) {
            tr_buf_append_str(out, ", ...");
            break;
        }
        if (!first) {
            tr_buf_append_str(out, ", ");
        }
        first = false;
        append_escaped(out, l->name, l->name_len, 128);
        tr_buf_append_str(out, "=\"");
        append_escaped(out, l->value, l->value_len, 128);
        tr_buf_append_byte(out, '"');
    }
    tr_buf_append_byte(out, '}');
}

/* ---- series labels ------------------------------------------------------- */

/* The length to print of a string cut at max bytes, for "%.*s". */
static int
cut(size_t len, size_t max)
{
    return (int)(len < max ? len : max);
}

/* Byte order of names, a shorter prefix first (strcmp's order for
 * strings without NUL bytes). */
static int
name_cmp(const struct tr_label *a, const struct tr_label *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c != 0) {
        return c;
    }
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int
label_cmp(const void *a, const void *b)
{
    return name_cmp(a, b);
}

/* Drops empty values, sorts, checks the rules; returns REASON_COUNT when
 * the labels are fine, else the reason with *why set. */
static enum distributor_reason
check_labels(struct tr_prompb_request *req, struct tr_prompb_series *ts,
             const struct distributor_limits *lim, char *why, size_t why_size)
{
    struct tr_label *labels = &req->labels[ts->labels];
    size_t n = 0;
    for (size_t i = 0; i < ts->nlabels; i++) {
        if (labels[i].value_len != 0) {
            labels[n++] = labels[i];
        }
    }
    if (n != ts->nlabels) {
        ts->raw = NULL; /* changed: the encoder must not copy its bytes */
        ts->nlabels = (uint32_t)n;
    }
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++) {
        sorted = name_cmp(&labels[i - 1], &labels[i]) < 0;
    }
    if (!sorted) {
        ts->raw = NULL;
        qsort(labels, n, sizeof(labels[0]), label_cmp);
    }

    const struct tr_label *name = NULL;
    for (size_t i = 0; i < n; i++) {
        if (is_metric_name(&labels[i])) {
            name = &labels[i];
            break;
        }
    }
    if (name == NULL) {
        snprintf(why, why_size, "missing metric name (label __name__)");
        return REASON_MISSING_METRIC_NAME;
    }
    if (!distributor_valid_metric_name(name->value, name->value_len)) {
        snprintf(why, why_size,
                 "invalid metric name \"%.*s\" (must match "
                 "[a-zA-Z_:][a-zA-Z0-9_:]*)",
                 cut(name->value_len, 128), name->value);
        return REASON_INVALID_METRIC_NAME;
    }
    if (lim->max_label_names > 0 && (int64_t)n > lim->max_label_names) {
        snprintf(why, why_size,
                 "%zu labels, more than the limit of %lld "
                 "(limits.max_label_names_per_series)",
                 n, (long long)lim->max_label_names);
        return REASON_MAX_LABEL_NAMES;
    }
    for (size_t i = 0; i < n; i++) {
        const struct tr_label *l = &labels[i];
        size_t nlen = l->name_len;
        size_t vlen = l->value_len;
        if (!distributor_valid_label_name(l->name, nlen)) {
            snprintf(why, why_size,
                     "invalid label name \"%.*s\" (must match "
                     "[a-zA-Z_][a-zA-Z0-9_]*)",
                     cut(nlen, 128), l->name);
            return REASON_INVALID_LABEL;
        }
        if (lim->max_name_len > 0 && (int64_t)nlen > lim->max_name_len) {
            snprintf(why, why_size,
                     "label name \"%.*s...\" is %zu bytes long, longer "
                     "than the limit of %lld (limits.max_label_name_length)",
                     cut(nlen, 64), l->name, nlen,
                     (long long)lim->max_name_len);
            return REASON_LABEL_NAME_TOO_LONG;
        }
        if (lim->max_value_len > 0 && (int64_t)vlen > lim->max_value_len) {
            snprintf(why, why_size,
                     "value of label \"%.*s\" is %zu bytes long, longer "
                     "than the limit of %lld (limits.max_label_value_length)",
                     cut(nlen, 128), l->name, vlen,
                     (long long)lim->max_value_len);
            return REASON_LABEL_VALUE_TOO_LONG;
        }
        if (!valid_utf8(l->value, vlen)) {
            snprintf(why, why_size,
                     "value of label \"%.*s\" is not valid UTF-8",
                     cut(nlen, 128), l->name);
            return REASON_INVALID_LABEL_VALUE;
        }
        if (i > 0 && name_cmp(&labels[i - 1], l) == 0) {
            snprintf(why, why_size, "duplicate label name \"%.*s\"",
                     cut(nlen, 128), l->name);
            return REASON_DUPLICATE_LABEL_NAMES;
        }
    }
    return REASON_COUNT;
}

/* Prometheus's limit on an exemplar's label set: 128 UTF-8 characters. */
#define EXEMPLAR_MAX_LABEL_CHARS 128

static bool
check_exemplar(const struct tr_prompb_request *req,
               const struct tr_prompb_exemplar *ex, char *why, size_t why_size)
{
    size_t chars = 0;
    for (size_t i = 0; i < ex->nlabels; i++) {
        const struct tr_label *l = &req->exemplar_labels[ex->labels + i];
        size_t nlen = l->name_len;
        size_t vlen = l->value_len;
        if (!distributor_valid_label_name(l->name, nlen)) {
            snprintf(why, why_size, "invalid label name \"%.*s\"",
                     cut(nlen, 128), l->name);
            return false;
        }
        if (!valid_utf8(l->value, vlen)) {
            snprintf(why, why_size,
                     "value of label \"%.*s\" is not valid UTF-8",
                     cut(nlen, 128), l->name);
            return false;
        }
        chars += utf8_chars(l->name, nlen) + utf8_chars(l->value, vlen);
    }
    if (chars > EXEMPLAR_MAX_LABEL_CHARS) {
        snprintf(why, why_size, "labels are %zu characters long, more than %d",
                 chars, EXEMPLAR_MAX_LABEL_CHARS);
        return false;
    }
    if (ex->timestamp == 0) {
        snprintf(why, why_size, "no timestamp");
        return false;
    }
    return true;
}

/* Drops samples outside [now - max_age, now + grace]. */
static void
check_samples(struct tr_prompb_request *req, struct tr_prompb_series *ts,
              const struct distributor_limits *lim, int64_t now_ms,
              struct distributor_report *rep, struct tr_buf *text)
{
    struct tr_prompb_sample *samples = &req->samples[ts->samples];
    int64_t min_t = lim->max_age_ms > 0 ? now_ms - lim->max_age_ms : INT64_MIN;
    int64_t max_t = now_ms + lim->grace_ms;
    /* The common case: every sample in range, nothing to move. */
    size_t i = 0;
    while (i < ts->nsamples && samples[i].t >= min_t && samples[i].t <= max_t) {
        i++;
    }
    if (i == ts->nsamples) {
        return;
    }
    int64_t too_old = 0, too_new = 0;
    int64_t oldest = 0, newest = 0;
    size_t n = i;
    for (; i < ts->nsamples; i++) {
        int64_t t = samples[i].t;
        if (t < min_t) {
            if (too_old++ == 0 || t < oldest) {
                oldest = t;
            }
            continue;
        }
        if (t > max_t) {
            if (too_new++ == 0 || t > newest) {
                newest = t;
            }
            continue;
        }
        samples[n++] = samples[i];
    }
    ts->nsamples = (uint32_t)n;
    ts->raw = NULL;
    char dur[32];
    if (too_old > 0) {
        rep->discarded[REASON_TOO_OLD] += too_old;
        series_text(req, ts, text);
        tr_duration_format(lim->max_age_ms * TR_NS_PER_MS, dur, sizeof(dur));
        distributor_report_error(
            rep,
            "cannot accept %lld samples of series %.*s: too old (timestamp "
            "%lld is more than %s ago, limits.reject_old_samples_max_age)",
            (long long)too_old, (int)text->len, text->data, (long long)oldest,
            dur);
    }
    if (too_new > 0) {
        rep->discarded[REASON_TOO_FAR_IN_FUTURE] += too_new;
        series_text(req, ts, text);
        tr_duration_format(lim->grace_ms * TR_NS_PER_MS, dur, sizeof(dur));
        distributor_report_error(
            rep,
            "cannot accept %lld samples of series %.*s: too far in the "
            "future (timestamp %lld is more than %s ahead, "
            "limits.creation_grace_period)",
            (long long)too_new, (int)text->len, text->data, (long long)newest,
            dur);
    }
}

static void
check_exemplars(struct tr_prompb_request *req, struct tr_prompb_series *ts,
                struct distributor_report *rep, struct tr_buf *text)
{
    struct tr_prompb_exemplar *exs = &req->exemplars[ts->exemplars];
    size_t n = 0;
    char why[256];
    for (size_t i = 0; i < ts->nexemplars; i++) {
        if (check_exemplar(req, &exs[i], why, sizeof(why))) {
            exs[n++] = exs[i];
            continue;
        }
        rep->exemplars_dropped++;
        series_text(req, ts, text);
        distributor_report_error(rep,
                                 "cannot accept exemplar of series %.*s: %s",
                                 (int)text->len, text->data, why);
    }
    if (n != ts->nexemplars) {
        ts->raw = NULL;
        ts->nexemplars = (uint32_t)n;
    }
    rep->exemplars_ok += (int64_t)n;
}

static void
check_metadata(struct tr_prompb_request *req,
               const struct distributor_limits *lim,
               struct distributor_report *rep)
{
    size_t n = 0;
    int64_t max = lim->max_metadata_len;
    for (size_t i = 0; i < req->nmetadata; i++) {
        const struct tr_prompb_metadata *m = &req->metadata[i];
        size_t nlen = m->family_len;
        const char *what = NULL;
        size_t len = 0;
        if (nlen == 0) {
            rep->metadata_dropped++;
            distributor_report_error(rep, "cannot accept metadata: metric "
                                          "family name is empty");
            continue;
        }
        if (max > 0 && (int64_t)nlen > max) {
            what = "metric family name";
            len = nlen;
        } else if (max > 0 && (int64_t)m->help_len > max) {
            what = "help";
            len = m->help_len;
        } else if (max > 0 && (int64_t)m->unit_len > max) {
            what = "unit";
            len = m->unit_len;
        }
        if (what != NULL) {
            rep->metadata_dropped++;
            distributor_report_error(
                rep,
                "cannot accept metadata of metric \"%.*s\": %s is %zu "
                "bytes long, longer than the limit of %lld "
                "(limits.max_metadata_length)",
                cut(nlen, 64), m->family, what, len, (long long)max);
            continue;
        }
        req->metadata[n++] = *m;
    }
    req->nmetadata = n;
    rep->metadata_ok += (int64_t)n;
}

void
distributor_validate(struct tr_prompb_request *req,
                     const struct distributor_limits *lim, int64_t now_ms,
                     struct distributor_report *rep)
{
    struct tr_buf text = TR_BUF_INIT;
    char why[512];
    size_t kept = 0;
    for (size_t i = 0; i < req->nseries; i++) {
        struct tr_prompb_series *ts = &req->series[i];
        int64_t samples = (int64_t)ts->nsamples;
        int64_t histograms = (int64_t)ts->nhistograms;
        rep->samples_in += samples;

        enum distributor_reason r =
            check_labels(req, ts, lim, why, sizeof(why));
        if (r != REASON_COUNT) {
            rep->discarded[r] += samples + histograms;
            rep->exemplars_dropped += (int64_t)ts->nexemplars;
            series_text(req, ts, &text);
            distributor_report_error(rep, "cannot accept series %.*s: %s",
                                     (int)text.len, text.data, why);
            continue;
        }
        if (histograms > 0) {
            rep->discarded[REASON_NATIVE_HISTOGRAM] += histograms;
            series_text(req, ts, &text);
            distributor_report_error(
                rep,
                "cannot accept %lld native histogram samples of series %.*s: "
                "native histograms are not supported yet (float samples are "
                "written)",
                (long long)histograms, (int)text.len, text.data);
            ts->nhistograms = 0;
            ts->raw = NULL;
        }
        check_samples(req, ts, lim, now_ms, rep, &text);
        if (ts->nexemplars > 0) {
            check_exemplars(req, ts, rep, &text);
        }
        if (ts->nsamples == 0 && ts->nexemplars == 0) {
            continue;
        }
        rep->samples_ok += (int64_t)ts->nsamples;
        req->series[kept++] = *ts;
    }
    req->nseries = kept;
    check_metadata(req, lim, rep);
    tr_buf_fini(&text);
}
