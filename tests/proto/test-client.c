/* Unit tests for the blocking control-protocol client (src/proto/client.c),
 * against a scripted server thread on the other end of a socketpair (or of
 * a real Unix socket, for vgpu_client_connect). Each test gives the server a
 * list of steps (read a request, send a frame as is, dribble one byte at a
 * time, sleep, close) and checks what vgpu_client_call makes of it: normal
 * and error replies, events and stale replies skipped, replies assembled
 * from 1-byte writes, time-outs that hold, a vanished server reported (no
 * hang, no SIGPIPE), and every malformed reply refused. */
#include "common.h"
#include "proto.h"
#include "proto_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum step_kind {
    END,
    READ,     /* read one request (header and body) */
    SEND,     /* send a frame: type, version, seq from a request + delta, body */
    DRIBBLE,  /* the same, one byte per write with a pause between */
    RAW,      /* send `body` bytes as they are, no header */
    SLEEP_MS, /* sleep `ms` */
    CLOSE,    /* close the server's end */
    DRAIN,    /* read and count bytes until the client closes */
};

struct step {
    enum step_kind kind;
    uint16_t type;     /* 0: VGPU_MSG_REPLY */
    uint16_t version;  /* 0: VGPU_PROTO_VERSION */
    int req;           /* which request's seq (0 = the first read) */
    int64_t seq_delta; /* added to it */
    const char *body;  /* NULL: an ok reply echoing the request's op and args */
    size_t raw_len;    /* RAW: bytes of body */
    int ms;
};

#define MAX_REQ 4

struct server {
    int fd, listen_fd;
    const struct step *steps;
    pthread_t thread;
    int nreq;
    uint32_t seq[MAX_REQ];
    json_t *req[MAX_REQ];
    size_t drained;
    bool joined;
    char failure[256];
};

static int read_full(int fd, void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, (uint8_t *)buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

static int write_bytes(int fd, const uint8_t *p, size_t n, bool dribble)
{
    const struct timespec pause = {.tv_nsec = 300000};
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, p + off, dribble ? 1 : n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
        if (dribble)
            nanosleep(&pause, NULL);
    }
    return 0;
}

static int server_read_request(struct server *s)
{
    uint8_t h[VGPU_PROTO_HEADER], *body;
    struct vgpu_frame f;
    char err[256];

    if (s->nreq == MAX_REQ || read_full(s->fd, h, sizeof(h)) != 0 ||
        vgpu_proto_header(h, &f) != 0 || f.type != VGPU_MSG_REQUEST)
        return -1;
    body = malloc(f.length);
    if (!body || read_full(s->fd, body, f.length) != 0) {
        free(body);
        return -1;
    }
    s->req[s->nreq] = vgpu_proto_body(body, f.length, err, sizeof(err));
    free(body);
    if (!s->req[s->nreq])
        return -1;
    s->seq[s->nreq++] = f.seq;
    return 0;
}

