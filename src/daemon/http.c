/* http: vgpud's HTTP server (http.h says what it serves and to whom).
 *
 * One evhttp on the daemon's event loop, bound to the address of --http;
 * requests are handled one at a time between the control socket's, so they
 * see and change the same state with no locking. Each request is routed by
 * vgpud_http_route (pure: what it means), then the Authorization header's
 * token is looked up in the store and vgpud_http_authorize says whether the
 * request may run. Then: an API request goes through vgpud_handle, the
 * control socket's code path, with a peer that stands for the HTTP client
 * (an admin: every check was made here), and its reply becomes the
 * response: the reply's "result", which is what `vgpu-admin ... --json`
 * prints, with 200 or 201 (with a Location), nothing with 204, or
 * {"error": {"code", "message"}} with the status of the code. /metrics is
 * vgpud_metrics_text (metrics.c); / and /static/... are the dashboard's
 * embedded files (src/dashboard). Every response forbids caching, framing
 * and content sniffing, and its Content-Security-Policy allows nothing but
 * this origin.
 *
 * Limits: 16 KiB of headers; bodies over VGPUD_HTTP_MAX_BODY get a JSON
 * 413 from the router, those over VGPUD_HTTP_MAX_READ evhttp's own 413 (it
 * reads and drops them first, so the client sees the answer); a connection
 * idle for 30 s is closed. Changes are logged (info) with the client's
 * address and the token's id; refused requests too. */
#include "daemon.h"
#include "http.h"

#include "common.h"
#include "dashboard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEADERS 16384
#define IDLE_TIMEOUT_S 30
#define BEARER "Bearer realm=\"vgpud\""
#define CSP "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static struct {
    struct evhttp *http;
    bool loopback;        /* the listener's address is loopback */
    char port_file[4096]; /* --http-port-file, absolute; removed at exit */
} srv;

static bool loopback_addr(const struct sockaddr *sa)
{
    if (sa && sa->sa_family == AF_INET)
        return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == 127;
    if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* "1.2.3.4:80" or "[::1]:80". */
static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, len, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        snprintf(out, len, "?");
    }
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "";
}

/* Sends status with body (len bytes, may be 0) of type ctype (NULL: none).
 * A HEAD gets the headers of the GET and no body (evhttp 2.1 would send
 * one). */
static void send_body(struct evhttp_request *req, int status, const char *ctype, const void *body,
                      size_t len, bool by_reference)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();
    bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    int rc = buf ? 0 : -1;
    if (buf && head && status != 204) {
        char n[24];
        snprintf(n, sizeof(n), "%zu", len);
        evhttp_add_header(h, "Content-Length", n);
    }
    if (buf && len && !head)
        rc = by_reference ? evbuffer_add_reference(buf, body, len, NULL, NULL)
                          : evbuffer_add(buf, body, len);
    if (rc != 0) {
        if (buf)
            evbuffer_free(buf);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Content-Security-Policy", CSP);
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
}

/* Sends a JSON document, compact, on one line (as vgpu-admin --json prints it). */
static void send_json(struct evhttp_request *req, int status, const json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = text ? strlen(text) : 0;
    if (!text) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    text[n] = '\n'; /* json_dumps's terminator: the line ends instead */
    send_body(req, status, "application/json", text, n + 1, false);
    free(text);
}

/* {"error": {"code", "message"}} with status. */
static void send_error(struct evhttp_request *req, int status, const char *code, const char *msg)
{
    json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    if (!body) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    send_json(req, status, body);
    json_decref(body);
}

/* The Authorization header's token, looked up; tokid gets its id for logs. */
static void credentials(struct vgpud *d, const char *header, struct vgpud_http_cred *c, char *tokid,
                        size_t idlen)
{
    char token[160];
    json_t *t;
    memset(c, 0, sizeof(*c));
    snprintf(tokid, idlen, "none");
    if (!header)
        return;
    c->given = true;
    snprintf(tokid, idlen, "invalid");
    if (vgpud_http_bearer(header, token, sizeof(token)) != 0 ||
        !(t = vgpu_store_token_lookup(d->store, token)))
        return;
    c->valid = true;
    c->admin = json_is_true(json_object_get(t, "admin"));
    const char *tenant = json_string_value(json_object_get(t, "tenant"));
    const char *id = json_string_value(json_object_get(t, "id"));
    snprintf(c->tenant, sizeof(c->tenant), "%s", tenant ? tenant : "");
    snprintf(tokid, idlen, "%s", id ? id : "?");
    json_decref(t);
}

