#!/usr/bin/env python3
"""TP against EP on 2x H200 under Transformers: does moesim pick the faster plan, and how close is its throughput?

    swift build -c release
    .build/release/moesim validate experiments/h200-x2/runs.json --json /tmp/h200x2-validate.json
    python3 experiments/h200-x2/tp_vs_ep.py /tmp/h200x2-validate.json

For every (model, experts implementation, shape, batch) measured under both plans, prints measured and predicted
output throughput, which plan is faster by each, and whether moesim's pick is right. Pairs whose measured
throughputs differ by 5% or less are ties (either pick is right). "repeats overlap" says whether the two plans'
timed repeats (experiments/h200-x2/runs.json, second argument) overlap: where they do, the measured order is within
the run-to-run spread. Summaries are printed for the held-out runs
(fit=false in the manifest) and for all runs: mean |error| of throughput, and the pick accuracy.
"""
import json
import re
import sys


def main():
    v = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "/tmp/h200x2-validate.json"))
    manifest = json.load(open(sys.argv[2] if len(sys.argv) > 2 else "experiments/h200-x2/runs.json"))
    repeats = {r["id"]: r["measured"]["repeats_ms"] for r in manifest["runs"]}
    rows = {}
    for r in v["rows"]:
        if r["metric"] != "output_throughput":
            continue
        m = re.match(r"(.+)-hf(\d+)-(tp|ep)-(\w+?)-b(\d+)(-.*)?$", r["id"])
        if not m:
            continue
        model, gpus, mode, impl, b, shape = m.groups()
        rows[(model, impl, shape or "", int(b), mode)] = r
    print("| model | experts | shape | batch | fit | TP measured / moesim | EP measured / moesim | faster (measured) | "
          "faster (moesim) | right | repeats overlap |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    stats = {"held-out": [[], 0, 0], "all": [[], 0, 0]}
    for key in sorted({k[:4] for k in rows}):
        tp, ep = rows.get(key + ("tp",)), rows.get(key + ("ep",))
        for r in (tp, ep):
            if r:
                for s in ("all",) + (("held-out",) if not r["fit"] else ()):
                    stats[s][0].append(abs(r["relative_error"]))
        if not (tp and ep):
            continue
        mt, me, pt, pe = tp["measured"], ep["measured"], tp["predicted"], ep["predicted"]
        tie = abs(mt - me) / max(mt, me) <= 0.05
        fm = "tie" if tie else ("TP" if mt > me else "EP")
        fp = "TP" if pt > pe else "EP"
        right = tie or fm == fp
        held = not tp["fit"] and not ep["fit"]
        for s in ("all",) + (("held-out",) if held else ()):
            if not tie:
                stats[s][1] += 1
                stats[s][2] += right
        model, impl, shape, b = key
        rt, re_ = repeats.get(tp["id"], []), repeats.get(ep["id"], [])
        overlap = bool(rt and re_ and min(rt) <= max(re_) and min(re_) <= max(rt))
        print(f"| {model} | {impl} | {shape.strip('-') or '128x64'} | {b} | {'yes' if tp['fit'] else 'no'} | "
              f"{mt:.0f} / {pt:.0f} | {me:.0f} / {pe:.0f} | {fm} | {fp} | {'yes' if right else '**no**'} | "
              f"{'yes' if overlap else 'no'} |")
    for s, (errs, n, ok) in stats.items():
        print(f"\n{s}: throughput mean |error| {100 * sum(errs) / max(1, len(errs)):.1f}% over {len(errs)} runs; "
              f"faster plan right in {ok} of {n} pairs that differ by more than 5%")


if __name__ == "__main__":
    main()
