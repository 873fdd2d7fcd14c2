/* sched policy: who gets a GPU next, and when its holder must give it back.
 *
 * Start-time fair queueing over tenants (see scheduler.h): the waiting tenant
 * with the least virtual time is granted; a holder yields after a quantum
 * when others wait, at once when a higher class is due, and when its cap
 * bucket is empty. Everything runs under the region's lock, in whichever
 * process is handing off or waiting; the only system calls are futex wakes
 * of the client that was granted or asked to yield (and, rarely, a look at
 * whether a holder that overstayed is still alive). */
#include "scheduler.h"
#include "sched_internal.h"

#include "common.h"

#include <math.h>
#include <string.h>

static uint32_t klass_of(const struct vgpu_sched_tenant *t)
{
    uint32_t k = atomic_load_explicit(&t->klass, memory_order_relaxed);
    return k <= VGPU_CLASS_HIGH ? k : VGPU_CLASS_MEDIUM;
}

static double weight_of(struct vgpu_sched *s, const struct vgpu_sched_tenant *t)
{
    uint32_t w = atomic_load_explicit(&s->weight[klass_of(t)], memory_order_relaxed);
    return w ? (double)w : 1.0;
}

/* The cap as a fraction, 0 when there is none. */
static double cap_of(const struct vgpu_sched_tenant *t)
{
    uint32_t share = atomic_load_explicit(&t->share, memory_order_relaxed);
    return share == 0 || share >= 100 ? 0.0 : share / 100.0;
}

static double depth_of(struct vgpu_sched *s, double cap)
{
    return cap * (double)atomic_load_explicit(&s->window_ns, memory_order_relaxed);
}

static bool holds(const struct vgpu_sched_gpu *G, int c)
{
    return (atomic_load(&G->lease) & VGPU_LEASE_CLIENT) == (uint64_t)c + 1;
}

static bool held(const struct vgpu_sched_gpu *G)
{
    return (atomic_load(&G->lease) & VGPU_LEASE_CLIENT) != 0;
}

/* Fills tenant t's cap bucket on GPU g up to `now` (not while it holds g:
 * the holder's bucket only drains, settled at release). */
static void fill(struct vgpu_sched *s, int t, int g, uint64_t now)
{
    struct vgpu_sched_tenant *T = &s->tenant[t];
    struct vgpu_sched_usage *u = &T->use[g];
    double cap = cap_of(T), depth = depth_of(s, cap);
    if (cap == 0.0 || (held(&s->gpu[g]) && s->gpu[g].holder_tenant == (uint32_t)t))
        return;
    if (u->tokens_at == 0) {
        u->tokens = depth;
    } else if (now > u->tokens_at) {
        u->tokens += (double)(now - u->tokens_at) * cap;
        if (u->tokens > depth)
            u->tokens = depth;
    }
    u->tokens_at = now;
}

/* Whether tenant t may be granted GPU g now; if only its cap stops it,
 * *ready_at says when it may. */
static bool eligible(struct vgpu_sched *s, int t, int g, uint64_t now, uint64_t *ready_at)
{
    struct vgpu_sched_tenant *T = &s->tenant[t];
    double cap = cap_of(T);
    if (atomic_load(&T->quarantined))
        return false;
    if (cap == 0.0)
        return true;
    fill(s, t, g, now);
    double need = depth_of(s, cap) / 4 - T->use[g].tokens;
    if (need <= 0)
        return true;
    if (ready_at) {
        uint64_t at = now + (uint64_t)ceil(need / cap);
        if (at < *ready_at)
            *ready_at = at;
    }
    return false;
}

/* The holder's virtual time now, advanced by its lease so far. */
static double vnow(struct vgpu_sched *s, int g, uint64_t now)
{
    struct vgpu_sched_gpu *G = &s->gpu[g];
    if (!held(G))
        return G->vnow;
    double run = now > G->granted_ns ? (double)(now - G->granted_ns) : 0.0;
    return G->granted_vtime + run / weight_of(s, &s->tenant[G->holder_tenant]);
}

void vgpu__sched_hint(struct vgpu_sched *s, int g)
{
    struct vgpu_sched_gpu *G = &s->gpu[g];
    uint32_t h = 0, n = G->users[0] + G->users[1] + G->users[2];
    for (int k = 0; k < 3; k++)
        if (G->users[k])
            h |= 1u << k;
    if (n > 1)
        h |= 0x100;
    atomic_store(&G->hint, h | (atomic_load(&G->hint) & 0xffff0000u));
}

