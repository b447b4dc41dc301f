#!/usr/bin/env python3
"""Imports NVIDIA AIConfigurator's measured vLLM kernel tables into moesim kernel profiles.

Source: the `aiconfigurator-core` package on PyPI (Apache-2.0; licence notice in
profiles/LICENSES/aiconfigurator-core-LICENSE and -NOTICE). Its parquet files live under
`aiconfigurator_core/systems/data/<system>/<op>/<framework>/<version>/`, each folder with a
`collection_meta.yaml` that this script copies into the output's provenance.

Outputs (what moesim reads; the Swift package never reads parquet):
  profiles/kernels/a100-sxm-vllm-0.14.0.json   (A100-SXM4-80GB, vLLM 0.14.0)
  profiles/kernels/h100-sxm-vllm-0.24.0.json   (H100-SXM, vLLM 0.24.0)
  profiles/kernels/h200-sxm-vllm-0.24.0.json   (H200-SXM, vLLM 0.24.0)

Per file, bf16 only:
  moe              vLLM fused-MoE latency per num_tokens for each (hidden, inter, topk, experts, moe_tp, moe_ep,
                   distribution). `inter` is the model's full expert width; the kernel ran inter/moe_tp wide with
                   experts/moe_ep local experts on ALL num_tokens tokens (vLLM's expert_map filters them), and
                   with power-law routing the measured rank is the most loaded EP rank (the collector swaps it to
                   rank 0). Latency is the mean over 5 fresh routings (power law) or 6 runs (balanced).
  moe_routing      the expected load of that measured rank under the collector's own routing generator
                   (re-implemented here from aiconfigurator's collector/helper.py `power_law_logits_v3` and
                   `balanced_logits`, 256 seeded draws): experts hit and token-expert pairs. moesim needs these to
                   fit its shape model and to carry a measured time over to a different routing.
  gemm             torch/cuBLAS bf16 GEMM latency over aiconfigurator's (m, n, k) grid.
  generation_attention / context_attention   vLLM FlashAttention, head_dim 128, bf16 KV cache.
  collectives      vLLM's custom all-reduce (CUDA-graph mode) for all_reduce; NCCL (fp16) all_gather,
                   reduce_scatter, alltoall. message_size in the parquet is an element count; written as bytes (x2).
  moe_a2a          H100/H200 only: DeepEP dispatch/combine at EP 8 (recorded for reference; moesim's vLLM EP path
                   uses the all-gather/all-reduce or all-to-all collectives above).

H100/H200 (vLLM 0.24.0) files also carry `fp8_block`: the measured fp8 fused-MoE table with 128x128 block scales
(w8a8, as DeepSeek-V3/R1, Kimi-K2 and Qwen3-FP8 ship), in the same layout and with its own provenance:
  moe / moe_routing   vLLM fused MoE, moe_dtype fp8_block (Triton experts under moe TP, FlashInfer CUTLASS experts
                      under EP; kernel_source in the provenance), every measured shape (moesim fits its fp8 shape
                      model to all of them; the shipped fp8 models' shapes 7168x2048 top-8 of 256 and of 384 and
                      4096x1536 top-8 of 128 are among them).
They also carry the other measured quantized fused-MoE tables of the package, each a sub-table of the same layout
keyed by its moe_dtype (`quantization` inside says which), with its own provenance and kernel_source:
  w4a16_mxfp4  MXFP4 experts, bf16 activations (gpt-oss): only the rows of vLLM's gpt-oss MXFP4 path on Hopper, the
               OpenAI triton_kernels MoE (kernel_source vllm_gptossmxfp4moe_triton_oaitritonmxfp4expertsmonolithic),
               which vLLM picks for `quant_method: mxfp4` on SM90. The table's other MXFP4 rows
               (vllm_compressedtensorsw4a4mxfp4moe_marlin_marlinexperts_situ_as_silu) are NOT imported: a different
               checkpoint format (compressed-tensors w4a4 MXFP4 run as w4a16 through Marlin), timed with an activation
               approximation ("situ as silu") and only at one shape (Kimi-K3's 3584x3072 top-16 of 896).
               Measured shapes: 2880x2880 top-4 of 32 and of 128 (gpt-oss-20b and -120b).
  int4_wo      int4 weight-only (w4a16) experts through vLLM's Marlin MoE (kernel_source
               vllm_compressedtensorswna16marlinmoe_marlin_marlinexperts; AWQ/GPTQ checkpoints reach the same
               fused_marlin_moe kernel through awq_marlin/gptq_marlin). One shape: 7168x2048 top-8 of 384 (Kimi-K2).
  fp8          fp8 with per-tensor scales (w8a8): ModelOpt FP8 through FlashInfer CUTLASS (kernel_source
               vllm_modeloptfp8moe_flashinfer_cutlass_flashinferexperts, the only per-tensor fp8 rows), 15 shapes.
The package's fp8_block GEMM rows are NOT imported: most of them (DeepGemmFp8BlockScaledMMKernel, m 17 to ~4096)
sit on a floor of ~80-100 us whatever the shape (n = k = 32 at m = 64: 177 us against 2.5 us in bf16; median 11x
the bf16 time at m = 64), which is per-call host overhead of how they were timed, not the kernel a CUDA-graph
decode step runs. moesim keeps the roofline-ratio estimate for fp8 GEMMs (and says so).

H100/H200 (vLLM 0.24.0) files also carry `mla`: AIConfigurator's measured vLLM MLA attention MODULE tables
(`mla/vllm/0.24.0/mla_{context,generation}_module_perf.parquet`; the package has none for A100), with their own
provenance inside the key. What a row is, from the collector that wrote them (ai-dynamo/aiconfigurator
collector/vllm/collect_mla_module.py, `__compat__ = "vllm==0.24.0"`) and the package code that reads them
(aiconfigurator_core/sdk/models/deepseek.py, operations/mla.py `MLAModule`):
  - one forward of vLLM's own `DeepseekV2MLAAttention` built from DeepSeek-V3's HF config with
    num_hidden_layers = 1 and num_attention_heads overridden to `num_heads`, i.e. ONE layer's attention block on
    ONE GPU: fused q_a/kv_a down-projection (hidden -> 1536 + 576), q_a/kv_a RMSNorms, q_b_proj, RoPE, the MLA
    attention (decode: absorbed W_UK/W_UV BMMs + the decode kernel; prefill: kv_b_proj up-projection + the prefill
    kernel) and o_proj; not the input norm, the residual add or the TP all-reduce. AIConfigurator uses one row in
    place of its whole granular list (downscale GEMM, q_b_proj, kv_b_proj / BMMs, attention, o_proj).
  - tp_size is always 1: `num_heads` is the heads on the GPU (the model's heads / TP; DeepSeek-V3 128 / TP).
  - generation: `batch_size` sequences of one new token each, `step` = seq_len = tokens attended including the new
    one (the cache holds step - 1); isl = 1. context: `batch_size` prompts of `isl` tokens, no prefix (step 0).
  - `kernel_source` is the backend vLLM picked (decode: FLASH_ATTN_MLA with a bf16 KV cache, FLASHMLA with fp8;
    prefill: FLASH_ATTN, FLASH_ATTN_MLA or FLASHMLA by length); rows are unique per (kv dtype, gemm type, heads,
    batch, length) whatever the source, so they are merged (the sources kept per shape).
  - gemm_type bfloat16 or fp8_block (vLLM Fp8Config, 128x128 weight blocks, dynamic activations); mla_dtype
    (attention compute) is bfloat16 throughout; latency in ms, CUDA-graph replay (benchmark_with_power).
  Written per (kv_cache_dtype, gemm_type, heads) as rows [batch_size, length, us] like the attention tables.

Times are written in microseconds rounded to 4 significant digits.

Run from the repository root (installs the package into a private virtual environment if needed):
  python3 profiles/tools/import_aiconfigurator.py
  python3 profiles/tools/import_aiconfigurator.py --fp8-only   (re-writes only the quantized fused-MoE parts,
                                                                `fp8_block`, `w4a16_mxfp4`, `int4_wo` and `fp8`, of the
                                                                H100/H200 files, keeping the rest byte for byte;
                                                                --moe-quant-only is the same)
  python3 profiles/tools/import_aiconfigurator.py --mla-only   (adds / re-writes only the `mla` key, likewise)
"""
import hashlib
import json
import os
import subprocess
import sys

