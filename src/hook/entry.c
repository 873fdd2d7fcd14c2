/* entry: how calls reach libvgpu.so, and its initialisation.
 *
 * Three doors lead to the driver, and each is guarded here:
 *  - exported symbols (cuMemAlloc_v2, ...) for programs linked with -lcuda:
 *    being preloaded, ours come first in the global scope;
 *  - dlsym: libraries that dlopen libcuda.so.1 and dlsym entry points get our
 *    hook for every hooked name, whatever the handle. The real dlsym comes
 *    from dlvsym on libc (GLIBC_2.34, else GLIBC_2.2.5): we never call ourselves.
 *    RTLD_NEXT is resolved relative to the caller, not to us;
 *  - cuGetProcAddress (v1 and v2): libcudart asks for "cuGetProcAddress"
 *    itself first, then for everything by base name. We ask the real driver
 *    (so availability, versions and errors stay the driver's), then replace
 *    its answer with our hook when the versioned entry point that request
 *    means (cuda_names) is one we hook.
 * Initialisation is lazy and once-only (pthread_once): environment, limits,
 * the real libcuda.so.1 and libnvidia-ml.so.1 and their entry points. A bad
 * configuration is reported once on stderr and every hooked call fails. */
#include "hook.h"
#include "internal.h"

#include "common.h"
#include "cuda_names.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Atomic(void *) vgpu__real[VGPU_ID_COUNT];

static const char *const fn_names[VGPU_ID_COUNT] = {
#define NAME(name, src) [VGPU_ID_##name] = #name,
    VGPU_CUDA_HOOKS(NAME) VGPU_CUDA_USES(NAME) VGPU_NVML_HOOKS(NAME) VGPU_NVML_USES(NAME)
#undef NAME
};

static const struct {
    const char *name;
    void *fn;
} hooks[] = {
#define HOOK(name, src) {#name, (void *)name},
    VGPU_CUDA_HOOKS(HOOK) VGPU_NVML_HOOKS(HOOK)
#undef HOOK
};

struct vgpu__process vgpu__proc = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                   .pool_lock = PTHREAD_MUTEX_INITIALIZER,
                                   .vgpud_fd = -1,
                                   .sched_tenant = -1,
                                   .sched_client = -1};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CUresult init_result = CUDA_ERROR_NOT_INITIALIZED;

typedef void *(*dlsym_fn)(void *, const char *);

/* The dlsym path runs before anything else in the process is set up, even
 * before a sanitizer runtime (which looks up its interceptors with dlsym):
 * it must not be instrumented. */
#define EARLY __attribute__((no_sanitize("address", "undefined")))

EARLY static dlsym_fn real_dlsym(void)
{
    static _Atomic(dlsym_fn) cached;
    dlsym_fn f = atomic_load_explicit(&cached, memory_order_acquire);
    if (!f) {
        /* From libc itself: RTLD_NEXT depends on who is calling, and a
         * sanitizer runtime may stand between us and libc. */
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        void *from = libc ? libc : RTLD_NEXT;
        f = (dlsym_fn)dlvsym(from, "dlsym", "GLIBC_2.34");
        if (!f)
            f = (dlsym_fn)dlvsym(from, "dlsym", "GLIBC_2.2.5");
        if (libc)
            dlclose(libc);
        atomic_store_explicit(&cached, f, memory_order_release);
    }
    return f;
}

EARLY void *vgpu__hook_by_name(const char *name)
{
    if (!name || name[0] == '\0')
        return NULL;
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
        if (strcmp(hooks[i].name, name) == 0)
            return hooks[i].fn;
    return NULL;
}

bool vgpu__config_broken(void)
{
    return vgpu__proc.broken;
}

