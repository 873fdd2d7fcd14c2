#!/bin/sh
# demo.sh: the main job. Builds vgpu, starts vgpud with its own SQLite state,
# scans the GPUs, creates a pool and three tenants of different priorities
# and memory limits (vgpu-admin), runs GPU work for each through vgpu-run,
# shows `vgpu-admin status` while they run and the share of the GPU each got,
# then a tenant asking for more memory than its limit. It uses the real GPU
# when one is present (NVIDIA driver loaded) and simgpu, the simulated
# driver, otherwise; VGPU_DEMO_SIM=1 forces simgpu.
# What is not there yet: the GPU-time scheduler (priorities and shares are
# stored but the driver's own time-slicing still shares the GPU).
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

bin="$build/bin"
tmp=$(mktemp -d)
export VGPU_ACCOUNT_PREFIX="vgpudemo$$" # the demo's tenants stay apart from the machine's
pids=""
vgpud_pid=""
cleanup() {
    for p in $pids $vgpud_pid; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp" /dev/shm/"$VGPU_ACCOUNT_PREFIX".*
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

admin() { "$bin/vgpu-admin" --socket "$tmp/vgpud.sock" "$@"; }
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1"; }

"$bin/vgpud" --foreground --socket "$tmp/vgpud.sock" --db "$tmp/vgpu.db" --log-level warn &
vgpud_pid=$!
for _ in $(seq 50); do admin ping >/dev/null 2>&1 && break; sleep 0.1; done
admin ping

echo
echo "== the control panel: GPUs, a pool, three tenants"
admin scan-gpus
admin pool create A --gpus 0
admin tenant add alpha --pool A --priority high --memory 4GiB
admin tenant add beta --pool A --priority medium --memory 4GiB
admin tenant add gamma --pool A --priority low --memory 2GiB
admin tenant list

echo
echo "== GPU work for each tenant (vgpu-run --tenant T -- vgpu-work, ${secs} s)"
# shellcheck disable=SC2086
"$bin/vgpu-work" $kernel --duration "$secs" --label alone --json >"$tmp/alone.json"
alone=$(field "$tmp/alone.json" launches_per_s)
for t in alpha beta gamma; do
    # shellcheck disable=SC2086
    "$bin/vgpu-run" --socket "$tmp/vgpud.sock" --tenant "$t" -- "$bin/vgpu-work" $kernel \
        --mem 1GiB --duration "$secs" --label "$t" --json >"$tmp/$t.json" &
    pids="$pids $!"
done
sleep 1.5
admin status
wait $pids
pids=""

echo
printf '%-8s %-8s %10s %12s %14s %14s\n' tenant priority kernels kernels/s "share of GPU" "GPU memory"
total=0
for t in alpha beta gamma; do
    f="$tmp/$t.json"
    rate=$(field "$f" launches_per_s)
    share=$(awk -v r="$rate" -v a="$alone" 'BEGIN { printf "%.1f", 100 * r / a }')
    mem=$(awk -v b="$(field "$f" mem_total)" 'BEGIN { printf "%.2f GiB", b / 2^30 }')
    prio=$(admin tenant show "$t" --json | sed -n 's/.*"priority":"\([a-z]*\)".*/\1/p')
    total=$(awk -v t="$total" -v s="$share" 'BEGIN { print t + s }')
    printf '%-8s %-8s %10s %12s %13s%% %14s\n' "$t" "$prio" "$(field "$f" launches)" "$rate" \
        "$share" "$mem"
done
printf '%-8s %-8s %10s %12s %13s%%\n' total "" "" "" "$total"
echo "share of GPU = kernels/s together / kernels/s of one process alone (${alone}/s), this run."
echo "GPU memory = the virtual GPU each tenant's process saw (its limit, set with vgpu-admin)."
echo "Priorities are stored; the scheduler that acts on them is the next stage of vgpu."

echo
echo "== memory: gamma (2 GiB) asks for 3 GiB"
if "$bin/vgpu-run" --socket "$tmp/vgpud.sock" --tenant gamma -- "$bin/vgpu-work" --mem 3GiB \
    --duration 0.2 --json >"$tmp/mem.json" 2>"$tmp/mem.err"; then
    echo "granted (unexpected: the limit did not hold)"
    exit 1
fi
echo "refused: $(grep -o 'CUDA_ERROR_[A-Z_]*' "$tmp/mem.err" | head -n 1) (the limit covers the context too)"
