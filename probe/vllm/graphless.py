#!/usr/bin/env python3
"""Tabulates a graphless-step session (make_jobs.py's fifth session): per job, what one step without CUDA graphs
calls from the host (the profiled run's counts) and what it cost (each lone-prompt run's one step, from its step
trace), beside the engine core's measured host speed.

  python3 probe/vllm/graphless.py probe/results/2026-12-04-h200-vllm-e
"""
import json
import math
import os
import sys


def gm(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main(res):
    print("%-22s %6s %8s %8s %8s %8s | %-16s %5s %6s %8s %8s %6s" % (
        "job", "layers", "kernels", "launch", "direct", "pyops", "run", "hogs", "tok", "exec_ms", "gpu_ms", "speed"))
    for job in sorted(os.listdir(res)):
        jd = os.path.join(res, job)
        if not os.path.exists(os.path.join(jd, "runs.json")):
            continue
        meta = json.load(open(os.path.join(jd, "runs.json")))
        over = meta["job"].get("config_override", {})
        layers = over.get("num_hidden_layers", "")
        prof = {}
        pf = os.path.join(jd, "prof-i1024.json")
        if os.path.exists(pf):
            prof = json.load(open(pf)).get("host_profile", {})
        head = "%-22s %6s %8s %8s %8s %8s" % (job, layers, prof.get("gpu_kernels", "-"), sum(prof.get("launch_calls", {}).values()) if prof else "-",
                                             sum(prof.get("direct_launches", {}).values()) if prof else "-", prof.get("top_level_ops", "-"))
        for r in meta["runs"]:
            rid = r["id"]
            d = json.load(open(os.path.join(jd, rid + ".json")))
            hs = d.get("host_speed", {})
            speed = gm([hs.get("engine_core", {}).get("workload_median_s"), hs.get("engine_core_after", {}).get("workload_median_s")])
            st = os.path.join(jd, rid + ".steps.json")
            ex = gpu = tok = float("nan")
            if os.path.exists(st):
                s = json.load(open(st))
                C = {c: i for i, c in enumerate(s["columns"])}
                big = [x for x in s["steps"] if x[C["tok"]] >= 512]
                if big:
                    x = max(big, key=lambda x: x[C["tok"]])
                    ex, gpu, tok = x[C["exec"]], x[C["gpu"]], x[C["tok"]]
            print("%s | %-16s %5d %6s %8.2f %8.2f %6.3f" % (head, rid, hs.get("busy_processes", 0), tok, ex or float("nan"), gpu or float("nan"), speed))
            head = " " * len(head)


if __name__ == "__main__":
    main(sys.argv[1])
