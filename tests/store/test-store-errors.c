/* Bad input to every store mutator: each request below must be refused
 * with its error code and a message that names the culprit (the argument
 * and the value, or the thing that does not exist or conflicts), and the
 * store must be exactly as it was: every listing (GPUs, pools, tenants,
 * weights) is compared before and after each request. Also: the first bad
 * argument is the one reported, in the order the request gives them. */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

#define MISSING_GPU "GPU-99999999-0000-0000-0000-000000000000"

struct bad {
    fx_mutator fn;
    const char *args;
    const char *code;
    const char *needle[3];
};

static int pause_tenant(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return vgpu_store_tenant_state(s, args, "paused", err);
}

static const struct bad bad[] = {
    /* values that do not parse, or are out of range */
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"memory\": \"8XB\"}",
     "invalid_argument",
     {"memory", "\"8XB\"", "not a size"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"memory\": -1}",
     "invalid_argument",
     {"memory", "-1", "negative"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"memory\": 1.5}",
     "invalid_argument",
     {"memory", "1.5"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"memory\": \"99999999TiB\"}",
     "invalid_argument",
     {"memory", "99999999TiB", "too large"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"share\": 101}",
     "invalid_argument",
     {"share", "101", "0 to 100"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"share\": \"50%\"}",
     "invalid_argument",
     {"share", "50%"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"priority\": \"urgent\"}",
     "invalid_argument",
     {"priority", "urgent", "low, medium or high"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"priority\": \"HIGH\"}",
     "invalid_argument",
     {"priority", "HIGH"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 0, \"pool\": \"A\"}",
     "invalid_argument",
     {"vm_id", "0", "1 to 2147483647"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 2147483648, \"pool\": \"A\"}",
     "invalid_argument",
     {"vm_id", "2147483648"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": \"12abc\", \"pool\": \"A\"}",
     "invalid_argument",
     {"vm_id", "12abc"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": true, \"pool\": \"A\"}",
     "invalid_argument",
     {"vm_id", "true"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"bad name\", \"pool\": \"A\"}",
     "invalid_argument",
     {"name", "bad name", "1-63 characters"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"-x\", \"pool\": \"A\"}",
     "invalid_argument",
     {"name", "-x"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"a\\u0001b\", \"pool\": \"A\"}",
     "invalid_argument",
     {"name", "\\u0001"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"x\", \"pool\": \"A/B\"}",
     "invalid_argument",
     {"pool", "A/B"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"rate\": \"10/min\"}",
     "invalid_argument",
     {"rate", "10/min"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"rate\": 2147483648}",
     "invalid_argument",
     {"rate", "2147483648"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"burst\": -5}",
     "invalid_argument",
     {"burst", "-5"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"max_inflight\": \"many\"}",
     "invalid_argument",
     {"max_inflight", "many"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"exec_limit\": \"2 s\"}",
     "invalid_argument",
     {"exec_limit", "2 s"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"exec_limit\": \"90000s\"}",
     "invalid_argument",
     {"exec_limit", "90000s"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"exec_limit\": \"1.2345s\"}",
     "invalid_argument",
     {"exec_limit", "1.2345s"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"exec_policy\": \"shoot\"}",
     "invalid_argument",
     {"exec_policy", "shoot", "warn, quarantine or kill"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_uid\": 4294967295}",
     "invalid_argument",
     {"bind_uid", "4294967295"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_cgroup\": \"relative/x\"}",
     "invalid_argument",
     {"bind_cgroup", "relative/x", "absolute"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_cgroup\": \"/a/../b\"}",
     "invalid_argument",
     {"bind_cgroup", "/a/../b"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_cgroup\": \"/\"}",
     "invalid_argument",
     {"bind_cgroup", "every process"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_uid\": 5,"
     " \"bind_cgroup\": \"/x\"}",
     "invalid_argument",
     {"bind_uid", "bind_cgroup", "mutually exclusive"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_gid\": -1}",
     "invalid_argument",
     {"bind_gid", "-1", "gid"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_gid\": 5, \"bind_uid\": 5}",
     "invalid_argument",
     {"bind_uid", "bind_gid", "mutually exclusive"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"memroy\": \"8GiB\"}",
     "invalid_argument",
     {"unknown argument 'memroy'"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"state\": \"active\"}",
     "invalid_argument",
     {"unknown argument 'state'"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"memory\": null}",
     "invalid_argument",
     {"memory", "null"}},
    {vgpu_store_tenant_add, "[\"vm_id\", 21]", "invalid_argument", {"JSON object"}},
    {vgpu_store_tenant_add, "{\"pool\": \"A\"}", "invalid_argument", {"'name'", "'vm_id'"}},
    {vgpu_store_tenant_add, "{\"vm_id\": 21}", "invalid_argument", {"missing argument 'pool'"}},
    /* the database says no */
    {vgpu_store_tenant_add, "{\"vm_id\": 21, \"pool\": \"Z\"}", "not_found", {"pool Z"}},
    {vgpu_store_tenant_add, "{\"vm_id\": 3, \"pool\": \"A\"}", "already_exists", {"tenant vm-3"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"other\", \"vm_id\": 3, \"pool\": \"A\"}",
     "already_exists",
     {"vm_id 3", "vm-3"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"other\", \"pool\": \"A\", \"bind_uid\": 1000}",
     "conflict",
     {"uid 1000", "vm-1"}},
    {vgpu_store_tenant_add,
     "{\"name\": \"other\", \"pool\": \"A\", \"bind_cgroup\": \"/vgpu/vm-2\"}",
     "conflict",
     {"/vgpu/vm-2", "vm-2"}},
    {vgpu_store_tenant_set, "{\"name\": \"vm-99\", \"share\": 5}", "not_found", {"vm-99"}},
    {vgpu_store_tenant_set, "{\"name\": \"vm-1\"}", "invalid_argument", {"nothing to change"}},
    {vgpu_store_tenant_set, "{\"share\": 5}", "invalid_argument", {"missing argument 'name'"}},
    {vgpu_store_tenant_set, "{\"name\": \"vm-1\", \"pool\": \"Z\"}", "not_found", {"pool Z"}},
    {vgpu_store_tenant_set,
     "{\"name\": \"vm-1\", \"vm_id\": 2}",
     "already_exists",
     {"vm_id 2", "vm-2"}},
    {vgpu_store_tenant_set,
     "{\"name\": \"vm-1\", \"bind_cgroup\": \"/vgpu/x\"}",
     "conflict",
     {"vm-1", "uid 1000"}},
    {vgpu_store_tenant_set,
     "{\"name\": \"vm-1\", \"bind_gid\": 50}",
     "conflict",
     {"vm-1", "uid 1000", "gid 50"}},
    {vgpu_store_tenant_set,
     "{\"name\": \"vm-3\", \"bind_uid\": 1000}",
     "conflict",
     {"uid 1000", "vm-1"}},
    {vgpu_store_tenant_set,
     "{\"name\": \"vm-3\", \"share\": 5, \"sahre\": 6}",
     "invalid_argument",
     {"unknown argument 'sahre'"}},
    {vgpu_store_tenant_rm, "{\"name\": \"nobody\"}", "not_found", {"nobody"}},
    {vgpu_store_tenant_rm,
     "{\"name\": \"vm-1\", \"force\": true}",
     "invalid_argument",
     {"unknown argument 'force'"}},
    {fx_quarantine, "{\"name\": \"nobody\"}", "not_found", {"nobody"}},
    {pause_tenant, "{\"name\": \"vm-1\"}", "invalid_argument", {"paused"}},
    {vgpu_store_pool_rm, "{\"name\": \"A\"}", "conflict", {"pool A still has 7 tenants"}},
    {vgpu_store_pool_rm, "{\"name\": \"Z\"}", "not_found", {"pool Z"}},
    {vgpu_store_pool_create, "{\"name\": \"A\"}", "already_exists", {"pool A"}},
    {vgpu_store_pool_create, "{\"name\": \"\"}", "invalid_argument", {"name", "\"\""}},
    {vgpu_store_pool_create, "{\"name\": \"C\", \"gpus\": [0, 7]}", "not_found", {"gpu '7'"}},
    {vgpu_store_pool_create,
     "{\"name\": \"C\", \"gpus\": \"0,,2\"}",
     "invalid_argument",
     {"gpus", "0,,2"}},
    {vgpu_store_pool_create,
     "{\"name\": \"C\", \"gpus\": \"0,1\"}",
     "conflict",
     {"gpu '1'", "MIG mode"}},
    /* GPU references */
    {vgpu_store_assign_gpu,
     "{\"gpu\": 1, \"pool\": \"A\"}",
     "conflict",
     {"gpu '1'", FX_GPU1_MIG, "MIG mode"}},
    {vgpu_store_assign_gpu,
     "{\"gpu\": \"GPU-1111\", \"pool\": \"A\"}",
     "invalid_argument",
     {"GPU-1111", "ambiguous", FX_GPU1_MIG}},
    {vgpu_store_assign_gpu,
     "{\"gpu\": \"GPU-1\", \"pool\": \"A\"}",
     "invalid_argument",
     {"GPU-1", "at least 8"}},
    {vgpu_store_assign_gpu,
     "{\"gpu\": \"" MISSING_GPU "\", \"pool\": \"A\"}",
     "not_found",
     {MISSING_GPU, "missing"}},
    {vgpu_store_assign_gpu,
     "{\"gpu\": \"GPU-deadbeef\", \"pool\": \"A\"}",
     "not_found",
     {"GPU-deadbeef"}},
    {vgpu_store_assign_gpu, "{\"gpu\": 9, \"pool\": \"A\"}", "not_found", {"gpu '9'", "index"}},
    {vgpu_store_assign_gpu, "{\"gpu\": -1, \"pool\": \"A\"}", "invalid_argument", {"gpu", "-1"}},
    {vgpu_store_assign_gpu,
     "{\"gpu\": \"0 \", \"pool\": \"A\"}",
     "invalid_argument",
     {"gpu", "\"0 \""}},
    {vgpu_store_assign_gpu, "{\"gpu\": 0}", "invalid_argument", {"missing argument 'pool'"}},
    {vgpu_store_assign_gpu, "{\"gpu\": 0, \"pool\": \"Z\"}", "not_found", {"pool Z"}},
    {vgpu_store_unassign_gpu,
     "{\"gpu\": 3, \"pool\": \"B\"}",
     "not_found",
     {"gpu '3'", FX_MIG_B, "not in pool B"}},
    /* weights */
    {vgpu_store_set_weights,
     "{\"weights\": \"high=4,medium=2\"}",
     "invalid_argument",
     {"weights", "high=4,medium=2"}},
    {vgpu_store_set_weights,
     "{\"weights\": \"high=0,medium=2,low=1\"}",
     "invalid_argument",
     {"weights", "weight of high", "1 to 1000"}},
    {vgpu_store_set_weights,
     "{\"weights\": \"high=4,medium=2,low=1001\"}",
     "invalid_argument",
     {"weights", "weight of low"}},
    {vgpu_store_set_weights,
     "{\"weights\": \"high=4,medium=2,low=1,low=1\"}",
     "invalid_argument",
     {"weights", "low=1,low=1"}},
    {vgpu_store_set_weights,
     "{\"weights\": \"high=4,medium=2,low\"}",
     "invalid_argument",
     {"weights"}},
    {vgpu_store_set_weights,
     "{\"weights\": \"high=4,medium=2,urgent=9\"}",
     "invalid_argument",
     {"weights", "urgent"}},
    {vgpu_store_set_weights,
     "{\"weights\": {\"high\": 4, \"medium\": 2, \"low\": 1.5}}",
     "invalid_argument",
     {"weights", "weight of low"}},
    {vgpu_store_set_weights, "{\"weights\": 4}", "invalid_argument", {"weights", "4"}},
    /* what a terminal must not receive raw */
    {vgpu_store_set_weights,
     "{\"weights\": \"high=4\\u007f\"}",
     "invalid_argument",
     {"weights", "high=4\\u007f"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"bind_cgroup\": \"/a\\u009bb\"}",
     "invalid_argument",
     {"bind_cgroup", "/a\\u009Bb", "control character"}},
    {vgpu_store_tenant_add,
     "{\"vm_id\": 21, \"pool\": \"A\", \"m\\u0007\": 1}",
     "invalid_argument",
     {"unknown argument 'm\\x07'"}},
};

/* GPUs: FX_GPU0 (0), FX_GPU1_MIG in MIG mode (1) with FX_MIG_A (2) and
 * FX_MIG_B (3), and MISSING_GPU, seen once and then not. Pools A (GPU 0)
 * and B (FX_MIG_A). Tenants vm-1..vm-7 in A (vm-1 bound to uid 1000, vm-2
 * to /vgpu/vm-2) and vm-8..vm-10 in B. */
static struct vgpu_store *setup(void)
{
    struct vgpu_store *s = fx_open(":memory:");
    struct vgpu_scan scan;
    struct vgpu_err e;

    fx_scan_mig(&scan);
    fx_scan_add(&scan, MISSING_GPU, 2, 80 * GiB);
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), 0);
    fx_scan_mig(&scan);
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), 0);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\", \"gpus\": [0]}");
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"B\", \"gpus\": \"" FX_MIG_A "\"}");
    for (int vm = 1; vm <= 10; vm++) {
        char args[256];
        snprintf(args, sizeof(args), "{\"vm_id\": %d, \"pool\": \"%s\"%s}", vm, vm <= 7 ? "A" : "B",
                 vm == 1   ? ", \"bind_uid\": 1000"
                 : vm == 2 ? ", \"bind_cgroup\": \"/vgpu/vm-2\""
                           : "");
        fx_ok(s, vgpu_store_tenant_add, args);
    }
    return s;
}

static void test_bad_inputs_change_nothing(void **unused)
{
    struct vgpu_store *s = setup();
    json_t *before = fx_snapshot(s);

    assert_true(sizeof(bad) / sizeof(bad[0]) >= 20);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct bad *b = &bad[i];
        json_t *after;
        FX_FAILS(s, b->fn, b->args, b->code, b->needle[0], b->needle[1], b->needle[2]);
        after = fx_snapshot(s);
        if (!json_equal(after, before))
            fail_msg("%s: refused, but the store changed", b->args);
        json_decref(after);
    }
    json_decref(before);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_first_error_is_reported(void **unused)
{
    struct vgpu_store *s = setup();

    FX_FAILS(s, vgpu_store_tenant_add,
             "{\"vm_id\": 30, \"pool\": \"A\", \"share\": 101, \"memory\": \"lots\"}",
             "invalid_argument", "share");
    FX_FAILS(s, vgpu_store_tenant_add,
             "{\"memory\": \"lots\", \"vm_id\": 30, \"pool\": \"A\", \"share\": 101}",
             "invalid_argument", "memory");
    FX_FAILS(s, vgpu_store_tenant_add, "{\"memroy\": \"8GiB\", \"vm_id\": 0, \"pool\": \"A\"}",
             "invalid_argument", "unknown argument 'memroy'");
    /* argument errors come before the database is asked anything */
    FX_FAILS(s, vgpu_store_tenant_add, "{\"vm_id\": 3, \"pool\": \"Z\", \"share\": 101}",
             "invalid_argument", "share");
    assert_int_equal(vgpu_store_close(s), 0);
}

/* An error struct is filled on every failure and cleared on success. */
static void test_error_struct(void **unused)
{
    struct vgpu_store *s = setup();
    struct vgpu_err e;
    json_t *a = fx_json("{\"name\": \"vm-1\", \"share\": 7}");

    memset(&e, 'x', sizeof(e));
    assert_int_equal(vgpu_store_tenant_set(s, a, &e), 0);
    assert_string_equal(e.code, "");
    assert_int_not_equal(vgpu_store_tenant_set(s, NULL, &e), 0);
    assert_string_equal(e.code, "invalid_argument");
    assert_int_not_equal(vgpu_store_tenant_set(s, NULL, NULL), 0); /* err may be NULL */
    json_decref(a);
    assert_int_equal(vgpu_store_close(s), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_inputs_change_nothing),
    cmocka_unit_test(test_first_error_is_reported),
    cmocka_unit_test(test_error_struct),
};

FX_MAIN(tests)
