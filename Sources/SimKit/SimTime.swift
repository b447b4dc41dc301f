/// A point in (or span of) simulated time, stored as whole nanoseconds.
///
/// Integer nanoseconds keep event ordering exact and reproducible; conversions
/// from floating-point units round to the nearest nanosecond.
public struct SimTime: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Nanoseconds since the start of the simulation (or the length of a span).
    public var ns: Int64

    /// Creates a time of `ns` nanoseconds.
    @inlinable
    public init(ns: Int64) {
        self.ns = ns
    }

    /// Time zero.
    public static let zero = SimTime(ns: 0)

    /// A time of `s` seconds, rounded to the nearest nanosecond.
    @inlinable
    public static func seconds(_ s: Double) -> SimTime {
        SimTime(ns: Int64((s * 1e9).rounded()))
    }

    /// A time of `ms` milliseconds, rounded to the nearest nanosecond.
    @inlinable
    public static func milliseconds(_ ms: Double) -> SimTime {
        SimTime(ns: Int64((ms * 1e6).rounded()))
    }

    /// A time of `us` microseconds, rounded to the nearest nanosecond.
    @inlinable
    public static func microseconds(_ us: Double) -> SimTime {
        SimTime(ns: Int64((us * 1e3).rounded()))
    }

    /// This time in seconds.
    @inlinable
    public var seconds: Double { Double(ns) * 1e-9 }

    /// This time in milliseconds.
    @inlinable
    public var milliseconds: Double { Double(ns) * 1e-6 }

    /// This time in microseconds.
    @inlinable
    public var microseconds: Double { Double(ns) * 1e-3 }

    /// The time formatted in seconds with nanosecond precision, e.g. `1.000000250s`.
    public var description: String {
        let sign = ns < 0 ? "-" : ""
        let magnitude = ns.magnitude
        let whole = magnitude / 1_000_000_000
        let frac = String(magnitude % 1_000_000_000)
        let padded = String(repeating: "0", count: 9 - frac.count) + frac
        return "\(sign)\(whole).\(padded)s"
    }

    /// Orders times chronologically.
    @inlinable
    public static func < (lhs: SimTime, rhs: SimTime) -> Bool { lhs.ns < rhs.ns }

    /// The sum of two times.
    @inlinable
    public static func + (lhs: SimTime, rhs: SimTime) -> SimTime { SimTime(ns: lhs.ns + rhs.ns) }

    /// The difference of two times.
    @inlinable
    public static func - (lhs: SimTime, rhs: SimTime) -> SimTime { SimTime(ns: lhs.ns - rhs.ns) }

    /// Adds `rhs` to `lhs` in place.
    @inlinable
    public static func += (lhs: inout SimTime, rhs: SimTime) { lhs.ns += rhs.ns }

    /// Subtracts `rhs` from `lhs` in place.
    @inlinable
    public static func -= (lhs: inout SimTime, rhs: SimTime) { lhs.ns -= rhs.ns }
}
