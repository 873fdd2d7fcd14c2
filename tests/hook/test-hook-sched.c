/* hook.sched: GPU-time scheduling end to end, on a simulated H100.
 *
 * The tenants are real programs under LD_PRELOAD=libvgpu.so, run side by
 * side for about 3 s: vgpu-work, whose `busy` kernel occupies simgpu's device
 * exactly --kernel-us (so launches x kernel_us / wall_s is its busy share),
 * and sched-graph-work, the same work as graph launches. The checks are what
 * a user would look at: how caps of 30/70 split the device, a cap alone,
 * weights (high 4 : low 1, and the low one not starved), a latency tenant's
 * batch latency beside a saturating one (and, without the preload, that
 * simgpu's first-come first-served order fails the same check), a cap on
 * graph launches, and with vgpud: a managed cap that holds while vgpud is
 * killed and restarted, and quarantine / release.
 *
 * Each case has its own simulated machine (SIMGPU_STATE) and its own
 * VGPU_ACCOUNT_PREFIX, so its scheduler region (/dev/shm/<prefix>.@sched)
 * and tenant accounts are private; its teardown removes them. Children are
 * started with vt, so none outlives the test. The measured figures are
 * printed ("# ...") so that a run's margins can be read from its log.
 *
 *   test-hook-sched BIN_DIR LIBVGPU WORK_DIR */
#include "scheduler.h"
#include "vt.h"
#include "vt_world.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 30000
/* A saturating vgpu-work tenant: 1 ms kernels, four per synchronise, 3 s. */
#define SATURATE "--kernel-us", "1000", "--sync-every", "4", "--duration", "3"

static char graph_bin[600], stat_bin[600];

/* The current case's world, isolated (its own machine, scheduler region,
 * socket and database; none listens on the socket in the standalone cases). */
static struct vt_world W;

static void world(const char *name)
{
    vt_world_isolate(&W, "vts", "sched", name, "H100:80GiB");
}

static int teardown(void **state)
{
    vt_world_teardown(&W);
    return 0;
}

/* ---- tenants ------------------------------------------------------------------------------- */

/* argv as a tenant with this case's machine and scheduler, nothing of the
 * test's own environment that would change its policy, then `env`; its
 * stdout in a pipe. */
static struct vt_child start(bool preload, const char *const env[], char *const argv[])
{
    struct vt_client how = {.env = env,
                            .drop = VT_ENV(VT_POLICY_ENV, "LD_PRELOAD"),
                            .preload = preload,
                            .out = VT_PIPE};
    return vt_world_spawn(&W, &how, argv);
}

/* vgpu-work --kernel busy --json with the NULL-terminated arguments that
 * follow `env`. */
static struct vt_child work(bool preload, const char *const env[], ...)
{
    char *argv[32] = {W.work_bin, "--kernel", "busy", "--json"};
    va_list ap;
    va_start(ap, env);
    vt_argv_add(argv, 4, 32, ap);
    va_end(ap);
    return start(preload, env, argv);
}

/* Waits for the child, which must exit 0, and returns its JSON report. */
static json_t *finish(struct vt_child *c)
{
    char buf[8192];
    int rc = vt_child_wait(&W, c, buf, sizeof(buf), NULL, 0);
    if (rc != 0)
        fail_msg("%s (pid %d) exited %d; its output: '%s'", c->what, (int)c->pid, rc, buf);
    json_t *j = json_loads(buf, 0, NULL);
    if (!j)
        fail_msg("%s (pid %d): no JSON report in '%s'", c->what, (int)c->pid, buf);
    return j;
}

static double num(const json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_number(v))
        fail_msg("the report has no number '%s'", key);
    return json_number_value(v);
}

static double latency_ms(const json_t *j, const char *which)
{
    return num(json_object_get(j, "batch_latency_ms"), which);
}

/* Device time a vgpu-work report's launches took, in seconds. */
static double busy_s(const json_t *j)
{
    return num(j, "launches") * num(j, "kernel_us") / 1e6;
}

/* The GPU time (lease time, drain included) the scheduler charged tenant
 * `name` on this case's GPU, in seconds, read from the region. */
