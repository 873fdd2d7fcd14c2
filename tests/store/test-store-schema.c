/* The database file: migrations from nothing (a new file, an empty file,
 * :memory:), the refusal of a schema newer than this vgpud, a failed
 * migration leaving the database as it was, the directory created for the
 * database, files that are not databases, the connection settings (WAL),
 * and the schema's CHECK and REFERENCES constraints, which hold even for
 * SQL written around the store. */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static sqlite3 *raw(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

static long long raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4200);
    assert_non_null(p);
    snprintf(p, 4200, "%s/%s", dir, name);
    return p;
}

static void check_v1(const char *path)
{
    sqlite3 *db = raw(path);
    sqlite3_stmt *st;

    assert_int_equal(raw_int(db, "PRAGMA user_version"), VGPU_STORE_SCHEMA);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name"
                                 " IN ('gpus', 'pools', 'pool_gpus', 'tenants', 'settings')"),
                     5);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_migrates_new_and_empty_files(void **unused)
{
    char *dir = fx_tmpdir(), *fresh = path_in(dir, "new.db"), *empty = path_in(dir, "empty.db");
    struct vgpu_store *s;
    json_t *w;
    int fd = open(empty, O_CREAT | O_WRONLY, 0600);

    assert_true(fd >= 0);
    close(fd);
    s = fx_open(fresh);
    assert_int_equal(vgpu_store_close(s), 0);
    check_v1(fresh);
    s = fx_open(empty);
    w = vgpu_store_weights(s);
    fx_assert_text(w, "{\"high\": 4, \"medium\": 2, \"low\": 1}", "default weights");
    json_decref(w);
    assert_int_equal(vgpu_store_close(s), 0);
    check_v1(empty);
    /* opening again applies nothing and keeps the data */
    s = fx_open(empty);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    assert_int_equal(vgpu_store_close(s), 0);
    s = fx_open(empty);
    w = vgpu_store_pools(s);
    assert_int_equal(json_array_size(w), 1);
    json_decref(w);
    assert_int_equal(vgpu_store_close(s), 0);
    check_v1(empty);
    free(fresh);
    free(empty);
    fx_rmdir(dir);
}

/* A database written by a schema-2 vgpud (before gid bindings) is migrated
 * in place: its tenants stay, unbound by gid, and can be bound. */
static void test_migrates_schema_2(void **unused)
{
    char *dir = fx_tmpdir(), *path = path_in(dir, "vgpu.db");
    struct vgpu_store *s = fx_open(path);
    sqlite3 *db;
    json_t *t;

    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    fx_ok(s, vgpu_store_tenant_add,
          "{\"name\": \"old\", \"pool\": \"A\", \"share\": 30, \"bind_uid\": 1234}");
    assert_int_equal(vgpu_store_close(s), 0);
    db = raw(path); /* back to what schema 2 wrote */
    raw_exec(db,
             "ALTER TABLE tenants DROP COLUMN exec_limit_ms;"
             " ALTER TABLE tenants DROP COLUMN exec_policy;"
             " DROP TRIGGER tenants_one_binding_insert; DROP TRIGGER tenants_one_binding_update;"
             " DROP INDEX tenants_bind_gid; ALTER TABLE tenants DROP COLUMN bind_gid;"
             " PRAGMA user_version = 2");
    sqlite3_close(db);
    s = fx_open(path);
    t = vgpu_store_tenant(s, "old");
    assert_int_equal(json_integer_value(json_object_get(t, "share")), 30);
    assert_int_equal(json_integer_value(json_object_get(t, "bind_uid")), 1234);
    assert_true(json_is_null(json_object_get(t, "bind_gid")));
    json_decref(t);
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"old\", \"bind_uid\": null, \"bind_gid\": 77}");
    assert_int_equal(vgpu_store_close(s), 0);
    db = raw(path);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), VGPU_STORE_SCHEMA);
    assert_int_equal(raw_int(db, "SELECT bind_gid FROM tenants WHERE name = 'old'"), 77);
    sqlite3_close(db);
    free(path);
    fx_rmdir(dir);
}

/* A database written by a schema-3 vgpud (before the watchdog) is migrated
 * in place: its tenants get no execution time limit and the warn policy,
 * and can be given both. */
