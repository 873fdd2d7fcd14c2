/* lease: this process as a client of the GPU-time scheduler (src/sched).
 *
 * At attach the process joins the scheduler's region as a client of its
 * tenant (the tenant's policy comes from vgpud, or in standalone mode from
 * VGPU_COMPUTE_SHARE / CUDA_DEVICE_SM_LIMIT, VGPU_PRIORITY and
 * VGPU_RATE_LIMIT / VGPU_RATE_BURST). The gate (gate.c) lets an operation
 * through when the GPU's lease word names us; otherwise the thread lands in
 * vgpu__gate_slow: it registers that we want the GPU (which grants it at
 * once when it is free) and sleeps on our client slot's futex until a
 * hand-off names us. A tenant with a rate limit passes the slow path with
 * every operation: with the lease ours, it takes a token from the tenant's
 * bucket (vgpu_sched_take_op) or sleeps until the time the scheduler names,
 * counted as out of the gate meanwhile, then looks at the lease again.
 *
 * The agent, one thread per process started at attach, looks after the
 * leases we hold: it sleeps until the scheduler's deadline for us (a
 * quantum when others wait, a higher class due, the cap's bucket empty) or
 * until woken (a yield asked, a new waiter), and, while others wait or a cap
 * runs, every 100 us to see whether we went idle (two looks with
 * nothing new and our tracked work done). To hand a GPU over it
 * drains: sets the yield flag (new operations stop at the gate), waits
 * until no operation is between the gate and the driver, waits for the
 * tracked work to finish (or synchronises the contexts if some ran
 * untracked), then releases the lease, which grants the next client. The
 * agent runs in relaxed stream-capture mode, so its waits never disturb a
 * capture in another thread. */
#include "internal.h"

#include "common.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define P (&vgpu__proc)
#define IDLE_POLL_NS 100000ULL
#define CAP_TRACK_BOUND 32 /* a capped tenant alone: tracked, loosely bounded */

/* ---- configuration ------------------------------------------------------------------- */

static bool parse_percent(const char *name, const char *v, uint32_t *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > 100) {
        vgpu_errf(err, errlen, -EINVAL, "%s=%s is not a percentage (0-100)", name, v);
        return false;
    }
    *out = (uint32_t)n;
    return true;
}

/* A count of operations as vgpu-admin takes one: a whole number up to
 * 2147483647, for a rate also with "/s" ("1000/s"). */
static bool parse_ops(const char *name, const char *v, bool per_s, uint32_t *out, char *err,
                      size_t errlen)
{
    if (vgpu_parse_ops(v, per_s, out) != 0) {
        vgpu_errf(err, errlen, -EINVAL, "%s=%s is not %s", name, v,
                  per_s ? "operations per second (\"1000/s\" or \"1000\", up to 2147483647)"
                        : "a number of operations (0-2147483647)");
        return false;
    }
    return true;
}

bool vgpu__lease_config(char *err, size_t errlen)
{
    const char *share = getenv("VGPU_COMPUTE_SHARE");
    const char *sm = getenv("CUDA_DEVICE_SM_LIMIT");
    const char *prio = getenv("VGPU_PRIORITY");
    const char *rate = getenv("VGPU_RATE_LIMIT");
    const char *burst = getenv("VGPU_RATE_BURST");
    P->share = 0;
    P->rate = 0;
    P->burst = 0;
    P->klass = VGPU_CLASS_MEDIUM;
    if (rate && *rate && !parse_ops("VGPU_RATE_LIMIT", rate, true, &P->rate, err, errlen))
        return false;
    if (burst && *burst) {
        if (!parse_ops("VGPU_RATE_BURST", burst, false, &P->burst, err, errlen))
            return false;
        if (P->rate == 0) {
            vgpu_errf(err, errlen, -EINVAL,
                      "VGPU_RATE_BURST=%s without a VGPU_RATE_LIMIT: a burst needs a rate", burst);
            return false;
        }
    }
    if (share && *share) {
        if (!parse_percent("VGPU_COMPUTE_SHARE", share, &P->share, err, errlen))
            return false;
        if (P->share == 0) {
            vgpu_errf(err, errlen, -EINVAL, "VGPU_COMPUTE_SHARE=0: a share is 1-100");
            return false;
        }
    } else if (sm && *sm && !parse_percent("CUDA_DEVICE_SM_LIMIT", sm, &P->share, err, errlen)) {
        return false; /* HAMi-core's variable: 0 means no limit there */
    }
    if (prio && *prio) {
        if (strcmp(prio, "low") == 0)
            P->klass = VGPU_CLASS_LOW;
        else if (strcmp(prio, "medium") == 0)
            P->klass = VGPU_CLASS_MEDIUM;
        else if (strcmp(prio, "high") == 0)
            P->klass = VGPU_CLASS_HIGH;
        else {
            vgpu_errf(err, errlen, -EINVAL, "VGPU_PRIORITY=%s is not low, medium or high", prio);
            return false;
        }
    }
    return true;
}

