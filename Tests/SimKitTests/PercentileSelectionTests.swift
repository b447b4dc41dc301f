import Testing
@testable import SimKit

/// `Statistics.percentiles` (selection) must agree exactly with the sort-based `percentile`, which is pinned
/// to numpy elsewhere.
@Suite struct PercentileSelectionTests {
    @Test(arguments: [1, 2, 3, 10, 101, 1000, 25_000])
    func selectionMatchesSorting(n: Int) {
        var rng = Xoshiro256(seed: UInt64(n))
        // Many ties as well as distinct values.
        let values = (0..<n).map { i in i % 7 == 0 ? 3.0 : rng.exponential(rate: 0.5) }
        let qs: [Double] = [0, 1, 25, 50, 90, 99, 99.9, 100]
        let fast = Statistics.percentiles(values, qs)
        for (q, f) in zip(qs, fast) {
            #expect(f == Statistics.percentile(values, q), "n \(n) q \(q)")
        }
        let s = Summary(values)
        #expect(s.median == Statistics.percentile(values, 50))
        #expect(s.p99 == Statistics.percentile(values, 99))
        #expect(s.min == values.min()! && s.max == values.max()!)
    }
}
