/*
 * The queryable over a tsdb head: tr_head_select for the series, then each
 * series' chunks in range copied and decoded into the query arena.
 */
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/mem.h"
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
    struct tr_promql_point *buf = NULL; /* decode buffer, heap */
    size_t cap = 0, m = 0;
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
        size_t np = 0;

        rc = tr_head_read(h, s, mint_ms, maxt_ms, &sc, err);
        if (rc != TR_OK) {
            goto done;
        }
        /* Decode once into a reusable buffer, then copy exactly. */
        tr_series_iter_init(&it, &sc, mint_ms, maxt_ms);
        for (;;) {
            if (np == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                struct tr_promql_point *nb =
                    tr_realloc(buf, ncap * sizeof(*nb));
                if (nb == NULL) {
                    rc = tr_err_set(err, TR_ENOMEM,
                                    "cannot read samples: out of memory");
                    goto done;
                }
                buf = nb;
                cap = ncap;
            }
            rc = tr_series_iter_next(&it, &buf[np].t, &buf[np].v, err);
            if (rc < 0) {
                goto done;
            }
            if (rc == 0) {
                break;
            }
            np++;
        }
        if (np == 0) {
            continue;
        }
        pts = tr_arena_alloc(arena, np * sizeof(*pts));
        if (pts == NULL) {
            rc = tr_err_set(err, TR_ENOMEM,
                            "cannot read samples: out of memory");
            goto done;
        }
        memcpy(pts, buf, np * sizeof(*pts));
        out[m].labels = tr_series_labels(s);
        out[m].points = pts;
        out[m].n_points = np;
        m++;
    }
    rc = TR_OK;
done:
    tr_free(buf);
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
