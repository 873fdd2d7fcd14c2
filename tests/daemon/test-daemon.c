/* vgpud and vgpu-admin, end to end on a simulated machine of two H100s.
 *
 * Runs the real programs as a user would: vgpud in the foreground on its own
 * socket and database, vgpu-admin for every command. Checks the user's
 * scenario (GPU 0 -> pool A, GPU 1 -> pool B; vm 1-7 in A with mixed
 * priorities, vm 8-20 in B) read back with `status --json`; that the state
 * survives a restart and a kill -9 in the middle of writes; that bad inputs
 * give a clear error, a non-zero exit and no change; that 50 clients at once
 * are served; and that a tenant's limit reaches its shared account.
 *
 *   test-daemon BIN_DIR WORK_DIR */
#include "vt.h"
#include "vt_world.h"

#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 20000

static struct vt_world W; /* shared: the machine and prefix are CTest's */

static void stop_daemon(int sig)
{
    int rc = vt_world_stop_vgpud(&W, sig);
    assert_int_equal(rc, sig == SIGKILL ? 128 + SIGKILL : 0); /* SIGTERM: a clean exit */
}

static json_t *status(void)
{
    return vt_admin_json(&W, "status", NULL);
}

/* The declared state only (live figures change by themselves). */
static json_t *declared(void)
{
    json_t *s = status(), *t;
    size_t i;
    json_array_foreach(json_object_get(s, "tenants"), i, t)
    {
        json_object_del(t, "memory_used");
        json_object_del(t, "memory_used_by_gpu");
        json_object_del(t, "processes");
    }
    json_object_del(s, "daemon");
    return s;
}

static int setup(void **state)
{
    unlink(W.db);
    vt_fresh_simgpu();
    vt_world_start_vgpud(&W, NULL);
    return 0;
}

static int teardown(void **state)
{
    stop_daemon(SIGTERM);
    /* The tenants' accounts vgpud made (VGPU_ACCOUNT_PREFIX keeps them ours). */
    vt_remove_shm(W.prefix);
    return 0;
}

static void test_users_scenario(void **state)
{
    static const char *const prio[] = {"high", "medium", "low"};
    char vm[32], pr[32];
    json_t *s;

    assert_int_equal(vt_admin(&W, NULL, NULL, "scan-gpus", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "A", "--gpus", "0", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "B", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "assign-gpu", "--gpu-id=1", "--pool=B", NULL), 0);
    for (int i = 1; i <= 20; i++) {
        snprintf(vm, sizeof(vm), "--vm-id=%d", i);
        snprintf(pr, sizeof(pr), "--priority=%s", prio[i % 3]);
        assert_int_equal(vt_admin(&W, NULL, NULL, "register-vm", vm,
                                  i <= 7 ? "--pool=A" : "--pool=B", pr, "--memory=8GiB", NULL),
                         0);
    }
    s = status();
    json_t *gpus = json_object_get(s, "gpus"), *pools = json_object_get(s, "pools");
    json_t *tenants = json_object_get(s, "tenants"), *t;
    assert_int_equal(json_array_size(gpus), 2);
    assert_int_equal(json_array_size(pools), 2);
    assert_int_equal(json_array_size(tenants), 20);
    const char *uuid0 = json_string_value(json_object_get(json_array_get(gpus, 0), "uuid"));
    const char *uuid1 = json_string_value(json_object_get(json_array_get(gpus, 1), "uuid"));
    assert_string_not_equal(uuid0, uuid1);
    size_t i;
    json_t *p;
    json_array_foreach(pools, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_t *g = json_object_get(p, "gpus");
        assert_int_equal(json_array_size(g), 1);
        assert_string_equal(json_string_value(json_array_get(g, 0)),
                            strcmp(name, "A") == 0 ? uuid0 : uuid1);
        assert_int_equal(json_integer_value(json_object_get(p, "tenants")),
                         strcmp(name, "A") == 0 ? 7 : 13);
    }
    json_array_foreach(tenants, i, t)
    {
        int id = (int)json_integer_value(json_object_get(t, "vm_id"));
        char name[32];
        snprintf(name, sizeof(name), "vm-%d", id);
        assert_string_equal(json_string_value(json_object_get(t, "name")), name);
        assert_string_equal(json_string_value(json_object_get(t, "pool")), id <= 7 ? "A" : "B");
        assert_string_equal(json_string_value(json_object_get(t, "priority")), prio[id % 3]);
        assert_int_equal(json_integer_value(json_object_get(t, "memory")), 8LL << 30);
        assert_string_equal(json_string_value(json_object_get(t, "state")), "active");
    }
    json_decref(s);

    /* The limit reached vm-3's shared account, keyed by its pool's GPU. */
    json_t *one = vt_admin_json(&W, "tenant", "show", "vm-3", NULL);
    assert_non_null(json_object_get(one, "memory_used_by_gpu"));
    json_decref(one);
    assert_int_equal(vt_admin(&W, NULL, NULL, "quarantine", "vm-3", NULL), 0);
    one = vt_admin_json(&W, "tenant", "show", "vm-3", NULL);
    assert_string_equal(json_string_value(json_object_get(one, "state")), "quarantined");
    json_decref(one);
    assert_int_equal(vt_admin(&W, NULL, NULL, "release", "vm-3", NULL), 0);
}

