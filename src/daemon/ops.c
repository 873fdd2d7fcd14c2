/* ops: what vgpud does for each request.
 *
 * One table maps an operation name to its handler and whether it needs an
 * admin (root or the vgpu group). Mutations go to the store, which validates
 * everything first and writes in one transaction; then the affected tenants'
 * accounts get their limits (accounts are keyed by GPU UUID, as libvgpu.so
 * keys them), so a running process sees a new limit on its next allocation.
 * Reads return the store's JSON, with live figures from the accounts (memory
 * in use per GPU, attached processes) where status asks for them; the status
 * document is built by vgpud_status, which the metrics (metrics.c) read too. */
#include "daemon.h"

#include "account.h"
#include "scheduler.h"
#include "common.h"
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef json_t *(*op_fn)(struct vgpud *d, struct vgpu_peer *peer, const json_t *args);

static json_t *failed(const struct vgpu_err *e)
{
    return vgpu_proto_error(e->code[0] ? e->code : "internal", "%s", e->msg);
}

/* ---- accounts -------------------------------------------------------------------- */

static const char *uuid_hex(const char *uuid)
{
    return strncmp(uuid, "GPU-", 4) == 0 || strncmp(uuid, "MIG-", 4) == 0 ? uuid + 4 : uuid;
}

static enum vgpu_class class_of(const char *priority)
{
    if (priority && strcmp(priority, "high") == 0)
        return VGPU_CLASS_HIGH;
    if (priority && strcmp(priority, "low") == 0)
        return VGPU_CLASS_LOW;
    return VGPU_CLASS_MEDIUM;
}

/* Writes one tenant's scheduling policy into the scheduler (managed: its
 * processes keep it whatever their environment says). */
static void apply_policy(struct vgpud *d, const json_t *tenant)
{
    const char *name = json_string_value(json_object_get(tenant, "name"));
    const char *state = json_string_value(json_object_get(tenant, "state"));
    struct vgpu_sched_policy p = {
        .klass = class_of(json_string_value(json_object_get(tenant, "priority"))),
        .share = (uint32_t)json_integer_value(json_object_get(tenant, "share")),
        .max_inflight = (uint32_t)json_integer_value(json_object_get(tenant, "max_inflight")),
        .rate = (uint32_t)json_integer_value(json_object_get(tenant, "rate")),
        .burst = (uint32_t)json_integer_value(json_object_get(tenant, "burst")),
        .quarantined = state && strcmp(state, "quarantined") == 0,
    };
    if (d->sched && name && vgpu_sched_tenant(d->sched, name, &p, true) < 0)
        vgpu_warn("tenant %s: the scheduler has no room for it", name);
}

static void apply_weights(struct vgpud *d)
{
    static const char *const names[3] = {"low", "medium", "high"};
    json_t *w = vgpu_store_weights(d->store);
    for (int k = 0; d->sched && w && k < 3; k++) {
        json_int_t v = json_integer_value(json_object_get(w, names[k]));
        if (v >= 1)
            atomic_store(&d->sched->weight[k], (uint32_t)v);
    }
    if (d->sched)
        atomic_store(&d->sched->managed, 1);
    json_decref(w);
}

/* Writes one tenant's memory limit for every GPU of its pool, and its
 * scheduling policy. */
static void apply_tenant(struct vgpud *d, const json_t *tenant)
{
    const char *name = json_string_value(json_object_get(tenant, "name"));
    const char *pool = json_string_value(json_object_get(tenant, "pool"));
    uint64_t memory = (uint64_t)json_integer_value(json_object_get(tenant, "memory"));
    if (!name || !pool)
        return;
    apply_policy(d, tenant);
    struct vgpu_acct *a = vgpud_acct(d, name, true);
    if (!a)
        return;
    json_t *pools = vgpu_store_pools(d->store), *p;
    size_t i, j;
    json_array_foreach(pools, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), pool) != 0)
            continue;
        json_t *g;
        json_array_foreach(json_object_get(p, "gpus"), j, g)
        {
            if (vgpu_acct_set_limits(a, uuid_hex(json_string_value(g)), memory, 0) < 0)
                vgpu_warn("tenant %s: its account has no room for another GPU", name);
        }
    }
    json_decref(pools);
}

void vgpud_apply_all(struct vgpud *d)
{
    json_t *tenants = vgpu_store_tenants(d->store, NULL), *t;
    size_t i;
    json_array_foreach(tenants, i, t) apply_tenant(d, t);
    json_decref(tenants);
    apply_weights(d);
}

void vgpud_reap_all(struct vgpud *d)
{
    json_t *tenants = vgpu_store_tenants(d->store, NULL), *t;
    size_t i;
    json_array_foreach(tenants, i, t)
    {
        struct vgpu_acct *a = vgpud_acct(d, json_string_value(json_object_get(t, "name")), false);
        if (a)
            vgpu_acct_reap(a);
    }
    json_decref(tenants);
    if (d->sched)
        vgpu_sched_reap(d->sched, vgpu_now_ns());
}

