/* fuzz-store-args: libFuzzer harness for the store's mutators
 * (src/daemon/store*.c), the one gate that CLI and HTTP arguments pass.
 *
 * Input: lines "OP JSON", OP one of pool_create pool_rm assign unassign
 * tenant_add tenant_set tenant_rm quarantine release weights; the JSON may
 * be any value (a mutator must refuse what is not an object) and NUL inside
 * strings is allowed; a line whose JSON does not parse calls OP with NULL.
 * The lines (at most 16) run in order on a fresh :memory: store that already holds GPUs
 * (one in MIG mode, one missing), pools and tenants, so arguments can
 * collide with real state. After every call: success leaves err empty and
 * refusal fills it with one of the five codes and a message free of control
 * characters (C0, DEL, C1); "internal" never happens (every bad value is caught in C
 * before SQLite's CHECK constraints see it); and a refused call leaves every
 * listing exactly as it was. */
#include "fuzz.h"

#include "device.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 16 /* requests per input: enough for interplay, few enough to stay fast */

typedef int (*mutator)(struct vgpu_store *, const json_t *, struct vgpu_err *);

static int quarantine(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return vgpu_store_tenant_state(s, args, "quarantined", err);
}

static int release(struct vgpu_store *s, const json_t *args, struct vgpu_err *err)
{
    return vgpu_store_tenant_state(s, args, "active", err);
}

static const struct {
    const char *op;
    mutator fn;
} ops[] = {
    {"pool_create", vgpu_store_pool_create},
    {"pool_rm", vgpu_store_pool_rm},
    {"assign", vgpu_store_assign_gpu},
    {"unassign", vgpu_store_unassign_gpu},
    {"tenant_add", vgpu_store_tenant_add},
    {"tenant_set", vgpu_store_tenant_set},
    {"tenant_rm", vgpu_store_tenant_rm},
    {"quarantine", quarantine},
    {"release", release},
    {"weights", vgpu_store_set_weights},
};

static void gpu(struct vgpu_scan *scan, const char *uuid, int nvml, int parent, bool mig)
{
    struct vgpu_gpu *g = &scan->gpu[scan->count++];
    snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
    snprintf(g->name, sizeof(g->name), "NVIDIA H100");
    snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "00000000:%02X:00.0", 0x18 + scan->count);
    g->mem_total = 80ULL << 30;
    g->nvml_index = nvml;
    g->cuda_ordinal = mig ? -1 : scan->count - 1;
    g->parent = parent;
    g->mig_enabled = mig;
}

/* A setup step, which must succeed. */
static void call(struct vgpu_store *s, mutator fn, const char *text)
{
    json_t *args = json_loads(text, 0, NULL);
    struct vgpu_err e;

    FUZZ_CHECK(args != NULL && fn(s, args, &e) == 0);
    json_decref(args);
}

/* GPUs 0 (GPU-1111...), 1 (GPU-1111... in MIG mode), 2 and 3 (its
 * instances), GPU-9999... seen once and now missing; pools A (GPU 0) and B
 * (instance 2); tenants vm-1..vm-4, vm-1 bound to uid 1000 and vm-2 to a
 * cgroup. */
static struct vgpu_store *setup(void)
{
    struct vgpu_store *s = NULL;
    struct vgpu_scan scan = {0};
    struct vgpu_err e;

