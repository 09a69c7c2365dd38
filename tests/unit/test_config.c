/* Unit tests for lib/config: defaults, YAML, flags, round trip, docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "config/config.h"

static void
test_defaults(void **state)
{
    struct tr_config cfg;
    assert_int_equal(tr_config_init(&cfg, NULL), TR_OK);
    assert_string_equal(cfg.target, "all");
    assert_int_equal(cfg.server.http_listen_port, 3100);
    assert_true(cfg.server.shutdown_timeout_ns == 30 * TR_NS_PER_SEC);
    assert_int_equal(cfg.ingester_client.addresses.count, 0);
    assert_int_equal(tr_config_validate(&cfg, NULL), TR_OK);
    assert_string_equal(cfg.ingester.wal_dir, "data/wal");
    assert_string_equal(cfg.storage.filesystem_dir, "data/objects");
    tr_config_fini(&cfg);
}

static void
load_ok(struct tr_config *cfg, const char *yaml)
{
    struct tr_err err = {0};
    int rc = tr_config_load_yaml(cfg, yaml, strlen(yaml), "t.yaml", &err);
    if (rc != TR_OK) {
        fail_msg("unexpected error: %s", err.msg);
    }
}

static void
load_fails(const char *yaml, const char *want)
{
    struct tr_config cfg;
    struct tr_err err = {0};
    tr_config_init(&cfg, NULL);
    assert_int_equal(
        tr_config_load_yaml(&cfg, yaml, strlen(yaml), "t.yaml", &err),
        TR_EINVAL);
    if (strstr(err.msg, want) == NULL) {
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
    }
    tr_config_fini(&cfg);
}

static void
test_yaml(void **state)
{
    struct tr_config cfg;
    tr_config_init(&cfg, NULL);
    load_ok(&cfg, "target: write\n"
                  "server:\n  http_listen_port: 3200\n  log_level: debug\n"
                  "storage:\n  s3:\n    bucket: b1\n"
                  "ingester_client:\n"
                  "  addresses: [\"tcp://a:1\", tcp://b:2]\n"
                  "ingester:\n  wal_sync_interval: 250ms\n");
    assert_string_equal(cfg.target, "write");
    assert_int_equal(cfg.server.http_listen_port, 3200);
    assert_string_equal(cfg.server.log_level, "debug");
    assert_string_equal(cfg.storage.s3_bucket, "b1");
    assert_int_equal(cfg.ingester_client.addresses.count, 2);
    assert_string_equal(cfg.ingester_client.addresses.items[1], "tcp://b:2");
    assert_true(cfg.ingester.wal_sync_interval_ns == 250 * TR_NS_PER_MS);
    load_ok(&cfg, "");        /* empty file changes nothing */
    load_ok(&cfg, "server:\n"); /* empty section */
    assert_int_equal(cfg.server.http_listen_port, 3200);
    tr_config_fini(&cfg);

    load_fails("server:\n  http_listen_prot: 1\n",
               "line 2: unknown key server.http_listen_prot");
    load_fails("nope: 1\n", "unknown key nope");
    load_fails("server:\n  http_listen_port: abc\n",
               "invalid value \"abc\" for server.http_listen_port");
    load_fails("server:\n  log_level: loud\n", "must be one of");
    load_fails("server: 5\n", "unknown key server");
    load_fails("server:\n  http_listen_port:\n    x: 1\n",
               "expected a value for server.http_listen_port");
    load_fails("auth:\n  enabled: maybe\n", "expected true or false");
    load_fails("server: [\n", "t.yaml");
}

