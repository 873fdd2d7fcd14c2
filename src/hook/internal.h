/* hook internals: the process-wide state of libvgpu.so and the helpers its
 * files share (entry.c, attach.c, mem.c, vmm.c, nvml.c, track.c). */
#ifndef VGPU_HOOK_INTERNAL_H
#define VGPU_HOOK_INTERNAL_H

#include "account.h"
#include "hook.h"
#include "limit_spec.h"
#include "scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Device memory is handed out in 2 MiB pages (measured on an H200:
 * cuMemAlloc of 1 byte costs 2 MiB, see docs/BENCHMARKS.md). */
#define VGPU_GRANULE (2ULL << 20)
/* A stream-ordered pool grows by at least this much (same measurement). */
#define VGPU_POOL_CHUNK (32ULL << 20)

enum vgpu_track_kind {
    TRACK_ALLOC = 1, /* cuMemAlloc, pitch, managed: charged bytes */
    TRACK_ASYNC,     /* stream-ordered allocation: charged to its pool */
    TRACK_ARRAY,     /* CUDA array handle */
    TRACK_PHYS,      /* cuMemCreate handle */
    TRACK_MAP,       /* cuMemMap mapping (key: its address) */
    TRACK_CTX,       /* a context's own memory (key: the context) */
};

struct vgpu_track {
    uint64_t bytes; /* charged bytes; for TRACK_MAP the mapping's size */
    int16_t dev;    /* CUDA ordinal */
    int16_t kind;
    int32_t refs; /* TRACK_PHYS: handle references; TRACK_MAP unused */
    int32_t maps; /* TRACK_PHYS: live mappings */
    uint64_t aux; /* TRACK_ASYNC: pool; TRACK_MAP: the physical handle */
};

/* A stream-ordered pool and what the account has been charged for it. */
struct vgpu_pool {
    CUmemoryPool pool;
    int dev;
    uint64_t charged; /* equals the pool's reserved memory when last looked */
    uint64_t used;    /* bytes lent out by this process */
};

#define VGPU_MAX_POOLS 64

/* Work this process has put on one GPU under its lease and not yet seen
 * finish: an event recorded after each operation while the GPU is shared
 * (gate.c). */
#define VGPU_RING 64
#define VGPU_LEASE_CTXS 4

/* Why every operation on a GPU takes the gate's slow path (vgpu_lease.slow),
 * besides the lease or the hint word: */
#define VGPU_SLOW_TRACK 1u /* in-flight work is tracked (bound != 0) */
#define VGPU_SLOW_RATE 2u  /* the tenant has a rate limit: a token per operation */

/* This process's side of one GPU's lease (lease.c, gate.c). */
struct vgpu_lease {
    int gpu;                    /* scheduler GPU slot; -1: not scheduled */
    bool used;                  /* told the scheduler we use this GPU */
    _Atomic uint64_t entered;   /* operations past the gate ... */
    _Atomic uint64_t left;      /* ... and those that were submitted (or failed) */
    _Atomic uint32_t hint_seen; /* the GPU's hint word the bound was computed from */
    _Atomic uint32_t bound;     /* in-flight limit while tracking; 0: not tracking */
    _Atomic uint32_t slow;      /* VGPU_SLOW_*: 0 lets the gate's fast path run */
    _Atomic uint32_t untracked; /* an operation of this lease ran untracked */
    uint64_t seen_entered;      /* agent: `entered` at its last look */
    int idle_looks;             /* agent: looks in a row that found us idle */
    pthread_mutex_t ring_lock;  /* guards ring, head, count, ctx */
    struct {
        CUevent ev;
        CUcontext ctx;
    } ring[VGPU_RING];
    unsigned head, count;
    CUcontext ctx[VGPU_LEASE_CTXS]; /* contexts that put work on the GPU */
    int nctx;
};

