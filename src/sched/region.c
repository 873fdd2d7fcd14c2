/* sched region: mapping the scheduler's shared memory and managing its
 * slots (GPUs, tenants, clients). The policy that runs at hand-offs is in
 * policy.c; both keep to the region's one robust lock. */
#include "scheduler.h"
#include "sched_internal.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void vgpu_sched_name(char *out, size_t len)
{
    snprintf(out, len, "/%s.@sched", vgpu_shm_prefix());
}

static int init_region(struct vgpu_sched *s)
{
    pthread_mutexattr_t ma;
    memset(s, 0, sizeof(*s));
    s->magic = VGPU_SCHED_MAGIC;
    s->major = VGPU_SCHED_MAJOR;
    s->minor = VGPU_SCHED_MINOR;
    s->size = sizeof(*s);
    s->created_ns = vgpu_now_ns();
    atomic_store(&s->weight[VGPU_CLASS_LOW], 1);
    atomic_store(&s->weight[VGPU_CLASS_MEDIUM], 2);
    atomic_store(&s->weight[VGPU_CLASS_HIGH], 4);
    atomic_store(&s->quantum_ns, VGPU_SCHED_QUANTUM_NS);
    atomic_store(&s->window_ns, VGPU_SCHED_WINDOW_NS);
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&s->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    return rc == 0 ? 0 : -rc;
}

struct vgpu_sched *vgpu_sched_open(bool create)
{
    char name[64];
    struct vgpu_sched *s = MAP_FAILED;
    struct stat sb;
    struct {
        uint64_t magic;
        uint32_t major, minor;
    } head;

    vgpu_sched_name(name, sizeof(name));
    int fd = shm_open(name, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0666);
    if (fd < 0) {
        if (create || errno != ENOENT)
            vgpu_error("cannot open the scheduler (/dev/shm%s): %s", name, strerror(errno));
        return NULL;
    }
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0)
        goto fail;
    if (sb.st_uid == geteuid() && (sb.st_mode & 0777) != 0666)
        (void)fchmod(fd, 0666); /* whatever the umask: every tenant's processes map it */
    if (pread(fd, &head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
        head.magic == VGPU_SCHED_MAGIC && head.major != VGPU_SCHED_MAJOR) {
        vgpu_error("the scheduler region /dev/shm%s has layout %u, this build speaks %u", name,
                   head.major, (unsigned)VGPU_SCHED_MAJOR);
        errno = EPROTO;
        goto fail;
    }
    if ((uint64_t)sb.st_size < sizeof(*s)) {
        if (!create) {
            errno = ENOENT;
            goto fail;
        }
        if (ftruncate(fd, sizeof(*s)) != 0)
            goto fail;
    }
    s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED)
        goto fail;
    if (s->magic != VGPU_SCHED_MAGIC || !atomic_load(&s->ready)) {
        if (!create || init_region(s) != 0) {
            errno = ENOENT;
            goto fail;
        }
        atomic_store(&s->ready, 1);
    }
    flock(fd, LOCK_UN);
    close(fd);
    return s;
fail:
    if (create || errno != ENOENT)
        vgpu_error("cannot set up the scheduler (/dev/shm%s): %s", name, strerror(errno));
    if (s != MAP_FAILED)
        munmap(s, sizeof(*s));
    flock(fd, LOCK_UN);
    close(fd);
    return NULL;
}

void vgpu_sched_unmap(struct vgpu_sched *s)
{
    if (s)
        munmap(s, sizeof(*s));
}

int vgpu_sched_unlink(void)
{
    char name[64];
    vgpu_sched_name(name, sizeof(name));
    return shm_unlink(name) == 0 || errno == ENOENT ? 0 : -errno;
}

