/* hook.rate: a tenant's rate limit (operations per second with a burst) end
 * to end, on a simulated H100.
 *
 * The tenants are vgpu-work under LD_PRELOAD=libvgpu.so, standalone
 * (VGPU_SOCKET names no socket), launching 10 us `busy` kernels as fast as
 * the driver takes them (--sync-every 0) for 2 s: unlimited, that is about
 * 100 000 launches a second on simgpu. The checks are what a user would
 * look at:
 *  - VGPU_RATE_LIMIT=500/s VGPU_RATE_BURST=50: the run's launches are the
 *    burst and the rate, 50 + 500 x wall_s, within 5 %; every launch past
 *    the burst waited once (the tenant's rl_waits), not once per retry; the
 *    same program without the limit runs more than ten times as many;
 *  - two processes of one tenant share one bucket: together they get what
 *    one would, and neither is starved;
 *  - a new rate written into the scheduler's region while a process runs
 *    (as vgpud does on `vgpu-admin tenant set --rate`) takes effect in it;
 *  - a malformed VGPU_RATE_LIMIT stops CUDA with a message.
 *
 * Each case has its own simulated machine (SIMGPU_STATE) and its own
 * VGPU_ACCOUNT_PREFIX, so its scheduler region and accounts are private;
 * the test maps the region itself to read and write the tenant's figures.
 * Children are started with vt, so none outlives the test. The measured
 * figures are printed ("# ...").
 *
 *   test-hook-rate BIN_DIR LIBVGPU WORK_DIR */
#include "scheduler.h"
#include "vt.h"
#include "vt_world.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 30000
#define RATE 500.0
#define BURST 50.0
#define LIMITED "VGPU_RATE_LIMIT=500/s", "VGPU_RATE_BURST=50"

/* The current case's world, isolated: its own machine and scheduler region
 * (no vgpud: the tenants are standalone). */
static struct vt_world W;

static void world(const char *name)
{
    vt_world_isolate(&W, "vtr", "rate", name, "H100:80GiB");
    setenv("VGPU_ACCOUNT_PREFIX", W.prefix, 1); /* the region this test maps */
}

static int teardown(void **state)
{
    vt_world_teardown(&W);
    return 0;
}

/* ---- tenants ------------------------------------------------------------------------------- */

/* vgpu-work for 2 s as tenant "t" with this case's machine and scheduler,
 * standalone (VGPU_SOCKET names no socket), nothing of the test's own
 * environment that would change its policy, then `env`; its stdout and
 * stderr in pipes. */
static struct vt_child work(const char *const env[])
{
    const char *full[8] = {"VGPU_SOCKET=/nonexistent", "VGPU_TENANT=t"};
    for (int i = 0, n = 2; env && env[i] && n < 7; i++)
        full[n++] = env[i];
    struct vt_client how = {.env = full,
                            .drop = VT_ENV(VT_POLICY_ENV, "VGPU_RATE_LIMIT", "VGPU_RATE_BURST"),
                            .preload = true,
                            .out = VT_PIPE,
                            .err = VT_PIPE};
    char *argv[] = {W.work_bin, "--kernel",   "busy", "--kernel-us", "10", "--sync-every",
                    "0",        "--duration", "2",    "--json",      NULL};
    return vt_world_spawn(&W, &how, argv);
}

/* Waits for the child, which must exit 0, and returns its JSON report. */
static json_t *finish(struct vt_child *c)
{
    char out[8192], err[4096];
    int rc = vt_child_wait(&W, c, out, sizeof(out), err, sizeof(err));
    if (rc != 0)
        fail_msg("vgpu-work (pid %d) exited %d; its output: '%s' '%s'", (int)c->pid, rc, out, err);
    json_t *j = json_loads(out, 0, NULL);
    if (!j)
        fail_msg("vgpu-work (pid %d): no JSON report in '%s'", (int)c->pid, out);
    return j;
}

static double num(const json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_number(v))
        fail_msg("the report has no number '%s'", key);
    return json_number_value(v);
}

/* What the limit lets through in `wall` seconds: the burst, then the rate. */
static double allowed(double wall)
{
    return BURST + RATE * wall;
}

static void within_pct(double v, double want, double pct, const char *what)
{
    if (!(fabs(v - want) <= want * pct / 100))
        fail_msg("%s: %.0f, wanted %.0f +- %.0f%%", what, v, want, pct);
}

/* ---- the scheduler region, as vgpud sees it ----------------------------------------------- */

/* Maps this case's region and finds tenant "t" in it, waiting up to 10 s for
 * a child to create them. */
static struct vgpu_sched *region(int *t)
{
    for (int tries = 0; tries < 1000; tries++, vt_sleep_ms(10)) {
        struct vgpu_sched *s = vgpu_sched_open(false);
        if (!s)
            continue;
        for (int i = 0; i < VGPU_SCHED_TENANTS; i++) {
            if (strcmp(s->tenant[i].name, "t") == 0) {
                *t = i;
                return s;
            }
        }
        vgpu_sched_unmap(s);
    }
    fail_msg("no tenant t in the scheduler region of %s", W.prefix);
    return NULL;
}

/* ---- the cases ----------------------------------------------------------------------------- */

/* 500/s with a burst of 50: the burst and the rate, each launch past the
 * burst counted once as having waited; without the limit, far more. */
