import Foundation
import SimKit

/// How tokens choose experts: `uniform`, `zipf:S`, `dirichlet:A`, `histogram:FILE` or `trace:FILE`.
public enum RoutingSpec: Sendable, Equatable, CustomStringConvertible {
    case uniform
    case zipf(Double)
    case dirichlet(Double)
    case histogram(String)
    case trace(String)

    public static let forms = ["uniform", "zipf:S", "dirichlet:A", "histogram:FILE", "trace:FILE"]

    public init(parsing s: String) throws {
        let parts = s.split(separator: ":", maxSplits: 1).map(String.init)
        let head = parts.first ?? ""
        func number() throws -> Double {
            guard parts.count == 2, let v = Double(parts[1]), v.isFinite, v > 0 else {
                throw InputError.usage("The value '\(s)' is invalid for '--routing'. '\(head)' needs a positive number, e.g. '\(head):1.2'")
            }
            guard v >= 1e-3, v <= 1e3 else {
                throw InputError.usage("The value '\(s)' is invalid for '--routing': '\(head)' takes a positive number in 0.001...1000")
            }
            return v
        }
        switch head {
        case "uniform" where parts.count == 1: self = .uniform
        case "zipf": self = .zipf(try number())
        case "dirichlet": self = .dirichlet(try number())
        case "histogram" where parts.count == 2: self = .histogram(parts[1])
        case "trace" where parts.count == 2: self = .trace(parts[1])
        default:
            throw InputError.usage("The value '\(s)' is invalid for '--routing'. Please provide one of \(quotedChoices(Self.forms))")
        }
    }

    public var description: String {
        switch self {
        case .uniform: return "uniform"
        case .zipf(let s): return "zipf:\(s)"
        case .dirichlet(let a): return "dirichlet:\(a)"
        case .histogram(let f): return "histogram:\(f)"
        case .trace(let f): return "trace:\(f)"
        }
    }
}

/// Per-layer expert popularity and the sampler that turns a token count into tokens per expert.
///
/// Each token picks `topK` distinct experts, drawn without replacement by popularity (Walker alias draws with
/// duplicates rejected). For large batches (tokens x k above `exactLimit`) the per-expert counts are drawn as
/// independent binomials with the experts' inclusion probabilities, which keeps the mean and variance of every
/// count and costs O(experts) per layer; the total then matches T x k only on average.
public struct RoutingModel: Sendable {
    public let experts: Int
    public let topK: Int
    public let layers: Int
    public let spec: RoutingSpec
    /// `popularity[l][e]`, summing to 1 in each layer.
    public private(set) var popularity: [[Double]]
    /// `inclusion[l][e]` = P(expert e is among a token's top-k), summing to k in each layer.
    public private(set) var inclusion: [[Double]]
    let alias: [AliasTable]
    /// Recorded tokens' expert sets per layer, for `trace:` routing.
    let recorded: [[[Int]]]
    public static let exactLimit = 64
    /// The distinct per-expert binomial probabilities `min(1, inclusion[l][e])` (in order of first appearance), and
    /// for each layer and expert (flattened, `l * experts + e`) its index among them: uniform routing has one, Zipf
    /// one per rank shared by every layer. Samplers for a token count are built once per distinct probability.
    public private(set) var distinctInclusion: [Double] = []
    var inclusionIndex: [Int32] = []

    /// Refuses a routing model that would take more memory than the budget or minutes to build, before building it:
    /// per layer, the popularity, inclusion and alias tables (about 40 bytes per expert), and for sampled inclusion
    /// (Dirichlet, histograms, traces) 20,000 tokens of top-k distinct draws.
    public static func checkCost(spec: RoutingSpec, experts: Int, topK: Int, layers: Int) throws {
        try Limits.checkMemory(Double(layers) * Double(experts) * 40, what: "routing over \(layers) MoE layers x \(experts) experts", flag: "the model's experts or layers")
        let sampled: Bool
        switch spec { case .uniform, .zipf: sampled = false; default: sampled = true }
        let work = Double(layers) * (Double(experts) * 8 + (sampled ? 20_000 * Double(topK) * Double(max(topK, 8)) : 0))
        guard work <= Limits.maxSetupWork else {
            throw InputError.usage(String(format: "routing %@ over %d MoE layers x %d experts (top-%d) would take about %.3g steps to set up; the limit is %.3g (about five minutes). Use uniform or zipf routing, or a smaller model",
                                          "\(spec)", layers, experts, topK, work, Limits.maxSetupWork))
        }
    }

