/* simgpu config: turns SIMGPU_DEVICES into the device table.
 *
 * Syntax (documented in docs/simgpu.md):
 *   SIMGPU_DEVICES = DEVICE[,DEVICE...]
 *   DEVICE         = MODEL:MEMORY[:mig=PROFILE[+PROFILE...]]
 *   PROFILE        = <slices>g.<GiB>gb          e.g. 3g.40gb
 * MODEL picks SM count, compute capability and clock from a small table of
 * real parts (unknown models get generic figures). "mig=" turns MIG mode on
 * for that GPU; its instances, not the GPU, then appear as CUDA devices.
 *
 * Identity is stable: UUIDs are derived from the position and model, PCI bus
 * ids increase with the position, so NVML's order (by PCI bus id) is the
 * order of SIMGPU_DEVICES, while CUDA's default order puts the fastest first,
 * as the real driver does. */
#include "state.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct model {
    const char *name;
    int sms, cc_major, cc_minor, clock_khz;
    uint32_t pci_device_id;
};

static const struct model models[] = {
    {"H100", 132, 9, 0, 1980000, 0x233010de},  {"H200", 132, 9, 0, 1980000, 0x233510de},
    {"B200", 148, 10, 0, 1965000, 0x290110de}, {"A100", 108, 8, 0, 1410000, 0x20b210de},
    {"A10", 72, 8, 6, 1695000, 0x223610de},    {"L4", 58, 8, 9, 2040000, 0x27b810de},
    {"L40S", 142, 8, 9, 2520000, 0x26b910de},  {"T4", 40, 7, 5, 1590000, 0x1eb810de},
    {"V100", 80, 7, 0, 1530000, 0x1db610de},
};
static const struct model generic = {"generic", 80, 8, 0, 1500000, 0x20b010de};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void make_uuid(struct simgpu_gpu *g, const char *prefix, const char *seed_text)
{
    uint64_t seed = 1469598103934665603ULL;
    for (const char *p = seed_text; *p; p++)
        seed = (seed ^ (uint8_t)*p) * 1099511628211ULL;
    uint64_t a = splitmix64(&seed), b = splitmix64(&seed);
    for (int i = 0; i < 8; i++) {
        g->uuid_bytes[i] = (uint8_t)(a >> (8 * i));
        g->uuid_bytes[8 + i] = (uint8_t)(b >> (8 * i));
    }
    const uint8_t *u = g->uuid_bytes;
    snprintf(g->uuid, sizeof(g->uuid),
             "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix,
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

static const struct model *find_model(const char *name)
{
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
        if (strcasecmp(models[i].name, name) == 0)
            return &models[i];
    return &generic;
}

/* Parses "3g.40gb" into slices and bytes. */
static int parse_profile(const char *p, int *slices, uint64_t *bytes)
{
    char *end;
    long s = strtol(p, &end, 10);
    if (end == p || s < 1 || s > 7 || strncasecmp(end, "g.", 2) != 0)
        return -EINVAL;
    const char *m = end + 2;
    long gib = strtol(m, &end, 10);
    if (end == m || gib < 1 || (uint64_t)gib > (UINT64_MAX >> 30) || strcasecmp(end, "gb") != 0)
        return -EINVAL;
    *slices = (int)s;
    *bytes = (uint64_t)gib << 30;
    return 0;
}

static int add_mig(struct simgpu_state *st, int parent, char *list, char *err, size_t errlen)
{
    struct simgpu_gpu *pg = &st->gpu[parent];
    int slices_total = 0;
    uint64_t mem_total = 0;
    char *save = NULL;

    pg->mig_enabled = 1;
    pg->mig_first = (int)st->ngpus;
    for (char *tok = strtok_r(list, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        int slices;
        uint64_t bytes;
        if (parse_profile(tok, &slices, &bytes) != 0) {
            snprintf(err, errlen, "bad MIG profile '%s' (expected like 3g.40gb)", tok);
            return -EINVAL;
        }
        if (pg->mig_count >= SIMGPU_MAX_MIG || st->ngpus >= SIMGPU_MAX_GPUS) {
            snprintf(err, errlen, "too many MIG instances on GPU %d", pg->nvml_index);
            return -EINVAL;
        }
        if (slices_total + slices > 7 || bytes > pg->mem_total - mem_total) {
            snprintf(err, errlen, "MIG profiles of GPU %d exceed 7 slices or its memory",
                     pg->nvml_index);
            return -EINVAL;
        }
        slices_total += slices;
        mem_total += bytes;
        struct simgpu_gpu *g = &st->gpu[st->ngpus];
        char seed[96];
        memset(g, 0, sizeof(*g));
        *g = (struct simgpu_gpu){
            .parent = parent,
            .mem_total = bytes,
            .sm_count = pg->sm_count * slices / 7,
            .cc_major = pg->cc_major,
            .cc_minor = pg->cc_minor,
            .clock_khz = pg->clock_khz,
            .pci_domain = pg->pci_domain,
            .pci_bus = pg->pci_bus,
            .pci_device = pg->pci_device,
            .pci_device_id = pg->pci_device_id,
            .nvml_index = pg->mig_count,
            .gi_id = pg->mig_count + 1,
            .ci_id = 0,
            .mig_slices = slices,
        };
        char name[sizeof(g->name) + 32];
        snprintf(name, sizeof(name), "%s MIG %dg.%dgb", pg->name, slices, (int)(bytes >> 30));
        vgpu_strlcpy(g->name, name, sizeof(g->name));
        vgpu_strlcpy(g->model, pg->model, sizeof(g->model));
        vgpu_strlcpy(g->pci_bus_id, pg->pci_bus_id, sizeof(g->pci_bus_id));
        snprintf(seed, sizeof(seed), "simgpu:%d:mig:%d:%s", pg->nvml_index, pg->mig_count, tok);
        make_uuid(g, "MIG", seed);
        pg->mig_count++;
        st->ngpus++;
    }
    if (pg->mig_count == 0) {
        snprintf(err, errlen, "GPU %d: mig= lists no profile (e.g. mig=3g.40gb)", pg->nvml_index);
        return -EINVAL;
    }
    return 0;
}

int simgpu_config_parse(struct simgpu_state *st, const char *spec, char *err, size_t errlen)
{
    char buf[SIMGPU_CONFIG_MAX];
    char *save = NULL;
    int nphys = 0, rc = 0;

    if (vgpu_strlcpy(buf, spec, sizeof(buf)) >= sizeof(buf)) {
        snprintf(err, errlen, "SIMGPU_DEVICES is longer than %d characters", SIMGPU_CONFIG_MAX - 1);
        return -EINVAL;
    }
    st->ngpus = 0;
    /* Physical GPUs first (their NVML indices), MIG instances appended after. */
    char *migs[SIMGPU_MAX_GPUS] = {0};
    for (char *dev = strtok_r(buf, ",", &save); dev; dev = strtok_r(NULL, ",", &save)) {
        char *model = dev, *mem = strchr(dev, ':'), *mig = NULL;
        uint64_t bytes;
        if (!mem || mem == model) {
            snprintf(err, errlen, "device '%s' is not MODEL:MEMORY (e.g. H100:80GiB)", dev);
            return -EINVAL;
        }
        *mem++ = '\0';
        mig = strchr(mem, ':');
        if (mig) {
            *mig++ = '\0';
            if (strncasecmp(mig, "mig=", 4) != 0) {
                snprintf(err, errlen, "unknown device option '%s' (expected mig=...)", mig);
                return -EINVAL;
            }
            mig += 4;
        }
        if (vgpu_parse_size(mem, &bytes) != 0 || bytes < (64ULL << 20)) {
            snprintf(err, errlen, "bad memory size '%s' for %s (e.g. 80GiB, at least 64MiB)", mem,
                     model);
            return -EINVAL;
        }
        if (nphys >= SIMGPU_MAX_GPUS / 2 || strlen(model) >= 24) {
            snprintf(err, errlen, "too many devices or model name too long at '%s'", model);
            return -EINVAL;
        }
        const struct model *m = find_model(model);
        struct simgpu_gpu *g = &st->gpu[st->ngpus];
        char seed[64];
        memset(g, 0, sizeof(*g));
        *g = (struct simgpu_gpu){
            .parent = -1,
            .mem_total = bytes,
            .sm_count = m->sms,
            .cc_major = m->cc_major,
            .cc_minor = m->cc_minor,
            .clock_khz = m->clock_khz,
            .pci_domain = 0,
            .pci_bus = 0x18 + 0x0e * (uint32_t)nphys, /* 16 GPUs end at 0xee */
            .pci_device = 0,
            .pci_device_id = m->pci_device_id,
            .nvml_index = nphys,
            .mig_first = -1,
        };
        vgpu_strlcpy(g->model, model, sizeof(g->model));
        snprintf(g->name, sizeof(g->name), "NVIDIA %s (simgpu)", model);
        snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%08X:%02X:%02X.0", g->pci_domain,
                 g->pci_bus, g->pci_device);
        snprintf(seed, sizeof(seed), "simgpu:%d:%s", nphys, model);
        make_uuid(g, "GPU", seed);
        migs[st->ngpus] = mig;
        st->ngpus++;
        nphys++;
    }
    if (nphys == 0) {
        snprintf(err, errlen, "SIMGPU_DEVICES lists no device");
        return -EINVAL;
    }
    for (int i = 0; i < nphys && rc == 0; i++)
        if (migs[i])
            rc = add_mig(st, i, migs[i], err, errlen);
    return rc;
}
