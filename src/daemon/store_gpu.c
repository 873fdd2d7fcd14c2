/* store_gpu: the GPUs vgpud knows, kept in step with what the hardware
 * scan (src/device) finds, and their assignment to pools.
 *
 * A GPU is keyed by its UUID, which survives reboots and renumbering;
 * nothing is keyed by an index. A sync upserts what the scan saw as
 * "present" and marks every other known GPU "missing", keeping its row and
 * its pool assignments, so a GPU that drops off the bus (or a MIG layout
 * that is rebuilt) comes back to the pools it served.
 *
 * What people type is an index, though ("assign-gpu --gpu-id=0"), so each
 * present GPU has one: its position in the scan's order, physical GPUs by
 * NVML index, then MIG instances by their parent's NVML index and their own.
 * VGPU__GPU_ORDER is that order in SQL, shared by the listing and by
 * vgpu__gpu_resolve, so the index a listing shows is the index a command
 * accepts. A reference may also be a UUID or a unique prefix of one (case
 * does not matter: UUIDs are hexadecimal). */
#include "store_internal.h"

#include "common.h"
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX_MIN 8

static const char gpu_rows[] =
    "SELECT g.uuid, g.name, g.pci_bus_id, g.mem_total, g.nvml_index, g.cuda_ordinal,"
    " g.parent_uuid, g.mig_enabled, g.state"
    " FROM gpus g LEFT JOIN gpus p ON p.uuid = g.parent_uuid" VGPU__GPU_ORDER;

/* A fixed-size text field of the scan: terminated inside its array and,
 * when `printable`, free of control characters. */
