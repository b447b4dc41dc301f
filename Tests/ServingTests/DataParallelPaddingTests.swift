import Testing
@testable import Cluster
@testable import Serving

/// Data parallelism and CUDA graphs: vLLM pads every DP rank to the largest rank's capture size when the ranks' synced
/// graph mode is not NONE (`coordinate_batch_across_dp`), an idle rank's dummy batch too.
struct DataParallelPaddingTests {
    /// One request on DP 2 without EP: rank 1 is idle at every step, yet its padded dummy token joins each MoE layer,
    /// so the experts see two tokens a decode step, not one.
    @Test func anIdleRanksPaddedDummyJoinsTheMoELayers() throws {
        let d = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb", plan: ParallelPlan(tp: 1, dp: 2))
        let w = try randomWorkload(input: 64, output: 256, prompts: 1, concurrency: 1)
        let r = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        let cost = try d.costModel(seed: 0)
        func mean(_ t: Int) -> Double { let s = cost.moeSamples(tokens: t); return s.map(\.expertsUs).reduce(0, +) / Double(s.count) }
        let one = mean(1), two = mean(2)
        #expect(two > 1.3 * one)
        #expect(abs(r.breakdownUs.experts - two) < abs(r.breakdownUs.experts - one), "\(r.breakdownUs.experts) us a step; 1 token \(one), 2 tokens \(two)")
        // Without CUDA graphs (--enforce-eager) nothing is padded: the idle rank adds no token to the experts.
        let eager = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb", plan: ParallelPlan(tp: 1, dp: 2), overrides: ["enforce_eager": 1])
        let re = try VLLMSimulator(deployment: eager, workload: w, seed: 0).run()
        #expect(abs(re.breakdownUs.experts - one) < abs(re.breakdownUs.experts - two), "\(re.breakdownUs.experts) us a step eager")
    }
}
