#!/usr/bin/env python3
"""One LLaDA-MoE denoising forward (the whole model, batch 1, full bidirectional sequence) on one GPU, with the
expert loop of the released modelling code, timed at several sequence lengths.

LLaDA-MoE's architecture is OLMoE's (q/k norms, 64 experts of 1024, top-8, 16 layers of 2048) with bidirectional
attention and a 157,184-token vocabulary (profiles/models/llada-moe-7b.json). The model is built as Transformers'
OlmoeForCausalLM with LLaDA-MoE's sizes and random bf16 weights, attention made non-causal, and the experts' forward
replaced by the released code's loop: every expert in turn, `torch.where` on its routing mask (a host-device sync),
gate, up and down projections as three separate GEMMs, weighted `index_add_`. Each row: the median wall time of
--reps forwards (synchronized) after two warm-ups; `grouped_mm_ms` is the same forward with Transformers' own
grouped_mm experts, for comparison. moesim's prediction of the same forward: experiments/h200-hf/llada_moe_forward_compare.py.
"""
import argparse
import datetime
import json
import os
import statistics
import time

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", default="64,128,256,512,1024")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--layers", type=int, default=None, help="fewer layers (testing the script only)")
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F
    from transformers import OlmoeConfig, OlmoeForCausalLM
    from transformers.models.olmoe import modeling_olmoe as mo

    c = json.load(open(os.path.join(here, "..", "..", "profiles", "models", "llada-moe-7b.json")))["config"]
    cfg = OlmoeConfig(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], intermediate_size=c["expert_intermediate_size"],
                      num_hidden_layers=args.layers or c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                      num_key_value_heads=c["num_key_value_heads"], num_experts=c["num_experts"],
                      num_experts_per_tok=c["num_experts_per_tok"], max_position_embeddings=c["max_position_embeddings"],
                      rms_norm_eps=c["rms_norm_eps"], norm_topk_prob=False)
    cuda = args.device == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    torch.manual_seed(0)
    with torch.device(args.device):
        model = OlmoeForCausalLM._from_config(cfg, dtype=dtype)
    model.eval()
    with torch.no_grad():  # a random router (normal, std 0.02), so routing is near uniform rather than degenerate
        for m in model.modules():
            if isinstance(m, mo.OlmoeTopKRouter):
                m.weight.normal_(0.0, 0.02)
    for m in model.modules():
        if isinstance(m, mo.OlmoeAttention):
            m.is_causal = False
    I = cfg.intermediate_size

    def released_loop(self, hidden_states, top_k_index, top_k_weights):
        final = torch.zeros_like(hidden_states)
        mask = F.one_hot(top_k_index, num_classes=self.num_experts).permute(2, 1, 0)
        for e in range(self.num_experts):
            idx, top_x = torch.where(mask[e])
            cur = hidden_states[None, top_x].reshape(-1, hidden_states.shape[-1])
            w = self.gate_up_proj[e]
            h = self.act_fn(F.linear(cur, w[:I])) * F.linear(cur, w[I:])
            out = F.linear(h, self.down_proj[e]) * top_k_weights[top_x, idx, None]
            final.index_add_(0, top_x, out.to(hidden_states.dtype))
        return final

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def timed(L, reps):
        ids = torch.randint(0, cfg.vocab_size, (1, L), device=args.device)
        ts = []
        with torch.inference_mode():
            for i in range(reps + 2):
                sync()
                t = time.perf_counter()
                model(input_ids=ids, use_cache=False, logits_to_keep=0)
                sync()
                if i >= 2:
                    ts.append((time.perf_counter() - t) * 1000)
        return statistics.median(ts)

    rows = []
    orig = mo.OlmoeExperts.forward
    for L in [int(x) for x in args.lengths.split(",")]:
        mo.OlmoeExperts.forward = released_loop
        loop_ms = timed(L, args.reps)
        mo.OlmoeExperts.forward = orig
        model.set_experts_implementation("grouped_mm") if cuda else None
        grouped_ms = timed(L, args.reps) if cuda else None
        row = {"seq_len": L, "batch": 1, "released_loop_ms": round(loop_ms, 2),
               "grouped_mm_ms": round(grouped_ms, 2) if grouped_ms else None}
        rows.append(row)
        print(f"[llada-forward] {row}", flush=True)
    meta = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if cuda else "cpu",
            "layers": cfg.num_hidden_layers, "method": __doc__}
    json.dump({"meta": meta, "rows": rows}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