static int server_send(struct server *s, const struct step *st)
{
    uint32_t seq = (uint32_t)((int64_t)s->seq[st->req] + st->seq_delta);
    uint32_t words[4];
    json_t *echo = NULL;
    char *text = NULL;
    uint8_t *frame = NULL;
    const char *body = st->body;
    size_t len;
    int rc = -1;

    if (!body) {
        json_t *r = s->req[st->req];
        echo = vgpu_proto_ok(json_pack("{s:O, s:O}", "op", json_object_get(r, "op"), "args",
                                       json_object_get(r, "args")));
        body = text = json_dumps(echo, JSON_COMPACT);
        if (!body)
            goto cleanup;
    }
    words[0] = VGPU_PROTO_MAGIC;
    words[1] = (uint32_t)(st->version ? st->version : VGPU_PROTO_VERSION) |
               (uint32_t)(st->type ? st->type : VGPU_MSG_REPLY) << 16;
    words[2] = (uint32_t)strlen(body);
    words[3] = seq;
    /* One write for the whole frame: a client that gives up after the
     * header (a bad one) may close before a second write. */
    len = VGPU_PROTO_HEADER + words[2];
    frame = malloc(len);
    if (!frame)
        goto cleanup;
    for (int w = 0; w < 4; w++)
        for (int b = 0; b < 4; b++)
            frame[w * 4 + b] = (uint8_t)(words[w] >> (8 * b));
    memcpy(frame + VGPU_PROTO_HEADER, body, words[2]);
    rc = write_bytes(s->fd, frame, len, st->kind == DRIBBLE);
cleanup:
    free(frame);
    free(text);
    json_decref(echo);
    return rc;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    char buf[4096];

    if (s->listen_fd >= 0 && (s->fd = accept(s->listen_fd, NULL, NULL)) < 0) {
        snprintf(s->failure, sizeof(s->failure), "accept failed");
        return NULL;
    }
    for (const struct step *st = s->steps; st->kind != END && !s->failure[0]; st++) {
        int rc = 0;
        switch (st->kind) {
        case READ: rc = server_read_request(s); break;
        case SEND:
        case DRIBBLE: rc = server_send(s, st); break;
        case RAW: rc = write_bytes(s->fd, (const uint8_t *)st->body, st->raw_len, false); break;
        case SLEEP_MS: vgpu_sleep_until_ns(vgpu_now_ns() + (uint64_t)st->ms * 1000000u); break;
        case CLOSE:
            close(s->fd);
            s->fd = -1;
            break;
        case DRAIN:
            for (ssize_t n; (n = read(s->fd, buf, sizeof(buf))) != 0;)
                if (n > 0)
                    s->drained += (size_t)n;
                else if (errno != EINTR)
                    break;
            break;
        case END: break;
        }
        if (rc != 0)
            snprintf(s->failure, sizeof(s->failure), "step %d failed", (int)(st - s->steps));
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    return NULL;
}

/* Starts a server over a socketpair; returns the client's end. */
static int server_start(struct server *s, const struct step *steps)
{
    int sv[2];

    memset(s, 0, sizeof(*s));
    s->steps = steps;
    s->listen_fd = -1;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    s->fd = sv[1];
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return sv[0];
}

static void server_join(struct server *s)
{
    if (s->joined)
        return;
    assert_int_equal(pthread_join(s->thread, NULL), 0);
    s->joined = true;
    if (s->failure[0])
        fail_msg("server: %s", s->failure);
}

/* Closes the client's end (ending a DRAIN; -1: already closed), joins the
 * server if that was not done yet, frees what it read. */
static void server_finish(struct server *s, int cfd)
{
    if (cfd >= 0)
        close(cfd);
    server_join(s);
    for (int i = 0; i < s->nreq; i++)
        json_decref(s->req[i]);
}

static void assert_echo(json_t *result, const char *op, const json_t *args)
{
    json_t *empty = json_object();
    assert_non_null(result);
    assert_string_equal(json_string_value(json_object_get(result, "op")), op);
    assert_true(json_equal(json_object_get(result, "args"), args ? args : empty));
    json_decref(empty);
}

static void test_call_ok(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ},           {.kind = SEND},  {.kind = READ},
        {.kind = SEND, .req = 1}, {.kind = DRAIN}, {.kind = END},
    };
    struct server s;
    int fd = server_start(&s, steps);
    json_t *args = json_pack("{s:s, s:i}", "pool", "A", "limit", 10), *result = NULL;
    char err[256];

    assert_int_equal(vgpu_client_call(fd, "tenant.list", args, &result, err, sizeof(err), 5000), 0);
    assert_string_equal(err, "");
    assert_echo(result, "tenant.list", args);
    assert_int_equal(args->refcount, 1); /* not stolen, not leaked */
    json_decref(result);
    /* NULL args travel as {}; no time limit. */
    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, err, sizeof(err), -1), 0);
    assert_echo(result, "status", NULL);
    json_decref(result);
    close(fd);
    server_join(&s);

    assert_int_equal(s.nreq, 2);
    assert_int_not_equal(s.seq[0], s.seq[1]);
    assert_true(json_equal(json_object_get(s.req[0], "args"), args));
    assert_int_equal(json_object_size(s.req[0]), 2);
    assert_int_equal(json_object_size(json_object_get(s.req[1], "args")), 0);
    server_finish(&s, -1);
    json_decref(args);
}

static void test_error_reply(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ},
        {.kind = SEND,
         .body = "{\"ok\":false,\"error\":{\"code\":\"not_found\","
                 "\"message\":\"no tenant named \\\"ghost\\\"\"}}"},
        {.kind = DRAIN},
        {.kind = END},
    };
    struct server s;
    int fd = server_start(&s, steps);
    json_t *result = json_object(), *stale = result;
    char err[256];

    assert_int_equal(vgpu_client_call(fd, "tenant.rm", NULL, &result, err, sizeof(err), 5000),
                     -EREMOTEIO);
    assert_null(result);
    assert_string_equal(err, "not_found: no tenant named \"ghost\"");
    json_decref(stale);
    server_finish(&s, fd);
}

