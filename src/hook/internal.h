/* hook internals: the process-wide state of libvgpu.so and the helpers its
 * files share (entry.c, attach.c, mem.c, vmm.c, nvml.c, track.c). */
#ifndef VGPU_HOOK_INTERNAL_H
#define VGPU_HOOK_INTERNAL_H

#include "account.h"
#include "hook.h"
#include "limit_spec.h"

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
};

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
