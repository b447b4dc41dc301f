import Foundation
import SimKit
import Cluster

/// One request of a workload: when it arrives and how many tokens go in and come out.
public struct Request: Sendable, Equatable {
    /// Arrival time at the client (the benchmark's schedule); the request is sent when a concurrency slot frees.
    public var arrival: SimTime
    public var inputTokens: Int
    public var outputTokens: Int
    /// Prefix caching: requests with the same nonzero `prefixKey` hold the same tokens in their first
    /// `sharedTokens` positions (a shared system prompt, or a conversation whose later turns repeat the earlier
    /// turns' prompts and answers). 0 = nothing shared.
    public var prefixKey: UInt64 = 0
    public var sharedTokens: Int = 0

    public init(arrival: SimTime, inputTokens: Int, outputTokens: Int) {
        self.arrival = arrival; self.inputTokens = inputTokens; self.outputTokens = outputTokens
    }

    public init(arrival: SimTime, inputTokens: Int, outputTokens: Int, prefixKey: UInt64, sharedTokens: Int) {
        self.arrival = arrival; self.inputTokens = inputTokens; self.outputTokens = outputTokens
        self.prefixKey = prefixKey; self.sharedTokens = sharedTokens
    }
}

/// A request stream and how the client sends it (vLLM's `benchmark_serving.py` semantics).
public struct Workload: Sendable {
    public var requests: [Request]
    /// Requests in flight at most (`--max-concurrency`); nil = unbounded.
    public var maxConcurrency: Int?
    public var description: String
    /// Warnings and notes for stderr (estimated token counts, oversampling).
    public var notes: [String] = []

    public init(requests: [Request], maxConcurrency: Int?, description: String) {
        self.requests = requests; self.maxConcurrency = maxConcurrency; self.description = description
    }

    public var totalInputTokens: Int { requests.reduce(0) { $0 + $1.inputTokens } }
    public var totalOutputTokens: Int { requests.reduce(0) { $0 + $1.outputTokens } }

    /// vLLM's random dataset: lengths uniform in [floor(X(1-r)), ceil(X(1+r))] (`Datasets.randomLengths`: the input
    /// less the tokenizer's `specialTokens`, the output at least 1), and arrival gaps gamma distributed with
    /// shape = burstiness and mean 1/rate (`rate` = nil or infinity sends all at time 0). `outputRangeRatio`
    /// defaults to `rangeRatio` (vLLM's JSON `{"input": a, "output": b}` sets them apart).
    public static func random(inputLen: Int, outputLen: Int, rangeRatio: Double, numPrompts: Int,
                              requestRate: Double?, burstiness: Double, maxConcurrency: Int?, seed: UInt64,
                              prefixLen: Int = 0, outputRangeRatio: Double? = nil, specialTokens: Int = 0) throws -> Workload {
        guard inputLen > 0 else { throw InputError.usage("--random-input-len must be positive (got \(inputLen))") }
        guard outputLen > 0 else { throw InputError.usage("--random-output-len must be positive (got \(outputLen))") }
        guard numPrompts > 0 else { throw InputError.usage("--num-prompts must be positive (got \(numPrompts))") }
        guard rangeRatio >= 0, rangeRatio < 1 else { throw InputError.usage("--random-range-ratio must be in [0, 1) (got \(rangeRatio))") }
        let outRatio = outputRangeRatio ?? rangeRatio
        guard outRatio >= 0, outRatio < 1 else { throw InputError.usage("--random-range-ratio must be in [0, 1) (got \(outRatio))") }
        let (inRange, outRange) = try Datasets.randomLengths(inputLen: inputLen, outputLen: outputLen, ratios: (rangeRatio, outRatio),
                                                             prefixLen: prefixLen, specialTokens: specialTokens)
        var lenRNG = Xoshiro256(seed: seed, stream: 1)
        func draw(_ r: ClosedRange<Int>) -> Int { r.lowerBound == r.upperBound ? r.lowerBound : lenRNG.uniformInt(r) }
        var samples: [Datasets.Sample] = []
        samples.reserveCapacity(numPrompts)
        for _ in 0..<numPrompts {
            // vLLM's --random-prefix-len: one prefix of that many tokens before every prompt.
            let i = draw(inRange), o = draw(outRange)
            samples.append(Datasets.Sample(input: prefixLen + i, output: o, prefixKey: prefixLen > 0 ? 1 : 0, sharedTokens: prefixLen))
        }
        let rateText = requestRate.map { $0.isFinite ? "\($0) req/s" : "inf" } ?? "inf"
        return try fromSamples(samples, requestRate: requestRate, burstiness: burstiness, maxConcurrency: maxConcurrency, seed: seed,
                               description: "random \(prefixLen > 0 ? "\(prefixLen) shared + " : "")\(inputLen)/\(outputLen) x\(numPrompts), rate \(rateText), max concurrency \(maxConcurrency.map(String.init) ?? "none")")
    }

    /// Requests of a dataset's samples, in order, sent at --request-rate with gamma gaps of shape --burstiness
    /// (vLLM's `get_request`; nil or infinity sends all at 0).
    public static func fromSamples(_ samples: [Datasets.Sample], requestRate: Double?, burstiness: Double, maxConcurrency: Int?,
                                   seed: UInt64, description: String) throws -> Workload {
        guard !samples.isEmpty else { throw InputError.usage("--num-prompts must be positive (got 0)") }
        guard burstiness > 0 else { throw InputError.usage("--burstiness must be positive (got \(burstiness))") }
        if let c = maxConcurrency, c <= 0 { throw InputError.usage("--max-concurrency must be positive (got \(c))") }
        if let r = requestRate, !(r > 0) { throw InputError.usage("--request-rate must be positive or 'inf' (got \(r))") }
        var gapRNG = Xoshiro256(seed: seed, stream: 2)
        var reqs: [Request] = []
        reqs.reserveCapacity(samples.count)
        var t = 0.0
        for (i, s) in samples.enumerated() {
            if i > 0, let rate = requestRate, rate.isFinite {
                t += gapRNG.gamma(shape: burstiness, scale: 1 / (rate * burstiness))
                guard t.isFinite, t <= Limits.maxSimulatedSeconds else {
                    throw InputError.usage("at --request-rate \(rate) the arrivals reach \(String(format: "%.3g", t)) s of simulated time by request \(i + 1) (limit \(Int(Limits.maxSimulatedSeconds)) s); raise --request-rate or lower --num-prompts")
                }
            }
            reqs.append(Request(arrival: .seconds(t), inputTokens: s.input, outputTokens: s.output, prefixKey: s.prefixKey, sharedTokens: s.sharedTokens))
        }
        return Workload(requests: reqs, maxConcurrency: maxConcurrency, description: description)
    }
}
