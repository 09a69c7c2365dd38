#include "tsdb/matcher.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdatomic.h>
#include <string.h>

#include <pcre2.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

/* How a value is tested; the regex engine is the last resort. */
enum strategy {
    BY_LITERAL,  /* byte comparison with value */
    BY_ANY,      /* ".*": everything */
    BY_NONEMPTY, /* ".+": every non-empty value */
    BY_REGEX,
};

struct tr_matcher {
    enum tr_match_type type;
    enum strategy strategy;
    bool matches_empty;
    char *name;
    size_t name_len;
    char *value;
    size_t value_len;
    pcre2_code *code;
    pcre2_match_context *mctx;
    /* One cached match data block; a thread that finds it busy makes its
     * own, so concurrent matching needs no lock. */
    pcre2_match_data *md;
    atomic_flag md_busy;
};

static bool
is_literal(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr("\\^$.|?*+()[]{}", s[i]) != NULL && s[i] != '\0') {
            return false;
        }
    }
    return true;
}

static int
compile_regex(struct tr_matcher *m, struct tr_err *err)
{
    int code;
    PCRE2_SIZE offset;
    uint32_t opts = PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL |
                    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    int show = m->value_len > 200 ? 200 : (int)m->value_len;

    m->code = pcre2_compile((PCRE2_SPTR)m->value, m->value_len, opts, &code,
                            &offset, NULL);
    if (m->code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return tr_err_set(err, TR_EINVAL,
                          "cannot compile regex \"%.*s\": %s at offset %zu",
                          show, m->value, (const char *)msg, (size_t)offset);
    }
    /* Without JIT (unsupported CPU, no executable memory) the interpreter
     * still works, only slower. */
    (void)pcre2_jit_compile(m->code, PCRE2_JIT_COMPLETE);
    m->mctx = pcre2_match_context_create(NULL);
    m->md = pcre2_match_data_create(1, NULL);
    if (m->mctx == NULL || m->md == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot compile regex: out of memory");
    }
    pcre2_set_match_limit(m->mctx, TR_MATCHER_MATCH_LIMIT);
    pcre2_set_depth_limit(m->mctx, TR_MATCHER_MATCH_LIMIT);
    return TR_OK;
}

struct tr_matcher *
tr_matcher_create(enum tr_match_type type, const char *name, size_t name_len,
                  const char *value, size_t value_len, struct tr_err *err)
{
    struct tr_matcher *m = tr_calloc(1, sizeof(*m));
    if (m == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create matcher: out of memory");
        return NULL;
    }
    atomic_flag_clear(&m->md_busy);
    m->type = type;
    m->name = tr_strndup(name, name_len);
    m->value = tr_strndup(value, value_len);
    if (m->name == NULL || m->value == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create matcher: out of memory");
        goto fail;
    }
    m->name_len = name_len;
    m->value_len = value_len;
    bool regex = type == TR_MATCH_REGEX || type == TR_MATCH_NOT_REGEX;
    if (!regex || is_literal(value, value_len)) {
        m->strategy = BY_LITERAL;
    } else if (value_len == 2 && memcmp(value, ".*", 2) == 0) {
        m->strategy = BY_ANY;
    } else if (value_len == 2 && memcmp(value, ".+", 2) == 0) {
        m->strategy = BY_NONEMPTY;
    } else {
        m->strategy = BY_REGEX;
        if (compile_regex(m, err) != TR_OK) {
            goto fail;
        }
    }
    int rc = tr_matcher_match(m, "", 0, err);
    if (rc < 0) {
        goto fail;
    }
    m->matches_empty = rc == 1;
    return m;
fail:
    tr_matcher_destroy(m);
    return NULL;
}

void
tr_matcher_destroy(struct tr_matcher *m)
{
    if (m == NULL) {
        return;
    }
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    pcre2_code_free(m->code);
    tr_free(m->name);
    tr_free(m->value);
    tr_free(m);
}

