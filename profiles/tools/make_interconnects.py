#!/usr/bin/env python3
"""One-off generator for profiles/interconnects/*.json.

Inputs (generation time only; moesim never reads them):
  /work/shared/reference/vidur-profiles/network/{a100_pairwise_nvlink,a100_dgx,h100_dgx}/{all_reduce,send_recv}.csv
      microsoft/vidur (MIT), commit in vidur-profiles/SOURCE_COMMIT. Columns: time_stats.<op>.median (ms),
      size (bytes per rank: fp16 element count x 2, see vidur/profiling/collectives/collectives_wrapper.py),
      num_workers, devices_per_node. Timing = median of kineto-traced NCCL kernel durations (GPU time).
  /work/shared/reference/apex-profiles/comm/{H100-SXM-80GB,H200-SXM-141GB}/{all_reduce,alltoall,all_gather,
      reduce_scatter,sendrecv}.csv
      microsoft/apex_plus (MIT), commit in apex-profiles/SOURCE_COMMIT. Columns: num_gpus_per_node, dtype,
      size(kb) = int(bytes/1024), time(us) = int(host wall time / iterations) (profile/scripts/comm.py).

Rules: points sorted by bytes, sizes strictly positive, rows sharing a size merged by median, time in us.
Run from the repository root:  python3 profiles/tools/make_interconnects.py
"""
import csv
import json
import os
import statistics
from collections import defaultdict

DATE = "2026-11-29"
REF = "/work/shared/reference"
VIDUR_COMMIT = open(f"{REF}/vidur-profiles/SOURCE_COMMIT").read().split()[0]
APEX_COMMIT = open(f"{REF}/apex-profiles/SOURCE_COMMIT").read().split()[1]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interconnects")

APEX_FILES = {"all_reduce": "all_reduce.csv", "all_to_all": "alltoall.csv", "all_gather": "all_gather.csv",
              "reduce_scatter": "reduce_scatter.csv", "send_recv": "sendrecv.csv"}


def vidur_curve(system, op, num_workers, devices_per_node):
    path = f"{REF}/vidur-profiles/network/{system}/{op}.csv"
    by_size = defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f):
            if int(r["num_workers"]) != num_workers or int(r["devices_per_node"]) != devices_per_node:
                continue
            size = int(r["size"])
            t = float(r[f"time_stats.{op}.median"]) * 1000.0
            if size > 0:
                by_size[size].append(t)
    pts = [[s, round(statistics.median(v), 3)] for s, v in sorted(by_size.items())]
    assert pts, (system, op, num_workers, devices_per_node)
    return {"collective": op, "gpus": num_workers, "points": pts}


def apex_curve(gpu_dir, coll, gpus):
    """fp16 ('half') rows; the 0-KB row is the 2^8-element (512-byte) message that int() truncated to 0 KB.
    fp32 ('float') rows are used only for sizes beyond the largest fp16 size (they extend the range by one
    doubling); they are not merged at shared sizes because some fp32 all-to-all rows are outliers."""
    path = f"{REF}/apex-profiles/comm/{gpu_dir}/{APEX_FILES[coll]}"
    half, flt = defaultdict(list), defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f):
            if int(r["num_gpus_per_node"]) != gpus or int(r["num_nodes"]) != 1:
                continue
            kb = int(r["size(kb)"])
            size = kb * 1024 if kb > 0 else 512
            (half if r["dtype"] == "half" else flt)[size].append(float(r["time(us)"]))
    by_size = dict(half)
    if half:
        top = max(half)
        for s, v in flt.items():
            if s > top:
                by_size[s] = v
    pts = [[s, round(statistics.median(v), 3)] for s, v in sorted(by_size.items())]
    assert pts, (gpu_dir, coll, gpus)
    return {"collective": coll, "gpus": gpus, "points": pts}


