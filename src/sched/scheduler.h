/* sched: the GPU-time scheduler, a shared-memory structure that every
 * process of every tenant on a host maps.
 *
 * Each physical GPU (or MIG instance), known by UUID, has one lease word:
 * the client (process) that may put work on that GPU now, a generation and
 * a yield flag. libvgpu.so checks the word with one atomic load before each
 * kernel launch, copy or memset; the holder goes on without any other cost.
 * A process that does not hold the lease registers that it wants it and
 * sleeps on a futex in its own client slot. The policy runs at hand-offs,
 * under the region's one lock, in whichever process gives the lease back
 * (or finds it free): it charges the lease time to the holder's tenant and
 * grants the lease to the next client, then wakes that client. A hand-off
 * is thus one futex wake from process to process, and scheduling goes on
 * while vgpud is down. vgpud creates the region, writes each tenant's policy
 * (priority, cap, in-flight limit, rate limit, quarantine) and the class
 * weights, reaps dead clients and reads the figures.
 *
 * Policy, per GPU:
 *  - start-time fair queueing over tenants: each tenant has a virtual time
 *    that advances by lease time / weight of its class; the waiting tenant
 *    with the smallest virtual time is granted next (ties: higher class, then
 *    who waited first; FIFO between the clients of one tenant). A tenant that
 *    starts waiting after a pause has its virtual time raised to at least
 *    the holder's current one less one quantum (at the low class's weight),
 *    so idleness earns little credit and nothing starves;
 *  - a holder keeps the lease while nobody eligible waits; with waiters it
 *    yields after `quantum_ns`; a tenant of a higher class that starts
 *    waiting with a virtual time not above the holder's makes it yield at
 *    once (a latency tenant that wakes up preempts at the holder's next
 *    kernel boundary), while higher classes that stay backlogged get their
 *    weight's share a quantum at a time;
 *  - a cap (share, % of GPU time) is a token bucket of GPU time filled at
 *    share x wall time and `window_ns` x share deep: a capped tenant is
 *    granted only with a quarter of the bucket, and its holder yields when
 *    the bucket is empty, alone or not;
 *  - a quarantined tenant is never granted; its holder is told to yield;
 *  - a rate limit (operations per second with a burst) is a token bucket per
 *    tenant, shared by its processes: each operation takes a token before it
 *    reaches the driver, or waits until one is there (rate.c).
 * The lease time of a tenant, drain included, is its GPU time.
 *
 * Layout version 1.3 (magic, major, minor, reserved space; 1.1 added the
 * tenants' rate limit and watchdog count in space 1.0 reserved, 1.2 the
 * clients' gang flag, 1.3 the wait histograms and in-flight counts, the
 * histograms appended at the end). The region is
 * writable by every local tenant (mode 0666): like the preload itself, it
 * binds cooperative processes (docs/THREAT-MODEL.md); vgpud checks every
 * index it reads. */
#ifndef VGPU_SCHED_H
#define VGPU_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VGPU_SCHED_MAGIC 0x4448435355504756ULL /* "VGPUSCHD" */
#define VGPU_SCHED_MAJOR 1
#define VGPU_SCHED_MINOR 3 /* 1.1: tenants' rate limit and watchdog count; 1.2: gangs;
                              * 1.3: wait histograms and in-flight counts (appended) */
#define VGPU_CLIENT_GANG 1u /* the client runs NCCL: a rank of a collective */
#define VGPU_SCHED_GPUS 32
#define VGPU_SCHED_TENANTS 1024
#define VGPU_SCHED_CLIENTS 1024
#define VGPU_SCHED_WORDS (VGPU_SCHED_CLIENTS / 64)

/* The lease word: bits 0-15 the holder's client slot + 1 (0: free), bit 16
 * yield requested, bits 32-63 the generation (one per grant). */
#define VGPU_LEASE_CLIENT 0xffffULL
#define VGPU_LEASE_YIELD (1ULL << 16)
#define VGPU_LEASE_GEN(w) ((uint32_t)((w) >> 32))

enum vgpu_class { VGPU_CLASS_LOW = 0, VGPU_CLASS_MEDIUM = 1, VGPU_CLASS_HIGH = 2 };

/* Defaults (vgpud may change the region's). */
#define VGPU_SCHED_QUANTUM_NS 20000000ULL /* 20 ms */
#define VGPU_SCHED_WINDOW_NS 100000000ULL /* 100 ms */

