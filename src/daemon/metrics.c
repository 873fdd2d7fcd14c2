/* metrics: vgpud's figures in the Prometheus text exposition format 0.0.4
 * (GET /metrics, and the "metrics" operation of the control socket).
 *
 * One code path: the text is made from the status document (vgpud_status,
 * the one `vgpu-admin status --json` and the JSON API return), so the
 * metrics never disagree with status. Only what status does not carry is
 * read here: each present GPU's memory in use and utilisation, from NVML
 * (vgpu_device_live, which keeps NVML loaded between scrapes).
 *
 * Names follow Prometheus's conventions: base units (_bytes, _seconds, a
 * _ratio for 0-1), _total on counters, labels gpu (the UUID as NVML spells
 * it), pool and tenant; prom.c does the format and its escaping. The format
 * wants the samples of a family together, so the families are three tables
 * (GPUs, pools, tenants) walked family by family, each entry a function that
 * writes the samples of one GPU, pool or tenant. The scheduler and the
 * tenants' accounts key GPUs by UUID without the "GPU-"/"MIG-" prefix; their
 * keys are turned back into the store's UUID, so that a GPU has one label
 * value in every family. A tenant's per-GPU counters cover every GPU of its
 * pool from the start, at 0 until used, so that rate() sees them begin.
 * docs/METRICS.md lists every family. */
#include "daemon.h"

#include "device.h"
#include "prom.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct vgpud_prom_label label_t;

#define MAX_BOUNDS 64 /* histogram bounds taken from status (the scheduler has 19) */

/* A GPU as the store and the scheduler know it, with NVML's live figures. */
struct gpu_row {
    const char *uuid;    /* the label */
    const json_t *gpu;   /* the store's entry; NULL for a GPU only the scheduler knows */
    const json_t *sched; /* the scheduler's entry; NULL when it has none */
    struct vgpu_gpu_live live;
    bool has_live;
};

struct ctx {
    struct vgpud_prom p;
    json_t *status;
    const json_t *gpus, *pools, *tenants, *sched_gpus;
    struct gpu_row *rows;
    size_t nrows;
    double bounds[MAX_BOUNDS];
    size_t nbounds;
};

/* ---- helpers -------------------------------------------------------------------------- */

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key)); /* 0 when absent or not a number */
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The UUID without "GPU-"/"MIG-": how the scheduler and the accounts key a GPU. */
static const char *bare(const char *uuid)
{
    return strncmp(uuid, "GPU-", 4) == 0 || strncmp(uuid, "MIG-", 4) == 0 ? uuid + 4 : uuid;
}

/* The store's UUID of the GPU the scheduler or an account calls `key`
 * (`key` itself when the store does not know it). */
static const char *gpu_label(const struct ctx *c, const char *key)
{
    size_t i;
    const json_t *g;
    json_array_foreach(c->gpus, i, g)
    {
        const char *u = str(g, "uuid");
        if (strcmp(bare(u), bare(key)) == 0)
            return u;
    }
    return key;
}

/* base + one more label, into l (VGPUD_PROM_MAX_LABELS entries); the count. */
static size_t with(label_t *l, const label_t *base, size_t n, const char *name, const char *value)
{
    memcpy(l, base, n * sizeof(*l));
    l[n] = (label_t){name, value};
    return n + 1;
}

/* ---- the daemon --------------------------------------------------------------------------- */

