/* fuzz-http: libFuzzer harness for vgpud's HTTP routing and access rules
 * (src/daemon/http_route.c), the first code an HTTP client's bytes reach.
 *
 * Input: line 1 "METHOD TARGET", line 2 the Content-Type ("" for none), the
 * rest the body (NUL bytes and all). The request is routed twice (the same
 * answer both times: routing keeps no state), then judged by
 * vgpud_http_authorize for every listener (loopback or not), credential
 * (none, a bad token, an admin's, a tenant's, the named tenant's own) and
 * Host header (none, localhost, another name). Invariants: an error is a
 * 4xx (never 5xx: nothing runs out of memory here) whose code maps back to
 * its status, with a message of printable ASCII; a 405 lists the methods;
 * a routed request is {"op": a known operation, "args": an object} with a
 * 200, 201 (and a Location) or 204, and reads only by GET or HEAD; a change
 * is let through for an admin token alone, anything but the dashboard's
 * files off loopback only with a valid token, and a bad token never. Line 1
 * and 2 also go through the --http address parser, the Host check and the
 * Authorization parser, whose results must be usable. */
#include "fuzz.h"

#include "http.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

static const char *const known_ops[] = {
    "status",      "gpus.list",   "gpus.scan",    "pool.create",       "pool.rm",
    "pool.list",   "gpu.assign",  "gpu.unassign", "tenant.add",        "tenant.set",
    "tenant.rm",   "tenant.list", "tenant.get",   "tenant.quarantine", "tenant.release",
    "weights.get", "weights.set",
};

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool known_op(const json_t *req)
{
    const char *op = json_string_value(json_object_get(req, "op"));
    for (size_t i = 0; op && i < sizeof(known_ops) / sizeof(known_ops[0]); i++)
        if (strcmp(op, known_ops[i]) == 0)
            return true;
    return false;
}

static void check_route(int rc, const struct vgpud_http_route *r, const char *method)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (rc != 0) {
        FUZZ_CHECK(r->kind == VGPUD_HTTP_ERROR && rc == r->status);
        FUZZ_CHECK(rc >= 400 && rc < 500);
        FUZZ_CHECK(r->code && vgpud_http_status(r->code) == rc);
        FUZZ_CHECK(r->message[0] && printable(r->message));
        FUZZ_CHECK(rc != 405 || (r->allow[0] && printable(r->allow)));
        FUZZ_CHECK(!r->request && !r->then);
        return;
    }
    FUZZ_CHECK(r->kind != VGPUD_HTTP_ERROR);
    if (r->kind != VGPUD_HTTP_API) {
        FUZZ_CHECK(get && r->status == 200 && !r->request);
        FUZZ_CHECK(r->kind != VGPUD_HTTP_ASSET || r->asset[0] == '/');
        FUZZ_CHECK(r->access ==
                   (r->kind == VGPUD_HTTP_ASSET ? VGPUD_HTTP_PUBLIC : VGPUD_HTTP_SCRAPE));
        return;
    }
    FUZZ_CHECK(json_is_object(r->request) && known_op(r->request));
    FUZZ_CHECK(json_is_object(json_object_get(r->request, "args")));
    FUZZ_CHECK(!r->then || known_op(r->then));
    FUZZ_CHECK(r->status == 200 || r->status == 201 || r->status == 204);
    FUZZ_CHECK(r->access == (get ? VGPUD_HTTP_READ : VGPUD_HTTP_WRITE));
    FUZZ_CHECK(!r->location[0] || (r->status == 201 && strncmp(r->location, "/api/v1/", 8) == 0));
}

static void check_access(const struct vgpud_http_route *r)
{
    static const char *const hosts[] = {NULL, "localhost:80", "attacker.example"};
    struct vgpud_http_cred creds[5] = {
        {.given = false},
        {.given = true, .valid = false},
        {.given = true, .valid = true, .admin = true},
        {.given = true, .valid = true, .tenant = "vm-1"},
        {.given = true, .valid = true},
    };
    char msg[256];
    snprintf(creds[4].tenant, sizeof(creds[4].tenant), "%s", r->tenant);
    for (int local = 0; local < 2; local++) {
        for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
            for (size_t c = 0; c < sizeof(creds) / sizeof(creds[0]); c++) {
                const struct vgpud_http_cred *cr = &creds[c];
                msg[0] = '\0';
                int rc = vgpud_http_authorize(r, local, hosts[h], cr, msg, sizeof(msg));
                FUZZ_CHECK(rc == 0 || rc == 401 || rc == 403);
                FUZZ_CHECK(rc == 0 || (msg[0] && printable(msg)));
                if (cr->given && !cr->valid)
                    FUZZ_CHECK(rc == 401);
                if (r->access == VGPUD_HTTP_WRITE && rc == 0)
                    FUZZ_CHECK(cr->valid && cr->admin);
                if (!local && r->access != VGPUD_HTTP_PUBLIC && rc == 0)
                    FUZZ_CHECK(cr->valid);
                if (rc == 0 && cr->valid && !cr->admin && !local)
                    FUZZ_CHECK(r->access != VGPUD_HTTP_READ || strcmp(r->tenant, cr->tenant) == 0);
            }
        }
    }
}

/* The other parsers, on text the harness has at hand. */
static void check_parsers(const char *a, const char *b)
{
    const char *texts[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        char host[64], tok[160];
        unsigned char bin[16];
        uint16_t port;
        if (vgpud_http_parse_addr(texts[i], host, sizeof(host), &port) == 0)
            FUZZ_CHECK(inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1);
        (void)vgpud_http_loopback_host(texts[i]);
        if (vgpud_http_bearer(texts[i], tok, sizeof(tok)) == 0)
            FUZZ_CHECK(tok[0] && !strpbrk(tok, " \t\r\n") && printable(tok));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    char *line1 = text, *line2 = NULL, *body = NULL, *nl, *sp;
    const char *method = "", *target = "";
    size_t body_len = 0;
    struct vgpud_http_route r1, r2;

    /* Lines end at '\n' (data may hold NUL bytes: the lines end there too,
     * the body does not). */
    nl = memchr(text, '\n', size);
    if (nl) {
        *nl = '\0';
        line2 = nl + 1;
        nl = memchr(line2, '\n', size - (size_t)(line2 - text));
        if (nl) {
            *nl = '\0';
            body = nl + 1;
            body_len = size - (size_t)(body - text);
        }
    }
    sp = strchr(line1, ' ');
    if (sp) {
        *sp = '\0';
        method = line1;
        target = sp + 1;
    } else {
        method = line1;
    }
    const char *ctype = line2 && line2[0] ? line2 : NULL;

    int rc1 = vgpud_http_route(method, target, ctype, body ? body : "", body_len, &r1);
    check_route(rc1, &r1, method);
    int rc2 = vgpud_http_route(method, target, ctype, body ? body : "", body_len, &r2);
    FUZZ_CHECK(rc1 == rc2 && r1.kind == r2.kind && r1.status == r2.status);
    FUZZ_CHECK(json_equal(r1.request, r2.request) || (!r1.request && !r2.request));
    FUZZ_CHECK(strcmp(r1.message, r2.message) == 0);
    if (rc1 == 0)
        check_access(&r1);
    check_parsers(target, line2 ? line2 : "");
    vgpud_http_route_free(&r1);
    vgpud_http_route_free(&r2);
    free(text);
    return 0;
}
