import Foundation

/// A GPU: datasheet peaks plus whatever was measured on it (GEMM grid, bandwidth, launch overhead).
public struct GPUProfile: Sendable {
    public var name: String
    public var displayName: String
    public var memoryGB: Double
    public var peakTFLOPs: Double
    /// Dense fp8 tensor-core peak (datasheet), nil where the GPU has no fp8 tensor cores (A100).
    public var peakFP8TFLOPs: Double?
    public var bandwidthGBps: Double
    public var achievedMatmulFraction: Double
    public var achievedBandwidthFraction: Double
    public var kernelLaunchUs: Double
    /// Measured GEMMs grouped by (N, K), each sorted by M: `gemmCurves[nk] = [(m, timeUs)]`.
    public var gemmCurves: [GEMMShape: [(m: Double, us: Double)]]
    public var measuredReadGBps: Double?
    public var sources: [String]
    /// Compute-bound work back to back: the share of its burst matmul rate the GPU keeps once it has reached its power
    /// limit (`probe/vllm/gemm_sustained.py`: bf16 GEMMs timed in bursts, then back to back for seconds), and the time
    /// constant in which it gets there (s). Kernel tables are timed in bursts; a long run of compute-bound steps is
    /// slowed by this (`PowerState`). nil where not measured: no slowdown.
    public var sustainedMatmulRatio: Double?
    public var powerTimeConstantS: Double?
    /// Decode attention over KV blocks that several sequences of a batch share (one cached prefix): the time a shared
    /// token read again by another sequence adds, over the time a token of the sequence's own adds
    /// (`probe/vllm/attn_prefix.py`: vLLM's decode kernel over shared and distinct copies of a prefix). The readers
    /// after the first find the blocks in L2. nil where not measured: every read costs as a read of its own.
    public var sharedKVReadRatio: Double?
    /// Name of the measured vLLM kernel tables for this GPU (`profiles/kernels/<name>.json`), if any.
    public var vllmKernelTablesName: String?
    /// Those tables, attached by `ProfileStore.gpu`.
    public var vllmKernels: VLLMKernelTables?
    /// vLLM's Triton fused-MoE row tiles for bf16 experts, attached by `ProfileStore.gpu` where this GPU's tables were
    /// measured on the vLLM version the tiles were read from (0.24.0).
    public var fusedMoEBlockM: FusedMoEBlockM?

    public struct GEMMShape: Hashable, Sendable { public var n: Int; public var k: Int }

    /// Peak FLOP/s and bytes/s used for the physics floor.
    public var peakFLOPs: Double { peakTFLOPs * 1e12 }
    public var peakBytesPerSecond: Double { bandwidthGBps * 1e9 }
    /// Achieved figures used by the roofline fallback.
    public var achievedFLOPs: Double { peakFLOPs * achievedMatmulFraction }
    public var achievedBytesPerSecond: Double { peakBytesPerSecond * achievedBandwidthFraction }
    public var memoryBytes: Double { memoryGB * 1e9 }

    public init(json j: JSONNode) throws {
        name = try j.string("name")
        displayName = try j.optional("display_name")?.string() ?? name
        let L = Limits.gpu
        memoryGB = try j.double("memory_gb", in: L["memory_gb"]!)
        peakTFLOPs = try j.double("peak_bf16_tflops", in: L["peak_bf16_tflops"]!)
        peakFP8TFLOPs = try j.optional("peak_fp8_tflops")?.double(in: L["peak_bf16_tflops"]!)
        bandwidthGBps = try j.double("hbm_bandwidth_gbps", in: L["hbm_bandwidth_gbps"]!)
        // Fractions of the datasheet peak.
        achievedMatmulFraction = try j.double("achieved_matmul_fraction", in: L["achieved_matmul_fraction"]!)
        achievedBandwidthFraction = try j.double("achieved_bandwidth_fraction", in: L["achieved_bandwidth_fraction"]!)
        kernelLaunchUs = try j.optional("kernel_launch_us")?.double(in: L["kernel_launch_us"]!) ?? 4
        var curves: [GEMMShape: [(m: Double, us: Double)]] = [:]
        if let t = j.optional("gemm_table") {
            for e in try t.array() {
                let dim = 1...Int(L["gemm_dim"]!.upperBound)
                let m = try e.int("m", in: dim), n = try e.int("n", in: dim), k = try e.int("k", in: dim)
                let us = try e.double("time_us", in: L["time_us"]!)
                curves[GEMMShape(n: n, k: k), default: []].append((Double(m), us))
            }
        }
        // Sort by M and take the lower monotone envelope: a GEMM with more rows cannot take less time, so a
        // reading above a later (larger-M) one was disturbed (clock ramp, contention) and the later one bounds it.
        for key in curves.keys {
            var c = curves[key]!.sorted { $0.m < $1.m }
            if c.count > 1 { for i in stride(from: c.count - 2, through: 0, by: -1) { c[i].us = min(c[i].us, c[i + 1].us) } }
            curves[key] = c
        }
        gemmCurves = curves
        measuredReadGBps = try j.optional("memory_bandwidth_gbps")?.optional("read")?.double(in: L["read_gbps"]!)
        sources = try ProfileSources.read(j)
        sustainedMatmulRatio = try j.optional("sustained_matmul_ratio")?.double(in: L["sustained_matmul_ratio"]!)
        powerTimeConstantS = try j.optional("power_time_constant_s")?.double(in: L["power_time_constant_s"]!)
        if (sustainedMatmulRatio == nil) != (powerTimeConstantS == nil) {
            throw j.fail("gives one of 'sustained_matmul_ratio' and 'power_time_constant_s' without the other: the GPU's power state needs both")
        }
        sharedKVReadRatio = try j.optional("shared_kv_read_ratio")?.double(in: L["shared_kv_read_ratio"]!)
        vllmKernelTablesName = try j.optional("vllm_kernel_tables")?.string()
    }
}

/// Reads and checks the `sources` list every profile carries.
public enum ProfileSources {
    public static let kinds = ["datasheet", "measurement", "fit", "derived"]

    public static func read(_ j: JSONNode) throws -> [String] {
        let list = try j.require("sources").array()
        guard !list.isEmpty else { throw j.fail("'sources' is empty: every profile says where its numbers came from") }
        return try list.map { s in
            if s.isString { return try s.string() }
            let kind = try s.string("kind")
            guard kinds.contains(kind) else {
                throw try s.require("kind").fail("is \"\(kind)\"; use one of \(quotedChoices(kinds))")
            }
            if kind == "measurement" {
                _ = try s.require("date"); _ = try s.require("host")
            }
            let what = try s.optional("what")?.string() ?? ""
            let src = try s.optional("source")?.string() ?? ""
            return "\(kind): \(what) — \(src)"
        }
    }
}
