#!/bin/sh
# daemon.sh OUTDIR: vgpud and vgpu-admin on a real GPU machine.
#   - scan-gpus agrees with nvidia-smi (model, memory, PCI bus id, UUID) and
#     with CUDA (PyTorch's device UUIDs) on ordinals;
#   - pools map to the GPUs (one pool per GPU);
#   - a PyTorch process started by vgpu-run as a tenant attaches to vgpud
#     (managed mode: status lists it), gets its limit from vgpud, and sees a
#     change made with vgpu-admin while it runs;
#   - a tenant bound to a group serves two users of that group (its memory
#     limit holds for them) and no one outside it; likewise a tenant bound
#     to a cgroup (v2; mounted under the temporary directory when
#     /sys/fs/cgroup is not v2) for a process in a cgroup below it.
# Needs build-gpu/ (VGPU_BUILD) with bin/{vgpud,vgpu-admin,vgpu-run} and
# lib/libvgpu.so, plus the shared libraries the GPU machine lacks in lib/.
set -u
out=${1:?usage: daemon.sh OUTDIR}
cd "$(dirname "$0")/../.."
build=$(readlink -f "${VGPU_BUILD:-build-gpu}")
export LD_LIBRARY_PATH="$build/lib" VGPU_ACCOUNT_PREFIX="gpubench$$"
mkdir -p "$out"
tmp=$(mktemp -d)
admin() { "$build/bin/vgpu-admin" --socket "$tmp/s" "$@"; }
"$build/bin/vgpud" --foreground --socket "$tmp/s" --db "$tmp/db" 2>"$out/vgpud.log" &
vgpud=$!
trap 'kill $vgpud 2>/dev/null; rm -rf "$tmp"; rm -f /dev/shm/$VGPU_ACCOUNT_PREFIX.*' EXIT
for i in $(seq 50); do admin ping >/dev/null 2>&1 && break; sleep 0.1; done

admin scan-gpus --json >"$out/scan.json"
admin scan-gpus >"$out/scan.txt"
nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id,uuid --format=csv,noheader,nounits \
    >"$out/nvidia-smi.csv"
python3 -c '
import json, torch
print(json.dumps([str(torch.cuda.get_device_properties(i).uuid) for i in range(torch.cuda.device_count())]))
' >"$out/torch-uuids.json"

n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/scan.json")
for i in $(seq 0 $((n - 1))); do
    admin pool create "P$i" --gpus "$i"
    admin tenant add "t$i" --pool "P$i" --memory 8GiB --priority high
done
admin status >"$out/status.txt"
admin status --json >"$out/status.json"

