/* Unit tests for lib/tsdb/labels: building, encoding, hashing, text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/labels.h"

static struct tr_labels *
make(const char *const *kv, size_t n_pairs)
{
    struct tr_labels *ls = NULL;
    struct tr_err err;
    tr_err_clear(&err);
    int rc = tr_labels_from_strings(kv, n_pairs, &ls, &err);
    if (rc != TR_OK) {
        fail_msg("%s", err.msg);
    }
    return ls;
}

static char *
format(const struct tr_labels *ls)
{
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_labels_format(ls, &b), TR_OK);
    assert_int_equal(tr_buf_append_byte(&b, '\0'), TR_OK);
    size_t len;
    return tr_buf_detach(&b, &len);
}

static void
test_build_sorts_and_drops_empty(void **state)
{
    const char *kv[] = {"job", "api", "__name__", "up", "zone", "",
                        "instance", "h:1"};
    struct tr_labels *ls = make(kv, 4);
    assert_int_equal(tr_labels_count(ls), 3);
    char *s = format(ls);
    assert_string_equal(s, "{__name__=\"up\", instance=\"h:1\", job=\"api\"}");
    tr_free(s);

    const char *v;
    size_t vlen;
    assert_true(tr_labels_get(ls, "job", 3, &v, &vlen));
    assert_int_equal(vlen, 3);
    assert_memory_equal(v, "api", 3);
    assert_false(tr_labels_get(ls, "zone", 4, NULL, NULL));
    assert_false(tr_labels_get(ls, "jo", 2, NULL, NULL));
    assert_false(tr_labels_get(ls, "zzz", 3, NULL, NULL));

    /* Iteration order is name order. */
    struct tr_labels_iter it;
    struct tr_label l;
    tr_labels_iter_init(&it, ls);
    assert_true(tr_labels_iter_next(&it, &l));
    assert_memory_equal(l.name, "__name__", 8);
    assert_true(tr_labels_iter_next(&it, &l));
    assert_memory_equal(l.name, "instance", 8);
    assert_true(tr_labels_iter_next(&it, &l));
    assert_memory_equal(l.name, "job", 3);
    assert_false(tr_labels_iter_next(&it, &l));
    tr_labels_destroy(ls);

    /* Empty set. */
    ls = make(NULL, 0);
    assert_int_equal(tr_labels_count(ls), 0);
    s = format(ls);
    assert_string_equal(s, "{}");
    tr_free(s);
    tr_labels_destroy(ls);
}

static void
test_build_errors(void **state)
{
    struct tr_labels *ls = (struct tr_labels *)1;
    struct tr_err err;
    const char *dup[] = {"a", "1", "b", "2", "a", "3"};
    assert_int_equal(tr_labels_from_strings(dup, 3, &ls, &err), TR_EINVAL);
    assert_null(ls);
    assert_string_equal(err.msg,
                        "cannot build label set: duplicate label name \"a\"");
    const char *empty[] = {"", "x"};
    assert_int_equal(tr_labels_from_strings(empty, 1, &ls, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot build label set: empty label name");
    /* A duplicate whose second value is empty is just a drop. */
    const char *dup_empty[] = {"a", "1", "a", ""};
    assert_int_equal(tr_labels_from_strings(dup_empty, 2, &ls, &err), TR_OK);
    tr_labels_destroy(ls);

    /* More pairs than fit on the stack. */
    char names[40][8];
    const char *many[80];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "l%02d", 39 - i);
        many[2 * i] = names[i];
        many[2 * i + 1] = "v";
    }
    assert_int_equal(tr_labels_from_strings(many, 40, &ls, &err), TR_OK);
    assert_int_equal(tr_labels_count(ls), 40);
    tr_labels_destroy(ls);
    many[2] = "l39";
    assert_int_equal(tr_labels_from_strings(many, 40, &ls, &err), TR_EINVAL);
}

