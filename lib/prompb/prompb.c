/*
 * Hand-written protobuf wire codec for the metrics write messages (see
 * prompb.h). The wire format in short: each field is a varint key
 * (number << 3 | wire type) followed by a varint (type 0), 8 bytes (1), a
 * varint length and that many bytes (2) or 4 bytes (5); types 3 and 4
 * (groups) are not used by these messages and are refused.
 */
#include "prompb/prompb.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

enum wire {
    WIRE_VARINT = 0,
    WIRE_I64 = 1,
    WIRE_LEN = 2,
    WIRE_I32 = 5,
};

/* ==== request arrays ===================================================== */

void
tr_prompb_request_init(struct tr_prompb_request *r)
{
    memset(r, 0, sizeof(*r));
}

void
tr_prompb_request_fini(struct tr_prompb_request *r)
{
    tr_free(r->series);
    tr_free(r->labels);
    tr_free(r->exemplar_labels);
    tr_free(r->samples);
    tr_free(r->exemplars);
    tr_free(r->histograms);
    tr_free(r->metadata);
    memset(r, 0, sizeof(*r));
}

void
tr_prompb_request_reset(struct tr_prompb_request *r)
{
    r->tenant = NULL;
    r->tenant_len = 0;
    r->nseries = 0;
    r->nlabels = 0;
    r->nexemplar_labels = 0;
    r->nsamples = 0;
    r->nexemplars = 0;
    r->nhistograms = 0;
    r->nmetadata = 0;
}

/* ==== per-thread reuse ==================================================== */

#define CACHE_MAX_BYTES ((size_t)16 << 20)

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_ok;

static void
cache_free(void *p)
{
    if (p != NULL) {
        tr_prompb_request_fini(p);
        tr_free(p);
    }
}

