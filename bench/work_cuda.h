/*
 * work_cuda.h: the CUDA driver entry points vgpu-work uses, loaded at run
 * time from libcuda.so.1 (see work_cuda.c).
 */
#ifndef VGPU_BENCH_WORK_CUDA_H
#define VGPU_BENCH_WORK_CUDA_H

#include <stddef.h>

#include <cuda.h>
#include <cudaTypedefs.h>

/*
 * One line per entry point: struct field, the base name given to
 * cuGetProcAddress (as libcudart asks for it; the driver answers with its
 * newest version, e.g. cuMemAlloc_v2), and the cudaTypedefs.h type of that
 * newest version. The names are string literals because cuda.h #defines
 * several of them to their versioned spellings.
 */
#define WORK_CU_FUNCS(X)                                                                           \
    X(get_error_name, "cuGetErrorName", PFN_cuGetErrorName_v6000)                                  \
    X(init, "cuInit", PFN_cuInit_v2000)                                                            \
    X(driver_get_version, "cuDriverGetVersion", PFN_cuDriverGetVersion_v2020)                      \
    X(device_get_count, "cuDeviceGetCount", PFN_cuDeviceGetCount_v2000)                            \
    X(device_get, "cuDeviceGet", PFN_cuDeviceGet_v2000)                                            \
    X(device_get_name, "cuDeviceGetName", PFN_cuDeviceGetName_v2000)                               \
    X(device_get_attribute, "cuDeviceGetAttribute", PFN_cuDeviceGetAttribute_v2000)                \
    X(primary_ctx_retain, "cuDevicePrimaryCtxRetain", PFN_cuDevicePrimaryCtxRetain_v7000)          \
    X(primary_ctx_release, "cuDevicePrimaryCtxRelease", PFN_cuDevicePrimaryCtxRelease_v11000)      \
    X(ctx_set_current, "cuCtxSetCurrent", PFN_cuCtxSetCurrent_v4000)                               \
    X(mem_get_info, "cuMemGetInfo", PFN_cuMemGetInfo_v3020)                                        \
    X(mem_alloc, "cuMemAlloc", PFN_cuMemAlloc_v3020)                                               \
    X(mem_free, "cuMemFree", PFN_cuMemFree_v3020)                                                  \
    X(module_load_data, "cuModuleLoadData", PFN_cuModuleLoadData_v2000)                            \
    X(module_unload, "cuModuleUnload", PFN_cuModuleUnload_v2000)                                   \
    X(module_get_function, "cuModuleGetFunction", PFN_cuModuleGetFunction_v2000)                   \
    X(stream_create, "cuStreamCreate", PFN_cuStreamCreate_v2000)                                   \
    X(stream_destroy, "cuStreamDestroy", PFN_cuStreamDestroy_v4000)                                \
    X(stream_synchronize, "cuStreamSynchronize", PFN_cuStreamSynchronize_v2000)                    \
    X(launch_kernel, "cuLaunchKernel", PFN_cuLaunchKernel_v4000)

struct work_cu {
    void *lib;
#define WORK_CU_FIELD(field, name, type) type field;
    WORK_CU_FUNCS(WORK_CU_FIELD)
#undef WORK_CU_FIELD
};

/*
 * dlopens libcuda.so.1 and resolves every entry point above through
 * cuGetProcAddress_v2. On failure returns a negative errno and writes a
 * one-line reason (dlerror's text, or the symbol that is missing) to err.
 */
int work_cu_load(struct work_cu *cu, char *err, size_t errlen);

/* dlcloses the library; safe on a zeroed or half-loaded struct. */
void work_cu_unload(struct work_cu *cu);

/* "CUDA_ERROR_OUT_OF_MEMORY (2)"-style text for r, written into buf. */
const char *work_cu_error(const struct work_cu *cu, CUresult r, char *buf, size_t len);

#endif
