import Foundation

/// Bytes each GPU holds under a plan: weights by kind, the reserve for activations, and what is left for KV.
public struct MemoryPlan: Sendable, Equatable {
    public var attentionWeightBytes: Double
    public var denseWeightBytes: Double
    public var expertWeightBytes: Double
    public var embeddingWeightBytes: Double
    public var reserveBytes: Double
    public var budgetBytes: Double
    public var kvBytesPerToken: Double
    public var blockSize: Int
    /// A speculative decoding draft model's weights on this GPU (its KV is in `kvBytesPerToken`).
    public var draftWeightBytes = 0.0

    public var weightBytes: Double { attentionWeightBytes + denseWeightBytes + expertWeightBytes + embeddingWeightBytes + draftWeightBytes }
    public var kvBytes: Double { max(0, budgetBytes - weightBytes - reserveBytes) }
    /// KV blocks per GPU (each `blockSize` tokens); every GPU of a DP replica holds the same number.
    public var kvBlocks: Int { kvBytesPerToken > 0 ? Int(kvBytes / (kvBytesPerToken * Double(blockSize))) : Int.max / 4 }
    public var kvTokens: Int { kvBlocks == Int.max / 4 ? Int.max / 4 : kvBlocks * blockSize }

    /// With pipeline parallelism, the stage whose GPUs have the fewest KV blocks (vLLM gives every stage that
    /// many); 0 without PP.
    public var stage = 0

    /// The binding per-GPU memory plan of a deployment: the GPU holding the most experts, and with PP the stage
    /// with the fewest KV blocks (each stage holds its layers' weights and KV cache; the embedding sits on the
    /// first stage, the LM head on the last).
    /// `vllmLayout`: expert weights at the bytes vLLM 0.24 holds them in (`Quantization.vllmResidentExpertBytes`).
    public init(model m: ModelArchitecture, plan p: ParallelPlan, gpu: GPUProfile, placement: ExpertPlacement?,
                memoryUtilization: Double, reserveGB: Double, blockSize: Int, vllmLayout: Bool = false) {
        self = MemoryPlan.binding(of: MemoryPlan.stages(model: m, plan: p, gpu: gpu, placement: placement, memoryUtilization: memoryUtilization,
                                                        reserveGB: reserveGB, blockSize: blockSize, vllmLayout: vllmLayout))
    }

    /// Of a deployment's stage plans (`stages`), the binding one: the first with the fewest KV blocks.
    public static func binding(of stages: [MemoryPlan]) -> MemoryPlan {
        var best = stages[0]
        for other in stages.dropFirst() where other.kvBlocks < best.kvBlocks { best = other }
        return best
    }

    /// Every pipeline stage's GPU plan, first stage first (one plan without PP).
    public static func stages(model m: ModelArchitecture, plan p: ParallelPlan, gpu: GPUProfile, placement: ExpertPlacement?,
                              memoryUtilization: Double, reserveGB: Double, blockSize: Int, vllmLayout: Bool = false) -> [MemoryPlan] {
        let ranges = p.stageLayerRanges(layers: m.layers)
        return ranges.enumerated().map { s, r in
            var plan = MemoryPlan(model: m, plan: p, gpu: gpu, placement: placement, memoryUtilization: memoryUtilization, reserveGB: reserveGB,
                                  blockSize: blockSize, layers: r, first: s == 0, last: s == ranges.count - 1, vllmLayout: vllmLayout)
            plan.stage = s
            return plan
        }
    }

