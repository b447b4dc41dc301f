import Foundation
import SimKit
import Cluster
import Serving

/// One engine step of one deployment, taken apart per layer, per GPU and per component (`moesim explain`).
public struct StepExplanation {
    public struct Component {
        public var name: String
        public var us: Double
        public var flops: Double
        public var bytes: Double
        public var formula: String
        /// "compute", "memory" or "network".
        public var bound: String
        /// Where the time came from: measured, interpolated, fitted shape model, roofline, derived (comma-joined).
        public var source: String = ""
    }
    /// Per step component, where its times came from (see `KernelSource`).
    public var sources: [(component: String, sources: [String])] = []
    /// The measured kernel tables in use ("aiconfigurator-core 0.12.0, h200-sxm-vllm-0.24.0"), if any.
    public var kernelTables: String?

    public var deployment: Deployment
    public var batch: BatchShape
    public var perRank: [BatchShape]
    /// Components of one MoE layer (or the first layer of a dense model), on the slowest GPU.
    public var layer: [Component]
    /// Expert time, tokens and experts hit per GPU in that layer (EP: each GPU; TP: one entry for every GPU).
    public var expertsPerGPU: [(gpu: Int, tokens: Int, experts: Int, us: Double)]
    public var step: StepBreakdown
    public var layersOfKind: [(String, Int)]

    /// One pipeline stage of the step (PP > 1): its layers, GPU time, and the hand-over to the next stage.
    public struct Stage {
        public var layers: Range<Int>
        public var moeLayers: Int
        public var us: Double
        /// Time to send this stage's activations to the next (0 for the last), and whether that crosses nodes.
        public var sendUs: Double
        public var sendCrossesNodes: Bool
        public var memory: MemoryPlan
    }
    /// The stages, empty without pipeline parallelism.
    public var stages: [Stage] = []
    /// One batch's latency through every stage, and the steady-state time between batches when PP batches are in
    /// flight (the slowest stage): the pipeline's throughput bound.
    public var pipelineLatencyUs: Double { stages.reduce(0) { $0 + $1.us + $1.sendUs } }
    public var pipelineIntervalUs: Double { stages.map(\.us).max() ?? 0 }

    public var straggler: (gpu: Int, extraTokens: Int, extraPct: Double)? {
        guard expertsPerGPU.count > 1 else { return nil }
        let slow = expertsPerGPU.max { $0.us < $1.us }!
        let meanTok = Double(expertsPerGPU.reduce(0) { $0 + $1.tokens }) / Double(expertsPerGPU.count)
        return (slow.gpu, Int((Double(slow.tokens) - meanTok).rounded()), meanTok > 0 ? (Double(slow.tokens) / meanTok - 1) * 100 : 0)
    }

