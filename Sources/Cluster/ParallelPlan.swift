import Foundation

/// A parallel plan in vLLM's terms: tensor, data and pipeline parallel sizes, expert parallelism, placement.
///
/// With `expertParallel`, the experts are spread whole over EP = TP x DP GPUs (`placement`); without it, every
/// expert is sharded over all TP x DP GPUs, as vLLM does (`moeShardGPUs`; with DP 1, its TP group). Attention and
/// dense layers are always TP within a DP replica. With PP > 1 the layers are split into PP stages (vLLM's `get_pp_indices`), each stage
/// on its own TP x DP GPUs: the EP group is one stage's GPUs. Ranks are ordered as vLLM orders them (DP, PP, TP):
/// GPU g is TP rank g % TP of stage (g / TP) % PP of DP rank g / (TP x PP).
public struct ParallelPlan: Sendable, Equatable {
    public var tensorParallel: Int
    public var dataParallel: Int
    /// `--pipeline-parallel-size`: stages, each holding a contiguous slice of the layers.
    public var pipelineParallel = 1
    public var expertParallel: Bool
    /// How EP exchanges tokens: vLLM's all-reduce combine (`allreduce`) or dispatch/combine all-to-all.
    public var all2allBackend: All2AllBackend
    /// The paper strategy this plan came from, if any.
    public var strategy: Strategy?
    /// vLLM's expert-parallel load balancer (`--enable-eplb`) and its redundant experts per MoE layer.
    public var eplb = false
    public var redundantExperts = 0

    /// vLLM's `--all2all-backend` choices (`naive`, `allgather_reducescatter`, `pplx`, `deepep_high_throughput`,
    /// `deepep_low_latency`); moesim's older names `allreduce` (= naive) and `alltoall` (= pplx) are kept.
    public enum All2AllBackend: String, Sendable, CaseIterable {
        /// vLLM `naive`: all-gather every rank's hidden states, all-reduce the expert outputs.
        case allreduce
        /// vLLM `pplx`: dispatch and combine as all-to-alls of k x tokens x hidden (eq. 3), over the measured
        /// NCCL all-to-all curves (pplx-kernels' own times are not measured here).
        case alltoall
        /// vLLM `allgather_reducescatter`: all-gather the hidden states, reduce-scatter the expert outputs.
        case allgatherReducescatter = "allgather_reducescatter"
        /// DeepEP's normal kernels (NVLink within a node, RDMA across, one copy per destination node).
        case deepepHighThroughput = "deepep_high_throughput"
        /// DeepEP's low-latency kernels (pure RDMA, one copy per expert, CUDA-graph compatible).
        case deepepLowLatency = "deepep_low_latency"

        /// The name vLLM gives this backend.
        public var vllmName: String {
            switch self {
            case .allreduce: return "naive"
            case .alltoall: return "pplx"
            default: return rawValue
            }
        }
        /// The collectives within a node that this backend's token exchange runs (DeepEP's kernels only where the
        /// network profile has no DeepEP figures: then they are priced as an all-to-all): what `explain` and `run`'s
        /// interconnect note say priced it.
        public func collectives(deepEPFigures: Bool) -> [Collective] {
            switch self {
            case .allreduce: return [.allGather, .allReduce]
            case .allgatherReducescatter: return [.allGather, .reduceScatter]
            case .alltoall: return [.allToAll]
            case .deepepLowLatency, .deepepHighThroughput: return deepEPFigures ? [] : [.allToAll]
            }
        }
        /// Every accepted spelling, vLLM's first.
        public static let accepted = ["naive", "allgather_reducescatter", "pplx", "deepep_high_throughput", "deepep_low_latency", "allreduce", "alltoall"]
        public init?(name: String) {
            switch name {
            case "naive", "allreduce": self = .allreduce
            case "pplx", "alltoall": self = .alltoall
            default: self.init(rawValue: name)
            }
        }
    }

    /// The paper's named strategies (Hegde et al., Table II and Section IV-C).
    public enum Strategy: String, Sendable, CaseIterable {
        case baseline, tp, ep, hybrid
        /// The explicit vLLM flags each strategy expands to.
        public var plan: ParallelPlan {
            switch self {
            case .baseline: return ParallelPlan(tp: 1, dp: 1, ep: false, strategy: self)
            case .tp: return ParallelPlan(tp: 2, dp: 1, ep: false, strategy: self)
            case .ep: return ParallelPlan(tp: 1, dp: 2, ep: true, strategy: self)
            case .hybrid: return ParallelPlan(tp: 2, dp: 2, ep: true, strategy: self)
            }
        }
        /// The GPU count the strategy means without `--num-gpus` (the paper's: 1 for baseline, 2 for tp and ep, 4 for hybrid).
        public var defaultGPUs: Int { plan.gpuCount }