/* The element of the list res whose "name" is name, or NULL. */
static json_t *pick(json_t *res, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(res, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

/* Runs an API request through vgpud_handle and answers with its reply;
 * returns the status sent. */
static int answer_api(struct evhttp_request *req, struct vgpud *d, const struct vgpud_http_route *r)
{
    struct vgpu_peer peer = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1, .admin = true};
    json_t *reply = vgpud_handle(d, &peer, r->request), *then = NULL, *res;
    int status = r->status;

    if (!reply) {
        send_error(req, status = 500, "internal", "out of memory");
        goto cleanup;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        json_t *e = json_object_get(reply, "error");
        json_t *body = json_pack("{s:O}", "error", e ? e : json_null());
        status = vgpud_http_status(json_string_value(json_object_get(e, "code")));
        if (body)
            send_json(req, status, body);
        else
            evhttp_send_error(req, status = 500, NULL);
        json_decref(body);
        goto cleanup;
    }
    res = json_object_get(reply, "result");
    if (r->then && (then = vgpud_handle(d, &peer, r->then)) &&
        json_is_true(json_object_get(then, "ok")))
        res = json_object_get(then, "result");
    if (r->pick[0] && !(res = pick(res, r->pick))) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no %s '%s'", r->what ? r->what : "entry", r->pick);
        for (char *p = msg; *p; p++)
            *p = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
        send_error(req, status = 404, "not_found", msg);
        goto cleanup;
    }
    if (status == 204) {
        send_body(req, 204, NULL, NULL, 0, false);
        goto cleanup;
    }
    if (r->location[0])
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", r->location);
    send_json(req, status, res ? res : json_object());
cleanup:
    json_decref(then);
    json_decref(reply);
    return status;
}

static int answer_metrics(struct evhttp_request *req, struct vgpud *d)
{
    char *text = vgpud_metrics_text(d);
    if (!text) {
        send_error(req, 500, "internal", "the metrics could not be gathered");
        return 500;
    }
    send_body(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), false);
    free(text);
    return 200;
}

static int answer_asset(struct evhttp_request *req, const char *path)
{
    const struct vgpu_asset *a = vgpu_dashboard_asset(path);
    if (!a) {
        char msg[320];
        snprintf(msg, sizeof(msg), "nothing at %s", path);
        send_error(req, 404, "not_found", msg);
        return 404;
    }
    send_body(req, 200, a->content_type, a->data, a->len, true);
    return 200;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct vgpud *d = arg;
    struct evhttp_connection *con = evhttp_request_get_connection(req);
    const struct sockaddr *peer = con ? evhttp_connection_get_addr(con) : NULL;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(ib);
    const char *body = len ? (const char *)evbuffer_pullup(ib, -1) : "";
    const char *method = method_name(evhttp_request_get_command(req));
    const char *target = evhttp_request_get_uri(req);
    struct vgpud_http_route r;
    struct vgpud_http_cred cred;
    char who[64], tokid[32], msg[256], shown[128];
    int status;

    addr_text(peer, who, sizeof(who));
    snprintf(shown, sizeof(shown), "%s", target ? target : "");
    for (char *p = shown; *p; p++) /* the target as logged: no control characters */
        *p = (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ? '?' : *p;
    if (!body) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    status = vgpud_http_route(method, target ? target : "", evhttp_find_header(in, "Content-Type"),
                              body, len, &r);
    if (status) {
        if (status == 405)
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", r.allow);
        send_error(req, status, r.code, r.message);
        vgpu_debug("HTTP %s %s from %s: %d %s", method, shown, who, status, r.message);
        goto cleanup;
    }
    credentials(d, evhttp_find_header(in, "Authorization"), &cred, tokid, sizeof(tokid));
    status = vgpud_http_authorize(&r, srv.loopback && loopback_addr(peer),
                                  evhttp_find_header(in, "Host"), &cred, msg, sizeof(msg));
    if (status) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          status == 403               ? BEARER ", error=\"insufficient_scope\""
                          : cred.given && !cred.valid ? BEARER ", error=\"invalid_token\""
                                                      : BEARER);
        send_error(req, status, status == 401 ? "unauthorized" : "permission_denied", msg);
        vgpu_info("HTTP %s %s from %s (token %s): %d refused", method, shown, who, tokid, status);
        goto cleanup;
    }
    switch (r.kind) {
    case VGPUD_HTTP_API: status = answer_api(req, d, &r); break;
    case VGPUD_HTTP_METRICS: status = answer_metrics(req, d); break;
    case VGPUD_HTTP_ASSET: status = answer_asset(req, r.asset); break;
    case VGPUD_HTTP_ERROR:
        status = 500;
        evhttp_send_error(req, 500, NULL);
        break;
    }
    if (r.access == VGPUD_HTTP_WRITE)
        vgpu_info("HTTP %s %s from %s (token %s): %d", method, shown, who, tokid, status);
    else
        vgpu_debug("HTTP %s %s from %s: %d", method, shown, who, status);