static void test_state_survives_restart_and_kill(void **state)
{
    json_t *before = declared();
    stop_daemon(SIGTERM);
    vt_world_start_vgpud(&W, NULL);
    json_t *after = declared();
    assert_true(json_equal(before, after));
    json_decref(after);

    /* kill -9 while tenants are being added: what was written is whole. */
    pid_t writer = fork();
    if (writer == 0) {
        char name[32];
        for (int i = 0; i < 200; i++) {
            snprintf(name, sizeof(name), "k%d", i);
            vt_admin(&W, NULL, NULL, "tenant", "add", name, "--pool", "A", "--memory=1GiB", NULL);
        }
        _exit(0);
    }
    usleep(300000);
    stop_daemon(SIGKILL);
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    vt_world_start_vgpud(&W, NULL);
    json_t *s = status(), *t;
    size_t i;
    int added = 0;
    json_array_foreach(json_object_get(s, "tenants"), i, t)
    {
        if (json_string_value(json_object_get(t, "name"))[0] != 'k')
            continue;
        added++;
        assert_string_equal(json_string_value(json_object_get(t, "pool")), "A");
        assert_int_equal(json_integer_value(json_object_get(t, "memory")), 1LL << 30);
    }
    printf("# %d tenants were whole after kill -9 mid-write\n", added);
    json_decref(s);
    for (int k = 0; k < 200; k++) { /* back to the scenario's state */
        char name[32];
        snprintf(name, sizeof(name), "k%d", k);
        vt_admin(&W, NULL, NULL, "tenant", "rm", name, NULL);
    }
    after = declared();
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

static void test_bad_inputs_change_nothing(void **state)
{
    static const char *const bad[][8] = {
        {"tenant", "add", "x1", "--pool", "NOPE"},
        {"tenant", "add", "x2", "--pool", "A", "--priority", "urgent"},
        {"tenant", "add", "x3", "--pool", "A", "--memory", "abc"},
        {"tenant", "add", "vm-1", "--pool", "A"},
        {"register-vm", "--vm-id=1", "--pool=A"},
        {"register-vm", "--vm-id=0", "--pool=A"},
        {"register-vm", "--vm-id=-4", "--pool=A"},
        {"assign-gpu", "--gpu-id=7", "--pool=A"},
        {"assign-gpu", "--gpu-id=0", "--pool=NOPE"},
        {"assign-gpu", "--gpu-id=GPU-ffffffff", "--pool=A"},
        {"pool", "create", "A"},
        {"pool", "create", "bad/name"},
        {"pool", "rm", "A"},
        {"pool", "rm", "NOPE"},
        {"tenant", "set", "nobody", "--share", "5"},
        {"tenant", "set", "vm-2", "--share", "101"},
        {"tenant", "set", "vm-2", "--rate", "fast"},
        {"tenant", "set", "vm-2", "--max-inflight", "-1"},
        {"tenant", "set", "vm-2", "--bind-uid", "12", "--bind-cgroup", "/a"},
        {"tenant", "set", "vm-2", "--bind-cgroup", "relative/path"},
        {"tenant", "rm", "nobody"},
        {"quarantine", "nobody"},
        {"set-weights", "high=4,medium=2"},
        {"set-weights", "high=x,medium=2,low=1"},
        {"tenant", "add", "bad name", "--pool", "A"},
    };
    json_t *before = declared();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[16] = {W.admin_bin, "--socket", W.sock}, *err = NULL;
        int n = 3;
        for (int k = 0; k < 8 && bad[i][k]; k++)
            argv[n++] = (char *)bad[i][k];
        argv[n] = NULL;
        int rc = vt_run(argv, NULL, &err, TIMEOUT_MS);
        if (rc != 1 || !err || !strstr(err, "vgpu-admin: "))
            fail_msg("case %zu (%s %s): exit %d, stderr '%s'", i, bad[i][0], bad[i][1], rc,
                     err ? err : "");
        free(err);
    }
    /* Usage errors exit 2 before reaching vgpud. */
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", NULL), 2);
    assert_int_equal(vt_admin(&W, NULL, NULL, "no-such-command", NULL), 2);
    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "C", "--bogus", NULL), 2);
    json_t *after = declared();
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

