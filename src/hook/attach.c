/* attach: joining the tenant's account, and contexts.
 *
 * cuInit brings the driver up; then we learn each visible device's UUID
 * (CUDA ordinal -> physical GPU, so CUDA_VISIBLE_DEVICES is honoured and all
 * processes of a tenant agree on which GPU a byte is on), open the tenant's
 * account, join it, and create each device's slot with this process's
 * limits. A context costs device memory the program never asked for; the
 * limit covers it: after a context is created we ask NVML what this process
 * holds on that GPU and charge whatever our own bookkeeping does not explain.
 * If that does not fit, the context is given back and creation fails with
 * CUDA_ERROR_OUT_OF_MEMORY, as it would on a GPU of the limit's size. */
#include "internal.h"

#include "common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define P (&vgpu__proc)

static void uuid_text(const CUuuid *u, char *out, size_t len)
{
    const unsigned char *b = (const unsigned char *)u->bytes;
    snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

CUresult vgpu__attach(void)
{
    CUresult rc = vgpu__init();
    int n = 0;
    if (rc != CUDA_SUCCESS)
        return rc;
    if (atomic_load_explicit(&P->attached, memory_order_acquire))
        return CUDA_SUCCESS;
    pthread_mutex_lock(&P->lock);
    if (atomic_load(&P->attached))
        goto out;
    rc = REAL(cuDeviceGetCount)(&n);
    if (rc != CUDA_SUCCESS)
        goto out;
    if (P->vgpud_fd < 0 && (rc = vgpu__managed_attach()) != CUDA_SUCCESS)
        goto out;
    if (!P->acct) {
        P->acct = vgpu_acct_open(P->tenant);
        if (!P->acct) {
            rc = CUDA_ERROR_OPERATING_SYSTEM;
            goto out;
        }
    }
    vgpu_acct_reap(P->acct);
    P->slot = vgpu_acct_join(P->acct);
    if (P->slot < 0) {
        vgpu_error("tenant %s: more than %d processes", P->tenant, VGPU_ACCT_PROCS);
        rc = CUDA_ERROR_OPERATING_SYSTEM;
        goto out;
    }
    P->ndev = n < VGPU_MAX_DEVICES ? n : VGPU_MAX_DEVICES;
    for (int d = 0; d < P->ndev; d++) {
        CUuuid u;
        rc = REAL(cuDeviceGetUuid_v2)(&u, d);
        if (rc != CUDA_SUCCESS)
            goto out;
        uuid_text(&u, P->uuid[d], sizeof(P->uuid[d]));
        P->dslot[d] = vgpu_acct_device(P->acct, P->uuid[d], vgpu_limit_for(&P->limits, d),
                                       vgpu_limit_for(&P->soft, d));
        if (P->dslot[d] < 0) {
            vgpu_error("tenant %s: more than %d GPUs", P->tenant, VGPU_ACCT_DEVS);
            rc = CUDA_ERROR_OPERATING_SYSTEM;
            goto out;
        }
        if (vgpu__limit(d)) {
            char lim[32];
            vgpu_info("device %d (%s): limit %s", d, P->uuid[d],
                      vgpu_format_size(vgpu__limit(d), lim, sizeof(lim)));
        }
    }
    if ((rc = vgpu__lease_attach()) != CUDA_SUCCESS)
        goto out;
    atomic_store_explicit(&P->attached, 1, memory_order_release);
out:
    pthread_mutex_unlock(&P->lock);
    return rc;
}

/* A process that exits normally leaves its tenant's account at once; one
 * that is killed is reaped by the next process of the tenant that looks. */
__attribute__((destructor)) static void leave_account(void)
{
    if (atomic_load(&P->attached) && P->acct && P->slot >= 0)
        vgpu_acct_leave(P->acct, P->slot);
}

void vgpu__forget_process(void)
{
    pthread_mutex_init(&P->lock, NULL);
    pthread_mutex_init(&P->pool_lock, NULL);
    atomic_store(&P->attached, 0);
    P->slot = -1;
    memset(P->primary_refs, 0, sizeof(P->primary_refs));
    memset(P->primary_charge, 0, sizeof(P->primary_charge));
    P->npools = 0;
    P->soft_warned = false;
    vgpu__managed_forget();
    vgpu__lease_forget();
    vgpu__track_clear();
}

CUresult vgpu__prologue(int *dev)
{
    CUresult rc;
    if (!atomic_load_explicit(&P->attached, memory_order_acquire) &&
        (rc = vgpu__attach()) != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuCtxGetDevice)(dev);
    if (rc == CUDA_SUCCESS && (*dev < 0 || *dev >= P->ndev))
        rc = CUDA_ERROR_INVALID_DEVICE;
    return rc;
}

uint64_t vgpu__limit(int dev)
{
    return atomic_load_explicit(&P->acct->dev[P->dslot[dev]].limit, memory_order_relaxed);
}

uint64_t vgpu__used(int dev)
{
    return atomic_load_explicit(&P->acct->dev[P->dslot[dev]].used, memory_order_relaxed);
}

CUresult vgpu__charge(int dev, uint64_t bytes)
{
    enum vgpu_acct_result r = vgpu_acct_reserve(P->acct, P->dslot[dev], P->slot, bytes);
    if (r == VGPU_ACCT_FULL) {
        /* Pools may hold less than they were charged for: look, then retry. */
        vgpu__pools_reconcile();
        r = vgpu_acct_reserve(P->acct, P->dslot[dev], P->slot, bytes);
    }
    if (r == VGPU_ACCT_FULL)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (r == VGPU_ACCT_SOFT && !P->soft_warned) {
        char soft[32];
        P->soft_warned = true;
        vgpu_warn("tenant %s is past its soft memory limit (%s) on device %d", P->tenant,
                  vgpu_format_size(vgpu_limit_for(&P->soft, dev), soft, sizeof(soft)), dev);
    }
    return CUDA_SUCCESS;
}

void vgpu__uncharge(int dev, uint64_t bytes)
{
    if (bytes)
        vgpu_acct_release(P->acct, P->dslot[dev], P->slot, bytes);
}

void vgpu__charge_anyway(int dev, uint64_t bytes)
{
    struct vgpu_acct_dev *d = &P->acct->dev[P->dslot[dev]];
    atomic_fetch_add(&d->used, bytes);
    atomic_fetch_add(&P->acct->proc[P->slot].used[P->dslot[dev]], bytes);
}

/* ---- NVML: what the device holds for this process -------------------------------- */

uint64_t vgpu__nvml_process_used(int dev)
{
    nvmlDevice_t h;
    nvmlProcessInfo_t info[128];
    unsigned n = 128;
    char name[64];

    if (!REAL(nvmlInit_v2) || !REAL(nvmlDeviceGetHandleByUUID) ||
        !REAL(nvmlDeviceGetComputeRunningProcesses_v3))
        return UINT64_MAX;
    if (!P->nvml_ready) {
        if (REAL(nvmlInit_v2)() != NVML_SUCCESS)
            return UINT64_MAX;
        P->nvml_ready = true;
    }
    snprintf(name, sizeof(name), "GPU-%s", P->uuid[dev]);
    if (REAL(nvmlDeviceGetHandleByUUID)(name, &h) != NVML_SUCCESS) {
        snprintf(name, sizeof(name), "MIG-%s", P->uuid[dev]);
        if (REAL(nvmlDeviceGetHandleByUUID)(name, &h) != NVML_SUCCESS)
            return UINT64_MAX;
    }
    if (REAL(nvmlDeviceGetComputeRunningProcesses_v3)(h, &n, info) != NVML_SUCCESS)
        return UINT64_MAX;
    for (unsigned i = 0; i < n; i++)
        if (info[i].pid == (unsigned)getpid() &&
            info[i].usedGpuMemory != (unsigned long long)NVML_VALUE_NOT_AVAILABLE)
            return info[i].usedGpuMemory;
    return UINT64_MAX;
}

/* Charges what a new context costs on `dev`: NVML's figure for this process
 * minus what we already count for it there. Returns the bytes charged, or
 * UINT64_MAX when they do not fit under the limit. */
static uint64_t charge_context(int dev)
{
    uint64_t held = vgpu__nvml_process_used(dev);
    uint64_t counted = atomic_load(&P->acct->proc[P->slot].used[P->dslot[dev]]);
    if (held == UINT64_MAX) {
        vgpu_info("NVML does not list this process on device %d: context memory not counted", dev);
        return 0;
    }
    if (held <= counted)
        return 0;
    return vgpu__charge(dev, held - counted) == CUDA_SUCCESS ? held - counted : UINT64_MAX;
}

CUresult cuInit(unsigned int flags)
{
    CUresult rc = vgpu__init();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuInit)(flags);
    if (rc != CUDA_SUCCESS)
        return rc;
    return vgpu__attach();
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuDevicePrimaryCtxRetain)(pctx, dev);
    if (rc != CUDA_SUCCESS || dev < 0 || dev >= P->ndev)
        return rc;
    pthread_mutex_lock(&P->lock);
    if (P->primary_refs[dev]++ == 0) {
        uint64_t c = charge_context(dev);
        if (c == UINT64_MAX) {
            P->primary_refs[dev] = 0;
            pthread_mutex_unlock(&P->lock);
            REAL(cuDevicePrimaryCtxRelease_v2)(dev);
            return CUDA_ERROR_OUT_OF_MEMORY;
        }
        P->primary_charge[dev] = c;
    }
    pthread_mutex_unlock(&P->lock);
    return rc;
}

