#!/usr/bin/env python3
"""Save a random-weight bf16 checkpoint of a model in profiles/models, for loading with a TP/EP plan.

Transformers applies its tensor- and expert-parallel plans while loading a checkpoint (from_pretrained), so the
multi-GPU runs need one on disk. The model is built on the meta device (no memory), materialised in HOST memory
(to_empty on the CPU: a 47B model does not fit being built on one GPU), filled with random numbers generated on
the GPU in chunks (normal, std = the config's initializer_range, 0.02; norm weights 1, biases 0), and saved with
save_pretrained (safetensors, bf16).

  python3 probe/harness/make_random_checkpoint.py --model olmoe-1b-7b --out /tmp/ckpt/olmoe-1b-7b [--layers N]
"""
import argparse
import json
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models-dir", default=os.path.join(here, "..", "..", "profiles", "models"))
    ap.add_argument("--device", default="cuda", help="where the random numbers are drawn (cuda or cpu)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=None,
                    help="override num_hidden_layers (same per-layer shapes, a smaller checkpoint; recorded)")
    args = ap.parse_args()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from hf_generate_bench import load_config

    t0 = time.time()
    cfg_dict, path = load_config(args.models_dir, args.model)
    cfg = dict(cfg_dict)
    model_type = cfg.pop("model_type")
    for k in ("architectures", "auto_map", "transformers_version", "_name_or_path", "torch_dtype", "dtype",
              "quantization_config"):
        cfg.pop(k, None)
    if args.layers:
        cfg["num_hidden_layers"] = args.layers
    config = AutoConfig.for_model(model_type, **cfg)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.to_empty(device="cpu")
    std = float(getattr(config, "initializer_range", 0.02) or 0.02)
    g = torch.Generator(device=args.device)
    g.manual_seed(args.seed)
    n = 0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and p.dim() == 1:
                p.fill_(1.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                flat = p.view(-1)
                step = 1 << 28
                for s in range(0, flat.numel(), step):
                    m = min(step, flat.numel() - s)
                    flat[s:s + m].copy_((torch.randn(m, device=args.device, generator=g) * std).to(torch.bfloat16))
            n += p.numel()
    for name, b in model.named_buffers():
        pass  # buffers (rotary inv_freq) are recomputed at load
    t1 = time.time()
    model.save_pretrained(args.out, safe_serialization=True, max_shard_size="20GB")
    with open(os.path.join(args.out, "moesim_provenance.json"), "w") as f:
        json.dump({"model": args.model, "config_file": os.path.relpath(path, os.path.join(here, "..", "..")),
                   "num_hidden_layers": config.num_hidden_layers, "params": n, "init": f"normal(0, {std}) drawn on {args.device}, seed {args.seed}; norms 1",
                   "materialise_s": round(t1 - t0, 1), "save_s": round(time.time() - t1, 1)}, f)
    print(f"[ckpt] {args.model}: {n / 1e9:.2f} B params, filled in {t1 - t0:.0f} s, saved in {time.time() - t1:.0f} s "
          f"-> {args.out}", flush=True)


if __name__ == "__main__":
    main()
