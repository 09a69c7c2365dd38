/*
 * Block reader: open a block from object storage, select series by
 * matchers and time with postings, fetch only the needed byte ranges.
 * Layout in block_format.h.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "objstore/objstore.h"
#include "tsdb/block.h"
#include "tsdb/block_format.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"
#include "tsdb/varint.h"

/* Ranges closer than this are fetched with one request. */
#define MERGE_GAP (16u * 1024u)
/* Bytes read from the end of the index at open: the TOC and, usually,
 * the label table and page tables before it. */
#define TAIL_READ (64u * 1024u)

struct name_rec {
    uint32_t sym;
    uint32_t first; /* index into values[] */
    uint32_t n;
};

struct value_rec {
    uint32_t sym;
    uint32_t count;
    uint64_t off; /* absolute offset in the index object */
    uint64_t len;
};

struct tr_block {
    atomic_int refs;
    struct tr_objstore *os;
    struct tr_block_meta meta;
    char index_key[TR_OBJSTORE_KEY_MAX + 1];
    char chunks_key[TR_OBJSTORE_KEY_MAX + 1];
    struct tr_block_toc toc;

    struct tr_buf symdata;
    struct tr_tsdb_str *syms;
    size_t nsyms;
    struct name_rec *names;
    size_t nnames;
    struct value_rec *values;
    size_t nvalues;

    uint64_t nseries;
    uint64_t spp;
    size_t nspages;
    uint64_t *spage_off; /* nspages + 1 absolute index offsets */
    /* Column pages of each stream (TR_BLOCK_STREAM_*): object offsets of
     * the n pages and n + 1 logical offsets (the last is the stream's
     * length); a page's compressed length is in clen. */
    struct stream_pages {
        size_t n;
        uint64_t *off;
        uint64_t *clen;
        uint64_t *start;
    } streams[2];

    atomic_uint_least64_t requests;
    atomic_uint_least64_t bytes;
};

/* ---- small helpers ------------------------------------------------------ */

/* A bounds-checked reader of uvarints; `bad` sticks. */
struct cursor {
    const unsigned char *p;
    const unsigned char *end;
    bool bad;
};

static uint64_t
uv(struct cursor *c)
{
    uint64_t v = 0;
    size_t k = c->bad ? 0 : tr_varint_get(c->p, c->end, &v);
    if (k == 0) {
        c->bad = true;
        return 0;
    }
    c->p += k;
    return v;
}

static int
corrupt(const struct tr_block *b, struct tr_err *err, const char *what)
{
    return tr_err_set(err, TR_EINVAL, "cannot read block %s: %s is corrupt",
                      b->meta.id, what);
}

static int
fetch(struct tr_block *b, const char *key, uint64_t off, uint64_t len,
      struct tr_buf *out, struct tr_err *err)
{
    size_t before = out->len;
    int rc = tr_objstore_get_range(b->os, key, off, len, out, err);
    atomic_fetch_add(&b->requests, 1);
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot read block %s", b->meta.id);
    }
    atomic_fetch_add(&b->bytes, out->len - before);
    return TR_OK;
}

/*
 * Decodes exactly one zstd frame of len bytes into out (replacing its
 * content). expect is the decoded size when known (0: any). The frame's
 * checksum catches corrupted bytes.
 */
static int
unframe(const struct tr_block *b, ZSTD_DCtx *dctx, const void *src, size_t len,
        uint64_t expect, struct tr_buf *out, const char *what,
        struct tr_err *err)
{
    tr_buf_reset(out);
    size_t flen = ZSTD_findFrameCompressedSize(src, len);
    if (ZSTD_isError(flen) || flen != len) {
        return corrupt(b, err, what);
    }
    unsigned long long size = ZSTD_getFrameContentSize(src, len);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > TR_BLOCK_MAX_DECODED || (expect != 0 && size != expect)) {
        return corrupt(b, err, what);
    }
    if (tr_buf_reserve(out, (size_t)size + 1) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot read block %s: out of "
                          "memory",
                          b->meta.id);
    }
    size_t n = ZSTD_decompressDCtx(dctx, out->data, (size_t)size + 1, src, len);
    if (ZSTD_isError(n) || n != size) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot read block %s: %s is "
                          "corrupt (%s)",
                          b->meta.id, what,
                          ZSTD_isError(n) ? ZSTD_getErrorName(n)
                                          : "size mismatch");
    }
    out->len = n;
    return TR_OK;
}

static int
str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n == 0 ? 0 : memcmp(a, b, n);
    if (c != 0) {
        return c;
    }
    return (alen > blen) - (alen < blen);
}

/* ---- ranged fetches with merging ----------------------------------------- */

struct range {
    uint64_t off;
    uint64_t len;
    const unsigned char *data; /* set by fetch_ranges */
};

struct fetched {
    struct tr_buf *bufs;
    size_t n;
};

static void
fetched_fini(struct fetched *f)
{
    for (size_t i = 0; i < f->n; i++) {
        tr_buf_fini(&f->bufs[i]);
    }
    tr_free(f->bufs);
    memset(f, 0, sizeof(*f));
}

/* Fetches ranges r (sorted by offset) merging near ones; points each
 * range's data at its bytes (owned by f). */
static int
fetch_ranges(struct tr_block *b, const char *key, struct range *r, size_t n,
             struct fetched *f, struct tr_err *err)
{
    memset(f, 0, sizeof(*f));
    if (n == 0) {
        return TR_OK;
    }
    f->bufs = tr_calloc(n, sizeof(*f->bufs));
    if (f->bufs == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot read block %s: out of "
                          "memory",
                          b->meta.id);
    }
    size_t i = 0;
    while (i < n) {
        uint64_t start = r[i].off;
        uint64_t end = r[i].off + r[i].len;
        size_t j = i + 1;
        while (j < n && r[j].off <= end + MERGE_GAP) {
            if (r[j].off + r[j].len > end) {
                end = r[j].off + r[j].len;
            }
            j++;
        }
        struct tr_buf *buf = &f->bufs[f->n++];
        int rc = fetch(b, key, start, end - start, buf, err);
        if (rc != TR_OK) {
            fetched_fini(f);
            return rc;
        }
        for (size_t k = i; k < j; k++) {
            r[k].data = (const unsigned char *)buf->data + (r[k].off - start);
        }
        i = j;
    }
    return TR_OK;
}