static bool field_ok(const char *f, size_t size, bool printable)
{
    const char *end = memchr(f, '\0', size);

    if (!end)
        return false;
    for (const char *p = f; printable && p < end; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

static int check_scan(const struct vgpu_scan *scan, struct vgpu_err *err)
{
    if (!scan)
        return vgpu__fail(err, VGPU__INVALID, "no scan given");
    if (scan->count < 0 || scan->count > VGPU_DEVICE_MAX)
        return vgpu__fail(err, VGPU__INVALID, "scan count %d is outside 0-%d", scan->count,
                          VGPU_DEVICE_MAX);
    for (int i = 0; i < scan->count; i++) {
        const struct vgpu_gpu *g = &scan->gpu[i];
        if (!field_ok(g->uuid, sizeof(g->uuid), true) || !g->uuid[0])
            return vgpu__fail(err, VGPU__INVALID, "scan entry %d has no valid UUID", i);
        if (!field_ok(g->name, sizeof(g->name), false) ||
            !field_ok(g->pci_bus_id, sizeof(g->pci_bus_id), false))
            return vgpu__fail(err, VGPU__INVALID, "scan entry %d (%s) has an unterminated field", i,
                              g->uuid);
        if (g->mem_total > (uint64_t)INT64_MAX)
            return vgpu__fail(err, VGPU__INVALID, "scan entry %d (%s) has an impossible size", i,
                              g->uuid);
        if (g->parent != -1 && (g->parent < 0 || g->parent >= scan->count || g->parent == i ||
                                scan->gpu[g->parent].parent != -1))
            return vgpu__fail(err, VGPU__INVALID,
                              "scan entry %d (%s) names parent %d, which is not a physical GPU "
                              "of the scan",
                              i, g->uuid, g->parent);
        for (int j = 0; j < i; j++) {
            if (strcmp(scan->gpu[j].uuid, g->uuid) == 0)
                return vgpu__fail(err, VGPU__INVALID, "scan lists %s twice", g->uuid);
        }
    }
    return 0;
}

static int sync_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu_scan *scan = ctx;
    sqlite3_stmt *st = NULL;
    int64_t now = vgpu__now();
    int rc = vgpu__exec(s, "UPDATE gpus SET state = 'missing' WHERE state = 'present'", err);

    if (rc < 0)
        return rc;
    st = vgpu__prepare(s,
                       "INSERT INTO gpus (uuid, name, pci_bus_id, mem_total, nvml_index,"
                       " cuda_ordinal, parent_uuid, mig_enabled, state, first_seen, last_seen)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'present', ?9, ?9)"
                       " ON CONFLICT (uuid) DO UPDATE SET name = excluded.name,"
                       " pci_bus_id = excluded.pci_bus_id, mem_total = excluded.mem_total,"
                       " nvml_index = excluded.nvml_index, cuda_ordinal = excluded.cuda_ordinal,"
                       " parent_uuid = excluded.parent_uuid, mig_enabled = excluded.mig_enabled,"
                       " state = 'present', last_seen = excluded.last_seen",
                       err);
    if (!st)
        return -EIO;
    for (int i = 0; i < scan->count && rc == 0; i++) {
        const struct vgpu_gpu *g = &scan->gpu[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, g->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, g->pci_bus_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)g->mem_total);
        sqlite3_bind_int(st, 5, g->nvml_index);
        if (g->cuda_ordinal >= 0)
            sqlite3_bind_int(st, 6, g->cuda_ordinal);
        else
            sqlite3_bind_null(st, 6);
        if (g->parent >= 0)
            sqlite3_bind_text(st, 7, scan->gpu[g->parent].uuid, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 7);
        sqlite3_bind_int(st, 8, g->mig_enabled ? 1 : 0);
        sqlite3_bind_int64(st, 9, now);
        rc = vgpu__step_done(s, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_sync_gpus(struct vgpu_store *s, const struct vgpu_scan *scan, struct vgpu_err *err)
{
    int rc;

    vgpu__err_clear(err);
    rc = check_scan(scan, err);
    if (rc == 0)
        rc = vgpu__tx(s, sync_tx, (void *)scan, err);
    return rc;
}

json_t *vgpu_store_gpus(struct vgpu_store *s)
{
    sqlite3_stmt *st = vgpu__prepare(s, gpu_rows, NULL);
    sqlite3_stmt *pst = vgpu__prepare(s, /* the pools a GPU serves, by name */
                                      "SELECT pool FROM pool_gpus WHERE gpu_uuid = ?1"
                                      " ORDER BY pool",
                                      NULL);
    json_t *out = json_array(), *ret = NULL;
    int index = 0, step;

    if (!st || !pst || !out)
        goto cleanup;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        bool present = strcmp((const char *)sqlite3_column_text(st, 8), "present") == 0;
        json_t *pools = vgpu__column_list(pst, (const char *)sqlite3_column_text(st, 0));
        json_t *o = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "index",
            present ? json_integer(index) : json_null(), "uuid", vgpu__column_json(st, 0), "name",
            vgpu__column_json(st, 1), "pci_bus_id", vgpu__column_json(st, 2), "memory_total",
            vgpu__column_json(st, 3), "nvml_index", vgpu__column_json(st, 4), "cuda_ordinal",
            vgpu__column_json(st, 5), "parent", vgpu__column_json(st, 6), "mig_enabled",
            sqlite3_column_int(st, 7) != 0, "state", vgpu__column_json(st, 8), "pools", pools);
        if (!o || json_array_append_new(out, o) != 0)
            goto cleanup;
        index += present;
    }
    if (step != SQLITE_DONE) {
        vgpu__sqlfail(s, NULL, "listing GPUs");
        goto cleanup;
    }
    ret = out;
    out = NULL;
cleanup:
    json_decref(out);
    sqlite3_finalize(st);
    sqlite3_finalize(pst);
    return ret;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
    }
    return true;
}

int vgpu__gpu_resolve(struct vgpu_store *s, const char *ref, struct vgpu__gpu_ref *out,
                      struct vgpu_err *err)
{
    sqlite3_stmt *st = vgpu__prepare(s, gpu_rows, err);
    bool by_index = all_digits(ref);
    long want = by_index && strlen(ref) <= 6 ? strtol(ref, NULL, 10) : -1;
    size_t reflen = strlen(ref);
    long index = 0;
    int matches = 0, step, rc = -EIO;
    char other[VGPU__GPU_REF_MAX] = "";

