/*
 * Object storage: one interface, two backends.
 *
 *   "filesystem"  objects are files under a root directory; '/' in a key
 *                 makes subdirectories. Writes are atomic (temp file in the
 *                 same directory, fsync, rename, fsync of the directory).
 *   "s3"          any S3-compatible server over HTTP(S) through libcurl with
 *                 its built-in SigV4 signing; multipart upload for large
 *                 objects; retries with exponential back-off and jitter.
 *
 * Keys are NUL-terminated byte strings (UTF-8 expected) of 1..1024 bytes.
 * The same keys are valid on both backends, so a deployment can switch
 * backend without renaming anything. Refused with TR_EINVAL: an empty key,
 * a leading or trailing '/', an empty, "." or ".." segment (which on a
 * filesystem could escape the root and which HTTP clients rewrite),
 * control characters (bytes < 0x20 and 0x7f, which S3's XML listings cannot
 * carry) and segments starting with ".trtmp~" (the filesystem backend's
 * temp files).
 *
 * Listings are in byte-wise lexicographic order of keys, as S3 returns them.
 *
 * A store is safe to use from several threads at once. Errors follow
 * base/err.h: every function returns TR_OK or a negative TR_E* code with a
 * message "cannot <verb> <key> ...: <cause>" in the optional err. A missing
 * object is TR_ENOTFOUND, with the key in the message.
 */
#ifndef TR_OBJSTORE_OBJSTORE_H
#define TR_OBJSTORE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;
struct tr_err;
struct tr_objstore;

#define TR_OBJSTORE_KEY_MAX 1024
/* S3 refuses multipart parts below 5 MiB (except the last one). */
#define TR_OBJSTORE_MIN_PART_SIZE (UINT64_C(5) << 20)

/*
 * Configuration. Plain data so the config file loader can fill it field by
 * field; zeroed fields take the default given in their comment. Strings are
 * borrowed: tr_objstore_create copies what it keeps.
 */
struct tr_objstore_options {
    /* "filesystem" or "s3". Required. */
    const char *backend;

    /* filesystem: directory holding the objects; created (with parents)
     * when missing. Required for "filesystem". */
    const char *fs_root;

    /* s3: "host[:port]" or "http://host[:port]" / "https://host[:port]".
     * Without a scheme https is used unless s3_insecure is set. Required
     * for "s3". */
    const char *s3_endpoint;
    /* s3: bucket name (must exist; it is never created). Required. */
    const char *s3_bucket;
    /* s3: signing region; default "us-east-1" (what MinIO expects). */
    const char *s3_region;
    /* s3: credentials for SigV4. Both required. */
    const char *s3_access_key;
    const char *s3_secret_key;
    /* s3: plain http when s3_endpoint has no scheme (default false: https).
     * Contradicting an explicit "https://" in s3_endpoint is an error. */
    bool s3_insecure;
    /* s3: skip TLS certificate verification (self-signed test servers).
     * Default false. */
    bool s3_tls_skip_verify;
    /* s3: false (default) puts the bucket in the path
     * (http://endpoint/bucket/key), as MinIO and most self-hosted servers
     * need; true puts it in the host name (http://bucket.endpoint/key), as
     * AWS prefers. */
    bool s3_virtual_host;
    /* s3: objects of at least this many bytes go up as a multipart upload.
     * Default 64 MiB; at least s3_part_size. */
    uint64_t s3_multipart_threshold;
    /* s3: size of each multipart part. Default 16 MiB; minimum 5 MiB;
     * at most 10000 parts per object, so this bounds the object size. */
    uint64_t s3_part_size;

    /* s3: attempts per request, the first included (1 = no retry).
     * Default 6. Retried: connection errors, timeouts, HTTP 5xx, 429 and
     * S3 "SlowDown"/"RequestTimeout"; never other 4xx. */
    int retry_max_attempts;
    /* s3: first back-off delay; doubles per attempt, with jitter (each
     * sleep is uniform in [delay/2, delay]). Default 100 ms. */
    int64_t retry_base_delay_ns;
    /* s3: cap on a single back-off delay. Default 5 s. */
    int64_t retry_max_delay_ns;
    /* s3: bound on the total time of one request including all retries and
     * back-off; each attempt's timeout is clipped to what is left.
     * Default 120 s. A multipart upload applies it per part. */
    int64_t retry_max_total_ns;
    /* s3: TCP+TLS connect timeout per attempt. Default 5 s. */
    int64_t connect_timeout_ns;
    /* s3: timeout of one attempt, transfer included. Default 60 s. */
    int64_t request_timeout_ns;
    /* s3: idle curl handles (and so kept-alive connections) kept for reuse.
     * Default 8. More requests than this may run at once; the extra
     * handles are closed after use. */
    int max_idle_connections;
};

/*
 * Validates opts and creates a store. Nothing is sent over the network, so
 * a wrong endpoint or missing bucket shows up on the first request.
 * Returns NULL with TR_EINVAL ("cannot create object store: <cause>") for
 * bad options, TR_EIO when the filesystem root cannot be created, or
 * TR_ENOMEM. Free with tr_objstore_destroy.
 */
