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

/// Input files larger than this are refused before reading (2 GB).
public let maxInputFileBytes = 2_000_000_000

/// Reads an input file: a regular file (not a directory, device or pipe, which could block or never end) of at
/// most `maxInputFileBytes`; errors name the file.
public func readInputFile(_ file: String) throws -> Data {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: file, isDirectory: &isDir) else { throw InputError.data("\(file): cannot read the file (does it exist?)") }
    guard !isDir.boolValue else { throw InputError.data("\(file): is a directory, not a file") }
    let real = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
    let attrs = try? fm.attributesOfItem(atPath: real)
    guard (attrs?[.type] as? FileAttributeType) == .typeRegular else { throw InputError.data("\(file): is not a regular file (a device or a pipe cannot be read as input)") }
    let size = (attrs?[.size] as? NSNumber)?.intValue ?? 0
    guard size <= maxInputFileBytes else {
        throw InputError.data("\(file): is \(size / 1_000_000) MB; input files are limited to \(maxInputFileBytes / 1_000_000) MB")
    }
    guard let data = fm.contents(atPath: file) else { throw InputError.data("\(file): cannot read the file (permissions?)") }
    return data
}

/// Lists choices the way the error messages do: 'a', 'b' or 'c'.
public func quotedChoices(_ choices: [String]) -> String {
    let q = choices.map { "'\($0)'" }
    if q.count <= 1 { return q.first ?? "" }
    return q.dropLast().joined(separator: ", ") + " or " + q.last!
}

/// A read-only view of parsed JSON that remembers its file and key path, so every error names both.
public struct JSONNode: @unchecked Sendable {
    public let value: Any
    public let file: String
    public let path: String

    public init(value: Any, file: String, path: String = "") {
        self.value = value
        self.file = file
        self.path = path
    }

    /// Parses a JSON file; errors name the file and, where Foundation says, the position.
    public static func load(file: String) throws -> JSONNode {
        try parse(data: try readInputFile(file), file: file)
    }

    public static func parse(data: Data, file: String) throws -> JSONNode {
        do {
            let v = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return JSONNode(value: v, file: file)
        } catch {
            let ns = error as NSError
            let detail = (ns.userInfo["NSDebugDescription"] as? String) ?? ns.localizedDescription
            throw InputError.data("\(file): malformed JSON: \(detail)")
        }
    }

    var where_: String { path.isEmpty ? file : "\(file): key '\(path)'" }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func fail(_ what: String) -> InputError { InputError.data("\(where_): \(what)") }

    public var object: [String: Any]? { value as? [String: Any] }

    public func has(_ key: String) -> Bool {
        guard let o = object, let v = o[key] else { return false }
        return !(v is NSNull)
    }

    /// The member `key`, or nil when absent or null.
    public func optional(_ key: String) -> JSONNode? {
        guard let o = object, let v = o[key], !(v is NSNull) else { return nil }
        return JSONNode(value: v, file: file, path: child(key))
    }

    public func require(_ key: String) throws -> JSONNode {
        guard object != nil else { throw fail("expected an object, found \(describe(value))") }
        guard let n = optional(key) else { throw InputError.data("\(file): missing key '\(child(key))'") }
        return n
    }

    public func array() throws -> [JSONNode] {
        guard let a = value as? [Any] else { throw fail("expected an array, found \(describe(value))") }
        return a.enumerated().map { JSONNode(value: $0.element, file: file, path: "\(path)[\($0.offset)]") }
    }

    public func double() throws -> Double {
        if !(value is String), let n = value as? NSNumber, !isJSONBool(n) {
            let d = n.doubleValue
            if d.isFinite { return d }
        }
        throw fail("expected a number, found \(describe(value))")
    }

    public func int() throws -> Int {
        let d = try double()
        guard d == d.rounded(), abs(d) < 1e15 else { throw fail("expected a whole number, found \(describe(value))") }
        return Int(d)
    }

    public func string() throws -> String {
        guard let s = value as? String else { throw fail("expected a string, found \(describe(value))") }
        return s
    }

    public func bool() throws -> Bool {
        if let n = value as? NSNumber, isJSONBool(n) { return n.boolValue }
        throw fail("expected true or false, found \(describe(value))")
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
