/* Unit tests for lib/tsdb/head: appends, errors, selects, concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/chunk.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

static struct tr_labels *
parse(const char *text)
{
    struct tr_labels *ls = NULL;
    struct tr_err err;
    if (tr_labels_parse(text, strlen(text), &ls, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
    return ls;
}

static struct tr_series *
series(struct tr_head *h, const char *text)
{
    struct tr_labels *ls = parse(text);
    struct tr_series *s = NULL;
    struct tr_err err;
    if (tr_head_get_or_create(h, ls, &s, NULL, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
    tr_labels_destroy(ls);
    return s;
}

/* Reads every sample of s in [mint, maxt] into ts/vs; returns the count. */
static size_t
read_all(struct tr_head *h, struct tr_series *s, int64_t mint, int64_t maxt,
         int64_t *ts, double *vs, size_t max)
{
    struct tr_series_chunks sc = {0};
    struct tr_series_iter it;
    struct tr_err err;
    assert_int_equal(tr_head_read(h, s, mint, maxt, &sc, &err), TR_OK);
    tr_series_iter_init(&it, &sc, mint, maxt);
    size_t n = 0;
    int64_t t;
    double v;
    int rc;
    while ((rc = tr_series_iter_next(&it, &t, &v, &err)) == 1) {
        assert_true(n < max);
        ts[n] = t;
        vs[n] = v;
        n++;
    }
    assert_int_equal(rc, 0);
    tr_series_chunks_fini(&sc);
    return n;
}

static void
test_append_errors(void **state)
{
    struct tr_head *h = tr_head_create(NULL);
    struct tr_series *s = series(h, "{__name__=\"up\", job=\"a\"}");
    struct tr_err err;
    enum tr_append_reject why;

    assert_int_equal(tr_head_append(h, s, 1000, 1.0, &why, &err), TR_OK);
    assert_int_equal(why, TR_APPEND_OK);
    assert_int_equal(tr_head_append(h, s, 2000, 2.0, &why, &err), TR_OK);

    assert_int_equal(tr_head_append(h, s, 1500, 3.0, &why, &err), TR_EINVAL);
    assert_int_equal(why, TR_APPEND_OUT_OF_ORDER);
    assert_string_equal(err.msg, "cannot append sample: out of order "
                                 "(t=1500, last=2000)");
    assert_string_equal(tr_append_reject_name(why), "out_of_order");

    assert_int_equal(tr_head_append(h, s, 2000, 2.5, &why, &err), TR_EINVAL);
    assert_int_equal(why, TR_APPEND_DUPLICATE);
    assert_string_equal(err.msg, "cannot append sample: duplicate timestamp "
                                 "with a different value (t=2000, "
                                 "last=2000)");

    /* Same timestamp and value: accepted, stored once. */
    assert_int_equal(tr_head_append(h, s, 2000, 2.0, &why, &err), TR_OK);
    assert_int_equal(why, TR_APPEND_OK);

    /* NaNs compare by bits: the stale marker twice is fine, another NaN
     * payload is a different value; -0.0 differs from 0.0. */
    assert_int_equal(tr_head_append(h, s, 3000, tr_stale_nan(), &why, &err),
                     TR_OK);
    assert_int_equal(tr_head_append(h, s, 3000, tr_stale_nan(), &why, &err),
                     TR_OK);
    assert_int_equal(tr_head_append(h, s, 3000, NAN, &why, &err), TR_EINVAL);
    assert_int_equal(why, TR_APPEND_DUPLICATE);
    assert_int_equal(tr_head_append(h, s, 4000, 0.0, NULL, &err), TR_OK);
    assert_int_equal(tr_head_append(h, s, 4000, -0.0, NULL, &err), TR_EINVAL);

    tr_head_set_min_valid_time(h, 10000);
    assert_int_equal(tr_head_min_valid_time(h), 10000);
    assert_int_equal(tr_head_append(h, s, 9999, 1.0, &why, &err), TR_EINVAL);
    assert_int_equal(why, TR_APPEND_TOO_OLD);
    assert_string_equal(err.msg, "cannot append sample: too old (t=9999, "
                                 "min valid=10000)");
    assert_int_equal(tr_head_append(h, s, 10000, 1.0, &why, &err), TR_OK);

    int64_t ts[16];
    double vs[16];
    size_t n = read_all(h, s, INT64_MIN, INT64_MAX, ts, vs, 16);
    assert_int_equal(n, 5);
    int64_t want_t[] = {1000, 2000, 3000, 4000, 10000};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ts[i], want_t[i]);
    }
    assert_true(tr_is_stale_nan(vs[2]));

    struct tr_head_stats st;
    tr_head_stats(h, &st);
    assert_int_equal(st.series, 1);
    assert_int_equal(st.samples_appended, 5);
    assert_int_equal(st.rejected_out_of_order, 1);
    assert_int_equal(st.rejected_duplicate, 3);
    assert_int_equal(st.rejected_too_old, 1);
    assert_int_equal(st.min_time, 1000);
    assert_int_equal(st.max_time, 10000);
    assert_int_equal(st.chunks, 1);
    assert_true(st.memory_bytes > 0);
    tr_head_destroy(h);
}

