#!/usr/bin/env python3
"""moesim's first-use compile waits against the one-off stalls vLLM measured (docs/accuracy.md, forty-first session).

For every stall the manifest's notes give (probe/vllm/stalls.py: "N ms at T tokens (similar steps S ms)") in a run of
a bf16 fused-MoE model with a measured host speed, CUDA graphs on and vLLM's default kernels, graphs and budget, the
measured compile is N - S; moesim's is the wait it predicts for one step of T tokens (the prompts of a request trace sent at once, at the run's --host-speed,
GPU and token budget) on an engine that compiled only what start-up runs. Kept where moesim predicts exactly one
first use, at T tokens. Prints measured / predicted per model and GPU, over all, and over the held-out runs alone.

  swift build -c release && python3 experiments/vllm-h200/compile_check.py [--moesim .build/release/moesim]
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
STALL = re.compile(r"(\d+) ms at (\d+) tokens \(similar steps (\d+) ms\)")
WAIT = re.compile(r"first use: 1 step without CUDA graphs \((\d+) tokens\).*?waited ([\d.]+) s in all")
# The longest prompt each model takes (max_position_embeddings), less a margin for the one output token.
LONGEST = {"olmoe-1b-7b": 4000, "qwen1.5-moe-a2.7b": 8000}


def predicted_wait_ms(moesim, run, tokens, tmp):
    """moesim's first-use wait (ms) for one step of `tokens` tokens in this run's deployment, or None."""
    a = run["args"]
    model = a[a.index("--model") + 1]
    cap = LONGEST.get(model, 16000)
    lens, left = [], tokens
    while left > 0:
        lens.append(min(cap, left)); left -= lens[-1]
    trace = os.path.join(tmp, "t%d.json" % tokens)
    json.dump({"input_lens": lens, "output_lens": [1] * len(lens), "send_times": [0.0] * len(lens)}, open(trace, "w"))
    cmd = [moesim, "run", "--model", model, "--gpu", a[a.index("--gpu") + 1], "--host-speed", a[a.index("--host-speed") + 1], "--trace", trace]
    # The offline LLM class's token budget (a request trace runs in vllm serve's context).
    if a.count("--usage-context") and a[a.index("--usage-context") + 1] == "offline":
        cmd += ["--max-num-batched-tokens", "16384"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=here)
    m = WAIT.search(r.stdout + r.stderr)
    return float(m.group(2)) * 1000 if m and int(m.group(1)) == tokens else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moesim", default=os.path.join(here, "..", "..", ".build", "release", "moesim"))
    a = ap.parse_args()
    m = json.load(open(os.path.join(here, "manifest.json")))
    cache, ratios = {}, collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for e in m["runs"]:
            args = e.get("args", [])
            if "one-off stall" not in e.get("note", "") or "--host-speed" not in args or "--enforce-eager" in args:
                continue
            model, gpu = args[args.index("--model") + 1], args[args.index("--gpu") + 1]
            if model.startswith("gpt-oss"):
                continue  # MXFP4 experts: triton_kernels' compiles, several per step
            if any(f in args for f in ("--quantization", "--performance-mode", "--max-cudagraph-capture-size", "--max-num-batched-tokens")):
                continue  # another kernel or CUDA-graph limit than the lone step below would meet
            for ms, tok, similar in STALL.findall(e["note"]):
                key = (model, gpu, args[args.index("--host-speed") + 1], int(tok), "--usage-context" in args)
                if key not in cache:
                    cache[key] = predicted_wait_ms(a.moesim, e, int(tok), tmp)
                if cache[key]:
                    ratios[(model, gpu)].append(((int(ms) - int(similar)) / cache[key], e["fit"]))
    every = [r for v in ratios.values() for r, _ in v]
    held = [r for v in ratios.values() for r, fit in v if not fit]
    print("| model | GPU | stalls | measured / predicted compile, median | range |")
    print("|---|---|---|---|---|")
    for (model, gpu), v in sorted(ratios.items()):
        r = [x for x, _ in v]
        print("| %s | %s | %d | %.3f | %.2f-%.2f |" % (model, gpu, len(r), statistics.median(r), min(r), max(r)))
    print("all: %d stalls, median %.3f; in held-out runs (moe_first_use_us was fitted on others): %d, median %.3f"
          % (len(every), statistics.median(every), len(held), statistics.median(held)))


if __name__ == "__main__":
    main()
