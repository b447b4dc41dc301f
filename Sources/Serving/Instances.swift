import Foundation
import SimKit
import Cluster

/// How a router picks the engine instance for a request.
public enum RouterPolicy: String, CaseIterable, Sendable {
    /// Instances in turn.
    case round_robin
    /// The instance with the fewest requests sent and not yet finished (lowest index on ties).
    case least_outstanding
    /// Requests with a shared prefix go where the first of them went (its KV blocks are cached there); others,
    /// and the first of each prefix, to the least outstanding instance.
    case prefix_aware
}

/// Several vLLM engine instances in one simulation, each advancing step by step on one time-ordered event queue
/// (SimKit's `EventQueue`): N replicas behind a router, or disaggregated prefill and decode (xPyD).
///
/// Disaggregated: the router sends each request to a prefill instance with one output token (vLLM's disaggregated
/// proxy sends `max_tokens = 1`); when that finishes, the prompt's KV cache moves to a decode instance
/// (`kvTransferUs`: the prompt's KV bytes over the link), which computes the last prompt position, samples the
/// first token and decodes the rest. The client sees every token from the decode instance, so TTFT includes the
/// prefill, the queueing on both sides and the transfer.
public struct InstanceSimulator {
    public struct Role: Sendable {
        public var deployment: Deployment
        public var count: Int
        public init(deployment: Deployment, count: Int) { self.deployment = deployment; self.count = count }
    }
    /// Replicas (or decode instances when `prefill` is set).
    public var instances: Role
    /// Disaggregated prefill instances.
    public var prefill: Role?
    public var policy: RouterPolicy
    public var workload: Workload
    public var seed: UInt64
    public var prefixCaching = false
    public var speculative: SpeculativeConfig?
    public var draftDeployment: Deployment?
    /// KV transfer link from a prefill GPU to a decode GPU, GB/s per GPU (the TP shards move in parallel), and
    /// a fixed latency per transfer; `kvPath` says which link it is, for the note (nil: the GPUs' interconnect).
    public var kvLinkGBps: Double = 0
    public var kvLatencyUs: Double = 0
    public var kvPath: String? = nil
    /// What the single-instance engine keeps on request: each request's ITLs (`--save-detailed`) and every
    /// instance's steps (`--timeline`, the step cap shared among the instances).
    public var recordRequestITLs = false
    public var recordTimeline = false

    public init(instances: Role, prefill: Role? = nil, policy: RouterPolicy, workload: Workload, seed: UInt64) {
        self.instances = instances; self.prefill = prefill; self.policy = policy; self.workload = workload; self.seed = seed
    }

    /// Bytes of KV cache per prompt token that the busiest GPU of a transfer moves: each prefill GPU sends its shard
    /// of its stage's layers, each decode GPU receives its own (TP8 prefill to TP2 decode: every decode GPU receives
    /// a quarter of the KV, four prefill shards), so the larger of the two crosses each GPU's link.
    public static func kvBytesPerTokenPerGPU(prefill: Deployment, decode: Deployment) -> Double {
        func shard(_ d: Deployment) -> Double {
            let m = d.model, plan = d.plan
            let largest = ParallelPlan.stageLayerCounts(layers: m.layers, stages: plan.pipelineParallel).max() ?? m.layers
            return m.kvBytesPerToken(tensorParallel: plan.tensorParallel) * Double(largest) / Double(m.layers)
        }
        return max(shard(prefill), shard(decode))
    }

    /// The time to send `tokens` tokens of `bytesPerTokenPerGPU` over a link of `linkGBps` per GPU, plus the latency.
    public static func kvTransferUs(tokens: Int, bytesPerTokenPerGPU: Double, linkGBps: Double, latencyUs: Double) -> Double {
        latencyUs + Double(tokens) * bytesPerTokenPerGPU / (linkGBps * 1e3)
    }

    /// A step event carries its core's step generation: a step queued again (earlier) makes the older one stale.
    enum Event { case arrival(Int), step(Int, Int), done(Int), prefillDone(Int, Int), kvArrived(Int) }