static bool valid_tenant(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 63 || t[0] == '.' || t[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Fails closed: the message goes to stderr whatever the log level. */
static CUresult broken(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "vgpu: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "; CUDA calls fail until this is fixed\n");
    vgpu__proc.broken = true;
    return CUDA_ERROR_INVALID_VALUE;
}

static void resolve(void *lib, int first, int last)
{
    dlsym_fn look = real_dlsym();
    for (int i = first; i < last; i++)
        atomic_store_explicit(&vgpu__real[i], lib ? look(lib, fn_names[i]) : NULL,
                              memory_order_relaxed);
}

static void atfork_child(void)
{
    vgpu__forget_process();
}

static void do_init(void)
{
    struct vgpu__process *P = &vgpu__proc;
    char err[512];
    const char *tenant = getenv("VGPU_TENANT");

    vgpu_log_init("vgpu", "VGPU_LOG_LEVEL", VGPU_LOG_WARN);
    if (!real_dlsym()) {
        init_result = broken("cannot find the C library's dlsym%s%s", "", "");
        return;
    }
    if (vgpu_limits_from_env("VGPU_MEMORY_LIMIT", "CUDA_DEVICE_MEMORY_LIMIT", &P->limits, err,
                             sizeof(err)) != 0 ||
        vgpu_limits_from_env("VGPU_MEMORY_SOFT_LIMIT", NULL, &P->soft, err, sizeof(err)) != 0) {
        init_result = broken("%s%s", err, "");
        return;
    }
    if (!vgpu__lease_config(err, sizeof(err))) {
        init_result = broken("%s%s", err, "");
        return;
    }
    if (tenant && !valid_tenant(tenant)) {
        init_result = broken("VGPU_TENANT=%s is not a tenant name%s", tenant,
                             " (1-63 of A-Z a-z 0-9 . _ -, not starting with . or -)");
        return;
    }
    P->tenant_given = tenant != NULL;
    if (tenant)
        vgpu_strlcpy(P->tenant, tenant, sizeof(P->tenant));
    else
        snprintf(P->tenant, sizeof(P->tenant), "uid-%u", (unsigned)getuid());

    P->libcuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!P->libcuda) {
        vgpu_warn("cannot load libcuda.so.1: %s", dlerror());
        init_result = CUDA_ERROR_NO_DEVICE;
        return;
    }
    resolve(P->libcuda, 0, VGPU_ID_CUDA_END);
    P->libnvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    resolve(P->libnvml, VGPU_ID_CUDA_END + 1, VGPU_ID_COUNT);
    if (!REAL(cuInit) || !REAL(cuGetProcAddress_v2) || !REAL(cuCtxGetDevice)) {
        init_result = broken("libcuda.so.1 lacks entry points vgpu needs%s%s", "", "");
        return;
    }
    pthread_atfork(NULL, NULL, atfork_child);
    vgpu_info("tenant %s; libvgpu ready", P->tenant);
    init_result = CUDA_SUCCESS;
}

CUresult vgpu__init(void)
{
    pthread_once(&init_once, do_init);
    return init_result;
}

/* ---- dlsym ------------------------------------------------------------------ */

/* dlsym(RTLD_NEXT, name) as the caller at `caller` would see it: the first
 * object after the caller's in load order that defines `name`. */
EARLY static void *next_after(const void *caller, const char *name)
{
    Dl_info info;
    struct link_map *lm = NULL;
    dlsym_fn look = real_dlsym();
    if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return look(RTLD_DEFAULT, name);
    for (struct link_map *l = lm->l_next; l; l = l->l_next) {
        void *h = dlopen(l->l_name[0] ? l->l_name : NULL, RTLD_LAZY | RTLD_NOLOAD);
        if (!h)
            continue;
        void *sym = look(h, name);
        dlclose(h);
        if (sym)
            return sym;
    }
    return NULL;
}

void *vgpu__next_symbol(const char *name)
{
    return next_after((const void *)vgpu__next_symbol, name);
}

EARLY VGPU_EXPORT void *dlsym(void *handle, const char *name)
{
    if (((name[0] == 'c' && name[1] == 'u') || strncmp(name, "nvml", 4) == 0)) {
        void *hook = vgpu__hook_by_name(name);
        if (hook)
            return hook;
    }
    if (handle == RTLD_NEXT)
        return next_after(__builtin_return_address(0), name);
    dlsym_fn look = real_dlsym();
    return look ? look(handle, name) : NULL;
}

/* ---- cuGetProcAddress ---------------------------------------------------------- */

/* Replaces the real driver's answer with our hook when the entry point the
 * request means is hooked. Before CUDA 3.2 base names meant 32-bit v1 entry
 * points we do not hook: refusing them keeps every allocation counted. */
static CUresult interpose(const char *symbol, void **pfn, int version, cuuint64_t flags,
                          CUdriverProcAddressQueryResult *status)
{
    const char *target = vgpu_cuda_resolve(
        symbol, version, (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0);
    void *hook = vgpu__hook_by_name(target);
    if (!hook)
        return CUDA_SUCCESS;
    if (version < 3020 && strcmp(target, symbol) != 0) {
        *pfn = NULL;
        if (status)
            *status = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
        return CUDA_SUCCESS;
    }
    *pfn = hook;
    return CUDA_SUCCESS;
}

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    CUresult rc = vgpu__init();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuGetProcAddress_v2)(symbol, pfn, version, flags, status);
    if (rc != CUDA_SUCCESS || !symbol || !pfn || !*pfn)
        return rc;
    return interpose(symbol, pfn, version, flags, status);
}

CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, cuuint64_t flags)
{
    CUresult rc = vgpu__init();
    if (rc != CUDA_SUCCESS)
        return rc;
    rc = REAL(cuGetProcAddress) ? REAL(cuGetProcAddress)(symbol, pfn, version, flags)
                                : REAL(cuGetProcAddress_v2)(symbol, pfn, version, flags, NULL);
    if (rc != CUDA_SUCCESS || !symbol || !pfn || !*pfn)
        return rc;
    return interpose(symbol, pfn, version, flags, NULL);
}
