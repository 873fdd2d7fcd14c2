/* live: the live figures that status and the tenant listings carry, and
 * vgpud's mappings of the tenants' accounts.
 *
 * A tenant's live figures come from two shared-memory structures: its
 * account (memory in use per GPU, its processes; src/hook/account.h) and the
 * scheduler's region (GPU time, grants, waits, queue, in-flight work, the
 * wait histograms; src/sched). status lists every tenant, so the costs are
 * per request, not per tenant: one pass over the scheduler's tenant slots
 * makes a name -> slot index and one pass over its clients counts each
 * tenant's work in flight; the accounts stay mapped between requests (a
 * table name -> mapping, filled on first use, refreshed whenever vgpud
 * writes a tenant's limits, dropped with the tenant), so a request touches
 * memory, not shm_open and mmap a thousand times. (With 1000 tenants the
 * per-tenant mappings and slot searches made status take 170 ms.) */
#include "daemon.h"

#include "account.h"
#include "common.h"
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

/* ---- the accounts' mappings ------------------------------------------------------------ */

/* d->acct_index maps a tenant name to an index into d->accts. */
struct vgpu_acct *vgpud_acct(struct vgpud *d, const char *name, bool create)
{
    if (!name)
        return NULL;
    if (!d->acct_index && !(d->acct_index = json_object()))
        return NULL;
    json_t *at = json_object_get(d->acct_index, name);
    size_t i = at ? (size_t)json_integer_value(at) : d->naccts;
    if (at && !create)
        return d->accts[i];
    struct vgpu_acct *a = create ? vgpu_acct_open(name) : vgpu_acct_map_existing(name);
    if (!a)
        return at ? d->accts[i] : NULL;
    if (at) { /* written again: the mapping of what is there now */
        vgpu_acct_unmap(d->accts[i]);
        d->accts[i] = a;
        return a;
    }
    if (d->naccts == d->cap_accts) {
        size_t cap = d->cap_accts ? 2 * d->cap_accts : 64;
        struct vgpu_acct **more = realloc(d->accts, cap * sizeof(*more));
        if (!more) {
            vgpu_acct_unmap(a);
            return NULL;
        }
        d->accts = more;
        d->cap_accts = cap;
    }
    if (json_object_set_new(d->acct_index, name, json_integer((json_int_t)d->naccts)) != 0) {
        vgpu_acct_unmap(a);
        return NULL;
    }
    d->accts[d->naccts++] = a;
    return a;
}

void vgpud_acct_forget(struct vgpud *d, const char *name)
{
    json_t *at = d->acct_index ? json_object_get(d->acct_index, name) : NULL;
    if (!at)
        return;
    size_t i = (size_t)json_integer_value(at), last = d->naccts - 1;
    vgpu_acct_unmap(d->accts[i]);
    json_object_del(d->acct_index, name);
    if (i != last) { /* the last one takes the freed place */
        const char *key;
        json_t *v;
        d->accts[i] = d->accts[last];
        json_object_foreach(d->acct_index, key, v) if ((size_t)json_integer_value(v) == last)
        {
            json_integer_set(v, (json_int_t)i);
            break;
        }
    }
    d->naccts--;
}

void vgpud_acct_close(struct vgpud *d)
{
    for (size_t i = 0; i < d->naccts; i++)
        vgpu_acct_unmap(d->accts[i]);
    free(d->accts);
    json_decref(d->acct_index);
    d->accts = NULL;
    d->acct_index = NULL;
    d->naccts = d->cap_accts = 0;
}

/* ---- the scheduler's figures ------------------------------------------------------------ */

/* What one request needs from the scheduler's region, gathered once. */
struct sched_index {
    json_t *slot;                          /* tenant name -> slot */
    uint32_t inflight[VGPU_SCHED_TENANTS]; /* tracked work of each tenant's live clients */
};

static void index_sched(struct vgpu_sched *s, struct sched_index *x)
{
    memset(x->inflight, 0, sizeof(x->inflight));
    x->slot = json_object();
    for (int t = 0; s && t < VGPU_SCHED_TENANTS; t++) {
        char name[sizeof(s->tenant[t].name) + 1];
        memcpy(name, s->tenant[t].name, sizeof(s->tenant[t].name));
        name[sizeof(s->tenant[t].name)] = '\0';
        if (name[0])
            json_object_set_new(x->slot, name, json_integer(t));
    }
    for (int c = 0; s && c < VGPU_SCHED_CLIENTS; c++) {
        int32_t t = s->client[c].tenant;
        if (atomic_load_explicit(&s->client[c].pid, memory_order_relaxed) > 0 && t >= 0 &&
            t < VGPU_SCHED_TENANTS)
            x->inflight[t] += atomic_load_explicit(&s->client[c].inflight, memory_order_relaxed);
    }
}

