/* Unit tests for lib/base: errors, buffers, arena, durations, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"

static void
test_err_set_and_prefix(void **state)
{
    struct tr_err err;
    tr_err_clear(&err);
    assert_int_equal(tr_err_set(&err, TR_EINVAL, "cannot parse %s", "x"),
                     TR_EINVAL);
    assert_int_equal(tr_err_prefix(&err, "cannot load config"), TR_EINVAL);
    assert_string_equal(err.msg, "cannot load config: cannot parse x");
    assert_int_equal(tr_err_set(NULL, TR_EIO, "ignored"), TR_EIO);
    assert_string_equal(tr_err_name(TR_ELIMIT), "limit");
}

static void
test_buf_appends_and_grows(void **state)
{
    struct tr_buf b = TR_BUF_INIT;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tr_buf_appendf(&b, "%d,", i), TR_OK);
    }
    assert_int_equal(b.len, 3890);
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_int_equal(tr_buf_append(&b, "\0x", 2), TR_OK);
    assert_int_equal(b.len, 3892);
    tr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    size_t len;
    tr_buf_append_str(&b, "abc");
    char *data = tr_buf_detach(&b, &len);
    assert_int_equal(len, 3);
    assert_null(b.data);
    tr_free(data);
    tr_buf_fini(&b);
}

static int cleanup_runs;

static void
count_cleanup(void *arg)
{
    (void)arg;
    cleanup_runs++;
}

static void
test_arena_alloc_reset_cleanup(void **state)
{
    int64_t before = tr_mem_bytes_in_use();
    struct tr_arena *a = tr_arena_create(1024);
    assert_non_null(a);
    for (int i = 0; i < 100; i++) {
        char *p = tr_arena_alloc(a, 100);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 'x', 100);
    }
    char *big = tr_arena_alloc(a, 100000); /* its own block */
    assert_non_null(big);
    memset(big, 'y', 100000);
    assert_string_equal(tr_arena_sprintf(a, "%s-%d", "n", 7), "n-7");
    cleanup_runs = 0;
    assert_int_equal(tr_arena_on_reset(a, count_cleanup, NULL), TR_OK);
    tr_arena_reset(a);
    assert_int_equal(cleanup_runs, 1);
    assert_int_equal(tr_arena_used(a), 0);
    assert_non_null(tr_arena_alloc(a, 10));
    tr_arena_destroy(a);
    assert_int_equal(tr_mem_bytes_in_use(), before);
}

/* With a keep limit, a reset arena serves the same allocations again from
 * the blocks it kept: no new memory. */
static void
test_arena_keep(void **state)
{
    int64_t before = tr_mem_bytes_in_use();
    struct tr_arena *a = tr_arena_create(1024);
    assert_non_null(a);
    tr_arena_set_keep(a, 1 << 20);
    int64_t peak = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) {
            char *p = tr_arena_alloc(a, 100);
            assert_non_null(p);
            memset(p, 'x', 100);
        }
        char *big = tr_arena_alloc(a, 100000);
        char *big2 = tr_arena_alloc(a, 5000);
        assert_non_null(big);
        assert_non_null(big2);
        assert_int_equal((uintptr_t)big % 16, 0);
        memset(big, 'y', 100000);
        memset(big2, 'z', 5000);
        assert_int_equal(tr_arena_used(a), 50 * 112 + 100000 + 5008);
        if (round == 0) {
            peak = tr_mem_bytes_in_use();
        } else {
            assert_int_equal(tr_mem_bytes_in_use(), peak);
        }
        tr_arena_reset(a);
        assert_int_equal(tr_arena_used(a), 0);
        assert_int_equal(tr_mem_bytes_in_use(), peak);
    }
    /* A lower limit frees the spares above it; resets then free too. */
    tr_arena_set_keep(a, 0);
    assert_true(tr_mem_bytes_in_use() < peak);
    assert_non_null(tr_arena_alloc(a, 100000));
    tr_arena_reset(a);
    assert_true(tr_mem_bytes_in_use() - before < 2048);
    tr_arena_destroy(a);
    assert_int_equal(tr_mem_bytes_in_use(), before);
}

/* A big arena uses few, big blocks: once it holds 16 MiB, the next MiB of
 * small allocations comes from one or two blocks (consecutive addresses
 * but for at most one jump), where fixed 16 KiB blocks would need 64. */
