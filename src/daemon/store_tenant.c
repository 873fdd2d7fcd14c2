/* store_tenant: tenants, the user's "virtual instances": who they are (a
 * name, optionally a numeric vm-id), where they run (a pool), how they are
 * served (priority, memory, share, rate, burst, queue depth), which local
 * processes they own (a uid, a gid or a cgroup) and whether they are quarantined.
 *
 * Adding and changing go through one path: a tenant is read (or built from
 * the defaults), the checked arguments are merged into it, the merged
 * tenant is checked against the others (vm-id and bindings are unique, a
 * tenant is bound by one of uid, gid and cgroup) and written whole in the
 * same transaction. So `set` changes exactly the keys given, and a refused
 * request writes nothing.
 *
 * A local client is matched to its tenant by what the kernel says about it:
 * its cgroup (the tenant bound to that cgroup or the nearest ancestor of
 * it, so every process of a container or a Slurm job falls under the one
 * binding), failing that its uid, failing that its groups (primary first). */
#include "store_internal.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define COLUMNS                                                                                    \
    "name, vm_id, pool, priority, memory, share, rate, burst, max_inflight, bind_uid,"             \
    " bind_gid, bind_cgroup, state, exec_limit_ms, exec_policy"
#define ORDER " ORDER BY vm_id IS NULL, vm_id, name"

static json_t *row_json(sqlite3_stmt *st)
{
    static const char *const keys[] = {"name",         "vm_id",         "pool",       "priority",
                                       "memory",       "share",         "rate",       "burst",
                                       "max_inflight", "bind_uid",      "bind_gid",   "bind_cgroup",
                                       "state",        "exec_limit_ms", "exec_policy"};
    json_t *o = json_object();

    for (int i = 0; o && i < (int)(sizeof(keys) / sizeof(keys[0])); i++) {
        if (json_object_set_new(o, keys[i], vgpu__column_json(st, i)) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

static void row_tenant(sqlite3_stmt *st, struct vgpu__tenant *t)
{
    const char *cg = (const char *)sqlite3_column_text(st, 11);

    vgpu_strlcpy(t->name, (const char *)sqlite3_column_text(st, 0), sizeof(t->name));
    t->vm_id = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
    vgpu_strlcpy(t->pool, (const char *)sqlite3_column_text(st, 2), sizeof(t->pool));
    vgpu_strlcpy(t->priority, (const char *)sqlite3_column_text(st, 3), sizeof(t->priority));
    t->memory = sqlite3_column_int64(st, 4);
    t->share = sqlite3_column_int64(st, 5);
    t->rate = sqlite3_column_int64(st, 6);
    t->burst = sqlite3_column_int64(st, 7);
    t->max_inflight = sqlite3_column_int64(st, 8);
    t->bind_uid = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 9);
    t->bind_gid = sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 10);
    vgpu_strlcpy(t->bind_cgroup, cg ? cg : "", sizeof(t->bind_cgroup));
    vgpu_strlcpy(t->state, (const char *)sqlite3_column_text(st, 12), sizeof(t->state));
    t->exec_limit_ms = sqlite3_column_int64(st, 13);
    vgpu_strlcpy(t->exec_policy, (const char *)sqlite3_column_text(st, 14), sizeof(t->exec_policy));
}

/* Reads tenant `name` into t; not_found when there is none. */
static int load(struct vgpu_store *s, const char *name, struct vgpu__tenant *t,
                struct vgpu_err *err)
{
    sqlite3_stmt *st = vgpu__prepare(s, "SELECT " COLUMNS " FROM tenants WHERE name = ?1", err);
    int rc, step;

    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        row_tenant(st, t);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = vgpu__fail(err, VGPU__NOTFOUND, "tenant %s does not exist", name);
    } else {
        rc = vgpu__sqlfail(s, err, "reading a tenant");
    }
    sqlite3_finalize(st);
    return rc;
}

