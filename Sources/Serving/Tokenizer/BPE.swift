import Foundation
import Cluster

/// The BPE model of a `tokenizer.json`, as the `tokenizers` package runs it: a word is split into characters
/// (unknown ones into `<0xXX>` byte tokens with `byte_fallback`, else the unknown token, fused with `fuse_unk`),
/// then the pair with the lowest merge rank is merged, leftmost first, until none is left. With `ignore_merges`
/// (Llama 3) a word that is itself in the vocabulary is one token. Results are cached per word.
/// A token or word compared by its UTF-8 bytes: Swift's String equality is canonical equivalence, which would
/// take "é" for "e\u{301}" (different tokens).
struct Bytes: Hashable {
    let s: String
    init(_ s: String) { self.s = s }
    static func == (a: Bytes, b: Bytes) -> Bool { a.s.utf8.elementsEqual(b.s.utf8) }
    func hash(into h: inout Hasher) {
        var s = self.s
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

final class BPEModel {
    let vocab: [Bytes: Int]
    var vocabCount: Int { vocab.count }
    /// (left id, right id) -> (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let unk: Int?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: String?
    let suffix: String?
    /// Single-scalar tokens, looked up without building a String.
    let scalarIds: [UInt32: Int32]
    let byteIds: [Int32]?
    var cache: [Bytes: [Int32]] = [:]
    /// No token holds another character followed by "▁" (SentencePiece-made vocabularies: "▁" starts pieces or fills
    /// runs of them): no merge crosses the boundary before a "▁" that follows another character, so a long word
    /// (Mistral's whole prompt, with no pre-tokenizer) is cut there and its pieces cached, with the same result.
    let cutBeforeSpaceMark: Bool

    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    init(_ m: JSONNode, vocabPairs: [JSONReader.Member]? = nil, merges mergeValues: [JSONReader.Value]? = nil) throws {
        let type = try m.optional("type")?.string() ?? (m.has("merges") ? "BPE" : "unknown")
        guard type == "BPE" else {
            throw InputError.data("\(m.file): key 'model.type' is \"\(type)\"; moesim reads BPE tokenizers (byte-level as Llama 3, Qwen and gpt-oss, Metaspace as Mistral and Mixtral)")
        }
        let vn = try m.require("vocab")
        guard let pairs = vocabPairs else { throw vn.fail("expected an object of token: id") }
        var vocab: [Bytes: Int] = [:]
        vocab.reserveCapacity(pairs.count)
        for p in pairs {
            let k = p.key, v = p.value
            guard case .number(let d, true) = v, d >= 0, d < Double(Int32.max) else {
                throw InputError.data("\(m.file): key 'model.vocab' has token \"\(k)\" with id \(v.foundation); ids are whole numbers from 0")
            }
            vocab[Bytes(k)] = Int(d)
        }
        self.vocab = vocab
        var cut = false
        if vocab[Bytes("▁")] != nil {
            cut = true
            outer: for k in vocab.keys {
                var prev: Unicode.Scalar? = nil
                for u in k.s.unicodeScalars {
                    if u == "▁", let p = prev, p != "▁" { cut = false; break outer }
                    prev = u
                }
            }
        }
        cutBeforeSpaceMark = cut
        var scalars: [UInt32: Int32] = [:]
        for (k, v) in vocab where k.s.unicodeScalars.count == 1 { scalars[k.s.unicodeScalars.first!.value] = Int32(v) }
        scalarIds = scalars
        prefix = try m.optional("continuing_subword_prefix")?.string()
        suffix = try m.optional("end_of_word_suffix")?.string()
        if m.has("merges"), mergeValues == nil { throw InputError.data("\(m.file): key 'model.merges' is not an array of merges") }
        let mergeList = mergeValues ?? []
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, e) in mergeList.enumerated() {
            var a: String, b: String
            if case .string(let s) = e {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw InputError.data("\(m.file): key 'model.merges[\(rank)]' is \"\(s)\"; expected two tokens separated by one space") }
                a = String(parts[0]); b = String(parts[1])
            } else if case .array(let p) = e, p.count == 2, case .string(let x) = p[0], case .string(let y) = p[1] {
                a = x; b = y
            } else { throw InputError.data("\(m.file): key 'model.merges[\(rank)]' is not a pair of tokens (\"a b\" or [\"a\", \"b\"])") }
            let merged = a + (prefix.map { b.hasPrefix($0) ? String(b.dropFirst($0.count)) : b } ?? b)
            guard let ia = vocab[Bytes(a)], let ib = vocab[Bytes(b)], let im = vocab[Bytes(merged)] else {
                throw InputError.data("\(m.file): key 'model.merges[\(rank)]' merges \"\(a)\" and \"\(b)\", but \"\(vocab[Bytes(a)] == nil ? a : vocab[Bytes(b)] == nil ? b : merged)\" is not in model.vocab")
            }
            let k = Self.key(Int32(ia), Int32(ib))
            if merges[k] == nil { merges[k] = (Int32(rank), Int32(im)) }
        }
        self.merges = merges
        fuseUnk = try m.bool("fuse_unk", default: false)
        byteFallback = try m.bool("byte_fallback", default: false)
        ignoreMerges = try m.bool("ignore_merges", default: false)
        if let u = try m.optional("unk_token")?.string() {
            guard let id = vocab[Bytes(u)] else { throw InputError.data("\(m.file): key 'model.unk_token' is \"\(u)\", which is not in model.vocab") }
            unk = id
        } else { unk = nil }
        if byteFallback {
            let ids = (0..<256).map { vocab[Bytes(String(format: "<0x%02X>", $0))] }
            byteIds = ids.allSatisfy { $0 != nil } ? ids.map { Int32($0!) } : nil
        } else { byteIds = nil }
    }

