/*
 * trident-loadgen: drives a Prometheus remote-write endpoint (Trident's
 * /api/v1/push, Prometheus's /api/v1/write) with node-exporter-like series,
 * printing progress every second and a summary at the end; or writes the
 * same data as OpenMetrics text for `promtool tsdb create-blocks-from
 * openmetrics`. See loadtest/README.md.
 *
 * Exit status: 0 on success, 1 when the share of dropped samples exceeded
 * --max-error-ratio (or nothing was acknowledged), 2 on bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "model.h"
#include "sender.h"
#include "stats.h"

struct options {
    struct loadgen_config run;
    struct loadgen_model_config model;
    const char *start, *end; /* sim clock range */
    int64_t duration_ns;     /* 0: until the range ends (sim) */
    double max_error_ratio;
    const char *summary_json;
    const char *format; /* "remote-write" or "openmetrics" */
    const char *output;
    bool quiet;
    char *extra_storage[LOADGEN_MAX_EXTRA_LABELS];
};

static atomic_int stop_flag;

static void
on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void
usage(FILE *f)
{
    fputs(
        "usage: trident-loadgen --url URL [options]\n"
        "       trident-loadgen --format openmetrics --output FILE "
        "--start T --end T [options]\n"
        "\n"
        "  --url URL              remote-write endpoint (Trident: "
        ".../api/v1/push,\n"
        "                         Prometheus: .../api/v1/write)\n"
        "  --series N             active series (default 10000)\n"
        "  --interval DUR         scrape interval (default 15s)\n"
        "  --senders N            concurrent senders/connections (default 4)\n"
        "  --batch N              most samples per request (default 2000)\n"
        "  --clock real|sim       real: send each scrape when due (default);\n"
        "                         sim: send the steps of [--start, --end) as\n"
        "                         fast as --rate allows (backfill)\n"
        "  --start T, --end T     sim range: now, now-DUR, now+DUR or unix ms\n"
        "                         (default now-1h .. now)\n"
        "  --rate R               samples/s cap over all senders (sim; 0 = "
        "none)\n"
        "  --duration DUR         stop after DUR (default 60s with the real\n"
        "                         clock, the whole range with sim)\n"
        "  --churn F              fraction of instances that change identity\n"
        "                         every --churn-period (default 0, 1h)\n"
        "  --churn-period DUR\n"
        "  --seed N               data seed (default 1)\n"
        "  --tenant ID            send X-Scope-OrgID: ID\n"
        "  --extra-label N=V      add a label to every series (repeatable)\n"
        "  --retries N            retries of 5xx/network errors (default 10)\n"
        "  --retry-on-429         retry 429 too\n"
        "  --timeout DUR          per request (default 30s)\n"
        "  --max-error-ratio F    dropped/total above which the exit status\n"
        "                         is 1 (default 0.01)\n"
        "  --summary-json FILE    write the summary as JSON\n"
        "  --quiet                no progress lines\n"
        "  --format openmetrics   write samples as OpenMetrics text instead\n"
        "  --output FILE          (with --format; - is stdout)\n",
        f);
}

/* "now", "now-DUR", "now+DUR" or unix milliseconds. */
static int
parse_time(const char *s, int64_t now_ms, int64_t *out, struct tr_err *err)
{
    if (strncmp(s, "now", 3) == 0) {
        if (s[3] == '\0') {
            *out = now_ms;
            return TR_OK;
        }
        if (s[3] != '-' && s[3] != '+') {
            return tr_err_set(err, TR_EINVAL, "cannot parse time \"%s\"", s);
        }
        int64_t ns;
        int rc = tr_duration_parse(s + 4, &ns, err);
        if (rc != TR_OK) {
            return tr_err_prefix(err, "cannot parse time \"%s\"", s);
        }
        *out = now_ms + (s[3] == '-' ? -1 : 1) * (ns / TR_NS_PER_MS);
        return TR_OK;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0') {
        return tr_err_set(err, TR_EINVAL,
                          "cannot parse time \"%s\": want now, now-DUR or "
                          "unix milliseconds",
                          s);
    }
    *out = v;
    return TR_OK;
}

