/*
 * Tenant ids of writes (X-Scope-OrgID), with the rules of dskit that Mimir,
 * Loki and Tempo share.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "distributor_internal.h"

static bool
tenant_char_ok(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("!-_.*'()", c) != NULL;
}

int
distributor_tenant_validate(const char *id, size_t len, struct tr_err *err)
{
    if (len == 0) {
        return tr_err_set(err, TR_EINVAL, "tenant ID is empty");
    }
    if (len > DISTRIBUTOR_TENANT_MAX) {
        return tr_err_set(err, TR_EINVAL,
                          "tenant ID is too long: max %d characters",
                          DISTRIBUTOR_TENANT_MAX);
    }
    if ((len == 1 && id[0] == '.') ||
        (len == 2 && id[0] == '.' && id[1] == '.')) {
        return tr_err_set(err, TR_EINVAL, "tenant ID '%.*s' is not allowed",
                          (int)len, id);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!tenant_char_ok(c)) {
            if (c >= 0x20 && c < 0x7f) {
                return tr_err_set(err, TR_EINVAL,
                                  "tenant ID '%.*s' contains unsupported "
                                  "character '%c'",
                                  (int)len, id, c);
            }
            return tr_err_set(err, TR_EINVAL,
                              "tenant ID contains unsupported byte 0x%02x", c);
        }
    }
    return TR_OK;
}

int
distributor_tenant_resolve(const char *header, bool auth_enabled,
                           const char *no_auth_tenant, char *out, size_t size,
                           struct tr_err *err)
{
    if (header == NULL || *header == '\0') {
        if (auth_enabled) {
            return tr_err_set(err, TR_EDENIED, "no org id");
        }
        header = no_auth_tenant;
    }
    size_t len = strlen(header);
    if (memchr(header, '|', len) != NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "multiple org IDs present: a write needs exactly "
                          "one tenant");
    }
    if (distributor_tenant_validate(header, len, err) != TR_OK) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    if (len + 1 > size) {
        return tr_err_set(err, TR_EINVAL,
                          "tenant ID is too long: max %d characters",
                          DISTRIBUTOR_TENANT_MAX);
    }
    memcpy(out, header, len + 1);
    return TR_OK;
}
