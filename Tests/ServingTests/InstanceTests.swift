import Foundation
import Testing
import SimKit
import Cluster
@testable import Serving

/// Several engine instances on one event queue: routers on constructed arrivals, KV transfer in disaggregation.
@Suite struct InstanceTests {
    static func requests(_ times: [Double], input: Int = 256, output: Int = 32, keys: [UInt64]? = nil) -> Workload {
        let reqs = times.enumerated().map { i, t in
            Request(arrival: .seconds(t), inputTokens: input, outputTokens: output, prefixKey: keys?[i] ?? 0, sharedTokens: keys == nil ? 0 : input)
        }
        return Workload(requests: reqs, maxConcurrency: nil, description: "constructed")
    }

    func run(_ w: Workload, _ policy: RouterPolicy, replicas: Int = 2, prefixCaching: Bool = false) throws -> RunResult {
        var sim = InstanceSimulator(instances: .init(deployment: try deployment("olmoe-1b-7b"), count: replicas), policy: policy, workload: w, seed: 0)
        sim.prefixCaching = prefixCaching
        return try sim.run()
    }

    @Test func kvTransferTimeIsBytesOverBandwidth() {
        // 1000 tokens x 64 KiB per token per GPU over 100 GB/s, plus 5 us.
        #expect(abs(InstanceSimulator.kvTransferUs(tokens: 1000, bytesPerTokenPerGPU: 65536, linkGBps: 100, latencyUs: 5) - (5 + 655.36)) < 1e-9)
    }

    /// One request at a time (nothing queues), so each TTFT moves by exactly its prompt's transfer time.
    @Test func disaggregatedTTFTIncludesTheTransfer() throws {
        let d = try deployment("olmoe-1b-7b")
        var w = Self.requests([0, 1, 2, 3], input: 1000, output: 16)
        w.maxConcurrency = 1
        func ttft(_ gbps: Double) throws -> RunResult {
            var sim = InstanceSimulator(instances: .init(deployment: d, count: 1), prefill: .init(deployment: d, count: 1), policy: .round_robin, workload: w, seed: 0)
            sim.kvLinkGBps = gbps
            return try sim.run()
        }
        let fast = try ttft(1000), slow = try ttft(10)
        let bytes = d.model.kvBytesPerToken(tensorParallel: 1)
        let expected = (InstanceSimulator.kvTransferUs(tokens: 1000, bytesPerTokenPerGPU: bytes, linkGBps: 10, latencyUs: 0)
                        - InstanceSimulator.kvTransferUs(tokens: 1000, bytesPerTokenPerGPU: bytes, linkGBps: 1000, latencyUs: 0)) / 1e3
        #expect(abs((slow.ttftMs.mean - fast.ttftMs.mean) - expected) < 1e-5, "TTFT moved \(slow.ttftMs.mean - fast.ttftMs.mean) ms, transfer \(expected) ms")
        #expect(abs(slow.tpotMs.mean - fast.tpotMs.mean) < 1e-9)
        #expect(slow.completed == 4 && slow.gpus == 2 && slow.instances?.map(\.role) == ["prefill", "decode"])
        #expect(slow.instances?.map(\.requests) == [4, 4])
    }

    /// One replica behind a router is the engine itself.
    @Test func oneReplicaIsTheEngine() throws {
        let d = try deployment("olmoe-1b-7b")
        let w = try randomWorkload(input: 200, output: 50, ratio: 0.5, prompts: 40, rate: 10, seed: 4)
        var sim = InstanceSimulator(instances: .init(deployment: d, count: 1), policy: .round_robin, workload: w, seed: 4)
        let a = try sim.run()
        sim.policy = .least_outstanding
        let b = try VLLMSimulator(deployment: d, workload: w, seed: 4).run()
        // Equal up to rounding: the event queue keeps times in whole nanoseconds.
        for (x, y) in [(a.ttftMs, b.ttftMs), (a.tpotMs, b.tpotMs), (a.itlMs, b.itlMs), (a.e2elMs, b.e2elMs)] {
            #expect(abs(x.mean - y.mean) < 1e-9 * y.mean && abs(x.p99 - y.p99) < 1e-9 * y.p99 && x.count == y.count)
        }
        #expect(abs(a.durationS - b.durationS) < 1e-9 && a.steps == b.steps)
    }

    @Test func roundRobinAlternates() throws {
        let r = try run(Self.requests([0, 10, 20, 30, 40]), .round_robin)
        #expect(r.instances?.map(\.requests) == [3, 2])
    }

    /// Far-apart arrivals find every instance idle: least outstanding keeps the lowest index; simultaneous ones spread.
    @Test func leastOutstanding() throws {
        #expect(try run(Self.requests([0, 10, 20, 30]), .least_outstanding).instances?.map(\.requests) == [4, 0])
        #expect(try run(Self.requests([0, 0, 0, 0, 0, 0]), .least_outstanding, replicas: 3).instances?.map(\.requests) == [2, 2, 2])
    }

    /// Prefix-aware: every request of a prefix follows the first, so the cache hits on its instance; round robin
    /// splits each prefix over both and misses once per instance.
    @Test func prefixAwareKeepsPrefixesTogether() throws {
        let keys: [UInt64] = [1, 2, 1, 2, 1, 1, 2, 1]
        let w = Self.requests([0, 0, 5, 5, 10, 15, 20, 25], input: 512, keys: keys)
        let aware = try run(w, .prefix_aware, prefixCaching: true)
        // Key 1 goes to instance 0, key 2 (arriving while 0 is busy) to instance 1.
        #expect(aware.instances?.map(\.requests) == [5, 3])
        let rr = try run(w, .round_robin, prefixCaching: true)
        let bs = 16
        #expect(aware.prefixCache!.hitTokens == 6 * (511 / bs) * bs)
        #expect(rr.prefixCache!.hitTokens < aware.prefixCache!.hitTokens)
    }
}

/// Issue 25: the KV transfer of a disaggregated run is priced by the busiest GPU's bytes.
@Suite struct KVTransferBytesTests {
    @Test func tp8PrefillToTP2DecodeMovesEachDecodeGPUsShard() throws {
        let tp2 = try deployment("mixtral-8x7b", plan: ParallelPlan(tp: 2))
        let tp8 = try deployment("mixtral-8x7b", gpu: "h100-sxm-80gb", plan: ParallelPlan(tp: 8))
        let m = tp2.model
        // Eight prefill shards of one KV head each arrive at two decode GPUs of four heads each.
        #expect(InstanceSimulator.kvBytesPerTokenPerGPU(prefill: tp8, decode: tp2) == m.kvBytesPerToken(tensorParallel: 2))
        #expect(InstanceSimulator.kvBytesPerTokenPerGPU(prefill: tp2, decode: tp8) == m.kvBytesPerToken(tensorParallel: 2))
        #expect(m.kvBytesPerToken(tensorParallel: 8) * 4 == m.kvBytesPerToken(tensorParallel: 2))
    }
}
