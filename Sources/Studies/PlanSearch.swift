import Foundation
import SimKit
import Cluster
import Serving

/// What-if search over deployments for one model and workload: enumerate plans, prune by memory and by lower
/// bounds on the SLOs, simulate the rest, rank.
public struct PlanSearch {
    public struct Candidate: Sendable, Hashable {
        public var gpu: String
        public var tp: Int
        public var dp: Int
        public var ep: Bool
        public var backend: String?
        public var maxNumSeqs: Int
        /// Pipeline stages (`--pipeline-parallel-size`), each of TP x DP GPUs.
        public var pp = 1
        /// Disaggregated prefill/decode: instances of the plan above for each role (0 = aggregated).
        public var prefillInstances = 0, decodeInstances = 0
        /// Disaggregated: the prefill instances' tensor parallel size when it differs (`--prefill-tensor-parallel-size`).
        public var prefillTP: Int? = nil
        /// Engine instances of this plan behind a router (`--replicas`, held fixed by `plan --replicas N`).
        public var replicas = 1
        /// The what-if flags held fixed that apply to this candidate (after its own in `args`).
        public var fixed: [String] = []
        public init(gpu: String, tp: Int, dp: Int, ep: Bool, backend: String?, maxNumSeqs: Int) {
            self.gpu = gpu; self.tp = tp; self.dp = dp; self.ep = ep; self.backend = backend; self.maxNumSeqs = maxNumSeqs
        }
        public var gpus: Int {
            if prefillInstances > 0 { return dp * pp * (tp * decodeInstances + (prefillTP ?? tp) * prefillInstances) }
            return tp * dp * pp * replicas
        }
        public var label: String {
            var s = "\(gpus)x \(gpu) TP\(tp)"
            if pp > 1 { s += " PP\(pp)" }
            if dp > 1 { s += " DP\(dp)" }
            if ep { s += " EP\(tp * dp)" + (backend.map { "/\($0)" } ?? "") }
            if prefillInstances > 0 { s += " \(prefillInstances)P\(decodeInstances)D" + (prefillTP.map { " prefill-TP\($0)" } ?? "") }
            if replicas > 1 { s += " x\(replicas) replicas" }
            return s + " seqs\(maxNumSeqs)"
        }
        public var args: [String] {
            var a = ["--gpu", gpu, "--tensor-parallel-size", String(tp), "--data-parallel-size", String(dp), "--max-num-seqs", String(maxNumSeqs)]
            if pp > 1 { a += ["--pipeline-parallel-size", String(pp)] }
            if ep { a.append("--enable-expert-parallel") }
            if let b = backend { a += ["--all2all-backend", b] }
            if prefillInstances > 0 { a += ["--prefill-instances", String(prefillInstances), "--decode-instances", String(decodeInstances)] }
            if let p = prefillTP, prefillInstances > 0 { a += ["--prefill-tensor-parallel-size", String(p)] }
            if replicas > 1 { a += ["--replicas", String(replicas)] }
            return a + fixed
        }
    }

    public enum Verdict: Sendable {
        case doesNotFit(String)
        case cannotMeetSLO(String)
        case simulated(RunResult)
        case failed(String)
    }

    public struct Evaluated: Sendable {
        public var candidate: Candidate
        public var verdict: Verdict
        public var result: RunResult? { if case .simulated(let r) = verdict { return r }; return nil }
        public var meetsSLO = false
        public var usdPerMTok: Double?
        /// Other candidates whose simulation came out identical (same GPU and count; e.g. a `--max-num-seqs` above
        /// what each DP rank ever holds): folded into this row.
        public var sameAs: [String] = []
        /// Output throughput per GPU, the mean over seeds.
        public var meanThroughputPerGPU: Double {
            if replicates.isEmpty { return result.map { $0.outputThroughput / Double($0.gpus) } ?? 0 }
            return throughputPerGPU.mean
        }
        /// Output throughput and P99 TTFT / TPOT, the means over seeds (the first seed's values with one seed): what
        /// the tables print, so that they show what the ranking sorted by.
        public var meanOutputThroughput: Double {
            if replicates.isEmpty { return result?.outputThroughput ?? 0 }
            return replicates.map(\.outputThroughput).reduce(0, +) / Double(replicates.count)
        }
        public var meanP99TTFTms: Double { replicates.isEmpty ? (result?.ttftMs.p99 ?? 0) : p99TTFTms.mean }
        public var meanP99TPOTms: Double { replicates.isEmpty ? (result?.tpotMs.p99 ?? 0) : p99TPOTms.mean }
        /// Every seed's result (`--seeds`); the verdict holds the first.
        public var replicates: [RunResult] = []
        /// Mean and 95% interval over the replicates (one value, no interval, with one seed).
        public var throughputPerGPU: ConfidenceInterval { ConfidenceInterval(replicates.map { $0.outputThroughput / Double($0.gpus) }) }
        public var p99TTFTms: ConfidenceInterval { ConfidenceInterval(replicates.map(\.ttftMs.p99)) }
        public var p99TPOTms: ConfidenceInterval { ConfidenceInterval(replicates.map(\.tpotMs.p99)) }
    }

