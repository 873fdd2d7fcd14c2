/* store_pool: pools, the named sets of GPUs that tenants are placed in.
 *
 * A pool may be created with its GPUs in the same transaction
 * (`pool create A --gpus 0,1`), so a typo in the GPU list leaves no empty
 * pool behind. Removing a pool takes its GPU assignments with it (ON DELETE
 * CASCADE) but is refused while tenants still use it: silently deleting
 * tenants, or leaving them pointing at nothing, would both surprise. */
#include "store_internal.h"

#include <errno.h>
#include <string.h>

int vgpu__pool_exists(struct vgpu_store *s, const char *pool, struct vgpu_err *err)
{
    int64_t n;
    int rc = vgpu__query_int(s, "SELECT count(*) FROM pools WHERE name = ?1", pool, &n, err);

    if (rc == 0 && n == 0)
        rc = vgpu__fail(err, VGPU__NOTFOUND, "pool %s does not exist", pool);
    return rc;
}

static int create_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    struct vgpu__gpu_ref g[VGPU__GPUS_MAX];
    sqlite3_stmt *st = NULL;
    int64_t n;
    int rc = vgpu__query_int(s, "SELECT count(*) FROM pools WHERE name = ?1", a->t.name, &n, err);

    if (rc == 0 && n > 0)
        rc = vgpu__fail(err, VGPU__EXISTS, "pool %s already exists", a->t.name);
    for (int i = 0; i < a->ngpus && rc == 0; i++) {
        rc = vgpu__gpu_resolve(s, a->gpus[i], &g[i], err);
        if (rc == 0)
            rc = vgpu__gpu_assignable(&g[i], a->gpus[i], err);
    }
    if (rc < 0)
        return rc;
    st = vgpu__prepare(s, "INSERT INTO pools (name, created) VALUES (?1, ?2)", err);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, a->t.name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, vgpu__now());
    rc = vgpu__step_done(s, st, err);
    sqlite3_finalize(st);
    if (rc < 0 || a->ngpus == 0)
        return rc;
    st = vgpu__prepare(s, "INSERT OR IGNORE INTO pool_gpus (pool, gpu_uuid) VALUES (?1, ?2)", err);
    if (!st)
        return -EIO;
    for (int i = 0; i < a->ngpus && rc == 0; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, a->t.name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, g[i].uuid, -1, SQLITE_STATIC);
        rc = vgpu__step_done(s, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_pool_create(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    rc = vgpu__args_parse(args, VGPU__A(NAME) | VGPU__A(GPUS), VGPU__A(NAME), &a, err);
    if (rc == 0)
        rc = vgpu__tx(s, create_tx, &a, err);
    return rc;
}

static int rm_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    sqlite3_stmt *st;
    int64_t n;
    int rc = vgpu__pool_exists(s, a->t.name, err);

    if (rc == 0)
        rc = vgpu__query_int(s, "SELECT count(*) FROM tenants WHERE pool = ?1", a->t.name, &n, err);
    if (rc == 0 && n > 0)
        rc = vgpu__fail(err, VGPU__CONFLICT,
                        "pool %s still has %lld tenant%s (move or remove %s first)", a->t.name,
                        (long long)n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
    if (rc < 0)
        return rc;
    st = vgpu__prepare(s, "DELETE FROM pools WHERE name = ?1", err);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, a->t.name, -1, SQLITE_STATIC);
    rc = vgpu__step_done(s, st, err);
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_pool_rm(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    rc = vgpu__args_parse(args, VGPU__A(NAME), VGPU__A(NAME), &a, err);
    if (rc == 0)
        rc = vgpu__tx(s, rm_tx, &a, err);
    return rc;
}

json_t *vgpu_store_pools(struct vgpu_store *s)
{
    sqlite3_stmt *st = vgpu__prepare(s,
                                     "SELECT name, (SELECT count(*) FROM tenants t"
                                     " WHERE t.pool = pools.name) FROM pools ORDER BY name",
                                     NULL);
    sqlite3_stmt *gst = vgpu__prepare(s, /* the UUIDs of a pool's GPUs, in index order */
                                      "SELECT g.uuid FROM pool_gpus pg"
                                      " JOIN gpus g ON g.uuid = pg.gpu_uuid"
                                      " LEFT JOIN gpus p ON p.uuid = g.parent_uuid"
                                      " WHERE pg.pool = ?1" VGPU__GPU_ORDER,
                                      NULL);
    json_t *out = json_array(), *ret = NULL;
    int step;

    if (!st || !gst || !out)
        goto cleanup;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_pack("{s:o, s:o, s:o}", "name", vgpu__column_json(st, 0), "gpus",
                              vgpu__column_list(gst, (const char *)sqlite3_column_text(st, 0)),
                              "tenants", vgpu__column_json(st, 1));
        if (!o || json_array_append_new(out, o) != 0)
            goto cleanup;
    }
    if (step != SQLITE_DONE) {
        vgpu__sqlfail(s, NULL, "listing pools");
        goto cleanup;
    }
    ret = out;
    out = NULL;
cleanup:
    json_decref(out);
    sqlite3_finalize(st);
    sqlite3_finalize(gst);
    return ret;
}
