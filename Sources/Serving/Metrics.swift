import Foundation
import SimKit
import Cluster

/// The benchmark's metrics, with `benchmark_serving.py`'s definitions and key names, plus moesim's extras.
public struct RunResult: Sendable, Codable {
    public var durationS: Double
    public var completed: Int
    public var totalInputTokens: Int
    public var totalOutputTokens: Int
    public var ttftMs: Summary
    public var tpotMs: Summary
    public var itlMs: Summary
    public var e2elMs: Summary
    public var gpus: Int
    public var steps: Int
    public var breakdownUs: StepBreakdown
    public var preemptions: Int
    public var kvCapacityTokens: Int
    public var peakKVUsage: Double
    public var meanKVUsage: Double
    public var gpuBusyFraction: Double
    public var seed: UInt64
    public var notes: [String] = []
    /// Per step component, where its kernel times came from ("measured", "interpolated", "fitted shape model",
    /// "roofline", "derived", comma-joined), and the measured kernel tables used, if any.
    public var timeSources: [String: String] = [:]
    public var kernelTables: String?
    /// Every latency sample (for any percentile: `--metric-percentiles`).
    @Transient public var samples: Samples? = nil
    /// Per request, in request order (vLLM's `--save-detailed` arrays).
    @Transient public var perRequest: PerRequest? = nil
    /// Engine steps and request lifetimes, when a timeline was asked for.
    @Transient public var timeline: Timeline? = nil

    public struct Samples: Sendable {
        public var ttftMs: [Double], tpotMs: [Double], itlMs: RunLengthSample, e2elMs: [Double]
        public init(ttftMs: [Double], tpotMs: [Double], itlMs: RunLengthSample, e2elMs: [Double]) {
            self.ttftMs = ttftMs; self.tpotMs = tpotMs; self.itlMs = itlMs; self.e2elMs = e2elMs
        }
        /// The samples of a metric named as vLLM names it (ttft, tpot, itl, e2el), with the percentiles asked.
        public func percentiles(_ metric: String, _ qs: [Double]) -> [Double] {
            let n = ["ttft": ttftMs.count, "tpot": tpotMs.count, "itl": itlMs.count][metric] ?? e2elMs.count
            if n == 0 { return qs.map { _ in 0 } } // as Summary of no samples
            switch metric {
            case "ttft": return Statistics.percentiles(ttftMs, qs)
            case "tpot": return Statistics.percentiles(tpotMs, qs)
            case "itl": return itlMs.percentiles(qs)
            default: return Statistics.percentiles(e2elMs, qs)
            }
        }
    }

    public struct PerRequest: Sendable {
        public var inputLens: [Int], outputLens: [Int]
        /// Send to first token, and send to last token, in milliseconds.
        public var ttftMs: [Double], e2elMs: [Double]
        /// When the client sent each request (ms from the start).
        public var sendMs: [Double]
        /// Each request's inter-token latencies (ms), when recorded.
        public var itlsMs: [[Double]]?
        public init(inputLens: [Int], outputLens: [Int], ttftMs: [Double], e2elMs: [Double], sendMs: [Double], itlsMs: [[Double]]?) {
            self.inputLens = inputLens; self.outputLens = outputLens; self.ttftMs = ttftMs; self.e2elMs = e2elMs; self.sendMs = sendMs; self.itlsMs = itlsMs
        }
    }

    /// One engine step on the timeline: when it started (µs of simulated time), its components, the largest DP rank's
    /// tokens and sequences.
    public struct StepRecord: Sendable {
        public var startUs: Double
        public var parts: StepBreakdown
        public var tokens: Int, sequences: Int
        /// With pipeline parallelism: when each stage ran this batch (start, duration in µs); nil without PP.
        public var stages: [(startUs: Double, us: Double)]? = nil
    }
    public struct Timeline: Sendable {
        public var steps: [StepRecord]
        /// Steps left out past the recording cap.
        public var droppedSteps: Int
        /// Several engine instances: each one's steps (and `steps` is empty).
        public var instances: [InstanceTimeline]? = nil
    }
    /// One engine instance's steps in a multi-instance run.
    public struct InstanceTimeline: Sendable {
        /// "prefill", "decode" or "replica", and the instance's number within its role.
        public var role: String, index: Int
        public var plan: ParallelPlan
        public var steps: [StepRecord]
        public var droppedSteps: Int
    }
    /// Prefix caching and speculative decoding, when on.
    public var prefixCache: PrefixCacheStats?
    public var speculative: SpeculativeStats?
    /// Several engine instances (replicas, or disaggregated prefill and decode): each one's share.
    public var instances: [InstanceStats]?
    /// vLLM's offline `LLM` (--usage-context offline): the result also carries `vllm bench throughput`'s keys.
    public var offline = false
    /// `vllm bench latency`: the time one batch takes from `LLM.generate` to its last output, in seconds (nil for other runs).
    public var benchLatencyS: Double? = nil
    /// `vllm bench latency`: each measured iteration's latency (s).
    public var benchLatencies: [Double] = []
    /// vLLM's peak output tokens in a second and peak concurrent requests: serving runs only (nil offline, for
    /// `vllm bench latency`, and where not recorded).
    public var peaks: Peaks? = nil