static void test_event_skipped(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ},
        {.kind = SEND, .type = VGPU_MSG_EVENT, .body = "{\"event\":\"limits\",\"data\":{}}"},
        {.kind = SEND, .type = VGPU_MSG_EVENT, .seq_delta = 0, .body = "{\"event\":\"x\"}"},
        {.kind = SEND},
        {.kind = DRAIN},
        {.kind = END},
    };
    struct server s;
    int fd = server_start(&s, steps);
    json_t *result;

    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, NULL, 0, 5000), 0);
    assert_echo(result, "status", NULL);
    json_decref(result);
    server_finish(&s, fd);
}

static void test_reply_one_byte_writes(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ},
        {.kind = DRIBBLE, .type = VGPU_MSG_EVENT, .body = "{\"event\":\"limits\"}"},
        {.kind = DRIBBLE},
        {.kind = DRAIN},
        {.kind = END},
    };
    struct server s;
    int fd = server_start(&s, steps);
    json_t *args = json_pack("{s:s}", "name", "caf\xc3\xa9"), *result;
    char err[256];

    assert_int_equal(vgpu_client_call(fd, "tenant.show", args, &result, err, sizeof(err), 10000),
                     0);
    assert_echo(result, "tenant.show", args);
    json_decref(result);
    json_decref(args);
    server_finish(&s, fd);
}

static void test_timeout(void **unused)
{
    static const struct step steps[] = {{.kind = READ}, {.kind = DRAIN}, {.kind = END}};
    struct server s;
    int fd = server_start(&s, steps);
    json_t *result;
    char err[256];
    uint64_t t0 = vgpu_now_ns(), ms;

    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, err, sizeof(err), 150),
                     -ETIMEDOUT);
    ms = (vgpu_now_ns() - t0) / 1000000;
    assert_true(ms >= 150);
    assert_true(ms < 5000);
    assert_null(result);
    assert_string_equal(err, "status: no reply within 150 ms");
    server_finish(&s, fd);
}

/* A server that reads nothing: the request cannot all be written, and the
 * deadline covers the writing too. */
static void test_send_timeout(void **unused)
{
    static const struct step steps[] = {
        {.kind = SLEEP_MS, .ms = 1000}, {.kind = DRAIN}, {.kind = END}};
    struct server s;
    int fd = server_start(&s, steps);
    char *blob = malloc(900000);
    json_t *args, *result;
    char err[256];

    assert_non_null(blob);
    memset(blob, 'x', 900000);
    args = json_pack("{s:s%}", "blob", blob, (size_t)900000);
    assert_int_equal(vgpu_client_call(fd, "big", args, &result, err, sizeof(err), 100), -ETIMEDOUT);
    json_decref(args);
    free(blob);
    server_finish(&s, fd);
}

/* Close to a megabyte each way: many partial writes and reads. */
static void test_large_request_and_reply(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ}, {.kind = SEND}, {.kind = DRAIN}, {.kind = END}};
    struct server s;
    int fd = server_start(&s, steps);
    char *blob = malloc(1000000);
    json_t *args, *result;
    char err[256];

    assert_non_null(blob);
    for (int i = 0; i < 1000000; i++)
        blob[i] = (char)('a' + i % 26);
    args = json_pack("{s:s%}", "blob", blob, (size_t)1000000);
    assert_int_equal(vgpu_client_call(fd, "big", args, &result, err, sizeof(err), 10000), 0);
    assert_echo(result, "big", args);
    json_decref(result);
    json_decref(args);
    free(blob);
    server_finish(&s, fd);
}

static void test_server_closes(void **unused)
{
    static const struct step after_request[] = {{.kind = READ}, {.kind = CLOSE}, {.kind = END}};
    /* A header announcing 100 bytes, then only 3 of them. */
    static const char partial[] = "VGPU\x01\x00\x02\x00\x64\x00\x00\x00\x01\x00\x00\x00{\"o";
    static const struct step mid_frame[] = {
        {.kind = READ},
        {.kind = RAW, .body = partial, .raw_len = sizeof(partial) - 1},
        {.kind = CLOSE},
        {.kind = END}};
    static const struct step before_request[] = {{.kind = CLOSE}, {.kind = END}};
    struct server s;
    json_t *result;
    char err[256];
    int fd, rc;

    /* A SIGPIPE would end this test program. */
    signal(SIGPIPE, SIG_DFL);

    fd = server_start(&s, after_request);
    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, err, sizeof(err), 5000),
                     -ECONNRESET);
    assert_string_equal(err, "status: vgpud closed the connection");
    server_finish(&s, fd);

    fd = server_start(&s, mid_frame);
    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, err, sizeof(err), 5000),
                     -ECONNRESET);
    server_finish(&s, fd);

    fd = server_start(&s, before_request);
    server_join(&s);
    rc = vgpu_client_call(fd, "status", NULL, &result, err, sizeof(err), 5000);
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    assert_string_equal(err, "status: vgpud closed the connection");
    server_finish(&s, fd);
}

