/* vt_http: a tiny HTTP/1.1 client for tests (see vt_http.h).
 *
 * A blocking TCP socket with a deadline kept by poll(): the request goes
 * out whole (a server that stops reading, as vgpud does past its body
 * limit, ends the writing, not the test), then everything is read until
 * the server closes the connection, which it does after one answer because
 * the request said "Connection: close". The answer is split at the blank
 * line; Content-Length, when present, bounds the body. */
#include "vt_http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return -ETIMEDOUT;
    int n = poll(&p, 1, (int)left);
    return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

static int connect_to(const char *addr)
{
    char host[128], port[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV},
                    *ai = NULL;
    const char *colon = addr[0] == '[' ? strstr(addr, "]:") : strrchr(addr, ':');
    size_t hl;
    int fd, rc;

    if (!colon)
        return -EINVAL;
    hl = addr[0] == '[' ? (size_t)(colon - addr - 1) : (size_t)(colon - addr);
    if (hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr + (addr[0] == '['), hl);
    host[hl] = '\0';
    snprintf(port, sizeof(port), "%s", colon + (addr[0] == '[' ? 2 : 1));
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -EINVAL;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    rc = fd < 0 ? -errno : connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 ? -errno : 0;
    freeaddrinfo(ai);
    if (rc && fd >= 0)
        close(fd);
    return rc ? rc : fd;
}

/* Splits the answer in buf (len bytes, NUL-terminated) into out. */
static int parse(char *buf, size_t len, struct vt_http_reply *out)
{
    char *end = strstr(buf, "\r\n\r\n"), *eol, cl[32];
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
        return -EPROTO;
    eol = strstr(buf, "\r\n");
    out->headers = strndup(eol + 2, (size_t)(end - eol - 2 + 2));
    out->body_len = len - (size_t)(end + 4 - buf);
    if (vt_http_header(out, "Content-Length", cl, sizeof(cl)) &&
        strtoull(cl, NULL, 10) < out->body_len)
        out->body_len = strtoull(cl, NULL, 10);
    out->body = malloc(out->body_len + 1);
    if (!out->headers || !out->body)
        return -ENOMEM;
    memcpy(out->body, end + 4, out->body_len);
    out->body[out->body_len] = '\0';
    return 0;
}

int vt_http_raw(const char *addr, const void *raw, size_t len, struct vt_http_reply *out,
                int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t done = 0, have = 0, cap = 65536;
    char *buf = NULL;
    int fd, rc = 0;

    memset(out, 0, sizeof(*out));
    fd = connect_to(addr);
    if (fd < 0)
        return fd;
    while (done < len) { /* a server that refuses the rest of the body ends this */
        if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
            goto cleanup;
        ssize_t n = send(fd, (const char *)raw + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto cleanup;
    }
    for (;;) {
        if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
            goto cleanup;
        if (have + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                rc = -ENOMEM;
                goto cleanup;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + have, cap - have - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF, or a reset after the answer */
        have += (size_t)n;
    }
    buf[have] = '\0';
    rc = parse(buf, have, out);
cleanup:
    free(buf);
    close(fd);
    if (rc)
        vt_http_free(out);
    return rc;
}

int vt_http(const char *addr, const char *method, const char *path, const char *token,
            const char *body, struct vt_http_reply *out)
{
    size_t blen = body ? strlen(body) : 0, cap = strlen(path) + blen + 512;
    char *req = malloc(cap);
    int n, rc;

    if (!req)
        return -ENOMEM;
    n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s%s%s", method,
                 path, addr, token ? "Authorization: Bearer " : "", token ? token : "",
                 token ? "\r\n" : "");
    if (body)
        n += snprintf(req + n, cap - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (body)
        memcpy(req + n, body, blen);
    rc = vt_http_raw(addr, req, (size_t)n + blen, out, 20000);
    free(req);
    return rc;
}

bool vt_http_header(const struct vt_http_reply *r, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)(ll - (size_t)(v - p)), v);
            return true;
        }
        p = eol ? eol + 2 : p + ll;
    }
    return false;
}

void vt_http_free(struct vt_http_reply *r)
{
    free(r->headers);
    free(r->body);
    r->headers = r->body = NULL;
}
