/* simgpu driver memory: every allocation path the real driver offers and a
 * hook must count (device, pitch, managed, stream-ordered pools, VMM, arrays),
 * pinned host memory, and pointer queries.
 *
 * Device memory is host memory: each allocation is an anonymous mmap with
 * MAP_NORESERVE, so an 80 GiB device costs nothing until bytes are written,
 * and copies and memsets really move data. What the device "holds" is
 * charged to the shared state (simgpu_mem_take) in allocation granules, which
 * is what NVML and cuMemGetInfo report. VMM physical memory is a memfd that
 * cuMemMap maps at the reserved address, so several mappings share bytes.
 * Pools keep freed memory reserved until a synchronisation trims them to
 * their release threshold, as real stream-ordered pools do. */
#include "drv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sim_driver *D(void)
{
    return sim_drv();
}

int sim_dev_of_gpu(int gpu)
{
    for (int i = 0; i < D()->ndev; i++)
        if (D()->gpu_of[i] == gpu)
            return i;
    return -1;
}

/* ---- the region table ----------------------------------------------------- */

/* Index of the last region with base <= addr, or -1. */
static long region_floor(uintptr_t addr)
{
    long lo = 0, hi = (long)D()->nregions - 1, found = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (D()->regions[mid].base <= addr) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

struct sim_region *sim_region_find(uintptr_t addr)
{
    long i = region_floor(addr);
    if (i < 0)
        return NULL;
    struct sim_region *r = &D()->regions[i];
    return addr < r->base + r->size ? r : NULL;
}

static int region_add(const struct sim_region *r)
{
    struct sim_driver *d = D();
    if (d->nregions == d->cap_regions) {
        size_t cap = d->cap_regions ? d->cap_regions * 2 : 64;
        struct sim_region *n = realloc(d->regions, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        d->regions = n;
        d->cap_regions = cap;
    }
    size_t at = (size_t)(region_floor(r->base) + 1);
    memmove(&d->regions[at + 1], &d->regions[at], (d->nregions - at) * sizeof(*r));
    d->regions[at] = *r;
    d->nregions++;
    return 0;
}

static void region_del(struct sim_region *r)
{
    struct sim_driver *d = D();
    size_t at = (size_t)(r - d->regions);
    memmove(&d->regions[at], &d->regions[at + 1], (d->nregions - at - 1) * sizeof(*r));
    d->nregions--;
}

static long map_floor(uintptr_t addr)
{
    long lo = 0, hi = (long)D()->nmaps - 1, found = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (D()->maps[mid].base <= addr) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* True when [addr, addr+len) is covered by consecutive VMM mappings that
 * allow `prot`. */
static bool maps_cover(uintptr_t addr, size_t len, int prot)
{
    long i = map_floor(addr);
    uintptr_t end = addr + len;
    if (i < 0)
        return false;
    while (addr < end) {
        if ((size_t)i >= D()->nmaps)
            return false;
        const struct sim_mapping *m = &D()->maps[i];
        if (addr < m->base || addr >= m->base + m->size || (m->prot & prot) != prot)
            return false;
        addr = m->base + m->size;
        i++;
    }
    return true;
}

bool sim_range_valid(uintptr_t addr, size_t len)
{
    struct sim_region *r = sim_region_find(addr);
    if (len == 0 || addr + len < addr)
        return false;
    if (r && r->kind != REGION_VA)
        return addr + len <= r->base + r->size;
    return maps_cover(addr, len, PROT_READ | PROT_WRITE);
}

/* ---- charging the device ---------------------------------------------------- */

CUresult sim_charge(int gpu, uint64_t bytes)
{
    struct simgpu_state *st = D()->st;
    simgpu_lock(st);
    int rc = simgpu_mem_take(st, gpu, D()->slot, bytes);
    simgpu_unlock(st);
    return rc == 0 ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

void sim_uncharge(int gpu, uint64_t bytes)
{
    struct simgpu_state *st = D()->st;
    if (!bytes)
        return;
    simgpu_lock(st);
    simgpu_mem_give(st, gpu, D()->slot, bytes);
    simgpu_unlock(st);
}

static void *backing(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Charges, maps and records one allocation. */
CUresult sim_alloc_region(int gpu, size_t bytes, enum sim_region_kind kind,
                          struct CUmemPoolHandle_st *pool, uint64_t charged, CUdeviceptr *out)
{
    CUresult rc = charged ? sim_charge(gpu, charged) : CUDA_SUCCESS;
    void *p;
    if (rc != CUDA_SUCCESS)
        return rc;
    p = backing(bytes);
    if (!p) {
        sim_uncharge(gpu, charged);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    struct sim_region r = {.base = (uintptr_t)p,
                           .size = bytes,
                           .kind = kind,
                           .gpu = gpu,
                           .charged = charged,
                           .pool = pool};
    pthread_mutex_lock(&D()->mu);
    int err = region_add(&r);
    pthread_mutex_unlock(&D()->mu);
    if (err) {
        munmap(p, bytes);
        sim_uncharge(gpu, charged);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *out = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

static CUresult device_alloc(CUdeviceptr *dptr, size_t bytes, enum sim_region_kind kind)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t charged = sim_round_up(bytes, D()->st->granule);
    if (charged < bytes)
        return CUDA_ERROR_OUT_OF_MEMORY;
    return sim_alloc_region(ctx->gpu, bytes, kind, NULL, charged, dptr);
}

SIM_API CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
    return device_alloc(dptr, bytesize, REGION_DEVICE);
}

SIM_API CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width, size_t height,
                                    unsigned int elem)
{
    if (!pitch || width == 0 || height == 0 || (elem != 4 && elem != 8 && elem != 16))
        return CUDA_ERROR_INVALID_VALUE;
    size_t p = (size_t)sim_round_up(width, 512);
    if (height > SIZE_MAX / p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult rc = device_alloc(dptr, p * height, REGION_DEVICE);
    if (rc == CUDA_SUCCESS)
        *pitch = p;
    return rc;
}

SIM_API CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned int flags)
{
    if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST)
        return CUDA_ERROR_INVALID_VALUE;
    return device_alloc(dptr, bytesize, REGION_MANAGED);
}

CUresult sim_free_region(uintptr_t base, unsigned kinds, struct sim_region *out)
{
    pthread_mutex_lock(&D()->mu);
    struct sim_region *r = sim_region_find(base);
    if (!r || r->base != base || !(kinds & (1u << r->kind)) || r->registered) {
        pthread_mutex_unlock(&D()->mu);
        return CUDA_ERROR_INVALID_VALUE;
    }
    *out = *r;
    region_del(r);
    pthread_mutex_unlock(&D()->mu);
    munmap((void *)out->base, out->size);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    struct sim_region r;
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (dptr == 0)
        return CUDA_SUCCESS;
    rc = sim_free_region((uintptr_t)dptr, 1u << REGION_DEVICE | 1u << REGION_MANAGED, &r);
    if (rc == CUDA_SUCCESS)
        sim_uncharge(r.gpu, r.charged);
    return rc;
}

SIM_API CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!free_bytes || !total)
        return CUDA_ERROR_INVALID_VALUE;
    struct simgpu_state *st = D()->st;
    simgpu_lock(st);
    simgpu_reap(st);
    *total = st->gpu[ctx->gpu].mem_total;
    *free_bytes = st->gpu[ctx->gpu].mem_total - st->gpu[ctx->gpu].mem_used;
    simgpu_unlock(st);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr dptr)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    struct sim_region *r = sim_region_find((uintptr_t)dptr);
    long mi = map_floor((uintptr_t)dptr);
    rc = CUDA_ERROR_NOT_FOUND;
    if (r && r->kind != REGION_VA) {
        if (base)
            *base = r->base;
        if (size)
            *size = r->size;
        rc = CUDA_SUCCESS;
    } else if (mi >= 0 && (uintptr_t)dptr < D()->maps[mi].base + D()->maps[mi].size) {
        if (base)
            *base = D()->maps[mi].base;
        if (size)
            *size = D()->maps[mi].size;
        rc = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

/* ---- pinned host memory ----------------------------------------------------- */

static CUresult host_alloc(void **pp, size_t bytes)
{
    CUresult rc = sim_check_init();
    CUdeviceptr p;
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pp || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    rc = sim_alloc_region(-1, bytes, REGION_HOST, NULL, 0, &p);
    if (rc == CUDA_SUCCESS)
        *pp = (void *)(uintptr_t)p;
    return rc;
}

SIM_API CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
    return host_alloc(pp, bytesize);
}

SIM_API CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int flags)
{
    return host_alloc(pp, bytesize);
}

SIM_API CUresult cuMemFreeHost(void *p)
{
    struct sim_region r;
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    return sim_free_region((uintptr_t)p, 1u << REGION_HOST, &r);
}

SIM_API CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int flags)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!p || bytesize == 0)
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_region r = {
        .base = (uintptr_t)p, .size = bytesize, .kind = REGION_HOST, .gpu = -1, .registered = true};
    pthread_mutex_lock(&D()->mu);
    if (sim_region_find((uintptr_t)p) || sim_region_find((uintptr_t)p + bytesize - 1))
        rc = CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    else if (region_add(&r) != 0)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