static void apply_named(struct vgpud *d, const json_t *args)
{
    const char *name = json_string_value(json_object_get(args, "name"));
    json_t *t = name ? vgpu_store_tenant(d->store, name) : NULL;
    if (t)
        apply_tenant(d, t);
    json_decref(t);
}

/* ---- handlers ---------------------------------------------------------------------- */

static json_t *op_ping(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    return vgpu_proto_ok(
        json_pack("{s:s, s:i, s:f, s:b}", "version", VGPU_VERSION, "protocol", VGPU_PROTO_VERSION,
                  "uptime_s", (double)(vgpu_now_ns() - d->started_ns) / 1e9, "admin", peer->admin));
}

json_t *vgpud_status(struct vgpud *d, bool brief)
{
    json_t *tenants = vgpu_store_tenants(d->store, NULL);
    vgpud_add_live(d, tenants, brief);
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:f, s:i, s:s, s:s}}", "gpus",
                     vgpu_store_gpus(d->store), "pools", vgpu_store_pools(d->store), "tenants",
                     tenants, "clients", vgpud_clients(d), "weights", vgpu_store_weights(d->store),
                     "scheduler", vgpud_sched_status(d), "daemon", "version", VGPU_VERSION, "uptime_s",
                     (double)(vgpu_now_ns() - d->started_ns) / 1e9, "connections", (int)d->clients,
                     "socket", d->socket_path, "database", d->db_path);
}

static json_t *op_status(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    json_t *brief = json_object_get(args, "brief");
    if (brief && !json_is_boolean(brief))
        return vgpu_proto_error("invalid_argument", "status: \"brief\" is true or false");
    return vgpu_proto_ok(vgpud_status(d, json_is_true(brief)));
}

/* metrics: {text} the Prometheus text of GET /metrics, for clients of the
 * control socket; a text whose reply would not fit one frame (thousands of
 * tenants) is an error that says so. */
static json_t *op_metrics(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    char *text = vgpud_metrics_text(d);
    json_t *r = text ? json_pack("{s:s}", "text", text) : NULL;
    free(text);
    if (!r)
        return vgpu_proto_error("internal", "out of memory building the metrics");
    size_t len = json_dumpb(r, NULL, 0, JSON_COMPACT); /* + {"ok":true,"result":} */
    if (len + 32 > VGPU_PROTO_MAX_BODY) {
        json_decref(r);
        return vgpu_proto_error("too_large",
                                "the metrics (%zu bytes as JSON) do not fit a reply: use "
                                "GET /metrics over HTTP",
                                len);
    }
    return vgpu_proto_ok(r);
}

static json_t *op_gpus(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    return vgpu_proto_ok(vgpu_store_gpus(d->store));
}

static json_t *op_scan(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    struct vgpu_err e = {0};
    if (vgpud_scan(d, &e) != 0)
        return failed(&e);
    vgpud_apply_all(d);
    return vgpu_proto_ok(vgpu_store_gpus(d->store));
}

static json_t *op_pools(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    return vgpu_proto_ok(vgpu_store_pools(d->store));
}

/* A mutation of the store; on success, the affected tenants' accounts. */
#define MUTATION(fn_name, store_call, after)                                                       \
    static json_t *fn_name(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)            \
    {                                                                                              \
        struct vgpu_err e = {0};                                                                   \
        if (store_call != 0)                                                                       \
            return failed(&e);                                                                     \
        after;                                                                                     \
        return vgpu_proto_ok(NULL);                                                                \
    }

/* pool.create {name, gpus}: the pool and its GPUs in one transaction. */
MUTATION(op_pool_create, vgpu_store_pool_create(d->store, args, &e), vgpud_apply_all(d))
MUTATION(op_pool_rm, vgpu_store_pool_rm(d->store, args, &e), (void)0)
MUTATION(op_assign, vgpu_store_assign_gpu(d->store, args, &e), vgpud_apply_all(d))
MUTATION(op_unassign, vgpu_store_unassign_gpu(d->store, args, &e), (void)0)
MUTATION(op_tenant_add, vgpu_store_tenant_add(d->store, args, &e), apply_named(d, args))
/* A tenant's bindings changed: the users granted its account so far may no
 * longer be admitted; those who are get their grant again at their next
 * attach. */
static void bindings_changed(const json_t *args)
{
    const char *name = json_string_value(json_object_get(args, "name"));
    if (name &&
        (json_object_get(args, "bind_uid") || json_object_get(args, "bind_gid") ||
         json_object_get(args, "bind_cgroup")) &&
        vgpu_acct_revoke(name) != 0)
        vgpu_warn("cannot take back the grants on tenant %s's account", name);
}

