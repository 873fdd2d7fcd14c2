/* The user's scenario from PRODUCT.md, through the store: a scan finds two
 * GPUs, pool A gets GPU 0 and pool B GPU 1, VMs 1-7 are registered in A and
 * 8-20 in B with mixed priorities and limits (and one named tenant), and
 * every listing is compared, field by field, with what was asked for. The
 * same on a database file, then across close and reopen. Also: changing
 * some keys of a tenant leaves the others alone, quarantine, weights, pools
 * created with their GPUs, and finding the tenant of a uid or cgroup. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prio[] = {"high", "medium", "low"};

static json_t *tenant(const char *name, json_int_t vm_id, const char *pool, const char *priority,
                      json_int_t memory, json_int_t share, json_int_t rate, json_int_t burst,
                      json_int_t max_inflight, json_t *bind_uid, json_t *bind_cgroup)
{
    json_t *t = json_pack("{s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:s}",
                          "name", name, "vm_id", vm_id > 0 ? json_integer(vm_id) : json_null(),
                          "pool", pool, "priority", priority, "memory", memory, "share", share,
                          "rate", rate, "burst", burst, "max_inflight", max_inflight, "bind_uid",
                          bind_uid ? bind_uid : json_null(), "bind_gid", json_null(), "bind_cgroup",
                          bind_cgroup ? bind_cgroup : json_null(), "state", "active");
    assert_non_null(t);
    /* schema 4: no execution time limit, the watchdog only warns */
    json_object_set_new(t, "exec_limit_ms", json_integer(0));
    json_object_set_new(t, "exec_policy", json_string("warn"));
    return t;
}

static json_t *gpu(int index, const char *uuid, const char *pci, const char *pool)
{
    json_t *g =
        json_pack("{s:i, s:s, s:s, s:s, s:I, s:i, s:i, s:n, s:b, s:s, s:[s]}", "index", index,
                  "uuid", uuid, "name", "NVIDIA H100 80GB HBM3", "pci_bus_id", pci, "memory_total",
                  (json_int_t)(80 * GiB), "nvml_index", index, "cuda_ordinal", index, "parent",
                  "mig_enabled", 0, "state", "present", "pools", pool);
    assert_non_null(g);
    return g;
}

/* Builds the scenario in s and returns the snapshot it must list. */
static json_t *populate(struct vgpu_store *s)
{
    struct vgpu_scan scan;
    struct vgpu_err e;
    json_t *tenants = json_array();

    fx_scan_two(&scan);
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), 0);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    fx_ok(s, vgpu_store_assign_gpu, "{\"gpu\": 0, \"pool\": \"A\"}"); /* --gpu-id=0 */
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"B\"}");
    fx_ok(s, vgpu_store_assign_gpu, "{\"pool\": \"B\", \"gpu\": \"1\"}");

    for (int vm = 1; vm <= 20; vm++) {
        char args[512], name[16];
        snprintf(name, sizeof(name), "vm-%d", vm);
        if (vm <= 7) { /* register-vm --vm-id=N --pool=A --priority=P, with limits as typed */
            snprintf(args, sizeof(args),
                     "{\"vm_id\": %d, \"pool\": \"A\", \"priority\": \"%s\", \"memory\": \"8GiB\","
                     " \"share\": \"%d\", \"rate\": \"1000/s\", \"burst\": \"2000\"%s}",
                     vm, prio[vm % 3], vm * 10,
                     vm == 1   ? ", \"bind_uid\": \"1000\""
                     : vm == 2 ? ", \"bind_cgroup\": \"/vgpu/vm-2\""
                               : "");
            json_array_append_new(tenants, tenant(name, vm, "A", prio[vm % 3],
                                                  (json_int_t)(8 * GiB), (json_int_t)vm * 10, 1000,
                                                  2000, 0, vm == 1 ? json_integer(1000) : NULL,
                                                  vm == 2 ? json_string("/vgpu/vm-2") : NULL));
        } else if (vm < 20) { /* the HTTP API's form: numbers as numbers */
            snprintf(args, sizeof(args),
                     "{\"vm_id\": \"%d\", \"pool\": \"B\", \"priority\": \"%s\", \"memory\": %llu,"
                     " \"share\": 5, \"rate\": 500, \"burst\": 50, \"max_inflight\": 16}",
                     vm, prio[vm % 3], (unsigned long long)(vm * GiB));
            json_array_append_new(tenants,
                                  tenant(name, vm, "B", prio[vm % 3], (json_int_t)(vm * GiB), 5,
                                         500, 50, 16, NULL, NULL));
        } else { /* the defaults */
            snprintf(args, sizeof(args), "{\"vm_id\": %d, \"pool\": \"B\"}", vm);
            json_array_append_new(tenants,
                                  tenant(name, vm, "B", "medium", 0, 0, 0, 0, 0, NULL, NULL));
        }
        fx_ok(s, vgpu_store_tenant_add, args);
    }
    fx_ok(s, vgpu_store_tenant_add,
          "{\"name\": \"batch-jobs\", \"pool\": \"B\", \"priority\": \"low\", \"max_inflight\": 4,"
          " \"memory\": \"1.5GiB\"}");
    json_array_append_new(tenants, tenant("batch-jobs", 0, "B", "low", (json_int_t)(3 * GiB / 2), 0,
                                          0, 0, 4, NULL, NULL));

    json_t *want = json_pack(
        "{s:[o, o], s:[{s:s, s:[s], s:i}, {s:s, s:[s], s:i}], s:o, s:{s:i, s:i, s:i}}", "gpus",
        gpu(0, FX_GPU0, "00000000:18:00.0", "A"), gpu(1, FX_GPU1, "00000000:2A:00.0", "B"), "pools",
        "name", "A", "gpus", FX_GPU0, "tenants", 7, "name", "B", "gpus", FX_GPU1, "tenants", 14,
        "tenants", tenants, "weights", "high", 4, "medium", 2, "low", 1);
    assert_non_null(want);
    return want;
}

