/*
 * Unit tests for lib/kv: the RocksDB append-only log.
 *
 * The crash test runs this same executable as a child ("--crash-child"),
 * which appends from several threads and reports every acknowledged append
 * on a pipe until the parent kills it with SIGKILL; the parent then reopens
 * the log and checks that every acknowledged record survived.
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "kv/log.h"

/* ---- helpers ---------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct tmp {
    char root[64]; /* the mkdtemp directory, removed at the end */
    char dir[96];  /* the log directory inside it (created by open) */
};

static void
tmp_make(struct tmp *t)
{
    snprintf(t->root, sizeof(t->root), "/tmp/tr-ut-kv-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->dir, sizeof(t->dir), "%s/log", t->root);
}

static struct tr_kv_log *
open_log(const char *dir, enum tr_kv_log_sync sync)
{
    struct tr_kv_log_options opts = {.sync = sync, .sync_interval_ms = 20};
    struct tr_err err;
    tr_err_clear(&err);
    struct tr_kv_log *log = tr_kv_log_open(dir, &opts, &err);
    if (!log) {
        fail_msg("%s", err.msg);
    }
    return log;
}

/* Appends one record holding the text s; returns its position. */
static uint64_t
append_str(struct tr_kv_log *log, const char *s)
{
    struct tr_kv_log_record rec = {s, strlen(s)};
    uint64_t pos = 0;
    struct tr_err err;
    tr_err_clear(&err);
    int rc = tr_kv_log_append(log, &rec, 1, &pos, &err);
    if (rc != TR_OK) {
        fail_msg("%s", err.msg);
    }
    return pos;
}

/* Collects the records seen by tr_kv_log_iterate as "pos=text;" */
struct collect {
    struct tr_buf text;
    uint64_t count;
    uint64_t stop_after; /* 0: never stop */
};

static int
collect_fn(uint64_t pos, const void *data, size_t len, void *arg)
{
    struct collect *c = arg;
    tr_buf_appendf(&c->text, "%llu=%.*s;", (unsigned long long)pos, (int)len,
                   (const char *)data);
    c->count++;
    if (c->stop_after && c->count == c->stop_after) {
        return 7;
    }
    return 0;
}

static char *
dump(struct tr_kv_log *log, uint64_t from)
{
    struct collect c = {TR_BUF_INIT, 0, 0};
    struct tr_err err;
    tr_err_clear(&err);
    int rc = tr_kv_log_iterate(log, from, collect_fn, &c, &err);
    if (rc != TR_OK) {
        fail_msg("%s", err.msg);
    }
    tr_buf_append(&c.text, "", 0);
    if (!c.text.data) {
        return tr_xstrdup("");
    }
    return tr_buf_detach(&c.text, NULL);
}

static void
assert_bounds(struct tr_kv_log *log, uint64_t first, uint64_t next)
{
    uint64_t f = 0, n = 0;
    tr_kv_log_bounds(log, &f, &n);
    assert_int_equal(f, first);
    assert_int_equal(n, next);
}

static void
assert_dump(struct tr_kv_log *log, uint64_t from, const char *want)
{
    char *got = dump(log, from);
    assert_string_equal(got, want);
    tr_free(got);
}

/* ---- round trips ------------------------------------------------------ */

static void
test_empty_log(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_kv_log *log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_bounds(log, 1, 1);
    assert_dump(log, 0, "");
    assert_dump(log, 5, "");
    tr_kv_log_close(log);

    log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_bounds(log, 1, 1);
    assert_int_equal(append_str(log, "a"), 1);
    tr_kv_log_close(log);
    tr_kv_log_close(NULL);
    rm_rf(t.root);
}

static void
test_append_iterate_reopen(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_kv_log *log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_int_equal(append_str(log, "a"), 1);

    struct tr_kv_log_record recs[3] = {{"bb", 2}, {"", 0}, {"dddd", 4}};
    uint64_t pos = 0;
    assert_int_equal(tr_kv_log_append(log, recs, 3, &pos, NULL), TR_OK);
    assert_int_equal(pos, 2);
    assert_int_equal(append_str(log, "e"), 5);
    assert_bounds(log, 1, 6);
    assert_dump(log, 0, "1=a;2=bb;3=;4=dddd;5=e;");
    assert_dump(log, 3, "3=;4=dddd;5=e;");
    assert_dump(log, 5, "5=e;");
    assert_dump(log, 6, "");

    /* The callback stops the iteration with its own value. */
    struct collect c = {TR_BUF_INIT, 0, 2};
    assert_int_equal(tr_kv_log_iterate(log, 1, collect_fn, &c, NULL), 7);
    assert_int_equal(c.count, 2);
    tr_buf_fini(&c.text);
    tr_kv_log_close(log);

    /* Positions survive a restart and continue densely, in every policy. */
    log = open_log(t.dir, TR_KV_LOG_SYNC_ALWAYS);
    assert_bounds(log, 1, 6);
    assert_int_equal(append_str(log, "f"), 6);
    tr_kv_log_close(log);
    log = open_log(t.dir, TR_KV_LOG_SYNC_INTERVAL);
    assert_bounds(log, 1, 7);
    assert_int_equal(append_str(log, "g"), 7);
    tr_kv_log_close(log);
    log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_dump(log, 4, "4=dddd;5=e;6=f;7=g;");
    assert_bounds(log, 1, 8);
    tr_kv_log_close(log);
    rm_rf(t.root);
}

static void
test_large_records(void **state)
{
    struct tmp t;
    tmp_make(&t);
    /* A small write buffer forces flushes to SST files mid-way. */
    struct tr_kv_log_options opts = {.write_buffer_size = 256 * 1024};
    struct tr_kv_log *log = tr_kv_log_open(t.dir, &opts, NULL);
    assert_non_null(log);
    size_t size = 100 * 1024;
    char *big = tr_xmalloc(size);
    for (int i = 0; i < 40; i++) {
        memset(big, 'a' + i % 26, size);
        struct tr_kv_log_record rec = {big, size};
        uint64_t pos;
        assert_int_equal(tr_kv_log_append(log, &rec, 1, &pos, NULL), TR_OK);
        assert_int_equal(pos, (uint64_t)i + 1);
    }
    tr_kv_log_close(log);
    log = tr_kv_log_open(t.dir, &opts, NULL);
    assert_non_null(log);
    assert_bounds(log, 1, 41);
    char *got = dump(log, 0);
    /* Per record "<pos>=" and ";": 3 bytes for 1..9, 4 for 10..40. */
    assert_int_equal(strlen(got), 40 * size + 9 * 3 + 31 * 4);
    tr_free(got);
    tr_free(big);
    tr_kv_log_close(log);
    rm_rf(t.root);
}

static void
test_truncate(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_kv_log *log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    char s[16];
    for (int i = 1; i <= 10; i++) {
        snprintf(s, sizeof(s), "r%d", i);
        assert_int_equal(append_str(log, s), i);
    }
    assert_int_equal(tr_kv_log_truncate(log, 4, NULL), TR_OK);
    assert_bounds(log, 4, 11);
    assert_dump(log, 0, "4=r4;5=r5;6=r6;7=r7;8=r8;9=r9;10=r10;");
    assert_dump(log, 9, "9=r9;10=r10;");
    /* Truncating below the start does nothing. */
    assert_int_equal(tr_kv_log_truncate(log, 2, NULL), TR_OK);
    assert_bounds(log, 4, 11);
    /* Beyond the end is refused. */
    struct tr_err err;
    tr_err_clear(&err);
    assert_int_equal(tr_kv_log_truncate(log, 12, &err), TR_EINVAL);
    assert_non_null(strstr(err.msg, "cannot truncate log "));
    assert_non_null(strstr(err.msg, "beyond the end"));
    tr_kv_log_close(log);

    log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_bounds(log, 4, 11);
    assert_dump(log, 0, "4=r4;5=r5;6=r6;7=r7;8=r8;9=r9;10=r10;");
    /* Truncating everything leaves an empty log whose positions go on. */
    assert_int_equal(tr_kv_log_truncate(log, 11, NULL), TR_OK);
    assert_bounds(log, 11, 11);
    assert_dump(log, 0, "");
    tr_kv_log_close(log);

    log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_bounds(log, 11, 11);
    assert_int_equal(append_str(log, "x"), 11);
    assert_dump(log, 0, "11=x;");
    tr_kv_log_close(log);
    log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_bounds(log, 11, 12);
    tr_kv_log_close(log);
    rm_rf(t.root);
}

/* Truncation must give the disk space back once RocksDB compacts. */
static uint64_t
dir_bytes(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "du -sk %s", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long long kb = 0;
    assert_int_equal(fscanf(p, "%llu", &kb), 1);
    pclose(p);
    return kb * 1024;
}

static void
test_truncate_reclaims_space(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_kv_log_options opts = {.write_buffer_size = 1 << 20};
    struct tr_kv_log *log = tr_kv_log_open(t.dir, &opts, NULL);
    assert_non_null(log);
    /* 24 MiB of incompressible records, flushed to many SST files. */
    size_t size = 16 * 1024;
    char *rec = tr_xmalloc(size);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 1536; i++) {
        for (size_t j = 0; j < size; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rec[j] = (char)x;
        }
        struct tr_kv_log_record r = {rec, size};
        assert_int_equal(tr_kv_log_append(log, &r, 1, NULL, NULL), TR_OK);
    }
    tr_free(rec);
    /* Most of it has been flushed from the 1 MiB memtables to SSTs. */
    uint64_t before = dir_bytes(t.dir);
    assert_true(before > 20u * 1024 * 1024);
    assert_int_equal(tr_kv_log_truncate(log, 1537, NULL), TR_OK);
    /* Everything is deleted; what stays is RocksDB's preallocated space
     * (4 MiB of MANIFEST, the next WAL file) and its info LOG. Poll a
     * little in case a background job still holds old files. */
    uint64_t after = before;
    for (int i = 0; i < 100 && after > before / 3; i++) {
        usleep(100 * 1000);
        after = dir_bytes(t.dir);
    }
    tr_kv_log_close(log);
    log = tr_kv_log_open(t.dir, &opts, NULL);
    assert_non_null(log);
    assert_bounds(log, 1537, 1537);
    tr_kv_log_close(log);
    print_message("truncate reclaimed disk: %llu -> %llu KiB\n",
                  (unsigned long long)before / 1024,
                  (unsigned long long)after / 1024);
    if (after > before / 3) {
        fail_msg("truncation reclaimed too little: %llu -> %llu bytes",
                 (unsigned long long)before, (unsigned long long)after);
    }
    rm_rf(t.root);
}

