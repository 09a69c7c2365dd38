#include "app/app.h"

#include <pthread.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"

#define MAX_MODULES 32

/* Role groups a user can name with -target, as Loki/Tempo/Mimir do. */
static const struct {
    const char *name;
    const char *roles;
} target_groups[] = {
    {"all", "distributor,ingester,querier,query-frontend,compactor"},
    {"write", "distributor,ingester"},
    {"read", "query-frontend,querier"},
    {"backend", "compactor"},
};

struct slot {
    const struct tr_module *module;
    bool selected;
    enum tr_module_state state;
    void *state_ptr;
    bool serving; /* serve() succeeded and unserve() is still due */
};

struct tr_app {
    struct slot slots[MAX_MODULES];
    size_t count;
    /* Indexes into slots in start order; stop walks it backwards. */
    size_t order[MAX_MODULES];
    size_t ordered; /* length of order */
    const struct tr_config *cfg;
    pthread_mutex_t lock; /* guards states read by /ready and /services */
};

static struct slot *
find_slot(struct tr_app *app, const char *name, size_t len)
{
    for (size_t i = 0; i < app->count; i++) {
        const char *n = app->slots[i].module->name;
        if (strlen(n) == len && strncmp(n, name, len) == 0) {
            return &app->slots[i];
        }
    }
    return NULL;
}

static int
select_name(struct tr_app *app, const char *name, size_t len,
            struct tr_err *err)
{
    for (size_t g = 0; g < sizeof(target_groups) / sizeof(target_groups[0]);
         g++) {
        if (strlen(target_groups[g].name) == len &&
            strncmp(target_groups[g].name, name, len) == 0) {
            const char *r = target_groups[g].roles;
            while (*r != '\0') {
                const char *comma = strchr(r, ',');
                size_t n = comma != NULL ? (size_t)(comma - r) : strlen(r);
                int rc = select_name(app, r, n, err);
                if (rc != TR_OK) {
                    return rc;
                }
                r += n + (comma != NULL);
            }
            return TR_OK;
        }
    }
    struct slot *s = find_slot(app, name, len);
    if (s == NULL || !s->module->is_role) {
        return tr_err_set(err, TR_EINVAL,
                          "unknown target \"%.*s\": use all, write, read, "
                          "backend or a comma list of distributor, ingester, "
                          "querier, query-frontend, compactor",
                          (int)len, name);
    }
    s->selected = true;
    return TR_OK;
}

/* Depth-first: dependencies first, then the module. */
static int
order_slot(struct tr_app *app, struct slot *s, int depth, struct tr_err *err)
{
    if (depth > MAX_MODULES) {
        return tr_err_set(err, TR_EINVAL, "module dependency cycle at %s",
                          s->module->name);
    }
    size_t idx = (size_t)(s - app->slots);
    for (size_t i = 0; i < app->ordered; i++) {
        if (app->order[i] == idx) {
            return TR_OK;
        }
    }
    for (const char *const *d = s->module->deps; d != NULL && *d != NULL;
         d++) {
        struct slot *dep = find_slot(app, *d, strlen(*d));
        if (dep == NULL) {
            return tr_err_set(err, TR_EINVAL,
                              "module %s depends on unknown module %s",
                              s->module->name, *d);
        }
        int rc = order_slot(app, dep, depth + 1, err);
        if (rc != TR_OK) {
            return rc;
        }
    }
    app->order[app->ordered++] = idx;
    return TR_OK;
}

struct tr_app *
tr_app_create(const struct tr_module *const *modules, size_t count,
              const struct tr_config *cfg, struct tr_err *err)
{
    if (count > MAX_MODULES) {
        tr_err_set(err, TR_EINVAL, "too many modules (%zu)", count);
        return NULL;
    }
    struct tr_app *app = tr_calloc(1, sizeof(*app));
    if (app == NULL) {
        tr_err_set(err, TR_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&app->lock, NULL);
    app->cfg = cfg;
    app->count = count;
    for (size_t i = 0; i < count; i++) {
        app->slots[i].module = modules[i];
    }
    const char *t = cfg->target;
    if (*t == '\0') {
        t = "all";
    }
    while (*t != '\0') {
        const char *comma = strchr(t, ',');
        size_t n = comma != NULL ? (size_t)(comma - t) : strlen(t);
        if (select_name(app, t, n, err) != TR_OK) {
            goto fail;
        }
        t += n + (comma != NULL);
    }
    /* The start order is fixed at creation: dependencies first. */
    for (size_t i = 0; i < count; i++) {
        if (app->slots[i].selected &&
            order_slot(app, &app->slots[i], 0, err) != TR_OK) {
            goto fail;
        }
    }
    return app;
fail:
    tr_app_destroy(app);
    return NULL;
}

int
tr_app_start(struct tr_app *app, struct tr_err *err)
{
    size_t n = app->ordered;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &app->slots[app->order[i]];
        if (s->state != TR_MODULE_NEW) {
            continue;
        }
        int64_t t0 = tr_mono_ns();
        pthread_mutex_lock(&app->lock);
        s->state = TR_MODULE_STARTING;
        pthread_mutex_unlock(&app->lock);
        tr_log_info("starting module", "module=%s", s->module->name);
        int rc = s->module->start(app, &s->state_ptr, err);
        pthread_mutex_lock(&app->lock);
        s->state = rc == TR_OK ? TR_MODULE_RUNNING : TR_MODULE_FAILED;
        pthread_mutex_unlock(&app->lock);
        if (rc != TR_OK) {
            tr_err_prefix(err, "cannot start module %s", s->module->name);
            tr_log_error("module failed to start", "module=%s err=\"%s\"",
                         s->module->name, err != NULL ? err->msg : "");
            tr_app_stop(app);
            return rc;
        }
        tr_log_info("module started", "module=%s took_ms=%lld",
                    s->module->name,
                    (long long)((tr_mono_ns() - t0) / TR_NS_PER_MS));
    }
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &app->slots[app->order[i]];
        if (s->module->serve == NULL || s->serving) {
            continue;
        }
        int rc = s->module->serve(app, s->state_ptr, err);
        if (rc != TR_OK) {
            tr_err_prefix(err, "cannot serve module %s", s->module->name);
            tr_app_stop(app);
            return rc;
        }
        s->serving = true;
    }
    return TR_OK;
}

