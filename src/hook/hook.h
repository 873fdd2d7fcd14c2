/* hook: libvgpu.so, the LD_PRELOAD library inside every tenant process.
 *
 * It owns the interception of the CUDA driver API and NVML (this header's
 * X-macro lists are the one place a hooked function is named), the process's
 * view of its tenant's memory account (account.h), and the limits read from
 * the environment. It may call: the real driver and NVML (through pointers
 * resolved with the real dlsym), src/common. It is loaded into arbitrary
 * programs, so: nothing runs at load time, initialisation is lazy and
 * once-only, no hooked call allocates or logs on its fast path, and a bad
 * configuration fails closed (CUDA calls return an error) instead of running
 * unlimited.
 *
 * Reaching the real driver: every hooked entry point is exported under the
 * driver's own name (for programs linked with -lcuda), handed out by our
 * dlsym override (for libraries that dlopen libcuda.so.1) and by our
 * cuGetProcAddress (for libcudart, which asks for everything by base name,
 * version and flags: cuda_names resolves which versioned entry point that
 * request means, and if it is one of ours we return our hook). */
#ifndef VGPU_HOOK_H
#define VGPU_HOOK_H

#define __CUDA_API_VERSION_INTERNAL 1 /* real entry-point names, not cuda.h's macros */
#include <cuda.h>

#include "nvml_types.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define VGPU_EXPORT __attribute__((visibility("default")))

/* X(symbol, prototype source): hooked driver entry points. A _ptsz/_ptds twin
 * takes its prototype from its legacy twin. */
#define VGPU_CUDA_HOOKS(X)                                                                         \
    X(cuInit, cuInit)                                                                              \
    X(cuGetProcAddress, cuGetProcAddress)                                                          \
    X(cuGetProcAddress_v2, cuGetProcAddress_v2)                                                    \
    X(cuDeviceTotalMem_v2, cuDeviceTotalMem_v2)                                                    \
    X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain)                                          \
    X(cuDevicePrimaryCtxRelease_v2, cuDevicePrimaryCtxRelease_v2)                                  \
    X(cuDevicePrimaryCtxReset_v2, cuDevicePrimaryCtxReset_v2)                                      \
    X(cuCtxCreate_v2, cuCtxCreate_v2)                                                              \
    X(cuCtxCreate_v3, cuCtxCreate_v3)                                                              \
    X(cuCtxCreate_v4, cuCtxCreate_v4)                                                              \
    X(cuCtxDestroy_v2, cuCtxDestroy_v2)                                                            \
    X(cuMemGetInfo_v2, cuMemGetInfo_v2)                                                            \
    X(cuMemAlloc_v2, cuMemAlloc_v2)                                                                \
    X(cuMemAllocPitch_v2, cuMemAllocPitch_v2)                                                      \
    X(cuMemAllocManaged, cuMemAllocManaged)                                                        \
    X(cuMemFree_v2, cuMemFree_v2)                                                                  \
    X(cuMemAllocAsync, cuMemAllocAsync)                                                            \
    X(cuMemAllocAsync_ptsz, cuMemAllocAsync)                                                       \
    X(cuMemAllocFromPoolAsync, cuMemAllocFromPoolAsync)                                            \
    X(cuMemAllocFromPoolAsync_ptsz, cuMemAllocFromPoolAsync)                                       \
    X(cuMemFreeAsync, cuMemFreeAsync)                                                              \
    X(cuMemFreeAsync_ptsz, cuMemFreeAsync)                                                         \
    X(cuMemPoolTrimTo, cuMemPoolTrimTo)                                                            \
    X(cuMemPoolDestroy, cuMemPoolDestroy)                                                          \
    X(cuMemCreate, cuMemCreate)                                                                    \
    X(cuMemRelease, cuMemRelease)                                                                  \
    X(cuMemRetainAllocationHandle, cuMemRetainAllocationHandle)                                    \
    X(cuMemMap, cuMemMap)                                                                          \
    X(cuMemUnmap, cuMemUnmap)                                                                      \
    X(cuArrayCreate_v2, cuArrayCreate_v2)                                                          \
    X(cuArray3DCreate_v2, cuArray3DCreate_v2)                                                      \
    X(cuArrayDestroy, cuArrayDestroy)                                                              \
    VGPU_CUDA_GATED(X)