static void daemon_families(struct ctx *c)
{
    struct vgpud_prom *p = &c->p;
    const json_t *daemon = json_object_get(c->status, "daemon");
    const json_t *sched = json_object_get(c->status, "scheduler");
    const json_t *weights = json_object_get(c->status, "weights");
    double uptime = num(daemon, "uptime_s");
    /* Wall-clock time less uptime, taken once: a value that moved by a few
     * microseconds at every scrape would read as a restart to changes(). */
    static double started;
    if (started == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        started = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - uptime;
    }

    vgpud_prom_family(p, "vgpu_build_info", "gauge", "vgpud's version, as the value 1.");
    vgpud_prom_sample(p, "", &(label_t){"version", str(daemon, "version")}, 1, 1);
    vgpud_prom_family(p, "vgpu_uptime_seconds", "gauge", "Seconds since vgpud started.");
    vgpud_prom_sample(p, "", NULL, 0, uptime);
    vgpud_prom_family(p, "process_start_time_seconds", "gauge",
                      "When vgpud started, in seconds since the Unix epoch.");
    vgpud_prom_sample(p, "", NULL, 0, started);
    vgpud_prom_family(p, "vgpu_clients", "gauge",
                      "Processes attached to a tenant through the control socket.");
    vgpud_prom_sample(p, "", NULL, 0,
                      (double)json_array_size(json_object_get(c->status, "clients")));
    vgpud_prom_family(p, "vgpu_connections", "gauge", "Open connections to the control socket.");
    vgpud_prom_sample(p, "", NULL, 0, num(daemon, "connections"));
    vgpud_prom_family(p, "vgpu_scheduler_quantum_seconds", "gauge",
                      "How long a lease lasts while others wait for the GPU.");
    vgpud_prom_sample(p, "", NULL, 0, num(sched, "quantum_ms") / 1e3);
    vgpud_prom_family(p, "vgpu_scheduler_cap_window_seconds", "gauge",
                      "The window over which a tenant's share cap is measured.");
    vgpud_prom_sample(p, "", NULL, 0, num(sched, "cap_window_ms") / 1e3);
    vgpud_prom_family(p, "vgpu_scheduler_priority_weight", "gauge",
                      "The weight of each priority class in sharing GPU time.");
    static const char *const classes[] = {"high", "medium", "low"};
    for (size_t i = 0; i < 3; i++)
        if (json_is_number(json_object_get(weights, classes[i])))
            vgpud_prom_sample(p, "", &(label_t){"priority", classes[i]}, 1,
                              num(weights, classes[i]));
}

/* ---- GPUs ------------------------------------------------------------------------------- */

static void gpu_info(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (!r->gpu)
        return;
    const char *parent = json_string_value(json_object_get(r->gpu, "parent"));
    label_t l[] = {base[0],
                   {"name", str(r->gpu, "name")},
                   {"pci_bus_id", str(r->gpu, "pci_bus_id")},
                   {"parent", parent ? parent : ""},
                   {"state", str(r->gpu, "state")}};
    vgpud_prom_sample(&c->p, "", l, sizeof(l) / sizeof(l[0]), 1);
}

static void gpu_pools(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    label_t l[VGPUD_PROM_MAX_LABELS];
    size_t i;
    const json_t *pool;
    json_array_foreach(json_object_get(r->gpu, "pools"), i, pool)
        vgpud_prom_sample(&c->p, "", l, with(l, base, n, "pool", json_string_value(pool)), 1);
}

static void gpu_mem_total(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->has_live)
        vgpud_prom_sample(&c->p, "", base, n, (double)r->live.mem_total);
    else if (r->gpu)
        vgpud_prom_sample(&c->p, "", base, n, num(r->gpu, "memory_total"));
}

static void gpu_mem_used(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->has_live)
        vgpud_prom_sample(&c->p, "", base, n, (double)r->live.mem_used);
}

static void gpu_util(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->has_live && r->live.has_utilization)
        vgpud_prom_sample(&c->p, "", base, n, r->live.utilization);
}

static void gpu_handoffs(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->sched)
        vgpud_prom_sample(&c->p, "", base, n, num(r->sched, "handoffs"));
}

static void gpu_idle(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->sched)
        vgpud_prom_sample(&c->p, "", base, n, num(r->sched, "idle_s"));
}

static void gpu_waiting(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->sched)
        vgpud_prom_sample(&c->p, "", base, n, num(r->sched, "waiting"));
}

static void gpu_held(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n)
{
    if (r->sched)
        vgpud_prom_sample(&c->p, "", base, n, json_is_object(json_object_get(r->sched, "holder")));
}

struct family {
    const char *name, *type, *help;
    void (*gpu)(struct ctx *c, const struct gpu_row *r, const label_t *base, size_t n);
    void (*tenant)(struct ctx *c, const json_t *t, const label_t *base, size_t n);
    void (*pool)(struct ctx *c, const json_t *pool, const label_t *base, size_t n);
};