    if (!st)
        return -EIO;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *uuid = (const char *)sqlite3_column_text(st, 0);
        bool present = strcmp((const char *)sqlite3_column_text(st, 8), "present") == 0;
        bool exact = false, hit;
        if (by_index) {
            hit = present && index == want;
            index += present;
        } else {
            exact = strcasecmp(uuid, ref) == 0;
            hit = exact || (reflen >= PREFIX_MIN && strncasecmp(uuid, ref, reflen) == 0);
        }
        if (!hit)
            continue;
        if (matches++ == 0 || by_index || exact) {
            vgpu_strlcpy(out->uuid, uuid, sizeof(out->uuid));
            out->present = present;
            out->mig_enabled = sqlite3_column_int(st, 7) != 0;
        } else if (!other[0]) {
            vgpu_strlcpy(other, uuid, sizeof(other));
        }
        if (by_index || exact) { /* one answer, whatever prefixes matched before */
            matches = 1;
            step = SQLITE_DONE;
            break;
        }
    }
    if (step != SQLITE_DONE) {
        vgpu__sqlfail(s, err, "looking up a GPU");
        goto cleanup;
    }
    if (matches == 1)
        rc = 0;
    else if (by_index)
        rc = vgpu__fail(err, VGPU__NOTFOUND, "gpu '%s': no present GPU has index %s (%ld present)",
                        ref, ref, index);
    else if (reflen < PREFIX_MIN)
        rc = vgpu__fail(err, VGPU__INVALID,
                        "gpu '%s': not a known UUID, and a UUID prefix needs at least %d "
                        "characters",
                        ref, PREFIX_MIN);
    else if (matches == 0)
        rc = vgpu__fail(err, VGPU__NOTFOUND, "gpu '%s': no known GPU has this UUID or prefix", ref);
    else
        rc = vgpu__fail(err, VGPU__INVALID, "gpu '%s' is ambiguous: it matches %s, %s%s", ref,
                        out->uuid, other, matches > 2 ? " and more" : "");
cleanup:
    sqlite3_finalize(st);
    return rc;
}

int vgpu__gpu_assignable(const struct vgpu__gpu_ref *g, const char *ref, struct vgpu_err *err)
{
    if (!g->present)
        return vgpu__fail(err, VGPU__NOTFOUND,
                          "gpu '%s': %s is missing (the last scan did not see it)", ref, g->uuid);
    if (g->mig_enabled)
        return vgpu__fail(err, VGPU__CONFLICT,
                          "gpu '%s': %s is in MIG mode; assign its MIG instances instead", ref,
                          g->uuid);
    return 0;
}

static int assign_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    struct vgpu__gpu_ref g;
    sqlite3_stmt *st;
    int rc = vgpu__pool_exists(s, a->t.pool, err);

    if (rc == 0)
        rc = vgpu__gpu_resolve(s, a->gpu, &g, err);
    if (rc == 0)
        rc = vgpu__gpu_assignable(&g, a->gpu, err);
    if (rc < 0)
        return rc;
    st = vgpu__prepare(s, "INSERT OR IGNORE INTO pool_gpus (pool, gpu_uuid) VALUES (?1, ?2)", err);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, a->t.pool, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g.uuid, -1, SQLITE_STATIC);
    rc = vgpu__step_done(s, st, err);
    sqlite3_finalize(st);
    return rc;
}

static int unassign_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    struct vgpu__gpu_ref g;
    sqlite3_stmt *st;
    int rc = vgpu__pool_exists(s, a->t.pool, err);

    if (rc == 0)
        rc = vgpu__gpu_resolve(s, a->gpu, &g, err);
    if (rc < 0)
        return rc;
    st = vgpu__prepare(s, "DELETE FROM pool_gpus WHERE pool = ?1 AND gpu_uuid = ?2", err);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, a->t.pool, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g.uuid, -1, SQLITE_STATIC);
    rc = vgpu__step_done(s, st, err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = vgpu__fail(err, VGPU__NOTFOUND, "gpu '%s': %s is not in pool %s", a->gpu, g.uuid,
                        a->t.pool);
    sqlite3_finalize(st);
    return rc;
}

static int assign_common(struct vgpu_store *s, const json_t *args, bool assign,
                         struct vgpu_err *err)
{
    struct vgpu__args a;
    unsigned keys = VGPU__A(GPU) | VGPU__A(POOL);
    int rc;

    vgpu__err_clear(err);
    rc = vgpu__args_parse(args, keys, keys, &a, err);
    if (rc == 0)
        rc = vgpu__tx(s, assign ? assign_tx : unassign_tx, &a, err);
    return rc;
}

int vgpu_store_assign_gpu(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return assign_common(s, args, true, err);
}

int vgpu_store_unassign_gpu(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return assign_common(s, args, false, err);
}
