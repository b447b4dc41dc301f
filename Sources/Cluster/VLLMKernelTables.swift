import Foundation
import SimKit

/// Where a modelled kernel time came from, from most to least trustworthy.
public enum KernelSource: String, Sendable, CaseIterable, Comparable {
    /// A measured table at exactly this shape and size.
    case measured
    /// A measured table at this shape, interpolated between measured sizes (or routings, via the shape model).
    case interpolated
    /// A measured table at this shape, carried past its largest measured size along its own trend.
    case extrapolated
    /// The shape-general fused-MoE model fitted to the measured tables (this shape was not measured).
    case shapeModel = "fitted shape model"
    /// A measured time carried to another case by a datasheet roofline ratio: a quantized kernel from the bf16 one (no
    /// measured table of that quantization applies), or a kernel measured on another GPU (`MLADecodeKernel.estimated`).
    case estimate = "estimate"
    /// Datasheet/achieved-rate roofline (no table applies).
    case roofline
    /// A collective derived from link bandwidth or another collective's curve.
    case derived

    public static func < (a: KernelSource, b: KernelSource) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The shape-general fused-MoE model, fitted by least squares on log time to every row of a measured table:
///
///     time = bytes / B + flops / F + c_e x hits + c_0
///     bytes = hits x 3 x hidden x inter_local x 2  +  pairs x (2 x hidden + 3 x inter_local) x 2
///     flops = 6 x pairs x hidden x inter_local
///
/// `hits` = experts on this GPU that received at least one token, `pairs` = token-expert pairs they received,
/// `inter_local` = expert width / moe TP. B (bytes/us), F (flop/us), c_e and c_0 (us) are the fitted parameters.
/// The sum (weight streaming and math not overlapped) fits the tables better than the roofline's max: leave-one-
/// shape-out 22.9% against 25.9% mean |error| on the A100 table (checked while building the model).
public struct FusedMoEModel: Sendable, Equatable {
    public var bytesPerUs: Double
    public var flopsPerUs: Double
    public var perExpertUs: Double
    public var floorUs: Double

    public init(bytesPerUs: Double, flopsPerUs: Double, perExpertUs: Double, floorUs: Double) {
        self.bytesPerUs = bytesPerUs; self.flopsPerUs = flopsPerUs; self.perExpertUs = perExpertUs; self.floorUs = floorUs
    }

    @inlinable
    public func us(hidden: Double, interLocal: Double, hits: Double, pairs: Double) -> Double {
        let bytes = hits * 3 * hidden * interLocal * 2 + pairs * (2 * hidden + 3 * interLocal) * 2
        let flops = 6 * pairs * hidden * interLocal
        return bytes / bytesPerUs + flops / flopsPerUs + perExpertUs * hits + floorUs
    }

    /// One row of a table for fitting: shape, the measured rank's expected routing load, measured time.
    public struct Row: Sendable {
        public var shape: MoEShape
        public var tp: Int
        public var ep: Int
        public var tokens: Double
        public var interLocal: Double
        public var hits: Double
        public var pairs: Double
        public var us: Double
    }

    /// Least squares on log(predicted / measured) over `rows` (Nelder-Mead in log-parameter space, deterministic).
    public static func fit(_ rows: [Row]) -> FusedMoEModel {
        func model(_ x: [Double]) -> FusedMoEModel {
            FusedMoEModel(bytesPerUs: exp(x[0]), flopsPerUs: exp(x[1]), perExpertUs: exp(x[2]), floorUs: exp(x[3]))
        }
        let h = rows.map { Double($0.shape.hidden) }, il = rows.map(\.interLocal), hi = rows.map(\.hits), pa = rows.map(\.pairs)
        let lt = rows.map { log($0.us) }
        func loss(_ x: [Double]) -> Double {
            let m = model(x)
            var s = 0.0
            for i in 0..<rows.count {
                let d = log(m.us(hidden: h[i], interLocal: il[i], hits: hi[i], pairs: pa[i])) - lt[i]
                s += d * d
            }
            return s / Double(max(rows.count, 1))
        }
        // Start: 2 TB/s, 200 TFLOP/s, 1 us per expert, 10 us floor.
        var best = NelderMead.minimize(loss, start: [log(2e6), log(2e8), log(1), log(10)], step: [0.5, 0.5, 1, 1], maxEvaluations: 1500, tolerance: 1e-10)
        // One restart from the optimum escapes an early collapse of the simplex.
        best = NelderMead.minimize(loss, start: best.x, step: [0.2, 0.2, 0.5, 0.5], maxEvaluations: 1000, tolerance: 1e-12)
        return model(best.x)
    }
}

/// An expert shape as the tables key it: the model's full expert width, not divided by TP.
public struct MoEShape: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var hidden: Int, inter: Int, topK: Int, experts: Int
    public init(hidden: Int, inter: Int, topK: Int, experts: Int) { self.hidden = hidden; self.inter = inter; self.topK = topK; self.experts = experts }
    public static func < (a: MoEShape, b: MoEShape) -> Bool {
        (a.hidden, a.inter, a.topK, a.experts) < (b.hidden, b.inter, b.topK, b.experts)
    }
    public var description: String { "\(hidden)x\(inter) top-\(topK) of \(experts)" }
}

