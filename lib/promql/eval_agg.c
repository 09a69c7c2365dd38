/*
 * Aggregation operators (sum, avg, count, min, max, group, stddev, stdvar,
 * quantile, topk, bottomk, count_values) with by/without, as Prometheus
 * 2.42 computes them: groups in first-seen order, avg as an incremental
 * mean, stddev/stdvar with Welford's running mean, topk/bottomk with Go's
 * heap so ties resolve the same way.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "promql/eval_internal.h"

struct agg {
    struct ev *ev;
    enum tr_promql_agg_op op;
    const struct tr_promql_str *grouping;
    size_t n_grouping;
    bool without;
    const struct ev_matrix *in;
    struct ev_matrix *out;
    /* per input series */
    int32_t *gidx;
    size_t *cur;
    /* per group */
    struct tr_promql_labels *glbl;
    int32_t *gout;
    uint32_t *gseen;
    size_t *gsize;
    double *val;
    double *mean;
    double *cnt;
    size_t ngroups;
    /* groups touched in the current step, in first-seen order */
    int32_t *touched;
    size_t ntouched;
};

static struct tr_promql_labels
group_labels(struct ev *ev, struct tr_promql_labels l,
             const struct tr_promql_str *grouping, size_t n, bool without)
{
    struct ev_lb b;
    ev_lb_init(ev, &b, l, 0);
    if (without) {
        for (size_t i = 0; i < n; i++) {
            ev_lb_del(&b, grouping[i].data, grouping[i].len);
        }
        ev_lb_del(&b, TR_LABEL_METRIC_NAME, 8);
    } else {
        ev_lb_keep(&b, grouping, n);
    }
    return ev_lb_labels(&b);
}

static void
assign_groups(struct agg *a)
{
    struct ev *ev = a->ev;
    struct ev_map map;
    size_t n = a->in->n;

    a->gidx = ev_alloc(ev, (n + 1) * sizeof(int32_t));
    a->cur = ev_calloc(ev, n + 1, sizeof(size_t));
    a->glbl = ev_alloc(ev, (n + 1) * sizeof(*a->glbl));
    a->gsize = ev_calloc(ev, n + 1, sizeof(size_t));
    ev_map_init(ev, &map, n);
    for (size_t i = 0; i < n; i++) {
        struct tr_promql_labels gl = group_labels(
            ev, a->in->s[i].lbl, a->grouping, a->n_grouping, a->without);
        uint64_t h = ev_labels_hash(&gl);
        int32_t g = ev_map_get(&map, h);
        if (g < 0) {
            g = (int32_t)a->ngroups++;
            a->glbl[g] = gl;
            ev_map_put(ev, &map, h, g);
        }
        a->gidx[i] = g;
        a->gsize[g]++;
    }
    size_t ng = a->ngroups + 1;
    a->gout = ev_alloc(ev, ng * sizeof(int32_t));
    memset(a->gout, 0xff, ng * sizeof(int32_t));
    a->gseen = ev_calloc(ev, ng, sizeof(uint32_t));
    a->val = ev_calloc(ev, ng, sizeof(double));
    a->mean = ev_calloc(ev, ng, sizeof(double));
    a->cnt = ev_calloc(ev, ng, sizeof(double));
    a->touched = ev_alloc(ev, ng * sizeof(int32_t));
}

static bool
present(const struct ev_series *s, size_t *cur, int64_t ts, double *v)
{
    while (*cur < s->n && s->p[*cur].t < ts) {
        (*cur)++;
    }
    if (*cur < s->n && s->p[*cur].t == ts) {
        *v = s->p[*cur].v;
        return true;
    }
    return false;
}

static void
emit(struct agg *a, int32_t g, int64_t ts, double v)
{
    if (a->gout[g] < 0) {
        a->gout[g] = (int32_t)ev_matrix_add(a->ev, a->out, a->glbl[g],
                                            ev_points_hint(a->ev, ts));
    }
    ev_series_push(a->ev, &a->out->s[a->gout[g]], ts, v);
}

