/* Shared pieces of the block format: TOC, meta.json, ids, tenant rules. */
#include "tsdb/block_format.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#include "base/buf.h"
#include "base/err.h"
#include "json/writer.h"
#include "tsdb/block.h"
#include "tsdb/varint.h"

static void
put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void
put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t
get_le32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t
get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

int
tr_block_toc_encode(const struct tr_block_toc *toc, struct tr_buf *out)
{
    unsigned char b[TR_BLOCK_TOC_SIZE];
    memcpy(b, TR_BLOCK_TOC_MAGIC, 4);
    put_le32(b + 4, TR_BLOCK_FORMAT_VERSION);
    for (int i = 0; i < TR_BLOCK_SEC_COUNT; i++) {
        put_le64(b + 8 + 16 * i, toc->off[i]);
        put_le64(b + 16 + 16 * i, toc->len[i]);
    }
    put_le64(b + 88, XXH64(b, 88, 0));
    return tr_buf_append(out, b, sizeof(b));
}

int
tr_block_toc_decode(const void *data, uint64_t index_size,
                    struct tr_block_toc *toc, struct tr_err *err)
{
    const unsigned char *b = data;
    if (memcmp(b, TR_BLOCK_TOC_MAGIC, 4) != 0) {
        return tr_err_set(err, TR_EINVAL, "bad table of contents magic");
    }
    if (get_le64(b + 88) != XXH64(b, 88, 0)) {
        return tr_err_set(err, TR_EINVAL,
                          "table of contents checksum "
                          "mismatch");
    }
    uint32_t version = get_le32(b + 4);
    if (version < TR_BLOCK_FORMAT_MIN_VERSION ||
        version > TR_BLOCK_FORMAT_VERSION) {
        return tr_err_set(err, TR_EINVAL, "unsupported index version %" PRIu32,
                          version);
    }
    uint64_t lo = TR_BLOCK_INDEX_HEADER_SIZE;
    uint64_t hi = index_size - TR_BLOCK_TOC_SIZE;
    for (int i = 0; i < TR_BLOCK_SEC_COUNT; i++) {
        toc->off[i] = get_le64(b + 8 + 16 * i);
        toc->len[i] = get_le64(b + 16 + 16 * i);
        if (toc->off[i] < lo || toc->off[i] > hi ||
            toc->len[i] > hi - toc->off[i]) {
            return tr_err_set(err, TR_EINVAL,
                              "section %d out of bounds (offset %" PRIu64
                              ", length %" PRIu64 ", index %" PRIu64 " bytes)",
                              i, toc->off[i], toc->len[i], index_size);
        }
    }
    return TR_OK;
}

int
tr_block_meta_encode(const struct tr_block_meta *m, struct tr_buf *out)
{
    struct tr_json w;
    tr_json_init(&w, out);
    tr_json_object_begin(&w);
    tr_json_key(&w, "id");
    tr_json_string(&w, m->id);
    tr_json_key(&w, "tenant");
    tr_json_string(&w, m->tenant);
    tr_json_key(&w, "version");
    tr_json_uint(&w, m->version);
    tr_json_key(&w, "level");
    tr_json_uint(&w, m->level);
    tr_json_key(&w, "mint");
    tr_json_int(&w, m->mint);
    tr_json_key(&w, "maxt");
    tr_json_int(&w, m->maxt);
    tr_json_key(&w, "stats");
    tr_json_object_begin(&w);
    tr_json_key(&w, "series");
    tr_json_uint(&w, m->series);
    tr_json_key(&w, "samples");
    tr_json_uint(&w, m->samples);
    tr_json_key(&w, "chunks");
    tr_json_uint(&w, m->chunks);
    tr_json_object_end(&w);
    tr_json_key(&w, "files");
    tr_json_object_begin(&w);
    tr_json_key(&w, TR_BLOCK_FILE_INDEX);
    tr_json_uint(&w, m->index_size);
    tr_json_key(&w, TR_BLOCK_FILE_CHUNKS);
    tr_json_uint(&w, m->chunks_size);
    tr_json_object_end(&w);
    tr_json_object_end(&w);
    int rc = tr_json_finish(&w);
    if (rc == TR_OK) {
        rc = tr_buf_append_byte(out, '\n');
    }
    return rc;
}

