/* Unit tests for vgpu_visible_devices (src/device/visible.c): the
 * CUDA_VISIBLE_DEVICES rules. Each case gives a value and the exact list of
 * indices it must select from a fixed table of five UUIDs, two of which
 * share their first hex digits ("GPU-1a2b") and one MIG instance whose hex
 * part repeats a GPU's, so that prefixes can be unique, ambiguous, or unique
 * only once the "GPU-"/"MIG-" tag is counted. Slots past the returned count
 * must be left as they were. */
#include "device.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NUUID 5
#define UNTOUCHED (-7)

static const char *const uuids[NUUID] = {
    "GPU-1a2b3c4d-0000-1111-2222-333344445555", /* 0 */
    "GPU-1a2b9999-aaaa-bbbb-cccc-ddddeeeeffff", /* 1: shares "GPU-1a2b" with 0 */
    "GPU-7f000000-1234-5678-9abc-def012345678", /* 2 */
    "MIG-1a2b3c4d-0000-1111-2222-333344445555", /* 3: 0's hex, as a MIG UUID */
    "MIG-c0ffee00-0bad-f00d-0000-000000000001", /* 4 */
};

/* Checks that `value` selects exactly want[0..nwant) out of all five UUIDs. */
static void expect(const char *value, const int *want, int nwant)
{
    int out[NUUID + 2];
    for (int i = 0; i < NUUID + 2; i++)
        out[i] = UNTOUCHED;
    int n = vgpu_visible_devices(value, uuids, NUUID, out, NUUID + 2);
    if (n != nwant)
        fail_msg("\"%s\": %d devices, want %d", value, n, nwant);
    for (int i = 0; i < nwant; i++)
        if (out[i] != want[i])
            fail_msg("\"%s\": device %d is %d, want %d", value, i, out[i], want[i]);
    for (int i = nwant; i < NUUID + 2; i++)
        if (out[i] != UNTOUCHED)
            fail_msg("\"%s\": slot %d written past the count", value, i);
}

#define EXPECT(value, ...)                                                                         \
    do {                                                                                           \
        const int want_[] = {__VA_ARGS__};                                                         \
        expect((value), want_, (int)(sizeof(want_) / sizeof(want_[0])));                           \
    } while (0)
#define EXPECT_NONE(value) expect((value), NULL, 0)

static void test_bad_arguments(void **unused)
{
    int out[4];
    assert_int_equal(vgpu_visible_devices(NULL, uuids, NUUID, out, 4), -EINVAL);
    assert_int_equal(vgpu_visible_devices("0", uuids, -1, out, 4), -EINVAL);
    assert_int_equal(vgpu_visible_devices("0", NULL, 1, out, 4), -EINVAL);
    assert_int_equal(vgpu_visible_devices("0", uuids, NUUID, NULL, 4), -EINVAL);
    assert_int_equal(vgpu_visible_devices("0", uuids, NUUID, out, -1), -EINVAL);
    /* Nothing to match against, or nowhere to write: nothing selected. */
    assert_int_equal(vgpu_visible_devices("0", NULL, 0, out, 4), 0);
    assert_int_equal(vgpu_visible_devices("0", uuids, NUUID, NULL, 0), 0);
}

static void test_empty(void **unused)
{
    EXPECT_NONE("");
    EXPECT_NONE(" ");
    EXPECT_NONE("   ");
    EXPECT_NONE(",");
    EXPECT_NONE(",0");
}

static void test_indices(void **unused)
{
    EXPECT("0", 0);
    EXPECT("4", 4);
    EXPECT("2,0", 2, 0);
    EXPECT("4,3,2,1,0", 4, 3, 2, 1, 0);
    EXPECT("01", 1);
    EXPECT("0000000000000000000000003", 3);
    EXPECT("0,", 0); /* the empty entry after the comma ends the list */
}

static void test_spaces(void **unused)
{
    EXPECT(" 1", 1);
    EXPECT("1 ", 1);
    EXPECT(" 1 , 0 ", 1, 0);
    EXPECT("1,   2", 1, 2);
    EXPECT("1, 2 ,3", 1, 2, 3);
    /* A space inside an entry, or any other blank, is part of the entry. */
    EXPECT_NONE("1 2");
    EXPECT("0,1 2,3", 0);
    EXPECT_NONE("\t1");
    EXPECT_NONE("1\n");
}

static void test_index_out_of_range(void **unused)
{
    EXPECT_NONE("5");
    EXPECT("0,5,1", 0);
    EXPECT("1,99999999999999999999999999,2", 1);
    EXPECT_NONE("2147483647");
    EXPECT_NONE("2147483648");
    EXPECT_NONE("4294967296"); /* 2^32: would be 0 if it wrapped */
    EXPECT_NONE("18446744073709551616");
}