/* Hooked entry points that put work on a GPU: each waits at the gate (gate.c)
 * for its GPU's lease. _ptsz/_ptds twins take the legacy twin's prototype. */
#define VGPU_CUDA_GATED(X)                                                                         \
    X(cuLaunchKernel, cuLaunchKernel)                                                              \
    X(cuLaunchKernel_ptsz, cuLaunchKernel)                                                         \
    X(cuLaunchKernelEx, cuLaunchKernelEx)                                                          \
    X(cuLaunchKernelEx_ptsz, cuLaunchKernelEx)                                                     \
    X(cuLaunchCooperativeKernel, cuLaunchCooperativeKernel)                                        \
    X(cuLaunchCooperativeKernel_ptsz, cuLaunchCooperativeKernel)                                   \
    X(cuGraphLaunch, cuGraphLaunch)                                                                \
    X(cuGraphLaunch_ptsz, cuGraphLaunch)                                                           \
    X(cuMemcpy, cuMemcpy)                                                                          \
    X(cuMemcpy_ptds, cuMemcpy)                                                                     \
    X(cuMemcpyAsync, cuMemcpyAsync)                                                                \
    X(cuMemcpyAsync_ptsz, cuMemcpyAsync)                                                           \
    X(cuMemcpyPeer, cuMemcpyPeer)                                                                  \
    X(cuMemcpyPeer_ptds, cuMemcpyPeer)                                                             \
    X(cuMemcpyPeerAsync, cuMemcpyPeerAsync)                                                        \
    X(cuMemcpyPeerAsync_ptsz, cuMemcpyPeerAsync)                                                   \
    X(cuMemcpyHtoD_v2, cuMemcpyHtoD_v2)                                                            \
    X(cuMemcpyHtoD_v2_ptds, cuMemcpyHtoD_v2)                                                       \
    X(cuMemcpyDtoH_v2, cuMemcpyDtoH_v2)                                                            \
    X(cuMemcpyDtoH_v2_ptds, cuMemcpyDtoH_v2)                                                       \
    X(cuMemcpyDtoD_v2, cuMemcpyDtoD_v2)                                                            \
    X(cuMemcpyDtoD_v2_ptds, cuMemcpyDtoD_v2)                                                       \
    X(cuMemcpyDtoA_v2, cuMemcpyDtoA_v2)                                                            \
    X(cuMemcpyDtoA_v2_ptds, cuMemcpyDtoA_v2)                                                       \
    X(cuMemcpyAtoD_v2, cuMemcpyAtoD_v2)                                                            \
    X(cuMemcpyAtoD_v2_ptds, cuMemcpyAtoD_v2)                                                       \
    X(cuMemcpyHtoA_v2, cuMemcpyHtoA_v2)                                                            \
    X(cuMemcpyHtoA_v2_ptds, cuMemcpyHtoA_v2)                                                       \
    X(cuMemcpyAtoH_v2, cuMemcpyAtoH_v2)                                                            \
    X(cuMemcpyAtoH_v2_ptds, cuMemcpyAtoH_v2)                                                       \
    X(cuMemcpyAtoA_v2, cuMemcpyAtoA_v2)                                                            \
    X(cuMemcpyAtoA_v2_ptds, cuMemcpyAtoA_v2)                                                       \
    X(cuMemcpy2D_v2, cuMemcpy2D_v2)                                                                \
    X(cuMemcpy2D_v2_ptds, cuMemcpy2D_v2)                                                           \
    X(cuMemcpy2DUnaligned_v2, cuMemcpy2DUnaligned_v2)                                              \
    X(cuMemcpy2DUnaligned_v2_ptds, cuMemcpy2DUnaligned_v2)                                         \
    X(cuMemcpy3D_v2, cuMemcpy3D_v2)                                                                \
    X(cuMemcpy3D_v2_ptds, cuMemcpy3D_v2)                                                           \
    X(cuMemcpy3DPeer, cuMemcpy3DPeer)                                                              \
    X(cuMemcpy3DPeer_ptds, cuMemcpy3DPeer)                                                         \
    X(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2)                                                  \
    X(cuMemcpyHtoDAsync_v2_ptsz, cuMemcpyHtoDAsync_v2)                                             \
    X(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2)                                                  \
    X(cuMemcpyDtoHAsync_v2_ptsz, cuMemcpyDtoHAsync_v2)                                             \
    X(cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2)                                                  \
    X(cuMemcpyDtoDAsync_v2_ptsz, cuMemcpyDtoDAsync_v2)                                             \
    X(cuMemcpyHtoAAsync_v2, cuMemcpyHtoAAsync_v2)                                                  \
    X(cuMemcpyHtoAAsync_v2_ptsz, cuMemcpyHtoAAsync_v2)                                             \
    X(cuMemcpyAtoHAsync_v2, cuMemcpyAtoHAsync_v2)                                                  \
    X(cuMemcpyAtoHAsync_v2_ptsz, cuMemcpyAtoHAsync_v2)                                             \
    X(cuMemcpy2DAsync_v2, cuMemcpy2DAsync_v2)                                                      \
    X(cuMemcpy2DAsync_v2_ptsz, cuMemcpy2DAsync_v2)                                                 \
    X(cuMemcpy3DAsync_v2, cuMemcpy3DAsync_v2)                                                      \
    X(cuMemcpy3DAsync_v2_ptsz, cuMemcpy3DAsync_v2)                                                 \
    X(cuMemcpy3DPeerAsync, cuMemcpy3DPeerAsync)                                                    \
    X(cuMemcpy3DPeerAsync_ptsz, cuMemcpy3DPeerAsync)                                               \
    X(cuMemcpyBatchAsync_v2, cuMemcpyBatchAsync_v2)                                                \
    X(cuMemcpyBatchAsync_v2_ptsz, cuMemcpyBatchAsync_v2)                                           \
    X(cuMemcpy3DBatchAsync_v2, cuMemcpy3DBatchAsync_v2)                                            \
    X(cuMemcpy3DBatchAsync_v2_ptsz, cuMemcpy3DBatchAsync_v2)                                       \
    X(cuMemsetD8_v2, cuMemsetD8_v2)                                                                \
    X(cuMemsetD8_v2_ptds, cuMemsetD8_v2)                                                           \
    X(cuMemsetD16_v2, cuMemsetD16_v2)                                                              \
    X(cuMemsetD16_v2_ptds, cuMemsetD16_v2)                                                         \
    X(cuMemsetD32_v2, cuMemsetD32_v2)                                                              \
    X(cuMemsetD32_v2_ptds, cuMemsetD32_v2)                                                         \
    X(cuMemsetD2D8_v2, cuMemsetD2D8_v2)                                                            \
    X(cuMemsetD2D8_v2_ptds, cuMemsetD2D8_v2)                                                       \
    X(cuMemsetD2D16_v2, cuMemsetD2D16_v2)                                                          \
    X(cuMemsetD2D16_v2_ptds, cuMemsetD2D16_v2)                                                     \
    X(cuMemsetD2D32_v2, cuMemsetD2D32_v2)                                                          \
    X(cuMemsetD2D32_v2_ptds, cuMemsetD2D32_v2)                                                     \
    X(cuMemsetD8Async, cuMemsetD8Async)                                                            \
    X(cuMemsetD8Async_ptsz, cuMemsetD8Async)                                                       \
    X(cuMemsetD16Async, cuMemsetD16Async)                                                          \
    X(cuMemsetD16Async_ptsz, cuMemsetD16Async)                                                     \
    X(cuMemsetD32Async, cuMemsetD32Async)                                                          \
    X(cuMemsetD32Async_ptsz, cuMemsetD32Async)                                                     \
    X(cuMemsetD2D8Async, cuMemsetD2D8Async)                                                        \
    X(cuMemsetD2D8Async_ptsz, cuMemsetD2D8Async)                                                   \
    X(cuMemsetD2D16Async, cuMemsetD2D16Async)                                                      \
    X(cuMemsetD2D16Async_ptsz, cuMemsetD2D16Async)                                                 \
    X(cuMemsetD2D32Async, cuMemsetD2D32Async)                                                      \
    X(cuMemsetD2D32Async_ptsz, cuMemsetD2D32Async)

