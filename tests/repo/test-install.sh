#!/bin/sh
# `cmake --install` lays vgpu out under a prefix as documented: tools in bin/,
# the simulated driver in lib/vgpu/simgpu/ (never on the default library
# path), docs in share/vgpu/doc/, the vgpud unit in lib/systemd/system/.
set -eu
build=${1:?usage: test-install.sh BUILD_DIR}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/vgpu-work bin/simgpu-stat lib/vgpu/simgpu/libcuda.so.1 \
         lib/vgpu/simgpu/libnvidia-ml.so.1 share/vgpu/doc/README.md \
         share/vgpu/doc/ARCHITECTURE.md lib/systemd/system/vgpud.service; do
    [ -e "$prefix/$f" ] || fail "$f is not installed"
done
[ ! -e "$prefix/lib/libcuda.so.1" ] || fail "the simulated libcuda must not land on the library path"
grep -q "^ExecStart=$prefix/bin/vgpud --foreground$" "$prefix/lib/systemd/system/vgpud.service" ||
    fail "the unit's ExecStart does not point into the prefix"
# The installed tools run from the prefix.
"$prefix/bin/vgpu-work" --help >/dev/null || fail "installed vgpu-work does not run"
echo "install layout under a prefix: ok"
