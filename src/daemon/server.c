/* server: vgpud's control socket.
 *
 * A Unix stream socket (mode 0666: anyone may connect; what they may do is
 * decided per request from SO_PEERCRED, read once at accept). Each
 * connection is a libevent bufferevent; frames are taken off its input
 * buffer only when complete, so a slow or malicious client cannot make vgpud
 * block or allocate more than one maximum-size body. A frame that breaks the
 * protocol gets one error reply, then the connection is closed once that
 * reply is written. A socket file left by a dead vgpud is replaced; one that
 * still answers means another vgpud runs, and we refuse to start. */
#include "daemon.h"

#include "common.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct conn {
    struct vgpud *d;
    struct bufferevent *bev;
    struct vgpu_peer peer;
    bool closing; /* free once the output is written */
    struct conn *prev, *next;
};

/* Each connection may hold one maximum-size body while it arrives; past this
 * many, new ones are turned away (closed) until others leave. */
#define MAX_CONNECTIONS 4096

static struct evconnlistener *listener;
static struct conn *conns; /* every open connection */

int vgpud_peer_groups(const struct vgpu_peer *peer, gid_t *out, int max)
{
    struct passwd *pw = getpwuid(peer->uid);
    gid_t groups[256];
    int n = 256, k = 0;
    if (max < 1)
        return 0;
    out[k++] = peer->gid;
    if (!pw || getgrouplist(pw->pw_name, peer->gid, groups, &n) < 0)
        return k;
    for (int i = 0; i < n && k < max; i++)
        if (groups[i] != peer->gid)
            out[k++] = groups[i];
    return k;
}

static bool in_group(const struct vgpu_peer *peer, gid_t group)
{
    gid_t groups[256];
    int n = vgpud_peer_groups(peer, groups, 256);
    for (int i = 0; i < n; i++)
        if (groups[i] == group)
            return true;
    return false;
}

json_t *vgpud_clients(struct vgpud *d)
{
    json_t *list = json_array();
    for (struct conn *c = conns; c; c = c->next)
        if (c->peer.tenant[0])
            json_array_append_new(list, json_pack("{s:i, s:i, s:s}", "pid", (int)c->peer.pid, "uid",
                                                  (int)c->peer.uid, "tenant", c->peer.tenant));
    return list;
}

static void conn_free(struct conn *c)
{
    if (c->peer.tenant[0])
        vgpu_info("client pid %d of tenant %s left", (int)c->peer.pid, c->peer.tenant);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->d->clients--;
    bufferevent_free(c->bev);
    free(c);
}

static void send_frame(struct conn *c, enum vgpu_msg_type type, uint32_t seq, json_t *body)
{
    size_t len;
    uint8_t *buf = vgpu_proto_encode(type, seq, body, &len);
    json_decref(body);
    if (!buf) {
        vgpu_error("cannot encode a reply for pid %d", (int)c->peer.pid);
        c->closing = true;
        return;
    }
    bufferevent_write(c->bev, buf, len);
    free(buf);
}

/* Replies with an error and closes the connection once it is written. */
static void protocol_error(struct conn *c, uint32_t seq, const char *msg)
{
    vgpu_info("client pid %d: protocol error: %s", (int)c->peer.pid, msg);
    send_frame(c, VGPU_MSG_REPLY, seq, vgpu_proto_error("protocol", "%s", msg));
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char err[256];

    while (!c->closing) {
        uint8_t hdr[VGPU_PROTO_HEADER];
        struct vgpu_frame f;
        if (evbuffer_get_length(in) < VGPU_PROTO_HEADER)
            return;
        evbuffer_copyout(in, hdr, sizeof(hdr));
        int rc = vgpu_proto_header(hdr, &f);
        if (rc == -EPROTONOSUPPORT) {
            snprintf(err, sizeof(err), "protocol version %u; this vgpud speaks %u", f.version,
                     VGPU_PROTO_VERSION);
            protocol_error(c, f.seq, err);
            return;
        }
        if (rc != 0) {
            protocol_error(c, 0, "malformed frame header");
            return;
        }
        if (evbuffer_get_length(in) < VGPU_PROTO_HEADER + (size_t)f.length)
            return; /* the rest of the body is still on its way */
        evbuffer_drain(in, VGPU_PROTO_HEADER);
        uint8_t *body = malloc(f.length ? f.length : 1);
        if (!body) {
            protocol_error(c, f.seq, "out of memory");
            return;
        }
        evbuffer_remove(in, body, f.length);
        json_t *req = vgpu_proto_body(body, f.length, err, sizeof(err));
        free(body);
        if (!req) {
            protocol_error(c, f.seq, err);
            return;
        }
        if (f.type != VGPU_MSG_REQUEST) {
            json_decref(req);
            protocol_error(c, f.seq, "only requests may be sent to vgpud");
            return;
        }
        json_t *reply = vgpud_handle(c->d, &c->peer, req);
        json_decref(req);
        send_frame(c, VGPU_MSG_REPLY, f.seq, reply);
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct vgpud *d = arg;
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    struct conn *c = calloc(1, sizeof(*c));

    if (d->clients >= MAX_CONNECTIONS) {
        vgpu_warn("%u connections: turning a new one away", d->clients);
        free(c);
        close(fd);
        return;
    }
    if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
        free(c);
        close(fd);
        return;
    }
    c->d = d;
    c->peer = (struct vgpu_peer){.pid = cred.pid, .uid = cred.uid, .gid = cred.gid};
    c->peer.admin = cred.uid == 0 || (d->have_admin_gid && in_group(&c->peer, d->admin_gid));
    c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(c);
        close(fd);
        return;
    }
    d->clients++;
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* True when a vgpud already answers on `path`. */
static bool someone_listens(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    if (fd >= 0)
        close(fd);
    return live;
}

static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    vgpu_strlcpy(dir, path, sizeof(dir));
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

int vgpud_listen(struct vgpud *d)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, rc;

    if (vgpu_strlcpy(sa.sun_path, d->socket_path, sizeof(sa.sun_path)) >= sizeof(sa.sun_path)) {
        vgpu_error("socket path %s is too long", d->socket_path);
        return -ENAMETOOLONG;
    }
    if ((rc = make_parent(d->socket_path)) != 0) {
        vgpu_error("cannot create the directory of %s: %s", d->socket_path, strerror(-rc));
        return rc;
    }
    if (someone_listens(&sa)) {
        vgpu_error("another vgpud already answers on %s", d->socket_path);
        return -EADDRINUSE;
    }
    unlink(d->socket_path); /* a dead vgpud's socket */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(d->socket_path, 0666) != 0 || listen(fd, 128) != 0) {
        rc = -errno;
        vgpu_error("cannot listen on %s: %s", d->socket_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    listener = evconnlistener_new(d->base, on_accept, d,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!listener) {
        close(fd);
        return -ENOMEM;
    }
    return 0;
}

void vgpud_unlisten(struct vgpud *d)
{
    if (listener) {
        evconnlistener_free(listener);
        listener = NULL;
        unlink(d->socket_path);
    }
}