/* Driver entry points libvgpu calls but does not hook. */
#define VGPU_CUDA_USES(X)                                                                          \
    X(cuDeviceGetCount, cuDeviceGetCount)                                                          \
    X(cuDeviceGetUuid_v2, cuDeviceGetUuid_v2)                                                      \
    X(cuCtxGetDevice, cuCtxGetDevice)                                                              \
    X(cuDeviceGetMemPool, cuDeviceGetMemPool)                                                      \
    X(cuMemPoolGetAttribute, cuMemPoolGetAttribute)                                                \
    X(cuMemGetAllocationPropertiesFromHandle, cuMemGetAllocationPropertiesFromHandle)              \
    X(cuStreamGetCtx, cuStreamGetCtx)                                                              \
    X(cuCtxPushCurrent_v2, cuCtxPushCurrent_v2)                                                    \
    X(cuCtxPopCurrent_v2, cuCtxPopCurrent_v2)                                                      \
    X(cuCtxGetCurrent, cuCtxGetCurrent)                                                            \
    X(cuCtxSynchronize, cuCtxSynchronize)                                                          \
    X(cuEventCreate, cuEventCreate)                                                                \
    X(cuEventDestroy_v2, cuEventDestroy_v2)                                                        \
    X(cuEventRecord, cuEventRecord)                                                                \
    X(cuEventQuery, cuEventQuery)                                                                  \
    X(cuEventSynchronize, cuEventSynchronize)                                                      \
    X(cuStreamIsCapturing, cuStreamIsCapturing)                                                    \
    X(cuThreadExchangeStreamCaptureMode, cuThreadExchangeStreamCaptureMode)