/// Measured vLLM kernel timings of one GPU system and vLLM version (`profiles/kernels/*.json`, imported from NVIDIA's
/// aiconfigurator-core by `profiles/tools/import_aiconfigurator.py`): fused MoE, GEMM, attention, collectives.
///
/// Immutable after loading; the shape model is fitted once at load.
public final class VLLMKernelTables: Sendable {
    public let name: String
    public let gpuName: String
    public let frameworkVersion: String
    public let sources: [String]
    /// "aiconfigurator-core 0.12.0, a100-sxm-vllm-0.14.0" and the like, for labels; with the files of any fused-MoE
    /// rows merged in from moesim's own probe (a row's "source").
    public let provenance: String

    public struct MoEKey: Hashable, Sendable { public var shape: MoEShape; public var tp: Int; public var ep: Int }
    struct TokenCurve: Sendable {
        var tokens: [Double]; var logTokens: [Double]; var values: [Double]
        /// The logs of `values` for a curve built once and read often (the attention grids); empty: taken when needed.
        var logValues: [Double] = []
    }
    struct RoutingKey: Hashable, Sendable { var experts: Int, topK: Int, ep: Int, distribution: String }
    /// Measured fused-MoE curves: per (shape, TP, EP), per routing distribution, time (us) by token count.
    let moe: [MoEKey: [(distribution: String, curve: TokenCurve)]]
    /// Expected load of the measured (most loaded) rank under the collector's routing: hits and pairs by token count.
    let routingHits: [RoutingKey: TokenCurve]
    let routingPairs: [RoutingKey: TokenCurve]
    public let shapeModel: FusedMoEModel
    public let moeShapes: [MoEShape]
    /// The measured fp8 block-scaled (128x128, w8a8) fused-MoE table of the same GPU and vLLM version (`fp8_block` in
    /// the file; H100/H200 only), with its own shape model fitted to the fp8 rows. It has no GEMM table.
    public let fp8Block: VLLMKernelTables?
    /// The measured quantized fused-MoE tables of the same GPU and vLLM version by their key in the file (AIConfigurator's
    /// moe_dtype: "fp8_block", "fp8" per-tensor, "w4a16_mxfp4", "int4_wo"; H100/H200 only), each with its own shape
    /// model fitted to its rows (`fp8Block` is the "fp8_block" one). None has a GEMM table.
    public let quantizedMoE: [String: VLLMKernelTables]
    /// The sub-tables' keys, in the order the files carry them.
    public static let quantizedMoEKeys = ["fp8_block", "w4a16_mxfp4", "int4_wo", "fp8"]
    /// What a sub-table holds, for labels ("fp8 block-scaled", "MXFP4", ...).
    public static func quantizedMoEDescription(_ key: String) -> String {
        switch key {
        case "fp8_block": return "fp8 block-scaled"
        case "fp8": return "fp8 per-tensor"
        case "w4a16_mxfp4": return "MXFP4"
        case "int4_wo": return "int4 weight-only"
        default: return key
        }
    }
    /// This table's quantization (a sub-table's key), nil for the bf16 tables.
    public let quantization: String?

    /// Whether a curve was measured at exactly this shape and TP/EP degree (`moeContext` then anchors on it).
    public func hasMeasured(shape: MoEShape, tp: Int, ep: Int) -> Bool { moe[MoEKey(shape: shape, tp: tp, ep: ep)] != nil }

    let gemmLogM: [Double]
    let gemmM: [Double]
    let gemmCurves: [GPUProfile.GEMMShape: [Double]]
    let gemmNs: [Int], gemmKs: [Int]

    struct AttnKey: Hashable, Sendable { var heads: Int, kvHeads: Int }
    /// Per batch size (sorted), a curve over length (kv length for decode, input length for prefill).
    struct AttnGrid: Sendable {
        var batches: [Double]; var curves: [TokenCurve]
        var logBatches: [Double]
        /// `batches` sorted and distinct, a curve each (its values' logs taken here).
        init(batches: [Double], curves: [TokenCurve]) {
            self.batches = batches
            self.curves = curves.map { var c = $0; c.logValues = c.values.map { log($0) }; return c }
            logBatches = batches.map { log($0) }
        }
    }
    let generation: [AttnKey: AttnGrid]
    let context: [AttnKey: AttnGrid]
    /// The measured vLLM MLA attention module tables (`mla` in the file; H100/H200 vLLM 0.24.0), see `VLLMMLATables`.
    public let mla: VLLMMLATables?
    /// vLLM's own MLA decode kernel (FLASH_ATTN_MLA, kernel and split-KV combine, no projections or BMMs) at one head
    /// count per GPU and latent shape, measured inside a model's compiled CUDA graphs (`mla_decode_kernel`; H200:
    /// DeepSeek-V2-Lite's, probe/results/2026-12-04-h200-vllm-k): per decode batch a curve over the mean context.
    public struct MLADecodeKernel: Sendable {
        public var heads: Int, kvLoraRank: Int, ropeDim: Int, kvCache: String
        /// Where the rows come from, in words for the output ("origin" in the file; the H200's measurement by default).
        public var origin: String
        /// The rows were carried from another GPU's measurement ("estimated": true, profiles/tools/transfer_mla_decode.py):
        /// every time they give is an estimate.
        public var estimated: Bool
        let grid: AttnGrid
        /// The kernel for `sequences` decode sequences at a mean `context`: log-log in context on the two measured
        /// batch sizes around `sequences`, then log-log between them; nil past the measured batch sizes or contexts.
        /// Below a batch's shortest measured context the kernel is taken at that context (it is at its floor there:
        /// 14.7 us at 140 tokens and 14.8 at 568 for one sequence), an upper bound.
        public func us(sequences: Double, context: Double) -> (us: Double, source: KernelSource)? {
            let bs = grid.batches
            guard let il = bs.lastIndex(where: { $0 <= sequences }), let ih = bs.firstIndex(where: { $0 >= sequences }) else { return nil }
            func at(_ i: Int) -> (value: Double, exact: Bool)? {
                let c = grid.curves[i]
                let x = max(context, c.tokens[0])
                guard let v = VLLMKernelTables.logLog(c, x) else { return nil }
                return (v.value, v.exact && x == context)
            }
            guard let a = at(il) else { return nil }
            if il == ih { return (a.value, estimated ? .estimate : (a.exact ? .measured : .interpolated)) }
            guard let b = at(ih) else { return nil }
            let t = (log(sequences) - grid.logBatches[il]) / (grid.logBatches[ih] - grid.logBatches[il])
            return (exp(log(a.value) + t * (log(b.value) - log(a.value))), estimated ? .estimate : .interpolated)
        }
    }
    public let mlaDecodeKernel: MLADecodeKernel?
    /// vLLM's grouped top-k router run as PyTorch operations (a model with grouped top-k and no score-correction bias,
    /// `torch_grouped_topk`), per MoE layer by the step's tokens; see `groupedTopKUs`.
    let torchGroupedTopK: TokenCurve?
    let collectives: [Collective: [Int: (bytes: [Double], us: [Double])]]

