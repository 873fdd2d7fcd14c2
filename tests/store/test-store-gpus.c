/* GPUs in the store: what a sync records and lists, how `gpu` references
 * resolve (index in scan order, UUID in any case, unique prefix), MIG
 * (the instances are assignable, their parent is not), GPUs that vanish
 * from a scan (kept as "missing" with their pools, back in them when seen
 * again), and scans the store refuses. */
#include "fixture.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static void sync_ok(struct vgpu_store *s, const struct vgpu_scan *scan)
{
    struct vgpu_err e;
    if (vgpu_store_sync_gpus(s, scan, &e) != 0)
        fail_msg("sync: %s: %s", e.code, e.msg);
}

static void test_sync_lists_every_field(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    struct vgpu_scan scan;
    json_t *gpus;

    fx_scan_mig(&scan);
    sync_ok(s, &scan);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"mig\", \"gpus\": [2, 3]}");
    gpus = vgpu_store_gpus(s);
    fx_assert_text(
        gpus,
        "[{\"index\": 0, \"uuid\": \"" FX_GPU0 "\", \"name\": \"NVIDIA H100 80GB HBM3\","
        "  \"pci_bus_id\": \"00000000:18:00.0\", \"memory_total\": 85899345920,"
        "  \"nvml_index\": 0, \"cuda_ordinal\": 0, \"parent\": null, \"mig_enabled\": false,"
        "  \"state\": \"present\", \"pools\": []},"
        " {\"index\": 1, \"uuid\": \"" FX_GPU1_MIG "\", \"name\": \"NVIDIA H200\","
        "  \"pci_bus_id\": \"00000000:2A:00.0\", \"memory_total\": 151397597184,"
        "  \"nvml_index\": 1, \"cuda_ordinal\": null, \"parent\": null, \"mig_enabled\": true,"
        "  \"state\": \"present\", \"pools\": []},"
        " {\"index\": 2, \"uuid\": \"" FX_MIG_A "\", \"name\": \"NVIDIA H200 MIG 3g.71gb\","
        "  \"pci_bus_id\": \"00000000:2A:00.0\", \"memory_total\": 76235669504,"
        "  \"nvml_index\": 0, \"cuda_ordinal\": 1, \"parent\": \"" FX_GPU1_MIG "\","
        "  \"mig_enabled\": false, \"state\": \"present\", \"pools\": [\"mig\"]},"
        " {\"index\": 3, \"uuid\": \"" FX_MIG_B "\", \"name\": \"NVIDIA H200 MIG 3g.71gb\","
        "  \"pci_bus_id\": \"00000000:2A:00.0\", \"memory_total\": 76235669504,"
        "  \"nvml_index\": 1, \"cuda_ordinal\": 2, \"parent\": \"" FX_GPU1_MIG "\","
        "  \"mig_enabled\": false, \"state\": \"present\", \"pools\": [\"mig\"]}]",
        "GPUs after a MIG scan");
    json_decref(gpus);
    assert_int_equal(vgpu_store_close(s), 0);
}

/* The listing's index is the scan's order, whatever order the rows were
 * written in: a GPU first seen later with a lower NVML index comes first. */