/* A tenant's usage of one GPU; guarded by the lock unless _Atomic. */
struct vgpu_sched_usage {
    double vtime;            /* virtual time: lease ns / weight */
    double tokens;           /* cap bucket, ns of GPU time (may go below 0) */
    uint64_t tokens_at;      /* when the bucket was last filled */
    _Atomic uint64_t gpu_ns; /* lease time held, drain included */
    _Atomic uint64_t grants;
    _Atomic uint64_t wait_ns;   /* total time clients waited for a grant */
    _Atomic uint64_t preempted; /* leases ended early for a higher class */
    uint32_t waiting;           /* clients of this tenant waiting for this GPU */
    uint32_t pad;
};

struct vgpu_sched_tenant {
    char name[64];                 /* "" free */
    _Atomic uint32_t managed;      /* policy written by vgpud: processes keep it */
    _Atomic uint32_t klass;        /* enum vgpu_class */
    _Atomic uint32_t share;        /* cap in percent, 0 or 100: none */
    _Atomic uint32_t max_inflight; /* 0: the scheduler's default */
    _Atomic uint32_t quarantined;
    uint32_t clients;          /* live client slots */
    _Atomic uint32_t rate;     /* 1.1: operations per second, 0: no limit */
    _Atomic uint32_t burst;    /* 1.1: the rate bucket's depth in operations */
    double rl_tokens;          /* 1.1: the rate bucket (guarded by the lock) */
    uint64_t rl_at;            /* 1.1: when it was last filled, 0: never */
    _Atomic uint64_t rl_waits; /* 1.1: operations that waited for the rate limit */
    _Atomic uint64_t watchdog; /* 1.1: leases held past quantum + grace (vgpud) */
    struct vgpu_sched_usage use[VGPU_SCHED_GPUS];
};

/* A histogram of waits (1.3): bucket[i] counts observations of at most
 * vgpu_sched_hist_le_ns[i] and more than the bound before it; the last
 * bucket counts those above every bound. Lock-free (atomic adds). */
#define VGPU_SCHED_HIST 20
extern const uint64_t vgpu_sched_hist_le_ns[VGPU_SCHED_HIST - 1];
struct vgpu_sched_hist {
    _Atomic uint64_t bucket[VGPU_SCHED_HIST];
    _Atomic uint64_t sum_ns;
};

/* A tenant's wait statistics, all GPUs together (1.3, appended to the
 * region; zeroed when the tenant's slot is taken). */
struct vgpu_sched_tstats {
    /* from a client asking for a GPU's lease to being granted it (or giving
     * up), one observation per wait, taken at the hand-off (policy.c) */
    struct vgpu_sched_hist lease_wait;
    /* the time a GPU operation spent at the gate before it reached the
     * driver (lease, rate limit, in-flight bound), one observation per
     * operation that took the gate's slow path: every operation while its
     * GPU is shared or its tenant has a cap, rate or in-flight limit; the
     * uncontended operations of a tenant alone are not observed */
    struct vgpu_sched_hist request;
    uint8_t reserved[64];
};

struct vgpu_sched_client {
    _Atomic int32_t pid; /* 0 free */
    int32_t tenant;
    uint64_t start_time;
    _Atomic uint32_t wake;                /* futex: bumped whenever this client should look again */
    uint32_t flags;                       /* 1.2: VGPU_CLIENT_GANG */
    uint64_t want_since[VGPU_SCHED_GPUS]; /* 0: not waiting */
    _Atomic uint32_t inflight;            /* 1.3: tracked operations not yet seen done */
    uint8_t reserved[28];
};

struct vgpu_sched_gpu {
    char uuid[48]; /* without "GPU-"/"MIG-", as accounts key them; "" free */
    _Atomic uint64_t lease;
    _Atomic uint32_t hint;  /* bit c: a client of class c uses this GPU; bit 8: several clients */
    uint32_t holder_tenant; /* valid while a lease is held */
    uint64_t granted_ns;    /* when the current lease was granted */
    double granted_vtime;   /* the holder's virtual time then */
    double vnow;            /* virtual time when the GPU was last free */
    _Atomic uint64_t handoffs;
    _Atomic uint64_t idle_ns; /* time with no lease held */
    uint64_t free_since;
    uint32_t users[3]; /* clients using this GPU, by class */
    uint32_t nwaiting;
    uint64_t waiting[VGPU_SCHED_WORDS]; /* bitmap of waiting clients */
    uint64_t using[VGPU_SCHED_WORDS];   /* bitmap of clients that use this GPU */
    uint8_t reserved[64];
};

