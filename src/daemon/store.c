/* store: opening vgpud's SQLite database, its schema migrations, and the
 * helpers every other store_*.c file uses (errors, statements, transactions).
 *
 * Opening creates the directory the database lives in (0750, like
 * /var/lib/vgpu), opens it without SQLite's own mutexes (vgpud touches the
 * store from one thread), and sets WAL journaling with synchronous=NORMAL:
 * a transaction is either wholly in the WAL or not at all, so a vgpud
 * killed at any instant leaves the last committed state, and a commit costs
 * no fsync (a power cut may lose the last commits, never consistency).
 * Foreign keys are on, so the schema's REFERENCES clauses hold.
 *
 * The schema is a list of migrations, one SQL script each; PRAGMA
 * user_version says how many a database has had. Opening applies the
 * missing ones in order, each in its own transaction together with the new
 * user_version, and refuses a database from a newer vgpud instead of
 * guessing at a schema it does not know. A migration is never edited once
 * released: a change is a new entry at the end.
 *
 * Errors: every public function returns 0 or a negative errno and fills a
 * struct vgpu_err with a code (invalid_argument -EINVAL, not_found -ENOENT,
 * already_exists -EEXIST, conflict -EBUSY, internal -EIO) and a message;
 * the first error recorded is the one reported. */
#include "store_internal.h"

