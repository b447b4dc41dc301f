import Foundation
import Testing
import SimKit
@testable import Cluster

/// A small synthetic kernel table: two MoE shapes, a 2x2 GEMM grid, one all-reduce curve, one attention shape.
func syntheticTables(attention: [[Double]] = [[1, 1, 2.0], [1, 1024, 8.0], [4, 1, 3.0], [4, 1024, 20.0]]) throws -> VLLMKernelTables {
    let doc: [String: Any] = [
        "version": 1, "name": "test-tables", "gpu": "test-gpu", "framework": "vllm", "framework_version": "0.0",
        "sources": ["measurement: synthetic — test"],
        "provenance": ["package": "pkg", "package_version": "1.0"],
        "moe": [
            ["hidden": 1024, "inter": 512, "topk": 2, "experts": 8, "tp": 1, "ep": 1, "distribution": "balanced",
             "tokens": [1, 4, 16], "us": [10.0, 20.0, 40.0]],
            ["hidden": 1024, "inter": 512, "topk": 2, "experts": 8, "tp": 2, "ep": 1, "distribution": "balanced",
             "tokens": [1, 4, 16], "us": [6.0, 12.0, 24.0]],
            ["hidden": 2048, "inter": 1024, "topk": 2, "experts": 8, "tp": 1, "ep": 1, "distribution": "balanced",
             "tokens": [1, 4, 16], "us": [30.0, 70.0, 140.0]],
        ],
        "moe_routing": [
            ["experts": 8, "topk": 2, "ep": 1, "distribution": "balanced", "tokens": [1, 4, 16], "hits": [2.0, 8.0, 8.0], "pairs": [2.0, 8.0, 32.0]],
        ],
        "gemm": ["m": [1, 16], "curves": [
            ["n": 64, "k": 64, "us": [3.0, 4.0]], ["n": 128, "k": 64, "us": [5.0, 6.0]],
            ["n": 64, "k": 128, "us": [5.0, 6.0]], ["n": 128, "k": 128, "us": [7.0, 8.0]],
        ]],
        "generation_attention": ["columns": ["batch_size", "kv_len", "us"], "shapes": [
            ["heads": 4, "kv_heads": 1, "rows": attention],
        ]],
        "collectives": ["all_reduce": ["2": [[1024, 5.0], [1048576, 25.0]]]],
    ]
    let data = try JSONSerialization.data(withJSONObject: doc)
    return try VLLMKernelTables(json: JSONNode.parse(data: data, file: "synthetic.json"))
}

@Suite struct KernelTablesTests {
    let a = MoEShape(hidden: 1024, inter: 512, topK: 2, experts: 8)

    @Test func measuredPointIsReturnedExactlyAtTheTablesRouting() throws {
        let t = try syntheticTables()
        let c = t.moeContext(shape: a, tp: 1, ep: 1, tokens: 4)
        #expect(c.source == .measured)
        #expect(relClose(c.us(hits: 8, pairs: 8), 20, 1e-9))
    }

    @Test func tokensBetweenMeasuredCountsInterpolateLogLog() throws {
        let t = try syntheticTables()
        let c = t.moeContext(shape: a, tp: 1, ep: 1, tokens: 8)
        #expect(c.source == .interpolated)
        // At the routing's own load for 8 tokens (hits 8, pairs 20: linear in log tokens), the time is the log-log
        // interpolation of 20 us at 4 tokens and 40 us at 16.
        #expect(relClose(c.us(hits: 8, pairs: 20), (20.0 * 40.0).squareRoot(), 1e-9))
    }

    @Test func tpAndEPDegreesAreExactNotInterpolated() throws {
        let t = try syntheticTables()
        #expect(relClose(t.moeContext(shape: a, tp: 2, ep: 1, tokens: 4).us(hits: 8, pairs: 8), 12, 1e-9))
        // TP 4 was not measured: the shape model alone, not something between TP 2 and the next degree.
        let c4 = t.moeContext(shape: a, tp: 4, ep: 1, tokens: 4)
        #expect(c4.source == .shapeModel)
        #expect(c4.anchors.isEmpty)
        #expect(relClose(c4.us(hits: 8, pairs: 8), t.shapeModel.us(hidden: 1024, interLocal: 128, hits: 8, pairs: 8), 1e-12))
        let ep2 = t.moeContext(shape: a, tp: 1, ep: 2, tokens: 4)
        #expect(ep2.source == .shapeModel)
    }