void vgpu__sched_unwant(struct vgpu_sched *s, int c, int g, uint64_t now)
{
    struct vgpu_sched_client *cl = &s->client[c];
    struct vgpu_sched_gpu *G = &s->gpu[g];
    if (!cl->want_since[g])
        return;
    struct vgpu_sched_usage *u = &s->tenant[cl->tenant].use[g];
    uint64_t waited = now > cl->want_since[g] ? now - cl->want_since[g] : 0;
    atomic_fetch_add(&u->wait_ns, waited);
    vgpu_sched_hist_add(&s->stats[cl->tenant].lease_wait, waited);
    cl->want_since[g] = 0;
    vgpu__bit_set(G->waiting, c, false);
    if (G->nwaiting)
        G->nwaiting--;
    if (u->waiting)
        u->waiting--;
}

static void ask_yield(struct vgpu_sched *s, int g);

static bool gang(const struct vgpu_sched_client *cl)
{
    return (cl->flags & VGPU_CLIENT_GANG) != 0;
}

/* The gang client of tenant t holding GPU g2, or -1. */
static int gang_holder(struct vgpu_sched *s, int t, int g2)
{
    uint64_t w = atomic_load(&s->gpu[g2].lease);
    int h = (int)(w & VGPU_LEASE_CLIENT) - 1;
    return h >= 0 && s->client[h].tenant == t && gang(&s->client[h]) ? h : -1;
}

/* Whether a gang client of tenant t holds a GPU other than g. */
static bool gang_holds_elsewhere(struct vgpu_sched *s, int t, int g)
{
    uint32_t n = atomic_load(&s->ngpus);
    for (uint32_t g2 = 0; g2 < n && g2 < VGPU_SCHED_GPUS; g2++)
        if ((int)g2 != g && gang_holder(s, t, (int)g2) >= 0)
            return true;
    return false;
}

/* Whether a gang client of tenant t waits for GPU g2. */
static bool gang_waits(struct vgpu_sched *s, int t, int g2)
{
    struct vgpu_sched_gpu *G = &s->gpu[g2];
    for (int i = 0; i < VGPU_SCHED_WORDS && G->nwaiting; i++)
        for (uint64_t bits = G->waiting[i]; bits; bits &= bits - 1) {
            struct vgpu_sched_client *cl = &s->client[i * 64 + __builtin_ctzll(bits)];
            if (cl->tenant == t && gang(cl) && atomic_load(&cl->pid) != 0)
                return true;
        }
    return false;
}

/* A rank of gang tenant t got GPU g: the holders of the GPUs its other ranks
 * wait for yield, so the ranks run together. */
static void gang_gather(struct vgpu_sched *s, int t, int g)
{
    uint32_t n = atomic_load(&s->ngpus);
    for (uint32_t g2 = 0; g2 < n && g2 < VGPU_SCHED_GPUS; g2++) {
        struct vgpu_sched_gpu *G2 = &s->gpu[g2];
        uint64_t w = atomic_load(&G2->lease);
        if ((int)g2 == g || !(w & VGPU_LEASE_CLIENT) || (w & VGPU_LEASE_YIELD) ||
            G2->holder_tenant == (uint32_t)t || atomic_load(&s->tenant[t].quarantined) ||
            !gang_waits(s, t, (int)g2))
            continue;
        ask_yield(s, (int)g2);
    }
}

/* A rank of gang tenant t gave GPU g back: its other ranks give theirs
 * back too where somebody else waits. */
static void gang_scatter(struct vgpu_sched *s, int t, int g)
{
    uint32_t n = atomic_load(&s->ngpus);
    for (uint32_t g2 = 0; g2 < n && g2 < VGPU_SCHED_GPUS; g2++) {
        struct vgpu_sched_gpu *G2 = &s->gpu[g2];
        int h = (int)g2 == g ? -1 : gang_holder(s, t, (int)g2);
        if (h < 0 || (atomic_load(&G2->lease) & VGPU_LEASE_YIELD))
            continue;
        bool others = false;
        for (int i = 0; i < VGPU_SCHED_WORDS && G2->nwaiting && !others; i++)
            for (uint64_t bits = G2->waiting[i]; bits && !others; bits &= bits - 1)
                others = s->client[i * 64 + __builtin_ctzll(bits)].tenant != t;
        if (others)
            ask_yield(s, (int)g2);
    }
}