    /// One stage's GPU: the layers in `layers`, the input embedding if `first`, the LM head if `last`.
    init(model m: ModelArchitecture, plan p: ParallelPlan, gpu: GPUProfile, placement: ExpertPlacement?,
         memoryUtilization: Double, reserveGB: Double, blockSize: Int, layers: Range<Int>, first: Bool, last: Bool, vllmLayout: Bool = false) {
        let tp = Double(p.tensorParallel), b = m.bytesPerParam, lb = m.linearBytesPerParam
        // Without EP every expert is sharded over the stage's TP x DP GPUs (`ParallelPlan.moeShardGPUs`).
        let shards = Double(p.moeShardGPUs)
        let eb = vllmLayout ? m.vllmExpertBytesPerParam(tensorParallel: p.moeShardGPUs, expertParallel: p.expertParallel) : m.expertBytesPerParam
        attentionWeightBytes = m.attentionParamsPerLayer * Double(layers.count) * lb / tp
        var dense = 0.0
        for i in layers { dense += m.denseFFNParams(layer: i) }
        // Routers are replicated; dense MLPs and shared experts are TP-sharded, but for the shared experts of a
        // sequence-parallel MoE, which every TP rank holds whole (vLLM's disable_tp; `ParallelPlan.sequenceParallelMoE`).
        var routers = 0.0, whole = 0.0
        let sp = p.sequenceParallelMoE(m)
        for i in layers where m.ffn[i].isMoE {
            routers += Double(m.hidden * m.ffn[i].experts)
            if sp { whole += 3 * Double(m.hidden) * Double(m.ffn[i].sharedIntermediate) }
        }
        denseWeightBytes = (dense - routers - whole) / tp * lb + whole * lb + routers * b
        // Vocabulary-parallel embedding and LM head; with PP the embedding on the first stage, the head on the last.
        let table = Double(m.vocab) * Double(m.hidden)
        if first && last { embeddingWeightBytes = m.embeddingParams * b / tp }
        else { embeddingWeightBytes = ((first ? table : 0) + (last ? table + Double(m.hidden) : 0)) * b / tp }
        // The MoE layers of this stage, as indices into the placement (which lists MoE layers only).
        var moeIndex = 0, moeLayers: [Int] = []
        for i in 0..<m.layers where m.ffn[i].isMoE {
            if layers.contains(i) { moeLayers.append(moeIndex) }
            moeIndex += 1
        }
        if p.expertParallel, let pl = placement {
            // Each GPU's bytes summed over the layers in order (each layer's counts computed once, not once per GPU).
            var bytes = Array(repeating: 0.0, count: p.stageGPUs)
            for l in moeLayers where l < pl.owners.count {
                let c = pl.expertsPerGPU(layer: l, gpus: p.stageGPUs)
                for g in 0..<p.stageGPUs { bytes[g] += Double(c[g]) * m.paramsPerExpert * eb }
            }
            var worst = 0.0
            for g in 0..<p.stageGPUs { worst = max(worst, bytes[g]) }
            expertWeightBytes = worst
        } else {
            var experts = 0.0
            for i in layers where m.ffn[i].isMoE { experts += Double(m.ffn[i].experts) * 3 * Double(m.hidden) * Double(m.ffn[i].expertIntermediate) }
            expertWeightBytes = experts * eb / shards
        }
        reserveBytes = reserveGB * 1e9
        budgetBytes = gpu.memoryBytes * memoryUtilization
        // The stage's own share of vLLM's KV cache groups (`ModelArchitecture.kvPoolBytesPerToken(tensorParallel:stage:)`).
        kvBytesPerToken = m.kvPoolBytesPerToken(tensorParallel: p.tensorParallel, stage: layers)
        self.blockSize = blockSize
    }

    /// Throws when the weights and reserve do not fit, saying the GB needed and available.
    public func check(model: ModelArchitecture, plan: ParallelPlan, gpu: GPUProfile) throws {
        let need = weightBytes + reserveBytes
        if need > budgetBytes {
            throw InputError.data(String(format: "%@ needs %.1f GB per GPU under %@ (%.1f GB of weights%@ + %.1f GB reserve) on %@: %.1f GB available at this memory utilization (%.1f GB card)",
                                         model.name, need / 1e9, plan.vllmFlags, weightBytes / 1e9,
                                         draftWeightBytes > 0 ? String(format: ", %.1f GB of them the speculative draft model's", draftWeightBytes / 1e9) : "",
                                         reserveBytes / 1e9, gpu.name, budgetBytes / 1e9, gpu.memoryGB))
        }
    }
}
