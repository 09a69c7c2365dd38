#include "tsdb/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "tsdb/varint.h"

/*
 * count is cached so tr_labels_count is O(1); len is the size of the
 * canonical encoding in data[].
 */
struct tr_labels {
    uint32_t len;
    uint32_t count;
    unsigned char data[];
};

/* Pairs up to this many are sorted on the stack. */
#define STACK_PAIRS 32

/* ==== construction ===================================================== */

static int
bytes_compare(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int
pair_compare(const void *pa, const void *pb)
{
    const struct tr_label *a = pa;
    const struct tr_label *b = pb;
    return bytes_compare(a->name, a->name_len, b->name, b->name_len);
}

/* Allocates a set with room for len encoded bytes. */
static struct tr_labels *
labels_alloc(size_t len, size_t count)
{
    if (len > UINT32_MAX || count > UINT32_MAX) {
        return NULL;
    }
    struct tr_labels *ls = tr_malloc(sizeof(*ls) + len);
    if (ls != NULL) {
        ls->len = (uint32_t)len;
        ls->count = (uint32_t)count;
    }
    return ls;
}

int
tr_labels_from_pairs(const struct tr_label *pairs, size_t n,
                     struct tr_labels **out, struct tr_err *err)
{
    struct tr_label stack[STACK_PAIRS];
    struct tr_label *sorted = stack;
    int rc = TR_OK;

    *out = NULL;
    if (n > STACK_PAIRS) {
        sorted = tr_malloc(n * sizeof(*sorted));
        if (sorted == NULL) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot build label set: out of memory");
        }
    }
    /* Drop empty values first, so they cannot count as duplicates. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].name_len == 0) {
            rc = tr_err_set(err, TR_EINVAL,
                            "cannot build label set: empty label name");
            goto done;
        }
        if (pairs[i].value_len > 0) {
            sorted[kept++] = pairs[i];
        }
    }
    if (kept > 1) {
        qsort(sorted, kept, sizeof(*sorted), pair_compare);
    }
    size_t len = 0;
    for (size_t i = 0; i < kept; i++) {
        if (i > 0 && pair_compare(&sorted[i - 1], &sorted[i]) == 0) {
            int show = sorted[i].name_len > 100 ? 100 : (int)sorted[i].name_len;
            rc = tr_err_set(err, TR_EINVAL,
                            "cannot build label set: duplicate label name "
                            "\"%.*s\"",
                            show, sorted[i].name);
            goto done;
        }
        len += tr_varint_size(sorted[i].name_len) + sorted[i].name_len +
               tr_varint_size(sorted[i].value_len) + sorted[i].value_len;
    }
    struct tr_labels *ls = labels_alloc(len, kept);
    if (ls == NULL) {
        rc = tr_err_set(err, TR_ENOMEM,
                        "cannot build label set: out of memory");
        goto done;
    }
    unsigned char *p = ls->data;
    for (size_t i = 0; i < kept; i++) {
        p += tr_varint_put(p, sorted[i].name_len);
        memcpy(p, sorted[i].name, sorted[i].name_len);
        p += sorted[i].name_len;
        p += tr_varint_put(p, sorted[i].value_len);
        memcpy(p, sorted[i].value, sorted[i].value_len);
        p += sorted[i].value_len;
    }
    *out = ls;
done:
    if (sorted != stack) {
        tr_free(sorted);
    }
    return rc;
}

int
tr_labels_from_strings(const char *const *kv, size_t n_pairs,
                       struct tr_labels **out, struct tr_err *err)
{
    struct tr_label stack[STACK_PAIRS] = {{0}}; /* quiets gcc -O2 */
    struct tr_label *pairs = stack;
    if (n_pairs > STACK_PAIRS) {
        pairs = tr_malloc(n_pairs * sizeof(*pairs));
        if (pairs == NULL) {
            *out = NULL;
            return tr_err_set(err, TR_ENOMEM,
                              "cannot build label set: out of memory");
        }
    }
    for (size_t i = 0; i < n_pairs; i++) {
        pairs[i].name = kv[2 * i];
        pairs[i].name_len = strlen(kv[2 * i]);
        pairs[i].value = kv[2 * i + 1];
        pairs[i].value_len = strlen(kv[2 * i + 1]);
    }
    int rc = tr_labels_from_pairs(pairs, n_pairs, out, err);
    if (pairs != stack) {
        tr_free(pairs);
    }
    return rc;
}