static void test_migrates_schema_3(void **unused)
{
    char *dir = fx_tmpdir(), *path = path_in(dir, "vgpu.db");
    struct vgpu_store *s = fx_open(path);
    sqlite3 *db;
    json_t *t;

    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    fx_ok(s, vgpu_store_tenant_add, "{\"name\": \"old\", \"pool\": \"A\", \"share\": 30}");
    assert_int_equal(vgpu_store_close(s), 0);
    db = raw(path);
    raw_exec(db, "ALTER TABLE tenants DROP COLUMN exec_limit_ms;"
                 " ALTER TABLE tenants DROP COLUMN exec_policy; PRAGMA user_version = 3");
    sqlite3_close(db);
    s = fx_open(path);
    t = vgpu_store_tenant(s, "old");
    assert_int_equal(json_integer_value(json_object_get(t, "share")), 30);
    assert_int_equal(json_integer_value(json_object_get(t, "exec_limit_ms")), 0);
    assert_string_equal(json_string_value(json_object_get(t, "exec_policy")), "warn");
    json_decref(t);
    fx_ok(s, vgpu_store_tenant_set,
          "{\"name\": \"old\", \"exec_limit\": \"1.5s\", \"exec_policy\": \"kill\"}");
    t = vgpu_store_tenant(s, "old");
    assert_int_equal(json_integer_value(json_object_get(t, "exec_limit_ms")), 1500);
    assert_string_equal(json_string_value(json_object_get(t, "exec_policy")), "kill");
    json_decref(t);
    assert_int_equal(vgpu_store_close(s), 0);
    db = raw(path);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), VGPU_STORE_SCHEMA);
    sqlite3_close(db);
    free(path);
    fx_rmdir(dir);
}

static void test_memory_database(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    json_t *all = fx_snapshot(s);

    fx_assert_text(all,
                   "{\"gpus\": [], \"pools\": [], \"tenants\": [],"
                   " \"weights\": {\"high\": 4, \"medium\": 2, \"low\": 1}}",
                   "a new store");
    json_decref(all);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_refuses_newer_schema(void **unused)
{
    char *dir = fx_tmpdir(), *path = path_in(dir, "vgpu.db");
    struct vgpu_store *s = (struct vgpu_store *)&s; /* anything but NULL: open must clear it */
    struct vgpu_err e;
    sqlite3 *db = raw(path);

    raw_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 99");
    sqlite3_close(db);
    assert_int_equal(vgpu_store_open(path, &s, &e), -EBUSY);
    assert_null(s);
    assert_string_equal(e.code, "conflict");
    char want[80];
    snprintf(want, sizeof(want), "database schema 99 is newer than this vgpud (%d)",
             VGPU_STORE_SCHEMA);
    assert_string_equal(e.msg, want);
    db = raw(path);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), 99);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tenants'"), 0);
    sqlite3_close(db);
    free(path);
    fx_rmdir(dir);
}

/* Migration 1 fails halfway (a table of that name is already there): the
 * database keeps user_version 0 and none of the tables created before. */
static void test_failed_migration_changes_nothing(void **unused)
{
    char *dir = fx_tmpdir(), *path = path_in(dir, "vgpu.db");
    struct vgpu_store *s = NULL;
    struct vgpu_err e;
    sqlite3 *db = raw(path);

    raw_exec(db, "CREATE TABLE tenants (whatever)");
    sqlite3_close(db);
    assert_int_equal(vgpu_store_open(path, &s, &e), -EIO);
    assert_string_equal(e.code, "internal");
    assert_non_null(strstr(e.msg, "schema 1"));
    assert_non_null(strstr(e.msg, path));
    db = raw(path);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), 0);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'gpus'"), 0);
    sqlite3_close(db);
    free(path);
    fx_rmdir(dir);
}