cleanup:
    vgpud_http_route_free(&r);
}

/* Writes "ADDR:PORT\n" to path (by a rename, so a reader never sees half of
 * it) and keeps the path, made absolute, to remove at exit. */
static int write_port_file(const char *path, const char *bound)
{
    char cwd[2048] = "", tmp[sizeof(srv.port_file) + 8];
    FILE *f = NULL;
    int rc = 0;

    if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
        return -errno;
    if ((size_t)snprintf(srv.port_file, sizeof(srv.port_file), "%s%s%s", cwd, cwd[0] ? "/" : "",
                         path) >= sizeof(srv.port_file)) {
        srv.port_file[0] = '\0';
        return -ENAMETOOLONG;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", srv.port_file);
    f = fopen(tmp, "we");
    if (!f || fprintf(f, "%s\n", bound) < 0) {
        rc = -errno;
        goto cleanup;
    }
    if (fclose(f) != 0 || rename(tmp, srv.port_file) != 0) {
        f = NULL;
        rc = -errno;
        goto cleanup;
    }
    f = NULL;
cleanup:
    if (f)
        fclose(f);
    if (rc) {
        unlink(tmp);
        srv.port_file[0] = '\0';
    }
    return rc;
}

int vgpud_http_listen(struct vgpud *d, const char *spec, const char *port_file)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64], port_s[8], bound[80];
    uint16_t port;
    int fd = -1, one = 1, rc;

    if (vgpud_http_parse_addr(spec, host, sizeof(host), &port) != 0) {
        vgpu_error("--http %s: expected PORT, ADDR:PORT or [IPV6]:PORT", spec);
        return -EINVAL;
    }
    snprintf(port_s, sizeof(port_s), "%u", port);
    if ((rc = getaddrinfo(host, port_s, &hints, &ai)) != 0) {
        vgpu_error("--http %s: %s", spec, gai_strerror(rc));
        return -EINVAL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = -errno;
        vgpu_error("cannot listen for HTTP on %s: %s", spec, strerror(errno));
        goto fail;
    }
    srv.http = evhttp_new(d->base);
    if (!srv.http || !evhttp_accept_socket_with_handle(srv.http, fd)) {
        rc = -ENOMEM;
        vgpu_error("cannot serve HTTP on %s: out of memory", spec);
        goto fail;
    }
    fd = -1; /* the evhttp closes it */
    evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                             EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(srv.http, MAX_HEADERS);
    evhttp_set_max_body_size(srv.http, VGPUD_HTTP_MAX_READ);
    evhttp_set_timeout(srv.http, IDLE_TIMEOUT_S);
    evhttp_set_flags(srv.http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(srv.http, on_request, d);
    srv.loopback = loopback_addr((struct sockaddr *)&ss);
    addr_text((struct sockaddr *)&ss, bound, sizeof(bound));
    if (port_file && (rc = write_port_file(port_file, bound)) != 0) {
        vgpu_error("cannot write %s: %s", port_file, strerror(-rc));
        goto fail;
    }
    vgpu_info("HTTP API on http://%s/ (%s)", bound,
              srv.loopback ? "loopback: reads need no token, changes an admin token"
                           : "not loopback: every request needs a token");
    freeaddrinfo(ai);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (srv.http)
        evhttp_free(srv.http);
    srv.http = NULL;
    freeaddrinfo(ai);
    return rc;
}

void vgpud_http_close(void)
{
    if (srv.http)
        evhttp_free(srv.http);
    srv.http = NULL;
    if (srv.port_file[0])
        unlink(srv.port_file);
    srv.port_file[0] = '\0';
}
