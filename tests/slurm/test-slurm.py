#!/usr/bin/env python3
"""slurm.spank: spank_vgpu.so inside a real Slurm (Debian's slurm-wlm 22.05).

Starts munged (a key made here), slurmctld and slurmd on localhost with a
generated slurm.conf (NodeName=localhost, its own ports, state under WORK),
the plugin in a generated plugstack.conf and simgpu as the node's GPU (the
jobs get LD_LIBRARY_PATH=<simgpu dir> and SIMGPU_STATE from the submitting
environment, as srun and sbatch pass it on), then submits jobs:

  refused   srun --vgpu-share=150, --vgpu-memory=lots, --vgpu-priority=urgent
            stop at submission with the plugin's message
  memory    --vgpu-memory=1GiB: 2 GiB fails with out of memory, 256 MiB works
            and the job sees a 1 GiB GPU
  shards    --gres=shard:1 on a node with 4 shards per GPU: share 25 implied;
            --vgpu-share wins over shards
  shares    two jobs at once, --vgpu-share=30 and 70, saturating: 30/70 of
            the busy time within 2 points (as hook.sched checks it)
  tenant    with vgpud on the node: tenant slurm-<jobid> is listed while the
            job runs and gone after it ends

Every daemon started here is stopped on the way out, failure or not (and
the slurmstepds of our jobs, found by the SLURM_CONF in their environment).
Not root: exits 77 (skipped). Slurm or munge missing: fails and says how to
install them.

  test-slurm.py BIN_DIR LIBVGPU SIMGPU_DIR PLUGIN WORK_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SKIP = 77
TOL = 2.0  # points of the busy share, as hook.sched
SATURATE = ["--kernel", "busy", "--json", "--kernel-us", "1000", "--sync-every", "4",
            "--duration", "3"]
TOOLS = ["munged", "slurmctld", "slurmd", "srun", "sbatch", "scontrol", "scancel", "squeue"]


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bin_dir, libvgpu, simgpu_dir, plugin, work):
        self.bin, self.libvgpu, self.simgpu, self.plugin = bin_dir, libvgpu, simgpu_dir, plugin
        self.work = work
        self.procs = {}  # name -> Popen, every daemon we started
        self.conf = os.path.join(work, "slurm.conf")
        self.vgpud_sock = os.path.join(work, "vgpud.sock")
        self.prefix = "vtslurm%d" % os.getpid()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("VGPU_", "SLURM_", "SIMGPU_", "SBATCH_", "SALLOC_"))
                    and k not in ("LD_PRELOAD", "CUDA_DEVICE_MEMORY_LIMIT",
                                  "CUDA_DEVICE_SM_LIMIT")}
        self.env.update(SLURM_CONF=self.conf, LD_LIBRARY_PATH=simgpu_dir,
                        SIMGPU_STATE=os.path.join(work, "sim.state"),
                        SIMGPU_DEVICES="H100:80GiB", VGPU_ACCOUNT_PREFIX=self.prefix)

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, text, mode=0o644):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), mode)

    def spawn(self, name, argv, env=None):
        out = open(self.path(name + ".out"), "w")
        self.procs[name] = subprocess.Popen(argv, env=env or self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def run(self, argv, timeout=60, check=True):
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise Failure("%s exited %d\nstdout: %s\nstderr: %s" %
                          (" ".join(argv), p.returncode, p.stdout, p.stderr))
        return p

    def wait_for(self, what, pred, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise Failure("%s exited %d while waiting for %s; its log:\n%s" %
                                  (name, p.returncode, what, self.tail(name)))
            if pred():
                return
            time.sleep(0.2)
        raise Failure("timed out waiting for %s" % what)

    def tail(self, name, n=30):
        for f in (self.path(name + ".out"), self.path(name + ".log")):
            if os.path.exists(f):
                with open(f, errors="replace") as fh:
                    return "".join(fh.readlines()[-n:])
        return "(no log)"

    # ---- start ---------------------------------------------------------------------------

    def start(self):
        self.start_munge()
        ctld_port, d_port = free_port(), free_port()
        for d in ("ctld", "spool"):
            os.makedirs(self.path(d), exist_ok=True)
        self.write("plugstack.conf",
                   "required %s libvgpu=%s socket=%s pool=A shards_per_gpu=4\n" %
                   (self.plugin, self.libvgpu, self.vgpud_sock))
        self.write("gres.conf", "NodeName=localhost Name=gpu File=/dev/null\n"
                                "NodeName=localhost Name=shard Count=4\n")
        self.write("cgroup.conf", "CgroupPlugin=autodetect\n")
        self.write("slurm.conf", f"""ClusterName=vgputest
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.path("munge.sock")}
StateSaveLocation={self.path("ctld")}
SlurmdSpoolDir={self.path("spool")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.pid")}
SlurmctldLogFile={self.path("slurmctld.log")}
SlurmdLogFile={self.path("slurmd.log")}
SlurmctldDebug=info
SlurmdDebug=verbose
PlugStackConfig={self.path("plugstack.conf")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
GresTypes=gpu,shard
NodeName=localhost CPUs=4 RealMemory=1000 Gres=gpu:1,shard:4 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
        self.spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
        self.spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", self.conf])

        def idle():
            p = self.run(["scontrol", "show", "node", "localhost"], check=False)
            return p.returncode == 0 and "State=IDLE" in p.stdout
        self.wait_for("node localhost to be idle", idle, timeout=60)
        log("# slurmctld (port %d) and slurmd (port %d) up" % (ctld_port, d_port))

    def start_munge(self):
        key = self.path("munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        self.spawn("munged", ["munged", "-F", "--force", "--socket=" + self.path("munge.sock"),
                              "--key-file=" + key, "--pid-file=" + self.path("munged.pid"),
                              "--log-file=" + self.path("munged.log"),
                              "--seed-file=" + self.path("munged.seed")])
        self.wait_for("munged's socket", lambda: os.path.exists(self.path("munge.sock")))

    def start_vgpud(self):
        self.spawn("vgpud", [os.path.join(self.bin, "vgpud"), "--foreground", "--socket",
                             self.vgpud_sock, "--db", self.path("vgpu.db"), "--log-level",
                             "info"])
        self.wait_for("vgpud", lambda: self.admin(["ping"], check=False).returncode == 0)
        self.admin(["scan-gpus"])
        self.admin(["pool", "create", "A", "--gpus", "0"])

    def admin(self, args, check=True):
        return self.run([os.path.join(self.bin, "vgpu-admin"), "--socket", self.vgpud_sock] +
                        args, check=check)

    def work_cmd(self, *args):
        return [os.path.join(self.bin, "vgpu-work")] + list(args)

    # ---- stop ----------------------------------------------------------------------------

    def our_stepds(self):
        """slurmstepds started for our slurmd: they carry our SLURM_CONF."""
        mine, pids = ("SLURM_CONF=%s" % self.conf).encode(), []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/comm" % d) as f:
                    if not f.read().startswith("slurmstepd"):
                        continue
                with open("/proc/%s/environ" % d, "rb") as f:
                    if mine in f.read().split(b"\0"):
                        pids.append(int(d))
            except OSError:
                pass
        return pids

    def stop(self):
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--full", "--partition=debug"], env=self.env,
                           capture_output=True, timeout=20)
        for pid in self.our_stepds():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for name in ("slurmd", "slurmctld", "vgpud", "munged"):
            p = self.procs.pop(name, None)
            if not p or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in os.listdir("/dev/shm"):
            if f.startswith(self.prefix):
                os.unlink(os.path.join("/dev/shm", f))