static void merge(struct vgpu__tenant *t, const struct vgpu__args *a)
{
    const struct vgpu__tenant *n = &a->t;

    if (a->given & VGPU__A(POOL))
        memcpy(t->pool, n->pool, sizeof(t->pool));
    if (a->given & VGPU__A(VM_ID))
        t->vm_id = n->vm_id;
    if (a->given & VGPU__A(PRIORITY))
        memcpy(t->priority, n->priority, sizeof(t->priority));
    if (a->given & VGPU__A(MEMORY))
        t->memory = n->memory;
    if (a->given & VGPU__A(SHARE))
        t->share = n->share;
    if (a->given & VGPU__A(RATE))
        t->rate = n->rate;
    if (a->given & VGPU__A(BURST))
        t->burst = n->burst;
    if (a->given & VGPU__A(MAX_INFLIGHT))
        t->max_inflight = n->max_inflight;
    if (a->given & VGPU__A(BIND_UID))
        t->bind_uid = n->bind_uid;
    if (a->given & VGPU__A(BIND_GID))
        t->bind_gid = n->bind_gid;
    if (a->given & VGPU__A(BIND_CGROUP))
        memcpy(t->bind_cgroup, n->bind_cgroup, sizeof(t->bind_cgroup));
    if (a->given & VGPU__A(EXEC_LIMIT))
        t->exec_limit_ms = n->exec_limit_ms;
    if (a->given & VGPU__A(EXEC_POLICY))
        memcpy(t->exec_policy, n->exec_policy, sizeof(t->exec_policy));
}

/* The tenant other than `self` whose `column` holds the value (a number, or
 * `text` when not NULL): 1 with its name in owner, 0 when none. */
static int owner_of(struct vgpu_store *s, const char *column, int64_t num, const char *text,
                    const char *self, char *owner, size_t len, struct vgpu_err *err)
{
    char sql[128];
    sqlite3_stmt *st;
    int rc, step;

    snprintf(sql, sizeof(sql), "SELECT name FROM tenants WHERE %s = ?1 AND name <> ?2", column);
    st = vgpu__prepare(s, sql, err);
    if (!st)
        return -EIO;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, num);
    sqlite3_bind_text(st, 2, self, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        vgpu_strlcpy(owner, (const char *)sqlite3_column_text(st, 0), len);
        rc = 1;
    } else {
        rc = step == SQLITE_DONE ? 0 : vgpu__sqlfail(s, err, "checking a tenant");
    }
    sqlite3_finalize(st);
    return rc;
}

/* How many of uid, gid and cgroup t is bound by (at most one is allowed). */
static int bindings(const struct vgpu__tenant *t)
{
    return (t->bind_uid >= 0) + (t->bind_gid >= 0) + (t->bind_cgroup[0] != '\0');
}

/* The checks that need the other tenants and the pools, on the merged t. */
static int check_against_db(struct vgpu_store *s, const struct vgpu__tenant *t, unsigned given,
                            struct vgpu_err *err)
{
    char owner[VGPU__NAME_MAX + 1];
    int rc = 0;

