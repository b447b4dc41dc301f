import Foundation

/// vLLM's automatic prefix caching (`--enable-prefix-caching`) for one DP rank's KV cache.
///
/// Every full KV block is named by a hash of its tokens and everything before them (here: the request's prefix key
/// and the block's index while the block lies inside the shared prefix, else the request's own identity). A block
/// another running request already holds is shared (a reference count); a block no request holds stays cached
/// until its memory is needed and is then evicted, least recently released first (vLLM's free-block queue, which
/// releases a request's tail blocks first). The engine counts cached unreferenced blocks as free: they are
/// evicted lazily, just before a lookup could find them, whenever the free blocks fall below the cached ones.
struct PrefixCache {
    struct Entry { var refs: Int; var stamp: Int }
    var table = BlockTable()
    /// Released blocks in release order (hash, stamp); an entry is stale if the block was taken again or evicted.
    var lru: [(UInt64, Int)] = []
    var lruHead = 0
    /// Cached blocks that no request references (they count as free blocks).
    var evictable = 0
    var stamp = 0
    var hitTokens = 0, queriedTokens = 0, evictions = 0

    /// The hash of block `j` of request `index`: shared among requests with one prefix key while the whole block
    /// lies within the shared tokens.
    @inline(__always)
    static func hash(_ r: Request, index: Int, block j: Int, blockSize: Int) -> UInt64 {
        let base: UInt64 = (r.prefixKey != 0 && (j + 1) * blockSize <= r.sharedTokens) ? r.prefixKey : (UInt64(index) | (1 << 63))
        var z = base &* 0x9E37_79B9_7F4A_7C15 ^ (UInt64(j) &+ 0x632B_E59B_D9B4_E019)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Evicts least recently released blocks until the cached unreferenced blocks fit in `free`.
    mutating func evict(toFit free: Int) {
        while evictable > free && lruHead < lru.count {
            let (h, st) = lru[lruHead]
            lruHead += 1
            if let slot = table.find(h), table.entries[slot].refs == 0, table.entries[slot].stamp == st {
                table.remove(at: slot)
                evictable -= 1; evictions += 1
            }
        }
        if lruHead > 4096 && lruHead * 2 > lru.count { lru.removeFirst(lruHead); lruHead = 0 }
    }

    /// The leading blocks of a request found in the cache (at most `maxBlocks`), and how many of them no running
    /// request holds (taking those uses free blocks). Changes nothing.
    func peek(_ r: Request, index: Int, maxBlocks: Int, blockSize: Int) -> (hits: Int, revived: Int) {
        var hits = 0, revived = 0
        while hits < maxBlocks, let slot = table.find(PrefixCache.hash(r, index: index, block: hits, blockSize: blockSize)) {
            if table.entries[slot].refs == 0 { revived += 1 }
            hits += 1
        }
        return (hits, revived)
    }

    /// Takes a reference on the first `blocks` blocks (found by `peek`).
    mutating func acquire(_ r: Request, index: Int, blocks: Int, blockSize: Int) {
        for j in 0..<blocks {
            let slot = table.find(PrefixCache.hash(r, index: index, block: j, blockSize: blockSize))!
            if table.entries[slot].refs == 0 { evictable -= 1 }
            table.entries[slot].refs += 1
        }
    }

    /// Names a block a request has just filled; false if another request filled the same block first (this one
    /// then stays private to the request).
    mutating func insert(_ h: UInt64) -> Bool {
        table.insert(h, Entry(refs: 1, stamp: 0))
    }

    /// Drops one reference; true when the block is now unreferenced (cached, free to evict).
    mutating func release(_ h: UInt64) -> Bool {
        let slot = table.find(h)!
        table.entries[slot].refs -= 1
        guard table.entries[slot].refs == 0 else { return false }
        stamp += 1
        table.entries[slot].stamp = stamp
        lru.append((h, stamp))
        evictable += 1
        return true
    }
}

/// The prefix cache's block table: block hash to entry, open addressing with linear probing over buffers of its
/// own. The keys are already well-mixed hashes, so their low bits index the table directly (a Swift Dictionary
/// would hash them again, and its copy-on-write checks on every update dominated the engine's time with prefix
/// caching on). A class: each DP rank's cache must get its own (`PrefixCache()` per rank).
final class BlockTable {
    private var keys: UnsafeMutablePointer<UInt64>
    /// 0 empty, 1 in use, 2 removed (a tombstone: probing goes on past it).
    private var state: UnsafeMutablePointer<UInt8>
    private(set) var entries: UnsafeMutablePointer<PrefixCache.Entry>
    private var capacity: Int, used = 0, removed = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        keys = .allocate(capacity: capacity); keys.initialize(repeating: 0, count: capacity)
        state = .allocate(capacity: capacity); state.initialize(repeating: 0, count: capacity)
        entries = .allocate(capacity: capacity); entries.initialize(repeating: PrefixCache.Entry(refs: 0, stamp: 0), count: capacity)
    }