/* ---- attach ---------------------------------------------------------------------------- */

static void *agent(void *arg);

static void start_agent(void)
{
    pthread_t t;
    pthread_attr_t attr;
    sigset_t all, old;
    if (P->agent_running)
        return;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread never takes the program's signals */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    P->agent_running = pthread_create(&t, &attr, agent, NULL) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

CUresult vgpu__lease_attach(void)
{
    struct vgpu_sched_policy pol = {
        .klass = (enum vgpu_class)P->klass, .share = P->share, .rate = P->rate, .burst = P->burst};
    if (!P->sched && !(P->sched = vgpu_sched_open(true)))
        return CUDA_ERROR_OPERATING_SYSTEM;
    P->sched_tenant = vgpu_sched_tenant(P->sched, P->tenant, &pol, false);
    if (P->sched_tenant < 0) {
        vgpu_error("the scheduler has no room for tenant %s", P->tenant);
        return CUDA_ERROR_OPERATING_SYSTEM;
    }
    P->sched_client =
        vgpu_sched_join(P->sched, P->sched_tenant, getpid(), vgpu_proc_start_time(getpid()));
    if (P->sched_client < 0) {
        vgpu_error("the scheduler has no room for another process");
        return CUDA_ERROR_OPERATING_SYSTEM;
    }
    P->me = (uint32_t)P->sched_client + 1;
    for (int d = 0; d < VGPU_MAX_DEVICES; d++) {
        struct vgpu_lease *L = &P->lease[d];
        L->gpu = d < P->ndev ? vgpu_sched_gpu(P->sched, P->uuid[d]) : -1;
        if (d < P->ndev && L->gpu < 0) {
            vgpu_error("the scheduler has no room for GPU %s", P->uuid[d]);
            return CUDA_ERROR_OPERATING_SYSTEM;
        }
        L->used = false;
        atomic_store(&L->hint_seen, UINT32_MAX);
        pthread_mutex_init(&L->ring_lock, NULL);
    }
    start_agent();
    if (!P->agent_running) {
        vgpu_error("cannot start the lease agent thread");
        return CUDA_ERROR_OPERATING_SYSTEM;
    }
    return CUDA_SUCCESS;
}

__attribute__((destructor)) static void leave_scheduler(void)
{
    if (P->sched && P->sched_client >= 0 && atomic_load(&P->attached))
        vgpu_sched_leave(P->sched, P->sched_client, vgpu_now_ns());
}

void vgpu__lease_forget(void)
{
    /* A forked child: the parent's slot and agent are not ours. */
    P->sched_client = -1;
    P->sched_tenant = -1;
    P->me = 0;
    P->agent_running = false;
    for (int d = 0; d < VGPU_MAX_DEVICES; d++) {
        struct vgpu_lease *L = &P->lease[d];
        L->gpu = -1;
        L->count = 0;
        L->nctx = 0;
        memset(L->ring, 0, sizeof(L->ring));
        atomic_store(&L->entered, 0);
        atomic_store(&L->left, 0);
        atomic_store(&L->bound, 0);
        atomic_store(&L->slow, 0);
    }
}

/* ---- waiting for a lease ------------------------------------------------------------------- */

static void futex_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t until_ns)
{
    struct timespec ts, *tsp = NULL;
    if (until_ns != UINT64_MAX) {
        uint64_t now = vgpu_now_ns();
        uint64_t d = until_ns > now ? until_ns - now : 0;
        ts.tv_sec = (time_t)(d / 1000000000ULL);
        ts.tv_nsec = (long)(d % 1000000000ULL);
        tsp = &ts;
    }
    syscall(SYS_futex, word, FUTEX_WAIT, seen, tsp, NULL, 0);
}

static void note_context(struct vgpu_lease *L)
{
    CUcontext ctx = NULL;
    if (REAL(cuCtxGetCurrent)(&ctx) != CUDA_SUCCESS || !ctx)
        return;
    pthread_mutex_lock(&L->ring_lock);
    bool known = false;
    for (int i = 0; i < L->nctx && !known; i++)
        known = L->ctx[i] == ctx;
    if (!known && L->nctx < VGPU_LEASE_CTXS)
        L->ctx[L->nctx++] = ctx;
    pthread_mutex_unlock(&L->ring_lock);
}

