import Foundation
import SimKit

/// The GPU time of one engine step of a deployment: per layer, per GPU, attention, GEMMs, experts and
/// collectives, with the step waiting for the slowest data-parallel rank and the slowest expert GPU.
///
/// Costs that depend only on a token count are cached per count. Expert time depends on routing, so for each
/// token count the model draws `samplesPerSize` routings of every MoE layer (seeded) and keeps the resulting
/// whole-model expert times; a step then picks one of them with the simulation's random stream. This keeps a
/// step O(1) while every step still sees routing variance, and the straggler GPU of EP is in every sample.
public final class StepCostModel {
    public let model: ModelArchitecture
    public let plan: ParallelPlan
    public let kernels: KernelCost
    public let interconnect: InterconnectProfile?
    public let routing: RoutingModel?
    public let placement: ExpertPlacement?
    /// What one pipeline stage's collectives see: the nodes its TP x DP GPUs span (the whole cluster's nodes
    /// and network when PP = 1; a single node without network unless the plan spans nodes).
    public let topology: ClusterTopology
    /// Every GPU of the plan on its nodes (pipeline sends between stages cross nodes by it).
    public let cluster: ClusterTopology
    /// Per pipeline stage: its share of the layers, of the MoE layers and of the dense FFN parameters (one stage of
    /// 1, 1, 1 without PP).
    public let stageLayerShare: [Double], stageMoEShare: [Double], stageDenseShare: [Double]
    /// The token count of the last `stepCost`'s slowest rank (its dense FFN time is split by `stageDenseShare`).
    var lastWorstTokens = 0
    /// Per stage boundary s -> s + 1: whether the send crosses nodes.
    public let stageSendCrossesNodes: [Bool]
    /// The last `stepCost`'s LM head (compute and its gather) and EP dispatch/combine time, for splitting it into
    /// pipeline stages: the LM head runs on the last stage only, expert exchange on the stages' MoE layers.
    private(set) var lastLMHead = StepBreakdown(), lastEPComm = 0.0
    public static let samplesPerSize = 8
    /// Where a prediction rests on an assumption rather than a measurement (reported with the result).
    public private(set) var assumptions: Set<String> = []
    /// Quantized weights: bytes per weight of linear layers and experts, and fp8 compute (w8a8).
    let linearBytes: Double, expertBytes: Double, fp8Compute: Bool
    /// The measured quantized fused-MoE table used for the experts instead of the bf16 time scaled by the roofline
    /// ratio (H100, H200): fp8 with block scales (`fp8_block`, a shape model fitted to its rows for unmeasured shapes),
    /// or at a measured shape and TP/EP degree only, MXFP4 (`w4a16_mxfp4`) and int4 weight-only (`int4_wo`); see
    /// `Quantization.moeTable`. nil: bf16 experts, or the roofline-ratio estimate.
    public let expertTables: VLLMKernelTables?
    /// `expertTables` when it is the fp8 block-scaled table.
    public var fp8Tables: VLLMKernelTables? { expertTables?.quantization == "fp8_block" ? expertTables : nil }
    /// Measured bf16-KV attention scaled to an fp8 KV cache by the roofline (1 with a bf16 cache).
    let kvAttentionRatio: Double
    /// The measured vLLM MLA attention module rows that price this MLA model's whole attention block (projections and
    /// kernel together, `mlaModuleUs`), when the GPU's tables have them for its MLA shape and dtypes; nil otherwise.
    public let mlaModule: VLLMMLATables.Selection?
    /// vLLM's own MLA decode kernel measured for this model's attention shape and heads per GPU (the H200 table's, from
    /// DeepSeek-V2-Lite's compiled steps): with `reprojected` module rows it prices the decode kernel in place of the
    /// rows' remainder (`mlaModuleUs`); nil otherwise.
    public let mlaDecodeKernel: VLLMKernelTables.MLADecodeKernel?
    /// The model routes with vLLM's PyTorch grouped top-k (`ModelArchitecture.torchGroupedTopK`) and the GPU's table
    /// has that router measured (`VLLMKernelTables.groupedTopKUs`).
    let torchGroupedTopK: Bool

    let tp: Int, dp: Int, gpus: Int
    /// The GPUs each expert's intermediate is split over (`ParallelPlan.moeShardGPUs`): TP x DP without EP, 1 under EP.
    let moeTP: Int
    /// One DP group (a TP rank of each DP rank, TP x PP GPUs apart) on the nodes: the group vLLM gathers the DP ranks'
    /// tokens over before each MoE layer.
    let dpGroup: ClusterTopology
    /// vLLM runs this plan's MoE layers sequence-parallel (`ParallelPlan.sequenceParallelMoE`).
    let sequenceParallelMoE: Bool
    /// The GPUs each MoE layer's gather and reduce-scatter run over (`ParallelPlan.moeExchangeGPUs`).
    let exchangeGPUs: Int
    let headsPerGPU: Int
    let kvBytesPerTokenLayer: Double
    let decodeFlopsPerTokenLayer: Double
    let prefillFlopsPerPair: Double
    /// The weights one token meets outside the LM head, and the LM head's (`computeShare`).
    let tokenParams: Double, headParams: Double
    let moeLayers: Int
    /// vLLM's Triton fused-MoE tiles for this model's bf16 experts on one GPU (`FusedMoEBlockM`), where the GPU has
    /// them and no quantized table prices the experts; resolved once, read per routing sample.
    let bf16FusedMoETiles: FusedMoEBlockM.Tiles?

    /// vLLM's Triton fused MoE for bf16 experts: which compiled kernel a step of `tokens` tokens runs
    /// (`FusedMoEBlockM.Tiles.kernelClass`), where one GPU's experts take the whole batch through it; nil with
    /// quantized experts (other kernels), expert or data parallelism or sequence-parallel MoE (tokens move between
    /// GPUs first, not modelled).
    public func fusedMoEKernelClass(tokens: Int) -> Int? {
        guard let tiles = bf16FusedMoETiles, let moe = model.moe, tokens > 0, moeTakesWholeBatch else { return nil }
        return tiles.kernelClass(tokens: tokens, experts: moe.experts, topK: moe.topK)
    }

    /// How long the compile of the fused-MoE kernels a step of `tokens` tokens runs takes, as a ratio to the
    /// configuration `moe_first_use_us` was measured on (`FusedMoEBlockM.CompileTimes`); 1 where not known.
    public func fusedMoECompileRatio(tokens: Int) -> Double {
        guard let tiles = bf16FusedMoETiles, let moe = model.moe, tokens > 0 else { return 1 }
        return tiles.compileRatio(tokens: tokens, experts: moe.experts)
    }

    /// Whether the profiles ship the configurations' compile times (else every ratio is 1).
    public var fusedMoECompileTimesKnown: Bool { bf16FusedMoETiles?.compile != nil }

    /// gpt-oss's MXFP4 experts (vLLM 0.24's Triton backend, OpenAI's triton_kernels): the Triton kernels a step of
    /// `tokens` tokens runs that are compiled per shape, each as a number equal for steps that share it, nil for other
    /// experts and with expert or data parallelism. Triton compiles a kernel for its constexpr arguments and for how it
    /// specializes each integer argument: 1, a multiple of 16, or neither.
    /// - `Mxfp4Kernel.routing`: `topk_forward` sizes its bitmatrix to the token count rounded up to 32, a constexpr of
    ///   `_topk_forward` and `_sum_bitmatrix_rows`, which also take the token count (vLLM's jit_monitor logged them at
    ///   1,536, 2,048, 8,192, 15,776 and 15,936 tokens on 2026-12-06, probe/results/2026-12-06-h100-vllm-ac2).
    /// - `.gatherMatmul` and `.scatterMatmul`: `matmul_ogs`'s two expert GEMMs. On Hopper (split-k held at 1 by vLLM,
    ///   no TMA for MXFP4 weights) the only tile that moves is block_m = max(16, min(next_pow2(rows / experts), 128))
    ///   for rows = tokens x top-k (`opt_flags.make_default_opt_flags_nvidia`); the integers that move are the first
    ///   GEMM's token count, the second's row count, and both grids' m, `RoutingData.n_blocks(rows, block_m)`. The
    ///   logged compile of the two (2026-12-06, 15,905 tokens: an odd count, its grid a multiple of 16) fits this.
    public func mxfp4Kernels(tokens t: Int) -> [Int]? {
        guard expertTables?.quantization == "w4a16_mxfp4", let moe = model.moe, t > 0, moeTakesWholeBatch else { return nil }
        let spec = FusedMoEBlockM.tritonSpecialization
        let rows = t * moe.topK, experts = max(moe.experts, 1)
        let perExpert = max(1, rows / experts)
        var bm = 16
        while bm < 128 && bm < perExpert { bm *= 2 }
        let gridM = rows <= experts ? rows : (rows - experts + 1 + bm - 1) / bm + experts - 1
        let tile = bm.trailingZeroBitCount   // 4...7
        return [Mxfp4Kernel.routing.rawValue | ((t + 31) / 32) << 4 | spec(t) << 2,
                Mxfp4Kernel.gatherMatmul.rawValue | tile << 8 | spec(t) << 4 | spec(gridM) << 2,
                Mxfp4Kernel.scatterMatmul.rawValue | tile << 8 | spec(rows) << 4 | spec(gridM) << 2]
    }

    /// Which of gpt-oss's per-shape Triton kernels an `mxfp4Kernels` number names (its low two bits).
    public enum Mxfp4Kernel: Int {
        case routing = 0, gatherMatmul = 1, scatterMatmul = 2
        public init(kernel: Int) { self = Mxfp4Kernel(rawValue: kernel & 3) ?? .routing }
    }

    /// Whether one GPU's MoE layer takes the step's whole batch: no expert or data parallelism, no sequence-parallel
    /// MoE (the two kernel lookups above).
    var moeTakesWholeBatch: Bool { !plan.expertParallel && plan.dataParallel == 1 && !sequenceParallelMoE }

