#!/bin/sh
# sched_p3.sh OUTDIR: P3 alone, a shorter companion of sched.sh. A latency
# tenant (high: one bf16 1024^3 matmul and a synchronise every 2 ms) beside a
# saturating one (bf16 4096^3 matmuls), 5 s windows: the latency tenant alone,
# then the pair standalone (VGPU_PRIORITY), vgpud-managed, and with the
# saturating tenant at medium. Needs build-gpu/ (VGPU_BUILD) as sched.sh does.
set -u
out=${1:?usage: sched_p3.sh OUTDIR}
cd "$(dirname "$0")/../.."
build=$(readlink -f "${VGPU_BUILD:-build-gpu}")
lib=$build/lib/libvgpu.so
export LD_LIBRARY_PATH=$build/lib PYTHONUNBUFFERED=1
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -f /dev/shm/p3sched$$*' EXIT
s() { python3 -c "import time; print(time.monotonic() + 12)"; }
pair() { # name, env of the latency tenant, env of the saturating one
    name=$1
    st=$(s)
    env $2 python3 bench/gpu/torch_share.py lat 1024 2 "$st" 5 >"$out/$name-lat.json" 2>"$out/$name-lat.err" &
    p=$!
    env $3 python3 bench/gpu/torch_share.py sat 4096 "$st" 5 >"$out/$name-sat.json" 2>"$out/$name-sat.err"
    wait "$p"
    echo "$name: $(cat "$out/$name-lat.json") $(cat "$out/$name-sat.json")"
}
python3 bench/gpu/torch_share.py lat 1024 2 "$(s)" 5 >"$out/alone-lat.json"
python3 bench/gpu/torch_share.py sat 4096 "$(s)" 5 >"$out/alone-sat.json"
echo "alone: $(cat "$out/alone-lat.json") $(cat "$out/alone-sat.json")"
export VGPU_ACCOUNT_PREFIX=p3sched$$a
pair standalone "LD_PRELOAD=$lib VGPU_TENANT=lat VGPU_PRIORITY=high VGPU_SOCKET=/nonexistent" \
    "LD_PRELOAD=$lib VGPU_TENANT=bulk VGPU_PRIORITY=low VGPU_SOCKET=/nonexistent"
export VGPU_ACCOUNT_PREFIX=p3sched$$b
"$build/bin/vgpud" --foreground --socket "$tmp/s" --db "$tmp/db" 2>"$out/vgpud.log" &
vg=$!
A="$build/bin/vgpu-admin --socket $tmp/s"
for i in $(seq 50); do $A ping >/dev/null 2>&1 && break; sleep 0.1; done
$A scan-gpus >/dev/null
$A pool create A --gpus 0
$A tenant add lat --pool A --priority high
$A tenant add bulk --pool A --priority low
pair managed "LD_PRELOAD=$lib VGPU_TENANT=lat VGPU_SOCKET=$tmp/s" \
    "LD_PRELOAD=$lib VGPU_TENANT=bulk VGPU_SOCKET=$tmp/s"
kill "$vg"
wait "$vg" 2>/dev/null
export VGPU_ACCOUNT_PREFIX=p3sched$$c
pair medium "LD_PRELOAD=$lib VGPU_TENANT=lat VGPU_PRIORITY=high VGPU_SOCKET=/nonexistent" \
    "LD_PRELOAD=$lib VGPU_TENANT=bulk VGPU_PRIORITY=medium VGPU_SOCKET=/nonexistent"