/* A token was revoked: whoever it admitted loses the accounts it opened (of
 * any tenant: revoking needs no lookup of which one). */
static void revoke_all(struct vgpud *d)
{
    json_t *tenants = vgpu_store_tenants(d->store, NULL), *t;
    size_t i;
    json_array_foreach(tenants, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (vgpu_acct_revoke(name) != 0)
            vgpu_warn("cannot take back the grants on tenant %s's account", name);
    }
    json_decref(tenants);
}

static void remove_account(struct vgpud *d, const json_t *args)
{
    const char *name = json_string_value(json_object_get(args, "name"));
    if (name)
        vgpud_acct_forget(d, name);
    if (name && vgpu_acct_remove(name) != 0)
        vgpu_warn("cannot remove tenant %s's account", name);
}

MUTATION(op_tenant_set, vgpu_store_tenant_set(d->store, args, &e),
         (bindings_changed(args), apply_named(d, args)))
MUTATION(op_tenant_rm, vgpu_store_tenant_rm(d->store, args, &e), remove_account(d, args))
MUTATION(op_quarantine, vgpu_store_tenant_state(d->store, args, "quarantined", &e),
         apply_named(d, args))
MUTATION(op_release, vgpu_store_tenant_state(d->store, args, "active", &e), apply_named(d, args))
MUTATION(op_weights_set, vgpu_store_set_weights(d->store, args, &e), apply_weights(d))

static json_t *op_tenants(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    const char *pool = json_string_value(json_object_get(args, "pool"));
    json_t *tenants = vgpu_store_tenants(d->store, pool);
    vgpud_add_live(d, tenants, false);
    return vgpu_proto_ok(tenants);
}

static json_t *op_tenant_get(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    const char *name = json_string_value(json_object_get(args, "name"));
    json_t *t = name ? vgpu_store_tenant(d->store, name) : NULL;
    if (!t)
        return vgpu_proto_error("not_found", "no tenant '%s'", name ? name : "");
    json_t *one = json_pack("[O]", t);
    vgpud_add_live(d, one, false);
    json_decref(one);
    return vgpu_proto_ok(t);
}

/* The cgroup (v2) of `pid`, "" when unknown. */
static void cgroup_of(pid_t pid, char *out, size_t len)
{
    char path[64], line[600];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    out[0] = '\0';
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            vgpu_strlcpy(out, line + 3, len);
        }
    }
    if (f)
        fclose(f);
}

/* True when `cgroup` is `bound` or below it. */
static bool below(const char *cgroup, const char *bound)
{
    size_t n = strlen(bound);
    return n && strncmp(cgroup, bound, n) == 0 &&
           (cgroup[n] == '\0' || cgroup[n] == '/' || bound[n - 1] == '/');
}

/* client.attach {tenant?, token?}: a process (libvgpu.so) joins a tenant.
 * Which one is decided by an admin-issued token, or by what the kernel says
 * about the peer (uid, groups, cgroup), never by the request alone: a named
 * tenant must be bound to the peer's uid, one of its groups or its cgroup, unless the peer is an
 * admin (vgpu-run --tenant T as root). */
static json_t *op_attach(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    const char *want = json_string_value(json_object_get(args, "tenant"));
    const char *token = json_string_value(json_object_get(args, "token"));
    char cgroup[512];
    gid_t groups[64];
    long gids[64];
    int ngids = vgpud_peer_groups(peer, groups, 64);
    json_t *t;
    cgroup_of(peer->pid, cgroup, sizeof(cgroup));
    for (int i = 0; i < ngids; i++)
        gids[i] = (long)groups[i];
    if (token) { /* an admin-issued token names the tenant, whoever presents it */
        json_t *tok = vgpu_store_token_lookup(d->store, token);
        const char *name = json_string_value(json_object_get(tok, "tenant"));
        t = name ? vgpu_store_tenant(d->store, name) : NULL;
        json_decref(tok);
        if (!t)
            return vgpu_proto_error("permission_denied", "the token is not valid for a tenant");
    } else if (want) {
        t = vgpu_store_tenant(d->store, want);
        if (!t)
            return vgpu_proto_error("not_found", "no tenant '%s'", want);
        json_t *uid = json_object_get(t, "bind_uid");
        json_t *gid = json_object_get(t, "bind_gid");
        const char *cg = json_string_value(json_object_get(t, "bind_cgroup"));
        bool bound = (json_is_integer(uid) && json_integer_value(uid) == (json_int_t)peer->uid) ||
                     (cg && below(cgroup, cg));
        for (int i = 0; !bound && json_is_integer(gid) && i < ngids; i++)
            bound = json_integer_value(gid) == (json_int_t)gids[i];
        if (!bound && !peer->admin) {
            json_decref(t);
            return vgpu_proto_error("permission_denied",
                                    "uid %u (cgroup %s) is not bound to tenant '%s'",
                                    (unsigned)peer->uid, cgroup[0] ? cgroup : "unknown", want);
        }
    } else {
        t = vgpu_store_tenant_for(d->store, (long)peer->uid, gids, ngids, cgroup);
        if (!t)
            return vgpu_proto_error("not_found",
                                    "no tenant is bound to uid %u, its groups or cgroup %s",
                                    (unsigned)peer->uid, cgroup[0] ? cgroup : "unknown");
    }
    const char *name = json_string_value(json_object_get(t, "name"));
    json_t *bgid = json_object_get(t, "bind_gid");
    gid_t group = json_is_integer(bgid) ? (gid_t)json_integer_value(bgid) : (gid_t)-1;
    apply_tenant(d, t);
    if ((peer->uid != 0 || group != (gid_t)-1) &&
        vgpu_acct_grant(name, peer->uid != 0 ? peer->uid : (uid_t)-1, group) != 0)
        vgpu_warn("cannot open tenant %s's account to uid %u", name, (unsigned)peer->uid);
    vgpu_strlcpy(peer->tenant, name, sizeof(peer->tenant));
    vgpu_info("client pid %d uid %u attached to tenant %s", (int)peer->pid, (unsigned)peer->uid,
              name);
    return vgpu_proto_ok(t);
}

