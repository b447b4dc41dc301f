import Foundation

/// How a layer attends: grouped-query attention, or DeepSeek's multi-head latent attention (MLA).
public enum AttentionKind: Sendable, Equatable {
    /// Standard multi-head / grouped-query attention with `kvHeads` key-value heads.
    case gqa
    /// Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds a compressed latent of
    /// `kvLoraRank + qkRopeHeadDim` values per token and layer, shared by all heads.
    case mla(qLoraRank: Int?, kvLoraRank: Int, qkNopeHeadDim: Int, qkRopeHeadDim: Int, vHeadDim: Int)
}

/// The feed-forward block of one decoder layer.
public struct FFNSpec: Sendable, Equatable {
    /// Dense gated MLP width (0 when the layer is MoE only).
    public var denseIntermediate: Int
    /// Number of routed experts (0 for a dense layer).
    public var experts: Int
    public var topK: Int
    public var expertIntermediate: Int
    /// Total width of the always-on shared expert(s) (0 when none).
    public var sharedIntermediate: Int
    public var isMoE: Bool { experts > 0 }
}

/// A transformer architecture, read from a Hugging Face `config.json`.
///
/// Families understood: Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, Llama/Mistral/Qwen2 (dense), DeepSeek-V2/V3 (MLA,
/// shared experts, leading dense layers), LLaDA (dense diffusion), LLaDA-MoE and gpt-oss. Activations are bf16
/// (`bytesPerParam`, 2 bytes); weights are bf16 unless `quantization` says otherwise, the KV cache `kvCacheBytes`.
public struct ModelArchitecture: Sendable, Equatable {
    public var name: String
    public var family: String
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocab: Int
    public var tieEmbeddings: Bool
    public var attention: AttentionKind
    public var qkvBias: Bool
    /// RMS norms on the queries and keys before the rotary embedding (OLMoE over the full width, Qwen3 per head).
    public var qkNorm: Bool = false
    /// A sigmoid gate scales the shared expert's output (Qwen1.5/Qwen2-MoE's `shared_expert_gate`).
    public var sharedExpertGate: Bool = false
    /// The FFN of each layer, `layers` entries.
    public var ffn: [FFNSpec]
    /// Diffusion language models attend bidirectionally and keep no KV cache.
    public var isDiffusion: Bool
    public var maxPositions: Int
    public let bytesPerParam: Double = 2
    /// How the weights are stored (`quantization_config` or `--quantization`).
    public var quantization: Quantization = .none
    /// Bytes per KV-cache element (`--kv-cache-dtype`: 2 for auto/bf16, 1 for fp8).
    public var kvCacheBytes: Double = 2
    /// Sliding-window attention: the window in tokens and how many layers attend through it, as vLLM 0.24 decides
    /// from the config (`slidingWindowLayers` in HFConfig.swift: gpt-oss alternates them with full attention,
    /// Mistral-7B-v0.1 slides every layer); 0 and 0 when every layer attends to the whole context.
    public var slidingWindow = 0, slidingLayers = 0
    /// Which layers attend through the window (`layers` flags, `slidingLayers` of them true; empty when none does):
    /// what places each pipeline stage's layers in vLLM's KV cache groups (`kvCacheGroupLayers`).
    public var slidingLayerFlags: [Bool] = []
    /// What moesim's KV cache accounting leaves out of vLLM 0.24's for this model, for a run's notes (nil when nothing):
    /// Llama 4's chunked local attention, counted as full attention; a model whose every layer slides, whose
    /// requests the engine charges the whole context's blocks.
    public var kvCacheCaveat: String? = nil

