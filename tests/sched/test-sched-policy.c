/* Unit tests for the GPU-time scheduler (src/sched): what scheduler.h
 * promises a user, checked the way a user would check it.
 *
 * Every case runs on a fresh shared-memory region of its own (the prefix
 * "vgputest-sched-<pid>", removed by the teardown) with one GPU. Shares are
 * proved by a deterministic simulation with explicit clock values: a set of
 * saturating clients (they always want the GPU), where the holder runs until
 * vgpu_sched_deadline says it must yield, then hands over as libvgpu.so's
 * agent does (yield flag, its program asks again at the gate, release); a
 * client that does not hold the lease calls vgpu_sched_want and then sleeps,
 * as libvgpu.so does on its futex, until it is woken or its retry_at comes. Time jumps from
 * one event to the next, so 20 simulated seconds take milliseconds and every
 * run gives the same figures. A share is a tenant's GPU time (its use[g].gpu_ns,
 * the running lease included) over the length of the window, in percent.
 *
 * The simulated clock starts at the real CLOCK_MONOTONIC time: the few calls
 * that read the clock themselves (a GPU's creation, a quarantine's release)
 * then agree with it. Fake clients are this process (pid and start time); a
 * dead one is a child that has exited and been reaped. */
#include "scheduler.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define QUANTUM VGPU_SCHED_QUANTUM_NS
#define GPU_UUID "11111111-2222-3333-4444-555555555555"

/* Fails the test unless `got` is within `tol` of `want` (percentages). */
#define assert_near(got, want, tol, what)                                                          \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        if (got_ - want_ > (tol) || want_ - got_ > (tol))                                          \
            fail_msg("%s: %.2f%%, want %.2f%% +- %.1f", (what), got_, want_, (double)(tol));       \
    } while (0)

/* ---- the fixture: one region, one GPU ---------------------------------------------------- */

struct fx {
    struct vgpu_sched *s;
    int g;
    uint64_t t0; /* where simulated time starts */
};

static int fresh(void **state)
{
    static struct fx f;
    char prefix[32];

    snprintf(prefix, sizeof(prefix), "vgputest-sched-%d", (int)getpid());
    setenv("VGPU_ACCOUNT_PREFIX", prefix, 1);
    vgpu_sched_unlink(); /* a case that failed before left its region */
    memset(&f, 0, sizeof(f));
    f.s = vgpu_sched_open(true);
    if (!f.s)
        return -1;
    f.g = vgpu_sched_gpu(f.s, GPU_UUID);
    f.t0 = vgpu_now_ns();
    *state = &f;
    return f.g == 0 ? 0 : -1;
}

static int cleanup(void **state)
{
    struct fx *f = *state;
    vgpu_sched_unmap(f->s);
    return vgpu_sched_unlink();
}

static int tenant(struct fx *f, const char *name, enum vgpu_class k, uint32_t share)
{
    struct vgpu_sched_policy p = {.klass = k, .share = share};
    int t = vgpu_sched_tenant(f->s, name, &p, true);
    assert_true(t >= 0);
    return t;
}

/* A live client of tenant t (this process) that uses the GPU. */
static int client(struct fx *f, int t)
{
    int c = vgpu_sched_join(f->s, t, getpid(), vgpu_proc_start_time(getpid()));
    assert_true(c >= 0);
    vgpu_sched_use(f->s, c, f->g);
    return c;
}

/* A client of tenant t whose process is gone. */
static int dead_client(struct fx *f, int t)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    int c = vgpu_sched_join(f->s, t, pid, 1);
    assert_true(c >= 0);
    vgpu_sched_use(f->s, c, f->g);
    return c;
}

static uint64_t lease(struct fx *f)
{
    return atomic_load(&f->s->gpu[f->g].lease);
}

/* The client that holds the GPU, -1 when it is free. */
static int holder(struct fx *f)
{
    return (int)(lease(f) & VGPU_LEASE_CLIENT) - 1;
}

static bool want(struct fx *f, int c, uint64_t now, uint64_t *retry_at)
{
    uint64_t r;
    uint32_t seq;
    return vgpu_sched_want(f->s, c, f->g, now, retry_at ? retry_at : &r, &seq);
}

static uint64_t deadline(struct fx *f, int c, uint64_t now, enum vgpu_yield_reason *why,
                         bool *others)
{
    enum vgpu_yield_reason w;
    bool o;
    return vgpu_sched_deadline(f->s, c, f->g, now, why ? why : &w, others ? others : &o);
}

/* ---- the simulation ---------------------------------------------------------------------- */

#define SIM_CLIENTS 8

