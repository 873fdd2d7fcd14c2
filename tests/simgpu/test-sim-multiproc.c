/* simgpu across processes: the behaviour the preload library and the
 * scheduler will be tested against.
 *
 * - Two processes launching 1 ms busy kernels back to back each get about
 *   half of the device's busy time, and the device is never busier than the
 *   wall clock (one item at a time).
 * - NVML reports each process's memory (context included) as it holds it,
 *   and a SIGKILLed process's memory disappears.
 * - Sixteen processes racing for memory never over-commit the device.
 * - A forked child starts without the parent's driver state.
 * The parent never initialises CUDA itself; it reads NVML and the simulated
 * device's own books (simgpu state), as a user with nvidia-smi would. */
#include <cuda.h>

#include "common.h"
#include "nvml_types.h"
#include "state.h"
#include "vt.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TIMEOUT_MS 20000

static const char busy_ptx[] = ".version 8.0\n.target sm_75\n.address_size 64\n"
                               ".visible .entry vgpu_sim_busy(.param .u64 us)\n{ ret; }\n";

static struct {
    void *lib;
    nvmlInit_v2_fn init;
    nvmlShutdown_fn shutdown;
    nvmlDeviceGetHandleByIndex_v2_fn handle;
    nvmlDeviceGetMemoryInfo_fn meminfo;
    nvmlDeviceGetComputeRunningProcesses_v3_fn procs;
} nvml;

static nvmlDevice_t dev0;

/* ---- child side ---------------------------------------------------------------- */

static int child_ctx(CUcontext *ctx)
{
    if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(ctx, 0) != CUDA_SUCCESS)
        return 10;
    return cuCtxSetCurrent(*ctx) == CUDA_SUCCESS ? 0 : 11;
}

struct load_arg {
    struct vt_chan *ch;
    double seconds;
};

/* Launches 1 ms busy kernels, four in flight, for `seconds` after "go". */
static int child_load(void *p)
{
    struct load_arg *a = p;
    CUcontext ctx;
    CUmodule mod;
    CUfunction f;
    uint64_t go, launches = 0;
    unsigned long long us = 1000;
    void *args[] = {&us};
    int rc = child_ctx(&ctx);
    if (rc)
        return rc;
    if (cuModuleLoadData(&mod, busy_ptx) != CUDA_SUCCESS ||
        cuModuleGetFunction(&f, mod, "vgpu_sim_busy") != CUDA_SUCCESS)
        return 12;
    vt_send_up(a->ch, 1);
    if (!vt_recv_down(a->ch, &go, TIMEOUT_MS))
        return 13;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 4; i++, launches++)
            if (cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, args, NULL) != CUDA_SUCCESS)
                return 14;
        if (cuCtxSynchronize() != CUDA_SUCCESS)
            return 15;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < a->seconds);
    vt_send_up(a->ch, launches);
    vt_recv_down(a->ch, &go, TIMEOUT_MS); /* stay alive while the parent reads the books */
    return 0;
}

struct hold_arg {
    struct vt_chan *ch;
    uint64_t chunk;
    int max_chunks; /* 0: until out of memory */
};

/* Allocates `chunk`-byte blocks, reports how many it got, then holds them. */
static int child_hold(void *p)
{
    struct hold_arg *a = p;
    CUcontext ctx;
    CUdeviceptr ptr;
    uint64_t got = 0, go;
    int rc = child_ctx(&ctx);
    if (rc)
        return rc;
    vt_send_up(a->ch, 1);
    if (!vt_recv_down(a->ch, &go, TIMEOUT_MS))
        return 13;
    while (a->max_chunks == 0 || (int)got < a->max_chunks) {
        CUresult r = cuMemAlloc(&ptr, a->chunk);
        if (r == CUDA_ERROR_OUT_OF_MEMORY)
            break;
        if (r != CUDA_SUCCESS)
            return 20;
        got++;
    }
    vt_send_up(a->ch, got);
    vt_recv_down(a->ch, &go, TIMEOUT_MS);
    return 0;
}

/* ---- parent side ----------------------------------------------------------------- */

