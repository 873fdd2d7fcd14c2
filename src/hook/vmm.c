/* vmm: virtual memory management and arrays against the tenant's limit.
 *
 * cuMemCreate is where physical memory is taken, so it is charged there
 * (mapping it, once or many times, costs nothing more). The driver frees
 * physical memory only when the last handle reference is released and the
 * last mapping unmapped, in either order; PyTorch's expandable segments map a
 * handle and release it at once. So each handle keeps a reference count
 * (cuMemCreate, cuMemRetainAllocationHandle) and a mapping count (cuMemMap,
 * cuMemUnmap), and its charge goes back when both reach zero. Arrays are
 * charged by their descriptor's size in 2 MiB pages. */
#include "internal.h"

#include "common.h"

#define P (&vgpu__proc)

CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
                     const CUmemAllocationProp *prop, unsigned long long flags)
{
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!handle || !prop || size == 0 || prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
        prop->location.id < 0 || prop->location.id >= P->ndev)
        return REAL(cuMemCreate)(handle, size, prop, flags); /* the driver's own answer */
    int dev = prop->location.id;
    uint64_t charge = vgpu__round(size, VGPU_GRANULE);
    rc = vgpu__charge(dev, charge);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemCreate)(handle, size, prop, flags);
    if (rc != CUDA_SUCCESS) {
        vgpu__uncharge(dev, charge);
        return rc;
    }
    struct vgpu_track t = {.bytes = charge, .dev = (int16_t)dev, .kind = TRACK_PHYS, .refs = 1};
    vgpu__track_put(*handle, &t);
    return rc;
}

static void add_ref(struct vgpu_track *t, void *arg)
{
    t->refs += *(int *)arg;
}

static void add_map(struct vgpu_track *t, void *arg)
{
    t->maps += *(int *)arg;
}

/* Gives the charge back once nothing refers to the physical memory. */
static void maybe_free(CUmemGenericAllocationHandle h)
{
    struct vgpu_track t;
    if (vgpu__track_get(h, &t) && t.kind == TRACK_PHYS && t.refs <= 0 && t.maps <= 0 &&
        vgpu__track_take(h, &t))
        vgpu__uncharge(t.dev, t.bytes);
}

CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
    int minus = -1;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemRelease)(handle);
    if (rc == CUDA_SUCCESS && vgpu__track_update(handle, add_ref, &minus))
        maybe_free(handle);
    return rc;
}

CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr)
{
    int plus = 1;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemRetainAllocationHandle)(handle, addr);
    if (rc == CUDA_SUCCESS && handle)
        vgpu__track_update(*handle, add_ref, &plus);
    return rc;
}

CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                  unsigned long long flags)
{
    int plus = 1;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemMap)(ptr, size, offset, handle, flags);
    if (rc == CUDA_SUCCESS && vgpu__track_update(handle, add_map, &plus)) {
        struct vgpu_track m = {.bytes = size, .kind = TRACK_MAP, .aux = handle};
        vgpu__track_put(ptr, &m);
    }
    return rc;
}

/* cuMemUnmap takes a range made of whole mappings. */
CUresult cuMemUnmap(CUdeviceptr ptr, size_t size)
{
    int minus = -1;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuMemUnmap)(ptr, size);
    for (CUdeviceptr at = ptr; rc == CUDA_SUCCESS && at < ptr + size;) {
        struct vgpu_track m;
        if (!vgpu__track_take(at, &m) || m.kind != TRACK_MAP || m.bytes == 0)
            break;
        if (vgpu__track_update(m.aux, add_map, &minus))
            maybe_free(m.aux);
        at += m.bytes;
    }
    return rc;
}

/* ---- arrays ----------------------------------------------------------------------------- */

static uint64_t format_bytes(CUarray_format f)
{
    switch (f) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8: return 1;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF: return 2;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT: return 4;
    default: return 16; /* block-compressed and packed formats: at most 16 bytes per element */
    }
}

static CUresult array_create(CUarray *out, uint64_t w, uint64_t h, uint64_t d, CUarray_format f,
                             unsigned channels, const void *desc, bool three_d)
{
    int dev;
    CUresult rc = vgpu__prologue(&dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    h = h ? h : 1;
    d = d ? d : 1;
    uint64_t elems = w * h * d, bytes = elems * format_bytes(f) * (channels ? channels : 1);
    if (!out || w == 0 || elems / h / d != w) /* let the driver say what is wrong */
        return three_d ? REAL(cuArray3DCreate_v2)(out, desc) : REAL(cuArrayCreate_v2)(out, desc);
    uint64_t charge = vgpu__round(bytes, VGPU_GRANULE);
    rc = vgpu__charge(dev, charge);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = three_d ? REAL(cuArray3DCreate_v2)(out, desc) : REAL(cuArrayCreate_v2)(out, desc);
    if (rc != CUDA_SUCCESS) {
        vgpu__uncharge(dev, charge);
        return rc;
    }
    struct vgpu_track t = {.bytes = charge, .dev = (int16_t)dev, .kind = TRACK_ARRAY};
    vgpu__track_put((uint64_t)(uintptr_t)*out, &t);
    return rc;
}

CUresult cuArrayCreate_v2(CUarray *out, const CUDA_ARRAY_DESCRIPTOR *d)
{
    if (!d)
        return REAL(cuArrayCreate_v2) ? REAL(cuArrayCreate_v2)(out, d) : CUDA_ERROR_INVALID_VALUE;
    return array_create(out, d->Width, d->Height, 0, d->Format, d->NumChannels, d, false);
}

CUresult cuArray3DCreate_v2(CUarray *out, const CUDA_ARRAY3D_DESCRIPTOR *d)
{
    if (!d)
        return REAL(cuArray3DCreate_v2) ? REAL(cuArray3DCreate_v2)(out, d)
                                        : CUDA_ERROR_INVALID_VALUE;
    return array_create(out, d->Width, d->Height, d->Depth, d->Format, d->NumChannels, d, true);
}

CUresult cuArrayDestroy(CUarray a)
{
    struct vgpu_track t;
    CUresult rc = vgpu__attach();
    if (rc != CUDA_SUCCESS)
        return rc;
    bool known = a && vgpu__track_take((uint64_t)(uintptr_t)a, &t);
    rc = REAL(cuArrayDestroy)(a);
    if (known) {
        if (rc == CUDA_SUCCESS)
            vgpu__uncharge(t.dev, t.bytes);
        else
            vgpu__track_put((uint64_t)(uintptr_t)a, &t);
    }
    return rc;
}