static void
test_get_or_create_and_limits(void **state)
{
    struct tr_head_options opts = {.max_series = 2};
    struct tr_head *h = tr_head_create(&opts);
    struct tr_labels *a = parse("{a=\"1\"}");
    struct tr_labels *a2 = parse("{a='1'}");
    struct tr_labels *b = parse("{a=\"2\"}");
    struct tr_labels *c = parse("{a=\"3\"}");
    struct tr_series *s1, *s2, *s3;
    bool created;
    struct tr_err err;

    assert_null(tr_head_get(h, a));
    assert_int_equal(tr_head_get_or_create(h, a, &s1, &created, &err), TR_OK);
    assert_true(created);
    assert_int_equal(tr_head_get_or_create(h, a2, &s2, &created, &err),
                     TR_OK);
    assert_false(created);
    assert_ptr_equal(s1, s2);
    assert_ptr_equal(tr_head_get(h, a2), s1);
    assert_true(tr_labels_equal(tr_series_labels(s1), a));
    assert_int_equal(tr_series_id(s1), 0);
    assert_int_equal(tr_series_hash(s1), tr_labels_hash(a));
    int64_t lo, hi;
    assert_false(tr_series_time_range(s1, &lo, &hi));

    assert_int_equal(tr_head_get_or_create(h, b, &s2, &created, &err), TR_OK);
    assert_int_equal(tr_series_id(s2), 1);
    assert_int_equal(tr_head_get_or_create(h, c, &s3, &created, &err),
                     TR_ELIMIT);
    assert_string_equal(err.msg, "cannot create series: limit of 2 series "
                                 "reached");
    tr_labels_destroy(a);
    tr_labels_destroy(a2);
    tr_labels_destroy(b);
    tr_labels_destroy(c);
    tr_head_destroy(h);
}

static uint64_t
constant_hash(const struct tr_labels *ls)
{
    (void)ls;
    return 42;
}

/* Every set hashes the same: lookups must compare label sets. */
static void
test_hash_collisions(void **state)
{
    struct tr_head_options opts = {.hash_fn = constant_hash};
    struct tr_head *h = tr_head_create(&opts);
    struct tr_series *s[100];
    char text[64];
    for (int i = 0; i < 100; i++) {
        snprintf(text, sizeof(text), "{i=\"%d\"}", i);
        s[i] = series(h, text);
        assert_int_equal(tr_head_append(h, s[i], 1000, (double)i, NULL, NULL),
                         TR_OK);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(text, sizeof(text), "{i=\"%d\"}", i);
        assert_ptr_equal(series(h, text), s[i]);
        int64_t t;
        double v;
        assert_int_equal(read_all(h, s[i], 0, 2000, &t, &v, 1), 1);
        assert_true(v == (double)i);
    }
    struct tr_head_stats st;
    tr_head_stats(h, &st);
    assert_int_equal(st.series, 100);
    tr_head_destroy(h);
}