static void check_scenario(struct vgpu_store *s)
{
    json_t *want = populate(s), *got = fx_snapshot(s), *a, *one;
    json_t *want_a = json_array();

    fx_assert_json(got, want, "snapshot");
    for (size_t i = 0; i < 7; i++)
        json_array_append(want_a, json_array_get(json_object_get(want, "tenants"), i));
    a = vgpu_store_tenants(s, "A");
    fx_assert_json(a, want_a, "tenants of pool A");
    json_decref(a);
    a = vgpu_store_tenants(s, "nowhere");
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    one = vgpu_store_tenant(s, "vm-9");
    fx_assert_json(one, json_array_get(json_object_get(want, "tenants"), 8), "tenant vm-9");
    json_decref(one);
    assert_null(vgpu_store_tenant(s, "vm-21"));
    json_decref(want_a);
    json_decref(got);
    json_decref(want);
}

static void test_scenario_memory(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    check_scenario(s);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_scenario_file(void **unused)
{
    char *dir = fx_tmpdir(), path[4200];
    struct vgpu_store *s;

    snprintf(path, sizeof(path), "%s/vgpu.db", dir);
    s = fx_open(path);
    check_scenario(s);
    assert_int_equal(vgpu_store_close(s), 0);
    fx_rmdir(dir);
}

static void test_persistence(void **unused)
{
    char *dir = fx_tmpdir(), path[4200];
    struct vgpu_store *s;
    json_t *before, *after;

    snprintf(path, sizeof(path), "%s/vgpu.db", dir);
    s = fx_open(path);
    json_decref(populate(s));
    fx_ok(s, fx_quarantine, "{\"name\": \"vm-3\"}");
    fx_ok(s, vgpu_store_set_weights, "{\"weights\": \"high=8,medium=3,low=1\"}");
    before = fx_snapshot(s);
    assert_int_equal(vgpu_store_close(s), 0);

    s = fx_open(path);
    after = fx_snapshot(s);
    fx_assert_json(after, before, "after reopening");
    json_decref(after);
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-12\", \"memory\": \"4GiB\"}");
    fx_ok(s, vgpu_store_tenant_rm, "{\"name\": \"vm-20\"}");
    json_decref(before);
    before = fx_snapshot(s);
    assert_int_equal(vgpu_store_close(s), 0);

    s = fx_open(path);
    after = fx_snapshot(s);
    fx_assert_json(after, before, "after a second reopening");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(after, "weights"), "high")),
                     8);
    assert_int_equal(vgpu_store_close(s), 0);
    json_decref(before);
    json_decref(after);
    fx_rmdir(dir);
}

/* Replaces key in the listed tenant `name` of want. */
static void expect(json_t *want, const char *name, const char *key, json_t *value)
{
    json_t *t;
    size_t i;

    json_array_foreach(json_object_get(want, "tenants"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
            json_object_set_new(t, key, value);
            return;
        }
    }
    fail_msg("no tenant %s", name);
}

