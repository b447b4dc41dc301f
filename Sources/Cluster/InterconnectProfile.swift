import Foundation

/// The collectives an interconnect profile can time.
public enum Collective: String, CaseIterable, Sendable {
    case allReduce = "all_reduce", allToAll = "all_to_all", allGather = "all_gather"
    case reduceScatter = "reduce_scatter", sendRecv = "send_recv"
}

/// Measured collective curves of one GPU host topology, interpolated in log-size.
public struct InterconnectProfile: Sendable {
    public var name: String
    public var displayName: String
    public var gpus: [String]
    public var maxGPUs: Int
    public var linkBandwidthGBps: Double
    /// False for profiles that should only be used when named (`"default": false`), such as derived ones.
    public var isDefaultCandidate: Bool
    /// Among default candidates with the same measured coverage at a GPU count, the higher priority wins
    /// (`"default_priority"`, 0 when absent; our own probe's profiles say 1).
    public var defaultPriority: Int
    /// `curves[collective][gpuCount] = (log bytes, time us)` sorted by size.
    var curves: [Collective: [Int: Curve]]
    public var sources: [String]
    /// Points merged because a curve measured one size twice (the faster reading kept), said by `profiles check`.
    public var mergedPoints: [String] = []

    struct Curve: Sendable {
        var logBytes: [Double]
        var us: [Double]
        var maxBytes: Double
    }

    public init(json j: JSONNode) throws {
        name = try j.string("name")
        displayName = try j.optional("display_name")?.string() ?? name
        gpus = try j.require("gpus").array().map { try $0.string() }
        maxGPUs = try j.int("max_gpus", in: Limits.gpus)
        linkBandwidthGBps = try j.double("link_bandwidth_gbps", in: Limits.interconnect["link_bandwidth_gbps"]!)
        isDefaultCandidate = try j.bool("default", default: true)
        defaultPriority = try j.int("default_priority", default: 0)
        var cs: [Collective: [Int: Curve]] = [:]
        for c in try j.require("curves").array() {
            let cname = try c.string("collective")
            guard let coll = Collective(rawValue: cname) else {
                throw try c.require("collective").fail("is \"\(cname)\"; use one of \(quotedChoices(Collective.allCases.map(\.rawValue)))")
            }
            let g = try c.int("gpus", in: 2...Limits.gpus.upperBound)
            var pts: [(Double, Double)] = []
            for p in try c.require("points").array() {
                let pair = try p.array()
                guard pair.count == 2 else { throw p.fail("expected [bytes, time_us]") }
                let b = try pair[0].double(in: Limits.interconnect["bytes"]!), t = try pair[1].double(in: Limits.interconnect["time_us"]!)
                pts.append((b, t))
            }
            // Two readings at one size (a repeated measurement) are merged into the faster one, as the lower
            // envelope below treats a slower reading; interpolating between them would divide by zero.
            pts.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            let distinct = pts.enumerated().filter { $0.offset == 0 || pts[$0.offset - 1].0 != $0.element.0 }.map(\.element)
            if distinct.count < pts.count {
                mergedPoints.append("\(cname) at \(g) GPUs: \(pts.count - distinct.count) repeated size(s) merged into the faster reading")
            }
            pts = distinct
            guard pts.count >= 2 else { throw c.fail("a curve needs at least 2 points at different sizes") }
            // Lower monotone envelope in size: a larger message cannot finish sooner, so a slower reading below a
            // faster larger one is rank skew or noise (vidur's small all-reduces jump between 10 and 60 us).
            for i in stride(from: pts.count - 2, through: 0, by: -1) { pts[i].1 = min(pts[i].1, pts[i + 1].1) }
            cs[coll, default: [:]][g] = Curve(logBytes: pts.map { log($0.0) }, us: pts.map { $0.1 }, maxBytes: pts.last!.0)
        }
        curves = cs
        sources = try ProfileSources.read(j)
    }

    public func gpuCounts(_ c: Collective) -> [Int] { (curves[c]?.keys).map { Array($0).sorted() } ?? [] }

    /// Time of one collective of `bytes` (per rank, as nccl-tests counts) over `gpus` GPUs, in microseconds.
    ///
    /// Interpolates the measured curve in log-size. Below the smallest size the smallest time is used (latency
    /// floor); above the largest, time grows with the last segment's bandwidth. A missing all-to-all curve is
    /// derived from send/recv (each rank exchanges (P-1)/P of its buffer); a missing GPU count uses the nearest
    /// measured count scaled by the ring factor. Returns nil when nothing applies.
    public func timeUs(_ c: Collective, bytes: Double, gpus p: Int) -> Double? {
        if p <= 1 || bytes <= 0 { return 0 }
        if let curve = curveFor(c, gpus: p) { return Self.interpolate(curve.curve, bytes: bytes) * curve.scale }
        if c == .allToAll, let sr = curveFor(.sendRecv, gpus: 2) {
            // Each rank sends (P-1)/P of its buffer, spread over P-1 peers in parallel on a switched fabric.
            return Self.interpolate(sr.curve, bytes: bytes * Double(p - 1) / Double(p))
        }
        if c == .allGather || c == .reduceScatter, let ar = curveFor(.allReduce, gpus: p) {
            return Self.interpolate(ar.curve, bytes: bytes) * ar.scale * 0.5 // ring all-reduce = reduce-scatter + all-gather
        }
        return nil
    }

    func curveFor(_ c: Collective, gpus p: Int) -> (curve: Curve, scale: Double)? {
        guard let byCount = curves[c], !byCount.isEmpty else { return nil }
        if let exact = byCount[p] { return (exact, 1) }
        // Nearest measured count, scaled by the ring bus factor 2(P-1)/P for all-reduce, (P-1)/P otherwise.
        let nearest = byCount.keys.min { abs($0 - p) < abs($1 - p) || (abs($0 - p) == abs($1 - p) && $0 > $1) }!
        func factor(_ n: Int) -> Double { Double(n - 1) / Double(n) }
        return (byCount[nearest]!, factor(p) / factor(nearest))
    }

    static func interpolate(_ c: Curve, bytes: Double) -> Double {
        let x = log(bytes)
        let xs = c.logBytes, ys = c.us
        if x <= xs[0] { return ys[0] }
        let n = xs.count
        if x >= xs[n - 1] {
            // Linear in bytes past the end at the curve's bandwidth at its largest size (time / bytes there),
            // never below the last segment's slope; noisy curves that end flat would otherwise move data for free.
            let b1 = exp(xs[n - 2]), b2 = exp(xs[n - 1])
            let slope = max((ys[n - 1] - ys[n - 2]) / (b2 - b1), ys[n - 1] / b2)
            return ys[n - 1] + slope * (bytes - b2)
        }
        var lo = 0, hi = n - 1
        while hi - lo > 1 { let mid = (lo + hi) / 2; if xs[mid] <= x { lo = mid } else { hi = mid } }
        // Bracket in log-size, then interpolate time linearly in bytes between the two measured points.
        let b1 = exp(xs[lo]), b2 = exp(xs[hi])
        let w = (bytes - b1) / (b2 - b1)
        return ys[lo] + (ys[hi] - ys[lo]) * w
    }
}
