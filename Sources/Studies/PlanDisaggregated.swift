import Foundation
import Cluster

extension PlanSearch {
    /// Disaggregated prefill/decode candidates: xPyD instances of one aggregated single-instance plan (DP 1, PP 1), with
    /// (x + y) x TP GPUs within `maxGPUs`, each ratio once (1P1D, 1P2D, 2P1D, 1P3D, 3P1D, ...). Each is simulated
    /// with `--prefill-instances x --decode-instances y` (KV moved over the GPU's interconnect link) and ranked
    /// with the aggregated plans by the same rules, so the table says whether splitting the roles wins under the SLOs.
    public func disaggregatedCandidates(aggregated: [Candidate]) -> [Candidate] {
        var out: [Candidate] = []
        for c in aggregated where c.dp == 1 && c.pp == 1 {
            var instances = 2
            while instances * c.tp <= maxGPUs && instances <= 8 {
                for x in 1..<instances {
                    let y = instances - x
                    // Ratios already covered by a smaller count (2P2D is 1P1D twice) are left out.
                    var g = x, h = y
                    while h != 0 { (g, h) = (h, g % h) }
                    guard g == 1 else { continue }
                    var d = c
                    d.prefillInstances = x; d.decodeInstances = y
                    out.append(d)
                }
                instances += 1
            }
        }
        return out
    }
}
