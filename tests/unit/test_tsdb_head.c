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
#include <sched.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/chunk.h"
#include "tsdb/head.h"
#include "tsdb/index.h"
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

/* ---- truncation and garbage collection -------------------------------- */

static size_t
select_count(struct tr_head *h, const char *name, const char *value)
{
    struct tr_matcher *m = matcher(TR_MATCH_EQUAL, name, value);
    struct tr_series_list l = {0};
    assert_int_equal(tr_head_select(h, &m, 1, INT64_MIN, INT64_MAX, &l, NULL),
                     TR_OK);
    size_t n = l.len;
    tr_series_list_fini(&l);
    tr_matcher_destroy(m);
    return n;
}

static void
test_truncate_chunks_and_series(void **state)
{
    struct tr_head_options opts = {.max_samples_per_chunk = 10};
    struct tr_head *h = tr_head_create(&opts);
    struct tr_series *a = series(h, "{job=\"a\"}");
    struct tr_series *b = series(h, "{job=\"b\"}");
    struct tr_series *c = series(h, "{job=\"c\"}");
    struct tr_err err;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(tr_head_append(h, a, i * 1000, i, NULL, &err), TR_OK);
        if (i <= 20) {
            assert_int_equal(tr_head_append(h, b, i * 1000, i, NULL, &err),
                             TR_OK);
        }
        if (i >= 50) {
            assert_int_equal(tr_head_append(h, c, i * 1000, i, NULL, &err),
                             TR_OK);
        }
    }
    /* A caller holding b across the truncation (pushes do). */
    struct tr_labels *lb = parse("{job=\"b\"}");
    struct tr_series *held = tr_head_get(h, lb);
    assert_ptr_equal(held, b);
    tr_head_series_release(h, b); /* series() took one too */
    struct tr_head_stats before, after;
    tr_head_stats(h, &before);
    assert_int_equal(before.series, 3);
    assert_int_equal(before.min_time, 0);

    struct tr_head_truncation tr;
    assert_int_equal(tr_head_truncate(h, 55000, &tr, &err), TR_OK);
    /* a: chunks 0-9 .. 40-49; b: 0-9, 10-19, the open 20; c: none. */
    assert_int_equal(tr.chunks_removed, 8);
    assert_int_equal(tr.series_removed, 1);
    tr_head_stats(h, &after);
    assert_int_equal(after.series, 2);
    assert_int_equal(after.chunks, before.chunks - 8);
    assert_int_equal(after.min_time, 50000); /* straddling chunk kept */
    assert_int_equal(after.max_time, 99000);
    assert_true(after.memory_bytes < before.memory_bytes);
    assert_int_equal(tr_head_min_valid_time(h), 55000);
    assert_null(tr_head_get(h, lb));
    assert_int_equal(select_count(h, "job", "b"), 0);
    assert_int_equal(select_count(h, "job", "a"), 1);

    /* Older samples are refused; the straddling chunk is still read. */
    enum tr_append_reject why;
    assert_int_equal(tr_head_append(h, c, 54999, 1, &why, &err), TR_EINVAL);
    assert_int_equal(why, TR_APPEND_TOO_OLD);
    int64_t ts[200];
    double vs[200];
    size_t n = read_all(h, a, INT64_MIN, INT64_MAX, ts, vs, 200);
    assert_int_equal(n, 50);
    assert_int_equal(ts[0], 50000);
    int64_t lo, hi;
    assert_true(tr_series_time_range(a, &lo, &hi));
    assert_int_equal(lo, 50000);
    assert_int_equal(hi, 99000);

    /* A lower truncation never lowers the min valid time. */
    assert_int_equal(tr_head_truncate(h, 1000, &tr, &err), TR_OK);
    assert_int_equal(tr.chunks_removed, 0);
    assert_int_equal(tr_head_min_valid_time(h), 55000);

    /* The held pointer still works: its sample goes to a new series. */
    assert_int_equal(tr_head_append(h, held, 70000, 7, NULL, &err), TR_OK);
    tr_head_series_release(h, held);
    struct tr_series *b2 = tr_head_get(h, lb);
    assert_non_null(b2);
    assert_true(tr_series_id(b2) > tr_series_id(c));
    n = read_all(h, b2, INT64_MIN, INT64_MAX, ts, vs, 200);
    assert_int_equal(n, 1);
    assert_int_equal(ts[0], 70000);
    assert_int_equal(vs[0], 7.0);
    tr_head_series_release(h, b2);

    /* Label queries no longer see b's old values but see the new series. */
    struct tr_arena *arena = tr_arena_create(0);
    struct tr_tsdb_str *v;
    size_t count;
    assert_int_equal(tr_head_label_values(h, "job", 3, NULL, 0, INT64_MIN,
                                          INT64_MAX, arena, &v, &count, NULL),
                     TR_OK);
    assert_int_equal(count, 3);

    /* Truncating everything empties the head. */
    tr_head_series_release(h, a);
    tr_head_series_release(h, c);
    assert_int_equal(tr_head_truncate(h, 1000000, &tr, &err), TR_OK);
    assert_int_equal(tr.series_removed, 3);
    tr_head_stats(h, &after);
    assert_int_equal(after.series, 0);
    assert_int_equal(after.chunks, 0);
    assert_int_equal(after.min_time, INT64_MAX);
    assert_int_equal(tr_head_label_values(h, "job", 3, NULL, 0, INT64_MIN,
                                          INT64_MAX, arena, &v, &count, NULL),
                     TR_OK);
    assert_int_equal(count, 0);
    assert_int_equal(tr_head_label_names(h, NULL, 0, INT64_MIN, INT64_MAX,
                                         arena, &v, &count, NULL),
                     TR_OK);
    assert_int_equal(count, 0);
    tr_arena_destroy(arena);
    tr_labels_destroy(lb);
    tr_head_destroy(h);
}