struct tr_labels *
tr_labels_dup(const struct tr_labels *ls)
{
    struct tr_labels *copy = labels_alloc(ls->len, ls->count);
    if (copy != NULL) {
        memcpy(copy->data, ls->data, ls->len);
    }
    return copy;
}

void
tr_labels_destroy(struct tr_labels *ls)
{
    tr_free(ls);
}

int
tr_labels_decode(const void *data, size_t len, struct tr_labels **out,
                 struct tr_err *err)
{
    const unsigned char *p = data;
    const unsigned char *end = p + len;
    const unsigned char *prev_name = NULL;
    size_t prev_len = 0;
    size_t count = 0;

    *out = NULL;
    while (p < end) {
        uint64_t nlen, vlen;
        size_t k = tr_varint_get(p, end, &nlen);
        if (k == 0 || nlen == 0 || nlen > (uint64_t)(end - p - k)) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot decode label set: bad name length at "
                              "byte %zu",
                              (size_t)(p - (const unsigned char *)data));
        }
        const unsigned char *name = p + k;
        p = name + nlen;
        if (prev_name != NULL &&
            bytes_compare((const char *)prev_name, prev_len,
                          (const char *)name, nlen) >= 0) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot decode label set: names not strictly "
                              "increasing at byte %zu",
                              (size_t)(name - (const unsigned char *)data));
        }
        k = tr_varint_get(p, end, &vlen);
        if (k == 0 || vlen == 0 || vlen > (uint64_t)(end - p - k)) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot decode label set: bad value length at "
                              "byte %zu",
                              (size_t)(p - (const unsigned char *)data));
        }
        p += k + vlen;
        prev_name = name;
        prev_len = nlen;
        count++;
    }
    struct tr_labels *ls = labels_alloc(len, count);
    if (ls == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot decode label set: out of memory");
    }
    if (len > 0) {
        memcpy(ls->data, data, len);
    }
    *out = ls;
    return TR_OK;
}

/* ==== access =========================================================== */

size_t
tr_labels_count(const struct tr_labels *ls)
{
    return ls->count;
}

const void *
tr_labels_encoded(const struct tr_labels *ls, size_t *len)
{
    *len = ls->len;
    return ls->data;
}

size_t
tr_labels_memory(const struct tr_labels *ls)
{
    return sizeof(*ls) + ls->len;
}

void
tr_labels_iter_init(struct tr_labels_iter *it, const struct tr_labels *ls)
{
    it->pos = ls->data;
    it->end = ls->data + ls->len;
}

bool
tr_labels_iter_next(struct tr_labels_iter *it, struct tr_label *out)
{
    uint64_t n = 0;
    if (it->pos >= it->end) {
        return false;
    }
    /* The encoding was validated on construction. */
    it->pos += tr_varint_get(it->pos, it->end, &n);
    out->name = (const char *)it->pos;
    out->name_len = (size_t)n;
    it->pos += n;
    it->pos += tr_varint_get(it->pos, it->end, &n);
    out->value = (const char *)it->pos;
    out->value_len = (size_t)n;
    it->pos += n;
    return true;
}