/* vgpu-work under vgpu-run as tenant `name`, allocating `mem`; its exit status. */
static int work(const char *name, const char *mem, const char *seconds)
{
    char *argv[] = {W.run_bin,   "--tenant",   (char *)name,    "--",     W.work_bin, "--mem",
                    (char *)mem, "--duration", (char *)seconds, "--json", NULL};
    return vt_run(argv, NULL, NULL, TIMEOUT_MS);
}

/* A tenant's limit set with vgpu-admin holds in its processes, and a change
 * reaches a process that is already running. */
static void test_limits_reach_processes(void **state)
{
    assert_int_equal(
        vt_admin(&W, NULL, NULL, "tenant", "add", "lim", "--pool", "A", "--memory", "2GiB", NULL),
        0);
    assert_int_equal(work("lim", "3GiB", "0.1"), 1); /* over the limit: refused */
    assert_int_equal(work("lim", "1GiB", "0.1"), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "set", "lim", "--memory", "4GiB", NULL), 0);
    assert_int_equal(work("lim", "3GiB", "0.1"), 0); /* the new limit, no restart */

    /* Lowered below what a running process holds: new allocations fail. */
    char *holder[] = {W.run_bin, "--tenant", "lim",        "--", W.work_bin,
                      "--mem",   "2GiB",     "--duration", "3",  NULL};
    pid_t h = vt_spawn(holder, NULL);
    usleep(800000);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "set", "lim", "--memory", "1GiB", NULL), 0);
    assert_int_equal(work("lim", "64MiB", "0.1"), 1);
    assert_int_equal(vt_wait(h, TIMEOUT_MS), 0);      /* what it holds stays valid */
    assert_int_equal(work("lim", "64MiB", "0.1"), 0); /* once it is gone, room again */

    /* A process killed with SIGKILL: vgpud gives its memory back by itself. */
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "set", "lim", "--memory", "4GiB", NULL), 0);
    h = vt_spawn(holder, NULL);
    usleep(800000);
    kill(h, SIGKILL);
    assert_int_equal(vt_wait(h, TIMEOUT_MS), 128 + SIGKILL);
    usleep(1500000); /* vgpud reaps once a second */
    json_t *t = vt_admin_json(&W, "tenant", "show", "lim", NULL);
    assert_int_equal(json_integer_value(json_object_get(t, "memory_used")), 0);
    json_decref(t);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "rm", "lim", NULL), 0);
}

