import Foundation
import Cluster

/// A JSON reader that keeps object members as written. Foundation's JSONSerialization builds dictionaries keyed
/// by String, whose equality is canonical equivalence: a vocabulary holding both "é" and "e\u{301}" (two tokens)
/// would lose one. Errors name the file, line and column.
enum JSONReader {
    struct Member {
        var key: String
        var value: Value
    }

    indirect enum Value {
        case object([Member])
        case array([Value])
        case string(String)
        case number(Double, isInteger: Bool)
        case bool(Bool)
        case null

        /// Foundation's form, for `JSONNode` (objects become dictionaries).
        var foundation: Any {
            switch self {
            case .object(let m):
                var d: [String: Any] = [:]
                for e in m { d[e.key] = e.value.foundation }
                return d
            case .array(let a): return a.map(\.foundation)
            case .string(let s): return s
            case .number(let x, let isInt): return isInt && abs(x) < 9e15 ? NSNumber(value: Int(x)) : NSNumber(value: x)
            case .bool(let b): return NSNumber(value: b)
            case .null: return NSNull()
            }
        }

        /// Foundation's form of a whole tokenizer.json, leaving out `model.vocab` and `model.merges` (read from the
        /// values instead: hundreds of thousands of entries, slow to bridge).
        func foundation(skippingVocab: Bool) -> Any {
            guard skippingVocab, case .object(let top) = self else { return foundation }
            var d: [String: Any] = [:]
            for e in top {
                if e.key == "model", case .object(let mm) = e.value {
                    var md: [String: Any] = [:]
                    for x in mm { md[x.key] = x.key == "vocab" ? ([:] as [String: Any]) : x.key == "merges" ? ([] as [Any]) : x.value.foundation }
                    d[e.key] = md
                } else { d[e.key] = e.value.foundation }
            }
            return d
        }

        func member(_ k: String) -> Value? {
            if case .object(let m) = self { return m.first(where: { $0.key == k })?.value }
            return nil
        }
    }

    static func parse(_ data: Data, file: String) throws -> Value {
        try data.withUnsafeBytes { raw -> Value in
            var p = Parser(b: raw.bindMemory(to: UInt8.self), file: file)
            p.skip()
            let v = try p.value(depth: 0)
            p.skip()
            guard p.i == p.b.count else { throw p.fail("unexpected text after the JSON value") }
            return v
        }
    }

    struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        let file: String
        var i = 0

        func fail(_ what: String) -> InputError {
            var line = 1, col = 1
            for k in 0..<min(i, b.count) { if b[k] == 0x0a { line += 1; col = 1 } else { col += 1 } }
            return InputError.data("\(file): malformed JSON at line \(line), column \(col): \(what)")
        }

        mutating func skip() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x09 { i += 1 }
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 512 else { throw fail("nested too deeply") }
            guard i < b.count else { throw fail("unexpected end of file") }
            switch b[i] {
            case UInt8(ascii: "{"):
                i += 1; skip()
                var m: [Member] = []
                if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(m) }
                while true {
                    skip()
                    guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let k = try string()
                    skip()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1; skip()
                    m.append(Member(key: k, value: try value(depth: depth + 1)))
                    skip()
                    guard i < b.count else { throw fail("unexpected end of file") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "}") { i += 1; return .object(m) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1; skip()
                var a: [Value] = []
                if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                while true {
                    skip()
                    a.append(try value(depth: depth + 1))
                    skip()
                    guard i < b.count else { throw fail("unexpected end of file") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try word("true"); return .bool(true)
            case UInt8(ascii: "f"): try word("false"); return .bool(false)
            case UInt8(ascii: "n"): try word("null"); return .null
            default: return try number()
            }
        }

        mutating func word(_ w: StaticString) throws {
            let n = w.utf8CodeUnitCount
            guard i + n <= b.count else { throw fail("unexpected end of file") }
            for k in 0..<n where b[i + k] != w.utf8Start[k] { throw fail("unexpected character") }
            i += n
        }

        mutating func number() throws -> Value {
            let start = i
            var isInt = true
            while i < b.count {
                let c = b[i]
                if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { i += 1 }
                else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isInt = false; i += 1 }
                else { break }
            }
            let s = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            guard !s.isEmpty, let d = Double(s), d.isFinite else { i = start; throw fail("expected a value") }
            return .number(d, isInteger: isInt)
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= b.count else { throw fail("bad \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | d; i += 1
            }
            return v
        }

        mutating func string() throws -> String {
            i += 1 // opening quote
            var out: [UInt8] = []
            var start = i
            while true {
                guard i < b.count else { throw fail("unterminated string") }
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    out.append(contentsOf: b[start..<i]); i += 1
                    break
                }
                if c == UInt8(ascii: "\\") {
                    out.append(contentsOf: b[start..<i]); i += 1
                    guard i < b.count else { throw fail("unterminated string") }
                    let e = b[i]; i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5c)
                    case UInt8(ascii: "/"): out.append(0x2f)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var u = try hex4()
                        if u >= 0xD800 && u < 0xDC00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                            i += 2
                            let lo = try hex4()
                            if lo >= 0xDC00 && lo < 0xE000 { u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00) } else { u = 0xFFFD; i -= 6 }
                        }
                        let scalar = Unicode.Scalar(u) ?? "\u{FFFD}"
                        out.append(contentsOf: Array(String(scalar).utf8))
                    default: throw fail("bad escape \\\(Character(Unicode.Scalar(e)))")
                    }
                    start = i
                    continue
                }
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
