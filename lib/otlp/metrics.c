#include "otlp/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "json/writer.h"
#include "otlp/naming.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue any_value;
typedef Opentelemetry__Proto__Common__V1__KeyValue key_value;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint hist_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint summary_point;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar otlp_exemplar;

#define DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define MAX_REASONS 10
#define MAX_EXEMPLAR_RUNES 128
#define NAME_CACHE_SIZE 256

/* A label under construction: name and value borrowed or in the arena. */
struct lbl {
    const char *name;
    const char *value;
};

/* A growable array of labels on the heap, reused across points. */
struct lbl_vec {
    struct lbl *v;
    size_t n, cap;
};

struct series {
    Prometheus__TimeSeries *ts;
    uint64_t hash;
    size_t cap_samples;
    size_t cap_exemplars;
};

/* Translation state for one request. */
struct tx {
    struct tr_arena *arena;
    struct tr_err *err;
    struct tr_otlp_metrics_opts opts;
    struct tr_otlp_metrics_result *out;

    /* Series in creation order plus an open-addressing index over them. */
    struct series **series;
    size_t n_series, cap_series;
    struct series **index;
    size_t index_cap; /* power of two */

    Prometheus__MetricMetadata **meta;
    size_t n_meta, cap_meta;

    /* Scratch label sets: a point's base labels and one series' labels. */
    struct lbl_vec base, full;
    struct tr_buf text; /* rendering attribute values */

    /* Recent attribute keys and their sanitised names. */
    struct {
        const char *key;
        const char *name; /* NULL: key is not a valid label name */
    } name_cache[NAME_CACHE_SIZE];

    /* Reasons for dropped points, "; "-joined. */
    struct tr_buf reasons;
    int n_reasons;
    int reasons_left_out;

    /* Resource context. */
    const char *job;
    const char *instance;
};

static int
nomem(struct tx *x)
{
    return tr_err_set(x->err, TR_ENOMEM,
                      "cannot translate OTLP metrics: out of memory");
}

/* ---- small helpers -------------------------------------------------- */

static int64_t
ns_to_ms(uint64_t ns)
{
    return (int64_t)ns / 1000000;
}

static double
stale_nan(void)
{
    union {
        uint64_t u;
        double d;
    } v = {.u = TR_OTLP_STALE_NAN_BITS};

    return v.d;
}

static int
lbl_vec_push(struct lbl_vec *v, const char *name, const char *value)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        struct lbl *nv = tr_realloc(v->v, cap * sizeof(*nv));

        if (nv == NULL) {
            return TR_ENOMEM;
        }
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n].name = name;
    v->v[v->n].value = value;
    v->n++;
    return TR_OK;
}

/* Sets name=value, replacing an existing label of that name. */
static int
lbl_vec_set(struct lbl_vec *v, const char *name, const char *value)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i].name, name) == 0) {
            v->v[i].value = value;
            return TR_OK;
        }
    }
    return lbl_vec_push(v, name, value);
}

static int
cmp_lbl_name(const void *a, const void *b)
{
    return strcmp(((const struct lbl *)a)->name, ((const struct lbl *)b)->name);
}

/* Sort key for attributes: by key, stable through the original index. */
struct keyed {
    const char *key;
    const any_value *value;
    size_t idx;
};

static int
cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0) {
        return c;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
append_base64(struct tr_buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[4];

        if (i + 1 < n) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= p[i + 2];
        }
        q[0] = base64_chars[(v >> 18) & 63];
        q[1] = base64_chars[(v >> 12) & 63];
        q[2] = i + 1 < n ? base64_chars[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? base64_chars[v & 63] : '=';
        if (tr_buf_append(b, q, 4) != TR_OK) {
            return TR_ENOMEM;
        }
    }
    return TR_OK;
}

