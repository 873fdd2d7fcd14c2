/* work_run.h: one vgpu-work run on the GPU: its settings and what it measured. */
#ifndef VGPU_BENCH_WORK_RUN_H
#define VGPU_BENCH_WORK_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "work_cuda.h"
#include "work_stats.h"

enum work_kernel {
    WORK_BUSY,
    WORK_FMA,
    WORK_EMPTY,
};

struct work_opts {
    int device;
    double duration_s;
    enum work_kernel kernel;
    uint64_t kernel_us;
    unsigned grid;       /* 0: the kernel's default */
    unsigned block;      /* 0: the kernel's default */
    unsigned sync_every; /* 0: synchronise only at the end */
    uint64_t period_us;  /* > 0: start a batch every period_us (a latency loop) */
    uint64_t mem_bytes;  /* 0: allocate nothing */
    const char *label;
    bool json;
};

struct work_result {
    char device_name[256];
    uint64_t mem_total; /* device memory as this process sees it (cuMemGetInfo) */
    uint64_t mem_free;  /* before its own --mem allocation */
    uint64_t iters;     /* fma only */
    unsigned grid;
    unsigned block;
    uint64_t launches; /* completed: every one was followed by a synchronise */
    uint64_t batches;
    double wall_s;
    bool interrupted;
    struct work_stats latency;
};

/* Kernel name as the CLI and the JSON spell it ("busy", "fma", "empty"). */
const char *work_kernel_name(enum work_kernel k);

/*
 * Runs the workload described by o on the already-loaded driver cu, filling
 * res (whose latency stats the caller initialised). *stop is polled between
 * launches; once it is set the run stops launching, synchronises and returns
 * 0 with res->interrupted set. On a driver failure prints one line to
 * stderr and returns a negative errno.
 */
int work_run(const struct work_opts *o, const struct work_cu *cu, const volatile sig_atomic_t *stop,
             struct work_result *res);

#endif
