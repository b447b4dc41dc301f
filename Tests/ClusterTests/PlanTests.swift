import Foundation
import Testing
@testable import Cluster

@Suite struct MemoryPlanTests {
    func plan(_ model: String, _ p: ParallelPlan, gpu: String, util: Double = 0.9, reserve: Double = 2) throws -> MemoryPlan {
        let m = try Repo.store.model(model)
        let placement = p.expertParallel ? ExpertPlacement.contiguous(experts: m.moe!.experts, gpus: p.gpuCount, moeLayers: m.moeLayerCount) : nil
        return MemoryPlan(model: m, plan: p, gpu: try Repo.store.gpu(gpu), placement: placement, memoryUtilization: util, reserveGB: reserve, blockSize: 16)
    }

    @Test func mixtralTP2WeightsByHand() throws {
        let mp = try plan("mixtral-8x7b", ParallelPlan.Strategy.tp.plan, gpu: "a100-sxm4-80gb")
        let h = 4096.0, L = 32.0, q = 4096.0, kv = 1024.0
        let attn = h * (q + 2 * kv) + q * h + 2 * h
        let experts = 8 * 3 * h * 14336, router = h * 8
        let embed = 2 * 32000 * h + h
        let perGPU = (L * attn / 2 + L * router + L * experts / 2 + embed / 2) * 2
        #expect(relClose(mp.weightBytes, perGPU, 1e-4), "\(mp.weightBytes) vs \(perGPU)")
        #expect(relClose(mp.expertWeightBytes, L * experts, 1e-9)) // half the experts' elements x 2 bytes
        #expect(mp.kvBytesPerToken == 2 * 4 * 128 * 32 * 2)
        // The card's whole memory (its nvidia-smi total, not the datasheet's binary 80 GB read as 80e9 bytes) at 0.9.
        let card = try Repo.store.gpu("a100-sxm4-80gb").memoryBytes
        #expect(card > 85e9 && mp.budgetBytes == card * 0.9)
        #expect(mp.kvTokens == mp.kvBlocks * 16)
        #expect(relClose(Double(mp.kvTokens), (card * 0.9 - 2e9 - perGPU) / mp.kvBytesPerToken, 1e-3))
        try mp.check(model: try Repo.store.model("mixtral-8x7b"), plan: ParallelPlan.Strategy.tp.plan, gpu: try Repo.store.gpu("a100-sxm4-80gb"))
    }

    @Test func olmoeEPWeightsByHand() throws {
        let p = ParallelPlan.Strategy.ep.plan
        #expect(p.tensorParallel == 1 && p.dataParallel == 2 && p.expertParallel)
        let mp = try plan("olmoe-1b-7b", p, gpu: "a100-sxm4-80gb")
        let h = 2048.0, L = 16.0
        let attn = h * (2048 * 3) + 2048 * h + 2 * h
        let perGPU = (L * attn + L * h * 64 + L * 32 * 3 * h * 1024 + 2 * 50304 * h + h) * 2
        #expect(relClose(mp.weightBytes, perGPU, 1e-4), "\(mp.weightBytes) vs \(perGPU)")
        #expect(mp.expertWeightBytes == L * 32 * 3 * h * 1024 * 2)
    }

    @Test func qwenHybridWeightsByHand() throws {
        let p = ParallelPlan.Strategy.hybrid.plan
        let mp = try plan("qwen1.5-moe-a2.7b", p, gpu: "a100-sxm4-40gb")
        let h = 2048.0, L = 24.0
        let attn = h * (2048 * 3) + 2048 * h + 2048 * 3 /* qkv bias */ + 2 * h
        let shared = 3 * h * 5632 + h // shared expert and its gate
        let perGPU = (L * attn / 2 + L * shared / 2 + L * h * 60 + L * 15 * 3 * h * 1408 + (2 * 151936 * h + h) / 2) * 2
        #expect(relClose(mp.weightBytes, perGPU, 1e-4), "\(mp.weightBytes) vs \(perGPU)")
        let card = try Repo.store.gpu("a100-sxm4-40gb").memoryBytes
        #expect(card > 42e9 && mp.budgetBytes == card * 0.9)
    }

