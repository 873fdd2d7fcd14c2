/* Unit tests for src/run/preload.c: how vgpu-run finds libvgpu.so and the
 * LD_PRELOAD value it composes. A library the loader would skip (missing,
 * not ELF, another machine, a path LD_PRELOAD cannot carry) must be refused
 * here, because the loader only warns and runs the tenant unlimited; and
 * libvgpu.so must come first in LD_PRELOAD exactly once, however the user
 * already spelled it. The argument is a real shared library (the run-probe
 * stand-in) to be found. */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char *probe_path; /* argv[1] */
static char tmp[PATH_MAX];     /* a fresh directory per test, canonical */
static char self[PATH_MAX];    /* this test's own executable */

static int make_tmp(void **unused)
{
    char templ[] = "/tmp/vgpu-run-test.XXXXXX";
    ssize_t n;

    if (!mkdtemp(templ) || !realpath(templ, tmp))
        return -1;
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    return 0;
}

static int remove_tmp(void **unused)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ssize_t n;

    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static void path_in_tmp(char *out, size_t len, const char *rel)
{
    int n = snprintf(out, len, "%s/%s", tmp, rel);
    assert_true(n > 0 && (size_t)n < len);
}

static void mkdirs(const char *rel)
{
    char p[PATH_MAX];
    path_in_tmp(p, sizeof(p), rel);
    for (char *s = strchr(p + strlen(tmp) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    mkdir(p, 0755);
}

static void expect_preload(const char *lib, const char *existing, const char *want)
{
    char *got = vgpu_run_preload_value(lib, existing);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("LD_PRELOAD '%s' with %s: got '%s', want '%s'", existing ? existing : "(unset)",
                 lib, got, want);
    free(got);
}

static void test_value_by_string(void **unused)
{
    const char *lib = "/opt/vgpu/lib/libvgpu.so";

    expect_preload(lib, NULL, lib);
    expect_preload(lib, "", lib);
    expect_preload(lib, ": :", lib);
    expect_preload(lib, lib, lib);
    expect_preload(lib, "/a.so", "/opt/vgpu/lib/libvgpu.so:/a.so");
    expect_preload(lib, "/a.so:/opt/vgpu/lib/libvgpu.so:/b.so",
                   "/opt/vgpu/lib/libvgpu.so:/a.so:/b.so");
    expect_preload(lib, "/a.so /opt/vgpu/lib/libvgpu.so  /b.so",
                   "/opt/vgpu/lib/libvgpu.so:/a.so:/b.so");
    expect_preload(lib, "/opt/vgpu/lib/libvgpu.so:/opt/vgpu/lib/libvgpu.so",
                   "/opt/vgpu/lib/libvgpu.so");
    /* A bare name is searched for by the loader: not the same file as far as we know. */
    expect_preload(lib, "libvgpu.so", "/opt/vgpu/lib/libvgpu.so:libvgpu.so");
    /* Other entries keep their order and their repeats. */
    expect_preload(lib, "/b.so:/a.so:/b.so", "/opt/vgpu/lib/libvgpu.so:/b.so:/a.so:/b.so");
}

static void test_value_drops_aliases(void **unused)
{
    char lib[PATH_MAX], link[PATH_MAX], want[PATH_MAX * 2], existing[PATH_MAX * 2];
    char cwd[PATH_MAX];

    path_in_tmp(lib, sizeof(lib), "libvgpu.so");
    path_in_tmp(link, sizeof(link), "alias.so");
    copy_file(probe_path, lib);
    assert_int_equal(symlink(lib, link), 0);

    snprintf(existing, sizeof(existing), "%s:/x.so", link);
    snprintf(want, sizeof(want), "%s:/x.so", lib);
    expect_preload(lib, existing, want);

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tmp), 0);
    /* A relative path is an alias too; a bare name is not a path. */
    snprintf(want, sizeof(want), "%s:/x.so:alias.so", lib);
    expect_preload(lib, "/x.so:./libvgpu.so:alias.so", want);
    assert_int_equal(chdir(cwd), 0);
}

