/*
 * work_run.c: the driver-API workload of vgpu-work.
 *
 * One run looks like a small CUDA application: retain the device's primary
 * context (as libcudart does) and make it current, optionally hold a
 * cuMemAlloc buffer for the whole run, create a non-blocking stream, load the
 * embedded PTX module, then launch one kernel back to back on that stream
 * for the requested wall time. Every sync_every launches the stream is
 * synchronised and the batch's wall latency (first launch to end of the
 * synchronise, CLOCK_MONOTONIC) is recorded; with sync_every 0 there is one
 * batch, synchronised at the end. A signal only sets a flag, so the run
 * always ends by synchronising what it launched: "launches" counts completed
 * kernels only.
 */
#include "work_run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "work_ptx.h"

/*
 * Clock cycles one iteration of vgpu_work_fma's dependent chain takes, in
 * hundredths, as measured: on an H200 (sm_90, CU_DEVICE_ATTRIBUTE_CLOCK_RATE
 * 1980000 kHz) 495000 iterations on 132 x 32 threads ran in 2.07 ms, that is
 * 8.27 cycles each at the reported clock (ptxas unrolls the loop by four;
 * the FFMA latency plus the 64-bit loop counter set the pace). Used to turn
 * --kernel-us into an iteration count; approximate, as clocks vary.
 */
#define WORK_FMA_CENTICYCLES_PER_ITER 827

const char *work_kernel_name(enum work_kernel k)
{
    switch (k) {
    case WORK_BUSY: return "busy";
    case WORK_FMA: return "fma";
    case WORK_EMPTY: return "empty";
    }
    return "?";
}

