/*
 * Binary operators: arithmetic, comparisons (filtering or with bool) and
 * set operators, between scalars and instant vectors, with on/ignoring and
 * group_left/group_right vector matching as Prometheus 2.42.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "promql/eval_internal.h"

/* Operators whose result drops __name__ (Prometheus 2.42
 * shouldDropMetricName: atan2 is not among them). */
static bool
is_arith(enum tr_promql_op op)
{
    switch (op) {
    case TR_PROMQL_OP_ADD:
    case TR_PROMQL_OP_SUB:
    case TR_PROMQL_OP_MUL:
    case TR_PROMQL_OP_DIV:
    case TR_PROMQL_OP_MOD:
    case TR_PROMQL_OP_POW:
        return true;
    default:
        return false;
    }
}

/* Value of l op r; *keep false when a comparison filters the sample. */
static double
binop(enum tr_promql_op op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case TR_PROMQL_OP_ADD:
        return l + r;
    case TR_PROMQL_OP_SUB:
        return l - r;
    case TR_PROMQL_OP_MUL:
        return l * r;
    case TR_PROMQL_OP_DIV:
        return l / r;
    case TR_PROMQL_OP_MOD:
        return fmod(l, r);
    case TR_PROMQL_OP_POW:
        return pow(l, r);
    case TR_PROMQL_OP_ATAN2:
        return atan2(l, r);
    case TR_PROMQL_OP_EQL:
        *keep = l == r;
        return l;
    case TR_PROMQL_OP_NEQ:
        *keep = l != r;
        return l;
    case TR_PROMQL_OP_GTR:
        *keep = l > r;
        return l;
    case TR_PROMQL_OP_LSS:
        *keep = l < r;
        return l;
    case TR_PROMQL_OP_GTE:
        *keep = l >= r;
        return l;
    case TR_PROMQL_OP_LTE:
        *keep = l <= r;
        return l;
    default:
        break;
    }
    return NAN;
}

static void
eval_scalar_scalar(struct ev *ev, enum tr_promql_op op, const double *l,
                   const double *r, struct ev_value *out)
{
    out->type = TR_PROMQL_TYPE_SCALAR;
    out->sc = ev_alloc(ev, ev->nsteps * sizeof(double));
    for (size_t k = 0; k < ev->nsteps; k++) {
        bool keep;
        double v = binop(op, l[k], r[k], &keep);
        out->sc[k] = tr_promql_op_is_comparison(op) ? (keep ? 1 : 0) : v;
    }
}

/* vec op scalar, or scalar op vec when swap. */
static void
eval_vector_scalar(struct ev *ev, enum tr_promql_op op, bool return_bool,
                   const struct ev_matrix *vec, const double *sc, bool swap,
                   struct ev_value *out)
{
    bool cmp = tr_promql_op_is_comparison(op);
    bool drop = is_arith(op) || return_bool;

    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));
    for (size_t i = 0; i < vec->n; i++) {
        const struct ev_series *s = &vec->s[i];
        struct ev_series *o = NULL;

        ev_tick(ev);
        for (size_t k = 0; k < s->n; k++) {
            double lv = s->p[k].v, rv = sc[ev_step_index(ev, s->p[k].t)];
            bool keep;
            if (swap) {
                double t = lv;
                lv = rv;
                rv = t;
            }
            double v = binop(op, lv, rv, &keep);
            if (cmp && swap) {
                v = rv;
            }
            if (return_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep) {
                continue;
            }
            if (o == NULL) {
                size_t idx = ev_matrix_add(
                    ev, &out->m,
                    drop ? ev_labels_drop_name(ev, s->lbl) : s->lbl, s->n);
                o = &out->m.s[idx];
            }
            ev_series_push(ev, o, s->p[k].t, v);
        }
    }
    ev_matrix_unique(ev, &out->m, false);
}

/* Whether series s has a point at step time ts (advancing its cursor). */
static bool
at_step(const struct ev_series *s, size_t *cur, int64_t ts, double *v)
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

/* Output series index for labels lbl (found or created). */
static int32_t
out_series(struct ev *ev, struct ev_matrix *out, struct ev_map *by_labels,
           struct tr_promql_labels lbl)
{
    uint64_t h = ev_labels_hash(&lbl);
    int32_t idx = ev_map_get(by_labels, h);
    if (idx < 0) {
        idx = (int32_t)ev_matrix_add(ev, out, lbl, 0);
        ev_map_put(ev, by_labels, h, idx);
    }
    return idx;
}