    public convenience init(file: String) throws {
        try self.init(json: JSONNode.load(file: file, kind: .profile))
    }

    public init(json j: JSONNode) throws {
        name = try j.string("name")
        gpuName = try j.string("gpu")
        frameworkVersion = try j.string("framework_version")
        sources = try ProfileSources.read(j)
        let prov = try j.require("provenance")
        let imported = "\(try prov.string("package")) \(try prov.string("package_version")), \(name)"

        func curve(_ xs: [Double], _ ys: [Double], node: JSONNode) throws -> TokenCurve {
            guard xs.count == ys.count, !xs.isEmpty else { throw node.fail("token and value lists differ in length or are empty") }
            guard zip(xs, xs.dropFirst()).allSatisfy({ $0 < $1 }), xs[0] > 0 else { throw node.fail("token counts must be positive and increasing") }
            return TokenCurve(tokens: xs, logTokens: xs.map { log($0) }, values: ys)
        }
        var moe: [MoEKey: [(String, TokenCurve)]] = [:]
        var shapes = Set<MoEShape>()
        var probeRows = Set<String>()
        for c in try j.require("moe").array() {
            let shape = MoEShape(hidden: try c.positiveInt("hidden"), inter: try c.positiveInt("inter"), topK: try c.positiveInt("topk"), experts: try c.positiveInt("experts"))
            let key = MoEKey(shape: shape, tp: try c.positiveInt("tp"), ep: try c.positiveInt("ep"))
            let xs = try c.require("tokens").array().map { Double(try $0.int()) }
            let ys = try c.require("us").array().map { try $0.double() }
            guard ys.allSatisfy({ $0 > 0 }) else { throw c.fail("times must be positive") }
            moe[key, default: []].append((try c.string("distribution"), try curve(xs, ys, node: c)))
            shapes.insert(shape)
            if let src = c.optional("source") { probeRows.insert(try src.string()) }
        }
        provenance = imported + (probeRows.isEmpty ? "" : " + fused-MoE rows measured by moesim's probe (\(probeRows.sorted().joined(separator: ", ")))")
        self.moe = moe.mapValues { $0.sorted { $0.0 < $1.0 }.map { (distribution: $0.0, curve: $0.1) } }
        moeShapes = shapes.sorted()
        var rh: [RoutingKey: TokenCurve] = [:], rp: [RoutingKey: TokenCurve] = [:]
        for r in try j.require("moe_routing").array() {
            let key = RoutingKey(experts: try r.positiveInt("experts"), topK: try r.positiveInt("topk"), ep: try r.positiveInt("ep"), distribution: try r.string("distribution"))
            let xs = try r.require("tokens").array().map { Double(try $0.int()) }
            rh[key] = try curve(xs, try r.require("hits").array().map { try $0.double() }, node: r)
            rp[key] = try curve(xs, try r.require("pairs").array().map { try $0.double() }, node: r)
        }
        routingHits = rh; routingPairs = rp
        // Every measured row with its routing load, for the shape model.
        var rows: [FusedMoEModel.Row] = []
        for key in moe.keys.sorted(by: { ($0.shape, $0.tp, $0.ep) < ($1.shape, $1.tp, $1.ep) }) {
            for (dist, c) in self.moe[key]! {
                let rk = RoutingKey(experts: key.shape.experts, topK: key.shape.topK, ep: key.ep, distribution: dist)
                guard let hc = rh[rk], let pc = rp[rk] else { throw j.fail("moe_routing has no entry for \(key.shape) EP \(key.ep) \(dist)") }
                for (i, n) in c.tokens.enumerated() {
                    rows.append(.init(shape: key.shape, tp: key.tp, ep: key.ep, tokens: n, interLocal: Double(key.shape.inter / key.tp),
                                      hits: Self.linear(hc, n), pairs: Self.linear(pc, n), us: c.values[i]))
                }
            }
        }
        fitRows = rows
        shapeModel = FusedMoEModel.fit(rows)

        // The fp8_block part carries no GEMM table (see the importer); the bf16 tables always do.
        let g = j.optional("quantization") != nil ? j.optional("gemm") : try j.require("gemm")
        gemmM = try g?.require("m").array().map { Double(try $0.int()) } ?? []
        gemmLogM = gemmM.map { log($0) }
        var gc: [GPUProfile.GEMMShape: [Double]] = [:]
        for c in try g?.require("curves").array() ?? [] {
            var us = try c.require("us").array().map { try $0.double() }
            guard us.count == gemmM.count else { throw c.fail("expected \(gemmM.count) times, one per m") }
            // Lower monotone envelope in M, as for the GPU profiles' tables.
            if us.count > 1 { for i in stride(from: us.count - 2, through: 0, by: -1) { us[i] = min(us[i], us[i + 1]) } }
            gc[GPUProfile.GEMMShape(n: try c.positiveInt("n"), k: try c.positiveInt("k"))] = us
        }
        gemmCurves = gc
        gemmNs = Set(gc.keys.map(\.n)).sorted(); gemmKs = Set(gc.keys.map(\.k)).sorted()

        func attention(_ key: String) throws -> [AttnKey: AttnGrid] {
            guard let a = j.optional(key) else { return [:] }
            var out: [AttnKey: AttnGrid] = [:]
            for s in try a.require("shapes").array() {
                var byB: [Int: [(Double, Double)]] = [:]
                for r in try s.require("rows").array() {
                    let v = try r.array()
                    guard v.count == 3 else { throw r.fail("expected [batch_size, length, us]") }
                    byB[try v[0].int(), default: []].append((max(1, try v[1].double()), try v[2].double()))
                }
                var bs: [Double] = [], cs: [TokenCurve] = []
                for b in byB.keys.sorted() {
                    let pts = byB[b]!.sorted { $0.0 < $1.0 }
                    var xs: [Double] = [], ys: [Double] = []
                    for p in pts where xs.last.map({ p.0 > $0 }) ?? true { xs.append(p.0); ys.append(p.1) }
                    bs.append(Double(b)); cs.append(try curve(xs, ys, node: s))
                }
                out[AttnKey(heads: try s.positiveInt("heads"), kvHeads: try s.positiveInt("kv_heads"))] = AttnGrid(batches: bs, curves: cs)
            }
            return out
        }
        generation = try attention("generation_attention")
        context = try attention("context_attention")
        mla = try j.optional("mla").map { try VLLMMLATables(json: $0) }
        if let k = j.optional("mla_decode_kernel") {
            var byB: [Int: [(Double, Double)]] = [:]
            for r in try k.require("rows").array() {
                let v = try r.array()
                guard v.count == 3 else { throw r.fail("expected [decode_sequences, mean_context, us]") }
                let (b, c, us) = (try v[0].int(), try v[1].double(), try v[2].double())
                guard b > 0, c > 0, us > 0 else { throw r.fail("sequences, context and time must be positive") }
                byB[b, default: []].append((c, us))
            }
            var bs: [Double] = [], cs: [TokenCurve] = []
            for b in byB.keys.sorted() {
                let pts = byB[b]!.sorted { $0.0 < $1.0 }
                bs.append(Double(b)); cs.append(try curve(pts.map(\.0), pts.map(\.1), node: k))
            }
            guard !bs.isEmpty else { throw k.fail("no rows") }
            mlaDecodeKernel = MLADecodeKernel(heads: try k.positiveInt("heads"), kvLoraRank: try k.positiveInt("kv_lora_rank"),
                                              ropeDim: try k.positiveInt("qk_rope_head_dim"), kvCache: try k.string("kv_cache_dtype"),
                                              origin: try k.optional("origin")?.string() ?? "measured in DeepSeek-V2-Lite's compiled graphs on the H200",
                                              estimated: try k.optional("estimated")?.bool() ?? false,
                                              grid: AttnGrid(batches: bs, curves: cs))
        } else { mlaDecodeKernel = nil }
        if let k = j.optional("torch_grouped_topk") {
            let pts = try k.require("rows").array().map { r -> (Double, Double) in
                let v = try r.array()
                guard v.count == 2 else { throw r.fail("expected [tokens, us]") }
                let (t, us) = (try v[0].double(), try v[1].double())
                guard t > 0, us > 0 else { throw r.fail("tokens and time must be positive") }
                return (t, us)
            }.sorted { $0.0 < $1.0 }
            torchGroupedTopK = try curve(pts.map(\.0), pts.map(\.1), node: k)
        } else { torchGroupedTopK = nil }

        var coll: [Collective: [Int: ([Double], [Double])]] = [:]
        if let c = try j.optionalObject("collectives") {
            for name in (c.keys ?? []).sorted() {
                guard let col = Collective(rawValue: name) else { continue }
                let byGPU = try c.require(name)
                guard let gpuCounts = byGPU.keys else { throw byGPU.fail("expected an object of curves by GPU count, found \(byGPU.described)") }
                for gk in gpuCounts.sorted() {
                    guard let p = Int(gk) else { throw byGPU.fail("GPU count '\(gk)' is not a number") }
                    let raw = try byGPU.require(gk).array().map { r -> (Double, Double) in
                        let v = try r.array(); return (try v[0].double(), try v[1].double())
                    }.sorted { $0.0 < $1.0 }
                    // Repeated sizes (the H100 table measured each twice) become one point at their mean time: two
                    // points at one size gave the extrapolation past the largest an infinite slope.
                    var pts: [(Double, Double)] = []
                    var i = 0
                    while i < raw.count {
                        var j = i, sum = 0.0
                        while j < raw.count && raw[j].0 == raw[i].0 { sum += raw[j].1; j += 1 }
                        pts.append((raw[i].0, sum / Double(j - i)))
                        i = j
                    }
                    // Lower monotone envelope in size.
                    if pts.count > 1 { for i in stride(from: pts.count - 2, through: 0, by: -1) { pts[i].1 = min(pts[i].1, pts[i + 1].1) } }
                    coll[col, default: [:]][p] = (pts.map(\.0), pts.map(\.1))
                }
            }
        }
        collectives = coll.mapValues { $0.mapValues { (bytes: $0.0, us: $0.1) } }
        quantization = try j.optional("quantization")?.string()
        var q: [String: VLLMKernelTables] = [:]
        for key in Self.quantizedMoEKeys { if let sub = j.optional(key) { q[key] = try VLLMKernelTables(json: sub) } }
        quantizedMoE = q
        fp8Block = q["fp8_block"]
    }

