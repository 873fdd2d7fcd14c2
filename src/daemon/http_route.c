/* http_route: what an HTTP request means, and who may make it (http.h).
 *
 * The API is a table: one row per method and path pattern ("*" is one path
 * segment, a parameter), naming the control-protocol operation it becomes,
 * where its arguments come from (none, the JSON body, the path's parameter,
 * the one query parameter it takes) and what a success answers: the
 * operation's result as it is (the GETs, so they return what `vgpu-admin
 * ... --json` prints), or the state of what was changed, read back with a
 * second operation (a PATCHed tenant, a created pool), or nothing (204
 * after a DELETE). The router checks only what HTTP itself decides (the
 * path, the method, the size and type of the body, that the body is one
 * JSON object); every argument goes on unchanged to the store, which
 * validates it as it validates the CLI's. A path that matches no row is a
 * 404, a known path with another method a 405 that lists the methods it
 * takes. Error messages echo a client's text only through clean(), so they
 * hold no control characters. Nothing here allocates beyond the request's
 * JSON, and nothing keeps state between calls. */
#include "http.h"

#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGS 8 /* the deepest path is /api/v1/tenants/NAME/quarantine */
#define MAX_PATH 1024

/* Where a row's arguments come from (besides its path parameter). */
enum input {
    IN_NONE,    /* nothing: the body must be empty or {} */
    IN_BODY,    /* the body is the arguments */
    IN_WEIGHTS, /* the body is the "weights" argument */
};

/* What a success answers besides the operation's own result. */
enum follow {
    F_NONE,
    F_TENANT,  /* the tenant named by `key`, read back (tenant.get) */
    F_POOL,    /* the pool named by `key`, read back (pool.list, picked) */
    F_WEIGHTS, /* the weights, read back */
    F_PICK,    /* the element of the result list named by the path's parameter */
};

struct row {
    const char *method;
    const char *path; /* "/"-separated; a "*" segment is the parameter */
    const char *op;
    enum input in;
    const char *param; /* the argument the parameter sets (NULL: F_PICK's name) */
    int ok;            /* the status of a success */
    enum follow follow;
    const char *key;   /* F_TENANT, F_POOL: the argument naming what to read back */
    const char *query; /* the one query parameter it takes, an argument too */
};

/* clang-format off */
static const struct row rows[] = {
    /* method   path                            op                   in          param   ok   follow     key     query */
    {"GET",    "/api/v1/status",                "status",            IN_NONE,    NULL,   200, F_NONE,    NULL,   NULL},
    {"GET",    "/api/v1/gpus",                  "gpus.list",         IN_NONE,    NULL,   200, F_NONE,    NULL,   NULL},
    {"POST",   "/api/v1/gpus/*/assign",         "gpu.assign",        IN_BODY,    "gpu",  200, F_POOL,    "pool", NULL},
    {"POST",   "/api/v1/gpus/*/unassign",       "gpu.unassign",      IN_BODY,    "gpu",  200, F_POOL,    "pool", NULL},
    {"POST",   "/api/v1/scan",                  "gpus.scan",         IN_NONE,    NULL,   200, F_NONE,    NULL,   NULL},
    {"GET",    "/api/v1/pools",                 "pool.list",         IN_NONE,    NULL,   200, F_NONE,    NULL,   NULL},
    {"POST",   "/api/v1/pools",                 "pool.create",       IN_BODY,    NULL,   201, F_POOL,    "name", NULL},
    {"GET",    "/api/v1/pools/*",               "pool.list",         IN_NONE,    NULL,   200, F_PICK,    NULL,   NULL},
    {"DELETE", "/api/v1/pools/*",               "pool.rm",           IN_NONE,    "name", 204, F_NONE,    NULL,   NULL},
    {"GET",    "/api/v1/tenants",               "tenant.list",       IN_NONE,    NULL,   200, F_NONE,    NULL,   "pool"},
    {"POST",   "/api/v1/tenants",               "tenant.add",        IN_BODY,    NULL,   201, F_TENANT,  "name", NULL},
    {"GET",    "/api/v1/tenants/*",             "tenant.get",        IN_NONE,    "name", 200, F_NONE,    NULL,   NULL},
    {"PATCH",  "/api/v1/tenants/*",             "tenant.set",        IN_BODY,    "name", 200, F_TENANT,  "name", NULL},
    {"DELETE", "/api/v1/tenants/*",             "tenant.rm",         IN_NONE,    "name", 204, F_NONE,    NULL,   NULL},
    {"POST",   "/api/v1/tenants/*/quarantine",  "tenant.quarantine", IN_NONE,    "name", 200, F_TENANT,  "name", NULL},
    {"POST",   "/api/v1/tenants/*/release",     "tenant.release",    IN_NONE,    "name", 200, F_TENANT,  "name", NULL},
    {"GET",    "/api/v1/weights",               "weights.get",       IN_NONE,    NULL,   200, F_NONE,    NULL,   NULL},
    {"PUT",    "/api/v1/weights",               "weights.set",       IN_WEIGHTS, NULL,   200, F_WEIGHTS, NULL,   NULL},
};
/* clang-format on */

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Copies a client's text for a message: printable ASCII only (anything else
 * becomes '?'), at most cap - 1 bytes, ending in "..." when cut. */