/* Runs argv as uid:gid with no supplementary groups and VGPU_TOKEN=token
 * (when given); stderr to `err` when given. Exit status. */
static int run_as(uid_t uid, gid_t gid, char *const argv[], const char *err, const char *token)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (token)
            setenv("VGPU_TOKEN", token, 1);
        int fd = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(fd, 2);
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
            _exit(99);
        execv(argv[0], argv);
        _exit(127);
    }
    return vt_wait(pid, TIMEOUT_MS);
}

/* As user nobody (65534). */
static int run_as_nobody_token(char *const argv[], const char *err, const char *token)
{
    return run_as(65534, 65534, argv, err, token);
}

static int run_as_nobody(char *const argv[], const char *err)
{
    return run_as_nobody_token(argv, err, NULL);
}

/* A process's tenant is what the kernel says about it: nobody gets the tenant
 * bound to its uid, and cannot name another one. */
static void test_clients_are_bound_by_identity(void **state)
{
    char err[600], *text = NULL;
    snprintf(err, sizeof(err), "%.*s.err", (int)(strlen(W.db) - 3), W.db);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", "nob", "--pool", "A", "--memory",
                              "1GiB", "--bind-uid", "65534", NULL),
                     0);
    char *fits[] = {W.run_bin, "--socket", W.sock,       "--",  W.work_bin,
                    "--mem",   "512MiB",   "--duration", "0.1", NULL};
    char *over[] = {W.run_bin, "--socket", W.sock,       "--",  W.work_bin,
                    "--mem",   "2GiB",     "--duration", "0.1", NULL};
    char *other[] = {W.run_bin, "--socket", W.sock,       "--tenant", "vm-1",
                     "--",      W.work_bin, "--duration", "0.1",      NULL};
    assert_int_equal(run_as_nobody(fits, NULL), 0); /* vgpud picked "nob" by uid */
    assert_int_equal(run_as_nobody(over, NULL), 1); /* and its 1 GiB limit holds */
    assert_int_equal(run_as_nobody(other, err), 1); /* vm-1 is not nobody's */
    FILE *f = fopen(err, "r");
    assert_non_null(f);
    text = calloc(1, 4096);
    assert_true(fread(text, 1, 4095, f) > 0);
    fclose(f);
    assert_non_null(strstr(text, "not bound to tenant 'vm-1'"));
    free(text);
    unlink(err);

    /* While it runs, status lists it as an attached client of its tenant. */
    char *hold[] = {W.run_bin, "--socket", W.sock, "--", W.work_bin, "--duration", "2", NULL};
    pid_t h = fork();
    if (h == 0)
        _exit(run_as_nobody(hold, NULL));
    usleep(1000000);
    json_t *s = status(), *c;
    size_t i;
    int seen = 0;
    json_array_foreach(json_object_get(s, "clients"), i, c)
    {
        seen += strcmp(json_string_value(json_object_get(c, "tenant")), "nob") == 0 &&
                json_integer_value(json_object_get(c, "uid")) == 65534;
    }
    json_decref(s);
    assert_int_equal(seen, 1);
    assert_int_equal(vt_wait(h, TIMEOUT_MS), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "rm", "nob", NULL), 0);
}

/* Whether uid:gid (no supplementary groups) can open tenant's account for
 * writing, as libvgpu.so does. */
static bool can_map(uid_t uid, gid_t gid, const char *tenant)
{
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/vgputest-daemon.%s", tenant);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
            _exit(99);
        _exit(open(path, O_RDWR | O_CLOEXEC) >= 0 ? 0 : 1);
    }
    return vt_wait(pid, TIMEOUT_MS) == 0;
}

/* A tenant bound to a group serves every member: two users of the group
 * share it (and its account), one outside it is refused. */
