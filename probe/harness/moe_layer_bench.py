#!/usr/bin/env python3
"""One MoE layer under tensor parallelism and under expert parallelism on P GPUs, timed per phase.

Launched with torchrun (one process a GPU):
  torchrun --nproc_per_node 2 probe/harness/moe_layer_bench.py --out /tmp/moe_layer.csv

For each expert shape (hidden H, expert intermediate I, experts E, top-k k) and each GLOBAL token count T:

  TP (experts sharded along I, as vLLM's and Transformers' TP do): every rank holds all T tokens and all E experts
     with I/P columns. Phases: route (router GEMM + softmax + top-k), experts (sort the T*k token-expert pairs by
     expert, grouped GEMM gate_up, SiLU*mul, grouped GEMM down, weighted scatter-add), allreduce (sum of the
     partial [T, H] outputs over the P ranks).
  EP (experts placed whole, E/P per rank; attention data-parallel as in vLLM's EP): every rank holds T/P tokens
     of its own. Phases: route; dispatch (all-to-all of the per-rank pair counts, then all-to-all of the
     token rows sent to each expert's owner: paper eq. (3)); experts (grouped GEMMs over the received rows);
     combine (the reverse all-to-all) and the weighted scatter-add.

Each phase is timed with CUDA events around it on every rank (a barrier and a synchronize before each
repetition); a repetition's phase time is the maximum over ranks (the layer waits for the slowest), and
the row holds the median over repetitions. With --timing gpu a sleep kernel holds the GPU while the host
queues the whole layer (and EP's split sizes come from the warm-up), so the phases are GPU time alone, comparable
with a CUDA-graph engine; with --timing eager (the default) they include the host's issue time, as eager
PyTorch (Transformers) pays it. Routing is uniform random top-k (random router weights and
random hidden states: the measured balance is what a random router gives). Grouped GEMMs use
torch._grouped_mm (the kernel Transformers' grouped_mm experts call) where it exists, else a loop over
experts (recorded in the 'gemm' column).
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

SHAPES = {  # name: (hidden, expert intermediate, experts, top-k) from profiles/models/*.json
    "mixtral-8x7b": (4096, 14336, 8, 2),
    "olmoe-1b-7b": (2048, 1024, 64, 8),
    "qwen1.5-moe-a2.7b": (2048, 1408, 60, 4),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--tokens", default="1,4,16,64,256,1024,4096,16384")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--deadline-epoch", type=float, default=None)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--timing", choices=["eager", "gpu"], default="eager",
                    help="eager: the host issues each phase as it comes (eager PyTorch, host time shows); gpu: the "
                         "GPU is held by a sleep kernel while the host queues the whole layer, and EP's split sizes "
                         "are taken from the warm-up (same input every repetition), so the events time GPU work only")
    args = ap.parse_args()
    deadline = args.deadline_epoch or time.time() + 300

    import torch
    import torch.distributed as dist

    cuda = args.device == "cuda"
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo")
    P = world
    dtype = torch.bfloat16 if cuda else torch.float32
    gmm = getattr(torch, "_grouped_mm", None) if cuda else None

    def log(msg):
        if rank == 0:
            print(f"[moe-layer {datetime.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)

    class Timer:
        def __init__(self):
            self.marks = []

        def mark(self):
            if cuda:
                e = torch.cuda.Event(enable_timing=True)
                e.record()
                self.marks.append(e)
            else:
                self.marks.append(time.perf_counter())

        def spans_us(self):
            if cuda:
                torch.cuda.synchronize()
                return [a.elapsed_time(b) * 1000.0 for a, b in zip(self.marks, self.marks[1:])]
            return [(b - a) * 1e6 for a, b in zip(self.marks, self.marks[1:])]

    def experts_forward(x_sorted, counts, w1, w2, inter):
        """x_sorted [S, H] rows grouped by local expert; counts [E_local] (tensor); w1 [E, H, 2I], w2 [E, I, H]."""
        if x_sorted.shape[0] == 0:
            return x_sorted.new_zeros((0, w2.shape[-1]))
        if gmm is not None:
            offs = torch.cumsum(counts, 0).to(torch.int32)
            h = gmm(x_sorted, w1, offs=offs)
            g, u = h[:, :inter], h[:, inter:]
            h = torch.nn.functional.silu(g) * u
            return gmm(h, w2, offs=offs)
        outs = []
        start = 0
        for e, c in enumerate(counts.tolist()):
            if c:
                h = x_sorted[start:start + c] @ w1[e]
                h = torch.nn.functional.silu(h[:, :inter]) * h[:, inter:]
                outs.append(h @ w2[e])
            start += c
        return torch.cat(outs) if outs else x_sorted.new_zeros((0, w2.shape[-1]))

    def count(ids, n):
        """per-bin counts without a host sync (torch.bincount syncs on CUDA to size its output)"""
        return torch.zeros(n, dtype=torch.long, device=ids.device).scatter_add_(0, ids.long(), torch.ones_like(ids, dtype=torch.long))

    def route(x, wr, k):
        logits = x @ wr
        p = torch.softmax(logits.float(), dim=-1)
        w, idx = torch.topk(p, k, dim=-1)
        return w.to(x.dtype), idx

    rows = []
    meta = {"timing": args.timing, "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "gpus": P, "torch": torch.__version__, "nccl": ".".join(map(str, torch.cuda.nccl.version())) if cuda else "",
            "gpu": torch.cuda.get_device_name(local) if cuda else "cpu",
            "grouped_gemm": "torch._grouped_mm" if gmm is not None else "loop over experts",
            "method": __doc__}
    g = torch.Generator(device=dev)
    for shape in args.shapes.split(","):
        H, I, E, k = SHAPES[shape]
        g.manual_seed(1234)  # same router and weights on every rank
        wr = torch.randn(H, E, device=dev, dtype=dtype, generator=g) * 0.02
        for mode in ("tp", "ep"):
            if mode == "tp":
                El, Il = E, I // P
            else:
                if E % P:
                    log(f"skip {shape} ep: {E} experts over {P} GPUs")
                    continue
                El, Il = E // P, I
            w1 = torch.randn(El, H, 2 * Il, device=dev, dtype=dtype, generator=g) * 0.02
            w2 = torch.randn(El, Il, H, device=dev, dtype=dtype, generator=g) * 0.02
            for T in [int(t) for t in args.tokens.split(",")]:
                if time.time() > deadline:
                    log(f"deadline: stop at {shape} {mode} T={T}")
                    break
                Tl = T if mode == "tp" else max(1, T // P)
                if mode == "ep" and T % P:
                    continue
                x = torch.randn(Tl, H, device=dev, dtype=dtype, generator=g)
                per_rep = []
                fixed_splits = None
                for rep in range(args.warmup + args.reps):
                    dist.barrier()
                    if cuda:
                        torch.cuda.synchronize()
                        if args.timing == "gpu" and rep > 0:
                            torch.cuda._sleep(20_000_000)  # ~10 ms: the host queues the layer meanwhile
                    t = Timer()
                    t.mark()
                    w, idx = route(x, wr, k)
                    t.mark()
                    flat = idx.reshape(-1)
                    order = torch.argsort(flat, stable=True)
                    tok = order // k
                    if mode == "tp":
                        counts = count(flat, E)
                        xs = x[tok]
                        y = experts_forward(xs, counts, w1, w2, Il)
                        out = torch.zeros_like(x)
                        out.index_add_(0, tok, y * w.reshape(-1)[order].unsqueeze(-1))
                        t.mark()
                        dist.all_reduce(out)
                        t.mark()
                    else:
                        owner = flat[order] // El  # pairs sorted by expert are sorted by owner too
                        send_counts = count(owner, P)
                        recv_counts = torch.empty_like(send_counts)
                        dist.all_to_all_single(recv_counts, send_counts)
                        if args.timing == "gpu" and fixed_splits is not None:
                            sc, rc = fixed_splits
                        else:
                            sc, rc = send_counts.tolist(), recv_counts.tolist()  # host sync, as real EP needs
                            fixed_splits = (sc, rc)
                        xs = x[tok]
                        eid = (flat[order] % El).to(torch.int32)
                        recv_x = xs.new_empty((sum(rc), H))
                        dist.all_to_all_single(recv_x, xs, rc, sc)
                        recv_e = eid.new_empty((sum(rc),))
                        dist.all_to_all_single(recv_e, eid, rc, sc)
                        t.mark()
                        o2 = torch.argsort(recv_e, stable=True)
                        counts = count(recv_e, El)
                        y = experts_forward(recv_x[o2], counts, w1, w2, Il)
                        y_back = torch.empty_like(y)
                        y_back[o2] = y
                        t.mark()
                        ret = xs.new_empty((sum(sc), H))
                        dist.all_to_all_single(ret, y_back, sc, rc)
                        out = torch.zeros_like(x)
                        out.index_add_(0, tok, ret * w.reshape(-1)[order].unsqueeze(-1))
                        t.mark()
                    spans = t.spans_us()
                    if rep >= args.warmup:
                        per_rep.append(spans)
                # max over ranks per repetition and phase, then median over repetitions
                tens = torch.tensor(per_rep, dtype=torch.float64, device=dev)
                dist.all_reduce(tens, op=dist.ReduceOp.MAX)
                med = [statistics.median(col) for col in zip(*tens.tolist())]
                names = ["route", "experts", "allreduce"] if mode == "tp" else ["route", "dispatch", "experts", "combine"]
                row = {"shape": shape, "mode": mode, "gpus": P, "tokens": T, "tokens_per_rank": Tl,
                       "hidden": H, "inter": I, "experts": E, "topk": k, "experts_per_rank": El,
                       "inter_per_rank": Il}
                for n, v in zip(names, med):
                    row[n + "_us"] = round(v, 2)
                row["total_us"] = round(sum(med), 2)
                row["gemm"] = meta["grouped_gemm"]
                rows.append(row)
                log(f"{shape} {mode} T={T}: " + ", ".join(f"{n} {v:.1f}" for n, v in zip(names, med)) +
                    f" -> {sum(med):.1f} us")
            del w1, w2
            if cuda:
                torch.cuda.empty_cache()
    if rank == 0:
        with open(args.out, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
        log(f"wrote {len(rows)} rows to {args.out}")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
