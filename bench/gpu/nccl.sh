#!/bin/sh
# nccl.sh OUTDIR: NCCL under the lease gate on 2 GPUs. A two-rank
# torch.distributed loop (matmul + all-reduce, torch_allreduce.py) runs
# native, then as tenant "dist" capped at 50 % beside tenant "bulk"
# saturating both GPUs (torch_share.py, one process per GPU), for
# NCCL_SECONDS (default 180): it must finish (no hang), reduce correctly,
# and libvgpu.so must have seen NCCL. Needs build-gpu/ as sched.sh does.
set -u
out=${1:?usage: nccl.sh OUTDIR}
cd "$(dirname "$0")/../.."
build=$(readlink -f "${VGPU_BUILD:-build-gpu}")
lib=$build/lib/libvgpu.so
dur=${NCCL_SECONDS:-180}
export LD_LIBRARY_PATH=$build/lib PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 MASTER_ADDR=127.0.0.1
export VGPU_ACCOUNT_PREFIX=ncclbench$$ VGPU_SOCKET=/nonexistent
mkdir -p "$out"
trap 'rm -f /dev/shm/ncclbench$$.*' EXIT
s() { python3 -c "import time; print(time.monotonic() + ${1:-20})"; }
ranks() { # label, seconds, preload?
    st=$(s 25)
    for r in 0 1; do
        if [ "$3" = yes ]; then
            env RANK=$r WORLD_SIZE=2 MASTER_PORT=$4 LD_PRELOAD=$lib VGPU_TENANT=dist \
                VGPU_COMPUTE_SHARE=50 VGPU_LOG_LEVEL=info \
                timeout $(($2 + 120)) python3 bench/gpu/torch_allreduce.py "$st" "$2" \
                >"$out/$1-r$r.json" 2>"$out/$1-r$r.err" &
        else
            env RANK=$r WORLD_SIZE=2 MASTER_PORT=$4 timeout $(($2 + 120)) \
                python3 bench/gpu/torch_allreduce.py "$st" "$2" >"$out/$1-r$r.json" \
                2>"$out/$1-r$r.err" &
        fi
    done
}
echo "== native, 20 s"
ranks native 20 no 29511
wait
cat "$out"/native-r*.json
echo "== vgpu: dist (cap 50) beside bulk on both GPUs, $dur s"
ranks vgpu "$dur" yes 29512
st2=$(s 25)
for gpu in 0 1; do
    env CUDA_VISIBLE_DEVICES=$gpu LD_PRELOAD=$lib VGPU_TENANT=bulk timeout $((dur + 120)) \
        python3 bench/gpu/torch_share.py sat 4096 "$st2" "$dur" >"$out/bulk$gpu.json" \
        2>"$out/bulk$gpu.err" &
done
wait
for f in "$out"/vgpu-r*.json "$out"/bulk*.json; do echo "$f: $(cat "$f")"; done
grep -h "NCCL in use" "$out"/vgpu-r*.err | head -2
grep -h -i "error\|Traceback" "$out"/*.err | head -5
