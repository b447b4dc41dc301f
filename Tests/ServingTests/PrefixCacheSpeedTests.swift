import Foundation
import Testing
import SimKit
@testable import Serving

/// The prefix cache keeps a request's own blocks (past its shared prefix) as runs rather than one hashed entry per
/// block. These tests hold it to the per-block cache it replaced, written here on plain containers, operation by
/// operation under random engine-like schedules: admissions (eviction, lookup, taking the hits), prompt chunks and
/// decode tokens (registering filled blocks), preemptions and completions (releasing everything).
@Suite struct PrefixCacheSpeedTests {
    /// The per-block prefix cache: every full block hashed (`PrefixCache.hash`) and reference-counted in a dictionary,
    /// the unreferenced ones in an array, oldest release first.
    final class PlainCache {
        var refs: [UInt64: Int] = [:]
        var released: [UInt64] = []
        var evictions = 0

        func evict(toFit free: Int) {
            while !released.isEmpty && released.count > free {
                refs[released.removeFirst()] = nil
                evictions += 1
            }
        }

        func peek(_ r: Request, index: Int, maxBlocks: Int, blockSize: Int) -> (hits: Int, revived: Int) {
            var hits = 0, revived = 0
            while hits < maxBlocks, let n = refs[PrefixCache.hash(r, index: index, block: hits, blockSize: blockSize)] {
                if n == 0 { revived += 1 }
                hits += 1
            }
            return (hits, revived)
        }

        func acquire(_ r: Request, index: Int, blocks: Int, blockSize: Int) {
            for j in 0..<blocks {
                let h = PrefixCache.hash(r, index: index, block: j, blockSize: blockSize)
                if refs[h]! == 0 { released.removeAll { $0 == h } }
                refs[h]! += 1
            }
        }

        func register(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) {
            guard !q.regStop else { return }
            let full = min(q.computed / blockSize, q.blocks)
            while q.refs < full {
                let h = PrefixCache.hash(r, index: index, block: q.refs, blockSize: blockSize)
                guard refs[h] == nil else { q.regStop = true; return }
                refs[h] = 1
                q.refs += 1
            }
        }

        func releaseAll(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) -> Int {
            if q.computed > 0 { register(&q, request: r, index: index, blockSize: blockSize) }
            var freed = q.blocks - q.refs
            var j = q.refs - 1
            while j >= 0 {
                let h = PrefixCache.hash(r, index: index, block: j, blockSize: blockSize)
                refs[h]! -= 1
                if refs[h]! == 0 { released.append(h); freed += 1 }
                j -= 1
            }
            q.refs = 0; q.regStop = false
            return freed
        }
    }

    enum State { case waiting, running, finished }

