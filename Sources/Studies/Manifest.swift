import Foundation
import Cluster
import Serving

/// A measured-run manifest: runs (or groups of runs) with their measured metrics, some marked for fitting.
///
/// An entry is either one run (`args`) or a group (`group`: a list of argument lists) whose metric is the
/// mean over its runs (`aggregate: "mean"`), which is how published tables report averages. A `result_file`
/// (a vLLM benchmark JSON) may stand in for `measured`.
public struct Manifest: Sendable {
    public struct Entry: Sendable {
        public var id: String
        public var fit: Bool
        public var runs: [[String]]
        public var measured: [(String, Double)]
        public var note: String?
    }

    public var description: String
    public var entries: [Entry]
    public var file: String
    /// Files the manifest's runs read (traces, configs, result files): outputs must not overwrite them.
    public var inputFiles: [String] = []

    public static let metrics = ["output_throughput", "request_throughput", "total_token_throughput", "mean_ttft_ms", "median_ttft_ms",
                                 "p99_ttft_ms", "mean_tpot_ms", "median_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "median_itl_ms", "p99_itl_ms",
                                 "mean_e2el_ms", "median_e2el_ms", "p99_e2el_ms", "output_throughput_per_gpu"]

    /// A manifest file, or a vLLM benchmark result file standing alone (one held-out entry whose run settings come
    /// from the file, completed by `runArgs`: the deployment, which vLLM's file does not hold).
    public init(file: String, runArgs: [String] = [], fitStandalone: Bool = false) throws {
        self.file = file
        let j = try JSONNode.load(file: file)
        if !j.has("runs") && j.has("completed") && j.has("duration") {
            let args = try Self.argsFromResult(j, given: runArgs, file: file)
            var measured: [(String, Double)] = []
            for k in Self.metrics where j.has(k) {
                // A metric of the file must be a number (a malformed one is an error, not left out); 0 is no measurement.
                let x = try j.double(k)
                if x > 0 { measured.append((k, x)) }
            }
            guard !measured.isEmpty else { throw j.fail("has none of the benchmark's metrics (\(Self.metrics.prefix(4).joined(separator: ", ")) ...)") }
            description = "vLLM result \(file)"
            entries = [Entry(id: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, fit: fitStandalone, runs: [args], measured: measured,
                             note: "settings from the vLLM result file: \(args.joined(separator: " "))")]
            inputFiles = [file] + OutputFiles.files(inArgumentLists: [args])
            return
        }
        guard runArgs.isEmpty else { throw InputError.usage("'--run-args' completes a vLLM result file given in place of a manifest; \(file) is a manifest (put the flags in its entries' 'args')") }
        let v = try j.int("version")
        guard v == 1 else { throw try j.require("version").fail("is \(v); this moesim reads version 1") }
        description = try j.optional("description")?.string() ?? ""
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().path
        var seen = Set<String>()
        var resultFiles: [String] = []
        entries = try j.require("runs").array().map { e in
            let id = try e.string("id")
            guard seen.insert(id).inserted else { throw e.fail("duplicate id '\(id)'") }
            var runs: [[String]]
            if let rf = e.optional("result_file"), e.optional("group") == nil {
                // A vLLM result file holds the workload (model, prompts, lengths, rate, concurrency): 'args' adds the deployment.
                let path = try rf.string()
                let given = try e.optional("args")?.array().map { try $0.string() } ?? []
                runs = [try Self.argsFromResult(try JSONNode.load(file: path.hasPrefix("/") ? path : base + "/" + path), given: given, file: path)]
            }
            else if let a = e.optional("args") { runs = [try a.array().map { try $0.string() }] }
            else if let g = e.optional("group") { runs = try g.array().map { try $0.array().map { try $0.string() } } }
            else { throw e.fail("needs 'args' (one run), 'group' (runs averaged) or 'result_file' (a vLLM result, with 'args' for the deployment)") }
            guard !runs.isEmpty else { throw e.fail("has no runs") }
            var measured: [(String, Double)] = []
            if let m = e.optional("measured") {
                guard let keys = m.keys else { throw m.fail("expected an object of metric values, found \(m.described)") }
                for k in keys.sorted() where Self.metrics.contains(k) {
                    let node = try m.require(k)
                    let x = try node.double()
                    guard x > 0 else { throw node.fail("must be positive, found \(x)") }
                    measured.append((k, x))
                }
            } else if let rf = e.optional("result_file") {
                let path = try rf.string()
                let full = path.hasPrefix("/") ? path : base + "/" + path
                resultFiles.append(full)
                let r = try JSONNode.load(file: full)
                for k in Self.metrics where r.has(k) {
                    let node = try r.require(k)
                    let x = try node.double()
                    guard x > 0 else { throw node.fail("must be positive, found \(x)") }
                    measured.append((k, x))
                }
            }
            guard !measured.isEmpty else {
                throw e.fail("has no measured metrics; expected some of \(quotedChoices(Array(Self.metrics.prefix(4)))) ...")
            }
            return Entry(id: id, fit: try e.bool("fit", default: false), runs: runs, measured: measured,
                         note: try e.optional("note")?.string())
        }
        guard !entries.isEmpty else { throw j.fail("'runs' is empty") }
        inputFiles = [file] + OutputFiles.files(inArgumentLists: entries.flatMap(\.runs)) + resultFiles
    }
}

