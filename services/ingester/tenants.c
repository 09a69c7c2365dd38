/*
 * Tenants of the ingester: created on the first write, each with its own
 * metrics head, latest metadata per metric family and a bounded ring of
 * exemplars. The tenant table is a sorted array behind a reader/writer
 * lock (tenants are few and created rarely).
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "ingester_internal.h"
#include "metrics/registry.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"

/* Index of the first tenant >= id. */
static size_t
lower_bound(struct ingester *ing, const char *id)
{
    size_t lo = 0, hi = ing->ntenants;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ing->tenants[mid]->id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct ingester_tenant *
ingester_tenant_find(struct ingester *ing, const char *id)
{
    struct ingester_tenant *t = NULL;
    pthread_rwlock_rdlock(&ing->tenants_lock);
    size_t i = lower_bound(ing, id);
    if (i < ing->ntenants && strcmp(ing->tenants[i]->id, id) == 0) {
        t = ing->tenants[i];
    }
    pthread_rwlock_unlock(&ing->tenants_lock);
    return t;
}

static void
tenant_destroy(struct ingester_tenant *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nmeta; i++) {
        tr_free(t->meta[i].family);
        tr_free(t->meta[i].help);
        tr_free(t->meta[i].unit);
    }
    tr_free(t->meta);
    for (size_t i = 0; i < t->ex_len; i++) {
        tr_labels_destroy(t->ex[(t->ex_start + i) % t->cap_ex].series);
        tr_labels_destroy(t->ex[(t->ex_start + i) % t->cap_ex].labels);
    }
    tr_free(t->ex);
    tr_free(t->uploaded);
    tr_head_destroy(t->head);
    pthread_mutex_destroy(&t->lock);
    tr_free(t);
}

struct ingester_tenant *
ingester_tenant_get(struct ingester *ing, const char *id, struct tr_err *err)
{
    struct ingester_tenant *t = ingester_tenant_find(ing, id);
    if (t != NULL) {
        return t;
    }
    if (strlen(id) > INGESTER_TENANT_MAX || *id == '\0') {
        tr_err_set(err, TR_EINVAL, "cannot create tenant \"%.64s\": bad id",
                   id);
        return NULL;
    }
    pthread_rwlock_wrlock(&ing->tenants_lock);
    size_t i = lower_bound(ing, id);
    if (i < ing->ntenants && strcmp(ing->tenants[i]->id, id) == 0) {
        t = ing->tenants[i];
        goto out;
    }
    if (ing->ntenants == ing->captenants) {
        size_t cap = ing->captenants ? ing->captenants * 2 : 8;
        void *p = tr_realloc(ing->tenants, cap * sizeof(*ing->tenants));
        if (p == NULL) {
            goto nomem;
        }
        ing->tenants = p;
        ing->captenants = cap;
    }
    t = tr_calloc(1, sizeof(*t));
    if (t == NULL) {
        goto nomem;
    }
    strcpy(t->id, id);
    pthread_mutex_init(&t->lock, NULL);
    atomic_init(&t->in_blocks_below, INT64_MIN);
    /* The series limit is enforced by the push path (it is recorded in
     * each WAL record), not by the head. */
    t->head = tr_head_create(NULL);
    if (t->head == NULL) {
        tenant_destroy(t);
        t = NULL;
        goto nomem;
    }
    const char *values[] = {id};
    t->appended = tr_counter_vec_get(ing->appended_samples, values);
    t->exemplars_appended = tr_counter_vec_get(ing->appended_exemplars, values);
    t->memory_series = tr_gauge_vec_get(ing->memory_series, values);
    t->blocks_cut = tr_counter_vec_get(ing->blocks_cut, values);
    t->min_valid_time = tr_gauge_vec_get(ing->min_valid_time, values);
    if (ing->max_exemplars_per_tenant > 0) {
        t->cap_ex = (size_t)ing->max_exemplars_per_tenant;
    }
    memmove(&ing->tenants[i + 1], &ing->tenants[i],
            (ing->ntenants - i) * sizeof(*ing->tenants));
    ing->tenants[i] = t;
    ing->ntenants++;
out:
    pthread_rwlock_unlock(&ing->tenants_lock);
    return t;
nomem:
    pthread_rwlock_unlock(&ing->tenants_lock);
    tr_err_set(err, TR_ENOMEM, "cannot create tenant %s: out of memory", id);
    return NULL;
}

void
ingester_tenants_destroy(struct ingester *ing)
{
    for (size_t i = 0; i < ing->ntenants; i++) {
        tenant_destroy(ing->tenants[i]);
    }
    tr_free(ing->tenants);
    ing->tenants = NULL;
    ing->ntenants = ing->captenants = 0;
}

int64_t
ingester_tenant_series(struct ingester_tenant *t)
{
    struct tr_head_stats st;
    tr_head_stats(t->head, &st);
    tr_gauge_set(t->memory_series, (double)st.series);
    return (int64_t)st.series;
}

