#!/usr/bin/env python3
"""Generator for the model profiles added by issue 15 (quantized MoE models served on 8-64 GPUs).

Each config is the model repository's config.json as transcribed on 2026-11-29; no direct Hugging Face download was
possible from the build machine, so every profile's `sources` names the Hugging Face URL, the public copies its
shape keys were checked against, and what could not be re-confirmed. DeepSeek-R1 is DeepSeek-V3's architecture
(same config apart from the name). Run from the repository root:  python3 profiles/tools/make_models_issue15.py
"""
import copy
import json
import os

DATE = "2026-11-29"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
FP8_BLOCK = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]}


def hf(repo):
    return f"https://huggingface.co/{repo}/blob/main/config.json"


def unconfirmed(keys):
    return {"what": f"config keys {keys}", "kind": "derived",
            "source": "Transcribed from the released file as known to us; not re-confirmed from a copy on 2026-11-29 "
                      "(none of them changes a size moesim reads)", "date": DATE}


MODELS = []

with open(os.path.join(OUT, "deepseek-v3.json")) as f:
    v3 = json.load(f)
r1 = copy.deepcopy(v3["config"])
MODELS.append({
    "name": "deepseek-r1", "display_name": "DeepSeek-R1", "hf_repo": "deepseek-ai/DeepSeek-R1", "generation": "autoregressive",
    "sources": [
        {"what": "config", "kind": "datasheet",
         "source": hf("deepseek-ai/DeepSeek-R1") + "; DeepSeek-R1 is built on DeepSeek-V3-Base with the same architecture "
                   "(DeepSeek-R1 model card: 671B total, 37B activated, 'based on DeepSeek-V3-Base'); the config is "
                   "deepseek-v3.json's (same keys and values, including the FP8 128x128 block quantization_config)", "date": DATE},
    ],
    "config": r1,
})

MODELS.append({
    "name": "kimi-k2", "display_name": "Kimi-K2-Instruct", "hf_repo": "moonshotai/Kimi-K2-Instruct", "generation": "autoregressive",
    "sources": [
        {"what": "config", "kind": "datasheet",
         "source": hf("moonshotai/Kimi-K2-Instruct") + "; DeepSeek-V3 architecture (MLA) with 384 routed experts top-8, 1 shared, "
                   "64 heads, first_k_dense_replace 1, vocab 163840, released as FP8 with 128x128 blocks. Shape keys (hidden 7168, "
                   "intermediate 18432, moe_intermediate 2048, 61 layers, 64 heads, kv_lora 512, q_lora 1536, qk_nope 128, "
                   "qk_rope 64, v 128, 384 experts, 1 shared, top-8, first_k_dense_replace 1, n_group 1, topk_group 1, "
                   "routed_scaling_factor 2.827, vocab 163840) match the kimi_k2 text_config of public Kimi-K2.5/K2-Thinking "
                   "config copies found with the code search (test fixtures). Model card: 1T total, 32B activated.", "date": DATE},
        unconfirmed("max_position_embeddings (131072), rope_scaling, bos/eos ids, torch_dtype, quantization_config (fp8, 128x128 blocks, as DeepSeek-V3's)"),
    ],
    "config": {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "kimi_k2", "attention_bias": False,
        "bos_token_id": 163584, "eos_token_id": 163585, "first_k_dense_replace": 1, "hidden_act": "silu", "hidden_size": 7168,
        "intermediate_size": 18432, "kv_lora_rank": 512, "max_position_embeddings": 131072, "moe_intermediate_size": 2048,
        "moe_layer_freq": 1, "n_group": 1, "n_routed_experts": 384, "n_shared_experts": 1, "norm_topk_prob": True,
        "num_attention_heads": 64, "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 64,
        "num_nextn_predict_layers": 0, "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
        "quantization_config": FP8_BLOCK, "rms_norm_eps": 1e-06, "rope_theta": 50000.0,
        "rope_scaling": {"beta_fast": 1.0, "beta_slow": 1.0, "factor": 32.0, "mscale": 1.0, "mscale_all_dim": 1.0,
                         "original_max_position_embeddings": 4096, "type": "yarn"},
        "routed_scaling_factor": 2.827, "scoring_func": "sigmoid", "tie_word_embeddings": False, "topk_group": 1,
        "topk_method": "noaux_tc", "torch_dtype": "bfloat16", "v_head_dim": 128, "vocab_size": 163840,
    },
})