def vidur_source(system, what, extra=""):
    return {
        "what": what,
        "kind": "measurement",
        "source": (f"microsoft/vidur @ {VIDUR_COMMIT}, data/profiling/network/{system}/{{all_reduce,send_recv}}.csv: "
                   "time_stats.<op>.median (ms -> us; median of kineto-traced NCCL kernel durations, i.e. GPU time "
                   "without host launch cost), size = bytes per rank (fp16 buffer, nccl-tests convention). Rows with "
                   "devices_per_node == num_workers (all ranks on one node) kept; for send_recv the devices_per_node=2 "
                   "(intra-node) rows; duplicate sizes merged by median. Generator: "
                   "profiles/tools/make_interconnects.py. Caution: below ~1 MB the vidur all_reduce medians are noisy and "
                   "bimodal from one size to the next (e.g. ~10 us vs ~40-60 us), higher than nccl-tests small-message "
                   "latencies (DGX A100 8-128 B: 10 / 16.9 / 33.7 us for 2 / 4 / 8 GPUs, nccl-tests issue 123); kept "
                   "as measured, not smoothed." + extra),
        "date": "2024-11-19",
        "host": f"vidur profiling cluster '{system}' (measured on or before the commit date 2024-11-19)",
    }


def apex_source(gpu_dir, what, host):
    return {
        "what": what,
        "kind": "measurement",
        "source": (f"microsoft/apex_plus @ {APEX_COMMIT}, profile/comm/{gpu_dir}/*.csv (cupy NCCL, CUDA 12.1, "
                   "NCCL 2.18.3 per profile/scripts/README.md; script profile/scripts/comm.py). size(kb) = "
                   "int(bytes/1024) -> bytes = kb*1024; the 0-KB rows are the smallest message of the sweep, 2^8 fp16 "
                   "elements = 512 bytes (comm.py loops i in range(8, 27) over 1<<i elements), stored here as 512. "
                   "time(us) = int(host wall time of back-to-back calls / iterations), so it includes launch cost "
                   "and is truncated to whole us. Buffer semantics: all_reduce/all_to_all/send_recv = per-rank "
                   "buffer; all_gather = gathered output size; reduce_scatter = full input size (nccl-tests "
                   "convention). fp16 rows; fp32 rows only beyond the largest fp16 size (some fp32 8-GPU all-to-all "
                   "rows at 8-256 KB are outliers of 46-1593 us and are not used). Generator: "
                   "profiles/tools/make_interconnects.py."),
        "date": "2025-05-01",
        "host": host + " (measured on or before the apex_plus commit date 2025-05-01)",
    }


def dump(obj):
    path = os.path.join(OUT, obj["name"] + ".json")
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes", [(c["collective"], c["gpus"], len(c["points"])) for c in obj["curves"]])


