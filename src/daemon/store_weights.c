/* store_weights: the priority weights, the one setting the store keeps so
 * far (the settings table, key "weight.<class>").
 *
 * A weight is how much GPU time a backlogged tenant of that class gets
 * relative to the others: with high=4, medium=2, low=1 a high tenant gets
 * twice a medium one's share. All three are set together, so the scheduler
 * never sees a half-changed table. Migration 1 writes the defaults. */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>

static int weights_tx(struct vgpu_store *s, void *ctx, struct vgpu_err *err)
{
    const struct vgpu__args *a = ctx;
    sqlite3_stmt *st = vgpu__prepare(s,
                                     "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                     err);
    int rc = 0;

    if (!st)
        return -EIO;
    for (int c = 0; c < 3 && rc == 0; c++) {
        char key[32];
        snprintf(key, sizeof(key), "weight.%s", vgpu__priorities[c]);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, a->weights[c]);
        rc = vgpu__step_done(s, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_set_weights(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct vgpu__args a;
    int rc;

    vgpu__err_clear(err);
    rc = vgpu__args_parse(args, VGPU__A(WEIGHTS), VGPU__A(WEIGHTS), &a, err);
    if (rc == 0)
        rc = vgpu__tx(s, weights_tx, &a, err);
    return rc;
}

json_t *vgpu_store_weights(struct vgpu_store *s)
{
    json_t *out = json_object();

    for (int c = 0; out && c < 3; c++) {
        char key[32];
        int64_t w;
        snprintf(key, sizeof(key), "weight.%s", vgpu__priorities[c]);
        if (vgpu__query_int(s, "SELECT value FROM settings WHERE key = ?1", key, &w, NULL) < 0 ||
            json_object_set_new(out, vgpu__priorities[c], json_integer(w)) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}