    if (t->vm_id >= 0 && (given & VGPU__A(VM_ID)) &&
        (rc = owner_of(s, "vm_id", t->vm_id, NULL, t->name, owner, sizeof(owner), err)) == 1)
        return vgpu__fail(err, VGPU__EXISTS, "vm_id %lld already belongs to tenant %s",
                          (long long)t->vm_id, owner);
    if (rc == 0 && (given & VGPU__A(POOL)))
        rc = vgpu__pool_exists(s, t->pool, err);
    if (rc == 0 && bindings(t) > 1)
        return vgpu__fail(err, VGPU__CONFLICT,
                          "tenant %s would have two bindings (uid %lld, gid %lld, cgroup %s): "
                          "clear the old one (bind_uid, bind_gid or bind_cgroup null) first",
                          t->name, (long long)t->bind_uid, (long long)t->bind_gid,
                          t->bind_cgroup[0] ? t->bind_cgroup : "none");
    if (rc == 0 && t->bind_uid >= 0 && (given & VGPU__A(BIND_UID)) &&
        (rc = owner_of(s, "bind_uid", t->bind_uid, NULL, t->name, owner, sizeof(owner), err)) == 1)
        return vgpu__fail(err, VGPU__CONFLICT, "uid %lld is already bound to tenant %s",
                          (long long)t->bind_uid, owner);
    if (rc == 0 && t->bind_gid >= 0 && (given & VGPU__A(BIND_GID)) &&
        (rc = owner_of(s, "bind_gid", t->bind_gid, NULL, t->name, owner, sizeof(owner), err)) == 1)
        return vgpu__fail(err, VGPU__CONFLICT, "gid %lld is already bound to tenant %s",
                          (long long)t->bind_gid, owner);
    if (rc == 0 && t->bind_cgroup[0] && (given & VGPU__A(BIND_CGROUP)) &&
        (rc = owner_of(s, "bind_cgroup", 0, t->bind_cgroup, t->name, owner, sizeof(owner), err)) ==
            1)
        return vgpu__fail(err, VGPU__CONFLICT, "cgroup %.200s is already bound to tenant %s",
                          t->bind_cgroup, owner);
    return rc;
}

/* Writes t whole: INSERT for a new tenant, UPDATE for an existing one. */
static int write_tenant(struct vgpu_store *s, const struct vgpu__tenant *t, bool insert,
                        struct vgpu_err *err)
{
    sqlite3_stmt *st = vgpu__prepare(
        s,
        insert ? "INSERT INTO tenants (" COLUMNS ", created, updated)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?14, ?11, ?12, ?15, ?16, ?13,"
                 " ?13)"
               : "UPDATE tenants SET vm_id = ?2, pool = ?3, priority = ?4, memory = ?5,"
                 " share = ?6, rate = ?7, burst = ?8, max_inflight = ?9, bind_uid = ?10,"
                 " bind_gid = ?14, bind_cgroup = ?11, state = ?12, exec_limit_ms = ?15,"
                 " exec_policy = ?16, updated = ?13 WHERE name = ?1",
        err);
    int rc;

    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    if (t->vm_id >= 0)
        sqlite3_bind_int64(st, 2, t->vm_id);
    sqlite3_bind_text(st, 3, t->pool, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->priority, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t->memory);
    sqlite3_bind_int64(st, 6, t->share);
    sqlite3_bind_int64(st, 7, t->rate);
    sqlite3_bind_int64(st, 8, t->burst);
    sqlite3_bind_int64(st, 9, t->max_inflight);
    if (t->bind_uid >= 0)
        sqlite3_bind_int64(st, 10, t->bind_uid);
    if (t->bind_cgroup[0])
        sqlite3_bind_text(st, 11, t->bind_cgroup, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, t->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, vgpu__now());
    if (t->bind_gid >= 0)
        sqlite3_bind_int64(st, 14, t->bind_gid);
    sqlite3_bind_int64(st, 15, t->exec_limit_ms);
    sqlite3_bind_text(st, 16, t->exec_policy, -1, SQLITE_STATIC);
    rc = vgpu__step_done(s, st, err);
    sqlite3_finalize(st);
    return rc;
}

static int add_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    struct vgpu__tenant t = {.vm_id = -1,
                             .priority = "medium",
                             .bind_uid = -1,
                             .bind_gid = -1,
                             .state = "active",
                             .exec_policy = "warn"};
    int64_t n;
    int rc;

    memcpy(t.name, a->t.name, sizeof(t.name));
    merge(&t, a);
    rc = vgpu__query_int(s, "SELECT count(*) FROM tenants WHERE name = ?1", t.name, &n, err);
    if (rc == 0 && n > 0)
        rc = vgpu__fail(err, VGPU__EXISTS, "tenant %s already exists", t.name);
    if (rc == 0)
        rc = check_against_db(s, &t, a->given, err);
    if (rc == 0)
        rc = write_tenant(s, &t, true, err);
    return rc;
}

