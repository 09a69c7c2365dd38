/* PromQL selector matchers -> lib/tsdb matchers (storage.h). */
#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"
#include "promql/ast.h"
#include "promql/storage.h"
#include "tsdb/matcher.h"

static enum tr_match_type
match_type(enum tr_promql_match_type t)
{
    switch (t) {
    case TR_PROMQL_MATCH_NEQ:
        return TR_MATCH_NOT_EQUAL;
    case TR_PROMQL_MATCH_RE:
        return TR_MATCH_REGEX;
    case TR_PROMQL_MATCH_NRE:
        return TR_MATCH_NOT_REGEX;
    case TR_PROMQL_MATCH_EQ:
        break;
    }
    return TR_MATCH_EQUAL;
}

static void
destroy_matchers(void *arg)
{
    struct tr_matcher **m = arg;
    for (size_t i = 0; m[i] != NULL; i++) {
        tr_matcher_destroy(m[i]);
    }
}

int
tr_promql_selector_matchers(struct tr_arena *arena,
                            const struct tr_promql_vector_selector *vs,
                            struct tr_matcher ***out, size_t *n,
                            struct tr_err *err)
{
    /* Zeroed with room for the terminator, so the cleanup hook registered
     * now frees exactly the matchers built so far, whatever fails. */
    struct tr_matcher **m =
        tr_arena_calloc(arena, vs->n_matchers + 1, sizeof(*m));
    if (m == NULL || tr_arena_on_reset(arena, destroy_matchers, m) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < vs->n_matchers; i++) {
        const struct tr_promql_matcher *pm = &vs->matchers[i];
        m[i] = tr_matcher_create(match_type(pm->type), pm->name.data,
                                 pm->name.len, pm->value.data, pm->value.len,
                                 err);
        if (m[i] == NULL) {
            return err != NULL && err->code != TR_OK ? err->code : TR_ENOMEM;
        }
    }
    *out = m;
    *n = vs->n_matchers;
    return TR_OK;
}
