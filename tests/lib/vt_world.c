/* vt_world: vgpud, vgpu-admin and libvgpu.so clients for the daemon-level
 * tests (see vt_world.h).
 *
 * Everything here was once written out in each of those tests: the program
 * paths from argv, the files of a case, the start of vgpud and the wait for
 * its first answer, vgpu-admin as a function, and the fork of a client with
 * its environment made up in the child (so the test's own environment is
 * never changed). Processes go through vt, so a test that fails half-way
 * leaves none behind. */
#include "vt_world.h"

#include "vt.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* A socket's path must fit in sun_path (108 bytes). */
#define SUN_PATH_ROOM 100

static void copy_env(char *out, size_t len, const char *name)
{
    const char *v = getenv(name);
    snprintf(out, len, "%s", v ? v : "");
}

bool vt_world_args(struct vt_world *w, int argc, char **argv, bool with_libvgpu, int timeout_ms)
{
    const char *self = strrchr(argv[0], '/');
    int want = with_libvgpu ? 4 : 3;
    if (argc != want) {
        fprintf(stderr, "usage: %s BIN_DIR %sWORK_DIR\n", self ? self + 1 : argv[0],
                with_libvgpu ? "LIBVGPU " : "");
        return false;
    }
    memset(w, 0, sizeof(*w));
    snprintf(w->bin, sizeof(w->bin), "%s", argv[1]);
    snprintf(w->vgpud_bin, sizeof(w->vgpud_bin), "%s/vgpud", argv[1]);
    snprintf(w->admin_bin, sizeof(w->admin_bin), "%s/vgpu-admin", argv[1]);
    snprintf(w->run_bin, sizeof(w->run_bin), "%s/vgpu-run", argv[1]);
    snprintf(w->work_bin, sizeof(w->work_bin), "%s/vgpu-work", argv[1]);
    snprintf(w->libvgpu, sizeof(w->libvgpu), "%s", with_libvgpu ? argv[2] : "");
    snprintf(w->dir, sizeof(w->dir), "%s", argv[want - 1]);
    copy_env(w->prefix, sizeof(w->prefix), "VGPU_ACCOUNT_PREFIX");
    copy_env(w->state, sizeof(w->state), "SIMGPU_STATE");
    snprintf(w->sock, sizeof(w->sock), "%s/vgpud.sock", w->dir);
    snprintf(w->db, sizeof(w->db), "%s/vgpu.db", w->dir);
    w->timeout_ms = timeout_ms;
    return true;
}

void vt_world_isolate(struct vt_world *w, const char *tag, const char *base, const char *name,
                      const char *devices)
{
    char stem[128];
    if (name) {
        snprintf(w->prefix, sizeof(w->prefix), "%s%d-%s", tag, (int)getpid(), name);
        snprintf(stem, sizeof(stem), "%s-%s", base, name);
    } else {
        snprintf(w->prefix, sizeof(w->prefix), "%s%d", tag, (int)getpid());
        snprintf(stem, sizeof(stem), "%s", base);
    }
    snprintf(w->state, sizeof(w->state), "%s/%s.state", w->dir, stem);
    snprintf(w->sock, sizeof(w->sock), "%s/%s.sock", w->dir, stem);
    if (strlen(w->sock) >= SUN_PATH_ROOM)
        snprintf(w->sock, sizeof(w->sock), "/tmp/%s.sock", w->prefix);
    snprintf(w->db, sizeof(w->db), "%s/%s.db", w->dir, stem);
    w->devices = devices;
    w->isolated = true;
    w->vgpud_pid = 0;
    vt_world_remove(w);
}

