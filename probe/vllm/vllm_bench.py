#!/usr/bin/env python3
"""Runs one vLLM engine over a list of benchmark runs and writes result files moesim reads.

  python3 probe/vllm/vllm_bench.py --job JOB.json --out DIR [--deadline UNIX_SECONDS]

A job is one engine (one model, one set of engine arguments) and its runs, in one of two usage contexts:

  "mode": "offline"  vLLM's offline entry, `LLM.generate` with every request submitted at once (what
                     `vllm bench throughput` and `vllm bench latency` time). Each run writes DIR/<run>.json with the
                     keys of `vllm bench throughput --output-json` (elapsed_time, num_requests, total_num_tokens,
                     requests_per_second, tokens_per_second) plus the workload and engine settings.
  "mode": "serve"    vLLM's server engine, `AsyncLLM` in-process (what `vllm serve` runs, usage context
                     OPENAI_API_SERVER, without the HTTP layer), driven as `vllm bench serve` drives a server: Poisson
                     (gamma, burstiness) arrivals at a rate or all at once, optionally capped at a concurrency;
                     streamed token by token (RequestOutputKind.DELTA). Each run writes DIR/<run>.json with the keys of
                     `vllm bench serve --save-result --save-detailed` (duration, completed, throughputs, mean/median/
                     p99 TTFT, TPOT, ITL, E2EL, input_lens, output_lens, ttfts, itls) plus `send_times` (seconds from
                     the run's start when each request was sent) so that moesim replays exactly this trace.

The model needs no weights and no tokenizer: a folder with config.json (random weights, `load_format="dummy"`),
prompts of random token ids (distinct per request unless a shared prefix is asked for), `ignore_eos` and
`min_tokens = max_tokens` so each request emits exactly its output length, `detokenize=False`.

When probe/vllm/steplog is first on PYTHONPATH and MOESIM_STEP_LOG_DIR is set, every engine step of every run is
recorded (see steplog/sitecustomize.py); DIR/runs.json gives each run's start and end on the same clock so
summarize.py can cut the step log into one step trace per run.

Offline runs may ask for "profile_steps": [FIRST, COUNT] (PyTorch's profiler, GPU kernels only, over COUNT busy engine
steps from the run's step FIRST; per kernel name its launches and device time go to "gpu_profile") and "routing": true
(the experts every MoE layer's router picked, counted per layer, into "routing"; needs enforce_eager). Offline runs may also ask for "profile": true (PyTorch's profiler in the engine core around the run; its counts go
to "host_profile": kernels, launch calls, operator calls from Python) and "hogs": N (N busy processes beside vLLM for
that run). A job's "config_override" changes keys of the model's config.json (e.g. num_hidden_layers).

Run fields: id, n (requests), in, out (token lengths), ratio (vLLM's --random-range-ratio: lengths uniform in
[len*(1-ratio), len*(1+ratio)]), prefix (a shared prefix of this many tokens before each prompt, vLLM's
--random-prefix-len), rate ("inf" or requests/s), rate_frac (a fraction of the request throughput measured by this
job's first run at rate inf), burstiness, conc (max concurrency), seed. A serve run may instead give "pairs":
{"deltas_ms": [...], "repeats": R, "idle_ms": Q}: n / 2 pairs of requests sent to an idle engine, the second delta ms
after the first (each delta R times, in a shuffled order), Q ms apart, for the engine core's wake-up
(probe/vllm/idle_wake.py: does the second join the first's step?).
"""
import argparse
import asyncio
import json
import math
import os
import platform
import socket
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostspeed  # noqa: E402  (each run records the host's speed just before it: "host_speed" in its result file)


