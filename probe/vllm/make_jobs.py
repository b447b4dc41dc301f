#!/usr/bin/env python3
"""Writes the job list of the one-H200 vLLM 0.24 campaign (issue 22): probe/vllm/jobs-h200.json.

Order is priority: the suite runs jobs in this order while its time budget lasts. est_s are rough run times on one
H200 (OLMoE x factor), used only to decide what still fits in a call.
"""
import json
import os

FACTOR = {"olmoe-1b-7b": 1, "qwen1.5-moe-a2.7b": 1.5, "deepseek-v2-lite": 1.5, "qwen3-30b-a3b": 2, "mixtral-8x7b": 5,
          "llama-3.1-8b": 3, "gpt-oss-20b": 1.5, "gpt-oss-120b": 1}
START = {"olmoe-1b-7b": 80, "qwen1.5-moe-a2.7b": 90, "deepseek-v2-lite": 100, "qwen3-30b-a3b": 100, "mixtral-8x7b": 120,
         "llama-3.1-8b": 90, "gpt-oss-20b": 150, "gpt-oss-120b": 240}


def off(n, i, o, est, prefix=0, rid=None):
    r = {"id": rid or ("o-n%d-i%d-o%d" % (n, i, o) if not prefix else "o-n%d-p%d-i%d-o%d" % (n, prefix, i, o)),
         "n": n, "in": i, "out": o, "est_s": est}
    if prefix:
        r["prefix"] = prefix
    return r


OFFLINE_FULL = [
    off(1, 512, 256, 2), off(1, 2048, 16, 1), off(8, 2048, 16, 2), off(4, 512, 256, 2), off(16, 512, 256, 2),
    off(64, 512, 256, 3), off(256, 512, 256, 5), off(1024, 512, 128, 8), off(64, 2048, 128, 3), off(256, 128, 512, 6),
    off(256, 128, 64, 3, prefix=1024), off(64, 512, 256, 3, rid="o-n64-i512-o256-r2"),
]
OFFLINE_HELD = [off(1, 512, 256, 2), off(8, 2048, 16, 2), off(16, 512, 256, 2), off(64, 512, 256, 3), off(256, 512, 256, 5),
                off(1024, 512, 128, 8), off(64, 2048, 128, 3)]
# Mixtral is about five times slower: its grid leaves out the two longest runs (1,024 x 512/128 and 256 x 128/512).
OFFLINE_MIXTRAL = [r for r in OFFLINE_FULL if r["id"] not in ("o-n1024-i512-o128", "o-n256-i128-o512")] + [off(512, 512, 128, 5)]
OFFLINE_KNOB = [off(1, 512, 256, 2), off(64, 512, 256, 3), off(1024, 512, 128, 8), off(64, 2048, 128, 3)]
SERVE = [
    {"id": "s-inf-n512", "n": 512, "in": 512, "out": 128, "ratio": 0.5, "rate": "inf", "est_s": 6},
    {"id": "s-p25", "rate_frac": 0.25, "target_s": 20, "n_min": 60, "n_max": 600, "in": 512, "out": 128, "ratio": 0.5, "seed": 1, "est_s": 22},
    {"id": "s-p50", "rate_frac": 0.5, "target_s": 20, "n_min": 60, "n_max": 600, "in": 512, "out": 128, "ratio": 0.5, "seed": 2, "est_s": 22},
    {"id": "s-p80", "rate_frac": 0.8, "target_s": 20, "n_min": 60, "n_max": 600, "in": 512, "out": 128, "ratio": 0.5, "seed": 3, "est_s": 22},
    {"id": "s-c1-n8", "n": 8, "conc": 1, "in": 512, "out": 128, "ratio": 0.5, "seed": 4, "est_s": 3},
    {"id": "s-c16-n64", "n": 64, "conc": 16, "in": 512, "out": 128, "ratio": 0.5, "seed": 5, "est_s": 3},
    {"id": "s-c64-n256", "n": 256, "conc": 64, "in": 512, "out": 128, "ratio": 0.5, "seed": 6, "est_s": 5},
]


def scale(runs, model, lim=None):
    out = []
    for r in runs:
        r = dict(r)
        if lim and r.get("in", 0) + r.get("prefix", 0) + r.get("out", 0) > lim:
            continue
        if "est_s" in r and "target_s" not in r:
            r["est_s"] = round(r["est_s"] * FACTOR[model], 1)
        out.append(r)
    return out


def job(jid, model, mode, runs, engine=None, note=None, startup=None):
    j = {"id": jid, "model": model, "mode": mode, "engine": engine or {}, "runs": scale(runs, model),
         "startup_est_s": startup or START[model]}
    if note:
        j["note"] = note
    return j


KNOB_START = 60
jobs = [
    job("olmoe-offline", "olmoe-1b-7b", "offline", OFFLINE_FULL),
    job("olmoe-serve", "olmoe-1b-7b", "serve", SERVE, startup=60),
    job("mixtral-offline", "mixtral-8x7b", "offline", OFFLINE_MIXTRAL),
    job("mixtral-serve", "mixtral-8x7b", "serve", [dict(r, target_s=15) if "target_s" in r else r for r in SERVE], startup=80),
    job("qwen3-offline", "qwen3-30b-a3b", "offline", OFFLINE_FULL),
    job("olmoe-sync", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"async_scheduling": False}, "async scheduling off", KNOB_START),
    job("olmoe-eager", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"enforce_eager": True}, "no torch.compile, no CUDA graphs", 40),
    job("dsv2lite-offline", "deepseek-v2-lite", "offline", OFFLINE_HELD),
    job("olmoe-mnbt2048", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"max_num_batched_tokens": 2048, "max_num_seqs": 256},
        "the A100's serving defaults", KNOB_START),
    job("qwen15-offline", "qwen1.5-moe-a2.7b", "offline", OFFLINE_HELD),
    job("olmoe-nopc", "olmoe-1b-7b", "offline", [off(256, 128, 64, 3, prefix=1024), off(64, 512, 256, 3)],
        {"enable_prefix_caching": False}, "prefix caching off", KNOB_START),
    job("olmoe-kvfp8", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"kv_cache_dtype": "fp8"}, "fp8 KV cache", KNOB_START),
    job("olmoe-fp8", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"quantization": "fp8"}, "online fp8 weights", 80),
    job("llama8b-offline", "llama-3.1-8b", "offline", OFFLINE_KNOB + [off(1, 2048, 16, 1), off(256, 512, 256, 5)], note="dense control"),
    job("qwen3-serve", "qwen3-30b-a3b", "serve", SERVE, startup=70),
    job("qwen15-serve", "qwen1.5-moe-a2.7b", "serve", SERVE, startup=70),
    job("dsv2lite-serve", "deepseek-v2-lite", "serve", SERVE, startup=70),
]
# The second session (2026-12-03, afternoon): what the first left unmeasured (the dense control, online fp8, serving
# for the other models) and repeats of the OLMoE and Mixtral offline grids on a host whose memory was touched first
# (hostspeed.py --prefault), to see whether the host's speed still drifts.
here = os.path.dirname(os.path.abspath(__file__))
jobs_b = [
    job("olmoe-offline", "olmoe-1b-7b", "offline", OFFLINE_FULL),
    job("llama8b-offline", "llama-3.1-8b", "offline", OFFLINE_KNOB + [off(1, 2048, 16, 1), off(256, 512, 256, 5), off(16, 512, 256, 2)],
        note="dense control"),
    job("olmoe-fp8", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"quantization": "fp8"}, "online fp8 weights", 80),
    job("qwen3-serve", "qwen3-30b-a3b", "serve", SERVE, startup=70),
    job("mixtral-offline", "mixtral-8x7b", "offline", OFFLINE_MIXTRAL),
    job("qwen15-serve", "qwen1.5-moe-a2.7b", "serve", SERVE, startup=70),
    job("dsv2lite-serve", "deepseek-v2-lite", "serve", SERVE, startup=70),
    job("qwen3-offline", "qwen3-30b-a3b", "offline", OFFLINE_HELD),
    job("olmoe-serve", "olmoe-1b-7b", "serve", SERVE, startup=60),
]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, second session, written by make_jobs.py", "jobs": jobs_b},
          open(os.path.join(here, "jobs-h200-b.json"), "w"), indent=1)
