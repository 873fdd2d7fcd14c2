/* store_token: tokens an admin issues (see store.h).
 *
 * A token is 32 random bytes shown once as "vgpu_" + 64 hex digits; the
 * database keeps its SHA-256 (OpenSSL's EVP), so reading the database does
 * not give anyone a token. Lookups hash what is presented and compare hashes.
 * A token for a tenant goes when the tenant goes (ON DELETE CASCADE). */
#include "store_internal.h"

#include "common.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_PREFIX "vgpu_"

static int sha256_hex(const char *text, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return -1;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

struct create_ctx {
    const char *tenant;
    bool admin;
    char hash[65];
};

static int create_tx(struct vgpu_store *s, void *p, struct vgpu_err *err)
{
    struct create_ctx *c = p;
    int64_t n = 0;
    if (c->tenant) {
        int rc =
            vgpu__query_int(s, "SELECT count(*) FROM tenants WHERE name = ?1", c->tenant, &n, err);
        if (rc < 0)
            return rc;
        if (n == 0)
            return vgpu__fail(err, VGPU__NOTFOUND, "no tenant '%s'", c->tenant);
    }
    sqlite3_stmt *st = vgpu__prepare(
        s, "INSERT INTO tokens (hash, tenant, admin, created) VALUES (?1, ?2, ?3, ?4)", err);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, c->hash, -1, SQLITE_STATIC);
    if (c->tenant)
        sqlite3_bind_text(st, 2, c->tenant, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, c->admin);
    sqlite3_bind_int64(st, 4, vgpu__now());
    int rc = vgpu__step_done(s, st, err);
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_token_create(struct vgpu_store *s, const json_t *args, char *token, size_t len,
                            struct vgpu_err *err)
{
    struct create_ctx c = {0};
    const char *key;
    json_t *v;
    unsigned char raw[32];

    vgpu__err_clear(err);
    json_object_foreach((json_t *)args, key, v)
    {
        if (strcmp(key, "tenant") == 0 && json_is_string(v))
            c.tenant = json_string_value(v);
        else if (strcmp(key, "admin") == 0 && json_is_boolean(v))
            c.admin = json_is_true(v);
        else
            return vgpu__fail(err, VGPU__INVALID, "unknown or mistyped argument '%s'", key);
    }
    if ((c.tenant != NULL) == c.admin)
        return vgpu__fail(err, VGPU__INVALID, "a token is for one tenant or for an admin");
    if (len < sizeof(TOKEN_PREFIX) + 64)
        return vgpu__fail(err, VGPU__INTERNAL, "token buffer too small");
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return vgpu__fail(err, VGPU__INTERNAL, "no random bytes for a token");
    memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
    for (unsigned i = 0; i < sizeof(raw); i++)
        snprintf(token + sizeof(TOKEN_PREFIX) - 1 + 2 * i, 3, "%02x", raw[i]);
    if (sha256_hex(token, c.hash) != 0)
        return vgpu__fail(err, VGPU__INTERNAL, "cannot hash the token");
    return vgpu__tx(s, create_tx, &c, err);
}

static json_t *row(sqlite3_stmt *st)
{
    char id[13];
    vgpu_strlcpy(id, (const char *)sqlite3_column_text(st, 0), sizeof(id));
    return json_pack("{s:s, s:o, s:b, s:I}", "id", id, "tenant", vgpu__column_json(st, 1), "admin",
                     sqlite3_column_int(st, 2), "created", (json_int_t)sqlite3_column_int64(st, 3));
}

json_t *vgpu_store_token_lookup(struct vgpu_store *s, const char *token)
{
    char hash[65];
    json_t *out = NULL;
    if (!token || strncmp(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1) != 0 ||
        sha256_hex(token, hash) != 0)
        return NULL;
    sqlite3_stmt *st =
        vgpu__prepare(s, "SELECT hash, tenant, admin, created FROM tokens WHERE hash = ?1", NULL);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = row(st);
    sqlite3_finalize(st);
    return out;
}

json_t *vgpu_store_tokens(struct vgpu_store *s)
{
    json_t *list = json_array();
    sqlite3_stmt *st = vgpu__prepare(
        s, "SELECT hash, tenant, admin, created FROM tokens ORDER BY created, hash", NULL);
    while (st && list && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(list, row(st));
    sqlite3_finalize(st);
    return list;
}

struct revoke_ctx {
    const char *id;
};

static int revoke_tx(struct vgpu_store *s, void *p, struct vgpu_err *err)
{
    struct revoke_ctx *c = p;
    char pattern[80];
    int64_t n = 0;
    snprintf(pattern, sizeof(pattern), "%s%%", c->id);
    int rc = vgpu__query_int(s, "SELECT count(*) FROM tokens WHERE hash LIKE ?1", pattern, &n, err);
    if (rc < 0)
        return rc;
    if (n == 0)
        return vgpu__fail(err, VGPU__NOTFOUND, "no token with id '%s'", c->id);
    if (n > 1)
        return vgpu__fail(err, VGPU__INVALID, "token id '%s' is ambiguous: give more digits",
                          c->id);
    sqlite3_stmt *st = vgpu__prepare(s, "DELETE FROM tokens WHERE hash LIKE ?1", err);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, pattern, -1, SQLITE_TRANSIENT);
    rc = vgpu__step_done(s, st, err);
    sqlite3_finalize(st);
    return rc;
}

int vgpu_store_token_revoke(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    struct revoke_ctx c = {json_string_value(json_object_get(args, "id"))};
    vgpu__err_clear(err);
    if (json_object_size(args) != 1 || !c.id || strlen(c.id) < 8 || strlen(c.id) > 64 ||
        strspn(c.id, "0123456789abcdef") != strlen(c.id))
        return vgpu__fail(err, VGPU__INVALID, "a token id is 8-64 lowercase hex digits");
    return vgpu__tx(s, revoke_tx, &c, err);
}