    /// `vllm bench serve`'s `max_output_tokens_per_s` and `max_concurrent_requests` (vllm/benchmarks/serve.py,
    /// calculate_metrics): one-second buckets from the first request's start; each token counted in the bucket of the
    /// instant it reached the client, each request in every bucket from the one it started in to the one it ended in.
    public struct Peaks: Sendable, Codable, Equatable {
        public var maxOutputTokensPerS: Double
        public var maxConcurrentRequests: Int
        public init(sendUs: [Double], endUs: [Double], tokens: [TokenInstants]) {
            guard let t0 = sendUs.min(), let t1 = endUs.max(), t1 >= t0 else { maxOutputTokensPerS = 0; maxConcurrentRequests = 0; return }
            let buckets = Int(((t1 - t0) / 1e6).rounded(.up)) + 1
            // Requests: +1 in the bucket each starts in, -1 after the one it ends in, summed in bucket order (a
            // dictionary of the buckets that change: a trace spread over days holds few of its seconds' buckets).
            var delta: [Int: Int] = [:]
            for (s, e) in zip(sendUs, endUs) {
                let a = Int((s - t0) / 1e6), z = min(Int((e - t0) / 1e6), buckets - 1)
                if a <= z { delta[a, default: 0] += 1; delta[z + 1, default: 0] -= 1 }
            }
            var running = 0, peak = 0
            for b in delta.keys.sorted() { running += delta[b]!; peak = max(peak, running) }
            maxConcurrentRequests = peak
            // Tokens: the instants come in time order within each list; a bucket's count is summed over the lists.
            var perBucket: [Int: Double] = [:]
            for list in tokens {
                var b = -1, n = 0.0
                for (t, c) in zip(list.instants, list.counts) {
                    let k = Int((t - t0) / 1e6)
                    guard k >= 0 && k < buckets else { continue }
                    if k != b { if b >= 0 { perBucket[b, default: 0] += n }; b = k; n = 0 }
                    n += Double(c)
                }
                if b >= 0 { perBucket[b, default: 0] += n }
            }
            maxOutputTokensPerS = perBucket.values.max() ?? 0
        }
    }

    /// Requests the server refused (vLLM's `failed`): left out of every metric above, as `vllm bench serve` leaves them.
    public var failedRequests: [FailedRequest] = []
    public var failed: Int { failedRequests.count }

    /// A request that never ran: where it stood in the benchmark's list, its prompt, when the client sent it, and the
    /// server's error text.
    public struct FailedRequest: Sendable, Codable {
        public var index: Int, inputTokens: Int, sendMs: Double, error: String
        public init(index: Int, inputTokens: Int, sendMs: Double, error: String) {
            self.index = index; self.inputTokens = inputTokens; self.sendMs = sendMs; self.error = error
        }
    }

    public init(durationS: Double, completed: Int, totalInputTokens: Int, totalOutputTokens: Int, ttftMs: Summary, tpotMs: Summary,
                itlMs: Summary, e2elMs: Summary, gpus: Int, steps: Int, breakdownUs: StepBreakdown, preemptions: Int,
                kvCapacityTokens: Int, peakKVUsage: Double, meanKVUsage: Double, gpuBusyFraction: Double, seed: UInt64) {
        self.durationS = durationS; self.completed = completed; self.totalInputTokens = totalInputTokens
        self.totalOutputTokens = totalOutputTokens; self.ttftMs = ttftMs; self.tpotMs = tpotMs; self.itlMs = itlMs; self.e2elMs = e2elMs
        self.gpus = gpus; self.steps = steps; self.breakdownUs = breakdownUs; self.preemptions = preemptions
        self.kvCapacityTokens = kvCapacityTokens; self.peakKVUsage = peakKVUsage; self.meanKVUsage = meanKVUsage
        self.gpuBusyFraction = gpuBusyFraction; self.seed = seed
    }