def log(msg):
    print("[vllm_bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def lengths(rng, n, mean, ratio):
    if ratio <= 0:
        return [int(mean)] * n
    lo = max(1, int(math.floor(mean * (1 - ratio))))
    hi = max(lo, int(math.ceil(mean * (1 + ratio))))
    return [int(x) for x in rng.integers(lo, hi + 1, size=n)]


def prompts_for(run, vocab, seed):
    """Token-id prompts: a shared prefix (if any) then a random body of each request's length."""
    from vllm.inputs import TokensPrompt
    rng = np.random.default_rng(seed)
    n = int(run["n"])
    ins = lengths(rng, n, run["in"], float(run.get("ratio", 0)))
    outs = lengths(rng, n, run["out"], float(run.get("ratio", 0)))
    prefix = rng.integers(10, vocab - 10, size=int(run.get("prefix", 0))).tolist()
    ps = []
    for i in range(n):
        body = rng.integers(10, vocab - 10, size=ins[i]).tolist()
        ps.append(TokensPrompt(prompt_token_ids=prefix + body))
    return ps, [len(prefix) + x for x in ins], outs


def sampling(out_len, delta=False, run=None):
    """A request's sampling: exactly out_len tokens, temperature 1 (what vllm bench throughput sends) unless the run
    gives "temperature", "top_k" or "top_p"."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind
    kw = dict(max_tokens=out_len, min_tokens=out_len, ignore_eos=True, detokenize=False, temperature=1.0, top_p=1.0)
    for k in ("temperature", "top_k", "top_p"):
        if run and k in run:
            kw[k] = run[k]
    if delta:
        kw["output_kind"] = RequestOutputKind.DELTA
    return SamplingParams(**kw)


def flush_steplog(rpc=None):
    """Writes out the step logger's records (steplog/sitecustomize.py): the front end's here, the engine core's and
    workers' through a collective RPC (Worker.moesim_flush, added by the logger). Called between runs only."""
    import builtins
    f = getattr(builtins, "_moesim_steplog_flush", None)
    if f:
        f()
        if rpc is not None:
            try:
                rpc("moesim_flush")
            except Exception as e:
                log("step log flush failed: %r" % (e,))


def engine_settings(vcfg):
    """What the engine actually ran with (after vLLM's defaults and platform rules)."""
    s = {}
    try:
        sc, cc, mc, comp = vcfg.scheduler_config, vcfg.cache_config, vcfg.model_config, vcfg.compilation_config
        s.update(max_num_seqs=sc.max_num_seqs, max_num_batched_tokens=sc.max_num_batched_tokens,
                 async_scheduling=bool(sc.async_scheduling), enable_chunked_prefill=bool(sc.enable_chunked_prefill),
                 enable_prefix_caching=bool(cc.enable_prefix_caching), block_size=cc.block_size,
                 gpu_memory_utilization=cc.gpu_memory_utilization, kv_cache_dtype=str(cc.cache_dtype),
                 num_gpu_blocks=getattr(cc, "num_gpu_blocks", None), enforce_eager=bool(mc.enforce_eager), dtype=str(mc.dtype),
                 quantization=mc.quantization, max_model_len=mc.max_model_len,
                 cudagraph_mode=str(comp.cudagraph_mode), cudagraph_capture_sizes=list(comp.cudagraph_capture_sizes or []),
                 max_cudagraph_capture_size=comp.max_cudagraph_capture_size, compilation_mode=str(comp.mode),
                 tensor_parallel_size=vcfg.parallel_config.tensor_parallel_size,
                 data_parallel_size=vcfg.parallel_config.data_parallel_size,
                 enable_expert_parallel=bool(vcfg.parallel_config.enable_expert_parallel),
                 use_v2_model_runner=bool(getattr(vcfg, "use_v2_model_runner", False)))
        try:
            s["attention_backend"] = str(getattr(vcfg.attention_config, "backend", None))
        except Exception:
            pass
    except Exception as e:
        s["error"] = repr(e)
    return s


def gpu_names():
    """The GPUs, from nvidia-smi (not torch.cuda, which would open a CUDA context in the front end's process)."""
    try:
        import subprocess
        return subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
    except Exception as e:
        return ["unknown (%r)" % (e,)]


def provenance(job, settings, startup_s):
    import torch
    import vllm
    return {
        "harness": "probe/vllm/vllm_bench.py",
        "job": job["id"],
        "model": job["model"],
        "mode": job["mode"],
        "engine_args": job.get("engine", {}),
        "engine_settings": settings,
        "vllm_version": vllm.__version__,
        "torch_version": torch.__version__,
        "gpu": gpu_names(),
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "engine_startup_s": round(startup_s, 1),
        "weights": "random (load_format=dummy), no tokenizer (skip_tokenizer_init)",
    }


def write(path, obj):
    tmp = path + ".tmp"
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    os.replace(tmp, path)


def percentiles(xs, ps=(50, 99)):
    if not xs:
        return {p: 0.0 for p in ps}
    return {p: float(np.percentile(xs, p)) for p in ps}


def core_speed(host, key, rpc):
    """The engine core's own host speed (sitecustomize.py's Worker.moesim_hostspeed) into host[key], or why not into
    host[key + "_error"]. Taken before each run ("engine_core") and right after it ("engine_core_after"): the speed
    moves within seconds."""
    try:
        host[key] = rpc("moesim_hostspeed")[0]
    except Exception as e:
        host[key + "_error"] = repr(e)[:200]


async def acore_speed(host, key, rpc):
    """core_speed for the server engine, whose RPC is awaited."""
    try:
        host[key] = (await rpc("moesim_hostspeed"))[0]
    except Exception as e:
        host[key + "_error"] = repr(e)[:200]


def model_folder(job, model_dir, models_root):
    """The model's folder, or for a job with "config_override" (e.g. {"num_hidden_layers": 4}: the same architecture
    with fewer layers, to separate a step's per-layer host cost from its fixed part) a copy with those keys changed."""
    over = job.get("config_override")
    if not over:
        return model_dir
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    cfg.update(over)
    d = os.path.join(models_root, "%s--%s" % (job["model"], job["id"]))
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "config.json"), cfg)
    return d


