import Foundation
import SimKit
import Cluster

/// A model, GPU type, interconnect, parallel plan, engine and routing: everything a run needs except requests.
public struct Deployment: Sendable {
    public var model: ModelArchitecture
    public var gpu: GPUProfile
    public var interconnect: InterconnectProfile?
    public var plan: ParallelPlan
    public var engine: EngineProfile
    public var routing: RoutingSpec
    public var placement: ExpertPlacement?
    /// Engine flag overrides (`--max-num-seqs`, ...), by engine parameter name.
    public var overrides: [String: Double]
    /// Nodes, GPUs per node and the network between them (one node unless the plan spans several).
    public var topology: ClusterTopology
    /// How vLLM is run: its server (`vllm serve`, benchmarked by a client) or its offline `LLM` class (every request
    /// submitted at once, as `vllm bench throughput` does). vLLM's defaults differ between the two.
    public var usageContext: UsageContext = .serve

    public enum UsageContext: String, Sendable, CaseIterable {
        case serve, offline
        /// vLLM's name (UsageContext in vllm/usage/usage_lib.py).
        public var vllmName: String { self == .serve ? "OPENAI_API_SERVER" : "LLM_CLASS" }
    }

    /// What the command line asked for that this deployment does differently or not at all, said on stderr by
    /// `run` and `explain` (e.g. max_num_seqs lowered to the token budget, as vLLM does; an interconnect profile whose
    /// curves the measured tables replace).
    public var notes: [String] = []

    /// vLLM 0.24's `--performance-mode`: `throughput` doubles the default batch limits, `interactivity` captures CUDA
    /// graphs at every size up to 32 tokens (less padding for small decode batches); `balanced` is the default.
    public var performanceMode: PerformanceMode = .balanced
    public enum PerformanceMode: String, Sendable, CaseIterable { case balanced, interactivity, throughput }

    /// What the engine ran before this run, for vLLM's first-use compiles of its Triton MoE kernels
    /// (`VLLMSimulator.FirstUse`): token counts of steps it already ran without CUDA graphs (an earlier run or a
    /// warm-up on the same engine, `--warm-token-counts`), or `allWarm` (`--warm-token-counts all`): every size ran
    /// before, as after a benchmark's warm-up over them, so no step of the run waits for a compile.
    public var warmTokenCounts: [Int] = []
    public var allWarm = false

    /// vLLM's `--no-enable-chunked-prefill`: a waiting prompt is scheduled only whole, within the step's token budget.
    public var chunkedPrefill: Bool { param("disable_chunked_prefill") < 0.5 }

    /// vLLM's `--max-model-len`: the longest request (prompt and output) the engine takes, and what its KV cache must
    /// hold one of; nil for the model's max_position_embeddings, vLLM's default.
    public var maxModelLen: Int? = nil
    /// The engine's max_model_len: `--max-model-len`, else the model's max_position_embeddings.
    public var maxLen: Int { maxModelLen ?? model.maxPositions }
    /// Where `maxLen` comes from, for messages.
    public var maxLenSource: String { maxModelLen.map { "max_model_len \($0)" } ?? "max_position_embeddings" }

    /// A speculative decoding draft model on the same GPUs: its weights and KV cache per GPU share the memory.
    public var draftMemory: DraftMemory? = nil
    /// vLLM 0.24 falls back to its first model runner for ngram and draft-model speculative decoding
    /// (`_get_v2_model_runner_unsupported_features`), whatever the architecture (`reserveGB`).
    public var vllmRunnerV1Forced = false
    public struct DraftMemory: Sendable {
        public var weightBytesPerGPU: Double, kvBytesPerTokenPerGPU: Double
        public init(weightBytesPerGPU: Double, kvBytesPerTokenPerGPU: Double) {
            self.weightBytesPerGPU = weightBytesPerGPU; self.kvBytesPerTokenPerGPU = kvBytesPerTokenPerGPU
        }
    }

