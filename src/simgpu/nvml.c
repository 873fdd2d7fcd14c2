/* simgpu NVML: the simulated libnvidia-ml.so.1.
 *
 * It answers the NVML subset declared in nvml_types.h from the shared simgpu
 * state (state.h), so that vgpud, libvgpu.so, nvidia-smi-like tools and the
 * tests see the same devices, memory and processes as the simulated
 * libcuda.so.1, with the return codes and buffer rules of the real library.
 *
 * Devices: the physical GPUs of SIMGPU_DEVICES are the NVML devices (counted
 * and indexed in NVML order); MIG instances are reached only through their
 * parent (nvmlDeviceGetMigDeviceHandleByIndex) or their MIG- UUID, as on a
 * real MIG system. A handle is a pointer into g_dev[], which is indexed like
 * the state's gpu[]; nothing else is accepted as a handle.
 *
 * Every query takes the state's lock (lock_device / lock_system) and copies
 * what it needs; memory and process queries first reap dead processes, which
 * is how a SIGKILLed process's memory disappears from NVML, as it does when
 * the real driver tears down a dead process's contexts.
 *
 * Initialisation is reference-counted like NVML's: every nvmlInit* adds one,
 * nvmlShutdown drops one, and at zero every call but nvmlErrorString returns
 * NVML_ERROR_UNINITIALIZED. The state mapping itself lives as long as the
 * process (state.c maps it once); shutting down only closes the API. */
#include "nvml_types.h"

#include "common.h"
#include "state.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NVML_API __attribute__((visibility("default")))

/* What the simulated machine claims to run: the GPU machines' driver. */
#define SIM_DRIVER_VERSION "580.159.04"
#define SIM_NVML_VERSION "13.580.159.04"
#define SIM_CUDA_DRIVER_VERSION 13000

#define NO_INSTANCE 0xFFFFFFFFu /* gpuInstanceId/computeInstanceId off MIG */
#define UTIL_WINDOW_NS 1000000000ULL
#define MAX_PROC_ROWS (SIMGPU_MAX_PROCS * (SIMGPU_MAX_MIG + 1))

struct nvmlDevice_st {
    int gpu; /* index in the state's gpu[] (for debuggers: equals the position) */
};

static struct nvmlDevice_st g_dev[SIMGPU_MAX_GPUS];
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint g_refs;
static struct simgpu_state *g_st; /* set before g_refs first leaves 0, never reset */

/* ---- plumbing ---------------------------------------------------------- */