struct sim {
    struct fx *f;
    uint64_t now;
    int n;
    struct sim_client {
        int c, t;
        bool active;  /* saturating: wants the GPU whenever it does not hold it */
        bool waiting; /* its wish is registered: it sleeps until woken or retry_at */
        uint64_t retry_at, since, max_wait;
        uint32_t seq;
    } cl[SIM_CLIENTS];
    uint64_t yields[VGPU_YIELD_CAP + 1]; /* releases, by the deadline's reason */
};

static void sim_init(struct sim *m, struct fx *f)
{
    memset(m, 0, sizeof(*m));
    m->f = f;
    m->now = f->t0;
}

/* Adds a saturating client of tenant t; returns its index in the simulation. */
static int sim_add(struct sim *m, int t)
{
    assert_true(m->n < SIM_CLIENTS);
    struct sim_client *k = &m->cl[m->n];
    k->c = client(m->f, t);
    k->t = t;
    k->active = true;
    return m->n++;
}

static void sim_granted(struct sim *m, struct sim_client *k)
{
    if (k->waiting && m->now - k->since > k->max_wait)
        k->max_wait = m->now - k->since;
    k->waiting = false;
}

/* Lets every client act at m->now until none has anything left to do: a
 * holder that no longer wants the GPU gives it back; a client without the
 * lease asks for it, or asks again when it was woken or its retry_at came.
 * An inactive client that still waits stays waiting (it cannot take its wish
 * back) and gives the lease back as soon as it gets it. */
static void sim_settle(struct sim *m)
{
    struct vgpu_sched *s = m->f->s;
    bool again = true;

    while (again) {
        again = false;
        for (int i = 0; i < m->n; i++) {
            struct sim_client *k = &m->cl[i];
            if (holder(m->f) == k->c) {
                sim_granted(m, k);
                if (!k->active) {
                    vgpu_sched_release(s, k->c, m->f->g, m->now);
                    again = true;
                }
                continue;
            }
            if (!k->waiting && !k->active)
                continue;
            if (k->waiting && m->now < k->retry_at && atomic_load(&s->client[k->c].wake) == k->seq)
                continue; /* asleep */
            if (!k->waiting)
                k->since = m->now;
            k->waiting = true;
            if (vgpu_sched_want(s, k->c, m->f->g, m->now, &k->retry_at, &k->seq))
                sim_granted(m, k);
            else
                assert_true(k->retry_at > m->now);
            again = true;
        }
    }
}

static int sim_index(struct sim *m, int c)
{
    for (int i = 0; i < m->n; i++)
        if (m->cl[i].c == c)
            return i;
    return -1;
}

/* The holder k gives the GPU back, as libvgpu.so's agent does: it sets the
 * yield flag, so the next operation of its (saturating) program stops at the
 * gate and asks for the GPU again, and then, its work drained, it releases.
 * The holder is thus among the waiters when the next client is picked. */
static void sim_yield(struct sim *m, struct sim_client *k)
{
    struct vgpu_sched *s = m->f->s;
    atomic_fetch_or(&s->gpu[m->f->g].lease, VGPU_LEASE_YIELD);
    if (k->active) {
        assert_false(vgpu_sched_want(s, k->c, m->f->g, m->now, &k->retry_at, &k->seq));
        k->waiting = true;
        k->since = m->now;
    }
    vgpu_sched_release(s, k->c, m->f->g, m->now);
}

/* Runs the simulation until `until`. */
static void sim_run(struct sim *m, uint64_t until)
{
    uint64_t last = 0;
    int same = 0;

    for (;;) {
        sim_settle(m);
        uint64_t next = until;
        int h = holder(m->f);
        if (h >= 0) {
            enum vgpu_yield_reason why;
            uint64_t dl = deadline(m->f, h, m->now, &why, NULL);
            assert_true(sim_index(m, h) >= 0);
            if (dl <= m->now) {
                m->yields[why]++;
                sim_yield(m, &m->cl[sim_index(m, h)]);
                same = m->now == last ? same + 1 : 0;
                last = m->now;
                assert_true(same < 1000); /* hand-offs that let no time pass: a livelock */
                continue;
            }
            if (dl < next)
                next = dl;
        }
        for (int i = 0; i < m->n; i++)
            if (m->cl[i].waiting && m->cl[i].retry_at < next)
                next = m->cl[i].retry_at;
        if (next >= until) {
            m->now = until;
            return;
        }
        m->now = next;
    }
}

