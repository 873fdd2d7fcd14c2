#!/bin/sh
# demo.sh: the main job. Builds vgpu, starts vgpud with its own SQLite state,
# scans the GPUs, creates a pool and three tenants of different priorities
# and memory limits (vgpu-admin), runs GPU work for each through vgpu-run,
# shows `vgpu-admin status` while they run and the share of the GPU each got,
# against what the policy promises (weights high 4 : medium 2 : low 1, one
# tenant capped), the high tenant's latency beside a saturating low one,
# then a tenant asking for more memory than its limit. It uses the real GPU
# when one is present (NVIDIA driver loaded) and simgpu, the simulated
# driver, otherwise; VGPU_DEMO_SIM=1 forces simgpu.
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
admin tenant add beta --pool A --priority medium --memory 4GiB --share 20
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

gtime() { admin tenant show "$1" --json | sed -n 's/.*"gpu_time_s":\([0-9.e+-]*\).*/\1/p'; }
echo
echo "== what each tenant got, against what the policy promises"
# The promise: backlogged tenants share GPU time by weight (high 4, medium 2,
# low 1); a cap is a ceiling, and what a capped tenant cannot use goes to the
# others by their weights.
promise() { # weights and caps of alpha beta gamma -> promised shares in %
    awk 'BEGIN {
        split("4 2 1", w); split("0 20 0", cap); n = 3; left = 100
        for (i = 1; i <= n; i++) fixed[i] = 0
        do {
            again = 0; sum = 0
            for (i = 1; i <= n; i++) if (!fixed[i]) sum += w[i]
            for (i = 1; i <= n; i++) if (!fixed[i]) {
                p[i] = left * w[i] / sum
                if (cap[i] > 0 && p[i] > cap[i]) { p[i] = cap[i]; fixed[i] = 1; left -= cap[i]; again = 1 }
            }
        } while (again)
        printf "%.1f %.1f %.1f", p[1], p[2], p[3] }'
}
set -- $(promise)
ga=$(gtime alpha) gb=$(gtime beta) gg=$(gtime gamma)
gsum=$(awk -v a="$ga" -v b="$gb" -v g="$gg" 'BEGIN { print a + b + g }')
printf '%-8s %-8s %-6s %9s %9s %10s %12s %12s\n' tenant priority cap promised "GPU time" "its share" \
    kernels/s "throughput"
for t in alpha beta gamma; do
    f="$tmp/$t.json"
    case $t in alpha) pr=$1 gt=$ga cap=- ;; beta) pr=$2 gt=$gb cap=20% ;; gamma) pr=$3 gt=$gg cap=- ;; esac
    rate=$(field "$f" launches_per_s)
    prio=$(admin tenant show "$t" --json | sed -n 's/.*"priority":"\([a-z]*\)".*/\1/p')
    printf '%-8s %-8s %-6s %8s%% %8.2fs %9.1f%% %12s %11.1f%%\n' "$t" "$prio" "$cap" "$pr" "$gt" \
        "$(awk -v g="$gt" -v s="$gsum" 'BEGIN { printf "%.1f", (s > 0 ? 100 * g / s : 0) }')" "$rate" \
        "$(awk -v r="$rate" -v a="$alone" 'BEGIN { print 100 * r / a }')"
done
echo "GPU time = the lease time vgpud's scheduler charged each tenant (vgpu-admin status);"
echo "throughput = its kernels/s over those of one process alone (${alone}/s), this run."

echo
echo "== latency: alpha (high) runs a short kernel every 2 ms beside gamma (low) saturating"
lat="--kernel-us 100 --period-us 2000 --sync-every 1"
case $kernel in *fma*) lat="--kernel fma $lat" ;; *) lat="--kernel busy $lat" ;; esac
# shellcheck disable=SC2086
"$bin/vgpu-work" $lat --duration "$secs" --json >"$tmp/lat-alone.json"
# shellcheck disable=SC2086
"$bin/vgpu-run" --socket "$tmp/vgpud.sock" --tenant gamma -- "$bin/vgpu-work" $kernel \
    --duration "$secs" --json >"$tmp/gamma2.json" &
pids="$!"
# shellcheck disable=SC2086
"$bin/vgpu-run" --socket "$tmp/vgpud.sock" --tenant alpha -- "$bin/vgpu-work" $lat \
    --duration "$secs" --json >"$tmp/lat.json"
wait $pids
pids=""
# shellcheck disable=SC2086
"$bin/vgpu-work" $kernel --duration "$secs" --json >"$tmp/gamma-native.json" &
pids="$!"
# shellcheck disable=SC2086
"$bin/vgpu-work" $lat --duration "$secs" --json >"$tmp/lat-native.json"
wait $pids
pids=""
pct() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | awk '{ printf "%.3f", $1 }'; }
printf '%-34s %10s %10s\n' "alpha's wait for its kernel" p50 p99
printf '%-34s %8s ms %7s ms\n' "alone" "$(pct "$tmp/lat-alone.json" p50)" "$(pct "$tmp/lat-alone.json" p99)"
printf '%-34s %8s ms %7s ms\n' "beside gamma, under vgpu" "$(pct "$tmp/lat.json" p50)" "$(pct "$tmp/lat.json" p99)"
printf '%-34s %8s ms %7s ms\n' "beside gamma, no vgpu (driver alone)" "$(pct "$tmp/lat-native.json" p50)" \
    "$(pct "$tmp/lat-native.json" p99)"

echo
echo "== memory: gamma (2 GiB) asks for 3 GiB"
if "$bin/vgpu-run" --socket "$tmp/vgpud.sock" --tenant gamma -- "$bin/vgpu-work" --mem 3GiB \
    --duration 0.2 --json >"$tmp/mem.json" 2>"$tmp/mem.err"; then
    echo "granted (unexpected: the limit did not hold)"
    exit 1
fi
echo "refused: $(grep -o 'CUDA_ERROR_[A-Z_]*' "$tmp/mem.err" | head -n 1) (the limit covers the context too)"
