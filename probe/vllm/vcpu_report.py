#!/usr/bin/env python3
"""Reads probe/vllm/vcpu_scan.py's files and the step traces of the same host, and says how the vCPUs' speed moves.

  python3 probe/vllm/vcpu_report.py [--svg OUT.svg] [--traces DIR ...] SCAN.json [SCAN.json ...]

For each scan: rounds, the share of (round, vCPU) cells in the fast state, the fast and slow states' medians (the
cells split at the midpoint between the fastest and slowest tenth), and how long a vCPU stays in one state (runs of
rounds, in seconds). With --traces, the same split for every step without CUDA graphs of each step trace under DIR
(graphless steps of 2,048 tokens or fewer, which wait on the engine core's host): their median in each half and the
vCPU(s) the engine core ran on (the traces' `cpu` column). With --svg, a picture of the first scans: one row per
vCPU, one column per round, dark for slow.
"""
import glob
import json
import os
import statistics
import sys


def split(values):
    s = sorted(values)
    lo = s[len(s) // 10]
    hi = s[-1 - len(s) // 10]
    return (lo + hi) / 2


def dwell(scan, cut):
    """Seconds a vCPU stays in one state: lengths of runs of consecutive rounds on one side of `cut`."""
    rounds = scan["rounds"]
    if len(rounds) < 2:
        return []
    period = (rounds[-1]["t"] - rounds[0]["t"]) / (len(rounds) - 1)
    out = []
    for c in scan["median_ms"]:
        run, prev = 0, None
        for r in rounds:
            state = r["ms"][c] < cut
            if state == prev:
                run += 1
            else:
                if prev is not None:
                    out.append(run * period)
                run, prev = 1, state
        out.append(run * period)
    return out


def svg(scans, path):
    cell, pad, gap = 8, 64, 34
    width = max(760, pad + max(len(s["rounds"]) for s in scans) * cell + 20)
    height = sum(len(s["median_ms"]) * cell + gap for s in scans) + 40
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (width, height),
             '<rect width="100%" height="100%" fill="white"/>']
    y = 20
    for s in scans:
        cells = [x for r in s["rounds"] for x in r["ms"].values()]
        lo, hi = min(cells), max(cells)
        parts.append('<text x="%d" y="%d">%s: %d rounds over %.1f s (left to right); the same Python work on each vCPU, light %.1f ms to dark %.1f ms</text>' % (
            pad, y - 4, s["_name"], len(s["rounds"]), s["rounds"][-1]["t"] - s["rounds"][0]["t"], lo, hi))
        for i, c in enumerate(sorted(s["median_ms"], key=int)):
            parts.append('<text x="%d" y="%d" text-anchor="end">vCPU %s</text>' % (pad - 4, y + i * cell + cell - 1, c) if i % 4 == 0 else "")
            for j, r in enumerate(s["rounds"]):
                f = (r["ms"][c] - lo) / max(hi - lo, 1e-9)
                g = int(235 - 200 * f)
                parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="rgb(%d,%d,%d)"/>' % (pad + j * cell, y + i * cell, cell, cell, g, g, min(255, g + 20)))
        y += len(s["median_ms"]) * cell + gap
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(p for p in parts if p))


def traces(folder):
    for f in sorted(glob.glob(os.path.join(folder, "*", "*.steps.json"))):
        d = json.load(open(f))
        C = {c: i for i, c in enumerate(d["columns"])}
        rows = [s for s in d["steps"] if s[C["cg"]] == "NONE" and s[C["interval"]] and s[C["tok"]] <= 2048]
        if len(rows) < 10:
            continue
        iv = [s[C["interval"]] for s in rows]
        cut = split(iv)
        fast = [x for x in iv if x < cut]
        slow = [x for x in iv if x >= cut]
        cpus = sorted({s[C["cpu"]] for s in d["steps"]}) if "cpu" in C else []
        print("  %-34s %4d graphless steps: %3.0f%% below %.0f ms (median %.1f), the rest median %.1f ms (%.2fx); engine core on vCPU %s" % (
            os.path.relpath(f, folder)[:-11], len(iv), 100 * len(fast) / len(iv), cut, statistics.median(fast) if fast else 0,
            statistics.median(slow) if slow else 0, (statistics.median(slow) / statistics.median(fast)) if fast and slow else 0,
            ",".join(map(str, cpus)) or "-"))


def main():
    args = sys.argv[1:]
    out_svg, trace_dirs, files = None, [], []
    while args:
        a = args.pop(0)
        if a == "--svg":
            out_svg = args.pop(0)
        elif a == "--traces":
            trace_dirs.append(args.pop(0))
        else:
            files.append(a)
    scans = []
    for f in files:
        s = json.load(open(f))
        s["_name"] = os.path.basename(f)
        scans.append(s)
        cells = [x for r in s["rounds"] for x in r["ms"].values()]
        cut = split(cells)
        fast = [x for x in cells if x < cut]
        slow = [x for x in cells if x >= cut]
        dw = dwell(s, cut)
        print("%s (%s): %d rounds over %.1f s, %d vCPUs; %.0f%% of cells fast, fast %.2f ms, slow %.2f ms (%.2fx); a vCPU stays in one state %.1f s at the median (max %.1f s)" % (
            s["_name"], s["date"], len(s["rounds"]), s["rounds"][-1]["t"] - s["rounds"][0]["t"], len(s["median_ms"]),
            100 * len(fast) / len(cells), statistics.median(fast), statistics.median(slow),
            statistics.median(slow) / statistics.median(fast), statistics.median(dw), max(dw)))
    for d in trace_dirs:
        print("step traces in %s:" % d)
        traces(d)
    if out_svg and scans:
        svg(scans[:3], out_svg)
        print("wrote", out_svg)


if __name__ == "__main__":
    main()
