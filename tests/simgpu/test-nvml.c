/* test-nvml: the simulated libnvidia-ml.so.1 seen the way a user sees it.
 *
 * The library is dlopened by its soname (CTest puts the simgpu directory on
 * LD_LIBRARY_PATH) and every entry point is looked up with dlsym, as vgpud,
 * nvtop or NCCL do with the real one; the table of pointers is generated from
 * the VGPU_NVML_FUNCTIONS list. The checks are the ones a user makes: count,
 * names, UUIDs, PCI bus ids, memory, MIG layout, processes, utilisation, and
 * the error codes for calls before nvmlInit and for bad arguments.
 *
 * Processes that "use" a GPU are forked children that register in the shared
 * simgpu state through simgpu_core (the simulated libcuda.so.1 does the same
 * when a CUDA program allocates), hold memory and contexts, queue device
 * work, and are SIGKILLed to check that NVML forgets them.
 *
 * The group setup removes the state file first, so every run starts from a
 * fresh simulated machine built from TEST_DEVICES. */
#include "nvml_types.h"
#include "state.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_DEVICES "H100:80GiB,A100:40GiB:mig=3g.20gb+2g.10gb"
#define GiB (1ULL << 30)

static struct {
#define NVML_FIELD(ret, name, params) name##_fn name;
    VGPU_NVML_FUNCTIONS(NVML_FIELD)
#undef NVML_FIELD
} nv;

static void *g_lib;
static pid_t g_child = -1;
static char g_state_path[256];
/* The device table the config implies, parsed independently of the library. */
static struct simgpu_state *g_expect;

/* ---- fixtures ---------------------------------------------------------- */

static int group_setup(void **unused)
{
    const char *devices = getenv("SIMGPU_DEVICES");
    const char *path = getenv("SIMGPU_STATE");
    char err[256];

    if (devices && strcmp(devices, TEST_DEVICES) != 0) {
        fprintf(stderr, "test-nvml: needs SIMGPU_DEVICES=%s (or unset), got %s\n", TEST_DEVICES,
                devices);
        return -1;
    }
    setenv("SIMGPU_DEVICES", TEST_DEVICES, 1);
    if (!path || !*path) {
        snprintf(g_state_path, sizeof(g_state_path), "/tmp/test-nvml-%d.state", (int)getpid());
        setenv("SIMGPU_STATE", g_state_path, 1);
        path = g_state_path;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "test-nvml: cannot remove %s: %s\n", path, strerror(errno));
        return -1;
    }
    g_expect = calloc(1, sizeof(*g_expect));
    if (!g_expect || simgpu_config_parse(g_expect, TEST_DEVICES, err, sizeof(err)) != 0) {
        fprintf(stderr, "test-nvml: cannot parse %s: %s\n", TEST_DEVICES, err);
        return -1;
    }
    g_lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!g_lib) {
        fprintf(stderr, "test-nvml: %s (is LD_LIBRARY_PATH the simgpu directory?)\n", dlerror());
        return -1;
    }
#define NVML_LOAD(ret, name, params)                                                               \
    nv.name = (name##_fn)dlsym(g_lib, #name);                                                      \
    if (!nv.name) {                                                                                \
        fprintf(stderr, "test-nvml: libnvidia-ml.so.1 lacks %s\n", #name);                         \
        return -1;                                                                                 \
    }
    VGPU_NVML_FUNCTIONS(NVML_LOAD)
#undef NVML_LOAD
    return 0;
}

static int group_teardown(void **unused)
{
    if (g_lib)
        dlclose(g_lib);
    free(g_expect);
    if (g_state_path[0])
        unlink(g_state_path);
    return 0;
}

static int setup(void **unused)
{
    return nv.nvmlInit_v2() == NVML_SUCCESS ? 0 : -1;
}

static void stop_child(void)
{
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = -1;
    }
}

static int teardown(void **unused)
{
    stop_child();
    return nv.nvmlShutdown() == NVML_SUCCESS ? 0 : -1;
}

/* ---- helpers ----------------------------------------------------------- */