    // Caches indexed by token count.
    let denseCache = CountCache(), elementwiseCache = CountCache()
    let attnGEMMCache = CountCache()
    let tpCommCache = CountCache()
    let lmCache = CountCache()
    var epCommCache: [Double] = []
    var moeCache: [[MoESample]?] = []
    let expertUsCache = CountCache()
    var sampleRNG: Xoshiro256
    var countsScratch: [Int]
    /// The routing's binomial samplers for `samplersTokens` tokens (built once per token count drawn).
    var samplers: [BinomialSampler] = [], samplersTokens = -1
    /// The placement's owners flattened: expert e of MoE layer l is held by `ownerFlat[ownerStart[l * E + e] ..<
    /// ownerStart[l * E + e + 1]]` (read in the routing loop without touching nested arrays).
    var ownerStart: [Int32] = [], ownerFlat: [Int32] = []
    /// Collectives that had no measured curve, and what they were derived from (reported in the result).
    public private(set) var derivedCollectives: Set<String> = []
    var checkedCollectives: Set<Collective> = []
    let lmCommCache = CountCache()
    /// Per component of the step, where its times came from (filled as the caches fill; see `sourceSummary`).
    public private(set) var componentSources: [String: Set<KernelSource>] = [:]
    /// Whether collectives come from the measured vLLM tables (they were measured on NVLink/NVSwitch hosts, so only
    /// with an interconnect that is a default candidate, not a named PCIe or derived profile).
    let tableCollectives: Bool

    @inline(__always)
    func note(_ component: String, _ s: KernelSource) {
        // Most steps note what the last note did (the attention kernel's source): skip hashing the component then.
        if let last = lastNote, last.source == s, last.component == component { return }
        if componentSources[component]?.contains(s) != true { componentSources[component, default: []].insert(s) }
        lastNote = (component, s)
    }
    var lastNote: (component: String, source: KernelSource)?

    /// The kernel tables used, for labels: the GPU's vLLM tables, and the fp8 block-scaled ones where they are used.
    public var kernelTablesLabel: String? {
        guard let t = kernels.tables else { return nil }
        guard let e = expertTables else { return t.provenance }
        let what = e.quantization == "fp8_block" ? "fp8" : VLLMKernelTables.quantizedMoEDescription(e.quantization ?? "")
        return "\(t.provenance); \(what) experts: \(e.name)"
    }

    /// Components with the sources their times came from, best first, e.g. ("experts", [.interpolated, .shapeModel]).
    public func sourceSummary() -> [(component: String, sources: [KernelSource])] {
        componentSources.keys.sorted().map { ($0, componentSources[$0]!.sorted()) }
    }

    func gemm(_ component: String, m: Int, n: Int, k: Int, weightBytes: Double = 2) -> Double {
        let r = kernels.gemm(m: m, n: n, k: k)
        if weightBytes != 2 || (fp8Compute && weightBytes < 2) {
            // The bf16 time carried by the roofline ratio: an estimate (labelled so).
            note(component, r.source == .roofline ? .roofline : .estimate)
            let M = Double(m), N = Double(n), K = Double(k)
            return r.us * kernels.quantizedRatio(flops: 2 * M * N * K, weightElements: N * K, activationBytes: 2 * (M * K + M * N),
                                                 weightBytes: weightBytes, fp8: fp8Compute)
        }
        note(component, r.source)
        return r.us
    }

    public struct MoESample: Sendable {
        /// Expert GEMM time summed over MoE layers, each layer at its slowest GPU (us).
        public var expertsUs: Double
        /// Mean over layers of (slowest GPU's token-expert pairs / mean GPU's pairs).
        public var imbalance: Double
    }

    public init(model: ModelArchitecture, plan: ParallelPlan, kernels: KernelCost, interconnect: InterconnectProfile?,
                routing: RoutingModel?, placement: ExpertPlacement?, seed: UInt64, topology: ClusterTopology? = nil) throws {
        self.model = model; self.plan = plan; self.kernels = kernels; self.interconnect = interconnect
        self.routing = routing; self.placement = placement
        let cluster = topology ?? .singleNode(gpus: plan.gpuCount)
        self.cluster = cluster
        // Each stage's GPUs (vLLM's rank order DP, PP, TP); the collectives see the stage spread over the most nodes.
        var widest = cluster
        if plan.pipelineParallel > 1 {
            for st in 0..<plan.pipelineParallel {
                var ranks: [Int] = []
                for d in 0..<plan.dataParallel { for t in 0..<plan.tensorParallel { ranks.append(plan.rank(dp: d, stage: st, tp: t)) } }
                let g = cluster.group(ranks)
                if st == 0 || (g.nodes, -g.gpusPerNode) > (widest.nodes, -widest.gpusPerNode) { widest = g }
            }
        }
        self.topology = widest
        let ranges = plan.stageLayerRanges(layers: model.layers)
        let moeTotal = max(model.moeLayerCount, 1)
        stageLayerShare = ranges.map { Double($0.count) / Double(model.layers) }
        stageMoEShare = ranges.map { r in Double(r.filter { model.ffn[$0].isMoE }.count) / Double(moeTotal) }
        // Dense FFN work (dense MLPs, shared experts, routers) by each stage's share of those parameters: DeepSeek's
        // leading dense layers all sit in the first stage.
        let denseParams = ranges.map { r in r.reduce(0.0) { $0 + model.denseFFNParams(layer: $1) } }
        let denseTotal = denseParams.reduce(0, +)
        stageDenseShare = denseTotal > 0 ? denseParams.map { $0 / denseTotal } : stageLayerShare
        // A hand-over crosses nodes when it does for any DP rank's pipeline.
        stageSendCrossesNodes = (0..<max(plan.pipelineParallel - 1, 0)).map { s in
            (0..<plan.dataParallel).contains { d in
                (0..<plan.tensorParallel).contains { t in cluster.crossesNodes(plan.rank(dp: d, stage: s, tp: t), plan.rank(dp: d, stage: s + 1, tp: t)) }
            }
        }
        let q = model.quantization
        linearBytes = q.linearBytes; expertBytes = q.expertBytes; fp8Compute = q.fp8Compute && kernels.gpu.peakFP8TFLOPs != nil
        tp = plan.tensorParallel; dp = plan.dataParallel; gpus = plan.stageGPUs; moeTP = plan.moeShardGPUs
        dpGroup = cluster.group((0..<plan.dataParallel).map { plan.rank(dp: $0, stage: 0, tp: 0) })
        sequenceParallelMoE = plan.sequenceParallelMoE(model)
        exchangeGPUs = plan.moeExchangeGPUs(model)
        if q.fp8BlockScaled && fp8Compute {
            expertTables = kernels.tables?.fp8Block
        } else if let key = q.moeTable, key != "fp8_block", let t = kernels.tables?.quantizedMoE[key], let moe = model.moe,
                  t.hasMeasured(shape: MoEShape(hidden: model.hidden, inter: moe.expertIntermediate, topK: moe.topK, experts: moe.experts),
                                tp: plan.moeShardGPUs, ep: plan.expertParallel ? plan.stageGPUs : 1) {
            // These tables measured one or a few shapes each (MXFP4: gpt-oss's; int4: Kimi-K2's): used where this shape
            // and TP/EP degree were measured, never through their shape model for an unmeasured one.
            expertTables = t
        } else {
            expertTables = nil
        }
        if plan.gpuCount > 1 && cluster.gpusPerNode > 1 && interconnect == nil {
            throw InputError.data("no interconnect profile applies to \(kernels.gpu.name) with \(gpus) GPUs; give one with --interconnect")
        }
        headsPerGPU = model.heads / tp
        let attn = Self.attentionTable(kernels: kernels, model: model, tp: tp, headsPerGPU: headsPerGPU)
        attentionTable = attn
        decodeAttentionGrid = attn.flatMap { kernels.tables?.generationGrid(heads: $0.heads, kvHeads: $0.kvHeads) }
        prefillAttentionGrid = attn.flatMap { kernels.tables?.contextGrid(heads: $0.heads, kvHeads: $0.kvHeads) }
        // MLA: the module rows of this head count per GPU, projection dtype (bf16, or fp8 with 128x128 block scales on
        // fp8 tensor cores) and KV-cache dtype; other quantizations keep the granular model.
        let mlaGemm: String? = !q.isQuantized ? "bfloat16" : (q.fp8BlockScaled && fp8Compute ? "fp8_block" : nil)
        let mlaKV: String? = model.kvCacheBytes == 2 ? "bfloat16" : (model.kvCacheBytes == 1 ? "fp8" : nil)
        if let g = mlaGemm, let kv = mlaKV, !model.isDiffusion, let t = kernels.tables?.mla {
            mlaModule = t.select(hidden: model.hidden, attention: model.attention, headsPerGPU: headsPerGPU, gemm: g, kvCache: kv)
                ?? t.selectReprojected(hidden: model.hidden, attention: model.attention, headsPerGPU: headsPerGPU, gemm: g, kvCache: kv)
        } else {
            mlaModule = nil
        }
        if let m = mlaModule, m.reprojected, case let .mla(_, kvLora, _, rope, _) = model.attention, let k = kernels.tables?.mlaDecodeKernel,
           k.heads == headsPerGPU, k.kvLoraRank == kvLora, k.ropeDim == rope, k.kvCache == m.key.kvCache {
            mlaDecodeKernel = k
        } else {
            mlaDecodeKernel = nil
        }
        torchGroupedTopK = model.torchGroupedTopK && kernels.tables?.torchGroupedTopK != nil
        kvBytesPerTokenLayer = model.kvElementsPerTokenPerLayer(tensorParallel: tp) * model.kvCacheBytes
        switch model.attention {
        case .gqa:
            decodeFlopsPerTokenLayer = 4 * Double(headsPerGPU * model.headDim)
            prefillFlopsPerPair = 4 * Double(headsPerGPU * model.headDim)
        case let .mla(_, kvLora, nope, rope, v):
            decodeFlopsPerTokenLayer = 2 * Double(headsPerGPU) * Double(2 * kvLora + rope)
            prefillFlopsPerPair = 2 * Double(headsPerGPU) * Double(nope + rope + v)
        }
        headParams = Double(model.vocab) * Double(model.hidden)
        tokenParams = max(0, model.activeParams - headParams)
        moeLayers = model.moeLayerCount
        if let moe = model.moe, expertTables == nil, expertBytes == 2, let bm = kernels.gpu.fusedMoEBlockM {
            // The experts and width of one GPU's share, as `sampleMoE` prices them.
            let groups = plan.expertParallel ? gpus : 1
            bf16FusedMoETiles = bm.tiles(gpu: kernels.gpu.name, experts: moe.experts / groups,
                                         width: moe.expertIntermediate / plan.moeShardGPUs)
        } else {
            bf16FusedMoETiles = nil
        }
        if model.kvCacheBytes != 2 {
            // Per cached token: bytes read against FLOPs; the ratio does not depend on the context length.
            let e = model.kvElementsPerTokenPerLayer(tensorParallel: tp)
            let peak = kernels.gpu.peakFLOPs, bw = kernels.gpu.peakBytesPerSecond
            kvAttentionRatio = max(decodeFlopsPerTokenLayer / peak, e * model.kvCacheBytes / bw) / max(decodeFlopsPerTokenLayer / peak, e * 2 / bw)
        } else {
            kvAttentionRatio = 1
        }
        if q.isQuantized {
            var a = "\(q.method) weights: bytes per weight \(String(format: "%.4g", q.expertBytes)) (experts), \(String(format: "%.4g", q.linearBytes)) (other linear layers)"
            if let f = expertTables, f.quantization == "fp8_block" {
                a += "; experts from the measured fp8 block-scaled fused-MoE table (\(f.provenance)); the other GEMMs are the measured bf16 tables scaled by the fp8 roofline ratio (no usable measured fp8 GEMM table: an estimate, labelled 'estimate' in the kernel times)"
                if mlaModule != nil { a += " except the MLA attention projections, measured with the attention in the fp8_block MLA module table" }
            } else if let f = expertTables {
                a += "; experts from the measured \(VLLMKernelTables.quantizedMoEDescription(f.quantization ?? "")) fused-MoE table (\(f.provenance)) at this shape and TP/EP degree"
                a += q.linearBytes == 2 && !q.fp8Compute ? "; the other GEMMs are bf16 (measured bf16 tables)"
                    : "; the other GEMMs are the measured bf16 tables scaled by the \(fp8Compute ? "fp8" : "weight-only") roofline ratio (no measured \(q.method) GEMM table: an estimate, labelled 'estimate' in the kernel times)"
            } else if kernels.tables != nil {
                a += "; kernel times are the measured bf16 tables scaled by the \(fp8Compute ? "fp8" : "weight-only") roofline ratio (no measured \(q.method) table is used: an estimate)"
            }
            if q.fp8Compute && !fp8Compute { a += "; \(kernels.gpu.name) has no fp8 tensor cores: bf16 compute assumed" }
            assumptions.insert(a)
        }
        if let m = mlaModule, m.reprojected {
            assumptions.insert("MLA attention: each layer's attention block from AIConfigurator's measured vLLM 0.24.0 module table (\(m.description)): those rows ran vLLM's MLA kernel, absorbed W_UK/W_UV BMMs, RoPE and q/kv norms at this model's attention shape (kv_lora \(m.tables.dims.kvLoraRank), nope/rope/v head dims \(m.tables.dims.qkNopeHeadDim)/\(m.tables.dims.qkRopeHeadDim)/\(m.tables.dims.vHeadDim), \(m.key.heads) heads on the GPU) but its projections at \(m.tables.model)'s (hidden \(m.tables.dims.hidden), q_lora \(m.tables.dims.qLoraRank)): assumed the rest of the block does not depend on the hidden size, the projection GEMMs vLLM runs there (fused q_a/kv_a, q_b, kv_b, o_proj, and the q_a RMSNorm pass) are taken out by the granular model (GEMM table) and this model's (\(model.hidden) hidden, \(Self.mlaQLoraText(model.attention))) put in, labelled 'MLA module projections re-priced'; never below this model's projections alone; outside the measured grid the granular model (GEMM table + roofline kernel)" + (mlaDecodeKernel != nil ? "; decode sequences instead take vLLM's own MLA decode kernel, \(mlaDecodeKernel!.origin) (labelled 'MLA decode kernel') with the latent cache write, only the prompt chunks the rows' remainder" : ""))
        } else if let m = mlaModule {
            assumptions.insert("MLA attention: each layer's whole attention block (q/kv down- and up-projections, the MLA kernel, o_proj) from AIConfigurator's measured vLLM 0.24.0 module table (\(m.description)), log-log in batch and length, labelled 'MLA attention module'; the granular projection GEMMs and kernel are not added. A step mixing decode and prefill, a prefill chunk after a prefix (priced at the prompt length with its query-key pairs) or speculative verify tokens add the decode and prefill rows and swap the projection GEMMs of the tokens the rows ran for those of the step's tokens (the granular GEMM model's difference); outside the measured grid the granular model (GEMM table + roofline kernel)")
        } else if case .mla = model.attention, kernels.tables?.mla != nil {
            assumptions.insert("MLA attention: the measured vLLM module table does not apply (it holds DeepSeek-V3's MLA shape, bf16 or fp8_block projections, bf16 or fp8 KV; a model with the same kv_lora/head dims uses its rows at the same heads per GPU with re-priced bf16 projections): projections from the GEMM table, kernel from the roofline")
        }
        if attentionTable != nil, model.headDim != 128 {
            assumptions.insert("head dim \(model.headDim): attention kernels from the measured head-dim-128 rows at the same head counts (vLLM's gpt-oss-20b, head dim 64, ran its decode attention at 0.9-1.3x those rows and a 2,048-token prompt's at about 0.75x)")
        }
        if model.kvCacheBytes != 2 && !model.isDiffusion && mlaModule == nil {
            assumptions.insert(String(format: "fp8 KV cache: attention kernels are the measured bf16-KV times scaled by the roofline ratio %.2f (no measured fp8-KV table)", kvAttentionRatio))
        }
        tableCollectives = kernels.tables != nil && (interconnect?.isDefaultCandidate ?? false)
        sampleRNG = Xoshiro256(seed: seed, stream: 0xC057)
        countsScratch = Array(repeating: 0, count: model.moe?.experts ?? 0)
        if plan.expertParallel, let pl = placement {
            ownerStart = [0]
            for layer in pl.owners { for o in layer { ownerFlat += o.map { Int32($0) }; ownerStart.append(Int32(ownerFlat.count)) } }
        }
    }

