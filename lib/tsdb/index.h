/*
 * Inverted index over label sets: label name -> label value -> postings
 * list (the ascending ids of the series carrying that pair), plus the list
 * of all ids. Selecting series by matchers intersects and subtracts
 * postings lists following PromQL's rules for matchers that match the
 * empty string (see tr_index_select).
 *
 * Ids are uint32 and must be added in increasing order (the head hands them
 * out from a counter and never reuses one), which keeps every postings list
 * sorted by appending. Strings live once in the index (a string pool);
 * postings of one or two ids are stored inline.
 *
 * Removal (tr_index_remove, used by the head's series garbage collection)
 * filters the postings of the affected label names in one pass. Values
 * left without series stay as empty entries (queries skip them, a new
 * series with that value reuses them) until they are the majority; then
 * the index rebuilds its tables and string pool without them, so memory
 * follows the live series under churn.
 *
 * Not thread-safe: the head guards its index with a reader/writer lock
 * (readers: select and the label queries; writers: add and remove).
 */
#ifndef TR_TSDB_INDEX_H
#define TR_TSDB_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct tr_arena;
struct tr_err;
struct tr_labels;
struct tr_matcher;

/* A borrowed byte string. */
struct tr_tsdb_str {
    const char *ptr;
    size_t len;
};

/* Bytewise order of two strings (a shorter prefix first): <0, 0, >0. */
int tr_tsdb_str_compare(const struct tr_tsdb_str *a,
                        const struct tr_tsdb_str *b);

/*
 * Label-query helpers shared by the head and blocks. Collect with
 * tr_tsdb_strs_from_labels, then finish with tr_tsdb_strs_sort_unique.
 *
 * strs_from_labels appends to v at *k the label names of ls (name == NULL;
 * room for tr_labels_count(ls) entries needed) or its value of label name
 * when it has one (room for 1). The strings are borrowed from ls.
 */
void tr_tsdb_strs_from_labels(const struct tr_labels *ls, const char *name,
                              size_t name_len, struct tr_tsdb_str *v,
                              size_t *k);

/*
 * Sorts v[0..n) bytewise (reordering v in place), drops duplicates and
 * copies the rest into arena: *out (from arena, never NULL on success)
 * and *count. The input strings may be freed afterwards. TR_OK or
 * TR_ENOMEM.
 */
int tr_tsdb_strs_sort_unique(struct tr_tsdb_str *v, size_t n,
                             struct tr_arena *arena, struct tr_tsdb_str **out,
                             size_t *count);

/* A sorted list of series ids in caller storage; zeroed is empty. */
struct tr_postings {
    uint32_t *ids;
    size_t len;
    size_t cap;
};

/* Frees the ids; the list is empty and reusable afterwards. */
void tr_postings_fini(struct tr_postings *p);

struct tr_index;

/* An empty index; NULL when out of memory. */
struct tr_index *tr_index_create(void);
/* NULL is allowed. */
void tr_index_destroy(struct tr_index *ix);

/*
 * Adds series id with labels ls (borrowed; strings are copied). id must be
 * greater than every id added before: TR_EINVAL otherwise. TR_ENOMEM
 * leaves the series absent (possibly with empty entries, which queries
 * ignore).
 */
int tr_index_add(struct tr_index *ix, uint32_t id, const struct tr_labels *ls,
                 struct tr_err *err);

/*
 * Removes the n series ids[0..n) (strictly ascending) that were added with
 * label sets ls[0..n) (borrowed): their ids leave every postings list.
 * Ids not in the index are ignored. Cannot fail; when many values are
 * left empty it compacts the index (skipped silently if out of memory).
 * Cost: one pass over the postings of the label names involved.
 */
void tr_index_remove(struct tr_index *ix, const uint32_t *ids,
                     const struct tr_labels *const *ls, size_t n);

/* Number of series in the index (added and not removed). */
size_t tr_index_series_count(const struct tr_index *ix);

/* Bytes the index holds (tables, postings, strings) for memory metrics. */
size_t tr_index_memory(const struct tr_index *ix);

/*
 * Replaces out's contents with the ids of the series matching every
 * matcher (borrowed), in ascending order. A series lacking a label counts
 * as having the empty value for it, so:
 *   - matchers that do not match "" (a="x", a!="", a=~".+") intersect the
 *     union of postings of the values they match;
 *   - matchers that match "" (a="", a!="x", a=~"x|", a!~"x") subtract the
 *     union of postings of the values they do NOT match, from all series
 *     when no matcher of the first kind narrows the set.
 * No matchers select every series. (Requiring one matcher that does not
 * match "", as PromQL does, is the query layer's job.)
 * Returns TR_OK, TR_ELIMIT (regex match limit), TR_ENOMEM.
 */
int tr_index_select(const struct tr_index *ix,
                    struct tr_matcher *const *matchers, size_t n,
                    struct tr_postings *out, struct tr_err *err);

/*
 * Every label name with at least one series, sorted bytewise. The array and
 * strings are allocated from arena (caller's; lives as long as the arena).
 * TR_OK or TR_ENOMEM.
 */
int tr_index_label_names(const struct tr_index *ix, struct tr_arena *arena,
                         struct tr_tsdb_str **out, size_t *count);

/*
 * Every value of label name with at least one series, sorted bytewise,
 * allocated from arena as above (none when the name is unknown). TR_OK or
 * TR_ENOMEM.
 */
int tr_index_label_values(const struct tr_index *ix, const char *name,
                          size_t name_len, struct tr_arena *arena,
                          struct tr_tsdb_str **out, size_t *count);

/* ---- postings set operations (exposed for tests and query planning) --- */

/* out = a AND b. out may not alias a or b. TR_OK or TR_ENOMEM. */
int tr_postings_intersect(const struct tr_postings *a,
                          const struct tr_postings *b,
                          struct tr_postings *out);

/* a = a minus b, in place. */
void tr_postings_subtract(struct tr_postings *a, const struct tr_postings *b);

#endif