struct tr_objstore *tr_objstore_create(const struct tr_objstore_options *opts,
                                       struct tr_err *err);
/* Frees the store and closes its connections. NULL is allowed. Requests
 * must have finished. */
void tr_objstore_destroy(struct tr_objstore *os);

/* "filesystem" or "s3". */
const char *tr_objstore_backend(const struct tr_objstore *os);
/* Where objects go, for logs: the root directory or "s3://<bucket>". */
const char *tr_objstore_location(const struct tr_objstore *os);

/*
 * Checks a key against the rules above. TR_OK or TR_EINVAL with a message
 * naming the key. Every operation below does this itself.
 */
int tr_objstore_key_check(const char *key, struct tr_err *err);

/*
 * Stores len bytes of data (borrowed) under key, replacing any previous
 * object atomically: readers see the old or the new object, never a mix.
 */
int tr_objstore_put(struct tr_objstore *os, const char *key, const void *data,
                    size_t len, struct tr_err *err);

/*
 * Source of a streamed put: copies exactly len bytes starting at offset of
 * the object into dst. Called from the putting thread only, in increasing
 * offsets within one attempt, and again for the same range when a request
 * is retried, so the source must be re-readable. Returns TR_OK or a TR_E*
 * code (with err set), which aborts the put without retry.
 */
typedef int (*tr_objstore_read_fn)(void *arg, uint64_t offset, void *dst,
                                   size_t len, struct tr_err *err);

/*
 * Stores an object of `size` bytes read through `read` (see above). Large
 * objects stream: at most one part (s3_part_size) or a small buffer is held
 * in memory, not the object. Uses a multipart upload on s3 from
 * s3_multipart_threshold on.
 */
int tr_objstore_put_reader(struct tr_objstore *os, const char *key,
                           uint64_t size, tr_objstore_read_fn read, void *arg,
                           struct tr_err *err);

/*
 * Stores the contents of the file at path (read with pread, streamed as in
 * tr_objstore_put_reader). The file must not change during the call.
 * TR_EIO (or TR_ENOTFOUND for a missing file) names the path.
 */
int tr_objstore_put_file(struct tr_objstore *os, const char *key,
                         const char *path, struct tr_err *err);

/*
 * Appends the whole object to out (whose current content is kept). On error
 * out has its original length again. TR_ENOTFOUND for a missing object.
 */
int tr_objstore_get(struct tr_objstore *os, const char *key, struct tr_buf *out,
                    struct tr_err *err);

/*
 * Appends bytes [offset, offset+len) of the object to out. The range must
 * lie inside the object: a range reaching past its end is TR_EINVAL naming
 * the object size (len 0 with offset <= size is fine and appends nothing).
 * TR_ENOTFOUND for a missing object. On error out keeps its length.
 */
int tr_objstore_get_range(struct tr_objstore *os, const char *key,
                          uint64_t offset, uint64_t len, struct tr_buf *out,
                          struct tr_err *err);

/*
 * Sets *size to the object's size. TR_ENOTFOUND (message naming the key)
 * when absent. size may be NULL.
 */
int tr_objstore_stat(struct tr_objstore *os, const char *key, uint64_t *size,
                     struct tr_err *err);

/*
 * Sets *exists. Absence is not an error: TR_OK with *exists false. Other
 * failures (unreachable server, ...) are returned.
 */
int tr_objstore_exists(struct tr_objstore *os, const char *key, bool *exists,
                       struct tr_err *err);

/*
 * Deletes the object. Deleting an absent object succeeds (as on S3). The
 * filesystem backend also removes directories left empty.
 */
int tr_objstore_delete(struct tr_objstore *os, const char *key,
                       struct tr_err *err);

/* One listing entry; both strings are borrowed for the callback's duration. */
struct tr_objstore_entry {
    const char *key; /* full key, or the common prefix when is_prefix */
    uint64_t size;   /* object size; 0 for a common prefix */
    bool is_prefix;  /* a "directory" rolled up by the delimiter */
};

/*
 * Called once per listing entry, in key order. Return TR_OK to go on, a
 * positive value to stop early (the listing then returns TR_OK), or a
 * negative TR_E* code to abort (the listing returns it; set err yourself).
 * The callback may call into the store.
 */
typedef int (*tr_objstore_list_fn)(void *arg,
                                   const struct tr_objstore_entry *entry,
                                   struct tr_err *err);

/*
 * Lists every object whose key starts with prefix (NULL or "" = all), in
 * key order. With a delimiter (NULL or "" = none; usually "/"), keys that
 * contain it after the prefix are rolled up into one entry per distinct
 * "<prefix>...<delimiter>" with is_prefix set, placed in key order among
 * the objects, as S3 does. Pagination is handled inside: every matching
 * key is delivered however many there are.
 */
int tr_objstore_list(struct tr_objstore *os, const char *prefix,
                     const char *delimiter, tr_objstore_list_fn fn, void *arg,
                     struct tr_err *err);

#endif
