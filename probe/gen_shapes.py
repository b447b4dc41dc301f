#!/usr/bin/env python3
"""Generate the GEMM shape lists that moesim-probe measures, from the shipped model configs.

Reads profiles/models/*.json (Hugging Face config.json wrapped as {"config": {...}}) and writes
  probe/shapes.txt          one dense GEMM shape per line:   n k tag
  probe/grouped_shapes.txt  one expert GEMM shape per line:  n k max_experts tag
Shapes follow PyTorch's nn.Linear convention: Y[m,n] = X[m,k] . W[n,k]^T, m = tokens.

For every model: QKV (n=(heads+2*kv_heads)*head_dim, k=hidden), O (n=hidden, k=heads*head_dim),
router (n=experts, k=hidden), expert gate_up (n=2*moe_inter, k=hidden), expert down (n=hidden, k=moe_inter),
shared-expert / dense MLP likewise, LM head (n=vocab, k=hidden); and the TP=2 halves (column-parallel
layers halve n, row-parallel layers halve k, the LM head is vocab-parallel).

If profiles/models holds none of the studied models yet, the built-in configs below (copied from the
models' Hugging Face config.json) are used for the missing ones, so the probe can run before the model
profiles exist.  Usage: python3 probe/gen_shapes.py [--models-dir profiles/models] [--out-dir probe]
"""
import argparse
import glob
import json
import os
import sys

# Fallback configs: only the fields the shapes need, from the models' config.json.
BUILTIN = {
    "olmoe-1b-7b": {"model_type": "olmoe", "hidden_size": 2048, "num_attention_heads": 16,
                    "num_key_value_heads": 16, "intermediate_size": 1024, "num_experts": 64,
                    "num_experts_per_tok": 8, "num_hidden_layers": 16, "vocab_size": 50304},
    "qwen1.5-moe-a2.7b": {"model_type": "qwen2_moe", "hidden_size": 2048, "num_attention_heads": 16,
                          "num_key_value_heads": 16, "intermediate_size": 5632,
                          "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
                          "num_experts": 60, "num_experts_per_tok": 4, "num_hidden_layers": 24,
                          "vocab_size": 151936, "decoder_sparse_step": 1, "mlp_only_layers": []},
    "mixtral-8x7b": {"model_type": "mixtral", "hidden_size": 4096, "num_attention_heads": 32,
                     "num_key_value_heads": 8, "intermediate_size": 14336, "num_local_experts": 8,
                     "num_experts_per_tok": 2, "num_hidden_layers": 32, "vocab_size": 32000},
}


def text_config(cfg):
    """Multimodal wrappers keep the language model in text_config."""
    if "hidden_size" not in cfg and "d_model" not in cfg and isinstance(cfg.get("text_config"), dict):
        return cfg["text_config"]
    return cfg


def _first(cfg, *keys):
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return None


