/* simgpu state: mapping, initialisation, locking, process table, memory
 * accounting and the execution timeline (see state.h for the design).
 *
 * Creation race: every process opens the file with O_CREAT and initialises it
 * under flock(LOCK_EX) if the magic is missing, so two processes starting at
 * once agree on one device table. A file whose devices differ from this
 * process's SIMGPU_DEVICES is rebuilt only when no live process uses it. */
#include "state.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DEVICES "H100:80GiB"
#define DEFAULT_PATH "/dev/shm/simgpu.state"

static struct simgpu_state *g_state;
static char g_path[512];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* The mapped file's path once open; before that, the one the environment names. */
const char *simgpu_state_path(void)
{
    const char *p = getenv("SIMGPU_STATE");
    if (g_state)
        return g_path;
    return p && *p ? p : DEFAULT_PATH;
}

static uint64_t env_size(const char *name, uint64_t dflt, int *bad)
{
    const char *v = getenv(name);
    uint64_t out;
    if (!v || !*v)
        return dflt;
    if (vgpu_parse_size(v, &out) != 0) {
        fprintf(stderr, "simgpu: %s=%s is not a size (e.g. 300MiB)\n", name, v);
        *bad = 1;
        return dflt;
    }
    return out;
}

static uint64_t env_uint(const char *name, uint64_t dflt, int *bad)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v)
        return dflt;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || end == v) {
        fprintf(stderr, "simgpu: %s=%s is not a non-negative integer\n", name, v);
        *bad = 1;
        return dflt;
    }
    return x;
}

static int init_state(struct simgpu_state *st, const char *devices)
{
    char err[256];
    int bad = 0;
    pthread_mutexattr_t ma;

    memset(st, 0, sizeof(*st));
    if (simgpu_config_parse(st, devices, err, sizeof(err)) != 0) {
        fprintf(stderr, "simgpu: SIMGPU_DEVICES=%s: %s\n", devices, err);
        return -EINVAL;
    }
    st->magic = SIMGPU_MAGIC;
    st->major = SIMGPU_LAYOUT_MAJOR;
    st->minor = SIMGPU_LAYOUT_MINOR;
    st->size = sizeof(*st);
    vgpu_strlcpy(st->config, devices, sizeof(st->config));
    st->created_ns = vgpu_now_ns();
    st->ctx_overhead = env_size("SIMGPU_CTX_OVERHEAD", 300ULL << 20, &bad);
    st->granule = env_size("SIMGPU_GRANULE", 2ULL << 20, &bad);
    st->copy_bw = env_size("SIMGPU_COPY_BW", 25ULL << 30, &bad);
    st->dtod_bw = env_size("SIMGPU_DTOD_BW", 1ULL << 40, &bad);
    st->kernel_ns = env_uint("SIMGPU_KERNEL_US", 5, &bad) * 1000ULL;
    st->queue_depth = (uint32_t)env_uint("SIMGPU_QUEUE_DEPTH", 1024, &bad);
    if (bad || st->granule == 0 || (st->granule & (st->granule - 1)) || st->copy_bw == 0 ||
        st->dtod_bw == 0 || st->queue_depth == 0 || st->queue_depth > SIMGPU_RING) {
        fprintf(stderr,
                "simgpu: invalid SIMGPU_* setting (granule must be a power of two, "
                "bandwidths non-zero, queue depth 1..%d)\n",
                SIMGPU_RING);
        return -EINVAL;
    }
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&st->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    return 0;
}

static bool any_live_proc(struct simgpu_state *st)
{
    for (int i = 0; i < SIMGPU_MAX_PROCS; i++)
        if (st->proc[i].pid && vgpu_proc_alive(st->proc[i].pid, st->proc[i].start_time))
            return true;
    return false;
}

