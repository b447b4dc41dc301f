import Foundation

/// vLLM's automatic prefix caching (`--enable-prefix-caching`) for one DP rank's KV cache.
///
/// Every full KV block is named by a hash of its tokens and everything before them (here: the request's prefix key
/// and the block's index while the block lies inside the shared prefix, else the request's own identity). A block
/// another running request already holds is shared (a reference count); a block no request holds stays cached
/// until its memory is needed and is then evicted, least recently released first (vLLM's free-block queue, which
/// releases a request's tail blocks first). The engine counts cached unreferenced blocks as free: they are
/// evicted lazily, just before a lookup could find them, whenever the free blocks fall below the cached ones.
///
/// A class, one per DP rank: the engine updates it through its array of ranks' caches without a copy-on-write check
/// of that array per block.
final class PrefixCache {
    let table: BlockTable
    var hitTokens = 0, queriedTokens = 0, evictions = 0

    /// A cache for up to about `blocks` cached blocks (the table grows past them if need be).
    init(blocks: Int = 1024) { table = BlockTable(capacity: blocks) }

    /// Cached blocks that no request references (they count as free blocks).
    var evictable: Int { table.unreferenced }

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
    func evict(toFit free: Int) {
        while table.unreferenced > 0 && table.unreferenced > free {
            table.evictOldest()
            evictions += 1
        }
    }

    /// The leading blocks of a request found in the cache (at most `maxBlocks`), and how many of them no running
    /// request holds (taking those uses free blocks). Changes nothing.
    func peek(_ r: Request, index: Int, maxBlocks: Int, blockSize: Int) -> (hits: Int, revived: Int) {
        var hits = 0, revived = 0
        while hits < maxBlocks, let slot = table.find(PrefixCache.hash(r, index: index, block: hits, blockSize: blockSize)) {
            if table.refs(slot) == 0 { revived += 1 }
            hits += 1
        }
        return (hits, revived)
    }

    /// Takes a reference on the first `blocks` blocks (found by `peek`).
    func acquire(_ r: Request, index: Int, blocks: Int, blockSize: Int) {
        for j in 0..<blocks {
            table.retain(table.find(PrefixCache.hash(r, index: index, block: j, blockSize: blockSize))!)
        }
    }

    /// Names a block a request has just filled; false if another request filled the same block first (this one
    /// then stays private to the request).
    @inline(__always)
    func insert(_ h: UInt64) -> Bool {
        table.insert(h)
    }

    /// Drops one reference; true when the block is now unreferenced (cached, free to evict).
    @inline(__always)
    func release(_ h: UInt64) -> Bool {
        table.release(table.find(h)!)
    }
}

/// The prefix cache's block table: block hash to entry (its reference count), and the unreferenced entries in the
/// order they were released (least recently released first, the eviction order).
///
/// The entries live in a pool of slots that never move; an open-addressing index (linear probing over buffers of its
/// own, deletion by backward shift, so no tombstones pile up and the index grows only with the live entries) maps a
/// hash to its slot. The keys are already well-mixed hashes, so their low bits index the buckets directly (a Swift
/// Dictionary would hash them again and pay copy-on-write checks on every update). The unreferenced entries form a
/// doubly linked list through their slots: releasing appends, retaining or evicting unlinks, each O(1). A class: each
/// DP rank's cache must get its own (`PrefixCache(blocks:)` per rank).
final class BlockTable {
    struct Entry {
        var key: UInt64
        var refs: Int
        /// Neighbours in the unreferenced list (-1: none); `next` also chains free slots.
        var prev: Int, next: Int
    }
    /// The index: per bucket the key and its slot + 1 (0: empty).
    private var bucketKey: UnsafeMutablePointer<UInt64>
    private var bucketSlot: UnsafeMutablePointer<Int>
    private var buckets: Int
    private var pool: UnsafeMutablePointer<Entry>
    private var poolCapacity: Int, poolUsed = 0, freeSlot = -1
    /// The unreferenced list: oldest release first.
    private var oldest = -1, newest = -1
    private(set) var count = 0
    /// Entries no request references.
    private(set) var unreferenced = 0

    /// A table sized for `capacity` entries (the engine's estimate of the most it will hold; it grows past them if
    /// need be): the pool holds them without growing (growing copies it), the index at most half full.
    init(capacity: Int = 1024) {
        var b = 16
        while b < 2 * capacity { b *= 2 }
        buckets = b
        (bucketKey, bucketSlot) = BlockTable.zeroedIndex(b)
        poolCapacity = max(capacity, 8)
        pool = BlockTable.resized(nil, to: poolCapacity)
    }

    deinit {
        free(bucketKey); free(bucketSlot)
        free(pool)
    }

    /// The pool at a new size, by realloc (entries are plain values: a large pool is remapped rather than copied).
    private static func resized(_ p: UnsafeMutablePointer<Entry>?, to n: Int) -> UnsafeMutablePointer<Entry> {
        guard let q = realloc(p, n * MemoryLayout<Entry>.stride) else { fatalError("prefix cache: out of memory for \(n) blocks") }
        return q.bindMemory(to: Entry.self, capacity: n)
    }

