#!/usr/bin/env python3
"""Writes profiles/kernels/vllm-0.24.0-fused-moe-block-m.json: the row tile (BLOCK_SIZE_M) vLLM 0.24.0's Triton fused
MoE uses for bf16 experts, and the whole configuration its kernel is compiled for ("kernels"), per GPU, expert count E
and expert width N (per GPU), by token count, from the tuned
configurations vLLM ships (vllm/model_executor/layers/fused_moe/configs/E=*,N=*,device_name=*.json, Apache-2.0).

  pip download vllm==0.24.0 --no-deps -d /tmp/vw && unzip -q -o /tmp/vw/vllm-0.24.0-*.whl 'vllm/*' -d /tmp/vwheel/src
  python3 profiles/tools/import_vllm_moe_block_m.py /tmp/vwheel/src

vLLM picks the configuration whose token-count key is nearest the call's token count
(fused_moe.try_get_optimal_moe_config); where no file matches (E, N, GPU) it uses get_default_config, whose bf16 rule
(16 rows up to 32 tokens, 32 up to 96, 64 up to 512, else 128) moesim applies itself. Only bf16 files are read (no
"dtype=" in the name).
"""
import glob
import json
import os
import re
import sys

DEVICES = {"h200-sxm-141gb": "NVIDIA_H200", "h100-sxm-80gb": "NVIDIA_H100_80GB_HBM3", "a100-sxm4-80gb": "NVIDIA_A100-SXM4-80GB",
           "a100-sxm4-40gb": "NVIDIA_A100-SXM4-40GB"}


def main(src, out):
    d = os.path.join(src, "vllm/model_executor/layers/fused_moe/configs")
    configs, kernels = {}, {}
    for dev in DEVICES.values():
        for f in sorted(glob.glob(os.path.join(d, "E=*,N=*,device_name=%s.json" % dev))):
            m = re.match(r"E=(\d+),N=(\d+),device_name=(.+)\.json$", os.path.basename(f))
            if not m or m.group(3) != dev:
                continue
            rows = json.load(open(f))
            shape = "E=%s,N=%s" % (m.group(1), m.group(2))
            keyed = sorted(((k, v) for k, v in rows.items() if k.isdigit()), key=lambda kv: int(kv[0]))
            configs.setdefault(dev, {})[shape] = {k: int(v["BLOCK_SIZE_M"]) for k, v in keyed}
            # The whole configuration, which the kernel is compiled for (its tile sizes are constexpr arguments, and
            # num_warps and num_stages compile options): token counts whose configurations are equal share a compiled
            # kernel, the rest each compile their own on first use.
            kernels.setdefault(dev, {})[shape] = {k: ",".join("%s=%s" % kv for kv in sorted(v.items())) for k, v in keyed}
    doc = {"version": 1, "name": "vllm-0.24.0-fused-moe-block-m",
           "sources": ["vLLM 0.24.0 (PyPI wheel, Apache-2.0): vllm/model_executor/layers/fused_moe/configs/*.json, the tuned "
                       "Triton fused-MoE configurations for bf16 experts (configs: BLOCK_SIZE_M; kernels: each whole configuration, "
                       "which the kernel is compiled for), imported by "
                       "profiles/tools/import_vllm_moe_block_m.py"],
           "gpus": DEVICES, "configs": configs, "kernels": kernels}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
    print("%s: %s" % (out, {k: len(v) for k, v in configs.items()}))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1], os.path.join(here, "..", "kernels", "vllm-0.24.0-fused-moe-block-m.json"))
