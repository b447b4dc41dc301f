import Foundation
import SimKit
import Cluster
import Serving

/// The study of Hegde et al. re-run by simulation, compared table by table with the published numbers.
public struct Reproduction {
    public let spec: SweepSpec
    public let published: JSONNode
    public let results: [SweepResult]
    /// Manifest ids whose published numbers the engine profiles were fitted on (in-sample).
    public let fitIDs: Set<String>

    public static let models = ["mixtral-8x7b", "olmoe-1b-7b", "qwen1.5-moe-a2.7b"]
    public static let strategies = ["tp", "ep", "hybrid"]
    public static let workloads = ["decode-heavy", "prefill-heavy", "balanced"]
    public static let concurrency = ["1", "4", "8", "16", "32", "64", "128"]
    public static let diffusionRows = ["Steps = 32", "Steps = 64", "Steps = 128", "Gen len = 64", "Gen len = 128", "Gen len = 256"]

    public init(spec: SweepSpec, published: JSONNode, results: [SweepResult], fitIDs: Set<String>) {
        self.spec = spec; self.published = published; self.results = results; self.fitIDs = fitIDs
    }

    // MARK: lookups

    func multi(_ model: String, _ strategy: String, _ workload: String? = nil, _ conc: String? = nil) -> [RunResult] {
        results.filter { r in
            let c = r.configuration
            return c.grid == "multi-gpu" && c.label("model") == model && c.label("strategy") == strategy
                && (workload == nil || c.label("workload") == workload) && (conc == nil || c.label("concurrency") == conc)
        }.compactMap(\.result)
    }

    func mean(_ rs: [RunResult], _ f: (RunResult) -> Double) -> Double? {
        rs.isEmpty ? nil : rs.map(f).reduce(0, +) / Double(rs.count)
    }

    public func throughput(_ model: String, _ strategy: String, _ workload: String? = nil, _ conc: String? = nil) -> Double? {
        mean(multi(model, strategy, workload, conc)) { $0.outputThroughput }
    }

    public func perGPU(_ model: String, _ strategy: String) -> Double? {
        mean(multi(model, strategy)) { $0.outputThroughput / Double($0.gpus) }
    }

    public func ttft(_ model: String, _ strategy: String, _ conc: String) -> Double? {
        mean(multi(model, strategy, nil, conc)) { $0.ttftMs.mean }
    }

    public func diffusion(_ kind: String, _ row: String) -> Double? {
        results.first { $0.configuration.grid == "diffusion" && $0.configuration.label("model") == kind && $0.configuration.label("configuration") == row }?.result?.outputThroughput
    }

    func pub(_ path: [String]) -> Double? {
        var n: JSONNode? = published
        for k in path { n = n?.optional(k) }
        return try? n?.double()
    }

    // MARK: comparisons

    /// One published number next to moesim's, and whether the engine was fitted on it.
    public struct Comparison: Sendable {
        public var table: String
        public var row: String
        public var column: String
        public var paper: Double?
        public var moesim: Double?
        public var inSample: Bool
        public var error: Double? {
            guard let p = paper, let m = moesim, p != 0 else { return nil }
            return (m - p) / p
        }
    }

    public func tableIV() -> [Comparison] {
        var out: [Comparison] = []
        for m in Self.models {
            for s in Self.strategies {
                out.append(Comparison(table: "IV", row: m, column: s, paper: pub(["table_iv", "rows", m, s]), moesim: throughput(m, s),
                                      inSample: fitIDs.contains("tableIV-\(m)-\(s)")))
            }
            let ratio = throughput(m, "tp").flatMap { tp in throughput(m, "ep").map { 100 * $0 / tp } }
            out.append(Comparison(table: "IV", row: m, column: "EP/TP %", paper: pub(["table_iv", "rows", m, "ep_over_tp_pct"]), moesim: ratio, inSample: false))
        }
        return out
    }

    public func tableV() -> [Comparison] {
        Self.models.flatMap { m in Self.strategies.map { s in
            Comparison(table: "V", row: m, column: s, paper: pub(["table_v", "rows", m, s]), moesim: perGPU(m, s), inSample: false)
        } }
    }

    public func tableVI() -> [Comparison] {
        Self.models.flatMap { m in Self.workloads.map { w in
            let r = throughput(m, "tp", w).flatMap { tp in throughput(m, "ep", w).map { 100 * $0 / tp } }
            return Comparison(table: "VI", row: m, column: w, paper: pub(["table_vi", "rows", m, w]), moesim: r, inSample: false)
        } }
    }

    public func tableVII() -> [Comparison] {
        Self.diffusionRows.flatMap { row -> [Comparison] in
            let d = diffusion("dense", row), m = diffusion("moe", row)
            let fit = fitIDs.contains("tableVII-dense-\(row.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "=", with: ""))")
            return [Comparison(table: "VII", row: row, column: "dense", paper: pub(["table_vii", "rows", row, "dense"]), moesim: d, inSample: fit),
                    Comparison(table: "VII", row: row, column: "moe", paper: pub(["table_vii", "rows", row, "moe"]), moesim: m, inSample: fit),
                    Comparison(table: "VII", row: row, column: "ratio", paper: pub(["table_vii", "rows", row, "ratio"]),
                               moesim: d.flatMap { dd in m.map { dd / $0 } }, inSample: false)]
        }
    }

    public func namedPoints() -> [Comparison] {
        var out: [Comparison] = []
        guard let pts = try? published.require("named_points").array() else { return out }
        for p in pts {
            guard let id = try? p.string("id"), let model = try? p.string("model"), let s = try? p.string("strategy"),
                  let metric = try? p.string("metric"), let v = try? p.double("value"), let c = try? p.int("concurrency") else { continue }
            let pred: Double?
            if metric == "output_throughput" { pred = throughput(model, s, try? p.string("workload"), String(c)) }
            else { pred = ttft(model, s, String(c)) }
            out.append(Comparison(table: "named", row: id, column: metric, paper: v, moesim: pred, inSample: fitIDs.contains(id)))
        }
        return out
    }

    // MARK: ANOVA

    public struct FactorANOVA: Sendable { public var factor: String; public var anova: OneWayANOVA?; public var paperF: Double?; public var paperShare: Double? }

    public func anova() -> [FactorANOVA] {
        let rs = results.filter { $0.configuration.grid == "multi-gpu" }
        func groups(_ axis: String) -> [[Double]] {
            var g: [String: [Double]] = [:]
            var order: [String] = []
            for r in rs { guard let x = r.result?.outputThroughput, let l = r.configuration.label(axis) else { continue }
                if g[l] == nil { order.append(l) }
                g[l, default: []].append(x) }
            return order.map { g[$0]! }
        }
        return [("concurrency", "concurrency"), ("strategy", "strategy"), ("model", "model")].map { (axis, key) in
            FactorANOVA(factor: axis, anova: try? OneWayANOVA(groups: groups(axis)), paperF: pub(["anova", key, "F"]),
                        paperShare: pub(["anova", key, "variance_share"]))
        }
    }
}
