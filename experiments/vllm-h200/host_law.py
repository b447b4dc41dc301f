#!/usr/bin/env python3
"""Does the host law hold on held-out runs: for the steps without CUDA graphs that moesim prices as host-bound (its
host time over 1.3x its GPU time), each run's median measured / predicted step time against the run's host speed
(`--host-speed`, probe/vllm/hostspeed.py's workload), a line fitted in log-log. The `vllm` profile scales every host
cost by (S / host_speed_reference_s)^host_speed_exponent; where it does so rightly, the slope is near 0.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --steps steps.csv
  python3 experiments/vllm-h200/host_law.py steps.csv

Held-out runs with at least 10 such steps; eager runs (--enforce-eager prices each operation alone), the request
pairs and the lone graphless prompts are left out. Prints the slope and intercept over all runs, then per model.
"""
import collections
import csv
import json
import math
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))


def fit(xs, ys):
    mx, my = statistics.mean(xs), statistics.mean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return b, my - b * mx


def main():
    m = json.load(open(os.path.join(here, "manifest.json")))
    profile = json.load(open(os.path.join(here, "..", "..", "profiles", "engines", "vllm.json")))["parameters"]
    ref = profile["host_speed_reference_s"]
    speed = {}
    for e in m["runs"]:
        a = e.get("args", [])
        if "--host-speed" in a and "--enforce-eager" not in a:
            speed[e["id"]] = float(a[a.index("--host-speed") + 1])
    ratios = collections.defaultdict(list)
    for r in csv.DictReader(open(sys.argv[1])):
        rid = r["id"][:-len("/steps")] if r["id"].endswith("/steps") else r["id"]
        if r["fit"] != "held_out" or r["recorded_mode"] != "NONE" or rid not in speed:
            continue
        if "/pair-" in rid or "-graphless/" in rid or "/g-i" in rid:
            continue
        if float(r["predicted_host_ms"]) <= 1.3 * float(r["predicted_gpu_ms"]):
            continue
        ratios[rid].append(float(r["measured_ms"]) / float(r["predicted_ms"]))
    runs = [(rid, math.log(speed[rid] / ref), math.log(statistics.median(v))) for rid, v in ratios.items() if len(v) >= 10]
    b, a = fit([x for _, x, _ in runs], [y for _, _, y in runs])
    print("%d held-out runs, host-bound steps without CUDA graphs: log(measured / predicted) = %+.2f %+.2f log(S / %.3f s)"
          % (len(runs), a, b, ref))
    by = collections.defaultdict(list)
    for rid, x, y in runs:
        by[rid.split("/")[-2].split("-")[0]].append((x, y))
    for model, v in sorted(by.items()):
        if len(v) >= 4 and len({x for x, _ in v}) > 1:
            b, a = fit([x for x, _ in v], [y for _, y in v])
            print("  %-10s %3d runs: slope %+.2f, intercept %+.2f" % (model, len(v), b, a))


if __name__ == "__main__":
    main()
