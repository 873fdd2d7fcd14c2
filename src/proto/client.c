/* client: the blocking side of the control protocol (proto.h), used by
 * vgpu-admin and by libvgpu.so in managed mode.
 *
 * A call is one request frame out and frames in until the reply that
 * carries the request's seq. Seqs come from one process-wide atomic
 * counter, so a reply that arrives after its call gave up (a time-out) is
 * recognised by its old seq and dropped by the next call on that
 * connection; event frames vgpud pushes in between are dropped the same
 * way (a managed client that wants them reads the socket itself). Every
 * frame read is checked exactly as vgpud checks ours (frame.c).
 *
 * One deadline covers the whole call. The socket stays in whatever
 * blocking mode the caller left it: each send and recv is MSG_DONTWAIT,
 * and only when it would block do we poll, for the time that is left. So
 * a daemon that stops reading cannot hold a writer past the deadline, a
 * signal (EINTR) only costs a retry, and partial reads and writes simply
 * continue where they stopped. MSG_NOSIGNAL keeps a daemon that went away
 * from killing the caller with SIGPIPE; the caller gets -EPIPE or
 * -ECONNRESET instead. We read exactly one frame at a time (header, then
 * the length it announced) so that nothing beyond it is consumed and no
 * buffer has to outlive a call. */
#include "common.h"
#include "proto.h"
#include "proto_internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* No deadline: wait as long as it takes. */
#define NO_DEADLINE UINT64_MAX

int vgpu_client_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = path ? strlen(path) : 0;
    int fd, rc;

    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, n + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A Unix-domain connect only blocks while the listener's backlog is
     * full; interrupted, the socket is still unconnected and may simply try
     * again (unlike TCP, where a retry would report EALREADY). */
    do
        rc = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static uint32_t fresh_seq(void)
{
    static _Atomic uint32_t next = 1;
    uint32_t seq;

    /* 0 is never used, so that it can mean "no request" in a log. A child
     * that fork()s and keeps using its parent's connection would repeat its
     * parent's seqs; a connection belongs to one process. */
    do
        seq = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
    while (seq == 0);
    return seq;
}

/* Waits for `events` on fd until the deadline: 0, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int ms = -1, rc;
        if (deadline != NO_DEADLINE) {
            uint64_t now = vgpu_now_ns();
            uint64_t left = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
            if (left == 0)
                return -ETIMEDOUT;
            ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        rc = poll(&p, 1, ms);
        if (rc > 0)
            /* POLLHUP and POLLERR too: the next send or recv says what. */
            return (p.revents & POLLNVAL) ? -EBADF : 0;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

static int send_all(int fd, const uint8_t *buf, size_t len, uint64_t deadline)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Reads exactly len bytes: 0, -ECONNRESET at end of stream, -ETIMEDOUT, or
 * -errno. */
