/*
 * Just enough XML for S3 responses, and the URI encoding SigV4 wants.
 * See internal.h for what is and is not supported.
 */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "objstore/internal.h"

static bool
is_name_end(char c)
{
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' ||
           c == '\n';
}

bool
tr_xml_find(const char *doc, size_t len, size_t *from, const char *name,
            struct tr_xml_span *inner)
{
    size_t nlen = strlen(name);
    size_t i = *from;
    while (i < len) {
        const char *lt = memchr(doc + i, '<', len - i);
        if (lt == NULL) {
            return false;
        }
        size_t at = (size_t)(lt - doc);
        if (at + 1 + nlen < len && memcmp(lt + 1, name, nlen) == 0 &&
            is_name_end(lt[1 + nlen])) {
            /* Opening tag found: skip attributes to its '>'. */
            const char *gt = memchr(lt + 1 + nlen, '>', len - (at + 1 + nlen));
            if (gt == NULL) {
                return false;
            }
            if (gt[-1] == '/') { /* <name/>: present and empty */
                inner->p = gt + 1;
                inner->len = 0;
                *from = (size_t)(gt + 1 - doc);
                return true;
            }
            size_t content = (size_t)(gt + 1 - doc);
            /* Find "</name" followed by optional blanks and '>'. */
            for (size_t j = content; j + 2 + nlen < len; j++) {
                const char *c = memchr(doc + j, '<', len - j);
                if (c == NULL) {
                    return false;
                }
                j = (size_t)(c - doc);
                if (j + 2 + nlen < len && c[1] == '/' &&
                    memcmp(c + 2, name, nlen) == 0) {
                    size_t k = j + 2 + nlen;
                    while (k < len && (doc[k] == ' ' || doc[k] == '\t' ||
                                       doc[k] == '\r' || doc[k] == '\n')) {
                        k++;
                    }
                    if (k < len && doc[k] == '>') {
                        inner->p = doc + content;
                        inner->len = j - content;
                        *from = k + 1;
                        return true;
                    }
                }
            }
            return false;
        }
        i = at + 1;
    }
    return false;
}

static int
append_utf8(struct tr_buf *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return tr_buf_append(out, b, n);
}

int
tr_xml_unescape(struct tr_xml_span span, struct tr_buf *out)
{
    static const struct {
        const char *name;
        char c;
    } entities[] = {
        {"amp;", '&'},  {"lt;", '<'},    {"gt;", '>'},
        {"quot;", '"'}, {"apos;", '\''},
    };
    const char *p = span.p;
    const char *end = span.p + span.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL) {
            return tr_buf_append(out, p, (size_t)(end - p));
        }
        if (tr_buf_append(out, p, (size_t)(amp - p)) != TR_OK) {
            return TR_ENOMEM;
        }
        const char *semi = memchr(amp, ';', (size_t)(end - amp));
        if (semi == NULL || semi - amp > 12) {
            return TR_EINVAL;
        }
        size_t rlen = (size_t)(semi - amp); /* after '&', with ';' */
        int rc = TR_EINVAL;
        if (amp[1] == '#') {
            bool hex = rlen > 2 && (amp[2] == 'x' || amp[2] == 'X');
            const char *d = amp + (hex ? 3 : 2);
            unsigned long cp = 0;
            if (d == semi) {
                return TR_EINVAL;
            }
            for (; d < semi; d++) {
                int v;
                if (*d >= '0' && *d <= '9') {
                    v = *d - '0';
                } else if (hex && *d >= 'a' && *d <= 'f') {
                    v = *d - 'a' + 10;
                } else if (hex && *d >= 'A' && *d <= 'F') {
                    v = *d - 'A' + 10;
                } else {
                    return TR_EINVAL;
                }
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                if (cp > 0x10ffff) {
                    return TR_EINVAL;
                }
            }
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
                return TR_EINVAL;
            }
            rc = append_utf8(out, cp);
        } else {
            for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]);
                 i++) {
                size_t n = strlen(entities[i].name);
                if (n == rlen && memcmp(amp + 1, entities[i].name, n) == 0) {
                    rc = tr_buf_append_byte(out, entities[i].c);
                    break;
                }
            }
        }
        if (rc != TR_OK) {
            return rc;
        }
        p = semi + 1;
    }
    return TR_OK;
}

int
tr_xml_escape(const char *s, size_t len, struct tr_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            break;
        }
        int rc =
            rep ? tr_buf_append_str(out, rep) : tr_buf_append_byte(out, s[i]);
        if (rc != TR_OK) {
            return rc;
        }
    }
    return TR_OK;
}

int
tr_s3_uri_encode(const char *s, bool keep_slash, struct tr_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                     c == '_' || c == '~' || (keep_slash && c == '/');
        int rc;
        if (plain) {
            rc = tr_buf_append_byte(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 0xf]};
            rc = tr_buf_append(out, e, 3);
        }
        if (rc != TR_OK) {
            return rc;
        }
    }
    return TR_OK;
}