/* Hooked NVML entry points, and NVML entry points libvgpu only calls. */
#define VGPU_NVML_HOOKS(X)                                                                         \
    X(nvmlDeviceGetMemoryInfo, nvmlDeviceGetMemoryInfo)                                            \
    X(nvmlDeviceGetMemoryInfo_v2, nvmlDeviceGetMemoryInfo_v2)
#define VGPU_NVML_USES(X)                                                                          \
    X(nvmlInit_v2, nvmlInit_v2)                                                                    \
    X(nvmlDeviceGetUUID, nvmlDeviceGetUUID)                                                        \
    X(nvmlDeviceGetHandleByUUID, nvmlDeviceGetHandleByUUID)                                        \
    X(nvmlDeviceGetComputeRunningProcesses_v3, nvmlDeviceGetComputeRunningProcesses_v3)

#define VGPU__DECLARE(name, src) VGPU_EXPORT __typeof__(src) name;
VGPU_CUDA_HOOKS(VGPU__DECLARE)
VGPU_NVML_HOOKS(VGPU__DECLARE)
#undef VGPU__DECLARE

enum vgpu_fn_id {
#define VGPU__ID(name, src) VGPU_ID_##name,
    VGPU_CUDA_HOOKS(VGPU__ID) VGPU_CUDA_USES(VGPU__ID) VGPU_ID_CUDA_END,
    VGPU_NVML_HOOKS(VGPU__ID) VGPU_NVML_USES(VGPU__ID) VGPU_ID_COUNT
#undef VGPU__ID
};

/* Real entry points, indexed by vgpu_fn_id; written once by initialisation,
 * read with relaxed loads. */
extern _Atomic(void *) vgpu__real[VGPU_ID_COUNT];

/* The real function behind `name`, typed: REAL(cuMemAlloc_v2)(&p, n). */
#define REAL(name)                                                                                 \
    ((__typeof__(&name))atomic_load_explicit(&vgpu__real[VGPU_ID_##name], memory_order_relaxed))
#define REAL_AS(name, src)                                                                         \
    ((__typeof__(&src))atomic_load_explicit(&vgpu__real[VGPU_ID_##name], memory_order_relaxed))

/* Library-wide initialisation (pthread_once): environment, the real driver
 * and NVML. Returns CUDA_SUCCESS, or the error every hooked call must return
 * (a bad configuration, no driver). */
CUresult vgpu__init(void);
/* Device and account attachment, done by cuInit once the driver is up. */
CUresult vgpu__attach(void);
/* Our hook for a versioned entry-point name, or NULL when it is not hooked. */
void *vgpu__hook_by_name(const char *name);

/* True once the failing configuration has been reported (fail closed). */
bool vgpu__config_broken(void);

#endif
