/// Descriptive statistics matching NumPy's defaults (population std, 'linear' percentiles).
///
/// Functions of an empty sample return NaN, as NumPy does.
public enum Statistics {
    /// The arithmetic mean.
    ///
    /// - Complexity: O(n).
    @inlinable
    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        var total = 0.0
        for v in values { total += v }
        return total / Double(values.count)
    }

    /// The median (the 50th percentile with linear interpolation).
    ///
    /// - Complexity: O(n log n).
    public static func median(_ values: [Double]) -> Double {
        percentile(values, 50)
    }

    /// The population standard deviation (ddof = 0), like `numpy.std`'s default.
    ///
    /// - Complexity: O(n).
    @inlinable
    public static func std(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let m = mean(values)
        var total = 0.0
        for v in values {
            let d = v - m
            total += d * d
        }
        return (total / Double(values.count)).squareRoot()
    }

    /// The `q`-th percentile, q in 0...100, matching `numpy.percentile(values, q)`
    /// (method 'linear', Hyndman & Fan type 7) including its rounding.
    ///
    /// - Precondition: `0 <= q <= 100`.
    /// - Complexity: O(n log n) (sorts a copy).
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        percentile(sorted: values.sorted(), q)
    }

    /// The `q`-th percentile of already ascending-sorted `sorted`; see `percentile(_:_:)`.
    ///
    /// - Precondition: `0 <= q <= 100`.
    /// - Complexity: O(1).
    @inlinable
    public static func percentile(sorted: [Double], _ q: Double) -> Double {
        precondition(q >= 0 && q <= 100, "percentile q must be in 0...100, got \(q)")
        let n = sorted.count
        guard n > 0 else { return .nan }
        let index = Double(n - 1) * (q / 100)
        let below = index.rounded(.down)
        let lo = min(Int(below), n - 1)
        let hi = min(lo + 1, n - 1)
        let t = index - below
        let a = sorted[lo]
        let b = sorted[hi]
        let diff = b - a
        // numpy._lerp: a + diff·t, replaced by b − diff·(1 − t) when t >= 0.5.
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t
    }
}

extension Statistics {
    /// Several percentiles at once, equal to `percentile(_:_:)` for each, by selection instead of a full sort:
    /// only the order statistics the percentiles need are put in place (quickselect, median-of-three pivots).
    ///
    /// - Complexity: O(n x number of distinct ranks needed), against O(n log n) for sorting.
    public static func percentiles(_ values: [Double], _ qs: [Double]) -> [Double] {
        let n = values.count
        guard n > 0 else { return qs.map { _ in .nan } }
        var a = values
        // Select only each percentile's lower rank, smallest first; the next order statistic is then the least
        // value to its right up to the next selected rank (quickselect leaves everything after a rank >= it).
        var los = Set<Int>()
        for q in qs {
            precondition(q >= 0 && q <= 100, "percentile q must be in 0...100, got \(q)")
            los.insert(min(Int((Double(n - 1) * (q / 100)).rounded(.down)), n - 1))
        }
        let ranks = los.sorted()
        var from = 0
        for r in ranks {
            select(&a, r, from, n - 1)
            from = r + 1
        }
        var next: [Int: Double] = [:]
        a.withUnsafeBufferPointer { b in
            for (i, r) in ranks.enumerated() where r + 1 < n {
                let end = i + 1 < ranks.count ? ranks[i + 1] : n - 1
                var m = b[r + 1]
                if r + 2 <= end { for j in (r + 2)...end where b[j] < m { m = b[j] } }
                next[r] = m
            }
        }
        return qs.map { q in
            let index = Double(n - 1) * (q / 100)
            let below = index.rounded(.down)
            let lo = min(Int(below), n - 1)
            let t = index - below, x = a[lo], y = lo + 1 < n ? next[lo]! : x, diff = y - x
            return t >= 0.5 ? y - diff * (1 - t) : x + diff * t
        }
    }

    /// Rearranges `a[lo...hi]` so that `a[k]` holds the value a full sort would put there, smaller ones before it
    /// and larger ones after it.
    static func select(_ a: inout [Double], _ k: Int, _ lo0: Int, _ hi0: Int) {
        var lo = lo0, hi = hi0
        a.withUnsafeMutableBufferPointer { b in
            while hi > lo {
                let mid = lo + (hi - lo) / 2
                // Median of three as the pivot.
                if b[mid] < b[lo] { b.swapAt(mid, lo) }
                if b[hi] < b[lo] { b.swapAt(hi, lo) }
                if b[hi] < b[mid] { b.swapAt(hi, mid) }
                let pivot = b[mid]
                var i = lo, j = hi
                while i <= j {
                    while b[i] < pivot { i += 1 }
                    while b[j] > pivot { j -= 1 }
                    if i <= j { b.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { hi = j } else if k >= i { lo = i } else { return }
            }
        }
    }
}

/// A summary of a sample: the numbers a serving benchmark reports.
public struct Summary: Sendable, Codable, Equatable {
    /// Arithmetic mean.
    public var mean: Double
    /// Median (50th percentile).
    public var median: Double
    /// Population standard deviation (ddof 0).
    public var std: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// Smallest value.
    public var min: Double
    /// Largest value.
    public var max: Double
    /// Number of values.
    public var count: Int

    /// Summarises `values`; an empty sample gives all zeros and count 0.
    ///
    /// - Complexity: O(n log n).
    public init(_ values: [Double]) {
        guard !values.isEmpty else {
            self.init(mean: 0, median: 0, std: 0, p90: 0, p99: 0, min: 0, max: 0, count: 0)
            return
        }
        let q = Statistics.percentiles(values, [50, 90, 99, 0, 100])
        self.init(
            mean: Statistics.mean(values),
            median: q[0],
            std: Statistics.std(values),
            p90: q[1],
            p99: q[2],
            min: q[3],
            max: q[4],
            count: values.count)
    }

    /// Creates a summary from its fields.
    public init(
        mean: Double, median: Double, std: Double, p90: Double, p99: Double,
        min: Double, max: Double, count: Int
    ) {
        self.mean = mean
        self.median = median
        self.std = std
        self.p90 = p90
        self.p99 = p99
        self.min = min
        self.max = max
        self.count = count
    }
}
