/* simgpu device enumeration: which CUDA devices a process sees, and in which
 * order, for a machine of SIMGPU_DEVICES="A100:40GiB,H100:80GiB:mig=3g.40gb+2g.20gb,L4:24GiB".
 *
 * NVML numbers GPUs by PCI bus id (A100, H100, L4); CUDA puts the fastest
 * first and replaces a MIG-mode GPU by its instances; CUDA_DEVICE_ORDER and
 * CUDA_VISIBLE_DEVICES (indices, UUIDs, unique UUID prefixes, stopping at the
 * first bad entry) change that, all decided at cuInit. The environment is
 * per process, so CTest runs this program once per case: `test-sim-enum CASE`
 * with the case's environment; the expected devices are named by model (and
 * MIG instance) and checked by UUID against the simulated device table. */
#include <cuda.h>

#include "state.h"
#include "vt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A device as the test names it: index into the state's table. */
static int find_gpu(struct simgpu_state *st, const char *what)
{
    for (uint32_t i = 0; i < st->ngpus; i++) {
        const struct simgpu_gpu *g = &st->gpu[i];
        char label[64];
        if (g->parent >= 0)
            snprintf(label, sizeof(label), "%s/mig%d", g->model, g->nvml_index);
        else
            snprintf(label, sizeof(label), "%s", g->model);
        if (strcmp(label, what) == 0)
            return (int)i;
    }
    return -1;
}

static int check(struct simgpu_state *st, const char *const *want, int nwant)
{
    int n = -1;
    if (cuDeviceGetCount(&n) != CUDA_SUCCESS || n != nwant) {
        fprintf(stderr, "device count %d, expected %d\n", n, nwant);
        return 1;
    }
    for (int d = 0; d < n; d++) {
        CUuuid u1, u2;
        int gi = find_gpu(st, want[d]);
        /* cuda.h maps cuDeviceGetUuid to _v2; the v1 entry point is what a
         * program built for CUDA < 11.4 gets from cuGetProcAddress. */
        CUresult (*get_uuid_v1)(CUuuid *, CUdevice) = NULL;
        if (cuGetProcAddress("cuDeviceGetUuid", (void **)&get_uuid_v1, 11000, 0, NULL) !=
                CUDA_SUCCESS ||
            gi < 0 || cuDeviceGetUuid_v2(&u2, d) != CUDA_SUCCESS ||
            get_uuid_v1(&u1, d) != CUDA_SUCCESS) {
            fprintf(stderr, "device %d: cannot check %s\n", d, want[d]);
            return 1;
        }
        const struct simgpu_gpu *g = &st->gpu[gi];
        const struct simgpu_gpu *phys = g->parent >= 0 ? &st->gpu[g->parent] : g;
        /* v2 names the instance, v1 the physical GPU it lives on. */
        if (memcmp(u2.bytes, g->uuid_bytes, 16) != 0 || memcmp(u1.bytes, phys->uuid_bytes, 16)) {
            fprintf(stderr, "device %d is not %s\n", d, want[d]);
            return 1;
        }
        size_t total;
        if (cuDeviceTotalMem(&total, d) != CUDA_SUCCESS || total != g->mem_total) {
            fprintf(stderr, "device %d memory %zu, expected %llu\n", d, total,
                    (unsigned long long)g->mem_total);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const fastest[] = {"A100", "L4", "H100/mig0", "H100/mig1"};
    static const char *const pci[] = {"A100", "H100/mig0", "H100/mig1", "L4"};
    static const char *const second_only[] = {"H100/mig1"};
    static const char *const uuid_pick[] = {"L4", "A100"};
    static const char *const stop_at_bad[] = {"A100"};
    const char *c = argc > 1 ? argv[1] : "";
    CUresult rc;

    vt_fresh_simgpu();
    struct simgpu_state *st = simgpu_state_get();
    if (!st)
        return 1;
    /* Cases whose CUDA_VISIBLE_DEVICES names UUIDs fill it in here, from the
     * table, before cuInit reads it. */
    if (strcmp(c, "uuid") == 0) {
        char vis[160];
        /* a full UUID and a unique prefix of another */
        snprintf(vis, sizeof(vis), "%s,%.12s", st->gpu[find_gpu(st, "L4")].uuid,
                 st->gpu[find_gpu(st, "A100")].uuid);
        setenv("CUDA_VISIBLE_DEVICES", vis, 1);
    }
    rc = cuInit(0);
    if (strcmp(c, "none") == 0)
        return rc == CUDA_ERROR_NO_DEVICE ? 0 : 1;
    if (rc != CUDA_SUCCESS) {
        fprintf(stderr, "cuInit: %d\n", rc);
        return 1;
    }
    if (strcmp(c, "default") == 0)
        return check(st, fastest, 4);
    if (strcmp(c, "pci") == 0)
        return check(st, pci, 4);
    if (strcmp(c, "index") == 0)
        return check(st, second_only, 1);
    if (strcmp(c, "uuid") == 0)
        return check(st, uuid_pick, 2);
    if (strcmp(c, "bad-entry") == 0)
        return check(st, stop_at_bad, 1);
    fprintf(stderr, "usage: test-sim-enum default|pci|index|uuid|bad-entry|none\n");
    return 2;
}
