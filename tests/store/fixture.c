/* fixture: fake scans, temporary stores and checked calls for the store
 * tests (see fixture.h).
 *
 * A scan is built field by field the way src/device fills one, so the
 * store sees exactly what vgpud would pass it. Checked calls parse their
 * arguments from JSON text, as the control socket delivers them, and fail
 * the test with the store's own code and message, so a failing case says
 * what the store said. fx_main lets CTest run one cmocka case per process:
 * a misspelt case name is an error, never an empty pass. */
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fx_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc > 1) {
        size_t i = 0;
        while (i < n && strcmp(tests[i].name, argv[1]) != 0)
            i++;
        if (i == n) {
            fprintf(stderr, "%s: no test case %s\n", argv[0], argv[1]);
            return 2;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return _cmocka_run_group_tests("store", tests, n, NULL, NULL);
}

static struct vgpu_gpu *add(struct vgpu_scan *scan, const char *uuid, const char *name,
                            const char *pci, uint64_t mem, int nvml, int cuda, int parent)
{
    struct vgpu_gpu *g = &scan->gpu[scan->count++];

    memset(g, 0, sizeof(*g));
    snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%s", pci);
    g->mem_total = mem;
    g->nvml_index = nvml;
    g->cuda_ordinal = cuda;
    g->parent = parent;
    g->cc_major = 9;
    return g;
}

void fx_scan_two(struct vgpu_scan *scan)
{
    memset(scan, 0, sizeof(*scan));
    add(scan, FX_GPU0, "NVIDIA H100 80GB HBM3", "00000000:18:00.0", 80 * GiB, 0, 0, -1);
    add(scan, FX_GPU1, "NVIDIA H100 80GB HBM3", "00000000:2A:00.0", 80 * GiB, 1, 1, -1);
    snprintf(scan->driver_version, sizeof(scan->driver_version), "550.54.15");
    scan->cuda_driver_version = 12040;
}

void fx_scan_mig(struct vgpu_scan *scan)
{
    memset(scan, 0, sizeof(*scan));
    add(scan, FX_GPU0, "NVIDIA H100 80GB HBM3", "00000000:18:00.0", 80 * GiB, 0, 0, -1);
    add(scan, FX_GPU1_MIG, "NVIDIA H200", "00000000:2A:00.0", 141 * GiB, 1, -1, -1)->mig_enabled =
        true;
    add(scan, FX_MIG_A, "NVIDIA H200 MIG 3g.71gb", "00000000:2A:00.0", 71 * GiB, 0, 1, 1);
    add(scan, FX_MIG_B, "NVIDIA H200 MIG 3g.71gb", "00000000:2A:00.0", 71 * GiB, 1, 2, 1);
}

void fx_scan_add(struct vgpu_scan *scan, const char *uuid, int nvml_index, uint64_t mem)
{
    add(scan, uuid, "NVIDIA H100 80GB HBM3", "00000000:99:00.0", mem, nvml_index, nvml_index, -1);
}

struct vgpu_store *fx_open(const char *path)
{
    struct vgpu_store *s = NULL;
    struct vgpu_err e;

    if (vgpu_store_open(path, &s, &e) != 0)
        fail_msg("vgpu_store_open(%s): %s: %s", path, e.code, e.msg);
    return s;
}

char *fx_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(4096);

    assert_non_null(dir);
    snprintf(dir, 4096, "%s/vgpu-store-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        fail_msg("mkdtemp(%s): %s", dir, strerror(errno));
    return dir;
}

void fx_rmdir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        char path[4200];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
}

json_t *fx_json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

    if (!j)
        fail_msg("test JSON does not parse (%s): %s", je.text, text);
    return j;
}

void fx_ok(struct vgpu_store *s, fx_mutator fn, const char *args)
{
    json_t *a = fx_json(args);
    struct vgpu_err e;
    int rc = fn(s, a, &e);

    if (rc != 0)
        fail_msg("%s: rc %d, %s: %s", args, rc, e.code, e.msg);
    json_decref(a);
}

static int code_errno(const char *code)
{
    static const struct {
        const char *code;
        int rc;
    } map[] = {{"invalid_argument", -EINVAL},
               {"not_found", -ENOENT},
               {"already_exists", -EEXIST},
               {"conflict", -EBUSY},
               {"internal", -EIO}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].code, code) == 0)
            return map[i].rc;
    }
    fail_msg("unknown error code %s", code);
    return 0;
}

void fx_fails(struct vgpu_store *s, fx_mutator fn, const char *args, const char *code,
              const char *const needles[])
{
    json_t *a = fx_json(args);
    struct vgpu_err e;
    int rc = fn(s, a, &e);

    if (rc == 0)
        fail_msg("%s: accepted; want %s", args, code);
    if (strcmp(e.code, code) != 0 || rc != code_errno(code))
        fail_msg("%s: rc %d, %s: %s; want %s", args, rc, e.code, e.msg, code);
    for (int i = 0; needles[i]; i++) {
        if (!strstr(e.msg, needles[i]))
            fail_msg("%s: message \"%s\" does not mention \"%s\"", args, e.msg, needles[i]);
    }
    json_decref(a);
}

json_t *fx_snapshot(struct vgpu_store *s)
{
    json_t *snap =
        json_pack("{s:o, s:o, s:o, s:o}", "gpus", vgpu_store_gpus(s), "pools", vgpu_store_pools(s),
                  "tenants", vgpu_store_tenants(s, NULL), "weights", vgpu_store_weights(s));
    assert_non_null(snap);
    return snap;
}

void fx_assert_json(const json_t *got, const json_t *want, const char *what)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_INDENT(1) | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_INDENT(1) | JSON_ENCODE_ANY);
        fprintf(stderr, "%s: got\n%s\nwant\n%s\n", what, g ? g : "(null)", w ? w : "(null)");
        free(g);
        free(w);
        fail_msg("%s differs", what);
    }
}

void fx_assert_text(const json_t *got, const char *want, const char *what)
{
    json_t *w = fx_json(want);
    fx_assert_json(got, w, what);
    json_decref(w);
}

int fx_quarantine(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return vgpu_store_tenant_state(s, args, "quarantined", err);
}

int fx_release(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return vgpu_store_tenant_state(s, args, "active", err);
}