static void test_find_from_env(void **unused)
{
    char out[PATH_MAX], err[PATH_MAX * 3], want[PATH_MAX], missing[PATH_MAX];

    assert_non_null(realpath(probe_path, want));
    assert_int_equal(vgpu_run_find_library(probe_path, self, out, sizeof(out), err, sizeof(err)),
                     0);
    assert_string_equal(out, want);
    assert_string_equal(err, "");

    path_in_tmp(missing, sizeof(missing), "nope.so");
    assert_int_equal(vgpu_run_find_library(missing, self, out, sizeof(out), err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "VGPU_LIBRARY"));

    /* The output buffer must hold the whole path. */
    assert_int_equal(vgpu_run_find_library(probe_path, self, out, 4, err, sizeof(err)),
                     -ENAMETOOLONG);
}

static void test_find_next_to_exe(void **unused)
{
    char exe[PATH_MAX], lib[PATH_MAX], out[PATH_MAX], err[PATH_MAX * 3];

    mkdirs("prefix/bin");
    mkdirs("prefix/lib");
    path_in_tmp(exe, sizeof(exe), "prefix/bin/vgpu-run");
    path_in_tmp(lib, sizeof(lib), "prefix/lib/libvgpu.so");
    copy_file(self, exe);

    /* Not there: the error names the path tried, with no "..". */
    assert_int_equal(vgpu_run_find_library(NULL, exe, out, sizeof(out), err, sizeof(err)), -ENOENT);
    if (!strstr(err, lib) || strstr(err, ".."))
        fail_msg("error '%s' should name %s", err, lib);
    /* "" counts as unset. */
    assert_int_equal(vgpu_run_find_library("", exe, out, sizeof(out), err, sizeof(err)), -ENOENT);

    copy_file(probe_path, lib);
    assert_int_equal(vgpu_run_find_library(NULL, exe, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, lib);

    /* Without its own path, vgpu-run asks for VGPU_LIBRARY. */
    assert_int_equal(vgpu_run_find_library(NULL, NULL, out, sizeof(out), err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "VGPU_LIBRARY"));
}

/* expect_refused(rel path, errno, message piece) */
static void expect_refused(const char *path, int want_rc, const char *msg)
{
    char out[PATH_MAX], err[PATH_MAX * 3];
    int rc = vgpu_run_find_library(path, self, out, sizeof(out), err, sizeof(err));

    if (rc != want_rc || !strstr(err, msg))
        fail_msg("%s: %d '%s'; want %d and '%s'", path, rc, err, want_rc, msg);
}

static void test_refuses_what_the_loader_would_skip(void **unused)
{
    char p[PATH_MAX];
    unsigned char hdr[64];
    int fd;

    expect_refused(tmp, -EINVAL, "not a regular file");

    path_in_tmp(p, sizeof(p), "text.so");
    fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, "not a library, long enough to read a header\n", 44), 44);
    close(fd);
    expect_refused(p, -ENOEXEC, "not an ELF shared library");

    path_in_tmp(p, sizeof(p), "short.so");
    fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, "\177ELF", 4), 4);
    close(fd);
    expect_refused(p, -ENOEXEC, "not an ELF shared library");

    /* The probe with another e_machine (offset 18): built for another CPU. */
    path_in_tmp(p, sizeof(p), "foreign.so");
    copy_file(probe_path, p);
    fd = open(p, O_RDWR);
    assert_int_equal(read(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
    hdr[18] ^= 0x40;
    assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
    close(fd);
    expect_refused(p, -ENOEXEC, "another machine");

    /* An executable, not a shared object (e_type 2, ET_EXEC). */
    path_in_tmp(p, sizeof(p), "exec.so");
    copy_file(probe_path, p);
    fd = open(p, O_RDWR);
    hdr[16] = 2;
    hdr[17] = 0;
    assert_int_equal(pwrite(fd, hdr + 16, 2, 16), 2);
    close(fd);
    expect_refused(p, -ENOEXEC, "not a shared library");

    path_in_tmp(p, sizeof(p), "a:b.so");
    copy_file(probe_path, p);
    expect_refused(p, -EINVAL, "contains ':'");
    path_in_tmp(p, sizeof(p), "a b.so");
    copy_file(probe_path, p);
    expect_refused(p, -EINVAL, "contains ':' or ' '");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_by_string),
        cmocka_unit_test_setup_teardown(test_value_drops_aliases, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_find_from_env, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_find_next_to_exe, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_refuses_what_the_loader_would_skip, make_tmp,
                                        remove_tmp),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-OF-A-SHARED-LIBRARY\n", argv[0]);
        return 2;
    }
    probe_path = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
