/* simgpu driver core: cuInit, device enumeration and queries, contexts.
 *
 * Enumeration follows the real driver: CUDA devices are the physical GPUs not
 * in MIG mode plus the MIG instances of those that are, ordered fastest first
 * (CUDA_DEVICE_ORDER=PCI_BUS_ID orders them as NVML does), then filtered and
 * reordered by CUDA_VISIBLE_DEVICES (indices, GPU-/MIG- UUIDs or unique
 * prefixes of them; parsing stops at the first entry that matches nothing).
 * Entry-point lookup and error names are in drv_procaddr.c. */
#include "drv.h"
#include "procaddr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct sim_driver g_drv = {.mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

/* The current-context stack of this thread. */
static _Thread_local struct CUctx_st *tls_ctx[32];
static _Thread_local int tls_depth;

struct sim_driver *sim_drv(void)
{
    return &g_drv;
}

uint64_t sim_round_up(uint64_t x, uint64_t to)
{
    return (x + to - 1) / to * to;
}

int simgpu_unsupported(const char *name, int *warned)
{
    if (!__atomic_exchange_n(warned, 1, __ATOMIC_RELAXED))
        fprintf(stderr, "simgpu: %s is not supported by the simulated driver\n", name);
    return CUDA_ERROR_NOT_SUPPORTED;
}

/* A forked child starts with no driver state, as with the real driver: it must
 * call cuInit again and sees none of its parent's contexts or allocations. */
static void atfork_child(void)
{
    pthread_mutex_init(&g_drv.mu, NULL);
    atomic_store(&g_drv.initialized, 0);
    memset(g_drv.primary, 0, sizeof(g_drv.primary));
    memset(g_drv.primary_refs, 0, sizeof(g_drv.primary_refs));
    memset(g_drv.default_pool, 0, sizeof(g_drv.default_pool));
    memset(g_drv.current_pool, 0, sizeof(g_drv.current_pool));
    free(g_drv.regions);
    free(g_drv.maps);
    g_drv.regions = NULL;
    g_drv.maps = NULL;
    g_drv.nregions = g_drv.cap_regions = g_drv.nmaps = g_drv.cap_maps = 0;
    tls_depth = 0;
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

CUresult sim_check_init(void)
{
    return atomic_load_explicit(&g_drv.initialized, memory_order_acquire)
               ? CUDA_SUCCESS
               : CUDA_ERROR_NOT_INITIALIZED;
}

CUresult sim_check_dev(CUdevice dev)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    return dev >= 0 && dev < g_drv.ndev ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult sim_check_ctx(struct CUctx_st *ctx)
{
    if (!ctx)
        return CUDA_ERROR_INVALID_CONTEXT;
    return ctx->magic == MAGIC_CTX ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult sim_current_ctx(struct CUctx_st **out)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (tls_depth == 0 || !tls_ctx[tls_depth - 1])
        return CUDA_ERROR_INVALID_CONTEXT;
    *out = tls_ctx[tls_depth - 1];
    return sim_check_ctx(*out);
}

/* ---- enumeration -------------------------------------------------------- */

static bool is_cuda_device(const struct simgpu_gpu *g, const struct simgpu_state *st)
{
    if (g->parent < 0)
        return !g->mig_enabled;
    return st->gpu[g->parent].mig_enabled;
}

/* Matches one CUDA_VISIBLE_DEVICES entry against the default-ordered list. */
static int match_visible(const char *tok, const int *order, int n, const struct simgpu_state *st)
{
    char *end;
    long idx = strtol(tok, &end, 10);
    if (end != tok && *end == '\0')
        return idx >= 0 && idx < n ? order[idx] : -1;
    int found = -1;
    size_t len = strlen(tok);
    for (int i = 0; i < n; i++) {
        if (strncasecmp(st->gpu[order[i]].uuid, tok, len) == 0) {
            if (found >= 0)
                return -1; /* ambiguous prefix */
            found = order[i];
        }
    }
    return len >= 5 ? found : -1;
}

static void enumerate(struct simgpu_state *st)
{
    int order[SIMGPU_MAX_GPUS], n = 0;
    const char *dev_order = getenv("CUDA_DEVICE_ORDER");
    bool by_pci = dev_order && strcmp(dev_order, "PCI_BUS_ID") == 0;

    for (uint32_t i = 0; i < st->ngpus; i++) {
        /* Instances follow their parent; physical GPUs are in PCI order. */
        const struct simgpu_gpu *g = &st->gpu[i];
        if (g->parent >= 0)
            continue;
        if (is_cuda_device(g, st))
            order[n++] = (int)i;
        for (int k = 0; g->mig_enabled && k < g->mig_count; k++)
            order[n++] = g->mig_first + k;
    }
    if (!by_pci) {
        /* FASTEST_FIRST: stable insertion sort by SM count times clock. */
        for (int i = 1; i < n; i++) {
            int v = order[i], j = i;
            uint64_t sv = (uint64_t)st->gpu[v].sm_count * (uint64_t)st->gpu[v].clock_khz;
            while (j > 0 && (uint64_t)st->gpu[order[j - 1]].sm_count *
                                    (uint64_t)st->gpu[order[j - 1]].clock_khz <
                                sv) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = v;
        }
    }
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    g_drv.ndev = 0;
    if (!vis) {
        memcpy(g_drv.gpu_of, order, sizeof(int) * (size_t)n);
        g_drv.ndev = n;
        return;
    }
    char buf[1024];
    char *save = NULL;
    vgpu_strlcpy(buf, vis, sizeof(buf));
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        int gi = match_visible(tok, order, n, st);
        if (gi < 0)
            break;
        bool dup = false;
        for (int k = 0; k < g_drv.ndev; k++)
            dup |= g_drv.gpu_of[k] == gi;
        if (dup)
            break;
        g_drv.gpu_of[g_drv.ndev++] = gi;
    }
}

