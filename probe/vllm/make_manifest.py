#!/usr/bin/env python3
"""Builds the moesim manifest of the vLLM 0.24 runs on one H200 (issue 22) from the harness's result files.

  python3 probe/vllm/make_manifest.py probe/results/2026-12-03-h200-vllm [probe/results/2026-12-03-h200-vllm-b ...] \
      experiments/vllm-h200/manifest.json

Several results folders (device sessions) make one manifest: the first keeps its job ids, a later one's ids get the
folder's session tag as a prefix (SESSIONS below).

Three kinds of entry, each with the moesim flags that describe the run:
  offline runs (LLM.generate, every request at once)  -> measured elapsed_time (vllm bench throughput's key);
  serving runs (AsyncLLM, Poisson or capped)            -> measured TTFT, TPOT, ITL, E2EL, request throughput, replayed
                                                           from the result file's own requests (send times, lengths);
  step traces (every busy engine step of a run)         -> each step's time against the model's.
The fit split is declared here (FIT below) and written into the manifest: everything else is held out.
"""
import functools
import glob
import json
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import first_use  # noqa: E402
import stalls  # noqa: E402
from hostcorr_report import rounds_of  # noqa: E402

MODELS = {"olmoe": "olmoe-1b-7b", "mixtral": "mixtral-8x7b", "qwen3": "qwen3-30b-a3b", "qwen15": "qwen1.5-moe-a2.7b",
          "dsv2lite": "deepseek-v2-lite", "llama8b": "llama-3.1-8b", "gptoss20b": "gpt-oss-20b", "gptoss120b": "gpt-oss-120b",
          # DeepSeek-V3's architecture at one GPU's widths, built by vLLM from DeepSeek-V2-Lite's folder (config_override)
          "dsv3small": "deepseek-v2-lite"}

# The fit split. Host costs are the engine's, not the model's, so the fit takes a few runs from jobs measured at
# different times of the session (the host's speed drifted: the same OLMoE decode step's host time fell from 1.33 ms
# in the first call to 0.76 ms in the last, see docs/accuracy.md) and of both model runners vLLM picks by architecture
# (V1: OLMoE, Mixtral; V2: Qwen1.5-MoE), one serving rate and two concurrencies, and one --enforce-eager run; no run
# with a one-off stall (stalls.py). Everything else is held out: every run of Qwen3-30B-A3B and DeepSeek-V2-Lite,
# every run with async scheduling off, with prefix caching off or with an fp8 KV cache, and the other runs of the jobs
# below.
FIT = {
    ("olmoe-offline", "o-n1-i512-o256"), ("olmoe-offline", "o-n16-i512-o256"), ("olmoe-offline", "o-n256-i512-o256"),
    ("olmoe-offline", "o-n256-i128-o512"),
    ("olmoe-serve", "s-p50"), ("olmoe-serve", "s-c16-n64"),
    ("mixtral-offline", "o-n1-i512-o256"), ("mixtral-offline", "o-n64-i512-o256"), ("mixtral-offline", "o-n512-i512-o128"),
    ("mixtral-serve", "s-c16-n64"), ("mixtral-serve", "s-c64-n256"),
    ("olmoe-mnbt2048", "o-n1024-i512-o128"), ("olmoe-mnbt2048", "o-n1-i512-o256"),
    ("qwen15-offline", "o-n16-i512-o256"), ("qwen15-offline", "o-n256-i512-o256"),
    ("olmoe-eager", "o-n1-i512-o256"),
}
# The device call each job ran in (probe/results/.../call*.log): the host got faster from call to call.
CALL = {"olmoe-offline": "call3", "olmoe-serve": "call3", "mixtral-offline": "call3", "mixtral-serve": "call4",
        "qwen3-offline": "call4", "olmoe-sync": "call4", "olmoe-eager": "call5", "dsv2lite-offline": "call5",
        "olmoe-mnbt2048": "call5", "qwen15-offline": "call5", "olmoe-nopc": "call5", "olmoe-kvfp8": "call5"}

SERVE_METRICS = ["median_ttft_ms", "mean_ttft_ms", "mean_tpot_ms", "median_tpot_ms", "mean_itl_ms", "mean_e2el_ms",
                 "request_throughput"]


def knob_flags(engine):
    f = []
    if engine.get("async_scheduling") is False:
        f.append("--no-async-scheduling")
    if engine.get("enforce_eager"):
        f.append("--enforce-eager")
    if "max_num_batched_tokens" in engine:
        f += ["--max-num-batched-tokens", str(engine["max_num_batched_tokens"])]
    if "max_num_seqs" in engine:
        f += ["--max-num-seqs", str(engine["max_num_seqs"])]
    if engine.get("enable_prefix_caching") is False:
        f.append("--no-enable-prefix-caching")
    if engine.get("kv_cache_dtype"):
        f += ["--kv-cache-dtype", engine["kv_cache_dtype"]]
    if engine.get("quantization"):
        f += ["--quantization", engine["quantization"]]
    if engine.get("tensor_parallel_size", 1) > 1:
        f += ["--tensor-parallel-size", str(engine["tensor_parallel_size"])]
    if engine.get("data_parallel_size", 1) > 1:
        f += ["--data-parallel-size", str(engine["data_parallel_size"])]
    if engine.get("enable_expert_parallel"):
        f.append("--enable-expert-parallel")
    if engine.get("enable_chunked_prefill") is False:
        f.append("--no-enable-chunked-prefill")
    if engine.get("performance_mode"):
        f += ["--performance-mode", engine["performance_mode"]]
    if "max_model_len" in engine:
        f += ["--max-model-len", str(engine["max_model_len"])]
    if "gpu_memory_utilization" in engine:
        f += ["--gpu-memory-utilization", str(engine["gpu_memory_utilization"])]
    sizes = (engine.get("compilation_config") or {}).get("cudagraph_capture_sizes")
    if sizes:
        f += ["--max-cudagraph-capture-size", str(max(sizes))]
    return f


