/*
 * PromQL function calls, with the semantics of Prometheus 2.42:
 * range-vector functions (rate and friends with Prometheus's
 * extrapolation, deriv/predict_linear by least squares, holt_winters,
 * the *_over_time family), instant-vector functions (math, clamp, round,
 * dates, label_replace/label_join, histogram_quantile on classic buckets,
 * sort, absent, timestamp) and scalar functions.
 *
 * Native histograms are out of scope: histogram_count, histogram_sum and
 * histogram_fraction see only float samples and so return nothing.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcre2.h>

#include "base/arena.h"
#include "base/buf.h"
#include "promql/eval_internal.h"

/* ---- numeric helpers ----------------------------------------------------- */

static void
kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (fabs(*sum) >= fabs(inc)) {
        *c += (*sum - t) + inc;
    } else {
        *c += (inc - t) + *sum;
    }
    *sum = t;
}

static void
linear_regression(const struct tr_promql_point *p, size_t n,
                  int64_t intercept_t, double *slope, double *intercept)
{
    double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0,
           cx2 = 0;
    double init_y = p[0].v;
    bool const_y = true;

    for (size_t i = 0; i < n; i++) {
        if (const_y && i > 0 && p[i].v != init_y) {
            const_y = false;
        }
        cnt += 1.0;
        double x = (double)(p[i].t - intercept_t) / 1e3;
        kahan_inc(x, &sx, &cx);
        kahan_inc(p[i].v, &sy, &cy);
        kahan_inc(x * p[i].v, &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        if (isinf(init_y)) {
            *slope = NAN;
            *intercept = NAN;
        } else {
            *slope = 0;
            *intercept = init_y;
        }
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / cnt;
    double var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *intercept = sy / cnt - *slope * sx / cnt;
}

/*
 * Prometheus's extrapolatedRate. With no_resets the caller knows that no
 * sample in p is below its predecessor, so the counter correction (which
 * would add nothing) is skipped.
 */
static bool
extrapolated_rate(const struct tr_promql_point *p, size_t n,
                  int64_t range_start, int64_t range_end, int64_t range_ms,
                  bool is_counter, bool is_rate, bool no_resets, double *out)
{
    if (n < 2) {
        return false;
    }
    double result = p[n - 1].v - p[0].v;
    /* The first sample is compared with 0 and could only add +0, which
     * changes no result (a -0 difference needs a +0 first sample). */
    if (is_counter && !no_resets) {
        double last = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i].v < last) {
                result += last;
            }
            last = p[i].v;
        }
    }
    double to_start = (double)(p[0].t - range_start) / 1000;
    double to_end = (double)(range_end - p[n - 1].t) / 1000;
    double sampled = (double)(p[n - 1].t - p[0].t) / 1000;
    double avg = sampled / (double)(n - 1);

    if (is_counter && result > 0 && p[0].v >= 0) {
        double to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start) {
            to_start = to_zero;
        }
    }
    double threshold = avg * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg / 2;
    interval += to_end < threshold ? to_end : avg / 2;
    result = result * (interval / sampled);
    if (is_rate) {
        result = result / ((double)range_ms / 1000.0);
    }
    *out = result;
    return true;
}

static bool
instant_value(const struct tr_promql_point *p, size_t n, bool is_rate,
              double *out)
{
    if (n < 2) {
        return false;
    }
    const struct tr_promql_point *last = &p[n - 1], *prev = &p[n - 2];
    double r;
    if (is_rate && last->v < prev->v) {
        r = last->v;
    } else {
        r = last->v - prev->v;
    }
    int64_t dt = last->t - prev->t;
    if (dt == 0) {
        return false;
    }
    if (is_rate) {
        r /= (double)dt / 1000;
    }
    *out = r;
    return true;
}

static double
trend_value(size_t i, double tf, double s0, double s1, double b)
{
    if (i == 0) {
        return b;
    }
    return tf * (s1 - s0) + (1 - tf) * b;
}

/* ---- range-vector functions ---------------------------------------------- */

struct range_args {
    int64_t ts;          /* step time */
    int64_t range_start; /* window bounds */
    int64_t range_end;
    int64_t range;
    double p1; /* scalar parameters at this step */
    double p2;
    bool no_resets; /* no sample of the window is below its predecessor */
};

