import Foundation

/// The allowed range of every number moesim reads, from a flag or from a file, in one place so that `run`,
/// `explain`, `plan`, `sweep`, `calibrate`/`validate` and `profiles check` apply the same rules.
///
/// The bounds are generous for real hardware and models (ten times beyond the largest known) but keep all
/// integer arithmetic on them inside Int64 and all times inside `SimTime` (Int64 nanoseconds, about 292 years).
public enum Limits {
    /// A closed range of whole numbers or of (finite) reals.
    public enum Range: Sendable, CustomStringConvertible {
        case int(ClosedRange<Int>)
        case real(ClosedRange<Double>)
        /// A real in `lo...hi`, or positive infinity (spelled `inf`).
        case realOrInfinity(ClosedRange<Double>)

        public var description: String {
            switch self {
            case .int(let r): return "a whole number in \(r.lowerBound)...\(r.upperBound)"
            case .real(let r): return "a number in \(fmt(r.lowerBound))...\(fmt(r.upperBound))"
            case .realOrInfinity(let r): return "a number in \(fmt(r.lowerBound))...\(fmt(r.upperBound)) or inf"
            }
        }

        public func contains(_ v: Double) -> Bool {
            switch self {
            case .int(let r): return v == v.rounded() && v >= Double(r.lowerBound) && v <= Double(r.upperBound)
            case .real(let r): return v.isFinite && r.contains(v)
            case .realOrInfinity(let r): return v == .infinity || (v.isFinite && r.contains(v))
            }
        }
    }

