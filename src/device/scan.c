/* scan: the GPUs of this machine, as NVML and CUDA both see them.
 *
 * NVML is the authority on what exists: libnvidia-ml.so.1 is loaded with
 * dlopen, every entry point of nvml_types.h's list is looked up (newest
 * version first, the older one where its signature is the same), and the
 * physical GPUs are read by NVML index; then each GPU in MIG mode is asked
 * for its instances (every index up to the maximum, skipping the empty
 * ones), which are appended after all physical GPUs. nvmlShutdown and
 * dlclose end every scan, so nothing stays open between scans.
 *
 * CUDA is optional and only numbers what NVML found: libcuda.so.1 is loaded,
 * cuInit(0) run, and each CUDA device is matched by identity, never by
 * position, because CUDA orders devices fastest first and honours
 * CUDA_VISIBLE_DEVICES: a MIG instance by UUID (cuDeviceGetUuid_v2 gives the
 * instance's, formatted as NVML's "MIG-" form), a full GPU by PCI domain,
 * bus and device compared as numbers (CUDA writes "0000:18:00.0", NVML
 * "00000000:18:00.0"). A GPU in MIG mode has no ordinal itself. When CUDA
 * cannot be loaded or initialised the scan still succeeds, with the reason
 * as a note and no ordinals. libcuda.so.1 is opened RTLD_NODELETE: cuInit
 * cannot be undone (the driver keeps its state, and may keep threads, for
 * the life of the process), so unmapping its code would be unsafe; dlclose
 * only drops our reference. */
#include "device.h"

#include "common.h"
#include "nvml_types.h"

#include <cuda.h>
#include <cudaTypedefs.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NVML_LIB "libnvidia-ml.so.1"
#define CUDA_LIB "libcuda.so.1"

/* Every NVML entry point of nvml_types.h, NULL where this driver lacks it. */
struct nvml {
    void *lib;
#define VGPU_NVML_FIELD(ret, name, params) name##_fn name;
    VGPU_NVML_FUNCTIONS(VGPU_NVML_FIELD)
#undef VGPU_NVML_FIELD
};

struct cuda {
    void *lib;
    PFN_cuInit_v2000 init;
    PFN_cuDriverGetVersion_v2020 driver_version;
    PFN_cuDeviceGetCount_v2000 count;
    PFN_cuDeviceGet_v2000 get;
    PFN_cuDeviceGetPCIBusId_v4010 pci_bus_id;
    PFN_cuDeviceGetUuid_v11040 uuid;
    PFN_cuGetErrorName_v6000 error_name; /* optional: only for messages */
};

/* dlerror() starts with the library's name ("libcuda.so.1: cannot open
 * shared object file: ..."), which our messages already give. */