# ---- cases --------------------------------------------------------------------------------


def case_refused(c):
    for opt, val, why in (("share", "150", "expected a whole number from 1 to 100"),
                          ("memory", "lots", "expected a size"),
                          ("priority", "urgent", "expected low, medium or high")):
        for tool in (["srun"], ["sbatch", "--wrap=true"]):
            p = c.run(tool + ["--vgpu-%s=%s" % (opt, val), "true"] if tool == ["srun"]
                      else tool + ["--vgpu-%s=%s" % (opt, val)], check=False, timeout=30)
            want = "vgpu: invalid --vgpu-%s value '%s': %s" % (opt, val, why)
            if p.returncode == 0 or want not in p.stderr:
                raise Failure("%s --vgpu-%s=%s: exit %d, stderr %r; wanted a refusal saying %r" %
                              (tool[0], opt, val, p.returncode, p.stderr, want))
    log("ok refused: bad --vgpu-share, --vgpu-memory, --vgpu-priority stop srun and sbatch")


def case_memory(c):
    p = c.run(["srun", "--vgpu-memory=1GiB"] + c.work_cmd("--mem", "2GiB", "--duration", "0.1"),
              check=False)
    if p.returncode == 0 or "CUDA_ERROR_OUT_OF_MEMORY" not in p.stderr:
        raise Failure("2 GiB under --vgpu-memory=1GiB: exit %d, stderr %r; wanted out of memory"
                      % (p.returncode, p.stderr))
    p = c.run(["srun", "--vgpu-memory=1GiB"] +
              c.work_cmd("--mem", "256MiB", "--duration", "0.1", "--json"))
    rep = json.loads(p.stdout)
    if rep["mem_total"] != 1 << 30:
        raise Failure("the job sees %d bytes of GPU memory, wanted 1 GiB" % rep["mem_total"])
    log("ok memory: 2 GiB refused with out of memory, 256 MiB held, the job sees a 1 GiB GPU")


