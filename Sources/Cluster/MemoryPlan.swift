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

    public var weightBytes: Double { attentionWeightBytes + denseWeightBytes + expertWeightBytes + embeddingWeightBytes }
    public var kvBytes: Double { max(0, budgetBytes - weightBytes - reserveBytes) }
    /// KV blocks per GPU (each `blockSize` tokens); every GPU of a DP replica holds the same number.
    public var kvBlocks: Int { kvBytesPerToken > 0 ? Int(kvBytes / (kvBytesPerToken * Double(blockSize))) : Int.max / 4 }
    public var kvTokens: Int { kvBlocks == Int.max / 4 ? Int.max / 4 : kvBlocks * blockSize }

    /// The largest per-GPU memory plan of a deployment (the GPU holding the most experts).
    public init(model m: ModelArchitecture, plan p: ParallelPlan, gpu: GPUProfile, placement: ExpertPlacement?,
                memoryUtilization: Double, reserveGB: Double, blockSize: Int) {
        let tp = Double(p.tensorParallel), b = m.bytesPerParam, lb = m.linearBytesPerParam, eb = m.expertBytesPerParam
        attentionWeightBytes = m.attentionParamsPerLayer * Double(m.layers) * lb / tp
        var dense = 0.0
        for i in 0..<m.layers { dense += m.denseFFNParams(layer: i) }
        // Routers are replicated; dense MLPs and shared experts are TP-sharded.
        var routers = 0.0
        for f in m.ffn where f.isMoE { routers += Double(m.hidden * f.experts) }
        denseWeightBytes = (dense - routers) / tp * lb + routers * b
        // Vocabulary-parallel embedding and LM head.
        embeddingWeightBytes = m.embeddingParams * b / tp
        if p.expertParallel, let pl = placement {
            var worst = 0.0
            for g in 0..<p.gpuCount {
                var bytes = 0.0
                for l in 0..<pl.owners.count { bytes += Double(pl.expertsPerGPU(layer: l, gpus: p.gpuCount)[g]) * m.paramsPerExpert * eb }
                worst = max(worst, bytes)
            }
            expertWeightBytes = worst
        } else {
            expertWeightBytes = m.totalExpertParams * eb / tp
        }
        reserveBytes = reserveGB * 1e9
        budgetBytes = gpu.memoryBytes * memoryUtilization
        kvBytesPerToken = m.kvBytesPerToken(tensorParallel: p.tensorParallel)
        self.blockSize = blockSize
    }

    /// Throws when the weights and reserve do not fit, saying the GB needed and available.
    public func check(model: ModelArchitecture, plan: ParallelPlan, gpu: GPUProfile) throws {
        let need = weightBytes + reserveBytes
        if need > budgetBytes {
            throw InputError.data(String(format: "%@ needs %.1f GB per GPU under %@ (%.1f GB of weights + %.1f GB reserve) on %@: %.1f GB available at this memory utilization (%.0f GB card)",
                                         model.name, need / 1e9, plan.vllmFlags, weightBytes / 1e9, reserveBytes / 1e9, gpu.name, budgetBytes / 1e9, gpu.memoryGB))
        }
    }
}
