#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz with clang (VGPU_FUZZ=ON, in
# their own build directory) and runs each for SECONDS over a scratch copy of
# its seed corpus, so new inputs never land in corpus/. An input that crashes
# a harness or the parser under it is saved in tests/fuzz/crashes/ and the
# script fails; otherwise it prints one line per harness.
#
# usage: tests/fuzz/run.sh [SECONDS [HARNESS...]]     (default 20 s, all)
# environment: VGPU_FUZZ_BUILD (build dir, default <repo>/build-fuzz),
#              VGPU_FUZZ_SOURCE (CMake source dir, default the repository),
#              CC (default clang), JOBS (default nproc)
# Replay a saved input with <build>/bin/<harness> FILE, or with the gcc-built
# <harness>-replay FILE of an ordinary build.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-20}
[ $# -gt 0 ] && shift
harnesses=${*:-"fuzz-size fuzz-simgpu-config fuzz-ptx fuzz-limits fuzz-visible fuzz-proto fuzz-store-args fuzz-http fuzz-spank-values"}
src=${VGPU_FUZZ_SOURCE:-$root}
build=${VGPU_FUZZ_BUILD:-$root/build-fuzz}
crashes=$here/crashes

case $secs in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;;
esac

mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="${CC:-clang}" -DVGPU_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
# shellcheck disable=SC2086 # one target per word
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target $harnesses >/dev/null

mkdir -p "$crashes"
failed=0
for h in $harnesses; do
    work=$build/fuzz-work/$h
    rm -rf "$work"
    mkdir -p "$work/corpus"
    cp "$here/corpus/$h/"* "$work/corpus/" 2>/dev/null || true
    dict=
    [ -f "$here/dict/$h.dict" ] && dict=-dict=$here/dict/$h.dict
    rc=0
    "$build/bin/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/$h-" ${dict:+"$dict"} \
        "$work/corpus" >"$work/log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    time=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/log" | tail -n 1)
    inputs=$(find "$work/corpus" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        printf '%-22s ok     %s execs in %s s, corpus %s inputs, no crash\n' \
            "$h" "${execs:-?}" "${time:-?}" "$inputs"
    else
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/log" | tail -n 1)
        printf '%-22s CRASH  after %s execs: %s (log: %s)\n' \
            "$h" "${execs:-?}" "${artifact:-no input saved}" "$work/log"
        grep -m 3 -E 'invariant violated|ERROR: (AddressSanitizer|libFuzzer)|runtime error' \
            "$work/log" | sed 's/^/    /' || true
        failed=1
    fi
done
exit $failed