PACKAGE = "aiconfigurator-core"
VERSION = "0.12.0"
VENV = "/tmp/aic"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "kernels")

SYSTEMS = [
    # (system dir, vLLM version, output name, moesim GPU profile)
    ("a100_sxm", "0.14.0", "a100-sxm-vllm-0.14.0", "a100-sxm4-80gb"),
    ("h100_sxm", "0.24.0", "h100-sxm-vllm-0.24.0", "h100-sxm-80gb"),
    ("h200_sxm", "0.24.0", "h200-sxm-vllm-0.24.0", "h200-sxm-141gb"),
]
NCCL = {"a100_sxm": "2.27.3", "h100_sxm": "2.27.3", "h200_sxm": "2.29.2"}
ROUTING_DRAWS = 256
FP8_SYSTEMS = {"h100_sxm", "h200_sxm"}
# The other measured quantized fused-MoE tables (H100/H200 vLLM 0.24.0): moe_dtype -> (kernel_source kept, what it is,
# why that kernel_source). Each becomes a sub-table keyed by its moe_dtype, written after `fp8_block`.
QUANT_MOE = [
    ("w4a16_mxfp4", ["vllm_gptossmxfp4moe_triton_oaitritonmxfp4expertsmonolithic"],
     "MXFP4 weight-only (w4a16, gpt-oss) fused-MoE timings, OpenAI triton_kernels MoE",
     "kept: vLLM's gpt-oss MXFP4 path on Hopper (Mxfp4MoEMethod, triton_kernels backend on SM90); not kept: "
     "vllm_compressedtensorsw4a4mxfp4moe_marlin_marlinexperts_situ_as_silu (compressed-tensors w4a4 MXFP4 through "
     "Marlin with a situ-as-silu activation approximation, Kimi-K3's shape only)"),
    ("int4_wo", ["vllm_compressedtensorswna16marlinmoe_marlin_marlinexperts"],
     "int4 weight-only (w4a16) fused-MoE timings, Marlin MoE",
     "the only int4_wo rows: compressed-tensors WNA16 through vLLM's fused Marlin MoE, the kernel AWQ/GPTQ "
     "checkpoints reach through awq_marlin/gptq_marlin"),
    ("fp8", ["vllm_modeloptfp8moe_flashinfer_cutlass_flashinferexperts"],
     "fp8 per-tensor-scaled (w8a8) fused-MoE timings, ModelOpt FP8 through FlashInfer CUTLASS",
     "the only per-tensor fp8 rows: ModelOpt FP8 through FlashInfer CUTLASS"),
]


