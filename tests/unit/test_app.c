/* Unit tests for lib/app: target selection, start order, failure
 * rollback, readiness and /services text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app/app.h"
#include "base/buf.h"
#include "base/err.h"
#include "config/config.h"

static char events[256];
static const char *fail_module;
static int not_ready;

static void
record(const char *what, const char *name)
{
    strcat(events, what);
    strcat(events, name);
    strcat(events, " ");
}

#define FAKE(ident, label, role, ...)                                        \
    static const char *const ident##_deps[] = {__VA_ARGS__};                 \
    static int ident##_start(struct tr_app *app, void **state,               \
                             struct tr_err *err)                             \
    {                                                                        \
        record("+", label);                                                  \
        *state = (void *)label;                                              \
        if (fail_module != NULL && strcmp(fail_module, label) == 0) {        \
            return tr_err_set(err, TR_EIO, "boom");                          \
        }                                                                    \
        return TR_OK;                                                        \
    }                                                                        \
    static void ident##_stop(struct tr_app *app, void *state)                \
    {                                                                        \
        record("-", (const char *)state);                                    \
    }                                                                        \
    static const struct tr_module ident = {                                  \
        .name = label,                                                       \
        .deps = ident##_deps,                                                \
        .is_role = role,                                                     \
        .start = ident##_start,                                              \
        .stop = ident##_stop,                                                \
    };

static bool
ingester_ready(void *state)
{
    return !not_ready;
}

static const char *const server_deps[] = {NULL};
static int
server_start(struct tr_app *app, void **state, struct tr_err *err)
{
    record("+", "server");
    *state = (void *)"server";
    return TR_OK;
}
static void
server_stop(struct tr_app *app, void *state)
{
    record("-", "server");
}
static int
server_serve(struct tr_app *app, void *state, struct tr_err *err)
{
    record("serve ", "server");
    return TR_OK;
}
static void
server_unserve(struct tr_app *app, void *state)
{
    record("unserve ", "server");
}
static const struct tr_module server = {
    .name = "server",
    .deps = server_deps,
    .start = server_start,
    .stop = server_stop,
    .serve = server_serve,
    .unserve = server_unserve,
};
FAKE(storage, "storage", false, "server", NULL)
FAKE(distributor, "distributor", true, "server", NULL)
FAKE(querier, "querier", true, "storage", "server", NULL)
FAKE(frontend, "query-frontend", true, "server", NULL)
FAKE(compactor, "compactor", true, "storage", NULL)
static const char *const ingester_deps[] = {"storage", "server", NULL};
static int
ingester_start(struct tr_app *app, void **state, struct tr_err *err)
{
    record("+", "ingester");
    *state = (void *)"ingester";
    return TR_OK;
}
static void
ingester_stop(struct tr_app *app, void *state)
{
    record("-", "ingester");
}
static const struct tr_module ingester = {
    .name = "ingester",
    .deps = ingester_deps,
    .is_role = true,
    .start = ingester_start,
    .stop = ingester_stop,
    .ready = ingester_ready,
};

static const struct tr_module *const modules[] = {
    &server, &storage, &distributor, &ingester, &querier, &frontend,
    &compactor};

static struct tr_app *
make_app(struct tr_config *cfg, const char *target, struct tr_err *err)
{
    tr_config_init(cfg, NULL);
    tr_config_set(cfg, "target", target, NULL);
    events[0] = '\0';
    return tr_app_create(modules, 7, cfg, err);
}

static void
test_write_target_order_and_stop(void **state)
{
    struct tr_config cfg;
    struct tr_app *app = make_app(&cfg, "write", NULL);
    assert_non_null(app);
    assert_int_equal(tr_app_start(app, NULL), TR_OK);
    /* Listeners open only after every module started. */
    assert_string_equal(events, "+server +distributor +storage +ingester "
                                "serve server ");
    assert_true(tr_app_has(app, "storage"));
    assert_false(tr_app_has(app, "querier"));
    assert_string_equal(tr_app_state(app, "storage"), "storage");
    tr_app_stop(app);
    /* ...and close before any module stops. */
    assert_string_equal(events, "+server +distributor +storage +ingester "
                                "serve server unserve server -ingester "
                                "-storage -distributor -server ");
    tr_app_destroy(app);
    tr_config_fini(&cfg);
}

static void
test_failure_stops_started_modules(void **state)
{
    struct tr_config cfg;
    struct tr_err err = {0};
    fail_module = "storage";
    struct tr_app *app = make_app(&cfg, "ingester", &err);
    assert_int_equal(tr_app_start(app, &err), TR_EIO);
    assert_string_equal(err.msg, "cannot start module storage: boom");
    assert_string_equal(events, "+server +storage -server ");
    struct tr_buf svc = TR_BUF_INIT;
    tr_app_write_services(app, &svc);
    assert_string_equal(svc.data, "server: Terminated\nstorage: Failed\n"
                                  "ingester: New\n");
    tr_buf_fini(&svc);
    tr_app_destroy(app);
    tr_config_fini(&cfg);
    fail_module = NULL;
}

static void
test_ready_reports_reason(void **state)
{
    struct tr_config cfg;
    struct tr_app *app = make_app(&cfg, "all", NULL);
    struct tr_buf why = TR_BUF_INIT;
    assert_false(tr_app_ready(app, &why)); /* nothing started yet */
    assert_int_equal(tr_app_start(app, NULL), TR_OK);
    not_ready = 1;
    tr_buf_reset(&why);
    assert_false(tr_app_ready(app, &why));
    assert_string_equal(why.data,
                        "Some services are not Running: ingester: not ready");
    not_ready = 0;
    assert_true(tr_app_ready(app, NULL));
    tr_buf_fini(&why);
    tr_app_destroy(app);
    tr_config_fini(&cfg);
}

static void
test_unknown_target(void **state)
{
    struct tr_config cfg;
    struct tr_err err = {0};
    assert_null(make_app(&cfg, "ingester,nope", &err));
    assert_non_null(strstr(err.msg, "unknown target \"nope\""));
    tr_config_fini(&cfg);
    assert_null(make_app(&cfg, "server", &err)); /* internal, not a role */
    tr_config_fini(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_target_order_and_stop),
        cmocka_unit_test(test_failure_stops_started_modules),
        cmocka_unit_test(test_ready_reports_reason),
        cmocka_unit_test(test_unknown_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
