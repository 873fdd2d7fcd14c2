/* paths: where vgpud's control socket and database live by default.
 *
 * PRODUCT.md fixes the rules: a system daemon (root) uses /run/vgpu and
 * /var/lib/vgpu; anyone else gets a per-user daemon under the XDG base
 * directories: the runtime dir for the socket ($XDG_RUNTIME_DIR, else
 * /run/user/<uid>, where systemd-logind puts it) and the state dir for the
 * database ($XDG_STATE_HOME, else ~/.local/state). $VGPU_SOCKET, when set
 * and not empty, names the socket for everyone. As the XDG specification
 * asks, a relative XDG or HOME value is ignored as invalid.
 *
 * The rules are one pure function of the effective uid and an environment
 * lookup (vgpu__path_for, proto_internal.h), so the tests can check both the
 * root and the non-root rules whoever runs them. The environment is read
 * with secure_getenv: in a set-user-ID program, where the caller's
 * environment is not to be trusted, it reads as empty and the defaults
 * apply. */
#include "proto.h"
#include "proto_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Formats into buf; buf, or NULL (buf emptied) when it does not fit. */
static const char *fit(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *fit(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!buf || len == 0)
        return NULL;
    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return NULL;
    }
    return buf;
}

static bool absolute(const char *p)
{
    return p && p[0] == '/';
}

const char *vgpu__path_for(enum vgpu__path which, uid_t euid, vgpu__getenv_fn get, char *buf,
                           size_t len)
{
    const char *v;

    if (which == VGPU__PATH_SOCKET) {
        v = get("VGPU_SOCKET");
        if (v && *v)
            return fit(buf, len, "%s", v);
        if (euid == 0)
            return fit(buf, len, "/run/vgpu/vgpud.sock");
        v = get("XDG_RUNTIME_DIR");
        if (absolute(v))
            return fit(buf, len, "%s/vgpu/vgpud.sock", v);
        return fit(buf, len, "/run/user/%u/vgpu/vgpud.sock", (unsigned)euid);
    }
    if (euid == 0)
        return fit(buf, len, "/var/lib/vgpu/vgpu.db");
    v = get("XDG_STATE_HOME");
    if (absolute(v))
        return fit(buf, len, "%s/vgpu/vgpu.db", v);
    v = get("HOME");
    if (absolute(v))
        return fit(buf, len, "%s/.local/state/vgpu/vgpu.db", v);
    if (buf && len > 0)
        buf[0] = '\0';
    return NULL;
}

static const char *process_env(const char *name)
{
    return secure_getenv(name);
}

const char *vgpu_default_socket(char *buf, size_t len)
{
    return vgpu__path_for(VGPU__PATH_SOCKET, geteuid(), process_env, buf, len);
}

const char *vgpu_default_db(char *buf, size_t len)
{
    return vgpu__path_for(VGPU__PATH_DB, geteuid(), process_env, buf, len);
}

const char *vgpu_client_socket(char *buf, size_t len)
{
    const char *v = secure_getenv("VGPU_SOCKET");
    if (!(v && *v) && access("/run/vgpu/vgpud.sock", F_OK) == 0)
        return fit(buf, len, "/run/vgpu/vgpud.sock");
    return vgpu_default_socket(buf, len);
}