static double lease_s(const char *name)
{
    setenv("VGPU_ACCOUNT_PREFIX", W.prefix, 1); /* this case's region */
    struct vgpu_sched *s = vgpu_sched_open(false);
    double ns = -1;
    assert_non_null(s);
    for (int t = 0; t < VGPU_SCHED_TENANTS && ns < 0; t++)
        if (strncmp(s->tenant[t].name, name, sizeof(s->tenant[t].name)) == 0)
            ns = (double)atomic_load(&s->tenant[t].use[0].gpu_ns);
    vgpu_sched_unmap(s);
    if (ns < 0)
        fail_msg("the scheduler has no tenant %s", name);
    return ns / 1e9;
}

static void within(double v, double want, double tol, const char *what)
{
    if (!(fabs(v - want) <= tol))
        fail_msg("%s: %.2f, wanted %.1f +- %.1f", what, v, want, tol);
}

/* ---- standalone: policy from the environment --------------------------------------------- */

/* Caps of 30 and 70 on two saturating tenants split the device 30/70, and
 * together they keep it busy. */
static void test_caps_split_the_gpu(void **state)
{
    world("caps");
    struct vt_child a =
        work(true, VT_ENV("VGPU_TENANT=a", "VGPU_COMPUTE_SHARE=30"), SATURATE, NULL);
    struct vt_child b =
        work(true, VT_ENV("VGPU_TENANT=b", "VGPU_COMPUTE_SHARE=70"), SATURATE, NULL);
    json_t *ja = finish(&a), *jb = finish(&b);
    double ba = busy_s(ja), bb = busy_s(jb);
    double wall = fmax(num(ja, "wall_s"), num(jb, "wall_s"));
    double share_a = 100 * ba / (ba + bb), used = 100 * (ba + bb) / wall;
    printf("# caps 30/70: a %.2f%%, b %.2f%% of the busy time; busy %.1f%% of %.2f s\n", share_a,
           100 - share_a, used, wall);
    within(share_a, 30, 2, "the 30% tenant's share of the busy time");
    if (used < 85)
        fail_msg("the device was busy %.1f%% of the time, wanted >= 85%%", used);
    json_decref(ja);
    json_decref(jb);
}

/* A 30% cap holds for a tenant alone on the device: the idle rest is not
 * given to it. */
static void test_cap_alone(void **state)
{
    world("cap");
    struct vt_child a =
        work(true, VT_ENV("VGPU_TENANT=a", "VGPU_COMPUTE_SHARE=30"), SATURATE, NULL);
    json_t *ja = finish(&a);
    double share = 100 * busy_s(ja) / num(ja, "wall_s");
    printf("# cap 30 alone: busy %.2f%% of %.2f s\n", share, num(ja, "wall_s"));
    within(share, 30, 2, "the capped tenant's busy share");
    json_decref(ja);
}

/* High (weight 4) and low (weight 1), both saturating: 80/20, and the low
 * one keeps getting the device, a quantum at a time. */
static void test_weights(void **state)
{
    world("weights");
    struct vt_child h = work(true, VT_ENV("VGPU_TENANT=hi", "VGPU_PRIORITY=high"), SATURATE, NULL);
    struct vt_child l = work(true, VT_ENV("VGPU_TENANT=lo", "VGPU_PRIORITY=low"), SATURATE, NULL);
    json_t *jh = finish(&h), *jl = finish(&l);
    double bh = busy_s(jh), bl = busy_s(jl), share_h = 100 * bh / (bh + bl);
    double gap = latency_ms(jl, "max");
    double gh = lease_s("hi"), gl = lease_s("lo"), lease_h = 100 * gh / (gh + gl);
    printf("# weights 4:1: high %.2f%%, low %.2f%% of the GPU time the scheduler charged; "
           "%.2f / %.2f %% of the busy time; low's longest batch %.1f ms (p50 %.1f)\n",
           lease_h, 100 - lease_h, share_h, 100 - share_h, gap, latency_ms(jl, "p50"));
    /* What the scheduler promises is GPU time; the busy time leans a little
     * further to the high tenant, for each hand-off's bubble (a process
     * waking up, its first launch) falls in the receiver's lease, and the
     * low tenant receives one per 20 ms lease, the high one per 80 ms. */
    within(lease_h, 80, 2, "the high tenant's share of the GPU time charged");
    within(share_h, 80, 4, "the high tenant's share of the busy time");
    /* Not starved: with 20 ms quanta the low tenant waits about 80 ms for
     * its turn; a batch of 4 ms that took half a second would mean it was
     * left out for many turns. */
    if (gap > 500)
        fail_msg("the low tenant's longest batch took %.1f ms, wanted <= 500 ms", gap);
    json_decref(jh);
    json_decref(jl);
}