/* GC with colliding hashes: the backward shift keeps every probe run. */
static void
test_truncate_with_collisions(void **state)
{
    struct tr_head_options opts = {.hash_fn = constant_hash};
    struct tr_head *h = tr_head_create(&opts);
    char text[64];
    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "{i=\"%d\"}", i);
        struct tr_series *s = series(h, text);
        /* Odd series get an old sample only, even ones a new one. */
        assert_int_equal(tr_head_append(h, s, i % 2 ? 1 : 5000, i, NULL,
                                        NULL),
                         TR_OK);
        tr_head_series_release(h, s);
    }
    struct tr_head_truncation tr;
    assert_int_equal(tr_head_truncate(h, 2000, &tr, NULL), TR_OK);
    assert_int_equal(tr.series_removed, 20);
    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "{i=\"%d\"}", i);
        struct tr_labels *ls = parse(text);
        struct tr_series *s = tr_head_get(h, ls);
        if (i % 2) {
            assert_null(s);
        } else {
            assert_non_null(s);
            assert_true(tr_labels_equal(tr_series_labels(s), ls));
            tr_head_series_release(h, s);
        }
        snprintf(text, sizeof(text), "%d", i);
        assert_int_equal(select_count(h, "i", text), i % 2 ? 0 : 1);
        tr_labels_destroy(ls);
    }
    tr_head_destroy(h);
}

/* Many series with unique values collected: the index compacts itself and
 * memory follows the live series. */
static void
test_truncate_churn_memory(void **state)
{
    struct tr_head *h = tr_head_create(NULL);
    char text[96];
    struct tr_head_stats empty, st;
    tr_head_stats(h, &empty);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3000; i++) {
            snprintf(text, sizeof(text), "{__name__=\"m\", pod=\"p-%d-%d\"}",
                     round, i);
            struct tr_series *s = series(h, text);
            assert_int_equal(tr_head_append(h, s, round * 10000 + i, i, NULL,
                                            NULL),
                             TR_OK);
            tr_head_series_release(h, s);
        }
        tr_head_stats(h, &st);
        assert_int_equal(st.series, 3000);
        assert_int_equal(tr_head_truncate(h, (round + 1) * 10000, NULL, NULL),
                         TR_OK);
        tr_head_stats(h, &st);
        assert_int_equal(st.series, 0);
        assert_int_equal(select_count(h, "__name__", "m"), 0);
        /* Tables may stay sized for the peak; strings and series go. */
        assert_true(st.memory_bytes < empty.memory_bytes + 200 * 1024);
    }
    struct tr_series *s = series(h, "{__name__=\"m\", pod=\"p-0-7\"}");
    assert_int_equal(tr_head_append(h, s, 50000, 1, NULL, NULL), TR_OK);
    assert_int_equal(select_count(h, "pod", "p-0-7"), 1);
    assert_int_equal(select_count(h, "__name__", "m"), 1);
    tr_head_series_release(h, s);
    tr_head_destroy(h);
}

