import Foundation

/// The Mersenne Twister MT19937 (Matsumoto & Nishimura 1998) with its two published seedings: `init_genrand` (one
/// 32-bit seed, as NumPy's `RandomState(seed)` uses it) and `init_by_array` (a key of 32-bit words, as CPython's
/// `random.seed(n)` uses it). The generator behind the Python-side draws of vLLM's benchmark client, which moesim
/// reproduces so that a benchmark's requests and arrivals are the very ones vLLM's client made for the same seed.
public struct MersenneTwister: Sendable {
    private var key = [UInt32](repeating: 0, count: 624)
    private var pos = 624

    /// `init_genrand(seed)`.
    public init(seed: UInt32) {
        var s = seed
        for i in 0..<624 {
            key[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
    }

    /// `init_by_array(words)`.
    public init(key words: [UInt32]) {
        self.init(seed: 19_650_218)
        let n = 624, len = max(words.count, 1), w = words.isEmpty ? [0] : words
        var i = 1, j = 0
        for _ in 0..<max(n, len) {
            key[i] = (key[i] ^ ((key[i - 1] ^ (key[i - 1] >> 30)) &* 1_664_525)) &+ w[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= n { key[0] = key[n - 1]; i = 1 }
            if j >= len { j = 0 }
        }
        for _ in 0..<(n - 1) {
            key[i] = (key[i] ^ ((key[i - 1] ^ (key[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= n { key[0] = key[n - 1]; i = 1 }
        }
        key[0] = 0x8000_0000
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
}

/// NumPy's legacy global generator (`np.random.seed(s)` then `np.random.gamma(...)`): MT19937 seeded as
/// `RandomState(s)` seeds it, and the legacy samplers' algorithms, so that a draw sequence equals NumPy's for the
/// same seed. vLLM's `vllm bench serve` draws its arrival gaps this way (`np.random.seed(args.seed)` in
/// `main_async`, `np.random.gamma` in `get_request`).
///
/// Written from the published algorithms (NumPy's `legacy_double`, `legacy_standard_exponential`, `legacy_gauss`
/// (Marsaglia's polar method, the spare value kept) and `legacy_standard_gamma` (Marsaglia & Tsang 2000 for shape > 1,
/// Johnk-style rejection below 1)); checked against NumPy 2.4 in the tests.
public struct NumPyRandomState: Sendable {
    private var mt: MersenneTwister
    private var spareGauss: Double? = nil

    /// `np.random.RandomState(seed)`: NumPy accepts seeds 0...2^32-1 (nil above, as NumPy raises ValueError).
    public init?(seed: UInt64) {
        guard seed <= UInt64(UInt32.max) else { return nil }
        mt = MersenneTwister(seed: UInt32(seed))
    }

    public mutating func nextUInt32() -> UInt32 { mt.nextUInt32() }

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

    /// A uniform whole number in 0...max (`random_interval`, and legacy `randint`'s masked rejection below 2^32):
    /// 32-bit draws masked to the smallest all-ones mask covering `max`, redrawn while above it.
    public mutating func interval(_ max: UInt32) -> UInt32 {
        guard max > 0 else { return 0 }
        var mask = max
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16
        var v = nextUInt32() & mask
        while v > max { v = nextUInt32() & mask }
        return v
    }

    /// `RandomState.permutation(n)` (a Fisher-Yates shuffle of 0..<n from the end, `random_interval(i)` each).
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        guard n > 1 else { return a }
        for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(interval(UInt32(i)))) }
        return a
    }
}

/// CPython's `random` module (`random.seed(n)` with a whole number, `random.shuffle`, `random.choice`): MT19937
/// seeded by `init_by_array` with |n|'s 32-bit words, least significant first, and `_randbelow`'s rejection of
/// `getrandbits(n.bit_length())`. vLLM's benchmark datasets shuffle and oversample with it (ShareGPT, custom,
/// prefix_repetition: `random.seed(self.random_seed)`, `random.shuffle(self.data)`). Checked against CPython 3.11.
public struct PythonRandom: Sendable {
    private var mt: MersenneTwister

    public init(seed: UInt64) {
        var words: [UInt32] = []
        var s = seed
        repeat { words.append(UInt32(truncatingIfNeeded: s)); s >>= 32 } while s > 0
        mt = MersenneTwister(key: words)
    }

    /// `getrandbits(k)` for 1 <= k <= 32.
    public mutating func bits(_ k: Int) -> UInt32 { mt.nextUInt32() >> UInt32(32 - k) }

    /// `_randbelow(n)` for 1 <= n <= 2^32 - 1.
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0 && n <= Int(UInt32.max), "randbelow takes 1...2^32-1, got \(n)")
        let k = Int.bitWidth - n.leadingZeroBitCount
        var r = Int(bits(k))
        while r >= n { r = Int(bits(k)) }
        return r
    }

    /// `random.shuffle(a)`.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
    }
}

/// NumPy's `np.random.default_rng(seed)` (a `Generator` on PCG64, seeded through `SeedSequence`) and its
/// `integers(low, high)`, so that draws equal NumPy's for the same seed. vLLM's random dataset draws its prompt and
/// output lengths this way (`RandomDataset`: `self._rng = np.random.default_rng(self.random_seed)`;
/// `get_sampling_params`: `rng.integers(low, high + 1, size=n)` for the inputs, then the outputs).
///
/// Written from the published algorithms: SeedSequence's hash mixing (O'Neill's randutils seed_seq_fe, as NumPy
/// adapts it: a pool of four 32-bit words, then `generate_state(4, uint64)`), PCG64 (XSL-RR 128/64: a 128-bit LCG,
/// the output the high and low halves xor-ed and rotated by the top six bits), its 32-bit draws (each 64-bit output
/// split, low half first), and Lemire's bounded integers with rejection (`buffered_bounded_lemire_uint32`).
/// Checked against NumPy 2.4 in the tests.
public struct NumPyGenerator: Sendable {
    private var hi: UInt64 = 0, lo: UInt64 = 0
    private var incHi: UInt64 = 0, incLo: UInt64 = 0
    private var spare: UInt32? = nil
    private static let multHi: UInt64 = 0x2360_ED05_1FC6_5DA4, multLo: UInt64 = 0x4385_DF64_9FCC_F645

    public init(seed: UInt64) {
        let state = Self.seedSequenceState(seed)
        let initState = (hi: state[0], lo: state[1]), initSeq = (hi: state[2], lo: state[3])
        // pcg_setseq_128_srandom_r: state 0, inc = seq << 1 | 1, step, state += initstate, step.
        incHi = (initSeq.hi << 1) | (initSeq.lo >> 63)
        incLo = (initSeq.lo << 1) | 1
        step()
        let (l, carry) = lo.addingReportingOverflow(initState.lo)
        lo = l
        hi = hi &+ initState.hi &+ (carry ? 1 : 0)
        step()
    }

    /// `SeedSequence(seed).generate_state(4, np.uint64)`.
    static func seedSequenceState(_ seed: UInt64) -> [UInt64] {
        let initA: UInt32 = 0x43B0_D7E5, multA: UInt32 = 0x931E_8875, initB: UInt32 = 0x8B51_F9DD, multB: UInt32 = 0x58F3_8DED
        let mixL: UInt32 = 0xCA01_F9DD, mixR: UInt32 = 0x4973_F715
        var entropy: [UInt32] = []
        var s = seed
        repeat { entropy.append(UInt32(truncatingIfNeeded: s)); s >>= 32 } while s > 0
        var hashConst = initA
        func hashmix(_ v: UInt32) -> UInt32 {
            var value = v ^ hashConst
            hashConst = hashConst &* multA
            value = value &* hashConst
            return value ^ (value >> 16)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let r = (mixL &* x) &- (mixR &* y)
            return r ^ (r >> 16)
        }
        var pool = [UInt32](repeating: 0, count: 4)
        for i in 0..<4 { pool[i] = hashmix(i < entropy.count ? entropy[i] : 0) }
        for src in 0..<4 { for dst in 0..<4 where src != dst { pool[dst] = mix(pool[dst], hashmix(pool[src])) } }
        for src in 4..<max(4, entropy.count) { for dst in 0..<4 { pool[dst] = mix(pool[dst], hashmix(entropy[src])) } }
        var words = [UInt32](repeating: 0, count: 8)
        var h = initB
        for i in 0..<8 {
            var v = pool[i % 4] ^ h
            h = h &* multB
            v = v &* h
            words[i] = v ^ (v >> 16)
        }
        return (0..<4).map { UInt64(words[2 * $0]) | (UInt64(words[2 * $0 + 1]) << 32) }
    }

    /// state = state x multiplier + increment (mod 2^128).
    private mutating func step() {
        let low = lo.multipliedFullWidth(by: Self.multLo)
        let newHi = low.high &+ lo &* Self.multHi &+ hi &* Self.multLo
        let (l, carry) = low.low.addingReportingOverflow(incLo)
        lo = l
        hi = newHi &+ incHi &+ (carry ? 1 : 0)
    }

    /// The next 64-bit output (step, then XSL-RR of the new state).
    public mutating func nextUInt64() -> UInt64 {
        step()
        let x = hi ^ lo, rot = hi >> 58
        return (x >> rot) | (x << ((64 - rot) & 63))
    }

    /// The next 32 bits: the low half of a 64-bit output, its high half kept for the next call.
    public mutating func nextUInt32() -> UInt32 {
        if let s = spare { spare = nil; return s }
        let v = nextUInt64()
        spare = UInt32(truncatingIfNeeded: v >> 32)
        return UInt32(truncatingIfNeeded: v)
    }

    /// `integers(low, high + 1)` for one value: uniform in low...high, by Lemire's method on 32-bit draws for a range
    /// below 2^32 - 1 (every length vLLM's dataset draws).
    public mutating func integer(_ low: Int, _ high: Int) -> Int {
        precondition(high >= low && UInt64(high - low) < UInt64(UInt32.max), "integers(low, high) takes a range below 2^32 - 1")
        let rng = UInt32(high - low)
        guard rng > 0 else { return low }
        let excl = UInt64(rng) + 1
        var m = UInt64(nextUInt32()) * excl
        var leftover = UInt32(truncatingIfNeeded: m)
        if UInt64(leftover) < excl {
            let threshold = UInt32((UInt64(UInt32.max) - UInt64(rng)) % excl)
            while leftover < threshold {
                m = UInt64(nextUInt32()) * excl
                leftover = UInt32(truncatingIfNeeded: m)
            }
        }
        return low + Int(m >> 32)
    }
}
