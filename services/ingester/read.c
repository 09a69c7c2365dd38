/*
 * The read RPCs the querier calls: SelectMetrics (streamed batches of
 * series with their Gorilla chunks, the open head chunk included),
 * LabelNames, LabelValues, Metadata and Exemplars. A tenant the ingester
 * has never seen simply has no data. A request with start_ms and end_ms
 * both 0 covers all time.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/mem.h"
#include "ingester_internal.h"
#include "metrics/registry.h"
#include "rpc/rpc.h"
#include "tsdb/head.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

/* A select answer is cut into messages of at most this many series or
 * about this many bytes. */
#define SELECT_BATCH_SERIES 256
#define SELECT_BATCH_BYTES (1024 * 1024)

struct matchers {
    struct tr_matcher **m;
    size_t n;
};

static void
matchers_fini(struct matchers *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        tr_matcher_destroy(ms->m[i]);
    }
    tr_free(ms->m);
}

static int
matchers_build(Trident__Ingester__LabelMatcher **in, size_t n,
               struct matchers *out, struct tr_err *err)
{
    out->m = tr_calloc(n + 1, sizeof(*out->m));
    out->n = 0;
    if (out->m == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        enum tr_match_type type;
        switch (in[i]->type) {
        case TRIDENT__INGESTER__LABEL_MATCHER__TYPE__EQ:
            type = TR_MATCH_EQUAL;
            break;
        case TRIDENT__INGESTER__LABEL_MATCHER__TYPE__NEQ:
            type = TR_MATCH_NOT_EQUAL;
            break;
        case TRIDENT__INGESTER__LABEL_MATCHER__TYPE__RE:
            type = TR_MATCH_REGEX;
            break;
        case TRIDENT__INGESTER__LABEL_MATCHER__TYPE__NRE:
            type = TR_MATCH_NOT_REGEX;
            break;
        default:
            return tr_err_set(err, TR_EINVAL,
                              "cannot build matcher: unknown type %d",
                              (int)in[i]->type);
        }
        struct tr_matcher *m =
            tr_matcher_create(type, in[i]->name, strlen(in[i]->name),
                              in[i]->value, strlen(in[i]->value), err);
        if (m == NULL) {
            return err != NULL ? err->code : TR_EINVAL;
        }
        out->m[out->n++] = m;
    }
    return TR_OK;
}

static void
time_range(int64_t start, int64_t end, int64_t *mint, int64_t *maxt)
{
    if (start == 0 && end == 0) {
        *mint = INT64_MIN;
        *maxt = INT64_MAX;
    } else {
        *mint = start;
        *maxt = end;
    }
}

static bool
check_ready(struct ingester *ing, struct tr_rpc_call *call)
{
    if (!atomic_load(&ing->ready)) {
        tr_rpc_call_fail(call, TR_EUNAVAIL,
                         "ingester not ready: replaying WAL");
        return false;
    }
    return true;
}

/* Packs msg with its descriptor's pack function and replies (unary). */
#define REPLY_PACKED(call, prefix, msg)                                        \
    do {                                                                       \
        size_t len_ = prefix##__get_packed_size(msg);                          \
        uint8_t *out_ = tr_malloc(len_ > 0 ? len_ : 1);                        \
        if (out_ == NULL) {                                                    \
            tr_rpc_call_fail((call), TR_ENOMEM, "out of memory");              \
        } else {                                                               \
            prefix##__pack((msg), out_);                                       \
            tr_rpc_call_reply_take((call), out_, len_);                        \
        }                                                                      \
    } while (0)

/* The labels of ls as protobuf labels in arena. */
static Prometheus__Label **
labels_to_pb(struct tr_arena *a, const struct tr_labels *ls, size_t *n)
{
    size_t count = tr_labels_count(ls);
    Prometheus__Label **out = tr_arena_alloc(a, (count + 1) * sizeof(*out));
    Prometheus__Label *ls_pb = tr_arena_alloc(a, (count + 1) * sizeof(*ls_pb));
    if (out == NULL || ls_pb == NULL) {
        return NULL;
    }
    struct tr_labels_iter it;
    struct tr_label l;
    size_t i = 0;
    tr_labels_iter_init(&it, ls);
    while (tr_labels_iter_next(&it, &l)) {
        prometheus__label__init(&ls_pb[i]);
        ls_pb[i].name = tr_arena_strndup(a, l.name, l.name_len);
        ls_pb[i].value = tr_arena_strndup(a, l.value, l.value_len);
        if (ls_pb[i].name == NULL || ls_pb[i].value == NULL) {
            return NULL;
        }
        out[i] = &ls_pb[i];
        i++;
    }
    *n = i;
    return out;
}

