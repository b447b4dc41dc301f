import Foundation
import Testing
@testable import SimKit

/// Draws `count` values and returns their (mean, population variance).
private func moments(_ count: Int, _ draw: () -> Double) -> (mean: Double, variance: Double) {
    var values = [Double]()
    values.reserveCapacity(count)
    for _ in 0..<count { values.append(draw()) }
    let s = Statistics.std(values)
    return (Statistics.mean(values), s * s)
}

@Suite struct SamplerTests {
    let draws = 40_000

    @Test(arguments: [0.5, 1.0, 20.0])
    func exponentialMoments(rate: Double) {
        var g = Xoshiro256(seed: 1)
        let m = moments(draws) { g.exponential(rate: rate) }
        #expect(abs(m.mean * rate - 1) < 0.03)
        #expect(abs(m.variance * rate * rate - 1) < 0.08)
    }

    @Test(arguments: [(0.3, 2.0), (1.0, 1.0), (2.5, 0.5), (9.0, 3.0)])
    func gammaMoments(shape: Double, scale: Double) {
        var g = Xoshiro256(seed: 2)
        let m = moments(draws) { g.gamma(shape: shape, scale: scale) }
        let mean = shape * scale
        let variance = shape * scale * scale
        #expect(abs(m.mean - mean) / mean < 0.03)
        #expect(abs(m.variance - variance) / variance < 0.1)
    }

    @Test func gammaIsPositive() {
        var g = Xoshiro256(seed: 4)
        for _ in 0..<10_000 { #expect(g.gamma(shape: 0.1, scale: 1) >= 0) }
    }

    @Test func uniformAndUniformInt() {
        var g = Xoshiro256(seed: 3)
        let m = moments(draws) { g.uniform(2, 6) }
        #expect(abs(m.mean - 4) < 0.03)
        #expect(abs(m.variance - 16.0 / 12) < 0.03)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let v = g.uniformInt(-3...3)
            #expect((-3...3).contains(v))
            seen.insert(v)
        }
        #expect(seen.count == 7)
        #expect(g.uniformInt(5...5) == 5)
    }

    @Test func normalAndLognormalMoments() {
        var g = Xoshiro256(seed: 5)
        let n = moments(draws) { g.normal(mean: 3, std: 2) }
        #expect(abs(n.mean - 3) < 0.05)
        #expect(abs(n.variance - 4) < 0.15)
        let mu = 0.5, sigma = 0.4
        let l = moments(draws) { g.lognormal(mu: mu, sigma: sigma) }
        let mean = exp(mu + sigma * sigma / 2)
        let variance = (exp(sigma * sigma) - 1) * exp(2 * mu + sigma * sigma)
        #expect(abs(l.mean - mean) / mean < 0.02)
        #expect(abs(l.variance - variance) / variance < 0.08)
    }

    /// Covers both regimes: inversion (n·p < 10) and BTRS (n·p ≥ 10), and p > 0.5 reflection.
    @Test(arguments: [(10, 0.3), (50, 0.1), (100, 0.5), (1000, 0.02), (5000, 0.9), (1_000_000, 0.001), (7, 1.0), (0, 0.4)])
    func binomialMoments(n: Int, p: Double) {
        var g = Xoshiro256(seed: 6)
        var values = [Double]()
        for _ in 0..<draws {
            let k = g.binomial(n: n, p: p)
            #expect(k >= 0 && k <= n)
            values.append(Double(k))
        }
        let mean = Double(n) * p
        let variance = mean * (1 - p)
        let sampleMean = Statistics.mean(values)
        let sampleVar = pow(Statistics.std(values), 2)
        #expect(abs(sampleMean - mean) <= 5 * (variance / Double(draws)).squareRoot() + 1e-12)
        if variance > 0 {
            #expect(abs(sampleVar - variance) / variance < 0.06)
        } else {
            #expect(sampleVar == 0)
        }
    }

