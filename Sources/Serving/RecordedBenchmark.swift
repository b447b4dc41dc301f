import Foundation
import SimKit
import Cluster

/// A benchmark result that records its requests (`send_times`, `input_lens`, `output_lens`, as moesim's vLLM
/// harness `probe/vllm/vllm_bench.py` saves them beside vLLM's `--save-detailed` keys), read as a trace: the same
/// requests, sent when they were sent. A run capped at a concurrency (`max_concurrency`) was sent by its free slots,
/// so its requests all arrive at 0 and the replay needs the same `--max-concurrency`.
///
/// vLLM's own `vllm bench serve --save-detailed` result (0.24: `input_lens`, `output_lens`, `start_times`, `ttfts`,
/// `itls`, `errors`, no `send_times`) is read the same way: the requests that succeeded, each with its prompt length and
/// the tokens it generated. Uncapped, each is sent when its `start_times` entry says, counted from the benchmark's
/// start (the last request's end less `duration`, since vLLM records the start only as perf_counter readings); capped
/// (`max_concurrency` set), `start_times` are when a slot freed, which the replay's own cap decides, so the requests
/// follow vLLM's send schedule for `seed` instead (`Workload.arrivalTimes`: the file's request_rate, burstiness and
/// ramp; all at 0 at an infinite rate).
public enum RecordedBenchmark {
    /// The requests of `node` if it is such a result, else nil.
    public static func requests(_ node: JSONNode, file: String, seed: UInt64 = 0) throws -> [Request]? {
        if node.object != nil, !node.has("send_times"), node.has("input_lens"), node.has("output_lens") {
            return try vllmDetailed(node, file: file, seed: seed)
        }
        guard node.object != nil, node.has("send_times"), node.has("input_lens"), node.has("output_lens") else { return nil }
        let send = try node.require("send_times").array().map { try $0.double() }
        let ins = try node.require("input_lens").array().map { try $0.int() }
        let outs = try node.require("output_lens").array().map { try $0.int() }
        guard send.count == ins.count, ins.count == outs.count, !send.isEmpty else {
            throw InputError.data("\(file): send_times, input_lens and output_lens must have one entry per request (found \(send.count), \(ins.count), \(outs.count))")
        }
        let capped = node.has("max_concurrency")
        let t0 = send.min()!
        var out: [Request] = []
        out.reserveCapacity(send.count)
        for i in 0..<send.count {
            guard send[i].isFinite, ins[i] > 0, outs[i] > 0, Limits.tokens.contains(ins[i]), Limits.tokens.contains(outs[i]) else {
                throw InputError.data("\(file): request \(i + 1): send time \(send[i]) s, \(ins[i]) input and \(outs[i]) output tokens (times finite, counts in \(Limits.tokens.lowerBound)...\(Limits.tokens.upperBound))")
            }
            let at = capped ? 0 : send[i] - t0
            guard at <= Limits.maxSimulatedSeconds else {
                throw InputError.data("\(file): request \(i + 1) is sent \(String(format: "%.3g", at)) s after the first; the limit is \(Int(Limits.maxSimulatedSeconds)) s")
            }
            out.append(Request(arrival: .seconds(at), inputTokens: ins[i], outputTokens: outs[i]))
        }
        // Requests in send order (a stable sort keeps the recorded order among equal times).
        return out.enumerated().sorted { ($0.element.arrival, $0.offset) < ($1.element.arrival, $1.offset) }.map(\.element)
    }

    /// vLLM's `--save-detailed` result (see the type's comment).
    static func vllmDetailed(_ node: JSONNode, file: String, seed: UInt64) throws -> [Request] {
        let ins = try node.require("input_lens").array().map { try $0.int() }
        let outs = try node.require("output_lens").array().map { try $0.int() }
        let n = ins.count
        guard n > 0, outs.count == n else {
            throw InputError.data("\(file): input_lens and output_lens must have one entry per request (found \(ins.count), \(outs.count))")
        }
        func perRequest<T>(_ key: String, _ read: (JSONNode) throws -> T) throws -> [T]? {
            guard let a = try node.optionalArray(key) else { return nil }
            guard a.count == n else { throw InputError.data("\(file): '\(key)' has \(a.count) entries; input_lens has \(n)") }
            return try a.map(read)
        }
        // A failed request has an error text (and 0 output tokens): it never ran, so it is left out.
        let errors = try perRequest("errors") { $0.isNull ? "" : try $0.string() } ?? Array(repeating: "", count: n)
        let ok = (0..<n).filter { errors[$0].isEmpty && outs[$0] > 0 }
        guard !ok.isEmpty else { throw InputError.data("\(file): no request succeeded (every 'errors' entry is set or every output_lens is 0)") }
        var at = [Double](repeating: 0, count: n)
        let capped = node.optional("max_concurrency") != nil
        // The run's settings, checked where they are read: a bad one is named, not turned into odd arrival times.
        func setting(_ key: String, _ flag: String) throws -> Double? { try node.optional(key)?.resultSetting(flag: flag, file: file) }
        try node.checkResultDuration(file: file)
        if !capped, let starts = try perRequest("start_times", { try $0.double() }) {
            // The benchmark's start: the last end (start + TTFT + the ITLs) less the duration vLLM measured from it.
            let ttfts = try perRequest("ttfts") { try $0.double() }
            let itls = try perRequest("itls") { try $0.array().reduce(0.0) { $0 + (try $1.double()) } }
            var t0 = ok.map { starts[$0] }.min()!
            if let d = try node.optional("duration")?.double(), let tt = ttfts, let it = itls {
                let lastEnd = ok.map { starts[$0] + tt[$0] + it[$0] }.max()!
                t0 = min(t0, lastEnd - d)
            }
            for i in ok { at[i] = starts[i] - t0 }
        } else {
            var rate: Double? = nil
            if let r = node.optional("request_rate"), r.isString {
                guard try r.string() == "inf" else { throw InputError.data("\(file): key 'request_rate' is \(r.described): expected a positive number or \"inf\", as vLLM writes it") }
                rate = .infinity
            } else { rate = try setting("request_rate", "--request-rate") }
            let b = try setting("burstiness", "--burstiness") ?? 1
            var ramp: Workload.RampUp? = nil
            if let st = try Workload.RampUp.strategy(inResult: node, file: file) {
                ramp = .init(strategy: st, startRPS: try node.require("ramp_up_start_rps").double(), endRPS: try node.require("ramp_up_end_rps").double())
            }
            at = try Workload.arrivalTimes(count: n, requestRate: rate, burstiness: b, rampUp: ramp, seed: seed)
        }
        var out: [Request] = []
        for i in ok {
            guard at[i].isFinite, at[i] >= 0, at[i] <= Limits.maxSimulatedSeconds, Limits.tokens.contains(ins[i]), Limits.tokens.contains(outs[i]) else {
                throw InputError.data("\(file): request \(i + 1): sent at \(at[i]) s, \(ins[i]) input and \(outs[i]) output tokens (times 0...\(Int(Limits.maxSimulatedSeconds)) s, counts in \(Limits.tokens.lowerBound)...\(Limits.tokens.upperBound))")
            }
            out.append(Request(arrival: .seconds(at[i]), inputTokens: ins[i], outputTokens: outs[i]))
        }
        return out.enumerated().sorted { ($0.element.arrival, $0.offset) < ($1.element.arrival, $1.offset) }.map(\.element)
    }
}
