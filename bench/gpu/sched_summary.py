"""Summarises bench/gpu/sched.sh's output directory: P1 (launch rate under
the lease gate), P2 (caps, a cap alone, weights), P3 (latency beside a
saturating tenant), for vgpu, native time-slicing and MPS. Prints a table
and writes summary.json next to the inputs."""
import json
import os
import statistics
import sys


def load(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def gpu_times(d, name):
    st = load(d, name)
    if not st:
        return {}
    return {t["name"]: t.get("gpu_time_s", 0.0) for t in st.get("tenants", [])}


def main():
    d = sys.argv[1]
    res = {}
    ratios = []
    for i in range(1, 7):
        n, h = load(d, f"p1-native-{i}.json"), load(d, f"p1-hooked-{i}.json")
        if n and h:
            ratios.append(h["launches_per_s"] / n["launches_per_s"])
    if ratios:
        res["p1_launch_ratio_median"] = statistics.median(ratios)
        res["p1_launch_ratios"] = ratios
    alone = load(d, "alone-sat.json")
    alone_lat = load(d, "alone-lat.json")
    base = alone["its"] if alone else None
    res["alone_its"] = base
    res["alone_lat"] = alone_lat

    def shares(*names):
        vals = [load(d, n) for n in names]
        if not base or not all(vals):
            return None
        s = [v["its"] / base for v in vals]
        return {"shares": s, "total": sum(s)}

    res["native_two"] = shares("native-sat-a.json", "native-sat-b.json")
    res["vgpu_caps_30_70"] = shares("vgpu-cap30.json", "vgpu-cap70.json")
    res["vgpu_cap30_alone"] = shares("vgpu-solo30.json")
    res["vgpu_high_low"] = shares("vgpu-hi.json", "vgpu-lo.json")
    res["mps_30_70"] = shares("mps-30.json", "mps-70.json")
    for tag in ("caps", "weights", "p3"):
        res[f"gpu_time_{tag}"] = gpu_times(d, f"status-{tag}.json")

    def p3(lat_name, sat_name, lat_alone):
        lat, sat = load(d, lat_name), load(d, sat_name)
        if not lat or not sat or not base or not lat_alone:
            return None
        return {"p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
                "p99_vs_alone": lat["p99_ms"] / lat_alone["p99_ms"], "low_throughput": sat["its"] / base}

    vlat_alone = load(d, "vgpu-lat-alone.json")
    res["native_p3"] = p3("native-p3-lat.json", "native-p3-sat.json", alone_lat)
    res["vgpu_p3"] = p3("vgpu-p3-lat.json", "vgpu-p3-sat.json", alone_lat)
    res["vgpu_lat_alone"] = vlat_alone
    res["mps_p3"] = p3("mps-p3-lat.json", "mps-p3-sat.json", alone_lat)
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
