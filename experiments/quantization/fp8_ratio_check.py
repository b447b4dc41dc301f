#!/usr/bin/env python3
"""How good is moesim's fp8 estimate, and what replaced it? (issue 15)

Part 1 (the estimate). Where no measured fp8 table applies (A100; per-tensor fp8; fp8 GEMMs other than the experts),
moesim prices fp8 (block-scaled, w8a8) kernels as the measured bf16 fused-MoE time times the datasheet roofline ratio
max(F / fp8 peak, (weights x 1 byte + activations) / HBM) / max(F / bf16 peak, (weights x 2 bytes + activations) / HBM)
(`KernelCost.quantizedRatio`). AIConfigurator's H200 vLLM 0.24.0 table also holds measured `fp8_block` rows for several
shapes; this script compares the measured fp8_block / bf16 latency ratio with that roofline ratio (balanced routing,
same shape, TP and EP degree and token count). Nothing is fitted.

Part 2 (since issue 15 item 1). On H100/H200 moesim now takes fp8 block-scaled experts from the measured table itself
(`fp8_block` in profiles/kernels/h{1,2}00-sxm-vllm-0.24.0.json): exact at measured token counts, log-log interpolated
between them. This part measures that interpolation error: every interior token count of every measured fp8_block
curve of the imported H200 table, predicted from its two neighbours (a conservative bound: moesim interpolates
between adjacent points, this skips one). The fitted shape model for unmeasured fp8 shapes is checked by
`moesim profiles kernels h200-sxm-vllm-0.24.0 --loso` (its fp8_block part).

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


# ---- part 2: the measured fp8 table moesim now uses ------------------------------------------------------------
import json
import math
import os

kt = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "profiles", "kernels", "h200-sxm-vllm-0.24.0.json")
fp8 = json.load(open(kt))["fp8_block"]["moe"]
skip, dsv3 = [], []
for c in fp8:
    t, u = c["tokens"], c["us"]
    for i in range(1, len(t) - 1):
        a = (math.log(t[i]) - math.log(t[i - 1])) / (math.log(t[i + 1]) - math.log(t[i - 1]))
        p = math.exp(math.log(u[i - 1]) + a * (math.log(u[i + 1]) - math.log(u[i - 1])))
        e = abs(p / u[i] - 1) * 100
        skip.append(e)
        if (c["hidden"], c["inter"], c["topk"], c["experts"]) == (7168, 2048, 8, 256):
            dsv3.append(e)
print(f"\npart 2: {len(fp8)} measured fp8_block curves in the imported H200 table; moesim's experts for fp8 models on H200"
      f" are these rows (error 0 at measured token counts, up to 4-significant-digit rounding).")
print(f"interpolation between measured token counts, predicting each interior point from its neighbours one step out:"
      f" {len(skip)} points, mean |error| {statistics.mean(skip):.1f}%, median {statistics.median(skip):.1f}%;"
      f" DeepSeek-V3's shape (7168x2048, top-8 of 256): {len(dsv3)} points, mean {statistics.mean(dsv3):.1f}%")
