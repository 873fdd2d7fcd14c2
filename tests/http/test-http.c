/* vgpud's HTTP API end to end, on a simulated machine of two H100s.
 *
 * Runs vgpud as an administrator would (--http 127.0.0.1:0, the bound port
 * read from --http-port-file) and talks to it as a browser, curl or a
 * script would, over a plain socket (tests/lib/vt_http.h), next to
 * vgpu-admin: the reads return exactly what `vgpu-admin ... --json` prints;
 * changes need an admin token (none: 401, a tenant's: 403) and, once made,
 * show in the CLI; invalid values are refused with the CLI's message and
 * change nothing; bad HTTP (unknown paths, wrong methods, big or malformed
 * bodies, garbage request lines) gets a 4xx and leaves vgpud serving; the
 * dashboard and /metrics are served with their types and security headers;
 * and a listener on another address than loopback asks a token of every
 * request but the dashboard's files.
 *
 *   test-http BIN_DIR WORK_DIR */
#include "vt.h"
#include "vt_http.h"
#include "vt_world.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 20000
#define SHM_PREFIX "vgputest-http"

static struct vt_world W; /* shared: the machine and prefix are CTest's */
static char port_file[600];
static char addr[80]; /* the listener, as --http-port-file holds it */
static char admin_token[128], t1_token[128];

/* `vgpu-admin WORDS... --json`, parsed. */
#define CLI_JSON(...) vt_admin_json(&W, __VA_ARGS__, NULL)

/* A request through `listener`; checks the status and, for a JSON answer,
 * its type; returns the parsed body (NULL when empty). */
static json_t *call_at(const char *listener, const char *method, const char *path,
                       const char *token, const char *body, int want)
{
    struct vt_http_reply r;
    char ctype[128];
    assert_int_equal(vt_http(listener, method, path, token, body, &r), 0);
    if (r.status != want)
        fail_msg("%s %s: %d %s, expected %d", method, path, r.status, r.body, want);
    json_t *j = r.body_len ? json_loads(r.body, JSON_DECODE_ANY, NULL) : NULL;
    if (r.body_len) {
        assert_true(vt_http_header(&r, "Content-Type", ctype, sizeof(ctype)));
        assert_string_equal(ctype, "application/json");
        assert_non_null(j);
    }
    vt_http_free(&r);
    return j;
}

static json_t *call(const char *method, const char *path, const char *token, const char *body,
                    int want)
{
    return call_at(addr, method, path, token, body, want);
}

/* An error answer: {"error": {"code": code, "message": "..."}}. */
static void check_error(const json_t *j, const char *code)
{
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_true(json_string_length(json_object_get(e, "message")) > 0);
}

/* The same, consuming j. */
static void expect_error(json_t *j, const char *code)
{
    check_error(j, code);
    json_decref(j);
}

/* vgpud listening on `http` too. It writes the port file before it serves
 * anything, so the file is there once the control socket has answered. */
static void start_daemon(const char *http)
{
    unlink(port_file);
    vt_world_start_vgpud(&W, "--http", http, "--http-port-file", port_file, NULL);
    FILE *f = fopen(port_file, "r");
    bool got = f && fscanf(f, "%79s", addr) == 1;
    if (f)
        fclose(f);
    if (!got)
        fail_msg("vgpud did not start serving HTTP on %s", http);
}

static void stop_daemon(void)
{
    assert_int_equal(vt_world_stop_vgpud(&W, SIGTERM), 0);
    assert_int_equal(access(port_file, F_OK), -1); /* removed on the way out */
}

static void make_token(char *out, size_t len, const char *what, const char *tenant)
{
    char *text = NULL;
    assert_int_equal(tenant ? vt_admin(&W, &text, NULL, "token", "create", what, tenant, NULL)
                            : vt_admin(&W, &text, NULL, "token", "create", what, NULL),
                     0);
    assert_int_equal(sscanf(text, "%127s", out), 1);
    assert_true(strlen(out) < len);
    free(text);
}