static int
parse_count(const char *flag, const char *s, int64_t min, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min) {
        fprintf(stderr, "cannot parse %s \"%s\": want an integer >= %" PRId64
                        "\n",
                flag, s, min);
        return TR_EINVAL;
    }
    *out = v;
    return TR_OK;
}

static int
parse_number(const char *flag, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= 0)) {
        fprintf(stderr, "cannot parse %s \"%s\": want a number >= 0\n", flag,
                s);
        return TR_EINVAL;
    }
    *out = v;
    return TR_OK;
}

static int
parse_dur(const char *flag, const char *s, int64_t *out)
{
    struct tr_err err;
    if (tr_duration_parse(s, out, &err) != TR_OK) {
        fprintf(stderr, "cannot parse %s: %s\n", flag, err.msg);
        return TR_EINVAL;
    }
    return TR_OK;
}

enum {
    OPT_URL = 256, OPT_SERIES, OPT_INTERVAL, OPT_SENDERS, OPT_BATCH,
    OPT_CLOCK, OPT_START, OPT_END, OPT_RATE, OPT_DURATION, OPT_CHURN,
    OPT_CHURN_PERIOD, OPT_SEED, OPT_TENANT, OPT_EXTRA, OPT_RETRIES,
    OPT_RETRY429, OPT_TIMEOUT, OPT_MAXERR, OPT_SUMMARY, OPT_QUIET,
    OPT_FORMAT, OPT_OUTPUT, OPT_HELP,
};

static const struct option long_options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"series", required_argument, NULL, OPT_SERIES},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"senders", required_argument, NULL, OPT_SENDERS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"clock", required_argument, NULL, OPT_CLOCK},
    {"start", required_argument, NULL, OPT_START},
    {"end", required_argument, NULL, OPT_END},
    {"rate", required_argument, NULL, OPT_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"churn", required_argument, NULL, OPT_CHURN},
    {"churn-period", required_argument, NULL, OPT_CHURN_PERIOD},
    {"seed", required_argument, NULL, OPT_SEED},
    {"tenant", required_argument, NULL, OPT_TENANT},
    {"extra-label", required_argument, NULL, OPT_EXTRA},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-on-429", no_argument, NULL, OPT_RETRY429},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-error-ratio", required_argument, NULL, OPT_MAXERR},
    {"summary-json", required_argument, NULL, OPT_SUMMARY},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int
