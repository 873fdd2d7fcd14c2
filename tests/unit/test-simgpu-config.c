/* Unit tests for SIMGPU_DEVICES parsing (src/simgpu/config.c): the device
 * table every simulated-driver test is built on. Checked: what each model
 * and size turns into, the order (physical GPUs first, MIG instances after
 * all of them), stable and distinct UUIDs, PCI bus ids that sort as the
 * list does, MIG instance figures, and that every class of bad spec is
 * refused with -EINVAL and a message that names the bad part. */
#include "common.h"
#include "state.h"

#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define GiB (1ULL << 30)

/* struct simgpu_state is about 1.7 MB: one per test, on the heap. */
static int setup(void **state)
{
    *state = calloc(1, sizeof(struct simgpu_state));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static char err[256];

static int parse(struct simgpu_state *st, const char *spec)
{
    memset(err, 0, sizeof(err));
    return simgpu_config_parse(st, spec, err, sizeof(err));
}

static void expect_ok(struct simgpu_state *st, const char *spec)
{
    int rc = parse(st, spec);
    if (rc != 0)
        fail_msg("simgpu_config_parse(\"%s\") = %d (%s); want 0", spec, rc, err);
}

/* The spec is refused with -EINVAL and the message contains `part`. */
static void expect_refused(struct simgpu_state *st, const char *spec, const char *part)
{
    int rc = parse(st, spec);
    if (rc != -EINVAL)
        fail_msg("simgpu_config_parse(\"%s\") = %d; want -EINVAL", spec, rc);
    if (!strstr(err, part))
        fail_msg("simgpu_config_parse(\"%s\"): message \"%s\" does not name \"%s\"", spec, err,
                 part);
}

/* "GPU-" or "MIG-" then 8-4-4-4-12 lower-case hex digits matching uuid_bytes. */
static void check_uuid(const struct simgpu_gpu *g, const char *prefix)
{
    char hex[33];
    size_t k = 0;
    assert_int_equal(strncmp(g->uuid, prefix, 4), 0);
    assert_int_equal(strlen(g->uuid), 40);
    for (size_t i = 4; i < 40; i++) {
        if (i == 12 || i == 17 || i == 22 || i == 27) {
            assert_int_equal(g->uuid[i], '-');
            continue;
        }
        assert_true(isxdigit((unsigned char)g->uuid[i]) && !isupper((unsigned char)g->uuid[i]));
        hex[k++] = g->uuid[i];
    }
    hex[k] = '\0';
    char want[33];
    for (int i = 0; i < 16; i++)
        snprintf(want + 2 * i, 3, "%02x", g->uuid_bytes[i]);
    assert_string_equal(hex, want);
}

static void test_single_gpu(void **state)
{
    struct simgpu_state *st = *state;
    expect_ok(st, "H100:80GiB");
    assert_int_equal(st->ngpus, 1);
    const struct simgpu_gpu *g = &st->gpu[0];
    assert_string_equal(g->model, "H100");
    assert_string_equal(g->name, "NVIDIA H100 (simgpu)");
    assert_int_equal(g->mem_total, 80 * GiB);
    assert_int_equal(g->sm_count, 132);
    assert_int_equal(g->cc_major, 9);
    assert_int_equal(g->cc_minor, 0);
    assert_int_equal(g->parent, -1);
    assert_int_equal(g->mig_enabled, 0);
    assert_int_equal(g->mig_count, 0);
    assert_int_equal(g->mig_first, -1);
    assert_int_equal(g->nvml_index, 0);
    assert_string_equal(g->pci_bus_id, "00000000:18:00.0");
    check_uuid(g, "GPU-");
}

static void test_several_gpus_in_order(void **state)
{
    struct simgpu_state *st = *state;
    expect_ok(st, "H100:80GiB,A100:40GiB,L4:24GiB,T4:16000MB");
    assert_int_equal(st->ngpus, 4);
    static const struct {
        const char *model;
        uint64_t mem;
        int sms, ccmaj, ccmin;
    } want[] = {
        {"H100", 80 * GiB, 132, 9, 0},
        {"A100", 40 * GiB, 108, 8, 0},
        {"L4", 24 * GiB, 58, 8, 9},
        {"T4", 16000000000ULL, 40, 7, 5},
    };
    for (int i = 0; i < 4; i++) {
        const struct simgpu_gpu *g = &st->gpu[i];
        assert_string_equal(g->model, want[i].model);
        assert_int_equal(g->mem_total, want[i].mem);
        assert_int_equal(g->sm_count, want[i].sms);
        assert_int_equal(g->cc_major, want[i].ccmaj);
        assert_int_equal(g->cc_minor, want[i].ccmin);
        assert_int_equal(g->nvml_index, i);
        assert_int_equal(g->parent, -1);
        check_uuid(g, "GPU-");
        if (i > 0)
            assert_true(strcmp(g->pci_bus_id, st->gpu[i - 1].pci_bus_id) > 0);
    }
}

static void test_model_names(void **state)
{
    struct simgpu_state *st = *state;
    /* Known models in any case; unknown ones get generic figures. */
    expect_ok(st, "h100:80g,Zorro9:1GiB");
    assert_int_equal(st->gpu[0].sm_count, 132);
    assert_string_equal(st->gpu[1].model, "Zorro9");
    assert_string_equal(st->gpu[1].name, "NVIDIA Zorro9 (simgpu)");
    assert_int_equal(st->gpu[1].sm_count, 80);
    assert_int_equal(st->gpu[1].cc_major, 8);
    assert_int_equal(st->gpu[1].cc_minor, 0);
}

/* NVML orders devices by PCI bus id, as a string and as a number: both must
 * follow the list, up to the largest table accepted. */
static void list_of_l4(char *spec, int count)
{
    spec[0] = '\0';
    for (int i = 0; i < count; i++)
        strcat(spec, i ? ",L4:1GiB" : "L4:1GiB");
}

static void test_pci_bus_ids_follow_the_list(void **state)
{
    struct simgpu_state *st = *state;
    char spec[SIMGPU_CONFIG_MAX];
    int n = 1;

    /* The largest number of physical GPUs the parser accepts. */
    for (; n < SIMGPU_MAX_GPUS; n++) {
        list_of_l4(spec, n + 1);
        if (parse(st, spec) != 0)
            break;
    }
    assert_true(n >= 8);
    list_of_l4(spec, n);
    expect_ok(st, spec);
    assert_int_equal(st->ngpus, n);
    for (int i = 0; i < n; i++) {
        const struct simgpu_gpu *g = &st->gpu[i];
        char want[24];
        if (g->pci_bus > 0xff)
            fail_msg("GPU %d of %d: PCI bus 0x%x does not fit 8 bits", i, n, g->pci_bus);
        snprintf(want, sizeof(want), "00000000:%02X:00.0", g->pci_bus);
        assert_string_equal(g->pci_bus_id, want);
        if (i > 0) {
            assert_true(g->pci_bus > st->gpu[i - 1].pci_bus);
            assert_true(strcmp(g->pci_bus_id, st->gpu[i - 1].pci_bus_id) > 0);
        }
    }
}

static void test_uuids_stable_and_distinct(void **state)
{
    struct simgpu_state *st = *state;
    struct simgpu_state *again = calloc(1, sizeof(*again));
    const char *spec = "H100:80GiB,H100:80GiB,A100:40GiB:mig=3g.20gb+3g.20gb";
    assert_non_null(again);
    expect_ok(st, spec);
    expect_ok(again, spec);
    assert_int_equal(st->ngpus, 5);
    assert_int_equal(again->ngpus, st->ngpus);
    for (uint32_t i = 0; i < st->ngpus; i++) {
        assert_string_equal(st->gpu[i].uuid, again->gpu[i].uuid);
        assert_memory_equal(st->gpu[i].uuid_bytes, again->gpu[i].uuid_bytes, 16);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(st->gpu[i].uuid, st->gpu[j].uuid) == 0)
                fail_msg("devices %u and %u share UUID %s", j, i, st->gpu[i].uuid);
    }
    free(again);
}

