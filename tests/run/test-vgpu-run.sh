#!/bin/sh
# test-vgpu-run.sh CASE VGPU_RUN PROBE OTHER VERSION: one end-to-end case of
# the launcher, registered as the CTest test run.CASE.
#
# PROBE stands in for libvgpu.so (VGPU_LIBRARY): its constructor appends
# "preloaded <process name>" to $VGPU_TEST_PROBE in every process that loads
# it, so a case can tell that CMD really ran with the library loaded. OTHER
# appends "other <process name>" and plays a library the user preloads
# already. Commands that must not run create $tmp/ran. Each case starts from
# a clean environment: none of the caller's VGPU_* settings or LD_PRELOAD
# leak in.
set -u
name=${1:?usage: test-vgpu-run.sh CASE VGPU_RUN PROBE OTHER VERSION}
run=$2
probe=$3
other=$4
version=$5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe_real=$(readlink -f "$probe")
unset VGPU_TENANT VGPU_MEMORY_LIMIT VGPU_MEMORY_SOFT_LIMIT VGPU_COMPUTE_SHARE VGPU_PRIORITY \
      VGPU_SOCKET VGPU_LOG_LEVEL LD_PRELOAD
export VGPU_LIBRARY="$probe" VGPU_TEST_PROBE="$tmp/probe"

fail() {
    echo "FAIL run.$name: $*" >&2
    for f in out err; do
        [ -s "$tmp/$f" ] && { echo "--- $f:" >&2; cat "$tmp/$f" >&2; }
    done
    exit 1
}

# vr ARG...: runs vgpu-run; stdout in $tmp/out, stderr in $tmp/err, status in $st.
vr() {
    rm -f "$tmp/out" "$tmp/err" "$tmp/probe" "$tmp/ran"
    "$run" "$@" >"$tmp/out" 2>"$tmp/err"
    st=$?
}
expect_status() {
    [ "$st" -eq "$1" ] || fail "$2: exit status $st, expected $1"
}
# expect_line LINE: CMD printed exactly this line.
expect_line() {
    grep -qxF -- "$1" "$tmp/out" || fail "CMD's output lacks the line '$1'"
}
expect_no_var() {
    ! grep -q "^$1=" "$tmp/out" || fail "CMD sees $1 although nothing set it"
}
expect_err() {
    grep -qF -- "$1" "$tmp/err" || fail "stderr does not mention '$1'"
}
# The command never started: no file created, no process loaded the probe.
expect_not_run() {
    [ ! -e "$tmp/ran" ] || fail "$1: CMD ran"
    [ ! -e "$tmp/probe" ] || fail "$1: a process loaded the preload library"
}
# expect_preloaded WHAT [CMD]: CMD (a process name, default any but vgpu-run) loaded PROBE.
expect_preloaded() {
    grep "^preloaded ${2:-}" "$tmp/probe" 2>/dev/null | grep -qv ' vgpu-run$' ||
        fail "$1: CMD did not load the preload library"
}
# bad OPTION VALUE: the value is refused with exit 2, one line naming both,
# and CMD never runs.
bad() {
    vr "--$1" "$2" -- touch "$tmp/ran"
    expect_status 2 "--$1 '$2'"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "--$1 '$2': the error is not one line"
    expect_err "invalid --$1 value '$(printf '%s' "$2" | cut -c1-40)"
    expect_not_run "--$1 '$2'"
}

case $name in
env)
    vr --tenant team-a.1 --memory 0:8GiB,1:4GiB --soft-memory 6GiB --share 30 --priority high \
       --rate 1000/s --burst 200 --socket /run/vgpu/test.sock --verbose -- env
    expect_status 0 "every option"
    expect_line "VGPU_TENANT=team-a.1"
    expect_line "VGPU_MEMORY_LIMIT=0:8GiB,1:4GiB"
    expect_line "VGPU_MEMORY_SOFT_LIMIT=6GiB"
    expect_line "VGPU_COMPUTE_SHARE=30"
    expect_line "VGPU_PRIORITY=high"
    expect_line "VGPU_RATE_LIMIT=1000/s"
    expect_line "VGPU_RATE_BURST=200"
    expect_line "VGPU_SOCKET=/run/vgpu/test.sock"
    expect_line "VGPU_LOG_LEVEL=info"
    expect_line "LD_PRELOAD=$probe_real"
    expect_line "VGPU_TEST_PROBE=$tmp/probe"
    [ "$(cat "$tmp/probe")" = "preloaded env" ] || fail "env should have loaded the library once"
    expect_err "LD_PRELOAD=$probe_real" # --verbose says what it did
    vr --memory 8GiB,1:4GiB -- env
    expect_status 0 "--memory with a default and an exception"
    expect_line "VGPU_MEMORY_LIMIT=8GiB,1:4GiB"
    vr --memory 512MiB -- env
    expect_status 0 "--memory 512MiB"
    expect_line "VGPU_MEMORY_LIMIT=512MiB"
    for v in VGPU_MEMORY_SOFT_LIMIT VGPU_COMPUTE_SHARE VGPU_PRIORITY VGPU_SOCKET VGPU_LOG_LEVEL; do
        expect_no_var $v
    done
    [ ! -s "$tmp/err" ] || fail "without --verbose vgpu-run prints nothing"
    ;;
