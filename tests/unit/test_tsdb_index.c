/* Unit tests for lib/tsdb/matcher and lib/tsdb/index: PromQL semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/index.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

#define MAX_SERIES 16

/* The series of the semantics table; ids are positions. */
static const char *const fixture[][10] = {
    {"__name__", "up", "job", "api", "env", "prod", NULL},
    {"__name__", "up", "job", "api", "env", "", NULL}, /* env dropped */
    {"__name__", "up", "job", "web", "env", "dev", NULL},
    {"__name__", "rq", "job", "web", "code", "200", NULL},
    {"__name__", "rq", "job", "db", "code", "500", "path", "/a\nb", NULL},
    {"__name__", "rq", "code", "404", NULL}, /* no job */
    {"__name__", "x", "job", "ab", NULL},
    {"__name__", "x", "job", "\xc3\xa9", NULL}, /* one code point */
};
#define NFIXTURE (sizeof(fixture) / sizeof(fixture[0]))

static struct tr_labels *
labels_of(const char *const *kv)
{
    size_t n = 0;
    while (kv[2 * n] != NULL) {
        n++;
    }
    struct tr_labels *ls = NULL;
    struct tr_err err;
    if (tr_labels_from_strings(kv, n, &ls, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
    return ls;
}

static struct tr_index *
fixture_index(struct tr_labels **ls)
{
    struct tr_index *ix = tr_index_create();
    assert_non_null(ix);
    for (size_t i = 0; i < NFIXTURE; i++) {
        ls[i] = labels_of(fixture[i]);
        assert_int_equal(tr_index_add(ix, (uint32_t)i, ls[i], NULL), TR_OK);
    }
    return ix;
}

/*
 * Parses a tiny selector syntax for the table: matchers separated by ';',
 * each name OP value with OP one of = != =~ !~ and the value unquoted.
 */
static size_t
parse_selector(const char *sel, struct tr_matcher **ms)
{
    size_t n = 0;
    const char *p = sel;
    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        size_t op = strcspn(p, "=!");
        enum tr_match_type type;
        size_t oplen = 2;
        if (p[op] == '=' && p[op + 1] == '~') {
            type = TR_MATCH_REGEX;
        } else if (p[op] == '!' && p[op + 1] == '~') {
            type = TR_MATCH_NOT_REGEX;
        } else if (p[op] == '!') {
            type = TR_MATCH_NOT_EQUAL;
        } else {
            type = TR_MATCH_EQUAL;
            oplen = 1;
        }
        struct tr_err err;
        ms[n] = tr_matcher_create(type, p, op, p + op + oplen,
                                  len - op - oplen, &err);
        if (ms[n] == NULL) {
            fail_msg("matcher %.*s: %s", (int)len, p, err.msg);
        }
        n++;
        p += len;
        if (*p == ';') {
            p++;
        }
    }
    return n;
}

static void
check_select(const struct tr_index *ix, const char *sel, const char *want)
{
    struct tr_matcher *ms[8];
    size_t n = parse_selector(sel, ms);
    struct tr_postings got = {0};
    struct tr_err err;
    if (tr_index_select(ix, ms, n, &got, &err) != TR_OK) {
        fail_msg("select {%s}: %s", sel, err.msg);
    }
    char buf[64] = "";
    for (size_t i = 0; i < got.len; i++) {
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u",
                 i > 0 ? "," : "", (unsigned)got.ids[i]);
    }
    if (strcmp(buf, want) != 0) {
        fail_msg("select {%s}: got [%s] want [%s]", sel, buf, want);
    }
    tr_postings_fini(&got);
    for (size_t i = 0; i < n; i++) {
        tr_matcher_destroy(ms[i]);
    }
}

