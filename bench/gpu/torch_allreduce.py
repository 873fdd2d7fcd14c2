"""A torch.distributed (NCCL) training-like loop for bench/gpu/nccl.sh: each
rank, on GPU `rank`, runs a bf16 2048^3 matmul and then an all-reduce of a
64 MiB tensor, over and over, from START (a CLOCK_MONOTONIC time in seconds)
for DURATION seconds. Rank and world size come from RANK and WORLD_SIZE;
MASTER_ADDR/MASTER_PORT as torch.distributed reads them. Prints one JSON
line per rank: iterations, iterations per second, the last reduced value
(checked against what the ranks put in)."""
import json
import os
import sys
import time

import torch
import torch.distributed as dist


def main():
    start, duration = float(sys.argv[1]), float(sys.argv[2])
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world, device_id=torch.device("cuda", rank))
    a = torch.randn(2048, 2048, device="cuda", dtype=torch.bfloat16)
    g = torch.ones(16 << 20, device="cuda", dtype=torch.float32)
    for _ in range(5):
        a @ a
        dist.all_reduce(g)
    torch.cuda.synchronize()
    dist.barrier()
    while time.monotonic() < start:
        time.sleep(0.01)
    t0, its = time.monotonic(), 0
    while True:
        a @ a
        g.fill_(rank + 1)
        dist.all_reduce(g)
        its += 1
        if its % 20 == 0:
            # Every rank must run the same collectives: they agree to go on.
            go = torch.tensor([1 if time.monotonic() - t0 < duration else 0], device="cuda")
            dist.all_reduce(go, op=dist.ReduceOp.MIN)
            if go.item() == 0:
                break
    torch.cuda.synchronize()
    wall = time.monotonic() - t0
    want = world * (world + 1) / 2
    print(json.dumps({"rank": rank, "its": its, "its_per_s": its / wall, "wall_s": wall,
                      "reduced": g[0].item(), "expected": want}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