static void open_state(void)
{
    const char *path = simgpu_state_path();
    const char *devices = getenv("SIMGPU_DEVICES");
    struct simgpu_state *st = MAP_FAILED;
    struct stat sb;
    int fd;

    vgpu_strlcpy(g_path, path, sizeof(g_path));
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "simgpu: cannot open state file %s: %s\n", path, strerror(errno));
        return;
    }
    /* The simulated device is machine-wide, like /dev/nvidia*: any user may use it. */
    (void)fchmod(fd, 0666);
    if (flock(fd, LOCK_EX) != 0)
        goto out;
    if (fstat(fd, &sb) != 0)
        goto out;
    /* Refuse another layout before touching the file. */
    struct {
        uint64_t magic;
        uint32_t major, minor;
    } head;
    if (pread(fd, &head, sizeof(head), 0) == (ssize_t)sizeof(head) && head.magic == SIMGPU_MAGIC &&
        head.major != SIMGPU_LAYOUT_MAJOR) {
        fprintf(stderr, "simgpu: %s has layout version %u, this library speaks %u; remove it\n",
                path, head.major, (unsigned)SIMGPU_LAYOUT_MAJOR);
        goto out;
    }
    if ((uint64_t)sb.st_size < sizeof(*st) && ftruncate(fd, sizeof(*st)) != 0) {
        fprintf(stderr, "simgpu: cannot size %s: %s\n", path, strerror(errno));
        goto out;
    }
    st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (st == MAP_FAILED) {
        fprintf(stderr, "simgpu: cannot map %s: %s\n", path, strerror(errno));
        goto out;
    }
    bool fresh = st->magic != SIMGPU_MAGIC || !atomic_load(&st->ready);
    if (!fresh && devices && *devices && strcmp(devices, st->config) != 0) {
        if (any_live_proc(st)) {
            fprintf(stderr,
                    "simgpu: %s holds devices '%s' and is in use; ignoring SIMGPU_DEVICES=%s "
                    "(set SIMGPU_STATE to a file of your own)\n",
                    path, st->config, devices);
        } else {
            fresh = true;
        }
    }
    if (fresh) {
        if (init_state(st, devices && *devices ? devices : DEFAULT_DEVICES) != 0) {
            st->magic = 0;
            goto fail;
        }
        atomic_store(&st->ready, 1);
    }
    g_state = st;
    goto out;
fail:
    munmap(st, sizeof(*st));
out:
    flock(fd, LOCK_UN);
    close(fd);
}

struct simgpu_state *simgpu_state_get(void)
{
    pthread_once(&g_once, open_state);
    return g_state;
}

void simgpu_lock(struct simgpu_state *st)
{
    int rc = pthread_mutex_lock(&st->lock);
    if (rc == EOWNERDEAD) {
        /* Its owner died mid-update; the fields are plain counters that the
         * reaper recomputes for the dead process, so carry on. */
        pthread_mutex_consistent(&st->lock);
        simgpu_reap(st);
    }
}

void simgpu_unlock(struct simgpu_state *st)
{
    pthread_mutex_unlock(&st->lock);
}