static void
test_arena_blocks_grow(void **state)
{
    (void)state;
    int64_t before = tr_mem_bytes_in_use();
    struct tr_arena *a = tr_arena_create(16 * 1024);
    assert_non_null(a);
    while (tr_arena_used(a) < 16u * 1024 * 1024) {
        assert_non_null(tr_arena_alloc(a, 1000));
    }
    char *prev = tr_arena_alloc(a, 1000);
    int jumps = 0;
    for (int i = 0; i < 1040; i++) {
        char *p = tr_arena_alloc(a, 1000);
        assert_non_null(p);
        memset(p, 'x', 1000);
        jumps += p != prev + 1008;
        prev = p;
    }
    assert_true(jumps <= 1);
    tr_arena_reset(a);
    assert_true(tr_mem_bytes_in_use() - before < 64 * 1024);
    tr_arena_destroy(a);
    assert_int_equal(tr_mem_bytes_in_use(), before);
}

static void
test_grow(void **state)
{
    (void)state;
    int *arr = NULL;
    size_t cap = 0;
    assert_int_equal(tr_grow((void **)&arr, &cap, 1, sizeof(*arr)), TR_OK);
    assert_int_equal(cap, 16);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(
            tr_grow((void **)&arr, &cap, (size_t)i + 1, sizeof(*arr)), TR_OK);
        arr[i] = i;
    }
    assert_true(cap >= 1000 && cap <= 2048);
    assert_int_equal(arr[999], 999);
    /* A request that cannot fit size_t changes nothing. */
    int *keep = arr;
    assert_int_equal(tr_grow((void **)&arr, &cap, SIZE_MAX, sizeof(*arr)),
                     TR_ENOMEM);
    assert_ptr_equal(arr, keep);
    assert_true(cap >= 1000 && cap <= 2048);
    tr_free(arr);
}

static void
check_duration(const char *s, int64_t want_ns)
{
    int64_t got = -1;
    struct tr_err err;
    assert_int_equal(tr_duration_parse(s, &got, &err), TR_OK);
    assert_true(got == want_ns);
}

static void
test_duration_parse(void **state)
{
    check_duration("5m", 300 * TR_NS_PER_SEC);
    check_duration("1h30m", 5400 * TR_NS_PER_SEC);
    check_duration("250ms", 250 * TR_NS_PER_MS);
    check_duration("1.5s", 1500 * TR_NS_PER_MS);
    check_duration("30", 30 * TR_NS_PER_SEC);
    check_duration("0.5", 500 * TR_NS_PER_MS);
    check_duration("1w2d", 9 * 86400 * TR_NS_PER_SEC);
    check_duration("10us", 10000);

    struct tr_err err;
    int64_t v;
    assert_int_equal(tr_duration_parse("5x", &v, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "unknown unit"));
    assert_int_equal(tr_duration_parse("", &v, &err), TR_EINVAL);
    assert_int_equal(tr_duration_parse("-5", &v, &err), TR_EINVAL);
    assert_int_equal(tr_duration_parse("m", &v, &err), TR_EINVAL);
}

static void
test_duration_format(void **state)
{
    char out[32];
    assert_string_equal(tr_duration_format(5400 * TR_NS_PER_SEC, out, 32),
                        "1h30m");
    assert_string_equal(tr_duration_format(0, out, 32), "0s");
    assert_string_equal(tr_duration_format(250 * TR_NS_PER_MS, out, 32),
                        "250ms");
}

static void
test_timestamp_parse(void **state)
{
    int64_t ns;
    struct tr_err err;
    assert_int_equal(tr_timestamp_parse("1700000000.123", &ns, &err), TR_OK);
    assert_true(ns == INT64_C(1700000000123000000));
    assert_int_equal(tr_timestamp_parse("2023-11-14T22:13:20Z", &ns, &err),
                     TR_OK);
    assert_true(ns == INT64_C(1700000000) * TR_NS_PER_SEC);
    assert_int_equal(
        tr_timestamp_parse("2023-11-14T23:13:20.5+01:00", &ns, &err), TR_OK);
    assert_true(ns == INT64_C(1700000000500000000));
    assert_int_equal(tr_timestamp_parse("yesterday", &ns, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "yesterday"));
    assert_int_equal(tr_timestamp_parse("2023-13-01T00:00:00Z", &ns, &err),
                     TR_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_and_prefix),
        cmocka_unit_test(test_buf_appends_and_grows),
        cmocka_unit_test(test_arena_alloc_reset_cleanup),
        cmocka_unit_test(test_arena_keep),
        cmocka_unit_test(test_arena_blocks_grow),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_timestamp_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