static void
test_select_semantics(void **state)
{
    struct tr_labels *ls[NFIXTURE];
    struct tr_index *ix = fixture_index(ls);
    assert_int_equal(tr_index_series_count(ix), NFIXTURE);

    check_select(ix, "", "0,1,2,3,4,5,6,7");
    check_select(ix, "job=api", "0,1");
    check_select(ix, "job=", "5");
    check_select(ix, "job!=", "0,1,2,3,4,6,7");
    check_select(ix, "job!=api", "2,3,4,5,6,7");
    check_select(ix, "job=nope", "");
    /* Anchoring: the whole value must match. */
    check_select(ix, "job=~api|web", "0,1,2,3");
    check_select(ix, "job=~a", "");
    check_select(ix, "job=~ap", "");
    check_select(ix, "job=~pi", "");
    check_select(ix, "job=~.*pi", "0,1");
    check_select(ix, "job=~a.*", "0,1,6");
    check_select(ix, "job=~a|ab", "6");
    check_select(ix, "job=~(a|ab)", "6");
    check_select(ix, "job=~^api$", "0,1");
    check_select(ix, "job=~(?i)API", "0,1");
    check_select(ix, "job=~.", "7"); /* UTF-8: one code point */
    check_select(ix, "job=~..", "4,6");
    /* Empty-string rules. */
    check_select(ix, "job=~.*", "0,1,2,3,4,5,6,7");
    check_select(ix, "job=~.+", "0,1,2,3,4,6,7");
    check_select(ix, "job!~.*", "");
    check_select(ix, "job!~.+", "5");
    check_select(ix, "job=~api|", "0,1,5");
    check_select(ix, "job!~api", "2,3,4,5,6,7");
    check_select(ix, "job!~api|", "2,3,4,6,7");
    check_select(ix, "__name__=up;env=", "1");
    check_select(ix, "__name__=up;env!=prod", "1,2");
    check_select(ix, "__name__=up;env=~prod|", "0,1");
    check_select(ix, "__name__=up;env!~", "0,2");
    check_select(ix, "nolabel=", "0,1,2,3,4,5,6,7");
    check_select(ix, "nolabel=x", "");
    check_select(ix, "nolabel!=x", "0,1,2,3,4,5,6,7");
    check_select(ix, "nolabel=~.+", "");
    check_select(ix, "nolabel!~.+", "0,1,2,3,4,5,6,7");
    /* Dot matches newline, as with (?s:...) in PromQL. */
    check_select(ix, "__name__=rq;path=~/a.b", "4");
    check_select(ix, "__name__=~u.;job=api", "0,1");
    check_select(ix, "code=~[45]..", "4,5");
    check_select(ix, "code=~[45]..;job=", "5");
    check_select(ix, "__name__=rq;__name__!=rq", "");
    check_select(ix, "__name__=~rq|up;job!~web|db;code!=404", "0,1");

    for (size_t i = 0; i < NFIXTURE; i++) {
        tr_labels_destroy(ls[i]);
    }
    tr_index_destroy(ix);
}

static void
test_matcher_basics(void **state)
{
    struct tr_err err;
    struct tr_matcher *m = tr_matcher_create(TR_MATCH_REGEX, "a", 1, "(a", 2,
                                             &err);
    assert_null(m);
    assert_int_equal(err.code, TR_EINVAL);
    assert_string_equal(err.msg, "cannot compile regex \"(a\": missing "
                                 "closing parenthesis at offset 2");

    m = tr_matcher_create(TR_MATCH_NOT_REGEX, "job", 3, "a\"b|c", 5, &err);
    assert_non_null(m);
    assert_int_equal(tr_matcher_type(m), TR_MATCH_NOT_REGEX);
    assert_true(tr_matcher_matches_empty(m));
    assert_int_equal(tr_matcher_match(m, "c", 1, &err), 0);
    assert_int_equal(tr_matcher_match(m, "cc", 2, &err), 1);
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_matcher_format(m, &b), TR_OK);
    assert_int_equal(b.len, strlen("job!~\"a\\\"b|c\""));
    assert_memory_equal(b.data, "job!~\"a\\\"b|c\"", b.len);
    tr_buf_fini(&b);
    tr_matcher_destroy(m);

    /* Invalid UTF-8 values do not break UTF mode matching. */
    m = tr_matcher_create(TR_MATCH_REGEX, "a", 1, "x.*", 3, &err);
    assert_non_null(m);
    assert_int_equal(tr_matcher_match(m, "x\xff\xfe", 3, &err), 0);
    assert_int_equal(tr_matcher_match(m, "xyz", 3, &err), 1);
    tr_matcher_destroy(m);

    /* Catastrophic backtracking hits the match limit. */
    m = tr_matcher_create(TR_MATCH_REGEX, "a", 1, "(a|aa)+(b|c)", 12, &err);
    assert_non_null(m);
    char subject[64];
    memset(subject, 'a', sizeof(subject));
    int rc = tr_matcher_match(m, subject, sizeof(subject), &err);
    assert_int_equal(rc, TR_ELIMIT);
    assert_non_null(strstr(err.msg, "match limit exceeded"));
    tr_matcher_destroy(m);

    assert_string_equal(tr_match_type_op(TR_MATCH_EQUAL), "=");
    assert_string_equal(tr_match_type_op(TR_MATCH_NOT_EQUAL), "!=");
    assert_string_equal(tr_match_type_op(TR_MATCH_REGEX), "=~");
    assert_string_equal(tr_match_type_op(TR_MATCH_NOT_REGEX), "!~");
}

static void
test_label_names_values(void **state)
{
    struct tr_labels *ls[NFIXTURE];
    struct tr_index *ix = fixture_index(ls);
    struct tr_arena *a = tr_arena_create(0);
    struct tr_tsdb_str *v;
    size_t n;
    assert_int_equal(tr_index_label_names(ix, a, &v, &n), TR_OK);
    const char *names[] = {"__name__", "code", "env", "job", "path"};
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].len, strlen(names[i]));
        assert_memory_equal(v[i].ptr, names[i], v[i].len);
    }
    assert_int_equal(tr_index_label_values(ix, "job", 3, a, &v, &n), TR_OK);
    const char *jobs[] = {"ab", "api", "db", "web", "\xc3\xa9"};
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].len, strlen(jobs[i]));
        assert_memory_equal(v[i].ptr, jobs[i], v[i].len);
    }
    assert_int_equal(tr_index_label_values(ix, "nope", 4, a, &v, &n), TR_OK);
    assert_int_equal(n, 0);

    struct tr_err err;
    assert_int_equal(tr_index_add(ix, 3, ls[0], &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot index series 3: ids must increase "
                                 "(last 7)");
    assert_true(tr_index_memory(ix) > 0);
    tr_arena_destroy(a);
    for (size_t i = 0; i < NFIXTURE; i++) {
        tr_labels_destroy(ls[i]);
    }
    tr_index_destroy(ix);
}

