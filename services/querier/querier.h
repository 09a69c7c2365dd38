/* The querier role (see README.md). */
#ifndef TR_SVC_QUERIER_H
#define TR_SVC_QUERIER_H

#include "app/app.h"

extern const struct tr_module tr_querier_module;

#endif