void
tr_app_stop(struct tr_app *app)
{
    for (size_t i = app->ordered; i-- > 0;) {
        struct slot *s = &app->slots[app->order[i]];
        if (s->serving) {
            s->module->unserve(app, s->state_ptr);
            s->serving = false;
        }
    }
    for (size_t i = app->ordered; i-- > 0;) {
        struct slot *s = &app->slots[app->order[i]];
        if (s->state != TR_MODULE_RUNNING) {
            continue;
        }
        int64_t t0 = tr_mono_ns();
        pthread_mutex_lock(&app->lock);
        s->state = TR_MODULE_STOPPING;
        pthread_mutex_unlock(&app->lock);
        tr_log_info("stopping module", "module=%s", s->module->name);
        if (s->module->stop != NULL) {
            s->module->stop(app, s->state_ptr);
        }
        s->state_ptr = NULL;
        pthread_mutex_lock(&app->lock);
        s->state = TR_MODULE_TERMINATED;
        pthread_mutex_unlock(&app->lock);
        tr_log_info("module stopped", "module=%s took_ms=%lld",
                    s->module->name,
                    (long long)((tr_mono_ns() - t0) / TR_NS_PER_MS));
    }
}

void
tr_app_destroy(struct tr_app *app)
{
    if (app == NULL) {
        return;
    }
    tr_app_stop(app);
    pthread_mutex_destroy(&app->lock);
    tr_free(app);
}

bool
tr_app_ready(struct tr_app *app, struct tr_buf *why)
{
    bool ready = true;
    pthread_mutex_lock(&app->lock);
    for (size_t i = 0; i < app->ordered; i++) {
        struct slot *s = &app->slots[app->order[i]];
        bool ok = s->state == TR_MODULE_RUNNING &&
                  (s->module->ready == NULL || s->module->ready(s->state_ptr));
        if (!ok) {
            if (why != NULL) {
                tr_buf_append_str(why, ready ? "Some services are not "
                                               "Running: "
                                             : ", ");
                tr_buf_appendf(why, "%s: %s", s->module->name,
                               s->state == TR_MODULE_RUNNING
                                   ? "not ready"
                                   : tr_module_state_name(s->state));
            }
            ready = false;
        }
    }
    pthread_mutex_unlock(&app->lock);
    return ready;
}

void
tr_app_write_services(struct tr_app *app, struct tr_buf *out)
{
    pthread_mutex_lock(&app->lock);
    for (size_t i = 0; i < app->ordered; i++) {
        struct slot *s = &app->slots[app->order[i]];
        tr_buf_appendf(out, "%s: %s\n", s->module->name,
                       tr_module_state_name(s->state));
    }
    pthread_mutex_unlock(&app->lock);
}

bool
tr_app_has(struct tr_app *app, const char *module)
{
    for (size_t i = 0; i < app->ordered; i++) {
        if (strcmp(app->slots[app->order[i]].module->name, module) == 0) {
            return true;
        }
    }
    return false;
}

const struct tr_config *
tr_app_config(struct tr_app *app)
{
    return app->cfg;
}

void *
tr_app_state(struct tr_app *app, const char *module)
{
    struct slot *s = find_slot(app, module, strlen(module));
    return s != NULL && s->state == TR_MODULE_RUNNING ? s->state_ptr : NULL;
}

const char *
tr_module_state_name(enum tr_module_state state)
{
    static const char *const names[] = {"New",      "Starting",   "Running",
                                        "Stopping", "Terminated", "Failed"};
    return (unsigned)state < 6 ? names[state] : "Unknown";
}
