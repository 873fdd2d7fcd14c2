/* device.scan: vgpu_device_scan on simgpu, for a machine of
 * SIMGPU_DEVICES="A100:40GiB,H100:80GiB:mig=3g.40gb+2g.20gb,L4:24GiB".
 *
 * NVML numbers the GPUs A100, H100, L4 (PCI order); CUDA puts the fastest
 * first and replaces the H100, which is in MIG mode, by its two instances:
 * A100, L4, H100/mig0, H100/mig1. So the NVML index and the CUDA ordinal of
 * a GPU differ, and a mapping made by position would be wrong. Each case
 * checks three things: what the scan found against the simulated machine's
 * own table (simgpu_core: name, memory, PCI bus id, UUID, compute
 * capability, MIG parent and instance ids) and NVML's driver version; the
 * ordinals against what libcuda.so.1 itself reports for each ordinal (PCI
 * bus id, cuDeviceGetUuid_v2), loaded here with dlopen as the scan does; and
 * the ordinals against the values the case expects, written out by model.
 * Where CUDA_VISIBLE_DEVICES is set, vgpu_visible_devices must also predict
 * the ordinals from the value and CUDA's default order.
 *
 * CUDA reads its environment once per process, so CTest runs this program
 * once per case: `test-scan CASE` with the case's environment. */
#include <cuda.h>
#include <cudaTypedefs.h>

#include "device.h"
#include "nvml_types.h"
#include "state.h"
#include "vt.h"

#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#define NGPU 5 /* A100, H100, L4, H100/mig0, H100/mig1 */

/* CUDA's default order of this machine's devices (fastest first). */
static const char *const cuda_default_order[] = {"A100", "L4", "H100/mig0", "H100/mig1"};

struct want {
    const char *label;
    int ordinal;
};

static struct simgpu_state *g_st;
static struct vgpu_scan g_scan;
static char g_err[256];
static const char *g_case; /* argv[1] */

/* "H100" for a physical GPU, "H100/mig1" for its second instance. */
static void label_of(const struct simgpu_gpu *g, char *buf, size_t len)
{
    if (g->parent >= 0)
        snprintf(buf, len, "%s/mig%d", g_st->gpu[g->parent].model, g->nvml_index);
    else
        snprintf(buf, len, "%s", g->model);
}

static const struct simgpu_gpu *state_gpu(const char *uuid)
{
    for (uint32_t i = 0; i < g_st->ngpus; i++)
        if (strcmp(g_st->gpu[i].uuid, uuid) == 0)
            return &g_st->gpu[i];
    return NULL;
}

static const struct simgpu_gpu *state_by_label(const char *label)
{
    for (uint32_t i = 0; i < g_st->ngpus; i++) {
        char l[64];
        label_of(&g_st->gpu[i], l, sizeof(l));
        if (strcmp(l, label) == 0)
            return &g_st->gpu[i];
    }
    fail_msg("the simulated machine has no %s", label);
    return NULL;
}

static int scan_by_label(const char *label)
{
    const struct simgpu_gpu *sg = state_by_label(label);
    for (int i = 0; sg && i < g_scan.count; i++)
        if (strcmp(g_scan.gpu[i].uuid, sg->uuid) == 0)
            return i;
    return -1;
}

/* NVML as the test sees it, loaded before any scan and kept loaded, so
 * that its reference count shows whether a scan shut its session down. */
static struct {
    void *lib;
    nvmlInit_v2_fn init;
    nvmlShutdown_fn shutdown;
    nvmlSystemGetDriverVersion_fn version;
} g_nvml;

static void nvml_load(void)
{
    g_nvml.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    assert_non_null(g_nvml.lib);
    g_nvml.init = (nvmlInit_v2_fn)dlsym(g_nvml.lib, "nvmlInit_v2");
    g_nvml.shutdown = (nvmlShutdown_fn)dlsym(g_nvml.lib, "nvmlShutdown");
    g_nvml.version = (nvmlSystemGetDriverVersion_fn)dlsym(g_nvml.lib, "nvmlSystemGetDriverVersion");
    assert_true(g_nvml.init && g_nvml.shutdown && g_nvml.version);
}

static void scan_ok(void)
{
    int rc;
    if (!g_nvml.lib)
        nvml_load();
    rc = vgpu_device_scan(&g_scan, g_err, sizeof(g_err));
    if (rc != 0)
        fail_msg("vgpu_device_scan: %d (%s)", rc, g_err);
    /* Every nvmlInit of the scan was matched by an nvmlShutdown. */
    assert_int_equal(g_nvml.shutdown(), NVML_ERROR_UNINITIALIZED);
}

