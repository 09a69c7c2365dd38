/* The distributor role (see README.md). */
#ifndef TR_SVC_DISTRIBUTOR_H
#define TR_SVC_DISTRIBUTOR_H

#include "app/app.h"

extern const struct tr_module tr_distributor_module;

#endif
