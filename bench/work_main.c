/*
 * work_main.c: command line and report of vgpu-work, the CUDA driver-API
 * workload generator used by the demo, the benchmarks and the tests.
 *
 * vgpu-work behaves like a small CUDA application (see work_run.c) and
 * reports what one tenant saw: completed launches, launch rate and the wall
 * latency of each synchronised batch. The same binary runs on a real GPU, on
 * simgpu and under libvgpu's hooks, because it only ever reaches the driver
 * through dlopen and cuGetProcAddress (work_cuda.c).
 *
 * Exit status: 0 on success, also when stopped by SIGINT or SIGTERM (the
 * summary then covers what ran so far); 1 when the driver or the system
 * fails; 2 for a bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "work_cuda.h"
#include "work_ptx.h"
#include "work_run.h"
#include "common.h"

#define PROG "vgpu-work"
#define MAX_LABEL 128
#define MAX_KERNEL_US 100000000ULL /* 100 s per launch */
#define MAX_DURATION_S 1e7

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " [OPTION]...\n"
               "Launch one CUDA kernel back to back through the driver API and report the\n"
               "launch rate and the wall latency of each synchronised batch.\n"
               "\n"
               "  --device N        CUDA device ordinal (default 0)\n"
               "  --duration SEC    wall time to keep launching, may be fractional (default 2)\n"
               "  --kernel K        busy: spin on %%globaltimer for --kernel-us (default);\n"
               "                    fma: a dependent FMA chain sized from the clock rate to\n"
               "                    take about --kernel-us; empty: an empty kernel\n"
               "  --kernel-us US    microseconds per launch for busy and fma (default 1000)\n"
               "  --grid N          blocks per launch (default: SM count; 1 for empty)\n"
               "  --block N         threads per block, 1-1024 (default 32; 1 for empty)\n"
               "  --sync-every K    cuStreamSynchronize after every K launches (default 1);\n"
               "                    0: only at the end, after waiting for all queued launches,\n"
               "                    so the run can outlast --duration\n"
               "  --period-us US    start a batch every US microseconds, sleeping in between\n"
               "                    (a latency loop; needs --sync-every > 0; default 0: back\n"
               "                    to back)\n"
               "  --mem SIZE        cuMemAlloc SIZE bytes at start and hold them for the run;\n"
               "                    suffixes k/KiB, m/MiB, g/GiB (powers of 1024)\n"
               "  --label NAME      name to report (default " PROG ")\n"
               "  --json            print one JSON object on one line instead of the summary\n"
               "  --print-ptx       print the embedded PTX module and exit (no driver needed)\n"
               "  -h, --help        print this help and exit\n"
               "\n"
               "SIGINT or SIGTERM stops launching; the run synchronises, reports and exits 0\n"
               "(a second signal kills it).\n"
               "Exit status: 0 success, 1 driver or system failure, 2 bad command line.\n");
}