int simgpu_proc_register(struct simgpu_state *st)
{
    pid_t pid = getpid();
    int free_slot = -1;

    for (int i = 0; i < SIMGPU_MAX_PROCS; i++) {
        if (st->proc[i].pid == pid)
            return i;
        if (!st->proc[i].pid && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        simgpu_reap(st);
        for (int i = 0; i < SIMGPU_MAX_PROCS && free_slot < 0; i++)
            if (!st->proc[i].pid)
                free_slot = i;
        if (free_slot < 0)
            return -1;
    }
    struct simgpu_proc *p = &st->proc[free_slot];
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->start_time = vgpu_proc_start_time(pid);
    FILE *f = fopen("/proc/self/comm", "re");
    if (f) {
        if (fgets(p->comm, sizeof(p->comm), f))
            p->comm[strcspn(p->comm, "\n")] = '\0';
        fclose(f);
    }
    return free_slot;
}

void simgpu_retire(struct simgpu_state *st, int gpu, uint64_t now_ns)
{
    struct simgpu_gpu *g = &st->gpu[gpu];
    while (g->ring_count) {
        struct simgpu_work *w = &g->ring[g->ring_head];
        if (w->end_ns > now_ns)
            break;
        uint64_t d = w->end_ns - w->start_ns;
        g->busy_ns += d;
        g->work_items++;
        if (w->proc >= 0) {
            struct simgpu_proc *p = &st->proc[w->proc];
            p->busy_ns[gpu] += d;
            if (p->pending[gpu])
                p->pending[gpu]--;
        }
        g->ring_head = (g->ring_head + 1) % SIMGPU_RING;
        g->ring_count--;
    }
}

uint64_t simgpu_busy_ns(struct simgpu_state *st, int gpu, int proc, uint64_t now_ns)
{
    struct simgpu_gpu *g = &st->gpu[gpu];
    uint64_t busy;

    simgpu_retire(st, gpu, now_ns);
    busy = proc < 0 ? g->busy_ns : st->proc[proc].busy_ns[gpu];
    if (g->ring_count) {
        const struct simgpu_work *w = &g->ring[g->ring_head];
        if (w->start_ns < now_ns && (proc < 0 || w->proc == proc))
            busy += now_ns - w->start_ns;
    }
    return busy;
}

static void release_proc(struct simgpu_state *st, int slot)
{
    struct simgpu_proc *p = &st->proc[slot];
    for (uint32_t gi = 0; gi < st->ngpus; gi++) {
        struct simgpu_gpu *g = &st->gpu[gi];
        if (p->mem_used[gi])
            simgpu_mem_give(st, (int)gi, slot, p->mem_used[gi]);
        /* Its queued work is abandoned; the timeline keeps it (the device was
         * busy with it) but credits nobody. */
        for (uint32_t k = 0, i = g->ring_head; k < g->ring_count; k++, i = (i + 1) % SIMGPU_RING)
            if (g->ring[i].proc == slot)
                g->ring[i].proc = -1;
    }
    memset(p, 0, sizeof(*p));
}

void simgpu_reap(struct simgpu_state *st)
{
    pid_t self = getpid();
    for (int i = 0; i < SIMGPU_MAX_PROCS; i++) {
        struct simgpu_proc *p = &st->proc[i];
        if (p->pid && p->pid != self && !vgpu_proc_alive(p->pid, p->start_time))
            release_proc(st, i);
    }
}

int simgpu_mem_take(struct simgpu_state *st, int gpu, int proc, uint64_t bytes)
{
    struct simgpu_gpu *g = &st->gpu[gpu];
    if (bytes > g->mem_total - g->mem_used) {
        simgpu_reap(st);
        if (bytes > g->mem_total - g->mem_used)
            return -ENOMEM;
    }
    g->mem_used += bytes;
    if (g->parent >= 0)
        st->gpu[g->parent].mem_used += bytes;
    st->proc[proc].mem_used[gpu] += bytes;
    return 0;
}

void simgpu_mem_give(struct simgpu_state *st, int gpu, int proc, uint64_t bytes)
{
    struct simgpu_gpu *g = &st->gpu[gpu];
    uint64_t *mine = &st->proc[proc].mem_used[gpu];
    if (bytes > *mine)
        bytes = *mine; /* never underflow, whatever a caller got wrong */
    *mine -= bytes;
    g->mem_used -= bytes;
    if (g->parent >= 0)
        st->gpu[g->parent].mem_used -= bytes;
}

/* End time of the oldest item `proc` has pending on `gpu` (lock held). */
static uint64_t oldest_pending_end(struct simgpu_gpu *g, int proc)
{
    for (uint32_t k = 0, i = g->ring_head; k < g->ring_count; k++, i = (i + 1) % SIMGPU_RING)
        if (g->ring[i].proc == proc)
            return g->ring[i].end_ns;
    return 0;
}

uint64_t simgpu_submit(struct simgpu_state *st, int gpu, int proc, uint64_t dur_ns,
                       enum simgpu_work_kind kind)
{
    struct simgpu_gpu *g = &st->gpu[gpu];
    uint64_t end;

    for (;;) {
        uint64_t now = vgpu_now_ns(), wait_until = 0;
        simgpu_lock(st);
        simgpu_retire(st, gpu, now);
        if (g->ring_count >= SIMGPU_RING)
            wait_until = g->ring[g->ring_head].end_ns;
        else if (st->proc[proc].pending[gpu] >= st->queue_depth)
            wait_until = oldest_pending_end(g, proc);
        if (wait_until == 0) {
            uint64_t start = g->tail_ns > now ? g->tail_ns : now;
            struct simgpu_work *w = &g->ring[(g->ring_head + g->ring_count) % SIMGPU_RING];
            end = start + dur_ns;
            *w = (struct simgpu_work){.start_ns = start, .end_ns = end, .proc = proc, .kind = kind};
            g->ring_count++;
            g->tail_ns = end;
            st->proc[proc].pending[gpu]++;
            if (kind == SIMGPU_WORK_KERNEL || kind == SIMGPU_WORK_GRAPH)
                st->proc[proc].launches[gpu]++;
            simgpu_unlock(st);
            return end;
        }
        simgpu_unlock(st);
        vgpu_sleep_until_ns(wait_until);
    }
}
