#!/usr/bin/env python3
"""Measured Transformers generate() runs under Transformers' own tensor- and expert-parallel plans, P GPUs.

Launched with torchrun (one process a GPU), after probe/harness/make_random_checkpoint.py saved random-weight
checkpoints:
  torchrun --nproc_per_node 2 probe/harness/hf_dist_bench.py --ckpt-dir /tmp/ckpt \
      --plan "olmoe-1b-7b:tp:grouped_mm:1,8,32;olmoe-1b-7b:ep:grouped_mm:1,8,32" --out /tmp/frag.json

Plan entries MODEL:MODE:IMPL:B1,B2,... with MODE tp (DistributedConfig(tp_size=P): the model's
base_model_tp_plan, what tp_plan="auto" selects) or ep (DistributedConfig(tp_size=P, enable_expert_parallel=True):
its base_model_ep_plan), IMPL Transformers' experts implementation (grouped_mm, the default, or eager).
Every rank runs the same generate() on the same random prompt (seeded); timings are rank 0's wall clock with
a synchronize and a barrier around each call. Method otherwise as probe/harness/hf_generate_bench.py: one
warm-up, --repeats timed greedy generate(max_new_tokens=output_len, min_new_tokens=output_len) with EOS off,
median; the same for max_new_tokens=1 (the TTFT). Skip decisions (deadline) are made by rank 0 and broadcast,
so all ranks stay in step. Rank 0 writes the fragment after every run.
"""
import argparse
import datetime
import gc
import json
import os
import statistics
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
T0 = time.time()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", required=True)
    ap.add_argument("--ckpt-dir", required=True)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--deadline-epoch", type=float, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    deadline = args.deadline_epoch or (time.time() + 600)

    import torch
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM, GenerationConfig
    from transformers.distributed.configuration_utils import DistributedConfig
    from hf_generate_bench import env_info

    cuda = args.device == "cuda"
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    dev = torch.device("cuda", local) if cuda else torch.device("cpu")

    def log(msg):
        if rank == 0:
            print(f"[hf-dist {time.time() - T0:7.1f}s] {msg}", flush=True)

    def sync():
        if cuda:
            torch.cuda.synchronize()
        dist.barrier()

    def agree(flag):
        """rank 0's decision, for every rank"""
        obj = [flag]
        dist.broadcast_object_list(obj, src=0)
        return obj[0]

    frag = {"env": env_info(args.device), "world_size": world, "plan": args.plan, "input_len": args.input_len,
            "output_len": args.output_len, "repeats": args.repeats, "models": {}, "runs": [], "skipped": []}
    frag["env"]["nccl"] = ".".join(map(str, torch.cuda.nccl.version())) if cuda else ""
    frag["env"]["nccl_nvls_enable"] = os.environ.get("NCCL_NVLS_ENABLE")

    def save():
        if rank != 0:
            return
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(frag, f, indent=1)
        os.replace(tmp, args.out)

    def skip(model, mode, impl, b, why):
        log(f"SKIP {model} {mode} {impl} b={b}: {why}")
        frag["skipped"].append({"model": model, "mode": mode, "experts_impl": impl, "batch_size": b,
                                "gpus": world, "input_len": args.input_len, "output_len": args.output_len,
                                "reason": why})
        save()

    entries = []
    for ent in args.plan.split(";"):
        if ent.strip():
            m, mode, impl, bs = ent.strip().split(":")
            entries.append((m, mode, impl, [int(b) for b in bs.split(",") if b]))

    for model_name, mode, impl, bs in entries:
        path = os.path.join(args.ckpt_dir, model_name)
        if agree(time.time() > deadline - 60):
            for b in bs:
                skip(model_name, mode, impl, b, "deadline before the model was loaded")
            continue
        log(f"loading {model_name} ({mode}, {impl}) from {path} on {world} ranks")
        t_load = time.time()
        dcfg = DistributedConfig(tp_size=world, enable_expert_parallel=(mode == "ep"))
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, distributed_config=dcfg,
                                                     experts_implementation=impl)
        model.eval()
        sync()
        local_gb = sum(p.to_local().numel() * p.element_size() if hasattr(p, "to_local") else p.numel() * p.element_size()
                       for p in model.parameters()) / 1e9
        key = f"{model_name}:{mode}:{impl}"
        frag["models"][key] = {"class": type(model).__name__, "load_s": round(time.time() - t_load, 1),
                               "weights_gb_per_rank": round(local_gb, 2),
                               "plan": {k: v for k, v in sorted((model.tp_plan or {}).items())},
                               "experts_implementation": getattr(model.config, "_experts_implementation", None),
                               "attn_implementation": getattr(model.config, "_attn_implementation", None)}
        log(f"loaded {key}: {frag['models'][key]}")
        save()
        vocab = model.config.vocab_size
        gfull = GenerationConfig(max_new_tokens=args.output_len, min_new_tokens=args.output_len, do_sample=False,
                                 eos_token_id=None, pad_token_id=0, use_cache=True)
        gone = GenerationConfig(max_new_tokens=1, min_new_tokens=1, do_sample=False, eos_token_id=None,
                                pad_token_id=0, use_cache=True)
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        prev = None
        for b in bs:
            left = deadline - time.time()
            est = (args.repeats + 1.5) * prev[1] * max(1.0, b / prev[0]) ** 0.8 if prev else 30.0
            if agree(left < est + 15):
                skip(model_name, mode, impl, b, f"time budget: {left:.0f} s left, about {est:.0f} s needed")
                continue
            gen = torch.Generator(device="cpu")
            gen.manual_seed(args.seed + b)
            ids = torch.randint(0, vocab, (b, args.input_len), generator=gen).to(dev)
            mask = torch.ones_like(ids)
            if cuda:
                torch.cuda.reset_peak_memory_stats()

            def timed(gcfg):
                sync()
                t = time.perf_counter()
                with torch.inference_mode():
                    out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gcfg)
                sync()
                return time.perf_counter() - t, out

            try:
                w, out = timed(gfull)
                new_tokens = out.shape[1] - args.input_len
                reps = [timed(gfull)[0] for _ in range(args.repeats)]
                ttft = [timed(gone)[0] for _ in range(args.repeats)]
            except Exception as e:  # an error on one rank leaves the others waiting: record and stop
                traceback.print_exc()
                skip(model_name, mode, impl, b, f"{type(e).__name__}: {e}"[:300])
                save()
                raise
            peak = torch.cuda.max_memory_allocated() / 1e9 if cuda else 0.0
            med = statistics.median(reps)
            prev = (b, med)
            run = {"model": model_name, "mode": mode, "gpus": world, "experts_impl": impl, "batch_size": b,
                   "input_len": args.input_len, "output_len": args.output_len, "new_tokens_produced": int(new_tokens),
                   "warmup_ms": round(w * 1000, 2), "repeats_ms": [round(x * 1000, 2) for x in reps],
                   "ttft_repeats_ms": [round(x * 1000, 2) for x in ttft],
                   "median_generate_ms": round(med * 1000, 2),
                   "median_prefill_ms": round(statistics.median(ttft) * 1000, 2),
                   "output_throughput": round(b * args.output_len / med, 2), "peak_memory_gb_rank0": round(peak, 2)}
            frag["runs"].append(run)
            save()
            log(f"{model_name} {mode} {impl} b={b}: generate median {med * 1000:.0f} ms "
                f"({run['output_throughput']:.0f} tok/s), ttft {run['median_prefill_ms']} ms, peak {peak:.1f} GB")
            del ids, mask, out
        del model
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
        sync()
    frag["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    save()
    log(f"done: {len(frag['runs'])} runs, {len(frag['skipped'])} skipped -> {args.out}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
