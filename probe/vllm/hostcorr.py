#!/usr/bin/env python3
"""Which host gauge follows vLLM's host-bound steps? One OLMoE-1B-7B engine (offline LLM, random weights, CUDA graphs
captured for 1-8 tokens only, as the fifth session's graphless jobs), then, until the budget is spent, rounds of:

  1. hostprobe.py's battery in this process, and hostspeed.py's workload in the engine core (its RPC);
  2. five lone 2,048-token prompts with one output token each: one graphless prefill step each, whose time is
     mostly the host's (the fifth to seventh sessions: 13-14 ms of GPU work in 16-40 ms, by host);
  3. one 64-token prompt decoding 128 tokens alone: full-CUDA-graph steps of one sequence, also host-bound.

Every round is appended to OUT/hostcorr.jsonl as it finishes (a cut-off call keeps what it had); the step logger's
records (steplog/, when on PYTHONPATH with MOESIM_STEP_LOG_DIR) go under OUT/steplog.

  python3 probe/vllm/hostcorr.py --out DIR --models /root/vmodels --budget 360
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostprobe  # noqa: E402
import vllm_bench as vb  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="/root/vmodels")
    ap.add_argument("--model", default="olmoe-1b-7b")
    ap.add_argument("--budget", type=float, default=360, help="seconds from start after which no new round starts")
    a = ap.parse_args()
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), "--out", a.models, "--models", a.model], check=True)
    battery = hostprobe.Battery()
    first = battery.measure()
    vb.log("battery before the engine: %s; skipped %s" % (json.dumps(first), battery.errors))
    from vllm import LLM
    llm = LLM(model=os.path.join(a.models, a.model), load_format="dummy", skip_tokenizer_init=True, dtype="bfloat16",
              seed=0, compilation_config={"cudagraph_capture_sizes": [1, 2, 4, 8]})
    startup = time.time() - t_start
    vcfg = llm.llm_engine.vllm_config
    vocab = vcfg.model_config.get_vocab_size()
    vb.log("engine up at %.0f s: %s" % (startup, json.dumps(vb.engine_settings(vcfg))[:300]))
    wp, _, _ = vb.prompts_for({"n": 2, "in": 2048, "out": 1}, vocab, 12345)
    llm.generate(wp, vb.sampling(1), use_tqdm=False)
    wp, _, _ = vb.prompts_for({"n": 1, "in": 64, "out": 16}, vocab, 12346)
    llm.generate(wp, vb.sampling(16), use_tqdm=False)
    path = os.path.join(a.out, "hostcorr.jsonl")
    meta = {"kind": "meta", "host": os.uname().nodename, "startup_s": startup, "model": a.model,
            "battery_skipped": battery.errors, "battery_before_engine": first,
            "settings": vb.engine_settings(vcfg)}
    with open(path, "a") as f:
        f.write(json.dumps(meta) + "\n")
    k = 0
    while time.time() - t_start < a.budget:
        rec = {"kind": "round", "round": k, "battery": battery.measure()}
        core = {}
        vb.core_speed(core, "engine_core", llm.collective_rpc)
        rec["engine_core"] = core
        g = []
        for j in range(5):
            ps, _, _ = vb.prompts_for({"n": 1, "in": 2048, "out": 1}, vocab, 1000 * k + j)
            t0 = time.perf_counter()
            llm.generate(ps, vb.sampling(1), use_tqdm=False)
            g.append(time.perf_counter() - t0)
        rec["g2048_s"] = g
        rec["g2048_median_s"] = statistics.median(g)
        ps, _, _ = vb.prompts_for({"n": 1, "in": 64, "out": 128}, vocab, 500000 + k)
        t0 = time.perf_counter()
        out = llm.generate(ps, vb.sampling(128), use_tqdm=False)
        rec["decode128_s"] = time.perf_counter() - t0
        rec["decode128_tokens"] = len(out[0].outputs[0].token_ids)
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        vb.log("round %d: g2048 %.1f ms, decode %.2f ms/token, py_small %.3f s, cuda_enqueue %s us, triton %s us" % (
            k, 1e3 * rec["g2048_median_s"], 1e3 * rec["decode128_s"] / 128, rec["battery"]["py_small_s"],
            rec["battery"]["cuda_enqueue_us"], rec["battery"]["triton_launch_us"]))
        k += 1
    vb.flush_steplog(llm.collective_rpc)
    vb.log("done: %d rounds in %.0f s" % (k, time.time() - t_start))


if __name__ == "__main__":
    main()
