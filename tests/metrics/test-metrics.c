/* metrics.scrape: vgpud's Prometheus metrics end to end, on a simulated
 * machine of an H100, a second GPU whose NVML name holds a double quote, a
 * backslash and a line feed (a model name simgpu takes as it is), and an
 * A100 in MIG mode with one 3g.20gb instance.
 *
 * vgpud is seeded as an admin would: pool P on the H100 with three tenants,
 * "work" (priority high, --memory 4GiB), "capped" (--share 30, --rate 200,
 * --memory 2GiB) and "bad" (quarantined). Two vgpu-work processes run
 * under libvgpu.so for 2 s as work and capped, so the GPU is shared, leases
 * change hands and both wait histograms get observations. The text is
 * fetched as any client of the control socket can (the "metrics" operation,
 * the same text GET /metrics serves), twice while the work runs and once
 * after it, between two `status` calls. The checks are what a user of the
 * metrics looks at: promtool accepts the text; each figure is the one
 * status gives (GPU time, hand-offs, histogram counts, rate-limit waits);
 * histograms are cumulative and end with +Inf == _count; the quarantined
 * tenant shows its state, the limits are the ones set; the GPU was busy and
 * its memory in use while the work ran; the odd GPU name reads back intact.
 * The final text is kept as WORK_DIR/metrics.txt.
 *
 *   test-metrics BIN_DIR LIBVGPU WORK_DIR */
#include "promtext.h"
#include "proto.h"
#include "vt.h"
#include "vt_world.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 30000
#define GiB (1024.0 * 1024 * 1024)
/* The second GPU's model: simgpu names it "NVIDIA <model> (simgpu)". */
#define ODD_MODEL "Q\"\\\nZ"
#define ODD_NAME "NVIDIA " ODD_MODEL " (simgpu)"

static char artefact[600];
static struct vt_world W; /* isolated: its own machine, prefix, socket and database */

/* What the scrapes saw: while the work ran, and after it between two statuses. */
static struct {
    char *busy_text, *final_text;
    struct pt_doc busy, final;
    json_t *before, *after; /* status around the final scrape */
    bool not_admin;         /* we are not root nor in group vgpu: nothing to check */
} S;

/* Every check needs what only an admin can seed and read. */
#define NEED_ADMIN()                                                                               \
    do {                                                                                           \
        if (S.not_admin)                                                                           \
            skip();                                                                                \
    } while (0)

/* ---- vgpud ------------------------------------------------------------------------------ */

/* One request over the control socket; its result (a new reference) or NULL
 * with the reason in err. */
static json_t *call(const char *op, char *err, size_t errlen)
{
    json_t *result = NULL;
    int fd = vgpu_client_connect(W.sock);
    if (fd < 0) {
        snprintf(err, errlen, "connect %.200s: %s", W.sock, strerror(-fd));
        return NULL;
    }
    if (vgpu_client_call(fd, op, NULL, &result, err, errlen, TIMEOUT_MS) != 0)
        result = NULL;
    close(fd);
    return result;
}

static json_t *status(void)
{
    char err[300];
    json_t *s = call("status", err, sizeof(err));
    if (!s)
        fail_msg("status: %s", err);
    return s;
}

static char *scrape(void)
{
    char err[300];
    json_t *r = call("metrics", err, sizeof(err));
    if (!r)
        fail_msg("metrics: %s", err);
    const char *text = json_string_value(json_object_get(r, "text"));
    if (!text)
        fail_msg("the metrics reply has no text");
    char *copy = strdup(text);
    json_decref(r);
    return copy;
}

/* vgpu-work under libvgpu.so as `tenant` for 2 s, saturating (1 ms
 * kernels, four per synchronise), with the extra argument pair given. */
