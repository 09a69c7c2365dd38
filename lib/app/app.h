/*
 * The application: a set of modules with declared dependencies, started in
 * dependency order and stopped in reverse.
 *
 * A module is either a role a user can name with -target (distributor,
 * ingester, querier, query-frontend, compactor) or an internal module that
 * roles depend on (server: the HTTP and RPC listeners; storage: the object
 * store). Modules find shared infrastructure through the accessors below,
 * never through each other's folders.
 *
 * Module states mirror what Loki/Tempo show on /services: New, Starting,
 * Running, Stopping, Terminated, Failed.
 */
#ifndef TR_APP_APP_H
#define TR_APP_APP_H

#include <stdbool.h>
#include <stddef.h>

struct tr_app;
struct tr_buf;
struct tr_config;
struct tr_err;

struct tr_module {
    const char *name;
    /* Names of modules that must run before this one; NULL-terminated. */
    const char *const *deps;
    /* True for modules -target can name. */
    bool is_role;
    /*
     * Starts the module; on success stores its state in *state (may stay
     * NULL). On failure returns a TR_E* code with detail in err; the app
     * then stops what already started.
     */
    int (*start)(struct tr_app *app, void **state, struct tr_err *err);
    /* Stops the module and frees its state. Called only after start
     * succeeded. */
    void (*stop)(struct tr_app *app, void *state);
    /* Optional: false while the module cannot serve yet (e.g. replaying its
     * WAL). NULL means ready as soon as start returns. */
    bool (*ready)(void *state);
    /*
     * Optional, for listener modules: called in start order once EVERY
     * module has started (so all routes and RPC handlers are registered),
     * to begin accepting traffic; and before ANY module stops, to stop
     * accepting it, so no request reaches a module that is going away.
     */
    int (*serve)(struct tr_app *app, void *state, struct tr_err *err);
    void (*unserve)(struct tr_app *app, void *state);
};

enum tr_module_state {
    TR_MODULE_NEW,
    TR_MODULE_STARTING,
    TR_MODULE_RUNNING,
    TR_MODULE_STOPPING,
    TR_MODULE_TERMINATED,
    TR_MODULE_FAILED,
};

/*
 * Creates an app over the modules table (borrowed; must outlive the app)
 * and the configuration (borrowed). The target is cfg->target.
 * Returns NULL with err set when the target names an unknown role.
 */
struct tr_app *tr_app_create(const struct tr_module *const *modules,
                             size_t count, const struct tr_config *cfg,
                             struct tr_err *err);
/* Stops everything still running and frees the app. NULL is allowed. */
void tr_app_destroy(struct tr_app *app);

/* Starts the selected modules and their dependencies in order. */
int tr_app_start(struct tr_app *app, struct tr_err *err);
/* Stops the started modules in reverse order. Idempotent. */
void tr_app_stop(struct tr_app *app);

/* True when every started module is running and ready. When not, and
 * why != NULL, appends the reason ("Some services are not Running: ..."). */
bool tr_app_ready(struct tr_app *app, struct tr_buf *why);
/* Appends "<module>: <State>\n" for each selected module (/services). */
void tr_app_write_services(struct tr_app *app, struct tr_buf *out);
/* True if the module is part of this process (selected or a dependency). */
bool tr_app_has(struct tr_app *app, const char *module);

const struct tr_config *tr_app_config(struct tr_app *app);
/* Another started module's state, or NULL (for infrastructure modules:
 * "server" exposes struct tr_server, "storage" struct tr_objstore...). */
void *tr_app_state(struct tr_app *app, const char *module);

const char *tr_module_state_name(enum tr_module_state state);

#endif
