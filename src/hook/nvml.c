/* nvml: NVML memory queries show the virtual GPU.
 *
 * nvidia-smi-like tools and frameworks (PyTorch's caching allocator asks
 * NVML too) read a device's memory through nvmlDeviceGetMemoryInfo. For a
 * GPU this tenant has a limit on, the answer becomes the limit as total and
 * the tenant's use against it. The NVML device is matched to the account by
 * UUID, the key every process of the tenant agrees on. */
#include "internal.h"

#include <string.h>

#define P (&vgpu__proc)

/* The CUDA ordinal of an NVML device, or -1. */
static int ordinal_of(nvmlDevice_t device)
{
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    if (!atomic_load_explicit(&P->attached, memory_order_acquire) || !REAL(nvmlDeviceGetUUID) ||
        REAL(nvmlDeviceGetUUID)(device, uuid, sizeof(uuid)) != NVML_SUCCESS)
        return -1;
    const char *hex =
        strncmp(uuid, "GPU-", 4) == 0 || strncmp(uuid, "MIG-", 4) == 0 ? uuid + 4 : uuid;
    for (int d = 0; d < P->ndev; d++)
        if (strcmp(P->uuid[d], hex) == 0)
            return d;
    return -1;
}

/* Rewrites total/used/free for a limited device; false when not limited. */
static bool virtual_memory(nvmlDevice_t device, unsigned long long *total, unsigned long long *used,
                           unsigned long long *free_bytes)
{
    int d = ordinal_of(device);
    uint64_t limit = d >= 0 ? vgpu__limit(d) : 0;
    if (!limit)
        return false;
    uint64_t u = vgpu__used(d);
    *total = limit;
    *used = u;
    *free_bytes = u < limit ? limit - u : 0;
    return true;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    if (vgpu__init() != CUDA_SUCCESS || !REAL(nvmlDeviceGetMemoryInfo))
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = REAL(nvmlDeviceGetMemoryInfo)(device, memory);
    if (rc == NVML_SUCCESS)
        virtual_memory(device, &memory->total, &memory->used, &memory->free);
    return rc;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    if (vgpu__init() != CUDA_SUCCESS || !REAL(nvmlDeviceGetMemoryInfo_v2))
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = REAL(nvmlDeviceGetMemoryInfo_v2)(device, memory);
    if (rc == NVML_SUCCESS && virtual_memory(device, &memory->total, &memory->used, &memory->free))
        memory->reserved = 0;
    return rc;
}
