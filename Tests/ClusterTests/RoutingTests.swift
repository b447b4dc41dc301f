import Foundation
import Testing
import SimKit
@testable import Cluster

@Suite struct CommunicationVolumeTests {
    @Test func eq2ByHand() {
        // 2 x hidden x tokens x (P-1)/P
        #expect(tensorParallelAllReduceElements(hidden: 4096, batchTokens: 128, gpus: 2) == 2 * 4096 * 128 * 0.5)
        #expect(tensorParallelAllReduceElements(hidden: 4096, batchTokens: 100, gpus: 4) == 614_400)
        #expect(tensorParallelAllReduceElements(hidden: 2048, batchTokens: 3, gpus: 8) == 2 * 2048 * 3 * 7.0 / 8.0)
        #expect(tensorParallelAllReduceElements(hidden: 4096, batchTokens: 128, gpus: 1) == 0)
    }

    @Test func eq3ByHand() {
        // k x hidden x tokens x (P-1)/P
        #expect(expertParallelAllToAllElements(topK: 2, hidden: 4096, batchTokens: 128, gpus: 2) == 524_288)
        #expect(expertParallelAllToAllElements(topK: 8, hidden: 2048, batchTokens: 100, gpus: 4) == 1_228_800)
        #expect(expertParallelAllToAllElements(topK: 4, hidden: 2048, batchTokens: 10, gpus: 8) == 4 * 2048 * 10 * 7.0 / 8.0)
        #expect(expertParallelAllToAllElements(topK: 8, hidden: 2048, batchTokens: 100, gpus: 1) == 0)
    }

    /// Spreads tokens evenly over P GPUs, draws each token's experts with the routing model's own sampler and
    /// counts token-expert pairs whose expert lives on another GPU (contiguous placement): eq. 3 / hidden on average.
    @Test(arguments: [2, 4, 8])
    func eq3MatchesSampledRemotePairs(gpus p: Int) throws {
        let m = try Repo.store.model("olmoe-1b-7b")
        let moe = try #require(m.moe)
        let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 7)
        let placement = ExpertPlacement.contiguous(experts: moe.experts, gpus: p, moeLayers: m.moeLayerCount)
        var rng = Xoshiro256(seed: 99)
        var pick = Array(repeating: 0, count: moe.topK)
        let tokens = 128, draws = 200
        var remote = 0.0
        for _ in 0..<draws {
            for t in 0..<tokens {
                RoutingModel.drawToken(routing.alias[0], recorded: nil, topK: moe.topK, rng: &rng, into: &pick)
                #expect(Set(pick).count == moe.topK)
                for e in pick where placement.owners[0][e] != [t % p] { remote += 1 }
            }
        }
        let mean = remote / Double(draws)
        let eq3 = expertParallelAllToAllElements(topK: moe.topK, hidden: m.hidden, batchTokens: tokens, gpus: p) / Double(m.hidden)
        #expect(relClose(mean, eq3, 0.02), "sampled \(mean) vs eq. 3 \(eq3)")
    }

    @Test(arguments: [64, 1024])
    func costModelRemotePairsMatchEq3(tokens: Int) throws {
        let store = Repo.store
        let m = try store.model("olmoe-1b-7b")
        let moe = try #require(m.moe)
        let plan = ParallelPlan.Strategy.ep.plan
        let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 3)
        let cost = try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: try store.gpu("a100-sxm4-80gb")),
                                     interconnect: try store.interconnect("dgx-a100"), routing: routing,
                                     placement: .contiguous(experts: moe.experts, gpus: 2, moeLayers: m.moeLayerCount), seed: 3)
        var remote: [Double] = [], pairs: [Double] = []
        for _ in 0..<8 {
            _ = cost.sampleMoE(tokens: tokens) { d in
                remote.append(Double(d.remotePairs))
                pairs.append(Double(d.tokensPerGPU.reduce(0, +)))
            }
        }
        #expect(remote.count == 8 * m.moeLayerCount)
        let eq3 = expertParallelAllToAllElements(topK: moe.topK, hidden: m.hidden, batchTokens: tokens, gpus: 2) / Double(m.hidden)
        #expect(relClose(Statistics.mean(remote), eq3, 0.02), "\(Statistics.mean(remote)) vs \(eq3)")
        #expect(relClose(Statistics.mean(pairs), Double(moe.topK * tokens), 0.02))
        if tokens * moe.topK <= RoutingModel.exactLimit {
            #expect(pairs.allSatisfy { $0 == Double(moe.topK * tokens) })
        }
    }
}

@Suite struct RoutingModelTests {
    func olmoeRouting(_ spec: RoutingSpec, seed: UInt64 = 1) throws -> RoutingModel {
        try RoutingModel(spec: spec, experts: 64, topK: 8, layers: 16, seed: seed)
    }

    @Test(arguments: [RoutingSpec.uniform, .zipf(1.2), .dirichlet(0.5)])
    func inclusionProbabilitiesSumToK(_ spec: RoutingSpec) throws {
        let r = try olmoeRouting(spec)
        #expect(r.inclusion.count == 16)
        for l in 0..<16 {
            #expect(abs(r.inclusion[l].reduce(0, +) - 8) < 1e-6)
            #expect(abs(r.popularity[l].reduce(0, +) - 1) < 1e-9)
            #expect(r.inclusion[l].allSatisfy { $0 >= 0 && $0 <= 1 + 1e-12 })
        }
    }