static void test_other_seq_first(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ},
        {.kind = SEND, .seq_delta = 1, .body = "{\"ok\":true,\"result\":{\"stale\":1}}"},
        {.kind = SEND,
         .seq_delta = -1,
         .body = "{\"ok\":false,\"error\":{\"code\":\"a\",\"message\":\"b\"}}"},
        {.kind = SEND, .seq_delta = 0x10000, .body = "{\"not\":\"a reply at all\"}"},
        {.kind = SEND},
        {.kind = DRAIN},
        {.kind = END},
    };
    struct server s;
    int fd = server_start(&s, steps);
    json_t *result;

    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, NULL, 0, 5000), 0);
    assert_echo(result, "status", NULL);
    json_decref(result);
    server_finish(&s, fd);
}

/* The reply to a call that timed out arrives during the next call. */
static void test_stale_reply_after_timeout(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ},           {.kind = READ},  {.kind = SEND, .req = 0},
        {.kind = SEND, .req = 1}, {.kind = DRAIN}, {.kind = END},
    };
    struct server s;
    int fd = server_start(&s, steps);
    json_t *args = json_pack("{s:i}", "call", 2), *result;

    assert_int_equal(vgpu_client_call(fd, "first", NULL, &result, NULL, 0, 50), -ETIMEDOUT);
    assert_int_equal(vgpu_client_call(fd, "second", args, &result, NULL, 0, 5000), 0);
    assert_echo(result, "second", args);
    json_decref(result);
    json_decref(args);
    server_finish(&s, fd);
}

static void test_malformed_replies(void **unused)
{
    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"{\"result\":{}}", "boolean \"ok\""},
        {"{\"ok\":\"yes\",\"result\":{}}", "boolean \"ok\""},
        {"{\"ok\":1,\"result\":{}}", "boolean \"ok\""},
        {"{\"ok\":true}", "no \"result\""},
        {"{\"ok\":false}", "\"code\" and \"message\""},
        {"{\"ok\":false,\"error\":\"boom\"}", "\"code\" and \"message\""},
        {"{\"ok\":false,\"error\":{\"code\":1,\"message\":\"m\"}}", "\"code\" and \"message\""},
        {"{\"ok\":false,\"error\":{\"code\":\"c\"}}", "\"code\" and \"message\""},
        {"[true]", "body is not a JSON object"},
        {"{\"ok\":true,\"result\":{},\"ok\":true}", "duplicate"},
        {"{\"ok\":true,\"result\":{}} trailing", "body is not valid JSON"},
        {"{\"ok\":true,\"result\":\"\xff\"}", "body is not valid JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct step steps[] = {
            {.kind = READ}, {.kind = SEND, .body = bad[i].body}, {.kind = DRAIN}, {.kind = END}};
        struct server s;
        int fd = server_start(&s, steps);
        json_t *result;
        char err[256];

        assert_int_equal(vgpu_client_call(fd, "op", NULL, &result, err, sizeof(err), 5000),
                         -EPROTO);
        assert_null(result);
        if (!strstr(err, bad[i].why))
            fail_msg("reply %s: \"%s\" does not say \"%s\"", bad[i].body, err, bad[i].why);
        server_finish(&s, fd);
    }
}

static void test_bad_frames(void **unused)
{
    static const char garbage[] = "HTTP/1.1 200 OK\r\n\r\n";
    static const struct step version2[] = {
        {.kind = READ}, {.kind = SEND, .version = 2}, {.kind = DRAIN}, {.kind = END}};
    static const struct step not_vgpu[] = {
        {.kind = READ},
        {.kind = RAW, .body = garbage, .raw_len = sizeof(garbage) - 1},
        {.kind = DRAIN},
        {.kind = END}};
    static const struct step request[] = {
        {.kind = READ},
        {.kind = SEND, .type = VGPU_MSG_REQUEST, .body = "{\"op\":\"x\"}"},
        {.kind = DRAIN},
        {.kind = END}};
    struct server s;
    json_t *result;
    char err[256];
    int fd;

    fd = server_start(&s, version2);
    assert_int_equal(vgpu_client_call(fd, "op", NULL, &result, err, sizeof(err), 5000),
                     -EPROTONOSUPPORT);
    assert_string_equal(err, "op: vgpud speaks protocol version 2, this client 1");
    server_finish(&s, fd);

    fd = server_start(&s, not_vgpu);
    assert_int_equal(vgpu_client_call(fd, "op", NULL, &result, err, sizeof(err), 5000), -EPROTO);
    assert_string_equal(err, "op: malformed frame header from vgpud");
    server_finish(&s, fd);

    fd = server_start(&s, request);
    assert_int_equal(vgpu_client_call(fd, "op", NULL, &result, err, sizeof(err), 5000), -EPROTO);
    server_finish(&s, fd);
}

