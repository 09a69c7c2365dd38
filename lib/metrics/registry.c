#include "metrics/registry.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "json/writer.h"

enum kind {
    KIND_COUNTER,
    KIND_GAUGE,
    KIND_HISTOGRAM,
};

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

/*
 * One series. The public child types (struct tr_counter, ...) are never
 * defined: their pointers are struct child pointers in disguise, which
 * keeps the three kinds apart at compile time.
 */
struct child {
    struct child *next; /* hash chain */
    const struct family *fam;
    uint64_t hash;
    char **values; /* nlabels copies */
    /* Counter: integer part (fast inc) + double part (fractional adds).
     * Gauge: bits holds the value. Histogram: bits holds the sum. */
    _Atomic uint64_t ival;
    _Atomic uint64_t bits;
    _Atomic uint64_t *counts; /* histogram: nbuckets + 1, last is +Inf */
};

struct family {
    char *name;
    char *help; /* NULL: no # HELP line */
    enum kind kind;
    char **labels;
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    tr_metrics_value_fn fn; /* set for callback metrics */
    void *fn_arg;
    pthread_rwlock_t lock; /* guards the child table, not the values */
    struct child **table;
    size_t table_size; /* power of two */
    size_t nchildren;
};

struct tr_metrics_registry {
    pthread_mutex_t lock;
    struct family **families; /* sorted by name */
    size_t nfamilies;
    size_t cap;
};

const double tr_metrics_duration_buckets[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const size_t tr_metrics_duration_buckets_len =
    sizeof(tr_metrics_duration_buckets) / sizeof(double);

/* ---- atomics on doubles ----------------------------------------------- */

static double
bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t
double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static void
atomic_add_double(_Atomic uint64_t *a, double d)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    for (;;) {
        uint64_t nw = double_to_bits(bits_to_double(old) + d);
        if (atomic_compare_exchange_weak_explicit(
                a, &old, nw, memory_order_relaxed, memory_order_relaxed)) {
            return;
        }
    }
}

static double
load_double(const _Atomic uint64_t *a)
{
    /* The cast drops const only because C11 atomic_load wants a
     * non-const pointer in older compilers' headers. */
    return bits_to_double(
        atomic_load_explicit((_Atomic uint64_t *)a, memory_order_relaxed));
}

/* ---- children --------------------------------------------------------- */

static uint64_t
hash_values(const char *const *values, size_t n)
{
    /* FNV-1a with a separator byte so ("ab","c") != ("a","bc"). */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] != NULL ? values[i] : "";
        for (; *v != '\0'; v++) {
            h ^= (unsigned char)*v;
            h *= 1099511628211ULL;
        }
        h ^= 0xFF;
        h *= 1099511628211ULL;
    }
    return h;
}

static bool
values_equal(char *const *have, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *w = want[i] != NULL ? want[i] : "";
        if (strcmp(have[i], w) != 0) {
            return false;
        }
    }
    return true;
}

static void
child_free(struct child *c, size_t nlabels)
{
    if (c == NULL) {
        return;
    }
    if (c->values != NULL) {
        for (size_t i = 0; i < nlabels; i++) {
            tr_free(c->values[i]);
        }
        tr_free(c->values);
    }
    tr_free((void *)c->counts);
    tr_free(c);
}

static struct child *
child_new(const struct family *f, const char *const *values, uint64_t hash)
{
    struct child *c = tr_calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->hash = hash;
    c->fam = f;
    if (f->nlabels > 0) {
        c->values = tr_calloc(f->nlabels, sizeof(char *));
        if (c->values == NULL) {
            goto fail;
        }
        for (size_t i = 0; i < f->nlabels; i++) {
            c->values[i] = tr_strdup(values[i] != NULL ? values[i] : "");
            if (c->values[i] == NULL) {
                goto fail;
            }
        }
    }
    if (f->kind == KIND_HISTOGRAM) {
        c->counts = tr_calloc(f->nbuckets + 1, sizeof(_Atomic uint64_t));
        if (c->counts == NULL) {
            goto fail;
        }
    }
    return c;
fail:
    child_free(c, f->nlabels);
    return NULL;
}