/* The checks every call starts with, in NVML's order. */
static nvmlReturn_t check_call(bool args_ok)
{
    if (atomic_load(&g_refs) == 0)
        return NVML_ERROR_UNINITIALIZED;
    return args_ok ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

/* check_call, then takes the state lock; on success the caller must
 * simgpu_unlock(). */
static nvmlReturn_t lock_system(bool args_ok, struct simgpu_state **st)
{
    nvmlReturn_t rc = check_call(args_ok);
    if (rc != NVML_SUCCESS)
        return rc;
    *st = g_st;
    simgpu_lock(*st);
    return NVML_SUCCESS;
}

/* As lock_system, and resolves `device` to its index in the state's gpu[]. */
static nvmlReturn_t lock_device(nvmlDevice_t device, bool args_ok, struct simgpu_state **st,
                                int *gpu)
{
    uintptr_t p = (uintptr_t)device, base = (uintptr_t)g_dev;
    nvmlReturn_t rc = lock_system(args_ok, st);

    if (rc != NVML_SUCCESS)
        return rc;
    if (p < base || (p - base) % sizeof(g_dev[0]) != 0 ||
        (p - base) / sizeof(g_dev[0]) >= (*st)->ngpus || (*st)->ngpus > SIMGPU_MAX_GPUS) {
        simgpu_unlock(*st);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *gpu = (int)((p - base) / sizeof(g_dev[0]));
    return NVML_SUCCESS;
}

static nvmlReturn_t copy_string(char *dst, unsigned int length, const char *src)
{
    size_t n = strlen(src);
    if ((size_t)length < n + 1)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, n + 1);
    return NVML_SUCCESS;
}

/* MIG-capable parts: the x.0 data-centre generations from Ampere on (A100,
 * H100, H200, B200 and the generic model), or any GPU configured with MIG. */
static bool mig_capable(const struct simgpu_gpu *g)
{
    return g->mig_enabled || (g->cc_major >= 8 && g->cc_minor == 0);
}

/* ---- initialisation ---------------------------------------------------- */

static nvmlReturn_t init_common(void)
{
    nvmlReturn_t rc = NVML_SUCCESS;

    pthread_mutex_lock(&g_init_lock);
    if (atomic_load(&g_refs) == 0) {
        struct simgpu_state *st = simgpu_state_get();
        if (!st) {
            rc = NVML_ERROR_DRIVER_NOT_LOADED;
            goto cleanup;
        }
        g_st = st;
        simgpu_lock(st);
        /* Registered, an NVML-only process (vgpud, a monitor) counts as a user
         * of the state, so nobody rebuilds it under its feet. */
        simgpu_proc_register(st);
        uint64_t now = vgpu_now_ns();
        for (uint32_t i = 0; i < st->ngpus; i++) {
            struct simgpu_gpu *g = &st->gpu[i];
            g_dev[i].gpu = (int)i;
            if (g->util_mark_ns == 0) {
                g->util_mark_ns = now;
                g->util_mark_busy_ns = simgpu_busy_ns(st, (int)i, -1, now);
            }
        }
        simgpu_unlock(st);
    }
    atomic_fetch_add(&g_refs, 1);
cleanup:
    pthread_mutex_unlock(&g_init_lock);
    return rc;
}

NVML_API nvmlReturn_t nvmlInit_v2(void)
{
    return init_common();
}

NVML_API nvmlReturn_t nvmlInit(void)
{
    return init_common();
}

/* Flags change nothing here (R580 accepts unknown ones too). */
NVML_API nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    return init_common();
}

NVML_API nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t rc = NVML_SUCCESS;

    pthread_mutex_lock(&g_init_lock);
    if (atomic_load(&g_refs) == 0)
        rc = NVML_ERROR_UNINITIALIZED;
    else
        atomic_fetch_sub(&g_refs, 1);
    pthread_mutex_unlock(&g_init_lock);
    return rc;
}

/* nvmlErrorString texts, as libnvidia-ml.so.1 580.159.04 words them. */
static const char *const g_error_strings[] = {
    [NVML_SUCCESS] = "Success",
    [NVML_ERROR_UNINITIALIZED] = "Uninitialized",
    [NVML_ERROR_INVALID_ARGUMENT] = "Invalid Argument",
    [NVML_ERROR_NOT_SUPPORTED] = "Not Supported",
    [NVML_ERROR_NO_PERMISSION] = "Insufficient Permissions",
    [NVML_ERROR_ALREADY_INITIALIZED] = "Already Initialized",
    [NVML_ERROR_NOT_FOUND] = "Not Found",
    [NVML_ERROR_INSUFFICIENT_SIZE] = "Insufficient Size",
    [NVML_ERROR_INSUFFICIENT_POWER] = "Insufficient External Power",
    [NVML_ERROR_DRIVER_NOT_LOADED] = "Driver Not Loaded",
    [NVML_ERROR_TIMEOUT] = "Timeout",
    [NVML_ERROR_IRQ_ISSUE] = "Interrupt Request Issue",
    [NVML_ERROR_LIBRARY_NOT_FOUND] = "NVML Shared Library Not Found",
    [NVML_ERROR_FUNCTION_NOT_FOUND] = "Function Not Found",
    [NVML_ERROR_CORRUPTED_INFOROM] = "Corrupted infoROM",
    [NVML_ERROR_GPU_IS_LOST] = "GPU is lost",
    [NVML_ERROR_RESET_REQUIRED] = "GPU requires reset",
    [NVML_ERROR_OPERATING_SYSTEM] = "GPU access blocked by the operating system",
    [NVML_ERROR_LIB_RM_VERSION_MISMATCH] = "Driver/library version mismatch",
    [NVML_ERROR_IN_USE] = "In use by another client",
    [NVML_ERROR_MEMORY] = "Insufficient Memory",
    [NVML_ERROR_NO_DATA] = "No data",
    [NVML_ERROR_VGPU_ECC_NOT_SUPPORTED] = "vGPU ECC not supported",
    [NVML_ERROR_INSUFFICIENT_RESOURCES] = "Insufficient Resources",
    [NVML_ERROR_FREQ_NOT_SUPPORTED] = "Invalid Frequency",
    [NVML_ERROR_ARGUMENT_VERSION_MISMATCH] = "Argument version mismatch",
    [NVML_ERROR_DEPRECATED] = "Requested functionality has been deprecated",
    [NVML_ERROR_NOT_READY] = "System is not in ready state",
    [NVML_ERROR_GPU_NOT_FOUND] = "No supported GPUs were found",
    [NVML_ERROR_INVALID_STATE] = "Resource not in correct state to perform requested operation",
    [NVML_ERROR_RESET_TYPE_NOT_SUPPORTED] = "Reset type is not supported for given device",
};

