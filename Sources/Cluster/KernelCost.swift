import Foundation

/// Times of single GPU kernels: GEMMs from the profile's measured table, a roofline elsewhere, attention.
///
/// Every time returned is at least the kernel's FLOPs at datasheet peak and its bytes at datasheet bandwidth,
/// plus the minimum GPU-side duration of a kernel.
public struct KernelCost: Sendable {
    public let gpu: GPUProfile
    /// Multiplier on the achieved GEMM rate (an engine parameter; 1 keeps the profile's rate).
    public let computeEfficiency: Double
    /// Prefill attention rate as a fraction of the GEMM rate.
    public let attentionEfficiency: Double
    /// Token padding per expert block in grouped/fused MoE kernels.
    public let moeBlockM: Int
    /// Fixed GPU time per hit expert inside a grouped MoE kernel (an engine parameter).
    public let expertFixedUs: Double
    /// GPU work of the sampler per logit, in bytes at peak bandwidth (an engine parameter; 0: not priced).
    public let samplerBytesPerLogit: Double
    /// Measured vLLM kernel tables of this GPU (fused MoE, GEMM, attention, collectives), used by the vLLM engine;
    /// nil: the GPU profile's own GEMM table and the roofline.
    public let tables: VLLMKernelTables?

    /// The shortest a kernel takes on the GPU, in microseconds (a few microseconds on A100/H100-class GPUs:
    /// the smallest GEMM times in the vidur A100 tables are about 5 us).
    public static let minKernelUs = 2.0

    public init(gpu: GPUProfile, computeEfficiency: Double = 1, attentionEfficiency: Double = 0.6, moeBlockM: Int = 16, expertFixedUs: Double = 0,
                samplerBytesPerLogit: Double = 0, tables: VLLMKernelTables? = nil) {
        self.expertFixedUs = max(0, expertFixedUs)
        self.samplerBytesPerLogit = max(0, samplerBytesPerLogit)
        self.tables = tables
        self.gpu = gpu
        self.computeEfficiency = computeEfficiency
        self.attentionEfficiency = attentionEfficiency
        self.moeBlockM = max(1, moeBlockM)
    }

    /// The physics floor of a kernel in microseconds.
    @inlinable
    public func floorUs(flops: Double, bytes: Double) -> Double {
        max(flops / gpu.peakFLOPs, bytes / gpu.peakBytesPerSecond) * 1e6
    }

    /// The physics floor with weights of `weightBytes` bytes each and, for `fp8` compute, the fp8 tensor-core peak.
    public func floorUs(flops: Double, weightElements: Double, weightBytes: Double, activationBytes: Double, fp8: Bool) -> Double {
        let peak = fp8 ? (gpu.peakFP8TFLOPs.map { $0 * 1e12 } ?? gpu.peakFLOPs) : gpu.peakFLOPs
        return max(flops / peak, (weightElements * weightBytes + activationBytes) / gpu.peakBytesPerSecond) * 1e6
    }

    /// How much faster a quantized GEMM is than the bf16 one at the same shape, by the datasheet roofline: the
    /// ratio of `max(flops / peak, bytes / bandwidth)` with quantized weights (and the fp8 peak for w8a8 on GPUs
    /// that have one) to the same with bf16 weights. Applied to measured bf16 kernel times where no measured
    /// quantized table is used; this is an assumption (the result says so), not a measurement.
    public func quantizedRatio(flops: Double, weightElements: Double, activationBytes: Double, weightBytes: Double, fp8: Bool) -> Double {
        let q = floorUs(flops: flops, weightElements: weightElements, weightBytes: weightBytes, activationBytes: activationBytes, fp8: fp8)
        let b = floorUs(flops: flops, weightElements: weightElements, weightBytes: 2, activationBytes: activationBytes, fp8: false)
        return b > 0 ? q / b : 1
    }

    /// A bf16 GEMM of (M x K) by (K x N).
    ///
    /// From the measured curve of the same (N, K), interpolated log-log in M inside its range; elsewhere the
    /// roofline `max(flops / achieved, bytes / achieved bandwidth)`, with M padded to the 16-row MMA tile.
    public func gemmUs(m: Int, n: Int, k: Int) -> Double { gemm(m: m, n: n, k: k).us }