    static func fmt(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    // MARK: workloads and runs

    /// Tokens of one request (prompt or output), of one HF sequence, of a KV context.
    public static let tokens = 1...10_000_000
    /// Requests of one run (`--num-prompts`, trace rows); memory is checked separately (`checkMemory`).
    public static let requests = 1...100_000_000
    /// The latest simulated time anything may happen at, in seconds (about 32 years; `SimTime` holds 292).
    public static let maxSimulatedSeconds = 1e9
    /// Tokens (prompt + output, all requests) one run may simulate: about five minutes at this machine's speed.
    public static var maxTotalTokens: Double { work.maxTotalTokens }

    /// The work and memory limits, task-local only so that the fuzz harness can shrink them for its own cases
    /// (keeping every run it gets accepted tiny) without touching anything else running at the same time.
    public struct Work: Sendable {
        public var maxTotalTokens = 20_000_000_000.0
        public var maxForwardWork = 5_000_000_000.0
        public var maxEngineSteps = 200_000_000.0
        /// Steps of setting a run up (routing tables, EPLB packing) before it simulates anything.
        public var maxSetupWork = 5_000_000_000.0
        public var memoryBudgetBytes: Double? = nil
        public init() {}
    }
    @TaskLocal public static var work = Work()
    /// Layer x expert evaluations one HF run may take (forwards x layers x experts).
    public static var maxForwardWork: Double { work.maxForwardWork }
    /// Steps of setting one run up (routing tables, EPLB packing): minutes at worst.
    public static var maxSetupWork: Double { work.maxSetupWork }
    /// Engine steps one vLLM run may take (a token budget of 1 makes a step per prompt token): minutes at worst.
    public static var maxEngineSteps: Double { work.maxEngineSteps }
    /// Engine instances of one simulation (replicas, or prefill plus decode instances).
    public static let instances = 1...1024
    /// GPUs of one plan (TP x DP) and `plan --max-gpus`.
    public static let gpus = 1...4096
    /// Configurations one sweep may hold.
    public static let maxConfigurations = 1_000_000
    /// Shards of one sharded sweep or plan (`--shard K/N`: N in this range, K in 0..<N).
    public static let shards = 1...100_000
    /// Replicates (seeds) per configuration (`--seeds`).
    public static let seeds = 1...1_000
    /// Bytes of working memory one command may plan to use: half the machine's memory.
    public static var memoryBudgetBytes: Double { work.memoryBudgetBytes ?? Double(ProcessInfo.processInfo.physicalMemory) / 2 }

    /// Every numeric command-line flag and its range; `ParsedArguments` checks them when read.
    public static let flags: [String: Range] = [
        "--tensor-parallel-size": .int(gpus), "--data-parallel-size": .int(gpus),
        "--max-num-seqs": .int(1...1_048_576), "--max-num-batched-tokens": .int(1...100_000_000), "--max-model-len": .int(-1...100_000_000),
        "--gpu-memory-utilization": .real(0.01...1),
        "--random-input-len": .int(tokens), "--random-output-len": .int(tokens),
        "--random-range-ratio": .real(0...0.999),
        "--random-prefix-len": .int(0...10_000_000),
        "--sharegpt-output-len": .int(tokens), "--custom-output-len": .int(-1...10_000_000),
        "--prefix-repetition-prefix-len": .int(0...10_000_000), "--prefix-repetition-suffix-len": .int(0...10_000_000),
        "--prefix-repetition-num-prefixes": .int(requests), "--prefix-repetition-output-len": .int(tokens),
        "--replicas": .int(instances), "--prefill-instances": .int(instances), "--decode-instances": .int(instances),
        "--prefill-tensor-parallel-size": .int(gpus), "--kv-transfer-bandwidth-gbps": .real(1e-3...1e7),
        "--kv-transfer-latency-us": .real(0...1e9),
        "--num-prompts": .int(requests), "--max-concurrency": .int(requests),
        "--request-rate": .realOrInfinity(1e-6...1e9), "--burstiness": .real(1e-3...1e3),
        "--ramp-up-start-rps": .int(0...1_000_000_000), "--ramp-up-end-rps": .int(0...1_000_000_000),
        "--trace-limit": .int(requests), "--trace-time-scale": .real(1e-6...1e6),
        "--batch-size": .int(1...1_048_576), "--input-len": .int(tokens), "--output-len": .int(tokens),
        "--diffusion-steps": .int(1...1_000_000), "--gen-length": .int(tokens), "--block-length": .int(tokens),
        "--expert-reuse": .real(0...0.999),
        "--decode-seqs": .int(0...1_048_576), "--kv-len": .int(0...10_000_000),
        "--prefill-seqs": .int(0...1_048_576), "--prefill-len": .int(0...10_000_000),
        "--threads": .int(1...1024), "--max-evaluations": .int(1...100_000), "--top": .int(1...1_000_000),
        "--max-gpus": .int(gpus), "--gpus-per-node": .int(gpusPerNode), "--data-parallel-size-local": .int(gpus),
        "--num-redundant-experts": .int(0...65_536), "--slo-ttft-p99-ms": .real(1e-6...1e12), "--slo-tpot-p99-ms": .real(1e-6...1e12),
        "--seeds": .int(seeds),
        // vLLM's benchmark flags (issue 17): each goodput objective (ms), each percentile, pipeline parallel size.
        "--goodput": .real(1e-6...1e12), "--metric-percentiles": .real(0...100), "--pipeline-parallel-size": .int(gpus),
    ]

    // MARK: profiles and configs

    /// Hugging Face config sizes.
    public static let model: [String: ClosedRange<Int>] = [
        "hidden": 1...1_048_576, "layers": 1...10_000, "heads": 1...65_536, "head_dim": 1...65_536, "vocab": 1...100_000_000,
        "intermediate": 1...10_000_000, "experts": 1...65_536, "top_k": 1...65_536, "positions": 1...100_000_000,
        "lora_rank": 1...1_048_576,
    ]

    /// `quantization_config` numbers: bits per weight or activation, group size (-1 = per channel), fp8 block sides.
    public static let quantization: [String: ClosedRange<Int>] = [
        "bits": 2...16, "group_size": -1...1_048_576, "block": 1...1_048_576,
    ]

    /// Engine parameters: range, and whether the value must be whole.
    public static let engineParameters: [String: (ClosedRange<Double>, Bool)] = [
        "max_num_seqs": (0...1_048_576, true), "max_num_batched_tokens": (0...100_000_000, true),
        "async_scheduling": (0...1, true), "cuda_graph_padding": (0...1, true), "default_prefix_caching": (0...1, true), "enforce_eager": (0...1, true), "disable_chunked_prefill": (0...1, true), "activation_profile": (0...1, true),
        "block_size": (1...65_536, true), "gpu_memory_utilization": (0.01...1, false),
        "cuda_graph_max_tokens": (0...1_000_000, true), "activation_reserve_gb": (0...100_000, false), "profile_sampler_bytes_per_logit": (0...1_000, false), "v2_profile_sampler_bytes_per_logit": (0...1_000, false), "v2_runner_reserve_gb": (0...100_000, false),
        "dp_forces_eager": (0...1, true), "decode_grouped_as_batched": (0...1, true),
        "attention_efficiency": (1e-3...1, false), "compute_efficiency": (1e-3...10, false),
        "grouped_mm_efficiency": (1e-3...10, false), "moe_block_m": (1...65_536, true),
        "ep_sentinel_cost": (0...1, false),
        "host_speed_reference_s": (0...100, false), "host_speed_exponent": (0...4, false),
        "host_spread_low": (0...10, false), "host_spread_high": (0...10, false),
    ]
    /// Every other engine parameter is a time in microseconds: 0 to 1000 s.
    public static let engineTimeUs: ClosedRange<Double> = 0...1e9

    /// Checks an engine parameter; returns the reason it is out of range, or nil.
    public static func engineParameterProblem(_ key: String, _ v: Double) -> String? {
        let (r, whole) = engineParameters[key] ?? (engineTimeUs, false)
        if !v.isFinite || !r.contains(v) || (whole && v != v.rounded()) {
            return "\(fmt(v)) is out of range; allowed \(whole ? "a whole number" : "a number") in \(fmt(r.lowerBound))...\(fmt(r.upperBound))"
        }
        return nil
    }

    /// GPU profile numbers.
    public static let gpu: [String: ClosedRange<Double>] = [
        "memory_gb": 0.1...100_000, "peak_bf16_tflops": 1e-3...1e6, "hbm_bandwidth_gbps": 1...1e7,
        "achieved_matmul_fraction": 1e-3...1, "achieved_bandwidth_fraction": 1e-3...1, "kernel_launch_us": 0...1e6,
        "sustained_matmul_ratio": 0.1...1, "power_time_constant_s": 1e-3...1e3, "shared_kv_read_ratio": 0...1,
        "gemm_dim": 1...1e7, "time_us": 1e-4...1e10, "read_gbps": 1...1e7,
    ]

    /// Interconnect profile numbers.
    public static let interconnect: [String: ClosedRange<Double>] = [
        "link_bandwidth_gbps": 1e-3...1e7, "bytes": 1...1e15, "time_us": 1e-4...1e10,
    ]

    /// Network profile numbers (`profiles/networks/`).
    public static let network: [String: ClosedRange<Double>] = [
        "bandwidth_gbps": 1e-3...1e7, "latency_us": 0...1e7,
    ]
    /// GPUs of one node (`--gpus-per-node`, a network profile's `nics_per_node`).
    public static let gpusPerNode = 1...1024

    // MARK: checks that estimate before allocating

    /// Refuses work whose estimated memory exceeds the budget, naming what is too large.
    public static func checkMemory(_ bytes: Double, what: String, flag: String) throws {
        let budget = memoryBudgetBytes
        guard bytes.isFinite, bytes <= budget else {
            throw InputError.usage(String(format: "%@ would need about %.1f GB of memory; the limit is %.1f GB (half of this machine's memory). Lower %@",
                                          what, bytes / 1e9, budget / 1e9, flag))
        }
    }

    /// Memory one request of a vLLM run takes (request, scheduler state, per-request metrics; ITLs are runs).
    public static let bytesPerRequest = 256.0

    /// Refuses a run that would simulate more than `maxTotalTokens` tokens.
    public static func checkWork(tokens: Double, flag: String) throws {
        guard tokens.isFinite, tokens <= maxTotalTokens else {
            throw InputError.usage(String(format: "the run would simulate about %.3g tokens; the limit is %.3g (about five minutes of simulation). Lower %@",
                                          tokens, maxTotalTokens, flag))
        }
    }

    /// Multiplies counts without overflow; nil when the product exceeds `limit`.
    public static func product(_ xs: [Int], limit: Int) -> Int? {
        var p = 1
        for x in xs {
            let (r, o) = p.multipliedReportingOverflow(by: max(x, 0))
            if o || r > limit { return nil }
            p = r
        }
        return p
    }
}

extension JSONNode {
    /// A benchmark result file's setting for the `moesim run` flag it stands for (request_rate for --request-rate, ...),
    /// inside that flag's range (`Limits.flags`); errors name `file`, the key and the value.
    public func resultSetting(flag: String, file: String, whole: Bool = false) throws -> Double {
        let bad = { (why: String) in InputError.data("\(file): key '\(self.path)' is \(self.described): \(why)") }
        guard let v = try? double(), !whole || v == v.rounded() else { throw bad("expected \(Limits.flags[flag]?.description ?? (whole ? "a whole number" : "a number"))") }
        if let r = Limits.flags[flag], !r.contains(v) { throw bad("out of range; allowed \(r.description)") }
        return v
    }

