/* simgpu driver pools, arrays and pointer queries.
 *
 * Stream-ordered allocation (cuMemAllocAsync, cuMemAllocFromPoolAsync) draws
 * from a pool that reserves device memory in chunks of at least 32 MiB (as
 * measured on an H200) and keeps what is freed
 * until a synchronisation trims it down to the pool's release threshold
 * (default 0), or cuMemPoolTrimTo does. The device is charged for the pool's
 * reservation, not for each allocation: that is what NVML shows on a real GPU
 * and what a limiter counting allocations must reconcile with. */
#include "drv.h"

#include <stdlib.h>
#include <string.h>

#define POOL_CHUNK (32ULL << 20)

static struct sim_driver *D(void)
{
    return sim_drv();
}

static struct CUmemPoolHandle_st *pool_new(int gpu, bool is_default)
{
    struct CUmemPoolHandle_st *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->magic = MAGIC_POOL;
    p->gpu = gpu;
    p->is_default = is_default;
    pthread_mutex_lock(&D()->mu);
    p->next = D()->pools;
    D()->pools = p;
    pthread_mutex_unlock(&D()->mu);
    return p;
}

static CUresult pool_check(struct CUmemPoolHandle_st *p)
{
    return p && p->magic == MAGIC_POOL && !p->destroyed ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* Shrinks a pool's reservation to max(used, keep) in granules, keeping at
 * least one chunk while anything is allocated. mu held. */
static void pool_trim(struct CUmemPoolHandle_st *p, uint64_t keep)
{
    uint64_t g = D()->st->granule;
    uint64_t want = sim_round_up(p->used > keep ? p->used : keep, g);
    if (p->used > 0 && want < POOL_CHUNK)
        want = POOL_CHUNK;
    if (p->reserved > want) {
        sim_uncharge(p->gpu, p->reserved - want);
        p->reserved = want;
    }
}

void sim_pools_trim(int gpu)
{
    pthread_mutex_lock(&D()->mu);
    for (struct CUmemPoolHandle_st *p = D()->pools; p; p = p->next)
        if (p->gpu == gpu && p->reserved > p->threshold)
            pool_trim(p, p->threshold);
    pthread_mutex_unlock(&D()->mu);
}

SIM_API CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pool)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    struct CUmemPoolHandle_st *p = D()->default_pool[dev];
    pthread_mutex_unlock(&D()->mu);
    if (!p) {
        p = pool_new(D()->gpu_of[dev], true);
        if (!p)
            return CUDA_ERROR_OUT_OF_MEMORY;
        pthread_mutex_lock(&D()->mu);
        if (D()->default_pool[dev]) { /* another thread won; ours stays unused */
            p->destroyed = true;
            p = D()->default_pool[dev];
        } else {
            D()->default_pool[dev] = p;
        }
        pthread_mutex_unlock(&D()->mu);
    }
    *pool = p;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pool)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    *pool = D()->current_pool[dev];
    pthread_mutex_unlock(&D()->mu);
    return *pool ? CUDA_SUCCESS : cuDeviceGetDefaultMemPool(pool, dev);
}

