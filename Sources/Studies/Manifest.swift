import Foundation
import SimKit
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
        /// A step trace compared step by step (`"step_trace": FILE`; `runs` holds the deployment's flags).
        public var stepTrace: StepTrace? = nil
        /// Labels for grouping the errors (`"tags": [...]`): `validate` also summarizes the held-out rows with and
        /// without each tag.
        public var tags: [String] = []
    }

    public var description: String
    public var entries: [Entry]
    public var file: String
    /// Files the manifest's runs read (traces, configs, result files): outputs must not overwrite them.
    public var inputFiles: [String] = []

    public static let metrics = ["output_throughput", "request_throughput", "total_token_throughput", "mean_ttft_ms", "median_ttft_ms",
                                 "p99_ttft_ms", "mean_tpot_ms", "median_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "median_itl_ms", "p99_itl_ms",
                                 "mean_e2el_ms", "median_e2el_ms", "p99_e2el_ms", "output_throughput_per_gpu", "elapsed_time", "kv_cache_capacity_tokens"]

    /// A manifest file, or a vLLM benchmark result file standing alone (one held-out entry whose run settings come
    /// from the file, completed by `runArgs`: the deployment, which vLLM's file does not hold).
    public init(file: String, runArgs: [String] = [], fitStandalone: Bool = false) throws {
        self.file = file
        let j = try JSONNode.load(file: file)
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        // A step trace or an offline result of moesim's vLLM harness (probe/vllm), standing alone.
        if (try? j.string("kind")) == "vllm-step-trace" {
            let trace = try StepTrace.load(file: file)
            let prov = j.optional("provenance")
            var args = try Self.harnessDeployment(prov, given: runArgs, file: file)
            if trace.runKind == "offline" && !args.contains("--usage-context") { args += ["--usage-context", "offline"] }
            description = "vLLM step trace \(file)"
            entries = [Entry(id: name, fit: fitStandalone, runs: [args], measured: [("step_time_ms", Statistics.percentile(trace.steps.map(\.measuredUs), 50) / 1e3)],
                             note: "settings from the step trace: \(args.joined(separator: " "))", stepTrace: trace)]
            inputFiles = [file] + OutputFiles.files(inArgumentLists: [args])
            return
        }
        if !j.has("runs") && j.has("elapsed_time") && j.has("num_requests") {
            var args = try Self.harnessDeployment(j.optional("provenance"), given: runArgs, file: file)
            guard let run = j.optional("run") else { throw j.fail("an offline result needs its 'run' (n, in, out), as probe/vllm/vllm_bench.py writes it") }
            if !args.contains("--usage-context") { args += ["--usage-context", "offline"] }
            args += ["--num-prompts", String(try run.int("n")), "--random-input-len", String(try run.int("in")), "--random-output-len", String(try run.int("out"))]
            if let p = run.optional("prefix"), try p.int() > 0 { args += ["--random-prefix-len", String(try p.int())] }
            let e = try j.double("elapsed_time")
            guard e > 0 else { throw try j.require("elapsed_time").fail("must be positive, found \(e)") }
            description = "vLLM offline result \(file)"
            entries = [Entry(id: name, fit: fitStandalone, runs: [args], measured: [("elapsed_time", e)],
                             note: "settings from the result file: \(args.joined(separator: " "))")]
            inputFiles = [file] + OutputFiles.files(inArgumentLists: [args])
            return
        }
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
            if let st = e.optional("step_trace") {
                // A vLLM step trace: each busy step predicted from what it ran ('args' gives the deployment).
                let path = try st.string()
                let full = path.hasPrefix("/") ? path : base + "/" + path
                let trace = try StepTrace.load(file: full)
                guard let a = e.optional("args") else { throw e.fail("a 'step_trace' entry needs 'args': the deployment's flags (--model, --gpu, ...)") }
                resultFiles.append(full)
                return Entry(id: id, fit: try e.bool("fit", default: false), runs: [Self.resolvingFiles(try a.array().map { try $0.string() }, base: base)],
                             measured: [("step_time_ms", Statistics.percentile(trace.steps.map(\.measuredUs), 50) / 1e3)],
                             note: try e.optional("note")?.string(), stepTrace: trace, tags: try Self.tags(e))
            }
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
            // A trace named in a run's flags is found beside the manifest, as result files are.
            runs = runs.map { Self.resolvingFiles($0, base: base) }
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
                         note: try e.optional("note")?.string(), tags: try Self.tags(e))
        }
        guard !entries.isEmpty else { throw j.fail("'runs' is empty") }
        inputFiles = [file] + OutputFiles.files(inArgumentLists: entries.flatMap(\.runs)) + resultFiles
    }
}

