/* vgpu-handoff: how long a lease hand-off takes (P5: p99 <= 50 us).
 *
 *   vgpu-handoff [--iterations N] [--json]
 *
 * Two processes share one GPU's lease in a scheduler region of their own
 * (prefix "vgpuhandoff<pid>", removed at the end) and pass it back and
 * forth, as two saturating tenants' agents do: the holder gives the lease
 * back (vgpu_sched_release: the policy picks the waiter, grants it and
 * wakes it with one futex wake) and asks for it again; the waiter sleeps on
 * its client's futex word until vgpu_sched_want says it holds the lease. A
 * hand-off is the time from the release call to the waiter's return from
 * its wait with the lease, read on CLOCK_MONOTONIC in both processes: the
 * scheduler's own cost plus one wake-up of a sleeping process. No GPU is
 * involved (the drain before a release is the holder's own work, measured
 * by the P3 benchmarks). */
#include "scheduler.h"

#include "common.h"

#include <getopt.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
    _Atomic uint64_t released_at; /* when the last release began */
    _Atomic int ready;
    uint64_t sample[];            /* hand-off ns, by iteration */
};

static void futex_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t until)
{
    struct timespec ts, *tsp = NULL;
    if (until != UINT64_MAX) {
        uint64_t now = vgpu_now_ns(), d = until > now ? until - now : 0;
        ts.tv_sec = (time_t)(d / 1000000000ULL);
        ts.tv_nsec = (long)(d % 1000000000ULL);
        tsp = &ts;
    }
    syscall(SYS_futex, word, FUTEX_WAIT, seen, tsp, NULL, 0);
}

/* Waits until client c holds GPU g; returns when it got it. */
static uint64_t acquire(struct vgpu_sched *s, int c, int g)
{
    for (;;) {
        uint64_t retry_at;
        uint32_t seq;
        if (vgpu_sched_want(s, c, g, vgpu_now_ns(), &retry_at, &seq))
            return vgpu_now_ns();
        futex_wait(&s->client[c].wake, seq, retry_at);
    }
}

/* One side of the exchange (me 0 takes the lease first). Hand-off i is a
 * release by side i % 2; the other side records sample[i] when it has the
 * lease. */
static void side(struct vgpu_sched *s, int t, int g, int me, long n, struct shared *sh)
{
    int c = vgpu_sched_join(s, t, getpid(), vgpu_proc_start_time(getpid()));
    if (c < 0) {
        fprintf(stderr, "vgpu-handoff: no client slot\n");
        exit(1);
    }
    vgpu_sched_use(s, c, g);
    if (me == 0)
        acquire(s, c, g);
    atomic_fetch_add(&sh->ready, 1);
    while (atomic_load(&sh->ready) < 2)
        ;
    for (long i = me == 0 ? 0 : -1; i < n; i += 2) {
        if (i >= 0) {
            /* we hold it: hand it over, then ask for it again */
            atomic_store(&sh->released_at, vgpu_now_ns());
            vgpu_sched_release(s, c, g, vgpu_now_ns());
        }
        if (i + 1 >= n)
            break;
        uint64_t got = acquire(s, c, g);
        sh->sample[i + 1] = got - atomic_load(&sh->released_at);
    }
    vgpu_sched_release(s, c, g, vgpu_now_ns());
    vgpu_sched_leave(s, c, vgpu_now_ns());
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"iterations", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long n = 20000;
    bool json = false;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (o) {
        case 'n':
            n = strtol(optarg, &end, 10);
            if (*end || n < 2 || n > 10000000) {
                fprintf(stderr, "vgpu-handoff: --iterations %s: expected 2-10000000\n", optarg);
                return 2;
            }
            break;
        case 'j': json = true; break;
        case 'h':
            printf("usage: vgpu-handoff [--iterations N] [--json]\n"
                   "Passes one lease between two processes N times; prints the hand-off\n"
                   "latency (release to the waiter running) p50/p99/max.\n");
            return 0;
        default: return 2;
        }
    }
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "vgpuhandoff%d", (int)getpid());
    setenv("VGPU_ACCOUNT_PREFIX", prefix, 1);
    struct vgpu_sched *s = vgpu_sched_open(true);
    if (!s)
        return 1;
    struct vgpu_sched_policy p = {.klass = VGPU_CLASS_MEDIUM};
    int g = vgpu_sched_gpu(s, "handoff-bench");
    int ta = vgpu_sched_tenant(s, "a", &p, false), tb = vgpu_sched_tenant(s, "b", &p, false);
    size_t size = sizeof(struct shared) + (size_t)n * sizeof(uint64_t);
    struct shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g < 0 || ta < 0 || tb < 0 || sh == MAP_FAILED) {
        fprintf(stderr, "vgpu-handoff: cannot set up the region\n");
        vgpu_sched_unlink();
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        side(s, tb, g, 1, n, sh);
        _exit(0);
    }
    side(s, ta, g, 0, n, sh);
    int st = 0;
    waitpid(child, &st, 0);
    vgpu_sched_unmap(s);
    vgpu_sched_unlink();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    qsort(sh->sample, (size_t)n, sizeof(uint64_t), cmp_u64);
    long m = n;
    double p50 = (double)sh->sample[m / 2] / 1e3;
    double p99 = (double)sh->sample[(long)(0.99 * (double)(m - 1))] / 1e3;
    double max = (double)sh->sample[m - 1] / 1e3;
    if (json)
        printf("{\"handoffs\":%ld,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f}\n", m, p50, p99,
               max);
    else
        printf("%ld hand-offs: p50 %.2f us, p99 %.2f us, max %.2f us\n", m, p50, p99, max);
    return 0;
}