qwen = {
    "architectures": ["Qwen3MoeForCausalLM"], "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 151643,
    "decoder_sparse_step": 1, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 4096,
    "initializer_range": 0.02, "intermediate_size": 12288, "max_position_embeddings": 40960, "max_window_layers": 94,
    "mlp_only_layers": [], "model_type": "qwen3_moe", "moe_intermediate_size": 1536, "norm_topk_prob": True,
    "num_attention_heads": 64, "num_experts": 128, "num_experts_per_tok": 8, "num_hidden_layers": 94,
    "num_key_value_heads": 4, "output_router_logits": False, "rms_norm_eps": 1e-06, "rope_scaling": None,
    "rope_theta": 1000000.0, "router_aux_loss_coef": 0.001, "sliding_window": None, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16", "use_cache": True, "use_sliding_window": False, "vocab_size": 151936,
}
qsrc = ("94 layers, hidden 4096, 64 query / 4 KV heads, head_dim 128, 128 experts top-8, moe_intermediate 1536, vocab 151936, "
        "max_position_embeddings 40960; Qwen3 technical report (arXiv 2505.09388) Table 2: 94 layers, 64/4 heads, 128 experts, "
        "8 activated, 235B total / 22B activated")
MODELS.append({
    "name": "qwen3-235b-a22b", "display_name": "Qwen3-235B-A22B", "hf_repo": "Qwen/Qwen3-235B-A22B", "generation": "autoregressive",
    "sources": [{"what": "config", "kind": "datasheet", "source": hf("Qwen/Qwen3-235B-A22B") + "; " + qsrc, "date": DATE},
                unconfirmed("bos/eos ids, max_window_layers, rope_theta, router_aux_loss_coef")],
    "config": qwen,
})
qfp8 = dict(qwen, quantization_config=FP8_BLOCK)
MODELS.append({
    "name": "qwen3-235b-a22b-fp8", "display_name": "Qwen3-235B-A22B-FP8", "hf_repo": "Qwen/Qwen3-235B-A22B-FP8", "generation": "autoregressive",
    "sources": [{"what": "config", "kind": "datasheet", "source": hf("Qwen/Qwen3-235B-A22B-FP8") + "; the bf16 model's config with "
                 "quantization_config fp8 e4m3, dynamic activations, 128x128 weight blocks (the FP8 model card: 'fine-grained fp8 "
                 "quantization with block size 128'); " + qsrc, "date": DATE},
                unconfirmed("bos/eos ids, max_window_layers, rope_theta, router_aux_loss_coef")],
    "config": qfp8,
})

layer_types = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(36)]
MODELS.append({
    "name": "gpt-oss-120b", "display_name": "gpt-oss-120b", "hf_repo": "openai/gpt-oss-120b", "generation": "autoregressive",
    "sources": [
        {"what": "config", "kind": "datasheet",
         "source": hf("openai/gpt-oss-120b") + "; 36 layers, hidden 2880, 64 query heads / 8 KV heads of dim 64, 128 experts top-4 "
                   "of width 2880, vocab 201088, attention alternating full and 128-token sliding window, MXFP4 experts with "
                   "attention, router, embeddings and LM head in bf16 (quantization_config modules_to_not_convert); checked "
                   "against the gpt-oss model card (OpenAI, 2025-08-05: 116.8B total / 5.1B active parameters, 36 layers, "
                   "128 experts, top-4, checkpoint ~60.8 GiB) and public re-implementations found with the code search "
                   "(MLX GPTOSSConfig: num_experts 128, experts_per_token 4, vocab 201088, hidden 2880, intermediate 2880, "
                   "head_dim 64, 64/8 heads, sliding_window 128)", "date": DATE},
        unconfirmed("eos/pad ids, rope_scaling details, router_aux_loss_coef, swiglu_limit"),
        {"what": "sliding-window layers", "kind": "derived",
         "source": "moesim counts a full-length KV cache in every layer (the 18 sliding-window layers need only 128 tokens): "
                   "KV capacity is understated for gpt-oss, never overstated", "date": DATE},
    ],
    "config": {
        "architectures": ["GptOssForCausalLM"], "attention_bias": True, "attention_dropout": 0.0, "eos_token_id": 200002,
        "experts_per_token": 4, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2880, "initial_context_length": 4096,
        "initializer_range": 0.02, "intermediate_size": 2880, "layer_types": layer_types, "max_position_embeddings": 131072,
        "model_type": "gpt_oss", "num_attention_heads": 64, "num_experts_per_tok": 4, "num_hidden_layers": 36,
        "num_key_value_heads": 8, "num_local_experts": 128, "output_router_logits": False, "pad_token_id": 199999,
        "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                                           "model.embed_tokens", "lm_head"], "quant_method": "mxfp4"},
        "rms_norm_eps": 1e-05,
        "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0, "original_max_position_embeddings": 4096,
                         "rope_type": "yarn", "truncate": False},
        "rope_theta": 150000, "router_aux_loss_coef": 0.9, "sliding_window": 128, "swiglu_limit": 7.0,
        "tie_word_embeddings": False, "use_cache": True, "vocab_size": 201088,
    },
})