/* Writes v as the JSON of its raw value (maps with sorted keys). */
static int
write_json_value(struct tr_json *w, const any_value *v)
{
    if (v == NULL) {
        return tr_json_null(w);
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        return tr_json_string(w, v->string_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        return tr_json_bool(w, v->bool_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        return tr_json_int(w, v->int_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (!isfinite(v->double_value)) {
            return tr_json_null(w);
        }
        return tr_json_double(w, v->double_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: {
        struct tr_buf b64 = TR_BUF_INIT;
        int rc = append_base64(&b64, v->bytes_value.data, v->bytes_value.len);

        if (rc == TR_OK) {
            rc = tr_json_string_len(w, b64.data, b64.len);
        }
        tr_buf_fini(&b64);
        return rc;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        tr_json_array_begin(w);
        if (v->array_value != NULL) {
            for (size_t i = 0; i < v->array_value->n_values; i++) {
                write_json_value(w, v->array_value->values[i]);
            }
        }
        return tr_json_array_end(w);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        const Opentelemetry__Proto__Common__V1__KeyValueList *kv =
            v->kvlist_value;
        size_t n = kv != NULL ? kv->n_values : 0;
        struct keyed *k = n > 0 ? tr_malloc(n * sizeof(*k)) : NULL;

        if (n > 0 && k == NULL) {
            return TR_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            k[i].key = kv->values[i]->key;
            k[i].value = kv->values[i]->value;
            k[i].idx = i;
        }
        if (n > 1) {
            qsort(k, n, sizeof(*k), cmp_keyed);
        }
        tr_json_object_begin(w);
        for (size_t i = 0; i < n; i++) {
            tr_json_key(w, k[i].key);
            write_json_value(w, k[i].value);
        }
        tr_free(k);
        return tr_json_object_end(w);
    }
    default:
        return tr_json_null(w);
    }
}

/*
 * The label value for an attribute value, as OTLP's AsString renders it.
 * Strings are returned as they are (borrowed from the request).
 */
static const char *
value_string(struct tx *x, const any_value *v)
{
    char num[32];
    struct tr_json w;

    if (v == NULL) {
        return "";
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        return v->string_value;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        return v->bool_value ? "true" : "false";
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        snprintf(num, sizeof(num), "%" PRId64, v->int_value);
        return tr_arena_strndup(x->arena, num, strlen(num));
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(v->double_value)) {
            return "NaN";
        }
        if (isinf(v->double_value)) {
            return v->double_value > 0 ? "+Inf" : "-Inf";
        }
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        tr_buf_reset(&x->text);
        if (append_base64(&x->text, v->bytes_value.data, v->bytes_value.len) !=
            TR_OK) {
            return NULL;
        }
        return tr_arena_strndup(x->arena, x->text.data ? x->text.data : "",
                                x->text.len);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        break;
    default:
        return "";
    }
    /* Doubles, arrays and maps: their JSON text. */
    tr_buf_reset(&x->text);
    tr_json_init(&w, &x->text);
    write_json_value(&w, v);
    if (tr_json_finish(&w) != TR_OK) {
        return NULL;
    }
    return tr_arena_strndup(x->arena, x->text.data, x->text.len);
}

/* FNV-1a of a string, for the name cache and the series index. */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

/*
 * The sanitised label name for an attribute key, cached. Sets *name to
 * NULL for keys that give no valid label name. TR_OK or TR_ENOMEM.
 */
static int
label_name(struct tx *x, const char *key, const char **name)
{
    size_t slot = fnv1a(FNV_OFFSET, key) & (NAME_CACHE_SIZE - 1);
    bool invalid;
    char *n;

    if (x->name_cache[slot].key != NULL &&
        strcmp(x->name_cache[slot].key, key) == 0) {
        *name = x->name_cache[slot].name;
        return TR_OK;
    }
    n = tr_otlp_label_name(x->arena, key, x->opts.keep_underscore_labels,
                           &invalid);
    if (n == NULL && !invalid) {
        return TR_ENOMEM;
    }
    x->name_cache[slot].key = key;
    x->name_cache[slot].name = n;
    *name = n;
    return TR_OK;
}

/*
 * Fills v with the sanitised labels of attrs (minus the keys in skip),
 * colliding names merged with ';' in key order. TR_OK or TR_ENOMEM.
 */
static int
attribute_labels(struct tx *x, key_value *const *attrs, size_t n_attrs,
                 const char *const *skip, struct lbl_vec *v)
{
    struct keyed *k;
    size_t n = 0;
    int rc = TR_OK;

    v->n = 0;
    if (n_attrs == 0) {
        return TR_OK;
    }
    k = tr_malloc(n_attrs * sizeof(*k));
    if (k == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < n_attrs; i++) {
        bool skipped = false;

        for (size_t s = 0; skip != NULL && skip[s] != NULL; s++) {
            if (strcmp(attrs[i]->key, skip[s]) == 0) {
                skipped = true;
            }
        }
        if (!skipped) {
            k[n].key = attrs[i]->key;
            k[n].value = attrs[i]->value;
            k[n].idx = i;
            n++;
        }
    }
    if (n > 1) {
        qsort(k, n, sizeof(*k), cmp_keyed);
    }
    for (size_t i = 0; i < n && rc == TR_OK; i++) {
        const char *name, *value;
        bool merged = false;

        rc = label_name(x, k[i].key, &name);
        if (rc != TR_OK || name == NULL) {
            continue;
        }
        value = value_string(x, k[i].value);
        if (value == NULL) {
            rc = TR_ENOMEM;
            break;
        }
        for (size_t j = 0; j < v->n; j++) {
            if (strcmp(v->v[j].name, name) == 0) {
                v->v[j].value =
                    tr_arena_sprintf(x->arena, "%s;%s", v->v[j].value, value);
                if (v->v[j].value == NULL) {
                    rc = TR_ENOMEM;
                }
                merged = true;
                break;
            }
        }
        if (!merged && rc == TR_OK) {
            rc = lbl_vec_push(v, name, value);
        }
    }
    tr_free(k);
    return rc;
}

/* ---- series ------------------------------------------------------------ */

static uint64_t
labels_hash(const struct lbl *l, size_t n)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < n; i++) {
        h = fnv1a(h, l[i].name);
        h = (h ^ 0xff) * UINT64_C(0x100000001b3);
        h = fnv1a(h, l[i].value);
        h = (h ^ 0xfe) * UINT64_C(0x100000001b3);
    }
    return h;
}

static bool
labels_equal(const Prometheus__TimeSeries *ts, const struct lbl *l, size_t n)
{
    if (ts->n_labels != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ts->labels[i]->name, l[i].name) != 0 ||
            strcmp(ts->labels[i]->value, l[i].value) != 0) {
            return false;
        }
    }
    return true;
}