static void
test_compare_equal_hash(void **state)
{
    const char *a_kv[] = {"a", "1", "b", "2"};
    const char *b_kv[] = {"b", "2", "a", "1"};
    const char *c_kv[] = {"a", "1", "b", "3"};
    const char *d_kv[] = {"a", "1"};
    const char *e_kv[] = {"a", "10"};
    struct tr_labels *a = make(a_kv, 2), *b = make(b_kv, 2);
    struct tr_labels *c = make(c_kv, 2), *d = make(d_kv, 1);
    struct tr_labels *e = make(e_kv, 1);

    assert_true(tr_labels_equal(a, b));
    assert_int_equal(tr_labels_compare(a, b), 0);
    assert_int_equal(tr_labels_hash(a), tr_labels_hash(b));
    assert_false(tr_labels_equal(a, c));
    assert_true(tr_labels_compare(a, c) < 0);
    assert_true(tr_labels_compare(c, a) > 0);
    assert_true(tr_labels_compare(d, a) < 0); /* prefix sorts first */
    assert_true(tr_labels_compare(d, e) < 0); /* "1" < "10" */
    assert_true(tr_labels_compare(e, a) > 0); /* a="10" > a="1",... */
    assert_int_not_equal(tr_labels_hash(a), tr_labels_hash(c));
    assert_int_not_equal(tr_labels_hash(a), tr_labels_hash_seeded(a, 7));

    /* The encoding and hash are frozen: pin them. */
    size_t len;
    const unsigned char *enc = tr_labels_encoded(a, &len);
    static const unsigned char want[] = {1, 'a', 1, '1', 1, 'b', 1, '2'};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(enc, want, sizeof(want));
    assert_int_equal(tr_labels_hash(a), XXH3_64bits(want, sizeof(want)));
    const char *up_kv[] = {"__name__", "up", "job", "api"};
    struct tr_labels *up = make(up_kv, 2);
    assert_int_equal(tr_labels_hash(up), UINT64_C(0x455e9d47d8480df4));
    tr_labels_destroy(up);

    struct tr_labels *copy = tr_labels_dup(c);
    assert_true(tr_labels_equal(copy, c));
    assert_int_equal(tr_labels_memory(copy), tr_labels_memory(c));
    tr_labels_destroy(copy);

    tr_labels_destroy(a);
    tr_labels_destroy(b);
    tr_labels_destroy(c);
    tr_labels_destroy(d);
    tr_labels_destroy(e);
}

static void
test_decode_validates(void **state)
{
    struct tr_labels *ls = NULL;
    struct tr_err err;
    static const unsigned char ok[] = {1, 'a', 1, '1', 1, 'b', 1, '2'};
    assert_int_equal(tr_labels_decode(ok, sizeof(ok), &ls, &err), TR_OK);
    assert_int_equal(tr_labels_count(ls), 2);
    tr_labels_destroy(ls);
    assert_int_equal(tr_labels_decode(ok, 0, &ls, &err), TR_OK);
    assert_int_equal(tr_labels_count(ls), 0);
    tr_labels_destroy(ls);

    static const unsigned char unsorted[] = {1, 'b', 1, '1', 1, 'a', 1, '2'};
    static const unsigned char dup[] = {1, 'a', 1, '1', 1, 'a', 1, '2'};
    static const unsigned char empty_value[] = {1, 'a', 0};
    static const unsigned char empty_name[] = {0, 1, 'x'};
    static const unsigned char truncated[] = {1, 'a', 5, '1'};
    static const unsigned char bad_varint[] = {0x80, 0x80};
    assert_int_equal(tr_labels_decode(unsorted, 8, &ls, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "not strictly increasing"));
    assert_int_equal(tr_labels_decode(dup, 8, &ls, &err), TR_EINVAL);
    assert_int_equal(tr_labels_decode(empty_value, 3, &ls, &err), TR_EINVAL);
    assert_int_equal(tr_labels_decode(empty_name, 3, &ls, &err), TR_EINVAL);
    assert_int_equal(tr_labels_decode(truncated, 4, &ls, &err), TR_EINVAL);
    assert_string_equal(err.msg,
                        "cannot decode label set: bad value length at byte 2");
    assert_int_equal(tr_labels_decode(bad_varint, 2, &ls, &err), TR_EINVAL);
    assert_null(ls);
}

static void
test_format_escapes(void **state)
{
    const char *kv[] = {"a", "q\"b\\s\nn\tt\rr", "b", "\x01\x7f",
                        "c", "h\xc3\xa9 \xe2\x82\xac", "d", "bad\xff\xc3",
                        "my.name", "x"};
    struct tr_labels *ls = make(kv, 5);
    char *s = format(ls);
    assert_string_equal(s, "{a=\"q\\\"b\\\\s\\nn\\tt\\rr\", b=\"\\x01\\x7f\", "
                           "c=\"h\xc3\xa9 \xe2\x82\xac\", "
                           "d=\"bad\\xff\\xc3\", \"my.name\"=\"x\"}");
    struct tr_labels *back = NULL;
    struct tr_err err;
    assert_int_equal(tr_labels_parse(s, strlen(s), &back, &err), TR_OK);
    assert_true(tr_labels_equal(ls, back));
    tr_free(s);
    tr_labels_destroy(back);
    tr_labels_destroy(ls);
}

