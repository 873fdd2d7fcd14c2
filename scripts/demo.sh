#!/bin/sh
# demo.sh: the main job. Builds vgpu, then shows two processes sharing one GPU
# and the GPU time each got, and a tenant held to a virtual GPU of 4 GiB by
# libvgpu.so (through vgpu-run). It uses the real GPU when one is present
# (NVIDIA driver loaded) and simgpu, the simulated driver, otherwise;
# VGPU_DEMO_SIM=1 forces simgpu. Until vgpud exists (see docs/ARCHITECTURE.md)
# the time-sharing is the driver's own; later stages of the product replace it.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
build=${VGPU_BUILD_DIR:-$root/build}
secs=${VGPU_DEMO_SECONDS:-3}

"$root/scripts/deps.sh" >/dev/null
echo "== building vgpu in $build"
mkdir -p "$build"
log="$build/demo-build.log"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVGPU_BUILD_TESTS=OFF >"$log" 2>&1 ||
    { cat "$log"; exit 1; }
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }

work="$build/bin/vgpu-work"
tmp=$(mktemp -d)
pids=""
tenant="demo-$$"
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp" "/dev/shm/vgpu.$tenant"
}
trap cleanup EXIT INT TERM

if [ "${VGPU_DEMO_SIM:-0}" != 1 ] && [ -e /dev/nvidiactl ] && ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1 '; then
    mode="real GPU"
    kernel="--kernel fma --kernel-us 1000 --sync-every 16"
else
    mode="simgpu (simulated H100; no NVIDIA driver here)"
    export LD_LIBRARY_PATH="$build/simgpu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export SIMGPU_STATE="$tmp/simgpu.state" SIMGPU_DEVICES="${SIMGPU_DEVICES:-H100:80GiB}"
    kernel="--kernel busy --kernel-us 1000 --sync-every 16"
fi
echo "== running on: $mode"

field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1"; }

# shellcheck disable=SC2086
"$work" $kernel --duration "$secs" --label alone --json >"$tmp/alone.json"
alone=$(field "$tmp/alone.json" launches_per_s)
echo "   one process alone: $alone kernels/s ($(field "$tmp/alone.json" device_name))"

for t in A B; do
    # shellcheck disable=SC2086
    "$work" $kernel --duration "$secs" --label "$t" --json >"$tmp/$t.json" &
    pids="$pids $!"
done
wait
pids=""

echo
printf '%-8s %10s %12s %14s %14s\n' process kernels kernels/s "share of GPU" "GPU time (s)"
total=0
for t in A B; do
    f="$tmp/$t.json"
    n=$(field "$f" launches); rate=$(field "$f" launches_per_s); wall=$(field "$f" wall_s)
    share=$(awk -v r="$rate" -v a="$alone" 'BEGIN { printf "%.1f", 100 * r / a }')
    gpu_s=$(awk -v r="$rate" -v a="$alone" -v w="$wall" 'BEGIN { printf "%.2f", w * r / a }')
    total=$(awk -v t="$total" -v s="$share" 'BEGIN { print t + s }')
    printf '%-8s %10s %12s %13s%% %14s\n' "$t" "$n" "$rate" "$share" "$gpu_s"
done
printf '%-8s %10s %12s %13s%%\n' total "" "" "$total"
echo
echo "share of GPU = kernels/s together / kernels/s alone, measured in this run."
if [ -n "${SIMGPU_STATE:-}" ]; then
    echo "simgpu's own books (device busy time includes the alone run):"
    "$build/bin/simgpu-stat" | sed -n '/^device/,/busy/p'
fi

echo
echo "== memory: tenant $tenant gets a 4 GiB virtual GPU (vgpu-run --memory 4GiB)"
printf '%-28s %-16s %s\n' "the tenant asks for" "device shows" "result"
for ask in 3GiB 6GiB; do
    if "$build/bin/vgpu-run" --tenant "$tenant" --memory 4GiB -- "$work" --mem "$ask" \
        --duration 0.2 --json >"$tmp/mem.json" 2>"$tmp/mem.err"; then
        total=$(field "$tmp/mem.json" mem_total)
        printf '%-28s %-16s %s\n' "$ask" "$(awk -v b="$total" 'BEGIN { printf "%.2f GiB", b / 2^30 }')" \
            "granted"
    else
        printf '%-28s %-16s %s\n' "$ask" "-" \
            "refused: $(grep -o 'CUDA_ERROR_[A-Z_]*' "$tmp/mem.err" | head -n 1)"
    fi
done
echo "(the 4 GiB include the context's own memory, as NVML counts it)"
