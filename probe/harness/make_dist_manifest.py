#!/usr/bin/env python3
"""Merge hf_dist_bench.py fragments (Transformers TP / EP on several GPUs) into a measured-run manifest.

  python3 probe/harness/make_dist_manifest.py probe/results/2026-11-29-h200x2/hf/frag-*.json \
      --out experiments/h200-x2/runs.json

Fit rule (declared before any fit, the same for every model, plan and shape): batch sizes 4 and 64 are fit runs;
every other batch size (1, 8, 16, 128) is held out. A model/plan/implementation measured only at 1, 4 and 8
(Mixtral with grouped_mm, whose batched_mm decode runs out of memory past 8) thus has 4 fitted and 1, 8 held out.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_manifest import write_manifest  # noqa: E402

FIT_BATCHES = {4, 64}
SHORT = {"olmoe-1b-7b": "olmoe", "qwen1.5-moe-a2.7b": "qwen15moe", "mixtral-8x7b": "mixtral8x7b"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fragments", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--gpu", default="h200-sxm-141gb")
    ap.add_argument("--raw-dir", default="probe/results/2026-11-29-h200x2/hf")
    args = ap.parse_args()
    runs, skipped, env, plans = {}, [], None, {}
    for path in sorted(args.fragments):
        frag = json.load(open(path))
        env = env or dict(frag["env"], world_size=frag["world_size"])
        for k, v in frag.get("models", {}).items():
            plans[k] = v
        for r in frag["runs"]:
            key = (r["model"], r["mode"], r["experts_impl"], r["input_len"], r["output_len"], r["batch_size"])
            runs[key] = dict(r, fragment=os.path.basename(path))
        for s in frag.get("skipped", []):
            skipped.append(dict(s, fragment=os.path.basename(path)))
    skipped = [s for s in skipped if (s["model"], s["mode"], s["experts_impl"], s["input_len"], s["output_len"],
                                      s["batch_size"]) not in runs]
    out = []
    for key in sorted(runs):
        r = runs[key]
        model, mode, impl, i, o, b = key
        P = r["gpus"]
        shape = "" if (i, o) == (128, 64) else f"-{i}x{o}"
        rid = f"{SHORT.get(model, model)}-hf{P}-{mode}-{impl.replace('_', '')}-b{b}{shape}"
        a = ["--model", model, "--gpu", args.gpu, "--engine", "hf", "--tensor-parallel-size", str(P)]
        if mode == "ep":
            a.append("--enable-expert-parallel")
        a += ["--batch-size", str(b), "--input-len", str(i), "--output-len", str(o), "--experts-impl", impl]
        plan = plans.get(f"{model}:{mode}:{impl}", {})
        out.append({"id": rid, "fit": b in FIT_BATCHES, "args": a,
                    "measured": {"output_throughput": r["output_throughput"], "mean_e2el_ms": r["median_generate_ms"],
                                 "mean_ttft_ms": r["median_prefill_ms"], "repeats_ms": r["repeats_ms"]},
                    "note": f"Transformers {'EP' if mode == 'ep' else 'TP'} on {P} GPUs, experts {impl}",
                    "details": {"ttft_repeats_ms": r["ttft_repeats_ms"], "warmup_ms": r["warmup_ms"],
                                "new_tokens_produced": r["new_tokens_produced"],
                                "peak_memory_gb_rank0": r["peak_memory_gb_rank0"],
                                "weights_gb_per_rank": plan.get("weights_gb_per_rank"),
                                "raw": f"{args.raw_dir}/{r['fragment']}"}})
    skipped.append({"model": "mixtral-8x7b", "mode": "ep", "experts_impl": "eager", "batch_size": 1,
                    "reason": "Transformers 5.17 fails: the eager experts loop one-hot-encodes the EP sentinel index "
                              "(device-side assert 'index out of bounds'; hf/x2d-log-2.txt); moesim refuses this "
                              "combination"})
    vers = (f"torch {env['torch']} (CUDA {env['cuda_torch']}), transformers {env['transformers']}, NCCL {env.get('nccl')}, "
            f"driver {env.get('driver')}, Python {env['python']}, NCCL_NVLS_ENABLE={env.get('nccl_nvls_enable')}")
    manifest = {
        "version": 1,
        "description": (
            "Hugging Face Transformers generate() on 2 NVIDIA H200 (NVLink NV18, one host), one process a GPU "
            "(torchrun), under Transformers' own plans: 'tp' = from_pretrained(..., distributed_config="
            "DistributedConfig(tp_size=2)) (the model's base_model_tp_plan, what tp_plan='auto' selects), 'ep' = "
            "DistributedConfig(tp_size=2, enable_expert_parallel=True) (its base_model_ep_plan). RANDOM weights "
            "(normal std 0.02, saved as a bf16 checkpoint from host memory by probe/harness/make_random_checkpoint.py, "
            "then loaded with the plan), so routing is near uniform. Each run: B random prompts of input_len tokens, "
            "the same on both ranks; one warm-up, then 2 timed greedy generate(max_new_tokens=output_len, "
            "min_new_tokens=output_len) with EOS off (wall clock on rank 0, synchronize + barrier around); "
            "mean_e2el_ms = the median, output_throughput = B*output_len / it, mean_ttft_ms = median of 2 "
            "generate(max_new_tokens=1). The plans each run loaded are in the raw fragments (key 'plan'). "
            "Fit rule: batch 4 and 64 fit=true, all others held out (probe/harness/make_dist_manifest.py). "
            "One-GPU runs of the same harness family: experiments/h200-hf/runs.json."),
        "sources": [{"what": "runs[].measured", "kind": "measurement",
                     "source": f"probe/harness/hf_dist_bench.py via probe/device_run_multi.sh; {vers}; raw data "
                               f"{args.raw_dir}/",
                     "date": env["date_utc"][:10], "host": f"{env['gpu_count']}x {env['gpu']} (device lease), "
                                                          f"{env['cpu_count']} CPU cores"}],
        "runs": out,
        "skipped": skipped,
    }
    write_manifest(manifest, args.out)
    print(f"make_dist_manifest: {len(out)} runs ({sum(r['fit'] for r in out)} fit), {len(skipped)} skipped -> {args.out}")


if __name__ == "__main__":
    main()
