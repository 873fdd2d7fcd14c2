/* The HTTP API's routing and access rules (src/daemon/http_route.c), alone:
 * each route becomes the request `vgpu-admin` sends for the same command,
 * with the status a client gets; bad requests get the 4xx a client would
 * expect; and the access rules of docs/ARCHITECTURE.md ("HTTP API") hold
 * for every kind of listener, peer and token, including the listener that
 * is not on loopback (which the end-to-end test can reach only where the
 * machine has another address). */
#include "http.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Routes and checks the outcome: the status (0: routed) and, when routed
 * to the API, the request as JSON text. */
static void expect_route(const char *method, const char *target, const char *ctype,
                         const char *body, int status, const char *request, int ok_status)
{
    struct vgpud_http_route r;
    int rc = vgpud_http_route(method, target, ctype, body, body ? strlen(body) : 0, &r);
    if (rc != status)
        fail_msg("%s %s: %d (%s), expected %d", method, target, rc, r.message, status);
    if (request) {
        json_t *want = json_loads(request, 0, NULL);
        assert_non_null(want);
        if (!json_equal(want, r.request)) {
            char *got = json_dumps(r.request, JSON_COMPACT);
            fail_msg("%s %s: %s, expected %s", method, target, got, request);
        }
        assert_int_equal(r.status, ok_status);
        json_decref(want);
    }
    vgpud_http_route_free(&r);
}

static void test_routes_are_the_cli_requests(void **state)
{
    expect_route("GET", "/api/v1/status", NULL, NULL, 0, "{\"op\":\"status\",\"args\":{}}", 200);
    expect_route("HEAD", "/api/v1/gpus", NULL, NULL, 0, "{\"op\":\"gpus.list\",\"args\":{}}", 200);
    expect_route("GET", "/api/v1/pools", NULL, NULL, 0, "{\"op\":\"pool.list\",\"args\":{}}", 200);
    expect_route("GET", "/api/v1/tenants?pool=A", NULL, NULL, 0,
                 "{\"op\":\"tenant.list\",\"args\":{\"pool\":\"A\"}}", 200);
    expect_route("GET", "/api/v1/tenants/vm-1", NULL, NULL, 0,
                 "{\"op\":\"tenant.get\",\"args\":{\"name\":\"vm-1\"}}", 200);
    expect_route("GET", "/api/v1/tenants/vm%2d1", NULL, NULL, 0,
                 "{\"op\":\"tenant.get\",\"args\":{\"name\":\"vm-1\"}}", 200);
    expect_route(
        "POST", "/api/v1/tenants", "application/json; charset=utf-8",
        "{\"name\":\"t\",\"pool\":\"A\",\"memory\":\"8GiB\"}", 0,
        "{\"op\":\"tenant.add\",\"args\":{\"name\":\"t\",\"pool\":\"A\",\"memory\":\"8GiB\"}}",
        201);
    expect_route("PATCH", "/api/v1/tenants/t", NULL, "{\"share\":30}", 0,
                 "{\"op\":\"tenant.set\",\"args\":{\"name\":\"t\",\"share\":30}}", 200);
    expect_route("DELETE", "/api/v1/tenants/t", NULL, NULL, 0,
                 "{\"op\":\"tenant.rm\",\"args\":{\"name\":\"t\"}}", 204);
    expect_route("POST", "/api/v1/tenants/t/quarantine", NULL, NULL, 0,
                 "{\"op\":\"tenant.quarantine\",\"args\":{\"name\":\"t\"}}", 200);
    expect_route("POST", "/api/v1/tenants/t/release", NULL, "{}", 0,
                 "{\"op\":\"tenant.release\",\"args\":{\"name\":\"t\"}}", 200);
    expect_route("POST", "/api/v1/pools", NULL, "{\"name\":\"B\",\"gpus\":\"0,1\"}", 0,
                 "{\"op\":\"pool.create\",\"args\":{\"name\":\"B\",\"gpus\":\"0,1\"}}", 201);
    expect_route("DELETE", "/api/v1/pools/B", NULL, NULL, 0,
                 "{\"op\":\"pool.rm\",\"args\":{\"name\":\"B\"}}", 204);
    expect_route("POST", "/api/v1/gpus/0/assign", NULL, "{\"pool\":\"A\"}", 0,
                 "{\"op\":\"gpu.assign\",\"args\":{\"gpu\":\"0\",\"pool\":\"A\"}}", 200);
    expect_route("POST", "/api/v1/gpus/GPU-1234abcd/unassign", NULL, "{\"pool\":\"A\"}", 0,
                 "{\"op\":\"gpu.unassign\",\"args\":{\"gpu\":\"GPU-1234abcd\",\"pool\":\"A\"}}",
                 200);
    expect_route("GET", "/api/v1/weights", NULL, NULL, 0, "{\"op\":\"weights.get\",\"args\":{}}",
                 200);
    expect_route("PUT", "/api/v1/weights", NULL, "{\"high\":8,\"medium\":2,\"low\":1}", 0,
                 "{\"op\":\"weights.set\",\"args\":{\"weights\":{\"high\":8,\"medium\":2,"
                 "\"low\":1}}}",
                 200);
    expect_route("POST", "/api/v1/scan", NULL, NULL, 0, "{\"op\":\"gpus.scan\",\"args\":{}}", 200);
}

