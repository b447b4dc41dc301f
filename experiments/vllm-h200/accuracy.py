#!/usr/bin/env python3
"""The accuracy table of the vLLM 0.24 H200 runs (docs/accuracy.md), from `moesim validate`'s JSON.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json /tmp/v.json
  python3 experiments/vllm-h200/accuracy.py /tmp/v.json

One row per harness (offline wall time, serving median TTFT and mean TPOT, step times), held-out runs only, with
and without the runs that had a one-off stall (tag 'stall', probe/vllm/stalls.py), then per model. The graphless
jobs' runs (the fifth session's, ids e/..., and gpt-oss-20b's in the sixth; job ids ending in -graphless) are lone
prompts of one step each, probes of a step without CUDA graphs: they have a row of their own rather than joining the
offline grid's wall times (a single 25-100 ms step varies by 15-30% between repeats of the same prompt on the same
engine). The 'pairs' runs of the thirtieth session (ids .../w-pairs-...: two requests a few ms apart to an idle engine,
for the engine core's wake-up) have a row of their own too, and stay out of the serving rows. The runs on two GPUs (ids x2/...) have a table of their own.
"""
import json
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))
v = json.load(open(sys.argv[1]))
m = json.load(open(os.path.join(here, "manifest.json")))
tags = {e["id"]: e.get("tags", []) for e in m["runs"]}


def pct(x):
    return "%.1f%%" % (100 * x)


def summary(rows):
    errs = [abs(r["relative_error"]) for r in rows if r["relative_error"] is not None]
    if not errs:
        return "-", "-", 0
    return pct(statistics.mean(errs)), pct(max(errs)), len(errs)


def beyond(rows, limit=0.25):
    return sum(1 for r in rows if r["relative_error"] is not None and abs(r["relative_error"]) > limit)


def probe(r):
    """A lone graphless prompt: a -graphless job's run, or a run "g-..." of another job (the thirty-eighth session's)."""
    return "-graphless/" in r["id"] or "/g-i" in r["id"]


def pairs(r):
    """A 'pairs' run (vllm_bench.py): two requests a few ms apart to an idle engine, for the core's wake-up."""
    return "/w-pairs-" in r["id"]


def table(rows, title):
    out = ["| %s | runs | mean abs error | max abs error | beyond 25%% |" % title, "|---|---|---|---|---|"]
    for label, metric, pick in (("offline wall time (`elapsed_time`)", "elapsed_time", lambda r: not probe(r)),
                                ("graphless step probes (`elapsed_time` of one lone prompt)", "elapsed_time", probe),
                                ("serving median TTFT", "median_ttft_ms", lambda r: not pairs(r)),
                                ("serving mean TPOT", "mean_tpot_ms", lambda r: not pairs(r)),
                                ("serving request throughput", "request_throughput", lambda r: not pairs(r)),
                                ("request pairs to an idle engine (median TTFT)", "median_ttft_ms", pairs),
                                ("KV cache capacity (tokens)", "kv_cache_capacity_tokens", None)):
        sel = [r for r in rows if r["metric"] == metric and (pick is None or pick(r))]
        mean, mx, n = summary(sel)
        if n:
            out.append("| %s | %d | %s | %s | %d |" % (label, n, mean, mx, beyond(sel)))
    steps = [r for r in rows if r["metric"] == "step_time_ms" and r["predicted"] is not None]
    if steps:
        meds = [abs(r["relative_error"]) for r in steps]
        out.append("| step time, median over each trace's steps | %d traces | %s (median of traces) | %s | %d |" % (
            len(steps), pct(statistics.median(meds)), pct(max(meds)), beyond(steps)))
    return "\n".join(out)