    // MARK: collectives

    /// Time of a collective in microseconds: within a node from the measured curves (derived from link bandwidth
    /// when the profile has none), across nodes hierarchical over the network profile (`ClusterTopology`).
    public func collectiveUs(_ c: Collective, bytes: Double, gpus p: Int) -> Double {
        if p <= 1 || bytes <= 0 { return 0 }
        if topology.isMultiNode && p > topology.gpusPerNode { return acrossNodesUs(c, bytes: bytes, gpus: p, on: topology) }
        return intraCollectiveUs(c, bytes: bytes, gpus: p)
    }

    /// A collective over `p` GPUs spanning the nodes of `t`: hierarchical over the network profile (noted as derived).
    func acrossNodesUs(_ c: Collective, bytes: Double, gpus p: Int, on t: ClusterTopology) -> Double {
        note("collectives", .derived)
        if let net = t.network {
            assumptions.insert("collectives across \(t.nodes) nodes: hierarchical (NVLink within a node, \(net.name) across at \(Limits.fmt(net.nicBusGBps)) GB/s per NIC bus bandwidth and \(Limits.fmt(net.latencyUs)) us per network step, nccl-tests figures); no multi-node collective was measured")
        }
        return t.collectiveUs(c, bytes: bytes, gpus: p) { self.intraCollectiveUs($0, bytes: $1, gpus: $2) }
    }

    /// Where a collective within a node is priced from, in the order `intraCollectiveUs` tries them.
    public enum CollectiveOrigin: Equatable, Sendable {
        /// The NCCL curves of the GPU's measured vLLM kernel tables (their name), at exactly this GPU count.
        case kernelTables(String)
        /// The interconnect profile's curves (its name), measured or derived from its other curves.
        case interconnect(String)
        /// Neither has a curve: a ring over the interconnect's link bandwidth (25 GB/s without one).
        case linkBandwidth
    }

    /// Where `c` over `p` GPUs of one node is priced from (`intraCollectiveUs`): the measured tables' curve when the
    /// tables have one at that count and the interconnect is a default candidate (the tables were measured on NVLink
    /// hosts; a named PCIe or derived profile keeps its own curves), else the interconnect's curves, else its link
    /// bandwidth.
    public static func collectiveOrigin(_ c: Collective, gpus p: Int, tables: VLLMKernelTables?, interconnect: InterconnectProfile?) -> CollectiveOrigin {
        if let t = tables, interconnect?.isDefaultCandidate ?? false, t.hasCollective(c, gpus: p) { return .kernelTables(t.name) }
        if let ic = interconnect, ic.timeUs(c, bytes: 1, gpus: p) != nil { return .interconnect(ic.name) }
        return .linkBandwidth
    }

    /// `collectiveOrigin` in words, for `explain` and `run`: what priced each collective within a node of `uses`
    /// (collective, GPUs), those of the same origin named together, and, where the measured tables did, that the
    /// interconnect profile's own curves were not used for them.
    public static func collectiveOriginText(_ uses: [(Collective, Int)], tables: VLLMKernelTables?, interconnect: InterconnectProfile?) -> String {
        var groups: [(origin: CollectiveOrigin, uses: [(Collective, Int)])] = []
        for (c, p) in uses {
            let o = collectiveOrigin(c, gpus: p, tables: tables, interconnect: interconnect)
            if let i = groups.firstIndex(where: { $0.origin == o }) { groups[i].uses.append((c, p)) } else { groups.append((o, [(c, p)])) }
        }
        // "all_reduce at 2 GPUs, all_gather and all_reduce at 4 GPUs"
        func names(_ u: [(Collective, Int)]) -> String {
            var counts: [Int] = []
            for (_, p) in u where !counts.contains(p) { counts.append(p) }
            return counts.map { p in u.filter { $0.1 == p }.map(\.0.rawValue).joined(separator: " and ") + " at \(p) GPUs" }.joined(separator: ", ")
        }
        return groups.map { g in
            let what = names(g.uses) + " from "
            switch g.origin {
            case .kernelTables(let name):
                return what + "the measured vLLM kernel tables \(name) (NCCL on \(tables?.gpuName ?? "this GPU")'s NVLink host)"
                    + (interconnect.map { ", which take precedence over interconnect \($0.name)'s curves" } ?? "")
            case .interconnect(let name):
                let derived = g.uses.filter { !(interconnect?.gpuCounts($0.0).contains($0.1) ?? false) }
                return what + "interconnect \(name)'s curves" + (derived.isEmpty ? "" : " (derived for \(names(derived)): no curve of their own there)")
            case .linkBandwidth:
                return what + (interconnect.map { "interconnect \($0.name)'s link bandwidth (\(Limits.fmt($0.linkBandwidthGBps)) GB/s; no curve applies)" } ?? "an assumed 25 GB/s link (no interconnect profile)")
            }
        }.joined(separator: "; ")
    }

