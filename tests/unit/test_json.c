/* Unit tests for lib/json: structure, escaping, numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "json/writer.h"

/* Writes one string value and compares the whole output. */
static void
check_string(const char *in, size_t len, const char *want)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    assert_int_equal(tr_json_string_len(&w, in, len), TR_OK);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    tr_buf_fini(&b);
}

static void
test_structure_and_commas(void **state)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    tr_json_object_begin(&w);
    tr_json_key(&w, "status");
    tr_json_string(&w, "success");
    tr_json_key(&w, "data");
    tr_json_object_begin(&w);
    tr_json_key(&w, "result");
    tr_json_array_begin(&w);
    tr_json_int(&w, -5);
    tr_json_uint(&w, UINT64_MAX);
    tr_json_array_begin(&w);
    tr_json_array_end(&w);
    tr_json_object_begin(&w);
    tr_json_object_end(&w);
    tr_json_bool(&w, true);
    tr_json_bool(&w, false);
    tr_json_null(&w);
    tr_json_raw(&w, "{\"x\":1}", 7);
    tr_json_double(&w, 0.5);
    tr_json_array_end(&w);
    tr_json_object_end(&w);
    tr_json_key(&w, "n");
    tr_json_int(&w, INT64_MIN);
    tr_json_object_end(&w);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_string_equal(
        b.data, "{\"status\":\"success\",\"data\":{\"result\":[-5,"
                "18446744073709551615,[],{},true,false,null,{\"x\":1},0.5]},"
                "\"n\":-9223372036854775808}");
    tr_buf_fini(&b);
}

static void
test_misuse_is_sticky_einval(void **state)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;

    /* value without key inside an object */
    tr_json_init(&w, &b);
    tr_json_object_begin(&w);
    assert_int_equal(tr_json_int(&w, 1), TR_EINVAL);
    assert_int_equal(tr_json_key(&w, "a"), TR_EINVAL); /* sticky */
    assert_int_equal(tr_json_finish(&w), TR_EINVAL);

    /* key inside an array, mismatched end, unclosed, NaN */
    tr_buf_reset(&b);
    tr_json_init(&w, &b);
    tr_json_array_begin(&w);
    assert_int_equal(tr_json_key(&w, "a"), TR_EINVAL);

    tr_json_init(&w, &b);
    tr_json_array_begin(&w);
    assert_int_equal(tr_json_object_end(&w), TR_EINVAL);

    tr_json_init(&w, &b);
    tr_json_array_begin(&w);
    assert_int_equal(tr_json_finish(&w), TR_EINVAL);

    tr_json_init(&w, &b);
    assert_int_equal(tr_json_finish(&w), TR_EINVAL); /* nothing written */

    tr_json_init(&w, &b);
    assert_int_equal(tr_json_double(&w, NAN), TR_EINVAL);
    tr_json_init(&w, &b);
    assert_int_equal(tr_json_double(&w, -INFINITY), TR_EINVAL);

    /* a key whose value never came */
    tr_json_init(&w, &b);
    tr_json_object_begin(&w);
    tr_json_key(&w, "k");
    assert_int_equal(tr_json_object_end(&w), TR_EINVAL);

    /* two top-level values */
    tr_json_init(&w, &b);
    tr_json_int(&w, 1);
    assert_int_equal(tr_json_int(&w, 2), TR_EINVAL);

    /* nesting limit */
    tr_json_init(&w, &b);
    for (int i = 0; i < TR_JSON_MAX_DEPTH; i++) {
        assert_int_equal(tr_json_array_begin(&w), TR_OK);
    }
    assert_int_equal(tr_json_array_begin(&w), TR_EINVAL);
    tr_buf_fini(&b);
}

static void
test_string_escaping(void **state)
{
    check_string("plain", 5, "\"plain\"");
    check_string("", 0, "\"\"");
    check_string("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    check_string("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    check_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    /* NUL in the middle is data, not a terminator */
    check_string("a\0b", 3, "\"a\\u0000b\"");
    /* valid UTF-8: 2, 3 and 4 byte sequences pass through */
    check_string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9,
                 "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"");
    /* invalid bytes become U+FFFD, one per bad byte */
    check_string("a\xFF"
                 "b",
                 3,
                 "\"a\xEF\xBF\xBD"
                 "b\"");
    check_string("\xC3", 1, "\"\xEF\xBF\xBD\""); /* truncated */
    check_string("\xC0\xAF", 2,                  /* overlong */
                 "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    check_string("\xED\xA0\x80", 3, /* surrogate */
                 "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    check_string("\xF4\x90\x80\x80", 4, /* above U+10FFFF */
                 "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    check_string("\xE2\x82"
                 "x",
                 3, "\"\xEF\xBF\xBD\xEF\xBF\xBDx\"");

    /* keys are escaped the same way */
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    tr_json_object_begin(&w);
    tr_json_key(&w, "q\"");
    tr_json_string(&w, "v");
    tr_json_key_len(&w, "k2xx", 2);
    tr_json_string_len(&w, "abc", 1);
    tr_json_object_end(&w);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_string_equal(b.data, "{\"q\\\"\":\"v\",\"k2\":\"a\"}");
    tr_buf_fini(&b);
}

static void
check_double(double v, const char *want)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    assert_int_equal(tr_json_double(&w, v), TR_OK);
    assert_string_equal(b.data, want);
    /* and it must parse back to the same double */
    assert_true(strtod(b.data, NULL) == v);
    tr_buf_fini(&b);
}