NVML_API const char *nvmlErrorString(nvmlReturn_t result)
{
    size_t n = sizeof(g_error_strings) / sizeof(g_error_strings[0]);
    if ((unsigned int)result < n && g_error_strings[result])
        return g_error_strings[result];
    return "Unknown Error";
}

/* ---- system queries ---------------------------------------------------- */

static nvmlReturn_t system_string(char *out, unsigned int length, const char *value)
{
    nvmlReturn_t rc = check_call(out != NULL);
    return rc != NVML_SUCCESS ? rc : copy_string(out, length, value);
}

NVML_API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    return system_string(version, length, SIM_DRIVER_VERSION);
}

NVML_API nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    return system_string(version, length, SIM_NVML_VERSION);
}

NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    nvmlReturn_t rc = check_call(cudaDriverVersion != NULL);
    if (rc == NVML_SUCCESS)
        *cudaDriverVersion = SIM_CUDA_DRIVER_VERSION;
    return rc;
}

NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    return nvmlSystemGetCudaDriverVersion_v2(cudaDriverVersion);
}

/* ---- finding devices --------------------------------------------------- */

NVML_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    struct simgpu_state *st;
    unsigned int n = 0;
    nvmlReturn_t rc = lock_system(deviceCount != NULL, &st);
    if (rc != NVML_SUCCESS)
        return rc;
    for (uint32_t i = 0; i < st->ngpus; i++)
        if (st->gpu[i].parent < 0)
            n++;
    simgpu_unlock(st);
    *deviceCount = n;
    return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
    return nvmlDeviceGetCount_v2(deviceCount);
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    struct simgpu_state *st;
    nvmlReturn_t rc = lock_system(device != NULL, &st);
    if (rc != NVML_SUCCESS)
        return rc;
    rc = NVML_ERROR_INVALID_ARGUMENT;
    for (uint32_t i = 0; i < st->ngpus; i++) {
        if (st->gpu[i].parent < 0 && (unsigned int)st->gpu[i].nvml_index == index) {
            *device = &g_dev[i];
            rc = NVML_SUCCESS;
            break;
        }
    }
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

/* Index of the device named by `uuid`, or -1 (lock held). Matching follows
 * R580: exact case, and the bare UUID without its "GPU-"/"MIG-" prefix is
 * accepted too. The legacy MIG form "MIG-GPU-<parent uuid>/<gi>/<ci>" names
 * an instance by its parent and instance ids. */