    public var model: ModelArchitecture
    public var modelArg: String
    public var gpus: [String]
    public var maxGPUs: Int
    public var workloadArgs: [String]
    public var sloTTFTp99Ms: Double?
    public var sloTPOTp99Ms: Double?
    public var prices: [String: Double]
    /// `--max-num-seqs` values tried: those below the client's concurrency (they change the schedule) and the
    /// first at or above it (all larger ones schedule identically, so they are not repeated).
    public var seqOptions: [Int] = [16, 32, 64, 128, 256, 512]
    public var concurrency: Int? = nil
    /// Replicates per plan (`--seeds`): each plan is simulated with seeds base, base+1, ... and ranked by its mean.
    public var seeds = 1
    /// Also search disaggregated prefill/decode (`plan --include-disaggregated`; see `disaggregatedCandidates`).
    public var includeDisaggregated = false
    /// What-if flags of `run` held fixed for every candidate (`plan --kv-cache-dtype fp8 ...`): the search keeps only
    /// the candidates `keep` accepts, and each simulation gets `fixedArgs(candidate)` after its own flags.
    public var what = WhatIf()

    /// The `run` flags a plan holds fixed: filters on the searched dimensions and flags passed to every candidate.
    public struct WhatIf: Sendable {
        /// Every searched dimension the user fixed, e.g. ("--tensor-parallel-size", "8"), and the pass-through flags
        /// with their values ("" for a flag without one), in the order given: what `held_fixed` lists.
        public var heldFixed: [(flag: String, value: String)] = []
        public var tp: Int?, dp: Int?, pp: Int?, gpuCount: Int?
        /// Expert parallelism required (`--enable-expert-parallel`, an EP-only flag or an EP strategy), or refused.
        public var ep: Bool?
        /// `--strategy`: the plan shape kept (baseline = 1 GPU; tp = TP only; ep = TP1 x DP with EP; hybrid = TP x DP with EP).
        public var strategy: ParallelPlan.Strategy?
        public var backend: String?
        public var maxNumSeqs: Int?
        /// `--data-parallel-size-local`: DP must be a multiple of it.
        public var dpLocal: Int?
        /// Speculative decoding: no pipelined plans (vLLM refuses them together).
        public var noPipeline = false
        public var replicas = 1
        /// `--prefill-instances x --decode-instances y`: every candidate disaggregated so.
        public var disaggregated: (x: Int, y: Int)?
        public var prefillTP: Int?
        /// Flags passed to every simulation; `multiGPUOnly` ones only where the plan has several GPUs (`--interconnect`),
        /// `multiNodeOnly` ones where it spans nodes or uses a DeepEP backend (`--network`), `disaggregatedOnly` ones to
        /// disaggregated candidates.
        public var args: [String] = []
        public var multiGPUOnly: [String] = [], multiNodeOnly: [String] = [], disaggregatedOnly: [String] = []
        /// Memory what-ifs for the pruning bound: `--gpu-memory-utilization`, the engine profile, EPLB's redundant experts.
        public var memoryUtilization: Double?
        public var engineProfile = "vllm"
        public var eplb = false, redundantExperts = 0
        public init() {}