/* ---- SelectMetrics ---------------------------------------------------- */

struct batch {
    struct tr_arena *arena;
    Trident__Ingester__SeriesChunks *series[SELECT_BATCH_SERIES];
    size_t n;
    size_t bytes;
};

static int
batch_flush(struct tr_rpc_call *call, struct batch *b)
{
    if (b->n == 0) {
        return TR_OK;
    }
    Trident__Ingester__SelectMetricsResponse resp =
        TRIDENT__INGESTER__SELECT_METRICS_RESPONSE__INIT;
    resp.series = b->series;
    resp.n_series = b->n;
    size_t len =
        trident__ingester__select_metrics_response__get_packed_size(&resp);
    uint8_t *out = tr_malloc(len > 0 ? len : 1);
    if (out == NULL) {
        return TR_ENOMEM;
    }
    trident__ingester__select_metrics_response__pack(&resp, out);
    b->n = 0;
    b->bytes = 0;
    tr_arena_reset(b->arena);
    return tr_rpc_call_send_take(call, out, len);
}

static void
handle_select(struct tr_rpc_call *call, const struct tr_rpc_request *rreq,
              void *arg)
{
    struct ingester *ing = arg;
    if (!check_ready(ing, call)) {
        return;
    }
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(rreq->arena, &alloc);
    Trident__Ingester__SelectMetricsRequest *req =
        trident__ingester__select_metrics_request__unpack(&alloc, rreq->len,
                                                          rreq->payload);
    if (req == NULL) {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot decode ingester.SelectMetrics request");
        return;
    }
    struct tr_err err;
    tr_err_clear(&err);
    struct matchers ms = {0};
    struct tr_series_list list = {0};
    struct tr_series_chunks sc = {0};
    struct batch b = {0};
    int rc = matchers_build(req->matchers, req->n_matchers, &ms, &err);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
        goto done;
    }
    struct ingester_tenant *t = ingester_tenant_find(ing, req->tenant);
    if (t == NULL) {
        tr_rpc_call_end(call);
        goto done;
    }
    int64_t mint, maxt;
    time_range(req->start_ms, req->end_ms, &mint, &maxt);
    /* What the querier reads from blocks need not be sent again. */
    int64_t cover = ingester_uploaded_cover(t, mint, req->known_blocks,
                                            req->n_known_blocks);
    if (cover > mint) {
        mint = cover;
        tr_counter_inc(ing->selects_narrowed);
    }
    rc = mint > maxt
             ? TR_OK
             : tr_head_select(t->head, ms.m, ms.n, mint, maxt, &list, &err);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
        goto done;
    }
    b.arena = tr_arena_create(256 * 1024);
    if (b.arena == NULL) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < list.len; i++) {
        if (tr_rpc_call_canceled(call)) {
            goto done; /* the caller is gone: finishing is optional */
        }
        struct tr_series *s = list.series[i];
        Trident__Ingester__SeriesChunks *out =
            tr_arena_alloc(b.arena, sizeof(*out));
        if (out == NULL) {
            goto nomem;
        }
        trident__ingester__series_chunks__init(out);
        out->labels =
            labels_to_pb(b.arena, tr_series_labels(s), &out->n_labels);
        if (out->labels == NULL) {
            goto nomem;
        }
        if (!req->labels_only) {
            if (tr_head_read(t->head, s, mint, maxt, &sc, &err) != TR_OK) {
                goto nomem;
            }
            out->chunks =
                tr_arena_alloc(b.arena, (sc.len + 1) * sizeof(*out->chunks));
            Trident__Ingester__Chunk *chunks =
                tr_arena_alloc(b.arena, (sc.len + 1) * sizeof(*chunks));
            if (out->chunks == NULL || chunks == NULL) {
                goto nomem;
            }
            for (size_t k = 0; k < sc.len; k++) {
                trident__ingester__chunk__init(&chunks[k]);
                chunks[k].min_time_ms = sc.chunks[k].min_t;
                chunks[k].max_time_ms = sc.chunks[k].max_t;
                chunks[k].data.len = sc.chunks[k].len;
                chunks[k].data.data =
                    tr_arena_alloc(b.arena, sc.chunks[k].len + 1);
                if (chunks[k].data.data == NULL) {
                    goto nomem;
                }
                memcpy(chunks[k].data.data, sc.bytes.data + sc.chunks[k].off,
                       sc.chunks[k].len);
                out->chunks[k] = &chunks[k];
                b.bytes += sc.chunks[k].len;
            }
            out->n_chunks = sc.len;
        }
        b.series[b.n++] = out;
        b.bytes += 64;
        if (b.n == SELECT_BATCH_SERIES || b.bytes >= SELECT_BATCH_BYTES) {
            if (batch_flush(call, &b) != TR_OK) {
                goto done; /* canceled, timed out or out of memory */
            }
        }
    }
    if (batch_flush(call, &b) == TR_OK) {
        tr_rpc_call_end(call);
    }
    goto done;
