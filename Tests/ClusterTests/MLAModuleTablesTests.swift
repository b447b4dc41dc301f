import Foundation
import Testing
import SimKit
@testable import Cluster

/// MLA models (DeepSeek-V3/R1, Kimi-K2) take each layer's whole attention block from AIConfigurator's measured vLLM MLA
/// module rows where the GPU's tables have them (H100, H200); GQA models are unaffected.
/// A shipped kernel table (`profiles/kernels/<name>.json`) parsed without the given top-level keys, each of which it
/// must have: the MLA suites' way to price a step as a GPU without those measurements would.
func kernelTables(_ name: String, without keys: [String]) throws -> VLLMKernelTables {
    try kernelTables(name, label: "without-\(keys.joined(separator: "-"))") { doc in
        for k in keys { #expect(doc.removeValue(forKey: k) != nil, "\(name) has no \(k)") }
    }
}

/// A GPU's kernel table (profiles/kernels/`name`.json) with its top-level JSON object changed by `edit` before parsing.
func kernelTables(_ name: String, label: String, edit: (inout [String: Any]) throws -> Void) throws -> VLLMKernelTables {
    let file = Repo.root + "/profiles/kernels/\(name).json"
    var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
    try edit(&doc)
    return try VLLMKernelTables(json: JSONNode.parse(data: try JSONSerialization.data(withJSONObject: doc), file: "\(name)-\(label).json"))
}

/// The step cost model of an MLA model on one GPU kind at TP `tp` (uniform routing, seed 3), with the model's heads,
/// KV-cache element size or quantization changed where given; `tables` replaces the GPU's measured tables. Shared by
/// the MLA suites.
func mlaStepCost(_ model: String, gpu gpuName: String = "h200-sxm-141gb", tp: Int, heads: Int? = nil, kvCacheBytes: Double? = nil,
                 quantization: Quantization? = nil, tables: VLLMKernelTables? = nil) throws -> StepCostModel {
    let store = Repo.store
    var m = try store.model(model)
    if let q = quantization { m.quantization = q }
    if let kv = kvCacheBytes { m.kvCacheBytes = kv }
    if let h = heads { m.heads = h }
    let gpu = try store.gpu(gpuName)
    let plan = ParallelPlan(tp: tp, dp: 1, ep: false)
    let moe = try #require(m.moe)
    let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 3)
    return try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu, tables: tables ?? gpu.vllmKernels),
                             interconnect: try store.defaultInterconnect(gpu: gpu.name, gpus: plan.gpuCount),
                             routing: routing, placement: nil, seed: 3)
}

func mlaDecode(_ n: Int, kvLen: Int) -> BatchShape {
    var b = BatchShape()
    for _ in 0..<n { b.addDecode(context: kvLen - 1) }
    return b
}

@Suite struct MLAModuleTablesTests {
    func cost(_ model: String, gpu: String = "h200-sxm-141gb", tp: Int = 8, kvCacheBytes: Double? = nil, quantization: Quantization? = nil,
              tables: VLLMKernelTables? = nil) throws -> StepCostModel {
        try mlaStepCost(model, gpu: gpu, tp: tp, kvCacheBytes: kvCacheBytes, quantization: quantization, tables: tables)
    }

    func decode(_ n: Int, kvLen: Int) -> BatchShape { mlaDecode(n, kvLen: kvLen) }

    func row(_ rows: [(batch: Int, length: Int, us: Double)]?, _ batch: Int, _ length: Int) throws -> Double {
        try #require(rows?.first { $0.batch == batch && $0.length == length }).us
    }

