#!/usr/bin/env python3
"""Checks moesim's first-use rule against the stalls of real vLLM step traces: for each job folder (one engine), which
steps without CUDA graphs met a Triton fused-MoE kernel (bf16 experts) that start-up and the job's earlier steps had not
compiled, and which steps probe/vllm/stalls.py found stalled. The rule is VLLMSimulator.FirstUse's, written again here
over the trace's own step sizes (so that the engine's scheduling does not enter): the kernel a step of t tokens runs
is its configuration (vLLM 0.24's tuned file for the model's experts on the GPU at the nearest token count, from
profiles/kernels/vllm-0.24.0-fused-moe-block-m.json's "kernels", else get_default_config's rule) and Triton's
specialization of num_valid_tokens and EM (1, a multiple of 16, or neither); start-up ran the memory profile at the
token budget, every CUDA-graph capture size and a warm-up (the first model runner: one forward of min(max_num_seqs,
budget) tokens; the second: 2 tokens for each of min(max_num_seqs, budget / 2) requests, then a decode of them), and
probe/vllm/vllm_bench.py a warm-up of 8 prompts of 64 tokens.

  python3 probe/vllm/first_use.py [--per-job] probe/results/2026-12-04-h200-vllm-c [...more session folders]

Prints each job's predicted first uses (run, tokens, the step's time) and the stalls it did not predict, then the
counts: stalls predicted (a first use at a stalled step), first uses without a stall, stalls without a first use.
gpt-oss's MXFP4 experts run OpenAI's triton_kernels instead: its routing kernels and two expert GEMMs compile per
shape (mxfp4_kernels, StepCostModel.mxfp4Kernels' rule), and each first use says which compiled. Jobs of other
models (the dense control), of TP, DP or other quantized experts are left out, and so are runs profiled kernel by
kernel (k-*), whose profiler stalls steps of its own.

The jobs of one folder ran on one host, in order: an engine that loaded vLLM's compiled model (its AOT artifact) or
runs eager also finds the kernels earlier such engines on the host compiled (Triton's cache on disk, keyed by the
kernel, not the model); an engine that compiled the model itself keeps its Triton cache apart and finds none
(make_manifest.host_history). `--per-job` checks each engine alone instead.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stalls  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = json.load(open(os.path.join(HERE, "..", "..", "profiles", "kernels", "vllm-0.24.0-fused-moe-block-m.json")))
# experts, expert width (N), top-k and whether vLLM 0.24 runs the model with its second model runner
MODELS = {"olmoe-1b-7b": (64, 1024, 8, False), "mixtral-8x7b": (8, 14336, 2, False), "qwen1.5-moe-a2.7b": (60, 1408, 4, True),
          "qwen3-30b-a3b": (128, 768, 8, False), "deepseek-v2-lite": (64, 1408, 6, True)}
DEVICES = {"H200": "NVIDIA_H200", "H100": "NVIDIA_H100_80GB_HBM3"}


def default_config(t, experts):
    bm = 16 if t <= 32 else 32 if t <= 96 else 64 if t <= 512 else 128
    return ("default", bm, 64 if t <= 64 else 128, 128 if t <= 64 else 64, 16 if t // max(experts, 1) > 128 else 1,
            4 if t <= 128 else 8, 4 if t <= 32 else 3), bm


def kernel(t, experts, width, topk, gpu):
    dev = next((v for k, v in DEVICES.items() if k in gpu), None)
    shape = "E=%d,N=%d" % (experts, width)
    tuned = KERNELS.get("kernels", {}).get(dev, {}).get(shape)
    if tuned:
        keys = sorted(int(k) for k in tuned)
        best = keys[0]
        for k in keys[1:]:
            if abs(k - t) < abs(best - t):
                best = k
        config, bm = tuned[str(best)], KERNELS["configs"][dev][shape][str(best)]
    else:
        config, bm = default_config(t, experts)
    spec = lambda x: "1" if x == 1 else "D" if x % 16 == 0 else "-"
    rows = t * topk
    naive = rows * 4 <= experts
    if naive:
        em1 = em2 = rows * bm
    else:
        em = rows + experts * (bm - 1)
        if rows < experts:
            em = min(rows * bm, em)
        em1 = min(em, rows * bm) if t < bm else em
        em2 = min(em, rows * bm) if rows < bm else em
    return (config, naive, spec(rows), spec(em1), spec(em2))


# gpt-oss's MXFP4 experts (vLLM 0.24's Triton backend, OpenAI's triton_kernels): experts and top-k.
MXFP4_MODELS = {"gpt-oss-20b": (32, 4), "gpt-oss-120b": (128, 4)}


def mxfp4_kernels(t, experts, topk):
    """The Triton kernels of gpt-oss's MXFP4 experts a step of t tokens runs that compile per shape, as
    StepCostModel.mxfp4Kernels has them: the routing kernels (_topk_forward, _sum_bitmatrix_rows) for the count rounded
    up to 32 and Triton's specialization of the count; matmul_ogs's two GEMMs for their row tile (opt_flags on Hopper:
    max(16, min(next_pow2(rows // experts), 128)) for rows = t x top-k) and the specialization of the first's token
    count, the second's row count and both grids' m (RoutingData.n_blocks)."""
    spec = lambda x: "1" if x == 1 else "D" if x % 16 == 0 else "-"
    rows = t * topk
    bm = 16
    while bm < 128 and bm < max(1, rows // experts):
        bm *= 2
    grid = rows if rows <= experts else -(-(rows - experts + 1) // bm) + experts - 1
    return {("routing", -(-t // 32) * 32, spec(t)), ("gemm1", bm, spec(t), spec(grid)), ("gemm2", bm, spec(rows), spec(grid))}


def engine_start(jd):
    """'fresh' (the engine compiled the model: vLLM's torch.compile saved its AOT artifact; also where the log says
    neither), 'loaded' (it loaded one an earlier engine on the host saved: "Directly load AOT compilation") or 'eager'
    (--enforce-eager, nothing compiled), from the job's log."""
    log = os.path.join(jd, "log.txt")
    text = open(log).read() if os.path.exists(log) else ""
    return "loaded" if "Directly load AOT compilation" in text else "eager" if "enforce_eager=True" in text else "fresh"


def started(jd):
    """When the job's engine started (its runs' provenance date), for the host's order of jobs."""
    runs = [r for r in sorted(glob.glob(os.path.join(jd, "*.steps.json"))) if os.path.exists(r.replace(".steps.json", ".json"))]
    return json.load(open(runs[0].replace(".steps.json", ".json")))["provenance"]["date"] if runs else ""


def check(jd, shared=None):
    """The job's predicted first uses and measured stalls. `shared`: the kernels earlier engines on the host that did
    not compile the model themselves (loaded or eager) compiled, which Triton's cache on disk holds for this engine if
    it too is loaded or eager; the kernels this engine compiled are added to it likewise."""
    runs = sorted(glob.glob(os.path.join(jd, "*.steps.json")))
    if not runs or not os.path.exists(os.path.join(jd, "runs.json")):
        return None
    prov = json.load(open(runs[0].replace(".steps.json", ".json")))["provenance"]
    es = prov["engine_settings"]
    mxfp4 = prov["model"] in MXFP4_MODELS
    if (prov["model"] not in MODELS or es.get("quantization")) and not mxfp4 or es.get("tensor_parallel_size", 1) > 1 \
            or es.get("data_parallel_size", 1) > 1:
        return None
    gpu = prov["gpu"][0]
    if mxfp4:
        experts, topk = MXFP4_MODELS[prov["model"]]
        kernels = lambda t: {(("mxfp4", experts, topk), k) for k in mxfp4_kernels(t, experts, topk)}
    else:
        experts, width, topk, _ = MODELS[prov["model"]]
        # Triton's cache key: the kernel's configuration and specialization, and top_k (a constexpr), not the model
        kernels = lambda t: {(("fused_moe", topk), kernel(t, experts, width, topk, gpu))}
    budget, seqs = es["max_num_batched_tokens"], es["max_num_seqs"]
    sizes = [budget] + list(es.get("cudagraph_capture_sizes") or []) + [512] + list(range(1, 9))
    if es.get("use_v2_model_runner"):
        reqs = min(seqs, budget // 2)
        sizes += [2 * reqs, reqs]
    else:
        sizes.append(min(seqs, budget))
    warm = set().union(*(kernels(t) for t in sizes))
    sharing = shared is not None and engine_start(jd) != "fresh"
    if sharing:
        warm |= shared
    names = [os.path.basename(r)[:-len(".steps.json")] for r in runs]
    names.sort(key=lambda n: json.load(open(os.path.join(jd, n + ".json"))).get("t_start_monotonic") or 0)
    predicted = []
    for n in names:
        d = json.load(open(os.path.join(jd, n + ".steps.json")))
        col = {c: i for i, c in enumerate(d["columns"])}
        for r in d["steps"]:
            if r[col["cg"]] != "NONE" or not r[col["tok"]]:
                continue
            new = kernels(r[col["tok"]]) - warm
            if new:
                warm |= new
                what = "+".join(sorted(k[1][0] for k in new)) if mxfp4 else "fused MoE"
                predicted.append((n, r[col["tok"]], round(r[col["interval"]] or r[col["exec"]] or 0), what))
    if sharing:
        shared |= warm
    found = {(n, tok) for n, v in stalls.stalls(jd).items() for (_, tok, _) in v}
    return predicted, found


def host_checks(folder, per_job=False):
    """check() of each job of a results folder (one host) in the order the engines started, carrying the host's
    Triton cache from job to job (each engine alone with per_job): (job folder, predicted first uses, stalls)."""
    shared = set()
    for jd in sorted(glob.glob(os.path.join(folder, "*/")), key=lambda d: (started(d.rstrip("/")), d)):
        res = check(jd.rstrip("/"), None if per_job else shared)
        if res:
            yield (jd.rstrip("/"),) + res


def main(folders, per_job=False):
    hit = miss = unexplained = 0
    for folder in folders:
        for jd, predicted, found in host_checks(folder, per_job):
            predicted = [p for p in predicted if not p[0].startswith("k-")]
            found = {f for f in found if not f[0].startswith("k-")}
            pset = {(n, t) for n, t, _, _ in predicted}
            h = len(pset & found)
            hit += h; miss += len(pset - found); unexplained += len(found - pset)
            if predicted or found:
                print("%s: first uses %s; stalls not predicted %s" % (os.path.relpath(jd), [("%s %d tokens %d ms (%s)" % p) for p in predicted],
                                                                    sorted(found - pset)))
    print("stalls at a predicted first use: %d; first uses without a stall: %d; stalls without a first use: %d" % (hit, miss, unexplained))


if __name__ == "__main__":
    args = sys.argv[1:]
    main([a for a in args if a != "--per-job"], per_job="--per-job" in args)
