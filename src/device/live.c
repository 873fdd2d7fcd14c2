/* live: what one GPU is doing now, from NVML (memory in use, utilisation),
 * for vgpud's metrics.
 *
 * Unlike a scan, which opens NVML and shuts it down again, these figures are
 * read at every scrape, so NVML is loaded (dlopen of libnvidia-ml.so.1, the
 * few entry points this needs looked up by name, newest version first) and
 * initialised once, on the first query, and kept until
 * vgpu_device_live_close. NVML counts nvmlInit calls, so a scan in the same
 * process still opens and shuts down its own reference without disturbing
 * this one. A load or init that fails is retried at the next query (a driver
 * may be installed later). A GPU is named by its UUID, so the figures follow
 * the GPU whatever its index. One mutex makes the calls safe from several
 * threads; vgpud calls them from its event loop only. */
#include "device.h"

#include "common.h"
#include "nvml_types.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#define NVML_LIB "libnvidia-ml.so.1"

static struct {
    void *lib;
    nvmlShutdown_fn shutdown;
    nvmlDeviceGetHandleByUUID_fn by_uuid;
    nvmlDeviceGetMemoryInfo_fn memory;
    nvmlDeviceGetUtilizationRates_fn utilization;
} nv;
static pthread_mutex_t nv_lock = PTHREAD_MUTEX_INITIALIZER;

static void nv_unload(void)
{
    if (nv.lib)
        dlclose(nv.lib);
    memset(&nv, 0, sizeof(nv));
}

/* Loads and initialises NVML if it is not yet (lock held). 0, -ENOENT (no
 * driver library) or -EIO (an entry point missing, or nvmlInit failed). */
static int nv_load(void)
{
    if (nv.lib)
        return 0;
    nv.lib = dlopen(NVML_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!nv.lib)
        return -ENOENT;
    nvmlInit_v2_fn init = (nvmlInit_v2_fn)dlsym(nv.lib, "nvmlInit_v2");
    if (!init)
        init = (nvmlInit_fn)dlsym(nv.lib, "nvmlInit");
    nv.shutdown = (nvmlShutdown_fn)dlsym(nv.lib, "nvmlShutdown");
    nv.by_uuid = (nvmlDeviceGetHandleByUUID_fn)dlsym(nv.lib, "nvmlDeviceGetHandleByUUID");
    nv.memory = (nvmlDeviceGetMemoryInfo_fn)dlsym(nv.lib, "nvmlDeviceGetMemoryInfo");
    nv.utilization =
        (nvmlDeviceGetUtilizationRates_fn)dlsym(nv.lib, "nvmlDeviceGetUtilizationRates");
    if (!init || !nv.shutdown || !nv.by_uuid || !nv.memory || !nv.utilization ||
        init() != NVML_SUCCESS) {
        nv_unload();
        return -EIO;
    }
    return 0;
}

int vgpu_device_live(const char *uuid, struct vgpu_gpu_live *out)
{
    nvmlDevice_t h;
    nvmlMemory_t mem;
    nvmlUtilization_t util;
    nvmlReturn_t r;
    int rc;

    if (!uuid || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&nv_lock);
    rc = nv_load();
    if (rc != 0)
        goto out;
    r = nv.by_uuid(uuid, &h);
    if (r != NVML_SUCCESS) {
        rc = r == NVML_ERROR_NOT_FOUND || r == NVML_ERROR_INVALID_ARGUMENT ? -ENODEV : -EIO;
        goto out;
    }
    if (nv.memory(h, &mem) != NVML_SUCCESS) {
        rc = -EIO;
        goto out;
    }
    out->mem_total = mem.total;
    out->mem_used = mem.used;
    /* MIG instances and GPUs in MIG mode have none (NOT_SUPPORTED). */
    if (nv.utilization(h, &util) == NVML_SUCCESS) {
        out->utilization = util.gpu > 100 ? 1.0 : util.gpu / 100.0;
        out->has_utilization = true;
    }
out:
    pthread_mutex_unlock(&nv_lock);
    return rc;
}

void vgpu_device_live_close(void)
{
    pthread_mutex_lock(&nv_lock);
    if (nv.lib)
        nv.shutdown();
    nv_unload();
    pthread_mutex_unlock(&nv_lock);
}
