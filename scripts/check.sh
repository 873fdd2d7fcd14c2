#!/bin/sh
# check.sh: the whole test suite, as CI runs it (.ci/run calls exactly this).
#   1. installs what is missing (scripts/deps.sh; npm ci for the dashboard's
#      browser test in tests/dashboard)
#   2. builds with warnings as errors and runs every CTest test
#   3. builds again with ASan+UBSan and runs the unit, fuzz-replay and simgpu tests
#      (not the LD_PRELOAD tests: the ASan runtime resolves its own interceptors
#      through dlsym before any library is initialised, and libvgpu.so replaces
#      dlsym, so an ASan program cannot start with libvgpu.so preloaded)
# Build trees: build-check/ and build-asan/ (override with VGPU_CHECK_DIR).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
out=${VGPU_CHECK_DIR:-$root}

"$root/scripts/deps.sh"

# The dashboard's browser test runs playwright-core, pinned in
# tests/dashboard/package-lock.json; npm ci puts it in node_modules there
# (again when the lock file is newer than what npm last installed).
dash="$root/tests/dashboard"
if [ ! -d "$dash/node_modules/playwright-core" ] ||
    [ "$dash/package-lock.json" -nt "$dash/node_modules/.package-lock.json" ]; then
    echo "== npm ci in tests/dashboard"
    (cd "$dash" && npm ci --no-audit --no-fund) ||
        { echo "check: npm ci in tests/dashboard failed" >&2; exit 1; }
fi

run_suite() { # dir, cmake options, ctest options
    dir=$1; opts=$2; shift 2
    echo "== configure $dir ($opts)"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    cmake -S "$root" -B "$dir" -DVGPU_WERROR=ON $opts >"$dir/configure.log" 2>&1 ||
        { cat "$dir/configure.log"; exit 1; }
    echo "== build $dir"
    cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log"; exit 1; }
    echo "== test $dir"
    ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 300 "$@"
}

mkdir -p "$out"
run_suite "$out/build-check" "-DCMAKE_BUILD_TYPE=RelWithDebInfo"
run_suite "$out/build-asan" "-DCMAKE_BUILD_TYPE=Debug -DVGPU_SANITIZE=ON" -L "unit|simgpu"
echo "check: all suites passed"
