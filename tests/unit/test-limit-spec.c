/* Unit tests for the limit grammar of src/common/limit_spec.c, which
 * vgpu-run uses to check --memory and --soft-memory and libvgpu.so to read
 * VGPU_MEMORY_LIMIT and VGPU_MEMORY_SOFT_LIMIT. Exact byte values are checked, each error
 * must name the part of the string at fault, and a failed parse must leave
 * the caller's result untouched. A per-device size must be read exactly as
 * a bare size is (both go through vgpu_parse_size). */
#include "common.h"
#include "limit_spec.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct vgpu_limits parse_ok(const char *s)
{
    struct vgpu_limits lim;
    char err[256] = "unchanged";
    int rc = vgpu_limits_parse(s, &lim, err, sizeof(err));

    if (rc != 0)
        fail_msg("vgpu_limits_parse(\"%s\") = %d (%s); want 0", s, rc, err);
    assert_string_equal(err, "");
    assert_int_equal(vgpu_limits_parse(s, NULL, err, sizeof(err)), 0);
    return lim;
}

static void test_single_size(void **unused)
{
    static const struct {
        const char *s;
        uint64_t want;
    } cases[] = {
        {"8GiB", 8 * GiB}, {"512MiB", 512 * MiB}, {"1.5g", 3 * GiB / 2}, {"4GB", 4000000000ULL},
        {"1", 1},          {"80gib", 80 * GiB},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vgpu_limits lim = parse_ok(cases[i].s);
        assert_int_equal(lim.given, 0);
        if (lim.all != cases[i].want)
            fail_msg("\"%s\": %" PRIu64 " bytes, want %" PRIu64, cases[i].s, lim.all,
                     cases[i].want);
    }
}

static void test_per_device(void **unused)
{
    struct vgpu_limits lim = parse_ok("0:8GiB,1:4GiB");
    assert_int_equal(lim.all, 0);
    assert_int_equal(lim.given, 0x3);
    assert_int_equal(lim.dev[0], 8 * GiB);
    assert_int_equal(lim.dev[1], 4 * GiB);

    lim = parse_ok("63:1k,10:2k,0:3k");
    assert_int_equal(lim.given, (1ULL << 63) | (1ULL << 10) | 1ULL);
    assert_int_equal(lim.dev[63], KiB);
    assert_int_equal(lim.dev[10], 2 * KiB);
    assert_int_equal(lim.dev[0], 3 * KiB);

    /* A default for every device not listed, in any position. */
    lim = parse_ok("8GiB,1:4GiB");
    assert_int_equal(lim.all, 8 * GiB);
    assert_int_equal(lim.given, 0x2);
    assert_int_equal(lim.dev[1], 4 * GiB);
    lim = parse_ok("0:1GiB,2GiB,5:3GiB");
    assert_int_equal(lim.all, 2 * GiB);
    assert_int_equal(lim.given, 0x21);
    assert_int_equal(lim.dev[0], GiB);
    assert_int_equal(lim.dev[5], 3 * GiB);

    lim = parse_ok("7:1.5GiB");
    assert_int_equal(lim.all, 0);
    assert_int_equal(lim.given, 1ULL << 7);
    assert_int_equal(lim.dev[7], 3 * GiB / 2);
    for (int i = 0; i < VGPU_MAX_DEVICES; i++)
        if (i != 7)
            assert_int_equal(lim.dev[i], 0);
}

