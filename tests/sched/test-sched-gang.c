/* Unit tests for gangs (vgpu_sched_gang): the ranks of an NCCL tenant hold
 * their GPUs together. A simulation of two GPUs with explicit clock values:
 * tenant D runs one rank on each GPU (its clients marked as a gang, as
 * libvgpu.so marks a process that calls NCCL), tenant B one saturating client
 * on each; everyone always wants its GPU, B's second client arrives 7 ms
 * late so the GPUs' turns start out of step. A holder runs until its
 * deadline (vgpu_sched_deadline: a quantum while others wait, or at once
 * when asked to yield), then gives its GPU back and wants it again. */
#include "scheduler.h"

#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "run.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

static struct vgpu_sched *S;

static int fresh(void **state)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "vgputest-gang-%d", (int)getpid());
    setenv("VGPU_ACCOUNT_PREFIX", prefix, 1);
    vgpu_sched_unlink();
    S = vgpu_sched_open(true);
    return S ? 0 : -1;
}

static int cleanup(void **state)
{
    vgpu_sched_unmap(S);
    return vgpu_sched_unlink();
}

struct result {
    double d_share[2]; /* D's lease time on each GPU / run */
    double together;   /* time both GPUs were D's / D's time on GPU 0 */
};

/* Runs the two-GPU simulation for `run_ns`, D's clients a gang or not. */
static struct result simulate(bool as_gang, uint64_t run_ns)
{
    struct vgpu_sched_policy p = {.klass = VGPU_CLASS_MEDIUM};
    int g[2] = {vgpu_sched_gpu(S, "GPU-0"), vgpu_sched_gpu(S, "GPU-1")};
    int td = vgpu_sched_tenant(S, "D", &p, false), tb = vgpu_sched_tenant(S, "B", &p, false);
    pid_t me = getpid();
    uint64_t st = vgpu_proc_start_time(me), t0 = 1000 * SEC, now = t0, end = t0 + run_ns;
    int d[2], b[2];
    for (int i = 0; i < 2; i++) {
        d[i] = vgpu_sched_join(S, td, me, st);
        b[i] = vgpu_sched_join(S, tb, me, st);
        vgpu_sched_use(S, d[i], g[i]);
        vgpu_sched_use(S, b[i], g[i]);
        if (as_gang)
            vgpu_sched_gang(S, d[i]);
    }
    uint64_t arrive_b1 = t0 + 7 * MS, together = 0, d_time[2] = {0, 0};
    uint64_t rel_at[2] = {UINT64_MAX, UINT64_MAX}, drain[2] = {0, 3 * MS};
    for (int steps = 0; now < end && steps < 1000000; steps++) {
        /* Everyone who is there wants its GPU. */
        for (int i = 0; i < 2; i++) {
            uint64_t retry;
            uint32_t seq;
            vgpu_sched_want(S, d[i], g[i], now, &retry, &seq);
            if (i == 0 || now >= arrive_b1)
                vgpu_sched_want(S, b[i], g[i], now, &retry, &seq);
        }
        /* The next event: a holder's deadline plus its drain (GPU 1's work
         * takes 3 ms to drain, GPU 0's none: without gangs the turns drift
         * apart), or B's second client arriving. */
        uint64_t next = end;
        int holder[2];
        for (int i = 0; i < 2; i++) {
            enum vgpu_yield_reason why;
            bool others;
            uint64_t w = atomic_load(&S->gpu[g[i]].lease);
            holder[i] = (int)(w & VGPU_LEASE_CLIENT) - 1;
            if (holder[i] >= 0 && rel_at[i] == UINT64_MAX) {
                uint64_t dl = vgpu_sched_deadline(S, holder[i], g[i], now, &why, &others);
                if (dl <= now)
                    rel_at[i] = now + drain[i];
                else if (dl < next)
                    next = dl;
            }
            if (rel_at[i] < next)
                next = rel_at[i];
        }
        if (now < arrive_b1 && arrive_b1 < next)
            next = arrive_b1;
        if (next == now && rel_at[0] != now && rel_at[1] != now)
            continue; /* a deadline just passed: its drain starts */
        /* Time passes: account who held what. */
        bool d0 = holder[0] == d[0], d1 = holder[1] == d[1];
        if (d0)
            d_time[0] += next - now;
        if (d1)
            d_time[1] += next - now;
        if (d0 && d1)
            together += next - now;
        now = next;
        for (int i = 0; i < 2; i++)
            if (holder[i] >= 0 && rel_at[i] <= now && now < end) {
                vgpu_sched_release(S, holder[i], g[i], now);
                rel_at[i] = UINT64_MAX;
            }
    }
    struct result r = {
        .d_share = {(double)d_time[0] / (double)run_ns, (double)d_time[1] / (double)run_ns},
        .together = d_time[0] ? (double)together / (double)d_time[0] : 0,
    };
    for (int i = 0; i < 2; i++) {
        vgpu_sched_leave(S, d[i], now);
        vgpu_sched_leave(S, b[i], now);
    }
    return r;
}

/* A gang's ranks hold their GPUs together except while one GPU drains (3 ms
 * of each 20 ms turn here), and the gang still gets its fair half of each
 * GPU. */
static void test_gang_runs_together(void **state)
{
    struct result r = simulate(true, 10 * SEC);
    printf("# gang: D holds GPU0 %.1f%%, GPU1 %.1f%%; both at once %.1f%% of its time\n",
           100 * r.d_share[0], 100 * r.d_share[1], 100 * r.together);
    assert_true(r.together >= 0.80);
    assert_true(r.d_share[0] > 0.40 && r.d_share[0] < 0.60);
    assert_true(r.d_share[1] > 0.40 && r.d_share[1] < 0.60);
}

/* Without the gang mark the same ranks are scheduled on each GPU alone:
 * their turns drift out of step and overlap about half the time (what the
 * gang mark is for). */
static void test_without_gang_turns_drift(void **state)
{
    struct result r = simulate(false, 10 * SEC);
    printf("# no gang: D holds GPU0 %.1f%%, GPU1 %.1f%%; both at once %.1f%% of its time\n",
           100 * r.d_share[0], 100 * r.d_share[1], 100 * r.together);
    assert_true(r.together < 0.60);
}

#define SCHED_TEST(f) cmocka_unit_test_setup_teardown(f, fresh, cleanup)

static const struct CMUnitTest tests[] = {
    SCHED_TEST(test_gang_runs_together),
    SCHED_TEST(test_without_gang_turns_drift),
};

SCHED_TEST_MAIN("sched-gang", tests)
