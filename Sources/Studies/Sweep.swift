import Foundation
import SimKit
import Cluster
import Serving

/// An experiment spec: grids of `moesim run` arguments, each the cartesian product of its axes.
///
/// ```json
/// {"version": 1, "name": "demo", "grids": [{"name": "g", "base": ["--model", "olmoe-1b-7b"],
///   "axes": [{"name": "concurrency", "values": [{"label": "1", "args": ["--max-concurrency", "1"]}]}]}]}
/// ```
public struct SweepSpec: Sendable {
    public struct Axis: Sendable { public var name: String; public var values: [(label: String, args: [String])] }
    public struct Grid: Sendable { public var name: String; public var base: [String]; public var axes: [Axis] }
    public struct Configuration: Sendable {
        public var index: Int
        public var grid: String
        public var labels: [(axis: String, label: String)]
        public var args: [String]
        public func label(_ axis: String) -> String? { labels.first { $0.axis == axis }?.label }
    }

    public var name: String
    public var title: String
    public var notes: [String]
    public var grids: [Grid]

    public init(file: String) throws {
        let j = try JSONNode.load(file: file)
        let v = try j.int("version")
        guard v == 1 else { throw try j.require("version").fail("is \(v); this moesim reads version 1") }
        name = try j.string("name")
        title = try j.optional("title")?.string() ?? name
        notes = try j.optional("notes")?.array().map { try $0.string() } ?? []
        grids = try j.require("grids").array().map { g in
            let axes = try g.require("axes").array().map { ax in
                let values = try ax.require("values").array().map { v in
                    (label: try v.string("label"), args: try v.require("args").array().map { try $0.string() })
                }
                guard !values.isEmpty else { throw ax.fail("an axis needs at least one value") }
                return Axis(name: try ax.string("name"), values: values)
            }
            return Grid(name: try g.string("name"), base: try g.require("base").array().map { try $0.string() }, axes: axes)
        }
        guard !grids.isEmpty else { throw j.fail("'grids' is empty") }
    }

    /// Every configuration, grid by grid, the last axis varying fastest.
    public func configurations() -> [Configuration] {
        var out: [Configuration] = []
        for g in grids {
            var combos: [[(String, String, [String])]] = [[]]
            for ax in g.axes {
                combos = combos.flatMap { c in ax.values.map { c + [(ax.name, $0.label, $0.args)] } }
            }
            for c in combos {
                out.append(Configuration(index: out.count, grid: g.name, labels: c.map { ($0.0, $0.1) }, args: g.base + c.flatMap { $0.2 }))
            }
        }
        return out
    }
}

/// One configuration's outcome: a result, or the reason it could not run (e.g. it does not fit in memory).
public struct SweepResult: Sendable {
    public var configuration: SweepSpec.Configuration
    public var outcome: Simulation.Outcome?
    public var error: String?
    public var result: RunResult? { outcome?.result }
}

extension Simulation.Outcome: @unchecked Sendable {}

/// Runs configurations on several threads. Each simulation owns its seeded random streams, so the results
/// do not depend on the thread count or the order in which threads finish.
public enum SweepRunner {
    final class Box: @unchecked Sendable {
        var results: [SweepResult?]
        var done = 0
        let lock = NSLock()
        init(_ n: Int) { results = Array(repeating: nil, count: n) }
    }

    /// Runs every configuration; `engineOverride` replaces the engine profile of every run of its kind (a
    /// calibration candidate, say).
    public static func run(_ configs: [SweepSpec.Configuration], store: ProfileStore, threads: Int,
                           engineOverride: EngineProfile? = nil,
                           progress: (@Sendable (Int, Int) -> Void)? = nil) -> [SweepResult] {
        let box = Box(configs.count)
        let next = Box(0)
        let workers = max(1, min(threads, configs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                next.lock.lock()
                let i = next.done
                next.done += 1
                next.lock.unlock()
                if i >= configs.count { return }
                let c = configs[i]
                var r = SweepResult(configuration: c, outcome: nil, error: nil)
                do {
                    r.outcome = try Simulation.run(arguments: c.args, store: store, engineOverride: engineOverride)
                } catch let e as InputError { r.error = e.message } catch { r.error = "\(error)" }
                box.lock.lock()
                box.results[i] = r
                box.done += 1
                let d = box.done
                box.lock.unlock()
                progress?(d, configs.count)
            }
        }
        return box.results.map { $0! }
    }

    /// CSV of the results: grid, each axis label, status, then the main metrics.
    public static func csv(_ results: [SweepResult]) -> String {
        let axes = results.reduce(into: [String]()) { acc, r in for l in r.configuration.labels where !acc.contains(l.axis) { acc.append(l.axis) } }
        let metrics = ["output_throughput", "output_throughput_per_gpu", "request_throughput", "total_token_throughput",
                       "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "p99_itl_ms",
                       "mean_e2el_ms", "p99_e2el_ms", "num_gpus", "preemptions", "duration"]
        var s = (["index", "grid"] + axes + ["status"] + metrics).joined(separator: ",") + "\n"
        for r in results {
            var row = [String(r.configuration.index), r.configuration.grid]
            row += axes.map { a in csvField(r.configuration.label(a) ?? "") }
            if let res = r.result {
                row.append("ok")
                let f = Dictionary(res.fields().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
                row += metrics.map { m in
                    if let d = f[m] as? Double { return JSONWriter.number(d) }
                    if let i = f[m] { return "\(i)" }
                    return ""
                }
            } else {
                row.append(csvField("error: " + (r.error ?? "unknown")))
                row += metrics.map { _ in "" }
            }
            s += row.joined(separator: ",") + "\n"
        }
        return s
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// One JSON object per line: the configuration (grid, labels, args) and its result or error.
    public static func jsonLines(_ results: [SweepResult]) -> String {
        var s = ""
        for r in results {
            var f: [(String, Any)] = [("index", r.configuration.index), ("grid", r.configuration.grid),
                                      ("labels", r.configuration.labels.map { ($0.axis, $0.label as Any) } as [(String, Any)]),
                                      ("args", r.configuration.args)]
            if let o = r.outcome { f.append(("result", Simulation.fields(o))) } else { f.append(("error", r.error ?? "")) }
            s += JSONWriter.write(f, indent: 0) + "\n"
        }
        return s
    }
}
