#!/usr/bin/env python3
"""Where a profiled window of vLLM engine steps spent its GPU time (vllm_bench.py's "profile_steps"), per step, in
moesim's components: attention kernels, the fused MoE (routing, alignment, expert GEMMs, activation, the top-k sum),
other GEMMs (QKV/output projections, router, LM head), elementwise (norms, rotary, residual adds), sampling and copies.

  python3 probe/vllm/kernels.py probe/results/2026-12-04-h200-vllm-g/*/k-*[0-9].json
  python3 probe/vllm/kernels.py --top 12 FILE      # also the busiest kernels by name

Compare with `moesim explain --model M --gpu G --decode-seqs N --kv-len L` (per layer and whole step). The sorting of
kernel names into components is by name pattern and is printed with --top to be checked.
"""
import json
import re
import sys

RULES = [
    ("copies", r"Memcpy|Memset"),
    ("attention", r"flash|FlashAttn|reshape_and_cache|prepare_varlen|unified_attention|paged_attention|mla"),
    ("fused MoE", r"matmul_ogs|fused_moe|_reduce_grouped|routing|topkGating|moe_align|count_and_sort|moe_sum|bitmatrix|"
                  r"expt_|_finalize|compute_expt|act_and_mul|ReduceOp<c10::BFloat16"),
    ("GEMMs", r"nvjet|gemm|cublas|splitKreduce|cutlass::Kernel|xmma"),
    ("sampling", r"SoftMax|ArgMax|distribution|exponential|argmax|sampl|topk|sort|gather|index"),
]


def component(name):
    for c, pat in RULES:
        if re.search(pat, name, re.I):
            return c
    return "elementwise"


def main(argv):
    top = 0
    if argv[:1] == ["--top"]:
        top, argv = int(argv[1]), argv[2:]
    for f in argv:
        d = json.load(open(f))
        g = d.get("gpu_profile")
        if not g or "error" in g:
            print("%s: no GPU profile (%s)" % (f, (g or {}).get("error", "the run asked for none")))
            continue
        n = g["steps"]
        by = {}
        for name, launches, us in g["kernel_us"]:
            c = component(name)
            t = by.setdefault(c, [0.0, 0.0])
            t[0] += us / n
            t[1] += launches / n
        run = d.get("run", {})
        print("%s: %d steps (%s requests x %s in / %s out); GPU busy %.0f us a step, span %.0f us%s" % (
            f, n, run.get("n"), run.get("in"), run.get("out"), g["busy_us"] / n, g["span_us"] / n, "; " + g["note"] if g.get("note") else ""))
        for c, (us, k) in sorted(by.items(), key=lambda x: -x[1][0]):
            print("    %-12s %9.1f us  %6.1f kernels" % (c, us, k))
        for name, launches, us in g["kernel_us"][:top]:
            print("      %9.1f us %5.1f x  [%s] %s" % (us / n, launches / n, component(name), name[:100]))


if __name__ == "__main__":
    main(sys.argv[1:])
