/* simgpu driver copies and memsets, synchronous and stream-ordered.
 *
 * The bytes move at submission (device memory is host memory here); the
 * device time the transfer costs is queued on the stream's device like any
 * other work item: bytes / SIMGPU_COPY_BW for host<->device, bytes /
 * SIMGPU_DTOD_BW for device<->device and memsets, at least 1 us. Synchronous
 * forms wait for that item to finish, as the real ones return only when the
 * transfer is done. Device-side ranges are checked against the process's
 * allocations, so a bad pointer is CUDA_ERROR_INVALID_VALUE, not a crash. */
#include "drv.h"

#include <string.h>

enum dir { HTOD, DTOH, DTOD, ANY };

static uint64_t duration_ns(size_t bytes, uint64_t bw)
{
    uint64_t ns = (uint64_t)((unsigned __int128)bytes * 1000000000ULL / bw);
    return ns < 1000 ? 1000 : ns;
}

static bool device_range(uintptr_t p, size_t n)
{
    pthread_mutex_lock(&sim_drv()->mu);
    bool ok = sim_range_valid(p, n);
    pthread_mutex_unlock(&sim_drv()->mu);
    return ok;
}

static CUresult copy(uintptr_t dst, uintptr_t src, size_t n, enum dir dir, CUstream hs, bool sync)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (n == 0)
        return CUDA_SUCCESS;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    bool dst_dev = device_range(dst, n), src_dev = device_range(src, n);
    if (((dir == HTOD || dir == DTOD) && !dst_dev) || ((dir == DTOH || dir == DTOD) && !src_dev))
        return CUDA_ERROR_INVALID_VALUE;
    if (!dst || !src)
        return CUDA_ERROR_INVALID_VALUE;
    memmove((void *)dst, (const void *)src, n);
    uint64_t bw = dst_dev && src_dev ? sim_drv()->st->dtod_bw : sim_drv()->st->copy_bw;
    return sim_stream_submit(s, duration_ns(n, bw), SIMGPU_WORK_COPY, sync);
}

SIM_API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
    return copy(dst, (uintptr_t)src, n, HTOD, NULL, true);
}
SIM_TWIN(cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds);

SIM_API CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
    return copy((uintptr_t)dst, src, n, DTOH, NULL, true);
}
SIM_TWIN(cuMemcpyDtoH_v2, cuMemcpyDtoH_v2_ptds);

SIM_API CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return copy(dst, src, n, DTOD, NULL, true);
}
SIM_TWIN(cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds);

SIM_API CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return copy(dst, src, n, ANY, NULL, true);
}
SIM_TWIN(cuMemcpy, cuMemcpy_ptds);

SIM_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream hs)
{
    return copy(dst, (uintptr_t)src, n, HTOD, hs, false);
}
SIM_TWIN(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz);

SIM_API CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream hs)
{
    return copy((uintptr_t)dst, src, n, DTOH, hs, false);
}
SIM_TWIN(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2_ptsz);

SIM_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream hs)
{
    return copy(dst, src, n, DTOD, hs, false);
}
SIM_TWIN(cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz);

SIM_API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream hs)
{
    return copy(dst, src, n, ANY, hs, false);
}
SIM_TWIN(cuMemcpyAsync, cuMemcpyAsync_ptsz);

SIM_API CUresult cuMemcpyPeer(CUdeviceptr dst, CUcontext dctx, CUdeviceptr src, CUcontext sctx,
                              size_t n)
{
    return copy(dst, src, n, DTOD, NULL, true);
}
SIM_TWIN(cuMemcpyPeer, cuMemcpyPeer_ptds);

SIM_API CUresult cuMemcpyPeerAsync(CUdeviceptr dst, CUcontext dctx, CUdeviceptr src, CUcontext sctx,
                                   size_t n, CUstream hs)
{
    return copy(dst, src, n, DTOD, hs, false);
}
SIM_TWIN(cuMemcpyPeerAsync, cuMemcpyPeerAsync_ptsz);