static const char *dl_reason(const char *lib)
{
    const char *e = dlerror();
    size_t n = strlen(lib);
    if (!e)
        return "unknown error";
    if (strncmp(e, lib, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
        e += n + 2;
    return e;
}

/* ---- NVML --------------------------------------------------------------- */

static const char *nvml_reason(const struct nvml *nv, nvmlReturn_t r)
{
    const char *s = nv->nvmlErrorString ? nv->nvmlErrorString(r) : NULL;
    return s ? s : "unknown NVML error";
}

/* Sets "<what>: <NVML's reason>" and returns -EIO. */
static int nvml_fail(const struct nvml *nv, nvmlReturn_t r, char *err, size_t errlen,
                     const char *what, int gpu)
{
    if (gpu >= 0)
        vgpu_errf(err, errlen, 0, "GPU %d: %s: %s", gpu, what, nvml_reason(nv, r));
    else
        vgpu_errf(err, errlen, 0, "%s: %s", what, nvml_reason(nv, r));
    return -EIO;
}

/* The first entry point the driver lacks among those a scan needs, or NULL.
 * Versions with the same signature stand in for each other. */
static const char *nvml_missing(struct nvml *nv)
{
    if (!nv->nvmlInit_v2)
        nv->nvmlInit_v2 = nv->nvmlInit;
    if (!nv->nvmlDeviceGetCount_v2)
        nv->nvmlDeviceGetCount_v2 = nv->nvmlDeviceGetCount;
    if (!nv->nvmlDeviceGetHandleByIndex_v2)
        nv->nvmlDeviceGetHandleByIndex_v2 = nv->nvmlDeviceGetHandleByIndex;
    if (!nv->nvmlDeviceGetPciInfo_v3)
        nv->nvmlDeviceGetPciInfo_v3 = nv->nvmlDeviceGetPciInfo_v2;
    if (!nv->nvmlInit_v2)
        return "nvmlInit_v2";
    if (!nv->nvmlShutdown)
        return "nvmlShutdown";
    if (!nv->nvmlErrorString)
        return "nvmlErrorString";
    if (!nv->nvmlSystemGetDriverVersion)
        return "nvmlSystemGetDriverVersion";
    if (!nv->nvmlDeviceGetCount_v2)
        return "nvmlDeviceGetCount_v2";
    if (!nv->nvmlDeviceGetHandleByIndex_v2)
        return "nvmlDeviceGetHandleByIndex_v2";
    if (!nv->nvmlDeviceGetUUID)
        return "nvmlDeviceGetUUID";
    if (!nv->nvmlDeviceGetName)
        return "nvmlDeviceGetName";
    if (!nv->nvmlDeviceGetMemoryInfo)
        return "nvmlDeviceGetMemoryInfo";
    if (!nv->nvmlDeviceGetPciInfo_v3)
        return "nvmlDeviceGetPciInfo_v3";
    if (!nv->nvmlDeviceGetCudaComputeCapability)
        return "nvmlDeviceGetCudaComputeCapability";
    if (!nv->nvmlDeviceGetMigMode)
        return "nvmlDeviceGetMigMode";
    if (!nv->nvmlDeviceGetMaxMigDeviceCount)
        return "nvmlDeviceGetMaxMigDeviceCount";
    if (!nv->nvmlDeviceGetMigDeviceHandleByIndex)
        return "nvmlDeviceGetMigDeviceHandleByIndex";
    if (!nv->nvmlDeviceGetGpuInstanceId)
        return "nvmlDeviceGetGpuInstanceId";
    if (!nv->nvmlDeviceGetComputeInstanceId)
        return "nvmlDeviceGetComputeInstanceId";
    return NULL;
}

static int nvml_open(struct nvml *nv, char *err, size_t errlen)
{
    const char *missing;

    nv->lib = dlopen(NVML_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!nv->lib) {
        vgpu_errf(err, errlen, 0, "NVIDIA driver not found (" NVML_LIB ": %s)",
                  dl_reason(NVML_LIB));
        return -ENOENT;
    }
#define VGPU_NVML_LOAD(ret, name, params) nv->name = (name##_fn)dlsym(nv->lib, #name);
    VGPU_NVML_FUNCTIONS(VGPU_NVML_LOAD)
#undef VGPU_NVML_LOAD
    missing = nvml_missing(nv);
    if (missing) {
        vgpu_errf(err, errlen, 0, NVML_LIB " has no %s (a driver older than R450?)", missing);
        return -EIO;
    }
    return 0;
}

/* What physical GPUs and MIG instances both have: UUID, name, memory. */
static int read_identity(const struct nvml *nv, nvmlDevice_t h, struct vgpu_gpu *g, int idx,
                         char *err, size_t errlen)
{
    nvmlMemory_t mem;
    nvmlReturn_t r = nv->nvmlDeviceGetUUID(h, g->uuid, (unsigned int)sizeof(g->uuid));
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetUUID", idx);
    r = nv->nvmlDeviceGetName(h, g->name, (unsigned int)sizeof(g->name));
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetName", idx);
    r = nv->nvmlDeviceGetMemoryInfo(h, &mem);
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetMemoryInfo", idx);
    g->mem_total = mem.total;
    g->cuda_ordinal = -1;
    g->parent = -1;
    return 0;
}

static int read_physical(const struct nvml *nv, unsigned int i, nvmlDevice_t *h, struct vgpu_gpu *g,
                         char *err, size_t errlen)
{
    nvmlPciInfo_t pci;
    unsigned int mode = 0, pending = 0;
    int rc;
    nvmlReturn_t r = nv->nvmlDeviceGetHandleByIndex_v2(i, h);
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetHandleByIndex_v2", (int)i);
    rc = read_identity(nv, *h, g, (int)i, err, errlen);
    if (rc != 0)
        return rc;
    r = nv->nvmlDeviceGetPciInfo_v3(*h, &pci);
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetPciInfo_v3", (int)i);
    vgpu_strlcpy(g->pci_bus_id, pci.busId, sizeof(g->pci_bus_id));
    r = nv->nvmlDeviceGetCudaComputeCapability(*h, &g->cc_major, &g->cc_minor);
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetCudaComputeCapability", (int)i);
    /* A GPU that cannot do MIG says NOT_SUPPORTED. */
    r = nv->nvmlDeviceGetMigMode(*h, &mode, &pending);
    if (r != NVML_SUCCESS && r != NVML_ERROR_NOT_SUPPORTED)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetMigMode", (int)i);
    g->mig_enabled = r == NVML_SUCCESS && mode == NVML_DEVICE_MIG_ENABLE;
    g->nvml_index = (int)i;
    return 0;
}

/* Appends the MIG instances of out->gpu[p]. The maximum count is what the
 * GPU could hold; indices without an instance answer NOT_FOUND. */
static int read_instances(const struct nvml *nv, nvmlDevice_t parent, int p, struct vgpu_scan *out,
                          char *err, size_t errlen)
{
    unsigned int max = 0;
    nvmlReturn_t r = nv->nvmlDeviceGetMaxMigDeviceCount(parent, &max);
    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetMaxMigDeviceCount", p);
    for (unsigned int k = 0; k < max; k++) {
        const struct vgpu_gpu *pg = &out->gpu[p];
        struct vgpu_gpu *g;
        nvmlDevice_t h;
        int rc;
        r = nv->nvmlDeviceGetMigDeviceHandleByIndex(parent, k, &h);
        if (r == NVML_ERROR_NOT_FOUND)
            continue;
        if (r != NVML_SUCCESS)
            return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetMigDeviceHandleByIndex", p);
        if (out->count == VGPU_DEVICE_MAX) {
            vgpu_warn("more than %d GPUs and MIG instances: the rest are left out",
                      VGPU_DEVICE_MAX);
            return 0;
        }
        g = &out->gpu[out->count];
        rc = read_identity(nv, h, g, p, err, errlen);
        if (rc != 0)
            return rc;
        r = nv->nvmlDeviceGetGpuInstanceId(h, &g->gpu_instance);
        if (r != NVML_SUCCESS)
            return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetGpuInstanceId", p);
        r = nv->nvmlDeviceGetComputeInstanceId(h, &g->compute_instance);
        if (r != NVML_SUCCESS)
            return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetComputeInstanceId", p);
        /* An instance lives on its parent's PCI function and chip. */
        vgpu_strlcpy(g->pci_bus_id, pg->pci_bus_id, sizeof(g->pci_bus_id));
        g->cc_major = pg->cc_major;
        g->cc_minor = pg->cc_minor;
        g->nvml_index = (int)k;
        g->parent = p;
        out->count++;
    }
    return 0;
}

/* Physical GPUs by NVML index, then the MIG instances of each. */
static int read_nvml(const struct nvml *nv, struct vgpu_scan *out, char *err, size_t errlen)
{
    nvmlDevice_t handle[VGPU_DEVICE_MAX];
    unsigned int n = 0;
    int nphys, rc;
    nvmlReturn_t r = nv->nvmlDeviceGetCount_v2(&n);

    if (r != NVML_SUCCESS)
        return nvml_fail(nv, r, err, errlen, "nvmlDeviceGetCount_v2", -1);
    if (n == 0) {
        vgpu_errf(err, errlen, 0, "no NVIDIA GPU found");
        return -ENODEV;
    }
    if (n > VGPU_DEVICE_MAX) {
        vgpu_warn("%u GPUs: only the first %d are used", n, VGPU_DEVICE_MAX);
        n = VGPU_DEVICE_MAX;
    }
    for (unsigned int i = 0; i < n; i++) {
        rc = read_physical(nv, i, &handle[i], &out->gpu[i], err, errlen);
        if (rc != 0)
            return rc;
        out->count++;
    }
    nphys = out->count;
    for (int p = 0; p < nphys; p++) {
        if (!out->gpu[p].mig_enabled)
            continue;
        rc = read_instances(nv, handle[p], p, out, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (nv->nvmlSystemGetDriverVersion(out->driver_version,
                                       (unsigned int)sizeof(out->driver_version)) != NVML_SUCCESS)
        out->driver_version[0] = '\0';
    return 0;
}

/* ---- CUDA --------------------------------------------------------------- */

static const char *cuda_reason(const struct cuda *cu, CUresult r, char *buf, size_t len)
{
    const char *s = NULL;
    if (cu->error_name && cu->error_name(r, &s) == CUDA_SUCCESS && s)
        return s;
    snprintf(buf, len, "CUDA error %d", (int)r);
    return buf;
}

/* "DOMAIN:BUS:DEVICE[.FUNCTION]" in hex, the domain 4 digits (CUDA) or 8
 * (NVML). */
static bool parse_bus_id(const char *s, unsigned long v[3])
{
    for (int i = 0; i < 3; i++) {
        char *end;
        if (!isxdigit((unsigned char)*s))
            return false;
        v[i] = strtoul(s, &end, 16);
        if (*end != (i < 2 ? ':' : '.') && !(i == 2 && *end == '\0'))
            return false;
        s = end + 1;
    }
    return true;
}

/* The GPU a CUDA device is: a MIG instance by UUID, else a GPU not in MIG
 * mode by PCI bus id. -1 when none is. */
static int match_cuda(const struct vgpu_scan *s, const char *bus, const CUuuid *u)
{
    const unsigned char *b = (const unsigned char *)u->bytes;
    char hex[40];
    unsigned long want[3], have[3];

    snprintf(hex, sizeof(hex),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    for (int i = 0; i < s->count; i++)
        if (s->gpu[i].parent >= 0 && strncmp(s->gpu[i].uuid, "MIG-", 4) == 0 &&
            strcasecmp(s->gpu[i].uuid + 4, hex) == 0)
            return i;
    if (!parse_bus_id(bus, want))
        return -1;
    for (int i = 0; i < s->count; i++)
        if (s->gpu[i].parent < 0 && !s->gpu[i].mig_enabled &&
            parse_bus_id(s->gpu[i].pci_bus_id, have) && memcmp(want, have, sizeof(want)) == 0)
            return i;
    return -1;
}

static bool cuda_open(struct cuda *cu, char *note, size_t notelen)
{
    cu->lib = dlopen(CUDA_LIB, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!cu->lib) {
        vgpu_errf(note, notelen, 0, "no CUDA ordinals: " CUDA_LIB ": %s", dl_reason(CUDA_LIB));
        return false;
    }
    cu->init = (PFN_cuInit_v2000)dlsym(cu->lib, "cuInit");
    cu->driver_version = (PFN_cuDriverGetVersion_v2020)dlsym(cu->lib, "cuDriverGetVersion");
    cu->count = (PFN_cuDeviceGetCount_v2000)dlsym(cu->lib, "cuDeviceGetCount");
    cu->get = (PFN_cuDeviceGet_v2000)dlsym(cu->lib, "cuDeviceGet");
    cu->pci_bus_id = (PFN_cuDeviceGetPCIBusId_v4010)dlsym(cu->lib, "cuDeviceGetPCIBusId");
    cu->uuid = (PFN_cuDeviceGetUuid_v11040)dlsym(cu->lib, "cuDeviceGetUuid_v2");
    cu->error_name = (PFN_cuGetErrorName_v6000)dlsym(cu->lib, "cuGetErrorName");
    if (!cu->init || !cu->driver_version || !cu->count || !cu->get || !cu->pci_bus_id ||
        !cu->uuid) {
        vgpu_errf(note, notelen, 0,
                  "no CUDA ordinals: " CUDA_LIB " lacks cuDeviceGetUuid_v2 or "
                  "another entry point (a driver older than CUDA 11.4?)");
        return false;
    }
    return true;
}

/* Gives each GPU the CUDA ordinal this process sees it under. Never fails:
 * without CUDA, `note` says why and nothing changes. */
static void map_cuda(struct vgpu_scan *s, char *note, size_t notelen)
{
    struct cuda cu = {0};
    const char *what;
    char buf[32];
    int n = 0, version = 0;
    CUresult r;

    if (!cuda_open(&cu, note, notelen))
        goto cleanup;
    what = "cuInit";
    r = cu.init(0);
    if (r == CUDA_SUCCESS) {
        what = "cuDriverGetVersion";
        r = cu.driver_version(&version);
    }
    if (r == CUDA_SUCCESS) {
        what = "cuDeviceGetCount";
        r = cu.count(&n);
    }
    if (r != CUDA_SUCCESS) {
        vgpu_errf(note, notelen, 0, "no CUDA ordinals: %s: %s", what,
                  cuda_reason(&cu, r, buf, sizeof(buf)));
        goto cleanup;
    }
    for (int d = 0; d < n; d++) {
        char bus[32] = "";
        CUdevice dev;
        CUuuid u;
        int i;
        r = cu.get(&dev, d);
        if (r == CUDA_SUCCESS)
            r = cu.pci_bus_id(bus, (int)sizeof(bus), dev);
        if (r == CUDA_SUCCESS)
            r = cu.uuid(&u, dev);
        if (r != CUDA_SUCCESS) {
            vgpu_warn("CUDA device %d: %s", d, cuda_reason(&cu, r, buf, sizeof(buf)));
            continue;
        }
        i = match_cuda(s, bus, &u);
        if (i < 0)
            vgpu_warn("CUDA device %d (PCI %s) is no GPU that NVML lists", d, bus);
        else if (s->gpu[i].cuda_ordinal >= 0)
            vgpu_warn("CUDA devices %d and %d are both %s", s->gpu[i].cuda_ordinal, d,
                      s->gpu[i].uuid);
        else
            s->gpu[i].cuda_ordinal = d;
    }
    s->cuda_driver_version = version;
cleanup:
    if (cu.lib)
        dlclose(cu.lib);
}

int vgpu_device_scan(struct vgpu_scan *out, char *err, size_t errlen)
{
    struct nvml nv;
    bool up = false;
    nvmlReturn_t r;
    int rc = 0;

    memset(&nv, 0, sizeof(nv));
    vgpu_errf(err, errlen, 0, "%s", "");
    if (!out) {
        vgpu_errf(err, errlen, 0, "no scan result to fill");
        rc = -EINVAL;
        goto cleanup;
    }
    memset(out, 0, sizeof(*out));
    rc = nvml_open(&nv, err, errlen);
    if (rc != 0)
        goto cleanup;
    r = nv.nvmlInit_v2();
    if (r != NVML_SUCCESS) {
        rc = nvml_fail(&nv, r, err, errlen, "nvmlInit_v2", -1);
        goto cleanup;
    }
    up = true;
    rc = read_nvml(&nv, out, err, errlen);
    if (rc != 0)
        goto cleanup;
    map_cuda(out, err, errlen);
cleanup:
    if (up)
        nv.nvmlShutdown();
    if (nv.lib)
        dlclose(nv.lib);
    if (rc != 0 && out)
        memset(out, 0, sizeof(*out)); /* nothing half-written */
    return rc;
}
