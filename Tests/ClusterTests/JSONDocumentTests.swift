import Foundation
import Testing
@testable import Cluster

/// The compact JSON parser: the same values as JSONSerialization on every shipped profile, strict on malformed
/// text, bounded in nesting and in memory (input plus at most 8 bytes of tape per input byte).
@Suite struct JSONDocumentTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()

    @Test func sameValuesAsFoundationOnEveryShippedProfile() throws {
        let fm = FileManager.default
        var checked = 0
        for kind in ["models", "gpus", "engines", "interconnects", "networks", "kernels"] {
            let dir = Self.root + "/profiles/" + kind
            // (One kernel table: the large ones take seconds through JSONSerialization in a debug build.)
            for f in try fm.contentsOfDirectory(atPath: dir) where f.hasSuffix(".json") && (kind != "kernels" || f.hasPrefix("a100")) {
                let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
                let ours = try JSONDocument(bytes: data)
                let theirs = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
                #expect(Self.same(ours.foundation(0), theirs), "\(f)")
                #expect(ours.memoryBytes <= 9 * data.count + 64, "\(f): \(ours.memoryBytes) bytes for \(data.count)")
                checked += 1
            }
        }
        #expect(checked > 20)
    }

    /// Structural equality: numbers by value, booleans apart from numbers.
    static func same(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (is NSNull, is NSNull): return true
        case (let x as String, let y as String): return x == y
        case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (let x as [String: Any], let y as [String: Any]): return Set(x.keys) == Set(y.keys) && x.keys.allSatisfy { same(x[$0]!, y[$0]!) }
        case (let x as NSNumber, let y as NSNumber): return isJSONBool(x) == isJSONBool(y) && x.doubleValue == y.doubleValue
        default: return false
        }
    }

    @Test func scalarsStringsAndEscapes() throws {
        let text = #"{"a": [1, -0.5, 1e3, 2E-2, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "a": 7, "": {}}"#
        let n = try JSONNode.parse(data: Data(text.utf8), file: "t.json")
        #expect(try n.int("a") == 7) // a repeated key: the last one
        #expect(try n.string("s") == "x\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}")
        #expect(n.keys == ["a", "s", ""])
        #expect(try n.require("").isObject && n.count == 4) // members as written, the repeated key twice
        let theirs = try JSONSerialization.jsonObject(with: Data(#"[1, -0.5, 1e3, 2E-2, true, false, null]"#.utf8)) as! NSArray
        #expect(Self.same(try JSONNode.parse(data: Data(#"[1, -0.5, 1e3, 2E-2, true, false, null]"#.utf8), file: "x").value, theirs))
    }

    @Test func malformedTextIsRefusedWithItsPlace() {
        for bad in ["", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[01]", "[1.]", "[.5]", "[-]", "[1e]", "tru", "nul", "\"abc", "\"a\u{01}b\"",
                    "\"\\x\"", "\"\\u12G4\"", "[1] 2", "{1: 2}", "[NaN]", "[Infinity]", "{\"a\":1}}", "]"] {
            do {
                _ = try JSONNode.parse(data: Data(bad.utf8), file: "bad.json")
                Issue.record("accepted \(bad)")
            } catch let e as InputError {
                #expect(e.message.hasPrefix("bad.json: malformed JSON: ") && e.message.contains("line 1, column"), "\(e.message)")
            } catch { Issue.record("\(error)") }
        }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: InputError.self) { try JSONNode.parse(data: Data(deep.utf8), file: "deep.json") }
        let ok = String(repeating: "[", count: JSONDocument.maxDepth) + String(repeating: "]", count: JSONDocument.maxDepth)
        #expect(try JSONNode.parse(data: Data(ok.utf8), file: "ok.json").isArray)
    }

    @Test func memoryStaysWithinNineTimesTheInput() throws {
        // The worst case: one-digit numbers, two bytes each.
        let text = "[" + Array(repeating: "0", count: 200_000).joined(separator: ",") + "]"
        let d = try JSONDocument(bytes: Data(text.utf8))
        #expect(d.memoryBytes <= 9 * text.utf8.count + 64, "\(d.memoryBytes) for \(text.utf8.count)")
        #expect(try JSONNode.parse(data: Data(text.utf8), file: "x").count == 200_000)
    }

    @Test func wrongTypesNameTheValue() throws {
        let n = try JSONNode.parse(data: Data(#"{"x": "s", "y": [1], "z": 12345678901, "w": {"k": 1}}"#.utf8), file: "f.json")
        #expect(throws: InputError.data("f.json: key 'x': expected an object, found \"s\"")) { try n.optionalObject("x") }
        #expect(throws: InputError.data("f.json: key 'y': expected a number, found an array")) { try n.double("y") }
        #expect(throws: InputError.data("f.json: key 'w': expected a string, found an object")) { try n.string("w") }
        #expect(try n.int("z") == 12_345_678_901)
        #expect(try n.optionalObject("w")?.int("k") == 1)
    }
}