/* GPU 0 in pool A with tenant t1 (4 GiB), GPU 1 free; an admin token and t1's. */
static int setup(void **state)
{
    unlink(W.db);
    vt_fresh_simgpu();
    start_daemon("127.0.0.1:0");
    assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "scan-gpus", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "A", "--gpus", "0", NULL), 0);
    assert_int_equal(
        vt_admin(&W, NULL, NULL, "tenant", "add", "t1", "--pool", "A", "--memory", "4GiB", NULL),
        0);
    make_token(admin_token, sizeof(admin_token), "--admin", NULL);
    make_token(t1_token, sizeof(t1_token), "--tenant", "t1");
    return 0;
}

static int teardown(void **state)
{
    stop_daemon();
    vt_remove_shm(SHM_PREFIX);
    return 0;
}

/* What changes by itself between two reads: the daemon's uptime and
 * connections, how long each GPU has been idle. */
static json_t *declared(json_t *status)
{
    size_t i;
    json_t *g;
    json_object_del(status, "daemon");
    json_array_foreach(json_object_get(json_object_get(status, "scheduler"), "gpus"), i, g)
        json_object_del(g, "idle_s");
    return status;
}

static void expect_same(json_t *http, json_t *cli, const char *what)
{
    if (!json_equal(http, cli)) {
        char *a = json_dumps(http, JSON_COMPACT), *b = json_dumps(cli, JSON_COMPACT);
        fail_msg("%s: HTTP %s\nCLI %s", what, a, b);
    }
    json_decref(http);
    json_decref(cli);
}

static void test_reads_are_what_the_cli_prints(void **state)
{
    expect_same(declared(call("GET", "/api/v1/status", NULL, NULL, 200)),
                declared(CLI_JSON("status")), "status");
    expect_same(call("GET", "/api/v1/gpus", NULL, NULL, 200), CLI_JSON("gpus"), "gpus");
    expect_same(call("GET", "/api/v1/pools", NULL, NULL, 200), CLI_JSON("pool", "list"), "pools");
    expect_same(call("GET", "/api/v1/tenants", NULL, NULL, 200), CLI_JSON("tenant", "list"),
                "tenants");
    expect_same(call("GET", "/api/v1/tenants?pool=A", NULL, NULL, 200),
                CLI_JSON("tenant", "list", "--pool", "A"), "tenants of pool A");
    expect_same(call("GET", "/api/v1/tenants/t1", NULL, NULL, 200),
                CLI_JSON("tenant", "show", "t1"), "tenant t1");
    expect_same(call("GET", "/api/v1/weights", NULL, NULL, 200), CLI_JSON("set-weights"),
                "weights");
    /* HEAD: the status and headers of a GET, no body. */
    assert_null(call("HEAD", "/api/v1/status", NULL, NULL, 200));
    /* An admin token reads too; a pool by name is its entry of the list. */
    json_t *pools = CLI_JSON("pool", "list");
    expect_same(call("GET", "/api/v1/pools/A", admin_token, NULL, 200),
                json_incref(json_array_get(pools, 0)), "pool A");
    json_decref(pools);
    expect_error(call("GET", "/api/v1/pools/Z", NULL, NULL, 404), "not_found");
}

