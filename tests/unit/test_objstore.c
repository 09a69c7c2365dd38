/*
 * Unit tests for lib/objstore: options and key rules, the filesystem
 * backend (every operation, atomic overwrite, escaping keys, listing order,
 * >1000 keys, ranged gets at the edges) and the XML/URI helpers the S3
 * backend uses. The S3 backend itself is tested against a real s3rver in
 * test_objstore_s3.c.
 */
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/internal.h"
#include "objstore/objstore.h"

/* ---- fixtures ---------------------------------------------------------- */

struct fixture {
    char dir[64]; /* temp dir; the store root is dir/root */
    char root[96];
    struct tr_objstore *os;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tr-ut-objstore-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    /* A root that does not exist yet: create must make it. */
    snprintf(f->root, sizeof(f->root), "%s/root/deeper/", f->dir);
    struct tr_objstore_options o = {.backend = "filesystem",
                                    .fs_root = f->root};
    struct tr_err err;
    f->os = tr_objstore_create(&o, &err);
    if (f->os == NULL) {
        fprintf(stderr, "create: %s\n", err.msg);
        return -1;
    }
    /* Without the trailing slash, for building paths in tests. */
    snprintf(f->root, sizeof(f->root), "%s/root/deeper", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    tr_objstore_destroy(f->os);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void
put_str(struct tr_objstore *os, const char *key, const char *s)
{
    struct tr_err err;
    int rc = tr_objstore_put(os, key, s, strlen(s), &err);
    if (rc != TR_OK) {
        fail_msg("put %s: %s", key, err.msg);
    }
}

static void
assert_get(struct tr_objstore *os, const char *key, const char *want)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_err err;
    int rc = tr_objstore_get(os, key, &b, &err);
    if (rc != TR_OK) {
        fail_msg("get %s: %s", key, err.msg);
    }
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    tr_buf_fini(&b);
}

/* Collects listing entries as "key" or "key/P" (prefix) lines. */
struct collect {
    struct tr_buf text;
    size_t n;
    size_t stop_after; /* 0 = never */
};

static int
collect_fn(void *arg, const struct tr_objstore_entry *e, struct tr_err *err)
{
    struct collect *c = arg;
    (void)err;
    tr_buf_appendf(&c->text, "%s%s|", e->key, e->is_prefix ? "(P)" : "");
    c->n++;
    if (c->stop_after && c->n >= c->stop_after) {
        return 1;
    }
    return TR_OK;
}

static char *
list_str(struct tr_objstore *os, const char *prefix, const char *delim)
{
    struct collect c = {TR_BUF_INIT, 0, 0};
    struct tr_err err;
    int rc = tr_objstore_list(os, prefix, delim, collect_fn, &c, &err);
    if (rc != TR_OK) {
        fail_msg("list %s: %s", prefix, err.msg);
    }
    tr_buf_append_byte(&c.text, '\0');
    return c.text.data; /* tr_free */
}

static size_t
count_tmp_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".trtmp~", 7) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* ---- options and keys -------------------------------------------------- */

static void
expect_create_fails(const struct tr_objstore_options *o, const char *needle)
{
    struct tr_err err;
    tr_err_clear(&err);
    struct tr_objstore *os = tr_objstore_create(o, &err);
    assert_null(os);
    assert_int_equal(err.code, TR_EINVAL);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    }
    assert_non_null(strstr(err.msg, "cannot create object store"));
}

