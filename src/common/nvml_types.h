/* nvml_types: our own declaration of the NVML subset that vgpu uses.
 *
 * There is no nvml.h on the build machines, so the types, constants and
 * entry points that vgpu needs are declared here, with NVML's own names, so
 * that code using them reads like code written against nvml.h. The same
 * declarations serve three users: simgpu's libnvidia-ml.so.1 (which defines
 * the functions), and vgpud and libvgpu.so (which dlopen the real
 * libnvidia-ml.so.1 and call through pointers). The layouts therefore match
 * the real NVML ABI exactly; the static assertions at the end pin the sizes
 * and offsets that the real header gives (driver R580, CUDA 13.0).
 *
 * The function list is one X-macro, VGPU_NVML_FUNCTIONS(X), with
 * X(return type, name, parameter list): it generates the prototypes and one
 * pointer type per function, named <function>_fn (for example
 * nvmlDeviceGetCount_v2_fn), so a dlsym table can be generated from the same
 * list. Unlike nvml.h we do not #define the unversioned names to the newest
 * version (nvmlInit -> nvmlInit_v2): every entry point is declared under its
 * exported symbol name, which is what dlsym and a hook library need. */
#ifndef VGPU_NVML_TYPES_H
#define VGPU_NVML_TYPES_H

#include <stddef.h>

typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
    NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
    NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_DEPRECATED = 26,
    NVML_ERROR_NOT_READY = 27,
    NVML_ERROR_GPU_NOT_FOUND = 28,
    NVML_ERROR_INVALID_STATE = 29,
    NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30,
    NVML_ERROR_UNKNOWN = 999,
} nvmlReturn_t;

/* Opaque device handle (a physical GPU or a MIG device). */
typedef struct nvmlDevice_st *nvmlDevice_t;

/* ---- constants -------------------------------------------------------- */
#define NVML_INIT_FLAG_NO_GPUS 1   /* nvmlInitWithFlags: succeed without GPUs */
#define NVML_INIT_FLAG_NO_ATTACH 2 /* nvmlInitWithFlags: do not attach GPUs */

#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_NAME_BUFFER_SIZE 64
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_UUID_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT "%04X:%02X:%02X.0"
#define NVML_DEVICE_PCI_BUS_ID_FMT "%08X:%02X:%02X.0"

#define NVML_DEVICE_MIG_DISABLE 0
#define NVML_DEVICE_MIG_ENABLE 1

/* usedGpuMemory when the driver cannot tell (as nvml.h defines it: -1, so
 * all bits set once stored in an unsigned long long). */
#define NVML_VALUE_NOT_AVAILABLE (-1)

/* Versioned structs carry sizeof | version << 24 in their first field. */
#define NVML_STRUCT_VERSION(data, ver)                                                             \
    (unsigned int)(sizeof(nvml##data##_v##ver##_t) | ((unsigned int)(ver) << 24U))

/* ---- structures ------------------------------------------------------- */
typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
    unsigned int version; /* must be nvmlMemory_v2 */
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

#define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2)

/* nvmlDeviceGetPciInfo (v1) fills only the fields up to busId, in the layout
 * of the old struct (busId[16] in the legacy format, then the ids). */
typedef struct nvmlPciInfo_st {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE]; /* "0000:18:00.0" */
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId; /* device id << 16 | vendor id */
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE]; /* "00000000:18:00.0" */
} nvmlPciInfo_t;

/* Filled by nvmlDeviceGetComputeRunningProcesses (v1). */
typedef struct nvmlProcessInfo_v1_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

/* Filled by _v2; gpuInstanceId and computeInstanceId are 0xFFFFFFFF unless
 * the process runs on a MIG device. */
typedef struct nvmlProcessInfo_v2_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t;

/* Filled by _v3. Same layout as v2 in the R580 header; one older header
 * generation (around CUDA 12.0) briefly appended usedGpuCcProtectedMemory
 * here, which later headers moved to nvmlProcessDetail_v1_t. */
typedef struct nvmlProcessInfo_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct nvmlUtilization_st {
    unsigned int gpu;    /* percent of the sample period a kernel was running */
    unsigned int memory; /* percent of the sample period memory was read or written */
} nvmlUtilization_t;

/* ---- entry points ----------------------------------------------------- */
/* X(return type, name, parameter list). clang-format would read the
 * parameter lists as multiplications, hence the guard. */
