import Foundation
import Testing
import Cluster
@testable import Serving

/// Sliding-window layers (gpt-oss alternates 128-token sliding-window and full attention): vLLM 0.24's hybrid KV cache
/// groups, the KV cache size it logs, the blocks a sequence holds, attention through the window, and the CUDA-graph
/// capture size vLLM sets for gpt-oss.
@Suite struct SlidingWindowTests {
    @Test func gptOssLayerTypesGiveTwoGroupsOfTwelve() throws {
        let m = try Repo.store.model("gpt-oss-20b")
        #expect(m.slidingWindow == 128 && m.slidingLayers == 12)
        let g = try #require(m.kvCacheGroups)
        #expect(g.size == 12 && g.full == 1 && g.sliding == 1)
        // The pool gives up only the full-attention group's bytes per token of context: half of every layer's.
        #expect(m.kvPoolBytesPerToken(tensorParallel: 1) * 2 == m.kvBytesPerToken(tensorParallel: 1))
        // A model whose layers all attend alike keeps one group.
        let olmoe = try Repo.store.model("olmoe-1b-7b")
        #expect(olmoe.kvCacheGroups == nil && olmoe.kvPoolBytesPerToken(tensorParallel: 1) == olmoe.kvBytesPerToken(tensorParallel: 1))
    }

    /// vLLM's grouping rule: groups of the smaller kind's count, or of the larger's when it is under 1.5 times the smaller.
    @Test(arguments: [(full: 8, sliding: 40, size: 8, fullGroups: 1, slidingGroups: 5),
                      (full: 13, sliding: 12, size: 13, fullGroups: 1, slidingGroups: 1),
                      (full: 10, sliding: 20, size: 10, fullGroups: 1, slidingGroups: 2)])
    func groupsFollowVLLMsRule(_ c: (full: Int, sliding: Int, size: Int, fullGroups: Int, slidingGroups: Int)) throws {
        var m = try Repo.store.model("gpt-oss-20b")
        m.layers = c.full + c.sliding; m.slidingLayers = c.sliding
        let g = try #require(m.kvCacheGroups)
        #expect(g.size == c.size && g.full == c.fullGroups && g.sliding == c.slidingGroups)
    }

    @Test func layerTypesMustMatchTheLayersAndNameAWindow() throws {
        func parse(_ json: String) throws -> ModelArchitecture {
            try ModelArchitecture(hfConfig: try JSONNode.parse(data: Data(json.utf8), file: "config.json"), name: "x")
        }
        let base = #""model_type": "gpt_oss", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 100, "num_local_experts": 4, "num_experts_per_tok": 2, "intermediate_size": 64"#
        let ok = try parse("{\(base), \"sliding_window\": 32, \"layer_types\": [\"sliding_attention\", \"full_attention\"]}")
        #expect(ok.slidingWindow == 32 && ok.slidingLayers == 1)
        let e1 = try #require(inputError { _ = try parse("{\(base), \"sliding_window\": 32, \"layer_types\": [\"sliding_attention\"]}") })
        #expect(e1.description.contains("layer_types") && e1.description.contains("num_hidden_layers is 2"))
        let e2 = try #require(inputError { _ = try parse("{\(base), \"layer_types\": [\"sliding_attention\", \"full_attention\"]}") })
        #expect(e2.description.contains("sliding_window"))
    }

    /// The figure vLLM logs ("GPU KV cache size") is max-model-len requests at peak, each also holding its sliding
    /// group's window plus one batch: for gpt-oss-20b on an H200 (vLLM 0.24.0, 2026-12-04) 303,963 blocks gave 4,318,811
    /// tokens offline (16,384 batched tokens) and 4,574,402 served (8,192).
    @Test func reportedCapacityIsVLLMsFormula() throws {
        var d = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb", overrides: ["max_num_batched_tokens": 16384])
        var mem = d.memoryPlan()
        // The pool as vLLM sized it: 303,963 blocks of 16 tokens x 12 layers x 2,048 bytes.
        let blockBytes = mem.kvBytesPerToken * Double(mem.blockSize)
        mem.reserveBytes = mem.budgetBytes - mem.weightBytes - 303_963.5 * blockBytes
        #expect(mem.kvBlocks == 303_963)
        #expect(VLLMSimulator.reportedKVCacheTokens(d, mem: mem) == 4_318_811)
        d.overrides["max_num_batched_tokens"] = 8192
        // The served engine's own pool held 304,xxx blocks; at the same pool the 8,192-token budget gives 4,571,xxx.
        let served = VLLMSimulator.reportedKVCacheTokens(d, mem: mem)
        #expect(abs(Double(served) / 4_574_402 - 1) < 0.002, "\(served)")
        // Without sliding-window layers the figure is the pool's tokens.
        let o = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb")
        #expect(VLLMSimulator.reportedKVCacheTokens(o, mem: o.memoryPlan()) == o.memoryPlan().kvTokens)
    }

