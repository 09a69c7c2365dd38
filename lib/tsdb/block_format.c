/* Shared pieces of the block format: TOC, meta.json, ids, tenant rules. */
#include "tsdb/block_format.h"

#include <inttypes.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#include "base/buf.h"
#include "base/err.h"
#include "json/writer.h"
#include "tsdb/block.h"

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
    if (version != TR_BLOCK_FORMAT_VERSION) {
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
    } else if ((out->version = (uint32_t)u) != TR_BLOCK_FORMAT_VERSION) {
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
