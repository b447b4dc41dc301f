#!/usr/bin/env python3
"""What hostcorr.py's rounds say: per host, how long vLLM's host-bound OLMoE steps took and how much that moved,
whether any gauge of hostprobe.py's battery (timed in the front-end process between the steps) or hostspeed.py's
workload timed inside the engine core follows it (Spearman rank correlation over the rounds), and what the step
logger saw inside the graphless steps (scheduler, execute_model on the host, the GPU's span).

  python3 probe/vllm/hostcorr_report.py [--svg FILE [--reference RESULT.json,...]] probe/results/2026-12-04-h200-vllm-p/hostcorr-host*

--svg FILE also draws each host's rounds: the lone graphless step's time (median of the round's five) against the
round's time since the first, one colour a host, with each host's median as a line; --reference adds the
elapsed_time of vllm_bench.py result files of the same step made elsewhere (e.g. the fifth session's
olmoe-graphless/g-i2048-s*.json) as grey lines.
"""
import json
import os
import statistics
import sys
import tarfile


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0] * len(xs)
    for k, i in enumerate(order):
        r[i] = k
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den else float("nan")


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))]


def rounds_of(folder):
    """hostcorr.py's records in `folder`/hostcorr.jsonl: its meta record (host, engine settings) and its rounds."""
    recs = [json.loads(line) for line in open(os.path.join(folder, "hostcorr.jsonl"))]
    return next((r for r in recs if r.get("kind") == "meta"), {}), [r for r in recs if r.get("kind") == "round"]


def steps_of(folder):
    """The engine core's step records from the host's steplog.tar.xz (the step logger's raw JSON lines)."""
    f = os.path.join(folder, "steplog.tar.xz")
    if not os.path.exists(f):
        return []
    out = []
    with tarfile.open(f) as t:
        for m in t.getmembers():
            if m.isfile() and os.path.basename(m.name).startswith("core-"):
                for line in t.extractfile(m):
                    d = json.loads(line)
                    if "t0" in d:
                        out.append(d)
    return out


def report(folder):
    rounds = rounds_of(folder)[1]
    g = [1e3 * r["g2048_median_s"] for r in rounds]
    d = [1e3 * r["decode128_s"] / r.get("decode128_tokens", 128) for r in rounds]
    singles = [1e3 * x for r in rounds for x in r["g2048_s"]]
    print("## %s: %d rounds" % (os.path.basename(os.path.normpath(folder)), len(rounds)))
    print("lone 2,048-token prompt (one graphless step), ms: median %.1f, 10th-90th percentile %.1f-%.1f over %d prompts; "
          "first 20 rounds %.1f, last 20 %.1f" % (statistics.median(singles), pct(singles, 0.1), pct(singles, 0.9), len(singles),
                                                  statistics.median(g[:20]), statistics.median(g[-20:])))
    print("lone decode, ms a token: median %.2f, 10th-90th percentile %.2f-%.2f" % (statistics.median(d), pct(d, 0.1), pct(d, 0.9)))
    print("| gauge | median | 10th-90th percentile | Spearman with the graphless step | with the decode |")
    print("|---|---|---|---|---|")
    gauges = [(k, [r["battery"][k] for r in rounds]) for k in rounds[0]["battery"] if k != "time" and rounds[0]["battery"][k] is not None]
    core = [r.get("engine_core", {}).get("engine_core", {}).get("workload_median_s") for r in rounds]
    if all(x is not None for x in core):
        gauges.append(("engine core: hostspeed.py's workload, s", core))
    for k, v in gauges:
        print("| %s | %.4g | %.4g-%.4g | %+.2f | %+.2f |" % (k, statistics.median(v), pct(v, 0.1), pct(v, 0.9), spearman(v, g), spearman(v, d)))
    steps = steps_of(folder)
    gl = [s for s in steps if s["cg"] == "NONE" and s["tok"] == 2048 and s["dn"] == 0][10:]
    dec = [s for s in steps if s["cg"] == "FULL" and s["tok"] == 1]
    if gl:
        med = lambda f, xs: statistics.median(f(s) for s in xs)
        print("step logger, graphless 2,048-token steps (%d): schedule %.2f ms, execute_model %.1f ms on the host, the GPU's "
              "span %.1f ms; lone decode steps (%d): execute_model %.2f ms, GPU span %.2f ms" % (
                  len(gl), med(lambda s: 1e3 * (s["t1"] - s["t0"]), gl), med(lambda s: 1e3 * (s["x1"] - s["x0"]), gl),
                  med(lambda s: s["gpu_ms"], gl), len(dec), med(lambda s: 1e3 * (s["x1"] - s["x0"]), dec), med(lambda s: s["gpu_ms"], dec)))
    print()