static int
index_grow(struct tx *x)
{
    size_t cap = x->index_cap ? x->index_cap * 2 : 1024;
    struct series **idx = tr_calloc(cap, sizeof(*idx));

    if (idx == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < x->n_series; i++) {
        size_t s = x->series[i]->hash & (cap - 1);

        while (idx[s] != NULL) {
            s = (s + 1) & (cap - 1);
        }
        idx[s] = x->series[i];
    }
    tr_free(x->index);
    x->index = idx;
    x->index_cap = cap;
    return TR_OK;
}

/*
 * The series with the labels in x->full (sorted here), created if new.
 * NULL when out of memory.
 */
static struct series *
get_series(struct tx *x)
{
    struct lbl *l = x->full.v;
    size_t n = x->full.n;
    uint64_t h;
    size_t slot;
    struct series *s;
    Prometheus__Label *labels;

    qsort(l, n, sizeof(*l), cmp_lbl_name);
    h = labels_hash(l, n);
    if (x->index_cap == 0 || (x->n_series + 1) * 2 > x->index_cap) {
        if (index_grow(x) != TR_OK) {
            return NULL;
        }
    }
    slot = h & (x->index_cap - 1);
    while (x->index[slot] != NULL) {
        s = x->index[slot];
        if (s->hash == h && labels_equal(s->ts, l, n)) {
            return s;
        }
        slot = (slot + 1) & (x->index_cap - 1);
    }

    s = tr_arena_calloc(x->arena, 1, sizeof(*s));
    labels = tr_arena_calloc(x->arena, n, sizeof(*labels));
    if (s == NULL || labels == NULL) {
        return NULL;
    }
    s->ts = tr_arena_alloc(x->arena, sizeof(*s->ts));
    if (s->ts == NULL) {
        return NULL;
    }
    prometheus__time_series__init(s->ts);
    s->ts->labels = tr_arena_alloc(x->arena, n * sizeof(*s->ts->labels));
    if (s->ts->labels == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        prometheus__label__init(&labels[i]);
        labels[i].name = (char *)l[i].name;
        labels[i].value = (char *)l[i].value;
        s->ts->labels[i] = &labels[i];
    }
    s->ts->n_labels = n;
    s->hash = h;

    if (x->n_series == x->cap_series) {
        size_t cap = x->cap_series ? x->cap_series * 2 : 256;
        struct series **ns = tr_realloc(x->series, cap * sizeof(*ns));

        if (ns == NULL) {
            return NULL;
        }
        x->series = ns;
        x->cap_series = cap;
    }
    x->series[x->n_series++] = s;
    x->index[slot] = s;
    return s;
}

/* Grows an arena pointer array of n elements to hold one more. */
static void **
grow_ptrs(struct tr_arena *a, void **arr, size_t n, size_t *cap)
{
    void **na;

    if (n < *cap) {
        return arr;
    }
    *cap = *cap ? *cap * 2 : 2;
    na = tr_arena_alloc(a, *cap * sizeof(*na));
    if (na != NULL && n > 0) {
        memcpy(na, arr, n * sizeof(*na));
    }
    return na;
}

/*
 * Adds a sample to the series named `name` with the base labels plus an
 * optional extra label. Returns the series, NULL when out of memory.
 */
