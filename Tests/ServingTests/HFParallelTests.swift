import Foundation
import Testing
import Cluster
@testable import Serving

/// Transformers' TP/EP plans on several GPUs (HFParallelLayout) and the HF engine's use of them.
@Suite struct HFParallelTests {
    func layout(_ model: String, tp: Int, ep: Bool) throws -> (HFParallelLayout, ModelArchitecture) {
        let m = try Repo.store.model(model)
        return (try HFParallelLayout(family: m.family, plan: ParallelPlan(tp: tp, dp: 1, ep: ep, backend: nil)), m)
    }

    func sim(_ model: String, tp: Int, ep: Bool = false, batch: Int = 8, impl: HFSimulator.ExpertsImpl = .grouped_mm) throws -> HFSimulator {
        let d = try deployment(model, gpu: "h200-sxm-141gb", plan: ParallelPlan(tp: tp, dp: 1, ep: ep, backend: nil), engine: "hf")
        return try HFSimulator(deployment: d, batchSize: batch, inputLen: 128, outputLen: 16, diffusion: nil, cfg: false,
                               expertsImpl: impl, expertReuse: 0, seed: 0)
    }

    @Test func familiesFollowTransformersPlans() throws {
        // OLMoE's TP plan gathers q, k and v (three all-gathers) and all-reduces after o_proj and after the experts.
        let (olmoe, om) = try layout("olmoe-1b-7b", tp: 2, ep: false)
        #expect(olmoe.attention == .gatheredOutputs && olmoe.experts == .shardedWidth && olmoe.lmHeadSharded)
        let oc = olmoe.collectives(model: om, layer: 0, tokens: 10)
        #expect(oc.filter { $0.0 == .allGather }.count == 3 && oc.filter { $0.0 == .allReduce }.count == 2)
        #expect(olmoe.redistributes(model: om, layer: 0) == 4)
        // The q gather moves each rank's half of [tokens, heads x head_dim].
        #expect(oc[0].1 == Double(10 * om.heads * om.headDim) * om.bytesPerParam / 2)
        // Qwen2-MoE's plan names no experts: they are replicated, and only attention all-reduces.
        let (qwen, qm) = try layout("qwen1.5-moe-a2.7b", tp: 2, ep: false)
        #expect(qwen.experts == .replicated && qwen.attention == .localColwiseRowwise)
        #expect(qwen.collectives(model: qm, layer: 0, tokens: 10).map(\.0) == [.allReduce])
        // The EP plan names only router and experts: attention and LM head are replicated, one all-reduce a layer.
        let (ep, em) = try layout("mixtral-8x7b", tp: 2, ep: true)
        #expect(ep.attention == .replicated && ep.experts == .shardedExperts && !ep.lmHeadSharded)
        #expect(ep.collectives(model: em, layer: 0, tokens: 10).map(\.0) == [.allReduce])
        // One GPU: nothing is sharded and nothing is exchanged.
        let (one, m1) = try layout("olmoe-1b-7b", tp: 1, ep: false)
        #expect(one.collectives(model: m1, layer: 0, tokens: 10).isEmpty && one.hooks(model: m1, layer: 0) == 0)
    }

    @Test func predictionsMoveWithTheGPUCount() throws {
        let one = try sim("olmoe-1b-7b", tp: 1).run()
        let tp = try sim("olmoe-1b-7b", tp: 2).run()
        let ep = try sim("olmoe-1b-7b", tp: 2, ep: true).run()
        // OLMoE's TP pays its DTensor gathers on the host at every layer: slower than one GPU, and slower than EP.
        #expect(tp.durationS > one.durationS * 1.2)
        #expect(ep.durationS < tp.durationS)
        #expect(tp.breakdownUs.communication > 0 && one.breakdownUs.communication == 0)
        #expect(tp.notes.contains { $0.contains("DistributedConfig(tp_size=2)") })
        #expect(ep.notes.contains { $0.contains("enable_expert_parallel=True") })
    }