passthrough)
    # Inherited settings pass through untouched, even ones vgpu-run would
    # refuse as options: their meaning belongs to the library.
    export VGPU_TENANT=bob VGPU_MEMORY_LIMIT=1:2GiB VGPU_MEMORY_SOFT_LIMIT=1GiB \
           VGPU_COMPUTE_SHARE=055 VGPU_PRIORITY=low VGPU_SOCKET=/tmp/x.sock VGPU_LOG_LEVEL=error
    vr -- env
    expect_status 0 "inherited settings"
    for l in VGPU_TENANT=bob VGPU_MEMORY_LIMIT=1:2GiB VGPU_MEMORY_SOFT_LIMIT=1GiB \
             VGPU_COMPUTE_SHARE=055 VGPU_PRIORITY=low VGPU_SOCKET=/tmp/x.sock \
             VGPU_LOG_LEVEL=error; do
        expect_line "$l"
    done
    expect_preloaded "inherited settings"
    # An option replaces only its own variable.
    vr --tenant carol --share 10 --verbose -- env
    expect_status 0 "options over inherited settings"
    for l in VGPU_TENANT=carol VGPU_COMPUTE_SHARE=10 VGPU_LOG_LEVEL=info \
             VGPU_MEMORY_LIMIT=1:2GiB VGPU_PRIORITY=low; do
        expect_line "$l"
    done
    ;;
default-tenant)
    # No tenant named: none is set (vgpud or libvgpu.so picks it).
    vr -- env
    expect_status 0 "no tenant anywhere"
    expect_no_var VGPU_TENANT
    export VGPU_TENANT=
    vr -- env
    expect_status 0 "empty VGPU_TENANT"
    expect_no_var VGPU_TENANT
    export VGPU_TENANT=inherited-1
    vr -- env
    expect_line "VGPU_TENANT=inherited-1"
    ;;
preload)
    ln -s "$probe" "$tmp/alias.so"
    # vgpu-run itself starts with the user's LD_PRELOAD; built with ASan
    # (VGPU_SANITIZE) it would refuse to run behind a preloaded library.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
    export ASAN_OPTIONS
    # existing LD_PRELOAD | what CMD must see
    while IFS='|' read -r existing want; do
        LD_PRELOAD=$existing
        export LD_PRELOAD
        vr -- env
        expect_status 0 "LD_PRELOAD='$existing'"
        expect_line "LD_PRELOAD=$want"
        expect_preloaded "LD_PRELOAD='$existing'" env
        [ "$(grep -cx "preloaded env" "$tmp/probe")" -eq 1 ] ||
            fail "LD_PRELOAD='$existing': CMD loaded the library twice"
        case $want in *"$other"*)
            grep -qx "other env" "$tmp/probe" || fail "the user's own preload was lost" ;;
        esac
    done <<EOF
|$probe_real
$other|$probe_real:$other
$probe_real:$other|$probe_real:$other
$other $probe_real|$probe_real:$other
$other:$probe:$probe_real|$probe_real:$other
$tmp/alias.so:$other|$probe_real:$other
::$other::|$probe_real:$other
EOF
    unset LD_PRELOAD
    # The path put in LD_PRELOAD is canonical even when VGPU_LIBRARY is not.
    VGPU_LIBRARY=$tmp/alias.so
    vr -- env
    expect_status 0 "VGPU_LIBRARY through a symlink"
    expect_line "LD_PRELOAD=$probe_real"
    ;;
exit-status)
    for code in 0 1 7 255; do
        vr -- sh -c "exit $code"
        expect_status "$code" "CMD exiting $code"
        expect_preloaded "CMD exiting $code"
    done
    # vgpu-run execs CMD: CMD has the pid the parent started.
    "$run" -- sh -c 'echo $$' >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    wait $pid
    [ "$(cat "$tmp/out")" = "$pid" ] || fail "CMD has pid $(cat "$tmp/out"), vgpu-run had $pid"
    ;;
