#include "tenant/tenant.h"

#include <string.h>

#include "base/err.h"

static bool
supported(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("!-_.*'()", c) != NULL;
}

int
tr_tenant_validate(const char *id, size_t len, struct tr_err *err)
{
    if (len == 0) {
        return tr_err_set(err, TR_EINVAL, "no org id");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!supported(c)) {
            /* dskit prints the whole rune; show a UTF-8 sequence whole. */
            size_t n = 1;
            while (c >= 0xc0 && i + n < len &&
                   ((unsigned char)id[i + n] & 0xc0) == 0x80 && n < 4) {
                n++;
            }
            return tr_err_set(err, TR_EINVAL,
                              "tenant ID '%.*s' contains unsupported "
                              "character '%.*s'",
                              (int)len, id, (int)n, id + i);
        }
    }
    if (len > TR_TENANT_MAX) {
        return tr_err_set(err, TR_EINVAL,
                          "tenant ID is too long: max %d characters",
                          TR_TENANT_MAX);
    }
    if ((len == 1 && id[0] == '.') ||
        (len == 2 && id[0] == '.' && id[1] == '.')) {
        return tr_err_set(err, TR_EINVAL, "tenant ID is '.' or '..'");
    }
    return TR_OK;
}

int
tr_tenant_resolve(const char *header, bool auth_enabled,
                  const char *no_auth_tenant, char *out, size_t size,
                  struct tr_err *err)
{
    /* The header names the tenant whenever it is present; without it, auth
     * decides between refusing and the no-auth tenant. */
    const char *id = header != NULL && *header != '\0' ? header : NULL;
    if (id == NULL) {
        if (auth_enabled) {
            return tr_err_set(err, TR_EDENIED, "no org id");
        }
        id = no_auth_tenant;
    }
    size_t len = strlen(id);
    /* "a|b" names several tenants (federated queries, unsupported; writes
     * need one); dskit treats "a|a" as the one tenant a. */
    const char *bar = memchr(id, '|', len);
    size_t first = bar != NULL ? (size_t)(bar - id) : len;
    for (const char *p = bar; p != NULL;) {
        const char *part = p + 1;
        const char *next = memchr(part, '|', (size_t)(id + len - part));
        size_t n = next != NULL ? (size_t)(next - part)
                                : (size_t)(id + len - part);
        if (n != first || memcmp(part, id, n) != 0) {
            return tr_err_set(err, TR_EINVAL, "multiple org IDs present");
        }
        p = next;
    }
    len = first;
    int rc = tr_tenant_validate(id, len, err);
    if (rc != TR_OK) {
        return rc;
    }
    if (len + 1 > size) {
        return tr_err_set(err, TR_EINVAL,
                          "tenant ID is too long: max %d characters",
                          TR_TENANT_MAX);
    }
    memcpy(out, id, len);
    out[len] = '\0';
    return TR_OK;
}
