/* account: a tenant's device-memory account, shared by all its processes.
 *
 * One shared-memory region per tenant (/dev/shm/vgpu.<tenant>; the prefix
 * can be changed with VGPU_ACCOUNT_PREFIX, for tests) holds, per
 * physical GPU (by UUID), the limit, the soft limit and the bytes in use, and
 * per process what it holds on each GPU. Reservations are lock-free and
 * exact: a compare-and-swap on the device's `used` either fits the request
 * under the limit or fails, so any number of processes racing never exceed
 * the limit by a byte. The order is always reserve, then allocate, then roll
 * back if the driver fails. A process killed mid-way can at worst leave its
 * last reservation counted (never an under-count). Dead processes (pid plus
 * start time) are reaped by whoever attaches or is about to be refused:
 * their bytes go back to the account.
 *
 * Layout version 1.0: magic, major, minor, reserved space; a region of
 * another major version is refused. vgpud (later) will create the regions;
 * standalone processes create them on first use. */
#ifndef VGPU_HOOK_ACCOUNT_H
#define VGPU_HOOK_ACCOUNT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VGPU_ACCT_MAGIC 0x544e434355504756ULL /* "VGPUACCNT" */
#define VGPU_ACCT_MAJOR 1
#define VGPU_ACCT_MINOR 1 /* 1.1: dev[].managed */
#define VGPU_ACCT_DEVS 32
#define VGPU_ACCT_PROCS 512

struct vgpu_acct_dev {
    char uuid[48];               /* "GPU-..." or "MIG-...": empty = free slot */
    _Atomic uint64_t limit;      /* 0: unlimited */
    _Atomic uint64_t soft_limit; /* 0: none */
    _Atomic uint64_t used;
    _Atomic uint64_t peak;
    _Atomic uint64_t soft_events; /* allocations that went past the soft limit */
    _Atomic uint64_t oom_events;  /* allocations refused at the limit */
    _Atomic uint32_t managed;     /* limits set by vgpud: processes never override them */
    uint8_t reserved[60];
};

struct vgpu_acct_proc {
    _Atomic int32_t pid; /* 0 free, > 0 live, < 0 being reaped */
    uint32_t pad;
    uint64_t start_time;
    _Atomic uint64_t used[VGPU_ACCT_DEVS];
    uint8_t reserved[32];
};

struct vgpu_acct {
    uint64_t magic;
    uint32_t major, minor;
    uint64_t size;
    _Atomic uint32_t ready;
    _Atomic uint32_t ndevs;
    char tenant[64];
    uint64_t created_ns;
    pthread_mutex_t lock; /* robust; guards creating device slots only */
    uint8_t reserved[256];
    struct vgpu_acct_dev dev[VGPU_ACCT_DEVS];
    struct vgpu_acct_proc proc[VGPU_ACCT_PROCS];
};

/* Maps (creating if needed) the region of `tenant`. NULL with a message. */
struct vgpu_acct *vgpu_acct_open(const char *tenant);
/* Maps the region of `tenant` only if it exists (a reader such as vgpud's
 * status); NULL otherwise. */
struct vgpu_acct *vgpu_acct_map_existing(const char *tenant);
void vgpu_acct_unmap(struct vgpu_acct *a);
/* Lets `uid` and the members of `gid` ((uid_t)-1 / (gid_t)-1: none) map the
 * region of `tenant` (vgpud, when a process attaches: a tenant bound to a
 * group, a cgroup or reached by token may have processes of several users
 * at once). Access accumulates as POSIX ACL entries, so granting one user
 * never takes the region from another; where the file system has no ACLs
 * (or 128 entries are used) the region is handed to uid and gid instead.
 * 0 or -errno. */
int vgpu_acct_grant(const char *tenant, uid_t uid, gid_t gid);
/* Takes back every grant: the region is the caller's alone again (mode
 * 0600, no ACL). Processes that mapped it keep their mapping; the users
 * still admitted are granted again when they next attach. 0 (also when
 * there is no region) or -errno. */
int vgpu_acct_revoke(const char *tenant);
/* Removes the region's name (tenant removed): a tenant made later under the
 * same name starts from a new one. Mappings stay valid. 0 or -errno. */
int vgpu_acct_remove(const char *tenant);
/* Sets the limits of the device slot for `uuid`, creating it if new, and
 * marks it managed: the control plane's word, whoever runs. -1 when the
 * table is full. */
int vgpu_acct_set_limits(struct vgpu_acct *a, const char *uuid, uint64_t limit,
                         uint64_t soft_limit);
/* The slot of the device with `uuid`, created with the given limits if new.
 * An existing slot takes the given limits when no other live process is in
 * the account and vgpud does not manage it, and keeps its own (with a
 * warning) otherwise. -1 when the table is full. */
int vgpu_acct_device(struct vgpu_acct *a, const char *uuid, uint64_t limit, uint64_t soft_limit);
/* Registers the calling process; returns its slot or -1. */
int vgpu_acct_join(struct vgpu_acct *a);
/* Gives back everything process slot `p` holds and frees the slot (a
 * process leaving normally; the driver frees its memory as it exits). */
void vgpu_acct_leave(struct vgpu_acct *a, int p);
/* Gives back everything held by processes that have exited. */
void vgpu_acct_reap(struct vgpu_acct *a);

enum vgpu_acct_result { VGPU_ACCT_OK = 0, VGPU_ACCT_SOFT = 1, VGPU_ACCT_FULL = -1 };
/* Reserves `bytes` on device slot `d` for process slot `p`. VGPU_ACCT_SOFT:
 * granted, but past the soft limit. VGPU_ACCT_FULL: refused (after reaping
 * dead processes once), nothing changed. */
enum vgpu_acct_result vgpu_acct_reserve(struct vgpu_acct *a, int d, int p, uint64_t bytes);
void vgpu_acct_release(struct vgpu_acct *a, int d, int p, uint64_t bytes);

#endif
