#!/usr/bin/env python3
"""How long an idle vLLM engine core takes to schedule after a request reaches it, from the serving step traces.

  python3 probe/vllm/idle_wake.py [--manifest experiments/vllm-h200/manifest.json] [--reference-s 0.056 --exponent 0.618]

When the engine core has nothing to do, it blocks on its input queue. The first request to arrive wakes it, but it
schedules only some time later: its input thread is taking in the requests that follow (and holds Python's GIL while
it does, for at most the 5 ms switch interval). Requests that reach it meanwhile join the first step. So, for every
step of a serving run that began with the core idle (no decode, only new prompts, after an idle GPU), the requests
the bench sent after the one that woke the core either joined that step or did not, by how much later they were
sent (delta). The share that joined falls with delta; the wake-up is the delta that best separates the two, i.e. the
threshold with the fewest misclassified requests (the median of the wake-ups when they vary). Each delta is stated at
the engine profile's reference host first (x (reference / the run's --host-speed)^exponent) where the manifest
gives the run's host speed; runs without one are left out of the estimate and shown apart.

Also printed: the threshold by the waking request's prompt length (its intake by the core's input thread would
add to the wake-up if the main thread waited for it; the traces show no such growth), from the send of the request
that woke the core to the step's start (input latency plus wake-up), and
each 'pairs' run's own threshold (vllm_bench.py: two requests delta ms apart to an idle engine, nothing else coming),
which are not part of the estimate: a lone pair wakes the core sooner than a stream of requests does.
`moesim`'s vllm engine profile takes idle_wake_us from this script's estimate.
"""
import argparse
import glob
import json
import os
import re
import statistics

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "../.."))


def host_speeds(manifest):
    """Trace path (relative to the repository) -> the run's --host-speed, from the manifest's serving entries."""
    m = json.load(open(manifest))
    base = os.path.dirname(os.path.abspath(manifest))
    out = {}
    for e in m["runs"]:
        a = e.get("args", [])
        if "--trace" not in a or "--host-speed" not in a:
            continue
        path = os.path.relpath(os.path.normpath(os.path.join(base, a[a.index("--trace") + 1])), root)
        out[path] = float(a[a.index("--host-speed") + 1])
    return out


def idle_starts(result_path):
    """(delta ms, joined?, the waking request's prompt tokens) for each request sent within 6 ms after one that woke
    an idle core, and (send to schedule ms) per idle start, from one serving run's result and step trace."""
    r = json.load(open(result_path))
    d = json.load(open(result_path[:-len(".json")] + ".steps.json"))
    if "send_times" not in r or not d.get("steps"):
        return [], []
    c = {k: i for i, k in enumerate(d["columns"])}
    order = sorted(range(len(r["send_times"])), key=lambda i: r["send_times"][i])
    send = [1000.0 * r["send_times"][i] for i in order]
    lens = [r["input_lens"][i] for i in order] if len(r.get("input_lens", [])) == len(order) else [None] * len(order)
    n, admitted = len(send), 0
    pairs, latencies = [], []
    for j, s in enumerate(d["steps"]):
        pre = s[c["pre"]] or []
        if len(pre) >= 64:  # the trace keeps the first 64 chunks only: the count of new requests is unknown
            break
        new = sum(1 for chunk, prefix in pre if prefix == 0)
        idle = s[c["dn"]] == 0 and s[c["run"]] == new and new > 0 and (j == 0 or (s[c["gap"]] or 0) > 0.5)
        if idle and admitted + new <= n:
            a = admitted
            latencies.append(s[c["t"]] - send[a])
            for b in range(a + 1, n):
                delta = send[b] - send[a]
                if delta > 6.0:
                    break
                pairs.append((delta, b < a + new, lens[a]))
        admitted += new
    return pairs, latencies


