/* simgpu driver internals: the process-local half of the simulated libcuda.
 *
 * The shared half (device table, memory per process, execution timeline) is in
 * state.h. This header defines what one process keeps for itself: the CUDA
 * device list after CUDA_VISIBLE_DEVICES, contexts (a thread-local current
 * stack), streams, events, modules and functions, allocations (each backed by
 * an mmap of host memory, so copies and memsets really move bytes) and VMM
 * objects. The driver's opaque handle types from cuda.h (struct CUctx_st and
 * friends) are defined here; each object starts with a magic number so a
 * stale or foreign handle is refused with CUDA_ERROR_INVALID_HANDLE.
 *
 * Files: drv_core.c (init, devices, contexts), drv_procaddr.c (errors,
 * cuGetProcAddress),
 * drv_mem.c (allocation, host memory, VMM, pools, arrays, pointer queries),
 * drv_copy.c (copies and memsets), drv_exec.c (streams, events, launches,
 * graphs), drv_module.c (modules, libraries, functions, PTX parameters). */
#ifndef SIMGPU_DRV_H
#define SIMGPU_DRV_H

/* Real entry-point names (cuMemAlloc_v2, not the cuMemAlloc macro). */
#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>

#include "common.h"
#include "ptx.h"
#include "state.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define SIM_API __attribute__((visibility("default")))
/* A per-thread-default-stream twin (_ptds/_ptsz) of an entry point: simgpu's
 * default stream is the context's, whichever flavour is asked for. */
