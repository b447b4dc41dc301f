#!/usr/bin/env python3
"""One-off generator for profiles/gpus/{a100-sxm4-80gb,a100-sxm4-40gb,h100-sxm-80gb}.json.

Inputs (generation time only; moesim never reads them):
  - /work/shared/reference/README.md, GPU datasheet table and "Achievable, measured by others" lines
  - /work/shared/reference/vidur-profiles/compute/{a100,h100}/*/*/mlp.csv via vidur_gemm.py
  - Azure/AI-benchmarking-guide Azure_Results/ND_H100_v5 and ND_A100_v4 results (HBM STREAM numbers,
    looked up 2026-11-29; numbers transcribed below)
h200-sxm-141gb.json is owned by another engineer and is not written here.

Run from the repository root:  python3 profiles/tools/make_gpus.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vidur_gemm  # noqa: E402

DATE = "2026-11-29"
VIDUR_COMMIT = open("/work/shared/reference/vidur-profiles/SOURCE_COMMIT").read().split()[0]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gpus")

LAUNCH_SOURCE = {
    "what": "kernel_launch_us",
    "kind": "derived",
    "source": ("No clean public host-side cudaLaunchKernel measurement for A100/H100 was found (search 2026-11-29: "
               "only secondary write-ups, e.g. NVIDIA's Nsight Systems guide quoting ~20 us for a whole PyTorch "
               "element-wise op round trip on V100, and B200 cuLaunchKernel dispatch ~25-28 us including timing "
               "instrumentation). A bare CUDA launch costs a few microseconds on current drivers; 4.0 us is taken as a "
               "round mid value for one eager launch, to be replaced by `moesim calibrate` or a probe measurement."),
    "date": DATE,
}


def gemm_sources(gpu_dir, host):
    t, used, raw = vidur_gemm.gemm_table(gpu_dir)
    src = {
        "what": "gemm_table",
        "kind": "measurement",
        "source": (f"microsoft/vidur @ {VIDUR_COMMIT}, data/profiling/compute/{gpu_dir}/<model>/mlp.csv "
                   f"(models: {', '.join(used)}); columns time_stats.{{attn_pre_proj,attn_post_proj,mlp_up_proj,"
                   "mlp_down_proj}.median (ms -> us, CUDA-event timings of half-precision torch linear layers). "
                   "GEMM shape: attn_pre_proj m=num_tokens n=(n_head+2*n_kv_head)*(n_embd/n_head)/tp k=n_embd; "
                   "attn_post_proj m=num_tokens n=n_embd k=n_head*head_dim/tp; mlp_up_proj m=num_tokens "
                   "n=(2 if use_gated_mlp else 1)*n_expanded_embd/tp k=n_embd; mlp_down_proj m=num_tokens n=n_embd "
                   "k=n_expanded_embd/tp; tp=num_tensor_parallel_workers. Identical (m,n,k) merged by median "
                   f"({raw} distinct points); num_tokens subsampled to <= {vidur_gemm.MAX_M} log-spaced values per "
                   "(n,k) incl. both ends. Generator: profiles/tools/vidur_gemm.py. The profiling date is not "
                   "recorded in the CSVs; the date given is the vidur commit date (measured on or before)."),
        "date": "2024-11-19",
        "host": host,
    }
    return t, src


def dump(obj, name):
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    datasheet_a100 = {
        "what": "memory_gb, peak_bf16_tflops, hbm_bandwidth_gbps",
        "kind": "datasheet",
        "source": ("NVIDIA A100 Tensor Core GPU datasheet (2021): A100 SXM4 80GB 312 TFLOP/s dense BF16, 80 GB HBM2e, "
                   "2,039 GB/s; A100 SXM4 40GB 312 TFLOP/s, 40 GB HBM2, 1,555 GB/s (as tabulated in "
                   "shared/reference/README.md, GPU table)"),
        "date": DATE,
    }
    matmul_a100 = {
        "what": "achieved_matmul_fraction",
        "kind": "measurement",
        "source": ("stas00/ml-engineering, compute/accelerator 'maximum achievable matmul FLOPS': best BF16 matmul on "
                   "A100 SXM ~271 TFLOP/s; 271/312 = 0.869 (via shared/reference/README.md)"),
        "date": DATE,
        "host": "A100 SXM (third-party measurement, stas00/ml-engineering)",
    }

    # ---- A100 SXM4 80GB
    t, gsrc = gemm_sources("a100", "NVIDIA A100 80GB (microsoft/vidur 'a100' compute profiling node)")
    a100_80 = {
        "version": 1,
        "name": "a100-sxm4-80gb",
        "display_name": "NVIDIA A100-SXM4-80GB",
        "memory_gb": 80,
        "peak_bf16_tflops": 312,
        "hbm_bandwidth_gbps": 2039,
        "achieved_matmul_fraction": round(271 / 312, 3),
        "achieved_bandwidth_fraction": round(1.80 / 2.039, 3),
        "kernel_launch_us": 4.0,
        "vllm_kernel_tables": "a100-sxm-vllm-0.14.0",  # profiles/kernels/, from import_aiconfigurator.py
        "memory_bandwidth_gbps": {"read": 1800, "copy": 1610},
        "gemm_table": t,
        "sources": [
            datasheet_a100,
            matmul_a100,
            {"what": "achieved_bandwidth_fraction, memory_bandwidth_gbps.read",
             "kind": "measurement",
             "source": ("shared/reference/README.md 'Achievable, measured by others': an A100-80GB read kernel "
                        "reached 1.80 TB/s; 1.80/2.039 = 0.883 (secondary; primary source not named there)"),
             "date": DATE, "host": "A100-SXM4-80GB (third-party measurement)"},
            {"what": "memory_bandwidth_gbps.copy",
             "kind": "measurement",
             "source": ("Azure/AI-benchmarking-guide Azure_Results/ND_A100_v4_results.md, HBM Bandwidth (STREAM-like): "
                        "Copy 1.61 TB/s, Mul 1.61, Add 1.70, Triad 1.70, Dot 1.75 TB/s on NVIDIA A100-SXM4-80GB, "
                        "CUDA 12.5"),
             "date": DATE, "host": "Azure ND A100 v4 (8x A100-SXM4-80GB), per the benchmarking guide"},
            LAUNCH_SOURCE,
            dict(gsrc, what="gemm_table (note on SKU)", kind="derived",
                 source=("vidur labels these profiles 'a100' only; the CSVs do not state the SKU. Its network profiles "
                         "include both a pairwise-NVLink 4-GPU node (PCIe-card style, e.g. A100 80GB PCIe with NVLink "
                         "bridges) and a DGX A100. If the compute profiles came from a PCIe 80GB card, memory-bound rows "
                         "(small m) would be ~5% slower than on an SXM4 part (1,935 vs 2,039 GB/s); large-m rows are "
                         "compute-bound and unaffected. Shipped here as the A100-SXM4-80GB table (uncertain SKU).")),
            gsrc,
        ],
    }
    a100_80["sources"][-2].pop("host", None)
    a100_80["sources"][-2].pop("date", None)
    a100_80["sources"][-2]["date"] = DATE
    dump(a100_80, "a100-sxm4-80gb")

    # ---- A100 SXM4 40GB: no GEMM table (see sources)
    a100_40 = {
        "version": 1,
        "name": "a100-sxm4-40gb",
        "display_name": "NVIDIA A100-SXM4-40GB",
        "memory_gb": 40,
        "peak_bf16_tflops": 312,
        "hbm_bandwidth_gbps": 1555,
        "achieved_matmul_fraction": round(271 / 312, 3),
        "achieved_bandwidth_fraction": round(1.80 / 2.039, 3),
        "kernel_launch_us": 4.0,
        "sources": [
            datasheet_a100,
            matmul_a100,
            {"what": "achieved_bandwidth_fraction",
             "kind": "derived",
             "source": ("Fraction measured on A100-SXM4-80GB (1.80 TB/s read of 2.039 TB/s, shared/reference/README.md) "
                        "applied unchanged to the 40GB part (HBM2 instead of HBM2e, same memory controller); "
                        "no 40GB streaming measurement found."),
             "date": DATE},
            LAUNCH_SOURCE,
            {"what": "gemm_table (omitted)",
             "kind": "derived",
             "source": ("The A100-80GB vidur GEMM table is deliberately NOT reused: the 40GB part has the same SXM4 "
                        "silicon and clocks, so large-m (compute-bound) GEMMs would match, but skinny decode GEMMs "
                        "(m <= ~100, the ones serving cares about most) are HBM-bound and would run ~2039/1555 = 1.31x "
                        "slower than the 80GB table says. The roofline fallback (peak x 0.869, 1555 GB/s x 0.883) is "
                        "used for all GEMMs on this GPU instead."),
             "date": DATE},
        ],
    }
    dump(a100_40, "a100-sxm4-40gb")

    # ---- H100 SXM 80GB
    t, gsrc = gemm_sources("h100", "NVIDIA H100 80GB (microsoft/vidur 'h100' compute profiling node)")
    h100 = {
        "version": 1,
        "name": "h100-sxm-80gb",
        "display_name": "NVIDIA H100-SXM5-80GB",
        "memory_gb": 80,
        "peak_bf16_tflops": 989,
        "hbm_bandwidth_gbps": 3350,
        "achieved_matmul_fraction": round(795 / 989, 3),
        "achieved_bandwidth_fraction": round(3.18 / 3.35, 3),
        "kernel_launch_us": 4.0,
        "vllm_kernel_tables": "h100-sxm-vllm-0.24.0",  # profiles/kernels/, from import_aiconfigurator.py
        "memory_bandwidth_gbps": {"read": 3180, "copy": 2900},
        "gemm_table": t,
        "sources": [
            {"what": "memory_gb, peak_bf16_tflops, hbm_bandwidth_gbps",
             "kind": "datasheet",
             "source": ("NVIDIA H100 Tensor Core GPU datasheet: H100 SXM 80GB HBM3, 989 TFLOP/s dense BF16 "
                        "(1,979 with sparsity), 3.35 TB/s (as tabulated in shared/reference/README.md)"),
             "date": DATE},
            {"what": "achieved_matmul_fraction",
             "kind": "measurement",
             "source": ("stas00/ml-engineering, compute/accelerator: best BF16 matmul on H100 SXM ~795 TFLOP/s; "
                        "795/989 = 0.804 (via shared/reference/README.md)"),
             "date": DATE, "host": "H100 SXM (third-party measurement, stas00/ml-engineering)"},
            {"what": "achieved_bandwidth_fraction, memory_bandwidth_gbps",
             "kind": "measurement",
             "source": ("Azure/AI-benchmarking-guide Azure_Results (ND H100 v5 column): HBM Bandwidth Copy 2.90, Mul 2.90, "
                        "Add 2.97, Triad 2.97, Dot 3.18 TB/s. read = Dot (read-only streaming) 3.18 TB/s; "
                        "3.18/3.35 = 0.949; copy = 2.90 TB/s"),
             "date": DATE, "host": "Azure ND H100 v5 (8x H100 SXM 80GB), per the benchmarking guide"},
            LAUNCH_SOURCE,
            gsrc,
        ],
    }
    dump(h100, "h100-sxm-80gb")


if __name__ == "__main__":
    main()