extension Manifest {
    /// `moesim run` flags for the run a vLLM result file describes: `given` first, then each workload setting the file
    /// holds and `given` does not (model_id, num_prompts, mean input and output lengths, request_rate, burstiness,
    /// max_concurrency).
    public static func argsFromResult(_ r: JSONNode, given: [String], file: String) throws -> [String] {
        var args = given
        func has(_ f: String) -> Bool { given.contains(f) || given.contains { $0.hasPrefix(f + "=") } || (f == "--tensor-parallel-size" && given.contains("-tp")) }
        if !has("--model") {
            guard let m = try r.optional("model_id")?.string() else {
                throw InputError.data("\(file): the vLLM result has no model_id; give --model in the run's arguments")
            }
            args += ["--model", m]
        }
        let completed = try r.int("completed")
        guard completed > 0 else { throw InputError.data("\(file): 'completed' is 0: no request finished, nothing to compare") }
        if !has("--num-prompts") { args += ["--num-prompts", String(try r.optional("num_prompts")?.int() ?? completed)] }
        if !has("--random-input-len"), let t = try r.optional("total_input_tokens")?.double() {
            args += ["--random-input-len", String(max(1, Int((t / Double(completed)).rounded())))]
        }
        if !has("--random-output-len"), let t = try r.optional("total_output_tokens")?.double() {
            args += ["--random-output-len", String(max(1, Int((t / Double(completed)).rounded())))]
        }
        if !has("--request-rate"), let rate = r.optional("request_rate") {
            let v: String
            if let str = try? rate.string() { v = str } else { v = JSONWriter.number(try rate.double()) }
            if v != "inf" {
                args += ["--request-rate", v]
                if !has("--burstiness"), let b = try r.optional("burstiness")?.double(), b != 1 { args += ["--burstiness", JSONWriter.number(b)] }
            }
        }
        if !has("--max-concurrency"), let c = r.optional("max_concurrency") { args += ["--max-concurrency", String(try c.int())] }
        return args
    }
}

/// Predicts manifest entries with a given engine profile and compares them with the measurements.
public enum Validation {
    public struct Row: Sendable {
        public var id: String
        public var fit: Bool
        public var metric: String
        public var measured: Double
        public var predicted: Double?
        public var error: String?
        /// Signed relative error (predicted - measured) / measured.
        public var relativeError: Double? { predicted.map { ($0 - measured) / measured } }
    }

    /// Predicts every entry (the runs of a group averaged), in parallel over `threads`; deterministic.
    /// `engine` replaces the engine profile of every run of its kind.
    public static func predict(_ m: Manifest, entries: [Manifest.Entry]? = nil, store: ProfileStore, engine: EngineProfile?,
                               threads: Int) -> [Row] {
        let es = entries ?? m.entries
        let jobs = es.flatMap { $0.runs }.enumerated().map { SweepSpec.Configuration(index: $0.offset, grid: "manifest", labels: [], args: $0.element) }
        let results = SweepRunner.run(jobs, store: store, threads: threads, engineOverride: engine)
        var rows: [Row] = []
        var j = 0
        for e in es {
            var sums: [String: Double] = [:]
            var err: String? = nil
            for _ in e.runs {
                if let r = results[j].result {
                    for (k, v) in r.fields() { if let x = v as? Double { sums[k, default: 0] += x } }
                } else { err = results[j].error }
                j += 1
            }
            for (k, v) in e.measured {
                var row = Row(id: e.id, fit: e.fit, metric: k, measured: v, predicted: nil, error: err)
                if err == nil { if let s = sums[k] { row.predicted = s / Double(e.runs.count) } else { row.error = "metric \(k) not predicted" } }
                rows.append(row)
            }
        }
        return rows
    }

    public struct Summary: Sendable { public var count: Int; public var mape: Double; public var maxAbs: Double }

    public static func summarize(_ rows: [Row]) -> Summary {
        let errs = rows.compactMap { $0.relativeError.map(abs) }
        guard !errs.isEmpty else { return Summary(count: 0, mape: .nan, maxAbs: .nan) }
        return Summary(count: errs.count, mape: errs.reduce(0, +) / Double(errs.count), maxAbs: errs.max()!)
    }
}