print("second session:", len(jobs_b), "jobs;", sum(len(j["runs"]) for j in jobs_b), "runs")

# The third session (2026-12-04): every run records the host's speed just before it (vllm_bench.py, "host_speed"), to
# check the host-speed input of the engine model on runs held out of every fit. Serving for the models the first two
# sessions left without it on a measured host (OLMoE, Mixtral, DeepSeek-V2-Lite, with a longer start-up allowance),
# the Qwen1.5-MoE serving grid again (slowed host last time), Qwen3 and DeepSeek-V2-Lite offline, and OLMoE offline
# twice: on the host as it is and with 24 busy processes beside vLLM (a host known to be slower).
jobs_c = [
    job("olmoe-serve", "olmoe-1b-7b", "serve", SERVE, startup=60),
    job("qwen15-serve", "qwen1.5-moe-a2.7b", "serve", SERVE, startup=90),
    job("olmoe-offline", "olmoe-1b-7b", "offline", OFFLINE_HELD),
    job("dsv2lite-offline", "deepseek-v2-lite", "offline", OFFLINE_HELD, startup=110),
    job("qwen3-offline", "qwen3-30b-a3b", "offline", OFFLINE_HELD, startup=110),
    job("mixtral-serve", "mixtral-8x7b", "serve", [dict(r, target_s=15) if "target_s" in r else r for r in SERVE], startup=110),
    job("olmoe-offline-busy", "olmoe-1b-7b", "offline", OFFLINE_HELD, note="24 busy processes beside vLLM", startup=90),
    job("dsv2lite-serve", "deepseek-v2-lite", "serve", SERVE, startup=160),
]
jobs_c[6]["cpu_hogs"] = 24
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, third session, written by make_jobs.py", "jobs": jobs_c},
          open(os.path.join(here, "jobs-h200-c.json"), "w"), indent=1)
print("third session:", len(jobs_c), "jobs;", sum(len(j["runs"]) for j in jobs_c), "runs")
# The fourth session (2026-12-04, afternoon): the engine core's own host speed is now recorded before and after each
# run (sitecustomize.py's Worker.moesim_hostspeed), to settle how host costs follow the host's speed. First the slowed
# host the third session had no time for (24 busy processes), then serving where TTFT missed most (Qwen1.5-MoE,
# Mixtral) and DeepSeek-V2-Lite's serving never measured, then Qwen1.5-MoE without CUDA graphs (every kernel launched
# by the host: a layer's launch count differs by architecture) and the OLMoE runs furthest off (2,048 batched tokens,
# a lone 2,048-token prompt).
jobs_d = [
    job("olmoe-offline-busy", "olmoe-1b-7b", "offline", OFFLINE_HELD, note="24 busy processes beside vLLM", startup=90),
    job("qwen15-serve", "qwen1.5-moe-a2.7b", "serve", SERVE, startup=90),
    job("mixtral-serve", "mixtral-8x7b", "serve", [dict(r, target_s=15) if "target_s" in r else r for r in SERVE], startup=110),
    job("dsv2lite-serve", "deepseek-v2-lite", "serve", SERVE, startup=160),
    job("qwen15-eager", "qwen1.5-moe-a2.7b", "offline", OFFLINE_KNOB, {"enforce_eager": True}, "no torch.compile, no CUDA graphs", 60),
    job("olmoe-mnbt2048", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"max_num_batched_tokens": 2048, "max_num_seqs": 256},
        "the A100's serving defaults", KNOB_START),
    job("olmoe-offline", "olmoe-1b-7b", "offline", OFFLINE_FULL),
]
jobs_d[0]["cpu_hogs"] = 24
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, fourth session, written by make_jobs.py", "jobs": jobs_d},
          open(os.path.join(here, "jobs-h200-d.json"), "w"), indent=1)
print("fourth session:", len(jobs_d), "jobs;", sum(len(j["runs"]) for j in jobs_d), "runs")
# The fifth session (2026-12-04, third of the day): what a step without CUDA graphs costs the host, per architecture.
# Each job starts one engine and runs lone prompts of 600-3,072 tokens with one output token: each run is one
# graphless prefill step (the step trace times it), one run under PyTorch's profiler counts what that step calls from
# Python and launches, OLMoE again with 4 and 32 layers (random weights: only the layer count changes) to separate a
# step's fixed host cost from its per-layer cost, and OLMoE with 8-32 busy processes beside vLLM, each run at its own
# measured host speed. The CUDA-graph capture list is cut to 1-8 tokens to shorten start-up: every step measured here
# has 600 or more tokens and runs without graphs under either list.
# Declared before the runs were made: g-i1024-s1, g-i2048-s1 and g-i1024-h32-s1 are fit runs, every other run is held
# out, and the profiled run is neither (the profiler slows the host).
GRAPHLESS = [off(2, 2048, 1, 3, rid="w-i2048"), off(1, 1024, 1, 6, rid="prof-i1024")] + [
    dict(off(1, i, 1, 1.5, rid="g-i%d-s%d" % (i, k)), seed=100 * k + i % 97)
    for i, reps in ((1024, 3), (2048, 2), (600, 2), (3072, 1)) for k in range(1, reps + 1)]
GRAPHLESS[1]["profile"] = True
HOGS = [dict(off(1, 1024, 1, 3, rid="g-i1024-h%d-s%d" % (h, k)), seed=1000 + 10 * h + k, hogs=h)
        for h, k in ((32, 1), (8, 1), (16, 1), (24, 1), (32, 2))]
SMALL_GRAPHS = {"compilation_config": {"cudagraph_capture_sizes": [1, 2, 4, 8]}}


def graphless_job(jid, model, startup, layers=None, hogs=False):
    runs = [dict(r) for r in GRAPHLESS] + ([dict(r) for r in HOGS] if hogs else [])
    j = {"id": jid, "model": model, "mode": "offline", "engine": dict(SMALL_GRAPHS), "runs": runs, "startup_est_s": startup,
         "note": "graphless prefill steps, one per run" + ("; %d layers" % layers if layers else "")}
    if layers:
        j["config_override"] = {"num_hidden_layers": layers}
    return j


jobs_e = [
    graphless_job("olmoe-graphless", "olmoe-1b-7b", 60, hogs=True),
    graphless_job("olmoe-l4-graphless", "olmoe-1b-7b", 45, layers=4),
    graphless_job("qwen15-graphless", "qwen1.5-moe-a2.7b", 70),
    graphless_job("llama8b-graphless", "llama-3.1-8b", 70),
    graphless_job("dsv2lite-graphless", "deepseek-v2-lite", 110),
    graphless_job("qwen3-graphless", "qwen3-30b-a3b", 90),
    graphless_job("mixtral-graphless", "mixtral-8x7b", 100),
    graphless_job("olmoe-l32-graphless", "olmoe-1b-7b", 70, layers=32),
]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, fifth session: graphless steps' host cost, written by make_jobs.py. "
           "Fit runs (declared before measuring): g-i1024-s1, g-i2048-s1, g-i1024-h32-s1; prof-i1024 and w-i2048 are neither; the rest held out.",
           "jobs": jobs_e}, open(os.path.join(here, "jobs-h200-e.json"), "w"), indent=1)
