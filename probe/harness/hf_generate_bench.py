#!/usr/bin/env python3
"""Measured Hugging Face Transformers generate() runs of the studied MoE models, random weights, on one GPU.

Each model is built from profiles/models/<name>.json ({"config": {...HF config.json...}}) with RANDOM
weights directly on the GPU (no download), bf16. For every (model, experts implementation, batch size) of
the plan: random input ids of --input-len tokens; one warm-up generate() at the same shape, then --repeats
timed greedy generate(max_new_tokens=--output-len, min_new_tokens=--output-len, do_sample=False) with EOS
disabled (wall clock, torch.cuda.synchronize() around), median; then the same for max_new_tokens=1
(prefill + first token: the TTFT). Writes a fragment JSON (--out) after every run, so a run cut short
by the deadline leaves what it measured; probe/harness/make_manifest.py merges fragments into
experiments/h200-hf/runs.json.

Plan syntax (--plan): entries separated by ';', each MODEL:IMPL:B1,B2,...  IMPL is Transformers' own
experts implementation name (eager | batched_mm | grouped_mm; grouped_mm is Transformers 5's default,
which generate() switches to batched_mm for the decode steps on GPU).

Example:
  python3 probe/harness/hf_generate_bench.py --plan "olmoe-1b-7b:grouped_mm:1,8;olmoe-1b-7b:eager:1,8" \
      --deadline-epoch $(( $(date +%s) + 300 )) --out /tmp/frag.json
"""
import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
import traceback

T0 = time.time()


def log(msg):
    print(f"[hf-bench {time.time() - T0:7.1f}s] {msg}", flush=True)


def parse_plan(plan):
    out = []
    for ent in plan.split(";"):
        ent = ent.strip()
        if not ent:
            continue
        model, impl, bs = ent.split(":")
        out.append((model, impl, [int(b) for b in bs.split(",") if b]))
    return out


def load_config(models_dir, name):
    path = os.path.join(models_dir, name + ".json")
    with open(path) as f:
        doc = json.load(f)
    return doc["config"], path


def build_model(cfg_dict, impl, device="cuda"):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    cfg = dict(cfg_dict)
    model_type = cfg.pop("model_type")
    for k in ("architectures", "auto_map", "transformers_version", "_name_or_path", "torch_dtype", "dtype",
              "quantization_config"):
        cfg.pop(k, None)
    config = AutoConfig.for_model(model_type, **cfg)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, experts_implementation=impl)
    model.eval()
    return model