parse_options(int argc, char **argv, struct options *o)
{
    int64_t v, senders = 4, batch = 2000, retries = 10;
    int64_t interval_ns = 15 * TR_NS_PER_SEC, churn_ns = 3600 * TR_NS_PER_SEC;
    int64_t timeout_ns = 30 * TR_NS_PER_SEC;
    const char *clock = "real";
    int c;

    o->model.seed = 1;
    o->model.series = 10000;
    o->max_error_ratio = 0.01;
    o->format = "remote-write";
    o->duration_ns = -1;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        int rc = TR_OK;
        switch (c) {
        case OPT_URL: o->run.url = optarg; break;
        case OPT_SERIES:
            rc = parse_count("--series", optarg, 1, &o->model.series);
            break;
        case OPT_INTERVAL:
            rc = parse_dur("--interval", optarg, &interval_ns);
            break;
        case OPT_SENDERS: rc = parse_count("--senders", optarg, 1, &senders); break;
        case OPT_BATCH: rc = parse_count("--batch", optarg, 1, &batch); break;
        case OPT_CLOCK: clock = optarg; break;
        case OPT_START: o->start = optarg; break;
        case OPT_END: o->end = optarg; break;
        case OPT_RATE: rc = parse_number("--rate", optarg, &o->run.rate); break;
        case OPT_DURATION:
            rc = parse_dur("--duration", optarg, &o->duration_ns);
            break;
        case OPT_CHURN:
            rc = parse_number("--churn", optarg, &o->model.churn_fraction);
            break;
        case OPT_CHURN_PERIOD:
            rc = parse_dur("--churn-period", optarg, &churn_ns);
            break;
        case OPT_SEED:
            rc = parse_count("--seed", optarg, 0, &v);
            o->model.seed = (uint64_t)v;
            break;
        case OPT_TENANT: o->run.tenant = optarg; break;
        case OPT_EXTRA: {
            int i = o->model.extra_labels;
            char *eq = strchr(optarg, '=');
            if (i == LOADGEN_MAX_EXTRA_LABELS || eq == NULL) {
                fprintf(stderr, "cannot parse --extra-label \"%s\": want "
                                "NAME=VALUE, at most %d\n",
                        optarg, LOADGEN_MAX_EXTRA_LABELS);
                return TR_EINVAL;
            }
            o->extra_storage[i] = tr_xstrdup(optarg);
            o->extra_storage[i][eq - optarg] = '\0';
            o->model.extra_names[i] = o->extra_storage[i];
            o->model.extra_values[i] = o->extra_storage[i] + (eq - optarg) + 1;
            o->model.extra_labels++;
            break;
        }
        case OPT_RETRIES: rc = parse_count("--retries", optarg, 0, &retries); break;
        case OPT_RETRY429: o->run.retry_429 = true; break;
        case OPT_TIMEOUT: rc = parse_dur("--timeout", optarg, &timeout_ns); break;
        case OPT_MAXERR:
            rc = parse_number("--max-error-ratio", optarg, &o->max_error_ratio);
            break;
        case OPT_SUMMARY: o->summary_json = optarg; break;
        case OPT_QUIET: o->quiet = true; break;
        case OPT_FORMAT: o->format = optarg; break;
        case OPT_OUTPUT: o->output = optarg; break;
        case 'h':
        case OPT_HELP: usage(stdout); exit(0);
        default: usage(stderr); return TR_EINVAL;
        }
        if (rc != TR_OK) {
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cannot parse arguments: unexpected \"%s\"\n",
                argv[optind]);
        return TR_EINVAL;
    }
    if (strcmp(clock, "real") == 0) {
        o->run.clock = LOADGEN_CLOCK_REAL;
    } else if (strcmp(clock, "sim") == 0) {
        o->run.clock = LOADGEN_CLOCK_SIM;
    } else {
        fprintf(stderr, "cannot parse --clock \"%s\": want real or sim\n",
                clock);
        return TR_EINVAL;
    }
    bool om = strcmp(o->format, "openmetrics") == 0;
    if (!om && strcmp(o->format, "remote-write") != 0) {
        fprintf(stderr, "cannot parse --format \"%s\": want remote-write or "
                        "openmetrics\n",
                o->format);
        return TR_EINVAL;
    }
    if (om ? o->output == NULL : o->run.url == NULL) {
        fprintf(stderr, om ? "--output is required with --format openmetrics\n"
                           : "--url is required\n");
        return TR_EINVAL;
    }
    if (interval_ns < TR_NS_PER_MS) {
        fprintf(stderr, "cannot use --interval: below 1ms\n");
        return TR_EINVAL;
    }
    if (senders > 256 || batch > 100000) {
        fprintf(stderr, "cannot use --senders above 256 or --batch above "
                        "100000\n");
        return TR_EINVAL;
    }
    o->model.interval_ms = interval_ns / TR_NS_PER_MS;
    o->model.churn_period_ms = churn_ns / TR_NS_PER_MS;
    o->run.senders = (int)senders;
    o->run.batch = (int)batch;
    o->run.retries = (int)retries;
    o->run.timeout_ms = timeout_ns / TR_NS_PER_MS;
    if (o->duration_ns < 0) {
        o->duration_ns =
            o->run.clock == LOADGEN_CLOCK_REAL ? 60 * TR_NS_PER_SEC : 0;
    }

    /* Steps: absolute, so equal settings give equal data in every run. */
    int64_t now = tr_now_ms(), iv = o->model.interval_ms;
    if (o->run.clock == LOADGEN_CLOCK_SIM || om) {
        int64_t start, end;
        struct tr_err err;
        if (parse_time(o->start ? o->start : "now-1h", now, &start, &err) ||
            parse_time(o->end ? o->end : "now", now, &end, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return TR_EINVAL;
        }
        o->run.start_step = (start + iv - 1) / iv;
        o->run.end_step = (end + iv - 1) / iv;
        if (o->run.end_step <= o->run.start_step) {
            fprintf(stderr, "cannot use --start/--end: the range holds no "
                            "scrape\n");
            return TR_EINVAL;
        }
    } else {
        o->run.start_step = (now + iv - 1) / iv;
        o->run.end_step = INT64_MAX;
    }
    return TR_OK;
}