static struct child *
find_child(const struct family *f, const char *const *values, uint64_t hash)
{
    if (f->table_size == 0) {
        return NULL;
    }
    struct child *c = f->table[hash & (f->table_size - 1)];
    for (; c != NULL; c = c->next) {
        if (c->hash == hash && values_equal(c->values, values, f->nlabels)) {
            return c;
        }
    }
    return NULL;
}

/* Doubles the table when it gets crowded. Caller holds the write lock. */
static int
grow_table(struct family *f)
{
    if (f->nchildren < f->table_size) {
        return TR_OK;
    }
    size_t size = f->table_size == 0 ? 8 : f->table_size * 2;
    struct child **table = tr_calloc(size, sizeof(*table));
    if (table == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < f->table_size; i++) {
        struct child *c = f->table[i];
        while (c != NULL) {
            struct child *next = c->next;
            c->next = table[c->hash & (size - 1)];
            table[c->hash & (size - 1)] = c;
            c = next;
        }
    }
    tr_free(f->table);
    f->table = table;
    f->table_size = size;
    return TR_OK;
}

static struct child *
family_get(struct family *f, const char *const *values)
{
    static const char *const none[1] = {NULL};
    if (f->nlabels == 0) {
        values = none;
    }
    uint64_t hash = hash_values(values, f->nlabels);
    pthread_rwlock_rdlock(&f->lock);
    struct child *c = find_child(f, values, hash);
    pthread_rwlock_unlock(&f->lock);
    if (c != NULL) {
        return c;
    }
    pthread_rwlock_wrlock(&f->lock);
    c = find_child(f, values, hash); /* another thread may have won */
    if (c == NULL && grow_table(f) == TR_OK) {
        c = child_new(f, values, hash);
        if (c != NULL) {
            size_t slot = hash & (f->table_size - 1);
            c->next = f->table[slot];
            f->table[slot] = c;
            f->nchildren++;
        }
    }
    pthread_rwlock_unlock(&f->lock);
    return c;
}

/* ---- families --------------------------------------------------------- */

static void
family_free(struct family *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->table_size; i++) {
        struct child *c = f->table[i];
        while (c != NULL) {
            struct child *next = c->next;
            child_free(c, f->nlabels);
            c = next;
        }
    }
    tr_free(f->table);
    pthread_rwlock_destroy(&f->lock);
    if (f->labels != NULL) {
        for (size_t i = 0; i < f->nlabels; i++) {
            tr_free(f->labels[i]);
        }
        tr_free(f->labels);
    }
    tr_free(f->buckets);
    tr_free(f->name);
    tr_free(f->help);
    tr_free(f);
}