    /// Whether vLLM 0.24 runs this model with its second model runner (`vllm/v1/worker/gpu/model_runner.py`): the
    /// default for Qwen3ForCausalLM, DeepseekV2ForCausalLM, Qwen2MoeForCausalLM, LlamaForCausalLM and
    /// MistralForCausalLM (`DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES`, config/vllm.py), as the start-up logs of
    /// DeepSeek-V2-Lite, Qwen1.5-MoE and Llama-3.1-8B show. Its memory profiling subtracts no CUDA-graph estimate and
    /// runs the sampler without top-k/top-p (`Deployment.reserveGB`).
    public var vllmModelRunnerV2: Bool { ["qwen3", "deepseek_v2", "qwen2_moe", "llama", "mistral"].contains(family) }
    /// Whether vLLM 0.24's code for this family runs its MoE layers sequence-parallel when the parallel config asks
    /// for it (`use_sequence_parallel_moe`: DeepseekV2/V3 and Kimi-K2 through deepseek_v2.py, Qwen3-MoE, Qwen3-Next,
    /// gpt-oss, Llama 4, Granite-MoE); Mixtral, OLMoE and Qwen2-MoE do not (`StepCostModel.sequenceParallelMoE`).
    public var vllmSequenceParallelMoE: Bool {
        isMoE && ["deepseek_v2", "deepseek_v3", "kimi_k2", "qwen3_moe", "qwen3_next", "gpt_oss", "llama4", "llama4_text", "granitemoe"].contains(family)
    }
    /// Bytes per routed-expert weight and per other linear-layer weight; embeddings, norms and routers stay bf16.
    public var expertBytesPerParam: Double { quantization.expertBytes }
    /// Bytes per routed-expert weight as vLLM 0.24 holds them (`Quantization.vllmResidentExpertBytes`) on a GPU of a
    /// plan: expert parallelism keeps whole experts, tensor parallelism splits each one's intermediate.
    public func vllmExpertBytesPerParam(tensorParallel tp: Int, expertParallel ep: Bool) -> Double {
        guard let f = ffn.first(where: { $0.isMoE }) else { return expertBytesPerParam }
        return quantization.vllmResidentExpertBytes(hidden: hidden, intermediate: max(1, f.expertIntermediate / (ep ? 1 : max(tp, 1))))
    }
    public var linearBytesPerParam: Double { quantization.linearBytes }

    public var moeLayerCount: Int { ffn.reduce(0) { $0 + ($1.isMoE ? 1 : 0) } }
    /// The first MoE layer's spec (all MoE layers of the supported families are alike).
    public var moe: FFNSpec? { ffn.first(where: { $0.isMoE }) }

    /// Activation bytes on one GPU of `plan` at the peak of vLLM's memory-profiling forward of `tokens` tokens a
    /// rank (one layer's largest live tensors, bf16): the fused-MoE caches (top-k x (gate/up 2I + down input I +
    /// output H)) or the dense MLP's (2I + I), plus four hidden-sized buffers (residual, normed input, attention
    /// output, layer output). The fused-MoE caches are sized as vLLM 0.24's modular kernels size them
    /// (`TritonExperts.workspace_shapes`: M x top-k x the expert's width on this GPU, and the M x H output, with no
    /// chunking), where M is the tokens the MoE layer runs on. With DP > 1 every DP rank's tokens are gathered into
    /// each MoE layer (`dispatch`; the profiling forward runs `tokens` on every rank), so M is DP x `tokens`; the
    /// experts are 1/`moeShardGPUs` wide (whole under EP, 1/(TP x DP) without it). Under DeepEP M is the tokens a rank
    /// receives, at most that: taken at the bound. The dense MLP, the shared experts and the hidden buffers stay on
    /// the rank's own tokens, TP-sharded.
    public func activationBytes(tokens: Double, plan: ParallelPlan) -> Double {
        let tp = Double(max(plan.tensorParallel, 1)), shard = Double(max(plan.moeShardGPUs, 1))
        let gathered = tokens * Double(max(plan.dataParallel, 1))
        var worst = 0.0
        for f in ffn {
            let moe = f.isMoE ? gathered * Double(f.topK) * (3 * Double(f.expertIntermediate) / shard + Double(hidden)) : 0
            let dense = tokens * 3 * Double(max(f.denseIntermediate, f.sharedIntermediate)) / tp
            worst = max(worst, moe + dense)
        }
        return 2 * (worst + tokens * 4 * Double(hidden))
    }
    public var isMoE: Bool { moe != nil }

