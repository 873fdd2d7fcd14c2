/* Unit tests for process identity (src/common/util.c): vgpud and simgpu give
 * a process's memory back once vgpu_proc_alive says it is gone, so a false
 * "alive" leaks a share and a false "dead" takes memory from a running
 * process. Covered: the calling process, a wrong start time (a recycled pid),
 * a zombie (exited, not yet reaped: it holds nothing any more), a reaped pid,
 * invalid pids, and a command name with spaces and parentheses, which
 * /proc/PID/stat does not escape. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* A child that lives until `*release_fd` is closed, then exits. */
static pid_t spawn_child(int *release_fd)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(fds[1]);
        while (read(fds[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(fds[0]);
    *release_fd = fds[1];
    return pid;
}

/* Lets the child exit and waits until it is a zombie, without reaping it. */
static void make_zombie(pid_t pid, int release_fd)
{
    siginfo_t si;
    close(release_fd);
    memset(&si, 0, sizeof(si));
    assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    assert_int_equal(si.si_pid, pid);
}

static void test_self_alive(void **unused)
{
    uint64_t st = vgpu_proc_start_time(getpid());
    assert_true(st > 0);
    assert_int_equal(vgpu_proc_start_time(getpid()), st);
    assert_true(vgpu_proc_alive(getpid(), st));
    assert_true(vgpu_proc_alive(getpid(), 0));
}

/* A pid the kernel recycled has another start time: not the process we knew. */
static void test_wrong_start_time_not_alive(void **unused)
{
    uint64_t st = vgpu_proc_start_time(getpid());
    assert_true(st > 0);
    assert_false(vgpu_proc_alive(getpid(), st + 1));
    assert_false(vgpu_proc_alive(getpid(), st - 1));
}

static void test_live_child_alive(void **unused)
{
    int release;
    pid_t pid = spawn_child(&release);
    uint64_t st = vgpu_proc_start_time(pid);
    assert_true(st > 0);
    assert_true(st >= vgpu_proc_start_time(getpid()));
    assert_true(vgpu_proc_alive(pid, st));
    close(release);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_zombie_not_alive(void **unused)
{
    int release;
    pid_t pid = spawn_child(&release);
    uint64_t st = vgpu_proc_start_time(pid);
    assert_true(st > 0);
    make_zombie(pid, release);
    /* The zombie is still listed in /proc with its start time ... */
    assert_int_equal(vgpu_proc_start_time(pid), st);
    /* ... but it has exited: neither its identity nor its pid is alive. */
    assert_false(vgpu_proc_alive(pid, st));
    assert_false(vgpu_proc_alive(pid, 0));
    assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_reaped_not_alive(void **unused)
{
    int release;
    pid_t pid = spawn_child(&release);
    uint64_t st = vgpu_proc_start_time(pid);
    assert_true(st > 0);
    close(release);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(vgpu_proc_start_time(pid), 0);
    assert_false(vgpu_proc_alive(pid, st));
    assert_false(vgpu_proc_alive(pid, 0));
}

static void test_invalid_pids(void **unused)
{
    assert_false(vgpu_proc_alive(0, 0));
    assert_false(vgpu_proc_alive(-1, 0));
    assert_false(vgpu_proc_alive(-(pid_t)getpid(), 0));
    assert_int_equal(vgpu_proc_start_time(0), 0);
    assert_int_equal(vgpu_proc_start_time(-1), 0);
}

/* /proc/PID/stat prints the command name as is, in parentheses: a name like
 * "a) b (c) d" must not shift the fields that follow. */
static void test_command_name_with_parentheses(void **unused)
{
    char saved[16] = {0};
    uint64_t before = vgpu_proc_start_time(getpid());
    assert_int_equal(prctl(PR_GET_NAME, saved, 0, 0, 0), 0);
    assert_int_equal(prctl(PR_SET_NAME, "a) b (c) d 1 2", 0, 0, 0), 0);
    uint64_t during = vgpu_proc_start_time(getpid());
    bool alive = vgpu_proc_alive(getpid(), before);
    assert_int_equal(prctl(PR_SET_NAME, saved, 0, 0, 0), 0);
    assert_true(before > 0);
    assert_int_equal(during, before);
    assert_true(alive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_alive),
        cmocka_unit_test(test_wrong_start_time_not_alive),
        cmocka_unit_test(test_live_child_alive),
        cmocka_unit_test(test_zombie_not_alive),
        cmocka_unit_test(test_reaped_not_alive),
        cmocka_unit_test(test_invalid_pids),
        cmocka_unit_test(test_command_name_with_parentheses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