static CUresult gate_wait(int dev)
{
    struct vgpu_lease *L = &P->lease[dev];
    struct vgpu_sched *s = P->sched;
    _Atomic uint32_t *wake = &s->client[P->sched_client].wake;
    atomic_fetch_add(&L->left, 1); /* not between the gate and the driver while we wait */
    if (!L->used) {
        L->used = true;
        vgpu_sched_use(s, P->sched_client, L->gpu);
    }
    for (;;) {
        uint64_t retry_at;
        uint32_t seq;
        if (vgpu_sched_want(s, P->sched_client, L->gpu, vgpu_now_ns(), &retry_at, &seq)) {
            atomic_fetch_add(&L->entered, 1);
            uint64_t w = atomic_load(&s->gpu[L->gpu].lease);
            if ((uint32_t)w == P->me) {
                note_context(L);
                return CUDA_SUCCESS;
            }
            atomic_fetch_add(&L->left, 1); /* taken back in between: wait again */
            continue;
        }
        futex_wait(wake, seq, retry_at);
    }
}

/* ---- tracking in-flight work ----------------------------------------------------------------- */

void vgpu__lease_rebound(int dev, uint32_t hint)
{
    struct vgpu_lease *L = &P->lease[dev];
    struct vgpu_sched_tenant *T = &P->sched->tenant[P->sched_tenant];
    uint32_t bound = vgpu_sched_bound(hint, atomic_load(&T->klass));
    uint32_t own = atomic_load(&T->max_inflight);
    uint32_t share = atomic_load(&T->share);
    if (!bound && share > 0 && share < 100)
        bound = CAP_TRACK_BOUND;
    if (own && (!bound || own < bound))
        bound = own;
    if (bound > VGPU_RING)
        bound = VGPU_RING;
    /* A process that runs NCCL orders its compute after collectives whose
     * other ranks may be waiting for their own GPUs: bounding its in-flight
     * work would stall it on them. Its work is not tracked (its drain is
     * bounded in time instead). */
    if (atomic_load(&P->nccl_seen))
        bound = 0;
    atomic_store(&L->bound, bound);
    atomic_store(&L->slow,
                 (bound ? VGPU_SLOW_TRACK : 0) | (atomic_load(&T->rate) ? VGPU_SLOW_RATE : 0));
    atomic_store(&L->hint_seen, hint);
}

/* Drops the ring's front entry (done); the client's in-flight figure with it. */
static void ring_pop(struct vgpu_lease *L)
{
    L->head = (L->head + 1) % VGPU_RING;
    L->count--;
    atomic_fetch_sub_explicit(&P->sched->client[P->sched_client].inflight, 1,
                              memory_order_relaxed);
}

/* Pops finished work from the ring's front until at most `keep` entries
 * are left, waiting for each one that is not done yet (keep = UINT_MAX:
 * pop only what is done, never wait). Needs ring_lock; drops it while
 * waiting. Returns true when it waited. */
static bool ring_retire(struct vgpu_lease *L, unsigned keep)
{
    bool waited = false;
    while (L->count) {
        unsigned i = L->head;
        CUevent ev = L->ring[i].ev;
        CUresult rc = REAL(cuEventQuery)(ev);
        if (rc == CUDA_ERROR_NOT_READY) {
            if (L->count <= keep)
                return waited;
            pthread_mutex_unlock(&L->ring_lock);
            REAL(cuEventSynchronize)(ev);
            pthread_mutex_lock(&L->ring_lock);
            waited = true;
            if (!L->count || L->head != i || L->ring[i].ev != ev)
                continue; /* someone else popped it meanwhile */
        }
        ring_pop(L);
    }
    return waited;
}

/* Pops finished work until the ring is empty or `deadline` passes (polling,
 * never blocking in the driver). Needs ring_lock; drops it while waiting. */
static void ring_drain_until(struct vgpu_lease *L, uint64_t deadline)
{
    while (L->count) {
        unsigned i = L->head;
        if (REAL(cuEventQuery)(L->ring[i].ev) == CUDA_ERROR_NOT_READY) {
            if (vgpu_now_ns() >= deadline)
                return;
            pthread_mutex_unlock(&L->ring_lock);
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&L->ring_lock);
            continue;
        }
        ring_pop(L);
    }
}

/* Waits until fewer than the bound operations are in flight; true when it
 * had to wait (the lease may have been asked back meanwhile). */
