#!/usr/bin/env python3
"""How long Triton takes to compile vLLM's fused-MoE kernel (bf16 experts) for each configuration a run can meet:
the one-off wait of an engine step that needs a configuration start-up did not compile (moesim's first-use stall).

For each expert shape (hidden, moe intermediate, top-k, experts) and each distinct configuration of vLLM's tuned file
for the H200 and the H100 (vllm/model_executor/layers/fused_moe/configs), and of get_default_config at a few token
counts, the configuration is forced (fused_moe.override_config) and fused_experts is called twice at M tokens: the
first call's time less the second's is the compile of the layer's two kernels (the gate/up GEMM and the down GEMM).
Then again at M - 1 tokens: Triton specializes the integer arguments (num_valid_tokens = M x top-k and the padded
length EM) on divisibility by 16, so an odd count compiles both kernels once more. Triton's cache is a fresh folder
(TRITON_CACHE_DIR, set before torch is imported), so nothing is loaded from an earlier compile.

  PYTHONPATH=/root/vsite python3 probe/vllm/moe_compile.py --out moe-compile.json [--budget 300]

Each shape runs in a process of its own, with its own fresh cache: two shapes whose kernels share every compile-time
argument (the down GEMM of any shape under one configuration, or OLMoE's and Qwen3's kernels, both top-8) would
otherwise find the kernel compiled by the shape before.

Host speed (probe/vllm/hostspeed.py's workload) is measured before and after: a compile is host work.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# name, hidden, moe intermediate, top-k, experts
SHAPES = [("mixtral-8x7b", 4096, 14336, 2, 8), ("qwen3-30b-a3b", 2048, 768, 8, 128), ("olmoe-1b-7b", 2048, 1024, 8, 64),
          ("deepseek-v2-lite", 2048, 1408, 6, 64), ("qwen1.5-moe-a2.7b", 2048, 1408, 4, 60)]
DEVICES = ["NVIDIA_H200", "NVIDIA_H100_80GB_HBM3"]
DEFAULT_M = [16, 48, 80, 128, 256, 1024, 8192]
KEYS = ["BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps", "num_stages"]


def hostspeed(here):
    p = subprocess.run([sys.executable, os.path.join(here, "hostspeed.py"), "--seconds", "5"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if "workload_geomean_s" in line:
            return line.strip()
    return p.stdout.strip()[-300:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=300)
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--shape", default="", help="one shape's name (a child process); default: every shape, each in its own process")
    a = ap.parse_args()
    t_start = time.time()
    here = os.path.dirname(os.path.abspath(__file__))
    if not a.shape:
        merged = None
        for shape in SHAPES:
            left = a.budget - (time.time() - t_start)
            if left < 30:
                print("[moe_compile] out of time before %s" % shape[0], flush=True)
                break
            part = a.out + "." + shape[0]
            subprocess.run([sys.executable, os.path.abspath(__file__), "--out", part, "--budget", str(left), "--tokens", str(a.tokens), "--shape", shape[0]])
            if not os.path.exists(part):
                continue
            d = json.load(open(part))
            if merged is None:
                merged = d
            else:
                merged["rows"] += d["rows"]
                merged.setdefault("hostspeed_during", []).append(d["hostspeed_before"])
                merged["hostspeed_after"] = d["hostspeed_after"]
            os.remove(part)
        if merged:
            merged["elapsed_s"] = round(time.time() - t_start, 1)
            json.dump(merged, open(a.out, "w"), indent=1)
        return
    cache = tempfile.mkdtemp(prefix="triton-fresh-")
    os.environ["TRITON_CACHE_DIR"] = cache
    speed_before = hostspeed(here)
    import torch
    import triton
    import vllm
    from vllm.model_executor.layers import fused_moe as fm
    from vllm.model_executor.layers.fused_moe import fused_experts, override_config
    from vllm.model_executor.layers.fused_moe.fused_moe import get_default_config
    cfg_dir = os.path.join(os.path.dirname(fm.__file__), "configs")
    dev = "cuda:0"
    torch.cuda.set_device(dev)
    cpu = ""
    try:
        cpu = [l for l in open("/proc/cpuinfo") if l.startswith("model name")][0].split(":", 1)[1].strip()
    except Exception:
        pass
    out = {"what": "Triton compile time of vLLM's fused_moe_kernel (bf16), both GEMMs of one fused_experts call: the first call's "
                   "time less the second's, per forced configuration (probe/vllm/moe_compile.py), fresh TRITON_CACHE_DIR",
           "vllm": vllm.__version__, "torch": torch.__version__, "triton": triton.__version__, "gpu": torch.cuda.get_device_name(dev),
           "cpu": cpu, "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "hostspeed_before": speed_before, "rows": []}

    def timed(x, w1, w2, w, ids):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fused_experts(x, w1, w2, w, ids)
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1e3

    # One-time work of the first fused_experts call (CUDA context, the routing and activation ops' loads) outside the
    # rows: a small shape under a configuration no tuned file or default uses (32 x 32 x 32 tiles, 2 warps, 1 stage).
    xw = torch.randn(64, 256, device=dev, dtype=torch.bfloat16)
    with override_config({"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 1, "num_warps": 2, "num_stages": 1, "SPLIT_K": 1}):
        out["warmup_ms"] = round(timed(xw, torch.randn(4, 256, 256, device=dev, dtype=torch.bfloat16), torch.randn(4, 256, 128, device=dev, dtype=torch.bfloat16),
                                       torch.rand(64, 2, device=dev, dtype=torch.float32), torch.randint(0, 4, (64, 2), device=dev, dtype=torch.int32)), 1)
    for (name, hidden, inter, topk, experts) in [x for x in SHAPES if x[0] == a.shape]:
        if time.time() - t_start > a.budget:
            print("[moe_compile] out of time before %s" % name, flush=True)
            break
        w1 = torch.randn(experts, 2 * inter, hidden, device=dev, dtype=torch.bfloat16) * 0.02
        w2 = torch.randn(experts, hidden, inter, device=dev, dtype=torch.bfloat16) * 0.02
        configs = []  # (source, config)
        for d in DEVICES:
            f = os.path.join(cfg_dir, "E=%d,N=%d,device_name=%s.json" % (experts, inter, d))
            if os.path.exists(f):
                tuned = json.load(open(f))
                for m, c in sorted(tuned.items(), key=lambda kv: int(kv[0])):
                    configs.append(("%s tuned, key %s" % (d, m), {k: c[k] for k in KEYS}))
        for m in DEFAULT_M:
            c = get_default_config(m, experts, inter, hidden, topk, None, None)
            configs.append(("get_default_config M=%d" % m, {k: c[k] for k in KEYS}))
        seen = {}
        for source, c in configs:
            key = ",".join("%s=%d" % (k, c[k]) for k in KEYS)
            if key in seen:
                seen[key]["sources"].append(source)
                continue
            if time.time() - t_start > a.budget:
                break
            row = {"shape": name, "hidden": hidden, "inter": inter, "topk": topk, "experts": experts, "config": c, "key": key, "sources": [source]}
            for label, m in (("even", a.tokens), ("odd", a.tokens - 1)):
                x = torch.randn(m, hidden, device=dev, dtype=torch.bfloat16)
                ids = torch.randint(0, experts, (m, topk), device=dev, dtype=torch.int32)
                w = torch.rand(m, topk, device=dev, dtype=torch.float32)
                with override_config(dict(c, SPLIT_K=1)):
                    first = timed(x, w1, w2, w, ids)
                    second = timed(x, w1, w2, w, ids)
                    third = timed(x, w1, w2, w, ids)
                row[label] = {"tokens": m, "first_ms": round(first, 3), "steady_ms": round(min(second, third), 3),
                              "compile_ms": round(first - min(second, third), 3)}
            print("[moe_compile] %s %s: even %.0f ms, odd %.0f ms (%s)" % (name, key, row["even"]["compile_ms"], row["odd"]["compile_ms"], source), flush=True)
            seen[key] = row
            out["rows"].append(row)
        del w1, w2
        torch.cuda.empty_cache()
    out["hostspeed_after"] = hostspeed(here)
    out["elapsed_s"] = round(time.time() - t_start, 1)
    json.dump(out, open(a.out, "w"), indent=1)
    print("[moe_compile] %d configurations in %.0f s" % (len(out["rows"]), time.time() - t_start), flush=True)


if __name__ == "__main__":
    main()