static bool
range_fn(struct ev *ev, enum tr_promql_func_id id,
         const struct tr_promql_point *p, size_t n, const struct range_args *a,
         double *out)
{
    switch (id) {
    case TR_PROMQL_FN_RATE:
        return extrapolated_rate(p, n, a->range_start, a->range_end, a->range,
                                 true, true, a->no_resets, out);
    case TR_PROMQL_FN_INCREASE:
        return extrapolated_rate(p, n, a->range_start, a->range_end, a->range,
                                 true, false, a->no_resets, out);
    case TR_PROMQL_FN_DELTA:
        return extrapolated_rate(p, n, a->range_start, a->range_end, a->range,
                                 false, false, false, out);
    case TR_PROMQL_FN_IRATE:
        return instant_value(p, n, true, out);
    case TR_PROMQL_FN_IDELTA:
        return instant_value(p, n, false, out);
    case TR_PROMQL_FN_DERIV: {
        double slope, icpt;
        if (n < 2) {
            return false;
        }
        linear_regression(p, n, p[0].t, &slope, &icpt);
        *out = slope;
        return true;
    }
    case TR_PROMQL_FN_PREDICT_LINEAR: {
        double slope, icpt;
        if (n < 2) {
            return false;
        }
        linear_regression(p, n, a->ts, &slope, &icpt);
        *out = slope * a->p1 + icpt;
        return true;
    }
    case TR_PROMQL_FN_HOLT_WINTERS: {
        double sf = a->p1, tf = a->p2;
        char b[64];
        if (sf <= 0 || sf >= 1 || isnan(sf)) {
            ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: %s",
                    ev_fmt_g(sf, b, sizeof(b)));
        }
        if (tf <= 0 || tf >= 1 || isnan(tf)) {
            ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                    "invalid trend factor. Expected: 0 < tf < 1, got: %s",
                    ev_fmt_g(tf, b, sizeof(b)));
        }
        if (n < 2) {
            return false;
        }
        double s0 = 0, s1 = p[0].v, bb = p[1].v - p[0].v;
        for (size_t i = 1; i < n; i++) {
            double x = sf * p[i].v;
            bb = trend_value(i - 1, tf, s0, s1, bb);
            double y = (1 - sf) * (s1 + bb);
            s0 = s1;
            s1 = x + y;
        }
        *out = s1;
        return true;
    }
    case TR_PROMQL_FN_CHANGES: {
        double c = 0, prev = p[0].v;
        for (size_t i = 1; i < n; i++) {
            double cur = p[i].v;
            if (cur != prev && !(isnan(cur) && isnan(prev))) {
                c++;
            }
            prev = cur;
        }
        *out = c;
        return true;
    }
    case TR_PROMQL_FN_RESETS: {
        double c = 0, prev = p[0].v;
        for (size_t i = 1; i < n; i++) {
            if (p[i].v < prev) {
                c++;
            }
            prev = p[i].v;
        }
        *out = c;
        return true;
    }
    case TR_PROMQL_FN_AVG_OVER_TIME: {
        double mean = 0, count = 0, c = 0;
        for (size_t i = 0; i < n; i++) {
            double v = p[i].v;
            count++;
            if (isinf(mean)) {
                if (isinf(v) && (mean > 0) == (v > 0)) {
                    continue;
                }
                if (!isinf(v) && !isnan(v)) {
                    continue;
                }
            }
            kahan_inc(v / count - mean / count, &mean, &c);
        }
        *out = isinf(mean) ? mean : mean + c;
        return true;
    }
    case TR_PROMQL_FN_SUM_OVER_TIME: {
        double sum = 0, c = 0;
        for (size_t i = 0; i < n; i++) {
            kahan_inc(p[i].v, &sum, &c);
        }
        *out = isinf(sum) ? sum : sum + c;
        return true;
    }
    case TR_PROMQL_FN_COUNT_OVER_TIME:
        *out = (double)n;
        return true;
    case TR_PROMQL_FN_MAX_OVER_TIME: {
        double m = p[0].v;
        for (size_t i = 0; i < n; i++) {
            if (p[i].v > m || isnan(m)) {
                m = p[i].v;
            }
        }
        *out = m;
        return true;
    }
    case TR_PROMQL_FN_MIN_OVER_TIME: {
        double m = p[0].v;
        for (size_t i = 0; i < n; i++) {
            if (p[i].v < m || isnan(m)) {
                m = p[i].v;
            }
        }
        *out = m;
        return true;
    }
    case TR_PROMQL_FN_STDDEV_OVER_TIME:
    case TR_PROMQL_FN_STDVAR_OVER_TIME: {
        double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
        for (size_t i = 0; i < n; i++) {
            double v = p[i].v;
            count++;
            double delta = v - (mean + cmean);
            kahan_inc(delta / count, &mean, &cmean);
            kahan_inc(delta * (v - (mean + cmean)), &aux, &caux);
        }
        double var = (aux + caux) / count;
        *out = id == TR_PROMQL_FN_STDDEV_OVER_TIME ? sqrt(var) : var;
        return true;
    }
    case TR_PROMQL_FN_QUANTILE_OVER_TIME: {
        double *vals = ev_alloc(ev, n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            vals[i] = p[i].v;
        }
        *out = ev_quantile(a->p1, vals, n);
        return true;
    }
    case TR_PROMQL_FN_LAST_OVER_TIME:
        *out = p[n - 1].v;
        return true;
    case TR_PROMQL_FN_PRESENT_OVER_TIME:
        *out = 1;
        return true;
    default:
        break;
    }
    return false;
}

/* Labels absent() reports: the equality matchers used once, but not
 * __name__. */
static struct tr_promql_labels
absent_labels(struct ev *ev, const struct tr_promql_node *arg)
{
    struct ev_lb b = {0};
    const struct tr_promql_vector_selector *vs;

    arg = ev_unparen(arg);
    if (arg->kind == TR_PROMQL_MATRIX) {
        arg = arg->u.matrix.vector;
    }
    ev_lb_init(ev, &b, (struct tr_promql_labels){0}, 4);
    if (arg->kind != TR_PROMQL_VECTOR) {
        return ev_lb_labels(&b);
    }
    vs = &arg->u.vector;
    struct tr_promql_str *empty =
        ev_alloc(ev, (vs->n_matchers + 1) * sizeof(*empty));
    size_t ne = 0;
    for (size_t i = 0; i < vs->n_matchers; i++) {
        const struct tr_promql_matcher *m = &vs->matchers[i];
        if (m->name.len == 8 &&
            memcmp(m->name.data, TR_LABEL_METRIC_NAME, 8) == 0) {
            continue;
        }
        struct tr_promql_labels cur = ev_lb_labels(&b);
        if (m->type == TR_PROMQL_MATCH_EQ &&
            !tr_promql_labels_get(&cur, m->name.data, m->name.len, NULL,
                                  NULL)) {
            ev_lb_set(ev, &b, m->name.data, m->name.len, m->value.data,
                      m->value.len);
        } else {
            empty[ne++] = m->name;
        }
    }
    for (size_t i = 0; i < ne; i++) {
        ev_lb_del(&b, empty[i].data, empty[i].len);
    }
    return ev_lb_labels(&b);
}