# ---------------------------------------------------------------- offline

def mark_adds_done(llm):
    """Wraps the LLM's output loop (vLLM 0.24's _run_engine) for the next generate: the returned list gets the
    perf_counter time at which generate entered it, i.e. when the front end had added every request. Empty if this
    vLLM has no such method (the run is measured all the same)."""
    got = []
    orig = getattr(type(llm), "_run_engine", None)
    if orig is None:
        return got

    def wrapped(*a, **k):
        if not got:
            got.append(time.perf_counter())
        return orig(llm, *a, **k)
    llm._run_engine = wrapped
    return got


def run_offline(job, args, model_dir):
    from vllm import LLM
    from vllm.usage.usage_lib import UsageContext  # noqa: F401 (LLM uses LLM_CLASS)
    kw = dict(model=model_dir, load_format="dummy", skip_tokenizer_init=True, dtype="bfloat16", seed=0)
    kw.update(job.get("engine", {}))
    t0 = time.time()
    llm = LLM(**kw)
    startup = time.time() - t0
    vcfg = llm.llm_engine.vllm_config
    settings = engine_settings(vcfg)
    vocab = vcfg.model_config.get_vocab_size()
    prov = provenance(job, settings, startup)
    log("%s: engine up in %.0f s: %s" % (job["id"], startup, json.dumps(settings)[:400]))
    # Warm-up: the first generate pays one-off costs (allocations, lazy init) that a benchmark's warm-up absorbs.
    wp, _, _ = prompts_for({"n": 8, "in": 64, "out": 8}, vocab, 12345)
    llm.generate(wp, sampling(8), use_tqdm=False)
    # A job's "warmup": runs made first and not recorded, so that kernels compiled on first use at each token-count
    # bucket (gpt-oss-20b's Triton MXFP4 kernels) are compiled before any measured run.
    for w in job.get("warmup", []):
        t_w = time.time()
        wp, _, wouts = prompts_for(w, vocab, 54321)
        llm.generate(wp, [sampling(o) for o in wouts], use_tqdm=False)
        log("%s: warm-up %d x (%d in, %d out) in %.1f s" % (job["id"], int(w["n"]), int(w["in"]), int(w["out"]), time.time() - t_w))
    runs_log = []
    for run in job["runs"]:
        if args.deadline and time.time() + float(run.get("est_s", 30)) > args.deadline:
            log("%s/%s: skipped (not enough time left in this call)" % (job["id"], run["id"]))
            continue
        seed = int(run.get("seed", 0))
        ps, ins, outs = prompts_for(run, vocab, seed)
        sps = [sampling(o, run=run) for o in outs]
        try:
            llm.reset_prefix_cache()
        except Exception:
            pass
        flush_steplog(llm.collective_rpc)
        # A run may ask for a loaded host: its "hogs" busy processes beside vLLM for that run only, so that one engine
        # measures how its host costs follow the host's speed.
        hogs = hostspeed.start_busy(int(run.get("hogs", 0)), settle_s=1.0)
        try:
            host = hostspeed.state()
            core_speed(host, "engine_core", llm.collective_rpc)
            prof = None
            if run.get("routing"):
                try:
                    llm.collective_rpc("moesim_routing", args=("arm",))
                except Exception as e:
                    log("routing not armed: %r" % e)
            window = run.get("profile_steps")
            if window:
                try:
                    llm.collective_rpc("moesim_profile", args=("arm", int(window[0]), int(window[1])))
                except Exception as e:
                    prof = {"error": repr(e)[:300]}
            if run.get("profile"):
                try:
                    llm.collective_rpc("moesim_profile", args=("start",))
                except Exception as e:
                    prof = {"error": repr(e)[:300]}
            time.sleep(0.2)
            # When the front end had handed every request to the engine core: LLM.generate adds them one by one, then
            # enters its output loop (_run_engine), so its entry marks the end of the front end's intake.
            adds_done = mark_adds_done(llm)
            m0 = time.monotonic()
            t0 = time.perf_counter()
            res = llm.generate(ps, sps, use_tqdm=False)
            el = time.perf_counter() - t0
            m1 = time.monotonic()
            if window and prof is None:
                try:
                    prof = llm.collective_rpc("moesim_profile", args=("result",))[0]
                except Exception as e:
                    prof = {"error": repr(e)[:300]}
            if run.get("profile") and prof is None:
                try:
                    prof = llm.collective_rpc("moesim_profile", args=("stop",))[0]
                except Exception as e:
                    prof = {"error": repr(e)[:300]}
            core_speed(host, "engine_core_after", llm.collective_rpc)
        finally:
            hostspeed.stop_busy(hogs)
        host["busy_processes"] = len(hogs)
        got = [len(r.outputs[0].token_ids) for r in res]
        bad = sum(1 for g, o in zip(got, outs) if g != o)
        total_in, total_out = sum(ins), sum(got)
        out = {
            "elapsed_time": el, "num_requests": len(ps), "total_num_tokens": total_in + total_out,
            "total_input_tokens": total_in, "total_output_tokens": total_out,
            "requests_per_second": len(ps) / el, "tokens_per_second": (total_in + total_out) / el,
            "output_tokens_per_second": total_out / el,
            "run": run, "input_lens": ins, "output_lens": got, "mismatched_output_lengths": bad,
            "usage_context": "LLM_CLASS", "t_start_monotonic": m0, "t_end_monotonic": m1, "host_speed": host,
        }
        if adds_done:
            out["front_end_adds_done_s"] = adds_done[0] - t0
        if prof is not None:
            out["gpu_profile" if window else "host_profile"] = prof
        if run.get("routing"):
            try:
                out["routing"] = llm.collective_rpc("moesim_routing", args=("result",))[0]
            except Exception as e:
                out["routing"] = {"error": repr(e)[:300]}
        out.update(provenance=prov)
        write(os.path.join(args.out, run["id"] + ".json"), out)
        runs_log.append({"id": run["id"], "t0": m0, "t1": m1, "kind": "offline"})
        write(os.path.join(args.out, "runs.json"), {"job": job, "provenance": prov, "runs": runs_log})
        log("%s/%s: %d req x (%d in, %d out): %.3f s, %.0f out tok/s%s" % (
            job["id"], run["id"], len(ps), run["in"], run["out"], el, total_out / el,
            ("  (%d outputs of the wrong length)" % bad) if bad else ""))
    time.sleep(0.3)
    flush_steplog(llm.collective_rpc)
    del llm


