/* libvgpu.so across processes: one tenant's account shared by all its
 * processes, on a simulated machine of two 80 GiB H100s.
 *
 * - 16 processes of one tenant (limit 8 GiB) allocating at once never hold
 *   more than the limit, checked with NVML's per-process figures (what the
 *   device really holds, contexts included), and nothing that fit was refused.
 * - A SIGKILLed process's memory goes back to its tenant.
 * - A forked child gets an account slot of its own.
 * - Limits come from VGPU_MEMORY_LIMIT (every device, per device, with
 *   CUDA_VISIBLE_DEVICES) or HAMi-core's variables; a malformed one fails
 *   closed with a message.
 * Each child sets its tenant and limits before its first CUDA call; the parent
 * never initialises CUDA and reads NVML directly. */
#include <cuda.h>

#include "account.h"
#include "common.h"
#include "nvml_types.h"
#include "vt.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TIMEOUT_MS 30000

static char tenant_prefix[64];
static struct {
    void *lib;
    nvmlDevice_t dev0;
    nvmlDeviceGetComputeRunningProcesses_v3_fn procs;
} nv;

/* Sets this (child) process's tenant and limit, then brings CUDA up. */
static int child_init(const char *tenant, const char *limit)
{
    char name[128];
    CUcontext ctx;
    snprintf(name, sizeof(name), "%s-%s", tenant_prefix, tenant);
    setenv("VGPU_TENANT", name, 1);
    if (limit)
        setenv("VGPU_MEMORY_LIMIT", limit, 1);
    if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(&ctx, 0) != CUDA_SUCCESS ||
        cuCtxSetCurrent(ctx) != CUDA_SUCCESS)
        return 10;
    return 0;
}

struct hold {
    struct vt_chan ch;
    const char *tenant, *limit;
    uint64_t chunk;
    int max;
};

/* Allocates chunks (all at "go"), reports the count, holds until told. */
static int child_hold(void *p)
{
    struct hold *h = p;
    CUdeviceptr ptr;
    uint64_t go, got = 0;
    int rc = child_init(h->tenant, h->limit);
    if (rc)
        return rc;
    vt_send_up(&h->ch, 1);
    if (!vt_recv_down(&h->ch, &go, TIMEOUT_MS))
        return 11;
    while (!h->max || (int)got < h->max) {
        CUresult r = cuMemAlloc(&ptr, h->chunk);
        if (r == CUDA_ERROR_OUT_OF_MEMORY)
            break;
        if (r != CUDA_SUCCESS)
            return 12;
        got++;
    }
    vt_send_up(&h->ch, got);
    vt_recv_down(&h->ch, &go, TIMEOUT_MS);
    return 0;
}

static int setup(void **state)
{
    vt_fresh_simgpu();
    snprintf(tenant_prefix, sizeof(tenant_prefix), "procs-%d", (int)getpid());
    nv.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!nv.lib)
        return -1;
    nvmlInit_v2_fn init = (nvmlInit_v2_fn)dlsym(nv.lib, "nvmlInit_v2");
    nvmlDeviceGetHandleByIndex_v2_fn by_index =
        (nvmlDeviceGetHandleByIndex_v2_fn)dlsym(nv.lib, "nvmlDeviceGetHandleByIndex_v2");
    nv.procs = (nvmlDeviceGetComputeRunningProcesses_v3_fn)dlsym(
        nv.lib, "nvmlDeviceGetComputeRunningProcesses_v3");
    if (!init || !by_index || !nv.procs || init() != NVML_SUCCESS ||
        by_index(0, &nv.dev0) != NVML_SUCCESS)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    static const char *const tenants[] = {"race", "kill", "fork", "hami", "per-device", "soft"};
    vt_kill_all();
    for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++) {
        char name[128];
        snprintf(name, sizeof(name), "/vgpu.%s-%s", tenant_prefix, tenants[i]);
        shm_unlink(name);
    }
    return 0;
}

/* Sum of what NVML says the given processes hold on GPU 0. */
static uint64_t nvml_held(const pid_t *pids, int n)
{
    nvmlProcessInfo_t info[256];
    unsigned count = 256;
    uint64_t sum = 0;
    assert_int_equal(nv.procs(nv.dev0, &count, info), NVML_SUCCESS);
    for (unsigned i = 0; i < count; i++)
        for (int k = 0; k < n; k++)
            if (info[i].pid == (unsigned)pids[k])
                sum += info[i].usedGpuMemory;
    return sum;
}