static void test_index_follows_nvml_order(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    struct vgpu_scan scan;
    json_t *gpus;

    memset(&scan, 0, sizeof(scan));
    fx_scan_add(&scan, FX_GPU1, 1, 80 * GiB);
    sync_ok(s, &scan);
    fx_scan_two(&scan);
    sync_ok(s, &scan);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\", \"gpus\": \"0\"}");
    gpus = vgpu_store_gpus(s);
    assert_string_equal(json_string_value(json_object_get(json_array_get(gpus, 0), "uuid")),
                        FX_GPU0);
    fx_assert_text(json_object_get(json_array_get(gpus, 0), "pools"), "[\"A\"]", "pools of GPU 0");
    json_decref(gpus);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_gpu_references(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    struct vgpu_scan scan;
    json_t *pools;

    fx_scan_mig(&scan);
    sync_ok(s, &scan);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    fx_ok(s, vgpu_store_assign_gpu, "{\"gpu\": \"0\", \"pool\": \"A\"}");
    fx_ok(s, vgpu_store_assign_gpu,
          "{\"gpu\": \"mig-22222222-0000-0000-0000-000000000001\","
          " \"pool\": \"A\"}"); /* any case */
    fx_ok(s, vgpu_store_assign_gpu,
          "{\"gpu\": \"MIG-22222222-0000-0000-0000-000000000002\","
          " \"pool\": \"A\"}");
    fx_ok(s, vgpu_store_assign_gpu, "{\"gpu\": \"GPU-11111111-2222\", \"pool\": \"A\"}");
    pools = vgpu_store_pools(s);
    fx_assert_text(json_object_get(json_array_get(pools, 0), "gpus"),
                   "[\"" FX_GPU0 "\", \"" FX_MIG_A "\", \"" FX_MIG_B "\"]", "pool A");
    json_decref(pools);
    /* "MIG-2222" has 8 characters but names two instances */
    fx_ok(s, vgpu_store_unassign_gpu, "{\"gpu\": 0, \"pool\": \"A\"}");
    FX_FAILS(s, vgpu_store_assign_gpu, "{\"gpu\": \"MIG-2222\", \"pool\": \"A\"}",
             "invalid_argument", "ambiguous");
    FX_FAILS(s, vgpu_store_assign_gpu, "{\"gpu\": 1, \"pool\": \"A\"}", "conflict", "MIG mode");
    FX_FAILS(s, vgpu_store_unassign_gpu, "{\"gpu\": 0, \"pool\": \"A\"}", "not_found",
             "not in pool A");
    assert_int_equal(vgpu_store_close(s), 0);
}

static const char *state_of(const json_t *gpus, const char *uuid, json_t **index, json_t **pools)
{
    const json_t *g;
    size_t i;

    json_array_foreach(gpus, i, g)
    {
        if (strcmp(json_string_value(json_object_get(g, "uuid")), uuid) == 0) {
            *index = json_object_get(g, "index");
            *pools = json_object_get(g, "pools");
            return json_string_value(json_object_get(g, "state"));
        }
    }
    fail_msg("no GPU %s listed", uuid);
    return NULL;
}