static void
eval_range_call(struct ev *ev, const struct tr_promql_node *n,
                struct ev_value *out)
{
    const struct tr_promql_function *f = n->u.call.func;
    enum tr_promql_func_id id = f->id;
    size_t marg = id == TR_PROMQL_FN_QUANTILE_OVER_TIME ? 1 : 0;
    const double *p1 = NULL, *p2 = NULL;
    struct ev_range r;

    if (id == TR_PROMQL_FN_QUANTILE_OVER_TIME) {
        p1 = ev_eval_scalar(ev, n->u.call.args[0]);
    } else if (id == TR_PROMQL_FN_PREDICT_LINEAR) {
        p1 = ev_eval_scalar(ev, n->u.call.args[1]);
    } else if (id == TR_PROMQL_FN_HOLT_WINTERS) {
        p1 = ev_eval_scalar(ev, n->u.call.args[1]);
        p2 = ev_eval_scalar(ev, n->u.call.args[2]);
    }
    const char *hf = ev->hint_func;
    ev->hint_func = f->name;
    ev_eval_range(ev, n->u.call.args[marg], &r);
    ev->hint_func = hf;

    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));

    if (id == TR_PROMQL_FN_ABSENT_OVER_TIME) {
        struct ev_series *o = NULL;
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            int64_t ref = (r.has_at ? r.at : ts) - r.offset;
            bool any = false;
            ev_tick(ev);
            for (size_t i = 0; i < r.m.n && !any; i++) {
                size_t lo, hi;
                ev_window(&r.m.s[i], ref - r.range, ref, &lo, &hi);
                any = hi > lo;
            }
            if (any) {
                continue;
            }
            if (o == NULL) {
                size_t idx = ev_matrix_add(
                    ev, &out->m, absent_labels(ev, n->u.call.args[0]), 0);
                o = &out->m.s[idx];
            }
            ev_series_push(ev, o, ts, 1);
        }
        return;
    }

    bool keep_name = id == TR_PROMQL_FN_LAST_OVER_TIME;
    bool counter = id == TR_PROMQL_FN_RATE || id == TR_PROMQL_FN_INCREASE;
    uint32_t *resets = NULL;
    if (counter) {
        size_t most = 0;
        for (size_t i = 0; i < r.m.n; i++) {
            most = r.m.s[i].n > most ? r.m.s[i].n : most;
        }
        resets = ev_alloc(ev, (most + 1) * sizeof(*resets));
    }
    for (size_t i = 0; i < r.m.n; i++) {
        const struct ev_series *s = &r.m.s[i];
        struct ev_series *o = NULL;
        bool have_once = false, once_ok = false;
        double once = 0;
        /* Windows only move forward (without @): cursors instead of a
         * search per step. */
        size_t lo = 0, hi = 0;

        if (counter) {
            /* resets[j]: samples below their predecessor in p[1..j]. */
            resets[0] = 0;
            for (size_t j = 1; j < s->n; j++) {
                resets[j] = resets[j - 1] + (s->p[j].v < s->p[j - 1].v);
            }
        }

        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            struct range_args a;
            double v;
            bool ok;

            ev_tick(ev);
            if (r.has_at && have_once) {
                /* Step-invariant: Prometheus evaluates once at the start. */
                ok = once_ok;
                v = once;
            } else {
                int64_t ref = (r.has_at ? r.at : ts) - r.offset;
                if (r.has_at) {
                    ev_window(s, ref - r.range, ref, &lo, &hi);
                } else {
                    while (lo < s->n && s->p[lo].t < ref - r.range) {
                        lo++;
                    }
                    hi = hi > lo ? hi : lo;
                    while (hi < s->n && s->p[hi].t <= ref) {
                        hi++;
                    }
                }
                a.no_resets =
                    counter && hi > lo && resets[hi - 1] == resets[lo];
                a.ts = ts;
                a.range_start = ref - r.range;
                a.range_end = ref;
                a.range = r.range;
                a.p1 = p1 != NULL ? p1[k] : 0;
                a.p2 = p2 != NULL ? p2[k] : 0;
                ok = false;
                v = 0;
                if (hi > lo) {
                    ev_account(ev, (int64_t)(hi - lo));
                    ok = range_fn(ev, id, s->p + lo, hi - lo, &a, &v);
                    ev->cur_samples -= (int64_t)(hi - lo);
                }
                if (r.has_at) {
                    have_once = true;
                    once_ok = ok;
                    once = v;
                }
            }
            if (!ok) {
                continue;
            }
            if (o == NULL) {
                size_t idx = ev_matrix_add(
                    ev, &out->m,
                    keep_name ? s->lbl : ev_labels_drop_name(ev, s->lbl),
                    ev_points_hint(ev, ts));
                o = &out->m.s[idx];
            }
            ev_series_push(ev, o, ts, v);
        }
    }
    ev_matrix_unique(ev, &out->m, true);
}

/* ---- instant-vector functions -------------------------------------------- */

static double
go_log2(double x)
{
    int e;
    double frac = frexp(x, &e);
    if (frac == 0.5) {
        return (double)(e - 1);
    }
    return log(frac) * (1 / M_LN2) + (double)e;
}

static bool
date_parts(double v, struct tm *tm)
{
    if (isnan(v) || v >= 9.2e18 || v <= -9.2e18) {
        return false;
    }
    time_t t = (time_t)(int64_t)v;
    return gmtime_r(&t, tm) != NULL;
}