static void test_clients_are_bound_by_group(void **state)
{
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", "grp", "--pool", "A", "--memory",
                              "1GiB", "--bind-gid", "nogroup", NULL),
                     0);
    json_t *t = vt_admin_json(&W, "tenant", "show", "grp", NULL);
    assert_int_equal(json_integer_value(json_object_get(t, "bind_gid")), 65534);
    json_decref(t);
    assert_int_equal(
        vt_admin(&W, NULL, NULL, "tenant", "set", "grp", "--bind-gid", "nosuchgroup", NULL), 2);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "set", "grp", "--bind-gid", "4242", NULL),
                     0);

    char *fits[] = {W.run_bin, "--socket", W.sock,       "--",  W.work_bin,
                    "--mem",   "512MiB",   "--duration", "0.1", NULL};
    char *over[] = {W.run_bin, "--socket", W.sock,       "--",  W.work_bin,
                    "--mem",   "2GiB",     "--duration", "0.1", NULL};
    assert_int_equal(run_as(4243, 4242, fits, NULL, NULL), 0); /* a member */
    assert_int_equal(run_as(4244, 4242, fits, NULL, NULL), 0); /* another one, same account */
    /* every member may map its account, whoever attached last; others may not */
    assert_true(can_map(4243, 4242, "grp"));
    assert_true(can_map(4244, 4242, "grp"));
    assert_true(can_map(4247, 4242, "grp")); /* a member who has not attached yet */
    assert_false(can_map(4245, 4246, "grp"));
    assert_int_equal(run_as(4244, 4242, over, NULL, NULL), 1); /* the tenant's limit holds */
    assert_int_equal(run_as(4245, 4246, fits, NULL, NULL), 1); /* not a member: no tenant */
    /* Bound elsewhere: the old members lose the account; removed: it is gone. */
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "set", "grp", "--bind-gid", "4300", NULL),
                     0);
    assert_false(can_map(4243, 4242, "grp"));
    assert_false(can_map(4247, 4242, "grp"));
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "rm", "grp", NULL), 0);
    assert_int_equal(access("/dev/shm/vgputest-daemon.grp", F_OK), -1);
}

/* How many clients of `tenant` status lists. */
static int clients_of(const char *tenant)
{
    json_t *s = status(), *c;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(s, "clients"), i, c) n +=
        strcmp(json_string_value(json_object_get(c, "tenant")), tenant) == 0;
    json_decref(s);
    return n;
}

/* Polls status (up to 15 s) until `tenant` has `want` clients. */
static int wait_clients(const char *tenant, int want)
{
    int n = 0;
    for (int i = 0; i < 150 && (n = clients_of(tenant)) != want; i++)
        usleep(100000);
    return n;
}

static pid_t spawn_client(const char *tenant, const char *seconds)
{
    char *argv[] = {
        W.run_bin,    "--socket",      W.sock,        "--tenant", (char *)tenant, "--", W.work_bin,
        "--duration", (char *)seconds, "--kernel-us", "100",      "--sync-every", "16", NULL};
    return vt_world_spawn(&W, &(struct vt_client){.out = VT_DEVNULL}, argv).pid;
}

/* A running client re-attaches when vgpud comes back. */
/* A token an admin issued admits whoever presents it to its tenant, until
 * revoked; a wrong one admits nobody. */
