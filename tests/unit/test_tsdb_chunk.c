/* Unit tests for lib/tsdb/chunk: Gorilla encoding round trips and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>
#include <math.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/mem.h"
#include "tsdb/chunk.h"

/* xorshift64*: deterministic randomness independent of libc's rand. */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static uint64_t
bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double
double_of(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

/* Encodes n samples into c (initialised by the caller), asserting success. */
static void
fill(struct tr_chunk *c, const int64_t *ts, const uint64_t *vs, size_t n)
{
    struct tr_err err;
    for (size_t i = 0; i < n; i++) {
        if (tr_chunk_append(c, ts[i], double_of(vs[i]), &err) != TR_OK) {
            fail_msg("append %zu: %s", i, err.msg);
        }
    }
}

/* Decodes the bytes and checks every sample bit-exactly. */
static void
check_bytes(const unsigned char *data, size_t len, const int64_t *ts,
            const uint64_t *vs, size_t n)
{
    struct tr_chunk_iter it;
    struct tr_err err;
    int64_t t;
    double v;
    assert_int_equal(tr_chunk_iter_init(&it, data, len, &err), TR_OK);
    for (size_t i = 0; i < n; i++) {
        int rc = tr_chunk_iter_next(&it, &t, &v, &err);
        if (rc != 1) {
            fail_msg("sample %zu: rc %d %s", i, rc, err.msg);
        }
        if (t != ts[i] || bits_of(v) != vs[i]) {
            fail_msg("sample %zu: got (%lld, %016llx) want (%lld, %016llx)",
                     i, (long long)t, (unsigned long long)bits_of(v),
                     (long long)ts[i], (unsigned long long)vs[i]);
        }
    }
    assert_int_equal(tr_chunk_iter_next(&it, &t, &v, &err), 0);
    assert_int_equal(tr_chunk_iter_next(&it, &t, &v, &err), 0);
}

/*
 * Full check of one series: round trip, determinism (a second encoding gives
 * the same bytes) and decode-then-append at several split points giving the
 * same bytes as an uninterrupted chunk.
 */
static void
check_series(const int64_t *ts, const uint64_t *vs, size_t n)
{
    struct tr_chunk c, again;
    tr_chunk_init(&c);
    tr_chunk_init(&again);
    fill(&c, ts, vs, n);
    assert_int_equal(tr_chunk_count(&c), n);
    if (n > 0) {
        assert_int_equal(tr_chunk_min_time(&c), ts[0]);
        assert_int_equal(tr_chunk_max_time(&c), ts[n - 1]);
        assert_int_equal(bits_of(tr_chunk_last_value(&c)), vs[n - 1]);
    }
    size_t len;
    const unsigned char *bytes = tr_chunk_bytes(&c, &len);
    assert_int_equal(len, tr_chunk_size(&c));
    check_bytes(bytes, len, ts, vs, n);

    fill(&again, ts, vs, n);
    size_t len2;
    const unsigned char *bytes2 = tr_chunk_bytes(&again, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(bytes, bytes2, len);

    size_t splits[] = {0, 1, 2, 3, n / 2, n > 0 ? n - 1 : 0, n};
    for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
        size_t k = splits[s] <= n ? splits[s] : n;
        struct tr_chunk part, resumed;
        struct tr_err err;
        tr_chunk_init(&part);
        tr_chunk_init(&resumed);
        fill(&part, ts, vs, k);
        size_t plen;
        const unsigned char *pbytes = tr_chunk_bytes(&part, &plen);
        if (tr_chunk_decode(&resumed, pbytes, plen, &err) != TR_OK) {
            fail_msg("decode at %zu: %s", k, err.msg);
        }
        fill(&resumed, ts + k, vs + k, n - k);
        size_t rlen;
        const unsigned char *rbytes = tr_chunk_bytes(&resumed, &rlen);
        assert_int_equal(rlen, len);
        assert_memory_equal(rbytes, bytes, len);
        tr_chunk_fini(&part);
        tr_chunk_fini(&resumed);
    }

    /* Trimming keeps the bytes. */
    tr_chunk_trim(&again);
    assert_int_equal(tr_chunk_memory(&again), n == 0 ? 0 : len);
    bytes2 = tr_chunk_bytes(&again, &len2);
    assert_memory_equal(bytes, bytes2, len);

    tr_chunk_fini(&c);
    tr_chunk_fini(&again);
}

static void
test_empty_chunk(void **state)
{
    struct tr_chunk c;
    tr_chunk_init(&c);
    size_t len;
    const unsigned char *b = tr_chunk_bytes(&c, &len);
    assert_int_equal(len, 2);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[1], 0);
    check_series(NULL, NULL, 0);
    tr_chunk_fini(&c);
}