    /// The rows the shape model was fitted to (for the leave-one-shape-out check).
    public let fitRows: [FusedMoEModel.Row]

    // MARK: interpolation helpers

    /// Linear in log(x) on the curve's values, clamped at the ends.
    static func linear(_ c: TokenCurve, _ x: Double) -> Double {
        Interpolation.linear(x: c.logTokens, y: c.values, at: min(max(log(x), c.logTokens[0]), c.logTokens[c.logTokens.count - 1]))
    }

    /// Log-log interpolation inside the curve's range; nil outside it. `exact` tells whether x is a measured point.
    static func logLog(_ c: TokenCurve, _ x: Double) -> (value: Double, exact: Bool)? {
        logLog(c, x, log: log(x))
    }

    /// `logLog` with log(x) already taken (`lx`).
    @inline(__always)
    static func logLog(_ c: TokenCurve, _ x: Double, log lx: Double) -> (value: Double, exact: Bool)? {
        let xs = c.logTokens
        guard lx >= xs[0] - 1e-12, lx <= xs[xs.count - 1] + 1e-12 else { return nil }
        var lo = 0, hi = xs.count - 1
        while hi - lo > 1 { let mid = (lo + hi) / 2; if xs[mid] <= lx { lo = mid } else { hi = mid } }
        if abs(c.tokens[lo] - x) < 1e-9 { return (c.values[lo], true) }
        if abs(c.tokens[hi] - x) < 1e-9 { return (c.values[hi], true) }
        let t = (lx - xs[lo]) / (xs[hi] - xs[lo])
        let vlo = c.logValues.isEmpty ? log(c.values[lo]) : c.logValues[lo]
        let vhi = c.logValues.isEmpty ? log(c.values[hi]) : c.logValues[hi]
        return (exp(vlo + t * (vhi - vlo)), false)
    }

