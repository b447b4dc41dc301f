import Foundation
import Cluster

/// Regular expressions of `tokenizer.json` files (the `tokenizers` package runs them with Oniguruma), compiled
/// with ICU. Oniguruma's `\s` is Unicode white space (with U+000B and U+0085, which ICU's `\s` leaves out), so it is
/// spelled out as a set.
enum Pattern {
    static let whiteSpaceSet = "[\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Z}]"

    static func translate(_ p: String) -> String {
        var out = "", it = Array(p), i = 0
        while i < it.count {
            if it[i] == "\\", i + 1 < it.count {
                switch it[i + 1] {
                case "s": out += whiteSpaceSet
                case "S": out += "[^" + whiteSpaceSet.dropFirst()
                default: out.append(it[i]); out.append(it[i + 1])
                }
                i += 2
            } else { out.append(it[i]); i += 1 }
        }
        return out
    }

    static func compile(_ p: String, at n: JSONNode) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: translate(p)) }
        catch { throw n.fail("the regular expression \"\(p)\" does not compile") }
    }

    static func isWhiteSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }

    /// `(range, isMatch)` pieces covering `s` (UTF-16 offsets), as `tokenizers`' `find_matches`.
    static func pieces(_ r: NSRegularExpression, _ s: String) -> [(NSRange, Bool)] {
        var out: [(NSRange, Bool)] = [], last = 0
        let length = s.utf16.count
        for m in r.matches(in: s, range: NSRange(location: 0, length: length)) where m.range.length > 0 {
            if m.range.location > last { out.append((NSRange(location: last, length: m.range.location - last), false)) }
            out.append((m.range, true))
            last = m.range.location + m.range.length
        }
        if last < length { out.append((NSRange(location: last, length: length - last), false)) }
        return out
    }

    static func pieces(literal: String, _ str: String) -> [(NSRange, Bool)] {
        let s = str as NSString
        guard !literal.isEmpty else { return [(NSRange(location: 0, length: s.length), false)] }
        var out: [(NSRange, Bool)] = [], last = 0
        var search = NSRange(location: 0, length: s.length)
        while true {
            let m = s.range(of: literal, options: [.literal], range: search)
            if m.location == NSNotFound { break }
            if m.location > last { out.append((NSRange(location: last, length: m.location - last), false)) }
            out.append((m, true))
            last = m.location + m.length
            search = NSRange(location: last, length: s.length - last)
        }
        if last < s.length { out.append((NSRange(location: last, length: s.length - last), false)) }
        return out
    }
}

/// `SplitDelimiterBehavior` of the `tokenizers` package.
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious", mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    func apply(_ ps: [(NSRange, Bool)]) -> [NSRange] {
        func join(_ a: NSRange, _ b: NSRange) -> NSRange { NSRange(location: a.location, length: b.location + b.length - a.location) }
        switch self {
        case .removed: return ps.filter { !$0.1 }.map(\.0)
        case .isolated: return ps.map(\.0)
        case .mergedWithPrevious:
            var acc: [NSRange] = [], prev = false
            for (r, m) in ps {
                if m && !prev, let l = acc.last { acc[acc.count - 1] = join(l, r) } else { acc.append(r) }
                prev = m
            }
            return acc
        case .mergedWithNext:
            var acc: [NSRange] = [], prev = false
            for (r, m) in ps.reversed() {
                if m && !prev, let l = acc.last { acc[acc.count - 1] = join(r, l) } else { acc.append(r) }
                prev = m
            }
            return acc.reversed()
        case .contiguous:
            var acc: [NSRange] = [], prev = false
            for (r, m) in ps {
                if m == prev, let l = acc.last { acc[acc.count - 1] = join(l, r) } else { acc.append(r) }
                prev = m
            }
            return acc
        }
    }
}

