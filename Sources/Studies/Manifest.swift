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
        /// Two step traces of the same rounds compared as a ratio (`"step_ratio": {"of": ID, "over": ID, "steps": KIND}`,
        /// both traces entries earlier in the manifest): the median measured step of one trace's steps of that kind over
        /// the other's, against the same ratio of moesim's replays (metric `step_time_ratio`). Engines timed in turn on
        /// one vCPU (probe/vllm/pairhost.py) share its speed, which moves both alike, so the ratio says how moesim
        /// prices the two against each other whatever the vCPU did; a fit can weigh it as such.
        public var stepRatio: StepRatio? = nil
    }

    public struct StepRatio: Sendable {
        public var of: String, over: String
        public var steps: StepKind
    }

    /// Which steps of a trace a `step_ratio` compares: those vLLM ran without CUDA graphs that hold a prompt chunk,
    /// with no decode (`graphless_prompts`), with decodes (`graphless_mixed`), or both (`graphless`).
    public enum StepKind: String, Sendable, CaseIterable {
        case graphlessPrompts = "graphless_prompts", graphlessMixed = "graphless_mixed", graphless

        public func includes(_ s: StepTrace.Step) -> Bool {
            guard s.recordedMode == "NONE", s.batch.prefillSequences > 0 else { return false }
            switch self {
            case .graphless: return true
            case .graphlessPrompts: return s.batch.decodeSequences == 0
            case .graphlessMixed: return s.batch.decodeSequences > 0
            }
        }
    }

    /// The fewest steps of the kind each trace of a `step_ratio` must hold: a median of fewer says little.
    public static let stepRatioMinSteps = 10

    public var description: String
    public var entries: [Entry]
    public var file: String
    /// Files the manifest's runs read (traces, configs, result files): outputs must not overwrite them.
    public var inputFiles: [String] = []

    public static let metrics = ["output_throughput", "request_throughput", "total_token_throughput", "mean_ttft_ms", "median_ttft_ms",
                                 "p99_ttft_ms", "mean_tpot_ms", "median_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "median_itl_ms", "p99_itl_ms",
                                 "mean_e2el_ms", "median_e2el_ms", "p99_e2el_ms", "output_throughput_per_gpu", "elapsed_time", "kv_cache_capacity_tokens", "avg_latency",
                                 "max_output_tokens_per_s", "max_concurrent_requests"]

    /// A percentile key as `vllm bench serve --metric-percentiles` writes it (`p90_ttft_ms`, `p99.9_itl_ms`): the
    /// percentile and the metric (ttft, tpot, itl, e2el); nil for any other key. Any percentile is compared, from
    /// the run's latency samples.
    public static func percentileKey(_ k: String) -> (q: Double, metric: String)? {
        guard k.hasPrefix("p"), k.hasSuffix("_ms") else { return nil }
        let parts = k.dropFirst().dropLast(3).split(separator: "_")
        guard parts.count == 2, let q = Double(parts[0]), q >= 0, q <= 100, ["ttft", "tpot", "itl", "e2el"].contains(String(parts[1])),
              !parts[0].contains("e"), !parts[0].hasPrefix("+"), !parts[0].hasPrefix("-") else { return nil }
        return (q, String(parts[1]))
    }

    /// A key validate compares: one of `metrics`, or any percentile key.
    static func isMetric(_ k: String) -> Bool { Self.metrics.contains(k) || percentileKey(k) != nil }

    /// The metrics of a file's keys: the fixed ones, then any other percentile key, in the file's order.
    static func metricKeys(_ keys: [String]) -> [String] {
        Self.metrics.filter(keys.contains) + keys.filter { !Self.metrics.contains($0) && isMetric($0) }
    }

    /// Keys a run's `measured` may hold beside the metrics, kept as a record and not compared: the harness's
    /// individual repeats behind a median (probe/harness/make_manifest.py).
    public static let measuredRecords = ["repeats_ms"]

    /// A manifest file, or a vLLM benchmark result file standing alone (one held-out entry whose run settings come
    /// from the file, completed by `runArgs`: the deployment, which vLLM's file does not hold).
    public init(file: String, runArgs: [String] = [], fitStandalone: Bool = false) throws {
        let j = try JSONNode.load(file: file, pythonNonFinite: true)
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        self.file = file
        let throughputFile = !j.has("runs") && j.has("elapsed_time") && j.has("num_requests") && !j.has("run") && !j.has("provenance")
        if throughputFile || (!j.has("runs") && j.has("avg_latency") && j.has("latencies")) {
            let entry = throughputFile ? try Self.vllmThroughputEntry(j, file: file, runArgs: runArgs, fitStandalone: fitStandalone, name: name)
                : try Self.vllmLatencyEntry(j, file: file, runArgs: runArgs, fitStandalone: fitStandalone, name: name)
            description = "vllm bench \(throughputFile ? "throughput" : "latency") result \(file)"
            entries = [entry]
            inputFiles = [file] + OutputFiles.files(inArgumentLists: entry.runs)
            return
        }
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
            // The file holds the workload: flags for it in --run-args are refused, not taken over the file's.
            var held: [(flag: String, holds: String)] = [("--num-prompts", "run.n \(try run.int("n"))"), ("--random-input-len", "run.in \(try run.int("in"))"),
                                                         ("--random-output-len", "run.out \(try run.int("out"))")]
            if let p = run.optional("prefix") { held.append(("--random-prefix-len", "run.prefix \(p.described)")) }
            try GivenArgs(runArgs).refuseOverrides(held + Self.datasetFlags.map { ($0, "the lengths of its prompts (run: n, in, out)") }, file: file)
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
        if !j.has("runs") && j.has("completed") && (j.keys ?? []).contains("duration") {
            let args = try Self.argsFromResult(j, given: GivenArgs(runArgs), file: file)
            var measured: [(String, Double)] = []
            for k in Self.metricKeys(j.keys ?? []) where j.has(k) {
                // A metric of the file must be a number (a malformed one is an error, not left out); 0 is no measurement.
                let node = try j.require(k)
                let x = try node.double()
                guard x >= 0 else { throw node.fail("must be positive (0 reads as not measured), found \(x)") }
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
        var traces: [String: (trace: StepTrace, args: [String])] = [:]
        entries = try j.require("runs").array().map { e in
            let id = try e.string("id")
            guard seen.insert(id).inserted else { throw e.fail("duplicate id '\(id)'") }
            if let sr = e.optional("step_ratio") {
                func trace(_ key: String) throws -> (id: String, trace: StepTrace, args: [String]) {
                    let ref = try sr.string(key)
                    guard let t = traces[ref] else {
                        throw try sr.require(key).fail("names '\(ref)', which is not a 'step_trace' entry earlier in the manifest")
                    }
                    return (ref, t.trace, t.args)
                }
                let kindName = try sr.optional("steps")?.string() ?? StepKind.graphless.rawValue
                guard let kind = StepKind(rawValue: kindName) else {
                    throw try sr.require("steps").fail("is '\(kindName)'; known: \(quotedChoices(StepKind.allCases.map(\.rawValue)))")
                }
                let (a, b) = (try trace("of"), try trace("over"))
                func median(_ t: StepTrace, _ key: String) throws -> Double {
                    let xs = t.steps.filter(kind.includes).map(\.measuredUs)
                    guard xs.count >= Self.stepRatioMinSteps else {
                        throw try sr.require(key).fail("names a trace with \(xs.count) \(kind.rawValue) step\(xs.count == 1 ? "" : "s"); a ratio needs \(Self.stepRatioMinSteps) or more in each")
                    }
                    return Statistics.percentile(xs, 50)
                }
                let ratio = try median(a.trace, "of") / median(b.trace, "over")
                // Its runs are its two traces' deployments (what a fit of it simulates); `predict` replays the traces.
                return Entry(id: id, fit: try e.bool("fit", default: false), runs: [a.args, b.args],
                             measured: [("step_time_ratio", ratio)],
                             note: try e.optional("note")?.string(), tags: try Self.tags(e),
                             stepRatio: StepRatio(of: a.id, over: b.id, steps: kind))
            }
            var runs: [[String]]
            if e.optional("decode_shared_prefix") != nil && e.optional("step_trace") == nil {
                throw try e.require("decode_shared_prefix").fail("belongs to a 'step_trace' entry (it says the trace's decodes shared a cached prefix); this entry has none")
            }
            if let st = e.optional("step_trace") {
                // A vLLM step trace: each busy step predicted from what it ran ('args' gives the deployment).
                let path = try st.string()
                let full = path.hasPrefix("/") ? path : base + "/" + path
                var trace = try StepTrace.load(file: full)
                if let p = e.optional("decode_shared_prefix") {
                    // The run's requests shared a cached prefix of this many tokens (whole KV blocks): its decodes
                    // read one copy of it (the trace does not say which sequences held it: all of them, here).
                    trace.shareDecodePrefix(tokens: try p.int(in: 0...Limits.tokens.upperBound))
                }
                guard let a = e.optional("args") else { throw e.fail("a 'step_trace' entry needs 'args': the deployment's flags (--model, --gpu, ...)") }
                resultFiles.append(full)
                let args = Self.resolvingFiles(try a.array().map { try $0.string() }, base: base)
                traces[id] = (trace, args)
                return Entry(id: id, fit: try e.bool("fit", default: false), runs: [args],
                             measured: [("step_time_ms", Statistics.percentile(trace.steps.map(\.measuredUs), 50) / 1e3)],
                             note: try e.optional("note")?.string(), stepTrace: trace, tags: try Self.tags(e))
            }
            if let rf = e.optional("result_file"), e.optional("group") == nil {
                // A vLLM result file holds the workload (model, prompts, lengths, rate, concurrency): 'args' adds the deployment.
                let path = try rf.string()
                let given = try e.optional("args")?.array().map { try $0.string() } ?? []
                runs = [try Self.argsFromResult(try JSONNode.load(file: path.hasPrefix("/") ? path : base + "/" + path, pythonNonFinite: true),
                                                given: GivenArgs(given, from: "\(e.path).args of \(file)", kind: .data), file: path)]
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
                // A misspelt metric is named, not left out (with the others, or leaving none).
                let unknown = keys.filter { !Self.isMetric($0) && !Self.measuredRecords.contains($0) }
                guard unknown.isEmpty else {
                    throw m.fail("unknown key\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); known: \(quotedChoices(Self.metrics + Self.measuredRecords))")
                }
                for k in keys.sorted() where Self.isMetric(k) {
                    let node = try m.require(k)
                    let x = try node.double()
                    guard x > 0 else { throw node.fail("must be positive, found \(x)") }
                    measured.append((k, x))
                }
            } else if let rf = e.optional("result_file") {
                let path = try rf.string()
                let full = path.hasPrefix("/") ? path : base + "/" + path
                resultFiles.append(full)
                let r = try JSONNode.load(file: full, pythonNonFinite: true)
                for k in Self.metricKeys(r.keys ?? []) where r.has(k) {
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
    /// `vllm bench throughput --output-json`'s file (elapsed_time, num_requests, total_num_tokens, requests_per_second,
    /// tokens_per_second): it holds neither the model nor the prompt and output lengths, so `--run-args` gives them
    /// (`--model`, `--random-input-len` and `--random-output-len` for vLLM's `--input-len` and `--output-len`, and the
    /// deployment); the request count is the file's, and its token total must agree with the lengths given (within
    /// 5%, or the lengths are not the run's). Predicted in the offline usage context, as `vllm bench throughput` runs.
    static func vllmThroughputEntry(_ j: JSONNode, file: String, runArgs: [String], fitStandalone: Bool, name: String) throws -> Entry {
        let g = GivenArgs(runArgs)
        let n = Int(try j.require("num_requests").resultSetting(flag: "--num-prompts", file: file, whole: true))
        try g.refuseOverrides([("--num-prompts", "num_requests \(n)")], file: file)
        for (flag, what) in [("--model", "the model (a shipped name, a config.json or a repo id)"), ("--random-input-len", "the prompt length (vLLM's --input-len)"),
                             ("--random-output-len", "the output length (vLLM's --output-len)")] where !g.names.contains(flag) {
            throw InputError.data("\(file): a vllm bench throughput result does not record \(what); give it as \(g.howToAdd(flag, flag == "--model" ? "NAME" : "N"))")
        }
        var args = runArgs
        if !g.names.contains("--usage-context") { args += ["--usage-context", "offline"] }
        args += ["--num-prompts", String(n)]
        if let total = try j.optional("total_num_tokens")?.double(), let i = g.value("--random-input-len").flatMap(Double.init),
           let o = g.value("--random-output-len").flatMap(Double.init) {
            let prefix = g.value("--random-prefix-len").flatMap(Double.init) ?? 0
            let expect = Double(n) * (i + o + prefix)
            guard abs(total / expect - 1) <= 0.05 else {
                throw InputError.data("\(file): key 'total_num_tokens' is \(try j.require("total_num_tokens").described), but \(n) requests of \(Int(i + prefix)) + \(Int(o)) tokens make \(Int(expect)): the lengths given are not this run's")
            }
        }
        let e = try j.double("elapsed_time")
        guard e > 0 else { throw try j.require("elapsed_time").fail("must be positive, found \(e)") }
        return Entry(id: name, fit: fitStandalone, runs: [args], measured: [("elapsed_time", e)],
                     note: "settings from the result file and --run-args: \(args.joined(separator: " "))")
    }

    /// `vllm bench latency --output-json`'s file (avg_latency, latencies, percentiles): the model and the batch come
    /// from `--run-args` (`--model`, `--batch-size`, `--input-len`, `--output-len`, as vLLM's flags, and the deployment).
    static func vllmLatencyEntry(_ j: JSONNode, file: String, runArgs: [String], fitStandalone: Bool, name: String) throws -> Entry {
        let g = GivenArgs(runArgs)
        for (flag, what) in [("--model", "the model"), ("--batch-size", "the batch size (vLLM's --batch-size, default 8)"),
                             ("--input-len", "the prompt length (--input-len, default 32)"), ("--output-len", "the output length (--output-len, default 128)")]
        where !g.names.contains(flag) {
            throw InputError.data("\(file): a vllm bench latency result does not record \(what); give it as \(g.howToAdd(flag, flag == "--model" ? "NAME" : "N"))")
        }
        let node = try j.require("avg_latency")
        let l = try node.double()
        guard l > 0, l.isFinite else { throw node.fail("must be positive, found \(node.described)") }
        return Entry(id: name, fit: fitStandalone, runs: [runArgs], measured: [("avg_latency", l)],
                     note: "vllm bench latency from --run-args: \(runArgs.joined(separator: " "))")
    }

    /// The deployment of a run of moesim's vLLM harness, from its provenance (model, GPU, the engine arguments the
    /// job set), with `given` taking precedence: the flags `moesim run` needs to predict it.
    static func harnessDeployment(_ prov: JSONNode?, given: [String], file: String) throws -> [String] {
        var args = given
        // Long names, so that vLLM's -tp / -dp given in --run-args win over the provenance as --tensor-parallel-size would.
        let names = GivenArgs(given).names
        func has(_ f: String) -> Bool { names.contains(f) }
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
        // The engine arguments the job set (vllm_bench.py's "engine_args", vLLM's EngineArgs names), as moesim flags.
        if let e = prov?.optional("engine_args"), let o = e.object {
            func flag(_ key: String, _ f: String) throws { if o[key] != nil, !has(f) { args += [f, String(try e.int(key))] } }
            try flag("max_num_batched_tokens", "--max-num-batched-tokens")
            try flag("max_num_seqs", "--max-num-seqs")
            try flag("max_model_len", "--max-model-len")
            try flag("tensor_parallel_size", "--tensor-parallel-size")
            try flag("data_parallel_size", "--data-parallel-size")
            try flag("pipeline_parallel_size", "--pipeline-parallel-size")
            if o["gpu_memory_utilization"] != nil, !has("--gpu-memory-utilization") {
                args += ["--gpu-memory-utilization", JSONWriter.number(try e.require("gpu_memory_utilization").double())]
            }
            if (o["async_scheduling"] as? Bool) == false, !has("--no-async-scheduling") { args.append("--no-async-scheduling") }
            if (o["enforce_eager"] as? Bool) == true, !has("--enforce-eager") { args.append("--enforce-eager") }
            if (o["enable_prefix_caching"] as? Bool) == false, !has("--no-enable-prefix-caching") { args.append("--no-enable-prefix-caching") }
            if (o["enable_expert_parallel"] as? Bool) == true, !has("--enable-expert-parallel") { args.append("--enable-expert-parallel") }
            if (o["enable_eplb"] as? Bool) == true, !has("--enable-eplb") { args.append("--enable-eplb") }
            if (o["enable_chunked_prefill"] as? Bool) == false, !has("--no-enable-chunked-prefill") { args.append("--no-enable-chunked-prefill") }
            if let m = o["performance_mode"] as? String, !has("--performance-mode") { args += ["--performance-mode", m] }
            if let b = o["all2all_backend"] as? String, !has("--all2all-backend") { args += ["--all2all-backend", b] }
            if let kv = o["kv_cache_dtype"] as? String, !has("--kv-cache-dtype") { args += ["--kv-cache-dtype", kv] }
            if let q = o["quantization"] as? String, !has("--quantization") { args += ["--quantization", q] }
            // CUDA graphs: the largest captured size, from the capture list or the size itself.
            if let c = e.optional("compilation_config"), !has("--max-cudagraph-capture-size") {
                if let sizes = try c.optionalArray("cudagraph_capture_sizes"), !sizes.isEmpty {
                    args += ["--max-cudagraph-capture-size", String(try sizes.map { try $0.int() }.max()!)]
                } else if c.optional("max_cudagraph_capture_size") != nil {
                    args += ["--max-cudagraph-capture-size", String(try c.int("max_cudagraph_capture_size"))]
                }
            }
            try refuseUnmodelledEngineArgs(e, file: file)
        }
        return args
    }

    /// vLLM engine arguments a harness job may set that change nothing moesim prices, at any value or at the value
    /// named (vLLM's default, which moesim models).
    static let inertEngineArgs: [String: String?] = [
        "seed": nil, "load_format": nil, "skip_tokenizer_init": nil, "tokenizer": nil, "trust_remote_code": nil,
        "disable_log_stats": nil, "enable_log_requests": nil, "served_model_name": nil, "swap_space": nil, "revision": nil,
        "download_dir": nil, "model": nil, "dtype": "auto|bfloat16|bf16", "block_size": "16", "enable_chunked_prefill": nil,
        "async_scheduling": nil, "enforce_eager": nil, "enable_prefix_caching": nil, "enable_expert_parallel": nil, "enable_eplb": nil,
    ]
    static let mappedEngineArgs: Set<String> = ["max_num_batched_tokens", "max_num_seqs", "max_model_len", "tensor_parallel_size", "data_parallel_size",
                                                "pipeline_parallel_size", "gpu_memory_utilization", "all2all_backend", "kv_cache_dtype", "quantization", "performance_mode"]

    /// A harness job's engine argument that moesim neither maps to a flag nor knows to be inert is an error naming
    /// the file, the key and the value: a prediction that silently left it out would be of another engine.
    static func refuseUnmodelledEngineArgs(_ e: JSONNode, file: String) throws {
        for key in (e.keys ?? []).sorted() where !mappedEngineArgs.contains(key) {
            guard let v = e.optional(key) else { continue }
            if key == "compilation_config" {
                for k in (v.keys ?? []).sorted() where !["cudagraph_capture_sizes", "max_cudagraph_capture_size"].contains(k) {
                    throw InputError.data("\(file): provenance.engine_args.compilation_config.\(k) is \(v.optional(k)?.described ?? "null"): moesim models only the CUDA graph capture sizes of vLLM's compilation_config; leave it out of the job to predict this run")
                }
                continue
            }
            guard let allowed = inertEngineArgs[key] else {
                throw InputError.data("\(file): provenance.engine_args.\(key) is \(v.described): a vLLM engine argument moesim does not model; it cannot predict this run as it ran (give the run's settings by moesim's flags in --run-args, or run the job without it)")
            }
            if let values = allowed {
                let text = v.isString ? try v.string().lowercased() : v.described.lowercased()
                guard values.split(separator: "|").contains(Substring(text)) else {
                    throw InputError.data("\(file): provenance.engine_args.\(key) is \(v.described): moesim models vLLM's \(values.split(separator: "|").first!) only")
                }
            }
        }
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

    /// Where the flags that complete a result file come from (`--run-args`, or a manifest entry's `args`): named in
    /// errors, with how to add a flag there.
    public struct GivenArgs: Sendable {
        public var args: [String]
        /// "--run-args", or "runs[3].args of manifest.json".
        public var from: String
        /// A flag there that a file overrides is a usage error on the command line, a data error in a manifest.
        public var kind: InputError.Kind

        public init(_ args: [String], from: String = "--run-args", kind: InputError.Kind = .usage) {
            self.args = args; self.from = from; self.kind = kind
        }

        /// How to give `flag value` there.
        func howToAdd(_ flag: String, _ value: String) -> String {
            from == "--run-args" ? "--run-args=\"... \(flag) \(value)\"" : "\"\(flag)\", \"\(value)\" in \(from)"
        }

        /// The long names of the flags given (`--x=v` as `--x`, vLLM's `-tp` spelled out).
        var names: Set<String> {
            Set(args.filter { $0.hasPrefix("-") && Double($0) == nil }.map { a in
                let k = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
                return ParsedArguments.shortFlags[k] ?? k
            })
        }

        /// The value given to `flag` (the last one), if any.
        func value(_ flag: String) -> String? {
            var v: String? = nil
            for (i, a) in args.enumerated() {
                if a == flag, i + 1 < args.count { v = args[i + 1] } else if a.hasPrefix(flag + "=") { v = String(a.dropFirst(flag.count + 1)) }
            }
            return v
        }

        /// Refuses a flag given here that the file already determines: `determined` pairs each such flag with what
        /// the file holds for it.
        func refuseOverrides(_ determined: [(flag: String, holds: String)], file: String) throws {
            let names = self.names
            for (flag, holds) in determined where names.contains(flag) {
                throw InputError(kind, "'\(flag)' in \(from) would override \(file), which holds \(holds); leave it out (\(from) adds only what the file does not hold: the GPU, the plan, engine settings)")
            }
        }
    }

    /// The flags that choose another dataset than the random prompts a result file's mean lengths describe.
    static let datasetFlags = ["--dataset-name", "--dataset-path", "--trace", "--trace-limit", "--trace-time-scale", "--disable-shuffle", "--no-oversample"]
        + RunOptions.datasetFlags.filter { $0.key != "random" }.sorted { $0.key < $1.key }.flatMap(\.value)


    /// `moesim run` flags for the run a vLLM result file describes: `given` (the deployment) first, then each workload
    /// setting the file holds (model_id, num_prompts, mean input and output lengths, request_rate, burstiness,
    /// max_concurrency). A flag in `given` that the file determines is refused, not taken over the file's value; one
    /// the file lacks may be given (the input or output length must be, when the file has no token totals).
    public static func argsFromResult(_ r: JSONNode, given g: GivenArgs, file: String) throws -> [String] {
        let given = g.args
        let keys = Set(r.keys ?? [])
        try r.checkResultDuration(file: file)
        // moesim's harness records each request (send time, lengths): replay exactly those requests.
        // So does vLLM's own --save-detailed result (input_lens, output_lens, start_times): RecordedBenchmark.
        if r.has("input_lens") && r.has("output_lens") {
            let what = r.has("send_times") ? "every request it sent (send_times, input_lens, output_lens)"
                : "every request it sent (input_lens, output_lens, start_times or vLLM's schedule for the seed)"
            var held: [(flag: String, holds: String)] = ["--num-prompts", "--random-input-len", "--random-output-len", "--random-range-ratio", "--random-prefix-len", "--request-rate", "--burstiness"]
                .map { ($0, what) }
            held += (datasetFlags + RunOptions.rampUpFlags).filter { $0 != "--trace-limit" && $0 != "--trace-time-scale" }.map { ($0, what) }
            if keys.contains("max_concurrency") { held.append(("--max-concurrency", "max_concurrency \(r.optional("max_concurrency")?.described ?? "null (no limit)")")) }
            try g.refuseOverrides(held, file: file)
            var args = r.has("send_times") || r.has("provenance") ? try harnessDeployment(r.optional("provenance"), given: given, file: file) : given
            if !args.contains("--model"), let m = try r.optional("model_id")?.string() { args += ["--model", m] }
            args += ["--trace", file]
            if let c = r.optional("max_concurrency") { args += ["--max-concurrency", String(Int(try c.resultSetting(flag: "--max-concurrency", file: file, whole: true)))] }
            return args
        }
        var args = given
        let names = g.names
        if !names.contains("--model") {
            guard let m = try r.optional("model_id")?.string() else {
                throw InputError.data("\(file): the vLLM result has no model_id; give the model as \(g.howToAdd("--model", "NAME"))")
            }
            args += ["--model", m]
        }
        let completedNode = try r.require("completed")
        let completed = try completedNode.int()
        guard completed > 0 else { throw InputError.data("\(file): 'completed' is 0: no request finished, nothing to compare") }
        let prompts = try r.optional("num_prompts").map { Int(try $0.resultSetting(flag: "--num-prompts", file: file, whole: true)) }
        var held: [(flag: String, holds: String)] = [("--num-prompts", prompts.map { "num_prompts \($0)" } ?? "completed \(completed) (the requests that finished)")]
        // Mean lengths from the token totals; a shared prefix given in the flags (vLLM's --random-prefix-len, which the
        // file does not record) is part of each prompt, so the random part is the rest.
        let prefix = g.value("--random-prefix-len").flatMap { Int($0) } ?? 0
        var lengths: [(flag: String, value: Int)] = []
        for (key, flag, what) in [("total_input_tokens", "--random-input-len", "input"), ("total_output_tokens", "--random-output-len", "output")] {
            guard let n = r.optional(key) else { continue }
            let t = try n.double()
            guard t > 0 else { throw InputError.data("\(file): key '\(key)' is \(n.described): must be positive (with 'completed', the mean \(what) tokens a request)") }
            let mean = max(1, Int((t / Double(completed)).rounded()))
            let len = flag == "--random-input-len" ? mean - prefix : mean
            guard Limits.tokens.contains(len) else {
                let tail = flag == "--random-input-len" && prefix > 0 ? ", less the \(prefix) tokens of --random-prefix-len" : ""
                throw InputError.data("\(file): key '\(key)' is \(n.described): over completed \(completed)\(tail) gives \(len) \(what) tokens a request; allowed \(Limits.tokens.lowerBound)...\(Limits.tokens.upperBound)")
            }
            held.append((flag, "the mean \(what) length (\(key) \(n.described) / completed \(completed) = \(mean) tokens a request)"))
            lengths.append((flag, len))
        }
        if !lengths.isEmpty { held += datasetFlags.map { ($0, "the lengths of its prompts (random prompts of the recorded mean lengths)") } }
        if keys.contains("request_rate") { held.append(("--request-rate", "request_rate \(r.optional("request_rate")?.described ?? "null")")) }
        if keys.contains("burstiness") { held.append(("--burstiness", "burstiness \(r.optional("burstiness")?.described ?? "null")")) }
        if keys.contains("max_concurrency") { held.append(("--max-concurrency", "max_concurrency \(r.optional("max_concurrency")?.described ?? "null (no limit)")")) }
        // vLLM writes the ramp-up keys only when a ramp ran (its request_rate is then "inf").
        let ramp = try rampUpFlags(r, file: file)
        if !ramp.isEmpty { held += RunOptions.rampUpFlags.map { ($0, "ramp_up_strategy, ramp_up_start_rps and ramp_up_end_rps") } }
        try g.refuseOverrides(held, file: file)
        args += ["--num-prompts", String(prompts ?? completed)]
        // Without the totals, the lengths come from the flags (or another dataset's); never from moesim's defaults.
        let otherDataset = names.contains("--trace") || names.contains("--dataset-path") || (g.value("--dataset-name").map { $0 != "random" } ?? false)
        for (key, flag, what) in [("total_input_tokens", "--random-input-len", "input"), ("total_output_tokens", "--random-output-len", "output")] {
            if let l = lengths.first(where: { $0.flag == flag }) { args += [flag, String(l.value)] }
            else if !otherDataset && !names.contains(flag) {
                throw InputError.data("\(file): missing key '\(key)': with 'completed' it gives the mean \(what) length a request, which moesim would otherwise guess; give the length as \(g.howToAdd(flag, "N"))")
            }
        }
        if let rate = r.optional("request_rate") {
            if rate.isString {
                guard try rate.string() == "inf" else { throw InputError.data("\(file): key 'request_rate' is \(rate.described): expected \(Limits.flags["--request-rate"]!.description) (as vLLM writes it: a number or \"inf\")") }
            } else {
                args += ["--request-rate", JSONWriter.number(try rate.resultSetting(flag: "--request-rate", file: file))]
                if let b = r.optional("burstiness") {
                    let v = try b.resultSetting(flag: "--burstiness", file: file)
                    if v != 1 { args += ["--burstiness", JSONWriter.number(v)] }
                }
            }
        }
        if let c = r.optional("max_concurrency") { args += ["--max-concurrency", String(Int(try c.resultSetting(flag: "--max-concurrency", file: file, whole: true)))] }
        return args + ramp
    }

    /// The ramp-up flags a vLLM result file's `ramp_up_strategy`, `ramp_up_start_rps` and `ramp_up_end_rps` give;
    /// none when it has no strategy (or a null one).
    static func rampUpFlags(_ r: JSONNode, file: String) throws -> [String] {
        guard let strategy = try Workload.RampUp.strategy(inResult: r, file: file) else { return [] }
        var out = ["--ramp-up-strategy", strategy.rawValue]
        for (key, flag) in [("ramp_up_start_rps", "--ramp-up-start-rps"), ("ramp_up_end_rps", "--ramp-up-end-rps")] {
            out += [flag, String(Int(try r.require(key).resultSetting(flag: flag, file: file, whole: true)))]
        }
        return out
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
        /// A step trace's steps one by one, for `validate --steps`: what each ran, measured and replayed.
        public var stepTable: StepTable? = nil
        /// Signed relative error (predicted - measured) / measured; for a step trace, the median over its steps.
        public var relativeError: Double? { stepMedianError ?? predicted.map { ($0 - measured) / measured } }
        public var isStepTrace: Bool { stepAbsErrors != nil }
    }

    /// A step trace's compared steps (each one's batch, the CUDA-graph mode vLLM recorded and its measured time) and
    /// moesim's replay of each.
    public struct StepTable: Sendable {
        public var steps: [StepTrace.Step]
        public var replayed: [VLLMSimulator.ReplayedStep]

        /// The CSV header and one line per step (times in ms), each line led by the entry's id and split.
        public static let header = "id,fit,step,recorded_mode,predicted_mode,tokens,decodes,decode_context,prefills,prefill_context,measured_ms,predicted_ms,predicted_gpu_ms,predicted_host_ms,error"
        public func csvLines(id: String, fit: Bool) -> [String] {
            func ms(_ us: Double) -> String { String(format: "%.4f", us / 1e3) }
            let quoted = SweepRunner.csvField(id)
            return steps.indices.map { i in
                let st = steps[i], b = st.batch, p = replayed[i]
                return [quoted, fit ? "fit" : "held_out", "\(i)", st.recordedMode, p.mode, "\(b.tokens)", "\(b.decodeSequences)",
                        String(format: "%.0f", b.decodeContext), "\(b.prefillSequences)", String(format: "%.0f", b.prefillContext),
                        ms(st.measuredUs), ms(p.stepUs), ms(p.gpuUs), ms(p.hostUs), String(format: "%.4f", p.stepUs / st.measuredUs - 1)].joined(separator: ",")
            }
        }
    }

    /// Predicts every entry (the runs of a group averaged), in parallel over `threads`; deterministic.
    /// `engine` replaces the engine profile of every run of its kind.
    public static func predict(_ m: Manifest, entries: [Manifest.Entry]? = nil, store: ProfileStore, engine: EngineProfile?,
                               threads: Int) -> [Row] {
        let all = entries ?? m.entries
        let es = all.filter { $0.stepTrace == nil && $0.stepRatio == nil }
        let jobs = es.flatMap { $0.runs }.enumerated().map { SweepSpec.Configuration(index: $0.offset, grid: "manifest", labels: [], args: $0.element) }
        let results = SweepRunner.run(jobs, store: store, threads: threads, engineOverride: engine)
        var rows: [Row] = []
        var j = 0
        var stepRows: [String: [Row]] = [:]
        let traces = all.filter { $0.stepTrace != nil }
        for e in traces { stepRows[e.id] = stepTraceRows(e, store: store, engine: engine) }
        // A ratio's two traces are replayed here too when they are not among the entries asked for (a fit of ratios alone).
        var referenced: [String: Row] = [:]
        func traceRow(_ id: String) -> Row? {
            if let r = stepRows[id]?.first ?? referenced[id] { return r }
            guard let e = m.entries.first(where: { $0.id == id }) else { return nil }
            let r = stepTraceRows(e, store: store, engine: engine).first
            referenced[id] = r
            return r
        }
        for e in all { if let sr = e.stepRatio { stepRows[e.id] = [stepRatioRow(e, sr, of: traceRow(sr.of), over: traceRow(sr.over))] } }
        for e in es {
            var sums: [String: Double] = [:]
            var err: String? = nil
            for _ in e.runs {
                if let r = results[j].result {
                    let f = r.fields()
                    for (k, v) in f { if let x = v as? Double { sums[k, default: 0] += x } else if let i = v as? Int { sums[k, default: 0] += Double(i) } }
                    // Percentiles the result's fields do not hold, from its latency samples.
                    for (k, _) in e.measured where !f.contains(where: { $0.0 == k }) {
                        if let (q, m) = Manifest.percentileKey(k), let s = r.samples { sums[k, default: 0] += s.percentiles(m, [q])[0] }
                    }
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
            row.stepTable = StepTable(steps: trace.steps, replayed: c.replayed)
        } catch { row.error = "\(error)"; row.runFailed = true }
        return [row]
    }

    /// A `step_ratio` entry's row: the median replayed step of one trace's steps of the kind over the other's.
    static func stepRatioRow(_ e: Manifest.Entry, _ sr: Manifest.StepRatio, of a: Row?, over b: Row?) -> Row {
        var row = Row(id: e.id, fit: e.fit, metric: "step_time_ratio", measured: e.measured.first?.1 ?? 0, predicted: nil, error: nil)
        row.tags = e.tags
        func median(_ r: Row?, _ id: String) -> Double? {
            guard let t = r?.stepTable else {
                row.error = "trace \(id) not replayed: \(r?.error ?? "no such entry")"; row.runFailed = true
                return nil
            }
            let xs = t.steps.indices.filter { sr.steps.includes(t.steps[$0]) }.map { t.replayed[$0].stepUs }
            return xs.isEmpty ? nil : Statistics.percentile(xs, 50)
        }
        if let x = median(a, sr.of), let y = median(b, sr.over), y > 0 { row.predicted = x / y }
        return row
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
