#!/usr/bin/env python3
"""Reads probe/vllm/vcpu_scan.py's files and the step traces of the same host, and says how the vCPUs' speed moves.

  python3 probe/vllm/vcpu_report.py [--svg OUT.svg] [--traces DIR ...] [--plot JOB/RUN ...] SCAN.json [SCAN.json ...]

For each scan: rounds, the share of (round, vCPU) cells in the fast state, the fast and slow states' medians (the
cells split at the midpoint between the fastest and slowest tenth), and how long a vCPU stays in one state (runs of
rounds, in seconds). With --traces, the same split for every step without CUDA graphs of each step trace under DIR
(graphless steps of 2,048 tokens or fewer, which wait on the engine core's host): their median in each half and the
vCPU(s) the engine core ran on (the traces' `cpu` column). With --svg, a picture of the first scans: one row per
vCPU, one column per round, dark for slow; and, for each --plot JOB/RUN (a trace under a --traces folder, e.g.
qwen3-serve/s-p50), that run's graphless steps over time.
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


def svg(scans, path, series=()):
    """The scans as heat maps; then, for each (label, [(t_s, ms), ...]) in `series`, an engine core's graphless steps
    over a run, one dot a step."""
    cell, pad, gap, plot_h = 8, 64, 34, 150
    width = max(760, pad + max(len(s["rounds"]) for s in scans) * cell + 20)
    height = sum(len(s["median_ms"]) * cell + gap for s in scans) + 40 + len(series) * (plot_h + gap + 20)
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
    for label, pts in series:
        if not pts:
            continue
        t_hi = max(t for t, _ in pts) or 1.0
        ms_hi = max(ms for _, ms in pts) * 1.1
        w = width - pad - 20
        parts.append('<text x="%d" y="%d">%s: the engine core\'s steps without CUDA graphs over the run (one dot a step; ms, 0-%.0f)</text>' % (pad, y - 4, label, ms_hi))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#bbb"/>' % (pad, y, w, plot_h))
        for frac in (0.25, 0.5, 0.75):
            yy = y + plot_h * (1 - frac)
            parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (pad, yy, pad + w, yy))
            parts.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (pad - 4, yy + 4, frac * ms_hi))
        for t, ms in pts:
            parts.append('<circle cx="%.1f" cy="%.1f" r="2" fill="#b03a2e"/>' % (pad + w * t / t_hi, y + plot_h * (1 - ms / ms_hi)))
        parts.append('<text x="%d" y="%d" text-anchor="end">%.1f s</text>' % (pad + w, y + plot_h + 14, t_hi))
        y += plot_h + gap + 20
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(p for p in parts if p))


def traces(folder, series=None):
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
        run = os.path.relpath(f, folder)[:-len(".steps.json")]
        if series is not None:
            series.append((run, [(s[C["t"]] / 1e3, s[C["interval"]]) for s in rows]))
        print("  %-34s %4d graphless steps: %3.0f%% below %.0f ms (median %.1f), the rest median %.1f ms (%.2fx); engine core on vCPU %s" % (
            run, len(iv), 100 * len(fast) / len(iv), cut, statistics.median(fast) if fast else 0,
            statistics.median(slow) if slow else 0, (statistics.median(slow) / statistics.median(fast)) if fast and slow else 0,
            ",".join(map(str, cpus)) or "-"))


def main():
    args = sys.argv[1:]
    out_svg, trace_dirs, files, plot = None, [], [], []
    while args:
        a = args.pop(0)
        if a == "--svg":
            out_svg = args.pop(0)
        elif a == "--traces":
            trace_dirs.append(args.pop(0))
        elif a == "--plot":
            plot.append(args.pop(0))
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
    series = []
    for d in trace_dirs:
        print("step traces in %s:" % d)
        traces(d, series)
    if out_svg and scans:
        svg(scans[:3], out_svg, [x for x in series if x[0] in plot])
        print("wrote", out_svg)


if __name__ == "__main__":
    main()