    @Test func hopperTablesCarryTheMLAModuleRows() throws {
        for g in ["h100-sxm-80gb", "h200-sxm-141gb"] {
            let t = try #require(try Repo.store.gpu(g).vllmKernels?.mla)
            #expect(t.model == "deepseek-ai/DeepSeek-V3")
            #expect(t.dims == .init(hidden: 7168, qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128))
            // 2 KV dtypes x 2 projection dtypes x 8 head counts (1 ... 128), both phases.
            #expect(t.generationRows.count == 32 && t.contextRows.count == 32)
            #expect(Set(t.generationRows.keys.map(\.heads)) == [1, 2, 4, 8, 16, 32, 64, 128])
            // Interpolating one length step out (points 2x apart or closer) stays within a few percent on average.
            for c in t.neighbourCheck() { #expect(c.points > 3000 && c.meanAbsPct < 6) }
        }
        #expect(try Repo.store.gpu("a100-sxm4-80gb").vllmKernels?.mla == nil)
    }

    @Test func deepSeekDecodeOnH200TP8ReproducesTheMeasuredRow() throws {
        let c = try cost("deepseek-v3")
        let sel = try #require(c.mlaModule)
        // DeepSeek-V3 ships fp8 with 128x128 blocks: the fp8_block rows; bf16 KV cache; 128 heads / TP 8.
        #expect(sel.key == .init(kvCache: "bfloat16", gemm: "fp8_block", heads: 16) && sel.modelHeads == 16)
        let rows = sel.tables.generationRows[sel.key]
        for (n, len) in [(4, 256), (1, 1024), (64, 4096)] {
            let us = try #require(c.mlaModuleUs(decode(n, kvLen: len)))
            #expect(us == (try row(rows, n, len)))
        }
        // The step's attention is the module per layer, nothing added (no projection GEMMs, no roofline kernel).
        var pick = Xoshiro256(seed: 1, stream: 1)
        let b = decode(4, kvLen: 256)
        let step = c.stepCost([b], pick: &pick)
        #expect(step.attention == Double(c.model.layers) * (try row(rows, 4, 256)))
        let src = Dictionary(uniqueKeysWithValues: c.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["MLA attention module"] == [.measured])
        #expect(src["attention projections"] == nil && src["attention kernel"] == nil)
        #expect(c.assumptions.contains { $0.contains("MLA attention") && $0.contains("module table") })
    }

    @Test func betweenMeasuredPointsItInterpolatesMonotonically() throws {
        let c = try cost("deepseek-r1")
        let sel = try #require(c.mlaModule)
        let rows = sel.tables.generationRows[sel.key]
        let lo = try row(rows, 4, 1024), hi = try row(rows, 4, 2048)
        #expect(lo < hi)
        var last = lo
        for len in stride(from: 1088, to: 2048, by: 64) {
            let us = try #require(c.mlaModuleUs(decode(4, kvLen: len)))
            #expect(us >= last && us <= hi)
            last = us
        }
        // In batch size too: between 4 and 8 sequences at a measured length.
        let b4 = try row(rows, 4, 1024), b8 = try row(rows, 8, 1024)
        #expect(b4 < b8)
        last = b4
        for n in 5...7 {
            let us = try #require(c.mlaModuleUs(decode(n, kvLen: 1024)))
            #expect(us >= last && us <= b8)
            last = us
        }
        #expect(c.componentSources["MLA attention module"] == [.interpolated])
    }

    @Test func prefillTakesTheContextRowsAndMixedStepsShareTheProjections() throws {
        let c = try cost("deepseek-r1")
        let sel = try #require(c.mlaModule)
        var p = BatchShape()
        p.addPrefill(chunk: 1024, prefix: 0, samples: true)
        let prefill = try #require(c.mlaModuleUs(p))
        #expect(prefill == (try row(sel.tables.contextRows[sel.key], 1, 1024)))
        // Decode and prefill in one step: both rows, with the projections run once for all tokens (not twice).
        var mixed = decode(4, kvLen: 256)
        mixed.addPrefill(chunk: 1024, prefix: 0, samples: true)
        let d = try #require(c.mlaModuleUs(decode(4, kvLen: 256)))
        let m = try #require(c.mlaModuleUs(mixed))
        #expect(m > prefill && m < prefill + d)
        // A chunk after a prefix costs more than the same chunk alone and less than the whole prompt's row.
        var chunk = BatchShape()
        chunk.addPrefill(chunk: 1024, prefix: 3072, samples: true)
        let ch = try #require(c.mlaModuleUs(chunk))
        let whole = try row(sel.tables.contextRows[sel.key], 1, 4096)
        #expect(ch > prefill && ch < whole)
        // Outside the measured grid (more decode sequences than measured): the granular model.
        #expect(c.mlaModuleUs(decode(2048, kvLen: 1024)) == nil)
    }

    @Test(.fullTests) func dtypesAndHeadsSelectTheirRows() throws {
        // bf16 weights: the bfloat16 rows; an fp8 KV cache: the fp8-KV rows (measured, so no roofline KV ratio).
        let bf16 = try cost("deepseek-v3", quantization: Quantization.none)
        #expect(bf16.mlaModule?.key == .init(kvCache: "bfloat16", gemm: "bfloat16", heads: 16))
        let fp8kv = try cost("deepseek-v3", kvCacheBytes: 1)
        #expect(fp8kv.mlaModule?.key == .init(kvCache: "fp8", gemm: "fp8_block", heads: 16))
        #expect(!fp8kv.assumptions.contains { $0.hasPrefix("fp8 KV cache") })
        // Kimi-K2: the same MLA shape with 64 heads: 8 per GPU at TP 8; TP 4 on H100 -> 16.
        #expect(try cost("kimi-k2").mlaModule?.key.heads == 8)
        #expect(try cost("deepseek-v3", gpu: "h100-sxm-80gb", tp: 4).mlaModule?.key.heads == 32)
        // Per-tensor fp8 (not the measured block-scaled kernels), a different MLA shape, or A100 (no rows): granular.
        #expect(try cost("deepseek-v3", quantization: .fp8(block: nil)).mlaModule == nil)
        // DeepSeek-V2-Lite (V3's attention shape, other projections): V3's rows with re-priced projections
        // (MLAReprojectedModuleTests); under per-tensor fp8 the granular model.
        #expect(try cost("deepseek-v2-lite", tp: 1).mlaModule?.reprojected == true)
        #expect(try cost("deepseek-v2-lite", tp: 1, quantization: .fp8(block: nil)).mlaModule == nil)
        #expect(try cost("deepseek-v3", gpu: "a100-sxm4-80gb", quantization: Quantization.none).mlaModule == nil)
    }

    @Test(.fullTests) func gqaModelsAreUnchanged() throws {
        // The same tables without the `mla` key: GQA step costs identical to the last bit, MLA ones not.
        let without = try kernelTables("h200-sxm-vllm-0.24.0", without: ["mla"])
        #expect(without.mla == nil)
        var mixed = decode(8, kvLen: 700)
        mixed.addPrefill(chunk: 512, prefix: 1000, samples: true)
        for (model, tp) in [("qwen3-235b-a22b", 8), ("mixtral-8x7b", 2), ("gpt-oss-120b", 1)] {
            let a = try cost(model, tp: tp), b = try cost(model, tp: tp, tables: without)
            #expect(a.mlaModule == nil)
            for batch in [decode(4, kvLen: 256), mixed] {
                var p1 = Xoshiro256(seed: 9, stream: 2), p2 = Xoshiro256(seed: 9, stream: 2)
                #expect(a.stepCost([batch], pick: &p1) == b.stepCost([batch], pick: &p2))
            }
            #expect(a.assumptions == b.assumptions)
        }
        let a = try cost("deepseek-r1"), b = try cost("deepseek-r1", tables: without)
        var p1 = Xoshiro256(seed: 9, stream: 2), p2 = Xoshiro256(seed: 9, stream: 2)
        #expect(a.stepCost([decode(4, kvLen: 256)], pick: &p1).attention != b.stepCost([decode(4, kvLen: 256)], pick: &p2).attention)
    }
}