        /// The strategy on `n` GPUs (`--num-gpus`): tp = TP n; ep = TP1 x DP n with EP; hybrid = TP2 x DP n/2 with EP
        /// (attention TP over pairs, experts over all n); baseline = 1 GPU only.
        public func plan(gpus n: Int) throws -> ParallelPlan {
            switch self {
            case .baseline:
                guard n == 1 else { throw InputError.usage("--strategy baseline is one GPU; '--num-gpus \(n)' needs --strategy tp, ep or hybrid") }
                return plan
            case .tp:
                guard n >= 2 else { throw InputError.usage("--strategy tp shards over several GPUs; '--num-gpus \(n)' must be at least 2 (or use --strategy baseline)") }
                return ParallelPlan(tp: n, dp: 1, ep: false, strategy: self)
            case .ep:
                guard n >= 2 else { throw InputError.usage("--strategy ep spreads the experts over several GPUs; '--num-gpus \(n)' must be at least 2 (or use --strategy baseline)") }
                return ParallelPlan(tp: 1, dp: n, ep: true, strategy: self)
            case .hybrid:
                guard n >= 4, n % 2 == 0 else { throw InputError.usage("--strategy hybrid is TP2 x DP(n/2) with EP; '--num-gpus \(n)' must be an even number of at least 4") }
                return ParallelPlan(tp: 2, dp: n / 2, ep: true, strategy: self)
            }
        }

        /// What the strategy means on the GPUs of `p`, in words.
        public func summary(_ p: ParallelPlan) -> String {
            switch self {
            case .baseline: return "1 GPU"
            case .tp: return "every layer TP-sharded over \(p.tensorParallel) GPUs, all-reduce after attention and MoE"
            case .ep: return "experts spread over \(p.dataParallel) GPUs, attention unsharded on each (TP1 x DP\(p.dataParallel) with EP)"
            case .hybrid: return "attention TP over \(p.tensorParallel) GPUs, experts spread over all \(p.gpuCount) (TP\(p.tensorParallel) x DP\(p.dataParallel) with EP)"
            }
        }

        public var summary: String {
            switch self {
            case .baseline: return "1 GPU"
            case .tp: return "every layer TP-sharded over 2 GPUs, all-reduce after attention and MoE"
            case .ep: return "experts spread over 2 GPUs, attention unsharded on each (TP1 x DP2 with EP)"
            case .hybrid: return "attention TP over 2 GPUs, experts spread over all 4 (TP2 x DP2 with EP)"
            }
        }
    }

    public init(tp: Int, dp: Int = 1, pp: Int = 1, ep: Bool = false, backend: All2AllBackend? = nil, strategy: Strategy? = nil) {
        tensorParallel = tp
        dataParallel = dp
        pipelineParallel = pp
        expertParallel = ep
        // vLLM combines expert outputs with an all-reduce when DP = 1; with DP > 1 it dispatches across DP ranks.
        all2allBackend = backend ?? (dp > 1 ? .alltoall : .allreduce)
        self.strategy = strategy
    }

    /// Every GPU of the plan: TP x DP x PP.
    public var gpuCount: Int { tensorParallel * dataParallel * pipelineParallel }
    /// The GPUs of one pipeline stage (TP x DP): the group that shares a layer's experts under EP.
    public var stageGPUs: Int { tensorParallel * dataParallel }
    public var expertParallelSize: Int { expertParallel ? stageGPUs : 1 }
    /// The GPUs each expert's intermediate is split over: without EP, vLLM shards the fused-MoE layer over the
    /// whole stage, TP x DP (`FusedMoEParallelConfig.flatten_tp_across_dp_and_pcp`): every GPU holds 1/(TP x DP)
    /// of every expert, all DP ranks' tokens are gathered into each MoE layer and its outputs reduce-scattered
    /// back (`StepCostModel.dataParallelMoECommUs`). Under EP, 1: experts stay whole.
    public var moeShardGPUs: Int { expertParallel ? 1 : stageGPUs }
    /// Whether vLLM runs `m`'s MoE layers sequence-parallel under this plan (`ParallelConfig.use_sequence_parallel_moe`:
    /// EP with TP > 1 and DP > 1 under allgather_reducescatter or DeepEP, for the families whose code takes it,
    /// `ModelArchitecture.vllmSequenceParallelMoE`): each TP rank routes 1/TP of its DP rank's tokens, the exchange spans
    /// the whole EP group, and the TP all-reduce after each MoE layer becomes an all-gather.
    public func sequenceParallelMoE(_ m: ModelArchitecture) -> Bool {
        expertParallel && tensorParallel > 1 && dataParallel > 1 && m.vllmSequenceParallelMoE
            && [.allgatherReducescatter, .deepepHighThroughput, .deepepLowLatency].contains(all2allBackend)
    }
    /// The GPUs each MoE layer's token exchange between DP ranks runs over (1: none): the DP group for DP without EP
    /// and for allgather_reducescatter outside sequence parallelism (each TP rank already holds its DP rank's tokens),
    /// else the stage's TP x DP GPUs.
    public func moeExchangeGPUs(_ m: ModelArchitecture) -> Int {
        guard dataParallel > 1, m.isMoE else { return 1 }
        if !expertParallel || (all2allBackend == .allgatherReducescatter && !sequenceParallelMoE(m)) { return dataParallel }
        return stageGPUs
    }