struct vgpu_sched {
    uint64_t magic;
    uint32_t major, minor;
    uint64_t size;
    _Atomic uint32_t ready;
    _Atomic uint32_t ngpus;
    uint64_t created_ns;
    pthread_mutex_t lock;       /* robust; guards slots, waiting and the policy state */
    _Atomic uint32_t weight[3]; /* by class */
    _Atomic uint32_t managed;   /* vgpud owns the settings below and the weights */
    _Atomic uint64_t quantum_ns;
    _Atomic uint64_t window_ns;
    uint8_t reserved[256];
    struct vgpu_sched_gpu gpu[VGPU_SCHED_GPUS];
    struct vgpu_sched_tenant tenant[VGPU_SCHED_TENANTS];
    struct vgpu_sched_client client[VGPU_SCHED_CLIENTS];
    struct vgpu_sched_tstats stats[VGPU_SCHED_TENANTS]; /* 1.3 */
};

/* Tenant policy as vgpud or the environment gives it. */
struct vgpu_sched_policy {
    enum vgpu_class klass;
    uint32_t share;        /* 0: no cap */
    uint32_t max_inflight; /* 0: default */
    uint32_t rate, burst;  /* operations per second (0: none) and bucket depth */
    bool quarantined;
};

/* ---- the region (region.c) ---------------------------------------------------------- */

/* Its shared-memory name: "/vgpu.@sched", or "/<VGPU_ACCOUNT_PREFIX>.@sched"
 * (the accounts' prefix; '@' is never in a tenant name). */
void vgpu_sched_name(char *out, size_t len);
/* Maps the region, creating it (mode 0666) if `create`. NULL with a message. */
struct vgpu_sched *vgpu_sched_open(bool create);
void vgpu_sched_unmap(struct vgpu_sched *s);
/* Removes the region's name (tests). */
int vgpu_sched_unlink(void);

void vgpu_sched_lock(struct vgpu_sched *s);
void vgpu_sched_unlock(struct vgpu_sched *s);

/* All of the following take the lock themselves. */

/* The slot of the GPU with `uuid`, created if new; -1 when the table is full. */
int vgpu_sched_gpu(struct vgpu_sched *s, const char *uuid);
/* The slot of tenant `name`, created with `p` if new. An existing tenant takes
 * `p` when `managed` (vgpud's word) or when vgpud does not manage it and it
 * has no live client. -1 when the table is full. */
int vgpu_sched_tenant(struct vgpu_sched *s, const char *name, const struct vgpu_sched_policy *p,
                      bool managed);
/* Quarantine or release a tenant: a quarantined holder is told to yield. */
void vgpu_sched_quarantine(struct vgpu_sched *s, int t, bool on);
/* A process joins as a client of tenant `t`: its slot, or -1 when full. */
int vgpu_sched_join(struct vgpu_sched *s, int t, pid_t pid, uint64_t start_time);
/* Client `c` uses GPU `g` (counted for the in-flight hint). */
void vgpu_sched_use(struct vgpu_sched *s, int c, int g);
/* Client `c` leaves: gives back its leases (charged up to `now`), stops
 * waiting and frees the slot. */
void vgpu_sched_leave(struct vgpu_sched *s, int c, uint64_t now);
/* Leaves on behalf of every client whose process is gone. Returns how many. */
int vgpu_sched_reap(struct vgpu_sched *s, uint64_t now);

/* ---- the policy (policy.c) ----------------------------------------------------------- */

/* Client `c` wants GPU `g` at `now`. Registers the wish, grants the lease if
 * it is free and `c` is the one to run, and asks the holder to yield when a
 * higher class should preempt it. Returns true when `c` holds the lease on
 * return; otherwise *retry_at is when to look again without a wake-up (a cap
 * refills, a holder to check on) and *seq the client's wake value to wait on. */
bool vgpu_sched_want(struct vgpu_sched *s, int c, int g, uint64_t now, uint64_t *retry_at,
                     uint32_t *seq);
/* Client `c` gives back GPU `g` at `now` (its work there has drained):
 * charges the lease, grants the next client and wakes it. No-op when `c`
 * does not hold it. */
void vgpu_sched_release(struct vgpu_sched *s, int c, int g, uint64_t now);