/* Raw first_seen/last_seen, which the listing does not show. */
static void seen(const char *path, const char *uuid, long long *first, long long *last)
{
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT first_seen, last_seen FROM gpus WHERE uuid = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *first = sqlite3_column_int64(st, 0);
    *last = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_missing_gpus_keep_their_pools(void **unused)
{
    char *dir = fx_tmpdir(), path[4200];
    struct vgpu_store *s;
    struct vgpu_scan scan;
    json_t *gpus, *index = NULL, *pools = NULL;
    long long first, last, first2, last2;

    snprintf(path, sizeof(path), "%s/vgpu.db", dir);
    s = fx_open(path);
    fx_scan_two(&scan);
    sync_ok(s, &scan);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\", \"gpus\": [0]}");
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"B\", \"gpus\": [1, 0]}");
    fx_ok(s, vgpu_store_tenant_add, "{\"vm_id\": 1, \"pool\": \"A\"}");
    seen(path, FX_GPU0, &first, &last);

    /* GPU 0 drops off the bus: GPU 1 is now index 0 */
    memset(&scan, 0, sizeof(scan));
    fx_scan_add(&scan, FX_GPU1, 0, 80 * GiB);
    sync_ok(s, &scan);
    gpus = vgpu_store_gpus(s);
    assert_int_equal(json_array_size(gpus), 2);
    assert_string_equal(state_of(gpus, FX_GPU0, &index, &pools), "missing");
    assert_true(json_is_null(index));
    fx_assert_text(pools, "[\"A\", \"B\"]", "pools of the missing GPU");
    assert_string_equal(state_of(gpus, FX_GPU1, &index, &pools), "present");
    assert_int_equal(json_integer_value(index), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(gpus, 0), "uuid")),
                        FX_GPU1); /* present GPUs first */
    json_decref(gpus);
    pools = vgpu_store_pools(s);
    fx_assert_text(pools,
                   "[{\"name\": \"A\", \"gpus\": [\"" FX_GPU0 "\"], \"tenants\": 1},"
                   " {\"name\": \"B\", \"gpus\": [\"" FX_GPU1 "\", \"" FX_GPU0
                   "\"], \"tenants\": 0}]",
                   "pools while GPU 0 is missing");
    json_decref(pools);
    /* a missing GPU cannot join a pool but can leave one */
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"C\"}");
    FX_FAILS(s, vgpu_store_assign_gpu, "{\"gpu\": \"" FX_GPU0 "\", \"pool\": \"C\"}", "not_found",
             "missing");
    fx_ok(s, vgpu_store_unassign_gpu, "{\"gpu\": \"" FX_GPU0 "\", \"pool\": \"B\"}");

    /* it comes back, into pool A, keeping its first_seen */
    fx_scan_two(&scan);
    sync_ok(s, &scan);
    gpus = vgpu_store_gpus(s);
    assert_string_equal(state_of(gpus, FX_GPU0, &index, &pools), "present");
    assert_int_equal(json_integer_value(index), 0);
    fx_assert_text(pools, "[\"A\"]", "pools of GPU 0 when back");
    json_decref(gpus);
    seen(path, FX_GPU0, &first2, &last2);
    assert_int_equal(first2, first);
    assert_true(last2 >= last);

    /* the state survives a restart */
    gpus = vgpu_store_gpus(s);
    assert_int_equal(vgpu_store_close(s), 0);
    s = fx_open(path);
    {
        json_t *again = vgpu_store_gpus(s);
        fx_assert_json(again, gpus, "GPUs after reopening");
        json_decref(again);
    }
    json_decref(gpus);
    assert_int_equal(vgpu_store_close(s), 0);
    fx_rmdir(dir);
}

static void test_bad_scans_change_nothing(void **unused)
{
    struct vgpu_store *s = fx_open(":memory:");
    struct vgpu_scan scan;
    struct vgpu_err e;
    json_t *before, *after;

    fx_scan_two(&scan);
    sync_ok(s, &scan);
    before = fx_snapshot(s);

    assert_int_equal(vgpu_store_sync_gpus(s, NULL, &e), -EINVAL);
    fx_scan_two(&scan);
    scan.count = VGPU_DEVICE_MAX + 1;
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "65"));
    fx_scan_two(&scan);
    snprintf(scan.gpu[1].uuid, sizeof(scan.gpu[1].uuid), "%s", FX_GPU0);
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "twice"));
    fx_scan_mig(&scan);
    scan.gpu[2].parent = 7;
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "parent 7"));
    fx_scan_mig(&scan);
    scan.gpu[3].parent = 2; /* a MIG instance cannot be a parent */
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), -EINVAL);
    fx_scan_two(&scan);
    memset(scan.gpu[0].uuid, 'x', sizeof(scan.gpu[0].uuid)); /* unterminated */
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), -EINVAL);
    assert_string_equal(e.code, "invalid_argument");
    fx_scan_two(&scan);
    scan.gpu[1].mem_total = UINT64_MAX;
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), -EINVAL);

    after = fx_snapshot(s);
    fx_assert_json(after, before, "GPUs after refused scans");
    json_decref(after);
    json_decref(before);
    assert_int_equal(vgpu_store_close(s), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sync_lists_every_field),
    cmocka_unit_test(test_index_follows_nvml_order),
    cmocka_unit_test(test_gpu_references),
    cmocka_unit_test(test_missing_gpus_keep_their_pools),
    cmocka_unit_test(test_bad_scans_change_nothing),
};

FX_MAIN(tests)
