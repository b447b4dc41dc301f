import Foundation
import Cluster

/// What Transformers' own multi-GPU plans do to one decoder layer, per model family: which parts are sharded and
/// which are replicated, the collectives each layer issues, and how many DTensor hooks the host runs.
///
/// Read off Transformers 5.17 (`base_model_tp_plan` / `base_model_ep_plan` of each config class and the styles in
/// `transformers/distributed/tensor_parallel.py`), and checked against the plans the runs on 2x H200 recorded
/// (`probe/results/2026-11-29-h200x2/hf/frag-*.json`, key `plan`):
/// - `tp_size = P` (what `tp_plan="auto"` selects): q/k/v `colwise` and o_proj `rowwise` take a local fast path
///   (no DTensor) with one all-reduce after o_proj; OLMoE instead gathers q, k and v (`colwise_gather_output`,
///   three all-gathers through DTensor, because of its q/k norms) and splits o_proj's input (`rowwise_split_input`,
///   a DTensor redistribute, then the all-reduce). Experts are sharded along their width (`packed_colwise` /
///   `rowwise`, the module wrapped by `moe_tp_experts`, which swaps in local parameters and all-reduces the output),
///   except where the family's plan names no experts (Qwen2-MoE: every GPU holds and runs all of them, and the
///   shared expert, replicated). DeepSeek's plan shards no attention. The LM head is `colwise_gather_output`: the
///   vocabulary is sharded and the logits all-gathered.
/// - `enable_expert_parallel` (`base_model_ep_plan`): only the router (`ep_router`: masks non-local experts to a
///   sentinel) and the experts (`grouped_gemm`: the expert dimension sharded, E/P per GPU) are in the plan, so
///   attention, the shared experts and the LM head are replicated: every GPU runs them on every token. Each GPU runs
///   its local experts on the tokens routed to them (grouped_mm skips the sentinel rows), then one all-reduce sums
///   the partial outputs. batched_mm has no way to skip the sentinels: it computes all t x k pairs on every GPU
///   (Transformers' own comment). The eager loop fails under EP in 5.17 (`one_hot` without the sentinel class: seen
///   on the H200 pair, `hf/x2d-log-2.txt`), so moesim refuses it.
public struct HFParallelLayout: Sendable, Equatable {
    public enum Attention: String, Sendable { case replicated, localColwiseRowwise, gatheredOutputs }
    public enum Experts: String, Sendable { case whole, replicated, shardedWidth, shardedExperts }

    public let gpus: Int
    public let expertParallel: Bool
    public let attention: Attention
    public let experts: Experts
    public let sharedExpertsSharded: Bool
    public let lmHeadSharded: Bool

    public init(family: String, plan: ParallelPlan) throws {
        gpus = plan.gpuCount
        expertParallel = plan.expertParallel
        guard plan.dataParallel == 1 else {
            throw InputError.usage("--engine hf: Transformers runs one model over its GPUs (DistributedConfig(tp_size=N)); '--data-parallel-size' does not apply (got \(plan.dataParallel)); use --tensor-parallel-size N [--enable-expert-parallel]")
        }
        if gpus == 1 {
            attention = .replicated; experts = .whole; sharedExpertsSharded = false; lmHeadSharded = false
            return
        }
        let f = family.lowercased()
        if plan.expertParallel {
            attention = .replicated; experts = .shardedExperts; sharedExpertsSharded = false; lmHeadSharded = false
            return
        }
        switch f {
        case "olmoe": attention = .gatheredOutputs
        case "deepseek_v2": attention = .localColwiseRowwise
        case "deepseek_v3": attention = .replicated
        default: attention = .localColwiseRowwise
        }
        experts = f == "qwen2_moe" ? .replicated : .shardedWidth
        sharedExpertsSharded = f.hasPrefix("deepseek")
        lmHeadSharded = true
    }

    /// Collectives one layer issues for `t` tokens: (collective, per-rank buffer bytes as nccl-tests counts it).
    public func collectives(model m: ModelArchitecture, layer l: Int, tokens t: Int) -> [(Collective, Double)] {
        guard gpus > 1, t > 0 else { return [] }
        let row = Double(t * m.hidden) * m.bytesPerParam
        var c: [(Collective, Double)] = []
        switch attention {
        case .replicated: break
        case .localColwiseRowwise: c.append((.allReduce, row))
        case .gatheredOutputs:
            let kv = Double(t * m.kvHeads * m.headDim) * m.bytesPerParam
            c.append((.allGather, Double(t * m.heads * m.headDim) * m.bytesPerParam / Double(gpus)))
            c.append((.allGather, kv / Double(gpus)))
            c.append((.allGather, kv / Double(gpus)))
            c.append((.allReduce, row))
        }
        let f = m.ffn[l]
        if f.isMoE {
            if experts == .shardedWidth || experts == .shardedExperts { c.append((.allReduce, row)) }
            if sharedExpertsSharded && f.sharedIntermediate > 0 { c.append((.allReduce, row)) }
        } else if f.denseIntermediate > 0 && attention != .replicated {
            c.append((.allReduce, row))  // a dense MLP layer under TP: colwise/rowwise, one all-reduce
        }
        return c
    }