print("fifth session:", len(jobs_e), "jobs;", sum(len(j["runs"]) for j in jobs_e), "runs")
# The sixth session (2026-12-04, fourth of the day): gpt-oss-20b, the issue's last model, on vLLM's MXFP4 path
# (whichever MoE backend vLLM 0.24 picks on an H200 without extra packages; the log names it), offline, serving and
# four graphless probes and a profiled one (without the warm-up: two of the four probes met a first-use compile, so
# a later session should keep a warm-up per size); then the first session's knob runs that no later session repeated with the host's speed
# measured (2,048 batched tokens, fp8 KV cache, prefix caching off). Every run is held out: nothing of this session
# enters a fit.
jobs_f = [
    job("gptoss20b-offline", "gpt-oss-20b", "offline", OFFLINE_HELD + [off(256, 128, 512, 6)]),
    job("gptoss20b-serve", "gpt-oss-20b", "serve", SERVE, startup=150),
    graphless_job("gptoss20b-graphless", "gpt-oss-20b", 120),
    job("olmoe-mnbt2048", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"max_num_batched_tokens": 2048, "max_num_seqs": 256},
        "the A100's serving defaults", KNOB_START),
    job("olmoe-kvfp8", "olmoe-1b-7b", "offline", OFFLINE_KNOB, {"kv_cache_dtype": "fp8"}, "fp8 KV cache", KNOB_START),
    job("olmoe-nopc", "olmoe-1b-7b", "offline", [off(256, 128, 64, 3, prefix=1024), off(64, 512, 256, 3)],
        {"enable_prefix_caching": False}, "prefix caching off", KNOB_START),
]
jobs_f[2]["runs"] = [r for r in jobs_f[2]["runs"] if r["id"] in ("g-i1024-s1", "g-i1024-s2", "g-i2048-s1", "g-i600-s1", "prof-i1024")]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, sixth session: gpt-oss-20b and the first session's knobs "
           "at a measured host speed, written by make_jobs.py. Every run is held out.",
           "jobs": jobs_f}, open(os.path.join(here, "jobs-h200-f.json"), "w"), indent=1)
print("sixth session:", len(jobs_f), "jobs;", sum(len(j["runs"]) for j in jobs_f), "runs")
# The seventh session (2026-12-04, fifth of the day): where a step's GPU time goes, kernel by kernel. Offline runs
# with a window of busy steps profiled (vllm_bench.py's "profile_steps": PyTorch's profiler, GPU kernels only): decode
# steps at 1-1,024 sequences and the big prefill steps of gpt-oss-20b (whose decode steps moesim prices 19-30% fast),
# Qwen3-30B-A3B (whose 12,288-token prefill step took 192 ms against 146 predicted), OLMoE at 2,048 batched tokens
# and Mixtral. Each job first runs a warm-up over the token-count buckets ("warmup"). The profiled runs are neither fit
# nor held out (the profiler slows the host); gpt-oss-20b's offline grid is repeated after the warm-up, held out.
WARM = [off(1, 512, 32, 1), off(64, 512, 32, 1), off(256, 512, 32, 2), off(1024, 128, 32, 3), off(8, 2048, 2, 1)]


def prof(n, i, o, first, count, est):
    return dict(off(n, i, o, est, rid="k-n%d-i%d-o%d" % (n, i, o)), profile_steps=[first, count])


PROF_DECODE = [prof(1, 512, 96, 40, 32, 2), prof(64, 512, 96, 40, 32, 2), prof(256, 512, 96, 40, 32, 3),
               prof(1024, 128, 96, 40, 32, 4)]
PROF_PREFILL = [prof(8, 2048, 2, 0, 8, 2)]
jobs_g = [
    dict(job("gptoss20b-kernels", "gpt-oss-20b", "offline", PROF_DECODE + PROF_PREFILL + OFFLINE_HELD + [off(256, 128, 512, 6)]),
         warmup=WARM),
    dict(job("qwen3-kernels", "qwen3-30b-a3b", "offline", PROF_PREFILL + [PROF_DECODE[0], PROF_DECODE[1], PROF_DECODE[3]]), warmup=WARM),
    dict(job("olmoe-mnbt2048-kernels", "olmoe-1b-7b", "offline",
             [prof(64, 2048, 128, 4, 16, 3), prof(1024, 512, 128, 12, 16, 8), off(1024, 512, 128, 8)],
             {"max_num_batched_tokens": 2048, "max_num_seqs": 256}, "the A100's serving defaults", KNOB_START), warmup=WARM[:2]),
    # Mixtral's decode steps at 512 sequences ran 20-25% slower than moesim's (48 ms against 39): the 512-sequence
    # window first (a second call, after the first three jobs had used the first).
    dict(job("mixtral-kernels", "mixtral-8x7b", "offline", [prof(512, 512, 96, 40, 32, 5), PROF_DECODE[1]] + PROF_PREFILL),
         warmup=WARM[:3] + WARM[-1:]),
]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, seventh session: GPU kernel profiles of step windows "
           "(runs k-*, neither fit nor held out) and gpt-oss-20b's offline grid after a warm-up (held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_g]}, open(os.path.join(here, "jobs-h200-g.json"), "w"), indent=1)
print("seventh session:", len(jobs_g), "jobs;", sum(len(j["runs"]) for j in jobs_g), "runs")
# The eighth session (2026-12-04, sixth of the day): how vLLM's dummy weights route the models moesim's manifest
# treats as routing uniformly at random. Each MoE layer's router picks are counted (vllm_bench.py's "routing": true;
# sitecustomize.py wraps FusedMoERouter.select_experts), with enforce_eager so that Python runs at every step. The
# runs are measurements of routing, not timings: neither fit nor held out. Mixtral first (its 512-sequence decode
# steps took 1,067 us a layer in the fused MoE against 798 in the balanced table).
ROUTING = [dict(off(512, 512, 32, 4, rid="r-n512-i512-o32"), routing=True), dict(off(64, 512, 64, 2, rid="r-n64-i512-o64"), routing=True)]
jobs_h = [job("%s-routing" % short, model, "offline", ROUTING, {"enforce_eager": True}, "router picks counted, eager", START[model] - 20)
          for short, model in (("mixtral", "mixtral-8x7b"), ("qwen3", "qwen3-30b-a3b"), ("olmoe", "olmoe-1b-7b"), ("qwen15", "qwen1.5-moe-a2.7b"))]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, eighth session: the experts vLLM's dummy weights route to, "
           "counted per MoE layer (runs r-*, neither fit nor held out), written by make_jobs.py.",
           "jobs": jobs_h}, open(os.path.join(here, "jobs-h200-h.json"), "w"), indent=1)
print("eighth session:", len(jobs_h), "jobs;", sum(len(j["runs"]) for j in jobs_h), "runs")
# The ninth session (2026-12-04, the day's last device minutes): the sampler's GPU work under other sampling than
# temperature 1 (greedy; top-k 20 with top-p 0.95, Qwen3's generation config), Qwen3-30B-A3B's 1,024-sequence decode
# windows profiled as in the seventh session. Neither fit nor held out.
SAMPLERS = [dict(prof(1024, 128, 64, 30, 16, 4), id="k-n1024-t1"),
            dict(prof(1024, 128, 64, 30, 16, 4), id="k-n1024-greedy", temperature=0.0),
            dict(prof(1024, 128, 64, 30, 16, 4), id="k-n1024-topk20", temperature=0.6, top_k=20, top_p=0.95)]
jobs_i = [dict(job("qwen3-sampler", "qwen3-30b-a3b", "offline", SAMPLERS), warmup=[WARM[3]])]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, ninth session: the sampler's kernels under greedy and "
           "top-k/top-p sampling (runs k-*, profiled: neither fit nor held out), written by make_jobs.py.",
           "jobs": jobs_i}, open(os.path.join(here, "jobs-h200-i.json"), "w"), indent=1)