/* What a success answers: the changed thing read back, and where it is. */
static void test_changes_answer_what_changed(void **state)
{
    struct vgpud_http_route r;
    const char *body = "{\"vm_id\":\"007\",\"pool\":\"A\"}";
    assert_int_equal(vgpud_http_route("POST", "/api/v1/tenants", NULL, body, strlen(body), &r), 0);
    assert_string_equal(r.location, "/api/v1/tenants/vm-7"); /* the store's name for it */
    assert_string_equal(json_string_value(json_object_get(r.then, "op")), "tenant.get");
    vgpud_http_route_free(&r);
    body = "{\"pool\":\"B\"}";
    assert_int_equal(
        vgpud_http_route("POST", "/api/v1/gpus/1/assign", NULL, body, strlen(body), &r), 0);
    assert_string_equal(r.pick, "B");
    assert_string_equal(r.location, ""); /* not a creation */
    vgpud_http_route_free(&r);
    assert_int_equal(vgpud_http_route("GET", "/api/v1/pools/A", NULL, "", 0, &r), 0);
    assert_string_equal(r.pick, "A");
    assert_null(r.then);
    vgpud_http_route_free(&r);
    assert_int_equal(vgpud_http_route("GET", "/metrics", NULL, "", 0, &r), 0);
    assert_int_equal(r.kind, VGPUD_HTTP_METRICS);
    vgpud_http_route_free(&r);
    assert_int_equal(vgpud_http_route("GET", "/static/app.js?v=3", NULL, "", 0, &r), 0);
    assert_int_equal(r.kind, VGPUD_HTTP_ASSET);
    assert_string_equal(r.asset, "/static/app.js");
    vgpud_http_route_free(&r);
}