    /// Explains a step of `decodeSeqs` decode sequences at `kvLen` cached tokens plus `prefillSeqs` prompts of
    /// `prefillLen` tokens, split evenly over the DP ranks.
    public init(deployment d: Deployment, decodeSeqs: Int, kvLen: Int, prefillSeqs: Int, prefillLen: Int, seed: UInt64) throws {
        guard decodeSeqs >= 0, prefillSeqs >= 0, kvLen >= 0, prefillLen >= 0 else { throw InputError.usage("batch sizes and lengths must not be negative") }
        guard decodeSeqs + prefillSeqs > 0 else { throw InputError.usage("the step is empty: give --decode-seqs and/or --prefill-seqs") }
        guard prefillSeqs == 0 || prefillLen > 0 else { throw InputError.usage("--prefill-len must be positive with --prefill-seqs") }
        deployment = d
        let mem = d.memoryPlan()
        try mem.check(model: d.model, plan: d.plan, gpu: d.gpu)
        let cost = try d.costModel(seed: seed)
        let dp = d.plan.dataParallel
        var ranks = Array(repeating: BatchShape(), count: dp)
        for i in 0..<decodeSeqs { ranks[i % dp].addDecode(context: kvLen) }
        for i in 0..<prefillSeqs { ranks[(decodeSeqs + i) % dp].addPrefill(chunk: prefillLen, prefix: 0, samples: true, bidirectional: d.model.isDiffusion) }
        perRank = ranks
        var all = BatchShape()
        for _ in 0..<decodeSeqs { all.addDecode(context: kvLen) }
        for _ in 0..<prefillSeqs { all.addPrefill(chunk: prefillLen, prefix: 0, samples: true) }
        batch = all
        var pick = Xoshiro256(seed: seed, stream: 0xE1)
        step = cost.stepCost(ranks, pick: &pick)
        let m = d.model, g = d.gpu, tp = d.plan.tensorParallel, P = d.plan.stageGPUs
        let r0 = ranks.max { $0.tokens < $1.tokens }!
        let t = r0.tokens, h = Double(m.hidden), b = m.bytesPerParam
        let ridge = g.peakFLOPs / g.peakBytesPerSecond
        func comp(_ name: String, _ us: Double, _ flops: Double, _ bytes: Double, _ formula: String, network: Bool = false) -> Component {
            Component(name: name, us: us, flops: flops, bytes: bytes, formula: formula,
                      bound: network ? "network" : (bytes > 0 && flops / bytes > ridge ? "compute" : "memory"))
        }
        var comps: [Component] = []
        func src(_ key: String) -> String { (cost.componentSources[key] ?? []).sorted().map(\.rawValue).joined(separator: ", ") }
        func tag(_ key: String) { comps[comps.count - 1].source = src(key) }
        // A collective's source names where its curve came from (the measured tables, which take precedence over the
        // interconnect profile's curves where they have the GPU count, the interconnect's curves, or its bandwidth).
        func origin(_ cs: Collective..., gpus p: Int) { origin(cs, gpus: p) }
        func origin(_ cs: [Collective], gpus p: Int) {
            comps[comps.count - 1].source += " (" + d.collectiveOriginText(cs, gpus: p) + ")"
        }
        let attnParams = m.attentionParamsPerLayer / Double(tp)
        let kvRead = r0.decodeContext * m.kvElementsPerTokenPerLayer(tensorParallel: tp) * m.kvCacheBytes
        if let mla = cost.mlaModuleUs(r0), let sel = cost.mlaModule {
            // The measured module covers the projections and the kernel together (`StepCostModel.mlaModuleUs`).
            comps.append(comp("MLA attention module", mla, 2 * Double(t) * attnParams + 4 * Double(m.heads / tp * m.headDim) * (r0.decodeContext + r0.prefillPairs),
                              attnParams * m.linearBytesPerParam + kvRead + r0.prefillContext * m.kvElementsPerTokenPerLayer(tensorParallel: tp) * m.kvCacheBytes,
                              cost.mlaDecodeKernel != nil && r0.decodeSequences > 0
                                ? "this model's projections and absorbed BMMs (GEMM table), the cache write, and for the \(r0.decodeSequences) decode sequences vLLM's own MLA decode kernel, \(cost.mlaDecodeKernel!.origin) (\(sel.key.heads) heads a GPU); \(r0.prefillSequences) prefill chunks from \(sel.description)"
                                : "one layer's measured vLLM MLA block (down/up projections, kernel, o_proj): \(sel.description); \(r0.decodeSequences) decode sequences, \(r0.prefillSequences) prefill chunks"))
            comps[comps.count - 1].source = [src("MLA attention module"), src("MLA decode kernel")].filter { !$0.isEmpty }.joined(separator: ", ")
        } else {
            comps.append(comp("attention projections", cost.attentionGEMMUs(tokens: t), 2 * Double(t) * attnParams,
                              attnParams * m.linearBytesPerParam + Double(t) * h * b * 2, "QKV and output GEMMs, M = \(t) tokens, weights / TP \(tp)"))
            tag("attention projections")
            comps.append(comp("attention kernel", cost.attentionKernelUs(r0), 4 * Double(m.heads / tp * m.headDim) * (r0.decodeContext + r0.prefillPairs),
                              kvRead + r0.prefillContext * m.kvElementsPerTokenPerLayer(tensorParallel: tp) * m.kvCacheBytes,
                              "decode reads \(Int(r0.decodeContext)) cached tokens' K and V; prefill \(Int(r0.prefillPairs)) query-key pairs"
                                + (m.slidingLayers > 0 && m.slidingWindow > 0
                                   ? String(format: "; a full-attention layer: the %d sliding-window layers of %d attend through %d tokens, %.1f us each", m.slidingLayers, m.layers, m.slidingWindow, cost.attentionKernelUs(r0.windowed(m.slidingWindow)))
                                   : "")))
            tag("attention kernel")
        }
        if tp > 1 {
            let el = tensorParallelAllReduceElements(hidden: m.hidden, batchTokens: t, gpus: tp)
            comps.append(comp("TP all-reduce (after attention)", cost.tpAllReduceUs(tokens: t), 0, el * b,
                              "eq. (2): 2 x hidden x tokens x (P-1)/P = 2 x \(m.hidden) x \(t) x \(tp - 1)/\(tp) = \(Int(el)) elements (\(mb(el * b)))", network: true))
            tag("collectives")
            origin(.allReduce, gpus: tp)
        }
        let li = m.ffn.firstIndex(where: { $0.isMoE }) ?? 0
        let f = m.ffn[li]
        let denseParams = m.denseFFNParams(layer: li)
        if denseParams > 0 {
            // A sequence-parallel MoE runs the router and shared experts unsharded on 1/TP of the tokens.
            let sp = f.isMoE && d.plan.sequenceParallelMoE(m)
            comps.append(comp(f.isMoE ? "router + shared experts" : "dense MLP", cost.denseFFNUs(layer: li, tokens: t) + cost.vllmRouterUs(layer: li, tokens: t), 2 * Double(t) * denseParams / Double(tp),
                              denseParams * m.linearBytesPerParam / Double(sp ? 1 : tp),
                              f.isMoE ? "router (E = \(f.experts)) and shared expert width \(f.sharedIntermediate)" + (sp ? ", unsharded on this TP rank's 1/\(tp) of the tokens (sequence-parallel MoE)" : "") : "gated MLP width \(f.denseIntermediate) / TP"))
            tag("dense GEMMs")
        }
        var experts: [(Int, Int, Int, Double)] = []
        if f.isMoE {
            // Under EP, and without it over DP ranks (vLLM gathers them into each MoE layer), the experts see every rank's tokens.
            let routedTokens = d.plan.expertParallel || dp > 1 ? all.tokens : t
            var detail: StepCostModel.MoELayerDetail? = nil
            _ = cost.sampleMoE(tokens: routedTokens, detail: { if detail == nil { detail = $0 } })
            if let dl = detail {
                for gi in 0..<dl.usPerGPU.count { experts.append((gi, dl.tokensPerGPU[gi], dl.expertsHitPerGPU[gi], dl.usPerGPU[gi])) }
                let worst = dl.usPerGPU.max() ?? 0
                let pairs = Double(dl.tokensPerGPU.max() ?? 0)
                let shards = d.plan.moeShardGPUs
                let inter = f.expertIntermediate / shards
                let hits = Double(dl.expertsHitPerGPU[dl.usPerGPU.firstIndex(of: worst) ?? 0])
                comps.append(comp("experts (slowest GPU)", worst, 6 * pairs * h * Double(inter), hits * 3 * h * Double(inter) * m.expertBytesPerParam,
                                  d.plan.expertParallel ? "each GPU runs its \(f.experts / P) local experts on the tokens routed to them; the layer waits for the slowest"
                                                        : dp > 1 ? "every GPU runs all hit experts, each 1/\(shards) of its width (TP \(tp) x DP \(dp): vLLM shards the experts over every GPU without EP), on the \(all.tokens) tokens of all DP ranks"
                                                        : "every GPU runs all hit experts, each 1/\(tp) of its width"))
                tag("experts")
                if let e = cost.expertTables { comps[comps.count - 1].source += " (\(VLLMKernelTables.quantizedMoEDescription(e.quantization ?? "")) table)" }
                if let ctx = cost.moeContext(tokens: routedTokens), ctx.anchors.isEmpty, let o = ctx.correctedBy {
                    comps[comps.count - 1].source += String(format: " (x %.2f: the nearest measured shape, %@, measured / modelled at this TP/EP degree and token count)", ctx.correction, o.description)
                }
                if d.plan.expertParallel && dp > 1 {
                    let el = expertParallelAllToAllElements(topK: f.topK, hidden: m.hidden, batchTokens: all.tokens, gpus: P)
                    let epUs = cost.expertParallelCommUs(totalTokens: all.tokens, imbalance: 1) / Double(m.moeLayerCount)
                    let be = d.plan.all2allBackend
                    let exchange = d.plan.moeExchangeGPUs(m), agrs = cost.dataParallelMoEBytes(totalTokens: all.tokens)
                    // A network profile without DeepEP rows (e.g. roce-400) prices DeepEP as the all-to-all of eq. 3.
                    let deepepRows = be == .deepepLowLatency ? d.topology.network?.deepepLowLatency : d.topology.network?.deepepNormal
                    let formula = be == .deepepLowLatency || be == .deepepHighThroughput
                        ? "\(be.rawValue): DeepEP dispatch + combine of \(all.tokens) tokens x top-\(f.topK) over \(P) ranks\(d.topology.isMultiNode ? " on \(d.topology.nodes) nodes" : "")"
                            + (deepepRows?.isEmpty == false ? " at DeepSeek's published bandwidths" : ", priced as the all-to-all of eq. 3 (\(d.topology.network.map { "\($0.name) has no DeepEP figures" } ?? "no network profile"))")
                        : be == .allgatherReducescatter ? "allgather_reducescatter: all-gather \(all.tokens) tokens' activations with their top-\(f.topK) weights and ids (\(mb(agrs.gathered))) + reduce-scatter of the outputs (\(mb(agrs.scattered))) over \(exchange) GPUs"
                            + (d.plan.sequenceParallelMoE(m) ? " (sequence-parallel MoE: each TP rank routes 1/\(tp) of its DP rank's tokens; the TP all-reduce after the layer becomes an all-gather)" : exchange < P ? " (the DP group: each TP rank already holds its DP rank's tokens)" : "")
                        : d.plan.all2allBackend == .alltoall
                        ? "pplx (eq. 3), dispatch and combine each: k x hidden x tokens x (P-1)/P = \(f.topK) x \(m.hidden) x \(all.tokens) x \(P - 1)/\(P) = \(Int(el)) elements (\(mb(el * b)))"
                        : "vLLM naive path: all-gather \(all.tokens) tokens' hidden states (\(mb(Double(all.tokens) * h * b))) + all-reduce of the outputs over \(P) GPUs"
                    let moved = be == .alltoall ? 2 * el * b : (be == .allgatherReducescatter ? agrs.gathered + agrs.scattered : 2 * Double(all.tokens) * h * b)
                    comps.append(comp("EP dispatch + combine", epUs, 0, moved, formula, network: true))
                    tag("collectives")
                    let cs = be.collectives(deepEPFigures: deepepRows?.isEmpty == false)
                    if !cs.isEmpty { origin(cs, gpus: exchange) }
                } else if !d.plan.expertParallel && dp > 1 {
                    let us = cost.dataParallelMoECommUs(totalTokens: all.tokens) / Double(m.moeLayerCount)
                    let (gathered, scattered) = cost.dataParallelMoEBytes(totalTokens: all.tokens)
                    comps.append(comp("DP gather + reduce-scatter", us, 0, gathered + scattered,
                                      "DP without EP: all-gather \(all.tokens) tokens' activations with their top-\(f.topK) weights and ids (\(mb(gathered))) over the \(dp) DP ranks, reduce-scatter the expert outputs (\(mb(scattered))) back", network: true))
                    tag("collectives")
                    origin(.allGather, .reduceScatter, gpus: dp)
                }
            }
        }
        if tp > 1 && f.isMoE && d.plan.sequenceParallelMoE(m) {
            let bytes = Double(t) * h * b
            comps.append(comp("TP all-gather (after MoE)", cost.collectiveUs(.allGather, bytes: bytes, gpus: tp), 0, bytes,
                              "sequence-parallel MoE: each TP rank's 1/\(tp) of the \(t) tokens gathered (\(mb(bytes))) in place of the all-reduce", network: true))
            tag("collectives")
            origin(.allGather, gpus: tp)
        } else if tp > 1 {
            let el = tensorParallelAllReduceElements(hidden: m.hidden, batchTokens: t, gpus: tp)
            comps.append(comp("TP all-reduce (after FFN)", cost.tpAllReduceUs(tokens: t), 0, el * b,
                              "eq. (2) again: \(Int(el)) elements (\(mb(el * b)))", network: true))
            tag("collectives")
            origin(.allReduce, gpus: tp)
        }
        layer = comps
        sources = cost.sourceSummary().map { ($0.component, $0.sources.map(\.rawValue)) }
        kernelTables = cost.kernelTablesLabel
        expertsPerGPU = experts
        layersOfKind = [("MoE", m.moeLayerCount), ("dense", m.layers - m.moeLayerCount)].filter { $0.1 > 0 }
        if d.plan.pipelineParallel > 1 {
            let parts = cost.pipelineStages(step), sends = cost.stageSendUs(tokens: t)
            let ranges = d.plan.stageLayerRanges(layers: m.layers)
            for (k, (r, stageMem)) in zip(ranges, d.stageMemoryPlans()).enumerated() {
                stages.append(Stage(layers: r, moeLayers: r.filter { m.ffn[$0].isMoE }.count, us: parts[k].gpu,
                                    sendUs: k < sends.count ? sends[k] : 0, sendCrossesNodes: k < sends.count && cost.stageSendCrossesNodes[k], memory: stageMem))
            }
        }
    }
}

func mb(_ bytes: Double) -> String { bytes >= 1e6 ? String(format: "%.2f MB", bytes / 1e6) : String(format: "%.1f KB", bytes / 1e3) }

/// A horizontal text bar of `value` out of `max`, `width` characters.
public func textBar(_ value: Double, max: Double, width: Int = 30) -> String {
    guard max > 0, value > 0 else { return "" }
    let n = Int((value / max * Double(width)).rounded())
    return String(repeating: "█", count: Swift.max(1, Swift.min(width, n)))
}