/* tr_index_remove on its own. */
static void
test_index_remove(void **state)
{
    struct tr_index *ix = tr_index_create();
    struct tr_labels *ls[6];
    char text[64];
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof(text), "{a=\"%d\", b=\"%s\"}", i % 3,
                 i % 2 ? "odd" : "even");
        ls[i] = parse(text);
        assert_int_equal(tr_index_add(ix, (uint32_t)i * 2, ls[i], NULL),
                         TR_OK);
    }
    uint32_t gone[] = {2, 6, 8};
    const struct tr_labels *gone_ls[] = {ls[1], ls[3], ls[4]};
    tr_index_remove(ix, gone, gone_ls, 3);
    assert_int_equal(tr_index_series_count(ix), 3);
    struct tr_matcher *m = matcher(TR_MATCH_EQUAL, "b", "odd");
    struct tr_postings p = {0};
    assert_int_equal(tr_index_select(ix, &m, 1, &p, NULL), TR_OK);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.ids[0], 10);
    tr_matcher_destroy(m);
    m = matcher(TR_MATCH_NOT_EQUAL, "a", "0");
    assert_int_equal(tr_index_select(ix, &m, 1, &p, NULL), TR_OK);
    assert_int_equal(p.len, 2); /* ids 4 (a=2) and 10 (a=2) */
    assert_int_equal(p.ids[0], 4);
    assert_int_equal(p.ids[1], 10);
    tr_matcher_destroy(m);
    /* Ids go on increasing after a removal. */
    assert_int_equal(tr_index_add(ix, 12, ls[1], NULL), TR_OK);
    assert_int_equal(tr_index_series_count(ix), 4);
    tr_postings_fini(&p);
    for (int i = 0; i < 6; i++) {
        tr_labels_destroy(ls[i]);
    }
    tr_index_destroy(ix);
}

enum { TW = 3, TSERIES = 200, TROUNDS = 120, TKEEP = 10 };

struct trunc_ctx {
    struct tr_head *h;
    _Atomic int rounds_done[TW]; /* per writer: rounds finished */
    _Atomic int writers_done;
    _Atomic int64_t truncated_to;
    _Atomic int failures;
    _Atomic int truncations;
};

struct trunc_worker {
    struct trunc_ctx *c;
    int index;
};

static void *
trunc_writer(void *arg)
{
    struct trunc_worker *w = arg;
    struct trunc_ctx *c = w->c;
    char text[96];
    for (int r = 0; r < TROUNDS; r++) {
        for (int i = 0; i <= TSERIES; i++) {
            /* i == TSERIES: a series living for one sample (churn). */
            if (i < TSERIES) {
                snprintf(text, sizeof(text), "{w=\"%d\", i=\"%d\"}", w->index,
                         i);
            } else {
                snprintf(text, sizeof(text), "{w=\"%d\", churn=\"%d\"}",
                         w->index, r);
            }
            struct tr_labels *ls = NULL;
            struct tr_series *s = NULL;
            struct tr_err err;
            if (tr_labels_parse(text, strlen(text), &ls, NULL) != TR_OK ||
                tr_head_get_or_create(c->h, ls, &s, NULL, &err) != TR_OK ||
                tr_head_append(c->h, s, (int64_t)r * 1000, r, NULL, &err) !=
                    TR_OK) {
                atomic_fetch_add(&c->failures, 1);
            }
            tr_head_series_release(c->h, s);
            tr_labels_destroy(ls);
        }
        atomic_store(&c->rounds_done[w->index], r + 1);
    }
    atomic_fetch_add(&c->writers_done, 1);
    return NULL;
}

/* Truncates behind the slowest writer while they write. */
static void *
trunc_truncator(void *arg)
{
    struct trunc_ctx *c = arg;
    while (atomic_load(&c->writers_done) < TW) {
        int slowest = TROUNDS;
        for (int i = 0; i < TW; i++) {
            int d = atomic_load(&c->rounds_done[i]);
            slowest = d < slowest ? d : slowest;
        }
        int64_t t = (int64_t)(slowest - 2) * 1000;
        if (t > (TROUNDS - TKEEP) * 1000) {
            t = (TROUNDS - TKEEP) * 1000; /* the test's final cut */
        }
        if (t > atomic_load(&c->truncated_to)) {
            if (tr_head_truncate(c->h, t, NULL, NULL) != TR_OK) {
                atomic_fetch_add(&c->failures, 1);
            }
            atomic_store(&c->truncated_to, t);
            atomic_fetch_add(&c->truncations, 1);
        }
        sched_yield();
    }
    return NULL;
}