/* A medium tenant capped at 30 % beside a saturating high one (weights
 * 4 : 2 would give it a third) gets its cap, never more, and the high one
 * the rest. (Once it starved, at 4 %: the holder's agent slept
 * without a deadline while the only waiter's cap refilled, and nobody woke
 * it when the waiter became eligible.) */
static void test_capped_medium_beside_high(void **state)
{
    world("capmed");
    struct vt_child h = work(true, VT_ENV("VGPU_TENANT=hi", "VGPU_PRIORITY=high"), SATURATE, NULL);
    struct vt_child m =
        work(true, VT_ENV("VGPU_TENANT=med", "VGPU_PRIORITY=medium", "VGPU_COMPUTE_SHARE=30"),
             SATURATE, NULL);
    json_t *jh = finish(&h), *jm = finish(&m);
    double bh = busy_s(jh), bm = busy_s(jm), wall = fmax(num(jh, "wall_s"), num(jm, "wall_s"));
    double gm = lease_s("med"), share_m = 100 * bm / wall;
    printf("# capped medium beside high: medium %.2f%% of the time charged, %.2f%% busy; high "
           "%.2f%% busy, of %.2f s\n",
           100 * gm / wall, share_m, 100 * bh / wall, wall);
    /* The cap is on GPU time: the scheduler charges it 30 %, never more.
     * (The busy time it gets is 26-28 %: the bubble of each hand-off falls
     * in its short leases, about 11 ms each.) */
    within(100 * gm / wall, 30, 2, "the capped medium tenant's share of the time charged");
    if (share_m > 32 || share_m < 22)
        fail_msg("the capped medium tenant's busy share: %.2f%%, wanted 22-32%%", share_m);
    /* the high tenant has the rest, less the hand-offs' bubbles */
    if (100 * (bh + bm) / wall < 85)
        fail_msg("the device was busy %.1f%% of the time, wanted >= 85%%", 100 * (bh + bm) / wall);
    json_decref(jh);
    json_decref(jm);
}

/* A high-priority latency tenant (a 100 us kernel every 2 ms) beside a
 * saturating low one (1 ms kernels, four queued at a time). */
static void latency_pair(bool preload, double *p50, double *p95)
{
    struct vt_child h = work(preload, VT_ENV("VGPU_TENANT=hi", "VGPU_PRIORITY=high"), "--kernel-us",
                             "100", "--period-us", "2000", "--duration", "3", NULL);
    struct vt_child l =
        work(preload, VT_ENV("VGPU_TENANT=lo", "VGPU_PRIORITY=low"), SATURATE, NULL);
    json_t *jh = finish(&h), *jl = finish(&l);
    *p50 = latency_ms(jh, "p50");
    *p95 = latency_ms(jh, "p95");
    printf("# latency %s: high p50 %.3f p95 %.3f p99 %.3f max %.3f ms; low busy %.1f%%\n",
           preload ? "scheduled" : "without libvgpu", *p50, *p95, latency_ms(jh, "p99"),
           latency_ms(jh, "max"), 100 * busy_s(jl) / num(jl, "wall_s"));
    json_decref(jh);
    json_decref(jl);
}

/* The high tenant waits for about one low kernel (1 ms) and the hand-off,
 * not for the low one's queue; without the scheduler, simgpu runs work first
 * come first served and the same check fails. The median says it; the p95
 * bound leaves room for the host: on a 2-core machine the wake-ups of three
 * processes (two tenants and the low one's agent) add up to a few
 * milliseconds now and then (p95 1.3-3.1 ms measured on one such machine
 * in one afternoon, with the same build), still below the median without
 * the scheduler. */
static void test_latency_beside_a_saturating_tenant(void **state)
{
    double p50, p95;
    world("latency");
    latency_pair(true, &p50, &p95);
    if (p50 > 1.5 || p95 > 3.5)
        fail_msg("high tenant: p50 %.3f ms (wanted <= 1.5), p95 %.3f ms (wanted <= 3.5)", p50, p95);
    latency_pair(false, &p50, &p95);
    if (p50 < 3.0)
        fail_msg("without libvgpu the high tenant's p50 was %.3f ms, wanted >= 3: the check "
                 "above would not tell scheduling from none",
                 p50);
}