static int find_uuid(const struct simgpu_state *st, const char *uuid)
{
    if (strncmp(uuid, "MIG-GPU-", 8) == 0) {
        const char *parent_uuid = uuid + 4, *slash = strchr(uuid, '/');
        unsigned int gi, ci;
        int end = -1;
        if (!slash || sscanf(slash, "/%u/%u%n", &gi, &ci, &end) != 2 || end < 0 || slash[end])
            return -1;
        size_t plen = (size_t)(slash - parent_uuid);
        for (uint32_t i = 0; i < st->ngpus; i++) {
            const struct simgpu_gpu *g = &st->gpu[i];
            if (g->parent < 0 || (unsigned int)g->gi_id != gi || (unsigned int)g->ci_id != ci)
                continue;
            const char *pu = st->gpu[g->parent].uuid;
            if (strlen(pu) == plen && strncmp(pu, parent_uuid, plen) == 0)
                return (int)i;
        }
        return -1;
    }
    for (uint32_t i = 0; i < st->ngpus; i++) {
        const char *u = st->gpu[i].uuid;
        if (strcmp(u, uuid) == 0 || (strlen(u) > 4 && strcmp(u + 4, uuid) == 0))
            return (int)i;
    }
    return -1;
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    struct simgpu_state *st;
    nvmlReturn_t rc = lock_system(uuid != NULL && device != NULL, &st);
    if (rc != NVML_SUCCESS)
        return rc;
    int i = find_uuid(st, uuid);
    simgpu_unlock(st);
    if (i < 0)
        return NVML_ERROR_NOT_FOUND;
    *device = &g_dev[i];
    return NVML_SUCCESS;
}

/* Parses a PCI address as leniently as R580 does: "domain:bus:device" with an
 * optional ".function", the domain of any width (so both "00000000:18:00.0"
 * and "0000:18:00.0") or left out ("18:00.0"), hex digits of either case. */
static bool parse_bus_id(const char *s, unsigned int *domain, unsigned int *bus, unsigned int *dev,
                         unsigned int *fn)
{
    int end = -1;
    *fn = 0;
    if (sscanf(s, "%x:%x:%x%n", domain, bus, dev, &end) != 3 || end < 0) {
        end = -1;
        *domain = 0;
        if (sscanf(s, "%x:%x%n", bus, dev, &end) != 2 || end < 0)
            return false;
    }
    s += end;
    if (*s == '.') {
        end = -1;
        if (sscanf(s, ".%x%n", fn, &end) != 1 || end < 0)
            return false;
        s += end;
    }
    return *s == '\0';
}

/* A function other than 0 is an invalid argument (GPUs are function 0), an
 * address with no GPU is not found. */
NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
    struct simgpu_state *st;
    unsigned int domain, bus, dev, fn;
    bool parsed = pciBusId && parse_bus_id(pciBusId, &domain, &bus, &dev, &fn) && fn == 0;
    nvmlReturn_t rc = lock_system(parsed && device != NULL, &st);
    if (rc != NVML_SUCCESS)
        return rc;
    rc = NVML_ERROR_NOT_FOUND;
    for (uint32_t i = 0; i < st->ngpus; i++) {
        const struct simgpu_gpu *g = &st->gpu[i];
        if (g->parent < 0 && g->pci_domain == domain && g->pci_bus == bus && g->pci_device == dev) {
            *device = &g_dev[i];
            rc = NVML_SUCCESS;
            break;
        }
    }
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByPciBusId_v2(pciBusId, device);
}

/* ---- device identity --------------------------------------------------- */

static nvmlReturn_t device_string(nvmlDevice_t device, char *out, unsigned int length, bool uuid)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, out != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    rc = copy_string(out, length, uuid ? st->gpu[gpu].uuid : st->gpu[gpu].name);
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    return device_string(device, name, length, false);
}

NVML_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    return device_string(device, uuid, length, true);
}

/* The NVML index and the minor number (/dev/nvidiaN) belong to physical GPUs;
 * a MIG handle gets NVML_ERROR_NOT_SUPPORTED (ask its parent). */
static nvmlReturn_t physical_number(nvmlDevice_t device, unsigned int *out)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, out != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    if (st->gpu[gpu].parent >= 0)
        rc = NVML_ERROR_NOT_SUPPORTED;
    else
        *out = (unsigned int)st->gpu[gpu].nvml_index;
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    return physical_number(device, index);
}

NVML_API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int *minorNumber)
{
    return physical_number(device, minorNumber);
}

