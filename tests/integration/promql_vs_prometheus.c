/*
 * tr-promqltest-prometheus: runs PromQL test scripts (promql/promqltest.h)
 * against a real Prometheus, to prove that the expectations written in
 * tests/promql/ *.test are what Prometheus answers.
 *
 *   tr-promqltest-prometheus [-v] --prometheus BIN FILE...
 *
 * How data gets in: the scripts put samples at the Unix epoch (t = 0 is
 * 1970-01-01), which remote write would normally refuse as out of bounds.
 * But a Prometheus with an empty storage directory and no scrape jobs
 * accepts any timestamp not older than (newest sample - 1h): so for every
 * group of loads the helper starts a fresh Prometheus (new temporary
 * storage, loopback port, --web.enable-remote-write-receiver) and sends
 * all samples of the section (the loads since the last clear) sorted by
 * time in 30-minute batches. Remote write (snappy + protobuf) keeps stale
 * markers bit for bit, which the OpenMetrics backfill of promtool could
 * not express. Queries then go through /api/v1/query and
 * /api/v1/query_range and the JSON answers are compared by the same code
 * that checks the Trident engine.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <snappy-c.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "prometheus/remote.pb-c.h"
#include "promql/promqltest.h"
#include "tsdb/labels.h"

#define BATCH_MS (30 * 60 * 1000)

struct prom {
    const char *bin;
    pid_t pid;
    int port;
    char dir[256];
    bool dirty; /* loads since the last start */
    /* The section's loads (borrowed from the script). */
    const struct tr_promqltest_cmd **loads;
    size_t n_loads;
    size_t cap_loads;
    CURL *curl;
};

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void
rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", dir);
    }
}

static void
prom_stop(struct prom *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    if (p->dir[0] != '\0') {
        rm_rf(p->dir);
        p->dir[0] = '\0';
    }
}

struct body {
    struct tr_buf b;
};

static size_t
on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    if (tr_buf_append(&b->b, ptr, size * n) != TR_OK) {
        return 0;
    }
    return size * n;
}

/* GET or POST; returns the HTTP status or -1 when the peer is down. */
static long
http(struct prom *p, const char *url, const void *post, size_t post_len,
     struct tr_buf *out)
{
    struct body b = {TR_BUF_INIT};
    curl_easy_reset(p->curl);
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, 60L);
    struct curl_slist *h = NULL;
    if (post != NULL) {
        h = curl_slist_append(h, "Content-Type: application/x-protobuf");
        h = curl_slist_append(h, "Content-Encoding: snappy");
        h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
        curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)post_len);
    }
    long status = -1;
    if (curl_easy_perform(p->curl) == CURLE_OK) {
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    if (out != NULL) {
        tr_buf_reset(out);
        if (b.b.len > 0) {
            tr_buf_append(out, b.b.data, b.b.len);
        }
    }
    tr_buf_fini(&b.b);
    return status;
}

static int
prom_start(struct prom *p, struct tr_err *err)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(p->dir, sizeof(p->dir), "%s/tr-promqltest.XXXXXX", tmp);
    if (mkdtemp(p->dir) == NULL) {
        p->dir[0] = '\0';
        return tr_err_set(err, TR_EUNAVAIL, "cannot create temp dir: %s",
                          strerror(errno));
    }
    char cfg[300], data[300], addr[64], logp[300];
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", p->dir);
    snprintf(data, sizeof(data), "%s/data", p->dir);
    snprintf(logp, sizeof(logp), "%s/prometheus.log", p->dir);
    FILE *f = fopen(cfg, "w");
    if (f == NULL) {
        return tr_err_set(err, TR_EUNAVAIL, "cannot write %s", cfg);
    }
    /* No scrape jobs: the remote-written samples are all there is. */
    fputs("global:\n  evaluation_interval: 1m\n", f);
    fclose(f);
    for (int attempt = 0; attempt < 5; attempt++) {
        p->port = free_port();
        snprintf(addr, sizeof(addr), "--web.listen-address=127.0.0.1:%d",
                 p->port);
        char a_cfg[320], a_data[320];
        snprintf(a_cfg, sizeof(a_cfg), "--config.file=%s", cfg);
        snprintf(a_data, sizeof(a_data), "--storage.tsdb.path=%s", data);
        pid_t pid = fork();
        if (pid < 0) {
            return tr_err_set(err, TR_EUNAVAIL, "cannot fork: %s",
                              strerror(errno));
        }
        if (pid == 0) {
            FILE *lf = freopen(logp, "a", stderr);
            (void)lf;
            execl(p->bin, p->bin, a_cfg, a_data, addr,
                  "--web.enable-remote-write-receiver",
                  "--storage.tsdb.retention.time=100y", "--log.level=warn",
                  (char *)NULL);
            _exit(127);
        }
        p->pid = pid;
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", p->port);
        for (int i = 0; i < 300; i++) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                p->pid = 0;
                break; /* died (port taken?): try another port */
            }
            if (http(p, url, NULL, 0, NULL) == 200) {
                return TR_OK;
            }
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (p->pid > 0) {
            kill(p->pid, SIGTERM);
            waitpid(p->pid, NULL, 0);
            p->pid = 0;
        }
    }
    return tr_err_set(err, TR_EUNAVAIL, "cannot start prometheus (%s): see %s",
                      p->bin, logp);
}

