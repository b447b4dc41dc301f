#!/usr/bin/env python3
"""Builds a moesim manifest of the KV cache sizes vLLM 0.24 logged at start-up, one entry per engine configuration, for
fitting and checking the memory vLLM keeps off its KV cache (`moesim calibrate` / `moesim validate`).

  python3 probe/vllm/make_kv_manifest.py probe/results/2026-12-03-h200-vllm [...more session folders] \
      experiments/vllm-h200/manifest-kv.json

Each job folder's log holds one engine start: the model's memory ("Model loading took X GiB"), the CUDA-graph memory
vLLM estimated and the KV cache it then allocated ("GPU KV cache size: N tokens"). An entry is that configuration
(the job's model and engine arguments, as probe/vllm/make_manifest.py turns them into moesim flags, on the session's
GPU) with one short request, measured by `kv_cache_capacity_tokens` alone. Repeats of a configuration (same flags)
keep the first. Each entry is tagged with the model runner the log shows (`gpu_model_runner.py`: the first, v1;
`model_runner.py`: the second, v2, which vLLM 0.24 picks for Llama, Qwen2-MoE and DeepSeek-V2 among others).

The split is declared here, before any fit: the engine starts on H200 hosts are fitted, those on H100 hosts (the
twenty-third session's: gpt-oss-20b, gpt-oss-120b, OLMoE at 2,048 batched tokens) held out.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_manifest as mm  # noqa: E402

HELD_OUT_GPUS = {"h100-sxm-80gb"}


def entries(res, rel, seen):
    sess = mm.session_of(res)
    gpu = sess.get("gpu", "h200-sxm-141gb")
    out = []
    for job in sorted(os.listdir(res)):
        jd = os.path.join(res, job)
        log = os.path.join(jd, "log.txt")
        if not (os.path.isdir(jd) and os.path.exists(os.path.join(jd, "runs.json")) and os.path.exists(log)):
            continue
        text = open(log, errors="replace").read()
        load = re.search(r"\[(\w+)\.py:\d+\] Model loading took ([0-9.]+) GiB", text)
        kv = mm.logged_kv_tokens(text)
        if not load or kv is None:
            continue
        j = json.load(open(os.path.join(jd, "runs.json")))["job"]
        _, args = mm.job_deployment(job, j, sess)
        if j.get("mode") == "offline":
            args += ["--usage-context", "offline"]
        args += ["--num-prompts", "1", "--random-input-len", "16", "--random-output-len", "1"]
        key = json.dumps(args)
        if key in seen:
            continue
        seen.add(key)
        cg = re.search(r"Estimated CUDA graph memory: ([0-9.]+) GiB", text)
        note = "vLLM 0.24.0's start-up log %s: model %s GiB%s, KV cache %s tokens" % (
            rel(log), load.group(2), ", CUDA graphs estimated at %s GiB" % cg.group(1) if cg else "", "{:,}".format(kv))
        out.append({"id": "kv/%s%s" % (sess["prefix"], job), "fit": gpu not in HELD_OUT_GPUS, "args": args,
                    "measured": {"kv_cache_capacity_tokens": kv}, "note": note,
                    "tags": [gpu, "v1" if load.group(1) == "gpu_model_runner" else "v2"]})
    return out


def main():
    *results, out = sys.argv[1:]
    if not results:
        sys.exit(__doc__.split("\n\n")[1])
    base = os.path.dirname(os.path.abspath(out))
    rel = lambda p: os.path.relpath(os.path.abspath(p), base)
    seen, runs = set(), []
    for res in results:
        runs += entries(res, rel, seen)
    m = {"version": 1,
         "description": "The KV cache sizes vLLM 0.24.0 logged at start-up (random weights), one entry per engine configuration, "
                        "from the result folders of probe/vllm (probe/results/*-vllm*). Fit: the engine starts on H200 hosts; held out: "
                        "those on H100 hosts (gpt-oss-20b, gpt-oss-120b and OLMoE-1B-7B, 2026-12-05). Tags: the GPU and vLLM's model runner "
                        "(v1, v2). Written by probe/vllm/make_kv_manifest.py.",
         "runs": runs}
    with open(out, "w") as fh:
        json.dump(m, fh, indent=1)
    print("%d entries (%d fit) -> %s" % (len(runs), sum(1 for r in runs if r["fit"]), out))


if __name__ == "__main__":
    main()