    @Test func mixtralHybridOn40GBLeavesLittleKV() throws {
        let hybrid = try plan("mixtral-8x7b", ParallelPlan.Strategy.hybrid.plan, gpu: "a100-sxm4-40gb")
        let tp2 = try plan("mixtral-8x7b", ParallelPlan.Strategy.tp.plan, gpu: "a100-sxm4-80gb")
        #expect(hybrid.kvTokens > 0)
        #expect(Double(hybrid.kvTokens) < 0.5 * Double(tp2.kvTokens), "\(hybrid.kvTokens) vs \(tp2.kvTokens)")
        // Two of the eight experts per GPU.
        #expect(relClose(hybrid.expertWeightBytes, 32 * 2 * 3 * 4096 * 14336 * 2, 1e-12))
    }

    @Test func mixtralBaselineDoesNotFitOnOneA100() throws {
        let m = try Repo.store.model("mixtral-8x7b")
        let gpu = try Repo.store.gpu("a100-sxm4-80gb")
        let p = ParallelPlan.Strategy.baseline.plan
        let mp = try plan("mixtral-8x7b", p, gpu: "a100-sxm4-80gb")
        #expect(mp.kvBytes == 0 && mp.kvBlocks == 0)
        let e = inputErrorMessage { try mp.check(model: m, plan: p, gpu: gpu) }
        #expect(e?.kind == .data)
        #expect(e?.message.contains("GB") == true)
        #expect(e?.message.contains("mixtral-8x7b") == true)
        #expect(e?.message.contains("a100-sxm4-80gb") == true)
    }

    @Test func diffusionModelHasNoKV() throws {
        let mp = try plan("llada-8b", ParallelPlan(tp: 1), gpu: "a100-sxm4-80gb")
        #expect(mp.kvBytesPerToken == 0)
        #expect(mp.kvTokens > 1_000_000_000)
    }
}

@Suite struct PlacementTests {
    @Test func contiguousBlocks() {
        let p = ExpertPlacement.contiguous(experts: 8, gpus: 4, moeLayers: 3)
        #expect(p.owners.count == 3)
        #expect(p.owners[0] == [[0], [0], [1], [1], [2], [2], [3], [3]])
        #expect(p.expertsPerGPU(layer: 2, gpus: 4) == [2, 2, 2, 2])
        let r = ExpertPlacement.contiguous(experts: 60, gpus: 8, moeLayers: 1)
        #expect(r.expertsPerGPU(layer: 0, gpus: 8) == [8, 8, 8, 8, 7, 7, 7, 7])
        // Blocks: owners never decrease along the expert index.
        let gs = r.owners[0].map { $0[0] }
        #expect(gs == gs.sorted())
    }

    @Test func loadsReplicatedPlacement() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/placement.json"
        try Data(#"{"default": [[0, 1], [0], [1], [1]]}"#.utf8).write(to: URL(fileURLWithPath: file))
        let p = try ExpertPlacement.load(file: file, experts: 4, gpus: 2, moeLayers: 3)
        #expect(p.owners.count == 3)
        #expect(p.expertsPerGPU(layer: 1, gpus: 2) == [2, 3])
    }

    struct BadPlacement: Sendable, CustomTestStringConvertible {
        var label: String
        var json: String
        var fragment: String
        var testDescription: String { label }
    }

