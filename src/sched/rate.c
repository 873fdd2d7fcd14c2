/* sched rate: a tenant's rate limit, in operations per second with a burst.
 *
 * Every gated operation of a rate-limited tenant (a kernel or graph launch,
 * a copy, a memset) takes one token from the tenant's bucket before it goes
 * to the driver. The bucket is shared by all the tenant's processes, so it
 * lives in the region (struct vgpu_sched_tenant: rl_tokens, rl_at) under the
 * region's lock; only rate-limited tenants ever take that lock per
 * operation, the others never call in here. It fills at `rate` tokens per
 * second up to its depth (`burst`, or rate/10 and at least 1 when burst is
 * 0: a tenth of a second's worth) and starts full, so a tenant that was idle
 * may run a burst and then the rate. A tenant over its limit is told when
 * the next token will be there; libvgpu.so sleeps until then. */
#include "scheduler.h"

#include <math.h>

/* A token counts as there when the bucket holds this much less than one, so
 * that rounding in the fills (0.4 + 0.6 tokens) does not refuse it. Over a
 * billion operations this lets one more through. */
#define RATE_SLACK 1e-9
/* Processes read CLOCK_MONOTONIC at slightly different moments, so the
 * bucket may have been filled up to a little after our `now`; a fill time
 * further ahead than this comes from another clock (a time namespace, a
 * scribbled region) and starts the bucket afresh rather than stall it. */
#define RATE_CLOCK_SKEW_NS 1000000000ULL

uint32_t vgpu_sched_rate_depth(uint32_t rate, uint32_t burst)
{
    if (burst)
        return burst;
    return rate / 10 > 1 ? rate / 10 : 1;
}

/* The bucket's content `dt` ns after it held `tokens`, before the depth is
 * applied. The one formula for filling and for retry_at, so that a retry at
 * retry_at finds the token that retry_at promised. */
static double filled(double tokens, uint64_t dt, uint32_t rate)
{
    return tokens + (double)dt * rate / 1e9;
}

static bool enough(double tokens)
{
    return tokens >= 1.0 - RATE_SLACK;
}

/* The first dt at which filled(tokens, dt, rate) holds a token. */
static uint64_t time_to_token(double tokens, uint32_t rate)
{
    uint64_t dt = (uint64_t)ceil((1.0 - tokens) * 1e9 / rate);
    while (dt > 0 && enough(filled(tokens, dt - 1, rate)))
        dt--;
    while (!enough(filled(tokens, dt, rate)))
        dt++;
    return dt;
}

bool vgpu_sched_take_op(struct vgpu_sched *s, int t, uint64_t now, uint64_t *retry_at)
{
    bool first = *retry_at == 0, ok = true;
    if (t < 0 || t >= VGPU_SCHED_TENANTS)
        return true;
    struct vgpu_sched_tenant *T = &s->tenant[t];
    if (atomic_load_explicit(&T->rate, memory_order_relaxed) == 0)
        return true;
    vgpu_sched_lock(s);
    /* Read again under the lock: vgpud may have changed the policy. */
    uint32_t rate = atomic_load(&T->rate);
    double depth = (double)vgpu_sched_rate_depth(rate, atomic_load(&T->burst));
    if (rate == 0)
        goto out;
    if (T->rl_at == 0 || T->rl_at > now + RATE_CLOCK_SKEW_NS) {
        T->rl_tokens = depth; /* a new bucket starts full */
        T->rl_at = now;
    } else if (now > T->rl_at) {
        T->rl_tokens = filled(T->rl_tokens, now - T->rl_at, rate);
        T->rl_at = now;
    }
    if (!(T->rl_tokens >= 0.0))
        T->rl_tokens = 0.0; /* never below 0; NaN from a scribbled region */
    if (T->rl_tokens > depth)
        T->rl_tokens = depth; /* also when the depth was lowered */
    if (enough(T->rl_tokens)) {
        T->rl_tokens = T->rl_tokens > 1.0 ? T->rl_tokens - 1.0 : 0.0;
        goto out;
    }
    ok = false;
    /* Filled up to rl_at, which may be later than `now`: another process
     * read the clock after us. */
    *retry_at = T->rl_at + time_to_token(T->rl_tokens, rate);
    if (first)
        atomic_fetch_add(&T->rl_waits, 1);
out:
    vgpu_sched_unlock(s);
    return ok;
}