/* A tenant's arguments: the keys of a tenant, `required` among them, and at
 * most one binding. */
static int parse_tenant(const json_t *args, unsigned required, struct vgpu__args *a,
                        struct vgpu_err *err)
{
    int rc = vgpu__args_parse(args, VGPU__A(NAME) | VGPU__TENANT_KEYS, required, a, err);
    if (rc == 0 && bindings(&a->t) > 1)
        rc = vgpu__fail(err, VGPU__INVALID,
                        "bind_uid, bind_gid and bind_cgroup are mutually exclusive: give one");
    return rc;
}

int vgpu_store_tenant_add(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    rc = parse_tenant(args, VGPU__A(POOL), &a, err);
    if (rc < 0)
        return rc;
    if (!(a.given & VGPU__A(NAME))) {
        if (a.t.vm_id < 0)
            return vgpu__fail(err, VGPU__INVALID, "missing argument 'name' (or 'vm_id')");
        snprintf(a.t.name, sizeof(a.t.name), "vm-%lld", (long long)a.t.vm_id);
    }
    return vgpu__tx(s, add_tx, &a, err);
}

static int set_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    struct vgpu__tenant t = {.vm_id = -1, .bind_uid = -1, .bind_gid = -1};
    int rc = load(s, a->t.name, &t, err);

    if (rc < 0)
        return rc;
    merge(&t, a);
    rc = check_against_db(s, &t, a->given, err);
    if (rc == 0)
        rc = write_tenant(s, &t, false, err);
    return rc;
}

int vgpu_store_tenant_set(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    rc = parse_tenant(args, VGPU__A(NAME), &a, err);
    if (rc < 0)
        return rc;
    if (!(a.given & VGPU__TENANT_KEYS))
        return vgpu__fail(
            err, VGPU__INVALID,
            "nothing to change for tenant %s: give pool, vm_id, priority, memory, "
            "share, rate, burst, max_inflight, exec_limit, exec_policy, bind_uid, bind_gid or "
            "bind_cgroup",
            a.t.name);
    return vgpu__tx(s, set_tx, &a, err);
}

/* DELETE or UPDATE of one tenant by name (?1); not_found when no row changed. */
static int by_name(struct vgpu_store *s, const char *sql, const char *name, const char *state,
                   struct vgpu_err *err)
{
    sqlite3_stmt *st = vgpu__prepare(s, sql, err);
    int rc;

    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (state) {
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, vgpu__now());
    }
    rc = vgpu__step_done(s, st, err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = vgpu__fail(err, VGPU__NOTFOUND, "tenant %s does not exist", name);
    sqlite3_finalize(st);
    return rc;
}

static int rm_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    return by_name(s, "DELETE FROM tenants WHERE name = ?1", a->t.name, NULL, err);
}

int vgpu_store_tenant_rm(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    rc = vgpu__args_parse(args, VGPU__A(NAME), VGPU__A(NAME), &a, err);
    if (rc == 0)
        rc = vgpu__tx(s, rm_tx, &a, err);
    return rc;
}

static int state_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    return by_name(s, "UPDATE tenants SET state = ?2, updated = ?3 WHERE name = ?1", a->t.name,
                   a->t.state, err);
}

int vgpu_store_tenant_state(struct vgpu_store *s, const json_t *args, const char *state,
                            struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    if (!state || (strcmp(state, "active") != 0 && strcmp(state, "quarantined") != 0))
        return vgpu__fail(err, VGPU__INVALID, "state '%.40s': must be active or quarantined",
                          state ? state : "(none)");
    rc = vgpu__args_parse(args, VGPU__A(NAME), VGPU__A(NAME), &a, err);
    if (rc < 0)
        return rc;
    vgpu_strlcpy(a.t.state, state, sizeof(a.t.state));
    return vgpu__tx(s, state_tx, &a, err);
}