static void test_bad_arguments(void **unused)
{
    static const struct step steps[] = {{.kind = DRAIN}, {.kind = END}};
    struct server s;
    int fd = server_start(&s, steps);
    json_t *arr = json_array(), *result;
    char *deep = malloc(256), err[256];

    assert_int_equal(vgpu_client_call(fd, "", NULL, &result, err, sizeof(err), 100), -EINVAL);
    assert_true(err[0] != '\0');
    assert_int_equal(vgpu_client_call(fd, NULL, NULL, &result, err, sizeof(err), 100), -EINVAL);
    assert_int_equal(vgpu_client_call(fd, "op", arr, &result, err, sizeof(err), 100), -EINVAL);
    assert_int_equal(vgpu_client_call(fd, "op", NULL, NULL, err, sizeof(err), 100), -EINVAL);
    assert_int_equal(vgpu_client_call(fd, "caf\xe9", NULL, &result, err, sizeof(err), 100),
                     -EINVAL);
    /* args at depth 16 make the request 17 deep. */
    assert_non_null(deep);
    strcpy(deep, "{");
    for (int i = 1; i < VGPU_PROTO_MAX_DEPTH; i++)
        strcat(deep, "\"a\":{");
    strcat(deep, "\"a\":1");
    for (int i = 0; i < VGPU_PROTO_MAX_DEPTH; i++)
        strcat(deep, "}");
    json_t *args = json_loads(deep, 0, NULL);
    assert_non_null(args);
    assert_int_equal(vgpu_client_call(fd, "op", args, &result, err, sizeof(err), 100), -EINVAL);
    assert_non_null(strstr(err, "cannot be encoded"));
    json_decref(args);
    free(deep);
    json_decref(arr);
    server_finish(&s, fd);
    assert_int_equal(s.drained, 0); /* nothing was sent */
}

static void test_connect(void **unused)
{
    static const struct step steps[] = {
        {.kind = READ}, {.kind = SEND}, {.kind = DRAIN}, {.kind = END}};
    char dir[] = "/tmp/vgpu-proto-XXXXXX", path[128];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct server s;
    json_t *result;
    char err[256];
    int lfd, fd;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vgpud.sock", dir);
    assert_int_equal(vgpu_client_connect(path), -ENOENT);

    strcpy(sa.sun_path, path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(vgpu_client_connect(path), -ECONNREFUSED); /* bound, not listening */
    assert_int_equal(listen(lfd, 4), 0);

    memset(&s, 0, sizeof(s));
    s.steps = steps;
    s.fd = -1;
    s.listen_fd = lfd;
    assert_int_equal(pthread_create(&s.thread, NULL, server_main, &s), 0);
    fd = vgpu_client_connect(path);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(vgpu_client_call(fd, "status", NULL, &result, err, sizeof(err), 5000), 0);
    assert_echo(result, "status", NULL);
    json_decref(result);
    server_finish(&s, fd);
    close(lfd);
    unlink(path);
    rmdir(dir);
}

static void test_connect_bad_paths(void **unused)
{
    char path[200];

    memset(path, 'p', sizeof(path));
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    assert_int_equal(vgpu_client_connect(path), -ENAMETOOLONG);
    /* sun_path holds 108 bytes with the terminator. */
    path[108] = '\0';
    assert_int_equal(vgpu_client_connect(path), -ENAMETOOLONG);
    path[107] = '\0';
    assert_int_equal(vgpu_client_connect(path), -ENOENT);
    assert_int_equal(vgpu_client_connect(""), -EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_ok),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_event_skipped),
        cmocka_unit_test(test_reply_one_byte_writes),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_large_request_and_reply),
        cmocka_unit_test(test_server_closes),
        cmocka_unit_test(test_other_seq_first),
        cmocka_unit_test(test_stale_reply_after_timeout),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_connect_bad_paths),
    };
    return proto_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
