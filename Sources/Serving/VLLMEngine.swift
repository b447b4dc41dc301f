import Foundation
import SimKit
import Cluster

/// vLLM-style continuous batching (the V1 scheduler) replayed against a workload.
///
/// Each step the scheduler serves running requests first (decodes, and prompt chunks still being prefilled),
/// then admits waiting requests while the token budget (`max_num_batched_tokens`), the sequence limit
/// (`max_num_seqs`) and the free KV blocks allow. A request that cannot get a block preempts the newest running
/// request, which frees its blocks and is recomputed later. DP ranks each schedule their own requests and step
/// together. Tokens are emitted at the end of a step and streamed by one API-server process, which can lag.
public struct VLLMSimulator {
    /// How the notes that `moesim run`'s first-step draw reads begin: a run that waited for a first-use compile, and a
    /// run that assumed every offline request at the first step.
    public static let firstUseNote = "first use:", firstStepNote = "first step:"

    public let deployment: Deployment
    public let workload: Workload
    public let seed: UInt64
    public var progress: (@Sendable (Double) -> Void)?
    /// Runs stretches of pure decode steps without per-sequence scheduling (same results; off only to test that).
    public var fastDecode = true
    /// `--enable-prefix-caching`: full KV blocks are named by their tokens and shared across requests.
    public var prefixCaching = false
    /// `--speculative-config`: decode steps verify drafted tokens.
    public var speculative: SpeculativeConfig?
    /// The draft model's deployment (method `draft_model`): its decode step, k times, proposes the drafts.
    public var draftDeployment: Deployment?
    /// Keeps each request's inter-token latencies (vLLM's `--save-detailed` `itls`); off by default (memory per token).
    public var recordRequestITLs = false
    /// Keeps every engine step for a timeline (up to `timelineStepCap`).
    public var recordTimeline = false
    public static let timelineStepCap = 1_000_000

    public init(deployment: Deployment, workload: Workload, seed: UInt64) {
        self.deployment = deployment; self.workload = workload; self.seed = seed
    }

    struct Seq {
        var prompt: Int, output: Int
        var computed = 0, generated = 0, blocks = 0
        var rank = 0
        var send = 0.0, firstToken = -1.0, lastToken = 0.0
        var admitted = false
        /// Prefix caching: leading blocks held as references in the cache; `regStop` once a block was found
        /// already named by another request (the rest stay private).
        var refs = 0
        var regStop = false
        /// Disaggregated decode: the prompt's KV cache arrived from a prefill instance.
        var kvLoaded = false
        /// Pipeline parallelism: a token of this sequence is in flight (it cannot be scheduled until it returns),
        /// and which launch that was (a preempted and rescheduled sequence ignores its older batch's token).
        var busy = false
        var flight = 0
    }

    /// The engine's clock: turns a step's GPU time into wall time (engine-core overhead, eager launches, DP sync),
    /// streams the step's tokens through the one API-server process, and keeps the run's totals.
    struct StepClock {
        let graphMax: Int, dpEager: Bool
        let eagerHostUs: Double, stepOverheadUs: Double, perSeqUs: Double, dpSyncUs: Double, frontendPerTokenUs: Double
        /// vLLM 0.24's engine loop (see `advance`): host time of a piecewise-graph step's layers, per token, async
        /// scheduling, padding to the CUDA-graph capture sizes, and the latency from a step's end to the client.
        var piecewiseHostUs = 0.0, perTokenUs = 0.0, outputLatencyUs = 0.0, eagerTokenUs = 0.0
        /// Host time of the attention operations a step with prompt chunks runs beyond `hostOps` (MLA's second path,
        /// `ModelArchitecture.extraAttentionHostOps`), without and with decodes beside them, outside full graphs.
        var promptAttentionHostUs = 0.0, mixedAttentionHostUs = 0.0
        var asyncScheduling = false, padding = false
        /// Sizes up to this are all captured (--performance-mode interactivity); 0 otherwise.
        var fineCaptureMax = 0
        /// The last step: when it began, its host time (launches and engine-core work), when it ended.
        var lastStart = 0.0, lastHost = 0.0, lastEnd = -1.0
        /// Engine-core host work waiting for the next step (requests that arrived: input processing, block hashing).
        var pendingHostUs = 0.0
        /// A compile the next step waits for in the middle of its forward (`FirstUse`): host time the GPU cannot
        /// overlap, since the kernels after it are not launched yet.
        var pendingStallUs = 0.0
        var now = 0.0 // microseconds
        var steps = 0
        var breakdown = StepBreakdown()
        var busy = 0.0
        var kvUsageTime = 0.0, peakKV = 0.0
        var frontendFree = 0.0
        var log: [RunResult.StepRecord]? = nil
        var logCap = VLLMSimulator.timelineStepCap
        var dropped = 0
        /// The GPU at its power limit (`PowerState`): long runs of compute-bound steps slow down; the GPU time that
        /// added and the largest factor (for the run's note).
        var power = PowerState()
        var powerExtraUs = 0.0, powerMaxFactor = 1.0

        /// Advances by one step (`maxTokens` and `maxSequences` are the largest DP rank's); returns when its `emitted` tokens reach the client, or (`deferred`, async
        /// scheduling) just the step's end: then its tokens reach the client after the engine core has launched the
        /// next step (`Core.flushPending`).
        @discardableResult
        mutating func advance(_ gpuStep: StepBreakdown, maxTokens: Int, maxSequences: Int, uniformDecode: Bool, withDecodes: Bool = true,
                              kvUsage: Double, emitted: Int, deferred: Bool = false, computeShare: Double = 0) -> Double {
            let g = power.slowed(gpuStep, at: now, share: computeShare)
            if g.gpu > gpuStep.gpu {
                // The factor on the kernels `throttled` slows (the step's collectives are not).
                let kernels = { (x: StepBreakdown) in x.attention + x.denseGEMM + x.experts }
                powerExtraUs += g.gpu - gpuStep.gpu; powerMaxFactor = max(powerMaxFactor, kernels(g) / kernels(gpuStep))
            }
            let (c, hostUs) = stepParts(g, maxTokens: maxTokens, maxSequences: maxSequences, uniformDecode: uniformDecode,
                                        withDecodes: withDecodes, extraHostUs: pendingHostUs, stallUs: pendingStallUs,
                                        launchCredit: launchCredit)
            pendingHostUs = 0; pendingStallUs = 0
            lastStart = now
            lastHost = hostUs
            let stepUs = c.total
            power.ran(from: now, us: stepUs, share: computeShare, gpuUs: g.gpu)
            if log != nil {
                if log!.count < logCap {
                    log!.append(RunResult.StepRecord(startUs: now, parts: c, tokens: maxTokens, sequences: maxSequences))
                } else { dropped += 1 }
            }
            now += stepUs
            lastEnd = now
            steps += 1
            breakdown += c
            busy += c.gpu
            kvUsageTime += kvUsage * stepUs
            peakKV = max(peakKV, kvUsage)
            if deferred { return now }
            return stream(at: now + outputLatencyUs, emitted: emitted)
        }

        /// Under async scheduling, how much of the next step's launches the engine core has already made when it
        /// starts: vLLM's loop schedules step k + 1 and launches its kernels before it waits for step k's output, so
        /// while a GPU-bound step k runs, the host that finished its own work (`lastStart + lastHost`) is already
        /// launching the next step's kernels, which queue behind k's. A step without graphs (or a piecewise one) after
        /// a decode step replayed from a full graph thus costs its launches less the GPU time the host spent waiting.
        /// Zero when the engine was idle before the step, or without async scheduling.
        var launchCredit: Double {
            guard asyncScheduling, steps > 0, now == lastEnd else { return 0 }
            return Self.hostWait(start: lastStart, host: lastHost, end: lastEnd)
        }

        /// How long the host waited for the GPU in a step from `start` to `end` whose host time was `host`: the time
        /// in which it launches the next step's kernels (`launchCredit`; the step replay's credit too).
        @inline(__always)
        static func hostWait(start: Double, host: Double, end: Double) -> Double { max(0, end - (start + host)) }

        /// A step's time: the GPU time `gpuStep` with the engine's host time in `overhead` (as it adds to or hides
        /// behind the GPU time), and the host time itself from the step's start (launches not made beforehand, see
        /// `launchCredit`, plus engine-core work).
        func stepParts(_ gpuStep: StepBreakdown, maxTokens: Int, maxSequences: Int, uniformDecode: Bool, withDecodes: Bool = true,
                       extraHostUs: Double = 0, stallUs: Double = 0, launchCredit: Double = 0) -> (StepBreakdown, Double) {
            var c = gpuStep
            // The host launches every layer's kernels when the step runs without CUDA graphs (too many tokens for
            // the captured graphs, --enforce-eager, or DP where it disables them), and each layer's attention
            // between the pieces of a piecewise graph (a mixed prefill/decode step); a decode-only step replays
            // one full graph.
            let mode = graphMode(maxTokens: maxTokens, uniformDecode: uniformDecode)
            var launch = mode == .none ? eagerHostUs : (mode == .piecewise ? piecewiseHostUs : 0)
            if mode == .none && eagerTokenUs != 0 { launch += eagerTokenUs * Double(maxTokens) }
            if mode != .full && !uniformDecode { launch += withDecodes ? mixedAttentionHostUs : promptAttentionHostUs }
            var host = (stepOverheadUs + perSeqUs * Double(maxSequences)) + dpSyncUs
            if perTokenUs != 0 { host += perTokenUs * Double(maxTokens) }
            if extraHostUs != 0 { host += extraHostUs }
            if asyncScheduling {
                // The engine core schedules and prepares the next step while this one runs on the GPU (vLLM's
                // async scheduling, a batch queue of two): the step takes the longer of the two. Launches the host
                // made while the step before ran on the GPU are done.
                if launchCredit > 0 { launch = max(0, launch - launchCredit) }
                let busy = max(c.gpu, launch + host)
                if busy > c.gpu { c.overhead += busy - c.gpu }
            } else {
                // Launches overlap the GPU work they start; the engine core's own work does not.
                if launch > c.gpu { c.overhead += launch - c.gpu }
                c.overhead += host
            }
            // A compile inside the forward: the host and the GPU both wait for it.
            c.overhead += stallUs
            return (c, launch + host + stallUs)
        }

        /// vLLM's names for them (its CUDA-graph dispatcher's runtime modes, as the step traces write them).
        enum GraphMode: String { case full = "FULL", piecewise = "PIECEWISE", none = "NONE" }

        /// How vLLM runs a step (its CUDA-graph dispatcher): a decode-only batch of at most `graphMax` tokens
        /// replays a full graph, a mixed one a piecewise graph, anything larger runs without graphs.
        @inline(__always)
        func graphMode(maxTokens: Int, uniformDecode: Bool) -> GraphMode {
            if dpEager || maxTokens > graphMax { return .none }
            return uniformDecode ? .full : .piecewise
        }

        /// The token count a graph replay computes: the smallest capture size at least `tokens` (vLLM's sizes
        /// 1, 2, 4, then multiples of 8 to 256 and of 16 up to the largest captured size).
        @inline(__always)
        func paddedTokens(_ tokens: Int) -> Int {
            guard padding, tokens > 0, tokens <= graphMax else { return tokens }
            let t: Int
            if tokens <= fineCaptureMax || tokens <= 2 { t = tokens } else if tokens <= 4 { t = 4 }
            else if tokens <= 256 { t = (tokens + 7) / 8 * 8 } else { t = 256 + (tokens - 256 + 15) / 16 * 16 }
            return min(t, graphMax)
        }

