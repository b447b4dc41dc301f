#!/usr/bin/env python3
"""Which single offline prediction to make when vLLM's first step is a draw: every held-out offline run of several
requests predicted at each count of the engine profile's first_step_draw below its request count
(`--first-step-requests k`) and with every request at the first step, then several ways of picking one of those
predictions set against what vLLM measured:

- every request at the first step (what `moesim run` and `moesim validate` print);
- a fixed count k for every run;
- the draw's median and mean wall time;
- the wall time that minimises the expected relative error over the draw (weights probability / wall time: the
  point a mean-|error| table rewards).

  python3 experiments/vllm-h200/first_step_points.py [--moesim .build/release/moesim] [--jobs 2] [--cache FILE]

About 4,000 simulations (20 minutes on 2 cores); --cache keeps them (delete it when the manifest or the engine
changes). Runs with a one-off stall (the manifest's 'stall' tag, probe/vllm/stalls.py) and without are shown apart.
"""
import json
import os
import re
import statistics
import subprocess

import first_step_draw

here = os.path.dirname(os.path.abspath(__file__))


def predict(exe, e, k):
    p = subprocess.run([exe, "run"] + e["args"] + ["--host-cost-scale", "1", "--first-step-requests", str(k)],
                       cwd=here, capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return float(re.search(r"Benchmark duration \(s\):\s+([\d.]+)", p.stdout).group(1))


def outcomes(exe, draw, e):
    """[(requests at the first step, probability, wall time)] over the draw, the last with every request."""
    n = int(e["args"][e["args"].index("--num-prompts") + 1])
    out, rest = [], draw.get("beyond", 0.0)
    for k, p in zip(draw["requests"], draw["probability"]):
        if k < n:
            out.append((k, p, predict(exe, e, k)))
        else:
            rest += p
    out.append((n, rest, predict(exe, e, n)))
    return {"id": e["id"], "measured": e["measured"]["elapsed_time"], "stall": "stall" in e.get("tags", []),
            "outcomes": [o for o in out if o[2] is not None]}


def every_request(r):
    return r["outcomes"][-1][2]


def at(k):
    return lambda r: next((s for kk, _, s in r["outcomes"] if kk >= k), r["outcomes"][-1][2])


def median(r):
    xs = sorted((s, p) for _, p, s in r["outcomes"])
    total, cum = sum(p for _, p in xs), 0.0
    for s, p in xs:
        cum += p
        if cum >= total / 2 - 1e-9:
            return s


def mean(r):
    total = sum(p for _, p, _ in r["outcomes"])
    return sum(p * s for _, p, s in r["outcomes"]) / total


def relative_optimum(r):
    xs = [(s, p) for _, p, s in r["outcomes"]]
    return min((sum(p * abs(c / s - 1) for s, p in xs), c) for c, _ in xs)[1]


def main():
    o = first_step_draw.prediction_options()
    m = json.load(open(os.path.join(here, "manifest.json")))
    draw = json.load(open(os.path.join(here, "..", "..", "profiles", "engines", "vllm.json")))["first_step_draw"]
    runs = [e for e, _ in first_step_draw.offline_runs(m) if not e["fit"] and "elapsed_time" in e.get("measured", {})
            and "--num-prompts" in e["args"]]
    rows = first_step_draw.cached_predictions(o, lambda exe, e: outcomes(exe, draw, e), runs)
    rows = [r for r in rows if r["outcomes"]]
    picks = (("every request at the first step (the prediction)", every_request), ("2 requests at the first step", at(2)),
             ("3 requests", at(3)), ("4 requests (the draw's median count)", at(4)), ("the draw's median wall time", median),
             ("the draw's mean wall time", mean), ("the draw's relative-error optimum", relative_optimum))
    print("| held-out offline runs of several requests: which prediction | without a one-off stall | with one | all |")
    print("|---|---|---|---|")
    for label, pick in picks:
        cells = []
        for sel in (lambda r: not r["stall"], lambda r: r["stall"], lambda r: True):
            errs = [abs(pick(r) / r["measured"] - 1) for r in rows if sel(r)]
            cells.append("%.1f%% (%d beyond 25%%, %d runs)" % (100 * statistics.mean(errs), sum(x > 0.25 for x in errs), len(errs)))
        print("| %s | %s |" % (label, " | ".join(cells)))


if __name__ == "__main__":
    main()
