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
    /// vLLM: the `--all2all-backend` an expert-parallel plan over DP ranks gets when none is named (nil: moesim's
    /// built-in choice, `ParallelPlan.init`), and the backends this vLLM no longer has, which it replaces by that
    /// default with a warning (vLLM 0.24: `naive` and `pplx`, `ParallelConfig._validate_parallel_config`).
    public var defaultAll2AllBackend: ParallelPlan.All2AllBackend? = nil
    public var removedAll2AllBackends: [ParallelPlan.All2AllBackend] = []
    /// vLLM offline: how many requests the engine core holds at the first step of an `LLM.generate` run, as measured
    /// over real runs (`first_step_draw`; nil: not stated). `moesim run` reruns an offline prediction over it.
    public var firstStepDraw: FirstStepDraw? = nil

    /// `LLM.generate` hands its requests to the engine core one by one, and the core schedules its first step with
    /// those it has received by then (the rest join from the second step): a count that differs from run to run.
    /// `requests[i]` has `probability[i]`; more than the last has `beyond`.
    public struct FirstStepDraw: Sendable, Equatable {
        public let requests: [Int]
        public let probability: [Double]
        public let beyond: Double

        public init(requests: [Int], probability: [Double], beyond: Double) {
            self.requests = requests; self.probability = probability; self.beyond = beyond
        }

        init(json j: JSONNode) throws {
            let ks = try j.require("requests").array(), ps = try j.require("probability").array()
            guard !ks.isEmpty else { throw try j.require("requests").fail("is empty; give the request counts of the draw") }
            guard ks.count == ps.count else {
                throw try j.require("probability").fail("has \(ps.count) values for \(ks.count) request counts")
            }
            var req: [Int] = [], prob: [Double] = []
            for (kn, pn) in zip(ks, ps) {
                let k = try kn.int(), p = try pn.double()
                guard k >= 1, k > (req.last ?? 0) else { throw kn.fail("is \(k); the request counts are whole numbers of at least 1, in ascending order") }
                guard p > 0, p <= 1 else { throw pn.fail("is \(p); a probability is above 0 and at most 1") }
                req.append(k); prob.append(p)
            }
            let tail = try j.optional("beyond")?.double() ?? 0
            guard tail >= 0, tail <= 1 else { throw try j.require("beyond").fail("is \(tail); a probability is 0 to 1") }
            let total = prob.reduce(0, +) + tail
            guard abs(total - 1) <= 0.01 else {
                throw j.fail(String(format: "probability and beyond add up to %.4f; they must add up to 1", total))
            }
            requests = req; probability = prob; beyond = tail
        }

        /// The draw for a run of `n` requests: each count below `n` with its probability, and the chance that the
        /// first step holds all `n` (a draw of `n` or more).
        public func outcomes(n: Int) -> (below: [(requests: Int, probability: Double)], all: Double) {
            var below: [(requests: Int, probability: Double)] = [], all = beyond
            for (k, p) in zip(requests, probability) {
                if k < n { below.append((k, p)) } else { all += p }
            }
            return (below, all)
        }
    }

    /// Every known parameter with its default and meaning.
    public static let known: [String: (Double, String)] = [
        // vLLM scheduler defaults (vLLM V1, OpenAI server usage context)
        "max_num_seqs": (256, "--max-num-seqs default; 0 = vLLM 0.24's default for the GPU and usage context (1024 on GPUs of 70 GiB or more other than the A100, else 256)"),
        "max_num_batched_tokens": (2048, "--max-num-batched-tokens default (chunked prefill budget); 0 = vLLM 0.24's default for the GPU and usage context (8192 serving / 16384 offline on GPUs of 70 GiB or more other than the A100, else 2048 / 8192)"),
        "block_size": (16, "PagedAttention block size in tokens"),
        "gpu_memory_utilization": (0.9, "--gpu-memory-utilization default"),
        "cuda_graph_max_tokens": (512, "largest batch (tokens) captured in a CUDA graph"),
        "activation_reserve_gb": (2.0, "per-GPU memory kept for activations, CUDA graphs and the NCCL/cuBLAS workspaces (with activation_profile 1, the part that does not grow with max_num_batched_tokens)"),
        "profile_sampler_bytes_per_logit": (0, "with activation_profile 1: bytes vLLM's memory-profiling sampler run holds per logit of min(max_num_batched_tokens, max_num_seqs) requests x the vocabulary (fp32 logits, their sort and softmax); the reserve takes the larger of this and the forward's activations"),
        "v2_runner_reserve_gb": (0, "with activation_profile 1: activation_reserve_gb for models vLLM 0.24 runs with its second model runner (ModelArchitecture.vllmModelRunnerV2), which estimates no CUDA-graph memory; 0: activation_reserve_gb and profile_sampler_bytes_per_logit for every model"),
        "v2_profile_sampler_bytes_per_logit": (0, "profile_sampler_bytes_per_logit for models of vLLM 0.24's second model runner, whose profiling sampler skips top-k and top-p"),
        "activation_profile": (0, "1: the activation memory also grows with max_num_batched_tokens, as vLLM's memory-profiling forward of that many tokens finds it (ModelArchitecture.activationBytes(tokens:plan:)); 0: activation_reserve_gb alone"),
        // vLLM overheads
        "step_overhead_us": (3000, "engine-core CPU time per step: scheduling, input preparation, sampling launch"),
        "per_seq_overhead_us": (30, "engine-core CPU time per scheduled sequence per step"),
        "frontend_per_token_us": (20, "API-server time per streamed output token (detokenise, SSE); one server process"),
        "eager_layer_host_us": (60, "host (Python + launch) time per decoder layer when a step runs without CUDA graphs (more tokens than the largest capture size, --enforce-eager, or DP where it disables graphs)"),
        "eager_token_host_us": (0, "host time per scheduled token of a step run without CUDA graphs, beyond per_token_overhead_us (the compiled graph's input preparation and launches over a dynamic token count)"),
        "piecewise_layer_host_us": (0, "host time per decoder layer of a mixed prefill/decode step replayed from piecewise CUDA graphs (attention runs between the graph pieces)"),
        "per_token_overhead_us": (0, "engine-core host time per scheduled token per step (input preparation)"),
        "async_scheduling": (0, "1: vLLM's async scheduling (on by default since 0.11 where nothing prevents it): the engine core schedules and prepares step k + 1 while step k runs on the GPU, so a step takes the longer of its GPU time and its host time, and a request that arrives during a step can join only the step after next; 0: the host time adds to the GPU time"),
        "cuda_graph_padding": (0, "1: a step replayed from CUDA graphs computes its batch padded to the next capture size (1, 2, 4, then multiples of 8 to 256 and of 16 to 512); 0: no padding"),
        "input_latency_us": (0, "from a request's send to an idle engine core scheduling it (front-end input processing, IPC, the core's wake-up)"),
        "idle_wake_us": (0, "of input_latency_us, the part an idle engine core takes to wake up and schedule after it has received a request: requests it receives meanwhile join that first step, and a busy core receives a request input_latency_us - this after its send (vLLM: the core's input thread holds the GIL while it takes in what follows, up to Python's 5 ms switch interval); 0: an idle core schedules a request alone the moment it arrives"),
        "output_latency_us": (0, "from the end of a step to its tokens reaching the client (output processing in the engine core and the front end, IPC)"),
        "request_host_us": (0, "engine-core host time per arriving request (its input thread decodes it and builds the request), spent before the next step is scheduled"),
        "request_block_host_us": (0, "with prefix caching on: engine-core host time per full block of an arriving request's prompt (vLLM builds each request with its prompt's block hashes, in the core's input thread), on top of request_host_us"),
        "frontend_request_us": (0, "offline (LLM.generate): front-end time to hand one request to the engine core (LLM.generate adds them one by one, the core's input thread building each as it comes); the requests of one call reach the core through the two in turn, so the first step, which holds them all, starts when the last is built; 0: the hand-over takes no time"),
        "eager_op_host_us": (0, "host (Python + launch) time per operation a step without CUDA graphs runs, each layer's operations counted from the architecture (ModelArchitecture.hostOps: Mixtral 15, OLMoE 17, Qwen1.5-MoE 23, DeepSeek-V2-Lite 28); 0 = eager_layer_host_us per layer instead"),
        "eager_moe_host_us": (0, "host time of one fused-MoE layer (vLLM's moe_forward custom op: routing, block alignment, the expert kernels' launches) in a step without CUDA graphs, in place of its operations at eager_op_host_us; 0 = per operation"),
        "eager_shared_moe_host_us": (0, "with eager_moe_host_us: host time of one fused-MoE layer with shared experts in a step without CUDA graphs (vLLM 0.24's SharedFusedMoE, the moe_forward_shared custom op, runs the shared experts' MLP and gate inside the op, eagerly and on a second CUDA stream), in place of eager_moe_host_us and the shared experts' operations at eager_op_host_us; 0 = priced as those"),
        "eager_grouped_topk_host_us": (0, "with eager_moe_host_us: host time per MoE layer of DeepSeek-V2's grouped top-k routing in a step without CUDA graphs (a torch.compile'd function vLLM 0.24 calls inside the fused MoE: its guard checks and the compiled region's call), on top of the layer's price; 0 = none beyond it"),
        "eager_step_host_us": (0, "with eager_moe_host_us: fixed host time of a forward without CUDA graphs beyond its layers' (the graph's entry, input and output work outside the layers)"),
        "enforce_eager_op_host_us": (0, "with --enforce-eager: host time per operation of every step (eager PyTorch); 0 = enforce_eager_layer_host_us per layer, or eager_op_host_us"),
        "enforce_eager_layer_host_us": (0, "with --enforce-eager: host time per decoder layer of every step (eager PyTorch dispatch and launches; 0 = eager_layer_host_us)"),
        "host_speed_reference_s": (0, "the host the host costs above are stated for, by its speed: the time of probe/vllm/hostspeed.py's workload there (over a run: the geometric mean of its measurements); a run given --host-speed S multiplies every host cost (step, sequence, token, operation or layer launch, request, input and output latency, front end, DP sync) by (S / this)^host_speed_exponent; 0: host costs are never scaled"),
        "host_speed_exponent": (1, "how host costs follow the host's speed: (S / host_speed_reference_s)^this (1: in proportion; below 1: part of the host time does not slow with the CPU)"),
        "moe_first_use_us": (0, "vLLM: the wait of a step without CUDA graphs whose token count needs a Triton fused-MoE kernel configuration (bf16 experts) that start-up and the run so far have not compiled: the compile of the layer's two kernels, in the middle of the forward (a host cost, scaled by --host-speed), for 128 x 128 x 64 tiles with 8 warps and 3 stages; another configuration waits this times its measured compile time over that one's (profiles/kernels/vllm-0.24.0-fused-moe-compile.json); 0: not modelled"),
        "mxfp4_routing_first_use_us": (0, "vLLM: as moe_first_use_us for gpt-oss's MXFP4 experts, whose routing kernels (OpenAI's triton_kernels topk) are compiled for each token count rounded up to 32: the wait of a step without CUDA graphs of a new such size; 0: not modelled"),
        "mxfp4_matmul_first_use_us": (0, "vLLM: the compile of one of the two expert GEMMs of gpt-oss's MXFP4 experts (triton_kernels' matmul_ogs), which a step without CUDA graphs waits for where its row tile or Triton's specialization of its token count and grid is new (StepCostModel.mxfp4Kernels); a host cost, scaled by --host-speed; 0: not modelled"),
        "host_spread_low": (0, "how much faster than predicted a host can run the engine's host work: the low end of measured / predicted time of steps without CUDA graphs over real runs on many hosts; `moesim run` reruns a host-bound prediction with host costs times this and host_spread_high and prints both; 0: no spread printed"),
        "host_spread_high": (0, "the high end of that spread (see host_spread_low)"),
        "enforce_eager": (0, "1: --enforce-eager: no torch.compile and no CUDA graphs; every step launches its kernels from the host"),
        "disable_chunked_prefill": (0, "1: --no-enable-chunked-prefill: a waiting prompt is admitted only whole within the step's token budget (vLLM 0.24 chunks by default)"),
        "default_prefix_caching": (0, "1: prefix caching is on unless --no-enable-prefix-caching (vLLM >= 0.10's default); 0: only with --enable-prefix-caching"),
        "dp_forces_eager": (1, "1 if data parallelism disables CUDA graphs (vLLM <= 0.9: 'DP is currently not supported with CUDA Graphs')"),
        "dp_sync_us": (0, "per-step synchronisation of the DP engine cores"),
        "attention_efficiency": (0.6, "prefill attention FLOP rate as a fraction of the GEMM rate (FlashAttention-2)"),
        "moe_expert_fixed_us": (0.5, "GPU time per hit expert in a fused/grouped MoE kernel beyond its GEMM roofline (tile set-up, weight-pipeline ramp); with measured vLLM kernel tables, time per hit expert added to the measured fused kernel (0 = the kernel as measured)"),
        "measured_kernels": (1, "1: the vLLM engine takes fused-MoE, GEMM, attention and collective times from the GPU's measured vLLM kernel tables (profiles/kernels/) where they apply; 0: the GPU profile's GEMM table, per-expert GEMM pairs and the roofline"),
        "sampler_bytes_per_logit": (0, "GPU work of vLLM's sampler per logit (rows that sample x vocabulary), as bytes at the GPU's peak bandwidth: its passes over the logits (fp32 cast, temperature, softmax, the exponential draw, argmax) outside the CUDA graph; 0 = not priced"),
        "sampler_greedy_bytes_per_logit": (0, "sampler_bytes_per_logit for greedy requests (--temperature 0: only the fp32 cast and argmax); 0 = as sampler_bytes_per_logit"),
        "sampler_topk_bytes_per_logit": (0, "sampler_bytes_per_logit for requests with top-k or top-p (--top-k, --top-p: a sorting kernel more); 0 = as sampler_bytes_per_logit"),
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
        if let wake = ps["idle_wake_us"], case let input = ps["input_latency_us"] ?? Self.known["input_latency_us"]!.0, wake > input {
            throw try j.require("parameters").require("idle_wake_us").fail("is \(wake) us, more than input_latency_us (\(input) us), of which it is a part")
        }
        params = ps
        fitParameters = try j.optional("fit_parameters")?.array().map { try $0.string() } ?? []
        for f in fitParameters where Self.known[f] == nil {
            throw j.fail("fit_parameters names unknown parameter '\(f)'")
        }
        defaultExpertsImpl = try j.optional("experts_impl")?.string() ?? "eager"
        func backend(_ node: JSONNode) throws -> ParallelPlan.All2AllBackend {
            let name = try node.string()
            guard let b = ParallelPlan.All2AllBackend(name: name) else {
                throw node.fail("is \"\(name)\"; use one of \(quotedChoices(ParallelPlan.All2AllBackend.accepted))")
            }
            return b
        }
        defaultAll2AllBackend = try j.optional("default_all2all_backend").map(backend)
        removedAll2AllBackends = try j.optional("removed_all2all_backends")?.array().map(backend) ?? []
        if let d = defaultAll2AllBackend, removedAll2AllBackends.contains(d) {
            throw try j.require("default_all2all_backend").fail("is \"\(d.vllmName)\", which removed_all2all_backends also lists")
        }
        if !removedAll2AllBackends.isEmpty && defaultAll2AllBackend == nil {
            throw try j.require("removed_all2all_backends").fail("needs default_all2all_backend: the backend vLLM uses in place of a removed one")
        }
        firstStepDraw = try j.optional("first_step_draw").map { try FirstStepDraw(json: $0) }
        sources = try ProfileSources.read(j)
    }

    /// The backend this engine's vLLM exchanges tokens between DP ranks with under EP when `named` is asked for (nil:
    /// none named), and, where it replaces one it no longer has, the note saying so; `subject` says what falls back.
    public func all2allBackend(for named: ParallelPlan.All2AllBackend?, spelled: String?, subject: String) -> (backend: ParallelPlan.All2AllBackend?, note: String?) {
        guard let def = defaultAll2AllBackend else { return (named, nil) }
        guard let b = named else { return (def, nil) }
        guard removedAll2AllBackends.contains(b) else { return (b, nil) }
        return (def, "note: engine profile '\(name)' has no '--all2all-backend \(spelled ?? b.vllmName)' (vLLM removed it); \(subject) falls back to \(def.vllmName), as vLLM does")
    }
}