/* sum, avg, count, min, max, group, stddev, stdvar, quantile */
static void
agg_simple(struct agg *a, const double *param)
{
    struct ev *ev = a->ev;
    size_t n = a->in->n;
    /* quantile: values grouped per step */
    double *qvals = NULL;
    int32_t *qgrp = NULL;
    size_t *qoff = NULL, nq = 0;

    if (a->op == TR_PROMQL_AGG_QUANTILE) {
        qvals = ev_alloc(ev, (n + 1) * sizeof(double));
        qgrp = ev_alloc(ev, (n + 1) * sizeof(int32_t));
        qoff = ev_alloc(ev, (a->ngroups + 2) * sizeof(size_t));
    }
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        uint32_t gen = (uint32_t)k + 1;

        ev_tick(ev);
        a->ntouched = 0;
        nq = 0;
        for (size_t i = 0; i < n; i++) {
            double v;
            if (!present(&a->in->s[i], &a->cur[i], ts, &v)) {
                continue;
            }
            int32_t g = a->gidx[i];
            if (a->gseen[g] != gen) {
                a->gseen[g] = gen;
                a->touched[a->ntouched++] = g;
                a->val[g] = v;
                a->mean[g] = v;
                a->cnt[g] = 1;
                if (a->op == TR_PROMQL_AGG_STDDEV ||
                    a->op == TR_PROMQL_AGG_STDVAR) {
                    a->val[g] = 0;
                } else if (a->op == TR_PROMQL_AGG_GROUP) {
                    a->val[g] = 1;
                } else if (a->op == TR_PROMQL_AGG_QUANTILE) {
                    qvals[nq] = v;
                    qgrp[nq++] = g;
                }
                continue;
            }
            switch (a->op) {
            case TR_PROMQL_AGG_SUM:
                a->val[g] += v;
                break;
            case TR_PROMQL_AGG_AVG: {
                a->cnt[g]++;
                double m = a->mean[g];
                if (isinf(m)) {
                    if (isinf(v) && (m > 0) == (v > 0)) {
                        break;
                    }
                    if (!isinf(v) && !isnan(v)) {
                        break;
                    }
                }
                a->mean[g] += v / a->cnt[g] - m / a->cnt[g];
                break;
            }
            case TR_PROMQL_AGG_COUNT:
                a->cnt[g]++;
                break;
            case TR_PROMQL_AGG_MAX:
                if (a->val[g] < v || isnan(a->val[g])) {
                    a->val[g] = v;
                }
                break;
            case TR_PROMQL_AGG_MIN:
                if (a->val[g] > v || isnan(a->val[g])) {
                    a->val[g] = v;
                }
                break;
            case TR_PROMQL_AGG_STDDEV:
            case TR_PROMQL_AGG_STDVAR: {
                a->cnt[g]++;
                double delta = v - a->mean[g];
                a->mean[g] += delta / a->cnt[g];
                a->val[g] += delta * (v - a->mean[g]);
                break;
            }
            case TR_PROMQL_AGG_QUANTILE:
                qvals[nq] = v;
                qgrp[nq++] = g;
                break;
            default:
                break;
            }
        }
        if (a->op == TR_PROMQL_AGG_QUANTILE && nq > 0) {
            /* Regroup the collected values by group (counting sort). */
            double *sorted = ev_alloc(ev, nq * sizeof(double));
            memset(qoff, 0, (a->ngroups + 2) * sizeof(size_t));
            for (size_t j = 0; j < nq; j++) {
                qoff[qgrp[j] + 2]++;
            }
            for (size_t g = 0; g < a->ngroups; g++) {
                qoff[g + 2] += qoff[g + 1];
            }
            for (size_t j = 0; j < nq; j++) {
                sorted[qoff[qgrp[j] + 1]++] = qvals[j];
            }
            for (size_t t = 0; t < a->ntouched; t++) {
                int32_t g = a->touched[t];
                size_t lo = g == 0 ? 0 : qoff[g];
                size_t hi = qoff[g + 1];
                a->val[g] = ev_quantile(param[k], sorted + lo, hi - lo);
            }
        }
        for (size_t t = 0; t < a->ntouched; t++) {
            int32_t g = a->touched[t];
            double v = a->val[g];
            switch (a->op) {
            case TR_PROMQL_AGG_AVG:
                v = a->mean[g];
                break;
            case TR_PROMQL_AGG_COUNT:
                v = a->cnt[g];
                break;
            case TR_PROMQL_AGG_STDVAR:
                v = a->val[g] / a->cnt[g];
                break;
            case TR_PROMQL_AGG_STDDEV:
                v = sqrt(a->val[g] / a->cnt[g]);
                break;
            default:
                break;
            }
            emit(a, g, ts, v);
        }
    }
}

