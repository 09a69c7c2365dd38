#include "base/err.h"

#include <stdio.h>
#include <string.h>

void
tr_err_clear(struct tr_err *err)
{
    if (err != NULL) {
        err->code = TR_OK;
        err->msg[0] = '\0';
    }
}

int
tr_err_set(struct tr_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int
tr_err_prefix(struct tr_err *err, const char *fmt, ...)
{
    if (err == NULL) {
        return TR_EIO;
    }
    char prefix[TR_ERR_MSG_MAX];
    char old[TR_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation keeps the start of the message, which is what matters. */
    size_t cap = sizeof(err->msg) - 1;
    size_t n = strnlen(prefix, cap);
    memcpy(err->msg, prefix, n);
    if (n + 2 <= cap) {
        memcpy(err->msg + n, ": ", 2);
        n += 2;
        size_t tail = strnlen(old, cap - n);
        memcpy(err->msg + n, old, tail);
        n += tail;
    }
    err->msg[n] = '\0';
    return err->code;
}

const char *
tr_err_name(int code)
{
    switch (code) {
    case TR_OK:
        return "ok";
    case TR_EAGAIN:
        return "again";
    case TR_ERETRY:
        return "retry";
    case TR_EINVAL:
        return "invalid";
    case TR_ENOMEM:
        return "no_memory";
    case TR_EIO:
        return "io";
    case TR_ENOTFOUND:
        return "not_found";
    case TR_ELIMIT:
        return "limit";
    case TR_ETIMEOUT:
        return "timeout";
    case TR_ECANCELED:
        return "canceled";
    case TR_EUNAVAIL:
        return "unavailable";
    case TR_EDENIED:
        return "denied";
    }
    return "unknown";
}
