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
/// Blocks past the shared prefix are named by the request itself, so no other request can find them (short of a
/// 64-bit hash collision): only the request, readmitted after a preemption, looks them up again. They are kept as
/// ranges rather than one hashed entry per block, with the same outcome: while the request runs it holds the blocks `sharedBlocks..<refs` (its `Seq.refs`,
/// no table entry), and releasing it turns them into one run of cached blocks in the eviction order (highest block
/// oldest, as vLLM releases tail blocks first). Only blocks of a shared prefix are hashed, looked up and
/// reference-counted one by one. Per request that leaves a handful of operations on small tables instead of a hash,
/// an insert, a lookup and an eviction per block, each touching a random place of a large index.
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

    /// The request's leading blocks that lie wholly in its shared prefix (`hash` names them by the prefix key); the
    /// blocks from here on are the request's own.
    @inline(__always)
    static func sharedBlocks(_ r: Request, blockSize: Int) -> Int {
        r.prefixKey != 0 ? max(r.sharedTokens / blockSize, 0) : 0
    }

    /// Evicts least recently released blocks until the cached unreferenced blocks fit in `free`.
    func evict(toFit free: Int) {
        while table.unreferenced > 0 && table.unreferenced > free {
            evictions += table.evictOldest(atMost: table.unreferenced - free)
        }
    }

    /// The leading blocks of a request found in the cache (at most `maxBlocks`), and how many of them no running
    /// request holds (taking those uses free blocks). Changes nothing.
    func peek(_ r: Request, index: Int, maxBlocks: Int, blockSize: Int) -> (hits: Int, revived: Int) {
        let shared = PrefixCache.sharedBlocks(r, blockSize: blockSize)
        var hits = 0, revived = 0
        while hits < min(shared, maxBlocks), let slot = table.find(PrefixCache.hash(r, index: index, block: hits, blockSize: blockSize)) {
            if table.refs(slot) == 0 { revived += 1 }
            hits += 1
        }
        guard hits == shared else { return (hits, revived) }
        // The request's own blocks: its runs from the first block past the prefix on, while they follow each other
        // (a waiting request holds none of them: every block found is revived).
        var run = table.firstRun(of: index)
        while hits < maxBlocks, run >= 0, table.runBlocks(run).lowerBound == hits {
            let end = min(table.runBlocks(run).upperBound, maxBlocks)
            revived += end - hits
            hits = end
            run = table.nextRun(run)
        }
        return (hits, revived)
    }

    /// Takes a reference on the first `blocks` blocks (found by `peek`).
    func acquire(_ r: Request, index: Int, blocks: Int, blockSize: Int) {
        let shared = min(PrefixCache.sharedBlocks(r, blockSize: blockSize), blocks)
        for j in 0..<shared {
            table.retain(table.find(PrefixCache.hash(r, index: index, block: j, blockSize: blockSize))!)
        }
        if blocks > shared { table.takeRunBlocks(of: index, count: blocks - shared) }
    }
}

/// The prefix cache's block table: the cached blocks, and the unreferenced ones in the order they were released
/// (least recently released first, the eviction order).
///
/// An entry is either one named block (a shared-prefix block: its hash and reference count) or a run of one
/// request's own blocks `lo...hi`, all unreferenced. Entries live in a pool of slots that never move. Two indexes map
/// keys to slots: block hash to named block, and request to its first run (a request can hold several after repeated
/// preemptions, chained from its lowest blocks up, which is also newest first: each release lies below the runs the
/// request left before). The unreferenced entries form a doubly linked list through their slots: releasing appends,
/// retaining or evicting unlinks, each O(1); a run shrinks in place, evicted from its top (its oldest release) and
/// retained from its bottom, and leaves the list once empty. `unreferenced` counts blocks, a run
/// counting its length. A class: each DP rank's cache must get its own (`PrefixCache(blocks:)` per rank).
final class BlockTable {
    struct Entry {
        /// A named block: its hash. A run: its request's key (`runKey`).
        var key: UInt64
        /// A named block: its references (0: cached, in the unreferenced list). A run: -1.
        var refs: Int32
        /// Neighbours in the unreferenced list (-1: none); `next` also chains free slots.
        var prev: Int32, next: Int32
        /// A run: its blocks, and the slot of the request's next run (-1: none).
        var lo: Int32, hi: Int32, sibling: Int32
    }
    /// `Entry.refs` of a run.
    private static let run: Int32 = -1
    private let named: SlotIndex
    private let runs: SlotIndex
    private var pool: UnsafeMutablePointer<Entry>
    private var poolCapacity: Int, poolUsed = 0, freeSlot = -1
    /// The unreferenced list: oldest release first.
    private var oldest = -1, newest = -1
    /// Named blocks.
    var count: Int { named.count }
    /// Blocks no request references (named ones and runs).
    private(set) var unreferenced = 0

