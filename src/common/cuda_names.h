/* cuda_names: how the driver names its entry points, from cuda.h.
 *
 * cuGetProcAddress takes a base name ("cuMemAlloc"), a CUDA version and
 * flags, and answers with one versioned entry point ("cuMemAlloc_v2", or the
 * per-thread-default-stream twin "cuMemcpyHtoD_v2_ptds"). simgpu answers such
 * requests and libvgpu.so must know which entry point the real driver hands
 * out to interpose the right one: both resolve names here. The alias and
 * error-name tables are generated from the toolkit's cuda.h at build time
 * (cmake/gen_cuda_tables.cmake); the handful of signature changes older CUDA
 * versions still see are listed by hand in cuda_names.c. */
#ifndef VGPU_CUDA_NAMES_H
#define VGPU_CUDA_NAMES_H

#include <stddef.h>

struct vgpu_cuda_alias {
    const char *base, *newest, *per_thread;
};
struct vgpu_cuda_errname {
    int value;
    const char *name;
};

extern const struct vgpu_cuda_alias vgpu_cuda_aliases[]; /* sorted by base */
extern const size_t vgpu_cuda_naliases;
extern const struct vgpu_cuda_errname vgpu_cuda_errnames[];
extern const size_t vgpu_cuda_nerrnames;

/* The entry point a driver of this CUDA generation returns for `base` asked
 * at `version` with `per_thread` (CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
 * set or not. Names without an alias resolve to themselves. */
const char *vgpu_cuda_resolve(const char *base, int version, int per_thread);
/* "CUDA_ERROR_OUT_OF_MEMORY" for 2; NULL for an unknown code. */
const char *vgpu_cuda_error_name(int code);

#endif
