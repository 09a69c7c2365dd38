/*
 * Block writer: series in label order -> chunks object (time and value
 * column pages), index object and meta.json (layout in block_format.h),
 * then upload with meta.json last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/objstore.h"
#include "tsdb/block.h"
#include "tsdb/block_format.h"
#include "tsdb/chunk.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"
#include "tsdb/varint.h"

#define DEFAULT_PAGE_SIZE (64u * 1024u)
#define DEFAULT_SERIES_PER_PAGE 64u
#define DEFAULT_ZSTD_LEVEL 9

struct series_rec {
    struct tr_labels *labels;
    uint64_t n;   /* samples */
    int64_t mint; /* first and last timestamp */
    int64_t maxt;
    uint64_t toff; /* its time column in the time stream */
    uint64_t tlen;
    uint64_t voff; /* its value column in the value stream */
    uint64_t vlen;
};

struct page_rec {
    uint8_t stream; /* TR_BLOCK_STREAM_* */
    uint64_t clen;  /* compressed */
    uint64_t ulen;  /* uncompressed */
};

/* A distinct time column, for sharing it between series. */
struct time_col {
    uint64_t hash; /* 0: free slot */
    uint64_t off;
    uint64_t len;
    int64_t t0;
    uint64_t n;
};

struct tr_block_builder {
    struct tr_block_options opts;
    char tenant[TR_BLOCK_TENANT_MAX + 1];
    ZSTD_CCtx *cctx;
    XXH3_state_t *hash; /* over the uncompressed content, for the id */
    bool failed;

    struct series_rec *series;
    size_t nseries, series_cap;
    struct page_rec *cpages;
    size_t ncpages, cpages_cap;

    /* Time columns: the whole uncompressed time stream stays here so
     * that new columns can be compared with earlier ones; tpage_start is
     * where the page being filled begins. */
    struct tr_buf times;
    uint64_t tpage_start;
    struct time_col *cols; /* open addressing, power-of-two capacity */
    size_t ncols, cols_cap;
    struct tr_buf tcol; /* the column being added */

    uint64_t samples;
    uint64_t vlogical;   /* bytes of value stream so far */
    struct tr_buf vpage; /* the value page being filled */
    int64_t *scratch;    /* for the value encoder */
    size_t scratch_cap;
    struct tr_buf chunks_obj; /* compressed pages */
};

static int
put_uvarint(struct tr_buf *b, uint64_t v)
{
    unsigned char tmp[TR_VARINT_MAX];
    return tr_buf_append(b, tmp, tr_varint_put(tmp, v));
}

static void
hash_u64(XXH3_state_t *st, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
    XXH3_128bits_update(st, b, sizeof(b));
}

/* Appends one zstd frame of src to out. */
static int
compress_frame(ZSTD_CCtx *cctx, const void *src, size_t len, struct tr_buf *out,
               uint64_t *clen, struct tr_err *err)
{
    size_t bound = ZSTD_compressBound(len);
    if (tr_buf_reserve(out, bound) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot compress block page: out of "
                          "memory");
    }
    size_t n = ZSTD_compress2(cctx, out->data + out->len, bound, src, len);
    if (ZSTD_isError(n)) {
        return tr_err_set(err, TR_EIO, "cannot compress block page: %s",
                          ZSTD_getErrorName(n));
    }
    out->len += n;
    if (clen != NULL) {
        *clen = n;
    }
    return TR_OK;
}