static struct series *
add_sample(struct tx *x, const char *name, const char *extra_name,
           const char *extra_value, double value, int64_t ts_ms)
{
    struct series *s;
    Prometheus__Sample *sample;
    void **arr;

    x->full.n = 0;
    for (size_t i = 0; i < x->base.n; i++) {
        if (lbl_vec_push(&x->full, x->base.v[i].name, x->base.v[i].value) !=
            TR_OK) {
            return NULL;
        }
    }
    if (lbl_vec_set(&x->full, "__name__", name) != TR_OK) {
        return NULL;
    }
    if (extra_name != NULL &&
        lbl_vec_set(&x->full, extra_name, extra_value) != TR_OK) {
        return NULL;
    }
    s = get_series(x);
    if (s == NULL) {
        return NULL;
    }
    sample = tr_arena_alloc(x->arena, sizeof(*sample));
    arr = grow_ptrs(x->arena, (void **)s->ts->samples, s->ts->n_samples,
                    &s->cap_samples);
    if (sample == NULL || arr == NULL) {
        return NULL;
    }
    prometheus__sample__init(sample);
    sample->value = value;
    sample->timestamp = ts_ms;
    s->ts->samples = (Prometheus__Sample **)arr;
    s->ts->samples[s->ts->n_samples++] = sample;
    x->out->samples++;
    return s;
}

/* ---- exemplars ----------------------------------------------------------- */

static size_t
rune_count(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static char *
hex_string(struct tr_arena *a, const ProtobufCBinaryData *b)
{
    static const char digits[] = "0123456789abcdef";
    char *s = tr_arena_alloc(a, b->len * 2 + 1);

    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < b->len; i++) {
        s[2 * i] = digits[b->data[i] >> 4];
        s[2 * i + 1] = digits[b->data[i] & 15];
    }
    s[b->len * 2] = '\0';
    return s;
}

static int
add_exemplar(struct tx *x, struct series *s, const otlp_exemplar *e)
{
    Prometheus__Exemplar *pe = tr_arena_alloc(x->arena, sizeof(*pe));
    size_t n_attrs = e->n_filtered_attributes;
    Prometheus__Label *labels =
        tr_arena_calloc(x->arena, n_attrs + 2, sizeof(*labels));
    Prometheus__Label **ptrs =
        tr_arena_calloc(x->arena, n_attrs + 2, sizeof(*ptrs));
    size_t n = 0, runes = 0, keep;
    void **arr;

    if (pe == NULL || labels == NULL || ptrs == NULL) {
        return TR_ENOMEM;
    }
    prometheus__exemplar__init(pe);
    pe->timestamp = ns_to_ms(e->time_unix_nano);
    pe->value =
        e->value_case ==
                OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT
            ? (double)e->as_int
            : e->as_double;
    for (int k = 0; k < 2; k++) {
        const ProtobufCBinaryData *id = k == 0 ? &e->trace_id : &e->span_id;
        const char *name = k == 0 ? "trace_id" : "span_id";
        bool all_zero = true;

        for (size_t i = 0; i < id->len; i++) {
            if (id->data[i] != 0) {
                all_zero = false;
            }
        }
        if (id->len == 0 || all_zero) {
            continue;
        }
        prometheus__label__init(&labels[n]);
        labels[n].name = (char *)name;
        labels[n].value = hex_string(x->arena, id);
        if (labels[n].value == NULL) {
            return TR_ENOMEM;
        }
        runes += strlen(name) + strlen(labels[n].value);
        ptrs[n] = &labels[n];
        n++;
    }
    keep = n;
    for (size_t i = 0; i < n_attrs; i++) {
        const key_value *kv = e->filtered_attributes[i];
        const char *name, *value;

        if (label_name(x, kv->key, &name) != TR_OK) {
            return TR_ENOMEM;
        }
        if (name == NULL) {
            continue;
        }
        value = value_string(x, kv->value);
        if (value == NULL) {
            return TR_ENOMEM;
        }
        runes += rune_count(kv->key) + rune_count(value);
        prometheus__label__init(&labels[n]);
        labels[n].name = (char *)name;
        labels[n].value = (char *)value;
        ptrs[n] = &labels[n];
        n++;
    }
    /* Attributes only when the whole label text stays within the limit. */
    pe->n_labels = runes <= MAX_EXEMPLAR_RUNES ? n : keep;
    pe->labels = ptrs;

    arr = grow_ptrs(x->arena, (void **)s->ts->exemplars, s->ts->n_exemplars,
                    &s->cap_exemplars);
    if (arr == NULL) {
        return TR_ENOMEM;
    }
    s->ts->exemplars = (Prometheus__Exemplar **)arr;
    s->ts->exemplars[s->ts->n_exemplars++] = pe;
    return TR_OK;
}

