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
        // Without the GPU's power state (`PowerState`), whose slowdown follows the GPU's duty cycle and so the host's
        // speed too: the GPU's work is then exactly the same at every host speed.
        d.gpu.sustainedMatmulRatio = nil; d.gpu.powerTimeConstantS = nil
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

/// A profile that prices operations (`eager_op_host_us`) charges a step without CUDA graphs per operation its layers
/// run (ModelArchitecture.hostOps), so at one host speed an architecture with more operations per layer pays more per
/// layer: Qwen1.5-MoE (23, a gated shared expert) more than OLMoE (17), which pays more than Mixtral (15), as the
/// shipped vllm profile does (the costs are set here so that the test does not follow its fit).
@Suite struct EagerHostOpsTests {
    @Test func eagerHostTimeFollowsTheArchitecturesOperations() throws {
        var perOp: [Double] = []
        var perLayer: [String: Double] = [:]
        for name in ["mixtral-8x7b", "olmoe-1b-7b", "qwen1.5-moe-a2.7b", "deepseek-v2-lite"] {
            var d = try deployment(name, gpu: "h200-sxm-141gb")
            d.engine.params["eager_op_host_us"] = 96.4
            d.engine.params["eager_moe_host_us"] = 0  // every operation at one cost (the fused MoE's too)
            let clock = VLLMSimulator.makeClock(d, maxSeqs: 1024, budget: 8192)
            perOp.append(clock.eagerHostUs / Double(d.model.hostOps))
            perLayer[name] = clock.eagerHostUs / Double(d.model.layers)
        }
        #expect(perOp.allSatisfy { abs($0 - perOp[0]) < 1e-9 * perOp[0] && $0 > 0 })
        #expect(perLayer["qwen1.5-moe-a2.7b"]! > perLayer["olmoe-1b-7b"]! && perLayer["olmoe-1b-7b"]! > perLayer["mixtral-8x7b"]!)
        // --enforce-eager prices its operations with its own cost; a profile without a per-operation cost falls back
        // to its per-layer one.
        var eager = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb")
        eager.engine.params["eager_op_host_us"] = 96.4
        eager.engine.params["enforce_eager_op_host_us"] = 69.8
        eager.engine.params["enforce_eager"] = 1
        #expect(abs(VLLMSimulator.eagerHostUs(eager) - Double(eager.model.hostOps) * eager.param("enforce_eager_op_host_us")) < 1e-6)
        var perLayerProfile = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb")
        perLayerProfile.engine.params["eager_op_host_us"] = 0
        perLayerProfile.engine.params["eager_layer_host_us"] = 100
        #expect(abs(VLLMSimulator.eagerHostUs(perLayerProfile) - 16 * 100) < 1e-9)
    }

    /// Where the profile prices a fused-MoE layer whole (eager_moe_host_us), a step without CUDA graphs costs a fixed
    /// part, each operation outside the fused MoE, and each MoE layer: a dense model pays no MoE layer, OLMoE 16, and
    /// --enforce-eager keeps its per-operation count.
    @Test func fusedMoELayersArePricedWhole() throws {
        func host(_ name: String, enforce: Bool = false) throws -> (Double, ModelArchitecture) {
            var d = try deployment(name, gpu: "h200-sxm-141gb")
            d.engine.params["eager_op_host_us"] = 40
            d.engine.params["eager_moe_host_us"] = 1000
            d.engine.params["eager_step_host_us"] = 5000
            d.engine.params["enforce_eager_op_host_us"] = 70
            d.engine.params["enforce_eager"] = enforce ? 1 : 0
            d.engine.params["host_speed_reference_s"] = 0
            return (VLLMSimulator.eagerHostUs(d), d.model)
        }
        let (olmoe, om) = try host("olmoe-1b-7b")
        #expect(om.moeLayers == 16 && om.hostOpsOutsideMoE == 16 * 9)
        #expect(abs(olmoe - (5000 + 16 * 9 * 40 + 16 * 1000)) < 1e-9)
        let (llama, lm) = try host("llama-3.1-8b")
        #expect(lm.moeLayers == 0 && lm.hostOpsOutsideMoE == lm.hostOps)
        #expect(abs(llama - (5000 + Double(lm.hostOps) * 40)) < 1e-9)
        // DeepSeek-V2-Lite's dense first layer has no fused MoE.
        let (_, ds) = try host("deepseek-v2-lite")
        #expect(ds.moeLayers == ds.layers - 1 && ds.fusedMoEOps(layer: 0) == 0 && ds.fusedMoEOps(layer: 1) == 13)
        let (eager, em) = try host("olmoe-1b-7b", enforce: true)
        #expect(abs(eager - Double(em.hostOps) * 70) < 1e-9)
    }

