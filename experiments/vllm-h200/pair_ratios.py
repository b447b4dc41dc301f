#!/usr/bin/env python3
"""The models of each probe/vllm/pairhost.py session against each other: their steps without CUDA graphs, measured
against moesim's price, and each model's ratio over OLMoE-1B-7B's in the same rounds.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json v.json --steps steps.csv
  python3 experiments/vllm-h200/pair_ratios.py steps.csv [--meter LABEL]

A pairhost.py session ran its models in turns, seconds apart, with every engine core on one vCPU, so the vCPU's speed
fell on them alike; the session's host-speed reading (hostspeed.py's workload) says that speed only to within 10-20%
(docs/vllm.md). Each model's measured / predicted time of its graphless steps therefore carries the vCPU's state, while
its ratio over OLMoE's (host-bound: 16 layers, 8-13 ms of GPU time against 30-40 ms of host) does not: it says whether
moesim prices that model's host work right against OLMoE's, whatever the vCPU did. A diagnostic, not an input.
--meter names the entry the others are divided by, where a session's entries are one model under several engine
configurations (pairhost.py's MODEL+key=value+... labels); a session without that entry has no ratio column.

Steps are split into those with prompt chunks only (lone prompts, a batch's first step) and those with prompt chunks
and decodes (the mixed steps served runs are made of); `gpu/host` is moesim's predicted GPU over host time of those
steps (near or above 1, the step waits on the GPU and the ratio says little of the host).
"""
import collections
import csv
import statistics
import sys

METER = "olmoe-1b-7b"


def main():
    args = sys.argv[1:]
    meter_label = METER
    if len(args) == 3 and args[1] == "--meter":
        meter_label = args[2]
    elif len(args) != 1:
        sys.exit(__doc__.split("\n\n")[1])
    steps = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in csv.DictReader(open(args[0])):
        parts = r["id"].split("/")
        # Pair entries: <prefix>/pair-.../<model>/steps
        if len(parts) != 4 or not parts[1].startswith("pair-") or r["recorded_mode"] != "NONE" or int(r["prefills"]) == 0:
            continue
        kind = "with decodes" if int(r["decodes"]) > 0 else "prompts only"
        steps[(parts[0] + "/" + parts[1], parts[2])][kind].append(
            (float(r["measured_ms"]), float(r["predicted_ms"]), float(r["predicted_gpu_ms"]) / max(float(r["predicted_host_ms"]), 1e-9)))
    if not steps:
        sys.exit("pair_ratios.py: %s holds no pairhost.py step of a model without CUDA graphs" % args[0])
    meter_name = "OLMoE's" if meter_label == METER else meter_label + "'s"
    print("| session | model | steps | prompts only: measured / predicted | with decodes | over %s, prompts only / with decodes | gpu/host |" % meter_name)
    print("|---|---|---|---|---|---|---|")
    for session in sorted({s for s, _ in steps}):
        ratio = {}
        for (s, model), kinds in steps.items():
            if s == session:
                ratio[model] = {k: statistics.median(m / p for m, p, _ in v) for k, v in kinds.items()}
        meter = ratio.get(meter_label, {})
        for model in sorted(ratio, key=lambda m: (m != meter_label, m)):
            kinds = steps[(session, model)]
            n = sum(len(v) for v in kinds.values())
            cells = ["%.3f" % ratio[model][k] if k in ratio[model] else "-" for k in ("prompts only", "with decodes")]
            rel = ["%.3f" % (ratio[model][k] / meter[k]) if k in ratio[model] and k in meter and model != meter_label else "-"
                   for k in ("prompts only", "with decodes")]
            gh = statistics.median(x for v in kinds.values() for _, _, x in v)
            print("| %s | %s | %d | %s | %s | %s / %s | %.2f |" % (session, model, n, cells[0], cells[1], rel[0], rel[1], gh))


if __name__ == "__main__":
    main()