/* ---- reasons ------------------------------------------------------------- */

static int
add_reason(struct tx *x, const char *cause, size_t points, const char *metric)
{
    if (x->n_reasons >= MAX_REASONS) {
        x->reasons_left_out++;
        return TR_OK;
    }
    x->n_reasons++;
    if (x->reasons.len > 0 && tr_buf_append_str(&x->reasons, "; ") != TR_OK) {
        return TR_ENOMEM;
    }
    return tr_buf_appendf(&x->reasons,
                          "%s; %zu data point%s of metric \"%.200s\" %s "
                          "dropped",
                          cause, points, points == 1 ? "" : "s", metric,
                          points == 1 ? "was" : "were");
}

/* ---- per kind ------------------------------------------------------------ */

/* Base labels of a point: its attributes, then job and instance. */
static int
point_base(struct tx *x, key_value *const *attrs, size_t n_attrs)
{
    int rc = attribute_labels(x, attrs, n_attrs, NULL, &x->base);

    if (rc == TR_OK && x->job != NULL) {
        rc = lbl_vec_set(&x->base, "job", x->job);
    }
    if (rc == TR_OK && x->instance != NULL) {
        rc = lbl_vec_set(&x->base, "instance", x->instance);
    }
    return rc;
}

static int
add_number_points(struct tx *x, const char *name, number_point *const *pts,
                  size_t n, bool exemplars)
{
    for (size_t i = 0; i < n; i++) {
        const number_point *p = pts[i];
        double v = 0;
        struct series *s;

        if (point_base(x, p->attributes, p->n_attributes) != TR_OK) {
            return TR_ENOMEM;
        }
        if (p->value_case ==
            OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) {
            v = (double)p->as_int;
        } else if (
            p->value_case ==
            OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) {
            v = p->as_double;
        }
        if (p->flags & 1) {
            v = stale_nan();
        }
        s = add_sample(x, name, NULL, NULL, v, ns_to_ms(p->time_unix_nano));
        if (s == NULL) {
            return TR_ENOMEM;
        }
        for (size_t e = 0; exemplars && e < p->n_exemplars; e++) {
            if (add_exemplar(x, s, p->exemplars[e]) != TR_OK) {
                return TR_ENOMEM;
            }
        }
        x->out->points_converted++;
    }
    return TR_OK;
}

/* "le"/"quantile" values: Go's FormatFloat(v, 'f', -1, 64). */
static const char *
float_label(struct tx *x, double v)
{
    char buf[400];
    size_t n = tr_json_format_float(v, 'f', buf, sizeof(buf));

    if (n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }
    return tr_arena_strndup(x->arena, buf, n);
}

static int
add_histogram_points(struct tx *x, const char *family, hist_point *const *pts,
                     size_t n)
{
    const char *bucket = tr_arena_sprintf(x->arena, "%s_bucket", family);
    const char *sum = tr_arena_sprintf(x->arena, "%s_sum", family);
    const char *count = tr_arena_sprintf(x->arena, "%s_count", family);

    if (bucket == NULL || sum == NULL || count == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const hist_point *p = pts[i];
        bool stale = p->flags & 1;
        int64_t ts = ns_to_ms(p->time_unix_nano);
        size_t nb = p->n_explicit_bounds < p->n_bucket_counts
                        ? p->n_explicit_bounds
                        : p->n_bucket_counts;
        uint64_t cumulative = 0;
        struct series *inf, *s;
        struct series **bucket_series;

        if (point_base(x, p->attributes, p->n_attributes) != TR_OK) {
            return TR_ENOMEM;
        }
        if (p->sum_opt_case ==
                OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_OPT_SUM &&
            add_sample(x, sum, NULL, NULL, stale ? stale_nan() : p->sum, ts) ==
                NULL) {
            return TR_ENOMEM;
        }
        if (add_sample(x, count, NULL, NULL,
                       stale ? stale_nan() : (double)p->count, ts) == NULL) {
            return TR_ENOMEM;
        }
        bucket_series =
            tr_arena_alloc(x->arena, (nb + 1) * sizeof(*bucket_series));
        if (bucket_series == NULL) {
            return TR_ENOMEM;
        }
        for (size_t b = 0; b < nb; b++) {
            const char *le = float_label(x, p->explicit_bounds[b]);

            cumulative += p->bucket_counts[b];
            if (le == NULL) {
                return TR_ENOMEM;
            }
            s = add_sample(x, bucket, "le", le,
                           stale ? stale_nan() : (double)cumulative, ts);
            if (s == NULL) {
                return TR_ENOMEM;
            }
            bucket_series[b] = s;
        }
        inf = add_sample(x, bucket, "le", "+Inf",
                         stale ? stale_nan() : (double)p->count, ts);
        if (inf == NULL) {
            return TR_ENOMEM;
        }
        /* An exemplar goes to the smallest bucket bound >= its value. */
        for (size_t e = 0; e < p->n_exemplars; e++) {
            const otlp_exemplar *ex = p->exemplars[e];
            double v =
                ex->value_case ==
                        OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT
                    ? (double)ex->as_int
                    : ex->as_double;
            struct series *target = NULL;
            double best = INFINITY;

            for (size_t b = 0; b < nb; b++) {
                if (v <= p->explicit_bounds[b] &&
                    (target == NULL || p->explicit_bounds[b] < best)) {
                    best = p->explicit_bounds[b];
                    target = bucket_series[b];
                }
            }
            if (target == NULL && !isnan(v)) {
                target = inf;
            }
            if (target != NULL && add_exemplar(x, target, ex) != TR_OK) {
                return TR_ENOMEM;
            }
        }
        x->out->points_converted++;
    }
    return TR_OK;
}