static bool track_before(struct vgpu_lease *L)
{
    uint32_t bound = atomic_load_explicit(&L->bound, memory_order_relaxed);
    pthread_mutex_lock(&L->ring_lock);
    bool waited = bound && ring_retire(L, bound - 1);
    pthread_mutex_unlock(&L->ring_lock);
    return waited;
}

/* Whether work on `stream` is being captured into a graph (then it runs
 * nothing now). */
static bool capturing(CUstream stream)
{
    CUstreamCaptureStatus cap = CU_STREAM_CAPTURE_STATUS_NONE;
    return REAL(cuStreamIsCapturing) && REAL(cuStreamIsCapturing)(stream, &cap) == CUDA_SUCCESS &&
           cap != CU_STREAM_CAPTURE_STATUS_NONE;
}

/* Sleeps until `until` (CLOCK_MONOTONIC ns) for the tenant's rate limit, out
 * of the gate meanwhile: the agent may drain and hand the GPU over. */
static void rate_wait(struct vgpu_lease *L, uint64_t until)
{
    atomic_fetch_add(&L->left, 1);
    vgpu_sleep_until_ns(until);
    atomic_fetch_add(&L->entered, 1);
}

static CUresult gate_slow(int dev, CUstream stream)
{
    struct vgpu_lease *L = &P->lease[dev];
    struct vgpu_sched_gpu *G = &P->sched->gpu[L->gpu];
    bool token = false;
    uint64_t retry_at = 0; /* 0: this operation's first try for a token */
    for (;;) {
        CUresult rc;
        if ((uint32_t)atomic_load(&G->lease) != P->me && (rc = gate_wait(dev)) != CUDA_SUCCESS)
            return rc;
        uint32_t h = atomic_load_explicit(&G->hint, memory_order_relaxed);
        if (h != atomic_load_explicit(&L->hint_seen, memory_order_relaxed))
            vgpu__lease_rebound(dev, h);
        if (!token && (atomic_load_explicit(&L->slow, memory_order_relaxed) & VGPU_SLOW_RATE)) {
            if (!capturing(stream) &&
                !vgpu_sched_take_op(P->sched, P->sched_tenant, vgpu_now_ns(), &retry_at)) {
                rate_wait(L, retry_at);
                continue; /* the lease may have gone meanwhile */
            }
            token = true;
        }
        if (!atomic_load_explicit(&L->bound, memory_order_relaxed)) {
            atomic_store_explicit(&L->untracked, 1, memory_order_relaxed);
            return CUDA_SUCCESS;
        }
        /* A hand-off asked for while we waited for our own work must not
         * wait for one more operation of ours. */
        if (!track_before(L) || (uint32_t)atomic_load(&G->lease) == P->me)
            return CUDA_SUCCESS;
    }
}

/* The gate's slow path, timed: each operation that takes it is one
 * observation of its tenant's request-latency histogram. */
CUresult vgpu__gate_slow(int dev, CUstream stream)
{
    uint64_t t0 = vgpu_now_ns();
    CUresult rc = gate_slow(dev, stream);
    if (rc == CUDA_SUCCESS)
        vgpu_sched_hist_add(&P->sched->stats[P->sched_tenant].request, vgpu_now_ns() - t0);
    return rc;
}