/* Work that reaches the device only as graph launches is held to a cap. */
static void test_graph_launches_are_gated(void **state)
{
    world("graph");
    char *argv[] = {graph_bin, "4", "1000", "3", NULL};
    struct vt_child g = start(true, VT_ENV("VGPU_TENANT=g", "VGPU_COMPUTE_SHARE=30"), argv);
    json_t *j = finish(&g);
    double share = 100 * num(j, "busy_s") / num(j, "wall_s");
    printf("# graphs under a 30%% cap: %.0f launches of 4 x 1 ms, busy %.2f%% of %.2f s\n",
           num(j, "graphs"), share, num(j, "wall_s"));
    assert_true(num(j, "graphs") > 0);
    within(share, 30, 2, "the graph tenant's busy share");
    json_decref(j);
}

/* ---- managed by vgpud ----------------------------------------------------------------------- */

/* vgpud with pool P on GPU 0 and tenant `name` in it, bound to our uid,
 * with one more `tenant add` option. Skips the case when we are not an
 * admin (root or group vgpu): only an admin may make pools and tenants. */
static void managed_tenant(const char *name, const char *opt, const char *val)
{
    char uid[16];
    vt_world_start_vgpud(&W, NULL);
    json_t *ping = vt_admin_json(&W, "ping", NULL);
    bool is_admin = json_is_true(json_object_get(ping, "admin"));
    json_decref(ping);
    if (!is_admin) {
        printf("# not an admin of vgpud (root or group vgpu): case skipped\n");
        skip();
    }
    snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "P", "--gpus", "0", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", name, "--pool", "P", "--bind-uid",
                              uid, opt, val, NULL),
                     0);
}

static json_t *tenant_status(const char *name)
{
    json_t *s = vt_admin_json(&W, "status", NULL), *t, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(s, "tenants"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            found = json_incref(t);
    }
    json_decref(s);
    if (!found)
        fail_msg("status lists no tenant %s", name);
    return found;
}

/* A managed tenant with --share 30 keeps its cap while vgpud is killed
 * (SIGKILL after 1 s) and away for 2 s; the restarted vgpud reports the GPU
 * time of the whole run, the time it was away included. The client's own
 * VGPU_COMPUTE_SHARE=90 is not what counts: vgpud's share is. */
static void test_vgpud_manages_and_survives(void **state)
{
    world("vgpud");
    managed_tenant("T", "--share", "30");
    struct vt_child c = work(true, VT_ENV("VGPU_TENANT=T", "VGPU_COMPUTE_SHARE=90"), "--kernel-us",
                             "1000", "--sync-every", "4", "--duration", "4", NULL);
    vt_sleep_ms(1000);
    assert_int_equal(vt_world_stop_vgpud(&W, SIGKILL), 128 + SIGKILL);
    vt_sleep_ms(2000);
    vt_world_start_vgpud(&W, NULL);
    json_t *j = finish(&c);
    double busy = busy_s(j), share = 100 * busy / num(j, "wall_s");
    json_t *t = tenant_status("T");
    double gpu_time = num(t, "gpu_time_s");
    printf("# managed share 30, vgpud killed and restarted: busy %.2f%% of %.2f s; status: "
           "gpu_time_s %.3f for %.3f s busy\n",
           share, num(j, "wall_s"), gpu_time, busy);
    within(share, 30, 2.5, "the managed tenant's busy share");
    /* Its leases cover its busy time, so the GPU time the restarted vgpud
     * reports is at least that, unless the time it was away was lost. */
    if (!(gpu_time > 0 && gpu_time >= 0.9 * busy))
        fail_msg("status after the restart: gpu_time_s %.3f for %.3f s of busy time", gpu_time,
                 busy);
    json_decref(t);
    json_decref(j);
}

