/* libvgpu.so memory limits, one process: what a CUDA program under the
 * preload sees on a simulated 16 GiB H100 with VGPU_MEMORY_LIMIT=2GiB.
 *
 * The program is linked with the (simulated) libcuda like any -lcuda
 * program, so its calls reach libvgpu.so through the exported symbols; the
 * dlsym and cuGetProcAddress doors are checked explicitly. Every allocation
 * path must stop at the limit with CUDA_ERROR_OUT_OF_MEMORY and give memory
 * back when freed; memory queries (CUDA and NVML) show the 2 GiB GPU. */
#include <cuda.h>

#include "nvml_types.h"

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cmocka.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define LIMIT (2 * GiB)
#define CTX (300 * MiB) /* simgpu's context cost, charged to the tenant */

static CUcontext ctx;

static char account[128];

static int setup(void **state)
{
    const char *path = getenv("SIMGPU_STATE"), *tenant = getenv("VGPU_TENANT");
    if (path)
        remove(path);
    /* A fresh account: nothing left from an earlier run. */
    snprintf(account, sizeof(account), "/vgpu.%s", tenant ? tenant : "");
    shm_unlink(account);
    if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(&ctx, 0) != CUDA_SUCCESS)
        return -1;
    return cuCtxSetCurrent(ctx) == CUDA_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    int rc = cuDevicePrimaryCtxRelease(0) == CUDA_SUCCESS ? 0 : -1;
    shm_unlink(account);
    return rc;
}

static uint64_t used(void)
{
    size_t f, t;
    assert_int_equal(cuMemGetInfo(&f, &t), CUDA_SUCCESS);
    assert_int_equal(t, LIMIT);
    return t - f;
}

static void test_virtual_gpu(void **state)
{
    size_t total;
    assert_int_equal(cuDeviceTotalMem(&total, 0), CUDA_SUCCESS);
    assert_int_equal(total, LIMIT);
    assert_int_equal(used(), CTX); /* the context's own memory counts */

    void *nv = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    assert_non_null(nv);
    nvmlInit_v2_fn init = (nvmlInit_v2_fn)dlsym(nv, "nvmlInit_v2");
    nvmlDeviceGetHandleByIndex_v2_fn by_index =
        (nvmlDeviceGetHandleByIndex_v2_fn)dlsym(nv, "nvmlDeviceGetHandleByIndex_v2");
    nvmlDeviceGetMemoryInfo_fn meminfo =
        (nvmlDeviceGetMemoryInfo_fn)dlsym(nv, "nvmlDeviceGetMemoryInfo");
    nvmlDeviceGetMemoryInfo_v2_fn meminfo2 =
        (nvmlDeviceGetMemoryInfo_v2_fn)dlsym(nv, "nvmlDeviceGetMemoryInfo_v2");
    nvmlDevice_t dev;
    nvmlMemory_t m;
    nvmlMemory_v2_t m2 = {.version = nvmlMemory_v2};
    assert_int_equal(init(), NVML_SUCCESS);
    assert_int_equal(by_index(0, &dev), NVML_SUCCESS);
    assert_int_equal(meminfo(dev, &m), NVML_SUCCESS);
    assert_int_equal(m.total, LIMIT);
    assert_int_equal(m.used, CTX);
    assert_int_equal(m.free, LIMIT - CTX);
    assert_int_equal(meminfo2(dev, &m2), NVML_SUCCESS);
    assert_int_equal(m2.total, LIMIT);
    assert_int_equal(m2.used, CTX);
}

/* Allocates 256 MiB blocks with `alloc` until refused; frees them with
 * `release`. The limit must stop it at exactly what fits. */
static void fill_and_free(CUresult (*alloc)(CUdeviceptr *), CUresult (*release)(CUdeviceptr),
                          uint64_t cost)
{
    CUdeviceptr p[64];
    int n = 0;
    uint64_t base = used();
    CUresult rc;
    while ((rc = alloc(&p[n])) == CUDA_SUCCESS && n < 63)
        n++;
    assert_int_equal(rc, CUDA_ERROR_OUT_OF_MEMORY);
    assert_true(used() <= LIMIT);
    assert_true(LIMIT - used() < cost); /* nothing that fitted was refused */
    assert_int_equal(used(), base + (uint64_t)n * cost);
    for (int i = 0; i < n; i++)
        assert_int_equal(release(p[i]), CUDA_SUCCESS);
    assert_int_equal(used(), base);
}

static CUresult alloc_plain(CUdeviceptr *p)
{
    return cuMemAlloc(p, 256 * MiB - 5); /* rounded up to whole 2 MiB pages */
}