    public func run() throws -> RunResult {
        let n = workload.requests.count
        let disagg = prefill != nil
        var prefillWorkload = workload
        if disagg { for i in 0..<n { prefillWorkload.requests[i].outputTokens = 1 } }
        func makeSim(_ d: Deployment, _ w: Workload, _ k: Int, streams: Bool) -> VLLMSimulator {
            var s = VLLMSimulator(deployment: d, workload: w, seed: seed &+ UInt64(k))
            s.fastDecode = false
            s.prefixCaching = prefixCaching
            s.recordTimeline = recordTimeline
            s.recordRequestITLs = recordRequestITLs && streams
            return s
        }
        // Instances 0..<P are prefill instances, P..<P+D decode instances (or replicas).
        var cores: [VLLMSimulator.Core] = []
        let p = prefill?.count ?? 0
        for k in 0..<p { cores.append(try VLLMSimulator.Core(makeSim(prefill!.deployment, prefillWorkload, k, streams: false), driven: true)) }
        for k in 0..<instances.count {
            var s = makeSim(instances.deployment, workload, p + k, streams: true)
            s.speculative = speculative; s.draftDeployment = draftDeployment
            cores.append(try VLLMSimulator.Core(s, driven: true))
        }
        // The timeline's step cap is shared by the instances (memory as for one engine).
        if recordTimeline { for k in cores.indices { cores[k].clock.logCap = max(1, VLLMSimulator.timelineStepCap / cores.count) } }
        // KV bytes per prompt token over the busiest GPU's link: with pipeline stages a GPU holds (and sends) only its
        // stage's layers, the stages in parallel, so the largest stage's share.
        var bytesPerToken = 0.0
        if let pf = prefill { bytesPerToken = Self.kvBytesPerTokenPerGPU(prefill: pf.deployment, decode: instances.deployment) }
        // The instance whose tokens reach the client for each request (a decode instance, or a replica).
        var home = Array(repeating: -1, count: n)
        var q = EventQueue<Event>(minimumCapacity: n + cores.count)
        func at(_ us: Double) -> SimTime { SimTime(ns: Int64((us * 1e3).rounded())) }
        for (i, r) in workload.requests.enumerated() { q.schedule(.arrival(i), at: r.arrival) }
        var outstanding = Array(repeating: 0, count: cores.count)
        var routed = Array(repeating: 0, count: cores.count)
        var stepQueued = Array(repeating: false, count: cores.count)
        var stepGen = Array(repeating: 0, count: cores.count)
        func queueStep(_ k: Int, _ t: Double) {
            stepGen[k] += 1; stepQueued[k] = true
            q.schedule(.step(k, stepGen[k]), at: at(t))
        }
        var rr = [0, 0]
        var affinity: [UInt64: Int] = [:]
        let conc = workload.maxConcurrency ?? Int.max
        var inFlight = 0
        var pending: [Int] = [], pendingHead = 0
        var sendTime = Array(repeating: 0.0, count: n)
        var finished = 0

        func pick(_ range: Range<Int>, _ i: Int, _ side: Int) -> Int {
            func leastOutstanding() -> Int {
                var best = range.lowerBound
                for k in range where outstanding[k] < outstanding[best] { best = k }
                return best
            }
            switch policy {
            case .round_robin:
                defer { rr[side] += 1 }
                return range.lowerBound + rr[side] % range.count
            case .least_outstanding:
                return leastOutstanding()
            case .prefix_aware:
                let key = workload.requests[i].prefixKey
                if key != 0, let k = affinity[key &+ UInt64(side)] { return k }
                let k = leastOutstanding()
                if key != 0 { affinity[key &+ UInt64(side)] = k }
                return k
            }
        }
        // `submit` puts request i on instance k at time t and makes sure a step is queued.
        func submit(_ k: Int, _ i: Int, _ t: Double, kvReady: Bool) {
            outstanding[k] += 1; routed[k] += 1
            cores[k].submit(i, at: t)
            if kvReady { cores[k].seqs[i].computed = cores[k].seqs[i].prompt - 1; cores[k].seqs[i].kvLoaded = true }
            if !stepQueued[k] { queueStep(k, max(cores[k].clock.now, t)) }
            // A pipelined core waiting for its oldest batch with a free slot takes the request now.
            else if let w = cores[k].wakeAt, t < w { queueStep(k, max(cores[k].clock.now, t)) }
        }
        func send(_ i: Int, _ t: Double) {
            inFlight += 1
            sendTime[i] = t
            if disagg { submit(pick(0..<p, i, 0), i, t, kvReady: false) }
            else { let k = pick(0..<cores.count, i, 1); home[i] = k; submit(k, i, t, kvReady: false) }
        }
        while let (time, ev) = q.pop() {
            let t = Double(time.ns) / 1e3
            switch ev {
            case .arrival(let i):
                if inFlight < conc { send(i, t) } else { pending.append(i) }
            case .step(let k, let g):
                guard g == stepGen[k] else { continue }
                guard cores[k].hasWork else { stepQueued[k] = false; continue }
                if let w = cores[k].wakeAt {
                    // Woken at its batch's return (the event time is w rounded to whole ns), or earlier by a request.
                    cores[k].clock.now = max(cores[k].clock.now, time.ns >= at(w).ns ? w : t)
                    cores[k].wakeAt = nil
                }
                try cores[k].stepOnce()
                for (i, deliver) in cores[k].finishedNow {
                    q.schedule(k < p ? .prefillDone(k, i) : .done(k), at: at(deliver))
                }
                if cores[k].hasWork { queueStep(k, cores[k].wakeAt ?? cores[k].clock.now) } else { stepQueued[k] = false }
            case .prefillDone(let k, let i):
                outstanding[k] -= 1
                let us = InstanceSimulator.kvTransferUs(tokens: workload.requests[i].inputTokens, bytesPerTokenPerGPU: bytesPerToken,
                                                        linkGBps: kvLinkGBps, latencyUs: kvLatencyUs)
                q.schedule(.kvArrived(i), at: at(t + us))
            case .kvArrived(let i):
                let k = pick(p..<cores.count, i, 1)
                home[i] = k
                submit(k, i, t, kvReady: true)
                // The client's clock starts when it sent the request, not when the decode instance got it.
                cores[k].seqs[i].send = sendTime[i]
            case .done(let k):
                outstanding[k] -= 1
                finished += 1
                inFlight -= 1
                if pendingHead < pending.count { send(pending[pendingHead], t); pendingHead += 1 }
            }
        }
        guard finished == n else { throw InputError.data("the instances stalled with \(n - finished) requests unfinished") }
        return merge(cores, routed: routed, prefillCount: p, home: home)
    }

