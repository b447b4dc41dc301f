import Foundation
import Testing
@testable import Cluster
import SimKit

/// Where pipeline stages sit on nodes (vLLM's rank order DP, PP, TP) and what their collectives and hand-overs see.
@Suite struct PipelineTopologyTests {
    func cost(_ plan: ParallelPlan, nodes: Int, model: String = "mixtral-8x7b") throws -> StepCostModel {
        let store = Repo.store
        let gpu = try store.gpu("h100-sxm-80gb")
        let topo = ClusterTopology(gpusPerNode: 8, nodes: nodes, network: nodes > 1 ? try store.network("ib-ndr-400") : nil)
        let m = try store.model(model)
        return try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu), interconnect: try store.defaultInterconnect(gpu: gpu.name, gpus: 8),
                                 routing: try RoutingModel(spec: .uniform, experts: m.moe!.experts, topK: m.moe!.topK, layers: m.moeLayerCount, seed: 0),
                                 placement: plan.expertParallel ? .contiguous(experts: m.moe!.experts, gpus: plan.stageGPUs, moeLayers: m.moeLayerCount) : nil,
                                 seed: 0, topology: topo)
    }

    @Test func stagesOnTwoNodesHandOverThroughTheNetwork() throws {
        // TP 8 x PP 2 on two nodes of 8: stage 0 is node 0, stage 1 node 1.
        let across = try cost(ParallelPlan(tp: 8, pp: 2), nodes: 2)
        #expect(across.stageSendCrossesNodes == [true])
        #expect(!across.topology.isMultiNode && across.topology.gpusPerNode == 8)
        // TP 4 x PP 2 in one node: NVLink.
        let within = try cost(ParallelPlan(tp: 4, pp: 2), nodes: 1)
        #expect(within.stageSendCrossesNodes == [false])
        let net = try Repo.store.network("ib-ndr-400")
        // 1024 tokens: 2 x 1024 x 4096 x 2 bytes, 1/8 per TP rank over its NIC, then the TP all-gather.
        let t = 1024, bytes = 2.0 * Double(t * 4096) * 2
        let gather = across.collectiveUs(.allGather, bytes: bytes, gpus: 8)
        let expected = net.latencyUs + bytes / 8 / net.perGPUBytesPerSecond(gpusPerNode: 8) * 1e6 + gather
        #expect(relClose(across.stageSendUs(tokens: t)[0], expected, 1e-12))
        #expect(across.stageSendUs(tokens: t)[0] > within.stageSendUs(tokens: t)[0])
        #expect(across.stageSendUs(tokens: 0) == [0])
    }

    @Test func aHandOverCrossesNodesIfAnyDPRankCrosses() throws {
        // TP 2 x PP 3 x DP 2 on nodes of 4: DP rank 0's stages are GPUs 0-1, 2-3, 4-5; DP rank 1's 6-7, 8-9, 10-11. Its
        // stage 0 -> 1 hand-over goes from node 1 to node 2 while DP rank 0's stays in node 0.
        let store = Repo.store
        let gpu = try store.gpu("h100-sxm-80gb")
        let m = try store.model("mixtral-8x7b")
        let plan = ParallelPlan(tp: 2, dp: 2, pp: 3, ep: true)
        let c = try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu), interconnect: try store.defaultInterconnect(gpu: gpu.name, gpus: 4),
                                  routing: try RoutingModel(spec: .uniform, experts: 8, topK: 2, layers: m.moeLayerCount, seed: 0),
                                  placement: .contiguous(experts: 8, gpus: 4, moeLayers: m.moeLayerCount), seed: 0,
                                  topology: ClusterTopology(gpusPerNode: 4, nodes: 3, network: try store.network("ib-ndr-400")))
        #expect(c.stageSendCrossesNodes == [true, true])
    }

    @Test func anExpertGroupStridedOverNodesIsHierarchical() throws {
        // DP 2 x PP 2 x TP 4 on two nodes of 8: a stage's EP group is ranks {0-3, 8-11}: 4 GPUs on each of 2 nodes.
        let c = try cost(ParallelPlan(tp: 4, dp: 2, pp: 2, ep: true), nodes: 2)
        #expect(c.topology.isMultiNode && c.topology.nodes == 2 && c.topology.gpusPerNode == 4)
        // The NIC share stays one NIC per GPU (the node's other GPUs, of the other stage, use theirs).
        #expect(c.topology.nodeGPUs == 8)
        #expect(c.stageSendCrossesNodes == [false])
        // Its all-to-all costs more than the same 8 GPUs inside one node.
        let flat = try cost(ParallelPlan(tp: 4, dp: 2, ep: true), nodes: 1)
        #expect(c.collectiveUs(.allToAll, bytes: 16e6, gpus: 8) > flat.collectiveUs(.allToAll, bytes: 16e6, gpus: 8))
    }

    @Test func stageSharesSplitTheStepAndTheLMHeadGoesLast() throws {
        let c = try cost(ParallelPlan(tp: 1, pp: 4), nodes: 1, model: "deepseek-v2-lite")
        var b = BatchShape()
        for _ in 0..<32 { b.addDecode(context: 512) }
        var rng = Xoshiro256(seed: 1)
        let whole = c.stepCost([b], pick: &rng)
        let stages = c.pipelineStages(whole)
        #expect(stages.count == 4)
        #expect(relClose(stages.reduce(0) { $0 + $1.gpu }, whole.gpu, 1e-9))
        #expect(relClose(stages.reduce(0) { $0 + $1.experts }, whole.experts, 1e-9))
        // DeepSeek-V2-Lite's first layer is dense: stage 0 has one MoE layer fewer than its layers, and more than its
        // layer share of the dense FFN parameters.
        #expect(c.stageMoEShare[0] < c.stageLayerShare[0])
        #expect(c.stageDenseShare[0] > c.stageLayerShare[0] && relClose(c.stageDenseShare.reduce(0, +), 1, 1e-12))
        #expect(stages[0].denseGEMM > stages[1].denseGEMM)
        // The LM head makes the last stage the slowest of equal-sized ones.
        #expect(stages[3].denseGEMM > stages[2].denseGEMM)
    }
}
