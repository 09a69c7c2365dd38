/*
 * Tests for services/querier: reads merged from an ingester and a block in
 * object storage. Runs the real roles in-process (distributor, ingester,
 * querier, query-frontend on loopback ports the kernel picks), writes a
 * block with the block writer into the filesystem object store, pushes
 * overlapping samples through the distributor, and checks the exact API
 * answers: series only in the block, series only in the ingester, and one
 * series in both with a shared timestamp that must count once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "app/app.h"
#include "app/server.h"
#include "app/storage.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "distributor.h"
#include "http/server.h"
#include "ingester.h"
#include "objstore/objstore.h"
#include "querier.h"
#include "query_frontend.h"
#include "rpc/rpc.h"
#include "tsdb/block.h"
#include "tsdb/labels.h"

static const struct tr_module *const modules[] = {
    &tr_server_module,   &tr_storage_module, &tr_distributor_module,
    &tr_ingester_module, &tr_querier_module, &tr_query_frontend_module,
};

struct fixture {
    char dir[64];
    struct tr_config cfg;
    struct tr_app *app;
    char base[64];
    int64_t b; /* seconds: the first pushed sample */
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
    tr_buf_append(arg, data, size * n);
    return size * n;
}

/* GET or POST (body != NULL) and the status; the body lands in out. */
static long
http(const char *url, const char *body, const char *content_type,
     struct tr_buf *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = 0;
    tr_buf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body != NULL) {
        h = curl_slist_append(h, content_type);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    tr_buf_append_byte(out, '\0');
    out->len--;
    return status;
}

static void
add_series(struct tr_block_builder *bb, const char *room, const int64_t *t,
           const double *v, size_t n)
{
    const char *kv[] = {"__name__", "temperature", "job",
                        "house",    "room",        room};
    struct tr_labels *ls;
    struct tr_err err;
    assert_int_equal(tr_labels_from_strings(kv, 3, &ls, &err), TR_OK);
    assert_int_equal(tr_block_builder_add(bb, ls, t, v, n, &err), TR_OK);
    tr_labels_destroy(ls);
}

/* A block of tenant "anonymous" over [b-60 s, b+1 s): attic (only here),
 * kitchen, whose sample at b is also pushed to the ingester, and hall,
 * whose later samples are only pushed. */
static void
write_block(struct fixture *f)
{
    char root[128];
    snprintf(root, sizeof(root), "%s/objects", f->dir);
    struct tr_objstore_options oo = {.backend = "filesystem", .fs_root = root};
    struct tr_err err;
    struct tr_objstore *os = tr_objstore_create(&oo, &err);
    assert_non_null(os);
    int64_t b = f->b * 1000;
    struct tr_block_options bo = {
        .tenant = "anonymous", .mint = b - 60000, .maxt = b + 1000};
    struct tr_block_builder *bb = tr_block_builder_create(&bo, &err);
    assert_non_null(bb);
    int64_t t_attic[] = {b - 30000, b - 15000};
    double v_attic[] = {5, 6};
    add_series(bb, "attic", t_attic, v_attic, 2);
    /* hall: older samples here, newer ones only in the ingester. */
    int64_t t_hall[] = {b - 45000, b - 30000};
    double v_hall[] = {1, 2};
    add_series(bb, "hall", t_hall, v_hall, 2);
    int64_t t_kitchen[] = {b - 45000, b - 30000, b - 15000, b};
    double v_kitchen[] = {10, 11, 12, 20};
    add_series(bb, "kitchen", t_kitchen, v_kitchen, 4);
    struct tr_block_files files = {0};
    assert_int_equal(tr_block_builder_finish(bb, &files, &err), TR_OK);
    assert_int_equal(tr_block_upload(os, &files, &err), TR_OK);
    tr_block_files_fini(&files);
    tr_block_builder_destroy(bb);
    tr_objstore_destroy(os);
}

