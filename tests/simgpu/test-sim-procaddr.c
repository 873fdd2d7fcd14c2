/* simgpu cuGetProcAddress: the path libcudart uses to reach every driver
 * entry point (GPU-NOTES.md), so it must behave as the real driver's does.
 *
 * The test loads libcuda.so.1 with dlopen, as libcudart does, and checks that
 * asked for "cuGetProcAddress" it hands back itself (v2 for CUDA >= 12.0, the
 * four-argument v1 before), that base names resolve to the newest versioned
 * entry point, that the per-thread-default-stream flag selects the _ptsz /
 * _ptds twins, that older CUDA versions get the older signatures, and that
 * unknown names, newer CUDA versions and bad flags are answered the way the
 * real driver answers them (see test-contract.c, run on both). */
#include <cuda.h>

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef CUresult (*getproc_v2_fn)(const char *, void **, int, cuuint64_t,
                                  CUdriverProcAddressQueryResult *);
typedef CUresult (*init_fn)(unsigned);

static void *lib;
static getproc_v2_fn getproc;

static int setup(void **state)
{
    lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    getproc = (getproc_v2_fn)dlsym(lib, "cuGetProcAddress_v2");
    return getproc ? 0 : -1;
}

static int teardown(void **state)
{
    return dlclose(lib);
}

/* What cuGetProcAddress returns for `name`, and its status. */
static void *resolve(const char *name, int version, cuuint64_t flags, CUresult *rc,
                     CUdriverProcAddressQueryResult *st)
{
    void *fn = (void *)1;
    *rc = getproc(name, &fn, version, flags, st);
    return fn;
}

static void test_returns_itself(void **state)
{
    CUresult rc;
    CUdriverProcAddressQueryResult st;
    assert_ptr_equal(resolve("cuGetProcAddress", 12000, 0, &rc, &st),
                     dlsym(lib, "cuGetProcAddress_v2"));
    assert_int_equal(rc, CUDA_SUCCESS);
    assert_int_equal(st, CU_GET_PROC_ADDRESS_SUCCESS);
    assert_ptr_equal(resolve("cuGetProcAddress", 13000, 0, &rc, &st),
                     dlsym(lib, "cuGetProcAddress_v2"));
    /* Before CUDA 12.0 the four-argument entry point. */
    assert_ptr_equal(resolve("cuGetProcAddress", 11030, 0, &rc, &st),
                     dlsym(lib, "cuGetProcAddress"));
    assert_ptr_not_equal(dlsym(lib, "cuGetProcAddress"), dlsym(lib, "cuGetProcAddress_v2"));
}

static void test_newest_versions_and_twins(void **state)
{
    CUresult rc;
    CUdriverProcAddressQueryResult st;
    static const struct {
        const char *name;
        cuuint64_t flags;
        const char *want;
    } cases[] = {
        {"cuMemAlloc", 0, "cuMemAlloc_v2"},
        {"cuMemGetInfo", 0, "cuMemGetInfo_v2"},
        {"cuCtxCreate", 0, "cuCtxCreate_v4"},
        {"cuDeviceTotalMem", 0, "cuDeviceTotalMem_v2"},
        {"cuDeviceGetUuid", 0, "cuDeviceGetUuid_v2"},
        {"cuGraphInstantiate", 0, "cuGraphInstantiateWithFlags"},
        {"cuInit", 0, "cuInit"},
        {"cuLaunchKernel", CU_GET_PROC_ADDRESS_LEGACY_STREAM, "cuLaunchKernel"},
        {"cuLaunchKernel", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuLaunchKernel_ptsz"},
        {"cuMemcpyHtoD", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemcpyHtoD_v2_ptds"},
        {"cuMemcpyHtoD", 0, "cuMemcpyHtoD_v2"},
        {"cuStreamSynchronize", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
         "cuStreamSynchronize_ptsz"},
        {"cuMemAllocAsync", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemAllocAsync_ptsz"},
        {"cuGraphLaunch", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuGraphLaunch_ptsz"},
        {"cuLaunchKernelEx", 0, "cuLaunchKernelEx"},
        {"cuMemCreate", 0, "cuMemCreate"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        void *want = dlsym(lib, cases[i].want);
        assert_non_null(want);
        assert_ptr_equal(resolve(cases[i].name, 13000, cases[i].flags, &rc, &st), want);
        assert_int_equal(rc, CUDA_SUCCESS);
    }
    /* Older CUDA versions get the signatures they were built for. */
    assert_ptr_equal(resolve("cuCtxCreate", 11000, 0, &rc, &st), dlsym(lib, "cuCtxCreate_v2"));
    assert_ptr_equal(resolve("cuCtxCreate", 12000, 0, &rc, &st), dlsym(lib, "cuCtxCreate_v3"));
    assert_ptr_equal(resolve("cuDeviceGetUuid", 11000, 0, &rc, &st), dlsym(lib, "cuDeviceGetUuid"));
}

static void test_resolved_pointers_work(void **state)
{
    CUresult rc;
    CUdriverProcAddressQueryResult st;
    init_fn init = (init_fn)resolve("cuInit", 13000, 0, &rc, &st);
    assert_int_equal(init(0), CUDA_SUCCESS);
    /* Entry points the simulated driver lacks resolve, and say so when called. */
    typedef CUresult (*export_fn)(const void **, const CUuuid *);
    export_fn et = (export_fn)resolve("cuGetExportTable", 13000, 0, &rc, &st);
    assert_int_equal(rc, CUDA_SUCCESS);
    const void *table;
    CUuuid id = {{0}};
    assert_int_equal(et(&table, &id), CUDA_ERROR_NOT_SUPPORTED);
}

static void test_failures(void **state)
{
    CUresult rc;
    CUdriverProcAddressQueryResult st;
    /* Unknown: success with a NULL pointer, as the real driver answers. */
    void *fn = resolve("cuNoSuchFunction", 13000, 0, &rc, &st);
    assert_int_equal(rc, CUDA_SUCCESS);
    assert_int_equal(st, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
    assert_null(fn);
    assert_int_equal(getproc("cuInit", &fn, 13010, 0, &st), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(getproc("cuInit", &fn, 13000, 0x100, &st), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(getproc(NULL, &fn, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(getproc("cuInit", NULL, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_returns_itself),
        cmocka_unit_test(test_newest_versions_and_twins),
        cmocka_unit_test(test_resolved_pointers_work),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests_name("simgpu.procaddr", tests, setup, teardown);
}
