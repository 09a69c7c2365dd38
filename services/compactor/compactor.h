/* The compactor role (see README.md). */
#ifndef TR_SVC_COMPACTOR_H
#define TR_SVC_COMPACTOR_H

#include "app/app.h"

extern const struct tr_module tr_compactor_module;

#endif
