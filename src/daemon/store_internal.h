/* store_internal: what the store's .c files share; nothing outside
 * src/daemon/store*.c includes it.
 *
 * store.c       opening, migrations, transactions, errors, SQL helpers
 * store_args.c  the JSON arguments of every mutator, checked in C
 * store_gpu.c   GPUs: sync with a scan, listing, resolving `gpu`, assignment
 * store_pool.c  pools
 * store_tenant.c tenants: add, set, rm, state, listings, binding lookup
 * store_weights.c priority weights (the settings table) */
#ifndef VGPU_STORE_INTERNAL_H
#define VGPU_STORE_INTERNAL_H

#include "store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct vgpu_store {
    sqlite3 *db;
};

/* ---- errors ------------------------------------------------------------- */
enum vgpu__code {
    VGPU__INVALID,  /* invalid_argument, -EINVAL */
    VGPU__NOTFOUND, /* not_found, -ENOENT */
    VGPU__EXISTS,   /* already_exists, -EEXIST */
    VGPU__CONFLICT, /* conflict, -EBUSY */
    VGPU__INTERNAL, /* internal, -EIO */
};

/* Records an error in err (the first one wins: a later call leaves an
 * earlier error in place) and returns its negative errno. err may be NULL. */
int vgpu__fail(struct vgpu_err *err, enum vgpu__code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An "internal" error from SQLite: what we were doing and its message. */
int vgpu__sqlfail(struct vgpu_store *s, struct vgpu_err *err, const char *what);
void vgpu__err_clear(struct vgpu_err *err);
/* A JSON value as it appears in a message: compact, printable ASCII only,
 * cut to fit buf (a cut value ends in "..."; len >= 4); 64 bytes is the
 * usual size. */
const char *vgpu__show(const json_t *v, char *buf, size_t len);

/* ---- SQL ------------------------------------------------------------------ */
int vgpu__exec(struct vgpu_store *s, const char *sql, struct vgpu_err *err);
/* NULL on error, with err set. */
sqlite3_stmt *vgpu__prepare(struct vgpu_store *s, const char *sql, struct vgpu_err *err);
/* Steps a statement that returns no rows; 0 or an internal error. */
int vgpu__step_done(struct vgpu_store *s, sqlite3_stmt *st, struct vgpu_err *err);
/* One integer from a one-row query with up to one text parameter (NULL:
 * none); *out is 0 when there is no row. */
int vgpu__query_int(struct vgpu_store *s, const char *sql, const char *text, int64_t *out,
                    struct vgpu_err *err);
/* Runs fn in one write transaction (BEGIN IMMEDIATE): committed when fn
 * returns 0, rolled back otherwise. */
int vgpu__tx(struct vgpu_store *s, int (*fn)(struct vgpu_store *, void *, struct vgpu_err *),
             void *ctx, struct vgpu_err *err);
/* A column as JSON: integer, string or null. */
json_t *vgpu__column_json(sqlite3_stmt *st, int col);
/* Column 0 of every row st gives with ?1 bound to key, as a JSON array
 * (st is reset first, so one statement serves many keys); NULL on failure. */
json_t *vgpu__column_list(sqlite3_stmt *st, const char *key);
int64_t vgpu__now(void); /* seconds since the epoch, for the created/updated/seen columns */

/* ---- arguments (store_args.c) -------------------------------------------- */
enum vgpu__arg {
    VGPU__ARG_NAME,
    VGPU__ARG_POOL,
    VGPU__ARG_VM_ID,
    VGPU__ARG_PRIORITY,
    VGPU__ARG_MEMORY,
    VGPU__ARG_SHARE,
    VGPU__ARG_RATE,
    VGPU__ARG_BURST,
    VGPU__ARG_MAX_INFLIGHT,
    VGPU__ARG_BIND_UID,
    VGPU__ARG_BIND_GID,
    VGPU__ARG_BIND_CGROUP,
    VGPU__ARG_EXEC_LIMIT,
    VGPU__ARG_EXEC_POLICY,
    VGPU__ARG_GPU,
    VGPU__ARG_GPUS,
    VGPU__ARG_WEIGHTS,
    VGPU__ARG_COUNT,
};
#define VGPU__A(x) (1u << VGPU__ARG_##x)
/* The keys a tenant carries besides its name. */
#define VGPU__TENANT_KEYS                                                                          \
    (VGPU__A(POOL) | VGPU__A(VM_ID) | VGPU__A(PRIORITY) | VGPU__A(MEMORY) | VGPU__A(SHARE) |       \
     VGPU__A(RATE) | VGPU__A(BURST) | VGPU__A(MAX_INFLIGHT) | VGPU__A(BIND_UID) |                  \
     VGPU__A(BIND_GID) | VGPU__A(BIND_CGROUP) | VGPU__A(EXEC_LIMIT) | VGPU__A(EXEC_POLICY))

#define VGPU__NAME_MAX 63
#define VGPU__CGROUP_MAX 4096 /* bind_cgroup is shorter than this */
#define VGPU__GPU_REF_MAX 96  /* a `gpu` reference (index, UUID or prefix), with its NUL */
#define VGPU__GPUS_MAX 64     /* entries in pool_create's `gpus` */
#define VGPU__WEIGHT_MAX 1000

/* A tenant as stored; nullable numbers are -1 when NULL, bind_cgroup "" when NULL. */
struct vgpu__tenant {
    char name[VGPU__NAME_MAX + 1];
    char pool[VGPU__NAME_MAX + 1];
    int64_t vm_id;
    char priority[8];
    int64_t memory, share, rate, burst, max_inflight;
    int64_t bind_uid, bind_gid;
    char bind_cgroup[VGPU__CGROUP_MAX];
    char state[16];
    int64_t exec_limit_ms;
    char exec_policy[16];
};

/* The checked arguments of one request: `given` has a bit per key present;
 * the tenant fields use vgpu__tenant's conventions (a JSON null given for a
 * nullable key is -1 or ""). */
struct vgpu__args {
    unsigned given;
    struct vgpu__tenant t;
    char gpu[VGPU__GPU_REF_MAX];
    int ngpus;
    char gpus[VGPU__GPUS_MAX][VGPU__GPU_REF_MAX];
    int64_t weights[3]; /* high, medium, low */
};

/* Checks every key of `args` (a JSON object) against `allowed` and the
 * grammar of its value, in the order given, stopping at the first error;
 * then that every key in `required` is present. */
int vgpu__args_parse(const json_t *args, unsigned allowed, unsigned required,
                     struct vgpu__args *out, struct vgpu_err *err);
/* Priority classes in weight order: "high", "medium", "low". */
extern const char *const vgpu__priorities[3];

/* ---- GPUs (store_gpu.c) -------------------------------------------------- */
struct vgpu__gpu_ref {
    char uuid[VGPU__GPU_REF_MAX];
    bool present;
    bool mig_enabled;
};
/* Resolves a `gpu` reference: an index among present GPUs, a UUID or a
 * unique UUID prefix of 8 or more characters. */
int vgpu__gpu_resolve(struct vgpu_store *s, const char *ref, struct vgpu__gpu_ref *out,
                      struct vgpu_err *err);
/* Checks that a resolved GPU may join a pool (present, not a MIG parent). */
int vgpu__gpu_assignable(const struct vgpu__gpu_ref *g, const char *ref, struct vgpu_err *err);
/* The ORDER BY that gives GPUs their index (g: the GPU, p: its parent). */
#define VGPU__GPU_ORDER                                                                            \
    " ORDER BY g.state <> 'present', g.parent_uuid IS NOT NULL,"                                   \
    " coalesce(p.nvml_index, g.nvml_index), g.nvml_index, g.uuid"

/* ---- pools (store_pool.c) ------------------------------------------------ */
/* Fails with not_found unless the pool exists. */
int vgpu__pool_exists(struct vgpu_store *s, const char *pool, struct vgpu_err *err);

#endif
