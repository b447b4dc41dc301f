import Foundation

/// A serving engine's defaults and overhead parameters (vLLM continuous batching or Hugging Face `generate`).
///
/// Parameters live in a name-to-value map so that `moesim calibrate` can fit any subset by name and write them
/// back; each known parameter has a documented default used when a profile leaves it out.
public struct EngineProfile: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case vllm, hf }

    public var name: String
    public var kind: Kind
    public var params: [String: Double]
    /// Names `moesim calibrate` fits by default.
    public var fitParameters: [String]
    public var sources: [String]
    public var defaultExpertsImpl: String

    /// Every known parameter with its default and meaning.
    public static let known: [String: (Double, String)] = [
        // vLLM scheduler defaults (vLLM V1, OpenAI server usage context)
        "max_num_seqs": (256, "--max-num-seqs default"),
        "max_num_batched_tokens": (2048, "--max-num-batched-tokens default (chunked prefill budget)"),
        "block_size": (16, "PagedAttention block size in tokens"),
        "gpu_memory_utilization": (0.9, "--gpu-memory-utilization default"),
        "cuda_graph_max_tokens": (512, "largest batch (tokens) captured in a CUDA graph"),
        "activation_reserve_gb": (2.0, "per-GPU memory kept for activations, CUDA graphs and the NCCL/cuBLAS workspaces"),
        // vLLM overheads
        "step_overhead_us": (3000, "engine-core CPU time per step: scheduling, input preparation, sampling launch"),
        "per_seq_overhead_us": (30, "engine-core CPU time per scheduled sequence per step"),
        "frontend_per_token_us": (20, "API-server time per streamed output token (detokenise, SSE); one server process"),
        "eager_layer_host_us": (60, "host (Python + launch) time per decoder layer when a step runs eagerly"),
        "dp_forces_eager": (1, "1 if data parallelism disables CUDA graphs (vLLM <= 0.9: 'DP is currently not supported with CUDA Graphs')"),
        "dp_sync_us": (0, "per-step synchronisation of the DP engine cores"),
        "attention_efficiency": (0.6, "prefill attention FLOP rate as a fraction of the GEMM rate (FlashAttention-2)"),
        "moe_expert_fixed_us": (0.5, "GPU time per hit expert in a fused/grouped MoE kernel beyond its GEMM roofline (tile set-up, weight-pipeline ramp); with measured vLLM kernel tables, time per hit expert added to the measured fused kernel (0 = the kernel as measured)"),
        "measured_kernels": (1, "1: the vLLM engine takes fused-MoE, GEMM, attention and collective times from the GPU's measured vLLM kernel tables (profiles/kernels/) where they apply; 0: the GPU profile's GEMM table, per-expert GEMM pairs and the roofline"),
        "moe_block_m": (16, "token padding of each expert's block in the fused MoE kernel"),
        "compute_efficiency": (1.0, "multiplier on achieved GEMM rate (1 = the profile's measured rate)"),
        // Hugging Face eager engine
        "host_per_layer_us": (150, "Python + launch time per decoder layer outside the experts (eager PyTorch)"),
        "host_per_expert_us": (120, "Python + launch time per hit expert in Transformers' eager expert loop"),
        "host_per_forward_us": (2000, "Python time per forward outside the layers (generate loop, logits processors)"),
        "sync_us": (20, "host-device synchronisation (nonzero / .item()) cost"),
        "grouped_mm_efficiency": (1, "torch grouped GEMM speed relative to per-expert cuBLAS GEMMs at the same shapes (1 = as fast)"),
        "host_grouped_moe_us": (150, "host time of a batched/grouped experts call per layer"),
        "host_per_collective_us": (50, "multi-GPU Transformers: host time per collective a layer issues, with the wait for the slowest rank (each collective puts the GPUs in lockstep)"),
        "host_tp_hook_us": (50, "multi-GPU Transformers: host time per light hook of the TP/EP plan (the experts' local-parameter swap, the EP router's masking)"),
        "remote_loop_expert_us": (0, "LLaDA-MoE's released expert loop (loop_all): time per visited expert, host + sync (0 = host_per_expert_us + sync_us)"),
        "ep_sentinel_cost": (0, "multi-GPU Transformers EP with grouped_mm: fraction of the GEMM time of the rows routed to other GPUs that a GPU still pays (0 = skipped as the code intends)"),
        "host_dtensor_redistribute_us": (300, "multi-GPU Transformers: host time per DTensor redistribute in a layer (OLMoE's gathered q/k/v outputs, split o_proj input)"),
        "decode_grouped_as_batched": (1, "1 if generate() decodes with batched_mm when grouped_mm is configured (Transformers 5.x, seen in the H200 runs)"),
    ]

    public func value(_ key: String) -> Double {
        if let v = params[key] { return v }
        precondition(Self.known[key] != nil, "unknown engine parameter \(key)")
        return Self.known[key]!.0
    }

    public init(name: String, kind: Kind, params: [String: Double] = [:], fitParameters: [String] = [], sources: [String] = ["derived: built-in defaults"], defaultExpertsImpl: String = "eager") {
        self.name = name; self.kind = kind; self.params = params; self.fitParameters = fitParameters
        self.sources = sources; self.defaultExpertsImpl = defaultExpertsImpl
    }

    public init(json j: JSONNode) throws {
        name = try j.string("name")
        let k = try j.string("engine")
        guard let kind = Kind(rawValue: k) else {
            throw try j.require("engine").fail("is \"\(k)\"; use one of \(quotedChoices(Kind.allCases.map(\.rawValue)))")
        }
        self.kind = kind
        var ps: [String: Double] = [:]
        if let p = j.optional("parameters") {
            guard let keys = p.keys else { throw p.fail("expected an object of parameter values, found \(p.described)") }
            for key in keys.sorted() {
                guard Self.known[key] != nil else {
                    throw p.fail("unknown parameter '\(key)'; known: \(quotedChoices(Self.known.keys.sorted()))")
                }
                let node = try p.require(key)
                let v = try node.double()
                if let why = Limits.engineParameterProblem(key, v) { throw node.fail(why) }
                ps[key] = v
            }
        }
        params = ps
        fitParameters = try j.optional("fit_parameters")?.array().map { try $0.string() } ?? []
        for f in fitParameters where Self.known[f] == nil {
            throw j.fail("fit_parameters names unknown parameter '\(f)'")
        }
        defaultExpertsImpl = try j.optional("experts_impl")?.string() ?? "eager"
        sources = try ProfileSources.read(j)
    }
}
