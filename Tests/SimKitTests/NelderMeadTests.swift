import Testing
@testable import SimKit

@Suite struct NelderMeadTests {
    @Test func rosenbrockConvergesToOneOne() {
        let rosen: ([Double]) -> Double = { x in
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            return a * a + 100 * b * b
        }
        let r = NelderMead.minimize(rosen, start: [-1.2, 1], step: [0.5, 0.5], maxEvaluations: 5000)
        #expect(abs(r.x[0] - 1) < 1e-3)
        #expect(abs(r.x[1] - 1) < 1e-3)
        #expect(r.value < 1e-6)
        #expect(r.evaluations <= 5000)
    }

    @Test func quadraticIn3D() {
        let target: [Double] = [3, -2, 0.5]
        let f: ([Double]) -> Double = { x in
            var total = 7.0
            for i in 0..<3 {
                let d = x[i] - target[i]
                total += Double(i + 1) * d * d
            }
            return total
        }
        let r = NelderMead.minimize(f, start: [0, 0, 0], step: [1, 1, 1])
        for (xi, ti) in zip(r.x, target) { #expect(abs(xi - ti) < 1e-3) }
        #expect(abs(r.value - 7) < 1e-7)
        #expect(r.evaluations < 2000)
    }

    @Test func deterministicAndRespectsBudget() {
        let f: ([Double]) -> Double = { x in (x[0] - 2) * (x[0] - 2) }
        let a = NelderMead.minimize(f, start: [10], step: [1])
        let b = NelderMead.minimize(f, start: [10], step: [1])
        #expect(a.x == b.x && a.value == b.value && a.evaluations == b.evaluations)
        #expect(abs(a.x[0] - 2) < 1e-3)
        let capped = NelderMead.minimize(f, start: [10], step: [1], maxEvaluations: 10)
        #expect(capped.evaluations <= 12)
    }
}
