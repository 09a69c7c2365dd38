/*
 * Error codes and error detail.
 *
 * Every fallible function returns int: TR_OK (0) on success or one of the
 * negative TR_E* codes below. Constructors return NULL instead. Detail
 * travels in an optional `struct tr_err *` passed as the last argument; a
 * NULL err is allowed everywhere and means "the caller only wants the code".
 *
 * Messages read "cannot <verb> <object>: <cause>". A layer that passes an
 * error upwards adds its own context in front with tr_err_prefix(), so the
 * final message reads like a path from the request to the root cause.
 */
#ifndef TR_BASE_ERR_H
#define TR_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum {
    TR_OK = 0,
    TR_EAGAIN = -1,    /* would block; try again when ready */
    TR_ERETRY = -2,    /* transient failure; the caller may retry */
    TR_EINVAL = -3,    /* bad input: never succeeds as it is */
    TR_ENOMEM = -4,    /* allocation failed */
    TR_EIO = -5,       /* I/O or peer failure */
    TR_ENOTFOUND = -6, /* the named thing does not exist */
    TR_ELIMIT = -7,    /* a configured limit was hit (rate, size, count) */
    TR_ETIMEOUT = -8,  /* a deadline passed */
    TR_ECANCELED = -9, /* the caller gave up */
    TR_EUNAVAIL = -10, /* the peer or service is down or not ready */
    TR_EDENIED = -11,  /* credentials or permissions refused */
};

#define TR_ERR_MSG_MAX 512

struct tr_err {
    int code;
    char msg[TR_ERR_MSG_MAX];
};

/* Clears err (code TR_OK, empty message). NULL is allowed. */
void tr_err_clear(struct tr_err *err);

/*
 * Records code and a printf-style message in err (which may be NULL) and
 * returns code, so callers can write `return tr_err_set(err, TR_EINVAL, ...)`.
 */
int tr_err_set(struct tr_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Puts "<context>: " in front of err's message, keeping its code, and
 * returns the code. Use it when passing an error up a layer.
 */
int tr_err_prefix(struct tr_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short stable name of a code ("invalid", "timeout", ...) for metrics. */
const char *tr_err_name(int code);

#endif
