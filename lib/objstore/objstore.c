/*
 * Front end of the object store: option checks, key rules, argument checks
 * and dispatch to the configured backend.
 */
#include "objstore/objstore.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/internal.h"

struct tr_objstore {
    const struct tr_objstore_backend *backend;
    void *impl;
    char *location;
};

/* Temp files of the filesystem backend start with this; keys may not. */
#define TMP_SEGMENT_PREFIX ".trtmp~"

int
tr_objstore_key_check(const char *key, struct tr_err *err)
{
    if (key == NULL || key[0] == '\0') {
        return tr_err_set(err, TR_EINVAL, "invalid object key: empty");
    }
    size_t len = strlen(key);
    if (len > TR_OBJSTORE_KEY_MAX) {
        return tr_err_set(err, TR_EINVAL,
                          "invalid object key %.64s...: %zu bytes, at most %d",
                          key, len, TR_OBJSTORE_KEY_MAX);
    }
    if (key[0] == '/') {
        return tr_err_set(err, TR_EINVAL,
                          "invalid object key %s: absolute (starts with '/')",
                          key);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f) {
            return tr_err_set(err, TR_EINVAL,
                              "invalid object key %s: control character "
                              "0x%02x at byte %zu",
                              key, c, i);
        }
    }
    /* Walk the '/'-separated segments. */
    const char *seg = key;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t seglen = slash ? (size_t)(slash - seg) : strlen(seg);
        if (seglen == 0) {
            return tr_err_set(err, TR_EINVAL,
                              "invalid object key %s: empty path segment "
                              "('//' or trailing '/')",
                              key);
        }
        if ((seglen == 1 && seg[0] == '.') ||
            (seglen == 2 && seg[0] == '.' && seg[1] == '.')) {
            return tr_err_set(err, TR_EINVAL,
                              "invalid object key %s: '.' or '..' segment "
                              "(keys may not escape the store root)",
                              key);
        }
        if (seglen >= strlen(TMP_SEGMENT_PREFIX) &&
            memcmp(seg, TMP_SEGMENT_PREFIX, strlen(TMP_SEGMENT_PREFIX)) == 0) {
            return tr_err_set(err, TR_EINVAL,
                              "invalid object key %s: segments starting with "
                              "'" TMP_SEGMENT_PREFIX "' are reserved",
                              key);
        }
        if (!slash) {
            break;
        }
        seg = slash + 1;
    }
    return TR_OK;
}

