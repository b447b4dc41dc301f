#!/usr/bin/env python3
"""LLaDA-MoE's expert loop on one GPU: the MoE block of the released modelling code, timed per forward.

LLaDA-MoE's released modelling code (trust_remote_code) computes its sparse MoE block with the Python loop of
Transformers 4.x's OLMoE/Mixtral blocks, whatever Transformers' own experts setting is:

    expert_mask = one_hot(selected_experts, num_experts).permute(2, 1, 0)
    for expert_idx in range(num_experts):
        idx, top_x = torch.where(expert_mask[expert_idx])          # a host-device sync per expert
        current = hidden_states[None, top_x].reshape(-1, hidden)
        out = experts[expert_idx](current) * routing_weights[top_x, idx, None]   # gate/up/down nn.Linear
        final.index_add_(0, top_x, out)

This script builds that block with LLaDA-MoE's shape (profiles/models/llada-moe-7b.json: hidden 2048, 64
experts of 1024, top-8, softmax router) and random bf16 weights, and times, for a batch of 1 at several sequence
lengths (a diffusion step runs the whole sequence through every layer) and a few larger token counts:
  loop_us     the block's forward as written above (wall clock, synchronized before and after; median)
  nosync_us   the same kernels with the per-expert indices computed beforehand (no sync inside the loop): the
              time the loop's kernels take when the host only enqueues them
  gpu_us      CUDA-event time of the no-sync variant's kernels with the host far ahead (queued behind a busy
              kernel): the GPU work alone
  router_us   the router (GEMM, softmax, top-k, one_hot)
The per-expert host cost that moesim's HF engine uses for this loop is fitted from these
(experiments/h200-hf/llada-moe-loop.json, see probe/README.md).
"""
import argparse
import datetime
import json
import os
import statistics
import time

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", default="32,64,128,256,512,1024,2048,4096")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    import torch
    import torch.nn as nn

    cfg = json.load(open(os.path.join(here, "..", "..", "profiles", "models", "llada-moe-7b.json")))["config"]
    H = cfg["hidden_size"]
    E = cfg["num_experts"]
    K = cfg["num_experts_per_tok"]
    I = cfg.get("expert_intermediate_size") or cfg.get("moe_intermediate_size") or cfg["intermediate_size"]
    cuda = args.device == "cuda"
    dev = torch.device(args.device)
    dtype = torch.bfloat16 if cuda else torch.float32
    torch.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj = nn.Linear(H, I, bias=False)
            self.up_proj = nn.Linear(H, I, bias=False)
            self.down_proj = nn.Linear(I, H, bias=False)

        def forward(self, x):
            return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))

    gate = nn.Linear(H, E, bias=False).to(dev, dtype)
    experts = nn.ModuleList([MLP() for _ in range(E)]).to(dev, dtype)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def route(h):
        logits = gate(h)
        w = torch.softmax(logits, dim=1, dtype=torch.float)
        w, sel = torch.topk(w, K, dim=-1)
        w = w.to(h.dtype)
        mask = nn.functional.one_hot(sel, num_classes=E).permute(2, 1, 0)
        return w, sel, mask

    def loop(h, w, mask):
        final = torch.zeros_like(h)
        for e in range(E):
            idx, top_x = torch.where(mask[e])
            cur = h[None, top_x].reshape(-1, H)
            out = experts[e](cur) * w[top_x, idx, None]
            final.index_add_(0, top_x, out.to(h.dtype))
        return final

    def nosync(h, w, pre):
        final = torch.zeros_like(h)
        for e, (idx, top_x) in enumerate(pre):
            cur = h[None, top_x].reshape(-1, H)
            out = experts[e](cur) * w[top_x, idx, None]
            final.index_add_(0, top_x, out.to(h.dtype))
        return final

    def wall(fn, reps):
        ts = []
        for _ in range(reps):
            sync()
            t = time.perf_counter()
            fn()
            sync()
            ts.append((time.perf_counter() - t) * 1e6)
        return statistics.median(ts)

    def gpu_time(fn, reps):
        if not cuda:
            return wall(fn, reps)
        ts = []
        for _ in range(reps):
            sync()
            torch.cuda._sleep(2_000_000)  # keep the GPU busy while the host enqueues everything
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            sync()
            ts.append(a.elapsed_time(b) * 1000)
        return statistics.median(ts)

    rows = []
    with torch.inference_mode():
        for T in [int(t) for t in args.tokens.split(",")]:
            h = torch.randn(T, H, device=dev, dtype=dtype)
            w, sel, mask = route(h)
            pre = [torch.where(mask[e]) for e in range(E)]
            for _ in range(3):
                loop(h, w, mask)
                nosync(h, w, pre)
            row = {"tokens": T, "experts": E, "topk": K, "hidden": H, "inter": I,
                   "hit_experts": int((torch.bincount(sel.reshape(-1), minlength=E) > 0).sum()),
                   "loop_us": round(wall(lambda: loop(h, w, mask), args.reps), 1),
                   "nosync_us": round(wall(lambda: nosync(h, w, pre), args.reps), 1),
                   "gpu_us": round(gpu_time(lambda: nosync(h, w, pre), args.reps), 1),
                   "router_us": round(wall(lambda: route(h), args.reps), 1)}
            rows.append(row)
            print(f"[llada-loop] {row}", flush=True)
    meta = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if cuda else "cpu",
            "method": __doc__}
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
