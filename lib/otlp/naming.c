#include "otlp/naming.h"

#include <stdbool.h>
#include <string.h>

#include "base/arena.h"

/* UCUM units to the Prometheus words (the table Prometheus uses). */
static const char *const unit_words[][2] = {
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"1", ""},
    {"%", "percent"},
};

/* The unit after '/' becomes "per_<singular>". */
static const char *const per_unit_words[][2] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

struct tok {
    const char *p;
    size_t n;
};

static bool
is_metric_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == ':';
}

static bool
is_label_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

static bool
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool
only_underscores(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s != '_') {
            return false;
        }
    }
    return true;
}

static const char *
lookup(const char *const table[][2], size_t rows, const char *key, size_t n)
{
    for (size_t i = 0; i < rows; i++) {
        if (strlen(table[i][0]) == n && memcmp(table[i][0], key, n) == 0) {
            return table[i][1];
        }
    }
    return NULL;
}

/* s[0..n) with blanks trimmed on both sides (Go's strings.TrimSpace). */
static void
trim_space(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r' ||
                      **s == '\v' || **s == '\f')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
                      (*s)[*n - 1] == '\n' || (*s)[*n - 1] == '\r' ||
                      (*s)[*n - 1] == '\v' || (*s)[*n - 1] == '\f')) {
        (*n)--;
    }
}

static bool
has_brace(const char *s, size_t n)
{
    return memchr(s, '{', n) != NULL || memchr(s, '}', n) != NULL;
}

/*
 * Splits a UCUM unit into the main word and the "per_" word, each cleaned
 * to metric characters with runs of '_' collapsed and one leading '_'
 * dropped. Results are arena strings ("" when absent); false on no memory.
 */
static bool
unit_words_of(struct tr_arena *a, const char *unit, char **main_out,
              char **per_out)
{
    const char *slash = unit != NULL ? strchr(unit, '/') : NULL;
    const char *m = unit != NULL ? unit : "";
    size_t mn = slash != NULL ? (size_t)(slash - m) : strlen(m);
    const char *raw_main = "", *raw_per = "";
    const char *per_prefix = "";
    size_t raw_main_n = 0, raw_per_n = 0;
    char *outs[2];

    trim_space(&m, &mn);
    if (mn > 0 && !has_brace(m, mn)) {
        const char *w = lookup(
            unit_words, sizeof(unit_words) / sizeof(unit_words[0]), m, mn);

        raw_main = w != NULL ? w : m;
        raw_main_n = w != NULL ? strlen(w) : mn;
    }
    if (slash != NULL && slash[1] != '\0') {
        const char *p = slash + 1;
        size_t pn = strlen(p);

        trim_space(&p, &pn);
        if (pn > 0 && !has_brace(p, pn)) {
            const char *w = lookup(
                per_unit_words,
                sizeof(per_unit_words) / sizeof(per_unit_words[0]), p, pn);

            raw_per = w != NULL ? w : p;
            raw_per_n = w != NULL ? strlen(w) : pn;
        }
        if (raw_per_n > 0) {
            per_prefix = "per_";
        }
    }

    for (int k = 0; k < 2; k++) {
        const char *prefix = k == 0 ? "" : per_prefix;
        const char *src = k == 0 ? raw_main : raw_per;
        size_t src_n = k == 0 ? raw_main_n : raw_per_n;
        size_t plen = strlen(prefix), o = 0;
        char *out = tr_arena_alloc(a, plen + src_n + 1);

        if (out == NULL) {
            return false;
        }
        for (size_t i = 0; i < plen + src_n; i++) {
            char ch = i < plen ? prefix[i] : src[i - plen];

            if (!is_metric_char(ch)) {
                ch = '_';
            }
            if (ch == '_' && o > 0 && out[o - 1] == '_') {
                continue; /* collapse runs */
            }
            out[o++] = ch;
        }
        out[o] = '\0';
        outs[k] = out[0] == '_' ? out + 1 : out;
    }
    *main_out = outs[0];
    *per_out = outs[1];
    return true;
}

static bool
tok_eq(struct tok t, const char *s)
{
    return t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

static bool
has_tok(const struct tok *t, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (tok_eq(t[i], s)) {
            return true;
        }
    }
    return false;
}

/* Removes every token equal to s; returns the new count. */
static size_t
remove_tok(struct tok *t, size_t n, const char *s)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (!tok_eq(t[i], s)) {
            t[o++] = t[i];
        }
    }
    return o;
}

/*
 * Joins tokens with '_' and puts '_' in front of a leading digit. The
 * result lives in the arena.
 */
static char *
join_tokens(struct tr_arena *a, const struct tok *t, size_t n)
{
    size_t len = 1, o = 0;
    char *out;

    for (size_t i = 0; i < n; i++) {
        len += t[i].n + 1;
    }
    out = tr_arena_alloc(a, len + 1);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            out[o++] = '_';
        }
        memcpy(out + o, t[i].p, t[i].n);
        o += t[i].n;
    }
    out[o] = '\0';
    if (o > 0 && is_digit(out[0])) {
        memmove(out + 1, out, o + 1);
        out[0] = '_';
    }
    return out;
}