def case_shards(c):
    env = ["sh", "-c", "echo ${VGPU_COMPUTE_SHARE:-none} ${VGPU_TENANT:-none}"]
    got = c.run(["srun", "--gres=shard:1"] + env).stdout.split()
    if got[0] != "25" or not got[1].startswith("slurm-"):
        raise Failure("--gres=shard:1 of 4 per GPU: share %s, tenant %s; wanted 25, slurm-<id>"
                      % tuple(got))
    got = c.run(["srun", "--gres=shard:2", "--vgpu-share=10"] + env).stdout.split()
    if got[0] != "10":
        raise Failure("--gres=shard:2 --vgpu-share=10: share %s, wanted 10" % got[0])
    got = c.run(["srun"] + env).stdout.split()
    if got != ["none", "none"]:
        raise Failure("a job without vgpu options or shards got %s" % got)
    log("ok shards: shard:1 of 4 implies share 25, --vgpu-share wins, plain jobs are untouched")


def case_shares(c):
    jobs = [subprocess.Popen(["srun", "--vgpu-share=%d" % s] + c.work_cmd(*SATURATE),
                             env=c.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for s in (30, 70)]
    reps = []
    for j in jobs:
        out, err = j.communicate(timeout=120)
        if j.returncode != 0:
            raise Failure("a saturating job exited %d: %s" % (j.returncode, err))
        reps.append(json.loads(out))
    busy = [r["launches"] * r["kernel_us"] / 1e6 for r in reps]
    share = 100 * busy[0] / (busy[0] + busy[1])
    log("# shares 30/70: %.2f%% / %.2f%% of the busy time (%.2f s, %.2f s busy)" %
        (share, 100 - share, busy[0], busy[1]))
    if abs(share - 30) > TOL:
        raise Failure("the 30%% job had %.2f%% of the busy time, wanted 30 +- %.0f" % (share, TOL))
    log("ok shares: 30/70 within %.0f points" % TOL)


def tenants(c):
    return [t["name"] for t in json.loads(c.admin(["tenant", "list", "--json"]).stdout)]


def case_tenant(c):
    c.start_vgpud()
    p = c.run(["sbatch", "--parsable", "--vgpu-share=50", "--vgpu-memory=2GiB",
               "--wrap", " ".join(c.work_cmd("--duration", "4"))])
    jobid = p.stdout.strip().split(";")[0]
    name = "slurm-" + jobid
    c.wait_for("tenant %s to be listed" % name, lambda: name in tenants(c), timeout=30)
    t = json.loads(c.admin(["tenant", "show", name, "--json"]).stdout)
    log("# while job %s runs: %s" % (jobid, json.dumps(t, sort_keys=True)))
    if str(t.get("share")) != "50" or t.get("pool") != "A":
        raise Failure("tenant %s: share %s pool %s, wanted 50 in pool A" %
                      (name, t.get("share"), t.get("pool")))

    def ended():
        return c.run(["squeue", "-h", "-j", jobid], check=False).stdout.strip() == ""
    c.wait_for("job %s to end" % jobid, ended, timeout=60)
    c.wait_for("tenant %s to be removed" % name, lambda: name not in tenants(c), timeout=30)
    out = open(c.path("slurm-%s.out" % jobid)).read() if os.path.exists(
        c.path("slurm-%s.out" % jobid)) else ""
    if "error" in out.lower():
        raise Failure("job %s's output: %s" % (jobid, out))
    log("ok tenant: %s listed while job %s ran, gone after it ended" % (name, jobid))


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: test-slurm.py BIN_DIR LIBVGPU SIMGPU_DIR PLUGIN WORK_DIR")
    bin_dir, libvgpu, simgpu, plugin, work = sys.argv[1:]
    if os.geteuid() != 0:
        print("slurm.spank: skipped: slurmd, slurmctld and munged run as root here (run the "
              "test as root, as CI does)")
        return SKIP
    missing = [t for t in TOOLS if not shutil.which(t, path=os.environ.get("PATH", "") +
                                                    ":/usr/sbin:/sbin")]
    if missing:
        print("slurm.spank: FAILED: %s not installed: run scripts/deps.sh (apt-get install "
              "slurm-wlm munge libslurm-dev), then configure again" % ", ".join(missing))
        return 1
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)
    c = Cluster(bin_dir, libvgpu, simgpu, plugin, work)
    c.env["PATH"] = os.environ["PATH"]

    def on_signal(sig, frame):
        raise Failure("stopped by signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    os.chdir(work)  # sbatch writes slurm-<id>.out here
    rc = 1
    try:
        c.start()
        only = os.environ.get("VT_SLURM_CASES", "").split(",")  # e.g. "tenant" while debugging
        for case in (case_refused, case_memory, case_shards, case_shares, case_tenant):
            if only == [""] or case.__name__[5:] in only:
                case(c)
        rc = 0
    except (Failure, subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as e:
        print("slurm.spank: FAILED: %s" % e)
        for name in ("slurmctld", "slurmd"):
            print("---- %s's log (last lines) ----\n%s" % (name, c.tail(name)))
    finally:
        c.stop()
    if rc == 0:
        print("slurm.spank: all cases passed")
    return rc


if __name__ == "__main__":
    sys.exit(main())