    /// A table sized for `capacity` entries (the engine's estimate of the most it will hold; it grows past them if
    /// need be): the pool holds them without growing (growing copies it), the block index at most half full.
    init(capacity: Int = 1024) {
        named = SlotIndex(capacity: capacity)
        runs = SlotIndex(capacity: 32)
        poolCapacity = max(capacity, 8)
        pool = BlockTable.resized(nil, to: poolCapacity)
    }

    deinit { free(pool) }

    /// The pool at a new size, by realloc (entries are plain values: a large pool is remapped rather than copied).
    private static func resized(_ p: UnsafeMutablePointer<Entry>?, to n: Int) -> UnsafeMutablePointer<Entry> {
        precondition(n <= Int(Int32.max), "prefix cache: more than \(Int32.max) entries")
        guard let q = realloc(p, n * MemoryLayout<Entry>.stride) else { fatalError("prefix cache: out of memory for \(n) blocks") }
        return q.bindMemory(to: Entry.self, capacity: n)
    }

    // MARK: Named blocks

    /// The slot holding the named block `h`, or nil.
    @inline(__always)
    func find(_ h: UInt64) -> Int? { named.find(h) }

    /// The references to the named block in `slot`.
    @inline(__always)
    func refs(_ slot: Int) -> Int { Int(pool[slot].refs) }

    /// Adds the named block `h` with one reference; false (and no change) if it is already there.
    @inline(__always)
    func insert(_ h: UInt64) -> Bool {
        if named.find(h) != nil { return false }
        let slot = takeSlot()
        pool[slot] = Entry(key: h, refs: 1, prev: -1, next: -1, lo: 0, hi: 0, sibling: -1)
        named.add(h, slot: slot)
        return true
    }

    /// Takes a reference on the named block in `slot` (an unreferenced one leaves the unreferenced list).
    @inline(__always)
    func retain(_ slot: Int) {
        if pool[slot].refs == 0 { unlink(slot); unreferenced -= 1 }
        pool[slot].refs += 1
    }

    /// Drops a reference on the named block in `slot`; true when it is now unreferenced (it joins the list as the
    /// newest).
    @inline(__always)
    func release(_ slot: Int) -> Bool {
        pool[slot].refs -= 1
        guard pool[slot].refs == 0 else { return false }
        append(slot)
        unreferenced += 1
        return true
    }

    // MARK: Runs of a request's own blocks

    /// The key of request `index`'s runs: the index times an odd constant, a bijection (distinct requests, distinct
    /// keys) whose low bits spread requests close in index over the buckets.
    @inline(__always)
    private static func runKey(_ index: Int) -> UInt64 { UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15 }

    /// The slot of request `index`'s first run (lowest blocks), or -1.
    @inline(__always)
    func firstRun(of index: Int) -> Int { runs.find(BlockTable.runKey(index)) ?? -1 }

    /// The slot of the run after the one in `slot` (higher blocks), or -1.
    @inline(__always)
    func nextRun(_ slot: Int) -> Int { Int(pool[slot].sibling) }

    /// The blocks of the run in `slot`.
    @inline(__always)
    func runBlocks(_ slot: Int) -> Range<Int> { Int(pool[slot].lo)..<(Int(pool[slot].hi) + 1) }

    /// Caches request `index`'s blocks `blocks` (non-empty, unreferenced from now on, released top first) as its new
    /// first run: they lie below all of its runs (those start at or above the blocks it held).
    func addRun(of index: Int, blocks: Range<Int>) {
        let key = BlockTable.runKey(index)
        let slot = takeSlot()
        pool[slot] = Entry(key: key, refs: BlockTable.run, prev: -1, next: -1,
                           lo: Int32(blocks.lowerBound), hi: Int32(blocks.upperBound - 1), sibling: -1)
        if let first = runs.set(key, slot: slot) {
            assert(Int(pool[first].lo) >= blocks.upperBound, "a request's runs out of order")
            pool[slot].sibling = Int32(first)
        }
        append(slot)
        unreferenced += blocks.count
    }

    /// Takes a reference on the lowest `count` blocks of request `index`'s runs (found by `PrefixCache.peek`: they
    /// follow each other from its first run on).
    func takeRunBlocks(of index: Int, count: Int) {
        let key = BlockTable.runKey(index)
        var slot = runs.find(key)!, left = count
        while left > 0 {
            let n = Int(pool[slot].hi - pool[slot].lo) + 1
            if n > left {
                pool[slot].lo += Int32(left)
                unreferenced -= left
                break
            }
            unreferenced -= n; left -= n
            unlink(slot)
            let next = Int(pool[slot].sibling)
            recycle(slot)
            slot = next
        }
        if slot >= 0 { _ = runs.set(key, slot: slot) } else { runs.remove(key) }
    }

