import Foundation

/// A problem with user input: a file, a key path and a bad value, or a bad command-line flag.
///
/// `kind` decides the exit code: `.usage` exits 64 (EX_USAGE), `.data` exits 65 (EX_DATAERR).
public struct InputError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable { case usage, data }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func usage(_ message: String) -> InputError { InputError(.usage, message) }
    public static func data(_ message: String) -> InputError { InputError(.data, message) }

    public var description: String { message }
}

/// Lists choices the way the error messages do: 'a', 'b' or 'c'.
public func quotedChoices(_ choices: [String]) -> String {
    let q = choices.map { "'\($0)'" }
    if q.count <= 1 { return q.first ?? "" }
    return q.dropLast().joined(separator: ", ") + " or " + q.last!
}

/// A read-only view of parsed JSON (a `JSONDocument`) that remembers its file and key path, so every error names both.
public struct JSONNode: @unchecked Sendable {
    let doc: JSONDocument
    let index: Int
    public let file: String
    public let path: String

    init(doc: JSONDocument, index: Int, file: String, path: String) {
        self.doc = doc; self.index = index; self.file = file; self.path = path
    }

    /// A node over Foundation objects (as `JSONSerialization` makes them), for callers that build JSON in code.
    public init(value: Any, file: String, path: String = "") {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])) ?? Data("null".utf8)
        self.init(doc: (try? JSONDocument(bytes: data)) ?? (try! JSONDocument(bytes: Data("null".utf8))), index: 0, file: file, path: path)
    }

    /// The value as Foundation objects (`[String: Any]`, `[Any]`, `String`, `NSNumber`, `NSNull`), built on each call:
    /// for small parts of a document only.
    public var value: Any { doc.foundation(index) }

    /// Parses a JSON file of `kind` (its size limit and the memory to parse it are checked before reading);
    /// errors name the file and the line and column.
    /// `pythonNonFinite`: a benchmark result file, in which Python's `NaN`/`Infinity` tokens (a metric without samples)
    /// read as null, that is, as not recorded.
    public static func load(file: String, kind: InputKind = .json, pythonNonFinite: Bool = false) throws -> JSONNode {
        try parse(data: try readInputFile(file, kind: kind), file: file, pythonNonFinite: pythonNonFinite)
    }

    public static func parse(data: Data, file: String, pythonNonFinite: Bool = false) throws -> JSONNode {
        if pythonNonFinite, let clean = JSONDocument.pythonNonFiniteAsNull(data) { return try parse(data: clean, file: file) }
        do {
            return JSONNode(doc: try JSONDocument(bytes: data), index: 0, file: file, path: "")
        } catch let e as JSONDocument.ParseError {
            throw InputError.data("\(file): malformed JSON: \(e.message)")
        }
    }

    var where_: String { path.isEmpty ? file : "\(file): key '\(path)'" }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func fail(_ what: String) -> InputError { InputError.data("\(where_): \(what)") }

    public var isObject: Bool { doc.kind(index) == .object }
    public var isArray: Bool { doc.kind(index) == .array }
    public var isString: Bool { doc.kind(index) == .string }
    public var isNull: Bool { doc.kind(index) == .null }

    /// The object's members as Foundation objects (see `value`), or nil when this is not an object.
    public var object: [String: Any]? { isObject ? value as? [String: Any] : nil }

    /// The object's keys in document order, each once; nil when this is not an object.
    public var keys: [String]? {
        guard isObject else { return nil }
        let cs = doc.children(index)
        var seen = Set<String>(), out: [String] = []
        for j in stride(from: 0, to: cs.count, by: 2) {
            let k = doc.string(cs[j])
            if seen.insert(k).inserted { out.append(k) }
        }
        return out
    }

    /// How error messages name this value: "null", "true", "5", "\"text\"", "an array", "an object".
    public var described: String { doc.describe(index) }

    public func has(_ key: String) -> Bool { optional(key) != nil }

    /// The member `key`, or nil when absent or null (or when this is not an object).
    public func optional(_ key: String) -> JSONNode? {
        guard isObject, let v = doc.member(index, key), doc.kind(v) != .null else { return nil }
        return JSONNode(doc: doc, index: v, file: file, path: child(key))
    }

    /// The member `key` when present and not null, which must then be an object: a malformed optional section is
    /// an error, not silently left out.
    public func optionalObject(_ key: String) throws -> JSONNode? {
        guard let n = optional(key) else { return nil }
        guard n.isObject else { throw n.fail("expected an object, found \(n.described)") }
        return n
    }

    /// The member `key` when present and not null, which must then be an array.
    public func optionalArray(_ key: String) throws -> [JSONNode]? {
        try optional(key)?.array()
    }

    public func require(_ key: String) throws -> JSONNode {
        guard isObject else { throw fail("expected an object, found \(described)") }
        guard let n = optional(key) else { throw InputError.data("\(file): missing key '\(child(key))'") }
        return n
    }

    public func array() throws -> [JSONNode] {
        guard isArray else { throw fail("expected an array, found \(described)") }
        return doc.children(index).enumerated().map { JSONNode(doc: doc, index: $0.element, file: file, path: "\(path)[\($0.offset)]") }
    }

    /// The number of elements of an array (or members of an object) without visiting them; 0 for other values.
    public var count: Int {
        switch doc.kind(index) {
        case .array: return Int(doc.tape[index].count)
        case .object: return Int(doc.tape[index].count) / 2
        default: return 0
        }
    }

    public func double() throws -> Double {
        if doc.kind(index) == .number {
            let d = doc.number(index)
            if d.isFinite { return d }
        }
        throw fail("expected a number, found \(described)")
    }

    public func int() throws -> Int {
        let d = try double()
        guard d == d.rounded(), abs(d) < 1e15 else { throw fail("expected a whole number, found \(described)") }
        return Int(d)
    }

    public func string() throws -> String {
        guard isString else { throw fail("expected a string, found \(described)") }
        return doc.string(index)
    }

    public func bool() throws -> Bool {
        switch doc.kind(index) {
        case .trueValue: return true
        case .falseValue: return false
        default: throw fail("expected true or false, found \(described)")
        }
    }

    public func double(_ key: String) throws -> Double { try require(key).double() }
    public func int(_ key: String) throws -> Int { try require(key).int() }
    public func string(_ key: String) throws -> String { try require(key).string() }
    public func double(_ key: String, default d: Double) throws -> Double { try optional(key)?.double() ?? d }
    public func int(_ key: String, default d: Int) throws -> Int { try optional(key)?.int() ?? d }
    public func bool(_ key: String, default d: Bool) throws -> Bool { try optional(key)?.bool() ?? d }

    /// A positive number at `key`; errors name the key and the value.
    public func positive(_ key: String) throws -> Double {
        let n = try require(key)
        let v = try n.double()
        guard v > 0 else { throw n.fail("must be positive, found \(v)") }
        return v
    }

    public func positiveInt(_ key: String) throws -> Int {
        let n = try require(key)
        let v = try n.int()
        guard v > 0 else { throw n.fail("must be a positive whole number, found \(v)") }
        return v
    }
}

/// JSON `true`/`false` arrive as NSNumbers too; only their type tells them from 1 and 0.
func isJSONBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

func describe(_ v: Any) -> String {
    switch v {
    case is NSNull: return "null"
    case let n as NSNumber where isJSONBool(n): return n.boolValue ? "true" : "false"
    case let s as String:
        // One line, bounded: a value from a file can be a whole prompt.
        let t = s.count > 60 ? String(s.prefix(60)) + "…" : s
        return "\"" + t.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r") + "\""
    case let n as NSNumber: return n.stringValue
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    default: return "\(v)"
    }
}