static int
add_summary_points(struct tx *x, const char *family, summary_point *const *pts,
                   size_t n)
{
    const char *sum = tr_arena_sprintf(x->arena, "%s_sum", family);
    const char *count = tr_arena_sprintf(x->arena, "%s_count", family);

    if (sum == NULL || count == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const summary_point *p = pts[i];
        bool stale = p->flags & 1;
        int64_t ts = ns_to_ms(p->time_unix_nano);

        if (point_base(x, p->attributes, p->n_attributes) != TR_OK) {
            return TR_ENOMEM;
        }
        if (add_sample(x, sum, NULL, NULL, stale ? stale_nan() : p->sum, ts) ==
                NULL ||
            add_sample(x, count, NULL, NULL,
                       stale ? stale_nan() : (double)p->count, ts) == NULL) {
            return TR_ENOMEM;
        }
        for (size_t q = 0; q < p->n_quantile_values; q++) {
            const char *ql = float_label(x, p->quantile_values[q]->quantile);

            if (ql == NULL ||
                add_sample(x, family, "quantile", ql,
                           stale ? stale_nan() : p->quantile_values[q]->value,
                           ts) == NULL) {
                return TR_ENOMEM;
            }
        }
        x->out->points_converted++;
    }
    return TR_OK;
}

/* ---- metrics and resources ---------------------------------------------- */

static void
min_max(uint64_t t, uint64_t *lo, uint64_t *hi)
{
    if (t < *lo) {
        *lo = t;
    }
    if (t > *hi) {
        *hi = t;
    }
}