    public var requestThroughput: Double { Double(completed) / durationS }
    public var outputThroughput: Double { Double(totalOutputTokens) / durationS }
    public var totalTokenThroughput: Double { Double(totalInputTokens + totalOutputTokens) / durationS }

    /// Ordered key-value pairs of the result, the benchmark's keys first.
    /// `np.percentile` (linear interpolation between the closest ranks).
    public static func numpyPercentile(_ xs: [Double], _ p: Double) -> Double {
        let v = xs.sorted()
        guard v.count > 1 else { return v.first ?? .nan }
        let h = (Double(v.count) - 1) * p / 100, lo = Int(h.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (h - Double(lo)) * (v[hi] - v[lo])
    }

    public func fields() -> [(String, Any)] {
        var f: [(String, Any)] = [
            ("duration", durationS), ("completed", completed),
        ]
        if failed > 0 { f.append(("failed", failed)) }
        f += [
            ("total_input_tokens", totalInputTokens), ("total_output_tokens", totalOutputTokens),
            ("request_throughput", requestThroughput), ("output_throughput", outputThroughput),
            ("total_token_throughput", totalTokenThroughput),
        ]
        if let p = peaks {
            f += [("max_output_tokens_per_s", p.maxOutputTokensPerS), ("max_concurrent_requests", p.maxConcurrentRequests)]
        }
        for (name, s) in [("ttft", ttftMs), ("tpot", tpotMs), ("itl", itlMs), ("e2el", e2elMs)] {
            f += [("mean_\(name)_ms", s.mean), ("median_\(name)_ms", s.median), ("std_\(name)_ms", s.std), ("p99_\(name)_ms", s.p99)]
        }
        f += [
            ("output_throughput_per_gpu", outputThroughput / Double(gpus)), ("num_gpus", gpus),
            ("engine_steps", steps), ("preemptions", preemptions),
            ("kv_cache_capacity_tokens", kvCapacityTokens), ("kv_cache_peak_usage", peakKVUsage),
            ("kv_cache_mean_usage", meanKVUsage), ("gpu_busy_fraction", gpuBusyFraction),
            ("step_time_breakdown_ms", [
                ("attention", breakdownUs.attention / 1e3), ("dense_gemm", breakdownUs.denseGEMM / 1e3),
                ("experts", breakdownUs.experts / 1e3), ("communication", breakdownUs.communication / 1e3),
                ("overhead", breakdownUs.overhead / 1e3),
            ] as [(String, Any)]),
            ("seed", seed),
        ]
        if offline {
            // `vllm bench throughput --output-json`: elapsed_time, num_requests, total_num_tokens, requests_per_second,
            // tokens_per_second (every request submitted at once to vLLM's LLM class).
            f += [("elapsed_time", durationS), ("num_requests", completed), ("total_num_tokens", totalInputTokens + totalOutputTokens),
                  ("requests_per_second", requestThroughput), ("tokens_per_second", totalTokenThroughput)]
        }
        if let l = benchLatencyS {
            // `vllm bench latency --output-json`: avg_latency, latencies (one per iteration), percentiles; every
            // simulated iteration after the first is the same, so all are that one.
            let ls = benchLatencies.isEmpty ? [l] : benchLatencies
            f += [("avg_latency", l), ("latencies", ls), ("percentiles", [10, 25, 50, 75, 90, 99].map { (String($0), RunResult.numpyPercentile(ls, Double($0)) as Any) })]
        }
        if let p = prefixCache {
            f += [("prefix_cache_queried_tokens", p.queriedTokens), ("prefix_cache_hit_tokens", p.hitTokens),
                  ("prefix_cache_hit_rate", p.hitRate), ("prefix_cache_evicted_blocks", p.evictedBlocks)]
        }
        if let sp = speculative {
            f += [("spec_decode_config", sp.config), ("spec_decode_verify_steps", sp.verifySteps),
                  ("spec_decode_num_draft_tokens", sp.proposedDrafts), ("spec_decode_num_accepted_tokens", sp.acceptedDrafts),
                  ("spec_decode_draft_acceptance_rate", sp.acceptanceRate), ("spec_decode_mean_acceptance_length", sp.tokensPerStep),
                  ("spec_decode_expected_acceptance_length", sp.expectedTokensPerStep)]
        }
        if let inst = instances {
            f.append(("instances", inst.map { [("role", $0.role), ("plan", $0.plan), ("requests", $0.requests), ("engine_steps", $0.steps),
                                              ("gpu_busy_fraction", $0.busyFraction)] as [(String, Any)] }))
        }
        if !timeSources.isEmpty {
            f.append(("time_sources", timeSources.keys.sorted().map { ($0, timeSources[$0]!) } as [(String, Any)]))
            f.append(("kernel_tables", kernelTables ?? NSNull()))
        }
        if !notes.isEmpty { f.append(("notes", notes)) }
        return f
    }
}

/// The instants tokens reached the client and how many at each, run-length coded: the tokens of one engine step
/// share their instant, so this grows by the step, not by the token.
public struct TokenInstants: Sendable, Codable, Equatable {
    public static let maxInstants = 4_000_000
    public private(set) var instants: [Double] = [], counts: [Int32] = []
    public init() {}
    /// Counts one token at `t` (µs); false once the list would pass `maxInstants`.
    @inline(__always) public mutating func add(_ t: Double, count: Int = 1) -> Bool {
        if let last = instants.last, last == t { counts[counts.count - 1] += Int32(count); return true }
        guard instants.count < Self.maxInstants else { return false }
        instants.append(t); counts.append(Int32(count))
        return true
    }
}

/// A result's bulky per-sample records (latency samples, per-request arrays, the timeline) stay out of its Codable
/// form (plan shards' files): they encode as null and decode as nil.
@propertyWrapper
public struct Transient<Value: Sendable & ExpressibleByNilLiteral>: Sendable, Codable {
    public var wrappedValue: Value
    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
    public init(from decoder: Decoder) throws { wrappedValue = nil }
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encodeNil() }
}