static void
check_parse(const char *text, const char *want)
{
    struct tr_labels *ls = NULL;
    struct tr_err err;
    tr_err_clear(&err);
    if (tr_labels_parse(text, strlen(text), &ls, &err) != TR_OK) {
        fail_msg("parse %s: %s", text, err.msg);
    }
    char *s = format(ls);
    if (strcmp(s, want) != 0) {
        fail_msg("parse %s: got %s want %s", text, s, want);
    }
    tr_free(s);
    tr_labels_destroy(ls);
}

static void
test_parse_forms(void **state)
{
    check_parse("{}", "{}");
    check_parse("  { }  ", "{}");
    check_parse("{job=\"api\",__name__=\"up\"}",
                "{__name__=\"up\", job=\"api\"}");
    check_parse("up{job=\"api\"}", "{__name__=\"up\", job=\"api\"}");
    check_parse("ns:rule_x { job = 'a' , }", "{__name__=\"ns:rule_x\", job=\"a\"}");
    check_parse("{a=`raw\\n\"x`}", "{a=\"raw\\\\n\\\"x\"}");
    check_parse("{a=\"\\a\\b\\f\\v\\'\\\"\"}", "{a=\"\\x07\\x08\\x0c\\x0b'\\\"\"}");
    check_parse("{a='\\'\\x41\\101\\u00e9\\U0001F600'}",
                "{a=\"'AA\xc3\xa9\xf0\x9f\x98\x80\"}");
    check_parse("{\"my.metric\", \"service.name\"=\"x\"}",
                "{__name__=\"my.metric\", \"service.name\"=\"x\"}");
    check_parse("{a=\"\", b=\"1\"}", "{b=\"1\"}");
    check_parse("{a=\"x\\x00y\"}", "{a=\"x\\x00y\"}");
}

static void
check_parse_error(const char *text, const char *want_msg)
{
    struct tr_labels *ls = (struct tr_labels *)1;
    struct tr_err err;
    tr_err_clear(&err);
    int rc = tr_labels_parse(text, strlen(text), &ls, &err);
    if (rc != TR_EINVAL || ls != NULL) {
        fail_msg("parse %s: want error, got rc %d", text, rc);
    }
    if (strcmp(err.msg, want_msg) != 0) {
        fail_msg("parse %s: got message \"%s\" want \"%s\"", text, err.msg,
                 want_msg);
    }
}

static void
test_parse_errors(void **state)
{
    check_parse_error("", "cannot parse labels: expected '{' at offset 0");
    check_parse_error("job=\"x\"",
                      "cannot parse labels: expected '{' at offset 3");
    check_parse_error("{a=\"x\"",
                      "cannot parse labels: expected ',' or '}' at offset 6");
    check_parse_error("{a=\"x\" b=\"y\"}",
                      "cannot parse labels: expected ',' or '}' at offset 7");
    check_parse_error("{a=\"x}", "cannot parse labels: unterminated quoted "
                                 "string at offset 3");
    check_parse_error("{a=\"x\\q\"}", "cannot parse labels: unknown escape "
                                      "sequence \\q at offset 5");
    check_parse_error("{a=\"\\x4\"}", "cannot parse labels: escape \\x needs "
                                      "2 hex digits at offset 4");
    check_parse_error("{a=\"\\ud800\"}", "cannot parse labels: escape is not "
                                         "a valid Unicode code point at "
                                         "offset 4");
    check_parse_error("{a=\"\\400\"}", "cannot parse labels: octal escape "
                                       "value above 255 at offset 4");
    check_parse_error("{a=\"\\12\"}", "cannot parse labels: octal escape "
                                      "needs 3 digits at offset 4");
    check_parse_error("{a=\"x\ny\"}", "cannot parse labels: newline in "
                                      "quoted string at offset 3");
    check_parse_error("{a!=\"x\"}", "cannot parse labels: expected '=' after "
                                    "label name at offset 2");
    check_parse_error("{a=~\"x\"}", "cannot parse labels: expected '=', a "
                                    "label set takes no matchers at offset 2");
    check_parse_error("{a=x}", "cannot parse labels: expected quoted label "
                               "value at offset 3");
    check_parse_error("{1a=\"x\"}", "cannot parse labels: expected label "
                                    "name at offset 1");
    check_parse_error("{a=\"1\",a=\"2\"}",
                      "cannot parse labels: cannot build label set: "
                      "duplicate label name \"a\"");
    check_parse_error("up{__name__=\"x\"}",
                      "cannot parse labels: cannot build label set: "
                      "duplicate label name \"__name__\"");
    check_parse_error("{\"\"=\"x\"}", "cannot parse labels: empty label name "
                                      "at offset 1");
    check_parse_error("{a=\"x\"} y", "cannot parse labels: unexpected text "
                                     "after '}' at offset 8");
}

