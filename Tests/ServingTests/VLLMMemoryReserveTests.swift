import Foundation
import Testing
import Cluster
@testable import Serving

/// What vLLM 0.24 keeps off its KV cache (`Deployment.reserveGB`, `Quantization.vllmResidentExpertBytes`): the
/// profiling run's peak is the forward or the sampler, whichever holds more, by model runner; gpt-oss's MXFP4 experts
/// take the bytes vLLM's Triton backend holds them in.
@Suite struct VLLMMemoryReserveTests {
    /// The shipped vllm profile with round reserve parameters, so that the expectations do not depend on a fit.
    func reserveDeployment(_ model: String, gpu: String = "h200-sxm-141gb", overrides: [String: Double] = [:]) throws -> Deployment {
        var d = try deployment(model, gpu: gpu, overrides: overrides)
        d.engine.params["activation_profile"] = 1
        d.engine.params["activation_reserve_gb"] = 1.5
        d.engine.params["profile_sampler_bytes_per_logit"] = 20
        d.engine.params["v2_runner_reserve_gb"] = 1
        d.engine.params["v2_profile_sampler_bytes_per_logit"] = 8
        return d
    }

    @Test func theSamplerRunSetsTheReserveWhenItsLogitsHoldMoreThanTheForward() throws {
        // gpt-oss-20b (first runner): 8,192 tokens x 115,200 bytes of activations (0.94 GB) against 1,024 requests'
        // logits over 201,088 tokens x 20 bytes (4.12 GB): the sampler's.
        let g = try reserveDeployment("gpt-oss-20b", overrides: ["max_num_batched_tokens": 8192, "max_num_seqs": 1024])
        #expect(!g.model.vllmModelRunnerV2)
        let forward = g.model.activationBytes(tokens: 8192, plan: ParallelPlan(tp: 1)) / 1e9
        let sampler = 1024 * 201_088 * 20 / 1e9
        #expect(sampler > forward)
        #expect(abs(g.reserveGB - (1.5 + sampler)) < 1e-9)
        // Twice the batched tokens does not move it: the forward (1.9 GB) still holds less.
        let g16 = try reserveDeployment("gpt-oss-20b", overrides: ["max_num_batched_tokens": 16384, "max_num_seqs": 1024])
        #expect(abs(g16.reserveGB - g.reserveGB) < 1e-9)
        // Mixtral's forward (221,184 bytes a token, vocabulary 32,000) holds more at 8,192 tokens.
        let x = try reserveDeployment("mixtral-8x7b", overrides: ["max_num_batched_tokens": 8192, "max_num_seqs": 1024])
        #expect(abs(x.reserveGB - (1.5 + x.model.activationBytes(tokens: 8192, plan: ParallelPlan(tp: 1)) / 1e9)) < 1e-9)
        // The sampler's requests are at most the batched tokens (`_dummy_run`: min(num_tokens, max_num_seqs)).
        let few = try reserveDeployment("gpt-oss-20b", overrides: ["max_num_batched_tokens": 512, "max_num_seqs": 1024])
        #expect(abs(few.reserveGB - (1.5 + max(few.model.activationBytes(tokens: 512, plan: ParallelPlan(tp: 1)), 512 * 201_088 * 20) / 1e9)) < 1e-9)
    }

    @Test func theSecondModelRunnersModelsTakeItsOwnReserve() throws {
        // vLLM 0.24 runs Qwen2-MoE, DeepSeek-V2 and Llama with its second model runner, Mixtral, OLMoE, Qwen3-MoE and
        // gpt-oss with the first.
        for (name, v2) in [("qwen1.5-moe-a2.7b", true), ("deepseek-v2-lite", true), ("llama-3.1-8b", true),
                           ("mixtral-8x7b", false), ("olmoe-1b-7b", false), ("qwen3-30b-a3b", false), ("gpt-oss-120b", false)] {
            #expect(try Repo.store.model(name).vllmModelRunnerV2 == v2, "\(name)")
        }
        let q = try reserveDeployment("qwen1.5-moe-a2.7b", overrides: ["max_num_batched_tokens": 8192, "max_num_seqs": 1024])
        let forward = q.model.activationBytes(tokens: 8192, plan: ParallelPlan(tp: 1)), sampler = 1024 * 151_936 * 8.0
        #expect(abs(q.reserveGB - (1 + max(forward, sampler) / 1e9)) < 1e-9)
        // With v2_runner_reserve_gb 0 (a profile without it) every model takes the first runner's rule.
        var q0 = q
        q0.engine.params["v2_runner_reserve_gb"] = 0
        #expect(abs(q0.reserveGB - (1.5 + max(forward, 1024 * 151_936 * 20.0) / 1e9)) < 1e-9)
    }

