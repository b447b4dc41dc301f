import Foundation

/// Mean and 95% confidence interval of replicates (Student's t, two-sided).
public struct ConfidenceInterval: Sendable, Equatable {
    public var n: Int
    public var mean: Double
    /// Half-width of the 95% interval; nil with fewer than two replicates.
    public var halfWidth: Double?
    public var low: Double { mean - (halfWidth ?? 0) }
    public var high: Double { mean + (halfWidth ?? 0) }

    public init(_ values: [Double]) {
        n = values.count
        mean = n == 0 ? .nan : values.reduce(0, +) / Double(n)
        if n >= 2 {
            let m = mean
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)
            halfWidth = Self.t975(df: n - 1) * (variance / Double(n)).squareRoot()
        } else { halfWidth = nil }
    }

    /// Whether two intervals share a point (both need two replicates or more; otherwise only equal means overlap).
    public func overlaps(_ o: ConfidenceInterval) -> Bool { low <= o.high && o.low <= high }

    /// The 97.5% quantile of Student's t with `df` degrees of freedom (exact table to 30, then a Cornish-Fisher
    /// expansion around the normal quantile, within 1e-4 of the exact value).
    public static func t975(df: Int) -> Double {
        let table: [Double] = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                               2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                               2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423]
        precondition(df >= 1)
        if df <= table.count { return table[df - 1] }
        let z = 1.959964, v = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
    }
}