def ensure_package():
    """Re-executes this script inside a virtual environment that has the package, pandas and pyarrow."""
    try:
        import aiconfigurator_core  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import yaml  # noqa: F401
        return
    except ImportError:
        pass
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([py, "-m", "pip", "install", "-q", f"{PACKAGE}=={VERSION}", "pandas", "pyarrow", "pyyaml"])
    os.execv(py, [py] + sys.argv)


def sig4(x):
    return float(f"{x:.4g}")


FP8_ONLY = "--fp8-only" in sys.argv[1:] or "--moe-quant-only" in sys.argv[1:]
MLA_ONLY = "--mla-only" in sys.argv[1:]
# The model the MLA module tables were collected with (its HF config; the collector overrides only the head count).
MLA_MODEL_DIMS = {"hidden": 7168, "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
                  "qk_rope_head_dim": 64, "v_head_dim": 128, "native_heads": 128}


def mla_module_tables(data, table, system, ver):
    """The vLLM MLA module tables of one system/version as the `mla` key, or None where the package has none."""
    folder = os.path.join(data, system, "mla", "vllm", ver)
    if not os.path.exists(os.path.join(folder, "mla_generation_module_perf.parquet")):
        return None
    out = {
        "what": ("one layer's vLLM DeepseekV2MLAAttention forward on one GPU (fused q_a/kv_a down-projection, q/kv "
                 "RMSNorms, q_b_proj, RoPE, MLA attention with kv_b (prefill) or the absorbed W_UK/W_UV BMMs (decode), "
                 "o_proj); not the input norm, residual or TP all-reduce"),
        "collector": "ai-dynamo/aiconfigurator collector/vllm/collect_mla_module.py (vllm==0.24.0), CUDA graph",
        "heads": "heads on the GPU (model heads / TP); the collector ran tp_size 1",
        "dims": dict(MLA_MODEL_DIMS),
        "provenance": {},
    }
    for phase, col, lname, note in [
            ("generation", "step", "kv_len", "batch_size sequences of one new token; kv_len = tokens attended incl. the new one"),
            ("context", "isl", "input_len", "batch_size prompts of input_len tokens, no prefix")]:
        df, p = table(system, "mla", "vllm", ver, f"mla_{phase}_module_perf")
        models = sorted(df.model.unique().tolist())
        assert models == ["deepseek-ai/DeepSeek-V3"], models
        assert sorted(df.mla_dtype.unique().tolist()) == ["bfloat16"]
        assert (df.tp_size == 1).all()
        if phase == "context":
            assert (df.step == 0).all()
        else:
            assert (df.isl == 1).all()
        p["kernel_source"] = sorted(df.kernel_source.unique().tolist())
        p["device"] = df.device.iloc[0]
        p["model"] = models[0]
        out["model"] = models[0]
        out["provenance"][phase] = p
        keys = ["kv_cache_dtype", "gemm_type", "num_heads"]
        assert not df.duplicated(keys + ["batch_size", col]).any()
        shapes = []
        for (kv, gt, h), g in sorted(df.groupby(keys), key=lambda kv: kv[0]):
            g = g.sort_values(["batch_size", col])
            shapes.append({"kv_cache_dtype": kv, "gemm_type": gt, "heads": int(h),
                           "kernel_source": sorted(g.kernel_source.unique().tolist()),
                           "rows": [[int(b), int(s), sig4(t * 1000)] for b, s, t in zip(g.batch_size, g[col], g.latency)]})
        out[phase] = {"columns": ["batch_size", lname, "us"], "note": note, "shapes": shapes}
    return out


