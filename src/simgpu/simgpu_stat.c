/* simgpu-stat: prints what the simulated machine is doing, straight from the
 * shared simgpu state (not through NVML), for people debugging a test and
 * for scripts (--json).
 *
 * It maps the state file that SIMGPU_STATE (or --state) names, takes the
 * state lock just long enough to copy a snapshot (reaping dead processes
 * first unless --no-reap), and prints from the copy: per device its identity,
 * memory and device time, per registered process its memory, device time,
 * contexts and launches on each device it touched.
 *
 * It must never create or rebuild a state: a missing file is reported (exit
 * 1) rather than created, a file without the simgpu magic is refused, and
 * SIMGPU_DEVICES is dropped from the environment before mapping, because
 * state.c rebuilds an idle state whose device list differs from it.
 *
 * Exit status: 0 printed, 1 no usable state, 2 bad arguments. */
#include "common.h"
#include "state.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dev_snap {
    int parent, nvml_index, mig_enabled, mig_count, gi_id, ci_id, cc_major, cc_minor;
    char name[64], uuid[48], pci_bus_id[24];
    uint64_t mem_used, mem_total, busy_ns, work_items;
};

struct proc_snap {
    int pid;
    bool alive;
    char comm[16];
    uint64_t mem[SIMGPU_MAX_GPUS], busy_ns[SIMGPU_MAX_GPUS], launches[SIMGPU_MAX_GPUS];
    uint32_t contexts[SIMGPU_MAX_GPUS];
};

struct snapshot {
    char config[SIMGPU_CONFIG_MAX];
    uint32_t ngpus, nprocs;
    struct dev_snap dev[SIMGPU_MAX_GPUS];
    struct proc_snap proc[SIMGPU_MAX_PROCS];
};

struct options {
    bool json, reap;
    const char *state;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: simgpu-stat [--json] [--reap | --no-reap] [--state PATH]\n"
                 "Prints the simulated GPUs and the processes using them, from the simgpu state.\n"
                 "  --json        one JSON document instead of text\n"
                 "  --reap        first give back what dead processes held (default)\n"
                 "  --no-reap     show dead processes as they were left, marked dead\n"
                 "  --state PATH  the state file (default: $SIMGPU_STATE, else "
                 "/dev/shm/simgpu.state)\n"
                 "  --help        this text\n"
                 "Exit status: 0 printed, 1 no usable state file, 2 bad arguments.\n");
}

/* Returns 0, 1 for --help (print usage, exit 0), or 2 for a bad argument. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--reap") == 0) {
            o->reap = true;
        } else if (strcmp(a, "--no-reap") == 0) {
            o->reap = false;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else if (strcmp(a, "--state") == 0 && i + 1 < argc && argv[i + 1][0]) {
            o->state = argv[++i];
        } else if (strncmp(a, "--state=", 8) == 0 && a[8]) {
            o->state = a + 8;
        } else {
            fprintf(stderr, "simgpu-stat: %s '%s'\n",
                    strncmp(a, "--state", 7) == 0 ? "--state needs a path:" : "unknown argument",
                    a);
            return 2;
        }
    }
    return 0;
}

/* Refuses a path that is missing or is not an initialised simgpu state, so
 * that mapping it cannot create or initialise one. Returns 0 or 1. */