static void test_changes_need_an_admin_token(void **state)
{
    const char *body = "{\"name\":\"t2\",\"pool\":\"A\",\"priority\":\"high\",\"memory\":\"2GiB\"}";
    struct vt_http_reply r;
    char hdr[128];

    /* No token: 401 with a challenge; a token the store does not know: the same. */
    assert_int_equal(vt_http(addr, "POST", "/api/v1/tenants", NULL, body, &r), 0);
    assert_int_equal(r.status, 401);
    assert_true(vt_http_header(&r, "WWW-Authenticate", hdr, sizeof(hdr)));
    assert_int_equal(strncmp(hdr, "Bearer", 6), 0);
    json_t *j = json_loads(r.body, 0, NULL);
    expect_error(j, "unauthorized");
    vt_http_free(&r);
    expect_error(call("POST", "/api/v1/tenants", "vgpu_0123", body, 401), "unauthorized");
    /* t1's token is valid but not an admin's. */
    expect_error(call("POST", "/api/v1/tenants", t1_token, body, 403), "permission_denied");
    json_t *tenants = CLI_JSON("tenant", "list");
    assert_int_equal(json_array_size(tenants), 1); /* nothing was added */
    json_decref(tenants);

    /* An admin's: created, where it is, and what it is. */
    assert_int_equal(vt_http(addr, "POST", "/api/v1/tenants", admin_token, body, &r), 0);
    assert_int_equal(r.status, 201);
    assert_true(vt_http_header(&r, "Location", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "/api/v1/tenants/t2");
    j = json_loads(r.body, 0, NULL);
    vt_http_free(&r);
    json_t *t2 = CLI_JSON("tenant", "show", "t2");
    assert_string_equal(json_string_value(json_object_get(t2, "priority")), "high");
    assert_int_equal(json_integer_value(json_object_get(t2, "memory")), 2LL << 30);
    expect_same(j, t2, "the created tenant");
    tenants = CLI_JSON("tenant", "list");
    assert_int_equal(json_array_size(tenants), 2);
    json_decref(tenants);
    /* The same again: the store's "already exists", as the CLI gets it. */
    expect_error(call("POST", "/api/v1/tenants", admin_token, body, 409), "already_exists");
}

static void test_errors_are_the_clis(void **state)
{
    char *err = NULL;
    json_t *before = CLI_JSON("tenant", "show", "t1");
    json_t *j = call("PATCH", "/api/v1/tenants/t1", admin_token, "{\"memory\":\"lots\"}", 400);
    check_error(j, "invalid_argument");
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_int_equal(vt_admin(&W, NULL, &err, "tenant", "set", "t1", "--memory", "lots", NULL), 1);
    if (!strstr(err, msg))
        fail_msg("the CLI printed '%s', HTTP said '%s'", err, msg);
    free(err);
    json_decref(j);
    expect_error(call("PATCH", "/api/v1/tenants/t1", admin_token, "{\"colour\":\"red\"}", 400),
                 "invalid_argument");
    expect_error(call("PATCH", "/api/v1/tenants/nobody", admin_token, "{\"share\":5}", 404),
                 "not_found");
    expect_error(call("DELETE", "/api/v1/pools/A", admin_token, NULL, 409), "conflict");
    expect_same(CLI_JSON("tenant", "show", "t1"), before, "t1 after refused changes");

    /* A valid change answers the changed tenant, and the CLI sees it. */
    j = call("PATCH", "/api/v1/tenants/t1", admin_token, "{\"memory\":\"6GiB\",\"share\":30}", 200);
    assert_int_equal(json_integer_value(json_object_get(j, "memory")), 6LL << 30);
    json_t *t1 = CLI_JSON("tenant", "show", "t1");
    assert_int_equal(json_integer_value(json_object_get(t1, "share")), 30);
    expect_same(j, t1, "the changed tenant");
}

static const char *state_of(const char *tenant)
{
    static char st[32];
    json_t *t = CLI_JSON("tenant", "show", tenant);
    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(t, "state")));
    json_decref(t);
    return st;
}

static void test_quarantine_release_and_delete(void **state)
{
    json_t *j = call("POST", "/api/v1/tenants/t1/quarantine", admin_token, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "quarantined");
    json_decref(j);
    assert_string_equal(state_of("t1"), "quarantined");
    j = call("POST", "/api/v1/tenants/t1/release", admin_token, "{}", 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
    json_decref(j);
    assert_string_equal(state_of("t1"), "active");
    expect_error(call("POST", "/api/v1/tenants/t1/quarantine", t1_token, NULL, 403),
                 "permission_denied");

    assert_null(call("DELETE", "/api/v1/tenants/t1", admin_token, NULL, 204));
    expect_error(call("GET", "/api/v1/tenants/t1", NULL, NULL, 404), "not_found");
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "show", "t1", NULL), 1);
    expect_error(call("DELETE", "/api/v1/tenants/t1", admin_token, NULL, 404), "not_found");
}

