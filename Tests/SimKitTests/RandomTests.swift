import Testing
@testable import SimKit

/// Reference outputs computed with an independent Python implementation:
///
///     M = (1 << 64) - 1
///     def splitmix(s):            # generator
///         while True:
///             s = (s + 0x9E3779B97F4A7C15) & M; z = s
///             z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
///             z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
///             yield z ^ (z >> 31)
///     rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M
///     def xoshiro(seed):
///         g = splitmix(seed); s = [next(g) for _ in range(4)]
///         while True:
///             r = (rotl((s[1] * 5) & M, 7) * 9) & M; t = (s[1] << 17) & M
///             s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
///             s[2] ^= t; s[3] = rotl(s[3], 45)
///             yield r
///     # stream variant: xoshiro(seed ^ ((stream * 0x9E3779B97F4A7C15) & M))
@Suite struct RandomTests {
    @Test func splitMix64ReferenceVector() {
        var g = SplitMix64(seed: 1_234_567)
        let got = (0..<5).map { _ in g.next() }
        #expect(got == [
            6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
            4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
        ])
    }

    @Test func xoshiro256PinnedOutputs() {
        var g = Xoshiro256(seed: 42)
        let got = (0..<5).map { _ in g.next() }
        #expect(got == [
            1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009,
            17_057_574_109_182_124_193, 18_295_552_978_065_317_476,
        ])
        var d = Xoshiro256(seed: 42)
        #expect(d.nextDouble() == 0.08386297105988216)
        #expect(d.nextDouble() == 0.3789802506626686)
    }

    @Test func streamsAreDistinctAndPinned() {
        var s7 = Xoshiro256(seed: 42, stream: 7)
        #expect((0..<3).map { _ in s7.next() } == [
            2_469_555_718_114_335_044, 4_020_002_145_566_205_576, 11_390_448_302_126_445_686,
        ])
        var s0 = Xoshiro256(seed: 42, stream: 0)
        var plain = Xoshiro256(seed: 42)
        #expect(s0.next() == plain.next())
        var a = Xoshiro256(seed: 42, stream: 1)
        var b = Xoshiro256(seed: 42, stream: 2)
        #expect(a.next() != b.next())
    }

    @Test func nextDoubleInUnitInterval() {
        var g = Xoshiro256(seed: 5)
        for _ in 0..<10_000 {
            let u = g.nextDouble()
            #expect(u >= 0 && u < 1)
        }
    }

    @Test(arguments: [1, 2, 3, 7, 10])
    func nextIntBelowIsInRangeAndUniform(n: Int) {
        var g = Xoshiro256(seed: 11)
        var counts = [Int](repeating: 0, count: n)
        let draws = 20_000
        for _ in 0..<draws { counts[g.nextInt(below: n)] += 1 }
        let expected = Double(draws) / Double(n)
        for c in counts {
            #expect(abs(Double(c) - expected) < 5 * expected.squareRoot() + 1)
        }
    }

    @Test func nextIntHugeBound() {
        var g = Xoshiro256(seed: 3)
        for _ in 0..<1000 {
            let v = g.nextInt(below: Int.max)
            #expect(v >= 0 && v < Int.max)
        }
    }
}
