import Foundation

/// Samplers for the continuous and discrete distributions used by the simulator.
///
/// Parameters are validated with `precondition`: they come from already-validated
/// configuration, so a bad value here is a programming error, and the hot path stays
/// free of `try`. Validate user input (e.g. with `ZipfDistribution`/`AliasTable`
/// initialisers, which throw) before sampling.
extension Xoshiro256 {
    /// A uniform double in (0, 1]; safe to take the logarithm of.
    @inlinable
    mutating func nextOpenDouble() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }

    /// An exponential variate with the given `rate` (mean 1/rate), by inversion.
    ///
    /// - Precondition: `rate > 0` and finite.
    /// - Complexity: O(1).
    @inlinable
    public mutating func exponential(rate: Double) -> Double {
        precondition(rate > 0 && rate.isFinite, "exponential rate must be positive and finite, got \(rate)")
        return -log(nextOpenDouble()) / rate
    }

    /// A uniform double in [lo, hi).
    ///
    /// - Precondition: `lo <= hi`, both finite.
    /// - Complexity: O(1).
    @inlinable
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        precondition(lo <= hi && lo.isFinite && hi.isFinite, "uniform needs finite lo <= hi, got \(lo), \(hi)")
        return lo + (hi - lo) * nextDouble()
    }

    /// A uniform integer in `range`, unbiased.
    ///
    /// - Complexity: O(1) expected.
    @inlinable
    public mutating func uniformInt(_ range: ClosedRange<Int>) -> Int {
        let width = range.upperBound &- range.lowerBound
        precondition(width >= 0 && width < Int.max, "uniformInt range too wide: \(range)")
        return range.lowerBound + nextInt(below: width + 1)
    }

    /// A normal variate, by the Box–Muller transform (one value per two uniforms).
    ///
    /// - Precondition: `std >= 0`.
    /// - Complexity: O(1).
    @inlinable
    public mutating func normal(mean: Double, std: Double) -> Double {
        precondition(std >= 0 && std.isFinite, "normal std must be non-negative and finite, got \(std)")
        let r = (-2 * log(nextOpenDouble())).squareRoot()
        return mean + std * r * cos(2 * Double.pi * nextDouble())
    }

    /// A log-normal variate: `exp(X)` with `X ~ Normal(mu, sigma)`.
    ///
    /// - Precondition: `sigma >= 0`.
    /// - Complexity: O(1).
    @inlinable
    public mutating func lognormal(mu: Double, sigma: Double) -> Double {
        exp(normal(mean: mu, std: sigma))
    }

    /// A gamma variate with the given `shape` (k) and `scale` (θ); mean kθ, variance kθ².
    ///
    /// Marsaglia & Tsang (2000) squeeze/rejection for shape ≥ 1; for shape < 1 it samples
    /// shape + 1 and multiplies by U^(1/shape).
    ///
    /// - Precondition: `shape > 0`, `scale > 0`.
    /// - Complexity: O(1) expected (about 1.05 iterations).
    @inlinable
    public mutating func gamma(shape: Double, scale: Double) -> Double {
        precondition(shape > 0 && shape.isFinite, "gamma shape must be positive and finite, got \(shape)")
        precondition(scale > 0 && scale.isFinite, "gamma scale must be positive and finite, got \(scale)")
        if shape < 1 {
            let boost = pow(nextOpenDouble(), 1 / shape)
            return gamma(shape: shape + 1, scale: scale) * boost
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = normal(mean: 0, std: 1)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextOpenDouble()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 { return d * v * scale }
            if log(u) < 0.5 * x2 + d * (1 - v + log(v)) { return d * v * scale }
        }
    }

    /// A Dirichlet variate: independent Gamma(αᵢ, 1) draws normalised to sum to 1.
    ///
    /// - Precondition: `alpha` non-empty with every entry > 0.
    /// - Complexity: O(alpha.count).
    public mutating func dirichlet(alpha: [Double]) -> [Double] {
        precondition(!alpha.isEmpty, "dirichlet needs at least one concentration parameter")
        var out = [Double](repeating: 0, count: alpha.count)
        var total = 0.0
        for i in alpha.indices {
            let g = gamma(shape: alpha[i], scale: 1)
            out[i] = g
            total += g
        }
        if total > 0 {
            for i in out.indices { out[i] /= total }
        } else {
            // Every draw underflowed (tiny alphas): fall back to one-hot at a uniform index.
            out[nextInt(below: out.count)] = 1
        }
        return out
    }

    /// A binomial variate: successes in `n` trials of probability `p`. Exact.
    ///
    /// Uses p' = min(p, 1−p) and reflects. When n·p' < 10 it uses sequential-search
    /// inversion (expected O(n·p') steps); otherwise Hörmann's BTRS transformed
    /// rejection with squeeze (1993), an exact method with O(1) expected cost (the
    /// algorithm TensorFlow uses).
    ///
    /// - Precondition: `n >= 0`, `0 <= p <= 1`.
    /// - Complexity: O(min(n·p, 10)) expected.
    public mutating func binomial(n: Int, p: Double) -> Int {
        precondition(n >= 0, "binomial n must be non-negative, got \(n)")
        precondition(p >= 0 && p <= 1, "binomial p must be in [0, 1], got \(p)")
        return BinomialSampler(n: n, p: p).sample(using: &self)
    }

    /// log(k!) minus its Stirling approximation, for integer-valued `k >= 0`.
    @usableFromInline
    static func stirlingTail(_ k: Double) -> Double {
        if k <= 9 { return stirlingTable[Int(k)] }
        let kp1sq = (k + 1) * (k + 1)
        return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    }

    /// `stirlingTail(k)` for k = 0...9, computed from `lgamma`.
    @usableFromInline
    static let stirlingTable: [Double] = [
        0.08106146679532733, 0.04134069595540946, 0.027677925684997717,
        0.02079067210376584, 0.01664469118982126, 0.013876128823072875,
        0.011896709945893313, 0.010411265261973668, 0.00925546218270945,
        0.008330563433359472,
    ]
}

