/*
 * Filesystem backend: <root>/<key>, with '/' in keys as subdirectories.
 *
 * Atomic replace: the data goes to a temp file in the target directory,
 * which is fsynced and renamed over the target; then the directory is
 * fsynced so the rename itself survives a crash. Readers therefore see the
 * old or the new object, never a torn one.
 *
 * A file and a directory cannot share a name, so unlike on S3 the keys "a"
 * and "a/b" cannot both exist; putting the second is TR_EINVAL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/internal.h"

#define TMP_PREFIX ".trtmp~"
#define COPY_CHUNK (1u << 20)

struct fs_store {
    char *root;
    atomic_uint_fast64_t tmp_seq;
};

static int
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* mkdir -p for an absolute or relative path; existing directories are fine.
 * Creating a directory fsyncs its parent so the new entry is durable. */
static int
mkdir_p(char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            return 0;
        }
        errno = ENOTDIR;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        int rc = mkdir(path, 0755);
        int saved = errno;
        *p = '/';
        if (rc != 0 && saved != EEXIST) {
            errno = saved;
            return -1;
        }
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return -1;
    }
    if (stat(path, &st) != 0) {
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    char *slash = strrchr(path, '/');
    if (slash != NULL && slash != path) {
        *slash = '\0';
        (void)fsync_dir(path);
        *slash = '/';
    }
    return 0;
}

void *
tr_objstore_fs_create(const struct tr_objstore_options *opts, char **location,
                      struct tr_err *err)
{
    struct fs_store *fs = tr_calloc(1, sizeof(*fs));
    if (fs == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create object store: out of memory");
        return NULL;
    }
    size_t n = strlen(opts->fs_root);
    while (n > 1 && opts->fs_root[n - 1] == '/') {
        n--; /* "data/" and "data" are the same root */
    }
    fs->root = tr_strndup(opts->fs_root, n);
    *location = tr_strdup(fs->root);
    if (fs->root == NULL || *location == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create object store: out of memory");
        goto fail;
    }
    if (mkdir_p(fs->root) != 0) {
        tr_err_set(err, TR_EIO,
                   "cannot create object store: cannot create root "
                   "directory %s: %s",
                   fs->root, strerror(errno));
        goto fail;
    }
    atomic_init(&fs->tmp_seq, 0);
    return fs;
fail:
    tr_free(fs->root);
    tr_free(fs);
    return NULL;
}

static void
fs_destroy(void *impl)
{
    struct fs_store *fs = impl;
    tr_free(fs->root);
    tr_free(fs);
}

