import Foundation

/// A GPU: datasheet peaks plus whatever was measured on it (GEMM grid, bandwidth, launch overhead).
public struct GPUProfile: Sendable {
    public var name: String
    public var displayName: String
    public var memoryGB: Double
    public var peakTFLOPs: Double
    public var bandwidthGBps: Double
    public var achievedMatmulFraction: Double
    public var achievedBandwidthFraction: Double
    public var kernelLaunchUs: Double
    /// Measured GEMMs grouped by (N, K), each sorted by M: `gemmCurves[nk] = [(m, timeUs)]`.
    public var gemmCurves: [GEMMShape: [(m: Double, us: Double)]]
    public var measuredReadGBps: Double?
    public var sources: [String]
    /// Name of the measured vLLM kernel tables for this GPU (`profiles/kernels/<name>.json`), if any.
    public var vllmKernelTablesName: String?
    /// Those tables, attached by `ProfileStore.gpu`.
    public var vllmKernels: VLLMKernelTables?

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
        memoryGB = try j.positive("memory_gb")
        peakTFLOPs = try j.positive("peak_bf16_tflops")
        bandwidthGBps = try j.positive("hbm_bandwidth_gbps")
        achievedMatmulFraction = try j.positive("achieved_matmul_fraction")
        achievedBandwidthFraction = try j.positive("achieved_bandwidth_fraction")
        for key in ["achieved_matmul_fraction", "achieved_bandwidth_fraction"] {
            let v = try j.double(key)
            guard v <= 1 else { throw try j.require(key).fail("must be at most 1 (a fraction of the datasheet peak), found \(v)") }
        }
        kernelLaunchUs = try j.double("kernel_launch_us", default: 4)
        var curves: [GEMMShape: [(m: Double, us: Double)]] = [:]
        if let t = j.optional("gemm_table") {
            for e in try t.array() {
                let m = try e.positiveInt("m"), n = try e.positiveInt("n"), k = try e.positiveInt("k")
                let us = try e.positive("time_us")
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
        measuredReadGBps = try j.optional("memory_bandwidth_gbps")?.optional("read")?.double()
        sources = try ProfileSources.read(j)
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
            if let str = s.value as? String { return str }
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