static int recv_all(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = recv(fd, buf + off, len - off, MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
        } else if (n == 0) {
            return -ECONNRESET;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(fd, POLLIN, deadline);
            if (rc < 0)
                return rc;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

static int stream_error(int rc, const char *what, const char *op, int timeout_ms, char *err,
                        size_t errlen)
{
    if (rc == -ETIMEDOUT)
        vgpu_errf(err, errlen, 0, "%s: no reply within %d ms", op, timeout_ms);
    else if (rc == -ECONNRESET || rc == -EPIPE)
        vgpu_errf(err, errlen, 0, "%s: vgpud closed the connection", op);
    else
        vgpu_errf(err, errlen, 0, "%s: %s: %s", op, what, strerror(-rc));
    return rc;
}

/* Reads one whole frame and checks it; *body is its parsed body. */
static int read_frame(int fd, uint64_t deadline, struct vgpu_frame *f, json_t **body,
                      const char *op, int timeout_ms, char *err, size_t errlen)
{
    uint8_t hdr[VGPU_PROTO_HEADER], *buf = NULL;
    char why[256];
    int rc;

    *body = NULL;
    rc = recv_all(fd, hdr, sizeof(hdr), deadline);
    if (rc < 0) {
        stream_error(rc, "reading a reply", op, timeout_ms, err, errlen);
        goto cleanup;
    }
    rc = vgpu_proto_header(hdr, f);
    if (rc == -EPROTONOSUPPORT) {
        vgpu_errf(err, errlen, 0, "%s: vgpud speaks protocol version %u, this client %d", op,
                  f->version, VGPU_PROTO_VERSION);
        goto cleanup;
    }
    if (rc < 0) {
        vgpu_errf(err, errlen, 0, "%s: malformed frame header from vgpud", op);
        goto cleanup;
    }
    buf = malloc(f->length);
    if (!buf) {
        rc = -ENOMEM;
        vgpu_errf(err, errlen, 0, "%s: out of memory for a %u-byte reply", op, f->length);
        goto cleanup;
    }
    rc = recv_all(fd, buf, f->length, deadline);
    if (rc < 0) {
        stream_error(rc, "reading a reply", op, timeout_ms, err, errlen);
        goto cleanup;
    }
    *body = vgpu_proto_body(buf, f->length, why, sizeof(why));
    if (!*body) {
        rc = -EPROTO;
        vgpu_errf(err, errlen, 0, "%s: malformed frame from vgpud: %s", op, why);
    }
cleanup:
    free(buf);
    return rc;
}

int vgpu__proto_reply(const json_t *body, json_t **result, char *err, size_t errlen)
{
    const json_t *ok = json_object_get(body, "ok");
    const json_t *error, *code, *msg, *res;

    *result = NULL;
    if (!json_is_boolean(ok)) {
        vgpu_errf(err, errlen, 0, "reply without a boolean \"ok\"");
        return -EPROTO;
    }
    if (json_is_true(ok)) {
        res = json_object_get(body, "result");
        if (!res) {
            vgpu_errf(err, errlen, 0, "reply with \"ok\": true but no \"result\"");
            return -EPROTO;
        }
        /* The caller gets its own reference; jansson's incref is not const. */
        *result = json_incref((json_t *)res);
        return 0;
    }
    error = json_object_get(body, "error");
    code = json_object_get(error, "code");
    msg = json_object_get(error, "message");
    if (!json_is_string(code) || !json_is_string(msg)) {
        vgpu_errf(err, errlen, 0, "error reply without string \"code\" and \"message\"");
        return -EPROTO;
    }
    vgpu_errf(err, errlen, 0, "%s: %s", json_string_value(code), json_string_value(msg));
    return -EREMOTEIO;
}

/* The request body {"op": op, "args": args or {}}, or NULL (op not UTF-8,
 * out of memory). */
static json_t *request_body(const char *op, const json_t *args)
{
    json_t *req = json_object();

    /* json_object_set_new takes the value's reference even when it fails,
     * and fails on a NULL value; jansson's incref is not const. */
    if (!req || json_object_set_new(req, "op", json_string(op)) != 0 ||
        json_object_set_new(req, "args", args ? json_incref((json_t *)args) : json_object()) != 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

int vgpu_client_call(int fd, const char *op, const json_t *args, json_t **result, char *err,
                     size_t errlen, int timeout_ms)
{
    json_t *req = NULL, *body = NULL;
    uint8_t *frame = NULL;
    size_t len;
    uint32_t seq = fresh_seq();
    uint64_t deadline = NO_DEADLINE;
    struct vgpu_frame f;
    int rc;

    vgpu_errf(err, errlen, 0, "%s", "");
    if (result)
        *result = NULL;
    if (!op || !*op || (args && !json_is_object(args)) || !result) {
        rc = -EINVAL;
        vgpu_errf(err, errlen, 0, "a request needs an op and an object of arguments");
        goto cleanup;
    }
    req = request_body(op, args);
    frame = req ? vgpu_proto_encode(VGPU_MSG_REQUEST, seq, req, &len) : NULL;
    if (!frame) {
        rc = -EINVAL;
        vgpu_errf(err, errlen, 0,
                  "%s: the request cannot be encoded (op not UTF-8, over %u bytes, "
                  "nested deeper than %d, or out of memory)",
                  op, VGPU_PROTO_MAX_BODY, VGPU_PROTO_MAX_DEPTH);
        goto cleanup;
    }
    if (timeout_ms >= 0)
        deadline = vgpu_now_ns() + (uint64_t)timeout_ms * 1000000u;
    rc = send_all(fd, frame, len, deadline);
    if (rc < 0) {
        stream_error(rc, "sending the request", op, timeout_ms, err, errlen);
        goto cleanup;
    }
    for (;;) {
        rc = read_frame(fd, deadline, &f, &body, op, timeout_ms, err, errlen);
        if (rc < 0)
            goto cleanup;
        if (f.type == VGPU_MSG_REQUEST) {
            rc = -EPROTO;
            vgpu_errf(err, errlen, 0, "%s: vgpud sent a request frame to a client", op);
            goto cleanup;
        }
        if (f.type == VGPU_MSG_REPLY && f.seq == seq)
            break;
        json_decref(body);
        body = NULL;
    }
    rc = vgpu__proto_reply(body, result, err, errlen);
cleanup:
    json_decref(body);
    json_decref(req);
    free(frame);
    return rc;
}
