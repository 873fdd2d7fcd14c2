/* Unit tests for the default socket and database paths (src/proto/paths.c).
 *
 * The rules are checked through vgpu__path_for with a made-up uid and
 * environment, so the root and the non-root rules are both tested whoever
 * runs the suite; one case then checks that vgpu_default_socket and
 * vgpu_default_db apply them to this process (geteuid, the real
 * environment through setenv/unsetenv). */
#include "proto.h"
#include "proto_internal.h"
#include "proto_test.h"

#include <stdlib.h>
#include <unistd.h>

#define USER 1000

/* The made-up environment: up to 8 NAME=VALUE pairs. */
static struct {
    const char *name, *value;
} fake[8];

static const char *fake_get(const char *name)
{
    for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
        if (fake[i].name && strcmp(fake[i].name, name) == 0)
            return fake[i].value;
    return NULL;
}

static void fake_set(const char *name, const char *value)
{
    for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
        if (!fake[i].name || strcmp(fake[i].name, name) == 0) {
            fake[i].name = name;
            fake[i].value = value;
            return;
        }
    fail_msg("fake environment full");
}

static int fake_reset(void **unused)
{
    memset(fake, 0, sizeof(fake));
    return 0;
}

static const char *sock(uid_t uid, char *buf)
{
    return vgpu__path_for(VGPU__PATH_SOCKET, uid, fake_get, buf, 256);
}

static const char *db(uid_t uid, char *buf)
{
    return vgpu__path_for(VGPU__PATH_DB, uid, fake_get, buf, 256);
}

static void test_socket_override(void **unused)
{
    char buf[256];

    fake_set("XDG_RUNTIME_DIR", "/run/user/1000");
    fake_set("VGPU_SOCKET", "/tmp/my vgpud.sock");
    assert_string_equal(sock(0, buf), "/tmp/my vgpud.sock");
    assert_string_equal(sock(USER, buf), "/tmp/my vgpud.sock");
    fake_set("VGPU_SOCKET", "relative.sock"); /* the user's explicit choice: kept */
    assert_string_equal(sock(USER, buf), "relative.sock");
    fake_set("VGPU_SOCKET", ""); /* empty: as if unset */
    assert_string_equal(sock(0, buf), "/run/vgpu/vgpud.sock");
    assert_string_equal(sock(USER, buf), "/run/user/1000/vgpu/vgpud.sock");
}

static void test_socket_root(void **unused)
{
    char buf[256];

    assert_string_equal(sock(0, buf), "/run/vgpu/vgpud.sock");
    /* sudo may keep the user's XDG_RUNTIME_DIR; root ignores it. */
    fake_set("XDG_RUNTIME_DIR", "/run/user/1000");
    assert_string_equal(sock(0, buf), "/run/vgpu/vgpud.sock");
}

static void test_socket_user_xdg(void **unused)
{
    char buf[256];

    fake_set("XDG_RUNTIME_DIR", "/run/user/1000");
    assert_string_equal(sock(USER, buf), "/run/user/1000/vgpu/vgpud.sock");
    fake_set("XDG_RUNTIME_DIR", "/tmp/rt");
    assert_string_equal(sock(USER, buf), "/tmp/rt/vgpu/vgpud.sock");
}

static void test_socket_user_no_xdg(void **unused)
{
    char buf[256];

    assert_string_equal(sock(USER, buf), "/run/user/1000/vgpu/vgpud.sock");
    assert_string_equal(sock(4294967294u, buf), "/run/user/4294967294/vgpu/vgpud.sock");
    fake_set("XDG_RUNTIME_DIR", ""); /* empty or relative: invalid, ignored */
    assert_string_equal(sock(USER, buf), "/run/user/1000/vgpu/vgpud.sock");
    fake_set("XDG_RUNTIME_DIR", "run/user/1000");
    assert_string_equal(sock(USER, buf), "/run/user/1000/vgpu/vgpud.sock");
}

static void test_db_root(void **unused)
{
    char buf[256];

    assert_string_equal(db(0, buf), "/var/lib/vgpu/vgpu.db");
    fake_set("XDG_STATE_HOME", "/home/u/.state");
    fake_set("HOME", "/root");
    assert_string_equal(db(0, buf), "/var/lib/vgpu/vgpu.db");
}