struct tr_block_builder *
tr_block_builder_create(const struct tr_block_options *opts, struct tr_err *err)
{
    if (opts == NULL || tr_block_tenant_check(opts->tenant, err) != TR_OK) {
        if (opts == NULL) {
            tr_err_set(err, TR_EINVAL, "no options");
        }
        tr_err_prefix(err, "cannot create block builder");
        return NULL;
    }
    if (opts->maxt <= opts->mint) {
        tr_err_set(err, TR_EINVAL,
                   "cannot create block builder: empty range [%" PRId64
                   ", %" PRId64 ")",
                   opts->mint, opts->maxt);
        return NULL;
    }
    if (opts->zstd_level < 0 || opts->zstd_level > ZSTD_maxCLevel()) {
        tr_err_set(err, TR_EINVAL,
                   "cannot create block builder: zstd level %d out of range",
                   opts->zstd_level);
        return NULL;
    }
    struct tr_block_builder *b = tr_calloc(1, sizeof(*b));
    if (b == NULL) {
        goto nomem;
    }
    b->opts = *opts;
    strcpy(b->tenant, opts->tenant);
    b->opts.tenant = b->tenant;
    if (b->opts.level == 0) {
        b->opts.level = 1;
    }
    if (b->opts.chunk_page_size == 0) {
        b->opts.chunk_page_size = DEFAULT_PAGE_SIZE;
    }
    if (b->opts.series_per_page == 0) {
        b->opts.series_per_page = DEFAULT_SERIES_PER_PAGE;
    }
    if (b->opts.zstd_level == 0) {
        b->opts.zstd_level = DEFAULT_ZSTD_LEVEL;
    }
    b->cctx = ZSTD_createCCtx();
    b->hash = XXH3_createState();
    if (b->cctx == NULL || b->hash == NULL) {
        goto nomem;
    }
    /* Fixed parameters, single-threaded: the output depends only on the
     * input (and the zstd version). */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(b->cctx, ZSTD_c_compressionLevel,
                                            b->opts.zstd_level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(b->cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(
            ZSTD_CCtx_setParameter(b->cctx, ZSTD_c_contentSizeFlag, 1))) {
        tr_err_set(err, TR_EIO,
                   "cannot create block builder: zstd refused "
                   "parameters");
        tr_block_builder_destroy(b);
        return NULL;
    }
    XXH3_128bits_reset(b->hash);
    XXH3_128bits_update(b->hash, b->tenant, strlen(b->tenant) + 1);
    hash_u64(b->hash, (uint64_t)b->opts.mint);
    hash_u64(b->hash, (uint64_t)b->opts.maxt);
    hash_u64(b->hash, b->opts.level);
    hash_u64(b->hash, TR_BLOCK_FORMAT_VERSION);
    hash_u64(b->hash, b->opts.chunk_page_size);
    hash_u64(b->hash, b->opts.series_per_page);
    hash_u64(b->hash, (uint64_t)b->opts.zstd_level);
    return b;

nomem:
    tr_block_builder_destroy(b);
    tr_err_set(err, TR_ENOMEM, "cannot create block builder: out of memory");
    return NULL;
}

void
tr_block_builder_destroy(struct tr_block_builder *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->nseries; i++) {
        tr_labels_destroy(b->series[i].labels);
    }
    tr_free(b->series);
    tr_free(b->cpages);
    tr_buf_fini(&b->times);
    tr_free(b->cols);
    tr_buf_fini(&b->tcol);
    tr_buf_fini(&b->vpage);
    tr_free(b->scratch);
    tr_buf_fini(&b->chunks_obj);
    ZSTD_freeCCtx(b->cctx);
    if (b->hash != NULL) {
        XXH3_freeState(b->hash);
    }
    tr_free(b);
}

/* Compresses len bytes at data as one page of stream into the chunks
 * object. */
static int
flush_page(struct tr_block_builder *b, uint8_t stream, const void *data,
           size_t len, struct tr_err *err)
{
    if (len == 0) {
        return TR_OK;
    }
    if (tr_grow((void **)&b->cpages, &b->cpages_cap, b->ncpages + 1,
                sizeof(*b->cpages)) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot build block: out of memory");
    }
    uint64_t clen;
    int rc = compress_frame(b->cctx, data, len, &b->chunks_obj, &clen, err);
    if (rc != TR_OK) {
        return rc;
    }
    b->cpages[b->ncpages++] = (struct page_rec){stream, clen, len};
    return TR_OK;
}

