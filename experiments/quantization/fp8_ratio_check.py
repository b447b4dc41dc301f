#!/usr/bin/env python3
"""How good is moesim's fp8 estimate? (issue 15)

moesim prices fp8 (block-scaled, w8a8) experts as the measured bf16 fused-MoE time times the datasheet roofline ratio
max(F / fp8 peak, (weights x 1 byte + activations) / HBM) / max(F / bf16 peak, (weights x 2 bytes + activations) / HBM)
(`KernelCost.quantizedRatio`). AIConfigurator's H200 vLLM 0.24.0 table also holds measured `fp8_block` rows for several
shapes; this script compares the measured fp8_block / bf16 latency ratio with that roofline ratio (balanced routing,
same shape, TP and EP degree and token count). Nothing is fitted.

Needs the package the importer installs:  python3 profiles/tools/import_aiconfigurator.py  (creates /tmp/aic), then
  /tmp/aic/bin/python experiments/quantization/fp8_ratio_check.py
"""
import glob
import statistics

import pandas as pd

PEAK_BF16, PEAK_FP8, HBM = 989e12, 1979e12, 4800e9  # H200 SXM datasheet (profiles/gpus/h200-sxm-141gb.json)
path = glob.glob("/tmp/aic/lib/python3*/site-packages/aiconfigurator_core/systems/data/h200_sxm/moe/vllm/0.24.0/moe_perf.parquet")[0]
d = pd.read_parquet(path)
d = d[d.distribution == "balanced"]


def roofline_ratio(T, h, inter, k, E, tp, ep):
    il, El = inter / tp, E / ep
    pairs, hits = T * k / ep, El * (1 - (1 - k / E) ** T)
    F, W, A = 6 * pairs * h * il, hits * 3 * h * il, 4 * pairs * (h + il)
    return max(F / PEAK_FP8, (W * (1 + 4 / 16384) + A) / HBM) / max(F / PEAK_BF16, (W * 2 + A) / HBM)


errs, decode_errs = [], []
print("shape (hidden x inter, top-k of E)   TP EP  tokens: measured fp8_block/bf16 vs roofline ratio (error)")
for (h, inter, k, E), _ in d[d.moe_dtype == "fp8_block"].groupby(["hidden_size", "inter_size", "topk", "num_experts"]):
    for tp, ep in [(8, 1), (1, 8), (1, 1)]:
        cells = []
        for T in [1, 8, 32, 128, 512, 2048, 8192]:
            def lat(dt):
                s = d[(d.moe_dtype == dt) & (d.hidden_size == h) & (d.inter_size == inter) & (d.topk == k) & (d.num_experts == E)
                      & (d.moe_tp_size == tp) & (d.moe_ep_size == ep) & (d.num_tokens == T)].latency
                return s.min() if len(s) else None
            q, b = lat("fp8_block"), lat("bfloat16")
            if q is None or b is None:
                continue
            m, r = q / b, roofline_ratio(T, h, inter, k, E, tp, ep)
            e = (r - m) / m * 100
            errs.append(abs(e))
            if 8 <= T <= 512:
                decode_errs.append(e)
            cells.append(f"{T}: {m:.2f} vs {r:.2f} ({e:+.0f}%)")
        if cells:
            print(f"{h}x{inter}, top-{k} of {E}".ljust(36), f"{tp:2d} {ep:2d} ", "; ".join(cells))
print(f"\n{len(errs)} points: mean |error| of the ratio {statistics.mean(errs):.1f}%, max {max(errs):.1f}%")
print(f"8-512 tokens ({len(decode_errs)} points): mean error {statistics.mean(decode_errs):+.1f}% "
      f"(negative: moesim's fp8 experts are faster than measured), range {min(decode_errs):+.0f}% to {max(decode_errs):+.0f}%")