    // MARK: fused MoE

    /// What a fused-MoE layer costs on one GPU for a fixed token count: the anchors of each measured routing at
    /// that count (measured time over the shape model's time at that routing's expected load), used to carry the
    /// measurement over to the load a routing draw actually puts on a GPU.
    public struct MoEContext: Sendable {
        public var shape: MoEShape
        public var interLocal: Double
        public var model: FusedMoEModel
        /// (expected hits, expected pairs, measured / modelled) per measured distribution; empty: shape model only.
        public var anchors: [(hits: Double, pairs: Double, ratio: Double, distribution: String)]
        public var source: KernelSource
        /// For an unmeasured shape: measured / modelled time of the nearest measured shape at the same TP/EP degree
        /// and token count (geometric mean over its routings), which scales the shape model; 1 when none applies.
        public var correction: Double = 1
        public var correctedBy: MoEShape?

        /// Time of the fused kernel on a GPU whose local experts received `pairs` token-expert pairs over `hits` experts.
        /// Uses the measured routing whose load is closest to this one (least carried by the model).
        public func us(hits: Int, pairs: Int) -> Double {
            let m = model.us(hidden: Double(shape.hidden), interLocal: interLocal, hits: Double(hits), pairs: Double(pairs))
            guard let best = anchorIndex(hits: hits, pairs: pairs) else { return m * correction }
            return m * anchors[best].ratio
        }

        /// The anchor `us` uses for this load: the measured routing whose expected hits and pairs are nearest; nil
        /// without anchors. By index: copying an anchor (it holds a String) would retain and release it per GPU and layer.
        public func anchorIndex(hits: Int, pairs: Int) -> Int? {
            guard !anchors.isEmpty else { return nil }
            let h = Double(hits), p = Double(pairs)
            var best = 0, bestD = Double.infinity
            for i in anchors.indices {
                let d = abs(log((h + 0.5) / (anchors[i].hits + 0.5))) + abs(log((p + 0.5) / (anchors[i].pairs + 0.5)))
                if d < bestD { bestD = d; best = i }
            }
            return best
        }
    }

