import Foundation
import SimKit
import Cluster

/// A benchmark result that records its requests (`send_times`, `input_lens`, `output_lens`, as moesim's vLLM
/// harness `probe/vllm/vllm_bench.py` saves them beside vLLM's `--save-detailed` keys), read as a trace: the same
/// requests, sent when they were sent. A run capped at a concurrency (`max_concurrency`) was sent by its free slots,
/// so its requests all arrive at 0 and the replay needs the same `--max-concurrency`.
public enum RecordedBenchmark {
    /// The requests of `node` if it is such a result, else nil.
    public static func requests(_ node: JSONNode, file: String) throws -> [Request]? {
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
}