def derived_pcie():
    alpha_us = 10.0
    bw = 25e9  # bytes/s per direction
    sizes = [1 << i for i in range(10, 31)]  # 1 KiB .. 1 GiB
    curves = []
    for p in (2, 4, 8):
        f = {
            "all_reduce": 2 * (p - 1) / p,
            "all_to_all": (p - 1) / p,
            "all_gather": (p - 1) / p,
            "reduce_scatter": (p - 1) / p,
        }
        for coll in ("all_reduce", "all_to_all", "all_gather", "reduce_scatter"):
            curves.append({"collective": coll, "gpus": p,
                           "points": [[s, round(alpha_us + f[coll] * s / bw * 1e6, 3)] for s in sizes]})
    curves.append({"collective": "send_recv", "gpus": 2,
                   "points": [[s, round(alpha_us + s / bw * 1e6, 3)] for s in sizes]})
    order = ["all_reduce", "all_to_all", "all_gather", "reduce_scatter", "send_recv"]
    curves.sort(key=lambda c: (order.index(c["collective"]), c["gpus"]))
    return {
        "version": 1,
        "name": "pcie-gen4",
        "display_name": "PCIe gen4 x16, no NVLink (derived ring model)",
        "gpus": ["a100-sxm4-80gb", "a100-sxm4-40gb"],
        "max_gpus": 8,
        "link_bandwidth_gbps": 32,
        "curves": curves,
        "sources": [
            {"what": "link_bandwidth_gbps",
             "kind": "datasheet",
             "source": "PCI Express 4.0 x16: 16 GT/s x 16 lanes, 128b/130b -> ~31.5 GB/s per direction (rounded 32)",
             "date": DATE},
            {"what": "curves",
             "kind": "derived",
             "source": ("No measured curve. Bandwidth-optimal ring model with B = 25 GB/s effective per direction per "
                        "GPU (~80% of the x16 gen4 link, typical of measured host-staged/P2P PCIe copies) and a fixed "
                        "alpha = 10 us per collective (NCCL base latency plus PCIe hops), for S = bytes per rank "
                        "(nccl-tests convention) and P GPUs: all_reduce t = alpha + 2(P-1)/P * S/B; all_to_all, "
                        "all_gather, reduce_scatter t = alpha + (P-1)/P * S/B; send_recv t = alpha + S/B. Assumes every "
                        "GPU has its own non-blocking x16 path (a PCIe switch or root complex that is not "
                        "oversubscribed); GPUs behind one shared upstream port would be slower. Sizes 1 KiB..1 GiB in "
                        "powers of two. Generator: profiles/tools/make_interconnects.py."),
             "date": DATE},
        ],
    }


