/* admin.top: vgpu-admin's live figures as an administrator reads them.
 *
 * Runs the real programs on a simulated H100: vgpud on its own socket and
 * database, tenants' work as vgpu-work under vgpu-run (so under
 * libvgpu.so, gated by vgpud's scheduler), vgpu-admin for every look.
 * Checks that
 *   - `status` shows the p50/p95/p99 of the request latency of two tenants
 *     that shared the GPU as numbers (those of `status --json`), and "-" for
 *     a tenant that never ran, in tables no wider than 100 columns;
 *   - `top --iterations 2 --interval 0.5` into a pipe prints two plain
 *     frames (no escapes) listing every tenant, sorted as asked, the tenant
 *     running work with a nonzero share and an idle one at 0.0%;
 *   - bad options exit 2 with a message naming the option and the value;
 *   - on a pseudo-terminal top clears the screen, hides the cursor and takes
 *     keys as typed; 'q', SIGINT and SIGTERM each end it with exit 0, the
 *     cursor shown and the terminal canonical with echo again;
 *   - when vgpud is killed and comes back, top says "vgpud unreachable,
 *     retrying" meanwhile and then shows whole frames again.
 *
 *   test-admin-top BIN_DIR WORK_DIR */
#include "vt.h"
#include "vt_world.h"

#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#define TIMEOUT_MS 20000

static struct vt_world W; /* shared: the machine and prefix are CTest's */

/* vgpud with pool P on the GPU and the tenants of every case: w1 and w2
 * share the GPU, never never runs, busy runs while top looks, idle does
 * not. */
static int setup(void **state)
{
    static const char *const tenants[] = {"w1", "w2", "never", "busy", "idle"};
    vt_world_remove(&W);
    vt_world_start_vgpud(&W, NULL);
    assert_int_equal(vt_admin(&W, NULL, NULL, "scan-gpus", NULL), 0);
    assert_int_equal(vt_admin(&W, NULL, NULL, "pool", "create", "P", "--gpus", "0", NULL), 0);
    for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++)
        assert_int_equal(vt_admin(&W, NULL, NULL, "tenant", "add", tenants[i], "--pool", "P",
                                  "--memory", "4GiB", NULL),
                         0);
    return 0;
}

static int teardown(void **state)
{
    vt_world_teardown(&W); /* vgpud, the work, the database, the region and accounts */
    return 0;
}

/* vgpu-work as `tenant`: 1 ms kernels, four per synchronise, for `seconds`,
 * holding `mem` (NULL: nothing). */
static pid_t work(const char *tenant, const char *mem, const char *seconds)
{
    char *argv[] = {W.run_bin,       "--socket",     W.sock,      "--tenant",
                    (char *)tenant,  "--",           W.work_bin,  "--kernel-us",
                    "1000",          "--sync-every", "4",         "--duration",
                    (char *)seconds, "--mem",        (char *)mem, NULL};
    if (!mem)
        argv[13] = NULL; /* no --mem */
    return vt_world_spawn(&W, &(struct vt_client){.out = VT_DEVNULL}, argv).pid;
}

/* The lines of `text` from the one starting with `title` to the next empty
 * line, copied into a malloc'd string; fails when there is none. */
static char *section(const char *text, const char *title)
{
    const char *p = text;
    while (p && strncmp(p, title, strlen(title)) != 0)
        p = (p = strchr(p, '\n')) ? p + 1 : NULL;
    if (!p)
        fail_msg("no section '%s' in:\n%s", title, text);
    const char *end = strstr(p, "\n\n");
    return strndup(p, end ? (size_t)(end - p + 1) : strlen(p));
}

