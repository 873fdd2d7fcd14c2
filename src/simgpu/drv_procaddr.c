/* simgpu driver entry-point lookup and error names: cuGetProcAddress (v1
 * and v2) and cuGetErrorName/String.
 *
 * cuGetProcAddress resolves a base name ("cuMemAlloc") for a CUDA version and
 * flags to an entry point with common's cuda_names (tables generated from
 * cuda.h), then finds its address in the generated symbol table; asked for
 * "cuGetProcAddress" it returns itself, which is how libcudart bootstraps.
 * tests/simgpu/test-contract.c checks these rules against the real driver. */
#include "drv.h"
#include "cuda_names.h"
#include "procaddr.h"

#include <stdlib.h>
#include <string.h>

/* ---- errors -------------------------------------------------------------- */

SIM_API CUresult cuGetErrorName(CUresult error, const char **str)
{
    if (!str)
        return CUDA_ERROR_INVALID_VALUE;
    *str = vgpu_cuda_error_name((int)error);
    return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

SIM_API CUresult cuGetErrorString(CUresult error, const char **str)
{
    static const struct {
        CUresult code;
        const char *text;
    } texts[] = {
        {CUDA_SUCCESS, "no error"},
        {CUDA_ERROR_INVALID_VALUE, "invalid argument"},
        {CUDA_ERROR_OUT_OF_MEMORY, "out of memory"},
        {CUDA_ERROR_NOT_INITIALIZED, "initialization error"},
        {CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected"},
        {CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal"},
        {CUDA_ERROR_INVALID_CONTEXT, "invalid device context"},
        {CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"},
        {CUDA_ERROR_NOT_FOUND, "named symbol not found"},
        {CUDA_ERROR_NOT_READY, "device not ready"},
        {CUDA_ERROR_NOT_SUPPORTED, "operation not supported"},
        {CUDA_ERROR_FILE_NOT_FOUND, "file not found"},
        {CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid"},
        {CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "operation not permitted when stream is capturing"},
    };
    const char *name;
    if (!str)
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (texts[i].code == error) {
            *str = texts[i].text;
            return CUDA_SUCCESS;
        }
    }
    if (cuGetErrorName(error, &name) != CUDA_SUCCESS) {
        *str = NULL;
        return CUDA_ERROR_INVALID_VALUE;
    }
    *str = name;
    return CUDA_SUCCESS;
}

/* ---- cuGetProcAddress ----------------------------------------------------- */

static int cmp_sym(const void *key, const void *elem)
{
    return strcmp(key, ((const struct simgpu_sym *)elem)->name);
}

static void *lookup_sym(const char *name)
{
    const struct simgpu_sym *s =
        bsearch(name, simgpu_syms, simgpu_nsyms, sizeof(simgpu_syms[0]), cmp_sym);
    return s ? s->fn : NULL;
}

static CUresult proc_address(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    const char *target = symbol;
    CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SUCCESS;
    CUresult rc = CUDA_SUCCESS;
    void *fn = NULL;

    if (!symbol || !pfn || version > SIM_DRIVER_VERSION ||
        (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
                               CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM))) {
        rc = CUDA_ERROR_INVALID_VALUE;
        goto out;
    }
    target = vgpu_cuda_resolve(symbol, version,
                               (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0);
    /* An unknown symbol is not an error: a NULL pointer and the status say
     * so (the real driver does this; the documentation agrees). */
    fn = lookup_sym(target);
    if (!fn)
        st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
out:
    if (pfn)
        *pfn = fn;
    if (status)
        *status = st;
    return rc;
}

SIM_API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                                     CUdriverProcAddressQueryResult *status)
{
    return proc_address(symbol, pfn, version, flags, status);
}

SIM_API CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, cuuint64_t flags)
{
    return proc_address(symbol, pfn, version, flags, NULL);
}