# A managed PyTorch process: its limit comes from vgpud and changes while it runs.
cat >"$tmp/managed.py" <<'PY'
import os, sys, time, torch
dev = int(sys.argv[1])
print("start", torch.cuda.mem_get_info(dev)[1], flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
print("after", torch.cuda.mem_get_info(dev)[1], flush=True)
PY
# GPU 0's process joins with a token an admin issued, the others by name.
for i in $(seq 0 $((n - 1))); do
    if [ "$i" -eq 0 ]; then
        VGPU_TOKEN=$(admin token create --tenant t0) "$build/bin/vgpu-run" --socket "$tmp/s" -- \
            python3 "$tmp/managed.py" "$i" "$tmp/go$i" >"$out/managed$i.txt" 2>"$out/managed$i.err" &
    else
        "$build/bin/vgpu-run" --socket "$tmp/s" --tenant "t$i" -- python3 "$tmp/managed.py" "$i" \
            "$tmp/go$i" >"$out/managed$i.txt" 2>"$out/managed$i.err" &
    fi
    eval "pid$i=\$!"
done
sleep 8 # PyTorch start-up
admin status --json >"$out/status-running.json"
for i in $(seq 0 $((n - 1))); do admin tenant set "t$i" --memory 12GiB; touch "$tmp/go$i"; done
for i in $(seq 0 $((n - 1))); do eval "wait \$pid$i"; done
admin status >"$out/status-after.txt"

# A tenant bound to a group: processes of two users of that group (neither
# an admin, neither naming a tenant) join it by themselves and get its
# limit; a user outside the group gets no tenant. vgpu-work allocates on
# GPU 0 through the real driver. The binaries go where those users can read.
admin tenant add g0 --pool P0 --memory 6GiB --bind-gid 4242 >/dev/null
mkdir -p "$tmp/gb" && cp -r "$build/bin" "$build/lib" "$tmp/gb/" && chmod -R a+rX "$tmp" &&
    chmod 755 "$tmp"
as_user() { # uid gid args...
    u=$1 g=$2
    shift 2
    LD_LIBRARY_PATH="$tmp/gb/lib" setpriv --reuid "$u" --regid "$g" --clear-groups \
        "$tmp/gb/bin/vgpu-run" --socket "$tmp/s" -- "$tmp/gb/bin/vgpu-work" "$@"
}
{
    as_user 4243 4242 --mem 4GiB --duration 0.2 >/dev/null 2>&1
    echo "member_4243_4GiB $?"
    as_user 4244 4242 --mem 4GiB --duration 0.2 >/dev/null 2>&1
    echo "member_4244_4GiB $?"
    as_user 4244 4242 --mem 7GiB --duration 0.2 >/dev/null 2>&1
    echo "member_4244_7GiB $?"
    as_user 4245 4246 --mem 1GiB --duration 0.2 >/dev/null 2>&1
    echo "outsider_1GiB $?"
    for who in 4243:4242 4247:4242 4245:4246; do # members (one never attached), an outsider
        setpriv --reuid "${who%:*}" --regid "${who#*:}" --clear-groups \
            test -w "/dev/shm/$VGPU_ACCOUNT_PREFIX.g0"
        echo "account_writable_by_$who $?"
    done
    admin tenant set g0 --bind-gid 4300 >/dev/null # bound elsewhere: the members lose it
    setpriv --reuid 4243 --regid 4242 --clear-groups test -w "/dev/shm/$VGPU_ACCOUNT_PREFIX.g0"
    echo "after_rebind_writable_by_4243:4242 $?"
    as_user 4243 4242 --mem 1GiB --duration 0.2 >/dev/null 2>&1
    echo "after_rebind_member_4243_1GiB $?"
    admin tenant rm g0 >/dev/null
    test -e "/dev/shm/$VGPU_ACCOUNT_PREFIX.g0"
    echo "account_exists_after_rm $?"
} >"$out/group.txt" 2>&1

# A tenant bound to a cgroup (v2): a process of a non-admin user that is in
# it, or in a cgroup below it, joins it; the same user outside gets none.
cg=/sys/fs/cgroup
if [ "$(stat -fc %T $cg)" != cgroup2fs ]; then
    mkdir -p "$tmp/cg" && mount -t cgroup2 none "$tmp/cg" && cg=$tmp/cg
fi
job=vgpu-bench-$$
{
    mkdir -p "$cg/$job/step0" && admin tenant add c0 --pool P0 --memory 3GiB --bind-cgroup "/$job" &&
        echo "bound /$job"
    in_cgroup() { # args... : as uid 4250 in $job/step0
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg/$job/step0" \
            env LD_LIBRARY_PATH="$tmp/gb/lib" setpriv --reuid 4250 --regid 4250 --clear-groups \
            "$tmp/gb/bin/vgpu-run" --socket "$tmp/s" -- "$tmp/gb/bin/vgpu-work" "$@"
    }
    in_cgroup --mem 2GiB --duration 0.2 >/dev/null 2>&1
    echo "in_cgroup_2GiB $?"
    in_cgroup --mem 4GiB --duration 0.2 >/dev/null 2>&1
    echo "in_cgroup_4GiB $?"
    as_user 4250 4250 --mem 1GiB --duration 0.2 >/dev/null 2>&1
    echo "outside_1GiB $?"
    rmdir "$cg/$job/step0" "$cg/$job"
    [ "$cg" = "$tmp/cg" ] && umount "$tmp/cg"
} >"$out/cgroup.txt" 2>&1
kill $vgpud
wait $vgpud 2>/dev/null

python3 - "$out" "$n" <<'PY'
import csv, json, sys
out, n = sys.argv[1], int(sys.argv[2])
scan = json.load(open(out + "/scan.json"))
smi = list(csv.reader(open(out + "/nvidia-smi.csv")))
torch_uuids = json.load(open(out + "/torch-uuids.json"))
res = {"gpus": n, "agree_with_nvidia_smi": True, "agree_with_cuda": True, "managed": []}
for g in scan:
    row = smi[g["nvml_index"]]
    same = (row[1].strip() == g["name"] and int(row[2]) * 2**20 == g["memory_total"]
            and row[3].strip().lower() == g["pci_bus_id"].lower() and row[4].strip() == g["uuid"])
    res["agree_with_nvidia_smi"] &= same
    if not same:
        res.setdefault("mismatch", []).append({"scan": g, "nvidia-smi": row})
    if g["cuda_ordinal"] >= 0:
        res["agree_with_cuda"] &= "GPU-" + torch_uuids[g["cuda_ordinal"]] == g["uuid"]
for i in range(n):
    lines = dict(l.split() for l in open(out + "/managed%d.txt" % i) if l.strip())
    res["managed"].append({"gpu": i, "total_at_start": int(lines.get("start", -1)),
                           "total_after_change": int(lines.get("after", -1))})
running = json.load(open(out + "/status-running.json"))
res["clients_while_running"] = sorted(c["tenant"] for c in running.get("clients", []))
res["group_bound"] = open(out + "/group.txt").read().splitlines()
res["cgroup_bound"] = open(out + "/cgroup.txt").read().splitlines()
print(json.dumps(res, indent=1))
json.dump(res, open(out + "/summary.json", "w"), indent=1)
PY
admin status --json >"$out/status-after.json" 2>/dev/null || true
cat "$out/status-after.txt"
