/// Walker's alias method (Vose's stable construction) for O(1) sampling from a
/// discrete distribution given by non-negative weights, e.g. expert popularity.
public struct AliasTable: Sendable {
    /// Probability of keeping column i rather than taking its alias.
    @usableFromInline let keep: [Double]
    /// The alternative outcome of column i.
    @usableFromInline let alias: [Int]
    /// The normalised probabilities of each outcome.
    public let probabilities: [Double]

    /// The number of outcomes.
    @inlinable
    public var count: Int { keep.count }

    /// Builds the table from `weights` (need not sum to 1).
    ///
    /// - Throws: `SimKitError` if `weights` is empty, has a negative or non-finite
    ///   entry, or sums to zero.
    /// - Complexity: O(n).
    public init(weights: [Double]) throws {
        guard !weights.isEmpty else { throw SimKitError("AliasTable needs at least one weight") }
        var total = 0.0
        for (i, w) in weights.enumerated() {
            guard w >= 0, w.isFinite else {
                throw SimKitError("AliasTable weight \(i) must be finite and non-negative, got \(w)")
            }
            total += w
        }
        guard total > 0, total.isFinite else {
            throw SimKitError("AliasTable weights must have a positive finite sum, got \(total)")
        }
        let n = weights.count
        probabilities = weights.map { $0 / total }
        var scaled = probabilities.map { $0 * Double(n) }
        var keep = [Double](repeating: 1, count: n)
        var alias = Array(0..<n)
        var small: [Int] = []
        var large: [Int] = []
        small.reserveCapacity(n)
        large.reserveCapacity(n)
        for i in 0..<n {
            if scaled[i] < 1 { small.append(i) } else { large.append(i) }
        }
        while let s = small.popLast() {
            guard let l = large.popLast() else {
                small.append(s)
                break
            }
            keep[s] = scaled[s]
            alias[s] = l
            scaled[l] = (scaled[l] + scaled[s]) - 1
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        // Leftovers differ from 1 only by rounding error: they keep themselves.
        for i in small { keep[i] = 1 }
        for i in large { keep[i] = 1 }
        self.keep = keep
        self.alias = alias
    }

    /// Draws an outcome index in `0..<count`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func sample(using rng: inout Xoshiro256) -> Int {
        let i = rng.nextInt(below: keep.count)
        return rng.nextDouble() < keep[i] ? i : alias[i]
    }
}
