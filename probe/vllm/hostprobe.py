#!/usr/bin/env python3
"""A battery of host measurements, each a candidate gauge of how fast a GPU host runs vLLM's host work, in about
two seconds; hostcorr.py times vLLM's own host-bound steps between batteries to see which gauge follows them.

  python3 probe/vllm/hostprobe.py [--rounds N] [--json FILE]

Why: the engine core's host work (the Inductor wrappers' and fused MoE's Python, PyTorch's dispatcher, the CUDA
driver's launches) ran twice as fast on some lent H200 VMs as on others, while hostspeed.py's small pure-Python loop
read them alike. Each item below isolates one part of that path, so that the part which differs can be named:

  py_small_s        hostspeed.py's workload (5,000 small dicts: fits in the CPU's L2 cache)
  py_large_s        the same kind of work over 400,000 dicts visited in a random order (hundreds of MB: L3 and DRAM)
  py_chase_ns       a dependent walk through a 4M-entry Python list in a random cycle, per step (memory latency)
  np_gather_gbs     numpy gathers at random indices over 256 MB (memory throughput at random access)
  torch_cpu_op_us   PyTorch's dispatcher: one small CPU add, per call
  cuda_enqueue_us   one small CUDA add launched from PyTorch, per launch, the host's time only (no waiting)
  cuda_roundtrip_us one small CUDA add and a synchronize, per pair (launch, doorbell, completion seen by the host)
  graph_replay_us   a CUDA graph of one kernel replayed, per replay, the host's time
  triton_launch_us  a one-element Triton kernel launched from Python, per launch (Inductor's and fused MoE's path)

The torch, numpy and Triton items are skipped (None, with the reason) where those modules or a GPU are missing.
"""
import argparse
import json
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostspeed  # noqa: E402


class Battery:
    """Builds the large structures once (a few seconds), then measure() takes one reading of every item."""

    def __init__(self, seed=7):
        rng = random.Random(seed)
        self.errors = {}
        self.large = [{"id": i, "tokens": [i, i + 1], "n": 0} for i in range(400_000)]
        self.order = list(range(len(self.large)))
        rng.shuffle(self.order)
        self.order = self.order[:100_000]
        n = 1 << 22
        perm = list(range(n))
        rng.shuffle(perm)
        self.chase = [0] * n
        for a, b in zip(perm, perm[1:] + perm[:1]):
            self.chase[a] = b
        try:
            import numpy as np
            self.np = np
            self.arr = np.arange(1 << 25, dtype=np.float64)  # 256 MB
            self.idx = np.random.default_rng(seed).integers(0, len(self.arr), size=1 << 22)
        except Exception as e:  # noqa: BLE001
            self.np = None
            self.errors["numpy"] = repr(e)
        self.torch = None
        self.cuda = False
        try:
            import torch
            self.torch = torch
            self.ca, self.cb = torch.ones(4), torch.ones(4)
            if torch.cuda.is_available():
                self.cuda = True
                self.x = torch.zeros(4, device="cuda")
                torch.cuda.synchronize()
                self.graph = torch.cuda.CUDAGraph()
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s):
                    self.x.add_(1)
                torch.cuda.current_stream().wait_stream(s)
                with torch.cuda.graph(self.graph):
                    self.x.add_(1)
                torch.cuda.synchronize()
            else:
                self.errors["cuda"] = "torch.cuda.is_available() is False"
        except Exception as e:  # noqa: BLE001
            self.errors["torch"] = repr(e)
        self.triton_kernel = None
        if self.cuda:
            try:
                import triton
                import triton.language as tl

                @triton.jit
                def one(ptr):
                    tl.store(ptr, tl.load(ptr) + 1.0)
                self.triton_kernel = one
                one[(1,)](self.x)
                self.torch.cuda.synchronize()
            except Exception as e:  # noqa: BLE001
                self.errors["triton"] = repr(e)

    def py_large(self):
        t0 = time.perf_counter()
        lg = self.large
        for i in self.order:
            r = lg[i]
            r["n"] += 1
            r["tokens"].append(i)
            del r["tokens"][0]
        return time.perf_counter() - t0

    def py_chase(self, steps=300_000):
        c, i = self.chase, 0
        t0 = time.perf_counter()
        for _ in range(steps):
            i = c[i]
        return (time.perf_counter() - t0) / steps * 1e9

    def np_gather(self):
        t0 = time.perf_counter()
        s = self.arr[self.idx].sum()
        dt = time.perf_counter() - t0
        return len(self.idx) * 8 / dt / 1e9 if s == s else None

    def torch_cpu(self, n=5000):
        add, a, b = self.torch.add, self.ca, self.cb
        t0 = time.perf_counter()
        for _ in range(n):
            add(a, b)
        return (time.perf_counter() - t0) / n * 1e6

    def cuda_enqueue(self, n=5000):
        x = self.x
        self.torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            x.add_(1)
        dt = time.perf_counter() - t0
        self.torch.cuda.synchronize()
        return dt / n * 1e6

    def cuda_roundtrip(self, n=500):
        x, sync = self.x, self.torch.cuda.synchronize
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            x.add_(1)
            sync()
        return (time.perf_counter() - t0) / n * 1e6

    def graph_replay(self, n=3000):
        g = self.graph
        self.torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            g.replay()
        dt = time.perf_counter() - t0
        self.torch.cuda.synchronize()
        return dt / n * 1e6

    def triton_launch(self, n=3000):
        k, x = self.triton_kernel, self.x
        self.torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            k[(1,)](x)
        dt = time.perf_counter() - t0
        self.torch.cuda.synchronize()
        return dt / n * 1e6

    def measure(self):
        """One reading of every item: the median of three for the quick ones."""
        def med(f, k=3):
            return statistics.median(f() for _ in range(k))
        rec = {"time": time.time(), "py_small_s": hostspeed.speed(3)[1], "py_large_s": med(self.py_large),
               "py_chase_ns": med(self.py_chase)}
        rec["np_gather_gbs"] = med(self.np_gather) if self.np is not None else None
        rec["torch_cpu_op_us"] = med(self.torch_cpu) if self.torch is not None else None
        for key, f in (("cuda_enqueue_us", self.cuda_enqueue), ("cuda_roundtrip_us", self.cuda_roundtrip),
                       ("graph_replay_us", self.graph_replay)):
            rec[key] = med(f) if self.cuda else None
        rec["triton_launch_us"] = med(self.triton_launch) if self.triton_kernel is not None else None
        return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    b = Battery()
    recs = [b.measure() for _ in range(a.rounds)]
    out = {"host": os.uname().nodename, "skipped": b.errors, "readings": recs}
    for r in recs:
        print("  ".join("%s=%s" % (k, ("%.4g" % v) if isinstance(v, float) else v) for k, v in r.items() if k != "time"))
    if b.errors:
        print("skipped:", b.errors)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
