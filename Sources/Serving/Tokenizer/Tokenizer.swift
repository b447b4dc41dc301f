import Foundation
import Cluster

/// A Hugging Face `tokenizer.json` read by moesim itself: BPE models with the byte-level pipeline of GPT-2,
/// Llama 3, Qwen and gpt-oss (a regex split, then bytes as characters) or the Metaspace pipeline of Mistral and
/// Mixtral (spaces as "▁", unknown characters as byte tokens), with their added and special tokens.
///
/// `encode` follows the `tokenizers` package's `Tokenizer.encode(text, add_special_tokens)`: added tokens are cut
/// out first, the rest is normalized, pre-tokenized into words, each word is split by BPE (merges cached per word),
/// and the post-processor adds the template's special tokens (Llama's BOS, say). vLLM's benchmark counts a prompt
/// as `len(tokenizer(prompt).input_ids)`, which adds them.
public final class HFTokenizer: @unchecked Sendable {
    /// The file read.
    public let file: String
    let addedTokens: AddedTokens
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    /// Ids the post-processor puts around one sequence (with `add_special_tokens`).
    public let specialPrefix: [Int]
    public let specialSuffix: [Int]
    /// `num_special_tokens_to_add()` of a single sequence, as vLLM's random dataset subtracts it.
    public var numSpecialTokensToAdd: Int { specialPrefix.count + specialSuffix.count }
    /// Size of the vocabulary with the added tokens.
    public var vocabSize: Int { model.vocabCount + addedTokens.extraCount }

    /// Reads `path`: a `tokenizer.json`, or a folder holding one. Errors are one line naming the file and the key.
    public convenience init(path: String) throws {
        var isDir: ObjCBool = false
        var file = path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            file = (path as NSString).appendingPathComponent("tokenizer.json")
            guard FileManager.default.fileExists(atPath: file) else {
                let has = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("tokenizer.model"))
                throw InputError.data("\(path): the folder has no tokenizer.json\(has ? " (only a SentencePiece tokenizer.model, which moesim does not read; transformers' save_pretrained writes the tokenizer.json)" : "")")
            }
        }
        try self.init(data: try readInputFile(file), file: file)
    }

    public init(data: Data, file: String) throws {
        self.file = file
        let parsed = try JSONReader.parse(data, file: file)
        // The vocabulary is read from the members as written; everything else through JSONNode, which names keys in errors.
        var vocabPairs: [JSONReader.Member]? = nil
        var mergeValues: [JSONReader.Value]? = nil
        var rootValue: Any = parsed.foundation(skippingVocab: true)
        if case .object(let top) = parsed, let m = parsed.member("model"), case .object = m {
            if case .object(let v)? = m.member("vocab") { vocabPairs = v }
            if case .array(let v)? = m.member("merges") { mergeValues = v }
            _ = top
        } else { rootValue = parsed.foundation(skippingVocab: false) }
        let root = JSONNode(value: rootValue, file: file)
        guard root.object != nil else { throw root.fail("expected a Hugging Face tokenizer.json (a JSON object with 'model'), found another JSON value") }
        guard let m = root.optional("model") else {
            throw InputError.data("\(file): no key 'model'; this is not a Hugging Face tokenizer.json (tokenizer_config.json and vocab.json are not enough: give the tokenizer.json)")
        }
        model = try BPEModel(m, vocabPairs: vocabPairs, merges: mergeValues)
        addedTokens = try AddedTokens(root.optional("added_tokens"), model: model)
        normalizer = try root.optional("normalizer").map(Normalizer.init)
        preTokenizer = try root.optional("pre_tokenizer").map(PreTokenizer.init)
        (specialPrefix, specialSuffix) = try Self.postProcessor(root.optional("post_processor"), model: model, added: addedTokens)
        addedTokens.normalizeContents(normalizer)
    }

