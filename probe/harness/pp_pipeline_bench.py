#!/usr/bin/env python3
"""Two-stage pipeline of a real MoE model's layers on 2 GPUs: the mechanism moesim's pipeline parallelism rests on.

Launched with torchrun (one process a GPU, rank = stage):
  torchrun --nproc_per_node 2 probe/harness/pp_pipeline_bench.py --out /tmp/pp.json

Each rank builds half of OLMoE-1B-7B's 16 decoder layers (Transformers' own OlmoeDecoderLayer, random bf16
weights, sdpa attention, grouped_mm experts, eager PyTorch) and, for each micro-batch shape (sequences x tokens,
no KV cache: every position attends causally within its sequence), measures:

  stage      each stage's layers on one micro-batch alone (CUDA-synchronised wall time, median of repetitions);
  send       the hand-over vLLM makes between stages: hidden states and residual (2 x tokens x hidden, bf16) from
             rank 0 to rank 1 (half a ping-pong round trip, median);
  stream     M micro-batches streamed through both stages (rank 0 computes and sends each, rank 1 receives and
             computes), wall time from a barrier to rank 1's last result: the pipeline filled with independent
             batches (what prompt chunks do);
  dependent  G groups of micro-batches, R rounds each; a group's next round starts only when its last round came
             back from rank 1 (a small tensor sent back, like a sampled token) and rank 0's host has it (synchronised,
             as vLLM's scheduler needs the token before it schedules the sequence again): vLLM's decode, where a
             sequence's next token needs its last; G = 1 cannot overlap the stages, G = 2 can.

Nothing here is vLLM: it checks the recurrence moesim uses for stages, hand-overs and batches in flight with
measured stage and send times (experiments/h200-x2/pp_compare.py), and the send time against moesim's.
"""
import argparse
import datetime
import json
import os
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--shapes", default="1x1,64x1,256x1,8x512,16x512,32x512", help="SEQSxTOKENS micro-batches")
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--stream", type=int, default=16, help="micro-batches streamed")
    ap.add_argument("--rounds", type=int, default=12, help="dependent rounds per group")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="a small config for a CPU dry run")
    ap.add_argument("--graphs", action="store_true", help="capture each stage's forward in a CUDA graph (as vLLM runs decode): "
                    "the stage time is then GPU time, the host launch cost gone")
    ap.add_argument("--deadline-epoch", type=float, default=None)
    args = ap.parse_args()
    if args.tiny:
        import faulthandler
        faulthandler.dump_traceback_later(45, exit=True)
    deadline = args.deadline_epoch or time.time() + 400

    import torch
    import torch.distributed as dist
    from transformers import OlmoeConfig
    from transformers.models.olmoe import modeling_olmoe as mo

    cpu = args.device == "cpu"
    dist.init_process_group("gloo" if cpu else "nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2, "two stages, two processes"
    dev = torch.device("cpu") if cpu else torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    if not cpu:
        torch.cuda.set_device(dev)
    # OLMoE-1B-7B (profiles/models/olmoe-1b-7b.json): hidden 2048, expert width 1024, 64 experts, top-8, 16 heads.
    dims = dict(hidden_size=2048, intermediate_size=1024, num_experts=64, num_experts_per_tok=8, num_attention_heads=16,
                num_key_value_heads=16, num_hidden_layers=args.layers, vocab_size=50304)
    if args.tiny:
        dims.update(hidden_size=256, intermediate_size=128, num_experts=8, num_experts_per_tok=2, num_attention_heads=4,
                    num_key_value_heads=4, vocab_size=1000)
    cfg = OlmoeConfig(**dims)
    cfg._attn_implementation = "sdpa"
    cfg._experts_implementation = "grouped_mm" if not cpu else "batched_mm"
    dtype = torch.bfloat16
    per = args.layers // 2
    torch.manual_seed(rank)
    layers = torch.nn.ModuleList([mo.OlmoeDecoderLayer(cfg, rank * per + i) for i in range(per)]).to(dev, dtype)
    for p in layers.parameters():
        torch.nn.init.normal_(p, std=0.02)
    rot = mo.OlmoeRotaryEmbedding(cfg).to(dev)
    back = dist.new_group([0, 1])  # tokens from the last stage back to the first
    H = cfg.hidden_size

    def sync():
        if not cpu:
            torch.cuda.synchronize()

    @torch.inference_mode()
    def forward(x, pos, pe):
        for layer in layers:
            x = layer(x, attention_mask=None, position_ids=pos, position_embeddings=pe)
        return x

    out = {"what": "two-stage pipeline of OLMoE-1B-7B decoder layers (Transformers OlmoeDecoderLayer, random bf16 weights)",
           "cuda_graphs_requested": bool(args.graphs),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "torch": torch.__version__, "device": torch.cuda.get_device_name(dev) if not cpu else "cpu",
           "layers_per_stage": per, "hidden": H, "experts_implementation": cfg._experts_implementation, "shapes": []}
    import transformers
    out["transformers"] = transformers.__version__

    for spec in args.shapes.split(","):
        if time.time() > deadline - 20:
            break
        seqs, toks = (int(v) for v in spec.split("x"))
        T = seqs * toks
        x = torch.randn(seqs, toks, H, device=dev, dtype=dtype)
        pos = torch.arange(toks, device=dev).unsqueeze(0).expand(seqs, -1)
        with torch.inference_mode():
            pe = rot(x, pos)
        hid = torch.empty(seqs, toks, H, device=dev, dtype=dtype)
        res = torch.empty(seqs, toks, H, device=dev, dtype=dtype)
        tok = torch.zeros(seqs, device=dev, dtype=torch.int64)
        row = {"sequences": seqs, "tokens_per_sequence": toks, "tokens": T, "send_bytes": 2 * T * H * 2, "cuda_graphs": False}
        hid.copy_(x)
        # Rank 0 runs its stage on x, rank 1 on what it received (hid); optionally replayed from a CUDA graph.
        graph, graph_out = None, None
        if args.graphs and not cpu:
            inp = x if rank == 0 else hid
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    forward(inp, pos, pe)
            torch.cuda.current_stream().wait_stream(side)
            try:
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    graph_out = forward(inp, pos, pe)
                row["cuda_graphs"] = True
            except Exception as e:  # recorded, and the shape runs eager
                graph = None
                row["graph_error"] = f"{type(e).__name__}: {e}"[:300]
            sync()

        def stage():
            if graph is not None:
                graph.replay()
                return graph_out
            return forward(x if rank == 0 else hid, pos, pe)

        # Warm-up (kernels, NCCL channels).
        for _ in range(3):
            stage()
        sync()
        if rank == 0:
            dist.send(hid, 1); dist.send(res, 1)
        else:
            dist.recv(hid, 0); dist.recv(res, 0)
        sync()

        # Stage time, each rank alone.
        ts = []
        for _ in range(args.reps):
            dist.barrier(); sync()
            t0 = time.perf_counter(); stage(); sync(); ts.append(time.perf_counter() - t0)
        alone = [0.0, 0.0]
        alone[rank] = statistics.median(ts) * 1e6
        t = torch.tensor(alone, dtype=torch.float64, device=dev if not cpu else "cpu")
        dist.all_reduce(t)
        row["stage_us"] = t.tolist()

        # Hand-over: half a ping-pong of hidden + residual.
        rt = []
        for _ in range(args.reps):
            dist.barrier(); sync()
            t0 = time.perf_counter()
            if rank == 0:
                dist.send(hid, 1); dist.send(res, 1); dist.recv(hid, 1); dist.recv(res, 1)
            else:
                dist.recv(hid, 0); dist.recv(res, 0); dist.send(hid, 0); dist.send(res, 0)
            sync(); rt.append(time.perf_counter() - t0)
        row["send_us"] = statistics.median(rt) / 2 * 1e6

        # Stream M independent micro-batches.
        def stream(m):
            dist.barrier(); sync()
            t0 = time.perf_counter()
            for _ in range(m):
                if rank == 0:
                    y = stage()
                    dist.send(y.contiguous(), 1); dist.send(res, 1)
                else:
                    dist.recv(hid, 0); dist.recv(res, 0)
                    stage()
            sync()
            el = torch.tensor([time.perf_counter() - t0], dtype=torch.float64, device=dev if not cpu else "cpu")
            dist.all_reduce(el, op=dist.ReduceOp.MAX)
            return el.item() * 1e6
        stream(2)
        row["stream"] = {"micro_batches": args.stream, "wall_us": statistics.median([stream(args.stream) for _ in range(3)])}

        # Dependent rounds: G groups in flight, each group's next round waits for its last (a token sent back on a
        # second communicator, so the two directions do not queue behind each other on one NCCL stream).
        def dependent(groups, rounds):
            dist.barrier(); sync()
            t0 = time.perf_counter()
            pending = []

            def hand_over(y):
                if cpu:  # gloo's send blocks the host until received: keep it asynchronous in the dry run
                    pending.extend([dist.isend(y, 1), dist.isend(res, 1)])
                else:  # as vLLM: the send is ordered on the compute stream
                    dist.send(y, 1); dist.send(res, 1)
            if rank == 0:
                for g in range(groups):  # fill
                    hand_over(stage().contiguous())
                for r in range(rounds * groups - groups):
                    dist.recv(tok, 1, group=back)  # the oldest group's token
                    sync()  # as vLLM's scheduler: the token is on the host before the next round is launched
                    hand_over(stage().contiguous())
                for g in range(groups):
                    dist.recv(tok, 1, group=back)
                for w in pending:
                    w.wait()
            else:
                for r in range(rounds * groups):
                    dist.recv(hid, 0); dist.recv(res, 0)
                    stage()
                    dist.send(tok, 0, group=back)
            sync()
            el = torch.tensor([time.perf_counter() - t0], dtype=torch.float64, device=dev if not cpu else "cpu")
            dist.all_reduce(el, op=dist.ReduceOp.MAX)
            return el.item() * 1e6
        dependent(1, 2)
        row["dependent"] = []
        for g in (1, 2):
            row["dependent"].append({"groups": g, "rounds": args.rounds, "wall_us": statistics.median([dependent(g, args.rounds) for _ in range(3)])})
        out["shapes"].append(row)
        if rank == 0:
            print(f"{spec}: stage {row['stage_us'][0]:.0f}/{row['stage_us'][1]:.0f} us, send {row['send_us']:.1f} us, "
                  f"stream {args.stream} -> {row['stream']['wall_us']:.0f} us, dependent G1 {row['dependent'][0]['wall_us']:.0f} "
                  f"G2 {row['dependent'][1]['wall_us']:.0f} us" + (" (CUDA graphs)" if row["cuda_graphs"] else "")
                  + (f" graph failed: {row['graph_error']}" if "graph_error" in row else ""), flush=True)
            with open(args.out, "w") as f:
                json.dump(out, f, indent=1)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
