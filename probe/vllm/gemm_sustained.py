#!/usr/bin/env python3
"""Does a GPU's GEMM rate hold over a long compute-bound step? Times one bf16 GEMM shape in short bursts (as kernel
collectors do: a few calls after a pause) and then back to back for several seconds (as a 16,384-token prompt step of
a large MoE keeps the GPU busy for most of a second), with the SM clock and power read from nvidia-smi alongside.

  python3 probe/vllm/gemm_sustained.py --out gemm-sustained.json [--seconds 4]

Why: vLLM's fused MoE inside Mixtral's 16,384-token steps ran 21 ms a layer on an H200 where AIConfigurator's
collector measured 17.4 ms at the same shape (probe/results/2026-12-04-h200-vllm-n); small-expert models agreed.
Needs torch and a CUDA GPU (the vLLM bundle's torch on the lent host).
"""
import argparse
import json
import subprocess
import threading
import time

import torch


def smi():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw,temperature.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5).stdout.strip().split(",")
        return [float(x) for x in out[:3]]
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=4.0)
    a = ap.parse_args()
    dev = torch.device("cuda")
    # Mixtral's expert GEMMs at 16,384 tokens x top-2 over 8 experts: about 4,096 rows an expert, 4096 -> 28,672 (gate/up).
    shapes = [(4096, 28672, 4096), (4096, 4096, 14336), (16384, 4096, 4096)]
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "shapes": []}
    for m, n, k in shapes:
        x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        w = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
        flop = 2.0 * m * n * k
        for _ in range(5):
            torch.matmul(x, w)
        torch.cuda.synchronize()
        # Bursts: 5 calls after a 0.5 s pause, 6 times.
        bursts = []
        for _ in range(6):
            time.sleep(0.5)
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(5):
                torch.matmul(x, w)
            e.record()
            torch.cuda.synchronize()
            bursts.append(s.elapsed_time(e) / 5 * 1e3)
        # Back to back for `seconds`, timed per 50 ms window, clocks sampled every 100 ms.
        samples, stop = [], threading.Event()

        def poll():
            t0 = time.time()
            while not stop.is_set():
                v = smi()
                if v:
                    samples.append([round(time.time() - t0, 3)] + v)
                time.sleep(0.1)
        th = threading.Thread(target=poll)
        th.start()
        windows, t_end = [], time.time() + a.seconds
        while time.time() < t_end:
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            calls = 0
            t_w = time.time()
            while time.time() - t_w < 0.05:
                torch.matmul(x, w)
                calls += 1
            e.record()
            torch.cuda.synchronize()
            windows.append(s.elapsed_time(e) / calls * 1e3)
        stop.set()
        th.join()
        row = {"m": m, "n": n, "k": k, "burst_us": [round(v, 1) for v in bursts],
               "burst_tflops": round(flop / (min(bursts) * 1e-6) / 1e12, 1),
               "sustained_us_per_window": [round(v, 1) for v in windows],
               "sustained_tflops_first": round(flop / (windows[0] * 1e-6) / 1e12, 1),
               "sustained_tflops_last": round(flop / (sorted(windows[-10:])[5] * 1e-6) / 1e12, 1),
               "smi_t_sm_mhz_power_w_temp_c": samples}
        res["shapes"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("sustained_us_per_window", "smi_t_sm_mhz_power_w_temp_c")}), flush=True)
        print("  clocks:", [s[1] for s in samples][:3], "...", [s[1] for s in samples][-3:], " power:", [s[2] for s in samples][-3:], flush=True)
    json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