        /// The latest time a request may have become schedulable to join the next step: under async scheduling,
        /// while steps follow each other, the next step was scheduled when the engine core came back from
        /// preparing the current one (its start plus its host time), not at its end.
        @inline(__always)
        func admissionCutoff(busy: Bool) -> Double {
            guard asyncScheduling, busy, now == lastEnd else { return now }
            return min(now, lastStart + lastHost)
        }

        /// The API server streams `emitted` tokens that left the GPUs at `t`; returns when they reach the client.
        mutating func stream(at t: Double, emitted: Int) -> Double {
            let deliver = max(t, frontendFree) + Double(emitted) * frontendPerTokenUs
            frontendFree = deliver
            return deliver
        }

        // Pipeline parallelism: when each stage is free, and the KV usage since `kvMark`.
        var stageFree: [Double] = []
        var kvMark = 0.0, kvNow = 0.0

        /// The KV usage from now on (time-weighted in `kvUsageTime`).
        mutating func markKV(_ usage: Double) {
            kvUsageTime += kvNow * (now - kvMark)
            kvMark = now; kvNow = usage
            peakKV = max(peakKV, usage)
        }

        /// Launches one batch into the pipeline (the engine core schedules, then hands it to the first stage and
        /// is free to schedule the next): stage s starts when it is free and stage s - 1's activations have
        /// arrived. `stages` are the stages' GPU times, `sends[s]` the hand-over from s to s + 1, `eagerHostUs[s]`
        /// the host time to launch stage s's kernels when the step runs eager. Returns when the last stage ends.
        mutating func launch(_ whole: StepBreakdown, stages: [StepBreakdown], sends: [Double], eagerHostUs: [Double],
                             maxTokens: Int, maxSequences: Int, kvUsage: Double) -> Double {
            let eager = maxTokens > graphMax || dpEager
            var host = stepOverheadUs + perSeqUs * Double(maxSequences) + dpSyncUs
            if perTokenUs != 0 { host += perTokenUs * Double(maxTokens) }
            if pendingHostUs != 0 { host += pendingHostUs; pendingHostUs = 0 }
            now += host
            markKV(kvUsage)
            if stageFree.count != stages.count { stageFree = Array(repeating: 0, count: stages.count) }
            var t = now, gpuSum = 0.0
            var spans: [(startUs: Double, us: Double)] = []
            if log != nil { spans.reserveCapacity(stages.count) }
            for (k, st) in stages.enumerated() {
                let us = eager ? max(st.gpu, eagerHostUs[k]) : st.gpu
                let start = max(t, stageFree[k])
                stageFree[k] = start + us
                if log != nil { spans.append((start, us)) }
                gpuSum += st.gpu
                t = start + us + (k < sends.count ? sends[k] : 0)
            }
            var c = whole
            for x in sends { c.communication += x }
            c.overhead += host
            if eager { for (k, st) in stages.enumerated() where eagerHostUs[k] > st.gpu { c.overhead += eagerHostUs[k] - st.gpu } }
            if log != nil {
                if log!.count < logCap {
                    log!.append(RunResult.StepRecord(startUs: spans[0].startUs, parts: c, tokens: maxTokens, sequences: maxSequences, stages: spans))
                } else { dropped += 1 }
            }
            steps += 1
            breakdown += c
            busy += gpuSum / Double(stages.count)
            return t
        }
    }

    /// The engine's clock for a deployment: its CUDA-graph rule, host costs and scheduling mode.
    static func makeClock(_ d: Deployment, maxSeqs: Int, budget: Int) -> StepClock {
        let dp = d.plan.dataParallel
        let padding = d.param("cuda_graph_padding") >= 0.5
        // vLLM 0.24 captures graphs up to min(2 x max_num_seqs, 512, max_num_batched_tokens) tokens; --enforce-eager none.
        var graphMax = Int(d.param("cuda_graph_max_tokens"))
        if padding {
            // vLLM 0.24 (VllmConfig._set_cudagraph_sizes): a largest capture size the run sets, or the one the model's
            // config sets (gpt-oss's 1024, GptOssForCausalLMConfig), is kept within the token budget; otherwise
            // min(2 x max_num_seqs, 512).
            if let v = d.overrides["cuda_graph_max_tokens"] { graphMax = min(Int(v), budget) }
            else if let m = d.model.vllmCaptureMaxTokens { graphMax = min(m, budget) }
            else { graphMax = min(graphMax, 2 * maxSeqs, budget) }
            // vLLM then captures the sizes of its list up to that bound, and the largest of them is the bound.
            if graphMax >= 8 { graphMax = graphMax <= 256 ? graphMax - graphMax % 8 : 256 + (graphMax - 256) / 16 * 16 }
            else if graphMax > 0 { graphMax = graphMax >= 4 ? 4 : (graphMax >= 2 ? 2 : 1) }
        }
        if d.param("enforce_eager") >= 0.5 { graphMax = 0 }
        // --enforce-eager runs eager PyTorch (no torch.compile), whose per-layer host time differs from a compiled
        // graph run without CUDA graphs.
        var clock = StepClock(graphMax: graphMax, dpEager: dp > 1 && d.param("dp_forces_eager") >= 0.5,
                              eagerHostUs: eagerHostUs(d),
                              stepOverheadUs: d.hostParam("step_overhead_us"), perSeqUs: d.hostParam("per_seq_overhead_us"),
                              dpSyncUs: dp > 1 ? d.hostParam("dp_sync_us") : 0, frontendPerTokenUs: d.hostParam("frontend_per_token_us"))
        clock.piecewiseHostUs = Double(d.model.layers) * d.hostParam("piecewise_layer_host_us")
        let opUs = eagerHost(d).operationUs
        clock.promptAttentionHostUs = Double(d.model.extraAttentionHostOps(decodes: false, prompts: true)) * opUs
        clock.mixedAttentionHostUs = Double(d.model.extraAttentionHostOps(decodes: true, prompts: true)) * opUs
        clock.perTokenUs = d.hostParam("per_token_overhead_us")
        clock.eagerTokenUs = d.hostParam("eager_token_host_us")
        clock.outputLatencyUs = d.hostParam("output_latency_us")
        clock.asyncScheduling = d.param("async_scheduling") >= 0.5
        clock.power = PowerState(gpu: d.gpu)
        clock.padding = padding
        // --performance-mode interactivity: every size 1..32 captured (then 40, 48, ... as usual).
        if d.performanceMode == .interactivity { clock.fineCaptureMax = min(graphMax, 32) }
        return clock
    }

    /// How a forward run without CUDA graphs is priced on the host, with its parts (µs at the deployment's host speed):
    /// per decoder layer (`eager_layer_host_us`, as the paper's profile does); per operation, each layer's operations
    /// counted from the architecture (`ModelArchitecture.hostOps`, `eager_op_host_us`; --enforce-eager runs eager
    /// PyTorch without torch.compile at `enforce_eager_op_host_us`); or, where the profile prices a fused-MoE layer
    /// (`eager_moe_host_us`) and torch.compile runs, a fixed part per forward (`eager_step_host_us`), each operation
    /// outside the fused MoE and each MoE layer whole: PyTorch's profiler on vLLM 0.24.0 (2026-12-04) shows the
    /// fused-MoE custom op's own Python as the dearest host item of such a step, and OLMoE at 4, 16 and 32 layers the
    /// same work outside the layers. A layer whose custom op also runs shared experts (`eager_shared_moe_host_us`) is
    /// priced whole with them, and DeepSeek-V2's compiled grouped top-k (`eager_grouped_topk_host_us`) adds to its MoE
    /// layers: models timed in turn on one vCPU (probe/vllm/pairhost.py, 2026-12-05) put Qwen1.5-MoE's and
    /// DeepSeek-V2-Lite's steps without graphs 1.2x and 1.3x above OLMoE's, relative to what the operation counts gave.
    /// The clock and `moesim explain` both read it.
    public struct EagerHost: Sendable {
        public enum Pricing: Sendable { case perLayer, perOperation, moeLayersWhole }
        public var pricing: Pricing
        /// The operations priced one at a time (outside the fused MoE under `moeLayersWhole`), and each one's cost.
        public var operations = 0, operationUs = 0.0
        /// `moeLayersWhole`: the MoE layers, each one's cost, and the fixed part per forward.
        public var moeLayers = 0, moeLayerUs = 0.0, fixedUs = 0.0
        /// `perLayer`: the decoder layers and each one's cost.
        public var layers = 0, layerUs = 0.0
        /// `moeLayersWhole` with `eager_shared_moe_host_us`: the MoE layers whose custom op also runs shared experts
        /// (not among `moeLayers`; their shared experts' operations not among `operations`), and each one's cost.
        public var sharedMoELayers = 0, sharedMoELayerUs = 0.0
        /// `moeLayersWhole` with `eager_grouped_topk_host_us`: the MoE layers routed by DeepSeek-V2's compiled grouped
        /// top-k, and its cost on top of the layer's.
        public var groupedTopKLayers = 0, groupedTopKUs = 0.0

        public var totalUs: Double {
            fixedUs + Double(operations) * operationUs + Double(moeLayers) * moeLayerUs + Double(layers) * layerUs
                + Double(sharedMoELayers) * sharedMoELayerUs + Double(groupedTopKLayers) * groupedTopKUs
        }
    }

    public static func eagerHost(_ d: Deployment) -> EagerHost {
        let enforce = d.param("enforce_eager") >= 0.5, m = d.model
        guard d.param("eager_op_host_us") > 0 else {
            let perLayer = enforce && d.param("enforce_eager_layer_host_us") > 0 ? d.hostParam("enforce_eager_layer_host_us") : d.hostParam("eager_layer_host_us")
            return EagerHost(pricing: .perLayer, layers: m.layers, layerUs: perLayer)
        }
        let perOp = enforce && d.param("enforce_eager_op_host_us") > 0 ? d.hostParam("enforce_eager_op_host_us") : d.hostParam("eager_op_host_us")
        guard !enforce && d.param("eager_moe_host_us") > 0 else { return EagerHost(pricing: .perOperation, operations: m.hostOps, operationUs: perOp) }
        var h = EagerHost(pricing: .moeLayersWhole, operations: m.hostOpsOutsideMoE, operationUs: perOp,
                          moeLayers: m.moeLayers, moeLayerUs: d.hostParam("eager_moe_host_us"), fixedUs: d.hostParam("eager_step_host_us"))
        // SharedFusedMoE: the shared experts run inside the custom op (eagerly, on a second stream), priced with it.
        if d.param("eager_shared_moe_host_us") > 0 && m.sharedMoELayers > 0 {
            h.operations -= m.sharedExpertHostOpsTotal
            h.sharedMoELayers = m.sharedMoELayers
            h.moeLayers -= m.sharedMoELayers
            h.sharedMoELayerUs = d.hostParam("eager_shared_moe_host_us")
        }
        if m.torchGroupedTopK && d.param("eager_grouped_topk_host_us") > 0 {
            h.groupedTopKLayers = m.moeLayers
            h.groupedTopKUs = d.hostParam("eager_grouped_topk_host_us")
        }
        return h
    }

