/* stats: the scheduler's figures for metrics and status.
 *
 * Waits are counted in fixed histograms in the shared region (one per
 * tenant for lease waits, one for operations at the gate) with bounds from
 * 10 us to 10 s, about three per decade, the shape Prometheus histograms
 * take: vgpud exports the buckets as they are and computes p50/p95/p99 from
 * them the way histogram_quantile does. Adding an observation is two atomic
 * adds in the process that waited, on the slow path only. */
#include "sched_internal.h"

#include <math.h>

const uint64_t vgpu_sched_hist_le_ns[VGPU_SCHED_HIST - 1] = {
    10000ULL,     25000ULL,     50000ULL,     100000ULL,     250000ULL,
    500000ULL,    1000000ULL,   2500000ULL,   5000000ULL,    10000000ULL,
    25000000ULL,  50000000ULL,  100000000ULL, 250000000ULL,  500000000ULL,
    1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL,
};

void vgpu_sched_hist_add(struct vgpu_sched_hist *h, uint64_t ns)
{
    int i = 0;
    while (i < VGPU_SCHED_HIST - 1 && ns > vgpu_sched_hist_le_ns[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

uint64_t vgpu_sched_hist_read(const struct vgpu_sched_hist *h, uint64_t bucket[VGPU_SCHED_HIST],
                              uint64_t *sum_ns)
{
    uint64_t n = 0;
    for (int i = 0; i < VGPU_SCHED_HIST; i++) {
        bucket[i] = atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        n += bucket[i];
    }
    if (sum_ns)
        *sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
    return n;
}

double vgpu_sched_hist_quantile(const uint64_t bucket[VGPU_SCHED_HIST], double q)
{
    uint64_t n = 0;
    for (int i = 0; i < VGPU_SCHED_HIST; i++)
        n += bucket[i];
    if (!n || !(q > 0 && q < 1))
        return NAN;
    double rank = q * (double)n, below = 0;
    for (int i = 0; i < VGPU_SCHED_HIST; i++) {
        if (below + (double)bucket[i] >= rank && bucket[i]) {
            if (i == VGPU_SCHED_HIST - 1)
                return (double)vgpu_sched_hist_le_ns[i - 1] / 1e9;
            double lo = i ? (double)vgpu_sched_hist_le_ns[i - 1] : 0;
            double hi = (double)vgpu_sched_hist_le_ns[i];
            return (lo + (hi - lo) * (rank - below) / (double)bucket[i]) / 1e9;
        }
        below += (double)bucket[i];
    }
    return (double)vgpu_sched_hist_le_ns[VGPU_SCHED_HIST - 2] / 1e9;
}

uint32_t vgpu_sched_queue_depth(const struct vgpu_sched *s, int t)
{
    uint32_t n = 0;
    if (t < 0 || t >= VGPU_SCHED_TENANTS)
        return 0;
    for (int g = 0; g < VGPU_SCHED_GPUS; g++)
        n += s->tenant[t].use[g].waiting;
    return n;
}

uint64_t vgpu_sched_gpu_time(struct vgpu_sched *s, int t, int g, uint64_t now)
{
    if (t < 0 || t >= VGPU_SCHED_TENANTS || g < 0 || g >= VGPU_SCHED_GPUS)
        return 0;
    vgpu_sched_lock(s); /* a release moves the running lease into gpu_ns: never count it twice */
    struct vgpu_sched_gpu *G = &s->gpu[g];
    uint64_t ns = atomic_load(&s->tenant[t].use[g].gpu_ns);
    if ((atomic_load(&G->lease) & VGPU_LEASE_CLIENT) && G->holder_tenant == (uint32_t)t &&
        now > G->granted_ns)
        ns += now - G->granted_ns;
    vgpu_sched_unlock(s);
    return ns;
}