    func intraCollectiveUs(_ c: Collective, bytes: Double, gpus p: Int) -> Double {
        if p <= 1 || bytes <= 0 { return 0 }
        if tableCollectives, let t = kernels.tables?.collectiveUs(c, bytes: bytes, gpus: p) {
            note("collectives", .interpolated)
            return t
        }
        if let ic = interconnect, let t = ic.timeUs(c, bytes: bytes, gpus: p) {
            note("collectives", ic.gpuCounts(c).isEmpty ? .derived : .interpolated)
            if !checkedCollectives.contains(c) {
                checkedCollectives.insert(c)
                if ic.gpuCounts(c).isEmpty {
                    derivedCollectives.insert(c == .allToAll ? "all_to_all derived from the send_recv curve" : "\(c.rawValue) derived from the all_reduce curve")
                }
            }
            return t
        }
        derivedCollectives.insert("\(c.rawValue) derived from link bandwidth")
        note("collectives", .derived)
        let link = (interconnect?.linkBandwidthGBps ?? 25) * 1e9
        let factor: Double
        switch c {
        case .allReduce: factor = 2 * Double(p - 1) / Double(p)
        case .sendRecv: factor = 1
        default: factor = Double(p - 1) / Double(p)
        }
        return 10 + bytes * factor / link * 1e6
    }

    // MARK: per-layer pieces (one GPU, T tokens)

    /// Attention projections (QKV or MLA projections, output) for T tokens on one GPU.
    public func attentionGEMMUs(tokens t: Int) -> Double {
        let h = model.hidden
        func g(m: Int, n: Int, k: Int) -> Double { gemm("attention projections", m: m, n: n, k: k, weightBytes: linearBytes) }
        switch model.attention {
        case .gqa:
            let kvPerGPU = max(1, model.kvHeads / tp)
            return g(m: t, n: (headsPerGPU + 2 * kvPerGPU) * model.headDim, k: h)
                + g(m: t, n: h, k: headsPerGPU * model.headDim)
        case let .mla(qLora, kvLora, nope, rope, v):
            var s = 0.0
            if let ql = qLora { s += g(m: t, n: ql, k: h) + g(m: t, n: headsPerGPU * (nope + rope), k: ql) }
            else { s += g(m: t, n: headsPerGPU * (nope + rope), k: h) }
            s += g(m: t, n: kvLora + rope, k: h)
            s += g(m: t, n: headsPerGPU * (nope + v), k: kvLora)
            return s + g(m: t, n: h, k: headsPerGPU * v)
        }
    }

    /// The non-expert FFN work of layer `l` for T tokens: dense MLP, shared experts, router.
    public func denseFFNUs(layer l: Int, tokens t: Int) -> Double {
        let f = model.ffn[l], h = model.hidden
        func g(m: Int, n: Int, k: Int) -> Double { gemm("dense GEMMs", m: m, n: n, k: k, weightBytes: linearBytes) }
        var s = 0.0
        if f.denseIntermediate > 0 { s += g(m: t, n: 2 * f.denseIntermediate / tp, k: h) + g(m: t, n: h, k: f.denseIntermediate / tp) }
        if f.isMoE && sequenceParallelMoE {
            // Sequence-parallel MoE: the router and the shared experts, unsharded (disable_tp), on this rank's 1/TP of
            // the tokens.
            let chunk = (t + tp - 1) / tp
            if f.sharedIntermediate > 0 { s += g(m: chunk, n: 2 * f.sharedIntermediate, k: h) + g(m: chunk, n: h, k: f.sharedIntermediate) }
            return s + gemm("dense GEMMs", m: chunk, n: f.experts, k: h) + kernels.memoryUs(bytes: Double(chunk * f.experts * 4))
        }
        if f.sharedIntermediate > 0 { s += g(m: t, n: 2 * f.sharedIntermediate / tp, k: h) + g(m: t, n: h, k: f.sharedIntermediate / tp) }
        if f.isMoE { s += gemm("dense GEMMs", m: t, n: f.experts, k: h) + kernels.memoryUs(bytes: Double(t * f.experts * 4)) }
        return s
    }

    /// Layer `l`'s grouped top-k router as vLLM runs it in PyTorch operations for T tokens (`torchGroupedTopK`, the
    /// measured curve `VLLMKernelTables.groupedTopKUs`); 0 for a layer without routed experts or a model routed otherwise.
    /// vLLM's steps only (`denseUs`): the Transformers engine prices its own layers.
    public func vllmRouterUs(layer l: Int, tokens t: Int) -> Double {
        guard torchGroupedTopK, model.ffn[l].isMoE, let r = kernels.tables?.groupedTopKUs(tokens: t) else { return 0 }
        note("grouped top-k router", .interpolated)
        return r
    }

    /// Norms, rotary embedding, residual adds and activations of one layer as eager PyTorch runs them (the
    /// Transformers engine): memory-bound passes over the hidden state.
    public func elementwiseUs(tokens t: Int) -> Double {
        note("elementwise", .roofline)
        return kernels.memoryUs(bytes: Double(t) * Double(model.hidden) * 2 * 8)
    }

    /// Layer `l`'s elementwise kernels in vLLM's compiled graph for T tokens on one GPU: each of the kernels
    /// `ModelArchitecture.elementwiseKernels` counts costs the GPU's smallest kernel time (`KernelCost.minKernelUs`,
    /// the launch-and-drain floor inside a CUDA graph) plus its share of their traffic at the achieved bandwidth.
    /// Against vLLM 0.24.0's profiled decode steps on the H200 (seven models, 1-1,024 sequences; 2026-12-04) a least-
    /// squares fit of the floor and the bandwidth gives 1.90 us and 4.4 TB/s, near the 2.0 us and 4.66 TB/s used
    /// (`probe/vllm/elementwise.py`; per layer within about 30%: pointwise kernels run faster than the norms'
    /// reductions). MLA's own elementwise kernels are left out where its measured module rows price the attention
    /// block.
    public func compiledElementwiseUs(layer l: Int, tokens t: Int) -> Double {
        if t <= 0 { return 0 }
        note("elementwise", .roofline)
        let e = model.elementwiseKernels(layer: l, tensorParallel: tp, includingMLA: mlaModule == nil || mlaDecodeKernel != nil)
        return Double(e.kernels) * KernelCost.minKernelUs + Double(t) * e.bytesPerToken / kernels.gpu.achievedBytesPerSecond * 1e6
    }

    /// `compiledElementwiseUs` summed over every layer (cached per token count: the pipeline split takes it every step).
    func compiledElementwiseAllLayersUs(tokens t: Int) -> Double {
        if let v = elementwiseCache[t] { return v }
        let v = (0..<model.layers).reduce(0.0) { $0 + compiledElementwiseUs(layer: $1, tokens: t) }
        elementwiseCache.store(v, at: t)
        return v
    }

    /// Attention kernels of every layer on one GPU for a batch: sliding-window layers attend through their window.
    public func attentionKernelsUs(_ b: BatchShape) -> Double {
        let sliding = model.slidingWindow > 0 ? model.slidingLayers : 0
        let full = Double(model.layers - sliding) * attentionKernelUs(b)
        return sliding > 0 ? full + Double(sliding) * attentionKernelUs(b.windowed(model.slidingWindow)) : full
    }

    /// Where a row of `attentionTable` came from for this model: the row's own source at its own head pair and head
    /// dim 128, else at best interpolated (another pair's rows at a scaled batch, or the head-dim-128 rows).
    @inline(__always) func attentionRowSource(_ s: KernelSource, _ at: (heads: Int, kvHeads: Int, batchScale: Double)) -> KernelSource {
        at.batchScale == 1 && model.headDim == 128 ? s : max(s, .interpolated)
    }

    /// Attention kernels of one layer on one GPU for a batch.
    public func attentionKernelUs(_ b: BatchShape) -> Double {
        var s = 0.0
        let table = attentionTable
        // Tokens of shared blocks read again by another sequence of the batch (found in L2) cost this much of a token
        // of a sequence's own (`GPUProfile.sharedKVReadRatio`; 1 where not measured).
        let shared = b.decodeSharedContext > 0 ? kernels.gpu.sharedKVReadRatio ?? 1 : 1
        if b.decodeSequences > 0, let at = table, let g = decodeAttentionGrid,
           let t = VLLMKernelTables.attentionUs(g, sequences: Double(b.decodeSequences) * at.batchScale,
                                                length: b.decodeContext / Double(b.decodeSequences)) {
            note("attention kernel", attentionRowSource(t.source, at))
            var us = t.us
            // The table's rows read every sequence's context from HBM: the time the re-read tokens add beyond the
            // sequences' other tokens is scaled by the ratio.
            if shared < 1, let own = VLLMKernelTables.attentionUs(g, sequences: Double(b.decodeSequences) * at.batchScale,
                                                                  length: max(1, (b.decodeContext - b.decodeSharedContext) / Double(b.decodeSequences))) {
                us = own.us + shared * max(0, t.us - own.us)
            }
            s += us * kvAttentionRatio
        } else if b.decodeSequences > 0 {
            note("attention kernel", .roofline)
            s += kernels.decodeAttentionUs(contextTokens: b.decodeContext - (1 - shared) * b.decodeSharedContext, kvBytesPerTokenLayer: kvBytesPerTokenLayer,
                                           flopsPerTokenLayer: decodeFlopsPerTokenLayer, sequences: b.decodeSequences)
        }
        if b.prefillPairs > 0, b.prefillSequences > 0, !model.isDiffusion, let at = table {
            // The table holds whole causal prompts, so a chunk after a prefix is priced as the whole prompt with the
            // same query-key pairs per sequence: length L with L(L+1)/2 = pairs (L = q for a prompt without prefix).
            // Scaling the table at the chunk's own length q by pairs / (q(q+1)/2) instead grossly overcharged short
            // chunks after long prefixes: at tiny q the table time is mostly the kernel's fixed cost.
            let x = b.prefillPairs / Double(b.prefillSequences)
            let length = ((8 * x + 1).squareRoot() - 1) / 2
            if length >= 1, let g = prefillAttentionGrid,
               let t = VLLMKernelTables.attentionUs(g, sequences: Double(b.prefillSequences) * at.batchScale, length: length) {
                note("attention kernel", attentionRowSource(t.source, at))
                return s + t.us
            }
        }
        if b.prefillPairs > 0 {
            note("attention kernel", .roofline)
            let bytes = (model.isDiffusion ? Double(b.tokens) * Double(2 * model.kvHeads / tp * model.headDim) * 2 : b.prefillContext * kvBytesPerTokenLayer)
            s += kernels.prefillAttentionUs(flops: b.prefillPairs * prefillFlopsPerPair, bytes: bytes)
        }
        return s
    }

