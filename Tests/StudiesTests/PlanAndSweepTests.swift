import Foundation
import Testing
import SimKit
import Cluster
import Serving
@testable import Studies

enum StudiesRepo {
    static let root: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { dir = dir.deletingLastPathComponent() }
        return dir.path
    }()
    static let store = ProfileStore(root: root + "/profiles")
}

/// A fresh directory under the system's temporary one (the caller removes it).
func makeTempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "moesim-studies-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct PlanSearchTests {
    static let workload = ["--random-input-len", "256", "--random-output-len", "32", "--num-prompts", "24", "--max-concurrency", "16"]

    func search(_ model: String, gpus: [String] = ["a100-sxm4-80gb", "h100-sxm-80gb"], maxGPUs: Int = 8,
                ttft: Double? = nil, tpot: Double? = nil) throws -> PlanSearch {
        var s = PlanSearch(model: try StudiesRepo.store.model(model), modelArg: model, gpus: gpus, maxGPUs: maxGPUs,
                           workloadArgs: Self.workload, sloTTFTp99Ms: ttft, sloTPOTp99Ms: tpot, prices: [:])
        s.concurrency = 16
        return s
    }

    @Test(arguments: ["olmoe-1b-7b", "mixtral-8x7b", "qwen1.5-moe-a2.7b", "llada-8b"])
    func enumerationHasNoDuplicatesAndOnlyValidPlans(model: String) throws {
        let s = try search(model)
        let cands = s.candidates()
        #expect(!cands.isEmpty)
        #expect(Set(cands).count == cands.count, "duplicate candidates")
        #expect(Set(cands.map(\.label)).count == cands.count, "two candidates share a label")
        let m = s.model
        for c in cands {
            #expect(c.gpus <= 8 && c.gpus & (c.gpus - 1) == 0)
            #expect(m.heads % c.tp == 0)
            let plan = ParallelPlan(tp: c.tp, dp: c.dp, ep: c.ep)
            #expect((try? plan.validate(for: m)) != nil, "\(c.label) is not a valid plan")
            if c.ep { #expect(m.isMoE && (m.moe?.experts ?? 0) >= c.gpus) }
            if c.backend != nil { #expect(c.ep && c.dp > 1) }
            // max-num-seqs: the values below the concurrency plus the first at or above it.
            #expect([16, 32].contains(c.maxNumSeqs))
        }
        if !m.isMoE { #expect(cands.allSatisfy { !$0.ep }) }
        // Every GPU count and TP degree that divides the heads appears.
        #expect(Set(cands.map(\.gpus)) == [1, 2, 4, 8])
    }

    @Test func prunedPlansIndeedFailTheirBound() throws {
        // Mixtral on A100-80GB: one GPU cannot hold it; a tight TPOT SLO prunes by the weight-read bound.
        let s = try search("mixtral-8x7b", gpus: ["a100-sxm4-80gb"], maxGPUs: 4, ttft: 8, tpot: 1.0)
        let store = StudiesRepo.store
        let gpu = try store.gpu("a100-sxm4-80gb")
        var prunedSLO = 0, prunedMemory = 0
        for c in s.candidates() {
            guard let v = s.prune(c, store: store, minInput: 256) else { continue }
            var args = ["--model", "mixtral-8x7b"] + c.args + Self.workload
            args += ["--seed", "0"]
            switch v {
            case .doesNotFit:
                prunedMemory += 1
                // Simulating it must fail for memory.
                #expect(throws: InputError.self) { _ = try Simulation.run(arguments: args, store: store) }
            case .cannotMeetSLO(let why):
                prunedSLO += 1
                let r = try Simulation.run(arguments: args, store: store).result
                if why.hasPrefix("TTFT") { #expect(r.ttftMs.p99 > 8, "\(c.label): \(why) but P99 TTFT \(r.ttftMs.p99)") }
                else { #expect(r.tpotMs.p99 > 1.0, "\(c.label): \(why) but P99 TPOT \(r.tpotMs.p99)") }
                // The bounds themselves are below what the simulation gives.
                #expect(s.ttftLowerBoundMs(c, gpu: gpu, inputLen: 256) <= r.ttftMs.min + 1e-9)
                #expect(s.tpotLowerBoundMs(c, gpu: gpu) <= r.tpotMs.min + 1e-9)
            default: Issue.record("unexpected verdict for \(c.label)")
            }
        }
        #expect(prunedMemory > 0)
        #expect(prunedSLO > 0)
    }

    @Test func rankingPutsSLOMetFirstThenThroughputPerGPU() throws {
        func result(_ tput: Double, gpus: Int) -> RunResult {
            let z = Summary([1])
            return RunResult(durationS: 1, completed: 1, totalInputTokens: 1, totalOutputTokens: Int(tput), ttftMs: z, tpotMs: z, itlMs: z, e2elMs: z,
                             gpus: gpus, steps: 1, breakdownUs: StepBreakdown(), preemptions: 0, kvCapacityTokens: 1, peakKVUsage: 0,
                             meanKVUsage: 0, gpuBusyFraction: 0, seed: 0)
        }
        let c = PlanSearch.Candidate(gpu: "g", tp: 1, dp: 1, ep: false, backend: nil, maxNumSeqs: 16)
        var a = PlanSearch.Evaluated(candidate: c, verdict: .simulated(result(1000, gpus: 1))); a.meetsSLO = false
        var b = PlanSearch.Evaluated(candidate: c, verdict: .simulated(result(900, gpus: 2))); b.meetsSLO = true
        var d = PlanSearch.Evaluated(candidate: c, verdict: .simulated(result(1500, gpus: 2))); d.meetsSLO = true
        let pruned = PlanSearch.Evaluated(candidate: c, verdict: .doesNotFit("x"))
        let ranked = PlanSearch.rank([pruned, a, b, d])
        #expect(ranked.map { $0.result?.outputThroughput ?? -1 } == [1500, 900, 1000, -1])
        // Pareto: the 1-GPU plan (1000 tok/s/GPU) dominates both 2-GPU plans at equal latency.
        #expect(PlanSearch.pareto([a, b, d]).count == 1)
    }
}

@Suite struct SweepTests {
    @Test func sweepOutputDoesNotDependOnThreads() throws {
        let spec = """
        {"version": 1, "name": "t", "grids": [{"name": "g", "base": ["--model", "olmoe-1b-7b", "--random-input-len", "64",
          "--random-output-len", "16", "--num-prompts", "12", "--random-range-ratio", "0.5"],
          "axes": [{"name": "strategy", "values": [{"label": "tp", "args": ["--strategy", "tp"]}, {"label": "ep", "args": ["--strategy", "ep"]},
                                                  {"label": "hybrid", "args": ["--strategy", "hybrid", "--gpu", "a100-sxm4-40gb"]}]},
                   {"name": "c", "values": [{"label": "1", "args": ["--max-concurrency", "1"]}, {"label": "8", "args": ["--max-concurrency", "8"]}]}]}]}
        """
        let file = NSTemporaryDirectory() + "moesim-sweep-\(UUID().uuidString).json"
        try spec.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let s = try SweepSpec(file: file)
        let configs = s.configurations()
        #expect(configs.count == 6)
        let one = SweepRunner.run(configs, store: StudiesRepo.store, threads: 1)
        let two = SweepRunner.run(configs, store: StudiesRepo.store, threads: 2)
        #expect(one.allSatisfy { $0.result != nil })
        #expect(SweepRunner.csv(one) == SweepRunner.csv(two))
        #expect(SweepRunner.jsonLines(one) == SweepRunner.jsonLines(two))
    }

    @Test func dataParallelRanksStepTogether() throws {
        // EP over TP1 x DP2: two ranks in lockstep; with a single request the other rank idles with a dummy batch,
        // so the step cannot be faster than the same request on the TP1 x DP1 deployment of the same GPU.
        let args = ["--model", "olmoe-1b-7b", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "1"]
        let ep = try Simulation.run(arguments: args + ["--strategy", "ep"], store: StudiesRepo.store).result
        let cost = try RunOptions.deployment(try ParsedArguments(args + ["--strategy", "ep"], options: RunOptions.deployment + RunOptions.workload),
                                             store: StudiesRepo.store).costModel(seed: 0)
        var busy = BatchShape(); busy.addDecode(context: 64)
        var p1 = Xoshiro256(seed: 1), p2 = Xoshiro256(seed: 1), p3 = Xoshiro256(seed: 1)
        let lockstep = cost.stepCost([busy, BatchShape()], pick: &p1)
        let alone = cost.stepCost([busy], pick: &p2)
        #expect(lockstep.gpu >= alone.gpu)
        // Two busy ranks: the step waits for the slower one and routes both ranks' tokens through the experts.
        var longer = BatchShape(); longer.addDecode(context: 4096)
        let both = cost.stepCost([busy, longer], pick: &p3)
        #expect(both.attention >= cost.stepCost([longer], pick: &p2).attention)
        #expect(both.gpu > alone.gpu)
        #expect(ep.completed == 1 && ep.totalOutputTokens == 8)
    }
}

@Suite struct HFExplainTests {
    /// The teaching view of Table VII: LLaDA-MoE's forward is dominated by the host's per-expert loop, the dense
    /// model's is not.
    @Test func diffusionMoEForwardIsHostBound() throws {
        func forward(_ model: String) throws -> (step: StepBreakdown, impl: HFSimulator.ExpertsImpl, tokens: Int, expertsHitPerLayer: Double) {
            let a = try ParsedArguments(["--model", model, "--engine", "hf", "--engine-profile", "hf-a100-hegde2025"], options: RunOptions.deployment)
            let d = try RunOptions.deployment(a, store: StudiesRepo.store)
            let s = try DiffusionSchedule(steps: 32, genLength: 64, blockLength: 64)
            return try HFSimulator(deployment: d, batchSize: 1, inputLen: 64, outputLen: 2, diffusion: s, cfg: false, expertsImpl: .eager,
                                   expertReuse: 0, seed: 0).explainForward()
        }
        let moe = try forward("llada-moe-7b"), dense = try forward("llada-8b")
        #expect(moe.tokens == 128 && dense.tokens == 128)
        #expect(moe.expertsHitPerLayer > 60)       // 128 tokens x top-8 over 64 experts hit nearly all
        #expect(moe.step.overhead > 0.8 * moe.step.total)
        #expect(dense.step.overhead < 0.6 * dense.step.total)
        #expect(moe.step.total > 5 * dense.step.total)
    }
}
