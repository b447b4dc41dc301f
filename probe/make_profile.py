#!/usr/bin/env python3
"""Turn a moesim-probe results directory into moesim profile JSON (schemas: profiles/README.md).

  python3 probe/make_profile.py RESULTS_DIR --out profiles/gpus/h200-sxm-141gb.json \
      [--interconnect-dir profiles/interconnects] [--name h200-sxm-141gb] \
      [--display-name "NVIDIA H200 SXM 141GB"] [--memory-gb 141] [--peak-bf16-tflops 989] \
      [--hbm-bandwidth-gbps 4800] [--nvlink-gbps 450] [--host "1x NVIDIA H200 (device lease)"]

The datasheet numbers default to the H200 SXM's. With nccl.csv rows for 2+ GPUs it also writes
interconnects/<gpu-family>-nvlink-<P>gpu.json (P = the largest GPU count measured).
"""
import argparse
import csv
import json
import os
import sys


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def dump(obj, f):
    """JSON with one line per table row (lists of dicts / lists), indented otherwise."""
    def enc(o, ind):
        pad = " " * ind
        if isinstance(o, dict):
            if all(not isinstance(v, (dict, list)) for v in o.values()):
                return json.dumps(o)
            items = [f'{pad} {json.dumps(k)}: {enc(v, ind + 1)}' for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(o, list):
            if not o or all(not isinstance(v, (dict, list)) for v in o):
                return json.dumps(o)
            if all(isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v) for v in o):
                return json.dumps(o)
            return "[\n" + ",\n".join(pad + " " + enc(v, ind + 1) for v in o) + "\n" + pad + "]"
        return json.dumps(o)
    f.write(enc(obj, 0) + "\n")


def r3(x):
    return float(f"{x:.4g}")