int64_t
ingester_series_total(struct ingester *ing)
{
    int64_t n = 0;
    pthread_rwlock_rdlock(&ing->tenants_lock);
    for (size_t i = 0; i < ing->ntenants; i++) {
        n += ingester_tenant_series(ing->tenants[i]);
    }
    pthread_rwlock_unlock(&ing->tenants_lock);
    return n;
}

struct ingester_tenant **
ingester_tenants_list(struct ingester *ing, size_t *n)
{
    pthread_rwlock_rdlock(&ing->tenants_lock);
    struct ingester_tenant **v = tr_malloc((ing->ntenants + 1) * sizeof(*v));
    *n = 0;
    if (v != NULL && ing->ntenants > 0) {
        memcpy(v, ing->tenants, ing->ntenants * sizeof(*v));
    }
    if (v != NULL) {
        *n = ing->ntenants;
    }
    pthread_rwlock_unlock(&ing->tenants_lock);
    return v;
}

/* ---- metadata --------------------------------------------------------- */

/* Byte order of the C string a and the len bytes at b. */
static int
str_cmp_n(const char *a, const char *b, size_t len)
{
    size_t alen = strlen(a);
    int c = memcmp(a, b, alen < len ? alen : len);
    if (c != 0) {
        return c;
    }
    return alen < len ? -1 : alen > len;
}

/* Sets *dst to a copy of the len bytes at src (unless equal already). */
static int
replace_str(char **dst, const char *src, size_t len)
{
    if (*dst != NULL && str_cmp_n(*dst, src, len) == 0) {
        return TR_OK;
    }
    char *copy = tr_malloc(len + 1);
    if (copy == NULL) {
        return TR_ENOMEM;
    }
    memcpy(copy, src, len);
    copy[len] = '\0';
    tr_free(*dst);
    *dst = copy;
    return TR_OK;
}

int
ingester_tenant_put_metadata(struct ingester_tenant *t,
                             const struct tr_prompb_metadata *m)
{
    int rc = TR_OK;
    pthread_mutex_lock(&t->lock);
    size_t lo = 0, hi = t->nmeta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (str_cmp_n(t->meta[mid].family, m->family, m->family_len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    struct ingester_metadata *e;
    if (lo < t->nmeta &&
        str_cmp_n(t->meta[lo].family, m->family, m->family_len) == 0) {
        e = &t->meta[lo];
    } else {
        if (t->nmeta == t->capmeta) {
            size_t cap = t->capmeta ? t->capmeta * 2 : 16;
            void *p = tr_realloc(t->meta, cap * sizeof(*t->meta));
            if (p == NULL) {
                rc = TR_ENOMEM;
                goto out;
            }
            t->meta = p;
            t->capmeta = cap;
        }
        char *family = NULL;
        if (replace_str(&family, m->family, m->family_len) != TR_OK) {
            rc = TR_ENOMEM;
            goto out;
        }
        memmove(&t->meta[lo + 1], &t->meta[lo],
                (t->nmeta - lo) * sizeof(*t->meta));
        t->nmeta++;
        e = &t->meta[lo];
        *e = (struct ingester_metadata){.family = family};
    }
    e->type = (int)m->type;
    if (replace_str(&e->help, m->help, m->help_len) != TR_OK ||
        replace_str(&e->unit, m->unit, m->unit_len) != TR_OK) {
        rc = TR_ENOMEM;
    }
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* ---- exemplars -------------------------------------------------------- */

int
ingester_tenant_put_exemplar(struct ingester_tenant *t,
                             const struct tr_labels *series,
                             const struct tr_label *labels, size_t nlabels,
                             double value, int64_t timestamp)
{
    if (t->cap_ex == 0) {
        return TR_OK;
    }
    struct tr_labels *ls = NULL;
    int rc =
        tr_labels_from_pairs(labels, nlabels < 64 ? nlabels : 64, &ls, NULL);
    if (rc != TR_OK) {
        return rc;
    }
    struct tr_labels *sls = tr_labels_dup(series);
    if (sls == NULL) {
        tr_labels_destroy(ls);
        return TR_ENOMEM;
    }
    pthread_mutex_lock(&t->lock);
    if (t->ex == NULL) {
        t->ex = tr_calloc(t->cap_ex, sizeof(*t->ex));
        if (t->ex == NULL) {
            pthread_mutex_unlock(&t->lock);
            tr_labels_destroy(ls);
            tr_labels_destroy(sls);
            return TR_ENOMEM;
        }
    }
    struct ingester_exemplar *slot;
    if (t->ex_len == t->cap_ex) {
        slot = &t->ex[t->ex_start];
        tr_labels_destroy(slot->series);
        tr_labels_destroy(slot->labels);
        t->ex_start = (t->ex_start + 1) % t->cap_ex;
    } else {
        slot = &t->ex[(t->ex_start + t->ex_len) % t->cap_ex];
        t->ex_len++;
    }
    *slot = (struct ingester_exemplar){
        .series = sls, .labels = ls, .value = value, .t = timestamp};
    pthread_mutex_unlock(&t->lock);
    return TR_OK;
}
