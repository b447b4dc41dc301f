import Foundation
import Testing
import SimKit
@testable import Cluster
@testable import Serving

/// The sampler's GPU work (vLLM 0.24's passes over the logits outside the CUDA graph): the `vllm` profile's
/// `sampler_bytes_per_logit`, read off vLLM's own decode steps on an H200 (probe/results/2026-12-04-h200-vllm-g,
/// PyTorch profiler): 3,206 us a step for 1,024 rows of gpt-oss-20b's 201,088-token vocabulary, 2,436 us for 1,024
/// rows of Qwen3-30B-A3B's 151,936.
@Suite struct SamplerCostTests {
    func samplerUs(_ model: String, rows: Int, engine: String = "vllm") throws -> Double {
        let d = try deployment(model, gpu: "h200-sxm-141gb", engine: engine)
        let cost = try d.costModel(seed: 0)
        let m = d.model
        // The LM head with the sampler, less the LM head's GEMM alone.
        return cost.lmHeadUs(rows: rows).compute - cost.gemm("dense GEMMs", m: rows, n: m.vocab, k: m.hidden)
    }

    @Test func samplerFollowsTheRowsAndTheVocabulary() throws {
        #expect(abs(try samplerUs("gpt-oss-20b", rows: 1024) / 3206 - 1) < 0.05)
        #expect(abs(try samplerUs("qwen3-30b-a3b", rows: 1024) / 2436 - 1) < 0.05)
        // In proportion to the rows that sample.
        #expect(abs(try samplerUs("qwen3-30b-a3b", rows: 256) * 4 / (try samplerUs("qwen3-30b-a3b", rows: 1024)) - 1) < 1e-9)
    }

    @Test func profilesWithoutTheParameterPriceNoSampler() throws {
        #expect(try samplerUs("qwen3-30b-a3b", rows: 1024, engine: "vllm-a100-hegde2025") == 0)
    }
}