        public func keep(_ c: Candidate, gpusPerNode: Int) -> Bool {
            if let v = tp, c.tp != v { return false }
            if let v = dp, c.dp != v { return false }
            if let v = pp, c.pp != v { return false }
            if let v = gpuCount, c.tp * c.dp * c.pp != v { return false }
            if let v = ep, c.ep != v { return false }
            // vLLM uses an all-to-all backend only between DP ranks: a backend held fixed keeps the plans that use it.
            if backend != nil && c.dp == 1 { return false }
            if let l = dpLocal, c.dp % l != 0 { return false }
            if noPipeline && c.pp > 1 { return false }
            if let s = strategy {
                switch s {
                case .baseline: if c.tp * c.dp * c.pp != 1 { return false }
                case .tp: if !(c.tp > 1 && c.dp == 1 && c.pp == 1 && !c.ep) { return false }
                case .ep: if !(c.tp == 1 && c.dp > 1 && c.pp == 1 && c.ep) { return false }
                case .hybrid: if !(c.tp > 1 && c.dp > 1 && c.pp == 1 && c.ep) { return false }
                }
            }
            return true
        }

        /// The flags after the candidate's own.
        public func fixedArgs(_ c: Candidate, gpusPerNode: Int) -> [String] {
            var a = args
            let stage = c.tp * c.dp * c.pp
            if stage > 1 || c.prefillInstances > 0 || c.replicas > 1 { a += multiGPUOnly }
            let nodes = (c.dp * c.pp * c.tp) > (dpLocal.map { $0 * c.tp * c.pp } ?? gpusPerNode)
            if nodes || (c.backend ?? "").hasPrefix("deepep") { a += multiNodeOnly }
            if c.prefillInstances > 0 { a += disaggregatedOnly }
            return a
        }
    }

    var effectiveSeqOptions: [Int] {
        if let v = what.maxNumSeqs { return [v] }
        let options: [Int]
        if let c = concurrency {
            let below = seqOptions.filter { $0 < c }
            options = below + (seqOptions.first { $0 >= c }.map { [$0] } ?? [])
        } else { options = [64, 128, 256] }
        // A --max-num-batched-tokens held fixed bounds the sequences (vLLM refuses more): the options above it are
        // not plan's own choice to offer, so they become the budget itself.
        guard let i = what.args.lastIndex(of: "--max-num-batched-tokens"), i + 1 < what.args.count,
              let budget = Int(what.args[i + 1]), budget > 0 else { return options }
        var out: [Int] = []
        for s in options.map({ min($0, budget) }) where !out.contains(s) { out.append(s) }
        return out
    }

    public init(model: ModelArchitecture, modelArg: String, gpus: [String], maxGPUs: Int, workloadArgs: [String],
                sloTTFTp99Ms: Double?, sloTPOTp99Ms: Double?, prices: [String: Double]) {
        self.model = model; self.modelArg = modelArg; self.gpus = gpus; self.maxGPUs = maxGPUs; self.workloadArgs = workloadArgs
        self.sloTTFTp99Ms = sloTTFTp99Ms; self.sloTPOTp99Ms = sloTPOTp99Ms; self.prices = prices
    }

    /// GPUs per node: plans over more GPUs span nodes joined by the GPU's shipped network profile, with TP
    /// inside a node (the `run` default, `--gpus-per-node 8`).
    public var gpusPerNode = 8

    /// The token exchanges tried for an expert-parallel plan over DP ranks within a node (nil: the engine's default):
    /// the default alone for an engine profile that names one (the `vllm` profile: vLLM 0.24's allgather_reducescatter,
    /// the only one it has left within a node), pplx and naive for one that does not (`use(engine:)`).
    public var dpBackends: [String?] = [nil]
    /// Notes for the user about the search as set up (a backend held fixed that the engine no longer has).
    public var notes: [String] = []

    /// The backends `engine`'s vLLM has, for `dpBackends`; a removed backend held fixed (`what.backend`) becomes the
    /// engine's default, with a note, as vLLM replaces it.
    public mutating func use(engine: EngineProfile) {
        guard engine.defaultAll2AllBackend != nil else { dpBackends = ["pplx", "naive"]; return }
        dpBackends = [nil]
        if let b = what.backend, let named = ParallelPlan.All2AllBackend(name: b) {
            let resolved = engine.all2allBackend(for: named, spelled: b, subject: "every plan")
            if let note = resolved.note, let def = resolved.backend { notes.append(note); what.backend = def.vllmName }
        }
    }