/* "<root>/<key>" into a fresh buffer. */
static int
object_path(const struct fs_store *fs, const char *key, struct tr_buf *out,
            struct tr_err *err)
{
    if (tr_buf_appendf(out, "%s/%s", fs->root, key) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot build path of %s: out of "
                          "memory",
                          key);
    }
    return TR_OK;
}

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
fs_put(void *impl, const char *key, uint64_t size, tr_objstore_read_fn read,
       void *arg, struct tr_err *err)
{
    struct fs_store *fs = impl;
    struct tr_buf path = TR_BUF_INIT;
    struct tr_buf tmp = TR_BUF_INIT;
    char *chunk = NULL;
    int fd = -1;
    int rc = object_path(fs, key, &path, err);
    if (rc != TR_OK) {
        goto done;
    }
    /* path.data = "<root>/<dirs>/<name>": the directory is everything up
     * to the last '/', which lies after the root. */
    size_t dir_len = (size_t)(strrchr(path.data, '/') - path.data);
    uint64_t seq = atomic_fetch_add(&fs->tmp_seq, 1);
    if (tr_buf_append(&tmp, path.data, dir_len) != TR_OK ||
        tr_buf_appendf(&tmp, "/" TMP_PREFIX "%ld.%llu", (long)getpid(),
                       (unsigned long long)seq) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot put %s: out of memory", key);
        goto done;
    }
    /* A concurrent delete may remove a just-created empty directory, so
     * creating the directory and the temp file is retried a few times. */
    for (int tries = 0; fd < 0; tries++) {
        path.data[dir_len] = '\0';
        int mk = mkdir_p(path.data);
        int mk_errno = errno;
        path.data[dir_len] = '/';
        if (mk != 0) {
            if (mk_errno == ENOTDIR || mk_errno == EEXIST) {
                rc = tr_err_set(err, TR_EINVAL,
                                "cannot put %s to %s: a parent of the key is "
                                "an existing object (the filesystem backend "
                                "cannot hold both \"a\" and \"a/b\")",
                                key, fs->root);
            } else {
                rc = tr_err_set(err, TR_EIO, "cannot put %s to %s: %s", key,
                                fs->root, strerror(mk_errno));
            }
            goto done;
        }
        fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && (errno != ENOENT || tries >= 5)) {
            rc = tr_err_set(err, TR_EIO, "cannot put %s: cannot create %s: %s",
                            key, tmp.data, strerror(errno));
            goto done;
        }
    }
    size_t chunk_cap = size < COPY_CHUNK ? (size_t)size : COPY_CHUNK;
    chunk = tr_malloc(chunk_cap ? chunk_cap : 1);
    if (chunk == NULL) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot put %s: out of memory", key);
        goto done;
    }
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < chunk_cap ? (size_t)(size - off) : chunk_cap;
        rc = read(arg, off, chunk, n, err);
        if (rc != TR_OK) {
            tr_err_prefix(err, "cannot put %s", key);
            goto done;
        }
        if (write_all(fd, chunk, n) != 0) {
            rc = tr_err_set(err, TR_EIO, "cannot put %s: cannot write %s: %s",
                            key, tmp.data, strerror(errno));
            goto done;
        }
        off += n;
    }
    if (fsync(fd) != 0) {
        rc = tr_err_set(err, TR_EIO, "cannot put %s: cannot fsync %s: %s", key,
                        tmp.data, strerror(errno));
        goto done;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        rc = tr_err_set(err, TR_EIO, "cannot put %s: cannot close %s: %s", key,
                        tmp.data, strerror(errno));
        goto done;
    }
    if (rename(tmp.data, path.data) != 0) {
        if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
            rc = tr_err_set(err, TR_EINVAL,
                            "cannot put %s to %s: the key is a prefix of "
                            "other objects (the filesystem backend cannot "
                            "hold both \"a\" and \"a/b\")",
                            key, fs->root);
        } else {
            rc = tr_err_set(err, TR_EIO,
                            "cannot put %s: cannot rename %s: "
                            "%s",
                            key, tmp.data, strerror(errno));
        }
        goto done;
    }
    tr_buf_reset(&tmp); /* renamed: nothing to clean up */
    path.data[dir_len] = '\0';
    if (fsync_dir(path.data) != 0) {
        rc = tr_err_set(err, TR_EIO,
                        "cannot put %s: cannot fsync directory "
                        "%s: %s",
                        key, path.data, strerror(errno));
        goto done;
    }
    rc = TR_OK;
done:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp.len > 0 && rc != TR_OK) {
        (void)unlink(tmp.data);
    }
    tr_free(chunk);
    tr_buf_fini(&tmp);
    tr_buf_fini(&path);
    return rc;
}

