/* simgpu procaddr: the tables generated from cuda.h (cmake/gen_cuda_tables.cmake)
 * that cuGetProcAddress and the NOT_SUPPORTED stubs use (name resolution and
 * CUresult names are common's cuda_names.h).
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

extern const struct simgpu_sym simgpu_syms[];
extern const size_t simgpu_nsyms;

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