/* Address of one end of a 2D copy; arrays are not supported as 2D endpoints. */
static CUresult end_2d(CUmemorytype type, const void *host, CUdeviceptr dev, size_t x, size_t y,
                       size_t pitch, uintptr_t *out, bool *is_dev)
{
    switch (type) {
    case CU_MEMORYTYPE_HOST:
        *out = (uintptr_t)host;
        *is_dev = false;
        break;
    case CU_MEMORYTYPE_DEVICE:
        *out = dev;
        *is_dev = true;
        break;
    case CU_MEMORYTYPE_UNIFIED:
        *out = dev;
        *is_dev = device_range(dev, 1);
        break;
    default: return CUDA_ERROR_NOT_SUPPORTED;
    }
    *out += y * pitch + x;
    return CUDA_SUCCESS;
}

static CUresult copy_2d(const CUDA_MEMCPY2D *c, CUstream hs, bool sync)
{
    struct CUstream_st *s;
    uintptr_t dst, src;
    bool ddev, sdev;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!c)
        return CUDA_ERROR_INVALID_VALUE;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    rc = end_2d(c->srcMemoryType, c->srcHost, c->srcDevice, c->srcXInBytes, c->srcY, c->srcPitch,
                &src, &sdev);
    if (rc == CUDA_SUCCESS)
        rc = end_2d(c->dstMemoryType, c->dstHost, c->dstDevice, c->dstXInBytes, c->dstY,
                    c->dstPitch, &dst, &ddev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (c->Height == 0 || c->WidthInBytes == 0)
        return CUDA_SUCCESS;
    if ((c->srcPitch && c->srcPitch < c->WidthInBytes) ||
        (c->dstPitch && c->dstPitch < c->WidthInBytes))
        return CUDA_ERROR_INVALID_VALUE;
    size_t span_s = c->srcPitch * (c->Height - 1) + c->WidthInBytes;
    size_t span_d = c->dstPitch * (c->Height - 1) + c->WidthInBytes;
    if ((sdev && !device_range(src, span_s)) || (ddev && !device_range(dst, span_d)))
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t row = 0; row < c->Height; row++)
        memmove((void *)(dst + row * c->dstPitch), (const void *)(src + row * c->srcPitch),
                c->WidthInBytes);
    uint64_t bw = sdev && ddev ? sim_drv()->st->dtod_bw : sim_drv()->st->copy_bw;
    return sim_stream_submit(s, duration_ns(c->WidthInBytes * c->Height, bw), SIMGPU_WORK_COPY,
                             sync);
}

SIM_API CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *c)
{
    return copy_2d(c, NULL, true);
}
SIM_TWIN(cuMemcpy2D_v2, cuMemcpy2D_v2_ptds);

SIM_API CUresult cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D *c)
{
    return copy_2d(c, NULL, true);
}
SIM_TWIN(cuMemcpy2DUnaligned_v2, cuMemcpy2DUnaligned_v2_ptds);

SIM_API CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *c, CUstream hs)
{
    return copy_2d(c, hs, false);
}
SIM_TWIN(cuMemcpy2DAsync_v2, cuMemcpy2DAsync_v2_ptsz);

/* ---- memsets ------------------------------------------------------------------ */

static void fill(uintptr_t p, uint32_t value, unsigned elem, size_t n)
{
    if (elem == 1) {
        memset((void *)p, (int)(value & 0xff), n);
    } else if (elem == 2) {
        uint16_t v = (uint16_t)value, *d = (uint16_t *)p;
        for (size_t i = 0; i < n; i++)
            d[i] = v;
    } else {
        uint32_t *d = (uint32_t *)p;
        for (size_t i = 0; i < n; i++)
            d[i] = value;
    }
}