static pid_t work(const char *tenant, const char *opt, const char *val)
{
    char t[80];
    snprintf(t, sizeof(t), "VGPU_TENANT=%s", tenant);
    char *argv[] = {W.work_bin, "--kernel",   "busy", "--kernel-us", "1000",      "--sync-every",
                    "4",        "--duration", "2",    (char *)opt,   (char *)val, NULL};
    return vt_world_spawn(&W, &(struct vt_client){.env = VT_ENV(t), .preload = true}, argv).pid;
}

static json_t *tenant_of(const json_t *st, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(st, "tenants"), i,
                       t) if (strcmp(json_string_value(json_object_get(t, "name")), name) ==
                              0) return t;
    fail_msg("status lists no tenant %s", name);
    return NULL;
}

/* Until neither tenant has a live process or a queued client. */
static void wait_idle(void)
{
    for (int i = 0; i < 100; i++) {
        json_t *st = status();
        bool idle = true;
        for (const char *const *n = (const char *const[]){"work", "capped", NULL}; *n; n++) {
            json_t *t = tenant_of(st, *n);
            idle &= json_array_size(json_object_get(t, "processes")) == 0 &&
                    json_integer_value(json_object_get(t, "queue_depth")) == 0;
        }
        json_decref(st);
        if (idle)
            return;
        vt_sleep_ms(100);
    }
    fail_msg("the tenants' processes did not go away");
}

static void parse(const char *text, struct pt_doc *doc)
{
    char err[600];
    if (pt_parse(text, doc, err, sizeof(err)) != 0)
        fail_msg("the metrics do not parse: %s", err);
}

static int group_setup(void **state)
{
    vt_world_start_vgpud(&W, NULL);
    char err[300];
    json_t *ping = call("ping", err, sizeof(err));
    if (!ping)
        fail_msg("vgpud did not answer on %s: %s", W.sock, err);
    S.not_admin = !json_is_true(json_object_get(ping, "admin"));
    json_decref(ping);
    if (S.not_admin) {
        printf("# not an admin of vgpud (root or group vgpu): every case is skipped\n");
        return 0;
    }

    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "P", "--gpus", "0", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", "work", "--pool", "P", "--priority",
                              "high", "--memory", "4GiB", NULL),
                     0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", "capped", "--pool", "P", "--share",
                              "30", "--rate", "200", "--memory", "2GiB", NULL),
                     0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", "bad", "--pool", "P", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "quarantine", "bad", NULL), 0);

    pid_t a = work("work", "--mem", "256MiB"), b = work("capped", "--label", "capped");
    vt_sleep_ms(300);
    free(scrape()); /* NVML's utilisation is over the time since the last query */
    vt_sleep_ms(1200);
    S.busy_text = scrape();
    assert_int_equal(vt_wait(a, TIMEOUT_MS), 0);
    assert_int_equal(vt_wait(b, TIMEOUT_MS), 0);
    wait_idle();
    S.before = status();
    S.final_text = scrape();
    S.after = status();
    FILE *f = fopen(artefact, "we"); /* kept for whoever reads the run */
    if (f) {
        fputs(S.final_text, f);
        fclose(f);
    }
    parse(S.busy_text, &S.busy);
    parse(S.final_text, &S.final);
    return 0;
}

static int group_teardown(void **state)
{
    vt_world_teardown(&W);
    pt_free(&S.busy);
    pt_free(&S.final);
    free(S.busy_text);
    free(S.final_text);
    json_decref(S.before);
    json_decref(S.after);
    return 0;
}

/* ---- checks ----------------------------------------------------------------------------- */

static double number(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("status has no number '%s'", key);
    return json_number_value(v);
}

/* A figure of the final scrape lies between status before and after it. */
static void between(double v, double before, double after, const char *what)
{
    double slack = 1e-9 * fmax(1, fabs(after));
    printf("# %s: %.9g (status %.9g .. %.9g)\n", what, v, before, after);
    if (!(v >= before - slack && v <= after + slack))
        fail_msg("%s: the metrics say %.9g, status %.9g before and %.9g after", what, v, before,
                 after);
}

