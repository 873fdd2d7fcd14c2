/* Unit tests for the size strings of src/common/size.c: vgpu_parse_size reads
 * what people write in VGPU_MEMORY_LIMIT and SIMGPU_DEVICES ("8GiB", "1.5g",
 * "4GB"), vgpu_format_size writes what vgpud and the tools print. The exact
 * byte values matter: a limit one byte off lets a process allocate past its
 * share, so every case below checks the exact number, not a range. */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

static void expect_size(const char *s, uint64_t want)
{
    uint64_t got = 0;
    int rc = vgpu_parse_size(s, &got);
    if (rc != 0 || got != want)
        fail_msg("vgpu_parse_size(\"%s\") = %d, %" PRIu64 "; want 0, %" PRIu64, s, rc, got, want);
}

static void expect_error(const char *s, int want_rc)
{
    uint64_t got = 0;
    int rc = vgpu_parse_size(s, &got);
    if (rc != want_rc)
        fail_msg("vgpu_parse_size(\"%s\") = %d (value %" PRIu64 "); want %d", s ? s : "(null)", rc,
                 got, want_rc);
}

/* Operation counts (rates and bursts) as vgpu-admin, vgpu-run and the
 * environment spell them. */
static void test_operation_counts(void **unused)
{
    static const struct {
        const char *s;
        bool per_second;
        int rc;
        uint32_t v;
    } cases[] = {
        {"0", false, 0, 0},
        {"1000", false, 0, 1000},
        {"2147483647", false, 0, 2147483647u},
        {"0002147483647", false, 0, 2147483647u},
        {"1000/s", true, 0, 1000},
        {"1000", true, 0, 1000},
        {"2147483647/s", true, 0, 2147483647u},
        {"2147483648", false, -EINVAL, 0},
        {"99999999999999999999", false, -EINVAL, 0},
        {"1000/s", false, -EINVAL, 0},
        {"/s", true, -EINVAL, 0},
        {"", false, -EINVAL, 0},
        {"-5", false, -EINVAL, 0},
        {"+5", false, -EINVAL, 0},
        {" 5", false, -EINVAL, 0},
        {"5 ", false, -EINVAL, 0},
        {"10/min", true, -EINVAL, 0},
        {"10/s/s", true, -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t v = 12345;
        int rc = vgpu_parse_ops(cases[i].s, cases[i].per_second, &v);
        if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
            fail_msg("vgpu_parse_ops(\"%s\", %d) = %d, %u; want %d, %u", cases[i].s,
                     cases[i].per_second, rc, v, cases[i].rc, cases[i].v);
        if (rc != 0)
            assert_int_equal(v, 12345); /* untouched on error */
    }
}

static void test_plain_bytes(void **unused)
{
    expect_size("0", 0);
    expect_size("17", 17);
    expect_size("17B", 17);
    expect_size("17b", 17);
    expect_size("007", 7);
    expect_size("1073741824", GiB);
}

static void test_binary_units_any_case(void **unused)
{
    static const struct {
        const char *s;
        uint64_t want;
    } cases[] = {
        {"1k", KiB},       {"1K", KiB},       {"1KiB", KiB},         {"1kib", KiB},
        {"1KIB", KiB},     {"2m", 2 * MiB},   {"2M", 2 * MiB},       {"2MiB", 2 * MiB},
        {"2mib", 2 * MiB}, {"8g", 8 * GiB},   {"8G", 8 * GiB},       {"8GiB", 8 * GiB},
        {"8gib", 8 * GiB}, {"8gIb", 8 * GiB}, {"3t", 3 * TiB},       {"3T", 3 * TiB},
        {"3TiB", 3 * TiB}, {"3tib", 3 * TiB}, {"512MiB", 512 * MiB}, {"80GiB", 80 * GiB},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_size(cases[i].s, cases[i].want);
}

static void test_decimal_units_any_case(void **unused)
{
    expect_size("1KB", 1000);
    expect_size("1kb", 1000);
    expect_size("5MB", 5000000);
    expect_size("5mB", 5000000);
    expect_size("4GB", 4000000000ULL);
    expect_size("4gb", 4000000000ULL);
    expect_size("2TB", 2000000000000ULL);
    expect_size("2Tb", 2000000000000ULL);
}

/* Fractions are exact integer arithmetic, rounded down to whole bytes. */
static void test_fractions_exact(void **unused)
{
    expect_size("1.5GiB", 1610612736ULL);
    expect_size("1.5g", 1610612736ULL);
    expect_size("0.5k", 512);
    expect_size("2.25MiB", 2359296);
    expect_size("0.1KiB", 102); /* 102.4 */
    expect_size("0.001KB", 1);
    expect_size("1.5", 1); /* bytes: 1.5 rounds down */
    expect_size("1.5B", 1);
    expect_size("0.0GiB", 0);
    expect_size("1.000000000000000000001GiB", GiB);
    /* More than 18 fraction digits are read and ignored, never rounded up. */
    expect_size("1.99999999999999999999999KiB", 2 * KiB - 1);
    expect_size("0.3333333333TiB", 366503875888ULL); /* floor(0.3333333333 * 2^40) */
}

static void test_range_boundaries(void **unused)
{
    expect_size("18446744073709551615", UINT64_MAX); /* 16 EiB - 1 */
    expect_error("18446744073709551616", -ERANGE);
    expect_error("99999999999999999999999", -ERANGE);
    expect_size("16777215TiB", 16777215ULL * TiB);
    expect_error("16777216TiB", -ERANGE); /* exactly 2^64 */
    expect_error("17179869184GiB", -ERANGE);
    expect_size("17179869183.999999999GiB", 17179869183ULL * GiB + 1073741822ULL);
    /* The fraction can be what overflows: 18446744073709551 KB leaves 615 bytes. */
    expect_size("18446744073709551.615KB", UINT64_MAX);
    expect_error("18446744073709551.616KB", -ERANGE);
}

/* Malformed is -EINVAL even when the digits alone would not fit 64 bits. */
static void test_malformed(void **unused)
{
    static const char *const bad[] = {
        "",       "GiB",
        "B",      "1.",
        ".5",     "-1",
        "+1",     " 1",
        "1 ",     "1 GiB",
        "1GiBx",  "1e3",
        "1.5.5",  "1,5GiB",
        "1KiBB",  "1kk",
        "0x10",   "1Gi",
        "1iB",    "1PiB",
        "1EiB",   "1..5",
        "GiB1",   "1\tGiB",
        "1GiB\n", "99999999999999999999x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], -EINVAL);
    expect_error(NULL, -EINVAL);
    uint64_t v;
    assert_int_equal(vgpu_parse_size(NULL, &v), -EINVAL);
    assert_int_equal(vgpu_parse_size("1GiB", NULL), -EINVAL);
}

static void expect_format(uint64_t bytes, const char *want)
{
    char buf[32];
    const char *got = vgpu_format_size(bytes, buf, sizeof(buf));
    assert_ptr_equal(got, buf);
    if (strcmp(got, want) != 0)
        fail_msg("vgpu_format_size(%" PRIu64 ") = \"%s\"; want \"%s\"", bytes, got, want);
}

static void test_format(void **unused)
{
    expect_format(8 * GiB, "8 GiB");
    expect_format(300 * MiB, "300 MiB");
    expect_format(1610612736ULL, "1.50 GiB");
    expect_format(17, "17 B");
    expect_format(0, "0 B");
    expect_format(1023, "1023 B");
    expect_format(KiB, "1 KiB");
    expect_format(1536, "1.50 KiB");
    expect_format(3 * TiB, "3 TiB");
    expect_format(1024 * TiB, "1 PiB");
    expect_format(UINT64_MAX, "16.00 EiB");
}

static void test_format_truncates_safely(void **unused)
{
    char buf[6];
    memset(buf, 'x', sizeof(buf));
    vgpu_format_size(1610612736ULL, buf, sizeof(buf));
    assert_string_equal(buf, "1.50 ");
}

/* What the parser accepts, the formatter prints back as the same number. */
static void test_format_of_parsed(void **unused)
{
    char buf[32];
    uint64_t v;
    assert_int_equal(vgpu_parse_size("80GiB", &v), 0);
    assert_string_equal(vgpu_format_size(v, buf, sizeof(buf)), "80 GiB");
    assert_int_equal(vgpu_parse_size("2.5t", &v), 0);
    assert_string_equal(vgpu_format_size(v, buf, sizeof(buf)), "2.50 TiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_bytes),
        cmocka_unit_test(test_binary_units_any_case),
        cmocka_unit_test(test_decimal_units_any_case),
        cmocka_unit_test(test_fractions_exact),
        cmocka_unit_test(test_range_boundaries),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_truncates_safely),
        cmocka_unit_test(test_format_of_parsed),
        cmocka_unit_test(test_operation_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