#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const migrations[] = {
    /* 1: GPUs, pools, tenants, settings. Every CHECK repeats a rule that
     * store_args.c enforces with a better message; they are the second line
     * of defence against a bug or a hand edit. */
    "CREATE TABLE gpus ("
    "  uuid TEXT PRIMARY KEY NOT NULL CHECK (length(uuid) BETWEEN 1 AND 95),"
    "  name TEXT NOT NULL,"
    "  pci_bus_id TEXT NOT NULL,"
    "  mem_total INTEGER NOT NULL CHECK (typeof(mem_total) = 'integer' AND mem_total >= 0),"
    "  nvml_index INTEGER NOT NULL CHECK (typeof(nvml_index) = 'integer'),"
    "  cuda_ordinal INTEGER CHECK (cuda_ordinal IS NULL OR typeof(cuda_ordinal) = 'integer'),"
    "  parent_uuid TEXT REFERENCES gpus(uuid) DEFERRABLE INITIALLY DEFERRED,"
    "  mig_enabled INTEGER NOT NULL CHECK (mig_enabled IN (0, 1)),"
    "  state TEXT NOT NULL CHECK (state IN ('present', 'missing')),"
    "  first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL"
    ");"
    "CREATE TABLE pools ("
    "  name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 63),"
    "  created INTEGER NOT NULL"
    ");"
    "CREATE TABLE pool_gpus ("
    "  pool TEXT NOT NULL REFERENCES pools(name) ON DELETE CASCADE,"
    "  gpu_uuid TEXT NOT NULL REFERENCES gpus(uuid),"
    "  PRIMARY KEY (pool, gpu_uuid)"
    ");"
    "CREATE INDEX pool_gpus_gpu ON pool_gpus(gpu_uuid);"
    "CREATE TABLE tenants ("
    "  name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 63),"
    "  vm_id INTEGER UNIQUE"
    "    CHECK (vm_id IS NULL OR (typeof(vm_id) = 'integer' AND vm_id BETWEEN 1 AND 2147483647)),"
    "  pool TEXT NOT NULL REFERENCES pools(name),"
    "  priority TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),"
    "  memory INTEGER NOT NULL CHECK (typeof(memory) = 'integer' AND memory >= 0),"
    "  share INTEGER NOT NULL CHECK (typeof(share) = 'integer' AND share BETWEEN 0 AND 100),"
    "  rate INTEGER NOT NULL CHECK (typeof(rate) = 'integer' AND rate >= 0),"
    "  burst INTEGER NOT NULL CHECK (typeof(burst) = 'integer' AND burst >= 0),"
    "  max_inflight INTEGER NOT NULL"
    "    CHECK (typeof(max_inflight) = 'integer' AND max_inflight >= 0),"
    "  bind_uid INTEGER UNIQUE CHECK (bind_uid IS NULL"
    "    OR (typeof(bind_uid) = 'integer' AND bind_uid BETWEEN 0 AND 4294967294)),"
    "  bind_cgroup TEXT UNIQUE CHECK (bind_cgroup IS NULL"
    "    OR (substr(bind_cgroup, 1, 1) = '/' AND length(bind_cgroup) < 4096"
    "        AND instr(bind_cgroup, '..') = 0)),"
    "  state TEXT NOT NULL CHECK (state IN ('active', 'quarantined')),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  CHECK (bind_uid IS NULL OR bind_cgroup IS NULL)"
    ");"
    "CREATE INDEX tenants_pool ON tenants(pool);"
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value NOT NULL"
    ");"
    "INSERT INTO settings (key, value) VALUES"
    "  ('weight.high', 4), ('weight.medium', 2), ('weight.low', 1);",
    /* 2: tokens an admin issued: SHA-256 of the token (never the token), and
     * either the tenant it admits to or admin rights. */
    "CREATE TABLE tokens ("
    "  hash TEXT PRIMARY KEY NOT NULL CHECK (length(hash) = 64),"
    "  tenant TEXT REFERENCES tenants(name) ON DELETE CASCADE,"
    "  admin INTEGER NOT NULL CHECK (admin IN (0, 1)),"
    "  created INTEGER NOT NULL,"
    "  CHECK ((tenant IS NULL) = (admin = 1))"
    ");",
    /* 3: a tenant may be bound to a group (every member's processes), as an
     * alternative to a uid or a cgroup; one binding per gid. */
    "ALTER TABLE tenants ADD COLUMN bind_gid INTEGER CHECK (bind_gid IS NULL"
    "  OR (typeof(bind_gid) = 'integer' AND bind_gid BETWEEN 0 AND 4294967294));"
    "CREATE UNIQUE INDEX tenants_bind_gid ON tenants(bind_gid) WHERE bind_gid IS NOT NULL;"
    "CREATE TRIGGER tenants_one_binding_insert BEFORE INSERT ON tenants"
    "  WHEN NEW.bind_gid IS NOT NULL AND (NEW.bind_uid IS NOT NULL OR NEW.bind_cgroup IS NOT NULL)"
    "  BEGIN SELECT RAISE(ABORT, 'a tenant has at most one binding'); END;"
    "CREATE TRIGGER tenants_one_binding_update BEFORE UPDATE ON tenants"
    "  WHEN NEW.bind_gid IS NOT NULL AND (NEW.bind_uid IS NOT NULL OR NEW.bind_cgroup IS NOT NULL)"
    "  BEGIN SELECT RAISE(ABORT, 'a tenant has at most one binding'); END;",
    /* 4: the watchdog: how long a tenant may hold a GPU past its quantum,
     * and what happens then. */
    "ALTER TABLE tenants ADD COLUMN exec_limit_ms INTEGER NOT NULL DEFAULT 0"
    "  CHECK (typeof(exec_limit_ms) = 'integer' AND exec_limit_ms BETWEEN 0 AND 86400000);"
    "ALTER TABLE tenants ADD COLUMN exec_policy TEXT NOT NULL DEFAULT 'warn'"
    "  CHECK (exec_policy IN ('warn', 'quarantine', 'kill'));",
};
#define MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == VGPU_STORE_SCHEMA,
               "VGPU_STORE_SCHEMA must equal the number of migrations");

static const char *const code_names[] = {
    [VGPU__INVALID] = "invalid_argument", [VGPU__NOTFOUND] = "not_found",
    [VGPU__EXISTS] = "already_exists",    [VGPU__CONFLICT] = "conflict",
    [VGPU__INTERNAL] = "internal",
};
static const int code_errno[] = {
    [VGPU__INVALID] = -EINVAL, [VGPU__NOTFOUND] = -ENOENT, [VGPU__EXISTS] = -EEXIST,
    [VGPU__CONFLICT] = -EBUSY, [VGPU__INTERNAL] = -EIO,
};

