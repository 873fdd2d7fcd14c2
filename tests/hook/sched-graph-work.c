/* sched-graph-work: a tenant whose GPU work reaches the device only as graph
 * launches, for hook.sched (test-hook-sched.c).
 *
 *   sched-graph-work NODES KERNEL_US SECONDS
 *
 * It captures NODES launches of vgpu_sim_busy(KERNEL_US) on a stream into a
 * graph, instantiates it, then launches the graph back to back for SECONDS:
 * two launches in flight (an event after each; before a launch it waits for
 * the one before last), so the device never waits for the host. At the end
 * it prints one JSON line:
 *
 *   {"graphs":N,"nodes":NODES,"kernel_us":KERNEL_US,"busy_s":B,"wall_s":W}
 *
 * where graphs counts completed graph launches and busy_s is the device time
 * they took on simgpu (graphs x NODES x KERNEL_US). Linked against simgpu's
 * libcuda like any -lcuda program, so under LD_PRELOAD=libvgpu.so every
 * driver call goes through the preload's exported entry points. Exit 1 on a
 * driver failure (stderr names the call), 2 on a bad command line. */
#include <cuda.h>

#include "work_ptx.h" /* vgpu-work's module: vgpu_sim_busy, which simgpu charges its
                         argument in microseconds */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* True when rc is an error, after naming the call on stderr. */
static int failed(CUresult rc, const char *what)
{
    if (rc == CUDA_SUCCESS)
        return 0;
    const char *name = NULL;
    cuGetErrorName(rc, &name);
    fprintf(stderr, "sched-graph-work: %s failed: %s (%d)\n", what, name ? name : "?", (int)rc);
    return 1;
}

int main(int argc, char **argv)
{
    char *end1, *end2, *end3;
    if (argc != 4) {
        fprintf(stderr, "usage: sched-graph-work NODES KERNEL_US SECONDS\n");
        return 2;
    }
    long nodes = strtol(argv[1], &end1, 10);
    unsigned long long us = strtoull(argv[2], &end2, 10);
    double seconds = strtod(argv[3], &end3);
    if (*end1 || *end2 || *end3 || nodes < 1 || nodes > 64 || us < 1 || seconds <= 0) {
        fprintf(stderr, "sched-graph-work: bad NODES, KERNEL_US or SECONDS\n");
        return 2;
    }

    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fn;
    CUstream stream;
    CUgraph graph;
    CUgraphExec exec;
    CUevent ev[2];
    void *params[] = {&us};
    if (failed(cuInit(0), "cuInit") || failed(cuDeviceGet(&dev, 0), "cuDeviceGet") ||
        failed(cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain") ||
        failed(cuCtxSetCurrent(ctx), "cuCtxSetCurrent") ||
        failed(cuModuleLoadData(&mod, work_ptx), "cuModuleLoadData") ||
        failed(cuModuleGetFunction(&fn, mod, WORK_KERNEL_BUSY), "cuModuleGetFunction") ||
        failed(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate") ||
        failed(cuEventCreate(&ev[0], CU_EVENT_DISABLE_TIMING), "cuEventCreate") ||
        failed(cuEventCreate(&ev[1], CU_EVENT_DISABLE_TIMING), "cuEventCreate"))
        return 1;

    if (failed(cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL), "cuStreamBeginCapture"))
        return 1;
    for (long i = 0; i < nodes; i++)
        if (failed(cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, stream, params, NULL),
                   "cuLaunchKernel (captured)"))
            return 1;
    if (failed(cuStreamEndCapture(stream, &graph), "cuStreamEndCapture") ||
        failed(cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiateWithFlags"))
        return 1;
    /* Nothing ran yet: capturing only records. */
    if (failed(cuStreamSynchronize(stream), "cuStreamSynchronize"))
        return 1;

    uint64_t launched = 0;
    double start = now_s(), wall;
    for (;;) {
        if (failed(cuGraphLaunch(exec, stream), "cuGraphLaunch") ||
            failed(cuEventRecord(ev[launched % 2], stream), "cuEventRecord"))
            return 1;
        launched++;
        if (launched >= 2) { /* the one before this one */
            if (failed(cuEventSynchronize(ev[launched % 2]), "cuEventSynchronize"))
                return 1;
        }
        if (now_s() - start >= seconds)
            break;
    }
    if (failed(cuStreamSynchronize(stream), "cuStreamSynchronize"))
        return 1;
    wall = now_s() - start;
    printf("{\"graphs\":%llu,\"nodes\":%ld,\"kernel_us\":%llu,\"busy_s\":%.6f,\"wall_s\":%.6f}\n",
           (unsigned long long)launched, nodes, us,
           (double)launched * (double)nodes * (double)us / 1e6, wall);
    cuGraphExecDestroy(exec);
    cuGraphDestroy(graph);
    cuEventDestroy(ev[0]);
    cuEventDestroy(ev[1]);
    cuStreamDestroy(stream);
    cuModuleUnload(mod);
    cuDevicePrimaryCtxRelease(dev);
    return 0;
}