    /// Operations layer `l` runs from the host per forward when nothing is captured in a CUDA graph (vLLM 0.24's model
    /// code, tensor parallelism 1), each a module or custom-op call and the kernel(s) it launches: what the host time of
    /// a step run without CUDA graphs follows, one operation at a time. Counted from vLLM 0.24.0's model files and
    /// layers, the uncertain pieces checked with PyTorch's profiler on an H200 (2026-12-04; docs/internals.md):
    /// - attention: input norm, QKV GEMM (bias fused), rotary embedding, KV-cache write, attention, output GEMM,
    ///   post-attention norm (7); q/k norms 2 more; MLA: the query projection (or the query's down-projection, its
    ///   norm and up-projection), the KV down-projection and its norm, the rotary embedding, the cache write, the
    ///   absorbed attention (a batched GEMM either side), output GEMM and norm (11);
    /// - dense MLP: gate/up GEMM, activation, down GEMM (3);
    /// - fused MoE: router GEMM, top-k (2 kernels when the expert count is not a power of two; DeepSeek's compiled
    ///   grouped top-k 6), block alignment (2 beyond 64 experts), the two expert GEMMs, activation, the top-k sum and
    ///   the output copy (8 for Mixtral); shared experts: their MLP and the add (4), with Qwen's sigmoid gate 3 more.
    /// Mixtral 15, OLMoE 17, Qwen3-MoE 18, Qwen1.5-MoE 23, DeepSeek-V2-Lite 28 (its dense first layer 14), Llama 10.
    public func hostOps(layer l: Int) -> Int {
        var n: Int
        switch attention {
        case .gqa:
            n = 7 + (qkNorm ? 2 : 0)
        case .mla(let qLora, _, _, _, _):
            n = 11 + (qLora != nil ? 2 : 0)
        }
        guard let f = hostFFN(l) else { return n }
        n += fusedMoEOps(layer: l) + sharedExpertHostOps(layer: l)
        if f.denseIntermediate > 0 { n += 3 }
        return n
    }

    /// The shared experts' operations of layer `l` (their MLP and the add, 4; with Qwen's sigmoid gate 3 more; 0 for a
    /// layer without shared experts beside routed ones). vLLM 0.24 runs them inside the fused MoE's custom op
    /// (`SharedFusedMoE`, `vllm::moe_forward_shared`), so a profile may price them with the layer's fused MoE.
    public func sharedExpertHostOps(layer l: Int) -> Int {
        guard let f = hostFFN(l), f.isMoE, f.sharedIntermediate > 0 else { return 0 }
        return 4 + (sharedExpertGate ? 3 : 0)
    }

    /// Decoder layers whose fused MoE also runs shared experts (`vllm::moe_forward_shared`; a layer has shared-expert
    /// operations only beside routed experts).
    public var sharedMoELayers: Int { sumOverLayers { sharedExpertHostOps(layer: $0) > 0 ? 1 : 0 } }

    /// `sharedExpertHostOps` over every layer.
    public var sharedExpertHostOpsTotal: Int { sumOverLayers(sharedExpertHostOps) }

    /// The operations of layer `l`'s fused MoE (router GEMM, top-k, block alignment, the two expert GEMMs,
    /// activation, top-k sum, output copy; 0 for a layer without routed experts): in vLLM one custom op,
    /// `vllm::moe_forward`, whose own Python is the dearest host item of a step without CUDA graphs (PyTorch's profiler,
    /// 2026-12-04), so a profile may price the layer's fused MoE as one (`eager_moe_host_us`) instead of per operation.
    public func fusedMoEOps(layer l: Int) -> Int {
        guard let f = hostFFN(l), f.isMoE else { return 0 }
        let deepseekRouting = family.hasPrefix("deepseek") || family == "kimi_k2"
        let topk = deepseekRouting ? 6 : (f.experts & (f.experts - 1) == 0 ? 1 : 2)
        return 1 + topk + (f.experts > 64 ? 2 : 1) + 5
    }

