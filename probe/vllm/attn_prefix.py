#!/usr/bin/env python3
"""Does a decode batch whose sequences share their prompt's first KV blocks read them from HBM once? Times vLLM's
own paged FlashAttention decode kernel (FA3 on Hopper, the backend vLLM 0.24 picks for these models) on batches of
B sequences with P shared prefix tokens and S tokens of their own each: with the prefix's blocks shared (one
physical copy in every sequence's block table, as vLLM's prefix caching leaves them), with every sequence holding
its own copy (prefix caching off) in runs of consecutive blocks, and with those copies' blocks scattered at random
over a cache of an engine's size ("spread": whether the block layout and the cache's footprint matter; a vLLM engine
holds one layer's K and V in tensors of 1-4 GB each on these GPUs, and its blocks come from a free list). L2 is
flushed before every call (a 256 MiB write) as the layers between two attention calls of a real step would, and each
call is timed alone with CUDA events.

  python3 probe/vllm/attn_prefix.py --out attn-prefix.json

Why: decode steps of 256 sequences behind a shared 1,024-token prefix ran 0.73-0.87x moesim's prediction in OLMoE's
offline runs with prefix caching on and 1.10x with it off (the same shapes; docs/accuracy.md, fortieth session).
Needs vLLM (its vllm_flash_attn) and a CUDA GPU: the vLLM bundle on the lent host.
"""
import argparse
import json
import time

import torch

from vllm.vllm_flash_attn import flash_attn_varlen_func

# (name, query heads, KV heads, head dim): the attention of the models moesim validates against vLLM.
MODELS = [("olmoe-1b-7b", 16, 16, 128), ("qwen3-30b-a3b", 32, 4, 128), ("mixtral-8x7b", 32, 8, 128)]
BLOCK = 16


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--iters", type=int, default=12)
    ap.add_argument("--max-gib", type=float, default=24.0, help="largest KV cache of one case (distinct copies)")
    ap.add_argument("--models", default=",".join(m[0] for m in MODELS), help="which attention shapes, comma-separated")
    ap.add_argument("--pool-gib", type=float, default=4.0, help="the spread layout's K (and V) cache of one layer")
    a = ap.parse_args()
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    res = {"device": torch.cuda.get_device_name(0), "sms": props.multi_processor_count,
           "l2_bytes": getattr(props, "L2_cache_size", None), "torch": torch.__version__,
           "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "block_size": BLOCK,
           "how": "layouts: distinct (each sequence its own copy of the prefix, in runs of blocks), spread (the same scattered at random over a pool of --pool-gib per K and V), shared (one copy of the prefix); each call alone between CUDA events, after a 256 MiB write that flushes L2 and a ~1 ms GPU sleep that hides the launch; FA3 picks its own split (no scheduler metadata); median of --iters calls",
           "cases": []}
    flush = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    grid = []
    for b in (16, 64, 256, 512):
        for p in (0, 256, 1024, 4096, 16384):
            for s in (128, 1024):
                grid.append((b, p, s))
    for name, hq, hkv, d in [m for m in MODELS if m[0] in a.models.split(",")]:
        tok_bytes = 2 * hkv * d * 2  # K and V, bf16, one layer
        for b, p, s in grid:
            total_distinct = b * (p + s)
            if total_distinct * tok_bytes > a.max_gib * 2**30:
                continue
            row = {"model": name, "q_heads": hq, "kv_heads": hkv, "head_dim": d, "batch": b, "prefix": p, "own": s}
            for layout in (("distinct", "spread", "shared") if p > 0 else ("distinct", "spread")):
                pb, sb = p // BLOCK, -(-s // BLOCK)
                nblocks = (pb + b * sb) if layout == "shared" else b * (pb + sb)
                # The spread layout's cache: an engine's size (--pool-gib), or what the case needs where that is more.
                pool = max(nblocks, int(a.pool_gib * 2**30 / (BLOCK * tok_bytes / 2))) if layout == "spread" else nblocks
                kc = torch.randn(pool + 1, BLOCK, hkv, d, device=dev, dtype=torch.bfloat16)
                vc = torch.randn(pool + 1, BLOCK, hkv, d, device=dev, dtype=torch.bfloat16)
                bt = torch.empty(b, pb + sb, dtype=torch.int32)
                for i in range(b):
                    if layout == "shared":
                        own0 = pb + i * sb
                        bt[i, :pb] = torch.arange(pb)
                    else:
                        own0 = i * (pb + sb) + pb
                        bt[i, :pb] = torch.arange(i * (pb + sb), i * (pb + sb) + pb)
                    bt[i, pb:] = torch.arange(own0, own0 + sb)
                if layout == "spread":
                    # The distinct copies' blocks at random places of the pool (a fixed draw), as a long-running engine's
                    # free list may leave them, against the tables' and the distinct layout's runs of blocks.
                    perm = torch.randperm(pool, generator=torch.Generator().manual_seed(b * 100003 + p + s))[:nblocks].to(torch.int32)
                    bt = perm[bt.long()]
                bt = bt.to(dev)
                q = torch.randn(b, hq, d, device=dev, dtype=torch.bfloat16)
                out = torch.empty_like(q)
                cu_q = torch.arange(b + 1, dtype=torch.int32, device=dev)
                seqused = torch.full((b,), p + s, dtype=torch.int32, device=dev)

                def call():
                    flash_attn_varlen_func(q=q, k=kc, v=vc, out=out, cu_seqlens_q=cu_q, max_seqlen_q=1,
                                           seqused_k=seqused, max_seqlen_k=p + s, softmax_scale=d ** -0.5,
                                           causal=True, block_table=bt, fa_version=3)
                for _ in range(3):
                    call()
                times = []
                for _ in range(a.iters):
                    flush.fill_(1)
                    # The GPU sleeps (about 1 ms) while the host queues the start event and the kernel behind it, so
                    # that the wrapper's launch time is not timed as the kernel's.
                    torch.cuda._sleep(2_000_000)
                    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    e0.record()
                    call()
                    e1.record()
                    torch.cuda.synchronize()
                    times.append(e0.elapsed_time(e1) * 1e3)
                times.sort()
                row[layout + "_us"] = times[len(times) // 2]
                row[layout + "_min_us"] = times[0]
                row[layout + "_kv_bytes"] = nblocks * BLOCK * tok_bytes
                if layout == "spread":
                    row["spread_pool_bytes"] = pool * BLOCK * tok_bytes
                del kc, vc
                torch.cuda.empty_cache()
            if p > 0:
                row["shared_over_distinct"] = row["shared_us"] / row["distinct_us"]
            res["cases"].append(row)
            print(json.dumps(row), flush=True)
            # Written after every case: a call cut short keeps what it timed.
            json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