/* Tenant t's GPU time up to the simulated now, its running lease included. */
static uint64_t gpu_time(struct sim *m, int t)
{
    struct vgpu_sched_gpu *G = &m->f->s->gpu[m->f->g];
    uint64_t ns = atomic_load(&m->f->s->tenant[t].use[m->f->g].gpu_ns);
    if (holder(m->f) >= 0 && G->holder_tenant == (uint32_t)t && m->now > G->granted_ns)
        ns += m->now - G->granted_ns;
    return ns;
}

/* The GPU's idle time up to the simulated now. */
static uint64_t idle_time(struct sim *m)
{
    struct vgpu_sched_gpu *G = &m->f->s->gpu[m->f->g];
    uint64_t ns = atomic_load(&G->idle_ns);
    if (holder(m->f) < 0 && m->now > G->free_since)
        ns += m->now - G->free_since;
    return ns;
}

/* GPU time of every tenant in the simulation plus idle time. */
static uint64_t accounted(struct sim *m)
{
    uint64_t sum = idle_time(m);
    for (int i = 0; i < m->n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen = seen || m->cl[j].t == m->cl[i].t;
        if (!seen)
            sum += gpu_time(m, m->cl[i].t);
    }
    return sum;
}

/* Runs `len` more and returns the idle share of that window; pct[i] is the
 * share of tenants[i]. Every nanosecond is someone's GPU time or idle. */
static double sim_measure(struct sim *m, uint64_t len, const int *tenants, int n, double *pct)
{
    uint64_t before[SIM_CLIENTS], idle = idle_time(m), all = accounted(m);

    assert_true(n <= SIM_CLIENTS);
    for (int i = 0; i < n; i++)
        before[i] = gpu_time(m, tenants[i]);
    sim_run(m, m->now + len);
    assert_int_equal(accounted(m) - all, len);
    print_message("window of %.1f s:", (double)len / SEC);
    for (int i = 0; i < n; i++) {
        pct[i] = 100.0 * (double)(gpu_time(m, tenants[i]) - before[i]) / (double)len;
        print_message(" %s %.2f%%", m->f->s->tenant[tenants[i]].name, pct[i]);
    }
    double idle_pct = 100.0 * (double)(idle_time(m) - idle) / (double)len;
    print_message(" idle %.2f%%\n", idle_pct);
    return idle_pct;
}

/* ---- shares ------------------------------------------------------------------------------ */

/* Two saturating medium tenants capped at 30% and 70% get 30% and 70%. */
static void test_caps_30_70(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int a = tenant(m.f, "cap30", VGPU_CLASS_MEDIUM, 30);
    int b = tenant(m.f, "cap70", VGPU_CLASS_MEDIUM, 70);
    sim_add(&m, a);
    sim_add(&m, b);
    sim_measure(&m, 20 * SEC, (int[]){a, b}, 2, pct);
    assert_near(pct[0], 30, 1, "the 30% tenant");
    assert_near(pct[1], 70, 1, "the 70% tenant");
}

/* A cap binds a tenant that is alone: the rest of the time the GPU is idle. */
static void test_cap_alone_leaves_gpu_idle(void **state)
{
    struct sim m;
    double pct;
    sim_init(&m, *state);
    int a = tenant(m.f, "cap30", VGPU_CLASS_MEDIUM, 30);
    sim_add(&m, a);
    double idle = sim_measure(&m, 20 * SEC, &a, 1, &pct);
    assert_near(pct, 30, 1, "the capped tenant alone");
    assert_near(idle, 70, 1, "idle time");
    assert_true(m.yields[VGPU_YIELD_CAP] > 0);
}

/* Saturating tenants share by class weight: high 4 : low 1, then, once the
 * weights are set to 2 : 1, two thirds and one third. */
static void test_weights(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int hi = tenant(m.f, "high", VGPU_CLASS_HIGH, 0);
    int lo = tenant(m.f, "low", VGPU_CLASS_LOW, 0);
    sim_add(&m, hi);
    sim_add(&m, lo);
    sim_measure(&m, 20 * SEC, (int[]){hi, lo}, 2, pct);
    assert_near(pct[0], 80, 1, "high at weights 4:1");
    assert_near(pct[1], 20, 1, "low at weights 4:1");

    atomic_store(&m.f->s->weight[VGPU_CLASS_HIGH], 2);
    atomic_store(&m.f->s->weight[VGPU_CLASS_LOW], 1);
    sim_measure(&m, 20 * SEC, (int[]){hi, lo}, 2, pct);
    assert_near(pct[0], 200.0 / 3, 1, "high at weights 2:1");
    assert_near(pct[1], 100.0 / 3, 1, "low at weights 2:1");
}

