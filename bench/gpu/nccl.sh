#!/bin/sh
# nccl.sh OUTDIR: NCCL under the lease gate on 2 GPUs. A two-rank
# torch.distributed loop (matmul + all-reduce, torch_allreduce.py) runs
# native, alone under vgpu, then as tenant "dist" capped at 50 % beside
# tenant "bulk" saturating both GPUs (torch_share.py, one process per GPU),
# for NCCL_SECONDS (default 180), all vgpud-managed: it must finish (no
# hang), reduce correctly, libvgpu.so must have seen NCCL, and vgpud's
# status must account the GPU time of both tenants (status-*.json).
# Needs build-gpu/ as sched.sh does.
set -u
out=${1:?usage: nccl.sh OUTDIR}
cd "$(dirname "$0")/../.."
build=$(readlink -f "${VGPU_BUILD:-build-gpu}")
lib=$build/lib/libvgpu.so
dur=${NCCL_SECONDS:-180}
export LD_LIBRARY_PATH=$build/lib PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 MASTER_ADDR=127.0.0.1
export VGPU_ACCOUNT_PREFIX=ncclbench$$
mkdir -p "$out"
tmp=$(mktemp -d)
export VGPU_SOCKET=$tmp/s
cleanup() {
    [ -n "${vg:-}" ] && kill "$vg" 2>/dev/null
    rm -rf "$tmp"
    rm -f /dev/shm/ncclbench$$.*
}
trap cleanup EXIT
admin() { "$build/bin/vgpu-admin" --socket "$tmp/s" "$@"; }
s() { python3 -c "import time; print(time.monotonic() + ${1:-20})"; }
ranks() { # label, seconds, preload?, port; the ranks' pids in $rp
    st=$(s 25)
    rp=
    for r in 0 1; do
        if [ "$3" = yes ]; then
            env RANK=$r WORLD_SIZE=2 MASTER_PORT=$4 LD_PRELOAD=$lib VGPU_TENANT=dist \
                VGPU_LOG_LEVEL=info timeout $(($2 + 120)) \
                python3 bench/gpu/torch_allreduce.py "$st" "$2" >"$out/$1-r$r.json" \
                2>"$out/$1-r$r.err" &
        else
            env RANK=$r WORLD_SIZE=2 MASTER_PORT=$4 timeout $(($2 + 120)) \
                python3 bench/gpu/torch_allreduce.py "$st" "$2" >"$out/$1-r$r.json" \
                2>"$out/$1-r$r.err" &
        fi
        rp="$rp $!"
    done
}
"$build/bin/vgpud" --foreground --socket "$tmp/s" --db "$tmp/db" 2>"$out/vgpud.log" &
vg=$!
for i in $(seq 50); do admin ping >/dev/null 2>&1 && break; sleep 0.1; done
admin scan-gpus >/dev/null
admin pool create A --gpus 0,1
admin tenant add dist --pool A --share 50
admin tenant add bulk --pool A --priority medium

echo "== native, 20 s"
ranks native 20 no 29511
wait $rp; sleep 2
cat "$out"/native-r*.json
echo "== vgpu: dist alone (cap 50), 20 s"
ranks alone 20 yes 29513
wait $rp; sleep 2
cat "$out"/alone-r*.json
admin status --json >"$out/status-alone.json"
echo "== vgpu: dist (cap 50) beside bulk on both GPUs, $dur s"
ranks vgpu "$dur" yes 29512
st2=$(s 25)
bp=
for gpu in 0 1; do
    env CUDA_VISIBLE_DEVICES=$gpu LD_PRELOAD=$lib VGPU_TENANT=bulk timeout $((dur + 120)) \
        python3 bench/gpu/torch_share.py sat 4096 "$st2" "$dur" >"$out/bulk$gpu.json" \
        2>"$out/bulk$gpu.err" &
    bp="$bp $!"
done
wait $rp $bp; sleep 3
admin status --json >"$out/status-shared.json"
admin status >"$out/status.txt"
for f in "$out"/vgpu-r*.json "$out"/bulk*.json; do echo "$f: $(cat "$f")"; done
grep -h "NCCL in use" "$out"/vgpu-r*.err | head -2
grep -h -i "error\|Traceback" "$out"/*.err | head -5
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
a, b = (json.load(open(f"{out}/status-{k}.json")) for k in ("alone", "shared"))
def gt(s, name):
    return next(t["gpu_time_s"] for t in s["tenants"] if t["name"] == name)
print("GPU time accounted (s, both GPUs): dist alone %.1f; while shared: dist %.1f, bulk %.1f"
      % (gt(a, "dist"), gt(b, "dist") - gt(a, "dist"), gt(b, "bulk")))
PY
tar czf "$out.tgz" -C "$(dirname "$out")" "$(basename "$out")"
