/*
 * The series model: a table of metric families expanded into the slots of
 * one instance, and pure value functions of (seed, instance, slot, step).
 */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM };
enum job { JOB_NODE, JOB_API };

/*
 * One dimension of a family: n values, each giving a value for every one
 * of the `nnames` label names (so device, mountpoint and fstype can vary
 * together), and a weight that scales the family's rate or level.
 */
struct dim {
    int nnames;
    const char *names[3];
    int n;
    const char *const *values; /* n rows of nnames strings */
    const double *weights;
};

/*
 * A metric family. Counters: `level` is the rate per second, `quantum`
 * the resolution. Gauges: `level` the mean, `amp` the relative amplitude
 * of the slow wave, `noise` the relative jitter, `hold` how many steps a
 * value is kept (0: constant forever), `spread` how much levels differ
 * between instances. Histograms: `level` requests per second, `amp` the
 * median latency in seconds.
 */
struct family {
    const char *name;
    enum job job;
    enum kind kind;
    double level, amp, noise, quantum, spread;
    int hold;
    int ndims;
    struct dim dims[3];
};

#define ROWS(...) (const char *const[]){__VA_ARGS__}
#define W(...) (const double[]){__VA_ARGS__}
#define DIM1(nm, cnt, vals, w) {1, {nm, NULL, NULL}, cnt, vals, w}

#define DIM_CPU DIM1("cpu", 4, ROWS("0", "1", "2", "3"), W(1, 1, 1, 1))
#define DIM_MODE DIM1( \
    "mode", 8, \
    ROWS("idle", "iowait", "irq", "nice", "softirq", "steal", "system", \
         "user"), \
    W(0.85, 0.01, 0, 0, 0.005, 0, 0.04, 0.08))
#define DIM_NETDEV DIM1("device", 2, ROWS("eth0", "lo"), W(1, 0.1))
#define DIM_DISK DIM1("device", 2, ROWS("sda", "sdb"), W(1, 0.3))
#define DIM_FS { \
    3, {"device", "fstype", "mountpoint"}, 3, \
    ROWS("/dev/sda1", "ext4", "/", "/dev/sda2", "ext4", "/var", \
         "/dev/sdb1", "xfs", "/home"), \
    W(1, 0.5, 2)}
#define DIM_METHOD DIM1("method", 2, ROWS("GET", "POST"), W(1, 0.2))
#define DIM_HANDLER DIM1( \
    "handler", 3, ROWS("/api/v1/orders", "/api/v1/users", "/healthz"), \
    W(0.5, 1, 0.05))
#define DIM_GUEST DIM1("mode", 2, ROWS("nice", "user"), W(1, 1))
#define DIM_COLLECTOR DIM1( \
    "collector", 10, \
    ROWS("cpu", "diskstats", "filesystem", "loadavg", "meminfo", "netdev", \
         "stat", "time", "uname", "vmstat"), \
    W(1, 1.5, 2, 0.3, 0.8, 1.2, 0.5, 0.1, 0.1, 0.7))
#define DIM_CODE DIM1("code", 2, ROWS("200", "500"), W(1, 0.002))

#define C(nm, job, rate, q, ...) \
    {nm, job, K_COUNTER, rate, 0, 0, q, 0.5, 1, __VA_ARGS__}
#define G(nm, job, lvl, amp, noise, q, spread, hold, ...) \
    {nm, job, K_GAUGE, lvl, amp, noise, q, spread, hold, __VA_ARGS__}
#define NODIMS 0, {{0}}