    @Test func gptOssExpertsTakeTheBytesVLLMsTritonBackendHoldsThemIn() throws {
        // 4-bit values, the checkpoint's E8M0 scales and the swizzled copy, its rows padded to 256 (5,760 -> 5,888 for
        // the gate/up projection, 2,880 -> 3,072 for the down projection).
        let q = try Repo.store.model("gpt-oss-120b").quantization
        let swizzled = (2 * 5888.0 / 5760 + 3072.0 / 2880) / 3
        #expect(abs(q.vllmResidentExpertBytes(hidden: 2880, intermediate: 2880) - (0.5 + (1 + swizzled) / 32)) < 1e-12)
        #expect(Quantization.none.vllmResidentExpertBytes(hidden: 2880, intermediate: 2880) == 2)
        // Under vLLM the expert memory grows by that much; the Transformers engine keeps 0.53125 bytes.
        let d = try reserveDeployment("gpt-oss-120b", gpu: "h100-sxm-80gb")
        let m = d.model
        let vllmPlan = d.memoryPlan()
        #expect(abs(vllmPlan.expertWeightBytes - m.totalExpertParams * q.vllmResidentExpertBytes(hidden: 2880, intermediate: 2880)) < 1)
        let plain = MemoryPlan(model: m, plan: ParallelPlan(tp: 1), gpu: d.gpu, placement: nil, memoryUtilization: 0.9, reserveGB: 2, blockSize: 16)
        #expect(abs(plain.expertWeightBytes - m.totalExpertParams * 0.53125) < 1)
        // vLLM 0.24.0 logged 64.67 GiB for the model on an H100 (2026-12-05); this count is within 1%.
        #expect(abs(vllmPlan.weightBytes / 1_073_741_824 - 64.67) / 64.67 < 0.01)
    }

