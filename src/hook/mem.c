/* mem: device allocations against the tenant's limit, and the virtual GPU
 * that memory queries show.
 *
 * Every path follows one order: reserve in the account first (so racing
 * processes cannot together pass the limit), call the driver second, give
 * the reservation back if the driver fails. Charges are what the device
 * really spends: allocations in 2 MiB pages; stream-ordered pools by what
 * they reserve, which grows in chunks of at least 32 MiB and shrinks when a
 * synchronisation or a trim releases memory. A pool is reconciled (its real
 * reservation read back) at each of its allocations, at cuMemGetInfo and
 * before any allocation is refused, so memory a pool gave back is never
 * what stops the tenant.
 *
 * cuMemGetInfo and cuDeviceTotalMem report the limit as the device's size
 * and the tenant's use against it, so frameworks size themselves to the
 * virtual GPU. */
#include "internal.h"

#include "common.h"

#include <string.h>

#define P (&vgpu__proc)

static uint64_t pool_reserved(CUmemoryPool pool)
{
    cuuint64_t v = 0;
    if (REAL(cuMemPoolGetAttribute)(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT, &v) != CUDA_SUCCESS)
        return UINT64_MAX;
    return v;
}

/* pool_lock held */
static struct vgpu_pool *pool_entry(CUmemoryPool pool, int dev)
{
    for (int i = 0; i < P->npools; i++)
        if (P->pools[i].pool == pool)
            return &P->pools[i];
    if (P->npools == VGPU_MAX_POOLS)
        return NULL;
    struct vgpu_pool *e = &P->pools[P->npools++];
    *e = (struct vgpu_pool){.pool = pool, .dev = dev};
    return e;
}

/* pool_lock held: the account follows what the pool really reserves. */
static void pool_sync(struct vgpu_pool *e)
{
    uint64_t now = pool_reserved(e->pool);
    if (now == UINT64_MAX || now == e->charged)
        return;
    if (now < e->charged)
        vgpu__uncharge(e->dev, e->charged - now);
    else
        vgpu__charge_anyway(e->dev, now - e->charged);
    e->charged = now;
}

void vgpu__pools_reconcile(void)
{
    /* Called from vgpu__charge, which stream-ordered allocation reaches with
     * pool_lock held: trylock, and if busy the caller is already in here. */
    if (pthread_mutex_trylock(&P->pool_lock) != 0)
        return;
    for (int i = 0; i < P->npools; i++)
        pool_sync(&P->pools[i]);
    pthread_mutex_unlock(&P->pool_lock);
}

static CUresult device_alloc(CUdeviceptr *dptr, uint64_t charge, int dev,
                             CUresult (*call)(CUdeviceptr *, void *), void *arg)
{
    CUresult rc = vgpu__charge(dev, charge);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = call(dptr, arg);
    if (rc != CUDA_SUCCESS) {
        vgpu__uncharge(dev, charge);
        return rc;
    }
    struct vgpu_track t = {.bytes = charge, .dev = (int16_t)dev, .kind = TRACK_ALLOC};
    vgpu__track_put(*dptr, &t);
    return rc;
}

static CUresult call_alloc(CUdeviceptr *p, void *arg)
{
    return REAL(cuMemAlloc_v2)(p, *(size_t *)arg);
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytes)
{
    int dev;
    CUresult rc = vgpu__prologue(&dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytes == 0)
        return REAL(cuMemAlloc_v2)(dptr, bytes); /* the driver's own error */
    return device_alloc(dptr, vgpu__round(bytes, VGPU_GRANULE), dev, call_alloc, &bytes);
}

struct managed_args {
    size_t bytes;
    unsigned flags;
};

static CUresult call_managed(CUdeviceptr *p, void *arg)
{
    struct managed_args *a = arg;
    return REAL(cuMemAllocManaged)(p, a->bytes, a->flags);
}

CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytes, unsigned int flags)
{
    int dev;
    struct managed_args a = {bytes, flags};
    CUresult rc = vgpu__prologue(&dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytes == 0)
        return REAL(cuMemAllocManaged)(dptr, bytes, flags);
    return device_alloc(dptr, vgpu__round(bytes, VGPU_GRANULE), dev, call_managed, &a);
}

/* The pitch is the driver's choice: reserve for the widest it picks (rows
 * rounded to 512 bytes), then settle on what it returned. */
CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width, size_t height,
                            unsigned int elem)
{
    int dev;
    CUresult rc = vgpu__prologue(&dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || !pitch || width == 0 || height == 0 || height > UINT64_MAX / (width + 512))
        return REAL(cuMemAllocPitch_v2)(dptr, pitch, width, height, elem);
    uint64_t guess = vgpu__round(vgpu__round(width, 512) * height, VGPU_GRANULE);
    rc = vgpu__charge(dev, guess);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemAllocPitch_v2)(dptr, pitch, width, height, elem);
    if (rc != CUDA_SUCCESS) {
        vgpu__uncharge(dev, guess);
        return rc;
    }
    uint64_t real = vgpu__round((uint64_t)*pitch * height, VGPU_GRANULE);
    if (real < guess) {
        vgpu__uncharge(dev, guess - real);
    } else if (real > guess && vgpu__charge(dev, real - guess) != CUDA_SUCCESS) {
        REAL(cuMemFree_v2)(*dptr);
        vgpu__uncharge(dev, guess);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    struct vgpu_track t = {.bytes = real, .dev = (int16_t)dev, .kind = TRACK_ALLOC};
    vgpu__track_put(*dptr, &t);
    return rc;
}

CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    struct vgpu_track t;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    bool known = dptr && vgpu__track_take(dptr, &t);
    rc = REAL(cuMemFree_v2)(dptr);
    if (known) {
        if (rc == CUDA_SUCCESS)
            vgpu__uncharge(t.dev, t.bytes);
        else
            vgpu__track_put(dptr, &t);
    }
    return rc;
}

/* ---- stream-ordered allocation -------------------------------------------------------- */

static CUresult async_alloc(enum vgpu_fn_id id, CUdeviceptr *dptr, size_t bytes, CUmemoryPool pool,
                            CUstream stream)
{
    int dev;
    CUresult rc = vgpu__prologue(&dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    __typeof__(&cuMemAllocAsync) alloc_cur = NULL;
    __typeof__(&cuMemAllocFromPoolAsync) alloc_pool = NULL;
    if (id == VGPU_ID_cuMemAllocAsync || id == VGPU_ID_cuMemAllocAsync_ptsz)
        alloc_cur = (__typeof__(&cuMemAllocAsync))atomic_load_explicit(&vgpu__real[id],
                                                                       memory_order_relaxed);
    else
        alloc_pool = (__typeof__(&cuMemAllocFromPoolAsync))atomic_load_explicit(
            &vgpu__real[id], memory_order_relaxed);
    if (!dptr || bytes == 0)
        return alloc_cur ? alloc_cur(dptr, bytes, stream) : alloc_pool(dptr, bytes, pool, stream);
    if (!pool && (rc = REAL(cuDeviceGetMemPool)(&pool, dev)) != CUDA_SUCCESS)
        return rc;

    pthread_mutex_lock(&P->pool_lock);
    struct vgpu_pool *e = pool_entry(pool, dev);
    if (!e) {
        pthread_mutex_unlock(&P->pool_lock);
        vgpu_error("more than %d memory pools: refusing to allocate uncounted", VGPU_MAX_POOLS);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    dev = e->dev;
    pool_sync(e);
    uint64_t need = vgpu__round(bytes, 512), worst = 0;
    if (e->used + need > e->charged) {
        worst = vgpu__round(e->used + need - e->charged, VGPU_GRANULE);
        if (worst < VGPU_POOL_CHUNK)
            worst = VGPU_POOL_CHUNK;
    }
    if (worst && (rc = vgpu__charge(dev, worst)) != CUDA_SUCCESS)
        goto out;
    rc = alloc_cur ? alloc_cur(dptr, bytes, stream) : alloc_pool(dptr, bytes, pool, stream);
    /* Settle the reservation on what the pool really holds now. */
    uint64_t now = pool_reserved(pool);
    uint64_t grew = now != UINT64_MAX && now > e->charged ? now - e->charged : 0;
    if (rc != CUDA_SUCCESS || grew <= worst) {
        vgpu__uncharge(dev, worst - (rc == CUDA_SUCCESS ? grew : 0));
        if (rc == CUDA_SUCCESS)
            e->charged += grew;
    } else {
        vgpu__charge_anyway(dev, grew - worst);
        e->charged += grew;
        vgpu_warn("a memory pool grew by %llu bytes for %zu: counted past the reservation",
                  (unsigned long long)grew, bytes);
    }
    if (rc == CUDA_SUCCESS) {
        e->used += need;
        struct vgpu_track t = {.bytes = need,
                               .dev = (int16_t)dev,
                               .kind = TRACK_ASYNC,
                               .aux = (uint64_t)(uintptr_t)pool};
        vgpu__track_put(*dptr, &t);
    }
out:
    pthread_mutex_unlock(&P->pool_lock);
    return rc;
}

CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytes, CUstream s)
{
    return async_alloc(VGPU_ID_cuMemAllocAsync, dptr, bytes, NULL, s);
}

CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytes, CUstream s)
{
    return async_alloc(VGPU_ID_cuMemAllocAsync_ptsz, dptr, bytes, NULL, s);
}

CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytes, CUmemoryPool pool, CUstream s)
{
    return pool ? async_alloc(VGPU_ID_cuMemAllocFromPoolAsync, dptr, bytes, pool, s)
                : REAL(cuMemAllocFromPoolAsync)(dptr, bytes, pool, s);
}

CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t bytes, CUmemoryPool pool,
                                      CUstream s)
{
    return pool ? async_alloc(VGPU_ID_cuMemAllocFromPoolAsync_ptsz, dptr, bytes, pool, s)
                : REAL(cuMemAllocFromPoolAsync_ptsz)(dptr, bytes, pool, s);
}

/* A freed block stays in its pool (still charged) until the pool releases it. */
static CUresult async_free(enum vgpu_fn_id id, CUdeviceptr dptr, CUstream s)
{
    struct vgpu_track t;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    __typeof__(&cuMemFreeAsync) real =
        (__typeof__(&cuMemFreeAsync))atomic_load_explicit(&vgpu__real[id], memory_order_relaxed);
    pthread_mutex_lock(&P->pool_lock);
    bool known = vgpu__track_take(dptr, &t);
    rc = real(dptr, s);
    if (known && rc != CUDA_SUCCESS) {
        vgpu__track_put(dptr, &t);
    } else if (known && t.kind == TRACK_ASYNC) {
        for (int i = 0; i < P->npools; i++)
            if ((uint64_t)(uintptr_t)P->pools[i].pool == t.aux)
                P->pools[i].used -= t.bytes < P->pools[i].used ? t.bytes : P->pools[i].used;
    } else if (known) {
        vgpu__uncharge(t.dev, t.bytes); /* the driver also frees cuMemAlloc memory here */
    }
    pthread_mutex_unlock(&P->pool_lock);
    return rc;
}

CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream s)
{
    return async_free(VGPU_ID_cuMemFreeAsync, dptr, s);
}

CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream s)
{
    return async_free(VGPU_ID_cuMemFreeAsync_ptsz, dptr, s);
}

CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t keep)
{
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemPoolTrimTo)(pool, keep);
    vgpu__pools_reconcile();
    return rc;
}

CUresult cuMemPoolDestroy(CUmemoryPool pool)
{
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&P->pool_lock);
    rc = REAL(cuMemPoolDestroy)(pool);
    for (int i = 0; rc == CUDA_SUCCESS && i < P->npools; i++) {
        if (P->pools[i].pool == pool) {
            vgpu__uncharge(P->pools[i].dev, P->pools[i].charged);
            P->pools[i] = P->pools[--P->npools];
            break;
        }
    }
    pthread_mutex_unlock(&P->pool_lock);
    return rc;
}

/* ---- the virtual GPU as memory queries show it -------------------------------------------- */

CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total)
{
    int dev;
    CUresult rc = vgpu__prologue(&dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemGetInfo_v2)(free_bytes, total);
    uint64_t limit = vgpu__limit(dev);
    if (rc != CUDA_SUCCESS || !limit)
        return rc;
    vgpu__pools_reconcile();
    vgpu_acct_reap(P->acct); /* what exited processes held is free again */
    uint64_t used = vgpu__used(dev);
    uint64_t left = used < limit ? limit - used : 0;
    if (left < *free_bytes)
        *free_bytes = left;
    if (limit < *total)
        *total = limit;
    return rc;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuDeviceTotalMem_v2)(bytes, dev);
    if (rc == CUDA_SUCCESS && dev >= 0 && dev < P->ndev && vgpu__limit(dev) &&
        vgpu__limit(dev) < *bytes)
        *bytes = vgpu__limit(dev);
    return rc;
}