static int
flush_time_page(struct tr_block_builder *b, struct tr_err *err)
{
    int rc = flush_page(b, TR_BLOCK_STREAM_TIME, b->times.data + b->tpage_start,
                        b->times.len - b->tpage_start, err);
    b->tpage_start = b->times.len;
    return rc;
}

static int
flush_value_page(struct tr_block_builder *b, struct tr_err *err)
{
    int rc =
        flush_page(b, TR_BLOCK_STREAM_VALUE, b->vpage.data, b->vpage.len, err);
    tr_buf_reset(&b->vpage);
    return rc;
}

static uint64_t
col_hash(const void *bytes, size_t len, int64_t t0, uint64_t n)
{
    uint64_t h = XXH3_64bits_withSeed(bytes, len, (uint64_t)t0 ^ (n << 32));
    return h == 0 ? 1 : h;
}

/* Doubles the column table. */
static int
cols_grow(struct tr_block_builder *b)
{
    size_t cap = b->cols_cap == 0 ? 1024 : b->cols_cap * 2;
    struct time_col *t = tr_calloc(cap, sizeof(*t));
    if (t == NULL) {
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < b->cols_cap; i++) {
        if (b->cols[i].hash != 0) {
            size_t j = b->cols[i].hash & (cap - 1);
            while (t[j].hash != 0) {
                j = (j + 1) & (cap - 1);
            }
            t[j] = b->cols[i];
        }
    }
    tr_free(b->cols);
    b->cols = t;
    b->cols_cap = cap;
    return TR_OK;
}

/*
 * Places the time column of s (encoded in b->tcol): an identical earlier
 * column (same bytes, first timestamp and count) is shared, else the
 * column is appended to the time stream.
 */
static int
place_times(struct tr_block_builder *b, struct series_rec *s,
            struct tr_err *err)
{
    s->tlen = b->tcol.len;
    if (s->tlen == 0) {
        s->toff = b->times.len; /* one sample: nothing to store */
        return TR_OK;
    }
    if (2 * (b->ncols + 1) > b->cols_cap && cols_grow(b) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot build block: out of memory");
    }
    uint64_t h = col_hash(b->tcol.data, b->tcol.len, s->mint, s->n);
    size_t j = h & (b->cols_cap - 1);
    for (; b->cols[j].hash != 0; j = (j + 1) & (b->cols_cap - 1)) {
        const struct time_col *c = &b->cols[j];
        if (c->hash == h && c->t0 == s->mint && c->n == s->n &&
            c->len == b->tcol.len &&
            memcmp(b->times.data + c->off, b->tcol.data, c->len) == 0) {
            s->toff = c->off;
            return TR_OK;
        }
    }
    s->toff = b->times.len;
    if (tr_buf_append(&b->times, b->tcol.data, b->tcol.len) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot build block: out of memory");
    }
    b->cols[j] = (struct time_col){h, s->toff, s->tlen, s->mint, s->n};
    b->ncols++;
    /* Pages end at column boundaries so a column is one fetch. */
    if (b->times.len - b->tpage_start >= b->opts.chunk_page_size) {
        return flush_time_page(b, err);
    }
    return TR_OK;
}