/* Each bad string, the errno it gets and a piece of the message. */
static void test_errors_name_the_fault(void **unused)
{
    static const struct {
        const char *s;
        int rc;
        const char *msg;
    } cases[] = {
        {"", -EINVAL, "empty"},
        {"8XB", -EINVAL, "'8XB' is not a size"},
        {"0", -EINVAL, "0 bytes"},
        {" 8GiB", -EINVAL, "' 8GiB' is not a size"},
        {"8GiB ", -EINVAL, "is not a size"},
        {"-1GiB", -EINVAL, "not a size"},
        {"99999999999TiB", -ERANGE, "too large"},
        {"8GiB,4GiB", -EINVAL, "more than one limit for every device ('4GiB')"},
        {"1:1g,8GiB,2:1g,4GiB", -EINVAL, "more than one limit for every device ('4GiB')"},
        {"0:8GiB,", -EINVAL, "'0:8GiB,' has an empty item"},
        {",0:8GiB", -EINVAL, "empty item"},
        {"0:8GiB,,1:1GiB", -EINVAL, "empty item"},
        {",", -EINVAL, "empty item"},
        {"0:8GiB,0:4GiB", -EINVAL, "device 0 is given twice"},
        {"3:1g,2:1g,3:2g", -EINVAL, "device 3 is given twice"},
        {"64:1GiB", -ERANGE, "device index 64 is out of range"},
        {"99999999999999999999:1g", -ERANGE, "out of range"},
        {"01:1GiB", -EINVAL, "'01' is not a device index"},
        {"-1:1GiB", -EINVAL, "'-1' is not a device index"},
        {"a:1GiB", -EINVAL, "'a' is not a device index"},
        {" 1:1GiB", -EINVAL, "is not a device index"},
        {":1GiB", -EINVAL, "item ':1GiB' has no device index"},
        {"1:", -EINVAL, "device 1: no size after ':'"},
        {"1:,2:1g", -EINVAL, "device 1: no size after ':'"},
        {"1:0", -EINVAL, "device 1: a limit of 0 bytes"},
        {"1:8XB", -EINVAL, "device 1: '8XB' is not a size"},
        {"1:1:1g", -EINVAL, "device 1: '1:1g' is not a size"},
        {"2:99999999999TiB", -ERANGE, "device 2: '99999999999TiB' is too large"},
        {"0:1111111111111111111111111111111111111111111111111111111111111111111", -EINVAL,
         "device 0: size '1111111111111111...' is too long"},
        {"1111111111111111111111111111111111111111111111111111111111111111111", -EINVAL,
         "too long"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vgpu_limits lim;
        char err[256] = "";
        int rc;

        memset(&lim, 0xa5, sizeof(lim));
        rc = vgpu_limits_parse(cases[i].s, &lim, err, sizeof(err));
        if (rc != cases[i].rc || !strstr(err, cases[i].msg))
            fail_msg("\"%s\": %d \"%s\"; want %d and a message with \"%s\"", cases[i].s, rc, err,
                     cases[i].rc, cases[i].msg);
        for (size_t b = 0; b < sizeof(lim); b++)
            if (((unsigned char *)&lim)[b] != 0xa5)
                fail_msg("\"%s\": a failed parse changed the result", cases[i].s);
        assert_int_equal(vgpu_limits_parse(cases[i].s, NULL, NULL, 0), cases[i].rc);
    }
    assert_int_equal(vgpu_limits_parse(NULL, NULL, NULL, 0), -EINVAL);
}

/* A message longer than the buffer is cut, still terminated. */
static void test_short_error_buffer(void **unused)
{
    char err[8];
    memset(err, '#', sizeof(err));
    assert_int_equal(vgpu_limits_parse("0:1g,0:1g", NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(strlen(err), sizeof(err) - 1);
}

/* A size inside "N:SIZE" is read exactly as the same size alone, and as
 * vgpu_parse_size reads it. */
static void test_per_device_sizes_match_bare_sizes(void **unused)
{
    static const char *const sizes[] = {
        "1",
        "17B",
        "1k",
        "1KiB",
        "2m",
        "2MiB",
        "8g",
        "8GiB",
        "3t",
        "3TiB",
        "1KB",
        "5MB",
        "4GB",
        "2TB",
        "1.5g",
        "0.5GiB",
        "1.25MiB",
        "007",
        "8gIb",
        "16777216TiB",
        "16777215TiB",
        "0",
        "x",
        "1.",
        ".5g",
        "1e9",
        "8 GiB",
        "8GiBs",
        "+1g",
        "0x10",
        "1.0000001",
        "18446744073709551615",
        "18446744073709551616",
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct vgpu_limits bare, dev;
        char entry[128];
        uint64_t ref = 0;
        int ref_rc = vgpu_parse_size(sizes[i], &ref);
        int rc_bare = vgpu_limits_parse(sizes[i], &bare, NULL, 0);
        int rc_dev;

        snprintf(entry, sizeof(entry), "5:%s", sizes[i]);
        rc_dev = vgpu_limits_parse(entry, &dev, NULL, 0);
        if (ref_rc == 0 && ref == 0)
            ref_rc = -EINVAL; /* a zero limit is refused on purpose */
        if (rc_bare != ref_rc || rc_dev != ref_rc)
            fail_msg("\"%s\": bare %d, per device %d, vgpu_parse_size %d", sizes[i], rc_bare,
                     rc_dev, ref_rc);
        if (ref_rc == 0 && (bare.all != ref || dev.dev[5] != ref))
            fail_msg("\"%s\": bare %" PRIu64 ", per device %" PRIu64 ", want %" PRIu64, sizes[i],
                     bare.all, dev.dev[5], ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_size),
        cmocka_unit_test(test_per_device),
        cmocka_unit_test(test_errors_name_the_fault),
        cmocka_unit_test(test_short_error_buffer),
        cmocka_unit_test(test_per_device_sizes_match_bare_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
