import Foundation
import SimKit
import Cluster

/// Hugging Face Transformers `generate` on a static batch, eager PyTorch: autoregressive or LLaDA diffusion.
///
/// The host (Python) issues kernels asynchronously, so a stretch of work takes the longer of its host time and
/// its GPU time, and every host-device synchronisation ends a stretch. Transformers' eager MoE layer syncs once
/// per layer (`nonzero` over the routing mask) and then loops in Python over the hit experts, one small GEMM
/// chain each, syncing again per expert (`torch.where(mask)`): the loop takes hit experts x (host cost + sync)
/// plus their GPU time. `grouped_mm` runs one grouped GEMM;
/// `batched_mm` gathers each token's expert weights first (top-k x tokens copies: memory can run out).
/// Autoregressive decode grows the `DynamicCache` by concatenation, copying the cache every step.
public struct HFSimulator {
    /// Transformers' experts implementations, plus `loop_all`: the loop of LLaDA-MoE's released modelling code
    /// (trust_remote_code), which visits every expert, hit or not, with a `torch.where` sync on each.
    public enum ExpertsImpl: String, CaseIterable, Sendable { case eager, batched_mm, grouped_mm, loop_all }

    /// The experts implementation a model runs when none is named: LLaDA-MoE's released code loops over its
    /// experts whatever Transformers' own setting is; other models take the engine profile's.
    public static func defaultExpertsImpl(model: ModelArchitecture, engine: EngineProfile) -> String {
        model.isDiffusion && model.isMoE ? ExpertsImpl.loop_all.rawValue : engine.defaultExpertsImpl
    }

    public let deployment: Deployment
    public let batchSize: Int
    public let inputLen: Int
    public let outputLen: Int
    public let diffusion: DiffusionSchedule?
    public let cfg: Bool
    public let expertsImpl: ExpertsImpl
    public let expertReuse: Double
    public let seed: UInt64
    /// What Transformers' plan shards and replicates on the deployment's GPUs.
    public let layout: HFParallelLayout

    public init(deployment: Deployment, batchSize: Int, inputLen: Int, outputLen: Int, diffusion: DiffusionSchedule?, cfg: Bool,
                expertsImpl: ExpertsImpl, expertReuse: Double, seed: UInt64) throws {
        guard batchSize > 0 else { throw InputError.usage("--batch-size must be positive (got \(batchSize))") }
        guard inputLen > 0 else { throw InputError.usage("--input-len must be positive (got \(inputLen))") }
        guard outputLen > 0 else { throw InputError.usage("--output-len must be positive (got \(outputLen))") }
        guard expertReuse >= 0, expertReuse < 1 else { throw InputError.usage("--expert-reuse must be in [0, 1) (got \(expertReuse))") }
        guard deployment.plan.pipelineParallel == 1 else {
            throw InputError.usage("'--pipeline-parallel-size \(deployment.plan.pipelineParallel)' is not used by '--engine hf': Transformers' generate has no pipeline parallelism (use --tensor-parallel-size or --enable-expert-parallel, or --engine vllm)")
        }
        if diffusion != nil && !deployment.model.isDiffusion {
            throw InputError.usage("'--generation diffusion' needs a diffusion model (e.g. llada-8b, llada-moe-7b); \(deployment.model.name) is autoregressive")
        }
        if diffusion == nil && deployment.model.isDiffusion {
            throw InputError.usage("\(deployment.model.name) is a diffusion model: add '--generation diffusion'")
        }
        layout = try HFParallelLayout(family: deployment.model.family, plan: deployment.plan)
        if layout.expertParallel && layout.gpus > 1 && expertsImpl == .eager {
            throw InputError.usage("--engine hf --enable-expert-parallel with --experts-impl eager: Transformers 5.17's eager experts loop fails under its expert-parallel plan (one_hot of the EP sentinel index: a device-side assert, seen on 2x H200); use grouped_mm or batched_mm, or tensor parallelism")
        }
        self.deployment = deployment; self.batchSize = batchSize; self.inputLen = inputLen; self.outputLen = outputLen
        self.diffusion = diffusion; self.cfg = cfg; self.expertsImpl = expertsImpl; self.expertReuse = expertReuse; self.seed = seed
    }

