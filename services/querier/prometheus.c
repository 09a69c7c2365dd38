/*
 * The querier.Prometheus RPC: one Prometheus HTTP API request whose
 * parameters the query-frontend has checked. Parses the PromQL and the
 * match[] selectors, reads through the store, evaluates with the PromQL
 * engine and renders the exact JSON body Prometheus would send.
 */
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "json/writer.h"
#include "promapi/response.h"
#include "promql/engine.h"
#include "promql/parser.h"
#include "promql/storage.h"
#include "querier_internal.h"
#include "rpc/rpc.h"
#include "trident/querier.pb-c.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

typedef Trident__Querier__PrometheusRequest prom_request;

/* What a handler produces: status and body. */
struct answer {
    int status;
    struct tr_buf body;
};

static void
answer_error(struct answer *a, enum tr_promapi_errtype t, const char *msg)
{
    tr_buf_reset(&a->body);
    a->status = tr_promapi_errtype_status(t);
    tr_promapi_error_body(&a->body, t, msg);
}

/* ---- match[] selectors -------------------------------------------------- */

/*
 * Parses every match[] like Prometheus's parseMatchersParam. On a bad
 * selector answers 400 with the API's message and returns non-OK.
 */
static int
parse_match_params(struct tr_arena *arena, const prom_request *r,
                   struct tr_matcher ****sets, size_t **lens, struct answer *a)
{
    struct tr_err err = {0};
    *sets = tr_arena_calloc(arena, r->n_matchers + 1, sizeof(**sets));
    *lens = tr_arena_calloc(arena, r->n_matchers + 1, sizeof(**lens));
    if (*sets == NULL || *lens == NULL) {
        answer_error(a, TR_PROMAPI_ERR_INTERNAL, "out of memory");
        return TR_ENOMEM;
    }
    struct tr_promql_node **nodes =
        tr_arena_calloc(arena, r->n_matchers + 1, sizeof(*nodes));
    for (size_t i = 0; nodes != NULL && i < r->n_matchers; i++) {
        int rc =
            tr_promql_parse_selector(r->matchers[i], strlen(r->matchers[i]),
                                     arena, &nodes[i], NULL, &err);
        if (rc != TR_OK) {
            tr_err_prefix(&err, "invalid parameter \"match[]\"");
            answer_error(a,
                         rc == TR_EINVAL ? TR_PROMAPI_ERR_BAD_DATA
                                         : TR_PROMAPI_ERR_INTERNAL,
                         err.msg);
            return rc;
        }
    }
    for (size_t i = 0; nodes != NULL && i < r->n_matchers; i++) {
        if (tr_promql_matchers_all_empty(nodes[i])) {
            answer_error(a, TR_PROMAPI_ERR_BAD_DATA,
                         "invalid parameter \"match[]\": match[] must "
                         "contain at least one non-empty matcher");
            return TR_EINVAL;
        }
    }
    for (size_t i = 0; nodes != NULL && i < r->n_matchers; i++) {
        int rc = tr_promql_selector_matchers(arena, &nodes[i]->u.vector,
                                             &(*sets)[i], &(*lens)[i], &err);
        if (rc != TR_OK) {
            tr_err_prefix(&err, "invalid parameter \"match[]\"");
            answer_error(a, tr_promapi_errtype_of_code(rc), err.msg);
            return rc;
        }
    }
    if (nodes == NULL) {
        answer_error(a, TR_PROMAPI_ERR_INTERNAL, "out of memory");
        return TR_ENOMEM;
    }
    return TR_OK;
}

/* A store failure: storage errors are "internal" in Prometheus, limits
 * "execution", deadlines "timeout". */
static void
answer_store_error(struct answer *a, int rc, const struct tr_err *err)
{
    enum tr_promapi_errtype t = tr_promapi_errtype_of_code(rc);
    if (t == TR_PROMAPI_ERR_BAD_DATA || t == TR_PROMAPI_ERR_NOT_FOUND ||
        t == TR_PROMAPI_ERR_UNAVAILABLE) {
        t = TR_PROMAPI_ERR_INTERNAL;
    }
    answer_error(a, t, err->msg);
}

/* Caps a count by the request's limit. */
static size_t
limited(const prom_request *r, size_t n)
{
    if (r->has_limit && r->limit > 0 && (uint64_t)r->limit < n) {
        return (size_t)r->limit;
    }
    return n;
}

/* ---- endpoints ---------------------------------------------------------- */