    /// Every valid plan: GPU counts that are powers of two up to `maxGPUs`, TP dividing the heads (within a node
    /// when the plan spans nodes), the rest DP, experts sharded over every GPU of the stage (TP x DP, as vLLM does
    /// without EP) or expert-parallel (`dpBackends` when DP > 1; across nodes also DeepEP's two kernels); pipelined
    /// plans TP x PP (DP 1; TP within a node, PP the rest, experts TP-sharded or spread over each stage's TP GPUs);
    /// three `max-num-seqs`.
    public func candidates() -> [Candidate] {
        var out: [Candidate] = []
        var seen = Set<Candidate>()
        let seqOptions = effectiveSeqOptions
        // A valid plan, once per `max-num-seqs` option.
        func add(_ g: String, tp: Int, dp: Int, pp: Int, ep: Bool, backend: String?) {
            guard (try? ParallelPlan(tp: tp, dp: dp, pp: pp, ep: ep).validate(for: model)) != nil else { return }
            for s in seqOptions {
                var c = Candidate(gpu: g, tp: tp, dp: dp, ep: ep, backend: backend, maxNumSeqs: s)
                c.pp = pp
                if seen.insert(c).inserted { out.append(c) }
            }
        }
        for g in gpus {
            var n = 1
            while n <= maxGPUs {
                for tp in stride(from: 1, through: n, by: 1) where n % tp == 0 && (tp & (tp - 1)) == 0 && (n <= gpusPerNode || tp <= gpusPerNode) {
                    let dp = n / tp
                    var variants: [(Bool, String?)] = [(false, nil)]
                    if let moe = model.moe, n > 1, moe.experts >= n {
                        if dp > 1 { variants += dpBackends.map { (true, $0) } } else { variants.append((true, nil)) }
                        if dp > 1 && n > gpusPerNode { variants += [(true, "deepep_low_latency"), (true, "deepep_high_throughput")] }
                    }
                    for (ep, b) in variants { add(g, tp: tp, dp: dp, pp: 1, ep: ep, backend: b) }
                }
                // Pipelined: PP stages of TP GPUs (TP within a node), DP 1.
                var pp = 2
                while pp <= n && pp <= model.layers {
                    let tp = n / pp
                    if tp <= gpusPerNode {
                        add(g, tp: tp, dp: 1, pp: pp, ep: false, backend: nil)
                        if let moe = model.moe, tp > 1, moe.experts >= tp { add(g, tp: tp, dp: 1, pp: pp, ep: true, backend: nil) }
                    }
                    pp *= 2
                }
                n *= 2
            }
        }
        var all = includeDisaggregated ? out + disaggregatedCandidates(aggregated: out) : out
        // The what-ifs held fixed: keep the candidates they allow, with their backend, replicas and instances.
        all = all.filter { what.keep($0, gpusPerNode: gpusPerNode) }
        if what.backend != nil || what.replicas > 1 || what.disaggregated != nil {
            var seen = Set<Candidate>()
            all = all.compactMap { c in
                var c = c
                if let b = what.backend { c.backend = b }
                c.replicas = what.replicas
                if let (x, y) = what.disaggregated { c.prefillInstances = x; c.decodeInstances = y; c.prefillTP = what.prefillTP }
                return c.gpus <= maxGPUs && seen.insert(c).inserted ? c : nil
            }
        } else if what.prefillTP != nil {
            all = all.map { c in var c = c; if c.prefillInstances > 0 { c.prefillTP = what.prefillTP }; return c }.filter { $0.gpus <= maxGPUs }
        }
        return all.map { c in var c = c; c.fixed = what.fixedArgs(c, gpusPerNode: gpusPerNode); return c }
    }