/* Fills the v3 layout. `whole` false is v1, which R580 implements by writing
 * the fields and then busId only up to its NUL, leaving the rest of the
 * caller's struct alone (the old v1 struct had 16 reserved bytes there). */
static nvmlReturn_t read_pci(nvmlDevice_t device, nvmlPciInfo_t *pci, bool whole)
{
    struct simgpu_state *st;
    nvmlPciInfo_t info;
    int gpu;
    nvmlReturn_t rc = lock_device(device, pci != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    const struct simgpu_gpu *g = &st->gpu[gpu];
    memset(&info, 0, sizeof(info));
    /* PCI field widths: 16-bit legacy domain, 8-bit bus, 5-bit device. */
    snprintf(info.busIdLegacy, sizeof(info.busIdLegacy), NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT,
             g->pci_domain & 0xffffu, g->pci_bus & 0xffu, g->pci_device & 0x1fu);
    info.domain = g->pci_domain;
    info.bus = g->pci_bus;
    info.device = g->pci_device;
    info.pciDeviceId = g->pci_device_id;
    info.pciSubSystemId = g->pci_device_id; /* simgpu models one board per chip */
    vgpu_strlcpy(info.busId, g->pci_bus_id, sizeof(info.busId));
    simgpu_unlock(st);
    memcpy(pci, &info,
           whole ? sizeof(info) : offsetof(nvmlPciInfo_t, busId) + strlen(info.busId) + 1);
    return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return read_pci(device, pci, true);
}

NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return read_pci(device, pci, true);
}

NVML_API nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return read_pci(device, pci, false);
}

NVML_API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major,
                                                         int *minor)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, major != NULL && minor != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    *major = st->gpu[gpu].cc_major;
    *minor = st->gpu[gpu].cc_minor;
    simgpu_unlock(st);
    return NVML_SUCCESS;
}

/* ---- memory ------------------------------------------------------------ */

static nvmlReturn_t read_memory(nvmlDevice_t device, bool args_ok, unsigned long long *total,
                                unsigned long long *used)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, args_ok, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    simgpu_reap(st);
    *total = st->gpu[gpu].mem_total;
    *used = st->gpu[gpu].mem_used < *total ? st->gpu[gpu].mem_used : *total;
    simgpu_unlock(st);
    return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    unsigned long long total, used;
    nvmlReturn_t rc = read_memory(device, memory != NULL, &total, &used);
    if (rc == NVML_SUCCESS)
        *memory = (nvmlMemory_t){.total = total, .free = total - used, .used = used};
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    unsigned long long total, used;
    nvmlReturn_t rc = read_memory(device, memory != NULL, &total, &used);
    if (rc != NVML_SUCCESS)
        return rc;
    /* The documentation promises ARGUMENT_VERSION_MISMATCH, but R580
     * (580.159.04, seen on an H200) answers FUNCTION_NOT_FOUND: simgpu does
     * what the driver does. */
    if (memory->version != nvmlMemory_v2)
        return NVML_ERROR_FUNCTION_NOT_FOUND;
    memory->total = total;
    memory->reserved = 0;
    memory->free = total - used;
    memory->used = used;
    return NVML_SUCCESS;
}

/* ---- MIG --------------------------------------------------------------- */

NVML_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                           unsigned int *pendingMode)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, currentMode != NULL && pendingMode != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    const struct simgpu_gpu *g = &st->gpu[gpu];
    if (g->parent >= 0 || !mig_capable(g)) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    } else {
        *currentMode = g->mig_enabled ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
        *pendingMode = *currentMode; /* simgpu never changes MIG mode */
    }
    simgpu_unlock(st);
    return rc;
}

/* As on real parts, the possible number of MIG devices (7), not the number
 * configured: callers probe each index and skip NVML_ERROR_NOT_FOUND. */