void vgpu__track_after(int dev, CUstream stream)
{
    struct vgpu_lease *L = &P->lease[dev];
    CUcontext ctx = NULL;
    if (capturing(stream))
        return; /* captured into a graph: nothing runs now */
    if (REAL(cuCtxGetCurrent)(&ctx) != CUDA_SUCCESS || !ctx) {
        atomic_store(&L->untracked, 1);
        return;
    }
    pthread_mutex_lock(&L->ring_lock);
    ring_retire(L, VGPU_RING - 1);
    unsigned i = (L->head + L->count) % VGPU_RING;
    if (L->ring[i].ev && L->ring[i].ctx != ctx) {
        REAL(cuEventDestroy_v2)(L->ring[i].ev);
        L->ring[i].ev = NULL;
    }
    if (!L->ring[i].ev &&
        REAL(cuEventCreate)(&L->ring[i].ev, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS) {
        L->ring[i].ev = NULL;
        atomic_store(&L->untracked, 1);
    } else if (REAL(cuEventRecord)(L->ring[i].ev, stream) == CUDA_SUCCESS) {
        L->ring[i].ctx = ctx;
        L->count++;
        atomic_fetch_add_explicit(&P->sched->client[P->sched_client].inflight, 1,
                                  memory_order_relaxed);
    } else {
        atomic_store(&L->untracked, 1);
    }
    pthread_mutex_unlock(&L->ring_lock);
}

/* ---- the agent ------------------------------------------------------------------------------- */

/* True when, at two looks in a row, no operation had passed the gate since
 * the look before and all tracked work was done: the GPU has been idle for
 * us for a poll interval. (A program that synchronises and launches again
 * at once is not idle.) */
static bool idle(struct vgpu_lease *L)
{
    uint64_t in = atomic_load(&L->entered);
    bool quiet = in == L->seen_entered && in == atomic_load(&L->left);
    L->seen_entered = in;
    if (quiet) {
        pthread_mutex_lock(&L->ring_lock);
        ring_retire(L, UINT_MAX);
        quiet = L->count == 0;
        pthread_mutex_unlock(&L->ring_lock);
    }
    L->idle_looks = quiet ? L->idle_looks + 1 : 0;
    return L->idle_looks >= 2;
}

/* Stops new work on device dev, waits for ours to finish, gives the lease back. */
static void drain_and_release(int dev)
{
    struct vgpu_lease *L = &P->lease[dev];
    struct vgpu_sched *s = P->sched;
    _Atomic uint64_t *lease = &s->gpu[L->gpu].lease;
    uint64_t w = atomic_load(lease);
    do {
        if ((w & VGPU_LEASE_CLIENT) != P->me)
            return; /* not ours (any more) */
    } while (!(w & VGPU_LEASE_YIELD) &&
             !atomic_compare_exchange_weak(lease, &w, w | VGPU_LEASE_YIELD));
    /* In a process that runs NCCL, our work may wait for a collective whose
     * other ranks wait, in other processes, for GPUs that other tenants hold:
     * waiting for it without bound could close a cycle of hand-offs. There
     * the drain waits at most a quantum and never synchronises whole
     * contexts; the next holder may then overlap our last work. */
    bool nccl = atomic_load(&P->nccl_seen);
    uint64_t deadline = vgpu_now_ns() + atomic_load(&s->quantum_ns);
    /* An operation between the gate and the driver is being submitted (a few
     * microseconds), or is a synchronous copy waiting for the GPU. */
    for (unsigned spins = 0; atomic_load(&L->entered) != atomic_load(&L->left); spins++) {
        if (nccl && vgpu_now_ns() >= deadline)
            break;
        if (spins < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_lock(&L->ring_lock);
    if (nccl)
        ring_drain_until(L, deadline);
    else
        ring_retire(L, 0); /* all of our tracked work */
    CUcontext ctx[VGPU_LEASE_CTXS];
    int nctx = 0;
    if (atomic_exchange(&L->untracked, 0) && !nccl) {
        nctx = L->nctx;
        memcpy(ctx, L->ctx, sizeof(ctx));
    }
    pthread_mutex_unlock(&L->ring_lock);
    for (int i = 0; i < nctx; i++) {
        CUcontext popped;
        if (REAL(cuCtxPushCurrent_v2)(ctx[i]) == CUDA_SUCCESS) {
            REAL(cuCtxSynchronize)();
            REAL(cuCtxPopCurrent_v2)(&popped);
        }
    }
    L->idle_looks = 0;
    vgpu_sched_release(s, P->sched_client, L->gpu, vgpu_now_ns());
}

static void *agent(void *arg)
{
    CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
    struct vgpu_sched *s = P->sched;
    int me = P->sched_client;
    _Atomic uint32_t *wake = &s->client[me].wake;
    if (REAL(cuThreadExchangeStreamCaptureMode))
        REAL(cuThreadExchangeStreamCaptureMode)(&mode);
    for (;;) {
        uint32_t seq = atomic_load(wake);
        uint64_t next = UINT64_MAX;
        if (P->sched_client != me)
            return NULL; /* forked: the child has its own */
        for (int d = 0; d < P->ndev; d++) {
            struct vgpu_lease *L = &P->lease[d];
            if (L->gpu < 0 || (atomic_load(&s->gpu[L->gpu].lease) & VGPU_LEASE_CLIENT) != P->me)
                continue;
            enum vgpu_yield_reason why;
            bool others;
            uint64_t now = vgpu_now_ns();
            uint64_t dl = vgpu_sched_deadline(s, me, L->gpu, now, &why, &others);
            bool capped = atomic_load(&s->tenant[P->sched_tenant].share) % 100 != 0;
            bool poll = others || capped;
            if (dl <= now || (poll && idle(L))) {
                drain_and_release(d);
                continue;
            }
            if (dl < next)
                next = dl;
            if (poll && now + IDLE_POLL_NS < next)
                next = now + IDLE_POLL_NS;
        }
        futex_wait(wake, seq, next);
    }
}