bool
tr_labels_get(const struct tr_labels *ls, const char *name, size_t name_len,
              const char **value, size_t *value_len)
{
    struct tr_labels_iter it;
    struct tr_label l;
    tr_labels_iter_init(&it, ls);
    while (tr_labels_iter_next(&it, &l)) {
        int c = bytes_compare(l.name, l.name_len, name, name_len);
        if (c == 0) {
            if (value != NULL) {
                *value = l.value;
            }
            if (value_len != NULL) {
                *value_len = l.value_len;
            }
            return true;
        }
        if (c > 0) {
            break; /* sorted: it cannot come later */
        }
    }
    return false;
}

/* ==== comparison and hashing =========================================== */

int
tr_labels_compare(const struct tr_labels *a, const struct tr_labels *b)
{
    struct tr_labels_iter ia, ib;
    struct tr_label la, lb;
    tr_labels_iter_init(&ia, a);
    tr_labels_iter_init(&ib, b);
    for (;;) {
        bool more_a = tr_labels_iter_next(&ia, &la);
        bool more_b = tr_labels_iter_next(&ib, &lb);
        if (!more_a || !more_b) {
            return more_a ? 1 : more_b ? -1 : 0;
        }
        int c = bytes_compare(la.name, la.name_len, lb.name, lb.name_len);
        if (c == 0) {
            c = bytes_compare(la.value, la.value_len, lb.value, lb.value_len);
        }
        if (c != 0) {
            return c;
        }
    }
}

bool
tr_labels_equal(const struct tr_labels *a, const struct tr_labels *b)
{
    /* The encoding is canonical, so equal sets have equal bytes. */
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

uint64_t
tr_labels_hash(const struct tr_labels *ls)
{
    return XXH3_64bits_withSeed(ls->data, ls->len, 0);
}

uint64_t
tr_labels_hash_seeded(const struct tr_labels *ls, uint64_t seed)
{
    return XXH3_64bits_withSeed(ls->data, ls->len, seed);
}

/* ==== text form: printing ============================================== */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

static int
append_quoted(struct tr_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    int rc = tr_buf_append_byte(out, '"');
    size_t i = 0;
    while (rc == TR_OK && i < n) {
        unsigned char c = p[i];
        size_t seq;
        if (c == '\\' || c == '"') {
            char e[2] = {'\\', (char)c};
            rc = tr_buf_append(out, e, 2);
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            char e[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
            rc = tr_buf_append(out, e, 2);
            i++;
        } else if (c >= 0x20 && c != 0x7f &&
                   (seq = utf8_seq_len(p + i, n - i)) > 0) {
            rc = tr_buf_append(out, p + i, seq);
            i += seq;
        } else {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            rc = tr_buf_append(out, e, 4);
            i++;
        }
    }
    if (rc == TR_OK) {
        rc = tr_buf_append_byte(out, '"');
    }
    return rc;
}

static bool
is_identifier(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

int
tr_labels_format(const struct tr_labels *ls, struct tr_buf *out)
{
    struct tr_labels_iter it;
    struct tr_label l;
    bool first = true;
    int rc = tr_buf_append_byte(out, '{');
    tr_labels_iter_init(&it, ls);
    while (rc == TR_OK && tr_labels_iter_next(&it, &l)) {
        if (!first) {
            rc = tr_buf_append(out, ", ", 2);
        }
        first = false;
        if (rc == TR_OK) {
            rc = is_identifier(l.name, l.name_len)
                     ? tr_buf_append(out, l.name, l.name_len)
                     : append_quoted(out, l.name, l.name_len);
        }
        if (rc == TR_OK) {
            rc = tr_buf_append_byte(out, '=');
        }
        if (rc == TR_OK) {
            rc = append_quoted(out, l.value, l.value_len);
        }
    }
    if (rc == TR_OK) {
        rc = tr_buf_append_byte(out, '}');
    }
    return rc;
}

/* ==== text form: parsing =============================================== */

struct parser {
    const char *s;
    size_t len;
    size_t pos;
    struct tr_err *err;
    struct tr_buf str; /* the last quoted string, unescaped */
};

static int
parse_error(struct parser *p, size_t at, const char *cause)
{
    return tr_err_set(p->err, TR_EINVAL,
                      "cannot parse labels: %s at offset %zu", cause, at);
}

static void
skip_space(struct parser *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
            p->s[p->pos] == '\n' || p->s[p->pos] == '\r')) {
        p->pos++;
    }
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int
append_utf8(struct tr_buf *b, uint32_t cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
    }
    return tr_buf_append(b, u, n);
}

/* Reads one escape after a backslash at p->pos - 1 into p->str. */
static int
parse_escape(struct parser *p)
{
    size_t at = p->pos - 1;
    if (p->pos >= p->len) {
        return parse_error(p, at, "unterminated quoted string");
    }
    char c = p->s[p->pos++];
    const char *simple = "a\ab\bf\fn\nr\rt\tv\v\\\\''\"\"";
    for (const char *q = simple; *q != '\0'; q += 2) {
        if (c == q[0]) {
            return tr_buf_append_byte(&p->str, q[1]);
        }
    }
    if (c >= '0' && c <= '7') {
        unsigned v = (unsigned)(c - '0');
        for (int i = 0; i < 2; i++) {
            if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '7') {
                return parse_error(p, at, "octal escape needs 3 digits");
            }
            v = v * 8 + (unsigned)(p->s[p->pos++] - '0');
        }
        if (v > 255) {
            return parse_error(p, at, "octal escape value above 255");
        }
        return tr_buf_append_byte(&p->str, (char)v);
    }
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits == 0) {
        char cause[64];
        snprintf(cause, sizeof(cause), "unknown escape sequence \\%c", c);
        return parse_error(p, at, cause);
    }
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        int h = p->pos < p->len ? hex_value(p->s[p->pos]) : -1;
        if (h < 0) {
            char cause[64];
            snprintf(cause, sizeof(cause), "escape \\%c needs %d hex digits",
                     c, digits);
            return parse_error(p, at, cause);
        }
        v = v * 16 + (uint32_t)h;
        p->pos++;
    }
    if (c == 'x') {
        return tr_buf_append_byte(&p->str, (char)v);
    }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return parse_error(p, at, "escape is not a valid Unicode code point");
    }
    return append_utf8(&p->str, v);
}