    /// One layer's whole MLA attention block on one GPU for a batch from the measured vLLM module rows (`mlaModule`):
    /// projections, kernel and o_proj together, so `attentionGEMMUs` and `attentionKernelUs` are not added to it. nil
    /// when the rows do not apply or the batch lies outside their grid.
    ///
    /// Decode sequences take the generation rows at their mean attended length, prefill chunks the context rows at the
    /// prompt length with the chunks' query-key pairs per sequence (L(L+1)/2 = pairs, as for the measured GQA tables;
    /// the rows have no prefix). Each row ran the projections for its own tokens (decode: one per sequence; prefill:
    /// sequences x L), while the step runs them once for its tokens: when these differ (mixed steps, chunks after a
    /// prefix, speculative verify tokens) the granular projection model's difference swaps them, never going below the
    /// step's projections alone. With a `reprojected` selection (another model's rows with this model's attention shape)
    /// every row's projections at the measured model's shapes come out (`mlaModuleGEMMUs`, each row's remainder kept
    /// non-negative) and this model's projections for the step's tokens go in.
    public func mlaModuleUs(_ b: BatchShape) -> Double? {
        guard let m = mlaModule, b.tokens > 0 else { return nil }
        var rows: [Double] = [], parts: [Int] = []
        var sources: [KernelSource] = []
        if b.decodeSequences > 0 {
            guard let r = m.tables.decodeUs(m, sequences: b.decodeSequences, kvLen: b.decodeContext / Double(b.decodeSequences)) else { return nil }
            rows.append(r.us); parts.append(b.decodeSequences); sources.append(r.source)
        }
        if b.prefillSequences > 0, b.prefillPairs > 0 {
            let x = b.prefillPairs / Double(b.prefillSequences)
            let length = max(1, ((8 * x + 1).squareRoot() - 1) / 2)
            guard let r = m.tables.prefillUs(m, sequences: b.prefillSequences, inputLen: length) else { return nil }
            rows.append(r.us); parts.append(max(1, Int((Double(b.prefillSequences) * length).rounded()))); sources.append(r.source)
        }
        if parts.isEmpty { return nil }
        if m.reprojected {
            // Each row less the projections it ran at the measured model's shapes (its tokens), kept non-negative: the
            // MLA kernel, BMMs, RoPE and norms at this model's attention shape; plus this model's projections for the step.
            // With vLLM's own decode kernel measured for this shape (`mlaDecodeKernel`), the decode row's remainder is
            // that kernel and the cache write instead (the BMMs are in the projections, the RoPE and latent norm in
            // `compiledElementwiseUs`).
            let d = m.tables.dims
            var rest = 0.0, first = 0
            if b.decodeSequences > 0, let k = mlaDecodeKernel,
               let r = k.us(sequences: Double(b.decodeSequences), context: b.decodeContext / Double(b.decodeSequences)) {
                note("MLA decode kernel", r.source)
                rest += r.us + kernels.memoryUs(bytes: Double(b.decodeSequences) * Double(d.kvLoraRank + d.qkRopeHeadDim) * model.kvCacheBytes)
                first = 1
            }
            for s in sources.dropFirst(first) { note("MLA attention module", s) }
            for (r, n) in zip(rows, parts).dropFirst(first) {
                var rowGEMM: Double
                if let v = mlaRowsGEMMCache[n] { rowGEMM = v } else {
                    rowGEMM = mlaModuleGEMMUs(tokens: n, hidden: d.hidden, qLora: d.qLoraRank)
                    mlaRowsGEMMCache.store(rowGEMM, at: n)
                }
                rest += max(0, r - rowGEMM)
            }
            var own: Double
            if let v = mlaOwnGEMMCache[b.tokens] { own = v } else {
                own = mlaModuleGEMMUs(tokens: b.tokens, hidden: model.hidden, qLora: mlaQLora)
                mlaOwnGEMMCache.store(own, at: b.tokens)
            }
            return rest + own
        }
        for s in sources { note("MLA attention module", s) }
        var us = rows.reduce(0, +)
        if parts.count > 1 || parts[0] != b.tokens {
            let per = 1 / Double(model.layers)
            let step = attentionProjectionsUs(tokens: b.tokens) * per
            us += step - parts.reduce(0) { $0 + attentionProjectionsUs(tokens: $1) * per }
            us = max(us, step)
        }
        return us
    }

    /// This model's q_lora rank (nil: none, the query projected from the hidden state directly).
    var mlaQLora: Int? { if case let .mla(q, _, _, _, _) = model.attention { return q } else { return nil } }
    static func mlaQLoraText(_ a: AttentionKind) -> String {
        if case let .mla(q, _, _, _, _) = a, let q { return "q_lora \(q)" }
        return "no q_lora"
    }
    let mlaRowsGEMMCache = CountCache(), mlaOwnGEMMCache = CountCache()

    /// The projection work vLLM's `DeepseekV2MLAAttention` runs for `tokens` tokens on one GPU with this model's MLA
    /// head dims and heads per GPU, at hidden size `hidden` and q_lora rank `qLora`: with a q_lora rank the fused q_a/kv_a
    /// down-projection (hidden -> q_lora + kv_lora + rope), the q_a RMSNorm (a memory pass) and q_b_proj; without one
    /// q_proj (hidden -> heads x (nope + rope)) and kv_a_proj_with_mqa (hidden -> kv_lora + rope); then kv_b (its decode
    /// form, the absorbed W_UK/W_UV BMMs, reads the same weights) and o_proj. GEMMs from the measured GEMM table
    /// (labelled 'MLA module projections re-priced'). Used to swap the projections of measured MLA module rows
    /// (`mlaModuleUs` with a `reprojected` selection).
    public func mlaModuleGEMMUs(tokens t: Int, hidden h: Int, qLora: Int?) -> Double {
        guard case let .mla(_, kvLora, nope, rope, v) = model.attention, t > 0 else { return 0 }
        func g(m: Int, n: Int, k: Int) -> Double { gemm("MLA module projections re-priced", m: m, n: n, k: k, weightBytes: linearBytes) }
        var s = 0.0
        if let ql = qLora {
            s += g(m: t, n: ql + kvLora + rope, k: h) + g(m: t, n: headsPerGPU * (nope + rope), k: ql)
            s += kernels.memoryUs(bytes: Double(t) * Double(ql) * 2 * 2)
        } else {
            s += g(m: t, n: headsPerGPU * (nope + rope), k: h) + g(m: t, n: kvLora + rope, k: h)
        }
        s += g(m: t, n: headsPerGPU * (nope + v), k: kvLora)
        return s + g(m: t, n: h, k: headsPerGPU * v)
    }

    /// Query and KV heads per GPU when the measured attention tables apply (GQA, head_dim 128), else nil.
    var attentionTableHeads: (Int, Int)? { attentionTable.map { ($0.heads, $0.kvHeads) } }

    /// The measured attention rows that price this model's attention on one GPU: its own (query, KV) head counts,
    /// or, where the tables lack them, a measured pair with the same number of query heads per KV head, with the
    /// batch scaled by the ratio of KV heads (FlashAttention splits the work into sequences x KV heads, each reading
    /// its KV head's context for its group of query heads: 16 query and 16 KV heads at batch B run as 8 and 8 at
    /// batch 2B). nil without tables, or when no pair of the same group size was measured.
    ///
    /// The tables hold head dim 128 only; a smaller head dim takes the same rows unscaled. A decode step's attention
    /// is bound by the kernel's fixed and per-score work (tile setup, softmax, the split-KV combine), not by the head
    /// dim. Measured in vLLM 0.24's own steps (probe/results/2026-12-04-h200-vllm-g, PyTorch profiler): gpt-oss-20b
    /// (head dim 64, 64 query and 8 KV heads, half its layers sliding through 128 tokens) spent 16, 39, 116 and 290
    /// us per layer in its attention kernels at 1, 64, 256 and 1,024 decode sequences, against 12.5, 43, 128 and 310
    /// from the rows (the roofline it replaces gave 2-84). Its 8 x 2,048-token prompt step ran FlashAttention at about
    /// 0.75x the rows (0.5x would be the FLOP ratio): kept unscaled rather than add a factor fitted to one step.
    /// A head dim above 128 keeps the roofline.
    let attentionTable: (heads: Int, kvHeads: Int, batchScale: Double)?
    /// The measured decode and prefill attention grids of `attentionTable`'s head pair (looked up once).
    let decodeAttentionGrid: VLLMKernelTables.AttnGrid?, prefillAttentionGrid: VLLMKernelTables.AttnGrid?

    static func attentionTable(kernels: KernelCost, model: ModelArchitecture, tp: Int, headsPerGPU: Int) -> (heads: Int, kvHeads: Int, batchScale: Double)? {
        guard let t = kernels.tables, case .gqa = model.attention, model.headDim <= 128 else { return nil }
        let hq = headsPerGPU, hkv = max(1, model.kvHeads / tp)
        if t.hasAttention(heads: hq, kvHeads: hkv) { return (hq, hkv, 1) }
        guard hq % hkv == 0 else { return nil }
        let group = hq / hkv
        // Fewer KV heads at a larger batch first (the tables reach batch 2048), then more at a smaller one.
        var g = 2
        while g <= hkv {
            if hkv % g == 0, t.hasAttention(heads: group * (hkv / g), kvHeads: hkv / g) { return (group * (hkv / g), hkv / g, Double(g)) }
            g *= 2
        }
        for m in [2, 4, 8, 16] where t.hasAttention(heads: group * hkv * m, kvHeads: hkv * m) { return (group * hkv * m, hkv * m, 1 / Double(m)) }
        return nil
    }

    /// Tensor-parallel all-reduce of T tokens' hidden states (paper eq. 2 volume), one call.
    public func tpAllReduceUs(tokens t: Int) -> Double {
        collectiveUs(.allReduce, bytes: Double(t * model.hidden) * model.bytesPerParam, gpus: tp)
    }

    // MARK: cached whole-model sums


    /// Attention projections plus dense FFNs plus elementwise work of all layers, one GPU, T tokens.
    public func denseUs(tokens t: Int) -> Double {
        if t == 0 { return 0 }
        if let v = denseCache[t] { return v }
        var s = 0.0
        var lastSpec: FFNSpec? = nil, lastCost = 0.0
        for l in 0..<model.layers {
            if model.ffn[l] != lastSpec {
                lastSpec = model.ffn[l]
                lastCost = denseFFNUs(layer: l, tokens: t) + vllmRouterUs(layer: l, tokens: t) + compiledElementwiseUs(layer: l, tokens: t)
            }
            s += lastCost
        }
        let v = s
        denseCache.store(v, at: t)
        return v
    }

    public func attentionProjectionsUs(tokens t: Int) -> Double {
        if t == 0 { return 0 }
        if let v = attnGEMMCache[t] { return v }
        let v = Double(model.layers) * attentionGEMMUs(tokens: t)
        attnGEMMCache.store(v, at: t)
        return v
    }