static bool
valid_metric_name(const char *s)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool
valid_label_name(const char *s)
{
    if (s == NULL || *s == '\0' || strncmp(s, "__", 2) == 0) {
        return false;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* What a register call asks for. */
struct spec {
    const char *name;
    const char *help;
    enum kind kind;
    const char *const *labels;
    size_t nlabels;
    const double *buckets;
    size_t nbuckets;
    tr_metrics_value_fn fn;
    void *fn_arg;
};

static int
check_spec(struct spec *s, struct tr_err *err)
{
    if (!valid_metric_name(s->name)) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot register metric %s: invalid metric name",
                          s->name != NULL ? s->name : "(null)");
    }
    if (s->nlabels > 0 && s->labels == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot register metric %s: label names missing",
                          s->name);
    }
    for (size_t i = 0; i < s->nlabels; i++) {
        if (!valid_label_name(s->labels[i])) {
            return tr_err_set(
                err, TR_EINVAL,
                "cannot register metric %s: invalid label name \"%s\"", s->name,
                s->labels[i] != NULL ? s->labels[i] : "(null)");
        }
        if (s->kind == KIND_HISTOGRAM && strcmp(s->labels[i], "le") == 0) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot register metric %s: label name \"le\" "
                              "is reserved for histogram buckets",
                              s->name);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->labels[i], s->labels[j]) == 0) {
                return tr_err_set(
                    err, TR_EINVAL,
                    "cannot register metric %s: duplicate label name \"%s\"",
                    s->name, s->labels[i]);
            }
        }
    }
    if (s->kind == KIND_HISTOGRAM) {
        if (s->buckets == NULL) {
            s->buckets = tr_metrics_duration_buckets;
            s->nbuckets = tr_metrics_duration_buckets_len;
        }
        if (s->nbuckets > 0 && isinf(s->buckets[s->nbuckets - 1]) &&
            s->buckets[s->nbuckets - 1] > 0) {
            s->nbuckets--; /* +Inf is implicit */
        }
        if (s->nbuckets > TR_METRICS_MAX_BUCKETS) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot register metric %s: %zu buckets, at "
                              "most %d allowed",
                              s->name, s->nbuckets, TR_METRICS_MAX_BUCKETS);
        }
        for (size_t i = 0; i < s->nbuckets; i++) {
            if (!isfinite(s->buckets[i]) ||
                (i > 0 && !(s->buckets[i] > s->buckets[i - 1]))) {
                return tr_err_set(err, TR_EINVAL,
                                  "cannot register metric %s: buckets must "
                                  "be finite and strictly increasing",
                                  s->name);
            }
        }
    }
    return TR_OK;
}

/* True when an existing family satisfies the request. */
static bool
same_shape(const struct family *f, const struct spec *s)
{
    if (f->kind != s->kind || f->nlabels != s->nlabels ||
        (f->fn != NULL) != (s->fn != NULL)) {
        return false;
    }
    for (size_t i = 0; i < f->nlabels; i++) {
        if (strcmp(f->labels[i], s->labels[i]) != 0) {
            return false;
        }
    }
    if (f->kind == KIND_HISTOGRAM) {
        if (f->nbuckets != s->nbuckets) {
            return false;
        }
        for (size_t i = 0; i < f->nbuckets; i++) {
            if (f->buckets[i] != s->buckets[i]) {
                return false;
            }
        }
    }
    return true;
}

static struct family *
family_new(const struct spec *s)
{
    struct family *f = tr_calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    pthread_rwlock_init(&f->lock, NULL);
    f->kind = s->kind;
    f->fn = s->fn;
    f->fn_arg = s->fn_arg;
    f->name = tr_strdup(s->name);
    if (f->name == NULL) {
        goto fail;
    }
    if (s->help != NULL && (f->help = tr_strdup(s->help)) == NULL) {
        goto fail;
    }
    if (s->nlabels > 0) {
        f->labels = tr_calloc(s->nlabels, sizeof(char *));
        if (f->labels == NULL) {
            goto fail;
        }
        f->nlabels = s->nlabels;
        for (size_t i = 0; i < s->nlabels; i++) {
            if ((f->labels[i] = tr_strdup(s->labels[i])) == NULL) {
                goto fail;
            }
        }
    }
    if (s->kind == KIND_HISTOGRAM && s->nbuckets > 0) {
        f->buckets = tr_malloc(s->nbuckets * sizeof(double));
        if (f->buckets == NULL) {
            goto fail;
        }
        memcpy(f->buckets, s->buckets, s->nbuckets * sizeof(double));
        f->nbuckets = s->nbuckets;
    }
    /* Families without labels show their one series from the start. */
    if (f->nlabels == 0 && f->fn == NULL && family_get(f, NULL) == NULL) {
        goto fail;
    }
    return f;
fail:
    family_free(f);
    return NULL;
}