#define SIM_TWIN(name, twin)                                                                       \
    extern __typeof__(name) twin __attribute__((alias(#name), visibility("default")))

#define SIM_DRIVER_VERSION 13000

enum sim_magic {
    MAGIC_CTX = 0x43545831,
    MAGIC_STREAM = 0x53545231,
    MAGIC_EVENT = 0x45564e31,
    MAGIC_MODULE = 0x4d4f4431,
    MAGIC_LIBRARY = 0x4c494231,
    MAGIC_FUNC = 0x46554e31,
    MAGIC_POOL = 0x504f4f31,
    MAGIC_ARRAY = 0x41525231,
    MAGIC_GRAPH = 0x47524131,
    MAGIC_GNODE = 0x474e4431,
    MAGIC_GEXEC = 0x47455831,
    MAGIC_PHYS = 0x50485931,
    MAGIC_DEAD = 0x44454144,
};

struct CUstream_st {
    uint32_t magic;
    unsigned flags;
    int priority;
    struct CUctx_st *ctx;
    _Atomic uint64_t last_end; /* end time of its last work item */
    unsigned long long id;
    struct CUgraph_st *capture; /* non-NULL while capturing */
    CUstreamCaptureMode capture_mode;
    unsigned long long capture_id;
};

struct CUctx_st {
    uint32_t magic;
    int dev; /* CUDA ordinal in this process */
    int gpu; /* index in the shared device table */
    bool primary;
    unsigned flags;
    _Atomic uint64_t last_end;
    unsigned long long id;
    size_t limits[CU_LIMIT_MAX > 0 ? CU_LIMIT_MAX : 16];
    struct CUstream_st null_stream;
};

struct CUevent_st {
    uint32_t magic;
    unsigned flags;
    struct CUctx_st *ctx;
    _Atomic uint64_t time_ns; /* 0: never recorded */
};

struct CUfunc_st {
    uint32_t magic;
    struct CUmod_st *mod;
    struct CUfunc_st *next;
    bool busy;   /* vgpu_sim_busy: its first parameter is the run time in us */
    int nparams; /* -1: unknown (not a PTX image) */
    struct simgpu_ptx_param params[32];
    int attrs[CU_FUNC_ATTRIBUTE_MAX > 0 ? CU_FUNC_ATTRIBUTE_MAX : 16];
    char name[160];
};

struct CUmod_st {
    uint32_t magic;
    struct CUctx_st *ctx;
    char *ptx; /* NUL-terminated copy when the image is PTX text, else NULL */
    pthread_mutex_t mu;
    struct CUfunc_st *funcs;
};

struct CUlib_st {
    uint32_t magic;
    struct CUmod_st mod;
};

struct CUmemPoolHandle_st {
    uint32_t magic;
    int gpu;
    bool is_default;
    bool destroyed;
    struct CUmemPoolHandle_st *next;
    uint64_t reserved, used, threshold, reserved_high, used_high;
};

struct CUarray_st {
    uint32_t magic;
    int gpu;
    CUDA_ARRAY3D_DESCRIPTOR desc;
    uint64_t charged;
    void *data;
    size_t bytes;
};

/* Physical memory from cuMemCreate: a memfd that mappings share. */
struct sim_phys {
    uint32_t magic;
    int gpu;
    int fd;
    size_t size;
    int maps; /* live cuMemMap mappings */
    int refs; /* cuMemCreate and cuMemRetainAllocationHandle references */
};

enum sim_region_kind {
    REGION_DEVICE = 1, /* cuMemAlloc, pitch */
    REGION_MANAGED,
    REGION_POOL, /* stream-ordered allocation */
    REGION_HOST, /* pinned host memory (cuMemAllocHost, cuMemHostAlloc, registered) */
    REGION_VA,   /* cuMemAddressReserve: valid only where mapped */
};

struct sim_region {
    uintptr_t base;
    size_t size;
    enum sim_region_kind kind;
    int gpu;
    uint64_t charged; /* bytes taken from the device for it (0 for pool and host) */
    struct CUmemPoolHandle_st *pool;
    bool registered; /* host memory the caller owns (cuMemHostRegister) */
};

struct sim_mapping {
    uintptr_t base;
    size_t size;
    struct sim_phys *phys;
    int prot; /* PROT_* set by cuMemSetAccess */
};

/* The process-wide driver state. */
struct sim_driver {
    pthread_mutex_t mu; /* guards everything below except the atomics */
    _Atomic int initialized;
    pid_t pid;
    struct simgpu_state *st;
    int slot; /* this process's row in st->proc */
    int ndev;
    int gpu_of[SIMGPU_MAX_GPUS]; /* CUDA ordinal -> shared device index */
    struct CUctx_st *primary[SIMGPU_MAX_GPUS];
    int primary_refs[SIMGPU_MAX_GPUS];
    unsigned primary_flags[SIMGPU_MAX_GPUS];
    struct CUmemPoolHandle_st *default_pool[SIMGPU_MAX_GPUS];
    struct CUmemPoolHandle_st *current_pool[SIMGPU_MAX_GPUS];
    struct CUmemPoolHandle_st *pools; /* every pool, default ones included */
    struct sim_region *regions;       /* sorted by base */
    size_t nregions, cap_regions;
    struct sim_mapping *maps; /* sorted by base */
    size_t nmaps, cap_maps;
    _Atomic unsigned long long next_id;
};

struct sim_driver *sim_drv(void);

/* Entry checks: initialised, and a current context (or the one given). */
CUresult sim_check_init(void);
CUresult sim_current_ctx(struct CUctx_st **out);
CUresult sim_check_ctx(struct CUctx_st *ctx);
CUresult sim_check_dev(CUdevice dev);

/* Contexts (drv_core.c). */
CUresult sim_ctx_new(int dev, bool primary, unsigned flags, struct CUctx_st **out);
void sim_ctx_free(struct CUctx_st *ctx);

/* Streams and work submission (drv_exec.c). */
/* Resolves a stream argument (NULL, legacy, per-thread or a real stream). */
CUresult sim_stream_resolve(CUstream hs, struct CUstream_st **out);
/* Queues `dur_ns` of device time on the stream; waits for it when `sync`. */
CUresult sim_stream_submit(struct CUstream_st *s, uint64_t dur_ns, enum simgpu_work_kind kind,
                           bool sync);
/* Releases pool memory above each pool's threshold (at synchronisation). */
void sim_pools_trim(int gpu);

/* Regions (drv_mem.c); callers hold sim_drv()->mu. */
struct sim_region *sim_region_find(uintptr_t addr);
/* True when [addr, addr+len) is device-accessible memory of this process. */
bool sim_range_valid(uintptr_t addr, size_t len);
/* Takes bytes of a device's memory for this process (shared state). */
CUresult sim_charge(int gpu, uint64_t bytes);
void sim_uncharge(int gpu, uint64_t bytes);
/* Maps `bytes` of backing memory, charges `charged` to `gpu` and records the
 * region; takes sim_drv()->mu itself. */
CUresult sim_alloc_region(int gpu, size_t bytes, enum sim_region_kind kind,
                          struct CUmemPoolHandle_st *pool, uint64_t charged, CUdeviceptr *out);
/* Removes the region at `base` of one of `kinds` (a bit mask of 1 << kind),
 * unmaps it and returns it in *out; CUDA_ERROR_INVALID_VALUE if none. */
CUresult sim_free_region(uintptr_t base, unsigned kinds, struct sim_region *out);
/* CUDA ordinal of a shared device index (-1 when not visible). */
int sim_dev_of_gpu(int gpu);

uint64_t sim_round_up(uint64_t x, uint64_t to);

#endif