/* Reads a non-negative integer member; false when missing or wrong. */
static bool
get_uint(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool
get_int(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static bool
get_str(json_t *obj, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) >= size) {
        return false;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

int
tr_block_meta_decode(const void *data, size_t len, struct tr_block_meta *out,
                     struct tr_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return tr_err_set(err, TR_EINVAL, "%s at line %d column %d", jerr.text,
                          jerr.line, jerr.column);
    }
    memset(out, 0, sizeof(*out));
    const char *bad = NULL;
    uint64_t u;
    json_t *stats = json_object_get(root, "stats");
    json_t *files = json_object_get(root, "files");
    if (!json_is_object(root)) {
        bad = "top level";
    } else if (!get_str(root, "id", out->id, sizeof(out->id)) ||
               !tr_block_id_valid(out->id, strlen(out->id))) {
        bad = "id";
    } else if (!get_str(root, "tenant", out->tenant, sizeof(out->tenant)) ||
               tr_block_tenant_check(out->tenant, NULL) != TR_OK) {
        bad = "tenant";
    } else if (!get_uint(root, "version", &u) || u > UINT32_MAX) {
        bad = "version";
    } else if ((out->version = (uint32_t)u) < TR_BLOCK_FORMAT_MIN_VERSION ||
               out->version > TR_BLOCK_FORMAT_VERSION) {
        json_decref(root);
        return tr_err_set(err, TR_EINVAL, "unsupported format version %" PRIu64,
                          u);
    } else if (!get_uint(root, "level", &u) || u == 0 || u > UINT32_MAX) {
        bad = "level";
    } else if ((out->level = (uint32_t)u) == 0 ||
               !get_int(root, "mint", &out->mint)) {
        bad = "mint";
    } else if (!get_int(root, "maxt", &out->maxt) || out->maxt <= out->mint) {
        bad = "maxt";
    } else if (!json_is_object(stats) ||
               !get_uint(stats, "series", &out->series) ||
               !get_uint(stats, "samples", &out->samples) ||
               !get_uint(stats, "chunks", &out->chunks)) {
        bad = "stats";
    } else if (!json_is_object(files) ||
               !get_uint(files, TR_BLOCK_FILE_INDEX, &out->index_size) ||
               !get_uint(files, TR_BLOCK_FILE_CHUNKS, &out->chunks_size) ||
               out->index_size <
                   TR_BLOCK_INDEX_HEADER_SIZE + TR_BLOCK_TOC_SIZE) {
        bad = "files";
    }
    json_decref(root);
    if (bad != NULL) {
        return tr_err_set(err, TR_EINVAL, "missing or invalid field \"%s\"",
                          bad);
    }
    return TR_OK;
}

int
tr_block_tenant_check(const char *tenant, struct tr_err *err)
{
    size_t n = tenant == NULL ? 0 : strlen(tenant);
    if (n == 0 || n > TR_BLOCK_TENANT_MAX) {
        return tr_err_set(err, TR_EINVAL, "tenant id must have 1 to %d bytes",
                          TR_BLOCK_TENANT_MAX);
    }
    if (strchr(tenant, '/') != NULL || strcmp(tenant, ".") == 0 ||
        strcmp(tenant, "..") == 0) {
        return tr_err_set(err, TR_EINVAL, "invalid tenant id \"%s\"", tenant);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tenant[i];
        if (c < 0x20 || c == 0x7f) {
            return tr_err_set(err, TR_EINVAL,
                              "tenant id has a control character");
        }
    }
    return TR_OK;
}

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
tr_block_id_valid(const char *id, size_t len)
{
    if (len != TR_BLOCK_ID_LEN) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (id[i] == '\0' || strchr(crockford, id[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

void
tr_block_id_format(int64_t mint, uint64_t hash_hi, uint64_t hash_lo, char *out)
{
    /* 48 bits of time in 10 characters (the top 2 bits are zero) ... */
    uint64_t t = (uint64_t)(mint < 0 ? 0 : mint) & ((UINT64_C(1) << 48) - 1);
    for (int i = 9; i >= 0; i--) {
        out[i] = crockford[t & 31];
        t >>= 5;
    }
    /* ... then 80 hash bits: 64 of hash_lo and 16 of hash_hi. */
    uint64_t lo = hash_lo;
    uint64_t hi = hash_hi & 0xffff;
    for (int i = 25; i >= 10; i--) {
        out[i] = crockford[lo & 31];
        lo = (lo >> 5) | (hi << 59);
        hi >>= 5;
    }
    out[TR_BLOCK_ID_LEN] = '\0';
}

/* ---- columns ------------------------------------------------------------ */

uint32_t
tr_block_postings_sum(const void *data, size_t len)
{
    return (uint32_t)XXH3_64bits(data, len);
}

/* Writes v at p; returns the bytes written (at most 10). */
static inline size_t
put_uv(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads a varint at *p (< end) into *v; false when truncated or too long.
 * One-byte values, by far the most common, take the first branch. */
static inline bool
get_uv(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return true;
    }
    size_t k = tr_varint_get(*p, end, v);
    *p += k;
    return k != 0;
}

int
tr_block_times_encode(const int64_t *t, size_t n, struct tr_buf *out)
{
    if (n < 2) {
        return TR_OK;
    }
    if (tr_buf_reserve(out, (n - 1) * TR_VARINT_MAX) != TR_OK) {
        return TR_ENOMEM;
    }
    unsigned char *p = (unsigned char *)out->data + out->len;
    unsigned char *start = p;
    /* Unsigned arithmetic: deltas of increasing int64 are < 2^63 and
     * their differences fit an int64. */
    uint64_t prev = (uint64_t)t[1] - (uint64_t)t[0];
    p += put_uv(p, prev);
    for (size_t i = 2; i < n; i++) {
        uint64_t d = (uint64_t)t[i] - (uint64_t)t[i - 1];
        p += put_uv(p, tr_block_zigzag((int64_t)(d - prev)));
        prev = d;
    }
    out->len += (size_t)(p - start);
    return TR_OK;
}

int
tr_block_times_decode(const unsigned char *p, size_t len, int64_t t0,
                      int64_t tlast, size_t n, int64_t *out)
{
    const unsigned char *end = p + len;
    if (n == 0) {
        return TR_EINVAL;
    }
    out[0] = t0;
    uint64_t delta = 0;
    int64_t t = t0;
    for (size_t i = 1; i < n; i++) {
        uint64_t u;
        if (!get_uv(&p, end, &u)) {
            return TR_EINVAL;
        }
        delta = i == 1 ? u : delta + (uint64_t)tr_block_unzigzag(u);
        /* Strictly increasing and no overflow past INT64_MAX. */
        if (delta == 0 || delta > (uint64_t)INT64_MAX ||
            delta > (uint64_t)INT64_MAX - (uint64_t)t) {
            return TR_EINVAL;
        }
        t = (int64_t)((uint64_t)t + delta);
        out[i] = t;
    }
    return p == end && t == tlast ? TR_OK : TR_EINVAL;
}

/* 10^0 .. 10^15, all exact doubles. */
static const double pow10_tab[TR_BLOCK_DECIMAL_MAX + 1] = {
    1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

#define EXCEPTION INT64_MIN
#define MAX_EXACT 9007199254740992.0 /* 2^53 */

/* The integer k with k / 10^d == v bit for bit, or EXCEPTION. */
static int64_t
decimal_of(double v, int d)
{
    if (!isfinite(v) || (v == 0 && signbit(v))) {
        return EXCEPTION;
    }
    double x = v * pow10_tab[d];
    if (!(x <= MAX_EXACT && x >= -MAX_EXACT)) {
        return EXCEPTION;
    }
    /* Round to nearest without libm: truncate, then correct. */
    int64_t k = (int64_t)x;
    double r = x - (double)k;
    if (r >= 0.5) {
        k++;
    } else if (r <= -0.5) {
        k--;
    }
    if (k > (int64_t)MAX_EXACT || k < -(int64_t)MAX_EXACT) {
        return EXCEPTION;
    }
    /* The decoder computes exactly this. */
    double back = d == 0 ? (double)k : (double)k / pow10_tab[d];
    return back == v ? k : EXCEPTION;
}

/* Bytes of the XOR form of v[0..n). */
static size_t
xor_size(const double *v, size_t n)
{
    size_t total = 1;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, &v[i], sizeof(b));
        uint64_t x = b ^ prev;
        prev = b;
        total += 1;
        if (x != 0) {
            total += 8 - (size_t)(__builtin_clzll(x) / 8) -
                     (size_t)(__builtin_ctzll(x) / 8);
        }
    }
    return total;
}

static size_t
uv_size(uint64_t v)
{
    return tr_varint_size(v);
}

/* Greatest common divisor of |a| and |b| (0 when both are 0). */
static uint64_t
gcd_u64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

static uint64_t
abs_u64(int64_t x)
{
    return x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
}

/* The k-th smallest of a[0..n) (k < n), reordering a (Hoare selection). */
static int64_t
select_kth(int64_t *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) {
                i++;
            }
            while (a[j] > pivot) {
                j--;
            }
            if (i <= j) {
                int64_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0) {
                    break;
                }
                j--;
            }
        }
        if (k <= j) {
            hi = j;
        } else if (k >= i) {
            lo = i;
        } else {
            break;
        }
    }
    return a[k];
}