# A later device session's folder: its id prefix, the fit split among its runs and how its jobs map to device calls
# (a function of the job: the session's call logs name the jobs each call ran).
SESSIONS = {
    # The second device session (same day, a fresh host). The host's speed was measured before each job (hostspeed.py):
    # 0.037 s at the start, 0.063-0.075 s from the third job on.
    # The fit takes the runs of this session that repeat the first session's fit runs (the same job and run ids: OLMoE
    # offline on the fast host, 0.039 s; Mixtral offline on the slowed one, 0.072 s), so that the host-speed reference
    # and exponent of the vllm profile are fitted across both speeds; every other run of the session is held out.
    "2026-12-03-h200-vllm-b": {"prefix": "b/", "fit": FIT, "fit_skips_stalls": True,
                               "call": {"olmoe-offline": "b1", "llama8b-offline": "b1", "olmoe-fp8": "b1",
                                        "qwen3-serve": "b1", "mixtral-offline": "b2", "qwen15-serve": "b2",
                                        "dsv2lite-serve": "b2"}},
    # The third device session (2026-12-04, a fresh host), each run's host speed measured just before it
    # (vllm_bench.py's "host_speed"). As for the second session, its repeats of the first session's fit runs join the
    # fit split (OLMoE offline and serving, Mixtral serving: the fit had no serving run at a measured host speed, and
    # the host-speed reference and exponent cannot be placed without); every other run of the session is held out.
    "2026-12-04-h200-vllm-c": {"prefix": "c/", "fit": FIT, "fit_skips_stalls": True,
                               "call": {"olmoe-serve": "c1", "qwen15-serve": "c1", "olmoe-offline": "c1",
                                        "dsv2lite-offline": "c2", "qwen3-offline": "c2", "mixtral-serve": "c2"}},
    # The fourth device session (2026-12-04 afternoon, a fresh host): the engine core's speed measured before and after
    # each run. Same rule: its repeats of the first session's fit runs join the fit split (OLMoE offline, OLMoE at
    # 2,048 batched tokens, Mixtral serving); the rest is held out, the slowed host (olmoe-offline-busy), Qwen1.5-MoE
    # without CUDA graphs and DeepSeek-V2-Lite serving among them.
    "2026-12-04-h200-vllm-d": {"prefix": "d/", "fit": FIT, "fit_skips_stalls": True,
                               "call": {"olmoe-offline-busy": "d1", "qwen15-serve": "d1", "mixtral-serve": "d2",
                                        "dsv2lite-serve": "d2", "qwen15-eager": "d2", "olmoe-mnbt2048": "d3",
                                        "olmoe-offline": "d3"}},
    # The fifth device session (2026-12-04, third of the day): graphless steps' host cost per architecture, one lone
    # prompt (one step) per run, OLMoE also at 4 and 32 layers and with 8-32 busy processes beside vLLM per run. The
    # split was declared in its jobs file before the runs were made: g-i1024-s1, g-i2048-s1 and g-i1024-h32-s1 of every
    # job are fitted; the warm-up (w-i2048) and the profiled run (prof-i1024, slowed by the profiler) are neither; the rest
    # is held out. The busy processes differ from run to run here, so each run's host speed is the mean of the
    # measurements taken at its own load.
    "2026-12-04-h200-vllm-e": {"prefix": "e/", "fit_runs": {"g-i1024-s1", "g-i2048-s1", "g-i1024-h32-s1"},
                               "skip_runs": {"w-i2048", "prof-i1024"}, "fit_skips_stalls": True,
                               # A run of one step has no step interval to compare (the step trace's time is the gap
                               # to the next step): its wall time is the comparison.
                               "step_traces": False,
                               # Two hosts: the first was given back idle after call e1, e2 ran on a fresh one.
                               "call": {"olmoe-graphless": "e1", "olmoe-l4-graphless": "e1", "qwen15-graphless": "e1",
                                        "llama8b-graphless": "e1", "dsv2lite-graphless": "e1", "qwen3-graphless": "e2",
                                        "mixtral-graphless": "e2", "olmoe-l32-graphless": "e2"}},
    # The sixth device session (2026-12-04, fourth of the day, one host): gpt-oss-20b on vLLM's MXFP4 path (offline,
    # serving, graphless probes) and the first session's knob runs (2,048 batched tokens, fp8 KV cache, prefix caching
    # off) repeated at a measured host speed. Nothing of it is fitted (declared in probe/vllm/make_jobs.py before it ran).
    "2026-12-04-h200-vllm-f": {"prefix": "f/", "fit_runs": set(), "skip_runs": {"prof-i1024"},
                               "call": {"gptoss20b-offline": "f1", "gptoss20b-serve": "f1", "gptoss20b-graphless": "f2",
                                        "olmoe-mnbt2048": "f2", "olmoe-kvfp8": "f2", "olmoe-nopc": "f2"}},
    # The seventh device session (2026-12-04, fifth of the day, one host): GPU kernel profiles of step windows (runs
    # k-*, slowed by the profiler: neither fit nor held out, read by probe/vllm/kernels.py) and gpt-oss-20b's offline
    # grid and OLMoE's 1,024-request run at 2,048 batched tokens after a warm-up over token-count buckets, all held out.
    "2026-12-04-h200-vllm-g": {"prefix": "g/", "fit_runs": set(),
                               "skip_prefix": "k-",
                               "call": {"gptoss20b-kernels": "g1", "qwen3-kernels": "g1", "olmoe-mnbt2048-kernels": "g1",
                                        "mixtral-kernels": "g2"}},
    # The eighth device session (2026-12-04, sixth of the day): the routing of vLLM's dummy weights, counted per layer
    # with enforce_eager (runs r-*): measurements of routing, not timings, so no manifest entry.
    "2026-12-04-h200-vllm-h": {"prefix": "h/", "fit_runs": set(), "skip_runs": {"r-n512-i512-o32", "r-n64-i512-o64"}, "call": {}},
    # The ninth device session (2026-12-04): the sampler's kernels under greedy and top-k/top-p sampling, profiled
    # (runs k-*): no manifest entry.
    "2026-12-04-h200-vllm-i": {"prefix": "i/", "fit_runs": set(), "skip_prefix": "k-", "call": {"qwen3-sampler": "i1"}},
    # The tenth device session (2026-12-04, evening, one host): DeepSeek-V2-Lite's steps profiled kernel by kernel
    # (runs k-*: no manifest entry), its offline grid after a warm-up and one run at 512 batched tokens, all held out.
    "2026-12-04-h200-vllm-j": {"prefix": "j/", "fit_runs": set(), "skip_prefix": "k-",
                               "call": {"dsv2lite-kernels": "j1", "dsv2lite-mnbt512-kernels": "j1"}},
    # The eleventh and twelfth device sessions profiled kernels only (runs k-*: no manifest entry); the thirteenth
    # (2026-12-04, evening, one host): DeepSeek-V2-Lite's serving grid on a fresh host, every run held out.
    "2026-12-04-h200-vllm-m": {"prefix": "m/", "fit_runs": set(), "call": {"dsv2lite-serve": "m1"}},
    # The fourteenth (2026-12-04, night, one host): 16,384-token steps without CUDA graphs profiled for two prompt
    # lengths (runs k-*: no manifest entry) beside the same offline runs unprofiled, and Llama-3.1-8B's offline grid,
    # every run held out.
    "2026-12-04-h200-vllm-n": {"prefix": "n/", "fit_runs": set(), "skip_prefix": "k-",
                               "call": {"olmoe-prefill-kernels": "n1", "qwen15-prefill-kernels": "n1",
                                        "mixtral-prefill-kernels": "n1", "llama8b-offline": "n2"}},
    # The fifteenth (2026-12-04, night, one host): DeepSeek-V2-Lite and gpt-oss-20b offline, Qwen3-30B-A3B serving,
    # every run held out.
    "2026-12-04-h200-vllm-o": {"prefix": "o/", "fit_runs": set(),
                               "call": {"dsv2lite-offline": "o1", "qwen3-serve": "o1", "gptoss20b-offline": "o2"}},
    # The sixteenth (2026-12-04, late night, three hosts): on the second host, Qwen3-30B-A3B's serving grid again, held
    # out; hostcorr.py's rounds on all three (OLMoE's lone 2,048-token graphless step and a lone 128-token decode, each
    # host's median over its rounds) are fit entries: the fit split's graphless probes came from the fifth session's
    # hosts alone, and these three are more of the hosts the engine's host costs are stated for.
    "2026-12-04-h200-vllm-p": {"prefix": "p/", "fit_runs": set(), "call": {"qwen3-serve": "p1"}, "hostcorr_fit": True},
    # The eighteenth (2026-12-05, one host): the engine settings moesim took up the day before, every run held out
    # (probe/vllm/jobs-h200-q.json): OLMoE offline with chunked prefill off and in the throughput performance mode,
    # OLMoE serving in the interactivity mode, Qwen3-30B-A3B offline at max_model_len 4096 and memory 0.8.
    "2026-12-05-h200-vllm-q": {"prefix": "q/", "fit_runs": set(),
                               "call": {"olmoe-nochunk": "q1", "olmoe-throughput-mode": "q1", "olmoe-interactivity": "q1", "qwen3-maxlen": "q1"}},
    # The twentieth (2026-12-05, one host): Qwen3-30B-A3B's and DeepSeek-V2-Lite's serving grids with the vCPU of each
    # step recorded, Mixtral-8x7B offline after a warm-up and at concurrency 64 (probe/vllm/jobs-h200-s.json, -r.json),
    # then, from a second engine start on the same host, Mixtral's saturated and Poisson serving runs (-s2.json, folder
    # 2026-12-05-h200-vllm-s2). Every run held out.
    "2026-12-05-h200-vllm-s": {"prefix": "s/", "fit_runs": set(),
                               "call": {"qwen3-serve": "s1", "dsv2lite-serve": "s1", "mixtral-offline": "s2", "mixtral-serve": "s2"}},
    "2026-12-05-h200-vllm-s2": {"prefix": "s2/", "fit_runs": set(), "call": {"mixtral-serve": "s3"}},
    # The twenty-first (2026-12-05, one H100 host, the H200s refused): probe/vllm/pairhost.py's models timed in turn with
    # their engine cores on one vCPU (DeepSeek-V2-Lite with OLMoE, then Qwen1.5-MoE with OLMoE), cut into one step
    # trace per model by pairhost_traces.py. Declared before the fit: the DeepSeek-V2-Lite and Qwen1.5-MoE traces are
    # fitted (eager_shared_moe_host_us, eager_grouped_topk_host_us: the two models' MoE layers), the OLMoE traces held
    # out (their steps check the host scale, which no new parameter moves). The profiler jobs (mixprof/) have no entry.
    "2026-12-05-h100-vllm-u": {"prefix": "u/", "fit_runs": set(), "pair_fit": {"deepseek-v2-lite", "qwen1.5-moe-a2.7b"},
                               "call": {"pair-dsv2lite-olmoe": "u1", "pair-qwen15-olmoe": "u2"},
                               # Each model over OLMoE in the same rounds, as ratios (held out; declared 2026-12-06).
                               "pair_ratios": {"pair-dsv2lite-olmoe": [("deepseek-v2-lite", "olmoe-1b-7b", False)],
                                               "pair-qwen15-olmoe": [("qwen1.5-moe-a2.7b", "olmoe-1b-7b", False)]}},
    # The twenty-second (2026-12-05, one H200 host): pairhost.py again, the vCPU's speed read before each model's turn:
    # DeepSeek-V2-Lite, Qwen3-30B-A3B and OLMoE on vCPU 3, then Mixtral-8x7B and OLMoE (Qwen3 did not fit beside
    # them). Every trace held out.
    "2026-12-05-h200-vllm-v": {"prefix": "v/", "fit_runs": set(),
                               "call": {"pair-dsv2lite-qwen3-olmoe": "v1", "pair-mixtral-olmoe": "v2"},
                               "pair_ratios": {"pair-dsv2lite-qwen3-olmoe": [("deepseek-v2-lite", "olmoe-1b-7b", False),
                                                                             ("qwen3-30b-a3b", "olmoe-1b-7b", False)],
                                               "pair-mixtral-olmoe": [("mixtral-8x7b", "olmoe-1b-7b", False)]}},
    # Its last device minutes (2026-12-05, a fresh H100 host): Qwen1.5-MoE and OLMoE on vCPU 5, held out.
    "2026-12-05-h100-vllm-w": {"prefix": "w/", "fit_runs": set(), "call": {"pair-qwen15-olmoe": "w1"},
                               "pair_ratios": {"pair-qwen15-olmoe": [("qwen1.5-moe-a2.7b", "olmoe-1b-7b", False)]}},
    # The twenty-third (2026-12-05, one H100 host, three calls): the published GPUStack gpt-oss cases
    # (experiments/published-deployments) served by vLLM 0.24.0 with the published runs' flags (probe/vllm/jobs-h100-x*.json),
    # gpt-oss-20b's with async scheduling on too, and OLMoE offline at 2,048 batched tokens again. Every run held out.
    "2026-12-05-h100-vllm-x": {"prefix": "x/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                               "call": {"gptoss20b-pub": "x1", "gptoss120b-pub": "x1", "gptoss20b-pub-long": "x2",
                                        "gptoss120b-pub-long": "x2", "gptoss20b-pub-async": "x3", "olmoe-mnbt2048": "x3"}},
    # Its last device minutes (a fresh H100 host): the KV cache at 256 sequences (gpt-oss-20b, Qwen1.5-MoE), one short
    # request each, moesim's sizes written down before the call (probe/results/2026-12-05-h100-vllm-y/README.md).
    "2026-12-05-h100-vllm-y": {"prefix": "y/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                               "call": {"gptoss20b-seqs256": "y1", "qwen15-seqs256": "y1"}},
    # The twenty-sixth (2026-12-06, one H100 host, three calls after the bundle): the three held-out offline runs beyond
    # 25% again with OLMoE's same cases at the H100's defaults beside them (probe/vllm/jobs-z.json, call z1), pairhost.py's
    # OLMoE under three engine configurations on one vCPU (call z2), and jobs-z.json once more on the same host (call z3,
    # folder 2026-12-06-h100-vllm-z2). Every run held out, declared in jobs-z.json before it ran.
    "2026-12-06-h100-vllm-z": {"prefix": "z/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                               "call": {"olmoe-mnbt2048": "z1", "olmoe-offline": "z1", "dsv2lite-offline": "z1",
                                        "pair-olmoe-configs": "z2"},
                               "pair_ratios": {"pair-olmoe-configs": [("olmoe-1b-7b+max_num_seqs=1024", "olmoe-1b-7b+max_num_seqs=256", False),
                                                                      ("olmoe-1b-7b+max_num_seqs=1024+max_num_batched_tokens=8192",
                                                                       "olmoe-1b-7b+max_num_seqs=1024", False)]}},
    "2026-12-06-h100-vllm-z2": {"prefix": "z2/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"olmoe-mnbt2048": "z3", "olmoe-offline": "z3", "dsv2lite-offline": "z3"}},
    # The twenty-seventh (2026-12-06, one H100 host, two calls after the bundle): OLMoE's lone 1,024-token prompt at 2,048
    # and at 8,192 batched tokens (probe/vllm/jobs-z2.json, call aa1: three plain runs each, then one profiled kernel by
    # kernel (k-*) and one with the engine core's host profile (h-*), both slowed by the profiler: no manifest entry),
    # and pairhost.py's OLMoE with and without enforce_eager at both budgets on one vCPU (calls aa2, aa3). Every run
    # held out.
    "2026-12-06-h100-vllm-aa": {"prefix": "aa/", "fit_runs": set(), "gpu": "h100-sxm-80gb", "skip_prefix": "k-",
                                "skip_runs": {"h-p1-i1024"},
                                "call": {"olmoe-mnbt2048-kernels": "aa1", "olmoe-mnbt8192-kernels": "aa1",
                                         "pair-olmoe-eager": "aa2", "pair-olmoe-compiled": "aa3"},
                                # Eager over compiled at the same token budget, as ratios (step_ratio entries): the fit
                                # split of the twenty-seventh session's refit, declared before it ran; the traces
                                # themselves stay held out, so this host's absolute speed enters no fit.
                                "pair_ratios": {"pair-olmoe-compiled": [("olmoe-1b-7b+enforce_eager=true", "olmoe-1b-7b", True),
                                                                        ("olmoe-1b-7b+max_num_batched_tokens=8192", "olmoe-1b-7b", False)],
                                                "pair-olmoe-eager": [("olmoe-1b-7b+enforce_eager=true+max_num_batched_tokens=8192",
                                                                      "olmoe-1b-7b+max_num_batched_tokens=8192", True)]}},
    # Its second host (2026-12-06, a fresh H100, after the bundle's calls): pairhost.py's OLMoE, then Qwen1.5-MoE, each
    # with and without enforce_eager on one vCPU (one call, ab1 and ab2 in turn). Every trace held out.
    "2026-12-06-h100-vllm-ab": {"prefix": "ab/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"pair-olmoe-eager": "ab1", "pair-qwen15-eager": "ab2"},
                                "pair_ratios": {"pair-olmoe-eager": [("olmoe-1b-7b+enforce_eager=true", "olmoe-1b-7b", False)],
                                                "pair-qwen15-eager": [("qwen1.5-moe-a2.7b+enforce_eager=true", "qwen1.5-moe-a2.7b", False)]}},
    # The twenty-eighth session (2026-12-06, a fresh H100): every Triton JIT compile during inference logged with its
    # key (probe/vllm/jobs-jit.json, jit_monitor_verbose), two calls. The runs whose stalls matched a logged fused-MoE
    # compile measured moe_first_use_us (the median stall, profiles/engines/vllm.json) and are fit; the rest held out.
    "2026-12-06-h100-vllm-ac": {"prefix": "ac/", "gpu": "h100-sxm-80gb", "stall_fit": True,
                                "fit": {("dsv2lite-jit", "o-n1024-i512-o128"), ("olmoe-jit", "o-n1024-i512-o128"),
                                        ("olmoe-jit", "o-n64-i512-o256"), ("olmoe-jit-again", "o-n1024-i512-o128"),
                                        ("olmoe-jit-again", "o-n64-i512-o256"), ("qwen3-jit", "o-n1024-i512-o128"),
                                        ("olmoe-eager-jit", "o-n1024-i512-o128"), ("olmoe-eager-jit", "o-n64-i512-o256")},
                                "call": {"qwen3-jit": "ac1", "olmoe-jit": "ac1", "olmoe-jit-again": "ac1", "olmoe-eager-jit": "ac1",
                                         "dsv2lite-jit": "ac2"}},
    # Its second host (a fresh H100, one call): gpt-oss-20b offline with every Triton JIT compile logged. The runs whose
    # stalls matched logged compiles of the MXFP4 routing kernels alone measured mxfp4_routing_first_use_us and are fit;
    # since 2026-12-07 so is the run whose stall also compiled the two expert GEMMs (mxfp4_matmul_first_use_us).
    "2026-12-06-h100-vllm-ac2": {"prefix": "ac2/", "gpu": "h100-sxm-80gb", "stall_fit": True,
                                 "fit": {("gptoss20b-jit", "o-n1-i2048-o16"), ("gptoss20b-jit", "o-n16-i512-o256"),
                                         ("gptoss20b-jit", "o-n256-i512-o256"), ("gptoss20b-jit", "o-n64-i512-o256")},
                                 "call": {"gptoss20b-jit": "ac3"}},
    # The thirtieth session (2026-12-06, a fresh H100, one call after the bundle's): pairs of requests sent to an idle
    # engine delta ms apart (vllm_bench.py's 'pairs' runs) and fresh serving runs, OLMoE and Qwen3-30B-A3B
    # (probe/vllm/jobs-wake.json), after idle_wake_us was measured from the earlier traces. Every run held out.
    "2026-12-06-h100-vllm-ae": {"prefix": "ae/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"olmoe-wake": "ae1", "qwen3-wake": "ae1"}},
    # The thirty-first session (2026-12-06, a fresh H100, two calls after the bundle's): serving workloads of shapes no
    # earlier job ran (2,048-token prompts with 256-token outputs, all at once and Poisson at half that capacity; 128-token
    # prompts with 512-token outputs at 16 and 64 concurrent; 3,072-token prompts with 64-token outputs at 8 concurrent)
    # for OLMoE, Qwen3-30B-A3B, Qwen1.5-MoE and DeepSeek-V2-Lite, and the dense control (Llama-3.1-8B) served
    # (probe/vllm/jobs-shapes.json, jobs-shapes2.json). Every run held out.
    "2026-12-06-h100-vllm-af": {"prefix": "af/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"olmoe-shapes": "af1", "qwen3-shapes": "af1", "llama8b-serve": "af1",
                                         "qwen15-shapes": "af2", "dsv2lite-shapes": "af2", "llama8b-serve2": "af2"}},
    # The thirty-second session (2026-12-06, two H100 hosts): the first host's calls measured DeepSeek-V2-Lite's MLA
    # kernels and three models' decode windows kernel by kernel (runs k-*, no manifest entry) and the fused-MoE shapes;
    # the second host's first call the MLA grid's missing batches (k-*), its second the thirty-first session's
    # jobs-shapes.json again, as far as its budget went (OLMoE and Qwen3-30B-A3B), a repeat on a fresh host. Every run
    # held out.
    "2026-12-06-h100-vllm-ah": {"prefix": "ah/", "fit_runs": set(), "gpu": "h100-sxm-80gb", "skip_prefix": "k-",
                                "call": {"olmoe-shapes": "ah1", "qwen3-shapes": "ah1"}},
    # The thirty-third session (2026-12-06, one H100): a DeepSeek-V3-architecture model at one GPU's widths
    # (jobs-v3small.json: offline with two profiled windows k-*, then served), then one command in fresh engines
    # (jobs-repeat.json: OLMoE offline three times, Qwen3-30B-A3B served twice), both lists run as jobs-33.json.
    # Every run held out.
    "2026-12-06-h100-vllm-ai": {"prefix": "ai/", "fit_runs": set(), "gpu": "h100-sxm-80gb", "skip_prefix": "k-",
                                "call": {"dsv3small-offline": "ai1", "dsv3small-serve": "ai1", "olmoe-offline-rep1": "ai1",
                                         "olmoe-offline-rep2": "ai1", "olmoe-offline-rep3": "ai2", "qwen3-serve-rep1": "ai2",
                                         "qwen3-serve-rep2": "ai2"}},
    # The thirty-fourth session (2026-12-07, one H100, one call after the bundle's): gpt-oss-20b served and offline in
    # fresh engines with every Triton JIT compile logged (jobs-34.json), a check of the MXFP4 kernels' first-use rule
    # held out of it. Every run held out.
    "2026-12-07-h100-vllm-aj": {"prefix": "aj/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"gptoss20b-serve-jit": "aj1", "gptoss20b-offline-jit": "aj1"}},
    # The thirty-fifth session (2026-12-07, one H100): ten engines in a row on one host (jobs-35b/c/d.json), a check
    # of the host-cache rule (host_history) made after it was committed: lone prompts of 1,531 tokens and the offline
    # grid in engines that compiled the model or loaded it. Every run held out.
    "2026-12-07-h100-vllm-ak": {"prefix": "ak/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {j: ("ak1" if j in ("cache-olmoe-a", "cache-olmoe-b", "cache-qwen3-a", "cache-qwen3-b", "cache-olmoe-c") else
                                             "ak2" if "grid" in j else "ak3")
                                         for j in ("cache-olmoe-a", "cache-olmoe-b", "cache-qwen3-a", "cache-qwen3-b", "cache-olmoe-c",
                                                   "cache-olmoe-grid1", "cache-olmoe-grid2", "cache-qwen3-grid",
                                                   "cache-olmoe-mnbt8192-a", "cache-olmoe-mnbt8192-b")}},
    # The thirty-sixth session (2026-12-07, one H100): OLMoE's offline first-step draw on a fresh host
    # (jobs-36.json, jobs-36b.json: 44 short runs in two engines, each run's first step read from its trace), held out
    # of first_step_draw; the wall times joined the manifest in the thirty-seventh session. Every run held out.
    "2026-12-07-h100-vllm-al": {"prefix": "al/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"draw-olmoe": "al1", "draw-olmoe-big": "al2"}},
    # The thirty-seventh session (2026-12-07, one H100): the offline intake (jobs-37.json: OLMoE, 64 to 1,024 requests
    # of 128 to 2,048 prompt tokens and 2 output tokens, prefix caching on and off; jobs-37b.json: the same with
    # Qwen3-30B-A3B), each run's front-end hand-over time recorded. Fit (declared before the fit of request_host_us,
    # request_block_host_us and frontend_request_us): OLMoE's runs without a one-off stall; Qwen3-30B-A3B's held out.
    "2026-12-07-h100-vllm-am": {"prefix": "am/", "fit_runs": set(), "gpu": "h100-sxm-80gb", "fit_skips_stalls": True,
                                "fit": {(j, "o-n%d-i%d-o2-r%d" % (n, i, r)) for j, reps in (("intake-olmoe", 3), ("intake-olmoe-nopc", 2))
                                        for r in range(reps) for n, i in ((1024, 128), (1024, 512), (256, 2048), (256, 512), (256, 128), (64, 2048))},
                                "call": {"intake-olmoe": "am1", "intake-olmoe-nopc": "am1", "intake-qwen3": "am2"}},
    # The thirty-seventh session's second host (2026-12-07, one H100): the offline intake model checked on two models
    # it was not fitted on (jobs-37c.json: Qwen1.5-MoE-A2.7B and DeepSeek-V2-Lite, prefix caching on). Every run held
    # out.
    "2026-12-07-h100-vllm-an": {"prefix": "an/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"intake-qwen15": "an1", "intake-dsv2lite": "an1"}},
    # The thirty-eighth session (2026-12-07, one H100): how vLLM's host costs follow the host's speed (jobs-38.json:
    # Qwen3-30B-A3B and OLMoE-1B-7B, a lone graphless prompt and 64 prompts offline beside 0, 8 and 16 busy
    # processes, and serving). Every run held out; made after the host law's refit of the same day.
    "2026-12-07-h100-vllm-ao": {"prefix": "ao/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "call": {"qwen3-hostx": "ao1", "qwen3-serve": "ao1", "olmoe-hostx": "ao1", "olmoe-serve": "ao1"}},
    # The thirty-ninth session (2026-12-07, one H100, asked for as an H200): the first H200 jobs' grids unchanged
    # (jobs-39.json, jobs-39b.json: Qwen3-30B-A3B served and offline, DeepSeek-V2-Lite and OLMoE offline; Mixtral did
    # not fit the H100). Every run held out; made after the host law's refit.
    "2026-12-07-h100-vllm-ap": {"prefix": "ap/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "job_note": "vLLM defaults on a fresh H100 (the job file, written before the call, asked for an H200; an H100 came), the grid of jobs-h200.json",
                                "call": {"qwen3-serve": "ap1", "qwen3-offline": "ap1", "dsv2lite-offline": "ap2", "olmoe-offline": "ap2"}},
    # The forty-second session (2026-12-08, one H100, asked for as an H200): OLMoE-1B-7B offline behind shared prompt
    # prefixes of 256-3,072 tokens, prefix caching on and off (jobs-40.json, written in the fortieth session; its
    # Qwen3-30B-A3B job did not fit the call's budget). Every run held out; run after shared_kv_read_ratio was chosen
    # to be measured and before it was set.
    "2026-12-08-h100-vllm-aq": {"prefix": "aq/", "fit_runs": set(), "gpu": "h100-sxm-80gb",
                                "job_note": "vLLM defaults on a fresh H100 (the job file, written before the call, asked for an H200; an H100 came), decode behind a shared prompt prefix",
                                "call": {"olmoe-prefix": "aq1", "olmoe-prefix-nopc": "aq1"}},
    # The first vLLM runs on two GPUs (2026-12-04, an nvidia-h200-x2 lease's last four minutes): OLMoE under -tp 2,
    # offline (probe/vllm/jobs-h200x2.json); nothing of it is fitted.
    "2026-12-04-h200x2-vllm": {"prefix": "x2/", "fit_runs": set(), "call": {"olmoe-tp2-offline": "x2a"}},
}
# Models whose routing under vLLM's dummy weights was recorded (experiments/vllm-h200/<model>-dummy-routing.json).
RECORDED_ROUTING = {"mixtral-8x7b", "olmoe-1b-7b", "qwen1.5-moe-a2.7b", "qwen3-30b-a3b"}
# Jobs that ran a model with its config changed (vllm_bench.py's config_override): the same change, for moesim.
MODEL_FILES = {"olmoe-l4-graphless": "models/olmoe-1b-7b-4-layers.json", "olmoe-l32-graphless": "models/olmoe-1b-7b-32-layers.json",
               "dsv3small-offline": "models/deepseek-v3-small.json", "dsv3small-serve": "models/deepseek-v3-small.json"}
# Changed-config jobs whose routing under the dummy weights differs from their base model's (the histogram file's note).
MODEL_ROUTING = {"dsv3small-offline": "deepseek-v3-small", "dsv3small-serve": "deepseek-v3-small"}


def load_of(d):
    """The busy processes beside vLLM during a run (vllm_bench.py's per-run "hogs"; 0 when not recorded)."""
    return int((d.get("host_speed") or {}).get("busy_processes", 0))


def main():
    *results, out = sys.argv[1:]
    base = os.path.dirname(os.path.abspath(out))
    rel = lambda p: os.path.relpath(os.path.abspath(p), base)
    runs = []
    for res in results:
        runs += entries(res, rel)
    write(runs, out, base)


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def deployment(job, model, engine, gpu="h200-sxm-141gb"):
    """moesim's deployment flags for a job of `model` run with vLLM engine arguments `engine` on `gpu` (moesim's GPU
    profile): the model (or the job's changed copy), the GPU, the knobs, and the routing vLLM's dummy weights give that
    model."""
    dep = ["--model", MODEL_FILES.get(job, model), "--gpu", gpu] + knob_flags(engine)
    if job in MODEL_ROUTING:
        # DeepSeek-V3's sigmoid routing with a correction bias: the bias picks the same eight experts for every token.
        return dep + ["--routing", "histogram:%s-dummy-routing.json" % MODEL_ROUTING[job]]
    if model == "deepseek-v2-lite":
        # vLLM's dummy weights route every DeepSeek-V2 token to experts 0-5 (see the histogram file's note).
        dep += ["--routing", "histogram:deepseek-v2-lite-dummy-routing.json"]
    if model in ("gpt-oss-20b", "gpt-oss-120b"):
        # Likewise every gpt-oss token goes to the four experts of largest router bias (the histogram file's note).
        dep += ["--routing", "histogram:%s-dummy-routing.json" % model]
    if model in RECORDED_ROUTING and job not in MODEL_FILES:
        # The other MoE models' routing under the dummy weights, recorded per layer in the eighth session
        # (probe/results/2026-12-04-h200-vllm-h): near uniform for Mixtral, OLMoE and Qwen3-30B-A3B (the most picked
        # expert 1.05-1.42x the uniform share), skewed for Qwen1.5-MoE (up to 4x in its last layers).
        dep += ["--routing", "histogram:%s-dummy-routing.json" % model]
    return dep


def hostcorr_entries(res, rel, sess):
    """probe/vllm/hostcorr.py's rounds (a folder hostcorr-<name>/hostcorr.jsonl per host) as two offline entries per
    host: the lone 2,048-token prompt with one output token (CUDA graphs captured for 1-8 tokens only, so the step runs
    without) and the lone 64-token prompt decoding 128 tokens, each measured as the median over the host's rounds, at
    the geometric mean of every hostspeed.py workload timed during them (this process's and the engine core's)."""
    runs = []
    for name in sorted(os.listdir(res)):
        f = os.path.join(res, name, "hostcorr.jsonl")
        if not name.startswith("hostcorr-") or not os.path.exists(f):
            continue
        meta, rounds = rounds_of(os.path.join(res, name))
        if not rounds:
            continue
        speeds = [r["battery"]["py_small_s"] for r in rounds] + [
            r["engine_core"]["engine_core"]["workload_median_s"] for r in rounds if "engine_core" in r.get("engine_core", {})]
        gm = geomean(speeds)
        # The engine as hostcorr.py started it: vLLM's defaults but the CUDA-graph capture sizes (its settings record).
        engine = {"compilation_config": {"cudagraph_capture_sizes": meta["settings"]["cudagraph_capture_sizes"]}}
        dep = deployment(name, meta["model"], engine) + ["--host-speed", "%.4f" % gm, "--usage-context", "offline"]
        g = statistics.median(x for r in rounds for x in r["g2048_s"])
        d = statistics.median(r["decode128_s"] for r in rounds)
        note = ("%s; the median over %d rounds of probe/vllm/hostcorr.py (%s); host speed %.4f s, the geometric mean of %d "
                "measurements during the rounds (probe/vllm/hostspeed.py)")
        for rid, wl, val, what in (("g-i2048", ["--num-prompts", "1", "--random-input-len", "2048", "--random-output-len", "1"], g,
                                    "a lone 2,048-token prompt, one output token: one graphless prefill step"),
                                   ("d-i64-o128", ["--num-prompts", "1", "--random-input-len", "64", "--random-output-len", "128"], d,
                                    "a lone 64-token prompt decoding 128 tokens")):
            # Rounds on one engine that had long run every size: no first-use compile is left.
            runs.append({"id": "%s%s/%s" % (sess["prefix"], name, rid), "fit": bool(sess.get("hostcorr_fit")),
                         "args": dep + wl + ["--warm-token-counts", "all"],
                         "measured": {"elapsed_time": round(val, 6)}, "note": note % (what, len(rounds), rel(f), gm, len(speeds)),
                         "tags": [sess["call"].get(name, "hostcorr")]})
    return runs


GPU_IDS = {"NVIDIA H100 80GB HBM3": "h100-sxm-80gb", "NVIDIA H200": "h200-sxm-141gb"}


def pairhost_entries(res, rel, sess):
    """probe/vllm/pairhost.py's sessions (a folder per session with pairhost.jsonl and the step traces
    pairhost_traces.py cut, one per model) as one step-trace entry per model, at the geometric mean of every
    hostspeed.py measurement of the session folder's jobs (the same host, minutes apart), or, where the rounds read the
    engine cores' vCPU before each model's turn (vcpu_workload_s, since 2026-12-05), the median of those readings (a
    few of them catch a pause of 0.4-0.7 s, which a geometric mean would carry). experiments/vllm-h200/pair_ratios.py
    compares the models of a session with each other, whatever that reading."""
    runs = []
    speeds = [json.loads(l)["workload_median_s"] for f in sorted(glob.glob(os.path.join(res, "*", "*", "hostspeed.jsonl")))
              for l in open(f) if l.strip()]
    for name in sorted(os.listdir(res)):
        f = os.path.join(res, name, "pairhost.jsonl")
        if not os.path.exists(f):
            continue
        recs = [json.loads(l) for l in open(f) if l.strip()]
        meta = next(r for r in recs if r["kind"] == "meta")
        vcpu = [r[m]["vcpu_workload_s"] for r in recs if r["kind"] == "round" for m in meta["models"] if "vcpu_workload_s" in r.get(m, {})]
        if vcpu:
            speed_s, speed_words = statistics.median(vcpu), "the median of %d readings of hostspeed.py's workload on the engine cores' vCPU, one before each model's turn" % len(vcpu)
        elif speeds:
            speed_s, speed_words = geomean(speeds), "the geometric mean of %d probe/vllm/hostspeed.py measurements on the same host within minutes" % len(speeds)
        else:
            speed_s, speed_words = None, "no host-speed measurement: the reference host"
        gpu = GPU_IDS.get(meta.get("gpu"), "h200-sxm-141gb")
        for model in meta["models"]:
            st = os.path.join(res, name, model + ".steps.json")
            if not os.path.exists(st):
                continue
            # pairhost.py's MODEL+key=value entries carry their engine arguments in the meta record.
            entry = meta.get("engines", {}).get(model, {"model": model, "engine": {}})
            dep = deployment(name, entry["model"], dict({"max_num_batched_tokens": 2048, "max_model_len": 4096}, **entry["engine"]), gpu)
            speed = ["--host-speed", "%.4f" % speed_s] if speed_s else []
            runs.append({"id": "%s%s/%s/steps" % (sess["prefix"], name, model), "fit": model in sess.get("pair_fit", set()),
                         "step_trace": rel(st), "args": dep + speed + ["--usage-context", "offline"],
                         "note": "every engine step of %s's calls in probe/vllm/pairhost.py's rounds (%s), its engine core on vCPU %s "
                                 "beside %s's; host speed %s (%s)" % (
                                     model, rel(f), meta["pin"], " and ".join(m for m in meta["models"] if m != model),
                                     ("%.4f s, " % speed_s if speed_s else "") + speed_words, meta.get("gpu")),
                         "tags": [sess["call"].get(name, "pairhost")]})
        # A session's declared ratios (sess["pair_ratios"]: folder -> [(of, over, fit)]): the graphless steps of one engine
        # over another's in the same rounds, prompts only and mixed, which the vCPU's speed does not move (moesim's
        # step_ratio entries).
        for of, over, fit in sess.get("pair_ratios", {}).get(name, []):
            for kind in ("graphless_prompts", "graphless_mixed"):
                runs.append({"id": "%s%s/%s/over/%s/%s" % (sess["prefix"], name, of, over, kind), "fit": fit,
                             "step_ratio": {"of": "%s%s/%s/steps" % (sess["prefix"], name, of),
                                            "over": "%s%s/%s/steps" % (sess["prefix"], name, over), "steps": kind},
                             "note": "the median %s step of %s over %s's, the two engines taking turns on one vCPU "
                                     "(probe/vllm/pairhost.py, %s)" % (kind.replace("_", " "), of, over, rel(f)),
                             "tags": [sess["call"].get(name, "pairhost"), "ratio"]})
    return runs


def session_of(res):
    """The session a results folder is (SESSIONS; the first session's folder otherwise)."""
    return SESSIONS.get(os.path.basename(os.path.normpath(res)), {"prefix": "", "fit": FIT, "call": CALL})


def job_deployment(job, j, sess):
    """A job folder's model and moesim deployment flags (its runs.json `job` object `j`, on the session's GPU)."""
    # The job's name starts with the model's short name; a job named otherwise (the thirty-fifth session's cache-*)
    # names the model in its definition.
    model = MODELS.get(job.split("-")[0]) or j["model"]
    return model, deployment(job, model, j.get("engine", {}), sess.get("gpu", "h200-sxm-141gb"))


def logged_kv_tokens(log_text):
    """The KV cache size vLLM logged at start-up ("GPU KV cache size: N tokens"), or None."""
    kv = re.search(r"GPU KV cache size: ([0-9,]+) tokens", log_text)
    return int(kv.group(1).replace(",", "")) if kv else None


# What vllm_bench.py's warm-up ran without CUDA graphs before a job's first run (8 prompts of 64 tokens, 8 out: one
# 512-token step, then steps of 8 decodes).
HARNESS_WARMUP_TOKENS = frozenset({512, 8})


@functools.lru_cache(maxsize=None)
def graphless_tokens(jd, rid):
    """The token counts of a run's steps without CUDA graphs (its step trace), as a frozen set; empty without a trace.
    Read once per run: host_history and the entries both ask."""
    f = os.path.join(jd, rid + ".steps.json")
    if not os.path.exists(f):
        return frozenset()
    sd = json.load(open(f))
    col = {c: i for i, c in enumerate(sd["columns"])}
    return frozenset(x[col["tok"]] for x in sd["steps"] if x[col["cg"]] == "NONE" and x[col["tok"]])


def host_history(res):
    """Per job of a results folder (one host): when it started, its model, how its engine started (first_use.engine_start) and
    the token counts its engine ran without CUDA graphs (its steps, the harness's warm-up, its memory profile at the
    token budget and its sampler warm-up), and what decides its fused-MoE kernels besides the model (quantization,
    GPU, TP and DP sizes). Triton keeps what it compiles in a cache on disk, and an engine that
    loaded vLLM's compiled model (torch 2.11: vLLM's AOT artifact, saved by the first engine of that configuration on
    the host) or runs eager finds there the fused-MoE kernels such engines compiled before it, and loads them in
    milliseconds; the engine that compiled the model itself does not share them: its Triton cache is the Inductor
    cache of that compile's own AOT directory, empty when it starts, where the others keep ~/.triton/cache (the engine
    cores' TRITON_CACHE_DIR, probe/results/2026-12-07-h100-vllm-ak, where ten engines in a row bore the rule out).
    Seen in probe/results: olmoe-jit-again (loaded) paid olmoe-jit's (fresh) stalls again and the eager engine after
    them loaded the configurations jit-again had met (2026-12-06-h100-vllm-ac); of three fresh-host repeats of one
    OLMoE job, the second (loaded) paid the first's (fresh) stalls again and the third (loaded) none of the second's
    (2026-12-06-h100-vllm-ai). Over every session's traces (probe/vllm/first_use.py): 15 of the 26 first uses
    without a stall were kernels an earlier loaded or eager engine on the host had compiled, and no stall was lost."""
    hist = {}
    for job in sorted(os.listdir(res)):
        jd = os.path.join(res, job)
        if not os.path.isdir(jd) or not os.path.exists(os.path.join(jd, "runs.json")):
            continue
        meta = json.load(open(os.path.join(jd, "runs.json")))
        dates = [json.load(open(os.path.join(jd, r["id"] + ".json")))["provenance"]["date"] for r in meta["runs"]]
        toks = set(HARNESS_WARMUP_TOKENS)
        prov = json.load(open(os.path.join(jd, meta["runs"][0]["id"] + ".json")))["provenance"] if meta["runs"] else {}
        es = prov.get("engine_settings", {})
        if es.get("max_num_batched_tokens"):
            toks |= {es["max_num_batched_tokens"], min(es.get("max_num_seqs") or 0, es["max_num_batched_tokens"]) or es["max_num_batched_tokens"]}
        for r in meta["runs"]:
            toks |= graphless_tokens(jd, r["id"])
        hist[job] = (min(dates) if dates else "", meta["job"].get("model"), toks, first_use.engine_start(jd),
                     (es.get("quantization") or "", (prov.get("gpu") or [""])[0], es.get("tensor_parallel_size", 1), es.get("data_parallel_size", 1)))
    return hist


def shared_tokens(model, other, toks, gpu):
    """Of the token counts another engine on the host ran without CUDA graphs (`toks`, model `other`), those whose
    fused-MoE kernel is the one `model` compiles at that count: Triton's cache is keyed by the kernel's source,
    configuration (tiles, warps, stages, top_k) and argument specialization, not by the model, so two models of the
    same top-k and configuration share it (probe/vllm/first_use.py's kernel key)."""
    if model == other:
        return set(toks)
    a, b = first_use.MODELS.get(model), first_use.MODELS.get(other)
    if not a or not b or a[2] != b[2]:
        return set()
    return {t for t in toks if first_use.kernel(t, a[0], a[1], a[2], gpu) == first_use.kernel(t, b[0], b[1], b[2], gpu)}


def entries(res, rel):
    sess = session_of(res)
    runs = hostcorr_entries(res, rel, sess) + pairhost_entries(res, rel, sess)
    history = host_history(res)
    for job in sorted(os.listdir(res)):
        jd = os.path.join(res, job)
        if not os.path.isdir(jd) or not os.path.exists(os.path.join(jd, "runs.json")):
            continue
        meta = json.load(open(os.path.join(jd, "runs.json")))
        j = meta["job"]
        model, dep = job_deployment(job, j, sess)
        # The KV cache vLLM allocated (its log), measured once per engine: on the job's first run.
        kv_tokens = logged_kv_tokens(open(os.path.join(jd, "log.txt")).read())
        first = True
        job_stalls = stalls.stalls(jd)
        hs = os.path.join(jd, "hostspeed.jsonl")
        # The host's speed (hostspeed.py's workload, median of its repetitions), one figure per job: the geometric mean
        # of every measurement taken during the job (at its start; from the third session on before each run in the
        # front end; from the fourth on in the engine core before and after each run). A single measurement says
        # little about the speed over a run: the fourth session's before- and after-run figures correlate at 0.12 over
        # 40 runs (the speed moves within seconds), while jobs differ steadily (0.042 s for the third session's
        # Mixtral serving, 0.16 s beside 24 busy processes), so the job's mean is what a run is given.
        results = {r["id"]: json.load(open(os.path.join(jd, r["id"] + ".json"))) for r in meta["runs"]}
        # Runs with busy processes beside vLLM (a per-run load, fifth session) are a job of their own here: the mean is
        # taken over the measurements at the run's load.
        meas = {0: [json.loads(open(hs).readline())["workload_median_s"]]} if os.path.exists(hs) else {}
        for d in results.values():
            hsd = d.get("host_speed") or {}
            meas.setdefault(load_of(d), []).extend(
                x["workload_median_s"] for x in (hsd, hsd.get("engine_core", {}), hsd.get("engine_core_after", {})) if "workload_median_s" in x)
        # Per load: the --host-speed flag and the note's words, made once.
        speeds = {}
        for load, ms_ in meas.items():
            if not ms_:
                continue
            gm = geomean(ms_)
            speeds[load] = (["--host-speed", "%.4f" % gm],
                            "; host speed %.4f s, the geometric mean of %d measurements during the job%s (probe/vllm/hostspeed.py)"
                            % (gm, len(ms_), " at this run's load (%d busy processes)" % load if load else ""))
        # What the engine ran before each run, for vLLM's first-use compiles of its fused MoE (moesim's
        # --warm-token-counts): vllm_bench.py's warm-up (HARNESS_WARMUP_TOKENS), the job's own warm-up runs (not
        # traced: their prompts in steps of the token budget, then their decodes), and the token counts of every step
        # without CUDA graphs of the job's earlier runs.
        warm = set(HARNESS_WARMUP_TOKENS)
        # An engine that did not compile the model itself finds in Triton's cache on disk what the host's earlier such
        # engines compiled (host_history), of its own model or another whose kernel is the same.
        if job in history and history[job][3] != "fresh":
            start, model_id, _, _, engine = history[job]
            for other, (t, m, toks, how, eng) in history.items():
                if other != job and t < start and how != "fresh" and eng == engine:
                    warm |= shared_tokens(model_id, m, toks, engine[1])
        budget = int((j.get("engine") or {}).get("max_num_batched_tokens") or (8192 if j.get("mode") == "serve" else 16384))
        for w in j.get("warmup", []):
            left = int(w["n"]) * int(w["in"])
            while left > 0:
                warm.add(min(left, budget)); left -= budget
            warm.add(int(w["n"]))
        for r in meta["runs"]:
            rid = r["id"]
            before = sorted(warm)
            warm |= graphless_tokens(jd, rid)
            if rid in sess.get("skip_runs", ()) or ("skip_prefix" in sess and rid.startswith(sess["skip_prefix"])):
                continue
            warm_flag = ["--warm-token-counts", ",".join(map(str, before))]
            speed, speed_note = speeds.get(load_of(results[rid]), ([], ""))
            f = os.path.join(jd, rid + ".json")
            d = results[rid]
            # A run with a one-off stall is not fitted: a later session that reuses FIT leaves its stalled repeats out.
            # The first session's FIT was declared and fitted before stalls.py looked at prompt-led and decode-led steps
            # apart (2026-12-05); one of its runs (Qwen1.5-MoE's o-n256-i512-o256: 535 ms at 9,711 tokens) was then seen
            # to hold a stall and is tagged, and stays in the fit the profile was made with.
            fit = ((job, rid) in sess.get("fit", ()) or rid in sess.get("fit_runs", ())) and not (sess.get("fit_skips_stalls") and rid in job_stalls)
            tags = [sess["call"].get(job, "call?")]
            # A session may restate its jobs' notes (where a job file written before the call turned out wrong).
            note = "%s: %s" % (sess.get("job_note", j.get("note", "vLLM defaults")), rel(f)) + speed_note
            if rid in job_stalls:
                tags.append("stall")
                note += "; one-off stall (first use of a kernel configuration): %s" % ", ".join(
                    "%d ms at %d tokens (similar steps %.0f ms)" % x for x in job_stalls[rid])
                assert not fit or sess.get("stall_fit") or (not sess["prefix"] and (job, rid) == ("qwen15-offline", "o-n256-i512-o256")), (job, rid)
            shared_prefix = 0
            if r["kind"] == "offline":
                spec = d["run"]
                args = dep + speed + warm_flag + ["--usage-context", "offline", "--num-prompts", str(spec["n"]), "--random-input-len", str(spec["in"]),
                              "--random-output-len", str(spec["out"])]
                if spec.get("prefix"):
                    args += ["--random-prefix-len", str(spec["prefix"])]
                    # With prefix caching on, the run's decodes read one cached copy of the prefix's whole blocks.
                    if (j.get("engine") or {}).get("enable_prefix_caching") is not False:
                        block = int((j.get("engine") or {}).get("block_size") or 16)
                        shared_prefix = spec["prefix"] // block * block
                measured = {"elapsed_time": round(d["elapsed_time"], 6)}
                if first and kv_tokens:
                    measured["kv_cache_capacity_tokens"] = kv_tokens
                runs.append({"id": "%s%s/%s" % (sess["prefix"], job, rid), "fit": fit, "args": args, "measured": measured, "note": note, "tags": tags})
                usage = ["--usage-context", "offline"]
            else:
                args = dep + speed + warm_flag + ["--trace", rel(f)]
                if d.get("max_concurrency"):
                    args += ["--max-concurrency", str(d["max_concurrency"])]
                measured = {k: round(d[k], 6) for k in SERVE_METRICS if d.get(k)}
                if first and kv_tokens:
                    measured["kv_cache_capacity_tokens"] = kv_tokens
                runs.append({"id": "%s%s/%s" % (sess["prefix"], job, rid), "fit": fit, "args": args, "measured": measured, "note": note, "tags": tags})
                usage = []
            first = False

            st = os.path.join(jd, rid + ".steps.json")
            # A lone graphless prompt (a -graphless job's, or a run "g-..." of another job) is one step: no trace to compare.
            if os.path.exists(st) and sess.get("step_traces", True) and not job.endswith("-graphless") and not rid.startswith("g-"):
                runs.append({"id": "%s%s/%s/steps" % (sess["prefix"], job, rid), "fit": fit, "step_trace": rel(st), "args": dep + speed + usage,
                             "note": "every busy engine step of the run above", "tags": tags})
                if shared_prefix:
                    runs[-1]["decode_shared_prefix"] = shared_prefix
    return runs


def write(runs, out, base):
    m = {"version": 1,
         "description": "vLLM 0.24.0 on one H200 (2026-12-03, random weights): offline LLM.generate runs, AsyncLLM serving runs and "
                        "their step traces, measured by probe/vllm (see probe/results/2026-12-03-h200-vllm). Fit split (FIT in "
                        "probe/vllm/make_manifest.py): 16 runs of OLMoE-1B-7B, Mixtral-8x7B and Qwen1.5-MoE-A2.7B across the "
                        "session's three device calls, both model runners, one serving rate, two concurrencies and one "
                        "--enforce-eager run; everything else is held out, every run of Qwen3-30B-A3B and DeepSeek-V2-Lite and "
                        "every run with async scheduling off, prefix caching off or an fp8 KV cache among them. Tags: the device "
                        "call (call3-call5; the host got faster from call to call) and 'stall' (a one-off first-use stall, "
                        "probe/vllm/stalls.py). Entries whose id starts with 'b/' come from a second device session on a fresh host "
                        "(probe/results/2026-12-03-h200-vllm-b, tags b1-b2): its repeats of the first session's fit runs are fitted too (the "
                        "host-speed reference and exponent need runs at a measured speed), the rest held out, among them a dense control "
                        "(Llama-3.1-8B), online fp8 weights and serving for Qwen3-30B-A3B and Qwen1.5-MoE-A2.7B. Entries whose id starts "
                        "with 'c/' come from a third session (2026-12-04, probe/results/2026-12-04-h200-vllm-c, tags c1-c2): its repeats of the "
                        "first session's fit runs are fitted too, the rest held out. Entries whose id starts with 'd/' come from a fourth session "
                        "(2026-12-04 afternoon, probe/results/2026-12-04-h200-vllm-d, tags d1-d3), split by the same rule; it measured the host's "
                        "speed in the engine core before and after each run and includes a deliberately slowed host (24 busy processes). "
                        "Entries whose id starts with 'e/' come from a fifth session (2026-12-04, probe/results/2026-12-04-h200-vllm-e, tags e1-e2): "
                        "lone prompts of one graphless step each on eight engines (OLMoE also at 4 and 32 layers and beside 8-32 busy processes), "
                        "its fit runs (g-i1024-s1, g-i2048-s1, g-i1024-h32-s1) declared in probe/vllm/jobs-h200-e.json before it ran. "
                        "Entries whose id starts with 'f/' come from a sixth session (2026-12-04, probe/results/2026-12-04-h200-vllm-f, tags f1-f2): "
                        "gpt-oss-20b (MXFP4 experts) offline, serving and graphless, and the first session's knob runs at a measured host speed; "
                        "all held out. Entries whose id starts with 'g/' come from a seventh session (2026-12-04, probe/results/2026-12-04-h200-vllm-g, "
                        "tag g1): gpt-oss-20b's offline grid after a warm-up and OLMoE's 1,024-request run at 2,048 batched tokens, all held out "
                        "(the session's kernel-profiled runs are left out). The MoE models' --routing histograms are vLLM's dummy weights' "
                        "routing: recorded per layer for Mixtral, OLMoE, Qwen1.5-MoE and Qwen3-30B-A3B (probe/results/2026-12-04-h200-vllm-h), "
                        "derived from vLLM's code for DeepSeek-V2-Lite and gpt-oss-20b. Entries whose id starts with 'x2/' are the first vLLM runs on two H200s (OLMoE under -tp 2, offline, "
                        "probe/results/2026-12-04-h200x2-vllm, tag x2a), all held out. "
                        "Entries whose id starts with 'p/' come from a sixteenth session (2026-12-04, probe/results/2026-12-04-h200-vllm-p): "
                        "Qwen3-30B-A3B's serving grid (tag p1, held out) and, from probe/vllm/hostcorr.py's rounds on three hosts, OLMoE's lone "
                        "2,048-token graphless step and lone 128-token decode per host (fitted, declared in make_manifest.py before the fit). "
                        "Entries whose id starts with 'q/' come from an eighteenth session (2026-12-05, probe/results/2026-12-05-h200-vllm-q, "
                        "tag q1): OLMoE offline with chunked prefill off and in the throughput performance mode, OLMoE serving in the "
                        "interactivity mode, Qwen3-30B-A3B offline at max_model_len 4096 and memory utilization 0.8, all held out. "
                        "Entries whose id starts with 's/' or 's2/' come from a twentieth session (2026-12-05, probe/results/2026-12-05-h200-vllm-s and -s2, "
                        "tags s1-s3): Qwen3-30B-A3B's and DeepSeek-V2-Lite's serving grids with the engine core's vCPU recorded at every step, "
                        "Mixtral-8x7B offline after a warm-up and serving, all held out. "
                        "Entries whose id starts with 'u/' come from a twenty-first session (2026-12-05, one H100, probe/results/2026-12-05-h100-vllm-u, "
                        "tags u1-u2): probe/vllm/pairhost.py's step traces of models timed in turn on one vCPU; DeepSeek-V2-Lite's and "
                        "Qwen1.5-MoE's are fitted (their MoE layers' host cost), OLMoE's held out. "
                        "Entries whose id starts with 'v/' come from a twenty-second session (2026-12-05, one H200, probe/results/2026-12-05-h200-vllm-v, "
                        "tags v1-v2): pairhost.py's step traces of DeepSeek-V2-Lite, Qwen3-30B-A3B and OLMoE on one vCPU, then Mixtral-8x7B and "
                        "OLMoE, all held out (experiments/vllm-h200/pair_ratios.py compares the models of a session); 'w/' entries, from the "
                        "same session's last minutes on a fresh H100 (probe/results/2026-12-05-h100-vllm-w, tag w1): Qwen1.5-MoE and OLMoE, held out. "
                        "Entries whose id starts with 'x/' come from a twenty-third session (2026-12-05, one H100, probe/results/2026-12-05-h100-vllm-x, "
                        "tags x1-x3): the published GPUStack gpt-oss-20b and gpt-oss-120b cases served with the published runs' flags, and OLMoE "
                        "offline at 2,048 batched tokens, all held out; 'y/' entries, its last minutes on a fresh H100 (tag y1): the KV cache "
                        "at 256 sequences, one short request each, held out. "
                        "Entries whose id starts with 'z/' or 'z2/' come from a twenty-sixth session (2026-12-06, one H100, "
                        "probe/results/2026-12-06-h100-vllm-z and -z2, tags z1-z3): OLMoE offline at 2,048 batched tokens and 256 "
                        "sequences and at the H100's defaults, DeepSeek-V2-Lite offline, twice on one host, and pairhost.py's OLMoE "
                        "under three engine configurations on one vCPU, all held out. "
                        "Entries whose id starts with 'aa/' come from a twenty-seventh session (2026-12-06, one H100, "
                        "probe/results/2026-12-06-h100-vllm-aa, tags aa1-aa3): OLMoE's lone 1,024-token prompt at 2,048 and 8,192 "
                        "batched tokens, and pairhost.py's OLMoE with and without enforce_eager at both budgets on one vCPU, all held out; "
                        "'ab/' entries, its second H100 host (probe/results/2026-12-06-h100-vllm-ab, tags ab1-ab2): pairhost.py's OLMoE and "
                        "Qwen1.5-MoE, each with and without enforce_eager on one vCPU, held out. "
                        "Entries whose id starts with 'ac/' come from a twenty-eighth session (2026-12-06, one H100, "
                        "probe/results/2026-12-06-h100-vllm-ac, tags ac1-ac2): OLMoE (twice, and with enforce_eager), Qwen3-30B-A3B "
                        "and DeepSeek-V2-Lite offline with every Triton JIT compile logged; the runs whose stalls measured "
                        "moe_first_use_us are fit, the rest held out; 'ac2/' entries, its second H100 host (tag ac3): gpt-oss-20b the "
                        "same way, the runs whose stalls measured mxfp4_routing_first_use_us fit. "
                        "Every offline and serving run carries --warm-token-counts: what its engine ran before it (vllm_bench.py's "
                        "warm-up, the job's warm-up runs and the steps without CUDA graphs of the job's earlier runs; for an enforce_eager job also "
                        "those of the host's earlier jobs of the model, whose kernels it finds in Triton's cache on disk). "
                        "Runs of the later sessions carry --host-speed: their job's geometric mean of every probe/vllm/hostspeed.py measurement "
                        "taken during the job (at the run's load where busy processes were added per run); the first session's runs have none "
                        "and are taken at the reference host. "
                        "Written by probe/vllm/make_manifest.py.",
         "runs": runs}
    os.makedirs(base, exist_ok=True)
    with open(out, "w") as fh:
        json.dump(m, fh, indent=1)
    print("%d entries (%d fit) -> %s" % (len(runs), sum(1 for r in runs if r["fit"]), out))


if __name__ == "__main__":
    main()
