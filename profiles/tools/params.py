#!/usr/bin/env python3
"""Sanity check: total (and active) parameter count computed from a shipped model profile's `config`.

Usage:  python3 profiles/tools/params.py [profiles/models/*.json]
Counts weights only (no buffers): embeddings, untied LM head, per-layer attention (incl. biases and QK-norm),
RMSNorms, dense MLP or MoE (gated experts = 3 matrices, router, shared experts and shared-expert gate), final norm.
Active = parameters touched by one token (top-k routed experts + shared experts + everything dense, embeddings
and LM head included).
"""
import json
import sys

TABLE_I = {  # paper Table I totals (B); OLMoE exact from the checkpoint manifest
    "mixtral-8x7b": 46.7, "qwen1.5-moe-a2.7b": 14.3, "olmoe-1b-7b": 6.9, "llada-8b": 8.0, "llada-moe-7b": 7.0,
}
TABLE_I_ACTIVE = {"mixtral-8x7b": 12.9, "qwen1.5-moe-a2.7b": 2.7, "olmoe-1b-7b": 1.3, "llada-8b": 8.0,
                  "llada-moe-7b": 1.4}


def g(c, *keys, default=None):
    for k in keys:
        if k in c and c[k] is not None:
            return c[k]
    return default


def count(c):
    mt = c.get("model_type")
    arch = (c.get("architectures") or [""])[0]
    if mt == "llada" and "d_model" in c:  # LLaDA-8B (OLMo-style keys)
        h, L, nh, nkv = c["d_model"], c["n_layers"], c["n_heads"], c.get("n_kv_heads") or c["n_heads"]
        hd = h // nh
        inter = c["mlp_hidden_size"]
        vocab = c.get("embedding_size") or c["vocab_size"]
        attn = h * nh * hd + 2 * h * nkv * hd + nh * hd * h
        if c.get("include_qkv_bias") or c.get("include_bias"):
            attn += nh * hd + 2 * nkv * hd
        mlp = 3 * h * inter  # llama block: ff_proj (gate), up_proj, ff_out
        layer = attn + mlp + 2 * h
        emb = vocab * h
        head = 0 if c.get("weight_tying") else vocab * h
        total = emb + head + L * layer + h
        return total, total
    h = c["hidden_size"]
    L = c["num_hidden_layers"]
    nh = c["num_attention_heads"]
    nkv = g(c, "num_key_value_heads", default=nh)
    hd = g(c, "head_dim", default=h // nh)
    vocab = c["vocab_size"]
    tied = bool(c.get("tie_word_embeddings", False))

    # attention
    if "kv_lora_rank" in c:  # DeepSeek MLA
        qn, qr, vd, kvr = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"]
        qlr = c.get("q_lora_rank")
        if qlr:
            q = h * qlr + qlr + qlr * nh * (qn + qr)
        else:
            q = h * nh * (qn + qr)
        kv = h * (kvr + qr) + kvr + kvr * nh * (qn + vd)
        attn = q + kv + nh * vd * h
    else:
        attn = h * nh * hd + 2 * h * nkv * hd + nh * hd * h
        if mt == "qwen2_moe" or c.get("qkv_bias") or c.get("attention_bias"):
            attn += nh * hd + 2 * nkv * hd
        if mt == "olmoe":  # q_norm/k_norm over the whole projection
            attn += nh * hd + nkv * hd
        elif mt == "qwen3_moe" or c.get("qk_layernorm"):  # per-head q_norm/k_norm
            attn += 2 * hd
    norms = 2 * h

    # feed-forward per layer: returns (total, active)
    def dense(inter):
        return 3 * h * inter

    E = g(c, "num_local_experts", "num_experts", "n_routed_experts", default=0)
    k = g(c, "num_experts_per_tok", default=0)
    moe_inter = g(c, "moe_intermediate_size", "expert_intermediate_size", default=c.get("intermediate_size"))
    shared = 0
    if c.get("shared_expert_intermediate_size"):
        shared = dense(c["shared_expert_intermediate_size"]) + (h if mt == "qwen2_moe" else 0)  # + sigmoid gate
    if c.get("n_shared_experts"):
        shared = dense(c["n_shared_experts"] * moe_inter)
    router = E * h + (E if c.get("topk_method") == "noaux_tc" else 0)  # e_score_correction_bias
    moe_total = E * dense(moe_inter) + router + shared
    moe_active = k * dense(moe_inter) + router + shared

    dense_layers = set()
    if "first_k_dense_replace" in c:
        dense_layers = set(range(c["first_k_dense_replace"]))
    if c.get("mlp_only_layers"):
        dense_layers |= set(c["mlp_only_layers"])
    step = c.get("decoder_sparse_step")
    if step and step > 1:
        dense_layers |= {i for i in range(L) if (i + 1) % step != 0}
    if isinstance(c.get("moe_layer_freq"), list):
        dense_layers |= {i for i, f in enumerate(c["moe_layer_freq"]) if not f}
    dense_inter = g(c, "dense_intermediate_size", "intermediate_size")

    total = active = 0
    for i in range(L):
        if i in dense_layers:
            f_t = f_a = dense(dense_inter)
        else:
            f_t, f_a = moe_total, moe_active
        total += attn + norms + f_t
        active += attn + norms + f_a
    emb = vocab * h
    head = 0 if tied else vocab * h
    total += emb + head + h
    active += emb + head + h
    return total, active


def main(paths):
    print(f"{'model':<20}{'total':>16}{'Table I':>9}{'diff':>8}{'active':>15}{'T.I act':>9}")
    for p in paths:
        d = json.load(open(p))
        t, a = count(d["config"])
        ref = TABLE_I.get(d["name"])
        refa = TABLE_I_ACTIVE.get(d["name"])
        diff = f"{(t / 1e9 - ref) / ref * 100:+.1f}%" if ref else ""
        print(f"{d['name']:<20}{t:>16,}{(ref or ''):>9}{diff:>8}{a/1e9:>14.2f}B{(refa or ''):>9}")


if __name__ == "__main__":
    import glob
    main(sys.argv[1:] or sorted(glob.glob("profiles/models/*.json")))