    /// One result from every instance: latencies from the instances that stream tokens (decode instances or
    /// replicas), work and GPUs from all.
    func merge(_ cores: [VLLMSimulator.Core], routed: [Int], prefillCount p: Int, home: [Int]) -> RunResult {
        var ttft: [Double] = [], tpot: [Double] = [], e2el: [Double] = []
        var itl = RunLengthSample()
        var steps = 0, preempt = 0, gpus = 0
        var breakdown = StepBreakdown()
        var end = 0.0, busy = 0.0, peakKV = 0.0, kvTime = 0.0, wall = 0.0
        var hit = 0, queried = 0, evicted = 0
        var specSteps = 0, specProposed = 0, specAccepted = 0
        var stats: [InstanceStats] = []
        for (k, c) in cores.enumerated() {
            if k >= p {
                ttft += c.ttft; tpot += c.tpot; e2el += c.e2el
                for (v, m) in zip(c.itl.values, c.itl.counts) { itl.append(v, count: m) }
                specSteps += c.specSteps; specProposed += c.specProposed; specAccepted += c.specAccepted
            }
            steps += c.clock.steps; preempt += c.preemptions; gpus += c.d.plan.gpuCount
            breakdown += c.clock.breakdown
            end = max(end, c.lastCompletion)
            busy += c.clock.busy * Double(c.d.plan.gpuCount)
            peakKV = max(peakKV, c.clock.peakKV); kvTime += c.clock.kvUsageTime; wall += c.clock.now
            for cache in c.caches { hit += cache.hitTokens; queried += cache.queriedTokens; evicted += cache.evictions }
            stats.append(InstanceStats(role: k < p ? "prefill" : (p > 0 ? "decode" : "replica"), plan: c.d.plan.vllmFlags, requests: routed[k],
                                       steps: c.clock.steps, busyFraction: c.lastCompletion > 0 ? c.clock.busy / max(c.lastCompletion, c.clock.now) : 0))
        }
        let last = cores[p]
        var r = RunResult(durationS: end / 1e6, completed: workload.requests.count, totalInputTokens: workload.totalInputTokens,
                          totalOutputTokens: workload.totalOutputTokens, ttftMs: Summary(ttft), tpotMs: Summary(tpot), itlMs: Summary(itl),
                          e2elMs: Summary(e2el), gpus: gpus, steps: steps, breakdownUs: breakdown.scaled(1 / Double(max(steps, 1))),
                          preemptions: preempt, kvCapacityTokens: VLLMSimulator.reportedKVCacheTokens(last.d, mem: last.mem), peakKVUsage: peakKV,
                          meanKVUsage: wall > 0 ? kvTime / wall : 0, gpuBusyFraction: end > 0 ? busy / (end * Double(gpus)) : 0, seed: seed)
        if prefixCaching { r.prefixCache = PrefixCacheStats(queriedTokens: queried, hitTokens: hit, evictedBlocks: evicted) }
        if let sp = speculative {
            r.speculative = SpeculativeStats(config: sp.description, verifySteps: specSteps, proposedDrafts: specProposed, acceptedDrafts: specAccepted,
                                             expectedTokensPerStep: sp.expectedTokensPerStep())
        }
        r.instances = stats
        r.notes.append(p > 0 ? "disaggregated: \(p) prefill x \(prefill!.deployment.plan.vllmFlags), \(cores.count - p) decode x \(instances.deployment.plan.vllmFlags), router \(policy.rawValue), KV over \(String(format: "%g", kvLinkGBps)) GB/s per GPU\(kvPath.map { " (\($0))" } ?? "")"
                                  : "\(cores.count) replicas x \(instances.deployment.plan.vllmFlags), router \(policy.rawValue)")
        let lastResult = last.result()
        r.notes += lastResult.notes
        r.timeSources = lastResult.timeSources
        r.kernelTables = lastResult.kernelTables
        // What the single-instance engine gives: every latency sample (any percentile, goodput), each request as the
        // client saw it from the instance that streamed its tokens (--save-detailed), and every instance's steps.
        r.samples = RunResult.Samples(ttftMs: ttft, tpotMs: tpot, itlMs: itl, e2elMs: e2el)
        let reqs = workload.requests
        func seq(_ i: Int) -> VLLMSimulator.Seq { cores[home[i]].seqs[i] }
        r.perRequest = RunResult.PerRequest(inputLens: reqs.map(\.inputTokens), outputLens: reqs.map(\.outputTokens),
                                            ttftMs: reqs.indices.map { (seq($0).firstToken - seq($0).send) / 1e3 },
                                            e2elMs: reqs.indices.map { (seq($0).lastToken - seq($0).send) / 1e3 },
                                            sendMs: reqs.indices.map { seq($0).send / 1e3 },
                                            itlsMs: recordRequestITLs ? reqs.indices.map { cores[home[$0]].reqITL[$0] } : nil)
        let instants = cores.compactMap(\.tokenInstants)
        if instants.count == cores.count {
            r.peaks = RunResult.Peaks(sendUs: reqs.indices.map { seq($0).send }, endUs: reqs.indices.map { seq($0).lastToken }, tokens: instants)
        }
        if recordTimeline {
            var per: [RunResult.InstanceTimeline] = []
            var dropped = 0
            for (k, c) in cores.enumerated() {
                dropped += c.clock.dropped
                per.append(RunResult.InstanceTimeline(role: k < p ? "prefill" : (p > 0 ? "decode" : "replica"), index: k < p ? k : k - p,
                                                      plan: c.d.plan, steps: c.clock.log ?? [], droppedSteps: c.clock.dropped))
            }
            r.timeline = RunResult.Timeline(steps: [], droppedSteps: dropped, instances: per)
        }
        return r
    }
}

/// One engine instance's share of a multi-instance run.
public struct InstanceStats: Sendable, Equatable, Codable {
    public var role: String, plan: String
    public var requests: Int, steps: Int
    public var busyFraction: Double
}
