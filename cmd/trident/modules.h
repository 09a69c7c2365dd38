/* Every module this binary can run, in no particular order. */
#ifndef TR_CMD_MODULES_H
#define TR_CMD_MODULES_H

#include <stddef.h>

#include "app/app.h"

extern const struct tr_module *const tr_modules[];
extern const size_t tr_modules_count;

#endif
