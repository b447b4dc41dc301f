/// A sample stored as runs of equal consecutive values, in the order they were added.
///
/// Inter-token latencies repeat heavily (every sequence of a decode step sees the same step time), so the runs
/// take memory in proportion to the engine steps, not the tokens. Nothing is approximated: the mean and the
/// standard deviation add the values one by one in insertion order (bit-identical to the same sums over the
/// flat array), and percentiles use the exact order statistics with numpy's linear interpolation.
public struct RunLengthSample: Sendable {
    public private(set) var values: [Double] = []
    public private(set) var counts: [Int] = []
    public private(set) var count = 0

    public init() {}

    public init(_ xs: [Double]) { for x in xs { append(x) } }

    @inlinable public var isEmpty: Bool { count == 0 }
    public var runCount: Int { values.count }

    /// Adds `x` `n` times.
    @inline(__always)
    public mutating func append(_ x: Double, count n: Int = 1) {
        guard n > 0 else { return }
        count += n
        if let last = values.last, last.bitPattern == x.bitPattern { counts[counts.count - 1] += n; return }
        values.append(x); counts.append(n)
    }

    public mutating func reserveRuns(_ n: Int) { values.reserveCapacity(n); counts.reserveCapacity(n) }

    /// The arithmetic mean, summed in insertion order as `Statistics.mean` sums the flat array.
    public var mean: Double {
        guard count > 0 else { return .nan }
        var total = 0.0
        for (v, c) in zip(values, counts) { for _ in 0..<c { total += v } }
        return total / Double(count)
    }

    /// The population standard deviation, as `Statistics.std` computes it over the flat array.
    public var std: Double { std(mean: mean) }

    /// The population standard deviation about `m`, the sample's `mean` (taken once by a caller that needs both).
    public func std(mean m: Double) -> Double {
        guard count > 0 else { return .nan }
        var total = 0.0
        for (v, c) in zip(values, counts) {
            let d = v - m, dd = d * d
            for _ in 0..<c { total += dd }
        }
        return (total / Double(count)).squareRoot()
    }

    /// Percentiles equal to `Statistics.percentile` over the flat array (numpy 'linear').
    public func percentiles(_ qs: [Double]) -> [Double] {
        let n = count
        guard n > 0 else { return qs.map { _ in .nan } }
        // Distinct values ascending with their multiplicities, then the cumulative counts.
        let order = values.indices.sorted { values[$0] < values[$1] }
        var sv: [Double] = [], cum: [Int] = []
        sv.reserveCapacity(order.count); cum.reserveCapacity(order.count)
        var acc = 0
        for i in order {
            acc += counts[i]
            if let l = sv.last, l == values[i] { cum[cum.count - 1] = acc } else { sv.append(values[i]); cum.append(acc) }
        }
        /// The value of rank r (0-based) in the sorted sample.
        func at(_ r: Int) -> Double {
            var lo = 0, hi = cum.count - 1
            while lo < hi { let mid = (lo + hi) / 2; if cum[mid] > r { hi = mid } else { lo = mid + 1 } }
            return sv[lo]
        }
        return qs.map { q in
            precondition(q >= 0 && q <= 100, "percentile q must be in 0...100, got \(q)")
            let index = Double(n - 1) * (q / 100)
            let below = index.rounded(.down)
            let lo = min(Int(below), n - 1)
            let t = index - below, x = at(lo), y = lo + 1 < n ? at(lo + 1) : x, diff = y - x
            return t >= 0.5 ? y - diff * (1 - t) : x + diff * t
        }
    }
}

extension Summary {
    /// Summarises a run-length sample; equal to `Summary(flatArray)` field for field.
    public init(_ s: RunLengthSample) {
        guard !s.isEmpty else {
            self.init(mean: 0, median: 0, std: 0, p90: 0, p99: 0, min: 0, max: 0, count: 0)
            return
        }
        let q = s.percentiles([50, 90, 99, 0, 100])
        let mean = s.mean
        self.init(mean: mean, median: q[0], std: s.std(mean: mean), p90: q[1], p99: q[2], min: q[3], max: q[4], count: s.count)
    }
}
