#!/bin/sh
# sched.sh OUTDIR: the GPU-time scheduler on a real GPU, against native
# time-slicing and MPS in the same run (PyTorch workloads, torch_share.py).
#   P1  launch-bound loop (vgpu-work, empty kernels) native vs libvgpu.so in
#       ABBA pairs of 5 s, now that every launch passes the lease gate;
#   P2  two saturating matmul tenants with caps 30/70 (vgpud-managed), a 30%
#       cap alone, and high vs low weights (4:1); shares against the alone
#       throughput, and the GPU time vgpud's scheduler accounted;
#   P3  a latency tenant (high: a 1024^3 matmul every 2 ms) beside a
#       saturating one (low): its p99 against alone, and the low tenant's
#       throughput, under vgpu, native and MPS (client priorities).
# MPS is started for its runs and stopped right after (never left running).
# Needs build-gpu/ (VGPU_BUILD) with bin/{vgpud,vgpu-admin,vgpu-work} and
# lib/libvgpu.so plus the shared libraries the GPU machine lacks.
set -u
out=${1:?usage: sched.sh OUTDIR}
cd "$(dirname "$0")/../.."
build=$(readlink -f "${VGPU_BUILD:-build-gpu}")
lib="$build/lib/libvgpu.so"
export LD_LIBRARY_PATH="$build/lib" VGPU_ACCOUNT_PREFIX="gpusched$$"
N=${SCHED_N:-4096}     # the saturating matmul size
DUR=${SCHED_DUR:-8}   # seconds per measured window
mkdir -p "$out"
tmp=$(mktemp -d)
admin() { "$build/bin/vgpu-admin" --socket "$tmp/s" "$@"; }
cleanup() {
    echo quit | nvidia-cuda-mps-control >/dev/null 2>&1
    [ -n "${vgpud:-}" ] && kill "$vgpud" 2>/dev/null
    rm -rf "$tmp"
    rm -f /dev/shm/$VGPU_ACCOUNT_PREFIX.*
}
trap cleanup EXIT
share() { python3 bench/gpu/torch_share.py "$@"; }
# The SM clock, power and utilisation every 200 ms for the next window
# (a low duty cycle may let the GPU clock higher: the cap-alone case).
clocks() {
    timeout $((DUR + 16)) nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,utilization.gpu \
        --format=csv,noheader -lms 200 >"$out/clocks-$1.csv" 2>/dev/null &
}
start_at() { python3 -c "import time; print(time.monotonic() + 15)"; }

echo "== P1: launch-bound loop, native vs libvgpu.so (ABBA, 5 s each)"
for i in 1 2 3 4 5 6; do
    if [ $((i % 2)) -eq 1 ]; then order="native hooked"; else order="hooked native"; fi
    for side in $order; do
        if [ "$side" = native ]; then
            "$build/bin/vgpu-work" --kernel empty --sync-every 0 --duration 5 --json >"$out/p1-native-$i.json"
        else
            env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB VGPU_TENANT="p1" "$build/bin/vgpu-work" \
                --kernel empty --sync-every 0 --duration 5 --json >"$out/p1-hooked-$i.json"
        fi
    done
done

echo "== alone"
clocks alone
s=$(start_at); share sat "$N" "$s" "$DUR" >"$out/alone-sat.json"
s=$(start_at); share lat 1024 2 "$s" "$DUR" >"$out/alone-lat.json"

echo "== native time-slicing"
s=$(start_at)
share sat "$N" "$s" "$DUR" >"$out/native-sat-a.json" &
p=$!
share sat "$N" "$s" "$DUR" >"$out/native-sat-b.json"
wait "$p"
s=$(start_at)
share lat 1024 2 "$s" "$DUR" >"$out/native-p3-lat.json" &
p=$!
share sat "$N" "$s" "$DUR" >"$out/native-p3-sat.json"
wait "$p"

echo "== vgpud-managed"
"$build/bin/vgpud" --foreground --socket "$tmp/s" --db "$tmp/db" 2>"$out/vgpud.log" &
vgpud=$!
for i in $(seq 50); do admin ping >/dev/null 2>&1 && break; sleep 0.1; done
admin scan-gpus >/dev/null
admin pool create A --gpus 0
admin tenant add cap30 --pool A --share 30
admin tenant add cap70 --pool A --share 70
admin tenant add solo30 --pool A --share 30
admin tenant add hi --pool A --priority high
admin tenant add lo --pool A --priority low
admin tenant add lat --pool A --priority high
admin tenant add bulk --pool A --priority low
vr() { t=$1; shift; env LD_PRELOAD="$lib" VGPU_SOCKET="$tmp/s" VGPU_TENANT="$t" "$@"; }
gputime() { admin status --json >"$out/status-$1.json"; }

s=$(start_at)
vr cap30 python3 bench/gpu/torch_share.py sat "$N" "$s" "$DUR" >"$out/vgpu-cap30.json" &
p=$!
vr cap70 python3 bench/gpu/torch_share.py sat "$N" "$s" "$DUR" >"$out/vgpu-cap70.json"
wait "$p"; gputime caps
clocks solo30
s=$(start_at)
vr solo30 python3 bench/gpu/torch_share.py sat "$N" "$s" "$DUR" >"$out/vgpu-solo30.json"
gputime solo
s=$(start_at)
vr hi python3 bench/gpu/torch_share.py sat "$N" "$s" "$DUR" >"$out/vgpu-hi.json" &
p=$!
vr lo python3 bench/gpu/torch_share.py sat "$N" "$s" "$DUR" >"$out/vgpu-lo.json"
wait "$p"; gputime weights
s=$(start_at)
vr lat python3 bench/gpu/torch_share.py lat 1024 2 "$s" "$DUR" >"$out/vgpu-p3-lat.json" &
p=$!
vr bulk python3 bench/gpu/torch_share.py sat "$N" "$s" "$DUR" >"$out/vgpu-p3-sat.json"
wait "$p"; gputime p3
s=$(start_at)
vr lat python3 bench/gpu/torch_share.py lat 1024 2 "$s" "$DUR" >"$out/vgpu-lat-alone.json"
admin status >"$out/status.txt"
kill "$vgpud"; wait "$vgpud" 2>/dev/null; vgpud=

echo "== MPS"
export CUDA_MPS_PIPE_DIRECTORY="$tmp/mps" CUDA_MPS_LOG_DIRECTORY="$tmp/mpslog"
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
if nvidia-cuda-mps-control -d; then
    s=$(start_at)
    CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=30 share sat "$N" "$s" "$DUR" >"$out/mps-30.json" &
p=$!
    CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=70 share sat "$N" "$s" "$DUR" >"$out/mps-70.json"
    wait "$p"
    s=$(start_at)
    CUDA_MPS_CLIENT_PRIORITY=0 share lat 1024 2 "$s" "$DUR" >"$out/mps-p3-lat.json" &
p=$!
    CUDA_MPS_CLIENT_PRIORITY=1 share sat "$N" "$s" "$DUR" >"$out/mps-p3-sat.json"
    wait "$p"
    echo quit | nvidia-cuda-mps-control
else
    echo "MPS did not start" >"$out/mps.err"
fi
python3 bench/gpu/sched_summary.py "$out"
# The machine hands back few files: pack the raw ones.
tar czf "$out.tgz" -C "$(dirname "$out")" "$(basename "$out")"