static void test_tenant_set_changes_only_given_keys(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    json_t *want = populate(s), *got;

    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-8\", \"share\": \"30\"}");
    expect(want, "vm-8", "share", json_integer(30));
    fx_ok(s, vgpu_store_tenant_set,
          "{\"name\": \"vm-9\", \"pool\": \"A\", \"priority\": \"high\", \"rate\": \"70\"}");
    expect(want, "vm-9", "pool", json_string("A"));
    expect(want, "vm-9", "priority", json_string("high"));
    expect(want, "vm-9", "rate", json_integer(70));
    json_object_set_new(json_array_get(json_object_get(want, "pools"), 0), "tenants",
                        json_integer(8));
    json_object_set_new(json_array_get(json_object_get(want, "pools"), 1), "tenants",
                        json_integer(13));
    /* nullable keys are cleared with null, and then the other binding may be set */
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-1\", \"bind_uid\": null}");
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-1\", \"bind_cgroup\": \"/slurm/job-1\"}");
    expect(want, "vm-1", "bind_uid", json_null());
    expect(want, "vm-1", "bind_cgroup", json_string("/slurm/job-1"));
    fx_ok(s, vgpu_store_tenant_set,
          "{\"name\": \"vm-2\", \"bind_cgroup\": null,"
          " \"bind_uid\": 1000}");
    expect(want, "vm-2", "bind_cgroup", json_null());
    expect(want, "vm-2", "bind_uid", json_integer(1000));
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"batch-jobs\", \"vm_id\": 99}");
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"batch-jobs\", \"vm_id\": null}");
    got = fx_snapshot(s);
    fx_assert_json(got, want, "snapshot after tenant set");
    json_decref(got);
    json_decref(want);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_quarantine_and_release(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    json_t *want = populate(s), *got;

    fx_ok(s, fx_quarantine, "{\"name\": \"vm-4\"}");
    fx_ok(s, fx_quarantine, "{\"name\": \"vm-4\"}"); /* already: fine */
    fx_ok(s, fx_quarantine, "{\"name\": \"vm-15\"}");
    fx_ok(s, fx_release, "{\"name\": \"vm-15\"}");
    expect(want, "vm-4", "state", json_string("quarantined"));
    got = fx_snapshot(s);
    fx_assert_json(got, want, "snapshot after quarantine");
    json_decref(got);
    json_decref(want);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_weights(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    json_t *w;

    fx_ok(s, vgpu_store_set_weights, "{\"weights\": \"low=2,high=1000,medium=1\"}");
    w = vgpu_store_weights(s);
    fx_assert_text(w, "{\"high\": 1000, \"medium\": 1, \"low\": 2}", "weights");
    json_decref(w);
    fx_ok(s, vgpu_store_set_weights, "{\"weights\": {\"medium\": \"3\", \"low\": 1, \"high\": 9}}");
    w = vgpu_store_weights(s);
    fx_assert_text(w, "{\"high\": 9, \"medium\": 3, \"low\": 1}", "weights");
    json_decref(w);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_pools_with_gpus(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    json_t *want, *got;

    json_decref(populate(s));
    /* a GPU may serve several pools; listing a GPU twice is harmless */
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"C\", \"gpus\": \"1,0\"}");
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"D\", \"gpus\": [\"" FX_GPU1 "\", 1]}");
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"E\", \"gpus\": []}");
    fx_ok(s, vgpu_store_assign_gpu, "{\"gpu\": \"gpu-aaaaaaaa\", \"pool\": \"E\"}");
    fx_ok(s, vgpu_store_assign_gpu, "{\"gpu\": 1, \"pool\": \"E\"}"); /* again: fine */
    got = vgpu_store_pools(s);
    want =
        fx_json("[{\"name\": \"A\", \"gpus\": [\"" FX_GPU0 "\"], \"tenants\": 7},"
                " {\"name\": \"B\", \"gpus\": [\"" FX_GPU1 "\"], \"tenants\": 14},"
                " {\"name\": \"C\", \"gpus\": [\"" FX_GPU0 "\", \"" FX_GPU1 "\"], \"tenants\": 0},"
                " {\"name\": \"D\", \"gpus\": [\"" FX_GPU1 "\"], \"tenants\": 0},"
                " {\"name\": \"E\", \"gpus\": [\"" FX_GPU1 "\"], \"tenants\": 0}]");
    fx_assert_json(got, want, "pools");
    json_decref(got);
    json_decref(want);
    got = vgpu_store_gpus(s);
    fx_assert_text(json_object_get(json_array_get(got, 1), "pools"), "[\"B\", \"C\", \"D\", \"E\"]",
                   "pools of GPU 1");
    json_decref(got);

    fx_ok(s, vgpu_store_unassign_gpu, "{\"gpu\": 1, \"pool\": \"C\"}");
    fx_ok(s, vgpu_store_pool_rm, "{\"name\": \"D\"}");
    fx_ok(s, vgpu_store_pool_rm, "{\"name\": \"E\"}");
    got = vgpu_store_gpus(s);
    fx_assert_text(json_object_get(json_array_get(got, 1), "pools"), "[\"B\"]",
                   "pools of GPU 1 after removals");
    json_decref(got);
    /* a pool is removable once its tenants are gone */
    for (int vm = 1; vm <= 7; vm++) {
        char args[64];
        snprintf(args, sizeof(args), "{\"name\": \"vm-%d\"}", vm);
        fx_ok(s, vgpu_store_tenant_rm, args);
    }
    fx_ok(s, vgpu_store_pool_rm, "{\"name\": \"A\"}");
    got = vgpu_store_pools(s);
    assert_int_equal(json_array_size(got), 2); /* B and C */
    json_decref(got);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void assert_for_groups(struct vgpu_store *s, long uid, const long *gids, int ngids,
                              const char *cgroup, const char *want)
{
    json_t *t = vgpu_store_tenant_for(s, uid, gids, ngids, cgroup);

    if (!want && t)
        fail_msg("uid %ld cgroup %s: tenant %s, want none", uid, cgroup ? cgroup : "-",
                 json_string_value(json_object_get(t, "name")));
    if (want && (!t || strcmp(json_string_value(json_object_get(t, "name")), want) != 0))
        fail_msg("uid %ld cgroup %s: %s, want tenant %s", uid, cgroup ? cgroup : "-",
                 t ? json_string_value(json_object_get(t, "name")) : "none", want);
    json_decref(t);
}