    // MARK: Eviction

    /// Evicts up to `atMost` (at least 1) of the least recently released unreferenced blocks, all from the oldest
    /// entry (there must be one): a named block, or the top blocks of a run. Returns how many it evicted.
    @discardableResult
    func evictOldest(atMost: Int = 1) -> Int {
        let slot = oldest
        precondition(slot >= 0, "no unreferenced block to evict")
        if pool[slot].refs == 0 {
            unlink(slot)
            unreferenced -= 1
            named.remove(pool[slot].key)
            recycle(slot)
            return 1
        }
        let n = min(atMost, Int(pool[slot].hi - pool[slot].lo) + 1)
        pool[slot].hi -= Int32(n)
        unreferenced -= n
        if pool[slot].hi < pool[slot].lo { unlink(slot); dropRun(slot) }
        return n
    }

    /// Removes the emptied run in `slot` from its request's chain, and frees the slot.
    private func dropRun(_ slot: Int) {
        let key = pool[slot].key, next = Int(pool[slot].sibling)
        let first = runs.find(key)!
        if first == slot {
            if next >= 0 { _ = runs.set(key, slot: next) } else { runs.remove(key) }
        } else {
            var s = first
            while Int(pool[s].sibling) != slot { s = Int(pool[s].sibling) }
            pool[s].sibling = Int32(next)
        }
        recycle(slot)
    }

    // MARK: The unreferenced list and the pool

    /// Appends the entry in `slot` to the unreferenced list as the newest.
    @inline(__always)
    private func append(_ slot: Int) {
        pool[slot].prev = Int32(newest); pool[slot].next = -1
        if newest >= 0 { pool[newest].next = Int32(slot) } else { oldest = slot }
        newest = slot
    }

    @inline(__always)
    private func unlink(_ slot: Int) {
        let p = Int(pool[slot].prev), n = Int(pool[slot].next)
        if p >= 0 { pool[p].next = Int32(n) } else { oldest = n }
        if n >= 0 { pool[n].prev = Int32(p) } else { newest = p }
    }

    /// Returns `slot` to the free slots.
    @inline(__always)
    private func recycle(_ slot: Int) {
        pool[slot].next = Int32(freeSlot); freeSlot = slot
    }

    @inline(__always)
    private func takeSlot() -> Int {
        if freeSlot >= 0 {
            let s = freeSlot
            freeSlot = Int(pool[s].next)
            return s
        }
        if poolUsed == poolCapacity {
            poolCapacity *= 2
            pool = BlockTable.resized(pool, to: poolCapacity)
        }
        poolUsed += 1
        return poolUsed - 1
    }
}

/// A map from 64-bit keys to pool slots, for keys whose low bits are already well spread (block hashes, run keys):
/// those bits index the buckets directly (a Swift Dictionary would hash them again and pay copy-on-write checks on
/// every update). Open addressing with linear probing over one buffer of (key, slot) buckets, so a probe reads one
/// cache line; at most half full; deletion by backward shift, so no tombstones pile up and the index grows only with
/// the live keys.
final class SlotIndex {
    private struct Bucket {
        var key: UInt64
        /// The slot + 1 (0: empty).
        var slot: Int
    }
    private var buckets: UnsafeMutablePointer<Bucket>
    private var mask: Int
    private(set) var count = 0

    /// An index for `capacity` keys without growing.
    init(capacity: Int) {
        var b = 16
        while b < 2 * capacity { b *= 2 }
        mask = b - 1
        buckets = SlotIndex.zeroed(b)
    }

    deinit { free(buckets) }

    /// `n` empty buckets. Zeroed by calloc: a large index comes as fresh zero pages, so an index sized for a big KV
    /// cache costs only the pages the run touches.
    private static func zeroed(_ n: Int) -> UnsafeMutablePointer<Bucket> {
        guard let b = calloc(n, MemoryLayout<Bucket>.stride) else { fatalError("prefix cache: out of memory for \(n) buckets") }
        return b.bindMemory(to: Bucket.self, capacity: n)
    }