nomem:
    tr_rpc_call_fail(call, TR_ENOMEM, "cannot select series: out of memory");
done:
    tr_arena_destroy(b.arena);
    tr_series_chunks_fini(&sc);
    tr_series_list_fini(&list);
    matchers_fini(&ms);
}

/* ---- LabelNames / LabelValues ------------------------------------------ */

static char **
strs_to_cstrs(struct tr_arena *a, const struct tr_tsdb_str *strs, size_t n)
{
    char **out = tr_arena_alloc(a, (n + 1) * sizeof(*out));
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = tr_arena_strndup(a, strs[i].ptr, strs[i].len);
        if (out[i] == NULL) {
            return NULL;
        }
    }
    return out;
}

/*
 * The label names (name == NULL) or the values of label `name` of tenant's
 * series matching the matchers in [start_ms, end_ms], as C strings in the
 * call's arena. An unknown tenant has none. On failure the call is failed
 * and the result is non-OK.
 */
static int
label_query(struct ingester *ing, struct tr_rpc_call *call,
            struct tr_arena *arena, const char *tenant, const char *name,
            Trident__Ingester__LabelMatcher **pm, size_t n_pm,
            int64_t start_ms, int64_t end_ms, char ***out, size_t *count)
{
    struct tr_err err;
    tr_err_clear(&err);
    struct matchers ms = {0};
    *out = NULL;
    *count = 0;
    int rc = matchers_build(pm, n_pm, &ms, &err);
    struct ingester_tenant *t = ingester_tenant_find(ing, tenant);
    if (rc == TR_OK && t != NULL) {
        int64_t mint, maxt;
        time_range(start_ms, end_ms, &mint, &maxt);
        struct tr_tsdb_str *strs = NULL;
        size_t n = 0;
        rc = name == NULL
                 ? tr_head_label_names(t->head, ms.m, ms.n, mint, maxt, arena,
                                       &strs, &n, &err)
                 : tr_head_label_values(t->head, name, strlen(name), ms.m,
                                        ms.n, mint, maxt, arena, &strs, &n,
                                        &err);
        if (rc == TR_OK) {
            *out = strs_to_cstrs(arena, strs, n);
            *count = n;
            if (*out == NULL) {
                rc = tr_err_set(&err, TR_ENOMEM, "out of memory");
            }
        }
    }
    matchers_fini(&ms);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
    }
    return rc;
}

static void
handle_label_names(struct tr_rpc_call *call, const struct tr_rpc_request *rreq,
                   void *arg)
{
    struct ingester *ing = arg;
    if (!check_ready(ing, call)) {
        return;
    }
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(rreq->arena, &alloc);
    Trident__Ingester__LabelNamesRequest *req =
        trident__ingester__label_names_request__unpack(&alloc, rreq->len,
                                                       rreq->payload);
    if (req == NULL) {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot decode ingester.LabelNames request");
        return;
    }
    Trident__Ingester__LabelNamesResponse resp =
        TRIDENT__INGESTER__LABEL_NAMES_RESPONSE__INIT;
    if (label_query(ing, call, rreq->arena, req->tenant, NULL, req->matchers,
                    req->n_matchers, req->start_ms, req->end_ms, &resp.names,
                    &resp.n_names) != TR_OK) {
        return;
    }
    REPLY_PACKED(call, trident__ingester__label_names_response, &resp);
}

static void
handle_label_values(struct tr_rpc_call *call, const struct tr_rpc_request *rreq,
                    void *arg)
{
    struct ingester *ing = arg;
    if (!check_ready(ing, call)) {
        return;
    }
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(rreq->arena, &alloc);
    Trident__Ingester__LabelValuesRequest *req =
        trident__ingester__label_values_request__unpack(&alloc, rreq->len,
                                                        rreq->payload);
    if (req == NULL) {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot decode ingester.LabelValues request");
        return;
    }
    Trident__Ingester__LabelValuesResponse resp =
        TRIDENT__INGESTER__LABEL_VALUES_RESPONSE__INIT;
    if (label_query(ing, call, rreq->arena, req->tenant, req->name,
                    req->matchers, req->n_matchers, req->start_ms, req->end_ms,
                    &resp.values, &resp.n_values) != TR_OK) {
        return;
    }
    REPLY_PACKED(call, trident__ingester__label_values_response, &resp);
}