    @Test func expertParallelismPadsWholeExpertsAndTensorParallelismTheSplitOnes() throws {
        let m = try Repo.store.model("gpt-oss-120b")
        let q = m.quantization
        // TP 2 splits each expert's 2,880-wide intermediate to 1,440, which vLLM rounds up to 1,472 (a multiple of 64):
        // 2.2% more bytes than the whole expert's rows; under EP every GPU holds whole experts.
        let whole = q.vllmResidentExpertBytes(hidden: 2880, intermediate: 2880)
        let split = q.vllmResidentExpertBytes(hidden: 2880, intermediate: 1440)
        #expect(split > whole * 1.02 && split < whole * 1.06)
        #expect(m.vllmExpertBytesPerParam(tensorParallel: 2, expertParallel: true) == whole)
        #expect(m.vllmExpertBytesPerParam(tensorParallel: 2, expertParallel: false) == split)
        let tp = try reserveDeployment("gpt-oss-120b", gpu: "h100-sxm-80gb").memoryPlan()
        var d = try deployment("gpt-oss-120b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 2))
        let tp2 = d.memoryPlan()
        #expect(abs(tp2.expertWeightBytes - m.totalExpertParams / 2 * split) < 1)
        #expect(tp2.expertWeightBytes < tp.expertWeightBytes)
        d = try deployment("gpt-oss-120b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 2, dp: 1, ep: true))
        #expect(abs(d.memoryPlan().expertWeightBytes - m.totalExpertParams / 2 * whole) < 1e3)
    }

    @Test func onlyTheLastPipelineStageKeepsTheSamplersMemory() throws {
        // gpt-oss-20b's sampler (1,024 requests x 201,088 logits) sets its reserve; a first pipeline stage runs the
        // forward alone in vLLM's profiling.
        var d = try reserveDeployment("gpt-oss-20b", overrides: ["max_num_batched_tokens": 8192, "max_num_seqs": 1024])
        d.plan = ParallelPlan(tp: 1, dp: 1, pp: 2, ep: false)
        let stages = d.stageMemoryPlans()
        #expect(stages.count == 2)
        #expect(abs(stages[0].reserveBytes - d.reserveGB(sampler: false) * 1e9) < 1)
        #expect(abs(stages[1].reserveBytes - d.reserveGB * 1e9) < 1)
        #expect(stages[0].reserveBytes < stages[1].reserveBytes - 3e9)
        // The deployment's binding plan is the stage with the fewest blocks.
        #expect(d.memoryPlan().kvBlocks == stages.map(\.kvBlocks).min())
    }

    @Test func speculativeDecodingThatTheSecondRunnerLacksTakesTheFirstRunnersReserve() throws {
        var q = try reserveDeployment("qwen1.5-moe-a2.7b", overrides: ["max_num_batched_tokens": 8192, "max_num_seqs": 1024])
        let v2 = q.reserveGB
        q.vllmRunnerV1Forced = true
        let forward = q.model.activationBytes(tokens: 8192, plan: ParallelPlan(tp: 1))
        #expect(abs(q.reserveGB - (1.5 + max(forward, 1024 * 151_936 * 20.0) / 1e9)) < 1e-9)
        #expect(q.reserveGB != v2)
    }
    @Test func theProfilingForwardsMoECachesHoldEveryDPRanksTokensAndWholeExpertsUnderEP() throws {
        // Mixtral (top-2 of 8 experts, intermediate 14,336, hidden 4,096; no dense MLP): its fused-MoE caches are
        // M x 2 x (3 x 14,336 / shard + 4,096) bf16 values, M the tokens the layer runs on; four hidden buffers a token.
        let m = try Repo.store.model("mixtral-8x7b")
        let t = 8192.0
        func moe(_ tokens: Double, shard: Double) -> Double { 2 * tokens * 2 * (3 * 14336 / shard + 4096) }
        let hidden = 2 * t * 4 * 4096
        #expect(abs(m.activationBytes(tokens: t, plan: ParallelPlan(tp: 1)) - (moe(t, shard: 1) + hidden)) < 1)
        // TP 2 splits each expert; TP 2 with EP keeps them whole (vLLM's MoE tensor parallelism is 1 under EP).
        #expect(abs(m.activationBytes(tokens: t, plan: ParallelPlan(tp: 2)) - (moe(t, shard: 2) + hidden)) < 1)
        #expect(abs(m.activationBytes(tokens: t, plan: ParallelPlan(tp: 2, ep: true)) - (moe(t, shard: 1) + hidden)) < 1)
        // DP 2 gathers both ranks' tokens into every MoE layer: without EP each GPU holds half of every expert, with EP
        // whole experts; the hidden buffers stay the rank's own.
        #expect(abs(m.activationBytes(tokens: t, plan: ParallelPlan(tp: 1, dp: 2)) - (moe(2 * t, shard: 2) + hidden)) < 1)
        #expect(abs(m.activationBytes(tokens: t, plan: ParallelPlan(tp: 1, dp: 2, ep: true)) - (moe(2 * t, shard: 1) + hidden)) < 1)
        // The reserve, and so the KV cache, follow: DP 2 + EP keeps the most off the KV cache, 1.5 GB more than one GPU.
        var one = try reserveDeployment("mixtral-8x7b", overrides: ["max_num_batched_tokens": 8192, "max_num_seqs": 1024])
        let single = one.reserveGB
        one.plan = ParallelPlan(tp: 1, dp: 2, ep: true)
        #expect(abs(one.reserveGB - single - moe(t, shard: 1) / 1e9) < 1e-9)
        #expect(one.reserveGB - single > 1.5)
    }
}