/* A wait histogram as JSON: count, sum, p50/p95/p99 in milliseconds (null
 * without observations) and the buckets as they are (not cumulative; their
 * upper bounds are the scheduler section's wait_buckets_s, the last one
 * above them all). */
static json_t *hist_json(const struct vgpu_sched_hist *h, bool brief)
{
    uint64_t b[VGPU_SCHED_HIST], sum = 0;
    uint64_t n = h ? vgpu_sched_hist_read(h, b, &sum) : 0;
    json_t *buckets = json_array(), *o = json_object();
    for (int i = 0; i < VGPU_SCHED_HIST; i++)
        json_array_append_new(buckets, json_integer(h ? (json_int_t)b[i] : 0));
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    json_object_set_new(o, "sum_s", json_real((double)sum / 1e9));
    static const struct {
        const char *key;
        double q;
    } qs[] = {{"p50_ms", 0.50}, {"p95_ms", 0.95}, {"p99_ms", 0.99}};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        json_object_set_new(o, qs[i].key,
                            n ? json_real(vgpu_sched_hist_quantile(b, qs[i].q) * 1e3) : json_null());
    if (brief)
        json_decref(buckets);
    else
        json_object_set_new(o, "buckets", buckets);
    return o;
}

/* A tenant's GPU time from the scheduler: per GPU (by UUID) the lease time
 * held (the running lease included), grants, time its processes waited and
 * leases cut short for a higher class; and the totals, its queue (clients
 * waiting for a lease), its work in flight and its wait histograms. */
static void add_gpu_time(struct vgpud *d, const struct sched_index *x, json_t *tenant, bool brief)
{
    const char *name = json_string_value(json_object_get(tenant, "name"));
    json_t *by_gpu = json_object();
    uint64_t total = 0, handoffs = 0, preempted = 0;
    json_int_t wd = 0, rl = 0, queue = 0, inflight = 0;
    const struct vgpu_sched_tstats *st = NULL;
    struct vgpu_sched *s = d->sched;
    json_t *slot = s && name ? json_object_get(x->slot, name) : NULL;
    if (slot) {
        int t = (int)json_integer_value(slot);
        wd = (json_int_t)atomic_load(&s->tenant[t].watchdog);
        rl = (json_int_t)atomic_load(&s->tenant[t].rl_waits);
        queue = (json_int_t)vgpu_sched_queue_depth(s, t);
        inflight = (json_int_t)x->inflight[t];
        st = &s->stats[t];
        uint32_t n = atomic_load(&s->ngpus);
        uint64_t now = vgpu_now_ns();
        for (uint32_t g = 0; g < n && g < VGPU_SCHED_GPUS; g++) {
            struct vgpu_sched_usage *u = &s->tenant[t].use[g];
            uint64_t ns = vgpu_sched_gpu_time(s, t, (int)g, now), grants = atomic_load(&u->grants);
            if (!ns && !grants)
                continue;
            handoffs += grants;
            preempted += atomic_load(&u->preempted);
            char uuid[64];
            snprintf(uuid, sizeof(uuid), "%.48s", s->gpu[g].uuid);
            total += ns;
            json_object_set_new(by_gpu, uuid,
                                json_pack("{s:f, s:I, s:f, s:I}", "gpu_time_s", (double)ns / 1e9,
                                          "grants", (json_int_t)grants, "wait_s",
                                          (double)atomic_load(&u->wait_ns) / 1e9, "preempted",
                                          (json_int_t)atomic_load(&u->preempted)));
        }
    }
    json_object_set_new(tenant, "gpu_time_s", json_real((double)total / 1e9));
    json_object_set_new(tenant, "watchdog_events", json_integer(wd));
    json_object_set_new(tenant, "rate_limit_waits", json_integer(rl));
    if (brief)
        json_decref(by_gpu);
    else
        json_object_set_new(tenant, "gpu_time_by_gpu", by_gpu);
    json_object_set_new(tenant, "grants", json_integer((json_int_t)handoffs));
    json_object_set_new(tenant, "preempted", json_integer((json_int_t)preempted));
    json_object_set_new(tenant, "queue_depth", json_integer(queue));
    json_object_set_new(tenant, "inflight", json_integer(inflight));
    json_object_set_new(tenant, "lease_wait", hist_json(st ? &st->lease_wait : NULL, brief));
    json_object_set_new(tenant, "request_latency", hist_json(st ? &st->request : NULL, brief));
}