int
tr_block_builder_add(struct tr_block_builder *b, const struct tr_labels *ls,
                     const int64_t *t, const double *v, size_t n,
                     struct tr_err *err)
{
    if (b->failed) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot add series to block: "
                          "builder failed earlier");
    }
    if (n == 0) {
        return TR_OK;
    }
    int rc;
    if (tr_labels_count(ls) == 0) {
        rc = tr_err_set(err, TR_EINVAL,
                        "cannot add series to block: empty "
                        "label set");
        goto fail;
    }
    if (b->nseries > 0 &&
        tr_labels_compare(b->series[b->nseries - 1].labels, ls) >= 0) {
        rc = tr_err_set(err, TR_EINVAL,
                        "cannot add series to block: labels "
                        "not in increasing order");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i] < b->opts.mint || t[i] >= b->opts.maxt ||
            (i > 0 && t[i] <= t[i - 1])) {
            rc = tr_err_set(err, TR_EINVAL,
                            "cannot add series to block: timestamp %" PRId64
                            " out of range or order",
                            t[i]);
            goto fail;
        }
    }
    if (tr_grow((void **)&b->series, &b->series_cap, b->nseries + 1,
                sizeof(*b->series)) != TR_OK ||
        tr_grow((void **)&b->scratch, &b->scratch_cap, 3 * n,
                sizeof(*b->scratch)) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot build block: out of memory");
        goto fail;
    }
    struct series_rec *s = &b->series[b->nseries];
    memset(s, 0, sizeof(*s));
    s->labels = tr_labels_dup(ls);
    if (s->labels == NULL) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot build block: out of memory");
        goto fail;
    }
    b->nseries++;
    s->n = n;
    s->mint = t[0];
    s->maxt = t[n - 1];
    s->voff = b->vlogical;

    tr_buf_reset(&b->tcol);
    size_t vstart = b->vpage.len;
    if (tr_block_times_encode(t, n, &b->tcol) != TR_OK ||
        tr_block_values_encode(v, n, b->scratch, &b->vpage) != TR_OK) {
        rc = tr_err_set(err, TR_ENOMEM, "cannot build block: out of memory");
        goto fail;
    }
    s->vlen = b->vpage.len - vstart;
    b->vlogical += s->vlen;
    rc = place_times(b, s, err);
    if (rc != TR_OK) {
        goto fail;
    }
    /* The id covers labels, timestamps and values. */
    size_t elen;
    const void *enc = tr_labels_encoded(ls, &elen);
    hash_u64(b->hash, elen);
    XXH3_128bits_update(b->hash, enc, elen);
    hash_u64(b->hash, n);
    hash_u64(b->hash, (uint64_t)s->mint);
    hash_u64(b->hash, b->tcol.len);
    XXH3_128bits_update(b->hash, b->tcol.data, b->tcol.len);
    XXH3_128bits_update(b->hash, b->vpage.data + vstart, s->vlen);
    b->samples += n;
    /* Pages end at series boundaries so a series is one fetch. */
    if (b->vpage.len >= b->opts.chunk_page_size) {
        rc = flush_value_page(b, err);
        if (rc != TR_OK) {
            goto fail;
        }
    }
    return TR_OK;

fail:
    b->failed = true;
    return rc;
}

/* ---- finishing: the index ---------------------------------------------- */

struct sym {
    const char *ptr;
    size_t len;
};

static int
sym_cmp(const void *pa, const void *pb)
{
    const struct sym *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n == 0 ? 0 : memcmp(a->ptr, b->ptr, n);
    if (c != 0) {
        return c;
    }
    return (a->len > b->len) - (a->len < b->len);
}

/* Position of s in the sorted, unique table (it must be there). */
static uint32_t
sym_ref(const struct sym *syms, size_t n, const char *p, size_t len)
{
    struct sym key = {p, len};
    const struct sym *hit = bsearch(&key, syms, n, sizeof(*syms), sym_cmp);
    return (uint32_t)(hit - syms);
}

/* One (name, value, series) triple for building postings. */
struct pair {
    uint32_t name;
    uint32_t value;
    uint32_t ordinal;
};

static int
pair_cmp(const void *pa, const void *pb)
{
    const struct pair *a = pa, *b = pb;
    if (a->name != b->name) {
        return a->name < b->name ? -1 : 1;
    }
    if (a->value != b->value) {
        return a->value < b->value ? -1 : 1;
    }
    return (a->ordinal > b->ordinal) - (a->ordinal < b->ordinal);
}

struct index_build {
    struct sym *syms;
    size_t nsyms;
    struct pair *pairs;
    size_t npairs;
    struct tr_buf tmp;
    struct tr_buf tmp2;
    uint64_t *spage_len;
    size_t nspages;
};

static void
index_build_fini(struct index_build *ib)
{
    tr_free(ib->syms);
    tr_free(ib->pairs);
    tr_buf_fini(&ib->tmp);
    tr_buf_fini(&ib->tmp2);
    tr_free(ib->spage_len);
}

