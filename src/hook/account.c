/* account: the shared tenant memory account (see account.h for the design). */
#include "account.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int init_region(struct vgpu_acct *a, const char *tenant)
{
    pthread_mutexattr_t ma;
    memset(a, 0, sizeof(*a));
    a->magic = VGPU_ACCT_MAGIC;
    a->major = VGPU_ACCT_MAJOR;
    a->minor = VGPU_ACCT_MINOR;
    a->size = sizeof(*a);
    a->created_ns = vgpu_now_ns();
    vgpu_strlcpy(a->tenant, tenant, sizeof(a->tenant));
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&a->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    return rc == 0 ? 0 : -rc;
}

/* "/<prefix>.<tenant>" (vgpu_shm_prefix: "vgpu" unless a test sets one). */
static void region_name(const char *tenant, char *out, size_t len)
{
    snprintf(out, len, "/%s.%s", vgpu_shm_prefix(), tenant);
}

/* Opens the region of `tenant` if it exists: an fd, or -1 with errno. */
static int open_existing(const char *tenant)
{
    char name[128];
    region_name(tenant, name, sizeof(name));
    return shm_open(name, O_RDWR | O_CLOEXEC, 0);
}

struct vgpu_acct *vgpu_acct_open(const char *tenant)
{
    char name[128];
    struct vgpu_acct *a = MAP_FAILED;
    struct stat sb;
    int fd;

    region_name(tenant, name, sizeof(name));
    fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        vgpu_error("cannot open the account of tenant %s (/dev/shm%s): %s", tenant, name,
                   strerror(errno));
        return NULL;
    }
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0)
        goto fail_fd;
    struct {
        uint64_t magic;
        uint32_t major, minor;
    } head;
    if (pread(fd, &head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
        head.magic == VGPU_ACCT_MAGIC && head.major != VGPU_ACCT_MAJOR) {
        vgpu_error("account of tenant %s has layout %u, this library speaks %u", tenant, head.major,
                   (unsigned)VGPU_ACCT_MAJOR);
        goto fail_fd;
    }
    if ((uint64_t)sb.st_size < sizeof(*a) && ftruncate(fd, sizeof(*a)) != 0)
        goto fail_fd;
    a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (a == MAP_FAILED)
        goto fail_fd;
    if (a->magic != VGPU_ACCT_MAGIC || !atomic_load(&a->ready)) {
        if (init_region(a, tenant) != 0)
            goto fail_map;
        atomic_store(&a->ready, 1);
    }
    flock(fd, LOCK_UN);
    close(fd);
    return a;
fail_map:
    munmap(a, sizeof(*a));
fail_fd:
    vgpu_error("cannot set up the account of tenant %s: %s", tenant, strerror(errno));
    flock(fd, LOCK_UN);
    close(fd);
    return NULL;
}

struct vgpu_acct *vgpu_acct_map_existing(const char *tenant)
{
    struct stat sb;
    int fd = open_existing(tenant);
    if (fd < 0)
        return NULL;
    struct vgpu_acct *a = MAP_FAILED;
    if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size >= sizeof(*a))
        a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (a == MAP_FAILED)
        return NULL;
    if (a->magic != VGPU_ACCT_MAGIC || a->major != VGPU_ACCT_MAJOR || !atomic_load(&a->ready)) {
        munmap(a, sizeof(*a));
        return NULL;
    }
    return a;
}

/* POSIX access ACLs as the kernel stores them in the system.posix_acl_access
 * attribute: a version word, then entries sorted by tag, then by id, all
 * little-endian (as the hosts CUDA runs on are). */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_VERSION 2
#define ACL_MAX 128 /* entries; past this the grant falls back to ownership */
enum {
    ACL_USER_OBJ = 1,
    ACL_USER = 2,
    ACL_GROUP_OBJ = 4,
    ACL_GROUP = 8,
    ACL_MASK = 16,
    ACL_OTHER = 32
};
#define ACL_NO_ID 0xffffffffu
struct acl_entry {
    uint16_t tag, perm;
    uint32_t id;
};