static void
do_query(struct querier *q, struct tr_arena *arena, const prom_request *r,
         struct answer *a)
{
    struct tr_err err = {0};
    struct tr_promql_engine *engine = q->engine;
    struct tr_promql_engine *own = NULL;
    if (r->lookback_delta_ms > 0 &&
        r->lookback_delta_ms != q->lookback_delta_ms) {
        struct tr_promql_engine_options o = {
            .lookback_delta_ms = r->lookback_delta_ms,
            .max_samples = q->max_samples,
            .timeout_ms = q->timeout_ms,
            .default_eval_interval_ms = q->default_eval_interval_ms,
        };
        own = engine = tr_promql_engine_create(&o);
        if (engine == NULL) {
            answer_error(a, TR_PROMAPI_ERR_INTERNAL, "out of memory");
            return;
        }
    }
    int64_t timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : q->timeout_ms;
    struct querier_store_ctx ctx = {
        .q = q,
        .tenant = r->tenant,
        .deadline_ns = tr_mono_ns() + timeout_ms * TR_NS_PER_MS,
    };
    struct tr_promql_queryable qa;
    querier_store_queryable(&ctx, &qa);
    bool range = r->endpoint ==
                 TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__QUERY_RANGE;
    struct tr_promql_query qq = {
        .text = r->query,
        .len = strlen(r->query),
        .start_ms = r->start_ms,
        .end_ms = range ? r->end_ms : r->start_ms,
        .step_ms = range ? r->step_ms : 0,
        .timeout_ms = timeout_ms,
    };
    struct tr_promql_result res;
    int64_t started = tr_mono_ns();
    int rc = tr_promql_exec(engine, &qa, arena, &qq, &res, &err);
    int64_t took = tr_mono_ns() - started;
    tr_promql_engine_destroy(own);
    if (rc != TR_OK) {
        switch (res.errtype) {
        case TR_PROMQL_ERR_BAD_DATA:
            tr_err_prefix(&err, "invalid parameter \"query\"");
            answer_error(a, TR_PROMAPI_ERR_BAD_DATA, err.msg);
            break;
        case TR_PROMQL_ERR_EXECUTION:
            answer_error(a, TR_PROMAPI_ERR_EXECUTION, err.msg);
            break;
        case TR_PROMQL_ERR_TIMEOUT:
            answer_error(a, TR_PROMAPI_ERR_TIMEOUT, err.msg);
            break;
        case TR_PROMQL_ERR_CANCELED:
            answer_error(a, TR_PROMAPI_ERR_CANCELED, err.msg);
            break;
        default:
            answer_error(a, TR_PROMAPI_ERR_INTERNAL, err.msg);
            break;
        }
        return;
    }
    struct tr_promapi_stats stats = {
        .eval_total_ns = took,
        .total_queryable_samples = res.stats.samples_read,
        .peak_samples = res.stats.peak_samples,
    };
    if (r->received_at_ns > 0) {
        int64_t queued = tr_now_ns() - took - r->received_at_ns;
        stats.queue_ns = queued > 0 ? queued : 0;
    }
    struct tr_json w;
    tr_json_init(&w, &a->body);
    tr_promapi_success_begin(&w);
    tr_promapi_write_query_data(&w, &res.value,
                                *r->stats != '\0' ? &stats : NULL);
    tr_promapi_success_end(&w, NULL, 0);
    if (tr_json_finish(&w) != TR_OK) {
        answer_error(a, TR_PROMAPI_ERR_INTERNAL,
                     "cannot encode the query result");
        return;
    }
    a->status = 200;
}

static void
do_series(struct querier *q, struct tr_arena *arena, const prom_request *r,
          struct answer *a)
{
    struct tr_matcher ***sets;
    size_t *lens;
    if (parse_match_params(arena, r, &sets, &lens, a) != TR_OK) {
        return;
    }
    struct querier_store_ctx ctx = {.q = q, .tenant = r->tenant};
    const struct tr_labels **series;
    size_t n;
    struct tr_err err = {0};
    int rc = querier_store_series(
        &ctx, arena, (struct tr_matcher * *const *)sets, lens, r->n_matchers,
        r->start_ms, r->end_ms, &series, &n, &err);
    if (rc != TR_OK) {
        answer_store_error(a, rc, &err);
        return;
    }
    n = limited(r, n);
    struct tr_json w;
    tr_json_init(&w, &a->body);
    tr_promapi_success_begin(&w);
    tr_json_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        tr_promapi_write_tr_labels(&w, series[i]);
    }
    tr_json_array_end(&w);
    tr_promapi_success_end(&w, NULL, 0);
    a->status = tr_json_finish(&w) == TR_OK ? 200 : 500;
}

