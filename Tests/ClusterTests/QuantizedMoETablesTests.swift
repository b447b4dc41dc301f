import Foundation
import Testing
@testable import Cluster

/// The measured quantized fused-MoE tables besides fp8_block (H100/H200, vLLM 0.24.0, from aiconfigurator-core 0.12.0):
/// MXFP4 (gpt-oss) and int4 weight-only experts come from them at a measured shape and TP/EP degree; per-tensor fp8,
/// other shapes and other formats stay the labelled roofline-ratio estimate; bf16 is untouched.
@Suite struct QuantizedMoETablesTests {
    func cost(_ model: String, gpu gpuName: String, tp: Int = 8, ep: Bool = false, quantization: Quantization? = nil) throws -> StepCostModel {
        try measuredTablesCost(model, gpu: gpuName, tp: tp, ep: ep, quantization: quantization)
    }

    func sources(_ c: StepCostModel) -> [String: [KernelSource]] {
        Dictionary(uniqueKeysWithValues: c.sourceSummary().map { ($0.component, $0.sources) })
    }

    /// The measured time of a table's balanced-routing curve at `tokens` (a measured count).
    func measuredBalanced(_ t: VLLMKernelTables, _ s: MoEShape, tp: Int, ep: Int, tokens: Int) throws -> Double {
        let curves = try #require(t.moe[VLLMKernelTables.MoEKey(shape: s, tp: tp, ep: ep)])
        let c = try #require(curves.first { $0.distribution == "balanced" }).curve
        return c.values[try #require(c.tokens.firstIndex(of: Double(tokens)))]
    }

    static let gptOss = MoEShape(hidden: 2880, inter: 2880, topK: 4, experts: 128)
    static let kimi = MoEShape(hidden: 7168, inter: 2048, topK: 8, experts: 384)

    @Test func hopperTablesCarryTheQuantizedMoETablesWithProvenance() throws {
        for g in ["h100-sxm-80gb", "h200-sxm-141gb"] {
            let t = try #require(try Repo.store.gpu(g).vllmKernels)
            #expect(Set(t.quantizedMoE.keys) == Set(VLLMKernelTables.quantizedMoEKeys))
            #expect(t.quantization == nil && t.fp8Block === t.quantizedMoE["fp8_block"])
            for (key, f) in t.quantizedMoE {
                #expect(f.name == t.name + "-" + key && f.quantization == key)
                #expect(f.provenance.hasPrefix("aiconfigurator-core 0.12.0"))
                #expect(f.quantizedMoE.isEmpty)
            }
            // MXFP4: gpt-oss-120b's and gpt-oss-20b's shapes only (the OAI Triton rows; the Marlin rows are not imported).
            let mx = try #require(t.quantizedMoE["w4a16_mxfp4"])
            #expect(mx.moeShapes == [MoEShape(hidden: 2880, inter: 2880, topK: 4, experts: 32), Self.gptOss])
            #expect(mx.hasMeasured(shape: Self.gptOss, tp: 1, ep: 1) && mx.hasMeasured(shape: Self.gptOss, tp: 8, ep: 1)
                    && mx.hasMeasured(shape: Self.gptOss, tp: 1, ep: 8))
            #expect(try #require(t.quantizedMoE["int4_wo"]).moeShapes == [Self.kimi])
            #expect(try #require(t.quantizedMoE["fp8"]).moeShapes.count == 15)
        }
        #expect(try Repo.store.gpu("a100-sxm4-80gb").vllmKernels?.quantizedMoE.isEmpty == true)
    }