    /// The seed the popularity and inclusion were built with.
    public let seed: UInt64
    /// What determines this model's draws (spec, shape and seed): the key of `RoutingDrawCache` entries.
    public var identity: String { "\(spec)|\(experts)|\(topK)|\(layers)|\(seed)" }

    public init(spec: RoutingSpec, experts: Int, topK: Int, layers: Int, seed: UInt64) throws {
        try Self.checkCost(spec: spec, experts: experts, topK: topK, layers: layers)
        self.spec = spec; self.experts = experts; self.topK = topK; self.layers = layers; self.seed = seed
        var rng = Xoshiro256(seed: seed, stream: 0x5EED_0001)
        var pop: [[Double]] = []
        var rec: [[[Int]]] = []
        switch spec {
        case .uniform:
            pop = Array(repeating: Array(repeating: 1 / Double(experts), count: experts), count: layers)
        case .zipf(let s):
            let z = try ZipfDistribution(n: experts, s: s)
            for _ in 0..<layers {
                var perm = Array(0..<experts)
                for i in stride(from: experts - 1, to: 0, by: -1) { perm.swapAt(i, rng.nextInt(below: i + 1)) }
                var p = Array(repeating: 0.0, count: experts)
                for r in 0..<experts { p[perm[r]] = z.probabilities[r] }
                pop.append(p)
            }
        case .dirichlet(let a):
            for _ in 0..<layers { pop.append(rng.dirichlet(alpha: Array(repeating: a, count: experts))) }
        case .histogram(let file):
            pop = try Self.loadHistogram(file: file, experts: experts, layers: layers)
        case .trace(let file):
            rec = try Self.loadTrace(file: file, experts: experts, topK: topK, layers: layers)
            for l in 0..<layers {
                var c = Array(repeating: 0.0, count: experts)
                for t in rec[l] { for e in t { c[e] += 1 } }
                let s = c.reduce(0, +)
                pop.append(c.map { $0 / s })
            }
        }
        // Each token draws top-k distinct experts by rejection: a layer whose weight sits almost entirely on fewer
        // than k experts would make every draw exhaust its attempts (minutes for a large model), and top-k
        // without replacement means little there. Refuse it, naming the layer.
        if rec.isEmpty && topK > 1 {
            for (l, p) in pop.enumerated() {
                let rest = 1 - p.sorted(by: >).prefix(topK - 1).reduce(0, +)
                guard rest >= 1e-3 else {
                    throw InputError.data("routing \(spec): MoE layer \(l) puts \(String(format: "%.6f", 1 - rest)) of its weight on \(topK - 1) experts, leaving \(String(format: "%.2g", max(rest, 0))) for the rest; each token needs \(topK) distinct experts, so at least 0.001 must remain (use a milder skew)")
                }
            }
        }
        popularity = pop
        recorded = rec
        alias = try pop.map { try AliasTable(weights: $0) }
        // Inclusion probabilities: exact for uniform, estimated by sampling otherwise (seeded).
        var inc: [[Double]] = []
        for l in 0..<layers {
            if case .uniform = spec {
                inc.append(Array(repeating: Double(topK) / Double(experts), count: experts)); continue
            }
            if l > 0, case .zipf = spec, let first = inc.first {
                // Same sorted probabilities in every layer: permute layer 0's inclusion by popularity rank.
                let order0 = (0..<experts).sorted { pop[0][$0] > pop[0][$1] || (pop[0][$0] == pop[0][$1] && $0 < $1) }
                let orderL = (0..<experts).sorted { pop[l][$0] > pop[l][$1] || (pop[l][$0] == pop[l][$1] && $0 < $1) }
                var p = Array(repeating: 0.0, count: experts)
                for r in 0..<experts { p[orderL[r]] = first[order0[r]] }
                inc.append(p); continue
            }
            var c = Array(repeating: 0.0, count: experts)
            let n = 20_000
            var pick = Array(repeating: 0, count: topK)
            for _ in 0..<n {
                Self.drawToken(alias[l], recorded: rec.isEmpty ? nil : rec[l], topK: topK, rng: &rng, into: &pick)
                for e in pick { c[e] += 1 }
            }
            inc.append(c.map { $0 / Double(n) })
        }
        inclusion = inc
        var index: [UInt64: Int32] = [:]
        var distinct: [Double] = []
        var flat: [Int32] = []
        flat.reserveCapacity(layers * experts)
        for l in 0..<layers {
            for e in 0..<experts {
                let p = min(1, inc[l][e])
                if let i = index[p.bitPattern] { flat.append(i) }
                else { index[p.bitPattern] = Int32(distinct.count); flat.append(Int32(distinct.count)); distinct.append(p) }
            }
        }
        distinctInclusion = distinct
        inclusionIndex = flat
    }

