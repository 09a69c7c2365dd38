/*
 * The tenant of a request, from the X-Scope-OrgID header, with the rules of
 * Loki, Mimir and Tempo (dskit): an id is at most TR_TENANT_MAX bytes of
 * ASCII letters, digits and ! - _ . * ' ( ), and is not "." or "..".
 *
 * A request with the header belongs to the tenant it names. Without it,
 * the request belongs to the configured no-auth tenant when auth is
 * disabled (so data pushed without a header is queryable without one), and
 * is refused ("no org id", HTTP 401) when auth is enabled. A list of several
 * tenants ("a|b") is refused: writes need one tenant, and queries across
 * tenants are not supported yet.
 */
#ifndef TR_TENANT_TENANT_H
#define TR_TENANT_TENANT_H

#include <stdbool.h>
#include <stddef.h>

struct tr_err;

/* Longest tenant id, in bytes. */
#define TR_TENANT_MAX 150

/* The request header carrying the tenant. */
#define TR_TENANT_HEADER "X-Scope-OrgID"

/*
 * Checks one tenant id of len bytes. TR_OK, or TR_EINVAL with the dskit
 * message: "tenant ID 'a/b' contains unsupported character '/'",
 * "tenant ID is too long: max 150 characters", "tenant ID is '.' or '..'",
 * or "no org id" for an empty id.
 */
int tr_tenant_validate(const char *id, size_t len, struct tr_err *err);

/*
 * Resolves the tenant of a request whose X-Scope-OrgID header is header
 * (NULL when absent) into out (size at least TR_TENANT_MAX + 1,
 * NUL-terminated): the header's tenant when present, else no_auth_tenant
 * when auth is disabled. Returns TR_EDENIED ("no org id") when auth is
 * enabled and the header is missing or empty, TR_EINVAL for several ids
 * ("multiple org IDs present") or an invalid one (see
 * tr_tenant_validate).
 * Suggested statuses: 401 for TR_EDENIED, 400 for TR_EINVAL.
 */
int tr_tenant_resolve(const char *header, bool auth_enabled,
                      const char *no_auth_tenant, char *out, size_t size,
                      struct tr_err *err);

#endif