void vgpu_sched_lock(struct vgpu_sched *s)
{
    /* A process that died holding the lock left at most one hand-off half
     * done; every step keeps the structure valid, so it is taken as is. */
    if (pthread_mutex_lock(&s->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&s->lock);
}

void vgpu_sched_unlock(struct vgpu_sched *s)
{
    pthread_mutex_unlock(&s->lock);
}

void vgpu_sched_wake(struct vgpu_sched *s, int c)
{
    struct vgpu_sched_client *cl = &s->client[c];
    atomic_fetch_add(&cl->wake, 1);
    syscall(SYS_futex, &cl->wake, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

int vgpu_sched_gpu(struct vgpu_sched *s, const char *uuid)
{
    int found = -1;
    if (!uuid || !*uuid)
        return -1;
    vgpu_sched_lock(s);
    uint32_t n = atomic_load(&s->ngpus);
    for (uint32_t i = 0; i < n && found < 0; i++)
        if (strncmp(s->gpu[i].uuid, uuid, sizeof(s->gpu[i].uuid)) == 0)
            found = (int)i;
    if (found < 0 && n < VGPU_SCHED_GPUS) {
        struct vgpu_sched_gpu *g = &s->gpu[n];
        vgpu_strlcpy(g->uuid, uuid, sizeof(g->uuid));
        g->free_since = vgpu_now_ns();
        atomic_store(&s->ngpus, n + 1);
        found = (int)n;
    }
    vgpu_sched_unlock(s);
    return found;
}

static void set_policy(struct vgpu_sched *s, struct vgpu_sched_tenant *t,
                       const struct vgpu_sched_policy *p)
{
    uint32_t n = atomic_load(&s->ngpus);
    atomic_store(&t->klass, p->klass <= VGPU_CLASS_HIGH ? (uint32_t)p->klass : VGPU_CLASS_MEDIUM);
    atomic_store(&t->share, p->share > 100 ? 100 : p->share);
    atomic_store(&t->max_inflight, p->max_inflight);
    atomic_store(&t->rate, p->rate);
    atomic_store(&t->burst, p->burst);
    for (uint32_t g = 0; g < n && g < VGPU_SCHED_GPUS; g++)
        atomic_fetch_add(&s->gpu[g].hint, 1u << 16); /* holders look at their policy again */
}

int vgpu_sched_tenant(struct vgpu_sched *s, const char *name, const struct vgpu_sched_policy *p,
                      bool managed)
{
    int found = -1, free_slot = -1;
    if (!name || !*name)
        return -1;
    vgpu_sched_lock(s);
    for (int i = 0; i < VGPU_SCHED_TENANTS && found < 0; i++) {
        if (!s->tenant[i].name[0]) {
            if (free_slot < 0)
                free_slot = i;
        } else if (strncmp(s->tenant[i].name, name, sizeof(s->tenant[i].name)) == 0) {
            found = i;
        }
    }
    if (found >= 0) {
        struct vgpu_sched_tenant *t = &s->tenant[found];
        if (managed) {
            set_policy(s, t, p);
            atomic_store(&t->managed, 1);
        } else if (!atomic_load(&t->managed) && t->clients == 0) {
            set_policy(s, t, p);
        }
    } else if (free_slot >= 0) {
        struct vgpu_sched_tenant *t = &s->tenant[free_slot];
        memset(t, 0, sizeof(*t));
        memset(&s->stats[free_slot], 0, sizeof(s->stats[free_slot]));
        vgpu_strlcpy(t->name, name, sizeof(t->name));
        set_policy(s, t, p);
        atomic_store(&t->managed, managed ? 1 : 0);
        for (int g = 0; g < VGPU_SCHED_GPUS; g++)
            t->use[g].tokens_at = 0; /* filled on first use */
        found = free_slot;
    }
    if (found >= 0 && managed)
        vgpu__sched_quarantine_locked(s, found, p->quarantined);
    vgpu_sched_unlock(s);
    return found;
}

void vgpu_sched_quarantine(struct vgpu_sched *s, int t, bool on)
{
    if (t < 0 || t >= VGPU_SCHED_TENANTS)
        return;
    vgpu_sched_lock(s);
    vgpu__sched_quarantine_locked(s, t, on);
    vgpu_sched_unlock(s);
}

int vgpu_sched_join(struct vgpu_sched *s, int t, pid_t pid, uint64_t start_time)
{
    int found = -1;
    if (t < 0 || t >= VGPU_SCHED_TENANTS)
        return -1;
    vgpu_sched_lock(s);
    for (int i = 0; i < VGPU_SCHED_CLIENTS && found < 0; i++) {
        struct vgpu_sched_client *c = &s->client[i];
        if (atomic_load(&c->pid) != 0)
            continue;
        uint32_t wake = atomic_load(&c->wake);
        memset(c, 0, sizeof(*c));
        atomic_store(&c->wake, wake + 1);
        c->tenant = t;
        c->start_time = start_time;
        atomic_store(&c->pid, (int32_t)pid);
        s->tenant[t].clients++;
        found = i;
    }
    vgpu_sched_unlock(s);
    return found;
}

void vgpu_sched_use(struct vgpu_sched *s, int c, int g)
{
    if (c < 0 || c >= VGPU_SCHED_CLIENTS || g < 0 || g >= VGPU_SCHED_GPUS)
        return;
    vgpu_sched_lock(s);
    struct vgpu_sched_gpu *G = &s->gpu[g];
    if (!vgpu__bit(G->using, c)) {
        uint32_t k = atomic_load(&s->tenant[s->client[c].tenant].klass);
        vgpu__bit_set(G->using, c, true);
        G->users[k < 3 ? k : 1]++;
        vgpu__sched_hint(s, g);
    }
    vgpu_sched_unlock(s);
}

/* Needs the lock. */
static void leave_locked(struct vgpu_sched *s, int c, uint64_t now)
{
    struct vgpu_sched_client *cl = &s->client[c];
    uint32_t n = atomic_load(&s->ngpus);
    for (uint32_t g = 0; g < n && g < VGPU_SCHED_GPUS; g++) {
        struct vgpu_sched_gpu *G = &s->gpu[g];
        vgpu__sched_unwant(s, c, (int)g, now);
        if ((atomic_load(&G->lease) & VGPU_LEASE_CLIENT) == (uint64_t)c + 1)
            vgpu__sched_release_locked(s, c, (int)g, now);
        if (vgpu__bit(G->using, c)) {
            uint32_t k = atomic_load(&s->tenant[cl->tenant].klass);
            vgpu__bit_set(G->using, c, false);
            if (G->users[k < 3 ? k : 1])
                G->users[k < 3 ? k : 1]--;
            vgpu__sched_hint(s, (int)g);
        }
    }
    if (cl->tenant >= 0 && cl->tenant < VGPU_SCHED_TENANTS && s->tenant[cl->tenant].clients)
        s->tenant[cl->tenant].clients--;
    atomic_store(&cl->pid, 0);
}

void vgpu_sched_leave(struct vgpu_sched *s, int c, uint64_t now)
{
    if (c < 0 || c >= VGPU_SCHED_CLIENTS)
        return;
    vgpu_sched_lock(s);
    if (atomic_load(&s->client[c].pid) != 0)
        leave_locked(s, c, now);
    vgpu_sched_unlock(s);
}

int vgpu_sched_reap(struct vgpu_sched *s, uint64_t now)
{
    int n = 0;
    vgpu_sched_lock(s);
    for (int c = 0; c < VGPU_SCHED_CLIENTS; c++) {
        int32_t pid = atomic_load(&s->client[c].pid);
        if (pid > 0 && !vgpu_proc_alive(pid, s->client[c].start_time)) {
            vgpu_info("scheduler: client %d (pid %d) is gone", c, (int)pid);
            leave_locked(s, c, now);
            n++;
        }
    }
    vgpu_sched_unlock(s);
    return n;
}