print("ninth session:", len(jobs_i), "jobs;", sum(len(j["runs"]) for j in jobs_i), "runs")
# The tenth session (2026-12-04, evening): DeepSeek-V2-Lite, whose decode steps moesim prices 13-19% slow at 1-64
# sequences in every session and whose mixed (piecewise-graph) steps 19-55% fast: its steps profiled kernel by kernel
# as in the seventh session (decode windows at 1-1,024 sequences, the 8 x 2,048-token prompt step), then the offline
# grid again after the warm-up (held out); then the engine at 512 batched tokens, where a 512-token prompt chunk rides
# with the decodes in one piecewise graph (window over those steps, and the same run unprofiled, held out).
MIXED = [prof(64, 512, 96, 8, 16, 3), off(64, 512, 256, 4)]
jobs_j = [
    dict(job("dsv2lite-kernels", "deepseek-v2-lite", "offline",
             PROF_DECODE[:1] + [prof(16, 512, 96, 40, 32, 2)] + PROF_DECODE[1:] + PROF_PREFILL + OFFLINE_HELD), warmup=WARM),
    dict(job("dsv2lite-mnbt512-kernels", "deepseek-v2-lite", "offline", MIXED,
             {"max_num_batched_tokens": 512, "max_num_seqs": 256}, "512 batched tokens: mixed steps in piecewise graphs"), warmup=WARM[:2]),
]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, tenth session: DeepSeek-V2-Lite's steps kernel by kernel "
           "(runs k-*, profiled: neither fit nor held out) and its offline grid after a warm-up (held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_j]}, open(os.path.join(here, "jobs-h200-j.json"), "w"), indent=1)
print("tenth session:", len(jobs_j), "jobs;", sum(len(j["runs"]) for j in jobs_j), "runs")
# The eleventh session (2026-12-04, evening, the tenth's remaining device minutes): vLLM's MLA decode kernels
# (FLASH_ATTN_MLA, its combine, the MLA cache write) inside DeepSeek-V2-Lite's own CUDA graphs over a grid of
# sequences x context, each a window of 8 decode-only steps profiled after the prompts' prefill (16,384 batched
# tokens a step; the outputs outlast it, so all n sequences decode in the window), and three prompt steps for the MLA
# prefill path. Measurements of kernels: neither fit nor held out.
def mla_window(n, i):
    prefill = -(-n * i // (16384 - n)) + 1  # the running decodes take part of each step's budget
    return dict(off(n, i, prefill + 20, round(1.5 + n * i / 16384 * 0.15, 1), rid="k-n%d-i%d" % (n, i)), profile_steps=[prefill + 6, 8])


MLA_GRID = [mla_window(n, i) for n, lens in ((1, (128, 2048, 8192, 32768)), (8, (512, 4096, 16384)), (32, (512, 2048, 8192)),
                                           (128, (256, 2048, 8192)), (512, (128, 1024, 4096))) for i in lens]
MLA_PROMPTS = [dict(off(n, i, 2, 2, rid="k-p%d-i%d" % (n, i)), profile_steps=[0, 1]) for n, i in ((1, 1024), (1, 4096), (4, 4096))]
jobs_k = [dict(job("dsv2lite-mla-grid", "deepseek-v2-lite", "offline", MLA_GRID + MLA_PROMPTS), warmup=WARM[:2] + WARM[-1:])]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, eleventh session: DeepSeek-V2-Lite's MLA kernels over a grid "
           "of decode sequences x context and three prompt steps (runs k-*, profiled: neither fit nor held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_k]}, open(os.path.join(here, "jobs-h200-k.json"), "w"), indent=1)
print("eleventh session:", len(jobs_k), "jobs;", sum(len(j["runs"]) for j in jobs_k), "runs")
# The twelfth session (2026-12-04, evening): the same kernel-by-kernel decode windows for the models the seventh
# session did not profile at decode (OLMoE, Qwen1.5-MoE, the dense Llama-3.1-8B control), so that every component
# moesim prices (attention kernel, projections, fused MoE, router, elementwise, sampler) can be checked against vLLM's
# own kernels on six models before any component is re-priced (the eleventh session found DeepSeek-V2-Lite's
# elementwise and router kernels unpriced and compensated elsewhere; docs/mla-lite.md). Neither fit nor held out.
jobs_l = [dict(job("%s-kernels" % short, model, "offline", PROF_DECODE[:3] + PROF_PREFILL), warmup=WARM[:3] + WARM[-1:])
          for short, model in (("olmoe", "olmoe-1b-7b"), ("qwen15", "qwen1.5-moe-a2.7b"), ("llama8b", "llama-3.1-8b"))]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, twelfth session: decode windows and the prompt step of OLMoE, "
           "Qwen1.5-MoE and Llama-3.1-8B kernel by kernel (runs k-*, profiled: neither fit nor held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_l]}, open(os.path.join(here, "jobs-h200-l.json"), "w"), indent=1)
print("twelfth session:", len(jobs_l), "jobs;", sum(len(j["runs"]) for j in jobs_l), "runs")
# The thirteenth session (2026-12-04, evening, the day's last device minutes): DeepSeek-V2-Lite's serving grid again on
# a fresh host. Its only serving runs so far (the fourth session's) came from the slowest host measured, where its
# TPOT under Poisson load missed by 36-40%. Every run held out.
jobs_m = [job("dsv2lite-serve", "deepseek-v2-lite", "serve", SERVE, startup=160)]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, thirteenth session: DeepSeek-V2-Lite serving on a fresh host, "
           "every run held out, written by make_jobs.py.", "jobs": jobs_m}, open(os.path.join(here, "jobs-h200-m.json"), "w"), indent=1)
print("thirteenth session:", len(jobs_m), "jobs;", sum(len(j["runs"]) for j in jobs_m), "runs")
# The fourteenth session (2026-12-04, night): the steps without CUDA graphs at 16,384 batched tokens, where moesim's
# error depends on the prompts' length (over the manifest, the 32 x 512-token steps of o-n256-i512-o256 ran 7-32%
# slower than predicted, the 8 x 2,048-token steps of o-n64-i2048-o128 15-35% faster for OLMoE, Qwen3 and
# DeepSeek-V2-Lite, 10-22% slower for Mixtral and Llama): both steps profiled kernel by kernel after a warm-up, for
# OLMoE, Qwen1.5-MoE and Mixtral, with the two offline runs unprofiled beside them (held out); then Llama-3.1-8B's
# offline grid on a fresh host (held out; the elementwise kernels priced from the twelfth session changed its decode
# steps most). Profiled runs are neither fit nor held out.
PREFILL_PAIR = [prof(256, 512, 4, 1, 3, 3), prof(64, 2048, 4, 1, 3, 2), off(256, 512, 256, 5), off(64, 2048, 128, 3)]
jobs_n = [dict(job("%s-prefill-kernels" % short, model, "offline", PREFILL_PAIR), warmup=WARM[-1:])
          for short, model in (("olmoe", "olmoe-1b-7b"), ("qwen15", "qwen1.5-moe-a2.7b"), ("mixtral", "mixtral-8x7b"))]
jobs_n.append(job("llama8b-offline", "llama-3.1-8b", "offline", OFFLINE_HELD))
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, fourteenth session: 16,384-token steps without CUDA graphs "
           "kernel by kernel for two prompt lengths (runs k-*, profiled: neither fit nor held out) beside the same offline runs "
           "unprofiled (held out), and Llama-3.1-8B's offline grid (held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_n]}, open(os.path.join(here, "jobs-h200-n.json"), "w"), indent=1)
print("fourteenth session:", len(jobs_n), "jobs;", sum(len(j["runs"]) for j in jobs_n), "runs")
# The fifteenth session (2026-12-04, night, the day's last device minutes): held-out runs on a fresh host for the
# models the night's re-pricing changed most (DeepSeek-V2-Lite's MLA decode kernel and router, gpt-oss-20b's and every
# model's elementwise kernels), and Qwen3-30B-A3B's serving grid, of which the manifest holds two held-out runs. Every
# run held out.
jobs_o = [job("dsv2lite-offline", "deepseek-v2-lite", "offline", OFFLINE_HELD),
          job("qwen3-serve", "qwen3-30b-a3b", "serve", [dict(r, target_s=12) if "target_s" in r else r for r in SERVE]),
          dict(job("gptoss20b-offline", "gpt-oss-20b", "offline", OFFLINE_HELD), warmup=WARM)]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, fifteenth session: DeepSeek-V2-Lite and gpt-oss-20b offline, "
           "Qwen3-30B-A3B serving, on a fresh host, every run held out, written by make_jobs.py.",
           "jobs": jobs_o}, open(os.path.join(here, "jobs-h200-o.json"), "w"), indent=1)
