/* proto_internal: what the proto library's files share with each other and
 * with its own tests and fuzz harness, and nobody else.
 *
 * The default-path rules are a pure function of the effective uid and an
 * environment lookup, so that the tests can run the non-root rules as root
 * (and the reverse); the reply check is the client's interpretation of a
 * reply body, exposed so that the fuzz harness reaches it. */
#ifndef VGPU_PROTO_INTERNAL_H
#define VGPU_PROTO_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

enum vgpu__path {
    VGPU__PATH_SOCKET,
    VGPU__PATH_DB,
};
typedef const char *(*vgpu__getenv_fn)(const char *name);
/* vgpu_default_socket / vgpu_default_db for a process of effective uid
 * `euid` whose environment `get` reads. */
const char *vgpu__path_for(enum vgpu__path which, uid_t euid, vgpu__getenv_fn get, char *buf,
                           size_t len);

/* Interprets a reply body (already a valid frame body): 0 with *result a
 * new reference to "result", -EREMOTEIO with "code: message" in err, or
 * -EPROTO with what is malformed in err. */
int vgpu__proto_reply(const json_t *body, json_t **result, char *err, size_t errlen);

#endif
