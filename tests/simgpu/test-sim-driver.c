/* simgpu driver, one process: what a CUDA driver-API program sees.
 *
 * Runs against the simulated libcuda.so.1 with SIMGPU_DEVICES=H100:4GiB (set
 * by CTest) so capacity limits are easy to reach, and checks the figures a
 * user would: memory as cuMemGetInfo reports it across every allocation
 * path, data surviving copies, timing of busy kernels through events, and
 * clean errors for bad arguments. */
#include <cuda.h>

#include "vt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define CTX_OVERHEAD (300 * MiB)

static const char busy_ptx[] =
    ".version 8.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry vgpu_sim_busy(.param .u64 us)\n{ ret; }\n"
    ".visible .entry other(.param .u64 a, .param .u32 b,\n"
    "    .param .align 8 .b8 c[24], .param .u64 .ptr .global .align 8 d)\n"
    "{ ret; }\n";

static CUcontext ctx;

static uint64_t used_bytes(void)
{
    size_t free_b, total;
    assert_int_equal(cuMemGetInfo(&free_b, &total), CUDA_SUCCESS);
    return total - free_b;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int setup(void **state)
{
    int n;
    vt_fresh_simgpu();
    /* Nothing works before cuInit, as with the real driver. */
    if (cuDeviceGetCount(&n) != CUDA_ERROR_NOT_INITIALIZED)
        return -1;
    if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(&ctx, 0) != CUDA_SUCCESS)
        return -1;
    return cuCtxSetCurrent(ctx) == CUDA_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    return cuDevicePrimaryCtxRelease(0) == CUDA_SUCCESS ? 0 : -1;
}

static void test_device_queries(void **state)
{
    int v, n;
    char name[128], bus[32];
    size_t total;
    CUuuid u1, u2;
    CUdevice d;

    assert_int_equal(cuDriverGetVersion(&v), CUDA_SUCCESS);
    assert_int_equal(v, 13000);
    assert_int_equal(cuDeviceGetCount(&n), CUDA_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(cuDeviceGetName(name, sizeof(name), 0), CUDA_SUCCESS);
    assert_non_null(strstr(name, "H100"));
    assert_int_equal(cuDeviceTotalMem(&total, 0), CUDA_SUCCESS);
    assert_int_equal(total, 4 * GiB);
    assert_int_equal(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0),
                     CUDA_SUCCESS);
    assert_int_equal(v, 132);
    assert_int_equal(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0),
                     CUDA_SUCCESS);
    assert_int_equal(v, 9);
    assert_int_equal(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX, 0),
                     CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuDeviceGetUuid(&u1, 0), CUDA_SUCCESS);
    assert_int_equal(cuDeviceGetUuid_v2(&u2, 0), CUDA_SUCCESS);
    assert_memory_equal(u1.bytes, u2.bytes, 16); /* a full GPU: v1 and v2 agree */
    assert_int_equal(cuDeviceGetPCIBusId(bus, sizeof(bus), 0), CUDA_SUCCESS);
    assert_string_equal(bus, "0000:18:00.0");
    assert_int_equal(cuDeviceGetByPCIBusId(&d, "00000000:18:00.0"), CUDA_SUCCESS);
    assert_int_equal(d, 0);
    assert_int_equal(cuDeviceGetByPCIBusId(&d, "0000:19:00.0"), CUDA_ERROR_INVALID_DEVICE);
    assert_int_equal(cuDeviceGet(&d, 1), CUDA_ERROR_INVALID_DEVICE);
}

static void test_context_costs_memory(void **state)
{
    CUcontext c2, popped;
    unsigned flags;
    int active;

    assert_int_equal(used_bytes(), CTX_OVERHEAD); /* the primary context */
    assert_int_equal(cuCtxCreate(&c2, NULL, 0, 0), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), 2 * CTX_OVERHEAD);
    assert_int_equal(cuCtxPopCurrent(&popped), CUDA_SUCCESS);
    assert_ptr_equal(popped, c2);
    assert_int_equal(cuCtxDestroy(c2), CUDA_SUCCESS);
    assert_int_equal(cuCtxDestroy(c2), CUDA_ERROR_INVALID_CONTEXT);
    assert_int_equal(cuCtxSetCurrent(ctx), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), CTX_OVERHEAD);
    assert_int_equal(cuDevicePrimaryCtxGetState(0, &flags, &active), CUDA_SUCCESS);
    assert_int_equal(active, 1);
}