/* Finds or adds the family described by s; NULL with err set on failure. */
static struct family *
register_family(struct tr_metrics_registry *r, struct spec *s,
                struct tr_err *err)
{
    if (check_spec(s, err) != TR_OK) {
        return NULL;
    }
    pthread_mutex_lock(&r->lock);
    /* Binary search for the name (families are sorted). */
    size_t lo = 0;
    size_t hi = r->nfamilies;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(r->families[mid]->name, s->name);
        if (cmp == 0) {
            struct family *f = r->families[mid];
            bool ok = same_shape(f, s);
            pthread_mutex_unlock(&r->lock);
            if (!ok) {
                tr_err_set(err, TR_EINVAL,
                           "cannot register metric %s: already registered "
                           "as a %s%s with other labels or buckets",
                           s->name, f->fn != NULL ? "callback " : "",
                           kind_names[f->kind]);
                return NULL;
            }
            return f;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    struct family *f = NULL;
    if (r->nfamilies == r->cap) {
        size_t cap = r->cap == 0 ? 32 : r->cap * 2;
        struct family **fams = tr_realloc(r->families, cap * sizeof(*fams));
        if (fams == NULL) {
            goto nomem;
        }
        r->families = fams;
        r->cap = cap;
    }
    f = family_new(s);
    if (f == NULL) {
        goto nomem;
    }
    memmove(&r->families[lo + 1], &r->families[lo],
            (r->nfamilies - lo) * sizeof(*r->families));
    r->families[lo] = f;
    r->nfamilies++;
    pthread_mutex_unlock(&r->lock);
    return f;
nomem:
    pthread_mutex_unlock(&r->lock);
    tr_err_set(err, TR_ENOMEM, "cannot register metric %s: out of memory",
               s->name);
    return NULL;
}

/* ---- registries ------------------------------------------------------- */

struct tr_metrics_registry *
tr_metrics_registry_create(void)
{
    struct tr_metrics_registry *r = tr_calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void
tr_metrics_registry_destroy(struct tr_metrics_registry *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nfamilies; i++) {
        family_free(r->families[i]);
    }
    tr_free(r->families);
    pthread_mutex_destroy(&r->lock);
    tr_free(r);
}

static struct tr_metrics_registry *default_registry;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void
default_init(void)
{
    default_registry = tr_metrics_registry_create();
    if (default_registry == NULL) {
        tr_log_error("cannot create the default metrics registry", "cause=%s",
                     "out of memory");
        abort();
    }
    struct tr_err err;
    if (tr_metrics_register_process(default_registry, &err) != TR_OK) {
        tr_log_error("cannot register process metrics", "error=\"%s\"",
                     err.msg);
        abort();
    }
}

struct tr_metrics_registry *
tr_metrics_default(void)
{
    pthread_once(&default_once, default_init);
    return default_registry;
}

/* ---- public registration wrappers ------------------------------------- */

struct tr_counter *
tr_counter_register(struct tr_metrics_registry *r, const char *name,
                    const char *help, struct tr_err *err)
{
    struct spec s = {.name = name, .help = help, .kind = KIND_COUNTER};
    struct family *f = register_family(r, &s, err);
    return f != NULL ? (struct tr_counter *)family_get(f, NULL) : NULL;
}

struct tr_counter_vec *
tr_counter_vec_register(struct tr_metrics_registry *r, const char *name,
                        const char *help, const char *const *label_names,
                        size_t nlabels, struct tr_err *err)
{
    struct spec s = {.name = name,
                     .help = help,
                     .kind = KIND_COUNTER,
                     .labels = label_names,
                     .nlabels = nlabels};
    return (struct tr_counter_vec *)register_family(r, &s, err);
}

struct tr_gauge *
tr_gauge_register(struct tr_metrics_registry *r, const char *name,
                  const char *help, struct tr_err *err)
{
    struct spec s = {.name = name, .help = help, .kind = KIND_GAUGE};
    struct family *f = register_family(r, &s, err);
    return f != NULL ? (struct tr_gauge *)family_get(f, NULL) : NULL;
}

struct tr_gauge_vec *
tr_gauge_vec_register(struct tr_metrics_registry *r, const char *name,
                      const char *help, const char *const *label_names,
                      size_t nlabels, struct tr_err *err)
{
    struct spec s = {.name = name,
                     .help = help,
                     .kind = KIND_GAUGE,
                     .labels = label_names,
                     .nlabels = nlabels};
    return (struct tr_gauge_vec *)register_family(r, &s, err);
}

struct tr_histogram *
tr_histogram_register(struct tr_metrics_registry *r, const char *name,
                      const char *help, const double *buckets, size_t nbuckets,
                      struct tr_err *err)
{
    struct spec s = {.name = name,
                     .help = help,
                     .kind = KIND_HISTOGRAM,
                     .buckets = buckets,
                     .nbuckets = nbuckets};
    struct family *f = register_family(r, &s, err);
    return f != NULL ? (struct tr_histogram *)family_get(f, NULL) : NULL;
}

struct tr_histogram_vec *
tr_histogram_vec_register(struct tr_metrics_registry *r, const char *name,
                          const char *help, const double *buckets,
                          size_t nbuckets, const char *const *label_names,
                          size_t nlabels, struct tr_err *err)
{
    struct spec s = {.name = name,
                     .help = help,
                     .kind = KIND_HISTOGRAM,
                     .buckets = buckets,
                     .nbuckets = nbuckets,
                     .labels = label_names,
                     .nlabels = nlabels};
    return (struct tr_histogram_vec *)register_family(r, &s, err);
}

static int
func_register(struct tr_metrics_registry *r, enum kind kind, const char *name,
              const char *help, tr_metrics_value_fn fn, void *arg,
              struct tr_err *err)
{
    struct spec s = {
        .name = name, .help = help, .kind = kind, .fn = fn, .fn_arg = arg};
    if (fn == NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot register metric %s: no value callback", name);
    }
    struct tr_err local;
    struct tr_err *e = err != NULL ? err : &local;
    if (register_family(r, &s, e) == NULL) {
        return e->code;
    }
    return TR_OK;
}

int
tr_counter_func_register(struct tr_metrics_registry *r, const char *name,
                         const char *help, tr_metrics_value_fn fn, void *arg,
                         struct tr_err *err)
{
    return func_register(r, KIND_COUNTER, name, help, fn, arg, err);
}

int
tr_gauge_func_register(struct tr_metrics_registry *r, const char *name,
                       const char *help, tr_metrics_value_fn fn, void *arg,
                       struct tr_err *err)
{
    return func_register(r, KIND_GAUGE, name, help, fn, arg, err);
}

struct tr_counter *
tr_counter_vec_get(struct tr_counter_vec *v, const char *const *values)
{
    return (struct tr_counter *)family_get((struct family *)v, values);
}

struct tr_gauge *
tr_gauge_vec_get(struct tr_gauge_vec *v, const char *const *values)
{
    return (struct tr_gauge *)family_get((struct family *)v, values);
}

struct tr_histogram *
tr_histogram_vec_get(struct tr_histogram_vec *v, const char *const *values)
{
    return (struct tr_histogram *)family_get((struct family *)v, values);
}

/* ---- updates ---------------------------------------------------------- */

void
tr_counter_inc(struct tr_counter *c)
{
    tr_counter_add_u64(c, 1);
}

void
tr_counter_add_u64(struct tr_counter *c, uint64_t n)
{
    if (c != NULL) {
        atomic_fetch_add_explicit(&((struct child *)c)->ival, n,
                                  memory_order_relaxed);
    }
}

void
tr_counter_add(struct tr_counter *c, double v)
{
    if (c == NULL || !(v >= 0)) {
        return;
    }
    /* Whole numbers take the cheap integer path. */
    if (v < 9007199254740992.0 && v == (double)(uint64_t)v) {
        tr_counter_add_u64(c, (uint64_t)v);
        return;
    }
    atomic_add_double(&((struct child *)c)->bits, v);
}

double
tr_counter_value(const struct tr_counter *c)
{
    if (c == NULL) {
        return 0;
    }
    const struct child *ch = (const struct child *)c;
    uint64_t i = atomic_load_explicit((_Atomic uint64_t *)&ch->ival,
                                      memory_order_relaxed);
    return (double)i + load_double(&ch->bits);
}

void
tr_gauge_set(struct tr_gauge *g, double v)
{
    if (g != NULL) {
        atomic_store_explicit(&((struct child *)g)->bits, double_to_bits(v),
                              memory_order_relaxed);
    }
}

void
tr_gauge_add(struct tr_gauge *g, double v)
{
    if (g != NULL) {
        atomic_add_double(&((struct child *)g)->bits, v);
    }
}

void
tr_gauge_inc(struct tr_gauge *g)
{
    tr_gauge_add(g, 1);
}

void
tr_gauge_dec(struct tr_gauge *g)
{
    tr_gauge_add(g, -1);
}

double
tr_gauge_value(const struct tr_gauge *g)
{
    return g != NULL ? load_double(&((const struct child *)g)->bits) : 0;
}

void
tr_histogram_observe(struct tr_histogram *h, double v)
{
    if (h == NULL) {
        return;
    }
    struct child *c = (struct child *)h;
    const double *b = c->fam->buckets;
    size_t n = c->fam->nbuckets;
    /* First bound >= v; NaN lands in +Inf (index n). */
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b[mid] >= v) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if (isnan(v)) {
        lo = n;
    }
    atomic_fetch_add_explicit(&c->counts[lo], 1, memory_order_relaxed);
    atomic_add_double(&c->bits, v);
}