static double
date_fn(enum tr_promql_func_id id, double secs)
{
    struct tm tm;
    if (!date_parts(secs, &tm)) {
        return NAN;
    }
    switch (id) {
    case TR_PROMQL_FN_DAY_OF_MONTH:
        return tm.tm_mday;
    case TR_PROMQL_FN_DAY_OF_WEEK:
        return tm.tm_wday;
    case TR_PROMQL_FN_DAY_OF_YEAR:
        return tm.tm_yday + 1;
    case TR_PROMQL_FN_HOUR:
        return tm.tm_hour;
    case TR_PROMQL_FN_MINUTE:
        return tm.tm_min;
    case TR_PROMQL_FN_MONTH:
        return tm.tm_mon + 1;
    case TR_PROMQL_FN_YEAR:
        return (double)tm.tm_year + 1900;
    case TR_PROMQL_FN_DAYS_IN_MONTH: {
        static const int days[] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
        long y = (long)tm.tm_year + 1900;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return days[tm.tm_mon] + (tm.tm_mon == 1 && leap ? 1 : 0);
    }
    default:
        break;
    }
    return NAN;
}

static bool
is_date_fn(enum tr_promql_func_id id)
{
    switch (id) {
    case TR_PROMQL_FN_DAY_OF_MONTH:
    case TR_PROMQL_FN_DAY_OF_WEEK:
    case TR_PROMQL_FN_DAY_OF_YEAR:
    case TR_PROMQL_FN_DAYS_IN_MONTH:
    case TR_PROMQL_FN_HOUR:
    case TR_PROMQL_FN_MINUTE:
    case TR_PROMQL_FN_MONTH:
    case TR_PROMQL_FN_YEAR:
        return true;
    default:
        return false;
    }
}

/* Element-wise value of function id; false drops the sample. */
static bool
elem_fn(enum tr_promql_func_id id, double v, double p1, double p2, double *out)
{
    switch (id) {
    case TR_PROMQL_FN_ABS:
        *out = fabs(v);
        break;
    case TR_PROMQL_FN_CEIL:
        *out = ceil(v);
        break;
    case TR_PROMQL_FN_FLOOR:
        *out = floor(v);
        break;
    case TR_PROMQL_FN_EXP:
        *out = exp(v);
        break;
    case TR_PROMQL_FN_SQRT:
        *out = sqrt(v);
        break;
    case TR_PROMQL_FN_LN:
        *out = log(v);
        break;
    case TR_PROMQL_FN_LOG2:
        *out = go_log2(v);
        break;
    case TR_PROMQL_FN_LOG10:
        *out = log(v) * (1 / M_LN10);
        break;
    case TR_PROMQL_FN_SIN:
        *out = sin(v);
        break;
    case TR_PROMQL_FN_COS:
        *out = cos(v);
        break;
    case TR_PROMQL_FN_TAN:
        *out = tan(v);
        break;
    case TR_PROMQL_FN_ASIN:
        *out = asin(v);
        break;
    case TR_PROMQL_FN_ACOS:
        *out = acos(v);
        break;
    case TR_PROMQL_FN_ATAN:
        *out = atan(v);
        break;
    case TR_PROMQL_FN_SINH:
        *out = sinh(v);
        break;
    case TR_PROMQL_FN_COSH:
        *out = cosh(v);
        break;
    case TR_PROMQL_FN_TANH:
        *out = tanh(v);
        break;
    case TR_PROMQL_FN_ASINH:
        *out = asinh(v);
        break;
    case TR_PROMQL_FN_ACOSH:
        *out = acosh(v);
        break;
    case TR_PROMQL_FN_ATANH:
        *out = atanh(v);
        break;
    case TR_PROMQL_FN_RAD:
        *out = v * M_PI / 180;
        break;
    case TR_PROMQL_FN_DEG:
        *out = v * 180 / M_PI;
        break;
    case TR_PROMQL_FN_SGN:
        *out = v < 0 ? -1 : v > 0 ? 1 : v;
        break;
    case TR_PROMQL_FN_CLAMP:
        if (p2 < p1) {
            return false;
        }
        *out = ev_go_max(p1, ev_go_min(p2, v));
        break;
    case TR_PROMQL_FN_CLAMP_MAX:
        *out = ev_go_min(p1, v);
        break;
    case TR_PROMQL_FN_CLAMP_MIN:
        *out = ev_go_max(p1, v);
        break;
    case TR_PROMQL_FN_ROUND: {
        double inv = 1.0 / p1;
        *out = floor(v * inv + 0.5) / inv;
        break;
    }
    default:
        if (is_date_fn(id)) {
            *out = date_fn(id, v);
            break;
        }
        return false;
    }
    return true;
}

static void
eval_elementwise(struct ev *ev, const struct tr_promql_node *n,
                 struct ev_value *out)
{
    enum tr_promql_func_id id = n->u.call.func->id;
    const double *p1 = NULL, *p2 = NULL;
    struct ev_value in;

    if (n->u.call.n_args >= 2) {
        p1 = ev_eval_scalar(ev, n->u.call.args[1]);
    }
    if (n->u.call.n_args >= 3) {
        p2 = ev_eval_scalar(ev, n->u.call.args[2]);
    }
    ev_eval(ev, n->u.call.args[0], &in);
    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));
    for (size_t i = 0; i < in.m.n; i++) {
        const struct ev_series *s = &in.m.s[i];
        struct ev_series *o = NULL;
        ev_tick(ev);
        for (size_t k = 0; k < s->n; k++) {
            size_t step = ev_step_index(ev, s->p[k].t);
            double v;
            double a1 = p1 != NULL ? p1[step] : 1;
            double a2 = p2 != NULL ? p2[step] : 0;
            if (!elem_fn(id, s->p[k].v, a1, a2, &v)) {
                continue;
            }
            if (o == NULL) {
                size_t idx = ev_matrix_add(
                    ev, &out->m, ev_labels_drop_name(ev, s->lbl), s->n);
                o = &out->m.s[idx];
            }
            ev_series_push(ev, o, s->p[k].t, v);
        }
    }
    ev_matrix_unique(ev, &out->m, false);
}