static void
test_double_shortest(void **state)
{
    check_double(0, "0");
    check_double(-0.0, "-0");
    check_double(1, "1");
    check_double(-2.5, "-2.5");
    check_double(0.1, "0.1");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1.0 / 3, "0.3333333333333333");
    check_double(123456789, "123456789");
    check_double(1e20, "100000000000000000000");
    check_double(1e21, "1e+21");
    check_double(1.5e300, "1.5e+300");
    check_double(0.000001, "0.000001");
    check_double(1e-7, "1e-7");
    check_double(5e-324, "5e-324");
    check_double(1.7976931348623157e308, "1.7976931348623157e+308");
    check_double(9007199254740993.0, "9007199254740992");

    /* Random doubles always round-trip. */
    srand(42);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^
                        (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v)) {
            continue;
        }
        char out[TR_JSON_FLOAT_MAX];
        tr_json_format_float(v, 'g', out, sizeof(out));
        assert_true(strtod(out, NULL) == v);
        tr_json_format_float(v, 'e', out, sizeof(out));
        assert_true(strtod(out, NULL) == v);
    }
}

/*
 * Reference for Go's shortest formatting, by brute force: the fewest
 * significant digits that parse back to v, the closest such number to v.
 * At each length the correctly rounded number is the closest; at a power
 * of two its neighbours can read back when it does not.
 */
static void
go_shortest(double v, uint64_t *digits, int *exp10)
{
    for (int prec = 1; prec <= 17; prec++) {
        char b[64];
        snprintf(b, sizeof(b), "%.*e", prec - 1, v);
        uint64_t c = 0;
        const char *s = b;
        for (; *s != 'e'; s++) {
            if (*s != '.') {
                c = c * 10 + (uint64_t)(*s - '0');
            }
        }
        int e = atoi(s + 1) - (prec - 1);
        uint64_t cands[3] = {c, c - 1, c + 1};
        for (int k = 0; k < 3; k++) {
            char t[64];
            snprintf(t, sizeof(t), "%llue%d", (unsigned long long)cands[k], e);
            if (cands[k] > 0 && strtod(t, NULL) == v) {
                *digits = cands[k];
                *exp10 = e;
                while (*digits % 10 == 0) {
                    *digits /= 10;
                    (*exp10)++;
                }
                return;
            }
        }
    }
    print_error("no shortest form found for %.17g\n", v);
    fail();
}

static void
check_go_shortest(double v)
{
    if (v == 0) {
        return; /* the neighbour below the smallest subnormal */
    }
    char out[TR_JSON_FLOAT_MAX];
    tr_json_format_float(v, 'e', out, sizeof(out));
    uint64_t c = 0, want;
    int nd = 0, want_exp;
    const char *s = out;
    for (; *s != 'e'; s++) {
        if (*s != '.') {
            c = c * 10 + (uint64_t)(*s - '0');
            nd++;
        }
    }
    go_shortest(v, &want, &want_exp);
    if (c != want || atoi(s + 1) - (nd - 1) != want_exp) {
        print_error("%.17g: got %s, want %llue%d\n", v, out,
                    (unsigned long long)want, want_exp);
        fail();
    }
}

