/*
 * A growable byte buffer: pointer plus length, never relying on a NUL
 * terminator (although appends keep one after data[len] when there is
 * room, for the convenience of debugging and of C string APIs).
 *
 * A zeroed struct tr_buf (TR_BUF_INIT) is a valid empty buffer. The buffer
 * owns data; release it with tr_buf_fini() or take it with tr_buf_detach().
 * Every append may reallocate, so pointers into data are invalidated.
 */
#ifndef TR_BASE_BUF_H
#define TR_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct tr_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define TR_BUF_INIT {NULL, 0, 0}

/* Makes room for `extra` more bytes. TR_OK or TR_ENOMEM. */
int tr_buf_reserve(struct tr_buf *b, size_t extra);
int tr_buf_append(struct tr_buf *b, const void *data, size_t len);
int tr_buf_append_str(struct tr_buf *b, const char *s);
int tr_buf_append_byte(struct tr_buf *b, char c);
int tr_buf_appendf(struct tr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tr_buf_vappendf(struct tr_buf *b, const char *fmt, va_list ap);

/* Empties the buffer and keeps its memory for reuse. */
void tr_buf_reset(struct tr_buf *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void tr_buf_fini(struct tr_buf *b);
/*
 * Hands the data to the caller (who frees it with tr_free) and leaves the
 * buffer empty. Returns NULL for an empty, never-grown buffer.
 */
char *tr_buf_detach(struct tr_buf *b, size_t *len);

#endif