    /// The token ids of `text`, as `tokenizers`' `encode(text, add_special_tokens=addSpecialTokens).ids`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = addSpecialTokens ? specialPrefix : []
        encodeBody(text) { ids.append($0) }
        if addSpecialTokens { ids += specialSuffix }
        return ids
    }

    /// The number of tokens of `text` (`len(tokenizer(text).input_ids)` with special tokens).
    public func count(_ text: String, addSpecialTokens: Bool = true) -> Int {
        var n = addSpecialTokens ? numSpecialTokensToAdd : 0
        encodeBody(text) { _ in n += 1 }
        return n
    }

    private let lock = NSLock()

    func encodeBody(_ text: String, _ emit: (Int) -> Void) {
        lock.lock(); defer { lock.unlock() }
        // 1. Added tokens that match the raw text; 2. the rest normalized, then the normalized added tokens.
        for seg in addedTokens.split(text, normalized: false) {
            if let id = seg.token { emit(id); continue }
            let atStart = seg.start == 0
            let norm = normalizer.map { $0.apply(String(seg.text)) } ?? String(seg.text)
            for seg2 in addedTokens.split(norm, normalized: true) {
                if let id = seg2.token { emit(id); continue }
                let words = preTokenizer.map { $0.apply([PreTokenizer.Piece(text: String(seg2.text), atStart: atStart && seg2.start == 0)]) }
                    ?? [PreTokenizer.Piece(text: String(seg2.text), atStart: atStart && seg2.start == 0)]
                for w in words where !w.text.isEmpty { model.tokenize(w, emit) }
            }
        }
    }

    static func postProcessor(_ n: JSONNode?, model: BPEModel, added: AddedTokens) throws -> ([Int], [Int]) {
        guard let n else { return ([], []) }
        let type = try n.string("type")
        func id(_ token: String, _ at: JSONNode) throws -> Int {
            if let i = added.ids[Bytes(token)] ?? model.vocab[Bytes(token)] { return i }
            throw at.fail("special token \"\(token)\" is neither in the vocabulary nor an added token")
        }
        switch type {
        case "ByteLevel": return ([], [])
        case "Sequence":
            var pre: [Int] = [], post: [Int] = []
            for p in try n.require("processors").array() {
                let (a, b) = try postProcessor(p, model: model, added: added)
                pre += a; post = b + post
            }
            return (pre, post)
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            if let st = n.optional("special_tokens"), let o = st.object {
                for k in o.keys.sorted() {
                    let e = try st.require(k)
                    specials[k] = try e.require("ids").array().map { try $0.int() }
                }
            }
            var pre: [Int] = [], post: [Int] = [], seenSequence = false
            for item in try n.require("single").array() {
                if let s = item.optional("SpecialToken") {
                    let name = try s.string("id")
                    let ids = try specials[name] ?? [id(name, s)]
                    if seenSequence { post += ids } else { pre += ids }
                } else if item.optional("Sequence") != nil {
                    seenSequence = true
                } else {
                    throw item.fail("expected a SpecialToken or a Sequence")
                }
            }
            return (pre, post)
        case "RobertaProcessing", "BertProcessing":
            // [cls, id] and [sep, id] pairs.
            let cls = try n.require("cls").array(), sep = try n.require("sep").array()
            guard cls.count == 2, sep.count == 2 else { throw n.fail("expected 'cls' and 'sep' as [token, id]") }
            return ([try cls[1].int()], [try sep[1].int()])
        default:
            throw InputError.data("\(n.file): key '\(n.path).type' is \"\(type)\"; moesim reads the post-processors TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing and Sequence")
        }
    }
}

/// Added tokens (`added_tokens`): matched in the text before anything else, leftmost and longest first, as the
/// `tokenizers` package does; those with `normalized: true` are matched in the normalized text instead.
final class AddedTokens {
    struct Token {
        var content: [UInt8]
        var id: Int
        var singleWord: Bool, lstrip: Bool, rstrip: Bool
    }
    var raw: [Token] = []
    var normalized: [Token] = []
    var ids: [Bytes: Int] = [:]
    var extraCount = 0
    /// First byte -> tokens starting with it, longest first.
    var rawIndex: [UInt8: [Int]] = [:]
    var normIndex: [UInt8: [Int]] = [:]