static int
build_symbols(struct tr_block_builder *b, struct index_build *ib)
{
    size_t total = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        total += 2 * tr_labels_count(b->series[i].labels);
    }
    ib->syms = tr_malloc((total ? total : 1) * sizeof(*ib->syms));
    ib->pairs = tr_malloc((total ? total / 2 : 1) * sizeof(*ib->pairs));
    if (ib->syms == NULL || ib->pairs == NULL) {
        return TR_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        struct tr_labels_iter it;
        struct tr_label l;
        tr_labels_iter_init(&it, b->series[i].labels);
        while (tr_labels_iter_next(&it, &l)) {
            ib->syms[k++] = (struct sym){l.name, l.name_len};
            ib->syms[k++] = (struct sym){l.value, l.value_len};
        }
    }
    qsort(ib->syms, k, sizeof(*ib->syms), sym_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u == 0 || sym_cmp(&ib->syms[u - 1], &ib->syms[i]) != 0) {
            ib->syms[u++] = ib->syms[i];
        }
    }
    ib->nsyms = u;
    /* Pairs for the postings, with symbol refs. */
    size_t np = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        struct tr_labels_iter it;
        struct tr_label l;
        tr_labels_iter_init(&it, b->series[i].labels);
        while (tr_labels_iter_next(&it, &l)) {
            ib->pairs[np].name = sym_ref(ib->syms, u, l.name, l.name_len);
            ib->pairs[np].value = sym_ref(ib->syms, u, l.value, l.value_len);
            ib->pairs[np].ordinal = (uint32_t)i;
            np++;
        }
    }
    qsort(ib->pairs, np, sizeof(*ib->pairs), pair_cmp);
    ib->npairs = np;
    return TR_OK;
}

/* Writes one section: data compressed into out; records its place. */
static int
section_frame(struct tr_block_builder *b, struct tr_buf *out,
              struct tr_block_toc *toc, int sec, const struct tr_buf *data,
              struct tr_err *err)
{
    toc->off[sec] = out->len;
    uint64_t clen;
    int rc = compress_frame(b->cctx, data->data, data->len, out, &clen, err);
    toc->len[sec] = clen;
    return rc;
}