static int
pread_all(int fd, char *dst, size_t len, uint64_t offset)
{
    while (len > 0) {
        ssize_t n = pread(fd, dst, len, (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            errno = EIO; /* shorter than fstat said: truncated under us */
            return -1;
        }
        dst += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static int
fs_get(void *impl, const char *key, bool ranged, uint64_t offset, uint64_t len,
       struct tr_buf *out, struct tr_err *err)
{
    struct fs_store *fs = impl;
    struct tr_buf path = TR_BUF_INIT;
    size_t orig_len = out->len;
    int fd = -1;
    const char *verb = ranged ? "get range of" : "get";
    int rc = object_path(fs, key, &path, err);
    if (rc != TR_OK) {
        return rc;
    }
    fd = open(path.data, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno != ENOENT && errno != ENOTDIR) {
        rc = tr_err_set(err, TR_EIO, "cannot %s %s from %s: %s", verb, key,
                        fs->root, strerror(errno));
        goto done;
    }
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = tr_err_set(err, TR_ENOTFOUND,
                        "cannot %s %s from %s: no such "
                        "object",
                        verb, key, fs->root);
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (!ranged) {
        offset = 0;
        len = size;
    } else if (offset > size || len > size - offset) {
        rc = tr_err_set(err, TR_EINVAL,
                        "cannot get range of %s: bytes %llu-%llu reach past "
                        "the end of the object (%llu bytes)",
                        key, (unsigned long long)offset,
                        (unsigned long long)(offset + len - 1),
                        (unsigned long long)size);
        goto done;
    }
    if (len > SIZE_MAX / 2 || tr_buf_reserve(out, (size_t)len) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM,
                        "cannot %s %s: out of memory for "
                        "%llu bytes",
                        verb, key, (unsigned long long)len);
        goto done;
    }
    if (pread_all(fd, out->data + out->len, (size_t)len, offset) != 0) {
        rc = tr_err_set(err, TR_EIO, "cannot %s %s from %s: %s", verb, key,
                        fs->root, strerror(errno));
        goto done;
    }
    out->len += (size_t)len;
    if (out->len < out->cap) {
        out->data[out->len] = '\0';
    }
    rc = TR_OK;
done:
    if (rc != TR_OK) {
        out->len = orig_len;
    }
    if (fd >= 0) {
        close(fd);
    }
    tr_buf_fini(&path);
    return rc;
}

static int
fs_stat(void *impl, const char *key, uint64_t *size, struct tr_err *err)
{
    struct fs_store *fs = impl;
    struct tr_buf path = TR_BUF_INIT;
    int rc = object_path(fs, key, &path, err);
    if (rc != TR_OK) {
        return rc;
    }
    struct stat st;
    if (stat(path.data, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            rc = tr_err_set(err, TR_ENOTFOUND,
                            "cannot stat %s in %s: no such "
                            "object",
                            key, fs->root);
        } else {
            rc = tr_err_set(err, TR_EIO, "cannot stat %s in %s: %s", key,
                            fs->root, strerror(errno));
        }
    } else if (!S_ISREG(st.st_mode)) {
        rc = tr_err_set(err, TR_ENOTFOUND,
                        "cannot stat %s in %s: no such "
                        "object",
                        key, fs->root);
    } else {
        *size = (uint64_t)st.st_size;
    }
    tr_buf_fini(&path);
    return rc;
}

static int
fs_del(void *impl, const char *key, struct tr_err *err)
{
    struct fs_store *fs = impl;
    struct tr_buf path = TR_BUF_INIT;
    int rc = object_path(fs, key, &path, err);
    if (rc != TR_OK) {
        return rc;
    }
    if (unlink(path.data) != 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
            rc = tr_err_set(err, TR_EIO, "cannot delete %s from %s: %s", key,
                            fs->root, strerror(errno));
        }
        tr_buf_fini(&path);
        return rc;
    }
    /* Remove directories the delete left empty, deepest first, stopping at
     * the first that still holds something (rmdir refuses those). */
    size_t root_len = strlen(fs->root);
    for (;;) {
        char *slash = strrchr(path.data, '/');
        if (slash == NULL || (size_t)(slash - path.data) <= root_len) {
            break;
        }
        *slash = '\0';
        if (rmdir(path.data) != 0) {
            break;
        }
    }
    tr_buf_fini(&path);
    return TR_OK;
}

struct listed {
    char *key;
    uint64_t size;
};

struct listing {
    struct listed *items;
    size_t len;
    size_t cap;
};

static int
listing_add(struct listing *l, const char *key, size_t key_len, uint64_t size)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct listed *items = tr_realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            return TR_ENOMEM;
        }
        l->items = items;
        l->cap = cap;
    }
    char *copy = tr_strndup(key, key_len);
    if (copy == NULL) {
        return TR_ENOMEM;
    }
    l->items[l->len].key = copy;
    l->items[l->len].size = size;
    l->len++;
    return TR_OK;
}

static void
listing_fini(struct listing *l)
{
    for (size_t i = 0; i < l->len; i++) {
        tr_free(l->items[i].key);
    }
    tr_free(l->items);
}

static int
compare_listed(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: S3's byte-wise UTF-8 order. */
    return strcmp(((const struct listed *)a)->key,
                  ((const struct listed *)b)->key);
}

/*
 * Collects the regular files under path (whose key so far is
 * path.data + key_start) into l. name_prefix filters the entries of this
 * directory only (the part of the list prefix after its last '/').
 */
