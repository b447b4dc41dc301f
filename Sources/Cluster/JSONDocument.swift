import Foundation

/// A parsed JSON text held compactly: the input bytes and one 16-byte tape entry per value (and per object key),
/// so that a document takes at most about nine times its bytes (an array of one-digit numbers, the worst case;
/// a profile or config takes about twice), unlike a tree of Foundation objects (about thirty times). Strings stay
/// in the input until read; object members are found by scanning their keys. Parsing is iterative (no recursion,
/// so nesting cannot overflow the stack) and strict RFC 8259.
public final class JSONDocument: @unchecked Sendable {
    enum Kind: UInt8 { case null, falseValue, trueValue, number, string, array, object }
    /// `count`: a container's children (an object's members count twice: key and value) or a string's byte length;
    /// `payload`: a container's end (the index after its last descendant), a string's byte offset or a number's bits;
    /// `flags`: 1 = a string holds escapes, 2 = a number was written as a whole number (no fraction or exponent).
    struct Entry { var kind: Kind; var flags: UInt8; var count: UInt32; var payload: UInt64 }

    let bytes: Data
    private(set) var tape: [Entry] = []

    /// The most nested containers a document may have.
    public static let maxDepth = 512

    public struct ParseError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses `bytes` (UTF-8 JSON, any value at the top); errors give the line and column.
    public init(bytes: Data) throws {
        self.bytes = bytes
        var tape: [Entry] = []
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let p = raw.bindMemory(to: UInt8.self)
            tape.reserveCapacity(Self.countValues(p))
            var parser = Parser(p: p, tape: tape)
            tape = []
            try parser.parseDocument()
            tape = parser.tape
        }
        self.tape = tape
    }

    /// The text with Python's non-finite number tokens (`NaN`, `Infinity`, `-Infinity`, which Python's json module
    /// writes and vLLM's result files hold for a metric without samples) outside strings replaced by `null`, or nil
    /// when it has none. For benchmark result files only: elsewhere a non-finite number is an error.
    public static func pythonNonFiniteAsNull(_ data: Data) -> Data? {
        let b = [UInt8](data)
        var out: [UInt8] = [], i = 0, inString = false, changed = false
        out.reserveCapacity(b.count)
        func token(_ t: String, at k: Int) -> Bool {
            let u = Array(t.utf8)
            guard k + u.count <= b.count, Array(b[k..<(k + u.count)]) == u else { return false }
            // Whole tokens only: not the start of a longer word.
            if k + u.count < b.count, let c = Optional(b[k + u.count]), (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) { return false }
            return true
        }
        while i < b.count {
            let c = b[i]
            if inString {
                out.append(c)
                if c == UInt8(ascii: "\\"), i + 1 < b.count { out.append(b[i + 1]); i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") { inString = true; out.append(c); i += 1; continue }
            var matched = false
            for t in ["-Infinity", "Infinity", "NaN"] where token(t, at: i) {
                out += Array("null".utf8); i += t.utf8.count; changed = true; matched = true
                break
            }
            if !matched { out.append(c); i += 1 }
        }
        return changed ? Data(out) : nil
    }

    /// Bytes held: the input and the tape (for the memory bound's test).
    public var memoryBytes: Int { bytes.count + tape.capacity * MemoryLayout<Entry>.stride }

    /// An upper bound on the tape entries `p` needs (a quick pass over the bytes), so the tape is allocated once.
    static func countValues(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0, i = 0, inString = false, prevScalar = false
        while i < p.count {
            let c = p[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inString = false }
            } else {
                switch c {
                case UInt8(ascii: "\""): n += 1; inString = true; prevScalar = false
                case UInt8(ascii: "["), UInt8(ascii: "{"): n += 1; prevScalar = false
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    if !prevScalar { n += 1 }
                    prevScalar = true
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "+"), UInt8(ascii: "."): prevScalar = true
                default: prevScalar = false
                }
            }
            i += 1
        }
        return n + 1
    }

    struct Parser {
        let p: UnsafeBufferPointer<UInt8>
        var tape: [Entry]
        var i = 0

        func fail(_ what: String, at offset: Int? = nil) -> ParseError {
            let at = min(offset ?? i, p.count)
            var line = 1, col = 1
            for k in 0..<at { if p[k] == UInt8(ascii: "\n") { line += 1; col = 1 } else { col += 1 } }
            return ParseError(message: "\(what) at line \(line), column \(col)")
        }

        mutating func skipSpace() {
            while i < p.count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        }

        mutating func parseDocument() throws {
            // A UTF-8 byte order mark is allowed before the value.
            if p.count >= 3, p[0] == 0xEF, p[1] == 0xBB, p[2] == 0xBF { i = 3 }
            // Open containers: the tape index of each, and whether the next thing is a key (objects) or a value.
            var stack: [Int] = []
            var expectKey = false
            skipSpace()
            guard i < p.count else { throw fail("no JSON value") }
            while true {
                skipSpace()
                guard i < p.count else { throw fail("unexpected end of the text") }
                let c = p[i]
                if expectKey {
                    if c == UInt8(ascii: "}") && tape[stack.last!].count == 0 {
                        i += 1
                        try close(&stack)
                    } else {
                        guard c == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                        try parseString()
                        skipSpace()
                        guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':' after an object key") }
                        i += 1
                        expectKey = false
                        continue
                    }
                } else {
                    switch c {
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        guard stack.count < JSONDocument.maxDepth else { throw fail("nested more than \(JSONDocument.maxDepth) deep") }
                        stack.append(tape.count)
                        tape.append(Entry(kind: c == UInt8(ascii: "[") ? .array : .object, flags: 0, count: 0, payload: 0))
                        i += 1
                        if c == UInt8(ascii: "{") { expectKey = true; continue }
                        skipSpace()
                        if i < p.count, p[i] == UInt8(ascii: "]") { i += 1; try close(&stack) } else { continue }
                    case UInt8(ascii: "\""): try parseString()
                    case UInt8(ascii: "t"): try literal("true", .trueValue)
                    case UInt8(ascii: "f"): try literal("false", .falseValue)
                    case UInt8(ascii: "n"): try literal("null", .null)
                    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
                    default: throw fail("unexpected character '\(Self.show(c))'")
                    }
                }
                // After a value: the end of the text, or of its container, or a comma.
                while true {
                    skipSpace()
                    guard let top = stack.last else {
                        guard i == p.count else { throw fail("unexpected text after the JSON value") }
                        return
                    }
                    guard i < p.count else { throw fail("unexpected end of the text") }
                    let isObject = tape[top].kind == .object
                    tape[top].count += 1
                    if tape[top].count == UInt32.max { throw fail("a container with too many members") }
                    if p[i] == UInt8(ascii: ",") {
                        i += 1
                        expectKey = isObject
                        break
                    }
                    guard p[i] == UInt8(ascii: isObject ? "}" : "]") else { throw fail("expected ',' or '\(isObject ? "}" : "]")'") }
                    i += 1
                    try close(&stack)
                }
            }
        }

        /// Ends the innermost container: its members are counted, its end recorded.
        mutating func close(_ stack: inout [Int]) throws {
            let top = stack.removeLast()
            if tape[top].kind == .object { tape[top].count *= 2 }
            tape[top].payload = UInt64(tape.count)
        }

        static func show(_ c: UInt8) -> String { c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : String(format: "\\x%02X", c) }

        mutating func literal(_ word: String, _ kind: Kind) throws {
            for (k, b) in word.utf8.enumerated() {
                guard i + k < p.count, p[i + k] == b else { throw fail("invalid literal (expected '\(word)')") }
            }
            i += word.utf8.count
            tape.append(Entry(kind: kind, flags: 0, count: 0, payload: 0))
        }

        mutating func parseString() throws {
            let start = i + 1
            i = start
            var escapes = false
            while true {
                guard i < p.count else { throw fail("unterminated string", at: start - 1) }
                let c = p[i]
                if c == UInt8(ascii: "\"") { break }
                if c < 0x20 { throw fail("a control character in a string (escape it)") }
                if c == UInt8(ascii: "\\") {
                    escapes = true
                    guard i + 1 < p.count else { throw fail("unterminated string", at: start - 1) }
                    switch p[i + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): i += 2
                    case UInt8(ascii: "u"):
                        guard i + 5 < p.count, (2...5).allSatisfy({ Self.hex(p[i + $0]) != nil }) else { throw fail("invalid \\u escape") }
                        i += 6
                    default: throw fail("invalid escape '\\\(Self.show(p[i + 1]))'")
                    }
                    continue
                }
                i += 1
            }
            let length = i - start
            guard length < Int(UInt32.max) else { throw fail("a string too long") }
            tape.append(Entry(kind: .string, flags: escapes ? 1 : 0, count: UInt32(length), payload: UInt64(start)))
            i += 1
        }

        static func hex(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }

        mutating func parseNumber() throws {
            let start = i
            func digits() -> Int {
                let s = i
                while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") { i += 1 }
                return i - s
            }
            if p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") else { throw fail("invalid number") }
            if p[i] == UInt8(ascii: "0") {
                i += 1
                if i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") { throw fail("invalid number (leading zero)") }
            } else { _ = digits() }
            var whole = true
            if i < p.count, p[i] == UInt8(ascii: ".") {
                i += 1; whole = false
                guard digits() > 0 else { throw fail("invalid number (no digits after '.')") }
            }
            if i < p.count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
                i += 1; whole = false
                if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw fail("invalid number (no digits in the exponent)") }
            }
            let v = JSONDocument.double(p, start, i)
            tape.append(Entry(kind: .number, flags: whole ? 2 : 0, count: 0, payload: v.bitPattern))
        }
    }

    /// The value of the number text `p[from..<to]` (already checked), correctly rounded (strtod).
    static func double(_ p: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Double {
        let n = to - from
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for k in 0..<n { buf[k] = CChar(bitPattern: p[from + k]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }

    // MARK: reading

    func kind(_ at: Int) -> Kind { tape[at].kind }

    /// The index after the value at `at` (and its descendants).
    func next(_ at: Int) -> Int { tape[at].kind == .array || tape[at].kind == .object ? Int(tape[at].payload) : at + 1 }

    /// The children of the container at `at`: values of an array, or key, value, key, value ... of an object.
    func children(_ at: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(Int(tape[at].count))
        var k = at + 1
        let end = next(at)
        while k < end { out.append(k); k = next(k) }
        return out
    }

    func number(_ at: Int) -> Double { Double(bitPattern: tape[at].payload) }
    func isWholeLiteral(_ at: Int) -> Bool { tape[at].flags & 2 != 0 }

    /// The string at `at`, unescaped (invalid UTF-8 and lone surrogates become U+FFFD).
    func string(_ at: Int) -> String {
        let e = tape[at]
        let start = Int(e.payload), length = Int(e.count)
        return bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String in
            let p = raw.bindMemory(to: UInt8.self)
            let slice = UnsafeBufferPointer(rebasing: p[start..<(start + length)])
            if e.flags & 1 == 0 { return String(decoding: slice, as: UTF8.self) }
            var out: [UInt8] = []
            out.reserveCapacity(length)
            var k = 0
            func hex4(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 * 16 + Parser.hex(slice[at + $1])! } }
            while k < slice.count {
                let c = slice[k]
                guard c == UInt8(ascii: "\\") else { out.append(c); k += 1; continue }
                let x = slice[k + 1]
                k += 2
                switch x {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var u = hex4(k)
                    k += 4
                    if (0xD800...0xDBFF).contains(u), k + 5 < slice.count, slice[k] == UInt8(ascii: "\\"), slice[k + 1] == UInt8(ascii: "u") {
                        let lo = hex4(k + 2)
                        if (0xDC00...0xDFFF).contains(lo) { u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00); k += 6 }
                    }
                    let scalar = UnicodeScalar(u) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: out.append(x)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Whether the key at `at` equals `key` (without building a string when the key has no escapes).
    func keyEquals(_ at: Int, _ key: String) -> Bool {
        let e = tape[at]
        if e.flags & 1 != 0 { return string(at) == key }
        var key = key
        return key.withUTF8 { k in
            guard k.count == Int(e.count) else { return false }
            return bytes.withUnsafeBytes { raw in
                memcmp(raw.baseAddress! + Int(e.payload), k.baseAddress!, k.count) == 0
            }
        }
    }

    /// The value of member `key` of the object at `at` (the last one when a key repeats), or nil.
    func member(_ at: Int, _ key: String) -> Int? {
        var found: Int? = nil
        var k = at + 1
        let end = next(at)
        while k < end {
            let v = k + 1
            if keyEquals(k, key) { found = v }
            k = next(v)
        }
        return found
    }

    /// The value at `at` as Foundation objects, as `JSONSerialization` gives them (for the few callers that walk
    /// a small part of a document generically).
    func foundation(_ at: Int) -> Any {
        switch tape[at].kind {
        case .null: return NSNull()
        case .falseValue: return NSNumber(value: false)
        case .trueValue: return NSNumber(value: true)
        case .number:
            let d = number(at)
            if isWholeLiteral(at), d.magnitude < 9.2e18, let i = Int64(exactly: d) { return NSNumber(value: i) }
            return NSNumber(value: d)
        case .string: return string(at)
        case .array: return children(at).map { foundation($0) }
        case .object:
            var d: [String: Any] = [:]
            let cs = children(at)
            for j in stride(from: 0, to: cs.count, by: 2) { d[string(cs[j])] = foundation(cs[j + 1]) }
            return d
        }
    }

    /// How an error message names the value at `at`.
    func describe(_ at: Int) -> String {
        switch tape[at].kind {
        case .null: return "null"
        case .falseValue: return "false"
        case .trueValue: return "true"
        case .number:
            let d = number(at)
            if isWholeLiteral(at), d.magnitude < 1e18 { return String(Int64(d)) }
            return d.isFinite ? "\(d)" : (d > 0 ? "1e400 (out of range)" : "-1e400 (out of range)")
        case .string:
            let s = string(at)
            return "\"\(s.count > 80 ? String(s.prefix(80)) + "..." : s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