    @Test(arguments: [
        BadPlacement(label: "wrong expert count", json: #"{"default": [[0], [1], [1]]}"#, fragment: "lists 3 experts; the model has 4"),
        BadPlacement(label: "GPU out of range", json: #"{"default": [[0], [1], [2], [1]]}"#, fragment: "GPU 2 is out of range 0..<2"),
        BadPlacement(label: "duplicate GPU", json: #"{"default": [[0, 0], [1], [1], [1]]}"#, fragment: "lists a GPU twice"),
        BadPlacement(label: "idle GPU", json: #"{"default": [[0], [0], [0], [0]]}"#, fragment: "leaves GPU(s) 1 without experts"),
        BadPlacement(label: "empty expert", json: #"{"default": [[], [0], [1], [1]]}"#, fragment: "at least one GPU"),
        BadPlacement(label: "wrong layer count", json: #"{"layers": [[[0], [1], [0], [1]]]}"#, fragment: "has 1 layers; the model has 3 MoE layers"),
        BadPlacement(label: "malformed JSON", json: #"{"default": [[0], "#, fragment: "malformed JSON"),
    ])
    func rejectsBadPlacement(_ c: BadPlacement) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/placement.json"
        try Data(c.json.utf8).write(to: URL(fileURLWithPath: file))
        let e = inputErrorMessage { _ = try ExpertPlacement.load(file: file, experts: 4, gpus: 2, moeLayers: 3) }
        #expect(e?.kind == .data)
        #expect(e?.message.contains(file) == true, "\(e?.message ?? "")")
        #expect(e?.message.contains(c.fragment) == true, "\(e?.message ?? "")")
    }
}

@Suite struct ParallelPlanTests {
    struct StrategyCase: Sendable, CustomTestStringConvertible {
        var strategy: ParallelPlan.Strategy
        var tp: Int, dp: Int, ep: Bool, gpus: Int
        var flags: String
        var testDescription: String { strategy.rawValue }
    }

    @Test(arguments: [
        StrategyCase(strategy: .baseline, tp: 1, dp: 1, ep: false, gpus: 1, flags: "--tensor-parallel-size 1"),
        StrategyCase(strategy: .tp, tp: 2, dp: 1, ep: false, gpus: 2, flags: "--tensor-parallel-size 2"),
        StrategyCase(strategy: .ep, tp: 1, dp: 2, ep: true, gpus: 2, flags: "--tensor-parallel-size 1 --data-parallel-size 2 --enable-expert-parallel"),
        StrategyCase(strategy: .hybrid, tp: 2, dp: 2, ep: true, gpus: 4, flags: "--tensor-parallel-size 2 --data-parallel-size 2 --enable-expert-parallel"),
    ])
    func strategyExpansion(_ c: StrategyCase) {
        let p = c.strategy.plan
        #expect(p.tensorParallel == c.tp && p.dataParallel == c.dp && p.expertParallel == c.ep)
        #expect(p.gpuCount == c.gpus)
        #expect(p.expertParallelSize == (c.ep ? c.gpus : 1))
        #expect(p.vllmFlags == c.flags)
        #expect(p.strategy == c.strategy && p.label == c.strategy.rawValue)
        #expect(p.all2allBackend == (c.dp > 1 ? .alltoall : .allreduce))
    }

    struct InvalidPlan: Sendable, CustomTestStringConvertible {
        var model: String
        var tp: Int, dp: Int, ep: Bool
        var fragments: [String]
        var testDescription: String { "\(model) tp\(tp) dp\(dp) ep \(ep)" }
    }

    @Test(arguments: [
        InvalidPlan(model: "mixtral-8x7b", tp: 3, dp: 1, ep: false, fragments: ["--tensor-parallel-size 3", "32 attention heads", "mixtral-8x7b"]),
        InvalidPlan(model: "mixtral-8x7b", tp: 4, dp: 4, ep: true, fragments: ["16 GPUs", "has 8"]),
        InvalidPlan(model: "llada-8b", tp: 1, dp: 2, ep: true, fragments: ["--enable-expert-parallel", "llada-8b is dense"]),
        InvalidPlan(model: "olmoe-1b-7b", tp: 0, dp: 1, ep: false, fragments: ["at least 1", "TP=0"]),
    ])
    func validateRejects(_ c: InvalidPlan) throws {
        let m = try Repo.store.model(c.model)
        let e = inputErrorMessage { try ParallelPlan(tp: c.tp, dp: c.dp, ep: c.ep).validate(for: m) }
        #expect(e?.kind == .usage)
        for f in c.fragments { #expect(e?.message.contains(f) == true, "\(e?.message ?? "") lacks \(f)") }
    }

    @Test func validPlansPass() throws {
        for s in ParallelPlan.Strategy.allCases {
            try s.plan.validate(for: try Repo.store.model("olmoe-1b-7b"))
            try s.plan.validate(for: try Repo.store.model("mixtral-8x7b"))
        }
        try ParallelPlan(tp: 8).validate(for: try Repo.store.model("mixtral-8x7b"))
    }
}