static void test_rate_limit_holds(void **state)
{
    world("one");
    struct vt_child c = work(VT_ENV(LIMITED));
    json_t *j = finish(&c);
    double n = num(j, "launches"), wall = num(j, "wall_s");
    int t;
    struct vgpu_sched *s = region(&t);
    double waits = (double)atomic_load(&s->tenant[t].rl_waits);
    vgpu_sched_unmap(s);
    printf("# 500/s burst 50: %.0f launches in %.3f s (%.1f/s), %.0f waited; allowed %.0f\n", n,
           wall, num(j, "launches_per_s"), waits, allowed(wall));
    within_pct(n, allowed(wall), 5, "launches at 500/s, burst 50");
    /* A launch past the burst waits once (never counted again when it
     * retries), unless the program was slow enough for a token to be there
     * already; the refused try of a launch that never ran adds one. */
    if (waits > n - BURST + 1 || waits < 0.9 * (n - BURST))
        fail_msg("%.0f launches waited, wanted at most %.0f (each once) and most of them", waits,
                 n - BURST + 1);
    json_decref(j);

    vt_world_remove(&W);
    world("free");
    struct vt_child f = work(NULL);
    json_t *jf = finish(&f);
    double nf = num(jf, "launches"), wf = num(jf, "wall_s");
    printf("# without a limit: %.0f launches in %.3f s (%.1f/s)\n", nf, wf,
           num(jf, "launches_per_s"));
    if (nf < 10 * allowed(wf))
        fail_msg("without a limit: %.0f launches in %.3f s, wanted > %.0f: the check above "
                 "would not tell a limit from none",
                 nf, wf, 10 * allowed(wf));
    json_decref(jf);
}

/* Two processes of one tenant share its bucket: together they get the burst
 * and the rate once over the time they ran. */
static void test_rate_shared_by_processes(void **state)
{
    world("two");
    struct vt_child a = work(VT_ENV(LIMITED)), b = work(VT_ENV(LIMITED));
    json_t *ja = finish(&a), *jb = finish(&b);
    double na = num(ja, "launches"), nb = num(jb, "launches");
    double wall = fmax(num(ja, "wall_s"), num(jb, "wall_s"));
    printf("# two processes at 500/s burst 50: %.0f + %.0f = %.0f launches in %.3f s; allowed "
           "%.0f\n",
           na, nb, na + nb, wall, allowed(wall));
    within_pct(na + nb, allowed(wall), 5, "the two processes' launches together");
    /* They take turns on the GPU: neither is starved of the tokens. */
    if (fmin(na, nb) < (na + nb) / 4)
        fail_msg("the processes got %.0f and %.0f launches: one was starved", na, nb);
    json_decref(ja);
    json_decref(jb);
}

/* A running process takes a new rate from its tenant's policy in the region
 * (written as vgpud writes it: managed, every GPU's hint word bumped). */
static void test_rate_change_reaches_a_running_process(void **state)
{
    world("change");
    struct vt_child c = work(VT_ENV(LIMITED));
    int t;
    struct vgpu_sched *s = region(&t);
    vt_sleep_ms(700);
    struct vgpu_sched_policy p = {.klass = VGPU_CLASS_MEDIUM, .rate = 5000, .burst = 50};
    assert_int_equal(vgpu_sched_tenant(s, "t", &p, true), t);
    json_t *j = finish(&c);
    vgpu_sched_unmap(s);
    double n = num(j, "launches"), wall = num(j, "wall_s");
    printf("# 500/s raised to 5000/s after about 0.7 s: %.0f launches in %.3f s (500/s all "
           "along: %.0f, 5000/s: %.0f)\n",
           n, wall, allowed(wall), BURST + 5000 * wall);
    /* About 0.7 s at 500/s and 1.3 s at 5000/s: some 7000. */
    if (n < 3 * allowed(wall) || n > BURST + 5000 * wall)
        fail_msg("%.0f launches in %.3f s: the new rate did not take effect", n, wall);
    json_decref(j);
}

/* A malformed limit fails closed: CUDA stops with a message naming it. */
static void test_bad_rate_fails_closed(void **state)
{
    static const char *const bad[][2] = {
        {"VGPU_RATE_LIMIT=500/m", NULL},       {"VGPU_RATE_LIMIT=-5", NULL},
        {"VGPU_RATE_LIMIT=99999999999", NULL}, {"VGPU_RATE_LIMIT=500", "VGPU_RATE_BURST=lots"},
        {"VGPU_RATE_BURST=50", NULL},
    };
    world("bad");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[8192], err[4096];
        const char *env[] = {bad[i][0], bad[i][1], NULL};
        struct vt_child c = work(env);
        int rc = vt_child_wait(&W, &c, out, sizeof(out), err, sizeof(err));
        if (rc == 0 || !strstr(err, bad[i][1] ? "VGPU_RATE_BURST" : bad[i][0]))
            fail_msg("%s %s: exit %d, stderr '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "", rc, err);
    }
}

int main(int argc, char **argv)
{
    if (!vt_world_args(&W, argc, argv, true, TIMEOUT_MS))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rate_limit_holds, teardown),
        cmocka_unit_test_teardown(test_rate_shared_by_processes, teardown),
        cmocka_unit_test_teardown(test_rate_change_reaches_a_running_process, teardown),
        cmocka_unit_test_teardown(test_bad_rate_fails_closed, teardown),
    };
    return cmocka_run_group_tests_name("hook.rate", tests, NULL, NULL);
}
