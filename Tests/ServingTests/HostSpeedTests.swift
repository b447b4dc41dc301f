import Foundation
import Testing
import Cluster
@testable import Serving

/// `--host-speed`: the engine's host costs scale with the host's speed against the profile's reference host.
@Suite struct HostSpeedTests {
    /// The shipped vllm profile with a known reference and exponent, so that the expected scale does not depend on a fit.
    func hostDeployment(speed: Double?, reference: Double = 0.05, exponent: Double = 1) throws -> Deployment {
        var d = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb", overrides: speed.map { ["host_speed_s": $0] } ?? [:])
        d.engine.params["host_speed_reference_s"] = reference
        d.engine.params["host_speed_exponent"] = exponent
        return d
    }

    @Test func scaleFollowsTheSpeedRatioToTheExponent() throws {
        #expect(try hostDeployment(speed: nil).hostScale == 1)
        #expect(abs(try hostDeployment(speed: 0.1).hostScale - 2) < 1e-12)
        #expect(abs(try hostDeployment(speed: 0.025).hostScale - 0.5) < 1e-12)
        #expect(abs(try hostDeployment(speed: 0.2, exponent: 0.5).hostScale - 2) < 1e-12)
        // A profile without a reference never scales.
        #expect(try hostDeployment(speed: 0.1, reference: 0).hostScale == 1)
    }

    @Test func everyHostCostOfTheClockScalesAndNothingElse() throws {
        let base = try hostDeployment(speed: nil), slow = try hostDeployment(speed: 0.1)
        let a = VLLMSimulator.makeClock(base, maxSeqs: 256, budget: 8192), b = VLLMSimulator.makeClock(slow, maxSeqs: 256, budget: 8192)
        for (x, y) in [(a.stepOverheadUs, b.stepOverheadUs), (a.perSeqUs, b.perSeqUs), (a.eagerHostUs, b.eagerHostUs), (a.piecewiseHostUs, b.piecewiseHostUs),
                       (a.perTokenUs, b.perTokenUs), (a.outputLatencyUs, b.outputLatencyUs), (a.frontendPerTokenUs, b.frontendPerTokenUs)] {
            #expect(x > 0 && abs(y - 2 * x) < 1e-9 * x, "\(x) -> \(y)")
        }
        #expect(a.graphMax == b.graphMax && a.asyncScheduling == b.asyncScheduling)
        // The GPU's work is the same; only the steps' host share grows.
        let w = try randomWorkload(input: 256, output: 64, prompts: 4, concurrency: 1)
        let ra = try VLLMSimulator(deployment: base, workload: w, seed: 0).run()
        let rb = try VLLMSimulator(deployment: slow, workload: w, seed: 0).run()
        #expect(ra.breakdownUs.experts == rb.breakdownUs.experts && ra.breakdownUs.attention == rb.breakdownUs.attention)
        #expect(rb.breakdownUs.overhead > ra.breakdownUs.overhead)
        // One OLMoE sequence at a time is host-bound on an H200: a host twice as slow makes every token slower.
        #expect(rb.tpotMs.mean > ra.tpotMs.mean * 1.2 && rb.ttftMs.mean > ra.ttftMs.mean)
    }
}
