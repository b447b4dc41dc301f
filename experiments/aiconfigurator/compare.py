#!/usr/bin/env python3
"""moesim against NVIDIA AIConfigurator's own estimates (`aiconfigurator cli estimate`, vLLM backend, H200).

Grid (issue 12): Qwen3-30B-A3B and Mixtral-8x7B on H200-SXM; plans TP2/TP4/TP8 without and with expert
parallelism, and DP4+EP / DP8+EP (attention data parallel); concurrency 8/32/128; ISL/OSL 1024/256 and 128/128.
AIConfigurator (aggregated serving, its batch size = concurrency per attention-DP rank) gives TPOT and output
tokens/s/GPU at a steady batch; moesim runs the vLLM benchmark at that concurrency (4 x concurrency prompts, at
least 32, seed 0) with the default `vllm` profile, and again with its host-side overheads at 0 and CUDA graphs kept
under DP (experiments/aiconfigurator/vllm-kernels-only.json): moesim's kernel account alone.

Needs: a release build (swift build -c release) and the `aiconfigurator` CLI (pip install aiconfigurator==0.12.0,
which brings aiconfigurator-core 0.12.0; pass its path with --aic). Writes compare.csv and compare.md here;
--reuse-aic takes AIConfigurator's figures from an earlier compare.csv where it has them (runs it for the rest).
  python3 experiments/aiconfigurator/compare.py --aic /tmp/aic/bin/aiconfigurator
"""
import argparse
import csv
import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MODELS = [("qwen3-30b-a3b", "Qwen/Qwen3-30B-A3B"), ("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1")]


def model_path(exe, hf):
    """The HF id, or for ids the CLI cannot resolve offline, a folder holding the config.json that
    aiconfigurator-core bundles (model_configs/<org>--<name>_config.json)."""
    if hf.startswith("Qwen/"):
        return hf
    py = os.path.join(os.path.dirname(os.path.abspath(exe)), "python")
    root = subprocess.run([py, "-c", "import aiconfigurator_core, os; print(os.path.dirname(aiconfigurator_core.__file__))"],
                          capture_output=True, text=True).stdout.strip()
    src = os.path.join(root, "model_configs", hf.replace("/", "--") + "_config.json")
    dst = os.path.join("/tmp", "moesim-aic-models", hf.replace("/", "--"))
    os.makedirs(dst, exist_ok=True)
    with open(src) as f, open(os.path.join(dst, "config.json"), "w") as g:
        g.write(f.read())
    return dst
PLANS = [  # name, tp, dp, ep
    ("TP2", 2, 1, False), ("TP4", 4, 1, False), ("TP8", 8, 1, False),
    ("TP2+EP", 2, 1, True), ("TP4+EP", 4, 1, True), ("TP8+EP", 8, 1, True),
    ("DP4+EP", 1, 4, True), ("DP8+EP", 1, 8, True),
]
CONC = [8, 32, 128]
SHAPES = [(1024, 256), (128, 128)]


