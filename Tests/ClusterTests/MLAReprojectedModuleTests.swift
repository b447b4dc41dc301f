import Foundation
import Testing
import SimKit
@testable import Cluster

/// DeepSeek-V2-Lite has DeepSeek-V3's MLA attention shape (kv_lora 512, nope/rope/v 128/64/128) with other projections
/// (hidden 2048, no q_lora). With 16 heads on one GPU it runs the same MLA kernel as V3 at TP 8, so its attention block
/// is V3's measured module row at 16 heads per GPU, with the projection GEMMs re-priced (V3's out, Lite's in); where the
/// rows do not apply, the granular model (GEMM table + roofline kernel).
@Suite struct MLAReprojectedModuleTests {
    func cost(_ model: String = "deepseek-v2-lite", gpu: String = "h200-sxm-141gb", tp: Int = 1, heads: Int? = nil,
              quantization: Quantization? = nil, tables: VLLMKernelTables? = nil) throws -> StepCostModel {
        try mlaStepCost(model, gpu: gpu, tp: tp, heads: heads, quantization: quantization, tables: tables)
    }

    func decode(_ n: Int, kvLen: Int) -> BatchShape { mlaDecode(n, kvLen: kvLen) }

    func row(_ rows: [(batch: Int, length: Int, us: Double)]?, _ batch: Int, _ length: Int) throws -> Double {
        try #require(rows?.first { $0.batch == batch && $0.length == length }).us
    }

    /// On the H100's tables without their MLA decode kernel (measured there, which prices the decode rows' remainder
    /// with it: CompiledStepPartsTests).
    @Test func liteDecodeIsTheV3RowAtSixteenHeadsWithItsOwnProjections() throws {
        let tables = try kernelTables("h100-sxm-vllm-0.24.0", without: ["mla_decode_kernel"])
        let c = try cost(gpu: "h100-sxm-80gb", tables: tables)
        let sel = try #require(c.mlaModule)
        #expect(sel.reprojected && sel.key == .init(kvCache: "bfloat16", gemm: "bfloat16", heads: 16) && sel.modelHeads == 16)
        #expect(sel.tables.model == "deepseek-ai/DeepSeek-V3")
        let rows = sel.tables.generationRows[sel.key]
        for (n, len) in [(1, 1024), (16, 512), (64, 2048), (256, 1024)] {
            let us = try #require(c.mlaModuleUs(decode(n, kvLen: len)))
            let v3 = c.mlaModuleGEMMUs(tokens: n, hidden: 7168, qLora: 1536)
            let lite = c.mlaModuleGEMMUs(tokens: n, hidden: 2048, qLora: nil)
            #expect(abs(us - ((try row(rows, n, len)) - v3 + lite)) < 1e-9)
            // Lite's own projections are its granular ones (q_proj, kv_a, kv_b, o_proj), cheaper than V3's.
            #expect(abs(lite - c.attentionGEMMUs(tokens: n)) < 1e-9 && lite < v3)
            // The measured block is more than its projections: the MLA kernel etc. are now priced from the row,
            // above the granular model's roofline kernel.
            #expect(us > lite + c.attentionKernelUs(decode(n, kvLen: len)))
        }
        // A whole step prices attention from the module only (no granular projections or kernel): a fresh model,
        // since the checks above called the granular pieces themselves.
        let f = try cost(gpu: "h100-sxm-80gb", tables: tables)
        var pick = Xoshiro256(seed: 1, stream: 1)
        let b = decode(16, kvLen: 512)
        let step = f.stepCost([b], pick: &pick)
        #expect(step.attention == Double(f.model.layers) * (try #require(f.mlaModuleUs(b))))
        let src = Dictionary(uniqueKeysWithValues: f.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["MLA attention module"] == [.measured])
        #expect(src["MLA module projections re-priced"] != nil)
        #expect(src["attention projections"] == nil && src["attention kernel"] == nil)
        #expect(f.assumptions.contains { $0.contains("re-priced") && $0.contains("DeepSeek-V3") })
        #expect(!f.assumptions.contains { $0.contains("module table does not apply") })
    }