/* Number of points of m, widening [lo, hi] by their timestamps. */
static size_t
metric_points(const otlp_metric *m, uint64_t *lo, uint64_t *hi)
{
    size_t n = 0;

    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        n = m->gauge->n_data_points;
        for (size_t i = 0; i < n; i++) {
            min_max(m->gauge->data_points[i]->time_unix_nano, lo, hi);
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        n = m->sum->n_data_points;
        for (size_t i = 0; i < n; i++) {
            min_max(m->sum->data_points[i]->time_unix_nano, lo, hi);
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        n = m->histogram->n_data_points;
        for (size_t i = 0; i < n; i++) {
            min_max(m->histogram->data_points[i]->time_unix_nano, lo, hi);
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        n = m->exponential_histogram->n_data_points;
        for (size_t i = 0; i < n; i++) {
            min_max(m->exponential_histogram->data_points[i]->time_unix_nano,
                    lo, hi);
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        n = m->summary->n_data_points;
        for (size_t i = 0; i < n; i++) {
            min_max(m->summary->data_points[i]->time_unix_nano, lo, hi);
        }
        break;
    default:
        break;
    }
    return n;
}

static int
add_metadata(struct tx *x, const char *family,
             Prometheus__MetricMetadata__MetricType type, const otlp_metric *m)
{
    Prometheus__MetricMetadata *md = tr_arena_alloc(x->arena, sizeof(*md));
    void **arr = grow_ptrs(x->arena, (void **)x->meta, x->n_meta, &x->cap_meta);

    if (md == NULL || arr == NULL) {
        return TR_ENOMEM;
    }
    prometheus__metric_metadata__init(md);
    md->type = type;
    md->metric_family_name = (char *)family;
    md->help = m->description != NULL ? m->description : "";
    md->unit = m->unit != NULL ? m->unit : "";
    x->meta = (Prometheus__MetricMetadata **)arr;
    x->meta[x->n_meta++] = md;
    return TR_OK;
}

static int
translate_metric(struct tx *x, const otlp_metric *m, size_t points)
{
    enum tr_otlp_name_kind kind;
    Prometheus__MetricMetadata__MetricType type;
    const char *why = NULL;
    int temporality = 2;
    char *family;
    bool invalid;
    int rc;

    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        kind = TR_OTLP_NAME_GAUGE;
        type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        temporality = m->sum->aggregation_temporality;
        kind = m->sum->is_monotonic ? TR_OTLP_NAME_COUNTER
                                    : TR_OTLP_NAME_UPDOWN_COUNTER;
        type = m->sum->is_monotonic
                   ? PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER
                   : PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        temporality = m->histogram->aggregation_temporality;
        kind = TR_OTLP_NAME_HISTOGRAM;
        type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        kind = TR_OTLP_NAME_SUMMARY;
        type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__SUMMARY;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        why = "exponential histograms are not supported yet";
        break;
    default:
        return TR_OK; /* no data: nothing to convert or to count */
    }
    if (points == 0) {
        return TR_OK;
    }
    if (why == NULL && temporality != 2) {
        why = temporality == 1 ? "delta temporality is not supported"
                               : "the aggregation temporality is unspecified";
    }
    if (why != NULL) {
        x->out->points_rejected += (int64_t)points;
        return add_reason(x, why, points, m->name);
    }

    family = tr_otlp_metric_name(x->arena, m->name, m->unit, kind,
                                 !x->opts.without_suffixes, &invalid);
    if (family == NULL) {
        if (!invalid) {
            return TR_ENOMEM;
        }
        x->out->points_rejected += (int64_t)points;
        return add_reason(x, "the name gives no valid Prometheus metric name",
                          points, m->name);
    }
    if (add_metadata(x, family, type, m) != TR_OK) {
        return TR_ENOMEM;
    }
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        rc = add_number_points(x, family, m->gauge->data_points,
                               m->gauge->n_data_points, false);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        rc = add_number_points(x, family, m->sum->data_points,
                               m->sum->n_data_points, true);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        rc = add_histogram_points(x, family, m->histogram->data_points,
                                  m->histogram->n_data_points);
        break;
    default:
        rc = add_summary_points(x, family, m->summary->data_points,
                                m->summary->n_data_points);
        break;
    }
    return rc;
}

/* The first attribute with this key, or NULL. */
static const any_value *
find_attr(key_value *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(attrs[i]->key, key) == 0) {
            return attrs[i]->value != NULL ? attrs[i]->value : NULL;
        }
    }
    return NULL;
}