static void
do_label_strings(struct querier *q, struct tr_arena *arena,
                 const prom_request *r, const char *name, struct answer *a)
{
    struct tr_matcher ***sets;
    size_t *lens;
    if (parse_match_params(arena, r, &sets, &lens, a) != TR_OK) {
        return;
    }
    struct querier_store_ctx ctx = {.q = q, .tenant = r->tenant};
    const char **strs;
    size_t n;
    struct tr_err err = {0};
    int rc = querier_store_label_strings(
        &ctx, arena, name, (struct tr_matcher * *const *)sets, lens,
        r->n_matchers, r->start_ms, r->end_ms, &strs, &n, &err);
    if (rc != TR_OK) {
        answer_store_error(a, rc, &err);
        return;
    }
    n = limited(r, n);
    struct tr_json w;
    tr_json_init(&w, &a->body);
    tr_promapi_success_begin(&w);
    tr_json_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        tr_promapi_write_string(&w, strs[i], strlen(strs[i]));
    }
    tr_json_array_end(&w);
    tr_promapi_success_end(&w, NULL, 0);
    a->status = tr_json_finish(&w) == TR_OK ? 200 : 500;
}

static void
do_metadata(struct querier *q, struct tr_arena *arena, const prom_request *r,
            struct answer *a)
{
    struct querier_store_ctx ctx = {.q = q, .tenant = r->tenant};
    struct querier_metadata *md;
    size_t n;
    struct tr_err err = {0};
    int rc = querier_store_metadata(
        &ctx, arena, *r->metric != '\0' ? r->metric : NULL, &md, &n, &err);
    if (rc != TR_OK) {
        answer_store_error(a, rc, &err);
        return;
    }
    /* Prometheus: limit caps the metrics (a negative one means none),
     * limit_per_metric the entries of each. */
    int64_t max_metrics = r->has_limit && r->limit >= 0 ? r->limit : -1;
    struct tr_json w;
    tr_json_init(&w, &a->body);
    tr_promapi_success_begin(&w);
    tr_json_object_begin(&w);
    int64_t metrics = 0;
    for (size_t i = 0; i < n;) {
        if (max_metrics >= 0 && metrics >= max_metrics) {
            break;
        }
        size_t j = i;
        tr_json_key(&w, md[i].metric);
        tr_json_array_begin(&w);
        int64_t entries = 0;
        for (; j < n && strcmp(md[j].metric, md[i].metric) == 0; j++) {
            if (r->limit_per_metric > 0 && entries >= r->limit_per_metric) {
                continue;
            }
            tr_json_object_begin(&w);
            tr_json_key(&w, "type");
            tr_json_string(&w, md[j].type);
            tr_json_key(&w, "help");
            tr_promapi_write_string(&w, md[j].help, strlen(md[j].help));
            tr_json_key(&w, "unit");
            tr_promapi_write_string(&w, md[j].unit, strlen(md[j].unit));
            tr_json_object_end(&w);
            entries++;
        }
        tr_json_array_end(&w);
        metrics++;
        i = j;
    }
    tr_json_object_end(&w);
    tr_promapi_success_end(&w, NULL, 0);
    a->status = tr_json_finish(&w) == TR_OK ? 200 : 500;
}

struct selectors {
    const struct tr_promql_node **nodes;
    size_t n;
    size_t cap;
    struct tr_arena *arena;
};

static int
collect_selector(struct tr_promql_node *node, const struct tr_promql_path *path,
                 void *arg)
{
    struct selectors *s = arg;
    if (node->kind != TR_PROMQL_VECTOR) {
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const struct tr_promql_node **p =
            tr_arena_alloc(s->arena, cap * sizeof(*p));
        if (p == NULL) {
            return TR_ENOMEM;
        }
        if (s->n > 0) {
            memcpy(p, s->nodes, s->n * sizeof(*p));
        }
        s->nodes = p;
        s->cap = cap;
    }
    s->nodes[s->n++] = node;
    return 0;
}