SIM_API CUresult cuInit(unsigned int flags)
{
    CUresult rc = CUDA_SUCCESS;
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_once(&g_atfork_once, install_atfork);
    if (atomic_load(&g_drv.initialized))
        return CUDA_SUCCESS;
    pthread_mutex_lock(&g_drv.mu);
    if (atomic_load(&g_drv.initialized))
        goto out;
    vgpu_log_init("simgpu", "SIMGPU_LOG_LEVEL", VGPU_LOG_WARN);
    g_drv.st = simgpu_state_get();
    if (!g_drv.st) {
        rc = CUDA_ERROR_NO_DEVICE;
        goto out;
    }
    simgpu_lock(g_drv.st);
    g_drv.slot = simgpu_proc_register(g_drv.st);
    if (g_drv.slot >= 0)
        enumerate(g_drv.st);
    simgpu_unlock(g_drv.st);
    if (g_drv.slot < 0) {
        fprintf(stderr, "simgpu: more than %d processes use the simulated devices\n",
                SIMGPU_MAX_PROCS);
        rc = CUDA_ERROR_OPERATING_SYSTEM;
        goto out;
    }
    if (g_drv.ndev == 0) {
        rc = CUDA_ERROR_NO_DEVICE;
        goto out;
    }
    g_drv.pid = getpid();
    atomic_store_explicit(&g_drv.initialized, 1, memory_order_release);
out:
    pthread_mutex_unlock(&g_drv.mu);
    return rc;
}

SIM_API CUresult cuDriverGetVersion(int *v)
{
    if (!v)
        return CUDA_ERROR_INVALID_VALUE;
    *v = SIM_DRIVER_VERSION;
    return CUDA_SUCCESS;
}

/* ---- devices ------------------------------------------------------------ */

static struct simgpu_gpu *dev_gpu(CUdevice dev)
{
    return &g_drv.st->gpu[g_drv.gpu_of[dev]];
}

SIM_API CUresult cuDeviceGetCount(int *count)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!count)
        return CUDA_ERROR_INVALID_VALUE;
    *count = g_drv.ndev;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceGet(CUdevice *dev, int ordinal)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dev)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= g_drv.ndev)
        return CUDA_ERROR_INVALID_DEVICE;
    *dev = ordinal;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!name || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    vgpu_strlcpy(name, dev_gpu(dev)->name, (size_t)len);
    return CUDA_SUCCESS;
}

