/* limit_spec: per-device limit strings, as users write them.
 *
 *   LIMITS = ITEM { "," ITEM }
 *   ITEM   = SIZE                   the limit of every device not listed
 *          | INDEX ":" SIZE         the limit of one device
 *   INDEX  = "0" | [1-9][0-9]       a CUDA device ordinal, 0-63
 *   SIZE   = what vgpu_parse_size accepts ("8GiB", "512MiB", "1.5g", "4GB"),
 *            more than 0 bytes, at most 63 characters
 *
 * So "8GiB" (every device), "0:8GiB,1:4GiB" (per device) and "8GiB,1:4GiB"
 * (a default and an exception). At most one default, each device at most
 * once, no blanks, no empty items: a garbled limit is refused, never half
 * applied (vgpu-run refuses to start, libvgpu.so fails closed). HAMi-core's
 * CUDA_DEVICE_MEMORY_LIMIT (every device) and CUDA_DEVICE_MEMORY_LIMIT_<i>
 * take plain sizes and are read when the VGPU_ variable is not set.
 * (Not "limits.h": this directory is on the include path and must not hide
 * the system header.) */
#ifndef VGPU_LIMIT_SPEC_H
#define VGPU_LIMIT_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define VGPU_MAX_DEVICES 64

struct vgpu_limits {
    uint64_t all;                   /* bytes for devices not listed; 0: none given */
    uint64_t given;                 /* bit i set: dev[i] was listed */
    uint64_t dev[VGPU_MAX_DEVICES]; /* bytes, where listed */
};

/* Parses `s`. Returns 0 and fills *out (when not NULL), or -EINVAL
 * (malformed) / -ERANGE (a size past 64 bits, an index past 63) and leaves
 * *out untouched. `err` (when errlen > 0) receives a one-line reason naming
 * the offending part, or "" on success. */
int vgpu_limits_parse(const char *s, struct vgpu_limits *out, char *err, size_t errlen);
/* Reads `var` (the grammar above) or, when unset and `hami_var` is given,
 * HAMi-core's `hami_var` and `hami_var`_<i>. Returns 0 (nothing set is fine:
 * unlimited) or -EINVAL with a message naming the variable. */
int vgpu_limits_from_env(const char *var, const char *hami_var, struct vgpu_limits *out, char *err,
                         size_t errlen);
/* The limit of device `dev` in bytes, 0 when unlimited. */
uint64_t vgpu_limit_for(const struct vgpu_limits *l, int dev);

#endif
