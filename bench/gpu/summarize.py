"""Summarises bench/gpu/hook.sh's results: P1 as the median of per-pair ratios
(native / preloaded runs in ABBA order), P4 figures."""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]


def jsons(pattern):
    res = []
    for f in sorted(glob.glob(os.path.join(out, pattern))):
        for line in open(f):
            line = line.strip()
            if line.startswith("{"):
                res.append(json.loads(line))
    return res


summary = {}


def pairs(prefix, key):
    """Per-pair values of native and preloaded runs, by run index."""
    nat, hk = {}, {}
    for side, store in (("native", nat), ("hooked", hk)):
        for f in glob.glob(os.path.join(out, "%s-%s-*.out" % (prefix, side))):
            idx = int(f.rsplit("-", 1)[1].split(".")[0])
            for line in open(f):
                if line.startswith("{"):
                    store[idx] = json.loads(line)[key]
    return [(nat[i], hk[i]) for i in sorted(nat) if i in hk]


def describe(ratios):
    r = sorted(ratios)
    return {"pairs": len(r), "median": statistics.median(r), "min": r[0], "max": r[-1]}


p = pairs("p1", "launches_per_s")
if p:
    summary["p1_launch_ratio"] = describe([h / n for n, h in p])
    summary["p1_launch_native_per_s_median"] = statistics.median(n for n, _ in p)
p = pairs("step", "step_s_median")
if p:
    summary["p1_torch_step_ratio"] = describe([n / h for n, h in p])
    summary["p1_torch_step_native_s_median"] = statistics.median(n for n, _ in p)
for name in ("torch-default", "torch-expandable", "cupy", "numba", "nvcc-shared", "nvcc-static",
             "nvcc-native"):
    j = jsons(name + ".out")
    summary[name] = j[0] if j else open(os.path.join(out, name + ".err")).read()[-600:]
for name in ("race", "sigkill"):
    txt = open(os.path.join(out, name + ".out")).read()
    summary[name] = [l for l in txt.splitlines() if l.startswith("#") or "PASSED" in l
                     or "FAILED" in l or "ERROR" in l]
print(json.dumps(summary, indent=1))
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