    /// Rows per tile of the MXFP4 fused MoE that vLLM runs on NVIDIA GPUs (OpenAI's triton_kernels `matmul_ogs`, its
    /// `opt_flags` on NVIDIA): the expected tokens per expert (token-expert pairs over experts) rounded up to a power of
    /// two, within 16...128. Each expert's rows are computed in whole tiles, so the kernel's work follows
    /// sum(ceil(load / rows)) over the hit experts: under random routing (randn router logits) 1.4-1.5x the time of the
    /// balanced routing the tables were measured with, at 128-1,024 tokens for top-4 of 32 and 512-4,096 for top-4 of
    /// 128, as measured on an H200 (probe/results/2026-12-04-h200-mxfp4); counting tiles of random draws predicts that
    /// ratio within 7%, and moesim's expert time follows the random-routing rows within 15% (QuantizedMoETablesTests).
    /// `experts` are those of the kernel's GPU (under EP vLLM routes to its local experts, `make_routing_data`).
    public static func matmulOGSBlockM(tokens t: Int, topK: Int, experts: Int) -> Int {
        let perExpert = max(1, t * topK / max(experts, 1))
        var rows = 1
        while rows < perExpert { rows <<= 1 }
        return min(max(rows, 16), 128)
    }

    /// Tiles of `rows` rows when `pairs` token-expert pairs are spread as evenly as they go over `hits` experts.
    public static func balancedTiles(hits: Int, pairs: Int, rows: Int) -> Int {
        let q = pairs / hits, r = pairs % hits
        return (hits - r) * ((q + rows - 1) / rows) + r * ((q + rows) / rows)
    }

    /// The fused-MoE context for `tokens` tokens entering the kernel (all tokens of the step under TP; all DP ranks'
    /// tokens under vLLM's EP, which gathers them) with experts split `tp` ways in width and `ep` ways in number.
    public func moeContext(shape: MoEShape, tp: Int, ep: Int, tokens: Int) -> MoEContext {
        let il = Double(shape.inter / max(tp, 1))
        var ctx = MoEContext(shape: shape, interLocal: il, model: shapeModel, anchors: [], source: .shapeModel)
        guard tokens > 0 else { return ctx }
        guard let curves = moe[MoEKey(shape: shape, tp: tp, ep: ep)] else {
            if let c = nearestCorrection(for: shape, tp: tp, ep: ep, tokens: Double(tokens), model: shapeModel) {
                ctx.correction = c.ratio; ctx.correctedBy = c.from
            }
            return ctx
        }
        let n = Double(tokens)
        var allExact = true
        for (dist, c) in curves {
            let rk = RoutingKey(experts: shape.experts, topK: shape.topK, ep: ep, distribution: dist)
            guard let hc = routingHits[rk], let pc = routingPairs[rk] else { continue }
            // Beyond the largest measured count the anchor of the largest count carries over (shape model scaling).
            let x = min(n, c.tokens[c.tokens.count - 1])
            guard let t = Self.logLog(c, x) else { continue }
            if !t.exact || x != n { allExact = false }
            let h = Self.linear(hc, x), p = Self.linear(pc, x)
            let m = shapeModel.us(hidden: Double(shape.hidden), interLocal: il, hits: h, pairs: p)
            // Anchor at the measured count; the load scales with the count past the end.
            let scale = n / x
            ctx.anchors.append((hits: min(h * scale, Double(shape.experts / ep)), pairs: p * scale, ratio: t.value / m, distribution: dist))
        }
        if !ctx.anchors.isEmpty { ctx.source = allExact && n <= (curves.first?.curve.tokens.last ?? 0) ? .measured : .interpolated }
        return ctx
    }

    /// Log-distance between expert shapes (hidden, width, experts, top-k), for the nearest measured shape.
    static func distance(_ a: MoEShape, _ b: MoEShape) -> Double {
        abs(log(Double(a.hidden) / Double(b.hidden))) + abs(log(Double(a.inter) / Double(b.inter)))
            + abs(log(Double(a.experts) / Double(b.experts))) + abs(log(Double(a.topK) / Double(b.topK)))
    }

    /// The measured shape nearest `shape` (other than it) with curves at this TP/EP degree, and its measured / modelled
    /// time at `tokens` (geometric mean over its routing distributions; the count clamped to its measured range).
    func nearestCorrection(for shape: MoEShape, tp: Int, ep: Int, tokens n: Double, model: FusedMoEModel) -> (ratio: Double, from: MoEShape)? {
        var best: (MoEShape, Double)? = nil
        for o in moeShapes where o != shape && moe[MoEKey(shape: o, tp: tp, ep: ep)] != nil {
            let d = Self.distance(o, shape)
            if best == nil || d < best!.1 { best = (o, d) }
        }
        guard let (o, _) = best, let curves = moe[MoEKey(shape: o, tp: tp, ep: ep)] else { return nil }
        var sum = 0.0, count = 0
        for (dist, c) in curves {
            let rk = RoutingKey(experts: o.experts, topK: o.topK, ep: ep, distribution: dist)
            guard let hc = routingHits[rk], let pc = routingPairs[rk] else { continue }
            let x = min(max(n, c.tokens[0]), c.tokens[c.tokens.count - 1])
            guard let t = Self.logLog(c, x) else { continue }
            let m = model.us(hidden: Double(o.hidden), interLocal: Double(o.inter / max(tp, 1)), hits: Self.linear(hc, x), pairs: Self.linear(pc, x))
            sum += log(t.value / m); count += 1
        }
        return count > 0 ? (exp(sum / Double(count)), o) : nil
    }