    /// Binomial samplers for `tokens` tokens, one per `distinctInclusion` entry (for `sampleCounts(...samplers:)`).
    public func binomialSamplers(tokens: Int) -> [BinomialSampler] {
        distinctInclusion.map { BinomialSampler(n: tokens, p: $0) }
    }

    /// Draws one token's `topK` distinct experts into `out`.
    @inline(__always)
    static func drawToken(_ table: AliasTable, recorded: [[Int]]?, topK: Int, rng: inout Xoshiro256, into out: inout [Int]) {
        if let rec = recorded {
            let t = rec[rng.nextInt(below: rec.count)]
            for i in 0..<topK { out[i] = t[i] }
            return
        }
        var i = 0, attempts = 0
        while i < topK {
            let e = table.sample(using: &rng)
            attempts += 1
            var dup = false
            for j in 0..<i where out[j] == e { dup = true; break }
            if !dup || attempts > 64 * topK {
                if dup { // pathological skew: take the first expert not yet chosen
                    var f = 0
                    while out[0..<i].contains(f) { f += 1 }
                    out[i] = f
                } else { out[i] = e }
                i += 1
            }
        }
    }

    /// Tokens per expert in MoE layer `layer` for a batch of `tokens` tokens, written into `counts`.
    public func sampleCounts(layer: Int, tokens: Int, rng: inout Xoshiro256, into counts: inout [Int]) {
        for e in 0..<experts { counts[e] = 0 }
        if tokens <= 0 { return }
        if tokens * topK <= Self.exactLimit {
            var pick = Array(repeating: 0, count: topK)
            let rec = recorded.isEmpty ? nil : recorded[layer]
            let table = alias[layer]  // taken once: per token, it was copied (its arrays retained and released)
            for _ in 0..<tokens {
                Self.drawToken(table, recorded: rec, topK: topK, rng: &rng, into: &pick)
                for i in 0..<topK { counts[pick[i]] += 1 }
            }
        } else {
            let inc = inclusion[layer]
            for e in 0..<experts { counts[e] = rng.binomial(n: tokens, p: min(1, inc[e])) }
        }
    }

    /// `sampleCounts` with the binomial samplers of this token count built beforehand (`binomialSamplers(tokens:)`):
    /// the same counts, drawn without recomputing each sampler's constants.
    public func sampleCounts(layer: Int, tokens: Int, rng: inout Xoshiro256, into counts: inout [Int], samplers: [BinomialSampler]) {
        if tokens <= 0 || tokens * topK <= Self.exactLimit { sampleCounts(layer: layer, tokens: tokens, rng: &rng, into: &counts); return }
        precondition(samplers.count == distinctInclusion.count && samplers.first?.n ?? tokens == tokens, "samplers built for another token count")
        let base = layer * experts
        inclusionIndex.withUnsafeBufferPointer { idx in
            samplers.withUnsafeBufferPointer { sp in
                counts.withUnsafeMutableBufferPointer { out in
                    for e in 0..<experts { out[e] = sp[Int(idx[base + e])].sample(using: &rng) }
                }
            }
        }
    }