print("fifteenth session:", len(jobs_o), "jobs;", sum(len(j["runs"]) for j in jobs_o), "runs")
# The sixteenth session (2026-12-04, late night): after hostcorr.py's rounds on the same host (how fast this host runs
# OLMoE's host-bound steps), Qwen3-30B-A3B's serving grid again, to see its serving latencies beside that gauge on a
# second host. Every run held out (ids p/...).
jobs_p = [job("qwen3-serve", "qwen3-30b-a3b", "serve", [dict(r, target_s=12) if "target_s" in r else r for r in SERVE])]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, sixteenth session: Qwen3-30B-A3B serving after "
           "hostcorr.py on the same host, every run held out, written by make_jobs.py.",
           "jobs": jobs_p}, open(os.path.join(here, "jobs-h200-p.json"), "w"), indent=1)
print("sixteenth session:", len(jobs_p), "jobs;", sum(len(j["runs"]) for j in jobs_p), "runs")
# OLMoE's max_position_embeddings is 4096: every run above fits (2048 + 128).
here = os.path.dirname(os.path.abspath(__file__))
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, written by make_jobs.py", "jobs": jobs},
          open(os.path.join(here, "jobs-h200.json"), "w"), indent=1)
print(len(jobs), "jobs;", sum(len(j["runs"]) for j in jobs), "runs")

# Issue 23: the study's plans with vLLM on N GPUs: -tp N, -tp N --enable-expert-parallel, and -dp N
# --enable-expert-parallel (the allgather_reducescatter all2all backend, which needs no extra packages). vLLM's
# offline LLM class does not run data parallelism in one process, so DP+EP runs serving only. Priority: the paper's
# three models first, then Qwen3-30B-A3B and DeepSeek-V2-Lite.
MULTI_MODELS = [("olmoe", "olmoe-1b-7b"), ("qwen15", "qwen1.5-moe-a2.7b"), ("mixtral", "mixtral-8x7b"),
                ("qwen3", "qwen3-30b-a3b"), ("dsv2lite", "deepseek-v2-lite")]
for n in (2, 4):
    mjobs = []
    for short, model in MULTI_MODELS:
        for plan, engine in (("tp", {"tensor_parallel_size": n}),
                             ("ep", {"tensor_parallel_size": n, "enable_expert_parallel": True}),
                             ("dpep", {"data_parallel_size": n, "enable_expert_parallel": True})):
            if plan != "dpep":
                mjobs.append(job("%s-%s%d-offline" % (short, plan, n), model, "offline", OFFLINE_HELD, engine,
                                 "%s on %d GPUs" % (plan, n), START[model] + 30))
            mjobs.append(job("%s-%s%d-serve" % (short, plan, n), model, "serve", SERVE, engine,
                             "%s on %d GPUs" % (plan, n), START[model] + 30))
    json.dump({"description": "vLLM 0.24.0 on %d H200s, issue 23 campaign (not yet run: no %d-GPU host was lent), written by make_jobs.py" % (n, n),
               "jobs": mjobs}, open(os.path.join(here, "jobs-h200x%d.json" % n), "w"), indent=1)
    print("%d GPUs: %d jobs" % (n, len(mjobs)))
# The seventeenth session's plan (2026-12-05, written while no device was lent; run it when one is): vLLM 0.24's
# scheduler knobs that moesim models from vLLM's code since that session and has not yet met in a real run, every run
# held out: chunked prefill off (offline, prompts of 512 and 2,048 tokens against the 16,384-token budget), the
# throughput and interactivity performance modes (offline at the doubled defaults; serving at small concurrency, where
# interactivity's graphs of every size up to 32 tokens change the padding), and a max_model_len below the model's
# with a lower memory fraction (the KV cache size vLLM logs, the start-up check). Command: `bash
# probe/vllm/device_vllm.sh <budget> "" probe/vllm/jobs-h200-q.json` after the bundle's parts (docs/vllm.md).
SMALL_SERVE = [r for r in SERVE if r["id"] in ("s-c1-n8", "s-c16-n64")]
jobs_q = [job("olmoe-nochunk", "olmoe-1b-7b", "offline", OFFLINE_KNOB, engine={"enable_chunked_prefill": False}),
          job("olmoe-throughput-mode", "olmoe-1b-7b", "offline", OFFLINE_KNOB, engine={"performance_mode": "throughput"}),
          job("olmoe-interactivity", "olmoe-1b-7b", "serve", SMALL_SERVE, engine={"performance_mode": "interactivity"}),
          job("qwen3-maxlen", "qwen3-30b-a3b", "offline", OFFLINE_KNOB, engine={"max_model_len": 4096, "gpu_memory_utilization": 0.8})]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, seventeenth session's plan: chunked prefill off, the "
           "performance modes, and max_model_len with a lower memory fraction, every run held out, written by make_jobs.py.",
           "jobs": jobs_q}, open(os.path.join(here, "jobs-h200-q.json"), "w"), indent=1)
print("seventeenth session (plan):", len(jobs_q), "jobs;", sum(len(j["runs"]) for j in jobs_q), "runs")
# The eighteenth session's second call series (2026-12-05): Mixtral-8x7B again on a fresh host, every run held out,
# after its fused-MoE row in the H200 table was replaced by vLLM 0.24.0's own kernel measured that morning
# (probe/results/2026-12-05-h200-moe-mixtral): offline after a warm-up over the token-count buckets (small decode,
# 2,048-token prompts, mid and large batches), then serving under Poisson load and at concurrency 64 if time is left.
MIX_OFF = [r for r in OFFLINE_MIXTRAL if r["id"] in ("o-n1-i512-o256", "o-n8-i2048-o16", "o-n64-i512-o256", "o-n256-i512-o256",
                                                     "o-n64-i2048-o128", "o-n512-i512-o128")]
jobs_r = [dict(job("mixtral-offline", "mixtral-8x7b", "offline", MIX_OFF), warmup=WARM[:3] + WARM[-1:]),
          job("mixtral-serve", "mixtral-8x7b", "serve", [r for r in SERVE if r["id"] in ("s-p50", "s-p80", "s-c64-n256")])]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, eighteenth session's second call series: Mixtral-8x7B "
           "offline after a warm-up and serving on a fresh host, every run held out, written by make_jobs.py.",
           "jobs": jobs_r}, open(os.path.join(here, "jobs-h200-r.json"), "w"), indent=1)
print("eighteenth session, second series:", len(jobs_r), "jobs;", sum(len(j["runs"]) for j in jobs_r), "runs")
# The twentieth session (2026-12-05): does the engine core's host speed follow the vCPU it runs on? Qwen3-30B-A3B's
# and DeepSeek-V2-Lite's serving grids (their graphless mixed steps wait on the host and switched between about 50 and
# 85 ms within runs on the fifteenth and sixteenth sessions' hosts), with the step logger now recording the vCPU of
# every step (the `cpu` column), between two probe/vllm/vcpu_scan.py scans of every vCPU's speed. Every run held out
# (ids s/...).
jobs_s = [job("qwen3-serve", "qwen3-30b-a3b", "serve", [dict(r, target_s=12) if "target_s" in r else r for r in SERVE]),
          job("dsv2lite-serve", "deepseek-v2-lite", "serve", [dict(r, target_s=12) if "target_s" in r else r for r in SERVE])]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, twentieth session: Qwen3-30B-A3B and DeepSeek-V2-Lite "
           "serving with the vCPU of every step recorded, every run held out, written by make_jobs.py.",
           "jobs": jobs_s}, open(os.path.join(here, "jobs-h200-s.json"), "w"), indent=1)