    @Test func slidingLayersAttendThroughTheirWindow() throws {
        let d = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb")
        let cost = try d.costModel(seed: 0)
        var long = BatchShape()
        for _ in 0..<64 { long.addDecode(context: 4096) }
        var short = BatchShape()
        for _ in 0..<64 { short.addDecode(context: 127) }
        // Long contexts: half the layers read 128 tokens, so the step reads far less than 24 full layers would.
        let all = 24 * cost.attentionKernelUs(long)
        #expect(cost.attentionKernelsUs(long) < 0.6 * all)
        #expect(abs(cost.attentionKernelsUs(long) - 12 * cost.attentionKernelUs(long) - 12 * cost.attentionKernelUs(long.windowed(128))) < 1e-9)
        // Within the window nothing changes.
        #expect(short.windowed(128) == short)
        var prompt = BatchShape()
        prompt.addPrefill(chunk: 2048, prefix: 0, samples: true)
        #expect(prompt.windowed(128).prefillPairs == 2048 * 128)
    }

    @Test func gptOssCapturesGraphsUpTo1024Tokens() throws {
        let d = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb")
        #expect(VLLMSimulator.makeClock(d, maxSeqs: 256, budget: 8192).graphMax == 1024)
        #expect(VLLMSimulator.makeClock(d, maxSeqs: 256, budget: 768).graphMax == 768)
        // Other models keep min(2 x max_num_seqs, 512); a capture size the run sets wins for both.
        let o = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb")
        #expect(VLLMSimulator.makeClock(o, maxSeqs: 1024, budget: 8192).graphMax == 512)
        let capped = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb", overrides: ["cuda_graph_max_tokens": 8])
        #expect(VLLMSimulator.makeClock(capped, maxSeqs: 1024, budget: 8192).graphMax == 8)
        // The bound is the largest capture size within it (1, 2, 4, then multiples of 8 to 256 and of 16 beyond).
        let odd = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb", overrides: ["cuda_graph_max_tokens": 100])
        #expect(VLLMSimulator.makeClock(odd, maxSeqs: 1024, budget: 8192).graphMax == 96)
        #expect(VLLMSimulator.makeClock(o, maxSeqs: 150, budget: 8192).graphMax == 288)
        #expect(VLLMSimulator.makeClock(o, maxSeqs: 3, budget: 8192).graphMax == 4)
    }

    /// A sequence holds its window's blocks in the sliding group beside its full-attention blocks (vLLM frees those
    /// the window has left): 9 blocks of 16 tokens cover any 128-token window.
    @Test func sequencesHoldTheirWindowsBlocks() throws {
        let w = try randomWorkload(input: 1024, output: 32, prompts: 4)
        let sw = try VLLMSimulator.Core(VLLMSimulator(deployment: try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb"), workload: w, seed: 0), driven: false)
        #expect(sw.blocksFor(1) == 2 && sw.blocksFor(16) == 2 && sw.blocksFor(100) == 7 + 7)
        #expect(sw.blocksFor(1056) == 66 + 9 && sw.blocksFor(100_000) == 6250 + 9)
        // While a prompt chunk is computed the sliding group holds the window before it and the whole chunk
        // (vLLM's SlidingWindowSpec: window - 1 + new tokens, a block more), and gives the chunk's blocks back after.
        #expect(sw.blocksFor(2048, new: 2048) == 128 + 128)
        #expect(sw.blocksFor(4096, new: 2048) == 256 + 137 && sw.blocksFor(4097) == 257 + 9)
        // 127 tokens before a 2-token chunk span 129 tokens: 9 blocks, and one more where the window starts in a block.
        #expect(sw.blocksFor(1000, new: 2) == 63 + 10 && sw.blocksFor(1000, new: 1) == 63 + 9)
        let plain = try VLLMSimulator.Core(VLLMSimulator(deployment: try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb"), workload: w, seed: 0), driven: false)
        #expect(plain.blocksFor(1056) == 66)
        // A run through the hybrid accounting completes every request.
        let d = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb")
        let r = try VLLMSimulator(deployment: d, workload: try randomWorkload(input: 1024, output: 32, prompts: 64), seed: 0).run()
        #expect(r.completed == 64 && r.preemptions == 0)
    }
}