extension Manifest {
    /// The deployment of a run of moesim's vLLM harness, from its provenance (model, GPU, the engine arguments the
    /// job set), with `given` taking precedence: the flags `moesim run` needs to predict it.
    static func harnessDeployment(_ prov: JSONNode?, given: [String], file: String) throws -> [String] {
        var args = given
        func has(_ f: String) -> Bool { given.contains(f) || given.contains { $0.hasPrefix(f + "=") } }
        if !has("--model") {
            guard let m = try prov?.optional("model")?.string() else { throw InputError.data("\(file): no provenance.model; give --model in --run-args") }
            args += ["--model", m]
        }
        if !has("--gpu") {
            // nvidia-smi's name, as the harness records it ("NVIDIA H200, 143771 MiB, 580.159.04").
            let names = (try? prov?.optional("gpu")?.array().map { try $0.string() }) ?? nil
            let gpu = (names ?? []).first?.lowercased() ?? ""
            let known: [(String, String)] = [("h200", "h200-sxm-141gb"), ("h100", "h100-sxm-80gb"), ("a100-sxm4-80gb", "a100-sxm4-80gb"), ("a100-sxm4-40gb", "a100-sxm4-40gb")]
            guard let g = known.first(where: { gpu.contains($0.0) })?.1 else {
                throw InputError.data("\(file): the GPU '\(names?.first ?? "not recorded")' has no shipped profile name; give --gpu in --run-args")
            }
            args += ["--gpu", g]
        }
        // The engine arguments the job set (vllm_bench.py's "engine_args"), as moesim flags.
        if let e = prov?.optional("engine_args"), let o = e.object {
            func flag(_ key: String, _ f: String) throws { if o[key] != nil, !has(f) { args += [f, String(try e.int(key))] } }
            try flag("max_num_batched_tokens", "--max-num-batched-tokens")
            try flag("max_num_seqs", "--max-num-seqs")
            try flag("tensor_parallel_size", "--tensor-parallel-size")
            try flag("data_parallel_size", "--data-parallel-size")
            if (o["async_scheduling"] as? Bool) == false, !has("--no-async-scheduling") { args.append("--no-async-scheduling") }
            if (o["enforce_eager"] as? Bool) == true, !has("--enforce-eager") { args.append("--enforce-eager") }
            if (o["enable_prefix_caching"] as? Bool) == false, !has("--no-enable-prefix-caching") { args.append("--no-enable-prefix-caching") }
            if (o["enable_expert_parallel"] as? Bool) == true, !has("--enable-expert-parallel") { args.append("--enable-expert-parallel") }
            if let kv = o["kv_cache_dtype"] as? String, !has("--kv-cache-dtype") { args += ["--kv-cache-dtype", kv] }
            if let q = o["quantization"] as? String, !has("--quantization") { args += ["--quantization", q] }
        }
        return args
    }

    static func tags(_ e: JSONNode) throws -> [String] {
        guard let t = e.optional("tags") else { return [] }
        return try t.array().map { try $0.string() }
    }