    deinit { keys.deallocate(); state.deallocate(); entries.deallocate() }

    var count: Int { used }

    /// The slot holding `h`, or nil.
    @inline(__always)
    func find(_ h: UInt64) -> Int? {
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let st = state[i]
            if st == 0 { return nil }
            if st == 1 && keys[i] == h { return i }
            i = (i + 1) & mask
        }
    }

    /// Adds `h` with entry `e`; false (and no change) if it is already there.
    @inline(__always)
    func insert(_ h: UInt64, _ e: PrefixCache.Entry) -> Bool {
        if (used + removed + 1) * 10 > capacity * 7 { grow() }
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: h) & mask
        var free = -1
        while true {
            let st = state[i]
            if st == 0 { if free < 0 { free = i }; break }
            if st == 1 { if keys[i] == h { return false } } else if free < 0 { free = i }
            i = (i + 1) & mask
        }
        if state[free] == 2 { removed -= 1 }
        state[free] = 1; keys[free] = h; entries[free] = e
        used += 1
        return true
    }

    @inline(__always)
    func remove(at slot: Int) {
        state[slot] = 2
        used -= 1; removed += 1
    }

    /// Rehashes into a table with room for twice the live entries (tombstones dropped).
    private func grow() {
        let oldKeys = keys, oldState = state, oldEntries = entries, oldCapacity = capacity
        var cap = capacity
        while (used + 1) * 10 > cap * 5 { cap *= 2 }
        capacity = cap
        keys = .allocate(capacity: cap); keys.initialize(repeating: 0, count: cap)
        state = .allocate(capacity: cap); state.initialize(repeating: 0, count: cap)
        entries = .allocate(capacity: cap); entries.initialize(repeating: PrefixCache.Entry(refs: 0, stamp: 0), count: cap)
        removed = 0
        let mask = cap - 1
        for j in 0..<oldCapacity where oldState[j] == 1 {
            var i = Int(truncatingIfNeeded: oldKeys[j]) & mask
            while state[i] == 1 { i = (i + 1) & mask }
            state[i] = 1; keys[i] = oldKeys[j]; entries[i] = oldEntries[j]
        }
        oldKeys.deallocate(); oldState.deallocate(); oldEntries.deallocate()
    }
}

extension PrefixCache {
    /// Names the blocks a request has filled since the last call (a prompt chunk or decode tokens computed).
    @inline(__always)
    mutating func register(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) {
        guard !q.regStop else { return }
        let full = min(q.computed / blockSize, q.blocks)
        while q.refs < full {
            if insert(PrefixCache.hash(r, index: index, block: q.refs, blockSize: blockSize)) { q.refs += 1 } else { q.regStop = true; return }
        }
    }

    /// Releases every block of a finished or preempted request; returns the blocks that become free (its private
    /// blocks, and its cached blocks no other request holds, which stay cached until evicted). Tail blocks are
    /// released first, so they are evicted first.
    mutating func releaseAll(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) -> Int {
        if q.computed > 0 { register(&q, request: r, index: index, blockSize: blockSize) }
        var freed = q.blocks - q.refs
        var j = q.refs - 1
        while j >= 0 {
            if release(PrefixCache.hash(r, index: index, block: j, blockSize: blockSize)) { freed += 1 }
            j -= 1
        }
        q.refs = 0; q.regStop = false
        return freed
    }
}

/// What prefix caching did in a run (vLLM's prefix cache hit rate: hit tokens over queried tokens).
public struct PrefixCacheStats: Sendable, Equatable, Codable {
    public var queriedTokens: Int, hitTokens: Int, evictedBlocks: Int
    public var hitRate: Double { queriedTokens > 0 ? Double(hitTokens) / Double(queriedTokens) : 0 }
}

/// What speculative decoding did in a run.
public struct SpeculativeStats: Sendable, Equatable, Codable {
    public var config: String
    public var verifySteps: Int, proposedDrafts: Int, acceptedDrafts: Int
    public var expectedTokensPerStep: Double
    /// Tokens one verify step emitted, on average (accepted drafts plus the target's own token).
    public var tokensPerStep: Double { verifySteps > 0 ? Double(verifySteps + acceptedDrafts) / Double(verifySteps) : 0 }
    public var acceptanceRate: Double { proposedDrafts > 0 ? Double(acceptedDrafts) / Double(proposedDrafts) : 0 }
}
