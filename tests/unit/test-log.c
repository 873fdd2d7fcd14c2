/* Unit tests for the log level names of src/common/log.c: the strings users
 * put in VGPU_LOG_LEVEL (a name in any case, "warning", or a digit 0-3) and
 * what vgpu_log_init does with a value it cannot read (keeps the default). */
#include "common.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define ENV_NAME "VGPU_UNIT_TEST_LOG_LEVEL"

static void expect_level(const char *s, enum vgpu_log_level want)
{
    enum vgpu_log_level got = (enum vgpu_log_level) - 1;
    int rc = vgpu_log_parse_level(s, &got);
    if (rc != 0 || got != want)
        fail_msg("vgpu_log_parse_level(\"%s\") = %d, level %d; want 0, level %d", s, rc, (int)got,
                 (int)want);
}

static void test_names(void **unused)
{
    expect_level("error", VGPU_LOG_ERROR);
    expect_level("warn", VGPU_LOG_WARN);
    expect_level("info", VGPU_LOG_INFO);
    expect_level("debug", VGPU_LOG_DEBUG);
}

static void test_names_any_case(void **unused)
{
    expect_level("ERROR", VGPU_LOG_ERROR);
    expect_level("Warn", VGPU_LOG_WARN);
    expect_level("iNfO", VGPU_LOG_INFO);
    expect_level("DEBUG", VGPU_LOG_DEBUG);
}

static void test_warning_alias(void **unused)
{
    expect_level("warning", VGPU_LOG_WARN);
    expect_level("WARNING", VGPU_LOG_WARN);
}

static void test_numbers(void **unused)
{
    expect_level("0", VGPU_LOG_ERROR);
    expect_level("1", VGPU_LOG_WARN);
    expect_level("2", VGPU_LOG_INFO);
    expect_level("3", VGPU_LOG_DEBUG);
}

static void test_invalid_rejected(void **unused)
{
    static const char *const bad[] = {
        "",      "4",        "-1",  "01",      "10",    "1.0",    " warn",
        "warn ", "warnings", "err", "verbose", "trace", "debug3", "0x1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum vgpu_log_level got = VGPU_LOG_INFO;
        int rc = vgpu_log_parse_level(bad[i], &got);
        if (rc != -EINVAL)
            fail_msg("vgpu_log_parse_level(\"%s\") = %d (level %d); want -EINVAL", bad[i], rc,
                     (int)got);
    }
    enum vgpu_log_level got;
    assert_int_equal(vgpu_log_parse_level(NULL, &got), -EINVAL);
}

static void test_init_reads_environment(void **unused)
{
    assert_int_equal(setenv(ENV_NAME, "debug", 1), 0);
    vgpu_log_init("unit", ENV_NAME, VGPU_LOG_ERROR);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_DEBUG);

    assert_int_equal(setenv(ENV_NAME, "1", 1), 0);
    vgpu_log_init("unit", ENV_NAME, VGPU_LOG_ERROR);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_WARN);
}

static void test_init_keeps_default_when_unset_or_invalid(void **unused)
{
    assert_int_equal(unsetenv(ENV_NAME), 0);
    vgpu_log_init("unit", ENV_NAME, VGPU_LOG_INFO);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_INFO);

    /* An unreadable value warns on stderr and falls back to the default. */
    assert_int_equal(setenv(ENV_NAME, "loud", 1), 0);
    vgpu_log_init("unit", ENV_NAME, VGPU_LOG_ERROR);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_ERROR);

    assert_int_equal(setenv(ENV_NAME, "", 1), 0);
    vgpu_log_init("unit", ENV_NAME, VGPU_LOG_DEBUG);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_DEBUG);
    unsetenv(ENV_NAME);
}

static void test_set_level(void **unused)
{
    vgpu_log_set_level(VGPU_LOG_INFO);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_INFO);
    vgpu_log_set_level(VGPU_LOG_ERROR);
    assert_int_equal(vgpu_log_get_level(), VGPU_LOG_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_names_any_case),
        cmocka_unit_test(test_warning_alias),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_invalid_rejected),
        cmocka_unit_test(test_init_reads_environment),
        cmocka_unit_test(test_init_keeps_default_when_unset_or_invalid),
        cmocka_unit_test(test_set_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
