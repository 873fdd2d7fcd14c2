/* sched internals shared by region.c and policy.c. Everything here needs the
 * region's lock held. */
#ifndef VGPU_SCHED_INTERNAL_H
#define VGPU_SCHED_INTERNAL_H

#include "scheduler.h"

static inline bool vgpu__bit(const uint64_t *map, int i)
{
    return (map[i / 64] >> (i % 64)) & 1;
}

static inline void vgpu__bit_set(uint64_t *map, int i, bool on)
{
    if (on)
        map[i / 64] |= 1ULL << (i % 64);
    else
        map[i / 64] &= ~(1ULL << (i % 64));
}

/* Recomputes GPU `g`'s hint word from its users. */
void vgpu__sched_hint(struct vgpu_sched *s, int g);
/* Client `c` no longer waits for GPU `g`. */
void vgpu__sched_unwant(struct vgpu_sched *s, int c, int g, uint64_t now);
/* vgpu_sched_release with the lock held. */
void vgpu__sched_release_locked(struct vgpu_sched *s, int c, int g, uint64_t now);
/* vgpu_sched_quarantine with the lock held. */
void vgpu__sched_quarantine_locked(struct vgpu_sched *s, int t, bool on);

#endif
