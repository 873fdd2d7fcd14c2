/* hook.nccl: an NCCL call waits for its rank's lease, then runs whole.
 *
 * A child process of tenant N (libvgpu.so preloaded, simgpu) calls
 * ncclAllReduce, which libvgpu.so wraps; behind it fake-nccl launches a
 * kernel, waits 300 ms and launches another, as one NCCL call may launch
 * several. The parent quarantines tenant N in the scheduler's region (as
 * vgpud would) 100 ms into that call: the call's second launch still runs
 * (a collective is never stopped half-way), while the next call waits at
 * its start until the quarantine is lifted, as any operation does. */
#include <cuda.h>

#include "common.h"
#include "scheduler.h"
#include "vt.h"
#include "work_ptx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 20000
#define TENANT "nccl-n"

int ncclAllReduce(const void *send, void *recv, size_t count, int type, int op, void *comm,
                  CUstream stream);

enum { READY = 1, CALLING, CALL_DONE, NEXT_DONE, FAILED };

static int child(void *arg)
{
    struct vt_chan *ch = arg;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fn;
    CUstream s;
    unsigned long long us = 1000;
    void *params[] = {&us};

    setenv("VGPU_TENANT", TENANT, 1);
    if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(&ctx, 0) != CUDA_SUCCESS ||
        cuCtxSetCurrent(ctx) != CUDA_SUCCESS || cuStreamCreate(&s, 0) != CUDA_SUCCESS ||
        cuModuleLoadData(&mod, work_ptx) != CUDA_SUCCESS ||
        cuModuleGetFunction(&fn, mod, WORK_KERNEL_BUSY) != CUDA_SUCCESS)
        return 10;
    /* One plain launch: the process joins the scheduler and takes the lease. */
    if (cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, s, params, NULL) != CUDA_SUCCESS ||
        cuStreamSynchronize(s) != CUDA_SUCCESS)
        return 11;
    vt_send_up(ch, READY);
    vt_send_up(ch, CALLING);
    /* two kernels of 1 ms, 300 ms apart; quarantined in between */
    if (ncclAllReduce(NULL, NULL, 1000, 0, 300, NULL, s) != 0 ||
        cuStreamSynchronize(s) != CUDA_SUCCESS)
        return 13;
    vt_send_up(ch, CALL_DONE);
    if (ncclAllReduce(NULL, NULL, 1000, 0, 0, NULL, s) != 0 || cuStreamSynchronize(s) != CUDA_SUCCESS)
        return 14;
    vt_send_up(ch, NEXT_DONE);
    return 0;
}

static char prefix[64];

/* Whatever the outcome: no child left, no region left. */
static int teardown(void **state)
{
    vt_kill_all();
    vt_remove_shm(prefix); /* the scheduler region and the tenant's account */
    return 0;
}

static void test_a_collective_runs_whole_under_the_lease(void **state)
{
    struct vt_chan ch;
    uint64_t v;
    snprintf(prefix, sizeof(prefix), "vtnccl%d", (int)getpid());
    setenv("VGPU_ACCOUNT_PREFIX", prefix, 1);
    setenv("VGPU_SOCKET", "/nonexistent", 1);
    vt_fresh_simgpu();
    assert_int_equal(vt_chan_open(&ch), 0);
    pid_t pid = vt_fork(child, &ch);
    vt_chan_parent(&ch);
    assert_true(vt_recv_up(&ch, &v, TIMEOUT_MS) && v == READY);
    struct vgpu_sched *s = vgpu_sched_open(false);
    assert_non_null(s);
    struct vgpu_sched_policy pol = {.klass = VGPU_CLASS_MEDIUM};
    int t = vgpu_sched_tenant(s, TENANT, &pol, false); /* the child's slot */
    assert_true(t >= 0);

    assert_true(vt_recv_up(&ch, &v, TIMEOUT_MS) && v == CALLING);
    uint64_t t0 = vgpu_now_ns();
    struct timespec ms100 = {0, 100000000L};
    nanosleep(&ms100, NULL);
    vgpu_sched_quarantine(s, t, true);
    bool call_done = vt_recv_up(&ch, &v, TIMEOUT_MS) && v == CALL_DONE;
    double call_s = (double)(vgpu_now_ns() - t0) / 1e9;
    /* The next call must wait at its start: nothing arrives while quarantined. */
    bool next_early = vt_recv_up(&ch, &v, 700);
    vgpu_sched_quarantine(s, t, false);
    bool next_done = next_early || (vt_recv_up(&ch, &v, TIMEOUT_MS) && v == NEXT_DONE);
    int rc = vt_wait(pid, TIMEOUT_MS);
    printf("# quarantined 0.1 s into a call of two launches 0.3 s apart: the call %s in %.3f s; "
           "the next call %s\n",
           call_done ? "done" : "NOT done", call_s,
           next_early ? "ran at once (wrong)" : "waited for the release");
    assert_true(call_done);
    assert_true(call_s < 2.0);
    assert_false(next_early);
    assert_true(next_done);
    assert_int_equal(rc, 0);
    vgpu_sched_unmap(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_a_collective_runs_whole_under_the_lease, teardown),
    };
    return cmocka_run_group_tests_name("hook.nccl", tests, NULL, NULL);
}