def main():
    ensure_package()
    import importlib.metadata as md

    import aiconfigurator_core
    import numpy as np
    import pandas as pd
    import yaml

    assert md.version(PACKAGE) == VERSION, f"expected {PACKAGE} {VERSION}, found {md.version(PACKAGE)}"
    root = os.path.dirname(aiconfigurator_core.__file__)
    data = os.path.join(root, "systems", "data")

    def table(system, op, fw, ver, name):
        rel = f"aiconfigurator_core/systems/data/{system}/{op}/{fw}/{ver}/{name}.parquet"
        path = os.path.join(data, system, op, fw, ver, name + ".parquet")
        meta_path = os.path.join(data, system, op, fw, ver, "collection_meta.yaml")
        meta = yaml.safe_load(open(meta_path)) if os.path.exists(meta_path) else None
        raw = open(path, "rb").read()
        prov = {"file": rel, "sha256": hashlib.sha256(raw).hexdigest(), "collection_meta": meta}
        return pd.read_parquet(path), prov

    # ---- the collector's routing generator, re-implemented (numpy) ------------------------------------------
    def power_law_counts(rng, n, e, k, ep, alpha):
        if n * k > e:
            xmin, xmax = 1.0, n * 0.8
        else:
            xmin, xmax = 0.01, 2.0
        u = rng.random(e)
        x = ((xmax ** (1 - alpha) - xmin ** (1 - alpha)) * u + xmin ** (1 - alpha)) ** (1 / (1 - alpha))
        target = n * k
        c = np.round(x / x.sum() * target).astype(np.int64)
        delta = target - int(c.sum())
        if delta != 0:
            order = np.argsort(-c, kind="stable")
            if delta > 0:
                for i in range(delta):
                    c[order[i % len(order)]] += 1
            else:
                for i in range(-delta):
                    idx = order[-(i % len(order)) - 1]
                    if c[idx] > 0:
                        c[idx] -= 1
                    else:
                        c[np.argmax(c)] -= 1
        g = c.reshape(ep, e // ep)
        return g[np.argmax(g.sum(axis=1))]  # the most loaded EP rank (swapped to rank 0 by the collector)

    def balanced_counts(n, e, k, ep):
        stride = -(-e // k)
        c = np.zeros(e, dtype=np.int64)
        for t in range(n):
            for i in range(k):
                if n >= stride:
                    ex = (t + i * stride) % e
                else:
                    ex = int((t * stride / n + i * stride) % e)
                c[ex] += 1
        return c.reshape(ep, e // ep)[0]

    def routing_stats(n, e, k, ep, dist):
        if dist == "balanced":
            c = balanced_counts(n, e, k, ep)
            return float((c > 0).sum()), float(c.sum())
        alpha = float(dist.split("_")[-1])
        rng = np.random.default_rng([n, e, k, ep, int(round(alpha * 100))])
        hits = pairs = 0.0
        for _ in range(ROUTING_DRAWS):
            c = power_law_counts(rng, n, e, k, ep, alpha)
            hits += (c > 0).sum()
            pairs += c.sum()
        return hits / ROUTING_DRAWS, pairs / ROUTING_DRAWS

    os.makedirs(OUT, exist_ok=True)
    for system, ver, name, gpu in SYSTEMS:
        doc = {
            "version": 1,
            "name": name,
            "gpu": gpu,
            "framework": "vllm",
            "framework_version": ver,
            "sources": [{
                "kind": "measurement",
                "what": f"vLLM {ver} kernel timings on {system} collected by NVIDIA for AIConfigurator",
                "source": f"{PACKAGE} {VERSION} (PyPI, Apache-2.0), imported by profiles/tools/import_aiconfigurator.py",
                "date": "see collection_meta per table",
                "host": system,
            }],
            "licence": "Apache-2.0 (profiles/LICENSES/aiconfigurator-core-LICENSE, -NOTICE)",
            "units": {"time": "us", "bytes": "bytes"},
            "provenance": {"package": PACKAGE, "package_version": VERSION, "tables": {}},
        }
        prov = doc["provenance"]["tables"]

        def moe_tables(dtype, label, kernel_sources=None, selection=None):
            moe, p = table(system, "moe", "vllm", ver, "moe_perf")
            moe = moe[moe.moe_dtype == dtype]
            if dtype != "bfloat16":
                p["filter"] = f"moe_dtype {dtype}"
            if kernel_sources is not None:
                moe = moe[moe.kernel_source.isin(kernel_sources)]
                p["filter"] += ", kernel_source " + " or ".join(kernel_sources)
                p["kernel_source_selection"] = selection
            p["kernel_source"] = sorted(moe.kernel_source.unique().tolist())
            p["device"] = moe.device.iloc[0]
            prov[label] = p
            keys = ["hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size", "moe_ep_size", "distribution"]
            curves = []
            routing_keys = set()
            for key, g in sorted(moe.groupby(keys), key=lambda kv: kv[0]):
                g = g.groupby("num_tokens", as_index=False)["latency"].median().sort_values("num_tokens")
                h, i, k, e, tp, ep, dist = key
                curves.append({"hidden": int(h), "inter": int(i), "topk": int(k), "experts": int(e), "tp": int(tp),
                               "ep": int(ep), "distribution": dist,
                               "tokens": [int(x) for x in g.num_tokens], "us": [sig4(x * 1000) for x in g.latency]})
                for n in g.num_tokens:
                    routing_keys.add((int(e), int(k), int(ep), dist, int(n)))
            stats = {}
            for (e, k, ep, dist, n) in sorted(routing_keys):
                stats.setdefault((e, k, ep, dist), []).append((n,) + routing_stats(n, e, k, ep, dist))
            routing = [{"experts": e, "topk": k, "ep": ep, "distribution": d,
                        "tokens": [r[0] for r in rows], "hits": [sig4(r[1]) for r in rows],
                        "pairs": [sig4(r[2]) for r in rows]}
                       for (e, k, ep, d), rows in sorted(stats.items())]
            return curves, routing

        def gemm_tables(dtype, label):
            gemm, p = table(system, "gemm", "vllm", ver, "gemm_perf")
            gemm = gemm[gemm.gemm_dtype == dtype]
            if dtype != "bfloat16":
                p["filter"] = f"gemm_dtype {dtype}"
            p["kernel_source"] = sorted(gemm.kernel_source.unique().tolist())
            prov[label] = p
            ms = sorted(int(x) for x in gemm.m.unique())
            gc = []
            for (n, k), g in sorted(gemm.groupby(["n", "k"]), key=lambda kv: kv[0]):
                g = g.groupby("m")["latency"].median()
                if len(g) != len(ms):
                    continue
                gc.append({"n": int(n), "k": int(k), "us": [sig4(g[m] * 1000) for m in ms]})
            return {"m": ms, "curves": gc}

        def fp8_block():
            nonlocal prov
            outer = prov
            sub = {
                "name": name + "-fp8_block",
                "gpu": gpu,
                "framework": "vllm",
                "framework_version": ver,
                "sources": [{
                    "kind": "measurement",
                    "what": f"vLLM {ver} fp8 block-scaled (128x128, w8a8) fused-MoE timings on {system} collected by NVIDIA for AIConfigurator",
                    "source": f"{PACKAGE} {VERSION} (PyPI, Apache-2.0), imported by profiles/tools/import_aiconfigurator.py",
                    "date": "see collection_meta per table",
                    "host": system,
                }],
                "quantization": "fp8_block",
                "provenance": {"package": PACKAGE, "package_version": VERSION, "tables": {}},
            }
            prov = sub["provenance"]["tables"]
            sub["moe"], sub["moe_routing"] = moe_tables("fp8_block", "moe")
            prov = outer
            return sub

        def quant_moe(dtype, kernel_sources, what, selection):
            nonlocal prov
            outer = prov
            sub = {
                "name": f"{name}-{dtype}",
                "gpu": gpu,
                "framework": "vllm",
                "framework_version": ver,
                "sources": [{
                    "kind": "measurement",
                    "what": f"vLLM {ver} {what} on {system} collected by NVIDIA for AIConfigurator",
                    "source": f"{PACKAGE} {VERSION} (PyPI, Apache-2.0), imported by profiles/tools/import_aiconfigurator.py",
                    "date": "see collection_meta per table",
                    "host": system,
                }],
                "quantization": dtype,
                "provenance": {"package": PACKAGE, "package_version": VERSION, "tables": {}},
            }
            prov = sub["provenance"]["tables"]
            sub["moe"], sub["moe_routing"] = moe_tables(dtype, "moe", kernel_sources, selection)
            prov = outer
            return sub

        path = os.path.join(OUT, name + ".json")
        if MLA_ONLY:
            mla = mla_module_tables(data, table, system, ver)
            if mla is None:
                continue
            doc = json.load(open(path))
            doc["mla"] = mla
            with open(path, "w") as f:
                json.dump(doc, f, separators=(",", ":"), sort_keys=False)
                f.write("\n")
            print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB; mla: {len(mla['generation']['shapes'])} generation, "
                  f"{len(mla['context']['shapes'])} context shapes")
            continue
        if FP8_ONLY:
            if system not in FP8_SYSTEMS:
                continue
            doc = json.load(open(path))
            doc["fp8_block"] = fp8_block()
            for dtype, ks, what, why in QUANT_MOE:
                doc[dtype] = quant_moe(dtype, ks, what, why)
            with open(path, "w") as f:
                json.dump(doc, f, separators=(",", ":"), sort_keys=False)
                f.write("\n")
            print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB; " + ", ".join(
                f"{k}: {len(doc[k]['moe'])} MoE curves" for k in ["fp8_block"] + [q[0] for q in QUANT_MOE]))
            continue

        # MoE
        curves, doc["moe_routing"] = moe_tables("bfloat16", "moe")
        doc["moe"] = curves
        # keep the historical key order: moe before moe_routing
        doc["moe_routing"] = doc.pop("moe_routing")

        # GEMM
        doc["gemm"] = gemm_tables("bfloat16", "gemm")
        gc = doc["gemm"]["curves"]

        # Attention (head_dim 128, bf16 KV; Hopper: FlashAttention 3)
        for op, tname in [("generation_attention", "generation_attention_perf"), ("context_attention", "context_attention_perf")]:
            a, p = table(system, "attention", "vllm", ver, tname)
            a = a[(a.head_dim == 128) & (a.kv_cache_dtype == "bfloat16") & (a.attn_dtype == "bfloat16")]
            if "window_size" in a:
                a = a[a.window_size == 0]
            srcs = sorted(a.kernel_source.unique().tolist())
            if "vllm_flash_attn_fa3" in srcs:
                a = a[a.kernel_source == "vllm_flash_attn_fa3"]
            p["kernel_source"] = sorted(a.kernel_source.unique().tolist())
            p["filter"] = "head_dim 128, bf16 activations and KV cache, no sliding window"
            prov[op] = p
            col = "step" if op == "generation_attention" else "isl"
            out = []
            for (hq, hkv), g in sorted(a.groupby(["num_heads", "num_key_value_heads"]), key=lambda kv: kv[0]):
                g = g.groupby(["batch_size", col], as_index=False)["latency"].median().sort_values(["batch_size", col])
                out.append({"heads": int(hq), "kv_heads": int(hkv),
                            "rows": [[int(b), int(s), sig4(t * 1000)] for b, s, t in zip(g.batch_size, g[col], g.latency)]})
            doc[op] = {"columns": ["batch_size", "kv_len" if op == "generation_attention" else "input_len", "us"],
                       "note": ("step = tokens already in the KV cache of each sequence (one new token each)"
                                if op == "generation_attention" else "batch_size prompts of input_len tokens, causal"),
                       "shapes": out}

        # Collectives
        coll = {}
        ar, p = table(system, "comm", "vllm", ver, "custom_allreduce_perf")
        ar = ar[ar.backend == "vllm_graph"]
        p["filter"] = "backend vllm_graph (CUDA-graph mode custom all-reduce), bf16"
        prov["all_reduce"] = p
        coll["all_reduce"] = {gpus: [[int(s) * 2, sig4(t * 1000)] for s, t in zip(g.message_size, g.latency)]
                              for gpus, g in ((str(n), g.sort_values("message_size")) for n, g in ar.groupby("num_gpus"))}
        nc, p = table(system, "comm", "nccl", NCCL[system], "nccl_perf")
        nc = nc[nc.nccl_dtype == "half"]
        p["filter"] = "nccl_dtype half"
        prov["nccl"] = p
        for op, key in [("all_gather", "all_gather"), ("reduce_scatter", "reduce_scatter"), ("alltoall", "all_to_all")]:
            g0 = nc[nc.op_name == op]
            coll[key] = {gpus: [[int(s) * 2, sig4(t * 1000)] for s, t in zip(g.message_size, g.latency)]
                         for gpus, g in ((str(n), g.sort_values("message_size")) for n, g in g0.groupby("num_gpus"))}
        doc["collectives"] = coll
        a2a_path = os.path.join(data, system, "comm", "vllm", ver, "moe_a2a_perf.parquet")
        if os.path.exists(a2a_path):
            a2a, p = table(system, "comm", "vllm", ver, "moe_a2a_perf")
            prov["moe_a2a"] = p
            doc["moe_a2a"] = [{"backend": b, "phase": ph, "ep": int(ep), "hidden": int(h), "topk": int(k), "experts": int(e),
                               "tokens": [int(x) for x in g.num_tokens], "us": [sig4(x) for x in g.latency]}
                              for (b, ph, ep, h, k, e), g in sorted(a2a[a2a.sms == 20].groupby(
                                  ["comm_backend", "phase", "ep_size", "hidden_size", "topk", "num_experts"]), key=lambda kv: kv[0])
                              for g in [g.sort_values("num_tokens")]]
        if system in FP8_SYSTEMS:
            doc["fp8_block"] = fp8_block()
            for dtype, ks, what, why in QUANT_MOE:
                doc[dtype] = quant_moe(dtype, ks, what, why)
        mla = mla_module_tables(data, table, system, ver)
        if mla is not None:
            doc["mla"] = mla
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"), sort_keys=False)
            f.write("\n")
        print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, {len(curves)} MoE curves, {len(gc)} GEMM shapes")


if __name__ == "__main__":
    main()