/* One sample to send: series index and position. */
struct pending {
    const struct tr_promqltest_series *s;
    int64_t t;
    double v;
};

static int
cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return x->s < y->s ? -1 : x->s > y->s;
}

/* Sends samples [from, to) (one time window) as one write request. */
static int
send_batch(struct prom *p, struct pending *ps, size_t from, size_t to,
           struct tr_err *err)
{
    struct tr_arena *a = tr_arena_create(0);
    if (a == NULL) {
        return tr_err_set(err, TR_EUNAVAIL, "no memory");
    }
    int rc = TR_OK;
    size_t n = to - from;
    /* Group by series (ps is sorted by time, then series pointer). */
    Prometheus__TimeSeries **ts = tr_arena_calloc(a, n, sizeof(*ts));
    const struct tr_promqltest_series **owner =
        tr_arena_calloc(a, n, sizeof(*owner));
    size_t n_ts = 0;
    for (size_t i = from; i < to; i++) {
        size_t k;
        for (k = 0; k < n_ts && owner[k] != ps[i].s; k++) {
        }
        if (k == n_ts) {
            owner[k] = ps[i].s;
            ts[k] = tr_arena_calloc(a, 1, sizeof(**ts));
            prometheus__time_series__init(ts[k]);
            size_t nl = tr_labels_count(ps[i].s->labels);
            ts[k]->labels = tr_arena_calloc(a, nl + 1, sizeof(void *));
            struct tr_labels_iter it;
            struct tr_label l;
            tr_labels_iter_init(&it, ps[i].s->labels);
            while (tr_labels_iter_next(&it, &l)) {
                Prometheus__Label *pl = tr_arena_calloc(a, 1, sizeof(*pl));
                prometheus__label__init(pl);
                pl->name = tr_arena_strndup(a, l.name, l.name_len);
                pl->value = tr_arena_strndup(a, l.value, l.value_len);
                ts[k]->labels[ts[k]->n_labels++] = pl;
            }
            ts[k]->samples = tr_arena_calloc(a, n, sizeof(void *));
            n_ts++;
        }
        Prometheus__Sample *smp = tr_arena_calloc(a, 1, sizeof(*smp));
        prometheus__sample__init(smp);
        smp->value = ps[i].v;
        smp->timestamp = ps[i].t;
        ts[k]->samples[ts[k]->n_samples++] = smp;
    }
    Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
    wr.timeseries = ts;
    wr.n_timeseries = n_ts;
    size_t plen = prometheus__write_request__get_packed_size(&wr);
    uint8_t *packed = tr_malloc(plen + 1);
    size_t clen = snappy_max_compressed_length(plen);
    char *comp = tr_malloc(clen + 1);
    if (packed == NULL || comp == NULL) {
        rc = tr_err_set(err, TR_EUNAVAIL, "no memory");
        goto out;
    }
    prometheus__write_request__pack(&wr, packed);
    if (snappy_compress((const char *)packed, plen, comp, &clen) != SNAPPY_OK) {
        rc = tr_err_set(err, TR_EUNAVAIL, "cannot compress write request");
        goto out;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/write", p->port);
    struct tr_buf resp = TR_BUF_INIT;
    long st = http(p, url, comp, clen, &resp);
    if (st < 200 || st > 299) {
        rc = tr_err_set(err, TR_EUNAVAIL, "remote write answered %ld: %.*s", st,
                        (int)resp.len, resp.data ? resp.data : "");
    }
    tr_buf_fini(&resp);
out:
    tr_free(packed);
    tr_free(comp);
    tr_arena_destroy(a);
    return rc;
}

static int
prom_sync(struct prom *p, struct tr_err *err)
{
    if (!p->dirty && p->pid > 0) {
        return TR_OK;
    }
    prom_stop(p);
    int rc = prom_start(p, err);
    if (rc != TR_OK) {
        return rc;
    }
    p->dirty = false;
    size_t n = 0;
    for (size_t i = 0; i < p->n_loads; i++) {
        for (size_t k = 0; k < p->loads[i]->n_series; k++) {
            n += p->loads[i]->series[k].n;
        }
    }
    struct pending *ps = tr_calloc(n + 1, sizeof(*ps));
    if (ps == NULL) {
        return tr_err_set(err, TR_EUNAVAIL, "no memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < p->n_loads; i++) {
        const struct tr_promqltest_cmd *c = p->loads[i];
        for (size_t k = 0; k < c->n_series; k++) {
            const struct tr_promqltest_series *s = &c->series[k];
            for (size_t j = 0; j < s->n; j++) {
                if (!s->values[j].omitted) {
                    ps[m].s = s;
                    ps[m].t = (int64_t)j * c->interval_ms;
                    ps[m].v = s->values[j].v;
                    m++;
                }
            }
        }
    }
    qsort(ps, m, sizeof(*ps), cmp_pending);
    for (size_t from = 0; from < m && rc == TR_OK;) {
        size_t to = from;
        while (to < m && ps[to].t < ps[from].t + BATCH_MS) {
            to++;
        }
        rc = send_batch(p, ps, from, to, err);
        from = to;
    }
    tr_free(ps);
    return rc;
}

static int
prom_clear(void *ctx, struct tr_err *err)
{
    (void)err;
    struct prom *p = ctx;
    p->n_loads = 0;
    p->dirty = true;
    return TR_OK;
}

static int
prom_load(void *ctx, const struct tr_promqltest_cmd *c, struct tr_err *err)
{
    struct prom *p = ctx;
    if (p->n_loads == p->cap_loads) {
        size_t cap = p->cap_loads ? p->cap_loads * 2 : 8;
        void *np = tr_realloc(p->loads, cap * sizeof(*p->loads));
        if (np == NULL) {
            return tr_err_set(err, TR_EUNAVAIL, "no memory");
        }
        p->loads = np;
        p->cap_loads = cap;
    }
    p->loads[p->n_loads++] = c;
    p->dirty = true;
    return TR_OK;
}

static int
json_labels(struct tr_arena *a, json_t *metric, struct tr_promql_labels *out)
{
    size_t n = json_object_size(metric);
    struct tr_label *pairs = tr_arena_calloc(a, n + 1, sizeof(*pairs));
    if (pairs == NULL) {
        return TR_ENOMEM;
    }
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(metric, k, v)
    {
        pairs[i].name = tr_arena_strndup(a, k, strlen(k));
        pairs[i].name_len = strlen(k);
        pairs[i].value =
            tr_arena_strndup(a, json_string_value(v), json_string_length(v));
        pairs[i].value_len = json_string_length(v);
        i++;
    }
    /* Sorted by name, as a label set must be. */
    for (size_t x = 1; x < i; x++) {
        for (size_t y = x;
             y > 0 && strcmp(pairs[y - 1].name, pairs[y].name) > 0; y--) {
            struct tr_label t = pairs[y];
            pairs[y] = pairs[y - 1];
            pairs[y - 1] = t;
        }
    }
    out->pairs = pairs;
    out->n = i;
    return TR_OK;
}

/* [ <float seconds>, "<value>" ] */
static void
json_point(json_t *pt, int64_t *t, double *v)
{
    double secs = json_number_value(json_array_get(pt, 0));
    *t = (int64_t)(secs * 1000.0 + (secs < 0 ? -0.5 : 0.5));
    *v = strtod(json_string_value(json_array_get(pt, 1)), NULL);
}

static int
prom_query(void *ctx, struct tr_arena *a, const char *expr, bool range,
           int64_t start_ms, int64_t end_ms, int64_t step_ms,
           struct tr_promql_value *out, struct tr_err *err)
{
    struct prom *p = ctx;
    int rc = prom_sync(p, err);
    if (rc != TR_OK) {
        return TR_EUNAVAIL;
    }
    char *q = curl_easy_escape(p->curl, expr, 0);
    struct tr_buf url = TR_BUF_INIT, body = TR_BUF_INIT;
    if (range) {
        tr_buf_appendf(&url,
                       "http://127.0.0.1:%d/api/v1/query_range?query=%s"
                       "&start=%.3f&end=%.3f&step=%.3f",
                       p->port, q, start_ms / 1000.0, end_ms / 1000.0,
                       step_ms / 1000.0);
    } else {
        tr_buf_appendf(&url,
                       "http://127.0.0.1:%d/api/v1/query?query=%s&time=%.3f",
                       p->port, q, start_ms / 1000.0);
    }
    curl_free(q);
    long st = http(p, url.data, NULL, 0, &body);
    tr_buf_fini(&url);
    json_t *root = NULL;
    if (st < 0) {
        rc = tr_err_set(err, TR_EUNAVAIL, "prometheus is down");
        goto out;
    }
    root = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
    if (root == NULL) {
        rc = tr_err_set(err, TR_EUNAVAIL, "bad JSON from prometheus (%ld)", st);
        goto out;
    }
    const char *status = json_string_value(json_object_get(root, "status"));
    if (status == NULL || strcmp(status, "success") != 0) {
        const char *e = json_string_value(json_object_get(root, "error"));
        rc = tr_err_set(err, TR_EINVAL, "%s", e ? e : "query failed");
        goto out;
    }
    json_t *data = json_object_get(root, "data");
    const char *rt = json_string_value(json_object_get(data, "resultType"));
    json_t *res = json_object_get(data, "result");
    memset(out, 0, sizeof(*out));
    if (rt == NULL) {
        rc = tr_err_set(err, TR_EUNAVAIL, "no resultType");
    } else if (strcmp(rt, "scalar") == 0) {
        out->type = TR_PROMQL_TYPE_SCALAR;
        json_point(res, &out->u.scalar.t, &out->u.scalar.v);
    } else if (strcmp(rt, "string") == 0) {
        out->type = TR_PROMQL_TYPE_STRING;
        const char *s = json_string_value(json_array_get(res, 1));
        out->u.string.data = tr_arena_strndup(a, s, strlen(s));
        out->u.string.len = strlen(s);
    } else if (strcmp(rt, "vector") == 0) {
        size_t n = json_array_size(res);
        out->type = TR_PROMQL_TYPE_VECTOR;
        out->u.vector.samples =
            tr_arena_calloc(a, n + 1, sizeof(*out->u.vector.samples));
        out->u.vector.n = n;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(res, i);
            struct tr_promql_sample *s = &out->u.vector.samples[i];
            json_labels(a, json_object_get(e, "metric"), &s->labels);
            json_point(json_object_get(e, "value"), &s->t, &s->v);
        }
    } else if (strcmp(rt, "matrix") == 0) {
        size_t n = json_array_size(res);
        out->type = TR_PROMQL_TYPE_MATRIX;
        out->u.matrix.series =
            tr_arena_calloc(a, n + 1, sizeof(*out->u.matrix.series));
        out->u.matrix.n = n;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(res, i);
            struct tr_promql_series *s = &out->u.matrix.series[i];
            json_labels(a, json_object_get(e, "metric"), &s->labels);
            json_t *vals = json_object_get(e, "values");
            s->n_points = json_array_size(vals);
            s->points = tr_arena_calloc(a, s->n_points + 1, sizeof(*s->points));
            for (size_t k = 0; k < s->n_points; k++) {
                json_point(json_array_get(vals, k), &s->points[k].t,
                           &s->points[k].v);
            }
        }
    } else {
        rc = tr_err_set(err, TR_EUNAVAIL, "unknown resultType %s", rt);
    }
out:
    json_decref(root);
    tr_buf_fini(&body);
    return rc;
}