    /// The layers of each pipeline stage, as vLLM's `get_pp_indices` splits them: L / PP each, the remainder one
    /// each to the stages before the last (the last also holds the LM head).
    public static func stageLayerCounts(layers: Int, stages: Int) -> [Int] {
        guard stages > 1 else { return [layers] }
        var parts = Array(repeating: layers / stages, count: stages)
        let rest = layers % stages
        if rest > 0 { for i in 2..<(rest + 2) { parts[stages - i] += 1 } }
        return parts
    }

    /// The first layer of each stage and its count.
    public func stageLayerRanges(layers: Int) -> [Range<Int>] {
        var out: [Range<Int>] = [], start = 0
        for c in Self.stageLayerCounts(layers: layers, stages: pipelineParallel) { out.append(start..<(start + c)); start += c }
        return out
    }

    /// The global rank of TP rank `t` of stage `s` in DP rank `d` (vLLM's rank order DP, PP, TP).
    public func rank(dp d: Int, stage s: Int, tp t: Int) -> Int { (d * pipelineParallel + s) * tensorParallel + t }

    /// The vLLM command-line flags of this plan.
    public var vllmFlags: String {
        var s = "--tensor-parallel-size \(tensorParallel)"
        if pipelineParallel > 1 { s += " --pipeline-parallel-size \(pipelineParallel)" }
        if dataParallel > 1 { s += " --data-parallel-size \(dataParallel)" }
        if expertParallel { s += " --enable-expert-parallel" }
        if eplb { s += " --enable-eplb" + (redundantExperts > 0 ? " --num-redundant-experts \(redundantExperts)" : "") }
        return s
    }

    public var label: String {
        if let s = strategy { return s.rawValue }
        var l = "tp\(tensorParallel)"
        if pipelineParallel > 1 { l += "-pp\(pipelineParallel)" }
        if dataParallel > 1 { l += "-dp\(dataParallel)" }
        if expertParallel { l += "-ep" }
        return l
    }

    /// Checks the plan against a model; errors say what does not divide.
    public func validate(for m: ModelArchitecture) throws {
        guard tensorParallel >= 1, dataParallel >= 1, pipelineParallel >= 1 else {
            throw InputError.usage("tensor, data and pipeline parallel sizes must be at least 1 (got TP=\(tensorParallel), DP=\(dataParallel), PP=\(pipelineParallel))")
        }
        guard pipelineParallel <= m.layers else {
            throw InputError.usage("--pipeline-parallel-size \(pipelineParallel) exceeds the \(m.layers) layers of \(m.name) (every stage needs at least one layer)")
        }
        guard m.heads % tensorParallel == 0 else {
            throw InputError.usage("--tensor-parallel-size \(tensorParallel) does not divide the \(m.heads) attention heads of \(m.name)")
        }
        if let moe = m.moe {
            if expertParallel {
                guard moe.experts >= stageGPUs else {
                    throw InputError.usage("expert parallelism over \(stageGPUs) GPUs needs at least as many experts; \(m.name) has \(moe.experts)")
                }
            } else {
                guard moe.expertIntermediate % tensorParallel == 0 else {
                    throw InputError.usage("--tensor-parallel-size \(tensorParallel) does not divide the expert width \(moe.expertIntermediate) of \(m.name)")
                }
                // Without EP vLLM splits every expert over all TP x DP GPUs of the stage.
                guard moe.expertIntermediate % moeShardGPUs == 0 else {
                    throw InputError.usage("without --enable-expert-parallel vLLM splits every expert over all TP x DP = \(moeShardGPUs) GPUs (--tensor-parallel-size \(tensorParallel) x --data-parallel-size \(dataParallel)), which do not divide the expert width \(moe.expertIntermediate) of \(m.name); give --enable-expert-parallel or fewer GPUs")
                }
            }
        } else if expertParallel {
            throw InputError.usage("--enable-expert-parallel needs a Mixture-of-Experts model; \(m.name) is dense")
        }
        if eplb {
            guard expertParallel, let moe = m.moe else {
                throw InputError.usage("--enable-eplb balances expert parallelism; give --enable-expert-parallel with an MoE model")
            }
            guard (moe.experts + redundantExperts) % stageGPUs == 0 else {
                throw InputError.usage("--num-redundant-experts \(redundantExperts): \(m.name)'s \(moe.experts) experts + \(redundantExperts) redundant = \(moe.experts + redundantExperts) physical experts do not divide over \(stageGPUs) EP ranks (vLLM requires it)")
            }
        } else if redundantExperts > 0 {
            throw InputError.usage("--num-redundant-experts needs --enable-eplb")
        }
    }
}

