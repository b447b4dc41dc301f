import Foundation
import Testing
import Cluster
@testable import Serving

@Suite struct HFSimulatorTests {
    func hf(_ model: String, batch: Int, input: Int = 32, output: Int = 16, diffusion: DiffusionSchedule? = nil,
            impl: HFSimulator.ExpertsImpl = .eager, cfg: Bool = false, reuse: Double = 0) throws -> HFSimulator {
        try HFSimulator(deployment: try deployment(model, engine: "hf"), batchSize: batch, inputLen: input, outputLen: output,
                        diffusion: diffusion, cfg: cfg, expertsImpl: impl, expertReuse: reuse, seed: 0)
    }

    @Test(arguments: [HFSimulator.ExpertsImpl.eager, .grouped_mm, .batched_mm])
    func autoregressiveStaticBatchAccounting(_ impl: HFSimulator.ExpertsImpl) throws {
        let r = try hf("olmoe-1b-7b", batch: 4, input: 32, output: 16, impl: impl).run()
        #expect(r.completed == 4)
        #expect(r.totalOutputTokens == 4 * 16)
        #expect(r.totalInputTokens == 4 * 32)
        #expect(r.steps == 16)
        #expect(r.itlMs.count == 4 * 15)
        #expect(r.ttftMs.count == 4 && r.e2elMs.count == 4)
        #expect(r.ttftMs.mean < r.e2elMs.mean)
        #expect(abs(r.e2elMs.mean / 1e3 - r.durationS) < 1e-9)
        #expect(r.breakdownUs.experts > 0)
    }

    @Test func diffusionOutputTokens() throws {
        let s = try DiffusionSchedule(steps: 32, genLength: 64, blockLength: 32)
        let r = try hf("llada-8b", batch: 2, input: 32, diffusion: s).run()
        #expect(r.totalOutputTokens == 2 * 64)
        #expect(r.completed == 2)
        #expect(r.steps == 32)
        #expect(r.itlMs.count == (s.blocks - 1) * 2)
        // The first block is half the run.
        #expect(abs(r.ttftMs.mean * 2 - r.e2elMs.mean) < 1e-6 * r.e2elMs.mean)
        let cfg = try hf("llada-8b", batch: 2, input: 32, diffusion: s, cfg: true).run()
        #expect(cfg.totalOutputTokens == 2 * 64)
        // Guidance doubles the GPU work; the run takes at least as long (equal when the host is the bottleneck).
        #expect(cfg.breakdownUs.gpu > r.breakdownUs.gpu * 1.5)
        #expect(cfg.durationS >= r.durationS)
    }

    @Test func lladaMoEIsSeveralTimesSlowerThanDenseLLaDA() throws {
        let s = try DiffusionSchedule(steps: 32, genLength: 64, blockLength: 32)
        let dense = try hf("llada-8b", batch: 1, input: 64, diffusion: s).run()
        let moe = try hf("llada-moe-7b", batch: 1, input: 64, diffusion: s).run()
        #expect(moe.durationS / dense.durationS > 3, "moe \(moe.durationS) s vs dense \(dense.durationS) s")
        // Expert reuse can only help.
        let reused = try hf("llada-moe-7b", batch: 1, input: 64, diffusion: s, reuse: 0.5).run()
        #expect(reused.durationS < moe.durationS)
    }

    @Test func batchedMMRunsOutOfMemoryOnBigBatch() throws {
        let sim = try hf("olmoe-1b-7b", batch: 16, input: 1024, output: 16, impl: .batched_mm)
        let e = inputError { _ = try sim.run() }
        #expect(e?.kind == .data)
        #expect(e?.message.contains("out of GPU memory") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("batched_mm") == true)
        // The same batch fits with the eager loop and grouped_mm (no expert-weight gather).
        _ = try hf("olmoe-1b-7b", batch: 16, input: 1024, output: 2, impl: .eager).run()
        _ = try hf("olmoe-1b-7b", batch: 16, input: 1024, output: 2, impl: .grouped_mm).run()
    }

    struct BadHF: Sendable, CustomTestStringConvertible {
        var model: String
        var batch = 1, input = 8, output = 4
        var diffusion = false
        var reuse = 0.0
        var fragment: String
        var testDescription: String { fragment }
    }

    @Test(arguments: [
        BadHF(model: "olmoe-1b-7b", batch: 0, fragment: "--batch-size must be positive (got 0)"),
        BadHF(model: "olmoe-1b-7b", input: -1, fragment: "--input-len must be positive (got -1)"),
        BadHF(model: "olmoe-1b-7b", output: 0, fragment: "--output-len must be positive (got 0)"),
        BadHF(model: "olmoe-1b-7b", reuse: 1.0, fragment: "--expert-reuse must be in [0, 1)"),
        BadHF(model: "olmoe-1b-7b", diffusion: true, fragment: "needs a diffusion model"),
        BadHF(model: "llada-8b", diffusion: false, fragment: "llada-8b is a diffusion model"),
    ])
    func invalidHFRuns(_ c: BadHF) throws {
        let sched = c.diffusion ? try DiffusionSchedule(steps: 4, genLength: 8, blockLength: 8) : nil
        let d = try deployment(c.model, engine: "hf")
        let e = inputError {
            _ = try HFSimulator(deployment: d, batchSize: c.batch, inputLen: c.input, outputLen: c.output, diffusion: sched, cfg: false,
                                expertsImpl: .eager, expertReuse: c.reuse, seed: 0)
        }
        #expect(e?.kind == .usage)
        #expect(e?.message.contains(c.fragment) == true, "\(e?.message ?? "")")
    }
}
