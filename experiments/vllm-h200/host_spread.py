#!/usr/bin/env python3
"""The spread of host speed across the H200 hosts of the vLLM manifest, from `moesim validate`'s JSON: for every step
trace without a one-off stall (fit and held out, one GPU), the ratio of measured to predicted median time of its steps
without CUDA graphs (at least 5 such steps): those steps wait on the host, so the ratio is how much faster or slower
than moesim's host model that run's host was. Prints the percentiles; the 10th and 90th are the `vllm` engine
profile's host_spread_low and host_spread_high, which `moesim run` prints a host-bound prediction at.

Then the same ratio against the host-speed readings taken beside each run (the front end's hostspeed.py workload
before it, the engine core's before and after it; the fourth session on): a run is predicted at its job's mean
reading, and if the per-run readings followed the host, the ratio would follow them (Spearman rank correlation), and
predicting each run at its own reading (times the engine profile's host_speed_exponent) would shrink the error.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json /tmp/v.json
  python3 experiments/vllm-h200/host_spread.py /tmp/v.json
"""
import json
import math
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "probe", "vllm"))
from hostcorr_report import spearman  # noqa: E402
v = json.load(open(sys.argv[1]))
m = json.load(open(os.path.join(here, "manifest.json")))
stall = {e["id"] for e in m["runs"] if "stall" in e.get("tags", [])}
entries = {e["id"]: e for e in m["runs"]}
ratios, hosts, per_run = [], set(), []
for r in v["rows"]:
    if r["metric"] != "step_time_ms" or r["id"].startswith("x2/") or r["id"] in stall:
        continue
    for mode in r.get("steps_by_cuda_graph_mode") or []:
        if mode["mode"] == "NONE" and mode["steps"] >= 5 and mode["predicted_ms"]:
            ratios.append(mode["measured_ms"] / mode["predicted_ms"])
            hosts.add((r.get("tags") or ["?"])[0])
            e = entries[r["id"]]
            args = e["args"]
            result = os.path.normpath(os.path.join(here, e["step_trace"])).replace(".steps.json", ".json")
            if "--host-speed" in args and os.path.exists(result):
                h = json.load(open(result)).get("host_speed") or {}
                before, after = h.get("engine_core"), h.get("engine_core_after")
                if isinstance(before, dict) and isinstance(after, dict) and not h.get("busy_processes"):
                    per_run.append((ratios[-1], float(args[args.index("--host-speed") + 1]), h["workload_median_s"],
                                    before["workload_median_s"], after["workload_median_s"]))
ratios.sort()


def pct(p):
    return ratios[int(round(p * (len(ratios) - 1)))]


print("%d step traces from %d job calls: measured / predicted time of steps without CUDA graphs" % (len(ratios), len(hosts)))
print("  " + "  ".join("p%d %.2f" % (100 * p, pct(p)) for p in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)))
print("host_spread_low %.2f, host_spread_high %.2f (10th and 90th percentiles)" % (pct(0.1), pct(0.9)))

if len(per_run) > 2:
    exponent = json.load(open(os.path.join(here, "..", "..", "profiles", "engines", "vllm.json")))["parameters"]["host_speed_exponent"]
    logs = [math.log(x[0]) for x in per_run]
    print("%d of them with per-run host-speed readings: mean |log(measured / predicted)| %.3f at the job's mean reading" % (
        len(per_run), statistics.mean(abs(y) for y in logs)))
    for label, f in (("front end, before the run", lambda x: x[2]), ("engine core, before", lambda x: x[3]),
                     ("engine core, after", lambda x: x[4]), ("engine core, geometric mean", lambda x: math.sqrt(x[3] * x[4]))):
        rel = [math.log(f(x) / x[1]) for x in per_run]
        print("  %-28s Spearman %+.2f; at this reading instead: %.3f" % (
            label, spearman(rel, logs), statistics.mean(abs(y - exponent * d) for d, y in zip(rel, logs))))
