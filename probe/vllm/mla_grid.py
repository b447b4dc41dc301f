#!/usr/bin/env python3
"""Per layer, the MLA attention kernels and the grouped top-k router of profiled vLLM step windows (vllm_bench.py's
"profile_steps") of an MLA model such as DeepSeek-V2-Lite, with each window's decode sequences and mean context read
from the run's step trace (the busy steps FIRST .. FIRST + COUNT - 1).

  python3 probe/vllm/mla_grid.py --layers 27 --moe-layers 26 probe/results/2026-12-04-h200-vllm-k/dsv2lite-mla-grid/k-*[0-9].json
  python3 probe/vllm/mla_grid.py ... --json OUT.json

Kernels counted (vLLM 0.24.0 on an H200, bf16 KV cache): MLA decode and prefill = FlashAttention 3's forward and its
split-KV combine (FLASH_ATTN_MLA decode, FlashAttention MLA prefill); cache write = concat_and_cache_mla; router =
the grouped top-k's torch.topk kernels (gatherTopK and the radix select of larger inputs) and its fused softmax.
"""
import argparse
import json
import re
import statistics

MLA = re.compile(r"FlashAttnFwd|flash_fwd|flash::")
CACHE = re.compile(r"concat_and_cache_mla")
ROUTER = re.compile(r"gatherTopK|sbtopk|mbtopk|radixFindKthValues|radixSelect|computeBlockwise|softmax_exp_max|_softmax__to_copy_arange")


def window(result_file):
    d = json.load(open(result_file))
    g, run = d.get("gpu_profile"), d["run"]
    if not g or "error" in g:
        return None
    trace = json.load(open(result_file[:-5] + ".steps.json"))
    col = {k: i for i, k in enumerate(trace["columns"])}
    first, count = run["profile_steps"]
    steps = [s for s in trace["steps"] if s[col["tok"]] > 0][first:first + count]
    per = {"mla": 0.0, "cache": 0.0, "router": 0.0}
    for name, _launches, us in g["kernel_us"]:
        for key, pat in (("mla", MLA), ("cache", CACHE), ("router", ROUTER)):
            if pat.search(name):
                per[key] += us / g["steps"]
                break
    return {"run": run["id"], "decode_seqs": statistics.mean(s[col["dn"]] for s in steps),
            "mean_context": statistics.mean(s[col["dctx"]] / max(1, s[col["dn"]]) for s in steps),
            "prefill_tokens": statistics.mean(s[col["pt"]] for s in steps), "modes": sorted({s[col["cg"]] for s in steps}),
            "busy_us_per_step": g["busy_us"] / g["steps"], **{k + "_us_per_step": v for k, v in per.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--layers", type=int, required=True, help="layers with MLA attention")
    ap.add_argument("--moe-layers", type=int, required=True, help="layers with a routed MoE")
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args()
    rows = []
    print("| run | decode seqs | mean context | prefill tokens | graphs | MLA kernels us/layer | cache write | router us/MoE layer |")
    print("|---|---|---|---|---|---|---|---|")
    for f in a.files:
        w = window(f)
        if w is None:
            print("| %s | no GPU profile |" % f)
            continue
        w["mla_us_per_layer"] = round(w["mla_us_per_step"] / a.layers, 2)
        w["cache_us_per_layer"] = round(w["cache_us_per_step"] / a.layers, 2)
        w["router_us_per_moe_layer"] = round(w["router_us_per_step"] / a.moe_layers, 2)
        rows.append(w)
        print("| %s | %.0f | %.0f | %.0f | %s | %.1f | %.1f | %.1f |" % (
            w["run"], w["decode_seqs"], w["mean_context"], w["prefill_tokens"], "+".join(w["modes"]),
            w["mla_us_per_layer"], w["cache_us_per_layer"], w["router_us_per_moe_layer"]))
    if a.json:
        json.dump({"layers": a.layers, "moe_layers": a.moe_layers, "rows": rows}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
