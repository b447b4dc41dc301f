#!/usr/bin/env python3
"""How far vLLM's own repeats of one command fall apart: the floor under any prediction of one figure per command.

The manifest holds many commands run more than once: the same job and case (same model, engine arguments, request
count and lengths; for serving the same concurrency, or Poisson arrivals at the same fraction of the capacity the
job's engine measured first) in several sessions on the same kind of GPU, and a job run in fresh engines one after
another (ids ending -rep1, -rep2, ...). This groups
them and asks how well the best single figure per command could have done: for each group, the constant c that
minimizes the mean |c / measured - 1| over its runs (a weighted median of the measured values), and that mean. A
simulator that gives one figure per command cannot do better on these runs, whatever its model. That figure is
chosen knowing the runs; the next column predicts each run from the others of its group instead (the same constant
over them, or their one value), as a predictor that had seen vLLM's other repeats would. Beside them, moesim's
own error over the same runs (held out ones), which may be lower since each run is predicted with its own host speed
and engine history (`--host-speed`, `--warm-token-counts`).

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json /tmp/v.json
  python3 experiments/vllm-h200/repeat_spread.py /tmp/v.json
"""
import argparse
import collections
import json
import os
import re
import statistics

here = os.path.dirname(os.path.abspath(__file__))

METRICS = (("elapsed_time", "offline wall time"), ("median_ttft_ms", "serving median TTFT"), ("mean_tpot_ms", "serving mean TPOT"))


def command(entry):
    """The group key: the GPU, the job and case (the id without its session prefix and -repN); None for the lone-prompt
    step probes (jobs *-graphless) and the request pairs to an idle engine (w-pairs-*), which accuracy.py counts apart."""
    a = entry.get("args")
    if a is None:
        return None
    gpu = a[a.index("--gpu") + 1] if "--gpu" in a else "?"
    parts = entry["id"].split("/")
    if len(parts) < 2 or parts[-2].endswith("-graphless") or parts[-1].startswith("w-pairs-"):
        return None
    return gpu, re.sub(r"-rep[0-9]+$", "", parts[-2]) + "/" + parts[-1]


def best_constant(xs):
    """The c minimizing sum |c - x| / x (it lies at one of the x), and the mean relative error it leaves."""
    cost = lambda c: sum(abs(c - x) / x for x in xs)
    c = min(xs, key=cost)
    return c, cost(c) / len(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("validate_json", help="moesim validate --json output over experiments/vllm-h200/manifest.json")
    ap.add_argument("--list", action="store_true", help="print every group")
    a = ap.parse_args()
    v = json.load(open(a.validate_json))
    m = json.load(open(os.path.join(here, "manifest.json")))
    rows = {(r["id"], r["metric"]): r for r in v["rows"]}
    print("| runs of one command repeated (groups) | metric | best single figure per command: mean abs error, beyond 25% | each run from its repeats | moesim, held-out runs of those groups | moesim, beyond 25% |")
    print("|---|---|---|---|---|---|")
    for metric, label in METRICS:
        for kind, pick in (("without a one-off stall", lambda e: "stall" not in e.get("tags", [])), ("all", lambda e: True)):
            groups = collections.defaultdict(list)
            for e in m["runs"]:
                k = command(e)
                if k is None or metric not in e.get("measured", {}) or not pick(e) or "x2/" in e["id"]:
                    continue
                groups[k].append(e)
            floor, loo, ours, n, beyond, loo_beyond = [], [], [], 0, 0, 0
            for k, es in sorted(groups.items()):
                if len(es) < 2:
                    continue
                xs = [e["measured"][metric] for e in es]
                c, mean = best_constant(xs)
                errs = [abs(c / x - 1) for x in xs]
                floor += errs
                beyond += sum(x > 0.25 for x in errs)
                for i, x in enumerate(xs):
                    other, _ = best_constant(xs[:i] + xs[i + 1:])
                    loo.append(abs(other / x - 1))
                    loo_beyond += loo[-1] > 0.25
                n += 1
                for e in es:
                    r = rows.get((e["id"], metric))
                    if not e["fit"] and r and r["relative_error"] is not None:
                        ours.append(abs(r["relative_error"]))
                if a.list:
                    print("  %s %s: %s -> %.4g" % (k, metric, " ".join("%.4g" % x for x in xs), c))
            if not floor:
                continue
            print("| %d runs, %s (%d) | %s | %.1f%%, %d | %.1f%%, %d | %.1f%% (%d) | %d |" % (
                len(floor), kind, n, label, 100 * statistics.mean(floor), beyond, 100 * statistics.mean(loo), loo_beyond,
                100 * statistics.mean(ours) if ours else float("nan"), len(ours), sum(x > 0.25 for x in ours)))


if __name__ == "__main__":
    main()
