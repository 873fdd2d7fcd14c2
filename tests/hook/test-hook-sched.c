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
#include "vt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 30000
/* A saturating vgpu-work tenant: 1 ms kernels, four per synchronise, 3 s. */
#define SATURATE "--kernel-us", "1000", "--sync-every", "4", "--duration", "3"
/* A NULL-terminated list of "K=V" environment entries. */
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static char libvgpu[512];
static char work_bin[600], graph_bin[600], vgpud_bin[600], admin_bin[600], stat_bin[600];
static char work_dir[512];

/* The current case's private world. */
static struct {
    char prefix[32]; /* VGPU_ACCOUNT_PREFIX */
    char state[600]; /* SIMGPU_STATE */
    char sock[600];  /* vgpud's socket (none listens in the standalone cases) */
    char db[600];
    pid_t vgpud;
} W;

/* ---- the world of one case --------------------------------------------------------------- */

static void remove_world(void)
{
    static const char *const db_files[] = {"", "-wal", "-shm", "-journal"};
    char path[700];
    unlink(W.state);
    unlink(W.sock);
    for (size_t i = 0; i < sizeof(db_files) / sizeof(db_files[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", W.db, db_files[i]);
        unlink(path);
    }
    vt_remove_shm(W.prefix); /* the scheduler region and the tenants' accounts */
}

static void world(const char *name)
{
    snprintf(W.prefix, sizeof(W.prefix), "vts%d-%s", (int)getpid(), name);
    snprintf(W.state, sizeof(W.state), "%s/sched-%s.state", work_dir, name);
    snprintf(W.sock, sizeof(W.sock), "%s/sched-%s.sock", work_dir, name);
    if (strlen(W.sock) >= 100) /* sun_path has 108 bytes */
        snprintf(W.sock, sizeof(W.sock), "/tmp/%s.sock", W.prefix);
    snprintf(W.db, sizeof(W.db), "%s/sched-%s.db", work_dir, name);
    W.vgpud = 0;
    remove_world();
}

static int teardown(void **state)
{
    if (W.vgpud > 0) {
        kill(W.vgpud, SIGTERM);
        vt_wait(W.vgpud, TIMEOUT_MS);
        W.vgpud = 0;
    }
    vt_kill_all();
    remove_world();
    return 0;
}

/* ---- tenants ------------------------------------------------------------------------------- */

struct child {
    pid_t pid;
    int out; /* its stdout */
    const char *what;
};

struct spawn {
    char *const *argv;
    const char *const *env;
    bool preload;
    int out[2];
};

/* In the child: this case's machine and scheduler, nothing of the test's own
 * environment that would change a tenant's policy, then `env`. */
static int exec_child(void *p)
{
    static const char *const drop[] = {"VGPU_TENANT", "VGPU_COMPUTE_SHARE",   "VGPU_PRIORITY",
                                       "VGPU_TOKEN",  "CUDA_DEVICE_SM_LIMIT", "VGPU_MEMORY_LIMIT",
                                       "LD_PRELOAD"};
    struct spawn *a = p;
    if (dup2(a->out[1], 1) < 0)
        return 126;
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        unsetenv(drop[i]);
    setenv("SIMGPU_STATE", W.state, 1);
    setenv("SIMGPU_DEVICES", "H100:80GiB", 1);
    setenv("VGPU_ACCOUNT_PREFIX", W.prefix, 1);
    setenv("VGPU_SOCKET", W.sock, 1);
    if (a->preload)
        setenv("LD_PRELOAD", libvgpu, 1);
    for (int i = 0; a->env && a->env[i]; i++)
        putenv((char *)a->env[i]);
    execv(a->argv[0], a->argv);
    fprintf(stderr, "test-hook-sched: cannot run %s: %s\n", a->argv[0], strerror(errno));
    return 127;
}

static struct child start(bool preload, const char *const env[], char *const argv[])
{
    struct spawn a = {.argv = argv, .env = env, .preload = preload};
    assert_int_equal(pipe2(a.out, O_CLOEXEC), 0);
    struct child c = {.pid = vt_fork(exec_child, &a), .out = a.out[0], .what = argv[0]};
    close(a.out[1]);
    assert_true(c.pid > 0);
    return c;
}

/* vgpu-work --kernel busy --json with the NULL-terminated arguments that
 * follow `env`. */
static struct child work(bool preload, const char *const env[], ...)
{
    char *argv[32] = {work_bin, "--kernel", "busy", "--json"};
    int n = 4;
    va_list ap;
    va_start(ap, env);
    for (char *w; n < 31 && (w = va_arg(ap, char *)) != NULL;)
        argv[n++] = w;
    va_end(ap);
    argv[n] = NULL;
    return start(preload, env, argv);
}

/* Waits for the child, which must exit 0, and returns its JSON report. */
static json_t *finish(struct child *c)
{
    char buf[8192];
    size_t n = 0;
    ssize_t r;
    int rc = vt_wait(c->pid, TIMEOUT_MS);
    while (n < sizeof(buf) - 1 && (r = read(c->out, buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(c->out);
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

static void within(double v, double want, double tol, const char *what)
{
    if (!(fabs(v - want) <= tol))
        fail_msg("%s: %.2f, wanted %.1f +- %.1f", what, v, want, tol);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- standalone: policy from the environment --------------------------------------------- */

/* Caps of 30 and 70 on two saturating tenants split the device 30/70, and
 * together they keep it busy. */
static void test_caps_split_the_gpu(void **state)
{
    world("caps");
    struct child a = work(true, ENV("VGPU_TENANT=a", "VGPU_COMPUTE_SHARE=30"), SATURATE, NULL);
    struct child b = work(true, ENV("VGPU_TENANT=b", "VGPU_COMPUTE_SHARE=70"), SATURATE, NULL);
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
    struct child a = work(true, ENV("VGPU_TENANT=a", "VGPU_COMPUTE_SHARE=30"), SATURATE, NULL);
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
    struct child h = work(true, ENV("VGPU_TENANT=hi", "VGPU_PRIORITY=high"), SATURATE, NULL);
    struct child l = work(true, ENV("VGPU_TENANT=lo", "VGPU_PRIORITY=low"), SATURATE, NULL);
    json_t *jh = finish(&h), *jl = finish(&l);
    double bh = busy_s(jh), bl = busy_s(jl), share_h = 100 * bh / (bh + bl);
    double gap = latency_ms(jl, "max");
    printf("# weights 4:1: high %.2f%%, low %.2f%% of the busy time; low's longest batch "
           "%.1f ms (p50 %.1f)\n",
           share_h, 100 - share_h, gap, latency_ms(jl, "p50"));
    within(share_h, 80, 2.5, "the high tenant's share of the busy time");
    /* Not starved: with 20 ms quanta the low tenant waits about 80 ms for
     * its turn; a batch of 4 ms that took half a second would mean it was
     * left out for many turns. */
    if (gap > 500)
        fail_msg("the low tenant's longest batch took %.1f ms, wanted <= 500 ms", gap);
    json_decref(jh);
    json_decref(jl);
}

/* A medium tenant capped at 30 % beside a saturating high one (weights
 * 4 : 2 would give it a third): it gets its cap, the high one the rest.
 * (Once it starved: the
 * holder's agent slept without a deadline while the only waiter's cap was
 * refilling, and nobody woke it when the waiter became eligible.) */
static void test_capped_medium_beside_high(void **state)
{
    world("capmed");
    struct child h = work(true, ENV("VGPU_TENANT=hi", "VGPU_PRIORITY=high"), SATURATE, NULL);
    struct child m = work(true, ENV("VGPU_TENANT=med", "VGPU_PRIORITY=medium",
                                    "VGPU_COMPUTE_SHARE=30"),
                          SATURATE, NULL);
    json_t *jh = finish(&h), *jm = finish(&m);
    double bh = busy_s(jh), bm = busy_s(jm), wall = fmax(num(jh, "wall_s"), num(jm, "wall_s"));
    printf("# capped medium beside high: medium %.2f%%, high %.2f%% of %.2f s\n",
           100 * bm / wall, 100 * bh / wall, wall);
    within(100 * bm / wall, 30, 2.5, "the capped medium tenant's busy share");
    /* the high tenant has the rest, less the hand-offs' bubbles */
    if (100 * (bh + bm) / wall < 90)
        fail_msg("the device was busy %.1f%% of the time, wanted >= 90%%", 100 * (bh + bm) / wall);
    json_decref(jh);
    json_decref(jm);
}

/* A high-priority latency tenant (a 100 us kernel every 2 ms) beside a
 * saturating low one (1 ms kernels, four queued at a time). */
static void latency_pair(bool preload, double *p50, double *p95)
{
    struct child h = work(preload, ENV("VGPU_TENANT=hi", "VGPU_PRIORITY=high"), "--kernel-us",
                          "100", "--period-us", "2000", "--duration", "3", NULL);
    struct child l = work(preload, ENV("VGPU_TENANT=lo", "VGPU_PRIORITY=low"), SATURATE, NULL);
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
 * come first served and the same check fails. */
static void test_latency_beside_a_saturating_tenant(void **state)
{
    double p50, p95;
    world("latency");
    latency_pair(true, &p50, &p95);
    if (p50 > 1.5 || p95 > 2.6)
        fail_msg("high tenant: p50 %.3f ms (wanted <= 1.5), p95 %.3f ms (wanted <= 2.6)", p50, p95);
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
    struct child g = start(true, ENV("VGPU_TENANT=g", "VGPU_COMPUTE_SHARE=30"), argv);
    json_t *j = finish(&g);
    double share = 100 * num(j, "busy_s") / num(j, "wall_s");
    printf("# graphs under a 30%% cap: %.0f launches of 4 x 1 ms, busy %.2f%% of %.2f s\n",
           num(j, "graphs"), share, num(j, "wall_s"));
    assert_true(num(j, "graphs") > 0);
    within(share, 30, 2, "the graph tenant's busy share");
    json_decref(j);
}

/* ---- managed by vgpud ----------------------------------------------------------------------- */

/* Runs vgpu-admin --socket W.sock with the NULL-terminated words; its exit
 * status, stdout in *out when given. */
static int admin(char **out, ...)
{
    char *argv[32] = {admin_bin, "--socket", W.sock};
    int n = 3;
    va_list ap;
    va_start(ap, out);
    for (char *w; n < 31 && (w = va_arg(ap, char *)) != NULL;)
        argv[n++] = w;
    va_end(ap);
    argv[n] = NULL;
    return vt_run(argv, out, NULL, TIMEOUT_MS);
}

static json_t *admin_json(const char *what)
{
    char *out = NULL;
    int rc = admin(&out, what, "--json", NULL);
    json_t *j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
    if (!j)
        fail_msg("vgpu-admin %s --json: exit %d, output '%s'", what, rc, out ? out : "");
    free(out);
    return j;
}

static void start_vgpud(void)
{
    char state[700], devices[] = "SIMGPU_DEVICES=H100:80GiB", prefix[64];
    snprintf(state, sizeof(state), "SIMGPU_STATE=%s", W.state);
    snprintf(prefix, sizeof(prefix), "VGPU_ACCOUNT_PREFIX=%s", W.prefix);
    char *env[] = {state, devices, prefix, NULL};
    char *argv[] = {vgpud_bin, "--foreground", "--socket", W.sock, "--db",
                    W.db,      "--log-level",  "warn",     NULL};
    W.vgpud = vt_spawn(argv, env);
    assert_true(W.vgpud > 0);
    for (int i = 0; i < 500; i++) { /* up to 5 s for the socket to answer */
        if (admin(NULL, "ping", NULL) == 0)
            return;
        sleep_ms(10);
    }
    fail_msg("vgpud did not answer on %s", W.sock);
}

/* vgpud with pool P on GPU 0 and tenant `name` in it, bound to our uid,
 * with one more `tenant add` option. Skips the case when we are not an
 * admin (root or group vgpu): only an admin may make pools and tenants. */
static void managed_tenant(const char *name, const char *opt, const char *val)
{
    char uid[16];
    start_vgpud();
    json_t *ping = admin_json("ping");
    bool is_admin = json_is_true(json_object_get(ping, "admin"));
    json_decref(ping);
    if (!is_admin) {
        printf("# not an admin of vgpud (root or group vgpu): case skipped\n");
        skip();
    }
    snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
    assert_int_equal(admin(NULL, "pool", "create", "P", "--gpus", "0", NULL), 0);
    assert_int_equal(
        admin(NULL, "tenant", "add", name, "--pool", "P", "--bind-uid", uid, opt, val, NULL), 0);
}

static json_t *tenant_status(const char *name)
{
    json_t *s = admin_json("status"), *t, *found = NULL;
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
    struct child c = work(true, ENV("VGPU_TENANT=T", "VGPU_COMPUTE_SHARE=90"), "--kernel-us",
                          "1000", "--sync-every", "4", "--duration", "4", NULL);
    sleep_ms(1000);
    kill(W.vgpud, SIGKILL);
    assert_int_equal(vt_wait(W.vgpud, TIMEOUT_MS), 128 + SIGKILL);
    W.vgpud = 0;
    sleep_ms(2000);
    start_vgpud();
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
    struct child a = work(true, ENV("VGPU_TENANT=Q"), "--kernel-us", "1000", "--sync-every", "4",
                          "--duration", "4", NULL);
    long before = 0;
    for (int i = 0; i < 500 && (before = launches_of(a.pid)) == 0; i++)
        sleep_ms(10);
    assert_true(before > 0);

    assert_int_equal(admin(NULL, "quarantine", "Q", NULL), 0);
    sleep_ms(200); /* its last few kernels drain */
    long held = launches_of(a.pid);
    /* A second client: with one launch per batch and --duration 1 it ends
     * only after a launch has completed. */
    struct child b = work(true, ENV("VGPU_TENANT=Q"), "--kernel-us", "1000", "--sync-every", "1",
                          "--duration", "1", NULL);
    sleep_ms(1500);
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

    assert_int_equal(admin(NULL, "release", "Q", NULL), 0);
    json_t *jb = finish(&b);
    sleep_ms(300);
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
           (long long)json_integer_value(json_object_get(lw, "count")), above_1s,
           num(lw, "p50_ms"), num(lw, "p99_ms"));
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
        assert_int_equal(admin(NULL, "tenant", "add", tenant, "--pool", "P", "--exec-limit",
                               "300ms", "--exec-policy", policies[i], NULL),
                         0);
    }
    for (int i = 0; i < 3; i++) {
        char env_tenant[32];
        long events;
        snprintf(tenant, sizeof(tenant), "long-%s", policies[i]);
        snprintf(env_tenant, sizeof(env_tenant), "VGPU_TENANT=%s", tenant);
        struct child l = work(true, ENV(env_tenant), "--kernel-us", "3000000", "--sync-every", "1",
                              "--duration", "0.1", NULL);
        for (int k = 0; k < 500 && launches_of(l.pid) == 0; k++)
            sleep_ms(10); /* its kernel is on the device */
        struct child o = work(true, ENV("VGPU_TENANT=other"), "--kernel-us", "1000", "--sync-every",
                              "1", "--duration", "0.5", NULL);
        sleep_ms(1400);
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
    if (argc != 4) {
        fprintf(stderr, "usage: test-hook-sched BIN_DIR LIBVGPU WORK_DIR\n");
        return 2;
    }
    snprintf(work_bin, sizeof(work_bin), "%s/vgpu-work", argv[1]);
    snprintf(graph_bin, sizeof(graph_bin), "%s/sched-graph-work", argv[1]);
    snprintf(vgpud_bin, sizeof(vgpud_bin), "%s/vgpud", argv[1]);
    snprintf(admin_bin, sizeof(admin_bin), "%s/vgpu-admin", argv[1]);
    snprintf(stat_bin, sizeof(stat_bin), "%s/simgpu-stat", argv[1]);
    snprintf(libvgpu, sizeof(libvgpu), "%s", argv[2]);
    snprintf(work_dir, sizeof(work_dir), "%s", argv[3]);
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
