/* gate: every way work reaches a GPU waits here for that GPU's lease.
 *
 * Kernel launches (cuLaunchKernel, cuLaunchKernelEx, cooperative launches),
 * graph launches, copies and memsets, synchronous and asynchronous, with
 * their per-thread-stream twins, pass the gate before the real call. The
 * uncontended path is a counter increment, one load of the GPU's lease word
 * (is it ours, with no yield asked?), one load of its hint word, and a
 * counter increment after the call: no system call, no lock. A process that
 * does not hold the lease waits in lease.c (a futex wait).
 *
 * While the GPU is shared (the hint word says another client uses it) or the
 * tenant has a cap or an in-flight limit, each operation is tracked: an event
 * is recorded after it, and before the next one the gate waits until fewer
 * than the bound are unfinished, so a hand-off waits for about one
 * operation, not for a deep queue. A tenant with a rate limit takes the slow
 * path for every operation too: one token from its bucket in the scheduler's
 * region (vgpu_sched_take_op), or a sleep until there is one. Both reasons
 * are one process-local word (vgpu_lease.slow, set when the hint word or the
 * tenant's policy changes), so the fast path stays one check. The
 * entered/left counters tell the agent (lease.c) when no operation is
 * between the gate and the driver, so it can drain and hand the GPU over.
 *
 * The operation's GPU is the current context's device (one load when the
 * process sees a single device). Stream capture: an operation captured into
 * a graph runs nothing, so it is never tracked nor takes a rate token (its
 * graph launch does). */
#include "internal.h"

#define P (&vgpu__proc)

/* Passes the gate for the current device, for work going to `stream`: *devp
 * is the device (-1 when it is not scheduled), or an error to return instead
 * of the call. */
static inline CUresult gate_enter(int *devp, CUstream stream)
{
    CUresult rc;
    int dev = 0;
    *devp = -1;
    if (__builtin_expect(!atomic_load_explicit(&P->attached, memory_order_acquire), 0) &&
        (rc = vgpu__attach()) != CUDA_SUCCESS)
        return rc;
    if (__builtin_expect(vgpu__in_nccl, 0)) {
        /* A collective's work is never held back between its ranks (nccl.c). */
        atomic_fetch_add_explicit(&P->nccl_ops, 1, memory_order_relaxed);
        return CUDA_SUCCESS;
    }
    if (P->ndev != 1 && (REAL(cuCtxGetDevice)(&dev) != CUDA_SUCCESS || dev < 0 || dev >= P->ndev))
        return CUDA_SUCCESS; /* no context: the real call says what is wrong */
    struct vgpu_lease *L = &P->lease[dev];
    if (L->gpu < 0)
        return CUDA_SUCCESS;
    *devp = dev;
    atomic_fetch_add(&L->entered, 1);
    uint64_t w = atomic_load(&P->sched->gpu[L->gpu].lease);
    uint32_t h = atomic_load_explicit(&P->sched->gpu[L->gpu].hint, memory_order_relaxed);
    if (__builtin_expect((uint32_t)w == P->me &&
                             h == atomic_load_explicit(&L->hint_seen, memory_order_relaxed) &&
                             !atomic_load_explicit(&L->slow, memory_order_relaxed),
                         1)) {
        if (!atomic_load_explicit(&L->untracked, memory_order_relaxed))
            atomic_store_explicit(&L->untracked, 1, memory_order_relaxed);
        return CUDA_SUCCESS;
    }
    if ((rc = vgpu__gate_slow(dev, stream)) != CUDA_SUCCESS)
        atomic_fetch_add(&L->left, 1);
    return rc;
}

static inline void gate_leave(int dev, CUstream stream, CUresult rc)
{
    if (dev < 0)
        return;
    struct vgpu_lease *L = &P->lease[dev];
    if (rc == CUDA_SUCCESS && atomic_load_explicit(&L->bound, memory_order_relaxed))
        vgpu__track_after(dev, stream);
    atomic_fetch_add(&L->left, 1);
}

/* One gated entry point: params and args as in cuda.h; `stream` is the
 * stream the work goes to (an expression over the parameters). */
