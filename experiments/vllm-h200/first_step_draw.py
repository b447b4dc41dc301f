#!/usr/bin/env python3
"""vLLM's first-step draw: how many requests the engine core holds at its first step of an offline `LLM.generate`
run, the distribution the `vllm` engine profile's `first_step_draw` states (moesim run's first-step note reruns a
prediction over it).

LLM.generate hands its requests to the engine core one by one; the core schedules its first step with those it has
received by then, and the rest join from the second step. The count is read off each run's step trace (the first
step's running plus waiting requests). A run of N requests shows min(D, N): a draw of N or more is censored at N, so
the distribution of D is the Kaplan-Meier estimate over the runs (each run's count an event below N, a censoring at
N). Only the manifest's fit entries are read (the calibration set); the held-out runs are left for the check
(first_step_check.py).

  python3 experiments/vllm-h200/first_step_draw.py [--all | --folder DIR] [--json]

--all reads every run (fit and held out), for comparison only; --folder DIR reads the offline step traces of a
results folder instead (DIR/<job>/o-n<N>-...steps.json), such as a fresh host's held-out draws; --json prints the
profile's first_step_draw object.
"""
import json
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))


def first_step_requests(path):
    """The requests the engine core held at a traced run's first step (running + waiting), or None."""
    if not os.path.exists(path):
        return None
    d = json.load(open(path))
    if not d.get("steps"):
        return None
    s = dict(zip(d["columns"], d["steps"][0]))
    return int(s["run"]) + int(s["wait"])


def offline_runs(m):
    """The manifest's offline `LLM.generate` runs of several requests whose first step moesim assumes (no
    --first-step-requests; one GPU; not the graphless probes), each with its request count: (entry, N)."""
    for e in m["runs"]:
        a = e.get("args", [])
        if e["id"].endswith("/steps") or e["id"].startswith("x2/") or "-graphless/" in e["id"] or "/g-i" in e["id"]:
            continue
        if "--usage-context" not in a or a[a.index("--usage-context") + 1] != "offline" or "--num-prompts" not in a:
            continue
        n = int(a[a.index("--num-prompts") + 1])
        if n >= 2 and "--first-step-requests" not in a:
            yield e, n


def prediction_options():
    """The options of the scripts that predict the held-out offline runs again (first_step_check.py,
    first_step_points.py): the moesim binary, parallel jobs and a cache file of the predictions."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--moesim", default=os.path.join(here, "..", "..", ".build", "release", "moesim"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", help="a JSON file of the predictions: read if it exists, else written")
    return ap.parse_args()


def cached_predictions(o, predict, runs):
    """predict(moesim, entry) over the runs, o.jobs at a time; read from o.cache where it exists, else written there."""
    from concurrent.futures import ThreadPoolExecutor
    if o.cache and os.path.exists(o.cache):
        return json.load(open(o.cache))
    exe = os.path.abspath(o.moesim)
    with ThreadPoolExecutor(o.jobs) as ex:
        preds = list(ex.map(lambda e: predict(exe, e), runs))
    if o.cache:
        json.dump(preds, open(o.cache, "w"))
    return preds


def observation(trace, n, name):
    """(count, N, censored, name) of one run of N requests from its step trace, or None: a draw of N or more shows N."""
    k = first_step_requests(trace)
    return None if k is None else (min(k, n), n, k >= n, name)


def observations(use_all=False):
    """(count, N, censored, id) for each offline run of several requests with a step trace (the fit runs, or all)."""
    m = json.load(open(os.path.join(here, "manifest.json")))
    out = []
    for e, n in offline_runs(m):
        f = re.search(r"(\.\./\.\./probe/results/\S+?)\.json", e.get("note", ""))
        if (use_all or e["fit"]) and f:
            out.append(observation(os.path.join(here, f.group(1) + ".steps.json"), n, e["id"]))
    return [o for o in out if o]


def folder_observations(folder):
    """(count, N, censored, name) for each offline step trace of a results folder (o-n<N>-... files)."""
    import glob
    out = []
    for f in sorted(glob.glob(os.path.join(folder, "*", "o-n*.steps.json"))):
        n = int(re.search(r"o-n(\d+)-", os.path.basename(f)).group(1))
        if n >= 2:
            out.append(observation(f, n, os.path.relpath(f, folder)))
    return [o for o in out if o]


def kaplan_meier(obs):
    """[(k, P(D = k))] for the event counts, and the mass left beyond the largest (P(D > k_max))."""
    events = sorted({k for k, n, c, _ in obs if not c})
    surv, dist = 1.0, []
    for k in events:
        at_risk = sum(1 for kk, n, c, _ in obs if kk >= k)
        d = sum(1 for kk, n, c, _ in obs if kk == k and not c)
        p = surv * d / at_risk
        dist.append((k, p))
        surv -= p
    return dist, max(surv, 0.0)


def main():
    if "--folder" in sys.argv:
        obs = folder_observations(sys.argv[sys.argv.index("--folder") + 1])
    else:
        obs = observations("--all" in sys.argv)
    dist, tail = kaplan_meier(obs)
    if "--json" in sys.argv:
        print(json.dumps({"requests": [k for k, _ in dist], "probability": [round(p, 4) for _, p in dist],
                          "beyond": round(tail, 4)}))
        return
    print("%d runs (%d censored at their N)" % (len(obs), sum(1 for o in obs if o[2])))
    cum = 0.0
    for k, p in dist:
        cum += p
        print("  %3d  %.3f  (cumulative %.3f)" % (k, p, cum))
    print("  beyond %d: %.3f" % (dist[-1][0] if dist else 0, tail))


if __name__ == "__main__":
    main()