    /// The KV cache size vLLM 0.24 logs ("GPU KV cache size: N tokens"): the tokens of max_model_len-long requests the
    /// pool holds at once (`get_kv_cache_capacity`). With every layer alike that is the pool's blocks times the block
    /// size; with sliding-window layers each such request also holds its sliding groups' blocks of the window plus
    /// one batch of tokens (`SlidingWindowSpec.max_admission_blocks_per_request`), so the figure is less than the
    /// full-attention tokens the pool can hold. max_model_len is `d.maxLen`.
    public static func reportedKVCacheTokens(_ d: Deployment, mem: MemoryPlan) -> Int {
        guard d.model.kvGroupKinds != nil, mem.kvBytesPerToken > 0 else { return mem.kvTokens }
        let (poolBlocks, perRequest) = kvPoolAndRequestBlocks(d, mem: mem, maxLen: d.maxLen)
        return Int(Double(poolBlocks) / Double(perRequest) * Double(d.maxLen))
    }

    /// The KV pool's blocks (one DP rank's) and the blocks one `maxLen`-token request needs at most, as vLLM 0.24
    /// counts them (`max_memory_usage_bytes` of each KV cache group: a full-attention group its whole length, a
    /// sliding-window group its window plus one batch of tokens and a block). With every layer alike both are plain
    /// block counts.
    public static func kvPoolAndRequestBlocks(_ d: Deployment, mem: MemoryPlan, maxLen: Int) -> (pool: Int, request: Int) {
        let bs = mem.blockSize
        guard let g = d.model.kvGroupKinds, mem.kvBytesPerToken > 0 else { return (mem.kvBlocks, (maxLen + bs - 1) / bs) }
        // A pool block is one group's page: the full-attention groups' bytes a token shared among them, or with every
        // layer sliding the one group's (each request then holds only its window plus one batch, SlidingWindowSpec).
        let poolBlocks = Int(mem.kvBytes / (mem.kvBytesPerToken / Double(max(g.full, 1)) * Double(bs)))
        let window = min(d.model.slidingWindow - 1 + Int(d.param("max_num_batched_tokens")), maxLen)
        return (poolBlocks, g.full * ((maxLen + bs - 1) / bs) + g.sliding * ((window + bs - 1) / bs + 1))
    }