    /// The GEMM time and where it came from: the vLLM kernel tables (exact (n, k) or interpolated inside their
    /// grid), then the GPU profile's own table at exact (n, k), then the roofline.
    public func gemm(m: Int, n: Int, k: Int) -> (us: Double, source: KernelSource) {
        if m <= 0 || n <= 0 || k <= 0 { return (0, .measured) }
        let M = Double(m), N = Double(n), K = Double(k)
        let flops = 2 * M * N * K
        let bytes = 2 * (M * K + K * N + M * N)
        let floor = floorUs(flops: flops, bytes: bytes)
        if let t = tables?.gemmUs(m: m, n: n, k: k) {
            return (max(t.us / computeEfficiency, floor, Self.minKernelUs), t.source)
        }
        if let curve = gpu.gemmCurves[GPUProfile.GEMMShape(n: n, k: k)], let first = curve.first, let last = curve.last,
           M >= first.m, M <= last.m {
            let exact = curve.contains { $0.m == M }
            return (max(interpolateLogLog(curve, M) / computeEfficiency, floor, Self.minKernelUs), exact ? .measured : .interpolated)
        }
        let paddedM = (M / 16).rounded(.up) * 16
        let t = max(2 * paddedM * N * K / (gpu.achievedFLOPs * computeEfficiency), bytes / gpu.achievedBytesPerSecond) * 1e6
        return (max(t, floor, Self.minKernelUs), .roofline)
    }

    func interpolateLogLog(_ c: [(m: Double, us: Double)], _ m: Double) -> Double {
        var lo = 0, hi = c.count - 1
        if c[hi].m == m { return c[hi].us }
        while hi - lo > 1 { let mid = (lo + hi) / 2; if c[mid].m <= m { lo = mid } else { hi = mid } }
        if c[lo].m == m || hi == lo { return c[lo].us }
        let t = (log(m) - log(c[lo].m)) / (log(c[hi].m) - log(c[lo].m))
        return exp(log(c[lo].us) + t * (log(c[hi].us) - log(c[lo].us)))
    }

    /// One expert's gated MLP (gate+up GEMM, down GEMM) on `tokens` tokens with width `inter` on this GPU.
    /// An expert with any token reads all its weights; tokens are padded to the kernel's block of `moeBlockM`.
    public func expertUs(tokens: Int, hidden: Int, inter: Int) -> Double {
        if tokens <= 0 { return 0 }
        let padded = ((tokens + moeBlockM - 1) / moeBlockM) * moeBlockM
        // Inside one fused kernel the per-GEMM minimum does not apply: subtract it once per GEMM pair.
        let t = gemmUs(m: padded, n: 2 * inter, k: hidden) + gemmUs(m: padded, n: hidden, k: inter)
        let flops = 6 * Double(tokens) * Double(hidden) * Double(inter)
        let bytes = 6 * Double(hidden) * Double(inter) + 4 * Double(tokens) * Double(hidden + inter)
        return max(t - Self.minKernelUs, floorUs(flops: flops, bytes: bytes)) + expertFixedUs
    }

    /// Decode attention over `contextTokens` cached tokens in total (all sequences) for one layer on one GPU.
    public func decodeAttentionUs(contextTokens: Double, kvBytesPerTokenLayer: Double, flopsPerTokenLayer: Double, sequences: Int) -> Double {
        if sequences <= 0 { return 0 }
        let bytes = contextTokens * kvBytesPerTokenLayer
        let flops = contextTokens * flopsPerTokenLayer
        let t = max(bytes / gpu.achievedBytesPerSecond, flops / (gpu.achievedFLOPs * attentionEfficiency)) * 1e6
        return max(t, floorUs(flops: flops, bytes: bytes), Self.minKernelUs)
    }

    /// Prefill (or bidirectional) attention of `work` query-key pairs x heads x head-dim FLOPs for one layer.
    public func prefillAttentionUs(flops: Double, bytes: Double) -> Double {
        if flops <= 0 { return 0 }
        let t = max(flops / (gpu.achievedFLOPs * computeEfficiency * attentionEfficiency), bytes / gpu.achievedBytesPerSecond) * 1e6
        return max(t, floorUs(flops: flops, bytes: bytes), Self.minKernelUs)
    }

    /// An elementwise or normalisation pass over `bytes` of activations.
    public func memoryUs(bytes: Double) -> Double {
        max(bytes / gpu.achievedBytesPerSecond * 1e6, Self.minKernelUs)
    }
}
