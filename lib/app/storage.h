/*
 * The "storage" module: the object store (filesystem or S3) configured
 * under storage.*, shared by the roles that read or write blocks.
 */
#ifndef TR_APP_STORAGE_H
#define TR_APP_STORAGE_H

#include "app/app.h"

struct tr_objstore;

extern const struct tr_module tr_storage_module;

/* The running object store of app (borrowed), or NULL. */
struct tr_objstore *tr_storage_of(struct tr_app *app);

#endif