    /// An empty index of `n` buckets. Zeroed by calloc: a large one comes as fresh zero pages, so an index sized for
    /// a big KV cache costs only the pages the run touches.
    private static func zeroedIndex(_ n: Int) -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<Int>) {
        guard let k = calloc(n, MemoryLayout<UInt64>.stride), let s = calloc(n, MemoryLayout<Int>.stride) else {
            fatalError("prefix cache: out of memory for \(n) buckets")
        }
        return (k.bindMemory(to: UInt64.self, capacity: n), s.bindMemory(to: Int.self, capacity: n))
    }

    /// The slot holding `h`, or nil.
    @inline(__always)
    func find(_ h: UInt64) -> Int? {
        let mask = buckets - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = bucketSlot[i]
            if s == 0 { return nil }
            if bucketKey[i] == h { return s - 1 }
            i = (i + 1) & mask
        }
    }

    /// The references to the entry in `slot`.
    @inline(__always)
    func refs(_ slot: Int) -> Int { pool[slot].refs }

    /// Adds `h` with one reference; false (and no change) if it is already there.
    @inline(__always)
    func insert(_ h: UInt64) -> Bool {
        if (count + 1) * 2 > buckets { grow() }
        let mask = buckets - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while bucketSlot[i] != 0 {
            if bucketKey[i] == h { return false }
            i = (i + 1) & mask
        }
        let slot = takeSlot()
        pool[slot] = Entry(key: h, refs: 1, prev: -1, next: -1)
        bucketKey[i] = h; bucketSlot[i] = slot + 1
        count += 1
        return true
    }

    /// Takes a reference on the entry in `slot` (an unreferenced one leaves the unreferenced list).
    @inline(__always)
    func retain(_ slot: Int) {
        if pool[slot].refs == 0 { unlink(slot); unreferenced -= 1 }
        pool[slot].refs += 1
    }

    /// Drops a reference on the entry in `slot`; true when it is now unreferenced (it joins the list as the newest).
    @inline(__always)
    func release(_ slot: Int) -> Bool {
        pool[slot].refs -= 1
        guard pool[slot].refs == 0 else { return false }
        pool[slot].prev = newest; pool[slot].next = -1
        if newest >= 0 { pool[newest].next = slot } else { oldest = slot }
        newest = slot
        unreferenced += 1
        return true
    }

    /// Removes the least recently released unreferenced entry (there must be one).
    func evictOldest() {
        let slot = oldest
        precondition(slot >= 0, "no unreferenced block to evict")
        unlink(slot)
        unreferenced -= 1
        removeFromIndex(pool[slot].key, slot: slot)
        pool[slot].next = freeSlot; freeSlot = slot
        count -= 1
    }

    @inline(__always)
    private func unlink(_ slot: Int) {
        let p = pool[slot].prev, n = pool[slot].next
        if p >= 0 { pool[p].next = n } else { oldest = n }
        if n >= 0 { pool[n].prev = p } else { newest = p }
    }

    @inline(__always)
    private func takeSlot() -> Int {
        if freeSlot >= 0 {
            let s = freeSlot
            freeSlot = pool[s].next
            return s
        }
        if poolUsed == poolCapacity {
            poolCapacity *= 2
            pool = BlockTable.resized(pool, to: poolCapacity)
        }
        pool[poolUsed] = Entry(key: 0, refs: 0, prev: -1, next: -1)
        poolUsed += 1
        return poolUsed - 1
    }

    /// Deletes `key` (held in `slot`) from the index, shifting back the entries after it in its probe run.
    private func removeFromIndex(_ key: UInt64, slot: Int) {
        let mask = buckets - 1
        var i = Int(truncatingIfNeeded: key) & mask
        while bucketSlot[i] != slot + 1 { i = (i + 1) & mask }
        var j = i
        while true {
            j = (j + 1) & mask
            if bucketSlot[j] == 0 { break }
            // The entry at j may fill the hole at i unless its home bucket lies cyclically in (i, j].
            let home = Int(truncatingIfNeeded: bucketKey[j]) & mask
            let stays = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !stays {
                bucketKey[i] = bucketKey[j]; bucketSlot[i] = bucketSlot[j]
                i = j
            }
        }
        bucketSlot[i] = 0
    }

    /// Doubles the index (the slots stay where they are).
    private func grow() {
        let oldKey = bucketKey, oldSlot = bucketSlot, old = buckets
        buckets *= 2
        (bucketKey, bucketSlot) = BlockTable.zeroedIndex(buckets)
        let mask = buckets - 1
        for j in 0..<old where oldSlot[j] != 0 {
            var i = Int(truncatingIfNeeded: oldKey[j]) & mask
            while bucketSlot[i] != 0 { i = (i + 1) & mask }
            bucketKey[i] = oldKey[j]; bucketSlot[i] = oldSlot[j]
        }
        free(oldKey); free(oldSlot)
    }
}

extension PrefixCache {
    /// Names the blocks a request has filled since the last call (a prompt chunk or decode tokens computed).
    @inline(__always)
    func register(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) {
        guard !q.regStop else { return }
        let full = min(q.computed / blockSize, q.blocks)
        while q.refs < full {
            if insert(PrefixCache.hash(r, index: index, block: q.refs, blockSize: blockSize)) { q.refs += 1 } else { q.regStop = true; return }
        }
    }

    /// Releases every block of a finished or preempted request; returns the blocks that become free (its private
    /// blocks, and its cached blocks no other request holds, which stay cached until evicted). Tail blocks are
    /// released first, so they are evicted first.
    func releaseAll(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) -> Int {
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