/* The string value of a string argument. */
static struct tr_promql_str
string_arg(struct ev *ev, const struct tr_promql_node *n)
{
    struct ev_value v;
    ev_eval(ev, n, &v);
    return v.str;
}

/* Replaces each series' labels with fn's answer, values unchanged. */
static void
relabel_finish(struct ev *ev, struct ev_value *in,
               const struct tr_promql_labels *lbls, struct ev_value *out)
{
    out->type = TR_PROMQL_TYPE_VECTOR;
    out->m = in->m;
    for (size_t i = 0; i < out->m.n; i++) {
        out->m.s[i].lbl = lbls[i];
    }
    ev_matrix_unique(ev, &out->m, false);
}

/* Go regexp.Expand: $1, ${1}, $name, ${name}, $$. */
static void
expand_template(struct ev *ev, struct tr_buf *b, const char *tpl, size_t tlen,
                const char *src, const PCRE2_SIZE *ov, uint32_t npairs,
                const pcre2_code *code)
{
    size_t i = 0;
    while (i < tlen) {
        if (tpl[i] != '$') {
            if (tr_buf_append_byte(b, tpl[i]) != TR_OK) {
                goto oom;
            }
            i++;
            continue;
        }
        if (i + 1 < tlen && tpl[i + 1] == '$') {
            if (tr_buf_append_byte(b, '$') != TR_OK) {
                goto oom;
            }
            i += 2;
            continue;
        }
        size_t j = i + 1;
        bool brace = j < tlen && tpl[j] == '{';
        if (brace) {
            j++;
        }
        size_t ns = j;
        while (j < tlen) {
            unsigned char c = (unsigned char)tpl[j];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c >= 0x80)) {
                break;
            }
            j++;
        }
        size_t nlen = j - ns;
        bool ok = nlen > 0;
        if (ok && brace) {
            ok = j < tlen && tpl[j] == '}';
            j++;
        }
        if (!ok) {
            if (tr_buf_append_byte(b, '$') != TR_OK) {
                goto oom;
            }
            i++;
            continue;
        }
        const char *name = tpl + ns;
        long num = 0;
        for (size_t x = 0; x < nlen; x++) {
            if (name[x] < '0' || name[x] > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (name[x] - '0');
        }
        if (name[0] == '0' && nlen > 1) {
            num = -1;
        }
        if (num < 0) {
            char *z = ev_strndup(ev, name, nlen);
            int g = pcre2_substring_number_from_name(code, (PCRE2_SPTR)z);
            num = g > 0 ? g : -1;
        }
        if (num >= 0 && (uint32_t)num < npairs && ov[2 * num] != PCRE2_UNSET) {
            if (tr_buf_append(b, src + ov[2 * num],
                              ov[2 * num + 1] - ov[2 * num]) != TR_OK) {
                goto oom;
            }
        }
        i = j;
    }
    return;
oom:
    tr_buf_fini(b);
    ev_check_alloc(ev, NULL);
}

static void
free_code(void *p)
{
    pcre2_code_free(p);
}

static void
free_md(void *p)
{
    pcre2_match_data_free(p);
}

static void
eval_label_replace(struct ev *ev, const struct tr_promql_node *n,
                   struct ev_value *out)
{
    struct ev_value in;
    ev_eval(ev, n->u.call.args[0], &in);
    struct tr_promql_str dst = string_arg(ev, n->u.call.args[1]);
    struct tr_promql_str repl = string_arg(ev, n->u.call.args[2]);
    struct tr_promql_str src = string_arg(ev, n->u.call.args[3]);
    struct tr_promql_str re = string_arg(ev, n->u.call.args[4]);
    char *pat = ev_check_alloc(
        ev, tr_arena_sprintf(ev->arena, "(?:%.*s)", (int)re.len, re.data));
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, strlen(pat),
                                     PCRE2_ANCHORED | PCRE2_ENDANCHORED |
                                         PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                     &ecode, &eoff, NULL);
    if (code == NULL) {
        ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                "invalid regular expression in label_replace(): %.*s",
                (int)re.len, re.data);
    }
    if (tr_arena_on_reset(ev->arena, free_code, code) != TR_OK) {
        pcre2_code_free(code);
        ev_check_alloc(ev, NULL);
    }
    if (!ev_label_name_valid(dst.data, dst.len)) {
        ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                "invalid destination label name in label_replace(): %.*s",
                (int)dst.len, dst.data);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    if (md == NULL || tr_arena_on_reset(ev->arena, free_md, md) != TR_OK) {
        pcre2_match_data_free(md);
        ev_check_alloc(ev, NULL);
    }
    struct tr_promql_labels *lbls = ev_alloc(ev, (in.m.n + 1) * sizeof(*lbls));
    for (size_t i = 0; i < in.m.n; i++) {
        struct tr_promql_labels l = in.m.s[i].lbl;
        const char *sv = "";
        size_t slen = 0;
        ev_tick(ev);
        tr_promql_labels_get(&l, src.data, src.len, &sv, &slen);
        int rc = pcre2_match(code, (PCRE2_SPTR)(slen ? sv : ""), slen, 0, 0, md,
                             NULL);
        if (rc < 0) {
            if (rc != PCRE2_ERROR_NOMATCH) {
                ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_ELIMIT,
                        "cannot match regular expression in label_replace(): "
                        "error %d",
                        rc);
            }
            lbls[i] = l;
            continue;
        }
        struct tr_buf b = TR_BUF_INIT;
        expand_template(ev, &b, repl.data, repl.len, sv,
                        pcre2_get_ovector_pointer(md),
                        pcre2_get_ovector_count(md), code);
        struct ev_lb lb;
        ev_lb_init(ev, &lb, l, 1);
        ev_lb_del(&lb, dst.data, dst.len);
        if (b.len > 0) {
            char *v =
                ev_check_alloc(ev, tr_arena_strndup(ev->arena, b.data, b.len));
            ev_lb_set(ev, &lb, dst.data, dst.len, v, b.len);
        }
        tr_buf_fini(&b);
        lbls[i] = ev_lb_labels(&lb);
    }
    relabel_finish(ev, &in, lbls, out);
}

