#!/usr/bin/env python3
"""Carry the MLA decode kernel measured on one GPU (`mla_decode_kernel`, H200: probe/vllm/mla_grid.py over
DeepSeek-V2-Lite's compiled steps) to another GPU's kernel table that has no measurement of it, as an estimate.

  python3 profiles/tools/transfer_mla_decode.py profiles/kernels/h200-sxm-vllm-0.24.0.json profiles/gpus/h200-sxm-141gb.json \\
      profiles/gpus/h100-sxm-80gb.json profiles/kernels/h100-sxm-vllm-0.24.0.json

Why: without it the target GPU prices an MLA model's decode attention with AIConfigurator's MLA module rows (DeepSeek-V3's
block, projections re-priced), which on the H200, where both exist, come out 40-60 us a layer above the measured kernel
plus this model's projections at short contexts; DeepSeek-V2-Lite's decode steps on H100s (2026-12-06) ran 0.78-0.89x
what that module route predicts.

The rule (an assumption, stated in the table and in moesim's output as an estimate): each measured row's time splits
into the latent cache it reads at the source GPU's datasheet bandwidth (decode_sequences x mean_context x
(kv_lora_rank + qk_rope_head_dim) x 2 bytes, at most the whole row) and the rest (launch, latency, compute: the same
tensor-core peak on both GPUs here); the read takes the target's datasheet bandwidth instead, the rest stays as measured.

Checked (2026-12-06): the H100's table carried these rows from the thirty-first session until the H100's own grid was
measured in the thirty-second (probe/results/2026-12-06-h100-vllm-ag); at the 15 points both have the carried rows were
-2.5% to +5.8% off the measurement (median +0.4%), and the measurement replaced them. Run this on a GPU without one.
"""
import json
import sys


def main(src_table, src_gpu, dst_gpu, dst_table):
    s = json.load(open(src_table))
    k = s["mla_decode_kernel"]
    bw_src = json.load(open(src_gpu))["hbm_bandwidth_gbps"] * 1e9
    g = json.load(open(dst_gpu))
    bw_dst = g["hbm_bandwidth_gbps"] * 1e9
    latent = (k["kv_lora_rank"] + k["qk_rope_head_dim"]) * (2 if k["kv_cache_dtype"] == "bfloat16" else 1)

    def carry(row):
        n, ctx, us = row
        read = min(us, n * ctx * latent / bw_src * 1e6)
        return [n, ctx, round(us - read + read * bw_src / bw_dst, 2)]

    t = json.load(open(dst_table))
    rule = ("estimated from %s's measured rows (%s): the latent cache read (sequences x context x %d bytes) at %s's "
            "datasheet bandwidth (%.0f GB/s) in place of %s's (%.0f GB/s), the rest of each row as measured"
            % (s["gpu"], k["source"], latent, g["name"], bw_dst / 1e9, s["gpu"], bw_src / 1e9))
    t["mla_decode_kernel"] = {
        "what": k["what"],
        "heads": k["heads"], "kv_lora_rank": k["kv_lora_rank"], "qk_rope_head_dim": k["qk_rope_head_dim"],
        "kv_cache_dtype": k["kv_cache_dtype"],
        "columns": k["columns"],
        "rows": [carry(r) for r in k["rows"]],
        "estimated": True,
        "origin": "%s's measurement in DeepSeek-V2-Lite's graphs, carried to %s by datasheet bandwidth (an estimate)"
                  % (s["gpu"].split("-")[0].upper(), g["name"].split("-")[0].upper()),
        "source": rule + " (profiles/tools/transfer_mla_decode.py)",
    }
    t["sources"] = [x for x in t["sources"] if "mla_decode_kernel" not in x.get("what", "")] + [
        {"kind": "derived", "what": "mla_decode_kernel", "source": rule + " (profiles/tools/transfer_mla_decode.py)"}]
    with open(dst_table, "w") as f:
        json.dump(t, f, separators=(",", ":"))
        f.write("\n")
    for a, b in zip(k["rows"], t["mla_decode_kernel"]["rows"]):
        print("%4d seqs %6d ctx: %8.2f -> %8.2f us" % (a[0], a[1], a[2], b[2]))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