uint64_t
tr_histogram_count(const struct tr_histogram *h)
{
    if (h == NULL) {
        return 0;
    }
    const struct child *c = (const struct child *)h;
    uint64_t total = 0;
    for (size_t i = 0; i <= c->fam->nbuckets; i++) {
        total += atomic_load_explicit(&c->counts[i], memory_order_relaxed);
    }
    return total;
}

double
tr_histogram_sum(const struct tr_histogram *h)
{
    return h != NULL ? load_double(&((const struct child *)h)->bits) : 0;
}

/* ---- exposition ------------------------------------------------------- */

/* The output buffer with a sticky error, so appends need no checks. */
struct out {
    struct tr_buf *buf;
    int rc;
};

static void
out_append(struct out *o, const void *data, size_t len)
{
    if (o->rc == TR_OK) {
        o->rc = tr_buf_append(o->buf, data, len);
    }
}

static void
out_str(struct out *o, const char *s)
{
    out_append(o, s, strlen(s));
}

static void
out_byte(struct out *o, char c)
{
    out_append(o, &c, 1);
}

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
    if (o->rc == TR_OK) {
        va_list ap;
        va_start(ap, fmt);
        o->rc = tr_buf_vappendf(o->buf, fmt, ap);
        va_end(ap);
    }
}

