#!/bin/sh
# deps.sh: installs the Debian 12 packages vgpu needs to build and test.
# As root it runs apt-get; otherwise it prints the exact command to run.
# The CUDA toolkit headers (cuda.h) are not a Debian package: it checks for
# them under $CUDA_HOME (default /usr/local/cuda) and says what is missing.
set -eu

# prometheus: its promtool checks the /metrics output; chromium (with Node.js
# and npm, which fetch playwright-core for the tests) renders the dashboard;
# libslurm-dev builds spank_vgpu.so, slurm-wlm and munge run it in slurm.spank.
PKGS="build-essential cmake pkg-config libsqlite3-dev libevent-dev libjansson-dev libcmocka-dev libssl-dev
prometheus chromium nodejs libslurm-dev slurm-wlm munge"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

# npm: Debian packages it apart from nodejs; some Node.js builds carry their own.
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "deps: installing$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "deps: missing Debian packages:$missing" >&2
        echo "deps: run: sudo apt-get install -y --no-install-recommends$missing" >&2
        exit 1
    fi
fi

cuda_home="${CUDA_HOME:-/usr/local/cuda}"
if [ ! -f "$cuda_home/include/cuda.h" ]; then
    echo "deps: cuda.h not found in $cuda_home/include: install the CUDA toolkit (12.0 or newer;" >&2
    echo "deps: only its headers are used at build time) or set CUDA_HOME to where it is." >&2
    exit 1
fi
echo "deps: all present (CUDA headers in $cuda_home/include)"