/* ---- open -----------------------------------------------------------------
 */

static int
parse_symbols(struct tr_block *b, struct tr_err *err)
{
    struct cursor c = {(const unsigned char *)b->symdata.data,
                       (const unsigned char *)b->symdata.data + b->symdata.len,
                       false};
    uint64_t n = uv(&c);
    if (c.bad || n > b->symdata.len) {
        return corrupt(b, err, "symbol table");
    }
    b->syms = tr_malloc((n ? n : 1) * sizeof(*b->syms));
    if (b->syms == NULL) {
        return TR_ENOMEM;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = uv(&c);
        if (c.bad || len > (uint64_t)(c.end - c.p)) {
            return corrupt(b, err, "symbol table");
        }
        b->syms[i].ptr = (const char *)c.p;
        b->syms[i].len = len;
        c.p += len;
        /* Sorted and unique: lookups rely on it. */
        if (i > 0 && str_cmp(b->syms[i - 1].ptr, b->syms[i - 1].len,
                             b->syms[i].ptr, b->syms[i].len) >= 0) {
            return corrupt(b, err, "symbol table");
        }
    }
    if (c.p != c.end) {
        return corrupt(b, err, "symbol table");
    }
    b->nsyms = n;
    return TR_OK;
}

static int
parse_labels(struct tr_block *b, const struct tr_buf *data, struct tr_err *err)
{
    struct cursor c = {(const unsigned char *)data->data,
                       (const unsigned char *)data->data + data->len, false};
    uint64_t nn = uv(&c);
    if (c.bad || nn > data->len || nn > b->nsyms) {
        return corrupt(b, err, "label table");
    }
    b->names = tr_calloc(nn ? nn : 1, sizeof(*b->names));
    /* Every value takes at least 3 bytes, which bounds the count. */
    size_t vcap = data->len / 3 + 1;
    b->values = tr_malloc(vcap * sizeof(*b->values));
    if (b->names == NULL || b->values == NULL) {
        return TR_ENOMEM;
    }
    uint64_t off = b->toc.off[TR_BLOCK_SEC_POSTINGS];
    uint64_t end = off + b->toc.len[TR_BLOCK_SEC_POSTINGS];
    for (uint64_t i = 0; i < nn; i++) {
        struct name_rec *nr = &b->names[i];
        uint64_t sym = uv(&c);
        uint64_t nv = uv(&c);
        if (c.bad || sym >= b->nsyms || (i > 0 && sym <= b->names[i - 1].sym) ||
            nv == 0 || nv > vcap - b->nvalues) {
            return corrupt(b, err, "label table");
        }
        nr->sym = (uint32_t)sym;
        nr->first = (uint32_t)b->nvalues;
        nr->n = (uint32_t)nv;
        for (uint64_t j = 0; j < nv; j++) {
            struct value_rec *vr = &b->values[b->nvalues];
            uint64_t vsym = uv(&c);
            uint64_t len = uv(&c);
            uint64_t count = uv(&c);
            if (c.bad || vsym >= b->nsyms || (j > 0 && vsym <= vr[-1].sym) ||
                count == 0 || count > b->nseries ||
                len < count + TR_BLOCK_POSTINGS_SUM || len > end - off) {
                return corrupt(b, err, "label table");
            }
            vr->sym = (uint32_t)vsym;
            vr->count = (uint32_t)count;
            vr->off = off;
            vr->len = len;
            off += len;
            b->nvalues++;
        }
    }
    if (c.p != c.end || off != end) {
        return corrupt(b, err, "label table");
    }
    b->nnames = nn;
    return TR_OK;
}

static int
parse_pages(struct tr_block *b, const struct tr_buf *data, struct tr_err *err)
{
    struct cursor c = {(const unsigned char *)data->data,
                       (const unsigned char *)data->data + data->len, false};
    b->nseries = uv(&c);
    b->spp = uv(&c);
    uint64_t nsp = uv(&c);
    if (c.bad || b->nseries != b->meta.series || b->spp == 0 ||
        nsp != (b->nseries + b->spp - 1) / b->spp || nsp > data->len) {
        return corrupt(b, err, "page table");
    }
    b->spage_off = tr_malloc((nsp + 1) * sizeof(uint64_t));
    if (b->spage_off == NULL) {
        return TR_ENOMEM;
    }
    uint64_t off = b->toc.off[TR_BLOCK_SEC_SERIES];
    uint64_t end = off + b->toc.len[TR_BLOCK_SEC_SERIES];
    for (uint64_t i = 0; i < nsp; i++) {
        uint64_t len = uv(&c);
        if (c.bad || len == 0 || len > end - off) {
            return corrupt(b, err, "page table");
        }
        b->spage_off[i] = off;
        off += len;
    }
    b->spage_off[nsp] = off;
    b->nspages = nsp;
    uint64_t ncp = uv(&c);
    if (c.bad || off != end || ncp > data->len) {
        return corrupt(b, err, "page table");
    }
    for (int k = 0; k < 2; k++) {
        struct stream_pages *sp = &b->streams[k];
        sp->off = tr_malloc((ncp + 1) * sizeof(uint64_t));
        sp->clen = tr_malloc((ncp + 1) * sizeof(uint64_t));
        sp->start = tr_malloc((ncp + 1) * sizeof(uint64_t));
        if (sp->off == NULL || sp->clen == NULL || sp->start == NULL) {
            return TR_ENOMEM;
        }
        sp->start[0] = 0;
    }
    uint64_t coff = 0;
    for (uint64_t i = 0; i < ncp; i++) {
        unsigned stream = c.p < c.end ? *c.p++ : 0xff;
        uint64_t clen = uv(&c);
        uint64_t ulen = uv(&c);
        if (c.bad || stream > TR_BLOCK_STREAM_VALUE || clen == 0 || ulen == 0 ||
            clen > b->meta.chunks_size - coff || ulen > TR_BLOCK_MAX_DECODED) {
            return corrupt(b, err, "page table");
        }
        struct stream_pages *sp = &b->streams[stream];
        sp->off[sp->n] = coff;
        sp->clen[sp->n] = clen;
        sp->start[sp->n + 1] = sp->start[sp->n] + ulen;
        sp->n++;
        coff += clen;
    }
    if (c.p != c.end || coff != b->meta.chunks_size) {
        return corrupt(b, err, "page table");
    }
    return TR_OK;
}