static void test_not_an_index(void **unused)
{
    EXPECT_NONE("-1"); /* the usual way to hide every GPU */
    EXPECT_NONE("+1");
    EXPECT_NONE("1x");
    EXPECT_NONE("0x1");
    EXPECT_NONE("1.0");
    EXPECT_NONE("one");
    EXPECT("2,-1,0", 2);
    EXPECT("3,junk,1", 3);
    EXPECT("3,,1", 3);
}

static void test_duplicates(void **unused)
{
    EXPECT("0,1,0,2", 0, 1);
    EXPECT("1,1", 1);
    /* The same device by index and by UUID is still a duplicate. */
    EXPECT("2,GPU-7f000000-1234-5678-9abc-def012345678,0", 2);
    EXPECT("MIG-c0ff,4,1", 4);
}

static void test_full_uuid(void **unused)
{
    for (int i = 0; i < NUUID; i++)
        EXPECT(uuids[i], i);
    EXPECT("MIG-1a2b3c4d-0000-1111-2222-333344445555,GPU-1a2b3c4d-0000-1111-2222-333344445555", 3,
           0);
    /* Any case, tag included. */
    EXPECT("gpu-7F000000-1234-5678-9ABC-DEF012345678", 2);
    EXPECT("mig-C0FFEE00-0BAD-F00D-0000-000000000001", 4);
    /* One character too many is no UUID of the table. */
    EXPECT_NONE("GPU-7f000000-1234-5678-9abc-def0123456780");
    EXPECT("1,GPU-7f000000-1234-5678-9abc-def0123456789,0", 1);
}

static void test_prefix(void **unused)
{
    EXPECT("GPU-7", 2); /* the shortest prefix allowed */
    EXPECT("MIG-c", 4);
    EXPECT("GPU-1a2b3", 0);
    EXPECT("GPU-1a2b9", 1);
    EXPECT("MIG-1", 3); /* "1a2b..." is ambiguous among GPUs, unique among MIGs */
    EXPECT("GPU-1a2b3c4d-00", 0);
    EXPECT("GPU-7,MIG-c,GPU-1a2b9", 2, 4, 1);
}

static void test_bad_prefix(void **unused)
{
    EXPECT_NONE("GPU-1");    /* ambiguous: 0 and 1 */
    EXPECT_NONE("GPU-1a2b"); /* still ambiguous */
    EXPECT("2,GPU-1a2b,0", 2);
    EXPECT_NONE("GPU-"); /* too short */
    EXPECT_NONE("GPU");
    EXPECT_NONE("G");
    EXPECT_NONE("MIG-");
    EXPECT_NONE("GPU-9");    /* no such UUID */
    EXPECT_NONE("MIG-7f00"); /* 2's hex, but 2 is a GPU */
    /* A UUID without its tag, or with another tag, is not looked up. */
    EXPECT_NONE("7f000000-1234-5678-9abc-def012345678");
    EXPECT_NONE("7f000000");
    EXPECT_NONE("UUID-7f000000");
    EXPECT_NONE("GPU7f000000");
}

/* With two identical UUIDs, or one that is a prefix of another, an exact
 * match picks the first equal entry. */
static void test_exact_wins(void **unused)
{
    static const char *const odd[] = {"GPU-abcdef", "GPU-abcde", "GPU-abcde"};
    int out[3];
    assert_int_equal(vgpu_visible_devices("GPU-abcde", odd, 3, out, 3), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(vgpu_visible_devices("GPU-abcd", odd, 3, out, 3), 0);
    assert_int_equal(vgpu_visible_devices("GPU-abcdef", odd, 3, out, 3), 1);
    assert_int_equal(out[0], 0);
}

static void test_max(void **unused)
{
    int out[3] = {UNTOUCHED, UNTOUCHED, UNTOUCHED};
    assert_int_equal(vgpu_visible_devices("0,1,2,3", uuids, NUUID, out, 2), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], UNTOUCHED);
    assert_int_equal(vgpu_visible_devices("4", uuids, NUUID, out, 0), 0);
    assert_int_equal(out[0], 0);
}

static void test_fewer_devices(void **unused)
{
    int out[4];
    /* The same value against a shorter table: indices past it match nothing. */
    assert_int_equal(vgpu_visible_devices("1,0,2", uuids, 2, out, 4), 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(vgpu_visible_devices("MIG-c", uuids, 4, out, 4), 0);
    assert_int_equal(vgpu_visible_devices("0", uuids, 0, out, 4), 0);
    /* A missing UUID in the table is skipped, not read; its index still
     * counts. */
    static const char *const holes[] = {NULL, "GPU-7f00", NULL};
    assert_int_equal(vgpu_visible_devices("GPU-7,2,0,1", holes, 3, out, 4), 3);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_indices),
        cmocka_unit_test(test_spaces),
        cmocka_unit_test(test_index_out_of_range),
        cmocka_unit_test(test_not_an_index),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_full_uuid),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_bad_prefix),
        cmocka_unit_test(test_exact_wins),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_fewer_devices),
    };
    return cmocka_run_group_tests_name("unit.visible", tests, NULL, NULL);
}