static void
append_float(struct out *out, double v)
{
    char tmp[TR_JSON_FLOAT_MAX];
    size_t n = tr_json_format_float(v, 'g', tmp, sizeof(tmp));
    out_append(out, tmp, n);
}

/* HELP text escapes backslash and newline; label values also '"'. */
static void
append_escaped(struct out *out, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            out_append(out, "\\\\", 2);
        } else if (*s == '\n') {
            out_append(out, "\\n", 2);
        } else if (quote && *s == '"') {
            out_append(out, "\\\"", 2);
        } else {
            out_byte(out, *s);
        }
    }
}

/*
 * Writes name<suffix>{labels[,le="..."]} value\n. le is NULL for samples
 * without a bucket bound.
 */
static void
append_sample(struct out *out, const struct family *f, const struct child *c,
              const char *suffix, const char *le, double v)
{
    out_str(out, f->name);
    out_str(out, suffix);
    if (f->nlabels > 0 || le != NULL) {
        out_byte(out, '{');
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i > 0) {
                out_byte(out, ',');
            }
            out_str(out, f->labels[i]);
            out_append(out, "=\"", 2);
            append_escaped(out, c->values[i], true);
            out_byte(out, '"');
        }
        if (le != NULL) {
            if (f->nlabels > 0) {
                out_byte(out, ',');
            }
            out_append(out, "le=\"", 4);
            out_str(out, le);
            out_byte(out, '"');
        }
        out_byte(out, '}');
    }
    out_byte(out, ' ');
    append_float(out, v);
    out_byte(out, '\n');
}