static void test_tokens_admit_to_their_tenant(void **state)
{
    char *out = NULL, err[600];
    snprintf(err, sizeof(err), "%.*s.err", (int)(strlen(W.db) - 3), W.db);
    assert_int_equal(
        vt_admin(&W, NULL, NULL, "tenant", "add", "tk", "--pool", "A", "--memory", "1GiB", NULL),
        0);
    assert_int_equal(vt_admin(&W, &out, NULL, "token", "create", "--tenant", "tk", NULL), 0);
    char token[128];
    assert_int_equal(sscanf(out, "%127s", token), 1);
    free(out);
    assert_int_equal(strncmp(token, "vgpu_", 5), 0);
    assert_int_equal(strlen(token), 5 + 64);

    char *fits[] = {W.run_bin, "--socket", W.sock,       "--",  W.work_bin,
                    "--mem",   "512MiB",   "--duration", "0.1", NULL};
    char *over[] = {W.run_bin, "--socket", W.sock,       "--",  W.work_bin,
                    "--mem",   "2GiB",     "--duration", "0.1", NULL};
    assert_int_equal(run_as_nobody_token(fits, NULL, token), 0); /* admitted to tk */
    assert_int_equal(run_as_nobody_token(over, NULL, token), 1); /* and held to its 1 GiB */
    assert_int_equal(run_as_nobody_token(fits, err, "vgpu_0000"), 1);
    /* A second user with the token: both may map the account afterwards (one
     * attaching never takes it from the other, who may be about to map it). */
    assert_int_equal(run_as(4250, 4250, fits, NULL, token), 0);
    assert_true(can_map(65534, 65534, "tk"));
    assert_true(can_map(4250, 4250, "tk"));
    assert_false(can_map(4251, 4251, "tk"));

    /* Listed (by id, never the token), then revoked: it admits no one. */
    json_t *list = vt_admin_json(&W, "token", "list", NULL);
    assert_int_equal(json_array_size(list), 1);
    char *dump = json_dumps(list, 0);
    assert_null(strstr(dump, token + 5)); /* the token itself is never shown again */
    free(dump);
    const char *id = json_string_value(json_object_get(json_array_get(list, 0), "id"));
    assert_int_equal(vt_admin(&W, NULL, NULL, "token", "revoke", id, NULL), 0);
    json_decref(list);
    assert_int_equal(run_as_nobody_token(fits, err, token), 1);
    assert_false(can_map(65534, 65534, "tk")); /* and those it admitted lose the account */
    assert_false(can_map(4250, 4250, "tk"));
    assert_int_equal(vt_admin(&W, NULL, NULL, "token", "revoke", "deadbeef", NULL), 1);
    assert_int_equal(vt_admin(&W, NULL, NULL, "token", "create", NULL), 2);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "rm", "tk", NULL), 0);
    unlink(err);
}

static void test_clients_reattach_after_restart(void **state)
{
    assert_int_equal(
        vt_admin(&W, NULL, NULL, "tenant", "add", "ra", "--pool", "A", "--memory", "4GiB", NULL),
        0);
    pid_t h = spawn_client("ra", "8");
    assert_int_equal(wait_clients("ra", 1), 1);
    stop_daemon(SIGTERM);
    vt_world_start_vgpud(&W, NULL);
    assert_int_equal(wait_clients("ra", 1), 1); /* back within a second or two */
    assert_int_equal(vt_wait(h, TIMEOUT_MS), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "rm", "ra", NULL), 0);
}

/* 50 processes attaching at once are all served. */
static void test_fifty_clients_at_once(void **state)
{
    enum { N = 50 };
    pid_t pid[N];
    assert_int_equal(
        vt_admin(&W, NULL, NULL, "tenant", "add", "many", "--pool", "A", "--memory", "40GiB", NULL),
        0);
    for (int i = 0; i < N; i++)
        pid[i] = spawn_client("many", "4");
    assert_int_equal(wait_clients("many", N), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(vt_wait(pid[i], TIMEOUT_MS), 0);
    assert_int_equal(wait_clients("many", 0), 0); /* they left */
    assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "rm", "many", NULL), 0);
}

int main(int argc, char **argv)
{
    if (!vt_world_args(&W, argc, argv, false, TIMEOUT_MS))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_scenario),
        cmocka_unit_test(test_state_survives_restart_and_kill),
        cmocka_unit_test(test_bad_inputs_change_nothing),
        cmocka_unit_test(test_limits_reach_processes),
        cmocka_unit_test(test_clients_are_bound_by_identity),
        cmocka_unit_test(test_clients_are_bound_by_group),
        cmocka_unit_test(test_tokens_admit_to_their_tenant),
        cmocka_unit_test(test_clients_reattach_after_restart),
        cmocka_unit_test(test_fifty_clients_at_once),
    };
    return cmocka_run_group_tests_name("daemon", tests, setup, teardown);
}