void vgpu__err_clear(struct vgpu_err *err)
{
    if (err) {
        err->code[0] = '\0';
        err->msg[0] = '\0';
    }
}

int vgpu__fail(struct vgpu_err *err, enum vgpu__code code, const char *fmt, ...)
{
    if (err && err->code[0] == '\0') {
        va_list ap;
        vgpu_strlcpy(err->code, code_names[code], sizeof(err->code));
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code_errno[code];
}

int vgpu__sqlfail(struct vgpu_store *s, struct vgpu_err *err, const char *what)
{
    vgpu_error("store: %s: %s", what, sqlite3_errmsg(s->db));
    return vgpu__fail(err, VGPU__INTERNAL, "database error while %s: %s", what,
                      sqlite3_errmsg(s->db));
}

const char *vgpu__show(const json_t *v, char *buf, size_t len)
{
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    const char *p = text ? text : "(nothing)";
    size_t o = 0;

    /* JSON leaves DEL (0x7f) unescaped; a terminal should not see it. */
    for (; *p; p++) {
        size_t need = *p == 0x7f ? 6 : 1;
        if (o + need >= len)
            break;
        if (need == 6)
            memcpy(buf + o, "\\u007f", 6);
        else
            buf[o] = *p;
        o += need;
    }
    if (*p) { /* cut: make room for "..." */
        while (o > 0 && o + 4 > len)
            o--;
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    free(text);
    return buf;
}

int64_t vgpu__now(void)
{
    return (int64_t)time(NULL);
}

int vgpu__exec(struct vgpu_store *s, const char *sql, struct vgpu_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return vgpu__sqlfail(s, err, "running SQL");
    return 0;
}

sqlite3_stmt *vgpu__prepare(struct vgpu_store *s, const char *sql, struct vgpu_err *err)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        vgpu__sqlfail(s, err, "preparing a statement");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

int vgpu__step_done(struct vgpu_store *s, sqlite3_stmt *st, struct vgpu_err *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return vgpu__sqlfail(s, err, "writing");
    return 0;
}

int vgpu__query_int(struct vgpu_store *s, const char *sql, const char *text, int64_t *out,
                    struct vgpu_err *err)
{
    sqlite3_stmt *st = vgpu__prepare(s, sql, err);
    int rc = -EIO, step;

    if (!st)
        return -EIO;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else if (step == SQLITE_DONE) {
        *out = 0;
    } else {
        vgpu__sqlfail(s, err, "reading");
        goto cleanup;
    }
    rc = 0;
cleanup:
    sqlite3_finalize(st);
    return rc;
}

int vgpu__tx(struct vgpu_store *s, int (*fn)(struct vgpu_store *, void *, struct vgpu_err *),
             void *ctx, struct vgpu_err *err)
{
    int rc = vgpu__exec(s, "BEGIN IMMEDIATE", err);

    if (rc < 0)
        return rc;
    rc = fn(s, ctx, err);
    if (rc == 0)
        rc = vgpu__exec(s, "COMMIT", err);
    /* A failed COMMIT (SQLITE_BUSY) leaves the transaction open. */
    if (rc < 0 && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

json_t *vgpu__column_json(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(st, col));
    default: return json_null();
    }
}

json_t *vgpu__column_list(sqlite3_stmt *st, const char *key)
{
    json_t *list = json_array();
    int step;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    while (list && (step = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(list, vgpu__column_json(st, 0));
    if (list && step != SQLITE_DONE) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/* mkdir -p of the directory part of `path`; new directories get 0750. */
static int make_parent(const char *path, struct vgpu_err *err)
{
    char dir[4096];
    char *slash;

    if (vgpu_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
        return vgpu__fail(err, VGPU__INVALID, "database path is too long (%zu bytes)",
                          strlen(path));
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        char saved = *p;
        struct stat sb;
        if (saved != '/' && saved != '\0')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) != 0 &&
            (errno != EEXIST || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
            int e = errno == EEXIST ? ENOTDIR : errno;
            return vgpu__fail(err, VGPU__INTERNAL,
                              "cannot create directory %s for the database: %s", dir, strerror(e));
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

/* Applies the missing migrations, each with its user_version in one
 * transaction; the version is read inside it, so two vgpuds opening one
 * database at once cannot both apply the same migration. */
static int migrate(struct vgpu_store *s, struct vgpu_err *err)
{
    for (;;) {
        int64_t version;
        char sql[64];
        int rc = vgpu__exec(s, "BEGIN IMMEDIATE", err);
        if (rc < 0)
            return rc;
        rc = vgpu__query_int(s, "PRAGMA user_version", NULL, &version, err);
        if (rc == 0 && version > MIGRATIONS)
            rc = vgpu__fail(err, VGPU__CONFLICT,
                            "database schema %lld is newer than this vgpud (%d)",
                            (long long)version, MIGRATIONS);
        if (rc == 0 && version < 0)
            rc = vgpu__fail(err, VGPU__INTERNAL, "database schema %lld is not a vgpu schema",
                            (long long)version);
        if (rc == 0 && version == MIGRATIONS) {
            rc = vgpu__exec(s, "COMMIT", err);
            if (rc == 0)
                return 0;
        }
        if (rc == 0) {
            snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)version + 1);
            if (sqlite3_exec(s->db, migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
                char what[64];
                snprintf(what, sizeof(what), "migrating to schema %lld", (long long)version + 1);
                rc = vgpu__sqlfail(s, err, what);
            }
        }
        if (rc == 0)
            rc = vgpu__exec(s, sql, err);
        if (rc == 0)
            rc = vgpu__exec(s, "COMMIT", err);
        if (rc < 0) {
            if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        vgpu_info("store: database migrated to schema %lld", (long long)version + 1);
    }
}

/* Connection settings; see the comment at the top. */
static int configure(struct vgpu_store *s, bool memory, struct vgpu_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    st = vgpu__prepare(s, "PRAGMA journal_mode = WAL", err);
    if (!st)
        return -EIO;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = vgpu__sqlfail(s, err, "setting the journal mode");
        goto cleanup;
    }
    if (!memory && strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        vgpu_warn("store: the database cannot use WAL (journal mode %s); a rollback journal "
                  "keeps it consistent, with more fsyncs",
                  (const char *)sqlite3_column_text(st, 0));
    rc = vgpu__exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err);
cleanup:
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_open(const char *path, struct vgpu_store **out, struct vgpu_err *err)
{
    struct vgpu_store *s = NULL;
    bool memory;
    int rc;

    vgpu__err_clear(err);
    if (out)
        *out = NULL;
    if (!out || !path || !*path)
        return vgpu__fail(err, VGPU__INVALID, "no database path given");
    memory = strcmp(path, ":memory:") == 0;
    if (!memory && (rc = make_parent(path, err)) < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s)
        return vgpu__fail(err, VGPU__INTERNAL, "out of memory opening the database");
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = vgpu__fail(err, VGPU__INTERNAL, "cannot open database %s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto cleanup;
    }
    rc = configure(s, memory, err);
    if (rc == 0)
        rc = migrate(s, err);
    if (rc < 0) {
        char msg[sizeof(err->msg) * 2];
        if (err && strcmp(err->code, "internal") == 0) {
            snprintf(msg, sizeof(msg), "%s: %s", path, err->msg);
            vgpu_strlcpy(err->msg, msg, sizeof(err->msg));
        }
        goto cleanup;
    }
    *out = s;
    s = NULL;
cleanup:
    vgpu_store_close(s);
    return rc;
}

int vgpu_store_close(struct vgpu_store *s)
{
    int rc = 0;
    if (!s)
        return 0;
    if (s->db && sqlite3_close(s->db) != SQLITE_OK) {
        vgpu_error("store: closing the database: %s", sqlite3_errmsg(s->db));
        rc = -EBUSY;
    }
    free(s);
    return rc;
}