def main():
    ap = argparse.ArgumentParser(description="moesim-probe results -> moesim profiles")
    ap.add_argument("results_dir")
    ap.add_argument("--out", required=True, help="GPU profile JSON to write")
    ap.add_argument("--interconnect-dir", default=None, help="where to write the interconnect profile (2+ GPUs)")
    ap.add_argument("--name", default="h200-sxm-141gb")
    ap.add_argument("--display-name", default="NVIDIA H200 SXM 141GB")
    ap.add_argument("--memory-gb", type=float, default=141)
    ap.add_argument("--peak-bf16-tflops", type=float, default=989)
    ap.add_argument("--hbm-bandwidth-gbps", type=float, default=4800)
    ap.add_argument("--nvlink-gbps", type=float, default=450, help="NVLink bandwidth per direction (datasheet)")
    ap.add_argument("--datasheet", default="NVIDIA H200 Tensor Core GPU datasheet (SXM: 141 GB HBM3e, 4.8 TB/s, "
                    "989 TFLOPS dense BF16 without sparsity, NVLink 900 GB/s bidirectional)")
    ap.add_argument("--host", default=None, help="host description for the sources (default: from meta.json)")
    ap.add_argument("--results-path", default=None,
                    help="repository path of the results, named in the sources (default: RESULTS_DIR)")
    args = ap.parse_args()

    d = args.results_dir
    meta_path = os.path.join(d, "meta.json")
    if not os.path.exists(meta_path):
        sys.exit(f"make_profile: {meta_path} missing: not a moesim-probe results directory")
    with open(meta_path) as f:
        meta = json.load(f)
    date = meta["date_utc"][:10]
    host = args.host or f"{meta['gpu_count']}x {meta['gpu_name']}, {meta['cpu_count']} CPU cores"
    where = args.results_path or d
    versions = (f"{meta['gpu_name']} (compute capability {meta['compute_capability']}, {meta['sm_count']} SMs), "
                f"driver {meta['driver']}, CUDA runtime {meta['cuda_runtime']}, cuBLAS {meta['cublas']}, "
                f"NCCL {meta['nccl']}; measured {meta['date_utc']}")

    gemm = read_csv(os.path.join(d, "gemm.csv"))
    grouped = read_csv(os.path.join(d, "grouped.csv"))
    bw = read_csv(os.path.join(d, "bandwidth.csv"))
    launch = {r["metric"]: float(r["value_us"]) for r in read_csv(os.path.join(d, "launch.csv"))}
    attn = read_csv(os.path.join(d, "decode_attention.csv"))
    nccl = read_csv(os.path.join(d, "nccl.csv"))
    checks = read_csv(os.path.join(d, "checks.csv"))
    bad = [c for c in checks if c.get("pass") != "1"]
    if bad:
        print(f"make_profile: WARNING: {len(bad)} GEMM correctness checks failed: {bad}", file=sys.stderr)

    prof = {"version": 1, "name": args.name, "display_name": args.display_name,
            "memory_gb": args.memory_gb if args.memory_gb != int(args.memory_gb) else int(args.memory_gb),
            "peak_bf16_tflops": int(args.peak_bf16_tflops) if args.peak_bf16_tflops == int(args.peak_bf16_tflops)
            else args.peak_bf16_tflops,
            "hbm_bandwidth_gbps": int(args.hbm_bandwidth_gbps) if args.hbm_bandwidth_gbps == int(
                args.hbm_bandwidth_gbps) else args.hbm_bandwidth_gbps}
    sources = [{"what": "memory_gb, peak_bf16_tflops, hbm_bandwidth_gbps", "kind": "datasheet",
                "source": args.datasheet}]
    summary = {}

    if gemm:
        best = max(float(r["tflops"]) for r in gemm)
        best_row = max(gemm, key=lambda r: float(r["tflops"]))
        prof["achieved_matmul_fraction"] = round(best / args.peak_bf16_tflops, 3)
        summary["best_gemm_tflops"] = best
        sources.append({"what": "achieved_matmul_fraction", "kind": "measurement",
                        "source": f"moesim-probe: best bf16 GEMM {best:.0f} TFLOP/s (m={best_row['m']} "
                                  f"n={best_row['n']} k={best_row['k']}) / {args.peak_bf16_tflops:g} peak; {versions}; "
                                  f"data {where}/gemm.csv",
                        "date": date, "host": host})
    if bw:
        reads = [float(r["gbps"]) for r in bw if r["test"] == "read"]
        copies = [float(r["gbps"]) for r in bw if r["test"] == "copy"]
        if reads:
            prof["achieved_bandwidth_fraction"] = round(max(reads) / args.hbm_bandwidth_gbps, 3)
            summary["read_gbps"] = max(reads)
            sources.append({"what": "achieved_bandwidth_fraction, memory_bandwidth_gbps", "kind": "measurement",
                            "source": f"moesim-probe: streaming-read kernel over "
                                      f"{int(next(r['bytes'] for r in bw if r['test'] == 'read')) / 2**30:.0f} GiB "
                                      f"(best of 8 grid shapes, median of 10) = {max(reads):.0f} GB/s; copy = "
                                      f"cudaMemcpyAsync device-to-device counting bytes read + written; {versions}; "
                                      f"data {where}/bandwidth.csv",
                            "date": date, "host": host})
        if copies:
            summary["copy_gbps"] = max(copies)
    if "host_enqueue_per_launch" in launch:
        prof["kernel_launch_us"] = round(launch["host_enqueue_per_launch"], 2)
        summary["launch"] = launch
        sources.append({"what": "kernel_launch_us", "kind": "measurement",
                        "source": "moesim-probe: host-side cost of one cudaLaunchKernel of an empty kernel (median of "
                                  "21 trials of 500 back-to-back launches); launch+synchronize round trip "
                                  f"{launch.get('launch_sync_roundtrip', float('nan')):.2f} us, GPU-side time per "
                                  f"queued empty kernel {launch.get('gpu_per_empty_kernel', float('nan')):.2f} us; "
                                  f"raw CUDA, not PyTorch eager (whose per-op host cost is larger); {versions}; "
                                  f"data {where}/launch.csv",
                        "date": date, "host": host})
    if gemm:
        prof["gemm_table"] = [{"m": int(r["m"]), "n": int(r["n"]), "k": int(r["k"]), "time_us": r3(float(r["time_us"]))}
                              for r in gemm]
        sources.append({"what": "gemm_table", "kind": "measurement",
                        "source": "moesim-probe: cublasGemmEx bf16 in/out, fp32 accumulate (CUBLAS_COMPUTE_32F, "
                                  "default algorithm), Y[m,n] = X[m,k] W[n,k]^T as nn.Linear; shapes from "
                                  "profiles/models (probe/shapes.txt, with TP=2 halves); weights rotated over copies "
                                  "larger than L2; CUDA-event median after warm-up; " + versions + f"; data {where}/gemm.csv",
                        "date": date, "host": host})
    # grouped.csv (cuBLAS strided-batched GEMMs) stays in the results folder but is not written into the profile:
    # no cost path reads it (the vLLM engine uses the measured fused-MoE tables in profiles/kernels/, Transformers'
    # grouped_mm is torch._grouped_mm, a different kernel), so the profile carries no unused numbers (issue 12).
    if bw:
        mb = {}
        if "read_gbps" in summary:
            mb["read"] = round(summary["read_gbps"], 1)
        if "copy_gbps" in summary:
            mb["copy"] = round(summary["copy_gbps"], 1)
        if mb:
            prof["memory_bandwidth_gbps"] = mb
    if attn:
        prof["decode_attention_table"] = [
            {"batch": int(r["batch"]), "context": int(r["context"]), "kv_heads": int(r["kv_heads"]),
             "head_dim": int(r["head_dim"]), "time_us": r3(float(r["time_us"]))} for r in attn]
        sources.append({"what": "decode_attention_table", "kind": "measurement",
                        "source": "moesim-probe: a split-KV decode kernel streaming bf16 K and V "
                                  "([batch][kv_heads][context][head_dim], 16-byte loads, q.k and a weighted V sum) "
                                  "with one query per sequence; the time to read the KV cache of one layer; "
                                  "CUDA-event median; " + versions + f"; data {where}/decode_attention.csv",
                        "date": date, "host": host})
    prof["sources"] = sources

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        dump(prof, f)
    print(f"make_profile: wrote {args.out} ({len(prof.get('gemm_table', []))} GEMM, "
          f"{len(grouped or [])} grouped GEMM (results only), "
          f"{len(prof.get('decode_attention_table', []))} attention points)")

    gpus_measured = sorted({int(r["gpus"]) for r in nccl})
    if nccl and gpus_measured and args.interconnect_dir:
        pmax = max(gpus_measured)
        family = args.name.split("-")[0]
        name = f"{family}-nvlink-{pmax}gpu"
        curves = []
        for coll in ("all_reduce", "all_to_all", "all_gather", "reduce_scatter", "send_recv"):
            for p in gpus_measured:
                pts = sorted((int(r["bytes"]), r3(float(r["time_us"]))) for r in nccl
                             if r["collective"] == coll and int(r["gpus"]) == p)
                if pts:
                    curves.append({"collective": coll, "gpus": p, "points": [list(x) for x in pts]})
        ic = {"version": 1, "name": name,
              "display_name": f"{pmax}x {meta['gpu_name']}, NVLink (measured with moesim-probe)",
              "gpus": [args.name], "max_gpus": pmax, "link_bandwidth_gbps": args.nvlink_gbps,
              "default_priority": 1,
              "curves": curves,
              "sources": [{"what": "link_bandwidth_gbps", "kind": "datasheet", "source": args.datasheet},
                          {"what": "curves", "kind": "measurement",
                           "source": "moesim-probe: NCCL bf16 collectives, one process driving all GPUs "
                                     "(ncclCommInitAll), host wall time per operation (median of 3 batches), "
                                     "bytes = per-rank buffer as nccl-tests counts it; NCCL_NVLS_ENABLE=0; "
                                     + versions + f"; data {where}/nccl.csv",
                           "date": date, "host": host},
                          {"what": "default_priority", "kind": "derived",
                           "source": "1: our own measurement of this GPU at these counts is preferred, at equal "
                                     "coverage, over published curves of the same GPU (profiles/README.md)"}]}
        path = os.path.join(args.interconnect_dir, name + ".json")
        os.makedirs(args.interconnect_dir, exist_ok=True)
        with open(path, "w") as f:
            dump(ic, f)
        print(f"make_profile: wrote {path} ({len(curves)} curves)")
    elif not nccl:
        print("make_profile: no NCCL measurements (single GPU or built without NCCL): no interconnect profile")

    # Human summary
    if summary:
        print("summary:", json.dumps({k: v for k, v in summary.items()}, indent=None))


if __name__ == "__main__":
    main()