/* ---- topk / bottomk: Go's container/heap over (series, value) ---------- */

struct hitem {
    int32_t series;
    double v;
};

static bool
hless(const struct hitem *h, size_t i, size_t j, bool top)
{
    if (isnan(h[i].v)) {
        return true;
    }
    return top ? h[i].v < h[j].v : h[i].v > h[j].v;
}

static void
hswap(struct hitem *h, size_t i, size_t j)
{
    struct hitem t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void
hup(struct hitem *h, size_t j, bool top)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!hless(h, j, i, top)) {
            break;
        }
        hswap(h, i, j);
        j = i;
    }
}

static bool
hdown(struct hitem *h, size_t i0, size_t n, bool top)
{
    size_t i = i0;
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n) {
            break;
        }
        size_t j = j1;
        if (j1 + 1 < n && hless(h, j1 + 1, j1, top)) {
            j = j1 + 1;
        }
        if (!hless(h, j, i, top)) {
            break;
        }
        hswap(h, i, j);
        i = j;
    }
    return i > i0;
}

static void
agg_topk(struct agg *a, const double *param)
{
    struct ev *ev = a->ev;
    bool top = a->op == TR_PROMQL_AGG_TOPK;
    size_t n = a->in->n;
    struct hitem **heaps = ev_alloc(ev, (a->ngroups + 1) * sizeof(*heaps));
    size_t *hlen = ev_calloc(ev, a->ngroups + 1, sizeof(size_t));
    int32_t *sout = ev_alloc(ev, (n + 1) * sizeof(int32_t));

    memset(sout, 0xff, (n + 1) * sizeof(int32_t));
    for (size_t g = 0; g < a->ngroups; g++) {
        heaps[g] = ev_alloc(ev, a->gsize[g] * sizeof(struct hitem));
    }
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        uint32_t gen = (uint32_t)k + 1;
        double f = param[k];

        ev_tick(ev);
        if (!(f <= 9223372036854775807.0 && f >= -9223372036854775808.0)) {
            char b[64];
            ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                    "Scalar value %s overflows int64",
                    ev_fmt_g(f, b, sizeof(b)));
        }
        int64_t kk = (int64_t)f;
        /* Consume the step's points even when nothing is selected. */
        a->ntouched = 0;
        for (size_t i = 0; i < n; i++) {
            double v;
            if (!present(&a->in->s[i], &a->cur[i], ts, &v) || kk < 1) {
                continue;
            }
            int32_t g = a->gidx[i];
            struct hitem *h = heaps[g];
            if (a->gseen[g] != gen) {
                a->gseen[g] = gen;
                a->touched[a->ntouched++] = g;
                hlen[g] = 0;
            }
            if ((int64_t)hlen[g] < kk) {
                h[hlen[g]] = (struct hitem){(int32_t)i, v};
                hup(h, hlen[g], top);
                hlen[g]++;
            } else if ((top ? h[0].v < v : h[0].v > v) ||
                       (isnan(h[0].v) && !isnan(v))) {
                h[0] = (struct hitem){(int32_t)i, v};
                if (!hdown(h, 0, hlen[g], top)) {
                    hup(h, 0, top);
                }
            }
        }
        for (size_t t = 0; t < a->ntouched; t++) {
            int32_t g = a->touched[t];
            struct hitem *h = heaps[g];
            size_t len = hlen[g];
            /* Reverse heap order: best first (insertion sort, stable). */
            for (size_t x = 1; x < len; x++) {
                struct hitem it = h[x];
                size_t y = x;
                while (y > 0) {
                    struct hitem pair[2] = {h[y - 1], it};
                    /* it goes before h[y-1] when h[y-1] "less" it. */
                    if (!hless(pair, 0, 1, top) || hless(pair, 1, 0, top)) {
                        break;
                    }
                    h[y] = h[y - 1];
                    y--;
                }
                h[y] = it;
            }
            for (size_t x = 0; x < len; x++) {
                int32_t i = h[x].series;
                if (sout[i] < 0) {
                    sout[i] =
                        (int32_t)ev_matrix_add(ev, a->out, a->in->s[i].lbl, 0);
                }
                ev_series_push(ev, &a->out->s[sout[i]], ts, h[x].v);
            }
        }
    }
}

/* ---- count_values ----------------------------------------------------------
 */