static void
test_postings_ops(void **state)
{
    struct tr_postings a = {0}, b = {0}, out = {0};
    for (uint32_t i = 0; i < 1000; i++) {
        if (a.len == a.cap) {
            a.cap = a.cap ? a.cap * 2 : 16;
            a.ids = tr_realloc(a.ids, a.cap * sizeof(uint32_t));
        }
        a.ids[a.len++] = i * 3;
    }
    uint32_t bids[] = {0, 2, 3, 299, 300, 2997, 5000};
    b.ids = tr_malloc(sizeof(bids));
    memcpy(b.ids, bids, sizeof(bids));
    b.len = b.cap = 7;
    /* Short vs long list: the galloping path. */
    assert_int_equal(tr_postings_intersect(&a, &b, &out), TR_OK);
    assert_int_equal(out.len, 4);
    assert_int_equal(out.ids[0], 0);
    assert_int_equal(out.ids[1], 3);
    assert_int_equal(out.ids[2], 300);
    assert_int_equal(out.ids[3], 2997);
    tr_postings_subtract(&a, &b);
    assert_int_equal(a.len, 996);
    assert_int_equal(a.ids[0], 6);
    tr_postings_subtract(&b, &b);
    assert_int_equal(b.len, 0);
    tr_postings_fini(&a);
    tr_postings_fini(&b);
    tr_postings_fini(&out);
}

/* Random series and matchers, checked against brute-force evaluation. */
static void
test_random_against_brute_force(void **state)
{
    enum { NSERIES = 3000, NROUNDS = 400 };
    static const char *names[] = {"a", "b", "c", "d"};
    static const char *values[] = {"", "x", "y", "xy", "yx", "z", "x1"};
    static const char *patterns[] = {"x.*", ".*y", "x|y", "", ".*", ".+",
                                     "x?", "[xy]+", "z|", "x1|yx"};
    struct tr_labels **series = tr_calloc(NSERIES, sizeof(*series));
    struct tr_index *ix = tr_index_create();
    srand(7);
    for (uint32_t id = 0; id < NSERIES; id++) {
        struct tr_labels_builder b;
        tr_labels_builder_init(&b);
        for (size_t k = 0; k < 4; k++) {
            const char *v = values[rand() % 7];
            tr_labels_builder_add(&b, names[k], 1, v, strlen(v));
        }
        assert_int_equal(tr_labels_builder_build(&b, &series[id], NULL),
                         TR_OK);
        tr_labels_builder_fini(&b);
        assert_int_equal(tr_index_add(ix, id, series[id], NULL), TR_OK);
    }
    for (int round = 0; round < NROUNDS; round++) {
        struct tr_matcher *ms[3];
        size_t n = (size_t)(rand() % 4);
        for (size_t i = 0; i < n; i++) {
            enum tr_match_type type = (enum tr_match_type)(rand() % 4);
            const char *v = type <= TR_MATCH_NOT_EQUAL
                                ? values[rand() % 7]
                                : patterns[rand() % 10];
            const char *name = rand() % 8 == 0 ? "e" : names[rand() % 4];
            ms[i] = tr_matcher_create(type, name, 1, v, strlen(v), NULL);
            assert_non_null(ms[i]);
        }
        struct tr_postings got = {0};
        assert_int_equal(tr_index_select(ix, ms, n, &got, NULL), TR_OK);
        size_t k = 0;
        for (uint32_t id = 0; id < NSERIES; id++) {
            bool all = true;
            for (size_t i = 0; i < n && all; i++) {
                size_t nl, vl = 0;
                const char *name = tr_matcher_name(ms[i], &nl);
                const char *v = "";
                tr_labels_get(series[id], name, nl, &v, &vl);
                all = tr_matcher_match(ms[i], v, vl, NULL) == 1;
            }
            if (all) {
                if (k >= got.len || got.ids[k] != id) {
                    fail_msg("round %d: series %u missing", round,
                             (unsigned)id);
                }
                k++;
            }
        }
        assert_int_equal(k, got.len);
        tr_postings_fini(&got);
        for (size_t i = 0; i < n; i++) {
            tr_matcher_destroy(ms[i]);
        }
    }
    for (uint32_t id = 0; id < NSERIES; id++) {
        tr_labels_destroy(series[id]);
    }
    tr_free(series);
    tr_index_destroy(ix);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_semantics),
        cmocka_unit_test(test_matcher_basics),
        cmocka_unit_test(test_label_names_values),
        cmocka_unit_test(test_postings_ops),
        cmocka_unit_test(test_random_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