    /// LM head for `rows` sampled sequences (vocabulary-parallel under TP) plus the logits gather.
    public func lmHeadUs(rows r: Int) -> (compute: Double, comm: Double) {
        if r == 0 { return (0, 0) }
        var compute: Double, comm = 0.0
        if let v = lmCache[r] { compute = v } else {
            compute = gemm("dense GEMMs", m: r, n: model.vocab / tp, k: model.hidden)
            // The sampler's passes over the gathered logits (every rank samples all rows over the whole vocabulary).
            if kernels.samplerBytesPerLogit > 0 { compute += Double(r * model.vocab) * kernels.samplerBytesPerLogit / kernels.gpu.peakBytesPerSecond * 1e6 }
            lmCache.store(compute, at: r)
        }
        if tp > 1 {
            if let v = lmCommCache[r] { comm = v } else {
                comm = collectiveUs(.allGather, bytes: Double(r * model.vocab) * 2, gpus: tp)
                lmCommCache.store(comm, at: r)
            }
        }
        return (compute, comm)
    }

    /// All tensor-parallel all-reduces of a step for T tokens on one DP rank: two per layer, after attention and
    /// after the FFN (under EP with DP > 1 the expert outputs are still reduced within the TP group; with the MoE
    /// layers sequence-parallel, `sequenceParallelMoE`, gathered instead).
    public func tensorParallelCommUs(tokens t: Int) -> Double {
        if t == 0 || tp == 1 { return 0 }
        if let v = tpCommCache[t] { return v }
        var v = 2 * Double(model.layers) * tpAllReduceUs(tokens: t)
        if sequenceParallelMoE {
            // Each MoE layer's outputs are gathered over TP (each rank computed 1/TP of the tokens) instead of reduced.
            v += Double(moeLayers) * (collectiveUs(.allGather, bytes: Double(t * model.hidden) * model.bytesPerParam, gpus: tp) - tpAllReduceUs(tokens: t))
        }
        tpCommCache.store(v, at: t)
        return v
    }

    /// Expert-parallel dispatch and combine over all MoE layers for a step with `total` tokens across DP ranks.
    public func expertParallelCommUs(totalTokens total: Int, imbalance: Double) -> Double {
        guard plan.expertParallel, dp > 1, let moe = model.moe, total > 0 else { return 0 }
        let bytesPerToken = Double(model.hidden) * model.bytesPerParam
        // fp8 models dispatch fp8 activations with one fp32 scale per 128 channels (DeepEP, pplx); combine is bf16.
        let dispatchBytesPerToken = fp8Compute ? Double(model.hidden) * (1 + 4.0 / 128) : bytesPerToken
        let perLayer: Double
        switch plan.all2allBackend {
        case .allreduce:
            // vLLM's naive path: all-gather every rank's hidden states, all-reduce the expert outputs.
            perLayer = collectiveUs(.allGather, bytes: Double(total) * bytesPerToken, gpus: gpus)
                + collectiveUs(.allReduce, bytes: Double(total) * bytesPerToken, gpus: gpus)
        case .allgatherReducescatter:
            // vLLM 0.24's modular kernels gather the (quantized) activations with each token's top-k weights and ids
            // (`MoEPrepareAndFinalizeNaiveDPEPModular`), over the DP group, or over the whole EP group when the MoE
            // layers run sequence-parallel; the outputs are reduce-scattered back in bf16.
            perLayer = moeExchangeUs(totalTokens: total)
        case .alltoall:
            // Dispatch and combine each move k x tokens x hidden (eq. 3); the per-rank buffer is the straggler's.
            let pairsPerRank = Double(total) * Double(moe.topK) / Double(gpus) * max(1, imbalance)
            if dispatchBytesPerToken == bytesPerToken {
                perLayer = 2 * collectiveUs(.allToAll, bytes: pairsPerRank * bytesPerToken, gpus: gpus)
            } else {
                perLayer = collectiveUs(.allToAll, bytes: pairsPerRank * dispatchBytesPerToken, gpus: gpus)
                    + collectiveUs(.allToAll, bytes: pairsPerRank * bytesPerToken, gpus: gpus)
            }
        case .deepepHighThroughput, .deepepLowLatency:
            perLayer = deepEPUs(totalTokens: total, imbalance: imbalance, topK: moe.topK,
                                dispatchBytesPerToken: dispatchBytesPerToken, combineBytesPerToken: bytesPerToken)
        }
        return Double(moeLayers) * perLayer
    }

    /// DP without EP, all MoE layers of a step with `total` tokens across the DP ranks (idle ranks' padded dummy
    /// batches among them): vLLM gathers every rank's tokens over the DP group before each MoE layer and
    /// reduce-scatters the layer's outputs back, through its allgather_reducescatter manager (for any DP > 1) and the
    /// modular kernels' prepare/finalize (`MoEPrepareAndFinalizeNaiveDPEPModular`: the activations, quantized for fp8
    /// models, with each token's top-k weights and ids); the TP all-reduce after the layer stays in
    /// `tensorParallelCommUs`.
    public func dataParallelMoECommUs(totalTokens total: Int) -> Double {
        guard !plan.expertParallel, dp > 1, model.moe != nil, total > 0 else { return 0 }
        if let v = dpMoECommCache[total] { return v }
        let v = Double(moeLayers) * moeExchangeUs(totalTokens: total)
        dpMoECommCache.store(v, at: total)
        return v
    }
    let dpMoECommCache = CountCache()

    /// One MoE layer's gather and reduce-scatter of `total` tokens (`dataParallelMoEBytes`) over the group the plan
    /// exchanges them in (`exchangeGPUs`): the DP group as it sits on the nodes, or the whole stage.
    func moeExchangeUs(totalTokens total: Int) -> Double {
        let (gathered, scattered) = dataParallelMoEBytes(totalTokens: total)
        func over(_ c: Collective, _ bytes: Double) -> Double {
            exchangeGPUs == dp ? dpGroupCollectiveUs(c, bytes: bytes) : collectiveUs(c, bytes: bytes, gpus: exchangeGPUs)
        }
        return over(.allGather, gathered) + over(.reduceScatter, scattered)
    }

    /// The bytes one MoE layer gathers over the DP group and reduce-scatters back for `total` tokens (DP without EP;
    /// with EP under allgather_reducescatter the same, over the group `expertParallelCommUs` names).
    public func dataParallelMoEBytes(totalTokens total: Int) -> (gathered: Double, scattered: Double) {
        let h = Double(model.hidden), k = Double(model.moe?.topK ?? 0)
        let dispatch = fp8Compute ? h * (1 + 4.0 / 128) : h * model.bytesPerParam
        return (Double(total) * (dispatch + k * 8), Double(total) * h * model.bytesPerParam)
    }

    /// A collective over one DP group (`dp` GPUs TP x PP apart): within a node over its curves, across nodes
    /// hierarchically over the network, by how the group sits on the nodes (`dpGroup`).
    func dpGroupCollectiveUs(_ c: Collective, bytes: Double) -> Double {
        if dp <= 1 || bytes <= 0 { return 0 }
        if dpGroup.isMultiNode { return acrossNodesUs(c, bytes: bytes, gpus: dp, on: dpGroup) }
        return intraCollectiveUs(c, bytes: bytes, gpus: dp)
    }

    /// DeepEP dispatch + combine of one MoE layer from DeepSeek's published bandwidths (the network profile).
    ///
    /// Low-latency kernels send each of a token's k copies to its expert's rank over RDMA: bytes per rank =
    /// tokens/P x k x hidden x bytes, at the published RDMA bandwidth for that EP size. Normal kernels send a
    /// token once per destination node over RDMA (expected distinct other nodes among k uniformly routed experts,
    /// (N-1)(1-(1-1/N)^k)) and forward within the node over NVLink; on one node they are NVLink-bound at the
    /// published intranode figure. Either way never below the network profile's latency per kernel. The per-rank
    /// bytes carry the straggler's imbalance.
    func deepEPUs(totalTokens total: Int, imbalance: Double, topK k: Int, dispatchBytesPerToken d: Double, combineBytesPerToken c: Double) -> Double {
        guard let net = topology.network else {
            assumptions.insert("\(plan.all2allBackend.rawValue): no network profile holds DeepEP's figures; priced as the all-to-all of eq. 3")
            let buf = Double(total) * Double(k) / Double(gpus) * max(1, imbalance)
            return collectiveUs(.allToAll, bytes: buf * d, gpus: gpus) + collectiveUs(.allToAll, bytes: buf * c, gpus: gpus)
        }
        let tokensPerRank = Double(total) / Double(gpus) * max(1, imbalance)
        let lowLatency = plan.all2allBackend == .deepepLowLatency
        let rows = lowLatency ? net.deepepLowLatency : net.deepepNormal
        guard let bwD = NetworkProfile.bandwidth(rows, ep: gpus, dispatch: true), let bwC = NetworkProfile.bandwidth(rows, ep: gpus, dispatch: false) else {
            assumptions.insert("\(plan.all2allBackend.rawValue): \(net.name) has no DeepEP figures; priced as the all-to-all of eq. 3")
            let buf = Double(total) * Double(k) / Double(gpus) * max(1, imbalance)
            return collectiveUs(.allToAll, bytes: buf * d, gpus: gpus) + collectiveUs(.allToAll, bytes: buf * c, gpus: gpus)
        }
        note("collectives", .derived)
        assumptions.insert("\(plan.all2allBackend.rawValue): DeepEP's published \(lowLatency ? "low-latency" : "normal-kernel") bandwidths at EP \(gpus) (\(net.name) profile, measured by DeepSeek on H800 + CX7 400 Gb/s), scaled to this step's bytes")
        let copies: Double
        if lowLatency {
            copies = Double(k)
        } else if topology.isMultiNode {
            let n = Double(topology.nodes)
            copies = (n - 1) * (1 - pow(1 - 1 / n, Double(k)))
        } else {
            copies = Double(k) * Double(gpus - 1) / Double(gpus)
        }
        func t(_ bytesPerToken: Double, _ bw: Double) -> Double {
            max(net.latencyUs, tokensPerRank * copies * bytesPerToken / (bw * 1e9) * 1e6)
        }
        var dispatch = t(d, bwD), combine = t(c, bwC)
        if !lowLatency && topology.isMultiNode, let nvD = NetworkProfile.bandwidth(net.deepepNormal, ep: topology.gpusPerNode, dispatch: true),
           let nvC = NetworkProfile.bandwidth(net.deepepNormal, ep: topology.gpusPerNode, dispatch: false) {
            // The NVLink forwarding inside the destination node runs concurrently with the RDMA sends.
            let local = Double(k) * Double(topology.gpusPerNode - 1) / Double(gpus)
            dispatch = max(dispatch, tokensPerRank * local * d / (nvD * 1e9) * 1e6)
            combine = max(combine, tokensPerRank * local * c / (nvC * 1e9) * 1e6)
        }
        return dispatch + combine
    }