static CUresult alloc_managed(CUdeviceptr *p)
{
    return cuMemAllocManaged(p, 256 * MiB, CU_MEM_ATTACH_GLOBAL);
}

static CUresult alloc_pitch(CUdeviceptr *p)
{
    size_t pitch;
    return cuMemAllocPitch(p, &pitch, 4000, 64 * 1024, 4); /* 4096 x 64Ki = 256 MiB */
}

static void test_allocation_paths_stop_at_the_limit(void **state)
{
    fill_and_free(alloc_plain, cuMemFree, 256 * MiB);
    fill_and_free(alloc_managed, cuMemFree, 256 * MiB);
    fill_and_free(alloc_pitch, cuMemFree, 256 * MiB);
}

static CUstream stream;
static CUmemoryPool pool;

static CUresult alloc_async(CUdeviceptr *p)
{
    return cuMemAllocAsync(p, 256 * MiB, stream);
}

static CUresult alloc_from_pool(CUdeviceptr *p)
{
    return cuMemAllocFromPoolAsync(p, 256 * MiB, pool, stream);
}

static CUresult free_async(CUdeviceptr p)
{
    CUresult rc = cuMemFreeAsync(p, stream);
    return rc == CUDA_SUCCESS ? cuStreamSynchronize(stream) : rc; /* the pool gives it back */
}

static void test_stream_ordered_pools(void **state)
{
    CUmemPoolProps props = {.allocType = CU_MEM_ALLOCATION_TYPE_PINNED,
                            .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}};
    CUdeviceptr p;
    uint64_t base = used();

    assert_int_equal(cuStreamCreate(&stream, 0), CUDA_SUCCESS);
    /* A small block costs the pool's 32 MiB chunk, as on the real driver. */
    assert_int_equal(cuMemAllocAsync(&p, MiB, stream), CUDA_SUCCESS);
    assert_int_equal(used(), base + 32 * MiB);
    assert_int_equal(free_async(p), CUDA_SUCCESS);
    assert_int_equal(used(), base);

    fill_and_free(alloc_async, free_async, 256 * MiB);
    assert_int_equal(cuMemPoolCreate(&pool, &props), CUDA_SUCCESS);
    fill_and_free(alloc_from_pool, free_async, 256 * MiB);

    /* A pool that keeps freed memory (release threshold) stays charged until
     * trimmed: the account follows what the device really holds. */
    cuuint64_t keep = 512 * MiB;
    assert_int_equal(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep),
                     CUDA_SUCCESS);
    assert_int_equal(alloc_from_pool(&p), CUDA_SUCCESS);
    assert_int_equal(free_async(p), CUDA_SUCCESS);
    assert_int_equal(used(), base + 256 * MiB);
    assert_int_equal(cuMemPoolTrimTo(pool, 0), CUDA_SUCCESS);
    assert_int_equal(used(), base);
    assert_int_equal(cuMemPoolDestroy(pool), CUDA_SUCCESS);
    assert_int_equal(cuStreamDestroy(stream), CUDA_SUCCESS);
}

static void test_vmm_counts_physical_memory_once(void **state)
{
    CUmemAllocationProp prop = {.type = CU_MEM_ALLOCATION_TYPE_PINNED,
                                .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}};
    CUmemGenericAllocationHandle h[8];
    CUdeviceptr va;
    uint64_t base = used();
    int n = 0;
    CUresult rc;

    while ((rc = cuMemCreate(&h[n], 512 * MiB, &prop, 0)) == CUDA_SUCCESS && n < 7)
        n++;
    assert_int_equal(rc, CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(n, 3); /* 2 GiB - 300 MiB holds three 512 MiB handles */
    assert_int_equal(used(), base + 3 * 512 * MiB);
    /* Map one handle twice, then release it: mapped memory stays counted. */
    assert_int_equal(cuMemAddressReserve(&va, GiB, 0, 0, 0), CUDA_SUCCESS);
    assert_int_equal(cuMemMap(va, 512 * MiB, 0, h[0], 0), CUDA_SUCCESS);
    assert_int_equal(cuMemMap(va + 512 * MiB, 512 * MiB, 0, h[0], 0), CUDA_SUCCESS);
    assert_int_equal(used(), base + 3 * 512 * MiB);
    for (int i = 0; i < n; i++)
        assert_int_equal(cuMemRelease(h[i]), CUDA_SUCCESS);
    assert_int_equal(used(), base + 512 * MiB);
    assert_int_equal(cuMemUnmap(va, GiB), CUDA_SUCCESS);
    assert_int_equal(used(), base);
    assert_int_equal(cuMemAddressFree(va, GiB), CUDA_SUCCESS);
}

