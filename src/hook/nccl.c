/* nccl: NCCL's collectives and point-to-point calls run under their ranks'
 * leases and are never held back half-way.
 *
 * The ranks of a collective run in different processes (or threads) on
 * different GPUs, and its kernels wait for one another on the GPU.
 * libvgpu.so exports the entry points of NCCL's API that issue GPU work
 * (ncclAllReduce, ncclBroadcast, ncclBcast, ncclReduce, ncclAllGather,
 * ncclReduceScatter, ncclSend, ncclRecv and ncclGroupEnd, where grouped
 * calls launch; ncclGroupStart for symmetry), each a wrapper around the real
 * call (the next definition after ours, normally libnccl.so.2).
 *
 * A call is admitted whole: the wrapper first takes the lease of the rank's
 * GPU (the current device) like any other operation, then marks its thread
 * as inside NCCL while the real call runs, and the gate lets every launch,
 * copy and memset of a marked thread through (counted, nccl_ops). So the
 * collective's kernels run, and are charged, under the rank's lease, and are
 * never stopped between two of NCCL's own launches. The first call makes
 * the process's ranks a gang (vgpu_sched_gang): one rank holding its GPU
 * gets its peers theirs at their holders' next kernel boundary, so a kernel
 * that waits for its peers waits about one kernel. Nothing can hang: a
 * process that ran NCCL drains with a time-out (lease.c), so a hand-off
 * never waits for a collective for ever, and once a rank's lease is gone
 * its spinning kernel only shares the GPU by the hardware's time-slicing
 * until its peers get theirs.
 *
 * NCCL's types are declared here as its ABI has them (enums are ints,
 * handles are pointers); nccl.h is not needed to build. When no NCCL is
 * loaded behind us, a wrapper answers ncclSystemError. */
#include "internal.h"

#include "common.h"

#include <stddef.h>

#define P (&vgpu__proc)

__thread int vgpu__in_nccl __attribute__((tls_model("initial-exec")));

typedef int ncclResult_t;
typedef int ncclDataType_t;
typedef int ncclRedOp_t;
typedef struct ncclComm *ncclComm_t;
#define NCCL_UNHANDLED_CUDA_ERROR 1
#define NCCL_SYSTEM_ERROR 2

/* The first collective: from now on this process's work is not bounded in
 * flight (lease.c), so every device looks at its bound again. */
static void nccl_first(const char *name)
{
    for (int d = 0; d < VGPU_MAX_DEVICES; d++)
        atomic_store(&P->lease[d].hint_seen, UINT32_MAX);
    if (P->sched && P->sched_client >= 0)
        vgpu_sched_gang(P->sched, P->sched_client); /* our ranks run together */
    vgpu_info("NCCL in use (%s): collectives run under their ranks' leases, as a gang", name);
}

/* X(name, params, args): the wrapped entry points. */
#define VGPU_NCCL_CALLS(X)                                                                         \
    X(ncclAllReduce,                                                                               \
      (const void *send, void *recv, size_t n, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm,  \
       CUstream s),                                                                                \
      (send, recv, n, t, op, comm, s))                                                             \
    X(ncclBroadcast,                                                                               \
      (const void *send, void *recv, size_t n, ncclDataType_t t, int root, ncclComm_t comm,        \
       CUstream s),                                                                                \
      (send, recv, n, t, root, comm, s))                                                           \
    X(ncclBcast, (void *buf, size_t n, ncclDataType_t t, int root, ncclComm_t comm, CUstream s),   \
      (buf, n, t, root, comm, s))                                                                  \
    X(ncclReduce,                                                                                  \
      (const void *send, void *recv, size_t n, ncclDataType_t t, ncclRedOp_t op, int root,         \
       ncclComm_t comm, CUstream s),                                                               \
      (send, recv, n, t, op, root, comm, s))                                                       \
    X(ncclAllGather,                                                                               \
      (const void *send, void *recv, size_t n, ncclDataType_t t, ncclComm_t comm, CUstream s),     \
      (send, recv, n, t, comm, s))                                                                 \
    X(ncclReduceScatter,                                                                           \
      (const void *send, void *recv, size_t n, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm,  \
       CUstream s),                                                                                \
      (send, recv, n, t, op, comm, s))                                                             \
    X(ncclSend,                                                                                    \
      (const void *send, size_t n, ncclDataType_t t, int peer, ncclComm_t comm, CUstream s),       \
      (send, n, t, peer, comm, s))                                                                 \
    X(ncclRecv, (void *recv, size_t n, ncclDataType_t t, int peer, ncclComm_t comm, CUstream s),   \
      (recv, n, t, peer, comm, s))                                                                 \
    X(ncclGroupStart, (void), ())                                                                  \
    X(ncclGroupEnd, (void), ())

#define WRAP(name, params, args)                                                                   \
    VGPU_EXPORT ncclResult_t name params;                                                          \
    ncclResult_t name params                                                                       \
    {                                                                                              \
        typedef ncclResult_t(*fn_t) params;                                                        \
        static _Atomic(fn_t) real;                                                                 \
        fn_t f = atomic_load_explicit(&real, memory_order_acquire);                                \
        if (!f) {                                                                                  \
            f = (fn_t)vgpu__next_symbol(#name);                                                    \
            if (!f) {                                                                              \
                vgpu_error("%s: no NCCL library is loaded behind libvgpu.so", #name);              \
                return NCCL_SYSTEM_ERROR;                                                          \
            }                                                                                      \
            atomic_store_explicit(&real, f, memory_order_release);                                 \
        }                                                                                          \
        if (!atomic_load_explicit(&P->nccl_seen, memory_order_relaxed) &&                          \
            !atomic_exchange(&P->nccl_seen, true))                                                 \
            nccl_first(#name);                                                                     \
        int dev = -1;                                                                              \
        bool gated = !vgpu__in_nccl && __builtin_strcmp(#name, "ncclGroupStart") != 0;             \
        if (gated && vgpu__gate_collective(&dev) != CUDA_SUCCESS)                                  \
            return NCCL_UNHANDLED_CUDA_ERROR;                                                      \
        vgpu__in_nccl++;                                                                           \
        ncclResult_t rc = f args;                                                                  \
        vgpu__in_nccl--;                                                                           \
        if (gated)                                                                                 \
            vgpu__gate_collective_done(dev);                                                       \
        return rc;                                                                                 \
    }
VGPU_NCCL_CALLS(WRAP)
#undef WRAP