/* Parsing again into the same state replaces the table. */
static void test_reparse_replaces_table(void **state)
{
    struct simgpu_state *st = *state;
    expect_ok(st, "A100:40GiB:mig=7g.40gb,H100:80GiB");
    assert_int_equal(st->ngpus, 3);
    expect_ok(st, "L4:24GiB");
    assert_int_equal(st->ngpus, 1);
    assert_string_equal(st->gpu[0].model, "L4");
    assert_int_equal(st->gpu[0].mig_enabled, 0);
    assert_int_equal(st->gpu[0].mig_count, 0);
}

static void test_mig_instances(void **state)
{
    struct simgpu_state *st = *state;
    expect_ok(st, "H100:80GiB,A100:40GiB:mig=3g.20gb+2g.10gb+1g.5gb");
    assert_int_equal(st->ngpus, 5);

    const struct simgpu_gpu *h100 = &st->gpu[0], *a100 = &st->gpu[1];
    assert_int_equal(h100->mig_enabled, 0);
    assert_int_equal(a100->mig_enabled, 1);
    assert_int_equal(a100->mig_first, 2);
    assert_int_equal(a100->mig_count, 3);
    assert_int_equal(a100->mem_total, 40 * GiB);

    static const struct {
        int slices;
        uint64_t mem;
        int sms;
        const char *name;
    } want[] = {
        {3, 20 * GiB, 108 * 3 / 7, "NVIDIA A100 (simgpu) MIG 3g.20gb"},
        {2, 10 * GiB, 108 * 2 / 7, "NVIDIA A100 (simgpu) MIG 2g.10gb"},
        {1, 5 * GiB, 108 * 1 / 7, "NVIDIA A100 (simgpu) MIG 1g.5gb"},
    };
    for (int k = 0; k < 3; k++) {
        const struct simgpu_gpu *m = &st->gpu[2 + k];
        assert_int_equal(m->parent, 1);
        assert_int_equal(m->mig_slices, want[k].slices);
        assert_int_equal(m->mem_total, want[k].mem);
        assert_int_equal(m->sm_count, want[k].sms);
        assert_string_equal(m->name, want[k].name);
        assert_string_equal(m->model, "A100");
        assert_int_equal(m->cc_major, 8);
        assert_int_equal(m->nvml_index, k);
        assert_int_equal(m->gi_id, k + 1);
        assert_int_equal(m->mig_enabled, 0);
        assert_string_equal(m->pci_bus_id, a100->pci_bus_id);
        check_uuid(m, "MIG-");
    }
}