static void test_arrays(void **state)
{
    CUarray a;
    CUDA_ARRAY3D_DESCRIPTOR d = {.Width = 8192,
                                 .Height = 8192,
                                 .Depth = 0,
                                 .Format = CU_AD_FORMAT_FLOAT,
                                 .NumChannels = 4}; /* 1 GiB */
    uint64_t base = used();
    assert_int_equal(cuArray3DCreate(&a, &d), CUDA_SUCCESS);
    assert_int_equal(used(), base + GiB);
    CUarray b;
    assert_int_equal(cuArray3DCreate(&b, &d), CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(cuArrayDestroy(a), CUDA_SUCCESS);
    assert_int_equal(used(), base);
}

/* Libraries that dlopen the driver and dlsym it, and libcudart, which asks
 * cuGetProcAddress for everything, get the same limited entry points. */
static void test_every_door_is_guarded(void **state)
{
    typedef CUresult (*alloc_fn)(CUdeviceptr *, size_t);
    typedef CUresult (*getproc_fn)(const char *, void **, int, cuuint64_t,
                                   CUdriverProcAddressQueryResult *);
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    assert_non_null(lib);
    alloc_fn via_dlsym = (alloc_fn)dlsym(lib, "cuMemAlloc_v2");
    getproc_fn getproc = (getproc_fn)dlsym(lib, "cuGetProcAddress_v2");
    alloc_fn via_getproc = NULL;
    CUdriverProcAddressQueryResult st;
    assert_int_equal(getproc("cuMemAlloc", (void **)&via_getproc, 13000, 0, &st), CUDA_SUCCESS);
    void *self = NULL;
    assert_int_equal(getproc("cuGetProcAddress", &self, 13000, 0, &st), CUDA_SUCCESS);
    assert_ptr_equal(self, (void *)getproc); /* libcudart's bootstrap stays on our side */
    CUdeviceptr p;
    assert_int_equal(via_dlsym(&p, 4 * GiB), CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(via_getproc(&p, 4 * GiB), CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(via_getproc(&p, 64 * MiB), CUDA_SUCCESS);
    assert_int_equal(cuMemFree(p), CUDA_SUCCESS);
    /* Per-thread twins are guarded too. */
    typedef CUresult (*async_fn)(CUdeviceptr *, size_t, CUstream);
    async_fn ptsz = NULL;
    assert_int_equal(getproc("cuMemAllocAsync", (void **)&ptsz, 13000,
                             CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st),
                     CUDA_SUCCESS);
    assert_ptr_equal((void *)ptsz, dlsym(lib, "cuMemAllocAsync_ptsz"));
    assert_int_equal(ptsz(&p, 4 * GiB, NULL), CUDA_ERROR_OUT_OF_MEMORY);
    dlclose(lib);
}

struct churn {
    CUcontext ctx;
    int refused;
};

static void *churn_thread(void *p)
{
    struct churn *c = p;
    CUdeviceptr ptr;
    cuCtxSetCurrent(c->ctx);
    for (int i = 0; i < 500; i++) {
        CUresult rc = cuMemAlloc(&ptr, 64 * MiB);
        if (rc == CUDA_SUCCESS)
            cuMemFree(ptr);
        else
            c->refused += rc == CUDA_ERROR_OUT_OF_MEMORY;
    }
    return NULL;
}

/* Threads of one process allocating and freeing at once keep the books exact. */
static void test_threads_keep_the_account_exact(void **state)
{
    enum { T = 8 };
    pthread_t t[T];
    struct churn c[T];
    uint64_t base = used();
    for (int i = 0; i < T; i++) {
        c[i] = (struct churn){.ctx = ctx};
        assert_int_equal(pthread_create(&t[i], NULL, churn_thread, &c[i]), 0);
    }
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < T; i++)
        assert_int_equal(c[i].refused, 0); /* 8 x 64 MiB always fits under 2 GiB */
    assert_int_equal(used(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtual_gpu),
        cmocka_unit_test(test_allocation_paths_stop_at_the_limit),
        cmocka_unit_test(test_stream_ordered_pools),
        cmocka_unit_test(test_vmm_counts_physical_memory_once),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_every_door_is_guarded),
        cmocka_unit_test(test_threads_keep_the_account_exact),
    };
    return cmocka_run_group_tests_name("hook.mem", tests, setup, teardown);
}