/* Splits s into the runs of characters for which keep() is true. */
static size_t
split_tokens(const char *s, bool (*keep)(char), struct tok *out)
{
    size_t n = 0;

    while (*s != '\0') {
        const char *start;

        while (*s != '\0' && !keep(*s)) {
            s++;
        }
        start = s;
        while (*s != '\0' && keep(*s)) {
            s++;
        }
        if (s > start) {
            out[n].p = start;
            out[n].n = (size_t)(s - start);
            n++;
        }
    }
    return n;
}

static bool
is_metric_or_underscore(char ch)
{
    return is_metric_char(ch) || ch == '_';
}

char *
tr_otlp_metric_name(struct tr_arena *arena, const char *name, const char *unit,
                    enum tr_otlp_name_kind kind, bool with_suffixes,
                    bool *invalid)
{
    const char *nm = name != NULL ? name : "";
    size_t cap = strlen(nm) / 2 + 5;
    struct tok *t = tr_arena_alloc(arena, cap * sizeof(*t));
    char *main_w, *per_w, *out;
    size_t n;

    *invalid = false;
    if (t == NULL) {
        return NULL;
    }
    if (!with_suffixes) {
        n = split_tokens(nm, is_metric_or_underscore, t);
    } else {
        n = split_tokens(nm, is_metric_char, t);
        if (!unit_words_of(arena, unit, &main_w, &per_w)) {
            return NULL;
        }
        if (has_tok(t, n, main_w)) {
            main_w = "";
        }
        if (strcmp(per_w, "per_") == 0) {
            per_w = "";
        } else {
            size_t pl = strlen(per_w);

            if (pl > 0 && per_w[pl - 1] == '_') {
                per_w[pl - 1] = '\0';
            }
            if (has_tok(t, n, per_w)) {
                per_w = "";
            }
        }
        if (per_w[0] != '\0') {
            size_t ml = strlen(main_w);

            if (ml > 0 && main_w[ml - 1] == '_') {
                main_w[ml - 1] = '\0';
            }
        }
        if (main_w[0] != '\0') {
            t[n++] = (struct tok){main_w, strlen(main_w)};
        }
        if (per_w[0] != '\0') {
            t[n++] = (struct tok){per_w, strlen(per_w)};
        }
        if (kind == TR_OTLP_NAME_COUNTER) {
            n = remove_tok(t, n, "total");
            t[n++] = (struct tok){"total", 5};
        }
        if (unit != NULL && strcmp(unit, "1") == 0 &&
            kind == TR_OTLP_NAME_GAUGE) {
            n = remove_tok(t, n, "ratio");
            t[n++] = (struct tok){"ratio", 5};
        }
    }
    out = join_tokens(arena, t, n);
    if (out == NULL) {
        return NULL;
    }
    if (out[0] == '\0' || (strcmp(out, nm) != 0 && only_underscores(out))) {
        *invalid = true;
        return NULL;
    }
    return out;
}

char *
tr_otlp_label_name(struct tr_arena *arena, const char *key,
                   bool keep_underscore, bool *invalid)
{
    size_t len = key != NULL ? strlen(key) : 0;
    bool reserved;
    const char *src = key;
    size_t src_n = len, o = 0;
    char *out;

    *invalid = false;
    if (len == 0) {
        *invalid = true;
        return NULL;
    }
    reserved = len >= 4 && key[0] == '_' && key[1] == '_' &&
               key[len - 1] == '_' && key[len - 2] == '_';
    if (reserved) {
        src = key + 2;
        src_n = len - 4;
    }
    /* Room for "key_" or "__..__" around the sanitised text. */
    out = tr_arena_alloc(arena, src_n + 8);
    if (out == NULL) {
        return NULL;
    }
    if (reserved) {
        out[o++] = '_';
        out[o++] = '_';
    }
    for (size_t i = 0; i < src_n; i++) {
        if (is_label_char(src[i])) {
            out[o++] = src[i];
        } else if (o == 0 || out[o - 1] != '_' || (reserved && o == 2)) {
            out[o++] = '_';
        }
    }
    if (reserved) {
        out[o++] = '_';
        out[o++] = '_';
    }
    out[o] = '\0';
    if (is_digit(out[0])) {
        memmove(out + 4, out, o + 1);
        memcpy(out, "key_", 4);
    } else if (!keep_underscore && out[0] == '_' && out[1] != '_') {
        memmove(out + 3, out, o + 1);
        memcpy(out, "key", 3);
    }
    if (only_underscores(out)) {
        *invalid = true;
        return NULL;
    }
    return out;
}

char *
tr_otlp_unit_name(struct tr_arena *arena, const char *unit)
{
    char *main_w, *per_w, *out;
    size_t n;

    if (!unit_words_of(arena, unit, &main_w, &per_w)) {
        return NULL;
    }
    if (main_w[0] != '\0' && per_w[0] != '\0') {
        out = tr_arena_sprintf(arena, "%s_%s", main_w, per_w);
    } else {
        out = tr_arena_sprintf(arena, "%s", main_w[0] != '\0' ? main_w : per_w);
    }
    if (out == NULL) {
        return NULL;
    }
    if (out[0] == '_') {
        out++;
    }
    n = strlen(out);
    if (n > 0 && out[n - 1] == '_') {
        out[n - 1] = '\0';
    }
    return out;
}