static void test_sixteen_processes_share_one_limit(void **state)
{
    enum { N = 16 };
    struct hold h[N];
    pid_t pid[N];
    uint64_t v, chunks = 0, limit;
    const uint64_t chunk = 64 * MiB;
    /* 8 GiB on simgpu; a real GPU's contexts are larger: VGPU_TEST_RACE_LIMIT. */
    const char *limit_text =
        getenv("VGPU_TEST_RACE_LIMIT") ? getenv("VGPU_TEST_RACE_LIMIT") : "8GiB";
    assert_int_equal(vgpu_parse_size(limit_text, &limit), 0);

    for (int i = 0; i < N; i++) {
        h[i] = (struct hold){.tenant = "race", .limit = limit_text, .chunk = chunk};
        assert_int_equal(vt_chan_open(&h[i].ch), 0);
        pid[i] = vt_fork(child_hold, &h[i]);
        vt_chan_parent(&h[i].ch);
    }
    for (int i = 0; i < N; i++)
        assert_true(vt_recv_up(&h[i].ch, &v, TIMEOUT_MS));
    uint64_t contexts = nvml_held(pid, N); /* what the 16 contexts cost the device */
    for (int i = 0; i < N; i++)
        vt_send_down(&h[i].ch, 1);
    for (int i = 0; i < N; i++) {
        assert_true(vt_recv_up(&h[i].ch, &v, TIMEOUT_MS));
        chunks += v;
    }
    uint64_t held = nvml_held(pid, N);
    printf("# 16 processes: contexts %llu MiB + %llu chunks of 64 MiB; NVML: %llu MiB held of a "
           "%llu MiB limit\n",
           (unsigned long long)(contexts >> 20), (unsigned long long)chunks,
           (unsigned long long)(held >> 20), (unsigned long long)(limit >> 20));
    assert_int_equal(held, contexts + chunks * chunk); /* contexts are inside the limit */
    assert_true(held <= limit);                        /* never a byte over */
    assert_true(limit - held < chunk);                 /* nothing that fit was refused */
    for (int i = 0; i < N; i++) {
        vt_send_down(&h[i].ch, 1);
        assert_int_equal(vt_wait(pid[i], TIMEOUT_MS), 0);
        vt_chan_close(&h[i].ch);
    }
}

static void test_sigkill_gives_memory_back(void **state)
{
    struct hold a = {.tenant = "kill", .limit = "4GiB", .chunk = GiB, .max = 3};
    struct hold b = {.tenant = "kill", .limit = "4GiB", .chunk = GiB, .max = 3};
    uint64_t v;

    assert_int_equal(vt_chan_open(&a.ch), 0);
    assert_int_equal(vt_chan_open(&b.ch), 0);
    pid_t pa = vt_fork(child_hold, &a);
    vt_chan_parent(&a.ch);
    assert_true(vt_recv_up(&a.ch, &v, TIMEOUT_MS));
    vt_send_down(&a.ch, 1);
    assert_true(vt_recv_up(&a.ch, &v, TIMEOUT_MS));
    assert_int_equal(v, 3); /* 3 GiB + its context of the tenant's 4 GiB */
    kill(pa, SIGKILL);
    assert_int_equal(vt_wait(pa, TIMEOUT_MS), 128 + SIGKILL);
    /* The next process of the tenant gets it all back. */
    pid_t pb = vt_fork(child_hold, &b);
    vt_chan_parent(&b.ch);
    assert_true(vt_recv_up(&b.ch, &v, TIMEOUT_MS));
    vt_send_down(&b.ch, 1);
    assert_true(vt_recv_up(&b.ch, &v, TIMEOUT_MS));
    assert_int_equal(v, 3);
    vt_send_down(&b.ch, 1);
    assert_int_equal(vt_wait(pb, TIMEOUT_MS), 0);
    vt_chan_close(&a.ch);
    vt_chan_close(&b.ch);
}

static size_t total_of(void)
{
    size_t f, t;
    return cuMemGetInfo(&f, &t) == CUDA_SUCCESS ? t : 0;
}

static int grandchild(void *p)
{
    CUcontext ctx;
    CUdeviceptr ptr;
    /* A fresh process as far as the driver and the account are concerned. */
    if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(&ctx, 0) != CUDA_SUCCESS ||
        cuCtxSetCurrent(ctx) != CUDA_SUCCESS)
        return 20;
    if (cuMemAlloc(&ptr, 3 * GiB) != CUDA_ERROR_OUT_OF_MEMORY) /* the parent holds 2 GiB */
        return 21;
    return cuMemAlloc(&ptr, 512 * MiB) == CUDA_SUCCESS ? 0 : 22;
}