/// Binomial(n, p) draws with the constants of the method computed once: `Xoshiro256.binomial(n:p:)` is
/// `BinomialSampler(n:p:).sample(using:)`, so a sampler kept for many draws of the same (n, p) (the routing model's
/// per-expert counts: one inclusion probability for many experts, layers and samples) gives the same variates as
/// calling `binomial` each time, without recomputing `pow` (inversion) or the logarithms (BTRS) per draw.
///
/// Uses p' = min(p, 1−p) and reflects. When n·p' < 10: sequential-search inversion; otherwise Hörmann's BTRS.
public struct BinomialSampler: Sendable {
    public let n: Int
    /// 0: always 0; 1: always n; 2: inversion; 3: BTRS.
    @usableFromInline let method: UInt8
    @usableFromInline let flipped: Bool
    // Inversion: s = p/q, a = (n+1)s, r0 = q^n.
    @usableFromInline let s: Double, a: Double, r0: Double
    // BTRS.
    @usableFromInline let nd: Double, b: Double, ba: Double, c: Double, vr: Double, r: Double, alpha: Double, m: Double, fm: Double, logBase: Double

    /// - Precondition: `n >= 0`, `0 <= p <= 1`.
    public init(n: Int, p: Double) {
        precondition(n >= 0, "binomial n must be non-negative, got \(n)")
        precondition(p >= 0 && p <= 1, "binomial p must be in [0, 1], got \(p)")
        self.n = n
        var method: UInt8 = 0, flipped = false
        var s = 0.0, a = 0.0, r0 = 0.0
        var nd = 0.0, b = 0.0, ba = 0.0, c = 0.0, vr = 0.0, r = 0.0, alpha = 0.0, m = 0.0, fm = 0.0, logBase = 0.0
        if n == 0 || p == 0 { method = 0 }
        else if p == 1 { method = 1 }
        else {
            flipped = p > 0.5
            let p = flipped ? 1 - p : p
            if Double(n) * p < 10 {
                method = 2
                let q = 1 - p
                s = p / q
                a = Double(n + 1) * s
                r0 = pow(q, Double(n))
            } else {
                method = 3
                nd = Double(n)
                let spq = (nd * p * (1 - p)).squareRoot()
                b = 1.15 + 2.53 * spq
                ba = -0.0873 + 0.0248 * b + 0.01 * p
                c = nd * p + 0.5
                vr = 0.92 - 4.2 / b
                r = p / (1 - p)
                alpha = (2.83 + 5.1 / b) * spq
                m = ((nd + 1) * p).rounded(.down)
                fm = Xoshiro256.stirlingTail(m) + Xoshiro256.stirlingTail(nd - m)
                logBase = (m + 0.5) * log((m + 1) / (r * (nd - m + 1)))
            }
        }
        self.method = method; self.flipped = flipped
        self.s = s; self.a = a; self.r0 = r0
        self.nd = nd; self.b = b; self.ba = ba; self.c = c; self.vr = vr; self.r = r; self.alpha = alpha; self.m = m; self.fm = fm; self.logBase = logBase
    }

    /// One variate.
    @inlinable
    public func sample(using rng: inout Xoshiro256) -> Int {
        switch method {
        case 0: return 0
        case 1: return n
        case 2:
            let k = inversion(&rng)
            return flipped ? n - k : k
        default:
            let k = btrs(&rng)
            return flipped ? n - k : k
        }
    }

    @inlinable
    func inversion(_ rng: inout Xoshiro256) -> Int {
        while true {
            var u = rng.nextDouble()
            var rr = r0
            var x = 0
            while u > rr {
                u -= rr
                x += 1
                if x > n { break }
                rr *= a / Double(x) - s
            }
            if x <= n { return x }
        }
    }

    @inlinable
    func btrs(_ rng: inout Xoshiro256) -> Int {
        let a = ba
        while true {
            let u = rng.nextDouble() - 0.5
            var v = rng.nextDouble()
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + c).rounded(.down)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || k > nd { continue }
            v = log(v * alpha / (a / (us * us) + b))
            let bound = logBase + (nd + 1) * log((nd - m + 1) / (nd - k + 1))
                + (k + 0.5) * log(r * (nd - k + 1) / (k + 1))
                + fm - Xoshiro256.stirlingTail(k) - Xoshiro256.stirlingTail(nd - k)
            if v <= bound { return Int(k) }
        }
    }
}
