/* store: vgpud's persistent state in SQLite.
 *
 * What the admin declares and what vgpud discovered: GPUs (by UUID, with
 * what the last scan saw), pools, which GPUs serve which pools (a GPU may
 * serve several), tenants (name, optional numeric vm-id, pool, priority,
 * limits, binding, state) and settings (the priority weights). The schema
 * is versioned (PRAGMA user_version) with migrations applied in order on
 * open; the database runs in WAL mode with foreign keys on, so a vgpud
 * killed at any point leaves either the old state or the new one.
 *
 * Every mutator takes the request's JSON arguments as they came from the
 * CLI or the HTTP API (one validation path for both), checks all of them
 * before touching anything, and applies the change in one transaction: on
 * any error nothing is written and `err` says what was wrong. Listings are
 * JSON, the same documents `vgpu-admin ... --json` prints.
 *
 * Return values: 0, or a negative errno matching err->code: -EINVAL
 * invalid_argument (a bad or unknown argument), -ENOENT not_found,
 * -EEXIST already_exists, -EBUSY conflict (the request contradicts the
 * state: a pool with tenants, a MIG parent, a uid bound elsewhere, a newer
 * schema), -EIO internal (SQLite failed). err may be NULL; it is cleared on
 * success. Messages name the argument and show the value as JSON.
 *
 * Argument keys (a mutator refuses keys it does not take: "unknown argument
 * 'x'"). Numbers may be JSON integers or strings of digits; reals,
 * booleans, arrays and objects are refused where a number is meant.
 *   name, pool    1-63 of [A-Za-z0-9._-], not starting with '.' or '-'
 *   vm_id         1..2147483647 (null clears it in tenant_set)
 *   priority      low | medium | high
 *   memory        a size ("8GiB", "512MiB", "1.5g", "4GB") or bytes; 0 = no limit
 *   share         0-100 percent of GPU time; 0 = no cap
 *   rate          operations per second: "1000/s", "1000" or a number; 0 = none
 *   burst, max_inflight   0..2147483647 (max_inflight 0 = no limit)
 *   exec_limit    how long a tenant may keep a GPU past its quantum while
 *                 others wait: "500ms", "2s", milliseconds as a number, or 0
 *                 (no limit); at most 24 h (schema 4)
 *   exec_policy   warn | quarantine | kill: what the watchdog does past it
 *   bind_uid      0..4294967294 (null clears it)
 *   bind_gid      0..4294967294 (null clears it): every process whose primary
 *                 or supplementary groups hold it
 *   bind_cgroup   an absolute cgroup path, no "..", "." or empty parts, not "/",
 *                 under 4096 bytes (null clears it); a tenant has at most
 *                 one of bind_uid, bind_gid and bind_cgroup
 *   gpu           an index among present GPUs (as vgpu_store_gpus lists them),
 *                 a UUID (any case) or a unique UUID prefix of 8+ characters
 *   gpus          pool_create: an array of gpu references or "0,1,GPU-..."
 *   weights       "high=4,medium=2,low=1" (all three, any order, each 1-1000)
 *                 or {"high": 4, "medium": 2, "low": 1} */
#ifndef VGPU_STORE_H
#define VGPU_STORE_H

#include <jansson.h>
#include <stddef.h>

#define VGPU_STORE_SCHEMA 4

struct vgpu_store;
struct vgpu_scan;

/* An error: a machine-readable code and a one-line message for people. */
struct vgpu_err {
    char code[32]; /* invalid_argument, not_found, already_exists, conflict, internal */
    char msg[256];
};

/* Opens (creating it, and its directory with mode 0750, if need be) and
 * migrates the database at `path`; ":memory:" is a private in-memory one.
 * A database of a newer schema is refused (conflict). */
int vgpu_store_open(const char *path, struct vgpu_store **out, struct vgpu_err *err);
/* 0, or -EBUSY when a statement was left unfinalized (a store bug: the
 * connection then stays open, and is logged). */
int vgpu_store_close(struct vgpu_store *s);

/* GPUs: a scan's GPUs are upserted (state "present"); known GPUs the scan
 * did not see become "missing" (kept, with their pool assignments). A scan
 * that is not self-consistent (count, parents, duplicate or unterminated
 * UUIDs) is refused whole. */