def threshold(pairs):
    """The delta that misclassifies fewest pairs (joined iff delta <= it)."""
    best, best_err = 0.0, len(pairs) + 1
    for cand in sorted({0.0} | {p[0] for p in pairs}):
        err = sum(1 for dl, joined, *_ in pairs if joined != (dl <= cand))
        if err < best_err:
            best, best_err = cand, err
    return best, best_err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", default=os.path.join(root, "experiments/vllm-h200/manifest.json"))
    ap.add_argument("--reference-s", type=float, default=0.056, help="the engine profile's host_speed_reference_s")
    ap.add_argument("--exponent", type=float, default=0.618, help="the engine profile's host_speed_exponent")
    a = ap.parse_args()
    speeds = host_speeds(a.manifest)
    scaled, unscaled, lat_scaled, per_run = [], [], [], []
    for path in sorted(glob.glob(os.path.join(root, "probe/results/*/*/s-*.steps.json"))):
        result = path[:-len(".steps.json")] + ".json"
        rel = os.path.relpath(result, root)
        pairs, lats = idle_starts(result)
        if not lats:
            continue
        s = speeds.get(rel)
        if s is None:
            unscaled += pairs
            continue
        f = (a.reference_s / s) ** a.exponent
        scaled += [(dl * f, j, L) for dl, j, L in pairs]
        lat_scaled += [x * f for x in lats]
        per_run.append((rel, len(lats), s))
    print("serving runs with a measured host speed: %d, idle starts %d, later requests within 6 ms %d" % (
        len(per_run), len(lat_scaled), len(scaled)))
    print("\nshare of later requests that joined the first step, by how much later they were sent (at the reference host)")
    edges = [0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0]
    for lo, hi in zip(edges, edges[1:]):
        sel = [j for dl, j, _ in scaled if lo <= dl < hi]
        if sel:
            print("  %4.2f-%4.2f ms: %4d requests, %3.0f%% joined" % (lo, hi, len(sel), 100.0 * sum(sel) / len(sel)))
    w, err = threshold(scaled)
    print("\nidle wake-up (fewest misclassified: %d of %d): %.0f us at the reference host (%.3f s)" % (err, len(scaled), 1000 * w, a.reference_s))
    # Does the threshold grow with the waking request's prompt (its intake by the core's input thread, which holds
    # the GIL the waking main thread needs, would delay the wake by that much)?
    print("by the waking request's prompt length:")
    for lo, hi in [(0, 300), (300, 1000), (1000, 1 << 30)]:
        sel = [p for p in scaled if p[2] is not None and lo <= p[2] < hi]
        if sel:
            ws, es = threshold(sel)
            span = "%d-%d" % (lo, hi - 1) if hi < 1 << 30 else "%d+" % lo
            print("  %9s tokens: %4d later requests, threshold %.0f us (%d misclassified)" % (span, len(sel), 1000 * ws, es))
    q = statistics.quantiles(lat_scaled, n=4)
    print("send of the waking request to the step's start: median %.0f us (quartiles %.0f-%.0f), over %d idle starts" % (
        1000 * statistics.median(lat_scaled), 1000 * q[0], 1000 * q[2], len(lat_scaled)))
    # The 'pairs' runs (vllm_bench.py): two requests delta ms apart to an idle engine, nothing else arriving.
    for path in sorted(glob.glob(os.path.join(root, "probe/results/*/*/w-pairs-*.json"))):
        if path.endswith(".steps.json"):
            continue
        rel = os.path.relpath(path, root)
        pairs, _ = idle_starts(path)
        if not pairs:
            continue
        w_run, e_run = threshold(pairs)
        s = speeds.get(rel)
        at_ref = " (%.0f us at the reference host)" % (1000 * w_run * (a.reference_s / s) ** a.exponent) if s else ""
        print("pairs run %s: the second request joined up to %.0f us apart%s; %d of %d misclassified" % (
            rel, 1000 * w_run, at_ref, e_run, len(pairs)))
    if unscaled:
        wu, eu = threshold(unscaled)
        print("runs without a host speed (left out above): %d later requests, their own threshold %.0f us" % (len(unscaled), 1000 * wu))


if __name__ == "__main__":
    main()
