/*
 * Label sets: the identity of a metric series or a log stream.
 *
 * A struct tr_labels is an immutable set of (name, value) pairs sorted by
 * name, without duplicate names and without empty values (a label with an
 * empty value is the same as no label, as in Prometheus: builders drop
 * them). It lives in one allocation holding its canonical encoding:
 *
 *   for each label, in name order:
 *       uvarint(len(name)) name uvarint(len(value)) value
 *
 * (uvarint = unsigned LEB128). This encoding is FROZEN: it is what the
 * write-ahead log and block files persist (tr_labels_encoded /
 * tr_labels_decode), two sets are equal exactly when their encodings are
 * byte-equal, and the 64-bit hash is
 *
 *   XXH3_64bits_withSeed(encoding, len(encoding), seed)   (seed 0 by default)
 *
 * which is therefore stable across processes, machines and versions: it is
 * the series routing key and fingerprint. Never change either.
 *
 * Names and values are byte strings (pointer + length, no NUL
 * terminators); the text form and the PromQL layer expect UTF-8 but the
 * store does not enforce it. Text form: {__name__="up", job="api"}.
 *
 * A tr_labels is immutable, so any number of threads may read one at once.
 */
#ifndef TR_TSDB_LABELS_H
#define TR_TSDB_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;

#define TR_LABEL_METRIC_NAME "__name__"

/* One borrowed (name, value) pair. */
struct tr_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Opaque; one allocation, freed with tr_labels_destroy. */
struct tr_labels;

/* ---- construction ----------------------------------------------------- */

/*
 * Builds a label set from n pairs in any order (pairs and their strings are
 * borrowed and copied). Pairs with an empty value are dropped. Returns TR_OK
 * and *out (caller frees with tr_labels_destroy); TR_EINVAL for an empty
 * name or a duplicate name ("cannot build label set: duplicate label name
 * \"job\""); TR_ENOMEM.
 */
int tr_labels_from_pairs(const struct tr_label *pairs, size_t n,
                         struct tr_labels **out, struct tr_err *err);

/*
 * Convenience for tests and constants: kv holds n_pairs name/value C strings
 * alternately ("__name__", "up", "job", "api"). Same rules and errors as
 * tr_labels_from_pairs.
 */
int tr_labels_from_strings(const char *const *kv, size_t n_pairs,
                           struct tr_labels **out, struct tr_err *err);

/* Copy of ls (caller frees with tr_labels_destroy); NULL when out of memory. */
struct tr_labels *tr_labels_dup(const struct tr_labels *ls);

/* Frees ls. NULL is allowed. */
void tr_labels_destroy(struct tr_labels *ls);

/*
 * Rebuilds a label set from its canonical encoding (data is borrowed and
 * copied). Checks every length, that names are non-empty, strictly
 * increasing and values non-empty. TR_OK, TR_EINVAL ("cannot decode label
 * set: ...") or TR_ENOMEM.
 */
int tr_labels_decode(const void *data, size_t len, struct tr_labels **out,
                     struct tr_err *err);

/* ---- access ----------------------------------------------------------- */

/* Number of labels. */
size_t tr_labels_count(const struct tr_labels *ls);

/*
 * The canonical encoding (see top of file); borrowed, valid while ls lives.
 * An empty set encodes to zero bytes.
 */
const void *tr_labels_encoded(const struct tr_labels *ls, size_t *len);

/* Bytes of the allocation behind ls (for memory accounting). */
size_t tr_labels_memory(const struct tr_labels *ls);

/*
 * Finds the label called name. Returns true and points *value and *value_len
 * (borrowed from ls) at its value, or false when ls has no such label.
 * value and value_len may be NULL.
 */
bool tr_labels_get(const struct tr_labels *ls, const char *name,
                   size_t name_len, const char **value, size_t *value_len);

/* Iteration in name order:
 *   struct tr_labels_iter it; struct tr_label l;
 *   tr_labels_iter_init(&it, ls);
 *   while (tr_labels_iter_next(&it, &l)) { ... }
 * The pairs point into ls. Fields are private. */
struct tr_labels_iter {
    const unsigned char *pos;
    const unsigned char *end;
};

void tr_labels_iter_init(struct tr_labels_iter *it, const struct tr_labels *ls);
bool tr_labels_iter_next(struct tr_labels_iter *it, struct tr_label *out);