/* Appends the exceptions of a decimal column (scratch[i] == EXCEPTION). */
static unsigned char *
put_exceptions(unsigned char *p, const double *v, const int64_t *k, size_t n,
               size_t nexc)
{
    p += put_uv(p, nexc);
    size_t seen = 0, last = 0;
    for (size_t i = 0; i < n && seen < nexc; i++) {
        if (k[i] != EXCEPTION) {
            continue;
        }
        p += put_uv(p, seen == 0 ? i : i - last - 1);
        last = i;
        seen++;
        uint64_t b;
        memcpy(&b, &v[i], sizeof(b));
        for (int j = 0; j < 8; j++) {
            *p++ = (unsigned char)(b >> (8 * j));
        }
    }
    return p;
}

int
tr_block_values_encode(const double *v, size_t n, int64_t *scratch,
                       struct tr_buf *out)
{
    /* The smallest d that fits every value that fits any d. A value
     * fitting d also fits d + 1 (same quotient) while k stays below 2^53,
     * so one try at the largest such d tells whether any d fits. */
    int d = 0;
    for (size_t i = 0; i < n; i++) {
        if (decimal_of(v[i], d) != EXCEPTION) {
            continue;
        }
        double a = v[i] < 0 ? -v[i] : v[i];
        int top = TR_BLOCK_DECIMAL_MAX;
        while (top > d && !(a * pow10_tab[top] <= MAX_EXACT)) {
            top--;
        }
        if (top <= d || decimal_of(v[i], top) == EXCEPTION) {
            continue; /* an exception */
        }
        int e = d + 1;
        while (e < top && decimal_of(v[i], e) == EXCEPTION) {
            e++;
        }
        d = e;
    }
    /* Integers at d, the bytes of the exceptions, the deltas (in
     * scratch[n..]) and their common divisor. */
    int64_t *k = scratch, *delta = scratch + n;
    size_t nexc = 0, exc = 0, last_exc = 0, nd = 0;
    int64_t prev = 0;
    uint64_t g = 0;
    for (size_t i = 0; i < n; i++) {
        k[i] = decimal_of(v[i], d);
        if (k[i] == EXCEPTION) {
            exc += 8 + uv_size(nexc == 0 ? i : i - last_exc - 1);
            last_exc = i;
            nexc++;
            continue;
        }
        delta[nd++] = k[i] - prev;
        if (nd > 1) {
            g = gcd_u64(g, abs_u64(k[i] - prev));
        }
        prev = k[i];
    }
    /* Plain decimal: every delta. Steady decimal: deltas after the first
     * as (delta / g - b) with b their median, which turns a counter's
     * steady increase and a gauge's page-sized steps into small numbers. */
    size_t plain = 1 + uv_size(nexc) + exc, steady = SIZE_MAX;
    for (size_t i = 0; i < nd; i++) {
        plain += uv_size(tr_block_zigzag(delta[i]));
    }
    int64_t base = 0;
    if (nd >= 2) {
        g = g == 0 ? 1 : g;
        for (size_t i = 1; i < nd; i++) {
            delta[i] /= (int64_t)g;
        }
        /* The median of the quotients, selected in a copy past the
         * deltas (scratch holds 3n entries; the order is still needed). */
        int64_t *sel = delta + nd;
        size_t m = nd - 1;
        memcpy(sel, delta + 1, m * sizeof(*sel));
        base = select_kth(sel, m, m / 2);
        steady = 1 + uv_size(nexc) + exc + uv_size(g) +
                 uv_size(tr_block_zigzag(base)) +
                 uv_size(tr_block_zigzag(delta[0]));
        for (size_t i = 1; i < nd; i++) {
            steady += uv_size(tr_block_zigzag(delta[i] - base));
        }
    }
    size_t xs = xor_size(v, n);
    size_t best = plain < steady ? plain : steady;
    if (tr_buf_reserve(out, best < xs ? best : xs) != TR_OK) {
        return TR_ENOMEM;
    }
    unsigned char *p = (unsigned char *)out->data + out->len;
    unsigned char *start = p;
    if (plain <= steady && plain <= xs) {
        *p++ = (unsigned char)d;
        p = put_exceptions(p, v, k, n, nexc);
        prev = 0;
        for (size_t i = 0; i < n; i++) {
            if (k[i] != EXCEPTION) {
                p += put_uv(p, tr_block_zigzag(k[i] - prev));
                prev = k[i];
            }
        }
    } else if (steady <= xs) {
        *p++ = (unsigned char)(TR_BLOCK_MODE_STEADY | d);
        p = put_exceptions(p, v, k, n, nexc);
        p += put_uv(p, g);
        p += put_uv(p, tr_block_zigzag(base));
        p += put_uv(p, tr_block_zigzag(delta[0]));
        for (size_t i = 1; i < nd; i++) {
            p += put_uv(p, tr_block_zigzag(delta[i] - base));
        }
    } else {
        *p++ = TR_BLOCK_MODE_XOR;
        uint64_t pb = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t b;
            memcpy(&b, &v[i], sizeof(b));
            uint64_t x = b ^ pb;
            pb = b;
            if (x == 0) {
                *p++ = 8 << 4;
                continue;
            }
            int lz = __builtin_clzll(x) / 8, tz = __builtin_ctzll(x) / 8;
            *p++ = (unsigned char)((lz << 4) | tz);
            x >>= 8 * tz;
            for (int j = 0; j < 8 - lz - tz; j++) {
                *p++ = (unsigned char)(x >> (8 * j));
            }
        }
    }
    out->len += (size_t)(p - start);
    return TR_OK;
}