    /// The dimensions the candidates vary in, each with its values in order: what the output lists as `searched`.
    public func searchedDimensions(_ cands: [Candidate]) -> [(dimension: String, flag: String, values: [String])] {
        func distinct<T: Hashable>(_ f: (Candidate) -> T, _ show: (T) -> String) -> [String] {
            var seen = Set<T>(), out: [String] = []
            for c in cands where seen.insert(f(c)).inserted { out.append(show(f(c))) }
            return out
        }
        let dims: [(String, String, [String])] = [
            ("gpu", "--gpu", distinct({ $0.gpu }, { $0 })),
            ("gpus", "--num-gpus", distinct({ $0.gpus }, String.init).sorted { Int($0)! < Int($1)! }),
            ("tensor_parallel_size", "--tensor-parallel-size", distinct({ $0.tp }, String.init).sorted { Int($0)! < Int($1)! }),
            ("data_parallel_size", "--data-parallel-size", distinct({ $0.dp }, String.init).sorted { Int($0)! < Int($1)! }),
            ("pipeline_parallel_size", "--pipeline-parallel-size", distinct({ $0.pp }, String.init).sorted { Int($0)! < Int($1)! }),
            ("expert_parallel", "--enable-expert-parallel", distinct({ $0.ep }, { $0 ? "on" : "off" })),
            ("all2all_backend", "--all2all-backend", distinct({ $0.ep ? ($0.backend ?? "default") : nil }, { $0 ?? "-" }).filter { $0 != "-" }),
            ("max_num_seqs", "--max-num-seqs", distinct({ $0.maxNumSeqs }, String.init).sorted { Int($0)! < Int($1)! }),
            ("disaggregated", "--prefill-instances", distinct({ $0.prefillInstances > 0 ? "\($0.prefillInstances)P\($0.decodeInstances)D" : "aggregated" }, { $0 })),
        ]
        return dims.filter { $0.2.count > 1 }.map { (dimension: $0.0, flag: $0.1, values: $0.2) }
    }

    /// The least memory the engine keeps off the KV cache for any model (a bound: the model runner's base reserve alone).
    func lowestReserveGB(_ engine: EngineProfile) -> Double {
        let base = engine.value("activation_reserve_gb"), v2 = engine.value("v2_runner_reserve_gb")
        return v2 > 0 ? min(base, v2) : base
    }

    /// Lower bounds that no simulation can beat: memory, the shortest possible TTFT (the shortest prompt alone at
    /// datasheet peak on all the plan's GPUs) and TPOT (one decode step reading each GPU's non-expert weights at
    /// datasheet bandwidth). Returns the reason a candidate is pruned, or nil.
    public func prune(_ c: Candidate, store: ProfileStore, minInput: Int) -> Verdict? {
        guard let gpu = try? store.gpu(c.gpu), let engine = try? store.engine(what.engineProfile) else { return .failed("profile missing") }
        var plan = ParallelPlan(tp: c.tp, dp: c.dp, pp: c.pp, ep: c.ep)
        if c.ep && what.eplb { plan.eplb = true; plan.redundantExperts = what.redundantExperts }
        // The placement a run of this candidate starts from (EPLB's redundant experts take memory on every GPU).
        let placement: ExpertPlacement?
        do { placement = try Deployment.defaultPlacement(model: model, plan: plan) } catch { return .failed("\(error)") }
        let mem = MemoryPlan(model: model, plan: plan, gpu: gpu, placement: placement, memoryUtilization: what.memoryUtilization ?? engine.value("gpu_memory_utilization"),
                             reserveGB: lowestReserveGB(engine), blockSize: Int(engine.value("block_size")))
        do { try mem.check(model: model, plan: plan, gpu: gpu) } catch {
            return .doesNotFit(String(format: "needs %.1f GB per GPU, %.1f GB available", (mem.weightBytes + mem.reserveBytes) / 1e9, mem.budgetBytes / 1e9))
        }
        if let slo = sloTTFTp99Ms {
            let bound = ttftLowerBoundMs(c, gpu: gpu, inputLen: minInput)
            if bound > slo { return .cannotMeetSLO(String(format: "TTFT >= %.1f ms even for one prompt at peak (SLO %.0f ms)", bound, slo)) }
        }
        if let slo = sloTPOTp99Ms {
            let bound = tpotLowerBoundMs(c, gpu: gpu)
            if bound > slo { return .cannotMeetSLO(String(format: "TPOT >= %.1f ms: a decode step reads %.1f GB per GPU%@ (SLO %.0f ms)", bound, nonExpertBytesPerGPU(c) / 1e9, c.pp > 1 ? " of each stage, stage after stage" : "", slo)) }
        }
        return nil
    }

