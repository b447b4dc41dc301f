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
    /// A speculative decoding draft model on the same GPUs: its weights and KV cache per GPU share the memory.
    public var draftMemory: DraftMemory? = nil
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
        if plan.expertParallel, let moe = model.moe {
            if plan.eplb && placement == nil {
                // The counts per GPU (memory) are those of any balanced packing; the run rebalances on its routing.
                try ExpertPlacement.checkEPLB(distinctLayers: 1, layers: model.moeLayerCount, experts: moe.experts, redundant: plan.redundantExperts)
                let uniform = Array(repeating: Array(repeating: 1.0, count: moe.experts), count: model.moeLayerCount)
                self.placement = .eplb(loads: uniform, experts: moe.experts, gpus: plan.stageGPUs, redundant: plan.redundantExperts)
                return
            }
            self.placement = placement ?? ExpertPlacement.contiguous(experts: moe.experts, gpus: plan.stageGPUs, moeLayers: model.moeLayerCount)
        } else {
            self.placement = nil
        }
    }

    /// An engine parameter, with command-line overrides applied.
    public func param(_ key: String) -> Double { overrides[key] ?? engine.value(key) }

    public var kernelCost: KernelCost {
        KernelCost(gpu: gpu, computeEfficiency: param("compute_efficiency"), attentionEfficiency: param("attention_efficiency"),
                   moeBlockM: Int(param("moe_block_m")), expertFixedUs: param("moe_expert_fixed_us"),
                   tables: engine.kind == .vllm && param("measured_kernels") > 0 ? gpu.vllmKernels : nil)
    }

    public func memoryPlan() -> MemoryPlan {
        withDraft(MemoryPlan(model: model, plan: plan, gpu: gpu, placement: placement, memoryUtilization: param("gpu_memory_utilization"),
                             reserveGB: param("activation_reserve_gb"), blockSize: Int(param("block_size"))))
    }

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
                          reserveGB: param("activation_reserve_gb"), blockSize: Int(param("block_size"))).map(withDraft)
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

    public var summary: String {
        "\(model.name)\(model.quantization.isQuantized ? " (\(model.quantization.method))" : "") on \(plan.gpuCount)x \(gpu.name)\(topology.isMultiNode ? " (\(topology.nodes) nodes x \(topology.gpusPerNode), \(topology.network?.name ?? "no network"))" : "") [\(plan.vllmFlags)\(plan.strategy.map { ", strategy \($0.rawValue)" } ?? "")], engine \(engine.name), routing \(routing)"
    }
}
