/* http: vgpud's HTTP server, the JSON API, /metrics and the dashboard.
 *
 * Two halves. http.c is the server (libevent's evhttp on the daemon's one
 * event loop): it reads a request, asks the pure half what it means and who
 * may make it, and answers. http_route.c is the pure half (no libevent, no
 * store, no daemon state, so the fuzz harness tests/fuzz/fuzz-http.c and the
 * unit test drive it alone): vgpud_http_route turns a method, a request
 * target and a body into the control-protocol request that `vgpu-admin`
 * would send ({"op", "args"}), or into an HTTP error; vgpud_http_authorize
 * decides from the listener, the peer and the bearer token whether it may
 * run. The API runs every request through vgpud_handle, the code path of the
 * control socket, so validation, errors and results are the CLI's.
 *
 * Access (docs/ARCHITECTURE.md, "HTTP API"): on a loopback listener a
 * loopback peer may read (GET, HEAD) without a token, if its Host header
 * names loopback (a guard against DNS rebinding); every change needs an
 * admin token (`vgpu-admin token create --admin`); on any other listener
 * every read needs a token too: an admin token for everything, a tenant's
 * token for GET /metrics and GET /api/v1/tenants/ITS_NAME only. The
 * dashboard's files (GET / and /static/...) hold no state and are served to
 * anyone. A token that is presented is always checked: a bad one is a 401
 * even where none was needed. */
#ifndef VGPUD_HTTP_H
#define VGPUD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest request body the API takes (a tenant's arguments are a few
 * hundred bytes); a larger one is a 413 with a JSON error. Past
 * VGPUD_HTTP_MAX_READ evhttp stops reading and answers 413 itself. */
#define VGPUD_HTTP_MAX_BODY (64u * 1024)
#define VGPUD_HTTP_MAX_READ (1024u * 1024)

enum vgpud_http_kind {
    VGPUD_HTTP_ERROR,   /* answer `status` with {"error": {"code", "message"}} */
    VGPUD_HTTP_API,     /* run `request` through vgpud_handle */
    VGPUD_HTTP_METRICS, /* GET /metrics: vgpud_metrics_text */
    VGPUD_HTTP_ASSET,   /* GET / and /static/...: the dashboard's embedded files */
};

/* Who may make a request (vgpud_http_authorize). */
enum vgpud_http_access {
    VGPUD_HTTP_PUBLIC, /* anyone: the dashboard's files */
    VGPUD_HTTP_READ,   /* loopback, else an admin token (or the tenant's own token) */
    VGPUD_HTTP_SCRAPE, /* loopback, else any valid token: /metrics */
    VGPUD_HTTP_WRITE,  /* an admin token, always */
};

struct vgpud_http_route {
    enum vgpud_http_kind kind;
    enum vgpud_http_access access;
    int status;         /* ERROR: the status; API: the status of a success (200, 201, 204) */
    json_t *request;    /* API: {"op", "args"} for vgpud_handle */
    json_t *then;       /* API: run after `request` succeeded; its result is the response */
    char pick[64];      /* API: the response is the element of the result list named so */
    const char *what;   /* ... and what it is, for the 404 when none is ("pool") */
    char tenant[64];    /* GET /api/v1/tenants/NAME: NAME (a tenant's token may read it) */
    char location[128]; /* 201: the path of what was created */
    char asset[256];    /* ASSET: the path to look up ("/", "/static/...") */
    char allow[64];     /* 405: the methods the path takes ("GET, HEAD, POST") */
    const char *code;   /* ERROR: invalid_request, not_found, method_not_allowed, ... */
    char message[256];  /* ERROR: one line for people, free of control characters */
};

/* Routes a request: `method` as sent ("GET"), `target` the request target
 * ("/api/v1/tenants/vm-1?x=y"), `content_type` the header or NULL, and the
 * body (len bytes, need not be terminated). Returns 0 with kind API, METRICS
 * or ASSET, or the HTTP status of an error (kind ERROR; 500 only when out of
 * memory). Free with vgpud_http_route_free in either case. */
int vgpud_http_route(const char *method, const char *target, const char *content_type,
                     const char *body, size_t len, struct vgpud_http_route *out);
void vgpud_http_route_free(struct vgpud_http_route *r);

/* What the Authorization header carried. */
struct vgpud_http_cred {
    bool given;      /* there was an Authorization header */
    bool valid;      /* it was "Bearer TOKEN" with a token the store knows */
    bool admin;      /* an admin token */
    char tenant[64]; /* a tenant token's tenant */
};

/* 0 when the routed request `r` may run, else 401 or 403 with a message.
 * local: both the listener's address and the peer's are loopback. host: the
 * Host header, or NULL when there was none (HTTP/1.0). */
int vgpud_http_authorize(const struct vgpud_http_route *r, bool local, const char *host,
                         const struct vgpud_http_cred *c, char *msg, size_t len);

/* The token of an Authorization header "Bearer TOKEN" (the scheme in any
 * case, TOKEN without blanks): 0 with it in tok, or -EINVAL. */
int vgpud_http_bearer(const char *header, char *tok, size_t len);

/* The HTTP status of an error code (vgpud's, the store's or the router's). */
int vgpud_http_status(const char *code);

/* --http's value: "PORT", "ADDR:PORT" or "[IPV6]:PORT", ADDR a numeric
 * IPv4 or IPv6 address or "localhost", PORT 0-65535 (0: any free port).
 * "PORT" alone and "localhost" mean 127.0.0.1. 0, or -EINVAL. */
int vgpud_http_parse_addr(const char *s, char *host, size_t len, uint16_t *port);

/* True when a Host header's host is loopback: localhost, 127.x.y.z or [::1],
 * with or without a port. */
bool vgpud_http_loopback_host(const char *host);

#endif