def model_dims(cfg):
    """The layer sizes the GEMM shapes need, for HF-style keys and OLMo/LLaDA-style keys (d_model, n_heads...)."""
    cfg = text_config(cfg)
    h = int(_first(cfg, "hidden_size", "d_model"))
    heads = int(_first(cfg, "num_attention_heads", "n_heads"))
    kv = int(_first(cfg, "num_key_value_heads", "n_kv_heads") or heads)
    hd = int(cfg.get("head_dim") or h // heads)
    experts = int(_first(cfg, "num_experts", "num_local_experts", "n_routed_experts") or 0)
    moe_inter = _first(cfg, "moe_intermediate_size", "expert_intermediate_size")
    dense_inter = _first(cfg, "intermediate_size", "dense_intermediate_size", "mlp_hidden_size")
    if moe_inter is None and experts:
        moe_inter, dense_inter = dense_inter, None  # OLMoE / Mixtral: intermediate_size is the expert size
    # Dense MLP layers exist only in dense models and in MoE models that keep some layers dense.
    freq = cfg.get("moe_layer_freq")
    has_dense = (not experts) or bool(cfg.get("first_k_dense_replace")) or bool(cfg.get("mlp_only_layers")) \
        or int(cfg.get("decoder_sparse_step") or 1) > 1 or (isinstance(freq, list) and 0 in freq)
    shared = cfg.get("shared_expert_intermediate_size")
    if shared is None and moe_inter:
        n_sh = _first(cfg, "n_shared_experts", "num_shared_experts")
        if n_sh:
            shared = int(n_sh) * int(moe_inter)
    mla = None
    if cfg.get("kv_lora_rank"):  # DeepSeek-V2/V3 multi-head latent attention
        mla = dict(q_lora=cfg.get("q_lora_rank"), kv_lora=int(cfg["kv_lora_rank"]),
                   rope=int(cfg.get("qk_rope_head_dim") or 64), nope=int(cfg.get("qk_nope_head_dim") or 128),
                   v=int(cfg.get("v_head_dim") or 128))
    return dict(h=h, heads=heads, kv=kv, hd=hd, experts=experts, mla=mla,
                moe_inter=int(moe_inter) if moe_inter else None,
                dense_inter=int(dense_inter) if (dense_inter and has_dense) else None,
                shared=int(shared) if shared else None, vocab=int(_first(cfg, "vocab_size", "embedding_size")))


def shapes_for(name, d):
    """(n, k, tag) for the full model and its TP=2 halves."""
    out = []

    def add(n, k, what, col_parallel):
        out.append((n, k, f"{name}:{what}"))
        if col_parallel and n % 2 == 0:
            out.append((n // 2, k, f"{name}:{what}:tp2"))
        if not col_parallel and k % 2 == 0:
            out.append((n, k // 2, f"{name}:{what}:tp2"))

    if d["mla"]:
        m = d["mla"]
        qk = m["nope"] + m["rope"]
        if m["q_lora"]:
            out.append((int(m["q_lora"]), d["h"], f"{name}:q_a"))  # replicated under TP
            add(d["heads"] * qk, int(m["q_lora"]), "q_b", True)
        else:
            add(d["heads"] * qk, d["h"], "q", True)
        out.append((m["kv_lora"] + m["rope"], d["h"], f"{name}:kv_a"))  # replicated under TP
        add(d["heads"] * (m["nope"] + m["v"]), m["kv_lora"], "kv_b", True)
        add(d["h"], d["heads"] * m["v"], "o", False)
    else:
        add((d["heads"] + 2 * d["kv"]) * d["hd"], d["h"], "qkv", True)
        add(d["h"], d["heads"] * d["hd"], "o", False)
    if d["experts"]:
        out.append((d["experts"], d["h"], f"{name}:router"))
    if d["moe_inter"]:
        add(2 * d["moe_inter"], d["h"], "expert_gate_up", True)
        add(d["h"], d["moe_inter"], "expert_down", False)
    if d["shared"]:
        add(2 * d["shared"], d["h"], "shared_gate_up", True)
        add(d["h"], d["shared"], "shared_down", False)
    if d["dense_inter"] and d["dense_inter"] not in (d["moe_inter"], d["shared"]):
        add(2 * d["dense_inter"], d["h"], "dense_gate_up", True)
        add(d["h"], d["dense_inter"], "dense_down", False)
    add(d["vocab"], d["h"], "lm_head", True)
    return out


def load_models(models_dir):
    models = {}
    for path in sorted(glob.glob(os.path.join(models_dir, "*.json"))):
        try:
            with open(path) as f:
                doc = json.load(f)
            cfg = doc.get("config", doc)
            name = doc.get("name") or os.path.splitext(os.path.basename(path))[0]
            models[name] = cfg
        except Exception as e:  # a half-written file must not stop the probe
            print(f"gen_shapes: skipping {path}: {e}", file=sys.stderr)
    for name, cfg in BUILTIN.items():
        if name not in models:
            print(f"gen_shapes: {name} not in {models_dir}; using the built-in config", file=sys.stderr)
            models[name] = cfg
    return models


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--models-dir", default=os.path.join(here, "..", "profiles", "models"))
    ap.add_argument("--out-dir", default=here)
    args = ap.parse_args()

    models = load_models(args.models_dir)
    dense, grouped, seen, seen_g = [], [], {}, {}
    for name, cfg in models.items():
        try:
            d = model_dims(cfg)
        except (KeyError, TypeError, ValueError) as e:
            print(f"gen_shapes: {name}: not a decoder config I understand ({e}); skipped", file=sys.stderr)
            continue
        for n, k, tag in shapes_for(name, d):
            if (n, k) in seen:
                seen[(n, k)].append(tag)
            else:
                seen[(n, k)] = [tag]
                dense.append((n, k))
        if d["experts"] and d["moe_inter"]:
            max_e = min(64, d["experts"])
            for n, k, what in ((2 * d["moe_inter"], d["h"], "expert_gate_up"), (d["h"], d["moe_inter"], "expert_down")):
                if (n, k) not in seen_g:
                    seen_g[(n, k)] = len(grouped)
                    grouped.append([n, k, max_e, [f"{name}:{what}"]])
                else:
                    g = grouped[seen_g[(n, k)]]
                    g[2] = max(g[2], max_e)
                    g[3].append(f"{name}:{what}")

    with open(os.path.join(args.out_dir, "shapes.txt"), "w") as f:
        f.write("# n k tags  (generated by probe/gen_shapes.py from profiles/models; Y[m,n] = X[m,k] W[n,k]^T)\n")
        for n, k in dense:
            f.write(f"{n} {k} {';'.join(seen[(n, k)])}\n")
    with open(os.path.join(args.out_dir, "grouped_shapes.txt"), "w") as f:
        f.write("# n k max_experts tag  (generated by probe/gen_shapes.py; one GEMM per expert, strided batched)\n")
        for n, k, e, tags in grouped:
            f.write(f"{n} {k} {e} {';'.join(tags)}\n")
    print(f"gen_shapes: {len(models)} models, {len(dense)} dense shapes, {len(grouped)} expert shapes -> {args.out_dir}")


if __name__ == "__main__":
    main()
