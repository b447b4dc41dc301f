#!/usr/bin/env python3
"""Pipeline parallelism on 2x H200: moesim's stage recurrence and hand-over time against a measured two-stage pipeline.

    swift build -c release
    python3 experiments/h200-x2/pp_compare.py [probe/results/2026-11-29-h200x2-pp/pp_pipeline_2gpu.json]
    python3 experiments/h200-x2/pp_compare.py probe/results/2026-11-29-h200x2-pp/pp_pipeline_2gpu_graphs.json

The measurement (probe/harness/pp_pipeline_bench.py) runs OLMoE-1B-7B's 16 decoder layers as two stages of 8 on two
H200s (Transformers' eager layers, not vLLM) and times each stage alone, the hand-over of hidden states + residual,
16 independent micro-batches streamed through, and G = 1 or 2 groups of dependent rounds (a group's next round waits
for its last one's token, as vLLM's decode does).

Two checks, nothing fitted:
1. The recurrence moesim's engine uses for PP (`VLLMSimulator.StepClock.launch`: stage s starts when it is free and
   stage s - 1's activations have arrived; at most G batches in flight; a dependent batch launches when its last
   one has left the last stage) fed the MEASURED stage and hand-over times, against the measured wall times. Engine
   host overhead is 0 here (the harness has no scheduler). This checks the mechanism, not kernel times.
2. moesim's own hand-over time (`moesim explain ... -pp 2 --json`, pipeline.stages[0].send_to_next_us: the measured
   2x H200 NCCL send/recv curve of profiles/interconnects/h200-nvlink-2gpu.json) against the measured hand-over.
Stage times themselves are not compared: moesim prices vLLM's kernels, the harness runs Transformers' eager layers
(see layer_compare.py for that gap). Small shapes are host-bound in eager PyTorch (about 11 ms of kernel launches per
8-layer stage): there one stage's launches overlap the other stage's GPU work, which the recurrence (one time per
stage) does not represent; they are reported apart. The second file (--graphs) replays each stage from a CUDA graph,
as vLLM runs decode: the stage time is GPU time and every shape is comparable.
"""
import json
import os
import subprocess
import sys


def recurrence(t0, t1, send, batches, in_flight):
    """End time of `batches` batches through two stages (moesim's rule): stage s starts at max(free, arrival)."""
    free = [0.0, 0.0]
    done = []  # completion times of launched batches, in launch order
    now = 0.0
    for b in range(batches):
        if b >= in_flight:
            now = max(now, done[b - in_flight])  # at most `in_flight` batches: wait for the oldest (a group's last round)
        s0 = max(now, free[0]); free[0] = s0 + t0
        s1 = max(free[0] + send, free[1]); free[1] = s1 + t1
        done.append(free[1])
    return done[-1]


def moesim_send_us(seqs, toks):
    exe = ".build/release/moesim"
    if not os.path.exists(exe):
        return None
    shape = ["--decode-seqs", str(seqs), "--kv-len", "1"] if toks == 1 else ["--prefill-seqs", str(seqs), "--prefill-len", str(toks)]
    out = subprocess.run([exe, "explain", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--pipeline-parallel-size", "2", "--json"] + shape,
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)["pipeline"]["stages"][0]["send_to_next_us"]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "probe/results/2026-11-29-h200x2-pp/pp_pipeline_2gpu.json"
    m = json.load(open(path))
    graphs = any(r.get("cuda_graphs") for r in m["shapes"])
    print(f"{m['what']}{' (stages replayed from CUDA graphs)' if graphs else ''}; {m['device']}, torch {m['torch']}, transformers {m['transformers']}, {m['date']}")
    print(f"{'shape':>8} {'tokens':>6} {'stage0':>8} {'stage1':>8} {'send':>6} {'moesim':>7} | {'case':<14} {'measured':>9} {'recurrence':>10} {'error':>7} {'serial':>8}")
    errs = {"CUDA graphs": [], "eager, GPU-bound": [], "eager, host-bound": []}
    send_ratio = []
    for r in m["shapes"]:
        t0, t1 = r["stage_us"]
        send = r["send_us"]
        ms = moesim_send_us(r["sequences"], r["tokens_per_sequence"])
        if ms:
            send_ratio.append(ms / send)
        kind = ("CUDA graphs" if r.get("cuda_graphs") else "eager, GPU-bound" if r["tokens"] >= 1024 else "eager, host-bound")
        cases = [("stream 16", r["stream"]["wall_us"], recurrence(t0, t1, send, r["stream"]["micro_batches"], 10**9),
                  r["stream"]["micro_batches"] * (t0 + t1 + send))]
        for d in r["dependent"]:
            g, rounds = d["groups"], d["rounds"]
            cases.append((f"dependent G{g}", d["wall_us"], recurrence(t0, t1, send, g * rounds, g), g * rounds * (t0 + t1 + send)))
        first = True
        for name, meas, pred, serial in cases:
            e = (pred - meas) / meas * 100
            errs[kind].append(abs(e))
            head = (f"{r['sequences']}x{r['tokens_per_sequence']:<4} {r['tokens']:>6} {t0 / 1e3:7.2f}m {t1 / 1e3:7.2f}m {send:6.0f} {ms if ms else float('nan'):7.0f}"
                    if first else " " * 47)
            print(f"{head} | {name:<14} {meas / 1e3:8.1f}m {pred / 1e3:9.1f}m {e:+6.1f}% {serial / 1e3:7.1f}m")
            first = False
        print(f"{'':>47} | ({kind})")
    for k, v in errs.items():
        if v:
            print(f"{k}: mean |error| of the recurrence {sum(v) / len(v):.1f}% over {len(v)} cases (max {max(v):.1f}%)")
    if send_ratio:
        print(f"hand-over, moesim / measured: " + ", ".join(f"{x:.2f}" for x in send_ratio)
              + f" (median {sorted(send_ratio)[len(send_ratio) // 2]:.2f})")
    print("times in ms (m) or us; 'serial' = no overlap at all (every batch through both stages in turn)")


if __name__ == "__main__":
    main()