/* Shortest text that reads back as the same double. */
static void
format_value(double v, char *out, size_t size)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

static int
write_openmetrics(const struct options *o, const struct loadgen_model *m)
{
    FILE *f = strcmp(o->output, "-") == 0 ? stdout : fopen(o->output, "w");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", o->output, strerror(errno));
        return 1;
    }
    int64_t n = loadgen_model_instances(m), lines = 0;
    struct loadgen_label lbuf[LOADGEN_MAX_LABELS];
    char node[LOADGEN_INSTANCE_LEN], app[LOADGEN_INSTANCE_LEN], val[40];
    for (int64_t step = o->run.start_step; step < o->run.end_step; step++) {
        for (int64_t inst = 0; inst < n; inst++) {
            int64_t ts = loadgen_model_timestamp(m, step, inst);
            loadgen_model_instance_names(m, inst, ts, node, app);
            int ns = loadgen_model_instance_series(m, inst);
            for (int slot = 0; slot < ns; slot++) {
                int nl = loadgen_model_labels(m, slot, node, app, lbuf);
                const char *name = "";
                int first = 1;
                for (int i = 0; i < nl; i++) {
                    if (strcmp(lbuf[i].name, "__name__") == 0) {
                        name = lbuf[i].value;
                    }
                }
                fputs(name, f);
                for (int i = 0; i < nl; i++) {
                    if (strcmp(lbuf[i].name, "__name__") == 0) {
                        continue;
                    }
                    fprintf(f, "%s%s=\"%s\"", first ? "{" : ",",
                            lbuf[i].name, lbuf[i].value);
                    first = 0;
                }
                format_value(loadgen_model_value(m, inst, slot, step), val,
                             sizeof(val));
                fprintf(f, "%s %s %" PRId64 ".%03" PRId64 "\n",
                        first ? "" : "}", val, ts / 1000, ts % 1000);
                lines++;
            }
        }
    }
    fputs("# EOF\n", f);
    int bad = ferror(f);
    if (f != stdout) {
        bad |= fclose(f);
    } else {
        bad |= fflush(f);
    }
    if (bad) {
        fprintf(stderr, "cannot write %s: %s\n", o->output, strerror(errno));
        return 1;
    }
    fprintf(stderr, "wrote %" PRId64 " samples to %s\n", lines, o->output);
    return 0;
}

/* "204:1200 500:3": requests by status, for progress and summary. */
static void
format_statuses(struct loadgen_stats *s, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < LOADGEN_MAX_STATUS && len + 24 < size; i++) {
        int64_t n = atomic_load(&s->status[i]);
        if (n > 0) {
            len += (size_t)snprintf(out + len, size - len, "%s%d:%" PRId64,
                                    len ? " " : "", i, n);
        }
    }
}

static double
current_lag(struct loadgen_sender *senders, int n)
{
    int64_t now = tr_mono_ns(), lag = 0;
    for (int i = 0; i < n; i++) {
        int64_t due = atomic_load(&senders[i].due_ns);
        if (due != 0 && now - due > lag) {
            lag = now - due;
        }
    }
    return (double)lag / 1e9;
}

struct totals {
    int64_t sent, acked, failed;
};

static void
read_totals(struct loadgen_stats *s, struct totals *t)
{
    t->sent = atomic_load(&s->samples_sent);
    t->acked = atomic_load(&s->samples_acked);
    t->failed = atomic_load(&s->samples_failed);
}