/* Three saturating classes share 4 : 2 : 1. */
static void test_three_classes(void **state)
{
    struct sim m;
    double pct[3];
    sim_init(&m, *state);
    int hi = tenant(m.f, "high", VGPU_CLASS_HIGH, 0);
    int med = tenant(m.f, "medium", VGPU_CLASS_MEDIUM, 0);
    int lo = tenant(m.f, "low", VGPU_CLASS_LOW, 0);
    sim_add(&m, lo);
    sim_add(&m, med);
    sim_add(&m, hi);
    sim_measure(&m, 20 * SEC, (int[]){hi, med, lo}, 3, pct);
    assert_near(pct[0], 400.0 / 7, 1, "high");
    assert_near(pct[1], 200.0 / 7, 1, "medium");
    assert_near(pct[2], 100.0 / 7, 1, "low");
}

/* A capped high tenant beside saturating medium and low ones gets its cap;
 * the other two share the rest 2 : 1. (Once a hand-off loop that let no
 * time pass: the simulation fails on 1000 hand-offs at one `now`.) */
static void test_capped_high_with_medium_and_low(void **state)
{
    struct sim m;
    double pct[3];
    sim_init(&m, *state);
    int hi = tenant(m.f, "high10", VGPU_CLASS_HIGH, 10);
    int med = tenant(m.f, "medium", VGPU_CLASS_MEDIUM, 0);
    int lo = tenant(m.f, "low", VGPU_CLASS_LOW, 0);
    sim_add(&m, hi);
    sim_add(&m, med);
    sim_add(&m, lo);
    sim_measure(&m, 20 * SEC, (int[]){hi, med, lo}, 3, pct);
    assert_near(pct[0], 10, 1, "high capped at 10%");
    assert_near(pct[1], 60, 1, "medium");
    assert_near(pct[2], 30, 1, "low");
}

/* A capped medium tenant beside a saturating high one gets its weight's
 * third while that is under its cap (weights 4 : 2), and no more than its
 * cap when that is lower: a cap is a ceiling, never a reason to starve. */
static void test_capped_medium_beside_high(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int hi = tenant(m.f, "high", VGPU_CLASS_HIGH, 0);
    int med = tenant(m.f, "medium30", VGPU_CLASS_MEDIUM, 30);
    sim_add(&m, hi);
    sim_add(&m, med);
    sim_measure(&m, 20 * SEC, (int[]){hi, med}, 2, pct);
    assert_near(pct[1], 30, 1.5, "medium capped at 30% beside high (weight share 33%)");
    assert_near(pct[0], 70, 1.5, "high");
}

/* Weights are per tenant, not per client: a tenant with three clients gets
 * no more than a tenant of the same class with one. */
static void test_share_per_tenant_not_client(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int many = tenant(m.f, "many", VGPU_CLASS_MEDIUM, 0);
    int one = tenant(m.f, "one", VGPU_CLASS_MEDIUM, 0);
    sim_add(&m, many);
    sim_add(&m, many);
    sim_add(&m, many);
    sim_add(&m, one);
    sim_measure(&m, 20 * SEC, (int[]){many, one}, 2, pct);
    assert_near(pct[0], 50, 1, "the tenant of three clients");
    assert_near(pct[1], 50, 1, "the tenant of one client");
}

/* ---- preemption, credit, starvation ------------------------------------------------------ */

/* A high tenant that starts waiting preempts a low holder at once. */
static void test_high_preempts_low(void **state)
{
    struct fx *f = *state;
    enum vgpu_yield_reason why;
    bool others;
    uint64_t retry_at, now = f->t0;
    int lo = tenant(f, "batch", VGPU_CLASS_LOW, 0), hi = tenant(f, "latency", VGPU_CLASS_HIGH, 0);
    int cl = client(f, lo), ch = client(f, hi);

    assert_true(want(f, cl, now, NULL));
    now += SEC;
    assert_int_equal(deadline(f, cl, now, &why, &others), UINT64_MAX); /* alone: keeps it */
    assert_int_equal(why, VGPU_YIELD_NONE);
    assert_false(others);

    assert_false(want(f, ch, now, &retry_at));
    assert_int_equal(holder(f), cl);
    assert_true(lease(f) & VGPU_LEASE_YIELD);
    assert_true(deadline(f, cl, now, &why, &others) <= now);
    assert_int_equal(why, VGPU_YIELD_ASKED);
    assert_int_equal(atomic_load(&f->s->tenant[lo].use[f->g].preempted), 1);

    uint32_t gen = VGPU_LEASE_GEN(lease(f));
    vgpu_sched_release(f->s, cl, f->g, now);
    assert_int_equal(holder(f), ch);
    assert_false(lease(f) & VGPU_LEASE_YIELD);
    assert_int_equal(VGPU_LEASE_GEN(lease(f)), gen + 1);
    assert_true(want(f, ch, now, NULL));
    assert_int_equal(atomic_load(&f->s->tenant[lo].use[f->g].gpu_ns), SEC);
}