static void
test_options_are_validated(void **state)
{
    (void)state;
    struct tr_objstore_options o = {0};
    expect_create_fails(&o, "no backend");
    o.backend = "gcs";
    expect_create_fails(&o, "unknown backend \"gcs\"");
    o.backend = "filesystem";
    expect_create_fails(&o, "root directory");

    struct tr_objstore_options s = {
        .backend = "s3",
        .s3_endpoint = "127.0.0.1:9000",
        .s3_bucket = "blocks",
        .s3_access_key = "ak",
        .s3_secret_key = "sk",
    };
    struct tr_objstore_options t = s;
    t.s3_bucket = NULL;
    expect_create_fails(&t, "needs a bucket");
    t = s;
    t.s3_secret_key = "";
    expect_create_fails(&t, "needs a secret key");
    t = s;
    t.s3_endpoint = NULL;
    expect_create_fails(&t, "needs an endpoint");
    t = s;
    t.s3_part_size = 1 << 20;
    expect_create_fails(&t, "below the S3 minimum of 5 MiB");
    t = s;
    t.s3_endpoint = "https://minio:9000";
    t.s3_insecure = true;
    expect_create_fails(&t, "is https but insecure");
    t = s;
    t.s3_endpoint = "ftp://minio";
    expect_create_fails(&t, "scheme must be http or https");
    t = s;
    t.s3_endpoint = "minio:9000/path";
    expect_create_fails(&t, "no path");
    t = s;
    t.s3_bucket = "Bad_Bucket";
    expect_create_fails(&t, "\"Bad_Bucket\" is invalid");
    t = s;
    t.retry_max_attempts = -1;
    expect_create_fails(&t, "attempts 1..100");

    /* A valid s3 configuration creates without touching the network. */
    struct tr_err err;
    struct tr_objstore *os = tr_objstore_create(&s, &err);
    assert_non_null(os);
    assert_string_equal(tr_objstore_backend(os), "s3");
    assert_string_equal(tr_objstore_location(os), "s3://blocks");
    tr_objstore_destroy(os);
    tr_objstore_destroy(NULL);
}

static void
test_key_rules(void **state)
{
    (void)state;
    const char *good[] = {"a",    "a/b/c", "blocks/01H/meta.json", ".hidden",
                          "a..b", "...",   "with space",           "plus+eq=",
                          "é/ü",  "x~y"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct tr_err err;
        if (tr_objstore_key_check(good[i], &err) != TR_OK) {
            fail_msg("%s refused: %s", good[i], err.msg);
        }
    }
    const char *bad[] = {"",        "/abs",    "a/../b",   "..",        "../x",
                         "a/..",    ".",       "a/./b",    "a//b",      "a/",
                         "ctl\x01", "del\x7f", ".trtmp~1", "a/.trtmp~x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tr_err err;
        tr_err_clear(&err);
        assert_int_equal(tr_objstore_key_check(bad[i], &err), TR_EINVAL);
        assert_non_null(strstr(err.msg, "invalid object key"));
    }
    char long_key[TR_OBJSTORE_KEY_MAX + 2];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    assert_int_equal(tr_objstore_key_check(long_key, NULL), TR_EINVAL);
    long_key[TR_OBJSTORE_KEY_MAX] = '\0';
    assert_int_equal(tr_objstore_key_check(long_key, NULL), TR_OK);
    assert_int_equal(tr_objstore_key_check(NULL, NULL), TR_EINVAL);
}

/* ---- filesystem backend ------------------------------------------------ */