static void
test_chunks_cut_and_read_ranges(void **state)
{
    struct tr_head_options opts = {.max_samples_per_chunk = 10};
    struct tr_head *h = tr_head_create(&opts);
    struct tr_series *s = series(h, "{x=\"1\"}");
    for (int64_t i = 0; i < 95; i++) {
        assert_int_equal(tr_head_append(h, s, i * 100, (double)i, NULL, NULL),
                         TR_OK);
    }
    struct tr_head_stats st;
    tr_head_stats(h, &st);
    assert_int_equal(st.chunks, 10);

    int64_t ts[128];
    double vs[128];
    assert_int_equal(read_all(h, s, INT64_MIN, INT64_MAX, ts, vs, 128), 95);
    for (int64_t i = 0; i < 95; i++) {
        assert_int_equal(ts[i], i * 100);
        assert_true(vs[i] == (double)i);
    }
    /* A range inside chunks, across boundaries. */
    size_t n = read_all(h, s, 950, 2050, ts, vs, 128);
    assert_int_equal(n, 11);
    assert_int_equal(ts[0], 1000);
    assert_int_equal(ts[10], 2000);
    assert_int_equal(read_all(h, s, 9401, 20000, ts, vs, 128), 0);
    assert_int_equal(read_all(h, s, -100, -1, ts, vs, 128), 0);

    /* Only overlapping chunks are copied. */
    struct tr_series_chunks sc = {0};
    assert_int_equal(tr_head_read(h, s, 1000, 1999, &sc, NULL), TR_OK);
    assert_int_equal(sc.len, 1);
    assert_int_equal(tr_head_read(h, s, 9000, 9000, &sc, NULL), TR_OK);
    assert_int_equal(sc.len, 1); /* the open chunk */

    /* Seek across chunks. */
    assert_int_equal(tr_head_read(h, s, 0, 9000, &sc, NULL), TR_OK);
    struct tr_series_iter it;
    int64_t t;
    double v;
    tr_series_iter_init(&it, &sc, 0, 9000);
    assert_int_equal(tr_series_iter_seek(&it, 4321, &t, &v, NULL), 1);
    assert_int_equal(t, 4400);
    assert_int_equal(tr_series_iter_next(&it, &t, &v, NULL), 1);
    assert_int_equal(t, 4500);
    assert_int_equal(tr_series_iter_seek(&it, 100, &t, &v, NULL), 1);
    assert_int_equal(t, 4500); /* never backwards */
    assert_int_equal(tr_series_iter_seek(&it, 8950, &t, &v, NULL), 1);
    assert_int_equal(t, 9000);
    assert_int_equal(tr_series_iter_next(&it, &t, &v, NULL), 0);
    tr_series_iter_init(&it, &sc, 0, 9000);
    assert_int_equal(tr_series_iter_seek(&it, 9001, &t, &v, NULL), 0);
    tr_series_chunks_fini(&sc);
    tr_head_destroy(h);
}

static struct tr_matcher *
matcher(enum tr_match_type type, const char *name, const char *value)
{
    struct tr_matcher *m = tr_matcher_create(type, name, strlen(name), value,
                                             strlen(value), NULL);
    assert_non_null(m);
    return m;
}

