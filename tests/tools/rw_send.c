/*
 * tr-rw-send: a Prometheus remote-write 1.0 client for tests.
 *
 * Send series described in text (labels are taken exactly as written, in
 * the given order, so invalid ones can be sent on purpose):
 *
 *   tr-rw-send [-H 'Name: value']... [-no-encoding-header] [-content-type T]
 *              URL < description
 *
 *   {__name__="up", job="a"} 1 now 2 now+1s      a series with samples
 *   # exemplar {trace_id="abc"} 1.5 now          exemplar of the last series
 *   # histogram now                              native histogram sample
 *   # metadata counter up_total Help text        metric metadata
 *
 * Timestamps are milliseconds or now, now-<duration>, now+<duration>.
 * Prints the HTTP status on the first line, then the response body.
 *
 * Stream acknowledged batches (crash test, throughput):
 *
 *   tr-rw-send -stream BATCHES SERIES SAMPLES [-threads N] [-ack FILE]
 *              [-metric NAME] URL
 *
 * Batch b holds SAMPLES consecutive samples of each of SERIES series
 * NAME{series="<i>"} with values b*SAMPLES+k at timestamps start+value*1ms
 * (start = launch time - 1h); after each 2xx answer the batch number is
 * appended to FILE (fsynced), so a test knows what was acknowledged.
 * Batches are sent in order per thread (thread t sends b = t, t+N, ...)
 * and every series' samples stay in time order within a thread only, so
 * with -threads > 1 each thread uses its own series (name suffix _t<t>).
 * Prints samples/s at the end.
 *
 * Read back through the ingester RPC (no querier needed):
 *
 *   tr-rw-send -select RPC_ENDPOINT TENANT METRIC
 *
 * prints "series=<n> samples=<total>" then one line per series:
 * "<labels> <count> <first t> <last t> <last value>".
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "http/encoding.h"
#include "prometheus/remote.pb-c.h"
#include "rpc/rpc.h"
#include "trident/ingester.pb-c.h"
#include "tsdb/chunk.h"

static void
die(const char *fmt, const char *arg)
{
    fprintf(stderr, "tr-rw-send: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

/* ---- text description ----------------------------------------------- */

static int64_t now_ms;

static int64_t
parse_time(const char *s)
{
    if (strncmp(s, "now", 3) == 0) {
        if (s[3] == '\0') {
            return now_ms;
        }
        int64_t ns;
        if ((s[3] != '-' && s[3] != '+') ||
            tr_duration_parse(s + 4, &ns, NULL) != TR_OK) {
            die("bad timestamp \"%s\"", s);
        }
        return s[3] == '-' ? now_ms - ns / TR_NS_PER_MS
                           : now_ms + ns / TR_NS_PER_MS;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0') {
        die("bad timestamp \"%s\"", s);
    }
    return v;
}

/* Reads a double-quoted string at *p (escapes \" \\ \n \xHH) into arena. */
static char *
parse_quoted(struct tr_arena *a, const char **p)
{
    const char *s = *p;
    if (*s != '"') {
        die("expected '\"' at \"%s\"", s);
    }
    s++;
    struct tr_buf b = TR_BUF_INIT;
    while (*s != '"') {
        if (*s == '\0') {
            die("unterminated string in \"%s\"", *p);
        }
        if (*s == '\\') {
            s++;
            if (*s == 'n') {
                tr_buf_append_byte(&b, '\n');
            } else if (*s == 'x') {
                char hex[3] = {s[1], s[2], 0};
                tr_buf_append_byte(&b, (char)strtol(hex, NULL, 16));
                s += 2;
            } else {
                tr_buf_append_byte(&b, *s);
            }
            s++;
            continue;
        }
        tr_buf_append_byte(&b, *s++);
    }
    *p = s + 1;
    char *out = tr_arena_strndup(a, b.data ? b.data : "", b.len);
    tr_buf_fini(&b);
    return out;
}

/* {name="value", ...} -> labels (as written, in order). */
static Prometheus__Label **
parse_labels(struct tr_arena *a, const char **p, size_t *n)
{
    const char *s = *p;
    while (*s == ' ') {
        s++;
    }
    if (*s != '{') {
        die("expected '{' at \"%s\"", s);
    }
    s++;
    Prometheus__Label **out = tr_arena_calloc(a, 256, sizeof(*out));
    *n = 0;
    while (1) {
        while (*s == ' ' || *s == ',') {
            s++;
        }
        if (*s == '}') {
            s++;
            break;
        }
        const char *eq = strchr(s, '=');
        if (eq == NULL || *n == 256) {
            die("bad label at \"%s\"", s);
        }
        Prometheus__Label *l = tr_arena_calloc(a, 1, sizeof(*l));
        prometheus__label__init(l);
        l->name = tr_arena_strndup(a, s, (size_t)(eq - s));
        s = eq + 1;
        l->value = parse_quoted(a, &s);
        out[(*n)++] = l;
    }
    *p = s;
    return out;
}