    /// The slot of `key`, or nil.
    @inline(__always)
    func find(_ key: UInt64) -> Int? {
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let b = buckets[i]
            if b.slot == 0 { return nil }
            if b.key == key { return b.slot - 1 }
            i = (i + 1) & mask
        }
    }

    /// Adds `key` (not in the index) with `slot`.
    @inline(__always)
    func add(_ key: UInt64, slot: Int) {
        if (count + 1) * 2 > mask + 1 { grow() }
        var i = Int(truncatingIfNeeded: key) & mask
        while buckets[i].slot != 0 { i = (i + 1) & mask }
        buckets[i] = Bucket(key: key, slot: slot + 1)
        count += 1
    }

    /// Maps `key` to `slot`; returns the slot it had, or nil if it is new.
    @inline(__always)
    func set(_ key: UInt64, slot: Int) -> Int? {
        var i = Int(truncatingIfNeeded: key) & mask
        while buckets[i].slot != 0 {
            if buckets[i].key == key {
                let old = buckets[i].slot - 1
                buckets[i].slot = slot + 1
                return old
            }
            i = (i + 1) & mask
        }
        add(key, slot: slot)
        return nil
    }

    /// Deletes `key` (in the index), shifting back the keys after it in its probe run.
    func remove(_ key: UInt64) {
        var i = Int(truncatingIfNeeded: key) & mask
        while buckets[i].key != key || buckets[i].slot == 0 { i = (i + 1) & mask }
        var j = i
        while true {
            j = (j + 1) & mask
            if buckets[j].slot == 0 { break }
            // The key at j may fill the hole at i unless its home bucket lies cyclically in (i, j].
            let home = Int(truncatingIfNeeded: buckets[j].key) & mask
            let stays = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !stays {
                buckets[i] = buckets[j]
                i = j
            }
        }
        buckets[i].slot = 0
        count -= 1
    }

    /// Doubles the buckets.
    private func grow() {
        let old = buckets, oldSize = mask + 1
        mask = 2 * oldSize - 1
        buckets = SlotIndex.zeroed(2 * oldSize)
        for j in 0..<oldSize where old[j].slot != 0 {
            var i = Int(truncatingIfNeeded: old[j].key) & mask
            while buckets[i].slot != 0 { i = (i + 1) & mask }
            buckets[i] = old[j]
        }
        free(old)
    }
}

extension PrefixCache {
    /// Names the blocks a request has filled since the last call (a prompt chunk or decode tokens computed): the
    /// shared-prefix blocks one by one; the request's own blocks need no entry while it holds them, unless one is
    /// already cached (one of its runs, from before a preemption: they all start at or above `q.refs`, the first
    /// lowest), which stops the naming there, as a failed insert of that block would.
    ///
    /// `filled` is the token count whose full blocks are named, the request's computed tokens by default. vLLM
    /// names a prompt chunk's full blocks when it allocates them, as it schedules the chunk (`allocate_slots` caches
    /// up to the computed tokens plus the step's new ones): a request scheduled later in the same step already finds
    /// them, and the step's forward writes their KV before any layer's attention reads it.
    @inline(__always)
    func register(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int, filled: Int? = nil) {
        let filled = filled ?? q.computed
        // Most calls (a decode token within a block) fill no block: that is told without a division.
        guard !q.regStop, q.refs < q.blocks, filled >= (q.refs + 1) * blockSize else { return }
        let full = min(filled / blockSize, q.blocks)
        if q.refs < PrefixCache.sharedBlocks(r, blockSize: blockSize) {
            registerShared(&q, request: r, index: index, blockSize: blockSize, upTo: full)
            if q.regStop { return }
        }
        guard q.refs < full else { return }
        let run = table.firstRun(of: index)
        if run >= 0 && table.runBlocks(run).lowerBound < full {
            assert(table.runBlocks(run).lowerBound >= q.refs, "a request's run below the blocks it holds")
            q.refs = table.runBlocks(run).lowerBound
            q.regStop = true
        } else {
            q.refs = full
        }
    }

    /// Names the shared-prefix blocks below `full`; stops (`regStop`) at one another request filled first (the rest
    /// stay private to the request).
    @inline(never)
    private func registerShared(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int, upTo full: Int) {
        let shared = min(PrefixCache.sharedBlocks(r, blockSize: blockSize), full)
        while q.refs < shared {
            if table.insert(PrefixCache.hash(r, index: index, block: q.refs, blockSize: blockSize)) { q.refs += 1 } else { q.regStop = true; return }
        }
    }

    /// Releases every block of a finished or preempted request; returns the blocks that become free (its private
    /// blocks, and its cached blocks no other request holds, which stay cached until evicted). Tail blocks are
    /// released first, so they are evicted first: the request's own blocks as one run, then its shared-prefix blocks
    /// from the last.
    func releaseAll(_ q: inout VLLMSimulator.Seq, request r: Request, index: Int, blockSize: Int) -> Int {
        if q.computed > 0 { register(&q, request: r, index: index, blockSize: blockSize) }
        var freed = q.blocks - q.refs
        let shared = min(PrefixCache.sharedBlocks(r, blockSize: blockSize), q.refs)
        if q.refs > shared {
            table.addRun(of: index, blocks: shared..<q.refs)
            freed += q.refs - shared
        }
        var j = shared - 1
        while j >= 0 {
            if table.release(table.find(PrefixCache.hash(r, index: index, block: j, blockSize: blockSize))!) { freed += 1 }
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