static void
test_fs_every_operation(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    assert_string_equal(tr_objstore_backend(f->os), "filesystem");
    assert_string_equal(tr_objstore_location(f->os), f->root);

    put_str(f->os, "blocks/b1/meta.json", "{\"v\":1}");
    assert_get(f->os, "blocks/b1/meta.json", "{\"v\":1}");
    /* The object is a plain file under the root. */
    char path[256];
    snprintf(path, sizeof(path), "%s/blocks/b1/meta.json", f->root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 7);

    uint64_t size = 0;
    assert_int_equal(
        tr_objstore_stat(f->os, "blocks/b1/meta.json", &size, &err), TR_OK);
    assert_int_equal(size, 7);
    bool exists = false;
    assert_int_equal(
        tr_objstore_exists(f->os, "blocks/b1/meta.json", &exists, &err), TR_OK);
    assert_true(exists);
    assert_int_equal(tr_objstore_exists(f->os, "blocks/b2", &exists, &err),
                     TR_OK);
    assert_false(exists);

    /* Empty object. */
    assert_int_equal(tr_objstore_put(f->os, "empty", NULL, 0, &err), TR_OK);
    struct tr_buf b = TR_BUF_INIT;
    tr_buf_append_str(&b, "keep");
    assert_int_equal(tr_objstore_get(f->os, "empty", &b, &err), TR_OK);
    assert_int_equal(b.len, 4); /* appended nothing, kept the content */
    assert_int_equal(tr_objstore_stat(f->os, "empty", &size, &err), TR_OK);
    assert_int_equal(size, 0);

    /* Missing objects: TR_ENOTFOUND naming the key; out unchanged. */
    tr_err_clear(&err);
    assert_int_equal(tr_objstore_get(f->os, "blocks/nope", &b, &err),
                     TR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "blocks/nope"));
    assert_non_null(strstr(err.msg, "cannot get"));
    assert_int_equal(b.len, 4);
    assert_int_equal(tr_objstore_stat(f->os, "blocks/nope", &size, &err),
                     TR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "blocks/nope"));
    /* A "directory" is not an object. */
    assert_int_equal(tr_objstore_get(f->os, "blocks/b1", &b, &err),
                     TR_ENOTFOUND);
    assert_int_equal(tr_objstore_stat(f->os, "blocks", &size, &err),
                     TR_ENOTFOUND);
    tr_buf_fini(&b);

    /* Delete: gone, idempotent, and empty directories removed. */
    assert_int_equal(tr_objstore_delete(f->os, "blocks/b1/meta.json", &err),
                     TR_OK);
    assert_int_equal(
        tr_objstore_exists(f->os, "blocks/b1/meta.json", &exists, &err), TR_OK);
    assert_false(exists);
    assert_int_equal(tr_objstore_delete(f->os, "blocks/b1/meta.json", &err),
                     TR_OK);
    snprintf(path, sizeof(path), "%s/blocks", f->root);
    assert_int_not_equal(stat(path, &st), 0); /* removed: was left empty */
    assert_int_equal(stat(f->root, &st), 0);  /* the root stays */

    /* put_file streams a file; a missing file is TR_ENOTFOUND. */
    char src[128];
    snprintf(src, sizeof(src), "%s/src.bin", f->dir);
    FILE *fp = fopen(src, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 300000; i++) {
        fputc((i * 7) & 0xff, fp);
    }
    fclose(fp);
    assert_int_equal(tr_objstore_put_file(f->os, "from/file", src, &err),
                     TR_OK);
    struct tr_buf got = TR_BUF_INIT;
    assert_int_equal(tr_objstore_get(f->os, "from/file", &got, &err), TR_OK);
    assert_int_equal(got.len, 300000);
    for (int i = 0; i < 300000; i++) {
        if ((unsigned char)got.data[i] != ((i * 7) & 0xff)) {
            fail_msg("byte %d differs", i);
        }
    }
    tr_buf_fini(&got);
    tr_err_clear(&err);
    assert_int_equal(
        tr_objstore_put_file(f->os, "x", "/nonexistent/file", &err),
        TR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/file"));
}

struct failing_source {
    uint64_t fail_at;
};

static int
read_pattern_or_fail(void *arg, uint64_t offset, void *dst, size_t len,
                     struct tr_err *err)
{
    struct failing_source *s = arg;
    if (offset + len > s->fail_at) {
        return tr_err_set(err, TR_EIO, "source broke at %llu",
                          (unsigned long long)offset);
    }
    memset(dst, 'n', len);
    return TR_OK;
}

static void
test_fs_atomic_overwrite_and_failed_put(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    put_str(f->os, "obj", "first version");
    put_str(f->os, "obj", "v2");
    assert_get(f->os, "obj", "v2");

    /* A put whose source fails keeps the old object and leaves no temp. */
    struct failing_source src = {3u << 20};
    tr_err_clear(&err);
    assert_int_equal(tr_objstore_put_reader(f->os, "obj", 4u << 20,
                                            read_pattern_or_fail, &src, &err),
                     TR_EIO);
    assert_non_null(strstr(err.msg, "source broke"));
    assert_non_null(strstr(err.msg, "cannot put obj"));
    assert_get(f->os, "obj", "v2");
    assert_int_equal(count_tmp_files(f->root), 0);

    /* "a" and "a/b" cannot both exist on a filesystem: clear error. */
    put_str(f->os, "dir/x", "1");
    tr_err_clear(&err);
    assert_int_equal(tr_objstore_put(f->os, "dir", "2", 1, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "prefix of other objects"));
    put_str(f->os, "file", "1");
    tr_err_clear(&err);
    assert_int_equal(tr_objstore_put(f->os, "file/y", "2", 1, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "parent of the key"));
    assert_int_equal(count_tmp_files(f->root), 0);
}