print("twentieth session:", len(jobs_s), "jobs;", sum(len(j["runs"]) for j in jobs_s), "runs")
# The twentieth session's last call: what a graphless step with prompt chunks and decodes runs from the host, counted
# by PyTorch's profiler (counts, not times: the host's speed does not enter), against a prompt-only step of the same
# tokens, for DeepSeek-V2-Lite (MLA) and Qwen3-30B-A3B (GQA), whose served mixed steps moesim under- and over-predicts
# on the same host. max_num_batched_tokens 2,048: two 1,024-token prompts fill one step; 64 of them with two output
# tokens make about 32 steps that each hold the previous step's prompts' decodes beside two new prompt chunks.
MIXPROF = [{"id": "prof-n2-i1024-o1", "n": 2, "in": 1024, "out": 1, "est_s": 4, "profile": True},
           {"id": "prof-n64-i1024-o2", "n": 64, "in": 1024, "out": 2, "est_s": 8, "profile": True}]
jobs_t = [job("dsv2lite-mixprof", "deepseek-v2-lite", "offline", MIXPROF, engine={"max_num_batched_tokens": 2048}),
          job("qwen3-mixprof", "qwen3-30b-a3b", "offline", MIXPROF, engine={"max_num_batched_tokens": 2048}),
          job("olmoe-mixprof", "olmoe-1b-7b", "offline", MIXPROF, engine={"max_num_batched_tokens": 2048}),
          job("qwen15-mixprof", "qwen1.5-moe-a2.7b", "offline", MIXPROF, engine={"max_num_batched_tokens": 2048})]
json.dump({"description": "vLLM 0.24.0 on one GPU, issue 22 campaign, written in the twentieth session, run in the twenty-first: host "
           "operations of graphless mixed steps counted by PyTorch's profiler, DeepSeek-V2-Lite, Qwen3-30B-A3B, OLMoE-1B-7B "
           "and Qwen1.5-MoE-A2.7B, kernel counts only (no manifest entry), "
           "written by make_jobs.py.",
           "jobs": jobs_t}, open(os.path.join(here, "jobs-h200-t.json"), "w"), indent=1)
print("twentieth session, last call:", len(jobs_t), "jobs;", sum(len(j["runs"]) for j in jobs_t), "runs")
# The twenty-second session (2026-12-05): where Mixtral-8x7B's graphless 2,048-token mixed steps spend their GPU time.
# In pairhost.py's rounds those steps waited on the GPU (65 ms of host against 110 ms of GPU span) and ran 1.13x
# moesim's GPU time, whose kernels all come from measured tables. PyTorch's profiler over eight steady mixed steps
# (two 1,024-token prompt chunks beside the previous prompts' decodes) and over a lone 1,024-token prompt, GPU kernels
# only; the same 64 prompts again unprofiled for the step trace. At max_num_batched_tokens 2,048, as in pairhost.py.
jobs_w = [dict(job("mixtral-mixkernels", "mixtral-8x7b", "offline",
                   [prof(64, 1024, 4, 6, 8, 6), prof(1, 1024, 2, 0, 1, 2), off(64, 1024, 4, 5)],
                   {"max_num_batched_tokens": 2048}, "pairhost.py's budget", 180),
               warmup=[off(16, 1024, 4, 2)])]
json.dump({"description": "vLLM 0.24.0 on one H200, issue 22 campaign, twenty-second session: the GPU kernels of Mixtral-8x7B's "
           "graphless mixed steps at 2,048 batched tokens, profiled (no manifest entry for the profiled runs), written by make_jobs.py.",
           "jobs": jobs_w}, open(os.path.join(here, "jobs-h200-w.json"), "w"), indent=1)
print("twenty-second session:", len(jobs_w), "jobs;", sum(len(j["runs"]) for j in jobs_w), "runs")
# The twenty-third session (2026-12-05): the GPUStack Performance Lab's published gpt-oss cases
# (experiments/published-deployments), served by vLLM 0.24.0 on one H100 with the published runs' flags where 0.24
# differs (async scheduling off and memory 0.9, the defaults of v0.10.2/v0.11.0; gpt-oss-120b's --max-model-len 32768),
# all requests at once, fixed lengths as `vllm bench serve --dataset-name random` gives them. moesim gets gpt-oss-20b's
# 2,000/100 case 1.9x faster than v0.11.0 did, and gpt-oss-120b's 2x: these runs say what 0.24 does on the same GPU
# (random weights, so the dummy weights' routing, four experts a layer). Every run held out (ids x/...).
PUB = {"async_scheduling": False, "gpu_memory_utilization": 0.9}


def pub(n, i, o, est, rid):
    return {"id": rid, "n": n, "in": i, "out": o, "ratio": 0, "rate": "inf", "seed": 42, "est_s": est}


jobs_x = [job("gptoss20b-pub", "gpt-oss-20b", "serve",
              [pub(500, 2000, 100, 25, "s-inf-n500-i2000-o100"), pub(1000, 128, 4, 6, "s-inf-n1000-i128-o4"),
               pub(500, 4000, 200, 50, "s-inf-n500-i4000-o200")], PUB),
          job("gptoss120b-pub", "gpt-oss-120b", "serve",
              [pub(500, 2000, 100, 60, "s-inf-n500-i2000-o100"), pub(1000, 128, 4, 8, "s-inf-n1000-i128-o4")],
              dict(PUB, max_model_len=32768))]
json.dump({"description": "vLLM 0.24.0 on one H100, issue 22 campaign, twenty-third session: the published GPUStack gpt-oss cases "
           "(experiments/published-deployments) served with the published runs' flags, every run held out, written by make_jobs.py.",
           "jobs": jobs_x}, open(os.path.join(here, "jobs-h100-x.json"), "w"), indent=1)
print("twenty-third session:", len(jobs_x), "jobs;", sum(len(j["runs"]) for j in jobs_x), "runs")
# Its second call, on the same host: the published cases with the longest prompts, gpt-oss-20b's 32,000-token
# prompts and gpt-oss-120b's 4,000-token ones (where its small KV cache limits the batch).
jobs_x2 = [job("gptoss20b-pub-long", "gpt-oss-20b", "serve", [pub(100, 32000, 100, 70, "s-inf-n100-i32000-o100")], PUB),
           job("gptoss120b-pub-long", "gpt-oss-120b", "serve", [pub(500, 4000, 200, 120, "s-inf-n500-i4000-o200")],
               dict(PUB, max_model_len=32768))]
json.dump({"description": "vLLM 0.24.0 on one H100, issue 22 campaign, twenty-third session, second call: the published GPUStack "
           "gpt-oss cases with the longest prompts, served with the published runs' flags, every run held out, written by make_jobs.py.",
           "jobs": jobs_x2}, open(os.path.join(here, "jobs-h100-x2.json"), "w"), indent=1)
print("twenty-third session, second call:", len(jobs_x2), "jobs;", sum(len(j["runs"]) for j in jobs_x2), "runs")
# Its third call, same host: gpt-oss-20b's 2,000- and 4,000-token cases with async scheduling on (the published
# "optimized" configuration, `--async-scheduling`), and the configuration of the two OLMoE offline runs that stay
# beyond 25% (2,048 batched tokens) once more.
jobs_x3 = [job("gptoss20b-pub-async", "gpt-oss-20b", "serve",
               [pub(500, 2000, 100, 25, "s-inf-n500-i2000-o100"), pub(500, 4000, 200, 50, "s-inf-n500-i4000-o200")],
               {"async_scheduling": True, "gpu_memory_utilization": 0.9}),
           job("olmoe-mnbt2048", "olmoe-1b-7b", "offline", [off(64, 2048, 128, 3), off(1024, 512, 128, 8), off(64, 512, 256, 3)],
               {"max_num_batched_tokens": 2048, "max_num_seqs": 256}, "the A100's serving defaults", KNOB_START)]
json.dump({"description": "vLLM 0.24.0 on one H100, issue 22 campaign, twenty-third session, third call: gpt-oss-20b's published "
           "cases with async scheduling, and OLMoE at 2,048 batched tokens again, every run held out, written by make_jobs.py.",
           "jobs": jobs_x3}, open(os.path.join(here, "jobs-h100-x3.json"), "w"), indent=1)