    @Test func eagerUnderExpertParallelIsRefused() throws {
        let e = inputError { _ = try sim("mixtral-8x7b", tp: 2, ep: true, impl: .eager) }
        #expect(e?.message.contains("eager") == true)
        let dp = inputError {
            _ = try HFParallelLayout(family: "mixtral", plan: ParallelPlan(tp: 1, dp: 2, ep: false, backend: nil))
        }
        #expect(dp?.message.contains("--data-parallel-size") == true)
    }

    @Test func lladaMoERunsTheReleasedLoopOverEveryExpert() throws {
        let store = Repo.store
        let m = try store.model("llada-moe-7b"), e = try store.engine("hf")
        #expect(HFSimulator.defaultExpertsImpl(model: m, engine: e) == "loop_all")
        #expect(HFSimulator.defaultExpertsImpl(model: try store.model("olmoe-1b-7b"), engine: e) == e.defaultExpertsImpl)
        // The loop costs every expert's fitted cost in every MoE layer, whether hit or not.
        let d = try deployment("llada-moe-7b", gpu: "h200-sxm-141gb", engine: "hf")
        let s = try DiffusionSchedule(steps: 1, genLength: 32, blockLength: 32)
        let f = try HFSimulator(deployment: d, batchSize: 1, inputLen: 32, outputLen: 1, diffusion: s, cfg: false,
                                expertsImpl: .loop_all, expertReuse: 0, seed: 0).explainForward()
        let moe = try #require(m.moe)
        let floor = Double(m.moeLayerCount * moe.experts) * d.param("remote_loop_expert_us")
        #expect(d.param("remote_loop_expert_us") > 0)
        #expect(f.step.overhead >= floor * 0.999)
    }

    /// Weights per GPU under Transformers' plans against the peak memory rank 0 recorded at batch 1 on 2x H200
    /// (probe/results/2026-11-29-h200x2/hf): the weights are nearly all of it, so they must sit just below it.
    @Test(.fullTests) func weightsPerGPUFollowThePlanAsMeasured() throws {
        let dir = Repo.root + "/probe/results/2026-11-29-h200x2/hf/"
        for (frag, model, ep) in [("frag-1-olmoe-1b-7b-tp-grouped_mm-128x64.json", "olmoe-1b-7b", false),
                                  ("frag-2-olmoe-1b-7b-ep-grouped_mm-128x64.json", "olmoe-1b-7b", true),
                                  ("frag-1-qwen1.5-moe-a2.7b-tp-grouped_mm-128x64.json", "qwen1.5-moe-a2.7b", false),
                                  ("frag-2-qwen1.5-moe-a2.7b-ep-grouped_mm-128x64.json", "qwen1.5-moe-a2.7b", true),
                                  ("frag-3-mixtral-8x7b-tp-grouped_mm-128x64.json", "mixtral-8x7b", false),
                                  ("frag-2-mixtral-8x7b-ep-grouped_mm-128x64.json", "mixtral-8x7b", true)] {
            let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + frag))) as! [String: Any]
            let runs = j["runs"] as! [[String: Any]]
            let peak = (runs.min { ($0["batch_size"] as! Int) < ($1["batch_size"] as! Int) }!["peak_memory_gb_rank0"] as! Double) * 1e9
            let s = try sim(model, tp: 2, ep: ep)
            let w = s.layout.memoryPlan(s.deployment).weightBytes
            #expect(w < peak && w > 0.97 * peak, "\(frag): weights \(w / 1e9) GB, measured peak \(peak / 1e9) GB")
        }
        // vLLM's sharding would halve Qwen's replicated experts: the HF plan must not.
        let q = try sim("qwen1.5-moe-a2.7b", tp: 2)
        #expect(q.layout.memoryPlan(q.deployment).expertWeightBytes == q.deployment.model.totalExpertParams * 2)
    }
}