/* Writers replace an object again and again with versions whose every
 * byte is the version's letter; readers must only ever see a whole
 * version, never a mix or a truncated file. */
struct race {
    struct tr_objstore *os;
    volatile int stop;
    int torn;
    int reads;
};

#define RACE_SIZE (256 * 1024)

static void *
race_writer(void *arg)
{
    struct race *r = arg;
    char *data = malloc(RACE_SIZE);
    for (int i = 0; i < 60; i++) {
        memset(data, 'a' + i % 26, RACE_SIZE);
        /* Sizes differ between versions so truncation is visible too. */
        size_t len = RACE_SIZE - (size_t)(i % 2) * 1000;
        if (tr_objstore_put(r->os, "race/obj", data, len, NULL) != TR_OK) {
            r->torn = -1000;
        }
    }
    free(data);
    r->stop = 1;
    return NULL;
}

static void
test_fs_readers_never_see_torn_writes(void **state)
{
    struct fixture *f = *state;
    struct race r = {.os = f->os};
    char *init = malloc(RACE_SIZE);
    memset(init, 'z', RACE_SIZE);
    assert_int_equal(tr_objstore_put(f->os, "race/obj", init, RACE_SIZE, NULL),
                     TR_OK);
    free(init);
    pthread_t w;
    pthread_create(&w, NULL, race_writer, &r);
    struct tr_buf b = TR_BUF_INIT;
    while (!r.stop) {
        tr_buf_reset(&b);
        if (tr_objstore_get(f->os, "race/obj", &b, NULL) != TR_OK) {
            r.torn++;
            continue;
        }
        r.reads++;
        bool ok = b.len == RACE_SIZE || b.len == RACE_SIZE - 1000;
        for (size_t i = 1; ok && i < b.len; i++) {
            ok = b.data[i] == b.data[0];
        }
        if (!ok) {
            r.torn++;
        }
    }
    pthread_join(w, NULL);
    tr_buf_fini(&b);
    assert_int_equal(r.torn, 0);
    assert_true(r.reads > 0);
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/race", f->root);
    assert_int_equal(count_tmp_files(dir), 0);
}

static void
test_fs_refuses_escaping_keys(void **state)
{
    struct fixture *f = *state;
    struct tr_err err;
    const char *bad[] = {"../escape", "a/../../escape", "/etc/escape", "..",
                         "a/./b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tr_err_clear(&err);
        assert_int_equal(tr_objstore_put(f->os, bad[i], "x", 1, &err),
                         TR_EINVAL);
        assert_non_null(strstr(err.msg, bad[i]));
        struct tr_buf b = TR_BUF_INIT;
        assert_int_equal(tr_objstore_get(f->os, bad[i], &b, &err), TR_EINVAL);
        assert_int_equal(tr_objstore_get_range(f->os, bad[i], 0, 1, &b, &err),
                         TR_EINVAL);
        assert_int_equal(tr_objstore_stat(f->os, bad[i], NULL, &err),
                         TR_EINVAL);
        assert_int_equal(tr_objstore_delete(f->os, bad[i], &err), TR_EINVAL);
        bool exists;
        assert_int_equal(tr_objstore_exists(f->os, bad[i], &exists, &err),
                         TR_EINVAL);
        tr_buf_fini(&b);
    }
    /* Nothing was written next to the root. */
    char path[160];
    struct stat st;
    snprintf(path, sizeof(path), "%s/root/escape", f->dir);
    assert_int_not_equal(stat(path, &st), 0);
    /* A file outside the root is not reachable through list prefixes. */
    snprintf(path, sizeof(path), "%s/root/outside", f->dir);
    FILE *fp = fopen(path, "w");
    fputs("secret", fp);
    fclose(fp);
    char *s = list_str(f->os, "../", NULL);
    assert_string_equal(s, "");
    tr_free(s);
    s = list_str(f->os, "a/../../", NULL);
    assert_string_equal(s, "");
    tr_free(s);
    s = list_str(f->os, "/", NULL);
    assert_string_equal(s, "");
    tr_free(s);
}