static int child_forks(void *p)
{
    CUdeviceptr ptr;
    size_t f, t;
    int rc = child_init("fork", "4GiB");
    if (rc)
        return rc;
    if (cuMemGetInfo(&f, &t) != CUDA_SUCCESS)
        return 25;
    size_t base = t - f; /* this process's context */
    if (cuMemAlloc(&ptr, 2 * GiB) != CUDA_SUCCESS)
        return 23;
    pid_t g = vt_fork(grandchild, NULL);
    rc = vt_wait(g, TIMEOUT_MS);
    if (rc)
        return rc;
    /* The grandchild's bytes went with it: 2 GiB + context are ours. */
    if (cuMemGetInfo(&f, &t) != CUDA_SUCCESS || t - f != base + 2 * GiB)
        return 24;
    return 0;
}

static void test_fork_child_has_its_own_slot(void **state)
{
    pid_t pid = vt_fork(child_forks, NULL);
    assert_int_equal(vt_wait(pid, TIMEOUT_MS), 0);
}

static int child_limit_case(void *p)
{
    const char *c = p;
    if (strcmp(c, "hami") == 0) {
        setenv("CUDA_DEVICE_MEMORY_LIMIT", "1536m", 1);
        return child_init("hami", NULL) || total_of() != 1536 * MiB;
    }
    if (strcmp(c, "per-device") == 0) {
        /* The process's ordinal 0 is physical GPU 1: its limit is ordinal 0's. */
        setenv("CUDA_VISIBLE_DEVICES", "1", 1);
        return child_init("per-device", "0:1GiB,1:3GiB") || total_of() != GiB;
    }
    if (strcmp(c, "soft") == 0) {
        /* Past the soft limit allocations succeed; one warning, every one counted. */
        CUdeviceptr a, b;
        setenv("VGPU_MEMORY_SOFT_LIMIT", "1GiB", 1);
        if (child_init("soft", "2GiB") || cuMemAlloc(&a, GiB) != CUDA_SUCCESS ||
            cuMemAlloc(&b, 256 * MiB) != CUDA_SUCCESS)
            return 1;
        return 0;
    }
    if (strcmp(c, "bad") == 0) {
        setenv("VGPU_MEMORY_LIMIT", "8XB", 1);
        /* Fails closed: no CUDA at all, never unlimited. */
        return cuInit(0) == CUDA_ERROR_INVALID_VALUE ? 0 : 1;
    }
    if (strcmp(c, "zero") == 0) {
        setenv("VGPU_MEMORY_LIMIT", "0", 1);
        return cuInit(0) == CUDA_ERROR_INVALID_VALUE ? 0 : 1;
    }
    return 99;
}

/* Runs one case in a child whose stderr goes to `err` (a file). */
static int run_case(const char *c, const char *err)
{
    fflush(stderr);
    int saved = dup(2), fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    pid_t pid = vt_fork(child_limit_case, (void *)c);
    dup2(saved, 2);
    close(fd);
    close(saved);
    int rc = vt_wait(pid, TIMEOUT_MS);
    if (rc != 0)
        fprintf(stderr, "case %s: exit %d\n", c, rc);
    return rc;
}

/* How many lines of `path` contain `what`. */
static int count_lines(const char *path, const char *what)
{
    char line[512];
    int n = 0;
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return n;
}

static void test_limits_from_the_environment(void **state)
{
    static const char *const cases[] = {"hami", "per-device", "bad", "zero", "soft"};
    char err[256], name[128];
    snprintf(err, sizeof(err), "/tmp/vgpu-test-%d.err", (int)getpid());
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(run_case(cases[i], err), 0);
        /* A bad limit is explained on stderr, whatever the log level. */
        if (strcmp(cases[i], "bad") == 0)
            assert_int_equal(count_lines(err, "VGPU_MEMORY_LIMIT=8XB"), 1);
        if (strcmp(cases[i], "soft") == 0)
            assert_int_equal(count_lines(err, "soft memory limit"), 1);
    }
    unlink(err);
    /* The soft-limit child's two allocations past 1 GiB were both counted. */
    snprintf(name, sizeof(name), "/dev/shm/vgpu.%s-soft", tenant_prefix);
    int fd = open(name, O_RDONLY);
    assert_true(fd >= 0);
    struct vgpu_acct *a = mmap(NULL, sizeof(*a), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(a != MAP_FAILED);
    assert_int_equal(a->magic, VGPU_ACCT_MAGIC);
    assert_int_equal(atomic_load(&a->dev[0].soft_events), 2);
    munmap(a, sizeof(*a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_processes_share_one_limit),
        cmocka_unit_test(test_sigkill_gives_memory_back),
        cmocka_unit_test(test_fork_child_has_its_own_slot),
        cmocka_unit_test(test_limits_from_the_environment),
    };
    /* VGPU_TEST_FILTER picks tests by name pattern (the real-GPU run skips
     * the cases that need two GPUs). */
    if (getenv("VGPU_TEST_FILTER"))
        cmocka_set_test_filter(getenv("VGPU_TEST_FILTER"));
    return cmocka_run_group_tests_name("hook.procs", tests, setup, teardown);
}