struct vgpu__process {
    pthread_mutex_t lock; /* guards attaching and the tables below */
    bool broken;          /* configuration error: fail closed */
    char tenant[64];
    bool tenant_given;    /* VGPU_TENANT was set */
    _Atomic int vgpud_fd; /* the connection to vgpud in managed mode, else -1 */
    bool watching;        /* the thread that re-attaches after a vgpud restart runs */
    struct vgpu_limits limits, soft;
    void *libcuda, *libnvml;
    /* attachment (cuInit) */
    _Atomic int attached;
    struct vgpu_acct *acct;
    int slot; /* our row in acct->proc */
    int ndev;
    int dslot[VGPU_MAX_DEVICES]; /* CUDA ordinal -> account device slot */
    char uuid[VGPU_MAX_DEVICES][48];
    /* primary contexts: our reference count and the charge for each */
    int primary_refs[VGPU_MAX_DEVICES];
    uint64_t primary_charge[VGPU_MAX_DEVICES];
    bool soft_warned;
    bool nvml_ready;
    pthread_mutex_t pool_lock; /* serialises stream-ordered allocation */
    struct vgpu_pool pools[VGPU_MAX_POOLS];
    int npools;
    /* GPU time (lease.c) */
    struct vgpu_sched *sched;
    int sched_tenant, sched_client; /* slots; -1 before attach */
    uint32_t me;                    /* sched_client + 1: the lease word's holder field */
    uint32_t share;                 /* standalone policy from the environment */
    uint32_t rate, burst;
    int klass;
    bool agent_running;
    struct vgpu_lease lease[VGPU_MAX_DEVICES];
    /* NCCL (nccl.c) */
    _Atomic bool nccl_seen;    /* a collective ran in this process */
    _Atomic uint64_t nccl_ops; /* GPU operations NCCL issued, past the gate */
};

/* Depth of NCCL calls on this thread: their GPU work bypasses the gate. The
 * library is preloaded, so its TLS is in the static block (one load). */
extern __thread int vgpu__in_nccl __attribute__((tls_model("initial-exec")));

extern struct vgpu__process vgpu__proc;

/* attach.c */
/* init + attach + the current context's device; the error to return if not. */
CUresult vgpu__prologue(int *dev);
/* Reserves bytes on CUDA device `dev` (reconciling pools and reaping before
 * refusing). CUDA_ERROR_OUT_OF_MEMORY when the tenant's limit is reached. */
CUresult vgpu__charge(int dev, uint64_t bytes);
void vgpu__uncharge(int dev, uint64_t bytes);
/* Adds bytes the device already holds for us, limit or not. */
void vgpu__charge_anyway(int dev, uint64_t bytes);
uint64_t vgpu__limit(int dev);
uint64_t vgpu__used(int dev);
/* Device memory NVML says this process holds on `dev`, or UINT64_MAX. */
uint64_t vgpu__nvml_process_used(int dev);
/* Forgets everything process-local (a forked child starts afresh). */
void vgpu__forget_process(void);

/* managed.c: the link to vgpud. Attach (with P->lock held) asks vgpud for
 * this process's tenant; CUDA_SUCCESS also when there is no vgpud
 * (standalone), an error when vgpud refuses. */
CUresult vgpu__managed_attach(void);
/* In a forked child: the parent's connection is not ours. */
void vgpu__managed_forget(void);

/* lease.c: this process as a client of the GPU-time scheduler. */
/* Reads VGPU_COMPUTE_SHARE / CUDA_DEVICE_SM_LIMIT, VGPU_PRIORITY and
 * VGPU_RATE_LIMIT / VGPU_RATE_BURST; false (with a message in err) for a bad
 * value. */
bool vgpu__lease_config(char *err, size_t errlen);
/* Joins the scheduler (attach, with P->lock held). */
CUresult vgpu__lease_attach(void);
/* The gate's slow path for work going to `stream` (called with L->entered
 * counted, returns with it counted): waits until this process holds device
 * dev's lease, for a token when the tenant has a rate limit (unless the
 * stream is capturing) and, while tracking, until fewer than the bound
 * operations are in flight, the lease still ours after those waits. */
CUresult vgpu__gate_slow(int dev, CUstream stream);
/* Tracking: records the end of the operation just submitted on `stream`. */
void vgpu__track_after(int dev, CUstream stream);
/* Recomputes the in-flight bound and the slow-path reasons from the GPU's
 * hint word `hint` and the tenant's policy. */
void vgpu__lease_rebound(int dev, uint32_t hint);
void vgpu__lease_forget(void);

/* entry.c: the definition of `name` in the first object loaded after
 * libvgpu.so that has one (the real NCCL behind our wrappers), or NULL. */
void *vgpu__next_symbol(const char *name);

/* track.c: allocation bookkeeping, keyed by pointer or handle. */
void vgpu__track_put(uint64_t key, const struct vgpu_track *t);
bool vgpu__track_take(uint64_t key, struct vgpu_track *out);
bool vgpu__track_get(uint64_t key, struct vgpu_track *out);
/* Applies `fn` to the entry of `key` under the table's lock. */
bool vgpu__track_update(uint64_t key, void (*fn)(struct vgpu_track *, void *), void *arg);
void vgpu__track_clear(void);

/* mem.c */
/* Brings every known pool's charge in line with what it really reserves. */
void vgpu__pools_reconcile(void);

static inline uint64_t vgpu__round(uint64_t x, uint64_t to)
{
    return (x + to - 1) / to * to;
}

#endif
