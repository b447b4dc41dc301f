#!/usr/bin/env python3
"""Serving at a fixed concurrency of 64: where moesim's median TTFT falls short (a lead, not a fix).

  python3 experiments/vllm-h200/c64_phase.py [--moesim .build/release/moesim]

The manifest's `*-serve/s-c64-n256` runs (256 requests of ~512 tokens in, 64 at a time, vLLM's default serving
engine) have their median TTFT under-predicted by a median 17% while their mean TTFT, their TPOT and their steps'
times are close. For each such run (held out or not, stall or not) this replays the manifest's `moesim run` with
`--timeline` and sets beside the measured step trace:

- the steady state's TTFT (the 192 requests sent after the first 64): 10th/50th/90th percentiles;
- how many decode-only steps lie between two steps that carry new prompts (the "decode runs"): runs of one such step
  (a prompt step, one decode, a prompt step again) against runs of two;
- from the measured trace only: how far before the engine's next schedule a request must be sent to join it (the
  busy engine core's receive latency, the threshold that misclassifies fewest requests), against moesim's
  (`input_latency_us - idle_wake_us`, by the host law at the run's --host-speed), and when the client saw a finished
  request relative to the start of the step in progress (median).

What it showed (forty-second session, docs/accuracy.md): the step sequences match closely, but moesim has a decode run
of one about twice as often as vLLM (43 per run against a median of 21, 11-41, the Mixtral runs 32-41) and one of
two less often (21 against a median of 28): in vLLM a
request that finished in the step before a prompt step reaches the client too late to have its replacement join the
step after the next one; in moesim it is in time. The receive latency agrees (e.g. 1.24 ms measured, 1.44 ms
moesim's on the d/ DeepSeek-V2-Lite host); the client sees a step's tokens about 2.2-3.4 ms after the start of the
engine's next-but-one schedule, where moesim releases them one output latency (1.28 ms there) after the next step's
host work.
"""
import argparse
import bisect
import collections
import json
import os
import re
import statistics
import subprocess
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "../.."))


def quant(xs, fs=(0.1, 0.5, 0.9)):
    xs = sorted(xs)
    return [xs[int(f * (len(xs) - 1))] for f in fs] if xs else []


def kind(tokens, seqs):
    return "d" if tokens == seqs else "P"


def decode_runs(kinds):
    """Lengths of the runs of decode-only steps between two steps with prompts, the run's first and last 20 steps aside."""
    return collections.Counter(len(x) for x in re.split("P+", kinds[20:-20])[1:-1])


def measured(result):
    r = json.load(open(result))
    d = json.load(open(result[:-len(".json")] + ".steps.json"))
    c = {k: i for i, k in enumerate(d["columns"])}
    steps = d["steps"]
    order = sorted(range(len(r["send_times"])), key=lambda k: r["send_times"][k])
    send = [1000 * r["send_times"][k] for k in order]
    ttft = [1000 * r["ttfts"][k] for k in order]
    kinds = "".join(kind(s[c["tok"]], s[c["dn"]] + s[c["pn"]]) for s in steps)
    ts = [s[c["t"]] for s in steps]
    # Each step's new requests, in arrival order: the k-th request sent is the k-th admitted.
    admitted = []
    for j, s in enumerate(steps):
        admitted += [j] * sum(1 for chunk, prefix in (s[c["pre"]] or []) if prefix == 0)
    pairs = []
    for k in range(64, min(len(admitted), len(send))):
        j = bisect.bisect_right(ts, send[k]) - 1
        if 0 <= j and j + 1 < len(steps):
            pairs.append((ts[j + 1] - send[k], admitted[k] == j + 1))
    best = None
    for cand in sorted({p[0] for p in pairs}):
        err = sum(1 for dn, joined in pairs if joined != (dn >= cand))
        if best is None or err < best[1]:
            best = (cand, err)
    finish = [1000 * (r["send_times"][k] + r["ttfts"][k] + sum(r["itls"][k])) for k in range(len(send))]
    phase = []
    for f in finish:
        j = bisect.bisect_right(ts, f) - 1
        if j >= 0:
            phase.append(f - ts[j])
    return ttft[64:], kinds, best, statistics.median(phase)


def simulated(exe, args):
    with tempfile.TemporaryDirectory() as tmp:
        tl = os.path.join(tmp, "t.json")
        p = subprocess.run([exe, "run"] + args + ["--timeline", tl], cwd=here, capture_output=True, text=True)
        if p.returncode != 0:
            return None
        ev = json.load(open(tl))
    ev = ev["traceEvents"] if isinstance(ev, dict) else ev
    steps = sorted((e for e in ev if e.get("cat") == "step"), key=lambda e: e["ts"])
    reqs = sorted((e for e in ev if e.get("cat") == "request" and e["name"].startswith("request ")), key=lambda e: e["ts"])
    kinds = "".join(kind(e["args"]["tokens"], e["args"]["sequences"]) for e in steps)
    return [e["args"]["ttft_ms"] for e in reqs[64:]], kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moesim", default=os.path.join(root, ".build/release/moesim"))
    a = ap.parse_args()
    prof = json.load(open(os.path.join(root, "profiles/engines/vllm.json")))["parameters"]
    recv_ref = prof["input_latency_us"] - prof["idle_wake_us"]
    ref, expo = prof["host_speed_reference_s"], prof["host_speed_exponent"]
    manifest = json.load(open(os.path.join(here, "manifest.json")))
    ones_m, ones_s, twos_m, twos_s = [], [], [], []
    print("| run | steady TTFT p10/p50/p90 ms, vLLM | moesim | decode runs of 1 / 2, vLLM | moesim | receive ms, vLLM | moesim | client sees a finish, ms after a step's start |")
    print("|---|---|---|---|---|---|---|---|")
    for e in manifest["runs"]:
        if not re.search(r"-serve[^/]*/s-c64-n256$", e["id"]):
            continue
        args = e["args"]
        result = os.path.normpath(os.path.join(here, args[args.index("--trace") + 1]))
        if not os.path.exists(result[:-len(".json")] + ".steps.json"):
            continue
        ttft_m, kinds_m, recv, phase = measured(result)
        sim = simulated(a.moesim, args)
        if sim is None:
            print("| %s | moesim run failed |" % e["id"])
            continue
        ttft_s, kinds_s = sim
        runs_m, runs_s = decode_runs(kinds_m), decode_runs(kinds_s)
        ones_m.append(runs_m[1]); ones_s.append(runs_s[1]); twos_m.append(runs_m[2]); twos_s.append(runs_s[2])
        hs = float(args[args.index("--host-speed") + 1]) if "--host-speed" in args else ref
        recv_sim = recv_ref * (hs / ref) ** expo / 1000
        fmt = lambda q: "/".join("%.0f" % x for x in q)
        print("| %s | %s | %s | %d / %d | %d / %d | %.2f (%d missed) | %.2f | %.1f |" % (
            e["id"], fmt(quant(ttft_m)), fmt(quant(ttft_s)), runs_m[1], runs_m[2], runs_s[1], runs_s[2],
            recv[0], recv[1], recv_sim, phase))
    if ones_m:
        print("\nmedian over %d runs: decode runs of one %d (vLLM) against %d (moesim); of two %d against %d" % (
            len(ones_m), statistics.median(ones_m), statistics.median(ones_s), statistics.median(twos_m), statistics.median(twos_s)))


if __name__ == "__main__":
    main()
