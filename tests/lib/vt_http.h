/* vt_http: a tiny HTTP/1.1 client for the tests of vgpud's HTTP server.
 *
 * One request per connection ("Connection: close"): the request is written
 * whole, the answer read to EOF, then split into the status, the headers and
 * the body. Enough for a test to check what a browser, curl or Prometheus
 * would get; nothing a test needs (chunked answers, keep-alive, TLS) is
 * left out, and nothing else is in. */
#ifndef VGPU_TEST_VT_HTTP_H
#define VGPU_TEST_VT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct vt_http_reply {
    int status;    /* from the status line; 0 when there was none */
    char *headers; /* the header lines, "\r\n"-separated, as received */
    char *body;    /* NUL-terminated (the NUL is not counted in body_len) */
    size_t body_len;
};

/* Connects to addr ("HOST:PORT" or "[IPV6]:PORT", as vgpud's
 * --http-port-file holds it), writes raw[0..len) and reads the answer to EOF
 * (at most timeout_ms in all). 0, or -errno (-ETIMEDOUT, -ECONNREFUSED,
 * -EPROTO for an answer without a status line). A failed write (the server
 * refused the rest of a large body) still reads what the server sent. */
int vt_http_raw(const char *addr, const void *raw, size_t len, struct vt_http_reply *out,
                int timeout_ms);

/* Sends "METHOD PATH HTTP/1.1" with Host (addr), Connection: close, a
 * bearer token when token is not NULL, and body as application/json when
 * body is not NULL. */
int vt_http(const char *addr, const char *method, const char *path, const char *token,
            const char *body, struct vt_http_reply *out);

/* The value of header `name` (any case), copied to out; false when absent. */
bool vt_http_header(const struct vt_http_reply *r, const char *name, char *out, size_t len);

void vt_http_free(struct vt_http_reply *r);

#endif