    /// The elementwise kernels (norms, rotary embedding, activations, gates: everything that is not a GEMM, attention
    /// or the fused MoE) layer `l` runs in vLLM 0.24's compiled graph, and the activation bytes they move per token on
    /// a GPU at tensor parallelism `tp`. Counted from vLLM 0.24.0's own decode steps profiled kernel by kernel on an
    /// H200 (2026-12-04, probe/results/2026-12-04-h200-vllm-{g,j,l}; `probe/vllm/elementwise.py` prints the counts):
    /// - two fused residual-add + RMS norm kernels (before attention and before the FFN), each reading and writing the
    ///   hidden state and the residual;
    /// - the attention side's rotary and reshape kernels: two for GQA (Llama, Mixtral, gpt-oss, Qwen3 with its
    ///   per-head q/k norm), one for OLMoE (its full-width q/k norm takes the rotary in), none for Qwen2-MoE (fused
    ///   into its norm's kernel there, as profiled; gpt-oss's QKV bias does not do that); four for MLA (the latent KV
    ///   norm, two casts, the rotary), which the measured MLA module rows already hold (`includingMLA` false);
    /// - the SiLU-and-multiply of a dense MLP or shared experts (one), and Qwen's sigmoid gate on the shared experts
    ///   (two). The fused MoE's own activation is in its kernel.
    /// Measured per layer: Llama-3.1-8B 4.9, Mixtral 4.0, gpt-oss-20b 4.0, Qwen3-30B-A3B 4.0, OLMoE 2.9,
    /// Qwen1.5-MoE 5.0, DeepSeek-V2-Lite 6.7 (its dense first layer has no shared experts).
    public func elementwiseKernels(layer l: Int, tensorParallel tp: Int = 1, includingMLA: Bool = true) -> (kernels: Int, bytesPerToken: Double) {
        let h = Double(hidden), tpD = Double(max(tp, 1)), b = bytesPerParam
        var k = 2, bytes = 2 * 4 * h * b
        switch attention {
        case .gqa:
            let side = family.hasPrefix("qwen2") ? 0 : (family == "olmoe" ? 1 : 2)
            k += side
            if side > 0 { bytes += 2 * b * Double(max(1, heads / max(tp, 1)) + max(1, kvHeads / max(tp, 1))) * Double(headDim) }
        case let .mla(_, kvLora, nope, rope, _):
            if includingMLA {
                k += 4
                bytes += 2 * b * (Double(max(1, heads / max(tp, 1)) * (nope + rope)) + Double(kvLora + rope))
            }
        }
        if let f = hostFFN(l) {
            let mlp = f.denseIntermediate > 0 ? f.denseIntermediate : (f.isMoE ? f.sharedIntermediate : 0)
            if mlp > 0 { k += 1; bytes += 3 * b * Double(mlp) / tpD }
            if f.isMoE && f.sharedIntermediate > 0 && sharedExpertGate { k += 2; bytes += 2 * b * h }
        }
        return (k, bytes)
    }

    /// vLLM 0.24 routes this model's experts with its grouped top-k as PyTorch operations (two torch.topk calls and a
    /// fused softmax per MoE layer): DeepSeek-V2's routing (DeepSeek-V2 and V2-Lite: grouped top-k without the
    /// score-correction bias that vLLM's fused grouped top-k kernel needs; DeepSeek-V3/R1 and Kimi-K2 have the bias).
    /// Seen in vLLM 0.24.0's profiled DeepSeek-V2-Lite steps (probe/results/2026-12-04-h200-vllm-k).
    public var torchGroupedTopK: Bool { family == "deepseek_v2" && isMoE }

    /// Layer `l`'s FFN for the host-operation counts (the nearest layer's for an index out of range; nil for a model
    /// without FFN entries).
    private func hostFFN(_ l: Int) -> FFNSpec? { ffn.isEmpty ? nil : ffn[min(max(l, 0), ffn.count - 1)] }

    /// Decoder layers with routed experts (one fused-MoE call each per forward).
    public var moeLayers: Int { sumOverLayers { fusedMoEOps(layer: $0) > 0 ? 1 : 0 } }

    /// Operations a step's attention runs from the host beyond those `hostOps` counts, by what the step holds: vLLM
    /// 0.24's MLA layer (`MLAAttention.forward_impl`) runs the prompt tokens through one path (`forward_mha`: the
    /// KV up-projection GEMM, the K concatenation, the attention, the output copy: 4) and the decode tokens through
    /// the absorbed one (`forward_mqa`: a batched GEMM either side of the attention: 3), each only when the step has
    /// such tokens, while `hostOps` counts the absorbed path alone. A step with prompt chunks therefore runs 1 more
    /// operation a layer, and one with prompt chunks and decodes 4 more. This is host work between a piecewise graph's
    /// pieces as well as in a step without graphs. GQA's attention is one call whatever the step holds (0).
    public func extraAttentionHostOps(decodes: Bool, prompts: Bool) -> Int {
        guard case .mla = attention, prompts else { return 0 }
        return layers * (4 + (decodes ? 3 : 0) - 3)
    }

    /// Operations a whole forward's decoder layers run from the host without CUDA graphs (`hostOps(layer:)`).
    public var hostOps: Int { sumOverLayers(hostOps) }

