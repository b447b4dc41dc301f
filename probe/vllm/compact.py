#!/usr/bin/env python3
"""Rounds the per-request timing lists of serving result files (itls, ttfts, send_times; seconds) to microseconds,
in place, written compactly: the files keep every value vLLM's benchmark format has, at the precision the clock
measures to, in about half the bytes (the repository travels to the GPU host with each device call, 64 MiB in all).

  python3 probe/vllm/compact.py probe/results/*/*/s-*.json
"""
import json
import sys


def r6(x):
    return [r6(v) for v in x] if isinstance(x, list) else (round(x, 6) if isinstance(x, float) else x)


for f in sys.argv[1:]:
    d = json.load(open(f))
    if not isinstance(d, dict) or "itls" not in d:
        continue
    for k in ("itls", "ttfts", "send_times"):
        if k in d:
            d[k] = r6(d[k])
    with open(f, "w") as fh:
        json.dump(d, fh, separators=(",", ":"))
