import Foundation
import SimKit

/// AIConfigurator's measured vLLM MLA attention MODULE tables (`mla` in `profiles/kernels/h{1,2}00-sxm-vllm-0.24.0.json`,
/// imported by `profiles/tools/import_aiconfigurator.py` from aiconfigurator-core 0.12.0's
/// `mla/vllm/0.24.0/mla_{context,generation}_module_perf.parquet`; the package has none for A100).
///
/// What one row is (from the collector that wrote them, ai-dynamo/aiconfigurator `collector/vllm/collect_mla_module.py`,
/// and the package code that reads them, `sdk/models/deepseek.py` and `sdk/operations/mla.py` `MLAModule`):
/// - one forward of vLLM 0.24.0's own `DeepseekV2MLAAttention`, built from DeepSeek-V3's HF config with one layer and
///   `num_attention_heads` overridden, replayed as a CUDA graph: ONE layer's attention block on ONE GPU. It covers the
///   fused q_a/kv_a down-projection (hidden -> q_lora 1536 + kv_lora 512 + rope 64), the q/kv RMSNorms, q_b_proj,
///   RoPE, the MLA attention (decode: the absorbed W_UK / W_UV BMMs and the decode kernel; prefill: the kv_b_proj
///   up-projection and the prefill kernel) and o_proj. It does not cover the layer's input norm, the residual add or
///   the TP all-reduce after o_proj. AIConfigurator prices the module row IN PLACE OF its whole granular list
///   (downscale GEMM, q_b_proj, kv_b_proj or the BMMs, attention, o_proj), so moesim likewise prices no MLA
///   projection GEMM next to it.
/// - `tp_size` is always 1 and `heads` is the head count on the GPU: a model with H heads under TP t uses the rows of
///   H / t heads (AIConfigurator passes `num_heads // tp_size`). Measured: 1, 2, 4, ..., 128.
/// - generation rows: `batch` sequences of one new token, `kv_len` (the package's `step`) tokens attended including
///   the new one (the collector caches kv_len - 1 tokens), i.e. `BatchShape.decodeContext / decodeSequences`.
///   context rows: `batch` prompts of `input_len` tokens (`isl`) with no prefix.
/// - `kv_cache_dtype` bf16 (decode kernel FLASH_ATTN_MLA) or fp8 (FLASHMLA); `gemm_type` bfloat16 or fp8_block (128x128
///   weight blocks, dynamic activation scales, as DeepSeek-V3/R1 and Kimi-K2 ship). Attention compute is bf16.
///
/// AIConfigurator's own interpolation of these rows lives in its compiled core (not read here); moesim interpolates
/// as for its other attention tables: log-log in length on each measured batch curve, then log-log between the two
/// bracketing batch sizes; outside the measured grid the caller falls back to its granular model.
public struct VLLMMLATables: Sendable {
    /// The MLA dimensions of the model the rows were measured with (DeepSeek-V3).
    public struct Dims: Sendable, Equatable {
        public var hidden: Int, qLoraRank: Int, kvLoraRank: Int, qkNopeHeadDim: Int, qkRopeHeadDim: Int, vHeadDim: Int
    }
    public struct Key: Hashable, Sendable, Comparable {
        public var kvCache: String, gemm: String, heads: Int
        public static func < (a: Key, b: Key) -> Bool { (a.kvCache, a.gemm, a.heads) < (b.kvCache, b.gemm, b.heads) }
    }
    public let dims: Dims
    public let model: String
    let generation: [Key: VLLMKernelTables.AttnGrid]
    let context: [Key: VLLMKernelTables.AttnGrid]
    /// Every measured row, per phase and key: (batch, length, us), for checks.
    public let generationRows: [Key: [(batch: Int, length: Int, us: Double)]]
    public let contextRows: [Key: [(batch: Int, length: Int, us: Double)]]