/* Grants GPU g to client c (the lease is free). */
static void grant(struct vgpu_sched *s, int c, int g, uint64_t now)
{
    struct vgpu_sched_gpu *G = &s->gpu[g];
    int t = s->client[c].tenant;
    struct vgpu_sched_usage *u = &s->tenant[t].use[g];
    uint64_t w = atomic_load(&G->lease);
    vgpu__sched_unwant(s, c, g, now);
    fill(s, t, g, now);
    G->holder_tenant = (uint32_t)t;
    G->granted_ns = now;
    G->granted_vtime = u->vtime;
    if (now > G->free_since)
        atomic_fetch_add(&G->idle_ns, now - G->free_since);
    atomic_fetch_add(&G->handoffs, 1);
    atomic_fetch_add(&u->grants, 1);
    atomic_store(&G->lease, ((uint64_t)(VGPU_LEASE_GEN(w) + 1) << 32) | ((uint64_t)c + 1));
    vgpu_sched_wake(s, c);
    if (gang(&s->client[c]))
        gang_gather(s, t, g);
}

/* The waiting client that should run next on GPU g, or -1 (then *ready_at,
 * if not UINT64_MAX, is when a capped waiter becomes eligible). Start-time
 * fair queueing: least virtual time, then higher class, then first come. */
static int pick(struct vgpu_sched *s, int g, uint64_t now, uint64_t *ready_at)
{
    struct vgpu_sched_gpu *G = &s->gpu[g];
    int best = -1;
    double best_v = 0;
    uint32_t best_k = 0;
    uint64_t best_since = 0;
    for (int w = 0; w < VGPU_SCHED_WORDS && G->nwaiting; w++) {
        for (uint64_t bits = G->waiting[w]; bits; bits &= bits - 1) {
            int c = w * 64 + __builtin_ctzll(bits);
            struct vgpu_sched_client *cl = &s->client[c];
            int t = cl->tenant;
            if (atomic_load(&cl->pid) == 0 || t < 0 || t >= VGPU_SCHED_TENANTS ||
                !eligible(s, t, g, now, ready_at))
                continue;
            /* A rank whose gang holds another GPU goes first. */
            if (gang(cl) && gang_holds_elsewhere(s, t, g))
                return c;
            double v = s->tenant[t].use[g].vtime;
            uint32_t k = klass_of(&s->tenant[t]);
            if (best < 0 || v < best_v || (v == best_v && k > best_k) ||
                (v == best_v && k == best_k && cl->want_since[g] < best_since)) {
                best = c;
                best_v = v;
                best_k = k;
                best_since = cl->want_since[g];
            }
        }
    }
    return best;
}

static void grant_next(struct vgpu_sched *s, int g, uint64_t now)
{
    uint64_t ready_at = UINT64_MAX;
    int c = pick(s, g, now, &ready_at);
    if (c >= 0)
        grant(s, c, g, now);
}

void vgpu__sched_release_locked(struct vgpu_sched *s, int c, int g, uint64_t now)
{
    struct vgpu_sched_gpu *G = &s->gpu[g];
    uint64_t w = atomic_load(&G->lease);
    if ((w & VGPU_LEASE_CLIENT) != (uint64_t)c + 1)
        return;
    struct vgpu_sched_tenant *T = &s->tenant[G->holder_tenant];
    struct vgpu_sched_usage *u = &T->use[g];
    uint64_t dt = now > G->granted_ns ? now - G->granted_ns : 0;
    double cap = cap_of(T);
    atomic_fetch_add(&u->gpu_ns, dt);
    u->vtime += (double)dt / weight_of(s, T);
    if (cap > 0.0) {
        u->tokens -= (double)dt * (1.0 - cap);
        u->tokens_at = now;
    }
    G->vnow = u->vtime;
    G->free_since = now;
    atomic_store(&G->lease, (uint64_t)VGPU_LEASE_GEN(w) << 32);
    int t = s->client[c].tenant;
    bool was_gang = gang(&s->client[c]) && t >= 0 && t < VGPU_SCHED_TENANTS;
    grant_next(s, g, now);
    if (was_gang && gang_holder(s, t, g) < 0) /* not granted straight back to the gang */
        gang_scatter(s, t, g);
}

