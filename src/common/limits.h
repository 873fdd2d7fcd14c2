/* limits: per-device limit strings, as users write them in the environment.
 *
 *   VGPU_MEMORY_LIMIT=8GiB              every device
 *   VGPU_MEMORY_LIMIT=0:8GiB,1:4GiB     per CUDA device ordinal
 *   VGPU_MEMORY_LIMIT=8GiB,1:4GiB       a default and an exception
 * Sizes are vgpu_parse_size's. HAMi-core's CUDA_DEVICE_MEMORY_LIMIT (every
 * device) and CUDA_DEVICE_MEMORY_LIMIT_<i> (device i) use the same sizes and
 * are honoured when the VGPU_ variable is not set. A limit of zero, a device
 * index out of range or given twice, or anything unreadable is an error: the
 * caller fails closed rather than running unlimited. */
#ifndef VGPU_LIMITS_H
#define VGPU_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VGPU_MAX_DEVICES 64

struct vgpu_limits {
    uint64_t all;                   /* 0: no default */
    uint64_t dev[VGPU_MAX_DEVICES]; /* 0: the default applies */
};

/* Parses one limit string into `out` (entries it names are set, others
 * untouched). 0 or -EINVAL with a message naming the bad part in `err`. */
int vgpu_parse_limits(const char *s, struct vgpu_limits *out, char *err, size_t errlen);
/* Reads `var` (VGPU form) or, when unset and `hami_var` is given, HAMi-core's
 * `hami_var` and `hami_var`_<i>. Returns 0 (nothing set is fine: unlimited)
 * or -EINVAL with a message naming the variable. */
int vgpu_limits_from_env(const char *var, const char *hami_var, struct vgpu_limits *out, char *err,
                         size_t errlen);
/* The limit of device `dev` in bytes, 0 when unlimited. */
uint64_t vgpu_limit_for(const struct vgpu_limits *l, int dev);

#endif