    public init(json j: JSONNode) throws {
        let d = try j.require("dims")
        dims = Dims(hidden: try d.positiveInt("hidden"), qLoraRank: try d.positiveInt("q_lora_rank"), kvLoraRank: try d.positiveInt("kv_lora_rank"),
                    qkNopeHeadDim: try d.positiveInt("qk_nope_head_dim"), qkRopeHeadDim: try d.positiveInt("qk_rope_head_dim"),
                    vHeadDim: try d.positiveInt("v_head_dim"))
        model = try j.string("model")
        func phase(_ name: String) throws -> ([Key: VLLMKernelTables.AttnGrid], [Key: [(batch: Int, length: Int, us: Double)]]) {
            var grids: [Key: VLLMKernelTables.AttnGrid] = [:], all: [Key: [(batch: Int, length: Int, us: Double)]] = [:]
            for s in try j.require(name).require("shapes").array() {
                let key = Key(kvCache: try s.string("kv_cache_dtype"), gemm: try s.string("gemm_type"), heads: try s.positiveInt("heads"))
                var rows: [(batch: Int, length: Int, us: Double)] = []
                for r in try s.require("rows").array() {
                    let v = try r.array()
                    guard v.count == 3 else { throw r.fail("expected [batch_size, length, us]") }
                    let us = try v[2].double()
                    guard us > 0 else { throw r.fail("times must be positive") }
                    rows.append((try v[0].int(), try v[1].int(), us))
                }
                var bs: [Double] = [], cs: [VLLMKernelTables.TokenCurve] = []
                for b in Set(rows.map(\.batch)).sorted() {
                    let pts = rows.filter { $0.batch == b }.sorted { $0.length < $1.length }
                    guard pts.first!.length > 0, zip(pts, pts.dropFirst()).allSatisfy({ $0.length < $1.length }) else {
                        throw s.fail("lengths must be positive and distinct per batch size")
                    }
                    let xs = pts.map { Double($0.length) }
                    bs.append(Double(b))
                    cs.append(VLLMKernelTables.TokenCurve(tokens: xs, logTokens: xs.map { log($0) }, values: pts.map(\.us)))
                }
                grids[key] = VLLMKernelTables.AttnGrid(batches: bs, curves: cs)
                all[key] = rows
            }
            return (grids, all)
        }
        (generation, generationRows) = try phase("generation")
        (context, contextRows) = try phase("context")
    }

    /// What a deployment reads from the tables: the rows' key and how it was chosen.
    public struct Selection: Sendable {
        public var tables: VLLMMLATables
        public var key: Key
        /// Heads on the GPU the model has (the key's heads are the nearest measured count when they differ).
        public var modelHeads: Int
        /// The model's MLA differs from the rows' model only in its projections (hidden size, q_lora rank), not in the
        /// attention itself (kv_lora rank, nope/rope/v head dims, heads per GPU): the rows are used with their projection
        /// GEMMs swapped for the model's (`StepCostModel.mlaModuleUs`). See `selectReprojected`.
        public var reprojected: Bool = false
        public var description: String {
            "\(key.heads) heads per GPU\(modelHeads == key.heads ? "" : " (nearest measured to the model's \(modelHeads))"), \(key.gemm) projections, \(key.kvCache) KV cache"
                + (reprojected ? "; \(tables.model)'s rows (hidden \(tables.dims.hidden), q_lora \(tables.dims.qLoraRank)) with the projection GEMMs re-priced at this model's shape" : "")
        }
    }

    /// The rows for an MLA model whose attention proper matches the measured one (kv_lora rank, nope/rope/v head dims)
    /// at exactly `headsPerGPU` measured heads, while its projections differ (hidden size, or no/another q_lora rank),
    /// e.g. DeepSeek-V2-Lite (hidden 2048, no q_lora, 16 heads) against DeepSeek-V3 at 16 heads per GPU (TP 8). The
    /// module's MLA kernel, its absorbed W_UK/W_UV BMMs, RoPE and norms then ran at this model's shape; only the
    /// projection GEMMs did not, and the caller swaps them (`reprojected`). bf16 projections only (the fp8_block rows'
    /// GEMMs have no measured counterpart to subtract); nil when `select` applies, or no exact head count was measured.
    public func selectReprojected(hidden: Int, attention: AttentionKind, headsPerGPU: Int, gemm: String, kvCache: String) -> Selection? {
        guard gemm == "bfloat16", case let .mla(qLora, kvLora, nope, rope, v) = attention, headsPerGPU >= 1,
              kvLora == dims.kvLoraRank, nope == dims.qkNopeHeadDim, rope == dims.qkRopeHeadDim, v == dims.vHeadDim,
              hidden != dims.hidden || (qLora ?? -1) != dims.qLoraRank else { return nil }
        let key = Key(kvCache: kvCache, gemm: gemm, heads: headsPerGPU)
        guard generation[key] != nil, context[key] != nil else { return nil }
        return Selection(tables: self, key: key, modelHeads: headsPerGPU, reprojected: true)
    }