void vt_world_remove(const struct vt_world *w)
{
    static const char *const db_files[] = {"", "-wal", "-shm", "-journal"};
    char path[800];
    if (w->state[0])
        unlink(w->state);
    unlink(w->sock);
    for (size_t i = 0; i < sizeof(db_files) / sizeof(db_files[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", w->db, db_files[i]);
        unlink(path);
    }
    if (w->prefix[0])
        vt_remove_shm(w->prefix);
}

/* ---- vgpud ----------------------------------------------------------------------------------- */

void vt_world_start_vgpud(struct vt_world *w, ...)
{
    char state[800], devices[300], prefix[100];
    char *env[4] = {NULL};
    char *argv[32] = {w->vgpud_bin, "--foreground", "--socket",    w->sock,
                      "--db",       w->db,          "--log-level", "warn"};
    int k = 0;
    va_list ap;
    va_start(ap, w);
    vt_argv_add(argv, 8, 32, ap);
    va_end(ap);
    if (w->isolated) { /* its machine and scheduler; the socket is on the command line */
        snprintf(state, sizeof(state), "SIMGPU_STATE=%s", w->state);
        env[k++] = state;
        if (w->devices) {
            snprintf(devices, sizeof(devices), "SIMGPU_DEVICES=%s", w->devices);
            env[k++] = devices;
        }
        snprintf(prefix, sizeof(prefix), "VGPU_ACCOUNT_PREFIX=%s", w->prefix);
        env[k++] = prefix;
    }
    w->vgpud_pid = vt_spawn(argv, env);
    assert_true(w->vgpud_pid > 0);
    for (int i = 0; i < 500; i++) { /* up to 5 s for the socket to answer */
        char *ping[] = {w->admin_bin, "--socket", w->sock, "ping", NULL};
        if (vt_run(ping, NULL, NULL, w->timeout_ms) == 0)
            return;
        vt_sleep_ms(10);
    }
    fail_msg("vgpud did not answer on %s", w->sock);
}

int vt_world_stop_vgpud(struct vt_world *w, int sig)
{
    if (w->vgpud_pid <= 0)
        return -1;
    kill(w->vgpud_pid, sig);
    int rc = vt_wait(w->vgpud_pid, w->timeout_ms);
    w->vgpud_pid = 0;
    return rc;
}

void vt_world_teardown(struct vt_world *w)
{
    vt_world_stop_vgpud(w, SIGTERM);
    vt_kill_all();
    vt_world_remove(w);
}

/* ---- vgpu-admin ------------------------------------------------------------------------------ */

/* vgpu-admin with the words in ap, then `also` when not NULL; what it ran,
 * less the socket, in cmd. */
static int run_admin(const struct vt_world *w, char **out, char **err, va_list ap, const char *also,
                     char *cmd, size_t cmdlen)
{
    char *argv[32] = {(char *)w->admin_bin, "--socket", (char *)w->sock}, *text = NULL;
    int n = vt_argv_add(argv, 3, 31, ap); /* room for `also` */
    if (also)
        argv[n++] = (char *)also;
    argv[n] = NULL;
    size_t used = (size_t)snprintf(cmd, cmdlen, "vgpu-admin");
    for (int i = 3; i < n && used < cmdlen; i++)
        used += (size_t)snprintf(cmd + used, cmdlen - used, " %s", argv[i]);
    bool log = w->log_admin_errors && !err;
    int rc = vt_run(argv, out, err ? err : log ? &text : NULL, w->timeout_ms);
    if (log && rc != 0)
        fprintf(stderr, "%s: exit %d: %s\n", cmd, rc, text ? text : "");
    free(text);
    return rc;
}

int vt_admin(const struct vt_world *w, char **out, char **err, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, err);
    int rc = run_admin(w, out, err, ap, NULL, cmd, sizeof(cmd));
    va_end(ap);
    return rc;
}

json_t *vt_admin_json(const struct vt_world *w, ...)
{
    char cmd[512], *out = NULL, *err = NULL;
    va_list ap;
    va_start(ap, w);
    int rc = run_admin(w, &out, &err, ap, "--json", cmd, sizeof(cmd));
    va_end(ap);
    json_t *j = rc == 0 && out ? json_loads(out, JSON_DECODE_ANY, NULL) : NULL;
    if (!j)
        fail_msg("%s: exit %d, output '%s', stderr '%s'", cmd, rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return j;
}

/* ---- clients --------------------------------------------------------------------------------- */

struct spawn {
    const struct vt_world *w;
    const struct vt_client *how;
    char *const *argv;
    int out[2], err[2];
};

static int redirect(enum vt_stream s, const int pipe_fds[2], int to)
{
    if (s == VT_PIPE)
        return dup2(pipe_fds[1], to) < 0 ? -1 : 0;
    if (s == VT_DEVNULL) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        return fd < 0 || dup2(fd, to) < 0 ? -1 : 0;
    }
    return 0;
}

/* In the child: its streams, its environment, then argv. */
static int exec_client(void *p)
{
    const struct spawn *a = p;
    const struct vt_world *w = a->w;
    if (redirect(a->how->out, a->out, 1) != 0 || redirect(a->how->err, a->err, 2) != 0)
        return 126;
    for (const char *const *d = a->how->drop; d && *d; d++)
        unsetenv(*d);
    if (w->isolated) {
        setenv("SIMGPU_STATE", w->state, 1);
        if (w->devices)
            setenv("SIMGPU_DEVICES", w->devices, 1);
        setenv("VGPU_ACCOUNT_PREFIX", w->prefix, 1);
        setenv("VGPU_SOCKET", w->sock, 1);
    }
    if (a->how->preload)
        setenv("LD_PRELOAD", w->libvgpu, 1);
    for (const char *const *e = a->how->env; e && *e; e++)
        putenv((char *)*e);
    execv(a->argv[0], a->argv);
    fprintf(stderr, "vt_world: cannot run %s: %s\n", a->argv[0], strerror(errno));
    return 127;
}

static void open_pipe(enum vt_stream s, int fds[2])
{
    fds[0] = fds[1] = -1;
    if (s == VT_PIPE)
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
}

struct vt_child vt_world_spawn(const struct vt_world *w, const struct vt_client *how,
                               char *const argv[])
{
    struct spawn a = {.w = w, .how = how, .argv = argv};
    open_pipe(how->out, a.out);
    open_pipe(how->err, a.err);
    struct vt_child c = {
        .pid = vt_fork(exec_client, &a), .out = a.out[0], .err = a.err[0], .what = argv[0]};
    if (a.out[1] >= 0)
        close(a.out[1]);
    if (a.err[1] >= 0)
        close(a.err[1]);
    assert_true(c.pid > 0);
    return c;
}

/* What fits of a piped stream into buf (when given; "" when the stream was
 * not piped); the pipe closed. */
static void drain(int *fd, char *buf, size_t len)
{
    size_t n = 0;
    ssize_t r;
    while (*fd >= 0 && buf && n + 1 < len && (r = read(*fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    if (buf && len > 0)
        buf[n] = '\0';
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int vt_child_wait(const struct vt_world *w, struct vt_child *c, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    int rc = vt_wait(c->pid, w->timeout_ms);
    drain(&c->out, out, outlen);
    drain(&c->err, err, errlen);
    return rc;
}