static void
block_free(struct tr_block *b)
{
    if (b == NULL) {
        return;
    }
    tr_buf_fini(&b->symdata);
    tr_free(b->syms);
    tr_free(b->names);
    tr_free(b->values);
    tr_free(b->spage_off);
    for (int k = 0; k < 2; k++) {
        tr_free(b->streams[k].off);
        tr_free(b->streams[k].clen);
        tr_free(b->streams[k].start);
    }
    tr_free(b);
}

/* Loads the resident index sections. */
static int
load_index(struct tr_block *b, ZSTD_DCtx *dctx, struct tr_err *err)
{
    uint64_t size = b->meta.index_size;
    uint64_t tail = size < TAIL_READ ? size : TAIL_READ;
    struct tr_buf tailbuf = TR_BUF_INIT;
    struct tr_buf extra = TR_BUF_INIT;
    struct tr_buf tmp = TR_BUF_INIT;
    int rc = fetch(b, b->index_key, size - tail, tail, &tailbuf, err);
    if (rc != TR_OK) {
        goto done;
    }
    rc = tr_block_toc_decode(tailbuf.data + tail - TR_BLOCK_TOC_SIZE, size,
                             &b->toc, err);
    if (rc != TR_OK) {
        tr_err_prefix(err, "cannot open block %s: index", b->meta.id);
        goto done;
    }
    /* Label table and page tables sit just before the TOC. */
    uint64_t lo = b->toc.off[TR_BLOCK_SEC_LABELS];
    uint64_t po = b->toc.off[TR_BLOCK_SEC_PAGES];
    if (lo + b->toc.len[TR_BLOCK_SEC_LABELS] > po ||
        po + b->toc.len[TR_BLOCK_SEC_PAGES] > size - TR_BLOCK_TOC_SIZE) {
        rc = corrupt(b, err, "table of contents");
        goto done;
    }
    const unsigned char *base;
    uint64_t base_off;
    if (lo >= size - tail) {
        base = (const unsigned char *)tailbuf.data;
        base_off = size - tail;
    } else {
        rc = fetch(b, b->index_key, lo, size - lo, &extra, err);
        if (rc != TR_OK) {
            goto done;
        }
        base = (const unsigned char *)extra.data;
        base_off = lo;
    }
    /* Symbols first: the other tables refer to them. */
    if (b->toc.off[TR_BLOCK_SEC_SYMBOLS] >= base_off) {
        rc = unframe(b, dctx,
                     base + (b->toc.off[TR_BLOCK_SEC_SYMBOLS] - base_off),
                     b->toc.len[TR_BLOCK_SEC_SYMBOLS], 0, &b->symdata,
                     "symbol table", err);
    } else {
        rc = fetch(b, b->index_key, b->toc.off[TR_BLOCK_SEC_SYMBOLS],
                   b->toc.len[TR_BLOCK_SEC_SYMBOLS], &tmp, err);
        if (rc == TR_OK) {
            rc = unframe(b, dctx, tmp.data, tmp.len, 0, &b->symdata,
                         "symbol table", err);
        }
    }
    if (rc == TR_OK) {
        rc = parse_symbols(b, err);
    }
    if (rc == TR_OK) {
        rc =
            unframe(b, dctx, base + (po - base_off),
                    b->toc.len[TR_BLOCK_SEC_PAGES], 0, &tmp, "page table", err);
    }
    if (rc == TR_OK) {
        rc = parse_pages(b, &tmp, err);
    }
    if (rc == TR_OK) {
        rc = unframe(b, dctx, base + (lo - base_off),
                     b->toc.len[TR_BLOCK_SEC_LABELS], 0, &tmp, "label table",
                     err);
    }
    if (rc == TR_OK) {
        rc = parse_labels(b, &tmp, err);
    }
    if (rc == TR_ENOMEM) {
        tr_err_set(err, TR_ENOMEM, "cannot open block %s: out of memory",
                   b->meta.id);
    }
done:
    tr_buf_fini(&tailbuf);
    tr_buf_fini(&extra);
    tr_buf_fini(&tmp);
    return rc;
}

int
tr_block_meta_read(struct tr_objstore *os, const char *tenant, const char *id,
                   struct tr_block_meta *out, struct tr_err *err)
{
    char key[TR_OBJSTORE_KEY_MAX + 1];
    int rc = tr_block_tenant_check(tenant, err);
    if (rc == TR_OK && !tr_block_id_valid(id, strlen(id))) {
        rc = tr_err_set(err, TR_EINVAL, "invalid block id \"%s\"", id);
    }
    if (rc == TR_OK) {
        rc =
            tr_block_key(key, sizeof(key), tenant, id, TR_BLOCK_FILE_META, err);
    }
    if (rc != TR_OK) {
        return tr_err_prefix(err, "cannot read meta.json");
    }
    struct tr_buf buf = TR_BUF_INIT;
    rc = tr_objstore_get(os, key, &buf, err);
    if (rc == TR_OK) {
        rc = tr_block_meta_decode(buf.data, buf.len, out, err);
        if (rc == TR_OK &&
            (strcmp(out->id, id) != 0 || strcmp(out->tenant, tenant) != 0)) {
            rc = tr_err_set(err, TR_EINVAL, "it names block %s of tenant %s",
                            out->id, out->tenant);
        }
        if (rc != TR_OK) {
            tr_err_prefix(err, "cannot parse meta.json of block %s", id);
        }
    }
    tr_buf_fini(&buf);
    return rc;
}