signal)
    # Not INT or HUP: a test runner may start us with those ignored.
    for sig in TERM KILL USR1; do
        sh -c "kill -$sig \$\$"
        want=$?
        [ "$want" -gt 128 ] || fail "this shell does not report SIG$sig as 128+n ($want)"
        vr -- sh -c "kill -$sig \$\$"
        expect_status "$want" "CMD killed by SIG$sig"
    done
    ;;
not-found)
    vr -- vgpu-no-such-command-here arg
    expect_status 127 "a command not on PATH"
    expect_err "vgpu-no-such-command-here"
    vr -- "$tmp/missing/cmd"
    expect_status 127 "a missing path"
    expect_err "$tmp/missing/cmd"
    ;;
not-executable)
    # A name no system has, so that the PATH search cannot find another one.
    cmd=vgpu-test-not-executable
    printf '#!/bin/sh\ntouch "%s"\n' "$tmp/ran" >"$tmp/$cmd"
    chmod 644 "$tmp/$cmd"
    vr -- "$tmp/$cmd"
    expect_status 126 "a file without execute permission"
    expect_err "$tmp/$cmd"
    expect_not_run "a file without execute permission"
    old_path=$PATH
    PATH=$tmp:$PATH
    vr -- $cmd
    PATH=$old_path
    expect_status 126 "a file without execute permission found on PATH"
    expect_not_run "a file without execute permission found on PATH"
    vr -- "$tmp"
    expect_status 126 "a directory"
    ;;
bad-values)
    long_tenant=$(printf '%064d' 0 | tr 0 x)
    long_socket=/$(printf '%0200d' 0)
    bad tenant ''
    bad tenant .hidden
    bad tenant -dash
    bad tenant 'a b'
    bad tenant a/b
    bad tenant "$long_tenant"
    bad memory ''
    bad memory 8XB
    bad memory 0
    bad memory -1GiB
    bad memory ' 8GiB'
    bad memory 8GiB,4GiB
    bad memory 8GiB,1:4GiB,2GiB
    bad memory 0:8GiB,
    bad memory 0:8GiB,0:4GiB
    bad memory 64:1GiB
    bad memory 1:
    bad memory :1GiB
    bad memory 99999999999TiB
    bad soft-memory lots
    bad soft-memory 0:1GiB,,1:1GiB
    bad share ''
    bad share 0
    bad share 101
    bad share -5
    bad share 30%
    bad share 1.5
    bad share 050
    bad share ' 30'
    bad rate 0
    bad rate 0/s
    bad rate 2147483648
    bad rate 10/min
    bad rate -5
    bad rate ''
    bad burst -1
    bad burst 01
    bad burst 2147483648
    bad burst many
    bad priority urgent
    bad priority HIGH
    bad priority ''
    bad socket ''
    bad socket relative.sock
    bad socket "$long_socket"
    # A control byte is shown escaped, keeping the error on one line.
    bad tenant "$(printf 'a\nb')"
    expect_err "'a\\x0ab'"
    # The last of a repeated option counts, and is checked.
    vr --share 30 --share 0 -- touch "$tmp/ran"
    expect_status 2 "--share 30 --share 0"
    expect_not_run "--share 30 --share 0"
    # The longest valid tenant name is accepted.
    vr --tenant "$(printf '%063d' 0 | tr 0 x)" -- true
    expect_status 0 "a 63-character tenant"
    ;;
usage)
    vr --frobnicate -- touch "$tmp/ran"
    expect_status 2 "an unknown option"
    expect_err "'--frobnicate'"
    expect_not_run "an unknown option"
    vr -x -- touch "$tmp/ran"
    expect_status 2 "an unknown short option"
    expect_err "'-x'"
    vr --verbose=yes -- touch "$tmp/ran"
    expect_status 2 "a value for --verbose"
    expect_err "--verbose takes no value"
    expect_not_run "a value for --verbose"
    vr --tenant
    expect_status 2 "--tenant without its value"
    expect_err "--tenant needs a value"
    vr --s 5 -- touch "$tmp/ran"
    expect_status 2 "an ambiguous abbreviation"
    expect_not_run "an ambiguous abbreviation"
    for args in "" "--" "--tenant a" "--tenant a --"; do
        # shellcheck disable=SC2086
        vr $args
        expect_status 2 "no command after '$args'"
        expect_err "no command given"
    done
    vr --sha 40 -- env
    expect_status 0 "an unambiguous abbreviation"
    expect_line "VGPU_COMPUTE_SHARE=40"
    ;;