    // MARK: experts

    func expertTime(tokens n: Int, inter: Int) -> Double {
        if n <= 0 { return 0 }
        if n < 1 << 16 {
            if let v = expertUsCache[n] { return v }
            let v = kernels.expertUs(tokens: n, hidden: model.hidden, inter: inter)
            expertUsCache.store(v, at: n)
            return v
        }
        return kernels.expertUs(tokens: n, hidden: model.hidden, inter: inter)
    }

    /// Samples of the whole-model expert time for `tokens` routed tokens (see the type's summary).
    public func moeSamples(tokens t: Int) -> [MoESample] {
        if t < moeCache.count, let s = moeCache[t] { return s }
        if t >= moeCache.count { moeCache.append(contentsOf: repeatElement(nil, count: t - moeCache.count + 1 + t / 2)) }
        // Large batches vary little from draw to draw (law of large numbers): fewer samples suffice.
        let k = model.moe?.topK ?? 1
        let count = t * k <= RoutingModel.exactLimit ? Self.samplesPerSize : Self.samplesPerSize / 2
        var out: [MoESample] = []
        out.reserveCapacity(count)
        let cache = RoutingDrawCache.shared
        if let routing = routing, let moe = model.moe, cache.isEnabled, t <= Int(UInt16.max) {
            // The draws depend only on the routing model, the draw stream's state and the token count: another
            // simulation of the same model and seed (a plan's other candidates) may have drawn them already.
            let key = RoutingDrawCache.Key(routing: routing.identity, state: sampleRNG, tokens: t, samples: count)
            if let hit = cache.lookup(key) {
                let per = moeLayers * moe.experts
                for i in 0..<count { out.append(sampleMoE(tokens: t, detail: nil, draws: .replay(hit.counts, offset: i * per))) }
                sampleRNG = hit.after
            } else {
                drawRecord.removeAll(keepingCapacity: true)
                for _ in 0..<count { out.append(sampleMoE(tokens: t, detail: nil, draws: .record)) }
                cache.insert(key, counts: drawRecord, after: sampleRNG)
            }
        } else {
            for _ in 0..<count { out.append(sampleMoE(tokens: t, detail: nil)) }
        }
        moeCache[t] = out
        return out
    }

    /// Per-layer, per-GPU detail of one routing draw, for `explain`.
    public struct MoELayerDetail: Sendable {
        public var layer: Int
        public var tokensPerGPU: [Int]
        public var expertsHitPerGPU: [Int]
        public var usPerGPU: [Double]
        public var remotePairs: Int
    }

    /// The tables that price the fused-MoE kernel (`moeContext`), nil when none applies.
    var fusedMoETables: VLLMKernelTables? { model.moe == nil ? nil : expertTables ?? kernels.tables }

    /// The measured fused-MoE context for `t` tokens entering the kernel, when the vLLM tables apply.
    public func moeContext(tokens t: Int) -> VLLMKernelTables.MoEContext? {
        guard let tables = fusedMoETables, let moe = model.moe else { return nil }
        let ep = plan.expertParallel
        let shape = MoEShape(hidden: model.hidden, inter: moe.expertIntermediate, topK: moe.topK, experts: moe.experts)
        return tables.moeContext(shape: shape, tp: moeTP, ep: ep ? gpus : 1, tokens: t)
    }

    /// Draws one routing of every MoE layer for `t` tokens and returns the whole-model expert time.
    ///
    /// With measured vLLM tables, each GPU's time is the fused kernel's for the hits and pairs its local experts
    /// received (`VLLMKernelTables.MoEContext`), plus the engine's `moe_expert_fixed_us` per hit expert; without
    /// them, the sum of per-expert GEMM pairs.
    public func sampleMoE(tokens t: Int, detail: ((MoELayerDetail) -> Void)?) -> MoESample {
        sampleMoE(tokens: t, detail: detail, draws: .draw)
    }

    /// Where a sample's per-layer expert counts come from: drawn now, drawn now and appended to `drawRecord`, or
    /// replayed from a `RoutingDrawCache` entry (the sample starting at `offset`).
    enum DrawSource { case draw, record, replay([UInt16], offset: Int) }
    var drawRecord: [UInt16] = []

