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

    public init(model: ModelArchitecture, gpu: GPUProfile, interconnect: InterconnectProfile?, plan: ParallelPlan,
                engine: EngineProfile, routing: RoutingSpec = .uniform, placement: ExpertPlacement? = nil, overrides: [String: Double] = [:]) throws {
        try plan.validate(for: model)
        self.model = model; self.gpu = gpu; self.interconnect = interconnect; self.plan = plan
        self.engine = engine; self.routing = routing; self.overrides = overrides
        if plan.expertParallel, let moe = model.moe {
            self.placement = placement ?? ExpertPlacement.contiguous(experts: moe.experts, gpus: plan.gpuCount, moeLayers: model.moeLayerCount)
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
        MemoryPlan(model: model, plan: plan, gpu: gpu, placement: placement, memoryUtilization: param("gpu_memory_utilization"),
                   reserveGB: param("activation_reserve_gb"), blockSize: Int(param("block_size")))
    }

    /// Builds the step cost model (seeded routing draws).
    public func costModel(seed: UInt64) throws -> StepCostModel {
        var routingModel: RoutingModel? = nil
        if let moe = model.moe {
            routingModel = try RoutingModel(spec: routing, experts: moe.experts, topK: moe.topK, layers: model.moeLayerCount, seed: seed)
        }
        return try StepCostModel(model: model, plan: plan, kernels: kernelCost, interconnect: interconnect,
                                 routing: routingModel, placement: placement, seed: seed)
    }

    public var summary: String {
        "\(model.name) on \(plan.gpuCount)x \(gpu.name) [\(plan.vllmFlags)\(plan.strategy.map { ", strategy \($0.rawValue)" } ?? "")], engine \(engine.name), routing \(routing)"
    }
}
