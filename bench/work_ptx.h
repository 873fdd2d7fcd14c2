/* work_ptx.h: the PTX text of vgpu-work's kernels (see work_ptx.c). */
#ifndef VGPU_BENCH_WORK_PTX_H
#define VGPU_BENCH_WORK_PTX_H

/* Entry names, as simgpu and the launcher look them up. */
#define WORK_KERNEL_BUSY "vgpu_sim_busy"
#define WORK_KERNEL_FMA "vgpu_work_fma"
#define WORK_KERNEL_EMPTY "vgpu_empty"

/* NUL-terminated PTX module text for cuModuleLoadData. */
extern const char work_ptx[];

#endif