/* MIG instances come after every physical GPU, whatever the list order. */
static void test_mig_after_all_physical(void **state)
{
    struct simgpu_state *st = *state;
    expect_ok(st, "A100:40GiB:mig=7g.40gb,H100:80GiB,L4:24GiB");
    assert_int_equal(st->ngpus, 4);
    assert_int_equal(st->gpu[0].parent, -1);
    assert_int_equal(st->gpu[1].parent, -1);
    assert_int_equal(st->gpu[2].parent, -1);
    assert_string_equal(st->gpu[1].model, "H100");
    assert_int_equal(st->gpu[2].nvml_index, 2);
    assert_int_equal(st->gpu[0].mig_first, 3);
    assert_int_equal(st->gpu[3].parent, 0);
    assert_int_equal(st->gpu[3].mem_total, 40 * GiB); /* the whole GPU: allowed */
    assert_int_equal(st->gpu[3].mig_slices, 7);
    assert_int_equal(st->gpu[3].sm_count, 108);
}

static void test_mig_too_many_slices(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "H100:80GiB:mig=4g.40gb+4g.40gb", "7 slices");
    expect_refused(st,
                   "H100:80GiB:mig=1g.10gb+1g.10gb+1g.10gb+1g.10gb+1g.10gb+1g.10gb+1g.10gb+1g.10gb",
                   "GPU 0");
    expect_refused(st, "L4:24GiB,H100:80GiB:mig=3g.20gb+3g.20gb+2g.20gb", "GPU 1");
}