    public func ttftLowerBoundMs(_ c: Candidate, gpu: GPUProfile, inputLen: Int) -> Double {
        2 * model.activeParams * Double(inputLen) / (gpu.peakFLOPs * Double(c.gpus)) * 1e3
    }

    /// Non-expert weight bytes a decode step reads per TP rank (with PP: summed over the stages it passes in turn).
    func nonExpertBytesPerGPU(_ c: Candidate) -> Double {
        var p = 0.0
        for l in 0..<model.layers { p += model.attentionParamsPerLayer + model.denseFFNParams(layer: l) }
        return p * model.linearBytesPerParam / Double(c.tp)
    }

    public func tpotLowerBoundMs(_ c: Candidate, gpu: GPUProfile) -> Double {
        nonExpertBytesPerGPU(c) / gpu.peakBytesPerSecond * 1e3
    }

    final class Box: @unchecked Sendable { var v: [Evaluated?]; init(_ n: Int) { v = Array(repeating: nil, count: n) } }

    /// Pruned and surviving candidates, and the simulations the survivors need (each surviving plan replicated
    /// over `seeds`; configuration index = survivor x seeds + replicate). What `--shard` splits and `merge` joins.
    public struct Prepared: Sendable {
        public var evaluated: [Evaluated]
        public var slots: [Int]   // survivor -> index into evaluated
        public var configurations: [SweepSpec.Configuration]
    }

    public mutating func prepare(store: ProfileStore) throws -> Prepared {
        let probe = try ParsedArguments(workloadArgs + what.args, options: RunOptions.deployment + RunOptions.workload)
        let w = try RunOptions.workload(probe, seed: try RunOptions.seed(probe))
        concurrency = w.maxConcurrency.map { min($0, w.requests.count) }
        let cands = candidates()
        let minInput = w.requests.map(\.inputTokens).min() ?? 1
        var evaluated: [Evaluated] = []
        var slots: [Int] = []
        var configs: [SweepSpec.Configuration] = []
        for c in cands {
            if let v = prune(c, store: store, minInput: minInput) { evaluated.append(Evaluated(candidate: c, verdict: v)) }
            else {
                evaluated.append(Evaluated(candidate: c, verdict: .failed("not simulated")))
                slots.append(evaluated.count - 1)
                configs.append(SweepSpec.Configuration(index: configs.count, grid: "plan", labels: [("plan", c.label)],
                                                       args: ["--model", modelArg] + c.args + workloadArgs))
            }
        }
        return Prepared(evaluated: evaluated, slots: slots, configurations: Sharding.replicate(configs, seeds: seeds))
    }