/* Fills zeroed fields with their defaults and checks the rest. */
static int
check_options(const struct tr_objstore_options *in,
              struct tr_objstore_options *o, struct tr_err *err)
{
    *o = *in;
    if (o->backend == NULL || o->backend[0] == '\0') {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: no backend given "
                          "(want \"filesystem\" or \"s3\")");
    }
    if (strcmp(o->backend, "filesystem") == 0) {
        if (o->fs_root == NULL || o->fs_root[0] == '\0') {
            return tr_err_set(err, TR_EINVAL,
                              "cannot create object store: backend "
                              "filesystem needs a root directory");
        }
        return TR_OK;
    }
    if (strcmp(o->backend, "s3") != 0) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: unknown backend "
                          "\"%s\" (want \"filesystem\" or \"s3\")",
                          o->backend);
    }
    struct {
        const char *value;
        const char *name;
    } required[] = {
        {o->s3_endpoint, "an endpoint"},
        {o->s3_bucket, "a bucket"},
        {o->s3_access_key, "an access key"},
        {o->s3_secret_key, "a secret key"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (required[i].value == NULL || required[i].value[0] == '\0') {
            return tr_err_set(err, TR_EINVAL,
                              "cannot create object store: backend s3 needs "
                              "%s",
                              required[i].name);
        }
    }
    const char *ep = o->s3_endpoint;
    if (strncmp(ep, "https://", 8) == 0 && o->s3_insecure) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 endpoint %s is "
                          "https but insecure (plain http) is set",
                          ep);
    }
    if (strstr(ep, "://") && strncmp(ep, "https://", 8) != 0 &&
        strncmp(ep, "http://", 7) != 0) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 endpoint %s: "
                          "scheme must be http or https",
                          ep);
    }
    const char *host = strstr(ep, "://") ? strstr(ep, "://") + 3 : ep;
    if (host[0] == '\0' || strpbrk(host, "/?#@ ") != NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 endpoint %s: want "
                          "[http[s]://]host[:port] with no path",
                          ep);
    }
    /* Bucket names: 3..63 of [a-z0-9.-] (path style tolerates more, but
     * nothing else is portable and everything else needs escaping). */
    size_t blen = strlen(o->s3_bucket);
    if (blen < 3 || blen > 63 ||
        strspn(o->s3_bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") !=
            blen) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 bucket name \"%s\" "
                          "is invalid (3-63 characters of a-z 0-9 . -)",
                          o->s3_bucket);
    }
    if (o->s3_region == NULL || o->s3_region[0] == '\0') {
        o->s3_region = "us-east-1";
    }
    if (strpbrk(o->s3_region, ": /") != NULL || strlen(o->s3_region) > 64) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 region \"%s\" is "
                          "invalid",
                          o->s3_region);
    }
    if (strchr(o->s3_access_key, ':') != NULL) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 access key may "
                          "not contain ':'");
    }
    if (o->s3_part_size == 0) {
        o->s3_part_size = UINT64_C(16) << 20;
    }
    if (o->s3_part_size < TR_OBJSTORE_MIN_PART_SIZE) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 part size %llu is "
                          "below the S3 minimum of 5 MiB",
                          (unsigned long long)o->s3_part_size);
    }
    if (o->s3_part_size > (UINT64_C(5) << 30)) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: s3 part size %llu is "
                          "above the S3 maximum of 5 GiB",
                          (unsigned long long)o->s3_part_size);
    }
    if (o->s3_multipart_threshold == 0) {
        o->s3_multipart_threshold = UINT64_C(64) << 20;
    }
    if (o->s3_multipart_threshold < o->s3_part_size) {
        o->s3_multipart_threshold = o->s3_part_size;
    }
    if (o->retry_max_attempts == 0) {
        o->retry_max_attempts = 6;
    }
    if (o->retry_base_delay_ns == 0) {
        o->retry_base_delay_ns = 100 * INT64_C(1000000);
    }
    if (o->retry_max_delay_ns == 0) {
        o->retry_max_delay_ns = 5 * INT64_C(1000000000);
    }
    if (o->retry_max_total_ns == 0) {
        o->retry_max_total_ns = 120 * INT64_C(1000000000);
    }
    if (o->connect_timeout_ns == 0) {
        o->connect_timeout_ns = 5 * INT64_C(1000000000);
    }
    if (o->request_timeout_ns == 0) {
        o->request_timeout_ns = 60 * INT64_C(1000000000);
    }
    if (o->max_idle_connections == 0) {
        o->max_idle_connections = 8;
    }
    if (o->retry_max_attempts < 1 || o->retry_max_attempts > 100 ||
        o->retry_base_delay_ns < 0 || o->retry_max_delay_ns < 0 ||
        o->retry_max_total_ns < 0 || o->connect_timeout_ns < 0 ||
        o->request_timeout_ns < 0 || o->max_idle_connections < 0) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create object store: retry and timeout "
                          "settings must be positive (attempts 1..100)");
    }
    return TR_OK;
}

struct tr_objstore *
tr_objstore_create(const struct tr_objstore_options *opts, struct tr_err *err)
{
    struct tr_objstore_options o;
    if (opts == NULL) {
        tr_err_set(err, TR_EINVAL, "cannot create object store: no options");
        return NULL;
    }
    if (check_options(opts, &o, err) != TR_OK) {
        return NULL;
    }
    struct tr_objstore *os = tr_calloc(1, sizeof(*os));
    if (os == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create object store: out of memory");
        return NULL;
    }
    if (strcmp(o.backend, "filesystem") == 0) {
        os->backend = &tr_objstore_fs_backend;
        os->impl = tr_objstore_fs_create(&o, &os->location, err);
    } else {
        os->backend = &tr_objstore_s3_backend;
        os->impl = tr_objstore_s3_create(&o, &os->location, err);
    }
    if (os->impl == NULL) {
        tr_objstore_destroy(os);
        return NULL;
    }
    return os;
}

void
tr_objstore_destroy(struct tr_objstore *os)
{
    if (os == NULL) {
        return;
    }
    if (os->impl != NULL) {
        os->backend->destroy(os->impl);
    }
    tr_free(os->location);
    tr_free(os);
}

const char *
tr_objstore_backend(const struct tr_objstore *os)
{
    return os->backend->name;
}

const char *
tr_objstore_location(const struct tr_objstore *os)
{
    return os->location;
}

struct mem_source {
    const char *data;
    size_t len;
};

static int
read_mem(void *arg, uint64_t offset, void *dst, size_t len, struct tr_err *err)
{
    const struct mem_source *m = arg;
    if (offset > m->len || len > m->len - offset) {
        /* The backends never ask outside [0, size): a broken invariant. */
        return tr_err_set(err, TR_EINVAL, "read past end of source");
    }
    memcpy(dst, m->data + offset, len);
    return TR_OK;
}

int
tr_objstore_put(struct tr_objstore *os, const char *key, const void *data,
                size_t len, struct tr_err *err)
{
    if (len > 0 && data == NULL) {
        return tr_err_set(err, TR_EINVAL, "cannot put %s: no data", key);
    }
    struct mem_source m = {data, len};
    return tr_objstore_put_reader(os, key, len, read_mem, &m, err);
}

