import Foundation
import Testing
import Cluster
import Serving
@testable import Studies

/// The serving features from the command line: flags reach the engine, and flags a run would not use are refused.
@Suite struct ServingFeaturesCLITests {
    static let base = ["--model", "olmoe-1b-7b", "--num-prompts", "20", "--random-input-len", "256", "--random-output-len", "16"]

    @Test func flagsReachTheEngine() throws {
        let pc = try Simulation.run(arguments: Self.base + ["--random-prefix-len", "512", "--enable-prefix-caching", "--max-concurrency", "1"], store: StudiesRepo.store).result
        #expect(pc.prefixCache?.hitTokens == 19 * 512)
        let sp = try Simulation.run(arguments: Self.base + ["--speculative-config", "{\"method\": \"ngram\", \"num_speculative_tokens\": 2, \"acceptance_rate\": 1}"],
                                    store: StudiesRepo.store).result
        #expect(sp.speculative?.tokensPerStep == 3)
        let rep = try Simulation.run(arguments: Self.base + ["--replicas", "2", "--router", "round_robin"], store: StudiesRepo.store).result
        #expect(rep.instances?.map(\.requests) == [10, 10] && rep.gpus == 2)
        let dis = try Simulation.run(arguments: Self.base + ["--prefill-instances", "1", "--decode-instances", "2", "--kv-transfer-bandwidth-gbps", "50"],
                                     store: StudiesRepo.store).result
        #expect(dis.instances?.map(\.role) == ["prefill", "decode", "decode"] && dis.completed == 20)
    }

    @Test(arguments: [
        ["--router", "round_robin"],
        ["--kv-transfer-bandwidth-gbps", "10"],
        ["--decode-instances", "2"],
        ["--replicas", "2", "--prefill-instances", "1"],
        ["--replicas", "0"],
        ["--random-prefix-len", "-1"],
        ["--speculative-config", "{\"method\": \"eagle\", \"num_speculative_tokens\": 3}"],
    ])
    func refused(_ extra: [String]) {
        #expect(throws: InputError.self) { _ = try Simulation.run(arguments: Self.base + extra, store: StudiesRepo.store) }
    }

    @Test func refusedByTheHFEngine() {
        for f in [["--enable-prefix-caching"], ["--replicas", "2"], ["--speculative-config", "{}"]] {
            #expect(throws: InputError.self) {
                _ = try Simulation.run(arguments: ["--model", "olmoe-1b-7b", "--engine", "hf"] + f, store: StudiesRepo.store)
            }
        }
    }

    @Test func planAddsDisaggregatedCandidates() throws {
        var s = PlanSearch(model: try StudiesRepo.store.model("olmoe-1b-7b"), modelArg: "olmoe-1b-7b", gpus: ["a100-sxm4-80gb"], maxGPUs: 4,
                           workloadArgs: [], sloTTFTp99Ms: nil, sloTPOTp99Ms: nil, prices: [:])
        let agg = s.candidates()
        s.includeDisaggregated = true
        let all = s.candidates()
        let dis = all.filter { $0.prefillInstances > 0 }
        #expect(all.count == agg.count + dis.count)
        #expect(dis.allSatisfy { $0.gpus <= 4 && $0.dp == 1 && $0.args.contains("--prefill-instances") })
        // 1P1D, 1P2D, 2P1D, 1P3D, 3P1D of TP1; 1P1D of TP2; never 2P2D (1P1D twice).
        let tp1 = Set(dis.filter { $0.tp == 1 && !$0.ep }.map { "\($0.prefillInstances)P\($0.decodeInstances)D" })
        #expect(tp1 == ["1P1D", "1P2D", "2P1D", "1P3D", "3P1D"])
        #expect(Set(dis.filter { $0.tp == 2 && !$0.ep }.map { "\($0.prefillInstances)P\($0.decodeInstances)D" }) == ["1P1D"])
        #expect(dis.allSatisfy { $0.pp == 1 })
    }

    @Test func planAddsPipelinedCandidates() throws {
        let s = PlanSearch(model: try StudiesRepo.store.model("olmoe-1b-7b"), modelArg: "olmoe-1b-7b", gpus: ["h100-sxm-80gb"], maxGPUs: 16,
                           workloadArgs: [], sloTTFTp99Ms: nil, sloTPOTp99Ms: nil, prices: [:])
        let pp = s.candidates().filter { $0.pp > 1 }
        // TP x PP = 2 ... 16 with TP within a node of 8: (1,2) (2,2) (1,4) (4,2) (2,4) (1,8) (8,2) (4,4) (2,8) (1,16).
        #expect(Set(pp.map { "\($0.tp)x\($0.pp)" }) == ["1x2", "2x2", "1x4", "4x2", "2x4", "1x8", "8x2", "4x4", "2x8", "1x16"])
        #expect(pp.allSatisfy { $0.dp == 1 && $0.gpus == $0.tp * $0.pp && $0.args.contains("--pipeline-parallel-size") && $0.label.contains("PP\($0.pp)") })
        // Each runs: a pipelined plan over two nodes is simulated with its stages on the two nodes.
        let c = try #require(pp.first { $0.tp == 8 && $0.pp == 2 && !$0.ep })
        let o = try Simulation.run(arguments: ["--model", "olmoe-1b-7b"] + c.args + ["--num-prompts", "20"], store: StudiesRepo.store)
        #expect(o.result.gpus == 16 && o.deployment.topology.nodes == 2 && o.result.notes.contains { $0.hasPrefix("pipeline parallelism: 2 stages") })
    }

    @Test func pipelineFlagsFromTheCommandLine() throws {
        let o = try Simulation.run(arguments: Self.base + ["-tp", "2", "-pp", "2", "--gpu", "h100-sxm-80gb"], store: StudiesRepo.store)
        #expect(o.deployment.plan.pipelineParallel == 2 && o.result.gpus == 4 && o.result.completed == 20)
        // --data-parallel-size-local counts whole DP replicas per node: TP x PP GPUs each.
        let local = try Simulation.run(arguments: Self.base + ["-tp", "2", "-pp", "2", "-dp", "4", "--data-parallel-size-local", "2", "--enable-expert-parallel", "--gpu", "h100-sxm-80gb"],
                                       store: StudiesRepo.store)
        #expect(local.deployment.topology.gpusPerNode == 8 && local.deployment.topology.nodes == 2)
        for bad in [["-pp", "0"], ["-pp", "17"], ["-pp", "2", "--engine", "hf"], ["--strategy", "tp", "-pp", "2"], ["-tp", "3", "-pp", "2"]] {
            #expect(throws: InputError.self) { _ = try Simulation.run(arguments: Self.base + bad, store: StudiesRepo.store) }
        }
    }
}