static const char *gpu_uuid(int i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(S.before, "gpus"), i), "uuid"));
}

static double value_of(const struct pt_doc *doc, const char *what, const struct pt_sample *s)
{
    if (!s)
        fail_msg("no sample %s", what);
    return s->value;
}

static void test_promtool_accepts_the_text(void **state)
{
    NEED_ADMIN();
    const char *texts[] = {S.busy_text, S.final_text};
    for (size_t i = 0; i < 2; i++) {
        char *out = NULL;
        int rc = pt_promtool(texts[i], &out);
        if (rc == 127)
            fail_msg("promtool is not installed: install Debian's prometheus package "
                     "(scripts/deps.sh)");
        if (rc != 0 || (out && *out))
            fail_msg("promtool check metrics: exit %d: %s\n--- the text:\n%s", rc, out ? out : "",
                     texts[i]);
        free(out);
    }
}

/* GPU time per tenant, summed over its GPUs, is status's gpu_time_s; the
 * series carry the GPU's full UUID; a tenant that never ran has its pool's
 * GPU at 0. */
static void test_gpu_time_is_what_status_says(void **state)
{
    NEED_ADMIN();
    for (const char *const *n = (const char *const[]){"work", "capped", NULL}; *n; n++) {
        double sum;
        size_t k = pt_sum(&S.final, &sum, "vgpu_tenant_gpu_seconds_total", "tenant", *n, NULL);
        assert_true(k >= 1);
        assert_true(sum > 0);
        char what[64];
        snprintf(what, sizeof(what), "GPU seconds of %s", *n);
        between(sum, number(tenant_of(S.before, *n), "gpu_time_s"),
                number(tenant_of(S.after, *n), "gpu_time_s"), what);
        assert_non_null(pt_find(&S.final, "vgpu_tenant_gpu_seconds_total", "tenant", *n, "pool",
                                "P", "gpu", gpu_uuid(0), NULL));
        snprintf(what, sizeof(what), "hand-offs to %s", *n);
        pt_sum(&S.final, &sum, "vgpu_tenant_handoffs_total", "tenant", *n, NULL);
        between(sum, number(tenant_of(S.before, *n), "grants"),
                number(tenant_of(S.after, *n), "grants"), what);
    }
    const struct pt_sample *bad = pt_find(&S.final, "vgpu_tenant_gpu_seconds_total", "tenant",
                                          "bad", "gpu", gpu_uuid(0), NULL);
    assert_non_null(bad);
    assert_true(bad->value == 0);
}

/* Buckets are cumulative in increasing le, the status's bounds, ending with
 * +Inf equal to _count, which is status's count. */
static void check_histogram(const char *family, const char *key, const char *tenant, double *count)
{
    char bucket[96], cnt[96], sum[96];
    snprintf(bucket, sizeof(bucket), "%s_bucket", family);
    snprintf(cnt, sizeof(cnt), "%s_count", family);
    snprintf(sum, sizeof(sum), "%s_sum", family);
    const json_t *bounds =
        json_object_get(json_object_get(S.before, "scheduler"), "wait_buckets_s");
    double prev = -1;
    size_t nb = 0;
    const char *last_le = NULL;
    for (size_t i = 0; i < S.final.n; i++) {
        const struct pt_sample *s = &S.final.s[i];
        const char *t = pt_label(s, "tenant");
        if (strcmp(s->name, bucket) != 0 || !t || strcmp(t, tenant) != 0)
            continue;
        last_le = pt_label(s, "le");
        assert_non_null(last_le);
        if (nb < json_array_size(bounds))
            assert_true(strtod(last_le, NULL) == json_number_value(json_array_get(bounds, nb)));
        if (s->value < prev)
            fail_msg("%s{tenant=%s}: bucket le=%s holds %g, below the one before (%g)", family,
                     tenant, last_le, s->value, prev);
        prev = s->value;
        nb++;
    }
    assert_int_equal(nb, json_array_size(bounds) + 1);
    assert_string_equal(last_le, "+Inf");
    *count = value_of(&S.final, cnt, pt_find(&S.final, cnt, "tenant", tenant, NULL));
    assert_true(prev == *count);
    char what[128];
    snprintf(what, sizeof(what), "%s count of %s", family, tenant);
    between(*count, number(json_object_get(tenant_of(S.before, tenant), key), "count"),
            number(json_object_get(tenant_of(S.after, tenant), key), "count"), what);
    snprintf(what, sizeof(what), "%s sum of %s", family, tenant);
    between(value_of(&S.final, sum, pt_find(&S.final, sum, "tenant", tenant, NULL)),
            number(json_object_get(tenant_of(S.before, tenant), key), "sum_s"),
            number(json_object_get(tenant_of(S.after, tenant), key), "sum_s"), what);
}