    /// `--trace FILE`, `--model FILE` (a config.json; a shipped model's name is no file there) and
    /// `--routing histogram:FILE` / `trace:FILE` relative to the manifest's folder (made absolute when the file is there).
    static func resolvingFiles(_ args: [String], base: String) -> [String] {
        var out = args
        for i in out.indices.dropLast() where out[i] == "--trace" || out[i] == "--routing" || out[i] == "--model" {
            var prefix = "", p = out[i + 1]
            if out[i] == "--routing" {
                guard let c = p.firstIndex(of: ":"), ["histogram", "trace"].contains(String(p[..<c])) else { continue }
                prefix = String(p[...c]); p = String(p[p.index(after: c)...])
            }
            if !p.hasPrefix("/"), FileManager.default.fileExists(atPath: base + "/" + p) { out[i + 1] = prefix + base + "/" + p }
        }
        return out
    }

    /// `moesim run` flags for the run a vLLM result file describes: `given` first, then each workload setting the file
    /// holds and `given` does not (model_id, num_prompts, mean input and output lengths, request_rate, burstiness,
    /// max_concurrency).
    public static func argsFromResult(_ r: JSONNode, given: [String], file: String) throws -> [String] {
        // moesim's harness records each request (send time, lengths): replay exactly those requests.
        if r.has("send_times") && r.has("input_lens") && r.has("output_lens") {
            var args = try harnessDeployment(r.optional("provenance"), given: given, file: file)
            if !args.contains("--model"), let m = try r.optional("model_id")?.string() { args += ["--model", m] }
            args += ["--trace", file]
            if let c = r.optional("max_concurrency"), !given.contains("--max-concurrency") { args += ["--max-concurrency", String(try c.int())] }
            return args
        }
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
    /// Step traces: how many, how many steps, and the median over all their steps of |predicted / measured - 1|.
    public struct StepSummary: Sendable { public var traces: Int; public var steps: Int; public var medianAbs: Double; public var p90Abs: Double }

    public static func summarizeSteps(_ rows: [Row]) -> StepSummary {
        let st = rows.filter(\.isStepTrace)
        let all = st.flatMap { $0.stepAbsErrors ?? [] }
        guard !all.isEmpty else { return StepSummary(traces: 0, steps: 0, medianAbs: .nan, p90Abs: .nan) }
        return StepSummary(traces: st.count, steps: all.count, medianAbs: Statistics.percentile(all, 50), p90Abs: Statistics.percentile(all, 90))
    }

    public struct Row: Sendable {
        public var id: String
        public var fit: Bool
        public var metric: String
        public var measured: Double
        public var predicted: Double?
        public var error: String?
        /// The run (or a run of the group, or the step trace's replay) failed: `error` is its error, the same on every
        /// row of the entry (unlike a metric the run does not predict).
        public var runFailed = false
        /// A step trace's row: every compared step's |predicted / measured - 1|, the median signed error, and the
        /// trace's calibration loss (mean squared log error, clipped).
        public var tags: [String] = []
        public var stepAbsErrors: [Double]? = nil
        public var stepMedianError: Double? = nil
        public var stepLoss: Double? = nil
        /// A step trace's steps by the CUDA-graph mode vLLM ran them in, and how often the model chose the same mode.
        public var stepModes: [(mode: String, steps: Int, measuredMs: Double, predictedMs: Double, medianError: Double)] = []
        public var modeAgreement: Double? = nil
        /// Signed relative error (predicted - measured) / measured; for a step trace, the median over its steps.
        public var relativeError: Double? { stepMedianError ?? predicted.map { ($0 - measured) / measured } }
        public var isStepTrace: Bool { stepAbsErrors != nil }
    }

    /// Predicts every entry (the runs of a group averaged), in parallel over `threads`; deterministic.
    /// `engine` replaces the engine profile of every run of its kind.
    public static func predict(_ m: Manifest, entries: [Manifest.Entry]? = nil, store: ProfileStore, engine: EngineProfile?,
                               threads: Int) -> [Row] {
        let all = entries ?? m.entries
        let es = all.filter { $0.stepTrace == nil }
        let jobs = es.flatMap { $0.runs }.enumerated().map { SweepSpec.Configuration(index: $0.offset, grid: "manifest", labels: [], args: $0.element) }
        let results = SweepRunner.run(jobs, store: store, threads: threads, engineOverride: engine)
        var rows: [Row] = []
        var j = 0
        var stepRows: [String: [Row]] = [:]
        let traces = all.filter { $0.stepTrace != nil }
        for e in traces { stepRows[e.id] = stepTraceRows(e, store: store, engine: engine) }
        for e in es {
            var sums: [String: Double] = [:]
            var err: String? = nil
            for _ in e.runs {
                if let r = results[j].result {
                    for (k, v) in r.fields() { if let x = v as? Double { sums[k, default: 0] += x } else if let i = v as? Int { sums[k, default: 0] += Double(i) } }
                } else { err = results[j].error }
                j += 1
            }
            for (k, v) in e.measured {
                var row = Row(id: e.id, fit: e.fit, metric: k, measured: v, predicted: nil, error: err)
                row.runFailed = err != nil
                row.tags = e.tags
                if err == nil { if let s = sums[k] { row.predicted = s / Double(e.runs.count) } else { row.error = "metric \(k) not predicted" } }
                rows.append(row)
            }
        }
        // Rows in the manifest's order.
        var byID: [String: [Row]] = stepRows
        for r in rows { byID[r.id, default: []].append(r) }
        return all.flatMap { byID[$0.id] ?? [] }
    }

    /// A step trace's row: the deployment from the entry's flags, every busy step replayed.
    static func stepTraceRows(_ e: Manifest.Entry, store: ProfileStore, engine: EngineProfile?) -> [Row] {
        guard let trace = e.stepTrace, let args = e.runs.first else { return [] }
        var row = Row(id: e.id, fit: e.fit, metric: "step_time_ms", measured: e.measured.first?.1 ?? 0, predicted: nil, error: nil)
        row.tags = e.tags
        do {
            let a = try ParsedArguments(args, options: RunOptions.deployment + RunOptions.workload + RunOptions.output)
            let d = try RunOptions.deployment(a, store: store, engineOverride: engine)
            let c = try trace.compare(deployment: d, seed: try RunOptions.seed(a))
            row.predicted = c.medianPredictedMs
            row.stepAbsErrors = zip(c.predictedUs, c.measuredUs).map { abs($0 / $1 - 1) }
            row.stepMedianError = c.medianError
            row.stepLoss = c.meanSquaredLogError
            row.stepModes = c.byMode
            row.modeAgreement = c.modeAgreement
        } catch { row.error = "\(error)"; row.runFailed = true }
        return [row]
    }

    /// The entries whose run failed, each once with its error, in the rows' order; and how many entries the rows cover.
    public static func failedRuns(_ rows: [Row]) -> (failed: [(id: String, error: String)], entries: Int) {
        var ids: [String] = [], seen = Set<String>(), error: [String: String] = [:]
        for r in rows {
            if seen.insert(r.id).inserted { ids.append(r.id) }
            if r.runFailed, error[r.id] == nil { error[r.id] = r.error ?? "no prediction" }
        }
        return (ids.compactMap { id in error[id].map { (id, $0) } }, ids.count)
    }

    public struct Summary: Sendable { public var count: Int; public var mape: Double; public var maxAbs: Double }

    public static func summarize(_ rows: [Row]) -> Summary {
        let errs = rows.filter { !$0.isStepTrace }.compactMap { $0.relativeError.map(abs) }
        guard !errs.isEmpty else { return Summary(count: 0, mape: .nan, maxAbs: .nan) }
        return Summary(count: errs.count, mape: errs.reduce(0, +) / Double(errs.count), maxAbs: errs.max()!)
    }
}