void vgpu_sched_gang(struct vgpu_sched *s, int c)
{
    if (c < 0 || c >= VGPU_SCHED_CLIENTS)
        return;
    vgpu_sched_lock(s);
    s->client[c].flags |= VGPU_CLIENT_GANG;
    vgpu_sched_unlock(s);
}

void vgpu_sched_release(struct vgpu_sched *s, int c, int g, uint64_t now)
{
    if (c < 0 || c >= VGPU_SCHED_CLIENTS || g < 0 || g >= VGPU_SCHED_GPUS)
        return;
    vgpu_sched_lock(s);
    vgpu__sched_release_locked(s, c, g, now);
    vgpu_sched_unlock(s);
}

/* Asks the holder of GPU g to yield: its next operation stops at the gate,
 * its agent drains and gives the lease back. */
static void ask_yield(struct vgpu_sched *s, int g)
{
    uint64_t w = atomic_fetch_or(&s->gpu[g].lease, VGPU_LEASE_YIELD);
    if (w & VGPU_LEASE_CLIENT)
        vgpu_sched_wake(s, (int)(w & VGPU_LEASE_CLIENT) - 1);
}

void vgpu__sched_quarantine_locked(struct vgpu_sched *s, int t, bool on)
{
    uint32_t n = atomic_load(&s->ngpus);
    atomic_store(&s->tenant[t].quarantined, on ? 1 : 0);
    for (uint32_t g = 0; g < n && g < VGPU_SCHED_GPUS; g++) {
        struct vgpu_sched_gpu *G = &s->gpu[g];
        if (on && held(G) && G->holder_tenant == (uint32_t)t)
            ask_yield(s, (int)g);
        else if (!on && !held(G) && G->nwaiting)
            grant_next(s, (int)g, vgpu_now_ns());
    }
}

/* A holder that kept the lease this long while others waited may be dead. */
static void check_holder(struct vgpu_sched *s, int g, uint64_t now)
{
    struct vgpu_sched_gpu *G = &s->gpu[g];
    uint64_t q = atomic_load(&s->quantum_ns);
    uint64_t w = atomic_load(&G->lease);
    int h = (int)(w & VGPU_LEASE_CLIENT) - 1;
    if (h < 0 || now < G->granted_ns + 4 * q)
        return;
    struct vgpu_sched_client *cl = &s->client[h];
    int32_t pid = atomic_load(&cl->pid);
    if (pid <= 0 || !vgpu_proc_alive(pid, cl->start_time)) {
        vgpu_info("scheduler: the holder of GPU %s (pid %d) is gone", G->uuid, (int)pid);
        vgpu__sched_release_locked(s, h, g, now);
    }
}