static void
test_fs_listing_order_and_delimiter(void **state)
{
    struct fixture *f = *state;
    /* Inserted out of order; byte order puts 'A' < 'a' and '-' < '/' < '0'
     * and UTF-8 (0xc3) after ASCII. */
    const char *keys[] = {"b/1",   "\xc3\xa9t\xc3\xa9",
                          "a/z",   "a-x",
                          "a/b/c", "ab",
                          "A",     "a~",
                          "a/b/d", "a0",
                          "b/2"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        put_str(f->os, keys[i], keys[i]);
    }
    char *s = list_str(f->os, NULL, NULL);
    assert_string_equal(s, "A|a-x|a/b/c|a/b/d|a/z|a0|ab|a~|b/1|b/2|"
                           "\xc3\xa9t\xc3\xa9|");
    tr_free(s);
    s = list_str(f->os, "", "/");
    assert_string_equal(s, "A|a-x|a/(P)|a0|ab|a~|b/(P)|\xc3\xa9t\xc3\xa9|");
    tr_free(s);
    s = list_str(f->os, "a/", "/");
    assert_string_equal(s, "a/b/(P)|a/z|");
    tr_free(s);
    s = list_str(f->os, "a/b", NULL);
    assert_string_equal(s, "a/b/c|a/b/d|");
    tr_free(s);
    s = list_str(f->os, "a", NULL);
    assert_string_equal(s, "a-x|a/b/c|a/b/d|a/z|a0|ab|a~|");
    tr_free(s);
    s = list_str(f->os, "nothing/", "/");
    assert_string_equal(s, "");
    tr_free(s);
    /* A multi-character delimiter works as on S3. */
    s = list_str(f->os, "a", "/b/");
    assert_string_equal(s, "a-x|a/b/(P)|a/z|a0|ab|a~|");
    tr_free(s);

    /* Sizes are reported. */
    struct collect c = {TR_BUF_INIT, 0, 0};
    struct tr_err err;
    assert_int_equal(tr_objstore_list(f->os, "ab", NULL, collect_fn, &c, &err),
                     TR_OK);
    tr_buf_fini(&c.text);
    assert_int_equal(c.n, 1);
}

struct size_check {
    uint64_t total;
};

static int
sum_sizes(void *arg, const struct tr_objstore_entry *e, struct tr_err *err)
{
    struct size_check *sc = arg;
    (void)err;
    sc->total += e->size;
    return TR_OK;
}

static int
fail_at_third(void *arg, const struct tr_objstore_entry *e, struct tr_err *err)
{
    int *n = arg;
    (void)e;
    if (++*n == 3) {
        return tr_err_set(err, TR_ECANCELED, "caller gave up");
    }
    return TR_OK;
}

static void
test_fs_lists_more_than_1000_keys(void **state)
{
    struct fixture *f = *state;
    char key[64];
    for (int i = 2499; i >= 0; i--) {
        snprintf(key, sizeof(key), "many/%s/%05d", i % 2 ? "odd" : "even", i);
        put_str(f->os, key, "xy");
    }
    struct collect c = {TR_BUF_INIT, 0, 0};
    struct tr_err err;
    assert_int_equal(
        tr_objstore_list(f->os, "many/", NULL, collect_fn, &c, &err), TR_OK);
    assert_int_equal(c.n, 2500);
    /* Order: all of even/ then odd/, each ascending. */
    tr_buf_append_byte(&c.text, '\0');
    assert_memory_equal(c.text.data, "many/even/00000|many/even/00002|", 32);
    assert_non_null(strstr(c.text.data, "many/even/02498|many/odd/00001|"));
    tr_buf_fini(&c.text);

    struct size_check sc = {0};
    assert_int_equal(
        tr_objstore_list(f->os, "many/odd/", NULL, sum_sizes, &sc, &err),
        TR_OK);
    assert_int_equal(sc.total, 2500);

    /* Early stop (positive return) and abort (negative) from callbacks. */
    struct collect stop = {TR_BUF_INIT, 0, 10};
    assert_int_equal(
        tr_objstore_list(f->os, "many/", NULL, collect_fn, &stop, &err), TR_OK);
    assert_int_equal(stop.n, 10);
    tr_buf_fini(&stop.text);
    int n = 0;
    tr_err_clear(&err);
    assert_int_equal(
        tr_objstore_list(f->os, "many/", NULL, fail_at_third, &n, &err),
        TR_ECANCELED);
    assert_string_equal(err.msg, "caller gave up");
    assert_int_equal(tr_objstore_list(f->os, "x", NULL, NULL, NULL, &err),
                     TR_EINVAL);
}