/* Random label sets with arbitrary bytes survive format -> parse. */
static void
test_random_round_trip(void **state)
{
    srand(12345);
    for (int round = 0; round < 2000; round++) {
        struct tr_labels_builder b;
        tr_labels_builder_init(&b);
        int n = rand() % 6;
        for (int i = 0; i < n; i++) {
            char name[16], value[24];
            size_t nlen = 1 + (size_t)(rand() % 10);
            size_t vlen = (size_t)(rand() % 20);
            for (size_t k = 0; k < nlen; k++) {
                /* Some names need quoting. */
                name[k] = (char)(rand() % 4 == 0 ? 32 + rand() % 95
                                                 : 'a' + rand() % 3);
            }
            for (size_t k = 0; k < vlen; k++) {
                value[k] = (char)(rand() % 256);
            }
            assert_int_equal(tr_labels_builder_set(&b, name, nlen, value,
                                                   vlen),
                             TR_OK);
        }
        struct tr_labels *ls = NULL, *back = NULL, *dec = NULL;
        struct tr_err err;
        assert_int_equal(tr_labels_builder_build(&b, &ls, &err), TR_OK);
        char *s = format(ls);
        if (tr_labels_parse(s, strlen(s), &back, &err) != TR_OK) {
            fail_msg("parse %s: %s", s, err.msg);
        }
        assert_true(tr_labels_equal(ls, back));
        assert_int_equal(tr_labels_hash(ls), tr_labels_hash(back));
        size_t len;
        const void *enc = tr_labels_encoded(ls, &len);
        assert_int_equal(tr_labels_decode(enc, len, &dec, &err), TR_OK);
        assert_true(tr_labels_equal(ls, dec));
        tr_free(s);
        tr_labels_destroy(ls);
        tr_labels_destroy(back);
        tr_labels_destroy(dec);
        tr_labels_builder_fini(&b);
    }
}

static void
test_builder(void **state)
{
    const char *kv[] = {"__name__", "up", "job", "api", "instance", "h"};
    struct tr_labels *base = make(kv, 3);
    struct tr_labels_builder b;
    struct tr_labels *ls = NULL;
    struct tr_err err;
    tr_labels_builder_init(&b);
    assert_int_equal(tr_labels_builder_add_all(&b, base), TR_OK);
    tr_labels_builder_del(&b, "__name__", 8);
    assert_int_equal(tr_labels_builder_set(&b, "job", 3, "web", 3), TR_OK);
    assert_int_equal(tr_labels_builder_set(&b, "instance", 8, "", 0), TR_OK);
    assert_int_equal(tr_labels_builder_add(&b, "zone", 4, "eu", 2), TR_OK);
    assert_int_equal(tr_labels_builder_build(&b, &ls, &err), TR_OK);
    char *s = format(ls);
    assert_string_equal(s, "{job=\"web\", zone=\"eu\"}");
    tr_free(s);
    tr_labels_destroy(ls);
    assert_int_equal(tr_labels_builder_add(&b, "zone", 4, "us", 2), TR_OK);
    assert_int_equal(tr_labels_builder_build(&b, &ls, &err), TR_EINVAL);
    tr_labels_builder_reset(&b);
    assert_int_equal(tr_labels_builder_build(&b, &ls, &err), TR_OK);
    assert_int_equal(tr_labels_count(ls), 0);
    tr_labels_destroy(ls);
    tr_labels_builder_fini(&b);
    tr_labels_destroy(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_sorts_and_drops_empty),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_compare_equal_hash),
        cmocka_unit_test(test_decode_validates),
        cmocka_unit_test(test_format_escapes),
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