static int
build_index(struct tr_block_builder *b, struct tr_buf *out, struct tr_err *err)
{
    struct index_build ib = {0};
    struct tr_block_toc toc = {0};
    int rc = build_symbols(b, &ib);
    if (rc != TR_OK) {
        goto nomem;
    }
    rc = tr_buf_append(out, TR_BLOCK_INDEX_MAGIC, 4);
    unsigned char hdr[4] = {TR_BLOCK_FORMAT_VERSION, 0, 0, 0};
    if (rc != TR_OK || tr_buf_append(out, hdr, 4) != TR_OK) {
        goto nomem;
    }

    /* Symbols. */
    rc = put_uvarint(&ib.tmp, ib.nsyms);
    for (size_t i = 0; i < ib.nsyms && rc == TR_OK; i++) {
        rc = put_uvarint(&ib.tmp, ib.syms[i].len);
        if (rc == TR_OK) {
            rc = tr_buf_append(&ib.tmp, ib.syms[i].ptr, ib.syms[i].len);
        }
    }
    if (rc != TR_OK) {
        goto nomem;
    }
    rc = section_frame(b, out, &toc, TR_BLOCK_SEC_SYMBOLS, &ib.tmp, err);
    if (rc != TR_OK) {
        goto done;
    }

    /* Series pages. */
    uint32_t spp = b->opts.series_per_page;
    ib.nspages = (b->nseries + spp - 1) / spp;
    ib.spage_len = tr_calloc(ib.nspages ? ib.nspages : 1, sizeof(uint64_t));
    if (ib.spage_len == NULL) {
        goto nomem;
    }
    toc.off[TR_BLOCK_SEC_SERIES] = out->len;
    for (size_t p = 0; p < ib.nspages; p++) {
        tr_buf_reset(&ib.tmp);
        size_t end = (p + 1) * spp < b->nseries ? (p + 1) * spp : b->nseries;
        /* Value columns of a page's series follow each other. */
        rc = put_uvarint(&ib.tmp, b->series[p * spp].voff);
        for (size_t i = p * spp; i < end && rc == TR_OK; i++) {
            const struct series_rec *s = &b->series[i];
            rc = put_uvarint(&ib.tmp, tr_labels_count(s->labels));
            struct tr_labels_iter it;
            struct tr_label l;
            tr_labels_iter_init(&it, s->labels);
            while (rc == TR_OK && tr_labels_iter_next(&it, &l)) {
                rc = put_uvarint(
                    &ib.tmp, sym_ref(ib.syms, ib.nsyms, l.name, l.name_len));
                if (rc == TR_OK) {
                    rc = put_uvarint(&ib.tmp, sym_ref(ib.syms, ib.nsyms,
                                                      l.value, l.value_len));
                }
            }
            uint64_t fields[6] = {s->n,
                                  (uint64_t)s->mint - (uint64_t)b->opts.mint,
                                  (uint64_t)s->maxt - (uint64_t)s->mint,
                                  s->toff,
                                  s->tlen,
                                  s->vlen};
            for (int k = 0; k < 6 && rc == TR_OK; k++) {
                rc = put_uvarint(&ib.tmp, fields[k]);
            }
        }
        if (rc != TR_OK) {
            goto nomem;
        }
        rc = compress_frame(b->cctx, ib.tmp.data, ib.tmp.len, out,
                            &ib.spage_len[p], err);
        if (rc != TR_OK) {
            goto done;
        }
    }
    toc.len[TR_BLOCK_SEC_SERIES] = out->len - toc.off[TR_BLOCK_SEC_SERIES];

    /* Postings (raw) and the label table that points into them. */
    toc.off[TR_BLOCK_SEC_POSTINGS] = out->len;
    tr_buf_reset(&ib.tmp);  /* label table body after the name count */
    tr_buf_reset(&ib.tmp2); /* label table */
    size_t nnames = 0;
    size_t i = 0;
    while (i < ib.npairs) {
        uint32_t name = ib.pairs[i].name;
        size_t nvalues = 0;
        size_t j = i;
        struct tr_buf values = TR_BUF_INIT;
        while (j < ib.npairs && ib.pairs[j].name == name) {
            uint32_t value = ib.pairs[j].value;
            size_t start = out->len;
            uint32_t count = 0;
            uint32_t prev = 0;
            for (; j < ib.npairs && ib.pairs[j].name == name &&
                   ib.pairs[j].value == value;
                 j++) {
                uint32_t ord = ib.pairs[j].ordinal;
                rc = put_uvarint(out, count == 0 ? ord : ord - prev);
                prev = ord;
                count++;
                if (rc != TR_OK) {
                    break;
                }
            }
            if (rc == TR_OK) {
                /* A flipped bit here would silently change a query's
                 * answer: close the list with a checksum. */
                uint32_t sum =
                    tr_block_postings_sum(out->data + start, out->len - start);
                unsigned char le[TR_BLOCK_POSTINGS_SUM];
                for (int q = 0; q < TR_BLOCK_POSTINGS_SUM; q++) {
                    le[q] = (unsigned char)(sum >> (8 * q));
                }
                rc = tr_buf_append(out, le, sizeof(le));
            }
            if (rc == TR_OK) {
                rc = put_uvarint(&values, value);
            }
            if (rc == TR_OK) {
                rc = put_uvarint(&values, out->len - start);
            }
            if (rc == TR_OK) {
                rc = put_uvarint(&values, count);
            }
            if (rc != TR_OK) {
                tr_buf_fini(&values);
                goto nomem;
            }
            nvalues++;
        }
        rc = put_uvarint(&ib.tmp, name);
        if (rc == TR_OK) {
            rc = put_uvarint(&ib.tmp, nvalues);
        }
        if (rc == TR_OK) {
            rc = tr_buf_append(&ib.tmp, values.data, values.len);
        }
        tr_buf_fini(&values);
        if (rc != TR_OK) {
            goto nomem;
        }
        nnames++;
        i = j;
    }
    toc.len[TR_BLOCK_SEC_POSTINGS] = out->len - toc.off[TR_BLOCK_SEC_POSTINGS];
    if (put_uvarint(&ib.tmp2, nnames) != TR_OK ||
        tr_buf_append(&ib.tmp2, ib.tmp.data, ib.tmp.len) != TR_OK) {
        goto nomem;
    }
    rc = section_frame(b, out, &toc, TR_BLOCK_SEC_LABELS, &ib.tmp2, err);
    if (rc != TR_OK) {
        goto done;
    }

    /* Page tables. */
    tr_buf_reset(&ib.tmp);
    rc = put_uvarint(&ib.tmp, b->nseries);
    if (rc == TR_OK) {
        rc = put_uvarint(&ib.tmp, spp);
    }
    if (rc == TR_OK) {
        rc = put_uvarint(&ib.tmp, ib.nspages);
    }
    for (size_t p = 0; p < ib.nspages && rc == TR_OK; p++) {
        rc = put_uvarint(&ib.tmp, ib.spage_len[p]);
    }
    if (rc == TR_OK) {
        rc = put_uvarint(&ib.tmp, b->ncpages);
    }
    for (size_t p = 0; p < b->ncpages && rc == TR_OK; p++) {
        rc = tr_buf_append_byte(&ib.tmp, (char)b->cpages[p].stream);
        if (rc == TR_OK) {
            rc = put_uvarint(&ib.tmp, b->cpages[p].clen);
        }
        if (rc == TR_OK) {
            rc = put_uvarint(&ib.tmp, b->cpages[p].ulen);
        }
    }
    if (rc != TR_OK) {
        goto nomem;
    }
    rc = section_frame(b, out, &toc, TR_BLOCK_SEC_PAGES, &ib.tmp, err);
    if (rc != TR_OK) {
        goto done;
    }
    if (tr_block_toc_encode(&toc, out) != TR_OK) {
        goto nomem;
    }
    rc = TR_OK;
    goto done;

nomem:
    rc = tr_err_set(err, TR_ENOMEM, "cannot build block index: out of memory");
done:
    index_build_fini(&ib);
    return rc;
}