static int setup(void **state)
{
    vt_fresh_simgpu();
    nvml.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!nvml.lib)
        return -1;
    nvml.init = (nvmlInit_v2_fn)dlsym(nvml.lib, "nvmlInit_v2");
    nvml.shutdown = (nvmlShutdown_fn)dlsym(nvml.lib, "nvmlShutdown");
    nvml.handle =
        (nvmlDeviceGetHandleByIndex_v2_fn)dlsym(nvml.lib, "nvmlDeviceGetHandleByIndex_v2");
    nvml.meminfo = (nvmlDeviceGetMemoryInfo_fn)dlsym(nvml.lib, "nvmlDeviceGetMemoryInfo");
    nvml.procs = (nvmlDeviceGetComputeRunningProcesses_v3_fn)dlsym(
        nvml.lib, "nvmlDeviceGetComputeRunningProcesses_v3");
    if (!nvml.init || !nvml.shutdown || !nvml.handle || !nvml.meminfo || !nvml.procs)
        return -1;
    if (nvml.init() != NVML_SUCCESS || nvml.handle(0, &dev0) != NVML_SUCCESS)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    nvml.shutdown();
    dlclose(nvml.lib);
    vt_kill_all();
    return 0;
}

static uint64_t nvml_used(void)
{
    nvmlMemory_t m;
    assert_int_equal(nvml.meminfo(dev0, &m), NVML_SUCCESS);
    return m.used;
}

/* Memory NVML shows for `pid`, or -1 when it lists no such process. */
static long long nvml_proc_mem(pid_t pid)
{
    nvmlProcessInfo_t infos[64];
    unsigned n = 64;
    assert_int_equal(nvml.procs(dev0, &n, infos), NVML_SUCCESS);
    for (unsigned i = 0; i < n; i++)
        if (infos[i].pid == (unsigned)pid)
            return (long long)infos[i].usedGpuMemory;
    return -1;
}

static int proc_slot(struct simgpu_state *st, pid_t pid)
{
    for (int i = 0; i < SIMGPU_MAX_PROCS; i++)
        if (st->proc[i].pid == pid)
            return i;
    return -1;
}

static void test_two_processes_share_the_device(void **state)
{
    struct vt_chan ch[2];
    struct load_arg a[2];
    pid_t pid[2];
    uint64_t v, launches[2], busy[2];
    struct simgpu_state *st = simgpu_state_get();

    assert_non_null(st);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vt_chan_open(&ch[i]), 0);
        a[i] = (struct load_arg){.ch = &ch[i], .seconds = 1.5};
        pid[i] = vt_fork(child_load, &a[i]);
        assert_true(pid[i] > 0);
    }
    for (int i = 0; i < 2; i++)
        assert_true(vt_recv_up(&ch[i], &v, TIMEOUT_MS));
    simgpu_lock(st);
    uint64_t t0 = vgpu_now_ns(), busy0 = simgpu_busy_ns(st, 0, -1, t0);
    simgpu_unlock(st);
    for (int i = 0; i < 2; i++)
        vt_send_down(&ch[i], 1);
    for (int i = 0; i < 2; i++)
        assert_true(vt_recv_up(&ch[i], &launches[i], TIMEOUT_MS));
    simgpu_lock(st);
    uint64_t t1 = vgpu_now_ns(), total = simgpu_busy_ns(st, 0, -1, t1) - busy0;
    for (int i = 0; i < 2; i++) {
        int slot = proc_slot(st, pid[i]);
        assert_true(slot >= 0);
        busy[i] = simgpu_busy_ns(st, 0, slot, t1);
    }
    simgpu_unlock(st);
    for (int i = 0; i < 2; i++) {
        vt_send_down(&ch[i], 1);
        assert_int_equal(vt_wait(pid[i], TIMEOUT_MS), 0);
        vt_chan_close(&ch[i]);
    }
    double share0 = (double)busy[0] / (double)(busy[0] + busy[1]);
    double wall = (double)(t1 - t0);
    printf("# busy %.3f s + %.3f s over %.3f s wall, share %.3f, launches %llu / %llu\n",
           (double)busy[0] / 1e9, (double)busy[1] / 1e9, wall / 1e9, share0,
           (unsigned long long)launches[0], (unsigned long long)launches[1]);
    assert_true(share0 > 0.45 && share0 < 0.55);
    /* One item at a time: the device is saturated but never busier than the clock. */
    assert_true((double)total >= 0.9 * wall);
    assert_true((double)total <= 1.01 * wall);
    assert_true(busy[0] + busy[1] <= total);
}

