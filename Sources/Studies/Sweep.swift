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
        public init(index: Int, grid: String, labels: [(axis: String, label: String)], args: [String]) {
            self.index = index; self.grid = grid; self.labels = labels; self.args = args
        }
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
        // The name makes the default output folder (sweep-<name>): one plain path component.
        guard OutputFiles.isPlainName(name) else { throw try j.require("name").fail("\"\(name)\" is not a plain name (no '/', not '.' or '..', no control characters): it names the output folder") }
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
            // Axes are columns of the results, by name: two of one grid with the same name would share a column.
            var names = Set<String>()
            for (i, ax) in axes.enumerated() where !names.insert(ax.name).inserted {
                throw try g.require("axes").array()[i].require("name").fail("\"\(ax.name)\" names two axes of one grid (each axis is a column of the results); give each its own name")
            }
            return Grid(name: try g.string("name"), base: try g.require("base").array().map { try $0.string() }, axes: axes)
        }
        guard !grids.isEmpty else { throw j.fail("'grids' is empty") }
        // Count before enumerating: a spec's axes multiply, and the configurations are held in memory.
        var total = 0
        for g in grids {
            guard let n = Limits.product(g.axes.map(\.values.count), limit: Limits.maxConfigurations),
                  total + n <= Limits.maxConfigurations else {
                throw InputError.data("\(file): grid '\(g.name)' has \(g.axes.map { String($0.values.count) }.joined(separator: " x ")) configurations, more than the limit of \(Limits.maxConfigurations) per spec")
            }
            total += n
        }
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
    /// `completed`, when given, is called with each result as it finishes (one call at a time, in completion
    /// order), so that callers can write results as they come.
    public static func run(_ configs: [SweepSpec.Configuration], store: ProfileStore, threads: Int,
                           engineOverride: EngineProfile? = nil,
                           progress: (@Sendable (Int, Int) -> Void)? = nil,
                           completed: (@Sendable (SweepResult) -> Void)? = nil) -> [SweepResult] {
        let box = Box(configs.count)
        let next = Box(0)
        let workers = max(1, min(threads, configs.count))
        // The command's file registry and work limits, on every worker thread.
        let registry = FileRegistry.current, work = Limits.work
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
          FileRegistry.carrying(registry, work) {
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
                completed?(r)
                box.done += 1
                let d = box.done
                box.lock.unlock()
                progress?(d, configs.count)
            }
          }
        }
        return box.results.map { $0! }
    }

    static let csvMetrics = ["output_throughput", "output_throughput_per_gpu", "request_throughput", "total_token_throughput",
                             "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "p99_itl_ms",
                             "mean_e2el_ms", "p99_e2el_ms", "num_gpus", "preemptions", "duration"]

    /// The axes of some configurations, in first-seen order.
    public static func axes(_ configs: [SweepSpec.Configuration]) -> [String] {
        configs.reduce(into: [String]()) { acc, c in for l in c.labels where !acc.contains(l.axis) { acc.append(l.axis) } }
    }

    /// The CSV header line (RFC 4180 quoting).
    public static func csvHeader(axes: [String]) -> String {
        (["index", "grid"] + axes + ["status"] + csvMetrics).map(csvField).joined(separator: ",") + "\n"
    }

    /// One CSV line: the configuration, then "ok" and the metrics as their JSON text, or the error.
    static func csvLine(_ c: SweepSpec.Configuration, axes: [String], metrics: [String]?, error: String?) -> String {
        var row = [String(c.index), csvField(c.grid)]
        row += axes.map { a in csvField(c.label(a) ?? "") }
        if let m = metrics { row.append("ok"); row += m.map(csvField) }
        else { row.append(csvField("error: " + (error ?? "unknown"))); row += csvMetrics.map { _ in "" } }
        return row.joined(separator: ",") + "\n"
    }

    /// The CSV line of one result (the metrics printed exactly as in its JSON line).
    public static func csvLine(_ r: SweepResult, axes: [String]) -> String {
        guard let res = r.result else { return csvLine(r.configuration, axes: axes, metrics: nil, error: r.error) }
        let f = Dictionary(res.fields().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        return csvLine(r.configuration, axes: axes, metrics: csvMetrics.map { m in
            if let d = f[m] as? Double { return JSONWriter.number(d) }
            if let i = f[m] { return "\(i)" }
            return ""
        }, error: nil)
    }

    /// The CSV line of a result read back from its JSON line (for `sweep --resume`): the same text as `csvLine(_:axes:)`.
    public static func csvLine(jsonLine line: String, configuration c: SweepSpec.Configuration, axes: [String]) -> String {
        guard let r = line.range(of: "\"result\":{") else {
            let obj = try? JSONNode.parse(data: Data(line.utf8), file: "results.jsonl")
            return csvLine(c, axes: axes, metrics: nil, error: try? obj?.optional("error")?.string())
        }
        let body = line[r.upperBound...]
        return csvLine(c, axes: axes, metrics: csvMetrics.map { m in
            guard let k = body.range(of: "\"\(m)\":") else { return "" }
            let rest = body[k.upperBound...]
            return String(rest.prefix { $0 != "," && $0 != "}" })
        }, error: nil)
    }

    /// CSV of the results: grid, each axis label, status, then the main metrics.
    public static func csv(_ results: [SweepResult]) -> String {
        let axes = axes(results.map(\.configuration))
        var s = csvHeader(axes: axes)
        for r in results { s += csvLine(r, axes: axes) }
        return s
    }

    /// A field quoted as RFC 4180 asks when it holds a comma, a quote, a CR or an LF (quotes doubled).
    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// One JSON object per line: the configuration (grid, labels, args) and its result or error.
    public static func jsonLines(_ results: [SweepResult]) -> String {
        results.map(jsonLine).joined()
    }

    /// One result's JSON line (with its newline).
    public static func jsonLine(_ r: SweepResult) -> String {
        var f: [(String, Any)] = [("index", r.configuration.index), ("grid", r.configuration.grid),
                                  ("labels", r.configuration.labels.map { ($0.axis, $0.label as Any) } as [(String, Any)]),
                                  ("args", r.configuration.args)]
        if let o = r.outcome { f.append(("result", Simulation.fields(o))) } else { f.append(("error", r.error ?? "")) }
        return JSONWriter.write(f, indent: 0) + "\n"
    }

    /// The longest results line read back (one configuration's result is a few kilobytes; longer lines are not ours).
    public static let maxLineBytes = 16_000_000

    /// Lines of an earlier `results.jsonl` that belong to `configs` (same index, grid and arguments), by index;
    /// anything else (a changed spec, a torn last line of a killed run) is ignored and run again.
    public static func finishedLines(_ text: String, configs: [SweepSpec.Configuration]) -> [Int: String] {
        var out: [Int: String] = [:]
        let byIndex = Dictionary(configs.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.utf8.count <= maxLineBytes {
            guard let obj = try? JSONNode.parse(data: Data(line.utf8), file: "results.jsonl"),
                  let i = try? obj.int("index"), let c = byIndex[i],
                  (try? obj.string("grid")) == c.grid, (try? obj.require("args").array().map { try $0.string() }) == c.args,
                  obj.has("result") || obj.has("error") else { continue }
            out[i] = String(line) + "\n"
        }
        return out
    }
}