static void
expect_range(struct tr_objstore *os, uint64_t off, uint64_t len,
             const char *data)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_err err;
    tr_buf_append_str(&b, "pre");
    int rc = tr_objstore_get_range(os, "ranged", off, len, &b, &err);
    if (rc != TR_OK) {
        fail_msg("range %llu+%llu: %s", (unsigned long long)off,
                 (unsigned long long)len, err.msg);
    }
    assert_int_equal(b.len, 3 + len);
    assert_memory_equal(b.data, "pre", 3);
    assert_memory_equal(b.data + 3, data + off, len);
    tr_buf_fini(&b);
}

static void
expect_range_fails(struct tr_objstore *os, const char *key, uint64_t off,
                   uint64_t len, int code, const char *needle)
{
    struct tr_buf b = TR_BUF_INIT;
    struct tr_err err;
    tr_buf_append_str(&b, "pre");
    tr_err_clear(&err);
    assert_int_equal(tr_objstore_get_range(os, key, off, len, &b, &err), code);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    }
    assert_int_equal(b.len, 3);
    tr_buf_fini(&b);
}

static void
test_fs_ranged_gets_at_edges(void **state)
{
    struct fixture *f = *state;
    char data[1000];
    for (int i = 0; i < 1000; i++) {
        data[i] = (char)('A' + i % 53);
    }
    struct tr_err err;
    assert_int_equal(tr_objstore_put(f->os, "ranged", data, sizeof(data), &err),
                     TR_OK);
    expect_range(f->os, 0, 1, data);
    expect_range(f->os, 999, 1, data);
    expect_range(f->os, 0, 1000, data);
    expect_range(f->os, 500, 500, data);
    expect_range(f->os, 123, 456, data);
    expect_range(f->os, 1000, 0, data); /* empty range at the very end */
    expect_range(f->os, 0, 0, data);
    expect_range_fails(f->os, "ranged", 999, 2, TR_EINVAL, "(1000 bytes)");
    expect_range_fails(f->os, "ranged", 1000, 1, TR_EINVAL, "1000-1000");
    expect_range_fails(f->os, "ranged", 1001, 0, TR_EINVAL, "past the end");
    expect_range_fails(f->os, "ranged", UINT64_MAX, 2, TR_EINVAL, "overflows");
    expect_range_fails(f->os, "missing", 0, 1, TR_ENOTFOUND, "missing");
    expect_range_fails(f->os, "missing", 0, 0, TR_ENOTFOUND, "missing");
}

struct worker {
    struct tr_objstore *os;
    int id;
    int failures;
};

static void *
worker_run(void *arg)
{
    struct worker *w = arg;
    char key[64];
    char val[64];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "threads/shared/%d-%d", w->id, i);
        snprintf(val, sizeof(val), "value %d of %d", i, w->id);
        struct tr_buf b = TR_BUF_INIT;
        if (tr_objstore_put(w->os, key, val, strlen(val), NULL) != TR_OK ||
            tr_objstore_get(w->os, key, &b, NULL) != TR_OK ||
            b.len != strlen(val) || memcmp(b.data, val, b.len) != 0 ||
            (i % 2 && tr_objstore_delete(w->os, key, NULL) != TR_OK)) {
            w->failures++;
        }
        tr_buf_fini(&b);
    }
    return NULL;
}