/* Live figures of a tenant from its account: memory in use per GPU, processes. */
static void add_account(struct vgpud *d, json_t *tenant, bool brief)
{
    const char *name = json_string_value(json_object_get(tenant, "name"));
    struct vgpu_acct *a = vgpud_acct(d, name, false);
    json_t *used = json_object(), *procs = json_array();
    uint64_t total = 0;
    if (a) {
        uint32_t n = atomic_load(&a->ndevs);
        for (uint32_t i = 0; i < n && i < VGPU_ACCT_DEVS; i++) {
            uint64_t u = atomic_load(&a->dev[i].used);
            total += u;
            json_object_set_new(used, a->dev[i].uuid, json_integer((json_int_t)u));
        }
        for (int i = 0; i < VGPU_ACCT_PROCS; i++) {
            int32_t pid = atomic_load(&a->proc[i].pid);
            if (pid > 0 && vgpu_proc_alive(pid, a->proc[i].start_time))
                json_array_append_new(procs, json_integer(pid));
        }
    }
    json_object_set_new(tenant, "memory_used", json_integer((json_int_t)total));
    if (brief)
        json_decref(used);
    else
        json_object_set_new(tenant, "memory_used_by_gpu", used);
    json_object_set_new(tenant, "processes", procs);
}

void vgpud_add_live(struct vgpud *d, json_t *tenants, bool brief)
{
    static struct sched_index x; /* 4 KiB; vgpud is single-threaded */
    json_t *t;
    size_t i;
    index_sched(d->sched, &x);
    json_array_foreach(tenants, i, t)
    {
        add_gpu_time(d, &x, t, brief);
        add_account(d, t, brief);
    }
    json_decref(x.slot);
}

/* The scheduler's view of each GPU: who holds its lease, who waits. */
json_t *vgpud_sched_status(struct vgpud *d)
{
    struct vgpu_sched *s = d->sched;
    json_t *gpus = json_array();
    uint64_t now = vgpu_now_ns();
    uint32_t n = s ? atomic_load(&s->ngpus) : 0;
    for (uint32_t g = 0; g < n && g < VGPU_SCHED_GPUS; g++) {
        struct vgpu_sched_gpu *G = &s->gpu[g];
        uint64_t w = atomic_load(&G->lease);
        int c = (int)(w & VGPU_LEASE_CLIENT) - 1;
        uint32_t t = G->holder_tenant;
        char uuid[64];
        json_t *holder = json_null();
        snprintf(uuid, sizeof(uuid), "%.48s", G->uuid);
        if (c >= 0 && c < VGPU_SCHED_CLIENTS && t < VGPU_SCHED_TENANTS)
            holder = json_pack("{s:s%, s:i, s:f}", "tenant", s->tenant[t].name,
                               strnlen(s->tenant[t].name, sizeof(s->tenant[t].name)), "pid",
                               (int)atomic_load(&s->client[c].pid), "held_s",
                               now > G->granted_ns ? (double)(now - G->granted_ns) / 1e9 : 0.0);
        json_array_append_new(gpus, json_pack("{s:s, s:o, s:i, s:I, s:f}", "uuid", uuid, "holder",
                                              holder, "waiting", (int)G->nwaiting, "handoffs",
                                              (json_int_t)atomic_load(&G->handoffs), "idle_s",
                                              (double)atomic_load(&G->idle_ns) / 1e9));
    }
    json_t *bounds = json_array();
    for (int i = 0; i < VGPU_SCHED_HIST - 1; i++)
        json_array_append_new(bounds, json_real((double)vgpu_sched_hist_le_ns[i] / 1e9));
    return json_pack("{s:f, s:f, s:o, s:o}", "quantum_ms",
                     s ? (double)atomic_load(&s->quantum_ns) / 1e6 : 0.0, "cap_window_ms",
                     s ? (double)atomic_load(&s->window_ns) / 1e6 : 0.0, "gpus", gpus,
                     "wait_buckets_s", bounds);
}