static void
agg_count_values(struct agg *a, struct tr_promql_str label)
{
    struct ev *ev = a->ev;
    size_t n = a->in->n;
    const struct tr_promql_str *names = a->grouping;
    size_t nn = a->n_grouping;
    struct ev_map map;
    double *counts = NULL;
    uint32_t *seen = NULL;
    size_t cap = 0;
    int32_t *touched = ev_alloc(ev, (n + 1) * sizeof(int32_t));
    size_t *cur = ev_calloc(ev, n + 1, sizeof(size_t));

    if (!a->without) {
        struct tr_promql_str *g = ev_alloc(ev, (nn + 1) * sizeof(*g));
        if (nn > 0) {
            memcpy(g, a->grouping, nn * sizeof(*g));
        }
        g[nn++] = label;
        names = g;
    }
    ev_map_init(ev, &map, n);
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        uint32_t gen = (uint32_t)k + 1;
        size_t nt = 0;

        ev_tick(ev);
        for (size_t i = 0; i < n; i++) {
            double v;
            char buf[400];
            if (!present(&a->in->s[i], &cur[i], ts, &v)) {
                continue;
            }
            size_t len = ev_format_float(v, buf, sizeof(buf));
            struct ev_lb b;
            ev_lb_init(ev, &b, a->in->s[i].lbl, 1);
            ev_lb_set(ev, &b, label.data, label.len, ev_strndup(ev, buf, len),
                      len);
            struct tr_promql_labels gl =
                group_labels(ev, ev_lb_labels(&b), names, nn, a->without);
            uint64_t h = ev_labels_hash(&gl);
            int32_t o = ev_map_get(&map, h);
            if (o < 0) {
                o = (int32_t)ev_matrix_add(ev, a->out, gl, 0);
                ev_map_put(ev, &map, h, o);
            }
            if ((size_t)o >= cap) {
                size_t nc = cap ? cap * 2 : 16;
                while (nc <= (size_t)o) {
                    nc *= 2;
                }
                double *c2 = ev_calloc(ev, nc, sizeof(double));
                uint32_t *s2 = ev_calloc(ev, nc, sizeof(uint32_t));
                if (cap > 0) {
                    memcpy(c2, counts, cap * sizeof(double));
                    memcpy(s2, seen, cap * sizeof(uint32_t));
                }
                counts = c2;
                seen = s2;
                cap = nc;
            }
            if (seen[o] != gen) {
                seen[o] = gen;
                counts[o] = 0;
                touched[nt++] = o;
            }
            counts[o]++;
        }
        for (size_t t = 0; t < nt; t++) {
            ev_series_push(ev, &a->out->s[touched[t]], ts, counts[touched[t]]);
        }
    }
}

void
ev_eval_aggregate(struct ev *ev, const struct tr_promql_node *n,
                  struct ev_value *out)
{
    struct agg a;
    struct ev_value in;
    const double *param = NULL;
    struct tr_promql_str label = {0};

    memset(&a, 0, sizeof(a));
    a.ev = ev;
    a.op = n->u.aggregate.op;
    a.grouping = n->u.aggregate.grouping;
    a.n_grouping = n->u.aggregate.n_grouping;
    a.without = n->u.aggregate.without;

    if (a.op == TR_PROMQL_AGG_COUNT_VALUES) {
        struct ev_value p;
        ev_eval(ev, n->u.aggregate.param, &p);
        label = p.str;
        if (!ev_label_name_valid(label.data, label.len)) {
            struct tr_buf q = TR_BUF_INIT;
            char msg[TR_ERR_MSG_MAX];
            tr_promql_format_string(label.data, label.len, &q);
            snprintf(msg, sizeof(msg), "invalid label name %.*s", (int)q.len,
                     q.data ? q.data : "\"\"");
            tr_buf_fini(&q);
            ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL, "%s", msg);
        }
    } else if (n->u.aggregate.param != NULL) {
        param = ev_eval_scalar(ev, n->u.aggregate.param);
    }
    ev_eval(ev, n->u.aggregate.expr, &in);
    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));
    a.in = &in.m;
    a.out = &out->m;
    if (a.op == TR_PROMQL_AGG_COUNT_VALUES) {
        agg_count_values(&a, label);
        return;
    }
    assign_groups(&a);
    if (a.op == TR_PROMQL_AGG_TOPK || a.op == TR_PROMQL_AGG_BOTTOMK) {
        agg_topk(&a, param);
    } else {
        agg_simple(&a, param);
    }
}