    /// `hostOps` less the fused MoE's operations: what is left per operation where the fused MoE is priced per layer.
    public var hostOpsOutsideMoE: Int { sumOverLayers { hostOps(layer: $0) - fusedMoEOps(layer: $0) } }

    /// `f` of every decoder layer, summed.
    private func sumOverLayers(_ f: (Int) -> Int) -> Int { (0..<layers).reduce(0) { $0 + f($1) } }

    // MARK: parameter counts (elements, not bytes)

    /// Attention parameters of one layer (QKV, output, norms, biases).
    public var attentionParamsPerLayer: Double {
        let h = Double(hidden)
        switch attention {
        case .gqa:
            let q = Double(heads * headDim), kv = Double(kvHeads * headDim)
            var p = h * (q + 2 * kv) + q * h
            if qkvBias { p += q + 2 * kv }
            return p + 2 * h
        case let .mla(qLora, kvLora, nope, rope, v):
            let nh = Double(heads)
            var p = 0.0
            if let ql = qLora { p += h * Double(ql) + Double(ql) * nh * Double(nope + rope) + Double(ql) }
            else { p += h * nh * Double(nope + rope) }
            p += h * Double(kvLora + rope) + Double(kvLora) // kv_a proj + norm
            p += Double(kvLora) * nh * Double(nope + v)      // kv_b proj
            p += nh * Double(v) * h                          // o proj
            return p + 2 * h
        }
    }

    /// Parameters of one expert (gate, up and down projections).
    public var paramsPerExpert: Double {
        guard let m = moe else { return 0 }
        return 3 * Double(hidden) * Double(m.expertIntermediate)
    }

    /// Non-expert FFN parameters of layer `i`: dense MLP, shared experts, router.
    public func denseFFNParams(layer i: Int) -> Double {
        let f = ffn[i], h = Double(hidden)
        var p = 3 * h * Double(f.denseIntermediate) + 3 * h * Double(f.sharedIntermediate)
        if f.isMoE { p += h * Double(f.experts) }
        if f.sharedIntermediate > 0 && family == "qwen2_moe" { p += h } // shared-expert gate
        return p
    }

    public var embeddingParams: Double {
        Double(vocab) * Double(hidden) * (tieEmbeddings ? 1 : 2) + Double(hidden)
    }

    public var totalExpertParams: Double {
        ffn.reduce(0) { $0 + ($1.isMoE ? Double($1.experts) * 3 * Double(hidden) * Double($1.expertIntermediate) : 0) }
    }

    public var totalParams: Double {
        var p = embeddingParams + totalExpertParams
        for i in 0..<layers { p += attentionParamsPerLayer + denseFFNParams(layer: i) }
        return p
    }

    /// Parameters touched by one token: attention, dense parts, top-k experts, the LM head.
    public var activeParams: Double {
        var p = Double(vocab) * Double(hidden) + Double(hidden)
        for (i, f) in ffn.enumerated() {
            p += attentionParamsPerLayer + denseFFNParams(layer: i)
            if f.isMoE { p += Double(f.topK) * 3 * Double(hidden) * Double(f.expertIntermediate) }
        }
        return p
    }

    /// KV-cache elements per token per layer on one GPU holding `kvHeadsPerGPU` heads (GQA) or the latent (MLA).
    public func kvElementsPerTokenPerLayer(tensorParallel tp: Int) -> Double {
        switch attention {
        case .gqa:
            let perGPU = max(1, kvHeads / tp) // vLLM replicates KV heads when TP exceeds them
            return Double(2 * perGPU * headDim)
        case let .mla(_, kvLora, _, rope, _):
            return Double(kvLora + rope) // the latent is replicated on every TP rank
        }
    }

    /// Bytes of KV cache per token on one GPU under tensor parallelism `tp` (0 for diffusion models).
    public func kvBytesPerToken(tensorParallel tp: Int) -> Double {
        if isDiffusion { return 0 }
        return kvElementsPerTokenPerLayer(tensorParallel: tp) * Double(layers) * kvCacheBytes
    }