    /// A benchmark result file's `duration`, when it has the key: positive and finite (null stands for Python's NaN or
    /// Infinity, which result files are read with).
    public func checkResultDuration(file: String) throws {
        guard (keys ?? []).contains("duration") else { return }
        let d = optional("duration")
        guard let x = try? d?.double(), x > 0, x.isFinite else {
            throw InputError.data("\(file): key 'duration' is \(d?.described ?? "null (or NaN or Infinity)"): expected the benchmark's positive duration in seconds")
        }
    }

    /// A number at `key` inside `range`; errors name the file, key, value and the range.
    public func double(_ key: String, in range: ClosedRange<Double>) throws -> Double {
        try require(key).double(in: range)
    }

    public func double(in range: ClosedRange<Double>) throws -> Double {
        let v = try double()
        guard range.contains(v) else { throw fail("\(Limits.fmt(v)) is out of range; allowed \(Limits.fmt(range.lowerBound))...\(Limits.fmt(range.upperBound))") }
        return v
    }

    /// A whole number at `key` inside `range`.
    public func int(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        try require(key).int(in: range)
    }

    public func int(in range: ClosedRange<Int>) throws -> Int {
        let v = try int()
        guard range.contains(v) else { throw fail("\(v) is out of range; allowed \(range.lowerBound)...\(range.upperBound)") }
        return v
    }
}
