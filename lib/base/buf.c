#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

int
tr_buf_reserve(struct tr_buf *b, size_t extra)
{
    /* +1 keeps room for the courtesy NUL after the data. */
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return TR_OK;
    }
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    char *p = tr_realloc(b->data, cap);
    if (p == NULL) {
        return TR_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return TR_OK;
}

int
tr_buf_append(struct tr_buf *b, const void *data, size_t len)
{
    if (tr_buf_reserve(b, len) != TR_OK) {
        return TR_ENOMEM;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return TR_OK;
}

int
tr_buf_append_str(struct tr_buf *b, const char *s)
{
    return tr_buf_append(b, s, strlen(s));
}

int
tr_buf_append_byte(struct tr_buf *b, char c)
{
    return tr_buf_append(b, &c, 1);
}

int
tr_buf_vappendf(struct tr_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    int n = vsnprintf(room > 0 ? b->data + b->len : NULL, room, fmt, copy);
    va_end(copy);
    if (n < 0) {
        return TR_EINVAL;
    }
    if ((size_t)n >= room) {
        if (tr_buf_reserve(b, (size_t)n) != TR_OK) {
            return TR_ENOMEM;
        }
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
    return TR_OK;
}

int
tr_buf_appendf(struct tr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tr_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void
tr_buf_reset(struct tr_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

void
tr_buf_fini(struct tr_buf *b)
{
    tr_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

char *
tr_buf_detach(struct tr_buf *b, size_t *len)
{
    char *data = b->data;
    if (len != NULL) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return data;
}