NVML_API nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, count != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    const struct simgpu_gpu *g = &st->gpu[gpu];
    *count = g->parent < 0 && g->mig_enabled ? SIMGPU_MAX_MIG : 0;
    simgpu_unlock(st);
    return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                          nvmlDevice_t *migDevice)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, migDevice != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    const struct simgpu_gpu *g = &st->gpu[gpu];
    if (g->parent >= 0)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    else if (!mig_capable(g))
        rc = NVML_ERROR_NOT_SUPPORTED;
    else if (!g->mig_enabled || index >= (unsigned int)g->mig_count)
        rc = NVML_ERROR_NOT_FOUND; /* any index, as R580 answers with MIG off */
    else
        *migDevice = &g_dev[g->mig_first + (int)index];
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice,
                                                                   nvmlDevice_t *device)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(migDevice, device != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    if (st->gpu[gpu].parent < 0)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    else
        *device = &g_dev[st->gpu[gpu].parent];
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, isMigDevice != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    *isMigDevice = st->gpu[gpu].parent >= 0;
    simgpu_unlock(st);
    return NVML_SUCCESS;
}

/* GPU or compute instance id of a MIG handle. A physical GPU's handle is an
 * invalid argument here (what R580 answers for a GPU with MIG off). */
static nvmlReturn_t instance_id(nvmlDevice_t device, unsigned int *id, bool compute)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, id != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    const struct simgpu_gpu *g = &st->gpu[gpu];
    if (g->parent < 0)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    else
        *id = (unsigned int)(compute ? g->ci_id : g->gi_id);
    simgpu_unlock(st);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return instance_id(device, id, false);
}

NVML_API nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return instance_id(device, id, true);
}

/* ---- processes --------------------------------------------------------- */

/* Appends the processes that hold a context or memory on `gpu` (lock held). */
static unsigned int add_procs(const struct simgpu_state *st, int gpu, nvmlProcessInfo_t *rows,
                              unsigned int n)
{
    const struct simgpu_gpu *g = &st->gpu[gpu];
    for (int p = 0; p < SIMGPU_MAX_PROCS; p++) {
        const struct simgpu_proc *pr = &st->proc[p];
        if (!pr->pid || (!pr->contexts[gpu] && !pr->mem_used[gpu]))
            continue;
        rows[n++] = (nvmlProcessInfo_t){
            .pid = (unsigned int)pr->pid,
            .usedGpuMemory = pr->mem_used[gpu],
            .gpuInstanceId = g->parent >= 0 ? (unsigned int)g->gi_id : NO_INSTANCE,
            .computeInstanceId = g->parent >= 0 ? (unsigned int)g->ci_id : NO_INSTANCE,
        };
    }
    return n;
}

/* The common part of the three versions: validates, collects the rows of
 * `device` (a parent in MIG mode lists its instances' processes) and applies
 * the *infoCount protocol: more rows than *infoCount is
 * NVML_ERROR_INSUFFICIENT_SIZE with the number needed in *infoCount. As in
 * R580, infos may be NULL whenever there is nothing to write, whatever
 * *infoCount says. On NVML_SUCCESS the caller writes rows[0..n). */
