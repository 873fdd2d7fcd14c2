#!/bin/sh
# The README's two commands and CI agree: the README opens with exactly two
# commands (the demo and the test suite) in its first code block, both
# scripts exist and are executable, and .ci/run runs exactly the test command.
set -eu
root=${1:?usage: test-readme.sh REPO_ROOT}
cd "$root"
fail() { echo "FAIL: $*" >&2; exit 1; }

block=$(awk '/^```/ { n++; next } n == 1 { print }' README.md)
cmds=$(printf '%s\n' "$block" | sed 's/[[:space:]]*#.*$//' | sed '/^[[:space:]]*$/d')
[ "$(printf '%s\n' "$cmds" | wc -l)" -eq 2 ] || fail "README's first code block must hold exactly two commands, has: $cmds"
demo=$(printf '%s\n' "$cmds" | sed -n 1p)
check=$(printf '%s\n' "$cmds" | sed -n 2p)
[ "$demo" = "./scripts/demo.sh" ] || fail "first command is '$demo', expected ./scripts/demo.sh"
[ "$check" = "./scripts/check.sh" ] || fail "second command is '$check', expected ./scripts/check.sh"
for s in scripts/demo.sh scripts/check.sh scripts/deps.sh .ci/run; do
    [ -x "$s" ] || fail "$s is missing or not executable"
done
# .ci/run: its only command is the README's test command.
run=$(sed 's/#.*$//' .ci/run | sed '/^[[:space:]]*$/d' | grep -v '^set -eu$' | grep -v '^cd "\$(dirname "\$0")/\.\."$')
[ "$run" = "exec $check" ] || fail ".ci/run runs '$run', expected 'exec $check'"
# The README's first lines say what vgpu is before the commands.
head -n 1 README.md | grep -q '^vgpu ' || fail "README must open with what vgpu is"
echo "README commands and .ci/run agree: $demo | $check"