static int acl_order(const void *x, const void *y)
{
    const struct acl_entry *a = x, *b = y;
    if (a->tag != b->tag)
        return a->tag < b->tag ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Adds `tag` `id` with read+write unless present; false when full. */
static bool acl_add(struct acl_entry *e, int *n, uint16_t tag, uint32_t id)
{
    for (int i = 0; i < *n; i++)
        if (e[i].tag == tag && e[i].id == id)
            return true;
    if (*n >= ACL_MAX)
        return false;
    e[(*n)++] = (struct acl_entry){tag, 6, id};
    return true;
}

/* Grants read+write on fd to uid and gid ((uid_t)-1 / (gid_t)-1: none) by
 * ACL entries next to those already there. 0, or -errno (-EOPNOTSUPP where
 * the file system has no ACLs, -ENOSPC when the ACL is full). */
static int acl_grant(int fd, uid_t uid, gid_t gid)
{
    unsigned char buf[4 + (ACL_MAX + 8) * sizeof(struct acl_entry)];
    struct acl_entry e[ACL_MAX + 8];
    uint32_t version = ACL_VERSION;
    int n = 0;
    ssize_t len = fgetxattr(fd, ACL_XATTR, buf, sizeof(buf));
    if (len < 0 && errno != ENODATA)
        return -errno; /* EOPNOTSUPP: no ACLs here; ERANGE: more than we keep */
    if (len >= 0) {    /* the kernel's own: a version word, then whole entries */
        uint32_t v;
        if (len < 4 || (size_t)(len - 4) % sizeof(e[0]) != 0 ||
            (size_t)(len - 4) / sizeof(e[0]) > ACL_MAX || (memcpy(&v, buf, 4), v) != ACL_VERSION)
            return -EINVAL;
        n = (int)((size_t)(len - 4) / sizeof(e[0]));
        memcpy(e, buf + 4, (size_t)n * sizeof(e[0]));
    } else { /* no ACL yet: the region's 0600 */
        e[n++] = (struct acl_entry){ACL_USER_OBJ, 6, ACL_NO_ID};
        e[n++] = (struct acl_entry){ACL_GROUP_OBJ, 0, ACL_NO_ID};
        e[n++] = (struct acl_entry){ACL_OTHER, 0, ACL_NO_ID};
    }
    if (!acl_add(e, &n, ACL_MASK, ACL_NO_ID) ||
        (uid != (uid_t)-1 && !acl_add(e, &n, ACL_USER, (uint32_t)uid)) ||
        (gid != (gid_t)-1 && !acl_add(e, &n, ACL_GROUP, (uint32_t)gid)))
        return -ENOSPC;
    for (int i = 0; i < n; i++)
        if (e[i].tag == ACL_MASK)
            e[i].perm = 6; /* the mask lets the named entries' read+write through */
    qsort(e, (size_t)n, sizeof(e[0]), acl_order);
    memcpy(buf, &version, 4);
    memcpy(buf + 4, e, (size_t)n * sizeof(e[0]));
    return fsetxattr(fd, ACL_XATTR, buf, 4 + (size_t)n * sizeof(e[0]), 0) == 0 ? 0 : -errno;
}

int vgpu_acct_grant(const char *tenant, uid_t uid, gid_t gid)
{
    int fd = open_existing(tenant);
    if (fd < 0)
        return -errno;
    int rc = acl_grant(fd, uid, gid);
    if (rc != 0) { /* no ACLs here: hand the region over instead */
        rc = fchown(fd, uid, gid) == 0 ? 0 : -errno;
        if (rc == 0 && gid != (gid_t)-1 && fchmod(fd, 0660) != 0)
            rc = -errno;
    }
    close(fd);
    return rc;
}

int vgpu_acct_revoke(const char *tenant)
{
    int fd = open_existing(tenant);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    if (fremovexattr(fd, ACL_XATTR) != 0 && errno != ENODATA && errno != EOPNOTSUPP)
        rc = -errno;
    if (rc == 0 && (fchown(fd, geteuid(), getegid()) != 0 || fchmod(fd, 0600) != 0))
        rc = -errno;
    close(fd);
    return rc;
}

int vgpu_acct_remove(const char *tenant)
{
    char name[128];
    region_name(tenant, name, sizeof(name));
    return shm_unlink(name) == 0 || errno == ENOENT ? 0 : -errno;
}

void vgpu_acct_unmap(struct vgpu_acct *a)
{
    if (a)
        munmap(a, sizeof(*a));
}

static void lock(struct vgpu_acct *a)
{
    if (pthread_mutex_lock(&a->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&a->lock);
}

/* True when a live process other than the caller is in the account. */
static bool others_alive(struct vgpu_acct *a)
{
    pid_t self = getpid();
    for (int i = 0; i < VGPU_ACCT_PROCS; i++) {
        int32_t pid = atomic_load(&a->proc[i].pid);
        if (pid > 0 && pid != self && vgpu_proc_alive(pid, a->proc[i].start_time))
            return true;
    }
    return false;
}

int vgpu_acct_device(struct vgpu_acct *a, const char *uuid, uint64_t limit, uint64_t soft_limit)
{
    int found = -1;
    lock(a);
    uint32_t n = atomic_load(&a->ndevs);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(a->dev[i].uuid, uuid) == 0)
            found = (int)i;
    if (found < 0 && n < VGPU_ACCT_DEVS) {
        struct vgpu_acct_dev *d = &a->dev[n];
        vgpu_strlcpy(d->uuid, uuid, sizeof(d->uuid));
        atomic_store(&d->limit, limit);
        atomic_store(&d->soft_limit, soft_limit);
        atomic_store(&a->ndevs, n + 1);
        found = (int)n;
    } else if (found >= 0 && (atomic_load(&a->dev[found].limit) != limit ||
                              atomic_load(&a->dev[found].soft_limit) != soft_limit)) {
        /* Alone in the tenant, a process sets its limits; beside running
         * processes it cannot change theirs, nor ever vgpud's. */
        if (atomic_load(&a->dev[found].managed)) {
            vgpu_info("tenant %s: vgpud sets its limits on %s", a->tenant, uuid);
        } else if (!others_alive(a)) {
            atomic_store(&a->dev[found].limit, limit);
            atomic_store(&a->dev[found].soft_limit, soft_limit);
        } else {
            char have[32], want[32];
            vgpu_warn("tenant %s runs with a limit of %s on %s; %s asked here is not applied",
                      a->tenant, vgpu_format_size(atomic_load(&a->dev[found].limit), have, 32),
                      uuid, vgpu_format_size(limit, want, 32));
        }
    }
    pthread_mutex_unlock(&a->lock);
    return found;
}

int vgpu_acct_set_limits(struct vgpu_acct *a, const char *uuid, uint64_t limit, uint64_t soft_limit)
{
    int found = -1;
    lock(a);
    uint32_t n = atomic_load(&a->ndevs);
    for (uint32_t i = 0; i < n && found < 0; i++)
        if (strcmp(a->dev[i].uuid, uuid) == 0)
            found = (int)i;
    if (found < 0 && n < VGPU_ACCT_DEVS) {
        vgpu_strlcpy(a->dev[n].uuid, uuid, sizeof(a->dev[n].uuid));
        found = (int)n;
        atomic_store(&a->ndevs, n + 1);
    }
    if (found >= 0) {
        atomic_store(&a->dev[found].limit, limit);
        atomic_store(&a->dev[found].soft_limit, soft_limit);
        atomic_store(&a->dev[found].managed, 1);
    }
    pthread_mutex_unlock(&a->lock);
    return found;
}

int vgpu_acct_join(struct vgpu_acct *a)
{
    pid_t pid = getpid();
    uint64_t start = vgpu_proc_start_time(pid);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < VGPU_ACCT_PROCS; i++) {
            struct vgpu_acct_proc *p = &a->proc[i];
            int32_t expect = 0;
            if (atomic_load(&p->pid) == pid && p->start_time == start)
                return i;
            if (atomic_compare_exchange_strong(&p->pid, &expect, -pid)) {
                for (int d = 0; d < VGPU_ACCT_DEVS; d++)
                    atomic_store(&p->used[d], 0);
                p->start_time = start;
                atomic_store(&p->pid, pid);
                return i;
            }
        }
        vgpu_acct_reap(a);
    }
    return -1;
}