def env_info(device):
    import torch
    import transformers
    cuda = device == "cuda"
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "cuda_torch": torch.version.cuda,
            "gpu": torch.cuda.get_device_name(0) if cuda else "cpu", "gpu_count": torch.cuda.device_count() if cuda else 0,
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cpu_count": os.cpu_count()}
    try:
        import subprocess
        info["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                        capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except Exception:
        info["driver"] = "unknown"
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--plan", required=True)
    ap.add_argument("--models-dir", default=os.path.join(here, "..", "..", "profiles", "models"))
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--deadline-epoch", type=float, default=None, help="unix time by which to stop (default: +600 s)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda", help="cuda (measurements) or cpu (testing the script)")
    args = ap.parse_args()
    deadline = args.deadline_epoch or (time.time() + 600)

    import torch
    from transformers import GenerationConfig

    torch.manual_seed(args.seed)
    dev = args.device
    cuda = dev == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    frag = {"env": env_info(dev), "plan": args.plan, "input_len": args.input_len, "output_len": args.output_len,
            "repeats": args.repeats, "frees_models": True, "models": {}, "runs": [], "skipped": []}
    log(f"env {frag['env']}")

    def save():
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(frag, f, indent=1)
        os.replace(tmp, args.out)

    def skip(model, impl, b, why):
        log(f"SKIP {model} {impl} b={b}: {why}")
        frag["skipped"].append({"model": model, "experts_impl": impl, "batch_size": b, "reason": why})
        save()

    plan = parse_plan(args.plan)
    # group consecutive entries of one model so each model is built once
    by_model = []
    for model, impl, bs in plan:
        if by_model and by_model[-1][0] == model:
            by_model[-1][1].append((impl, bs))
        else:
            by_model.append((model, [(impl, bs)]))

    for model_name, entries in by_model:
        if time.time() > deadline - 30:
            for impl, bs in entries:
                for b in bs:
                    skip(model_name, impl, b, "deadline before the model was built")
            continue
        try:
            cfg, cfg_path = load_config(args.models_dir, model_name)
        except Exception as e:
            for impl, bs in entries:
                for b in bs:
                    skip(model_name, impl, b, f"no config: {e}")
            continue
        log(f"building {model_name} from {cfg_path} (random weights, bf16, on the GPU)")
        t_build = time.time()
        try:
            if cuda:
                torch.cuda.empty_cache()
            model = build_model(cfg, entries[0][0], dev)
        except Exception as e:
            traceback.print_exc()
            for impl, bs in entries:
                for b in bs:
                    skip(model_name, impl, b, f"model build failed: {type(e).__name__}: {e}"[:400])
            continue
        sync()
        n_params = sum(p.numel() for p in model.parameters())
        minfo = {"class": type(model).__name__, "params": n_params, "build_s": round(time.time() - t_build, 1),
                 "weights_gb": round(sum(p.numel() * p.element_size() for p in model.parameters()) / 1e9, 2),
                 "attn_implementation": getattr(model.config, "_attn_implementation", None),
                 "experts_implementation_at_build": getattr(model.config, "_experts_implementation", None),
                 "config_file": os.path.relpath(cfg_path, os.path.join(here, "..", ".."))}
        frag["models"][model_name] = minfo
        log(f"built {model_name}: {minfo}")
        save()
        vocab = model.config.vocab_size
        gc_full = GenerationConfig(max_new_tokens=args.output_len, min_new_tokens=args.output_len, do_sample=False,
                                   eos_token_id=None, pad_token_id=0, use_cache=True)
        gc_one = GenerationConfig(max_new_tokens=1, min_new_tokens=1, do_sample=False, eos_token_id=None,
                                  pad_token_id=0, use_cache=True)
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0

        # record the backend switches generate() makes (grouped_mm -> batched_mm for decode on GPU)
        switches = []
        orig_set = model.set_experts_implementation

        def spy_set(impl_name, *a, **k):
            switches.append(impl_name if isinstance(impl_name, str) else str(impl_name))
            return orig_set(impl_name, *a, **k)

        for impl, bs in entries:
            try:
                orig_set(impl)
            except Exception as e:
                for b in bs:
                    skip(model_name, impl, b, f"set_experts_implementation failed: {e}"[:300])
                continue
            prev = None  # (batch, generate seconds)
            oom = False
            for b in bs:
                if oom:
                    skip(model_name, impl, b, "a smaller batch ran out of GPU memory")
                    continue
                left = deadline - time.time()
                # predicted cost of warm-up + repeats + TTFT runs, from the last batch of this model/impl
                est = (args.repeats + 1.5) * prev[1] * max(1.0, b / prev[0]) ** 0.8 if prev else 20.0
                if left < est + 10:
                    skip(model_name, impl, b, f"time budget: {left:.0f} s left, about {est:.0f} s needed")
                    continue
                ids = torch.randint(0, vocab, (b, args.input_len), device=dev)
                mask = torch.ones_like(ids)
                try:
                    if cuda:
                        torch.cuda.reset_peak_memory_stats()

                    def timed(gcfg):
                        sync()
                        t = time.perf_counter()
                        with torch.inference_mode():
                            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gcfg)
                        sync()
                        return time.perf_counter() - t, out

                    model.set_experts_implementation = spy_set
                    switches.clear()
                    w, out = timed(gc_full)
                    model.set_experts_implementation = orig_set
                    seen_switches = list(switches)
                    new_tokens = out.shape[1] - args.input_len
                    log(f"{model_name} {impl} b={b}: warm-up {w * 1000:.0f} ms, {new_tokens} new tokens")
                    reps = []
                    for _ in range(args.repeats):
                        if reps and time.time() + w * 1.3 > deadline - 5:
                            break
                        t, out = timed(gc_full)
                        reps.append(t)
                    ttft = []
                    for _ in range(args.repeats):
                        if time.time() + 2 > deadline - 5:
                            break
                        t, _o = timed(gc_one)
                        ttft.append(t)
                    peak_gb = torch.cuda.max_memory_allocated() / 1e9 if cuda else 0.0
                except torch.OutOfMemoryError as e:
                    oom = True
                    del ids, mask
                    gc.collect()
                    if cuda:
                        torch.cuda.empty_cache()
                    skip(model_name, impl, b, f"CUDA out of memory: {str(e).splitlines()[0][:200]}")
                    continue
                except Exception as e:
                    traceback.print_exc()
                    skip(model_name, impl, b, f"{type(e).__name__}: {e}"[:300])
                    continue
                med = statistics.median(reps)
                med_ttft = statistics.median(ttft) if ttft else None
                prev = (b, med)
                run = {"model": model_name, "experts_impl": impl, "batch_size": b, "input_len": args.input_len,
                       "output_len": args.output_len, "new_tokens_produced": int(new_tokens),
                       "warmup_ms": round(w * 1000, 2), "repeats_ms": [round(x * 1000, 2) for x in reps],
                       "ttft_repeats_ms": [round(x * 1000, 2) for x in ttft],
                       "median_generate_ms": round(med * 1000, 2),
                       "median_prefill_ms": round(med_ttft * 1000, 2) if med_ttft else None,
                       "output_throughput": round(b * args.output_len / med, 2),
                       "peak_memory_gb": round(peak_gb, 2),
                       "experts_impl_switches_in_generate": seen_switches,
                       "experts_impl_after": getattr(model.config, "_experts_implementation", None)}
                frag["runs"].append(run)
                save()
                log(f"{model_name} {impl} b={b}: generate median {med * 1000:.0f} ms "
                    f"({run['output_throughput']:.0f} tok/s), ttft {run['median_prefill_ms']} ms, "
                    f"peak {peak_gb:.1f} GB")
                del ids, mask, out
        # drop every reference to the model (the bound methods hold it too) so its memory is freed
        model.set_experts_implementation = orig_set
        del model, orig_set, spy_set
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    frag["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    save()
    log(f"done: {len(frag['runs'])} runs, {len(frag['skipped'])} skipped -> {args.out}")


if __name__ == "__main__":
    main()