static void
test_errors(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_err err;

    /* A log cannot live where a regular file is. */
    char file[128];
    snprintf(file, sizeof(file), "%s/file", t.root);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    tr_err_clear(&err);
    assert_null(tr_kv_log_open(file, NULL, &err));
    assert_int_equal(err.code, TR_EIO);
    char want[256];
    snprintf(want, sizeof(want), "cannot open log %s: ", file);
    assert_memory_equal(err.msg, want, strlen(want));

    struct tr_kv_log_options bad = {.sync = (enum tr_kv_log_sync)9};
    assert_null(tr_kv_log_open(t.dir, &bad, &err));
    assert_int_equal(err.code, TR_EINVAL);
    assert_non_null(strstr(err.msg, "unknown sync policy 9"));

    struct tr_kv_log *log = tr_kv_log_open(t.dir, NULL, &err);
    assert_non_null(log);
    tr_err_clear(&err);
    assert_int_equal(tr_kv_log_append(log, NULL, 0, NULL, &err), TR_EINVAL);
    snprintf(want, sizeof(want), "cannot append to log %s: no records", t.dir);
    assert_string_equal(err.msg, want);
    assert_bounds(log, 1, 1);
    tr_kv_log_close(log);

    enum tr_kv_log_sync sync;
    assert_int_equal(tr_kv_log_sync_parse("interval", &sync, NULL), TR_OK);
    assert_int_equal(sync, TR_KV_LOG_SYNC_INTERVAL);
    assert_int_equal(tr_kv_log_sync_parse("always", &sync, NULL), TR_OK);
    assert_int_equal(sync, TR_KV_LOG_SYNC_ALWAYS);
    assert_int_equal(tr_kv_log_sync_parse("group", &sync, NULL), TR_OK);
    assert_int_equal(sync, TR_KV_LOG_SYNC_GROUP);
    tr_err_clear(&err);
    assert_int_equal(tr_kv_log_sync_parse("never", &sync, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot parse log sync policy \"never\": "
                                 "want group, always or interval");
    assert_string_equal(tr_kv_log_sync_name(TR_KV_LOG_SYNC_GROUP), "group");
    rm_rf(t.root);
}

static void
test_meta(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_kv_log *log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    struct tr_buf v = TR_BUF_INIT;
    struct tr_err err;
    tr_err_clear(&err);
    assert_int_equal(tr_kv_log_meta_get(log, "ckpt", 4, &v, &err),
                     TR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "not found"));
    assert_int_equal(tr_kv_log_meta_put(log, "ckpt", 4, "\0\1\2", 3, NULL),
                     TR_OK);
    assert_int_equal(tr_kv_log_meta_put(log, "other", 5, "v", 1, NULL), TR_OK);
    /* Meta keys are not log records. */
    assert_bounds(log, 1, 1);
    assert_dump(log, 0, "");
    append_str(log, "a");
    tr_kv_log_close(log);

    log = open_log(t.dir, TR_KV_LOG_SYNC_GROUP);
    assert_bounds(log, 1, 2);
    assert_int_equal(tr_kv_log_meta_get(log, "ckpt", 4, &v, NULL), TR_OK);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.data, "\0\1\2", 3);
    assert_int_equal(tr_kv_log_meta_delete(log, "ckpt", 4, NULL), TR_OK);
    assert_int_equal(tr_kv_log_meta_get(log, "ckpt", 4, &v, NULL),
                     TR_ENOTFOUND);
    assert_int_equal(v.len, 0);
    assert_int_equal(tr_kv_log_meta_get(log, "other", 5, &v, NULL), TR_OK);
    assert_memory_equal(v.data, "v", 1);
    tr_buf_fini(&v);
    tr_kv_log_close(log);
    rm_rf(t.root);
}