SIM_API CUresult cuMemHostUnregister(void *p)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    struct sim_region *r = sim_region_find((uintptr_t)p);
    if (r && r->base == (uintptr_t)p && r->kind == REGION_HOST && r->registered)
        region_del(r);
    else
        rc = CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

SIM_API CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *dptr, void *p, unsigned int flags)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!dptr || flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    struct sim_region *r = sim_region_find((uintptr_t)p);
    rc = r && r->kind == REGION_HOST ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_unlock(&D()->mu);
    if (rc == CUDA_SUCCESS)
        *dptr = (CUdeviceptr)(uintptr_t)p;
    return rc;
}

SIM_API CUresult cuMemHostGetFlags(unsigned int *flags, void *p)
{
    CUdeviceptr d;
    CUresult rc = cuMemHostGetDevicePointer_v2(&d, p, 0);
    if (rc == CUDA_SUCCESS && flags)
        *flags = CU_MEMHOSTALLOC_DEVICEMAP;
    return flags ? rc : CUDA_ERROR_INVALID_VALUE;
}

/* ---- virtual memory management ---------------------------------------------- */

static CUresult check_prop(const CUmemAllocationProp *prop, int *gpu)
{
    if (!prop || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED ||
        prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    if (sim_check_dev(prop->location.id) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_DEVICE;
    *gpu = D()->gpu_of[prop->location.id];
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemGetAllocationGranularity(size_t *gran, const CUmemAllocationProp *prop,
                                               CUmemAllocationGranularity_flags option)
{
    int gpu;
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = check_prop(prop, &gpu);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!gran)
        return CUDA_ERROR_INVALID_VALUE;
    *gran = D()->st->granule;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
                             const CUmemAllocationProp *prop, unsigned long long flags)
{
    int gpu;
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = check_prop(prop, &gpu);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!handle || size == 0 || size % D()->st->granule || flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_phys *ph = calloc(1, sizeof(*ph));
    if (!ph)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rc = sim_charge(gpu, size);
    if (rc != CUDA_SUCCESS) {
        free(ph);
        return rc;
    }
    ph->fd = memfd_create("simgpu-vmm", MFD_CLOEXEC);
    if (ph->fd < 0 || ftruncate(ph->fd, (off_t)size) != 0) {
        if (ph->fd >= 0)
            close(ph->fd);
        sim_uncharge(gpu, size);
        free(ph);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    ph->magic = MAGIC_PHYS;
    ph->gpu = gpu;
    ph->size = size;
    ph->refs = 1;
    *handle = (CUmemGenericAllocationHandle)(uintptr_t)ph;
    return CUDA_SUCCESS;
}

static struct sim_phys *phys_of(CUmemGenericAllocationHandle h)
{
    struct sim_phys *ph = (struct sim_phys *)(uintptr_t)h;
    return ph && ph->magic == MAGIC_PHYS && ph->refs > 0 ? ph : NULL;
}

/* Physical memory goes back to the device once no handle and no mapping
 * refers to it. Called with sim_drv()->mu held. */
static void phys_maybe_free(struct sim_phys *ph)
{
    if (ph->refs > 0 || ph->maps > 0)
        return;
    close(ph->fd);
    sim_uncharge(ph->gpu, ph->size);
    ph->magic = MAGIC_DEAD;
    free(ph);
}

SIM_API CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    struct sim_phys *ph = phys_of(handle);
    if (ph) {
        ph->refs--;
        phys_maybe_free(ph);
    }
    pthread_mutex_unlock(&D()->mu);
    return ph ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

SIM_API CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment,
                                     CUdeviceptr addr, unsigned long long flags)
{
    CUresult rc = sim_check_init();
    size_t gran;
    if (rc != CUDA_SUCCESS)
        return rc;
    gran = D()->st->granule;
    if (!ptr || size == 0 || size % gran || (alignment & (alignment - 1)))
        return CUDA_ERROR_INVALID_VALUE;
    if (alignment < gran)
        alignment = gran;
    size_t span = size + alignment;
    uint8_t *p = mmap((void *)(uintptr_t)addr, span, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return CUDA_ERROR_OUT_OF_MEMORY;
    uintptr_t base = sim_round_up((uintptr_t)p, alignment);
    if (base > (uintptr_t)p)
        munmap(p, base - (uintptr_t)p);
    if ((uintptr_t)p + span > base + size)
        munmap((void *)(base + size), (uintptr_t)p + span - (base + size));
    struct sim_region r = {.base = base, .size = size, .kind = REGION_VA, .gpu = -1};
    pthread_mutex_lock(&D()->mu);
    int err = region_add(&r);
    pthread_mutex_unlock(&D()->mu);
    if (err) {
        munmap((void *)base, size);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *ptr = base;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    struct sim_region *r = sim_region_find((uintptr_t)ptr);
    long mi = map_floor((uintptr_t)ptr + size - 1);
    bool mapped = mi >= 0 && D()->maps[mi].base + D()->maps[mi].size > (uintptr_t)ptr;
    if (!r || r->kind != REGION_VA || r->base != ptr || r->size != size || mapped) {
        rc = CUDA_ERROR_INVALID_VALUE;
    } else {
        region_del(r);
        munmap((void *)(uintptr_t)ptr, size);
    }
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

SIM_API CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
                          CUmemGenericAllocationHandle handle, unsigned long long flags)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    struct sim_phys *ph = phys_of(handle);
    struct sim_region *r = sim_region_find((uintptr_t)ptr);
    long mi = map_floor((uintptr_t)ptr + size - 1);
    struct sim_driver *d = D();
    if (!ph || flags || size == 0 || size % d->st->granule || offset % d->st->granule ||
        offset + size > ph->size || !r || r->kind != REGION_VA || ptr + size > r->base + r->size) {
        rc = CUDA_ERROR_INVALID_VALUE;
        goto out;
    }
    if (mi >= 0 && d->maps[mi].base + d->maps[mi].size > (uintptr_t)ptr) {
        rc = CUDA_ERROR_ALREADY_MAPPED;
        goto out;
    }
    if (d->nmaps == d->cap_maps) {
        size_t cap = d->cap_maps ? d->cap_maps * 2 : 64;
        struct sim_mapping *n = realloc(d->maps, cap * sizeof(*n));
        if (!n) {
            rc = CUDA_ERROR_OUT_OF_MEMORY;
            goto out;
        }
        d->maps = n;
        d->cap_maps = cap;
    }
    if (mmap((void *)(uintptr_t)ptr, size, PROT_NONE, MAP_SHARED | MAP_FIXED, ph->fd,
             (off_t)offset) == MAP_FAILED) {
        rc = CUDA_ERROR_OUT_OF_MEMORY;
        goto out;
    }
    size_t at = (size_t)(map_floor((uintptr_t)ptr) + 1);
    memmove(&d->maps[at + 1], &d->maps[at], (d->nmaps - at) * sizeof(d->maps[0]));
    d->maps[at] = (struct sim_mapping){.base = ptr, .size = size, .phys = ph, .prot = PROT_NONE};
    d->nmaps++;
    ph->maps++;
out:
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

SIM_API CUresult cuMemUnmap(CUdeviceptr ptr, size_t size)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    struct sim_driver *d = D();
    pthread_mutex_lock(&d->mu);
    long first = map_floor((uintptr_t)ptr);
    size_t n = 0;
    uintptr_t at = ptr, end = ptr + size;
    /* The range must be made of whole mappings. */
    if (first < 0 || d->maps[first].base != ptr || size == 0) {
        rc = CUDA_ERROR_INVALID_VALUE;
        goto out;
    }
    while (at < end && (size_t)first + n < d->nmaps && d->maps[first + (long)n].base == at) {
        at += d->maps[first + (long)n].size;
        n++;
    }
    if (at != end) {
        rc = CUDA_ERROR_INVALID_VALUE;
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        struct sim_mapping *m = &d->maps[first + (long)k];
        mmap((void *)m->base, m->size, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        m->phys->maps--;
        phys_maybe_free(m->phys);
    }
    memmove(&d->maps[first], &d->maps[first + (long)n],
            (d->nmaps - (size_t)first - n) * sizeof(d->maps[0]));
    d->nmaps -= n;
out:
    pthread_mutex_unlock(&d->mu);
    return rc;
}

SIM_API CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc,
                                size_t count)
{
    CUresult rc = sim_check_init();
    int prot = PROT_NONE;
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!desc || count == 0)
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < count; i++) {
        if (desc[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
            sim_check_dev(desc[i].location.id) != CUDA_SUCCESS)
            return CUDA_ERROR_INVALID_DEVICE;
        if (desc[i].flags == CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
            prot = PROT_READ | PROT_WRITE;
        else if (desc[i].flags == CU_MEM_ACCESS_FLAGS_PROT_READ && prot == PROT_NONE)
            prot = PROT_READ;
    }
    struct sim_driver *d = D();
    pthread_mutex_lock(&d->mu);
    if (!maps_cover(ptr, size, PROT_NONE)) {
        rc = CUDA_ERROR_INVALID_VALUE;
    } else {
        for (long i = map_floor(ptr);
             i >= 0 && (size_t)i < d->nmaps && d->maps[i].base < ptr + size; i++) {
            d->maps[i].prot = prot;
            mprotect((void *)d->maps[i].base, d->maps[i].size, prot);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

SIM_API CUresult cuMemGetAccess(unsigned long long *flags, const CUmemLocation *location,
                                CUdeviceptr ptr)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!flags || !location)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    long i = map_floor(ptr);
    if (i < 0 || ptr >= D()->maps[i].base + D()->maps[i].size) {
        rc = CUDA_ERROR_INVALID_VALUE;
    } else {
        int prot = D()->maps[i].prot;
        *flags = prot & PROT_WRITE  ? CU_MEM_ACCESS_FLAGS_PROT_READWRITE
                 : prot & PROT_READ ? CU_MEM_ACCESS_FLAGS_PROT_READ
                                    : CU_MEM_ACCESS_FLAGS_PROT_NONE;
    }
    pthread_mutex_unlock(&D()->mu);
    return rc;
}

SIM_API CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop,
                                                        CUmemGenericAllocationHandle handle)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&D()->mu);
    struct sim_phys *ph = phys_of(handle);
    if (ph && prop) {
        memset(prop, 0, sizeof(*prop));
        prop->type = CU_MEM_ALLOCATION_TYPE_PINNED;
        prop->location.type = CU_MEM_LOCATION_TYPE_DEVICE;
        prop->location.id = sim_dev_of_gpu(ph->gpu);
    }
    pthread_mutex_unlock(&D()->mu);
    return ph && prop ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

SIM_API CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!handle)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&D()->mu);
    long i = map_floor((uintptr_t)addr);
    if (i < 0 || (uintptr_t)addr >= D()->maps[i].base + D()->maps[i].size) {
        rc = CUDA_ERROR_INVALID_VALUE;
    } else {
        D()->maps[i].phys->refs++;
        *handle = (CUmemGenericAllocationHandle)(uintptr_t)D()->maps[i].phys;
    }
    pthread_mutex_unlock(&D()->mu);
    return rc;
}
