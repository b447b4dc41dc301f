import Foundation
import Testing
import SimKit
@testable import Cluster
@testable import Serving

/// Attention kernels of a head dim the measured tables lack (they hold head dim 128): gpt-oss-20b's head dim 64 takes
/// the head-dim-128 rows at its own head counts (64 query, 8 KV heads), not the roofline, and large batches past the
/// grid are carried on along the rows' trend. The reference figures are vLLM 0.24's own decode steps on an H200, timed
/// kernel by kernel with PyTorch's profiler (probe/results/2026-12-04-h200-vllm-g, gptoss20b-kernels/k-*.json): the
/// attention kernels (FlashAttention 3 with sinks, its split-KV combine and scheduler, reshape_and_cache) per layer,
/// averaged over the 12 full and 12 sliding-window layers.
@Suite struct AttentionHeadDimTests {
    @Test func headDim64DecodeAttentionFollowsVLLMsMeasuredSteps() throws {
        let cost = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb").costModel(seed: 0)
        // (decode sequences, mean context during the profiled window, measured us per layer).
        for (n, ctx, measured) in [(1, 568, 16.4), (64, 568, 38.9), (256, 568, 116.3), (1024, 184, 289.8)] {
            var b = BatchShape()
            for _ in 0..<n { b.addDecode(context: ctx) }
            let perLayer = cost.attentionKernelsUs(b) / 24
            #expect(abs(perLayer / measured - 1) < 0.3, "\(n) sequences: \(perLayer) us per layer against \(measured) measured")
        }
        #expect(cost.componentSources["attention kernel"]?.contains(.roofline) != true)
        #expect(cost.assumptions.contains { $0.hasPrefix("head dim 64:") })
    }

    @Test func headDim128ModelsMakeNoHeadDimAssumption() throws {
        let cost = try deployment("qwen3-30b-a3b", gpu: "h200-sxm-141gb").costModel(seed: 0)
        #expect(!cost.assumptions.contains { $0.hasPrefix("head dim") })
    }
}