/* clang-format off */
#define VGPU_NVML_FUNCTIONS(X)                                                                     \
    X(nvmlReturn_t, nvmlInit, (void))                                                              \
    X(nvmlReturn_t, nvmlInit_v2, (void))                                                           \
    X(nvmlReturn_t, nvmlInitWithFlags, (unsigned int flags))                                       \
    X(nvmlReturn_t, nvmlShutdown, (void))                                                          \
    X(const char *, nvmlErrorString, (nvmlReturn_t result))                                        \
    X(nvmlReturn_t, nvmlSystemGetDriverVersion, (char *version, unsigned int length))              \
    X(nvmlReturn_t, nvmlSystemGetNVMLVersion, (char *version, unsigned int length))                \
    X(nvmlReturn_t, nvmlSystemGetCudaDriverVersion, (int *cudaDriverVersion))                      \
    X(nvmlReturn_t, nvmlSystemGetCudaDriverVersion_v2, (int *cudaDriverVersion))                   \
    X(nvmlReturn_t, nvmlDeviceGetCount, (unsigned int *deviceCount))                               \
    X(nvmlReturn_t, nvmlDeviceGetCount_v2, (unsigned int *deviceCount))                            \
    X(nvmlReturn_t, nvmlDeviceGetHandleByIndex, (unsigned int index, nvmlDevice_t *device))        \
    X(nvmlReturn_t, nvmlDeviceGetHandleByIndex_v2, (unsigned int index, nvmlDevice_t *device))     \
    X(nvmlReturn_t, nvmlDeviceGetHandleByUUID, (const char *uuid, nvmlDevice_t *device))           \
    X(nvmlReturn_t, nvmlDeviceGetHandleByPciBusId, (const char *pciBusId, nvmlDevice_t *device))   \
    X(nvmlReturn_t, nvmlDeviceGetHandleByPciBusId_v2,                                              \
      (const char *pciBusId, nvmlDevice_t *device))                                                \
    X(nvmlReturn_t, nvmlDeviceGetName, (nvmlDevice_t device, char *name, unsigned int length))     \
    X(nvmlReturn_t, nvmlDeviceGetUUID, (nvmlDevice_t device, char *uuid, unsigned int length))     \
    X(nvmlReturn_t, nvmlDeviceGetIndex, (nvmlDevice_t device, unsigned int *index))                \
    X(nvmlReturn_t, nvmlDeviceGetMinorNumber, (nvmlDevice_t device, unsigned int *minorNumber))    \
    X(nvmlReturn_t, nvmlDeviceGetMemoryInfo, (nvmlDevice_t device, nvmlMemory_t *memory))          \
    X(nvmlReturn_t, nvmlDeviceGetMemoryInfo_v2, (nvmlDevice_t device, nvmlMemory_v2_t *memory))    \
    X(nvmlReturn_t, nvmlDeviceGetPciInfo, (nvmlDevice_t device, nvmlPciInfo_t *pci))               \
    X(nvmlReturn_t, nvmlDeviceGetPciInfo_v2, (nvmlDevice_t device, nvmlPciInfo_t *pci))            \
    X(nvmlReturn_t, nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t *pci))            \
    X(nvmlReturn_t, nvmlDeviceGetCudaComputeCapability,                                            \
      (nvmlDevice_t device, int *major, int *minor))                                               \
    X(nvmlReturn_t, nvmlDeviceGetMigMode,                                                          \
      (nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode))                 \
    X(nvmlReturn_t, nvmlDeviceGetMaxMigDeviceCount, (nvmlDevice_t device, unsigned int *count))    \
    X(nvmlReturn_t, nvmlDeviceGetMigDeviceHandleByIndex,                                           \
      (nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice))                          \
    X(nvmlReturn_t, nvmlDeviceGetDeviceHandleFromMigDeviceHandle,                                  \
      (nvmlDevice_t migDevice, nvmlDevice_t *device))                                              \
    X(nvmlReturn_t, nvmlDeviceIsMigDeviceHandle, (nvmlDevice_t device, unsigned int *isMigDevice)) \
    X(nvmlReturn_t, nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int *id))           \
    X(nvmlReturn_t, nvmlDeviceGetComputeInstanceId, (nvmlDevice_t device, unsigned int *id))       \
    X(nvmlReturn_t, nvmlDeviceGetComputeRunningProcesses,                                          \
      (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_v1_t *infos))                \
    X(nvmlReturn_t, nvmlDeviceGetComputeRunningProcesses_v2,                                       \
      (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_v2_t *infos))                \
    X(nvmlReturn_t, nvmlDeviceGetComputeRunningProcesses_v3,                                       \
      (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos))                   \
    X(nvmlReturn_t, nvmlDeviceGetUtilizationRates,                                                 \
      (nvmlDevice_t device, nvmlUtilization_t *utilization))
/* clang-format on */

#define VGPU_NVML_DECLARE(ret, name, params)                                                       \
    ret name params;                                                                               \
    typedef ret(*name##_fn) params;
VGPU_NVML_FUNCTIONS(VGPU_NVML_DECLARE)
#undef VGPU_NVML_DECLARE

/* ---- ABI checks against the real nvml.h ------------------------------- */
_Static_assert(sizeof(nvmlReturn_t) == 4, "nvmlReturn_t is an int-sized enum");
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t size");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t size");
_Static_assert(offsetof(nvmlMemory_v2_t, total) == 8, "nvmlMemory_v2_t.total offset");
_Static_assert(offsetof(nvmlMemory_v2_t, used) == 32, "nvmlMemory_v2_t.used offset");
_Static_assert(nvmlMemory_v2 == 0x02000028u, "nvmlMemory_v2 version word");
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t size");
_Static_assert(offsetof(nvmlPciInfo_t, domain) == 16, "nvmlPciInfo_t.domain offset");
_Static_assert(offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t.busId offset");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t size");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "nvmlProcessInfo_v2_t size");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t size");
_Static_assert(offsetof(nvmlProcessInfo_t, gpuInstanceId) == 16, "gpuInstanceId offset");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t size");

#endif
