#!/usr/bin/env python3
"""OLMoE as the speedometer of a probe/vllm/pairhost.py session: how fast the shared vCPU ran OLMoE-1B-7B's steps
without CUDA graphs, against moesim's price for them, written beside the session so that make_manifest.py gives the
other models of the session that host scale.

  python3 experiments/vllm-h200/pair_scale.py PAIR_DIR [PAIR_DIR ...] [--moesim .build/release/moesim]

Why: each model's steps in a pairhost.py session ran on the same vCPU, in turns within seconds, so the vCPU's speed
fell on them alike; but the session's one host-speed reading (hostspeed.py's workload) says that speed only to within
10-20% (docs/vllm.md). OLMoE's graphless steps (host-bound: 16 layers, 8-13 ms of GPU time against 30-40 ms of host)
read it directly: measured / predicted over them is the factor by which this vCPU ran moesim's host costs. Writing
it as `--host-cost-scale` into the other models' entries compares their host cost with OLMoE's on the same vCPU: what
a per-model host cost (the shared-expert MoE layer, the grouped top-k) is about, whatever the vCPU's state. OLMoE's
own entry is left at the session's reading: its steps set the scale, so they check nothing at it.

For each PAIR_DIR (a folder with pairhost.jsonl and olmoe-1b-7b.steps.json, cut by probe/vllm/pairhost_traces.py)
this runs `moesim validate --steps` on OLMoE's entry (as make_manifest.py writes it) and writes PAIR_DIR/olmoe-scale.json:
the median over OLMoE's steps without CUDA graphs of measured / predicted, with the step count and the moesim
commit. It depends on how moesim prices OLMoE's steps (eager_op_host_us, eager_moe_host_us, ...), not on the
per-model parameters it is used to fit: re-run it when those change.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
sys.path.insert(0, os.path.join(root, "probe", "vllm"))
import make_manifest  # noqa: E402

METER = "olmoe-1b-7b"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pair_dirs", nargs="+")
    ap.add_argument("--moesim", default=os.path.join(root, ".build", "release", "moesim"))
    a = ap.parse_args()
    commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    for d in a.pair_dirs:
        d = os.path.abspath(d)
        res, name = os.path.dirname(d), os.path.basename(d)
        if not os.path.exists(os.path.join(d, METER + ".steps.json")):
            sys.exit("pair_scale.py: %s has no %s.steps.json (probe/vllm/pairhost_traces.py cuts it)" % (d, METER))
        # The scratch manifest sits beside manifest.json: its entries name the routing files relative to this folder.
        rel = lambda p: os.path.relpath(os.path.abspath(p), here)
        sess = {"prefix": "", "call": {}}
        runs = [r for r in make_manifest.pairhost_entries(res, rel, sess, only=name, scales=False)
                if r["id"] == "%s/%s/steps" % (name, METER)]
        if not runs:
            sys.exit("pair_scale.py: no %s entry for %s" % (METER, d))
        manifest = os.path.join(here, ".pair_scale_manifest.json")
        with tempfile.TemporaryDirectory() as tmp:
            steps = os.path.join(tmp, "steps.csv")
            with open(manifest, "w") as f:
                json.dump({"version": 1, "description": "pair_scale.py scratch manifest", "runs": runs}, f)
            try:
                subprocess.run([a.moesim, "validate", manifest, "--json", os.path.join(tmp, "v.json"), "--steps", steps],
                               check=True, stdout=subprocess.DEVNULL)
            finally:
                os.remove(manifest)
            ratios = [float(r["measured_ms"]) / float(r["predicted_ms"]) for r in csv.DictReader(open(steps))
                      if r["recorded_mode"] == "NONE" and float(r["predicted_ms"]) > 0]
        if len(ratios) < 20:
            sys.exit("pair_scale.py: %s: only %d steps of %s without CUDA graphs" % (d, len(ratios), METER))
        q = sorted(ratios)
        out = {"host_cost_scale": round(statistics.median(ratios), 4), "steps": len(ratios),
               "quartiles": [round(q[len(q) // 4], 4), round(q[3 * len(q) // 4], 4)],
               "host_speed_args": runs[0]["args"][runs[0]["args"].index("--host-speed") + 1] if "--host-speed" in runs[0]["args"] else None,
               "how": "median over %s's steps without CUDA graphs of measured / predicted step time, predicted by moesim %s "
                      "at the session's host-speed reading (experiments/vllm-h200/pair_scale.py)" % (METER, commit),
               "date": time.strftime("%Y-%m-%d", time.gmtime())}
        with open(os.path.join(d, "olmoe-scale.json"), "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
        print("%s: host scale %.4f (quartiles %.4f-%.4f) over %d steps" % (d, out["host_cost_scale"], *out["quartiles"], len(ratios)))


if __name__ == "__main__":
    main()