int vgpu_store_sync_gpus(struct vgpu_store *s, const struct vgpu_scan *scan, struct vgpu_err *err);
/* [{index, uuid, name, pci_bus_id, memory_total, nvml_index, cuda_ordinal,
 *   parent, mig_enabled, state, pools}], present GPUs first in scan order
 * (physical by NVML index, then MIG instances by parent and instance
 * index), then missing ones. index is null for a missing GPU, cuda_ordinal
 * null when CUDA did not see it, parent the UUID of a MIG instance's GPU or
 * null, pools the names of the pools it serves. */
json_t *vgpu_store_gpus(struct vgpu_store *s);

/* args: name and optionally gpus, assigned in the same transaction. */
int vgpu_store_pool_create(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
/* args: name; fails with "conflict" while tenants use the pool. */
int vgpu_store_pool_rm(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
/* [{name, gpus: [uuid...] in index order, tenants: count}] by name. */
json_t *vgpu_store_pools(struct vgpu_store *s);
/* args: gpu, pool. assign is idempotent; a missing GPU is not_found and a
 * GPU in MIG mode a conflict (assign its instances). unassign of a GPU not
 * in the pool is not_found; a missing GPU may be unassigned. */
int vgpu_store_assign_gpu(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
int vgpu_store_unassign_gpu(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);

/* args: name (or vm_id alone: the name becomes "vm-<id>"), pool, and any of
 * the optional keys; priority defaults to medium, limits to 0 (none). A
 * name or vm_id in use is already_exists, a uid or cgroup bound to another
 * tenant a conflict. */
int vgpu_store_tenant_add(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
/* args: name, then only the keys to change (at least one); the others keep
 * their values. */
int vgpu_store_tenant_set(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
int vgpu_store_tenant_rm(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
/* args: name; state "active" or "quarantined" (setting the current state is fine). */
int vgpu_store_tenant_state(struct vgpu_store *s, const json_t *args, const char *state,
                            struct vgpu_err *err);
/* [{name, vm_id, pool, priority, memory, share, rate, burst, max_inflight, exec_limit_ms,
 *   exec_policy,
 *   bind_uid, bind_gid, bind_cgroup, state}] (vm_id and the bindings may be
 * null), tenants with a vm_id first by vm_id, then the others by name.
 * pool NULL: all; an unknown pool gives []. */
json_t *vgpu_store_tenants(struct vgpu_store *s, const char *pool);
json_t *vgpu_store_tenant(struct vgpu_store *s, const char *name); /* NULL when unknown */
/* The tenant a client is bound to: the one bound to its cgroup or to the
 * nearest ancestor of it, else the one bound to its uid, else the one bound
 * to the first of gids (its groups, primary first) that has one; NULL when
 * none. uid < 0, ngids 0 or cgroup NULL: not known. */
json_t *vgpu_store_tenant_for(struct vgpu_store *s, long uid, const long *gids, int ngids,
                              const char *cgroup);

/* Tokens (schema 2): an admin issues one for a tenant (a process presenting
 * it joins that tenant, whoever runs it) or with admin rights. The token is
 * returned once ("vgpu_" + 64 hex digits of /dev/urandom) and only its
 * SHA-256 is stored. args: tenant, or admin: true. */
int vgpu_store_token_create(struct vgpu_store *s, const json_t *args, char *token, size_t len,
                            struct vgpu_err *err);
/* {"id", "tenant"|null, "admin", "created"} for a presented token, or NULL. */
json_t *vgpu_store_token_lookup(struct vgpu_store *s, const char *token);
json_t *vgpu_store_tokens(struct vgpu_store *s); /* id = the first 12 hex of the hash */
/* args: id (a prefix of a token's id, at least 8 hex digits, unique). */
int vgpu_store_token_revoke(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);

/* args: weights. */
int vgpu_store_set_weights(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
json_t *vgpu_store_weights(struct vgpu_store *s); /* {"high":4,"medium":2,"low":1} */

/* Every listing returns a new reference, or NULL when the database fails
 * (logged). */

#endif