    /// The experts implementation a phase runs: Transformers 5.x `generate` decodes with `batched_mm` when
    /// `grouped_mm` is configured (recorded by the probe harness on the H200 runs).
    func impl(decode: Bool) -> ExpertsImpl {
        if decode && expertsImpl == .grouped_mm && deployment.param("decode_grouped_as_batched") >= 0.5 { return .batched_mm }
        return expertsImpl
    }

    /// The cost models a forward needs: `sharded` prices work split over the plan's GPUs (and the collectives),
    /// `single` work every GPU does whole (replicated under Transformers' plan); one model when there is one GPU.
    struct Costs {
        let sharded: StepCostModel
        let single: StepCostModel
    }

    func costs() throws -> Costs {
        let d = deployment
        let sharded = try d.costModel(seed: seed)
        if d.plan.gpuCount == 1 { return Costs(sharded: sharded, single: sharded) }
        var one = d
        one.plan = ParallelPlan(tp: 1, dp: 1, ep: false, backend: nil)
        one.placement = nil
        return Costs(sharded: sharded, single: try one.costModel(seed: seed))
    }

    /// Time of one forward pass, by component, with the host/GPU overlap described above. On several GPUs every
    /// GPU runs the same layer sequence in lockstep (each collective waits for all of them): sharded parts shrink,
    /// replicated parts do not, each collective costs its measured time on the GPU and `host_per_collective_us`
    /// on the host, each DTensor redistribute `host_dtensor_redistribute_us` and each lighter plan hook
    /// `host_tp_hook_us` (see `HFParallelLayout`).
    func forward(_ b: BatchShape, costs c: Costs, cacheCopyContext: Double, rng: inout Xoshiro256, routing: RoutingModel?) throws -> StepBreakdown {
        let expertsImpl = impl(decode: b.decodeSequences > 0 && b.decodeSequences == b.sequences)
        let d = deployment, m = d.model, P = layout.gpus
        let hostLayer = d.param("host_per_layer_us"), hostExpert = d.param("host_per_expert_us")
        let sync = d.param("sync_us"), hostGrouped = d.param("host_grouped_moe_us")
        let hostCollective = P > 1 ? d.param("host_per_collective_us") : 0
        let hostHook = P > 1 ? d.param("host_tp_hook_us") : 0
        let hostRedistribute = P > 1 ? d.param("host_dtensor_redistribute_us") : 0
        var s = StepBreakdown()
        let t = b.tokens
        // GPU time of the non-expert part of every layer.
        let attnCost = layout.attention == .replicated ? c.single : c.sharded
        let attnKernel = attnCost.attentionKernelUs(b)
        let kvTP = layout.attention == .replicated ? 1 : P
        let copyUs = cacheCopyContext > 0 ? attnCost.kernels.memoryUs(bytes: 2 * cacheCopyContext * m.kvBytesPerToken(tensorParallel: kvTP) / Double(m.layers)) : 0
        let projections = attnCost.attentionGEMMUs(tokens: t)
        let elementwise = c.single.elementwiseUs(tokens: t)
        let lm = (layout.lmHeadSharded ? c.sharded : c.single).lmHeadUs(rows: b.logitsRows)
        var counts = Array(repeating: 0, count: m.moe?.experts ?? 0)
        var moeIndex = 0
        var hostRun = d.param("host_per_forward_us"), gpuRun = lm.compute + lm.comm
        if lm.comm > 0 { s.communication += lm.comm; hostRun += hostCollective }
        var total = 0.0
        for l in 0..<m.layers {
            let f = m.ffn[l]
            let denseSharded = f.isMoE ? layout.sharedExpertsSharded : layout.attention != .replicated
            let dense = (denseSharded ? c.sharded : c.single).denseFFNUs(layer: l, tokens: t)
            for (coll, bytes) in layout.collectives(model: m, layer: l, tokens: t) {
                let comm = c.sharded.collectiveUs(coll, bytes: bytes, gpus: P)
                s.communication += comm; gpuRun += comm; hostRun += hostCollective
            }
            hostRun += Double(layout.hooks(model: m, layer: l)) * hostHook
                + Double(layout.redistributes(model: m, layer: l)) * hostRedistribute
            s.attention += attnKernel + copyUs + projections
            s.denseGEMM += dense + elementwise
            hostRun += hostLayer
            gpuRun += attnKernel + copyUs + projections + dense + elementwise
            guard f.isMoE, let routing = routing else { continue }
            routing.sampleCounts(layer: moeIndex, tokens: t, rng: &rng, into: &counts)
            moeIndex += 1
            // Expert parallelism (Transformers' expert-parallel plan): each GPU loops over its own hit experts,
            // in parallel with the others; the layer waits for the busiest (the all-reduce is in `collectives`).
            let groups = layout.experts == .shardedExperts ? P : 1
            let inter = layout.experts == .shardedWidth ? f.expertIntermediate / P : f.expertIntermediate
            var gpuPer = Array(repeating: 0.0, count: groups), hitPer = Array(repeating: 0, count: groups)
            for e in 0..<f.experts where counts[e] > 0 {
                let g = groups > 1 ? (d.placement.map { $0.owners[moeIndex - 1][e][0] } ?? 0) : 0
                hitPer[g] += 1
                gpuPer[g] += c.single.kernels.expertUs(tokens: counts[e], hidden: m.hidden, inter: inter)
            }
            let busiest = (0..<groups).max { gpuPer[$0] + Double(hitPer[$0]) * hostExpert < gpuPer[$1] + Double(hitPer[$1]) * hostExpert } ?? 0
            var gpuExperts = gpuPer[busiest]
            let hit = hitPer[busiest]
            gpuExperts *= (1 - expertReuse)
            let hitEff = Double(hit) * (1 - expertReuse)
            switch expertsImpl {
            case .eager:
                // `nonzero` over the routing mask ends the stretch; then the Python loop, where each expert's
                // `torch.where(mask)` syncs again, so host and GPU work of the experts run one after the other.
                total += max(hostRun, gpuRun) + sync
                hostRun = 0; gpuRun = 0
                let loop = hitEff * (hostExpert + sync) + gpuExperts
                total += loop
                s.experts += gpuExperts
                s.overhead += loop - gpuExperts
            case .loop_all:
                // the released loop: every local expert, a sync each (the first ends the stretch); its per-expert
                // cost `remote_loop_expert_us` was fitted on the H200 (experiments/h200-hf/llada_moe_loop_fit.py),
                // else Transformers' eager loop cost (host per expert + sync)
                total += max(hostRun, gpuRun)
                hostRun = 0; gpuRun = 0
                let fitted = d.param("remote_loop_expert_us")
                let perExpert = fitted > 0 ? fitted : hostExpert + sync
                let visited = Double(f.experts / groups) * (1 - expertReuse)
                let loop = visited * perExpert + gpuExperts
                total += loop
                s.experts += gpuExperts
                s.overhead += loop - gpuExperts
            case .grouped_mm:
                // torch's grouped GEMM runs slower than the per-expert cuBLAS roofline; the ratio is an engine parameter.
                // Under EP the rows routed to other GPUs (the sentinel tail) still cost the fraction
                // `ep_sentinel_cost` of their GEMM time (the runs on 2x H200 show EP prefill barely faster than one GPU).
                var work = gpuExperts
                if groups > 1 {
                    let others = gpuPer.reduce(0, +) - gpuPer[busiest]
                    work += others * (1 - expertReuse) * d.param("ep_sentinel_cost")
                }
                let g = work / max(d.param("grouped_mm_efficiency"), 1e-3)
                hostRun += hostGrouped
                gpuRun += g
                s.experts += g
            case .batched_mm:
                // every GPU gathers and multiplies all t x k pairs (under EP the non-local ones are clamped and
                // wasted: batched_mm cannot skip them), each pair's weights of the local width
                let pairs = Double(t * f.topK)
                let weightBytes = pairs * 3 * Double(m.hidden * inter) * m.bytesPerParam
                let gather = c.single.kernels.memoryUs(bytes: 2 * weightBytes) * (1 - expertReuse)
                let bmm = c.single.kernels.floorUs(flops: 6 * pairs * Double(m.hidden * inter), bytes: weightBytes) / d.gpu.achievedBandwidthFraction
                hostRun += hostGrouped
                gpuRun += gather + bmm
                s.experts += gather + bmm
            }
        }
        total += max(hostRun, gpuRun) + sync // generate's stopping check syncs every step
        s.overhead = max(0, total - (s.attention + s.denseGEMM + s.experts + s.communication + lm.compute))
        s.denseGEMM += lm.compute
        return s
    }