/* v1 reports the physical GPU's UUID even for a MIG instance; v2 the instance's. */
SIM_API CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!uuid)
        return CUDA_ERROR_INVALID_VALUE;
    struct simgpu_gpu *g = dev_gpu(dev);
    if (g->parent >= 0)
        g = &g_drv.st->gpu[g->parent];
    memcpy(uuid->bytes, g->uuid_bytes, 16);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!uuid)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(uuid->bytes, dev_gpu(dev)->uuid_bytes, 16);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceGetPCIBusId(char *bus, int len, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!bus || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    struct simgpu_gpu *g = dev_gpu(dev);
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%04X:%02X:%02X.0", g->pci_domain, g->pci_bus, g->pci_device);
    vgpu_strlcpy(bus, tmp, (size_t)len);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceGetByPCIBusId(CUdevice *dev, const char *bus)
{
    unsigned dom, b, d, f = 0;
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dev || !bus)
        return CUDA_ERROR_INVALID_VALUE;
    if (sscanf(bus, "%x:%x:%x.%x", &dom, &b, &d, &f) < 3)
        return CUDA_ERROR_INVALID_VALUE;
    for (int i = 0; i < g_drv.ndev; i++) {
        struct simgpu_gpu *g = dev_gpu(i);
        if (g->pci_domain == dom && g->pci_bus == b && g->pci_device == d) {
            *dev = i;
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_INVALID_DEVICE;
}

SIM_API CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!bytes)
        return CUDA_ERROR_INVALID_VALUE;
    *bytes = dev_gpu(dev)->mem_total;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!major || !minor)
        return CUDA_ERROR_INVALID_VALUE;
    *major = dev_gpu(dev)->cc_major;
    *minor = dev_gpu(dev)->cc_minor;
    return CUDA_SUCCESS;
}

static int attribute(const struct simgpu_gpu *g, CUdevice_attribute a)
{
    switch (a) {
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: return 1024;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: return 1024;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: return 1024;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: return 64;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: return 2147483647;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: return 65535;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: return 65535;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: return 49152;
    case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: return 65536;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: return 32;
    case CU_DEVICE_ATTRIBUTE_MAX_PITCH: return 2147483647;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: return 65536;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: return g->clock_khz;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: return 512;
    case CU_DEVICE_ATTRIBUTE_GPU_OVERLAP: return 1;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: return g->sm_count;
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: return 1;
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: return 1;
    case CU_DEVICE_ATTRIBUTE_ECC_ENABLED: return 1;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: return (int)g->pci_bus;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: return (int)g->pci_device;
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: return (int)g->pci_domain;
    case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: return 2619000;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: return 5120;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: return 50 << 20;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: return 2048;
    case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: return 2;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: return 1;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: return g->cc_major;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: return g->cc_minor;
    case CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED: return 1;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED: return 1;
    case CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED: return 1;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: return 233472;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: return 65536;
    case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: return 1;
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS: return 1;
    case CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH: return 1;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: return 232448;
    case CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED: return 1;
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED: return 1;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: return 32;
    case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED: return 1;
    case CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES:
        return CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
    case CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE: return 30 << 20;
    case CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE: return 128 << 20;
    case CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK: return 1024;
    default: return 0;
    }
}

SIM_API CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pi || (int)attrib <= 0 || attrib >= CU_DEVICE_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = attribute(dev_gpu(dev), attrib);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDeviceCanAccessPeer(int *can, CUdevice dev, CUdevice peer)
{
    CUresult rc = sim_check_dev(dev);
    if (rc == CUDA_SUCCESS)
        rc = sim_check_dev(peer);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!can)
        return CUDA_ERROR_INVALID_VALUE;
    /* Peers are distinct full GPUs (MIG instances have no peer access). */
    *can = dev != peer && dev_gpu(dev)->parent < 0 && dev_gpu(peer)->parent < 0;
    return CUDA_SUCCESS;
}

