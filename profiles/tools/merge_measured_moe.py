#!/usr/bin/env python3
"""Merges fused-MoE rows measured by probe/vllm/moe_bench.py into a GPU's kernel table (profiles/kernels/*.json),
for expert shapes the table lacks: each row keeps its source file, and the table's sources say what was added.
A shape (with its TP, EP and routing distribution) the table already holds is left as it was, and the measured one
is only a check of the harness against it (printed); with --replace=HxI[,HxI...] the measured rows of those shapes
take the imported rows' place (the imported times kept in each row's 'replaced'): for a shape whose import disagrees
with vLLM's own kernel, measured by moesim's probe at the same vLLM version, by more than 10% where the kernel is
compute-bound (Mixtral-8x7B's experts, 1.09-1.27x from 768 tokens up; docs/accuracy.md):

  python3 profiles/tools/merge_measured_moe.py --replace=4096x14336 \
      probe/results/2026-12-05-h200-moe-mixtral/moe.json profiles/kernels/h200-sxm-vllm-0.24.0.json

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

# --replace=HxI (hidden x intermediate, comma-separated): those shapes' measured rows replace the imported ones.
replace = {x for a in sys.argv[1:] if a.startswith("--replace=") for x in a.split("=", 1)[1].split(",")}
args = [a for a in sys.argv[1:] if not a.startswith("--replace=")]
src, table = args[0], args[1]
m = json.load(open(src))
whole = json.load(open(table))
dtype = m.get("dtype")
t = whole[dtype] if dtype else whole
rel = os.path.relpath(src, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(table)))))
key = lambda r: (r["hidden"], r["inter"], r["topk"], r["experts"], r["tp"], r["ep"], r["distribution"])
have = {key(r): r for r in t["moe"]}
added, replaced = [], []
for r in m["moe"]:
    k = key(r)
    if k in have:
        old = have[k]
        if old.get("source"):
            print("kept the table's row for %s, already measured (%s)" % (k, old["source"]))
            continue
        ratios = [u / old["us"][old["tokens"].index(n)] for n, u in zip(r["tokens"], r["us"]) if n in old["tokens"]]
        check = "measured / table: geometric mean %.3f, %.3f-%.3f over %d counts" % (
            math.exp(sum(map(math.log, ratios)) / len(ratios)), min(ratios), max(ratios), len(ratios))
        if "%dx%d" % k[:2] not in replace:
            print("kept the table's row for %s; %s" % (k, check))
            continue
        # --replace: moesim's measurement of the same vLLM version's kernel takes the imported row's place; the
        # imported times stay beside it.
        t["moe"][t["moe"].index(old)] = dict(r, source=rel, replaced={"tokens": old["tokens"], "us": old["us"], "check": check})
        replaced.append((k, check))
        print("replaced the table's row for %s; %s" % (k, check))
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
if replaced:
    t["sources"].append({
        "kind": "measurement",
        "what": "fused-MoE rows that replace the imported ones for %s (hidden x intermediate, top-k of experts; TP 1, EP 1, balanced routing; "
                "the imported times kept in each row's 'replaced', with the check: %s)" % (
                    ", ".join("%dx%d top-%d of %d" % k[:4] for k, _ in replaced), "; ".join(c for _, c in replaced)),
        "source": "%s: %s (probe/vllm/moe_bench.py --graph), vLLM %s, torch %s; merged by profiles/tools/merge_measured_moe.py --replace=%s" % (
            rel, m["what"], m["vllm"], m["torch"], ",".join(sorted(replace))),
        "date": m["date"], "host": "lent %s" % m["gpu"]})
if added:
    t["sources"] = [s for s in t["sources"] if s.get("source") != rel] + [{
        "kind": "measurement",
        "what": "fused-MoE rows for the expert shapes %s (hidden x intermediate, top-k of experts; TP 1, EP 1, %s routing)" % (
            ", ".join("%dx%d top-%d of %d" % k[:4] for k in added), " and ".join(sorted({k[6] for k in added}))),
        "source": "%s: %s (probe/vllm/%s%s), vLLM %s, torch %s; merged by profiles/tools/merge_measured_moe.py" % (
            rel, m["what"], "mxfp4_bench.py" if dtype else "moe_bench.py", (" --graph" if "graph" in m["what"] or m.get("graph") else ""), m["vllm"], m["torch"]),
        "date": m["date"], "host": "lent %s (device session 2026-12-04)" % m["gpu"]}]
if added or replaced:
    with open(table, "w") as f:
        json.dump(whole, f, separators=(",", ":"))
        f.write("\n")
print("added %d shape(s): %s; replaced %d" % (len(added), added, len(replaced)))
