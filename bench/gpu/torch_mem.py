"""P4 for PyTorch: under libvgpu.so with VGPU_MEMORY_LIMIT, PyTorch must see the
virtual GPU (total == limit), allocate up to the limit less its context and one
allocator granule, raise OutOfMemoryError there, and carry on after freeing.
Prints one JSON line. Run with and without PYTORCH_CUDA_ALLOC_CONF=
expandable_segments:True (the VMM path)."""
import json
import os
import subprocess
import sys

import torch

MiB = 1 << 20
UNITS = {"k": 1 << 10, "m": MiB, "g": 1 << 30, "kib": 1 << 10, "mib": MiB, "gib": 1 << 30}


def parse_size(text):
    t = text.strip().lower()
    for u in sorted(UNITS, key=len, reverse=True):
        if t.endswith(u):
            return int(float(t[: -len(u)]) * UNITS[u])
    return int(t)


def nvml_process_mib():
    out = subprocess.run(
        ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        pid, used = [f.strip() for f in line.split(",")]
        if int(pid) == os.getpid():
            return int(used)
    return None


def main():
    limit = parse_size(os.environ["VGPU_MEMORY_LIMIT"]) if "VGPU_MEMORY_LIMIT" in os.environ else None
    torch.cuda.init()
    free, total = torch.cuda.mem_get_info()
    props_total = torch.cuda.get_device_properties(0).total_memory
    blocks, oom = [], False
    try:
        while True:
            blocks.append(torch.empty(64 * MiB, dtype=torch.uint8, device="cuda"))
    except torch.cuda.OutOfMemoryError:
        oom = True
    allocated = torch.cuda.memory_allocated()
    reserved = torch.cuda.memory_reserved()
    nvml_at_peak = nvml_process_mib()
    del blocks[len(blocks) // 2:]
    torch.cuda.empty_cache()
    again = torch.empty(128 * MiB, dtype=torch.uint8, device="cuda")  # carries on after OOM
    again.fill_(1)
    torch.cuda.synchronize()
    result = {
        "alloc_conf": os.environ.get("PYTORCH_CUDA_ALLOC_CONF", ""),
        "limit": limit, "mem_get_info_total": total, "mem_get_info_free_start": free,
        "device_properties_total": props_total, "oom_raised": oom,
        "allocated_at_oom": allocated, "reserved_at_oom": reserved,
        "nvml_process_mib_at_oom": nvml_at_peak, "carried_on": True,
    }
    if limit:
        result["total_is_limit"] = total == limit
        result["allocated_vs_limit"] = allocated / limit
        result["nvml_within_limit"] = nvml_at_peak is not None and nvml_at_peak * MiB <= limit
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