SIM_API CUresult cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool)
{
    CUresult rc = sim_check_dev(dev);
    if (rc == CUDA_SUCCESS)
        rc = pool_check(pool);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (pool->gpu != D()->gpu_of[dev])
        return CUDA_ERROR_INVALID_DEVICE;
    pthread_mutex_lock(&D()->mu);
    D()->current_pool[dev] = pool;
    pthread_mutex_unlock(&D()->mu);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemPoolCreate(CUmemoryPool *pool, const CUmemPoolProps *props)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pool || !props || props->allocType != CU_MEM_ALLOCATION_TYPE_PINNED ||
        props->location.type != CU_MEM_LOCATION_TYPE_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    if (sim_check_dev(props->location.id) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_DEVICE;
    *pool = pool_new(D()->gpu_of[props->location.id], false);
    return *pool ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* A destroyed pool gives back what it does not lend out; allocations still
 * outstanding stay valid and return their bytes when freed. */
SIM_API CUresult cuMemPoolDestroy(CUmemoryPool pool)
{
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = pool_check(pool);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (pool->is_default)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    pool->destroyed = true;
    pool->threshold = 0;
    pool_trim(pool, 0);
    for (int i = 0; i < D()->ndev; i++)
        if (D()->current_pool[i] == pool)
            D()->current_pool[i] = NULL;
    pthread_mutex_unlock(&D()->mu);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t keep)
{
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = pool_check(pool);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    pool_trim(pool, keep);
    pthread_mutex_unlock(&D()->mu);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = pool_check(pool);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    switch (attr) {
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: pool->threshold = *(cuuint64_t *)value; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
        if (*(cuuint64_t *)value != 0)
            rc = CUDA_ERROR_INVALID_VALUE;
        else if (attr == CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH)
            pool->reserved_high = pool->reserved;
        else
            pool->used_high = pool->used;
        break;
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES: break;
    default: rc = CUDA_ERROR_INVALID_VALUE;
    }
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

SIM_API CUresult cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = pool_check(pool);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    switch (attr) {
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: *(cuuint64_t *)value = pool->threshold; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT: *(cuuint64_t *)value = pool->reserved; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH: *(cuuint64_t *)value = pool->reserved_high; break;
    case CU_MEMPOOL_ATTR_USED_MEM_CURRENT: *(cuuint64_t *)value = pool->used; break;
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH: *(cuuint64_t *)value = pool->used_high; break;
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES: *(int *)value = 1; break;
    default: rc = CUDA_ERROR_INVALID_VALUE;
    }
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

static CUresult pool_alloc(CUdeviceptr *dptr, size_t bytes, struct CUmemPoolHandle_st *pool,
                           CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc == CUDA_SUCCESS)
        rc = pool_check(pool);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    uint64_t need = sim_round_up(bytes, 512), grow = 0;
    pthread_mutex_lock(&D()->mu);
    if (pool->used + need > pool->reserved) {
        /* Pools grow by at least a 32 MiB chunk, as the real driver's do
         * (measured: a 1 MiB cuMemAllocAsync costs 32 MiB on an H200). */
        grow = sim_round_up(pool->used + need - pool->reserved, D()->st->granule);
        if (grow < POOL_CHUNK)
            grow = POOL_CHUNK;
        rc = sim_charge(pool->gpu, grow);
    }
    if (rc == CUDA_SUCCESS) {
        pool->reserved += grow;
        pool->used += need;
        if (pool->reserved > pool->reserved_high)
            pool->reserved_high = pool->reserved;
        if (pool->used > pool->used_high)
            pool->used_high = pool->used;
    }
    pthread_mutex_unlock(&D()->mu);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = sim_alloc_region(pool->gpu, need, REGION_POOL, pool, 0, dptr);
    if (rc != CUDA_SUCCESS) {
        pthread_mutex_lock(&D()->mu);
        pool->used -= need;
        pthread_mutex_unlock(&D()->mu);
    }
    return rc;
}

SIM_API CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytes, CUstream hs)
{
    struct CUstream_st *s;
    CUmemoryPool pool;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc == CUDA_SUCCESS)
        rc = cuDeviceGetMemPool(&pool, s->ctx->dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    return pool_alloc(dptr, bytes, pool, hs);
}
SIM_TWIN(cuMemAllocAsync, cuMemAllocAsync_ptsz);

SIM_API CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytes, CUmemoryPool pool,
                                         CUstream hs)
{
    return pool_alloc(dptr, bytes, pool, hs);
}
SIM_TWIN(cuMemAllocFromPoolAsync, cuMemAllocFromPoolAsync_ptsz);

SIM_API CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hs)
{
    struct CUstream_st *s;
    struct sim_region r;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = sim_free_region((uintptr_t)dptr, 1u << REGION_POOL, &r);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    r.pool->used -= r.size;
    if (r.pool->destroyed)
        pool_trim(r.pool, 0);
    pthread_mutex_unlock(&D()->mu);
    return CUDA_SUCCESS;
}
SIM_TWIN(cuMemFreeAsync, cuMemFreeAsync_ptsz);

/* ---- arrays ------------------------------------------------------------------- */

static size_t format_bytes(CUarray_format f)
{
    switch (f) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8: return 1;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF: return 2;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT: return 4;
    default: return 0;
    }
}

static CUresult array_create(CUarray *out, const CUDA_ARRAY3D_DESCRIPTOR *desc)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    size_t fb = format_bytes(desc->Format);
    unsigned ch = desc->NumChannels;
    if (!out || fb == 0 || (ch != 1 && ch != 2 && ch != 4) || desc->Width == 0)
        return CUDA_ERROR_INVALID_VALUE;
    size_t h = desc->Height ? desc->Height : 1, d = desc->Depth ? desc->Depth : 1;
    if (desc->Width > SIZE_MAX / h / d / fb / ch)
        return CUDA_ERROR_OUT_OF_MEMORY;
    size_t bytes = desc->Width * h * d * fb * ch;
    struct CUarray_st *a = calloc(1, sizeof(*a));
    if (!a)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUdeviceptr p;
    uint64_t charged = sim_round_up(bytes, D()->st->granule);
    rc = sim_alloc_region(ctx->gpu, bytes, REGION_DEVICE, NULL, charged, &p);
    if (rc != CUDA_SUCCESS) {
        free(a);
        return rc;
    }
    *a = (struct CUarray_st){.magic = MAGIC_ARRAY,
                             .gpu = ctx->gpu,
                             .desc = *desc,
                             .charged = charged,
                             .data = (void *)(uintptr_t)p,
                             .bytes = bytes};
    *out = a;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuArrayCreate_v2(CUarray *out, const CUDA_ARRAY_DESCRIPTOR *d2)
{
    if (!d2)
        return CUDA_ERROR_INVALID_VALUE;
    CUDA_ARRAY3D_DESCRIPTOR d3 = {.Width = d2->Width,
                                  .Height = d2->Height,
                                  .Depth = 0,
                                  .Format = d2->Format,
                                  .NumChannels = d2->NumChannels};
    return array_create(out, &d3);
}