no-separator)
    vr --tenant t1 env
    expect_status 0 "no -- before CMD"
    expect_line "VGPU_TENANT=t1"
    expect_preloaded "no -- before CMD"
    # Options after CMD are CMD's own.
    # shellcheck disable=SC2016 # expanded by CMD's shell, not this one
    vr --share 20 sh -c 'echo "share=$VGPU_COMPUTE_SHARE"; printf "%s\n" "$@"' sh --share 90 -- x
    expect_status 0 "options after CMD"
    [ "$(cat "$tmp/out")" = "$(printf 'share=20\n--share\n90\n--\nx')" ] ||
        fail "CMD did not get its own arguments unchanged"
    vr env --tenant t1
    expect_status 125 "env given an unknown option" # env's own status for a bad option
    ;;
missing-library)
    VGPU_LIBRARY=$tmp/nope.so
    vr -- touch "$tmp/ran"
    expect_status 125 "VGPU_LIBRARY names a missing file"
    expect_err "$tmp/nope.so"
    expect_not_run "VGPU_LIBRARY names a missing file"
    VGPU_LIBRARY=$tmp
    vr -- touch "$tmp/ran"
    expect_status 125 "VGPU_LIBRARY names a directory"
    expect_err "not a regular file"
    echo "not a library" >"$tmp/text.so"
    VGPU_LIBRARY=$tmp/text.so
    vr -- touch "$tmp/ran"
    expect_status 125 "VGPU_LIBRARY names a text file"
    expect_err "not an ELF shared library"
    cp "$probe" "$tmp/a:b.so"
    VGPU_LIBRARY=$tmp/a:b.so
    vr -- touch "$tmp/ran"
    expect_status 125 "a library path that LD_PRELOAD cannot carry"
    expect_err "contains ':'"
    expect_not_run "VGPU_LIBRARY unusable"
    ;;
locate)
    # Without VGPU_LIBRARY: <dir of vgpu-run>/../lib/libvgpu.so.
    unset VGPU_LIBRARY
    mkdir -p "$tmp/prefix/bin" "$tmp/prefix/lib" "$tmp/elsewhere"
    cp "$run" "$tmp/prefix/bin/vgpu-run"
    prefix=$(readlink -f "$tmp/prefix")
    run=$tmp/prefix/bin/vgpu-run
    vr -- touch "$tmp/ran"
    expect_status 125 "no libvgpu.so next to vgpu-run"
    expect_err "$prefix/lib/libvgpu.so"
    expect_not_run "no libvgpu.so next to vgpu-run"
    cp "$probe" "$tmp/prefix/lib/libvgpu.so"
    vr -- env
    expect_status 0 "libvgpu.so in ../lib"
    expect_line "LD_PRELOAD=$prefix/lib/libvgpu.so"
    expect_preloaded "libvgpu.so in ../lib"
    # Started through a symlink, it still finds its own ../lib.
    ln -s "$tmp/prefix/bin/vgpu-run" "$tmp/elsewhere/vgpu-run"
    run=$tmp/elsewhere/vgpu-run
    export VGPU_LIBRARY= # empty counts as unset
    vr -- env
    expect_status 0 "vgpu-run started through a symlink"
    expect_line "LD_PRELOAD=$prefix/lib/libvgpu.so"
    ;;
help)
    vr --help -- touch "$tmp/ran"
    expect_status 0 "--help"
    expect_not_run "--help"
    [ ! -s "$tmp/err" ] || fail "--help wrote to stderr"
    for s in "Usage: vgpu-run" --tenant --memory --soft-memory --share --priority --socket \
             --verbose --help --version VGPU_TENANT VGPU_MEMORY_LIMIT VGPU_MEMORY_SOFT_LIMIT \
             VGPU_COMPUTE_SHARE VGPU_PRIORITY VGPU_SOCKET VGPU_LOG_LEVEL VGPU_LIBRARY \
             "0:8GiB,1:4GiB" "  2 " "  125 " "  126 " "  127 "; do
        grep -qF -- "$s" "$tmp/out" || fail "--help does not mention '$s'"
    done
    ;;
version)
    vr --version -- touch "$tmp/ran"
    expect_status 0 "--version"
    expect_not_run "--version"
    [ "$(cat "$tmp/out")" = "vgpu-run (vgpu) $version" ] || fail "--version printed '$(cat "$tmp/out")'"
    ;;
*)
    echo "test-vgpu-run.sh: unknown case '$name'" >&2
    exit 2
    ;;
esac
echo "run.$name: ok"
