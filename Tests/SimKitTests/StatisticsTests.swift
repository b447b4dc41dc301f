import Testing
@testable import SimKit

/// Deterministic data shared with the NumPy reference: [((i*7919) % 1009) / 7.0 for i in range(n)].
private func data(_ n: Int) -> [Double] {
    (0..<n).map { Double(($0 * 7919) % 1009) / 7.0 }
}

private let quantiles: [Double] = [0, 1, 25, 50, 90, 99, 99.9, 100]

@Suite struct StatisticsTests {
    /// Expected values from numpy 2.4 `np.percentile(data(n), q)` (default method 'linear').
    @Test(arguments: [
        (2, [0.0, 1.2228571428571429, 30.571428571428573, 61.142857142857146, 110.05714285714286,
             121.06285714285715, 122.1634285714286, 122.28571428571429]),
        (10, [0.0, 1.17, 40.32142857142857, 85.07142857142857, 123.58571428571429,
              134.1157142857143, 135.1687142857143, 135.28571428571428]),
        (101, [0.0, 3.0, 37.857142857142854, 73.28571428571429, 130.0, 143.0,
               143.51428571428573, 143.57142857142858]),
        (1000, [0.0, 1.4271428571428573, 36.10714285714286, 72.21428571428572, 129.5857142857143,
                142.57285714285715, 143.85728571428572, 144.0]),
    ])
    func percentileMatchesNumPy(n: Int, expected: [Double]) {
        let values = data(n)
        for (q, e) in zip(quantiles, expected) {
            #expect(Statistics.percentile(values, q) == e, "n=\(n) q=\(q)")
        }
        let sorted = values.sorted()
        #expect(Statistics.percentile(sorted: sorted, 37.5) == Statistics.percentile(values, 37.5))
    }

    @Test func percentileSmallUnsorted() {
        let a: [Double] = [3, 1, 4, 1, 5, 9, 2, 6]
        #expect(Statistics.percentile(a, 10) == 1.0)
        #expect(Statistics.percentile(a, 37.5) == 2.625)
        #expect(Statistics.percentile(a, 75) == 5.25)
        #expect(Statistics.percentile(a, 33.3) == 2.3309999999999995)
        #expect(Statistics.percentile([4], 90) == 4)
        #expect(Statistics.percentile([], 50).isNaN)
    }

    /// numpy: mean / std (ddof 0) / median of data(n).
    @Test(arguments: [
        (10, 74.61428571428571, 44.37833862117317, 85.07142857142857),
        (101, 73.13012729844412, 42.08886623257444, 73.28571428571429),
        (1000, 72.09685714285715, 41.62272444377529, 72.21428571428572),
    ])
    func meanStdMedianMatchNumPy(n: Int, mean: Double, std: Double, median: Double) {
        let values = data(n)
        #expect(abs(Statistics.mean(values) - mean) < 1e-12 * mean)
        #expect(abs(Statistics.std(values) - std) < 1e-12 * std)
        #expect(Statistics.median(values) == median)
    }

    @Test func stdIsPopulation() {
        #expect(Statistics.std([2, 4, 4, 4, 5, 5, 7, 9]) == 2.0)
        #expect(Statistics.std([1]) == 0)
        #expect(Statistics.mean([]).isNaN)
    }

    @Test func summary() {
        let s = Summary(data(1000))
        #expect(s.count == 1000)
        #expect(s.p90 == 129.5857142857143)
        #expect(s.p99 == 142.57285714285715)
        #expect(s.median == 72.21428571428572)
        #expect(s.min == 0 && s.max == 144)
        #expect(abs(s.std - 41.62272444377529) < 1e-9)
        let empty = Summary([])
        #expect(empty == Summary(mean: 0, median: 0, std: 0, p90: 0, p99: 0, min: 0, max: 0, count: 0))
    }

    /// Reference: scipy 1.17 `stats.f_oneway(*groups)`; η² computed with numpy.
    @Test func anovaMatchesSciPy() throws {
        let groups: [[Double]] = [
            [6.9, 5.4, 5.8, 4.6, 4.0], [8.3, 6.8, 7.8, 9.2, 6.5],
            [8.0, 10.5, 8.1, 6.9, 9.3], [5.8, 3.8, 6.1, 5.6, 6.2, 7.1],
        ]
        let a = try OneWayANOVA(groups: groups)
        #expect(a.dfBetween == 3)
        #expect(a.dfWithin == 17)
        #expect(abs(a.f - 8.898218995037258) < 1e-10)
        #expect(abs(a.pValue - 0.0009071940447169647) < 1e-12)
        #expect(abs(a.etaSquared - 0.6109364125276809) < 1e-12)

        let b = try OneWayANOVA(groups: [[1, 2, 3, 4], [1.5, 2.5, 3.5, 4.5]])
        #expect(abs(b.f - 0.3) < 1e-12)
        #expect(abs(b.pValue - 0.6036450565101363) < 1e-12)
    }

    @Test func specialFunctionsMatchSciPy() {
        // scipy.stats.beta.cdf(0.3, 2.5, 4.0), scipy.stats.f.sf(3.5, 3, 17)
        #expect(abs(SpecialFunctions.regularizedIncompleteBeta(a: 2.5, b: 4, x: 0.3) - 0.3521975859067672) < 1e-13)
        #expect(abs(SpecialFunctions.fSurvival(3.5, d1: 3, d2: 17) - 0.03839971815314917) < 1e-13)
        #expect(SpecialFunctions.fSurvival(0, d1: 3, d2: 17) == 1)
    }

    @Test func anovaDegenerateAndInvalid() throws {
        let separated = try OneWayANOVA(groups: [[1, 1], [2, 2]])
        #expect(separated.f == .infinity && separated.pValue == 0 && separated.etaSquared == 1)
        #expect(throws: SimKitError.self) { try OneWayANOVA(groups: [[1, 2, 3]]) }
        #expect(throws: SimKitError.self) { try OneWayANOVA(groups: [[1, 2], []]) }
        #expect(throws: SimKitError.self) { try OneWayANOVA(groups: [[1], [2]]) }
        #expect(throws: SimKitError.self) { try OneWayANOVA(groups: [[1, .nan], [2, 3]]) }
    }

    @Test func linearInterpolation() {
        let x: [Double] = [0, 1, 3]
        let y: [Double] = [0, 10, 30]
        #expect(Interpolation.linear(x: x, y: y, at: 0.5) == 5)
        #expect(Interpolation.linear(x: x, y: y, at: 2) == 20)
        #expect(Interpolation.linear(x: x, y: y, at: 3) == 30)
        #expect(Interpolation.linear(x: x, y: y, at: 1) == 10)
        // Extrapolation continues the end segments.
        #expect(Interpolation.linear(x: x, y: y, at: -1) == -10)
        #expect(Interpolation.linear(x: [0, 1, 3], y: [0, 10, 20], at: 5) == 30)
        #expect(Interpolation.linear(x: [2], y: [7], at: 100) == 7)
    }
}
