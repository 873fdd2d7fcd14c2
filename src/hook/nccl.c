/* nccl: NCCL's collectives and point-to-point calls are never held back
 * between the ranks of one collective.
 *
 * The ranks of a collective run in different processes (or threads) on
 * different GPUs, and its kernels wait for one another on the GPU. If the
 * gate held back one rank's kernel until its GPU's lease came round while
 * another rank's kernel already spun waiting for it, and that GPU's holder
 * waited in turn for work that depends on the spinning rank, the hand-offs
 * would close a cycle and the collective would hang. So the work a
 * collective issues bypasses the gate: libvgpu.so exports the entry points
 * of NCCL's API that issue GPU work (ncclAllReduce, ncclBroadcast, ncclBcast,
 * ncclReduce, ncclAllGather, ncclReduceScatter, ncclSend, ncclRecv and
 * ncclGroupEnd, where grouped calls launch; ncclGroupStart for symmetry),
 * each a wrapper that marks its thread as inside NCCL while the real call
 * (the next definition after ours, normally libnccl.so.2) runs. The gate
 * lets every launch, copy and memset of a marked thread through, counted
 * (nccl_ops), and a process that ran NCCL drains with a time-out (lease.c),
 * so no hand-off can wait on a collective for ever. The GPU time such work
 * takes is not in anyone's lease: it is shared by the hardware's
 * time-slicing, as without vgpu.
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
#define NCCL_SYSTEM_ERROR 2

/* The first collective: from now on this process's work is not bounded in
 * flight (lease.c), so every device looks at its bound again. */
static void nccl_first(const char *name)
{
    for (int d = 0; d < VGPU_MAX_DEVICES; d++)
        atomic_store(&P->lease[d].hint_seen, UINT32_MAX);
    if (P->sched && P->sched_client >= 0)
        vgpu_sched_gang(P->sched, P->sched_client); /* our ranks run together */
    vgpu_info("NCCL in use (%s): collectives bypass the lease gate", name);
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
        vgpu__in_nccl++;                                                                           \
        ncclResult_t rc = f args;                                                                  \
        vgpu__in_nccl--;                                                                           \
        return rc;                                                                                 \
    }
VGPU_NCCL_CALLS(WRAP)
#undef WRAP
