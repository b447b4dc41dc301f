#!/usr/bin/env python3
"""How much of the error is the host's speed: every held-out serving and offline run of the vLLM manifest (one GPU, with
a step trace) predicted again at the host speed its own step trace shows, beside the prediction moesim makes.

A diagnostic, not a prediction: the host factor comes from the run being predicted. For each run, its steps
without CUDA graphs (at least 5) wait on the host, so measured / predicted median time of those steps says how much
faster or slower its host ran than moesim's host model (as host_spread.py reads it). The run is predicted again with
`--host-cost-scale` at that factor, refined once (the steps are replayed at the new factor and the factor corrected by
what is left), through `moesim validate` on a manifest of the same entries written to a scratch file. Runs whose steps
all had CUDA graphs keep factor 1, and so do runs whose steps without graphs the GPU bounds (16,384-token prompt
steps: scaling the host does not move them, so they say nothing of it). If the errors at the run's own host factor are small, what is left of the
error is the host and not the engine model (the scheduler, the queue, the GPU's steps); if they stay large, the
engine model misses something.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json /tmp/v.json
  python3 experiments/vllm-h200/host_oracle.py /tmp/v.json [--moesim .build/release/moesim] [--svg FILE]

--svg FILE draws each held-out serving run's median-TTFT error (no one-off stall) against its host factor, as moesim
predicts it and at the run's own host factor.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
METRICS = ("median_ttft_ms", "mean_tpot_ms", "request_throughput", "elapsed_time")


def none_ratio(row):
    """measured / predicted median of a step-trace row's steps without CUDA graphs, or None under 5 such steps."""
    for mode in row.get("steps_by_cuda_graph_mode") or []:
        if mode["mode"] == "NONE" and mode["steps"] >= 5 and mode["predicted_ms"]:
            return mode["measured_ms"] / mode["predicted_ms"]
    return None


