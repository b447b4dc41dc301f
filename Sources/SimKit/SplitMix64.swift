/// The SplitMix64 generator (Steele, Lea & Flood 2014; Vigna's reference C code).
///
/// Fast and statistically decent on its own; used mainly to expand a single
/// 64-bit seed into the state of `Xoshiro256`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator state; advances by the golden-ratio increment each call.
    public var state: UInt64

    /// Creates a generator whose state starts at `seed`.
    @inlinable
    public init(seed: UInt64) {
        state = seed
    }

    /// Returns the next 64 random bits.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