    /// The (TP, EP) degrees measured for a shape, for `profiles kernels`.
    public func measuredDegrees(_ shape: MoEShape) -> [(tp: Int, ep: Int, distributions: [String])] {
        moe.filter { $0.key.shape == shape }.map { (tp: $0.key.tp, ep: $0.key.ep, distributions: $0.value.map(\.distribution)) }
            .sorted { ($0.tp, $0.ep) < ($1.tp, $1.ep) }
    }

    /// Leave-one-shape-out: for each measured shape, fit the shape model on the other shapes' rows and predict this
    /// shape's rows at the collector's routing load, as moesim prices an unmeasured shape: the model scaled by the
    /// nearest remaining shape's measured / modelled time at the same TP/EP degree and token count (`corrected`), or
    /// the model alone. Returns per shape the rows' mean and median |error| and bias, in %.
    public func leaveOneShapeOut(corrected: Bool = true) -> [(shape: MoEShape, rows: Int, meanAbsPct: Double, medianAbsPct: Double, meanSignedPct: Double)] {
        moeShapes.map { s in
            let model = FusedMoEModel.fit(fitRows.filter { $0.shape != s })
            var cache: [String: Double] = [:]
            let errs = fitRows.filter { $0.shape == s }.map { r -> Double in
                var f = 1.0
                if corrected {
                    let key = "\(r.tp) \(r.ep) \(r.tokens)"
                    if let c = cache[key] { f = c } else {
                        f = nearestCorrection(for: s, tp: r.tp, ep: r.ep, tokens: r.tokens, model: model)?.ratio ?? 1
                        cache[key] = f
                    }
                }
                return (model.us(hidden: Double(r.shape.hidden), interLocal: r.interLocal, hits: r.hits, pairs: r.pairs) * f / r.us - 1) * 100
            }
            let abs = errs.map { Swift.abs($0) }
            return (s, errs.count, abs.reduce(0, +) / Double(max(errs.count, 1)), Statistics.percentile(abs, 50),
                    errs.reduce(0, +) / Double(max(errs.count, 1)))
        }
    }

    /// In-sample error of the fitted model on all rows (mean and median |error| in %).
    public func inSampleError() -> (meanAbsPct: Double, medianAbsPct: Double) {
        let abs = fitRows.map { r in
            Swift.abs(shapeModel.us(hidden: Double(r.shape.hidden), interLocal: r.interLocal, hits: r.hits, pairs: r.pairs) / r.us - 1) * 100
        }
        return (abs.reduce(0, +) / Double(max(abs.count, 1)), Statistics.percentile(abs, 50))
    }

    // MARK: GEMM

    /// A bf16 GEMM from the measured grid: exact (n, k) interpolated in M, or inside the grid bilinear in
    /// (log n, log k) of log time. nil when M or (n, k) lie outside the grid.
    public func gemmUs(m: Int, n: Int, k: Int) -> (us: Double, source: KernelSource)? {
        let M = Double(m)
        guard let first = gemmM.first, let last = gemmM.last, M >= first, M <= last else { return nil }
        let exactM = gemmM.contains(M)
        func at(_ nn: Int, _ kk: Int) -> Double? {
            guard let us = gemmCurves[GPUProfile.GEMMShape(n: nn, k: kk)] else { return nil }
            return Self.logLog(TokenCurve(tokens: gemmM, logTokens: gemmLogM, values: us), M)?.value
        }
        if let t = at(n, k) { return (t, exactM ? .measured : .interpolated) }
        func bracket(_ xs: [Int], _ x: Int) -> (Int, Int, Double)? {
            guard let lo = xs.last(where: { $0 <= x }), let hi = xs.first(where: { $0 >= x }) else { return nil }
            return (lo, hi, lo == hi ? 0 : (log(Double(x)) - log(Double(lo))) / (log(Double(hi)) - log(Double(lo))))
        }
        guard let (n0, n1, tn) = bracket(gemmNs, n), let (k0, k1, tk) = bracket(gemmKs, k),
              let a = at(n0, k0), let b = at(n1, k0), let c = at(n0, k1), let d = at(n1, k1) else { return nil }
        let l = (1 - tn) * (1 - tk) * log(a) + tn * (1 - tk) * log(b) + (1 - tn) * tk * log(c) + tn * tk * log(d)
        return (exp(l), .interpolated)
    }

    // MARK: attention