    FUZZ_CHECK(vgpu_store_open(":memory:", &s, &e) == 0);
    gpu(&scan, "GPU-99999999-0000-0000-0000-000000000000", 2, -1, false);
    FUZZ_CHECK(vgpu_store_sync_gpus(s, &scan, &e) == 0);
    scan.count = 0;
    gpu(&scan, "GPU-11111111-2222-3333-4444-555555555555", 0, -1, false);
    gpu(&scan, "GPU-11111111-9999-3333-4444-555555555555", 1, -1, true);
    gpu(&scan, "MIG-22222222-0000-0000-0000-000000000001", 0, 1, false);
    gpu(&scan, "MIG-22222222-0000-0000-0000-000000000002", 1, 1, false);
    FUZZ_CHECK(vgpu_store_sync_gpus(s, &scan, &e) == 0);
    call(s, vgpu_store_pool_create, "{\"name\": \"A\", \"gpus\": [0]}");
    call(s, vgpu_store_pool_create, "{\"name\": \"B\", \"gpus\": \"2\"}");
    call(s, vgpu_store_tenant_add, "{\"vm_id\": 1, \"pool\": \"A\", \"bind_uid\": 1000}");
    call(s, vgpu_store_tenant_add, "{\"vm_id\": 2, \"pool\": \"A\", \"bind_cgroup\": \"/vgpu/2\"}");
    call(s, vgpu_store_tenant_add, "{\"vm_id\": 3, \"pool\": \"B\", \"priority\": \"high\"}");
    call(s, vgpu_store_tenant_add, "{\"name\": \"vm-4\", \"pool\": \"B\", \"memory\": \"8GiB\"}");
    return s;
}

static json_t *snapshot(struct vgpu_store *s)
{
    json_t *snap =
        json_pack("{s:o, s:o, s:o, s:o}", "gpus", vgpu_store_gpus(s), "pools", vgpu_store_pools(s),
                  "tenants", vgpu_store_tenants(s, NULL), "weights", vgpu_store_weights(s));
    FUZZ_CHECK(snap != NULL);
    return snap;
}

static void check_error(int rc, const struct vgpu_err *e)
{
    static const struct {
        const char *code;
        int rc;
    } codes[] = {{"invalid_argument", -EINVAL},
                 {"not_found", -ENOENT},
                 {"already_exists", -EEXIST},
                 {"conflict", -EBUSY}};
    size_t i = 0, n = strnlen(e->msg, sizeof(e->msg));

    while (i < sizeof(codes) / sizeof(codes[0]) && strcmp(codes[i].code, e->code) != 0)
        i++;
    FUZZ_CHECK(i < sizeof(codes) / sizeof(codes[0])); /* never "internal" */
    FUZZ_CHECK(rc == codes[i].rc);
    FUZZ_CHECK(n > 0 && n < sizeof(e->msg));
    for (i = 0; i < n; i++) { /* no C0, DEL or C1 (UTF-8 0xc2 0x80-0x9f) control */
        unsigned char c = (unsigned char)e->msg[i], next = (unsigned char)e->msg[i + 1];
        FUZZ_CHECK(c >= 0x20 && c != 0x7f && !(c == 0xc2 && next >= 0x80 && next <= 0x9f));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size), *line = text;
    struct vgpu_store *s = setup();
    json_t *before = snapshot(s);

    for (int n = 0; line && *line && n < MAX_LINES; n++) {
        char *end = strchr(line, '\n'), *sp;
        size_t op = 0, oplen;
        if (end)
            *end = '\0';
        sp = strchr(line, ' ');
        oplen = sp ? (size_t)(sp - line) : strlen(line);
        while (op < sizeof(ops) / sizeof(ops[0]) &&
               (strlen(ops[op].op) != oplen || strncmp(line, ops[op].op, oplen) != 0))
            op++;
        if (op < sizeof(ops) / sizeof(ops[0])) {
            const char *j = sp ? sp + 1 : "";
            json_t *args = json_loadb(j, strlen(j), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            json_t *after;
            struct vgpu_err e;
            int rc;
            memset(&e, 0x55, sizeof(e));
            rc = ops[op].fn(s, args, &e);
            after = snapshot(s);
            if (rc == 0) {
                FUZZ_CHECK(e.code[0] == '\0' && e.msg[0] == '\0');
            } else {
                check_error(rc, &e);
                FUZZ_CHECK(json_equal(before, after)); /* nothing half-written */
            }
            json_decref(before);
            before = after;
            json_decref(args);
        }
        line = end ? end + 1 : NULL;
    }
    json_decref(before);
    vgpu_store_close(s);
    free(text);
    return 0;
}