static void
test_flags(void **state)
{
    struct tr_config cfg;
    struct tr_err err = {0};
    tr_config_init(&cfg, NULL);
    assert_int_equal(
        tr_config_set(&cfg, "server.http-listen-port", "9999", &err), TR_OK);
    assert_int_equal(cfg.server.http_listen_port, 9999);
    assert_int_equal(tr_config_set(&cfg, "ingester-client.addresses",
                                   "tcp://x:1,tcp://y:2", &err),
                     TR_OK);
    assert_int_equal(cfg.ingester_client.addresses.count, 2);
    assert_int_equal(tr_config_set(&cfg, "server.nope", "1", &err),
                     TR_EINVAL);
    assert_non_null(strstr(err.msg, "unknown option server.nope"));
    assert_int_equal(
        tr_config_set(&cfg, "server.http-listen-port", "99999", &err), TR_OK);
    assert_int_equal(tr_config_validate(&cfg, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "server.http_listen_port"));
    tr_config_fini(&cfg);
}

static void
test_print_config_round_trip(void **state)
{
    struct tr_config a, b;
    struct tr_buf y1 = TR_BUF_INIT, y2 = TR_BUF_INIT;
    tr_config_init(&a, NULL);
    tr_config_set(&a, "target", "ingester,distributor", NULL);
    tr_config_set(&a, "storage.s3.secret_access_key", "we\"ird\\key", NULL);
    tr_config_set(&a, "ingester_client.addresses", "tcp://h:1,tcp://h:2",
                  NULL);
    tr_config_set(&a, "server.shutdown_timeout", "90s", NULL);
    tr_config_validate(&a, NULL);
    assert_int_equal(tr_config_write_yaml(&a, &y1, false), TR_OK);

    tr_config_init(&b, NULL);
    load_ok(&b, y1.data);
    assert_int_equal(tr_config_write_yaml(&b, &y2, false), TR_OK);
    assert_string_equal(y1.data, y2.data);
    assert_string_equal(b.storage.s3_secret_access_key, "we\"ird\\key");
    assert_true(b.server.shutdown_timeout_ns == 90 * TR_NS_PER_SEC);
    assert_non_null(strstr(y1.data, "server:\n  http_listen_address:"));
    tr_config_fini(&a);
    tr_config_fini(&b);
    tr_buf_fini(&y1);
    tr_buf_fini(&y2);
}

/* The YAML writer needs each section's rows to be contiguous. */
static void
test_table_sections_contiguous(void **state)
{
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        const char *dot = strrchr(o->key, '.');
        if (dot == NULL) {
            continue;
        }
        size_t n = (size_t)(dot - o->key);
        int left = 0;
        for (const struct tr_config_option *q = o + 1; q->key; q++) {
            int in = strncmp(q->key, o->key, n) == 0 && q->key[n] == '.';
            if (!in) {
                left = 1;
            } else if (left) {
                fail_msg("section of %s is split by other rows before %s",
                         o->key, q->key);
            }
        }
    }
}

/* docs/configuration.md must name every flag. */
static void
test_docs_cover_every_option(void **state)
{
    FILE *f = fopen(TR_TEST_SOURCE_DIR "/docs/configuration.md", "r");
    assert_non_null(f);
    struct tr_buf doc = TR_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        tr_buf_append(&doc, chunk, n);
    }
    fclose(f);
    for (const struct tr_config_option *o = tr_config_options; o->key; o++) {
        char want[300];
        snprintf(want, sizeof(want), "`%s`", o->key);
        if (strstr(doc.data, want) == NULL) {
            fail_msg("docs/configuration.md does not document %s", o->key);
        }
    }
    tr_buf_fini(&doc);
}

static void
test_help_lists_flags(void **state)
{
    struct tr_buf help = TR_BUF_INIT;
    tr_config_write_help(&help);
    assert_non_null(strstr(help.data, "-server.http-listen-port int"));
    assert_non_null(strstr(help.data, "(default 3100)"));
    assert_non_null(strstr(help.data, "(default 30s)"));
    tr_buf_fini(&help);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_print_config_round_trip),
        cmocka_unit_test(test_table_sections_contiguous),
        cmocka_unit_test(test_docs_cover_every_option),
        cmocka_unit_test(test_help_lists_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
