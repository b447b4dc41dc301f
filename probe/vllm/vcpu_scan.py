#!/usr/bin/env python3
"""How fast each vCPU of this host runs the same single-threaded Python work, in rounds, to see whether the engine
core's host speed (which moves 0.6-1.7x between runs and within one, docs/accuracy.md) follows the vCPU it lands on.

  python3 probe/vllm/vcpu_scan.py OUT.json [SECONDS]

For SECONDS (default 30), round after round: the process pins itself to each vCPU it may use in turn
(os.sched_setaffinity), runs a fixed pure-Python workload (dict and list churn, small-object allocation and attribute
access, as a Python engine loop does) five times and keeps the fastest; OUT.json gets every round's times in ms per
vCPU and the steal time the kernel counted for each vCPU over the scan (/proc/stat, in jiffies). At the end it prints
each vCPU's median and the spread between vCPUs and between rounds. No GPU and no vLLM are needed.
"""
import json
import os
import statistics
import sys
import time


def workload():
    class Req:
        __slots__ = ("rid", "tokens", "state")

        def __init__(self, rid):
            self.rid = rid
            self.tokens = []
            self.state = {"n": 0}

    reqs = [Req(i) for i in range(256)]
    d = {}
    for step in range(40):
        for r in reqs:
            r.tokens.append(step)
            r.state["n"] += 1
            d[(r.rid, step & 7)] = len(r.tokens)
        reqs.sort(key=lambda r: (r.state["n"] + r.rid) & 15)
    return len(d)


def steal():
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            p = line.split()
            if p[0].startswith("cpu") and p[0] != "cpu":
                out[p[0][3:]] = int(p[8]) if len(p) > 8 else 0
    return out


def main():
    out_path = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    cpus = sorted(os.sched_getaffinity(0))
    s0 = steal()
    t_end = time.monotonic() + seconds
    rounds = []
    while time.monotonic() < t_end:
        row = {}
        for c in cpus:
            os.sched_setaffinity(0, {c})
            workload()  # settle on the new vCPU
            best = min(_timed() for _ in range(5))
            row[str(c)] = round(best * 1e3, 3)
        rounds.append({"t": round(time.monotonic(), 3), "ms": row})
    os.sched_setaffinity(0, set(cpus))
    s1 = steal()
    per = {str(c): statistics.median(r["ms"][str(c)] for r in rounds) for c in cpus}
    doc = {"kind": "vcpu-scan", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "cpus": cpus, "rounds": rounds, "median_ms": per,
           "steal_jiffies": {c: s1.get(c, 0) - s0.get(c, 0) for c in s1}}
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)
    lo, hi = min(per.values()), max(per.values())
    print("vcpu_scan: %d rounds over %d vCPUs; median ms per vCPU %s" % (
        len(rounds), len(cpus), " ".join("%s:%.2f" % (c, per[str(c)]) for c in cpus)))
    print("vcpu_scan: slowest / fastest vCPU %.2fx; within a vCPU, slowest / fastest round up to %.2fx" % (
        hi / lo, max(max(r["ms"][str(c)] for r in rounds) / min(r["ms"][str(c)] for r in rounds) for c in cpus)))


def _timed():
    t = time.perf_counter()
    workload()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
