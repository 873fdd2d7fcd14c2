/* simgpu procaddr: the tables generated from cuda.h (cmake/gen_cuda_tables.cmake)
 * that cuGetProcAddress, cuGetErrorName and the NOT_SUPPORTED stubs use.
 *
 * Deliberately free of cuda.h: the generated file declares every entry point
 * as `int name(void)` weak stubs, which would clash with cuda.h's prototypes. */
#ifndef SIMGPU_PROCADDR_H
#define SIMGPU_PROCADDR_H

#include <stddef.h>

struct simgpu_sym {
    const char *name;
    void *fn;
};
struct simgpu_alias {
    const char *base, *newest, *per_thread;
};
struct simgpu_errname {
    int value;
    const char *name;
};

extern const struct simgpu_sym simgpu_syms[];
extern const size_t simgpu_nsyms;
extern const struct simgpu_alias simgpu_aliases[];
extern const size_t simgpu_naliases;
extern const struct simgpu_errname simgpu_errnames[];
extern const size_t simgpu_nerrnames;

/* Logs once per entry point that the simulated driver lacks it; returns
 * CUDA_ERROR_NOT_SUPPORTED. */
int simgpu_unsupported(const char *name, int *warned);

/* A weak stub a real implementation in another object overrides at link time. */
#define SIMGPU_STUB(n)                                                                             \
    __attribute__((weak, visibility("default"))) int n(void);                                      \
    int n(void)                                                                                    \
    {                                                                                              \
        static int warned;                                                                         \
        return simgpu_unsupported(#n, &warned);                                                    \
    }

#endif
