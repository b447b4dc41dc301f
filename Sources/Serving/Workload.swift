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
    /// less the tokenizer's `specialTokens`, the output at least 1), drawn as vLLM draws them (NumPy's
    /// `default_rng(seed)`: the same lengths for the same seed), and arrivals as `arrivalTimes` sends them.
    /// `outputRangeRatio` defaults to `rangeRatio` (vLLM's JSON `{"input": a, "output": b}` sets them apart).
    public static func random(inputLen: Int, outputLen: Int, rangeRatio: Double, numPrompts: Int,
                              requestRate: Double?, burstiness: Double, maxConcurrency: Int?, seed: UInt64,
                              prefixLen: Int = 0, outputRangeRatio: Double? = nil, specialTokens: Int = 0, rampUp: RampUp? = nil) throws -> Workload {
        guard inputLen > 0 else { throw InputError.usage("--random-input-len must be positive (got \(inputLen))") }
        guard outputLen > 0 else { throw InputError.usage("--random-output-len must be positive (got \(outputLen))") }
        guard numPrompts > 0 else { throw InputError.usage("--num-prompts must be positive (got \(numPrompts))") }
        guard rangeRatio >= 0, rangeRatio < 1 else { throw InputError.usage("--random-range-ratio must be in [0, 1) (got \(rangeRatio))") }
        let outRatio = outputRangeRatio ?? rangeRatio
        guard outRatio >= 0, outRatio < 1 else { throw InputError.usage("--random-range-ratio must be in [0, 1) (got \(outRatio))") }
        let (inRange, outRange) = try Datasets.randomLengths(inputLen: inputLen, outputLen: outputLen, ratios: (rangeRatio, outRatio),
                                                             prefixLen: prefixLen, specialTokens: specialTokens)
        // vLLM's own draws (RandomDataset: `np.random.default_rng(seed)`, every input length, then every output length).
        var lenRNG = NumPyGenerator(seed: seed)
        let ins = (0..<numPrompts).map { _ in lenRNG.integer(inRange.lowerBound, inRange.upperBound) }
        let outs = (0..<numPrompts).map { _ in lenRNG.integer(outRange.lowerBound, outRange.upperBound) }
        var samples: [Datasets.Sample] = []
        samples.reserveCapacity(numPrompts)
        for k in 0..<numPrompts {
            // vLLM's --random-prefix-len: one prefix of that many tokens before every prompt.
            samples.append(Datasets.Sample(input: prefixLen + ins[k], output: outs[k], prefixKey: prefixLen > 0 ? 1 : 0, sharedTokens: prefixLen))
        }
        let rateText = rampUp?.described ?? "rate " + (requestRate.map { $0.isFinite ? "\($0) req/s" : "inf" } ?? "inf")
        return try fromSamples(samples, requestRate: requestRate, burstiness: burstiness, maxConcurrency: maxConcurrency, seed: seed,
                               description: "random \(prefixLen > 0 ? "\(prefixLen) shared + " : "")\(inputLen)/\(outputLen) x\(numPrompts), \(rateText), max concurrency \(maxConcurrency.map(String.init) ?? "none")",
                               rampUp: rampUp)
    }

    /// Requests of a dataset's samples, in order, sent at --request-rate with gamma gaps of shape --burstiness
    /// (vLLM's `get_request`; nil or infinity sends all at 0).
    public static func fromSamples(_ samples: [Datasets.Sample], requestRate: Double?, burstiness: Double, maxConcurrency: Int?,
                                   seed: UInt64, description: String, rampUp: RampUp? = nil) throws -> Workload {
        guard !samples.isEmpty else { throw InputError.usage("--num-prompts must be positive (got 0)") }
        guard burstiness > 0 else { throw InputError.usage("--burstiness must be positive (got \(burstiness))") }
        if let c = maxConcurrency, c <= 0 { throw InputError.usage("--max-concurrency must be positive (got \(c))") }
        if let r = requestRate, !(r > 0) { throw InputError.usage("--request-rate must be positive or 'inf' (got \(r))") }
        let times = try arrivalTimes(count: samples.count, requestRate: requestRate, burstiness: burstiness, rampUp: rampUp, seed: seed)
        var reqs: [Request] = []
        reqs.reserveCapacity(samples.count)
        for (i, s) in samples.enumerated() {
            reqs.append(Request(arrival: .seconds(times[i]), inputTokens: s.input, outputTokens: s.output, prefixKey: s.prefixKey, sharedTokens: s.sharedTokens))
        }
        return Workload(requests: reqs, maxConcurrency: maxConcurrency, description: description)
    }

    /// `vllm bench serve --ramp-up-strategy`: the request rate climbs from `startRPS` (the first request's) to `endRPS`
    /// (the last's), linearly or geometrically in the request's index, in place of --request-rate.
    public struct RampUp: Sendable, Equatable {
        public enum Strategy: String, Sendable, CaseIterable { case linear, exponential }
        public var strategy: Strategy, startRPS: Double, endRPS: Double
        public init(strategy: Strategy, startRPS: Double, endRPS: Double) { self.strategy = strategy; self.startRPS = startRPS; self.endRPS = endRPS }

        /// The strategy of a vLLM result file's `ramp_up_strategy` (vLLM writes the key only when a ramp ran); nil
        /// without one, an error naming the file and value for another name.
        public static func strategy(inResult r: JSONNode, file: String) throws -> Strategy? {
            guard let s = r.optional("ramp_up_strategy") else { return nil }
            guard let st = Strategy(rawValue: try s.string()) else {
                throw InputError.data("\(file): key 'ramp_up_strategy' is \(s.described): expected \"linear\" or \"exponential\"")
            }
            return st
        }

        /// The rate request `index` of `count` is sent at (`_get_current_request_rate`).
        public func rate(index: Int, count: Int) -> Double {
            let progress = Double(index) / Double(max(count - 1, 1))
            switch strategy {
            case .linear: return startRPS + (endRPS - startRPS) * progress
            case .exponential: return startRPS * pow(endRPS / startRPS, progress)
            }
        }
        public var described: String {
            func n(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : JSONWriter.number(x) }
            return "\(strategy.rawValue) ramp from \(n(startRPS)) to \(n(endRPS)) req/s"
        }
    }

    /// When each request is sent, in seconds from the benchmark's start, as vLLM 0.24's `vllm bench serve` sends them
    /// (`get_request` in vllm/benchmarks/serve.py): one gamma-distributed gap of shape `burstiness` and mean 1/rate
    /// before every request, the first included, drawn from NumPy's global generator seeded with `seed` (vLLM's
    /// `--seed`, default 0), so the times are the very ones a benchmark of that seed sent; at a fixed rate the times
    /// are then scaled so that the last request goes at exactly count / rate seconds. Every request at 0 for an
    /// infinite rate without a ramp.
    public static func arrivalTimes(count: Int, requestRate: Double?, burstiness: Double, rampUp: RampUp?, seed: UInt64) throws -> [Double] {
        let rate = requestRate ?? .infinity
        guard rampUp != nil || rate.isFinite else { return Array(repeating: 0, count: count) }
        guard var rng = NumPyRandomState(seed: seed) else {
            throw InputError.usage("--seed \(seed): vLLM seeds NumPy's generator with it to draw the arrival gaps, which takes 0...\(UInt32.max); give a smaller --seed")
        }
        var times = [Double](repeating: 0, count: count)
        var t = 0.0
        for i in 0..<count {
            let r = rampUp?.rate(index: i, count: count) ?? rate
            if r.isInfinite { t += 0 }
            else if burstiness.isInfinite { t += 1.0 / r }
            else { t += rng.gamma(shape: burstiness, scale: 1.0 / (r * burstiness)) }
            times[i] = t
        }
        if rampUp == nil, let last = times.last, last != 0 {
            let factor = Double(count) / rate / last
            for i in times.indices { times[i] *= factor }
        }
        if let last = times.last, !(last.isFinite && last <= Limits.maxSimulatedSeconds) {
            let how = rampUp.map { "the \($0.described)" } ?? "--request-rate \(JSONWriter.number(rate))"
            throw InputError.usage("at \(how) the arrivals reach \(String(format: "%.3g", last)) s of simulated time by request \(count) (limit \(Int(Limits.maxSimulatedSeconds)) s); raise the rate or lower --num-prompts")
        }
        return times
    }
}
