/// The xoshiro256** generator (Blackman & Vigna 2018): the simulator's workhorse RNG.
///
/// 256 bits of state, period 2^256 − 1, passes BigCrush; a value type so that
/// every component can own an independent, reproducible stream.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Creates a generator whose four state words are the first four outputs of `SplitMix64(seed:)`.
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is a fixed point
    }

    /// Creates the generator for sub-stream `stream` of `seed`.
    ///
    /// The state is seeded like `init(seed:)` but from `seed ^ (stream &* 0x9E3779B97F4A7C15)`:
    /// multiplying by the odd golden-ratio constant spreads consecutive stream ids across
    /// the 64-bit space, and SplitMix64's avalanche makes the resulting states unrelated.
    /// Stream 0 equals `init(seed:)`. Use one stream per simulated component (e.g. per
    /// request generator, per GPU) so adding a component does not perturb the others.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Returns the next 64 random bits.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Returns a uniform double in [0, 1) with 53 random bits.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Returns a uniform integer in `0..<n` without modulo bias (Lemire 2019).
    ///
    /// - Precondition: `n > 0`.
    /// - Complexity: O(1) expected.
    @inlinable
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs a positive bound, got \(n)")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold {
                m = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(m.high)
    }
}

/// Generators compare by state (two equal generators give the same stream): `RoutingDrawCache` keys on it.
extension Xoshiro256: Hashable {}