static double
double_of(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

static int
decode_xor(const unsigned char *p, const unsigned char *end, size_t n,
           size_t lo, size_t hi, double *out)
{
    uint64_t prev = 0;
    for (size_t i = 0; i < hi; i++) {
        if (p == end) {
            return TR_EINVAL;
        }
        unsigned c = *p++;
        unsigned lz = c >> 4, tz = c & 15;
        if (lz + tz > 8 || (lz + tz == 8 && c != 8 << 4)) {
            return TR_EINVAL;
        }
        size_t m = 8 - lz - tz;
        if ((size_t)(end - p) < m) {
            return TR_EINVAL;
        }
        uint64_t x = 0;
        for (size_t j = 0; j < m; j++) {
            x |= (uint64_t)p[j] << (8 * j);
        }
        p += m;
        prev ^= m == 0 ? 0 : x << (8 * tz);
        if (i >= lo) {
            out[i - lo] = double_of(prev);
        }
    }
    return hi < n || p == end ? TR_OK : TR_EINVAL;
}

/* Position of the next exception (already validated), from base = the
 * previous position + 1 (0 for the first). */
static uint64_t
next_exception(const unsigned char **q, const unsigned char *end, uint64_t base)
{
    uint64_t g = 0;
    get_uv(q, end, &g);
    return base + g;
}

int
tr_block_values_decode(const unsigned char *p, size_t len, size_t n, size_t lo,
                       size_t hi, double *out)
{
    const unsigned char *end = p + len;
    if (len == 0 || lo > hi || hi > n) {
        return TR_EINVAL;
    }
    unsigned mode = *p++;
    if (mode == TR_BLOCK_MODE_XOR) {
        return decode_xor(p, end, n, lo, hi, out);
    }
    bool steady =
        (mode & ~(unsigned)TR_BLOCK_DECIMAL_MAX) == TR_BLOCK_MODE_STEADY;
    if (steady) {
        mode &= TR_BLOCK_DECIMAL_MAX;
    } else if (mode > TR_BLOCK_DECIMAL_MAX) {
        return TR_EINVAL;
    }
    /* Exceptions first: validate their positions once. */
    uint64_t nexc;
    if (!get_uv(&p, end, &nexc) || nexc > n) {
        return TR_EINVAL;
    }
    const unsigned char *excp = p;
    for (uint64_t i = 0, pos = 0; i < nexc; i++) {
        uint64_t g;
        if (!get_uv(&p, end, &g) || g >= n || (size_t)(end - p) < 8) {
            return TR_EINVAL;
        }
        pos = i == 0 ? g : pos + 1 + g;
        if (pos >= n) {
            return TR_EINVAL;
        }
        p += 8;
    }
    /* Steady form: the divisor and the base of the deltas after the
     * first (see tr_block_values_encode). */
    uint64_t g = 1, ub = 0;
    if (steady && (!get_uv(&p, end, &g) || !get_uv(&p, end, &ub) || g == 0 ||
                   g > (uint64_t)MAX_EXACT * 2)) {
        return TR_EINVAL;
    }
    int64_t base = tr_block_unzigzag(ub);
    size_t seen = 0, nk = 0;
    uint64_t next_exc = nexc > 0 ? next_exception(&excp, end, 0) : UINT64_MAX;
    double scale = pow10_tab[mode];
    int64_t k = 0;
    for (size_t i = 0; i < hi; i++) {
        if (i == next_exc) {
            uint64_t b = 0;
            for (int j = 0; j < 8; j++) {
                b |= (uint64_t)excp[j] << (8 * j);
            }
            excp += 8;
            if (i >= lo) {
                out[i - lo] = double_of(b);
            }
            next_exc =
                ++seen < nexc ? next_exception(&excp, end, i + 1) : UINT64_MAX;
            continue;
        }
        uint64_t u;
        if (!get_uv(&p, end, &u)) {
            return TR_EINVAL;
        }
        int64_t delta = tr_block_unzigzag(u);
        if (steady && nk++ > 0 &&
            (__builtin_add_overflow(delta, base, &delta) ||
             __builtin_mul_overflow(delta, (int64_t)g, &delta))) {
            return TR_EINVAL;
        }
        if (__builtin_add_overflow(k, delta, &k) || k > (int64_t)MAX_EXACT ||
            k < -(int64_t)MAX_EXACT) {
            return TR_EINVAL;
        }
        if (i >= lo) {
            out[i - lo] = mode == 0 ? (double)k : (double)k / scale;
        }
    }
    return hi < n || p == end ? TR_OK : TR_EINVAL;
}