#define GATED(name, params, args, stream)                                                          \
    CUresult name params                                                                           \
    {                                                                                              \
        int dev;                                                                                   \
        CUresult rc = gate_enter(&dev, stream);                                                    \
        if (rc != CUDA_SUCCESS)                                                                    \
            return rc;                                                                             \
        __typeof__(&name) real = REAL(name);                                                       \
        rc = real ? real args : CUDA_ERROR_NOT_FOUND;                                              \
        gate_leave(dev, stream, rc);                                                               \
        return rc;                                                                                 \
    }
/* The legacy entry point and its per-thread twin (_ptsz: takes a stream;
 * _ptds: synchronous, on the calling thread's default stream). */
#define GATED_PTSZ(name, params, args, stream)                                                     \
    GATED(name, params, args, stream) GATED(name##_ptsz, params, args, stream)
#define GATED_PTDS(name, params, args)                                                             \
    GATED(name, params, args, CU_STREAM_LEGACY)                                                    \
    GATED(name##_ptds, params, args, CU_STREAM_PER_THREAD)

#define LAUNCH_DIMS                                                                                \
    unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shmem

/* ---- kernels and graphs ----------------------------------------------------------- */

GATED_PTSZ(cuLaunchKernel, (CUfunction f, LAUNCH_DIMS, CUstream s, void **params, void **extra),
           (f, gx, gy, gz, bx, by, bz, shmem, s, params, extra), s)
GATED_PTSZ(cuLaunchKernelEx,
           (const CUlaunchConfig *config, CUfunction f, void **params, void **extra),
           (config, f, params, extra), config ? config->hStream : NULL)
GATED_PTSZ(cuLaunchCooperativeKernel, (CUfunction f, LAUNCH_DIMS, CUstream s, void **params),
           (f, gx, gy, gz, bx, by, bz, shmem, s, params), s)
GATED_PTSZ(cuGraphLaunch, (CUgraphExec g, CUstream s), (g, s), s)

/* ---- copies -------------------------------------------------------------------------- */

GATED_PTDS(cuMemcpy, (CUdeviceptr dst, CUdeviceptr src, size_t n), (dst, src, n))
GATED_PTSZ(cuMemcpyAsync, (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s),
           (dst, src, n, s), s)
GATED_PTDS(cuMemcpyPeer, (CUdeviceptr dst, CUcontext dc, CUdeviceptr src, CUcontext sc, size_t n),
           (dst, dc, src, sc, n))
GATED_PTSZ(cuMemcpyPeerAsync,
           (CUdeviceptr dst, CUcontext dc, CUdeviceptr src, CUcontext sc, size_t n, CUstream s),
           (dst, dc, src, sc, n, s), s)
GATED_PTDS(cuMemcpyHtoD_v2, (CUdeviceptr dst, const void *src, size_t n), (dst, src, n))
GATED_PTDS(cuMemcpyDtoH_v2, (void *dst, CUdeviceptr src, size_t n), (dst, src, n))
GATED_PTDS(cuMemcpyDtoD_v2, (CUdeviceptr dst, CUdeviceptr src, size_t n), (dst, src, n))
GATED_PTDS(cuMemcpyDtoA_v2, (CUarray dst, size_t off, CUdeviceptr src, size_t n),
           (dst, off, src, n))
GATED_PTDS(cuMemcpyAtoD_v2, (CUdeviceptr dst, CUarray src, size_t off, size_t n),
           (dst, src, off, n))
GATED_PTDS(cuMemcpyHtoA_v2, (CUarray dst, size_t off, const void *src, size_t n),
           (dst, off, src, n))
GATED_PTDS(cuMemcpyAtoH_v2, (void *dst, CUarray src, size_t off, size_t n), (dst, src, off, n))
GATED_PTDS(cuMemcpyAtoA_v2, (CUarray dst, size_t doff, CUarray src, size_t soff, size_t n),
           (dst, doff, src, soff, n))
GATED_PTDS(cuMemcpy2D_v2, (const CUDA_MEMCPY2D *p), (p))
GATED_PTDS(cuMemcpy2DUnaligned_v2, (const CUDA_MEMCPY2D *p), (p))
GATED_PTDS(cuMemcpy3D_v2, (const CUDA_MEMCPY3D *p), (p))
GATED_PTDS(cuMemcpy3DPeer, (const CUDA_MEMCPY3D_PEER *p), (p))
GATED_PTSZ(cuMemcpyHtoDAsync_v2, (CUdeviceptr dst, const void *src, size_t n, CUstream s),
           (dst, src, n, s), s)
GATED_PTSZ(cuMemcpyDtoHAsync_v2, (void *dst, CUdeviceptr src, size_t n, CUstream s),
           (dst, src, n, s), s)
GATED_PTSZ(cuMemcpyDtoDAsync_v2, (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s),
           (dst, src, n, s), s)
GATED_PTSZ(cuMemcpyHtoAAsync_v2, (CUarray dst, size_t off, const void *src, size_t n, CUstream s),
           (dst, off, src, n, s), s)
GATED_PTSZ(cuMemcpyAtoHAsync_v2, (void *dst, CUarray src, size_t off, size_t n, CUstream s),
           (dst, src, off, n, s), s)
GATED_PTSZ(cuMemcpy2DAsync_v2, (const CUDA_MEMCPY2D *p, CUstream s), (p, s), s)
GATED_PTSZ(cuMemcpy3DAsync_v2, (const CUDA_MEMCPY3D *p, CUstream s), (p, s), s)
GATED_PTSZ(cuMemcpy3DPeerAsync, (const CUDA_MEMCPY3D_PEER *p, CUstream s), (p, s), s)
GATED_PTSZ(cuMemcpyBatchAsync_v2,
           (CUdeviceptr * dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
            CUmemcpyAttributes *attrs, size_t *attr_idx, size_t nattrs, CUstream s),
           (dsts, srcs, sizes, count, attrs, attr_idx, nattrs, s), s)
GATED_PTSZ(cuMemcpy3DBatchAsync_v2,
           (size_t n, CUDA_MEMCPY3D_BATCH_OP *ops, unsigned long long flags, CUstream s),
           (n, ops, flags, s), s)

/* ---- memsets ------------------------------------------------------------------------- */

GATED_PTDS(cuMemsetD8_v2, (CUdeviceptr d, unsigned char v, size_t n), (d, v, n))
GATED_PTDS(cuMemsetD16_v2, (CUdeviceptr d, unsigned short v, size_t n), (d, v, n))
GATED_PTDS(cuMemsetD32_v2, (CUdeviceptr d, unsigned int v, size_t n), (d, v, n))
GATED_PTDS(cuMemsetD2D8_v2, (CUdeviceptr d, size_t pitch, unsigned char v, size_t w, size_t h),
           (d, pitch, v, w, h))
GATED_PTDS(cuMemsetD2D16_v2, (CUdeviceptr d, size_t pitch, unsigned short v, size_t w, size_t h),
           (d, pitch, v, w, h))
GATED_PTDS(cuMemsetD2D32_v2, (CUdeviceptr d, size_t pitch, unsigned int v, size_t w, size_t h),
           (d, pitch, v, w, h))
GATED_PTSZ(cuMemsetD8Async, (CUdeviceptr d, unsigned char v, size_t n, CUstream s), (d, v, n, s), s)
GATED_PTSZ(cuMemsetD16Async, (CUdeviceptr d, unsigned short v, size_t n, CUstream s), (d, v, n, s),
           s)
GATED_PTSZ(cuMemsetD32Async, (CUdeviceptr d, unsigned int v, size_t n, CUstream s), (d, v, n, s), s)
GATED_PTSZ(cuMemsetD2D8Async,
           (CUdeviceptr d, size_t pitch, unsigned char v, size_t w, size_t h, CUstream s),
           (d, pitch, v, w, h, s), s)
GATED_PTSZ(cuMemsetD2D16Async,
           (CUdeviceptr d, size_t pitch, unsigned short v, size_t w, size_t h, CUstream s),
           (d, pitch, v, w, h, s), s)
GATED_PTSZ(cuMemsetD2D32Async,
           (CUdeviceptr d, size_t pitch, unsigned int v, size_t w, size_t h, CUstream s),
           (d, pitch, v, w, h, s), s)