int
tr_block_builder_finish(struct tr_block_builder *b, struct tr_block_files *out,
                        struct tr_err *err)
{
    if (b->failed) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot finish block: builder "
                          "failed earlier");
    }
    if (b->nseries == 0) {
        return tr_err_set(err, TR_ENOTFOUND,
                          "cannot finish block: no "
                          "samples in range");
    }
    tr_block_files_fini(out);
    int rc = flush_time_page(b, err);
    if (rc == TR_OK) {
        rc = flush_value_page(b, err);
    }
    if (rc == TR_OK) {
        rc = build_index(b, &out->index, err);
    }
    if (rc != TR_OK) {
        b->failed = true;
        tr_block_files_fini(out);
        return rc;
    }
    /* The chunks object moves to out. */
    out->chunks = b->chunks_obj;
    b->chunks_obj = (struct tr_buf)TR_BUF_INIT;

    struct tr_block_meta *m = &out->meta;
    memset(m, 0, sizeof(*m));
    XXH128_hash_t h = XXH3_128bits_digest(b->hash);
    tr_block_id_format(b->opts.mint, h.high64, h.low64, m->id);
    strcpy(m->tenant, b->tenant);
    m->version = TR_BLOCK_FORMAT_VERSION;
    m->level = b->opts.level;
    m->mint = b->opts.mint;
    m->maxt = b->opts.maxt;
    m->series = b->nseries;
    m->samples = b->samples;
    m->chunks = b->ncols; /* time columns stored */
    m->index_size = out->index.len;
    m->chunks_size = out->chunks.len;
    if (tr_block_meta_encode(m, &out->meta_json) != TR_OK) {
        b->failed = true;
        tr_block_files_fini(out);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot finish block: out of "
                          "memory");
    }
    b->failed = true; /* one finish per builder */
    return TR_OK;
}

