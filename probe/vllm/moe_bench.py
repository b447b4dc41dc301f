#!/usr/bin/env python3
"""Times vLLM's fused-MoE kernel (vllm.model_executor.layers.fused_moe.fused_experts, bf16, one GPU, no EP/TP) for
expert shapes the imported AIConfigurator tables lack, the way those tables were collected (balanced routing: token t's
i-th expert is (t + i * stride) mod E with stride = ceil(E / top-k), spread when there are fewer tokens than the
stride; a few warm-up calls, then the mean of timed calls between CUDA events, no CUDA graph), and writes rows in the
format of profiles/kernels/*.json ("moe" and "moe_routing"), so that they can be merged into the GPU's table.

  PYTHONPATH=/root/vsite python3 probe/vllm/moe_bench.py --out moe.json [--shapes H:I:K:E,...]

One shape the tables already hold (Qwen3-30B-A3B's 2048x768, top-8 of 128) is timed too, as a check of this
harness against the imported rows.
"""
import argparse
import json
import math
import sys
import time

TOKENS = [1, 2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
          6144, 8192, 12288, 16384]
# hidden, moe intermediate, top-k, experts: Qwen1.5-MoE-A2.7B, DeepSeek-V2-Lite, OLMoE-1B-7B, then the check shape.
SHAPES = [(2048, 1408, 4, 60), (2048, 1408, 6, 64), (2048, 1024, 8, 64), (2048, 768, 8, 128)]


def balanced_ids(torch, n, experts, topk):
    stride = math.ceil(experts / topk)
    t = torch.arange(n).unsqueeze(1)
    i = torch.arange(topk).unsqueeze(0)
    if n >= stride:
        ids = (t + i * stride) % experts
    else:
        ids = ((t * stride) // n + i * stride) % experts
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--shapes", default="")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--graph", action="store_true", help="time the calls replayed from a CUDA graph (GPU time only)")
    ap.add_argument("--budget", type=float, default=400, help="seconds; shapes not started by then are left out")
    ap.add_argument("--distribution", choices=["balanced", "concentrated"], default="balanced",
                    help="routing: balanced (the tables' way) or concentrated (every token to experts 0..top-k-1: the "
                         "fewest experts a batch can hit, as random-weight DeepSeek-V2 checkpoints route)")
    a = ap.parse_args()
    t_start = time.time()
    import torch
    import vllm
    from vllm.model_executor.layers.fused_moe import fused_experts
    shapes = [tuple(int(x) for x in s.split(":")) for s in a.shapes.split(",") if s] or SHAPES
    dev = "cuda:0"
    torch.cuda.set_device(dev)
    out = {"what": "vLLM fused_experts (bf16) timed by probe/vllm/moe_bench.py: %s routing, mean of %d calls after %d warm-up calls, %s" % (a.distribution, a.runs, a.warmup, "replayed from one CUDA graph" if a.graph else "no CUDA graph"),
           "vllm": vllm.__version__, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(dev),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "moe": [], "moe_routing": []}
    for (hidden, inter, topk, experts) in shapes:
        if time.time() - t_start > a.budget:
            print("[moe_bench] out of time before %s" % ((hidden, inter, topk, experts),), flush=True)
            break
        w1 = torch.randn(experts, 2 * inter, hidden, dtype=torch.bfloat16, device=dev) * 0.02
        w2 = torch.randn(experts, hidden, inter, dtype=torch.bfloat16, device=dev) * 0.02
        toks, us, hits, pairs = [], [], [], []
        for n in TOKENS:
            try:
                x = torch.randn(n, hidden, dtype=torch.bfloat16, device=dev)
                ids = (balanced_ids(torch, n, experts, topk) if a.distribution == "balanced"
                       else torch.arange(topk).unsqueeze(0).repeat(n, 1)).to(dev)
                w = torch.full((n, topk), 1.0 / topk, dtype=torch.float32, device=dev)
                for _ in range(a.warmup):
                    fused_experts(x, w1, w2, w, ids)
                torch.cuda.synchronize()
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                if a.graph:
                    # The calls captured in one CUDA graph and replayed: the GPU's time alone, as vLLM's decode
                    # steps run it (without a graph a call's host work, 0.2-0.5 ms here, outlasts small kernels).
                    g = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(g):
                        for _ in range(a.runs):
                            fused_experts(x, w1, w2, w, ids)
                    g.replay()
                    torch.cuda.synchronize()
                    e0.record()
                    g.replay()
                    e1.record()
                else:
                    e0.record()
                    for _ in range(a.runs):
                        fused_experts(x, w1, w2, w, ids)
                    e1.record()
                torch.cuda.synchronize()
                t = e0.elapsed_time(e1) * 1000.0 / a.runs
            except Exception as e:  # noqa: BLE001
                print("[moe_bench] %s at %d tokens failed: %r" % ((hidden, inter, topk, experts), n, e), flush=True)
                break
            toks.append(n); us.append(round(t, 2))
            hits.append(float(len(set(ids.flatten().tolist())))); pairs.append(float(n * topk))
        print("[moe_bench] %dx%d top-%d of %d: %s" % (hidden, inter, topk, experts,
              ", ".join("%d:%.1f" % (n, u) for n, u in zip(toks, us))), flush=True)
        if toks:
            out["moe"].append({"hidden": hidden, "inter": inter, "topk": topk, "experts": experts, "tp": 1, "ep": 1,
                               "distribution": a.distribution, "tokens": toks, "us": us})
            out["moe_routing"].append({"experts": experts, "topk": topk, "ep": 1, "distribution": a.distribution,
                                       "tokens": toks, "hits": hits, "pairs": pairs})
        del w1, w2
        torch.cuda.empty_cache()
        json.dump(out, open(a.out, "w"), indent=1)
    json.dump(out, open(a.out, "w"), indent=1)
    print("[moe_bench] wrote %s in %.0f s" % (a.out, time.time() - t_start), flush=True)


if __name__ == "__main__":
    sys.exit(main())
