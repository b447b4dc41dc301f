#!/usr/bin/env python3
"""Merge hf_generate_bench.py fragments into a moesim measured-run manifest (profiles/README.md).

  python3 probe/harness/make_manifest.py experiments/h200-hf/raw/*.json --out experiments/h200-hf/runs.json

Fit rule: batch sizes 4, 16 and 64 are fit runs (moesim calibrate may fit on them); 1, 8, 32 and 128 (and
any other) are held out for moesim validate. The rule is the same for every model and experts
implementation, so each sweep has fit points between held-out ones.
"""
import argparse
import json
import os

FIT_BATCHES = {4, 16, 64}
SHORT = {"olmoe-1b-7b": "olmoe", "qwen1.5-moe-a2.7b": "qwen15moe", "mixtral-8x7b": "mixtral8x7b"}


def write_manifest(manifest, path):
    """One run per line, so that diffs of a manifest show which runs changed."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("{\n")
        keys = list(manifest)
        for i, k in enumerate(keys):
            v = manifest[k]
            sep = "," if i < len(keys) - 1 else ""
            if isinstance(v, list) and v and isinstance(v[0], dict):
                f.write(f' {json.dumps(k)}: [\n' + ",\n".join("  " + json.dumps(x) for x in v) + f"\n ]{sep}\n")
            else:
                f.write(f" {json.dumps(k)}: {json.dumps(v)}{sep}\n")
        f.write("}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fragments", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--gpu", default="h200-sxm-141gb")
    ap.add_argument("--host", default=None)
    ap.add_argument("--not-run", action="append", default=[],
                    help="MODEL:IMPL:B1,B2=reason  (runs deliberately left out, listed under skipped)")
    args = ap.parse_args()

    runs, skipped, envs, models = {}, [], [], {}
    for path in args.fragments:
        with open(path) as f:
            frag = json.load(f)
        envs.append((os.path.basename(path), frag["env"]))
        models.update(frag.get("models", {}))
        # Fragments written before the harness freed each model (2026-11-29 calls) kept the models built
        # earlier in the same call resident; their weights are then inside the later models' peak memory.
        resident, before = {}, 0.0
        for m, v in frag.get("models", {}).items():
            resident[m] = before
            before += v.get("weights_gb", 0.0)
        leak = not frag.get("frees_models", False)
        for r in frag["runs"]:
            r = dict(r, fragment=os.path.basename(path),
                     resident_earlier_models_gb=round(resident.get(r["model"], 0.0), 2) if leak else 0.0)
            runs[(r["model"], r["experts_impl"], r["batch_size"])] = r  # a later fragment replaces a re-run
        for s in frag.get("skipped", []):
            skipped.append(dict(s, fragment=os.path.basename(path)))
    for spec in args.not_run:
        what, reason = spec.split("=", 1)
        m, impl, bs = what.split(":")
        for b in bs.split(","):
            skipped.append({"model": m, "experts_impl": impl, "batch_size": int(b), "reason": reason})
    # a skip that a later fragment measured is no longer a skip
    skipped = [s for s in skipped if (s["model"], s["experts_impl"], s["batch_size"]) not in runs]

    env = envs[-1][1]
    host = args.host or f"{env['gpu_count']}x {env['gpu']} (device lease), {env['cpu_count']} CPU cores"
    dates = sorted({e["date_utc"][:10] for _, e in envs})
    out_runs = []
    for (model, impl, b), r in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        rid = f"{SHORT.get(model, model)}-hf-{impl.replace('_', '')}-b{b}"
        measured = {"output_throughput": r["output_throughput"], "mean_e2el_ms": r["median_generate_ms"]}
        if r.get("median_prefill_ms"):
            measured["mean_ttft_ms"] = r["median_prefill_ms"]
        measured["repeats_ms"] = r["repeats_ms"]
        sw = r.get("experts_impl_switches_in_generate") or []
        if impl == "grouped_mm" and any("batched_mm" in x for x in sw):
            note = ("Transformers default backend: grouped_mm for the prefill; generate() switched the experts to "
                    "batched_mm for the 64 decode steps and back afterwards (seen: " + ", ".join(sw) + ")")
        elif impl == "eager":
            note = "eager experts: Python loop over the experts hit, one host sync per MoE layer"
        else:
            note = f"experts backend {impl}" + (f" (switches seen in generate(): {', '.join(sw)})" if sw else "")
        out_runs.append({
            "id": rid,
            "fit": b in FIT_BATCHES,
            "args": ["--model", model, "--gpu", args.gpu, "--engine", "hf", "--batch-size", str(b),
                     "--input-len", str(r["input_len"]), "--output-len", str(r["output_len"]),
                     "--experts-impl", impl],
            "measured": measured,
            "note": note,
            "details": {"ttft_repeats_ms": r["ttft_repeats_ms"], "warmup_ms": r["warmup_ms"],
                        "new_tokens_produced": r["new_tokens_produced"], "peak_memory_gb": r["peak_memory_gb"],
                        "experts_impl_switches_in_generate": r.get("experts_impl_switches_in_generate"),
                        "resident_earlier_models_gb": r["resident_earlier_models_gb"], "raw": r["fragment"]},
        })
    vers = (f"torch {env['torch']} (CUDA {env['cuda_torch']}), transformers {env['transformers']}, "
            f"driver {env.get('driver')}, Python {env['python']}")
    model_notes = "; ".join(f"{m}: {v['class']}, {v['params'] / 1e9:.2f}B params ({v['weights_gb']} GB bf16), "
                            f"attention {v['attn_implementation']}" for m, v in sorted(models.items()))
    manifest = {
        "version": 1,
        "description": (
            "Hugging Face Transformers generate() on one NVIDIA H200 with RANDOM weights (bf16, built on the GPU "
            "from profiles/models/<model>.json; no checkpoint), so routing is near uniform across experts. "
            "Each run: batch of B random prompts of 128 tokens, greedy generate(max_new_tokens=64, "
            "min_new_tokens=64, do_sample=False) with EOS disabled so all 64 tokens are produced; one warm-up at "
            "the same shape, then 3 timed repeats (wall clock, torch.cuda.synchronize() around); mean_e2el_ms is "
            "the MEDIAN of the repeats (whole batch, prefill + 64 decode steps), output_throughput = B*64 / that "
            "time, mean_ttft_ms the median of 3 generate(max_new_tokens=1) calls (prefill + first token). "
            "--experts-impl names Transformers' own experts backend: 'grouped_mm' is Transformers 5's default, "
            "and generate() switches it to 'batched_mm' for the decode steps on GPU (torch.bmm over per-token "
            "copies of the selected experts' weights), so grouped_mm runs are grouped_mm prefill + batched_mm "
            "decode; 'eager' loops over the experts hit. Fit rule: batch sizes 4, 16, 64 have fit=true (for "
            "moesim calibrate); 1, 8, 32, 128 have fit=false (held out for moesim validate). "
            "details.peak_memory_gb is torch.cuda.max_memory_allocated() over the run and includes "
            "details.resident_earlier_models_gb of models built earlier in the same device call that were "
            "still resident (a harness leak, since fixed; it did not limit memory for these runs). "
            "Runs not measured are listed under 'skipped' with the reason. "
            "Raw per-call data: experts/h200-hf/raw/. Harness: probe/harness/hf_generate_bench.py."
        ).replace("experts/h200-hf/raw/", "experiments/h200-hf/raw/"),
        "sources": [{"what": "runs[].measured", "kind": "measurement",
                     "source": f"probe/harness/hf_generate_bench.py; {vers}; random weights: routing near uniform; "
                               f"{model_notes}",
                     "date": dates[-1], "host": host}],
        "runs": out_runs,
    }
    if skipped:
        manifest["skipped"] = skipped
    write_manifest(manifest, args.out)
    print(f"make_manifest: {len(out_runs)} runs ({sum(r['fit'] for r in out_runs)} fit), {len(skipped)} skipped "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