    /// Prunes, simulates the survivors in parallel and ranks: SLO met first, then output throughput per GPU
    /// (the mean over seeds).
    public mutating func run(store: ProfileStore, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [Evaluated] {
        let p = try prepare(store: store)
        // The candidates simulate the same model, routing and seeds: their routing draws repeat (same stream state,
        // same token count) and are drawn once.
        RoutingDrawCache.shared.setCapacity(Self.drawCacheBytes)
        defer { RoutingDrawCache.shared.setCapacity(0) }
        let results = SweepRunner.run(p.configurations, store: store, threads: threads, progress: progress)
        var byIndex: [Int: Result<RunResult, PlanRunError>] = [:]
        for r in results { byIndex[r.configuration.index] = r.result.map { .success($0) } ?? .failure(PlanRunError(message: r.error ?? "unknown")) }
        return finish(p, results: byIndex)
    }

    /// Memory for routing draws shared between candidates (`RoutingDrawCache`).
    public static let drawCacheBytes = 512 << 20

    public struct PlanRunError: Error, Sendable { public var message: String; public init(message: String) { self.message = message } }

    /// Ranks a prepared search given every simulation's result by configuration index (run here or by shards).
    public func finish(_ p: Prepared, results: [Int: Result<RunResult, PlanRunError>]) -> [Evaluated] {
        var evaluated = p.evaluated
        for (k, i) in p.slots.enumerated() {
            var reps: [RunResult] = []
            var failure: String?
            for r in 0..<seeds {
                switch results[k * seeds + r] {
                case .success(let x)?: reps.append(x)
                case .failure(let e)?: failure = failure ?? e.message
                case nil: failure = failure ?? "not simulated"
                }
            }
            if let f = failure { evaluated[i].verdict = .failed(f); continue }
            let res = reps[0]
            evaluated[i].verdict = .simulated(res)
            evaluated[i].replicates = reps
            let ttft = evaluated[i].p99TTFTms.mean, tpot = evaluated[i].p99TPOTms.mean
            let okT = sloTTFTp99Ms.map { ttft <= $0 } ?? true
            let okP = sloTPOTp99Ms.map { tpot <= $0 } ?? true
            evaluated[i].meetsSLO = okT && okP
            let tput = reps.map(\.outputThroughput).reduce(0, +) / Double(reps.count)
            if let price = prices[evaluated[i].candidate.gpu], tput > 0 {
                evaluated[i].usdPerMTok = price * Double(res.gpus) / (tput * 3600) * 1e6
            }
        }
        return Self.rank(Self.dedupe(evaluated), byCost: !prices.isEmpty)
    }

    /// What the ranking sorts by, in words (printed with the table).
    public var rankingKey: String {
        let slo = sloTTFTp99Ms != nil || sloTPOTp99Ms != nil ? "SLO met first, then " : ""
        return prices.isEmpty ? slo + "output throughput per GPU (give --gpu-hour-usd to rank by cost)"
            : slo + "$ per million output tokens (plans without a price after), then output throughput per GPU"
    }

    /// Folds simulated candidates with identical results on the same GPU type and count into the first of them.
    public static func dedupe(_ e: [Evaluated]) -> [Evaluated] {
        struct Key: Hashable { var gpu: String; var gpus: Int; var tput: Double; var ttft: Double; var tpot: Double; var e2el: Double; var steps: Int }
        var firstAt: [Key: Int] = [:]
        var out: [Evaluated] = []
        for x in e {
            guard let r = x.result else { out.append(x); continue }
            let k = Key(gpu: x.candidate.gpu, gpus: x.candidate.gpus, tput: r.outputThroughput, ttft: r.ttftMs.p99, tpot: r.tpotMs.p99, e2el: r.e2elMs.mean, steps: r.steps)
            if let i = firstAt[k] { out[i].sameAs.append(x.candidate.label) } else { firstAt[k] = out.count; out.append(x) }
        }
        return out
    }

    /// Whether the best plan's 95% interval of throughput per GPU overlaps the next ones' (SLO met alike): the
    /// plans that tie with it, best first, itself included; one plan when it wins outright or with one seed.
    public static func tiedAtTop(_ ranked: [Evaluated]) -> [Evaluated] {
        let sim = ranked.filter { $0.result != nil }
        guard let best = sim.first, best.replicates.count >= 2 else { return Array(sim.prefix(1)) }
        let b = best.throughputPerGPU
        return [best] + sim.dropFirst().filter { $0.meetsSLO == best.meetsSLO && $0.throughputPerGPU.overlaps(b) }
    }

    public static func rank(_ e: [Evaluated], byCost: Bool = false) -> [Evaluated] {
        e.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            if (x.result != nil) != (y.result != nil) { return x.result != nil }
            if x.meetsSLO != y.meetsSLO { return x.meetsSLO }
            if byCost, x.usdPerMTok != y.usdPerMTok {
                guard let cx = x.usdPerMTok else { return false }
                guard let cy = y.usdPerMTok else { return true }
                return cx < cy
            }
            let tx = x.result == nil ? 0 : x.meanThroughputPerGPU, ty = y.result == nil ? 0 : y.meanThroughputPerGPU
            if tx != ty { return tx > ty }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// Simulated plans not beaten on both throughput per GPU (higher) and P99 TPOT (lower) by another plan.
    public static func pareto(_ e: [Evaluated]) -> [Evaluated] {
        let sim = e.filter { $0.result != nil }
        return sim.filter { a in
            let ta = a.result!.outputThroughput / Double(a.result!.gpus), la = a.result!.tpotMs.p99
            return !sim.contains { b in
                let tb = b.result!.outputThroughput / Double(b.result!.gpus), lb = b.result!.tpotMs.p99
                return tb >= ta && lb <= la && (tb > ta || lb < la)
            }
        }.sorted { $0.result!.tpotMs.p99 < $1.result!.tpotMs.p99 }
    }
}