static CUresult primary_drop(CUdevice dev, bool reset)
{
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = reset ? REAL(cuDevicePrimaryCtxReset_v2)(dev) : REAL(cuDevicePrimaryCtxRelease_v2)(dev);
    if (rc != CUDA_SUCCESS || dev < 0 || dev >= P->ndev)
        return rc;
    pthread_mutex_lock(&P->lock);
    if (P->primary_refs[dev] > 0 && (reset || --P->primary_refs[dev] == 0)) {
        P->primary_refs[dev] = 0;
        vgpu__uncharge(dev, P->primary_charge[dev]);
        P->primary_charge[dev] = 0;
    }
    pthread_mutex_unlock(&P->lock);
    return rc;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    return primary_drop(dev, false);
}

CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
    return primary_drop(dev, true);
}

/* After a context was created by the real call: charge it or give it back. */
static CUresult created(CUresult rc, CUcontext *pctx, CUdevice dev)
{
    if (rc != CUDA_SUCCESS || dev < 0 || dev >= P->ndev)
        return rc;
    pthread_mutex_lock(&P->lock);
    uint64_t c = charge_context(dev);
    pthread_mutex_unlock(&P->lock);
    if (c == UINT64_MAX) {
        REAL(cuCtxDestroy_v2)(*pctx);
        *pctx = NULL;
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    struct vgpu_track t = {.bytes = c, .dev = (int16_t)dev, .kind = TRACK_CTX};
    vgpu__track_put((uint64_t)(uintptr_t)*pctx, &t);
    return rc;
}

CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
    CUresult rc = vgpu__attach();
    return rc != CUDA_SUCCESS ? rc : created(REAL(cuCtxCreate_v2)(pctx, flags, dev), pctx, dev);
}

CUresult cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *params, int n, unsigned int flags,
                        CUdevice dev)
{
    CUresult rc = vgpu__attach();
    return rc != CUDA_SUCCESS
               ? rc
               : created(REAL(cuCtxCreate_v3)(pctx, params, n, flags, dev), pctx, dev);
}

CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *params, unsigned int flags,
                        CUdevice dev)
{
    CUresult rc = vgpu__attach();
    return rc != CUDA_SUCCESS ? rc
                              : created(REAL(cuCtxCreate_v4)(pctx, params, flags, dev), pctx, dev);
}

CUresult cuCtxDestroy_v2(CUcontext ctx)
{
    struct vgpu_track t;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuCtxDestroy_v2)(ctx);
    if (rc == CUDA_SUCCESS && vgpu__track_take((uint64_t)(uintptr_t)ctx, &t))
        vgpu__uncharge(t.dev, t.bytes);
    return rc;
}
