#!/usr/bin/env python3
"""Times vLLM 0.24.0's MXFP4 fused-MoE path exactly as vLLM runs gpt-oss on an H100/H200 (SM90), one GPU, no EP/TP:
the 'TRITON' Mxfp4MoeBackend (OpenAI's triton_kernels, vendored as vllm.third_party.triton_kernels), i.e.
vllm.model_executor.layers.fused_moe.experts.gpt_oss_triton_kernels_moe.triton_kernel_moe_forward, which is what
OAITritonMxfp4ExpertsMonolithic.apply calls: triton_kernels routing (top-k, then softmax over the k: gpt-oss's
FusedMoE has renormalize=True, so sm_first=False) on bf16 router logits, then two matmul_ogs calls (w13 with the
fused swiglu, alpha 1.702, limit 7; w2 with the gate scaling and the scatter-sum), bf16 activations, MXFP4 weights,
fp32 biases.

Weights: random packed FP4 (uint8, two E2M1 values a byte), random E8M0 scales near 127 (2^-7 .. 2^-3 by default,
so everything stays finite) and random bf16 biases, in the shapes GptOssMxfp4MoEMethod.create_weights makes them
before process_weights_after_loading (w13 [E, 2I, H/2] uint8, scales [E, 2I, H/32]; w2 [E, H, I/2], scales
[E, H, I/32]; biases [E, 2I] and [E, H]; H and I after mxfp4_round_up_hidden_size_and_intermediate_size for the
TRITON backend, which leaves gpt-oss's 2880 x 2880 as they are), converted by vLLM's own
convert_gpt_oss_weight_to_mxfp4_moe_kernel_format (its TRITON_BACKENDS branch: _swizzle_mxfp4 into the Hopper
value/scale layouts, PrecisionConfig with FlexCtx, biases to fp32), then make_mxfp4_moe_quant_config with the
arguments GptOssMxfp4MoEMethod.get_fused_moe_quant_config passes (mxfp4_w4a16_moe_quant_config underneath).

Routing (--distribution):
  balanced  the scheme of probe/vllm/moe_bench.py's balanced_ids (token t's i-th expert is (t + i * stride) mod E with
            stride = ceil(E / top-k), spread when there are fewer tokens than the stride), as router logits that make
            exactly those top-k choices (8.0 at the chosen experts, 0.0 elsewhere; weights 1/k after the softmax);
            that is the AIConfigurator tables' "balanced" routing.
  random    torch.randn bf16 router logits, what a random-weight router gives.
  concentrated  every token to experts 0..k-1 (the fewest experts a batch can hit), as vLLM's dummy weights route
            gpt-oss: the +-1e-3 router weights and norm weights leave the router bias to choose, the same top-k for
            every token.

Timing as moe_bench.py: a few warm-up calls, then the mean of --runs calls between CUDA events, either launched one by
one (host work included) or, with --graph, captured in one CUDA graph and replayed (the GPU's time alone, as vLLM's
FULL CUDA-graph decode steps run it). The routing kernels are part of the timed call, as they are in vLLM's monolithic
MXFP4 path. Rows go out in the format of profiles/kernels/*.json ("moe" and "moe_routing"), with "dtype":
"w4a16_mxfp4" and "routing" added; a (shape, tokens) that fails is left out of those rows and recorded under "errors"
(with the shape's keys, "tokens" and "error") instead of stopping the run.

  PYTHONPATH=/root/vsite python3 probe/vllm/mxfp4_bench.py --out mxfp4.json --graph --distribution random
  PYTHONPATH=/root/vsite python3 probe/vllm/mxfp4_bench.py --out mxfp4.json --graph --distribution balanced
  python3 probe/vllm/mxfp4_bench.py --selftest      (no GPU, torch or vLLM: checks argument parsing and routing)

Why: moesim prices gpt-oss's MXFP4 experts from AIConfigurator's imported 'w4a16_mxfp4' table rows
(profiles/kernels/<gpu>-vllm-0.24.0.json, key "w4a16_mxfp4"), but real vLLM 0.24 gpt-oss-20b steps on an H200
disagree with them in opposite directions at small and large batches, so the kernel vLLM actually runs is timed here
directly, with the weight layout vLLM actually builds.
"""
import argparse
import json
import math
import random
import sys
import time
import traceback