/* A low tenant that ran alone for 10 s banks nothing against a low tenant
 * that arrives: from then on they share half and half. */
static void test_no_credit_for_running_alone(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int a = tenant(m.f, "early", VGPU_CLASS_LOW, 0), b = tenant(m.f, "late", VGPU_CLASS_LOW, 0);
    sim_add(&m, a);
    int ib = sim_add(&m, b);
    m.cl[ib].active = false;
    sim_measure(&m, 10 * SEC, (int[]){a, b}, 2, pct);
    assert_near(pct[0], 100, 0, "the tenant alone");

    m.cl[ib].active = true;
    sim_measure(&m, 2 * SEC, (int[]){a, b}, 2, pct);
    assert_near(pct[0], 50, 1, "the tenant that ran alone");
    assert_near(pct[1], 50, 1, "the tenant that arrived");
}

/* A high tenant that was idle for 10 s is not owed those 10 s: back, it gets
 * its 80%, not all of the GPU. */
static void test_no_credit_for_idleness(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int hi = tenant(m.f, "high", VGPU_CLASS_HIGH, 0), lo = tenant(m.f, "low", VGPU_CLASS_LOW, 0);
    int ih = sim_add(&m, hi);
    sim_add(&m, lo);
    sim_measure(&m, 2 * SEC, (int[]){hi, lo}, 2, pct);
    assert_near(pct[0], 80, 1, "high before its pause");

    m.cl[ih].active = false;
    sim_measure(&m, 10 * SEC, (int[]){hi, lo}, 2, pct);
    assert_near(pct[1], 100, 1, "low alone");

    m.cl[ih].active = true;
    sim_measure(&m, 2 * SEC, (int[]){hi, lo}, 2, pct);
    assert_near(pct[0], 80, 1, "high back from its pause");
    assert_near(pct[1], 20, 1, "low beside it");
}

/* A low tenant beside a saturating high one is never starved: it gets its
 * 20%, a quantum at a time, and never waits longer than the high tenant's
 * weight's worth of quanta (4), plus one for a tie that the higher class
 * wins. */
static void test_low_not_starved(void **state)
{
    struct sim m;
    double pct[2];
    sim_init(&m, *state);
    int hi = tenant(m.f, "high", VGPU_CLASS_HIGH, 0), lo = tenant(m.f, "low", VGPU_CLASS_LOW, 0);
    sim_add(&m, hi);
    int il = sim_add(&m, lo);
    sim_measure(&m, 20 * SEC, (int[]){hi, lo}, 2, pct);
    assert_true(pct[1] > 0);
    assert_near(pct[1], 20, 1, "low beside high");
    assert_true(atomic_load(&m.f->s->tenant[lo].use[m.f->g].grants) > 100);
    uint32_t ratio = atomic_load(&m.f->s->weight[VGPU_CLASS_HIGH]) /
                     atomic_load(&m.f->s->weight[VGPU_CLASS_LOW]);
    if (m.cl[il].max_wait > (ratio + 1) * QUANTUM)
        fail_msg("the low tenant waited %.1f ms", (double)m.cl[il].max_wait / MS);
}

/* ---- quarantine, order, dead holders ------------------------------------------------------ */

/* A quarantined tenant's holder is told to yield, and the tenant is granted
 * nothing, whether another client waits or the lease is free, until it is
 * released. Even a high class does not preempt while quarantined. */