    init(_ n: JSONNode?, model: BPEModel) throws {
        guard let n else { return }
        for e in try n.array() {
            let content = try e.string("content"), id = try e.int("id")
            guard id >= 0 else { throw e.fail("id \(id) is negative") }
            if model.vocab[Bytes(content)] == nil { extraCount += 1 }
            ids[Bytes(content)] = id
            guard !content.isEmpty else { continue }
            let t = Token(content: Array(content.utf8), id: id, singleWord: try e.bool("single_word", default: false),
                          lstrip: try e.bool("lstrip", default: false), rstrip: try e.bool("rstrip", default: false))
            // tokenizers' AddedToken: `normalized` defaults to the opposite of `special`.
            if try e.bool("normalized", default: !(try e.bool("special", default: false))) {
                normalized.append(t)
            } else { raw.append(t) }
        }
        rawIndex = Self.index(raw)
        normIndex = Self.index(normalized)
    }

    static func index(_ ts: [Token]) -> [UInt8: [Int]] {
        var idx: [UInt8: [Int]] = [:]
        for (i, t) in ts.enumerated() { idx[t.content[0], default: []].append(i) }
        for k in idx.keys { idx[k]!.sort { ts[$0].content.count > ts[$1].content.count } }
        return idx
    }

    /// The normalized tokens are matched as the normalizer writes them.
    func normalizeContents(_ normalizer: Normalizer?) {
        guard let normalizer, !normalized.isEmpty else { return }
        for i in normalized.indices {
            let s = normalizer.apply(String(decoding: normalized[i].content, as: UTF8.self))
            if !s.isEmpty { normalized[i].content = Array(s.utf8) }
        }
        normIndex = Self.index(normalized)
    }

    struct Segment {
        var text: Substring
        var start: Int
        var token: Int?
    }

    static func isWordByte(_ s: Substring.UTF8View, _ i: Substring.UTF8View.Index?) -> Bool {
        guard let i else { return false }
        let b = s[i]
        return b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0d) }

    func split(_ text: String, normalized useNormalized: Bool) -> [Segment] {
        let tokens = useNormalized ? normalized : raw
        let index = useNormalized ? normIndex : rawIndex
        let sub = Substring(text)
        guard !tokens.isEmpty else { return [Segment(text: sub, start: 0, token: nil)] }
        let u = sub.utf8
        let bytes = Array(u)
        var out: [Segment] = []
        var segStart = 0, i = 0
        func idx(_ k: Int) -> String.Index { u.index(u.startIndex, offsetBy: k) }
        while i < bytes.count {
            var matched: (Int, Int, Int)? = nil // start, end, id
            if let cands = index[bytes[i]] {
                for c in cands {
                    let t = tokens[c]
                    let n = t.content.count
                    guard i + n <= bytes.count, bytes[i..<(i + n)].elementsEqual(t.content) else { continue }
                    if t.singleWord {
                        let before = i > 0 && Self.isWordByte(u, idx(i - 1)), after = i + n < bytes.count && Self.isWordByte(u, idx(i + n))
                        if before || after { continue }
                    }
                    var s = i, e = i + n
                    if t.lstrip { while s > segStart && Self.isSpace(bytes[s - 1]) { s -= 1 } }
                    if t.rstrip { while e < bytes.count && Self.isSpace(bytes[e]) { e += 1 } }
                    matched = (s, e, t.id)
                    break
                }
            }
            if let (s, e, id) = matched {
                if s > segStart { out.append(Segment(text: sub[idx(segStart)..<idx(s)], start: segStart, token: nil)) }
                out.append(Segment(text: sub[idx(s)..<idx(e)], start: s, token: id))
                segStart = e; i = e
            } else {
                i += 1
            }
        }
        if segStart < bytes.count { out.append(Segment(text: sub[idx(segStart)...], start: segStart, token: nil)) }
        return out
    }
}