static void test_bad_requests(void **state)
{
    struct vgpud_http_route r;
    char big[VGPUD_HTTP_MAX_BODY + 2];
    expect_route("GET", "/api/v1/nothing", NULL, NULL, 404, NULL, 0);
    expect_route("GET", "/nothing", NULL, NULL, 404, NULL, 0);
    expect_route("GET", "/api/v1/tenants/", NULL, NULL, 404, NULL, 0);
    expect_route("GET", "/api/v1/tenants/a/b/c/d/e/f/g/h/i", NULL, NULL, 404, NULL, 0);
    expect_route("GET", "http://host/api/v1/status", NULL, NULL, 400, NULL, 0);
    expect_route("GET", "/api/v1/tenants/a%2Fb", NULL, NULL, 400, NULL, 0);
    expect_route("GET", "/api/v1/tenants/a%00b", NULL, NULL, 400, NULL, 0);
    expect_route("GET", "/api/v1/tenants/%zz", NULL, NULL, 400, NULL, 0);
    expect_route("GET", "/api/v1/tenants/%ff", NULL, NULL, 400, NULL, 0); /* not UTF-8 */
    expect_route("GET", "/api/v1/status?verbose=1", NULL, NULL, 400, NULL, 0);
    expect_route("GET", "/api/v1/tenants?pool=A&pool=B", NULL, NULL, 400, NULL, 0);
    expect_route("POST", "/api/v1/tenants", NULL, "[1]", 400, NULL, 0);
    expect_route("POST", "/api/v1/tenants", NULL, "{\"name\":", 400, NULL, 0);
    expect_route("POST", "/api/v1/tenants", NULL, "{\"a\":1,\"a\":2}", 400, NULL, 0);
    expect_route("POST", "/api/v1/tenants", "text/plain", "{}", 415, NULL, 0);
    expect_route("PATCH", "/api/v1/tenants/t", NULL, "{\"name\":\"u\"}", 400, NULL, 0);
    expect_route("DELETE", "/api/v1/tenants/t", NULL, "{\"force\":true}", 400, NULL, 0);
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_route("POST", "/api/v1/tenants", NULL, big, 413, NULL, 0);

    assert_int_equal(vgpud_http_route("DELETE", "/api/v1/weights", NULL, "", 0, &r), 405);
    assert_string_equal(r.allow, "GET, HEAD, PUT");
    assert_string_equal(r.code, "method_not_allowed");
    vgpud_http_route_free(&r);
    assert_int_equal(vgpud_http_route("POST", "/", NULL, "", 0, &r), 405);
    assert_string_equal(r.allow, "GET, HEAD");
    vgpud_http_route_free(&r);
    /* Messages show a client's bytes only as printable ASCII. */
    assert_int_equal(vgpud_http_route("GET", "/api/v1/\x1b[31m\xff", NULL, "", 0, &r), 404);
    assert_null(strchr(r.message, '\x1b'));
    assert_null(strchr(r.message, '\xff'));
    vgpud_http_route_free(&r);
    assert_int_equal(vgpud_http_route("POST", "/api/v1/tenants", NULL, "\x01\xfe", 2, &r), 400);
    for (const char *p = r.message; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    vgpud_http_route_free(&r);
}

/* The status of (route, listener and peer on loopback, Host, credential). */
static int access_of(const char *method, const char *target, bool local, const char *host,
                     const struct vgpud_http_cred *c)
{
    struct vgpud_http_route r;
    char msg[256] = "";
    const char *body = strcmp(method, "GET") ? "{}" : "";
    assert_int_equal(vgpud_http_route(method, target, NULL, body, strlen(body), &r), 0);
    int rc = vgpud_http_authorize(&r, local, host, c, msg, sizeof(msg));
    assert_true(rc == 0 || msg[0]);
    vgpud_http_route_free(&r);
    return rc;
}

static void test_access_rules(void **state)
{
    const struct vgpud_http_cred none = {0}, bad = {.given = true};
    const struct vgpud_http_cred admin = {.given = true, .valid = true, .admin = true};
    const struct vgpud_http_cred t1 = {.given = true, .valid = true, .tenant = "t1"};
    const char *lo = "127.0.0.1:8080";

    /* Loopback: reads are open, changes need an admin token. */
    assert_int_equal(access_of("GET", "/api/v1/status", true, lo, &none), 0);
    assert_int_equal(access_of("GET", "/api/v1/status", true, NULL, &none), 0);
    assert_int_equal(access_of("GET", "/metrics", true, "localhost", &none), 0);
    assert_int_equal(access_of("GET", "/api/v1/status", true, lo, &t1), 0);
    assert_int_equal(access_of("POST", "/api/v1/tenants", true, lo, &none), 401);
    assert_int_equal(access_of("POST", "/api/v1/tenants", true, lo, &t1), 403);
    assert_int_equal(access_of("POST", "/api/v1/tenants", true, lo, &admin), 0);
    assert_int_equal(access_of("DELETE", "/api/v1/tenants/t1", true, lo, &t1), 403);
    /* A presented token is checked even where none is needed. */
    assert_int_equal(access_of("GET", "/api/v1/status", true, lo, &bad), 401);
    assert_int_equal(access_of("GET", "/", true, lo, &bad), 401);
    /* A page of another site resolved to 127.0.0.1 (DNS rebinding) reads nothing. */
    assert_int_equal(access_of("GET", "/api/v1/status", true, "evil.example:8080", &none), 401);
    assert_int_equal(access_of("GET", "/api/v1/status", true, "evil.example", &admin), 0);

    /* Another address: everything needs a token. */
    assert_int_equal(access_of("GET", "/api/v1/status", false, lo, &none), 401);
    assert_int_equal(access_of("GET", "/metrics", false, lo, &none), 401);
    assert_int_equal(access_of("GET", "/api/v1/status", false, lo, &admin), 0);
    assert_int_equal(access_of("GET", "/metrics", false, lo, &t1), 0);
    assert_int_equal(access_of("GET", "/api/v1/tenants/t1", false, lo, &t1), 0);
    assert_int_equal(access_of("GET", "/api/v1/tenants/t2", false, lo, &t1), 403);
    assert_int_equal(access_of("GET", "/api/v1/tenants", false, lo, &t1), 403);
    assert_int_equal(access_of("POST", "/api/v1/tenants/t1/quarantine", false, lo, &t1), 403);
    assert_int_equal(access_of("POST", "/api/v1/tenants", false, lo, &admin), 0);
    /* The dashboard's files hold no state: a browser loads them without a token. */
    assert_int_equal(access_of("GET", "/", false, "vgpu.example", &none), 0);
    assert_int_equal(access_of("GET", "/static/app.js", false, NULL, &none), 0);
}

static void test_bearer_header(void **state)
{
    char tok[128];
    assert_int_equal(vgpud_http_bearer("Bearer vgpu_abc", tok, sizeof(tok)), 0);
    assert_string_equal(tok, "vgpu_abc");
    assert_int_equal(vgpud_http_bearer("  bearer \t vgpu_abc  ", tok, sizeof(tok)), 0);
    assert_string_equal(tok, "vgpu_abc");
    assert_int_equal(vgpud_http_bearer("Basic dXNlcjpwYXNz", tok, sizeof(tok)), -EINVAL);
    assert_int_equal(vgpud_http_bearer("Bearer", tok, sizeof(tok)), -EINVAL);
    assert_int_equal(vgpud_http_bearer("Bearervgpu_abc", tok, sizeof(tok)), -EINVAL);
    assert_int_equal(vgpud_http_bearer("Bearer a b", tok, sizeof(tok)), -EINVAL);
    assert_int_equal(vgpud_http_bearer("Bearer vgpu_abc", tok, 4), -EINVAL);
}

static void test_http_option(void **state)
{
    char host[64];
    uint16_t port;
    assert_int_equal(vgpud_http_parse_addr("8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(vgpud_http_parse_addr("0.0.0.0:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 0);
    assert_int_equal(vgpud_http_parse_addr("localhost:9", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(vgpud_http_parse_addr("[::1]:65535", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    static const char *const bad[] = {"",         "65536",      "-1",      "::1:80",
                                      "[::1]",    "[::1]80",    "host:80", "1.2.3:80",
                                      "1.2.3.4:", "1.2.3.4:8x", "[]:80",   "1.2.3.4:080808"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (vgpud_http_parse_addr(bad[i], host, sizeof(host), &port) != -EINVAL)
            fail_msg("--http '%s' was accepted", bad[i]);
}

static void test_loopback_host(void **state)
{
    assert_true(vgpud_http_loopback_host("localhost"));
    assert_true(vgpud_http_loopback_host("LocalHost:80"));
    assert_true(vgpud_http_loopback_host("127.0.0.1:8080"));
    assert_true(vgpud_http_loopback_host("127.1.2.3"));
    assert_true(vgpud_http_loopback_host("[::1]:8080"));
    assert_false(vgpud_http_loopback_host(""));
    assert_false(vgpud_http_loopback_host("localhost.evil.example"));
    assert_false(vgpud_http_loopback_host("128.0.0.1"));
    assert_false(vgpud_http_loopback_host("[::2]:80"));
    assert_false(vgpud_http_loopback_host("127.0.0.1:80x"));
    assert_false(vgpud_http_loopback_host("[::1"));
}

static void test_status_of_codes(void **state)
{
    assert_int_equal(vgpud_http_status("invalid_argument"), 400);
    assert_int_equal(vgpud_http_status("not_found"), 404);
    assert_int_equal(vgpud_http_status("already_exists"), 409);
    assert_int_equal(vgpud_http_status("conflict"), 409);
    assert_int_equal(vgpud_http_status("permission_denied"), 403);
    assert_int_equal(vgpud_http_status("internal"), 500);
    assert_int_equal(vgpud_http_status(NULL), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_are_the_cli_requests),
        cmocka_unit_test(test_changes_answer_what_changed),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_access_rules),
        cmocka_unit_test(test_bearer_header),
        cmocka_unit_test(test_http_option),
        cmocka_unit_test(test_loopback_host),
        cmocka_unit_test(test_status_of_codes),
    };
    return cmocka_run_group_tests_name("http.route", tests, NULL, NULL);
}