    @Test func unmeasuredShapeFallsBackToTheFittedShapeModel() throws {
        let t = try syntheticTables()
        let other = MoEShape(hidden: 2048, inter: 1408, topK: 4, experts: 60)
        let c = t.moeContext(shape: other, tp: 1, ep: 1, tokens: 32)
        #expect(c.source == .shapeModel)
        // Scaled by the nearest measured shape at the same degree (2048x1024 top-2 of 8 is nearer than 1024x512).
        #expect(c.correctedBy == MoEShape(hidden: 2048, inter: 1024, topK: 2, experts: 8))
        #expect(c.correction > 0 && c.correction != 1)
        #expect(relClose(c.us(hits: 40, pairs: 128), t.shapeModel.us(hidden: 2048, interLocal: 1408, hits: 40, pairs: 128) * c.correction, 1e-12))
        // No measured shape at TP 4: the model alone.
        let c4 = t.moeContext(shape: other, tp: 4, ep: 1, tokens: 32)
        #expect(c4.correctedBy == nil && c4.correction == 1)
        #expect(t.shapeModel.bytesPerUs > 0 && t.shapeModel.flopsPerUs > 0 && t.shapeModel.floorUs >= 0)
    }

    @Test func aHeavierLoadThanTheTablesCostsMore() throws {
        let t = try syntheticTables()
        let c = t.moeContext(shape: a, tp: 1, ep: 1, tokens: 16)
        #expect(c.us(hits: 8, pairs: 64) > c.us(hits: 8, pairs: 32))
        #expect(c.us(hits: 4, pairs: 32) <= c.us(hits: 8, pairs: 32))
    }

    @Test func leaveOneShapeOutCoversEveryShape() throws {
        let t = try syntheticTables()
        let loso = t.leaveOneShapeOut()
        #expect(loso.map(\.shape) == t.moeShapes)
        #expect(loso.map(\.rows) == [6, 3])
        #expect(loso.allSatisfy { $0.meanAbsPct.isFinite })
    }

    @Test func gemmExactInterpolatedAndOutside() throws {
        let t = try syntheticTables()
        let e = try #require(t.gemmUs(m: 1, n: 64, k: 64))
        #expect(e.us == 3 && e.source == .measured)
        let mid = try #require(t.gemmUs(m: 4, n: 64, k: 64))
        #expect(mid.source == .interpolated && mid.us > 3 && mid.us < 4)
        let nk = try #require(t.gemmUs(m: 1, n: 90, k: 64))
        #expect(nk.source == .interpolated && nk.us > 3 && nk.us < 5)
        #expect(t.gemmUs(m: 1, n: 4096, k: 64) == nil)
        #expect(t.gemmUs(m: 32, n: 64, k: 64) == nil)
    }

    @Test func collectiveCurveAtItsGPUCountOnly() throws {
        let t = try syntheticTables()
        #expect(t.collectiveUs(.allReduce, bytes: 512, gpus: 2) == 5)
        let mid = try #require(t.collectiveUs(.allReduce, bytes: 524_800, gpus: 2))
        #expect(mid > 5 && mid < 25)
        #expect(t.collectiveUs(.allReduce, bytes: 1024, gpus: 4) == nil)
        #expect(t.collectiveUs(.allGather, bytes: 1024, gpus: 2) == nil)
    }

