#!/bin/sh
# vgpu-run end to end on simgpu: the limit it is given holds inside the
# command (vgpu-work under the real libvgpu.so), the command's exit status
# comes back, and the tenant's account is shared by its processes.
set -u
bin=${1:?usage: test-vgpu-run.sh BIN_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
tenant="run-e2e-$$"
trap 'rm -f /dev/shm/vgpu.$tenant "$SIMGPU_STATE"' EXIT
rm -f "$SIMGPU_STATE"

# 512 MiB fits under 1 GiB (with the 300 MiB context); 2 GiB does not.
"$bin/vgpu-run" --tenant "$tenant" --memory 1GiB -- "$bin/vgpu-work" --mem 512MiB \
    --duration 0.1 --json >/dev/null || fail "512 MiB under a 1 GiB limit was refused"
out=$("$bin/vgpu-run" --tenant "$tenant" --memory 1GiB -- "$bin/vgpu-work" --mem 2GiB \
    --duration 0.1 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "2 GiB under a 1 GiB limit: exit $rc, expected vgpu-work's 1"
echo "$out" | grep -q CUDA_ERROR_OUT_OF_MEMORY || fail "no out-of-memory error: $out"

# Two processes of one tenant share it: the second cannot take what the first holds.
"$bin/vgpu-run" --tenant "$tenant" --memory 2GiB -- "$bin/vgpu-work" --mem 1GiB --duration 3 \
    --json >/dev/null &
first=$!
sleep 1
out=$("$bin/vgpu-run" --tenant "$tenant" --memory 2GiB -- "$bin/vgpu-work" --mem 1GiB \
    --duration 0.1 2>&1)
rc=$?
wait $first || fail "the first process failed"
[ $rc -eq 1 ] || fail "the tenant's second 1 GiB fitted beside the first (2 GiB limit): exit $rc"
echo "vgpu-run end to end: limits hold inside the command and across its tenant"
