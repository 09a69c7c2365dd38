/*
 * trident: parses flags and the config file, starts the roles named by
 * -target in dependency order, and stops them in reverse on SIGTERM/SIGINT
 * within server.shutdown_timeout.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "modules.h"
#include "promql/promqltest.h"
#include "tr_build_config.h"

struct cli {
    const char *config_file;
    int print_config;
    int print_reference;
    int version;
    int help;
};

static void
usage(FILE *out)
{
    struct tr_buf help = TR_BUF_INIT;
    tr_config_write_help(&help);
    fprintf(out,
            "Usage: trident [flags]\n"
            "       trident promqltest FILE...   run PromQL test scripts\n\n"
            "Runs Trident roles. Options come from defaults, then the YAML "
            "file of\n-config.file, then flags (-key=value), each overriding "
            "the one before.\n\n"
            "  -config.file string\n    \tYAML configuration file.\n"
            "  -print-config\n    \tPrint the effective configuration as "
            "YAML and exit.\n"
            "  -print-config-reference\n    \tPrint the option reference "
            "(docs/configuration.md table) and exit.\n"
            "  -version\n    \tPrint the version and exit.\n"
            "  -help\n    \tPrint this help and exit.\n%s",
            help.data != NULL ? help.data : "");
    tr_buf_fini(&help);
}

/* Strips one or two leading dashes; NULL if arg is not a flag. */
static const char *
flag_body(const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0') {
        return NULL;
    }
    return arg[1] == '-' ? arg + 2 : arg + 1;
}

/*
 * Reads the command line into cli and cfg. The config file is loaded
 * before any other flag is applied, wherever -config.file appears.
 */
static int
parse_args(int argc, char **argv, struct cli *cli, struct tr_config *cfg,
           struct tr_err *err)
{
    /* Pass 1: the flags that are not options, and the config file. */
    for (int i = 1; i < argc; i++) {
        const char *f = flag_body(argv[i]);
        if (f == NULL) {
            return tr_err_set(err, TR_EINVAL,
                              "unexpected argument \"%s\" (flags are "
                              "-key=value; see -help)",
                              argv[i]);
        }
        if (strcmp(f, "help") == 0 || strcmp(f, "h") == 0) {
            cli->help = 1;
        } else if (strcmp(f, "version") == 0) {
            cli->version = 1;
        } else if (strcmp(f, "print-config") == 0) {
            cli->print_config = 1;
        } else if (strcmp(f, "print-config-reference") == 0) {
            cli->print_reference = 1;
        } else if (strncmp(f, "config.file=", 12) == 0) {
            cli->config_file = f + 12;
        } else if (strcmp(f, "config.file") == 0 && i + 1 < argc) {
            cli->config_file = argv[++i];
        }
    }
    if (cli->config_file != NULL &&
        tr_config_load_file(cfg, cli->config_file, err) != TR_OK) {
        return TR_EINVAL;
    }
    /* Pass 2: every option flag, overriding the file. */
    for (int i = 1; i < argc; i++) {
        const char *f = flag_body(argv[i]);
        if (strcmp(f, "help") == 0 || strcmp(f, "h") == 0 ||
            strcmp(f, "version") == 0 || strcmp(f, "print-config") == 0 ||
            strcmp(f, "print-config-reference") == 0 ||
            strncmp(f, "config.file", 11) == 0) {
            if (strcmp(f, "config.file") == 0) {
                i++;
            }
            continue;
        }
        char name[256];
        const char *eq = strchr(f, '=');
        const char *value;
        size_t n = eq != NULL ? (size_t)(eq - f) : strlen(f);
        if (n >= sizeof(name)) {
            return tr_err_set(err, TR_EINVAL, "flag too long: %s", argv[i]);
        }
        memcpy(name, f, n);
        name[n] = '\0';
        const struct tr_config_option *opt = tr_config_find(name);
        if (opt == NULL) {
            return tr_err_set(err, TR_EINVAL,
                              "unknown flag -%s (see -help)", name);
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (opt->type == TR_CONFIG_BOOL) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return tr_err_set(err, TR_EINVAL, "flag -%s needs a value",
                              name);
        }
        if (tr_config_set(cfg, name, value, err) != TR_OK) {
            return TR_EINVAL;
        }
    }
    return TR_OK;
}