static void test_creates_the_directory(void **unused)
{
    char *dir = fx_tmpdir(), *a = path_in(dir, "state"), *b = path_in(dir, "state/vgpu");
    char *path = path_in(dir, "state/vgpu/vgpu.db");
    struct vgpu_store *s;
    struct stat sb;
    mode_t old = umask(022);

    s = fx_open(path);
    assert_int_equal(vgpu_store_close(s), 0);
    umask(old);
    assert_int_equal(stat(a, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0750);
    assert_int_equal(stat(b, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0750);
    check_v1(path);
    unlink(path);
    {
        char *wal = path_in(dir, "state/vgpu/vgpu.db-wal"),
             *shm = path_in(dir, "state/vgpu/vgpu.db-shm");
        unlink(wal);
        unlink(shm);
        free(wal);
        free(shm);
    }
    rmdir(b);
    rmdir(a);
    free(a);
    free(b);
    free(path);
    fx_rmdir(dir);
}

static void test_bad_files(void **unused)
{
    char *dir = fx_tmpdir(), *file = path_in(dir, "file"), *below = path_in(dir, "file/vgpu.db");
    char *junk = path_in(dir, "junk.db");
    struct vgpu_store *s = NULL;
    struct vgpu_err e;
    char garbage[8192];
    FILE *f = fopen(file, "w");

    assert_non_null(f);
    fclose(f);
    assert_int_equal(vgpu_store_open(below, &s, &e), -EIO);
    assert_non_null(strstr(e.msg, "cannot create directory"));
    assert_non_null(strstr(e.msg, file));

    memset(garbage, 'j', sizeof(garbage));
    f = fopen(junk, "w");
    assert_non_null(f);
    fwrite(garbage, 1, sizeof(garbage), f);
    fclose(f);
    assert_int_equal(vgpu_store_open(junk, &s, &e), -EIO);
    assert_string_equal(e.code, "internal");
    assert_non_null(strstr(e.msg, junk));
    assert_null(s);

    assert_int_equal(vgpu_store_open("", &s, &e), -EINVAL);
    assert_int_equal(vgpu_store_open(NULL, &s, &e), -EINVAL);
    free(file);
    free(below);
    free(junk);
    fx_rmdir(dir);
}

static void expect_refused(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        fail_msg("the schema accepted: %s", sql);
}

static void test_constraints_hold_without_the_store(void **unused)
{
    char *dir = fx_tmpdir(), *path = path_in(dir, "vgpu.db");
    struct vgpu_store *s = fx_open(path);
    sqlite3 *db;

    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    assert_int_equal(vgpu_store_close(s), 0);
    db = raw(path);
    raw_exec(db, "PRAGMA foreign_keys = ON");
    raw_exec(db, "INSERT INTO tenants (name, pool, priority, memory, share, rate, burst,"
                 " max_inflight, state, created, updated)"
                 " VALUES ('ok', 'A', 'low', 0, 0, 0, 0, 0, 'active', 0, 0)");
#define T                                                                                          \
    "INSERT INTO tenants (name, vm_id, pool, priority, memory, share, rate, burst,"                \
    " max_inflight, bind_uid, bind_cgroup, state, created, updated) VALUES "
    expect_refused(db, T "('t', NULL, 'A', 'urgent', 0, 0, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', 0, 101, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', -1, 0, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', '8GiB', 0, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
    expect_refused(db, T "('t', 0, 'A', 'low', 0, 0, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', 0, 0, 0, 0, 0, 5, '/x', 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', 0, 0, 0, 0, 0, NULL, 'x', 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', 0, 0, 0, 0, 0, NULL, '/a/..', 'active', 0, 0)");
    expect_refused(db, T "('t', NULL, 'A', 'low', 0, 0, 0, 0, 0, NULL, NULL, 'paused', 0, 0)");
    expect_refused(db, T "('t', NULL, 'Z', 'low', 0, 0, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
    expect_refused(db, T "('ok', NULL, 'A', 'low', 0, 0, 0, 0, 0, NULL, NULL, 'active', 0, 0)");
#undef T
    /* schema 3: a gid binding, unique, never beside another binding */
    expect_refused(db, "UPDATE tenants SET bind_gid = 4294967295 WHERE name = 'ok'");
    expect_refused(db, "UPDATE tenants SET bind_gid = 'staff' WHERE name = 'ok'");
    raw_exec(db, "UPDATE tenants SET bind_gid = 100 WHERE name = 'ok'");
    expect_refused(db, "UPDATE tenants SET bind_uid = 5 WHERE name = 'ok'");
    expect_refused(db, "UPDATE tenants SET bind_cgroup = '/x' WHERE name = 'ok'");
    expect_refused(db, "INSERT INTO tenants (name, pool, priority, memory, share, rate, burst,"
                       " max_inflight, bind_gid, state, created, updated)"
                       " VALUES ('g', 'A', 'low', 0, 0, 0, 0, 0, 100, 'active', 0, 0)");
    raw_exec(db, "UPDATE tenants SET bind_gid = NULL WHERE name = 'ok'");
    expect_refused(db, "DELETE FROM pools WHERE name = 'A'"); /* a tenant uses it */
    expect_refused(db, "INSERT INTO pool_gpus (pool, gpu_uuid) VALUES ('A', 'GPU-none')");
    expect_refused(db,
                   "INSERT INTO gpus VALUES ('GPU-x', 'n', 'p', 1, 0, 0, NULL, 0, 'gone', 0, 0)");
    sqlite3_close(db);
    free(path);
    fx_rmdir(dir);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_migrates_new_and_empty_files),
    cmocka_unit_test(test_migrates_schema_2),
    cmocka_unit_test(test_migrates_schema_3),
    cmocka_unit_test(test_memory_database),
    cmocka_unit_test(test_refuses_newer_schema),
    cmocka_unit_test(test_failed_migration_changes_nothing),
    cmocka_unit_test(test_creates_the_directory),
    cmocka_unit_test(test_bad_files),
    cmocka_unit_test(test_constraints_hold_without_the_store),
};

FX_MAIN(tests)
