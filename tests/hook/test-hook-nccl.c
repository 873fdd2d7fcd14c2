/* hook.nccl: a collective's GPU work is never held back by the lease gate.
 *
 * A child process of tenant N (libvgpu.so preloaded, simgpu) calls
 * ncclAllReduce, which libvgpu.so wraps; behind it fake-nccl launches a
 * kernel on the given stream, as NCCL does. The parent quarantines tenant N
 * in the scheduler's region (as vgpud would): the child no longer holds its
 * GPU's lease, yet ten collectives of 1 ms run to completion, while a plain
 * cuLaunchKernel of the same child waits at the gate until the quarantine is
 * lifted. */
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

enum { READY = 1, NCCL_DONE, PLAIN_DONE, FAILED };

static int child(void *arg)
{
    struct vt_chan *ch = arg;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fn;
    CUstream s;
    uint64_t go;
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
    if (!vt_recv_down(ch, &go, TIMEOUT_MS)) /* quarantined now */
        return 12;
    for (int i = 0; i < 10; i++)
        if (ncclAllReduce(NULL, NULL, 1000, 0, 0, NULL, s) != 0)
            return 13;
    if (cuStreamSynchronize(s) != CUDA_SUCCESS)
        return 14;
    vt_send_up(ch, NCCL_DONE);
    if (cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, s, params, NULL) != CUDA_SUCCESS ||
        cuStreamSynchronize(s) != CUDA_SUCCESS)
        return 15;
    vt_send_up(ch, PLAIN_DONE);
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

static void test_collectives_bypass_the_gate(void **state)
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
    vgpu_sched_quarantine(s, t, true);
    uint64_t t0 = vgpu_now_ns();
    assert_true(vt_send_down(&ch, 1));
    bool nccl_done = vt_recv_up(&ch, &v, TIMEOUT_MS) && v == NCCL_DONE;
    double nccl_s = (double)(vgpu_now_ns() - t0) / 1e9;
    /* The plain launch must wait: nothing arrives while quarantined. */
    bool plain_early = vt_recv_up(&ch, &v, 700);
    vgpu_sched_quarantine(s, t, false);
    bool plain_done = plain_early || (vt_recv_up(&ch, &v, TIMEOUT_MS) && v == PLAIN_DONE);
    int rc = vt_wait(pid, TIMEOUT_MS);
    printf("# quarantined: 10 collectives of 1 ms %s in %.3f s; a plain launch %s\n",
           nccl_done ? "done" : "NOT done", nccl_s, plain_early ? "ran at once (wrong)" : "waited");
    assert_true(nccl_done);
    assert_true(nccl_s < 2.0);
    assert_false(plain_early);
    assert_true(plain_done);
    assert_int_equal(rc, 0);
    vgpu_sched_unmap(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_collectives_bypass_the_gate, teardown),
    };
    return cmocka_run_group_tests_name("hook.nccl", tests, NULL, NULL);
}