/* Every row of a tenant query as a JSON array; NULL on error. */
static json_t *rows(struct vgpu_store *s, sqlite3_stmt *st)
{
    json_t *out = json_array();
    int step = SQLITE_DONE;

    while (out && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (json_array_append_new(out, row_json(st)) != 0)
            step = SQLITE_ERROR;
        if (step != SQLITE_ROW)
            break;
    }
    if (out && step != SQLITE_DONE) {
        vgpu__sqlfail(s, NULL, "listing tenants");
        json_decref(out);
        out = NULL;
    }
    return out;
}

json_t *vgpu_store_tenants(struct vgpu_store *s, const char *pool)
{
    sqlite3_stmt *st = vgpu__prepare(s,
                                     pool ? "SELECT " COLUMNS " FROM tenants WHERE pool = ?1" ORDER
                                          : "SELECT " COLUMNS " FROM tenants" ORDER,
                                     NULL);
    json_t *out;

    if (!st)
        return NULL;
    if (pool)
        sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
    out = rows(s, st);
    sqlite3_finalize(st);
    return out;
}

/* The single tenant a query selects (its ?1 bound to `text` or `num`), or NULL. */
static json_t *one(struct vgpu_store *s, const char *sql, const char *text, int64_t num)
{
    sqlite3_stmt *st = vgpu__prepare(s, sql, NULL);
    json_t *all, *t = NULL;

    if (!st)
        return NULL;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, num);
    all = rows(s, st);
    if (json_array_size(all) > 0)
        t = json_incref(json_array_get(all, 0));
    json_decref(all);
    sqlite3_finalize(st);
    return t;
}

json_t *vgpu_store_tenant(struct vgpu_store *s, const char *name)
{
    if (!name)
        return NULL;
    return one(s, "SELECT " COLUMNS " FROM tenants WHERE name = ?1", name, 0);
}

/* True when `cgroup` is `bound` or lies below it. */
static bool below(const char *cgroup, const char *bound)
{
    size_t n = strlen(bound);
    return strncmp(cgroup, bound, n) == 0 && (cgroup[n] == '\0' || cgroup[n] == '/');
}

/* The tenant bound to `cgroup` or to its nearest bound ancestor, or NULL. */
static json_t *by_cgroup(struct vgpu_store *s, const char *cgroup)
{
    sqlite3_stmt *st = vgpu__prepare(s,
                                     "SELECT name, bind_cgroup FROM tenants"
                                     " WHERE bind_cgroup IS NOT NULL",
                                     NULL);
    char best[VGPU__NAME_MAX + 1] = "";
    size_t best_len = 0;

    if (!st)
        return NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *bound = (const char *)sqlite3_column_text(st, 1);
        if (below(cgroup, bound) && strlen(bound) > best_len) {
            best_len = strlen(bound);
            vgpu_strlcpy(best, (const char *)sqlite3_column_text(st, 0), sizeof(best));
        }
    }
    sqlite3_finalize(st);
    return best[0] ? vgpu_store_tenant(s, best) : NULL;
}

json_t *vgpu_store_tenant_for(struct vgpu_store *s, long uid, const long *gids, int ngids,
                              const char *cgroup)
{
    json_t *t = cgroup && cgroup[0] == '/' ? by_cgroup(s, cgroup) : NULL;

    if (!t && uid >= 0 && (long long)uid <= 4294967294LL)
        t = one(s, "SELECT " COLUMNS " FROM tenants WHERE bind_uid = ?1", NULL, uid);
    for (int i = 0; !t && i < ngids; i++)
        if (gids[i] >= 0 && (long long)gids[i] <= 4294967294LL)
            t = one(s, "SELECT " COLUMNS " FROM tenants WHERE bind_gid = ?1", NULL, gids[i]);
    return t;
}
