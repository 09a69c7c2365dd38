/*
 * A streaming JSON writer that appends to a struct tr_buf.
 *
 * The writer keeps a small stack of nesting states so commas and colons are
 * inserted automatically; callers only say what comes next:
 *
 *   struct tr_json w;
 *   tr_json_init(&w, &buf);
 *   tr_json_object_begin(&w);
 *   tr_json_key(&w, "status");
 *   tr_json_string(&w, "success");
 *   tr_json_key(&w, "data");
 *   tr_json_array_begin(&w);
 *   tr_json_int(&w, 1);
 *   tr_json_array_end(&w);
 *   tr_json_object_end(&w);
 *   if (tr_json_finish(&w) != TR_OK) { ... }
 *
 * Errors are sticky: every call returns TR_OK or an error code, and once a
 * call fails the writer remembers the first error and ignores further
 * calls, so a caller may check only the result of tr_json_finish(). Errors
 * are TR_ENOMEM (buffer growth failed), TR_EINVAL (misuse: a value where a
 * key is expected, unbalanced end, nesting deeper than TR_JSON_MAX_DEPTH,
 * or a NaN/Inf passed to tr_json_double, since JSON has no such numbers).
 *
 * The writer allocates nothing itself; only the buffer grows. It is meant
 * for the hot path of query responses.
 */
#ifndef TR_JSON_WRITER_H
#define TR_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;

#define TR_JSON_MAX_DEPTH 64

struct tr_json {
    struct tr_buf *out; /* borrowed; must outlive the writer */
    int err;            /* first error, TR_OK while all went well */
    int depth;          /* open containers */
    bool need_value;    /* a key was written, its value is due */
    bool top_done;      /* a complete top-level value was written */
    /* Per open container: 'o' object or 'a' array; upper case once it
     * holds an element (so the next one needs a comma). */
    char stack[TR_JSON_MAX_DEPTH];
};

/* Starts a writer appending to out (borrowed). Never fails. */
void tr_json_init(struct tr_json *w, struct tr_buf *out);

/*
 * Returns the sticky error, or TR_EINVAL if containers are still open or
 * nothing was written. TR_OK means out holds one complete JSON value
 * (appended after whatever out held before tr_json_init).
 */
int tr_json_finish(const struct tr_json *w);

int tr_json_object_begin(struct tr_json *w);
int tr_json_object_end(struct tr_json *w);
int tr_json_array_begin(struct tr_json *w);
int tr_json_array_end(struct tr_json *w);

/* An object key (escaped like a string). Only valid inside an object. */
int tr_json_key(struct tr_json *w, const char *key);
int tr_json_key_len(struct tr_json *w, const char *key, size_t len);

/*
 * A string value. Escapes '"', '\\' and control characters (\n \r \t \b \f
 * in their short forms, the others as \u00XX); valid UTF-8 passes through
 * unchanged and every byte that is not part of a valid UTF-8 sequence is
 * replaced by U+FFFD. s may be NULL only with len 0.
 */
int tr_json_string(struct tr_json *w, const char *s);
int tr_json_string_len(struct tr_json *w, const char *s, size_t len);

int tr_json_int(struct tr_json *w, int64_t v);
int tr_json_uint(struct tr_json *w, uint64_t v);
/*
 * The shortest decimal that parses back to v, laid out like Go's
 * encoding/json and JavaScript: plain digits for 1e-6 <= |v| < 1e21 (and
 * 0), exponent form otherwise ("1e+21", "1e-7"). NaN and +/-Inf are not
 * JSON: they fail with TR_EINVAL (sticky). Callers that need them use
 * tr_json_prom_value(), which writes a string.
 */
int tr_json_double(struct tr_json *w, double v);
int tr_json_bool(struct tr_json *w, bool v);
int tr_json_null(struct tr_json *w);
/* A pre-encoded JSON value, copied verbatim (not validated). */
int tr_json_raw(struct tr_json *w, const char *json, size_t len);

/*
 * A sample value the way the Prometheus HTTP API prints it: a JSON string
 * holding Go's strconv.FormatFloat(v, f, -1, 64) where f is 'e' when v is
 * not 0 and |v| < 1e-6 or |v| >= 1e21, else 'f'. So 1 -> "1", 0.1 -> "0.1",
 * 1e20 -> "100000000000000000000", 1e21 -> "1e+21", 1e-7 -> "1e-07",
 * -0 -> "-0", and the specials are "NaN", "+Inf", "-Inf".
 */
int tr_json_prom_value(struct tr_json *w, double v);

/*
 * A Prometheus API timestamp from Unix milliseconds: a JSON number of
 * seconds with the millisecond fraction written as exactly three digits
 * when it is not zero ("1700000000.123", "1.500", "4").
 */
int tr_json_unix_ms(struct tr_json *w, int64_t ms);

/* Longest text tr_json_format_float writes, including the NUL. */
#define TR_JSON_FLOAT_MAX 32

/*
 * Formats v like Go's strconv.FormatFloat(v, fmt, -1, 64): the shortest
 * digits that parse back to v, laid out per fmt: 'f' (no exponent), 'e'
 * (d.ddde+XX, exponent at least two digits) or 'g' ('e' when the decimal
 * exponent is < -4 or >= 6, else 'f': 1e+06, 123456, 1.5e-05; this is what
 * the Prometheus text exposition format uses). NaN, +Inf and -Inf become "NaN",
 * "+Inf", "-Inf". out must hold TR_JSON_FLOAT_MAX bytes for 'e'/'g'; 'f' needs
 * up to 330 bytes for extreme values, so this returns the length it needed and
 * writes nothing but a NUL-terminated prefix when size is too small (like
 * snprintf). Returns the length without the NUL.
 */
size_t tr_json_format_float(double v, char fmt, char *out, size_t size);

/*
 * Appends s escaped as a JSON string, quotes included, to out without a
 * writer (for callers building fragments for tr_json_raw). TR_OK or
 * TR_ENOMEM.
 */
int tr_json_append_string(struct tr_buf *out, const char *s, size_t len);

#endif