static const struct tr_promqltest_backend prom_backend = {
    .name = "prometheus",
    .clear = prom_clear,
    .load = prom_load,
    .query = prom_query,
};

int
main(int argc, char **argv)
{
    struct prom p = {0};
    struct tr_promqltest_options opts = {0};
    int first = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            opts.verbose = true;
        } else if (strcmp(argv[i], "--prometheus") == 0 && i + 1 < argc) {
            p.bin = argv[++i];
        } else {
            first = i;
            break;
        }
    }
    if (p.bin == NULL || first >= argc) {
        fprintf(stderr, "usage: %s [-v] --prometheus BIN FILE...\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    p.curl = curl_easy_init();
    int status = 0;
    struct tr_promqltest_stats total = {0};
    for (int i = first; i < argc; i++) {
        struct tr_promqltest_script *s;
        struct tr_err err;
        if (tr_promqltest_parse_file(argv[i], &s, &err) != TR_OK) {
            fprintf(stderr, "%s\n", err.msg);
            status = 2;
            continue;
        }
        struct tr_promqltest_stats st = {0};
        p.n_loads = 0;
        p.dirty = true;
        int rc =
            tr_promqltest_run(s, &prom_backend, &p, &opts, stdout, &st, &err);
        printf("%s: %u evals, %u passed, %u failed%s\n", argv[i], st.evals,
               st.passed, st.failed, rc != TR_OK ? " (stopped early)" : "");
        fflush(stdout);
        if (rc != TR_OK || st.failed > 0) {
            status = status ? status : 1;
        }
        total.evals += st.evals;
        total.passed += st.passed;
        total.failed += st.failed;
        prom_stop(&p);
        tr_promqltest_script_destroy(s);
    }
    printf("total against prometheus: %u evals, %u passed, %u failed\n",
           total.evals, total.passed, total.failed);
    prom_stop(&p);
    tr_free(p.loads);
    curl_easy_cleanup(p.curl);
    curl_global_cleanup();
    return status;
}
