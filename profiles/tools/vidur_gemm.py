#!/usr/bin/env python3
"""One-off generator: bf16 GEMM tables for moesim GPU profiles from microsoft/vidur operator profiles.

Input (read once, at generation time only; moesim never reads it):
    /work/shared/reference/vidur-profiles/compute/<gpu>/<org>/<model>/mlp.csv
    (microsoft/vidur, MIT licence, commit in /work/shared/reference/vidur-profiles/SOURCE_COMMIT)

Each mlp.csv row is one (model shape, num_tokens, num_tensor_parallel_workers) point with per-operator
CUDA-event timings in milliseconds (`time_stats.<op>.median`). The four linear layers are GEMMs:

    attn_pre_proj   m = num_tokens, n = (n_head + 2*n_kv_head) * head_dim / tp, k = n_embd
    attn_post_proj  m = num_tokens, n = n_embd,                               k = n_head * head_dim / tp
    mlp_up_proj     m = num_tokens, n = (2 if use_gated_mlp else 1) * n_expanded_embd / tp, k = n_embd
    mlp_down_proj   m = num_tokens, n = n_embd,                               k = n_expanded_embd / tp

with head_dim = n_embd / n_head and tp = num_tensor_parallel_workers. Time: median ms -> time_us (x1000).
Identical (m, n, k) points (from different operators/models) are merged by taking the median.
Per (n, k) shape, num_tokens is subsampled to at most MAX_M values, roughly log-spaced, always keeping
the smallest and largest m.

Usage:  python3 profiles/tools/vidur_gemm.py   # prints a summary only
        The tables are written into the GPU profiles by profiles/tools/make_gpus.py, which imports this module.
"""
import csv
import math
import os
import statistics
from collections import defaultdict

VIDUR = "/work/shared/reference/vidur-profiles"
MAX_M = 40

OPS = ["attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj"]


def shape_of(op, row):
    n_head = int(row["n_head"])
    n_kv = int(row["n_kv_head"])
    n_embd = int(row["n_embd"])
    n_exp = int(row["n_expanded_embd"])
    tp = int(row["num_tensor_parallel_workers"])
    gated = row["use_gated_mlp"].strip().lower() == "true"
    head_dim = n_embd // n_head
    m = int(row["num_tokens"])
    if op == "attn_pre_proj":
        n, k = (n_head + 2 * n_kv) * head_dim // tp, n_embd
    elif op == "attn_post_proj":
        n, k = n_embd, n_head * head_dim // tp
    elif op == "mlp_up_proj":
        n, k = (2 if gated else 1) * n_exp // tp, n_embd
    elif op == "mlp_down_proj":
        n, k = n_embd, n_exp // tp
    else:
        raise ValueError(op)
    return m, n, k


def model_files(gpu):
    base = os.path.join(VIDUR, "compute", gpu)
    out = []
    for org in sorted(os.listdir(base)):
        for model in sorted(os.listdir(os.path.join(base, org))):
            p = os.path.join(base, org, model, "mlp.csv")
            if os.path.exists(p):
                out.append((f"{org}/{model}", p))
    return out


def subsample(ms):
    """Keep at most MAX_M values of the sorted list ms, roughly log-spaced, with both ends."""
    ms = sorted(ms)
    if len(ms) <= MAX_M:
        return ms
    lo, hi = math.log(ms[0]), math.log(ms[-1])
    keep = {ms[0], ms[-1]}
    for i in range(MAX_M):
        target = lo + (hi - lo) * i / (MAX_M - 1)
        keep.add(min(ms, key=lambda v: abs(math.log(v) - target)))
    return sorted(keep)


def gemm_table(gpu):
    pts = defaultdict(list)
    used = []
    for name, path in model_files(gpu):
        used.append(name)
        with open(path) as f:
            for row in csv.DictReader(f):
                for op in OPS:
                    v = row.get(f"time_stats.{op}.median", "")
                    if v == "" or v is None:
                        continue
                    t = float(v) * 1000.0
                    if not (t > 0):
                        continue
                    pts[shape_of(op, row)].append(t)
    merged = {key: statistics.median(v) for key, v in pts.items()}
    by_nk = defaultdict(list)
    for (m, n, k) in merged:
        by_nk[(n, k)].append(m)
    table = []
    for (n, k), ms in sorted(by_nk.items()):
        for m in subsample(ms):
            table.append({"m": m, "n": n, "k": k, "time_us": round(merged[(m, n, k)], 3)})
    table.sort(key=lambda e: (e["n"], e["k"], e["m"]))
    return table, used, len(merged)


if __name__ == "__main__":
    for gpu in ("a100", "h100"):
        t, used, raw = gemm_table(gpu)
        shapes = sorted({(e["n"], e["k"]) for e in t})
        print(gpu, "models:", used, "distinct (m,n,k):", raw, "kept:", len(t), "shapes:", len(shapes))