static int64_t shutdown_timeout_ns;

/* Ends the process if stopping takes longer than allowed. */
static void *
shutdown_watchdog(void *arg)
{
    (void)arg;
    struct timespec ts = {
        .tv_sec = (time_t)(shutdown_timeout_ns / TR_NS_PER_SEC),
        .tv_nsec = (long)(shutdown_timeout_ns % TR_NS_PER_SEC),
    };
    nanosleep(&ts, NULL);
    tr_log_error("shutdown timed out; exiting without finishing",
                 "timeout_ms=%lld",
                 (long long)(shutdown_timeout_ns / TR_NS_PER_MS));
    _exit(2);
    return NULL;
}

int
main(int argc, char **argv)
{
    /* Subcommands come first; everything else is flags for the server. */
    if (argc > 1 && strcmp(argv[1], "promqltest") == 0) {
        return tr_promqltest_main(argc - 1, argv + 1);
    }

#ifdef __GLIBC__
    /* A fixed threshold: blocks of 1 MiB and more (query arenas, request
     * buffers) are mapped and given back to the system when freed. glibc
     * otherwise raises the threshold after such frees and serves them from
     * the heap, where a burst of queries leaves resident memory behind. */
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
#endif
    struct cli cli = {0};
    struct tr_config cfg;
    struct tr_err err = {0};
    int status = 1;

    if (tr_config_init(&cfg, &err) != TR_OK) {
        fprintf(stderr, "trident: %s\n", err.msg);
        return 1;
    }
    if (parse_args(argc, argv, &cli, &cfg, &err) != TR_OK) {
        fprintf(stderr, "trident: %s\n", err.msg);
        goto out;
    }
    if (cli.help) {
        usage(stdout);
        status = 0;
        goto out;
    }
    if (cli.version) {
        printf("trident, version %s (revision: %s, branch: %s)\n", TR_VERSION,
               TR_REVISION, TR_BRANCH);
        status = 0;
        goto out;
    }
    if (cli.print_reference) {
        struct tr_buf doc = TR_BUF_INIT;
        tr_config_write_reference(&doc);
        fwrite(doc.data, 1, doc.len, stdout);
        tr_buf_fini(&doc);
        status = 0;
        goto out;
    }
    if (tr_config_validate(&cfg, &err) != TR_OK) {
        fprintf(stderr, "trident: %s\n", err.msg);
        goto out;
    }
    if (cli.print_config) {
        struct tr_buf yaml = TR_BUF_INIT;
        tr_config_write_yaml(&cfg, &yaml, false);
        fwrite(yaml.data, 1, yaml.len, stdout);
        tr_buf_fini(&yaml);
        status = 0;
        goto out;
    }
    enum tr_log_level level;
    tr_log_level_parse(cfg.server.log_level, &level); /* validated choice */
    tr_log_set_level(level);

    /* Block the stop signals in every thread (threads inherit the mask);
     * the main thread waits for them with sigwait. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct tr_app *app =
        tr_app_create(tr_modules, tr_modules_count, &cfg, &err);
    if (app == NULL) {
        fprintf(stderr, "trident: %s\n", err.msg);
        goto out;
    }
    tr_log_info("starting trident", "version=%s revision=%s target=%s",
                TR_VERSION, TR_REVISION, cfg.target);
    if (tr_app_start(app, &err) != TR_OK) {
        fprintf(stderr, "trident: %s\n", err.msg);
        tr_app_destroy(app);
        goto out;
    }
    tr_log_info("trident started");

    int sig = 0;
    sigwait(&stop_signals, &sig);
    tr_log_info("stopping trident", "signal=%s",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    shutdown_timeout_ns = cfg.server.shutdown_timeout_ns;
    pthread_t watchdog;
    if (pthread_create(&watchdog, NULL, shutdown_watchdog, NULL) == 0) {
        pthread_detach(watchdog);
    }
    tr_app_destroy(app);
    tr_log_info("trident stopped");
    status = 0;
out:
    tr_config_fini(&cfg);
    return status;
}