/* ---- comparison and hashing ------------------------------------------- */

/*
 * Orders label sets as Prometheus does: label by label, first by name then
 * by value (bytewise, shorter prefix first); a set that is a prefix of the
 * other sorts first. Returns <0, 0 or >0.
 */
int tr_labels_compare(const struct tr_labels *a, const struct tr_labels *b);

bool tr_labels_equal(const struct tr_labels *a, const struct tr_labels *b);

/* XXH3-64 of the canonical encoding with seed 0 (stable; see above). */
uint64_t tr_labels_hash(const struct tr_labels *ls);

/* Same with a caller's seed (e.g. to mix in a tenant for routing). */
uint64_t tr_labels_hash_seeded(const struct tr_labels *ls, uint64_t seed);

/* ---- text form -------------------------------------------------------- */

/*
 * Appends the text form to out: {__name__="up", job="api"}, "{}" when empty.
 * Values are double-quoted with \\ \" \n \r \t escaped, other control bytes
 * and bytes that are not valid UTF-8 written as \xHH. Names that are not
 * [a-zA-Z_][a-zA-Z0-9_]* are quoted the same way. tr_labels_parse reads the
 * result back to an equal set. TR_OK or TR_ENOMEM.
 */
int tr_labels_format(const struct tr_labels *ls, struct tr_buf *out);

/*
 * Parses the text form as Loki push and PromQL selectors write it:
 *
 *   [metric_name] "{" [label {"," label} [","]] "}"
 *   label = (identifier | quoted) "=" quoted
 *   quoted = "..." | '...' (Go escapes: \a \b \f \n \r \t \v \\ \' \"
 *            \xHH \ooo \uHHHH \UHHHHHHHH) | `raw`
 *
 * with optional whitespace between tokens. metric_name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*) and a bare quoted string inside the braces
 * ({"my.metric", a="b"}) set __name__. Labels with empty values are
 * dropped. Only "=" is accepted (a label set, not a selector).
 *
 * Returns TR_OK and *out (caller frees with tr_labels_destroy), TR_EINVAL
 * with a message naming the problem and the byte offset ("cannot parse
 * labels: unknown escape sequence \q at offset 7"), or TR_ENOMEM.
 */
int tr_labels_parse(const char *text, size_t len, struct tr_labels **out,
                    struct tr_err *err);

/* ---- builder ---------------------------------------------------------- */

/*
 * Collects labels one by one (copying the strings), then builds a set.
 * Caller storage: tr_labels_builder_init / tr_labels_builder_fini. Fields
 * are private.
 */
struct tr_labels_builder {
    char *strs; /* name and value bytes of all pairs */
    size_t strs_len;
    size_t strs_cap;
    struct tr_labels_builder_pair {
        size_t name_off;
        size_t name_len;
        size_t value_off;
        size_t value_len;
        bool deleted;
    } *pairs;
    size_t len;
    size_t cap;
};

void tr_labels_builder_init(struct tr_labels_builder *b);
void tr_labels_builder_fini(struct tr_labels_builder *b);
/* Forgets all pairs, keeping the memory. */
void tr_labels_builder_reset(struct tr_labels_builder *b);

/*
 * Adds a pair. Duplicate names are kept and reported by build (use _set to
 * replace). TR_OK or TR_ENOMEM.
 */
int tr_labels_builder_add(struct tr_labels_builder *b, const char *name,
                          size_t name_len, const char *value,
                          size_t value_len);

/* Sets name to value, replacing earlier pairs with that name. TR_OK or
 * TR_ENOMEM. An empty value removes the label. */
int tr_labels_builder_set(struct tr_labels_builder *b, const char *name,
                          size_t name_len, const char *value,
                          size_t value_len);

/* Removes every pair called name (no error when there is none). */
void tr_labels_builder_del(struct tr_labels_builder *b, const char *name,
                           size_t name_len);

/* Adds every label of ls (borrowed). TR_OK or TR_ENOMEM. */
int tr_labels_builder_add_all(struct tr_labels_builder *b,
                              const struct tr_labels *ls);

/*
 * Builds the set from the pairs added so far (the builder is unchanged and
 * can be reused). Same rules and errors as tr_labels_from_pairs.
 */
int tr_labels_builder_build(const struct tr_labels_builder *b,
                            struct tr_labels **out, struct tr_err *err);

#endif
