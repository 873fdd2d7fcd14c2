/* cuda_names: cuGetProcAddress name resolution (see cuda_names.h). */
#include "cuda_names.h"

#include <stdlib.h>
#include <string.h>

/* Entry points whose signature changed, for callers that ask with an older
 * CUDA version than the one that introduced the newest form. */
static const struct {
    const char *base;
    int before;         /* a requested version below this ... */
    const char *symbol; /* ... gets this */
} older[] = {
    {"cuCtxCreate", 11040, "cuCtxCreate_v2"},
    {"cuCtxCreate", 12050, "cuCtxCreate_v3"},
    {"cuDeviceGetUuid", 11040, "cuDeviceGetUuid"},
    {"cuEventElapsedTime", 12080, "cuEventElapsedTime"},
    {"cuGetProcAddress", 12000, "cuGetProcAddress"},
    {"cuGraphInstantiate", 12000, "cuGraphInstantiate_v2"},
    {"cuStreamGetCaptureInfo", 11030, "cuStreamGetCaptureInfo"},
    {"cuStreamGetCaptureInfo", 12030, "cuStreamGetCaptureInfo_v2"},
};

static int cmp_alias(const void *key, const void *elem)
{
    return strcmp(key, ((const struct vgpu_cuda_alias *)elem)->base);
}

const char *vgpu_cuda_resolve(const char *base, int version, int per_thread)
{
    for (size_t i = 0; i < sizeof(older) / sizeof(older[0]); i++)
        if (strcmp(older[i].base, base) == 0 && version < older[i].before)
            return older[i].symbol;
    const struct vgpu_cuda_alias *a = bsearch(base, vgpu_cuda_aliases, vgpu_cuda_naliases,
                                              sizeof(vgpu_cuda_aliases[0]), cmp_alias);
    if (!a)
        return base;
    return per_thread && a->per_thread ? a->per_thread : a->newest;
}

const char *vgpu_cuda_error_name(int code)
{
    for (size_t i = 0; i < vgpu_cuda_nerrnames; i++)
        if (vgpu_cuda_errnames[i].value == code)
            return vgpu_cuda_errnames[i].name;
    return NULL;
}