def svg(folders, path, references=(), width=820, height=400):
    """The rounds of every host as dots (x: seconds since the host's first round, y: the round's median graphless
    step in ms), each host's median as a dashed line; plain SVG, no plotting library."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    series = []
    for f in folders:
        rounds = rounds_of(f)[1]
        t0 = rounds[0]["battery"]["time"]
        series.append((os.path.basename(os.path.normpath(f)), [(r["battery"]["time"] - t0, 1e3 * r["g2048_median_s"]) for r in rounds]))
    xmax = max(x for _, pts in series for x, _ in pts) or 1
    refs = [(os.path.relpath(f), 1e3 * json.load(open(f))["elapsed_time"]) for f in references]
    ymax = max([50.0] + [y * 1.1 for _, y in refs] + [y * 1.05 for _, pts in series for _, y in pts])
    left, right, top, bottom = 60, 20, 50 + 16 * (len(series) + (1 if refs else 0)), 50
    X = lambda x: left + (width - left - right) * x / xmax
    Y = lambda y: height - bottom - (height - top - bottom) * y / ymax
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14">vLLM 0.24, OLMoE-1B-7B, one H200: a lone 2,048-token prompt (one step without CUDA graphs)</text>' % left,
           '<text x="%d" y="38">probe/vllm/hostcorr.py, round by round on each host</text>' % left]
    for y in range(0, int(ymax) + 1, 10):
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%d</text>' % (left, width - right, Y(y), Y(y), left - 6, Y(y) + 4, y))
    for x in range(0, int(xmax) + 1, 60):
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (X(x), height - bottom + 16, x))
    out.append('<text x="%d" y="%d" text-anchor="middle">seconds since the host\'s first round</text>' % ((left + width - right) // 2, height - 12))
    out.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">step, ms (median of five prompts)</text>' % ((top + height - bottom) // 2, (top + height - bottom) // 2))
    for i, (name, pts) in enumerate(series):
        c = colours[i % len(colours)]
        out += ['<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s" fill-opacity="0.7"/>' % (X(x), Y(y), c) for x, y in pts]
        m = statistics.median(y for _, y in pts)
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>' % (left, width - right, Y(m), Y(m), c))
        out.append('<text x="%d" y="%d" fill="%s">%s: median %.1f ms over %d rounds</text>' % (left, 58 + 16 * i, c, name, m, len(pts)))
    for name, y in refs:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#777" stroke-dasharray="2 3"/>' % (left, width - right, Y(y), Y(y)))
    if refs:
        out.append('<text x="%d" y="%d" fill="#555">grey: the same step on another host, %s ms (%s)</text>' % (
            left, 58 + 16 * len(series), " and ".join("%.1f" % y for _, y in refs), os.path.dirname(refs[0][0])))
    out.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    svg_path, refs = None, []
    if args[:1] == ["--svg"] and len(args) > 1:
        svg_path, args = args[1], args[2:]
    if args[:1] == ["--reference"] and len(args) > 1:
        refs, args = args[1].split(","), args[2:]
    if not args:
        sys.exit(__doc__)
    for f in args:
        report(f)
    if svg_path:
        svg(args, svg_path, refs)
