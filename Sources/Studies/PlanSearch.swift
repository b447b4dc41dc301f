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
        /// Disaggregated prefill/decode: instances of the plan above for each role (0 = aggregated).
        public var prefillInstances = 0, decodeInstances = 0
        public init(gpu: String, tp: Int, dp: Int, ep: Bool, backend: String?, maxNumSeqs: Int) {
            self.gpu = gpu; self.tp = tp; self.dp = dp; self.ep = ep; self.backend = backend; self.maxNumSeqs = maxNumSeqs
        }
        public var gpus: Int { tp * dp * max(1, prefillInstances + decodeInstances) }
        public var label: String {
            var s = "\(gpus)x \(gpu) TP\(tp)"
            if dp > 1 { s += " DP\(dp)" }
            if ep { s += " EP\(gpus)" + (backend.map { "/\($0)" } ?? "") }
            if prefillInstances > 0 { s += " \(prefillInstances)P\(decodeInstances)D" }
            return s + " seqs\(maxNumSeqs)"
        }
        public var args: [String] {
            var a = ["--gpu", gpu, "--tensor-parallel-size", String(tp), "--data-parallel-size", String(dp), "--max-num-seqs", String(maxNumSeqs)]
            if ep { a.append("--enable-expert-parallel") }
            if let b = backend { a += ["--all2all-backend", b] }
            if prefillInstances > 0 { a += ["--prefill-instances", String(prefillInstances), "--decode-instances", String(decodeInstances)] }
            return a
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
    /// Also search disaggregated prefill/decode (`plan --include-disaggregated`; see `disaggregatedCandidates`).
    public var includeDisaggregated = false

    var effectiveSeqOptions: [Int] {
        guard let c = concurrency else { return [64, 128, 256] }
        let below = seqOptions.filter { $0 < c }
        return below + (seqOptions.first { $0 >= c }.map { [$0] } ?? [])
    }

    public init(model: ModelArchitecture, modelArg: String, gpus: [String], maxGPUs: Int, workloadArgs: [String],
                sloTTFTp99Ms: Double?, sloTPOTp99Ms: Double?, prices: [String: Double]) {
        self.model = model; self.modelArg = modelArg; self.gpus = gpus; self.maxGPUs = maxGPUs; self.workloadArgs = workloadArgs
        self.sloTTFTp99Ms = sloTTFTp99Ms; self.sloTPOTp99Ms = sloTPOTp99Ms; self.prices = prices
    }

    /// Every valid plan: GPU counts that are powers of two up to `maxGPUs`, TP dividing the heads, the rest DP,
    /// experts TP-sharded or expert-parallel (both all-to-all backends when DP > 1), three `max-num-seqs`.
    public func candidates() -> [Candidate] {
        var out: [Candidate] = []
        var seen = Set<Candidate>()
        for g in gpus {
            var n = 1
            while n <= maxGPUs {
                for tp in stride(from: 1, through: n, by: 1) where n % tp == 0 && (tp & (tp - 1)) == 0 {
                    let dp = n / tp
                    var variants: [(Bool, String?)] = [(false, nil)]
                    if let moe = model.moe, n > 1, moe.experts >= n {
                        if dp > 1 { variants += [(true, "alltoall"), (true, "allreduce")] } else { variants.append((true, nil)) }
                    }
                    for (ep, b) in variants {
                        let plan = ParallelPlan(tp: tp, dp: dp, ep: ep)
                        guard (try? plan.validate(for: model)) != nil else { continue }
                        for s in effectiveSeqOptions {
                            let c = Candidate(gpu: g, tp: tp, dp: dp, ep: ep, backend: b, maxNumSeqs: s)
                            if seen.insert(c).inserted { out.append(c) }
                        }
                    }
                }
                n *= 2
            }
        }
        return includeDisaggregated ? out + disaggregatedCandidates(aggregated: out) : out
    }

    /// Lower bounds that no simulation can beat: memory, the shortest possible TTFT (the shortest prompt alone at
    /// datasheet peak on all the plan's GPUs) and TPOT (one decode step reading each GPU's non-expert weights at
    /// datasheet bandwidth). Returns the reason a candidate is pruned, or nil.
    public func prune(_ c: Candidate, store: ProfileStore, minInput: Int) -> Verdict? {
        guard let gpu = try? store.gpu(c.gpu), let engine = try? store.engine("vllm") else { return .failed("profile missing") }
        let plan = ParallelPlan(tp: c.tp, dp: c.dp, ep: c.ep)
        let placement = c.ep ? ExpertPlacement.contiguous(experts: model.moe!.experts, gpus: c.tp * c.dp, moeLayers: model.moeLayerCount) : nil
        let mem = MemoryPlan(model: model, plan: plan, gpu: gpu, placement: placement, memoryUtilization: engine.value("gpu_memory_utilization"),
                             reserveGB: engine.value("activation_reserve_gb"), blockSize: Int(engine.value("block_size")))
        do { try mem.check(model: model, plan: plan, gpu: gpu) } catch {
            return .doesNotFit(String(format: "needs %.1f GB per GPU, %.1f GB available", (mem.weightBytes + mem.reserveBytes) / 1e9, mem.budgetBytes / 1e9))
        }
        if let slo = sloTTFTp99Ms {
            let bound = ttftLowerBoundMs(c, gpu: gpu, inputLen: minInput)
            if bound > slo { return .cannotMeetSLO(String(format: "TTFT >= %.1f ms even for one prompt at peak (SLO %.0f ms)", bound, slo)) }
        }
        if let slo = sloTPOTp99Ms {
            let bound = tpotLowerBoundMs(c, gpu: gpu)
            if bound > slo { return .cannotMeetSLO(String(format: "TPOT >= %.1f ms: a decode step reads %.1f GB per GPU (SLO %.0f ms)", bound, nonExpertBytesPerGPU(c) / 1e9, slo)) }
        }
        return nil
    }

    public func ttftLowerBoundMs(_ c: Candidate, gpu: GPUProfile, inputLen: Int) -> Double {
        2 * model.activeParams * Double(inputLen) / (gpu.peakFLOPs * Double(c.gpus)) * 1e3
    }

    func nonExpertBytesPerGPU(_ c: Candidate) -> Double {
        var p = 0.0
        for l in 0..<model.layers { p += model.attentionParamsPerLayer + model.denseFFNParams(layer: l) }
        return p * model.bytesPerParam / Double(c.tp)
    }

    public func tpotLowerBoundMs(_ c: Candidate, gpu: GPUProfile) -> Double {
        nonExpertBytesPerGPU(c) / gpu.peakBytesPerSecond * 1e3
    }

    final class Box: @unchecked Sendable { var v: [Evaluated?]; init(_ n: Int) { v = Array(repeating: nil, count: n) } }

    /// Prunes, simulates the survivors in parallel and ranks: SLO met first, then output throughput per GPU.
    public mutating func run(store: ProfileStore, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [Evaluated] {
        let probe = try ParsedArguments(workloadArgs, options: RunOptions.workload + [OptionSpec("--engine-profile", "<p>", "")])
        let w = try RunOptions.workload(probe, seed: try RunOptions.seed(probe))
        concurrency = w.maxConcurrency.map { min($0, w.requests.count) }
        let cands = candidates()
        let minInput = w.requests.map(\.inputTokens).min() ?? 1
        var evaluated: [Evaluated] = []
        var toRun: [(Int, SweepSpec.Configuration)] = []
        for c in cands {
            if let v = prune(c, store: store, minInput: minInput) { evaluated.append(Evaluated(candidate: c, verdict: v)) }
            else {
                evaluated.append(Evaluated(candidate: c, verdict: .failed("not simulated")))
                toRun.append((evaluated.count - 1, SweepSpec.Configuration(index: toRun.count, grid: "plan", labels: [("plan", c.label)],
                                                                            args: ["--model", modelArg] + c.args + workloadArgs)))
            }
        }
        let results = SweepRunner.run(toRun.map(\.1), store: store, threads: threads, progress: progress)
        for (k, r) in results.enumerated() {
            let i = toRun[k].0
            if let res = r.result {
                evaluated[i].verdict = .simulated(res)
                let okT = sloTTFTp99Ms.map { res.ttftMs.p99 <= $0 } ?? true
                let okP = sloTPOTp99Ms.map { res.tpotMs.p99 <= $0 } ?? true
                evaluated[i].meetsSLO = okT && okP
                if let price = prices[evaluated[i].candidate.gpu], res.outputThroughput > 0 {
                    evaluated[i].usdPerMTok = price * Double(res.gpus) / (res.outputThroughput * 3600) * 1e6
                }
            } else { evaluated[i].verdict = .failed(r.error ?? "unknown") }
        }
        return Self.rank(evaluated)
    }

    public static func rank(_ e: [Evaluated]) -> [Evaluated] {
        e.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            if (x.result != nil) != (y.result != nil) { return x.result != nil }
            if x.meetsSLO != y.meetsSLO { return x.meetsSLO }
            let tx = x.result.map { $0.outputThroughput / Double($0.gpus) } ?? 0, ty = y.result.map { $0.outputThroughput / Double($0.gpus) } ?? 0
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