static void test_pools_gpus_weights_and_scan(void **state)
{
    json_t *gpus = CLI_JSON("gpus");
    const char *uuid1 = json_string_value(json_object_get(json_array_get(gpus, 1), "uuid"));

    json_t *j = call("POST", "/api/v1/pools", admin_token, "{\"name\":\"B\"}", 201);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "B");
    json_decref(j);
    j = call("POST", "/api/v1/gpus/1/assign", admin_token, "{\"pool\":\"B\"}", 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "gpus"), 0)), uuid1);
    json_decref(j);
    json_t *pools = CLI_JSON("pool", "list");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(pools, 1), "gpus"), 0)),
        uuid1);
    json_decref(pools);
    expect_error(call("POST", "/api/v1/gpus/7/assign", admin_token, "{\"pool\":\"B\"}", 404),
                 "not_found");
    j = call("POST", "/api/v1/gpus/1/unassign", admin_token, "{\"pool\":\"B\"}", 200);
    assert_int_equal(json_array_size(json_object_get(j, "gpus")), 0);
    json_decref(j);
    assert_null(call("DELETE", "/api/v1/pools/B", admin_token, NULL, 204));
    pools = CLI_JSON("pool", "list");
    assert_int_equal(json_array_size(pools), 1);
    json_decref(pools);

    expect_same(
        call("PUT", "/api/v1/weights", admin_token, "{\"high\":8,\"medium\":3,\"low\":1}", 200),
        json_pack("{s:i, s:i, s:i}", "high", 8, "medium", 3, "low", 1), "new weights");
    expect_same(CLI_JSON("set-weights"),
                json_pack("{s:i, s:i, s:i}", "high", 8, "medium", 3, "low", 1), "weights");
    expect_error(call("PUT", "/api/v1/weights", admin_token, "{\"high\":0}", 400),
                 "invalid_argument");

    j = call("POST", "/api/v1/scan", admin_token, NULL, 200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    json_decref(gpus);
}

/* A request of raw bytes; returns the status (0: no status line). */
static int raw_status(const char *text, size_t len)
{
    struct vt_http_reply r;
    int rc = vt_http_raw(addr, text, len, &r, TIMEOUT_MS);
    int status = rc == 0 ? r.status : 0;
    if (rc == 0)
        vt_http_free(&r);
    return status;
}