static const char *
points(int64_t b, const char *room, const double *v, size_t n, char *out,
       size_t size)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(
            out + len, size - len,
            "%s{\"attributes\":[{\"key\":\"room\",\"value\":{\"stringValue\":"
            "\"%s\"}}],\"timeUnixNano\":\"%lld000000000\",\"asDouble\":%g}",
            i > 0 ? "," : "", room, (long long)(b + 15 * (int64_t)i), v[i]);
    }
    return out;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct tr_err err;
    snprintf(f->dir, sizeof(f->dir), "/tmp/tr-ut-querier.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->b = ((int64_t)time(NULL) - 600) / 60 * 60;
    write_block(f);

    assert_int_equal(tr_config_init(&f->cfg, &err), TR_OK);
    const char *const settings[][2] = {
        {"target", "distributor,ingester,querier,query-frontend"},
        {"common.path_prefix", f->dir},
        {"server.http_listen_address", "127.0.0.1"},
        {"server.http_listen_port", "0"},
        {"server.rpc_listen_address", "127.0.0.1"},
        {"server.rpc_listen_port", "0"},
        {"server.otlp_http_listen_port", "-1"},
        {"server.otlp_grpc_listen_port", "-1"},
        {"server.log_level", "warn"},
    };
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        assert_int_equal(
            tr_config_set(&f->cfg, settings[i][0], settings[i][1], &err),
            TR_OK);
    }
    assert_int_equal(tr_config_validate(&f->cfg, &err), TR_OK);
    f->app = tr_app_create(modules, sizeof(modules) / sizeof(modules[0]),
                           &f->cfg, &err);
    assert_non_null(f->app);
    if (tr_app_start(f->app, &err) != TR_OK) {
        fail_msg("cannot start: %s", err.msg);
    }
    /* The ingester replays its WAL before it takes pushes. */
    for (int i = 0; i < 1000 && !tr_app_ready(f->app, NULL); i++) {
        usleep(10000);
    }
    assert_true(tr_app_ready(f->app, NULL));
    snprintf(
        f->base, sizeof(f->base), "http://127.0.0.1:%u",
        (unsigned)tr_http_server_port(tr_server_http(tr_server_of(f->app))));

    /* kitchen b, b+15, b+30 (b duplicates the block's last sample) and
     * living b, b+15 through the distributor. */
    char kitchen[2048], living[2048], hall[2048], body[8192];
    const double vk[] = {20, 21.5, 23};
    const double vl[] = {18, 18.5};
    const double vh[] = {3, 4};
    snprintf(body, sizeof(body),
             "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":"
             "\"service.name\",\"value\":{\"stringValue\":\"house\"}}]},"
             "\"scopeMetrics\":[{\"metrics\":[{\"name\":\"temperature\","
             "\"gauge\":{\"dataPoints\":[%s,%s,%s]}}]}]}]}",
             points(f->b, "kitchen", vk, 3, kitchen, sizeof(kitchen)),
             points(f->b, "living", vl, 2, living, sizeof(living)),
             points(f->b + 15, "hall", vh, 2, hall, sizeof(hall)));
    char url[128];
    snprintf(url, sizeof(url), "%s/otlp/v1/metrics", f->base);
    struct tr_buf out = TR_BUF_INIT;
    long status = http(url, body, "Content-Type: application/json", &out);
    if (status != 200) {
        fail_msg("push: %ld %s", status, out.data);
    }
    tr_buf_fini(&out);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    tr_app_destroy(f->app);
    tr_config_fini(&f->cfg);
    tr_rpc_context_term();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void
expect(const struct fixture *f, const char *path, const char *want)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    struct tr_buf out = TR_BUF_INIT;
    long status = http(url, NULL, NULL, &out);
    if (status != 200 || strcmp(out.data, want) != 0) {
        fail_msg("GET %s\n want 200 %s\n got  %ld %s", path, want, status,
                 out.data);
    }
    tr_buf_fini(&out);
}

#define K                                                                      \
    "{\"__name__\":\"temperature\",\"job\":\"house\",\"room\":\"kitchen\"}"
#define A "{\"__name__\":\"temperature\",\"job\":\"house\",\"room\":\"attic\"}"
#define L "{\"__name__\":\"temperature\",\"job\":\"house\",\"room\":\"living\"}"
#define H "{\"__name__\":\"temperature\",\"job\":\"house\",\"room\":\"hall\"}"