static void test_db_user(void **unused)
{
    char buf[256];

    fake_set("HOME", "/home/u");
    assert_string_equal(db(USER, buf), "/home/u/.local/state/vgpu/vgpu.db");
    fake_set("XDG_STATE_HOME", "/srv/state");
    assert_string_equal(db(USER, buf), "/srv/state/vgpu/vgpu.db");
    fake_set("XDG_STATE_HOME", "state"); /* relative: ignored */
    assert_string_equal(db(USER, buf), "/home/u/.local/state/vgpu/vgpu.db");
    fake_set("XDG_STATE_HOME", "");
    assert_string_equal(db(USER, buf), "/home/u/.local/state/vgpu/vgpu.db");
    /* VGPU_SOCKET names the socket only. */
    fake_set("VGPU_SOCKET", "/tmp/s");
    assert_string_equal(db(USER, buf), "/home/u/.local/state/vgpu/vgpu.db");
}

static void test_db_user_no_home(void **unused)
{
    char buf[256] = "stale";

    assert_null(db(USER, buf));
    assert_string_equal(buf, "");
    fake_set("HOME", "");
    assert_null(db(USER, buf));
    fake_set("HOME", "home/u");
    assert_null(db(USER, buf));
}

static void test_buffer_too_small(void **unused)
{
    const char *want = "/run/vgpu/vgpud.sock";
    size_t n = strlen(want);
    char buf[64];

    assert_string_equal(vgpu__path_for(VGPU__PATH_SOCKET, 0, fake_get, buf, n + 1), want);
    memset(buf, 'x', sizeof(buf));
    assert_null(vgpu__path_for(VGPU__PATH_SOCKET, 0, fake_get, buf, n));
    assert_string_equal(buf, "");
    assert_int_equal(buf[n], 'x'); /* nothing written past len */
    assert_null(vgpu__path_for(VGPU__PATH_DB, 0, fake_get, buf, 0));
    assert_null(vgpu__path_for(VGPU__PATH_DB, 0, fake_get, NULL, 0));
    fake_set("HOME", "/home/a-rather-long-home-directory-name-for-a-user");
    assert_null(vgpu__path_for(VGPU__PATH_DB, USER, fake_get, buf, sizeof(buf)));
    fake_set("VGPU_SOCKET", "/tmp/s");
    assert_null(vgpu__path_for(VGPU__PATH_SOCKET, USER, fake_get, buf, 6));
}

/* The public functions, in this process: the branch for who runs it. */
static void test_process(void **unused)
{
    char buf[256];

    unsetenv("VGPU_SOCKET");
    setenv("XDG_RUNTIME_DIR", "/tmp/rt", 1);
    setenv("XDG_STATE_HOME", "/tmp/st", 1);
    if (geteuid() == 0) {
        assert_string_equal(vgpu_default_socket(buf, sizeof(buf)), "/run/vgpu/vgpud.sock");
        assert_string_equal(vgpu_default_db(buf, sizeof(buf)), "/var/lib/vgpu/vgpu.db");
    } else {
        assert_string_equal(vgpu_default_socket(buf, sizeof(buf)), "/tmp/rt/vgpu/vgpud.sock");
        assert_string_equal(vgpu_default_db(buf, sizeof(buf)), "/tmp/st/vgpu/vgpu.db");
        unsetenv("XDG_RUNTIME_DIR");
        snprintf(buf, sizeof(buf), "/run/user/%u/vgpu/vgpud.sock", (unsigned)geteuid());
        char got[256];
        assert_string_equal(vgpu_default_socket(got, sizeof(got)), buf);
    }
    setenv("VGPU_SOCKET", "/tmp/override.sock", 1);
    assert_string_equal(vgpu_default_socket(buf, sizeof(buf)), "/tmp/override.sock");
    assert_null(vgpu_default_socket(buf, 4));
    setenv("VGPU_SOCKET", "", 1);
    assert_non_null(vgpu_default_socket(buf, sizeof(buf)));
    assert_string_not_equal(buf, "");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_socket_override, fake_reset),
        cmocka_unit_test_setup(test_socket_root, fake_reset),
        cmocka_unit_test_setup(test_socket_user_xdg, fake_reset),
        cmocka_unit_test_setup(test_socket_user_no_xdg, fake_reset),
        cmocka_unit_test_setup(test_db_root, fake_reset),
        cmocka_unit_test_setup(test_db_user, fake_reset),
        cmocka_unit_test_setup(test_db_user_no_home, fake_reset),
        cmocka_unit_test_setup(test_buffer_too_small, fake_reset),
        cmocka_unit_test(test_process),
    };
    return proto_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
