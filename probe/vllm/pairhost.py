#!/usr/bin/env python3
"""Models' host-bound steps timed on the same vCPU, in alternation: is a per-model host cost missing from moesim,
or was it the vCPU? (docs/vllm.md, twentieth session: DeepSeek-V2-Lite's served graphless steps ran about a fifth
above moesim's and Qwen3-30B-A3B's a tenth below, on different vCPUs of the same host, and each vCPU of the lent VMs
switches between two speeds every second or so.)

Two or three offline engines in this process (--set; by default DeepSeek-V2-Lite, Qwen3-30B-A3B and
OLMoE-1B-7B, as many as fit in the GPU's memory) (random weights, no tokenizer); an entry of --set may carry engine
arguments after its model, MODEL+key=value+..., so that one model under two engine configurations takes turns the same
way (e.g. `--set olmoe-1b-7b+max_num_seqs=256,olmoe-1b-7b+max_num_seqs=1024+max_num_batched_tokens=8192`: is a step
without CUDA graphs dearer on the host at vLLM's larger defaults, the vCPU's state aside?); each entry's label is the
entry itself, each engine core pinned to the same vCPU
(MOESIM_PIN_ENGINE_CORE, steplog/sitecustomize.py), the front end on another. Then, until the budget is spent, rounds
of, for each model in turn:
  0. hostspeed.py's workload, timed once on the engine cores' vCPU (`vcpu_workload_s`: does a spot reading there
     follow the steps that come next?);
  1. three lone 1,024-token prompts with one output token each: one graphless prompt step each (no CUDA graph above
     512 tokens);
  2. sixteen 1,024-token prompts with four output tokens each at the engine's 2,048-token budget: about nine graphless
     steps, each with prompt chunks and the decodes of the prompts before them (mixed steps, as served runs have).
The models take turns within a round, so the vCPU's fast and slow spells fall on all alike over the rounds.
Every round is appended to OUT/pairhost.jsonl as it ends; the step logger's records go under OUT/steplog
(`summarize.py` is not needed: the jsonl holds each call's wall time, and the steps its composition).

  PYTHONPATH=/root/vsite python3 probe/vllm/pairhost.py --out DIR --models /root/vmodels --budget 420 [--pin 3] [--front 0]

(it puts probe/vllm/steplog first on PYTHONPATH and sets MOESIM_STEP_LOG_DIR and MOESIM_PIN_ENGINE_CORE itself,
starting again if they were not set). On the lent host after the bundle's calls (docs/vllm.md): PYTHONPATH=/root/vsite
HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 VLLM_USE_FLASHINFER_SAMPLER=0 python3 probe/vllm/pairhost.py --out $OUT/pair.

Compare with moesim: `moesim explain --model M --gpu h200-sxm-141gb --prefill-seqs 1 --prefill-len 1024` gives the
lone step's host time; the ratio of the models' measured medians against the ratio of moesim's is what the
vCPU's state cannot move.
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
import vllm_bench as vb  # noqa: E402
from hostspeed import workload  # noqa: E402

# The models that may take part, each with its bf16 weights in GB (random weights: the size is the checkpoint's). Each
# engine asks for its weights plus HEADROOM_GB of the GPU (activations, CUDA graphs, a KV cache of well over the
# 16 x 1,028 tokens a round holds), as a fraction of the GPU's memory (141 GB on an H200, 80 GB on an H100).
WEIGHTS_GB = {"deepseek-v2-lite": 31.4, "qwen3-30b-a3b": 61.1, "olmoe-1b-7b": 13.8, "qwen1.5-moe-a2.7b": 28.6,
              "mixtral-8x7b": 93.4}
HEADROOM_GB = 8.0
DEFAULT_MODELS = "deepseek-v2-lite,qwen3-30b-a3b,olmoe-1b-7b"


def vcpu_speed(pin, front):
    """hostspeed.py's workload, timed once on the engine cores' vCPU (this process moved there for it and back): the
    vCPU's speed just before a model's turn, beside that turn's steps."""
    os.sched_setaffinity(0, pin)
    t0 = time.perf_counter()
    workload()
    dt = time.perf_counter() - t0
    os.sched_setaffinity(0, front)
    return dt


def parse_set(spec):
    """--set's entries as (label, model, engine arguments): MODEL or MODEL+key=value+... (integer values as integers,
    true and false as booleans, e.g. enforce_eager=true);
    every engine runs at 2,048 batched tokens unless its entry says otherwise."""
    out = []
    for entry in spec.split(","):
        parts = entry.split("+")
        engine = {"max_num_batched_tokens": 2048}
        for kv in parts[1:]:
            if "=" not in kv:
                sys.exit("pairhost.py: --set entry %r: %r is not key=value" % (entry, kv))
            k, v = kv.split("=", 1)
            engine[k] = int(v) if v.lstrip("-").isdigit() else {"true": True, "false": False}.get(v.lower(), v)
        if parts[0] not in WEIGHTS_GB:
            sys.exit("pairhost.py: --set names %r, not one of %s" % (parts[0], ", ".join(WEIGHTS_GB)))
        if any(label == entry for label, _, _ in out):
            sys.exit("pairhost.py: --set names %r twice" % entry)
        out.append((entry, parts[0], engine))
    return out