/* ---- contexts ----------------------------------------------------------- */

CUresult sim_ctx_new(int dev, bool primary, unsigned flags, struct CUctx_st **out)
{
    struct CUctx_st *ctx = calloc(1, sizeof(*ctx));
    int gpu = g_drv.gpu_of[dev];
    int rc;

    if (!ctx)
        return CUDA_ERROR_OUT_OF_MEMORY;
    simgpu_lock(g_drv.st);
    rc = simgpu_mem_take(g_drv.st, gpu, g_drv.slot, g_drv.st->ctx_overhead);
    if (rc == 0)
        g_drv.st->proc[g_drv.slot].contexts[gpu]++;
    simgpu_unlock(g_drv.st);
    if (rc != 0) {
        free(ctx);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    ctx->magic = MAGIC_CTX;
    ctx->dev = dev;
    ctx->gpu = gpu;
    ctx->primary = primary;
    ctx->flags = flags;
    ctx->id = atomic_fetch_add(&g_drv.next_id, 1) + 1;
    ctx->limits[CU_LIMIT_STACK_SIZE] = 1024;
    ctx->limits[CU_LIMIT_PRINTF_FIFO_SIZE] = 1 << 20;
    ctx->limits[CU_LIMIT_MALLOC_HEAP_SIZE] = 8 << 20;
    ctx->null_stream = (struct CUstream_st){.magic = MAGIC_STREAM, .ctx = ctx, .id = 0};
    *out = ctx;
    return CUDA_SUCCESS;
}

static void drop_current(struct CUctx_st *ctx)
{
    for (int i = 0; i < tls_depth; i++)
        if (tls_ctx[i] == ctx)
            tls_ctx[i] = NULL;
}

void sim_ctx_free(struct CUctx_st *ctx)
{
    vgpu_sleep_until_ns(atomic_load(&ctx->last_end)); /* its work finishes first */
    simgpu_lock(g_drv.st);
    simgpu_mem_give(g_drv.st, ctx->gpu, g_drv.slot, g_drv.st->ctx_overhead);
    if (g_drv.st->proc[g_drv.slot].contexts[ctx->gpu])
        g_drv.st->proc[g_drv.slot].contexts[ctx->gpu]--;
    simgpu_unlock(g_drv.st);
    drop_current(ctx);
    /* Contexts are few; keeping the dead husk lets a stale handle be refused
     * with CUDA_ERROR_INVALID_CONTEXT instead of touching freed memory. */
    ctx->magic = MAGIC_DEAD;
}

static CUresult ctx_create(CUcontext *pctx, unsigned flags, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    rc = sim_ctx_new(dev, false, flags, pctx);
    if (rc == CUDA_SUCCESS) {
        if (tls_depth < (int)(sizeof(tls_ctx) / sizeof(tls_ctx[0])))
            tls_ctx[tls_depth++] = *pctx;
        else
            tls_ctx[tls_depth - 1] = *pctx;
    }
    return rc;
}

SIM_API CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
    return ctx_create(pctx, flags, dev);
}

SIM_API CUresult cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *params, int n,
                                unsigned int flags, CUdevice dev)
{
    return ctx_create(pctx, flags, dev);
}

SIM_API CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *params, unsigned int flags,
                                CUdevice dev)
{
    return ctx_create(pctx, flags, dev);
}