static void test_histograms_are_cumulative_and_observed(void **state)
{
    NEED_ADMIN();
    double waits = 0, latency = 0, n;
    for (const char *const *t = (const char *const[]){"work", "capped", "bad", NULL}; *t; t++) {
        check_histogram("vgpu_tenant_lease_wait_seconds", "lease_wait", *t, &n);
        waits += strcmp(*t, "bad") ? n : 0;
        check_histogram("vgpu_tenant_request_latency_seconds", "request_latency", *t, &n);
        latency += strcmp(*t, "capped") == 0 ? n : 0;
    }
    /* two tenants shared the GPU: leases changed hands after waits, and the
     * capped tenant's operations went through the gate's slow path */
    assert_true(waits > 0);
    assert_true(latency > 0);
}

/* The quarantined tenant shows its state; the limits are those set. */
static void test_state_and_limits(void **state)
{
    NEED_ADMIN();
    const struct pt_doc *d = &S.final;
    assert_true(value_of(d, "bad quarantined",
                         pt_find(d, "vgpu_tenant_state", "tenant", "bad", "state", "quarantined",
                                 NULL)) == 1);
    assert_true(
        value_of(d, "bad active",
                 pt_find(d, "vgpu_tenant_state", "tenant", "bad", "state", "active", NULL)) == 0);
    assert_true(
        value_of(d, "work active",
                 pt_find(d, "vgpu_tenant_state", "tenant", "work", "state", "active", NULL)) == 1);
    assert_true(value_of(d, "work's limit",
                         pt_find(d, "vgpu_tenant_memory_limit_bytes", "tenant", "work", NULL)) ==
                4 * GiB);
    assert_true(value_of(d, "capped's limit",
                         pt_find(d, "vgpu_tenant_memory_limit_bytes", "tenant", "capped", NULL)) ==
                2 * GiB);
    assert_null(pt_find(d, "vgpu_tenant_memory_limit_bytes", "tenant", "bad", NULL));
    assert_true(value_of(d, "capped's share",
                         pt_find(d, "vgpu_tenant_share_limit_ratio", "tenant", "capped", NULL)) ==
                0.3);
    assert_true(value_of(d, "work's share",
                         pt_find(d, "vgpu_tenant_share_limit_ratio", "tenant", "work", NULL)) == 1);
    assert_non_null(pt_find(d, "vgpu_tenant_info", "tenant", "work", "priority", "high", NULL));
    assert_true(
        value_of(d, "pool P's tenants", pt_find(d, "vgpu_pool_tenants", "pool", "P", NULL)) == 3);
    /* the rate limit made the capped tenant wait, as status counts it */
    double rl = value_of(d, "capped's rate-limit waits",
                         pt_find(d, "vgpu_tenant_rate_limited_total", "tenant", "capped", NULL));
    assert_true(rl > 0);
    between(rl, number(tenant_of(S.before, "capped"), "rate_limit_waits"),
            number(tenant_of(S.after, "capped"), "rate_limit_waits"), "capped's rate-limit waits");
}