static json_t *op_token_create(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    struct vgpu_err e = {0};
    char token[80];
    if (vgpu_store_token_create(d->store, args, token, sizeof(token), &e) != 0)
        return failed(&e);
    return vgpu_proto_ok(json_pack("{s:s}", "token", token));
}

static json_t *op_tokens(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    return vgpu_proto_ok(vgpu_store_tokens(d->store));
}

MUTATION(op_token_revoke, vgpu_store_token_revoke(d->store, args, &e), revoke_all(d))

static json_t *op_weights(struct vgpud *d, struct vgpu_peer *peer, const json_t *args)
{
    return vgpu_proto_ok(vgpu_store_weights(d->store));
}

static const struct {
    const char *op;
    bool admin;
    op_fn fn;
} ops[] = {
    {"ping", false, op_ping},
    {"client.attach", false, op_attach},
    {"status", true, op_status},
    {"metrics", true, op_metrics},
    {"gpus.list", true, op_gpus},
    {"gpus.scan", true, op_scan},
    {"pool.create", true, op_pool_create},
    {"pool.rm", true, op_pool_rm},
    {"pool.list", true, op_pools},
    {"gpu.assign", true, op_assign},
    {"gpu.unassign", true, op_unassign},
    {"tenant.add", true, op_tenant_add},
    {"tenant.set", true, op_tenant_set},
    {"tenant.rm", true, op_tenant_rm},
    {"tenant.list", true, op_tenants},
    {"tenant.get", true, op_tenant_get},
    {"tenant.quarantine", true, op_quarantine},
    {"tenant.release", true, op_release},
    {"token.create", true, op_token_create},
    {"token.list", true, op_tokens},
    {"token.revoke", true, op_token_revoke},
    {"weights.get", true, op_weights},
    {"weights.set", true, op_weights_set},
};

json_t *vgpud_handle(struct vgpud *d, struct vgpu_peer *peer, const json_t *request)
{
    const char *op = json_string_value(json_object_get(request, "op"));
    json_t *args = json_object_get(request, "args");
    if (!op)
        return vgpu_proto_error("invalid_request", "a request needs an \"op\" string");
    if (args && !json_is_object(args))
        return vgpu_proto_error("invalid_request", "\"args\" must be an object");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(ops[i].op, op) != 0)
            continue;
        if (ops[i].admin && !peer->admin)
            return vgpu_proto_error("permission_denied",
                                    "%s needs root or membership of the vgpu group (uid %u)", op,
                                    (unsigned)peer->uid);
        json_t *empty = args ? NULL : json_object();
        json_t *reply = ops[i].fn(d, peer, args ? args : empty);
        json_decref(empty);
        vgpu_debug("pid %d uid %u: %s", (int)peer->pid, (unsigned)peer->uid, op);
        return reply;
    }
    return vgpu_proto_error("unknown_op", "unknown operation '%s'", op);
}

int vgpud_scan(struct vgpud *d, struct vgpu_err *err)
{
    struct vgpu_scan scan;
    char msg[256];
    int rc = vgpu_device_scan(&scan, msg, sizeof(msg));
    if (rc != 0) {
        snprintf(err->code, sizeof(err->code), "%s", rc == -ENODEV ? "not_found" : "internal");
        snprintf(err->msg, sizeof(err->msg), "%s", msg);
        return rc;
    }
    return vgpu_store_sync_gpus(d->store, &scan, err);
}