    /// BTRS must reproduce the exact pmf, not just the moments.
    @Test func binomialPMFMatchesExact() {
        var g = Xoshiro256(seed: 7)
        let n = 40, p = 0.35, count = 100_000
        var hist = [Int](repeating: 0, count: n + 1)
        for _ in 0..<count { hist[g.binomial(n: n, p: p)] += 1 }
        for k in 8...20 {
            let kd = Double(k), nd = Double(n)
            let logChoose: Double = lgamma(nd + 1) - lgamma(kd + 1) - lgamma(nd - kd + 1)
            let logPmf: Double = logChoose + kd * log(p) + (nd - kd) * log(1 - p)
            let expected = exp(logPmf) * Double(count)
            #expect(abs(Double(hist[k]) - expected) < 5 * expected.squareRoot())
        }
    }

    @Test func dirichletSumsToOneWithRightMeans() {
        var g = Xoshiro256(seed: 8)
        let alpha = [0.5, 1.0, 2.5, 0.05]
        var sums = [Double](repeating: 0, count: alpha.count)
        let count = 10_000
        for _ in 0..<count {
            let x = g.dirichlet(alpha: alpha)
            #expect(abs(x.reduce(0, +) - 1) < 1e-12)
            #expect(x.allSatisfy { $0 >= 0 })
            for i in x.indices { sums[i] += x[i] }
        }
        let total = alpha.reduce(0, +)
        for i in alpha.indices {
            #expect(abs(sums[i] / Double(count) - alpha[i] / total) < 0.01)
        }
    }

    @Test(arguments: [(1, 1.0), (10, 0.0), (64, 1.2), (256, 0.8)])
    func zipfProbabilitiesAndFrequencies(n: Int, s: Double) throws {
        let z = try ZipfDistribution(n: n, s: s)
        #expect(z.probabilities.count == n)
        #expect(abs(z.probabilities.reduce(0, +) - 1) < 1e-12)
        for r in 1..<n { #expect(z.probabilities[r] <= z.probabilities[r - 1]) }
        if n > 1 {
            let ratio = z.probabilities[0] / z.probabilities[1]
            #expect(abs(ratio - pow(2, s)) < 1e-9)
        }
        var g = Xoshiro256(seed: 9)
        var hist = [Int](repeating: 0, count: n)
        for _ in 0..<draws { hist[z.sample(using: &g)] += 1 }
        for r in 0..<min(n, 8) {
            let expected = z.probabilities[r] * Double(draws)
            #expect(abs(Double(hist[r]) - expected) < 5 * expected.squareRoot() + 1)
        }
    }

    @Test func aliasTableFrequencies() throws {
        let weights = [5.0, 0.0, 1.0, 3.0, 0.5, 10.0, 0.5]
        let table = try AliasTable(weights: weights)
        #expect(table.count == weights.count)
        let total = weights.reduce(0, +)
        var g = Xoshiro256(seed: 10)
        var hist = [Int](repeating: 0, count: weights.count)
        let count = 100_000
        for _ in 0..<count { hist[table.sample(using: &g)] += 1 }
        #expect(hist[1] == 0)
        for i in weights.indices {
            let expected = weights[i] / total * Double(count)
            #expect(abs(Double(hist[i]) - expected) < 5 * expected.squareRoot() + 1)
        }
    }

    @Test func aliasTableSingleOutcome() throws {
        let table = try AliasTable(weights: [2])
        var g = Xoshiro256(seed: 1)
        #expect(table.sample(using: &g) == 0)
    }

    @Test func invalidParametersThrow() {
        #expect(throws: SimKitError.self) { try ZipfDistribution(n: 0, s: 1) }
        #expect(throws: SimKitError.self) { try ZipfDistribution(n: 5, s: -1) }
        #expect(throws: SimKitError.self) { try ZipfDistribution(n: 5, s: .nan) }
        #expect(throws: SimKitError.self) { try AliasTable(weights: []) }
        #expect(throws: SimKitError.self) { try AliasTable(weights: [1, -1]) }
        #expect(throws: SimKitError.self) { try AliasTable(weights: [0, 0]) }
        #expect(throws: SimKitError.self) { try AliasTable(weights: [1, .infinity]) }
        do {
            _ = try ZipfDistribution(n: -2, s: 1)
            Issue.record("expected a throw")
        } catch let error as SimKitError {
            #expect(error.description.contains("n > 0"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