/* ---- concurrency ------------------------------------------------------ */

#define CONC_THREADS 8
#define CONC_APPENDS 300

struct conc_worker {
    struct tr_kv_log *log;
    int id;
    int failures;
};

static void *
conc_main(void *arg)
{
    struct conc_worker *w = arg;
    int seq = 0;
    for (int a = 0; a < CONC_APPENDS; a++) {
        /* Batches of 1..3 records, numbered per thread. */
        int n = 1 + a % 3;
        char text[3][32];
        struct tr_kv_log_record recs[3];
        for (int i = 0; i < n; i++) {
            snprintf(text[i], sizeof(text[i]), "%d:%d", w->id, seq++);
            recs[i].data = text[i];
            recs[i].len = strlen(text[i]);
        }
        if (tr_kv_log_append(w->log, recs, (size_t)n, NULL, NULL) != TR_OK) {
            w->failures++;
        }
    }
    return NULL;
}

struct conc_check {
    uint64_t expect_pos;
    int next_seq[CONC_THREADS];
    bool bad;
};

static int
conc_check_fn(uint64_t pos, const void *data, size_t len, void *arg)
{
    struct conc_check *c = arg;
    char text[32];
    int id, seq;
    snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)data);
    if (pos != c->expect_pos || sscanf(text, "%d:%d", &id, &seq) != 2 ||
        id < 0 || id >= CONC_THREADS || seq != c->next_seq[id]) {
        c->bad = true;
        return 1;
    }
    c->expect_pos++;
    c->next_seq[id]++;
    return 0;
}

