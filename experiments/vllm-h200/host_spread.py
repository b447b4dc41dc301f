#!/usr/bin/env python3
"""The spread of host speed across the H200 hosts of the vLLM manifest, from `moesim validate`'s JSON: for every step
trace without a one-off stall (fit and held out, one GPU), the ratio of measured to predicted median time of its steps
without CUDA graphs (at least 5 such steps): those steps wait on the host, so the ratio is how much faster or slower
than moesim's host model that run's host was. Prints the percentiles; the 10th and 90th are the `vllm` engine
profile's host_spread_low and host_spread_high, which `moesim run` prints a host-bound prediction at.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json /tmp/v.json
  python3 experiments/vllm-h200/host_spread.py /tmp/v.json
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
v = json.load(open(sys.argv[1]))
m = json.load(open(os.path.join(here, "manifest.json")))
stall = {e["id"] for e in m["runs"] if "stall" in e.get("tags", [])}
ratios, hosts = [], set()
for r in v["rows"]:
    if r["metric"] != "step_time_ms" or r["id"].startswith("x2/") or r["id"] in stall:
        continue
    for mode in r.get("steps_by_cuda_graph_mode") or []:
        if mode["mode"] == "NONE" and mode["steps"] >= 5 and mode["predicted_ms"]:
            ratios.append(mode["measured_ms"] / mode["predicted_ms"])
            hosts.add((r.get("tags") or ["?"])[0])
ratios.sort()


def pct(p):
    return ratios[int(round(p * (len(ratios) - 1)))]


print("%d step traces from %d job calls: measured / predicted time of steps without CUDA graphs" % (len(ratios), len(hosts)))
print("  " + "  ".join("p%d %.2f" % (100 * p, pct(p)) for p in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)))
print("host_spread_low %.2f, host_spread_high %.2f (10th and 90th percentiles)" % (pct(0.1), pct(0.9)))
