#include "sender.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "http/encoding.h"
#include "prometheus/remote.pb-c.h"

/* Cached instance label values of one owned instance. */
struct owned_instance {
    int64_t gen;
    char node[LOADGEN_INSTANCE_LEN];
    char app[LOADGEN_INSTANCE_LEN];
};

struct loadgen_sender_state {
    CURL *curl;
    struct curl_slist *headers;
    char curl_error[CURL_ERROR_SIZE];
    struct tr_buf response; /* start of the last answer's body */

    /* One request's worth of protobuf-c structs, reused. */
    Prometheus__TimeSeries *series;
    Prometheus__TimeSeries **series_ptrs;
    Prometheus__Sample *samples;
    Prometheus__Sample **sample_ptrs;
    Prometheus__Label *labels;
    Prometheus__Label **label_ptrs;
    struct tr_buf raw;  /* packed WriteRequest */
    struct tr_buf body; /* snappy of raw */

    int64_t owned;     /* instances this sender owns */
    struct owned_instance *instances;

    /* Cursor: next sample is slot `slot` of owned instance `pos` at step. */
    int64_t step;
    int64_t pos;
    int slot;
    int64_t generated; /* samples put in batches so far */
};

static size_t
on_response(char *data, size_t size, size_t n, void *arg)
{
    struct tr_buf *b = arg;
    size_t len = size * n;
    if (b->len < 200) {
        size_t keep = len < 200 - b->len ? len : 200 - b->len;
        tr_buf_append(b, data, keep);
    }
    return len;
}

static bool
stopping(const struct loadgen_sender *s)
{
    return atomic_load_explicit(s->stop, memory_order_relaxed) != 0;
}

/* Sleeps until monotonic time `until`, waking early when asked to stop.
 * Returns false if stopped. */
static bool
sleep_until(const struct loadgen_sender *s, int64_t until)
{
    for (;;) {
        if (stopping(s)) {
            return false;
        }
        int64_t left = until - tr_mono_ns();
        if (left <= 0) {
            return true;
        }
        if (left > 100 * TR_NS_PER_MS) {
            left = 100 * TR_NS_PER_MS;
        }
        struct timespec ts = {left / TR_NS_PER_SEC, left % TR_NS_PER_SEC};
        nanosleep(&ts, NULL);
    }
}

/*
 * Fills the batch from the cursor. Returns the sample count (0 at the end
 * of a simulated run) and the timestamp of the last sample in *last_ts.
 * With the real clock a batch never crosses into the next step, which is
 * not due yet.
 */
static int
build_batch(struct loadgen_sender *s, int64_t *last_ts)
{
    struct loadgen_sender_state *st = s->st;
    const struct loadgen_config *cfg = s->cfg;
    const struct loadgen_model *m = s->model;
    int n = 0;
    struct loadgen_label lbuf[LOADGEN_MAX_LABELS];

    while (n < cfg->batch) {
        if (st->pos == st->owned) {
            st->pos = 0;
            st->step++;
            if (cfg->clock == LOADGEN_CLOCK_REAL && n > 0) {
                break;
            }
        }
        if (cfg->clock == LOADGEN_CLOCK_SIM && st->step >= cfg->end_step) {
            break;
        }
        int64_t inst = s->id + st->pos * cfg->senders;
        int64_t ts = loadgen_model_timestamp(m, st->step, inst);
        struct owned_instance *oi = &st->instances[st->pos];
        if (st->slot == 0) {
            char node[LOADGEN_INSTANCE_LEN], app[LOADGEN_INSTANCE_LEN];
            int64_t gen = loadgen_model_instance_names(m, inst, ts, node, app);
            if (gen != oi->gen || oi->node[0] == '\0') {
                oi->gen = gen;
                memcpy(oi->node, node, sizeof(node));
                memcpy(oi->app, app, sizeof(app));
            }
        }
        int nl = loadgen_model_labels(m, st->slot, oi->node, oi->app, lbuf);
        Prometheus__TimeSeries *t = &st->series[n];
        Prometheus__Label **lp = &st->label_ptrs[n * LOADGEN_MAX_LABELS];
        Prometheus__Label *l = &st->labels[n * LOADGEN_MAX_LABELS];
        for (int i = 0; i < nl; i++) {
            l[i].name = (char *)lbuf[i].name;
            l[i].value = (char *)lbuf[i].value;
            lp[i] = &l[i];
        }
        t->n_labels = (size_t)nl;
        t->labels = lp;
        st->samples[n].timestamp = ts;
        st->samples[n].value =
            loadgen_model_value(m, inst, st->slot, st->step);
        *last_ts = ts;
        n++;
        if (++st->slot == loadgen_model_instance_series(m, inst)) {
            st->slot = 0;
            st->pos++;
        }
    }
    st->generated += n;
    atomic_store(&s->step_now, st->step);
    return n;
}