static void give_back(struct vgpu_acct *a, struct vgpu_acct_proc *p)
{
    for (int d = 0; d < VGPU_ACCT_DEVS; d++) {
        uint64_t held = atomic_exchange(&p->used[d], 0);
        if (held)
            atomic_fetch_sub(&a->dev[d].used, held);
    }
    atomic_store(&p->pid, 0);
}

void vgpu_acct_leave(struct vgpu_acct *a, int pi)
{
    struct vgpu_acct_proc *p = &a->proc[pi];
    int32_t pid = atomic_load(&p->pid);
    if (pid > 0 && atomic_compare_exchange_strong(&p->pid, &pid, -pid))
        give_back(a, p);
}

void vgpu_acct_reap(struct vgpu_acct *a)
{
    for (int i = 0; i < VGPU_ACCT_PROCS; i++) {
        struct vgpu_acct_proc *p = &a->proc[i];
        int32_t pid = atomic_load(&p->pid);
        if (pid <= 0 || vgpu_proc_alive(pid, p->start_time))
            continue;
        /* Claim the slot so exactly one reaper gives its bytes back. */
        if (atomic_compare_exchange_strong(&p->pid, &pid, -pid))
            give_back(a, p);
    }
}

static void raise_peak(struct vgpu_acct_dev *d, uint64_t v)
{
    uint64_t peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
    while (peak < v && !atomic_compare_exchange_weak(&d->peak, &peak, v))
        ;
}