static void
test_special_values(void **state)
{
    const uint64_t vs[] = {
        TR_STALE_NAN_BITS,
        0x7ff8000000000001ULL, /* quiet NaN, payload 1 */
        0xfff8000000000000ULL, /* negative quiet NaN */
        0x7ff0000000000001ULL, /* signalling NaN */
        0x7fffffffffffffffULL, /* NaN, all payload bits */
        bits_of(-0.0),
        bits_of(0.0),
        bits_of(INFINITY),
        bits_of(-INFINITY),
        1,                     /* smallest denormal */
        0x8000000000000001ULL, /* negative denormal */
        TR_STALE_NAN_BITS,
        TR_STALE_NAN_BITS,
        bits_of(1.0),
        TR_STALE_NAN_BITS,
        bits_of(DBL_MAX),
        bits_of(-DBL_MAX),
        0xffffffffffffffffULL,
    };
    size_t n = sizeof(vs) / sizeof(vs[0]);
    int64_t ts[sizeof(vs) / sizeof(vs[0])];
    for (size_t i = 0; i < n; i++) {
        ts[i] = 1700000000000 + (int64_t)i * 15000;
    }
    check_series(ts, vs, n);
    assert_true(tr_is_stale_nan(tr_stale_nan()));
    assert_true(isnan(tr_stale_nan()));
    assert_false(tr_is_stale_nan(NAN));
}

static void
test_extreme_timestamps(void **state)
{
    /* Negative times, the full int64 range, and every dod bucket edge. */
    const int64_t dods[] = {0,       127,      -128,    128,      -129,
                            8191,    -8192,    8192,    -8193,    524287,
                            -524288, 524288,   -524289, 1,        -1,
                            INT64_C(1) << 40, -(INT64_C(1) << 40)};
    size_t nd = sizeof(dods) / sizeof(dods[0]);
    int64_t ts[64];
    uint64_t vs[64];
    size_t n = 0;
    int64_t delta = 2000000;
    ts[n] = -5000000000000;
    vs[n++] = bits_of(1.5);
    ts[n] = ts[n - 1] + delta;
    vs[n++] = bits_of(2.5);
    for (size_t i = 0; i < nd; i++) {
        delta += dods[i];
        ts[n] = ts[n - 1] + delta;
        vs[n] = bits_of((double)i);
        n++;
    }
    check_series(ts, vs, n);

    const int64_t full[] = {INT64_MIN, INT64_MAX};
    const uint64_t fv[] = {1, 2};
    check_series(full, fv, 2);
    const int64_t big[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX - 1,
                           INT64_MAX};
    const uint64_t bv[] = {1, 2, 3, 4};
    check_series(big, bv, 4);
    const int64_t neg[] = {-3, -2, 0, 7, 1000000};
    const uint64_t nv[] = {5, 5, 5, 5, 5};
    check_series(neg, nv, 5);
}

static void
test_random_round_trips(void **state)
{
    int64_t ts[500];
    uint64_t vs[500];
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + rnd() % 500;
        int mode = round % 4;
        int64_t t = (int64_t)(rnd() % 4000000000000ULL) - 2000000000000;
        for (size_t i = 0; i < n; i++) {
            ts[i] = t;
            switch (mode) {
            case 0: /* arbitrary bits: every NaN payload, denormals... */
                vs[i] = rnd();
                break;
            case 1: /* small integers */
                vs[i] = bits_of((double)(rnd() % 1000));
                break;
            case 2: /* few distinct values, NaNs among them */
                vs[i] = (rnd() % 3 == 0) ? TR_STALE_NAN_BITS
                                         : bits_of((double)(rnd() % 2));
                break;
            default: /* random walk */
                vs[i] = bits_of((i > 0 ? double_of(vs[i - 1]) : 0) +
                                (double)(rnd() % 200) / 100.0 - 1.0);
                break;
            }
            uint64_t gap = round % 3 == 0   ? 1 + rnd() % 3
                           : round % 3 == 1 ? 15000 + rnd() % 5
                                            : 1 + (rnd() >> (rnd() % 64));
            if ((uint64_t)INT64_MAX - (uint64_t)t < gap) {
                n = i + 1;
                break;
            }
            t += (int64_t)gap;
        }
        check_series(ts, vs, n);
    }
}

