import Foundation
import Testing
import SimKit
@testable import Cluster

/// The parts of a vLLM step that vLLM 0.24.0's own profiled steps on the H200 showed unpriced or mispriced (docs/mla-lite.md,
/// probe/results/2026-12-04-h200-vllm-{g,j,k,l}): the compiled graph's elementwise kernels, DeepSeek-V2-Lite's MLA decode
/// kernel and its PyTorch grouped top-k router.
@Suite struct CompiledStepPartsTests {
    func cost(_ model: String, gpu: String = "h200-sxm-141gb", tp: Int = 1, tables: VLLMKernelTables? = nil) throws -> StepCostModel {
        let store = Repo.store
        let m = try store.model(model)
        let g = try store.gpu(gpu)
        let plan = ParallelPlan(tp: tp, dp: 1, ep: false)
        let routing = try m.moe.map { try RoutingModel(spec: .uniform, experts: $0.experts, topK: $0.topK, layers: m.moeLayerCount, seed: 3) }
        return try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: g, tables: tables ?? g.vllmKernels),
                                 interconnect: try store.defaultInterconnect(gpu: g.name, gpus: plan.gpuCount),
                                 routing: routing, placement: nil, seed: 3)
    }

    /// The kernels a layer runs in vLLM's compiled graph, as profiled (kernels launched once a layer, per layer):
    /// Llama-3.1-8B 4.9, Mixtral 4.0, gpt-oss-20b 4.0, Qwen3-30B-A3B 4.0, OLMoE 2.9, Qwen1.5-MoE 5.0, DeepSeek-V2-Lite 6.7.
    @Test func elementwiseKernelCountsFollowTheProfiledGraphs() throws {
        let expected = ["llama-3.1-8b": 5, "mixtral-8x7b": 4, "gpt-oss-20b": 4, "qwen3-30b-a3b": 4, "olmoe-1b-7b": 3,
                        "qwen1.5-moe-a2.7b": 5, "deepseek-v2-lite": 7]
        for (name, k) in expected {
            let m = try Repo.store.model(name)
            let l = m.ffn.firstIndex(where: \.isMoE) ?? 0
            #expect(m.elementwiseKernels(layer: l).kernels == k, "\(name)")
        }
        // MLA's own four kernels only when its module rows do not already hold them.
        let lite = try Repo.store.model("deepseek-v2-lite")
        #expect(lite.elementwiseKernels(layer: 1, includingMLA: false).kernels == 3)
        // Tensor parallelism splits the activation's traffic, not the norms'.
        let llama = try Repo.store.model("llama-3.1-8b")
        let one = llama.elementwiseKernels(layer: 0), two = llama.elementwiseKernels(layer: 0, tensorParallel: 2)
        #expect(two.kernels == one.kernels && two.bytesPerToken < one.bytesPerToken && two.bytesPerToken > one.bytesPerToken / 2)
        // An index out of range counts as the nearest layer.
        #expect(llama.elementwiseKernels(layer: 10_000) == llama.elementwiseKernels(layer: llama.layers - 1))
    }

    @Test func elementwiseIsAFloorPerKernelPlusTraffic() throws {
        let c = try cost("llama-3.1-8b")
        let e = c.model.elementwiseKernels(layer: 0)
        let bw = c.kernels.gpu.achievedBytesPerSecond
        for t in [1, 64, 4096] {
            let us = c.compiledElementwiseUs(layer: 0, tokens: t)
            #expect(relClose(us, Double(e.kernels) * KernelCost.minKernelUs + Double(t) * e.bytesPerToken / bw * 1e6, 1e-12))
        }
        #expect(c.compiledElementwiseUs(layer: 0, tokens: 0) == 0)
        // The eager Transformers engine keeps its one memory pass a layer.
        #expect(c.elementwiseUs(tokens: 1) == KernelCost.minKernelUs)
        // Every layer's share is in the dense part of a step: at one token about 10 us a layer for Llama (measured 8.3).
        let dense = c.denseUs(tokens: 1)
        let ffn = (0..<c.model.layers).reduce(0.0) { $0 + c.denseFFNUs(layer: $1, tokens: 1) }
        let perLayer = (dense - ffn) / Double(c.model.layers)
        #expect(perLayer > 8 && perLayer < 12)
    }

    /// vLLM's MLA decode kernel measured in DeepSeek-V2-Lite's own graphs prices the Lite's decode on the H200; the
    /// grid's batch sizes of one context each (16, 64 and 256 sequences) are left out of it and checked here.
    @Test func liteDecodeTakesVLLMsOwnMLAKernel() throws {
        let c = try cost("deepseek-v2-lite")
        let k = try #require(c.mlaDecodeKernel)
        #expect(k.heads == 16 && k.kvLoraRank == 512 && k.ropeDim == 64 && k.kvCache == "bfloat16")
        let t = try #require(c.kernels.tables)
        let g = try #require(try JSONNode.load(file: Repo.root + "/profiles/kernels/h200-sxm-vllm-0.24.0.json").optional("mla_decode_kernel"))
        let held = try g.require("held_out_rows").array().map { try $0.array().map { try $0.double() } }
        #expect(held.count == 3)
        for r in held {
            let p = try #require(k.us(sequences: r[0], context: r[1]))
            #expect(p.source == .interpolated)
            #expect(abs(p.us / r[2] - 1) < 0.15, "\(r): \(p.us)")
        }
        // The decode block: the kernel, the latent cache write and the Lite's own projections (BMMs with them).
        for (n, len) in [(1, 568), (64, 566), (256, 1024)] {
            let b = mlaDecode(n, kvLen: len)
            let kernel = try #require(k.us(sequences: Double(n), context: b.decodeContext / Double(n))).us
            let own = c.mlaModuleGEMMUs(tokens: n, hidden: 2048, qLora: nil)
            let write = c.kernels.memoryUs(bytes: Double(n) * 576 * 2)
            #expect(relClose(try #require(c.mlaModuleUs(b)), kernel + write + own, 1e-12))
        }
        // Its rows measured 14.7 us at one sequence of 140 tokens and 643 us at 512 x 4,175.
        #expect(relClose(try #require(k.us(sequences: 1, context: 140)).us, 14.69, 1e-9))
        #expect(relClose(try #require(k.us(sequences: 512, context: 4175)).us, 642.96, 1e-9))
        // Outside the grid: the module rows' remainder, as before.
        #expect(k.us(sequences: 2048, context: 1024) == nil && k.us(sequences: 1, context: 40_000) == nil)
        // Below a batch's shortest measured context: that context's time (its floor), between batches as usual.
        #expect(k.us(sequences: 512, context: 100)?.us == 84.06 && k.us(sequences: 1, context: 20)?.us == 14.69)
        let short = try #require(k.us(sequences: 16, context: 300)), at523 = try #require(k.us(sequences: 16, context: 524))
        #expect(short.us <= at523.us && short.us > 14)
        _ = t
        // A decode step's sources name the kernel (a fresh model: the checks above priced measured rows).
        let f = try cost("deepseek-v2-lite")
        var pick = Xoshiro256(seed: 1, stream: 1)
        _ = f.stepCost([mlaDecode(16, kvLen: 512)], pick: &pick)
        let src = Dictionary(uniqueKeysWithValues: f.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["MLA decode kernel"] == [.interpolated])
        #expect(src["MLA attention module"] == nil)
        #expect(src["grouped top-k router"] != nil)
        // The run's note says where the decode part comes from; where the grid does not apply it does not say so.
        #expect(f.assumptions.contains { $0.contains("'MLA decode kernel'") && $0.contains("on the H200") })
        #expect(!(try cost("deepseek-v3", tp: 8)).assumptions.contains { $0.contains("'MLA decode kernel'") })
    }

    /// The H100's kernel was measured the same way (probe/results/2026-12-06-h100-vllm-ag and -ah): its rows are
    /// measured, the run's note says so, the grid's one left-out batch (64 sequences) is checked, and where the
    /// kernel reads the latent cache faster than it waits (many sequences, long contexts) it is slower than the
    /// H200's by up to their bandwidth ratio.
    @Test func theH100PricesItsOwnMeasuredKernel() throws {
        let h100 = try cost("deepseek-v2-lite", gpu: "h100-sxm-80gb"), h200 = try cost("deepseek-v2-lite")
        let k = try #require(h100.mlaDecodeKernel), m = try #require(h200.mlaDecodeKernel)
        #expect(!k.estimated && k.origin.contains("on the H100"))
        let g = try #require(try JSONNode.load(file: Repo.root + "/profiles/kernels/h100-sxm-vllm-0.24.0.json").optional("mla_decode_kernel"))
        // 64 x 8,220 lies 9 tokens past the 32-sequence curve's last context (8,211), where the grid stops: it is
        // checked at 8,200.
        let held = try g.require("held_out_rows").array().map { try $0.array().map { try $0.double() } }
        #expect(held.count == 1 && k.us(sequences: held[0][0], context: held[0][1]) == nil)
        let p = try #require(k.us(sequences: held[0][0], context: 8200))
        #expect(p.source == .interpolated && abs(p.us / held[0][2] - 1) < 0.05, "\(held[0]): \(p.us)")
        let bw = { (g: String) in try Repo.store.gpu(g).peakBytesPerSecond }
        let ratio = try bw("h200-sxm-141gb") / bw("h100-sxm-80gb")
        for (n, ctx) in [(128.0, 8236.0), (512, 1052)] {
            let a = try #require(m.us(sequences: n, context: ctx)), b = try #require(k.us(sequences: n, context: ctx))
            #expect(a.source == .measured && b.source == .measured)
            #expect(b.us > a.us * 1.2 && b.us <= a.us * ratio, "\(n) x \(ctx): \(b.us) against \(a.us)")
        }
        // 512 sequences reach 2,613 tokens on the H100 (its cache holds about 1.44 M of the Lite's tokens).
        #expect(relClose(try #require(k.us(sequences: 512, context: 2613)).us, 557.65, 1e-9))
        var pick = Xoshiro256(seed: 1, stream: 1)
        _ = h100.stepCost([mlaDecode(16, kvLen: 512)], pick: &pick)
        let src = Dictionary(uniqueKeysWithValues: h100.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["MLA decode kernel"] == [.interpolated] && src["MLA attention module"] == nil)
        #expect(h100.assumptions.contains { $0.contains("'MLA decode kernel'") && $0.contains("on the H100") })
    }

    /// Rows carried from another GPU's measurement ("estimated": true with an "origin", as
    /// profiles/tools/transfer_mla_decode.py writes them) give estimates, and the run's note says where they came from.
    @Test func aKernelCarriedFromAnotherGPUIsAnEstimate() throws {
        let carried = try kernelTables("h200-sxm-vllm-0.24.0", label: "carried") { doc in
            var k = try #require(doc["mla_decode_kernel"] as? [String: Any])
            k["estimated"] = true
            k["origin"] = "an estimate carried from another GPU"
            doc["mla_decode_kernel"] = k
        }
        let c = try cost("deepseek-v2-lite", tables: carried), m = try #require(try cost("deepseek-v2-lite").mlaDecodeKernel)
        let k = try #require(c.mlaDecodeKernel)
        #expect(k.estimated)
        for (n, ctx) in [(1.0, 140.0), (16, 300), (512, 4175)] {
            let a = try #require(k.us(sequences: n, context: ctx)), b = try #require(m.us(sequences: n, context: ctx))
            #expect(a.source == .estimate && a.us == b.us)
        }
        var pick = Xoshiro256(seed: 1, stream: 1)
        _ = c.stepCost([mlaDecode(16, kvLen: 512)], pick: &pick)
        let src = Dictionary(uniqueKeysWithValues: c.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["MLA decode kernel"] == [.estimate])
        #expect(c.assumptions.contains { $0.contains("'MLA decode kernel'") && $0.contains("carried from another GPU") })
    }

    @Test func theKernelGridAppliesOnlyWhereItWasMeasured() throws {
        // DeepSeek-V3 at TP 8 (16 heads a GPU) prices its own module rows, on the H100 too; a table without the grid
        // falls back to the V3 rows' remainder for the Lite.
        #expect(try cost("deepseek-v3", tp: 8).mlaDecodeKernel == nil)
        #expect(try cost("deepseek-v3", gpu: "h100-sxm-80gb", tp: 8).mlaDecodeKernel == nil)
        let without = try kernelTables("h200-sxm-vllm-0.24.0", without: ["mla_decode_kernel", "torch_grouped_topk"])
        let c = try cost("deepseek-v2-lite", tables: without)
        #expect(c.mlaDecodeKernel == nil && c.mlaModule?.reprojected == true)
        let lite = try cost("deepseek-v2-lite")
        let b = mlaDecode(64, kvLen: 566)
        #expect(try #require(lite.mlaModuleUs(b)) < (try #require(c.mlaModuleUs(b))))
        // Without the router curve the Lite's MoE layers carry no router beyond the router GEMM; with it, vLLM's steps
        // (`denseUs`) carry it and the FFN the Transformers engine also prices does not.
        #expect(c.vllmRouterUs(layer: 1, tokens: 64) == 0 && lite.vllmRouterUs(layer: 1, tokens: 64) > 0)
        #expect(lite.denseFFNUs(layer: 1, tokens: 64) == c.denseFFNUs(layer: 1, tokens: 64))
        #expect(lite.denseUs(tokens: 64) > c.denseUs(tokens: 64) + 26 * lite.vllmRouterUs(layer: 1, tokens: 64) * 0.999)
        #expect(lite.vllmRouterUs(layer: 0, tokens: 64) == 0)
    }

    /// DeepSeek-V2's routing (grouped top-k, no score-correction bias) runs as PyTorch operations in vLLM 0.24:
    /// 14-34 us a MoE layer measured; models with a fused top-k do not pay it.
    @Test func groupedTopKRouterOnlyForDeepSeekV2Routing() throws {
        let t = try #require(try Repo.store.gpu("h200-sxm-141gb").vllmKernels)
        #expect(relClose(try #require(t.groupedTopKUs(tokens: 1)), 14.43, 1e-9))
        #expect(relClose(try #require(t.groupedTopKUs(tokens: 256)), 33.86, 1e-9))
        #expect(relClose(try #require(t.groupedTopKUs(tokens: 1 << 20)), 89.69, 1e-9))
        let mid = try #require(t.groupedTopKUs(tokens: 96))
        #expect(mid > 17.49 && mid < 30.58)
        #expect(try Repo.store.model("deepseek-v2-lite").torchGroupedTopK)
        #expect(!(try Repo.store.model("deepseek-v3").torchGroupedTopK))
        #expect(!(try Repo.store.model("olmoe-1b-7b").torchGroupedTopK))
        #expect(!(try cost("olmoe-1b-7b").torchGroupedTopK))
        #expect(try cost("deepseek-v2-lite").torchGroupedTopK)
        #expect(!(try cost("deepseek-v2-lite", gpu: "a100-sxm4-80gb").torchGroupedTopK))
    }

    @Test func badGridRowsAreRefusedNamingTheKey() throws {
        let file = Repo.root + "/profiles/kernels/h200-sxm-vllm-0.24.0.json"
        for (key, bad) in [("mla_decode_kernel", [[1, 140]]), ("mla_decode_kernel", [[1, 140, -3]]), ("torch_grouped_topk", [[0, 5]]),
                           ("torch_grouped_topk", [[4, 5], [4, 6]])] as [(String, [[Double]])] {
            var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
            var node = try #require(doc[key] as? [String: Any])
            node["rows"] = bad
            doc[key] = node
            let data = try JSONSerialization.data(withJSONObject: doc)
            let e = inputErrorMessage { _ = try VLLMKernelTables(json: JSONNode.parse(data: data, file: "bad.json")) }
            #expect(e.map { "\($0)".contains("bad.json") && "\($0)".contains(key) } == true, "\(key) \(bad): \(String(describing: e))")
        }
    }
}