static bool
has_attr(key_value *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(attrs[i]->key, key) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const identifying_attrs[] = {
    "service.namespace", "service.name", "service.instance.id", NULL};

static int
add_target_info(struct tx *x, key_value *const *attrs, size_t n_attrs,
                uint64_t earliest, uint64_t latest)
{
    size_t others = n_attrs;
    int64_t step =
        (x->opts.lookback_ms > 0 ? x->opts.lookback_ms : DEFAULT_LOOKBACK_MS) /
        2;
    int64_t lo_ms = ns_to_ms(earliest), hi_ms = ns_to_ms(latest), t;
    int64_t steps;

    if (step <= 0) {
        step = 1;
    }
    for (size_t i = 0; identifying_attrs[i] != NULL; i++) {
        if (has_attr(attrs, n_attrs, identifying_attrs[i])) {
            others--;
        }
    }
    if (others == 0 || (x->job == NULL && x->instance == NULL)) {
        return TR_OK;
    }
    if (attribute_labels(x, attrs, n_attrs, identifying_attrs, &x->base) !=
        TR_OK) {
        return TR_ENOMEM;
    }
    if ((x->job != NULL && lbl_vec_set(&x->base, "job", x->job) != TR_OK) ||
        (x->instance != NULL &&
         lbl_vec_set(&x->base, "instance", x->instance) != TR_OK)) {
        return TR_ENOMEM;
    }
    /* Samples at earliest, earliest + step, ... before latest, then latest;
     * only the last TR_OTLP_TARGET_INFO_MAX_SAMPLES of them. */
    steps = hi_ms > lo_ms ? (hi_ms - lo_ms + step - 1) / step : 0;
    t = lo_ms;
    if (steps > TR_OTLP_TARGET_INFO_MAX_SAMPLES - 1) {
        t = lo_ms + (steps - (TR_OTLP_TARGET_INFO_MAX_SAMPLES - 1)) * step;
    }
    for (; t < hi_ms; t += step) {
        if (add_sample(x, "target_info", NULL, NULL, 1, t) == NULL) {
            return TR_ENOMEM;
        }
    }
    if (add_sample(x, "target_info", NULL, NULL, 1, hi_ms) == NULL) {
        return TR_ENOMEM;
    }
    return TR_OK;
}

static int
translate_resource(struct tx *x, const resource_metrics *rm)
{
    key_value *const *attrs = NULL;
    size_t n_attrs = 0;
    const any_value *svc, *ns, *inst;
    uint64_t earliest = UINT64_MAX, latest = 0;
    bool any_point = false;

    if (rm->resource != NULL) {
        attrs = rm->resource->attributes;
        n_attrs = rm->resource->n_attributes;
    }
    svc = find_attr(attrs, n_attrs, "service.name");
    ns = find_attr(attrs, n_attrs, "service.namespace");
    inst = find_attr(attrs, n_attrs, "service.instance.id");
    x->job = NULL;
    x->instance = NULL;
    if (has_attr(attrs, n_attrs, "service.name")) {
        x->job = value_string(x, svc);
        if (x->job != NULL && has_attr(attrs, n_attrs, "service.namespace")) {
            const char *nss = value_string(x, ns);

            x->job = nss != NULL
                         ? tr_arena_sprintf(x->arena, "%s/%s", nss, x->job)
                         : NULL;
        }
        if (x->job == NULL) {
            return TR_ENOMEM;
        }
    }
    if (has_attr(attrs, n_attrs, "service.instance.id")) {
        x->instance = value_string(x, inst);
        if (x->instance == NULL) {
            return TR_ENOMEM;
        }
    }

    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
        const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
            rm->scope_metrics[s];

        for (size_t i = 0; i < sm->n_metrics; i++) {
            size_t points = metric_points(sm->metrics[i], &earliest, &latest);

            any_point = any_point || points > 0;
            if (translate_metric(x, sm->metrics[i], points) != TR_OK) {
                return TR_ENOMEM;
            }
        }
    }
    if (any_point && !x->opts.disable_target_info) {
        return add_target_info(x, attrs, n_attrs, earliest, latest);
    }
    return TR_OK;
}

static int
finish(struct tx *x)
{
    Prometheus__WriteRequest *wr = tr_arena_alloc(x->arena, sizeof(*wr));

    if (wr == NULL) {
        return TR_ENOMEM;
    }
    prometheus__write_request__init(wr);
    if (x->n_series > 0) {
        wr->timeseries =
            tr_arena_alloc(x->arena, x->n_series * sizeof(*wr->timeseries));
        if (wr->timeseries == NULL) {
            return TR_ENOMEM;
        }
        for (size_t i = 0; i < x->n_series; i++) {
            wr->timeseries[i] = x->series[i]->ts;
        }
        wr->n_timeseries = x->n_series;
    }
    wr->metadata = x->meta;
    wr->n_metadata = x->n_meta;
    x->out->write = wr;

    if (x->reasons_left_out > 0 &&
        tr_buf_appendf(&x->reasons, "; and %d more metrics were dropped",
                       x->reasons_left_out) != TR_OK) {
        return TR_ENOMEM;
    }
    if (x->reasons.len > 0) {
        x->out->message =
            tr_arena_strndup(x->arena, x->reasons.data, x->reasons.len);
        if (x->out->message == NULL) {
            return TR_ENOMEM;
        }
    }
    return TR_OK;
}

int
tr_otlp_metrics_translate(struct tr_arena *arena,
                          const tr_otlp_metrics_request *req,
                          const struct tr_otlp_metrics_opts *opts,
                          struct tr_otlp_metrics_result *out,
                          struct tr_err *err)
{
    struct tx *x = tr_calloc(1, sizeof(*x));
    int rc = TR_OK;

    memset(out, 0, sizeof(*out));
    if (x == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot translate OTLP metrics: out of memory");
    }
    x->arena = arena;
    x->err = err;
    x->out = out;
    if (opts != NULL) {
        x->opts = *opts;
    }
    for (size_t i = 0; i < req->n_resource_metrics && rc == TR_OK; i++) {
        rc = translate_resource(x, req->resource_metrics[i]);
    }
    if (rc == TR_OK) {
        rc = finish(x);
    }
    if (rc != TR_OK) {
        rc = nomem(x);
        memset(out, 0, sizeof(*out));
    }
    tr_free(x->series);
    tr_free(x->index);
    tr_free(x->base.v);
    tr_free(x->full.v);
    tr_buf_fini(&x->text);
    tr_buf_fini(&x->reasons);
    tr_free(x);
    return rc;
}