static nvmlDevice_t device(unsigned int index)
{
    nvmlDevice_t d = NULL;
    assert_int_equal(nv.nvmlDeviceGetHandleByIndex_v2(index, &d), NVML_SUCCESS);
    assert_non_null(d);
    return d;
}

static nvmlDevice_t mig_device(unsigned int parent, unsigned int index)
{
    nvmlDevice_t d = NULL;
    assert_int_equal(nv.nvmlDeviceGetMigDeviceHandleByIndex(device(parent), index, &d),
                     NVML_SUCCESS);
    assert_non_null(d);
    return d;
}

static unsigned long long used_memory(nvmlDevice_t d)
{
    nvmlMemory_t m;
    assert_int_equal(nv.nvmlDeviceGetMemoryInfo(d, &m), NVML_SUCCESS);
    assert_int_equal(m.free + m.used, m.total);
    return m.used;
}

struct gpu_use {
    int gpu; /* index in the state's gpu[] (MIG instances follow the physical GPUs) */
    uint64_t bytes;
    uint32_t contexts;
    uint64_t work_ns;
};

/* Forks a process that registers with the simulated driver and holds `uses`
 * until it is killed, as a CUDA program would; returns once it holds them. */
static pid_t spawn_user(const struct gpu_use *uses, int n)
{
    int fds[2];
    char c;

    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct simgpu_state *st = simgpu_state_get();
        int slot = -1, ok = st != NULL;
        close(fds[0]);
        if (ok) {
            simgpu_lock(st);
            slot = simgpu_proc_register(st);
            ok = slot >= 0;
            for (int i = 0; ok && i < n; i++) {
                if (uses[i].bytes)
                    ok = simgpu_mem_take(st, uses[i].gpu, slot, uses[i].bytes) == 0;
                st->proc[slot].contexts[uses[i].gpu] += uses[i].contexts;
            }
            simgpu_unlock(st);
        }
        for (int i = 0; ok && i < n; i++)
            if (uses[i].work_ns)
                simgpu_submit(st, uses[i].gpu, slot, uses[i].work_ns, SIMGPU_WORK_KERNEL);
        if (!ok || write(fds[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    ssize_t r = read(fds[0], &c, 1);
    close(fds[0]);
    g_child = pid;
    assert_int_equal(r, 1);
    return pid;
}

/* ---- tests ------------------------------------------------------------- */

/* Runs first, in a child, before this process's library has mapped the state:
 * a state file that cannot be opened is a driver that is not loaded. */
static void test_no_driver(void **unused)
{
    int status = -1;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("SIMGPU_STATE", "/nonexistent-simgpu-dir/simgpu.state", 1);
        _exit(nv.nvmlInit_v2() == NVML_ERROR_DRIVER_NOT_LOADED ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_uninitialized(void **unused)
{
    unsigned int count = 0;
    int cuda = 0;
    nvmlDevice_t d = NULL;
    char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];

    assert_int_equal(nv.nvmlDeviceGetCount_v2(&count), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(nv.nvmlDeviceGetHandleByIndex_v2(0, &d), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(nv.nvmlSystemGetDriverVersion(buf, sizeof(buf)), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(nv.nvmlSystemGetCudaDriverVersion_v2(&cuda), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(nv.nvmlShutdown(), NVML_ERROR_UNINITIALIZED);
    assert_string_equal(nv.nvmlErrorString(NVML_ERROR_UNINITIALIZED), "Uninitialized");
    assert_string_equal(nv.nvmlErrorString((nvmlReturn_t)12345), "Unknown Error");

    /* Reference counted: two inits need two shutdowns. */
    assert_int_equal(nv.nvmlInit(), NVML_SUCCESS);
    assert_int_equal(nv.nvmlInitWithFlags(0), NVML_SUCCESS);
    d = device(0);
    assert_int_equal(nv.nvmlShutdown(), NVML_SUCCESS);
    assert_int_equal(nv.nvmlDeviceGetCount(&count), NVML_SUCCESS);
    assert_int_equal(nv.nvmlShutdown(), NVML_SUCCESS);
    assert_int_equal(nv.nvmlDeviceGetCount(&count), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(nv.nvmlDeviceGetName(d, buf, sizeof(buf)), NVML_ERROR_UNINITIALIZED);
    assert_int_equal(nv.nvmlShutdown(), NVML_ERROR_UNINITIALIZED);
}

static void test_system(void **unused)
{
    char buf[NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE];
    int cuda = 0;

    assert_int_equal(nv.nvmlSystemGetDriverVersion(buf, sizeof(buf)), NVML_SUCCESS);
    assert_string_equal(buf, "580.159.04");
    assert_int_equal(nv.nvmlSystemGetNVMLVersion(buf, sizeof(buf)), NVML_SUCCESS);
    assert_string_equal(buf, "13.580.159.04");
    assert_int_equal(nv.nvmlSystemGetCudaDriverVersion_v2(&cuda), NVML_SUCCESS);
    assert_int_equal(cuda, 13000);
    assert_int_equal(nv.nvmlSystemGetCudaDriverVersion(&cuda), NVML_SUCCESS);
    assert_int_equal(cuda, 13000);
}

static void test_identity(void **unused)
{
    static const char *const names[] = {"NVIDIA H100 (simgpu)", "NVIDIA A100 (simgpu)"};
    static const char *const bus_ids[] = {"00000000:18:00.0", "00000000:26:00.0"};
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE], uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    char again[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    unsigned int count = 0, index, minor;
    int major, cc_minor;

    assert_int_equal(nv.nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
    assert_int_equal(count, 2); /* MIG instances are not NVML devices */
    assert_int_equal(nv.nvmlDeviceGetCount(&count), NVML_SUCCESS);
    assert_int_equal(count, 2);
    for (unsigned int i = 0; i < 2; i++) {
        nvmlDevice_t d = device(i);
        nvmlPciInfo_t pci;
        assert_int_equal(nv.nvmlDeviceGetName(d, name, sizeof(name)), NVML_SUCCESS);
        assert_string_equal(name, names[i]);
        assert_int_equal(nv.nvmlDeviceGetUUID(d, uuid, sizeof(uuid)), NVML_SUCCESS);
        assert_int_equal(strncmp(uuid, "GPU-", 4), 0);
        assert_int_equal(strlen(uuid), 40);
        assert_string_equal(uuid, g_expect->gpu[i].uuid); /* derived from the config */
        assert_int_equal(nv.nvmlDeviceGetUUID(d, again, sizeof(again)), NVML_SUCCESS);
        assert_string_equal(uuid, again);
        assert_int_equal(nv.nvmlDeviceGetPciInfo_v3(d, &pci), NVML_SUCCESS);
        assert_string_equal(pci.busId, bus_ids[i]);
        assert_int_equal(nv.nvmlDeviceGetIndex(d, &index), NVML_SUCCESS);
        assert_int_equal(index, i);
        assert_int_equal(nv.nvmlDeviceGetMinorNumber(d, &minor), NVML_SUCCESS);
        assert_int_equal(minor, i);
        assert_ptr_equal(device(i), d); /* handles are stable */
    }
    assert_string_not_equal(g_expect->gpu[0].uuid, g_expect->gpu[1].uuid);
    assert_int_equal(nv.nvmlDeviceGetCudaComputeCapability(device(0), &major, &cc_minor),
                     NVML_SUCCESS);
    assert_int_equal(major * 10 + cc_minor, 90);
    assert_int_equal(nv.nvmlDeviceGetCudaComputeCapability(device(1), &major, &cc_minor),
                     NVML_SUCCESS);
    assert_int_equal(major * 10 + cc_minor, 80);
}

static void test_lookup(void **unused)
{
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    nvmlDevice_t d = NULL;

    for (unsigned int i = 0; i < 2; i++) {
        assert_int_equal(nv.nvmlDeviceGetUUID(device(i), uuid, sizeof(uuid)), NVML_SUCCESS);
        assert_int_equal(nv.nvmlDeviceGetHandleByUUID(uuid, &d), NVML_SUCCESS);
        assert_ptr_equal(d, device(i));
    }
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:18:00.0", &d), NVML_SUCCESS);
    assert_ptr_equal(d, device(0));
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("0000:26:00.0", &d), NVML_SUCCESS);
    assert_ptr_equal(d, device(1));
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId("26:00.0", &d), NVML_SUCCESS);
    assert_ptr_equal(d, device(1));
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("0000:2a:00.0", &d), NVML_ERROR_NOT_FOUND);
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("0000:2A:00.0", &d), NVML_ERROR_NOT_FOUND);
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("0000:18:00", &d), NVML_SUCCESS);
    assert_ptr_equal(d, device(0));
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("0000:18:00.1", &d),
                     NVML_ERROR_INVALID_ARGUMENT); /* GPUs are function 0 */
    assert_int_equal(nv.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &d),
                     NVML_ERROR_NOT_FOUND);
    assert_int_equal(nv.nvmlDeviceGetHandleByUUID("", &d), NVML_ERROR_NOT_FOUND);

    /* As R580: the bare UUID without "GPU-" is accepted, the case must match. */
    assert_int_equal(nv.nvmlDeviceGetUUID(device(1), uuid, sizeof(uuid)), NVML_SUCCESS);
    assert_int_equal(nv.nvmlDeviceGetHandleByUUID(uuid + 4, &d), NVML_SUCCESS);
    assert_ptr_equal(d, device(1));
    for (char *c = uuid; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    assert_int_equal(nv.nvmlDeviceGetHandleByUUID(uuid, &d), NVML_ERROR_NOT_FOUND);
}

static void test_memory(void **unused)
{
    static const unsigned long long totals[] = {80 * GiB, 40 * GiB};
    nvmlMemory_t m;
    nvmlMemory_v2_t m2;

    for (unsigned int i = 0; i < 2; i++) {
        assert_int_equal(nv.nvmlDeviceGetMemoryInfo(device(i), &m), NVML_SUCCESS);
        assert_int_equal(m.total, totals[i]);
        assert_int_equal(m.used, 0);
        assert_int_equal(m.free, totals[i]);
        memset(&m2, 0xff, sizeof(m2));
        m2.version = nvmlMemory_v2;
        assert_int_equal(nv.nvmlDeviceGetMemoryInfo_v2(device(i), &m2), NVML_SUCCESS);
        assert_int_equal(m2.total, totals[i]);
        assert_int_equal(m2.reserved, 0);
        assert_int_equal(m2.free, totals[i]);
        assert_int_equal(m2.used, 0);
    }
    /* A wrong version: what R580 answers (FUNCTION_NOT_FOUND), not what the
     * documentation says (ARGUMENT_VERSION_MISMATCH). */
    m2.version = (unsigned int)sizeof(nvmlMemory_v2_t) | (1U << 24);
    assert_int_equal(nv.nvmlDeviceGetMemoryInfo_v2(device(0), &m2), NVML_ERROR_FUNCTION_NOT_FOUND);
    m2.version = 0;
    assert_int_equal(nv.nvmlDeviceGetMemoryInfo_v2(device(0), &m2), NVML_ERROR_FUNCTION_NOT_FOUND);
}

static void test_pci_info(void **unused)
{
    unsigned char raw[sizeof(nvmlPciInfo_t)];
    nvmlPciInfo_t pci;

    assert_int_equal(nv.nvmlDeviceGetPciInfo_v3(device(0), &pci), NVML_SUCCESS);
    assert_string_equal(pci.busIdLegacy, "0000:18:00.0");
    assert_string_equal(pci.busId, "00000000:18:00.0");
    assert_int_equal(pci.domain, 0);
    assert_int_equal(pci.bus, 0x18);
    assert_int_equal(pci.device, 0);
    assert_int_equal(pci.pciDeviceId, 0x233010de);
    assert_int_equal(nv.nvmlDeviceGetPciInfo_v2(device(1), &pci), NVML_SUCCESS);
    assert_string_equal(pci.busId, "00000000:26:00.0");
    assert_int_equal(pci.pciDeviceId, 0x20b210de);

    /* v1, as R580 does it: the fields, then busId only up to its NUL. */
    const size_t bus_id = offsetof(nvmlPciInfo_t, busId), end = bus_id + sizeof("00000000:18:00.0");
    memset(raw, 0xab, sizeof(raw));
    assert_int_equal(nv.nvmlDeviceGetPciInfo(device(0), (nvmlPciInfo_t *)raw), NVML_SUCCESS);
    assert_string_equal((const char *)raw, "0000:18:00.0");
    assert_string_equal((const char *)raw + bus_id, "00000000:18:00.0");
    for (size_t i = end; i < sizeof(raw); i++)
        assert_int_equal(raw[i], 0xab);
}

static void test_mig(void **unused)
{
    static const unsigned long long sizes[] = {20 * GiB, 10 * GiB};
    static const char *const names[] = {"NVIDIA A100 (simgpu) MIG 3g.20gb",
                                        "NVIDIA A100 (simgpu) MIG 2g.10gb"};
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE], name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    char parent_uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE], legacy[160];
    unsigned int cur = 9, pend = 9, max = 9, is_mig = 9, id = 9;
    nvmlDevice_t h100 = device(0), a100 = device(1), d = NULL, parent = NULL;
    nvmlPciInfo_t pci;

    assert_int_equal(nv.nvmlDeviceGetMigMode(h100, &cur, &pend), NVML_SUCCESS);
    assert_int_equal(cur, NVML_DEVICE_MIG_DISABLE);
    assert_int_equal(pend, NVML_DEVICE_MIG_DISABLE);
    assert_int_equal(nv.nvmlDeviceGetMigMode(a100, &cur, &pend), NVML_SUCCESS);
    assert_int_equal(cur, NVML_DEVICE_MIG_ENABLE);
    assert_int_equal(pend, NVML_DEVICE_MIG_ENABLE);
    assert_int_equal(nv.nvmlDeviceGetMaxMigDeviceCount(h100, &max), NVML_SUCCESS);
    assert_int_equal(max, 0);
    assert_int_equal(nv.nvmlDeviceGetMaxMigDeviceCount(a100, &max), NVML_SUCCESS);
    assert_int_equal(max, 7);
    assert_int_equal(nv.nvmlDeviceGetMigDeviceHandleByIndex(h100, 0, &d), NVML_ERROR_NOT_FOUND);
    assert_int_equal(nv.nvmlDeviceGetMigDeviceHandleByIndex(a100, 2, &d), NVML_ERROR_NOT_FOUND);
    assert_int_equal(nv.nvmlDeviceGetMigDeviceHandleByIndex(a100, 7, &d), NVML_ERROR_NOT_FOUND);
    assert_int_equal(nv.nvmlDeviceIsMigDeviceHandle(a100, &is_mig), NVML_SUCCESS);
    assert_int_equal(is_mig, 0);
    assert_int_equal(nv.nvmlDeviceGetUUID(a100, parent_uuid, sizeof(parent_uuid)), NVML_SUCCESS);

    for (unsigned int k = 0; k < 2; k++) {
        nvmlDevice_t mig = mig_device(1, k);
        nvmlMemory_t m;
        assert_int_equal(nv.nvmlDeviceIsMigDeviceHandle(mig, &is_mig), NVML_SUCCESS);
        assert_int_equal(is_mig, 1);
        assert_int_equal(nv.nvmlDeviceGetUUID(mig, uuid, sizeof(uuid)), NVML_SUCCESS);
        assert_int_equal(strncmp(uuid, "MIG-", 4), 0);
        assert_int_equal(strlen(uuid), 40);
        assert_int_equal(nv.nvmlDeviceGetName(mig, name, sizeof(name)), NVML_SUCCESS);
        assert_string_equal(name, names[k]);
        assert_int_equal(nv.nvmlDeviceGetMemoryInfo(mig, &m), NVML_SUCCESS);
        assert_int_equal(m.total, sizes[k]);
        assert_int_equal(nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig, &parent),
                         NVML_SUCCESS);
        assert_ptr_equal(parent, a100);
        assert_int_equal(nv.nvmlDeviceGetHandleByUUID(uuid, &d), NVML_SUCCESS);
        assert_ptr_equal(d, mig);
        assert_int_equal(nv.nvmlDeviceGetGpuInstanceId(mig, &id), NVML_SUCCESS);
        assert_int_equal(id, k + 1);
        assert_int_equal(nv.nvmlDeviceGetComputeInstanceId(mig, &id), NVML_SUCCESS);
        assert_int_equal(id, 0);
        snprintf(legacy, sizeof(legacy), "MIG-%s/%u/0", parent_uuid, k + 1);
        assert_int_equal(nv.nvmlDeviceGetHandleByUUID(legacy, &d), NVML_SUCCESS);
        assert_ptr_equal(d, mig);
        assert_int_equal(nv.nvmlDeviceGetPciInfo_v3(mig, &pci), NVML_SUCCESS);
        assert_string_equal(pci.busId, "00000000:26:00.0");
        assert_int_equal(nv.nvmlDeviceGetIndex(mig, &id), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(nv.nvmlDeviceGetMigMode(mig, &cur, &pend), NVML_ERROR_NOT_SUPPORTED);
    }
    assert_ptr_not_equal(mig_device(1, 0), mig_device(1, 1));
    assert_int_equal(nv.nvmlDeviceGetGpuInstanceId(a100, &id), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(a100, &parent),
                     NVML_ERROR_INVALID_ARGUMENT);
}

static void test_bad_arguments(void **unused)
{
    char small[8], buf[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    unsigned int value;
    int local = 0;
    nvmlDevice_t d = device(0), bogus = (nvmlDevice_t)(void *)&local, out = NULL;
    nvmlDevice_t misaligned = (nvmlDevice_t)(void *)((char *)(void *)d + 1);
    nvmlMemory_t m;
    nvmlProcessInfo_t infos[1];

    assert_int_equal(nv.nvmlDeviceGetCount_v2(NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetHandleByIndex_v2(2, &out), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetHandleByIndex_v2(0, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetHandleByUUID(NULL, &out), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2("junk", &out),
                     NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetHandleByPciBusId_v2(NULL, &out), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetName(NULL, buf, sizeof(buf)), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetName(bogus, buf, sizeof(buf)), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetName(misaligned, buf, sizeof(buf)),
                     NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetName(d, NULL, sizeof(buf)), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetMemoryInfo(bogus, &m), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetMemoryInfo(d, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetMemoryInfo_v2(d, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetIndex(d, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetPciInfo_v3(d, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetMigMode(d, &value, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetCudaComputeCapability(d, NULL, NULL),
                     NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(d, NULL), NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, NULL, infos),
                     NVML_ERROR_INVALID_ARGUMENT);

    /* Buffers: too small fails, exactly large enough succeeds. */
    assert_int_equal(nv.nvmlDeviceGetName(d, small, sizeof(small)), NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(nv.nvmlDeviceGetUUID(d, small, sizeof(small)), NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(nv.nvmlSystemGetDriverVersion(small, 4), NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(nv.nvmlDeviceGetName(d, buf, (unsigned int)strlen("NVIDIA H100 (simgpu)")),
                     NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(nv.nvmlDeviceGetName(d, buf, (unsigned int)strlen("NVIDIA H100 (simgpu)") + 1),
                     NVML_SUCCESS);
}

static void test_processes(void **unused)
{
    const int mig0 = g_expect->gpu[1].mig_first, mig1 = mig0 + 1;
    const struct gpu_use uses[] = {
        {.gpu = 0, .bytes = 1 * GiB, .contexts = 1},
        {.gpu = mig0, .bytes = 3 * GiB, .contexts = 1},
        {.gpu = mig1, .bytes = 0, .contexts = 1}, /* a context and no memory yet */
    };
    nvmlProcessInfo_t infos[4];
    nvmlProcessInfo_v2_t infos2[4];
    nvmlProcessInfo_v1_t infos1[4];
    unsigned int count = 0;
    nvmlDevice_t h100 = device(0), a100 = device(1);

    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(h100, &count, NULL), NVML_SUCCESS);
    assert_int_equal(count, 0);
    count = 5; /* nothing to write: NULL is fine, as on R580 */
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(h100, &count, NULL), NVML_SUCCESS);
    assert_int_equal(count, 0);
    pid_t pid = spawn_user(uses, 3);

    /* Size query, then the list. */
    count = 0;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(h100, &count, NULL),
                     NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(count, 1);
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(h100, &count, NULL),
                     NVML_ERROR_INVALID_ARGUMENT);
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(h100, &count, infos), NVML_SUCCESS);
    assert_int_equal(count, 1);
    assert_int_equal(infos[0].pid, pid);
    assert_int_equal(infos[0].usedGpuMemory, 1 * GiB);
    assert_int_equal(infos[0].gpuInstanceId, 0xFFFFFFFFu);
    assert_int_equal(infos[0].computeInstanceId, 0xFFFFFFFFu);
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v2(h100, &count, infos2),
                     NVML_SUCCESS);
    assert_int_equal(count, 1);
    assert_int_equal(infos2[0].usedGpuMemory, 1 * GiB);
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses(h100, &count, infos1), NVML_SUCCESS);
    assert_int_equal(count, 1);
    assert_int_equal(infos1[0].pid, pid);
    assert_int_equal(infos1[0].usedGpuMemory, 1 * GiB);
    assert_int_equal(used_memory(h100), 1 * GiB);

    /* The MIG parent lists its instances' processes, with instance ids. */
    count = 1;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(a100, &count, infos),
                     NVML_ERROR_INSUFFICIENT_SIZE);
    assert_int_equal(count, 2);
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(a100, &count, infos), NVML_SUCCESS);
    assert_int_equal(count, 2);
    assert_int_equal(infos[0].pid, pid);
    assert_int_equal(infos[0].usedGpuMemory, 3 * GiB);
    assert_int_equal(infos[0].gpuInstanceId, 1);
    assert_int_equal(infos[0].computeInstanceId, 0);
    assert_int_equal(infos[1].usedGpuMemory, 0);
    assert_int_equal(infos[1].gpuInstanceId, 2);
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(mig_device(1, 0), &count, infos),
                     NVML_SUCCESS);
    assert_int_equal(count, 1);
    assert_int_equal(infos[0].usedGpuMemory, 3 * GiB);
    assert_int_equal(used_memory(a100), 3 * GiB);
    assert_int_equal(used_memory(mig_device(1, 0)), 3 * GiB);
    assert_int_equal(used_memory(mig_device(1, 1)), 0);

    /* SIGKILL: the driver gives everything back and NVML forgets the process. */
    stop_child();
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(h100, &count, infos), NVML_SUCCESS);
    assert_int_equal(count, 0);
    count = 4;
    assert_int_equal(nv.nvmlDeviceGetComputeRunningProcesses_v3(a100, &count, infos), NVML_SUCCESS);
    assert_int_equal(count, 0);
    assert_int_equal(used_memory(h100), 0);
    assert_int_equal(used_memory(a100), 0);
    assert_int_equal(used_memory(mig_device(1, 0)), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void test_utilization(void **unused)
{
    /* The simulated device runs a 4 s kernel on its own timeline, whatever the
     * host's load; the test only has to look while it runs. */
    const struct gpu_use busy = {.gpu = 0, .work_ns = 4000000000ULL};
    nvmlUtilization_t u;

    /* Idle: whatever window was open closes with nothing in it. */
    sleep_ms(1000);
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(device(0), &u), NVML_SUCCESS);
    assert_int_equal(u.gpu, 0);
    assert_int_equal(u.memory, 0);

    /* The first window after the launch includes the fork; the second lies
     * wholly inside the kernel. */
    spawn_user(&busy, 1);
    sleep_ms(1100);
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(device(0), &u), NVML_SUCCESS);
    assert_in_range(u.gpu, 1, 100);
    sleep_ms(1100);
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(device(0), &u), NVML_SUCCESS);
    assert_in_range(u.gpu, 95, 100);
    /* Right after a closed window the sliding figure stays near it. */
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(device(0), &u), NVML_SUCCESS);
    assert_in_range(u.gpu, 95, 100);

    /* MIG devices and GPUs in MIG mode do not report utilisation. */
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(device(1), &u), NVML_ERROR_NOT_SUPPORTED);
    assert_int_equal(nv.nvmlDeviceGetUtilizationRates(mig_device(1, 0), &u),
                     NVML_ERROR_NOT_SUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_driver),
        cmocka_unit_test(test_uninitialized),
        cmocka_unit_test_setup_teardown(test_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utilization, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