static void
test_fs_concurrent_threads(void **state)
{
    struct fixture *f = *state;
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){f->os, i, 0};
        pthread_create(&t[i], NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    struct collect c = {TR_BUF_INIT, 0, 0};
    assert_int_equal(
        tr_objstore_list(f->os, "threads/", NULL, collect_fn, &c, NULL), TR_OK);
    tr_buf_fini(&c.text);
    assert_int_equal(c.n, 4 * 25);
}

/* ---- XML and URI helpers ----------------------------------------------- */

static char *
find_text(const char *doc, const char *name, size_t *from)
{
    struct tr_xml_span span;
    if (!tr_xml_find(doc, strlen(doc), from, name, &span)) {
        return NULL;
    }
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_xml_unescape(span, &b), TR_OK);
    tr_buf_append_byte(&b, '\0');
    return b.data;
}

static void
test_xml_extraction(void **state)
{
    (void)state;
    const char *doc =
        "<?xml version=\"1.0\"?>\n<ListBucketResult xmlns=\"x\">"
        "<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key>"
        "<Size>12</Size></Contents>"
        "<Contents><Key>caf&#233; &#x1F600;</Key ><Size>3</Size></Contents>"
        "<Empty/><Attr a=\"1\">v</Attr>"
        "</ListBucketResult>";
    size_t from = 0;
    char *s = find_text(doc, "Key", &from);
    assert_string_equal(s, "a & b <c> \"d\" 'e'");
    tr_free(s);
    s = find_text(doc, "Key", &from);
    assert_string_equal(s, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    tr_free(s);
    assert_null(find_text(doc, "Key", &from));
    from = 0;
    s = find_text(doc, "KeyCount", &from);
    assert_string_equal(s, "2");
    tr_free(s);
    from = 0;
    s = find_text(doc, "Empty", &from);
    assert_string_equal(s, "");
    tr_free(s);
    from = 0;
    s = find_text(doc, "Attr", &from);
    assert_string_equal(s, "v");
    tr_free(s);
    from = 0;
    assert_null(find_text(doc, "Missing", &from));
    /* "Key" must not match "KeyCount" even when it comes first. */
    from = 0;
    assert_null(find_text("<KeyCount>1</KeyCount>", "Key", &from));
    /* An unterminated element is not found. */
    from = 0;
    assert_null(find_text("<Key>abc", "Key", &from));

    const char *bad[] = {"&bogus;", "&#;",  "&#xZZ;",
                         "&amp",    "&#0;", "&#x110000;"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tr_buf b = TR_BUF_INIT;
        struct tr_xml_span span = {bad[i], strlen(bad[i])};
        assert_int_equal(tr_xml_unescape(span, &b), TR_EINVAL);
        tr_buf_fini(&b);
    }
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_xml_escape("<a&'\">", 6, &b), TR_OK);
    tr_buf_append_byte(&b, '\0');
    assert_string_equal(b.data, "&lt;a&amp;&apos;&quot;&gt;");
    tr_buf_fini(&b);
}

static void
test_uri_encode_for_sigv4(void **state)
{
    (void)state;
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_s3_uri_encode("a b+c=d/é~_.-%*", true, &b), TR_OK);
    tr_buf_append_byte(&b, '\0');
    assert_string_equal(b.data, "a%20b%2Bc%3Dd/%C3%A9~_.-%25%2A");
    tr_buf_reset(&b);
    assert_int_equal(tr_s3_uri_encode("x/y z", false, &b), TR_OK);
    tr_buf_append_byte(&b, '\0');
    assert_string_equal(b.data, "x%2Fy%20z");
    tr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_are_validated),
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test_setup_teardown(test_fs_every_operation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fs_atomic_overwrite_and_failed_put,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_readers_never_see_torn_writes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_refuses_escaping_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fs_listing_order_and_delimiter,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_lists_more_than_1000_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_ranged_gets_at_edges, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fs_concurrent_threads, setup,
                                        teardown),
        cmocka_unit_test(test_xml_extraction),
        cmocka_unit_test(test_uri_encode_for_sigv4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
