/* The driver contract: what vgpu relies on from libcuda.so.1, checked the
 * same way on simgpu (in CI) and on the real driver (scripts/gpu-validate.sh).
 *
 * simgpu claims to behave like the driver; this program is where that claim
 * is tested against the real thing. It loads libcuda.so.1 with dlopen and
 * reaches everything through cuGetProcAddress, as libcudart does. It asserts
 * only what must hold on both, and prints (as "# measure:" lines) the figures
 * a memory limiter must reconcile with: what each allocation path costs on
 * the device as cuMemGetInfo sees it. The kernel is PTX that spins on
 * %globaltimer, so on simgpu (which runs vgpu_sim_busy for its argument) and
 * on a GPU it takes the same time. */
#include <cuda.h>

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#define MiB (1ULL << 20)

static const char busy_ptx[] =
    ".version 8.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry vgpu_sim_busy(.param .u64 us)\n{\n"
    "  .reg .u64 %rd<6>;\n  .reg .pred %p;\n"
    "  ld.param.u64 %rd1, [us];\n  mul.lo.u64 %rd2, %rd1, 1000;\n"
    "  mov.u64 %rd3, %globaltimer;\n  add.u64 %rd4, %rd3, %rd2;\n"
    "LOOP:\n  mov.u64 %rd5, %globaltimer;\n  setp.lt.u64 %p, %rd5, %rd4;\n"
    "  @%p bra LOOP;\n  ret;\n}\n";

typedef CUresult (*getproc_fn)(const char *, void **, int, cuuint64_t,
                               CUdriverProcAddressQueryResult *);

/* X(base name, pointer type): resolved at CUDA 13.0 through cuGetProcAddress. */
#define DRIVER_FUNCS(X)                                                                            \
    X(cuInit, CUresult (*)(unsigned))                                                              \
    X(cuDeviceGet, CUresult (*)(CUdevice *, int))                                                  \
    X(cuDevicePrimaryCtxRetain, CUresult (*)(CUcontext *, CUdevice))                               \
    X(cuDevicePrimaryCtxRelease, CUresult (*)(CUdevice))                                           \
    X(cuCtxSetCurrent, CUresult (*)(CUcontext))                                                    \
    X(cuCtxSynchronize, CUresult (*)(void))                                                        \
    X(cuMemGetInfo, CUresult (*)(size_t *, size_t *))                                              \
    X(cuMemAlloc, CUresult (*)(CUdeviceptr *, size_t))                                             \
    X(cuMemFree, CUresult (*)(CUdeviceptr))                                                        \
    X(cuMemAllocAsync, CUresult (*)(CUdeviceptr *, size_t, CUstream))                              \
    X(cuMemFreeAsync, CUresult (*)(CUdeviceptr, CUstream))                                         \
    X(cuMemCreate, CUresult (*)(CUmemGenericAllocationHandle *, size_t,                            \
                                const CUmemAllocationProp *, unsigned long long))                  \
    X(cuMemRelease, CUresult (*)(CUmemGenericAllocationHandle))                                    \
    X(cuMemGetAllocationGranularity,                                                               \
      CUresult (*)(size_t *, const CUmemAllocationProp *, CUmemAllocationGranularity_flags))       \
    X(cuStreamCreate, CUresult (*)(CUstream *, unsigned))                                          \
    X(cuStreamDestroy, CUresult (*)(CUstream))                                                     \
    X(cuStreamSynchronize, CUresult (*)(CUstream))                                                 \
    X(cuModuleLoadData, CUresult (*)(CUmodule *, const void *))                                    \
    X(cuModuleGetFunction, CUresult (*)(CUfunction *, CUmodule, const char *))                     \
    X(cuModuleUnload, CUresult (*)(CUmodule))                                                      \
    X(cuLaunchKernel, CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,   \
                                   unsigned, unsigned, CUstream, void **, void **))                \
    X(cuEventCreate, CUresult (*)(CUevent *, unsigned))                                            \
    X(cuEventRecord, CUresult (*)(CUevent, CUstream))                                              \
    X(cuEventSynchronize, CUresult (*)(CUevent))                                                   \
    X(cuEventElapsedTime, CUresult (*)(float *, CUevent, CUevent))                                 \
    X(cuEventDestroy, CUresult (*)(CUevent))