    static func loadHistogram(file: String, experts: Int, layers: Int) throws -> [[Double]] {
        let j = try JSONNode.load(file: file)
        func row(_ n: JSONNode) throws -> [Double] {
            let a = try n.array().map { try $0.double() }
            guard a.count == experts else { throw n.fail("has \(a.count) experts; the model has \(experts)") }
            guard a.allSatisfy({ $0 >= 0 }), a.reduce(0, +) > 0, a.reduce(0, +).isFinite else { throw n.fail("counts must be non-negative, not all zero, and sum to a finite number") }
            let s = a.reduce(0, +)
            return a.map { $0 / s }
        }
        if let ls = j.optional("layers") {
            let rows = try ls.array()
            guard rows.count == layers else { throw ls.fail("has \(rows.count) layers; the model has \(layers) MoE layers") }
            return try rows.map(row)
        }
        return Array(repeating: try row(try j.require("counts")), count: layers)
    }

    static func loadTrace(file: String, experts: Int, topK: Int, layers: Int) throws -> [[[Int]]] {
        let j = try JSONNode.load(file: file)
        let ls = try j.require("layers")
        let rows = try ls.array()
        guard rows.count == layers else { throw ls.fail("has \(rows.count) layers; the model has \(layers) MoE layers") }
        return try rows.map { layer in
            let toks = try layer.array()
            guard !toks.isEmpty else { throw layer.fail("records no tokens") }
            return try toks.map { t in
                let ids = try t.array().map { try $0.int() }
                guard ids.count == topK else { throw t.fail("lists \(ids.count) experts; top-k is \(topK)") }
                for e in ids where e < 0 || e >= experts { throw t.fail("expert \(e) is out of range 0..<\(experts)") }
                guard Set(ids).count == ids.count else { throw t.fail("lists an expert twice (\(ids)); a token's top-k experts are distinct") }
                return ids
            }
        }
    }
}

/// The paper's eq. (2): elements all-reduced per TP all-reduce, `2 x hidden x tokens x (P-1)/P`.
public func tensorParallelAllReduceElements(hidden: Int, batchTokens: Int, gpus p: Int) -> Double {
    guard p > 1 else { return 0 }
    return 2 * Double(hidden) * Double(batchTokens) * Double(p - 1) / Double(p)
}

/// The paper's eq. (3): elements sent by an EP all-to-all dispatch (and again by the combine),
/// `k x hidden x tokens x (P-1)/P`.
public func expertParallelAllToAllElements(topK: Int, hidden: Int, batchTokens: Int, gpus p: Int) -> Double {
    guard p > 1 else { return 0 }
    return Double(topK) * Double(hidden) * Double(batchTokens) * Double(p - 1) / Double(p)
}

/// Routing draws shared between simulations in one process (a plan's candidates, which simulate the same model,
/// routing and seed): the per-layer expert counts of `StepCostModel.moeSamples` for one token count, keyed by what
/// determines them (the routing model, the draw stream's state before them, the token count and the number of
/// samples), with the stream's state after them. A simulation that reaches the same state and token count replays
/// them instead of drawing: the same counts, so byte-identical results. Off unless given a capacity
/// (`setCapacity`); when full, new entries are not kept (the first draws of a run are the ones other runs share).
public final class RoutingDrawCache: @unchecked Sendable {
    public static let shared = RoutingDrawCache()

    public struct Key: Hashable, Sendable {
        public var routing: String
        public var state: Xoshiro256
        public var tokens: Int
        public var samples: Int
    }
    public struct Entry: Sendable {
        public var counts: [UInt16]
        public var after: Xoshiro256
    }

    let lock = NSLock()
    var entries: [Key: Entry] = [:]
    var bytes = 0, capacity = 0
    public private(set) var hits = 0, misses = 0

    /// Keep up to `bytes` of draws (0: off, and the entries dropped).
    public func setCapacity(_ bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        capacity = max(0, bytes)
        if capacity == 0 { entries = [:]; self.bytes = 0 }
    }

    public var isEnabled: Bool { lock.lock(); defer { lock.unlock() }; return capacity > 0 }

    func lookup(_ k: Key) -> Entry? {
        lock.lock(); defer { lock.unlock() }
        if let e = entries[k] { hits += 1; return e }
        misses += 1
        return nil
    }

    func insert(_ k: Key, counts: [UInt16], after: Xoshiro256) {
        lock.lock(); defer { lock.unlock() }
        let size = counts.count * 2 + 128
        guard bytes + size <= capacity, entries[k] == nil else { return }
        entries[k] = Entry(counts: counts, after: after)
        bytes += size
    }
}