static void
eval_set_op(struct ev *ev, enum tr_promql_op op,
            const struct tr_promql_vector_matching *vm,
            const struct ev_matrix *l, const struct ev_matrix *r,
            struct ev_value *out)
{
    bool on = vm != NULL && vm->on;
    const struct tr_promql_str *names = vm != NULL ? vm->labels : NULL;
    size_t nn = vm != NULL ? vm->n_labels : 0;
    uint64_t *lsig = ev_alloc(ev, (l->n + 1) * sizeof(uint64_t));
    uint64_t *rsig = ev_alloc(ev, (r->n + 1) * sizeof(uint64_t));
    int32_t *lout = ev_alloc(ev, (l->n + 1) * sizeof(int32_t));
    int32_t *rout = ev_alloc(ev, (r->n + 1) * sizeof(int32_t));
    size_t *lcur = ev_calloc(ev, l->n + 1, sizeof(size_t));
    size_t *rcur = ev_calloc(ev, r->n + 1, sizeof(size_t));
    struct ev_map sigs, by_labels;

    for (size_t i = 0; i < l->n; i++) {
        lsig[i] = ev_labels_sig(&l->s[i].lbl, on, names, nn);
        lout[i] = -1;
    }
    for (size_t j = 0; j < r->n; j++) {
        rsig[j] = ev_labels_sig(&r->s[j].lbl, on, names, nn);
        rout[j] = -1;
    }
    ev_map_init(ev, &sigs, l->n + r->n);
    ev_map_init(ev, &by_labels, l->n + r->n);
    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));

    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        double v;

        ev_tick(ev);
        ev_map_clear(&sigs);
        if (op == TR_PROMQL_OP_OR) {
            for (size_t i = 0; i < l->n; i++) {
                if (!at_step(&l->s[i], &lcur[i], ts, &v)) {
                    continue;
                }
                ev_map_put(ev, &sigs, lsig[i], 1);
                if (lout[i] < 0) {
                    lout[i] = out_series(ev, &out->m, &by_labels, l->s[i].lbl);
                }
                ev_series_push(ev, &out->m.s[lout[i]], ts, v);
            }
            for (size_t j = 0; j < r->n; j++) {
                if (!at_step(&r->s[j], &rcur[j], ts, &v) ||
                    ev_map_get(&sigs, rsig[j]) >= 0) {
                    continue;
                }
                if (rout[j] < 0) {
                    rout[j] = out_series(ev, &out->m, &by_labels, r->s[j].lbl);
                }
                ev_series_push(ev, &out->m.s[rout[j]], ts, v);
            }
            continue;
        }
        for (size_t j = 0; j < r->n; j++) {
            if (at_step(&r->s[j], &rcur[j], ts, &v)) {
                ev_map_put(ev, &sigs, rsig[j], 1);
            }
        }
        for (size_t i = 0; i < l->n; i++) {
            if (!at_step(&l->s[i], &lcur[i], ts, &v)) {
                continue;
            }
            bool found = ev_map_get(&sigs, lsig[i]) >= 0;
            if (found != (op == TR_PROMQL_OP_AND)) {
                continue;
            }
            if (lout[i] < 0) {
                lout[i] = out_series(ev, &out->m, &by_labels, l->s[i].lbl);
            }
            ev_series_push(ev, &out->m.s[lout[i]], ts, v);
        }
    }
    ev_matrix_compact(&out->m);
}

/* Labels the match group is identified by (for error messages). */
static struct tr_promql_labels
match_labels(struct ev *ev, struct tr_promql_labels l,
             const struct tr_promql_vector_matching *vm)
{
    struct ev_lb b;
    ev_lb_init(ev, &b, l, 0);
    if (vm->on) {
        ev_lb_keep(&b, vm->labels, vm->n_labels);
    } else {
        for (size_t i = 0; i < vm->n_labels; i++) {
            ev_lb_del(&b, vm->labels[i].data, vm->labels[i].len);
        }
        ev_lb_del(&b, TR_LABEL_METRIC_NAME, 8);
    }
    return ev_lb_labels(&b);
}