    /// Random schedules over a few dozen requests with shared prefixes of every shape (none, block-aligned or not,
    /// reaching past the prompt as a conversation's does), in caches small enough that blocks are evicted, requests
    /// preempted and readmitted (finding their own blocks, with lookups cut short mid-run): both caches give the same
    /// hits, revived blocks, freed blocks, registered blocks, evictable blocks and evictions at every step.
    @Test func runsMatchThePerBlockCache() {
        var totals = (preempted: 0, hitBlocks: 0, evicted: 0)
        for seed in UInt64(1)...12 {
            var rng = Xoshiro256(seed: seed)
            func draw(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
            let bs = [1, 2, 4, 16][draw(4)]
            let n = 30
            var reqs: [Request] = []
            for _ in 0..<n {
                let input = 1 + draw(90), output = 1 + draw(40)
                let key: UInt64 = draw(3) == 0 ? 0 : UInt64(1 + draw(3))
                reqs.append(Request(arrival: .seconds(0), inputTokens: input, outputTokens: output, prefixKey: key,
                                    sharedTokens: key == 0 ? 0 : draw(input + output + 20)))
            }
            let fast = PrefixCache(blocks: 4), plain = PlainCache()
            var a = reqs.map { VLLMSimulator.Seq(prompt: $0.inputTokens, output: $0.outputTokens) }
            var b = a
            var state = Array(repeating: State.waiting, count: n)
            var preempted = 0, hitBlocks = 0
            for _ in 0..<6000 {
                let s = draw(n)
                switch state[s] {
                case .finished:
                    continue
                case .waiting:
                    // Admission: evict down to the free blocks, look up, and (mostly) take the hits.
                    let free = [draw(4), draw(60), draw(1000)][draw(3)]
                    fast.evict(toFit: free); plain.evict(toFit: free)
                    let most = (a[s].prompt + a[s].generated - 1) / bs
                    let maxBlocks = draw(4) == 0 ? draw(most + 1) : most
                    let got = fast.peek(reqs[s], index: s, maxBlocks: maxBlocks, blockSize: bs)
                    let want = plain.peek(reqs[s], index: s, maxBlocks: maxBlocks, blockSize: bs)
                    #expect(got.hits == want.hits && got.revived == want.revived, "seed \(seed): peek of request \(s)")
                    guard got.hits == want.hits, draw(5) > 0 else { continue }
                    if got.hits > 0 {
                        fast.acquire(reqs[s], index: s, blocks: got.hits, blockSize: bs)
                        plain.acquire(reqs[s], index: s, blocks: got.hits, blockSize: bs)
                        a[s].blocks = got.hits; a[s].refs = got.hits; a[s].computed = got.hits * bs
                        b[s].blocks = got.hits; b[s].refs = got.hits; b[s].computed = got.hits * bs
                        hitBlocks += got.hits
                    }
                    state[s] = .running
                case .running:
                    if draw(4) > 0 {
                        // A prompt chunk or a decode token computed (blocks allocated ahead, as a scheduled step does).
                        let known = a[s].prompt + a[s].generated
                        if a[s].computed < known {
                            let step = draw(3) == 0 ? 1 + draw(known - a[s].computed) : 1
                            a[s].computed += step; b[s].computed += step
                            let blocks = max(a[s].blocks, (a[s].computed + bs - 1) / bs + draw(2))
                            a[s].blocks = blocks; b[s].blocks = blocks
                            fast.register(&a[s], request: reqs[s], index: s, blockSize: bs)
                            plain.register(&b[s], request: reqs[s], index: s, blockSize: bs)
                        } else if a[s].generated < a[s].output {
                            a[s].generated += 1; b[s].generated += 1
                        }
                        #expect(a[s].refs == b[s].refs && a[s].regStop == b[s].regStop, "seed \(seed): register of request \(s)")
                    } else {
                        // Finished, or preempted (back to waiting, to be recomputed).
                        let done = a[s].generated >= a[s].output && a[s].computed == a[s].prompt + a[s].generated
                        let f1 = fast.releaseAll(&a[s], request: reqs[s], index: s, blockSize: bs)
                        let f2 = plain.releaseAll(&b[s], request: reqs[s], index: s, blockSize: bs)
                        #expect(f1 == f2, "seed \(seed): blocks freed by request \(s)")
                        a[s].blocks = 0; a[s].computed = 0
                        b[s].blocks = 0; b[s].computed = 0
                        if done { state[s] = .finished } else { state[s] = .waiting; preempted += 1 }
                    }
                }
                #expect(fast.evictable == plain.released.count, "seed \(seed): evictable blocks")
                #expect(fast.evictions == plain.evictions, "seed \(seed): evictions")
                if fast.evictable != plain.released.count || fast.evictions != plain.evictions { break }
            }
            totals.preempted += preempted; totals.hitBlocks += hitBlocks; totals.evicted += plain.evictions
            // Draining the cache evicts the same blocks.
            fast.evict(toFit: 0); plain.evict(toFit: 0)
            #expect(fast.evictions == plain.evictions && fast.evictable == 0)
        }
        // The schedules reach what the runs must get right.
        #expect(totals.preempted > 100 && totals.hitBlocks > 100 && totals.evicted > 100, "\(totals)")
    }

    /// Requests that share nothing keep no named blocks at all: each one's blocks become one run when it finishes, and
    /// eviction takes the oldest run's top blocks first.
    @Test func privateBlocksAreRuns() {
        let bs = 16
        let cache = PrefixCache(blocks: 64)
        for i in 0..<3 {
            let r = Request(arrival: .seconds(0), inputTokens: 100, outputTokens: 30)
            var q = VLLMSimulator.Seq(prompt: 100, output: 30)
            q.computed = 129; q.blocks = 9
            cache.register(&q, request: r, index: i, blockSize: bs)
            #expect(q.refs == 8 && !q.regStop)
            #expect(cache.releaseAll(&q, request: r, index: i, blockSize: bs) == 9)
        }
        #expect(cache.table.count == 0)
        #expect(cache.evictable == 24)
        cache.evict(toFit: 19)
        #expect(cache.evictions == 5 && cache.evictable == 19)
        // Request 0 keeps its lowest 3 blocks; the others all 8.
        let r = Request(arrival: .seconds(0), inputTokens: 100, outputTokens: 30)
        func peek(_ index: Int, _ maxBlocks: Int) -> [Int] {
            let p = cache.peek(r, index: index, maxBlocks: maxBlocks, blockSize: bs)
            return [p.hits, p.revived]
        }
        #expect(peek(0, 8) == [3, 3])
        #expect(peek(1, 8) == [8, 8])
        #expect(peek(1, 5) == [5, 5])
        // Readmitted with 5 of its blocks: the other 3 stay cached, and stop its naming at block 5.
        cache.acquire(r, index: 1, blocks: 5, blockSize: bs)
        #expect(cache.evictable == 14)
        var q = VLLMSimulator.Seq(prompt: 100, output: 30)
        q.blocks = 7; q.refs = 5; q.computed = 100
        cache.register(&q, request: r, index: 1, blockSize: bs)
        #expect(q.refs == 5 && q.regStop)
        #expect(cache.releaseAll(&q, request: r, index: 1, blockSize: bs) == 7)
        #expect(cache.evictable == 19)
        #expect(peek(1, 8) == [8, 8])
    }
}
