/*
 * What the front end (objstore.c) and the backends (fs.c, s3.c) share.
 * Not a public header: only lib/objstore and its unit tests include it.
 *
 * The front end validates keys and arguments; a backend receives only
 * well-formed keys.
 */
#ifndef TR_OBJSTORE_INTERNAL_H
#define TR_OBJSTORE_INTERNAL_H

#include "objstore/objstore.h"

struct tr_objstore_backend {
    const char *name;
    /* Streams size bytes from read into key. */
    int (*put)(void *impl, const char *key, uint64_t size,
               tr_objstore_read_fn read, void *arg, struct tr_err *err);
    /* ranged false: whole object; true: exactly [offset, offset+len),
     * len > 0, TR_EINVAL when the object is shorter. Appends to out and
     * restores out->len on error. */
    int (*get)(void *impl, const char *key, bool ranged, uint64_t offset,
               uint64_t len, struct tr_buf *out, struct tr_err *err);
    int (*stat)(void *impl, const char *key, uint64_t *size,
                struct tr_err *err);
    int (*del)(void *impl, const char *key, struct tr_err *err);
    /* prefix and delimiter are never NULL ("" = none). */
    int (*list)(void *impl, const char *prefix, const char *delimiter,
                tr_objstore_list_fn fn, void *arg, struct tr_err *err);
    void (*destroy)(void *impl);
};

/* Backend constructors: NULL with err set on failure. *location receives a
 * tr_malloc'd description for logs. opts is already validated. */
void *tr_objstore_fs_create(const struct tr_objstore_options *opts,
                            char **location, struct tr_err *err);
void *tr_objstore_s3_create(const struct tr_objstore_options *opts,
                            char **location, struct tr_err *err);
extern const struct tr_objstore_backend tr_objstore_fs_backend;
extern const struct tr_objstore_backend tr_objstore_s3_backend;

/*
 * Minimal XML extraction for S3 responses (s3_xml.c). S3 answers are flat,
 * small documents without namespaces prefixes, CDATA or comments in the
 * parts we read, so this finds elements by name instead of parsing a tree.
 *
 * A span is [p, p+len) inside the document.
 */
struct tr_xml_span {
    const char *p;
    size_t len;
};

/*
 * Finds the first element <name ...>...</name> (or the empty <name/>)
 * starting at or after *from inside [doc, doc+len). On success sets *inner
 * to its content, advances *from past the closing tag and returns true.
 * The name must match exactly ("Key" does not match "KeyCount"). Elements
 * of the same name nested in each other are not supported (S3 has none).
 */
bool tr_xml_find(const char *doc, size_t len, size_t *from, const char *name,
                 struct tr_xml_span *inner);

/*
 * Appends the text of span to out with the five predefined entities and
 * numeric character references (&#NN; &#xHH;, as UTF-8) decoded.
 * TR_EINVAL for a malformed reference, TR_ENOMEM.
 */
int tr_xml_unescape(struct tr_xml_span span, struct tr_buf *out);

/* Appends s with & < > " ' escaped. TR_OK or TR_ENOMEM. */
int tr_xml_escape(const char *s, size_t len, struct tr_buf *out);

/*
 * Percent-encodes s for SigV4 (AWS "UriEncode"): every byte except
 * A-Z a-z 0-9 - . _ ~ becomes %XX with upper-case hex; '/' is kept when
 * keep_slash (object key paths) and encoded otherwise (query values).
 */
int tr_s3_uri_encode(const char *s, bool keep_slash, struct tr_buf *out);

#endif
