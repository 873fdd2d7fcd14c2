/* simgpu state: the simulated machine that every process of a test shares.
 *
 * One file (SIMGPU_STATE, default /dev/shm/simgpu.state) is mapped shared by
 * every process that loads the simulated libcuda.so.1 or libnvidia-ml.so.1.
 * It holds the device table built from SIMGPU_DEVICES, the memory each
 * process holds on each device, and each device's execution timeline: a ring
 * of work items (kernels, copies, memsets) that the device runs one at a time
 * in submission order, as the hardware time-slicer does for contexts of
 * different processes. Nothing runs in the background: an item's start and
 * end are fixed when it is submitted (start = max(now, end of the previous
 * item)), and items are retired lazily, crediting their device time to the
 * submitting process, by whoever takes the lock next.
 *
 * One robust process-shared mutex guards everything; a process killed while
 * holding it leaves the state consistent enough for the next owner, who also
 * reaps dead processes (pid + start time) and gives their memory back, as the
 * real driver does when a process dies.
 *
 * The layout is versioned (magic, major, minor, reserved space): a file of
 * another major version is refused with a clear message. */
#ifndef SIMGPU_STATE_H
#define SIMGPU_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SIMGPU_MAGIC 0x3155504d49534dULL /* "MSIMPU1" */
#define SIMGPU_LAYOUT_MAJOR 1
#define SIMGPU_LAYOUT_MINOR 0
#define SIMGPU_MAX_GPUS 32 /* physical GPUs plus MIG instances */
#define SIMGPU_MAX_MIG 7
#define SIMGPU_MAX_PROCS 128
#define SIMGPU_RING 2048
#define SIMGPU_CONFIG_MAX 512

enum simgpu_work_kind {
    SIMGPU_WORK_KERNEL = 1,
    SIMGPU_WORK_COPY = 2,
    SIMGPU_WORK_MEMSET = 3,
    SIMGPU_WORK_GRAPH = 4,
};

struct simgpu_work {
    uint64_t start_ns;
    uint64_t end_ns;
    int32_t proc; /* slot in proc[], -1 once that process is gone */
    uint32_t kind;
};

struct simgpu_gpu {
    char name[64];  /* "NVIDIA H100 (simgpu)" */
    char model[32]; /* "H100" */
    char uuid[48];  /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" or "MIG-..." */
    uint8_t uuid_bytes[16];
    char pci_bus_id[24]; /* NVML form "00000000:18:00.0"; a MIG instance has its parent's */
    uint32_t pci_domain, pci_bus, pci_device, pci_device_id;
    uint64_t mem_total;
    int32_t sm_count, cc_major, cc_minor, clock_khz;
    int32_t parent;      /* -1 for a physical GPU, else the index of its parent */
    int32_t mig_enabled; /* physical GPU: MIG mode is on (its instances are the CUDA devices) */
    int32_t mig_count;   /* physical GPU: number of instances */
    int32_t mig_first;   /* physical GPU: index of its first instance */
    int32_t nvml_index;  /* physical: NVML index; MIG: instance index within the parent */
    int32_t gi_id, ci_id, mig_slices;
    /* live figures, guarded by the state lock */
    uint64_t mem_used;   /* bytes held by all processes (a parent counts its instances') */
    uint64_t busy_ns;    /* device time of retired work */
    uint64_t work_items; /* retired work items */
    uint64_t tail_ns;    /* end of the last submitted item */
    uint32_t ring_head, ring_count;
    /* NVML utilisation sampling: busy time at the start of the current window */
    uint64_t util_mark_ns, util_mark_busy_ns;
    uint32_t util_last_pct, pad;
    uint8_t reserved[40];
    struct simgpu_work ring[SIMGPU_RING];
};

struct simgpu_proc {
    int32_t pid; /* 0: free slot */
    uint32_t flags;
    uint64_t start_time; /* /proc/PID/stat starttime: tells a recycled pid apart */
    char comm[16];
    uint64_t mem_used[SIMGPU_MAX_GPUS];
    uint64_t busy_ns[SIMGPU_MAX_GPUS];
    uint64_t launches[SIMGPU_MAX_GPUS];
    uint32_t contexts[SIMGPU_MAX_GPUS];
    uint32_t pending[SIMGPU_MAX_GPUS];
};

struct simgpu_state {
    uint64_t magic;
    uint32_t major, minor;
    uint64_t size;
    _Atomic uint32_t ready;
    uint32_t ngpus;
    char config[SIMGPU_CONFIG_MAX]; /* the SIMGPU_DEVICES it was built from */
    uint64_t created_ns;
    uint64_t ctx_overhead; /* bytes a context costs on its device */
    uint64_t granule;      /* allocation granularity */
    uint64_t copy_bw;      /* host <-> device bytes per second */
    uint64_t dtod_bw;      /* device <-> device and memset bytes per second */
    uint64_t kernel_ns;    /* run time of a kernel other than vgpu_sim_busy */
    uint32_t queue_depth;  /* pending items per process and device before a submit blocks */
    uint32_t pad;
    pthread_mutex_t lock;
    uint8_t reserved[256];
    struct simgpu_gpu gpu[SIMGPU_MAX_GPUS];
    struct simgpu_proc proc[SIMGPU_MAX_PROCS];
};

/* Maps the state file, creating and initialising it from the environment if
 * needed. Returns the process-wide mapping (one per loaded library), or NULL
 * with a message on stderr. Thread-safe, idempotent. */
struct simgpu_state *simgpu_state_get(void);
/* Path of the state file this process uses. */
const char *simgpu_state_path(void);

void simgpu_lock(struct simgpu_state *st);
void simgpu_unlock(struct simgpu_state *st);

/* All of the following need the lock held. */

/* Registers the calling process (idempotent); returns its slot or -1 when the
 * table is full. */
int simgpu_proc_register(struct simgpu_state *st);
/* Gives back everything held by processes that have exited. */
void simgpu_reap(struct simgpu_state *st);
/* Retires work that has finished by `now_ns`, crediting device time. */
void simgpu_retire(struct simgpu_state *st, int gpu, uint64_t now_ns);
/* Device time credited to `proc` on `gpu` up to `now_ns`, the running item's
 * elapsed part included. */
uint64_t simgpu_busy_ns(struct simgpu_state *st, int gpu, int proc, uint64_t now_ns);

/* Takes `bytes` of `gpu`'s memory for `proc`; -ENOMEM when it does not fit. */
int simgpu_mem_take(struct simgpu_state *st, int gpu, int proc, uint64_t bytes);
void simgpu_mem_give(struct simgpu_state *st, int gpu, int proc, uint64_t bytes);

/* Queues `dur_ns` of work on `gpu` for `proc` and returns its end time. Takes
 * and drops the lock itself: it blocks (sleeping, lock dropped) while the
 * device's ring is full or the process already has queue_depth items pending,
 * like a full push buffer on the real device. */
uint64_t simgpu_submit(struct simgpu_state *st, int gpu, int proc, uint64_t dur_ns,
                       enum simgpu_work_kind kind);

/* Parses a SIMGPU_DEVICES string into st->gpu[] (st->ngpus). Returns 0, or
 * -EINVAL with a message naming the bad part in `err`. */
int simgpu_config_parse(struct simgpu_state *st, const char *spec, char *err, size_t errlen);

#endif