    /// vLLM 0.24 runs shared experts inside the fused MoE's custom op (SharedFusedMoE): with eager_shared_moe_host_us,
    /// such a layer is priced whole with them (its shared experts' operations leave the per-operation count), and
    /// DeepSeek-V2's compiled grouped top-k adds eager_grouped_topk_host_us to each MoE layer. A model without shared
    /// experts or grouped top-k pays neither; with both parameters 0 the pricing is the plain fused MoE's.
    @Test func sharedExpertLayersArePricedWithTheirSharedExperts() throws {
        func host(_ name: String, shared: Double, topk: Double) throws -> (VLLMSimulator.EagerHost, ModelArchitecture) {
            var d = try deployment(name, gpu: "h200-sxm-141gb")
            d.engine.params["eager_op_host_us"] = 40
            d.engine.params["eager_moe_host_us"] = 1000
            d.engine.params["eager_step_host_us"] = 5000
            d.engine.params["eager_shared_moe_host_us"] = shared
            d.engine.params["eager_grouped_topk_host_us"] = topk
            d.engine.params["host_speed_reference_s"] = 0
            return (VLLMSimulator.eagerHost(d), d.model)
        }
        // Qwen1.5-MoE: 24 MoE layers, each with a gated shared expert (7 operations) inside the custom op.
        let (q, qm) = try host("qwen1.5-moe-a2.7b", shared: 1500, topk: 300)
        #expect(qm.sharedMoELayers == 24 && qm.sharedExpertHostOps(layer: 0) == 7 && !qm.torchGroupedTopK)
        #expect(q.moeLayers == 0 && q.sharedMoELayers == 24 && q.groupedTopKLayers == 0)
        #expect(q.operations == qm.hostOpsOutsideMoE - 24 * 7)
        #expect(abs(q.totalUs - (5000 + Double(qm.hostOpsOutsideMoE - 24 * 7) * 40 + 24 * 1500)) < 1e-9)
        // DeepSeek-V2-Lite: 26 MoE layers with two ungated shared experts (4 operations), routed by the grouped top-k;
        // its dense first layer has neither.
        let (ds, dm) = try host("deepseek-v2-lite", shared: 1500, topk: 300)
        #expect(dm.sharedMoELayers == 26 && dm.sharedExpertHostOps(layer: 0) == 0 && dm.sharedExpertHostOps(layer: 1) == 4)
        #expect(abs(ds.totalUs - (5000 + Double(dm.hostOpsOutsideMoE - 26 * 4) * 40 + 26 * 1500 + 26 * 300)) < 1e-9)
        // OLMoE has neither: the new parameters leave it as it was.
        let (o, _) = try host("olmoe-1b-7b", shared: 1500, topk: 300), (o0, _) = try host("olmoe-1b-7b", shared: 0, topk: 0)
        #expect(o.totalUs == o0.totalUs && o.sharedMoELayers == 0 && o.groupedTopKLayers == 0)
        // Both 0: the shared experts' operations are priced one at a time again, beside the plain fused-MoE price.
        let (q0, _) = try host("qwen1.5-moe-a2.7b", shared: 0, topk: 0)
        #expect(q0.sharedMoELayers == 0 && q0.moeLayers == 24 && q0.operations == qm.hostOpsOutsideMoE)
    }
}

/// vLLM 0.24's MLA layer runs prompt tokens and decode tokens through two attention paths (forward_mha, forward_mqa),
/// so a DeepSeek step with prompt chunks pays more host operations outside full graphs than `hostOps` counts (one a
/// layer), and one with decodes beside them four; a GQA model's attention is one call whatever the step holds.
@Suite struct MLAAttentionPathTests {
    @Test func mixedMLAStepsPayTheSecondPathOnTheHost() throws {
        var d = try deployment("deepseek-v2-lite", gpu: "h200-sxm-141gb")
        d.engine.params["eager_op_host_us"] = 50
        d.engine.params["host_speed_reference_s"] = 0
        let m = d.model
        #expect(m.extraAttentionHostOps(decodes: true, prompts: false) == 0)
        #expect(m.extraAttentionHostOps(decodes: false, prompts: true) == m.layers)
        #expect(m.extraAttentionHostOps(decodes: true, prompts: true) == 4 * m.layers)
        let olmoe = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb").model
        #expect(olmoe.extraAttentionHostOps(decodes: true, prompts: true) == 0)

        func batch(decodes: Int, prompt: Int) -> BatchShape {
            var b = BatchShape()
            for _ in 0..<decodes { b.addDecode(context: 600) }
            if prompt > 0 { b.addPrefill(chunk: prompt, prefix: 0, samples: true) }
            return b
        }
        // Replayed alone (piecewise graphs: 62 decodes and a 388-token chunk; without graphs past the capture size),
        // the mixed step's host time is the prompt-only step's plus three operations a layer, the decode-only step
        // (one full graph) pays none of it.
        let steps = try VLLMSimulator.replaySteps([batch(decodes: 62, prompt: 388), batch(decodes: 0, prompt: 450),
                                                   batch(decodes: 62, prompt: 2000), batch(decodes: 0, prompt: 2062),
                                                   batch(decodes: 62, prompt: 0)], deployment: d, seed: 0)
        #expect(steps.map(\.mode) == ["PIECEWISE", "PIECEWISE", "NONE", "NONE", "FULL"])
        let perSeq = d.hostParam("per_seq_overhead_us")
        // The two steps of a pair differ in sequences (63 against 1) and nothing else on the host.
        let seqs = 62 * perSeq
        #expect(abs(steps[0].hostUs - steps[1].hostUs - seqs - 3 * 50 * Double(m.layers)) < 1e-6)
        #expect(abs(steps[2].hostUs - steps[3].hostUs - seqs - 3 * 50 * Double(m.layers)) < 1e-6)
        // With the profile's per-operation cost at zero (a profile that prices layers), nothing is added.
        var perLayer = d
        perLayer.engine.params["eager_op_host_us"] = 0
        perLayer.engine.params["eager_layer_host_us"] = 100
        let p = try VLLMSimulator.replaySteps([batch(decodes: 62, prompt: 388), batch(decodes: 0, prompt: 450)], deployment: perLayer, seed: 0)
        #expect(abs(p[0].hostUs - p[1].hostUs - seqs) < 1e-6)
    }
}
