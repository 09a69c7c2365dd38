/* The query-frontend role (see README.md). */
#ifndef TR_SVC_QUERY_FRONTEND_H
#define TR_SVC_QUERY_FRONTEND_H

#include "app/app.h"

extern const struct tr_module tr_query_frontend_module;

#endif
