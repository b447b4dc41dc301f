import Foundation
import Testing
import Cluster
import SimKit
@testable import Serving

/// Run compute-bound work back to back and an H100 or H200 reaches its 700 W limit and lowers its clock: bf16 GEMMs
/// 8-15% below their burst rate after a second or so (`probe/results/2026-12-0{4,7}-h{2,1}00-gemm-sustained`), while
/// kernel tables are timed in bursts. vLLM's long prompt steps drifted up against the prediction in the same way.
@Suite struct PowerStateTests {
    func gpu(_ us: Double) -> StepBreakdown {
        var s = StepBreakdown()
        s.experts = us
        return s
    }

    func clock(_ gpuName: String) throws -> VLLMSimulator.StepClock {
        var c = VLLMSimulator.StepClock(graphMax: 512, dpEager: false, eagerHostUs: 0, stepOverheadUs: 0, perSeqUs: 0,
                                        dpSyncUs: 0, frontendPerTokenUs: 0)
        c.power = PowerState(gpu: try Repo.store.gpu(gpuName))
        return c
    }

    @Test func longComputeBoundRunsSlowTowardTheSustainedRateAndCoolWhenIdle() throws {
        var c = try clock("h100-sxm-80gb")
        let k = 1 / 0.892 - 1
        // The first step of a cool GPU runs at the burst rate.
        var start = c.now
        c.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 1)
        #expect(c.now - start == 100_000)
        // Ten more seconds of fully compute-bound steps: at the sustained rate.
        for _ in 0..<100 { c.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 1) }
        start = c.now
        c.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 1)
        #expect(abs((c.now - start) / 100_000 - (1 + k)) < 1e-3)
        // A step half of whose time is compute-bound is slowed half as much.
        start = c.now
        c.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 0.5)
        #expect(abs((c.now - start) / 100_000 - (1 + k * 0.5)) < 2e-3)
        // Five seconds idle: cool again.
        c.now += 5_000_000
        start = c.now
        c.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 1)
        #expect(abs((c.now - start) / 100_000 - 1) < 1e-4)
    }

    @Test func memoryBoundDecodesAndUnmeasuredGPUsAreNotSlowed() throws {
        var c = try clock("h200-sxm-141gb")
        for _ in 0..<200 { c.advance(gpu(20_000), maxTokens: 64, maxSequences: 64, uniformDecode: true, kvUsage: 0, emitted: 64, computeShare: 0.03) }
        var start = c.now
        c.advance(gpu(20_000), maxTokens: 64, maxSequences: 64, uniformDecode: true, kvUsage: 0, emitted: 64, computeShare: 0.03)
        #expect((c.now - start) / 20_000 - 1 < 0.001)
        // The A100's power state was not measured: never slowed.
        var a = try clock("a100-sxm4-80gb")
        for _ in 0..<50 { a.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 1) }
        start = a.now
        a.advance(gpu(100_000), maxTokens: 16_384, maxSequences: 32, uniformDecode: false, kvUsage: 0, emitted: 32, computeShare: 1)
        #expect(a.now - start == 100_000)
    }

    /// The compute share of a step: a 16,384-token prompt step of Qwen3-30B-A3B on an H200 runs its tensor cores at the
    /// burst rate for about half its time; a decode step of 64 sequences for a few per cent.
    @Test func computeShareOfPromptAndDecodeSteps() throws {
        let d = try deployment("qwen3-30b-a3b", gpu: "h200-sxm-141gb")
        let cost = try d.costModel(seed: 0)
        var pick = Xoshiro256(seed: 0, stream: 1)
        var prompt = BatchShape()
        for _ in 0..<32 { prompt.addPrefill(chunk: 512, prefix: 0, samples: true) }
        let p = cost.computeShare([prompt], gpuUs: cost.stepCost([prompt], pick: &pick).gpu)
        #expect(p > 0.35 && p < 0.8)
        var decode = BatchShape()
        for _ in 0..<64 { decode.addDecode(context: 600) }
        let q = cost.computeShare([decode], gpuUs: cost.stepCost([decode], pick: &pick).gpu)
        #expect(q < 0.1)
    }

    /// A run whose prompt steps keep an H200 busy says how much the power limit slowed it; the same run on an A100,
    /// whose power state was not measured, says nothing of it.
    @Test func aRunSaysWhatThePowerLimitCostIt() throws {
        let w = try randomWorkload(input: 2048, output: 4, prompts: 64)
        let h = try VLLMSimulator(deployment: try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb"), workload: w, seed: 0).run()
        let note = h.notes.first { $0.hasPrefix("power limit:") }
        #expect(note?.contains("0.868") == true, "\(h.notes)")
        let a = try VLLMSimulator(deployment: try deployment("olmoe-1b-7b", gpu: "a100-sxm4-80gb"), workload: w, seed: 0).run()
        #expect(!a.notes.contains { $0.hasPrefix("power limit:") })
    }

    @Test func aGPUProfileGivesBothPowerFiguresOrNeither() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/profiles/gpus/h100-sxm-80gb.json"))) as! [String: Any]
        j.removeValue(forKey: "power_time_constant_s")
        let f = dir + "/gpu.json"
        try JSONSerialization.data(withJSONObject: j).write(to: URL(fileURLWithPath: f))
        let e = inputError { _ = try GPUProfile(json: try JSONNode.load(file: f)) }
        #expect(e?.description.contains("power_time_constant_s") == true)
    }
}
