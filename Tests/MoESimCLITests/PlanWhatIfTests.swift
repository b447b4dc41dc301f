import Foundation
import Testing
@testable import MoESimCLI

/// `moesim plan` takes every what-if flag `moesim run` takes (issue 24, item 2): a searched dimension given is held at
/// that value, any other flag is applied to every candidate, and the output says which dimensions were searched and
/// which were held fixed. One test per flag family: plan accepts the flags, lists them, and they change the result
/// where they should (and only there).
@Suite struct PlanWhatIfTests {
    static let small = ["--model", "olmoe-1b-7b", "--max-gpus", "4", "--random-input-len", "128", "--random-output-len", "32",
                        "--num-prompts", "40", "--max-concurrency", "16", "--threads", "2"]

    /// The plan's JSON for `small` (or `base`) plus `extra`; with `someSimulated` false, a search that simulated
    /// nothing (exit 65, its JSON still printed) is expected too.
    static func plan(_ extra: [String], base: [String] = small, someSimulated: Bool = true) throws -> [String: Any] {
        let r = runCLI(["plan"] + base + extra + ["--json"])
        #expect(r.code == 0 || (!someSimulated && r.code == 65 && r.err.contains("no plan could be simulated")), "\(extra): \(r.err)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        return o
    }

    static func plans(_ o: [String: Any]) -> [[String: Any]] { (o["plans"] as? [[String: Any]]) ?? [] }
    static func simulated(_ o: [String: Any]) -> [[String: Any]] { plans(o).filter { $0["output_throughput"] != nil } }
    /// Output throughput by plan label (simulated plans only).
    static func throughput(_ o: [String: Any]) -> [String: Double] {
        var d: [String: Double] = [:]
        for p in simulated(o) { d[p["plan"] as! String] = p["output_throughput"] as? Double }
        return d
    }
    static func held(_ o: [String: Any]) -> [String: String] {
        var d: [String: String] = [:]
        for h in (o["held_fixed"] as? [[String: Any]]) ?? [] { d[h["flag"] as! String] = h["value"].map { "\($0)" } }
        return d
    }
    static func searched(_ o: [String: Any]) -> [String: [String]] {
        var d: [String: [String]] = [:]
        for s in (o["searched"] as? [[String: Any]]) ?? [] { d[s["dimension"] as! String] = ((s["values"] as? [Any]) ?? []).map { "\($0)" } }
        return d
    }

    /// Held flags that leave no plan shape are a usage error naming them; a held token budget bounds the sequence
    /// counts plan offers (vLLM refuses more sequences than batched tokens), so none fails for plan's own choice.
    @Test func heldFlagsThatLeaveNoPlanAndATokenBudget() throws {
        let r = runCLI(["plan"] + Self.small + ["--strategy", "tp", "--all2all-backend", "pplx"])
        #expect(r.code == 64 && r.err.contains("fits the flags held fixed (") && r.err.contains("--all2all-backend pplx"), "\(r.err)")
        let o = try Self.plan(["--max-num-batched-tokens", "100"])
        let seqs = Self.plans(o).compactMap { p -> Int? in
            guard let f = (p["flags"] as? String)?.split(separator: " ").map(String.init), let i = f.firstIndex(of: "--max-num-seqs") else { return nil }
            return Int(f[i + 1])
        }
        #expect(!seqs.isEmpty && seqs.allSatisfy { $0 <= 100 }, "\(seqs)")
        #expect(!Self.plans(o).contains { ($0["reason"] as? String)?.contains("max_num_seqs") == true })
    }