    @Test func quantizationNamesItsMeasuredTable() throws {
        #expect(Quantization.mxfp4.moeTable == "w4a16_mxfp4")
        #expect(Quantization.fp8(block: (128, 128)).moeTable == "fp8_block")
        #expect(Quantization.fp8(block: nil).moeTable == nil)
        #expect(Quantization.intN("awq", bits: 4, group: 128, hidden: 7168).moeTable == "int4_wo")
        #expect(Quantization.intN("gptq", bits: 8, group: 128, hidden: 7168).moeTable == nil)
        func ct(_ s: String) throws -> Quantization? {
            try Quantization.read(config: JSONNode.parse(data: Data((#"{"quantization_config": "# + s + "}").utf8), file: "config.json"), hidden: 7168)
        }
        #expect(try ct(#"{"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "int"}, "input_activations": null}}}"#)?.moeTable == "int4_wo")
        #expect(try ct(#"{"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "float"}, "input_activations": {"num_bits": 8, "type": "float"}}}}"#)?.moeTable == nil)
        #expect(try ct(#"{"quant_method": "gptq", "bits": 4, "group_size": 128}"#)?.moeTable == "int4_wo")
    }

    @Test func gptOssOnH100TakesItsExpertsFromTheMXFP4Table() throws {
        let c = try cost("gpt-oss-120b", gpu: "h100-sxm-80gb", tp: 1)
        let f = try #require(c.expertTables)
        #expect(f.name == "h100-sxm-vllm-0.24.0-w4a16_mxfp4" && c.fp8Tables == nil)
        // 64 tokens at TP 1 is a measured point: the context carries the measured time exactly.
        let ctx = try #require(c.moeContext(tokens: 64))
        #expect(ctx.source == .measured && ctx.model == f.shapeModel && ctx.anchors.count == 3)
        let balanced = try #require(ctx.anchors.first { $0.distribution == "balanced" })
        let measured = try measuredBalanced(f, Self.gptOss, tp: 1, ep: 1, tokens: 64)
        #expect(measured == 689.1)
        let atAnchor = balanced.ratio * ctx.model.us(hidden: 2880, interLocal: 2880, hits: balanced.hits, pairs: balanced.pairs)
        #expect(relClose(atAnchor, measured, 1e-9))
        _ = c.moeSamples(tokens: 64)
        #expect(sources(c)["experts"] == [.measured])
        // Between measured counts: interpolated.
        #expect(c.moeContext(tokens: 100)?.source == .interpolated)
        _ = c.moeSamples(tokens: 100)
        #expect(sources(c)["experts"] == [.measured, .interpolated])
        let label = try #require(c.kernelTablesLabel)
        #expect(label.hasPrefix("aiconfigurator-core 0.12.0, h100-sxm-vllm-0.24.0") && label.hasSuffix("; MXFP4 experts: h100-sxm-vllm-0.24.0-w4a16_mxfp4"), "\(label)")
        #expect(c.assumptions.contains { $0.contains("experts from the measured MXFP4 fused-MoE table") && !$0.contains("an estimate") })

        // The sampled expert time (uniform routing, 64 tokens x top-4 over 128 experts) lies near the measured balanced
        // time, well above what the bf16 table x the weight-only roofline ratio gave.
        let perLayer = c.moeSamples(tokens: 64).map(\.expertsUs).reduce(0, +) / Double(c.moeSamples(tokens: 64).count) / 36
        #expect(relClose(perLayer, measured, 0.3))
    }

    @Test func gptOssOnH200AtTP2AndEPUsesTheMeasuredDegree() throws {
        for (tp, ep) in [(2, false), (4, true)] {
            let c = try cost("gpt-oss-120b", gpu: "h200-sxm-141gb", tp: tp, ep: ep)
            #expect(c.expertTables?.name == "h200-sxm-vllm-0.24.0-w4a16_mxfp4")
            #expect(c.moeContext(tokens: 256)?.source == .measured)
        }
    }

    @Test func int4WeightOnlyTakesItsExpertsFromTheMarlinTable() throws {
        for q in [Quantization.intN("awq", bits: 4, group: 32, hidden: 7168), .intN("gptq", bits: 4, group: 128, hidden: 7168)] {
            let c = try cost("kimi-k2", gpu: "h200-sxm-141gb", tp: 8, quantization: q)
            let f = try #require(c.expertTables)
            #expect(f.name == "h200-sxm-vllm-0.24.0-int4_wo")
            let ctx = try #require(c.moeContext(tokens: 64))
            #expect(ctx.source == .measured)
            let balanced = try #require(ctx.anchors.first { $0.distribution == "balanced" })
            let measured = try measuredBalanced(f, Self.kimi, tp: 8, ep: 1, tokens: 64)
            #expect(relClose(balanced.ratio * ctx.model.us(hidden: 7168, interLocal: 256, hits: balanced.hits, pairs: balanced.pairs), measured, 1e-9))
            _ = c.moeSamples(tokens: 64)
            #expect(sources(c)["experts"] == [.measured])
            #expect(c.kernelTablesLabel?.hasSuffix("int4 weight-only experts: h200-sxm-vllm-0.24.0-int4_wo") == true)
        }
    }

    @Test func unmeasuredShapesDegreesAndFormatsStayTheLabelledEstimate() throws {
        let cases: [(String, String, Int, Quantization?)] = [
            ("qwen3-30b-a3b", "h100-sxm-80gb", 1, .mxfp4),                                          // MXFP4 at an unmeasured shape
            ("qwen3-30b-a3b", "h100-sxm-80gb", 1, .intN("awq", bits: 4, group: 128, hidden: 2048)), // int4 at an unmeasured shape
            ("kimi-k2", "h200-sxm-141gb", 8, .intN("gptq", bits: 8, group: 128, hidden: 7168)),     // int8: no table
            ("qwen3-235b-a22b", "h200-sxm-141gb", 8, .fp8(block: nil)),                             // per-tensor fp8: not used
            ("gpt-oss-120b", "a100-sxm4-80gb", 1, nil),                                             // A100: no MXFP4 table
        ]
        for (model, gpu, tp, q) in cases {
            let c = try cost(model, gpu: gpu, tp: tp, quantization: q)
            #expect(c.expertTables == nil)
            _ = c.moeSamples(tokens: 64)
            #expect(sources(c)["experts"] == [.estimate])
            #expect(c.assumptions.contains { $0.contains("an estimate") })
        }
    }

    @Test func bf16ModelsAreUnaffected() throws {
        for (model, gpu, tp) in [("gpt-oss-120b", "h100-sxm-80gb", 1), ("kimi-k2", "h200-sxm-141gb", 8)] {
            let c = try cost(model, gpu: gpu, tp: tp, quantization: Quantization.none)
            #expect(c.expertTables == nil)
            #expect(c.kernelTablesLabel == c.kernels.tables?.provenance)
            #expect(c.moeContext(tokens: 64)?.model == c.kernels.tables!.shapeModel)
            _ = c.moeSamples(tokens: 64)
            #expect(!c.sourceSummary().contains { $0.sources.contains(.estimate) })
        }
    }

    /// OpenAI's `matmul_ogs` (the MXFP4 fused MoE vLLM runs for gpt-oss on Hopper) computes each expert's rows in whole
    /// tiles of min(max(next power of two of pairs / experts, 16), 128) rows.
    @Test func matmulOGSTilesAsTritonKernelsSizesThem() {
        #expect(VLLMKernelTables.matmulOGSBlockM(tokens: 1, topK: 4, experts: 32) == 16)
        #expect(VLLMKernelTables.matmulOGSBlockM(tokens: 256, topK: 4, experts: 32) == 32)
        #expect(VLLMKernelTables.matmulOGSBlockM(tokens: 1024, topK: 4, experts: 128) == 32)
        #expect(VLLMKernelTables.matmulOGSBlockM(tokens: 16384, topK: 4, experts: 32) == 128)
        #expect(VLLMKernelTables.balancedTiles(hits: 128, pairs: 4096, rows: 32) == 128)
        #expect(VLLMKernelTables.balancedTiles(hits: 128, pairs: 4097, rows: 32) == 129)
        #expect(VLLMKernelTables.balancedTiles(hits: 4, pairs: 400, rows: 16) == 28)
    }

    /// Under uniform routing moesim's MXFP4 expert time follows what the kernel took under random router logits on an
    /// H200 (probe/results/2026-12-04-h200-mxfp4/mxfp4-random.json), 1.4-1.5x the tables' balanced rows where a
    /// balanced load exactly fills one tile per expert, and no more than the balanced rows where tiles are not the
    /// limit; nothing is fitted to those rows.
    @Test func mxfp4ExpertsFollowTheRandomRoutingRows() throws {
        let url = URL(fileURLWithPath: Repo.root + "/probe/results/2026-12-04-h200-mxfp4/mxfp4-random.json")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let rows = try #require(j["moe"] as? [[String: Any]])
        for (model, experts) in [("gpt-oss-20b", 32), ("gpt-oss-120b", 128)] {
            let row = try #require(rows.first { ($0["experts"] as? Int) == experts })
            let tokens = try #require(row["tokens"] as? [Int]), us = try #require(row["us"] as? [Double])
            let c = try cost(model, gpu: "h200-sxm-141gb", tp: 1)
            let layers = Double(try Repo.store.model(model).moeLayerCount)
            for n in [128, 256, 512, 1024, 2048, 4096] {
                var sum = 0.0
                for _ in 0..<4 { sum += c.sampleMoE(tokens: n, detail: nil).expertsUs / layers }
                let predicted = sum / 4 - c.kernels.expertFixedUs * Double(min(experts, n * 4))
                let measured = us[try #require(tokens.firstIndex(of: n))]
                #expect(abs(predicted / measured - 1) < 0.15, "\(model) at \(n) tokens: \(predicted) us against \(measured) measured")
            }
        }
    }
}