static const char *kernel_entry(enum work_kernel k)
{
    switch (k) {
    case WORK_BUSY: return WORK_KERNEL_BUSY;
    case WORK_FMA: return WORK_KERNEL_FMA;
    case WORK_EMPTY: return WORK_KERNEL_EMPTY;
    }
    return "";
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prints "vgpu-work: <what> failed: CUDA_ERROR_... (n)" for a failed call. */
static int check(const struct work_cu *cu, CUresult r, const char *what)
{
    char buf[128];

    if (r == CUDA_SUCCESS)
        return 0;
    fprintf(stderr, "vgpu-work: %s failed: %s\n", what, work_cu_error(cu, r, buf, sizeof(buf)));
    return -EIO;
}

static int device_attribute(const struct work_cu *cu, CUdevice dev, CUdevice_attribute attr,
                            const char *what, int *out)
{
    char call[96];

    snprintf(call, sizeof(call), "cuDeviceGetAttribute(%s)", what);
    if (check(cu, cu->device_get_attribute(out, attr, dev), call) != 0)
        return -EIO;
    if (*out <= 0) {
        fprintf(stderr, "vgpu-work: cuDeviceGetAttribute(%s) returned %d\n", what, *out);
        return -EIO;
    }
    return 0;
}

/* Fills in grid, block and (for fma) the iteration count. */
static int shape_launch(const struct work_opts *o, const struct work_cu *cu, CUdevice dev,
                        struct work_result *res)
{
    int sms = 0;
    int clock_khz = 0;

    res->grid = o->grid;
    res->block = o->block;
    if (res->block == 0)
        res->block = o->kernel == WORK_EMPTY ? 1 : 32;
    if (res->grid == 0 && o->kernel == WORK_EMPTY)
        res->grid = 1;
    if (res->grid == 0) {
        if (device_attribute(cu, dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                             "MULTIPROCESSOR_COUNT", &sms) != 0)
            return -EIO;
        res->grid = (unsigned)sms;
    }
    if (o->kernel == WORK_FMA) {
        if (device_attribute(cu, dev, CU_DEVICE_ATTRIBUTE_CLOCK_RATE, "CLOCK_RATE", &clock_khz) !=
            0)
            return -EIO;
        /* cycles = us * kHz / 1000; iters = cycles * 100 / centicycles. At
         * most 1e8 * 2^31, well inside 64 bits. */
        res->iters = o->kernel_us * (uint64_t)clock_khz / (10ULL * WORK_FMA_CENTICYCLES_PER_ITER);
    }
    return 0;
}

static int end_batch(const struct work_cu *cu, CUstream stream, double start, uint64_t *in_batch,
                     struct work_result *res)
{
    if (check(cu, cu->stream_synchronize(stream), "cuStreamSynchronize") != 0)
        return -EIO;
    if (work_stats_add(&res->latency, (now_s() - start) * 1e3) != 0) {
        fprintf(stderr, "vgpu-work: out of memory for latency samples\n");
        return -ENOMEM;
    }
    res->launches += *in_batch;
    res->batches++;
    *in_batch = 0;
    return 0;
}

static int launch_loop(const struct work_opts *o, const struct work_cu *cu, CUfunction fn,
                       CUstream stream, const volatile sig_atomic_t *stop, struct work_result *res)
{
    uint64_t us = o->kernel_us;
    uint64_t iters = res->iters;
    uint64_t sink = 0;
    void *busy_params[] = {&us};
    void *fma_params[] = {&iters, &sink};
    void **params = NULL;
    uint64_t in_batch = 0;
    double start;
    double batch_start;
    int rc = 0;

    if (o->kernel == WORK_BUSY)
        params = busy_params;
    else if (o->kernel == WORK_FMA)
        params = fma_params;

    start = now_s();
    batch_start = start;
    double next_batch = start;
    while (!*stop) {
        if (in_batch == 0 && o->period_us > 0) {
            /* A latency loop: batches start on a fixed period; one that ran
             * late starts the next at once. */
            double wait = next_batch - now_s();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
            next_batch += (double)o->period_us / 1e6;
            if (next_batch < now_s())
                next_batch = now_s();
        }
        if (in_batch == 0)
            batch_start = now_s();
        rc = check(
            cu, cu->launch_kernel(fn, res->grid, 1, 1, res->block, 1, 1, 0, stream, params, NULL),
            "cuLaunchKernel");
        if (rc != 0)
            goto cleanup;
        in_batch++;
        /* With sync_every > 0 the run ends on a batch boundary, so every
         * batch but one cut short by a signal has sync_every launches. */
        if (o->sync_every > 0 && in_batch < o->sync_every)
            continue;
        if (o->sync_every > 0) {
            rc = end_batch(cu, stream, batch_start, &in_batch, res);
            if (rc != 0)
                goto cleanup;
        }
        if (now_s() - start >= o->duration_s)
            break;
    }
    if (in_batch > 0)
        rc = end_batch(cu, stream, batch_start, &in_batch, res);

cleanup:
    res->wall_s = now_s() - start;
    res->interrupted = *stop != 0;
    return rc;
}

int work_run(const struct work_opts *o, const struct work_cu *cu, const volatile sig_atomic_t *stop,
             struct work_result *res)
{
    CUdevice dev = 0;
    CUcontext ctx = NULL;
    CUdeviceptr mem = 0;
    CUstream stream = NULL;
    CUmodule mod = NULL;
    CUfunction fn = NULL;
    char what[96];
    int count = 0;
    int rc;

    rc = check(cu, cu->init(0), "cuInit");
    if (rc != 0)
        goto cleanup;
    rc = check(cu, cu->device_get_count(&count), "cuDeviceGetCount");
    if (rc != 0)
        goto cleanup;
    if (o->device >= count) {
        fprintf(stderr, "vgpu-work: no device %d: the driver reports %d device(s)\n", o->device,
                count);
        rc = -ENODEV;
        goto cleanup;
    }
    rc = check(cu, cu->device_get(&dev, o->device), "cuDeviceGet");
    if (rc != 0)
        goto cleanup;
    rc = check(cu, cu->device_get_name(res->device_name, (int)sizeof(res->device_name), dev),
               "cuDeviceGetName");
    if (rc != 0)
        goto cleanup;
    rc = shape_launch(o, cu, dev, res);
    if (rc != 0)
        goto cleanup;
    rc = check(cu, cu->primary_ctx_retain(&ctx, dev), "cuDevicePrimaryCtxRetain");
    if (rc != 0)
        goto cleanup;
    rc = check(cu, cu->ctx_set_current(ctx), "cuCtxSetCurrent");
    if (rc != 0)
        goto cleanup;
    {
        size_t free_b = 0, total = 0;
        rc = check(cu, cu->mem_get_info(&free_b, &total), "cuMemGetInfo");
        if (rc != 0)
            goto cleanup;
        res->mem_total = total;
        res->mem_free = free_b;
    }
    if (o->mem_bytes > 0) {
        snprintf(what, sizeof(what), "cuMemAlloc(%llu bytes)", (unsigned long long)o->mem_bytes);
        rc = check(cu, cu->mem_alloc(&mem, (size_t)o->mem_bytes), what);
        if (rc != 0)
            goto cleanup;
    }
    rc = check(cu, cu->stream_create(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    if (rc != 0)
        goto cleanup;
    rc = check(cu, cu->module_load_data(&mod, work_ptx), "cuModuleLoadData");
    if (rc != 0)
        goto cleanup;
    snprintf(what, sizeof(what), "cuModuleGetFunction(%s)", kernel_entry(o->kernel));
    rc = check(cu, cu->module_get_function(&fn, mod, kernel_entry(o->kernel)), what);
    if (rc != 0)
        goto cleanup;
    rc = launch_loop(o, cu, fn, stream, stop, res);

cleanup:
    /* Teardown failures are reported too, but never hide the first error. */
    if (mod != NULL && check(cu, cu->module_unload(mod), "cuModuleUnload") != 0 && rc == 0)
        rc = -EIO;
    if (stream != NULL && check(cu, cu->stream_destroy(stream), "cuStreamDestroy") != 0 && rc == 0)
        rc = -EIO;
    if (mem != 0 && check(cu, cu->mem_free(mem), "cuMemFree") != 0 && rc == 0)
        rc = -EIO;
    if (ctx != NULL && check(cu, cu->primary_ctx_release(dev), "cuDevicePrimaryCtxRelease") != 0 &&
        rc == 0)
        rc = -EIO;
    return rc;
}