/* While the work ran: the GPU was busy, its memory and the tenant's held
 * the 256 MiB allocation, the processes and clients were there. */
static void test_live_figures_while_work_runs(void **state)
{
    NEED_ADMIN();
    const struct pt_doc *d = &S.busy;
    const char *g0 = gpu_uuid(0);
    double util =
        value_of(d, "GPU 0 utilisation", pt_find(d, "vgpu_gpu_utilization_ratio", "gpu", g0, NULL));
    double used =
        value_of(d, "GPU 0 memory used", pt_find(d, "vgpu_gpu_memory_used_bytes", "gpu", g0, NULL));
    double mine =
        value_of(d, "work's memory on GPU 0",
                 pt_find(d, "vgpu_tenant_memory_used_bytes", "tenant", "work", "gpu", g0, NULL));
    double procs = value_of(d, "work's processes",
                            pt_find(d, "vgpu_tenant_processes", "tenant", "work", NULL));
    double clients = value_of(d, "clients", pt_find(d, "vgpu_clients", NULL));
    printf("# while the work ran: utilisation %.2f, GPU memory used %.0f MiB, work's %.0f MiB, "
           "%.0f process(es), %.0f client(s)\n",
           util, used / 1048576, mine / 1048576, procs, clients);
    assert_true(util > 0.5 && util <= 1);
    assert_true(used >= 256 * 1048576.0);
    assert_true(mine >= 256 * 1048576.0);
    assert_true(procs >= 1);
    assert_true(clients >= 2);
    /* and after it, the tenant's memory is given back */
    assert_true(value_of(&S.final, "work's memory after",
                         pt_find(&S.final, "vgpu_tenant_memory_used_bytes", "tenant", "work", "gpu",
                                 g0, NULL)) == 0);
}

/* Each GPU: its info with name and PCI bus id as status gives them (the odd
 * name read back intact, escaped in the text), memory total, pools,
 * hand-offs as the scheduler counts them. */
static void test_gpu_figures(void **state)
{
    NEED_ADMIN();
    const struct pt_doc *d = &S.final;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(S.before, "gpus"), i, g)
    {
        const char *uuid = json_string_value(json_object_get(g, "uuid"));
        const struct pt_sample *info = pt_find(d, "vgpu_gpu_info", "gpu", uuid, NULL);
        assert_non_null(info);
        assert_string_equal(pt_label(info, "name"), json_string_value(json_object_get(g, "name")));
        assert_string_equal(pt_label(info, "pci_bus_id"),
                            json_string_value(json_object_get(g, "pci_bus_id")));
        assert_true(value_of(d, "memory total",
                             pt_find(d, "vgpu_gpu_memory_total_bytes", "gpu", uuid, NULL)) ==
                    number(g, "memory_total"));
    }
    /* the MIG instance: its GPU as parent, its own memory, no utilisation
     * (NVML has none for MIG), like its GPU in MIG mode */
    const char *a100 = gpu_uuid(2), *mig = gpu_uuid(3);
    assert_true(strncmp(mig, "MIG-", 4) == 0);
    assert_string_equal(pt_label(pt_find(d, "vgpu_gpu_info", "gpu", mig, NULL), "parent"), a100);
    assert_true(value_of(d, "MIG memory",
                         pt_find(d, "vgpu_gpu_memory_total_bytes", "gpu", mig, NULL)) == 20 * GiB);
    assert_non_null(pt_find(d, "vgpu_gpu_utilization_ratio", "gpu", gpu_uuid(0), NULL));
    assert_null(pt_find(d, "vgpu_gpu_utilization_ratio", "gpu", mig, NULL));
    assert_null(pt_find(d, "vgpu_gpu_utilization_ratio", "gpu", a100, NULL));
    assert_string_equal(pt_label(pt_find(d, "vgpu_gpu_info", "gpu", gpu_uuid(1), NULL), "name"),
                        ODD_NAME);
    assert_non_null(strstr(S.final_text, "name=\"NVIDIA Q\\\"\\\\\\nZ (simgpu)\""));
    assert_true(value_of(d, "GPU 0 total",
                         pt_find(d, "vgpu_gpu_memory_total_bytes", "gpu", gpu_uuid(0), NULL)) ==
                80 * GiB);
    assert_non_null(pt_find(d, "vgpu_gpu_pool_info", "gpu", gpu_uuid(0), "pool", "P", NULL));
    assert_null(pt_find(d, "vgpu_gpu_pool_info", "gpu", gpu_uuid(1), NULL));
    const json_t *s0 =
        json_array_get(json_object_get(json_object_get(S.before, "scheduler"), "gpus"), 0);
    const json_t *s1 =
        json_array_get(json_object_get(json_object_get(S.after, "scheduler"), "gpus"), 0);
    double h = value_of(d, "GPU 0 hand-offs",
                        pt_find(d, "vgpu_gpu_handoffs_total", "gpu", gpu_uuid(0), NULL));
    assert_true(h > 0);
    between(h, number(s0, "handoffs"), number(s1, "handoffs"), "GPU 0 hand-offs");
    assert_non_null(pt_find(d, "vgpu_gpu_idle_seconds_total", "gpu", gpu_uuid(0), NULL));
    assert_true(value_of(d, "GPU 0 waiting",
                         pt_find(d, "vgpu_gpu_lease_waiting", "gpu", gpu_uuid(0), NULL)) == 0);
}