static int
walk(struct fs_store *fs, struct tr_buf *path, size_t key_start,
     const char *name_prefix, struct listing *l, struct tr_err *err)
{
    DIR *d = opendir(path->data);
    if (d == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return TR_OK; /* nothing under this prefix */
        }
        return tr_err_set(err, TR_EIO, "cannot list %s: %s", path->data,
                          strerror(errno));
    }
    int rc = TR_OK;
    size_t base_len = path->len;
    size_t np_len = strlen(name_prefix);
    struct dirent *de;
    while (rc == TR_OK && (errno = 0, de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 ||
            strncmp(name, name_prefix, np_len) != 0) {
            continue;
        }
        path->len = base_len;
        if (tr_buf_append_byte(path, '/') != TR_OK ||
            tr_buf_append_str(path, name) != TR_OK) {
            rc = tr_err_set(err, TR_ENOMEM, "cannot list: out of memory");
            break;
        }
        struct stat st;
        if (lstat(path->data, &st) != 0) {
            if (errno == ENOENT) {
                continue; /* deleted while we looked */
            }
            rc = tr_err_set(err, TR_EIO, "cannot list %s: %s", path->data,
                            strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(fs, path, key_start, "", l, err);
        } else if (S_ISREG(st.st_mode)) {
            if (listing_add(l, path->data + key_start, path->len - key_start,
                            (uint64_t)st.st_size) != TR_OK) {
                rc = tr_err_set(err, TR_ENOMEM, "cannot list: out of memory");
            }
        }
    }
    if (rc == TR_OK && errno != 0 && de == NULL) {
        rc = tr_err_set(err, TR_EIO, "cannot list %s: %s", path->data,
                        strerror(errno));
    }
    closedir(d);
    path->len = base_len;
    path->data[base_len] = '\0';
    return rc;
}

/* True when no valid key can live under the directory part of prefix. */
static bool
prefix_dir_impossible(const char *prefix, size_t dir_len)
{
    if (dir_len == 0) {
        return false;
    }
    const char *seg = prefix;
    const char *end = prefix + dir_len;
    while (seg <= end) {
        const char *slash = memchr(seg, '/', (size_t)(end - seg));
        size_t n = slash ? (size_t)(slash - seg) : (size_t)(end - seg);
        if (n == 0 || (n == 1 && seg[0] == '.') ||
            (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return true;
        }
        if (!slash) {
            break;
        }
        seg = slash + 1;
    }
    return false;
}

static int
fs_list(void *impl, const char *prefix, const char *delimiter,
        tr_objstore_list_fn fn, void *arg, struct tr_err *err)
{
    struct fs_store *fs = impl;
    struct listing l = {0};
    struct tr_buf path = TR_BUF_INIT;
    struct tr_buf roll = TR_BUF_INIT;
    int rc = TR_OK;
    const char *last_slash = strrchr(prefix, '/');
    size_t dir_len = last_slash ? (size_t)(last_slash - prefix) : 0;
    /* Keys never hold "", "." or ".." segments, so such a prefix matches
     * nothing, and must not be walked: it could leave the root. */
    if (prefix_dir_impossible(prefix, dir_len)) {
        return TR_OK;
    }
    if (tr_buf_append_str(&path, fs->root) != TR_OK ||
        (dir_len > 0 && (tr_buf_append_byte(&path, '/') != TR_OK ||
                         tr_buf_append(&path, prefix, dir_len) != TR_OK))) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot list: out of memory");
        goto done;
    }
    rc = walk(fs, &path, strlen(fs->root) + 1,
              last_slash ? last_slash + 1 : prefix, &l, err);
    if (rc != TR_OK) {
        tr_err_prefix(err, "cannot list prefix \"%s\" in %s", prefix, fs->root);
        goto done;
    }
    if (l.len > 1) {
        qsort(l.items, l.len, sizeof(*l.items), compare_listed);
    }
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < l.len; i++) {
        struct tr_objstore_entry e = {l.items[i].key, l.items[i].size, false};
        if (delimiter[0] != '\0') {
            const char *d = strstr(l.items[i].key + plen, delimiter);
            if (d != NULL) {
                /* Sorted keys sharing a rolled-up prefix are adjacent. */
                size_t rlen = (size_t)(d - l.items[i].key) + strlen(delimiter);
                if (roll.len == rlen &&
                    memcmp(roll.data, l.items[i].key, rlen) == 0) {
                    continue;
                }
                tr_buf_reset(&roll);
                if (tr_buf_append(&roll, l.items[i].key, rlen) != TR_OK) {
                    rc = tr_err_set(err, TR_ENOMEM,
                                    "cannot list: out of "
                                    "memory");
                    goto done;
                }
                e.key = roll.data;
                e.size = 0;
                e.is_prefix = true;
            }
        }
        rc = fn(arg, &e, err);
        if (rc != TR_OK) {
            rc = rc > 0 ? TR_OK : rc;
            goto done;
        }
    }
done:
    listing_fini(&l);
    tr_buf_fini(&path);
    tr_buf_fini(&roll);
    return rc;
}

const struct tr_objstore_backend tr_objstore_fs_backend = {
    .name = "filesystem",
    .put = fs_put,
    .get = fs_get,
    .stat = fs_stat,
    .del = fs_del,
    .list = fs_list,
    .destroy = fs_destroy,
};
