#!/usr/bin/env python3
"""vLLM's own collectives at the message sizes its steps send (issue 23, item 2): the TP all-reduce (vLLM picks its
custom all-reduce, a symmetric-memory or an NCCL one by size, as a deployment does) and the all-gather and
reduce-scatter that expert parallelism's allgather_reducescatter backend uses, timed eagerly and, up to 512 tokens,
replayed from a CUDA graph as vLLM's decode steps run them.

  torchrun --nproc-per-node N probe/vllm/collectives_bench.py --out DIR      (with vLLM 0.24 importable)

Writes DIR/collectives-<N>gpu.json on rank 0: per collective, hidden size and token count, the bytes per rank and
the median time over 20 calls (CUDA events), eager and in a graph. NCCL NVLink multicast stays off
(NCCL_NVLS_ENABLE=0), as the lent multi-GPU hosts require.
"""
import argparse
import json
import os
import socket
import statistics
import time

os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
os.environ.setdefault("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1")
os.environ.setdefault("NVSHMEM_DISABLE_NVLS", "1")

import torch  # noqa: E402

TOKENS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
HIDDEN = [2048, 4096]


def timed(fn, iters=20, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1000.0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local)
    from vllm.config import VllmConfig, set_current_vllm_config
    from vllm.distributed.parallel_state import (graph_capture, init_distributed_environment,
                                                 initialize_model_parallel)
    from vllm.distributed.communication_op import (tensor_model_parallel_all_gather,
                                                   tensor_model_parallel_all_reduce,
                                                   tensor_model_parallel_reduce_scatter)
    rows = []
    with set_current_vllm_config(VllmConfig()):
        init_distributed_environment(world, rank, "env://", local, "nccl")
        initialize_model_parallel(tensor_model_parallel_size=world)
        for hidden in HIDDEN:
            for tokens in TOKENS:
                x = torch.randn(tokens, hidden, dtype=torch.bfloat16, device="cuda")
                ops = {
                    "all_reduce": lambda: tensor_model_parallel_all_reduce(x),
                    "all_gather": lambda: tensor_model_parallel_all_gather(x, dim=0),
                }
                if tokens % world == 0:
                    ops["reduce_scatter"] = lambda: tensor_model_parallel_reduce_scatter(x, dim=0)
                for name, fn in ops.items():
                    eager = timed(fn)
                    graph = None
                    if tokens <= 512:
                        try:
                            g = torch.cuda.CUDAGraph()
                            # vLLM's own capture context (custom all-reduce registers the graph's buffers in it).
                            with graph_capture(device=torch.device("cuda", local)) as ctx:
                                fn()
                                torch.cuda.synchronize()
                                with torch.cuda.graph(g, stream=ctx.stream):
                                    fn()
                            graph = timed(g.replay)
                        except Exception as e:  # a collective that cannot be captured is reported, not fatal
                            graph = "not captured: %r" % (e,)
                    rows.append({"collective": name, "hidden": hidden, "tokens": tokens,
                                 "bytes_per_rank": tokens * hidden * 2, "eager_us": round(eager, 3),
                                 "graph_us": graph if not isinstance(graph, float) else round(graph, 3)})
                    if rank == 0:
                        print("%-15s hidden %5d tokens %6d: eager %9.1f us, graph %s" % (name, hidden, tokens, eager, graph), flush=True)
    if rank == 0:
        import vllm
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "collectives-%dgpu.json" % world), "w") as f:
            json.dump({"harness": "probe/vllm/collectives_bench.py", "vllm_version": vllm.__version__, "gpus": world,
                       "gpu": torch.cuda.get_device_name(0), "host": socket.gethostname(),
                       "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