    func tokenize(_ w: PreTokenizer.Piece, _ emit: (Int) -> Void) {
        if cutBeforeSpaceMark && w.text.utf8.count > 64 {
            var start = w.text.startIndex, prev: Character? = nil
            var i = w.text.startIndex
            while i < w.text.endIndex {
                let c = w.text[i]
                if c == "▁", let p = prev, p != "▁", i > start {
                    tokenizeWord(String(w.text[start..<i]), emit); start = i
                }
                prev = c
                i = w.text.index(after: i)
            }
            tokenizeWord(String(w.text[start...]), emit)
            return
        }
        tokenizeWord(w.text, emit)
    }

    func tokenizeWord(_ word: String, _ emit: (Int) -> Void) {
        let cacheable = word.utf8.count <= 256
        if cacheable, let ids = cache[Bytes(word)] { for i in ids { emit(Int(i)) }; return }
        let ids = bpe(word)
        if cacheable {
            if cache.count >= 500_000 { cache.removeAll(keepingCapacity: true) }
            cache[Bytes(word)] = ids
        }
        for i in ids { emit(Int(i)) }
    }

    private func lookup(_ s: Unicode.Scalar, first: Bool, last: Bool) -> Int32? {
        if (first || prefix == nil) && (!last || suffix == nil) { return scalarIds[s.value] }
        var t = String(s)
        if !first, let p = prefix { t = p + t }
        if last, let x = suffix { t += x }
        return vocab[Bytes(t)].map(Int32.init)
    }

    func bpe(_ word: String) -> [Int32] {
        if ignoreMerges, let id = vocab[Bytes(word)] { return [Int32(id)] }
        // Characters (Unicode scalars) to initial symbols.
        var syms: [Int32] = []
        syms.reserveCapacity(word.unicodeScalars.count)
        var pendingUnk = false
        let scalars = Array(word.unicodeScalars)
        for (i, s) in scalars.enumerated() {
            if let id = lookup(s, first: i == 0, last: i == scalars.count - 1) {
                if pendingUnk, let u = unk { syms.append(Int32(u)); pendingUnk = false }
                syms.append(id)
                continue
            }
            if let bytes = byteIds {
                for b in String(s).utf8 { syms.append(bytes[Int(b)]) }
                continue
            }
            if let u = unk {
                if pendingUnk && !fuseUnk { syms.append(Int32(u)) }
                pendingUnk = true
            }
        }
        if pendingUnk, let u = unk { syms.append(Int32(u)) }
        return merge(syms)
    }

    /// The `tokenizers` package's `Word::merge_all`: a heap of candidate merges by (rank, position).
    func merge(_ initial: [Int32]) -> [Int32] {
        let n = initial.count
        guard n > 1 else { return initial }
        var c = initial
        var prev = [Int32](repeating: -1, count: n), next = [Int32](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n { prev[i] = Int32(i - 1); next[i] = i + 1 < n ? Int32(i + 1) : -1 }
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let m = merges[Self.key(c[i], c[i + 1])] { heap.push(rank: m.rank, pos: Int32(i), id: m.id) }
        }
        while let top = heap.pop() {
            let p = Int(top.pos)
            guard alive[p], next[p] >= 0 else { continue }
            let r = Int(next[p])
            guard let m = merges[Self.key(c[p], c[r])], m.id == top.id else { continue }
            c[p] = top.id
            alive[r] = false
            next[p] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = Int32(p) }
            if prev[p] >= 0, let pm = merges[Self.key(c[Int(prev[p])], c[p])] { heap.push(rank: pm.rank, pos: prev[p], id: pm.id) }
            if next[p] >= 0, let nm = merges[Self.key(c[p], c[Int(next[p])])] { heap.push(rank: nm.rank, pos: Int32(p), id: nm.id) }
        }
        var out: [Int32] = []
        var i: Int32 = 0
        while i >= 0 { out.append(c[Int(i)]); i = next[Int(i)] }
        return out
    }
}

/// A binary min-heap of merges ordered by rank, then position.
struct MergeHeap {
    var keys: [UInt64] = []
    var ids: [Int32] = []

    mutating func push(rank: Int32, pos: Int32, id: Int32) {
        keys.append(UInt64(UInt32(rank)) << 32 | UInt64(UInt32(pos)))
        ids.append(id)
        var i = keys.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard keys[p] > keys[i] else { break }
            keys.swapAt(p, i); ids.swapAt(p, i); i = p
        }
    }

    mutating func pop() -> (pos: Int32, id: Int32)? {
        guard let k = keys.first else { return nil }
        let out = (Int32(truncatingIfNeeded: k & 0xffff_ffff), ids[0])
        let lk = keys.removeLast(), li = ids.removeLast()
        if !keys.isEmpty {
            keys[0] = lk; ids[0] = li
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < keys.count && keys[l] < keys[m] { m = l }
                if r < keys.count && keys[r] < keys[m] { m = r }
                if m == i { break }
                keys.swapAt(m, i); ids.swapAt(m, i); i = m
            }
        }
        return out
    }
}