static void
do_exemplars(struct querier *q, struct tr_arena *arena, const prom_request *r,
             struct answer *a)
{
    struct tr_err err = {0};
    struct tr_promql_node *expr;
    int rc =
        tr_promql_parse(r->query, strlen(r->query), arena, &expr, NULL, &err);
    if (rc != TR_OK) {
        /* Prometheus answers this one without "invalid parameter". */
        answer_error(a, tr_promapi_errtype_of_code(rc), err.msg);
        return;
    }
    struct selectors sel = {.arena = arena};
    if (tr_promql_walk(expr, collect_selector, &sel) != TR_OK) {
        answer_error(a, TR_PROMAPI_ERR_INTERNAL, "out of memory");
        return;
    }
    struct tr_json w;
    tr_json_init(&w, &a->body);
    if (sel.n == 0) {
        /* No selector, no data: Prometheus answers 204 No Content. */
        a->status = 204;
        return;
    }
    struct tr_matcher ***sets = tr_arena_calloc(arena, sel.n, sizeof(*sets));
    size_t *lens = tr_arena_calloc(arena, sel.n, sizeof(*lens));
    if (sets == NULL || lens == NULL) {
        answer_error(a, TR_PROMAPI_ERR_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < sel.n; i++) {
        rc = tr_promql_selector_matchers(arena, &sel.nodes[i]->u.vector,
                                         &sets[i], &lens[i], &err);
        if (rc != TR_OK) {
            answer_error(a, tr_promapi_errtype_of_code(rc), err.msg);
            return;
        }
    }
    struct querier_store_ctx ctx = {.q = q, .tenant = r->tenant};
    struct querier_series_exemplars *ex;
    size_t n;
    rc = querier_store_exemplars(&ctx, arena,
                                 (struct tr_matcher * *const *)sets, lens,
                                 sel.n, r->start_ms, r->end_ms, &ex, &n, &err);
    if (rc != TR_OK) {
        answer_store_error(a, rc, &err);
        return;
    }
    tr_promapi_success_begin(&w);
    tr_json_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        tr_json_object_begin(&w);
        tr_json_key(&w, "seriesLabels");
        tr_promapi_write_tr_labels(&w, ex[i].series);
        tr_json_key(&w, "exemplars");
        tr_json_array_begin(&w);
        for (size_t k = 0; k < ex[i].n; k++) {
            tr_json_object_begin(&w);
            tr_json_key(&w, "labels");
            tr_promapi_write_tr_labels(&w, ex[i].exemplars[k].labels);
            tr_json_key(&w, "value");
            tr_json_prom_value(&w, ex[i].exemplars[k].value);
            tr_json_key(&w, "timestamp");
            tr_json_unix_ms(&w, ex[i].exemplars[k].t_ms);
            tr_json_object_end(&w);
        }
        tr_json_array_end(&w);
        tr_json_object_end(&w);
    }
    tr_json_array_end(&w);
    tr_promapi_success_end(&w, NULL, 0);
    a->status = tr_json_finish(&w) == TR_OK ? 200 : 500;
}

/* ---- the RPC ------------------------------------------------------------ */

void
querier_prometheus_handle(struct tr_rpc_call *call,
                          const struct tr_rpc_request *req, void *arg)
{
    struct querier *q = arg;
    ProtobufCAllocator alloc;
    tr_arena_pb_allocator(req->arena, &alloc);
    prom_request *r = trident__querier__prometheus_request__unpack(
        &alloc, req->len, req->payload);
    if (r == NULL) {
        tr_rpc_call_fail(call, TR_EINVAL,
                         "cannot decode querier.Prometheus request");
        return;
    }
    /* A query's memory: parse tree, samples, values. */
    struct tr_arena *arena = querier_arena_get(q);
    if (arena == NULL) {
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        return;
    }
    struct answer a = {.status = 500, .body = TR_BUF_INIT};
    switch (r->endpoint) {
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__QUERY:
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__QUERY_RANGE:
        do_query(q, arena, r, &a);
        break;
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__SERIES:
        do_series(q, arena, r, &a);
        break;
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__LABELS:
        do_label_strings(q, arena, r, NULL, &a);
        break;
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__LABEL_VALUES:
        do_label_strings(q, arena, r, r->label_name, &a);
        break;
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__METADATA:
        do_metadata(q, arena, r, &a);
        break;
    case TRIDENT__QUERIER__PROMETHEUS_REQUEST__ENDPOINT__EXEMPLARS:
        do_exemplars(q, arena, r, &a);
        break;
    default:
        answer_error(&a, TR_PROMAPI_ERR_BAD_DATA, "unknown endpoint");
        break;
    }
    if (a.status >= 500 && a.status != 503) {
        tr_log_warn("query failed", "tenant=%s status=%d", r->tenant, a.status);
    }
    querier_arena_put(q, arena);

    Trident__Querier__PrometheusResponse resp =
        TRIDENT__QUERIER__PROMETHEUS_RESPONSE__INIT;
    resp.status = a.status;
    resp.body.data = (uint8_t *)a.body.data;
    resp.body.len = a.body.len;
    size_t len = trident__querier__prometheus_response__get_packed_size(&resp);
    uint8_t *out = tr_malloc(len > 0 ? len : 1);
    if (out == NULL) {
        tr_buf_fini(&a.body);
        tr_rpc_call_fail(call, TR_ENOMEM, "out of memory");
        return;
    }
    trident__querier__prometheus_response__pack(&resp, out);
    tr_buf_fini(&a.body);
    tr_rpc_call_reply_take(call, out, len);
}