static void clean(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0, lim = cap - 1;
    for (size_t i = 0; i < n && k < lim; i++)
        out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > lim && lim >= 3)
        memcpy(out + lim - 3, "...", 3);
    out[k] = '\0';
}

static int fail(struct vgpud_http_route *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct vgpud_http_route *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    json_decref(r->request);
    json_decref(r->then);
    r->request = r->then = NULL;
    r->kind = VGPUD_HTTP_ERROR;
    r->status = status;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    return status;
}

static int oom(struct vgpud_http_route *r)
{
    return fail(r, 500, "internal", "out of memory");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes, terminated); with `plus`
 * (a query) '+' is a blank. Returns the length, -EINVAL for a bad escape,
 * -ENAMETOOLONG when it does not fit. */
static int decode(const char *s, size_t n, bool plus, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                return -EINVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        if (k + 1 >= cap)
            return -ENAMETOOLONG;
        out[k++] = c;
    }
    out[k] = '\0';
    return (int)k;
}

/* True when `path` (segments segs[0..n)) matches the row's pattern; *star is
 * then the index of the parameter's segment, or -1. */
static bool match(const char *pattern, char *const *segs, int n, int *star)
{
    const char *p = pattern + 1;
    int i = 0;
    *star = -1;
    for (; *p && i < n; i++) {
        size_t len = strcspn(p, "/");
        if (len == 1 && *p == '*') {
            if (!segs[i][0])
                return false;
            *star = i;
        } else if (strlen(segs[i]) != len || strncmp(p, segs[i], len) != 0) {
            return false;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return !*p && i == n;
}

static bool utf8(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    bool ok = v != NULL;
    json_decref(v);
    return ok;
}

/* A media type of application/json, parameters (charset) allowed. */
static bool is_json(const char *ctype)
{
    size_t n;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    n = strcspn(ctype, ";");
    while (n && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    return n == 16 && strncasecmp(ctype, "application/json", 16) == 0;
}

/* Sets args[key] from the path or the query, refusing a body that names it
 * otherwise. */
static int set_from_url(struct vgpud_http_route *r, json_t *args, const char *key, const char *val,
                        size_t n, const char *where)
{
    json_t *v = json_stringn(val, n), *had = json_object_get(args, key);
    char shown[84];
    if (!v) {
        clean(val, n, shown, sizeof(shown));
        return fail(r, 400, "invalid_request", "the %s value '%s' is not valid UTF-8", where,
                    shown);
    }
    if (had && !json_equal(had, v)) {
        json_decref(v);
        return fail(r, 400, "invalid_request",
                    "'%s' is given by the %s; the body may not change it", key, where);
    }
    if (json_object_set_new(args, key, v) != 0)
        return oom(r);
    return 0;
}

/* The query's parameters into args: only the row's one, at most once. */
static int parse_query(struct vgpud_http_route *r, const struct row *row, const char *path,
                       const char *q, json_t *args)
{
    char key[64], val[256], shown[84];
    bool seen = false;
    while (*q) {
        size_t len = strcspn(q, "&"), klen = strcspn(q, "=&");
        int kn = decode(q, klen < len ? klen : len, true, key, sizeof(key)), vn = 0;
        if (kn < 0) {
            clean(q, len, shown, sizeof(shown));
            return fail(r, 400, "invalid_request", "bad query parameter '%s'", shown);
        }
        if (len && (!row->query || strcmp(key, row->query) != 0)) {
            clean(key, (size_t)kn, shown, sizeof(shown));
            return fail(r, 400, "invalid_request",
                        "unknown query parameter '%s': %s %s takes %s%s%s", shown, row->method,
                        path, row->query ? "only '" : "none", row->query ? row->query : "",
                        row->query ? "'" : "");
        }
        if (len) {
            if (seen)
                return fail(r, 400, "invalid_request", "the query parameter '%s' is given twice",
                            row->query);
            seen = true;
            if (klen < len)
                vn = decode(q + klen + 1, len - klen - 1, true, val, sizeof(val));
            else
                val[0] = '\0';
            if (vn < 0)
                return fail(r, 400, "invalid_request", "bad value of the query parameter '%s'",
                            row->query);
            int rc = set_from_url(r, args, row->query, val, (size_t)vn, "query");
            if (rc)
                return rc;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}

/* The body as the row wants it: args to fill (a new object). */
static int parse_body(struct vgpud_http_route *r, const struct row *row, const char *path,
                      const char *ctype, const char *body, size_t len, json_t **args)
{
    char err[256], msg[200];
    json_t *b = NULL;
    *args = NULL;
    if (len > VGPUD_HTTP_MAX_BODY)
        return fail(r, 413, "payload_too_large", "a body of %zu bytes is over the limit of %u", len,
                    VGPUD_HTTP_MAX_BODY);
    if (len && ctype && !is_json(ctype)) {
        clean(ctype, strlen(ctype), err, sizeof(err));
        return fail(r, 415, "unsupported_media_type",
                    "the body is '%s'; send Content-Type: application/json", err);
    }
    if (len && !(b = vgpu_proto_body((const uint8_t *)body, len, err, sizeof(err)))) {
        clean(err, strlen(err), msg, sizeof(msg)); /* jansson quotes the text near the error */
        return fail(r, 400, "invalid_request", "%s", msg);
    }
    if (row->in == IN_NONE && b && json_object_size(b) != 0) {
        json_decref(b);
        return fail(r, 400, "invalid_request", "%s %s takes no body", row->method, path);
    }
    if (row->in == IN_WEIGHTS) {
        *args = json_object();
        if (!*args || json_object_set_new(*args, "weights", b ? b : json_object()) != 0)
            return oom(r);
        return 0;
    }
    *args = b && row->in == IN_BODY ? b : json_object();
    if (*args != b)
        json_decref(b);
    return *args ? 0 : oom(r);
}

/* The tenant a tenant.add creates: its name, or "vm-<vm_id>" (the store's
 * rule for a tenant given by VM id alone); "" when neither is usable (the
 * store then refuses the request anyway). */
static void added_name(const json_t *args, char *out, size_t len)
{
    const json_t *name = json_object_get(args, "name"), *vm = json_object_get(args, "vm_id");
    const char *s = json_string_value(vm);
    out[0] = '\0';
    if (json_is_string(name) && json_string_length(name) < len)
        snprintf(out, len, "%s", json_string_value(name));
    else if (json_is_integer(vm))
        snprintf(out, len, "vm-%lld", (long long)json_integer_value(vm));
    else if (s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 12)
        snprintf(out, len, "vm-%lld", strtoll(s, NULL, 10));
}

/* What a success answers: `then`, `pick`, `location`. */
static int follow_up(struct vgpud_http_route *r, const struct row *row, const json_t *args)
{
    char name[64] = "";
    const char *key = row->key ? json_string_value(json_object_get(args, row->key)) : NULL;
    if (row->follow == F_TENANT && strcmp(row->op, "tenant.add") == 0)
        added_name(args, name, sizeof(name));
    else if (key && strlen(key) < sizeof(name))
        snprintf(name, sizeof(name), "%s", key);
    switch (row->follow) {
    case F_NONE:
    case F_PICK: return 0;
    case F_WEIGHTS: r->then = json_pack("{s:s}", "op", "weights.get"); break;
    case F_TENANT:
        if (!name[0])
            return 0;
        r->then = json_pack("{s:s, s:{s:s}}", "op", "tenant.get", "args", "name", name);
        snprintf(r->location, sizeof(r->location), "/api/v1/tenants/%s", name);
        break;
    case F_POOL:
        if (!name[0])
            return 0;
        r->then = json_pack("{s:s}", "op", "pool.list");
        snprintf(r->pick, sizeof(r->pick), "%s", name);
        r->what = "pool";
        snprintf(r->location, sizeof(r->location), "/api/v1/pools/%s", name);
        break;
    }
    if (row->ok != 201)
        r->location[0] = '\0';
    return r->then ? 0 : oom(r);
}

/* The API's rows: everything under /api/. */
static int route_api(struct vgpud_http_route *r, const char *method, char *path, const char *query,
                     const char *ctype, const char *body, size_t len)
{
    char *segs[MAX_SEGS], param[256], shown[84];
    const struct row *row = NULL;
    int n = 0, star = -1, pn = 0, rc;
    bool head = strcmp(method, "HEAD") == 0;
    json_t *args = NULL;

    clean(path, strlen(path), shown, sizeof(shown));
    for (char *p = path + 1; n < MAX_SEGS; n++) {
        segs[n] = p;
        p = strchr(p, '/');
        if (!p) {
            n++;
            break;
        }
        *p++ = '\0';
        if (n == MAX_SEGS - 1)
            return fail(r, 404, "not_found", "nothing at %s", shown);
    }
    for (size_t i = 0; i < NROWS; i++) {
        int s;
        if (!match(rows[i].path, segs, n, &s))
            continue;
        size_t used = strlen(r->allow);
        snprintf(r->allow + used, sizeof(r->allow) - used, "%s%s%s", used ? ", " : "",
                 rows[i].method, strcmp(rows[i].method, "GET") == 0 ? ", HEAD" : "");
        if (strcmp(rows[i].method, method) == 0 || (head && strcmp(rows[i].method, "GET") == 0)) {
            row = &rows[i];
            star = s;
        }
    }
    if (!r->allow[0])
        return fail(r, 404, "not_found", "no API path %s", shown);
    if (!row) {
        char m[16];
        clean(method, strlen(method), m, sizeof(m));
        return fail(r, 405, "method_not_allowed", "%s takes %s, not %s", shown, r->allow,
                    m[0] ? m : "(none)");
    }
    r->allow[0] = '\0';
    if (star >= 0) {
        pn = decode(segs[star], strlen(segs[star]), false, param, sizeof(param));
        if (pn < 0)
            return fail(r, 400, "invalid_request", "%s: %s", shown,
                        pn == -EINVAL ? "a bad %-escape" : "a path segment is too long");
        if (memchr(param, '/', (size_t)pn) || memchr(param, '\0', (size_t)pn))
            return fail(r, 400, "invalid_argument", "%s: a name cannot hold '/' or NUL", shown);
    }
    if (strcmp(row->method, "GET") == 0)
        rc = parse_body(r, row, shown, NULL, NULL, 0, &args); /* a GET's body means nothing */
    else
        rc = parse_body(r, row, shown, ctype, body, len, &args);
    if (rc)
        goto cleanup;
    if (query && (rc = parse_query(r, row, shown, query, args)) != 0)
        goto cleanup;
    if (star >= 0 && row->param &&
        (rc = set_from_url(r, args, row->param, param, (size_t)pn, "path")) != 0)
        goto cleanup;
    if (star >= 0 && row->follow == F_PICK) {
        if (!utf8(param, (size_t)pn) || (size_t)pn >= sizeof(r->pick)) {
            rc = fail(r, 404, "not_found", "no pool '%s'", shown);
            goto cleanup;
        }
        memcpy(r->pick, param, (size_t)pn + 1);
        r->what = "pool";
    }
    if (strcmp(row->op, "tenant.get") == 0 && (size_t)pn < sizeof(r->tenant))
        memcpy(r->tenant, param, (size_t)pn + 1);
    r->request = json_pack("{s:s, s:O}", "op", row->op, "args", args);
    if (!r->request) {
        rc = oom(r);
        goto cleanup;
    }
    if ((rc = follow_up(r, row, args)) != 0)
        goto cleanup;
    r->kind = VGPUD_HTTP_API;
    r->access = strcmp(row->method, "GET") == 0 ? VGPUD_HTTP_READ : VGPUD_HTTP_WRITE;
    r->status = row->ok;
cleanup:
    json_decref(args);
    return rc;
}

int vgpud_http_route(const char *method, const char *target, const char *content_type,
                     const char *body, size_t len, struct vgpud_http_route *out)
{
    char path[MAX_PATH], shown[84];
    const char *query;
    size_t plen;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    memset(out, 0, sizeof(*out));
    if (!target || target[0] != '/')
        return fail(out, 400, "invalid_request", "the request target must be a path ('/...')");
    plen = strcspn(target, "?");
    if (plen >= sizeof(path))
        return fail(out, 400, "invalid_request", "a path of %zu bytes is too long", plen);
    memcpy(path, target, plen);
    path[plen] = '\0';
    query = target[plen] == '?' ? target + plen + 1 : NULL;
    if (strncmp(path, "/api/", 5) == 0)
        return route_api(out, method, path, query, content_type, body, len);

    /* The dashboard's files and /metrics take GET and HEAD; a query means
     * nothing to them (a scraper's or a cache-buster's is let through). */
    bool metrics = strcmp(path, "/metrics") == 0;
    bool asset = strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
                 strncmp(path, "/static/", 8) == 0;
    clean(path, plen, shown, sizeof(shown));
    if (!metrics && !asset)
        return fail(out, 404, "not_found", "nothing at %s (the API is under /api/v1/)", shown);
    if (!get) {
        char m[16];
        clean(method, strlen(method), m, sizeof(m));
        snprintf(out->allow, sizeof(out->allow), "GET, HEAD");
        return fail(out, 405, "method_not_allowed", "%s takes GET, HEAD, not %s", shown,
                    m[0] ? m : "(none)");
    }
    if (asset && plen >= sizeof(out->asset))
        return fail(out, 404, "not_found", "nothing at %s", shown);
    if (asset)
        memcpy(out->asset, path, plen + 1);
    out->kind = metrics ? VGPUD_HTTP_METRICS : VGPUD_HTTP_ASSET;
    out->access = metrics ? VGPUD_HTTP_SCRAPE : VGPUD_HTTP_PUBLIC;
    out->status = 200;
    return 0;
}

void vgpud_http_route_free(struct vgpud_http_route *r)
{
    json_decref(r->request);
    json_decref(r->then);
    r->request = r->then = NULL;
}

int vgpud_http_authorize(const struct vgpud_http_route *r, bool local, const char *host,
                         const struct vgpud_http_cred *c, char *msg, size_t len)
{
    bool open_read = local && (!host || vgpud_http_loopback_host(host));

    if (c->given && !c->valid) {
        snprintf(msg, len,
                 "the bearer token is not valid (mistyped, revoked, or not "
                 "\"Authorization: Bearer vgpu_...\")");
        return 401;
    }
    if (r->access == VGPUD_HTTP_PUBLIC || (c->valid && c->admin))
        return 0;
    if (r->access == VGPUD_HTTP_WRITE) {
        if (c->valid) {
            snprintf(msg, len, "changes need an admin token; this one is tenant %s's", c->tenant);
            return 403;
        }
        snprintf(msg, len,
                 "changes need an admin token (Authorization: Bearer ...; "
                 "`vgpu-admin token create --admin` issues one)");
        return 401;
    }
    if (open_read)
        return 0;
    if (c->valid &&
        (r->access == VGPUD_HTTP_SCRAPE || (r->tenant[0] && strcmp(r->tenant, c->tenant) == 0)))
        return 0;
    if (c->valid) {
        snprintf(msg, len, "tenant %s's token reads only /metrics and /api/v1/tenants/%s",
                 c->tenant, c->tenant);
        return 403;
    }
    if (local)
        snprintf(msg, len,
                 "the Host header does not name loopback (localhost, 127.0.0.1, "
                 "[::1]): a token is needed");
    else
        snprintf(msg, len,
                 "this listener is not on loopback: every request needs a bearer "
                 "token (Authorization: Bearer ...)");
    return 401;
}

int vgpud_http_bearer(const char *header, char *tok, size_t len)
{
    const char *p = header;
    size_t n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return -EINVAL;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= len)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return -EINVAL;
    memcpy(tok, p, n);
    tok[n] = '\0';
    return 0;
}

int vgpud_http_status(const char *code)
{
    static const struct {
        const char *code;
        int status;
    } map[] = {
        {"invalid_argument", 400},       {"invalid_request", 400}, {"unauthorized", 401},
        {"permission_denied", 403},      {"not_found", 404},       {"method_not_allowed", 405},
        {"already_exists", 409},         {"conflict", 409},        {"payload_too_large", 413},
        {"unsupported_media_type", 415},
    };
    for (size_t i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].code, code) == 0)
            return map[i].status;
    return 500;
}

/* 1-5 digits, at most 65535. */
static int parse_port(const char *s, uint16_t *port)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n || atol(s) > 65535)
        return -EINVAL;
    *port = (uint16_t)atol(s);
    return 0;
}