def main():
    os.makedirs(OUT, exist_ok=True)

    # ---- a100-nvlink-pair
    dump({
        "version": 1,
        "name": "a100-nvlink-pair",
        "display_name": "4x A100 in NVLink-bridged pairs (vidur a100_pairwise_nvlink)",
        "gpus": ["a100-sxm4-80gb"],
        "max_gpus": 4,
        "link_bandwidth_gbps": 300,
        "curves": [
            vidur_curve("a100_pairwise_nvlink", "all_reduce", 2, 2),
            vidur_curve("a100_pairwise_nvlink", "all_reduce", 4, 4),
            vidur_curve("a100_pairwise_nvlink", "send_recv", 2, 2),
        ],
        "sources": [
            {"what": "link_bandwidth_gbps",
             "kind": "datasheet",
             "source": ("NVIDIA A100 datasheet: NVLink gen3 600 GB/s bidirectional (300 GB/s per direction) for SXM4 "
                        "and for a pair of PCIe cards joined by NVLink bridges"),
             "date": DATE},
            vidur_source("a100_pairwise_nvlink", "curves",
                         " Topology: 4 GPUs per node connected by NVLink in pairs only. Only the 2-GPU curves "
                         "(all_reduce gpus=2, send_recv) are truly an NVLink pair; the 4-GPU all_reduce crosses the "
                         "pairs over PCIe/host and is kept as measured for that topology. The send_recv rows with "
                         "devices_per_node=1 (2 nodes) are not used."),
        ],
    })

    # ---- dgx-a100
    dump({
        "version": 1,
        "name": "dgx-a100",
        "display_name": "DGX A100, NVSwitch (NVLink gen3)",
        "gpus": ["a100-sxm4-80gb", "a100-sxm4-40gb"],
        "max_gpus": 8,
        "link_bandwidth_gbps": 300,
        "curves": [
            vidur_curve("a100_dgx", "all_reduce", 2, 2),
            vidur_curve("a100_dgx", "all_reduce", 4, 4),
            vidur_curve("a100_dgx", "all_reduce", 8, 8),
            vidur_curve("a100_dgx", "send_recv", 2, 2),
        ],
        "sources": [
            {"what": "link_bandwidth_gbps",
             "kind": "datasheet",
             "source": "NVIDIA A100 SXM4 datasheet: NVLink gen3, 12 links, 600 GB/s bidirectional = 300 GB/s per direction",
             "date": DATE},
            vidur_source("a100_dgx", "curves",
                         " Multi-node rows (devices_per_node < num_workers, incl. 16 workers on 2 nodes) are not used. "
                         "The CSVs do not say whether the DGX had 40GB or 80GB A100s; NVSwitch collectives do not "
                         "depend on HBM size, so the curves are applied to both A100 SXM4 profiles."),
        ],
    })

    # ---- dgx-h100
    apex_h100 = [apex_curve("H100-SXM-80GB", c, p) for c in ("all_to_all", "all_gather", "reduce_scatter") for p in (2, 4, 8)]
    dump({
        "version": 1,
        "name": "dgx-h100",
        "display_name": "DGX/HGX H100, NVSwitch (NVLink gen4)",
        "gpus": ["h100-sxm-80gb"],
        "max_gpus": 8,
        "link_bandwidth_gbps": 450,
        "curves": [
            vidur_curve("h100_dgx", "all_reduce", 2, 2),
            vidur_curve("h100_dgx", "all_reduce", 4, 4),
            vidur_curve("h100_dgx", "all_reduce", 8, 8),
            vidur_curve("h100_dgx", "send_recv", 2, 2),
        ] + apex_h100,
        "sources": [
            {"what": "link_bandwidth_gbps",
             "kind": "datasheet",
             "source": "NVIDIA H100 SXM datasheet: NVLink gen4, 18 links, 900 GB/s bidirectional = 450 GB/s per direction",
             "date": DATE},
            vidur_source("h100_dgx", "curves: all_reduce, send_recv"),
            apex_source("H100-SXM-80GB", "curves: all_to_all, all_gather, reduce_scatter",
                        "1 node of 2/4/8 H100-SXM-80GB (apex_plus)"),
            {"what": "curves (mixed methods)",
             "kind": "derived",
             "source": ("all_reduce/send_recv come from vidur (GPU kernel time), the other three from apex_plus (host "
                        "wall time per call, whole-us resolution). apex_plus also has H100 all_reduce/sendrecv curves: for "
                        ">= 2 MiB they agree with vidur within ~10% (8 GPUs, 64 MiB: apex 325 us, vidur 322 us), but at "
                        "small sizes vidur's all_reduce is noisy and higher (8 GPUs, 2 KiB: vidur 37 us, apex 16 us; "
                        "4 GPUs, 1 MiB: vidur 41 us, apex 20 us). vidur is used for all_reduce/send_recv as the brief "
                        "asks; the small-message region of these curves is the least certain part of this profile."),
             "date": DATE},
        ],
    })

    # ---- hgx-h200-apex
    dump({
        "version": 1,
        "name": "hgx-h200-apex",
        "display_name": "HGX H200, NVSwitch (NVLink gen4), apex_plus curves",
        "gpus": ["h200-sxm-141gb"],
        "max_gpus": 8,
        "link_bandwidth_gbps": 450,
        "curves": [apex_curve("H200-SXM-141GB", c, p)
                   for c in ("all_reduce", "all_to_all", "all_gather", "reduce_scatter") for p in (2, 4, 8)]
                  + [apex_curve("H200-SXM-141GB", "send_recv", 2)],
        "sources": [
            {"what": "link_bandwidth_gbps",
             "kind": "datasheet",
             "source": "NVIDIA H200 datasheet: NVLink gen4, 900 GB/s bidirectional = 450 GB/s per direction",
             "date": DATE},
            apex_source("H200-SXM-141GB", "curves", "1 node of 2/4/8 H200 SXM 141GB (apex_plus; gpu column 'H200')"),
            {"what": "name",
             "kind": "derived",
             "source": ("Named hgx-h200-apex so that a later profile from our own H200 measurements can take a "
                        "different name without clashing."),
             "date": DATE},
        ],
    })

    dump(derived_pcie())


if __name__ == "__main__":
    main()