    @Test func decodeAttentionGrid() throws {
        let t = try syntheticTables()
        let e = try #require(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 4, meanContext: 1024))
        #expect(e.us == 20 && e.source == .measured)
        let i = try #require(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 2, meanContext: 32))
        #expect(i.source == .interpolated && i.us > 2 && i.us < 20)
        #expect(t.decodeAttentionUs(heads: 8, kvHeads: 1, sequences: 2, meanContext: 32) == nil)
        // Past the largest batch: carried on log-log in batch from the two largest batches that reach the length.
        // At 32 tokens batch 1 gives 2 x 32^(log 4 / log 1024) = 4 us and batch 4 gives 3 x 32^(log(20/3) / log 1024)
        // = 7.74 us, a slope of log(7.74 / 4) / log 4 = 0.476, so batch 8 costs 7.74 x 2^0.476.
        let x = try #require(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 8, meanContext: 32))
        let b1 = 2 * pow(32, log(4.0) / log(1024.0)), b4 = 3 * pow(32, log(20.0 / 3) / log(1024.0))
        #expect(x.source == .extrapolated)
        #expect(relClose(x.us, b4 * pow(2, log(b4 / b1) / log(4)), 1e-9))
        // Never past the measured lengths, and never below the smallest batch.
        #expect(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 8, meanContext: 4096) == nil)
        #expect(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 0.5, meanContext: 32) == nil)
    }

    @Test func attentionPastTheGridGrowsAtMostLinearlyInBatch() throws {
        // Batch 2 reaches only 16 tokens, batches 1 and 4 reach 1,024 (as the shipped grids thin out at large batches):
        // batch 2 at 512 tokens lies between two batches, but only the smaller one reaches it, so it is extrapolated;
        // a doubling that more than doubled the time in the table is capped at linear growth.
        let t = try syntheticTables(attention: [[1, 1, 2.0], [1, 1024, 10.0], [2, 1, 5.0], [2, 16, 6.0], [4, 1, 6.0], [4, 1024, 50.0]])
        // Batch 2 at 512 tokens: batch 2's curve stops at 16, so the two largest batches reaching 512 below it are only
        // batch 1: fewer than two, nil.
        #expect(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 2, meanContext: 512) == nil)
        // Batch 8 at 1,024: batches 2 (short) is skipped; 1 and 4 give 10 and 50 us, a slope of log 5 / log 4 > 1,
        // capped at 1: 50 x 8 / 4.
        let x = try #require(t.decodeAttentionUs(heads: 4, kvHeads: 1, sequences: 8, meanContext: 1024))
        #expect(x.source == .extrapolated)
        #expect(relClose(x.us, 100, 1e-9))
    }
}

