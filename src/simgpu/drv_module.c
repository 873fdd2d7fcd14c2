/* simgpu driver modules: modules, libraries, functions and kernels.
 *
 * Any image loads (cubin, fatbin or PTX): nothing is compiled or run. A PTX
 * image is kept as text and its .entry declarations are read, so that asking
 * for a kernel the image does not contain fails with CUDA_ERROR_NOT_FOUND and
 * cuFuncGetParamInfo reports each parameter's offset and size by the CUDA ABI
 * (what a remote-call layer needs to marshal arguments). For cubin and fatbin
 * images every name resolves and the parameter layout is unknown. */
#include "drv.h"
#include "ptx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- modules ---------------------------------------------------------------------- */

static bool looks_like_ptx(const void *image)
{
    const unsigned char *b = image;
    if (strnlen(image, 4) < 4)
        return false; /* too short to be any image we can read */
    if (b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F')
        return false; /* cubin */
    uint32_t magic;
    memcpy(&magic, image, sizeof(magic));
    if (magic == 0xba55ed50u || magic == 0x466243b1u)
        return false; /* fatbin */
    return strstr(image, ".entry") != NULL || strstr(image, ".version") != NULL;
}

static CUresult module_init(struct CUmod_st *m, struct CUctx_st *ctx, const void *image)
{
    memset(m, 0, sizeof(*m));
    m->magic = MAGIC_MODULE;
    m->ctx = ctx;
    pthread_mutex_init(&m->mu, NULL);
    if (looks_like_ptx(image)) {
        m->ptx = strdup(image);
        if (!m->ptx)
            return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return CUDA_SUCCESS;
}

static void module_fini(struct CUmod_st *m)
{
    struct CUfunc_st *f = m->funcs;
    while (f) {
        struct CUfunc_st *next = f->next;
        f->magic = MAGIC_DEAD;
        free(f);
        f = next;
    }
    free(m->ptx);
    pthread_mutex_destroy(&m->mu);
    m->magic = MAGIC_DEAD;
}

static CUresult module_load(CUmodule *out, const void *image)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out || !image)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUmod_st *m = malloc(sizeof(*m));
    if (!m)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rc = module_init(m, ctx, image);
    if (rc != CUDA_SUCCESS) {
        free(m);
        return rc;
    }
    *out = m;
    return CUDA_SUCCESS;
}

/* Reads a whole image file; NUL-terminated so PTX text can be scanned. */
static CUresult read_file(const char *path, char **out)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    if (!f)
        return path ? CUDA_ERROR_FILE_NOT_FOUND : CUDA_ERROR_INVALID_VALUE;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return CUDA_ERROR_OUT_OF_MEMORY;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0);
    fclose(f);
    if (len < 4) {
        free(buf);
        return CUDA_ERROR_INVALID_IMAGE;
    }
    buf[len] = '\0';
    *out = buf;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuModuleLoadData(CUmodule *out, const void *image)
{
    return module_load(out, image);
}

SIM_API CUresult cuModuleLoadDataEx(CUmodule *out, const void *image, unsigned int n,
                                    CUjit_option *opts, void **vals)
{
    return module_load(out, image);
}

SIM_API CUresult cuModuleLoadFatBinary(CUmodule *out, const void *fatbin)
{
    return module_load(out, fatbin);
}

SIM_API CUresult cuModuleLoad(CUmodule *out, const char *path)
{
    char *image;
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = read_file(path, &image);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = module_load(out, image);
    free(image);
    return rc;
}

SIM_API CUresult cuModuleUnload(CUmodule m)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!m || m->magic != MAGIC_MODULE)
        return CUDA_ERROR_INVALID_HANDLE;
    module_fini(m);
    free(m);
    return CUDA_SUCCESS;
}

