import Foundation
import SimKit
import Cluster
import Serving

/// vLLM's benchmark result file (`benchmark_serving.py --save-result`, `vllm bench serve`): its keys in its order, the
/// percentiles and metrics asked (`--percentile-metrics`, `--metric-percentiles`), `request_goodput` (`--goodput`) and the
/// per-request arrays (`--save-detailed`); moesim's own keys follow.
public enum VLLMResult {
    public struct Options: Sendable {
        public var metrics: [String] = ["ttft", "tpot", "itl", "e2el"]
        public var percentiles: [Double] = [99]
        public var goodput: [(metric: String, ms: Double)] = []
        public var detailed = false
        public init() {}
    }

    public static let metricNames = ["ttft", "tpot", "itl", "e2el"]

    public static func options(_ a: ParsedArguments) throws -> Options {
        var o = Options()
        if let m = a.string("--percentile-metrics") {
            let xs = m.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            for x in xs where !metricNames.contains(x) {
                throw a.invalid("--percentile-metrics", m, "'\(x)' is not one of \(quotedChoices(metricNames)) (comma-separated)")
            }
            o.metrics = xs.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        if let p = a.string("--metric-percentiles") {
            let range = Limits.flags["--metric-percentiles"]!
            o.percentiles = try p.split(separator: ",", omittingEmptySubsequences: false).map { x in
                guard let v = Double(x.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
                    throw a.invalid("--metric-percentiles", p, "'\(x)' is not \(range) (comma-separated, e.g. 25,50,99.9)")
                }
                return v
            }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        for g in (a.repeated["--goodput"] ?? []).flatMap({ $0.split(separator: " ").map(String.init) }) {
            let kv = g.split(separator: ":", maxSplits: 1).map(String.init)
            let range = Limits.flags["--goodput"]!
            guard kv.count == 2, ["ttft", "tpot", "e2el"].contains(kv[0]), let v = Double(kv[1]), range.contains(v) else {
                throw a.invalid("--goodput", g, "expected metric:milliseconds with metric ttft, tpot or e2el and milliseconds \(range), e.g. ttft:500 tpot:50")
            }
            guard !o.goodput.contains(where: { $0.metric == kv[0] }) else { throw a.invalid("--goodput", g, "'\(kv[0])' is given twice") }
            o.goodput.append((kv[0], v))
        }
        o.detailed = a.has("--save-detailed")
        return o
    }

    /// Where `--save-result` writes: its file, or (given bare, as vLLM's flag) `--result-dir`/`--result-filename`, or
    /// vLLM's own name without the date: `{backend}-{rate}qps[-concurrency{n}]-{model}.json`. Nil without `--save-result`.
    public static func resultPath(_ a: ParsedArguments) throws -> String? {
        guard let v = a.string("--save-result") else {
            for f in ["--result-dir", "--result-filename"] where a.has(f) { throw InputError.usage("'\(f)' names where '--save-result' writes; give '--save-result' too") }
            return nil
        }
        if !v.isEmpty {
            for f in ["--result-dir", "--result-filename"] where a.has(f) { throw InputError.usage("'--save-result \(v)' names the file already; leave out '\(f)' (or give '--save-result' bare, as vLLM does)") }
            return v
        }
        let dir = a.string("--result-dir") ?? "."
        if let name = a.string("--result-filename") { return dir == "." ? name : dir + "/" + name }
        let hf = a.string("--engine") == "hf"
        // Python's f"{float}": 5.0, 2.5, inf.
        func py(_ x: Double) -> String { x.isFinite ? (x == x.rounded() ? String(format: "%.1f", x) : JSONWriter.number(x)) : "inf" }
        let rate: String = hf ? "inf" : (try a.double("--request-rate")).map(py) ?? "inf"
        let conc = hf ? "" : ((try a.positiveInt("--max-concurrency")).map { "-concurrency\($0)" } ?? "")
        let model = (a.string("--model") ?? "model").split(separator: "/").last.map(String.init) ?? "model"
        let label = hf ? "hf" : (a.string("--label") ?? backend(a))
        let traffic = !hf && a.has("--ramp-up-strategy")
            ? "ramp-up-\(a.string("--ramp-up-strategy")!)-\(try a.int("--ramp-up-start-rps") ?? 0)qps-\(try a.int("--ramp-up-end-rps") ?? 0)qps"
            : "\(rate)qps"
        let name = "\(label)-\(traffic)\(conc)-\(model.hasSuffix(".json") ? String(model.dropLast(5)) : model).json"
        return dir == "." ? name : dir + "/" + name
    }

    /// vllm bench serve's `--backend` (0.24's default: openai), which its result file records and names itself by.
    static func backend(_ a: ParsedArguments) -> String { a.string("--backend") ?? "openai" }

    /// vLLM's percentile key: p99, p99.9.
    public static func pKey(_ p: Double) -> String { p == p.rounded() ? String(Int(p)) : JSONWriter.number(p) }

    /// Requests meeting every goodput objective (vLLM: TTFT, TPOT of the request, E2EL), per second of the run.
    public static func goodput(_ r: RunResult, _ slo: [(metric: String, ms: Double)]) -> Double? {
        guard !slo.isEmpty, let pr = r.perRequest, r.durationS > 0 else { return nil }
        var good = 0
        for i in pr.ttftMs.indices {
            let tpot = pr.outputLens[i] > 1 ? (pr.e2elMs[i] - pr.ttftMs[i]) / Double(pr.outputLens[i] - 1) : 0
            let ok = slo.allSatisfy { s in
                switch s.metric {
                case "ttft": return pr.ttftMs[i] <= s.ms
                case "tpot": return tpot <= s.ms
                default: return pr.e2elMs[i] <= s.ms
                }
            }
            if ok { good += 1 }
        }
        return Double(good) / r.durationS
    }

    /// The result's `date` as vLLM's benchmark writes it (`datetime.now().strftime("%Y%m%d-%H%M%S")`, local time), or
    /// SOURCE_DATE_EPOCH's instant in UTC when that is set (reproducible builds' convention), so that two runs can be
    /// byte-identical. `environment` and `now` are parameters for tests.
    public static func date(environment: [String: String] = ProcessInfo.processInfo.environment, now: Date = Date()) throws -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        if let e = environment["SOURCE_DATE_EPOCH"] {
            guard let secs = Int64(e.trimmingCharacters(in: .whitespaces)), secs >= 0, secs <= 253_402_300_799 else {
                throw InputError.usage("SOURCE_DATE_EPOCH='\(e)' is not a time: expected whole seconds since 1970-01-01 UTC (0...253402300799), as reproducible builds set it")
            }
            f.timeZone = TimeZone(identifier: "UTC")
            return f.string(from: Date(timeIntervalSince1970: TimeInterval(secs)))
        }
        f.timeZone = TimeZone.current
        return f.string(from: now)
    }

    /// The whole result file.
    public static func fields(_ o: Simulation.Outcome, _ a: ParsedArguments, _ opt: Options) throws -> [(String, Any)] {
        let r = o.result
        let hf = o.deployment.engine.kind == .hf
        let model = a.string("--model") ?? o.deployment.model.name
        let rate = try a.double("--request-rate")
        var f: [(String, Any)] = [
            ("date", try date())]
        // vLLM 0.24's keys: endpoint_type (the same as backend), backend, label (null unless --label).
        f += hf ? [("backend", "hf")] : [("endpoint_type", backend(a)), ("backend", backend(a)), ("label", a.string("--label") as Any? ?? NSNull())]
        f += [("model_id", model), ("tokenizer_id", a.string("--tokenizer") ?? model),
            ("num_prompts", r.completed + r.failed),
            ("request_rate", hf ? "inf" as Any : (rate.map { $0.isFinite ? $0 as Any : "inf" } ?? "inf")),
            ("burstiness", hf ? 1.0 : (try a.double("--burstiness") ?? 1.0)),
            ("max_concurrency", hf ? r.completed as Any : ((try a.positiveInt("--max-concurrency")) as Any? ?? NSNull())),
        ]
        // As vLLM writes them, only when a ramp ran.
        if !hf, let ramp = a.string("--ramp-up-strategy") {
            f += [("ramp_up_strategy", ramp), ("ramp_up_start_rps", try a.int("--ramp-up-start-rps") ?? 0), ("ramp_up_end_rps", try a.int("--ramp-up-end-rps") ?? 0)]
        }
        // moesim's description of the run, then the result with the metric block replaced by the one asked.
        f += Simulation.fields(o).filter { k, _ in !r.fields().contains { $0.0 == k } }
        let metricKey = { (k: String) in ["mean_", "median_", "std_", "p99_"].contains { k.hasPrefix($0) } && metricNames.contains { k.hasSuffix("_\($0)_ms") } }
        var inserted = false
        for (k, v) in r.fields() {
            if metricKey(k) {
                if !inserted { f += metricBlock(r, opt); inserted = true }
                continue
            }
            f.append((k, v))
            if k == "completed", !hf, r.failed == 0 { f.append(("failed", 0)) }  // vLLM writes it always
            if k == "request_throughput", let g = goodput(r, opt.goodput) { f.append(("request_goodput", g)) }
        }
        if !opt.goodput.isEmpty { f.append(("goodput_slo_ms", opt.goodput.map { ($0.metric, $0.ms as Any) } as [(String, Any)])) }
        if opt.detailed, let pr = r.perRequest {
            // vLLM's arrays hold every request in the benchmark's order, a refused one with no output, a TTFT of 0
            // and its error; start_times here are seconds from the benchmark's start (vLLM's are perf_counter
            // readings, which `validate` reads the same way: relative to the benchmark's start).
            var ins = pr.inputLens, outs = pr.outputLens, ttfts = pr.ttftMs.map { $0 / 1e3 }
            var itls = (pr.itlsMs ?? Array(repeating: [], count: pr.inputLens.count)).map { $0.map { $0 / 1e3 } }
            var starts = pr.sendMs.map { $0 / 1e3 }, errors = Array(repeating: "", count: pr.inputLens.count)
            for x in r.failedRequests {
                ins.insert(x.inputTokens, at: x.index); outs.insert(0, at: x.index); ttfts.insert(0, at: x.index)
                itls.insert([], at: x.index); starts.insert(x.sendMs / 1e3, at: x.index); errors.insert(x.error, at: x.index)
            }
            f += [("input_lens", ins), ("output_lens", outs), ("ttfts", ttfts), ("itls", itls), ("start_times", starts),
                  ("generated_texts", Array(repeating: "", count: ins.count)), ("errors", errors)]
        }
        return f
    }

    static func metricBlock(_ r: RunResult, _ opt: Options) -> [(String, Any)] {
        var f: [(String, Any)] = []
        for m in opt.metrics {
            let s: Summary = ["ttft": r.ttftMs, "tpot": r.tpotMs, "itl": r.itlMs, "e2el": r.e2elMs][m]!
            f += [("mean_\(m)_ms", s.mean), ("median_\(m)_ms", s.median), ("std_\(m)_ms", s.std)]
            let ps: [Double] = r.samples.map { $0.percentiles(m, opt.percentiles) } ?? opt.percentiles.map { $0 == 99 ? s.p99 : .nan }
            for (p, v) in zip(opt.percentiles, ps) { f.append(("p\(pKey(p))_\(m)_ms", v)) }
        }
        return f
    }
}