int vgpud_http_parse_addr(const char *s, char *host, size_t len, uint16_t *port)
{
    char h[64];
    unsigned char bin[16];
    const char *colon;
    size_t n;

    if (strspn(s, "0123456789") == strlen(s)) {
        snprintf(host, len, "127.0.0.1");
        return parse_port(s, port);
    }
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        n = end ? (size_t)(end - s - 1) : 0;
        if (!end || end[1] != ':' || n == 0 || n >= sizeof(h))
            return -EINVAL;
        memcpy(h, s + 1, n);
        h[n] = '\0';
        if (inet_pton(AF_INET6, h, bin) != 1 || strlen(h) >= len)
            return -EINVAL;
        snprintf(host, len, "%s", h);
        return parse_port(end + 2, port);
    }
    colon = strchr(s, ':');
    n = colon ? (size_t)(colon - s) : 0;
    if (!colon || strchr(colon + 1, ':') || n == 0 || n >= sizeof(h))
        return -EINVAL; /* an IPv6 address needs its brackets */
    memcpy(h, s, n);
    h[n] = '\0';
    if (strcmp(h, "localhost") == 0)
        snprintf(h, sizeof(h), "127.0.0.1");
    if (inet_pton(AF_INET, h, bin) != 1 || strlen(h) >= len)
        return -EINVAL;
    snprintf(host, len, "%s", h);
    return parse_port(colon + 1, port);
}

bool vgpud_http_loopback_host(const char *host)
{
    char h[64];
    unsigned char bin[16];
    const char *port;
    size_t n;

    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        n = end ? (size_t)(end - host - 1) : sizeof(h);
        port = end ? end + 1 : "";
        if (n >= sizeof(h))
            return false;
        memcpy(h, host + 1, n);
        h[n] = '\0';
        if (inet_pton(AF_INET6, h, bin) != 1 ||
            memcmp(bin, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) != 0)
            return false;
    } else {
        n = strcspn(host, ":");
        port = host + n;
        if (n >= sizeof(h))
            return false;
        memcpy(h, host, n);
        h[n] = '\0';
        if (strcasecmp(h, "localhost") != 0 && (inet_pton(AF_INET, h, bin) != 1 || bin[0] != 127))
            return false;
    }
    if (!*port)
        return true;
    uint16_t p;
    return port[0] == ':' && parse_port(port + 1, &p) == 0;
}