    /// One forward pass taken apart for `moesim explain`: the step's components, the expert implementation that
    /// runs it, and the mean number of experts hit per MoE layer. Diffusion: a full bidirectional pass over
    /// prompt + generated positions; autoregressive: one decode step at `inputLen` cached tokens.
    public func explainForward() throws -> (step: StepBreakdown, impl: ExpertsImpl, tokens: Int, expertsHitPerLayer: Double) {
        let d = deployment, m = d.model
        let cost = try costs()
        var rng = Xoshiro256(seed: seed, stream: 0x4F)
        var routing: RoutingModel? = nil
        if let moe = m.moe { routing = try RoutingModel(spec: d.routing, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: seed) }
        let rows = batchSize * (cfg ? 2 : 1)
        var b = BatchShape()
        var copy = 0.0
        if let sched = diffusion {
            for _ in 0..<rows { b.addPrefill(chunk: sched.sequenceLength(prompt: inputLen), prefix: 0, samples: true, bidirectional: true) }
        } else {
            for _ in 0..<rows { b.addDecode(context: inputLen) }
            copy = Double(rows * inputLen)
        }
        let step = try forward(b, costs: cost, cacheCopyContext: copy, rng: &rng, routing: routing)
        var hit = 0.0
        if let moe = m.moe, let r = routing {
            var counts = Array(repeating: 0, count: moe.experts)
            var check = Xoshiro256(seed: seed, stream: 0x4E)
            for l in 0..<m.moeLayerCount {
                r.sampleCounts(layer: l, tokens: b.tokens, rng: &check, into: &counts)
                hit += Double(counts.filter { $0 > 0 }.count)
            }
            hit /= Double(max(1, m.moeLayerCount))
        }
        return (step, impl(decode: diffusion == nil), b.tokens, hit)
    }