static CUresult memset_2d(CUdeviceptr dst, size_t pitch, uint32_t value, unsigned elem,
                          size_t width, size_t height, CUstream hs, bool sync)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (width == 0 || height == 0)
        return CUDA_SUCCESS;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    if (dst % elem || (height > 1 && pitch < width * elem) || width > SIZE_MAX / elem / height)
        return CUDA_ERROR_INVALID_VALUE;
    size_t span = height > 1 ? pitch * (height - 1) + width * elem : width * elem;
    if (!device_range(dst, span))
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t row = 0; row < height; row++)
        fill(dst + row * pitch, value, elem, width);
    return sim_stream_submit(s, duration_ns(width * elem * height, sim_drv()->st->dtod_bw),
                             SIMGPU_WORK_MEMSET, sync);
}

#define SIM_MEMSET_ASYNC(name, elem, type)                                                         \
    SIM_API CUresult name(CUdeviceptr dst, type value, size_t n, CUstream hs)                      \
    {                                                                                              \
        return memset_2d(dst, 0, value, elem, n, 1, hs, false);                                    \
    }
#define SIM_MEMSET_2D(name, elem, type)                                                            \
    SIM_API CUresult name(CUdeviceptr dst, size_t pitch, type value, size_t w, size_t h)           \
    {                                                                                              \
        return memset_2d(dst, pitch, value, elem, w, h, NULL, true);                               \
    }
#define SIM_MEMSET_2D_ASYNC(name, elem, type)                                                      \
    SIM_API CUresult name(CUdeviceptr dst, size_t pitch, type value, size_t w, size_t h,           \
                          CUstream hs)                                                             \
    {                                                                                              \
        return memset_2d(dst, pitch, value, elem, w, h, hs, false);                                \
    }

SIM_API CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n)
{
    return memset_2d(dst, 0, value, 1, n, 1, NULL, true);
}
SIM_TWIN(cuMemsetD8_v2, cuMemsetD8_v2_ptds);
SIM_API CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short value, size_t n)
{
    return memset_2d(dst, 0, value, 2, n, 1, NULL, true);
}
SIM_TWIN(cuMemsetD16_v2, cuMemsetD16_v2_ptds);
SIM_API CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t n)
{
    return memset_2d(dst, 0, value, 4, n, 1, NULL, true);
}
SIM_TWIN(cuMemsetD32_v2, cuMemsetD32_v2_ptds);

SIM_MEMSET_ASYNC(cuMemsetD8Async, 1, unsigned char)
SIM_TWIN(cuMemsetD8Async, cuMemsetD8Async_ptsz);
SIM_MEMSET_ASYNC(cuMemsetD16Async, 2, unsigned short)
SIM_TWIN(cuMemsetD16Async, cuMemsetD16Async_ptsz);
SIM_MEMSET_ASYNC(cuMemsetD32Async, 4, unsigned int)
SIM_TWIN(cuMemsetD32Async, cuMemsetD32Async_ptsz);

SIM_MEMSET_2D(cuMemsetD2D8_v2, 1, unsigned char)
SIM_TWIN(cuMemsetD2D8_v2, cuMemsetD2D8_v2_ptds);
SIM_MEMSET_2D(cuMemsetD2D16_v2, 2, unsigned short)
SIM_TWIN(cuMemsetD2D16_v2, cuMemsetD2D16_v2_ptds);
SIM_MEMSET_2D(cuMemsetD2D32_v2, 4, unsigned int)
SIM_TWIN(cuMemsetD2D32_v2, cuMemsetD2D32_v2_ptds);

SIM_MEMSET_2D_ASYNC(cuMemsetD2D8Async, 1, unsigned char)
SIM_TWIN(cuMemsetD2D8Async, cuMemsetD2D8Async_ptsz);
SIM_MEMSET_2D_ASYNC(cuMemsetD2D16Async, 2, unsigned short)
SIM_TWIN(cuMemsetD2D16Async, cuMemsetD2D16Async_ptsz);
SIM_MEMSET_2D_ASYNC(cuMemsetD2D32Async, 4, unsigned int)
SIM_TWIN(cuMemsetD2D32Async, cuMemsetD2D32Async_ptsz);
