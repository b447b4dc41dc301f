#!/usr/bin/env python3
"""Writes a model folder (config.json only) for vLLM's dummy-weight loading from moesim's model profiles.

  python3 probe/vllm/make_models.py --out /root/vmodels --models olmoe-1b-7b,mixtral-8x7b

The config is the profile's `config` object (the released config.json, see the profile's sources) with
`torch_dtype`/`dtype` set to bfloat16 (the checkpoints' own dtype for all but OLMoE, whose release says float32 and
which vLLM would otherwise run in float32) and `auto_map` removed (vLLM has these architectures natively).
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--profiles", default=os.path.join(HERE, "..", "..", "profiles", "models"))
    args = ap.parse_args()
    for name in args.models.split(","):
        prof = json.load(open(os.path.join(args.profiles, name + ".json")))
        cfg = dict(prof["config"])
        cfg.pop("auto_map", None)
        cfg["torch_dtype"] = "bfloat16"
        cfg["dtype"] = "bfloat16"
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        with open(os.path.join(d, "moesim_provenance.json"), "w") as f:
            json.dump({"profile": "profiles/models/%s.json" % name, "changed": "torch_dtype/dtype bfloat16, auto_map removed"}, f)


if __name__ == "__main__":
    main()