# The runs on two GPUs (ids x2/...) are the multi-GPU campaign's (issue 23): a table of their own at the end.
multi = [r for r in v["rows"] if r["id"].startswith("x2/")]
held = [r for r in v["rows"] if not r["fit"] and not r["id"].startswith("x2/")]
clean = [r for r in held if "stall" not in tags.get(r["id"], [])]
print(table(clean, "held out, no one-off stall"))
print()
print(table(held, "held out, all"))
print()
print("| held out (no stall) by model | offline wall time | serving median TTFT | serving mean TPOT | step time (median of traces) | graphless step probes |")
print("|---|---|---|---|---|---|")
for model in ("olmoe", "mixtral", "qwen3", "qwen15", "dsv2lite", "llama8b", "gptoss20b", "dsv3small"):
    rs = [r for r in clean if r["id"].split("/", 1)[-1].startswith(model + "-") or r["id"].startswith(model + "-")]
    cells = []
    for metric in ("elapsed_time", "median_ttft_ms", "mean_tpot_ms"):
        mean, mx, n = summary([r for r in rs if r["metric"] == metric and not probe(r) and not pairs(r)])
        cells.append("%s (%d)" % (mean, n) if n else "-")
    st = [abs(r["relative_error"]) for r in rs if r["metric"] == "step_time_ms" and r["relative_error"] is not None]
    cells.append("%s (%d)" % (pct(statistics.median(st)), len(st)) if st else "-")
    mean, mx, n = summary([r for r in rs if r["metric"] == "elapsed_time" and probe(r)])
    cells.append("%s (%d)" % (mean, n) if n else "-")
    print("| %s | %s |" % (model, " | ".join(cells)))
print()
# The later sessions by their manifest id prefix; the first session's ids have none.
SESSIONS = (("b/", "second session, a fresh host (fit and held out, tags b1-b2)"),
            ("c/", "third session, a fresh host, host speed measured before each run (fit and held out, tags c1-c2)"),
            ("d/", "fourth session, a fresh host, host speed measured in the engine core before and after each run (fit and held out, tags d1-d3)"),
            ("e/", "fifth session, graphless step probes on two fresh hosts (fit and held out, tags e1-e2)"),
            ("f/", "sixth session, gpt-oss-20b and the first session's knobs at a measured host speed (all held out, tags f1-f2)"),
            ("g/", "seventh session, gpt-oss-20b's offline grid after a warm-up and OLMoE at 2,048 batched tokens (all held out, tag g1)"),
            ("j/", "tenth session, DeepSeek-V2-Lite's offline grid after a warm-up and at 512 batched tokens (all held out, tag j1)"),
            ("m/", "thirteenth session, DeepSeek-V2-Lite serving on a fresh host (all held out, tag m1)"),
            ("n/", "fourteenth session, 16,384-token steps of two prompt lengths and Llama-3.1-8B's offline grid on a fresh host (all held out, tags n1-n2)"),
            ("o/", "fifteenth session, DeepSeek-V2-Lite and gpt-oss-20b offline and Qwen3-30B-A3B serving on a fresh host (all held out, tags o1-o2)"),
            ("p/", "sixteenth session, Qwen3-30B-A3B serving on a fresh host after hostcorr.py's rounds there (all held out, tag p1)"),
            ("q/", "eighteenth session, chunked prefill off, the performance modes and max_model_len 4096 on a fresh host (all held out, tag q1)"),
            ("s/", "twentieth session, Qwen3-30B-A3B and DeepSeek-V2-Lite serving and Mixtral-8x7B offline on a fresh host (all held out, tags s1-s2)"),
            ("s2/", "twentieth session, Mixtral-8x7B serving from a second engine start on the same host (all held out, tag s3)"),
            ("u/", "twenty-first session, pairhost.py's DeepSeek-V2-Lite and Qwen1.5-MoE beside OLMoE on one H100 vCPU (fit and held out, tags u1-u2)"),
            ("v/", "twenty-second session, pairhost.py's models in turn on one H200 vCPU (all held out, tags v1-v2)"),
            ("w/", "twenty-second session's last minutes, Qwen1.5-MoE and OLMoE in turn on one H100 vCPU (all held out, tag w1)"),
            ("x/", "twenty-third session, the published gpt-oss cases and OLMoE at 2,048 batched tokens on one H100 (all held out, tags x1-x3)"),
            ("y/", "twenty-third session's last minutes, the KV cache at 256 sequences on a fresh H100 (all held out, tag y1)"),
            ("z/", "twenty-sixth session, the three runs beyond 25% again and OLMoE under three configurations on one H100 vCPU (all held out, tags z1-z2)"),
            ("z2/", "twenty-sixth session, the same jobs again on the same H100 (all held out, tag z3)"),
            ("aa/", "twenty-seventh session, OLMoE's lone prompt at 2,048 and 8,192 batched tokens and with and without enforce_eager on one H100 vCPU (all held out, tags aa1-aa3)"),
            ("ab/", "twenty-seventh session's second host, OLMoE and Qwen1.5-MoE with and without enforce_eager on one H100 vCPU (all held out, tags ab1-ab2)"),
            ("ac/", "twenty-eighth session, offline runs with every Triton JIT compile logged on a fresh H100 (fit: the runs whose stalls measured moe_first_use_us; the rest held out, tags ac1-ac2)"),
            ("ac2/", "twenty-eighth session's second H100, gpt-oss-20b the same way (fit: the runs whose stalls measured mxfp4_routing_first_use_us; the rest held out, tag ac3)"),
            ("ae/", "thirtieth session, request pairs to an idle engine and fresh OLMoE and Qwen3-30B-A3B serving runs on a fresh H100 (all held out, tag ae1)"),
            ("ai/", "thirty-third session, a DeepSeek-V3-architecture model moesim had not met, and one command in fresh engines on one H100 (all held out, tags ai1-ai2)"),
            ("aj/", "thirty-fourth session, gpt-oss-20b served and offline in fresh engines with every Triton JIT compile logged on one H100 (all held out, tag aj1)"),
            ("ak/", "thirty-fifth session, ten engines in a row on one H100: which find Triton's cache of the ones before (all held out, tags ak1-ak3)"),
            ("al/", "thirty-sixth session, OLMoE's offline first-step draw, 44 short runs in two engines on a fresh H100 (all held out, tags al1-al2)"),
            ("am/", "thirty-seventh session, the offline intake: OLMoE with prefix caching on and off, and Qwen3-30B-A3B, on a fresh H100 (OLMoE's runs fitted, tags am1-am2)"),
            ("an/", "thirty-seventh session's second host, the offline intake held out on Qwen1.5-MoE-A2.7B and DeepSeek-V2-Lite (all held out, tag an1)"),
            ("ao/", "thirty-eighth session, Qwen3-30B-A3B and OLMoE-1B-7B offline beside 0-16 busy processes and serving on a fresh H100, after the host law's refit (all held out, tag ao1)"),
            ("ap/", "thirty-ninth session, the first H200 jobs' grids (Qwen3-30B-A3B served and offline, DeepSeek-V2-Lite and OLMoE offline) on a fresh H100 (all held out, tags ap1-ap2)"),
            ("aq/", "forty-second session, OLMoE-1B-7B offline behind shared prompt prefixes, prefix caching on and off, on a fresh H100 (all held out, tag aq1)"))
