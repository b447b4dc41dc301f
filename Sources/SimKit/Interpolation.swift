/// Piecewise-linear interpolation of sampled curves (e.g. latency profiles).
public enum Interpolation {
    /// The value at `at` of the polyline through (x[i], y[i]).
    ///
    /// `x` must be sorted ascending. Outside [x.first, x.last] the value is
    /// extrapolated linearly along the first or last segment (not clamped). A single
    /// point gives a constant; a zero-width segment (repeated x) yields its left y.
    ///
    /// - Precondition: `x` and `y` are non-empty and of equal length.
    /// - Complexity: O(log n).
    @inlinable
    public static func linear(x: [Double], y: [Double], at t: Double) -> Double {
        precondition(!x.isEmpty && x.count == y.count, "interpolation needs equal, non-empty x and y")
        let n = x.count
        if n == 1 { return y[0] }
        // Segment [i, i+1] with x[i] <= t < x[i+1], clamped to the end segments.
        var lo = 0
        var hi = n - 1
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if x[mid] <= t { lo = mid } else { hi = mid }
        }
        let dx = x[hi] - x[lo]
        if dx == 0 { return y[lo] }
        return y[lo] + (y[hi] - y[lo]) * ((t - x[lo]) / dx)
    }
}
