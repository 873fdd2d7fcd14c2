/* watchdog: vgpud's check, ten times a second, that no client keeps a GPU
 * past its turn.
 *
 * The scheduler asks a holder to yield after its quantum when others wait;
 * a holder whose work does not finish (one very long kernel, a copy waiting
 * on something that never comes) keeps the lease while draining. Past the
 * quantum plus a grace time (--watchdog-grace-ms, 1 s by default) the
 * watchdog raises an event: a warning in the log and the tenant's watchdog
 * count (status, metrics), once per lease (an execution limit that acts
 * first counts as that event). A tenant may also have an
 * execution time limit (tenant add/set --exec-limit TIME --exec-policy
 * warn|quarantine|kill): past the quantum plus that limit, the policy acts,
 * once per lease: warn logs, quarantine puts the tenant in quarantine (its
 * holder is told to yield and it gets no GPU time until released), kill
 * sends SIGKILL to the holding process through a pidfd, after checking that
 * the pid still names the process that joined (its start time), so a
 * recycled pid is never hit. A holder alone on its GPU is never a
 * monopoly: nothing here fires while nobody waits. */
#include "daemon.h"
#include "scheduler.h"

#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* SIGKILL to the process that joined as client `c`, if it still is that one. */
static int kill_client(struct vgpu_sched *s, int c)
{
    int32_t pid = atomic_load(&s->client[c].pid);
    uint64_t start = s->client[c].start_time;
    if (pid <= 0)
        return -ESRCH;
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    /* The pidfd pins the process: if the pid was recycled before it was
     * opened, the start time no longer matches and nothing is sent. */
    if (!vgpu_proc_alive(pid, start))
        rc = -ESRCH;
    else if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Carries out tenant `name`'s execution-limit policy on the holder `c`. */
static void act(struct vgpud *d, const char *name, const char *policy, int c, uint64_t over_ms)
{
    struct vgpu_sched *s = d->sched;
    int32_t pid = atomic_load(&s->client[c].pid);
    if (strcmp(policy, "kill") == 0) {
        int rc = kill_client(s, c);
        if (rc == 0)
            vgpu_warn("watchdog: killed pid %d of tenant %s, %llu ms past its execution limit",
                      (int)pid, name, (unsigned long long)over_ms);
        else
            vgpu_warn("watchdog: cannot kill pid %d of tenant %s: %s", (int)pid, name,
                      strerror(-rc));
    } else if (strcmp(policy, "quarantine") == 0) {
        json_t *args = json_pack("{s:s}", "name", name);
        struct vgpu_err e = {0};
        if (vgpu_store_tenant_state(d->store, args, "quarantined", &e) == 0) {
            vgpud_apply_all(d);
            vgpu_warn("watchdog: tenant %s quarantined, %llu ms past its execution limit", name,
                      (unsigned long long)over_ms);
        } else {
            vgpu_warn("watchdog: cannot quarantine tenant %s: %s", name, e.msg);
        }
        json_decref(args);
    } else {
        vgpu_warn("watchdog: tenant %s (pid %d) is %llu ms past its execution limit", name,
                  (int)pid, (unsigned long long)over_ms);
    }
}

void vgpud_watchdog(struct vgpud *d)
{
    struct vgpu_sched *s = d->sched;
    if (!s)
        return;
    uint64_t now = vgpu_now_ns();
    uint64_t quantum = atomic_load(&s->quantum_ns);
    uint32_t n = atomic_load(&s->ngpus);
    for (uint32_t g = 0; g < n && g < VGPU_SCHED_GPUS; g++) {
        struct vgpu_sched_gpu *G = &s->gpu[g];
        char name[64];
        vgpu_sched_lock(s);
        uint64_t w = atomic_load(&G->lease);
        int c = (int)(w & VGPU_LEASE_CLIENT) - 1;
        uint32_t t = G->holder_tenant, gen = VGPU_LEASE_GEN(w);
        uint64_t held = now > G->granted_ns ? now - G->granted_ns : 0;
        bool others =
            G->nwaiting > 0 && !(G->nwaiting == 1 && c >= 0 && s->client[c].want_since[g] != 0);
        if (c >= 0 && t < VGPU_SCHED_TENANTS)
            snprintf(name, sizeof(name), "%.63s", s->tenant[t].name);
        vgpu_sched_unlock(s);
        if (c < 0 || c >= VGPU_SCHED_CLIENTS || t >= VGPU_SCHED_TENANTS || !others ||
            held <= quantum)
            continue;
        uint64_t over_ms = (held - quantum) / 1000000;
        if (over_ms >= d->watchdog_grace_ms && d->wd_warned[g] != gen + 1) {
            d->wd_warned[g] = gen + 1;
            atomic_fetch_add(&s->tenant[t].watchdog, 1);
            vgpu_warn("watchdog: tenant %s has held GPU %s %llu ms past its quantum while others "
                      "wait",
                      name, G->uuid, (unsigned long long)over_ms);
        }
        if (d->wd_acted[g] == gen + 1)
            continue;
        json_t *tenant = vgpu_store_tenant(d->store, name);
        json_int_t limit = json_integer_value(json_object_get(tenant, "exec_limit_ms"));
        const char *policy = json_string_value(json_object_get(tenant, "exec_policy"));
        if (tenant && limit > 0 && over_ms >= (uint64_t)limit && policy) {
            d->wd_acted[g] = gen + 1;
            if (d->wd_warned[g] != gen + 1) { /* the limit came before the grace time */
                d->wd_warned[g] = gen + 1;
                atomic_fetch_add(&s->tenant[t].watchdog, 1);
            }
            act(d, name, policy, c, over_ms);
        }
        json_decref(tenant);
    }
}