TOKENS = [1, 2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
          6144, 8192, 12288, 16384]
# hidden, expert intermediate, top-k, experts: gpt-oss-20b, gpt-oss-120b.
SHAPES = [(2880, 2880, 4, 32), (2880, 2880, 4, 128)]
DTYPE = "w4a16_mxfp4"
# Router logits of the balanced scheme: HI at the chosen experts, LO elsewhere (both exact in bf16).
BALANCED_HI, BALANCED_LO = 8.0, 0.0
ROUTING = {
    "balanced": "balanced_logits",
    "random": "randn_logits",
    "concentrated": "concentrated_logits",
}
ROUTING_WHAT = {
    "balanced": "router logits %.1f at moe_bench.py's balanced_ids experts (token t's i-th expert (t + i * ceil(E/k)) "
                "mod E, spread when tokens < ceil(E/k)) and %.1f elsewhere, so top-k picks exactly those and the "
                "weights are 1/k" % (BALANCED_HI, BALANCED_LO),
    "random": "torch.randn bf16 router logits (a random-weight router)",
    "concentrated": "router logits %.1f at experts 0..k-1 for every token and %.1f elsewhere: the fewest experts a batch "
                    "can hit, as vLLM's dummy weights route gpt-oss (router weights and norms of +-1e-3 leave the router "
                    "bias to choose, the same experts for every token)" % (BALANCED_HI, BALANCED_LO),
}
TAG = "[mxfp4_bench]"


def log(msg):
    print("%s %s" % (TAG, msg), flush=True)


# ---------------------------------------------------------------------------------------------------------------------
# Pure-python parts (used by the GPU run and checked by --selftest, which imports neither torch nor vLLM).
# ---------------------------------------------------------------------------------------------------------------------

