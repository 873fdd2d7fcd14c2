/* Unit tests for vgpu_strlcpy (src/common/util.c), the one bounded string
 * copy every component uses for names, UUIDs and paths: it always
 * terminates, never writes past `len`, and returns the source length so a
 * caller can tell that a copy was cut short. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_fits(void **unused)
{
    char buf[8];
    assert_int_equal(vgpu_strlcpy(buf, "H100", sizeof(buf)), 4);
    assert_string_equal(buf, "H100");
    assert_int_equal(vgpu_strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

static void test_exact_fit(void **unused)
{
    char buf[5];
    assert_int_equal(vgpu_strlcpy(buf, "A100", sizeof(buf)), 4);
    assert_string_equal(buf, "A100");
}

static void test_truncates_and_reports_length(void **unused)
{
    char buf[8 + 4];
    memset(buf, '#', sizeof(buf));
    size_t n = vgpu_strlcpy(buf, "NVIDIA H100 80GB HBM3", 8);
    assert_int_equal(n, strlen("NVIDIA H100 80GB HBM3"));
    assert_true(n >= 8); /* how a caller detects truncation */
    assert_string_equal(buf, "NVIDIA ");
    for (size_t i = 8; i < sizeof(buf); i++)
        assert_int_equal(buf[i], '#');
}

static void test_zero_length_writes_nothing(void **unused)
{
    char buf[4] = "abc";
    assert_int_equal(vgpu_strlcpy(buf, "xyz", 0), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(vgpu_strlcpy(buf, "xyz", 1), 3);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_exact_fit),
        cmocka_unit_test(test_truncates_and_reports_length),
        cmocka_unit_test(test_zero_length_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
