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
        let sorted = values.sorted()
        self.init(
            mean: Statistics.mean(values),
            median: Statistics.percentile(sorted: sorted, 50),
            std: Statistics.std(values),
            p90: Statistics.percentile(sorted: sorted, 90),
            p99: Statistics.percentile(sorted: sorted, 99),
            min: sorted[0],
            max: sorted[sorted.count - 1],
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