def llama4(experts, step, positions, qk_norm):
    return {
        "architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
        "text_config": {
            "attention_bias": False, "attention_chunk_size": 8192, "head_dim": 128, "hidden_act": "silu", "hidden_size": 5120,
            "interleave_moe_layer_step": step, "intermediate_size": 8192, "intermediate_size_mlp": 16384,
            "max_position_embeddings": positions, "model_type": "llama4_text", "num_attention_heads": 40,
            "num_experts_per_tok": 1, "num_hidden_layers": 48, "num_key_value_heads": 8, "num_local_experts": experts,
            "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": False, "use_qk_norm": qk_norm,
            "vocab_size": 202048,
        },
        "tie_word_embeddings": False,
    }


L4_NOTE = ("language model only (text_config; the vision encoder is not simulated). Llama4TextMoe adds one always-on "
           "shared expert of the routed width (8192) to every MoE layer; non-MoE layers use intermediate_size_mlp 16384. "
           "Shape keys checked against the Llama 4 model cards (Meta, 2025-04-05: 17B active; Scout 16 experts, 109B total; "
           "Maverick 128 experts, 400B total) and vLLM's llama4.py (MoE layer when (i + 1) % interleave_moe_layer_step == 0)")
MODELS.append({
    "name": "llama-4-scout", "display_name": "Llama-4-Scout-17B-16E-Instruct", "hf_repo": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "generation": "autoregressive",
    "sources": [{"what": "config", "kind": "datasheet", "source": hf("meta-llama/Llama-4-Scout-17B-16E-Instruct") + "; " + L4_NOTE, "date": DATE},
                unconfirmed("max_position_embeddings (10485760), attention_chunk_size, rope_theta, use_qk_norm"),
                {"what": "chunked-attention layers", "kind": "derived", "source": "moesim counts a full-length KV cache in every layer "
                 "(Llama 4's chunked local-attention layers keep at most 8192 tokens): KV capacity is understated, never overstated", "date": DATE}],
    "config": llama4(16, 1, 10485760, True),
})
MODELS.append({
    "name": "llama-4-maverick", "display_name": "Llama-4-Maverick-17B-128E-Instruct", "hf_repo": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "generation": "autoregressive",
    "sources": [{"what": "config", "kind": "datasheet", "source": hf("meta-llama/Llama-4-Maverick-17B-128E-Instruct") + "; " + L4_NOTE, "date": DATE},
                unconfirmed("max_position_embeddings (1048576), attention_chunk_size, rope_theta, use_qk_norm")],
    "config": llama4(128, 2, 1048576, False),
})

for m in MODELS:
    out = {"version": 1, "name": m["name"], "display_name": m["display_name"], "hf_repo": m["hf_repo"],
           "generation": m["generation"], "sources": m["sources"], "config": m["config"]}
    with open(os.path.join(OUT, m["name"] + ".json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print("wrote", m["name"])