static void test_alloc_paths_and_capacity(void **state)
{
    CUdeviceptr p[4], m, pitched;
    size_t pitch;
    uint64_t base = used_bytes();

    assert_int_equal(cuMemAlloc(&p[0], 1), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 2 * MiB); /* one allocation granule */
    assert_int_equal(cuMemFree(p[0]), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base);
    assert_int_equal(cuMemAlloc(&p[0], 0), CUDA_ERROR_INVALID_VALUE);

    /* 4 GiB minus the context: three 1 GiB allocations fit, the fourth does not. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(cuMemAlloc(&p[i], GiB), CUDA_SUCCESS);
    assert_int_equal(cuMemAlloc(&p[3], GiB), CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(cuMemAllocManaged(&m, GiB, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(cuMemAllocPitch(&pitched, &pitch, 1 << 20, 1024, 4), CUDA_ERROR_OUT_OF_MEMORY);
    assert_int_equal(used_bytes(), base + 3 * GiB);
    /* Freeing gives it back: the failed path now succeeds. */
    assert_int_equal(cuMemFree(p[2]), CUDA_SUCCESS);
    assert_int_equal(cuMemAllocManaged(&m, GiB, CU_MEM_ATTACH_GLOBAL), CUDA_SUCCESS);
    assert_int_equal(cuMemFree(m), CUDA_SUCCESS);
    assert_int_equal(cuMemAllocPitch(&pitched, &pitch, 1000, 100, 4), CUDA_SUCCESS);
    assert_int_equal(pitch, 1024);
    assert_int_equal(cuMemFree(pitched), CUDA_SUCCESS);
    assert_int_equal(cuMemFree(p[0] + 16), CUDA_ERROR_INVALID_VALUE); /* not a base */
    assert_int_equal(cuMemFree(p[0]), CUDA_SUCCESS);
    assert_int_equal(cuMemFree(p[0]), CUDA_ERROR_INVALID_VALUE); /* double free */
    assert_int_equal(cuMemFree(p[1]), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base);
}

static void test_copies_move_data(void **state)
{
    enum { N = 1 << 20 };
    unsigned char *src = malloc(N), *dst = malloc(N);
    CUdeviceptr a, b;
    CUstream s;

    assert_non_null(src);
    assert_non_null(dst);
    for (int i = 0; i < N; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(cuMemAlloc(&a, N), CUDA_SUCCESS);
    assert_int_equal(cuMemAlloc(&b, N), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyHtoD(a, src, N), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyDtoD(b, a, N), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyDtoH(dst, b, N), CUDA_SUCCESS);
    assert_memory_equal(src, dst, N);

    assert_int_equal(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    assert_int_equal(cuMemsetD32Async(a, 0xdeadbeef, N / 4, s), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyDtoHAsync(dst, a, N, s), CUDA_SUCCESS);
    assert_int_equal(cuStreamSynchronize(s), CUDA_SUCCESS);
    for (int i = 0; i < N / 4; i++)
        assert_int_equal(((uint32_t *)dst)[i], 0xdeadbeef);

    /* 2D: 16 rows of 100 bytes into a 256-byte pitch. */
    CUDA_MEMCPY2D c = {.srcMemoryType = CU_MEMORYTYPE_HOST,
                       .srcHost = src,
                       .srcPitch = 100,
                       .dstMemoryType = CU_MEMORYTYPE_DEVICE,
                       .dstDevice = b,
                       .dstPitch = 256,
                       .WidthInBytes = 100,
                       .Height = 16};
    assert_int_equal(cuMemcpy2D(&c), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyDtoH(dst, b + 5 * 256, 100), CUDA_SUCCESS);
    assert_memory_equal(dst, src + 5 * 100, 100);

    /* Device ranges are checked: no crash, a clean error. */
    assert_int_equal(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)dst, src, 16), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuMemcpyDtoH(dst, a + N - 8, 16), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuMemsetD8(a + N, 0, 1), CUDA_ERROR_INVALID_VALUE);

    assert_int_equal(cuStreamDestroy(s), CUDA_SUCCESS);
    assert_int_equal(cuMemFree(a), CUDA_SUCCESS);
    assert_int_equal(cuMemFree(b), CUDA_SUCCESS);
    free(src);
    free(dst);
}