static void test_quarantine(void **state)
{
    struct fx *f = *state;
    enum vgpu_yield_reason why;
    bool others;
    uint64_t retry_at, now = f->t0;
    int q = tenant(f, "suspect", VGPU_CLASS_HIGH, 0), o = tenant(f, "other", VGPU_CLASS_LOW, 0);
    int cq = client(f, q), co = client(f, o);

    assert_true(want(f, cq, now, NULL));
    assert_false(want(f, co, now + MS, NULL));
    vgpu_sched_quarantine(f->s, q, true);
    assert_int_equal(holder(f), cq);
    assert_true(lease(f) & VGPU_LEASE_YIELD);
    assert_true(deadline(f, cq, now + MS, &why, NULL) <= now + MS);
    assert_int_equal(why, VGPU_YIELD_ASKED);

    vgpu_sched_release(f->s, cq, f->g, now + 2 * MS);
    assert_int_equal(holder(f), co);
    assert_false(want(f, cq, now + 3 * MS, &retry_at)); /* waits, quarantined */
    assert_true(retry_at > now + 3 * MS && retry_at != UINT64_MAX);
    assert_false(lease(f) & VGPU_LEASE_YIELD); /* the high class does not preempt */
    assert_int_equal(deadline(f, co, now + 4 * MS, &why, &others), UINT64_MAX);
    assert_false(others); /* nobody eligible waits */

    vgpu_sched_release(f->s, co, f->g, now + 5 * MS);
    assert_int_equal(holder(f), -1); /* free, with a quarantined waiter */
    assert_false(want(f, cq, now + 6 * MS, NULL));
    assert_false(want(f, cq, now + SEC, NULL));
    assert_int_equal(holder(f), -1);
    assert_int_equal(atomic_load(&f->s->tenant[q].use[f->g].grants), 1);

    vgpu_sched_quarantine(f->s, q, false);
    if (holder(f) != cq)
        assert_true(want(f, cq, now + SEC + MS, NULL));
    assert_int_equal(holder(f), cq);
    assert_false(lease(f) & VGPU_LEASE_YIELD);
}

/* The clients of one tenant are granted in the order they asked (not in
 * the order of their slots). A client that joins its tenant's queue does
 * not move the tenant's virtual time: only a tenant that starts waiting
 * after a pause is raised. */
static void test_fifo_within_tenant(void **state)
{
    struct fx *f = *state;
    uint64_t now = f->t0;
    int o = tenant(f, "other", VGPU_CLASS_MEDIUM, 0), t = tenant(f, "team", VGPU_CLASS_MEDIUM, 0);
    int c3 = client(f, t), c2 = client(f, t), c1 = client(f, t), co = client(f, o);

    assert_true(want(f, co, now, NULL));
    assert_false(want(f, c1, now + 1 * MS, NULL));
    double v = f->s->tenant[t].use[f->g].vtime;
    assert_false(want(f, c2, now + 2 * MS, NULL));
    assert_false(want(f, c3, now + 3 * MS, NULL));
    assert_true(f->s->tenant[t].use[f->g].vtime == v);
    vgpu_sched_release(f->s, co, f->g, now + 4 * MS);
    assert_int_equal(holder(f), c1);
    vgpu_sched_release(f->s, c1, f->g, now + 5 * MS);
    assert_int_equal(holder(f), c2);
    vgpu_sched_release(f->s, c2, f->g, now + 6 * MS);
    assert_int_equal(holder(f), c3);
}

/* A holder whose process is gone is reaped: its lease goes to the next
 * waiter, and its slot is freed. */
static void test_reap_dead_holder(void **state)
{
    struct fx *f = *state;
    uint64_t now = f->t0;
    int d = tenant(f, "gone", VGPU_CLASS_MEDIUM, 0), a = tenant(f, "alive", VGPU_CLASS_MEDIUM, 0);
    int cd = dead_client(f, d), ca = client(f, a);

    assert_true(want(f, cd, now, NULL));
    assert_false(want(f, ca, now + MS, NULL));
    assert_int_equal(vgpu_sched_reap(f->s, now + 2 * MS), 1);
    assert_int_equal(holder(f), ca);
    assert_int_equal(atomic_load(&f->s->client[cd].pid), 0);
    assert_int_equal(f->s->tenant[d].clients, 0);
    assert_int_equal(vgpu_sched_reap(f->s, now + 3 * MS), 0); /* the live one stays */
    assert_int_equal(holder(f), ca);
}

/* A waiter that finds the holder has kept the lease for more than 4 quanta
 * looks whether it is alive, and takes over from a dead one. */
static void test_waiter_takes_over_dead_holder(void **state)
{
    struct fx *f = *state;
    uint64_t retry_at, now = f->t0;
    int d = tenant(f, "gone", VGPU_CLASS_MEDIUM, 0), a = tenant(f, "alive", VGPU_CLASS_MEDIUM, 0);
    int cd = dead_client(f, d), ca = client(f, a);

    assert_true(want(f, cd, now, NULL));
    assert_false(want(f, ca, now + QUANTUM, &retry_at));
    assert_true(retry_at <= now + 2 * QUANTUM); /* it will look again */
    assert_false(want(f, ca, now + 3 * QUANTUM, NULL));
    assert_int_equal(holder(f), cd);
    assert_true(want(f, ca, now + 4 * QUANTUM + 1, NULL));
    assert_int_equal(holder(f), ca);
}

/* ---- hints, tables, layout ---------------------------------------------------------------- */