static void
run_concurrent(enum tr_kv_log_sync sync)
{
    struct tmp t;
    tmp_make(&t);
    struct tr_kv_log *log = open_log(t.dir, sync);
    pthread_t th[CONC_THREADS];
    struct conc_worker w[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        w[i] = (struct conc_worker){log, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, conc_main, &w[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    /* Each thread appended 300 batches of 1, 2, 3 records: 600 records. */
    uint64_t total = CONC_THREADS * (CONC_APPENDS / 3) * 6;
    assert_bounds(log, 1, total + 1);
    tr_kv_log_close(log);

    /* Every record exactly once, positions dense, per-thread order kept. */
    log = open_log(t.dir, sync);
    struct conc_check c = {.expect_pos = 1};
    assert_int_equal(tr_kv_log_iterate(log, 0, conc_check_fn, &c, NULL), TR_OK);
    assert_false(c.bad);
    assert_int_equal(c.expect_pos, total + 1);
    for (int i = 0; i < CONC_THREADS; i++) {
        assert_int_equal(c.next_seq[i], (CONC_APPENDS / 3) * 6);
    }
    tr_kv_log_close(log);
    rm_rf(t.root);
}

static void
test_concurrent_group(void **state)
{
    run_concurrent(TR_KV_LOG_SYNC_GROUP);
}

static void
test_concurrent_always(void **state)
{
    run_concurrent(TR_KV_LOG_SYNC_ALWAYS);
}

static void
test_concurrent_interval(void **state)
{
    run_concurrent(TR_KV_LOG_SYNC_INTERVAL);
}

/* ---- crash test ------------------------------------------------------- */

#define CRASH_THREADS 4
#define CRASH_ROUNDS 6
#define CRASH_ACKS 2500
/* Thread 0 of the child truncates every this many of its appends... */
#define CRASH_TRUNCATE_EVERY 100
/* ...to this many positions below its latest acknowledged one. */
#define CRASH_TRUNCATE_KEEP 3000

enum crash_kind {
    CRASH_APPENDED = 0,   /* records [pos, pos + n) are durable */
    CRASH_TRUNCATING = 1, /* about to truncate below pos */
    CRASH_TRUNCATED = 2,  /* truncation below pos is durable */
};

/* What the child reports on the pipe. One write per message, smaller than
 * PIPE_BUF, so messages from several threads never interleave. */
struct crash_msg {
    uint64_t pos;
    uint32_t kind;
    uint32_t round;
    uint32_t thread;
    uint32_t seq;
    uint32_t n;
    uint32_t pad;
};

/* The header every crash-test record starts with, then a payload. */
struct crash_hdr {
    uint32_t round;
    uint32_t thread;
    uint32_t seq; /* per round and thread, counts records */
    uint32_t len; /* payload bytes */
};

static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Payload bytes derive from the header, so the parent can recompute them. */
static void
crash_fill(const struct crash_hdr *h, unsigned char *out)
{
    uint64_t x = mix64(((uint64_t)h->round << 48) ^
                       ((uint64_t)h->thread << 32) ^ h->seq);
    for (uint32_t i = 0; i < h->len; i++) {
        if (i % 8 == 0) {
            x = mix64(x + i + 1);
        }
        out[i] = (unsigned char)(x >> (8 * (i % 8)));
    }
}

struct crash_child {
    struct tr_kv_log *log;
    int fd;
    uint32_t round;
    uint32_t thread;
};

static void
crash_send(int fd, const struct crash_msg *m)
{
    if (write(fd, m, sizeof(*m)) != (ssize_t)sizeof(*m)) {
        _exit(4);
    }
}

static void *
crash_child_main(void *arg)
{
    struct crash_child *c = arg;
    unsigned char bufs[3][sizeof(struct crash_hdr) + 2048];
    uint32_t seq = 0;
    struct tr_err err;
    for (uint32_t a = 1;; a++) {
        struct tr_kv_log_record recs[3];
        uint32_t n = 1 + (uint32_t)(mix64(a) % 3);
        for (uint32_t i = 0; i < n; i++) {
            struct crash_hdr h = {c->round, c->thread, seq + i,
                                  (uint32_t)(mix64(seq + i) % 2048)};
            memcpy(bufs[i], &h, sizeof(h));
            crash_fill(&h, bufs[i] + sizeof(h));
            recs[i].data = bufs[i];
            recs[i].len = sizeof(h) + h.len;
        }
        struct crash_msg m = {0, CRASH_APPENDED, c->round, c->thread, seq, n,
                              0};
        if (tr_kv_log_append(c->log, recs, n, &m.pos, &err) != TR_OK) {
            fprintf(stderr, "crash child: %s\n", err.msg);
            _exit(3);
        }
        crash_send(c->fd, &m);
        seq += n;

        /* Truncate while the other threads keep appending. */
        if (c->thread == 0 && a % CRASH_TRUNCATE_EVERY == 0 &&
            m.pos > CRASH_TRUNCATE_KEEP) {
            struct crash_msg t = {m.pos - CRASH_TRUNCATE_KEEP,
                                  CRASH_TRUNCATING,
                                  c->round,
                                  0,
                                  0,
                                  0,
                                  0};
            crash_send(c->fd, &t);
            if (tr_kv_log_truncate(c->log, t.pos, &err) != TR_OK) {
                fprintf(stderr, "crash child: %s\n", err.msg);
                _exit(3);
            }
            t.kind = CRASH_TRUNCATED;
            crash_send(c->fd, &t);
        }
    }
    return NULL;
}

/* The child: tr-ut-kv --crash-child <dir> <policy> <fd> <round> */
static int
crash_child(char **argv)
{
    enum tr_kv_log_sync sync;
    struct tr_err err;
    if (tr_kv_log_sync_parse(argv[3], &sync, &err) != TR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    struct tr_kv_log_options opts = {.sync = sync};
    struct tr_kv_log *log = tr_kv_log_open(argv[2], &opts, &err);
    if (!log) {
        fprintf(stderr, "crash child: %s\n", err.msg);
        return 2;
    }
    struct crash_child c[CRASH_THREADS];
    pthread_t th[CRASH_THREADS];
    for (int i = 0; i < CRASH_THREADS; i++) {
        c[i] = (struct crash_child){log, atoi(argv[4]), (uint32_t)atoi(argv[5]),
                                    (uint32_t)i};
        pthread_create(&th[i], NULL, crash_child_main, &c[i]);
    }
    /* Appends forever; the parent kills us. */
    for (;;) {
        pause();
    }
}

/* Parent-side state of the crash test. */
struct crash_state {
    struct crash_msg *acks; /* every CRASH_APPENDED message, all rounds */
    size_t nacks;
    size_t cap;
    uint64_t truncating; /* highest CRASH_TRUNCATING position */
    uint64_t truncated;  /* highest CRASH_TRUNCATED position */
    /* Records seen when verifying, indexed by position. */
    struct crash_hdr *seen;
    uint64_t nseen;
    uint64_t expect_pos;
    char problem[256];
};

static int
crash_verify_fn(uint64_t pos, const void *data, size_t len, void *arg)
{
    struct crash_state *s = arg;
    struct crash_hdr h;
    static unsigned char want[2048];
    if (pos != s->expect_pos) {
        snprintf(s->problem, sizeof(s->problem), "position %llu, want %llu",
                 (unsigned long long)pos, (unsigned long long)s->expect_pos);
        return 1;
    }
    if (len < sizeof(h)) {
        snprintf(s->problem, sizeof(s->problem), "short record at %llu",
                 (unsigned long long)pos);
        return 1;
    }
    memcpy(&h, data, sizeof(h));
    if (h.len > sizeof(want)) {
        snprintf(s->problem, sizeof(s->problem), "bad length at %llu",
                 (unsigned long long)pos);
        return 1;
    }
    crash_fill(&h, want);
    if (len != sizeof(h) + h.len ||
        memcmp((const char *)data + sizeof(h), want, h.len) != 0) {
        snprintf(s->problem, sizeof(s->problem), "bad content at %llu",
                 (unsigned long long)pos);
        return 1;
    }
    if (pos >= s->nseen) {
        uint64_t n = pos * 2 + 1024;
        s->seen = tr_realloc(s->seen, n * sizeof(*s->seen));
        assert_non_null(s->seen);
        s->nseen = n;
    }
    s->seen[pos] = h;
    s->expect_pos++;
    return 0;
}

/* Runs one child until CRASH_ACKS appends are acknowledged, then SIGKILLs
 * it and collects whatever it reported before dying. */
static void
crash_round(struct crash_state *s, const char *dir, const char *policy,
            uint32_t round)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char fd_arg[16], round_arg[16];
    snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
    snprintf(round_arg, sizeof(round_arg), "%u", round);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char *args[] = {
            "tr-ut-kv", "--crash-child", (char *)dir, (char *)policy,
            fd_arg,     round_arg,       NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(fds[1]);

    size_t got = 0;
    bool killed = false;
    int64_t deadline = tr_mono_ns() + 30 * TR_NS_PER_SEC;
    for (;;) {
        if (!killed && got >= CRASH_ACKS) {
            /* Mid-stream: the child is appending as fast as it can. */
            kill(pid, SIGKILL);
            killed = true;
        }
        if (!killed && tr_mono_ns() > deadline) {
            kill(pid, SIGKILL);
            fail_msg("crash child made only %zu acks in 30 s", got);
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) {
            continue;
        }
        struct crash_msg m;
        ssize_t r = read(fds[0], &m, sizeof(m));
        if (r == 0) {
            break; /* EOF: the child is gone */
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        /* Messages are written whole and read one at a time. */
        assert_int_equal(r, sizeof(m));
        if (m.kind == CRASH_TRUNCATING) {
            s->truncating = m.pos > s->truncating ? m.pos : s->truncating;
            continue;
        }
        if (m.kind == CRASH_TRUNCATED) {
            s->truncated = m.pos > s->truncated ? m.pos : s->truncated;
            continue;
        }
        if (s->nacks == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4096;
            s->acks = tr_realloc(s->acks, s->cap * sizeof(*s->acks));
            assert_non_null(s->acks);
        }
        s->acks[s->nacks++] = m;
        got++;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fail_msg("crash child ended by itself (status 0x%x)", status);
    }
}

/* Reopens the log and checks it against everything the children acked. */
static void
crash_verify(struct crash_state *s, const char *dir, uint32_t rounds,
             const char *policy)
{
    struct tr_err err;
    tr_err_clear(&err);
    struct tr_kv_log *log = tr_kv_log_open(dir, NULL, &err);
    if (!log) {
        fail_msg("%s", err.msg);
    }
    uint64_t first, next;
    tr_kv_log_bounds(log, &first, &next);
    /* An acknowledged truncation is durable; the log never starts past
     * the highest truncation that was asked for. */
    assert_true(first >= s->truncated);
    assert_true(first <= (s->truncating > 1 ? s->truncating : 1));
    s->expect_pos = first;
    int rc = tr_kv_log_iterate(log, 0, crash_verify_fn, s, &err);
    tr_kv_log_close(log);
    if (rc != TR_OK) {
        fail_msg("replay failed: %s %s", err.msg, s->problem);
    }
    assert_int_equal(s->expect_pos, next);

    /* Every acknowledged record not truncated away is where its ack says,
     * with its content (checked by crash_verify_fn). */
    uint64_t acked_end = 0;
    for (size_t i = 0; i < s->nacks; i++) {
        const struct crash_msg *a = &s->acks[i];
        for (uint32_t k = 0; k < a->n; k++) {
            uint64_t pos = a->pos + k;
            if (pos < first) {
                continue;
            }
            if (pos >= next) {
                fail_msg("acked position %llu lost (log ends at %llu)",
                         (unsigned long long)pos, (unsigned long long)next);
            }
            const struct crash_hdr *h = &s->seen[pos];
            if (h->round != a->round || h->thread != a->thread ||
                h->seq != a->seq + k) {
                fail_msg("acked position %llu holds round %u thread %u seq "
                         "%u, want %u/%u/%u",
                         (unsigned long long)pos, h->round, h->thread, h->seq,
                         a->round, a->thread, a->seq + k);
            }
        }
        if (a->pos + a->n > acked_end) {
            acked_end = a->pos + a->n;
        }
    }
    assert_true(next >= acked_end);
    print_message("round %u (%s): %zu acks so far, log holds [%llu, %llu), "
                  "acked up to %llu\n",
                  rounds - 1, policy, s->nacks, (unsigned long long)first,
                  (unsigned long long)next, (unsigned long long)acked_end);

    /* Per round and thread, the surviving records have consecutive
     * sequence numbers in position order: no reordering, no holes. */
    int64_t last_seq[CRASH_ROUNDS][CRASH_THREADS];
    memset(last_seq, 0xff, sizeof(last_seq));
    for (uint64_t pos = first; pos < next; pos++) {
        const struct crash_hdr *h = &s->seen[pos];
        assert_true(h->round < rounds && h->thread < CRASH_THREADS);
        int64_t *last = &last_seq[h->round][h->thread];
        if (*last >= 0) {
            assert_int_equal(h->seq, *last + 1);
        }
        *last = h->seq;
    }
}

/*
 * Kills a child appending (and truncating) from several threads with
 * SIGKILL, CRASH_ROUNDS times on the same log, cycling through the sync
 * policies; after each kill every acknowledged record must be there.
 * SIGKILL kills the process, not the machine, so this proves that nothing
 * is acknowledged before RocksDB has it and that recovery yields a dense,
 * ordered log; it cannot prove that fsync reached the disk.
 */
static void
test_crash_recovery(void **state)
{
    struct tmp t;
    tmp_make(&t);
    struct crash_state s;
    memset(&s, 0, sizeof(s));
    static const char *const policies[] = {"group", "always", "interval"};
    for (uint32_t round = 0; round < CRASH_ROUNDS; round++) {
        size_t before = s.nacks;
        const char *policy = policies[round % 3];
        crash_round(&s, t.dir, policy, round);
        assert_true(s.nacks - before >= CRASH_ACKS);
        /* Verify after every kill: later rounds append to what survived. */
        crash_verify(&s, t.dir, round + 1, policy);
    }
    assert_true(s.truncated > 1);
    tr_free(s.acks);
    tr_free(s.seen);
    rm_rf(t.root);
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--crash-child") == 0) {
        return crash_child(argv);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_log),
        cmocka_unit_test(test_append_iterate_reopen),
        cmocka_unit_test(test_large_records),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_truncate_reclaims_space),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_concurrent_group),
        cmocka_unit_test(test_concurrent_always),
        cmocka_unit_test(test_concurrent_interval),
        cmocka_unit_test(test_crash_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