static void test_vmm(void **state)
{
    CUmemAllocationProp prop = {.type = CU_MEM_ALLOCATION_TYPE_PINNED,
                                .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}};
    CUmemAccessDesc acc = {.location = prop.location, .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
    CUmemGenericAllocationHandle h;
    CUdeviceptr va;
    size_t gran;
    uint64_t base = used_bytes(), out = 0, in = 0x0123456789abcdefULL;

    assert_int_equal(cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
                     CUDA_SUCCESS);
    assert_int_equal(gran, 2 * MiB);
    assert_int_equal(cuMemCreate(&h, 3 * MiB, &prop, 0), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuMemCreate(&h, 8 * MiB, &prop, 0), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 8 * MiB); /* physical memory counts at creation */
    assert_int_equal(cuMemAddressReserve(&va, 16 * MiB, 0, 0, 0), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 8 * MiB); /* address space does not */
    assert_int_equal(cuMemMap(va, 8 * MiB, 0, h, 0), CUDA_SUCCESS);
    assert_int_equal(cuMemMap(va + 8 * MiB, 8 * MiB, 0, h, 0), CUDA_SUCCESS); /* an alias */
    assert_int_equal(used_bytes(), base + 8 * MiB); /* mapping does not count again */
    assert_int_equal(cuMemcpyHtoD(va, &in, 8), CUDA_ERROR_INVALID_VALUE); /* no access yet */
    assert_int_equal(cuMemSetAccess(va, 16 * MiB, &acc, 1), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyHtoD(va + 64, &in, 8), CUDA_SUCCESS);
    assert_int_equal(cuMemcpyDtoH(&out, va + 8 * MiB + 64, 8), CUDA_SUCCESS);
    assert_true(out == in); /* both mappings show the same physical bytes */
    assert_int_equal(cuMemRelease(h), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 8 * MiB);                      /* still mapped */
    assert_int_equal(cuMemUnmap(va, 4 * MiB), CUDA_ERROR_INVALID_VALUE); /* part of a mapping */
    assert_int_equal(cuMemUnmap(va, 16 * MiB), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base);
    assert_int_equal(cuMemcpyHtoD(va, &in, 8), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuMemAddressFree(va, 16 * MiB), CUDA_SUCCESS);
}

static void test_pools_trim_at_sync(void **state)
{
    CUmemoryPool pool;
    CUstream s;
    CUdeviceptr p;
    cuuint64_t v, keep = 64 * MiB;
    uint64_t base = used_bytes();

    assert_int_equal(cuDeviceGetDefaultMemPool(&pool, 0), CUDA_SUCCESS);
    assert_int_equal(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    assert_int_equal(cuMemAllocAsync(&p, MiB, s), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 32 * MiB); /* a pool grows by 32 MiB chunks */
    assert_int_equal(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &v),
                     CUDA_SUCCESS);
    assert_int_equal(v, MiB);
    assert_int_equal(cuMemFreeAsync(p, s), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 32 * MiB); /* kept until a synchronisation */
    assert_int_equal(cuStreamSynchronize(s), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base);

    assert_int_equal(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep),
                     CUDA_SUCCESS);
    assert_int_equal(cuMemAllocFromPoolAsync(&p, 40 * MiB, pool, s), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 40 * MiB); /* past one chunk: granules */
    assert_int_equal(cuMemFreeAsync(p, s), CUDA_SUCCESS);
    assert_int_equal(cuStreamSynchronize(s), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 40 * MiB); /* under the threshold: kept */
    assert_int_equal(cuMemPoolTrimTo(pool, 0), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base);
    assert_int_equal(cuMemFreeAsync(p, s), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuStreamDestroy(s), CUDA_SUCCESS);
}

