import Foundation
import Testing
import Cluster
@testable import Serving

/// moesim's own reading of Hugging Face tokenizer.json files against the `tokenizers` package
/// (Tests/Fixtures/tokenizers: texts, tokenizers and expected counts made by make_fixtures.py).
@Suite struct TokenizerTests {
    static let dir = Repo.root + "/Tests/Fixtures/tokenizers"
    static let names = ["llama3-style", "qwen2-style", "gpt2-style", "gptoss-style", "mistral-legacy-style", "mistral-metaspace-style", "mistral-7b-v0.1"]

    static func texts() throws -> [String] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/texts.json"))) as? [String])
    }

    static func expected(_ name: String) throws -> [[Any]] {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))) as? [String: Any])
        return try #require((o["expected"] as? [String: Any])?[name] as? [[Any]])
    }

    /// FNV-1a over the ids' little-endian 32-bit bytes, as make_fixtures.py hashes them.
    static func fnv(_ ids: [Int]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in ids { for k in 0..<4 { h = (h ^ UInt64((UInt32(truncatingIfNeeded: i) >> (8 * UInt32(k))) & 0xff)) &* 0x100_0000_01b3 } }
        return String(format: "%016llx", h)
    }

    @Test(arguments: names)
    func idsMatchTheTokenizersPackage(name: String) throws {
        let tok = try HFTokenizer(path: Self.dir + "/\(name).tokenizer.json")
        let texts = try Self.texts(), exp = try Self.expected(name)
        #expect(texts.count == exp.count && texts.count >= 300)
        var wrong: [String] = []
        for (t, e) in zip(texts, exp) {
            let ids = tok.encode(t)
            let n = e[0] as! Int, h = e[1] as! String, bare = e[2] as! Int
            if ids.count != n || Self.fnv(ids) != h || tok.count(t, addSpecialTokens: false) != bare || tok.count(t) != n {
                wrong.append("\(t.debugDescription): \(ids.count) tokens, expected \(n)")
            }
        }
        #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(texts.count) texts differ: \(wrong.prefix(8).joined(separator: "; "))")
    }

    @Test func specialTokensToAddFollowThePostProcessor() throws {
        #expect(try HFTokenizer(path: Self.dir + "/llama3-style.tokenizer.json").numSpecialTokensToAdd == 1)
        #expect(try HFTokenizer(path: Self.dir + "/mistral-7b-v0.1.tokenizer.json").numSpecialTokensToAdd == 1)
        #expect(try HFTokenizer(path: Self.dir + "/qwen2-style.tokenizer.json").numSpecialTokensToAdd == 0)
        let m = try HFTokenizer(path: Self.dir + "/mistral-7b-v0.1.tokenizer.json")
        #expect(m.encode("Hello world") == [1, 22557, 1526])
        #expect(m.vocabSize == 32000)
    }

    /// The estimate without a tokenizer (UTF-8 bytes / 4) against Mistral-7B-v0.1's real counts: the totals
    /// docs/datasets.md gives (0.83 on the fixture texts).
    @Test func estimateIsWhatTheDocsSay() throws {
        let tok = try HFTokenizer(path: Self.dir + "/mistral-7b-v0.1.tokenizer.json")
        let texts = try Self.texts()
        let est = texts.map(TokenCounter.estimate).reduce(0, +), real = texts.map { tok.count($0) }.reduce(0, +)
        #expect(abs(Double(est) / Double(real) - 0.833) < 0.005, "\(est) / \(real)")
        #expect(TokenCounter.estimate("") == 1 && TokenCounter.estimate("abcd") == 1 && TokenCounter.estimate("abcde") == 2)
        #expect(TokenCounter(tokenizer: nil).specialTokens == 0 && TokenCounter(tokenizer: tok).specialTokens == 1)
    }

    @Test func canonicallyEquivalentTokensStayApart() throws {
        // "é" and "e" + U+0301 are one String to Swift; as tokens they differ.
        let json = #"{"model": {"type": "BPE", "vocab": {"é": 0, "é": 1, "e": 2, "́": 3}, "merges": [["e", "́"]]}}"#
        let tok = try HFTokenizer(data: Data(json.utf8), file: "t.json")
        #expect(tok.encode("\u{e9}") == [0] && tok.encode("e\u{301}") == [1])
    }
}
