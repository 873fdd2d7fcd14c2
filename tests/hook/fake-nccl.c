/* fake-nccl: a stand-in libnccl.so.2 for hook.nccl (test-hook-nccl.c).
 *
 * Its ncclAllReduce launches one vgpu_sim_busy kernel (its `count` in
 * microseconds) on the caller's stream and returns at once, as NCCL
 * enqueues a collective; ncclGroupStart and ncclGroupEnd do nothing. It
 * reaches the driver like NCCL does, through the global cuLaunchKernel, so
 * under LD_PRELOAD=libvgpu.so the launch meets the gate: what the test
 * checks is that the gate lets a collective's work through when the
 * process does not hold its GPU's lease. */
#include <cuda.h>

#include "work_ptx.h"

#include <pthread.h>
#include <stddef.h>

__attribute__((visibility("default"))) int ncclAllReduce(const void *send, void *recv, size_t count,
                                                         int type, int op, void *comm,
                                                         CUstream stream);
__attribute__((visibility("default"))) int ncclGroupStart(void);
__attribute__((visibility("default"))) int ncclGroupEnd(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CUfunction busy;

static void load(void)
{
    CUmodule mod;
    if (cuModuleLoadData(&mod, work_ptx) == CUDA_SUCCESS)
        cuModuleGetFunction(&busy, mod, WORK_KERNEL_BUSY);
}

int ncclAllReduce(const void *send, void *recv, size_t count, int type, int op, void *comm,
                  CUstream stream)
{
    unsigned long long us = count;
    void *params[] = {&us};
    pthread_once(&once, load);
    if (!busy)
        return 2; /* ncclSystemError */
    return cuLaunchKernel(busy, 1, 1, 1, 1, 1, 1, 0, stream, params, NULL) == CUDA_SUCCESS ? 0 : 1;
}

int ncclGroupStart(void)
{
    return 0;
}

int ncclGroupEnd(void)
{
    return 0;
}
