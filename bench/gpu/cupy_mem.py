"""CuPy under libvgpu.so: sees the virtual GPU and stops at the limit."""
import json
import os

import cupy

MiB = 1 << 20
free, total = cupy.cuda.runtime.memGetInfo()
blocks, oom = [], False
pool = cupy.get_default_memory_pool()
try:
    while True:
        blocks.append(cupy.empty(64 * MiB, dtype=cupy.uint8))
except cupy.cuda.memory.OutOfMemoryError:
    oom = True
held = len(blocks) * 64 * MiB
blocks.clear()
pool.free_all_blocks()
x = cupy.ones(1024, dtype=cupy.float32)
print(json.dumps({"limit": os.environ.get("VGPU_MEMORY_LIMIT"), "total": total, "free": free,
                  "oom_raised": oom, "held_at_oom": held, "sum_after": float(x.sum())}))