enum vgpu_yield_reason {
    VGPU_YIELD_NONE = 0,
    VGPU_YIELD_ASKED,   /* the yield flag is set (preemption, quarantine) */
    VGPU_YIELD_QUANTUM, /* others waited a whole quantum */
    VGPU_YIELD_CAP,     /* the tenant's cap bucket is empty */
};
/* For the holder `c` of GPU `g`: when it must yield (UINT64_MAX: not while
 * things stay as they are; <= now: now, with *why; a later time with
 * VGPU_YIELD_NONE: when a waiter's cap lets it run, so look again then),
 * and whether another client waits that may run now (then an idle holder
 * should give the lease back). */
uint64_t vgpu_sched_deadline(struct vgpu_sched *s, int c, int g, uint64_t now,
                             enum vgpu_yield_reason *why, bool *others_wait);

/* The in-flight bound for a holder of class `klass` on GPU `g` from the GPU's
 * hint: 0 (no bound: it is alone), 1 when a higher class uses the GPU (it may
 * want the GPU at any moment), else 2. */
static inline uint32_t vgpu_sched_bound(uint32_t hint, uint32_t klass)
{
    if (!(hint & 0x100))
        return 0;
    return (hint >> (klass + 1)) & 7 ? 1 : 2;
}

/* Client `c` runs NCCL collectives: its tenant's ranks are a gang. While one
 * rank of a gang holds a GPU, its other ranks are granted theirs ahead of
 * the queue (their holders are asked to yield at their next kernel
 * boundary), and when one yields a GPU that others wait for, the gang's
 * other ranks yield theirs too: the ranks run together, as a collective
 * needs, instead of waiting for one another on the GPU. Lease time is
 * charged as always, so the tenant pays for each GPU it holds. */
void vgpu_sched_gang(struct vgpu_sched *s, int c);

/* Wakes client `c` (its threads and its agent look at the leases again). */
void vgpu_sched_wake(struct vgpu_sched *s, int c);

/* ---- statistics (stats.c) ----------------------------------------------------------------- */

/* Adds one observation of `ns` nanoseconds (lock-free). */
void vgpu_sched_hist_add(struct vgpu_sched_hist *h, uint64_t ns);
/* A consistent-enough copy (each word read once). Returns the count. */
uint64_t vgpu_sched_hist_read(const struct vgpu_sched_hist *h, uint64_t bucket[VGPU_SCHED_HIST],
                              uint64_t *sum_ns);
/* The q-quantile (0 < q < 1) in seconds of a copy made by
 * vgpu_sched_hist_read, interpolated linearly inside its bucket as
 * Prometheus's histogram_quantile does (above the last bound: that bound);
 * NAN when there is no observation. */
double vgpu_sched_hist_quantile(const uint64_t bucket[VGPU_SCHED_HIST], double q);
/* A tenant's queue depth: its clients waiting for a lease, all GPUs. Read
 * without the lock (a figure, not a decision). (Its work in flight is the
 * sum of its live clients' `inflight`.) */
uint32_t vgpu_sched_queue_depth(const struct vgpu_sched *s, int t);
/* Tenant t's GPU time on GPU g up to `now`: its ended leases and the one it
 * holds now, so the figure grows while a tenant keeps the lease (alone, it
 * may keep it for hours). Takes the lock. */
uint64_t vgpu_sched_gpu_time(struct vgpu_sched *s, int t, int g, uint64_t now);

/* ---- the rate limit (rate.c) ----------------------------------------------------------- */

/* The depth of a rate bucket: `burst`, or when burst is 0 a tenth of a
 * second's worth, rate / 10, and at least 1. */
uint32_t vgpu_sched_rate_depth(uint32_t rate, uint32_t burst);
/* One operation of tenant `t` at `now` against the tenant's rate limit (a
 * bucket shared by all its processes, filled at `rate` per second up to
 * vgpu_sched_rate_depth, full when first used). Returns true when it may
 * run: a token was taken, or the tenant has no rate limit (rate 0; then the
 * lock is not taken) or `t` is no tenant. Returns false when the bucket is
 * empty, with *retry_at the first nanosecond at which a token will be there
 * (at that rate; another process of the tenant may take it first).
 * *retry_at is also an input: 0 on an operation's first try, the value the
 * last refusal gave when the same operation tries again. A refusal counts
 * in the tenant's rl_waits only on a first try, so an operation that waits
 * is counted once however often it retries. Unchanged on true. Takes the
 * region's lock. */
bool vgpu_sched_take_op(struct vgpu_sched *s, int t, uint64_t now, uint64_t *retry_at);

#endif