static int check_state_file(const char *path)
{
    unsigned char head[offsetof(struct simgpu_state, ready) + sizeof(uint32_t)];
    struct stat sb;
    uint64_t magic;
    uint32_t ready;
    ssize_t n;
    int fd, rc = 1;

    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            fprintf(stderr,
                    "simgpu-stat: no simgpu state at %s (nothing has used the simulated GPUs "
                    "there yet; SIMGPU_STATE or --state names the file)\n",
                    path);
        else
            fprintf(stderr, "simgpu-stat: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "simgpu-stat: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    n = read(fd, head, sizeof(head));
    close(fd);
    if (n != (ssize_t)sizeof(head))
        goto cleanup;
    memcpy(&magic, head + offsetof(struct simgpu_state, magic), sizeof(magic));
    memcpy(&ready, head + offsetof(struct simgpu_state, ready), sizeof(ready));
    if (magic == SIMGPU_MAGIC && ready)
        rc = 0;
cleanup:
    if (rc)
        fprintf(stderr, "simgpu-stat: %s is not an initialised simgpu state file\n", path);
    return rc;
}

static void take_snapshot(struct simgpu_state *st, bool reap, struct snapshot *s)
{
    simgpu_lock(st);
    if (reap)
        simgpu_reap(st);
    uint64_t now = vgpu_now_ns();
    vgpu_strlcpy(s->config, st->config, sizeof(s->config));
    s->ngpus = st->ngpus < SIMGPU_MAX_GPUS ? st->ngpus : SIMGPU_MAX_GPUS;
    for (uint32_t i = 0; i < s->ngpus; i++) {
        const struct simgpu_gpu *g = &st->gpu[i];
        struct dev_snap *d = &s->dev[i];
        *d = (struct dev_snap){
            .parent = g->parent,
            .nvml_index = g->nvml_index,
            .mig_enabled = g->mig_enabled,
            .mig_count = g->mig_count,
            .gi_id = g->gi_id,
            .ci_id = g->ci_id,
            .cc_major = g->cc_major,
            .cc_minor = g->cc_minor,
            .mem_used = g->mem_used,
            .mem_total = g->mem_total,
            .busy_ns = simgpu_busy_ns(st, (int)i, -1, now),
            .work_items = g->work_items,
        };
        vgpu_strlcpy(d->name, g->name, sizeof(d->name));
        vgpu_strlcpy(d->uuid, g->uuid, sizeof(d->uuid));
        vgpu_strlcpy(d->pci_bus_id, g->pci_bus_id, sizeof(d->pci_bus_id));
    }
    s->nprocs = 0;
    for (int p = 0; p < SIMGPU_MAX_PROCS; p++) {
        const struct simgpu_proc *pr = &st->proc[p];
        if (!pr->pid)
            continue;
        struct proc_snap *ps = &s->proc[s->nprocs++];
        ps->pid = pr->pid;
        ps->alive = vgpu_proc_alive(pr->pid, pr->start_time);
        vgpu_strlcpy(ps->comm, pr->comm, sizeof(ps->comm));
        for (uint32_t i = 0; i < s->ngpus; i++) {
            ps->mem[i] = pr->mem_used[i];
            ps->busy_ns[i] = simgpu_busy_ns(st, (int)i, p, now);
            ps->launches[i] = pr->launches[i];
            ps->contexts[i] = pr->contexts[i];
        }
    }
    simgpu_unlock(st);
}

static bool proc_uses(const struct proc_snap *p, uint32_t gpu)
{
    return p->mem[gpu] || p->busy_ns[gpu] || p->launches[gpu] || p->contexts[gpu];
}

static void print_text(const char *path, const struct snapshot *s)
{
    char a[32], b[32];

    printf("simgpu state %s (SIMGPU_DEVICES=%s)\n", path, s->config);
    for (uint32_t i = 0; i < s->ngpus; i++) {
        const struct dev_snap *d = &s->dev[i];
        printf("\ndevice %u: %s (compute %d.%d)\n", i, d->name, d->cc_major, d->cc_minor);
        printf("  uuid    %s\n  pci     %s\n", d->uuid, d->pci_bus_id);
        if (d->parent >= 0)
            printf("  mig     instance %d of device %d (gi %d, ci %d)\n", d->nvml_index, d->parent,
                   d->gi_id, d->ci_id);
        else if (d->mig_enabled)
            printf("  nvml    index %d, MIG on with %d instances\n", d->nvml_index, d->mig_count);
        else
            printf("  nvml    index %d\n", d->nvml_index);
        printf("  memory  %s used of %s\n", vgpu_format_size(d->mem_used, a, sizeof(a)),
               vgpu_format_size(d->mem_total, b, sizeof(b)));
        printf("  busy    %.3f s in %llu work items\n", (double)d->busy_ns / 1e9,
               (unsigned long long)d->work_items);
    }
    printf("\n%-8s %-16s %-5s %-6s %12s %10s %5s %10s\n", "PID", "COMM", "STATE", "DEVICE",
           "MEMORY", "BUSY(s)", "CTX", "LAUNCHES");
    if (s->nprocs == 0)
        printf("(no processes)\n");
    for (uint32_t k = 0; k < s->nprocs; k++) {
        const struct proc_snap *p = &s->proc[k];
        bool any = false;
        for (uint32_t i = 0; i < s->ngpus; i++) {
            if (!proc_uses(p, i))
                continue;
            printf("%-8d %-16s %-5s %-6u %12s %10.3f %5u %10llu\n", p->pid, any ? "" : p->comm,
                   any ? "" : (p->alive ? "live" : "dead"), i,
                   vgpu_format_size(p->mem[i], a, sizeof(a)), (double)p->busy_ns[i] / 1e9,
                   p->contexts[i], (unsigned long long)p->launches[i]);
            any = true;
        }
        if (!any)
            printf("%-8d %-16s %-5s %-6s\n", p->pid, p->comm, p->alive ? "live" : "dead", "-");
    }
}

/* Builds the JSON document; NULL when jansson runs out of memory. */
static json_t *to_json(const char *path, const struct snapshot *s)
{
    json_t *root = json_pack("{s:s, s:s, s:[], s:[]}", "state", path, "config", s->config,
                             "devices", "processes");
    json_t *devices = root ? json_object_get(root, "devices") : NULL;
    json_t *procs = root ? json_object_get(root, "processes") : NULL;
    bool ok = root != NULL;

    for (uint32_t i = 0; ok && i < s->ngpus; i++) {
        const struct dev_snap *d = &s->dev[i];
        char cc[24];
        snprintf(cc, sizeof(cc), "%d.%d", d->cc_major, d->cc_minor);
        json_t *o = json_pack(
            "{s:I, s:I, s:s, s:s, s:s, s:o, s:b, s:I, s:o, s:o, s:s, s:I, s:I, s:f, s:I}", "index",
            (json_int_t)i, "nvml_index", (json_int_t)d->nvml_index, "name", d->name, "uuid",
            d->uuid, "pci_bus_id", d->pci_bus_id, "parent",
            d->parent >= 0 ? json_integer(d->parent) : json_null(), "mig_enabled",
            d->mig_enabled != 0, "mig_count", (json_int_t)d->mig_count, "gpu_instance_id",
            d->parent >= 0 ? json_integer(d->gi_id) : json_null(), "compute_instance_id",
            d->parent >= 0 ? json_integer(d->ci_id) : json_null(), "compute_capability", cc,
            "memory_used", (json_int_t)d->mem_used, "memory_total", (json_int_t)d->mem_total,
            "busy_s", (double)d->busy_ns / 1e9, "work_items", (json_int_t)d->work_items);
        ok = o && json_array_append_new(devices, o) == 0;
    }
    for (uint32_t k = 0; ok && k < s->nprocs; k++) {
        const struct proc_snap *p = &s->proc[k];
        json_t *per = json_array();
        json_t *o = json_pack("{s:i, s:s, s:b, s:o}", "pid", p->pid, "comm", p->comm, "alive",
                              p->alive, "devices", per);
        ok = o && json_array_append_new(procs, o) == 0;
        for (uint32_t i = 0; ok && i < s->ngpus; i++) {
            if (!proc_uses(p, i))
                continue;
            json_t *u =
                json_pack("{s:I, s:I, s:f, s:I, s:I}", "index", (json_int_t)i, "memory_used",
                          (json_int_t)p->mem[i], "busy_s", (double)p->busy_ns[i] / 1e9, "contexts",
                          (json_int_t)p->contexts[i], "launches", (json_int_t)p->launches[i]);
            ok = u && json_array_append_new(per, u) == 0;
        }
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int main(int argc, char **argv)
{
    struct options opt = {.json = false, .reap = true, .state = NULL};
    struct snapshot *snap = NULL;
    struct simgpu_state *st;
    json_t *doc = NULL;
    char *text = NULL;
    const char *path;
    int rc = parse_args(argc, argv, &opt);

    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc == 2) {
        usage(stderr);
        return 2;
    }
    rc = 1;
    if (opt.state && setenv("SIMGPU_STATE", opt.state, 1) != 0)
        goto cleanup;
    unsetenv("SIMGPU_DEVICES");
    path = simgpu_state_path();
    if (check_state_file(path) != 0)
        goto cleanup;
    st = simgpu_state_get();
    if (!st)
        goto cleanup;
    snap = calloc(1, sizeof(*snap));
    if (!snap) {
        fprintf(stderr, "simgpu-stat: out of memory\n");
        goto cleanup;
    }
    take_snapshot(st, opt.reap, snap);
    if (opt.json) {
        doc = to_json(path, snap);
        text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        if (!text) {
            fprintf(stderr, "simgpu-stat: out of memory building JSON\n");
            goto cleanup;
        }
        puts(text);
    } else {
        print_text(path, snap);
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
cleanup:
    free(text);
    json_decref(doc);
    free(snap);
    return rc;
}
