import Foundation

/// A one-way analysis of variance across groups, as `scipy.stats.f_oneway`.
public struct OneWayANOVA: Sendable, Equatable {
    /// The F statistic, MS_between / MS_within (+∞ when within-group variance is 0).
    public let f: Double
    /// Degrees of freedom between groups, k − 1.
    public let dfBetween: Int
    /// Degrees of freedom within groups, N − k.
    public let dfWithin: Int
    /// P(F' ≥ f) under the null hypothesis of equal means.
    public let pValue: Double
    /// Effect size η² = SS_between / SS_total (0 when all values are equal).
    public let etaSquared: Double

    /// Runs the test.
    ///
    /// - Throws: `SimKitError` if there are fewer than two groups, an empty group,
    ///   a non-finite value, or no within-group degrees of freedom (N ≤ k).
    /// - Complexity: O(N).
    public init(groups: [[Double]]) throws {
        let k = groups.count
        guard k >= 2 else { throw SimKitError("ANOVA needs at least two groups, got \(k)") }
        var total = 0
        var grandSum = 0.0
        var means: [Double] = []
        for (i, g) in groups.enumerated() {
            guard !g.isEmpty else { throw SimKitError("ANOVA group \(i) is empty") }
            guard g.allSatisfy(\.isFinite) else { throw SimKitError("ANOVA group \(i) has a non-finite value") }
            total += g.count
            grandSum += g.reduce(0, +)
            means.append(Statistics.mean(g))
        }
        guard total > k else {
            throw SimKitError("ANOVA needs more values (\(total)) than groups (\(k))")
        }
        let grand = grandSum / Double(total)
        var ssBetween = 0.0
        var ssWithin = 0.0
        for (g, m) in zip(groups, means) {
            ssBetween += Double(g.count) * (m - grand) * (m - grand)
            for v in g { ssWithin += (v - m) * (v - m) }
        }
        dfBetween = k - 1
        dfWithin = total - k
        let ssTotal = ssBetween + ssWithin
        etaSquared = ssTotal > 0 ? ssBetween / ssTotal : 0
        if ssWithin > 0 {
            f = (ssBetween / Double(dfBetween)) / (ssWithin / Double(dfWithin))
            pValue = SpecialFunctions.fSurvival(f, d1: Double(dfBetween), d2: Double(dfWithin))
        } else if ssBetween > 0 {
            f = .infinity
            pValue = 0
        } else {
            f = .nan
            pValue = .nan
        }
    }
}

/// Special functions needed for statistical tests.
public enum SpecialFunctions {
    /// The regularized incomplete beta function I_x(a, b).
    ///
    /// Numerical Recipes' continued fraction (`betacf`), using the symmetry
    /// I_x(a,b) = 1 − I_{1−x}(b,a) where it converges faster; log-gamma from `lgamma`.
    ///
    /// - Precondition: `a > 0`, `b > 0`.
    public static func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        precondition(a > 0 && b > 0, "incomplete beta needs a, b > 0")
        if x.isNaN { return .nan }
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        let front = exp(logFront)
        if x < (a + 1) / (a + b + 2) {
            return front * betaContinuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - front * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
    }

    /// The survival function P(F ≥ f) of the F distribution with (d1, d2) degrees of freedom.
    public static func fSurvival(_ f: Double, d1: Double, d2: Double) -> Double {
        if f.isNaN { return .nan }
        if f <= 0 { return 1 }
        if f.isInfinite { return 0 }
        return regularizedIncompleteBeta(a: d2 / 2, b: d1 / 2, x: d2 / (d2 + d1 * f))
    }

    /// Modified Lentz evaluation of the incomplete-beta continued fraction.
    static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let maxIterations = 10_000
        let eps = 1e-16
        let tiny = 1e-300
        let qab = a + b
        let qap = a + 1
        let qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...maxIterations {
            let md = Double(m)
            let m2 = 2 * md
            var aa = md * (b - md) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + md) * (qab + md) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < eps { break }
        }
        return h
    }
}