static void assert_for(struct vgpu_store *s, long uid, const char *cgroup, const char *want)
{
    assert_for_groups(s, uid, NULL, 0, cgroup, want);
}

static void test_tenant_for(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");

    json_decref(populate(s));
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-3\", \"bind_cgroup\": \"/vgpu/vm-2/inner\"}");
    assert_for(s, 1000, NULL, "vm-1");
    assert_for(s, 1000, "/user.slice/user-1000.slice", "vm-1");
    assert_for(s, 1001, "/user.slice", NULL);
    assert_for(s, -1, "/vgpu/vm-2", "vm-2");
    assert_for(s, -1, "/vgpu/vm-2/job-5/step-0", "vm-2");
    assert_for(s, -1, "/vgpu/vm-2x", NULL);
    assert_for(s, -1, "/vgpu/vm-2/inner/x", "vm-3"); /* the nearest binding wins */
    assert_for(s, 1000, "/vgpu/vm-2", "vm-2");       /* the cgroup before the uid */
    assert_for(s, -1, NULL, NULL);

    /* a group binding: any of the groups, after the cgroup and the uid */
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-4\", \"bind_gid\": \"2000\"}");
    const long g[] = {100, 2000, 3000}, other[] = {100, 3000};
    assert_for_groups(s, 1001, g, 3, NULL, "vm-4");
    assert_for_groups(s, 1001, other, 2, NULL, NULL);
    assert_for_groups(s, 1000, g, 3, NULL, "vm-1");           /* the uid before the group */
    assert_for_groups(s, 1001, g, 3, "/vgpu/vm-2/x", "vm-2"); /* the cgroup before the group */
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-5\", \"bind_gid\": 100}");
    assert_for_groups(s, 1001, g, 3, NULL, "vm-5"); /* the first group that has one */
    json_t *t = vgpu_store_tenant(s, "vm-4");
    assert_int_equal(json_integer_value(json_object_get(t, "bind_gid")), 2000);
    json_decref(t);
    fx_ok(s, vgpu_store_tenant_set, "{\"name\": \"vm-4\", \"bind_gid\": null}");
    assert_for_groups(s, 1001, other + 1, 1, NULL, NULL);
    t = vgpu_store_tenant(s, "vm-4");
    assert_true(json_is_null(json_object_get(t, "bind_gid")));
    json_decref(t);
    assert_int_equal(vgpu_store_close(s), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scenario_memory),
    cmocka_unit_test(test_scenario_file),
    cmocka_unit_test(test_persistence),
    cmocka_unit_test(test_tenant_set_changes_only_given_keys),
    cmocka_unit_test(test_quarantine_and_release),
    cmocka_unit_test(test_weights),
    cmocka_unit_test(test_pools_with_gpus),
    cmocka_unit_test(test_tenant_for),
};

FX_MAIN(tests)