static void max_width(const char *lines, int width, const char *what)
{
    for (const char *p = lines; *p;) {
        size_t n = strcspn(p, "\n");
        if ((int)n > width)
            fail_msg("%s: a line of %zu columns: '%.*s'", what, n, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* Two tenants that shared the GPU waited at the gate: status prints their
 * request latency's p50/p95/p99 as status --json has them; a tenant that
 * never ran shows "-". */
static void test_status_shows_wait_percentiles(void **state)
{
    static const char *const qs[] = {"p50_ms", "p95_ms", "p99_ms"};
    pid_t a = work("w1", NULL, "1.5"), b = work("w2", NULL, "1.5");
    assert_int_equal(vt_wait(a, TIMEOUT_MS), 0);
    assert_int_equal(vt_wait(b, TIMEOUT_MS), 0);

    char *out = NULL;
    assert_int_equal(vt_admin(&W, &out, NULL, "status", NULL), 0);
    char *tenants = section(out, "Tenants"), *waits = section(out, "Waits");
    printf("%s%s", tenants, waits);
    max_width(tenants, 100, "status's tenant table");
    max_width(waits, 100, "status's waits table");
    assert_non_null(strstr(waits, "REQ-P50 REQ-P95 REQ-P99"));
    assert_non_null(strstr(waits, "LEASE-P50 LEASE-P95 LEASE-P99"));

    const char *names[] = {"w1", "w2", "never"};
    for (int k = 0; k < 3; k++) {
        char line[80], cell[6][32];
        long queue, inflight, rl;
        snprintf(line, sizeof(line), "\n%s ", names[k]);
        const char *row = strstr(waits, line);
        if (!row)
            fail_msg("no row for %s in:\n%s", names[k], waits);
        assert_int_equal(sscanf(row + 1, "%*s %ld %ld %ld %31s %31s %31s %31s %31s %31s", &queue,
                                &inflight, &rl, cell[0], cell[1], cell[2], cell[3], cell[4],
                                cell[5]),
                         9);
        assert_int_equal(queue, 0); /* its work is over */
        assert_int_equal(inflight, 0);
        if (k == 2) {
            for (int i = 0; i < 6; i++)
                assert_string_equal(cell[i], "-");
            continue;
        }
        json_t *t = vt_admin_json(&W, "tenant", "show", names[k], NULL);
        json_t *req = json_object_get(t, "request_latency");
        double prev = 0;
        for (int i = 0; i < 3; i++) {
            char *end;
            double v = strtod(cell[i], &end), want = json_number_value(json_object_get(req, qs[i]));
            if (*end || !(v > 0) || v < prev)
                fail_msg("%s's request %s is '%s'", names[k], qs[i], cell[i]);
            if (!(v >= want * 0.99 - 0.001 && v <= want * 1.01 + 0.001))
                fail_msg("%s's request %s: status prints %s, status --json has %.4f", names[k],
                         qs[i], cell[i], want);
            prev = v;
        }
        json_decref(t);
    }
    free(tenants);
    free(waits);
    free(out);
}

/* ---- top ------------------------------------------------------------------------------------ */

struct trow {
    char name[64], share[16];
};

/* Splits top's plain output into frames (at most 4) and their tenant rows
 * (at most 8 each); returns the number of frames. */
static int frames_of(const char *out, struct trow rows[4][8], int nrows[4])
{
    int f = -1;
    bool in_table = false;
    for (const char *p = out; *p;) {
        size_t n = strcspn(p, "\n");
        if (strncmp(p, "vgpu-admin top ", 15) == 0) {
            f++;
            in_table = false;
            if (f < 4)
                nrows[f] = 0;
        } else if (n == 0) {
            in_table = false;
        } else if (strncmp(p, "TENANT ", 7) == 0) {
            in_table = true;
        } else if (in_table && f >= 0 && f < 4 && nrows[f] < 8) {
            struct trow *r = &rows[f][nrows[f]++];
            assert_int_equal(sscanf(p, "%63s %*s %*s %*s %15s", r->name, r->share), 2);
        }
        p += n + (p[n] == '\n');
    }
    return f + 1;
}

static const struct trow *row_of(struct trow *rows, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    fail_msg("no row for tenant %s", name);
    return NULL;
}

/* top --iterations 2 --interval 0.5 --sort KEY into a pipe: two frames. */
static int top_frames(const char *sort, struct trow rows[4][8], int nrows[4])
{
    char *out = NULL, *err = NULL;
    int rc = vt_admin(&W, &out, &err, "top", "--iterations", "2", "--interval", "0.5", "--sort",
                      sort, NULL);
    if (rc != 0)
        fail_msg("top --sort %s: exit %d, stderr '%s'", sort, rc, err ? err : "");
    if (strchr(out, '\x1b'))
        fail_msg("top into a pipe wrote an escape sequence:\n%s", out);
    const char *last = strstr(out, "\n\nvgpu-admin top ");
    printf("# top --sort %s, the last frame:\n%s", sort, last ? last + 2 : out);
    int n = frames_of(out, rows, nrows);
    free(out);
    free(err);
    return n;
}

/* While busy runs (alone on the GPU, holding 1 GiB), top's frames list all
 * five tenants, busy with a nonzero share and idle at 0.0%, in the order
 * asked for. */
static void test_top_in_a_pipe(void **state)
{
    static const char *const by_name[] = {"busy", "idle", "never", "w1", "w2"};
    struct trow rows[4][8];
    int nrows[4];
    pid_t w = work("busy", "1GiB", "5");
    bool holds = false;
    for (int i = 0; i < 100 && !holds; i++) { /* it holds the GPU's lease */
        json_t *s = vt_admin_json(&W, "status", NULL);
        json_t *gpu = json_array_get(json_object_get(json_object_get(s, "scheduler"), "gpus"), 0);
        const char *holder =
            json_string_value(json_object_get(json_object_get(gpu, "holder"), "tenant"));
        holds = holder && strcmp(holder, "busy") == 0;
        json_decref(s);
        if (!holds)
            vt_sleep_ms(50);
    }
    assert_true(holds);
    assert_int_equal(top_frames("gpu", rows, nrows), 2);
    for (int f = 0; f < 2; f++) {
        assert_int_equal(nrows[f], 5);
        assert_string_equal(rows[f][0].name, "busy"); /* the largest share first */
        double share = strtod(row_of(rows[f], 5, "busy")->share, NULL);
        if (!(share > 50))
            fail_msg("frame %d: busy's share is %s, alone on the GPU", f + 1, rows[f][0].share);
        assert_string_equal(row_of(rows[f], 5, "idle")->share, "0.0%");
        assert_string_equal(row_of(rows[f], 5, "never")->share, "0.0%");
    }
    assert_int_equal(top_frames("memory", rows, nrows), 2);
    assert_string_equal(rows[0][0].name, "busy"); /* the only one holding memory */
    assert_string_equal(rows[1][0].name, "busy");
    assert_int_equal(top_frames("name", rows, nrows), 2);
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < 5; i++)
            assert_string_equal(rows[f][i].name, by_name[i]);
    assert_int_equal(vt_wait(w, TIMEOUT_MS), 0);
}

static void test_top_bad_options(void **state)
{
    static const char *const bad[][3] = {
        {"--interval", "0", "--interval"},     {"--interval", "abc", "--interval"},
        {"--interval", "-1", "--interval"},    {"--sort", "nonsense", "--sort"},
        {"--iterations", "0", "--iterations"}, {"-n", "x", "--iterations"},
        {"--json", NULL, "unknown option"},    {"extra", NULL, "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL, *err = NULL;
        int rc = vt_admin(&W, &out, &err, "top", bad[i][0], bad[i][1], NULL);
        if (rc != 2 || !err || !strstr(err, bad[i][2]) || (bad[i][1] && !strstr(err, bad[i][1])) ||
            !strstr(err, "usage: vgpu-admin top") || (out && *out))
            fail_msg("top %s %s: exit %d, stderr '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "", rc,
                     err ? err : "");
        free(out);
        free(err);
    }
}

/* Reads the pty until `want` appears in what was read (NULL: until the
 * other side is closed) or timeout_ms pass; appends to buf. */
static void read_pty(int fd, char *buf, size_t cap, size_t *len, const char *want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms && !(want && strstr(buf, want));) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) {
            waited += 50;
            continue;
        }
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            return; /* EIO: the child closed the terminal */
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

/* top on a 100 x 40 pseudo-terminal, ended by `how` ('q' typed, or a
 * signal). */
static void top_on_a_terminal(int how)
{
    struct winsize ws = {.ws_row = 40, .ws_col = 100};
    static char buf[1 << 16];
    size_t len = 0;
    int fd;
    struct termios tio;
    buf[0] = '\0';
    fflush(NULL);
    pid_t pid = forkpty(&fd, NULL, NULL, &ws);
    if (pid == 0) {
        execl(W.admin_bin, W.admin_bin, "--socket", W.sock, "top", "--interval", "0.2",
              (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    read_pty(fd, buf, sizeof(buf), &len, "never", 5000); /* the tenants' table */
    assert_non_null(strstr(buf, "never"));
    assert_int_equal(tcgetattr(fd, &tio), 0);
    assert_false(tio.c_lflag & ICANON); /* keys as they are typed */
    assert_false(tio.c_lflag & ECHO);
    if (how == 'q')
        assert_int_equal(write(fd, "q", 1), 1);
    else
        kill(pid, how);
    read_pty(fd, buf, sizeof(buf), &len, NULL, 5000);
    int rc = vt_wait(pid, TIMEOUT_MS);
    printf("# top on a terminal, ended by %s: exit %d, %zu bytes\n",
           how == 'q' ? "'q'" : strsignal(how), rc, len);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(buf, "\x1b[?25l"));                        /* the cursor hidden */
    assert_non_null(strstr(buf, "\x1b[H\x1b[2J"));                    /* a frame: home, clear */
    assert_true(len >= 6 && strcmp(buf + len - 6, "\x1b[?25h") == 0); /* shown at the end */
    assert_int_equal(tcgetattr(fd, &tio), 0);
    assert_true(tio.c_lflag & ICANON); /* the terminal as it was */
    assert_true(tio.c_lflag & ECHO);
    close(fd);
}

static void test_top_on_a_terminal(void **state)
{
    top_on_a_terminal('q');
    top_on_a_terminal(SIGINT);
    top_on_a_terminal(SIGTERM);
}

/* vgpud killed under a running top and started again: frames in between
 * say it is unreachable, the ones after are whole again; and top against no
 * vgpud at all says so and exits 1 after its one frame. */
static void test_top_survives_vgpud_restart(void **state)
{
    char path[700], cmd[2600];
    snprintf(path, sizeof(path), "%s/top.out", W.dir);
    snprintf(cmd, sizeof(cmd),
             "exec '%s' --socket '%s' top --iterations 12 --interval 0.3 >'%s' 2>&1", W.admin_bin,
             W.sock, path);
    char *sh[] = {"sh", "-c", cmd, NULL};
    pid_t top = vt_spawn(sh, NULL);
    vt_sleep_ms(1000);
    assert_int_equal(vt_world_stop_vgpud(&W, SIGKILL), 128 + SIGKILL);
    vt_sleep_ms(800);
    vt_world_start_vgpud(&W, NULL);
    assert_int_equal(vt_wait(top, TIMEOUT_MS), 0); /* its last frame reached vgpud */

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    int whole_before = 0, unreachable = 0, whole_after = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "vgpu-admin top ", 15) != 0)
            continue;
        if (strstr(line, "vgpud unreachable, retrying"))
            unreachable++;
        else if (strstr(line, " up ") && !unreachable)
            whole_before++;
        else if (strstr(line, " up ") && unreachable)
            whole_after++;
    }
    fclose(f);
    unlink(path);
    printf("# top across a vgpud restart: %d whole frames, %d unreachable, %d whole again\n",
           whole_before, unreachable, whole_after);
    assert_true(whole_before >= 1);
    assert_true(unreachable >= 1);
    assert_true(whole_after >= 1);
    assert_int_equal(whole_before + unreachable + whole_after, 12);

    char *argv[] = {W.admin_bin, "--socket", "/nonexistent/vgpud.sock", "top", "--once", NULL};
    char *out = NULL;
    assert_int_equal(vt_run(argv, &out, NULL, TIMEOUT_MS), 1);
    assert_non_null(strstr(out, "vgpud unreachable, retrying"));
    assert_non_null(strstr(out, "/nonexistent/vgpud.sock"));
    free(out);
}

int main(int argc, char **argv)
{
    if (!vt_world_args(&W, argc, argv, false, TIMEOUT_MS))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_shows_wait_percentiles),
        cmocka_unit_test(test_top_in_a_pipe),
        cmocka_unit_test(test_top_bad_options),
        cmocka_unit_test(test_top_on_a_terminal),
        cmocka_unit_test(test_top_survives_vgpud_restart),
    };
    return cmocka_run_group_tests_name("admin.top", tests, setup, teardown);
}
