#!/usr/bin/env python3
"""The first-step draw checked on the held-out offline runs: each run of several requests predicted by `moesim run`
(its manifest arguments), whose first-step note reruns it over the draw the `vllm` engine profile states
(first_step_draw, estimated on the fit split by first_step_draw.py), set against what vLLM measured.

  python3 experiments/vllm-h200/first_step_check.py [--moesim .build/release/moesim] [--jobs 2] [--cache FILE]

Prints, over the held-out offline runs (graphless probes and the two-GPU runs aside): how often the measured wall
time fell within the draw's range and within its 10th-90th percentiles; the mean |error| of the prediction (every
request at the first step) and of the draw's median; and how the note's chance of a first-use wait compares with
the runs that had a one-off stall (the manifest's 'stall' tag, probe/vllm/stalls.py), by bins of that chance, with
the Brier score beside that of the prediction's yes-or-no.
"""
import json
import os
import re
import statistics
import subprocess

import first_step_draw

here = os.path.dirname(os.path.abspath(__file__))
NOTE = re.compile(r"over that draw this run takes ([\d.e+-]+)-([\d.e+-]+) s \(median ([\d.e+-]+) s, 10th-90th percentile "
                  r"([\d.e+-]+)-([\d.e+-]+) s\), and in (\d+)% of draws .*?(?:as (\d+)% of draws do|more than any measured draw held)")


def predict(exe, e):
    p = subprocess.run([exe, "run"] + e["args"] + ["--host-cost-scale", "1"], cwd=here, capture_output=True, text=True)
    if p.returncode != 0:
        return None
    dur = float(re.search(r"Benchmark duration \(s\):\s+([\d.]+)", p.stdout).group(1))
    text = p.stdout + p.stderr
    stall = "note: first use:" in text
    m = NOTE.search(text)
    if not m:
        return {"base": dur, "base_stall": stall}
    lo, hi, med, p10, p90, ps, pall = (float(x or 0) for x in m.groups())
    return {"base": dur, "base_stall": stall, "lo": lo, "hi": hi, "median": med, "p10": p10, "p90": p90,
            "p_stall": ps / 100, "p_all": pall / 100}


def main():
    o = first_step_draw.prediction_options()
    m = json.load(open(os.path.join(here, "manifest.json")))
    runs = [e for e, _ in first_step_draw.offline_runs(m) if not e["fit"] and "elapsed_time" in e.get("measured", {})]
    preds = first_step_draw.cached_predictions(o, predict, runs)
    rows = []
    for e, p in zip(runs, preds):
        if p is None or "median" not in p:
            continue
        rows.append((e["measured"]["elapsed_time"], "stall" in e.get("tags", []), p, e["id"]))
    n = len(rows)
    print("%d held-out offline runs of several requests with a first-step note (of %d)" % (n, len(runs)))
    inr = sum(1 for y, s, p, _ in rows if p["lo"] * 0.999 <= y <= p["hi"] * 1.001)
    in90 = sum(1 for y, s, p, _ in rows if p["p10"] * 0.999 <= y <= p["p90"] * 1.001)
    print("measured wall time within the draw's range: %d (%.0f%%); within its 10th-90th percentiles: %d (%.0f%%)" % (inr, 100 * inr / n, in90, 100 * in90 / n))
    for label, sel in (("all", rows), ("no one-off stall", [r for r in rows if not r[1]]), ("one-off stall", [r for r in rows if r[1]])):
        if not sel:
            continue
        eb = [abs(p["base"] / y - 1) for y, s, p, _ in sel]
        em = [abs(p["median"] / y - 1) for y, s, p, _ in sel]
        print("%-17s %3d runs: mean |error| every request at the first step %.1f%% (%d beyond 25%%), the draw's median %.1f%% (%d beyond)" % (
            label, len(sel), 100 * statistics.mean(eb), sum(x > .25 for x in eb), 100 * statistics.mean(em), sum(x > .25 for x in em)))
    print("chance of a first-use wait (the note) against the runs with a one-off stall:")
    for a, b in ((0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1.01)):
        sel = [r for r in rows if a <= r[2]["p_stall"] < b]
        if sel:
            print("  %3.0f-%3.0f%%: %3d runs, mean chance %.0f%%, with a stall %.0f%%" % (100 * a, min(100, 100 * b), len(sel),
                  100 * statistics.mean(r[2]["p_stall"] for r in sel), 100 * statistics.mean(1 if r[1] else 0 for r in sel)))
    brier = statistics.mean((r[2]["p_stall"] - (1 if r[1] else 0)) ** 2 for r in rows)
    brier0 = statistics.mean(((1 if r[2]["base_stall"] else 0) - (1 if r[1] else 0)) ** 2 for r in rows)
    print("Brier score: the note's chance %.3f; the prediction's yes or no (a first-use wait with every request at the first step) %.3f" % (brier, brier0))


if __name__ == "__main__":
    main()