#define DECLARE(name, type) static __typeof__(type) p_##name;
DRIVER_FUNCS(DECLARE)
#undef DECLARE

static void *lib;
static getproc_fn getproc;
static CUcontext ctx;

static int setup(void **state)
{
    CUdriverProcAddressQueryResult st;
    CUdevice dev;
    lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    getproc = lib ? (getproc_fn)dlsym(lib, "cuGetProcAddress_v2") : NULL;
    if (!getproc)
        return -1;
#define RESOLVE(name, type)                                                                        \
    if (getproc(#name, (void **)&p_##name, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &st) !=             \
            CUDA_SUCCESS ||                                                                        \
        !p_##name)                                                                                 \
        return -1;
    DRIVER_FUNCS(RESOLVE)
#undef RESOLVE
    if (p_cuInit(0) != CUDA_SUCCESS || p_cuDeviceGet(&dev, 0) != CUDA_SUCCESS ||
        p_cuDevicePrimaryCtxRetain(&ctx, dev) != CUDA_SUCCESS)
        return -1;
    return p_cuCtxSetCurrent(ctx) == CUDA_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    p_cuDevicePrimaryCtxRelease(0);
    return 0;
}

static void test_get_proc_address(void **state)
{
    CUdriverProcAddressQueryResult st;
    void *fn = (void *)1, *a, *b;

    /* Asked for itself it returns itself: how libcudart bootstraps. */
    assert_int_equal(getproc("cuGetProcAddress", &fn, 12000, 0, &st), CUDA_SUCCESS);
    assert_ptr_equal(fn, (void *)getproc);
    assert_int_equal(st, CU_GET_PROC_ADDRESS_SUCCESS);
    /* Unknown symbols: success, a NULL pointer and the status say so. */
    fn = (void *)1;
    assert_int_equal(getproc("cuNoSuchFunction", &fn, 13000, 0, &st), CUDA_SUCCESS);
    assert_null(fn);
    assert_int_equal(st, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
    /* A CUDA version newer than the driver is an invalid value. */
    assert_int_equal(getproc("cuInit", &fn, 99000, 0, &st), CUDA_ERROR_INVALID_VALUE);
    /* Per-thread twins resolve (simgpu's twin may share its legacy twin's
     * address: its default stream is the same for both). */
    assert_int_equal(
        getproc("cuLaunchKernel", &a, 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st),
        CUDA_SUCCESS);
    assert_non_null(a);
    /* Older signatures are different entry points. */
    assert_int_equal(getproc("cuDeviceGetUuid", &a, 11000, 0, &st), CUDA_SUCCESS);
    assert_int_equal(getproc("cuDeviceGetUuid", &b, 13000, 0, &st), CUDA_SUCCESS);
    assert_ptr_not_equal(a, b);
    assert_int_equal(getproc("cuGetProcAddress", &a, 11030, 0, &st), CUDA_SUCCESS);
    assert_ptr_not_equal(a, (void *)getproc);
}

static uint64_t used(void)
{
    size_t free_b, total;
    assert_int_equal(p_cuMemGetInfo(&free_b, &total), CUDA_SUCCESS);
    return total - free_b;
}

/* Prints what one allocation of `bytes` costs the device, then frees it. */
static void measure_alloc(size_t bytes)
{
    CUdeviceptr p;
    uint64_t before = used();
    assert_int_equal(p_cuMemAlloc(&p, bytes), CUDA_SUCCESS);
    uint64_t delta = used() - before;
    printf("# measure: cuMemAlloc(%zu) costs %llu bytes\n", bytes, (unsigned long long)delta);
    assert_true(delta >= bytes);
    assert_int_equal(p_cuMemFree(p), CUDA_SUCCESS);
}

static void test_memory_costs(void **state)
{
    CUmemAllocationProp prop = {.type = CU_MEM_ALLOCATION_TYPE_PINNED,
                                .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}};
    CUmemGenericAllocationHandle h;
    CUstream s;
    CUdeviceptr p;
    size_t gran;

    printf("# measure: primary context and runtime hold %llu MiB\n",
           (unsigned long long)(used() >> 20));
    measure_alloc(1);
    measure_alloc(MiB);
    measure_alloc(3 * MiB);
    measure_alloc(64 * MiB);

    assert_int_equal(
        p_cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
        CUDA_SUCCESS);
    printf("# measure: VMM granularity %zu bytes\n", gran);
    uint64_t before = used();
    assert_int_equal(p_cuMemCreate(&h, 16 * gran, &prop, 0), CUDA_SUCCESS);
    printf("# measure: cuMemCreate(%zu) costs %llu bytes\n", 16 * gran,
           (unsigned long long)(used() - before));
    assert_true(used() - before >= 16 * gran);
    assert_int_equal(p_cuMemRelease(h), CUDA_SUCCESS);
    assert_true(used() - before < 16 * gran);

    assert_int_equal(p_cuStreamCreate(&s, 0), CUDA_SUCCESS);
    before = used();
    assert_int_equal(p_cuMemAllocAsync(&p, MiB, s), CUDA_SUCCESS);
    assert_int_equal(p_cuStreamSynchronize(s), CUDA_SUCCESS);
    uint64_t held = used() - before;
    assert_int_equal(p_cuMemFreeAsync(p, s), CUDA_SUCCESS);
    assert_int_equal(p_cuStreamSynchronize(s), CUDA_SUCCESS);
    uint64_t after_sync = used() - before;
    printf("# measure: cuMemAllocAsync(1 MiB) costs %llu bytes; %llu remain after free + sync\n",
           (unsigned long long)held, (unsigned long long)after_sync);
    assert_true(held >= 32 * MiB); /* a pool reserves a 32 MiB chunk at least */
    /* Release threshold 0: a synchronisation gives the pool's memory back. */
    assert_int_equal(after_sync, 0);
    assert_int_equal(p_cuStreamDestroy(s), CUDA_SUCCESS);
}

static void test_busy_kernel_takes_its_time(void **state)
{
    CUmodule mod;
    CUfunction f;
    CUevent e0, e1;
    CUstream s;
    unsigned long long us = 10000;
    void *args[] = {&us};
    float ms;

    assert_int_equal(p_cuModuleLoadData(&mod, busy_ptx), CUDA_SUCCESS);
    assert_int_equal(p_cuModuleGetFunction(&f, mod, "vgpu_sim_busy"), CUDA_SUCCESS);
    assert_int_equal(p_cuStreamCreate(&s, 0), CUDA_SUCCESS);
    assert_int_equal(p_cuEventCreate(&e0, 0), CUDA_SUCCESS);
    assert_int_equal(p_cuEventCreate(&e1, 0), CUDA_SUCCESS);
    assert_int_equal(p_cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, args, NULL), CUDA_SUCCESS);
    assert_int_equal(p_cuStreamSynchronize(s), CUDA_SUCCESS); /* warm up (JIT, first launch) */
    assert_int_equal(p_cuEventRecord(e0, s), CUDA_SUCCESS);
    assert_int_equal(p_cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, args, NULL), CUDA_SUCCESS);
    assert_int_equal(p_cuEventRecord(e1, s), CUDA_SUCCESS);
    assert_int_equal(p_cuEventSynchronize(e1), CUDA_SUCCESS);
    assert_int_equal(p_cuEventElapsedTime(&ms, e0, e1), CUDA_SUCCESS);
    printf("# measure: vgpu_sim_busy(10000 us) took %.3f ms between events\n", ms);
    assert_true(ms >= 9.9f && ms <= 10.5f);
    assert_int_equal(p_cuEventDestroy(e0), CUDA_SUCCESS);
    assert_int_equal(p_cuEventDestroy(e1), CUDA_SUCCESS);
    assert_int_equal(p_cuStreamDestroy(s), CUDA_SUCCESS);
    assert_int_equal(p_cuModuleUnload(mod), CUDA_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_proc_address),
        cmocka_unit_test(test_memory_costs),
        cmocka_unit_test(test_busy_kernel_takes_its_time),
    };
    return cmocka_run_group_tests_name("driver.contract", tests, setup, teardown);
}