/* The daemon: version, uptime, start time, clients. */
static void test_daemon_figures(void **state)
{
    NEED_ADMIN();
    const struct pt_doc *d = &S.final;
    const json_t *daemon = json_object_get(S.before, "daemon");
    const char *version = json_string_value(json_object_get(daemon, "version"));
    assert_true(
        value_of(d, "build info", pt_find(d, "vgpu_build_info", "version", version, NULL)) == 1);
    double up = value_of(d, "uptime", pt_find(d, "vgpu_uptime_seconds", NULL));
    between(up, number(daemon, "uptime_s"), number(json_object_get(S.after, "daemon"), "uptime_s"),
            "uptime");
    double start = value_of(d, "start time", pt_find(d, "process_start_time_seconds", NULL));
    assert_true(fabs(start + up - (double)time(NULL)) < 60);
    /* the same at every scrape: a restart is what changes it */
    assert_true(value_of(&S.busy, "start time",
                         pt_find(&S.busy, "process_start_time_seconds", NULL)) == start);
    assert_true(value_of(d, "clients", pt_find(d, "vgpu_clients", NULL)) ==
                (double)json_array_size(json_object_get(S.after, "clients")));
}

int main(int argc, char **argv)
{
    if (!vt_world_args(&W, argc, argv, true, TIMEOUT_MS))
        return 2;
    vt_world_isolate(&W, "vtm", "metrics", NULL, NULL); /* its machine's devices: below */
    /* a seeding command that fails says why */
    W.log_admin_errors = true;
    snprintf(artefact, sizeof(artefact), "%s/metrics.txt", W.dir);
    /* vgpud, vgpu-admin and the workloads inherit the machine and the prefix */
    setenv("SIMGPU_STATE", W.state, 1);
    setenv("SIMGPU_DEVICES", "H100:80GiB," ODD_MODEL ":16GiB,A100:40GiB:mig=3g.20gb", 1);
    setenv("VGPU_ACCOUNT_PREFIX", W.prefix, 1);
    setenv("VGPU_SOCKET", W.sock, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promtool_accepts_the_text),
        cmocka_unit_test(test_gpu_time_is_what_status_says),
        cmocka_unit_test(test_histograms_are_cumulative_and_observed),
        cmocka_unit_test(test_state_and_limits),
        cmocka_unit_test(test_live_figures_while_work_runs),
        cmocka_unit_test(test_gpu_figures),
        cmocka_unit_test(test_daemon_figures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
