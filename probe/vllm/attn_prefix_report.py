#!/usr/bin/env python3
"""The shared-prefix read ratio from probe/vllm/attn_prefix.py's timings (a GPU profile's shared_kv_read_ratio).

  python3 probe/vllm/attn_prefix_report.py probe/results/<folder>/attn-prefix.json

For each batch of B sequences with P shared prefix tokens and S of their own, with t_own the kernel's time over the
S tokens alone (the P = 0 row), t_distinct over every sequence's own copy of the prefix and t_shared over one shared
copy: the prefix adds D = t_distinct - t_own read from HBM by all B sequences, and with one copy the first reader
still reads it from HBM (D / B) while the B - 1 others re-read it. The ratio r, the time a re-read token costs over a
token of a sequence's own (as moesim prices it: `BatchShape.decodeSharedContext` counts the B - 1 re-readers only):
  t_shared - t_own = D / B + r D (B - 1) / B.
Printed per case, then the median over the cases where the prefix's own copies add at least 20 us (smaller
differences are mostly the kernel's fixed cost and timing noise), per model and in all.
"""
import json
import statistics
import sys


def main():
    d = json.load(open(sys.argv[1]))
    cases = d["cases"]
    own = {(c["model"], c["batch"], c["own"]): c["distinct_us"] for c in cases if c["prefix"] == 0}
    print("%s, %s SMs, L2 %s bytes, %s" % (d["device"], d["sms"], d["l2_bytes"], d["date"]))
    print("| model | batch | prefix | own | t_own us | t_distinct us | t_shared us | shared / distinct | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    kept = {}
    for c in cases:
        if c["prefix"] == 0:
            continue
        t0 = own.get((c["model"], c["batch"], c["own"]))
        if t0 is None:
            continue
        extra, b = c["distinct_us"] - t0, c["batch"]
        r = (c["shared_us"] - t0 - extra / b) / (extra * (b - 1) / b) if extra > 0 else float("nan")
        print("| %s | %d | %d | %d | %.1f | %.1f | %.1f | %.3f | %s |" % (
            c["model"], c["batch"], c["prefix"], c["own"], t0, c["distinct_us"], c["shared_us"], c["shared_us"] / c["distinct_us"],
            "%.3f" % r if extra >= 20 else "(%.3f)" % r))
        if extra >= 20:
            kept.setdefault(c["model"], []).append(r)
    every = [r for v in kept.values() for r in v]
    for m, v in kept.items():
        print("%s: median ratio %.3f over %d cases (%.3f-%.3f)" % (m, statistics.median(v), len(v), min(v), max(v)))
    if every:
        print("all: median ratio %.3f over %d cases" % (statistics.median(every), len(every)))


if __name__ == "__main__":
    main()