    /// DTensor redistributes the host runs in one layer (OLMoE's gathered q/k/v outputs and split o_proj input go
    /// through `DTensor.redistribute`, the others take the plain local path): each costs `host_dtensor_redistribute_us`.
    public func redistributes(model m: ModelArchitecture, layer l: Int) -> Int {
        gpus > 1 && attention == .gatheredOutputs ? 4 : 0
    }

    /// Light plan hooks the host runs in one layer (the experts module's local-parameter swap, the EP router's
    /// masking): each costs the engine parameter `host_tp_hook_us`.
    public func hooks(model m: ModelArchitecture, layer l: Int) -> Int {
        guard gpus > 1 else { return 0 }
        var n = 0
        if m.ffn[l].isMoE {
            switch experts {
            case .shardedWidth: n += 1
            case .shardedExperts: n += 2
            case .whole, .replicated: break
            }
        }
        return n
    }

    /// One line for results and `explain`.
    public var summary: String {
        guard gpus > 1 else { return "one GPU" }
        let mode = expertParallel ? "DistributedConfig(tp_size=\(gpus), enable_expert_parallel=True)" : "DistributedConfig(tp_size=\(gpus)) (tp_plan=\"auto\")"
        let attn: String
        switch attention {
        case .replicated: attn = "attention replicated"
        case .localColwiseRowwise: attn = "attention sharded (all-reduce after o_proj)"
        case .gatheredOutputs: attn = "attention sharded, q/k/v outputs all-gathered (DTensor)"
        }
        let ex: String
        switch experts {
        case .whole: ex = "experts whole"
        case .replicated: ex = "experts replicated (the plan names none)"
        case .shardedWidth: ex = "experts sharded along their width, all-reduce"
        case .shardedExperts: ex = "experts placed E/\(gpus) per GPU, all-reduce"
        }
        return "\(mode): \(attn); \(ex); LM head \(lmHeadSharded ? "vocabulary-sharded, logits all-gathered" : "replicated")"
    }
}

extension HFParallelLayout {
    /// The bytes each GPU holds under Transformers' plan (not vLLM's sharding): what the plan shards is divided over
    /// the GPUs, what it leaves out is whole on every one. Attention (and its KV cache) is sharded unless replicated;
    /// experts are divided (width or whole experts) unless the family's TP plan names none; dense MLPs are sharded under
    /// TP plans and replicated under EP; shared experts as the family's plan says; routers and the input embedding
    /// are replicated; the LM head is sharded under TP (`colwise_gather_output`). Checked against the peak memory the
    /// 2x H200 runs recorded (README, Multi-GPU ground truth).
    public func memoryPlan(_ d: Deployment) -> MemoryPlan {
        var mp = d.memoryPlan()
        guard gpus > 1 else { return mp }
        let m = d.model, P = Double(gpus)
        let lb = m.linearBytesPerParam, b = m.bytesPerParam, eb = m.expertBytesPerParam
        let attn = attention == .replicated ? 1.0 : P
        mp.attentionWeightBytes = m.attentionParamsPerLayer * Double(m.layers) * lb / attn
        var dense = 0.0
        let h = Double(m.hidden)
        for f in m.ffn {
            dense += 3 * h * Double(f.denseIntermediate) * lb / (!expertParallel && gpus > 1 ? P : 1)
            dense += 3 * h * Double(f.sharedIntermediate) * lb / (sharedExpertsSharded ? P : 1)
            if f.isMoE { dense += h * Double(f.experts) * b }
            if f.sharedIntermediate > 0 && m.family == "qwen2_moe" { dense += h * b }
        }
        mp.denseWeightBytes = dense
        let expertShare: Double
        switch experts {
        case .whole, .replicated: expertShare = 1
        case .shardedWidth, .shardedExperts: expertShare = 1 / P
        }
        mp.expertWeightBytes = m.totalExpertParams * eb * expertShare
        let table = Double(m.vocab) * h
        mp.embeddingWeightBytes = m.tieEmbeddings ? table * b / (lmHeadSharded ? P : 1) + h * b
            : (table + table / (lmHeadSharded ? P : 1) + h) * b
        mp.kvBytesPerToken = m.kvBytesPerToken(tensorParallel: attention == .replicated ? 1 : gpus)
        return mp
    }
}

