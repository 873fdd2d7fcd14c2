#!/bin/sh
# gpu-validate.sh OUTDIR: what we check on a real GPU machine, in one run.
# Builds the tree (build-gpu/), records the GPU, driver and date, then:
#   - vgpu-work alone: busy, fixed-work (fma) and empty kernels (tool sanity,
#     launch rate and latency baselines);
#   - two fma tenants at once under the driver's own time-slicing, with the
#     share each got against the alone rate measured in the same run;
#   - the driver contract simgpu claims to follow, checked against the real
#     driver (tests/simgpu/test-contract.c with the real libcuda.so.1).
# Each result goes to OUTDIR as JSON lines or text; the summary to stdout.
set -eu
out=${1:?usage: gpu-validate.sh OUTDIR}
cd "$(dirname "$0")/.."
root=$(pwd)
build=$root/build-gpu
mkdir -p "$out"

{
    date -u +%Y-%m-%dT%H:%M:%SZ
    nvidia-smi --query-gpu=name,driver_version,memory.total,pci.bus_id --format=csv,noheader
    uname -r
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

# A tree built elsewhere can be brought along (VGPU_PREBUILT=1): the GPU
# machines lack our build dependencies (cmocka); put their shared libraries
# in build-gpu/lib.
if [ "${VGPU_PREBUILT:-0}" = 1 ]; then
    export LD_LIBRARY_PATH="$build/lib"
elif command -v cmake >/dev/null; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$out/build.log" 2>&1
    cmake --build "$build" -j"$(nproc)" --target vgpu-work test-contract >>"$out/build.log" 2>&1 ||
        { tail -n 40 "$out/build.log"; exit 1; }
else
    echo "gpu-validate: no cmake here: build build-gpu elsewhere and set VGPU_PREBUILT=1" >&2
    exit 1
fi
work=$build/bin/vgpu-work
unset SIMGPU_STATE SIMGPU_DEVICES

echo "== vgpu-work alone"
: >"$out/alone.jsonl"
"$work" --kernel busy --kernel-us 1000 --duration 2 --label busy-1ms-sync1 --json >>"$out/alone.jsonl"
"$work" --kernel busy --kernel-us 100 --duration 2 --label busy-100us-sync1 --json >>"$out/alone.jsonl"
"$work" --kernel fma --kernel-us 1000 --sync-every 16 --duration 3 --label fma-1ms --json >>"$out/alone.jsonl"
"$work" --kernel empty --sync-every 1 --duration 2 --label empty-sync1 --json >>"$out/alone.jsonl"
"$work" --kernel empty --sync-every 0 --duration 2 --label empty-async --json >>"$out/alone.jsonl"
cat "$out/alone.jsonl"

echo "== two fma tenants, driver time-slicing"
"$work" --kernel fma --kernel-us 1000 --sync-every 16 --duration 4 --label A --json >"$out/A.json" &
a=$!
"$work" --kernel fma --kernel-us 1000 --sync-every 16 --duration 4 --label B --json >"$out/B.json" &
b=$!
wait $a $b
cat "$out/A.json" "$out/B.json"

echo "== the driver contract (tests/simgpu/test-contract.c) on the real driver"
rc=0
"$build/bin/test-contract" >"$out/contract-real.txt" 2>&1 || rc=$?
cat "$out/contract-real.txt"
exit $rc