static int
encode_batch(struct loadgen_sender *s, int n, struct tr_err *err)
{
    struct loadgen_sender_state *st = s->st;
    Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
    req.n_timeseries = (size_t)n;
    req.timeseries = st->series_ptrs;
    size_t size = prometheus__write_request__get_packed_size(&req);
    tr_buf_reset(&st->raw);
    if (tr_buf_reserve(&st->raw, size) != TR_OK) {
        return tr_err_set(err, TR_ENOMEM, "cannot encode request: out of memory");
    }
    st->raw.len = prometheus__write_request__pack(&req, (uint8_t *)st->raw.data);
    tr_buf_reset(&st->body);
    return tr_http_encode_snappy(st->raw.data, st->raw.len, &st->body, err);
}

static void
note_error(struct loadgen_sender *s, long status, const char *what)
{
    if (atomic_load(&s->has_error)) {
        return;
    }
    if (status > 0) {
        snprintf(s->first_error, sizeof(s->first_error), "HTTP %ld: %.200s",
                 status, what);
    } else {
        snprintf(s->first_error, sizeof(s->first_error), "%.240s", what);
    }
    /* Keep the message on one line. */
    for (char *p = s->first_error; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    atomic_store(&s->has_error, 1);
}

/* Posts the encoded batch with retries; updates the counters. */
static void
send_batch(struct loadgen_sender *s, int n)
{
    struct loadgen_sender_state *st = s->st;
    struct loadgen_stats *stats = s->stats;
    int64_t backoff = 30 * TR_NS_PER_MS;
    atomic_fetch_add(&stats->samples_sent, n);

    for (int attempt = 0;; attempt++) {
        curl_easy_setopt(st->curl, CURLOPT_POSTFIELDS, st->body.data);
        curl_easy_setopt(st->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)st->body.len);
        tr_buf_reset(&st->response);
        st->curl_error[0] = '\0';
        int64_t t0 = tr_mono_ns();
        CURLcode rc = curl_easy_perform(st->curl);
        int64_t took = tr_mono_ns() - t0;
        atomic_fetch_add(&stats->requests, 1);
        atomic_fetch_add(&stats->bytes_sent, (int64_t)st->body.len);

        long status = 0;
        bool retry;
        if (rc != CURLE_OK) {
            atomic_fetch_add(&stats->net_errors, 1);
            note_error(s, 0, st->curl_error[0] ? st->curl_error
                                               : curl_easy_strerror(rc));
            retry = true;
        } else {
            curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
            loadgen_stats_observe(stats, took);
            if (status > 0 && status < LOADGEN_MAX_STATUS) {
                atomic_fetch_add(&stats->status[status], 1);
            }
            if (status >= 200 && status < 300) {
                atomic_fetch_add(&stats->samples_acked, n);
                return;
            }
            tr_buf_append_byte(&st->response, '\0');
            note_error(s, status, st->response.data);
            retry = status >= 500 || (status == 429 && s->cfg->retry_429);
        }
        if (!retry || attempt >= s->cfg->retries || stopping(s)) {
            atomic_fetch_add(&stats->samples_failed, n);
            return;
        }
        atomic_fetch_add(&stats->retries, 1);
        if (!sleep_until(s, tr_mono_ns() + backoff)) {
            atomic_fetch_add(&stats->samples_failed, n);
            return;
        }
        backoff = backoff * 2 > 5 * TR_NS_PER_SEC ? 5 * TR_NS_PER_SEC
                                                  : backoff * 2;
    }
}

