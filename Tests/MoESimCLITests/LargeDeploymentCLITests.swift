import Foundation
import Testing
@testable import MoESimCLI
import Studies

/// Issue 15's done-criteria through the command line.
@Suite struct LargeDeploymentCLITests {
    let workload = ["--random-input-len", "256", "--random-output-len", "32", "--num-prompts", "32", "--max-concurrency", "32", "--json"]

    func run(_ args: [String]) throws -> [String: Any] {
        let r = runCLI(["run"] + args + workload)
        #expect(r.code == 0, "\(r.err)")
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] ?? [:]
    }

    @Test func deepSeekV3FP8OnEightH200() throws {
        let j = try run(["--model", "deepseek-v3", "--gpu", "h200-sxm-141gb", "--tensor-parallel-size", "8"])
        #expect((j["output_throughput"] as? Double ?? 0) > 0)
        let e = runCLI(["explain", "--model", "deepseek-v3", "--gpu", "h200-sxm-141gb", "--tensor-parallel-size", "8", "--decode-seqs", "8"])
        #expect(e.code == 0 && e.out.contains("memory per GPU: weights 84.") && e.out.contains("fp8"))
    }

    @Test(.fullTests) func deepSeekV3DP16EP16OverTwoNodes() throws {
        for backend in ["naive", "allgather_reducescatter", "pplx", "deepep_high_throughput", "deepep_low_latency"] {
            let j = try run(["--model", "deepseek-v3", "--gpu", "h200-sxm-141gb", "--data-parallel-size", "16", "--data-parallel-size-local", "8",
                             "--enable-expert-parallel", "--all2all-backend", backend])
            #expect((j["output_throughput"] as? Double ?? 0) > 0, "\(backend)")
        }
        let e = runCLI(["explain", "--model", "deepseek-v3", "--gpu", "h200-sxm-141gb", "--data-parallel-size", "16", "--enable-expert-parallel",
                        "--all2all-backend", "deepep_low_latency", "--decode-seqs", "64", "--json"])
        #expect(e.code == 0 && e.out.contains("\"nodes\": 2") && e.out.contains("ib-ndr-400"), "\(e.err)")
    }

    @Test func roceNetworkIsPickedByName() throws {
        let args = ["--model", "qwen3-30b-a3b", "--gpu", "h100-sxm-80gb", "--data-parallel-size", "16", "--enable-expert-parallel", "--all2all-backend", "pplx"]
        let ib = try run(args), roce = try run(args + ["--network", "roce-400"])
        let tIB = ib["output_throughput"] as? Double ?? 0, tRoCE = roce["output_throughput"] as? Double ?? 0
        #expect(tRoCE > 0 && tRoCE < tIB, "RoCE \(tRoCE) vs IB \(tIB)")
        // DeepEP over a network without DeepEP figures: the all-to-all of eq. 3, and explain says so.
        let e = runCLI(["explain", "--model", "qwen3-30b-a3b", "--gpu", "h100-sxm-80gb", "--data-parallel-size", "16", "--enable-expert-parallel",
                        "--all2all-backend", "deepep_low_latency", "--network", "roce-400", "--decode-seqs", "64"])
        #expect(e.code == 0 && e.out.contains("RoCEv2") && e.out.contains("roce-400 has no DeepEP figures"), "\(e.err)")
        #expect(!e.out.contains("at DeepSeek's published bandwidths"))
    }

    @Test func publishedDeploymentFiguresAreHeldOutChecks() throws {
        // experiments/published-deployments: published figures checked, never fitted; every run a valid `moesim run`.
        let m = try Manifest(file: Repo.root + "/experiments/published-deployments/runs.json")
        #expect(m.entries.count == 4 && m.entries.allSatisfy { !$0.fit && !$0.measured.isEmpty })
        for e in m.entries {
            for a in e.runs {
                // The same flags with 8 prompts (the full runs are experiments/published-deployments/run.sh).
                var args = a
                if let i = args.firstIndex(of: "--num-prompts"), i + 1 < args.count { args[i + 1] = "8" }
                let r = runCLI(["run"] + args + ["--json"])
                #expect(r.code == 0, "\(e.id): \(r.err)")
            }
        }
    }

    @Test func gptOss120bOnOneH100() throws {
        let j = try run(["--model", "gpt-oss-120b", "--gpu", "h100-sxm-80gb"])
        #expect((j["output_throughput"] as? Double ?? 0) > 0)
    }

    @Test func eplbAndKVCacheDtype() throws {
        let skew = ["--model", "qwen3-30b-a3b", "--gpu", "h200-sxm-141gb", "--data-parallel-size", "8", "--enable-expert-parallel", "--routing", "zipf:1.2",
                    "--random-input-len", "2048", "--random-output-len", "8", "--num-prompts", "32", "--max-concurrency", "32", "--json"]
        let plain = runCLI(["run"] + skew), eplb = runCLI(["run"] + skew + ["--enable-eplb", "--num-redundant-experts", "16"])
        #expect(plain.code == 0 && eplb.code == 0, "\(eplb.err)")
        let a = try JSONSerialization.jsonObject(with: Data(plain.out.utf8)) as? [String: Any], b = try JSONSerialization.jsonObject(with: Data(eplb.out.utf8)) as? [String: Any]
        #expect((b?["total_token_throughput"] as? Double ?? 0) > (a?["total_token_throughput"] as? Double ?? 0))
        let kv = runCLI(["run", "--model", "qwen3-30b-a3b", "--gpu", "h200-sxm-141gb", "--kv-cache-dtype", "fp8"] + workload)
        #expect(kv.code == 0 && kv.out.contains("fp8 KV cache"))
    }

    @Test(arguments: [
        (["--quantization", "awq"], "quant_method awq"),
        (["--quantization", "int3"], "--quantization"),
        (["--kv-cache-dtype", "fp4"], "--kv-cache-dtype"),
        (["--enable-eplb"], "--enable-expert-parallel"),
        (["--data-parallel-size", "2", "--enable-expert-parallel", "--enable-eplb", "--num-redundant-experts", "3"], "do not divide"),
        (["--num-redundant-experts", "2"], "--enable-eplb"),
        (["--gpus-per-node", "0"], "--gpus-per-node"),
        (["--data-parallel-size", "16", "--gpus-per-node", "6"], "whole nodes"),
        (["--tensor-parallel-size", "4", "--network", "ib-ndr-400"], "'--network' joins nodes"),
        (["--all2all-backend", "deepep_turbo", "--enable-expert-parallel", "--data-parallel-size", "2"], "--all2all-backend"),
    ])
    func badFlagsNameThemselves(_ c: ([String], String)) {
        let r = runCLI(["run", "--model", "qwen3-30b-a3b", "--gpu", "h200-sxm-141gb"] + c.0 + workload)
        #expect(r.code != 0)
        #expect(r.err.contains(c.1), "\(r.err)")
    }
}