struct builder {
    struct tr_arena *a;
    Prometheus__WriteRequest req;
    size_t cap_ts;
    size_t cap_md;
};

static Prometheus__TimeSeries *
last_series(struct builder *b)
{
    if (b->req.n_timeseries == 0) {
        die("%s", "exemplar or histogram before any series");
    }
    return b->req.timeseries[b->req.n_timeseries - 1];
}

static void
parse_line(struct builder *b, char *line)
{
    struct tr_arena *a = b->a;
    line[strcspn(line, "\n")] = '\0';
    if (*line == '\0') {
        return;
    }
    if (strncmp(line, "# exemplar ", 11) == 0) {
        const char *p = line + 11;
        Prometheus__Exemplar *ex = tr_arena_calloc(a, 1, sizeof(*ex));
        prometheus__exemplar__init(ex);
        ex->labels = parse_labels(a, &p, &ex->n_labels);
        char v[64], t[64];
        if (sscanf(p, "%63s %63s", v, t) != 2) {
            die("bad exemplar \"%s\"", line);
        }
        ex->value = strtod(v, NULL);
        ex->timestamp = parse_time(t);
        Prometheus__TimeSeries *ts = last_series(b);
        Prometheus__Exemplar **list =
            tr_arena_calloc(a, ts->n_exemplars + 1, sizeof(*list));
        if (ts->n_exemplars > 0) {
            memcpy(list, ts->exemplars, ts->n_exemplars * sizeof(*list));
        }
        list[ts->n_exemplars++] = ex;
        ts->exemplars = list;
        return;
    }
    if (strncmp(line, "# histogram ", 12) == 0) {
        Prometheus__Histogram *h = tr_arena_calloc(a, 1, sizeof(*h));
        prometheus__histogram__init(h);
        h->count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
        h->count_int = 1;
        h->sum = 1;
        h->timestamp = parse_time(line + 12);
        Prometheus__TimeSeries *ts = last_series(b);
        Prometheus__Histogram **list =
            tr_arena_calloc(a, ts->n_histograms + 1, sizeof(*list));
        if (ts->n_histograms > 0) {
            memcpy(list, ts->histograms, ts->n_histograms * sizeof(*list));
        }
        list[ts->n_histograms++] = h;
        ts->histograms = list;
        return;
    }
    if (strncmp(line, "# metadata ", 11) == 0) {
        char type[32], name[256];
        int off = 0;
        if (sscanf(line + 11, "%31s %255s %n", type, name, &off) < 2) {
            die("bad metadata \"%s\"", line);
        }
        Prometheus__MetricMetadata *m = tr_arena_calloc(a, 1, sizeof(*m));
        prometheus__metric_metadata__init(m);
        m->type = strcmp(type, "counter") == 0     ? 1
                  : strcmp(type, "gauge") == 0     ? 2
                  : strcmp(type, "histogram") == 0 ? 3
                  : strcmp(type, "summary") == 0   ? 5
                                                   : 0;
        m->metric_family_name = tr_arena_strndup(a, name, strlen(name));
        const char *help = line + 11 + off;
        m->help = tr_arena_strndup(a, help, strlen(help));
        m->unit = "";
        if (b->req.n_metadata == b->cap_md) {
            b->cap_md = b->cap_md ? b->cap_md * 2 : 16;
            Prometheus__MetricMetadata **list =
                tr_arena_calloc(a, b->cap_md, sizeof(*list));
            if (b->req.n_metadata > 0) {
                memcpy(list, b->req.metadata,
                       b->req.n_metadata * sizeof(*list));
            }
            b->req.metadata = list;
        }
        b->req.metadata[b->req.n_metadata++] = m;
        return;
    }
    if (line[0] == '#') {
        return;
    }
    const char *p = line;
    Prometheus__TimeSeries *ts = tr_arena_calloc(a, 1, sizeof(*ts));
    prometheus__time_series__init(ts);
    ts->labels = parse_labels(a, &p, &ts->n_labels);
    ts->samples = tr_arena_calloc(a, 256, sizeof(*ts->samples));
    char v[64], t[64];
    int off = 0;
    while (sscanf(p, " %63s %63s%n", v, t, &off) == 2) {
        Prometheus__Sample *s = tr_arena_calloc(a, 1, sizeof(*s));
        prometheus__sample__init(s);
        s->value = strcmp(v, "stale") == 0 ? tr_stale_nan() : strtod(v, NULL);
        s->timestamp = parse_time(t);
        if (ts->n_samples == 256) {
            die("%s", "more than 256 samples on one line");
        }
        ts->samples[ts->n_samples++] = s;
        p += off;
    }
    if (b->req.n_timeseries == b->cap_ts) {
        b->cap_ts = b->cap_ts ? b->cap_ts * 2 : 64;
        Prometheus__TimeSeries **list =
            tr_arena_calloc(a, b->cap_ts, sizeof(*list));
        if (b->req.n_timeseries > 0) {
            memcpy(list, b->req.timeseries,
                   b->req.n_timeseries * sizeof(*list));
        }
        b->req.timeseries = list;
    }
    b->req.timeseries[b->req.n_timeseries++] = ts;
}