static void test_nvml_sees_process_memory_and_sigkill_frees_it(void **state)
{
    struct vt_chan ch;
    struct hold_arg a = {.ch = &ch, .chunk = GiB + 3, .max_chunks = 1};
    uint64_t v;

    assert_int_equal(vt_chan_open(&ch), 0);
    uint64_t before = nvml_used();
    pid_t pid = vt_fork(child_hold, &a);
    assert_true(vt_recv_up(&ch, &v, TIMEOUT_MS));
    assert_int_equal(nvml_proc_mem(pid), 300 * MiB); /* the context alone */
    vt_send_down(&ch, 1);
    assert_true(vt_recv_up(&ch, &v, TIMEOUT_MS));
    assert_int_equal(v, 1);
    /* The context, plus 1 GiB + 3 bytes rounded up to the 2 MiB granule. */
    assert_int_equal(nvml_proc_mem(pid), 300 * MiB + GiB + 2 * MiB);
    assert_int_equal(nvml_used(), before + 300 * MiB + GiB + 2 * MiB);
    kill(pid, SIGKILL);
    assert_int_equal(vt_wait(pid, TIMEOUT_MS), 128 + SIGKILL);
    assert_int_equal(nvml_proc_mem(pid), -1);
    assert_int_equal(nvml_used(), before);
    vt_chan_close(&ch);
}

static void test_sixteen_racing_processes_never_overcommit(void **state)
{
    enum { N = 16 };
    struct vt_chan ch[N];
    struct hold_arg a[N];
    pid_t pid[N];
    uint64_t v, chunks = 0;
    const uint64_t chunk = 256 * MiB;
    struct simgpu_state *st = simgpu_state_get();

    for (int i = 0; i < N; i++) {
        assert_int_equal(vt_chan_open(&ch[i]), 0);
        a[i] = (struct hold_arg){.ch = &ch[i], .chunk = chunk};
        pid[i] = vt_fork(child_hold, &a[i]);
        assert_true(pid[i] > 0);
    }
    for (int i = 0; i < N; i++)
        assert_true(vt_recv_up(&ch[i], &v, TIMEOUT_MS));
    for (int i = 0; i < N; i++)
        vt_send_down(&ch[i], 1); /* all allocate at once */
    for (int i = 0; i < N; i++) {
        assert_true(vt_recv_up(&ch[i], &v, TIMEOUT_MS));
        chunks += v;
    }
    uint64_t total = 16 * GiB, held = N * 300 * MiB + chunks * chunk;
    simgpu_lock(st);
    uint64_t used = st->gpu[0].mem_used;
    simgpu_unlock(st);
    printf("# %d processes got %llu chunks: %llu MiB of %llu MiB\n", N, (unsigned long long)chunks,
           (unsigned long long)(held >> 20), (unsigned long long)(total >> 20));
    assert_int_equal(used, held);      /* the books match what processes hold */
    assert_true(held <= total);        /* never over-committed */
    assert_true(total - held < chunk); /* and nothing that fit was refused */
    assert_int_equal(nvml_used(), held);
    for (int i = 0; i < N; i++) {
        vt_send_down(&ch[i], 1);
        assert_int_equal(vt_wait(pid[i], TIMEOUT_MS), 0);
        vt_chan_close(&ch[i]);
    }
    assert_int_equal(nvml_used(), 0);
}

static int grandchild(void *p)
{
    int n;
    CUdeviceptr ptr;
    CUcontext ctx;
    if (cuDeviceGetCount(&n) != CUDA_ERROR_NOT_INITIALIZED)
        return 30; /* the parent's initialisation must not leak into a fork */
    if (child_ctx(&ctx) != 0 || cuMemAlloc(&ptr, MiB) != CUDA_SUCCESS)
        return 31;
    return 0;
}

static int child_forks(void *p)
{
    CUcontext ctx;
    int rc = child_ctx(&ctx);
    if (rc)
        return rc;
    pid_t g = vt_fork(grandchild, NULL);
    return g > 0 ? vt_wait(g, TIMEOUT_MS) : 40;
}

static void test_forked_child_starts_clean(void **state)
{
    pid_t pid = vt_fork(child_forks, NULL);
    assert_int_equal(vt_wait(pid, TIMEOUT_MS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_share_the_device),
        cmocka_unit_test(test_nvml_sees_process_memory_and_sigkill_frees_it),
        cmocka_unit_test(test_sixteen_racing_processes_never_overcommit),
        cmocka_unit_test(test_forked_child_starts_clean),
    };
    return cmocka_run_group_tests_name("simgpu.multiproc", tests, setup, teardown);
}
