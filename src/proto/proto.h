/* proto: the control protocol between vgpud and its clients (vgpu-admin,
 * libvgpu.so in managed mode, the HTTP API's handlers).
 *
 * A stream of frames over a Unix socket. Each frame is a 16-byte header
 *   magic "VGPU" (u32 0x55504756 little-endian), version u16 (1), type u16,
 *   length u32 (body bytes, at most VGPU_PROTO_MAX_BODY), seq u32
 * all little-endian, then a UTF-8 JSON object body:
 *   request  {"op": "tenant.add", "args": {...}}
 *   reply    {"ok": true, "result": {...}}
 *            {"ok": false, "error": {"code": "not_found", "message": "..."}}
 *   event    {"event": "limits", "data": {...}}   (vgpud -> a managed client)
 * A reply carries its request's seq. Every length is checked before
 * anything is read into memory; a body must be one JSON object, at most
 * VGPU_PROTO_MAX_DEPTH deep; anything else is a protocol error and the
 * connection is closed by whoever detects it. The version is checked on
 * every frame: a peer speaking another major version gets an error reply
 * naming both versions, then is disconnected. */
#ifndef VGPU_PROTO_H
#define VGPU_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define VGPU_PROTO_MAGIC 0x55504756u /* "VGPU" in memory order */
#define VGPU_PROTO_VERSION 1
#define VGPU_PROTO_HEADER 16
#define VGPU_PROTO_MAX_BODY (1u << 20)
#define VGPU_PROTO_MAX_DEPTH 16

enum vgpu_msg_type {
    VGPU_MSG_REQUEST = 1,
    VGPU_MSG_REPLY = 2,
    VGPU_MSG_EVENT = 3,
};

struct vgpu_frame {
    uint16_t version;
    uint16_t type;
    uint32_t length;
    uint32_t seq;
};

/* Decodes and checks a header (VGPU_PROTO_HEADER bytes at buf). 0, or
 * -EPROTO (bad magic, unknown type, length 0 or over the maximum) or
 * -EPROTONOSUPPORT (another version; out->version says which). On -EPROTO
 * `out` is not to be trusted. */
int vgpu_proto_header(const uint8_t *buf, struct vgpu_frame *out);
/* Parses a body: one JSON object within the size and depth limits, valid
 * UTF-8, no duplicate keys, nothing after it. Returns the object (a new
 * reference) or NULL with a reason in err (always terminated when errlen > 0;
 * err may be NULL). Depth counts objects and arrays: {} is 1, {"a":[]} 2. */
json_t *vgpu_proto_body(const uint8_t *buf, size_t len, char *err, size_t errlen);
/* Encodes a frame: header + compact JSON of `body`. Returns a malloc'd buffer
 * (*len bytes) or NULL (unknown type, body not an object, deeper than
 * VGPU_PROTO_MAX_DEPTH, over VGPU_PROTO_MAX_BODY, a string holding a NUL,
 * out of memory): what it encodes, vgpu_proto_header and vgpu_proto_body
 * accept. */
uint8_t *vgpu_proto_encode(enum vgpu_msg_type type, uint32_t seq, const json_t *body, size_t *len);

/* Reply bodies; NULL only when out of memory. The message is formatted in
 * full; bytes that are not valid UTF-8 (a name echoed from bad input) become
 * '?', so the reply can always be encoded. */
json_t *vgpu_proto_ok(json_t *result); /* steals result (NULL: {}) */
json_t *vgpu_proto_error(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- blocking client (vgpu-admin, libvgpu.so) ----------------------------- */

/* Connects to the socket at `path`; returns the fd (close-on-exec), or
 * -errno: -ENAMETOOLONG when the path does not fit a sockaddr_un. */
int vgpu_client_connect(const char *path);
/* Sends request {op, args} and waits up to timeout_ms (< 0: no limit) for
 * its reply. Returns 0 with *result (a new reference to the reply's
 * "result"), or: -EREMOTEIO for an error reply (code and message copied to
 * err as "code: message"), -ETIMEDOUT, -EPROTO (a malformed frame or reply),
 * -EPROTONOSUPPORT (vgpud speaks another version), -ECONNRESET or -EPIPE
 * (vgpud closed the connection), -EINVAL (op empty or not UTF-8, args not an
 * object, result NULL, or a request too large or too deep to encode), or
 * -errno from the socket. `args` is not stolen and may be NULL ({}). err says what
 * happened on every error. Each request gets a fresh seq from a process-wide
 * counter; event frames and replies to other seqs (a call that timed out
 * earlier) are read and dropped. After any error but -EREMOTEIO the stream
 * may stop mid-frame: close the fd. */
int vgpu_client_call(int fd, const char *op, const json_t *args, json_t **result, char *err,
                     size_t errlen, int timeout_ms);

/* Default paths (PRODUCT.md): as root (effective uid 0) /run/vgpu/vgpud.sock
 * and /var/lib/vgpu/vgpu.db, otherwise under $XDG_RUNTIME_DIR/vgpu/
 * (/run/user/<uid>/vgpu/ without it) and $XDG_STATE_HOME/vgpu/
 * (~/.local/state/vgpu/ without it); relative XDG and HOME values are
 * ignored. A non-empty $VGPU_SOCKET overrides the socket for everyone. The
 * environment is read with secure_getenv. Write into buf; return buf, or
 * NULL (buf emptied) when no path can be made or it does not fit. */
const char *vgpu_default_socket(char *buf, size_t len);
/* The socket a client (vgpu-admin, libvgpu.so) talks to: VGPU_SOCKET, else
 * the system vgpud's /run/vgpu/vgpud.sock when it exists (whoever we are),
 * else vgpu_default_socket's per-user path. */
const char *vgpu_client_socket(char *buf, size_t len);
const char *vgpu_default_db(char *buf, size_t len);

#endif