    /// Log-log in length on the curves of the batch sizes around `batch`, then log-log between them in batch.
    ///
    /// The measured grids stop at about 131k cached tokens per batch (AIConfigurator's sweep: batch 256 reaches 511
    /// or 1,023 tokens, batch 1,024 only 127 or 255), so a large batch at a moderate context falls outside. There the
    /// two largest batches whose curves reach `length` carry the time on, log-log in batch with their own slope (at
    /// most linear: FlashAttention splits the work into sequences x KV heads, so past a full GPU the time grows at
    /// most in proportion; the tables' doubling ratios run 1.4-2.0). Checked against vLLM's own decode steps
    /// (probe/results/2026-12-04-h200-vllm-g, kernel profiles): gpt-oss-20b at 1,024 sequences of ~185 tokens took
    /// 281 us per layer in FlashAttention; the extrapolated rows give 268, the roofline it replaces 84. nil when
    /// fewer than two batches reach `length`, or `batch` lies below the smallest.
    static func grid(_ g: AttnGrid, batch: Double, length: Double) -> (us: Double, source: KernelSource)? {
        // The batch sizes are sorted and distinct: ih is the first at least `batch`, il the last at most it.
        let bs = g.batches
        var lo = 0, hi = bs.count
        while lo < hi { let mid = (lo + hi) / 2; if bs[mid] < batch { lo = mid + 1 } else { hi = mid } }
        let ih = lo
        let il = ih < bs.count && bs[ih] == batch ? ih : ih - 1
        guard il >= 0 else { return nil }
        let ll = log(length)
        if ih < bs.count, let a = logLog(g.curves[il], length, log: ll) {
            if il == ih { return (a.value, a.exact ? .measured : .interpolated) }
            if let b = logLog(g.curves[ih], length, log: ll) {
                let t = (log(batch) - g.logBatches[il]) / (g.logBatches[ih] - g.logBatches[il])
                return (exp(log(a.value) + t * (log(b.value) - log(a.value))), .interpolated)
            }
        }
        // Outside the grid: the two largest batches at most `batch` whose curves reach `length`.
        var hiB: (index: Int, us: Double)? = nil
        var j = il
        while j >= 0 {
            if let v = logLog(g.curves[j], length, log: ll) {
                guard let h = hiB else { hiB = (j, v.value); j -= 1; continue }
                let slope = min(1, max(0, (log(h.us) - log(v.value)) / (g.logBatches[h.index] - g.logBatches[j])))
                return (h.us * exp(slope * (log(batch) - g.logBatches[h.index])), .extrapolated)
            }
            j -= 1
        }
        return nil
    }

    /// `grid` without its extrapolation: nil past the measured batches.
    static func gridWithin(_ g: AttnGrid, batch: Double, length: Double) -> (us: Double, source: KernelSource)? {
        guard let r = grid(g, batch: batch, length: length), r.source != .extrapolated else { return nil }
        return r
    }

    /// Decode attention (FlashAttention, head_dim 128) of `sequences` sequences at a mean of `meanContext` cached
    /// tokens, `heads` query and `kvHeads` KV heads on this GPU. nil outside the measured grid.
    public func decodeAttentionUs(heads: Int, kvHeads: Int, sequences: Double, meanContext: Double) -> (us: Double, source: KernelSource)? {
        guard let g = generationGrid(heads: heads, kvHeads: kvHeads) else { return nil }
        return Self.attentionUs(g, sequences: sequences, length: meanContext)
    }

    /// Causal prefill attention of `sequences` prompts of `meanLength` tokens. nil outside the measured grid.
    public func prefillAttentionUs(heads: Int, kvHeads: Int, sequences: Double, meanLength: Double) -> (us: Double, source: KernelSource)? {
        guard let g = contextGrid(heads: heads, kvHeads: kvHeads) else { return nil }
        return Self.attentionUs(g, sequences: sequences, length: meanLength)
    }

    /// The decode (generation) and prefill (context) attention grids of a (query, KV) head pair, for a caller that
    /// prices many steps with one of them (`attentionUs`).
    func generationGrid(heads: Int, kvHeads: Int) -> AttnGrid? { generation[AttnKey(heads: heads, kvHeads: kvHeads)] }
    func contextGrid(heads: Int, kvHeads: Int) -> AttnGrid? { context[AttnKey(heads: heads, kvHeads: kvHeads)] }

    /// Attention of `sequences` sequences at a mean `length` (at least 1) from one grid. nil outside it.
    @inline(__always)
    static func attentionUs(_ g: AttnGrid, sequences: Double, length: Double) -> (us: Double, source: KernelSource)? {
        grid(g, batch: sequences, length: max(1, length))
    }

    /// The PyTorch grouped top-k router of one MoE layer for `tokens` tokens (`torch_grouped_topk`): linear in log
    /// tokens between the measured counts (torch.topk changes algorithm with the row count, so the curve is not
    /// monotone), the end values outside them; nil without the table.
    public func groupedTopKUs(tokens: Int) -> Double? {
        guard let c = torchGroupedTopK, tokens > 0 else { return nil }
        let x = log(Double(tokens)), xs = c.logTokens, ys = c.values
        if x <= xs[0] { return ys[0] }
        if x >= xs[xs.count - 1] { return ys[ys.count - 1] }
        return Interpolation.linear(x: xs, y: ys, at: x)
    }

    /// Whether decode and prefill attention rows were measured for this (query, KV) head pair.
    public func hasAttention(heads: Int, kvHeads: Int) -> Bool {
        let k = AttnKey(heads: heads, kvHeads: kvHeads)
        return generation[k] != nil && context[k] != nil
    }

    // MARK: collectives

    /// A collective of `bytes` per rank over `gpus` GPUs from the measured curve at exactly that count; nil without
    /// one. Interpolated linearly in bytes between measured sizes; past the largest, at the last bandwidth.
    public func collectiveUs(_ c: Collective, bytes: Double, gpus: Int) -> Double? {
        guard let curve = collectives[c]?[gpus], let first = curve.bytes.first else { return nil }
        let xs = curve.bytes, ys = curve.us, n = xs.count
        if bytes <= first { return ys[0] }
        if bytes >= xs[n - 1] {
            let slope = n > 1 ? max((ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]), ys[n - 1] / xs[n - 1]) : ys[0] / xs[0]
            return ys[n - 1] + slope * (bytes - xs[n - 1])
        }
        return Interpolation.linear(x: xs, y: ys, at: bytes)
    }

    public func hasCollective(_ c: Collective, gpus: Int) -> Bool { collectives[c]?[gpus] != nil }
}