/* The scan against the simulated machine's table and NVML's driver version. */
static void check_nvml_view(void)
{
    static const char *const order[NGPU] = {"A100", "H100", "L4", "H100/mig0", "H100/mig1"};
    char nvml_version[80] = "";

    assert_int_equal(g_scan.count, NGPU);
    for (int i = 0; i < NGPU; i++) {
        const struct vgpu_gpu *g = &g_scan.gpu[i];
        const struct simgpu_gpu *sg = state_gpu(g->uuid);
        char label[64];
        if (!sg)
            fail_msg("scan entry %d: UUID %s is no simulated GPU", i, g->uuid);
        label_of(sg, label, sizeof(label));
        assert_string_equal(label, order[i]);
        assert_string_equal(g->name, sg->name);
        assert_true(g->mem_total == sg->mem_total);
        assert_int_equal(g->cc_major, sg->cc_major);
        assert_int_equal(g->cc_minor, sg->cc_minor);
        assert_int_equal(g->nvml_index, sg->nvml_index);
        if (sg->parent < 0) {
            assert_true(strncmp(g->uuid, "GPU-", 4) == 0);
            assert_string_equal(g->pci_bus_id, sg->pci_bus_id);
            assert_int_equal(g->parent, -1);
            assert_int_equal(g->mig_enabled, sg->mig_enabled != 0);
            assert_int_equal(g->nvml_index, i);
        } else {
            const struct simgpu_gpu *parent = &g_st->gpu[sg->parent];
            assert_true(strncmp(g->uuid, "MIG-", 4) == 0);
            assert_in_range(g->parent, 0, 2);
            assert_string_equal(g_scan.gpu[g->parent].uuid, parent->uuid);
            assert_string_equal(g->pci_bus_id, parent->pci_bus_id);
            assert_false(g->mig_enabled);
            assert_int_equal(g->gpu_instance, sg->gi_id);
            assert_int_equal(g->compute_instance, sg->ci_id);
        }
    }
    assert_true(g_scan.gpu[1].mig_enabled);
    assert_string_equal(g_scan.gpu[0].pci_bus_id, "00000000:18:00.0");

    assert_int_equal(g_nvml.init(), NVML_SUCCESS);
    assert_int_equal(g_nvml.version(nvml_version, sizeof(nvml_version)), NVML_SUCCESS);
    assert_int_equal(g_nvml.shutdown(), NVML_SUCCESS);
    assert_string_equal(g_scan.driver_version, nvml_version);
}

/* PCI domain, bus and device of "0000:18:00.0" or "00000000:18:00.0". */
static void bus_numbers(const char *s, unsigned v[3])
{
    if (sscanf(s, "%x:%x:%x.", &v[0], &v[1], &v[2]) != 3)
        fail_msg("bad PCI bus id \"%s\"", s);
}

/* The ordinals against what the CUDA driver says of each ordinal. Returns
 * the driver's device count, or -1 when cuInit fails. */
static int check_against_cuda(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    PFN_cuInit_v2000 init = (PFN_cuInit_v2000)dlsym(lib, "cuInit");
    PFN_cuDriverGetVersion_v2020 version =
        (PFN_cuDriverGetVersion_v2020)dlsym(lib, "cuDriverGetVersion");
    PFN_cuDeviceGetCount_v2000 count = (PFN_cuDeviceGetCount_v2000)dlsym(lib, "cuDeviceGetCount");
    PFN_cuDeviceGetPCIBusId_v4010 bus_id =
        (PFN_cuDeviceGetPCIBusId_v4010)dlsym(lib, "cuDeviceGetPCIBusId");
    PFN_cuDeviceGetUuid_v11040 uuid = (PFN_cuDeviceGetUuid_v11040)dlsym(lib, "cuDeviceGetUuid_v2");
    int n = -1, v = 0, with_ordinal = 0;
    assert_true(init && version && count && bus_id && uuid);

    if (init(0) != CUDA_SUCCESS) {
        dlclose(lib);
        return -1;
    }
    assert_int_equal(version(&v), CUDA_SUCCESS);
    assert_int_equal(g_scan.cuda_driver_version, v);
    assert_int_equal(count(&n), CUDA_SUCCESS);
    for (int i = 0; i < g_scan.count; i++)
        with_ordinal += g_scan.gpu[i].cuda_ordinal >= 0;
    assert_int_equal(with_ordinal, n);
    for (int d = 0; d < n; d++) {
        char bus[32], hex[40];
        unsigned want[3], have[3];
        CUuuid u;
        int found = -1;
        assert_int_equal(bus_id(bus, (int)sizeof(bus), d), CUDA_SUCCESS);
        assert_int_equal(uuid(&u, d), CUDA_SUCCESS);
        for (int i = 0; i < g_scan.count; i++) {
            if (g_scan.gpu[i].cuda_ordinal != d)
                continue;
            assert_int_equal(found, -1);
            found = i;
        }
        if (found < 0)
            fail_msg("CUDA ordinal %d (%s) is on no scanned GPU", d, bus);
        const struct vgpu_gpu *g = &g_scan.gpu[found];
        const unsigned char *b = (const unsigned char *)u.bytes;
        snprintf(hex, sizeof(hex),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                 b[15]);
        /* The same device: the same UUID (v2: the instance's for MIG) ... */
        if (strcasecmp(g->uuid + 4, hex) != 0)
            fail_msg("CUDA ordinal %d is %s, the scan says %s", d, hex, g->uuid);
        /* ... and the same PCI function, whatever the domain's width. */
        bus_numbers(bus, want);
        bus_numbers(g->pci_bus_id, have);
        assert_memory_equal(want, have, sizeof(want));
        assert_false(g->mig_enabled);
    }
    dlclose(lib);
    return n;
}