static void
append_child(struct out *out, const struct family *f, const struct child *c)
{
    switch (f->kind) {
    case KIND_COUNTER:
        append_sample(out, f, c, "", NULL,
                      tr_counter_value((const struct tr_counter *)c));
        break;
    case KIND_GAUGE:
        append_sample(out, f, c, "", NULL,
                      tr_gauge_value((const struct tr_gauge *)c));
        break;
    case KIND_HISTOGRAM: {
        /* One pass over the counts so +Inf and _count agree. */
        uint64_t cum = 0;
        char le[TR_JSON_FLOAT_MAX];
        for (size_t i = 0; i < f->nbuckets; i++) {
            cum += atomic_load_explicit(&c->counts[i], memory_order_relaxed);
            tr_json_format_float(f->buckets[i], 'g', le, sizeof(le));
            append_sample(out, f, c, "_bucket", le, (double)cum);
        }
        cum +=
            atomic_load_explicit(&c->counts[f->nbuckets], memory_order_relaxed);
        append_sample(out, f, c, "_bucket", "+Inf", (double)cum);
        append_sample(out, f, c, "_sum", NULL, load_double(&c->bits));
        append_sample(out, f, c, "_count", NULL, (double)cum);
        break;
    }
    }
}

/* Label-value order for qsort; the family's label count travels in a
 * thread-local because qsort has no context argument. */
static _Thread_local size_t sort_nlabels;

static int
cmp_children(const void *a, const void *b)
{
    const struct child *x = *(const struct child *const *)a;
    const struct child *y = *(const struct child *const *)b;
    for (size_t i = 0; i < sort_nlabels; i++) {
        int cmp = strcmp(x->values[i], y->values[i]);
        if (cmp != 0) {
            return cmp;
        }
    }
    return 0;
}

static int
append_family(struct out *out, struct family *f)
{
    if (f->fn != NULL) {
        double v = f->fn(f->fn_arg);
        struct child none = {0};
        if (f->help != NULL) {
            out_printf(out, "# HELP %s ", f->name);
            append_escaped(out, f->help, false);
            out_byte(out, '\n');
        }
        out_printf(out, "# TYPE %s %s\n", f->name, kind_names[f->kind]);
        append_sample(out, f, &none, "", NULL, v);
        return TR_OK;
    }
    pthread_rwlock_rdlock(&f->lock);
    size_t n = f->nchildren;
    struct child **kids = n > 0 ? tr_malloc(n * sizeof(*kids)) : NULL;
    if (n > 0 && kids == NULL) {
        pthread_rwlock_unlock(&f->lock);
        return TR_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < f->table_size; i++) {
        for (struct child *c = f->table[i]; c != NULL; c = c->next) {
            kids[k++] = c;
        }
    }
    pthread_rwlock_unlock(&f->lock);
    /* Children are never removed, so the pointers stay valid unlocked. */
    if (k > 0) {
        sort_nlabels = f->nlabels;
        qsort(kids, k, sizeof(*kids), cmp_children);
        if (f->help != NULL) {
            out_printf(out, "# HELP %s ", f->name);
            append_escaped(out, f->help, false);
            out_byte(out, '\n');
        }
        out_printf(out, "# TYPE %s %s\n", f->name, kind_names[f->kind]);
        for (size_t i = 0; i < k; i++) {
            append_child(out, f, kids[i]);
        }
    }
    tr_free(kids);
    return TR_OK;
}

int
tr_metrics_expose(struct tr_metrics_registry *r, struct tr_buf *buf)
{
    struct out o = {buf, TR_OK};
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nfamilies && o.rc == TR_OK; i++) {
        int rc = append_family(&o, r->families[i]);
        if (rc != TR_OK) {
            o.rc = rc;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return o.rc;
}
