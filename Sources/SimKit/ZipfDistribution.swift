import Foundation

/// A finite Zipf distribution over ranks `0..<n` with P(rank) ∝ 1 / (rank + 1)^s.
///
/// Sampling uses a precomputed cumulative distribution and binary search.
public struct ZipfDistribution: Sendable {
    /// The number of ranks.
    public let n: Int
    /// The exponent; 0 gives the uniform distribution.
    public let s: Double
    /// P(rank) for each rank, summing to 1.
    public let probabilities: [Double]
    /// Cumulative probabilities; the last entry is exactly 1.
    @usableFromInline let cdf: [Double]

    /// Creates the distribution.
    ///
    /// - Throws: `SimKitError` if `n <= 0` or `s` is negative or not finite.
    /// - Complexity: O(n).
    public init(n: Int, s: Double) throws {
        guard n > 0 else { throw SimKitError("ZipfDistribution needs n > 0, got \(n)") }
        guard s >= 0, s.isFinite else {
            throw SimKitError("ZipfDistribution needs a finite exponent s >= 0, got \(s)")
        }
        self.n = n
        self.s = s
        var weights = [Double](repeating: 0, count: n)
        var total = 0.0
        for rank in 0..<n {
            let w = 1 / pow(Double(rank + 1), s)
            weights[rank] = w
            total += w
        }
        var cdf = [Double](repeating: 0, count: n)
        var running = 0.0
        for rank in 0..<n {
            weights[rank] /= total
            running += weights[rank]
            cdf[rank] = running
        }
        cdf[n - 1] = 1
        probabilities = weights
        self.cdf = cdf
    }

    /// Draws a rank in `0..<n`.
    ///
    /// - Complexity: O(log n).
    @inlinable
    public func sample(using rng: inout Xoshiro256) -> Int {
        let u = rng.nextDouble()
        // First index whose cumulative probability exceeds u.
        var lo = 0
        var hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cdf[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