/* The in-flight bound follows from who uses the GPU. */
static void test_inflight_bound(void **state)
{
    struct fx *f = *state;
    struct vgpu_sched *s = f->s;
    uint64_t st = vgpu_proc_start_time(getpid());
    int m1 = tenant(f, "m1", VGPU_CLASS_MEDIUM, 0), m2 = tenant(f, "m2", VGPU_CLASS_MEDIUM, 0);
    int lo = tenant(f, "lo", VGPU_CLASS_LOW, 0), hi = tenant(f, "hi", VGPU_CLASS_HIGH, 0);
    int g2 = vgpu_sched_gpu(s, "99999999-2222-3333-4444-555555555555");
    assert_int_equal(g2, 1);

    int c1 = vgpu_sched_join(s, m1, getpid(), st), c2 = vgpu_sched_join(s, m2, getpid(), st);
    vgpu_sched_use(s, c1, f->g);
    vgpu_sched_use(s, c1, f->g); /* counted once */
    assert_int_equal(vgpu_sched_bound(atomic_load(&s->gpu[f->g].hint), VGPU_CLASS_MEDIUM), 0);
    vgpu_sched_use(s, c2, f->g);
    assert_int_equal(vgpu_sched_bound(atomic_load(&s->gpu[f->g].hint), VGPU_CLASS_MEDIUM), 2);

    int cl = vgpu_sched_join(s, lo, getpid(), st), ch = vgpu_sched_join(s, hi, getpid(), st);
    vgpu_sched_use(s, cl, g2);
    assert_int_equal(vgpu_sched_bound(atomic_load(&s->gpu[g2].hint), VGPU_CLASS_LOW), 0);
    vgpu_sched_use(s, ch, g2);
    assert_int_equal(vgpu_sched_bound(atomic_load(&s->gpu[g2].hint), VGPU_CLASS_LOW), 1);
    assert_int_equal(vgpu_sched_bound(atomic_load(&s->gpu[g2].hint), VGPU_CLASS_HIGH), 2);
    vgpu_sched_leave(s, ch, f->t0);
    assert_int_equal(vgpu_sched_bound(atomic_load(&s->gpu[g2].hint), VGPU_CLASS_LOW), 0);
}

/* vgpud's (managed) policy wins; a process's own policy applies only to a
 * tenant vgpud does not manage and that has no live client. */
static void test_tenant_policy_owner(void **state)
{
    struct fx *f = *state;
    struct vgpu_sched *s = f->s;
    struct vgpu_sched_policy lowp = {.klass = VGPU_CLASS_LOW};
    struct vgpu_sched_policy highp = {.klass = VGPU_CLASS_HIGH, .share = 50};
    struct vgpu_sched_policy quar = {.klass = VGPU_CLASS_LOW, .quarantined = true};

    int t = vgpu_sched_tenant(s, "x", &lowp, false);
    assert_true(t >= 0);
    assert_int_equal(atomic_load(&s->tenant[t].klass), VGPU_CLASS_LOW);
    assert_int_equal(vgpu_sched_tenant(s, "x", &highp, false), t); /* no client: taken */
    assert_int_equal(atomic_load(&s->tenant[t].klass), VGPU_CLASS_HIGH);
    assert_int_equal(atomic_load(&s->tenant[t].share), 50);

    int c = client(f, t);
    assert_int_equal(vgpu_sched_tenant(s, "x", &lowp, false), t); /* a live client: kept */
    assert_int_equal(atomic_load(&s->tenant[t].klass), VGPU_CLASS_HIGH);

    assert_int_equal(vgpu_sched_tenant(s, "x", &lowp, true), t); /* vgpud: taken */
    assert_int_equal(atomic_load(&s->tenant[t].klass), VGPU_CLASS_LOW);
    assert_int_equal(atomic_load(&s->tenant[t].share), 0);
    assert_int_equal(atomic_load(&s->tenant[t].managed), 1);

    vgpu_sched_leave(s, c, f->t0);
    assert_int_equal(vgpu_sched_tenant(s, "x", &highp, false), t); /* managed: kept */
    assert_int_equal(atomic_load(&s->tenant[t].klass), VGPU_CLASS_LOW);
    assert_int_equal(vgpu_sched_tenant(s, "x", &quar, true), t);
    assert_int_equal(atomic_load(&s->tenant[t].quarantined), 1);
}

/* The GPU, tenant and client tables fill up: then -1, and what is there is
 * still found. */
