/*
 * The queryable over a tsdb head: tr_head_select for the series, then each
 * series' chunks in range copied and decoded into the query arena.
 */
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "promql/storage.h"
#include "tsdb/head.h"

static int
head_select(void *ctx, struct tr_arena *arena,
            struct tr_matcher *const *matchers, size_t n, int64_t mint_ms,
            int64_t maxt_ms, const struct tr_promql_select_hints *hints,
            struct tr_promql_storage_series **series, size_t *count,
            struct tr_err *err)
{
    struct tr_head *h = ctx;
    struct tr_series_list list = {0};
    struct tr_series_chunks sc = {0};
    struct tr_promql_storage_series *out = NULL;
    size_t m = 0;
    int rc;

    (void)hints;
    rc = tr_head_select(h, matchers, n, mint_ms, maxt_ms, &list, err);
    if (rc != TR_OK) {
        goto done;
    }
    out = tr_arena_alloc(arena, (list.len ? list.len : 1) * sizeof(*out));
    if (out == NULL) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot select series: out of memory");
        goto done;
    }
    for (size_t i = 0; i < list.len; i++) {
        struct tr_series *s = list.series[i];
        struct tr_series_iter it;
        struct tr_promql_point *pts;
        size_t cap = 0, np = 0;
        int64_t t;
        double v;

        rc = tr_head_read(h, s, mint_ms, maxt_ms, &sc, err);
        if (rc != TR_OK) {
            goto done;
        }
        /* Upper bound of samples: chunks hold at most 65535 each, but the
         * exact count is cheap to get by a first pass. */
        tr_series_iter_init(&it, &sc, mint_ms, maxt_ms);
        while ((rc = tr_series_iter_next(&it, &t, &v, err)) == 1) {
            cap++;
        }
        if (rc < 0) {
            goto done;
        }
        if (cap == 0) {
            continue;
        }
        pts = tr_arena_alloc(arena, cap * sizeof(*pts));
        if (pts == NULL) {
            rc = tr_err_set(err, TR_ENOMEM,
                            "cannot read samples: out of memory");
            goto done;
        }
        tr_series_iter_init(&it, &sc, mint_ms, maxt_ms);
        while (np < cap &&
               (rc = tr_series_iter_next(&it, &pts[np].t, &pts[np].v, err)) ==
                   1) {
            np++;
        }
        if (rc < 0) {
            goto done;
        }
        out[m].labels = tr_series_labels(s);
        out[m].points = pts;
        out[m].n_points = np;
        m++;
    }
    rc = TR_OK;
done:
    tr_series_chunks_fini(&sc);
    tr_series_list_fini(&list);
    if (rc == TR_OK) {
        *series = out;
        *count = m;
    }
    return rc;
}

void
tr_promql_head_queryable(struct tr_head *h, struct tr_promql_queryable *out)
{
    out->select = head_select;
    out->ctx = h;
}