static _Noreturn void
fail_duplicate(struct ev *ev, const struct tr_promql_vector_matching *vm,
               struct tr_promql_labels cur, struct tr_promql_labels prev)
{
    struct tr_buf a = TR_BUF_INIT, b = TR_BUF_INIT, c = TR_BUF_INIT;
    struct tr_promql_labels ml = match_labels(ev, cur, vm);
    char msg[TR_ERR_MSG_MAX];

    tr_promql_labels_format(&ml, &a);
    tr_promql_labels_format(&cur, &b);
    tr_promql_labels_format(&prev, &c);
    snprintf(msg, sizeof(msg),
             "found duplicate series for the match group %.*s on the %s "
             "hand-side of the operation: [%.*s, %.*s];many-to-many matching "
             "not allowed: matching labels must be unique on one side",
             (int)a.len, a.data ? a.data : "",
             vm->card == TR_PROMQL_CARD_ONE_TO_MANY ? "left" : "right",
             (int)b.len, b.data ? b.data : "", (int)c.len,
             c.data ? c.data : "");
    tr_buf_fini(&a);
    tr_buf_fini(&b);
    tr_buf_fini(&c);
    ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL, "%s", msg);
}

static struct tr_promql_labels
result_metric(struct ev *ev, struct tr_promql_labels l,
              struct tr_promql_labels r, enum tr_promql_op op,
              const struct tr_promql_vector_matching *vm, bool return_bool)
{
    struct ev_lb b;
    ev_lb_init(ev, &b, l, vm->n_include);
    if (is_arith(op) || return_bool) {
        ev_lb_del(&b, TR_LABEL_METRIC_NAME, 8);
    }
    if (vm->card == TR_PROMQL_CARD_ONE_TO_ONE) {
        if (vm->on) {
            ev_lb_keep(&b, vm->labels, vm->n_labels);
        } else {
            for (size_t i = 0; i < vm->n_labels; i++) {
                ev_lb_del(&b, vm->labels[i].data, vm->labels[i].len);
            }
        }
    }
    for (size_t i = 0; i < vm->n_include; i++) {
        const char *v;
        size_t vlen;
        const struct tr_promql_str *name = &vm->include[i];
        if (tr_promql_labels_get(&r, name->data, name->len, &v, &vlen) &&
            vlen > 0) {
            ev_lb_set(ev, &b, name->data, name->len, v, vlen);
        } else {
            ev_lb_del(&b, name->data, name->len);
        }
    }
    return ev_lb_labels(&b);
}

static void
eval_vector_vector(struct ev *ev, enum tr_promql_op op, bool return_bool,
                   const struct tr_promql_vector_matching *vm,
                   const struct ev_matrix *lhs, const struct ev_matrix *rhs,
                   struct ev_value *out)
{
    static const struct tr_promql_vector_matching none = {0};
    if (vm == NULL) {
        vm = &none;
    }
    bool one_to_many = vm->card == TR_PROMQL_CARD_ONE_TO_MANY;
    /* The "many" side is l, the "one" side r. */
    const struct ev_matrix *l = one_to_many ? rhs : lhs;
    const struct ev_matrix *r = one_to_many ? lhs : rhs;
    uint64_t *lsig = ev_alloc(ev, (l->n + 1) * sizeof(uint64_t));
    uint64_t *rsig = ev_alloc(ev, (r->n + 1) * sizeof(uint64_t));
    size_t *lcur = ev_calloc(ev, l->n + 1, sizeof(size_t));
    size_t *rcur = ev_calloc(ev, r->n + 1, sizeof(size_t));
    double *rval = ev_alloc(ev, (r->n + 1) * sizeof(double));
    uint32_t *rmatched = ev_calloc(ev, r->n + 1, sizeof(uint32_t));
    struct ev_map rmap, pairs, by_labels;
    uint32_t *out_gen = NULL;
    uint64_t *out_sig = NULL;
    size_t out_cap = 0;