/*
 * With the simulated clock, waits while this sender is more than `skew`
 * steps ahead of the slowest running sender. False if stopped.
 */
static bool
wait_for_others(struct loadgen_sender *s, int64_t skew)
{
    for (;;) {
        int64_t mine = s->st->step, slowest = INT64_MAX;
        for (int i = 0; i < s->cfg->senders; i++) {
            struct loadgen_sender *o = &s->all[i];
            if (o != s && !atomic_load(&o->done)) {
                int64_t st = atomic_load(&o->step_now);
                slowest = st < slowest ? st : slowest;
            }
        }
        if (slowest == INT64_MAX || mine <= slowest + skew) {
            return true;
        }
        if (!sleep_until(s, tr_mono_ns() + TR_NS_PER_MS)) {
            return false;
        }
    }
}

static void *
run(void *arg)
{
    struct loadgen_sender *s = arg;
    struct loadgen_sender_state *st = s->st;
    const struct loadgen_config *cfg = s->cfg;
    double rate = cfg->rate / cfg->senders; /* samples/s of this sender */
    struct tr_err err;
    int64_t skew = 300000 / loadgen_model_interval_ms(s->model);

    while (!stopping(s)) {
        if (cfg->clock == LOADGEN_CLOCK_SIM &&
            !wait_for_others(s, skew > 1 ? skew : 1)) {
            break;
        }
        int64_t last_ts = 0;
        int n = build_batch(s, &last_ts);
        if (n == 0) {
            break;
        }
        int64_t due;
        if (cfg->clock == LOADGEN_CLOCK_REAL) {
            due = last_ts * TR_NS_PER_MS + cfg->wall_to_mono_ns;
        } else if (rate > 0) {
            due = cfg->t0_mono_ns +
                  (int64_t)((double)st->generated / rate * 1e9);
        } else {
            due = tr_mono_ns();
        }
        if (!sleep_until(s, due)) {
            break;
        }
        atomic_store(&s->due_ns, due);
        if (encode_batch(s, n, &err) != TR_OK) {
            note_error(s, 0, err.msg);
            atomic_fetch_add(&s->stats->samples_failed, n);
        } else {
            send_batch(s, n);
        }
        atomic_store(&s->due_ns, 0);
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void
free_state(struct loadgen_sender_state *st)
{
    if (st == NULL) {
        return;
    }
    if (st->curl) {
        curl_easy_cleanup(st->curl);
    }
    curl_slist_free_all(st->headers);
    tr_buf_fini(&st->response);
    tr_buf_fini(&st->raw);
    tr_buf_fini(&st->body);
    tr_free(st->series);
    tr_free(st->series_ptrs);
    tr_free(st->samples);
    tr_free(st->sample_ptrs);
    tr_free(st->labels);
    tr_free(st->label_ptrs);
    tr_free(st->instances);
    tr_free(st);
}

static int
setup_curl(struct loadgen_sender *s, struct tr_err *err)
{
    struct loadgen_sender_state *st = s->st;
    const char *fixed[] = {
        "Content-Encoding: snappy",
        "Content-Type: application/x-protobuf",
        "X-Prometheus-Remote-Write-Version: 0.1.0",
        "User-Agent: trident-loadgen/0.1",
        "Expect:", /* no 100-continue round trip before big bodies */
    };
    st->curl = curl_easy_init();
    if (st->curl == NULL) {
        return tr_err_set(err, TR_EIO, "cannot start sender: curl init failed");
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        struct curl_slist *h = curl_slist_append(st->headers, fixed[i]);
        if (h == NULL) {
            return tr_err_set(err, TR_ENOMEM, "cannot start sender: out of memory");
        }
        st->headers = h;
    }
    if (s->cfg->tenant) {
        char line[256];
        snprintf(line, sizeof(line), "X-Scope-OrgID: %s", s->cfg->tenant);
        struct curl_slist *h = curl_slist_append(st->headers, line);
        if (h == NULL) {
            return tr_err_set(err, TR_ENOMEM, "cannot start sender: out of memory");
        }
        st->headers = h;
    }
    CURL *c = st->curl;
    curl_easy_setopt(c, CURLOPT_URL, s->cfg->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, st->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st->response);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, st->curl_error);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    return TR_OK;
}

int
loadgen_sender_start(struct loadgen_sender *s, struct tr_err *err)
{
    const struct loadgen_config *cfg = s->cfg;
    size_t b = (size_t)cfg->batch;
    struct loadgen_sender_state *st = tr_calloc(1, sizeof(*st));
    s->st = st;
    s->started = false;
    atomic_store(&s->due_ns, 0);
    atomic_store(&s->has_error, 0);
    atomic_store(&s->done, 1); /* until the thread runs */
    if (st == NULL) {
        return tr_err_set(err, TR_ENOMEM, "cannot start sender: out of memory");
    }
    int64_t instances = loadgen_model_instances(s->model);
    st->owned = s->id < instances
                    ? (instances - s->id + cfg->senders - 1) / cfg->senders
                    : 0;
    st->step = cfg->start_step;
    atomic_store(&s->step_now, st->step);
    st->series = tr_calloc(b, sizeof(*st->series));
    st->series_ptrs = tr_calloc(b, sizeof(*st->series_ptrs));
    st->samples = tr_calloc(b, sizeof(*st->samples));
    st->sample_ptrs = tr_calloc(b, sizeof(*st->sample_ptrs));
    st->labels = tr_calloc(b * LOADGEN_MAX_LABELS, sizeof(*st->labels));
    st->label_ptrs =
        tr_calloc(b * LOADGEN_MAX_LABELS, sizeof(*st->label_ptrs));
    st->instances = tr_calloc((size_t)st->owned + 1, sizeof(*st->instances));
    if (!st->series || !st->series_ptrs || !st->samples || !st->sample_ptrs ||
        !st->labels || !st->label_ptrs || !st->instances) {
        return tr_err_set(err, TR_ENOMEM, "cannot start sender: out of memory");
    }
    for (size_t i = 0; i < b; i++) {
        prometheus__time_series__init(&st->series[i]);
        prometheus__sample__init(&st->samples[i]);
        st->sample_ptrs[i] = &st->samples[i];
        st->series[i].n_samples = 1;
        st->series[i].samples = &st->sample_ptrs[i];
        st->series_ptrs[i] = &st->series[i];
    }
    for (size_t i = 0; i < b * LOADGEN_MAX_LABELS; i++) {
        prometheus__label__init(&st->labels[i]);
    }
    int rc = setup_curl(s, err);
    if (rc != TR_OK) {
        return rc;
    }
    if (st->owned == 0) {
        return TR_OK; /* more senders than instances: nothing to send */
    }
    atomic_store(&s->done, 0);
    rc = pthread_create(&s->thread, NULL, run, s);
    if (rc != 0) {
        atomic_store(&s->done, 1);
        return tr_err_set(err, TR_EIO, "cannot start sender: %s",
                          strerror(rc));
    }
    s->started = true;
    return TR_OK;
}

void
loadgen_sender_join(struct loadgen_sender *s)
{
    if (s->started) {
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    free_state(s->st);
    s->st = NULL;
}
