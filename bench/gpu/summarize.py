"""Summarises bench/gpu/hook.sh's results: P1 ratios of medians, P4 figures."""
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
nat = [j["launches_per_s"] for j in jsons("p1-native-*.out")]
hk = [j["launches_per_s"] for j in jsons("p1-hooked-*.out")]
if nat and hk:
    summary["p1_launch_native_per_s"] = statistics.median(nat)
    summary["p1_launch_hooked_per_s"] = statistics.median(hk)
    summary["p1_launch_ratio"] = statistics.median(hk) / statistics.median(nat)
nat = [j["step_s_median"] for j in jsons("step-native-*.out")]
hk = [j["step_s_median"] for j in jsons("step-hooked-*.out")]
if nat and hk:
    summary["p1_torch_step_native_s"] = statistics.median(nat)
    summary["p1_torch_step_hooked_s"] = statistics.median(hk)
    summary["p1_torch_step_ratio"] = statistics.median(nat) / statistics.median(hk)
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
