import Foundation
import Testing
import SimKit
import Cluster
@testable import Serving

/// Pipeline parallelism (`--pipeline-parallel-size`): vLLM's layer split, per-stage memory, the batch queue's
/// overlap and the rule that a sequence's next token waits for its last.
@Suite struct PipelineTests {
    @Test func layersSplitAsVLLMDoes() {
        // vLLM's get_pp_indices: L / PP each, the remainder one each to the stages before the last.
        #expect(ParallelPlan.stageLayerCounts(layers: 32, stages: 2) == [16, 16])
        #expect(ParallelPlan.stageLayerCounts(layers: 61, stages: 2) == [31, 30])
        #expect(ParallelPlan.stageLayerCounts(layers: 61, stages: 4) == [15, 15, 16, 15])
        #expect(ParallelPlan.stageLayerCounts(layers: 10, stages: 4) == [2, 3, 3, 2])
        #expect(ParallelPlan.stageLayerCounts(layers: 7, stages: 1) == [7])
        let plan = ParallelPlan(tp: 2, pp: 3)
        #expect(plan.stageLayerRanges(layers: 7) == [0..<2, 2..<5, 5..<7])
        #expect(plan.gpuCount == 6 && plan.stageGPUs == 2)
        // vLLM's rank order (DP, PP, TP).
        #expect(ParallelPlan(tp: 4, dp: 2, pp: 2).rank(dp: 1, stage: 1, tp: 3) == 15)
        #expect(plan.vllmFlags == "--tensor-parallel-size 2 --pipeline-parallel-size 3")
    }

