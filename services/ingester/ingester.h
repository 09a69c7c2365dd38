/* The ingester role (see README.md). */
#ifndef TR_SVC_INGESTER_H
#define TR_SVC_INGESTER_H

#include "app/app.h"

extern const struct tr_module tr_ingester_module;

#endif