static void
eval_label_join(struct ev *ev, const struct tr_promql_node *n,
                struct ev_value *out)
{
    struct ev_value in;
    ev_eval(ev, n->u.call.args[0], &in);
    struct tr_promql_str dst = string_arg(ev, n->u.call.args[1]);
    struct tr_promql_str sep = string_arg(ev, n->u.call.args[2]);
    size_t nsrc = n->u.call.n_args - 3;
    struct tr_promql_str *srcs = ev_alloc(ev, (nsrc + 1) * sizeof(*srcs));

    for (size_t i = 0; i < nsrc; i++) {
        srcs[i] = string_arg(ev, n->u.call.args[3 + i]);
        if (!ev_label_name_valid(srcs[i].data, srcs[i].len)) {
            ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                    "invalid source label name in label_join(): %.*s",
                    (int)srcs[i].len, srcs[i].data);
        }
    }
    if (!ev_label_name_valid(dst.data, dst.len)) {
        ev_fail(ev, TR_PROMQL_ERR_EXECUTION, TR_EINVAL,
                "invalid destination label name in label_join(): %.*s",
                (int)dst.len, dst.data);
    }
    struct tr_promql_labels *lbls = ev_alloc(ev, (in.m.n + 1) * sizeof(*lbls));
    for (size_t i = 0; i < in.m.n; i++) {
        struct tr_promql_labels l = in.m.s[i].lbl;
        struct tr_buf b = TR_BUF_INIT;
        int rc = TR_OK;
        for (size_t j = 0; j < nsrc && rc == TR_OK; j++) {
            const char *v = "";
            size_t vlen = 0;
            tr_promql_labels_get(&l, srcs[j].data, srcs[j].len, &v, &vlen);
            if (j > 0) {
                rc = tr_buf_append(&b, sep.data, sep.len);
            }
            if (rc == TR_OK) {
                rc = tr_buf_append(&b, v, vlen);
            }
        }
        char *val = rc == TR_OK && b.len > 0
                        ? tr_arena_strndup(ev->arena, b.data, b.len)
                        : (char *)"";
        size_t vlen = rc == TR_OK ? b.len : 0;
        tr_buf_fini(&b);
        ev_check_alloc(ev, rc == TR_OK ? val : NULL);
        struct ev_lb lb;
        ev_lb_init(ev, &lb, l, 1);
        ev_lb_set(ev, &lb, dst.data, dst.len, val, vlen);
        lbls[i] = ev_lb_labels(&lb);
    }
    relabel_finish(ev, &in, lbls, out);
}

/* ---- histogram_quantile ---------------------------------------------------
 */

struct bucket {
    double ub;
    double count;
};

static int
cmp_bucket(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->ub;
    double y = ((const struct bucket *)b)->ub;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double
bucket_quantile(double q, struct bucket *b, size_t n)
{
    if (isnan(q)) {
        return NAN;
    }
    if (q < 0) {
        return -INFINITY;
    }
    if (q > 1) {
        return INFINITY;
    }
    qsort(b, n, sizeof(*b), cmp_bucket);
    if (!(isinf(b[n - 1].ub) && b[n - 1].ub > 0)) {
        return NAN;
    }
    /* Merge buckets with the same upper bound. */
    size_t m = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].ub == b[m].ub) {
            b[m].count += b[i].count;
        } else {
            b[++m] = b[i];
        }
    }
    n = m + 1;
    double max = b[0].count;
    for (size_t i = 1; i < n; i++) {
        if (b[i].count > max) {
            max = b[i].count;
        } else if (b[i].count < max) {
            b[i].count = max;
        }
    }
    if (n < 2) {
        return NAN;
    }
    double obs = b[n - 1].count;
    if (obs == 0) {
        return NAN;
    }
    double rank = q * obs;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].count >= rank) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    size_t k = lo;
    if (k == n - 1) {
        return b[n - 2].ub;
    }
    if (k == 0 && b[0].ub <= 0) {
        return b[0].ub;
    }
    double start = 0, end = b[k].ub, count = b[k].count;
    if (k > 0) {
        start = b[k - 1].ub;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

/* Go's strconv.ParseFloat for a le value: no spaces, whole string. */
static bool
parse_le(const char *s, size_t len, double *out)
{
    char buf[128];
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n') {
        return false;
    }
    char *end;
    *out = strtod(buf, &end);
    return end == buf + len;
}

static void
eval_histogram_quantile(struct ev *ev, const struct tr_promql_node *n,
                        struct ev_value *out)
{
    const double *q = ev_eval_scalar(ev, n->u.call.args[0]);
    struct ev_value in;
    ev_eval(ev, n->u.call.args[1], &in);
    size_t ns = in.m.n;
    int32_t *grp = ev_alloc(ev, (ns + 1) * sizeof(int32_t));
    double *ub = ev_alloc(ev, (ns + 1) * sizeof(double));
    size_t *cur = ev_calloc(ev, ns + 1, sizeof(size_t));
    struct tr_promql_labels *glbl = ev_alloc(ev, (ns + 1) * sizeof(*glbl));
    size_t ng = 0;
    struct ev_map map;

