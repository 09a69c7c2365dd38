/*
 * The standard process metrics, read at scrape time from /proc/self (and
 * getrusage/getrlimit where those are simpler and exact).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "metrics/registry.h"

static double
cpu_seconds(void *arg)
{
    (void)arg;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Field `index` (0 = size, 1 = resident) of /proc/self/statm, in bytes. */
static double
statm_bytes(int index)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    unsigned long long size = 0;
    unsigned long long resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2) {
        return 0;
    }
    double page = (double)sysconf(_SC_PAGESIZE);
    return (double)(index == 0 ? size : resident) * page;
}

static double
virtual_bytes(void *arg)
{
    (void)arg;
    return statm_bytes(0);
}

static double
resident_bytes(void *arg)
{
    (void)arg;
    return statm_bytes(1);
}

static double
open_fds(void *arg)
{
    (void)arg;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return 0;
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            count++;
        }
    }
    closedir(d);
    return count - 1; /* the directory stream's own descriptor */
}

static double
max_fds(void *arg)
{
    (void)arg;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        return 0;
    }
    return (double)rl.rlim_cur;
}

/*
 * Start time = boot time (btime in /proc/stat) + starttime (field 22 of
 * /proc/self/stat, clock ticks after boot). The comm field may contain
 * spaces and parentheses, so parsing starts after the last ')'.
 */
static double
start_time(void *arg)
{
    (void)arg;
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL) {
        return 0;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL) {
        return 0;
    }
    /* After ") " come fields 3, 4, ...; starttime is field 22. */
    unsigned long long ticks = 0;
    char *save = NULL;
    int field = 2;
    for (char *tok = strtok_r(p + 1, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        if (++field == 22) {
            ticks = strtoull(tok, NULL, 10);
            break;
        }
    }
    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return 0;
    }
    unsigned long long btime = 0;
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "btime %llu", &btime) == 1) {
            break;
        }
    }
    fclose(f);
    return (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static double
mem_bytes(void *arg)
{
    (void)arg;
    return (double)tr_mem_bytes_in_use();
}

int
tr_metrics_register_process(struct tr_metrics_registry *r, struct tr_err *err)
{
    int rc = tr_counter_func_register(
        r, "process_cpu_seconds_total",
        "CPU time used by the process (user + system), in seconds.",
        cpu_seconds, NULL, err);
    if (rc == TR_OK) {
        rc = tr_gauge_func_register(r, "process_resident_memory_bytes",
                                    "Bytes of the process resident in RAM.",
                                    resident_bytes, NULL, err);
    }
    if (rc == TR_OK) {
        rc = tr_gauge_func_register(
            r, "process_virtual_memory_bytes",
            "Bytes of virtual address space of the process.", virtual_bytes,
            NULL, err);
    }
    if (rc == TR_OK) {
        rc = tr_gauge_func_register(r, "process_open_fds",
                                    "File descriptors the process has open.",
                                    open_fds, NULL, err);
    }
    if (rc == TR_OK) {
        rc = tr_gauge_func_register(
            r, "process_max_fds",
            "Soft limit on open file descriptors (0: unlimited).", max_fds,
            NULL, err);
    }
    if (rc == TR_OK) {
        rc =
            tr_gauge_func_register(r, "process_start_time_seconds",
                                   "When the process started, in Unix seconds.",
                                   start_time, NULL, err);
    }
    if (rc == TR_OK) {
        rc = tr_gauge_func_register(r, "tr_mem_bytes",
                                    "Heap bytes in use through tr_malloc.",
                                    mem_bytes, NULL, err);
    }
    return rc;
}