static const struct family gpu_families[] = {
    {"vgpu_gpu_info", "gauge",
     "A GPU or MIG instance vgpud knows (state present or missing), as the value 1.",
     .gpu = gpu_info},
    {"vgpu_gpu_pool_info", "gauge", "A pool the GPU serves, as the value 1 (one per pool).",
     .gpu = gpu_pools},
    {"vgpu_gpu_memory_total_bytes", "gauge", "The GPU's memory.", .gpu = gpu_mem_total},
    {"vgpu_gpu_memory_used_bytes", "gauge",
     "Memory in use on the GPU by every process, as NVML reports it.", .gpu = gpu_mem_used},
    {"vgpu_gpu_utilization_ratio", "gauge",
     "The part of NVML's last sample period in which a kernel ran (0-1; none for MIG).",
     .gpu = gpu_util},
    {"vgpu_gpu_handoffs_total", "counter", "Leases of the GPU granted (hand-offs).",
     .gpu = gpu_handoffs},
    {"vgpu_gpu_idle_seconds_total", "counter", "Time the GPU's lease was held by nobody.",
     .gpu = gpu_idle},
    {"vgpu_gpu_lease_waiting", "gauge", "Clients waiting for the GPU's lease.", .gpu = gpu_waiting},
    {"vgpu_gpu_lease_held", "gauge", "1 while a client holds the GPU's lease, else 0.",
     .gpu = gpu_held},
};

/* The GPUs: the store's, then any only the scheduler knows (a standalone
 * tenant's), each with its scheduler entry and, when present, NVML's figures. */
static int gpu_rows(struct ctx *c)
{
    size_t i, k;
    const json_t *g, *s;
    c->rows =
        calloc(json_array_size(c->gpus) + json_array_size(c->sched_gpus) + 1, sizeof(*c->rows));
    if (!c->rows)
        return -1;
    json_array_foreach(c->gpus, i, g)
    {
        struct gpu_row *r = &c->rows[c->nrows++];
        r->gpu = g;
        r->uuid = str(g, "uuid");
        if (strcmp(str(g, "state"), "present") == 0)
            r->has_live = vgpu_device_live(r->uuid, &r->live) == 0;
    }
    json_array_foreach(c->sched_gpus, k, s)
    {
        const char *key = str(s, "uuid");
        struct gpu_row *r = NULL;
        for (i = 0; i < c->nrows && !r; i++)
            if (c->rows[i].gpu && strcmp(bare(c->rows[i].uuid), bare(key)) == 0)
                r = &c->rows[i];
        if (!r) {
            r = &c->rows[c->nrows++];
            r->uuid = key;
        }
        r->sched = s;
    }
    return 0;
}

/* ---- pools ------------------------------------------------------------------------------ */

static void pool_tenants(struct ctx *c, const json_t *pool, const label_t *base, size_t n)
{
    vgpud_prom_sample(&c->p, "", base, n, num(pool, "tenants"));
}

static void pool_gpus(struct ctx *c, const json_t *pool, const label_t *base, size_t n)
{
    vgpud_prom_sample(&c->p, "", base, n, (double)json_array_size(json_object_get(pool, "gpus")));
}

static const struct family pool_families[] = {
    {"vgpu_pool_tenants", "gauge", "Tenants in the pool.", .pool = pool_tenants},
    {"vgpu_pool_gpus", "gauge", "GPUs serving the pool.", .pool = pool_gpus},
};

/* ---- tenants ---------------------------------------------------------------------------- */

static const json_t *pool_named(const struct ctx *c, const char *name)
{
    size_t i;
    const json_t *p;
    json_array_foreach(c->pools, i, p) if (strcmp(str(p, "name"), name) == 0) return p;
    return NULL;
}

/* A per-GPU figure: one sample per GPU of the tenant's pool (0 where
 * `by_gpu` has nothing for it), then one per GPU that `by_gpu` names beyond
 * those (used before the tenant moved pools). `field` picks the number out
 * of an entry that is an object. */
static void per_gpu(struct ctx *c, const json_t *t, const label_t *base, size_t n,
                    const char *by_key, const char *field)
{
    const json_t *by_gpu = json_object_get(t, by_key), *g, *v;
    const json_t *pool_list = json_object_get(pool_named(c, str(t, "pool")), "gpus");
    label_t l[VGPUD_PROM_MAX_LABELS];
    const char *key;
    size_t i, m = with(l, base, n, "gpu", NULL);
    json_array_foreach(pool_list, i, g)
    {
        const char *uuid = json_string_value(g);
        if (!uuid)
            continue;
        v = json_object_get(by_gpu, bare(uuid));
        l[n].value = uuid;
        vgpud_prom_sample(&c->p, "", l, m,
                          json_number_value(field ? json_object_get(v, field) : v));
    }
    json_object_foreach((json_t *)by_gpu, key, v)
    {
        bool in_pool = false;
        json_array_foreach(pool_list, i, g) in_pool |=
            json_is_string(g) && strcmp(bare(json_string_value(g)), key) == 0;
        if (in_pool)
            continue;
        l[n].value = gpu_label(c, key);
        vgpud_prom_sample(&c->p, "", l, m,
                          json_number_value(field ? json_object_get(v, field) : v));
    }
}