static nvmlReturn_t collect_procs(nvmlDevice_t device, unsigned int *infoCount, const void *infos,
                                  nvmlProcessInfo_t *rows, unsigned int *n)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, infoCount != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    simgpu_reap(st);
    const struct simgpu_gpu *g = &st->gpu[gpu];
    *n = add_procs(st, gpu, rows, 0);
    if (g->parent < 0 && g->mig_enabled)
        for (int k = 0; k < g->mig_count; k++)
            *n = add_procs(st, g->mig_first + k, rows, *n);
    simgpu_unlock(st);
    if (*n > *infoCount)
        rc = NVML_ERROR_INSUFFICIENT_SIZE;
    else if (*n > 0 && !infos)
        return NVML_ERROR_INVALID_ARGUMENT;
    *infoCount = *n;
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                              unsigned int *infoCount,
                                                              nvmlProcessInfo_t *infos)
{
    nvmlProcessInfo_t rows[MAX_PROC_ROWS];
    unsigned int n = 0;
    nvmlReturn_t rc = collect_procs(device, infoCount, infos, rows, &n);
    for (unsigned int i = 0; rc == NVML_SUCCESS && i < n; i++)
        infos[i] = rows[i];
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device,
                                                              unsigned int *infoCount,
                                                              nvmlProcessInfo_v2_t *infos)
{
    nvmlProcessInfo_t rows[MAX_PROC_ROWS];
    unsigned int n = 0;
    nvmlReturn_t rc = collect_procs(device, infoCount, infos, rows, &n);
    for (unsigned int i = 0; rc == NVML_SUCCESS && i < n; i++)
        infos[i] = (nvmlProcessInfo_v2_t){.pid = rows[i].pid,
                                          .usedGpuMemory = rows[i].usedGpuMemory,
                                          .gpuInstanceId = rows[i].gpuInstanceId,
                                          .computeInstanceId = rows[i].computeInstanceId};
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device,
                                                           unsigned int *infoCount,
                                                           nvmlProcessInfo_v1_t *infos)
{
    nvmlProcessInfo_t rows[MAX_PROC_ROWS];
    unsigned int n = 0;
    nvmlReturn_t rc = collect_procs(device, infoCount, infos, rows, &n);
    for (unsigned int i = 0; rc == NVML_SUCCESS && i < n; i++)
        infos[i] =
            (nvmlProcessInfo_v1_t){.pid = rows[i].pid, .usedGpuMemory = rows[i].usedGpuMemory};
    return rc;
}

/* ---- utilisation ------------------------------------------------------- */

/* Percent of device time busy over about the last second (lock held).
 *
 * Nothing samples in the background, so the state keeps one window per
 * device, shared by every process that asks: util_mark_ns/util_mark_busy_ns
 * are the time and busy time at its start, util_last_pct the figure of the
 * previous window. A query that finds the window a second old or more closes
 * it and reports its figure; a query inside the window reports the open
 * window's busy time plus the previous window's rate for the rest of the
 * second, so the figure slides rather than jumping once a second. After a
 * long quiet spell the first query reports the average since the last one. */
static unsigned int sample_utilization(struct simgpu_state *st, int gpu, uint64_t now)
{
    struct simgpu_gpu *g = &st->gpu[gpu];
    uint64_t busy = simgpu_busy_ns(st, gpu, -1, now);
    uint64_t elapsed, in_window, pct;

    if (g->util_mark_ns == 0 || now < g->util_mark_ns || busy < g->util_mark_busy_ns) {
        g->util_mark_ns = now; /* first sample, or the state was rebuilt */
        g->util_mark_busy_ns = busy;
        g->util_last_pct = 0;
        return 0;
    }
    elapsed = now - g->util_mark_ns;
    in_window = busy - g->util_mark_busy_ns;
    if (in_window > elapsed)
        in_window = elapsed;
    if (elapsed >= UTIL_WINDOW_NS) {
        pct = in_window * 100 / elapsed;
        g->util_mark_ns = now;
        g->util_mark_busy_ns = busy;
        g->util_last_pct = (uint32_t)pct;
        return (unsigned int)pct;
    }
    pct = (in_window * 100 + (uint64_t)g->util_last_pct * (UTIL_WINDOW_NS - elapsed)) /
          UTIL_WINDOW_NS;
    return pct > 100 ? 100 : (unsigned int)pct;
}

/* Real NVML does not report utilisation for MIG devices or for a GPU in MIG
 * mode (NVML_ERROR_NOT_SUPPORTED); simgpu does the same. */
NVML_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                    nvmlUtilization_t *utilization)
{
    struct simgpu_state *st;
    int gpu;
    nvmlReturn_t rc = lock_device(device, utilization != NULL, &st, &gpu);
    if (rc != NVML_SUCCESS)
        return rc;
    if (st->gpu[gpu].parent >= 0 || st->gpu[gpu].mig_enabled) {
        rc = NVML_ERROR_NOT_SUPPORTED;
    } else {
        utilization->gpu = sample_utilization(st, gpu, vgpu_now_ns());
        utilization->memory = 0;
    }
    simgpu_unlock(st);
    return rc;
}
