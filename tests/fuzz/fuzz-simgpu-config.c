/* fuzz-simgpu-config: libFuzzer harness for simgpu_config_parse
 * (src/simgpu/config.c), which reads SIMGPU_DEVICES from the environment.
 *
 * The input, NUL-terminated, is parsed into a device table. A refusal must
 * be -EINVAL with a message. An accepted table must be one the simulated
 * driver and NVML can serve:
 *  - 1 <= ngpus <= SIMGPU_MAX_GPUS, physical GPUs first, MIG instances after;
 *  - a physical GPU has at least 64 MiB, NVML index = position, a PCI bus
 *    that fits 8 bits and grows with the position (as a number and as the
 *    bus-id string NVML sorts by), a "GPU-" UUID;
 *  - a MIG-enabled GPU has 1..7 instances, exactly those in
 *    [mig_first, mig_first + mig_count), whose parent is that GPU, each with
 *    1..7 slices and at least 1 GiB, slices summing to at most 7 and memory
 *    summing (without wrapping) to at most the parent's; a "MIG-" UUID;
 *  - all UUIDs distinct. */
#include "fuzz.h"

#include "common.h"
#include "state.h"

#include <errno.h>
#include <string.h>

static void check_table(const struct simgpu_state *st)
{
    uint32_t n = st->ngpus, nphys = 0;

    FUZZ_CHECK(n >= 1 && n <= SIMGPU_MAX_GPUS);
    while (nphys < n && st->gpu[nphys].parent == -1)
        nphys++;
    FUZZ_CHECK(nphys >= 1);
    for (uint32_t i = 0; i < nphys; i++) {
        const struct simgpu_gpu *g = &st->gpu[i];
        FUZZ_CHECK(g->mem_total >= (64ULL << 20));
        FUZZ_CHECK(g->nvml_index == (int32_t)i);
        FUZZ_CHECK(g->pci_bus <= 0xff);
        FUZZ_CHECK(strncmp(g->uuid, "GPU-", 4) == 0 && strlen(g->uuid) == 40);
        if (i > 0) {
            FUZZ_CHECK(g->pci_bus > st->gpu[i - 1].pci_bus);
            FUZZ_CHECK(strcmp(g->pci_bus_id, st->gpu[i - 1].pci_bus_id) > 0);
        }
        if (!g->mig_enabled) {
            FUZZ_CHECK(g->mig_count == 0);
            continue;
        }
        FUZZ_CHECK(g->mig_count >= 1 && g->mig_count <= SIMGPU_MAX_MIG);
        FUZZ_CHECK(g->mig_first >= (int32_t)nphys && g->mig_first + g->mig_count <= (int32_t)n);
        unsigned __int128 mem = 0;
        int slices = 0;
        for (int32_t k = g->mig_first; k < g->mig_first + g->mig_count; k++) {
            FUZZ_CHECK(st->gpu[k].parent == (int32_t)i);
            mem += st->gpu[k].mem_total;
            slices += st->gpu[k].mig_slices;
        }
        FUZZ_CHECK(slices <= 7);
        FUZZ_CHECK(mem <= g->mem_total);
    }
    for (uint32_t i = nphys; i < n; i++) {
        const struct simgpu_gpu *m = &st->gpu[i];
        FUZZ_CHECK(m->parent >= 0 && (uint32_t)m->parent < nphys);
        const struct simgpu_gpu *p = &st->gpu[m->parent];
        FUZZ_CHECK(p->mig_enabled);
        FUZZ_CHECK((int32_t)i >= p->mig_first && (int32_t)i < p->mig_first + p->mig_count);
        FUZZ_CHECK(m->mig_slices >= 1 && m->mig_slices <= 7);
        FUZZ_CHECK(m->mem_total >= (1ULL << 30) && m->mem_total <= p->mem_total);
        FUZZ_CHECK(strncmp(m->uuid, "MIG-", 4) == 0 && strlen(m->uuid) == 40);
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(st->gpu[i].uuid, st->gpu[j].uuid) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* About 1.7 MB: allocated once, reused by every input. */
    static struct simgpu_state *st;
    char err[256];
    char *spec = fuzz_strndup(data, size);

    if (!st && !(st = calloc(1, sizeof(*st))))
        abort();
    memset(err, 0, sizeof(err));
    int rc = simgpu_config_parse(st, spec, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0)
        check_table(st);
    else
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    free(spec);
    return 0;
}