    /// The rows for an MLA model with these dimensions, `headsPerGPU` heads on a GPU, projections of `gemm` type
    /// ("bfloat16" or "fp8_block") and a `kvCache` ("bfloat16" or "fp8") cache; nil when the model's MLA shape is not
    /// the measured one or no rows of that dtype exist. Heads: the measured count, else the nearest in log scale.
    public func select(hidden: Int, attention: AttentionKind, headsPerGPU: Int, gemm: String, kvCache: String) -> Selection? {
        guard case let .mla(qLora, kvLora, nope, rope, v) = attention, headsPerGPU >= 1,
              Dims(hidden: hidden, qLoraRank: qLora ?? -1, kvLoraRank: kvLora, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: v) == dims
        else { return nil }
        let candidates = generation.keys.filter { $0.kvCache == kvCache && $0.gemm == gemm && context[$0] != nil }.map(\.heads)
        guard let h = candidates.min(by: { (abs(log(Double($0) / Double(headsPerGPU))), $0) < (abs(log(Double($1) / Double(headsPerGPU))), $1) })
        else { return nil }
        return Selection(tables: self, key: Key(kvCache: kvCache, gemm: gemm, heads: h), modelHeads: headsPerGPU)
    }

    /// One layer's MLA module for `sequences` decode sequences attending `kvLen` tokens each (mean). nil outside the grid:
    /// module rows are not carried past it (`VLLMKernelTables.gridWithin`), as a row holds the projections too, which
    /// the granular model prices there.
    public func decodeUs(_ s: Selection, sequences: Int, kvLen: Double) -> (us: Double, source: KernelSource)? {
        guard let g = generation[s.key] else { return nil }
        return VLLMKernelTables.gridWithin(g, batch: Double(sequences), length: max(1, kvLen))
    }

    /// One layer's MLA module for `sequences` prompts of `inputLen` tokens (mean), no prefix. nil outside the grid.
    public func prefillUs(_ s: Selection, sequences: Int, inputLen: Double) -> (us: Double, source: KernelSource)? {
        guard let g = context[s.key] else { return nil }
        return VLLMKernelTables.gridWithin(g, batch: Double(sequences), length: max(1, inputLen))
    }

    /// Predicting each measured row strictly inside its batch curve from its two neighbours on that curve (log-log),
    /// a bound on the error of moesim's interpolation between measured lengths. Per phase: points, mean and median
    /// |error| in %. `keys` limits the check (all when nil).
    public func neighbourCheck(keys: Set<Key>? = nil) -> [(phase: String, points: Int, meanAbsPct: Double, medianAbsPct: Double)] {
        [("generation", generationRows), ("context", contextRows)].map { (name, table) in
            var errs: [Double] = []
            for (k, rows) in table where keys?.contains(k) ?? true {
                for b in Set(rows.map(\.batch)) {
                    let c = rows.filter { $0.batch == b }.sorted { $0.length < $1.length }
                    guard c.count >= 3 else { continue }
                    for i in 1..<(c.count - 1) {
                        let (x0, y0) = (log(Double(c[i - 1].length)), log(c[i - 1].us)), (x1, y1) = (log(Double(c[i + 1].length)), log(c[i + 1].us))
                        let t = (log(Double(c[i].length)) - x0) / (x1 - x0)
                        errs.append(abs(exp(y0 + t * (y1 - y0)) / c[i].us - 1) * 100)
                    }
                }
            }
            return (name, errs.count, errs.reduce(0, +) / Double(max(errs.count, 1)), Statistics.percentile(errs, 50))
        }
    }
}