static const struct family families[] = {
    C("node_cpu_seconds_total", JOB_NODE, 1, 0.01, 2, {DIM_CPU, DIM_MODE}),
    G("node_memory_MemTotal_bytes", JOB_NODE, 16e9, 0, 0, 4096, 0.5, 0,
      NODIMS),
    G("node_memory_MemAvailable_bytes", JOB_NODE, 9e9, 0.1, 0.002, 4096, 0.5,
      1, NODIMS),
    G("node_memory_MemFree_bytes", JOB_NODE, 3e9, 0.2, 0.003, 4096, 0.5, 1,
      NODIMS),
    G("node_memory_Cached_bytes", JOB_NODE, 5e9, 0.05, 0.001, 4096, 0.5, 4,
      NODIMS),
    G("node_memory_Buffers_bytes", JOB_NODE, 3e8, 0.05, 0.001, 4096, 0.5, 8,
      NODIMS),
    G("node_load1", JOB_NODE, 0.8, 0.5, 0.3, 0.01, 0.5, 1, NODIMS),
    G("node_load5", JOB_NODE, 0.8, 0.5, 0.1, 0.01, 0.5, 1, NODIMS),
    G("node_load15", JOB_NODE, 0.8, 0.5, 0.03, 0.01, 0.5, 1, NODIMS),
    C("node_network_receive_bytes_total", JOB_NODE, 2e5, 1, 1, {DIM_NETDEV}),
    C("node_network_transmit_bytes_total", JOB_NODE, 1e5, 1, 1,
      {DIM_NETDEV}),
    C("node_network_receive_packets_total", JOB_NODE, 200, 1, 1,
      {DIM_NETDEV}),
    C("node_network_transmit_packets_total", JOB_NODE, 150, 1, 1,
      {DIM_NETDEV}),
    C("node_network_receive_errs_total", JOB_NODE, 0, 1, 1, {DIM_NETDEV}),
    G("node_filesystem_avail_bytes", JOB_NODE, 5e10, 0.02, 0.001, 4096, 0.5,
      20, 1, {DIM_FS}),
    G("node_filesystem_size_bytes", JOB_NODE, 1e11, 0, 0, 4096, 0.5, 0, 1,
      {DIM_FS}),
    G("node_filesystem_files_free", JOB_NODE, 3e6, 0.01, 0.001, 1, 0.5, 20,
      1, {DIM_FS}),
    C("node_disk_read_bytes_total", JOB_NODE, 2e5, 1, 1, {DIM_DISK}),
    C("node_disk_written_bytes_total", JOB_NODE, 5e5, 1, 1, {DIM_DISK}),
    C("node_disk_io_time_seconds_total", JOB_NODE, 0.02, 0.001, 1,
      {DIM_DISK}),
    /* What node-exporter also exposes and rarely changes. */
    C("node_cpu_guest_seconds_total", JOB_NODE, 0, 0.01, 2,
      {DIM_CPU, DIM_GUEST}),
    G("node_filesystem_readonly", JOB_NODE, 0, 0, 0, 1, 0, 0, 1, {DIM_FS}),
    G("node_network_up", JOB_NODE, 1, 0, 0, 1, 0, 0, 1, {DIM_NETDEV}),
    G("node_network_mtu_bytes", JOB_NODE, 1500, 0, 0, 1, 0, 0, 1,
      {DIM_NETDEV}),
    G("node_boot_time_seconds", JOB_NODE, 1.7e9, 0, 0, 1, 0.01, 0, NODIMS),
    G("node_scrape_collector_success", JOB_NODE, 1, 0, 0, 1, 0, 0, 1,
      {DIM_COLLECTOR}),
    G("node_scrape_collector_duration_seconds", JOB_NODE, 0.002, 0.1, 0.3,
      1e-6, 0.5, 1, 1, {DIM_COLLECTOR}),
    G("up", JOB_NODE, 1, 0, 0, 1, 0, 0, NODIMS),
    C("http_requests_total", JOB_API, 20, 1, 3,
      {DIM_METHOD, DIM_HANDLER, DIM_CODE}),
    {"http_request_duration_seconds", JOB_API, K_HISTOGRAM, 20, 0.05, 0, 1,
     0.5, 1, 2, {DIM_METHOD, DIM_HANDLER}},
    G("process_resident_memory_bytes", JOB_API, 1.5e8, 0.1, 0.005, 4096, 0.5,
      1, NODIMS),
    C("process_cpu_seconds_total", JOB_API, 0.05, 0.01, NODIMS),
    G("go_goroutines", JOB_API, 40, 0.2, 0.1, 1, 0.5, 1, NODIMS),
    G("up", JOB_API, 1, 0, 0, 1, 0, 0, NODIMS),
};

/* Classic histogram buckets (the client libraries' defaults). */
static const char *const le_names[] = {"0.005", "0.01", "0.025", "0.05",
                                       "0.1",   "0.25", "0.5",   "1",
                                       "2.5",   "5",    "10",    "+Inf"};
static const double le_values[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                   0.5,   1,    2.5,   5,    10,  INFINITY};
#define N_LE 12

enum part { PART_PLAIN, PART_BUCKET, PART_SUM, PART_COUNT };

struct slot {
    const struct family *f;
    enum part part;
    int le;        /* bucket index for PART_BUCKET */
    double weight; /* product of the dimension weights */
    uint64_t group; /* hash key shared by the series of one histogram */
    int nlabels;
    int instance_pos; /* index of the instance label */
    struct loadgen_label labels[LOADGEN_MAX_LABELS];
    char name[64];
};