/* ---- HTTP ------------------------------------------------------------ */

struct http_opts {
    const char *url;
    struct curl_slist *headers;
    bool encoding_header;
    const char *content_type;
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
    tr_buf_append(arg, data, size * n);
    return size * n;
}

/* Packs, compresses and posts req; returns the status, body in *resp. */
static long
post(CURL *curl, const struct http_opts *o, const Prometheus__WriteRequest *req,
     struct tr_buf *resp)
{
    size_t len = prometheus__write_request__get_packed_size(req);
    uint8_t *raw = malloc(len + 1);
    prometheus__write_request__pack(req, raw);
    struct tr_buf body = TR_BUF_INIT;
    if (tr_http_encode_snappy(raw, len, &body, NULL) != TR_OK) {
        die("%s", "cannot compress");
    }
    free(raw);
    struct curl_slist *h = NULL;
    for (struct curl_slist *x = o->headers; x != NULL; x = x->next) {
        h = curl_slist_append(h, x->data);
    }
    char ct[256];
    snprintf(ct, sizeof(ct), "Content-Type: %s",
             o->content_type ? o->content_type : "application/x-protobuf");
    h = curl_slist_append(h, ct);
    if (o->encoding_header) {
        h = curl_slist_append(h, "Content-Encoding: snappy");
    }
    h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
    h = curl_slist_append(h, "Expect:");
    tr_buf_reset(resp);
    curl_easy_setopt(curl, CURLOPT_URL, o->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body.len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    long status = 0;
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    tr_buf_fini(&body);
    return status;
}

/* ---- stream mode ------------------------------------------------------ */

struct stream {
    struct http_opts http;
    long batches, series, samples;
    int threads;
    const char *metric;
    int64_t start_ms;
    FILE *ack;
    pthread_mutex_t ack_lock;
    long acked;
    long failed;
};

struct worker {
    struct stream *st;
    int index;
};

static void *
stream_worker(void *arg)
{
    struct worker *w = arg;
    struct stream *st = w->st;
    CURL *curl = curl_easy_init();
    struct tr_arena *a = tr_arena_create(1 << 20);
    struct tr_buf resp = TR_BUF_INIT;
    char name[256];
    if (st->threads > 1) {
        snprintf(name, sizeof(name), "%s_t%d", st->metric, w->index);
    } else {
        snprintf(name, sizeof(name), "%s", st->metric);
    }
    for (long b = w->index; b < st->batches; b += st->threads) {
        /* Per thread, batches are consecutive in time: index within the
         * thread's own sequence. */
        long seq = b / st->threads;
        Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
        req.timeseries =
            tr_arena_calloc(a, (size_t)st->series, sizeof(*req.timeseries));
        for (long i = 0; i < st->series; i++) {
            Prometheus__TimeSeries *ts = tr_arena_calloc(a, 1, sizeof(*ts));
            prometheus__time_series__init(ts);
            Prometheus__Label *ls = tr_arena_calloc(a, 2, sizeof(*ls));
            ts->labels = tr_arena_calloc(a, 2, sizeof(*ts->labels));
            prometheus__label__init(&ls[0]);
            prometheus__label__init(&ls[1]);
            ls[0].name = "__name__";
            ls[0].value = name;
            ls[1].name = "series";
            ls[1].value = tr_arena_sprintf(a, "%ld", i);
            ts->labels[0] = &ls[0];
            ts->labels[1] = &ls[1];
            ts->n_labels = 2;
            ts->samples =
                tr_arena_calloc(a, (size_t)st->samples, sizeof(*ts->samples));
            Prometheus__Sample *ss =
                tr_arena_calloc(a, (size_t)st->samples, sizeof(*ss));
            for (long k = 0; k < st->samples; k++) {
                prometheus__sample__init(&ss[k]);
                long v = seq * st->samples + k;
                ss[k].value = (double)v;
                ss[k].timestamp = st->start_ms + v;
                ts->samples[k] = &ss[k];
            }
            ts->n_samples = (size_t)st->samples;
            req.timeseries[i] = ts;
        }
        req.n_timeseries = (size_t)st->series;
        long status = post(curl, &st->http, &req, &resp);
        tr_arena_reset(a);
        pthread_mutex_lock(&st->ack_lock);
        if (status / 100 == 2) {
            st->acked++;
            if (st->ack != NULL) {
                fprintf(st->ack, "%ld\n", b);
                fflush(st->ack);
                fsync(fileno(st->ack));
            }
        } else {
            st->failed++;
            if (st->failed <= 3) {
                fprintf(stderr, "batch %ld: status %ld: %.*s\n", b, status,
                        (int)resp.len, resp.data ? resp.data : "");
            }
        }
        pthread_mutex_unlock(&st->ack_lock);
        if (status == 0) {
            break; /* server gone: stop this worker */
        }
    }
    tr_buf_fini(&resp);
    tr_arena_destroy(a);
    curl_easy_cleanup(curl);
    return NULL;
}

static int
run_stream(struct stream *st)
{
    pthread_mutex_init(&st->ack_lock, NULL);
    pthread_t tids[64];
    struct worker ws[64];
    int64_t t0 = tr_mono_ns();
    for (int i = 0; i < st->threads; i++) {
        ws[i] = (struct worker){st, i};
        pthread_create(&tids[i], NULL, stream_worker, &ws[i]);
    }
    for (int i = 0; i < st->threads; i++) {
        pthread_join(tids[i], NULL);
    }
    double secs = (double)(tr_mono_ns() - t0) / 1e9;
    double samples =
        (double)st->acked * (double)st->series * (double)st->samples;
    printf("acked=%ld failed=%ld seconds=%.3f samples_per_second=%.0f\n",
           st->acked, st->failed, secs, samples / secs);
    return st->failed == 0 ? 0 : 1;
}

/* ---- select mode ------------------------------------------------------ */

struct select_state {
    long series;
    long samples;
};

static int
on_select(void *arg, const void *msg, size_t len)
{
    struct select_state *st = arg;
    Trident__Ingester__SelectMetricsResponse *resp =
        trident__ingester__select_metrics_response__unpack(NULL, len, msg);
    if (resp == NULL) {
        die("%s", "cannot decode SelectMetrics response");
    }
    for (size_t i = 0; i < resp->n_series; i++) {
        const Trident__Ingester__SeriesChunks *s = resp->series[i];
        long count = 0;
        int64_t first = 0, last = 0, t;
        double lastv = 0, v;
        for (size_t c = 0; c < s->n_chunks; c++) {
            struct tr_chunk_iter it;
            if (tr_chunk_iter_init(&it, s->chunks[c]->data.data,
                                   s->chunks[c]->data.len, NULL) != TR_OK) {
                die("%s", "bad chunk");
            }
            int rc;
            while ((rc = tr_chunk_iter_next(&it, &t, &v, NULL)) > 0) {
                if (count++ == 0) {
                    first = t;
                }
                last = t;
                lastv = v;
            }
            if (rc < 0) {
                die("%s", "corrupt chunk");
            }
        }
        printf("{");
        for (size_t k = 0; k < s->n_labels; k++) {
            printf("%s%s=\"%s\"", k ? ", " : "", s->labels[k]->name,
                   s->labels[k]->value);
        }
        if (tr_is_stale_nan(lastv)) {
            printf("} %ld %lld %lld stale\n", count, (long long)first,
                   (long long)last);
        } else {
            printf("} %ld %lld %lld %.17g\n", count, (long long)first,
                   (long long)last, lastv);
        }
        st->series++;
        st->samples += count;
    }
    trident__ingester__select_metrics_response__free_unpacked(resp, NULL);
    return 0;
}

static int
run_select(const char *endpoint, const char *tenant, const char *metric)
{
    struct tr_err err;
    struct tr_rpc_client *c = tr_rpc_client_create(endpoint, NULL, &err);
    if (c == NULL) {
        die("%s", err.msg);
    }
    Trident__Ingester__LabelMatcher m = TRIDENT__INGESTER__LABEL_MATCHER__INIT;
    Trident__Ingester__LabelMatcher *mp = &m;
    m.type = TRIDENT__INGESTER__LABEL_MATCHER__TYPE__EQ;
    m.name = "__name__";
    m.value = (char *)metric;
    Trident__Ingester__SelectMetricsRequest req =
        TRIDENT__INGESTER__SELECT_METRICS_REQUEST__INIT;
    req.tenant = (char *)tenant;
    req.matchers = &mp;
    req.n_matchers = 1;
    uint8_t buf[1024];
    size_t len = trident__ingester__select_metrics_request__pack(&req, buf);
    struct select_state st = {0};
    int rc = tr_rpc_client_stream(c, "ingester.SelectMetrics", buf, len, 30000,
                                  on_select, &st, &err);
    tr_rpc_client_destroy(c);
    tr_rpc_context_term();
    if (rc != TR_OK) {
        fprintf(stderr, "tr-rw-send: %s\n", err.msg);
        return 1;
    }
    printf("series=%ld samples=%ld\n", st.series, st.samples);
    return 0;
}

/* ---- main ------------------------------------------------------------ */

int
main(int argc, char **argv)
{
    now_ms = tr_now_ms();
    struct http_opts o = {.encoding_header = true};
    struct stream st = {
        .threads = 1, .metric = "tr_rw_send", .start_ms = now_ms - 3600 * 1000};
    bool stream = false;
    const char *ack_path = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-H") == 0 && i + 1 < argc) {
            o.headers = curl_slist_append(o.headers, argv[++i]);
        } else if (strcmp(argv[i], "-no-encoding-header") == 0) {
            o.encoding_header = false;
        } else if (strcmp(argv[i], "-content-type") == 0 && i + 1 < argc) {
            o.content_type = argv[++i];
        } else if (strcmp(argv[i], "-stream") == 0 && i + 3 < argc) {
            stream = true;
            st.batches = atol(argv[++i]);
            st.series = atol(argv[++i]);
            st.samples = atol(argv[++i]);
        } else if (strcmp(argv[i], "-threads") == 0 && i + 1 < argc) {
            st.threads = atoi(argv[++i]);
            if (st.threads < 1 || st.threads > 64) {
                die("bad -threads %s", argv[i]);
            }
        } else if (strcmp(argv[i], "-ack") == 0 && i + 1 < argc) {
            ack_path = argv[++i];
        } else if (strcmp(argv[i], "-metric") == 0 && i + 1 < argc) {
            st.metric = argv[++i];
        } else if (strcmp(argv[i], "-start") == 0 && i + 1 < argc) {
            st.start_ms = atoll(argv[++i]);
        } else if (strcmp(argv[i], "-select") == 0 && i + 3 < argc) {
            return run_select(argv[i + 1], argv[i + 2], argv[i + 3]);
        } else {
            die("unknown or incomplete option %s (see the top of rw_send.c)",
                argv[i]);
        }
    }
    if (i + 1 != argc) {
        die("%s", "usage: tr-rw-send [options] URL");
    }
    o.url = argv[i];
    curl_global_init(CURL_GLOBAL_ALL);
    int rc;
    if (stream) {
        st.http = o;
        if (ack_path != NULL) {
            st.ack = fopen(ack_path, "a");
            if (st.ack == NULL) {
                die("cannot open %s", ack_path);
            }
        }
        rc = run_stream(&st);
        if (st.ack != NULL) {
            fclose(st.ack);
        }
    } else {
        struct builder b = {.a = tr_arena_create(0)};
        prometheus__write_request__init(&b.req);
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, stdin) > 0) {
            parse_line(&b, line);
        }
        free(line);
        CURL *curl = curl_easy_init();
        struct tr_buf resp = TR_BUF_INIT;
        long status = post(curl, &o, &b.req, &resp);
        printf("%ld\n%.*s", status, (int)resp.len, resp.data ? resp.data : "");
        if (resp.len > 0 && resp.data[resp.len - 1] != '\n') {
            printf("\n");
        }
        tr_buf_fini(&resp);
        curl_easy_cleanup(curl);
        tr_arena_destroy(b.a);
        rc = status == 0 ? 1 : 0;
    }
    curl_slist_free_all(o.headers);
    curl_global_cleanup();
    return rc;
}