    public init(model: ModelArchitecture, gpu: GPUProfile, interconnect: InterconnectProfile?, plan: ParallelPlan,
                engine: EngineProfile, routing: RoutingSpec = .uniform, placement: ExpertPlacement? = nil, overrides: [String: Double] = [:],
                topology: ClusterTopology? = nil) throws {
        try plan.validate(for: model)
        self.model = model; self.gpu = gpu; self.interconnect = interconnect; self.plan = plan
        self.engine = engine; self.routing = routing; self.overrides = overrides
        self.topology = topology ?? .singleNode(gpus: plan.gpuCount)
        self.placement = plan.expertParallel && model.moe != nil ? try (placement ?? Self.defaultPlacement(model: model, plan: plan)) : nil
    }

    /// The expert placement a deployment starts from when none is given: contiguous blocks of experts, or under EPLB
    /// the counts per GPU of any balanced packing (what memory sees; the run rebalances on its routing). Nil without
    /// expert parallelism. `plan` searches price their memory with the same placement.
    public static func defaultPlacement(model: ModelArchitecture, plan: ParallelPlan) throws -> ExpertPlacement? {
        guard plan.expertParallel, let moe = model.moe else { return nil }
        guard plan.eplb else { return .contiguous(experts: moe.experts, gpus: plan.stageGPUs, moeLayers: model.moeLayerCount) }
        try ExpertPlacement.checkEPLB(distinctLayers: 1, layers: model.moeLayerCount, experts: moe.experts, redundant: plan.redundantExperts)
        let uniform = Array(repeating: Array(repeating: 1.0, count: moe.experts), count: model.moeLayerCount)
        return .eplb(loads: uniform, experts: moe.experts, gpus: plan.stageGPUs, redundant: plan.redundantExperts)
    }

    /// An engine parameter, with command-line overrides applied; 0 for `max_num_seqs` or `max_num_batched_tokens`
    /// means vLLM's default for this GPU and usage context.
    public func param(_ key: String) -> Double {
        let v = overrides[key] ?? engine.value(key)
        if v == 0 && (key == "max_num_seqs" || key == "max_num_batched_tokens") { return vllmBatchDefault(key) }
        return v
    }

    /// This run's host speed (`--host-speed`, the override `host_speed_s`): the time of `probe/vllm/hostspeed.py`'s
    /// pure-Python workload on the host. A run setting, not a profile's: nil on the profile's reference host.
    public var hostSpeedS: Double? { overrides["host_speed_s"] }

    /// How the engine's host costs scale on this run's host: (hostSpeedS / host_speed_reference_s)^host_speed_exponent;
    /// 1 on the reference host, when no speed is given or when the profile states no reference; times the what-if
    /// factor of `--host-cost-scale` (the override `host_cost_scale`) when one is given.
    public var hostScale: Double {
        let whatIf = overrides["host_cost_scale"] ?? 1
        guard let s = hostSpeedS, s > 0 else { return whatIf }
        let ref = param("host_speed_reference_s")
        guard ref > 0 else { return whatIf }
        return pow(s / ref, param("host_speed_exponent")) * whatIf
    }

    /// A host-cost parameter (microseconds of CPU work) on this run's host: `param(key)` times `hostScale`.
    public func hostParam(_ key: String) -> Double { param(key) * hostScale }

    /// vLLM 0.24's `EngineArgs.get_batch_defaults`: GPUs of at least 70 GiB other than the A100 ("Setting large
    /// max_num_batched_tokens for A100 reduces throughput", vLLM PR 17885) get 1024 sequences and 8192 batched tokens
    /// for the server, 16384 for the offline LLM; other GPUs 256 sequences and 2048 / 8192 tokens.
    /// With DeepEP's low-latency kernels between DP ranks (`ParallelConfig.use_batched_dp_moe`) the token budget's
    /// default is 256 (`DEFAULT_MAX_NUM_BATCHED_TOKENS_FOR_BATCHED_DP`). `--performance-mode throughput` doubles both
    /// defaults; without chunked prefill the budget is at least max_model_len (`_set_default_max_num_seqs_and_batched_tokens_args`).
    public func vllmBatchDefault(_ key: String) -> Double {
        let large = gpu.memoryBytes >= 70 * 1_073_741_824 && !gpu.name.lowercased().contains("a100")
        let twice: Double = performanceMode == .throughput ? 2 : 1
        if key == "max_num_seqs" { return (large ? 1024 : 256) * twice }
        let batchedDP = plan.expertParallel && plan.dataParallel > 1 && plan.all2allBackend == .deepepLowLatency
        var tokens: Double
        switch (large, usageContext) {
        case _ where batchedDP: tokens = 256
        case (true, .serve): tokens = 8192
        case (true, .offline): tokens = 16384
        case (false, .serve): tokens = 2048
        case (false, .offline): tokens = 8192
        }
        tokens *= twice
        if !chunkedPrefill { tokens = max(tokens, Double(maxLen)) }
        return tokens
    }