/* The ordinals the case expects; every GPU not listed has none. */
static void check_ordinals(const struct want *want, int nwant)
{
    for (int i = 0; i < g_scan.count; i++) {
        const struct simgpu_gpu *sg = state_gpu(g_scan.gpu[i].uuid);
        char label[64];
        int expect = -1;
        assert_non_null(sg);
        label_of(sg, label, sizeof(label));
        for (int k = 0; k < nwant; k++)
            if (strcmp(want[k].label, label) == 0)
                expect = want[k].ordinal;
        if (g_scan.gpu[i].cuda_ordinal != expect)
            fail_msg("%s (NVML position %d): CUDA ordinal %d, want %d", label, i,
                     g_scan.gpu[i].cuda_ordinal, expect);
    }
}

/* vgpu_visible_devices, given CUDA_VISIBLE_DEVICES and CUDA's default
 * order, names the devices CUDA numbered, in the same order. */
static void check_prediction(int ncuda)
{
    const char *uuids[4];
    int picked[4];
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    assert_non_null(vis);
    for (int i = 0; i < 4; i++)
        uuids[i] = state_by_label(cuda_default_order[i])->uuid;
    int n = vgpu_visible_devices(vis, uuids, 4, picked, 4);
    assert_int_equal(n, ncuda < 0 ? 0 : ncuda);
    for (int d = 0; d < n; d++) {
        int i = scan_by_label(cuda_default_order[picked[d]]);
        assert_true(i >= 0);
        assert_int_equal(g_scan.gpu[i].cuda_ordinal, d);
    }
}

/* A fresh simulated machine. The case's own environment decides what CUDA
 * sees: a variable the case does not set, inherited from the shell that
 * runs CTest, is removed. */
static int setup_machine(void **state)
{
    const char *c = g_case;
    if (strcmp(c, "pci-order") != 0)
        unsetenv("CUDA_DEVICE_ORDER");
    if (strcmp(c, "default") == 0 || strcmp(c, "pci-order") == 0)
        unsetenv("CUDA_VISIBLE_DEVICES");
    vt_fresh_simgpu();
    g_st = simgpu_state_get();
    return g_st ? 0 : -1;
}

static void test_default(void **unused)
{
    static const struct want want[] = {{"A100", 0}, {"L4", 1}, {"H100/mig0", 2}, {"H100/mig1", 3}};
    static struct vgpu_scan again;

    scan_ok();
    assert_string_equal(g_err, "");
    check_nvml_view();
    assert_int_equal(check_against_cuda(), 4);
    check_ordinals(want, 4);
    /* L4 is NVML's third GPU and CUDA's second: matched by identity. */
    assert_int_equal(g_scan.gpu[2].nvml_index, 2);
    assert_int_equal(g_scan.gpu[2].cuda_ordinal, 1);
    /* A second scan finds the same, and left nothing open to trip over. */
    assert_int_equal(vgpu_device_scan(&again, g_err, sizeof(g_err)), 0);
    assert_memory_equal(&again, &g_scan, sizeof(again));
}

static void test_bad_arguments(void **unused)
{
    assert_int_equal(vgpu_device_scan(NULL, g_err, sizeof(g_err)), -EINVAL);
    assert_true(g_err[0] != '\0');
    /* No room for a message is no reason to fail. */
    assert_int_equal(vgpu_device_scan(&g_scan, NULL, 0), 0);
    assert_int_equal(g_scan.count, NGPU);
}