/* Launches simgpu has seen from `pid` (simgpu-stat, as nvidia-smi would). */
static long launches_of(pid_t pid)
{
    char *out = NULL;
    char *argv[] = {stat_bin, "--json", "--state", W.state, NULL};
    assert_int_equal(vt_run(argv, &out, NULL, TIMEOUT_MS), 0);
    json_t *s = json_loads(out, 0, NULL), *p, *d;
    free(out);
    assert_non_null(s);
    size_t i, k;
    long n = 0;
    json_array_foreach(json_object_get(s, "processes"), i, p)
    {
        if (json_integer_value(json_object_get(p, "pid")) != pid)
            continue;
        json_array_foreach(json_object_get(p, "devices"), k, d) n +=
            (long)json_integer_value(json_object_get(d, "launches"));
    }
    json_decref(s);
    return n;
}

/* Whether `pid` has not exited (it is not reaped: vt_wait does that). */
static bool running(pid_t pid)
{
    siginfo_t info = {0};
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

/* `vgpu-admin quarantine Q` stops a running client of Q (its launch count
 * stands still) and holds a client that starts meanwhile at its first
 * launch; `release Q` lets both go on. */
static void test_quarantine_and_release(void **state)
{
    world("quar");
    managed_tenant("Q", "--priority", "medium");
    struct vt_child a = work(true, VT_ENV("VGPU_TENANT=Q"), "--kernel-us", "1000", "--sync-every",
                             "4", "--duration", "4", NULL);
    long before = 0;
    for (int i = 0; i < 500 && (before = launches_of(a.pid)) == 0; i++)
        vt_sleep_ms(10);
    assert_true(before > 0);

    assert_int_equal(vt_admin(&W, NULL, NULL, "quarantine", "Q", NULL), 0);
    vt_sleep_ms(200); /* its last few kernels drain */
    long held = launches_of(a.pid);
    /* A second client: with one launch per batch and --duration 1 it ends
     * only after a launch has completed. */
    struct vt_child b = work(true, VT_ENV("VGPU_TENANT=Q"), "--kernel-us", "1000", "--sync-every",
                             "1", "--duration", "1", NULL);
    vt_sleep_ms(1500);
    long a_later = launches_of(a.pid), b_later = launches_of(b.pid);
    bool b_running = running(b.pid);
    printf("# quarantined: the running client's launches %ld -> %ld over 1.5 s; the new one: "
           "%ld launches, %s\n",
           held, a_later, b_later, b_running ? "still waiting" : "exited");
    assert_int_equal(a_later, held);
    assert_int_equal(b_later, 0);
    assert_true(b_running);
    /* status shows both clients queued for the GPU */
    json_t *t = tenant_status("Q");
    printf("# quarantined: queue depth %lld\n",
           (long long)json_integer_value(json_object_get(t, "queue_depth")));
    assert_true(json_integer_value(json_object_get(t, "queue_depth")) >= 1);
    json_decref(t);

    assert_int_equal(vt_admin(&W, NULL, NULL, "release", "Q", NULL), 0);
    json_t *jb = finish(&b);
    vt_sleep_ms(300);
    long a_after = launches_of(a.pid);
    json_t *ja = finish(&a);
    printf("# released: the running client's launches %ld -> %ld in 0.3 s, its longest batch "
           "%.0f ms; the new one: %.0f launches, its batch %.0f ms\n",
           a_later, a_after, latency_ms(ja, "max"), num(jb, "launches"), latency_ms(jb, "max"));
    assert_true(a_after > a_later);
    /* Both waited for the release: A from the quarantine (1.7 s before it),
     * B from its first launch; unheld, a batch takes 1 to 4 ms. */
    assert_true(latency_ms(ja, "max") >= 1500);
    assert_true(num(jb, "launches") >= 1);
    assert_true(latency_ms(jb, "max") >= 1000);
    /* ... and the tenant's lease-wait histogram has those waits: observations
     * above one second, and percentiles once there are observations */
    t = tenant_status("Q");
    json_t *lw = json_object_get(t, "lease_wait");
    json_t *buckets = json_object_get(lw, "buckets");
    long above_1s = 0;
    for (size_t i = 16; i < json_array_size(buckets); i++) /* above 1 s (bucket 15: <= 1 s) */
        above_1s += (long)json_integer_value(json_array_get(buckets, i));
    printf("# lease waits: %lld, %ld above 1 s, p50 %.3f ms, p99 %.3f ms\n",
           (long long)json_integer_value(json_object_get(lw, "count")), above_1s, num(lw, "p50_ms"),
           num(lw, "p99_ms"));
    assert_true(json_integer_value(json_object_get(lw, "count")) >= 2);
    assert_true(above_1s >= 1);
    assert_true(num(lw, "p99_ms") >= num(lw, "p50_ms"));
    json_decref(t);
    json_decref(ja);
    json_decref(jb);
}

/* The tenant's state and watchdog count in vgpud's status. */
static void watchdog_of(const char *name, char *state, size_t len, long *events)
{
    json_t *t = tenant_status(name);
    snprintf(state, len, "%s", json_string_value(json_object_get(t, "state")));
    *events = (long)num(t, "watchdog_events");
    json_decref(t);
}

/* A holder whose one kernel runs 3 s while another tenant waits: past the
 * quantum plus its execution limit (300 ms) the policy acts, and past the
 * grace time (1 s) the watchdog counts an event. warn: it keeps running;
 * quarantine: its tenant is quarantined; kill: the process is SIGKILLed. */
static void test_watchdog_policies(void **state)
{
    static const char *const policies[] = {"warn", "quarantine", "kill"};
    char uid[16], tenant[16], st[32];
    world("watchdog");
    managed_tenant("other", "--priority", "medium");
    snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
    for (int i = 0; i < 3; i++) {
        snprintf(tenant, sizeof(tenant), "long-%s", policies[i]);
        assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", tenant, "--pool", "P",
                                  "--exec-limit", "300ms", "--exec-policy", policies[i], NULL),
                         0);
    }
    for (int i = 0; i < 3; i++) {
        char env_tenant[32];
        long events;
        snprintf(tenant, sizeof(tenant), "long-%s", policies[i]);
        snprintf(env_tenant, sizeof(env_tenant), "VGPU_TENANT=%s", tenant);
        struct vt_child l = work(true, VT_ENV(env_tenant), "--kernel-us", "3000000", "--sync-every",
                                 "1", "--duration", "0.1", NULL);
        for (int k = 0; k < 500 && launches_of(l.pid) == 0; k++)
            vt_sleep_ms(10); /* its kernel is on the device */
        struct vt_child o = work(true, VT_ENV("VGPU_TENANT=other"), "--kernel-us", "1000",
                                 "--sync-every", "1", "--duration", "0.5", NULL);
        vt_sleep_ms(1400);
        watchdog_of(tenant, st, sizeof(st), &events);
        bool alive = running(l.pid);
        printf("# watchdog, policy %s: state %s, %ld event(s), holder %s\n", policies[i], st,
               events, alive ? "running" : "gone");
        if (events < 1)
            fail_msg("policy %s: no watchdog event after 1.4 s past the quantum", policies[i]);
        if (strcmp(policies[i], "kill") == 0) {
            assert_false(alive);
            assert_int_equal(vt_wait(l.pid, TIMEOUT_MS), 128 + SIGKILL);
        } else {
            assert_true(alive);
            assert_string_equal(st, strcmp(policies[i], "warn") == 0 ? "active" : "quarantined");
            kill(l.pid, SIGKILL);
            vt_wait(l.pid, TIMEOUT_MS);
        }
        close(l.out);
        json_decref(finish(&o)); /* the other tenant got the GPU in the end */
    }
}

int main(int argc, char **argv)
{
    if (!vt_world_args(&W, argc, argv, true, TIMEOUT_MS))
        return 2;
    snprintf(graph_bin, sizeof(graph_bin), "%s/sched-graph-work", W.bin);
    snprintf(stat_bin, sizeof(stat_bin), "%s/simgpu-stat", W.bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_caps_split_the_gpu, teardown),
        cmocka_unit_test_teardown(test_cap_alone, teardown),
        cmocka_unit_test_teardown(test_weights, teardown),
        cmocka_unit_test_teardown(test_capped_medium_beside_high, teardown),
        cmocka_unit_test_teardown(test_latency_beside_a_saturating_tenant, teardown),
        cmocka_unit_test_teardown(test_graph_launches_are_gated, teardown),
        cmocka_unit_test_teardown(test_vgpud_manages_and_survives, teardown),
        cmocka_unit_test_teardown(test_quarantine_and_release, teardown),
        cmocka_unit_test_teardown(test_watchdog_policies, teardown),
    };
    return cmocka_run_group_tests_name("hook.sched", tests, NULL, NULL);
}
