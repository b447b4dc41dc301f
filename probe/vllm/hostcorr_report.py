#!/usr/bin/env python3
"""What hostcorr.py's rounds say: per host, how long vLLM's host-bound OLMoE steps took and how much that moved,
whether any gauge of hostprobe.py's battery (timed in the front-end process between the steps) or hostspeed.py's
workload timed inside the engine core follows it (Spearman rank correlation over the rounds), and what the step
logger saw inside the graphless steps (scheduler, execute_model on the host, the GPU's span).

  python3 probe/vllm/hostcorr_report.py probe/results/2026-12-04-h200-vllm-p/hostcorr-host*
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
    rounds = [r for r in map(json.loads, open(os.path.join(folder, "hostcorr.jsonl"))) if r.get("kind") == "round"]
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


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for f in sys.argv[1:]:
        report(f)