static void test_pci_order(void **unused)
{
    static const struct want want[] = {{"A100", 0}, {"H100/mig0", 1}, {"H100/mig1", 2}, {"L4", 3}};
    scan_ok();
    check_nvml_view();
    assert_int_equal(check_against_cuda(), 4);
    check_ordinals(want, 4);
}

/* CUDA_VISIBLE_DEVICES=2,1: the H100's first instance, then the L4. */
static void test_visible(void **unused)
{
    static const struct want want[] = {{"H100/mig0", 0}, {"L4", 1}};
    scan_ok();
    check_nvml_view();
    assert_int_equal(check_against_cuda(), 2);
    check_ordinals(want, 2);
    check_prediction(2);
}

/* A full MIG UUID and a unique prefix of the A100's, set before anything in
 * this process runs cuInit. */
static void test_visible_uuid(void **unused)
{
    static const struct want want[] = {{"H100/mig1", 0}, {"A100", 1}};
    char vis[160];
    snprintf(vis, sizeof(vis), "%s, %.12s", state_by_label("H100/mig1")->uuid,
             state_by_label("A100")->uuid);
    setenv("CUDA_VISIBLE_DEVICES", vis, 1);
    scan_ok();
    check_nvml_view();
    assert_int_equal(check_against_cuda(), 2);
    check_ordinals(want, 2);
    check_prediction(2);
}

/* CUDA_VISIBLE_DEVICES="": CUDA sees nothing, the scan still succeeds. */
static void test_no_cuda(void **unused)
{
    scan_ok();
    check_nvml_view();
    assert_int_equal(check_against_cuda(), -1);
    check_ordinals(NULL, 0);
    assert_int_equal(g_scan.cuda_driver_version, 0);
    if (!strstr(g_err, "cuInit") || !strstr(g_err, "CUDA_ERROR_NO_DEVICE"))
        fail_msg("note \"%s\" does not say cuInit failed", g_err);
    check_prediction(-1);
}

/* LD_LIBRARY_PATH names an empty directory. */
static void test_no_driver(void **unused)
{
    static const char prefix[] = "NVIDIA driver not found (libnvidia-ml.so.1: ";
    void *real = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (real) {
        /* A host with a driver installed finds it whatever LD_LIBRARY_PATH. */
        dlclose(real);
        print_message("libnvidia-ml.so.1 is installed on this host: nothing to test\n");
        skip();
    }
    g_scan.count = 7;
    assert_int_equal(vgpu_device_scan(&g_scan, g_err, sizeof(g_err)), -ENOENT);
    assert_int_equal(g_scan.count, 0);
    if (strncmp(g_err, prefix, sizeof(prefix) - 1) != 0 || g_err[strlen(g_err) - 1] != ')')
        fail_msg("message \"%s\"", g_err);
    /* dlerror's text, without the library's name a second time */
    assert_null(strstr(g_err + sizeof(prefix) - 1, "libnvidia-ml.so.1"));
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";

    g_case = c;
    if (strcmp(c, "default") == 0) {
        const struct CMUnitTest t[] = {cmocka_unit_test(test_default),
                                       cmocka_unit_test(test_bad_arguments)};
        return cmocka_run_group_tests_name("device.scan.default", t, setup_machine, NULL);
    }
    if (strcmp(c, "pci-order") == 0) {
        const struct CMUnitTest t[] = {cmocka_unit_test(test_pci_order)};
        return cmocka_run_group_tests_name("device.scan.pci-order", t, setup_machine, NULL);
    }
    if (strcmp(c, "visible") == 0) {
        const struct CMUnitTest t[] = {cmocka_unit_test(test_visible)};
        return cmocka_run_group_tests_name("device.scan.visible", t, setup_machine, NULL);
    }
    if (strcmp(c, "visible-uuid") == 0) {
        const struct CMUnitTest t[] = {cmocka_unit_test(test_visible_uuid)};
        return cmocka_run_group_tests_name("device.scan.visible-uuid", t, setup_machine, NULL);
    }
    if (strcmp(c, "no-cuda") == 0) {
        const struct CMUnitTest t[] = {cmocka_unit_test(test_no_cuda)};
        return cmocka_run_group_tests_name("device.scan.no-cuda", t, setup_machine, NULL);
    }
    if (strcmp(c, "no-driver") == 0) {
        const struct CMUnitTest t[] = {cmocka_unit_test(test_no_driver)};
        return cmocka_run_group_tests_name("device.scan.no-driver", t, NULL, NULL);
    }
    fprintf(stderr, "usage: test-scan default|pci-order|visible|visible-uuid|no-cuda|no-driver\n");
    return 2;
}
