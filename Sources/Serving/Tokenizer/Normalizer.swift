import Foundation
import Cluster

/// A `tokenizer.json` normalizer: the ones Llama, Mistral, Mixtral, Qwen and GPT-style files use.
indirect enum Normalizer {
    case sequence([Normalizer])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case prepend(String)
    case replaceString(String, String)
    case replaceRegex(NSRegularExpression, String)
    case strip(left: Bool, right: Bool)
    case stripAccents

    init(_ n: JSONNode) throws {
        let type = try n.string("type")
        switch type {
        case "Sequence": self = .sequence(try n.require("normalizers").array().map(Normalizer.init))
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "Prepend": self = .prepend(try n.string("prepend"))
        case "Strip": self = .strip(left: try n.bool("strip_left", default: true), right: try n.bool("strip_right", default: true))
        case "Replace":
            let content = try n.string("content")
            let p = try n.require("pattern")
            if let s = p.optional("String") { self = .replaceString(try s.string(), content) }
            else if let r = p.optional("Regex") { self = .replaceRegex(try Pattern.compile(try r.string(), at: r), content) }
            else { throw p.fail("expected {\"String\": ...} or {\"Regex\": ...}") }
        case "Precompiled":
            // SentencePiece's compiled normalization map; an empty one changes nothing.
            if let m = n.optional("precompiled_charsmap"), let s = m.value as? String, !s.isEmpty {
                throw InputError.data("\(n.file): key '\(n.path)' is a SentencePiece Precompiled normalizer with a character map, which moesim does not read (BPE tokenizers of Llama 3, Qwen, gpt-oss, Mistral and Mixtral have none)")
            }
            self = .sequence([])
        default:
            throw InputError.data("\(n.file): key '\(n.path).type' is \"\(type)\"; moesim reads the normalizers NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, StripAccents and Sequence")
        }
    }

    /// Replaces every `a` by `b`, comparing UTF-8 bytes (no canonical equivalence, and fast on long prompts).
    static func replace(_ s: String, _ a: String, _ b: String) -> String {
        let pat = Array(a.utf8), rep = Array(b.utf8)
        guard let p0 = pat.first else { return s }
        var str = s
        str.makeContiguousUTF8()
        var out: [UInt8] = []
        var found = false
        str.withUTF8 { src in
            out.reserveCapacity(src.count + src.count / 4)
            var i = 0
            while i < src.count {
                if src[i] == p0, i + pat.count <= src.count, pat.count == 1 || src[i..<(i + pat.count)].elementsEqual(pat) {
                    out.append(contentsOf: rep); i += pat.count; found = true
                } else { out.append(src[i]); i += 1 }
            }
        }
        return found ? String(decoding: out, as: UTF8.self) : s
    }

    func apply(_ s: String) -> String {
        switch self {
        case .sequence(let ns): return ns.reduce(s) { $1.apply($0) }
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .lowercase: return s.lowercased()
        case .prepend(let p): return s.isEmpty ? s : p + s
        case .replaceString(let a, let b): return Self.replace(s, a, b)
        case .replaceRegex(let r, let b):
            let ns = s as NSString
            var out = "", last = 0
            for m in r.matches(in: s, range: NSRange(location: 0, length: ns.length)) {
                out += ns.substring(with: NSRange(location: last, length: m.range.location - last)) + b
                last = m.range.location + m.range.length
            }
            return out + ns.substring(from: last)
        case .strip(let l, let r):
            var sub = Substring(s)
            if l { sub = sub.drop(while: { $0.unicodeScalars.allSatisfy(Pattern.isWhiteSpace) }) }
            if r { while let c = sub.last, c.unicodeScalars.allSatisfy(Pattern.isWhiteSpace) { sub = sub.dropLast() } }
            return String(sub)
        case .stripAccents:
            var u = String.UnicodeScalarView()
            for c in s.unicodeScalars where c.properties.generalCategory != .nonspacingMark { u.append(c) }
            return String(u)
        }
    }
}