static void t_info(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    char vm[24] = "";
    label_t l[VGPUD_PROM_MAX_LABELS];
    if (json_is_integer(json_object_get(t, "vm_id")))
        snprintf(vm, sizeof(vm), "%lld",
                 (long long)json_integer_value(json_object_get(t, "vm_id")));
    with(l, base, n, "priority", str(t, "priority"));
    l[n + 1] = (label_t){"vm_id", vm};
    vgpud_prom_sample(&c->p, "", l, n + 2, 1);
}

static void t_state(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    static const char *const states[] = {"active", "quarantined"};
    label_t l[VGPUD_PROM_MAX_LABELS];
    for (size_t i = 0; i < 2; i++)
        vgpud_prom_sample(&c->p, "", l, with(l, base, n, "state", states[i]),
                          strcmp(str(t, "state"), states[i]) == 0);
}

static void t_mem_limit(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    if (num(t, "memory") > 0)
        vgpud_prom_sample(&c->p, "", base, n, num(t, "memory"));
}

static void t_mem_used(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    per_gpu(c, t, base, n, "memory_used_by_gpu", NULL);
}

static void t_share(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    double share = num(t, "share");
    vgpud_prom_sample(&c->p, "", base, n, share > 0 && share < 100 ? share / 100 : 1.0);
}

static void t_gpu_time(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    per_gpu(c, t, base, n, "gpu_time_by_gpu", "gpu_time_s");
}

static void t_handoffs(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    per_gpu(c, t, base, n, "gpu_time_by_gpu", "grants");
}

static void t_preempted(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    per_gpu(c, t, base, n, "gpu_time_by_gpu", "preempted");
}

static void histogram(struct ctx *c, const json_t *h, const label_t *base, size_t n)
{
    const json_t *list = json_object_get(h, "buckets");
    uint64_t b[MAX_BOUNDS + 1];
    if (json_array_size(list) != c->nbounds + 1)
        return; /* not the shape the bounds describe: nothing rather than a wrong histogram */
    for (size_t i = 0; i <= c->nbounds; i++)
        b[i] = (uint64_t)json_integer_value(json_array_get(list, i));
    vgpud_prom_histogram(&c->p, base, n, c->bounds, c->nbounds, b, num(h, "sum_s"));
}

static void t_lease_wait(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    histogram(c, json_object_get(t, "lease_wait"), base, n);
}

static void t_latency(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    histogram(c, json_object_get(t, "request_latency"), base, n);
}

/* A plain number of the tenant's status entry: the family's `key`. */
#define T_NUMBER(fn, key)                                                                          \
    static void fn(struct ctx *c, const json_t *t, const label_t *base, size_t n)                  \
    {                                                                                              \
        vgpud_prom_sample(&c->p, "", base, n, num(t, key));                                        \
    }
T_NUMBER(t_queue, "queue_depth")
T_NUMBER(t_inflight, "inflight")
T_NUMBER(t_rate_limited, "rate_limit_waits")
T_NUMBER(t_watchdog, "watchdog_events")

static void t_procs(struct ctx *c, const json_t *t, const label_t *base, size_t n)
{
    vgpud_prom_sample(&c->p, "", base, n, (double)json_array_size(json_object_get(t, "processes")));
}