def balanced_ids_rows(n, experts, topk):
    """moe_bench.py's balanced_ids as lists: row t holds token t's top-k expert ids."""
    stride = math.ceil(experts / topk)
    rows = []
    for t in range(n):
        if n >= stride:
            rows.append([(t + i * stride) % experts for i in range(topk)])
        else:
            rows.append([((t * stride) // n + i * stride) % experts for i in range(topk)])
    return rows


def balanced_logits_rows(ids_rows, experts, hi=BALANCED_HI, lo=BALANCED_LO):
    """Router logits that make exactly ids_rows' top-k choices (reference for the torch scatter in the GPU run)."""
    out = []
    for ids in ids_rows:
        row = [lo] * experts
        for e in ids:
            row[e] = hi
        out.append(row)
    return out


def topk_rows(logits_rows, k):
    """Indices of the k largest logits of each row (ties to the lower index)."""
    return [sorted(range(len(r)), key=lambda e: (-r[e], e))[:k] for r in logits_rows]


def route_reference(logits_row, k, renormalize=True):
    """vLLM's gpt-oss routing semantics for one token (triton_kernel_moe_forward: sm_first = not renormalize):
    renormalize=True takes the top-k logits and softmaxes over those k; otherwise softmax over all experts first."""
    if renormalize:
        ids = topk_rows([logits_row], k)[0]
        m = max(logits_row[e] for e in ids)
        w = [math.exp(logits_row[e] - m) for e in ids]
    else:
        m = max(logits_row)
        p = [math.exp(v - m) for v in logits_row]
        s = sum(p)
        p = [v / s for v in p]
        ids = topk_rows([p], k)[0]
        w = [p[e] for e in ids]
    s = sum(w) if renormalize else 1.0
    return ids, [v / s for v in w]


def round_up(x, y):
    return ((x + y - 1) // y) * y


def triton_padded_sizes_fallback(hidden, inter):
    """mxfp4_round_up_hidden_size_and_intermediate_size for Mxfp4MoeBackend.TRITON on CUDA (the final else branch:
    intermediate to a multiple of 64, hidden unchanged); used only if vLLM's function cannot be called."""
    return hidden, round_up(inter, 64)


def parse_shapes(s):
    shapes = []
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        f = [int(x) for x in part.split(":")]
        if len(f) != 4 or min(f) <= 0:
            raise ValueError("shape %r: want H:I:K:E" % part)
        shapes.append(tuple(f))
    return shapes or list(SHAPES)


def parse_tokens(s):
    toks = [int(x) for x in s.split(",") if x.strip()]
    return toks or list(TOKENS)


def build_parser():
    ap = argparse.ArgumentParser(description="Time vLLM's MXFP4 (gpt-oss, TRITON backend) fused MoE; see the "
                                             "module docstring.")
    ap.add_argument("--out", help="JSON file to write (required unless --selftest)")
    ap.add_argument("--shapes", default="", help="H:I:K:E,... (default gpt-oss-20b and -120b: %s)" %
                    ",".join(":".join(str(v) for v in s) for s in SHAPES))
    ap.add_argument("--tokens", default="", help="token counts, comma-separated (default moe_bench.py's TOKENS)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--graph", action="store_true", help="time the calls replayed from a CUDA graph (GPU time only)")
    ap.add_argument("--budget", type=float, default=400,
                    help="seconds; shapes and token counts not started by then are left out")
    ap.add_argument("--distribution", choices=["balanced", "random", "concentrated"], default="balanced",
                    help="routing: balanced (moe_bench.py's / the tables' scheme, as router logits) or random "
                         "(torch.randn router logits)")
    ap.add_argument("--scale-min", type=int, default=120, help="smallest random E8M0 weight scale (127 = 2^0)")
    ap.add_argument("--scale-max", type=int, default=124, help="largest random E8M0 weight scale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--selftest", action="store_true",
                    help="check argument parsing and the routing construction without GPU, torch or vLLM; print OK")
    return ap


def selftest():
    ap = build_parser()
    a = ap.parse_args(["--out", "x.json", "--graph", "--distribution", "random"])
    assert a.graph and a.distribution == "random" and a.out == "x.json" and a.budget == 400 and a.runs == 10
    a = ap.parse_args(["--out", "x.json"])
    assert not a.graph and a.distribution == "balanced" and a.warmup == 3
    a = ap.parse_args(["--selftest"])
    assert a.selftest and a.out is None
    a = ap.parse_args(["--out", "y", "--shapes", "2880:2880:4:32", "--budget", "12.5", "--tokens", "1,8"])
    assert parse_shapes(a.shapes) == [(2880, 2880, 4, 32)] and a.budget == 12.5 and parse_tokens(a.tokens) == [1, 8]
    assert parse_shapes("") == SHAPES and parse_tokens("") == TOKENS
    assert parse_shapes("1:2:3:4, 5:6:7:8") == [(1, 2, 3, 4), (5, 6, 7, 8)]
    for bad in ("1:2:3", "a:b:c:d", "0:1:1:1"):
        try:
            parse_shapes(bad)
        except ValueError:
            pass
        else:
            raise AssertionError("parse_shapes accepted %r" % bad)
    old_err = sys.stderr
    try:
        import io
        sys.stderr = io.StringIO()
        try:
            ap.parse_args(["--out", "x", "--distribution", "spread"])
        except SystemExit:
            pass
        else:
            raise AssertionError("bad --distribution accepted")
    finally:
        sys.stderr = old_err
    assert triton_padded_sizes_fallback(2880, 2880) == (2880, 2880)
    assert triton_padded_sizes_fallback(2880, 1440) == (2880, 1472)

    # Balanced ids: in range, k distinct per token, the tables' hit counts, and logits whose top-k is exactly them.
    for (experts, topk) in [(32, 4), (128, 4), (60, 4), (64, 6), (128, 8), (256, 8)]:
        for n in TOKENS:
            ids = balanced_ids_rows(n, experts, topk)
            assert len(ids) == n
            for r in ids:
                assert len(r) == topk and len(set(r)) == topk, (experts, topk, n, r)
                assert all(0 <= e < experts for e in r), (experts, topk, n, r)
            hits = len(set(e for r in ids for e in r))
            assert hits <= min(experts, n * topk), (experts, topk, n, hits)
            if experts % topk == 0:  # every expert once per stride tokens (gpt-oss's 32 and 128 of top-4)
                assert hits == min(experts, n * topk), (experts, topk, n, hits)
            if n <= 64:
                logits = balanced_logits_rows(ids, experts)
                got = topk_rows(logits, topk)
                assert [sorted(g) for g in got] == [sorted(r) for r in ids], (experts, topk, n)
                for row in logits[:3]:
                    rid, w = route_reference(row, topk, renormalize=True)
                    assert all(abs(v - 1.0 / topk) < 1e-12 for v in w)
    # The hit counts of the imported AIConfigurator w4a16_mxfp4 "balanced" routing rows for top-4 of 32.
    assert [len(set(e for r in balanced_ids_rows(n, 32, 4) for e in r)) for n in (1, 2, 4, 8, 16)] == [4, 8, 16, 32, 32]
    assert balanced_ids_rows(2, 32, 4) == [[0, 8, 16, 24], [4, 12, 20, 28]]

    # Random routing on a fake (what torch.randn logits give): k distinct experts, weights summing to 1 after the
    # softmax over the top-k (renormalize=True), and the softmax-first variant differs only in its weights.
    rng = random.Random(0)
    for (experts, topk) in [(32, 4), (128, 4)]:
        rows = [[rng.gauss(0.0, 1.0) for _ in range(experts)] for _ in range(16)]
        for row in rows:
            ids, w = route_reference(row, topk, renormalize=True)
            ids2, w2 = route_reference(row, topk, renormalize=False)
            assert len(set(ids)) == topk and sorted(ids) == sorted(ids2)
            assert abs(sum(w) - 1.0) < 1e-9 and sum(w2) < 1.0
            assert all(row[e] >= max(row[x] for x in range(experts) if x not in ids) for e in ids)
    assert "torch" not in sys.modules and "vllm" not in sys.modules, "selftest imported torch or vllm"
    log("selftest OK")
    print("OK", flush=True)
    return 0


# ---------------------------------------------------------------------------------------------------------------------
# GPU run.
# ---------------------------------------------------------------------------------------------------------------------

class Api:
    """vLLM's functions this harness calls, found once; what could not be imported is noted in `notes`."""

    def __init__(self, torch):
        self.notes = {}
        from vllm.utils.import_utils import has_triton_kernels
        # has_triton_kernels() imports triton_kernels (site-packages first, else vllm.third_party.triton_kernels,
        # registered as sys.modules["triton_kernels"]), exactly as vLLM does before using it.
        if not has_triton_kernels():
            raise RuntimeError("vllm.utils.import_utils.has_triton_kernels() is False: no triton_kernels here")
        import triton_kernels
        self.notes["triton_kernels_file"] = getattr(triton_kernels, "__file__", None)
        try:
            import triton
            self.notes["triton"] = triton.__version__
        except Exception as e:  # noqa: BLE001
            self.notes["triton"] = "unknown (%r)" % (e,)
        from vllm.model_executor.layers.fused_moe.experts import gpt_oss_triton_kernels_moe as gk
        self.gk = gk
        self.forward = gk.triton_kernel_moe_forward
        self.notes["use_legacy_triton_kernels"] = bool(getattr(gk, "use_legacy_triton_kernels", None))
        try:
            self.notes["monolithic_supports_current_device"] = bool(
                gk.OAITritonMxfp4ExpertsMonolithic._supports_current_device())
        except Exception as e:  # noqa: BLE001
            self.notes["monolithic_supports_current_device"] = "error %r" % (e,)
        try:
            from vllm.model_executor.layers.fused_moe.oracle import mxfp4 as oracle
            self.oracle = oracle
            self.backend = oracle.Mxfp4MoeBackend.TRITON
        except Exception as e:  # noqa: BLE001
            self.oracle = None
            self.backend = None
            self.notes["oracle_import_error"] = repr(e)
            log("vllm...fused_moe.oracle.mxfp4 did not import (%r); the fallback conversion will be used" % (e,))

    def padded_sizes(self, hidden, inter):
        if self.oracle is not None:
            try:
                hi = self.oracle.mxfp4_round_up_hidden_size_and_intermediate_size(self.backend, hidden, inter)
                return tuple(hi), "mxfp4_round_up_hidden_size_and_intermediate_size(TRITON)"
            except Exception as e:  # noqa: BLE001
                log("mxfp4_round_up_hidden_size_and_intermediate_size failed (%r); rounding as its TRITON branch"
                    % (e,))
        return triton_padded_sizes_fallback(hidden, inter), "fallback round_up(I, 64)"


def make_layer_and_weights(torch, experts, hidden, inter, dev, scale_min, scale_max):
    """A minimal module holding the parameters GptOssMxfp4MoEMethod.create_weights registers, filled with random
    MXFP4 data (the conversion deletes layer.w13_weight / layer.w2_weight, as on a real RoutedExperts layer)."""
    P = lambda t: torch.nn.Parameter(t, requires_grad=False)  # noqa: E731
    layer = torch.nn.Module()
    u8 = torch.uint8
    layer.register_parameter("w13_weight", P(torch.randint(0, 256, (experts, 2 * inter, hidden // 2), dtype=u8,
                                                           device=dev)))
    layer.register_parameter("w13_weight_scale", P(torch.randint(scale_min, scale_max + 1,
                                                                 (experts, 2 * inter, hidden // 32), dtype=u8,
                                                                 device=dev)))
    layer.register_parameter("w2_weight", P(torch.randint(0, 256, (experts, hidden, inter // 2), dtype=u8, device=dev)))
    layer.register_parameter("w2_weight_scale", P(torch.randint(scale_min, scale_max + 1,
                                                                (experts, hidden, inter // 32), dtype=u8, device=dev)))
    layer.register_parameter("w13_bias", P(torch.randn(experts, 2 * inter, dtype=torch.bfloat16, device=dev) * 0.01))
    layer.register_parameter("w2_bias", P(torch.randn(experts, hidden, dtype=torch.bfloat16, device=dev) * 0.01))
    layer.params_dtype = torch.bfloat16
    layer.num_experts = experts
    return layer


def convert(torch, api, layer):
    """GptOssMxfp4MoEMethod._setup_kernel's conversion and get_fused_moe_quant_config for the TRITON backend.
    Returns (w13, w2, quant_config, how)."""
    w13, w2 = layer.w13_weight, layer.w2_weight
    w13_s, w2_s = layer.w13_weight_scale, layer.w2_weight_scale
    w13_b, w2_b = layer.w13_bias, layer.w2_bias
    if api.oracle is not None:
        try:
            cw13, cw2, pc13, pc2, b13, b2 = api.oracle.convert_gpt_oss_weight_to_mxfp4_moe_kernel_format(
                mxfp4_backend=api.backend, layer=layer, w13_weight=w13, w2_weight=w2, w13_weight_scale=w13_s,
                w2_weight_scale=w2_s, w13_bias=w13_b, w2_bias=w2_b, _cache_permute_indices={})
            how = "convert_gpt_oss_weight_to_mxfp4_moe_kernel_format(TRITON)"
            try:
                qc = api.oracle.make_mxfp4_moe_quant_config(
                    mxfp4_backend=api.backend, w1_scale=pc13, w2_scale=pc2, w1_bias=b13, w2_bias=b2,
                    gemm1_alpha=1.702, gemm1_beta=1.0, swiglu_limit=7.0, layer=layer)
                how += " + make_mxfp4_moe_quant_config(TRITON)"
            except Exception as e:  # noqa: BLE001
                log("make_mxfp4_moe_quant_config failed (%r); calling mxfp4_w4a16_moe_quant_config" % (e,))
                from vllm.model_executor.layers.fused_moe.config import mxfp4_w4a16_moe_quant_config
                qc = mxfp4_w4a16_moe_quant_config(w1_scale=pc13, w2_scale=pc2, w1_bias=b13, w2_bias=b2,
                                                  gemm1_alpha=1.702, gemm1_beta=1.0, gemm1_clamp_limit=7.0)
                how += " + mxfp4_w4a16_moe_quant_config"
            return cw13, cw2, qc, how
        except Exception as e:  # noqa: BLE001
            log("convert_gpt_oss_weight_to_mxfp4_moe_kernel_format failed (%r); using the fallback" % (e,))
            traceback.print_exc()
            sys.stderr.flush()
    # Fallback: the oracle's TRITON_BACKENDS branch, line for line, on vLLM's own _swizzle_mxfp4.
    from vllm.model_executor.layers.quantization.utils.mxfp4_utils import _swizzle_mxfp4
    from vllm.model_executor.layers.fused_moe.config import mxfp4_w4a16_moe_quant_config
    from triton_kernels.matmul_ogs import FlexCtx, PrecisionConfig
    b13 = w13_b.to(torch.float32)
    b2 = w2_b.to(torch.float32)
    cw13, f13, s13 = _swizzle_mxfp4(w13, w13_s)
    cw2, f2, s2 = _swizzle_mxfp4(w2, w2_s)
    pc13 = PrecisionConfig(weight_scale=s13, flex_ctx=FlexCtx(rhs_data=f13))
    pc2 = PrecisionConfig(weight_scale=s2, flex_ctx=FlexCtx(rhs_data=f2))
    qc = mxfp4_w4a16_moe_quant_config(w1_scale=pc13, w2_scale=pc2, w1_bias=b13, w2_bias=b2,
                                      gemm1_alpha=1.702, gemm1_beta=1.0, gemm1_clamp_limit=7.0)
    return cw13, cw2, qc, "fallback: _swizzle_mxfp4 + PrecisionConfig/FlexCtx + mxfp4_w4a16_moe_quant_config"


def layout_names(w13, qc):
    out = {}
    try:
        out["w13_layout"] = type(w13.storage.layout).__name__
    except Exception:  # noqa: BLE001
        pass
    try:
        out["w13_scale_layout"] = type(qc.w1_precision.weight_scale.storage.layout).__name__
    except Exception:  # noqa: BLE001
        pass
    try:
        out["w13_shape"] = [int(v) for v in w13.shape]
    except Exception:  # noqa: BLE001
        pass
    return out


def router_logits(torch, dist, n, experts, topk, dev):
    """(bf16 router logits [n, E], the top-k ids they give [n, k] as a torch tensor)."""
    if dist == "balanced":
        ids = torch.tensor(balanced_ids_rows(n, experts, topk), dtype=torch.int64, device=dev)
        logits = torch.full((n, experts), BALANCED_LO, dtype=torch.bfloat16, device=dev)
        logits.scatter_(1, ids, BALANCED_HI)
        got = torch.topk(logits.float(), topk, dim=-1).indices
        if not torch.equal(got.sort(dim=-1).values, ids.sort(dim=-1).values):
            raise RuntimeError("balanced logits do not give balanced_ids' top-k")
        return logits, ids
    if dist == "concentrated":
        ids = torch.arange(topk, dtype=torch.int64, device=dev).unsqueeze(0).expand(n, topk).contiguous()
        logits = torch.full((n, experts), BALANCED_LO, dtype=torch.bfloat16, device=dev)
        logits.scatter_(1, ids, BALANCED_HI)
        return logits, ids
    logits = torch.randn(n, experts, dtype=torch.bfloat16, device=dev)
    return logits, torch.topk(logits.float(), topk, dim=-1).indices


def make_call(torch, api, dist, n, hidden, experts, topk, w13, w2, qc, dev):
    """(a no-argument call of triton_kernel_moe_forward on n random tokens, as OAITritonMxfp4ExpertsMonolithic.apply
    makes it for gpt-oss, with its inputs bound; the top-k ids the router logits give)."""
    x = torch.randn(n, hidden, dtype=torch.bfloat16, device=dev)
    logits, ids = router_logits(torch, dist, n, experts, topk, dev)

    def call():
        return api.forward(hidden_states=x, w1=w13, w2=w2, gating_output=logits, topk=topk, renormalize=True,
                           quant_config=qc, apply_router_weight_on_input=False, global_num_experts=experts,
                           expert_map=None)
    return call, ids


def time_calls(torch, call, warmup, runs, graph):
    for _ in range(warmup):
        call()
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    if graph:
        # The calls captured in one CUDA graph and replayed: the GPU's time alone, as vLLM's decode steps run it.
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(runs):
                call()
        g.replay()
        torch.cuda.synchronize()
        e0.record()
        g.replay()
        e1.record()
        torch.cuda.synchronize()
        t = e0.elapsed_time(e1) * 1000.0 / runs
        del g
        return t
    e0.record()
    for _ in range(runs):
        call()
    e1.record()
    torch.cuda.synchronize()
    return e0.elapsed_time(e1) * 1000.0 / runs


def cuda_ok(torch):
    try:
        torch.cuda.synchronize()
        torch.zeros(1, device="cuda").add_(1).item()
        return True
    except Exception:  # noqa: BLE001
        return False


def run(a):
    t_start = time.time()
    try:
        import torch
        import vllm
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        with open(a.out, "w") as f:
            json.dump({"what": "probe/vllm/mxfp4_bench.py could not import torch/vllm", "dtype": DTYPE,
                       "moe": [], "moe_routing": [], "errors": [{"stage": "import", "error": repr(e)}]}, f, indent=1)
        log("could not import torch/vllm: %r" % (e,))
        return 1
    shapes = parse_shapes(a.shapes)
    tokens = parse_tokens(a.tokens)
    dev = a.device
    torch.cuda.set_device(dev)
    cap = torch.cuda.get_device_capability(dev)
    out = {"what": "vLLM %s MXFP4 fused MoE (gpt-oss, Mxfp4MoeBackend.TRITON: triton_kernel_moe_forward, "
                   "OAI triton_kernels) timed by probe/vllm/mxfp4_bench.py: %s routing (%s; top-k then softmax "
                   "over the k, renormalize=True), mean of %d calls after %d warm-up calls, %s" % (
                       vllm.__version__, a.distribution, ROUTING_WHAT[a.distribution], a.runs, a.warmup,
                       "replayed from one CUDA graph" if a.graph else "no CUDA graph"),
           "vllm": vllm.__version__, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(dev),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "dtype": DTYPE, "routing": ROUTING[a.distribution], "distribution": a.distribution,
           "graph": bool(a.graph), "device_capability": list(cap),
           "weights": "random packed FP4 bytes, E8M0 scales uniform in [%d, %d], bf16 biases N(0, 0.01^2), seed %d"
                      % (a.scale_min, a.scale_max, a.seed),
           "moe": [], "moe_routing": [], "errors": []}
    if tuple(cap) != (9, 0):
        log("warning: device capability %s is not SM90; vLLM's layouts and opt flags differ there" % (cap,))

    def dump(extra_moe=None, extra_routing=None):
        snap = dict(out)
        snap["moe"] = out["moe"] + ([extra_moe] if extra_moe and extra_moe["tokens"] else [])
        snap["moe_routing"] = out["moe_routing"] + (
            [extra_routing] if extra_routing and extra_routing["tokens"] else [])
        snap["elapsed_s"] = round(time.time() - t_start, 1)
        with open(a.out, "w") as f:
            json.dump(snap, f, indent=1)

    try:
        api = Api(torch)
        out.update(api.notes)
        log("triton_kernels from %s, legacy API %s, monolithic supports device: %s" % (
            api.notes.get("triton_kernels_file"), api.notes.get("use_legacy_triton_kernels"),
            api.notes.get("monolithic_supports_current_device")))
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        out["errors"].append({"stage": "import", "error": repr(e)})
        log("could not import vLLM's MXFP4 MoE path: %r" % (e,))
        dump()
        return 1
    dump()

    broken = False
    for (hidden, inter, topk, experts) in shapes:
        shape = (hidden, inter, topk, experts)
        if time.time() - t_start > a.budget:
            log("out of time before %s" % (shape,))
            break
        torch.manual_seed(a.seed)
        keys = {"hidden": hidden, "inter": inter, "topk": topk, "experts": experts, "tp": 1, "ep": 1}
        try:
            (H, I), how_pad = api.padded_sizes(hidden, inter)
            layer = make_layer_and_weights(torch, experts, H, I, dev, a.scale_min, a.scale_max)
            w13, w2, qc, how = convert(torch, api, layer)
            torch.cuda.synchronize()
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            sys.stderr.flush()
            out["errors"].append(dict(keys, distribution=a.distribution, dtype=DTYPE, routing=ROUTING[a.distribution],
                                      stage="weights", error=repr(e)[:2000]))
            log("%s: weight preparation failed: %r" % (shape, e))
            layer = w13 = w2 = qc = None
            torch.cuda.empty_cache()
            if not cuda_ok(torch):
                log("CUDA context unusable; stopping")
                break
            dump()
            continue
        extra = {"conversion": how, "padded": [H, I], "padding": how_pad}
        extra.update(layout_names(w13, qc))
        log("%dx%d top-%d of %d: %s, padded to %dx%d, %s" % (hidden, inter, topk, experts, how, H, I,
                                                           {k: v for k, v in extra.items() if "layout" in k}))
        row = dict(keys, distribution=a.distribution, tokens=[], us=[], dtype=DTYPE, routing=ROUTING[a.distribution])
        row_routing = {"experts": experts, "topk": topk, "ep": 1, "distribution": a.distribution, "tokens": [],
                       "hits": [], "pairs": [], "dtype": DTYPE, "routing": ROUTING[a.distribution]}
        if (H, I) != (hidden, inter):
            row["padded"] = [H, I]
        out.setdefault("conversions", []).append(dict(keys, **extra))
        nonfinite = []
        for n in tokens:
            if time.time() - t_start > a.budget:
                log("%s: out of time before %d tokens" % (shape, n))
                break
            call, ids, stage = None, None, "inputs"
            try:
                call, ids = make_call(torch, api, a.distribution, n, H, experts, topk, w13, w2, qc, dev)
                stage = "first call"
                y = call()
                torch.cuda.synchronize()
                if tuple(y.shape) != (n, H):
                    raise RuntimeError("output shape %s, want %s" % (tuple(y.shape), (n, H)))
                if not bool(torch.isfinite(y).all()):
                    nonfinite.append(n)
                y = None
                stage = "timing"
                t = time_calls(torch, call, a.warmup, a.runs, a.graph)
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                sys.stderr.flush()
                err = dict(keys, distribution=a.distribution, dtype=DTYPE, routing=ROUTING[a.distribution], tokens=n,
                           stage=stage, error=repr(e)[:2000])
                log("%s at %d tokens failed: %r" % (shape, n, e))
                if not cuda_ok(torch):
                    out["errors"].append(err)
                    log("CUDA context unusable; stopping")
                    broken = True
                    break
                if a.graph and stage == "timing":
                    # Keep something: the same calls launched one by one (host work included), outside the us list.
                    try:
                        torch.cuda.empty_cache()
                        err["eager_us"] = round(time_calls(torch, call, a.warmup, a.runs, False), 2)
                    except Exception as e2:  # noqa: BLE001
                        err["eager_error"] = repr(e2)[:500]
                out["errors"].append(err)
                torch.cuda.empty_cache()
                dump(row, row_routing)
                continue
            row["tokens"].append(n)
            row["us"].append(round(t, 2))
            row_routing["tokens"].append(n)
            row_routing["hits"].append(float(len(set(ids.flatten().tolist()))))
            row_routing["pairs"].append(float(n * topk))
            log("%dx%d top-%d of %d, %d tokens: %.2f us" % (hidden, inter, topk, experts, n, t))
            call = ids = None
            dump(row, row_routing)
        if nonfinite:
            row["nonfinite_tokens"] = nonfinite
            log("%s: non-finite outputs at %s tokens (weights random; timing unaffected)" % (shape, nonfinite))
        log("%dx%d top-%d of %d: %s" % (hidden, inter, topk, experts,
                                        ", ".join("%d:%.1f" % (n, u) for n, u in zip(row["tokens"], row["us"]))))
        if row["tokens"]:
            out["moe"].append(row)
            out["moe_routing"].append(row_routing)
        del layer, w13, w2, qc
        torch.cuda.empty_cache()
        dump()
        if broken:
            break
    dump()
    log("wrote %s in %.0f s (%d rows, %d errors)" % (a.out, time.time() - t_start, len(out["moe"]),
                                                     len(out["errors"])))
    return 0


def main(argv=None):
    ap = build_parser()
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest()
    if not a.out:
        ap.error("--out is required (unless --selftest)")
    if not (0 <= a.scale_min <= a.scale_max <= 254):
        ap.error("--scale-min/--scale-max must satisfy 0 <= min <= max <= 254 (255 is E8M0 NaN)")
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
