/* vt_world: the world of one daemon-level test: the programs it runs, the
 * files they share, vgpud, vgpu-admin, and clients under libvgpu.so.
 *
 * The end-to-end tests (daemon.admin, admin.top, http.api, metrics.scrape,
 * hook.sched, hook.rate) run the real programs from BIN_DIR against files in
 * their WORK_DIR: vgpud in the foreground on its own socket and database,
 * vgpu-admin for every command, vgpu-work as a tenant's process. A world
 * names all of that once, so each test says only what it checks.
 *
 * A world is shared or isolated. Shared (what vt_world_args makes): the
 * simulated machine and the account prefix are those CTest put in the
 * environment (SIMGPU_STATE, VGPU_ACCOUNT_PREFIX), vgpud's socket and
 * database are WORK_DIR/vgpud.sock and WORK_DIR/vgpu.db, and all it starts
 * inherits the test's environment. Isolated (vt_world_isolate, for a whole
 * program or for each case): its own simgpu state file, account prefix,
 * socket and database, named after it and handed to vgpud and to every
 * client it starts, so that nothing one case leaves reaches the next.
 *
 * Children are started with vt (vt.h), so none outlives the test. What must
 * not fail ends the running cmocka test (fail_msg, assert_*), as the copies
 * this replaces did; what a test checks (an exit status, an output) is
 * returned to it. */
#ifndef VGPU_TEST_VT_WORLD_H
#define VGPU_TEST_VT_WORLD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A NULL-terminated list of "K=V" environment entries (or of names). */
#define VT_ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
/* The variables that set a tenant's policy in libvgpu.so: a client that must
 * not take them from the test's own environment drops them. */
#define VT_POLICY_ENV                                                                              \
    "VGPU_TENANT", "VGPU_COMPUTE_SHARE", "VGPU_PRIORITY", "VGPU_TOKEN", "CUDA_DEVICE_SM_LIMIT",    \
        "VGPU_MEMORY_LIMIT"

struct vt_world {
    char bin[512]; /* BIN_DIR, for the programs a test has beside these */
    char vgpud_bin[600], admin_bin[600], run_bin[600], work_bin[600];
    char libvgpu[512]; /* LIBVGPU; "" when the test takes none */
    char dir[512];     /* WORK_DIR */
    char prefix[64];   /* VGPU_ACCOUNT_PREFIX ("" when none) */
    char state[700];   /* SIMGPU_STATE ("" when none) */
    char sock[700], db[700];
    const char *devices;   /* SIMGPU_DEVICES of an isolated world; NULL: the test's */
    bool isolated;         /* hands prefix, state, devices and socket to what it starts */
    bool log_admin_errors; /* vt_admin prints vgpu-admin's stderr when it fails (and the
                            * caller does not take it) */
    int timeout_ms;        /* how long any program it runs may take */
    pid_t vgpud_pid;       /* 0: none running */
};

/* Fills w, a shared world, from the command line `PROGRAM BIN_DIR [LIBVGPU]
 * WORK_DIR` (LIBVGPU when with_libvgpu); false, after a usage line on
 * stderr, when the arguments do not fit. */
bool vt_world_args(struct vt_world *w, int argc, char **argv, bool with_libvgpu, int timeout_ms);

/* Makes w an isolated world: account prefix TAG<pid>[-NAME], files
 * WORK_DIR/BASE[-NAME].{state,sock,db} (the socket /tmp/<prefix>.sock when
 * its path would not fit in sun_path), simgpu devices `devices` (NULL: the
 * test's SIMGPU_DEVICES); name may be NULL. Removes what an earlier run left
 * under those names. */
void vt_world_isolate(struct vt_world *w, const char *tag, const char *base, const char *name,
                      const char *devices);

/* Removes the world's files: the simgpu state, vgpud's socket and database
 * (with SQLite's -wal, -shm and -journal), and /dev/shm/<prefix>.* (the
 * scheduler's region and the tenants' accounts). */
void vt_world_remove(const struct vt_world *w);

/* Starts `vgpud --foreground --socket SOCK --db DB --log-level warn` and the
 * NULL-terminated extra arguments, and waits up to 5 s until `vgpu-admin
 * ping` answers on the socket. */
void vt_world_start_vgpud(struct vt_world *w, ...) __attribute__((sentinel));
/* Sends vgpud `sig` and reaps it; its exit status as vt_wait gives it, -1
 * when none was running. */
int vt_world_stop_vgpud(struct vt_world *w, int sig);
/* The end of a case: vgpud stopped with SIGTERM (whatever its exit), every
 * child killed, the world's files removed. */
void vt_world_teardown(struct vt_world *w);

/* Runs `vgpu-admin --socket SOCK WORDS...` (NULL-terminated); its exit
 * status as vt_run gives it, stdout and stderr in *out and *err (malloc'd)
 * when given. */
int vt_admin(const struct vt_world *w, char **out, char **err, ...) __attribute__((sentinel));
/* `vgpu-admin WORDS... --json`, which must exit 0 with JSON: the parsed
 * output (a new reference). */
json_t *vt_admin_json(const struct vt_world *w, ...) __attribute__((sentinel));

/* What a client's stdout or stderr is: the test's, a pipe, /dev/null. */
enum vt_stream { VT_INHERIT, VT_PIPE, VT_DEVNULL };

/* How vt_world_spawn starts a client. Its environment is the test's, less
 * `drop`, then an isolated world's names (SIMGPU_STATE, SIMGPU_DEVICES,
 * VGPU_ACCOUNT_PREFIX, VGPU_SOCKET), LD_PRELOAD=libvgpu when preload, and
 * `env` last, so `env` has the final word. */
struct vt_client {
    const char *const *env;  /* "K=V" entries (VT_ENV); NULL: none */
    const char *const *drop; /* variables not to inherit (VT_ENV); NULL: none */
    bool preload;            /* otherwise LD_PRELOAD is as inherited */
    enum vt_stream out, err;
};

struct vt_child {
    pid_t pid;
    int out, err;     /* the read ends of its VT_PIPE streams, else -1 */
    const char *what; /* argv[0] */
};

/* Starts argv (argv[0] a path) as a client of w. */
struct vt_child vt_world_spawn(const struct vt_world *w, const struct vt_client *how,
                               char *const argv[]);
/* Waits for c (w's timeout) and returns its exit status as vt_wait does;
 * then reads its piped stdout and stderr into out and err (NUL-terminated,
 * as much as fits; either may be NULL) and closes the pipes. */
int vt_child_wait(const struct vt_world *w, struct vt_child *c, char *out, size_t outlen, char *err,
                  size_t errlen);

#endif