SIM_API CUresult cuCtxDestroy_v2(CUcontext ctx)
{
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = sim_check_ctx(ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (ctx->primary)
        return CUDA_ERROR_INVALID_CONTEXT;
    sim_ctx_free(ctx);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = sim_check_ctx(ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (tls_depth >= (int)(sizeof(tls_ctx) / sizeof(tls_ctx[0])))
        return CUDA_ERROR_INVALID_VALUE;
    tls_ctx[tls_depth++] = ctx;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (tls_depth == 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    struct CUctx_st *c = tls_ctx[--tls_depth];
    if (pctx)
        *pctx = c;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxSetCurrent(CUcontext ctx)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (ctx && (rc = sim_check_ctx(ctx)) != CUDA_SUCCESS)
        return rc;
    if (!ctx) {
        if (tls_depth > 0)
            tls_depth--;
        return CUDA_SUCCESS;
    }
    if (tls_depth == 0)
        tls_depth = 1;
    tls_ctx[tls_depth - 1] = ctx;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetCurrent(CUcontext *pctx)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = tls_depth > 0 ? tls_ctx[tls_depth - 1] : NULL;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetDevice(CUdevice *dev)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dev)
        return CUDA_ERROR_INVALID_VALUE;
    *dev = ctx->dev;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxSynchronize(void)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    vgpu_sleep_until_ns(atomic_load(&ctx->last_end));
    sim_pools_trim(ctx->gpu);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!ctx && (rc = sim_current_ctx(&ctx)) != CUDA_SUCCESS)
        return rc;
    if ((rc = sim_check_ctx(ctx)) != CUDA_SUCCESS)
        return rc;
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = 3020;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetFlags(unsigned int *flags)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!flags)
        return CUDA_ERROR_INVALID_VALUE;
    *flags = ctx->flags;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetId(CUcontext ctx, unsigned long long *id)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!ctx && (rc = sim_current_ctx(&ctx)) != CUDA_SUCCESS)
        return rc;
    if ((rc = sim_check_ctx(ctx)) != CUDA_SUCCESS)
        return rc;
    if (!id)
        return CUDA_ERROR_INVALID_VALUE;
    *id = ctx->id;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetLimit(size_t *value, CUlimit limit)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!value || (int)limit < 0 || limit >= CU_LIMIT_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *value = ctx->limits[limit];
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxSetLimit(CUlimit limit, size_t value)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if ((int)limit < 0 || limit >= CU_LIMIT_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    ctx->limits[limit] = value;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (least)
        *least = 0;
    if (greatest)
        *greatest = -5;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxGetCacheConfig(CUfunc_cache *config)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!config)
        return CUDA_ERROR_INVALID_VALUE;
    *config = CU_FUNC_CACHE_PREFER_NONE;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuCtxSetCacheConfig(CUfunc_cache config)
{
    struct CUctx_st *ctx;
    return sim_current_ctx(&ctx);
}

SIM_API CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_drv.mu);
    if (!g_drv.primary[dev])
        rc = sim_ctx_new(dev, true, g_drv.primary_flags[dev], &g_drv.primary[dev]);
    if (rc == CUDA_SUCCESS) {
        g_drv.primary_refs[dev]++;
        *pctx = g_drv.primary[dev];
    }
    pthread_mutex_unlock(&g_drv.mu);
    return rc;
}

/* The primary context is destroyed when its last reference goes, as with the
 * real driver; its memory and the context overhead go back to the device. */
static CUresult primary_release(CUdevice dev, bool reset)
{
    CUresult rc = sim_check_dev(dev);
    struct CUctx_st *dead = NULL;
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_drv.mu);
    if (!g_drv.primary[dev] || (!reset && g_drv.primary_refs[dev] <= 0)) {
        rc = reset ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
    } else if (reset || --g_drv.primary_refs[dev] == 0) {
        dead = g_drv.primary[dev];
        g_drv.primary[dev] = NULL;
        g_drv.primary_refs[dev] = 0;
    }
    pthread_mutex_unlock(&g_drv.mu);
    if (dead)
        sim_ctx_free(dead);
    return rc;
}

SIM_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    return primary_release(dev, false);
}

SIM_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
    return primary_release(dev, true);
}

SIM_API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&g_drv.mu);
    g_drv.primary_flags[dev] = flags;
    if (g_drv.primary[dev])
        g_drv.primary[dev]->flags = flags;
    pthread_mutex_unlock(&g_drv.mu);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
    CUresult rc = sim_check_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!flags || !active)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_drv.mu);
    *flags = g_drv.primary_flags[dev];
    *active = g_drv.primary[dev] != NULL;
    pthread_mutex_unlock(&g_drv.mu);
    return CUDA_SUCCESS;
}