    func sampleMoE(tokens t: Int, detail: ((MoELayerDetail) -> Void)?, draws: DrawSource) -> MoESample {
        guard let moe = model.moe, let routing = routing, t > 0 else { return MoESample(expertsUs: 0, imbalance: 1) }
        let ep = plan.expertParallel
        let inter = moe.expertIntermediate / moeTP
        let groups = ep ? gpus : 1
        let fused = moeContext(tokens: t)
        // Whether `fused` is there, from the tables, and its kernel time as a closure: testing or binding `fused` in
        // the loops copied the context each time.
        let hasFused = fusedMoETables != nil
        // The fused kernel's tiles of `tileRows` rows per expert (0: not tiled this way), counted per GPU below: the
        // MXFP4 kernel's (matmul_ogs), or vLLM's Triton fused MoE's for bf16 experts (its tuned BLOCK_SIZE_M).
        let tileRows: Int
        if hasFused && expertTables?.quantization == "w4a16_mxfp4" {
            tileRows = VLLMKernelTables.matmulOGSBlockM(tokens: t, topK: moe.topK, experts: moe.experts / groups)
        } else if hasFused, let bf16 = bf16FusedMoETiles {
            tileRows = bf16.blockM(tokens: t)
        } else {
            tileRows = 0
        }
        let fusedUs: ((Int, Int) -> Double)? = fused.map { f in { f.us(hits: $0, pairs: $1) } }
        let interLocal = fused?.interLocal ?? 0
        let ratioEstimate = expertBytes != 2 && expertTables == nil
        if let f = fused { note("experts", ratioEstimate ? .estimate : f.source) } else { note("experts", .roofline) }
        var total = 0.0, imb = 0.0
        // Per GPU of a layer: expert time, token-expert pairs, experts hit (buffers: no uniqueness check per write).
        let perGPU = UnsafeMutableBufferPointer<Double>.allocate(capacity: groups)
        let pairs = UnsafeMutableBufferPointer<Int>.allocate(capacity: groups)
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: groups)
        let tiles = UnsafeMutableBufferPointer<Int>.allocate(capacity: tileRows > 0 ? groups : 0)
        defer { perGPU.deallocate(); pairs.deallocate(); hits.deallocate(); tiles.deallocate() }
        if case .replay = draws {} else if t * moe.topK > RoutingModel.exactLimit && samplersTokens != t {
            samplers = routing.binomialSamplers(tokens: t)
            samplersTokens = t
        }
        // Under EP with a placement, every expert's owners (the flattened placement, built with the model).
        let flatOwners = ep && placement != nil
        precondition(!flatOwners || ownerStart.count >= moeLayers * moe.experts + 1, "placement covers fewer MoE layers than the model")
        // The draw stream and the counts as locals for the layers' loop (written back below): no access to the
        // model's own is held across the routing's calls.
        var rng = sampleRNG
        var countsScratch = self.countsScratch
        self.countsScratch = []
        let samplers = self.samplers
        defer { sampleRNG = rng; self.countsScratch = countsScratch }
        for l in 0..<moeLayers {
            switch draws {
            case .draw:
                routing.sampleCounts(layer: l, tokens: t, rng: &rng, into: &countsScratch, samplers: samplers)
            case .record:
                routing.sampleCounts(layer: l, tokens: t, rng: &rng, into: &countsScratch, samplers: samplers)
                for e in 0..<moe.experts { drawRecord.append(UInt16(countsScratch[e])) }
            case .replay(let saved, let offset):
                saved.withUnsafeBufferPointer { b in
                    let base = offset + l * moe.experts
                    for e in 0..<moe.experts { countsScratch[e] = Int(b[base + e]) }
                }
            }
            for g in 0..<groups { perGPU[g] = 0; pairs[g] = 0; hits[g] = 0 }
            if tileRows > 0 { for g in 0..<groups { tiles[g] = 0 } }
            let base = l * moe.experts
            for e in 0..<moe.experts {
                let c = countsScratch[e]
                if c == 0 { continue }
                if flatOwners {
                    // Expert e's owners from the flattened placement (no nested array touched in this loop).
                    let lo = Int(ownerStart[base + e]), owners = Int(ownerStart[base + e + 1]) - lo
                    let share = c / owners, extra = c % owners
                    for i in 0..<owners {
                        let n = share + (i < extra ? 1 : 0)
                        if n == 0 { continue }
                        let g = Int(ownerFlat[lo + i])
                        if !hasFused { perGPU[g] += expertTime(tokens: n, inter: inter) }
                        pairs[g] += n; hits[g] += 1
                        if tileRows > 0 { tiles[g] += (n + tileRows - 1) / tileRows }
                    }
                } else {
                    if !hasFused { perGPU[0] += expertTime(tokens: c, inter: inter) }
                    pairs[0] += c; hits[0] += 1
                    if tileRows > 0 { tiles[0] += (c + tileRows - 1) / tileRows }
                }
            }
            // The fused kernel computes each expert's rows in whole tiles: a draw's tiles over those of its pairs spread
            // evenly over the same experts (how the measured rows routed them; the hits and pairs themselves are the
            // table's). The layer has t x top-k pairs in vLLM; a draw for many tokens may hold a few more or fewer
            // (binomial counts), so each GPU's pairs are scaled to that total before they are spread.
            var sumPairs = 0
            for g in 0..<groups { sumPairs += pairs[g] }
            func tileFactor(_ g: Int) -> Double {
                guard tileRows > 0, hits[g] > 0, tiles[g] > 0, sumPairs > 0, let f = fused,
                      let a = f.anchorIndex(hits: hits[g], pairs: pairs[g]), f.anchors[a].distribution == "balanced" else { return 1 }
                // Only over a balanced anchor: a skewed routing's measured row has its spilled tiles in it already.
                let even = max(hits[g], Int((Double(pairs[g]) * Double(t * moe.topK) / Double(sumPairs)).rounded()))
                return Double(tiles[g]) / Double(VLLMKernelTables.balancedTiles(hits: hits[g], pairs: even, rows: tileRows))
            }
            if let fusedUs {
                let h = Double(model.hidden), il = interLocal
                for g in 0..<groups {
                    // Never below the datasheet floor of the hit experts' weights and the pairs' FLOPs.
                    let floor = expertTables == nil
                        ? kernels.floorUs(flops: 6 * Double(pairs[g]) * h * il, bytes: Double(hits[g]) * 3 * h * il * model.bytesPerParam)
                        : kernels.floorUs(flops: 6 * Double(pairs[g]) * h * il, weightElements: Double(hits[g]) * 3 * h * il, weightBytes: expertBytes,
                                          activationBytes: 0, fp8: fp8Compute)
                    perGPU[g] = max(fusedUs(hits[g], pairs[g]) * tileFactor(g), floor) + kernels.expertFixedUs * Double(hits[g])
                }
            }
            if ratioEstimate {
                // Quantized experts: the bf16 time carried by the roofline ratio at this GPU's load (an estimate).
                let h = Double(model.hidden), il = Double(inter)
                for g in 0..<groups where pairs[g] > 0 {
                    perGPU[g] *= kernels.quantizedRatio(flops: 6 * Double(pairs[g]) * h * il, weightElements: Double(hits[g]) * 3 * h * il,
                                                        activationBytes: 4 * Double(pairs[g]) * (h + il), weightBytes: expertBytes, fp8: fp8Compute)
                }
            }
            var worst = 0.0, worstPairs = 0
            for g in 0..<groups { worst = max(worst, perGPU[g]); worstPairs = max(worstPairs, pairs[g]) }
            total += worst
            imb += sumPairs > 0 ? Double(worstPairs) * Double(groups) / Double(sumPairs) : 1
            if let d = detail {
                // Remote pairs: tokens are spread evenly over the EP ranks, so (P-1)/P of each GPU's pairs arrive from elsewhere.
                let remote = ep ? Int((Double(sumPairs) * Double(groups - 1) / Double(groups)).rounded()) : 0
                d(MoELayerDetail(layer: l, tokensPerGPU: Array(pairs), expertsHitPerGPU: Array(hits), usPerGPU: Array(perGPU), remotePairs: remote))
            }
        }
        return MoESample(expertsUs: total, imbalance: moeLayers > 0 ? imb / Double(moeLayers) : 1)
    }

    // MARK: pipeline stages

    /// Splits the last `stepCost` result (`whole`, every layer's time on one GPU of each stage) into the pipeline
    /// stages' GPU times: attention, elementwise work and TP all-reduces by each stage's share of the layers, dense
    /// FFNs (dense MLPs, shared experts, routers) by its share of their parameters, experts and EP dispatch/combine
    /// by its share of the MoE layers, the LM head on the last stage. Without PP: `[whole]`.
    public func pipelineStages(_ whole: StepBreakdown) -> [StepBreakdown] {
        let p = stageLayerShare.count
        if p == 1 { return [whole] }
        let t = lastWorstTokens
        let ffn = t > 0 ? denseUs(tokens: t) - compiledElementwiseAllLayersUs(tokens: t) : 0
        var layerPart = whole
        layerPart.denseGEMM -= lastLMHead.denseGEMM + ffn
        layerPart.communication -= lastLMHead.communication + lastEPComm
        layerPart.experts = 0
        var out: [StepBreakdown] = []
        out.reserveCapacity(p)
        for s in 0..<p {
            var b = layerPart.scaled(stageLayerShare[s])
            b.denseGEMM += ffn * stageDenseShare[s]
            b.experts = whole.experts * stageMoEShare[s]
            b.communication += lastEPComm * stageMoEShare[s]
            if s == p - 1 { b.denseGEMM += lastLMHead.denseGEMM; b.communication += lastLMHead.communication }
            out.append(b)
        }
        return out
    }

    /// Time to hand `tokens` tokens' activations from stage s to s + 1 (index s of the result): vLLM sends the
    /// hidden states and the residual (2 x tokens x hidden, bf16), each TP rank 1/TP of them to its peer in the
    /// next stage, which all-gathers them in its TP group (`send_tensor_dict` with `all_gather_group`). Over the
    /// network when the stages sit on different nodes, else over the interconnect's send/recv curve.
    public func stageSendUs(tokens t: Int) -> [Double] {
        if t == 0 || stageSendCrossesNodes.isEmpty { return Array(repeating: 0, count: stageSendCrossesNodes.count) }
        // A function of the token count alone (its notes are recorded the first time): computed once per count.
        if t < stageSendCache.count, let c = stageSendCache[t] { return c }
        if t >= stageSendCache.count, t < 1 << 20 { stageSendCache.append(contentsOf: repeatElement(nil, count: t - stageSendCache.count + 1 + t / 2)) }
        let v = computeStageSendUs(tokens: t)
        if t < stageSendCache.count { stageSendCache[t] = v }
        return v
    }
    var stageSendCache: [[Double]?] = []

    func computeStageSendUs(tokens t: Int) -> [Double] {
        let bytes = 2 * Double(t * model.hidden) * 2
        let perRank = bytes / Double(tp)
        let gather = tp > 1 ? collectiveUs(.allGather, bytes: bytes, gpus: tp) : 0
        return stageSendCrossesNodes.map { crosses in
            if crosses, let net = cluster.network {
                note("collectives", .derived)
                return net.latencyUs + perRank / net.perGPUBytesPerSecond(gpusPerNode: cluster.nodeGPUs) * 1e6 + gather
            }
            return intraCollectiveUs(.sendRecv, bytes: perRank, gpus: 2) + gather
        }
    }

    // MARK: the GPU's power state

    /// The share of a step's GPU time `gpuUs` that runs its tensor cores at the burst matmul rate: the step's FLOPs per
    /// GPU (the weights each token meets, twice, spread over the GPUs; the LM head for the logits rows; attention's
    /// query-key pairs and cached tokens) over what the GPU's best measured GEMM rate (`achievedFLOPs`) does in that
    /// time, at most 1. A 16,384-token prompt step of a small-expert MoE comes to about half; a decode step to a few
    /// per cent. `PowerState` slows a step by it (a memory-bound kernel hardly feels the lower SM clock).
    public func computeShare(_ batches: [BatchShape], gpuUs: Double) -> Double {
        guard gpuUs > 0 else { return 0 }
        var linearFlops = 0.0, attentionFlops = 0.0
        for b in batches {
            linearFlops += 2 * (tokenParams * Double(b.tokens) + headParams * Double(b.logitsRows))
            attentionFlops = max(attentionFlops, Double(model.layers) * (b.prefillPairs * prefillFlopsPerPair + b.decodeContext * decodeFlopsPerTokenLayer))
        }
        let gpus = Double(max(1, plan.tensorParallel * plan.dataParallel * plan.pipelineParallel))
        let flops = linearFlops / gpus + attentionFlops / Double(max(1, plan.pipelineParallel))
        return min(1, flops / (gpuUs * 1e-6 * kernels.gpu.achievedFLOPs))
    }

    // MARK: the step

    /// GPU time of one step, by component, for the batches of each DP rank (`batches.count == dp`).
    ///
    /// DP ranks run attention and dense layers independently and meet at every MoE layer, so the step takes
    /// the slowest rank's non-expert time plus the expert and expert-parallel communication time.
    public func stepCost(_ batches: [BatchShape], pick: inout Xoshiro256) -> StepBreakdown {
        var worst = StepBreakdown(), worstTotal = -1.0
        var worstLM = (compute: 0.0, comm: 0.0)
        var totalTokens = 0
        lastEPComm = 0
        for b in batches {
            totalTokens += b.tokens
            var s = StepBreakdown()
            var lm = (compute: 0.0, comm: 0.0)
            if b.tokens > 0 {
                if let mla = mlaModuleUs(b) {
                    s.attention = Double(model.layers) * mla
                } else {
                    s.attention = attentionKernelsUs(b) + attentionProjectionsUs(tokens: b.tokens)
                }
                lm = lmHeadUs(rows: b.logitsRows)
                s.denseGEMM = denseUs(tokens: b.tokens) + lm.compute
                s.communication = tensorParallelCommUs(tokens: b.tokens) + lm.comm
            } else if batches.count > 1 && model.isMoE {
                // An idle DP rank runs a dummy batch of one token to keep the MoE collectives in step.
                s.denseGEMM = denseUs(tokens: 1)
                s.attention = attentionProjectionsUs(tokens: 1)
                s.communication = tensorParallelCommUs(tokens: 1)
            }
            if s.gpu > worstTotal { worstTotal = s.gpu; worst = s; worstLM = lm; lastWorstTokens = b.tokens > 0 ? b.tokens : (s.gpu > 0 ? 1 : 0) }
        }
        lastLMHead.denseGEMM = worstLM.compute
        lastLMHead.communication = worstLM.comm
        guard model.isMoE, totalTokens > 0 else { return worst }
        if plan.expertParallel {
            let samples = moeSamples(tokens: totalTokens)
            let s = samples[pick.nextInt(below: samples.count)]
            worst.experts = s.expertsUs
            lastEPComm = expertParallelCommUs(totalTokens: totalTokens, imbalance: s.imbalance)
            worst.communication += lastEPComm
        } else if dp > 1 {
            // DP without EP: every DP rank's tokens are gathered into each MoE layer, where each GPU runs its
            // 1/(TP x DP) shard of every expert on all of them (`ParallelPlan.moeShardGPUs`).
            let samples = moeSamples(tokens: totalTokens)
            worst.experts = samples[pick.nextInt(below: samples.count)].expertsUs
            lastEPComm = dataParallelMoECommUs(totalTokens: totalTokens)
            worst.communication += lastEPComm
        } else {
            var e = 0.0
            for b in batches where b.tokens > 0 {
                let samples = moeSamples(tokens: b.tokens)
                e = max(e, samples[pick.nextInt(below: samples.count)].expertsUs)
            }
            worst.experts = e
        }
        return worst
    }
}

/// Values by token count, each computed once (NaN: not yet). A class the model holds in `let`s, over a buffer of its
/// own: reading or filling it touches no stored property of the model, so the step's many cache reads pay no run-time
/// exclusivity check (an array property of the class paid one per read).
final class CountCache {
    private var values: UnsafeMutablePointer<Double>
    private var capacity: Int

    init() {
        capacity = 16
        values = .allocate(capacity: capacity)
        values.initialize(repeating: .nan, count: capacity)
    }

    deinit { values.deallocate() }

    /// The value stored for `i`, or nil.
    @inline(__always)
    subscript(i: Int) -> Double? {
        guard i < capacity else { return nil }
        let v = values[i]
        return v.isNaN ? nil : v
    }

    /// Stores the value for `i`.
    func store(_ v: Double, at i: Int) {
        if i >= capacity {
            let n = i + 1 + i / 2
            let bigger = UnsafeMutablePointer<Double>.allocate(capacity: n)
            bigger.moveInitialize(from: values, count: capacity)
            (bigger + capacity).initialize(repeating: .nan, count: n - capacity)
            values.deallocate()
            values = bigger; capacity = n
        }
        values[i] = v
    }
}