# ---------------------------------------------------------------- serve

async def serve_runs(job, args, model_dir):
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext
    from vllm.v1.engine.async_llm import AsyncLLM
    kw = dict(model=model_dir, load_format="dummy", skip_tokenizer_init=True, dtype="bfloat16", seed=0)
    kw.update(job.get("engine", {}))
    t0 = time.time()
    engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**kw), usage_context=UsageContext.OPENAI_API_SERVER)
    startup = time.time() - t0
    vcfg = engine.vllm_config
    settings = engine_settings(vcfg)
    vocab = vcfg.model_config.get_vocab_size()
    prov = provenance(job, settings, startup)
    log("%s: engine up in %.0f s: %s" % (job["id"], startup, json.dumps(settings)[:400]))

    async def one(i, prompt, out_len, rec, sem):
        if sem is not None:
            await sem.acquire()
        try:
            st = time.perf_counter()
            rec["send"][i] = st
            times = []
            got = 0
            async for o in engine.generate(prompt, sampling(out_len, delta=True), request_id="r%d-%d" % (id(rec) % 100000, i)):
                now = time.perf_counter()
                k = len(o.outputs[0].token_ids) if o.outputs else 0
                if k:
                    times.append(now)
                    got += k
            rec["times"][i] = times
            rec["got"][i] = got
        finally:
            if sem is not None:
                sem.release()

    async def aflush():
        import builtins
        f = getattr(builtins, "_moesim_steplog_flush", None)
        if f:
            f()
            try:
                await engine.collective_rpc("moesim_flush")
            except Exception as e:
                log("step log flush failed: %r" % (e,))

    # warm-up
    wp, _, _ = prompts_for({"n": 8, "in": 64, "out": 8}, vocab, 12345)
    wrec = {"send": [0.0] * 8, "times": [None] * 8, "got": [0] * 8}
    await asyncio.gather(*[one(i, wp[i], 8, wrec, None) for i in range(8)])

    runs_log = []
    capacity = None
    for run in job["runs"]:
        if args.deadline and time.time() + float(run.get("est_s", 30)) > args.deadline:
            log("%s/%s: skipped (not enough time left in this call)" % (job["id"], run["id"]))
            continue
        rate = run.get("rate", "inf")
        if "rate_frac" in run:
            if capacity is None:
                log("%s/%s: skipped (no saturated run measured the capacity)" % (job["id"], run["id"]))
                continue
            rate = round(float(run["rate_frac"]) * capacity, 3)
            if "target_s" in run:
                # As many requests as arrive in target_s seconds at this rate (bounded), so that every rate's run
                # takes about as long.
                run = dict(run, n=int(min(run.get("n_max", 400), max(run.get("n_min", 50), round(rate * float(run["target_s"]))))))
        seed = int(run.get("seed", 0))
        ps, ins, outs = prompts_for(run, vocab, seed)
        n = len(ps)
        host = hostspeed.state()
        await acore_speed(host, "engine_core", engine.collective_rpc)
        burst = float(run.get("burstiness", 1.0))
        rng = np.random.default_rng(seed + 1)
        if rate == "inf":
            offsets = [0.0] * n
        else:
            gaps = rng.gamma(shape=burst, scale=1.0 / (float(rate) * burst), size=n)
            gaps[0] = 0.0  # vLLM's bench sends the first request at once
            offsets = np.cumsum(gaps).tolist()
        conc = run.get("conc")
        sem = asyncio.Semaphore(int(conc)) if conc else None
        rec = {"send": [0.0] * n, "times": [None] * n, "got": [0] * n}
        try:
            await engine.reset_prefix_cache()
        except Exception:
            pass
        await aflush()
        await asyncio.sleep(0.2)
        m0 = time.monotonic()
        start = time.perf_counter()

        async def launch(i):
            delay = start + offsets[i] - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await one(i, ps[i], outs[i], rec, sem)

        async def pairs(spec):
            # Requests 2k and 2k + 1 sent delta ms apart to an idle engine, delta from spec["deltas_ms"] in a seeded
            # shuffled order, then spec["idle_ms"] of quiet after both finish. The second is sent by spinning on the
            # event loop (each spin yields, so the first request's coroutine runs and sends meanwhile).
            order = [d for d in spec["deltas_ms"] for _ in range(int(spec["repeats"]))]
            np.random.default_rng(seed + 2).shuffle(order)
            for k, delta in enumerate(order[: n // 2]):
                a = asyncio.ensure_future(one(2 * k, ps[2 * k], outs[2 * k], rec, None))
                while not rec["send"][2 * k] or time.perf_counter() < rec["send"][2 * k] + delta / 1000.0:
                    await asyncio.sleep(0)
                b = asyncio.ensure_future(one(2 * k + 1, ps[2 * k + 1], outs[2 * k + 1], rec, None))
                await asyncio.gather(a, b)
                await asyncio.sleep(float(spec.get("idle_ms", 30)) / 1000.0)

        if "pairs" in run:
            await pairs(run["pairs"])
        else:
            await asyncio.gather(*[launch(i) for i in range(n)])
        end = max(t[-1] for t in rec["times"] if t)
        m1 = time.monotonic()
        await acore_speed(host, "engine_core_after", engine.collective_rpc)
        duration = end - start
        ttfts, tpots, itls, e2els, itl_lists = [], [], [], [], []
        total_out = 0
        for i in range(n):
            ts = rec["times"][i] or []
            s = rec["send"][i]
            if not ts:
                continue
            ttft = ts[0] - s
            e2e = ts[-1] - s
            ttfts.append(ttft)
            e2els.append(e2e)
            il = [b - a for a, b in zip(ts, ts[1:])]
            itl_lists.append(il)
            itls.extend(il)
            g = rec["got"][i]
            total_out += g
            if g > 1:
                tpots.append((e2e - ttft) / (g - 1))
        ms = lambda xs: [x * 1000 for x in xs]
        res = {
            "date": time.strftime("%Y%m%d-%H%M%S"), "backend": "vllm-asyncllm-inprocess", "model_id": job["model"],
            "tokenizer_id": None, "num_prompts": n, "request_rate": rate if rate == "inf" else float(rate),
            "burstiness": burst, "max_concurrency": conc,
            "duration": duration, "completed": len(ttfts), "total_input_tokens": sum(ins), "total_output_tokens": total_out,
            "request_throughput": len(ttfts) / duration, "output_throughput": total_out / duration,
            "total_token_throughput": (sum(ins) + total_out) / duration,
        }
        for name, xs in (("ttft", ttfts), ("tpot", tpots), ("itl", itls), ("e2el", e2els)):
            xm = ms(xs)
            pc = percentiles(xm)
            res["mean_%s_ms" % name] = float(np.mean(xm)) if xm else 0.0
            res["median_%s_ms" % name] = pc[50]
            res["std_%s_ms" % name] = float(np.std(xm)) if xm else 0.0
            res["p99_%s_ms" % name] = pc[99]
        res.update(input_lens=ins, output_lens=[rec["got"][i] for i in range(n)], ttfts=ttfts, itls=itl_lists,
                   send_times=[rec["send"][i] - start for i in range(n)], errors=[""] * n,
                   run=run, usage_context="OPENAI_API_SERVER", t_start_monotonic=m0, t_end_monotonic=m1,
                   requested_output_lens=outs, provenance=prov, host_speed=host)
        if rate == "inf" and capacity is None and "pairs" not in run:
            capacity = res["request_throughput"]
        write(os.path.join(args.out, run["id"] + ".json"), res)
        runs_log.append({"id": run["id"], "t0": m0, "t1": m1, "kind": "serve"})
        write(os.path.join(args.out, "runs.json"), {"job": job, "provenance": prov, "runs": runs_log})
        log("%s/%s: %d req, rate %s, conc %s: %.2f s, %.1f req/s, median TTFT %.1f ms, mean TPOT %.2f ms" % (
            job["id"], run["id"], n, rate, conc, duration, res["request_throughput"], res["median_ttft_ms"], res["mean_tpot_ms"]))
    await asyncio.sleep(0.3)
    await aflush()
    engine.shutdown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", required=True, help="folder of model folders (config.json each)")
    ap.add_argument("--deadline", type=float, default=0.0, help="unix time after which no new run starts")
    args = ap.parse_args()
    job = json.load(open(args.job))
    os.makedirs(args.out, exist_ok=True)
    model_dir = model_folder(job, os.path.join(args.models, job["model"]), args.models)
    if job["mode"] == "offline":
        run_offline(job, args, model_dir)
    elif job["mode"] == "serve":
        asyncio.run(serve_runs(job, args, model_dir))
    else:
        sys.exit("unknown mode %r" % job["mode"])


if __name__ == "__main__":
    main()