static void test_tables_fill_up(void **state)
{
    struct fx *f = *state;
    struct vgpu_sched *s = f->s;
    struct vgpu_sched_policy p = {.klass = VGPU_CLASS_MEDIUM};
    char name[48];

    for (int i = 1; i < VGPU_SCHED_GPUS; i++) {
        snprintf(name, sizeof(name), "gpu-%d", i);
        assert_int_equal(vgpu_sched_gpu(s, name), i);
    }
    assert_int_equal(vgpu_sched_gpu(s, "one-too-many"), -1);
    assert_int_equal(vgpu_sched_gpu(s, GPU_UUID), f->g);
    assert_int_equal(vgpu_sched_gpu(s, "gpu-31"), 31);

    for (int i = 0; i < VGPU_SCHED_TENANTS; i++) {
        snprintf(name, sizeof(name), "tenant-%d", i);
        assert_int_equal(vgpu_sched_tenant(s, name, &p, true), i);
    }
    assert_int_equal(vgpu_sched_tenant(s, "one-too-many", &p, true), -1);
    assert_int_equal(vgpu_sched_tenant(s, "tenant-7", &p, false), 7);

    for (int i = 0; i < VGPU_SCHED_CLIENTS; i++)
        assert_int_equal(vgpu_sched_join(s, 0, getpid(), 0), i);
    assert_int_equal(vgpu_sched_join(s, 0, getpid(), 0), -1);
    vgpu_sched_leave(s, 5, f->t0);
    assert_int_equal(vgpu_sched_join(s, 0, getpid(), 0), 5);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static uint32_t read_major(const char *path)
{
    struct {
        uint64_t magic;
        uint32_t major, minor;
    } head;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, &head, sizeof(head)), (ssize_t)sizeof(head));
    close(fd);
    assert_true(head.magic == VGPU_SCHED_MAGIC);
    return head.major;
}

/* A region of another major layout is refused, and left as it is; one of a
 * newer minor layout is used. */
static void test_layout_version(void **state)
{
    struct fx *f = *state;
    char name[64], path[96];
    struct {
        uint64_t magic;
        uint32_t major, minor;
    } head = {VGPU_SCHED_MAGIC, VGPU_SCHED_MAJOR + 1, 0};

    vgpu_sched_name(name, sizeof(name));
    snprintf(path, sizeof(path), "/dev/shm%s", name);

    /* a live region whose major differs */
    f->s->major = VGPU_SCHED_MAJOR + 1;
    vgpu_sched_unmap(f->s);
    f->s = NULL;
    assert_null(vgpu_sched_open(true));
    assert_null(vgpu_sched_open(false));
    assert_int_equal(read_major(path), VGPU_SCHED_MAJOR + 1);

    /* just the header of one */
    assert_int_equal(vgpu_sched_unlink(), 0);
    write_file(path, &head, sizeof(head));
    assert_null(vgpu_sched_open(true));
    assert_null(vgpu_sched_open(false));
    assert_int_equal(read_major(path), VGPU_SCHED_MAJOR + 1);

    /* a newer minor: the same layout with additions in reserved space */
    assert_int_equal(vgpu_sched_unlink(), 0);
    f->s = vgpu_sched_open(true);
    assert_non_null(f->s);
    f->s->minor = VGPU_SCHED_MINOR + 1;
    atomic_store(&f->s->weight[VGPU_CLASS_HIGH], 7);
    vgpu_sched_unmap(f->s);
    f->s = vgpu_sched_open(false);
    assert_non_null(f->s);
    assert_int_equal(atomic_load(&f->s->weight[VGPU_CLASS_HIGH]), 7);
}

#define SCHED_TEST(f) cmocka_unit_test_setup_teardown(f, fresh, cleanup)

static const struct CMUnitTest tests[] = {
    SCHED_TEST(test_caps_30_70),
    SCHED_TEST(test_cap_alone_leaves_gpu_idle),
    SCHED_TEST(test_weights),
    SCHED_TEST(test_three_classes),
    SCHED_TEST(test_capped_high_with_medium_and_low),
    SCHED_TEST(test_capped_medium_beside_high),
    SCHED_TEST(test_share_per_tenant_not_client),
    SCHED_TEST(test_high_preempts_low),
    SCHED_TEST(test_no_credit_for_running_alone),
    SCHED_TEST(test_no_credit_for_idleness),
    SCHED_TEST(test_low_not_starved),
    SCHED_TEST(test_quarantine),
    SCHED_TEST(test_fifo_within_tenant),
    SCHED_TEST(test_reap_dead_holder),
    SCHED_TEST(test_waiter_takes_over_dead_holder),
    SCHED_TEST(test_inflight_bound),
    SCHED_TEST(test_tenant_policy_owner),
    SCHED_TEST(test_tables_fill_up),
    SCHED_TEST(test_layout_version),
};

SCHED_TEST_MAIN("sched", tests)