/// Which GPUs hold each expert of each MoE layer; tokens routed to a replicated expert are split evenly.
public struct ExpertPlacement: Sendable, Equatable {
    /// `owners[layer][expert]` = the GPUs holding that expert (MoE layers only, in order).
    public var owners: [[[Int]]]

    /// Contiguous blocks: expert e on GPU e / (E / P), the remainder spread over the first GPUs.
    public static func contiguous(experts: Int, gpus: Int, moeLayers: Int) -> ExpertPlacement {
        let base = experts / gpus, extra = experts % gpus
        var layer: [[Int]] = []
        for g in 0..<gpus { for _ in 0..<(base + (g < extra ? 1 : 0)) { layer.append([g]) } }
        return ExpertPlacement(owners: Array(repeating: layer, count: moeLayers))
    }

    /// Reads `{"default": [[gpu, ...] per expert]}` (one placement for every MoE layer) or
    /// `{"layers": [[[gpu, ...] per expert] per MoE layer]}`: each expert lists the GPUs (0-based, within the EP group)
    /// that hold a replica of it. Every GPU must hold at least one expert in every layer.
    public static func load(file: String, experts: Int, gpus: Int, moeLayers: Int) throws -> ExpertPlacement {
        let j = try JSONNode.load(file: file)
        func readLayer(_ n: JSONNode) throws -> [[Int]] {
            let arr = try n.array()
            guard arr.count == experts else { throw n.fail("lists \(arr.count) experts; the model has \(experts)") }
            return try arr.map { e in
                let g = try e.array().map { try $0.int() }
                guard !g.isEmpty else { throw e.fail("an expert must be placed on at least one GPU") }
                for x in g where x < 0 || x >= gpus { throw e.fail("GPU \(x) is out of range 0..<\(gpus)") }
                guard Set(g).count == g.count else { throw e.fail("lists a GPU twice") }
                return g
            }
        }
        var owners: [[[Int]]]
        if let layers = j.optional("layers") {
            let ls = try layers.array()
            guard ls.count == moeLayers else { throw layers.fail("has \(ls.count) layers; the model has \(moeLayers) MoE layers") }
            owners = try ls.map(readLayer)
        } else {
            guard let d = j.optional("default") else {
                throw InputError.data("\(file): expected the key 'default' ([[GPU, ...] for each of the \(experts) experts]) or 'layers' ([that list for each of the \(moeLayers) MoE layers])")
            }
            owners = Array(repeating: try readLayer(d), count: moeLayers)
        }
        for (li, layer) in owners.enumerated() {
            let used = Set(layer.flatMap { $0 })
            if used.count < gpus {
                let idle = (0..<gpus).filter { !used.contains($0) }
                throw InputError.data("\(file): layer \(li) leaves GPU(s) \(idle.map(String.init).joined(separator: ", ")) without experts")
            }
        }
        return ExpertPlacement(owners: owners)
    }

    /// Experts per GPU in layer `l` (counting replicas).
    public func expertsPerGPU(layer l: Int, gpus: Int) -> [Int] {
        var c = Array(repeating: 0, count: gpus)
        for o in owners[l] { for g in o { c[g] += 1 } }
        return c
    }
}