    @Test(arguments: [16, 1000]) // exact draws and the binomial path
    func sampledCountsTotalKTimesTokens(tokens: Int) throws {
        let r = try olmoeRouting(.uniform)
        var rng = Xoshiro256(seed: 5)
        var counts = Array(repeating: 0, count: 64)
        var totals: [Double] = []
        for i in 0..<400 {
            r.sampleCounts(layer: i % 16, tokens: tokens, rng: &rng, into: &counts)
            #expect(counts.allSatisfy { $0 >= 0 && $0 <= tokens })
            totals.append(Double(counts.reduce(0, +)))
        }
        #expect(relClose(Statistics.mean(totals), Double(8 * tokens), 0.01))
        if tokens * 8 <= RoutingModel.exactLimit { #expect(totals.allSatisfy { $0 == Double(8 * tokens) }) }
    }

    @Test func zipfSkewRaisesBusiestExpert() throws {
        func meanMax(_ spec: RoutingSpec) throws -> Double {
            let r = try olmoeRouting(spec)
            var rng = Xoshiro256(seed: 11)
            var counts = Array(repeating: 0, count: 64)
            var s = 0.0
            for i in 0..<200 { r.sampleCounts(layer: i % 16, tokens: 256, rng: &rng, into: &counts); s += Double(counts.max()!) }
            return s / 200
        }
        let uniform = try meanMax(.uniform), mild = try meanMax(.zipf(0.8)), skewed = try meanMax(.zipf(1.5))
        #expect(uniform < mild)
        #expect(mild < skewed)
        #expect(skewed > 2 * uniform)
    }

    @Test func routingIsDeterministicPerSeed() throws {
        for spec in [RoutingSpec.zipf(1.1), .dirichlet(1.0)] {
            let a = try olmoeRouting(spec, seed: 42), b = try olmoeRouting(spec, seed: 42), c = try olmoeRouting(spec, seed: 43)
            #expect(a.popularity == b.popularity)
            #expect(a.inclusion == b.inclusion)
            #expect(a.popularity != c.popularity)
            var r1 = Xoshiro256(seed: 9), r2 = Xoshiro256(seed: 9)
            var c1 = Array(repeating: 0, count: 64), c2 = c1
            for l in 0..<16 {
                a.sampleCounts(layer: l, tokens: 100, rng: &r1, into: &c1)
                b.sampleCounts(layer: l, tokens: 100, rng: &r2, into: &c2)
                #expect(c1 == c2)
            }
        }
    }

    /// EP MoE expert time (slowest GPU per layer) cannot fall as routing gets more skewed.
    @Test func expertParallelTimeNonDecreasingInZipfS() throws {
        let store = Repo.store
        let m = try store.model("olmoe-1b-7b")
        let moe = try #require(m.moe)
        let gpu = try store.gpu("a100-sxm4-80gb"), ic = try store.interconnect("dgx-a100")
        var times: [Double] = []
        for spec in [RoutingSpec.uniform, .zipf(0.5), .zipf(1.0), .zipf(1.5)] {
            let routing = try RoutingModel(spec: spec, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 1)
            let cost = try StepCostModel(model: m, plan: ParallelPlan.Strategy.ep.plan, kernels: KernelCost(gpu: gpu), interconnect: ic,
                                         routing: routing, placement: .contiguous(experts: moe.experts, gpus: 2, moeLayers: m.moeLayerCount), seed: 1)
            let samples = cost.moeSamples(tokens: 512)
            #expect(samples.count >= StepCostModel.samplesPerSize / 2 && samples.count <= StepCostModel.samplesPerSize)
            #expect(samples.allSatisfy { $0.imbalance >= 1 - 1e-12 })
            times.append(Statistics.mean(samples.map(\.expertsUs)))
        }
        for i in 1..<times.count { #expect(times[i] >= times[i - 1] * 0.99, "\(times)") }
        #expect(times.last! > times.first!)
    }

    struct SpecCase: Sendable, CustomTestStringConvertible {
        var text: String
        var fragment: String
        var testDescription: String { text }
    }

    @Test(arguments: [
        SpecCase(text: "zipf:abc", fragment: "'zipf:abc' is invalid for '--routing'"),
        SpecCase(text: "zipf:-1", fragment: "positive number"),
        SpecCase(text: "dirichlet", fragment: "'dirichlet' is invalid"),
        SpecCase(text: "bogus", fragment: "'uniform', 'zipf:S'"),
        SpecCase(text: "uniform:2", fragment: "'uniform:2' is invalid"),
    ])
    func badRoutingSpecs(_ c: SpecCase) {
        let e = inputErrorMessage { _ = try RoutingSpec(parsing: c.text) }
        #expect(e?.kind == .usage)
        #expect(e?.message.contains(c.fragment) == true, "\(e?.message ?? "")")
    }

    @Test func parsesRoutingSpecs() throws {
        #expect(try RoutingSpec(parsing: "uniform") == .uniform)
        #expect(try RoutingSpec(parsing: "zipf:1.2") == .zipf(1.2))
        #expect(try RoutingSpec(parsing: "dirichlet:0.3") == .dirichlet(0.3))
        #expect(try RoutingSpec(parsing: "histogram:/x/h.json") == .histogram("/x/h.json"))
    }
}