first = ("first session (fit and held out, tags call3-call5)", lambda r: not r["id"].startswith(tuple(p for p, _ in SESSIONS)))
for label, pick in (first,) + tuple((label, lambda r, p=p: r["id"].startswith(p)) for p, label in SESSIONS):
    print(table([r for r in clean if pick(r)], "held out, no stall: " + label))
    print()
if multi:
    print("| vLLM on two H200s (ids x2/, all held out; no step traces, so no stall tags) | measured | predicted | error |")
    print("|---|---|---|---|")
    for r in multi:
        if r["relative_error"] is not None:
            print("| %s %s | %.3f | %.3f | %+.1f%% |" % (r["id"], r["metric"], r["measured"], r["predicted"], 100 * r["relative_error"]))
    print()
s = v.get("step_traces", {})
print("every held-out step pooled: %s steps of %s traces, median |error| %s, 90th percentile %s" % (
    s.get("held_out", {}).get("steps"), s.get("held_out", {}).get("traces"),
    pct(s.get("held_out", {}).get("median_abs_error", float("nan"))), pct(s.get("held_out", {}).get("p90_abs_error", float("nan")))))
# Same-vCPU ratios (step_ratio entries: one engine's graphless steps over another's in the same rounds of
# probe/vllm/pairhost.py), which the vCPU's speed does not move; fit and held out alike, each marked.
ratios = [r for r in v["rows"] if r["metric"] == "step_time_ratio" and r["predicted"] is not None]
if ratios:
    print()
    print("| same-vCPU ratio (graphless steps, one engine over another) | split | measured | predicted | error |")
    print("|---|---|---|---|---|")
    for r in ratios:
        print("| %s | %s | %.3f | %.3f | %+.1f%% |" % (r["id"], "fit" if r["fit"] else "held out", r["measured"], r["predicted"],
                                                   100 * r["relative_error"]))
    ho = [abs(r["relative_error"]) for r in ratios if not r["fit"]]
    if ho:
        print("held-out ratios: %d, mean |error| %s" % (len(ho), pct(statistics.mean(ho))))