static int
regex_match(const struct tr_matcher *m, const char *value, size_t len,
            struct tr_err *err)
{
    /* The cache flag is the only state touched; the rest is read-only. */
    struct tr_matcher *mm = (struct tr_matcher *)m;
    pcre2_match_data *md = NULL;
    bool cached = !atomic_flag_test_and_set_explicit(&mm->md_busy,
                                                     memory_order_acquire);
    if (cached) {
        md = mm->md;
    } else {
        md = pcre2_match_data_create(1, NULL);
        if (md == NULL) {
            return tr_err_set(err, TR_ENOMEM,
                              "cannot match regex: out of memory");
        }
    }
    /* PCRE2 wants a non-NULL subject even when it is empty. */
    int rc = pcre2_match(m->code, (PCRE2_SPTR)(len > 0 ? value : ""), len, 0,
                         0, md, m->mctx);
    if (cached) {
        atomic_flag_clear_explicit(&mm->md_busy, memory_order_release);
    } else {
        pcre2_match_data_free(md);
    }
    if (rc >= 0) {
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    int show = m->value_len > 200 ? 200 : (int)m->value_len;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        return tr_err_set(err, TR_ELIMIT,
                          "cannot match regex \"%.*s\": match limit "
                          "exceeded",
                          show, m->value);
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof(msg));
    return tr_err_set(err, TR_ELIMIT, "cannot match regex \"%.*s\": %s",
                      show, m->value, (const char *)msg);
}

int
tr_matcher_match(const struct tr_matcher *m, const char *value, size_t len,
                 struct tr_err *err)
{
    int rc;
    switch (m->strategy) {
    case BY_LITERAL:
        rc = len == m->value_len &&
             (len == 0 || memcmp(value, m->value, len) == 0);
        break;
    case BY_ANY:
        rc = 1;
        break;
    case BY_NONEMPTY:
        rc = len > 0;
        break;
    default:
        rc = regex_match(m, value, len, err);
        if (rc < 0) {
            return rc;
        }
        break;
    }
    bool negate = m->type == TR_MATCH_NOT_EQUAL ||
                  m->type == TR_MATCH_NOT_REGEX;
    return negate ? !rc : rc;
}

bool
tr_matcher_matches_empty(const struct tr_matcher *m)
{
    return m->matches_empty;
}

enum tr_match_type
tr_matcher_type(const struct tr_matcher *m)
{
    return m->type;
}

const char *
tr_matcher_name(const struct tr_matcher *m, size_t *len)
{
    *len = m->name_len;
    return m->name;
}

const char *
tr_matcher_value(const struct tr_matcher *m, size_t *len)
{
    *len = m->value_len;
    return m->value;
}

const char *
tr_match_type_op(enum tr_match_type type)
{
    switch (type) {
    case TR_MATCH_EQUAL:
        return "=";
    case TR_MATCH_NOT_EQUAL:
        return "!=";
    case TR_MATCH_REGEX:
        return "=~";
    case TR_MATCH_NOT_REGEX:
        return "!~";
    }
    return "?";
}

int
tr_matcher_format(const struct tr_matcher *m, struct tr_buf *out)
{
    int rc = tr_buf_append(out, m->name, m->name_len);
    if (rc == TR_OK) {
        rc = tr_buf_append_str(out, tr_match_type_op(m->type));
    }
    if (rc == TR_OK) {
        rc = tr_buf_append_byte(out, '"');
    }
    for (size_t i = 0; rc == TR_OK && i < m->value_len; i++) {
        char c = m->value[i];
        if (c == '"' || c == '\\') {
            rc = tr_buf_append_byte(out, '\\');
        }
        if (rc == TR_OK) {
            rc = c == '\n' ? tr_buf_append(out, "\\n", 2)
                           : tr_buf_append_byte(out, c);
        }
    }
    if (rc == TR_OK) {
        rc = tr_buf_append_byte(out, '"');
    }
    return rc;
}
