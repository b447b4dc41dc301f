/// The Nelder–Mead downhill simplex method for derivative-free minimisation.
///
/// Uses the standard coefficients: reflection 1, expansion 2, contraction 0.5,
/// shrink 0.5. Fully deterministic: ties are broken by vertex index.
public struct NelderMead: Sendable {
    /// Minimises `f` starting from a simplex of `start` plus `start + step[i]·eᵢ`.
    ///
    /// Stops when the spread of objective values over the simplex is at most
    /// `tolerance` (absolute) **and** every vertex lies within `√tolerance·(1 + |x_best|)`
    /// of the best vertex in every coordinate, or after `maxEvaluations` evaluations.
    /// Non-finite objective values are treated as +∞.
    ///
    /// - Precondition: `start` non-empty, `step.count == start.count`, no zero step.
    /// - Complexity: O(maxEvaluations · d) plus the cost of `f`.
    public static func minimize(
        _ f: ([Double]) -> Double,
        start: [Double],
        step: [Double],
        maxEvaluations: Int = 2000,
        tolerance: Double = 1e-8
    ) -> (x: [Double], value: Double, evaluations: Int) {
        let d = start.count
        precondition(d > 0, "NelderMead needs at least one dimension")
        precondition(step.count == d, "NelderMead step must match start's dimension")
        precondition(step.allSatisfy { $0 != 0 && $0.isFinite }, "NelderMead steps must be non-zero and finite")
        var evaluations = 0
        func eval(_ x: [Double]) -> Double {
            evaluations += 1
            let v = f(x)
            return v.isNaN ? .infinity : v
        }
        var simplex: [[Double]] = [start]
        for i in 0..<d {
            var v = start
            v[i] += step[i]
            simplex.append(v)
        }
        var values = simplex.map(eval)
        let xTolerance = tolerance.squareRoot()
        var order = Array(0...d)

        while evaluations < maxEvaluations {
            order.sort { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            order = Array(0...d)
            if converged(simplex, values, fTolerance: tolerance, xTolerance: xTolerance) { break }

            var centroid = [Double](repeating: 0, count: d)
            for v in simplex[0..<d] {
                for j in 0..<d { centroid[j] += v[j] }
            }
            for j in 0..<d { centroid[j] /= Double(d) }
            let worst = simplex[d]
            func along(_ coefficient: Double) -> [Double] {
                (0..<d).map { centroid[$0] + coefficient * (worst[$0] - centroid[$0]) }
            }

            let reflected = along(-1)
            let fr = eval(reflected)
            if fr < values[0] {
                let expanded = along(-2)
                let fe = eval(expanded)
                if fe < fr {
                    simplex[d] = expanded
                    values[d] = fe
                } else {
                    simplex[d] = reflected
                    values[d] = fr
                }
                continue
            }
            if fr < values[d - 1] {
                simplex[d] = reflected
                values[d] = fr
                continue
            }
            let outside = fr < values[d]
            let contracted = along(outside ? -0.5 : 0.5)
            let fc = eval(contracted)
            if outside ? fc <= fr : fc < values[d] {
                simplex[d] = contracted
                values[d] = fc
                continue
            }
            // Shrink towards the best vertex.
            for i in 1...d {
                for j in 0..<d {
                    simplex[i][j] = simplex[0][j] + 0.5 * (simplex[i][j] - simplex[0][j])
                }
                values[i] = eval(simplex[i])
            }
        }
        var best = 0
        for i in 1...d where values[i] < values[best] { best = i }
        return (simplex[best], values[best], evaluations)
    }

    /// Whether the simplex is small in both objective value and position.
    private static func converged(
        _ simplex: [[Double]], _ values: [Double], fTolerance: Double, xTolerance: Double
    ) -> Bool {
        guard let first = values.first, let last = values.last, last - first <= fTolerance else {
            return false
        }
        let best = simplex[0]
        for v in simplex.dropFirst() {
            for j in best.indices where abs(v[j] - best[j]) > xTolerance * (1 + abs(best[j])) {
                return false
            }
        }
        return true
    }
}