static void *
trunc_reader(void *arg)
{
    struct trunc_ctx *c = arg;
    struct tr_matcher *m = matcher(TR_MATCH_REGEX, "w", "0|1|2");
    struct tr_arena *arena = tr_arena_create(0);
    struct tr_series_list l = {0};
    struct tr_series_chunks sc = {0};
    while (atomic_load(&c->writers_done) < TW) {
        if (tr_head_select(c->h, &m, 1, INT64_MIN, INT64_MAX, &l, NULL) !=
            TR_OK) {
            atomic_fetch_add(&c->failures, 1);
        }
        for (size_t i = 0; i < l.len; i += 3) {
            if (tr_head_read(c->h, l.series[i], INT64_MIN, INT64_MAX, &sc,
                             NULL) != TR_OK) {
                atomic_fetch_add(&c->failures, 1);
                continue;
            }
            /* Whatever is left of a series is consecutive rounds. */
            struct tr_series_iter it;
            int64_t t, prev = INT64_MIN;
            double v;
            tr_series_iter_init(&it, &sc, INT64_MIN, INT64_MAX);
            while (tr_series_iter_next(&it, &t, &v, NULL) == 1) {
                if ((prev != INT64_MIN && t != prev + 1000) ||
                    v != (double)(t / 1000)) {
                    atomic_fetch_add(&c->failures, 1);
                }
                prev = t;
            }
        }
        struct tr_tsdb_str *v;
        size_t n;
        if (tr_head_label_values(c->h, "churn", 5, NULL, 0, INT64_MIN,
                                 INT64_MAX, arena, &v, &n, NULL) != TR_OK ||
            tr_head_label_names(c->h, &m, 1, 0, 5000, arena, &v, &n, NULL) !=
                TR_OK) {
            atomic_fetch_add(&c->failures, 1);
        }
        tr_arena_reset(arena);
    }
    tr_series_chunks_fini(&sc);
    tr_series_list_fini(&l);
    tr_arena_destroy(arena);
    tr_matcher_destroy(m);
    return NULL;
}

static void
test_truncate_concurrent(void **state)
{
    struct tr_head_options opts = {.max_samples_per_chunk = 8};
    struct trunc_ctx c = {.h = tr_head_create(&opts)};
    atomic_init(&c.truncated_to, INT64_MIN);
    pthread_t threads[TW + 2];
    struct trunc_worker workers[TW];
    for (int i = 0; i < TW; i++) {
        workers[i] = (struct trunc_worker){&c, i};
        pthread_create(&threads[i], NULL, trunc_writer, &workers[i]);
    }
    pthread_create(&threads[TW], NULL, trunc_truncator, &c);
    pthread_create(&threads[TW + 1], NULL, trunc_reader, &c);
    for (int i = 0; i < TW + 2; i++) {
        pthread_join(threads[i], NULL);
    }
    assert_int_equal(atomic_load(&c.failures), 0);
    assert_true(atomic_load(&c.truncations) > 0);

    /* Final truncation: the kept rounds of every series are all there. */
    int64_t cut = (TROUNDS - TKEEP) * 1000;
    assert_int_equal(tr_head_truncate(c.h, cut, NULL, NULL), TR_OK);
    struct tr_head_stats st;
    tr_head_stats(c.h, &st);
    assert_int_equal(st.series, TW * TSERIES + TW * TKEEP);
    struct tr_series_list l = {0};
    assert_int_equal(tr_head_select(c.h, NULL, 0, cut, INT64_MAX, &l, NULL),
                     TR_OK);
    assert_int_equal(l.len, st.series);
    int64_t ts[TROUNDS];
    double vs[TROUNDS];
    for (size_t i = 0; i < l.len; i++) {
        size_t n = read_all(c.h, l.series[i], cut, INT64_MAX, ts, vs, TROUNDS);
        bool churn = tr_labels_get(tr_series_labels(l.series[i]), "churn", 5,
                                   NULL, NULL);
        assert_int_equal(n, churn ? 1 : TKEEP);
        assert_true(ts[n - 1] >= cut);
    }
    tr_series_list_fini(&l);
    tr_head_destroy(c.h);
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
        cmocka_unit_test(test_truncate_chunks_and_series),
        cmocka_unit_test(test_truncate_with_collisions),
        cmocka_unit_test(test_truncate_churn_memory),
        cmocka_unit_test(test_index_remove),
        cmocka_unit_test(test_truncate_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