static void test_bad_http_gets_4xx(void **state)
{
    struct vt_http_reply r;
    char hdr[128];
    expect_error(call("GET", "/api/v1/nothing", NULL, NULL, 404), "not_found");
    expect_error(call("GET", "/nothing", NULL, NULL, 404), "not_found");
    assert_int_equal(vt_http(addr, "DELETE", "/api/v1/weights", admin_token, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    assert_true(vt_http_header(&r, "Allow", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "GET, HEAD, PUT");
    vt_http_free(&r);
    expect_error(call("POST", "/api/v1/tenants", admin_token, "{\"name\":", 400),
                 "invalid_request");
    expect_error(call("POST", "/api/v1/tenants", admin_token, "[\"t3\"]", 400), "invalid_request");
    expect_error(call("GET", "/api/v1/tenants/a%2Fb", NULL, NULL, 400), "invalid_argument");
    expect_error(call("GET", "/api/v1/tenants?colour=red", NULL, NULL, 400), "invalid_request");

    const char *plain = "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}";
    assert_int_equal(raw_status(plain, strlen(plain)), 415);

    /* Bodies over the API's limit: a JSON 413; far over it: evhttp's 413. */
    size_t big = 70 * 1024, huge = 2 * 1024 * 1024;
    char *body = malloc(huge + 1);
    assert_non_null(body);
    memset(body, ' ', huge);
    body[0] = '{';
    body[big - 1] = '}';
    body[big] = '\0';
    expect_error(call("POST", "/api/v1/tenants", admin_token, body, 413), "payload_too_large");
    body[big - 1] = ' ';
    body[huge - 1] = '}';
    body[huge] = '\0';
    assert_int_equal(vt_http(addr, "POST", "/api/v1/tenants", admin_token, body, &r), 0);
    assert_int_equal(r.status, 413);
    vt_http_free(&r);
    free(body);
}

static void test_garbage_leaves_vgpud_serving(void **state)
{
    static const char *const garbage[] = {
        "\r\n\r\n",
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET /api/v1/status HTTP/1.1\r\nno colon here\r\n\r\n",
        "POST /api/v1/tenants HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "POST /api/v1/tenants HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /api/v1/tenants HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "BREW /coffee HTCPCP/1.0\r\n\r\n",
        "GET /api/v1/tenants/\xff\xfe\x01 HTTP/1.1\r\nHost: \x01\r\n\r\n",
        "GET /api/v1/status HTTP/1.1\r\nAuthorization: Bearer\r\nConnection: close\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS hello */
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        int status = raw_status(garbage[i], strlen(garbage[i]));
        assert_true(status == 0 || (status >= 400 && status < 500)); /* closed, or refused */
    }
    char *headers = malloc(64 * 1024);
    assert_non_null(headers);
    strcpy(headers, "GET /api/v1/status HTTP/1.1\r\nX-Big: ");
    memset(headers + strlen(headers), 'a', 60 * 1024);
    strcpy(headers + 60 * 1024, "\r\n\r\n");
    int status = raw_status(headers, strlen(headers));
    assert_true(status == 0 || (status >= 400 && status < 500));
    free(headers);
    json_decref(call("GET", "/api/v1/status", NULL, NULL, 200));
    assert_int_equal(vt_admin(&W, NULL, NULL, "ping", NULL), 0);
}

static void test_metrics_and_dashboard(void **state)
{
    struct vt_http_reply r;
    char hdr[256];
    assert_int_equal(vt_http(addr, "GET", "/metrics", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(vt_http_header(&r, "Content-Type", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "vgpu_"));
    assert_non_null(strstr(r.body, "tenant=\"t1\""));
    vt_http_free(&r);

    assert_int_equal(vt_http(addr, "GET", "/", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(vt_http_header(&r, "Content-Type", hdr, sizeof(hdr)));
    assert_int_equal(strncmp(hdr, "text/html", 9), 0);
    assert_true(vt_http_header(&r, "Content-Security-Policy", hdr, sizeof(hdr)));
    assert_non_null(strstr(hdr, "default-src 'self'"));
    assert_true(vt_http_header(&r, "X-Content-Type-Options", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "nosniff");
    assert_non_null(strstr(r.body, "<"));
    vt_http_free(&r);
    expect_error(call("GET", "/static/nothing.js", NULL, NULL, 404), "not_found");
    expect_error(call("POST", "/", admin_token, NULL, 405), "method_not_allowed");
}

/* A page of another site that resolved its name to 127.0.0.1 (DNS
 * rebinding) sends its own Host: it reads nothing without a token. */
static void test_foreign_host_needs_a_token(void **state)
{
    const char *req = "GET /api/v1/status HTTP/1.1\r\nHost: attacker.example\r\n"
                      "Connection: close\r\n\r\n";
    assert_int_equal(raw_status(req, strlen(req)), 401);
}

/* The machine's first IPv4 address that is not loopback, "" when none. */
static void other_address(char *out, size_t len)
{
    struct ifaddrs *ifs = NULL;
    out[0] = '\0';
    if (getifaddrs(&ifs) != 0)
        return;
    for (struct ifaddrs *i = ifs; i && !out[0]; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
            !(i->ifa_flags & IFF_UP))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)len);
    }
    freeifaddrs(ifs);
}

static void test_other_address_needs_a_token(void **state)
{
    char ip[INET_ADDRSTRLEN], there[96], here[96];
    other_address(ip, sizeof(ip));
    if (!ip[0])
        skip(); /* the rule itself is tested in test-http-route (unit.http.route) */
    stop_daemon();
    start_daemon("0.0.0.0:0");
    snprintf(there, sizeof(there), "%s:%s", ip, strchr(addr, ':') + 1);
    snprintf(here, sizeof(here), "127.0.0.1:%s", strchr(addr, ':') + 1);

    expect_error(call_at(there, "GET", "/api/v1/status", NULL, NULL, 401), "unauthorized");
    expect_error(call_at(there, "GET", "/metrics", NULL, NULL, 401), "unauthorized");
    expect_error(call_at(there, "GET", "/api/v1/status", t1_token, NULL, 403), "permission_denied");
    json_decref(call_at(there, "GET", "/api/v1/tenants/t1", t1_token, NULL, 200));
    expect_error(call_at(there, "GET", "/api/v1/tenants", t1_token, NULL, 403),
                 "permission_denied");
    json_decref(call_at(there, "GET", "/api/v1/status", admin_token, NULL, 200));
    /* Loopback through a listener that is not: still a token. */
    expect_error(call_at(here, "GET", "/api/v1/status", NULL, NULL, 401), "unauthorized");

    struct vt_http_reply r;
    assert_int_equal(vt_http(there, "GET", "/metrics", t1_token, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    vt_http_free(&r);
    assert_int_equal(vt_http(there, "GET", "/", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200); /* the dashboard's page holds no state */
    vt_http_free(&r);
}

static void test_options(void **state)
{
    char *err = NULL, busy[96];
    char *bad[] = {W.vgpud_bin, "--foreground", "--socket", W.sock, "--http", "nowhere:80", NULL};
    assert_int_equal(vt_run(bad, NULL, &err, TIMEOUT_MS), 2);
    assert_non_null(strstr(err, "--http nowhere:80"));
    free(err);
    char *lonely[] = {W.vgpud_bin,        "--foreground", "--socket", W.sock,
                      "--http-port-file", port_file,      NULL};
    assert_int_equal(vt_run(lonely, NULL, NULL, TIMEOUT_MS), 2);
    /* A port another program holds: a clear error and exit 1, before serving. */
    char other_sock[720], other_db[720];
    snprintf(other_sock, sizeof(other_sock), "%s.2", W.sock);
    snprintf(other_db, sizeof(other_db), "%s.2", W.db);
    snprintf(busy, sizeof(busy), "%s", addr);
    char *taken[] = {W.vgpud_bin, "--foreground", "--socket", other_sock, "--db",
                     other_db,    "--http",       busy,       NULL};
    setenv("VGPU_ACCOUNT_PREFIX", SHM_PREFIX "2", 1); /* its scheduler region is its own */
    int rc = vt_run(taken, NULL, &err, TIMEOUT_MS);
    setenv("VGPU_ACCOUNT_PREFIX", SHM_PREFIX, 1);
    vt_remove_shm(SHM_PREFIX "2");
    unlink(other_db);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "cannot listen for HTTP"));
    free(err);
}

int main(int argc, char **argv)
{
    if (!vt_world_args(&W, argc, argv, false, TIMEOUT_MS))
        return 2;
    snprintf(port_file, sizeof(port_file), "%s/http.port", W.dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_are_what_the_cli_prints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_need_an_admin_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_are_the_clis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_release_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pools_gpus_weights_and_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_http_gets_4xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_leaves_vgpud_serving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_and_dashboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_host_needs_a_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_address_needs_a_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
