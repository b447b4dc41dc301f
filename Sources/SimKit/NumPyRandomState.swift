import Foundation

/// NumPy's legacy global generator (`np.random.seed(s)` then `np.random.gamma(...)`): the Mersenne Twister MT19937
/// seeded as `RandomState(s)` seeds it, and the legacy samplers' algorithms, so that a draw sequence equals NumPy's
/// for the same seed. vLLM's `vllm bench serve` draws its arrival gaps this way (`np.random.seed(args.seed)` in
/// `main_async`, `np.random.gamma` in `get_request`); reproducing the stream gives moesim the very arrival times a
/// benchmark of the same seed sent, instead of a statistically alike set.
///
/// Written from the published algorithms (Matsumoto & Nishimura 1998's `init_genrand` and tempering; NumPy's
/// `legacy_double`, `legacy_standard_exponential`, `legacy_gauss` (Marsaglia's polar method, the spare value kept)
/// and `legacy_standard_gamma` (Marsaglia & Tsang 2000 for shape > 1, Johnk-style rejection below 1)); checked against
/// NumPy 2.4 in the tests.
public struct NumPyRandomState: Sendable {
    private var key = [UInt32](repeating: 0, count: 624)
    private var pos = 624
    private var spareGauss: Double? = nil

    /// `np.random.RandomState(seed)`: NumPy accepts seeds 0...2^32-1 (nil above, as NumPy raises ValueError).
    public init?(seed: UInt64) {
        guard seed <= UInt64(UInt32.max) else { return nil }
        var s = UInt32(seed)
        for i in 0..<624 {
            key[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
    }

    /// The next 32 tempered bits (`genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if pos >= 624 { regenerate() }
        var y = key[pos]
        pos += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func regenerate() {
        let upper: UInt32 = 0x8000_0000, lower: UInt32 = 0x7FFF_FFFF, matrixA: UInt32 = 0x9908_B0DF
        for i in 0..<624 {
            let y = (key[i] & upper) | (key[(i + 1) % 624] & lower)
            key[i] = key[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : matrixA)
        }
        pos = 0
    }

    /// A uniform double in [0, 1) of 53 bits (`legacy_double`: two draws, 27 and 26 bits).
    public mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `legacy_standard_exponential`.
    public mutating func standardExponential() -> Double { -log(1.0 - nextDouble()) }

    /// `legacy_gauss`: the polar method, which makes two normals and keeps the second for the next call.
    public mutating func gauss() -> Double {
        if let g = spareGauss { spareGauss = nil; return g }
        var x1 = 0.0, x2 = 0.0, r2 = 0.0
        repeat {
            x1 = 2.0 * nextDouble() - 1.0
            x2 = 2.0 * nextDouble() - 1.0
            r2 = x1 * x1 + x2 * x2
        } while r2 >= 1.0 || r2 == 0.0
        let f = (-2.0 * log(r2) / r2).squareRoot()
        spareGauss = f * x1
        return f * x2
    }

    /// `legacy_standard_gamma(shape)`.
    public mutating func standardGamma(shape: Double) -> Double {
        if shape == 1.0 { return standardExponential() }
        if shape == 0.0 { return 0.0 }
        if shape < 1.0 {
            while true {
                let u = nextDouble(), v = standardExponential()
                if u <= 1.0 - shape {
                    let x = pow(u, 1.0 / shape)
                    if x <= v { return x }
                } else {
                    let y = -log((1.0 - u) / shape)
                    let x = pow(1.0 - shape + shape * y, 1.0 / shape)
                    if x <= v + y { return x }
                }
            }
        }
        let b = shape - 1.0 / 3.0, c = 1.0 / (9.0 * b).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = gauss()
                v = 1.0 + c * x
            } while v <= 0.0
            v = v * v * v
            let u = nextDouble()
            if u < 1.0 - 0.0331 * (x * x) * (x * x) { return b * v }
            if log(u) < 0.5 * x * x + b * (1.0 - v + log(v)) { return b * v }
        }
    }

    /// `np.random.gamma(shape, scale)`.
    public mutating func gamma(shape: Double, scale: Double) -> Double { scale * standardGamma(shape: shape) }
}