int
tr_objstore_put_reader(struct tr_objstore *os, const char *key, uint64_t size,
                       tr_objstore_read_fn read, void *arg, struct tr_err *err)
{
    int rc = tr_objstore_key_check(key, err);
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot put object");
    }
    return os->backend->put(os->impl, key, size, read, arg, err);
}

struct file_source {
    int fd;
    const char *path;
};

static int
read_file(void *arg, uint64_t offset, void *dst, size_t len, struct tr_err *err)
{
    const struct file_source *f = arg;
    char *p = dst;
    while (len > 0) {
        ssize_t n = pread(f->fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return tr_err_set(err, TR_EIO, "cannot read %s: %s", f->path,
                              strerror(errno));
        }
        if (n == 0) {
            return tr_err_set(err, TR_EIO,
                              "cannot read %s: file shrank during upload",
                              f->path);
        }
        p += n;
        offset += (uint64_t)n;
        len -= (size_t)n;
    }
    return TR_OK;
}

int
tr_objstore_put_file(struct tr_objstore *os, const char *key, const char *path,
                     struct tr_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? TR_ENOTFOUND : TR_EIO;
        return tr_err_set(err, code, "cannot put %s from file %s: %s", key,
                          path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tr_err_set(err, TR_EIO,
                          "cannot put %s from file %s: not a regular file", key,
                          path);
    }
    struct file_source f = {fd, path};
    int rc = tr_objstore_put_reader(os, key, (uint64_t)st.st_size, read_file,
                                    &f, err);
    close(fd);
    return rc;
}

int
tr_objstore_get(struct tr_objstore *os, const char *key, struct tr_buf *out,
                struct tr_err *err)
{
    if (tr_objstore_key_check(key, err) != TR_OK) {
        return tr_err_prefix(err, "cannot get object");
    }
    return os->backend->get(os->impl, key, false, 0, 0, out, err);
}

int
tr_objstore_get_range(struct tr_objstore *os, const char *key, uint64_t offset,
                      uint64_t len, struct tr_buf *out, struct tr_err *err)
{
    if (tr_objstore_key_check(key, err) != TR_OK) {
        return tr_err_prefix(err, "cannot get object range");
    }
    if (offset + len < offset) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot get range of %s: offset %llu + length %llu "
                          "overflows",
                          key, (unsigned long long)offset,
                          (unsigned long long)len);
    }
    if (len == 0) {
        /* Nothing to read, but the object must exist and hold offset. */
        uint64_t size;
        int rc = os->backend->stat(os->impl, key, &size, err);
        if (rc != TR_OK) {
            return rc;
        }
        if (offset > size) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot get range of %s: offset %llu is past "
                              "the end of the object (%llu bytes)",
                              key, (unsigned long long)offset,
                              (unsigned long long)size);
        }
        return TR_OK;
    }
    return os->backend->get(os->impl, key, true, offset, len, out, err);
}

int
tr_objstore_stat(struct tr_objstore *os, const char *key, uint64_t *size,
                 struct tr_err *err)
{
    uint64_t ignored;
    if (tr_objstore_key_check(key, err) != TR_OK) {
        return tr_err_prefix(err, "cannot stat object");
    }
    return os->backend->stat(os->impl, key, size ? size : &ignored, err);
}

int
tr_objstore_exists(struct tr_objstore *os, const char *key, bool *exists,
                   struct tr_err *err)
{
    uint64_t size;
    *exists = false;
    if (tr_objstore_key_check(key, err) != TR_OK) {
        return tr_err_prefix(err, "cannot stat object");
    }
    struct tr_err local;
    int rc = os->backend->stat(os->impl, key, &size, &local);
    if (rc == TR_ENOTFOUND) {
        return TR_OK;
    }
    if (rc != TR_OK) {
        if (err != NULL) {
            *err = local;
        }
        return rc;
    }
    *exists = true;
    return TR_OK;
}

int
tr_objstore_delete(struct tr_objstore *os, const char *key, struct tr_err *err)
{
    if (tr_objstore_key_check(key, err) != TR_OK) {
        return tr_err_prefix(err, "cannot delete object");
    }
    return os->backend->del(os->impl, key, err);
}

int
tr_objstore_list(struct tr_objstore *os, const char *prefix,
                 const char *delimiter, tr_objstore_list_fn fn, void *arg,
                 struct tr_err *err)
{
    if (fn == NULL) {
        return tr_err_set(err, TR_EINVAL, "cannot list objects: no callback");
    }
    prefix = prefix ? prefix : "";
    delimiter = delimiter ? delimiter : "";
    if (strlen(prefix) > TR_OBJSTORE_KEY_MAX) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot list objects: prefix longer than %d bytes",
                          TR_OBJSTORE_KEY_MAX);
    }
    return os->backend->list(os->impl, prefix, delimiter, fn, arg, err);
}