    /// Plans name all-to-all backends as vLLM does (the flag's own names): under vLLM 0.24's profile none, its default
    /// (allgather_reducescatter) being the only one it has left within a node; under the paper's older-vLLM profile
    /// pplx and naive. A price for a GPU outside the search says so instead of listing the searched GPUs as if the
    /// name were misspelt.
    @Test func backendsInVLLMNamesAndPricesOfUnsearchedGPUs() throws {
        func backends(_ o: [String: Any]) -> Set<String> {
            Set(Self.plans(o).compactMap { p -> String? in
                guard let f = (p["flags"] as? String)?.split(separator: " ").map(String.init), let i = f.firstIndex(of: "--all2all-backend") else { return nil }
                return f[i + 1]
            })
        }
        let o = try Self.plan([])
        #expect(backends(o).isEmpty, "\(backends(o))")
        #expect(Self.plans(o).contains { p in
            let f = (p["flags"] as? String) ?? ""
            return f.contains("--data-parallel-size 2 ") && f.contains("--enable-expert-parallel")
        })
        let old = try Self.plan(["--engine-profile", "vllm-a100-hegde2025"])
        #expect(backends(old) == ["pplx", "naive"], "\(backends(old))")
        // A backend held fixed that vLLM 0.24 removed: every plan falls back to its default, and the search says so.
        let removed = runCLI(["plan"] + Self.small + ["--all2all-backend", "pplx", "--json"])
        let ro = try #require(try JSONSerialization.jsonObject(with: Data(removed.out.utf8)) as? [String: Any])
        #expect(removed.code == 0 && backends(ro) == ["allgather_reducescatter"], "\(removed.err)")
        #expect(removed.err.contains("note: engine profile 'vllm' has no '--all2all-backend pplx' (vLLM removed it); every plan falls back to allgather_reducescatter"), "\(removed.err)")
        let r = runCLI(["plan"] + Self.small + ["--gpu-hour-usd", "h100-sxm-80gb=2"])
        #expect(r.code == 64 && r.err.contains("h100-sxm-80gb is not among the GPUs searched (--gpu a100-sxm4-80gb)"), "\(r.err)")
        let u = runCLI(["plan"] + Self.small + ["--gpu-hour-usd", "b900=2"])
        #expect(u.code == 64 && u.err.contains("no GPU profile 'b900'"), "\(u.err)")
    }

    /// Every option of `run` is an option of `plan` (by name): none is "Unknown option".
    @Test func planAcceptsEveryRunFlag() {
        let planFlags = Set(PlanCommand.spec.options.map(\.name))
        let missing = RunCommand.spec.options.map(\.name).filter { !planFlags.contains($0) }
        #expect(missing.isEmpty, "plan does not take \(missing)")
    }

    @Test func outputSaysWhatIsSearchedAndWhatIsHeldFixed() throws {
        let o = try Self.plan([])
        let s = Self.searched(o)
        #expect(s["tensor_parallel_size"] != nil && s["expert_parallel"] == ["off", "on"] && s["gpus"] == ["1", "2", "4"], "\(s)")
        #expect(Self.held(o)["--num-prompts"] == "40")
        let text = runCLI(["plan"] + Self.small + ["--kv-cache-dtype", "fp8"])
        #expect(text.code == 0 && text.out.contains("Searched: gpus 1, 2, 4") && text.out.contains("Held fixed: --kv-cache-dtype fp8"), "\(text.out)")
    }

    /// --quantization, --kv-cache-dtype and --gpu-memory-utilization: what fits changes, and the prices change.
    @Test func precisionAndMemoryFlags() throws {
        let base = ["--model", "mixtral-8x7b", "--gpu", "a100-sxm4-40gb", "--max-gpus", "4", "--random-input-len", "128", "--random-output-len", "16",
                    "--num-prompts", "16", "--max-concurrency", "8", "--threads", "2"]
        let bf16 = try Self.plan([], base: base)
        let fp8 = try Self.plan(["--quantization", "fp8"], base: base)
        // Online fp8 halves the weights: 2-GPU plans that did not fit now do.
        let fits = { (o: [String: Any]) in Self.simulated(o).map { $0["plan"] as! String } }
        #expect(fits(fp8).count > fits(bf16).count, "fp8 \(fits(fp8)) vs bf16 \(fits(bf16))")
        #expect(fits(fp8).contains { $0.hasPrefix("2x") } && !fits(bf16).contains { $0.hasPrefix("2x") })
        #expect(Self.held(fp8)["--quantization"] == "fp8")
        for p in Self.simulated(fp8) { #expect((p["flags"] as! String).contains("--quantization fp8")) }
        // Less memory for the engine: fewer plans fit (the pruning bound uses the flag, not the profile's 0.9).
        let tight = try Self.plan(["--gpu-memory-utilization", "0.6"], base: base, someSimulated: false)
        #expect(fits(tight).count < fits(bf16).count, "\(fits(tight)) vs \(fits(bf16))")
        // An fp8 KV cache changes the attention prices of every simulated plan.
        let kv = try Self.plan(["--kv-cache-dtype", "fp8"])
        let a = Self.throughput(try Self.plan([])), b = Self.throughput(kv)
        #expect(!a.isEmpty && a.keys.sorted() == b.keys.sorted())
        #expect(a.contains { b[$0.key] != $0.value }, "--kv-cache-dtype fp8 changed nothing")
    }

    /// --routing: skewed routing changes every plan's expert time (fewer experts hit per step, and under EP a
    /// straggler GPU), so every simulated plan's throughput moves.
    @Test func routingFlag() throws {
        let uniform = Self.throughput(try Self.plan([]))
        let zipf = try Self.plan(["--routing", "zipf:1.5"])
        let z = Self.throughput(zipf)
        #expect(!uniform.isEmpty && z.keys.sorted() == uniform.keys.sorted())
        for (k, v) in uniform { #expect(z[k]! != v, "\(k): zipf:1.5 gave the uniform throughput \(v)") }
        #expect(Self.held(zipf)["--routing"] == "zipf:1.5")
        let bad = runCLI(["plan"] + Self.small + ["--routing", "zipf"])
        #expect(bad.code == 64 && bad.err.contains("--routing"), "\(bad.err)")
    }

    /// Scheduler flags: --max-num-seqs holds the searched dimension; --max-num-batched-tokens, --enforce-eager,
    /// --no-async-scheduling, prefix caching and --usage-context reach every simulation.
    @Test func schedulerFlags() throws {
        let seqs = try Self.plan(["--max-num-seqs", "8"])
        #expect(Self.searched(seqs)["max_num_seqs"] == nil && Self.held(seqs)["--max-num-seqs"] == "8")
        for p in Self.plans(seqs) { #expect((p["plan"] as! String).hasSuffix("seqs8")) }
        let base = Self.throughput(try Self.plan([]))
        for extra in [["--max-num-batched-tokens", "64"], ["--enforce-eager"], ["--no-async-scheduling"]] {
            let o = try Self.plan(extra)
            let t = Self.throughput(o)
            #expect(base.contains { t[$0.key] != nil && t[$0.key] != $0.value }, "\(extra) changed nothing")
            #expect(Self.held(o)[extra[0]] != nil)
        }
        // Prefix caching (on by default) matters only with shared prefixes.
        let prefix = ["--random-prefix-len", "256"]
        let on = Self.throughput(try Self.plan(prefix)), off = Self.throughput(try Self.plan(prefix + ["--no-enable-prefix-caching"]))
        #expect(on.contains { off[$0.key] != nil && off[$0.key]! < $0.value }, "prefix caching off should be slower with a shared prefix")
        let offline = try Self.plan(["--usage-context", "offline"], base: Self.small.filter { $0 != "--max-concurrency" && $0 != "16" })
        #expect(!Self.simulated(offline).isEmpty && Self.held(offline)["--usage-context"] == "offline")
    }

    /// Plan-shape flags hold their dimension: TP, DP, PP, expert parallelism and its backend, --strategy with --num-gpus.
    @Test func planShapeFlags() throws {
        let checks: [([String], (String) -> Bool)] = [
            (["--tensor-parallel-size", "2"], { $0.contains(" TP2") }),
            (["--data-parallel-size", "2"], { $0.contains(" DP2") }),
            (["-pp", "2"], { $0.contains(" PP2") }),
            (["--enable-expert-parallel"], { $0.contains(" EP") }),
            (["--all2all-backend", "deepep_low_latency"], { $0.contains("/deepep_low_latency") }),
            (["--all2all-backend", "pplx", "--engine-profile", "vllm-a100-hegde2025"], { $0.contains("/pplx") }),
            (["--strategy", "ep", "--num-gpus", "4"], { $0.hasPrefix("4x") && $0.contains("TP1 DP4 EP4") }),
            (["--strategy", "tp"], { $0.contains(" TP") && !$0.contains(" EP") && !$0.contains(" DP") && !$0.contains("TP1 ") }),
            (["--enable-eplb", "--num-redundant-experts", "4"], { $0.contains(" EP") }),
        ]
        for (extra, ok) in checks {
            let o = try Self.plan(extra)
            let labels = Self.plans(o).map { $0["plan"] as! String }
            #expect(!labels.isEmpty && labels.allSatisfy(ok), "\(extra): \(labels)")
            #expect(Self.held(o)[extra[0] == "-pp" ? "--pipeline-parallel-size" : extra[0]] != nil, "\(extra) not listed as held fixed")
        }
        let bad = runCLI(["plan"] + Self.small + ["--strategy", "hybrid", "--num-gpus", "3"])
        #expect(bad.code == 64 && bad.err.contains("--num-gpus 3"), "\(bad.err)")
    }

    /// Cluster flags: --interconnect prices only plans with several GPUs; --gpus-per-node makes 4-GPU plans span nodes.
    @Test func clusterFlags() throws {
        let base = Self.throughput(try Self.plan([]))
        let pcie = Self.throughput(try Self.plan(["--interconnect", "pcie-gen4"]))
        #expect(pcie["1x a100-sxm4-80gb TP1 seqs16"] == base["1x a100-sxm4-80gb TP1 seqs16"])
        #expect(pcie.contains { $0.key.hasPrefix("2x") && base[$0.key] != nil && $0.value != base[$0.key] }, "pcie changed no multi-GPU plan")
        let nodes = Self.throughput(try Self.plan(["--gpus-per-node", "2"]))
        #expect(nodes["2x a100-sxm4-80gb TP2 seqs16"] == base["2x a100-sxm4-80gb TP2 seqs16"])
        #expect(nodes.contains { $0.key.hasPrefix("4x") && base[$0.key] != nil && $0.value != base[$0.key] }, "two nodes changed no 4-GPU plan")
    }

    /// Instance flags: --replicas and a fixed prefill/decode split apply to every candidate; their flags are refused
    /// where they would do nothing.
    @Test func instanceFlags() throws {
        let rep = try Self.plan(["--replicas", "2", "--router", "round_robin"])
        let labels = Self.plans(rep).map { $0["plan"] as! String }
        #expect(!labels.isEmpty && labels.allSatisfy { $0.contains("x2 replicas") }, "\(labels)")
        for p in Self.plans(rep) { #expect((p["gpus"] as! Int) % 2 == 0 && (p["gpus"] as! Int) <= 4) }
        let pd = try Self.plan(["--prefill-instances", "1", "--decode-instances", "1", "--kv-transfer-latency-us", "100"])
        #expect(Self.plans(pd).allSatisfy { ($0["plan"] as! String).contains("1P1D") })
        let slower = try Self.plan(["--prefill-instances", "1", "--decode-instances", "1", "--kv-transfer-latency-us", "100000"])
        let a = Self.simulated(pd).compactMap { $0["p99_ttft_ms"] as? Double }, b = Self.simulated(slower).compactMap { $0["p99_ttft_ms"] as? Double }
        #expect(a.count == b.count && zip(a.sorted(), b.sorted()).allSatisfy { $0 < $1 }, "a 100 ms KV transfer should raise every TTFT")
        let lone = runCLI(["plan"] + Self.small + ["--kv-transfer-latency-us", "5"])
        #expect(lone.code == 64 && lone.err.contains("--kv-transfer-latency-us"), "\(lone.err)")
    }

    /// Speculative decoding reaches every candidate and leaves pipelined plans out (vLLM runs them apart).
    @Test func speculativeFlag() throws {
        let o = try Self.plan(["--speculative-config", #"{"method":"ngram","num_speculative_tokens":3,"acceptance_rate":0.5}"#])
        #expect(!Self.plans(o).contains { ($0["plan"] as! String).contains(" PP") })
        let base = Self.throughput(try Self.plan([])), t = Self.throughput(o)
        #expect(t.contains { base[$0.key] != nil && base[$0.key] != $0.value })
    }

    /// With SLOs no simulated plan meets, nothing is recommended: the text names the plan closest to them instead and
    /// the JSON's `recommended` is null beside `closest_to_slo` (the plan whose worst P99 over its objective is least).
    @Test func noRecommendationWhenNoPlanMeetsTheSLO() throws {
        let tight = ["--slo-tpot-p99-ms", "0.5", "--slo-ttft-p99-ms", "1"]
        let text = runCLI(["plan"] + Self.small + tight)
        #expect(text.code == 0 && !text.out.contains("Recommended") && text.out.contains("so none is recommended"), "\(text.out)")
        let line = try #require(text.out.split(separator: "\n").first { $0.hasPrefix("Closest to the SLO: ") }, "\(text.out)")
        let o = try Self.plan(tight)
        #expect(o["recommended"] is NSNull)
        let closest = try #require(o["closest_to_slo"] as? [String: Any])
        let label = try #require(closest["plan"] as? String), factor = try #require(closest["slo_miss_factor"] as? Double)
        #expect(line.contains(label) && factor > 1, "\(line) \(closest)")
        // It is the least miss of every simulated plan: the worse of P99 TTFT / 1 ms and P99 TPOT / 0.5 ms.
        let misses = Self.simulated(o).map { max(($0["p99_ttft_ms"] as! Double) / 1, ($0["p99_tpot_ms"] as! Double) / 0.5) }
        #expect(!misses.isEmpty && abs(factor - misses.min()!) < 1e-9 * factor, "\(factor) vs \(misses)")
        #expect(Self.simulated(o).allSatisfy { $0["status"] as? String == "misses SLO" })
        // A loose SLO: the top plan is recommended, and there is no closest.
        let loose = try Self.plan(["--slo-tpot-p99-ms", "100000"])
        #expect((loose["recommended"] as? [String: Any])?["plan"] as? String == Self.simulated(loose).first?["plan"] as? String)
        #expect(loose["closest_to_slo"] is NSNull)
        #expect(runCLI(["plan"] + Self.small + ["--slo-tpot-p99-ms", "100000"]).out.contains("\nRecommended: "))
    }

    /// A search that simulates nothing exits 65 after printing why (each plan's reason), text or JSON.
    @Test func nothingSimulatedExits65() throws {
        let args = ["plan", "--model", "deepseek-v3", "--gpu", "a100-sxm4-80gb", "--max-gpus", "4", "--num-prompts", "50"]
        let j = runCLI(args + ["--json"])
        #expect(j.code == 65)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
        let n = try #require(o["candidates"] as? Int)
        #expect(n > 0 && o["simulated"] as? Int == 0 && o["recommended"] is NSNull && (o["plans"] as? [Any])?.count == n)
        let r = runCLI(args)
        #expect(r.code == 65 && r.out.contains("No plan could be simulated") && r.out.contains("does not fit"), "\(r.out)")
        #expect(r.err.contains("Error: no plan could be simulated for deepseek-v3: all \(n) candidates"), "\(r.err)")
    }

    /// run's output flags and the HF engine are refused with what plan does instead.
    @Test func outputFlagsAndOtherEnginesRefused() {
        for extra in [["--save-result", "r.json"], ["--timeline", "t.json"], ["--goodput", "ttft:500"], ["--engine", "hf"]] {
            let r = runCLI(["plan"] + Self.small + extra)
            #expect(r.code == 64 && r.err.contains(extra[0]) && !r.err.contains("Unknown option"), "\(extra): \(r.err)")
        }
    }

    /// A plan's candidates share routing draws (`RoutingDrawCache`); each must still come out exactly as `run` alone
    /// (which does not share) gives it: the same throughput and latencies, bit for bit.
    @Test func planResultsEqualEachCandidateRunAlone() throws {
        let workload = Array(Self.small.dropFirst(4).dropLast(2))   // the workload flags, without --model, --max-gpus and --threads
        let o = try Self.plan(["--routing", "zipf:1.2"])
        let sim = Self.simulated(o)
        #expect(sim.count >= 6)
        for p in sim {
            let flags = (p["flags"] as! String).split(separator: " ").map(String.init)
            let r = runCLI(["run", "--model", "olmoe-1b-7b"] + flags + workload + ["--json"])
            let j = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
            #expect(j["output_throughput"] as? Double == p["output_throughput"] as? Double, "\(p["plan"]!)")
            #expect(j["p99_ttft_ms"] as? Double == p["p99_ttft_ms"] as? Double && j["p99_tpot_ms"] as? Double == p["p99_tpot_ms"] as? Double, "\(p["plan"]!)")
        }
    }
}
