import Testing
@testable import SimKit

/// NumPy's legacy global generator, reproduced: the draws equal NumPy 2.4's for the same seed. Reference values from
///
///     import numpy as np
///     np.random.seed(seed); [repr(float(np.random.gamma(shape=shape, scale=0.25))) for _ in range(5)]
///
/// (shape 1 is the exponential path, 0.5 the rejection path below 1, 2 Marsaglia-Tsang with the polar method's
/// spare normal kept between calls.)
@Suite struct NumPyRandomStateTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var seed: UInt64, shape: Double, expected: [Double]
        var testDescription: String { "seed \(seed), shape \(shape)" }
    }

    @Test(arguments: [
        Case(seed: 0, shape: 1.0, expected: [0.1989686270407775, 0.31398269074145946, 0.2308057864510172, 0.19680028807931768, 0.1377621227738748]),
        Case(seed: 42, shape: 0.5, expected: [0.035070075156549106, 0.16475450821054627, 0.006085454041376572, 0.0008434265006264522, 0.09393228488684804]),
        Case(seed: 7, shape: 2.0, expected: [0.28365200126619494, 0.21038775514600822, 0.41733368306792024, 0.838975573351344, 0.6420796596354572]),
        Case(seed: 4_294_967_295, shape: 1.0, expected: [0.025683222997759343, 0.6086946175833031, 0.38901611671431274, 0.3785360219561845, 0.004525635182283549]),
    ])
    func gammaDrawsEqualNumPys(_ c: Case) throws {
        var rng = try #require(NumPyRandomState(seed: c.seed))
        let draws = (0..<5).map { _ in rng.gamma(shape: c.shape, scale: 0.25) }
        #expect(draws == c.expected)
    }

    /// `np.random.seed(0)`, then `np.random.random_sample()` twice: 0.5488135039273248 and 0.7151893663724195.
    @Test func uniformDoublesEqualNumPys() throws {
        var rng = try #require(NumPyRandomState(seed: 0))
        #expect(rng.nextDouble() == 0.5488135039273248)
        #expect(rng.nextDouble() == 0.7151893663724195)
    }

    @Test func seedsAboveThirtyTwoBitsAreRefusedAsNumPyRefusesThem() {
        #expect(NumPyRandomState(seed: 1 << 32) == nil)
    }
}

/// CPython 3.11's `random`, reproduced. Reference values:
///
///     random.seed(0); x = list(range(12)); random.shuffle(x)           # [1, 9, 8, 5, 10, 2, 3, 7, 4, 0, 11, 6]
///     random.seed(42); x = list(range(100000)); random.shuffle(x)      # x[:8], x[-3:] below
///     random.seed(7); [random.choice(range(37)) for _ in range(8)]    # [20, 9, 25, 3, 4, 34, 6, 23]
///     random.seed(2**40 + 5); random.getrandbits(32)                   # 2166296868 (a two-word key)
@Suite struct PythonRandomTests {
    @Test func shuffleAndChoiceEqualCPythons() {
        var a = PythonRandom(seed: 0)
        var x = Array(0..<12)
        a.shuffle(&x)
        #expect(x == [1, 9, 8, 5, 10, 2, 3, 7, 4, 0, 11, 6])
        var b = PythonRandom(seed: 42)
        var y = Array(0..<100_000)
        b.shuffle(&y)
        #expect(Array(y.prefix(8)) == [3813, 99183, 80737, 65674, 53670, 97104, 38743, 36888] && Array(y.suffix(3)) == [3278, 14592, 83810])
        var c = PythonRandom(seed: 7)
        #expect((0..<8).map { _ in c.below(37) } == [20, 9, 25, 3, 4, 34, 6, 23])
        var d = PythonRandom(seed: (1 << 40) + 5)
        #expect(d.bits(32) == 2_166_296_868)
    }
}

/// NumPy's legacy integer draws, as pandas' `DataFrame.sample(n, random_state=seed)` makes them (vLLM's BurstGPT
/// dataset): `RandomState(seed).permutation(N)[:n]` without replacement, `randint(0, N, n)` with. References:
///
///     list(np.random.RandomState(0).permutation(12))        # [6, 11, 4, 10, 2, 8, 1, 7, 9, 3, 0, 5]
///     list(np.random.RandomState(5).randint(0, 37, size=8)) # [35, 14, 16, 9, 8, 36, 27, 30]
///     list(pd.DataFrame({"a": range(20)}).sample(n=6, random_state=3)["a"])               # [14, 2, 1, 17, 4, 16]
///     list(pd.DataFrame({"a": range(20)}).sample(n=25, random_state=3, replace=True)["a"])[:8]  # [10, 3, 8, 0, 19, 10, 11, 9]
@Suite struct NumPyIntegerTests {
    @Test func permutationAndRandintEqualNumPys() throws {
        var a = try #require(NumPyRandomState(seed: 0))
        #expect(a.permutation(12) == [6, 11, 4, 10, 2, 8, 1, 7, 9, 3, 0, 5])
        var b = try #require(NumPyRandomState(seed: 5))
        #expect((0..<8).map { _ in b.interval(36) } == [35, 14, 16, 9, 8, 36, 27, 30])
        var c = try #require(NumPyRandomState(seed: 3))
        #expect(Array(c.permutation(20).prefix(6)) == [14, 2, 1, 17, 4, 16])
        var d = try #require(NumPyRandomState(seed: 3))
        #expect((0..<8).map { _ in d.interval(19) } == [10, 3, 8, 0, 19, 10, 11, 9])
    }
}

/// NumPy's `default_rng(seed)`: SeedSequence, PCG64 and `integers`, as vLLM's random dataset draws its lengths.
/// References (NumPy 2.4):
///
///     np.random.SeedSequence(0).generate_state(4, np.uint64)
///     np.random.default_rng(42).bit_generator.random_raw(2)
///     g = np.random.default_rng(0); g.integers(900, 1101, size=6), g.integers(1, 300, size=4)
///     np.random.default_rng(2**40 + 3).integers(0, 7, size=8)
@Suite struct NumPyGeneratorTests {
    @Test func seedSequenceAndPCG64EqualNumPys() {
        #expect(NumPyGenerator.seedSequenceState(0) == [15_793_235_383_387_715_774, 12_390_638_538_380_655_177, 2_361_836_109_651_742_017, 3_188_717_715_514_472_916])
        var g = NumPyGenerator(seed: 42)
        #expect([g.nextUInt64(), g.nextUInt64()] == [14_276_969_152_011_380_360, 8_095_878_257_575_067_585])
    }

    @Test func integersEqualNumPys() {
        var g = NumPyGenerator(seed: 0)
        #expect((0..<6).map { _ in g.integer(900, 1100) } == [1070, 1028, 1002, 954, 961, 908])
        #expect((0..<4).map { _ in g.integer(1, 299) } == [23, 5, 53, 244])
        var h = NumPyGenerator(seed: (1 << 40) + 3)
        #expect((0..<8).map { _ in h.integer(0, 6) } == [5, 5, 3, 6, 2, 3, 2, 0])
    }
}