static CUresult get_function(struct CUfunc_st **out, struct CUmod_st *m, const char *name)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!m || m->magic != MAGIC_MODULE)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!out || !name || strlen(name) >= sizeof(((struct CUfunc_st *)0)->name))
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->mu);
    struct CUfunc_st *f;
    for (f = m->funcs; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            break;
    if (!f) {
        struct simgpu_ptx_param params[32];
        int n = m->ptx ? simgpu_ptx_params(m->ptx, name, params, 32) : -1;
        if (m->ptx && n < 0) {
            rc = CUDA_ERROR_NOT_FOUND;
        } else if (!(f = calloc(1, sizeof(*f)))) {
            rc = CUDA_ERROR_OUT_OF_MEMORY;
        } else {
            f->magic = MAGIC_FUNC;
            f->mod = m;
            f->busy = strcmp(name, "vgpu_sim_busy") == 0;
            f->nparams = m->ptx ? n : -1;
            if (n > 0)
                memcpy(f->params, params, sizeof(params[0]) * (size_t)n);
            vgpu_strlcpy(f->name, name, sizeof(f->name));
            f->attrs[CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = 1024;
            f->attrs[CU_FUNC_ATTRIBUTE_NUM_REGS] = 32;
            f->attrs[CU_FUNC_ATTRIBUTE_PTX_VERSION] = 80;
            f->attrs[CU_FUNC_ATTRIBUTE_BINARY_VERSION] = 90;
            f->attrs[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES] = 49152;
            f->next = m->funcs;
            m->funcs = f;
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (rc == CUDA_SUCCESS)
        *out = f;
    return rc;
}

SIM_API CUresult cuModuleGetFunction(CUfunction *out, CUmodule m, const char *name)
{
    return get_function(out, m, name);
}

/* ---- libraries (context-independent modules) ---------------------------------------- */

static CUresult library_load(CUlibrary *out, const void *image)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out || !image)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUlib_st *lib = malloc(sizeof(*lib));
    if (!lib)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rc = module_init(&lib->mod, NULL, image);
    if (rc != CUDA_SUCCESS) {
        free(lib);
        return rc;
    }
    lib->magic = MAGIC_LIBRARY;
    *out = lib;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuLibraryLoadData(CUlibrary *out, const void *code, CUjit_option *jo, void **jv,
                                   unsigned int njo, CUlibraryOption *lo, void **lv,
                                   unsigned int nlo)
{
    return library_load(out, code);
}

SIM_API CUresult cuLibraryLoadFromFile(CUlibrary *out, const char *path, CUjit_option *jo,
                                       void **jv, unsigned int njo, CUlibraryOption *lo, void **lv,
                                       unsigned int nlo)
{
    char *image;
    CUresult rc = sim_check_init();
    if (rc == CUDA_SUCCESS)
        rc = read_file(path, &image);
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = library_load(out, image);
    free(image);
    return rc;
}

static CUresult lib_check(CUlibrary lib)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    return lib && lib->magic == MAGIC_LIBRARY ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

SIM_API CUresult cuLibraryUnload(CUlibrary lib)
{
    CUresult rc = lib_check(lib);
    if (rc != CUDA_SUCCESS)
        return rc;
    module_fini(&lib->mod);
    lib->magic = MAGIC_DEAD;
    free(lib);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuLibraryGetKernel(CUkernel *out, CUlibrary lib, const char *name)
{
    struct CUfunc_st *f;
    CUresult rc = lib_check(lib);
    if (rc == CUDA_SUCCESS)
        rc = get_function(&f, &lib->mod, name);
    if (rc == CUDA_SUCCESS)
        *out = (CUkernel)(void *)f; /* a CUkernel may be passed wherever a CUfunction is */
    return rc;
}

SIM_API CUresult cuLibraryGetModule(CUmodule *out, CUlibrary lib)
{
    CUresult rc = lib_check(lib);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *out = &lib->mod;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuKernelGetFunction(CUfunction *out, CUkernel k)
{
    CUfunction f = (CUfunction)(void *)k;
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!f || f->magic != MAGIC_FUNC)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *out = f;
    return CUDA_SUCCESS;
}

/* ---- functions ------------------------------------------------------------------------ */

static CUresult func_ok(CUfunction f)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    return f && f->magic == MAGIC_FUNC ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

SIM_API CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute a, CUfunction f)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pi || (int)a < 0 || a >= CU_FUNC_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = f->attrs[a];
    return CUDA_SUCCESS;
}

SIM_API CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int value)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if ((int)a < 0 || a >= CU_FUNC_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    f->attrs[a] = value;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuKernelGetAttribute(int *pi, CUfunction_attribute a, CUkernel k, CUdevice dev)
{
    return cuFuncGetAttribute(pi, a, (CUfunction)(void *)k);
}

SIM_API CUresult cuKernelSetAttribute(CUfunction_attribute a, int value, CUkernel k, CUdevice dev)
{
    return cuFuncSetAttribute((CUfunction)(void *)k, a, value);
}

SIM_API CUresult cuFuncSetCacheConfig(CUfunction f, CUfunc_cache config)
{
    return func_ok(f);
}

SIM_API CUresult cuFuncGetName(const char **name, CUfunction f)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!name)
        return CUDA_ERROR_INVALID_VALUE;
    *name = f->name;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuKernelGetName(const char **name, CUkernel k)
{
    return cuFuncGetName(name, (CUfunction)(void *)k);
}

SIM_API CUresult cuFuncGetModule(CUmodule *out, CUfunction f)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *out = f->mod;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuFuncGetParamInfo(CUfunction f, size_t index, size_t *offset, size_t *size)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!offset || !size)
        return CUDA_ERROR_INVALID_VALUE;
    if (f->nparams < 0)
        return CUDA_ERROR_NOT_SUPPORTED;
    if (index >= (size_t)f->nparams)
        return CUDA_ERROR_INVALID_VALUE;
    *offset = f->params[index].offset;
    *size = f->params[index].size;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuKernelGetParamInfo(CUkernel k, size_t index, size_t *offset, size_t *size)
{
    return cuFuncGetParamInfo((CUfunction)(void *)k, index, offset, size);
}

SIM_API CUresult cuFuncIsLoaded(CUfunctionLoadingState *state, CUfunction f)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!state)
        return CUDA_ERROR_INVALID_VALUE;
    *state = CU_FUNCTION_LOADING_STATE_LOADED;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuFuncLoad(CUfunction f)
{
    return func_ok(f);
}

SIM_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *n, CUfunction f,
                                                                      int block, size_t dyn,
                                                                      unsigned int flags)
{
    CUresult rc = func_ok(f);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!n || block <= 0 || block > 1024)
        return CUDA_ERROR_INVALID_VALUE;
    *n = 2048 / block < 32 ? 2048 / block : 32;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, CUfunction f, int block,
                                                             size_t dyn)
{
    return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n, f, block, dyn, 0);
}