static void
test_append_rejects_order(void **state)
{
    struct tr_chunk c;
    struct tr_err err;
    tr_chunk_init(&c);
    assert_int_equal(tr_chunk_append(&c, 1000, 1.0, &err), TR_OK);
    assert_int_equal(tr_chunk_append(&c, 2000, 2.0, &err), TR_OK);
    size_t len;
    const unsigned char *b = tr_chunk_bytes(&c, &len);
    unsigned char before[64];
    memcpy(before, b, len);
    assert_int_equal(tr_chunk_append(&c, 2000, 2.0, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot append to chunk: timestamp 2000 is "
                                 "not after the last one (2000)");
    assert_int_equal(tr_chunk_append(&c, 1500, 3.0, &err), TR_EINVAL);
    size_t len2;
    b = tr_chunk_bytes(&c, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(b, before, len);
    assert_int_equal(tr_chunk_count(&c), 2);
    assert_int_equal(tr_chunk_append(&c, 3000, 3.0, &err), TR_OK);
    tr_chunk_fini(&c);
}

static void
test_full_chunk(void **state)
{
    struct tr_chunk c;
    struct tr_err err;
    tr_chunk_init(&c);
    for (int64_t i = 0; i < TR_CHUNK_MAX_SAMPLES; i++) {
        assert_int_equal(tr_chunk_append(&c, i * 10, (double)i, NULL), TR_OK);
    }
    assert_int_equal(tr_chunk_append(&c, INT64_MAX, 1.0, &err), TR_ELIMIT);
    size_t len;
    const unsigned char *b = tr_chunk_bytes(&c, &len);
    struct tr_chunk_iter it;
    int64_t t;
    double v;
    assert_int_equal(tr_chunk_iter_init(&it, b, len, NULL), TR_OK);
    size_t n = 0;
    while (tr_chunk_iter_next(&it, &t, &v, NULL) == 1) {
        assert_int_equal(t, (int64_t)n * 10);
        n++;
    }
    assert_int_equal(n, TR_CHUNK_MAX_SAMPLES);
    tr_chunk_fini(&c);
}

static void
test_seek(void **state)
{
    struct tr_chunk c;
    tr_chunk_init(&c);
    for (int64_t i = 0; i < 120; i++) {
        assert_int_equal(tr_chunk_append(&c, 1000 + i * 10, (double)i, NULL),
                         TR_OK);
    }
    size_t len;
    const unsigned char *b = tr_chunk_bytes(&c, &len);
    struct tr_chunk_iter it;
    int64_t t;
    double v;
    for (int64_t target = 900; target <= 2300; target += 7) {
        assert_int_equal(tr_chunk_iter_init(&it, b, len, NULL), TR_OK);
        int rc = tr_chunk_iter_seek(&it, target, &t, &v, NULL);
        if (target > 1000 + 119 * 10) {
            assert_int_equal(rc, 0);
            continue;
        }
        assert_int_equal(rc, 1);
        int64_t want = target <= 1000 ? 1000 : 1000 + (target - 991) / 10 * 10;
        assert_int_equal(t, want);
        assert_true(v == (double)((want - 1000) / 10));
        /* Seeking backwards stays put; next moves on. */
        assert_int_equal(tr_chunk_iter_seek(&it, 0, &t, &v, NULL), 1);
        assert_int_equal(t, want);
        if (want < 1000 + 119 * 10) {
            assert_int_equal(tr_chunk_iter_next(&it, &t, &v, NULL), 1);
            assert_int_equal(t, want + 10);
        }
    }
    tr_chunk_fini(&c);
}

/* Truncated and garbled bytes give errors, never crashes (ASan checks). */
static void
test_corrupt_input(void **state)
{
    struct tr_chunk c;
    struct tr_err err;
    tr_chunk_init(&c);
    for (int64_t i = 0; i < 50; i++) {
        uint64_t v = rnd();
        assert_int_equal(tr_chunk_append(&c, i * 15000 + (int64_t)(rnd() % 9),
                                         double_of(v), NULL),
                         TR_OK);
    }
    size_t len;
    const unsigned char *b = tr_chunk_bytes(&c, &len);
    for (size_t cut = 0; cut < len; cut++) {
        struct tr_chunk d;
        tr_chunk_init(&d);
        assert_int_equal(tr_chunk_decode(&d, b, cut, &err), TR_EINVAL);
        tr_chunk_fini(&d);
    }
    unsigned char *copy = tr_malloc(len + 1);
    memcpy(copy, b, len);
    copy[len] = 0;
    struct tr_chunk d;
    tr_chunk_init(&d);
    assert_int_equal(tr_chunk_decode(&d, copy, len + 1, &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot decode chunk: 1 trailing bytes");
    for (int round = 0; round < 2000; round++) {
        memcpy(copy, b, len);
        copy[2 + rnd() % (len - 2)] ^= (unsigned char)(1u << (rnd() % 8));
        struct tr_chunk_iter it;
        int64_t t, last = INT64_MIN;
        double v;
        int rc;
        tr_chunk_iter_init(&it, copy, len, NULL);
        while ((rc = tr_chunk_iter_next(&it, &t, &v, NULL)) == 1) {
            assert_true(it.index == 1 || t > last);
            last = t;
        }
        assert_true(rc <= 0);
    }
    /* A '10' value before any window is corrupt. */
    static const unsigned char bad[] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0, 1, 0x80, 0};
    assert_int_equal(tr_chunk_decode(&d, bad, sizeof(bad), &err), TR_EINVAL);
    assert_string_equal(err.msg, "cannot decode chunk: bad value encoding "
                                 "at sample 1");
    tr_chunk_fini(&d);
    tr_chunk_fini(&c);
    tr_free(copy);
}

/* ---- compression on realistic series ---------------------------------- */

static double
bytes_per_sample(const char *name, double (*value)(size_t i), int jitter_ms)
{
    const size_t nchunks = 200;
    size_t total_bytes = 0;
    size_t total_samples = 0;
    int64_t t = 1700000000000;
    for (size_t k = 0; k < nchunks; k++) {
        struct tr_chunk c;
        tr_chunk_init(&c);
        for (size_t i = 0; i < TR_CHUNK_DEFAULT_SAMPLES; i++) {
            size_t idx = k * TR_CHUNK_DEFAULT_SAMPLES + i;
            int64_t j = jitter_ms > 0
                            ? (int64_t)(rnd() % (2 * (uint64_t)jitter_ms + 1)) -
                                  jitter_ms
                            : 0;
            assert_int_equal(tr_chunk_append(&c, t + j, value(idx), NULL),
                             TR_OK);
            t += 15000;
        }
        total_bytes += tr_chunk_size(&c);
        total_samples += tr_chunk_count(&c);
        tr_chunk_fini(&c);
    }
    double bps = (double)total_bytes / (double)total_samples;
    print_message("bytes/sample %-28s jitter %dms: %.3f\n", name, jitter_ms,
                  bps);
    return bps;
}

static double counter_value;

static double
counter(size_t i)
{
    if (i == 0) {
        counter_value = 0;
    }
    counter_value += (double)(rnd() % 10);
    return counter_value;
}

static double
gauge(size_t i)
{
    /* Memory-like gauge: ~1 GB drifting slowly, rounded to 4 KiB pages. */
    return 4096.0 * floor(262144.0 + 2000.0 * sin((double)i / 300.0) +
                          (double)(rnd() % 50));
}

static double
float_gauge(size_t i)
{
    /* CPU-usage-like float: 0.3 +- noise. */
    return 0.3 + 0.05 * sin((double)i / 100.0) +
           (double)(rnd() % 1000) / 100000.0;
}

static double
constant(size_t i)
{
    return 1.0;
}

static double
random_bits(size_t i)
{
    return double_of(rnd());
}

static void
test_compression(void **state)
{
    /* Bounds are loose on purpose; the printed numbers are the report. */
    double counter0 = bytes_per_sample("counter (+0..9 per 15s)", counter, 0);
    double counter2 = bytes_per_sample("counter (+0..9 per 15s)", counter, 2);
    double gauge0 = bytes_per_sample("gauge (bytes, slow drift)", gauge, 0);
    double fgauge0 = bytes_per_sample("gauge (float, noisy)", float_gauge, 0);
    double const0 = bytes_per_sample("constant", constant, 0);
    double const2 = bytes_per_sample("constant", constant, 2);
    double random0 = bytes_per_sample("random 64-bit patterns", random_bits,
                                      0);
    assert_true(counter0 < 1.9);
    assert_true(counter2 < 2.9);
    assert_true(gauge0 < 2.0);
    assert_true(fgauge0 < 7.5);
    assert_true(const0 < 0.45);
    assert_true(const2 < 1.6);
    assert_true(random0 < 9.0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_chunk),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_extreme_timestamps),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_append_rejects_order),
        cmocka_unit_test(test_full_chunk),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_corrupt_input),
        cmocka_unit_test(test_compression),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