def aic(exe, hf, tp, dp, ep, conc, isl, osl):
    gpus = tp * dp
    args = [exe, "cli", "estimate", "--model-path", model_path(exe, hf), "--system", "h200_sxm", "--backend", "vllm",
            "--estimate-mode", "agg", "--isl", str(isl), "--osl", str(osl), "--batch-size", str(conc // dp),
            "--tp-size", str(tp), "--attention-dp-size", str(dp),
            "--moe-tp-size", str(1 if ep else tp), "--moe-ep-size", str(gpus if ep else 1)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=600).stdout

    def grab(label):
        m = re.search(label + r":\s+([\d,\.]+)", out)
        return float(m.group(1).replace(",", "")) if m else None
    return {"aic_tpot_ms": grab("TPOT"), "aic_ttft_ms": grab("TTFT"), "aic_tok_s_gpu": grab("tokens/s/gpu"),
            "aic_concurrency": grab("Concurrency"), "aic_cmd": " ".join(args[1:])}


def moesim(model, tp, dp, ep, conc, isl, osl, profile):
    args = [os.path.join(ROOT, ".build", "release", "moesim"), "run", "--model", model, "--gpu", "h200-sxm-141gb",
            "--tensor-parallel-size", str(tp), "--data-parallel-size", str(dp),
            "--random-input-len", str(isl), "--random-output-len", str(osl),
            "--num-prompts", str(max(32, 4 * conc)), "--max-concurrency", str(conc), "--seed", "0", "--json",
            "--engine-profile", profile] + (["--enable-expert-parallel"] if ep else [])
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if r.returncode != 0:
        return None, r.stderr.strip()
    d = json.loads(r.stdout)
    return d, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aic", default="aiconfigurator")
    ap.add_argument("--reuse-aic", action="store_true")
    a = ap.parse_args()
    old = {}
    if a.reuse_aic:
        with open(os.path.join(HERE, "compare.csv")) as f:
            for r in csv.DictReader(f):
                old[(r["model"], int(r["isl"]), r["plan"], int(r["concurrency"]))] = {
                    k: (v if k == "aic_cmd" else (float(v) if v not in ("", None) else None)) for k, v in r.items() if k.startswith("aic_")}
    rows = []
    for model, hf in MODELS:
        for (isl, osl) in SHAPES:
            for name, tp, dp, ep in PLANS:
                for c in CONC:
                    r = {"model": model, "isl": isl, "osl": osl, "plan": name, "concurrency": c}
                    prev = old.get((model, isl, name, c))
                    r.update(prev if prev and prev.get("aic_tpot_ms") else aic(a.aic, hf, tp, dp, ep, c, isl, osl))
                    d, err = moesim(model, tp, dp, ep, c, isl, osl, "vllm")
                    r["moesim_tpot_ms"] = d["mean_tpot_ms"] if d else None
                    r["moesim_tok_s_gpu"] = d["output_throughput_per_gpu"] if d else None
                    r["moesim_error"] = err
                    d2, _ = moesim(model, tp, dp, ep, c, isl, osl, os.path.join(HERE, "vllm-kernels-only.json"))
                    r["moesim_kernels_tpot_ms"] = d2["mean_tpot_ms"] if d2 else None
                    r["moesim_kernels_tok_s_gpu"] = d2["output_throughput_per_gpu"] if d2 else None
                    rows.append(r)
                    print(json.dumps(r), flush=True)
    keys = sorted({k for r in rows for k in r})
    with open(os.path.join(HERE, "compare.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    def ratio(x, y):
        return f"{x / y:.2f}" if x and y else "–"

    def num(x, fmt):
        return format(x, fmt) if x is not None else "–"
    with open(os.path.join(HERE, "compare.md"), "w") as f:
        f.write("| model | ISL/OSL | plan | conc. | TPOT ms AIC | TPOT ms moesim | ratio | kernels-only ratio | "
                "tok/s/GPU AIC | tok/s/GPU moesim | ratio | kernels-only ratio |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['model']} | {r['isl']}/{r['osl']} | {r['plan']} | {r['concurrency']} | {num(r['aic_tpot_ms'], '.2f')} | "
                    f"{num(r['moesim_tpot_ms'], '.2f')} | {ratio(r['moesim_tpot_ms'], r['aic_tpot_ms'])} | "
                    f"{ratio(r['moesim_kernels_tpot_ms'], r['aic_tpot_ms'])} | {num(r['aic_tok_s_gpu'], '.0f')} | "
                    f"{num(r['moesim_tok_s_gpu'], '.0f')} | {ratio(r['moesim_tok_s_gpu'], r['aic_tok_s_gpu'])} | "
                    f"{ratio(r['moesim_kernels_tok_s_gpu'], r['aic_tok_s_gpu'])} |\n")

if __name__ == "__main__":
    main()