    /// The longest max_model_len whose one request the KV cache holds (vLLM's `estimate_max_model_len`, a binary
    /// search up to `limit`); 0 when not even one token fits.
    public static func largestFittingMaxLen(_ d: Deployment, mem: MemoryPlan, limit: Int) -> Int {
        func fits(_ len: Int) -> Bool { let b = kvPoolAndRequestBlocks(d, mem: mem, maxLen: len); return b.request <= b.pool }
        guard limit >= 1, fits(1) else { return 0 }
        var lo = 1, hi = limit, best = 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if fits(mid) { best = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return best
    }

    /// Host time of one forward run without CUDA graphs (µs, at the deployment's host speed): `eagerHost`'s total.
    static func eagerHostUs(_ d: Deployment) -> Double { eagerHost(d).totalUs }

    /// One recorded engine step priced by the model: its GPU time, the host time, the step's time, how vLLM runs it.
    public struct ReplayedStep: Sendable {
        public var gpuUs: Double, hostUs: Double, stepUs: Double
        public var mode: String
    }

    /// Prices recorded engine steps (one DP rank's batch each, as a step trace records them) with this deployment's
    /// cost model and engine clock: what `moesim validate` compares with a measured step trace.
    /// `previous[i]`, where given, is the step that ran just before step i on a busy engine: its time and host time
    /// give step i the launches the host made while it ran (`StepClock.launchCredit`). Where it is step i - 1 of
    /// `batches`, that step's replay is used (its host time after its own credit, as the engine clock has it);
    /// otherwise it is priced without a credit by a cost model and random stream of its own, so that the steps' draws
    /// do not depend on it.
    public static func replaySteps(_ batches: [BatchShape], previous: [BatchShape?]? = nil, deployment d: Deployment, seed: UInt64) throws -> [ReplayedStep] {
        let cost = try d.costModel(seed: seed)
        // Built on first need: most predecessors are the step just replayed.
        var prevCost: StepCostModel? = nil
        let clock = makeClock(d, maxSeqs: Int(d.param("max_num_seqs")), budget: Int(d.param("max_num_batched_tokens")))
        // The GPU's power state over the steps, taken as run back to back (a busy engine's; `PowerState`).
        var power = clock.power, t = 0.0
        var pick = Xoshiro256(seed: seed, stream: 0x9A7)
        var prevPick = Xoshiro256(seed: seed, stream: 0x9A8)
        func parts(_ b: BatchShape, credit: Double, cost: StepCostModel, pick: inout Xoshiro256, power: inout PowerState, at t: Double) -> (gpu: StepBreakdown, step: StepBreakdown, host: Double, mode: StepClock.GraphMode) {
            let uniform = b.prefillSequences == 0
            let mode = clock.graphMode(maxTokens: b.tokens, uniformDecode: uniform)
            var padded = b
            if clock.padding && mode != .none { padded.tokens = clock.paddedTokens(b.tokens) }
            let burst = cost.stepCost([padded], pick: &pick)
            let share = power.share(cost, [padded], gpu: burst)
            let gpu = power.slowed(burst, at: t, share: share)
            let (c, host) = clock.stepParts(gpu, maxTokens: b.tokens, maxSequences: b.sequences, uniformDecode: uniform,
                                            withDecodes: b.decodeSequences > 0, launchCredit: credit)
            power.ran(from: t, us: c.total, share: share, gpuUs: gpu.gpu)
            return (gpu, c, host, mode)
        }
        var out: [ReplayedStep] = []
        out.reserveCapacity(batches.count)
        for (i, b) in batches.enumerated() {
            var credit = 0.0
            if clock.asyncScheduling, let p = previous?[i] {
                if i > 0, p == batches[i - 1] {
                    // The step before is the one just replayed: its host time after its own credit, as the engine
                    // clock's `lastHost` is.
                    credit = StepClock.hostWait(start: 0, host: out[i - 1].hostUs, end: out[i - 1].stepUs)
                } else {
                    if prevCost == nil { prevCost = try d.costModel(seed: seed) }
                    // Priced at the power state as it stands, which it leaves as it was.
                    var at = power
                    let q = parts(p, credit: 0, cost: prevCost!, pick: &prevPick, power: &at, at: t)
                    credit = StepClock.hostWait(start: 0, host: q.host, end: q.step.total)
                }
            }
            let r = parts(b, credit: credit, cost: cost, pick: &pick, power: &power, at: t)
            t += r.step.total
            out.append(ReplayedStep(gpuUs: r.gpu.gpu, hostUs: r.host, stepUs: r.step.total,
                                    mode: r.mode.rawValue))
        }
        return out
    }

    /// vLLM 0.24's first-use compiles of its Triton fused MoE for bf16 experts. The kernel is compiled for each
    /// configuration and specialization it is called with (`FusedMoEBlockM.Tiles.kernelClass`); start-up runs the
    /// memory profile at the token budget, every CUDA-graph capture size and a warm-up (the first model runner: one
    /// forward of min(max_num_seqs, budget) tokens; the second: a prefill of 2 tokens for each of min(max_num_seqs,
    /// budget / 2) requests, then a decode of them), and `Deployment.warmTokenCounts` what the engine ran before the
    /// run. The first step without CUDA graphs to need another waits while Triton compiles the layer's two kernels,
    /// `moe_first_use_us` at the run's host speed (vLLM's jit_monitor logs each compile; on an H100 on 2026-12-06 every
    /// stall of its step traces matched one, `probe/results/2026-12-06-h100-vllm-ac`). gpt-oss's MXFP4 experts run
    /// OpenAI's triton_kernels instead (`StepCostModel.mxfp4Kernels`): its routing kernels compile for each token count
    /// rounded up to 32 (`mxfp4_routing_first_use_us`), its two expert GEMMs for each row tile and specialization
    /// (`mxfp4_matmul_first_use_us` each). Steps with CUDA graphs replay what start-up captured and never compile.
    struct FirstUse {
        var compiled: Set<Int>
        let us: Double
        /// gpt-oss's MXFP4 experts: OpenAI's triton_kernels (`StepCostModel.mxfp4Kernels`) instead of the bf16 fused
        /// MoE, and the compile of one of its expert GEMMs (`mxfp4_matmul_first_use_us`; `us` is its routing's).
        let mxfp4: Bool
        let matmulUs: Double
        /// Whether the profiles ship each configuration's compile time (`FusedMoEBlockM.CompileTimes`).
        let perConfiguration: Bool
        var stalls = 0, stallUs = 0.0, tokens: [Int] = [], matmulCompiles = 0

        static func kernels(_ cost: StepCostModel, tokens: Int, mxfp4: Bool) -> [Int] {
            mxfp4 ? cost.mxfp4Kernels(tokens: tokens) ?? [] : cost.fusedMoEKernelClass(tokens: tokens).map { [$0] } ?? []
        }

        /// The first-use model for this deployment, or nil where it does not apply (no cost in the profile, every
        /// size warm, or experts that run neither kernel on one GPU's whole batch).
        init?(_ d: Deployment, cost: StepCostModel, clock: StepClock, maxSeqs: Int, budget: Int) {
            guard !d.allWarm, d.plan.pipelineParallel == 1 else { return nil }
            mxfp4 = cost.mxfp4Kernels(tokens: 1) != nil
            perConfiguration = !mxfp4 && cost.fusedMoECompileTimesKnown
            guard mxfp4 || cost.fusedMoEKernelClass(tokens: 1) != nil else { return nil }
            let us = d.hostParam(mxfp4 ? "mxfp4_routing_first_use_us" : "moe_first_use_us")
            guard us > 0 else { return nil }
            self.us = us
            matmulUs = mxfp4 ? d.hostParam("mxfp4_matmul_first_use_us") : 0
            var warm = [budget]
            // The capture sizes, as the clock pads to them.
            var size = 1
            while size <= clock.graphMax { let s = clock.paddedTokens(size); warm.append(s); size = s + 1 }
            if d.model.vllmModelRunnerV2 && !d.vllmRunnerV1Forced {
                let reqs = min(maxSeqs, budget / 2)
                warm += [2 * reqs, reqs]
            } else {
                warm.append(min(maxSeqs, budget))
            }
            warm += d.warmTokenCounts
            let mx = mxfp4
            compiled = Set(warm.filter { $0 > 0 }.flatMap { Self.kernels(cost, tokens: $0, mxfp4: mx) })
        }

        /// The wait of a step of `tokens` tokens without CUDA graphs: the compile of its kernels that are new, else 0.
        mutating func stall(tokens: Int, cost: StepCostModel) -> Double {
            var wait = 0.0
            if !mxfp4 {
                // The bf16 kernel's compile takes longer for larger tiles (measured per configuration, relative to the
                // one moe_first_use_us was measured on).
                if let k = cost.fusedMoEKernelClass(tokens: tokens), compiled.insert(k).inserted {
                    wait = us * cost.fusedMoECompileRatio(tokens: tokens)
                }
            } else {
                for k in cost.mxfp4Kernels(tokens: tokens) ?? [] where compiled.insert(k).inserted {
                    if StepCostModel.Mxfp4Kernel(kernel: k) == .routing { wait += us } else { wait += matmulUs; matmulCompiles += 1 }
                }
            }
            guard wait > 0 else { return 0 }
            stalls += 1; stallUs += wait
            if self.tokens.count < 12 { self.tokens.append(tokens) }
            return wait
        }
    }

    /// A batch in the pipeline: when its last stage ends, and the sequences whose token it samples (with the
    /// launch each was part of).
    struct Flight {
        var done: Double
        var seqs: [Int] = [], ranks: [Int] = [], launches: [Int] = []
        var emitted = 0
    }

    /// Adds one scheduled sequence to its rank's batch: a decode token, or a prompt chunk (which samples a token
    /// when it completes everything known of the sequence).
    @inline(__always)
    static func addToBatch(_ b: inout BatchShape, computed: Int, prompt: Int, generated: Int, want: Int, emitted: inout Int, kvLoaded: Bool = false) {
        let finishesKnown = computed + want == prompt + generated
        if finishesKnown { emitted += 1 }
        // A disaggregated decode instance's first step computes only the last prompt position: a decode.
        if want == 1 && ((computed >= prompt && generated > 0) || (kvLoaded && computed > 0)) { b.addDecode(context: computed) }
        else { b.addPrefill(chunk: want, prefix: computed, samples: finishesKnown) }
    }

    public func run() throws -> RunResult {
        var core = try Core(self, driven: false)
        try core.runToEnd()
        return core.result()
    }

    /// The engine between steps. `run()` steps it to the end of the workload; a cluster of instances (`Cluster`)
    /// drives several, one step at a time on one event queue, and hands each its requests (`driven`).
    struct Core {
        let sim: VLLMSimulator
        let driven: Bool
        let d: Deployment
        let mem: MemoryPlan
        let cost: StepCostModel
        let dp: Int, blockSize: Int, maxSeqs: Int, budgetTokens: Int, totalBlocks: Int
        /// Sliding-window layers (`ModelArchitecture.kvCacheGroups`): the window `swWindow` in tokens (0 when every layer
        /// attends to the whole context), `swGroups` sliding groups against `fullGroups` full-attention ones (none when
        /// every layer slides: one group of sliding-window layers).
        let swWindow: Int, swGroups: Int, fullGroups: Int
        let reqs: [Request]
        let n: Int
        var seqs: [Seq]
        var clock: StepClock
        var waiting: [[Int]], waitHead: [Int], running: [[Int]], freeBlocks: [Int]
        var pick: Xoshiro256
        let pc: Bool
        /// Chunked prefill on (vLLM's default); off, a waiting prompt is admitted only whole within the step's budget.
        let chunked: Bool
        var caches: [PrefixCache]
        let spec: SpeculativeConfig?
        let specK: Int
        var acceptRNG: Xoshiro256, draftPick: Xoshiro256
        let draftCost: StepCostModel?
        var draftBatches: [BatchShape]
        var schedAccept: [Int] = []
        /// Prefix caching: the decode sequences of the rank being scheduled that hold blocks of a shared prefix, per
        /// prefix (its key, the blocks they hold in all, the most one holds), for `BatchShape.decodeSharedContext`.
        var shareGroups: [(key: UInt64, blocks: Int, most: Int, readers: Int)] = []
        /// Each noted prefix's place in `shareGroups` (a request trace can name a prefix per conversation).
        var shareIndex: [UInt64: Int] = [:]
        /// Over the run: decode tokens read, and those re-read from a shared copy (for the run's note).
        var decodeReads = 0.0, sharedReads = 0.0
        var specSteps = 0, specProposed = 0, specAccepted = 0
        // Client: send times wait for a free concurrency slot (FIFO of slot-free times).
        let concurrency: Int
        var freeSlots: [Double]
        var slotHead = 0, nextToSend = 0
        var completed = 0, preemptions = 0
        var ttft: [Double] = [], tpot: [Double] = [], e2el: [Double] = []
        // ITLs repeat (a decode step gives every sequence the same one): kept as runs, memory per step, not per token.
        var itl = RunLengthSample()
        /// When tokens reached the client, run-length coded (a step's tokens share their instant), for vLLM's peak
        /// output tokens a second (`RunResult.Peaks`, a serving figure): nil offline, and once it grew past
        /// `TokenInstants.maxInstants`.
        var tokenInstants: TokenInstants?
        let detailed: Bool
        var reqITL: [[Double]]
        var lastCompletion = 0.0
        var batches: [BatchShape]
        // This step's scheduled sequences and their new tokens, all ranks in one flat list; rank r owns
        // schedSeq[rankStart[r]..<rankStart[r + 1]].
        var schedSeq: [Int] = [], schedWant: [Int] = []
        var rankStart: [Int]
        var emitted = 0
        let progressEvery: Int
        /// Driven: the requests the last step finished, and when their last token reached the client.
        var finishedNow: [(Int, Double)] = []
        /// Pipeline parallelism: stages, the batches in flight (oldest first), each stage's eager launch time.
        let pp: Int
        var flights: [Flight] = []
        /// Driven and pipelined: nothing can be scheduled, a slot is free, and the oldest batch returns at this time;
        /// the cluster steps the core then, or earlier when a request arrives.
        var wakeAt: Double? = nil
        let stageEagerHostUs: [Double]
        /// Driven: requests submitted but not yet received by the engine core (index, when it can schedule them).
        var arrivals: [(i: Int, ready: Double)] = []
        /// Async scheduling: the last step's tokens, not yet out of the engine core (it processes a step's output
        /// after scheduling and launching the next step): the sequences and ranks, the step's end, the token count.
        var pendSeqs: [Int] = [], pendRanks: [Int] = []
        var pendEnd = 0.0, pendEmitted = 0
        var hasPending = false
        let deferOutputs: Bool
        /// From a request's send to an idle engine core scheduling it; of that, the idle core's wake-up after receiving
        /// it (requests received meanwhile join its first step); the engine core's host time per arriving request.
        let inputLatencyUs: Double, idleWakeUs: Double, requestHostUs: Double
        /// With prefix caching: the engine core's host time per full block of an arriving request's prompt (the
        /// request is built with its block hashes); 0 without.
        let requestBlockHostUs: Double
        /// Offline (`LLM.generate`): from each request's call to when the engine core has built it and every other
        /// request of the call (the front end hands them over one by one, the core's input thread builds each as it
        /// comes), which is when the core's first step, holding them all, can take it; empty where requests are sent
        /// as they arrive (serving, a driven instance).
        var handOverUs: [Double] = []
        /// From a request's send to its receipt by the engine core (`inputLatencyUs - idleWakeUs`): a busy core
        /// schedules what it has received by the time it schedules.
        @inline(__always) var receiveUs: Double { max(0, inputLatencyUs - idleWakeUs) }
        /// vLLM's first-use compiles of the fused MoE; nil where not modelled.
        var firstUse: FirstUse?

        init(_ sim: VLLMSimulator, driven: Bool) throws {
            self.sim = sim; self.driven = driven
            self.d = sim.deployment
            let d = self.d
            self.mem = d.memoryPlan()
            let mem = self.mem
            try mem.check(model: d.model, plan: d.plan, gpu: d.gpu)
            self.cost = try d.costModel(seed: sim.seed)
            self.pp = d.plan.pipelineParallel
            if pp > 1 && sim.speculative != nil {
                throw InputError.usage("moesim does not model speculative decoding together with --pipeline-parallel-size \(pp) (its drafts would need the pipeline's batch queue); use one or the other")
            }
            self.dp = d.plan.dataParallel
            let dp = self.dp
            self.blockSize = Int(d.param("block_size"))
            let blockSize = self.blockSize
            if let g = d.model.kvGroupKinds {
                self.swWindow = d.model.slidingWindow; self.swGroups = g.sliding; self.fullGroups = g.full
            } else {
                self.swWindow = 0; self.swGroups = 0; self.fullGroups = 1
            }
            let swWindow = self.swWindow, swGroups = self.swGroups, fullGroups = self.fullGroups
            self.maxSeqs = Int(d.param("max_num_seqs"))
            let maxSeqs = self.maxSeqs
            self.budgetTokens = Int(d.param("max_num_batched_tokens"))
            let budgetTokens = self.budgetTokens
            guard maxSeqs > 0 else { throw InputError.usage("--max-num-seqs must be positive") }
            guard budgetTokens > 0 else { throw InputError.usage("--max-num-batched-tokens must be positive") }
            self.totalBlocks = mem.kvBlocks
            let totalBlocks = self.totalBlocks
            guard totalBlocks > 0 else {
                throw InputError.data(String(format: "%@: no memory left for the KV cache under %@ on %@ (weights %.1f GB + reserve %.1f GB of %.1f GB)",
                                             d.model.name, d.plan.vllmFlags, d.gpu.name, mem.weightBytes / 1e9, mem.reserveBytes / 1e9, mem.budgetBytes / 1e9))
            }
            self.tokenInstants = d.usageContext == .offline ? nil : TokenInstants()
            self.reqs = sim.workload.requests
            let reqs = self.reqs
            self.n = reqs.count
            let n = self.n
            // The fewest steps the schedule can take: every prompt token within the token budget, every output token
            // within the sequences one step can hold. Refuse a run that could not finish in minutes.
            let inFlight = min(sim.workload.maxConcurrency ?? n, n, maxSeqs * dp)
            let minSteps = Double(sim.workload.totalInputTokens) / Double(budgetTokens * dp) + Double(sim.workload.totalOutputTokens) / Double(max(inFlight, 1))
            guard minSteps <= Limits.maxEngineSteps else {
                throw InputError.usage(String(format: "the schedule needs at least %.3g engine steps (prompt tokens / --max-num-batched-tokens + output tokens / sequences in flight); the limit is %.3g (minutes of simulation). Raise --max-num-batched-tokens, --max-num-seqs or --max-concurrency, or lower the work",
                                              minSteps, Limits.maxEngineSteps))
            }
            self.seqs = reqs.map { Seq(prompt: $0.inputTokens, output: $0.outputTokens) }
            var workloadBlocks = 0  // every request's blocks: the most distinct blocks a prefix cache can name
            for (i, r) in reqs.enumerated() {
                workloadBlocks += (r.inputTokens + r.outputTokens + blockSize - 1) / blockSize
                let need = Self.kvBlocks(r.inputTokens + r.outputTokens, new: 1, blockSize: blockSize, window: swWindow, swGroups: swGroups, fullGroups: fullGroups)
                if need > totalBlocks {
                    throw InputError.data("request \(i + 1) needs \(r.inputTokens + r.outputTokens) tokens of KV cache; \(d.model.name) under \(d.plan.vllmFlags) on \(d.gpu.name) holds \(mem.kvTokens) per DP rank")
                }
                if r.inputTokens + r.outputTokens > d.maxLen {
                    throw InputError.data("request \(i + 1) has \(r.inputTokens + r.outputTokens) tokens; \(d.model.name) accepts at most \(d.maxLen) (\(d.maxLenSource)), and vLLM refuses a longer request")
                }
            }
            self.clock = VLLMSimulator.makeClock(d, maxSeqs: maxSeqs, budget: budgetTokens)
            // A pipeline stage launches its share of the layers' host work when a step runs without graphs.
            let eagerHost = clock.eagerHostUs
            self.stageEagerHostUs = cost.stageLayerShare.map { $0 * eagerHost }
            self.firstUse = dp == 1 ? FirstUse(d, cost: cost, clock: clock, maxSeqs: maxSeqs, budget: budgetTokens) : nil
            self.inputLatencyUs = d.hostParam("input_latency_us")
            self.idleWakeUs = d.hostParam("idle_wake_us")
            self.requestHostUs = d.hostParam("request_host_us")
            self.deferOutputs = clock.asyncScheduling && pp == 1
            if sim.recordTimeline { self.clock.log = [] }
            self.detailed = sim.recordRequestITLs
            self.reqITL = sim.recordRequestITLs ? Array(repeating: [], count: n) : []
            self.waiting = Array(repeating: [Int](), count: dp)
            self.waitHead = Array(repeating: 0, count: dp)
            self.running = Array(repeating: [Int](), count: dp)
            self.freeBlocks = Array(repeating: totalBlocks, count: dp)
            self.pick = Xoshiro256(seed: sim.seed, stream: 0x9A7)
            self.pc = sim.prefixCaching
            self.chunked = d.chunkedPrefill
            let pc = self.pc
            self.requestBlockHostUs = pc ? d.hostParam("request_block_host_us") : 0
            if !driven && d.usageContext == .offline {
                // A call's requests (those of one arrival time) pass the front end, then the core's input thread, one
                // at a time: each leaves the front end frontend_request_us after the one before, and the core builds
                // it once both it has come and the core has built the one before. Their intake is paid here, so none
                // is left to the step that schedules them.
                let frontUs = d.hostParam("frontend_request_us")
                var hand = Array(repeating: 0.0, count: n)
                var i = 0
                while i < n {
                    var j = i, front = 0.0, core = 0.0
                    while j < n && reqs[j].arrival == reqs[i].arrival {
                        front += frontUs
                        core = max(core, front) + Self.intakeUs(prompt: reqs[j].inputTokens, requestUs: requestHostUs, blockUs: requestBlockHostUs, blockSize: blockSize)
                        j += 1
                    }
                    for k in i..<j { hand[k] = core }
                    i = j
                }
                self.handOverUs = hand
            }
            // Each rank's cache sized for the blocks it can hold (cached blocks outnumber the KV cache's while they
            // wait to be evicted), never more than the workload can name: a short run gets a small table.
            let cacheBlocks = min(2 * totalBlocks, workloadBlocks)
            self.caches = (0..<(pc ? dp : 0)).map { _ in PrefixCache(blocks: cacheBlocks) }
            self.spec = sim.speculative
            let spec = self.spec
            self.specK = spec?.numSpeculativeTokens ?? 0
            self.acceptRNG = Xoshiro256(seed: sim.seed, stream: 0x5EC)
            self.draftPick = Xoshiro256(seed: sim.seed, stream: 0xD4A)
            self.draftCost = try sim.draftDeployment?.costModel(seed: sim.seed)
            self.draftBatches = Array(repeating: BatchShape(), count: spec == nil ? 0 : dp)
            // Client: send times wait for a free concurrency slot (FIFO of slot-free times).
            self.concurrency = min(sim.workload.maxConcurrency ?? n, n)
            let concurrency = self.concurrency
            self.freeSlots = Array(repeating: 0.0, count: concurrency)
            // ITLs repeat (a decode step gives every sequence the same one): kept as runs, memory per step, not per token.
            ttft.reserveCapacity(n); e2el.reserveCapacity(n); tpot.reserveCapacity(n)
            self.batches = Array(repeating: BatchShape(), count: dp)
            // This step's scheduled sequences and their new tokens, all ranks in one flat list; rank r owns
            // schedSeq[rankStart[r]..<rankStart[r + 1]].
            schedSeq.reserveCapacity(min(maxSeqs * dp, n)); schedWant.reserveCapacity(min(maxSeqs * dp, n))
            self.rankStart = Array(repeating: 0, count: dp + 1)
            self.progressEvery = max(1, n / 100)
            schedSeq.reserveCapacity(min(maxSeqs * dp, n)); schedWant.reserveCapacity(min(maxSeqs * dp, n))
        }

        /// The KV blocks a sequence of `tokens` tokens holds while a step computes its last `new` of them: its
        /// full-attention blocks, and with sliding-window layers the sliding groups' blocks of the window before those
        /// tokens and the tokens themselves (vLLM frees the blocks the window has left when it next allocates; a block
        /// more for a window that starts inside a block), in blocks of the full groups' size. A sequence that computed a
        /// prompt chunk last gives the chunk's extra blocks back when it is next scheduled.
        @inline(__always) func blocksFor(_ tokens: Int, new: Int = 1) -> Int {
            Self.kvBlocks(tokens, new: new, blockSize: blockSize, window: swWindow, swGroups: swGroups, fullGroups: fullGroups)
        }

        /// `blocksFor` for given block size and sliding-window groups (also used before the core is set up).
        @inline(__always)
        static func kvBlocks(_ tokens: Int, new: Int, blockSize: Int, window: Int, swGroups: Int, fullGroups: Int) -> Int {
            let full = (tokens + blockSize - 1) / blockSize
            guard window > 0 else { return full }
            let held = min(full, (window - 1 + max(new, 1) + blockSize - 1) / blockSize + 1)
            // Every layer sliding: the one group's window is all a sequence holds (its blocks are the pool's pages).
            guard fullGroups > 0 else { return held }
            return full + (swGroups * held + fullGroups - 1) / fullGroups
        }

        /// When the client sends request `i` (its arrival and a free concurrency slot).
        @inline(__always) func sendTime(_ i: Int) -> Double {
            max(reqs[i].arrival.microseconds + (handOverUs.isEmpty ? 0 : handOverUs[i]), freeSlots[slotHead])
        }

        /// The engine core's host time to take in request `i` as it arrives (its input thread builds the request,
        /// with its prompt's block hashes under prefix caching), spent before the step that can schedule it.
        @inline(__always) func intakeUs(_ i: Int) -> Double {
            Self.intakeUs(prompt: reqs[i].inputTokens, requestUs: requestHostUs, blockUs: requestBlockHostUs, blockSize: blockSize)
        }

        /// A request's intake: `requestUs`, and `blockUs` for each full block of its prompt (vLLM hashes only those).
        @inline(__always) static func intakeUs(prompt: Int, requestUs: Double, blockUs: Double, blockSize: Int) -> Double {
            requestUs + blockUs * Double(prompt / blockSize)
        }

        /// Whether any sequence is running (the next step follows the last one without idling).
        var anyRunning: Bool {
            @inline(__always) get {
                for r in 0..<dp where !running[r].isEmpty { return true }
                return false
            }
        }

        /// Whether any request is running or waiting.
        var hasWork: Bool {
            if !flights.isEmpty || !arrivals.isEmpty || hasPending { return true }
            for r in 0..<dp where !running[r].isEmpty || waitHead[r] < waiting[r].count { return true }
            return false
        }

        /// Runs the whole workload.
        // The per-sequence state is reached through one unsafe buffer for the whole loop: element access on the
        // array itself pays a uniqueness check per read and write, which dominated the step cost.
        mutating func runToEnd() throws {
            var local = seqs
            seqs = []
            defer { seqs = local }
            try local.withUnsafeMutableBufferPointer { sq in
                while completed < n { try step(sq) }
            }
            try checkFinite()
        }

        /// A step priced at an infinite or undefined time (a profile curve that extrapolates so) ends the run, alone or
        /// in a cluster, with an error naming the deployment, not a result built on it.
        func checkFinite() throws {
            guard lastCompletion.isFinite, clock.now.isFinite else {
                throw InputError.data("the simulation of \(d.model.name) on \(d.plan.gpuCount)x \(d.gpu.name) [\(d.plan.vllmFlags)] priced a step at a non-finite time; a kernel or collective curve of its profiles extrapolates to infinity for this step's size")
            }
        }

        /// Driven: request `i` reaches this instance at `t` (microseconds).
        mutating func submit(_ i: Int, at t: Double) {
            seqs[i].send = t
            arrivals.append((i, t + receiveUs))
        }

        /// Driven: the submitted requests the engine core has received by the time it schedules (their send plus the
        /// receipt latency, by the admission cutoff of async scheduling), in the order they came; an idle core waits
        /// for the first and then its wake-up, and takes what has come meanwhile.
        mutating func admitArrivals(_ sq: UnsafeMutableBufferPointer<Seq>) {
            guard !arrivals.isEmpty else { return }
            let busy = anyRunning || !flights.isEmpty
            var idle = !busy
            for r in 0..<dp where waitHead[r] < waiting[r].count { idle = false }
            // Idle: it schedules idle_wake_us after its first receipt; until then the driver may submit more, so the
            // core asks to be woken then (or earlier by a new request, which re-arms the same deadline).
            if idle, case let due = arrivals.map(\.ready).min()! + idleWakeUs, due > clock.now { wakeAt = due; return }
            let cutoff = clock.admissionCutoff(busy: anyRunning)
            var keep: [(i: Int, ready: Double)] = []
            for a in arrivals {
                guard a.ready <= cutoff else { keep.append(a); continue }
                clock.pendingHostUs += intakeUs(a.i)
                let best = leastLoadedRank()
                sq[a.i].rank = best
                waiting[best].append(a.i)
            }
            arrivals = keep
        }

        // Read-only helpers of the step are inlined: called from a mutating method, a call would copy the whole
        // engine state (several kilobytes) to pass it.

        /// The DP rank with the fewest running and waiting requests, lowest index on ties.
        @inline(__always)
        func leastLoadedRank() -> Int {
            var best = 0, bestLoad = Int.max
            for r in 0..<dp {
                let load = running[r].count + waiting[r].count - waitHead[r]
                if load < bestLoad { bestLoad = load; best = r }
            }
            return best
        }

        /// Driven: one engine step (the caller checks `hasWork` first).
        mutating func stepOnce() throws {
            finishedNow.removeAll(keepingCapacity: true)
            var local = seqs
            seqs = []
            defer { seqs = local }
            try local.withUnsafeMutableBufferPointer { sq in try step(sq) }
            try checkFinite()
        }

        /// One pass of the scheduler: sends due requests, then runs one step (or a stretch of pure decode steps).
        mutating func step(_ sq: UnsafeMutableBufferPointer<Seq>) throws {
            // Constants of the run as locals: held in registers, not reloaded through `self` after every store.
            let pc = self.pc, specK = self.specK, driven = self.driven, n = self.n, dp = self.dp
            let blockSize = self.blockSize, totalBlocks = self.totalBlocks
            if driven { admitArrivals(sq) } else { sendDue(sq) }
            if pp > 1 { try pipelineStep(sq); return }
            var anyWork = false
            for r in 0..<dp where !running[r].isEmpty || waitHead[r] < waiting[r].count { anyWork = true }
            if !anyWork { try idle(); return }
            // Fast path: while every running sequence is decoding, none needs a new KV block, none finishes and
            // nothing is waiting or due to be sent, consecutive steps differ only in their KV context. Run them
            // without per-sequence scheduling; the step costs, random draws and metrics are exactly the slow path's.
            // (Not with sliding-window layers: a sequence's blocks are not all full-attention ones there, which the
            // stretch's block count below assumes.)
            if sim.fastDecode && !driven && specK == 0 && dp == 1 && swWindow == 0 && waitHead[0] == waiting[0].count && !running[0].isEmpty {
                var k = Int.max
                var ctx = 0.0
                for s in running[0] {
                    let c = sq[s].computed
                    guard sq[s].generated > 0, c >= sq[s].prompt, c + 1 == sq[s].prompt + sq[s].generated else { k = 0; break }
                    k = min(k, sq[s].output - sq[s].generated - 1)
                    ctx += Double(c + 1)
                }
                // KV blocks the stretch takes, step by step (a sequence crossing a block boundary takes one); if
                // they all fit, no step of the stretch can preempt.
                var newBlocksAt: [Int] = []
                if k >= 2 {
                    newBlocksAt = Array(repeating: 0, count: k + 1)
                    var total = 0
                    for s in running[0] {
                        var j = sq[s].blocks * blockSize - sq[s].computed + 1
                        while j <= k { newBlocksAt[j] += 1; total += 1; j += blockSize }
                    }
                    if total > freeBlocks[0] { k = 0 }
                }
                if k >= 2 {
                    let seqsN = running[0].count
                    var b = BatchShape()
                    b.tokens = seqsN; b.sequences = seqsN; b.decodeSequences = seqsN; b.logitsRows = seqsN; b.decodeContext = ctx
                    if pc {
                        // The shared prefix blocks each decode holds stay the same over the stretch.
                        for s in running[0] { noteSharedDecode(sq, s) }
                        takeSharedDecodes(into: &b)
                    }
                    let due: Double? = (nextToSend < n && slotHead < freeSlots.count) ? sendTime(nextToSend) + receiveUs : nil
                    var usedBlocks = totalBlocks - freeBlocks[0]
                    var done = 0, prevDeliver = 0.0, prevEnd = 0.0, delivered = 0
                    let padded = clock.paddedTokens(seqsN)
                    firstUseStall(tokens: seqsN, uniformDecode: true)
                    while done < k {
                        if let t = due, t <= clock.admissionCutoff(busy: true) { break }
                        batches[0] = b
                        batches[0].tokens = padded
                        usedBlocks += newBlocksAt[done + 1]
                        decodeReads += b.decodeContext; sharedReads += b.decodeSharedContext
                        let start = clock.now
                        let gpuStep = cost.stepCost(batches, pick: &pick)
                        let end = clock.advance(gpuStep, maxTokens: seqsN, maxSequences: seqsN, uniformDecode: true,
                                                kvUsage: Double(usedBlocks) / Double(totalBlocks), emitted: seqsN, deferred: deferOutputs,
                                                computeShare: clock.power.share(cost, batches, gpu: gpuStep))
                        // The tokens of the step before (async scheduling: out once this step is launched), or this
                        // step's own.
                        var deliver = end
                        if deferOutputs {
                            if done == 0 { flushPending(sq, at: start + clock.lastHost); prevEnd = end; done += 1; b.decodeContext += Double(seqsN); continue }
                            deliver = clock.stream(at: max(prevEnd, start + clock.lastHost) + clock.outputLatencyUs, emitted: seqsN)
                            prevEnd = end
                        }
                        if delivered == 0 {
                            for s in running[0] {
                                let x = (deliver - sq[s].lastToken) / 1e3
                                itl.append(x)
                                if detailed { reqITL[s].append(x) }
                            }
                        } else {
                            itl.append((deliver - prevDeliver) / 1e3, count: seqsN)
                            if detailed { for s in running[0] { reqITL[s].append((deliver - prevDeliver) / 1e3) } }
                        }
                        if tokenInstants != nil, !tokenInstants!.add(deliver, count: seqsN) { tokenInstants = nil }
                        prevDeliver = deliver
                        delivered += 1
                        b.decodeContext += Double(seqsN)
                        done += 1
                    }
                    if done > 0 {
                        for s in running[0] {
                            sq[s].computed += done; sq[s].generated += done
                            if delivered > 0 { sq[s].lastToken = prevDeliver }
                            let blocks = blocksFor(sq[s].computed)
                            freeBlocks[0] -= blocks - sq[s].blocks
                            sq[s].blocks = blocks
                        }
                        if deferOutputs {
                            // The stretch's last tokens wait for the next step's launch.
                            hasPending = true; pendEnd = prevEnd; pendEmitted = seqsN
                            pendSeqs.append(contentsOf: running[0]); pendRanks.append(contentsOf: repeatElement(0, count: seqsN))
                        }
                        return
                    }
                }
            }
            let totalNew = scheduleRanks(sq)
            if totalNew == 0 && hasPending {
                // Nothing to launch: the engine core takes the last step's output as soon as it is done.
                flushPending(sq, at: pendEnd)
                return
            }
            if totalNew == 0 {
                throw InputError.data("the scheduler could not place any request: the KV cache (\(mem.kvTokens) tokens per DP rank) is too small for the waiting prompts")
            }
            // Step time, then the outputs: tokens sampled this step, streamed by the API server.
            let (maxTokens, maxSequences) = largestBatch
            var uniformDecode = true, withDecodes = false
            for r in 0..<dp {
                if batches[r].prefillSequences > 0 { uniformDecode = false }
                if batches[r].decodeSequences > 0 { withDecodes = true }
            }
            padForGraphs(maxTokens: maxTokens, uniformDecode: uniformDecode)
            firstUseStall(tokens: maxTokens, uniformDecode: uniformDecode)
            var gpuStep = cost.stepCost(batches, pick: &pick)
            if specK > 0 {
                // The drafts: k forwards of the draft model, or of one target layer for EAGLE/MTP heads.
                var any = false
                for r in 0..<dp where !draftBatches[r].isEmpty { any = true }
                if any {
                    if let dc = draftCost {
                        gpuStep += dc.stepCost(draftBatches, pick: &draftPick).scaled(Double(specK))
                    } else if spec!.method != .ngram {
                        gpuStep += cost.stepCost(draftBatches, pick: &draftPick).scaled(Double(specK) / Double(d.model.layers))
                    }
                }
            }
            let start = clock.now
            let deliver = clock.advance(gpuStep, maxTokens: maxTokens, maxSequences: maxSequences, uniformDecode: uniformDecode,
                                        withDecodes: withDecodes, kvUsage: kvUsage, emitted: emitted, deferred: deferOutputs,
                                        computeShare: clock.power.share(cost, batches, gpu: gpuStep))
            if deferOutputs {
                // The last step's tokens go out now that this one is launched; this step's wait for the next.
                flushPending(sq, at: start + clock.lastHost)
                hasPending = true; pendEnd = deliver; pendEmitted = emitted
            }
            for r in 0..<dp {
                var finished = false
                for i in rankStart[r]..<rankStart[r + 1] {
                    let s = schedSeq[i]
                    if specK > 0 && schedAccept[i] >= 0 {
                        // Verified: the accepted drafts and the target's token are kept; rejected drafts' KV is not.
                        let m = schedAccept[i]
                        sq[s].computed += m + 1
                        sq[s].generated += m + 1
                    } else {
                        sq[s].computed += schedWant[i]
                        guard sq[s].computed == sq[s].prompt + sq[s].generated else {
                            if pc { caches[r].register(&sq[s], request: reqs[s], index: s, blockSize: blockSize) }
                            continue
                        }
                        sq[s].generated += 1
                    }
                    if pc { caches[r].register(&sq[s], request: reqs[s], index: s, blockSize: blockSize) }
                    if deferOutputs { pendSeqs.append(s); pendRanks.append(r) }
                    else if emit(sq, s, rank: r, at: deliver) { finished = true }
                }
                if finished { running[r].removeAll { sq[$0].computed < 0 } }
            }

        }

        /// Client: sends every request whose arrival has come and that has a free concurrency slot.
        @inline(__always)
        mutating func sendDue(_ sq: UnsafeMutableBufferPointer<Seq>) {
            let n = self.n
            let cutoff = clock.admissionCutoff(busy: anyRunning)
            while !driven, nextToSend < n, slotHead < freeSlots.count {
                let t = sendTime(nextToSend)
                if t + receiveUs > cutoff { break }
                slotHead += 1
                let i = nextToSend
                nextToSend += 1
                // Offline, the call's hand-over is the engine's: latencies count from the call.
                if handOverUs.isEmpty { clock.pendingHostUs += intakeUs(i); sq[i].send = t } else { sq[i].send = t - handOverUs[i] }
                let best = leastLoadedRank()
                sq[i].rank = best
                waiting[best].append(i)
            }
        }

        /// Nothing to run: the clock moves to when the idle engine core schedules the next request the client can send
        /// (its receipt, then the core's wake-up: `inputLatencyUs` after the send).
        mutating func idle() throws {
            if driven { return }
            guard nextToSend < n, slotHead < freeSlots.count else {
                throw InputError.data("the simulation stalled with \(n - completed) requests unfinished (no request can be sent)")
            }
            clock.now = max(clock.now, sendTime(nextToSend) + inputLatencyUs)
        }

        /// Prefix caching: notes decode sequence `s` if it reads blocks of a shared prefix that it holds as references
        /// (the cache's one copy; a request that computed the prefix beside the first holds its own copy past `refs`).
        @inline(__always)
        mutating func noteSharedDecode(_ sq: UnsafeMutableBufferPointer<Seq>, _ s: Int) {
            guard reqs[s].prefixKey != 0, sq[s].refs > 0 else { return }
            let held = min(sq[s].refs, PrefixCache.sharedBlocks(reqs[s], blockSize: blockSize))
            guard held > 0 else { return }
            let key = reqs[s].prefixKey
            if let g = shareIndex[key] {
                shareGroups[g].blocks += held; shareGroups[g].most = max(shareGroups[g].most, held); shareGroups[g].readers += 1
            } else {
                shareIndex[key] = shareGroups.count
                shareGroups.append((key, held, held, 1))
            }
        }

        /// Sets the noted decodes' `decodeSharedContext` and `decodeSharedReaders` on their batch: every reader of a
        /// block after the first finds it in L2. Clears the notes.
        mutating func takeSharedDecodes(into b: inout BatchShape) {
            guard !shareGroups.isEmpty else { return }
            var tokens = 0, readers = 0
            for g in shareGroups { tokens += g.blocks - g.most; readers += g.readers - 1 }
            shareGroups.removeAll(keepingCapacity: true)
            shareIndex.removeAll(keepingCapacity: true)
            b.decodeSharedContext = Double(tokens * blockSize); b.decodeSharedReaders = readers
        }

        /// Schedules every DP rank's next batch into `batches` and `schedSeq`/`schedWant` (vLLM's V1 scheduler);
        /// returns the tokens scheduled.
        @inline(__always)
        mutating func scheduleRanks(_ sq: UnsafeMutableBufferPointer<Seq>) -> Int {
            let pc = self.pc, specK = self.specK, dp = self.dp
            let blockSize = self.blockSize, budgetTokens = self.budgetTokens, maxSeqs = self.maxSeqs
            // Schedule every DP rank.
            var totalNew = 0
            schedSeq.removeAll(keepingCapacity: true); schedWant.removeAll(keepingCapacity: true)
            if specK > 0 { schedAccept.removeAll(keepingCapacity: true) }
            emitted = 0
            for r in 0..<dp {
                rankStart[r] = schedSeq.count
                if specK > 0 { draftBatches[r] = BatchShape() }
                // The rank's queues, free blocks and batch as locals for the loops (written back below): through the
                // engine's nested arrays every write paid a uniqueness check.
                var run = running[r], wait = waiting[r]
                running[r] = []; waiting[r] = []
                var head = waitHead[r], free = freeBlocks[r]
                var batch = BatchShape()
                defer {
                    running[r] = run; waiting[r] = wait
                    waitHead[r] = head; freeBlocks[r] = free
                    batches[r] = batch
                }
                var budget = budgetTokens
                var preempted = false
                var idx = 0
                while idx < run.count && budget > 0 {
                    let s = run[idx]
                    // A sequence whose last token is still in the engine core's output is done (async scheduling).
                    if sq[s].generated >= sq[s].output { idx += 1; continue }
                    var want = min(sq[s].prompt + sq[s].generated - sq[s].computed, budget)
                    if want <= 0 { idx += 1; continue }
                    // Speculative decoding: a decoding sequence verifies up to k drafts (no more than it has
                    // tokens left to generate) in one forward of 1 + drafts tokens.
                    let isSpec = specK > 0 && want == 1 && sq[s].generated > 0 && sq[s].computed >= sq[s].prompt
                    if isSpec { want = min(1 + min(specK, sq[s].output - sq[s].generated - 1), budget) }
                    let need = blocksFor(sq[s].computed + want, new: want) - sq[s].blocks
                    var ok = true
                    while need > free {
                        // Preempt the newest running request (recompute later).
                        // The newest sequence that is not done (a done one leaves with its pending output).
                        var vi = run.count - 1
                        while vi > 0 && sq[run[vi]].generated >= sq[run[vi]].output { vi -= 1 }
                        let victim = run.remove(at: vi)
                        if pc {
                            free += caches[r].releaseAll(&sq[victim], request: reqs[victim], index: victim, blockSize: blockSize)
                        } else {
                            free += sq[victim].blocks
                        }
                        sq[victim].blocks = 0; sq[victim].computed = 0; sq[victim].kvLoaded = false; sq[victim].busy = false
                        preemptions += 1; preempted = true
                        if head > 0 { head -= 1; wait[head] = victim } else { wait.insert(victim, at: 0) }
                        if victim == s { ok = false; break }
                    }
                    if !ok { break }
                    free -= need; sq[s].blocks += need
                    // A running prompt's next chunk: its full blocks cached at allocation, as for a new request's.
                    if pc && sq[s].computed < sq[s].prompt { caches[r].register(&sq[s], request: reqs[s], index: s, blockSize: blockSize, filled: min(sq[s].computed + want, sq[s].prompt)) }
                    schedSeq.append(s); schedWant.append(want); budget -= want
                    let decodesBefore = batch.decodeSequences
                    if isSpec {
                        // Draw how many drafts the target accepts now: the step emits them plus its own token.
                        let m = spec!.drawAccepted(want - 1, rng: &acceptRNG)
                        schedAccept.append(m)
                        emitted += m + 1
                        specSteps += 1; specProposed += want - 1; specAccepted += m
                        batch.addVerify(context: sq[s].computed, drafts: want - 1)
                        draftBatches[r].addDecode(context: sq[s].computed)
                    } else {
                        if specK > 0 { schedAccept.append(-1) }
                        VLLMSimulator.addToBatch(&batch, computed: sq[s].computed, prompt: sq[s].prompt, generated: sq[s].generated, want: want, emitted: &emitted, kvLoaded: sq[s].kvLoaded)
                    }
                    // A decode (or a verify) of a sequence behind a shared prefix.
                    if pc && batch.decodeSequences > decodesBefore { noteSharedDecode(sq, s) }
                    idx += 1
                }
                if !preempted {
                    while head < wait.count && run.count < maxSeqs && budget > 0 {
                        let s = wait[head]
                        // Prefix caching: the leading blocks already cached are not computed again (at least
                        // the last known token is, to sample from it).
                        var hits = 0, revived = 0
                        if pc && sq[s].computed == 0 {
                            caches[r].evict(toFit: free)
                            (hits, revived) = caches[r].peek(reqs[s], index: s, maxBlocks: (sq[s].prompt + sq[s].generated - 1) / blockSize, blockSize: blockSize)
                        }
                        let base = hits > 0 ? hits * blockSize : sq[s].computed
                        // Without chunked prefill vLLM stops admitting at the first prompt that does not fit whole.
                        if !chunked && sq[s].prompt + sq[s].generated - base > budget { break }
                        let want = min(sq[s].prompt + sq[s].generated - base, budget)
                        let need = blocksFor(base + want, new: want) - sq[s].blocks - hits
                        if need + revived > free { break }
                        head += 1
                        if pc && sq[s].computed == 0 {
                            caches[r].queriedTokens += sq[s].prompt + sq[s].generated
                            caches[r].hitTokens += hits * blockSize
                            if hits > 0 {
                                caches[r].acquire(reqs[s], index: s, blocks: hits, blockSize: blockSize)
                                free -= revived
                                sq[s].blocks = hits; sq[s].refs = hits; sq[s].computed = base
                            }
                        }
                        free -= need; sq[s].blocks += need
                        // The chunk's full blocks are cached as they are allocated: a request admitted after this one
                        // in the same step finds the prefix they hold (vLLM's allocate_slots).
                        if pc { caches[r].register(&sq[s], request: reqs[s], index: s, blockSize: blockSize, filled: sq[s].computed + want) }
                        run.append(s)
                        schedSeq.append(s); schedWant.append(want); budget -= want
                        if specK > 0 { schedAccept.append(-1) }
                        let decodesBefore = batch.decodeSequences
                        VLLMSimulator.addToBatch(&batch, computed: sq[s].computed, prompt: sq[s].prompt, generated: sq[s].generated, want: want, emitted: &emitted, kvLoaded: sq[s].kvLoaded)
                        // A resumed request with only its last token to compute decodes.
                        if pc && batch.decodeSequences > decodesBefore { noteSharedDecode(sq, s) }
                    }
                    if head > 1024 && head * 2 > wait.count {
                        wait.removeFirst(head); head = 0
                    }
                }
                takeSharedDecodes(into: &batch)
                decodeReads += batch.decodeContext; sharedReads += batch.decodeSharedContext
                totalNew += batch.tokens
            }
            rankStart[dp] = schedSeq.count
            return totalNew
        }

        /// Sequence `s` of DP rank `r` got a token that reached the client at `deliver`: TTFT or ITL, and when it was
        /// the last, its blocks freed and its latencies recorded. Returns whether it finished (marked computed = -1
        /// for removal from `running`).
        @inline(__always)
        mutating func emit(_ sq: UnsafeMutableBufferPointer<Seq>, _ s: Int, rank r: Int, at deliver: Double) -> Bool {
            let pc = self.pc, blockSize = self.blockSize
            if sq[s].firstToken < 0 {
                sq[s].firstToken = deliver
                ttft.append((deliver - sq[s].send) / 1e3)
            } else {
                itl.append((deliver - sq[s].lastToken) / 1e3)
                if detailed { reqITL[s].append((deliver - sq[s].lastToken) / 1e3) }
            }
            sq[s].lastToken = deliver
            if tokenInstants != nil, !tokenInstants!.add(deliver) { tokenInstants = nil }
            if sq[s].generated >= sq[s].output {
                if pc {
                    freeBlocks[r] += caches[r].releaseAll(&sq[s], request: reqs[s], index: s, blockSize: blockSize)
                } else {
                    freeBlocks[r] += sq[s].blocks
                }
                sq[s].blocks = 0
                sq[s].computed = -1 // marks finished for removal below
                completed += 1
                let e = (deliver - sq[s].send) / 1e3
                e2el.append(e)
                if sq[s].output > 1 { tpot.append((e - (sq[s].firstToken - sq[s].send) / 1e3) / Double(sq[s].output - 1)) }
                if driven { finishedNow.append((s, deliver)) } else { freeSlots.append(deliver) }
                lastCompletion = max(lastCompletion, deliver)
                if let p = sim.progress, completed % progressEvery == 0 { p(Double(completed) / Double(n)) }
            }
            return sq[s].computed < 0
        }


        /// The previous step's tokens leave the engine core at `t` (the step's end, or once the next step is
        /// launched, whichever is later), then pass the output latency and the front end's per-token queue.
        mutating func flushPending(_ sq: UnsafeMutableBufferPointer<Seq>, at t: Double) {
            guard hasPending else { return }
            hasPending = false
            let deliver = clock.stream(at: max(t, pendEnd) + clock.outputLatencyUs, emitted: pendEmitted)
            var finished = false
            for (s, r) in zip(pendSeqs, pendRanks) where emit(sq, s, rank: r, at: deliver) { finished = true }
            if finished { for r in 0..<dp { running[r].removeAll { sq[$0].computed < 0 } } }
            pendSeqs.removeAll(keepingCapacity: true); pendRanks.removeAll(keepingCapacity: true)
        }

        // MARK: pipeline parallelism

        /// One pass of the engine core with PP > 1 (vLLM's `step_with_batch_queue`): while fewer than PP batches are
        /// in flight and something can be scheduled, schedule and launch a batch (and take the oldest batch's tokens
        /// at once if it has already finished); otherwise wait for the oldest batch and take its tokens. A sequence whose token is in flight is not scheduled again until it returns
        /// (its computed tokens already count the batch); prompt chunks that sample nothing can follow each other.
        mutating func pipelineStep(_ sq: UnsafeMutableBufferPointer<Seq>) throws {
            var anyWork = !flights.isEmpty
            for r in 0..<dp where !running[r].isEmpty || waitHead[r] < waiting[r].count { anyWork = true }
            if !anyWork { try idle(); return }
            if flights.count < pp {
                if scheduleRanks(sq) > 0 {
                    launch(sq)
                    // vLLM (0.11 on) takes a finished batch's output before scheduling again.
                    if let first = flights.first, first.done <= clock.now { complete(sq) }
                    return
                }
                // Nothing to schedule until a batch returns: a request that arrives before then comes first.
                if let first = flights.first, first.done > clock.now {
                    if driven { wakeAt = min(first.done, arrivals.map(\.ready).min() ?? .infinity); return }
                    if nextToSend < n, slotHead < freeSlots.count {
                        let due = sendTime(nextToSend) + receiveUs
                        if due < first.done { clock.now = max(clock.now, due); return }
                    }
                }
            }
            guard !flights.isEmpty else {
                throw InputError.data("the scheduler could not place any request: the KV cache (\(mem.kvTokens) tokens per DP rank) is too small for the waiting prompts")
            }
            complete(sq)
        }

        /// Hands the scheduled batch to the pipeline: its computed tokens advance now; the sequences it samples a
        /// token for wait for it.
        mutating func launch(_ sq: UnsafeMutableBufferPointer<Seq>) {
            let (maxTokens, maxSequences) = largestBatch
            let whole = cost.stepCost(batches, pick: &pick)
            var f = Flight(done: 0)
            f.emitted = emitted
            for r in 0..<dp {
                for i in rankStart[r]..<rankStart[r + 1] {
                    let s = schedSeq[i]
                    sq[s].computed += schedWant[i]
                    if pc { caches[r].register(&sq[s], request: reqs[s], index: s, blockSize: blockSize) }
                    if sq[s].computed == sq[s].prompt + sq[s].generated {
                        sq[s].busy = true
                        sq[s].flight &+= 1
                        f.seqs.append(s); f.ranks.append(r); f.launches.append(sq[s].flight)
                    }
                }
            }
            f.done = clock.launch(whole, stages: cost.pipelineStages(whole), sends: cost.stageSendUs(tokens: maxTokens), eagerHostUs: stageEagerHostUs,
                                  maxTokens: maxTokens, maxSequences: maxSequences, kvUsage: kvUsage)
            flights.append(f)
        }

        /// The oldest batch leaves the last stage: its tokens are streamed and recorded.
        mutating func complete(_ sq: UnsafeMutableBufferPointer<Seq>) {
            let f = flights.removeFirst()
            clock.now = max(clock.now, f.done)
            let deliver = clock.stream(at: f.done, emitted: f.emitted)
            var finished = false
            for k in f.seqs.indices {
                let s = f.seqs[k]
                // A sequence preempted while its token was in flight recomputes it later.
                guard sq[s].busy && sq[s].flight == f.launches[k] else { continue }
                sq[s].busy = false
                sq[s].generated += 1
                if emit(sq, s, rank: f.ranks[k], at: deliver) { finished = true }
            }
            if finished { for r in 0..<dp { running[r].removeAll { sq[$0].computed < 0 } } }
            clock.markKV(kvUsage)
        }

        /// A step of `tokens` tokens that runs without CUDA graphs and meets a kernel the engine has not compiled
        /// waits for the compile (`FirstUse`), charged to the next `clock.advance`.
        mutating func firstUseStall(tokens: Int, uniformDecode: Bool) {
            guard firstUse != nil, clock.graphMode(maxTokens: tokens, uniformDecode: uniformDecode) == .none else { return }
            clock.pendingStallUs = firstUse!.stall(tokens: tokens, cost: cost)
        }

        /// A step replayed from CUDA graphs computes every rank's batch padded to the capture size of the largest, an
        /// idle DP rank's dummy batch too (vLLM's `coordinate_batch_across_dp` pads every rank to the largest when the
        /// ranks' synced graph mode is not NONE), so that rank's tokens join every MoE layer's exchange.
        @inline(__always)
        mutating func padForGraphs(maxTokens: Int, uniformDecode: Bool) {
            guard clock.padding, clock.graphMode(maxTokens: maxTokens, uniformDecode: uniformDecode) != .none else { return }
            let target = clock.paddedTokens(maxTokens)
            for r in 0..<dp { batches[r].tokens = target }
        }

        /// The scheduled step's largest DP rank: its tokens and its sequences (the step waits for it).
        var largestBatch: (tokens: Int, sequences: Int) {
            @inline(__always) get {
                var t = 0, q = 0
                for r in 0..<dp { t = max(t, batches[r].tokens); q = max(q, batches[r].sequences) }
                return (t, q)
            }
        }

        /// The share of every DP rank's KV blocks in use.
        var kvUsage: Double {
            @inline(__always) get {
                var used = 0
                for r in 0..<dp { used += totalBlocks - freeBlocks[r] }
                return Double(used) / Double(totalBlocks * dp)
            }
        }

        func result() -> RunResult {
            let duration = lastCompletion / 1e6
            var result = RunResult(
                durationS: duration, completed: n, totalInputTokens: sim.workload.totalInputTokens, totalOutputTokens: sim.workload.totalOutputTokens,
                ttftMs: Summary(ttft), tpotMs: Summary(tpot), itlMs: Summary(itl), e2elMs: Summary(e2el),
                gpus: d.plan.gpuCount, steps: clock.steps, breakdownUs: clock.breakdown.scaled(1 / Double(max(clock.steps, 1))),
                preemptions: preemptions, kvCapacityTokens: VLLMSimulator.reportedKVCacheTokens(d, mem: mem), peakKVUsage: clock.peakKV,
                meanKVUsage: clock.now > 0 ? clock.kvUsageTime / clock.now : 0, gpuBusyFraction: lastCompletion > 0 ? clock.busy / lastCompletion : 0, seed: sim.seed)
            result.offline = d.usageContext == .offline
            result.samples = RunResult.Samples(ttftMs: ttft, tpotMs: tpot, itlMs: itl, e2elMs: e2el)
            result.perRequest = RunResult.PerRequest(inputLens: reqs.map(\.inputTokens), outputLens: reqs.map(\.outputTokens),
                                                     ttftMs: seqs.map { ($0.firstToken - $0.send) / 1e3 }, e2elMs: seqs.map { ($0.lastToken - $0.send) / 1e3 },
                                                     sendMs: seqs.map { $0.send / 1e3 }, itlsMs: detailed ? reqITL : nil)
            result.peaks = tokenInstants.map { RunResult.Peaks(sendUs: seqs.map(\.send), endUs: seqs.map(\.lastToken), tokens: [$0]) }
            if let log = clock.log { result.timeline = RunResult.Timeline(steps: log, droppedSteps: clock.dropped) }
            if !cost.derivedCollectives.isEmpty {
                result.notes.append("no measured curve on \(d.interconnect?.name ?? "this interconnect"): \(cost.derivedCollectives.sorted().joined(separator: "; "))")
            }
            for x in cost.assumptions.sorted() { result.notes.append("estimate: " + x) }
            for x in cost.sourceSummary() { result.timeSources[x.component] = x.sources.map(\.rawValue).joined(separator: ", ") }
            result.kernelTables = cost.kernelTablesLabel
            result.notes.append("kernel times: " + cost.sourceSummary().map { "\($0.component) \($0.sources.map(\.rawValue).joined(separator: "/"))" }.joined(separator: "; ")
                                + (cost.kernelTablesLabel.map { " (measured vLLM kernel tables: \($0))" } ?? " (no measured vLLM kernel tables for this GPU and engine)"))
            if pc {
                var hit = 0, queried = 0, ev = 0
                for c in caches { hit += c.hitTokens; queried += c.queriedTokens; ev += c.evictions }
                result.prefixCache = PrefixCacheStats(queriedTokens: queried, hitTokens: hit, evictedBlocks: ev)
            }
            if let sp = spec {
                result.speculative = SpeculativeStats(config: sp.description, verifySteps: specSteps, proposedDrafts: specProposed, acceptedDrafts: specAccepted,
                                                      expectedTokensPerStep: sp.expectedTokensPerStep())
            }
            if pp > 1 {
                let layers = d.plan.stageLayerRanges(layers: d.model.layers).map { String($0.count) }.joined(separator: "/")
                result.notes.append("pipeline parallelism: \(pp) stages of \(layers) layers, up to \(pp) batches in flight (vLLM's batch queue); a sequence whose token is in flight waits for it; the engine's per-step overhead is paid once per batch on the engine core while the stages compute; stage hand-over = hidden states + residual over send/recv. The stage recurrence was checked against a measured two-stage pipeline (2x H200, README); vLLM's scheduling rule and per-batch overhead are read from its code, not measured on a vLLM PP run")
            }
            result.notes.append("routing: \(d.routing)\(d.routing == .uniform ? " (each token's experts drawn uniformly at random; trained models route with skew. vLLM's dummy weights, recorded on an H200, route Mixtral, OLMoE and Qwen3-30B-A3B close to uniformly, Qwen1.5-MoE with skew, and every token of DeepSeek-V2 or gpt-oss to the same few experts: experiments/vllm-h200/*-dummy-routing.json)" : "")")
            if d.model.kvGroupKinds?.full == 0 {
                result.notes.append("KV cache: every layer attends through a \(d.model.slidingWindow)-token sliding window and a sequence keeps only its window's blocks (one KV cache group of sliding-window layers, as vLLM 0.24 keeps it); kv_cache_capacity_tokens is the size vLLM logs: max-model-len (\(d.maxLen)) requests at peak, each holding its window plus one batch")
            }
            if let g = d.model.kvCacheGroups {
                result.notes.append("KV cache: \(d.model.slidingLayers) of \(d.model.layers) layers attend through a \(d.model.slidingWindow)-token sliding window and keep only its blocks (vLLM's hybrid KV cache manager, \(g.full + g.sliding) groups of \(g.size) layers); kv_cache_capacity_tokens is the size vLLM logs: max-model-len (\(d.maxLen)) requests at peak, each also holding its window plus one batch")
            }
            if let c = d.model.kvCacheCaveat { result.notes.append("KV cache: \(c)") }
            if let f = firstUse, f.stalls > 0 {
                let sizes = f.tokens.map(String.init).joined(separator: ", ") + (f.stalls > f.tokens.count ? ", ..." : "")
                let what = f.mxfp4 ? "a shape of the MXFP4 experts' Triton kernels (routing: token count rounded up to 32; the expert GEMMs: row tile and Triton's specialization of the token count and grid)" : "a fused-MoE kernel configuration"
                let gemms = f.matmulCompiles == 0 ? "no GEMM compiled"
                    : String(format: "mxfp4_matmul_first_use_us %.0f us for each of %d GEMM compile%@", f.matmulUs, f.matmulCompiles, f.matmulCompiles == 1 ? "" : "s")
                let cost = f.mxfp4 ? String(format: "mxfp4_routing_first_use_us %.0f us at this host for the routing kernels, %@", f.us, gemms)
                    : String(format: "moe_first_use_us %.0f us at this host%@", f.us, !f.perConfiguration ? " each" : " for the reference configuration, 128 x 128 x 64 tiles, times each configuration's measured compile time over it (profiles/kernels/vllm-0.24.0-fused-moe-compile.json)")
                result.notes.append(VLLMSimulator.firstUseNote + String(format: " %d step%@ without CUDA graphs (%@ tokens) needed %@ vLLM's start-up had not compiled and waited %.2f s in all for Triton to compile it (%@); a fresh engine pays this once per configuration (an engine that loaded vLLM's compiled model, and an eager one, skips what such engines on the host compiled before: Triton's cache on disk); give --warm-token-counts all for an engine warmed up at every size",
                                           f.stalls, f.stalls == 1 ? "" : "s", sizes, what, f.stallUs / 1e6, cost))
            }
            if clock.powerExtraUs > 0.001 * clock.busy, let r = d.gpu.sustainedMatmulRatio, let t = d.gpu.powerTimeConstantS {
                result.notes.append(String(format: "power limit: compute-bound steps ran up to %.1f%% slower than their kernel tables (timed in bursts) as the GPU stayed busy, %.1f%% of its busy time in all (the %@'s back-to-back matmul rate %.3f of its burst rate and time constant %.2f s, measured: docs/internals.md)",
                                           100 * (clock.powerMaxFactor - 1), 100 * clock.powerExtraUs / max(clock.busy, 1e-9), d.gpu.name, r, t))
            }
            if sharedReads > 0.01 * decodeReads {
                var mla = false
                if case .mla = d.model.attention { mla = true }
                let how = mla ? "priced as reads of their own: MLA's decode kernel has no measured ratio (shared_kv_read_ratio is FlashAttention's over GQA blocks; an assumption)"
                    : d.gpu.sharedKVReadRatio.map { String(format: "each such token costs %.2f of a token of its own (the %@'s shared_kv_read_ratio, measured: docs/internals.md)", $0, d.gpu.name) }
                    ?? "priced as reads of their own: the \(d.gpu.name)'s shared_kv_read_ratio was not measured (an assumption: the readers after the first find the blocks in L2, and vLLM's decode steps behind a shared prefix ran 0.73-1.00x such a prediction on H100s and H200s (OLMoE-1B-7B lowest, Mixtral-8x7B highest), docs/internals.md)"
                result.notes.append(String(format: "shared prefix: %.0f%% of the tokens decode steps read were blocks of a cached prefix another sequence of the step read first; %@",
                                           100 * sharedReads / decodeReads, how))
            }
            if firstUse != nil, d.usageContext == .offline, n > 1, reqs.allSatisfy({ $0.arrival.ns == 0 }) {
                // An assumption, said as one: which steps meet a new kernel turns on the first step's size.
                result.notes.append(VLLMSimulator.firstStepNote + " moesim schedules all \(n) requests at vLLM's first step; vLLM's holds only those its engine core has received when it first schedules (different every run: 3 or 4 at the median of the measured runs, at times all of them), which moves the later steps' sizes and which of them meet a kernel not yet compiled; `moesim run` reruns the prediction over the measured draw (its first-step draw note; not for vllm bench latency's batches), and --first-step-requests N replays a run whose first step is known (its step trace shows it)")
            }
            if d.hostSpeedS == nil && d.param("host_speed_reference_s") > 0 && d.param("host_speed_exponent") > 0 {
                // The host costs assume the profile's reference host: say so, and how to give one's own.
                result.notes.append(String(format: "host: engine profile %@'s reference host (probe/vllm/hostspeed.py's workload in %.3g s); steps without CUDA graphs wait for the host, so give yours with --host-speed (python3 probe/vllm/hostspeed.py --seconds 30: workload_geomean_s; the measured H200 hosts took 0.04-0.20 s)",
                                           d.engine.name, d.param("host_speed_reference_s")))
            }
            return result
        }
    }
}

extension RunResult {
    /// Whether the run waited for a first-use compile (its `VLLMSimulator.firstUseNote` note).
    public var waitedForFirstUse: Bool { notes.contains { $0.hasPrefix(VLLMSimulator.firstUseNote) } }
}