static void test_mig_memory_over_gpu(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "A100:40GiB:mig=1g.41gb", "memory");
    expect_refused(st, "A100:40GiB:mig=3g.20gb+3g.21gb", "GPU 0");
    /* A profile size too large for 64 bits must not wrap around to a small one. */
    expect_refused(st, "A100:40GiB:mig=1g.17179869184gb", "1g.17179869184gb");
    expect_refused(st, "A100:40GiB:mig=1g.17179869185gb", "1g.17179869185gb");
    /* Nor may the sum of two profiles that each fit: 2 x 2^63 bytes is 0 mod 2^64. */
    expect_refused(st, "H100:16777215TiB:mig=1g.8589934592gb+1g.8589934592gb", "GPU 0");
}

static void test_bad_device(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "H100", "'H100'");
    expect_refused(st, ":80GiB", "':80GiB'");
    expect_refused(st, "H100:80GiB,A100", "'A100'");
}

static void test_bad_memory(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "H100:lots", "'lots'");
    expect_refused(st, "H100:", "''");
    expect_refused(st, "H100:80 GiB", "'80 GiB'");
    expect_refused(st, "H100:32MiB", "'32MiB'"); /* below the 64 MiB minimum */
    expect_refused(st, "H100:80GiB,A100:-1", "'-1'");
}

static void test_bad_option(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "H100:80GiB:foo=1", "'foo=1'");
    expect_refused(st, "H100:80GiB:mig", "'mig'");
}

static void test_bad_profile(void **state)
{
    struct simgpu_state *st = *state;
    static const char *const bad[] = {"3g.40",  "3g40gb",  "g.40gb",   "0g.10gb",  "8g.10gb",
                                      "1g.0gb", "1g.-5gb", "1g.10gib", "1g.10gbx", "1x.10gb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[64], quoted[32];
        snprintf(spec, sizeof(spec), "H100:80GiB:mig=%s", bad[i]);
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        expect_refused(st, spec, quoted);
    }
    expect_refused(st, "H100:80GiB:mig=1g.10gb+2g", "'2g'");
}

/* "mig=" with no profile would turn MIG on with no instance: the GPU would
 * vanish from CUDA with nothing in its place. */
static void test_empty_mig_list(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "H100:80GiB:mig=", "mig");
}

static void test_no_device(void **state)
{
    struct simgpu_state *st = *state;
    expect_refused(st, "", "no device");
    expect_refused(st, ",,", "no device");
}

static void test_limits(void **state)
{
    struct simgpu_state *st = *state;
    char spec[SIMGPU_CONFIG_MAX + 16];

    /* Longer than the state can record. */
    memset(spec, 'x', sizeof(spec) - 1);
    spec[sizeof(spec) - 1] = '\0';
    memcpy(spec, "H100:80GiB,", 11);
    expect_refused(st, spec, "longer than 511");

    /* A model name that does not fit the table. */
    expect_refused(st, "ABCDEFGHIJKLMNOPQRSTUVWXYZ:1GiB", "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

    /* More physical GPUs than the table holds. */
    list_of_l4(spec, SIMGPU_MAX_GPUS);
    expect_refused(st, spec, "too many devices");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_gpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_gpus_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_bus_ids_follow_the_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuids_stable_and_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reparse_replaces_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig_after_all_physical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig_too_many_slices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig_memory_over_gpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_mig_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
