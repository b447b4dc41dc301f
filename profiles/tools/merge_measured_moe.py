#!/usr/bin/env python3
"""Merges fused-MoE rows measured by probe/vllm/moe_bench.py into a GPU's kernel table (profiles/kernels/*.json),
for expert shapes the table lacks: each row keeps its source file, and the table's sources say what was added.
A shape (with its TP, EP and routing distribution) the table already holds is left as it was: the imported rows
stay the reference, and the measured one is only a check of the harness against them (printed).

  python3 profiles/tools/merge_measured_moe.py probe/results/2026-12-04-h200-moe/moe-h200-graph.json \
      profiles/kernels/h200-sxm-vllm-0.24.0.json
  python3 profiles/tools/merge_measured_moe.py \
      probe/results/2026-12-04-h200-moe-concentrated/moe-h200-graph-concentrated.json \
      profiles/kernels/h200-sxm-vllm-0.24.0.json

A routing distribution is part of a row's key, so rows of another distribution (concentrated: every token on the
same top-k experts) add anchors to a shape the table holds. Rows of a quantized kernel (probe/vllm/mxfp4_bench.py's
"dtype": "w4a16_mxfp4") go into the table's sub-table of that dtype:

  python3 profiles/tools/merge_measured_moe.py probe/results/2026-12-04-h200-mxfp4/mxfp4-concentrated.json \
      profiles/kernels/h200-sxm-vllm-0.24.0.json
"""
import json
import math
import os
import sys

src, table = sys.argv[1], sys.argv[2]
m = json.load(open(src))
whole = json.load(open(table))
dtype = m.get("dtype")
t = whole[dtype] if dtype else whole
rel = os.path.relpath(src, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(table)))))
key = lambda r: (r["hidden"], r["inter"], r["topk"], r["experts"], r["tp"], r["ep"], r["distribution"])
have = {key(r): r for r in t["moe"]}
added = []
for r in m["moe"]:
    k = key(r)
    if k in have:
        old = have[k]
        ratios = [u / old["us"][old["tokens"].index(n)] for n, u in zip(r["tokens"], r["us"]) if n in old["tokens"]]
        print("kept the table's row for %s; measured / table: geometric mean %.3f, %.3f-%.3f over %d counts" % (
            k, math.exp(sum(map(math.log, ratios)) / len(ratios)), min(ratios), max(ratios), len(ratios)))
        continue
    if any(key(x) == k and x.get("source") == rel for x in t["moe"]):
        continue
    t["moe"].append(dict(r, source=rel))
    added.append(k)
rkey = lambda r: (r["experts"], r["topk"], r["ep"], r["distribution"])
have_r = {rkey(r) for r in t["moe_routing"]}
for r in m["moe_routing"]:
    if rkey(r) not in have_r and any((k[3], k[2], k[5], k[6]) == rkey(r) for k in added):
        t["moe_routing"].append(dict(r, source=rel))
if added:
    t["sources"] = [s for s in t["sources"] if s.get("source") != rel] + [{
        "kind": "measurement",
        "what": "fused-MoE rows for the expert shapes %s (hidden x intermediate, top-k of experts; TP 1, EP 1, %s routing)" % (
            ", ".join("%dx%d top-%d of %d" % k[:4] for k in added), " and ".join(sorted({k[6] for k in added}))),
        "source": "%s: %s (probe/vllm/%s%s), vLLM %s, torch %s; merged by profiles/tools/merge_measured_moe.py" % (
            rel, m["what"], "mxfp4_bench.py" if dtype else "moe_bench.py", (" --graph" if "graph" in m["what"] or m.get("graph") else ""), m["vllm"], m["torch"]),
        "date": m["date"], "host": "lent %s (device session 2026-12-04)" % m["gpu"]}]
    with open(table, "w") as f:
        json.dump(whole, f, separators=(",", ":"))
        f.write("\n")
print("added %d shape(s): %s" % (len(added), added))