    @Test func eachStageHoldsItsLayersWeightsAndKV() throws {
        let one = try deployment("mixtral-8x7b", gpu: "h100-sxm-80gb").memoryPlan()
        let d2 = try deployment("mixtral-8x7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2))
        let two = d2.memoryPlan()
        // Mixtral's 32 layers split 16/16: each stage holds half the layers' weights and half the KV per token.
        #expect(abs(two.expertWeightBytes - one.expertWeightBytes / 2) < 1)
        #expect(abs(two.attentionWeightBytes - one.attentionWeightBytes / 2) < 1)
        #expect(abs(two.kvBytesPerToken - one.kvBytesPerToken / 2) < 1e-9)
        // Untied embeddings: the input table on stage 0, the LM head on stage 1: each stage holds one of the two.
        #expect(abs(two.embeddingWeightBytes - one.embeddingWeightBytes / 2) / one.embeddingWeightBytes < 1e-3)
        // Mixtral does not fit one 80 GB GPU; two stages do.
        #expect(one.kvBlocks == 0 && two.kvBlocks > 0)
    }

    /// One request at a time: its tokens pass every stage in turn, so each inter-token gap is the one-GPU step's
    /// plus the stage hand-over (the stages' GPU times add up to the whole model's). vLLM 0.24 runs a pipeline with a
    /// batch queue of PP batches and no async scheduling, so the one-GPU engine it is compared with has it off too.
    @Test func aLoneRequestPaysTheHandOverAndNothingElse() throws {
        let w = try randomWorkload(input: 128, output: 32, prompts: 3, concurrency: 1)
        let d1 = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", overrides: ["async_scheduling": 0])
        let d2 = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2), overrides: ["async_scheduling": 0])
        let a = try VLLMSimulator(deployment: d1, workload: w, seed: 1).run()
        let b = try VLLMSimulator(deployment: d2, workload: w, seed: 1).run()
        checkInvariants(b, w)
        let send = try d2.costModel(seed: 1).stageSendUs(tokens: 1)
        #expect(send.count == 1 && send[0] > 0)
        #expect(abs((b.tpotMs.mean - a.tpotMs.mean) - send[0] / 1e3) < 1e-6, "TPOT \(a.tpotMs.mean) -> \(b.tpotMs.mean) ms, hand-over \(send[0]) us")
        #expect(a.steps == b.steps)
    }

    /// All sequences decode in one batch: the next batch needs their tokens, so only one batch is ever in flight
    /// and the pipeline cannot overlap (vLLM's PP decode weakness, vllm-project/vllm#15330).
    @Test func oneBatchOfDecodesCannotFillThePipeline() throws {
        let w = Workload(requests: (0..<16).map { _ in Request(arrival: .seconds(0), inputTokens: 32, outputTokens: 64) }, maxConcurrency: nil, description: "burst")
        let d2 = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2))
        var sim = VLLMSimulator(deployment: d2, workload: w, seed: 0)
        sim.recordTimeline = true
        let r = try sim.run()
        checkInvariants(r, w)
        let steps = try #require(r.timeline?.steps)
        // No two batches overlap on any stage: each starts after the previous one left the last stage.
        for (x, y) in zip(steps, steps.dropFirst()) {
            let xEnd = x.stages!.last!.startUs + x.stages!.last!.us
            #expect(y.stages![0].startUs >= xEnd)
        }
        #expect(r.steps == 64)
    }

    /// Long prompts: chunks that sample nothing follow each other into the pipeline, so two stages prefill about
    /// twice as fast as one GPU running every layer.
    @Test func promptChunksFillThePipeline() throws {
        let w = Workload(requests: (0..<32).map { _ in Request(arrival: .seconds(0), inputTokens: 4000, outputTokens: 1) }, maxConcurrency: nil, description: "prefill")
        let d1 = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb")
        let d2 = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2))
        let a = try VLLMSimulator(deployment: d1, workload: w, seed: 0).run()
        var sim = VLLMSimulator(deployment: d2, workload: w, seed: 0)
        sim.recordTimeline = true
        let b = try sim.run()
        checkInvariants(b, w)
        #expect(b.durationS < 0.7 * a.durationS, "PP2 \(b.durationS) s vs one GPU \(a.durationS) s")
        // Never more than PP batches in flight: each batch starts stage 0 before the one two launches back ends.
        let steps = try #require(b.timeline?.steps)
        var overlapped = 0
        for (x, y) in zip(steps, steps.dropFirst()) where y.stages![0].startUs < x.stages!.last!.startUs + x.stages!.last!.us { overlapped += 1 }
        #expect(overlapped > steps.count / 2)
        for i in 2..<steps.count {
            let old = steps[i - 2].stages!.last!
            #expect(steps[i].startUs >= old.startUs + old.us - 1e-6)
        }
    }

    @Test func preemptionPrefixCachingAndDPWithPipelinesKeepTheInvariants() throws {
        let w = try randomWorkload(input: 900, output: 200, ratio: 0.5, prompts: 120, rate: 40, seed: 3)
        // A KV cache small enough to preempt.
        let small = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2), overrides: ["gpu_memory_utilization": 0.12, "activation_profile": 0, "activation_reserve_gb": 2])
        let r = try VLLMSimulator(deployment: small, workload: w, seed: 3).run()
        checkInvariants(r, w)
        #expect(r.preemptions > 0)
        var pc = VLLMSimulator(deployment: try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2)),
                               workload: try Workload.random(inputLen: 600, outputLen: 20, rangeRatio: 0, numPrompts: 60, requestRate: 30, burstiness: 1,
                                                             maxConcurrency: nil, seed: 1, prefixLen: 512), seed: 1)
        pc.prefixCaching = true
        let p = try pc.run()
        #expect(p.prefixCache!.hitRate > 0.3) // 512 shared of about 1,100 prompt tokens
        let ep = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, dp: 2, pp: 2, ep: true))
        let e1 = try VLLMSimulator(deployment: ep, workload: w, seed: 5).run(), e2 = try VLLMSimulator(deployment: ep, workload: w, seed: 5).run()
        checkInvariants(e1, w)
        #expect(e1.gpus == 4)
        #expect(e1.ttftMs.mean == e2.ttftMs.mean && e1.tpotMs.p99 == e2.tpotMs.p99 && e1.steps == e2.steps)
    }

    @Test func speculativeDecodingAndHFRefusePipelines() throws {
        let d2 = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2))
        var sim = VLLMSimulator(deployment: d2, workload: try randomWorkload(input: 64, output: 8, prompts: 2), seed: 0)
        sim.speculative = try SpeculativeConfig(json: "{\"method\":\"ngram\",\"num_speculative_tokens\":2,\"acceptance_rate\":0.5}")
        #expect(inputError { _ = try sim.run() }?.description.contains("pipeline") == true)
        let hf = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 1, pp: 2), engine: "hf")
        #expect(inputError {
            _ = try HFSimulator(deployment: hf, batchSize: 1, inputLen: 16, outputLen: 4, diffusion: nil, cfg: false, expertsImpl: .batched_mm, expertReuse: 0, seed: 0)
        }?.description.contains("no pipeline parallelism") == true)
        #expect(inputError { try ParallelPlan(tp: 1, pp: 17).validate(for: try Repo.store.model("olmoe-1b-7b")) } != nil)
    }

    /// Replicas step on the cluster's event queue: a pipelined replica waiting for its oldest batch with a free slot
    /// takes a request that arrives meanwhile, exactly as the engine alone does.
    @Test func aDrivenPipelineTakesRequestsWhileABatchIsInFlight() throws {
        let d = try deployment("mixtral-8x7b", plan: ParallelPlan(tp: 2, pp: 2))
        func req(_ t: Double, _ i: Int, _ o: Int) -> Request { Request(arrival: .seconds(t), inputTokens: i, outputTokens: o) }
        // The short request arrives 5 ms in, while the long prompt's chunks are in the pipeline.
        let w = Workload(requests: [req(0, 2048, 50), req(0.005, 16, 10)], maxConcurrency: nil, description: "two")
        let alone = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        let driven = try InstanceSimulator(instances: .init(deployment: d, count: 1), policy: .round_robin, workload: w, seed: 0).run()
        // Equal up to the event queue's whole nanoseconds.
        #expect(abs(driven.ttftMs.max - alone.ttftMs.max) < 1e-3 && abs(driven.ttftMs.min - alone.ttftMs.min) < 1e-3,
                "driven \(driven.ttftMs.min)/\(driven.ttftMs.max) ms, alone \(alone.ttftMs.min)/\(alone.ttftMs.max) ms")
        #expect(driven.completed == 2 && abs(driven.e2elMs.mean - alone.e2elMs.mean) < 1e-3)
    }

    /// Disaggregated: each prefill GPU holds and sends only its stage's layers' KV, the stages in parallel (to decode
    /// instances of the same stages; a decode GPU holding every layer receives them all).
    @Test func prefillStagesSendTheirOwnLayersKV() throws {
        var d = try deployment("olmoe-1b-7b", plan: ParallelPlan(tp: 1, pp: 2))
        var w = try randomWorkload(input: 1000, output: 8, prompts: 4)
        w.maxConcurrency = 1
        func ttft(_ prefill: Deployment, _ gbps: Double) throws -> Double {
            var sim = InstanceSimulator(instances: .init(deployment: d, count: 1), prefill: .init(deployment: prefill, count: 1), policy: .round_robin, workload: w, seed: 0)
            sim.kvLinkGBps = gbps
            return try sim.run().ttftMs.mean
        }
        let p2 = try deployment("olmoe-1b-7b", plan: ParallelPlan(tp: 1, pp: 2))
        let moved = try ttft(p2, 1) - ttft(p2, 1000)
        let bytes = d.model.kvBytesPerToken(tensorParallel: 1) / 2 * 1000
        let expected = (bytes / 1e9 - bytes / 1e12) * 1e3
        #expect(abs(moved - expected) < 1e-5, "TTFT moved \(moved) ms, half the layers' KV takes \(expected) ms")
        d = try deployment("olmoe-1b-7b")
        let all = d.model.kvBytesPerToken(tensorParallel: 1) * 1000
        let movedToOne = try ttft(p2, 1) - ttft(p2, 1000)
        #expect(abs(movedToOne - (all / 1e9 - all / 1e12) * 1e3) < 1e-5, "to one decode GPU holding every layer: \(movedToOne) ms")
    }
}