static void test_arrays_count(void **state)
{
    CUarray a;
    CUDA_ARRAY3D_DESCRIPTOR d = {
        .Width = 1024, .Height = 1024, .Depth = 0, .Format = CU_AD_FORMAT_FLOAT, .NumChannels = 4};
    uint64_t base = used_bytes();
    assert_int_equal(cuArray3DCreate(&a, &d), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base + 16 * MiB);
    assert_int_equal(cuArrayDestroy(a), CUDA_SUCCESS);
    assert_int_equal(used_bytes(), base);
    d.NumChannels = 3;
    assert_int_equal(cuArray3DCreate(&a, &d), CUDA_ERROR_INVALID_VALUE);
}

static void test_busy_kernel_timing(void **state)
{
    CUmodule mod;
    CUfunction busy, other;
    CUevent e0, e1;
    CUstream s;
    unsigned long long us = 20000;
    void *args[] = {&us};
    float ms;

    assert_int_equal(cuModuleLoadData(&mod, busy_ptx), CUDA_SUCCESS);
    assert_int_equal(cuModuleGetFunction(&busy, mod, "vgpu_sim_busy"), CUDA_SUCCESS);
    assert_int_equal(cuModuleGetFunction(&other, mod, "other"), CUDA_SUCCESS);
    assert_int_equal(cuStreamCreate(&s, 0), CUDA_SUCCESS);
    assert_int_equal(cuEventCreate(&e0, 0), CUDA_SUCCESS);
    assert_int_equal(cuEventCreate(&e1, 0), CUDA_SUCCESS);
    double t0 = now_ms();
    assert_int_equal(cuEventRecord(e0, s), CUDA_SUCCESS);
    assert_int_equal(cuLaunchKernel(busy, 1, 1, 1, 32, 1, 1, 0, s, args, NULL), CUDA_SUCCESS);
    assert_int_equal(cuEventRecord(e1, s), CUDA_SUCCESS);
    assert_int_equal(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
    assert_int_equal(cuEventElapsedTime(&ms, e0, e1), CUDA_ERROR_NOT_READY);
    assert_int_equal(cuEventSynchronize(e1), CUDA_SUCCESS);
    double wall = now_ms() - t0;
    assert_int_equal(cuStreamQuery(s), CUDA_SUCCESS);
    assert_int_equal(cuEventElapsedTime(&ms, e0, e1), CUDA_SUCCESS);
    assert_true(ms >= 19.9f && ms <= 21.0f);
    assert_true(wall >= 19.9);

    /* Any other kernel takes SIMGPU_KERNEL_US (5 us). */
    assert_int_equal(cuEventRecord(e0, s), CUDA_SUCCESS);
    assert_int_equal(cuLaunchKernel(other, 1, 1, 1, 1, 1, 1, 0, s, NULL, NULL), CUDA_SUCCESS);
    assert_int_equal(cuEventRecord(e1, s), CUDA_SUCCESS);
    assert_int_equal(cuStreamSynchronize(s), CUDA_SUCCESS);
    assert_int_equal(cuEventElapsedTime(&ms, e0, e1), CUDA_SUCCESS);
    assert_true(ms < 1.0f);

    /* Bad launches fail cleanly. */
    assert_int_equal(cuLaunchKernel(busy, 1, 1, 1, 2048, 1, 1, 0, s, args, NULL),
                     CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuLaunchKernel(busy, 0, 1, 1, 1, 1, 1, 0, s, args, NULL),
                     CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuLaunchKernel((CUfunction)(void *)e0, 1, 1, 1, 1, 1, 1, 0, s, args, NULL),
                     CUDA_ERROR_INVALID_HANDLE);

    /* cuLaunchKernelEx and cooperative launches are launches too. */
    CUlaunchAttribute coop = {.id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE, .value.cooperative = 1};
    CUlaunchConfig cfg = {.gridDimX = 132,
                          .gridDimY = 1,
                          .gridDimZ = 1,
                          .blockDimX = 256,
                          .blockDimY = 1,
                          .blockDimZ = 1,
                          .hStream = s,
                          .attrs = &coop,
                          .numAttrs = 1};
    us = 1000;
    assert_int_equal(cuLaunchKernelEx(&cfg, busy, args, NULL), CUDA_SUCCESS);
    cfg.gridDimX = 132 * 64;
    assert_int_equal(cuLaunchKernelEx(&cfg, busy, args, NULL),
                     CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE);
    assert_int_equal(cuCtxSynchronize(), CUDA_SUCCESS);

    assert_int_equal(cuEventDestroy(e0), CUDA_SUCCESS);
    assert_int_equal(cuEventDestroy(e1), CUDA_SUCCESS);
    assert_int_equal(cuStreamDestroy(s), CUDA_SUCCESS);
    assert_int_equal(cuModuleUnload(mod), CUDA_SUCCESS);
}

static void test_modules_and_libraries(void **state)
{
    CUmodule mod;
    CUlibrary lib;
    CUkernel k;
    CUfunction f;
    size_t off, size;
    static const size_t want_off[] = {0, 8, 16, 40}, want_size[] = {8, 4, 24, 8};
    static const unsigned char cubin[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};

    assert_int_equal(cuModuleLoadData(&mod, busy_ptx), CUDA_SUCCESS);
    assert_int_equal(cuModuleGetFunction(&f, mod, "missing"), CUDA_ERROR_NOT_FOUND);
    assert_int_equal(cuModuleGetFunction(&f, mod, "other"), CUDA_SUCCESS);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(cuFuncGetParamInfo(f, i, &off, &size), CUDA_SUCCESS);
        assert_int_equal(off, want_off[i]);
        assert_int_equal(size, want_size[i]);
    }
    assert_int_equal(cuFuncGetParamInfo(f, 4, &off, &size), CUDA_ERROR_INVALID_VALUE);
    assert_int_equal(cuModuleUnload(mod), CUDA_SUCCESS);

    /* A cubin: every name resolves; the layout is unknown. */
    assert_int_equal(cuModuleLoadData(&mod, cubin), CUDA_SUCCESS);
    assert_int_equal(cuModuleGetFunction(&f, mod, "anything"), CUDA_SUCCESS);
    assert_int_equal(cuFuncGetParamInfo(f, 0, &off, &size), CUDA_ERROR_NOT_SUPPORTED);
    assert_int_equal(cuModuleUnload(mod), CUDA_SUCCESS);

    /* Libraries: a CUkernel launches like a CUfunction. */
    unsigned long long us = 100;
    void *args[] = {&us};
    assert_int_equal(cuLibraryLoadData(&lib, busy_ptx, NULL, NULL, 0, NULL, NULL, 0), CUDA_SUCCESS);
    assert_int_equal(cuLibraryGetKernel(&k, lib, "vgpu_sim_busy"), CUDA_SUCCESS);
    assert_int_equal(cuKernelGetFunction(&f, k), CUDA_SUCCESS);
    assert_int_equal(cuLaunchKernel((CUfunction)(void *)k, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL),
                     CUDA_SUCCESS);
    assert_int_equal(cuCtxSynchronize(), CUDA_SUCCESS);
    assert_int_equal(cuLibraryUnload(lib), CUDA_SUCCESS);
    assert_int_equal(cuModuleLoad(&mod, "/nonexistent/x.ptx"), CUDA_ERROR_FILE_NOT_FOUND);
}