    @Test func prefillAndMixedStepsSwapTheProjectionsPerRow() throws {
        let c = try cost()
        let sel = try #require(c.mlaModule)
        var p = BatchShape()
        p.addPrefill(chunk: 1024, prefix: 0, samples: true)
        let prefill = try #require(c.mlaModuleUs(p))
        let expected = (try row(sel.tables.contextRows[sel.key], 1, 1024)) - c.mlaModuleGEMMUs(tokens: 1024, hidden: 7168, qLora: 1536)
            + c.mlaModuleGEMMUs(tokens: 1024, hidden: 2048, qLora: nil)
        #expect(abs(prefill - expected) < 1e-9)
        // Decode and prefill in one step: both rows' remainders, Lite's projections once for all tokens.
        var mixed = decode(4, kvLen: 256)
        mixed.addPrefill(chunk: 1024, prefix: 0, samples: true)
        let d = try #require(c.mlaModuleUs(decode(4, kvLen: 256)))
        let m = try #require(c.mlaModuleUs(mixed))
        #expect(m > prefill && m < prefill + d)
        #expect(m >= c.mlaModuleGEMMUs(tokens: mixed.tokens, hidden: 2048, qLora: nil))
    }

    @Test func headsPerGPUFollowTensorParallelism() throws {
        // 16 heads / TP 2 = 8 per GPU: V3's 8-head rows (V3 at TP 16); a head count never measured: granular.
        #expect(try cost(tp: 2).mlaModule?.key.heads == 8)
        #expect(try cost(heads: 12).mlaModule == nil)
    }

    @Test func fallsBackToTheGranularModelWhereTheRowsDoNotApply() throws {
        let c = try cost()
        // Outside the measured grid (more decode sequences than measured).
        #expect(c.mlaModuleUs(decode(2048, kvLen: 1024)) == nil)
        var pick = Xoshiro256(seed: 1, stream: 1)
        let big = decode(2048, kvLen: 1024)
        let step = c.stepCost([big], pick: &pick)
        #expect(step.attention == Double(c.model.layers) * c.attentionKernelUs(big) + c.attentionProjectionsUs(tokens: big.tokens))
        // fp8_block projections: no re-pricing (the rows' fp8 GEMMs have no measured counterpart to subtract).
        let t = try #require(try Repo.store.gpu("h200-sxm-141gb").vllmKernels?.mla)
        let lite = try Repo.store.model("deepseek-v2-lite")
        #expect(t.selectReprojected(hidden: lite.hidden, attention: lite.attention, headsPerGPU: 16, gemm: "fp8_block", kvCache: "bfloat16") == nil)
        #expect(t.selectReprojected(hidden: lite.hidden, attention: lite.attention, headsPerGPU: 16, gemm: "bfloat16", kvCache: "fp8") != nil)
        // DeepSeek-V3's own shape takes `select`, never the re-priced path.
        let v3 = try Repo.store.model("deepseek-v3")
        #expect(t.selectReprojected(hidden: v3.hidden, attention: v3.attention, headsPerGPU: 16, gemm: "bfloat16", kvCache: "bfloat16") == nil)
        // Tables without the MLA rows, or a GPU without them (A100): the granular model, and the assumption says so.
        let without = try kernelTables("h200-sxm-vllm-0.24.0", without: ["mla"])
        let g = try cost(tables: without)
        #expect(g.mlaModule == nil && g.mlaModuleUs(decode(4, kvLen: 256)) == nil)
        #expect(try cost(gpu: "a100-sxm4-80gb").mlaModule == nil)
        #expect(try cost(quantization: .fp8(block: nil)).mlaModule == nil)
    }

    @Test func deterministic() throws {
        let a = try cost(), b = try cost()
        for batch in [decode(1, kvLen: 640), decode(64, kvLen: 700)] {
            var p1 = Xoshiro256(seed: 9, stream: 2), p2 = Xoshiro256(seed: 9, stream: 2)
            #expect(a.stepCost([batch], pick: &p1) == b.stepCost([batch], pick: &p2))
        }
    }
}