extension ExpertPlacement {
    /// vLLM's expert-parallel load balancer (`--enable-eplb`) as a placement: per MoE layer, the `redundant`
    /// replicas go one at a time to the expert with the highest load per copy, and the E + R physical experts are
    /// packed onto the GPUs, (E + R) / P each, heaviest first onto the least-loaded GPU that has a free slot and
    /// does not hold that expert yet (vLLM's `rebalance_experts`: replicate, then balanced packing). `loads[l][e]`
    /// is the expected share of tokens routed to expert e in layer l (the routing's inclusion probabilities, what
    /// EPLB observes over its window).
    ///
    /// Layers with the same loads share one placement (computed once); replicas are chosen from a max-heap of load
    /// per copy and GPUs from a min-heap of load, so a layer costs O((E + R) log(E + R)), not O(R x E + (E + R) x P).
    public static func eplb(loads: [[Double]], experts: Int, gpus: Int, redundant: Int) -> ExpertPlacement {
        var owners: [[[Int]]] = []
        owners.reserveCapacity(loads.count)
        for (l, load) in loads.enumerated() {
            if l > 0, load == loads[l - 1] { owners.append(owners[l - 1]); continue }
            owners.append(eplbLayer(load, experts: experts, gpus: gpus, redundant: redundant))
        }
        return ExpertPlacement(owners: owners)
    }

    /// Refuses an EPLB placement whose packing would take more than minutes or more memory than the budget, before
    /// any of it is built: `distinctLayers` layers of E + R physical experts each.
    public static func checkEPLB(distinctLayers: Int, layers: Int, experts: Int, redundant: Int) throws {
        let physical = Double(experts + redundant)
        try Limits.checkMemory(Double(distinctLayers) * physical * 64 + Double(layers) * 64, what: "an EPLB placement of \(distinctLayers) MoE layers x \(experts + redundant) physical experts",
                               flag: "--num-redundant-experts or use uniform routing")
        let work = Double(distinctLayers) * physical * max(1, log2(physical)) * 8
        guard work <= Limits.maxSetupWork else {
            throw InputError.usage(String(format: "EPLB would pack %d MoE layers x %d physical experts (about %.3g steps); the limit is %.3g (about five minutes). Lower --num-redundant-experts or use uniform routing",
                                          distinctLayers, experts + redundant, work, Limits.maxSetupWork))
        }
    }

    static func eplbLayer(_ load: [Double], experts: Int, gpus: Int, redundant: Int) -> [[Int]] {
        let physical = experts + redundant
        let slots = physical / gpus
        var copies = Array(repeating: 1, count: experts)
        // Each redundant replica goes to the expert with the highest load per copy (the lowest index on ties).
        var byShare = BinaryHeap<(w: Double, e: Int)>(by: { $0.w > $1.w || ($0.w == $1.w && $0.e < $1.e) })
        for e in 0..<experts { byShare.push((load[e], e)) }
        for _ in 0..<redundant {
            guard let top = byShare.pop() else { break }
            copies[top.e] += 1
            byShare.push((load[top.e] / Double(copies[top.e]), top.e))
        }
        var items: [(e: Int, w: Double)] = []
        items.reserveCapacity(physical)
        for e in 0..<experts { for _ in 0..<copies[e] { items.append((e, load[e] / Double(copies[e]))) } }
        items.sort { $0.w > $1.w || ($0.w == $1.w && $0.e < $1.e) }
        // Heaviest first onto the least-loaded GPU (the lowest index on ties) with a free slot that does not hold
        // the expert yet; a copy with no such GPU adds nothing and is dropped.
        var gpuLoad = Array(repeating: 0.0, count: gpus), used = Array(repeating: 0, count: gpus)
        var held = Array(repeating: Set<Int>(), count: gpus)
        var open = BinaryHeap<(w: Double, g: Int)>(by: { $0.w < $1.w || ($0.w == $1.w && $0.g < $1.g) })
        if slots > 0 { for g in 0..<gpus { open.push((0, g)) } }
        var layer = Array(repeating: [Int](), count: experts)
        var skipped: [(w: Double, g: Int)] = []
        for it in items {
            skipped.removeAll(keepingCapacity: true)
            var pick = -1
            while let c = open.pop() {
                if held[c.g].contains(it.e) { skipped.append(c) } else { pick = c.g; break }
            }
            for c in skipped { open.push(c) }
            guard pick >= 0 else { continue }
            gpuLoad[pick] += it.w; used[pick] += 1; held[pick].insert(it.e)
            layer[it.e].append(pick)
            if used[pick] < slots { open.push((gpuLoad[pick], pick)) }
        }
        return layer.map { $0.sorted() }
    }
}

/// A binary heap; `by(a, b)` is true when a comes out before b.
struct BinaryHeap<T> {
    var items: [T] = []
    let by: (T, T) -> Bool
    init(by: @escaping (T, T) -> Bool) { self.by = by }

    mutating func push(_ x: T) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard by(items[i], items[parent]) else { break }
            items.swapAt(i, parent); i = parent
        }
    }

    mutating func pop() -> T? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, by(items[l], items[m]) { m = l }
                if r < items.count, by(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
        }
        return top
    }
}
