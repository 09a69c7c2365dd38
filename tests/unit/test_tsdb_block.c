/*
 * Unit tests for lib/tsdb/block_*: write a block from a head, read it back
 * through the filesystem object store, determinism, selection, label
 * queries, ranged reads, corruption, listing and deletion.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/objstore.h"
#include "tsdb/block.h"
#include "tsdb/block_format.h"
#include "tsdb/chunk.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

#define TENANT "team-a"
/* The block range used by most tests: 2 h from a round start. */
#define MINT INT64_C(1700000000000)
#define MAXT (MINT + 2 * 3600 * 1000)

struct fixture {
    char dir[64];
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
    snprintf(f->dir, sizeof(f->dir), "/tmp/tr-ut-block-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    struct tr_objstore_options o = {.backend = "filesystem", .fs_root = f->dir};
    struct tr_err err;
    f->os = tr_objstore_create(&o, &err);
    if (f->os == NULL) {
        fprintf(stderr, "create: %s\n", err.msg);
        return -1;
    }
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

static struct tr_labels *
parse(const char *text)
{
    struct tr_labels *ls = NULL;
    struct tr_err err;
    if (tr_labels_parse(text, strlen(text), &ls, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
    return ls;
}

static struct tr_series *
series(struct tr_head *h, const char *text)
{
    struct tr_labels *ls = parse(text);
    struct tr_series *s = NULL;
    struct tr_err err;
    if (tr_head_get_or_create(h, ls, &s, NULL, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
    tr_labels_destroy(ls);
    return s;
}

static void
append(struct tr_head *h, struct tr_series *s, int64_t t, double v)
{
    struct tr_err err;
    if (tr_head_append(h, s, t, v, NULL, &err) != TR_OK) {
        fail_msg("%s", err.msg);
    }
}

static uint64_t
bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double
from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/*
 * Series definitions for the varied head. Each describes how to make its
 * samples from an index, so two heads can be fed the same samples in a
 * different series order.
 */
enum kind { COUNTER, GAUGE, STALE, NANS, GAPS, SPAN, BEFORE, IRREGULAR };

struct def {
    const char *labels;
    enum kind kind;
};

static const struct def defs[] = {
    {"{__name__=\"http_requests_total\", job=\"api\", instance=\"a:9100\", "
     "code=\"200\"}",
     COUNTER},
    {"{__name__=\"http_requests_total\", job=\"api\", instance=\"b:9100\", "
     "code=\"200\"}",
     COUNTER},
    {"{__name__=\"http_requests_total\", job=\"api\", instance=\"a:9100\", "
     "code=\"500\"}",
     COUNTER},
    {"{__name__=\"http_requests_total\", job=\"web\", instance=\"c:9100\", "
     "code=\"200\"}",
     COUNTER},
    {"{__name__=\"memory_bytes\", job=\"api\", instance=\"a:9100\"}", GAUGE},
    {"{__name__=\"memory_bytes\", job=\"web\", instance=\"c:9100\"}", GAUGE},
    {"{__name__=\"up\", job=\"api\", instance=\"a:9100\"}", STALE},
    {"{__name__=\"up\", job=\"web\", instance=\"c:9100\", zone=\"eu\"}", STALE},
    {"{__name__=\"weird\", job=\"api\", kind=\"nan\"}", NANS},
    {"{__name__=\"gappy\", job=\"batch\"}", GAPS},
    {"{__name__=\"spanning\", job=\"batch\"}", SPAN},
    {"{__name__=\"old\", job=\"batch\"}", BEFORE},
    {"{__name__=\"irregular\", job=\"web\", instance=\"d:1\"}", IRREGULAR},
    {"{__name__=\"unicode_\xc3\xa9t\xc3\xa9\", job=\"caf\xc3\xa9\"}", COUNTER},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void
feed(struct tr_head *h, const struct def *d, unsigned seed)
{
    struct tr_series *s = series(h, d->labels);
    const int64_t step = 15000;
    switch (d->kind) {
    case COUNTER: {
        double v = seed * 10.0;
        for (int64_t t = MINT - 600000; t < MAXT + 600000; t += step) {
            v += (double)((t / step + seed) % 7);
            append(h, s, t, v);
        }
        break;
    }
    case GAUGE:
        for (int64_t t = MINT; t < MAXT; t += step) {
            append(h, s, t, 1e9 + (double)((t / step * 37 + seed) % 5) * 4096);
        }
        break;
    case STALE:
        for (int64_t t = MINT; t < MAXT; t += step) {
            bool stale = (t / step) % 50 == 49;
            append(h, s, t, stale ? tr_stale_nan() : 1.0);
        }
        break;
    case NANS: {
        const double specials[] = {NAN,
                                   -0.0,
                                   INFINITY,
                                   -INFINITY,
                                   from_bits(UINT64_C(0x7ff8000000000abc)),
                                   5e-324,
                                   1.7976931348623157e308,
                                   0.1};
        int i = 0;
        for (int64_t t = MINT + 1; t < MAXT; t += step * 3) {
            append(h, s, t, specials[i++ % 8]);
        }
        break;
    }
    case GAPS:
        /* Two bursts with a long hole in between. */
        for (int64_t t = MINT + 5000; t < MINT + 1800000; t += step) {
            append(h, s, t, (double)(t % 1000));
        }
        for (int64_t t = MAXT - 600000; t < MAXT; t += 60000) {
            append(h, s, t, 42.5);
        }
        break;
    case SPAN:
        /* One sample before, one inside, one after the range. */
        append(h, s, MINT - 1, 1);
        append(h, s, MINT + 3600000, 2);
        append(h, s, MAXT, 3);
        break;
    case BEFORE:
        for (int64_t t = MINT - 3600000; t < MINT; t += step) {
            append(h, s, t, 7);
        }
        break;
    case IRREGULAR: {
        int64_t t = MINT;
        for (int i = 0; t < MAXT; i++) {
            append(h, s, t, (double)i * 0.25);
            t += 1 + (i * 7919) % 40000;
        }
        append(h, s, MAXT - 1, -1);
        break;
    }
    }
}

/* A head with every def, created in order `order` (a permutation). */
static struct tr_head *
varied_head(const size_t *order, uint32_t chunk_samples)
{
    struct tr_head_options ho = {.max_samples_per_chunk = chunk_samples};
    struct tr_head *h = tr_head_create(&ho);
    assert_non_null(h);
    for (size_t i = 0; i < NDEFS; i++) {
        size_t k = order != NULL ? order[i] : i;
        feed(h, &defs[k], (unsigned)k);
    }
    return h;
}

static void
build(struct tr_head *h, int64_t mint, int64_t maxt,
      struct tr_block_files *files)
{
    struct tr_block_options o = {.tenant = TENANT, .mint = mint, .maxt = maxt};
    struct tr_err err;
    if (tr_block_build_from_head(h, &o, files, &err) != TR_OK) {
        fail_msg("build: %s", err.msg);
    }
}

static struct tr_block *
write_and_open(struct fixture *f, struct tr_head *h, int64_t mint, int64_t maxt,
               struct tr_block_meta *meta)
{
    struct tr_block_files files = {0};
    build(h, mint, maxt, &files);
    struct tr_err err;
    if (tr_block_upload(f->os, &files, &err) != TR_OK) {
        fail_msg("upload: %s", err.msg);
    }
    if (meta != NULL) {
        *meta = files.meta;
    }
    struct tr_block *b = NULL;
    if (tr_block_open(f->os, TENANT, files.meta.id, &b, &err) != TR_OK) {
        fail_msg("open: %s", err.msg);
    }
    tr_block_files_fini(&files);
    return b;
}

/* Samples of a head series in [mint, maxt]. */
static size_t
head_samples(struct tr_head *h, struct tr_series *s, int64_t mint, int64_t maxt,
             int64_t **ts, double **vs)
{
    struct tr_series_chunks sc = {0};
    struct tr_err err;
    assert_int_equal(tr_head_read(h, s, mint, maxt, &sc, &err), TR_OK);
    struct tr_series_iter it;
    tr_series_iter_init(&it, &sc, mint, maxt);
    size_t n = 0, cap = 0;
    *ts = NULL;
    *vs = NULL;
    int64_t t;
    double v;
    int rc;
    while ((rc = tr_series_iter_next(&it, &t, &v, &err)) > 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            *ts = realloc(*ts, cap * sizeof(**ts));
            *vs = realloc(*vs, cap * sizeof(**vs));
        }
        (*ts)[n] = t;
        (*vs)[n] = v;
        n++;
    }
    assert_int_equal(rc, 0);
    tr_series_chunks_fini(&sc);
    return n;
}

/*
 * Checks that the block's answer to (matchers, [mint, maxt]) equals the
 * head's, sample for sample and bit for bit, ignoring series without
 * samples in the range on either side. Returns the series compared.
 */
static size_t
compare_select(struct tr_head *h, struct tr_block *b,
               struct tr_matcher *const *ms, size_t n, int64_t mint,
               int64_t maxt)
{
    struct tr_err err;
    struct tr_series_list hl = {0};
    assert_int_equal(tr_head_select(h, ms, n, mint, maxt, &hl, &err), TR_OK);
    struct tr_block_series_set set = {0};
    if (tr_block_select(b, ms, n, mint, maxt, &set, &err) != TR_OK) {
        fail_msg("select: %s", err.msg);
    }
    size_t bi = 0, compared = 0;
    for (size_t i = 0; i < hl.len; i++) {
        int64_t *ht;
        double *hv;
        /* The block holds only its own range of the head's samples. */
        const struct tr_block_meta *bm = tr_block_get_meta(b);
        size_t hn =
            head_samples(h, hl.series[i], mint > bm->mint ? mint : bm->mint,
                         maxt < bm->maxt - 1 ? maxt : bm->maxt - 1, &ht, &hv);
        if (hn == 0) {
            free(ht);
            free(hv);
            continue;
        }
        int64_t *bt = NULL;
        double *bv = NULL;
        size_t bn = 0;
        /* Skip block series without samples in range (chunk overlap
         * only). */
        while (bi < set.len) {
            assert_int_equal(tr_block_series_samples(&set.series[bi], mint,
                                                     maxt, &bt, &bv, &bn, &err),
                             TR_OK);
            if (bn > 0) {
                break;
            }
            bi++;
        }
        if (bi == set.len) {
            fail_msg("block lacks series %zu of the head", i);
        }
        if (!tr_labels_equal(set.series[bi].labels,
                             tr_series_labels(hl.series[i]))) {
            struct tr_buf x = TR_BUF_INIT, y = TR_BUF_INIT;
            tr_labels_format(set.series[bi].labels, &x);
            tr_labels_format(tr_series_labels(hl.series[i]), &y);
            fail_msg("labels differ: block %.*s head %.*s", (int)x.len, x.data,
                     (int)y.len, y.data);
        }
        if (bn != hn) {
            struct tr_buf x = TR_BUF_INIT;
            tr_labels_format(set.series[bi].labels, &x);
            fail_msg("%.*s: block %zu samples, head %zu in [%" PRId64
                     ", %" PRId64 "]",
                     (int)x.len, x.data, bn, hn, mint, maxt);
        }
        for (size_t k = 0; k < hn; k++) {
            assert_int_equal(bt[k], ht[k]);
            assert_int_equal(bits(bv[k]), bits(hv[k]));
        }
        tr_free(bt);
        tr_free(bv);
        free(ht);
        free(hv);
        bi++;
        compared++;
    }
    /* Whatever the block has left must be empty in range. */
    for (; bi < set.len; bi++) {
        int64_t *bt;
        double *bv;
        size_t bn;
        assert_int_equal(tr_block_series_samples(&set.series[bi], mint, maxt,
                                                 &bt, &bv, &bn, &err),
                         TR_OK);
        assert_int_equal(bn, 0);
    }
    tr_block_series_set_fini(&set);
    tr_series_list_fini(&hl);
    return compared;
}

static struct tr_matcher *
matcher(enum tr_match_type type, const char *name, const char *value)
{
    struct tr_err err;
    struct tr_matcher *m =
        tr_matcher_create(type, name, strlen(name), value, strlen(value), &err);
    if (m == NULL) {
        fail_msg("%s", err.msg);
    }
    return m;
}

/* ---- tests ----------------------------------------------------------------
 */

/* ---- columns ------------------------------------------------------------ */

/* Encodes v[0..n), checks the mode byte when want_mode >= 0, decodes the
 * whole column and every sub-range bit for bit; returns the column size. */
static size_t
values_roundtrip(const double *v, size_t n, int want_mode)
{
    struct tr_buf col = TR_BUF_INIT;
    int64_t *scratch = malloc(3 * n * sizeof(*scratch));
    double *out = malloc(n * sizeof(*out));
    assert_int_equal(tr_block_values_encode(v, n, scratch, &col), TR_OK);
    const unsigned char *p = (const unsigned char *)col.data;
    if (want_mode >= 0) {
        assert_int_equal(p[0], want_mode);
    }
    for (size_t lo = 0; lo <= n; lo += 1 + n / 7) {
        for (size_t hi = lo; hi <= n; hi += 1 + n / 5) {
            assert_int_equal(tr_block_values_decode(p, col.len, n, lo, hi, out),
                             TR_OK);
            for (size_t i = lo; i < hi; i++) {
                if (bits(out[i - lo]) != bits(v[i])) {
                    fail_msg("value %zu: got %016" PRIx64 " want %016" PRIx64,
                             i, bits(out[i - lo]), bits(v[i]));
                }
            }
        }
    }
    assert_int_equal(tr_block_values_decode(p, col.len, n, 0, n, out), TR_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(bits(out[i]), bits(v[i]));
    }
    /* Truncated or extended columns are refused when read to the end. */
    assert_int_equal(tr_block_values_decode(p, col.len - 1, n, 0, n, out),
                     TR_EINVAL);
    tr_buf_append_byte(&col, 0);
    p = (const unsigned char *)col.data;
    assert_int_equal(tr_block_values_decode(p, col.len, n, 0, n, out),
                     TR_EINVAL);
    size_t len = col.len - 1;
    tr_buf_fini(&col);
    free(scratch);
    free(out);
    return len;
}

static void
test_value_columns(void **state)
{
    (void)state;
    /* Decimal with the fewest digits that reproduce every bit. */
    const double cents[] = {12.37, 12.38, 13.0, -4.5, 1e6 + 0.01, 0};
    values_roundtrip(cents, 6, 2);
    double ints[40];
    for (size_t i = 0; i < 40; i++) {
        ints[i] = (double)(i * 3 % 17);
    }
    ints[7] = 1e15;
    ints[8] = -9007199254740992.0;
    ints[9] = 9007199254740992.0;
    values_roundtrip(ints, 40, 0);
    const double fine[] = {0.000000000000001, 0.1, 123456789.123456};
    values_roundtrip(fine, 3, 15);
    /* Every odd value, as the exceptions of a decimal column. */
    double odd[64];
    const double specials[] = {NAN,
                               tr_stale_nan(),
                               from_bits(UINT64_C(0x7ff8000000000abc)),
                               from_bits(UINT64_C(0xfff0000000000001)),
                               INFINITY,
                               -INFINITY,
                               -0.0,
                               5e-324,
                               1.7976931348623157e308,
                               0.1 + 0.2,
                               9007199254740993.0 * 2,
                               1e300};
    for (size_t i = 0; i < 64; i++) {
        odd[i] = i % 5 == 3 ? specials[(i / 5) % 12] : (double)i * 0.5;
    }
    values_roundtrip(odd, 64, 1);
    /* Only odd values: XOR is shorter. */
    values_roundtrip(specials, 12, TR_BLOCK_MODE_XOR);
    /* Exceptions at both ends and next to each other. */
    const double edges[] = {NAN, -0.0, 1, 2, 3, 4, 5, 6, 7, INFINITY};
    values_roundtrip(edges, 10, -1);
    /* Random doubles: XOR, and no bigger than 9 bytes a value. */
    double rnd[200];
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < 200; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rnd[i] = from_bits(x >> 2);
    }
    assert_true(values_roundtrip(rnd, 200, TR_BLOCK_MODE_XOR) <= 1 + 9 * 200);
    /* A constant series costs a byte or so a value before zstd. */
    double flat[120];
    for (size_t i = 0; i < 120; i++) {
        flat[i] = 3.25;
    }
    assert_true(values_roundtrip(flat, 120, 2) <= 2 + 120 + 2);
    values_roundtrip(flat, 1, 2);
    values_roundtrip(&specials[0], 1, -1);
    /* A counter growing by about 12.75 a step with jitter, and a gauge
     * moving in 4096-byte pages: the steady form stores each as a small
     * residual from the typical step (one byte where plain needs two or
     * three), and keeps exceptions and a reset exact. */
    double counter[300], pages[300];
    x = 2463534242u;
    for (size_t i = 0; i < 300; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        counter[i] = (double)(1275 * (int64_t)i + (int64_t)(x % 41)) / 100;
        pages[i] = 9e9 + 4096.0 * (double)((int64_t)(x % 61) - 30);
    }
    size_t steady = values_roundtrip(counter, 300, TR_BLOCK_MODE_STEADY | 2);
    assert_true(steady <= 8 + 300 + 10);
    assert_true(values_roundtrip(pages, 300, TR_BLOCK_MODE_STEADY | 0) <=
                12 + 300);
    counter[100] = NAN;
    counter[200] = 0; /* a counter reset */
    counter[201] = tr_stale_nan();
    values_roundtrip(counter, 300, TR_BLOCK_MODE_STEADY | 2);
    /* Corrupt steady headers are refused: a zero divisor. */
    const unsigned char zero_g[] = {TR_BLOCK_MODE_STEADY | 0, 0, 0, 0, 2, 2};
    double two[2];
    assert_int_equal(
        tr_block_values_decode(zero_g, sizeof(zero_g), 2, 0, 2, two),
        TR_EINVAL);
    const unsigned char ok_g[] = {TR_BLOCK_MODE_STEADY | 0, 0, 3, 2, 2, 0};
    assert_int_equal(tr_block_values_decode(ok_g, sizeof(ok_g), 2, 0, 2, two),
                     TR_OK);
    assert_true(two[0] == 1 && two[1] == 4);
}

static void
test_time_columns(void **state)
{
    (void)state;
    int64_t t[300], out[300];
    /* Regular, jittered, irregular and huge gaps, negative times. */
    for (int kind = 0; kind < 4; kind++) {
        int64_t base = kind == 3 ? -1000000 : MINT;
        for (int i = 0; i < 300; i++) {
            int64_t step = kind == 0   ? 15000
                           : kind == 1 ? 15000 + (i * 7919) % 5 - 2
                           : kind == 2 ? 1 + (i * 104729) % 40000
                                       : INT64_C(1) << (i % 40);
            base += step;
            t[i] = base;
        }
        struct tr_buf col = TR_BUF_INIT;
        assert_int_equal(tr_block_times_encode(t, 300, &col), TR_OK);
        const unsigned char *p = (const unsigned char *)col.data;
        assert_int_equal(
            tr_block_times_decode(p, col.len, t[0], t[299], 300, out), TR_OK);
        assert_memory_equal(out, t, sizeof(t));
        if (kind == 0) {
            assert_int_equal(col.len, 2 + 298); /* 15000, then zeros */
        }
        /* Wrong count, end, or bytes: refused, never past the buffer. */
        assert_int_equal(
            tr_block_times_decode(p, col.len, t[0], t[299], 299, out),
            TR_EINVAL);
        assert_int_equal(
            tr_block_times_decode(p, col.len, t[0], t[299] + 1, 300, out),
            TR_EINVAL);
        assert_int_equal(
            tr_block_times_decode(p, col.len - 1, t[0], t[299], 300, out),
            TR_EINVAL);
        for (size_t pos = 0; pos < col.len; pos += 3) {
            col.data[pos] ^= 0x41;
            tr_block_times_decode(p, col.len, t[0], t[299], 300, out);
            col.data[pos] ^= 0x41;
        }
        tr_buf_fini(&col);
    }
    /* One sample: an empty column. */
    struct tr_buf col = TR_BUF_INIT;
    assert_int_equal(tr_block_times_encode(t, 1, &col), TR_OK);
    assert_int_equal(col.len, 0);
    const unsigned char none[1] = {0};
    assert_int_equal(tr_block_times_decode(none, 0, 5, 5, 1, out), TR_OK);
    assert_int_equal(out[0], 5);
    /* Deltas that would overflow or go backwards. */
    const unsigned char back[] = {10, 41}; /* +10, then -21 */
    assert_int_equal(tr_block_times_decode(back, 2, 0, -1, 3, out), TR_EINVAL);
    const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(
        tr_block_times_decode(huge, sizeof(huge), INT64_MAX - 5, 0, 2, out),
        TR_EINVAL);
    tr_buf_fini(&col);
}

static void
test_value_column_corruption(void **state)
{
    (void)state;
    /* Flipped bytes in every mode: an error or some values, never a
     * crash or a read past the column (ASan watches). */
    double v[100];
    static const int want[] = {2, 0, TR_BLOCK_MODE_XOR,
                               TR_BLOCK_MODE_STEADY | 2};
    for (int mode = 0; mode < 4; mode++) {
        for (int i = 0; i < 100; i++) {
            v[i] = mode == 0   ? i * 0.25
                   : mode == 1 ? (i % 9 == 0 ? NAN : i)
                   : mode == 2 ? from_bits(UINT64_C(0x3ff0123456789abc) + i * i)
                               : (double)(1275 * i + (i * 37 % 41)) / 100;
        }
        struct tr_buf col = TR_BUF_INIT;
        int64_t scratch[300];
        double out[100];
        assert_int_equal(tr_block_values_encode(v, 100, scratch, &col), TR_OK);
        assert_int_equal((unsigned char)col.data[0], want[mode]);
        for (size_t pos = 0; pos < col.len; pos++) {
            for (int bit = 0; bit < 8; bit += 3) {
                /* A copy of exactly the column's size. */
                unsigned char *copy = malloc(col.len);
                memcpy(copy, col.data, col.len);
                copy[pos] ^= (unsigned char)(1 << bit);
                tr_block_values_decode(copy, col.len, 100, 0, 100, out);
                tr_block_values_decode(copy, col.len, 100, 10, 20, out);
                free(copy);
            }
        }
        tr_buf_fini(&col);
    }
}

static void
test_roundtrip_bit_exact(void **state)
{
    struct fixture *f = *state;
    /* Head chunks of 50 samples: the block must re-cut them at 120. */
    struct tr_head *h = varied_head(NULL, 50);
    struct tr_block_meta meta;
    struct tr_block *b = write_and_open(f, h, MINT, MAXT, &meta);

    const struct tr_block_meta *m = tr_block_get_meta(b);
    assert_string_equal(m->id, meta.id);
    assert_string_equal(m->tenant, TENANT);
    assert_int_equal(m->mint, MINT);
    assert_int_equal(m->maxt, MAXT);
    assert_int_equal(m->level, 1);
    assert_int_equal(m->version, TR_BLOCK_FORMAT_VERSION);
    /* Every def but "old" has samples in range. */
    assert_int_equal(m->series, NDEFS - 1);

    /* Whole range, then sub-ranges cutting through chunks. */
    assert_int_equal(compare_select(h, b, NULL, 0, MINT, MAXT - 1), NDEFS - 1);
    compare_select(h, b, NULL, 0, MINT + 123456, MINT + 2345678);
    compare_select(h, b, NULL, 0, MINT - 100000, MINT + 10);
    compare_select(h, b, NULL, 0, MAXT - 1, MAXT + 1000000);
    /* Outside the block: nothing. */
    struct tr_block_series_set set = {0};
    struct tr_err err;
    assert_int_equal(tr_block_select(b, NULL, 0, MAXT, MAXT + 100, &set, &err),
                     TR_OK);
    assert_int_equal(set.len, 0);

    /* The meta counts agree with the head's samples in range. */
    uint64_t samples = 0;
    assert_int_equal(tr_block_select(b, NULL, 0, MINT, MAXT - 1, &set, &err),
                     TR_OK);
    for (size_t i = 0; i < set.len; i++) {
        int64_t *t;
        double *v;
        size_t n;
        const struct tr_block_series *bs = &set.series[i];
        assert_int_equal(
            tr_block_series_samples(bs, MINT, MAXT - 1, &t, &v, &n, &err),
            TR_OK);
        samples += n;
        /* The series' own range and count describe its samples. */
        assert_int_equal(n, bs->samples);
        assert_int_equal(t[0], bs->min_t);
        assert_int_equal(t[n - 1], bs->max_t);
        assert_true(bs->min_t >= MINT && bs->max_t < MAXT);
        tr_free(t);
        tr_free(v);
    }
    assert_int_equal(samples, m->samples);
    /* Series fed the same timestamps share a time column: in the range
     * the counters, gauges and "up" series all have MINT + k * 15 s. */
    assert_int_equal(m->chunks, 4); /* the shared one, NANS, GAPS,
                                       IRREGULAR; SPAN has one sample */
    tr_block_series_set_fini(&set);
    tr_block_release(b);
    tr_head_destroy(h);
}

static void
test_deterministic_bytes(void **state)
{
    (void)state;
    size_t fwd[NDEFS], rev[NDEFS], mix[NDEFS];
    for (size_t i = 0; i < NDEFS; i++) {
        fwd[i] = i;
        rev[i] = NDEFS - 1 - i;
        mix[i] = (i * 5) % NDEFS; /* 5 is coprime with 14 */
    }
    struct tr_head *h1 = varied_head(fwd, 120);
    struct tr_head *h2 = varied_head(rev, 37);
    struct tr_head *h3 = varied_head(mix, 0);
    struct tr_block_files a = {0}, b = {0}, c = {0};
    build(h1, MINT, MAXT, &a);
    build(h2, MINT, MAXT, &b);
    build(h3, MINT, MAXT, &c);
    assert_string_equal(a.meta.id, b.meta.id);
    assert_string_equal(a.meta.id, c.meta.id);
    const struct tr_block_files *others[2] = {&b, &c};
    for (int i = 0; i < 2; i++) {
        const struct tr_block_files *o = others[i];
        assert_int_equal(a.index.len, o->index.len);
        assert_memory_equal(a.index.data, o->index.data, a.index.len);
        assert_int_equal(a.chunks.len, o->chunks.len);
        assert_memory_equal(a.chunks.data, o->chunks.data, a.chunks.len);
        assert_int_equal(a.meta_json.len, o->meta_json.len);
        assert_memory_equal(a.meta_json.data, o->meta_json.data,
                            a.meta_json.len);
    }
    /* The id sorts by mint: it starts with the ULID time part. */
    struct tr_block_files later = {0}, other = {0};
    build(h1, MINT + 1000, MAXT, &later);
    assert_true(strcmp(a.meta.id, later.meta.id) < 0);
    /* One more sample changes the id. */
    struct tr_series *s = series(h1, defs[4].labels);
    append(h1, s, MAXT - 1, 1);
    build(h1, MINT, MAXT, &other);
    assert_string_not_equal(a.meta.id, other.meta.id);
    /* Another tenant, another id. */
    struct tr_block_options o = {
        .tenant = "team-b", .mint = MINT, .maxt = MAXT};
    struct tr_block_files t2 = {0};
    struct tr_err err;
    assert_int_equal(tr_block_build_from_head(h2, &o, &t2, &err), TR_OK);
    assert_string_not_equal(a.meta.id, t2.meta.id);

    tr_block_files_fini(&a);
    tr_block_files_fini(&b);
    tr_block_files_fini(&c);
    tr_block_files_fini(&later);
    tr_block_files_fini(&other);
    tr_block_files_fini(&t2);
    tr_head_destroy(h1);
    tr_head_destroy(h2);
    tr_head_destroy(h3);
}

/* Compares label names/values answers of head and block. */
static void
compare_labels(struct tr_head *h, struct tr_block *b, const char *name,
               struct tr_matcher *const *ms, size_t n, int64_t mint,
               int64_t maxt)
{
    struct tr_arena *arena = tr_arena_create(0);
    struct tr_tsdb_str *hv, *bv;
    size_t hn, bn;
    struct tr_err err;
    if (name == NULL) {
        assert_int_equal(
            tr_head_label_names(h, ms, n, mint, maxt, arena, &hv, &hn, &err),
            TR_OK);
        assert_int_equal(
            tr_block_label_names(b, ms, n, mint, maxt, arena, &bv, &bn, &err),
            TR_OK);
    } else {
        assert_int_equal(tr_head_label_values(h, name, strlen(name), ms, n,
                                              mint, maxt, arena, &hv, &hn,
                                              &err),
                         TR_OK);
        assert_int_equal(tr_block_label_values(b, name, strlen(name), ms, n,
                                               mint, maxt, arena, &bv, &bn,
                                               &err),
                         TR_OK);
    }
    assert_int_equal(bn, hn);
    for (size_t i = 0; i < hn; i++) {
        assert_int_equal(bv[i].len, hv[i].len);
        assert_memory_equal(bv[i].ptr, hv[i].ptr, hv[i].len);
    }
    tr_arena_destroy(arena);
}

static void
test_matchers_and_labels_equal_head(void **state)
{
    struct fixture *f = *state;
    /* Only samples inside the range, so the head's series-level time
     * filter and the block's chunk-level one agree. */
    struct tr_head *h = tr_head_create(NULL);
    for (size_t i = 0; i < NDEFS; i++) {
        if (defs[i].kind != SPAN && defs[i].kind != BEFORE &&
            defs[i].kind != COUNTER) {
            feed(h, &defs[i], (unsigned)i);
        }
    }
    /* Counters inside the range only, plus many series for postings. */
    for (int i = 0; i < 300; i++) {
        char text[160];
        snprintf(text, sizeof(text),
                 "{__name__=\"node_cpu_seconds_total\", cpu=\"%d\", "
                 "mode=\"%s\", instance=\"host%d\"%s}",
                 i % 8,
                 (i / 8) % 3 == 0   ? "idle"
                 : (i / 8) % 3 == 1 ? "user"
                                    : "system",
                 i / 24, i % 10 == 0 ? ", extra=\"yes\"" : "");
        struct tr_series *s = series(h, text);
        for (int64_t t = MINT + i; t < MAXT; t += 30000) {
            append(h, s, t, (double)(t - MINT) / 1000.0);
        }
    }
    struct tr_block *b = write_and_open(f, h, MINT, MAXT, NULL);

    struct {
        enum tr_match_type type;
        const char *name;
        const char *value;
    } cases[][3] = {
        {{TR_MATCH_EQUAL, "__name__", "node_cpu_seconds_total"}},
        {{TR_MATCH_EQUAL, "__name__", "node_cpu_seconds_total"},
         {TR_MATCH_EQUAL, "mode", "idle"}},
        {{TR_MATCH_EQUAL, "__name__", "node_cpu_seconds_total"},
         {TR_MATCH_NOT_EQUAL, "mode", "idle"},
         {TR_MATCH_REGEX, "cpu", "[0-3]"}},
        {{TR_MATCH_REGEX, "instance", "host1.*|c:9100"}},
        {{TR_MATCH_REGEX, "job", ".+"}, {TR_MATCH_NOT_REGEX, "job", "web"}},
        {{TR_MATCH_EQUAL, "extra", ""}, {TR_MATCH_EQUAL, "cpu", "2"}},
        {{TR_MATCH_NOT_EQUAL, "extra", ""}},
        {{TR_MATCH_EQUAL, "zone", ""}, {TR_MATCH_EQUAL, "__name__", "up"}},
        {{TR_MATCH_REGEX, "zone", "eu|"}},
        {{TR_MATCH_EQUAL, "nosuchlabel", "x"}},
        {{TR_MATCH_EQUAL, "nosuchlabel", ""}, {TR_MATCH_EQUAL, "job", "api"}},
        {{TR_MATCH_NOT_REGEX, "__name__", "node.*"}},
        {{TR_MATCH_EQUAL, "job", "caf\xc3\xa9"}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct tr_matcher *ms[3];
        size_t n = 0;
        for (size_t k = 0; k < 3 && cases[c][k].name != NULL; k++) {
            ms[n++] =
                matcher(cases[c][k].type, cases[c][k].name, cases[c][k].value);
        }
        compare_select(h, b, ms, n, MINT, MAXT - 1);
        compare_select(h, b, ms, n, MINT + 1000000, MINT + 2000000);
        compare_labels(h, b, NULL, ms, n, MINT, MAXT - 1);
        compare_labels(h, b, "instance", ms, n, MINT, MAXT - 1);
        compare_labels(h, b, "__name__", ms, n, MINT, MAXT - 1);
        for (size_t k = 0; k < n; k++) {
            tr_matcher_destroy(ms[k]);
        }
    }
    /* No matchers: the label table path. */
    compare_labels(h, b, NULL, NULL, 0, MINT, MAXT - 1);
    compare_labels(h, b, "mode", NULL, 0, MINT - 5, MAXT + 5);
    compare_labels(h, b, "nosuchlabel", NULL, 0, MINT, MAXT);
    tr_block_release(b);
    tr_head_destroy(h);
}

static void
test_ranged_reads(void **state)
{
    struct fixture *f = *state;
    struct tr_head *h = tr_head_create(NULL);
    for (int i = 0; i < 3000; i++) {
        char text[128];
        snprintf(text, sizeof(text),
                 "{__name__=\"metric_%d\", instance=\"host%d\", job=\"node\"}",
                 i % 100, i / 100);
        struct tr_series *s = series(h, text);
        /* Counters with pseudo-random 2-decimal increments, so the
         * block spans many column pages. */
        double v = 0;
        uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15u + 1;
        for (int64_t t = MINT; t < MAXT; t += 15000) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v = (double)((int64_t)(v * 100 + 0.5) + (int64_t)(x % 100000)) /
                100;
            append(h, s, t, v);
        }
    }
    struct tr_block_meta meta;
    struct tr_block *b = write_and_open(f, h, MINT, MAXT, &meta);
    uint64_t total = meta.index_size + meta.chunks_size;
    struct tr_block_read_stats st0, st1;
    tr_block_read_stats(b, &st0);
    /* Opening reads meta.json and a small part of the index. */
    assert_true(st0.requests <= 4);
    print_message("block: %" PRIu64 " B index, %" PRIu64
                  " B chunks; open fetched %" PRIu64 " B in %" PRIu64
                  " requests\n",
                  meta.index_size, meta.chunks_size, st0.bytes, st0.requests);

    struct tr_matcher *ms[2] = {
        matcher(TR_MATCH_EQUAL, "__name__", "metric_42"),
        matcher(TR_MATCH_EQUAL, "instance", "host17"),
    };
    assert_int_equal(compare_select(h, b, ms, 2, MINT, MAXT - 1), 1);
    tr_block_read_stats(b, &st1);
    uint64_t bytes = st1.bytes - st0.bytes;
    print_message("one series: %" PRIu64 " B in %" PRIu64
                  " requests (%.2f%% of the block)\n",
                  bytes, st1.requests - st0.requests, 100.0 * bytes / total);
    /* Postings of two values, one series page, one value page and one
     * time page. */
    assert_true(st1.requests - st0.requests <= 5);
    assert_true(bytes * 20 < total);
    tr_matcher_destroy(ms[0]);
    tr_matcher_destroy(ms[1]);
    tr_block_release(b);
    tr_head_destroy(h);
}

/* Rewrites one object of a block. */
static void
put_object(struct fixture *f, const char *id, const char *file,
           const void *data, size_t len)
{
    char key[TR_OBJSTORE_KEY_MAX + 1];
    struct tr_err err;
    assert_int_equal(tr_block_key(key, sizeof(key), TENANT, id, file, &err),
                     TR_OK);
    assert_int_equal(tr_objstore_put(f->os, key, data, len, &err), TR_OK);
}

/* Opens and selects everything; returns the first error code (or TR_OK). */
static int
open_and_read(struct fixture *f, const char *id, struct tr_err *err)
{
    struct tr_block *b = NULL;
    int rc = tr_block_open(f->os, TENANT, id, &b, err);
    if (rc != TR_OK) {
        return rc;
    }
    struct tr_block_series_set set = {0};
    rc = tr_block_select(b, NULL, 0, MINT, MAXT - 1, &set, err);
    for (size_t i = 0; rc == TR_OK && i < set.len; i++) {
        int64_t *t;
        double *v;
        size_t n;
        rc = tr_block_series_samples(&set.series[i], MINT, MAXT - 1, &t, &v, &n,
                                     err);
        if (rc == TR_OK) {
            tr_free(t);
            tr_free(v);
        }
    }
    tr_block_series_set_fini(&set);
    tr_block_release(b);
    return rc;
}

static void
expect_error(int rc, const struct tr_err *err, const char *needle)
{
    if (rc == TR_OK) {
        fail_msg("corruption not detected (wanted \"%s\")", needle);
    }
    if (strstr(err->msg, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
    }
}

static void
test_corruption(void **state)
{
    struct fixture *f = *state;
    struct tr_head *h = varied_head(NULL, 0);
    struct tr_block_files files = {0};
    build(h, MINT, MAXT, &files);
    struct tr_err err;
    assert_int_equal(tr_block_upload(f->os, &files, &err), TR_OK);
    const char *id = files.meta.id;
    assert_int_equal(open_and_read(f, id, &err), TR_OK);

    /* A flipped byte in the chunks object: the page checksum. */
    struct tr_buf bad = TR_BUF_INIT;
    tr_buf_append(&bad, files.chunks.data, files.chunks.len);
    bad.data[bad.len / 2] ^= 0x10;
    put_object(f, id, "chunks", bad.data, bad.len);
    int rc = open_and_read(f, id, &err);
    expect_error(rc, &err, "column page is corrupt");
    assert_int_equal(rc, TR_EINVAL);
    put_object(f, id, "chunks", files.chunks.data, files.chunks.len);

    /* A flipped byte in the table of contents. */
    tr_buf_reset(&bad);
    tr_buf_append(&bad, files.index.data, files.index.len);
    bad.data[bad.len - 20] ^= 1;
    put_object(f, id, "index", bad.data, bad.len);
    expect_error(open_and_read(f, id, &err), &err, "checksum mismatch");

    /* A truncated index: its size no longer matches meta.json. */
    put_object(f, id, "index", files.index.data, files.index.len - 7);
    expect_error(open_and_read(f, id, &err), &err, "cannot read block");

    /* Bytes flipped anywhere in the index: an error or a correct-looking
     * answer, never a crash (ASan watches). */
    int detected = 0;
    for (size_t pos = 0; pos < files.index.len; pos += 13) {
        tr_buf_reset(&bad);
        tr_buf_append(&bad, files.index.data, files.index.len);
        bad.data[pos] ^= (char)(1 + pos % 255);
        put_object(f, id, "index", bad.data, bad.len);
        rc = open_and_read(f, id, &err);
        if (rc != TR_OK) {
            assert_int_equal(rc, TR_EINVAL);
            assert_non_null(strstr(err.msg, id));
            detected++;
        }
    }
    print_message("index byte flips detected: %d of %zu\n", detected,
                  (files.index.len + 12) / 13);
    assert_true(detected > 0);

    /* Every flipped byte in the postings is caught by a query reading
     * all lists (their checksums). */
    const unsigned char *toc =
        (const unsigned char *)files.index.data + files.index.len - 96;
    uint64_t poff = 0, plen = 0;
    for (int i = 0; i < 8; i++) {
        poff |= (uint64_t)toc[8 + 16 * TR_BLOCK_SEC_POSTINGS + i] << (8 * i);
        plen |= (uint64_t)toc[16 + 16 * TR_BLOCK_SEC_POSTINGS + i] << (8 * i);
    }
    assert_true(plen > 0 && poff + plen < files.index.len);
    const char *names[] = {"__name__", "code", "instance",
                           "job",      "kind", "zone"};
    for (uint64_t pos = poff; pos < poff + plen; pos += 7) {
        tr_buf_reset(&bad);
        tr_buf_append(&bad, files.index.data, files.index.len);
        bad.data[pos] ^= 0x04;
        put_object(f, id, "index", bad.data, bad.len);
        struct tr_block *pb = NULL;
        assert_int_equal(tr_block_open(f->os, TENANT, id, &pb, &err), TR_OK);
        rc = TR_OK;
        for (size_t k = 0; k < 6 && rc == TR_OK; k++) {
            struct tr_matcher *m = matcher(TR_MATCH_REGEX, names[k], ".+");
            struct tr_block_series_set set = {0};
            rc = tr_block_select(pb, &m, 1, MINT, MAXT - 1, &set, &err);
            tr_block_series_set_fini(&set);
            tr_matcher_destroy(m);
        }
        expect_error(rc, &err, "postings list is corrupt");
        tr_block_release(pb);
    }
    put_object(f, id, "index", files.index.data, files.index.len);

    /* meta.json that is not JSON, lies about its id, or is from the
     * future. */
    put_object(f, id, "meta.json", "{\"id\":", 6);
    expect_error(open_and_read(f, id, &err), &err, "cannot parse meta.json");
    char other[512];
    snprintf(other, sizeof(other), "%.*s", (int)files.meta_json.len,
             files.meta_json.data);
    char *v = strstr(other, "\"version\":3");
    assert_non_null(v);
    v[10] = '9';
    put_object(f, id, "meta.json", other, strlen(other));
    expect_error(open_and_read(f, id, &err), &err,
                 "unsupported format version 9");
    put_object(f, id, "meta.json", files.meta_json.data, files.meta_json.len);
    assert_int_equal(open_and_read(f, id, &err), TR_OK);

    /* Bad ids and tenants are refused before touching the store. */
    struct tr_block *b = NULL;
    assert_int_equal(tr_block_open(f->os, TENANT, "../../etc", &b, &err),
                     TR_EINVAL);
    assert_int_equal(tr_block_open(f->os, "a/b", id, &b, &err), TR_EINVAL);
    tr_buf_fini(&bad);
    tr_block_files_fini(&files);
    tr_head_destroy(h);
}

/* Tiny pages: many column pages, time columns shared across pages. */
static void
test_small_pages(void **state)
{
    struct fixture *f = *state;
    struct tr_head *h = varied_head(NULL, 0);
    struct tr_block_options o = {.tenant = TENANT,
                                 .mint = MINT,
                                 .maxt = MAXT,
                                 .chunk_page_size = 64,
                                 .series_per_page = 2};
    struct tr_block_files files = {0};
    struct tr_err err;
    assert_int_equal(tr_block_build_from_head(h, &o, &files, &err), TR_OK);
    assert_int_equal(tr_block_upload(f->os, &files, &err), TR_OK);
    struct tr_block *b = NULL;
    assert_int_equal(tr_block_open(f->os, TENANT, files.meta.id, &b, &err),
                     TR_OK);
    assert_int_equal(compare_select(h, b, NULL, 0, MINT, MAXT - 1), NDEFS - 1);
    const char *names[] = {"up", "memory_bytes", "weird", "irregular"};
    for (size_t i = 0; i < 4; i++) {
        struct tr_matcher *m = matcher(TR_MATCH_EQUAL, "__name__", names[i]);
        assert_true(compare_select(h, b, &m, 1, MINT, MAXT - 1) >= 1);
        compare_select(h, b, &m, 1, MINT + 999999, MINT + 1000001);
        tr_matcher_destroy(m);
    }
    tr_block_release(b);
    tr_block_files_fini(&files);
    tr_head_destroy(h);
}

static void
test_list_and_delete(void **state)
{
    struct fixture *f = *state;
    struct tr_head *h = varied_head(NULL, 0);
    struct tr_block_files b1 = {0}, b2 = {0}, b3 = {0};
    build(h, MINT, MINT + 3600000, &b1);
    build(h, MINT + 3600000, MAXT, &b2);
    build(h, MINT - 3600000, MINT, &b3);
    struct tr_err err;
    assert_int_equal(tr_block_upload(f->os, &b1, &err), TR_OK);
    assert_int_equal(tr_block_upload(f->os, &b2, &err), TR_OK);
    /* b3 without its meta.json: an interrupted upload. */
    put_object(f, b3.meta.id, "chunks", b3.chunks.data, b3.chunks.len);
    put_object(f, b3.meta.id, "index", b3.index.data, b3.index.len);
    /* Something else in the tenant's folder is ignored too. */
    assert_int_equal(
        tr_objstore_put(f->os, TENANT "/metrics/notes.txt", "x", 1, &err),
        TR_OK);

    struct tr_block_id_list l = {0};
    assert_int_equal(tr_block_list(f->os, TENANT, &l, &err), TR_OK);
    assert_int_equal(l.len, 2);
    assert_string_equal(l.ids[0], b1.meta.id); /* sorted by mint */
    assert_string_equal(l.ids[1], b2.meta.id);
    struct tr_block *b = NULL;
    assert_int_equal(tr_block_open(f->os, TENANT, b3.meta.id, &b, &err),
                     TR_ENOTFOUND);
    /* Another tenant sees nothing. */
    assert_int_equal(tr_block_list(f->os, "team-b", &l, &err), TR_OK);
    assert_int_equal(l.len, 0);

    struct tr_block_meta m;
    assert_int_equal(tr_block_meta_read(f->os, TENANT, b2.meta.id, &m, &err),
                     TR_OK);
    assert_int_equal(m.mint, MINT + 3600000);
    assert_int_equal(m.series, b2.meta.series);

    /* Cache: one open for two gets; evict then get opens again. */
    struct tr_block_cache *c = tr_block_cache_create(f->os, 1);
    struct tr_block *x = NULL, *y = NULL, *z = NULL;
    assert_int_equal(tr_block_cache_get(c, TENANT, b1.meta.id, &x, &err),
                     TR_OK);
    assert_int_equal(tr_block_cache_get(c, TENANT, b1.meta.id, &y, &err),
                     TR_OK);
    assert_ptr_equal(x, y);
    /* Capacity 1: b2 evicts b1, which stays valid for its holders. */
    assert_int_equal(tr_block_cache_get(c, TENANT, b2.meta.id, &z, &err),
                     TR_OK);
    assert_string_equal(tr_block_get_meta(x)->id, b1.meta.id);
    tr_block_release(x);
    tr_block_release(y);
    tr_block_release(z);

    /* Delete b1 and the leftovers of b3. */
    assert_int_equal(tr_block_delete(f->os, TENANT, b1.meta.id, &err), TR_OK);
    tr_block_cache_evict(c, TENANT, b1.meta.id);
    assert_int_equal(tr_block_delete(f->os, TENANT, b3.meta.id, &err), TR_OK);
    assert_int_equal(tr_block_delete(f->os, TENANT, b3.meta.id, &err), TR_OK);
    assert_int_equal(tr_block_list(f->os, TENANT, &l, &err), TR_OK);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.ids[0], b2.meta.id);
    char key[TR_OBJSTORE_KEY_MAX + 1];
    bool exists = true;
    tr_block_key(key, sizeof(key), TENANT, b1.meta.id, "index", &err);
    assert_int_equal(tr_objstore_exists(f->os, key, &exists, &err), TR_OK);
    assert_false(exists);
    tr_block_key(key, sizeof(key), TENANT, b3.meta.id, "chunks", &err);
    assert_int_equal(tr_objstore_exists(f->os, key, &exists, &err), TR_OK);
    assert_false(exists);
    assert_int_equal(tr_block_cache_get(c, TENANT, b1.meta.id, &x, &err),
                     TR_ENOTFOUND);

    tr_block_cache_destroy(c);
    tr_block_id_list_fini(&l);
    tr_block_files_fini(&b1);
    tr_block_files_fini(&b2);
    tr_block_files_fini(&b3);
    tr_head_destroy(h);
}

static void
test_builder_errors(void **state)
{
    (void)state;
    struct tr_err err;
    struct tr_block_options o = {.tenant = TENANT, .mint = 0, .maxt = 1000};
    struct tr_block_options bad = o;
    bad.maxt = 0;
    assert_null(tr_block_builder_create(&bad, &err));
    assert_int_equal(err.code, TR_EINVAL);
    bad = o;
    bad.tenant = "x/y";
    assert_null(tr_block_builder_create(&bad, &err));
    assert_non_null(strstr(err.msg, "cannot create block builder"));

    struct tr_block_builder *b = tr_block_builder_create(&o, &err);
    assert_non_null(b);
    struct tr_block_files files = {0};
    assert_int_equal(tr_block_builder_finish(b, &files, &err), TR_ENOTFOUND);
    struct tr_labels *la = parse("{a=\"1\"}");
    struct tr_labels *lb = parse("{a=\"2\"}");
    int64_t t[3] = {1, 5, 999};
    double v[3] = {1, 2, 3};
    assert_int_equal(tr_block_builder_add(b, lb, t, v, 3, &err), TR_OK);
    /* Labels must increase. */
    assert_int_equal(tr_block_builder_add(b, la, t, v, 3, &err), TR_EINVAL);
    tr_block_builder_destroy(b);

    b = tr_block_builder_create(&o, &err);
    int64_t out_of_range[2] = {1, 1000};
    assert_int_equal(tr_block_builder_add(b, la, out_of_range, v, 2, &err),
                     TR_EINVAL);
    assert_non_null(strstr(err.msg, "1000"));
    tr_block_builder_destroy(b);

    b = tr_block_builder_create(&o, &err);
    int64_t unordered[2] = {5, 5};
    assert_int_equal(tr_block_builder_add(b, la, unordered, v, 2, &err),
                     TR_EINVAL);
    tr_block_builder_destroy(b);

    /* A builder used directly gives the same block as from a head. */
    b = tr_block_builder_create(&o, &err);
    assert_int_equal(tr_block_builder_add(b, la, t, v, 3, &err), TR_OK);
    assert_int_equal(tr_block_builder_add(b, lb, t, v, 2, &err), TR_OK);
    assert_int_equal(tr_block_builder_finish(b, &files, &err), TR_OK);
    tr_block_builder_destroy(b);
    struct tr_head *h = tr_head_create(NULL);
    struct tr_series *sb = series(h, "{a=\"2\"}");
    struct tr_series *sa = series(h, "{a=\"1\"}");
    for (int i = 0; i < 3; i++) {
        append(h, sa, t[i], v[i]);
        if (i < 2) {
            append(h, sb, t[i], v[i]);
        }
    }
    append(h, sb, 1000, 9); /* outside [0, 1000) */
    struct tr_block_files hf = {0};
    assert_int_equal(tr_block_build_from_head(h, &o, &hf, &err), TR_OK);
    assert_string_equal(files.meta.id, hf.meta.id);
    assert_int_equal(files.index.len, hf.index.len);
    assert_memory_equal(files.index.data, hf.index.data, hf.index.len);
    assert_int_equal(hf.meta.samples, 5);
    /* An empty range of the head: nothing to write. */
    struct tr_block_options empty = {
        .tenant = TENANT, .mint = 5000, .maxt = 6000};
    struct tr_block_files ef = {0};
    assert_int_equal(tr_block_build_from_head(h, &empty, &ef, &err),
                     TR_ENOTFOUND);
    tr_block_files_fini(&files);
    tr_block_files_fini(&hf);
    tr_head_destroy(h);
    tr_labels_destroy(la);
    tr_labels_destroy(lb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_bit_exact, setup,
                                        teardown),
        cmocka_unit_test(test_deterministic_bytes),
        cmocka_unit_test_setup_teardown(test_matchers_and_labels_equal_head,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_delete, setup, teardown),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_value_columns),
        cmocka_unit_test(test_time_columns),
        cmocka_unit_test(test_value_column_corruption),
        cmocka_unit_test_setup_teardown(test_small_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