print("twenty-third session, third call:", len(jobs_x3), "jobs;", sum(len(j["runs"]) for j in jobs_x3), "runs")
# The twenty-third session's last device minutes: the KV cache vLLM allocates where the profiling sampler's logits
# change and the forward's do not (one short run per engine start; the size is in the start-up log): gpt-oss-20b at
# 256 sequences (its 1,024 requests' logits set its reserve at the default), gpt-oss-20b at 2,048 batched tokens (the
# sampler's requests are min(tokens, sequences)), and Qwen1.5-MoE at 256 sequences (vLLM's second model runner).
# moesim's predictions were written in probe/results/2026-12-05-h100-vllm-y/README.md before the call.
TINY = [off(1, 64, 4, 1, rid="s-n1-i64-o4")]
jobs_y = [job("gptoss20b-seqs256", "gpt-oss-20b", "serve", [dict(TINY[0], rate="inf")], {"max_num_seqs": 256}),
          job("qwen15-seqs256", "qwen1.5-moe-a2.7b", "serve", [dict(TINY[0], rate="inf")], {"max_num_seqs": 256}),
          job("gptoss20b-mnbt2048", "gpt-oss-20b", "serve", [dict(TINY[0], rate="inf")], {"max_num_batched_tokens": 2048})]
json.dump({"description": "vLLM 0.24.0 on one H100, issue 22 campaign, twenty-third session's last call: the KV cache vLLM allocates "
           "at fewer sequences or batched tokens (gpt-oss-20b, Qwen1.5-MoE), every run held out, written by make_jobs.py.",
           "jobs": jobs_y}, open(os.path.join(here, "jobs-h100-y.json"), "w"), indent=1)
print("twenty-third session, last call:", len(jobs_y), "jobs;", sum(len(j["runs"]) for j in jobs_y), "runs")
# The twenty-fourth session's plan (2026-12-05, written while no device was lent; run it on the first 2-GPU lease):
# data parallelism without expert parallelism, which moesim models as vLLM's code runs it since that session (every
# expert sharded over TP x DP GPUs, the DP ranks' tokens gathered into each MoE layer: ParallelPlan.moeShardGPUs) and
# has not met in a real run, beside DP with EP under vLLM 0.24's default allgather_reducescatter exchange. Each job
# first serves one tiny request (the KV cache each DP rank logs at start-up checks the sharding: moesim predicts
# 663,280 tokens a rank for Mixtral at DP 2 and 652,528 at DP 2 + EP since 2026-12-06 (664,304 before), where the replica-per-rank layout it had before gave about 320,000),
# then Poisson and fixed-concurrency load. Every run held out. Command (docs/vllm.md; NCCL_NVLS_ENABLE=0): `bash
# probe/vllm/device_vllm.sh <budget> "" probe/vllm/jobs-h200x2-dp.json` after the bundle's parts.
DP_SERVE = [dict(TINY[0], rate="inf")] + [r for r in SERVE if r["id"] in ("s-p50", "s-c64-n256")]
jobs_dp = [job("mixtral-dp2-serve", "mixtral-8x7b", "serve", DP_SERVE, {"data_parallel_size": 2}, "dp without ep on 2 GPUs", START["mixtral-8x7b"] + 30),
           job("olmoe-dp2-serve", "olmoe-1b-7b", "serve", DP_SERVE, {"data_parallel_size": 2}, "dp without ep on 2 GPUs", START["olmoe-1b-7b"] + 30),
           job("mixtral-dpep2-ar-serve", "mixtral-8x7b", "serve", DP_SERVE, {"data_parallel_size": 2, "enable_expert_parallel": True},
               "dp with ep on 2 GPUs, vLLM 0.24's default allgather_reducescatter", START["mixtral-8x7b"] + 30)]
json.dump({"description": "vLLM 0.24.0 on 2 H200s, issue 22/23 follow-up, twenty-fourth session's plan (not yet run): data parallelism "
           "without expert parallelism (the experts sharded over both GPUs, as vLLM's FusedMoEParallelConfig does) and DP with EP at "
           "vLLM 0.24's default exchange, every run held out, written by make_jobs.py.",
           "jobs": jobs_dp}, open(os.path.join(here, "jobs-h200x2-dp.json"), "w"), indent=1)
print("twenty-fourth session (plan):", len(jobs_dp), "jobs;", sum(len(j["runs"]) for j in jobs_dp), "runs")
# The twenty-fifth session (2026-12-05): the three held-out offline runs still beyond 25% (OLMoE at 2,048 batched
# tokens and 256 sequences, 64 x 2,048/128 and 1,024 x 512/128; DeepSeek-V2-Lite's 1,024 x 512/128), run again on a
# host whose speed hostspeed.py reads at each job's start, each beside the same case at the H200's defaults (OLMoE) as a
# same-host control. Every run held out; the earlier runs stay in the manifest as they are.
jobs_z = [job("olmoe-mnbt2048", "olmoe-1b-7b", "offline", [off(64, 2048, 128, 3), off(1024, 512, 128, 8)],
              {"max_num_batched_tokens": 2048, "max_num_seqs": 256}, "the A100's serving defaults", KNOB_START),
          job("olmoe-offline", "olmoe-1b-7b", "offline", [off(64, 2048, 128, 3), off(1024, 512, 128, 8)]),
          job("dsv2lite-offline", "deepseek-v2-lite", "offline", [off(1024, 512, 128, 8), off(64, 2048, 128, 3)])]
json.dump({"description": "vLLM 0.24.0 on one GPU, issue 22 campaign, twenty-fifth session: the three held-out offline runs beyond 25% "
           "run again at a measured host speed, with OLMoE at the H200's defaults beside them, every run held out, written by make_jobs.py.",
           "jobs": jobs_z}, open(os.path.join(here, "jobs-z.json"), "w"), indent=1)
print("twenty-fifth session:", len(jobs_z), "jobs;", sum(len(j["runs"]) for j in jobs_z), "runs")
# The twenty-sixth session (2026-12-06): pairhost.py's OLMoE under three configurations on one vCPU found its lone
# 1,024-token prompts without CUDA graphs 8-10% cheaper on the host at 2,048 batched tokens than at 8,192 (the execute
# phase 27.7-27.9 ms against 30.5 ms; the sequence limit, 256 or 1,024, changes nothing), which no mechanism in moesim
# gives. Next: the same lone prompt profiled kernel by kernel under both budgets (vllm_bench.py's profile_steps), to see
# whether the compiled forward launches other or more kernels, or makes more calls from Python, when its compile range
# ends at 8,192. The profiler slows the host, so these runs are for counting, not timing: no manifest entry.
# A lone prompt is one step under both budgets: its GPU kernels ("profile_steps") and, in a second run, the engine
# core's host profile around it ("profile": kernel launches and operator calls from Python).
# Three plain lone prompts first: the same step timed without the profiler, on this host, under each budget.
LONE = [off(1, 1024, 2, 2, rid="p1-i1024-" + x) for x in "abc"] + [
    dict(off(1, 1024, 2, 2, rid="k-p1-i1024"), profile_steps=[0, 1]), dict(off(1, 1024, 2, 2, rid="h-p1-i1024"), profile=True)]
jobs_z2 = [dict(job("olmoe-mnbt%d-kernels" % t, "olmoe-1b-7b", "offline", LONE, {"max_num_batched_tokens": t, "max_num_seqs": 1024},
                    "%d batched tokens" % t, KNOB_START), warmup=[off(4, 1024, 2, 1, rid="w-n4-i1024-o2")]) for t in (2048, 8192)]
json.dump({"description": "vLLM 0.24.0 on one GPU, issue 22, twenty-sixth session's plan (not yet run): OLMoE's lone 1,024-token "
           "prompt profiled kernel by kernel at 2,048 and at 8,192 batched tokens, written by make_jobs.py.",
           "jobs": jobs_z2}, open(os.path.join(here, "jobs-z2.json"), "w"), indent=1)