    public var kernelCost: KernelCost {
        KernelCost(gpu: gpu, computeEfficiency: param("compute_efficiency"), attentionEfficiency: param("attention_efficiency"),
                   moeBlockM: Int(param("moe_block_m")), expertFixedUs: param("moe_expert_fixed_us"), samplerBytesPerLogit: param("sampler_bytes_per_logit"),
                   tables: engine.kind == .vllm && param("measured_kernels") > 0 ? gpu.vllmKernels : nil)
    }

    /// The binding stage's plan (`stageMemoryPlans`; the stages' reserves differ, the sampler running on the last).
    public func memoryPlan() -> MemoryPlan { MemoryPlan.binding(of: stageMemoryPlans()) }

    func withDraft(_ m: MemoryPlan) -> MemoryPlan {
        guard let dr = draftMemory else { return m }
        var m = m
        m.draftWeightBytes = dr.weightBytesPerGPU
        m.kvBytesPerToken += dr.kvBytesPerTokenPerGPU
        return m
    }

    /// Each pipeline stage's GPU plan (one without PP); `memoryPlan()` is the one with the fewest KV blocks.
    public func stageMemoryPlans() -> [MemoryPlan] {
        MemoryPlan.stages(model: model, plan: plan, gpu: gpu, placement: placement, memoryUtilization: param("gpu_memory_utilization"),
                          reserveGB: reserveGB, blockSize: Int(param("block_size")), vllmLayout: engine.kind == .vllm).map { stage -> MemoryPlan in
            // Only the last pipeline stage runs the profiling sampler.
            guard plan.pipelineParallel > 1, stage.stage < plan.pipelineParallel - 1 else { return withDraft(stage) }
            var s = stage
            s.reserveBytes = reserveGB(sampler: false) * 1e9
            return withDraft(s)
        }
    }

    /// Memory kept off the KV cache per GPU: the engine's fixed reserve, plus (vLLM's memory profiling) the peak of
    /// its profiling run: a forward of max_num_batched_tokens tokens, then the sampler on the logits of
    /// min(max_num_batched_tokens, max_num_seqs) requests over the whole vocabulary (`_dummy_sampler_run`), whichever
    /// holds more: the forward's activations are freed before the sampler runs. vLLM 0.24's two model runners differ
    /// here (`ModelArchitecture.vllmModelRunnerV2`): the first runs the sampler with top-k and top-p (fp32 logits and
    /// their sort, `profile_sampler_bytes_per_logit`) and also keeps its CUDA graphs' estimated memory off the KV
    /// cache (in `activation_reserve_gb`); the second samples without them and estimates no graph memory
    /// (`v2_profile_sampler_bytes_per_logit`, `v2_runner_reserve_gb`).
    public var reserveGB: Double { reserveGB(sampler: true) }

    /// `reserveGB`, with or without the profiling sampler: vLLM runs it on the last pipeline stage only.
    public func reserveGB(sampler withSampler: Bool) -> Double {
        let base = param("activation_reserve_gb")
        guard engine.kind == .vllm, param("activation_profile") >= 0.5 else { return base }
        let v2 = model.vllmModelRunnerV2 && !vllmRunnerV1Forced && param("v2_runner_reserve_gb") > 0
        let tokens = param("max_num_batched_tokens")
        let forward = model.activationBytes(tokens: tokens, plan: plan)
        let perLogit = param(v2 ? "v2_profile_sampler_bytes_per_logit" : "profile_sampler_bytes_per_logit")
        let sampler = withSampler ? min(tokens, param("max_num_seqs")) * Double(model.vocab) * perLogit : 0
        return (v2 ? param("v2_runner_reserve_gb") : base) + max(forward, sampler) / 1e9
    }

