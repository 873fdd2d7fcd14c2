/*
 * work_ptx.c: the PTX module that vgpu-work loads with cuModuleLoadData.
 *
 * The module is plain PTX text so that the program needs no CUDA compiler at
 * build time: the driver JIT-compiles it for whatever GPU it finds (a
 * ".target sm_75" module runs on every GPU that CUDA 13 supports, sm_90
 * included), and simgpu only has to read the entry names. Three kernels:
 *
 *   vgpu_sim_busy(.u64 us)             every thread spins until %globaltimer
 *                                      has advanced by us * 1000 ns; simgpu
 *                                      charges a kernel of exactly this name
 *                                      us microseconds of device time.
 *   vgpu_work_fma(.u64 iters, .u64 sink)
 *                                      a dependent chain of iters FMAs per
 *                                      thread; the result is stored to sink
 *                                      only if it equals -1.0, which cannot
 *                                      happen (it starts at tid.x >= 0 and
 *                                      the coefficients are positive), and
 *                                      only if sink is not 0, so the host
 *                                      passes 0 and no buffer is needed. The
 *                                      store keeps the chain alive.
 *   vgpu_empty()                       returns at once (launch overhead).
 *
 * "ptxas -arch=sm_90" must accept this text; bench/README.md says how to
 * check it.
 */
#include "work_ptx.h"

/* One PTX line per C line, as written, so clang-format leaves it alone. */
/* clang-format off */
const char work_ptx[] =
    ".version 8.0\n"
    ".target sm_75\n"
    ".address_size 64\n"
    "\n"
    ".visible .entry vgpu_sim_busy(\n"
    "    .param .u64 vgpu_sim_busy_us\n"
    ")\n"
    "{\n"
    "    .reg .pred %p<2>;\n"
    "    .reg .b64 %rd<6>;\n"
    "\n"
    "    ld.param.u64 %rd1, [vgpu_sim_busy_us];\n"
    "    mul.lo.u64 %rd2, %rd1, 1000;\n"
    "    mov.u64 %rd3, %globaltimer;\n"
    "BUSY_SPIN:\n"
    "    mov.u64 %rd4, %globaltimer;\n"
    "    sub.u64 %rd5, %rd4, %rd3;\n"
    "    setp.lt.u64 %p1, %rd5, %rd2;\n"
    "    @%p1 bra BUSY_SPIN;\n"
    "    ret;\n"
    "}\n"
    "\n"
    ".visible .entry vgpu_work_fma(\n"
    "    .param .u64 vgpu_work_fma_iters,\n"
    "    .param .u64 vgpu_work_fma_sink\n"
    ")\n"
    "{\n"
    "    .reg .pred %p<5>;\n"
    "    .reg .f32 %f<2>;\n"
    "    .reg .b32 %r<2>;\n"
    "    .reg .b64 %rd<5>;\n"
    "\n"
    "    ld.param.u64 %rd1, [vgpu_work_fma_iters];\n"
    "    ld.param.u64 %rd2, [vgpu_work_fma_sink];\n"
    "    mov.u32 %r1, %tid.x;\n"
    "    cvt.rn.f32.u32 %f1, %r1;\n"
    "    mov.u64 %rd3, 0;\n"
    "    setp.eq.u64 %p1, %rd1, 0;\n"
    "    @%p1 bra FMA_DONE;\n"
    "FMA_LOOP:\n"
    /* f = f * 0.999999 + 0.001: stays finite and positive for any count. */
    "    fma.rn.f32 %f1, %f1, 0f3F7FFFEF, 0f3A83126F;\n"
    "    add.u64 %rd3, %rd3, 1;\n"
    "    setp.lt.u64 %p2, %rd3, %rd1;\n"
    "    @%p2 bra FMA_LOOP;\n"
    "FMA_DONE:\n"
    "    setp.eq.f32 %p3, %f1, 0fBF800000;\n"
    "    setp.ne.u64 %p4, %rd2, 0;\n"
    "    and.pred %p3, %p3, %p4;\n"
    "    @!%p3 bra FMA_END;\n"
    "    cvta.to.global.u64 %rd4, %rd2;\n"
    "    st.global.f32 [%rd4], %f1;\n"
    "FMA_END:\n"
    "    ret;\n"
    "}\n"
    "\n"
    ".visible .entry vgpu_empty()\n"
    "{\n"
    "    ret;\n"
    "}\n";
/* clang-format on */