print("twenty-sixth session (plan):", len(jobs_z2), "jobs;", sum(len(j["runs"]) for j in jobs_z2), "runs")
# The thirty-second session (2026-12-06): the eleventh session's MLA grid on an H100, where moesim's MLA decode kernel
# is still an estimate carried from the H200 by bandwidth (profiles/tools/transfer_mla_decode.py). Same windows and
# prompt steps, except 512 x 4,096 (2.1 M tokens of latent cache; an 80 GB H100 holds about 1.44 M for the Lite),
# which becomes 256 x 4,096. Measurements of kernels: neither fit nor held out; the H200-carried estimate is checked
# against them before they replace it.
MLA_GRID_H100 = [mla_window(n, i) for n, lens in ((1, (128, 2048, 8192, 32768)), (8, (512, 4096, 16384)), (32, (512, 2048, 8192)),
                                                (128, (256, 2048, 8192)), (512, (128, 1024)), (256, (4096,))) for i in lens]
jobs_mla100 = [dict(job("dsv2lite-mla-grid", "deepseek-v2-lite", "offline", MLA_GRID_H100 + MLA_PROMPTS), warmup=WARM[:2] + WARM[-1:])]
json.dump({"description": "vLLM 0.24.0 on one H100, issue 22 campaign, thirty-second session: DeepSeek-V2-Lite's MLA kernels over a "
           "grid of decode sequences x context and three prompt steps (runs k-*, profiled: neither fit nor held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_mla100]}, open(os.path.join(here, "jobs-h100-mla.json"), "w"), indent=1)
print("thirty-second session:", len(jobs_mla100), "jobs;", sum(len(j["runs"]) for j in jobs_mla100), "runs")
# Its second call: the grid's 512-sequence curve stopped at 1,052 tokens and 256 sequences had one context, so decode
# batches of 129-512 sequences past about 1,000 tokens of context (which an 80 GB H100 can hold up to about 2,800 at 512)
# would leave the grid; 512 x 2,048 and 512 x 2,560, 256 x 1,024 fill it, and 64 x 8,192 (one context) is a check.
MLA_GRID_H100B = [mla_window(n, i) for n, i in ((512, 2048), (512, 2560), (256, 1024), (64, 8192))]
jobs_mla100b = [dict(job("dsv2lite-mla-grid2", "deepseek-v2-lite", "offline", MLA_GRID_H100B), warmup=WARM[:1])]
json.dump({"description": "vLLM 0.24.0 on one H100, issue 22 campaign, thirty-second session's second call: DeepSeek-V2-Lite's MLA "
           "kernels at more decode batches x contexts (runs k-*, profiled: neither fit nor held out), written by make_jobs.py.",
           "jobs": [dict(j, startup_est_s=j["startup_est_s"] + 30) for j in jobs_mla100b]}, open(os.path.join(here, "jobs-h100-mla2.json"), "w"), indent=1)
print("thirty-second session, second call:", len(jobs_mla100b), "jobs;", sum(len(j["runs"]) for j in jobs_mla100b), "runs")
# The thirty-third session (2026-12-06): a model vLLM and moesim have not met. DeepSeek-V3's architecture (sigmoid
# routing with a correction bias in 8 groups of which 4 are kept, noaux_tc, a query down-projection of rank 1,536, one
# shared expert, three dense layers first) at widths one GPU holds: hidden 2,048, 24 layers, 64 experts of 1,024 top-8,
# 16 MLA heads (experiments/vllm-h200/models/deepseek-v3-small.json; synthetic, random weights as every run here).
# vLLM builds it from DeepSeek-V2-Lite's folder with these keys changed (config_override); moesim reads the merged file.
# Offline at the held-out grid with two profiled windows (k-*, for its kernels), then served. Every run held out.
V3_SMALL = json.load(open(os.path.join(here, "..", "..", "experiments", "vllm-h200", "models", "deepseek-v3-small.json")))
V2_LITE = json.load(open(os.path.join(here, "..", "..", "profiles", "models", "deepseek-v2-lite.json")))["config"]
V3_OVER = {k: v for k, v in V3_SMALL.items() if k not in ("dtype", "torch_dtype") and V2_LITE.get(k) != v}
V3_PROF = [PROF_DECODE[1], PROF_PREFILL[0]]
jobs_v3 = [dict(job("dsv3small-offline", "deepseek-v2-lite", "offline", OFFLINE_HELD + V3_PROF, note="DeepSeek-V3's architecture at one GPU's widths"),
                config_override=V3_OVER),
           dict(job("dsv3small-serve", "deepseek-v2-lite", "serve", SERVE, note="DeepSeek-V3's architecture at one GPU's widths", startup=90),
                config_override=V3_OVER)]
json.dump({"description": "vLLM 0.24.0 on one GPU, issue 22, thirty-third session: a DeepSeek-V3-architecture model at one GPU's "
           "widths (synthetic, experiments/vllm-h200/models/deepseek-v3-small.json), offline and served; every run held out, "
           "written by make_jobs.py before the call.", "jobs": jobs_v3}, open(os.path.join(here, "jobs-v3small.json"), "w"), indent=1)
print("thirty-third session:", len(jobs_v3), "jobs;", sum(len(j["runs"]) for j in jobs_v3), "runs")
# Its second call: the same command in fresh engines on one host, to separate vLLM's own run-to-run spread (the first
# step's draw and the compiles it leads to) from the hosts' (experiments/vllm-h200/repeat_spread.py). OLMoE's held-out
# offline grid in three engines one after another, then Qwen3-30B-A3B served at 25% and 50% load in two. Held out.
REP_SERVE = [r for r in SERVE if r["id"] in ("s-inf-n512", "s-p25", "s-p50")]
jobs_rep = [job("olmoe-offline-rep%d" % k, "olmoe-1b-7b", "offline", OFFLINE_HELD, note="vLLM defaults; a fresh engine, repeat %d" % k)
            for k in (1, 2, 3)] + \
           [job("qwen3-serve-rep%d" % k, "qwen3-30b-a3b", "serve", REP_SERVE, note="vLLM defaults; a fresh engine, repeat %d" % k, startup=80)
            for k in (1, 2)]
json.dump({"description": "vLLM 0.24.0 on one GPU, issue 22, thirty-third session's second call: one command in fresh engines on "
           "one host (OLMoE offline three times, Qwen3-30B-A3B served twice); every run held out, written by make_jobs.py.",
           "jobs": jobs_rep}, open(os.path.join(here, "jobs-repeat.json"), "w"), indent=1)
print("thirty-third session, second call:", len(jobs_rep), "jobs;", sum(len(j["runs"]) for j in jobs_rep), "runs")
# The thirty-fourth session (2026-12-07): gpt-oss's expert GEMMs compile per row tile and Triton specialization
# (StepCostModel.mxfp4Kernels, read from triton_kernels' opt_flags and the twenty-eighth session's logged compile). A
# check held out of it: gpt-oss-20b served in a fresh engine with every Triton JIT compile logged (the sixth session's
# serving grid, whose 4.3 s stalls the rule was read against, on another host), then its offline grid in another;
# last, where the GPU is an H200, the twenty-second session's Mixtral mixed steps profiled (jobs-h200-w.json's job).
jobs_34 = [job("gptoss20b-serve-jit", "gpt-oss-20b", "serve", SERVE, {"jit_monitor_verbose": True},
               "vLLM defaults; every Triton JIT compile logged; a fresh engine"),
           job("gptoss20b-offline-jit", "gpt-oss-20b", "offline", OFFLINE_HELD, {"jit_monitor_verbose": True},
               "vLLM defaults; every Triton JIT compile logged; a fresh engine")] + jobs_w
json.dump({"description": "vLLM 0.24.0 on one GPU, issue 22, thirty-fourth session: gpt-oss-20b served and offline in fresh engines "
           "with every Triton JIT compile logged (a held-out check of the MXFP4 kernels' first-use rule), then, on an H200 only, "
           "Mixtral's mixed steps profiled (jobs-h200-w.json); written by make_jobs.py before the call.",
           "jobs": jobs_34}, open(os.path.join(here, "jobs-34.json"), "w"), indent=1)
print("thirty-fourth session:", len(jobs_34), "jobs;", sum(len(j["runs"]) for j in jobs_34), "runs")