void
tr_block_files_fini(struct tr_block_files *f)
{
    tr_buf_fini(&f->index);
    tr_buf_fini(&f->chunks);
    tr_buf_fini(&f->meta_json);
}

/* ---- from a head -------------------------------------------------------- */

int
tr_block_build_from_head(struct tr_head *h, const struct tr_block_options *opts,
                         struct tr_block_files *out, struct tr_err *err)
{
    struct tr_block_builder *b = tr_block_builder_create(opts, err);
    if (b == NULL) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    struct tr_series_list list = {0};
    struct tr_series_chunks sc = {0};
    int64_t *ts = NULL;
    double *vs = NULL;
    size_t cap = 0;
    int64_t last = opts->maxt - 1;
    /* No matchers: every series with samples in range, sorted by labels. */
    int rc = tr_head_select(h, NULL, 0, opts->mint, last, &list, err);
    for (size_t i = 0; i < list.len && rc == TR_OK; i++) {
        rc = tr_head_read(h, list.series[i], opts->mint, last, &sc, err);
        if (rc != TR_OK) {
            break;
        }
        struct tr_series_iter it;
        tr_series_iter_init(&it, &sc, opts->mint, last);
        size_t n = 0;
        int64_t t;
        double v;
        while ((rc = tr_series_iter_next(&it, &t, &v, err)) > 0) {
            if (n == cap) {
                size_t ncap = cap == 0 ? 512 : cap * 2;
                int64_t *nt = tr_realloc(ts, ncap * sizeof(*ts));
                if (nt != NULL) {
                    ts = nt;
                }
                double *nv = tr_realloc(vs, ncap * sizeof(*vs));
                if (nv != NULL) {
                    vs = nv;
                }
                if (nt == NULL || nv == NULL) {
                    rc = tr_err_set(err, TR_ENOMEM,
                                    "cannot build block: out of memory");
                    break;
                }
                cap = ncap;
            }
            ts[n] = t;
            vs[n] = v;
            n++;
        }
        if (rc < 0) {
            break;
        }
        rc = tr_block_builder_add(b, tr_series_labels(list.series[i]), ts, vs,
                                  n, err);
    }
    if (rc == TR_OK) {
        rc = tr_block_builder_finish(b, out, err);
    }
    tr_free(ts);
    tr_free(vs);
    tr_series_chunks_fini(&sc);
    tr_series_list_fini(&list);
    tr_block_builder_destroy(b);
    return rc;
}

/* ---- upload ------------------------------------------------------------- */

int
tr_block_key(char *out, size_t size, const char *tenant, const char *id,
             const char *file, struct tr_err *err)
{
    int n = snprintf(out, size, "%s/%s/%s/%s", tenant, TR_BLOCK_DIR, id, file);
    if (n < 0 || (size_t)n >= size) {
        return tr_err_set(err, TR_EINVAL,
                          "block key for tenant \"%s\" too "
                          "long",
                          tenant);
    }
    return TR_OK;
}

int
tr_block_upload(struct tr_objstore *os, const struct tr_block_files *f,
                struct tr_err *err)
{
    const char *names[3] = {TR_BLOCK_FILE_CHUNKS, TR_BLOCK_FILE_INDEX,
                            TR_BLOCK_FILE_META};
    const struct tr_buf *bufs[3] = {&f->chunks, &f->index, &f->meta_json};
    /* meta.json last: it is what makes the block visible. */
    for (int i = 0; i < 3; i++) {
        char key[TR_OBJSTORE_KEY_MAX + 1];
        int rc = tr_block_key(key, sizeof(key), f->meta.tenant, f->meta.id,
                              names[i], err);
        if (rc == TR_OK) {
            rc = tr_objstore_put(os, key, bufs[i]->data, bufs[i]->len, err);
        }
        if (rc != TR_OK) {
            return tr_err_prefix(err, "cannot upload block %s", f->meta.id);
        }
    }
    return TR_OK;
}