def validate(moesim, runs):
    """`moesim validate` on a scratch manifest of these entries (paths as seen from this folder); its rows by id."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest, out = os.path.join(here, ".host_oracle_manifest.json"), os.path.join(tmp, "v.json")
        with open(manifest, "w") as f:
            json.dump({"version": 1, "description": "host_oracle.py scratch manifest", "runs": runs}, f)
        try:
            subprocess.run([moesim, "validate", manifest, "--json", out], check=True, stdout=subprocess.DEVNULL)
        finally:
            os.remove(manifest)
        return {(r["id"], r["metric"]): r for r in json.load(open(out))["rows"]}


def scaled(entry, factor):
    e = dict(entry)
    e["args"] = list(entry["args"]) + ["--host-cost-scale", "%.4f" % factor]
    return e


def svg(points, path, width=760, height=420):
    """points: (host factor, error as predicted, error at the run's host factor); x on a log scale."""
    left, right, top, bottom = 70, 20, 40, 50
    x0, x1, y0, y1 = math.log(0.4), math.log(2.0), -1.0, 1.0
    px = lambda f: left + (math.log(f) - x0) / (x1 - x0) * (width - left - right)
    py = lambda e: top + (y1 - max(y0, min(y1, e))) / (y1 - y0) * (height - top - bottom)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14">vLLM 0.24 serving runs on H200 and H100 VMs: median TTFT error against the host factor of the run</text>' % left]
    for e in (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0):
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>' % (left, width - right, py(e), py(e), "#888" if e == 0 else "#e4e4e4"))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%+d%%</text>' % (left - 6, py(e) + 4, round(100 * e)))
    for f in (0.5, 0.7, 1.0, 1.4, 2.0):
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e4e4e4"/>' % (px(f), px(f), top, height - bottom))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%.1fx</text>' % (px(f), height - bottom + 16, f))
    out.append('<text x="%d" y="%d" text-anchor="middle">host factor: measured / predicted time of the run\'s steps without CUDA graphs (log scale)</text>' % (
        (left + width - right) // 2, height - 12))
    out.append('<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">median TTFT, predicted / measured - 1 (clipped at +-100%%)</text>' % ((top + height - bottom) // 2))
    for f, base, orc in points:
        out.append('<circle cx="%.1f" cy="%.1f" r="4" fill="#c0392b" fill-opacity="0.75"/>' % (px(f), py(base)))
        out.append('<circle cx="%.1f" cy="%.1f" r="4" fill="none" stroke="#2471a3" stroke-width="1.5"/>' % (px(f), py(orc)))
    lx = width - right - 300
    out.append('<circle cx="%d" cy="%d" r="4" fill="#c0392b"/><text x="%d" y="%d">as moesim predicts it (one host model)</text>' % (lx, top + 10, lx + 10, top + 14))
    out.append('<circle cx="%d" cy="%d" r="4" fill="none" stroke="#2471a3" stroke-width="1.5"/><text x="%d" y="%d">at the run\'s own host factor</text>' % (lx, top + 28, lx + 10, top + 32))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("validate_json", help="moesim validate --json output over experiments/vllm-h200/manifest.json")
    ap.add_argument("--moesim", default=os.path.join(here, "..", "..", ".build", "release", "moesim"))
    ap.add_argument("--svg", help="also draw the serving runs' TTFT errors against their host factor")
    a = ap.parse_args()
    v = json.load(open(a.validate_json))
    entries = {e["id"]: e for e in json.load(open(os.path.join(here, "manifest.json")))["runs"]}
    rows = {(r["id"], r["metric"]): r for r in v["rows"]}
    serving = sorted({r["id"] for r in v["rows"] if r["metric"] in ("median_ttft_ms", "elapsed_time") and not r["fit"]
                      and not r["id"].startswith("x2/") and "/w-pairs-" not in r["id"] and r["relative_error"] is not None
                      and (r["id"] + "/steps") in entries})
    factor = {}
    for rid in serving:
        ratio = none_ratio(rows.get((rid + "/steps", "step_time_ms"), {}))
        factor[rid] = ratio if ratio else 1.0
    # One refinement: replay the steps at the factor and correct it by the ratio still left.
    scaled_runs = [scaled(entries[rid + "/steps"], factor[rid]) for rid in serving if factor[rid] != 1.0]
    again = validate(a.moesim, scaled_runs)
    for rid in serving:
        r = again.get((rid + "/steps", "step_time_ms"))
        left = none_ratio(r) if r else None
        if not left or factor[rid] == 1.0:
            continue
        # Steps that wait on the host follow the scale (left near 1); steps the GPU bounds do not (left near the
        # first ratio), and say nothing of the host: such a run keeps factor 1.
        if abs(math.log(left)) > 0.5 * abs(math.log(factor[rid])):
            factor[rid] = 1.0
        else:
            factor[rid] *= left
    oracle = validate(a.moesim, [scaled(entries[rid], factor[rid]) for rid in serving])

    def err(table, rid, metric):
        r = table.get((rid, metric))
        return None if r is None or r["relative_error"] is None else r["relative_error"]

    stall = {rid for rid in serving if "stall" in entries[rid].get("tags", [])}
    def cell(rid, metric):
        e = err(rows, rid, metric)
        return "" if e is None else "%+.1f%% | %+.1f%%" % (100 * e, 100 * err(oracle, rid, metric))

    print("| run | host factor | error | at its host factor |")
    print("|---|---|---|---|")
    for rid in serving:
        for metric in METRICS:
            if err(rows, rid, metric) is not None and metric != "request_throughput":
                print("| %s%s %s | %.2f | %s |" % (rid, " (stall)" if rid in stall else "", metric, factor[rid], cell(rid, metric)))
    print()
    clean = [rid for rid in serving if rid not in stall]
    print("| held out, no one-off stall | runs | moesim's prediction | at each run's own host factor |")
    print("|---|---|---|---|")
    for metric, label in zip(METRICS, ("serving median TTFT", "serving mean TPOT", "serving request throughput",
                                       "offline wall time")):
        base = [abs(err(rows, rid, metric)) for rid in clean if err(rows, rid, metric) is not None]
        orc = [abs(err(oracle, rid, metric)) for rid in clean if err(oracle, rid, metric) is not None]
        print("| %s, mean abs error (beyond 25%%) | %d | %.1f%% (%d) | %.1f%% (%d) |" % (
            label, len(base), 100 * statistics.mean(base), sum(x > 0.25 for x in base),
            100 * statistics.mean(orc), sum(x > 0.25 for x in orc)))
    if a.svg:
        svg([(factor[rid], err(rows, rid, "median_ttft_ms"), err(oracle, rid, "median_ttft_ms")) for rid in clean
             if err(rows, rid, "median_ttft_ms") is not None], a.svg)


if __name__ == "__main__":
    main()