    public func run() throws -> RunResult {
        let d = deployment, m = d.model
        let mem = layout.memoryPlan(d)
        try mem.check(model: m, plan: d.plan, gpu: d.gpu)
        let cost = try costs()
        var rng = Xoshiro256(seed: seed, stream: 0x4F)
        var routing: RoutingModel? = nil
        if let moe = m.moe { routing = try RoutingModel(spec: d.routing, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: seed) }
        let rows = batchSize * (cfg ? 2 : 1)
        // Memory: the cache (autoregressive) or activations over the whole sequence (diffusion), and batched_mm's gather.
        var extra = 0.0
        if let moe = m.moe {
            let perPair = Double(moe.topK) * 3 * Double(m.hidden * moe.expertIntermediate) * m.bytesPerParam
            let prefillTokens = Double(rows) * Double(diffusion.map { $0.sequenceLength(prompt: inputLen) } ?? inputLen)
            if impl(decode: false) == .batched_mm { extra = max(extra, prefillTokens * perPair) }
            if diffusion == nil && impl(decode: true) == .batched_mm { extra = max(extra, Double(rows) * perPair) }
        }
        let kv = diffusion == nil ? Double(rows) * Double(inputLen + outputLen) * mem.kvBytesPerToken * 2 : 0
        if mem.weightBytes + mem.reserveBytes + kv + extra > mem.budgetBytes {
            throw InputError.data(String(format: "out of GPU memory: %@ with experts_impl %@ at batch %d needs %.1f GB (weights %.1f, cache %.1f, expert-weight gather %.1f, reserve %.1f) of %.1f GB on %@",
                                         m.name, expertsImpl.rawValue, batchSize, (mem.weightBytes + mem.reserveBytes + kv + extra) / 1e9,
                                         mem.weightBytes / 1e9, kv / 1e9, extra / 1e9, mem.reserveBytes / 1e9, mem.budgetBytes / 1e9, d.gpu.name))
        }
        var breakdown = StepBreakdown()
        var totalUs = 0.0, firstUs = 0.0, steps = 0
        var itl: [Double] = []
        if let sched = diffusion {
            let seqLen = sched.sequenceLength(prompt: inputLen)
            var b = BatchShape()
            for _ in 0..<rows { b.addPrefill(chunk: seqLen, prefix: 0, samples: true, bidirectional: true) }
            b.logitsRows = rows * sched.genLength // logits over every generated position
            for step in 0..<sched.steps {
                let f = try forward(b, costs: cost, cacheCopyContext: 0, rng: &rng, routing: routing)
                breakdown += f
                totalUs += f.total
                steps += 1
                if step + 1 == sched.stepsPerBlock { firstUs = totalUs }
            }
            let perBlock = totalUs / Double(sched.blocks)
            itl = Array(repeating: perBlock / 1e3, count: max(0, sched.blocks - 1) * batchSize)
        } else {
            var b = BatchShape()
            for _ in 0..<rows { b.addPrefill(chunk: inputLen, prefix: 0, samples: true) }
            let pre = try forward(b, costs: cost, cacheCopyContext: 0, rng: &rng, routing: routing)
            breakdown += pre; totalUs = pre.total; firstUs = pre.total; steps = 1
            for i in 1..<outputLen {
                var db = BatchShape()
                for _ in 0..<rows { db.addDecode(context: inputLen + i - 1) }
                let ctx = Double(rows) * Double(inputLen + i - 1)
                let f = try forward(db, costs: cost, cacheCopyContext: ctx, rng: &rng, routing: routing)
                breakdown += f; totalUs += f.total; steps += 1
                for _ in 0..<batchSize { itl.append(f.total / 1e3) }
            }
        }
        let generated = diffusion?.genLength ?? outputLen
        let e2e = Array(repeating: totalUs / 1e3, count: batchSize)
        let tpotValue = generated > 1 ? (totalUs - firstUs) / 1e3 / Double(generated - 1) : 0
        var r = RunResult(durationS: totalUs / 1e6, completed: batchSize, totalInputTokens: batchSize * inputLen,
                          totalOutputTokens: batchSize * generated, ttftMs: Summary(Array(repeating: firstUs / 1e3, count: batchSize)),
                          tpotMs: Summary(Array(repeating: tpotValue, count: batchSize)), itlMs: Summary(itl), e2elMs: Summary(e2e),
                          gpus: d.plan.gpuCount, steps: steps, breakdownUs: breakdown.scaled(1 / Double(steps)), preemptions: 0,
                          kvCapacityTokens: 0, peakKVUsage: 0, meanKVUsage: 0, gpuBusyFraction: breakdown.gpu / max(totalUs, 1), seed: seed)
        r.samples = RunResult.Samples(ttftMs: Array(repeating: firstUs / 1e3, count: batchSize), tpotMs: Array(repeating: tpotValue, count: batchSize),
                                      itlMs: RunLengthSample(itl), e2elMs: e2e)
        let perSeqITL = diffusion.map { s in Array(repeating: totalUs / Double(s.blocks) / 1e3, count: max(0, s.blocks - 1)) }
            ?? stride(from: 0, to: itl.count, by: max(batchSize, 1)).map { itl[$0] }
        r.perRequest = RunResult.PerRequest(inputLens: Array(repeating: inputLen, count: batchSize), outputLens: Array(repeating: generated, count: batchSize),
                                            ttftMs: Array(repeating: firstUs / 1e3, count: batchSize), e2elMs: e2e, sendMs: Array(repeating: 0, count: batchSize),
                                            itlsMs: Array(repeating: perSeqITL, count: batchSize))
        r.notes.append("engine: hf static batch \(batchSize), experts_impl \(impl(decode: false).rawValue) (prefill) / \(impl(decode: true).rawValue) (decode)\(diffusion.map { ", diffusion \($0.steps) steps, gen \($0.genLength), block \($0.blockLength)" } ?? "")")
        if layout.gpus > 1 { r.notes.append("plan: Transformers \(layout.summary)") }
        if expertReuse > 0 { r.notes.append("what-if: \(Int(expertReuse * 100))% of expert work reused across denoising steps (assumed free)") }
        return r
    }
}