static const struct family tenant_families[] = {
    {"vgpu_tenant_info", "gauge", "A tenant, its priority class and vm-id, as the value 1.",
     .tenant = t_info},
    {"vgpu_tenant_state", "gauge", "1 for the tenant's state (active or quarantined), else 0.",
     .tenant = t_state},
    {"vgpu_tenant_memory_limit_bytes", "gauge",
     "The tenant's memory limit on each GPU of its pool; absent when it has none.",
     .tenant = t_mem_limit},
    {"vgpu_tenant_memory_used_bytes", "gauge", "Memory the tenant's processes hold on the GPU.",
     .tenant = t_mem_used},
    {"vgpu_tenant_share_limit_ratio", "gauge",
     "The tenant's cap on GPU time, a part of each GPU (1: no cap).", .tenant = t_share},
    {"vgpu_tenant_gpu_seconds_total", "counter",
     "GPU time the tenant held the GPU's lease, draining included.", .tenant = t_gpu_time},
    {"vgpu_tenant_handoffs_total", "counter", "Leases of the GPU granted to the tenant.",
     .tenant = t_handoffs},
    {"vgpu_tenant_preemptions_total", "counter",
     "The tenant's leases of the GPU ended early for a higher priority class.",
     .tenant = t_preempted},
    {"vgpu_tenant_lease_wait_seconds", "histogram",
     "How long the tenant's clients waited to be granted a GPU's lease.", .tenant = t_lease_wait},
    {"vgpu_tenant_request_latency_seconds", "histogram",
     "How long a GPU operation waited at the gate (lease, rate limit, in-flight limit); "
     "observed while the GPU is shared or the tenant has a limit.",
     .tenant = t_latency},
    {"vgpu_tenant_queue_depth", "gauge", "The tenant's clients waiting for a GPU's lease.",
     .tenant = t_queue},
    {"vgpu_tenant_inflight_operations", "gauge",
     "GPU operations of the tenant submitted and not yet seen done.", .tenant = t_inflight},
    {"vgpu_tenant_rate_limited_total", "counter",
     "GPU operations of the tenant that waited for its rate limit.", .tenant = t_rate_limited},
    {"vgpu_tenant_watchdog_events_total", "counter",
     "Times the tenant held a GPU past its quantum and grace while others waited.",
     .tenant = t_watchdog},
    {"vgpu_tenant_processes", "gauge", "Live processes of the tenant.", .tenant = t_procs},
};

/* ---- the document ---------------------------------------------------------------------- */

static void walk(struct ctx *c)
{
    size_t i, k;
    const json_t *o;
    daemon_families(c);
    for (k = 0; k < sizeof(gpu_families) / sizeof(gpu_families[0]); k++) {
        const struct family *f = &gpu_families[k];
        vgpud_prom_family(&c->p, f->name, f->type, f->help);
        for (i = 0; i < c->nrows; i++)
            f->gpu(c, &c->rows[i], &(label_t){"gpu", c->rows[i].uuid}, 1);
    }
    for (k = 0; k < sizeof(pool_families) / sizeof(pool_families[0]); k++) {
        const struct family *f = &pool_families[k];
        vgpud_prom_family(&c->p, f->name, f->type, f->help);
        json_array_foreach(c->pools, i, o) f->pool(c, o, &(label_t){"pool", str(o, "name")}, 1);
    }
    for (k = 0; k < sizeof(tenant_families) / sizeof(tenant_families[0]); k++) {
        const struct family *f = &tenant_families[k];
        vgpud_prom_family(&c->p, f->name, f->type, f->help);
        json_array_foreach(c->tenants, i, o)
        {
            label_t base[] = {{"tenant", str(o, "name")}, {"pool", str(o, "pool")}};
            f->tenant(c, o, base, 2);
        }
    }
}

char *vgpud_metrics_text(struct vgpud *d)
{
    struct ctx c = {.status = vgpud_status(d, false)};
    const json_t *sched = json_object_get(c.status, "scheduler"), *b;
    char *text = NULL;
    size_t i;
    if (!c.status || vgpud_prom_init(&c.p) != 0)
        goto out;
    c.gpus = json_object_get(c.status, "gpus");
    c.pools = json_object_get(c.status, "pools");
    c.tenants = json_object_get(c.status, "tenants");
    c.sched_gpus = json_object_get(sched, "gpus");
    json_array_foreach(json_object_get(sched, "wait_buckets_s"), i, b)
    {
        if (c.nbounds < MAX_BOUNDS)
            c.bounds[c.nbounds++] = json_number_value(b);
    }
    if (gpu_rows(&c) == 0)
        walk(&c);
    text = vgpud_prom_finish(&c.p);
    if (!c.rows) { /* out of memory: no partial document */
        free(text);
        text = NULL;
    }
out:
    free(c.rows);
    json_decref(c.status);
    return text;
}