enum vgpu_acct_result vgpu_acct_reserve(struct vgpu_acct *a, int di, int pi, uint64_t bytes)
{
    struct vgpu_acct_dev *d = &a->dev[di];
    uint64_t limit = atomic_load_explicit(&d->limit, memory_order_relaxed);
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t used = atomic_load(&d->used);
        bool fits;
        do {
            fits = !limit || (bytes <= limit && used <= limit - bytes);
        } while (fits && !atomic_compare_exchange_weak(&d->used, &used, used + bytes));
        if (fits) {
            atomic_fetch_add(&a->proc[pi].used[di], bytes);
            raise_peak(d, used + bytes);
            uint64_t soft = atomic_load_explicit(&d->soft_limit, memory_order_relaxed);
            if (soft && used + bytes > soft) {
                atomic_fetch_add(&d->soft_events, 1);
                return VGPU_ACCT_SOFT;
            }
            return VGPU_ACCT_OK;
        }
        if (attempt == 0)
            vgpu_acct_reap(a); /* a dead process's bytes may make room */
    }
    atomic_fetch_add(&d->oom_events, 1);
    return VGPU_ACCT_FULL;
}

void vgpu_acct_release(struct vgpu_acct *a, int di, int pi, uint64_t bytes)
{
    /* Never below zero, whatever a caller got wrong. */
    uint64_t mine = atomic_load(&a->proc[pi].used[di]);
    do {
        if (bytes > mine)
            bytes = mine;
    } while (!atomic_compare_exchange_weak(&a->proc[pi].used[di], &mine, mine - bytes));
    atomic_fetch_sub(&a->dev[di].used, bytes);
}