/* ---- Metadata ---------------------------------------------------------- */

static void
handle_metadata(struct tr_rpc_call *call, const struct tr_rpc_request *rreq,
                void *arg)
{
    struct ingester *ing = arg;
    if (!check_ready(ing, call)) {
        return;
    }
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(rreq->arena, &alloc);
    Trident__Ingester__MetadataRequest *req =
        trident__ingester__metadata_request__unpack(&alloc, rreq->len,
                                                    rreq->payload);
    if (req == NULL) {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot decode ingester.Metadata request");
        return;
    }
    Trident__Ingester__MetadataResponse resp =
        TRIDENT__INGESTER__METADATA_RESPONSE__INIT;
    struct ingester_tenant *t = ingester_tenant_find(ing, req->tenant);
    struct tr_arena *a = rreq->arena;
    bool nomem = false;
    if (t != NULL) {
        pthread_mutex_lock(&t->lock);
        resp.metadata =
            tr_arena_alloc(a, (t->nmeta + 1) * sizeof(*resp.metadata));
        nomem = resp.metadata == NULL;
        for (size_t i = 0; i < t->nmeta && !nomem; i++) {
            const struct ingester_metadata *e = &t->meta[i];
            if (*req->metric != '\0' && strcmp(req->metric, e->family) != 0) {
                continue;
            }
            if (req->limit > 0 && resp.n_metadata >= (size_t)req->limit) {
                break;
            }
            Prometheus__MetricMetadata *m = tr_arena_alloc(a, sizeof(*m));
            if (m == NULL) {
                nomem = true;
                break;
            }
            prometheus__metric_metadata__init(m);
            m->type = (Prometheus__MetricMetadata__MetricType)e->type;
            m->metric_family_name =
                tr_arena_strndup(a, e->family, strlen(e->family));
            m->help = tr_arena_strndup(a, e->help, strlen(e->help));
            m->unit = tr_arena_strndup(a, e->unit, strlen(e->unit));
            nomem = m->metric_family_name == NULL || m->help == NULL ||
                    m->unit == NULL;
            resp.metadata[resp.n_metadata++] = m;
        }
        pthread_mutex_unlock(&t->lock);
    }
    if (nomem) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        return;
    }
    REPLY_PACKED(call, trident__ingester__metadata_response, &resp);
}

/* ---- Exemplars --------------------------------------------------------- */

struct ex_ref {
    const struct ingester_exemplar *e;
};

static int
ex_ref_cmp(const void *a, const void *b)
{
    const struct ingester_exemplar *x = ((const struct ex_ref *)a)->e;
    const struct ingester_exemplar *y = ((const struct ex_ref *)b)->e;
    int c = tr_labels_compare(x->series, y->series);
    if (c != 0) {
        return c;
    }
    return x->t < y->t ? -1 : x->t > y->t;
}

/* 1 when the series matches every matcher, 0 when not, <0 on error. */
static int
series_matches(const struct tr_labels *ls, const struct matchers *ms,
               struct tr_err *err)
{
    for (size_t i = 0; i < ms->n; i++) {
        size_t nlen;
        const char *name = tr_matcher_name(ms->m[i], &nlen);
        const char *v = "";
        size_t vlen = 0;
        tr_labels_get(ls, name, nlen, &v, &vlen);
        int rc = tr_matcher_match(ms->m[i], v, vlen, err);
        if (rc <= 0) {
            return rc;
        }
    }
    return 1;
}