static void
test_range_query_merges_block_and_ingester(void **state)
{
    const struct fixture *f = *state;
    long long b = (long long)f->b;
    char path[256], want[2048];
    snprintf(path, sizeof(path),
             "/api/v1/query_range?query=temperature%%7Broom%%21%%3D%%22hall"
             "%%22%%7D&start=%lld&end=%lld&step=15",
             b - 45, b + 30);
    /* attic ends 5 min after its last sample (lookback), so it shows at
     * every later step too. */
    snprintf(want, sizeof(want),
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
             "\"result\":[{\"metric\":" A ",\"values\":[[%lld,\"5\"],"
             "[%lld,\"6\"],[%lld,\"6\"],[%lld,\"6\"],[%lld,\"6\"]]},"
             "{\"metric\":" K ",\"values\":[[%lld,\"10\"],[%lld,\"11\"],"
             "[%lld,\"12\"],[%lld,\"20\"],[%lld,\"21.5\"],[%lld,\"23\"]]},"
             "{\"metric\":" L ",\"values\":[[%lld,\"18\"],[%lld,\"18.5\"],"
             "[%lld,\"18.5\"]]}]}}",
             b - 30, b - 15, b, b + 15, b + 30, b - 45, b - 30, b - 15, b,
             b + 15, b + 30, b, b + 15, b + 30);
    expect(f, path, want);
}

static void
test_shared_timestamp_counts_once(void **state)
{
    const struct fixture *f = *state;
    long long b = (long long)f->b;
    char path[256], want[512];
    /* Samples of kitchen in (b-50s, b+30s]: 10 11 12 20 (block, 20 also in
     * the ingester) 21.5 23 (ingester): six, not seven. */
    snprintf(path, sizeof(path),
             "/api/v1/query?query=count_over_time(temperature%%7Broom="
             "%%22kitchen%%22%%7D%%5B80s%%5D)&time=%lld",
             b + 30);
    snprintf(want, sizeof(want),
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
             "\"result\":[{\"metric\":{\"job\":\"house\",\"room\":"
             "\"kitchen\"},\"value\":[%lld,\"6\"]}]}}",
             b + 30);
    expect(f, path, want);
}

/* hall's block samples and its pushed ones do not overlap in time: the
 * parts are joined in time order. */
static void
test_disjoint_parts_join(void **state)
{
    const struct fixture *f = *state;
    long long b = (long long)f->b;
    char path[256], want[1024];
    snprintf(path, sizeof(path),
             "/api/v1/query_range?query=temperature%%7Broom%%3D%%22hall%%22"
             "%%7D&start=%lld&end=%lld&step=15",
             b - 45, b + 30);
    snprintf(want, sizeof(want),
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
             "\"result\":[{\"metric\":" H ",\"values\":[[%lld,\"1\"],"
             "[%lld,\"2\"],[%lld,\"2\"],[%lld,\"2\"],[%lld,\"3\"],"
             "[%lld,\"4\"]]}]}}",
             b - 45, b - 30, b - 15, b, b + 15, b + 30);
    expect(f, path, want);
    snprintf(path, sizeof(path),
             "/api/v1/query?query=count_over_time(temperature%%7Broom="
             "%%22hall%%22%%7D%%5B80s%%5D)&time=%lld",
             b + 30);
    snprintf(want, sizeof(want),
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
             "\"result\":[{\"metric\":{\"job\":\"house\",\"room\":"
             "\"hall\"},\"value\":[%lld,\"4\"]}]}}",
             b + 30);
    expect(f, path, want);
}

static void
test_series_and_labels_from_both(void **state)
{
    const struct fixture *f = *state;
    expect(f, "/api/v1/series?match%5B%5D=temperature",
           "{\"status\":\"success\",\"data\":[" A "," H "," K "," L "]}");
    expect(f, "/prometheus/api/v1/label/room/values",
           "{\"status\":\"success\",\"data\":[\"attic\",\"hall\","
           "\"kitchen\",\"living\"]}");
    expect(f, "/api/v1/labels?match%5B%5D=%7Broom%3D%22attic%22%7D",
           "{\"status\":\"success\",\"data\":[\"__name__\",\"job\","
           "\"room\"]}");
    /* Outside the block's range and before the pushes: nothing. */
    char path[256];
    snprintf(path, sizeof(path),
             "/api/v1/label/room/values?start=%lld&end=%lld",
             (long long)f->b - 7200, (long long)f->b - 3600);
    expect(f, path, "{\"status\":\"success\",\"data\":[]}");
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tr_log_set_level(TR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_query_merges_block_and_ingester),
        cmocka_unit_test(test_shared_timestamp_counts_once),
        cmocka_unit_test(test_disjoint_parts_join),
        cmocka_unit_test(test_series_and_labels_from_both),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
