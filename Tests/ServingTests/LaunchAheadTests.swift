import Foundation
import Testing
import Cluster
@testable import Serving

/// Under async scheduling vLLM's engine core launches step k + 1's kernels before it waits for step k's output, so
/// the launches of a step without CUDA graphs partly run while a GPU-bound step before it is still on the GPU
/// (`StepClock.launchCredit`). Step traces of the vLLM manifest showed it: such steps ran 0.74-0.84x the modelled
/// time when CUDA-graph steps came before them, 0.99x when another graphless step did (2026-12-06).
@Suite struct LaunchAheadTests {
    func clock(async: Bool) -> VLLMSimulator.StepClock {
        var c = VLLMSimulator.StepClock(graphMax: 512, dpEager: false, eagerHostUs: 60_000, stepOverheadUs: 1_000, perSeqUs: 0,
                                        dpSyncUs: 0, frontendPerTokenUs: 0)
        c.asyncScheduling = async
        return c
    }

    func gpu(_ us: Double) -> StepBreakdown {
        var s = StepBreakdown()
        s.attention = us
        return s
    }

    /// Qwen3-30B-A3B on an H200: a decode step of 48 sequences at 600 tokens of context (a full graph) and the same
    /// with a 600-token prompt chunk beside it (no graphs).
    func qwen3Steps() throws -> (Deployment, BatchShape, BatchShape) {
        let d = try deployment("qwen3-30b-a3b", gpu: "h200-sxm-141gb")
        var decode = BatchShape()
        for _ in 0..<48 { decode.addDecode(context: 600) }
        var mixed = decode
        mixed.addPrefill(chunk: 600, prefix: 0, samples: true)
        return (d, decode, mixed)
    }

    @Test func aGraphlessStepAfterAGPUBoundStepPaysOnlyTheLaunchesNotYetMade() {
        var c = clock(async: true)
        // A decode step replayed from a full graph: 16 ms on the GPU, 1 ms of host work; the host then waits 15 ms.
        c.advance(gpu(16_000), maxTokens: 64, maxSequences: 64, uniformDecode: true, kvUsage: 0, emitted: 64, deferred: true)
        #expect(c.now == 16_000 && c.lastHost == 1_000)
        #expect(c.launchCredit == 15_000)
        // A step of 1,000 tokens runs without graphs: 60 ms of launches, 15 of them made already; 20 ms on the GPU.
        let start = c.now
        c.advance(gpu(20_000), maxTokens: 1_000, maxSequences: 65, uniformDecode: false, kvUsage: 0, emitted: 65, deferred: true)
        #expect(c.now - start == 60_000 - 15_000 + 1_000)
        #expect(c.lastHost == 46_000)
        // Host-bound itself, it leaves nothing for the step after it.
        #expect(c.launchCredit == 0)
    }

    @Test func noCreditWithoutAsyncSchedulingOrAfterAnIdleEngine() {
        var sync = clock(async: false)
        sync.advance(gpu(16_000), maxTokens: 64, maxSequences: 64, uniformDecode: true, kvUsage: 0, emitted: 64)
        #expect(sync.launchCredit == 0)
        let start = sync.now
        sync.advance(gpu(20_000), maxTokens: 1_000, maxSequences: 65, uniformDecode: false, kvUsage: 0, emitted: 65)
        #expect(sync.now - start == 61_000)
        var idle = clock(async: true)
        idle.advance(gpu(16_000), maxTokens: 64, maxSequences: 64, uniformDecode: true, kvUsage: 0, emitted: 64, deferred: true)
        idle.now += 5_000 // the engine waited for a request
        #expect(idle.launchCredit == 0)
        // The credit never makes a step shorter than its GPU time.
        var c = clock(async: true)
        c.advance(gpu(100_000), maxTokens: 64, maxSequences: 64, uniformDecode: true, kvUsage: 0, emitted: 64, deferred: true)
        let start2 = c.now
        c.advance(gpu(20_000), maxTokens: 1_000, maxSequences: 65, uniformDecode: false, kvUsage: 0, emitted: 65, deferred: true)
        #expect(c.now - start2 == 20_000)
    }

    /// The step replay gives a recorded step the same credit from the step recorded before it (`previous`), and a
    /// step without one is priced as before.
    @Test func theReplayCreditsAStepFromTheOneBeforeIt() throws {
        let (d, decode, mixed) = try qwen3Steps()
        let alone = try VLLMSimulator.replaySteps([mixed], deployment: d, seed: 1)
        let after = try VLLMSimulator.replaySteps([mixed], previous: [decode], deployment: d, seed: 1)
        #expect(alone[0].mode == "NONE" && after[0].mode == "NONE")
        let prev = try VLLMSimulator.replaySteps([decode], deployment: d, seed: 1)[0]
        #expect(prev.mode == "FULL" && prev.stepUs > prev.hostUs)
        // The step before is priced by a routing draw of its own: its wait comes within 2% of this one's.
        let credit = alone[0].stepUs - after[0].stepUs, wait = prev.stepUs - prev.hostUs
        #expect(credit > 0 && abs(credit / wait - 1) < 0.02, "\(credit) against \(wait)")
        #expect(after[0].gpuUs == alone[0].gpuUs)
        let none = try VLLMSimulator.replaySteps([mixed], previous: [nil], deployment: d, seed: 1)
        #expect(none[0].stepUs == alone[0].stepUs)
    }

    /// Where the step before is the one just replayed, its replay gives the credit: a graphless step after a
    /// graphless one that left the host waiting is credited with that wait, the host time after its own credit.
    @Test func theReplayTakesTheCreditFromTheStepItJustReplayed() throws {
        let (d, decode, mixed) = try qwen3Steps()
        let run = try VLLMSimulator.replaySteps([decode, mixed, mixed], previous: [nil, decode, mixed], deployment: d, seed: 1)
        #expect(run.map(\.mode) == ["FULL", "NONE", "NONE"])
        // The first step's replay (not a second pricing of it) gives the second step its credit.
        let credit = max(0, run[0].stepUs - run[0].hostUs)
        let alone = try VLLMSimulator.replaySteps([decode, mixed], deployment: d, seed: 1)
        #expect(credit > 0 && abs((alone[1].hostUs - run[1].hostUs) - credit) < 1e-6, "\(alone[1].hostUs - run[1].hostUs) against \(credit)")
        // The third step is credited with what the host waited in the second (nothing where it was host-bound).
        let wait2 = max(0, run[1].stepUs - run[1].hostUs)
        #expect(abs((alone[1].hostUs - run[2].hostUs) - wait2) < 1e-6)
    }
}