    for (size_t i = 0; i < l->n; i++) {
        lsig[i] = ev_labels_sig(&l->s[i].lbl, vm->on, vm->labels, vm->n_labels);
    }
    for (size_t j = 0; j < r->n; j++) {
        rsig[j] = ev_labels_sig(&r->s[j].lbl, vm->on, vm->labels, vm->n_labels);
    }
    ev_map_init(ev, &rmap, r->n);
    ev_map_init(ev, &pairs, l->n);
    ev_map_init(ev, &by_labels, l->n);
    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));

    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        uint32_t gen = (uint32_t)k + 1;
        double v;

        ev_tick(ev);
        ev_map_clear(&rmap);
        for (size_t j = 0; j < r->n; j++) {
            if (!at_step(&r->s[j], &rcur[j], ts, &rval[j])) {
                continue;
            }
            int32_t prev = ev_map_get(&rmap, rsig[j]);
            if (prev >= 0) {
                fail_duplicate(ev, vm, r->s[j].lbl, r->s[prev].lbl);
            }
            ev_map_put(ev, &rmap, rsig[j], (int32_t)j);
        }
        if (rmap.len == 0) {
            continue;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (!at_step(&l->s[i], &lcur[i], ts, &v)) {
                continue;
            }
            int32_t j = ev_map_get(&rmap, lsig[i]);
            if (j < 0) {
                continue;
            }
            double vl = v, vr = rval[j];
            bool keep;
            if (one_to_many) {
                vl = rval[j];
                vr = v;
            }
            double value = binop(op, vl, vr, &keep);
            if (return_bool) {
                value = keep ? 1 : 0;
            } else if (!keep) {
                continue;
            }
            uint64_t pkey = ((uint64_t)i << 32) | (uint32_t)j;
            int32_t o = ev_map_get(&pairs, pkey);
            if (o < 0) {
                struct tr_promql_labels m = result_metric(
                    ev, l->s[i].lbl, r->s[j].lbl, op, vm, return_bool);
                o = out_series(ev, &out->m, &by_labels, m);
                ev_map_put(ev, &pairs, pkey, o);
            }
            if ((size_t)o >= out_cap) {
                size_t cap = out_cap ? out_cap * 2 : 16;
                while (cap <= (size_t)o) {
                    cap *= 2;
                }
                uint32_t *g = ev_calloc(ev, cap, sizeof(*g));
                uint64_t *sg = ev_calloc(ev, cap, sizeof(*sg));
                if (out_cap > 0) {
                    memcpy(g, out_gen, out_cap * sizeof(*g));
                    memcpy(sg, out_sig, out_cap * sizeof(*sg));
                }
                out_gen = g;
                out_sig = sg;
                out_cap = cap;
            }
            if (vm->card == TR_PROMQL_CARD_ONE_TO_ONE) {
                if (rmatched[j] == gen) {
                    ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                            "multiple matches for labels: many-to-one "
                            "matching must be explicit "
                            "(group_left/group_right)");
                }
                rmatched[j] = gen;
            }
            if (out_gen[o] == gen) {
                if (vm->card != TR_PROMQL_CARD_ONE_TO_ONE &&
                    out_sig[o] == lsig[i]) {
                    ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                            "multiple matches for labels: grouping labels "
                            "must ensure unique matches");
                }
                ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                        "vector cannot contain metrics with the same "
                        "labelset");
            }
            out_gen[o] = gen;
            out_sig[o] = lsig[i];
            ev_series_push(ev, &out->m.s[o], ts, value);
        }
    }
    ev_matrix_compact(&out->m);
}

void
ev_eval_binary(struct ev *ev, const struct tr_promql_node *n,
               struct ev_value *out)
{
    enum tr_promql_op op = n->u.binary.op;
    bool rb = n->u.binary.return_bool;
    struct ev_value l, r;

    ev_eval(ev, n->u.binary.lhs, &l);
    ev_eval(ev, n->u.binary.rhs, &r);
    bool ls = l.type == TR_PROMQL_TYPE_SCALAR;
    bool rs = r.type == TR_PROMQL_TYPE_SCALAR;

    if (ls && rs) {
        eval_scalar_scalar(ev, op, l.sc, r.sc, out);
    } else if (rs) {
        eval_vector_scalar(ev, op, rb, &l.m, r.sc, false, out);
    } else if (ls) {
        eval_vector_scalar(ev, op, rb, &r.m, l.sc, true, out);
    } else if (tr_promql_op_is_set(op)) {
        eval_set_op(ev, op, n->u.binary.matching, &l.m, &r.m, out);
    } else {
        eval_vector_vector(ev, op, rb, n->u.binary.matching, &l.m, &r.m, out);
    }
}