int
tr_block_open(struct tr_objstore *os, const char *tenant, const char *id,
              struct tr_block **out, struct tr_err *err)
{
    *out = NULL;
    struct tr_block *b = tr_calloc(1, sizeof(*b));
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (b == NULL || dctx == NULL) {
        tr_free(b);
        ZSTD_freeDCtx(dctx);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot open block %s: out of "
                          "memory",
                          id);
    }
    atomic_init(&b->refs, 1);
    b->os = os;
    int rc = tr_block_meta_read(os, tenant, id, &b->meta, err);
    if (rc == TR_OK) {
        atomic_fetch_add(&b->requests, 1);
        rc = tr_block_key(b->index_key, sizeof(b->index_key), tenant, id,
                          TR_BLOCK_FILE_INDEX, err);
    }
    if (rc == TR_OK) {
        rc = tr_block_key(b->chunks_key, sizeof(b->chunks_key), tenant, id,
                          TR_BLOCK_FILE_CHUNKS, err);
    }
    if (rc == TR_OK) {
        rc = load_index(b, dctx, err);
    }
    ZSTD_freeDCtx(dctx);
    if (rc != TR_OK) {
        block_free(b);
        return rc;
    }
    *out = b;
    return TR_OK;
}

void
tr_block_retain(struct tr_block *b)
{
    atomic_fetch_add(&b->refs, 1);
}

void
tr_block_release(struct tr_block *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        block_free(b);
    }
}

const struct tr_block_meta *
tr_block_get_meta(const struct tr_block *b)
{
    return &b->meta;
}

void
tr_block_read_stats(const struct tr_block *b, struct tr_block_read_stats *out)
{
    out->requests = atomic_load(&b->requests);
    out->bytes = atomic_load(&b->bytes);
}

/* ---- postings -------------------------------------------------------------
 */

