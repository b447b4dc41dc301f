#!/usr/bin/env python3
"""Merge vLLM 0.24.0's own MLA decode kernel times and its PyTorch grouped top-k router times, measured inside
DeepSeek-V2-Lite's compiled model on an H200 (probe/results/2026-12-04-h200-vllm-k/mla-grid.json, written by
probe/vllm/mla_grid.py), into the H200 kernel table as `mla_decode_kernel` and `torch_grouped_topk`.

  python3 profiles/tools/import_mla_grid.py probe/results/2026-12-04-h200-vllm-k/mla-grid.json profiles/kernels/h200-sxm-vllm-0.24.0.json
  python3 profiles/tools/import_mla_grid.py probe/results/2026-12-06-h100-vllm-ag/mla-grid.json profiles/kernels/h100-sxm-vllm-0.24.0.json \
      --gpu H100 --date 2026-12-06 --sessions "session -ag" --host "one NVIDIA H100 VM (nvidia-h100-x1)" \
      --lent "one H100 VM lent as nvidia-h100-x1"

The second GPU's measurement replaces any rows carried to it from another GPU (profiles/tools/transfer_mla_decode.py:
"estimated" and "origin" go), and the rows it replaces are printed beside the measured ones as a check of that carry.

The decode grid keeps the decode-only windows run in full CUDA graphs at batch sizes measured at two or more contexts
(1, 8, 32, 128, 512 sequences): moesim interpolates log-log in context on each batch and log-log between batches.
The windows at 16, 64 and 256 sequences (one context each) are left out of it and printed as a check. The router
curve takes every window (decode and prompt steps) by its token count, one row per count (the median).
"""
import argparse
import json
import math
import statistics


def main(grid_file, table_file, gpu="H200", date="2026-12-04", sessions="sessions -j and -k",
         host="one NVIDIA H200 VM (nvidia-h200)", lent="one H200 VM lent as nvidia-h200"):
    g = json.load(open(grid_file))
    rows = [r for r in g["rows"] if r["prefill_tokens"] == 0 and r["modes"] == ["FULL"] and r["decode_seqs"] == int(r["decode_seqs"])]
    by = {}
    for r in rows:
        by.setdefault(int(r["decode_seqs"]), []).append(r)
    grid, held = [], []
    for n, rs in sorted(by.items()):
        ctx = sorted({round(r["mean_context"]) for r in rs})
        target = grid if len(ctx) >= 2 else held
        for c in ctx:
            us = statistics.median(r["mla_us_per_layer"] for r in rs if round(r["mean_context"]) == c)
            target.append([n, c, round(us, 2)])
    router = {}
    for r in g["rows"]:
        tokens = round(r["decode_seqs"] + r["prefill_tokens"])
        if r["decode_seqs"] == int(r["decode_seqs"]) and r["prefill_tokens"] == int(r["prefill_tokens"]):
            router.setdefault(tokens, []).append(r["router_us_per_moe_layer"])
    t = json.load(open(table_file))
    src = "%s (probe/vllm/mla_grid.py over vLLM 0.24.0's profiled steps of DeepSeek-V2-Lite, %s, %s, %s)" % (
        grid_file, sessions, date, lent)
    old = t.get("mla_decode_kernel")
    if old and old.get("estimated"):
        carried = {(r[0], r[1]): r[2] for r in old["rows"]}
        for n, c, us in grid + held:
            near = min((k for k in carried if k[0] == n), key=lambda k: abs(math.log(k[1] / c)), default=None)
            if near and abs(math.log(near[1] / c)) < 0.05:
                print("check: %d x %d measured %.1f us, carried %.1f (%+.1f%%)" % (n, c, us, carried[near], 100 * (carried[near] / us - 1)))
    t["mla_decode_kernel"] = {
        "what": "vLLM 0.24.0's MLA decode kernel (FLASH_ATTN_MLA: FlashAttention 3's MLA kernel and its split-KV combine) for one layer on one GPU, inside the compiled model's full CUDA graph; not the projections, the absorbed W_UK/W_UV BMMs or the cache write",
        "heads": 16, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "kv_cache_dtype": "bfloat16",
        "columns": ["decode_sequences", "mean_context", "us"],
        "rows": grid,
        "held_out_rows": held,
        "source": src,
    }
    if gpu != "H200":
        t["mla_decode_kernel"]["origin"] = "measured in DeepSeek-V2-Lite's compiled graphs on the %s" % gpu
    t["torch_grouped_topk"] = {
        "what": "vLLM 0.24.0's grouped top-k router run as PyTorch operations (two torch.topk calls and a fused softmax per MoE layer: a model with grouped top-k and no score-correction bias, DeepSeek-V2-Lite's 64 experts top-6, one group), per MoE layer, by the step's tokens",
        "columns": ["tokens", "us"],
        "rows": [[k, round(statistics.median(v), 2)] for k, v in sorted(router.items())],
        "source": src,
    }
    srcs = [s for s in t["sources"] if "mla_decode_kernel" not in s.get("what", "")]
    srcs.append({"kind": "measurement", "what": "mla_decode_kernel, torch_grouped_topk", "source": src,
                 "date": date, "host": host + ", host.txt beside the results"})
    t["sources"] = srcs
    with open(table_file, "w") as f:
        json.dump(t, f, separators=(",", ":"))
        f.write("\n")
    print("grid rows", grid)
    print("held out", held)
    print("router", t["torch_grouped_topk"]["rows"])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("grid")
    ap.add_argument("table")
    ap.add_argument("--gpu", default="H200", help="the GPU's name in the run's note ('measured ... on the H200')")
    ap.add_argument("--date", default="2026-12-04")
    ap.add_argument("--sessions", default="sessions -j and -k")
    ap.add_argument("--host", default="one NVIDIA H200 VM (nvidia-h200)", help="the table's source entry")
    ap.add_argument("--lent", default="one H200 VM lent as nvidia-h200", help="the rows' source text")
    a = ap.parse_args()
    main(a.grid, a.table, a.gpu, a.date, a.sessions, a.host, a.lent)