/// Writes ordered JSON deterministically (fixed key order, shortest round-trip doubles).
public enum JSONWriter {
    public static func write(_ fields: [(String, Any)], indent: Int = 2) -> String {
        var s = ""
        emit(fields, into: &s, level: 0, indent: indent)
        return s
    }

    static func emit(_ v: Any, into s: inout String, level: Int, indent: Int) {
        let pad = String(repeating: " ", count: (level + 1) * indent), close = String(repeating: " ", count: level * indent)
        let nl = indent > 0 ? "\n" : ""
        switch v {
        case let f as [(String, Any)] where !f.isEmpty || type(of: v) == [(String, Any)].self:
            // An empty [Any] also casts to [(String, Any)]; only a real ordered object prints as {}.
            if f.isEmpty { s += "{}"; return }
            s += "{" + nl
            for (i, kv) in f.enumerated() {
                s += pad + quote(kv.0) + (indent > 0 ? ": " : ":")
                emit(kv.1, into: &s, level: level + 1, indent: indent)
                s += (i + 1 < f.count ? "," : "") + nl
            }
            s += close + "}"
        case let a as [Any]:
            if a.isEmpty { s += "[]"; return }
            let simple = a.allSatisfy { !($0 is [Any]) && !($0 is [(String, Any)]) }
            if simple {
                s += "[" + a.map { x -> String in var t = ""; emit(x, into: &t, level: 0, indent: 0); return t }.joined(separator: ", ") + "]"
                return
            }
            s += "[" + nl
            for (i, x) in a.enumerated() {
                s += pad
                emit(x, into: &s, level: level + 1, indent: indent)
                s += (i + 1 < a.count ? "," : "") + nl
            }
            s += close + "]"
        case let d as Double: s += number(d)
        case let i as Int: s += String(i)
        case let u as UInt64: s += String(u)
        case let b as Bool: s += b ? "true" : "false"
        case let str as String: s += quote(str)
        case is NSNull: s += "null"
        default: s += quote("\(v)")
        }
    }

    public static func number(_ d: Double) -> String {
        if !d.isFinite { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return "\(d)"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
