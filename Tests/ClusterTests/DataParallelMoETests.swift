import Foundation
import Testing
@testable import Cluster
import SimKit

/// Data parallelism without expert parallelism as vLLM runs it (`FusedMoEParallelConfig.flatten_tp_across_dp_and_pcp`):
/// each expert sharded over all TP x DP GPUs, every DP rank's tokens gathered into each MoE layer and the outputs
/// reduce-scattered back; and the engine profile's all-to-all backend default.
struct DataParallelMoETests {
    func cost(_ plan: ParallelPlan, model name: String = "mixtral-8x7b", gpu gpuName: String = "h200-sxm-141gb") throws -> StepCostModel {
        let store = Repo.store
        let m = try store.model(name), gpu = try store.gpu(gpuName)
        let moe = try #require(m.moe)
        let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 3)
        let placement: ExpertPlacement? = plan.expertParallel ? .contiguous(experts: moe.experts, gpus: plan.stageGPUs, moeLayers: m.moeLayerCount) : nil
        return try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu, tables: gpu.vllmKernels),
                                 interconnect: try store.defaultInterconnect(gpu: gpu.name, gpus: plan.gpuCount),
                                 routing: routing, placement: placement, seed: 3)
    }

    func decodes(_ n: Int, context: Int = 512) -> BatchShape {
        var b = BatchShape()
        for _ in 0..<n { b.addDecode(context: context) }
        return b
    }

    @Test func expertsAreShardedOverEveryGPUOfTheStage() throws {
        let store = Repo.store
        let m = try store.model("mixtral-8x7b"), gpu = try store.gpu("h200-sxm-141gb")
        func experts(_ p: ParallelPlan) -> Double {
            MemoryPlan(model: m, plan: p, gpu: gpu, placement: nil, memoryUtilization: 0.9, reserveGB: 2, blockSize: 16, vllmLayout: true).expertWeightBytes
        }
        #expect(ParallelPlan(tp: 2, dp: 2).moeShardGPUs == 4 && ParallelPlan(tp: 2, dp: 2, ep: true).moeShardGPUs == 1 && ParallelPlan(tp: 4).moeShardGPUs == 4)
        // DP 2 holds the experts' bytes TP 2 holds, half of one GPU's; TP 2 x DP 2 a quarter, as TP 4 does.
        let one = experts(ParallelPlan(tp: 1))
        #expect(relClose(experts(ParallelPlan(tp: 1, dp: 2)), one / 2, 1e-12))
        #expect(relClose(experts(ParallelPlan(tp: 1, dp: 2)), experts(ParallelPlan(tp: 2)), 1e-12))
        #expect(relClose(experts(ParallelPlan(tp: 2, dp: 2)), experts(ParallelPlan(tp: 4)), 1e-12))
        // The attention is still whole on each GPU of DP 2 (TP 1): only the experts moved.
        let dp2 = MemoryPlan(model: m, plan: ParallelPlan(tp: 1, dp: 2), gpu: gpu, placement: nil, memoryUtilization: 0.9, reserveGB: 2, blockSize: 16)
        let tp1 = MemoryPlan(model: m, plan: ParallelPlan(tp: 1), gpu: gpu, placement: nil, memoryUtilization: 0.9, reserveGB: 2, blockSize: 16)
        #expect(dp2.attentionWeightBytes == tp1.attentionWeightBytes && dp2.kvBytesPerToken == tp1.kvBytesPerToken)
    }

    @Test func everyRanksTokensMeetInEachMoELayer() throws {
        let dp = try cost(ParallelPlan(tp: 1, dp: 2)), tp = try cost(ParallelPlan(tp: 2))
        var pick = Xoshiro256(seed: 1, stream: 1)
        // 32 decodes on each DP rank: the experts run all 64 tokens at half width, as TP 2's do for its 64.
        let step = dp.stepCost([decodes(32), decodes(32)], pick: &pick)
        var pick2 = Xoshiro256(seed: 1, stream: 1)
        let tpStep = tp.stepCost([decodes(64)], pick: &pick2)
        let sample = dp.moeSamples(tokens: 64)
        #expect(sample.contains { $0.expertsUs == step.experts }, "\(step.experts) not among \(sample.map(\.expertsUs))")
        #expect(relClose(step.experts, tpStep.experts, 0.25), "DP2 \(step.experts) vs TP2 \(tpStep.experts)")
        // The gather and reduce-scatter over the two DP ranks are the step's only collectives (TP 1: no all-reduce).
        let comm = dp.dataParallelMoECommUs(totalTokens: 64)
        #expect(comm > 0 && step.communication == comm)
        #expect(dp.dataParallelMoECommUs(totalTokens: 4096) > comm)
        // An idle rank still joins every MoE layer (vLLM's dummy batch).
        var pick3 = Xoshiro256(seed: 1, stream: 1)
        let idle = dp.stepCost([decodes(32), BatchShape()], pick: &pick3)
        #expect(idle.experts > 0 && idle.communication > 0)
        // Under EP, and on one DP rank, none of this exchange is priced.
        #expect(try cost(ParallelPlan(tp: 1, dp: 2, ep: true)).dataParallelMoECommUs(totalTokens: 64) == 0)
        #expect(tp.dataParallelMoECommUs(totalTokens: 64) == 0)
    }

    @Test func tensorParallelReplicasExchangeOverTheirDPGroupAlone() throws {
        // TP 2 x DP 2 without EP: each rank's TP all-reduces on its own tokens, plus the gather over the two DP ranks.
        let c = try cost(ParallelPlan(tp: 2, dp: 2))
        var pick = Xoshiro256(seed: 1, stream: 1)
        let step = c.stepCost([decodes(32), decodes(32)], pick: &pick)
        #expect(relClose(step.communication, c.tensorParallelCommUs(tokens: 32) + c.lmHeadUs(rows: 32).comm + c.dataParallelMoECommUs(totalTokens: 64), 1e-12))
        // fp8 activations are gathered at about half bf16's bytes (one byte a value and a scale per 128), with the top-k ids.
        let (bf16, _) = c.dataParallelMoEBytes(totalTokens: 10)
        let m = try Repo.store.model("mixtral-8x7b")
        #expect(bf16 == 10 * (Double(m.hidden) * 2 + Double(m.moe!.topK) * 8))
        // The DP group of TP 8 x DP 2 spans two nodes: priced over the network, dearer than within one node.
        let store = Repo.store
        let gpu = try store.gpu("h200-sxm-141gb"), moe = try #require(m.moe)
        let plan = ParallelPlan(tp: 8, dp: 2)
        let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 3)
        func model(_ topology: ClusterTopology) throws -> StepCostModel {
            try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu, tables: gpu.vllmKernels),
                              interconnect: try store.defaultInterconnect(gpu: gpu.name, gpus: 8), routing: routing, placement: nil, seed: 3,
                              topology: topology)
        }
        let twoNodes = try model(ClusterTopology(gpusPerNode: 8, nodes: 2, network: try store.network("ib-ndr-400")))
        let oneNode = try model(.singleNode(gpus: 16))
        #expect(twoNodes.dataParallelMoECommUs(totalTokens: 512) > 1.5 * oneNode.dataParallelMoECommUs(totalTokens: 512))
        #expect(twoNodes.assumptions.contains { $0.hasPrefix("collectives across 2 nodes") })
    }

    @Test func sequenceParallelMoEOnlyWhereVLLMRunsIt() throws {
        let store = Repo.store
        let qwen3 = try store.model("qwen3-30b-a3b"), mixtral = try store.model("mixtral-8x7b")
        var hybrid = ParallelPlan(tp: 2, dp: 2, ep: true)
        hybrid.all2allBackend = .allgatherReducescatter
        #expect(hybrid.sequenceParallelMoE(qwen3) && !hybrid.sequenceParallelMoE(mixtral))
        #expect(hybrid.moeExchangeGPUs(qwen3) == 4 && hybrid.moeExchangeGPUs(mixtral) == 2)
        hybrid.all2allBackend = .alltoall // the older vLLM's pplx: no sequence parallelism, the whole EP group
        #expect(!hybrid.sequenceParallelMoE(qwen3) && hybrid.moeExchangeGPUs(mixtral) == 4)
        #expect(ParallelPlan(tp: 1, dp: 4).moeExchangeGPUs(mixtral) == 4 && ParallelPlan(tp: 4).moeExchangeGPUs(mixtral) == 1)
        // Sequence-parallel MoE gathers each MoE layer's outputs over TP instead of reducing them.
        hybrid.all2allBackend = .allgatherReducescatter
        let sp = try cost(hybrid, model: "qwen3-30b-a3b")
        let gather = sp.collectiveUs(.allGather, bytes: 256 * Double(qwen3.hidden) * 2, gpus: 2), reduce = sp.tpAllReduceUs(tokens: 256)
        #expect(gather > 0 && gather != reduce)
        #expect(relClose(sp.tensorParallelCommUs(tokens: 256), Double(qwen3.layers) * reduce + Double(qwen3.moeLayerCount) * gather, 1e-12))
        var plain = hybrid
        plain.all2allBackend = .alltoall
        #expect(relClose(try cost(plain, model: "qwen3-30b-a3b").tensorParallelCommUs(tokens: 256), 2 * Double(qwen3.layers) * reduce, 1e-12))
    }

    @Test func sequenceParallelMoEKeepsTheSharedExpertsWhole() throws {
        // DeepSeek-V3 at TP 4 x DP 2 with EP: under allgather_reducescatter every TP rank holds the shared experts whole
        // and runs them on a quarter of the tokens; under the older pplx they stay TP-sharded.
        let store = Repo.store
        let m = try store.model("deepseek-v3"), gpu = try store.gpu("h200-sxm-141gb")
        var sp = ParallelPlan(tp: 4, dp: 2, ep: true), old = sp
        sp.all2allBackend = .allgatherReducescatter; old.all2allBackend = .alltoall
        #expect(sp.sequenceParallelMoE(m) && !old.sequenceParallelMoE(m))
        let moe = try #require(m.moe)
        let placement = ExpertPlacement.contiguous(experts: moe.experts, gpus: 8, moeLayers: m.moeLayerCount)
        func dense(_ p: ParallelPlan) -> Double {
            MemoryPlan(model: m, plan: p, gpu: gpu, placement: placement, memoryUtilization: 0.9, reserveGB: 2, blockSize: 16).denseWeightBytes
        }
        let shared = Double(m.moeLayerCount) * 3 * Double(m.hidden) * Double(moe.sharedIntermediate) * m.linearBytesPerParam
        #expect(relClose(dense(sp) - dense(old), shared * 3 / 4, 1e-9), "\(dense(sp) - dense(old)) vs \(shared * 3 / 4)")
        let li = try #require(m.ffn.firstIndex(where: { $0.isMoE }))
        // At 4 tokens each rank runs one token through the whole shared experts: as many weight bytes as four ranks' shards.
        let spUs = try cost(sp, model: "deepseek-v3").denseFFNUs(layer: li, tokens: 4), oldUs = try cost(old, model: "deepseek-v3").denseFFNUs(layer: li, tokens: 4)
        #expect(spUs > oldUs, "\(spUs) vs \(oldUs)")
    }

    /// The H100 table measured every all-gather size twice: past its largest size (a DP gather of 16 ranks' 8,192-token
    /// prompts moves about 1 GB) the curve extrapolates at a finite slope, not from two points at one size.
    @Test func collectiveCurvesWithRepeatedSizesExtrapolate() throws {
        let t = try #require(try Repo.store.gpu("h100-sxm-80gb").vllmKernels)
        for c in [Collective.allGather, .reduceScatter] {
            let at = try #require(t.collectiveUs(c, bytes: 536_870_912, gpus: 8)), past = try #require(t.collectiveUs(c, bytes: 1e9, gpus: 8))
            #expect(past.isFinite && past > at && past < 3 * at, "\(c): \(at) -> \(past)")
        }
    }

    @Test func everyGPUMustTakeAWholeShareOfEachExpert() throws {
        let m = try Repo.store.model("qwen1.5-moe-a2.7b") // expert width 1408 = 2^7 x 11
        #expect(throws: Never.self) { try ParallelPlan(tp: 2, dp: 4).validate(for: m) }
        let e = inputErrorMessage { try ParallelPlan(tp: 2, dp: 3).validate(for: m) }
        #expect(e?.message.contains("TP x DP = 6 GPUs") == true && e?.message.contains("1408") == true, "\(e?.message ?? "")")
        #expect(throws: Never.self) { try ParallelPlan(tp: 2, dp: 3, ep: true).validate(for: m) }
    }

    @Test func profileNamesTheDefaultBackendAndTheRemovedOnes() throws {
        let v = try Repo.store.engine("vllm")
        #expect(v.defaultAll2AllBackend == .allgatherReducescatter)
        #expect(Set(v.removedAll2AllBackends.map(\.vllmName)) == ["naive", "pplx"])
        #expect(try Repo.store.engine("vllm-a100-hegde2025").defaultAll2AllBackend == nil)
        func parse(_ extra: [String: Any]) throws -> EngineProfile {
            try EngineProfile(json: JSONNode(value: ["name": "x", "engine": "vllm", "sources": ["derived: a test profile"]].merging(extra) { $1 }, file: "x.json"))
        }
        #expect(try parse(["default_all2all_backend": "deepep_low_latency"]).defaultAll2AllBackend == .deepepLowLatency)
        let bad = inputErrorMessage { _ = try parse(["default_all2all_backend": "nccl"]) }
        #expect(bad?.message.contains("default_all2all_backend") == true && bad?.message.contains("\"nccl\"") == true, "\(bad?.message ?? "")")
        let both = inputErrorMessage { _ = try parse(["default_all2all_backend": "pplx", "removed_all2all_backends": ["pplx"]]) }
        #expect(both?.message.contains("removed_all2all_backends also lists") == true, "\(both?.message ?? "")")
        let alone = inputErrorMessage { _ = try parse(["removed_all2all_backends": ["pplx"]]) }
        #expect(alone?.message.contains("needs default_all2all_backend") == true, "\(alone?.message ?? "")")
    }
}