static const struct name_rec *
find_name(const struct tr_block *b, const char *name, size_t len)
{
    size_t lo = 0, hi = b->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct tr_tsdb_str *s = &b->syms[b->names[mid].sym];
        int c = str_cmp(s->ptr, s->len, name, len);
        if (c == 0) {
            return &b->names[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static int
u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/*
 * The union of the postings of values of nr whose match result equals
 * `want` (1: matching values, 0: the others), into out (sorted, unique).
 */
static int
union_postings(struct tr_block *b, const struct name_rec *nr,
               const struct tr_matcher *m, int want, struct tr_postings *out,
               struct tr_err *err)
{
    out->len = 0;
    struct range *r = tr_malloc(nr->n * sizeof(*r));
    uint32_t *vidx = tr_malloc(nr->n * sizeof(*vidx));
    struct fetched f = {0};
    int rc = TR_OK;
    if (r == NULL || vidx == NULL) {
        rc = TR_ENOMEM;
        goto done;
    }
    size_t nr_sel = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < nr->n; i++) {
        const struct value_rec *vr = &b->values[nr->first + i];
        const struct tr_tsdb_str *s = &b->syms[vr->sym];
        int hit = tr_matcher_match(m, s->ptr, s->len, err);
        if (hit < 0) {
            rc = hit;
            goto done;
        }
        if (hit == want) {
            r[nr_sel] = (struct range){vr->off, vr->len, NULL};
            vidx[nr_sel++] = nr->first + i;
            total += vr->count;
        }
    }
    if (nr_sel == 0) {
        goto done;
    }
    rc = fetch_ranges(b, b->index_key, r, nr_sel, &f, err);
    if (rc != TR_OK) {
        goto done;
    }
    if (total > out->cap) {
        uint32_t *ids = tr_realloc(out->ids, total * sizeof(*ids));
        if (ids == NULL) {
            rc = TR_ENOMEM;
            goto done;
        }
        out->ids = ids;
        out->cap = total;
    }
    for (size_t i = 0; i < nr_sel; i++) {
        const struct value_rec *vr = &b->values[vidx[i]];
        /* The list ends with the checksum of its varints. */
        size_t body = r[i].len - TR_BLOCK_POSTINGS_SUM;
        uint32_t sum = 0;
        for (int q = 0; q < TR_BLOCK_POSTINGS_SUM; q++) {
            sum |= (uint32_t)r[i].data[body + q] << (8 * q);
        }
        if (sum != tr_block_postings_sum(r[i].data, body)) {
            rc = corrupt(b, err, "postings list");
            goto done;
        }
        struct cursor c = {r[i].data, r[i].data + body, false};
        uint64_t id = 0;
        for (uint32_t k = 0; k < vr->count; k++) {
            uint64_t d = uv(&c);
            if (k > 0 && d == 0) {
                c.bad = true;
            }
            id = k == 0 ? d : id + d;
            if (c.bad || id >= b->nseries) {
                rc = corrupt(b, err, "postings list");
                goto done;
            }
            out->ids[out->len++] = (uint32_t)id;
        }
        if (c.p != c.end) {
            rc = corrupt(b, err, "postings list");
            goto done;
        }
    }
    if (nr_sel > 1) {
        qsort(out->ids, out->len, sizeof(uint32_t), u32_cmp);
        size_t u = 0;
        for (size_t i = 0; i < out->len; i++) {
            if (u == 0 || out->ids[u - 1] != out->ids[i]) {
                out->ids[u++] = out->ids[i];
            }
        }
        out->len = u;
    }
done:
    if (rc == TR_ENOMEM) {
        tr_err_set(err, TR_ENOMEM, "cannot read block %s: out of memory",
                   b->meta.id);
    }
    fetched_fini(&f);
    tr_free(r);
    tr_free(vidx);
    return rc;
}

/* Ordinals of the series matching every matcher (tr_index_select rules). */
static int
select_ordinals(struct tr_block *b, struct tr_matcher *const *matchers,
                size_t n, struct tr_postings *out, struct tr_err *err)
{
    out->len = 0;
    struct tr_postings cur = {0}, tmp = {0}, res = {0};
    bool have = false;
    int rc = TR_OK;
    /* First the matchers that narrow (do not match ""). */
    for (size_t i = 0; i < n && rc == TR_OK; i++) {
        const struct tr_matcher *m = matchers[i];
        if (tr_matcher_matches_empty(m)) {
            continue;
        }
        size_t len;
        const char *name = tr_matcher_name(m, &len);
        const struct name_rec *nr = find_name(b, name, len);
        if (nr == NULL) {
            res.len = 0;
            have = true;
            goto done;
        }
        rc = union_postings(b, nr, m, 1, &cur, err);
        if (rc != TR_OK) {
            goto done;
        }
        if (!have) {
            struct tr_postings t = res;
            res = cur;
            cur = t;
            have = true;
        } else {
            if (tr_postings_intersect(&res, &cur, &tmp) != TR_OK) {
                rc = TR_ENOMEM;
                goto done;
            }
            struct tr_postings t = res;
            res = tmp;
            tmp = t;
        }
        if (res.len == 0) {
            goto done;
        }
    }
    if (!have) {
        res.ids = tr_malloc((b->nseries ? b->nseries : 1) * sizeof(uint32_t));
        if (res.ids == NULL) {
            rc = TR_ENOMEM;
            goto done;
        }
        res.cap = b->nseries;
        for (uint64_t i = 0; i < b->nseries; i++) {
            res.ids[i] = (uint32_t)i;
        }
        res.len = b->nseries;
        have = true;
    }
    /* Then subtract what the matchers matching "" exclude. */
    for (size_t i = 0; i < n && rc == TR_OK && res.len > 0; i++) {
        const struct tr_matcher *m = matchers[i];
        if (!tr_matcher_matches_empty(m)) {
            continue;
        }
        size_t len;
        const char *name = tr_matcher_name(m, &len);
        const struct name_rec *nr = find_name(b, name, len);
        if (nr == NULL) {
            continue;
        }
        rc = union_postings(b, nr, m, 0, &cur, err);
        if (rc == TR_OK) {
            tr_postings_subtract(&res, &cur);
        }
    }
done:
    if (rc == TR_OK) {
        struct tr_postings t = *out;
        *out = res;
        res = t;
    } else if (rc == TR_ENOMEM) {
        tr_err_set(err, TR_ENOMEM, "cannot read block %s: out of memory",
                   b->meta.id);
    }
    tr_postings_fini(&cur);
    tr_postings_fini(&tmp);
    tr_postings_fini(&res);
    return rc;
}

/* ---- series ---------------------------------------------------------------
 */

/* A series found in the series pages, overlapping the query range. */
struct found {
    struct tr_labels *labels;
    uint64_t n;
    int64_t mint;
    int64_t maxt;
    uint64_t toff; /* time column */
    uint64_t tlen;
    uint64_t voff; /* value column */
    uint64_t vlen;
};

struct found_set {
    struct found *s;
    size_t len;
};

static void
found_set_fini(struct found_set *fs)
{
    for (size_t i = 0; i < fs->len; i++) {
        tr_labels_destroy(fs->s[i].labels);
    }
    tr_free(fs->s);
    memset(fs, 0, sizeof(*fs));
}

/* True when [off, off + len) lies inside stream k. */
static bool
in_stream(const struct tr_block *b, int k, uint64_t off, uint64_t len)
{
    uint64_t size = b->streams[k].start[b->streams[k].n];
    return off <= size && len <= size - off;
}

/*
 * Parses one series entry whose value column starts at *voff (advanced
 * past it); keeps it in fs when keep and its samples overlap [mint,
 * maxt].
 */
static int
parse_series(struct tr_block *b, struct cursor *c, bool keep, int64_t mint,
             int64_t maxt, struct found_set *fs, struct tr_label *pairs,
             uint64_t *voff, struct tr_err *err)
{
    uint64_t nl = uv(c);
    if (c->bad || nl == 0 || nl > b->nnames) {
        return corrupt(b, err, "series entry");
    }
    for (uint64_t i = 0; i < nl; i++) {
        uint64_t ns = uv(c);
        uint64_t vs = uv(c);
        if (c->bad || ns >= b->nsyms || vs >= b->nsyms) {
            return corrupt(b, err, "series entry");
        }
        pairs[i] = (struct tr_label){b->syms[ns].ptr, b->syms[ns].len,
                                     b->syms[vs].ptr, b->syms[vs].len};
    }
    struct found f = {0};
    f.n = uv(c);
    uint64_t dmin = uv(c);
    uint64_t span = uv(c);
    f.toff = uv(c);
    f.tlen = uv(c);
    f.vlen = uv(c);
    f.voff = *voff;
    f.mint = (int64_t)((uint64_t)b->meta.mint + dmin);
    f.maxt = (int64_t)((uint64_t)f.mint + span);
    /* Every timestamp after the first takes a byte or more, every value
     * too (plus the mode byte); timestamps strictly increase. */
    if (c->bad || f.n == 0 || f.n > b->meta.samples || f.n - 1 > f.tlen ||
        f.n - 1 > span || (f.n == 1) != (f.tlen == 0) || f.vlen <= f.n ||
        dmin >= (uint64_t)b->meta.maxt - (uint64_t)b->meta.mint ||
        span >= (uint64_t)b->meta.maxt - (uint64_t)f.mint ||
        !in_stream(b, TR_BLOCK_STREAM_TIME, f.toff, f.tlen) ||
        !in_stream(b, TR_BLOCK_STREAM_VALUE, f.voff, f.vlen)) {
        return corrupt(b, err, "series entry");
    }
    *voff += f.vlen;
    if (!keep || f.maxt < mint || f.mint > maxt) {
        return TR_OK;
    }
    int rc = tr_labels_from_pairs(pairs, nl, &f.labels, NULL);
    if (rc != TR_OK || tr_labels_count(f.labels) != nl) {
        tr_labels_destroy(f.labels);
        return rc == TR_ENOMEM ? TR_ENOMEM : corrupt(b, err, "series entry");
    }
    fs->s[fs->len++] = f;
    return TR_OK;
}

/* Reads the series entries of ordinals ids (sorted), keeping those with
 * samples overlapping [mint, maxt], in ordinal (= label) order. */
static int
read_series(struct tr_block *b, ZSTD_DCtx *dctx, const struct tr_postings *ids,
            int64_t mint, int64_t maxt, struct found_set *fs,
            struct tr_err *err)
{
    memset(fs, 0, sizeof(*fs));
    if (ids->len == 0) {
        return TR_OK;
    }
    fs->s = tr_malloc(ids->len * sizeof(*fs->s));
    struct range *r = tr_malloc(ids->len * sizeof(*r));
    size_t *page = tr_malloc(ids->len * sizeof(*page));
    struct tr_label *pairs = tr_malloc((b->nnames + 1) * sizeof(*pairs));
    struct tr_buf dec = TR_BUF_INIT;
    struct fetched f = {0};
    int rc = TR_OK;
    if (fs->s == NULL || r == NULL || page == NULL || pairs == NULL) {
        rc = TR_ENOMEM;
        goto done;
    }
    size_t np = 0;
    for (size_t i = 0; i < ids->len; i++) {
        size_t p = ids->ids[i] / b->spp;
        if (np == 0 || page[np - 1] != p) {
            page[np] = p;
            r[np] = (struct range){b->spage_off[p],
                                   b->spage_off[p + 1] - b->spage_off[p], NULL};
            np++;
        }
    }
    rc = fetch_ranges(b, b->index_key, r, np, &f, err);
    size_t k = 0; /* next wanted id */
    for (size_t i = 0; i < np && rc == TR_OK; i++) {
        rc = unframe(b, dctx, r[i].data, r[i].len, 0, &dec, "series page", err);
        if (rc != TR_OK) {
            break;
        }
        struct cursor c = {(const unsigned char *)dec.data,
                           (const unsigned char *)dec.data + dec.len, false};
        uint64_t voff = uv(&c); /* of the page's first value column */
        if (c.bad) {
            rc = corrupt(b, err, "series page");
            break;
        }
        uint64_t ord = page[i] * b->spp;
        uint64_t end = ord + b->spp < b->nseries ? ord + b->spp : b->nseries;
        for (; ord < end && rc == TR_OK; ord++) {
            bool keep = k < ids->len && ids->ids[k] == ord;
            if (keep) {
                k++;
            }
            rc = parse_series(b, &c, keep, mint, maxt, fs, pairs, &voff, err);
            if (k == ids->len || (k < ids->len && ids->ids[k] >= end)) {
                break; /* the rest of this page is not wanted */
            }
        }
    }
done:
    if (rc == TR_ENOMEM) {
        tr_err_set(err, TR_ENOMEM, "cannot read block %s: out of memory",
                   b->meta.id);
    }
    if (rc != TR_OK) {
        found_set_fini(fs);
    }
    fetched_fini(&f);
    tr_buf_fini(&dec);
    tr_free(r);
    tr_free(page);
    tr_free(pairs);
    return rc;
}

/* Page of stream k holding logical offset off (the stream has pages). */
static size_t
page_of(const struct tr_block *b, int k, uint64_t off)
{
    const struct stream_pages *sp = &b->streams[k];
    size_t lo = 0, hi = sp->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp->start[mid] <= off) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* A column page to fetch. */
struct page_want {
    uint64_t off; /* in the chunks object */
    uint64_t clen;
    int stream;
    size_t page;
};

static int
page_want_cmp(const void *pa, const void *pb)
{
    const struct page_want *a = pa, *b = pb;
    return (a->off > b->off) - (a->off < b->off);
}

/* Identity of a decoded time column: series sharing one share all. */
struct time_key {
    uint64_t toff, tlen, n;
    int64_t mint, maxt;
    size_t series; /* index into the found set */
};

static int
time_key_cmp(const void *pa, const void *pb)
{
    const struct time_key *a = pa, *b = pb;
    uint64_t x[5] = {a->toff, a->tlen, a->n, (uint64_t)a->mint,
                     (uint64_t)a->maxt};
    uint64_t y[5] = {b->toff, b->tlen, b->n, (uint64_t)b->mint,
                     (uint64_t)b->maxt};
    for (int i = 0; i < 5; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

/* Decoded pages of one select: dec[slot[k][page]]. */
struct pages {
    size_t *slot[2];
    struct tr_buf *dec;
    size_t n;
};

static void
pages_fini(struct pages *p)
{
    tr_free(p->slot[0]);
    tr_free(p->slot[1]);
    for (size_t i = 0; p->dec != NULL && i < p->n; i++) {
        tr_buf_fini(&p->dec[i]);
    }
    tr_free(p->dec);
}

/* Bytes [off, off + len) of stream k (their page is decoded). */
static const unsigned char *
stream_bytes(const struct tr_block *b, const struct pages *pg, int k,
             uint64_t off)
{
    size_t p = page_of(b, k, off);
    return (const unsigned char *)pg->dec[pg->slot[k][p]].data +
           (off - b->streams[k].start[p]);
}

/* Marks the page holding column [off, off + len) of stream k as wanted;
 * the column must lie inside one page. */
static int
want_column(struct tr_block *b, struct pages *pg, struct page_want *w,
            size_t *nw, int k, uint64_t off, uint64_t len, struct tr_err *err)
{
    const struct stream_pages *sp = &b->streams[k];
    if (sp->n == 0) {
        return corrupt(b, err, "column reference");
    }
    size_t p = page_of(b, k, off);
    if (off < sp->start[p] || len > sp->start[p + 1] - off) {
        return corrupt(b, err, "column reference");
    }
    if (pg->slot[k][p] == SIZE_MAX) {
        pg->slot[k][p] = 0; /* set once the order is known */
        w[(*nw)++] = (struct page_want){sp->off[p], sp->clen[p], k, p};
    }
    return TR_OK;
}

/* Fetches and decodes the column pages of fs. */
static int
load_pages(struct tr_block *b, ZSTD_DCtx *dctx, const struct found_set *fs,
           struct pages *pg, struct tr_err *err)
{
    memset(pg, 0, sizeof(*pg));
    struct page_want *w = tr_malloc(2 * fs->len * sizeof(*w));
    struct range *r = tr_malloc(2 * fs->len * sizeof(*r));
    struct fetched f = {0};
    size_t nw = 0;
    int rc = TR_OK;
    for (int k = 0; k < 2; k++) {
        pg->slot[k] = tr_malloc((b->streams[k].n + 1) * sizeof(size_t));
        if (pg->slot[k] == NULL) {
            rc = TR_ENOMEM;
        }
        for (size_t i = 0; pg->slot[k] != NULL && i < b->streams[k].n; i++) {
            pg->slot[k][i] = SIZE_MAX;
        }
    }
    if (w == NULL || r == NULL || rc != TR_OK) {
        rc = TR_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < fs->len && rc == TR_OK; i++) {
        const struct found *fd = &fs->s[i];
        rc = want_column(b, pg, w, &nw, TR_BLOCK_STREAM_VALUE, fd->voff,
                         fd->vlen, err);
        if (rc == TR_OK && fd->tlen > 0) {
            rc = want_column(b, pg, w, &nw, TR_BLOCK_STREAM_TIME, fd->toff,
                             fd->tlen, err);
        }
    }
    if (rc != TR_OK) {
        goto done;
    }
    qsort(w, nw, sizeof(*w), page_want_cmp);
    for (size_t i = 0; i < nw; i++) {
        r[i] = (struct range){w[i].off, w[i].clen, NULL};
        pg->slot[w[i].stream][w[i].page] = i;
    }
    rc = fetch_ranges(b, b->chunks_key, r, nw, &f, err);
    if (rc != TR_OK) {
        goto done;
    }
    pg->dec = tr_calloc(nw ? nw : 1, sizeof(*pg->dec));
    if (pg->dec == NULL) {
        rc = TR_ENOMEM;
        goto done;
    }
    pg->n = nw;
    for (size_t i = 0; i < nw && rc == TR_OK; i++) {
        const struct stream_pages *sp = &b->streams[w[i].stream];
        uint64_t ulen = sp->start[w[i].page + 1] - sp->start[w[i].page];
        rc = unframe(b, dctx, r[i].data, r[i].len, ulen, &pg->dec[i],
                     "column page", err);
    }
done:
    fetched_fini(&f);
    tr_free(w);
    tr_free(r);
    return rc;
}

/* Fetches the column pages of fs, decodes each distinct time column once
 * and fills out. */
static int
read_samples(struct tr_block *b, ZSTD_DCtx *dctx, struct found_set *fs,
             struct tr_block_series_set *out, struct tr_err *err)
{
    struct pages pg;
    struct time_key *keys = NULL;
    int rc = load_pages(b, dctx, fs, &pg, err);
    if (rc != TR_OK) {
        goto done;
    }
    keys = tr_malloc(fs->len * sizeof(*keys));
    out->series = tr_calloc(fs->len, sizeof(*out->series));
    if (keys == NULL || out->series == NULL) {
        rc = TR_ENOMEM;
        goto done;
    }
    out->cap = fs->len;
    /* Storage: distinct time columns, then every value column. */
    uint64_t ntimes = 0, vbytes = 0;
    for (size_t i = 0; i < fs->len; i++) {
        const struct found *fd = &fs->s[i];
        keys[i] =
            (struct time_key){fd->toff, fd->tlen, fd->n, fd->mint, fd->maxt, i};
        vbytes += fd->vlen;
    }
    qsort(keys, fs->len, sizeof(*keys), time_key_cmp);
    for (size_t i = 0; i < fs->len; i++) {
        if (i == 0 || time_key_cmp(&keys[i - 1], &keys[i]) != 0) {
            ntimes += keys[i].n;
        }
    }
    out->times = tr_malloc(ntimes * sizeof(*out->times));
    out->values = tr_malloc(vbytes);
    if (out->times == NULL || out->values == NULL) {
        rc = TR_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < fs->len; i++) {
        struct found *fd = &fs->s[i];
        struct tr_block_series *os = &out->series[i];
        os->labels = fd->labels;
        fd->labels = NULL;
        os->min_t = fd->mint;
        os->max_t = fd->maxt;
        os->samples = fd->n;
    }
    out->len = fs->len;
    int64_t *tp = out->times;
    for (size_t i = 0; i < fs->len; i++) {
        const struct time_key *key = &keys[i];
        if (i == 0 || time_key_cmp(&keys[i - 1], key) != 0) {
            static const unsigned char none[1];
            const unsigned char *src =
                key->tlen == 0
                    ? none
                    : stream_bytes(b, &pg, TR_BLOCK_STREAM_TIME, key->toff);
            if (tr_block_times_decode(src, key->tlen, key->mint, key->maxt,
                                      key->n, tp) != TR_OK) {
                rc = corrupt(b, err, "time column");
                goto done;
            }
            tp += key->n;
        }
        out->series[key->series].t = tp - key->n;
    }
    unsigned char *vp = out->values;
    for (size_t i = 0; i < fs->len; i++) {
        const struct found *fd = &fs->s[i];
        memcpy(vp, stream_bytes(b, &pg, TR_BLOCK_STREAM_VALUE, fd->voff),
               fd->vlen);
        out->series[i].v = vp;
        out->series[i].v_len = fd->vlen;
        vp += fd->vlen;
    }
done:
    if (rc == TR_ENOMEM) {
        tr_err_set(err, TR_ENOMEM, "cannot read block %s: out of memory",
                   b->meta.id);
    }
    pages_fini(&pg);
    tr_free(keys);
    return rc;
}

void
tr_block_series_set_fini(struct tr_block_series_set *s)
{
    for (size_t i = 0; i < s->len; i++) {
        tr_labels_destroy(s->series[i].labels);
    }
    tr_free(s->series);
    tr_free(s->times);
    tr_free(s->values);
    memset(s, 0, sizeof(*s));
}

/* Selected series without their chunk bytes (shared by select and the
 * label queries). */
static int
find_series(struct tr_block *b, ZSTD_DCtx *dctx,
            struct tr_matcher *const *matchers, size_t n, int64_t mint,
            int64_t maxt, struct found_set *fs, struct tr_err *err)
{
    memset(fs, 0, sizeof(*fs));
    if (maxt < b->meta.mint || mint >= b->meta.maxt || mint > maxt) {
        return TR_OK;
    }
    struct tr_postings ids = {0};
    int rc = select_ordinals(b, matchers, n, &ids, err);
    if (rc == TR_OK) {
        rc = read_series(b, dctx, &ids, mint, maxt, fs, err);
    }
    tr_postings_fini(&ids);
    return rc;
}

int
tr_block_select(struct tr_block *b, struct tr_matcher *const *matchers,
                size_t n, int64_t mint, int64_t maxt,
                struct tr_block_series_set *out, struct tr_err *err)
{
    tr_block_series_set_fini(out);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (dctx == NULL) {
        return tr_err_set(err, TR_ENOMEM,
                          "cannot read block %s: out of "
                          "memory",
                          b->meta.id);
    }
    struct found_set fs;
    int rc = find_series(b, dctx, matchers, n, mint, maxt, &fs, err);
    if (rc == TR_OK && fs.len > 0) {
        rc = read_samples(b, dctx, &fs, out, err);
    }
    if (rc != TR_OK) {
        tr_block_series_set_fini(out);
    }
    found_set_fini(&fs);
    ZSTD_freeDCtx(dctx);
    return rc;
}

/* First index in t[0..n) whose time is >= x (n when none). */
static size_t
lower_bound(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The samples [*lo, *hi) of s within [mint, maxt] (empty: *lo == *hi). */
static void
series_window(const struct tr_block_series *s, int64_t mint, int64_t maxt,
              size_t *lo, size_t *hi)
{
    *lo = *hi = 0;
    if (mint > maxt || s->samples == 0 || maxt < s->min_t || mint > s->max_t) {
        return;
    }
    *lo = lower_bound(s->t, s->samples, mint);
    *hi = maxt == INT64_MAX ? s->samples
                            : lower_bound(s->t, s->samples, maxt + 1);
    if (*hi < *lo) {
        *hi = *lo;
    }
}

size_t
tr_block_series_count(const struct tr_block_series *s, int64_t mint,
                      int64_t maxt)
{
    size_t lo, hi;
    series_window(s, mint, maxt, &lo, &hi);
    return hi - lo;
}

int
tr_block_series_samples(const struct tr_block_series *s, int64_t mint,
                        int64_t maxt, int64_t **t, double **v, size_t *n,
                        struct tr_err *err)
{
    *t = NULL;
    *v = NULL;
    *n = 0;
    size_t lo, hi;
    series_window(s, mint, maxt, &lo, &hi);
    if (lo == hi) {
        return TR_OK;
    }
    int64_t *ts = tr_malloc((hi - lo) * sizeof(*ts));
    double *vs = tr_malloc((hi - lo) * sizeof(*vs));
    if (ts == NULL || vs == NULL) {
        tr_free(ts);
        tr_free(vs);
        return tr_err_set(err, TR_ENOMEM,
                          "cannot decode block series: out of memory");
    }
    if (tr_block_values_decode(s->v, s->v_len, s->samples, lo, hi, vs) !=
        TR_OK) {
        tr_free(ts);
        tr_free(vs);
        return tr_err_set(err, TR_EINVAL,
                          "cannot decode block series: value column is "
                          "corrupt");
    }
    memcpy(ts, s->t + lo, (hi - lo) * sizeof(*ts));
    *t = ts;
    *v = vs;
    *n = hi - lo;
    return TR_OK;
}

/* ---- label queries --------------------------------------------------------
 */

static int
label_query(struct tr_block *b, const char *name, size_t name_len,
            struct tr_matcher *const *matchers, size_t n, int64_t mint,
            int64_t maxt, struct tr_arena *arena, struct tr_tsdb_str **out,
            size_t *count, struct tr_err *err)
{
    *out = NULL;
    *count = 0;
    struct tr_tsdb_str *v = NULL;
    size_t k = 0;
    int rc = TR_OK;
    if (n == 0 && mint <= b->meta.mint && maxt >= b->meta.maxt - 1) {
        /* Straight from the label table. */
        const struct name_rec *nr = NULL;
        size_t cnt = b->nnames;
        if (name != NULL) {
            nr = find_name(b, name, name_len);
            cnt = nr == NULL ? 0 : nr->n;
        }
        v = tr_malloc((cnt + 1) * sizeof(*v));
        if (v == NULL) {
            rc = TR_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < cnt; i++) {
            uint32_t sym =
                nr == NULL ? b->names[i].sym : b->values[nr->first + i].sym;
            v[k++] = b->syms[sym];
        }
        rc = tr_tsdb_strs_sort_unique(v, k, arena, out, count);
        goto done;
    }
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (dctx == NULL) {
        rc = TR_ENOMEM;
        goto done;
    }
    struct found_set fs;
    rc = find_series(b, dctx, matchers, n, mint, maxt, &fs, err);
    ZSTD_freeDCtx(dctx);
    if (rc != TR_OK) {
        return rc;
    }
    size_t cap = 0;
    for (size_t i = 0; i < fs.len; i++) {
        cap += name == NULL ? tr_labels_count(fs.s[i].labels) : 1;
    }
    v = tr_malloc((cap + 1) * sizeof(*v));
    if (v == NULL) {
        found_set_fini(&fs);
        rc = TR_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < fs.len; i++) {
        tr_tsdb_strs_from_labels(fs.s[i].labels, name, name_len, v, &k);
    }
    rc = tr_tsdb_strs_sort_unique(v, k, arena, out, count);
    found_set_fini(&fs);
done:
    tr_free(v);
    if (rc == TR_ENOMEM) {
        tr_err_set(err, TR_ENOMEM,
                   "cannot list labels of block %s: out of "
                   "memory",
                   b->meta.id);
    }
    return rc;
}

int
tr_block_label_names(struct tr_block *b, struct tr_matcher *const *matchers,
                     size_t n, int64_t mint, int64_t maxt,
                     struct tr_arena *arena, struct tr_tsdb_str **out,
                     size_t *count, struct tr_err *err)
{
    return label_query(b, NULL, 0, matchers, n, mint, maxt, arena, out, count,
                       err);
}

int
tr_block_label_values(struct tr_block *b, const char *name, size_t name_len,
                      struct tr_matcher *const *matchers, size_t n,
                      int64_t mint, int64_t maxt, struct tr_arena *arena,
                      struct tr_tsdb_str **out, size_t *count,
                      struct tr_err *err)
{
    return label_query(b, name, name_len, matchers, n, mint, maxt, arena, out,
                       count, err);
}