static int
build_exemplars(struct ingester_tenant *t, const struct matchers *ms,
                int64_t mint, int64_t maxt, struct tr_arena *a,
                Trident__Ingester__ExemplarsResponse *resp, struct tr_err *err)
{
    struct ex_ref *refs = tr_malloc((t->ex_len + 1) * sizeof(*refs));
    if (refs == NULL) {
        return tr_err_set(err, TR_ENOMEM, "out of memory");
    }
    size_t n = 0;
    int rc = TR_OK;
    const struct tr_labels *last = NULL;
    int last_match = 0;
    for (size_t i = 0; i < t->ex_len; i++) {
        const struct ingester_exemplar *e =
            &t->ex[(t->ex_start + i) % t->cap_ex];
        if (e->t < mint || e->t > maxt) {
            continue;
        }
        if (e->series != last) {
            last = e->series;
            last_match = series_matches(e->series, ms, err);
            if (last_match < 0) {
                rc = last_match;
                goto out;
            }
        }
        if (last_match) {
            refs[n++].e = e;
        }
    }
    qsort(refs, n, sizeof(*refs), ex_ref_cmp);
    resp->series = tr_arena_alloc(a, (n + 1) * sizeof(*resp->series));
    if (resp->series == NULL) {
        rc = tr_err_set(err, TR_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && tr_labels_equal(refs[j].e->series, refs[i].e->series)) {
            j++;
        }
        Trident__Ingester__SeriesExemplars *se = tr_arena_alloc(a, sizeof(*se));
        Prometheus__Exemplar **exs =
            tr_arena_alloc(a, (j - i + 1) * sizeof(*exs));
        if (se == NULL || exs == NULL) {
            rc = tr_err_set(err, TR_ENOMEM, "out of memory");
            goto out;
        }
        trident__ingester__series_exemplars__init(se);
        se->labels = labels_to_pb(a, refs[i].e->series, &se->n_labels);
        se->exemplars = exs;
        for (size_t k = i; k < j; k++) {
            Prometheus__Exemplar *ex = tr_arena_alloc(a, sizeof(*ex));
            if (ex == NULL || se->labels == NULL) {
                rc = tr_err_set(err, TR_ENOMEM, "out of memory");
                goto out;
            }
            prometheus__exemplar__init(ex);
            ex->labels = labels_to_pb(a, refs[k].e->labels, &ex->n_labels);
            ex->value = refs[k].e->value;
            ex->timestamp = refs[k].e->t;
            if (ex->labels == NULL) {
                rc = tr_err_set(err, TR_ENOMEM, "out of memory");
                goto out;
            }
            exs[se->n_exemplars++] = ex;
        }
        resp->series[resp->n_series++] = se;
        i = j;
    }
out:
    tr_free(refs);
    return rc;
}

static void
handle_exemplars(struct tr_rpc_call *call, const struct tr_rpc_request *rreq,
                 void *arg)
{
    struct ingester *ing = arg;
    if (!check_ready(ing, call)) {
        return;
    }
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(rreq->arena, &alloc);
    Trident__Ingester__ExemplarsRequest *req =
        trident__ingester__exemplars_request__unpack(&alloc, rreq->len,
                                                     rreq->payload);
    if (req == NULL) {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot decode ingester.Exemplars request");
        return;
    }
    struct tr_err err;
    tr_err_clear(&err);
    struct matchers ms = {0};
    Trident__Ingester__ExemplarsResponse resp =
        TRIDENT__INGESTER__EXEMPLARS_RESPONSE__INIT;
    int rc = matchers_build(req->matchers, req->n_matchers, &ms, &err);
    struct ingester_tenant *t = ingester_tenant_find(ing, req->tenant);
    if (rc == TR_OK && t != NULL) {
        int64_t mint, maxt;
        time_range(req->start_ms, req->end_ms, &mint, &maxt);
        pthread_mutex_lock(&t->lock);
        rc = build_exemplars(t, &ms, mint, maxt, rreq->arena, &resp, &err);
        pthread_mutex_unlock(&t->lock);
    }
    matchers_fini(&ms);
    if (rc != TR_OK) {
        tr_rpc_call_fail(call, rc, "%s", err.msg);
        return;
    }
    REPLY_PACKED(call, trident__ingester__exemplars_response, &resp);
}

int
ingester_read_register(struct ingester *ing, struct tr_rpc_server *s,
                       struct tr_err *err)
{
    if (tr_rpc_server_handle(s, "ingester.SelectMetrics", handle_select, ing,
                             err) != TR_OK ||
        tr_rpc_server_handle(s, "ingester.LabelNames", handle_label_names, ing,
                             err) != TR_OK ||
        tr_rpc_server_handle(s, "ingester.LabelValues", handle_label_values,
                             ing, err) != TR_OK ||
        tr_rpc_server_handle(s, "ingester.Metadata", handle_metadata, ing,
                             err) != TR_OK ||
        tr_rpc_server_handle(s, "ingester.Exemplars", handle_exemplars, ing,
                             err) != TR_OK) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    return TR_OK;
}
