#!/usr/bin/env python3
"""How the length of a fused-MoE first-use compile follows the host-speed reading (docs/accuracy.md, thirty-fifth
session): every stall of the step traces at a first use of a bf16 fused-MoE kernel (probe/vllm/first_use.py's rule,
the host's Triton cache included), less its similar steps' median (probe/vllm/stalls.py), against the run's
--host-speed in experiments/vllm-h200/manifest.json; prints the log-log slope and correlation and the median stall
per reading. moesim scales moe_first_use_us by the host costs' exponent (host_speed_exponent).

  python3 experiments/vllm-h200/compile_speed.py
"""
import glob
import json
import math
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "probe", "vllm"))
import first_use  # noqa: E402
import make_manifest  # noqa: E402
import stalls  # noqa: E402


def main():
    m = json.load(open(os.path.join(here, "manifest.json")))
    speed = {e["id"]: float(e["args"][e["args"].index("--host-speed") + 1]) for e in m["runs"] if "--host-speed" in e.get("args", [])}
    points = []
    for folder in sorted(glob.glob(os.path.join(here, "..", "..", "probe", "results", "*vllm*"))):
        prefix = make_manifest.session_of(folder).get("prefix", "")
        for jd, predicted, _ in first_use.host_checks(folder):
            found = stalls.stalls(jd)
            for run, tokens, _, what in predicted:
                if what != "fused MoE" or run.startswith("k-"):
                    continue
                rid = prefix + os.path.basename(jd) + "/" + run
                for ms, tok, similar in found.get(run, []):
                    if tok == tokens and rid in speed and ms > similar:
                        points.append((speed[rid], ms - similar))
    x = [math.log(s) for s, _ in points]
    y = [math.log(w) for _, w in points]
    mx, my = statistics.mean(x), statistics.mean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    print("%d fused-MoE stalls at a predicted first use with a host-speed reading: log-log slope %.2f, r %.2f"
          % (len(points), sxy / sxx, sxy / math.sqrt(sxx * syy)))
    by = {}
    for s, w in points:
        by.setdefault(round(s, 3), []).append(w)
    print("| host speed (s) | stalls | median stall beyond similar steps (ms) |\n|---|---|---|")
    for s in sorted(by):
        print("| %.3f | %d | %.0f |" % (s, len(by[s]), statistics.median(by[s])))


if __name__ == "__main__":
    main()
