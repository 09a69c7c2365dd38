/* Retention: blocks that ended before the cutoff are deleted, for every
 * tenant; newer blocks and stray objects are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "objstore/objstore.h"
#include "retention.h"
#include "tsdb/block.h"
#include "tsdb/labels.h"

#define HOUR_MS (3600 * INT64_C(1000))

static struct tr_objstore *
make_store(char *dir)
{
    assert_non_null(mkdtemp(dir));
    struct tr_objstore_options opts = {.backend = "filesystem",
                                       .fs_root = dir};
    struct tr_objstore *os = tr_objstore_create(&opts, NULL);
    assert_non_null(os);
    return os;
}

/* Uploads a one-series block of tenant covering [mint, mint + 2h). */
static void
put_block(struct tr_objstore *os, const char *tenant, int64_t mint)
{
    struct tr_err err = {0};
    struct tr_block_options opts = {
        .tenant = tenant, .mint = mint, .maxt = mint + 2 * HOUR_MS};
    struct tr_block_builder *b = tr_block_builder_create(&opts, &err);
    assert_non_null(b);
    struct tr_labels *ls = NULL;
    const char *kv[] = {"__name__", "up", "job", "x"};
    assert_int_equal(tr_labels_from_strings(kv, 2, &ls, &err), TR_OK);
    int64_t t[2] = {mint, mint + 15000};
    double v[2] = {1, 1};
    assert_int_equal(tr_block_builder_add(b, ls, t, v, 2, &err), TR_OK);
    struct tr_block_files files = {0};
    assert_int_equal(tr_block_builder_finish(b, &files, &err), TR_OK);
    assert_int_equal(tr_block_upload(os, &files, &err), TR_OK);
    tr_block_files_fini(&files);
    tr_block_builder_destroy(b);
    tr_labels_destroy(ls);
}

static size_t
count_blocks(struct tr_objstore *os, const char *tenant)
{
    struct tr_block_id_list ids = {0};
    assert_int_equal(tr_block_list(os, tenant, &ids, NULL), TR_OK);
    size_t n = ids.len;
    tr_block_id_list_fini(&ids);
    return n;
}

static void
test_deletes_only_expired_blocks(void **state)
{
    char dir[] = "/tmp/tr-retention-XXXXXX";
    struct tr_objstore *os = make_store(dir);
    int64_t now = 1000 * HOUR_MS;
    put_block(os, "a", now - 30 * HOUR_MS); /* ends 28h ago: expired */
    put_block(os, "a", now - 10 * HOUR_MS); /* ends 8h ago: kept */
    put_block(os, "b", now - 26 * HOUR_MS); /* ends exactly 24h ago */
    put_block(os, "b", now - 1 * HOUR_MS);
    assert_int_equal(tr_objstore_put(os, "stray-object", "x", 1, NULL), TR_OK);

    size_t deleted = 0;
    struct tr_err err = {0};
    assert_int_equal(compactor_apply_retention(os, 24 * HOUR_MS, now, NULL,
                                               NULL, &deleted, &err),
                     TR_OK);
    assert_int_equal(deleted, 2);
    assert_int_equal(count_blocks(os, "a"), 1);
    assert_int_equal(count_blocks(os, "b"), 1);
    bool exists = false;
    tr_objstore_exists(os, "stray-object", &exists, NULL);
    assert_true(exists);

    /* A second run finds nothing more to do. */
    assert_int_equal(compactor_apply_retention(os, 24 * HOUR_MS, now, NULL,
                                               NULL, &deleted, &err),
                     TR_OK);
    assert_int_equal(deleted, 0);
    tr_objstore_destroy(os);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deletes_only_expired_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