    ev_map_init(ev, &map, ns);
    for (size_t i = 0; i < ns; i++) {
        const char *le;
        size_t lelen;
        grp[i] = -1;
        if (!tr_promql_labels_get(&in.m.s[i].lbl, "le", 2, &le, &lelen) ||
            !parse_le(le, lelen, &ub[i])) {
            continue;
        }
        struct ev_lb b;
        ev_lb_init(ev, &b, in.m.s[i].lbl, 0);
        ev_lb_del(&b, "le", 2);
        struct tr_promql_labels key = ev_lb_labels(&b);
        uint64_t h = ev_labels_hash(&key);
        int32_t g = ev_map_get(&map, h);
        if (g < 0) {
            g = (int32_t)ng++;
            ev_lb_del(&b, TR_LABEL_METRIC_NAME, 8);
            glbl[g] = ev_lb_labels(&b);
            ev_map_put(ev, &map, h, g);
        }
        grp[i] = g;
    }
    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));
    int32_t *gout = ev_alloc(ev, (ng + 1) * sizeof(int32_t));
    size_t *gcount = ev_alloc(ev, (ng + 2) * sizeof(size_t));
    struct bucket *bk = ev_alloc(ev, (ns + 1) * sizeof(*bk));
    struct bucket *sorted = ev_alloc(ev, (ns + 1) * sizeof(*sorted));
    int32_t *bgrp = ev_alloc(ev, (ns + 1) * sizeof(int32_t));
    int32_t *order = ev_alloc(ev, (ng + 1) * sizeof(int32_t));
    uint32_t *seen = ev_calloc(ev, ng + 1, sizeof(uint32_t));
    memset(gout, 0xff, (ng + 1) * sizeof(int32_t));

    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        size_t nb = 0, no = 0;
        uint32_t gen = (uint32_t)k + 1;

        ev_tick(ev);
        for (size_t i = 0; i < ns; i++) {
            const struct ev_series *s = &in.m.s[i];
            while (cur[i] < s->n && s->p[cur[i]].t < ts) {
                cur[i]++;
            }
            if (grp[i] < 0 || cur[i] >= s->n || s->p[cur[i]].t != ts) {
                continue;
            }
            bk[nb] = (struct bucket){ub[i], s->p[cur[i]].v};
            bgrp[nb++] = grp[i];
            if (seen[grp[i]] != gen) {
                seen[grp[i]] = gen;
                order[no++] = grp[i];
            }
        }
        if (nb == 0) {
            continue;
        }
        memset(gcount, 0, (ng + 2) * sizeof(size_t));
        for (size_t j = 0; j < nb; j++) {
            gcount[bgrp[j] + 2]++;
        }
        for (size_t g = 0; g < ng; g++) {
            gcount[g + 2] += gcount[g + 1];
        }
        for (size_t j = 0; j < nb; j++) {
            sorted[gcount[bgrp[j] + 1]++] = bk[j];
        }
        for (size_t o = 0; o < no; o++) {
            int32_t g = order[o];
            size_t lo = g == 0 ? 0 : gcount[g];
            size_t hi = gcount[g + 1];
            double v = bucket_quantile(q[k], sorted + lo, hi - lo);
            if (gout[g] < 0) {
                gout[g] = (int32_t)ev_matrix_add(ev, &out->m, glbl[g],
                                                 ev_points_hint(ev, ts));
            }
            ev_series_push(ev, &out->m.s[gout[g]], ts, v);
        }
    }
    ev_matrix_unique(ev, &out->m, false);
}

/* ---- the rest --------------------------------------------------------------
 */

static int
cmp_sort_asc(const void *pa, const void *pb)
{
    const struct ev_series *a = pa, *b = pb;
    double x = a->p[0].v, y = b->p[0].v;
    if (isnan(x) || isnan(y)) {
        return isnan(x) && isnan(y) ? 0 : isnan(x) ? 1 : -1;
    }
    return x < y ? -1 : x > y ? 1 : 0;
}

static int
cmp_sort_desc(const void *pa, const void *pb)
{
    const struct ev_series *a = pa, *b = pb;
    double x = a->p[0].v, y = b->p[0].v;
    if (isnan(x) || isnan(y)) {
        return isnan(x) && isnan(y) ? 0 : isnan(x) ? 1 : -1;
    }
    return x > y ? -1 : x < y ? 1 : 0;
}

/* Stable merge sort of series (qsort is not stable). */
static void
sort_series(struct ev *ev, struct ev_series *s, size_t n,
            int (*cmp)(const void *, const void *))
{
    if (n < 2) {
        return;
    }
    struct ev_series *tmp = ev_alloc(ev, n * sizeof(*tmp));
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid || j < hi) {
                if (j >= hi || (i < mid && cmp(&s[i], &s[j]) <= 0)) {
                    tmp[k++] = s[i++];
                } else {
                    tmp[k++] = s[j++];
                }
            }
        }
        memcpy(s, tmp, n * sizeof(*s));
    }
}

static void
eval_vector_of_values(struct ev *ev, const double *vals, struct ev_value *out)
{
    out->type = TR_PROMQL_TYPE_VECTOR;
    memset(&out->m, 0, sizeof(out->m));
    size_t idx =
        ev_matrix_add(ev, &out->m, (struct tr_promql_labels){0}, ev->nsteps);
    for (size_t k = 0; k < ev->nsteps; k++) {
        ev_series_push(ev, &out->m.s[idx],
                       ev->start + (int64_t)k * ev->interval, vals[k]);
    }
}