static void
test_double_matches_go_shortest(void **state)
{
    /* Powers of two (the bounds are uneven there) and their neighbours
     * across the whole range, inside and outside the fast path. */
    for (int e = -1074; e < 1024; e += 3) {
        check_go_shortest(ldexp(1, e));
        check_go_shortest(nextafter(ldexp(1, e), 0));
        check_go_shortest(nextafter(ldexp(1, e), INFINITY));
    }
    check_double(ldexp(1, -24), "5.960464477539063e-8");
    check_double(ldexp(1, 130), "1.361129467683754e+39");
    /* Decimals like exporters write, counters, rates. */
    for (int i = 1; i < 3000; i++) {
        check_go_shortest(i / 100.0);
        check_go_shortest(i * 1.1);
        check_go_shortest(1e6 + i / 1000.0);
        check_go_shortest(i / 3.0 / 60);
    }
    /* Random doubles, half of them in the range of everyday values. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^
                        (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (i % 2 == 1) {
            v = ldexp(1.0 + (double)rand() / RAND_MAX, rand() % 160 - 14);
        }
        if (isfinite(v) && v != 0) {
            check_go_shortest(fabs(v));
        }
    }
}

static void
check_prom(double v, const char *want)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    assert_int_equal(tr_json_prom_value(&w, v), TR_OK);
    assert_string_equal(b.data, want);
    tr_buf_fini(&b);
}

static void
test_prom_value(void **state)
{
    check_prom(2, "\"2\"");
    check_prom(0, "\"0\"");
    check_prom(-0.0, "\"-0\"");
    check_prom(0.1, "\"0.1\"");
    check_prom(NAN, "\"NaN\"");
    check_prom(INFINITY, "\"+Inf\"");
    check_prom(-INFINITY, "\"-Inf\"");
    check_prom(1e20, "\"100000000000000000000\"");
    check_prom(1e21, "\"1e+21\"");
    check_prom(-1.25e22, "\"-1.25e+22\"");
    check_prom(0.000001, "\"0.000001\"");
    check_prom(1e-7, "\"1e-07\"");
    check_prom(1.5e-10, "\"1.5e-10\"");
    check_prom(1700000000.123, "\"1700000000.123\"");
}

static void
test_format_float_go(void **state)
{
    char out[TR_JSON_FLOAT_MAX];
    struct {
        double v;
        char fmt;
        const char *want;
    } cases[] = {
        {1, 'g', "1"},           {100000, 'g', "100000"},
        {1e6, 'g', "1e+06"},     {123456789, 'g', "1.23456789e+08"},
        {0.0001, 'g', "0.0001"}, {0.00001, 'g', "1e-05"},
        {0.005, 'g', "0.005"},   {2.5, 'g', "2.5"},
        {-3, 'g', "-3"},         {NAN, 'g', "NaN"},
        {INFINITY, 'g', "+Inf"}, {-INFINITY, 'e', "-Inf"},
        {1, 'e', "1e+00"},       {1234.5, 'e', "1.2345e+03"},
        {1234.5, 'f', "1234.5"}, {0.25, 'f', "0.25"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n =
            tr_json_format_float(cases[i].v, cases[i].fmt, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* too small a buffer: truncated but the full length is reported */
    char small[4];
    assert_int_equal(tr_json_format_float(1e10, 'f', small, sizeof(small)), 11);
    assert_string_equal(small, "100");
}

static void
test_unix_ms(void **state)
{
    const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {4000, "4"},       {1700000000123, "1700000000.123"},
        {1500, "1.500"},   {1005, "1.005"},
        {-1500, "-1.500"}, {0, "0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tr_buf b = TR_BUF_INIT;
        struct tr_json w;
        tr_json_init(&w, &b);
        assert_int_equal(tr_json_unix_ms(&w, cases[i].ms), TR_OK);
        assert_string_equal(b.data, cases[i].want);
        tr_buf_fini(&b);
    }
}

static void
test_large_document(void **state)
{
    /* Many elements: buffer growth and comma placement stay right. */
    struct tr_buf b = TR_BUF_INIT;
    struct tr_json w;
    tr_json_init(&w, &b);
    tr_json_array_begin(&w);
    for (int i = 0; i < 10000; i++) {
        tr_json_array_begin(&w);
        tr_json_unix_ms(&w, (int64_t)i * 1000);
        tr_json_prom_value(&w, i * 0.5);
        tr_json_array_end(&w);
    }
    tr_json_array_end(&w);
    assert_int_equal(tr_json_finish(&w), TR_OK);
    assert_memory_equal(b.data, "[[0,\"0\"],[1,\"0.5\"],[2,\"1\"],", 27);
    assert_memory_equal(b.data + b.len - 16, "[9999,\"4999.5\"]]", 16);
    tr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_commas),
        cmocka_unit_test(test_misuse_is_sticky_einval),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_double_shortest),
        cmocka_unit_test(test_double_matches_go_shortest),
        cmocka_unit_test(test_prom_value),
        cmocka_unit_test(test_format_float_go),
        cmocka_unit_test(test_unix_ms),
        cmocka_unit_test(test_large_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
