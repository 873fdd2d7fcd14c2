#!/bin/sh
# `cmake --install` lays vgpu out under a prefix as documented: tools in bin/,
# libvgpu.so in lib/, the simulated driver in lib/vgpu/simgpu/ (never on the
# default library path), docs in share/vgpu/doc/, the vgpud unit in
# lib/systemd/system/.
set -eu
build=${1:?usage: test-install.sh BUILD_DIR}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/vgpu-run bin/vgpu-work bin/simgpu-stat lib/libvgpu.so lib/vgpu/simgpu/libcuda.so.1 \
         lib/vgpu/simgpu/libnvidia-ml.so.1 share/vgpu/doc/README.md \
         share/vgpu/doc/ARCHITECTURE.md lib/systemd/system/vgpud.service; do
    [ -e "$prefix/$f" ] || fail "$f is not installed"
done
[ ! -e "$prefix/lib/libcuda.so.1" ] || fail "the simulated libcuda must not land on the library path"
grep -q "^ExecStart=$prefix/bin/vgpud --foreground$" "$prefix/lib/systemd/system/vgpud.service" ||
    fail "the unit's ExecStart does not point into the prefix"
# The installed tools run from the prefix; vgpu-run finds the installed library.
"$prefix/bin/vgpu-work" --help >/dev/null || fail "installed vgpu-work does not run"
seen=$(env -u VGPU_LIBRARY -u LD_PRELOAD "$prefix/bin/vgpu-run" -- sh -c 'echo "$LD_PRELOAD"')
[ "$seen" = "$prefix/lib/libvgpu.so" ] || fail "vgpu-run preloads '$seen', not the installed library"
echo "install layout under a prefix: ok"
