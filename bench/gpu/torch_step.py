"""P1 (PyTorch part): the time of a training-like step (bf16 matmuls and a
reduction, 8192^3 by default) with the current environment. Prints JSON with
the median step time over several timed windows; bench/gpu/hook.sh runs it
native and under libvgpu.so alternately and reports the ratio."""
import json
import statistics
import sys
import time

import torch


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(10):
        c = (a @ b).relu_()
    torch.cuda.synchronize()
    windows = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(steps):
            c = (a @ b).relu_()
            a.add_(c, alpha=1e-6)
        torch.cuda.synchronize()
        windows.append((time.perf_counter() - t0) / steps)
    print(json.dumps({"n": n, "steps": steps, "step_s_median": statistics.median(windows),
                      "windows": windows}))


if __name__ == "__main__":
    main()
