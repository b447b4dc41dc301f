import Foundation
import Testing
@testable import Cluster

/// Issue 15 item 1: fp8 (block-scaled) models take their experts from the measured fp8 fused-MoE tables where the
/// GPU has them (H100, H200); bf16 models and GPUs without them are unaffected.
@Suite struct FP8KernelTablesTests {
    func cost(_ model: String, gpu gpuName: String, tp: Int = 8, ep: Bool = false, quantization: Quantization? = nil) throws -> StepCostModel {
        try measuredTablesCost(model, gpu: gpuName, tp: tp, ep: ep, quantization: quantization)
    }

    @Test func hopperTablesCarryTheFP8BlockTableWithProvenance() throws {
        for g in ["h100-sxm-80gb", "h200-sxm-141gb"] {
            let t = try #require(try Repo.store.gpu(g).vllmKernels)
            let f = try #require(t.fp8Block)
            #expect(f.name == t.name + "-fp8_block")
            #expect(f.provenance.hasPrefix("aiconfigurator-core 0.12.0"))
            // DeepSeek-V3/R1 (7168x2048 top-8 of 256), Kimi-K2 (of 384), Qwen3-235B-A22B-FP8 (4096x1536 top-8 of 128).
            for s in [MoEShape(hidden: 7168, inter: 2048, topK: 8, experts: 256), MoEShape(hidden: 7168, inter: 2048, topK: 8, experts: 384),
                      MoEShape(hidden: 4096, inter: 1536, topK: 8, experts: 128)] {
                #expect(f.moeShapes.contains(s))
            }
            #expect(f.shapeModel != t.shapeModel)
        }
        #expect(try Repo.store.gpu("a100-sxm4-80gb").vllmKernels?.fp8Block == nil)
    }

    @Test func fp8ModelOnH200TakesItsExpertsFromTheFP8Table() throws {
        let c = try cost("deepseek-v3", gpu: "h200-sxm-141gb")
        let f = try #require(c.fp8Tables)
        #expect(f.name == "h200-sxm-vllm-0.24.0-fp8_block")
        // 64 tokens at TP 8 is a measured point of the fp8 table (DeepSeek-V3's shape).
        let ctx = try #require(c.moeContext(tokens: 64))
        #expect(ctx.source == .measured && !ctx.anchors.isEmpty && ctx.model == f.shapeModel)
        _ = c.moeSamples(tokens: 64)
        _ = c.denseUs(tokens: 64)
        let src = Dictionary(uniqueKeysWithValues: c.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["experts"] == [.measured])
        // GEMMs other than the experts stay the roofline-ratio estimate and say so.
        #expect(src["dense GEMMs"]?.contains(.estimate) == true)
        #expect(c.kernelTablesLabel?.contains("fp8 experts: h200-sxm-vllm-0.24.0-fp8_block") == true)
        #expect(c.assumptions.contains { $0.contains("measured fp8 block-scaled fused-MoE table") })

        // The expert time is the fp8 measurement, not the bf16 time x the roofline ratio: at a measured point and a
        // balanced-like uniform routing it lies near the measured fp8 time, and differs from the estimate path.
        let measured = f.moeContext(shape: MoEShape(hidden: 7168, inter: 2048, topK: 8, experts: 256), tp: 8, ep: 1, tokens: 64)
        let samples = c.moeSamples(tokens: 64)
        let perLayer = samples.map(\.expertsUs).reduce(0, +) / Double(samples.count) / 58
        let balanced = try #require(measured.anchors.first { $0.distribution == "balanced" })
        let balancedUs = measured.us(hits: Int(balanced.hits.rounded()), pairs: Int(balanced.pairs.rounded()))
        #expect(relClose(perLayer, balancedUs, 0.25))
    }

    @Test func fp8WithoutATableStaysTheLabelledEstimate() throws {
        // A100: no fp8 table (and no fp8 tensor cores); per-tensor fp8 on H200: not the block-scaled kernels.
        for (gpu, q) in [("a100-sxm4-80gb", Quantization.fp8(block: (128, 128))), ("h200-sxm-141gb", Quantization.fp8(block: nil))] {
            let c = try cost("qwen3-235b-a22b", gpu: gpu, quantization: q)
            #expect(c.fp8Tables == nil)
            _ = c.moeSamples(tokens: 64)
            let src = Dictionary(uniqueKeysWithValues: c.sourceSummary().map { ($0.component, $0.sources) })
            #expect(src["experts"] == [.estimate])
            #expect(c.assumptions.contains { $0.contains("an estimate") })
        }
    }

    @Test func bf16ModelsAreUnaffected() throws {
        let c = try cost("qwen3-235b-a22b", gpu: "h200-sxm-141gb")
        #expect(c.fp8Tables == nil)
        #expect(c.kernelTablesLabel == c.kernels.tables?.provenance)
        let ctx = try #require(c.moeContext(tokens: 64))
        #expect(ctx.model == c.kernels.tables!.shapeModel)
        _ = c.moeSamples(tokens: 64)
        _ = c.denseUs(tokens: 64)
        #expect(!c.sourceSummary().contains { $0.sources.contains(.estimate) })
        #expect(!c.assumptions.contains { $0.contains("fp8") || $0.contains("estimate") })
    }
}
