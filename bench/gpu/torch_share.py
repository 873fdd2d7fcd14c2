"""Workloads for the scheduling benchmarks (bench/gpu/sched.sh), PyTorch on
one GPU, started together and timed over the same wall-clock window:

  torch_share.py sat N START DURATION   back-to-back bf16 NxN matmuls (a
      saturating tenant); prints {"its": matmuls per second}
  torch_share.py lat N PERIOD_MS START DURATION   one NxN matmul and a
      synchronise every PERIOD_MS (a latency tenant); prints the latency
      percentiles in ms

START is a CLOCK_MONOTONIC time in seconds (time.monotonic() of any process
on the machine): each process warms up first and then waits for it, so the
measured windows coincide."""
import json
import statistics
import sys
import time

import torch


def wait_start(start):
    while time.monotonic() < start:
        time.sleep(min(0.01, max(0.0, start - time.monotonic())))


def sat(n, start, duration):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(20):
        a @ b
    torch.cuda.synchronize()
    wait_start(start)
    t0, its = time.monotonic(), 0
    while time.monotonic() - t0 < duration:
        for _ in range(8):
            a @ b
        torch.cuda.synchronize()
        its += 8
    wall = time.monotonic() - t0
    print(json.dumps({"mode": "sat", "n": n, "its": its / wall, "wall_s": wall}))


def lat(n, period_ms, start, duration):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(50):
        a @ b
    torch.cuda.synchronize()
    wait_start(start)
    samples, t0 = [], time.monotonic()
    nxt = t0
    while time.monotonic() - t0 < duration:
        nxt += period_ms / 1e3
        s = time.perf_counter()
        a @ b
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - s) * 1e3)
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
    print(json.dumps({"mode": "lat", "n": n, "period_ms": period_ms, "count": len(samples),
                      "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99),
                      "mean_ms": statistics.mean(samples)}))


def main():
    if sys.argv[1] == "sat":
        sat(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    else:
        lat(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))


if __name__ == "__main__":
    main()