static void test_graph_capture_and_launch(void **state)
{
    CUmodule mod;
    CUfunction busy;
    CUstream s;
    CUgraph g;
    CUgraphExec x;
    CUevent e0, e1;
    CUstreamCaptureStatus cs;
    unsigned long long us = 5000;
    void *args[] = {&us};
    float ms;

    assert_int_equal(cuModuleLoadData(&mod, busy_ptx), CUDA_SUCCESS);
    assert_int_equal(cuModuleGetFunction(&busy, mod, "vgpu_sim_busy"), CUDA_SUCCESS);
    assert_int_equal(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    assert_int_equal(cuStreamBeginCapture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL),
                     CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
    assert_int_equal(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_SUCCESS);
    assert_int_equal(cuStreamIsCapturing(s, &cs), CUDA_SUCCESS);
    assert_int_equal(cs, CU_STREAM_CAPTURE_STATUS_ACTIVE);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cuLaunchKernel(busy, 1, 1, 1, 1, 1, 1, 0, s, args, NULL), CUDA_SUCCESS);
    assert_int_equal(cuStreamQuery(s), CUDA_SUCCESS); /* captured, not run */
    assert_int_equal(cuStreamEndCapture(s, &g), CUDA_SUCCESS);
    assert_int_equal(cuGraphInstantiateWithFlags(&x, g, 0), CUDA_SUCCESS);
    assert_int_equal(cuEventCreate(&e0, 0), CUDA_SUCCESS);
    assert_int_equal(cuEventCreate(&e1, 0), CUDA_SUCCESS);
    assert_int_equal(cuEventRecord(e0, s), CUDA_SUCCESS);
    assert_int_equal(cuGraphLaunch(x, s), CUDA_SUCCESS);
    assert_int_equal(cuEventRecord(e1, s), CUDA_SUCCESS);
    assert_int_equal(cuStreamSynchronize(s), CUDA_SUCCESS);
    assert_int_equal(cuEventElapsedTime(&ms, e0, e1), CUDA_SUCCESS);
    assert_true(ms >= 14.9f && ms <= 16.0f);

    /* A graph built by hand. */
    CUgraph g2;
    CUgraphNode node;
    CUDA_KERNEL_NODE_PARAMS kp = {.func = busy,
                                  .gridDimX = 1,
                                  .gridDimY = 1,
                                  .gridDimZ = 1,
                                  .blockDimX = 1,
                                  .blockDimY = 1,
                                  .blockDimZ = 1,
                                  .kernelParams = args};
    size_t n = 0;
    assert_int_equal(cuGraphCreate(&g2, 0), CUDA_SUCCESS);
    assert_int_equal(cuGraphAddKernelNode(&node, g2, NULL, 0, &kp), CUDA_SUCCESS);
    assert_int_equal(cuGraphGetNodes(g2, NULL, &n), CUDA_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(cuGraphDestroy(g2), CUDA_SUCCESS);

    assert_int_equal(cuGraphExecDestroy(x), CUDA_SUCCESS);
    assert_int_equal(cuGraphDestroy(g), CUDA_SUCCESS);
    assert_int_equal(cuEventDestroy(e0), CUDA_SUCCESS);
    assert_int_equal(cuEventDestroy(e1), CUDA_SUCCESS);
    assert_int_equal(cuStreamDestroy(s), CUDA_SUCCESS);
    assert_int_equal(cuModuleUnload(mod), CUDA_SUCCESS);
}

static void test_errors_and_unsupported(void **state)
{
    const char *s;
    CUipcMemHandle h;
    assert_int_equal(cuGetErrorName(CUDA_ERROR_OUT_OF_MEMORY, &s), CUDA_SUCCESS);
    assert_string_equal(s, "CUDA_ERROR_OUT_OF_MEMORY");
    assert_int_equal(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s), CUDA_SUCCESS);
    assert_string_equal(s, "out of memory");
    assert_int_equal(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
    /* An entry point the simulated driver lacks says so. */
    assert_int_equal(cuIpcGetMemHandle(&h, 0), CUDA_ERROR_NOT_SUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_queries),
        cmocka_unit_test(test_context_costs_memory),
        cmocka_unit_test(test_alloc_paths_and_capacity),
        cmocka_unit_test(test_copies_move_data),
        cmocka_unit_test(test_vmm),
        cmocka_unit_test(test_pools_trim_at_sync),
        cmocka_unit_test(test_arrays_count),
        cmocka_unit_test(test_busy_kernel_timing),
        cmocka_unit_test(test_modules_and_libraries),
        cmocka_unit_test(test_graph_capture_and_launch),
        cmocka_unit_test(test_errors_and_unsupported),
    };
    return cmocka_run_group_tests_name("simgpu.driver", tests, setup, teardown);
}
