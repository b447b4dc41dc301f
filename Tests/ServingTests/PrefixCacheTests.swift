import Foundation
import Testing
import SimKit
import Cluster
@testable import Serving

/// Prefix caching (`--enable-prefix-caching`) on constructed workloads whose hit rates follow from the block size.
@Suite struct PrefixCacheTests {
    /// One request at a time, each with the same block-aligned 1024-token prefix and 200 tokens of its own: the
    /// first misses, every later one hits exactly the prefix: hit rate (N - 1) P / (N (P + U)).
    @Test func sharedPrefixHitRateIsClosedForm() throws {
        let d = try deployment("olmoe-1b-7b")
        let n = 20, p = 1024, u = 200
        let w = try Workload.random(inputLen: u, outputLen: 16, rangeRatio: 0, numPrompts: n, requestRate: nil, burstiness: 1,
                                    maxConcurrency: 1, seed: 1, prefixLen: p)
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 1)
        sim.prefixCaching = true
        let r = try sim.run()
        checkInvariants(r, w)
        let s = try #require(r.prefixCache)
        #expect(s.queriedTokens == n * (p + u))
        #expect(s.hitTokens == (n - 1) * p)
        #expect(abs(s.hitRate - Double((n - 1) * p) / Double(n * (p + u))) < 1e-12)
        #expect(s.evictedBlocks == 0)
        // Hits skip prefill work: TTFT falls below the run without caching.
        let off = try VLLMSimulator(deployment: d, workload: w, seed: 1).run()
        #expect(off.prefixCache == nil)
        #expect(r.ttftMs.mean < off.ttftMs.mean)
        #expect(r.totalInputTokens == off.totalInputTokens)
    }

    /// Requests sent together that share a prefix: vLLM caches a prompt chunk's full blocks as it allocates them, so
    /// the requests scheduled after the first in the same step already hit the prefix the first one computes (the
    /// step trace of probe/results/2026-12-08-h100-vllm-aq/olmoe-prefix/o-n256-p3072-i128-o64: a first step of
    /// [3200, 0], [128, 3072], [128, 3072]). Every request but the first hits it, none computes it again, and the
    /// first step holds them all.
    @Test func requestsOfOneStepHitThePrefixTheFirstComputes() throws {
        let d = try deployment("olmoe-1b-7b")
        let n = 8, p = 1024, u = 128
        let r = try sentTogether(d, n: n, prefix: p, own: u)
        let s = try #require(r.prefixCache)
        #expect(s.hitTokens == (n - 1) * p)
        // One prompt step: the whole prefix once and every request's own tokens.
        let first = try #require(r.timeline?.steps.first)
        #expect(first.tokens == p + n * u)
        #expect(first.sequences == n)
    }

    /// The same when the first prompt is longer than the token budget: its second chunk's blocks are cached as that
    /// chunk is scheduled, so every other request, admitted beside it in the second step, hits the whole prefix (named
    /// only after the step, the blocks of the second chunk would be missed by the requests of that step).
    @Test func requestsBesideARunningChunkHitTheBlocksItComputes() throws {
        let d = try deployment("olmoe-1b-7b")
        let budget = Int(d.param("max_num_batched_tokens")), bs = Int(d.param("block_size"))
        let n = 8, u = 128
        let p = (budget + 1024) / bs * bs
        // The first prompt's second chunk and the others' own tokens fill the second step's budget at most.
        try #require((p + u - budget) + (n - 1) * u <= budget)
        let r = try sentTogether(d, n: n, prefix: p, own: u)
        #expect(try #require(r.prefixCache).hitTokens == (n - 1) * p)
        let steps = try #require(r.timeline?.steps)
        #expect(steps.count > 2 && steps[0].sequences == 1 && steps[1].sequences == n)
    }

    /// `n` requests of `own` tokens behind a shared `prefix`, sent at once, run with prefix caching and a timeline.
    func sentTogether(_ d: Deployment, n: Int, prefix: Int, own: Int) throws -> RunResult {
        let w = try Workload.random(inputLen: own, outputLen: 4, rangeRatio: 0, numPrompts: n, requestRate: nil, burstiness: 1,
                                    maxConcurrency: nil, seed: 1, prefixLen: prefix)
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 1)
        sim.prefixCaching = true
        sim.recordTimeline = true
        let r = try sim.run()
        checkInvariants(r, w)
        return r
    }

    /// A conversation: turn 2's prompt repeats turn 1's prompt and answer, so it hits every full block of them.
    @Test func multiTurnHitsThePreviousTurn() throws {
        let d = try deployment("olmoe-1b-7b")
        let bs = Int(d.param("block_size"))
        let p1 = 500, o1 = 100, u2 = 300
        let reqs = [Request(arrival: .seconds(0), inputTokens: p1, outputTokens: o1, prefixKey: 7, sharedTokens: p1 + o1),
                    Request(arrival: .seconds(10), inputTokens: p1 + o1 + u2, outputTokens: 50, prefixKey: 7, sharedTokens: p1 + o1 + u2 + 50)]
        let w = Workload(requests: reqs, maxConcurrency: nil, description: "two turns")
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 0)
        sim.prefixCaching = true
        let s = try #require(try sim.run().prefixCache)
        // Turn 1 computed p1 + o1 - 1 tokens of KV (the last answer token is never fed back).
        #expect(s.hitTokens == (p1 + o1 - 1) / bs * bs)
        #expect(s.queriedTokens == p1 + (p1 + o1 + u2))
    }

    /// Distinct prefixes in a KV cache too small to keep them all: old blocks are evicted, least recently used first.
    @Test func evictionUnderMemoryPressure() throws {
        let d = try deployment("olmoe-1b-7b", overrides: ["gpu_memory_utilization": 0.2, "activation_profile": 0, "activation_reserve_gb": 2])
        let kvTokens = d.memoryPlan().kvTokens
        let p = 256
        let groups = kvTokens / p + 4 // more prefixes than the cache holds
        // Round 1 sends every group's prefix once; round 2 repeats them: only the groups still cached hit.
        var reqs: [Request] = []
        for round in 0..<2 {
            for g in 0..<groups {
                reqs.append(Request(arrival: .seconds(Double(round * groups + g)), inputTokens: p + 16, outputTokens: 4, prefixKey: UInt64(g + 1), sharedTokens: p))
            }
        }
        let w = Workload(requests: reqs, maxConcurrency: 1, description: "cyclic prefixes")
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 0)
        sim.prefixCaching = true
        let s = try #require(try sim.run().prefixCache)
        #expect(s.evictedBlocks > 0)
        // LRU with a cyclic access pattern larger than the cache: every repeat finds its prefix evicted.
        #expect(s.hitTokens == 0)

        // The same pattern with few groups fits: round 2 hits every prefix.
        let few = Array(reqs.prefix(2)) + [Request(arrival: .seconds(100), inputTokens: p + 16, outputTokens: 4, prefixKey: 1, sharedTokens: p),
                                           Request(arrival: .seconds(101), inputTokens: p + 16, outputTokens: 4, prefixKey: 2, sharedTokens: p)]
        var sim2 = VLLMSimulator(deployment: d, workload: Workload(requests: few, maxConcurrency: 1, description: "two prefixes"), seed: 0)
        sim2.prefixCaching = true
        let s2 = try #require(try sim2.run().prefixCache)
        #expect(s2.hitTokens == 2 * p)
        #expect(s2.evictedBlocks == 0)
    }

    /// Nothing shared and nothing preempted: caching changes no metric but for the engine core's hashing of each
    /// arriving prompt's blocks (`request_block_host_us`), which it does only with caching on.
    @Test func noSharingNoChange() throws {
        let w = try randomWorkload(input: 300, output: 40, ratio: 0.5, prompts: 60, rate: 20, seed: 2)
        func pair(_ d: Deployment) throws -> (on: RunResult, off: RunResult) {
            var on = VLLMSimulator(deployment: d, workload: w, seed: 2)
            on.prefixCaching = true
            return (try on.run(), try VLLMSimulator(deployment: d, workload: w, seed: 2).run())
        }
        let (a, b) = try pair(try deployment("olmoe-1b-7b", overrides: ["request_block_host_us": 0]))
        #expect(a.prefixCache?.hitTokens == 0)
        #expect(a.ttftMs.mean == b.ttftMs.mean && a.e2elMs.mean == b.e2elMs.mean && a.steps == b.steps)
        let (c, e) = try pair(try deployment("olmoe-1b-7b"))
        #expect(c.ttftMs.mean > e.ttftMs.mean && e.ttftMs.mean == b.ttftMs.mean, "\(c.ttftMs.mean) against \(e.ttftMs.mean)")
    }

    /// A preempted request finds its own blocks again when it is readmitted.
    @Test func preemptedRequestsHitTheirOwnBlocks() throws {
        let d = try deployment("olmoe-1b-7b", overrides: ["gpu_memory_utilization": 0.2, "activation_profile": 0, "activation_reserve_gb": 2])
        let w = try randomWorkload(input: 300, output: 300, ratio: 0.2, prompts: 30, concurrency: 30, seed: 3)
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 3)
        sim.prefixCaching = true
        let r = try sim.run()
        checkInvariants(r, w)
        #expect(r.preemptions > 0)
        #expect(try #require(r.prefixCache).hitTokens > 0)
    }

    /// A trace with a conversation column: turns of one conversation share tokens, other rows do not.
    @Test func traceConversationsShareTokens() throws {
        let dir = try makeTempDir()
        let f = dir + "/chat.csv"
        try "arrival_time,input_tokens,output_tokens,conversation_id\n0,400,100,a\n5,900,50,a\n6,400,100,b\n".write(toFile: f, atomically: true, encoding: .utf8)
        let reqs = try TraceLoader.load(file: f)
        #expect(reqs[0].prefixKey == reqs[1].prefixKey && reqs[0].prefixKey != reqs[2].prefixKey && reqs[0].prefixKey != 0)
        #expect(reqs[1].sharedTokens == 950)
        let d = try deployment("olmoe-1b-7b")
        var sim = VLLMSimulator(deployment: d, workload: Workload(requests: reqs, maxConcurrency: nil, description: "chat"), seed: 0)
        sim.prefixCaching = true
        let s = try #require(try sim.run().prefixCache)
        let bs = Int(d.param("block_size"))
        #expect(s.hitTokens == (400 + 100 - 1) / bs * bs)
    }

    /// The block table against a plain model (a dictionary of reference counts and an array of unreferenced blocks in
    /// release order) under random operations: lookups, inserts, retains, releases and evictions agree, including
    /// when keys share their low bits (long probe runs that deletion must shift back) and when the table grows past
    /// its starting size.
    @Test func blockTableMatchesAPlainModel() {
        for (seed, lowBits) in [(UInt64(1), 0), (2, 4), (3, 12)] {
            var rng = Xoshiro256(seed: seed)
            let table = BlockTable(capacity: 8)
            var refs: [UInt64: Int] = [:]
            var live: [UInt64] = []      // the keys in the table, in insertion order
            var released: [UInt64] = []  // unreferenced, oldest release first
            // Keys from a small pool (so inserts hit existing blocks); with `lowBits` > 0 many share their low bits.
            func key() -> UInt64 {
                let k = rng.next() % 600
                return lowBits == 0 ? k &* 0x9E37_79B9_7F4A_7C15 : (k << 20) | (k % UInt64(lowBits))
            }
            for _ in 0..<20_000 {
                let op = rng.next() % 10
                let pick = live.isEmpty ? nil : live[Int(rng.next() % UInt64(live.count))]
                if op < 4 {
                    let k = key()
                    let fresh = refs[k] == nil
                    #expect(table.insert(k) == fresh)
                    if fresh { refs[k] = 1; live.append(k) }
                } else if op < 6, let k = pick {
                    let slot = table.find(k)!
                    #expect(table.refs(slot) == refs[k]!)
                    if refs[k]! == 0 { released.removeAll { $0 == k } }
                    table.retain(slot)
                    refs[k]! += 1
                } else if op < 9, let k = pick, refs[k]! > 0 {
                    let nowFree = refs[k]! == 1
                    #expect(table.release(table.find(k)!) == nowFree)
                    refs[k]! -= 1
                    if nowFree { released.append(k) }
                } else if op == 9, !released.isEmpty {
                    table.evictOldest()
                    let k = released.removeFirst()
                    refs[k] = nil
                    live.removeAll { $0 == k }
                }
                #expect(table.count == refs.count)
                #expect(table.unreferenced == released.count)
            }
            for (k, r) in refs { #expect(table.find(k).map { table.refs($0) } == r) }
            for _ in 0..<200 { let k = key(); if refs[k] == nil { #expect(table.find(k) == nil) } }
            // Evicting everything unreferenced goes in release order, and leaves the referenced blocks.
            while !released.isEmpty {
                let next = released.removeFirst()
                #expect(table.find(next) != nil)
                table.evictOldest()
                #expect(table.find(next) == nil)
                refs[next] = nil
            }
            #expect(table.unreferenced == 0 && table.count == refs.count)
        }
    }
}