    /// vLLM 0.24's KV cache groups for a model mixing full and sliding-window attention (its hybrid KV cache manager,
    /// `_get_kv_cache_groups_uniform_page_size`): layers of one kind split into groups of `size` layers (the smaller
    /// kind's count, or the larger's when it is under 1.5 times the smaller, padding the last group), every group
    /// holding one block table; a block of the shared pool is `size` layers' pages. nil when every layer attends alike.
    public var kvCacheGroups: (size: Int, full: Int, sliding: Int)? {
        let sw = slidingLayers, full = layers - slidingLayers
        guard slidingWindow > 0, sw > 0, full > 0, !isDiffusion else { return nil }
        let small = min(full, sw), large = max(full, sw)
        let size = Double(large) < 1.5 * Double(small) ? large : small
        return (size, (full + size - 1) / size, (sw + size - 1) / size)
    }

    /// vLLM 0.24's KV cache groups by kind, as the engine holds blocks in them: `kvCacheGroups`' full-attention and
    /// sliding-window group counts, or one sliding-window group and no full-attention one when every layer slides
    /// (Mistral-7B-v0.1: vLLM makes one group of its uniform specs); nil when no layer slides.
    public var kvGroupKinds: (full: Int, sliding: Int)? {
        if let g = kvCacheGroups { return (g.full, g.sliding) }
        return slidingWindow > 0 && slidingLayers == layers ? (0, 1) : nil
    }

    /// The largest CUDA-graph capture size vLLM 0.24 sets for this architecture in place of its default
    /// (min(2 x max_num_seqs, 512)): gpt-oss's 1024 (`GptOssForCausalLMConfig.verify_and_update_config`, "for
    /// performance"); nil for the others.
    public var vllmCaptureMaxTokens: Int? { family == "gpt_oss" ? 1024 : nil }

    /// Bytes per token of context that the KV cache pool gives up on one GPU: every layer's, or with sliding-window
    /// layers (`kvCacheGroups`) the full-attention groups' (a sliding-window group holds only the last window of a
    /// sequence, which the engine counts per sequence).
    public func kvPoolBytesPerToken(tensorParallel tp: Int) -> Double {
        guard let g = kvCacheGroups else { return kvBytesPerToken(tensorParallel: tp) }
        return kvElementsPerTokenPerLayer(tensorParallel: tp) * Double(g.full * g.size) * kvCacheBytes
    }

    /// The layers of each of vLLM 0.24's KV cache groups (`kvCacheGroups`), full-attention groups first: each kind's
    /// layers in order, dealt to that kind's groups in turn, group i holding layers[i::groups], so that a pipeline
    /// stage's layers spread over the groups (`_get_kv_cache_groups_uniform_page_size`). nil without groups, or when
    /// `slidingLayerFlags` does not name `slidingLayers` of `layers` layers (an architecture changed in code).
    public var kvCacheGroupLayers: [[Int]]? {
        guard let g = kvCacheGroups, slidingLayerFlags.count == layers,
              slidingLayerFlags.reduce(0, { $0 + ($1 ? 1 : 0) }) == slidingLayers else { return nil }
        var groups: [[Int]] = []
        for (slides, count) in [(false, g.full), (true, g.sliding)] {
            let kind = (0..<layers).filter { slidingLayerFlags[$0] == slides }
            for i in 0..<count { groups.append(stride(from: i, to: kind.count, by: count).map { kind[$0] }) }
        }
        return groups
    }

    /// `kvPoolBytesPerToken` for the pipeline stage holding layers `stage`. vLLM 0.24 groups the whole model's layers
    /// (`get_kv_cache_configs` merges every stage's specs before `get_kv_cache_groups`) and projects the groups onto
    /// each stage (`_project_kv_cache_groups_to_worker`); a stage's block is one page of as many layers as its largest
    /// projected group (`get_kv_cache_config_from_groups`), and every stage gets the fewest blocks any stage holds. So
    /// with sliding-window layers a stage gives up the full-attention groups' count times that largest share a token,
    /// not its share of the whole model's pool: gpt-oss-120b at PP 4 (9 layers a stage, 5 of one kind and 4 of the
    /// other) pays 5 layers where the share is 4.5. Without groups (or without per-layer flags), the stage's share.
    public func kvPoolBytesPerToken(tensorParallel tp: Int, stage: Range<Int>) -> Double {
        guard let g = kvCacheGroups, let groups = kvCacheGroupLayers else {
            return kvPoolBytesPerToken(tensorParallel: tp) * (Double(stage.count) / Double(layers))
        }
        let largest = groups.map { $0.filter(stage.contains).count }.max() ?? 0
        return kvElementsPerTokenPerLayer(tensorParallel: tp) * Double(g.full * largest) * kvCacheBytes
    }
}