int
main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof(o));
    int status = 2;
    struct loadgen_model *model = NULL;
    struct loadgen_sender *senders = NULL;
    struct loadgen_stats *stats = NULL;
    struct tr_err err;

    if (parse_options(argc, argv, &o) != TR_OK) {
        goto out;
    }
    model = loadgen_model_create(&o.model, &err);
    if (model == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    if (strcmp(o.format, "openmetrics") == 0) {
        status = write_openmetrics(&o, model);
        goto out;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    stats = tr_xcalloc(1, sizeof(*stats));
    senders = tr_xcalloc((size_t)o.run.senders, sizeof(*senders));
    o.run.wall_to_mono_ns = tr_mono_ns() - tr_now_ns();
    o.run.t0_mono_ns = tr_mono_ns();
    int64_t steps = o.run.clock == LOADGEN_CLOCK_SIM
                        ? o.run.end_step - o.run.start_step
                        : 0;
    if (!o.quiet) {
        fprintf(stderr,
                "loadgen url=%s series=%" PRId64 " instances=%" PRId64
                " interval_ms=%" PRId64 " senders=%d clock=%s steps=%" PRId64
                " rate=%.0f\n",
                o.run.url, o.model.series, loadgen_model_instances(model),
                o.model.interval_ms, o.run.senders,
                o.run.clock == LOADGEN_CLOCK_SIM ? "sim" : "real", steps,
                o.run.rate);
    }
    int started_ok = 1;
    for (int i = 0; i < o.run.senders; i++) {
        senders[i].id = i;
        senders[i].cfg = &o.run;
        senders[i].model = model;
        senders[i].stats = stats;
        senders[i].stop = &stop_flag;
        senders[i].all = senders;
        if (loadgen_sender_start(&senders[i], &err) != TR_OK) {
            fprintf(stderr, "%s\n", err.msg);
            atomic_store(&stop_flag, 1);
            started_ok = 0;
            for (int j = i + 1; j < o.run.senders; j++) {
                senders[j].st = NULL;
            }
            break;
        }
    }

    int64_t t0 = o.run.t0_mono_ns, last = t0;
    struct totals prev = {0, 0, 0}, now_t;
    double max_lag = 0, lag = 0;
    for (;;) {
        int all_done = 1;
        for (int i = 0; i < o.run.senders; i++) {
            all_done &= atomic_load(&senders[i].done) != 0;
        }
        int64_t now = tr_mono_ns();
        if (o.duration_ns > 0 && now - t0 >= o.duration_ns) {
            atomic_store(&stop_flag, 1);
        }
        if (all_done || atomic_load(&stop_flag)) {
            break;
        }
        if (now - last >= TR_NS_PER_SEC) {
            double dt = (double)(now - last) / 1e9;
            read_totals(stats, &now_t);
            lag = current_lag(senders, o.run.senders);
            max_lag = lag > max_lag ? lag : max_lag;
            if (!o.quiet) {
                char st[256];
                format_statuses(stats, st, sizeof(st));
                fprintf(stderr,
                        "progress elapsed_s=%.1f sent_per_s=%.0f "
                        "acked_per_s=%.0f acked_total=%" PRId64
                        " failed_total=%" PRId64 " lag_s=%.3f p50_ms=%.2f "
                        "p99_ms=%.2f net_errors=%" PRId64 " status=\"%s\"\n",
                        (double)(now - t0) / 1e9,
                        (double)(now_t.sent - prev.sent) / dt,
                        (double)(now_t.acked - prev.acked) / dt, now_t.acked,
                        now_t.failed, lag,
                        loadgen_latency_quantile(&stats->lat_window, 0.5) * 1e3,
                        loadgen_latency_quantile(&stats->lat_window, 0.99) *
                            1e3,
                        (int64_t)atomic_load(&stats->net_errors), st);
            }
            loadgen_latency_reset(&stats->lat_window);
            prev = now_t;
            last = now;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    double final_lag = current_lag(senders, o.run.senders);
    for (int i = 0; i < o.run.senders; i++) {
        loadgen_sender_join(&senders[i]);
    }
    double elapsed = (double)(tr_mono_ns() - t0) / 1e9;
    read_totals(stats, &now_t);
    int64_t total = now_t.acked + now_t.failed;
    double ratio = total > 0 ? (double)now_t.failed / (double)total : 0;
    const char *first_error = "";
    for (int i = 0; i < o.run.senders; i++) {
        if (atomic_load(&senders[i].has_error)) {
            first_error = senders[i].first_error;
            break;
        }
    }
    bool ok = started_ok && ratio <= o.max_error_ratio &&
              (now_t.acked > 0 || now_t.sent == 0);
    char st[256];
    format_statuses(stats, st, sizeof(st));
    double p50 = loadgen_latency_quantile(&stats->lat_total, 0.5);
    double p99 = loadgen_latency_quantile(&stats->lat_total, 0.99);
    printf("summary elapsed_s=%.2f acked_total=%" PRId64
           " failed_total=%" PRId64 " acked_per_s=%.0f error_ratio=%.4f "
           "requests=%" PRId64 " retries=%" PRId64 " net_errors=%" PRId64
           " bytes_sent=%" PRId64 " p50_ms=%.2f p99_ms=%.2f max_lag_s=%.3f "
           "final_lag_s=%.3f status=\"%s\" ok=%s\n",
           elapsed, now_t.acked, now_t.failed,
           elapsed > 0 ? (double)now_t.acked / elapsed : 0, ratio,
           (int64_t)atomic_load(&stats->requests),
           (int64_t)atomic_load(&stats->retries),
           (int64_t)atomic_load(&stats->net_errors),
           (int64_t)atomic_load(&stats->bytes_sent), p50 * 1e3, p99 * 1e3,
           max_lag, final_lag, st, ok ? "true" : "false");
    if (first_error[0]) {
        printf("first_error: %s\n", first_error);
    }
    fflush(stdout);
    if (o.summary_json) {
        FILE *f = fopen(o.summary_json, "w");
        if (f == NULL) {
            fprintf(stderr, "cannot open %s: %s\n", o.summary_json,
                    strerror(errno));
            ok = false;
        } else {
            /* The error text is made JSON-safe by dropping quotes and
             * backslashes; it is for people, not for parsing. */
            char safe[256];
            size_t j = 0;
            for (size_t i = 0; first_error[i] && j + 1 < sizeof(safe); i++) {
                unsigned char ch = (unsigned char)first_error[i];
                if (ch != '"' && ch != '\\' && ch >= 0x20) {
                    safe[j++] = (char)ch;
                }
            }
            safe[j] = '\0';
            fprintf(f,
                    "{\"elapsed_seconds\":%.3f,\"series\":%" PRId64
                    ",\"samples_acked\":%" PRId64
                    ",\"samples_failed\":%" PRId64
                    ",\"samples_per_second\":%.1f,\"error_ratio\":%.6f,"
                    "\"requests\":%" PRId64 ",\"retries\":%" PRId64
                    ",\"net_errors\":%" PRId64 ",\"bytes_sent\":%" PRId64
                    ",\"latency_p50_seconds\":%.6f,"
                    "\"latency_p99_seconds\":%.6f,\"max_lag_seconds\":%.3f,"
                    "\"final_lag_seconds\":%.3f,\"statuses\":\"%s\","
                    "\"first_error\":\"%s\",\"ok\":%s}\n",
                    elapsed, o.model.series, now_t.acked, now_t.failed,
                    elapsed > 0 ? (double)now_t.acked / elapsed : 0, ratio,
                    (int64_t)atomic_load(&stats->requests),
                    (int64_t)atomic_load(&stats->retries),
                    (int64_t)atomic_load(&stats->net_errors),
                    (int64_t)atomic_load(&stats->bytes_sent), p50, p99,
                    max_lag, final_lag, st, safe, ok ? "true" : "false");
            fclose(f);
        }
    }
    status = ok ? 0 : 1;
    curl_global_cleanup();
out:
    tr_free(senders);
    tr_free(stats);
    loadgen_model_destroy(model);
    for (int i = 0; i < LOADGEN_MAX_EXTRA_LABELS; i++) {
        tr_free(o.extra_storage[i]);
    }
    return status;
}
