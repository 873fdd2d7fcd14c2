/* device: what GPUs this machine has, as NVML and CUDA both see them.
 *
 * Used by vgpud (scan-gpus), vgpu-admin and libvgpu.so. NVML is loaded with
 * dlopen and our own declarations (src/common/nvml_types.h); CUDA likewise
 * (cuInit, cuDeviceGetCount, cuDeviceGetPCIBusId, cuDeviceGetUuid_v2: no
 * context is created). Every physical GPU has a UUID, name, memory, PCI bus
 * id and NVML index; a GPU in MIG mode also lists its MIG instances (UUID,
 * memory, parent). The CUDA ordinal of a full GPU is found by PCI bus id and
 * that of a MIG instance by UUID, so the mapping holds whatever the CUDA
 * enumeration order and CUDA_VISIBLE_DEVICES of the scanning process. No
 * driver or no GPU is a clear error, never a crash. vgpud also reads each
 * GPU's memory in use and utilisation from NVML for its metrics (live.c). */
#ifndef VGPU_DEVICE_H
#define VGPU_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VGPU_DEVICE_MAX 64 /* GPUs plus MIG instances; a scan keeps the first 64 and warns */

struct vgpu_gpu {
    char uuid[96];       /* "GPU-..." or "MIG-..." as NVML spells it */
    char name[96];       /* "NVIDIA H200" */
    char pci_bus_id[32]; /* "00000000:18:00.0" (NVML form; a MIG instance has its parent's) */
    uint64_t mem_total;  /* bytes */
    int nvml_index;      /* physical GPU: NVML index; MIG instance: its index within the parent */
    int cuda_ordinal;    /* in the scanning process's CUDA enumeration; -1 when not visible */
    int parent;          /* MIG instance: index of its GPU in the scan; -1 for a physical GPU */
    bool mig_enabled;    /* physical GPU: MIG mode is on */
    unsigned gpu_instance, compute_instance; /* MIG instance ids */
    int cc_major, cc_minor;                  /* a MIG instance: its parent's */
};

struct vgpu_scan {
    int count;
    struct vgpu_gpu gpu[VGPU_DEVICE_MAX];
    char driver_version[80]; /* NVML's, "" when unknown */
    int cuda_driver_version; /* cuDriverGetVersion; 0 when CUDA could not be used */
};

/* Scans with NVML (required) and CUDA (optional). Physical GPUs come first
 * in NVML order, each MIG instance after all physical GPUs. Returns 0, or
 * -ENOENT (no driver: libnvidia-ml.so.1 cannot be loaded), -ENODEV (no GPU),
 * -EIO (NVML failed) or -EINVAL (out is NULL), with a one-line reason in err
 * and *out zeroed. On success err is "" or, when CUDA could not be used (no
 * libcuda.so.1, or cuInit failed, as under CUDA_VISIBLE_DEVICES=""), a
 * one-line note saying why; then cuda_driver_version is 0 and every
 * cuda_ordinal -1. CUDA reads CUDA_VISIBLE_DEVICES once per process, at
 * cuInit: later scans in the same process see the same CUDA devices. */
int vgpu_device_scan(struct vgpu_scan *out, char *err, size_t errlen);

/* Parses a CUDA_VISIBLE_DEVICES value against the device order `uuids` (n
 * entries, "GPU-..."/"MIG-..."), as the driver does: entries are separated by
 * ',' with optional spaces around each; an entry of decimal digits is an
 * index into `uuids`; an entry starting with "GPU-" or "MIG-" (any case) is
 * a full UUID or a unique prefix of one of at least 5 characters ("GPU-x";
 * an exact match wins, an ambiguous prefix matches nothing). The first entry
 * that matches nothing, or that repeats a device already selected, ends the
 * list. Writes the selected indices into `out` (at most max) and returns how
 * many; an empty value selects nothing. -EINVAL when `value` is NULL, n or
 * max is negative, or uuids / out is NULL while n / max is not 0. The real
 * driver counts indices in its own enumeration order (fastest first unless
 * CUDA_DEVICE_ORDER=PCI_BUS_ID, MIG instances in place of their GPU): pass
 * `uuids` in that order to predict what a process will see. Pure: no driver
 * call, no allocation. */
int vgpu_visible_devices(const char *value, const char *const *uuids, int n, int *out, int max);

/* What a GPU is doing now (live.c), as NVML reports it. */
struct vgpu_gpu_live {
    uint64_t mem_total, mem_used; /* bytes: the whole device, every process */
    double utilization;           /* 0-1: the part of NVML's last sample period a kernel ran */
    bool has_utilization;         /* false for MIG instances and GPUs in MIG mode */
};
/* The live figures of the GPU or MIG instance with `uuid` ("GPU-..." or
 * "MIG-..."). NVML is loaded and initialised at the first call and kept for
 * the next ones (a failed load is retried each time). 0, or -ENOENT (no
 * driver), -ENODEV (no such GPU), -EIO (NVML failed) or -EINVAL; *out is
 * zeroed on error. Thread-safe. */
int vgpu_device_live(const char *uuid, struct vgpu_gpu_live *out);
/* Shuts NVML down and unloads it (a daemon's exit; a later call loads it again). */
void vgpu_device_live_close(void);

#endif