@Suite struct ShippedKernelTablesTests {
    func cost(_ model: String, tp: Int, dp: Int = 1, ep: Bool = false, tables: Bool = true) throws -> StepCostModel {
        let store = Repo.store
        let m = try store.model(model), gpu = try store.gpu("a100-sxm4-80gb")
        let plan = ParallelPlan(tp: tp, dp: dp, ep: ep)
        let moe = try #require(m.moe)
        let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 3)
        let placement: ExpertPlacement? = ep ? .contiguous(experts: moe.experts, gpus: plan.gpuCount, moeLayers: m.moeLayerCount) : nil
        return try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu, tables: tables ? gpu.vllmKernels : nil),
                                 interconnect: plan.gpuCount > 1 ? try store.defaultInterconnect(gpu: gpu.name, gpus: plan.gpuCount) : nil,
                                 routing: routing, placement: placement, seed: 3)
    }

    @Test func gpuProfilesNameTheirTables() throws {
        let store = Repo.store
        #expect(try store.gpu("a100-sxm4-80gb").vllmKernels?.name == "a100-sxm-vllm-0.14.0")
        #expect(try store.gpu("h100-sxm-80gb").vllmKernels?.name == "h100-sxm-vllm-0.24.0")
        #expect(try store.gpu("h200-sxm-141gb").vllmKernels?.name == "h200-sxm-vllm-0.24.0")
        // The 40GB A100 has 24% less bandwidth than the 80GB one the tables were measured on: no tables.
        #expect(try store.gpu("a100-sxm4-40gb").vllmKernels == nil)
        let t = try #require(try store.gpu("a100-sxm4-80gb").vllmKernels)
        #expect(t.provenance == "aiconfigurator-core 0.12.0, a100-sxm-vllm-0.14.0")
        #expect(t.moeShapes.contains(MoEShape(hidden: 4096, inter: 14336, topK: 2, experts: 8)))
    }

    @Test func componentsSayWhereTheirTimeCameFrom() throws {
        var pick = Xoshiro256(seed: 1, stream: 1)
        var b = BatchShape()
        for _ in 0..<40 { b.addDecode(context: 512) }
        let mixtral = try cost("mixtral-8x7b", tp: 2)
        _ = mixtral.stepCost([b], pick: &pick)
        let src = Dictionary(uniqueKeysWithValues: mixtral.sourceSummary().map { ($0.component, $0.sources) })
        #expect(src["experts"] == [.interpolated])       // Mixtral's shape is measured at TP2; 40 tokens between grid points
        #expect(src["attention kernel"]?.allSatisfy { $0 <= .interpolated } == true)
        #expect(src["collectives"] == [.interpolated])
        let olmoe = try cost("olmoe-1b-7b", tp: 2)
        _ = olmoe.stepCost([b], pick: &pick)
        #expect(olmoe.componentSources["experts"] == [.shapeModel])  // OLMoE's expert shape is not in the tables
        #expect(olmoe.moeContext(tokens: 40)?.correctedBy == MoEShape(hidden: 2048, inter: 768, topK: 8, experts: 128))
        let old = try cost("mixtral-8x7b", tp: 2, tables: false)
        _ = old.stepCost([b], pick: &pick)
        #expect(old.componentSources["experts"] == [.roofline])
    }

    @Test func prefillAttentionOfAChunkAfterAPrefixIsTheWholePromptWithItsPairs() throws {
        let c = try cost("mixtral-8x7b", tp: 2)
        let (hq, hkv) = try #require(c.attentionTableHeads)
        let tables = try #require(c.kernels.tables)
        func table(_ n: Int, _ length: Double) throws -> Double {
            try #require(tables.prefillAttentionUs(heads: hq, kvHeads: hkv, sequences: Double(n), meanLength: length)).us
        }
        func kernel(sequences n: Int = 1, chunk: Int, prefix: Int) -> Double {
            var b = BatchShape()
            for _ in 0..<n { b.addPrefill(chunk: chunk, prefix: prefix, samples: true) }
            return c.attentionKernelUs(b)
        }
        // (a) Whole prompts without a prefix: exactly the table at their length, as before.
        for (n, q) in [(1, 1), (1, 100), (1, 4001), (3, 512), (2, 1536)] {
            #expect(kernel(sequences: n, chunk: q, prefix: 0) == (try table(n, Double(q))))
        }
        // (b) One token after 4,000 cached ones: no dearer than the whole 4,001-token prompt, and far below the old
        // price (the table at q = 1, mostly fixed kernel cost, scaled by pairs / (q(q+1)/2) = 4,001).
        let short = kernel(chunk: 1, prefix: 4000)
        let whole = kernel(chunk: 4001, prefix: 0)
        let old = try table(1, 1) * 4001
        #expect(short > 0 && short <= whole)
        #expect(short < old / 100)
        // A 4-token chunk (speculative verification's size) likewise.
        #expect(kernel(chunk: 4, prefix: 4000) <= kernel(chunk: 4004, prefix: 0))
        #expect(kernel(chunk: 4, prefix: 4000) < (try table(1, 4)) * 4 * (4000 + 2.5) / 10 / 100)
        // (c) The longer the prefix, the dearer the same chunk. (Not from prefix 0 for tiny chunks: the measured table
        // itself dips between 1 and ~32 tokens, 12.6 to 11.6 us here, noise on the kernel's fixed cost.)
        #expect(relClose(kernel(chunk: 1, prefix: 500), kernel(chunk: 1, prefix: 0), 0.1))
        for chunk in [1, 4, 256] {
            let prefixes = (chunk >= 256 ? [0] : []) + [500, 1000, 2000, 4000, 8000, 12000]
            let times = prefixes.map { kernel(chunk: chunk, prefix: $0) }
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "chunk \(chunk): \(times)")
        }
    }

    @Test func measuredMixtralDecodeIsTheTablesTime() throws {
        // 16 tokens at TP2 is a measured point; uniform routing of 16 tokens top-2 over 8 experts hits ~all 8,
        // as the table's routing does, so the layer time is close to the measured 784 us (power_law_1.01 row).
        let c = try cost("mixtral-8x7b", tp: 2)
        let ctx = try #require(c.moeContext(tokens: 16))
        #expect(ctx.source == .measured)
        let us = ctx.us(hits: 8, pairs: 32)
        #expect(us > 700 && us < 900)
    }
}