struct loadgen_model {
    struct loadgen_model_config cfg;
    int nslots;
    struct slot *slots;
    int64_t instances;
};

static const char *const job_names[] = {"node", "api"};
static const int64_t reboot_period_ms = INT64_C(7) * 24 * 3600 * 1000;

/* splitmix64's finalizer: a cheap, well-mixed 64-bit hash. */
static uint64_t
mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* A uniform number in [0, 1) determined by its four keys and the seed. */
static double
unit(const struct loadgen_model *m, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = mix(m->cfg.seed ^ mix(a ^ mix(b ^ mix(c))));
    return (double)(h >> 11) * 0x1.0p-53;
}

static double
quantize(double v, double q)
{
    if (q >= 1) {
        return floor(v / q) * q;
    }
    /* Round to decimals so values print as exporters print them. */
    double inv = round(1 / q);
    return round(v * inv) / inv;
}

static int
label_cmp(const void *a, const void *b)
{
    const struct loadgen_label *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int
add_label(struct slot *s, const char *name, const char *value)
{
    if (s->nlabels == LOADGEN_MAX_LABELS) {
        return TR_ELIMIT;
    }
    s->labels[s->nlabels].name = name;
    s->labels[s->nlabels].value = value;
    s->nlabels++;
    return TR_OK;
}

/* Adds slot `s` (already holding family, part, weight) with its labels. */
static int
finish_slot(struct loadgen_model *m, struct slot *s, const int *idx,
            struct tr_err *err)
{
    const struct family *f = s->f;
    const char *suffix = s->part == PART_BUCKET ? "_bucket"
                         : s->part == PART_SUM  ? "_sum"
                         : s->part == PART_COUNT ? "_count"
                                                 : "";
    snprintf(s->name, sizeof(s->name), "%s%s", f->name, suffix);
    int rc = add_label(s, "__name__", s->name);
    rc = rc ? rc : add_label(s, "job", job_names[f->job]);
    rc = rc ? rc : add_label(s, "instance", NULL);
    for (int d = 0; d < f->ndims && rc == TR_OK; d++) {
        const struct dim *dim = &f->dims[d];
        for (int k = 0; k < dim->nnames && rc == TR_OK; k++) {
            rc = add_label(s, dim->names[k],
                           dim->values[idx[d] * dim->nnames + k]);
        }
    }
    if (rc == TR_OK && s->part == PART_BUCKET) {
        rc = add_label(s, "le", le_names[s->le]);
    }
    for (int e = 0; e < m->cfg.extra_labels && rc == TR_OK; e++) {
        rc = add_label(s, m->cfg.extra_names[e], m->cfg.extra_values[e]);
    }
    if (rc != TR_OK) {
        return tr_err_set(err, TR_EINVAL,
                          "cannot create series model: more than %d labels",
                          LOADGEN_MAX_LABELS);
    }
    qsort(s->labels, (size_t)s->nlabels, sizeof(s->labels[0]), label_cmp);
    for (int i = 0; i < s->nlabels; i++) {
        if (i > 0 && strcmp(s->labels[i].name, s->labels[i - 1].name) == 0) {
            return tr_err_set(err, TR_EINVAL,
                              "cannot create series model: extra label "
                              "\"%s\" clashes with a generated label",
                              s->labels[i].name);
        }
        if (s->labels[i].value == NULL) {
            s->instance_pos = i;
        }
    }
    m->nslots++;
    return TR_OK;
}

/* Expands every family (or only counts its slots when m->slots is NULL). */
static int
expand(struct loadgen_model *m, struct tr_err *err)
{
    m->nslots = 0;
    for (size_t fi = 0; fi < sizeof(families) / sizeof(families[0]); fi++) {
        const struct family *f = &families[fi];
        int idx[3] = {0, 0, 0};
        for (;;) {
            double w = 1;
            for (int d = 0; d < f->ndims; d++) {
                w *= f->dims[d].weights[idx[d]];
            }
            uint64_t group = ((uint64_t)fi << 32) | (uint64_t)(idx[0] << 16) |
                             (uint64_t)(idx[1] << 8) | (uint64_t)idx[2];
            int parts = f->kind == K_HISTOGRAM ? N_LE + 2 : 1;
            for (int p = 0; p < parts; p++) {
                if (m->slots == NULL) {
                    m->nslots++;
                    continue;
                }
                struct slot *s = &m->slots[m->nslots];
                memset(s, 0, sizeof(*s));
                s->f = f;
                s->weight = w;
                s->group = group;
                if (f->kind != K_HISTOGRAM) {
                    s->part = PART_PLAIN;
                } else if (p < N_LE) {
                    s->part = PART_BUCKET;
                    s->le = p;
                } else {
                    s->part = p == N_LE ? PART_SUM : PART_COUNT;
                }
                int rc = finish_slot(m, s, idx, err);
                if (rc != TR_OK) {
                    return rc;
                }
            }
            /* Next combination of dimension values, last dimension first. */
            int d = f->ndims - 1;
            while (d >= 0 && ++idx[d] == f->dims[d].n) {
                idx[d--] = 0;
            }
            if (d < 0) {
                break;
            }
        }
    }
    return TR_OK;
}

static int
valid_label_name(const char *s)
{
    if (!s || !*s || (s[0] == '_' && s[1] == '_')) {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 *p == '_' || (p > s && *p >= '0' && *p <= '9');
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

struct loadgen_model *
loadgen_model_create(const struct loadgen_model_config *cfg,
                     struct tr_err *err)
{
    if (cfg->series < 1 || cfg->interval_ms < 1) {
        tr_err_set(err, TR_EINVAL,
                   "cannot create series model: series and interval must "
                   "be positive");
        return NULL;
    }
    if (cfg->extra_labels < 0 ||
        cfg->extra_labels > LOADGEN_MAX_EXTRA_LABELS) {
        tr_err_set(err, TR_EINVAL,
                   "cannot create series model: at most %d extra labels",
                   LOADGEN_MAX_EXTRA_LABELS);
        return NULL;
    }
    for (int i = 0; i < cfg->extra_labels; i++) {
        if (!valid_label_name(cfg->extra_names[i]) ||
            cfg->extra_values[i] == NULL || !*cfg->extra_values[i]) {
            tr_err_set(err, TR_EINVAL,
                       "cannot create series model: invalid extra label "
                       "\"%s\"",
                       cfg->extra_names[i] ? cfg->extra_names[i] : "");
            return NULL;
        }
    }
    if (cfg->churn_fraction < 0 || cfg->churn_fraction > 1 ||
        (cfg->churn_fraction > 0 && cfg->churn_period_ms < 1)) {
        tr_err_set(err, TR_EINVAL,
                   "cannot create series model: churn fraction must be in "
                   "[0, 1] with a positive period");
        return NULL;
    }
    struct loadgen_model *m = tr_calloc(1, sizeof(*m));
    if (m == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create series model: out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    expand(m, err);
    m->slots = tr_calloc((size_t)m->nslots, sizeof(*m->slots));
    if (m->slots == NULL) {
        tr_err_set(err, TR_ENOMEM, "cannot create series model: out of memory");
        goto fail;
    }
    if (expand(m, err) != TR_OK) {
        goto fail;
    }
    m->instances = (cfg->series + m->nslots - 1) / m->nslots;
    return m;
fail:
    loadgen_model_destroy(m);
    return NULL;
}

void
loadgen_model_destroy(struct loadgen_model *m)
{
    if (m == NULL) {
        return;
    }
    tr_free(m->slots);
    tr_free(m);
}

int64_t
loadgen_model_interval_ms(const struct loadgen_model *m)
{
    return m->cfg.interval_ms;
}

int
loadgen_model_slots(const struct loadgen_model *m)
{
    return m->nslots;
}

int64_t
loadgen_model_instances(const struct loadgen_model *m)
{
    return m->instances;
}

int
loadgen_model_instance_series(const struct loadgen_model *m, int64_t inst)
{
    if (inst < m->instances - 1) {
        return m->nslots;
    }
    return (int)(m->cfg.series - (m->instances - 1) * m->nslots);
}

int64_t
loadgen_model_timestamp(const struct loadgen_model *m, int64_t step,
                        int64_t inst)
{
    int64_t iv = m->cfg.interval_ms;
    return step * iv + inst * iv / m->instances;
}

int64_t
loadgen_model_instance_names(const struct loadgen_model *m, int64_t inst,
                             int64_t ts_ms, char *node, char *app)
{
    int64_t gen = 0;
    if (m->cfg.churn_fraction > 0 &&
        unit(m, (uint64_t)inst, 0xc4, 0) < m->cfg.churn_fraction) {
        int64_t period = m->cfg.churn_period_ms;
        int64_t phase = (int64_t)(unit(m, (uint64_t)inst, 0xc5, 0) *
                                  (double)period);
        gen = (ts_ms + phase) / period;
    }
    if (gen == 0) {
        snprintf(node, LOADGEN_INSTANCE_LEN, "host-%05lld:9100",
                 (long long)inst);
        snprintf(app, LOADGEN_INSTANCE_LEN, "host-%05lld:8080",
                 (long long)inst);
    } else {
        snprintf(node, LOADGEN_INSTANCE_LEN, "host-%05lld-g%lld:9100",
                 (long long)inst, (long long)gen);
        snprintf(app, LOADGEN_INSTANCE_LEN, "host-%05lld-g%lld:8080",
                 (long long)inst, (long long)gen);
    }
    return gen;
}

int
loadgen_model_labels(const struct loadgen_model *m, int slot,
                     const char *node, const char *app,
                     struct loadgen_label *out)
{
    const struct slot *s = &m->slots[slot];
    memcpy(out, s->labels, (size_t)s->nlabels * sizeof(out[0]));
    out[s->instance_pos].value = s->f->job == JOB_NODE ? node : app;
    return s->nlabels;
}

/*
 * A counter's continuous value: rate * time since the last reboot, with a
 * per-step jitter of at most half a step's increase, so it never goes
 * down between reboots.
 */
static double
counter_raw(const struct loadgen_model *m, int64_t inst, const struct slot *s,
            int64_t step)
{
    double rate = s->f->level * s->weight *
                  (0.5 + unit(m, (uint64_t)inst, s->group, 1));
    if (rate == 0) {
        return 0;
    }
    int64_t iv = m->cfg.interval_ms;
    int64_t phase = (int64_t)(unit(m, (uint64_t)inst, 0xb0, 0) *
                              (double)reboot_period_ms);
    int64_t up_steps = ((step * iv + phase) % reboot_period_ms) / iv;
    double per_step = rate * (double)iv / 1000;
    /* Jitter like counting noise: about 3 standard deviations of a
     * Poisson count of the step's increase in quanta, at most half the
     * increase (which keeps the counter monotonic). */
    double quanta = per_step / s->f->quantum;
    double spread = quanta > 36 ? 3 / sqrt(quanta) : 0.5;
    double jitter =
        spread * unit(m, (uint64_t)inst, s->group, (uint64_t)step);
    return per_step * ((double)up_steps + jitter);
}

static double
gauge_value(const struct loadgen_model *m, int64_t inst, const struct slot *s,
            int64_t step)
{
    const struct family *f = s->f;
    double level = f->level * s->weight;
    if (f->spread > 0) {
        level *= 1 - f->spread / 2 +
                 f->spread * unit(m, (uint64_t)inst, s->group, 2);
    }
    if (f->hold == 0) {
        return quantize(level, f->quantum);
    }
    int64_t held = step / f->hold * f->hold;
    double day_ms = 86400e3;
    double t = (double)(held * m->cfg.interval_ms);
    double phase = unit(m, (uint64_t)inst, s->group, 3);
    double v = level * (1 + f->amp * sin(2 * M_PI * (t / day_ms + phase)));
    v += level * f->noise *
         (2 * unit(m, (uint64_t)inst, s->group, (uint64_t)held) - 1);
    return quantize(v, f->quantum);
}

double
loadgen_model_value(const struct loadgen_model *m, int64_t inst, int slot,
                    int64_t step)
{
    const struct slot *s = &m->slots[slot];
    const struct family *f = s->f;
    if (f->kind == K_GAUGE) {
        return gauge_value(m, inst, s, step);
    }
    double raw = counter_raw(m, inst, s, step);
    if (f->kind == K_COUNTER) {
        return quantize(raw, f->quantum);
    }
    /* Histogram: requests so far, spread over buckets by a log-logistic
     * latency distribution around a per-group median. */
    double count = floor(raw);
    double median = f->amp * (0.5 + 1.5 * unit(m, (uint64_t)inst, s->group, 4));
    switch (s->part) {
    case PART_COUNT:
        return count;
    case PART_SUM:
        return quantize(raw * median * 1.3, 0.001);
    case PART_BUCKET: {
        double le = le_values[s->le];
        if (isinf(le)) {
            return count;
        }
        double cdf = 1 / (1 + pow(median / le, 2.5));
        return floor(count * cdf);
    }
    default:
        return 0;
    }
}

const char *
loadgen_model_type(const struct loadgen_model *m, int slot)
{
    switch (m->slots[slot].f->kind) {
    case K_COUNTER:
        return "counter";
    case K_GAUGE:
        return "gauge";
    default:
        return "histogram";
    }
}
