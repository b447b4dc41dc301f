import Foundation
import Testing
import SimKit
@testable import Cluster

/// vLLM's Triton fused MoE pads each expert's rows to whole tiles of BLOCK_SIZE_M rows (its tuned configurations,
/// `profiles/kernels/vllm-0.24.0-fused-moe-block-m.json`), so random routing costs more than the balanced routing the
/// kernel tables were measured under wherever the mean load sits on a tile boundary. The reference is vLLM 0.24's own
/// Mixtral-8x7B decode on an H200 under its recorded, near-uniform routing (probe/results/2026-12-04-h200-vllm-g,
/// mixtral-kernels, PyTorch profiler): 1,110 us a layer in the fused MoE at 512 sequences (the balanced table: 798)
/// and 715 at 64 (the table: 673).
@Suite struct FusedMoETilesTests {
    @Test func tilesAreVLLMsTunedConfigurationAtTheNearestTokenCount() throws {
        let bm = try #require(try Repo.store.gpu("h200-sxm-141gb").fusedMoEBlockM)
        // E=8,N=14336 on the H200: 64 -> 32 rows, 512 -> 128 (vLLM's tuned file); 600 is nearest 512.
        #expect(bm.blockM(gpu: "h200-sxm-141gb", experts: 8, width: 14336, tokens: 64) == 32)
        #expect(bm.blockM(gpu: "h200-sxm-141gb", experts: 8, width: 14336, tokens: 512) == 128)
        #expect(bm.blockM(gpu: "h200-sxm-141gb", experts: 8, width: 14336, tokens: 600) == 128)
        // E=128,N=768: 200 lies between 128 (16 rows) and 256 (32): nearer 256.
        #expect(bm.blockM(gpu: "h200-sxm-141gb", experts: 128, width: 768, tokens: 200) == 32)
        // No tuned file for this shape: vLLM's default rule by token count.
        #expect(bm.blockM(gpu: "h200-sxm-141gb", experts: 7, width: 999, tokens: 20) == 16)
        #expect(bm.blockM(gpu: "h200-sxm-141gb", experts: 7, width: 999, tokens: 600) == 128)
        // The A100's tables are vLLM 0.14's: no tiles attached.
        #expect(try Repo.store.gpu("a100-sxm4-80gb").fusedMoEBlockM == nil)
    }

    @Test func randomRoutingSpillsTilesAsVLLMsMixtralDecodeDid() throws {
        let c = try measuredTablesCost("mixtral-8x7b", gpu: "h200-sxm-141gb", tp: 1)
        for (tokens, measured) in [(512, 1110.0), (64, 715.0)] {
            var sum = 0.0
            for _ in 0..<8 { sum += c.sampleMoE(tokens: tokens, detail: nil).expertsUs / 32 }
            let predicted = sum / 8
            #expect(abs(predicted / measured - 1) < 0.15, "\(tokens) tokens: \(predicted) us a layer against \(measured) measured")
        }
    }
}
