/* simgpu ptx: reads kernel parameter layouts from PTX text.
 *
 * Finds `.entry NAME(...)` and lays its `.param` declarations out by the
 * CUDA ABI: each parameter aligned to its `.align` or natural size, arrays
 * (`.b8 name[16]`) sized by element count. This is what cuFuncGetParamInfo
 * reports, and what a remote-call layer needs to marshal arguments. It reads
 * untrusted text: every scan is bounded by the NUL terminator and the
 * closing parenthesis (fuzzed by tests/fuzz/fuzz-ptx.c). */
#ifndef SIMGPU_PTX_H
#define SIMGPU_PTX_H

#include <stdint.h>

struct simgpu_ptx_param {
    uint32_t offset, size;
};

/* Parameters of entry `name` in NUL-terminated `ptx`, at most `max`. Returns
 * their number, or -1 when there is no such entry or its list is malformed. */
int simgpu_ptx_params(const char *ptx, const char *name, struct simgpu_ptx_param *out, int max);

#endif