/// A `tokenizer.json` pre-tokenizer: splits a normalized segment into words.
indirect enum PreTokenizer {
    struct Piece {
        var text: String
        /// The piece starts the input (Metaspace's `prepend_scheme: first` prepends only there).
        var atStart: Bool
    }

    case sequence([PreTokenizer])
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(NSRegularExpression?, literal: String, SplitBehavior, invert: Bool)
    case metaspace(replacement: String, prepend: String, split: Bool)
    case whitespace, whitespaceSplit
    case digits(individual: Bool)

    /// GPT-2's pattern, which ByteLevel with `use_regex` splits with.
    static let gpt2 = try! NSRegularExpression(pattern: Pattern.translate(#"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#))
    static let wordRE = try! NSRegularExpression(pattern: #"\w+|[^\w\s]+"#)
    static let digitsRE = try! NSRegularExpression(pattern: #"\p{Nd}+"#)
    static let digitRE = try! NSRegularExpression(pattern: #"\p{Nd}"#)
    static let nonSpaceRE = try! NSRegularExpression(pattern: Pattern.translate(#"\S+"#))

    init(_ n: JSONNode) throws {
        let type = try n.string("type")
        switch type {
        case "Sequence": self = .sequence(try n.require("pretokenizers").array().map(PreTokenizer.init))
        case "ByteLevel": self = .byteLevel(addPrefixSpace: try n.bool("add_prefix_space", default: true), useRegex: try n.bool("use_regex", default: true))
        case "Split":
            let p = try n.require("pattern")
            let b = try n.string("behavior")
            guard let behavior = SplitBehavior(rawValue: b) else {
                throw InputError.data("\(n.file): key '\(n.path).behavior' is \"\(b)\"; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous")
            }
            let invert = try n.bool("invert", default: false)
            if let s = p.optional("String") { self = .split(nil, literal: try s.string(), behavior, invert: invert) }
            else if let r = p.optional("Regex") { self = .split(try Pattern.compile(try r.string(), at: r), literal: "", behavior, invert: invert) }
            else { throw p.fail("expected {\"String\": ...} or {\"Regex\": ...}") }
        case "Metaspace":
            let rep = try n.optional("replacement")?.string() ?? "▁"
            guard rep.count == 1 else { throw InputError.data("\(n.file): key '\(n.path).replacement' is \"\(rep)\"; expected one character") }
            var scheme: String
            if let s = n.optional("prepend_scheme") { scheme = try s.string() }
            else { scheme = try n.bool("add_prefix_space", default: true) ? "always" : "never" }
            guard ["always", "first", "never"].contains(scheme) else {
                throw InputError.data("\(n.file): key '\(n.path).prepend_scheme' is \"\(scheme)\"; expected always, first or never")
            }
            self = .metaspace(replacement: rep, prepend: scheme, split: try n.bool("split", default: true))
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Digits": self = .digits(individual: try n.bool("individual_digits", default: false))
        default:
            throw InputError.data("\(n.file): key '\(n.path).type' is \"\(type)\"; moesim reads the pre-tokenizers ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, Digits and Sequence")
        }
    }

    func apply(_ pieces: [Piece]) -> [Piece] {
        if case .sequence(let ps) = self { return ps.reduce(pieces) { $1.apply($0) } }
        var out: [Piece] = []
        for p in pieces { apply(p, into: &out) }
        return out
    }

    /// The pieces of `s` at `ranges` (UTF-16 offsets, ascending, as the regex reports them), walked once.
    private func splitting(_ p: Piece, _ ranges: [NSRange], _ s: String, into out: inout [Piece]) {
        let u = s.utf16
        var idx = u.startIndex, pos = 0
        for r in ranges where r.length > 0 {
            let a = u.index(idx, offsetBy: r.location - pos)
            let b = u.index(a, offsetBy: r.length)
            out.append(Piece(text: String(s[a..<b]), atStart: p.atStart && r.location == 0))
            idx = b; pos = r.location + r.length
        }
    }

    private func apply(_ p: Piece, into out: inout [Piece]) {
        switch self {
        case .sequence: out += apply([p])
        case .byteLevel(let prefix, let useRegex):
            var text = p.text
            if prefix && !text.hasPrefix(" ") { text = " " + text }
            var words: [Piece] = []
            if useRegex {
                splitting(p, SplitBehavior.isolated.apply(Pattern.pieces(Self.gpt2, text)), text, into: &words)
            } else { words = [Piece(text: text, atStart: p.atStart)] }
            for w in words { out.append(Piece(text: ByteLevel.map(w.text), atStart: w.atStart)) }
        case .split(let re, let literal, let behavior, let invert):
            var ps = re.map { Pattern.pieces($0, p.text) } ?? Pattern.pieces(literal: literal, p.text)
            if invert { ps = ps.map { ($0.0, !$0.1) } }
            splitting(p, behavior.apply(ps), p.text, into: &out)
        case .metaspace(let rep, let scheme, let split):
            var text = Normalizer.replace(p.text, " ", rep)
            if !text.hasPrefix(rep) && (scheme == "always" || (scheme == "first" && p.atStart)) { text = rep + text }
            if split {
                splitting(Piece(text: text, atStart: p.atStart), SplitBehavior.mergedWithNext.apply(Pattern.pieces(literal: rep, text)), text, into: &out)
            } else { out.append(Piece(text: text, atStart: p.atStart)) }
        case .whitespace:
            splitting(p, SplitBehavior.removed.apply(Pattern.pieces(Self.wordRE, p.text).map { ($0.0, !$0.1) }), p.text, into: &out)
        case .whitespaceSplit:
            splitting(p, SplitBehavior.removed.apply(Pattern.pieces(Self.nonSpaceRE, p.text).map { ($0.0, !$0.1) }), p.text, into: &out)
        case .digits(let individual):
            splitting(p, SplitBehavior.isolated.apply(Pattern.pieces(individual ? Self.digitRE : Self.digitsRE, p.text)), p.text, into: &out)
        }
    }
}

/// GPT-2's bytes-to-characters table: printable bytes stand for themselves, the others for U+0100 onwards.
enum ByteLevel {
    static let table: [Character] = {
        var t = [Character](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) { t[b] = Character(Unicode.Scalar(UInt32(b))!) }
            else { t[b] = Character(Unicode.Scalar(UInt32(256 + n))!); n += 1 }
        }
        return t
    }()

    static func map(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count * 2)
        for b in s.utf8 { out.append(table[Int(b)]) }
        return out
    }
}
