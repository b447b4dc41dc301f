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
    }
}