/* Reads a quoted string starting at p->pos into p->str. */
static int
parse_quoted(struct parser *p)
{
    size_t start = p->pos;
    char quote = p->s[p->pos++];
    int rc = TR_OK;
    tr_buf_reset(&p->str);
    while (rc == TR_OK) {
        if (p->pos >= p->len) {
            return parse_error(p, start, "unterminated quoted string");
        }
        char c = p->s[p->pos++];
        if (c == quote) {
            return TR_OK;
        }
        if (quote != '`' && c == '\n') {
            return parse_error(p, start, "newline in quoted string");
        }
        if (quote != '`' && c == '\\') {
            rc = parse_escape(p);
        } else {
            rc = tr_buf_append_byte(&p->str, c);
        }
    }
    return rc;
}

static bool
is_quote(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

static bool
is_ident_char(char c, bool first, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* Length of the identifier at p->pos (0 when there is none). */
static size_t
ident_len(const struct parser *p, bool colon)
{
    size_t n = 0;
    while (p->pos + n < p->len &&
           is_ident_char(p->s[p->pos + n], n == 0, colon)) {
        n++;
    }
    return n;
}

static int
parse_labels(struct parser *p, struct tr_labels_builder *b)
{
    int rc;
    skip_space(p);
    size_t n = ident_len(p, true);
    if (n > 0) {
        rc = tr_labels_builder_add(b, TR_LABEL_METRIC_NAME,
                                   strlen(TR_LABEL_METRIC_NAME),
                                   p->s + p->pos, n);
        if (rc != TR_OK) {
            return rc;
        }
        p->pos += n;
        skip_space(p);
    }
    if (p->pos >= p->len || p->s[p->pos] != '{') {
        return parse_error(p, p->pos, "expected '{'");
    }
    p->pos++;
    for (;;) {
        skip_space(p);
        if (p->pos >= p->len) {
            return parse_error(p, p->pos, "expected '}'");
        }
        if (p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        /* Label name: identifier or quoted string. */
        size_t name_at = p->pos;
        char *name;
        size_t name_len;
        bool quoted = is_quote(p->s[p->pos]);
        if (quoted) {
            if ((rc = parse_quoted(p)) != TR_OK) {
                return rc;
            }
            name_len = p->str.len;
            name = tr_strndup(p->str.data != NULL ? p->str.data : "",
                              name_len);
        } else {
            name_len = ident_len(p, false);
            if (name_len == 0) {
                return parse_error(p, p->pos, "expected label name");
            }
            name = tr_strndup(p->s + p->pos, name_len);
            p->pos += name_len;
        }
        if (name == NULL) {
            return tr_err_set(p->err, TR_ENOMEM,
                              "cannot parse labels: out of memory");
        }
        skip_space(p);
        if (quoted && p->pos < p->len &&
            (p->s[p->pos] == ',' || p->s[p->pos] == '}')) {
            /* {"metric.name", ...}: a bare quoted string is the name. */
            rc = tr_labels_builder_add(b, TR_LABEL_METRIC_NAME,
                                       strlen(TR_LABEL_METRIC_NAME), name,
                                       name_len);
        } else if (p->pos >= p->len || p->s[p->pos] != '=') {
            rc = parse_error(p, p->pos, "expected '=' after label name");
        } else if (p->pos + 1 < p->len &&
                   (p->s[p->pos + 1] == '~' || p->s[p->pos + 1] == '=')) {
            rc = parse_error(p, p->pos, "expected '=', a label set takes "
                                        "no matchers");
        } else {
            p->pos++;
            skip_space(p);
            if (p->pos >= p->len || !is_quote(p->s[p->pos])) {
                rc = parse_error(p, p->pos, "expected quoted label value");
            } else if ((rc = parse_quoted(p)) == TR_OK) {
                if (name_len == 0) {
                    rc = parse_error(p, name_at, "empty label name");
                } else {
                    rc = tr_labels_builder_add(b, name, name_len,
                                               p->str.data, p->str.len);
                }
            }
        }
        tr_free(name);
        if (rc != TR_OK) {
            return rc;
        }
        skip_space(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
        } else if (p->pos >= p->len || p->s[p->pos] != '}') {
            return parse_error(p, p->pos, "expected ',' or '}'");
        }
    }
    skip_space(p);
    if (p->pos != p->len) {
        return parse_error(p, p->pos, "unexpected text after '}'");
    }
    return TR_OK;
}

int
tr_labels_parse(const char *text, size_t len, struct tr_labels **out,
                struct tr_err *err)
{
    struct parser p = {text, len, 0, err, TR_BUF_INIT};
    struct tr_labels_builder b;
    tr_labels_builder_init(&b);
    *out = NULL;
    int rc = parse_labels(&p, &b);
    if (rc == TR_OK) {
        rc = tr_labels_builder_build(&b, out, err);
        if (rc == TR_EINVAL) {
            tr_err_prefix(err, "cannot parse labels");
        }
    }
    tr_buf_fini(&p.str);
    tr_labels_builder_fini(&b);
    return rc;
}

/* ==== builder ========================================================== */

void
tr_labels_builder_init(struct tr_labels_builder *b)
{
    memset(b, 0, sizeof(*b));
}

void
tr_labels_builder_fini(struct tr_labels_builder *b)
{
    tr_free(b->strs);
    tr_free(b->pairs);
    memset(b, 0, sizeof(*b));
}

void
tr_labels_builder_reset(struct tr_labels_builder *b)
{
    b->strs_len = 0;
    b->len = 0;
}

static int
builder_store(struct tr_labels_builder *b, const char *s, size_t n,
              size_t *off)
{
    if (b->strs == NULL || b->strs_len + n > b->strs_cap) {
        size_t cap = b->strs_cap == 0 ? 256 : b->strs_cap * 2;
        while (cap < b->strs_len + n) {
            cap *= 2;
        }
        char *strs = tr_realloc(b->strs, cap);
        if (strs == NULL) {
            return TR_ENOMEM;
        }
        b->strs = strs;
        b->strs_cap = cap;
    }
    if (n > 0) {
        memcpy(b->strs + b->strs_len, s, n);
    }
    *off = b->strs_len;
    b->strs_len += n;
    return TR_OK;
}

int
tr_labels_builder_add(struct tr_labels_builder *b, const char *name,
                      size_t name_len, const char *value, size_t value_len)
{
    if (b->len == b->cap) {
        size_t cap = b->cap == 0 ? 16 : b->cap * 2;
        void *pairs = tr_realloc(b->pairs, cap * sizeof(*b->pairs));
        if (pairs == NULL) {
            return TR_ENOMEM;
        }
        b->pairs = pairs;
        b->cap = cap;
    }
    struct tr_labels_builder_pair *pair = &b->pairs[b->len];
    if (builder_store(b, name, name_len, &pair->name_off) != TR_OK ||
        builder_store(b, value, value_len, &pair->value_off) != TR_OK) {
        return TR_ENOMEM;
    }
    pair->name_len = name_len;
    pair->value_len = value_len;
    pair->deleted = false;
    b->len++;
    return TR_OK;
}

void
tr_labels_builder_del(struct tr_labels_builder *b, const char *name,
                      size_t name_len)
{
    for (size_t i = 0; i < b->len; i++) {
        struct tr_labels_builder_pair *pair = &b->pairs[i];
        if (!pair->deleted &&
            bytes_compare(b->strs + pair->name_off, pair->name_len, name,
                          name_len) == 0) {
            pair->deleted = true;
        }
    }
}

int
tr_labels_builder_set(struct tr_labels_builder *b, const char *name,
                      size_t name_len, const char *value, size_t value_len)
{
    tr_labels_builder_del(b, name, name_len);
    if (value_len == 0) {
        return TR_OK;
    }
    return tr_labels_builder_add(b, name, name_len, value, value_len);
}

int
tr_labels_builder_add_all(struct tr_labels_builder *b,
                          const struct tr_labels *ls)
{
    struct tr_labels_iter it;
    struct tr_label l;
    tr_labels_iter_init(&it, ls);
    while (tr_labels_iter_next(&it, &l)) {
        int rc = tr_labels_builder_add(b, l.name, l.name_len, l.value,
                                       l.value_len);
        if (rc != TR_OK) {
            return rc;
        }
    }
    return TR_OK;
}

int
tr_labels_builder_build(const struct tr_labels_builder *b,
                        struct tr_labels **out, struct tr_err *err)
{
    struct tr_label stack[STACK_PAIRS] = {{0}}; /* quiets gcc -O2 */
    struct tr_label *pairs = stack;
    if (b->len > STACK_PAIRS) {
        pairs = tr_malloc(b->len * sizeof(*pairs));
        if (pairs == NULL) {
            *out = NULL;
            return tr_err_set(err, TR_ENOMEM,
                              "cannot build label set: out of memory");
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++) {
        const struct tr_labels_builder_pair *pair = &b->pairs[i];
        if (!pair->deleted) {
            pairs[n].name = b->strs + pair->name_off;
            pairs[n].name_len = pair->name_len;
            pairs[n].value = b->strs + pair->value_off;
            pairs[n].value_len = pair->value_len;
            n++;
        }
    }
    int rc = tr_labels_from_pairs(pairs, n, out, err);
    if (pairs != stack) {
        tr_free(pairs);
    }
    return rc;
}