/* Unsigned decimal in [min, max]; rejects signs, blanks and trailing text. */
static int parse_uint(const char *text, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v;

    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int bad_value(const char *opt, const char *value, const char *expected)
{
    fprintf(stderr, PROG ": invalid %s value '%s': expected %s\n", opt, value, expected);
    return -EINVAL;
}

enum {
    OPT_DEVICE = 256,
    OPT_DURATION,
    OPT_KERNEL,
    OPT_KERNEL_US,
    OPT_GRID,
    OPT_BLOCK,
    OPT_SYNC_EVERY,
    OPT_PERIOD_US,
    OPT_MEM,
    OPT_LABEL,
    OPT_JSON,
    OPT_PRINT_PTX,
};

static const struct option long_options[] = {
    {"device", required_argument, NULL, OPT_DEVICE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"kernel-us", required_argument, NULL, OPT_KERNEL_US},
    {"grid", required_argument, NULL, OPT_GRID},
    {"block", required_argument, NULL, OPT_BLOCK},
    {"sync-every", required_argument, NULL, OPT_SYNC_EVERY},
    {"period-us", required_argument, NULL, OPT_PERIOD_US},
    {"mem", required_argument, NULL, OPT_MEM},
    {"label", required_argument, NULL, OPT_LABEL},
    {"json", no_argument, NULL, OPT_JSON},
    {"print-ptx", no_argument, NULL, OPT_PRINT_PTX},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Applies one parsed option to o. Returns 0 or -EINVAL (after one line on stderr). */
static int apply_option(int opt, const char *arg, struct work_opts *o)
{
    unsigned long long v = 0;
    char *end = NULL;
    double d;

    switch (opt) {
    case OPT_DEVICE:
        if (parse_uint(arg, 0, 1024, &v) != 0)
            return bad_value("--device", arg, "a device ordinal from 0 to 1024");
        o->device = (int)v;
        return 0;
    case OPT_DURATION:
        errno = 0;
        d = strtod(arg, &end);
        if (arg[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(d) || d < 0 ||
            d > MAX_DURATION_S)
            return bad_value("--duration", arg, "seconds from 0 to 1e7, e.g. 2 or 0.5");
        o->duration_s = d;
        return 0;
    case OPT_KERNEL:
        if (strcmp(arg, "busy") == 0)
            o->kernel = WORK_BUSY;
        else if (strcmp(arg, "fma") == 0)
            o->kernel = WORK_FMA;
        else if (strcmp(arg, "empty") == 0)
            o->kernel = WORK_EMPTY;
        else
            return bad_value("--kernel", arg, "busy, fma or empty");
        return 0;
    case OPT_KERNEL_US:
        if (parse_uint(arg, 0, MAX_KERNEL_US, &v) != 0)
            return bad_value("--kernel-us", arg, "microseconds from 0 to 100000000");
        o->kernel_us = v;
        return 0;
    case OPT_GRID:
        if (parse_uint(arg, 1, 2147483647ULL, &v) != 0)
            return bad_value("--grid", arg, "a block count from 1 to 2147483647");
        o->grid = (unsigned)v;
        return 0;
    case OPT_BLOCK:
        if (parse_uint(arg, 1, 1024, &v) != 0)
            return bad_value("--block", arg, "a thread count from 1 to 1024");
        o->block = (unsigned)v;
        return 0;
    case OPT_SYNC_EVERY:
        if (parse_uint(arg, 0, 1000000000ULL, &v) != 0)
            return bad_value("--sync-every", arg, "a launch count from 0 to 1000000000");
        o->sync_every = (unsigned)v;
        return 0;
    case OPT_PERIOD_US:
        if (parse_uint(arg, 0, MAX_KERNEL_US, &v) != 0)
            return bad_value("--period-us", arg, "microseconds from 0 to 100000000");
        o->period_us = v;
        return 0;
    case OPT_MEM:
        if (vgpu_parse_size(arg, &o->mem_bytes) != 0 || o->mem_bytes > SIZE_MAX)
            return bad_value("--mem", arg, "a byte count such as 4096, 512MiB or 2g");
        return 0;
    case OPT_LABEL:
        if (arg[0] == '\0' || strlen(arg) > MAX_LABEL)
            return bad_value("--label", arg, "a name of 1 to 128 bytes");
        o->label = arg;
        return 0;
    case OPT_JSON: o->json = true; return 0;
    }
    return -EINVAL;
}

/* Copies s into out as the body of a JSON string (no quotes), always terminated. */
static void json_escape(const char *s, char *out, size_t len)
{
    size_t n = 0;

    for (; *s != '\0' && n + 7 < len; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

static void report_json(const struct work_opts *o, const struct work_result *r,
                        const struct work_percentiles *p)
{
    char label[MAX_LABEL * 6 + 8];
    char name[sizeof(r->device_name) * 6 + 8];
    double rate = r->wall_s > 0 ? (double)r->launches / r->wall_s : 0.0;

    json_escape(o->label, label, sizeof(label));
    json_escape(r->device_name, name, sizeof(name));
    printf("{\"label\":\"%s\",\"pid\":%ld,\"device\":%d,\"device_name\":\"%s\","
           "\"kernel\":\"%s\",\"kernel_us\":%llu,\"iters\":%llu,\"grid\":%u,\"block\":%u,"
           "\"sync_every\":%u,\"launches\":%llu,\"batches\":%llu,\"wall_s\":%.6f,"
           "\"launches_per_s\":%.3f,\"batch_latency_ms\":{\"p50\":%.6f,\"p95\":%.6f,"
           "\"p99\":%.6f,\"max\":%.6f},\"mem_bytes\":%llu,\"mem_total\":%llu,"
           "\"mem_free\":%llu,\"interrupted\":%s}\n",
           label, (long)getpid(), o->device, name, work_kernel_name(o->kernel),
           (unsigned long long)(o->kernel == WORK_EMPTY ? 0 : o->kernel_us),
           (unsigned long long)r->iters, r->grid, r->block, o->sync_every,
           (unsigned long long)r->launches, (unsigned long long)r->batches, r->wall_s, rate, p->p50,
           p->p95, p->p99, p->max, (unsigned long long)o->mem_bytes,
           (unsigned long long)r->mem_total, (unsigned long long)r->mem_free,
           r->interrupted ? "true" : "false");
}

static void report_text(const struct work_opts *o, const struct work_result *r,
                        const struct work_percentiles *p)
{
    double rate = r->wall_s > 0 ? (double)r->launches / r->wall_s : 0.0;

    printf("%s (pid %ld)%s\n", o->label, (long)getpid(),
           r->interrupted ? ": stopped by signal" : "");
    printf("  device       %d: %s\n", o->device, r->device_name);
    printf("  kernel       %s", work_kernel_name(o->kernel));
    if (o->kernel != WORK_EMPTY)
        printf(", %llu us", (unsigned long long)o->kernel_us);
    if (o->kernel == WORK_FMA)
        printf(" (%llu iterations)", (unsigned long long)r->iters);
    printf(", grid %u x block %u\n", r->grid, r->block);
    printf("  launches     %llu in %.3f s: %.1f/s, %llu batches (sync every %u)\n",
           (unsigned long long)r->launches, r->wall_s, rate, (unsigned long long)r->batches,
           o->sync_every);
    printf("  batch ms     p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", p->p50, p->p95, p->p99,
           p->max);
    printf("  memory held  %llu bytes; the device shows %llu of %llu bytes free\n",
           (unsigned long long)o->mem_bytes, (unsigned long long)r->mem_free,
           (unsigned long long)r->mem_total);
}

static int install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    /* A second signal takes the default action: a stuck run can still be killed. */
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        int err = errno;

        fprintf(stderr, PROG ": sigaction: %s\n", strerror(err));
        return -err;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct work_opts o = {
        .duration_s = 2.0,
        .kernel = WORK_BUSY,
        .kernel_us = 1000,
        .sync_every = 1,
        .label = PROG,
    };
    struct work_result res;
    struct work_percentiles pct;
    struct work_cu cu;
    char err[512];
    int status = 1;
    int opt;

    memset(&res, 0, sizeof(res));
    memset(&cu, 0, sizeof(cu));
    work_stats_init(&res.latency);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            status = 0;
            goto cleanup;
        }
        if (opt == OPT_PRINT_PTX) {
            fputs(work_ptx, stdout);
            status = 0;
            goto cleanup;
        }
        if (opt == ':' || opt == '?') {
            fprintf(stderr, PROG ": %s '%s' (see --help)\n",
                    opt == ':' ? "missing value for option" : "unknown option", argv[optind - 1]);
            status = 2;
            goto cleanup;
        }
        if (apply_option(opt, optarg, &o) != 0) {
            status = 2;
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
        status = 2;
        goto cleanup;
    }
    if (o.period_us > 0 && o.sync_every == 0) {
        fprintf(stderr, PROG ": --period-us needs --sync-every > 0 (see --help)\n");
        status = 2;
        goto cleanup;
    }

    if (install_signals() != 0)
        goto cleanup;
    if (work_cu_load(&cu, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        goto cleanup;
    }
    if (work_run(&o, &cu, &stop_requested, &res) != 0)
        goto cleanup;

    work_stats_percentiles(&res.latency, &pct);
    if (o.json)
        report_json(&o, &res, &pct);
    else
        report_text(&o, &res, &pct);
    status = fflush(stdout) == 0 ? 0 : 1;

cleanup:
    work_cu_unload(&cu);
    work_stats_free(&res.latency);
    return status;
}