static void
test_select_and_labels(void **state)
{
    struct tr_head *h = tr_head_create(NULL);
    struct tr_series *b = series(h, "up{job=\"b\", zone=\"eu\"}");
    struct tr_series *a = series(h, "up{job=\"a\"}");
    struct tr_series *c = series(h, "rq{job=\"c\", path=\"/\"}");
    struct tr_series *empty = series(h, "up{job=\"none\"}");
    (void)empty;
    assert_int_equal(tr_head_append(h, a, 1000, 1, NULL, NULL), TR_OK);
    assert_int_equal(tr_head_append(h, a, 2000, 1, NULL, NULL), TR_OK);
    assert_int_equal(tr_head_append(h, b, 5000, 1, NULL, NULL), TR_OK);
    assert_int_equal(tr_head_append(h, c, 9000, 1, NULL, NULL), TR_OK);

    struct tr_matcher *up = matcher(TR_MATCH_EQUAL, "__name__", "up");
    struct tr_series_list l = {0};
    /* Sorted by labels; the series without samples is left out. */
    assert_int_equal(tr_head_select(h, &up, 1, INT64_MIN, INT64_MAX, &l, NULL),
                     TR_OK);
    assert_int_equal(l.len, 2);
    assert_ptr_equal(l.series[0], a);
    assert_ptr_equal(l.series[1], b);
    /* Time ranges exclude series cheaply. */
    assert_int_equal(tr_head_select(h, &up, 1, 2001, 4999, &l, NULL), TR_OK);
    assert_int_equal(l.len, 0);
    assert_int_equal(tr_head_select(h, &up, 1, 2000, 4999, &l, NULL), TR_OK);
    assert_int_equal(l.len, 1);
    assert_ptr_equal(l.series[0], a);
    assert_int_equal(tr_head_select(h, NULL, 0, 0, INT64_MAX, &l, NULL),
                     TR_OK);
    assert_int_equal(l.len, 3);
    assert_ptr_equal(l.series[0], c); /* "rq" < "up" */

    struct tr_arena *arena = tr_arena_create(0);
    struct tr_tsdb_str *v;
    size_t n;
    /* Whole head, no matchers: from the index (includes "none"). */
    assert_int_equal(tr_head_label_values(h, "job", 3, NULL, 0, INT64_MIN,
                                          INT64_MAX, arena, &v, &n, NULL),
                     TR_OK);
    assert_int_equal(n, 4);
    /* Restricted by matchers. */
    assert_int_equal(tr_head_label_values(h, "job", 3, &up, 1, INT64_MIN,
                                          INT64_MAX, arena, &v, &n, NULL),
                     TR_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(v[0].ptr, "a", 1);
    assert_memory_equal(v[1].ptr, "b", 1);
    /* Restricted by time only. */
    assert_int_equal(tr_head_label_values(h, "job", 3, NULL, 0, 4000, 10000,
                                          arena, &v, &n, NULL),
                     TR_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(v[0].ptr, "b", 1);
    assert_memory_equal(v[1].ptr, "c", 1);
    assert_int_equal(tr_head_label_names(h, &up, 1, INT64_MIN, INT64_MAX,
                                         arena, &v, &n, NULL),
                     TR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].len, 8); /* __name__, job, zone */
    assert_memory_equal(v[2].ptr, "zone", 4);
    assert_int_equal(tr_head_label_names(h, NULL, 0, INT64_MIN, INT64_MAX,
                                         arena, &v, &n, NULL),
                     TR_OK);
    assert_int_equal(n, 4); /* + path */
    assert_int_equal(tr_head_label_names(h, NULL, 0, 8000, 9000, arena, &v,
                                         &n, NULL),
                     TR_OK);
    assert_int_equal(n, 3); /* __name__, job, path */
    tr_arena_destroy(arena);
    tr_series_list_fini(&l);
    tr_matcher_destroy(up);
    tr_head_destroy(h);
}

/* ---- concurrency -------------------------------------------------------- */

enum { WRITERS = 3, SERIES_PER_WRITER = 300, SAMPLES = 150, SHARED = 50 };

struct worker {
    struct tr_head *h;
    int index;
    _Atomic int *writers_done;
    int failures;
};

static void *
writer_main(void *arg)
{
    struct worker *w = arg;
    char text[96];
    for (int round = 0; round < SAMPLES; round++) {
        for (int i = 0; i < SERIES_PER_WRITER; i++) {
            snprintf(text, sizeof(text),
                     "{__name__=\"m\", writer=\"%d\", i=\"%d\"}", w->index, i);
            struct tr_labels *ls = NULL;
            struct tr_series *s = NULL;
            if (tr_labels_parse(text, strlen(text), &ls, NULL) != TR_OK ||
                tr_head_get_or_create(w->h, ls, &s, NULL, NULL) != TR_OK ||
                tr_head_append(w->h, s, (int64_t)round * 15000,
                               (double)(round + i), NULL, NULL) != TR_OK) {
                w->failures++;
            }
            tr_labels_destroy(ls);
        }
        /* Every writer also races to create and append to shared series;
         * only one append per timestamp may store, the rest are same-value
         * duplicates (accepted) — never errors. */
        for (int i = 0; i < SHARED; i++) {
            snprintf(text, sizeof(text), "{__name__=\"shared\", i=\"%d\"}", i);
            struct tr_labels *ls = NULL;
            struct tr_series *s = NULL;
            if (tr_labels_parse(text, strlen(text), &ls, NULL) != TR_OK ||
                tr_head_get_or_create(w->h, ls, &s, NULL, NULL) != TR_OK) {
                w->failures++;
            } else {
                enum tr_append_reject why;
                int rc = tr_head_append(w->h, s, (int64_t)round * 15000,
                                        (double)round, &why, NULL);
                /* A slower writer may arrive after a faster one moved on. */
                if (rc != TR_OK && why != TR_APPEND_OUT_OF_ORDER) {
                    w->failures++;
                }
            }
            tr_labels_destroy(ls);
        }
    }
    atomic_fetch_add(w->writers_done, 1);
    return NULL;
}

static void *
reader_main(void *arg)
{
    struct worker *w = arg;
    struct tr_matcher *m = matcher(TR_MATCH_REGEX, "writer", "0|2");
    struct tr_arena *arena = tr_arena_create(0);
    struct tr_series_list l = {0};
    struct tr_series_chunks sc = {0};
    int loops = 0;
    while (atomic_load(w->writers_done) < WRITERS || loops < 5) {
        loops++;
        if (tr_head_select(w->h, &m, 1, INT64_MIN, INT64_MAX, &l, NULL) !=
            TR_OK) {
            w->failures++;
        }
        for (size_t i = 0; i < l.len; i += 7) {
            if (tr_head_read(w->h, l.series[i], INT64_MIN, INT64_MAX, &sc,
                             NULL) != TR_OK) {
                w->failures++;
                continue;
            }
            /* Samples must be consecutive rounds from 0. */
            struct tr_series_iter it;
            int64_t t;
            double v;
            int64_t want = 0;
            tr_series_iter_init(&it, &sc, INT64_MIN, INT64_MAX);
            while (tr_series_iter_next(&it, &t, &v, NULL) == 1) {
                if (t != want) {
                    w->failures++;
                }
                want += 15000;
            }
        }
        struct tr_tsdb_str *v;
        size_t n;
        if (tr_head_label_values(w->h, "i", 1, &m, 1, INT64_MIN, INT64_MAX,
                                 arena, &v, &n, NULL) != TR_OK ||
            tr_head_label_names(w->h, NULL, 0, 0, 15000, arena, &v, &n,
                                NULL) != TR_OK) {
            w->failures++;
        }
        struct tr_head_stats st;
        tr_head_stats(w->h, &st);
        tr_arena_reset(arena);
    }
    tr_series_chunks_fini(&sc);
    tr_series_list_fini(&l);
    tr_arena_destroy(arena);
    tr_matcher_destroy(m);
    return NULL;
}

static void
test_concurrent_appends_and_queries(void **state)
{
    struct tr_head *h = tr_head_create(NULL);
    _Atomic int done = 0;
    pthread_t threads[WRITERS + 1];
    struct worker workers[WRITERS + 1];
    for (int i = 0; i <= WRITERS; i++) {
        workers[i] = (struct worker){h, i, &done, 0};
        pthread_create(&threads[i], NULL,
                       i < WRITERS ? writer_main : reader_main, &workers[i]);
    }
    for (int i = 0; i <= WRITERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    struct tr_head_stats st;
    tr_head_stats(h, &st);
    assert_int_equal(st.series, WRITERS * SERIES_PER_WRITER + SHARED);
    assert_int_equal(st.samples_appended,
                     (WRITERS * SERIES_PER_WRITER + SHARED) * SAMPLES);
    assert_int_equal(st.rejected_duplicate, 0);

    /* Every series holds every round, in order. */
    struct tr_series_list l = {0};
    assert_int_equal(tr_head_select(h, NULL, 0, INT64_MIN, INT64_MAX, &l,
                                    NULL),
                     TR_OK);
    assert_int_equal(l.len, st.series);
    int64_t ts[SAMPLES + 1];
    double vs[SAMPLES + 1];
    for (size_t i = 0; i < l.len; i++) {
        size_t n = read_all(h, l.series[i], INT64_MIN, INT64_MAX, ts, vs,
                            SAMPLES + 1);
        assert_int_equal(n, SAMPLES);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(ts[k], (int64_t)k * 15000);
        }
    }
    tr_series_list_fini(&l);
    tr_head_destroy(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_errors),
        cmocka_unit_test(test_get_or_create_and_limits),
        cmocka_unit_test(test_hash_collisions),
        cmocka_unit_test(test_chunks_cut_and_read_ranges),
        cmocka_unit_test(test_select_and_labels),
        cmocka_unit_test(test_concurrent_appends_and_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
