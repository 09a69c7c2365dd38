/* Tests for lib/tenant: X-Scope-OrgID rules as Loki/Mimir/Tempo apply them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "tenant/tenant.h"

static void
test_auth_disabled_uses_default(void **state)
{
    char out[TR_TENANT_MAX + 1];
    struct tr_err err;
    /* A header still names the tenant; only its absence means the default,
     * so pushes and queries with the same header meet. */
    assert_int_equal(
        tr_tenant_resolve("other", false, "anonymous", out, sizeof(out), &err),
        TR_OK);
    assert_string_equal(out, "other");
    assert_int_equal(
        tr_tenant_resolve("a|b", false, "anonymous", out, sizeof(out), &err),
        TR_EINVAL);
    assert_int_equal(
        tr_tenant_resolve("a/b", false, "anonymous", out, sizeof(out), &err),
        TR_EINVAL);
    assert_int_equal(
        tr_tenant_resolve(NULL, false, "fake", out, sizeof(out), &err), TR_OK);
    assert_string_equal(out, "fake");
}

static void
test_auth_enabled(void **state)
{
    char out[TR_TENANT_MAX + 1];
    struct tr_err err;
    assert_int_equal(
        tr_tenant_resolve(NULL, true, "anonymous", out, sizeof(out), &err),
        TR_EDENIED);
    assert_string_equal(err.msg, "no org id");
    assert_int_equal(
        tr_tenant_resolve("", true, "anonymous", out, sizeof(out), &err),
        TR_EDENIED);
    assert_int_equal(tr_tenant_resolve("team-a_1.(x)*!'", true, "anonymous",
                                       out, sizeof(out), &err),
                     TR_OK);
    assert_string_equal(out, "team-a_1.(x)*!'");
    assert_int_equal(
        tr_tenant_resolve("a|a", true, "anonymous", out, sizeof(out), &err),
        TR_OK);
    assert_string_equal(out, "a");
    assert_int_equal(
        tr_tenant_resolve("a|b", true, "anonymous", out, sizeof(out), &err),
        TR_EINVAL);
    assert_string_equal(err.msg, "multiple org IDs present");
    assert_int_equal(
        tr_tenant_resolve("a|", true, "anonymous", out, sizeof(out), &err),
        TR_EINVAL);
}

static void
test_invalid_ids(void **state)
{
    struct tr_err err;
    assert_int_equal(tr_tenant_validate("a/b", 3, &err), TR_EINVAL);
    assert_string_equal(err.msg,
                        "tenant ID 'a/b' contains unsupported character '/'");
    assert_int_equal(tr_tenant_validate("t\xc3\xa9", 3, &err), TR_EINVAL);
    assert_string_equal(err.msg,
                        "tenant ID 't\xc3\xa9' contains unsupported character "
                        "'\xc3\xa9'");
    assert_int_equal(tr_tenant_validate(".", 1, &err), TR_EINVAL);
    assert_string_equal(err.msg, "tenant ID is '.' or '..'");
    assert_int_equal(tr_tenant_validate("..", 2, &err), TR_EINVAL);
    assert_int_equal(tr_tenant_validate("...", 3, &err), TR_OK);
    char long_id[TR_TENANT_MAX + 2];
    memset(long_id, 'a', sizeof(long_id));
    assert_int_equal(tr_tenant_validate(long_id, TR_TENANT_MAX, &err), TR_OK);
    assert_int_equal(tr_tenant_validate(long_id, TR_TENANT_MAX + 1, &err),
                     TR_EINVAL);
    assert_string_equal(err.msg, "tenant ID is too long: max 150 characters");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_disabled_uses_default),
        cmocka_unit_test(test_auth_enabled),
        cmocka_unit_test(test_invalid_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
