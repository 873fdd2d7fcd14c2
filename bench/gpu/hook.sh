#!/bin/sh
# hook.sh OUTDIR: libvgpu.so on a real GPU, against native in the same run.
#   P1  launch-bound loop (vgpu-work, empty kernels, async) and a PyTorch step,
#       native and preloaded alternately, ratio of medians;
#   P4  PyTorch (default and expandable segments), CuPy, Numba and an nvcc
#       program (shared and static cudart) see the limit and stop at it; 16
#       processes racing under one limit, and SIGKILL reclaim, checked with NVML
#       (tests/hook/test-hook-procs).
# Needs build-gpu/ (VGPU_BUILD) with lib/libvgpu.so, bin/vgpu-run, bin/vgpu-work
# and bin/test-hook-procs, built elsewhere if this machine cannot build them.
set -u
out=${1:?usage: hook.sh OUTDIR}
cd "$(dirname "$0")/../.."
build=${VGPU_BUILD:-build-gpu}
lib=$(readlink -f "$build/lib/libvgpu.so")
export LD_LIBRARY_PATH="$(readlink -f "$build/lib")" # cmocka for the test binary
mkdir -p "$out"
run() { # label, then the command: its stdout and stderr go to OUTDIR/label.out|.err
    label=$1
    shift
    timeout 300 "$@" >"$out/$label.out" 2>"$out/$label.err"
    echo "$label rc=$?"
}

echo "== P1: launch-bound loop and PyTorch step, native vs libvgpu.so"
# Pairs in ABBA order (native first in odd pairs, preloaded first in even
# ones) so that a drift of the GPU's clocks over the run cancels out; the
# summary takes the median of the per-pair ratios.
p1_pair() { # kind, index, order
    for side in $3; do
        if [ "$1" = launch ]; then
            if [ "$side" = native ]; then
                run "p1-native-$2" "$build/bin/vgpu-work" --kernel empty --sync-every 0 --duration 2 --json
            else
                run "p1-hooked-$2" env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB \
                    VGPU_TENANT="bench-$$-p1" "$build/bin/vgpu-work" --kernel empty --sync-every 0 \
                    --duration 2 --json
            fi
        elif [ "$side" = native ]; then
            run "step-native-$2" python3 bench/gpu/torch_step.py 8192 20
        else
            run "step-hooked-$2" env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=16GiB \
                VGPU_TENANT="bench-$$-step" python3 bench/gpu/torch_step.py 8192 20
        fi
    done
}
for i in 1 2 3 4 5 6 7 8; do
    if [ $((i % 2)) -eq 1 ]; then order="native hooked"; else order="hooked native"; fi
    p1_pair launch "$i" "$order"
done
for i in 1 2 3 4 5 6 7 8 9 10; do
    if [ $((i % 2)) -eq 1 ]; then order="native hooked"; else order="hooked native"; fi
    p1_pair step "$i" "$order"
done

echo "== P4: frameworks see the virtual GPU and stop at the limit (8 GiB)"
run torch-default "$build/bin/vgpu-run" --tenant "bench-$$-t1" --memory 8GiB -- \
    python3 bench/gpu/torch_mem.py
run torch-expandable env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB VGPU_TENANT="bench-$$-t2" \
    PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True python3 bench/gpu/torch_mem.py
run cupy env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB VGPU_TENANT="bench-$$-c" \
    python3 bench/gpu/cupy_mem.py
run numba env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB VGPU_TENANT="bench-$$-n" \
    python3 bench/gpu/numba_mem.py
nvcc -O2 -o "$out/cuda_mem_shared" -cudart shared bench/gpu/cuda_mem.cu >"$out/nvcc.log" 2>&1
nvcc -O2 -o "$out/cuda_mem_static" -cudart static bench/gpu/cuda_mem.cu >>"$out/nvcc.log" 2>&1
run nvcc-shared env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB VGPU_TENANT="bench-$$-s" \
    "$out/cuda_mem_shared"
run nvcc-static env LD_PRELOAD="$lib" VGPU_MEMORY_LIMIT=8GiB VGPU_TENANT="bench-$$-st" \
    "$out/cuda_mem_static"
run nvcc-native "$out/cuda_mem_shared"
rm -f "$out/cuda_mem_shared" "$out/cuda_mem_static"

echo "== P4: 16 processes under one 12 GiB limit, SIGKILL reclaim (NVML)"
run race env LD_PRELOAD="$lib" VGPU_TEST_FILTER='test_sixteen*' VGPU_TEST_RACE_LIMIT=12GiB \
    "$build/bin/test-hook-procs"
run sigkill env LD_PRELOAD="$lib" VGPU_TEST_FILTER='test_sigkill*' "$build/bin/test-hook-procs"
rm -f /dev/shm/vgpu.bench-$$-* /dev/shm/vgpu.procs-*
python3 bench/gpu/summarize.py "$out"
