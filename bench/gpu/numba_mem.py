"""Numba (driver API through ctypes) under libvgpu.so: a @cuda.jit kernel runs,
the context reports the virtual GPU, and allocation stops at the limit."""
import json
import os

import numpy as np

# The GPU machines pair numba-cuda 0.68 with a NumPy that no longer has
# row_stack (an alias of vstack), which numba-cuda references while compiling
# any kernel. Restoring the alias here keeps the benchmark about vgpu.
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402
from numba.cuda.cudadrv.driver import CudaAPIError  # noqa: E402


@cuda.jit
def add_one(x):
    i = cuda.grid(1)
    if i < x.size:
        x[i] += 1


MiB = 1 << 20
ctx = cuda.current_context()
free, total = ctx.get_memory_info()
d = cuda.to_device(np.zeros(1 << 20, dtype=np.float32))
add_one[1024, 1024](d)
ok = bool((d.copy_to_host() == 1).all())
blocks, oom = [], False
try:
    while True:
        blocks.append(cuda.device_array(64 * MiB, dtype=np.uint8))
except (CudaAPIError, MemoryError, Exception) as e:  # numba raises its own error type
    oom = "OUT_OF_MEMORY" in repr(e) or "out of memory" in repr(e).lower()
print(json.dumps({"limit": os.environ.get("VGPU_MEMORY_LIMIT"), "total": total, "free": free,
                  "kernel_ok": ok, "oom_raised": oom, "held_at_oom": len(blocks) * 64 * MiB}))