void
ev_eval_call(struct ev *ev, const struct tr_promql_node *n,
             struct ev_value *out)
{
    const struct tr_promql_function *f = n->u.call.func;
    enum tr_promql_func_id id = f->id;
    struct ev_value in;

    for (int i = 0; i < f->n_args && (size_t)i < n->u.call.n_args; i++) {
        if (f->arg_types[i] == TR_PROMQL_TYPE_MATRIX) {
            eval_range_call(ev, n, out);
            return;
        }
    }
    switch (id) {
    case TR_PROMQL_FN_TIME:
    case TR_PROMQL_FN_PI:
        out->type = TR_PROMQL_TYPE_SCALAR;
        out->sc = ev_alloc(ev, ev->nsteps * sizeof(double));
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            out->sc[k] = id == TR_PROMQL_FN_PI ? M_PI : (double)ts / 1000;
        }
        return;
    case TR_PROMQL_FN_VECTOR:
        eval_vector_of_values(ev, ev_eval_scalar(ev, n->u.call.args[0]), out);
        return;
    case TR_PROMQL_FN_SCALAR: {
        ev_eval(ev, n->u.call.args[0], &in);
        size_t *cur = ev_calloc(ev, in.m.n + 1, sizeof(size_t));
        out->type = TR_PROMQL_TYPE_SCALAR;
        out->sc = ev_alloc(ev, ev->nsteps * sizeof(double));
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            size_t cnt = 0;
            double v = NAN;
            for (size_t i = 0; i < in.m.n; i++) {
                const struct ev_series *s = &in.m.s[i];
                while (cur[i] < s->n && s->p[cur[i]].t < ts) {
                    cur[i]++;
                }
                if (cur[i] < s->n && s->p[cur[i]].t == ts) {
                    cnt++;
                    v = s->p[cur[i]].v;
                }
            }
            out->sc[k] = cnt == 1 ? v : NAN;
        }
        return;
    }
    case TR_PROMQL_FN_ABSENT: {
        ev_eval(ev, n->u.call.args[0], &in);
        bool *has = ev_calloc(ev, ev->nsteps, sizeof(bool));
        for (size_t i = 0; i < in.m.n; i++) {
            for (size_t k = 0; k < in.m.s[i].n; k++) {
                has[ev_step_index(ev, in.m.s[i].p[k].t)] = true;
            }
        }
        out->type = TR_PROMQL_TYPE_VECTOR;
        memset(&out->m, 0, sizeof(out->m));
        struct ev_series *o = NULL;
        for (size_t k = 0; k < ev->nsteps; k++) {
            if (has[k]) {
                continue;
            }
            if (o == NULL) {
                size_t idx = ev_matrix_add(
                    ev, &out->m, absent_labels(ev, n->u.call.args[0]), 0);
                o = &out->m.s[idx];
            }
            ev_series_push(ev, o, ev->start + (int64_t)k * ev->interval, 1);
        }
        return;
    }
    case TR_PROMQL_FN_SORT:
    case TR_PROMQL_FN_SORT_DESC:
        ev_eval(ev, n->u.call.args[0], out);
        if (ev->nsteps == 1) {
            ev_matrix_compact(&out->m);
            sort_series(ev, out->m.s, out->m.n,
                        id == TR_PROMQL_FN_SORT ? cmp_sort_asc : cmp_sort_desc);
        }
        return;
    case TR_PROMQL_FN_HISTOGRAM_QUANTILE:
        eval_histogram_quantile(ev, n, out);
        return;
    case TR_PROMQL_FN_HISTOGRAM_COUNT:
    case TR_PROMQL_FN_HISTOGRAM_SUM:
    case TR_PROMQL_FN_HISTOGRAM_FRACTION:
        /* Native histograms only: nothing to return for float samples. */
        for (size_t i = 0; i < n->u.call.n_args; i++) {
            ev_eval(ev, n->u.call.args[i], &in);
        }
        out->type = TR_PROMQL_TYPE_VECTOR;
        memset(&out->m, 0, sizeof(out->m));
        return;
    case TR_PROMQL_FN_LABEL_REPLACE:
        eval_label_replace(ev, n, out);
        return;
    case TR_PROMQL_FN_LABEL_JOIN:
        eval_label_join(ev, n, out);
        return;
    case TR_PROMQL_FN_TIMESTAMP: {
        const struct tr_promql_node *arg = ev_unparen(n->u.call.args[0]);
        if (arg->kind == TR_PROMQL_VECTOR) {
            ev_eval_vector_selector(ev, arg, true, &in.m);
        } else {
            ev_eval(ev, arg, &in);
            for (size_t i = 0; i < in.m.n; i++) {
                struct ev_series *s = &in.m.s[i];
                struct tr_promql_point *p =
                    ev_alloc(ev, (s->n + 1) * sizeof(*p));
                for (size_t k = 0; k < s->n; k++) {
                    p[k].t = s->p[k].t;
                    p[k].v = (double)s->p[k].t / 1000;
                }
                s->p = p;
                s->cap = s->n;
            }
        }
        for (size_t i = 0; i < in.m.n; i++) {
            in.m.s[i].lbl = ev_labels_drop_name(ev, in.m.s[i].lbl);
        }
        ev_matrix_unique(ev, &in.m, false);
        out->type = TR_PROMQL_TYPE_VECTOR;
        out->m = in.m;
        return;
    }
    default:
        break;
    }
    if (is_date_fn(id) && n->u.call.n_args == 0) {
        double *vals = ev_alloc(ev, ev->nsteps * sizeof(double));
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            vals[k] = date_fn(id, (double)(ts / 1000));
        }
        eval_vector_of_values(ev, vals, out);
        return;
    }
    eval_elementwise(ev, n, out);
}