    /// Builds the step cost model (seeded routing draws).
    public func costModel(seed: UInt64) throws -> StepCostModel {
        var routingModel: RoutingModel? = nil
        if let moe = model.moe {
            routingModel = try RoutingModel(spec: routing, experts: moe.experts, topK: moe.topK, layers: model.moeLayerCount, seed: seed)
        }
        var pl = placement
        if plan.eplb, let moe = model.moe, let r = routingModel {
            // EPLB rebalances from the observed routing: the expected load of each expert in each layer.
            let distinct = 1 + (1..<max(r.inclusion.count, 1)).filter { r.inclusion[$0] != r.inclusion[$0 - 1] }.count
            try ExpertPlacement.checkEPLB(distinctLayers: distinct, layers: model.moeLayerCount, experts: moe.experts, redundant: plan.redundantExperts)
            pl = .eplb(loads: r.inclusion, experts: moe.experts, gpus: plan.stageGPUs, redundant: plan.redundantExperts)
        }
        return try StepCostModel(model: model, plan: plan, kernels: kernelCost, interconnect: interconnect,
                                 routing: routingModel, placement: pl, seed: seed, topology: topology)
    }

    /// Where the collectives of `uses` (collective, GPUs) are priced from, in words (`StepCostModel.collectiveOriginText`
    /// with this deployment's measured tables and interconnect). One spanning nodes: the network between them and its
    /// pieces within a node (`ClusterTopology.collectiveUs`: an all-reduce is a reduce-scatter and an all-gather
    /// within each node around the network step; a send/recv crosses the network alone).
    public func collectiveOriginText(_ uses: [(Collective, Int)]) -> String {
        var intra: [(Collective, Int)] = [], across: [Collective] = []
        func add(_ c: Collective, _ p: Int) { if !intra.contains(where: { $0.0 == c && $0.1 == p }) { intra.append((c, p)) } }
        for (c, p) in uses {
            if topology.isMultiNode, p > topology.gpusPerNode, topology.network != nil {
                across.append(c)
                switch c {
                case .allReduce: add(.reduceScatter, topology.gpusPerNode); add(.allGather, topology.gpusPerNode)
                case .sendRecv: break
                default: add(c, topology.gpusPerNode)
                }
            } else { add(c, p) }
        }
        var parts: [String] = []
        if !across.isEmpty { parts.append(across.map(\.rawValue).joined(separator: " and ") + " across nodes over \(topology.network!.name) (hierarchical), within a node:") }
        if !intra.isEmpty { parts.append(StepCostModel.collectiveOriginText(intra, tables: kernelCost.tables, interconnect: interconnect)) }
        return parts.joined(separator: " ")
    }

    public func collectiveOriginText(_ cs: [Collective], gpus p: Int) -> String { collectiveOriginText(cs.map { ($0, p) }) }

    /// The run's deployment in one line: model, GPUs (and nodes), vLLM's plan flags with the all-to-all backend where
    /// vLLM uses one (expert parallelism with DP > 1), the interconnect within a node, engine and routing.
    public var summary: String {
        let backend = plan.expertParallel && plan.dataParallel > 1 ? " --all2all-backend \(plan.all2allBackend.vllmName)" : ""
        let ic = interconnect.map { ", interconnect \($0.name)" } ?? ""
        return "\(model.name)\(model.quantization.isQuantized ? " (\(model.quantization.method))" : "") on \(plan.gpuCount)x \(gpu.name)\(topology.isMultiNode ? " (\(topology.nodes) nodes x \(topology.gpusPerNode), \(topology.network?.name ?? "no network"))" : "") [\(plan.vllmFlags)\(backend)\(plan.strategy.map { ", strategy \($0.rawValue)" } ?? "")]\(ic), engine \(engine.name), routing \(routing)"
    }
}
