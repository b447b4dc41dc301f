import Foundation
import Testing
@testable import SimKit

/// `BinomialSampler` keeps each (n, p)'s constants for many draws (the routing model's per-expert counts); it must draw
/// exactly what the per-call algorithm drew before it (the reference below is that code, kept verbatim), so that
/// every simulation stays byte-identical.
@Suite struct BinomialSamplerTests {
    /// The per-call binomial as it was: constants recomputed on every draw.
    static func reference(n: Int, p: Double, rng g: inout Xoshiro256) -> Int {
        if n == 0 || p == 0 { return 0 }
        if p == 1 { return n }
        let flipped = p > 0.5
        let q = flipped ? 1 - p : p
        var k: Int
        if Double(n) * q < 10 {
            let qq = 1 - q, s = q / qq, a = Double(n + 1) * s, r0 = pow(qq, Double(n))
            outer: while true {
                var u = g.nextDouble(), r = r0, x = 0
                while u > r { u -= r; x += 1; if x > n { break }; r *= a / Double(x) - s }
                if x <= n { k = x; break outer }
            }
        } else {
            let nd = Double(n), pp = q
            let spq = (nd * pp * (1 - pp)).squareRoot()
            let b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * pp, c = nd * pp + 0.5, vr = 0.92 - 4.2 / b
            let r = pp / (1 - pp), alpha = (2.83 + 5.1 / b) * spq, m = ((nd + 1) * pp).rounded(.down)
            let fm = Xoshiro256.stirlingTail(m) + Xoshiro256.stirlingTail(nd - m)
            let logBase = (m + 0.5) * log((m + 1) / (r * (nd - m + 1)))
            while true {
                let u = g.nextDouble() - 0.5
                var v = g.nextDouble()
                let us = 0.5 - abs(u)
                let kk = ((2 * a / us + b) * u + c).rounded(.down)
                if us >= 0.07 && v <= vr { k = Int(kk); break }
                if kk < 0 || kk > nd { continue }
                v = log(v * alpha / (a / (us * us) + b))
                let bound = logBase + (nd + 1) * log((nd - m + 1) / (nd - kk + 1)) + (kk + 0.5) * log(r * (nd - kk + 1) / (kk + 1))
                    + fm - Xoshiro256.stirlingTail(kk) - Xoshiro256.stirlingTail(nd - kk)
                if v <= bound { k = Int(kk); break }
            }
        }
        return flipped ? n - k : k
    }

    @Test(arguments: [(0, 0.3), (7, 0.0), (7, 1.0), (1, 0.5), (40, 0.03125), (319, 0.03125), (320, 0.03125), (8192, 0.03125),
                      (64, 0.9), (5000, 0.7), (100_000, 0.0001), (3, 0.999), (16384, 0.5)])
    func sameDrawsAsThePerCallAlgorithm(n: Int, p: Double) {
        var a = Xoshiro256(seed: 42, stream: 7), b = a, c = a
        let sampler = BinomialSampler(n: n, p: p)
        for _ in 0..<2_000 {
            let want = Self.reference(n: n, p: p, rng: &a)
            #expect(sampler.sample(using: &b) == want)
            #expect(c.binomial(n: n, p: p) == want)
        }
        #expect(a == b && b == c, "the streams advanced alike")
    }
}