static void
cache_init(void)
{
    cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

struct tr_prompb_request *
tr_prompb_request_get(void)
{
    pthread_once(&cache_once, cache_init);
    struct tr_prompb_request *r =
        cache_ok ? pthread_getspecific(cache_key) : NULL;
    if (r != NULL) {
        pthread_setspecific(cache_key, NULL);
        tr_prompb_request_reset(r);
        return r;
    }
    r = tr_malloc(sizeof(*r));
    if (r != NULL) {
        tr_prompb_request_init(r);
    }
    return r;
}

static size_t
request_bytes(const struct tr_prompb_request *r)
{
    return r->cap_series * sizeof(*r->series) +
           r->cap_labels * sizeof(*r->labels) +
           r->cap_exemplar_labels * sizeof(*r->exemplar_labels) +
           r->cap_samples * sizeof(*r->samples) +
           r->cap_exemplars * sizeof(*r->exemplars) +
           r->cap_histograms * sizeof(*r->histograms) +
           r->cap_metadata * sizeof(*r->metadata);
}

void
tr_prompb_request_put(struct tr_prompb_request *r)
{
    if (r == NULL) {
        return;
    }
    pthread_once(&cache_once, cache_init);
    if (cache_ok && request_bytes(r) <= CACHE_MAX_BYTES &&
        pthread_getspecific(cache_key) == NULL &&
        pthread_setspecific(cache_key, r) == 0) {
        /* Strings point into an input that is about to go away. */
        tr_prompb_request_reset(r);
        return;
    }
    cache_free(r);
}

/* Makes room for one more element in *arr (n used of *cap). */
static int
grow(void **arr, size_t *cap, size_t elem, size_t hint)
{
    size_t ncap = *cap == 0 ? (hint > 16 ? hint : 16) : *cap * 2;
    if (ncap > UINT32_MAX) {
        return TR_ELIMIT; /* slices are 32-bit indexes */
    }
    void *p = tr_realloc(*arr, ncap * elem);
    if (p == NULL) {
        return TR_ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return TR_OK;
}

/* ==== decoding =========================================================== */

struct dec {
    const uint8_t *base; /* start of the input: offsets in messages */
    const char *what;    /* "remote-write request", ... */
    struct tr_prompb_request *r;
    size_t hint; /* input length: first capacity guesses */
    struct tr_err *err;
};

static int
fail_mem(struct dec *d, int rc)
{
    if (rc == TR_ENOMEM) {
        return tr_err_set(d->err, TR_ENOMEM, "cannot decode %s: out of memory",
                          d->what);
    }
    return tr_err_set(d->err, TR_EINVAL,
                      "cannot decode %s: more than 2^32 items", d->what);
}

/* Reads a varint; false when truncated or longer than 10 bytes. */
static inline bool
get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return true;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && p < end; shift += 7) {
        uint8_t b = *p++;
        /* Bits past 64 in a 10th byte are dropped, as protobuf-c does. */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* One field's value as read by wire type. */
struct field {
    uint32_t number;
    enum wire wire;
    const uint8_t *at;   /* where the field (its key) starts */
    uint64_t u;          /* varint, or the 8/4 bytes little-endian */
    const uint8_t *data; /* WIRE_LEN: the bytes */
    size_t len;
};

static inline uint64_t
load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/*
 * Reads the next field of a message in [*pp, end) (msg names the message
 * for errors). TR_OK with f filled, or TR_EINVAL.
 */
static inline int
next_field(struct dec *d, const uint8_t **pp, const uint8_t *end,
           const char *msg, struct field *f)
{
    const uint8_t *p = *pp;
    f->at = p;
    uint64_t key;
    if (!get_varint(&p, end, &key)) {
        return tr_err_set(d->err, TR_EINVAL,
                          "cannot decode %s: truncated field key in %s at "
                          "byte %zu",
                          d->what, msg, (size_t)(f->at - d->base));
    }
    if ((key >> 3) == 0 || (key >> 3) > UINT32_MAX) {
        return tr_err_set(d->err, TR_EINVAL,
                          "cannot decode %s: invalid field number %llu in "
                          "%s at byte %zu",
                          d->what, (unsigned long long)(key >> 3), msg,
                          (size_t)(f->at - d->base));
    }
    f->number = (uint32_t)(key >> 3);
    f->wire = (enum wire)(key & 7);
    switch (f->wire) {
    case WIRE_VARINT:
        if (!get_varint(&p, end, &f->u)) {
            return tr_err_set(d->err, TR_EINVAL,
                              "cannot decode %s: truncated or over-long "
                              "varint in field %u of %s at byte %zu",
                              d->what, (unsigned)f->number, msg,
                              (size_t)(f->at - d->base));
        }
        break;
    case WIRE_I64:
        if (end - p < 8) {
            goto truncated;
        }
        f->u = load_le64(p);
        p += 8;
        break;
    case WIRE_I32:
        if (end - p < 4) {
            goto truncated;
        }
        f->u = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
               (uint64_t)p[3] << 24;
        p += 4;
        break;
    case WIRE_LEN: {
        uint64_t n;
        if (!get_varint(&p, end, &n) || n > (uint64_t)(end - p)) {
            goto truncated;
        }
        f->data = p;
        f->len = (size_t)n;
        p += n;
        break;
    }
    default:
        return tr_err_set(d->err, TR_EINVAL,
                          "cannot decode %s: unsupported wire type %u in "
                          "field %u of %s at byte %zu",
                          d->what, (unsigned)f->wire, (unsigned)f->number, msg,
                          (size_t)(f->at - d->base));
    }
    *pp = p;
    return TR_OK;
truncated:
    return tr_err_set(d->err, TR_EINVAL,
                      "cannot decode %s: truncated field %u of %s at byte "
                      "%zu",
                      d->what, (unsigned)f->number, msg,
                      (size_t)(f->at - d->base));
}

static int
wrong_wire(struct dec *d, const struct field *f, const char *msg)
{
    return tr_err_set(d->err, TR_EINVAL,
                      "cannot decode %s: field %u of %s has wire type %u at "
                      "byte %zu",
                      d->what, (unsigned)f->number, msg, (unsigned)f->wire,
                      (size_t)(f->at - d->base));
}

#define EXPECT(d, f, w, msg)                                                   \
    do {                                                                       \
        if ((f)->wire != (w)) {                                                \
            return wrong_wire((d), (f), (msg));                                \
        }                                                                      \
    } while (0)

/* prometheus.Label {name = 1, value = 2} into *out. */
static int
decode_label(struct dec *d, const uint8_t *p, const uint8_t *end,
             struct tr_label *out)
{
    static const char msg[] = "prometheus.Label";
    /* The common shape: name then value, each shorter than 128 bytes. */
    if (end - p >= 4 && p[0] == 0x0a && p[1] < 0x80 && end - p >= 4 + p[1] &&
        p[2 + p[1]] == 0x12 && p[3 + p[1]] < 0x80 &&
        end - p == 4 + p[1] + p[3 + p[1]]) {
        *out = (struct tr_label){(const char *)p + 2, p[1],
                                 (const char *)p + 4 + p[1], p[3 + p[1]]};
        return TR_OK;
    }
    *out = (struct tr_label){"", 0, "", 0};
    struct field f;
    while (p < end) {
        int rc = next_field(d, &p, end, msg, &f);
        if (rc != TR_OK) {
            return rc;
        }
        if (f.number == 1) {
            EXPECT(d, &f, WIRE_LEN, msg);
            out->name = (const char *)f.data;
            out->name_len = f.len;
        } else if (f.number == 2) {
            EXPECT(d, &f, WIRE_LEN, msg);
            out->value = (const char *)f.data;
            out->value_len = f.len;
        }
    }
    return TR_OK;
}

/* Appends one label (decoded from [p, end)) to *arr. */
static int
add_label(struct dec *d, struct tr_label **arr, size_t *n, size_t *cap,
          const uint8_t *p, const uint8_t *end)
{
    if (*n == *cap) {
        int rc = grow((void **)arr, cap, sizeof(**arr), d->hint / 48);
        if (rc != TR_OK) {
            return fail_mem(d, rc);
        }
    }
    int rc = decode_label(d, p, end, &(*arr)[*n]);
    if (rc == TR_OK) {
        (*n)++;
    }
    return rc;
}

/* prometheus.Sample {value = 1 (double), timestamp = 2 (int64)}. */
static int
decode_sample(struct dec *d, const uint8_t *p, const uint8_t *end)
{
    static const char msg[] = "prometheus.Sample";
    struct tr_prompb_request *r = d->r;
    if (r->nsamples == r->cap_samples) {
        int rc = grow((void **)&r->samples, &r->cap_samples,
                      sizeof(*r->samples), d->hint / 256);
        if (rc != TR_OK) {
            return fail_mem(d, rc);
        }
    }
    struct tr_prompb_sample *s = &r->samples[r->nsamples];
    uint64_t vbits = 0;
    s->t = 0;
    /* The common shape: value then timestamp, nothing else. */
    if (end - p >= 10 && p[0] == 0x09 && p[9] == 0x10) {
        vbits = load_le64(p + 1);
        p += 10;
        uint64_t t;
        const uint8_t *q = p;
        if (get_varint(&q, end, &t) && q == end) {
            s->t = (int64_t)t;
            memcpy(&s->v, &vbits, 8);
            r->nsamples++;
            return TR_OK;
        }
        p -= 10;
    }
    struct field f;
    while (p < end) {
        int rc = next_field(d, &p, end, msg, &f);
        if (rc != TR_OK) {
            return rc;
        }
        if (f.number == 1) {
            EXPECT(d, &f, WIRE_I64, msg);
            vbits = f.u;
        } else if (f.number == 2) {
            EXPECT(d, &f, WIRE_VARINT, msg);
            s->t = (int64_t)f.u;
        }
    }
    memcpy(&s->v, &vbits, 8);
    r->nsamples++;
    return TR_OK;
}

/* prometheus.Exemplar {labels = 1, value = 2, timestamp = 3}. */
static int
decode_exemplar(struct dec *d, const uint8_t *p, const uint8_t *end)
{
    static const char msg[] = "prometheus.Exemplar";
    struct tr_prompb_request *r = d->r;
    if (r->nexemplars == r->cap_exemplars) {
        int rc = grow((void **)&r->exemplars, &r->cap_exemplars,
                      sizeof(*r->exemplars), 0);
        if (rc != TR_OK) {
            return fail_mem(d, rc);
        }
    }
    struct tr_prompb_exemplar ex = {.labels = (uint32_t)r->nexemplar_labels};
    uint64_t vbits = 0;
    struct field f;
    while (p < end) {
        int rc = next_field(d, &p, end, msg, &f);
        if (rc != TR_OK) {
            return rc;
        }
        if (f.number == 1) {
            EXPECT(d, &f, WIRE_LEN, msg);
            rc = add_label(d, &r->exemplar_labels, &r->nexemplar_labels,
                           &r->cap_exemplar_labels, f.data, f.data + f.len);
            if (rc != TR_OK) {
                return rc;
            }
            ex.nlabels++;
        } else if (f.number == 2) {
            EXPECT(d, &f, WIRE_I64, msg);
            vbits = f.u;
        } else if (f.number == 3) {
            EXPECT(d, &f, WIRE_VARINT, msg);
            ex.timestamp = (int64_t)f.u;
        }
    }
    memcpy(&ex.value, &vbits, 8);
    r->exemplars[r->nexemplars++] = ex;
    return TR_OK;
}

/* Checks that [p, end) is a well-formed sequence of fields. */
static int
skim_message(struct dec *d, const uint8_t *p, const uint8_t *end,
             const char *msg)
{
    struct field f;
    while (p < end) {
        int rc = next_field(d, &p, end, msg, &f);
        if (rc != TR_OK) {
            return rc;
        }
    }
    return TR_OK;
}

/* prometheus.Histogram: checked and kept raw. */
static int
decode_histogram(struct dec *d, const uint8_t *p, const uint8_t *end)
{
    struct tr_prompb_request *r = d->r;
    int rc = skim_message(d, p, end, "prometheus.Histogram");
    if (rc != TR_OK) {
        return rc;
    }
    if (r->nhistograms == r->cap_histograms) {
        rc = grow((void **)&r->histograms, &r->cap_histograms,
                  sizeof(*r->histograms), 0);
        if (rc != TR_OK) {
            return fail_mem(d, rc);
        }
    }
    r->histograms[r->nhistograms++] =
        (struct tr_prompb_histogram){p, (size_t)(end - p)};
    return TR_OK;
}

/* prometheus.TimeSeries {labels = 1, samples = 2, exemplars = 3,
 * histograms = 4}. */
static int
decode_series(struct dec *d, const uint8_t *p, const uint8_t *end)
{
    static const char msg[] = "prometheus.TimeSeries";
    struct tr_prompb_request *r = d->r;
    if (r->nseries == r->cap_series) {
        int rc = grow((void **)&r->series, &r->cap_series, sizeof(*r->series),
                      d->hint / 512);
        if (rc != TR_OK) {
            return fail_mem(d, rc);
        }
    }
    struct tr_prompb_series s = {
        .raw = p,
        .raw_len = (size_t)(end - p),
        .labels = (uint32_t)r->nlabels,
        .samples = (uint32_t)r->nsamples,
        .exemplars = (uint32_t)r->nexemplars,
        .histograms = (uint32_t)r->nhistograms,
    };
    struct field f;
    while (p < end) {
        int rc = next_field(d, &p, end, msg, &f);
        if (rc != TR_OK) {
            return rc;
        }
        switch (f.number) {
        case 1:
            EXPECT(d, &f, WIRE_LEN, msg);
            rc = add_label(d, &r->labels, &r->nlabels, &r->cap_labels, f.data,
                           f.data + f.len);
            break;
        case 2:
            EXPECT(d, &f, WIRE_LEN, msg);
            rc = decode_sample(d, f.data, f.data + f.len);
            break;
        case 3:
            EXPECT(d, &f, WIRE_LEN, msg);
            rc = decode_exemplar(d, f.data, f.data + f.len);
            break;
        case 4:
            EXPECT(d, &f, WIRE_LEN, msg);
            rc = decode_histogram(d, f.data, f.data + f.len);
            break;
        default:
            break;
        }
        if (rc != TR_OK) {
            return rc;
        }
    }
    s.nlabels = (uint32_t)(r->nlabels - s.labels);
    s.nsamples = (uint32_t)(r->nsamples - s.samples);
    s.nexemplars = (uint32_t)(r->nexemplars - s.exemplars);
    s.nhistograms = (uint32_t)(r->nhistograms - s.histograms);
    r->series[r->nseries++] = s;
    return TR_OK;
}

/* prometheus.MetricMetadata {type = 1, metric_family_name = 2, help = 4,
 * unit = 5}. */
static int
decode_metadata(struct dec *d, const uint8_t *p, const uint8_t *end)
{
    static const char msg[] = "prometheus.MetricMetadata";
    struct tr_prompb_request *r = d->r;
    if (r->nmetadata == r->cap_metadata) {
        int rc = grow((void **)&r->metadata, &r->cap_metadata,
                      sizeof(*r->metadata), 0);
        if (rc != TR_OK) {
            return fail_mem(d, rc);
        }
    }
    struct tr_prompb_metadata m = {0, "", 0, "", 0, "", 0};
    struct field f;
    while (p < end) {
        int rc = next_field(d, &p, end, msg, &f);
        if (rc != TR_OK) {
            return rc;
        }
        switch (f.number) {
        case 1:
            EXPECT(d, &f, WIRE_VARINT, msg);
            m.type = (int32_t)f.u;
            break;
        case 2:
            EXPECT(d, &f, WIRE_LEN, msg);
            m.family = (const char *)f.data;
            m.family_len = f.len;
            break;
        case 4:
            EXPECT(d, &f, WIRE_LEN, msg);
            m.help = (const char *)f.data;
            m.help_len = f.len;
            break;
        case 5:
            EXPECT(d, &f, WIRE_LEN, msg);
            m.unit = (const char *)f.data;
            m.unit_len = f.len;
            break;
        default:
            break;
        }
    }
    r->metadata[r->nmetadata++] = m;
    return TR_OK;
}

int
tr_prompb_decode(struct tr_prompb_request *r, enum tr_prompb_message kind,
                 const void *data, size_t len, struct tr_err *err)
{
    bool push = kind == TR_PROMPB_PUSH_METRICS;
    const char *msg = push ? "trident.ingester.PushMetricsRequest"
                           : "prometheus.WriteRequest";
    struct dec d = {
        .base = data,
        .what = push ? "ingester.PushMetrics request" : "remote-write request",
        .r = r,
        .hint = len,
        .err = err,
    };
    uint32_t series_field = push ? 2 : 1;
    const uint8_t *p = data;
    const uint8_t *end = p + len;
    tr_prompb_request_reset(r);
    struct field f;
    int rc = TR_OK;
    while (p < end && rc == TR_OK) {
        rc = next_field(&d, &p, end, msg, &f);
        if (rc != TR_OK) {
            break;
        }
        if (f.number == series_field) {
            if (f.wire != WIRE_LEN) {
                rc = wrong_wire(&d, &f, msg);
                break;
            }
            rc = decode_series(&d, f.data, f.data + f.len);
        } else if (f.number == 3) {
            if (f.wire != WIRE_LEN) {
                rc = wrong_wire(&d, &f, msg);
                break;
            }
            rc = decode_metadata(&d, f.data, f.data + f.len);
        } else if (push && f.number == 1) {
            if (f.wire != WIRE_LEN) {
                rc = wrong_wire(&d, &f, msg);
                break;
            }
            r->tenant = (const char *)f.data;
            r->tenant_len = f.len;
        }
    }
    if (rc != TR_OK) {
        tr_prompb_request_reset(r);
    }
    return rc;
}

/* ==== encoding =========================================================== */

static inline size_t
varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Key, length and body of a length-delimited field of body size n. */
static inline size_t
len_field_size(size_t n)
{
    return 1 + varint_size(n) + n;
}

static inline uint64_t
double_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return b;
}

static inline size_t
string_field_size(size_t n)
{
    return n > 0 ? len_field_size(n) : 0;
}

static size_t
label_size(const struct tr_label *l)
{
    return string_field_size(l->name_len) + string_field_size(l->value_len);
}

static size_t
sample_size(const struct tr_prompb_sample *s)
{
    return (double_bits(s->v) != 0 ? 9 : 0) +
           (s->t != 0 ? 1 + varint_size((uint64_t)s->t) : 0);
}

static size_t
exemplar_size(const struct tr_prompb_request *r,
              const struct tr_prompb_exemplar *ex)
{
    size_t n = 0;
    for (uint32_t i = 0; i < ex->nlabels; i++) {
        n += len_field_size(label_size(&r->exemplar_labels[ex->labels + i]));
    }
    n += double_bits(ex->value) != 0 ? 9 : 0;
    n += ex->timestamp != 0 ? 1 + varint_size((uint64_t)ex->timestamp) : 0;
    return n;
}

static size_t
series_size(const struct tr_prompb_request *r, const struct tr_prompb_series *s)
{
    if (s->raw != NULL) {
        return s->raw_len;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < s->nlabels; i++) {
        n += len_field_size(label_size(&r->labels[s->labels + i]));
    }
    for (uint32_t i = 0; i < s->nsamples; i++) {
        n += len_field_size(sample_size(&r->samples[s->samples + i]));
    }
    for (uint32_t i = 0; i < s->nexemplars; i++) {
        n += len_field_size(exemplar_size(r, &r->exemplars[s->exemplars + i]));
    }
    for (uint32_t i = 0; i < s->nhistograms; i++) {
        const struct tr_prompb_histogram *h = &r->histograms[s->histograms + i];
        if (h->data != NULL) {
            n += len_field_size(h->len);
        }
    }
    return n;
}

static size_t
metadata_size(const struct tr_prompb_metadata *m)
{
    return (m->type != 0 ? 1 + varint_size((uint64_t)(int64_t)m->type) : 0) +
           string_field_size(m->family_len) + string_field_size(m->help_len) +
           string_field_size(m->unit_len);
}

static inline uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *
put_bytes_field(uint8_t *p, uint8_t key, const void *data, size_t n)
{
    *p++ = key;
    p = put_varint(p, n);
    memcpy(p, data, n);
    return p + n;
}

static inline uint8_t *
put_string(uint8_t *p, uint8_t key, const char *s, size_t n)
{
    return n > 0 ? put_bytes_field(p, key, s, n) : p;
}

static inline uint8_t *
put_double(uint8_t *p, uint8_t key, double v)
{
    uint64_t b = double_bits(v);
    if (b == 0) {
        return p;
    }
    *p++ = key;
    for (int i = 0; i < 8; i++) {
        *p++ = (uint8_t)(b >> (8 * i));
    }
    return p;
}

static inline uint8_t *
put_int64(uint8_t *p, uint8_t key, int64_t v)
{
    if (v == 0) {
        return p;
    }
    *p++ = key;
    return put_varint(p, (uint64_t)v);
}

static uint8_t *
put_label(uint8_t *p, uint8_t key, const struct tr_label *l)
{
    *p++ = key;
    p = put_varint(p, label_size(l));
    p = put_string(p, 0x0a, l->name, l->name_len);
    return put_string(p, 0x12, l->value, l->value_len);
}

static uint8_t *
put_series(uint8_t *p, const struct tr_prompb_request *r,
           const struct tr_prompb_series *s, size_t size)
{
    *p++ = 0x12; /* PushMetricsRequest.timeseries = 2 */
    p = put_varint(p, size);
    if (s->raw != NULL) {
        /* Unchanged since decoding: the same bytes encode it. */
        memcpy(p, s->raw, size);
        return p + size;
    }
    for (uint32_t i = 0; i < s->nlabels; i++) {
        p = put_label(p, 0x0a, &r->labels[s->labels + i]);
    }
    for (uint32_t i = 0; i < s->nsamples; i++) {
        const struct tr_prompb_sample *sm = &r->samples[s->samples + i];
        *p++ = 0x12;
        p = put_varint(p, sample_size(sm));
        p = put_double(p, 0x09, sm->v);
        p = put_int64(p, 0x10, sm->t);
    }
    for (uint32_t i = 0; i < s->nexemplars; i++) {
        const struct tr_prompb_exemplar *ex = &r->exemplars[s->exemplars + i];
        *p++ = 0x1a;
        p = put_varint(p, exemplar_size(r, ex));
        for (uint32_t k = 0; k < ex->nlabels; k++) {
            p = put_label(p, 0x0a, &r->exemplar_labels[ex->labels + k]);
        }
        p = put_double(p, 0x11, ex->value);
        p = put_int64(p, 0x18, ex->timestamp);
    }
    for (uint32_t i = 0; i < s->nhistograms; i++) {
        const struct tr_prompb_histogram *h = &r->histograms[s->histograms + i];
        if (h->data != NULL) {
            p = put_bytes_field(p, 0x22, h->data, h->len);
        }
    }
    return p;
}

static uint8_t *
put_metadata(uint8_t *p, const struct tr_prompb_metadata *m)
{
    *p++ = 0x1a; /* PushMetricsRequest.metadata = 3 */
    p = put_varint(p, metadata_size(m));
    if (m->type != 0) {
        *p++ = 0x08;
        p = put_varint(p, (uint64_t)(int64_t)m->type);
    }
    p = put_string(p, 0x12, m->family, m->family_len);
    p = put_string(p, 0x22, m->help, m->help_len);
    return put_string(p, 0x2a, m->unit, m->unit_len);
}

int
tr_prompb_encode_push(const struct tr_prompb_request *r, const char *tenant,
                      size_t tenant_len, const uint32_t *series_idx,
                      size_t nseries, const uint32_t *metadata_idx,
                      size_t nmetadata, struct tr_buf *out, struct tr_err *err)
{
    /* Series sizes are needed twice (total, then each length prefix). */
    size_t *sizes = tr_malloc((nseries > 0 ? nseries : 1) * sizeof(*sizes));
    if (sizes == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot encode ingester.PushMetrics request: out of "
                          "memory");
    }
    size_t total = string_field_size(tenant_len);
    for (size_t i = 0; i < nseries; i++) {
        size_t k = series_idx != NULL ? series_idx[i] : i;
        sizes[i] = series_size(r, &r->series[k]);
        total += len_field_size(sizes[i]);
    }
    for (size_t i = 0; i < nmetadata; i++) {
        size_t k = metadata_idx != NULL ? metadata_idx[i] : i;
        total += len_field_size(metadata_size(&r->metadata[k]));
    }
    if (tr_buf_reserve(out, total + 1) != TR_OK) {
        tr_free(sizes);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot encode ingester.PushMetrics request: out of "
                          "memory");
    }
    uint8_t *start = (uint8_t *)out->data + out->len;
    uint8_t *p = put_string(start, 0x0a, tenant, tenant_len);
    for (size_t i = 0; i < nseries; i++) {
        size_t k = series_idx != NULL ? series_idx[i] : i;
        p = put_series(p, r, &r->series[k], sizes[i]);
    }
    for (size_t i = 0; i < nmetadata; i++) {
        size_t k = metadata_idx != NULL ? metadata_idx[i] : i;
        p = put_metadata(p, &r->metadata[k]);
    }
    tr_free(sizes);
    if ((size_t)(p - start) != total) {
        tr_log_error("prompb: encoded size differs from computed size",
                     "computed=%zu written=%zu", total, (size_t)(p - start));
        abort();
    }
    out->len += (size_t)(p - start);
    out->data[out->len] = '\0';
    return TR_OK;
}
