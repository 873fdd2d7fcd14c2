/*
 * work_cuda.c: loads the CUDA driver for vgpu-work without linking it.
 *
 * vgpu-work must run unchanged against the real driver, against simgpu's
 * libcuda.so.1 and under libvgpu's hooks, so it resolves the driver exactly
 * the way libcudart does: dlopen("libcuda.so.1"), dlsym only
 * cuGetProcAddress_v2, then ask it for every other entry point by base name
 * with the CUDA_VERSION of the headers we were built with. That keeps the
 * program on the same path as real CUDA applications, which is the path the
 * hooks and the simulated driver must handle.
 */
#include "work_cuda.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int resolve(PFN_cuGetProcAddress_v12000 get_proc, const char *name, void **fn, char *err,
                   size_t errlen)
{
    CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    CUresult r;

    *fn = NULL;
    r = get_proc(name, fn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &found);
    if (r == CUDA_SUCCESS && found == CU_GET_PROC_ADDRESS_SUCCESS && *fn != NULL)
        return 0;
    snprintf(err, errlen, "cuGetProcAddress(\"%s\", %d) failed: CUresult %d, query result %d", name,
             CUDA_VERSION, (int)r, (int)found);
    return -ENOSYS;
}

int work_cu_load(struct work_cu *cu, char *err, size_t errlen)
{
    PFN_cuGetProcAddress_v12000 get_proc;
    void *sym;
    void *fn = NULL;
    int rc = 0;

    memset(cu, 0, sizeof(*cu));
    cu->lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (cu->lib == NULL) {
        snprintf(err, errlen, "cannot load the CUDA driver: %s", dlerror());
        rc = -ENOENT;
        goto cleanup;
    }
    dlerror();
    sym = dlsym(cu->lib, "cuGetProcAddress_v2");
    if (sym == NULL) {
        snprintf(err, errlen,
                 "libcuda.so.1 has no cuGetProcAddress_v2 (driver older than "
                 "CUDA 12?): %s",
                 dlerror());
        rc = -ENOSYS;
        goto cleanup;
    }
    /* POSIX guarantees a void * from dlsym holds a function pointer; memcpy
     * says so without the cast that ISO C leaves undefined. */
    memcpy(&get_proc, &sym, sizeof(get_proc));

#define WORK_CU_RESOLVE(field, name, type)                                                         \
    rc = resolve(get_proc, name, &fn, err, errlen);                                                \
    if (rc != 0)                                                                                   \
        goto cleanup;                                                                              \
    _Static_assert(sizeof(type) == sizeof(fn), #field " is not pointer-sized");                    \
    memcpy(&cu->field, &fn, sizeof(fn));
    WORK_CU_FUNCS(WORK_CU_RESOLVE)
#undef WORK_CU_RESOLVE

cleanup:
    if (rc != 0)
        work_cu_unload(cu);
    return rc;
}

void work_cu_unload(struct work_cu *cu)
{
    if (cu->lib != NULL)
        dlclose(cu->lib);
    memset(cu, 0, sizeof(*cu));
}

const char *work_cu_error(const struct work_cu *cu, CUresult r, char *buf, size_t len)
{
    const char *name = NULL;

    if (cu->get_error_name == NULL || cu->get_error_name(r, &name) != CUDA_SUCCESS || name == NULL)
        name = "CUDA_ERROR_UNKNOWN_CODE";
    snprintf(buf, len, "%s (%d)", name, (int)r);
    return buf;
}