def timed(llm, prompts, sp, windows):
    """The call's wall time and outputs; its start and end on the step logger's clock (time.monotonic, one clock for
    every process of the host) are appended to `windows`, which tells each model's steps in the log apart."""
    m0, t0 = time.monotonic(), time.perf_counter()
    out = llm.generate(prompts, sp, use_tqdm=False)
    dt = time.perf_counter() - t0
    windows.append([m0, time.monotonic()])
    return dt, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="/root/vmodels")
    ap.add_argument("--budget", type=float, default=420, help="seconds from start after which no new round starts")
    ap.add_argument("--pin", default="3", help="the vCPU(s) both engine cores run on")
    ap.add_argument("--front", default="0", help="the vCPU(s) this front-end process runs on")
    ap.add_argument("--set", default=DEFAULT_MODELS,
                    help="the models, comma-separated (%s), each optionally with engine arguments, MODEL+key=value+...; "
                         "those that do not fit in the GPU's memory, in this order, are left out" % ", ".join(WEIGHTS_GB))
    a = ap.parse_args()
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    # The step logger (steplog/sitecustomize.py) patches vLLM as Python starts, in this process and in the engine
    # cores it starts, and only with these set: start again with them if they were not.
    want = {"MOESIM_PIN_ENGINE_CORE": a.pin, "MOESIM_STEP_LOG_DIR": os.path.join(os.path.abspath(a.out), "steplog")}
    steplog = os.path.join(HERE, "steplog")
    path_ok = os.environ.get("PYTHONPATH", "").split(":")[0] == steplog
    if any(os.environ.get(k) != v for k, v in want.items()) or not path_ok:
        os.environ.update(want)
        if not path_ok:
            os.environ["PYTHONPATH"] = steplog + (":" + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
        os.execv(sys.executable, [sys.executable] + sys.argv)
    pin_set, front_set = {int(x) for x in a.pin.split(",")}, {int(x) for x in a.front.split(",")}
    os.sched_setaffinity(0, front_set)
    # nvidia-smi rather than torch.cuda: CUDA started in this process would make vLLM spawn its engine cores.
    smi = subprocess.run(["nvidia-smi", "--query-gpu=memory.total,name", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=True).stdout.splitlines()[0].split(",")
    total_gb, gpu_name = float(smi[0]) * 1.048576e-3, smi[1].strip()
    models, used = [], 0.0
    for label, m, engine in parse_set(a.set):
        need = WEIGHTS_GB[m] + HEADROOM_GB
        if used + need > 0.95 * total_gb:
            vb.log("%s left out: %.0f GB more would pass 95%% of the GPU's %.0f GB" % (label, need, total_gb))
            continue
        models.append((label, m, engine, need / total_gb))
        used += need
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), "--out", a.models,
                    "--models", ",".join(sorted({m for _, m, _, _ in models}))], check=True)
    from vllm import LLM
    engines = []
    for label, model, engine, mem in models:
        t0 = time.time()
        llm = LLM(model=os.path.join(a.models, model), load_format="dummy", skip_tokenizer_init=True, dtype="bfloat16",
                  seed=0, gpu_memory_utilization=mem, max_model_len=4096, **engine)
        vcfg = llm.llm_engine.vllm_config
        engines.append((label, llm, vcfg.model_config.get_vocab_size()))
        vb.log("%s up in %.0f s: %s" % (label, time.time() - t0, json.dumps(vb.engine_settings(vcfg))[:300]))
    # Warm-up: the token counts the rounds use, so that no first-use compile falls in a round.
    for model, llm, vocab in engines:
        for n, out in ((1, 1), (16, 4)):
            ps, _, _ = vb.prompts_for({"n": n, "in": 1024, "out": out}, vocab, 777 + n)
            llm.generate(ps, vb.sampling(out), use_tqdm=False)
    path = os.path.join(a.out, "pairhost.jsonl")
    with open(path, "a") as f:
        f.write(json.dumps({"kind": "meta", "host": os.uname().nodename, "pin": a.pin, "front": a.front,
                            "models": [label for label, _, _, _ in models], "gpu": gpu_name, "startup_s": time.time() - t_start,
                            "engines": {label: {"model": m, "engine": engine} for label, m, engine, _ in models},
                            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}) + "\n")
    k = 0
    while time.time() - t_start < a.budget:
        rec = {"kind": "round", "round": k, "t": time.time() - t_start}
        # Alternate which model goes first, round by round.
        order = engines if k % 2 == 0 else engines[::-1]
        for model, llm, vocab in order:
            speed_s = vcpu_speed(pin_set, front_set)
            lone, lone_w, mixed_w = [], [], []
            for j in range(3):
                ps, _, _ = vb.prompts_for({"n": 1, "in": 1024, "out": 1}, vocab, 100000 * (k + 1) + j)
                lone.append(timed(llm, ps, vb.sampling(1), lone_w)[0])
            ps, _, _ = vb.prompts_for({"n": 16, "in": 1024, "out": 4}, vocab, 200000 * (k + 1))
            mixed, out = timed(llm, ps, vb.sampling(4), mixed_w)
            rec[model] = {"vcpu_workload_s": speed_s, "lone_s": lone, "lone_median_s": statistics.median(lone), "mixed16_s": mixed,
                          "mixed16_tokens": sum(len(o.outputs[0].token_ids) for o in out),
                          "lone_windows_mono": lone_w, "mixed16_window_mono": mixed_w[0]}
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        vb.log("round %d: %s" % (k, ", ".join("%s lone %.1f ms, 16 mixed %.0f ms" % (
            m, 1e3 * rec[m]["lone_median_s"], 1e3 * rec[m]["mixed16_s"]) for m, _, _ in engines)))
        k += 1
    for _, llm, _ in engines:
        vb.flush_steplog(llm.collective_rpc)
    vb.log("done: %d rounds in %.0f s" % (k, time.time() - t_start))


if __name__ == "__main__":
    main()