SIM_API CUresult cuArray3DCreate_v2(CUarray *out, const CUDA_ARRAY3D_DESCRIPTOR *desc)
{
    return desc ? array_create(out, desc) : CUDA_ERROR_INVALID_VALUE;
}

SIM_API CUresult cuArrayDestroy(CUarray a)
{
    struct sim_region r;
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!a || a->magic != MAGIC_ARRAY)
        return CUDA_ERROR_INVALID_HANDLE;
    rc = sim_free_region((uintptr_t)a->data, 1u << REGION_DEVICE, &r);
    if (rc == CUDA_SUCCESS)
        sim_uncharge(r.gpu, r.charged);
    a->magic = MAGIC_DEAD;
    free(a);
    return rc;
}

SIM_API CUresult cuArrayGetDescriptor_v2(CUDA_ARRAY_DESCRIPTOR *d, CUarray a)
{
    if (!a || a->magic != MAGIC_ARRAY)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!d)
        return CUDA_ERROR_INVALID_VALUE;
    *d = (CUDA_ARRAY_DESCRIPTOR){.Width = a->desc.Width,
                                 .Height = a->desc.Height,
                                 .Format = a->desc.Format,
                                 .NumChannels = a->desc.NumChannels};
    return CUDA_SUCCESS;
}

SIM_API CUresult cuArray3DGetDescriptor_v2(CUDA_ARRAY3D_DESCRIPTOR *d, CUarray a)
{
    if (!a || a->magic != MAGIC_ARRAY)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!d)
        return CUDA_ERROR_INVALID_VALUE;
    *d = a->desc;
    return CUDA_SUCCESS;
}

/* ---- pointer attributes ----------------------------------------------------------- */

SIM_API CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attr, CUdeviceptr ptr)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!data)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    struct sim_region *r = sim_region_find((uintptr_t)ptr);
    struct sim_region copy = r ? *r : (struct sim_region){0};
    bool mapped = !r && sim_range_valid((uintptr_t)ptr, 1);
    pthread_mutex_unlock(&D()->mu);
    if (!r && !mapped)
        return CUDA_ERROR_INVALID_VALUE;
    bool host = copy.kind == REGION_HOST;
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned *)data = host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER: *(CUdeviceptr *)data = ptr; break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        if (!host && copy.kind != REGION_MANAGED)
            return CUDA_ERROR_INVALID_VALUE;
        *(void **)data = (void *)(uintptr_t)ptr;
        break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED: *(int *)data = copy.kind == REGION_MANAGED; break;
    case CU_POINTER_ATTRIBUTE_MAPPED: *(int *)data = 1; break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        *(int *)data = host || mapped ? 0 : sim_dev_of_gpu(copy.gpu);
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: {
        CUdeviceptr base;
        size_t size;
        rc = cuMemGetAddressRange_v2(&base, &size, ptr);
        if (rc != CUDA_SUCCESS)
            return rc;
        if (attr == CU_POINTER_ATTRIBUTE_RANGE_SIZE)
            *(size_t *)data = size;
        else
            *(CUdeviceptr *)data = base;
        break;
    }
    case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE: *(CUmemoryPool *)data = copy.pool; break;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID: *(unsigned long long *)data = copy.base; break;
    default: return CUDA_ERROR_NOT_SUPPORTED;
    }
    return CUDA_SUCCESS;
}

SIM_API CUresult cuPointerGetAttributes(unsigned int n, CUpointer_attribute *attrs, void **data,
                                        CUdeviceptr ptr)
{
    if (!attrs || !data)
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < n; i++) {
        CUresult rc = cuPointerGetAttribute(data[i], attrs[i], ptr);
        if (rc == CUDA_ERROR_INVALID_VALUE && attrs[i] == CU_POINTER_ATTRIBUTE_MEMORY_TYPE)
            *(unsigned *)data[i] = 0; /* unregistered host memory: type 0, as the driver says */
        else if (rc != CUDA_SUCCESS)
            return rc;
    }
    return CUDA_SUCCESS;
}
