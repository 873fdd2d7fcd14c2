#!/bin/sh
# control.sh OUTDIR: P5, the control plane under load.
#   - lease hand-off latency between two processes (vgpu-handoff, p50/p99);
#   - vgpud with 1000 tenants (one pool) and 100 attached clients (vgpu-work
#     processes under libvgpu.so, one kernel every 100 ms, spread over the
#     first 100 tenants): the wall time of `vgpu-admin status` and
#     `vgpu-admin status --json`, 50 runs each (p50/p99, what a user waits,
#     the process start included), and of adding a tenant.
# Uses the real GPU when there is one (NVIDIA driver), else simgpu.
# VGPU_BUILD: a build tree with bin/{vgpud,vgpu-admin,vgpu-work,vgpu-handoff}
# and lib/libvgpu.so (default build-check).
set -u
out=${1:?usage: control.sh OUTDIR}
cd "$(dirname "$0")/.."
build=$(readlink -f "${VGPU_BUILD:-build-check}")
mkdir -p "$out"
tmp=$(mktemp -d)
export VGPU_ACCOUNT_PREFIX="vgpuctl$$" LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! [ -e /dev/nvidiactl ]; then
    export LD_LIBRARY_PATH="$build/simgpu:$LD_LIBRARY_PATH" SIMGPU_STATE="$tmp/sim.state" \
        SIMGPU_DEVICES="H100:80GiB"
fi
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    [ -n "${vg:-}" ] && kill "$vg" 2>/dev/null
    sleep 0.5
    rm -rf "$tmp" /dev/shm/"$VGPU_ACCOUNT_PREFIX".*
}
trap cleanup EXIT
admin() { "$build/bin/vgpu-admin" --socket "$tmp/s" "$@"; }
ms() { python3 -c 'import time; print(time.monotonic_ns() // 1000)'; }
# times CMD... N times; prints p50 and p99 in ms
timed() {
    n=$1; shift
    for i in $(seq "$n"); do
        a=$(date +%s%N); "$@" >/dev/null; b=$(date +%s%N)
        echo $(((b - a) / 1000))
    done | sort -n | awk '{v[NR]=$1} END {printf "p50 %.1f ms, p99 %.1f ms (n=%d)\n", v[int(NR*0.5)+1]/1000, v[int((NR-1)*0.99)+1]/1000, NR}'
}

echo "== lease hand-off (two processes, 20000 hand-offs)"
"$build/bin/vgpu-handoff" --iterations 20000 --json | tee "$out/handoff.json"

"$build/bin/vgpud" --foreground --socket "$tmp/s" --db "$tmp/db" --log-level warn 2>"$out/vgpud.log" &
vg=$!
for i in $(seq 50); do admin ping >/dev/null 2>&1 && break; sleep 0.1; done
admin scan-gpus >/dev/null
admin pool create A --gpus 0 >/dev/null
echo "== 1000 tenants"
a=$(date +%s%N)
for i in $(seq 1000); do admin tenant add "t$i" --pool A --memory 1GiB >/dev/null || exit 1; done
b=$(date +%s%N)
echo "tenant add: $(((b - a) / 1000000)) ms for 1000 ($(((b - a) / 1000000000)) s)" | tee "$out/add.txt"
echo "== 100 clients"
for i in $(seq 100); do
    env LD_PRELOAD="$build/lib/libvgpu.so" VGPU_SOCKET="$tmp/s" VGPU_TENANT="t$i" \
        "$build/bin/vgpu-work" --kernel busy --kernel-us 100 --period-us 100000 --duration 600 \
        >/dev/null 2>&1 &
    pids="$pids $!"
done
for i in $(seq 100); do
    n=$(admin status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["clients"]))')
    [ "$n" -ge 100 ] && break
    sleep 0.2
done
echo "attached clients: $n" | tee "$out/clients.txt"
echo "== vgpu-admin status (1000 tenants, $n clients)"
echo "status:        $(timed 50 admin status)" | tee "$out/status.txt"
echo "status --json: $(timed 50 admin status --json)" | tee -a "$out/status.txt"
echo "tenant add:    $(timed 20 sh -c 'i=$(od -An -N4 -tu4 /dev/urandom | tr -d " "); "$0" --socket "$1" tenant add "x$i" --pool A >/dev/null' "$build/bin/vgpu-admin" "$tmp/s")" | tee -a "$out/status.txt"
admin status --json >"$out/status.json"
