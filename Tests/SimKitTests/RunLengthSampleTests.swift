import Testing
@testable import SimKit

/// `RunLengthSample` must summarise exactly as the flat array does: same mean and std bits, numpy percentiles.
@Suite struct RunLengthSampleTests {
    @Test(arguments: [1, 2, 3, 10, 101, 5000])
    func equalsFlatArray(n: Int) {
        var rng = Xoshiro256(seed: UInt64(n) &+ 17)
        var flat: [Double] = []
        var rle = RunLengthSample()
        while flat.count < n {
            let v = rng.nextInt(below: 4) == 0 ? 3.25 : rng.exponential(rate: 0.5)
            let c = 1 + rng.nextInt(below: 5)
            rle.append(v, count: c)
            flat += Array(repeating: v, count: c)
        }
        let a = Summary(flat), b = Summary(rle)
        #expect(a == b, "n \(n)")
        #expect(a.mean.bitPattern == b.mean.bitPattern && a.std.bitPattern == b.std.bitPattern)
        let qs: [Double] = [0, 1, 25, 50, 90, 99, 99.9, 100]
        #expect(rle.percentiles(qs) == qs.map { Statistics.percentile(flat, $0) })
        #expect(rle.runCount <= flat.count)
    }

    @Test func emptyAndMerging() {
        var s = RunLengthSample()
        #expect(Summary(s) == Summary([Double]()))
        s.append(1, count: 0)
        #expect(s.isEmpty)
        s.append(2); s.append(2, count: 3); s.append(1)
        #expect(s.runCount == 2 && s.count == 5)
    }
}