bool vgpu_sched_want(struct vgpu_sched *s, int c, int g, uint64_t now, uint64_t *retry_at,
                     uint32_t *seq)
{
    bool mine = false;
    *retry_at = UINT64_MAX;
    if (c < 0 || c >= VGPU_SCHED_CLIENTS || g < 0 || g >= VGPU_SCHED_GPUS)
        return false;
    vgpu_sched_lock(s);
    struct vgpu_sched_client *cl = &s->client[c];
    struct vgpu_sched_gpu *G = &s->gpu[g];
    int t = cl->tenant;
    struct vgpu_sched_tenant *T = &s->tenant[t];
    struct vgpu_sched_usage *u = &T->use[g];
    uint64_t w = atomic_load(&G->lease);
    *seq = atomic_load(&cl->wake);
    if ((w & (VGPU_LEASE_CLIENT | VGPU_LEASE_YIELD)) == (uint64_t)c + 1) {
        mine = true;
        goto out;
    }
    if (!cl->want_since[g]) {
        bool tenant_backlogged = u->waiting > 0 || (held(G) && G->holder_tenant == (uint32_t)t);
        if (!tenant_backlogged) {
            /* Idleness earns at most one quantum of credit (in the lowest
             * class's virtual time): a tenant that paused between two syncs
             * keeps its place, one that slept for an hour does not get the
             * GPU for an hour. */
            uint32_t wl = atomic_load(&s->weight[VGPU_CLASS_LOW]);
            double v = vnow(s, g, now) - (double)atomic_load(&s->quantum_ns) / (wl ? wl : 1);
            if (u->vtime < v)
                u->vtime = v;
        }
        cl->want_since[g] = now;
        vgpu__bit_set(G->waiting, c, true);
        G->nwaiting++;
        u->waiting++;
        /* The holder's agent may sleep with no deadline (nobody waited): a
         * new waiter starts its quantum, also one of the holder's own tenant
         * (which is backlogged, but the holder does not know it). */
        if (held(G) && !holds(G, c))
            vgpu_sched_wake(s, (int)(w & VGPU_LEASE_CLIENT) - 1);
    }
    if (!held(G)) {
        grant_next(s, g, now);
    } else if (!holds(G, c)) {
        check_holder(s, g, now);
        struct vgpu_sched_tenant *H = &s->tenant[G->holder_tenant];
        if (held(G) && klass_of(T) > klass_of(H) && eligible(s, t, g, now, NULL) &&
            u->vtime <= vnow(s, g, now) && !(atomic_load(&G->lease) & VGPU_LEASE_YIELD)) {
            atomic_fetch_add(&H->use[g].preempted, 1);
            ask_yield(s, g);
        }
    }
    w = atomic_load(&G->lease);
    mine = (w & (VGPU_LEASE_CLIENT | VGPU_LEASE_YIELD)) == (uint64_t)c + 1;
    if (!mine) {
        *seq = atomic_load(&cl->wake);
        if (!eligible(s, t, g, now, retry_at) && *retry_at == UINT64_MAX)
            *retry_at = now + 4 * atomic_load(&s->quantum_ns); /* quarantined: look again later */
        uint64_t check = now + atomic_load(&s->quantum_ns);
        if (check < *retry_at)
            *retry_at = check; /* the holder may die: look again */
    }
out:
    vgpu_sched_unlock(s);
    return mine;
}

uint64_t vgpu_sched_deadline(struct vgpu_sched *s, int c, int g, uint64_t now,
                             enum vgpu_yield_reason *why, bool *others_wait)
{
    uint64_t dl = UINT64_MAX;
    *why = VGPU_YIELD_NONE;
    *others_wait = false;
    if (c < 0 || c >= VGPU_SCHED_CLIENTS || g < 0 || g >= VGPU_SCHED_GPUS)
        return UINT64_MAX;
    vgpu_sched_lock(s);
    struct vgpu_sched_gpu *G = &s->gpu[g];
    uint64_t w = atomic_load(&G->lease);
    if ((w & VGPU_LEASE_CLIENT) != (uint64_t)c + 1)
        goto out;
    struct vgpu_sched_tenant *T = &s->tenant[G->holder_tenant];
    if ((w & VGPU_LEASE_YIELD) || atomic_load(&T->quarantined)) {
        *why = VGPU_YIELD_ASKED;
        dl = now;
        goto out;
    }
    uint64_t ready_at = UINT64_MAX; /* when a waiter held back by its cap may run */
    for (int i = 0; i < VGPU_SCHED_WORDS && G->nwaiting && !*others_wait; i++) {
        for (uint64_t bits = G->waiting[i]; bits; bits &= bits - 1) {
            int o = i * 64 + __builtin_ctzll(bits);
            if (o != c && atomic_load(&s->client[o].pid) != 0 &&
                eligible(s, s->client[o].tenant, g, now, &ready_at)) {
                *others_wait = true;
                break;
            }
        }
    }
    /* Nobody may run yet, but a capped waiter may at ready_at: the holder
     * looks again then (it would otherwise sleep with no deadline, and the
     * waiter, already registered, wakes nobody when its cap refills). */
    if (!*others_wait)
        dl = ready_at;
    /* Waiters of a higher class that arrive preempt at once (vgpu_sched_want);
     * those that stay backlogged get their share by virtual time, a quantum
     * at a time, so the holder's lease is never cut into slivers. */
    if (*others_wait) {
        dl = G->granted_ns + atomic_load(&s->quantum_ns);
        *why = VGPU_YIELD_QUANTUM;
    }
    double cap = cap_of(T);
    if (cap > 0.0) {
        double tokens = T->use[g].tokens; /* as at the grant */
        uint64_t out_at =
            G->granted_ns + (tokens > 0 ? (uint64_t)(tokens / (1.0 - cap)) : (uint64_t)0);
        if (out_at < dl) {
            dl = out_at;
            *why = VGPU_YIELD_CAP;
        }
    }
out:
    vgpu_sched_unlock(s);
    return dl;
}
