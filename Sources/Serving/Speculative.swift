import Foundation
import SimKit
import Cluster

/// Speculative decoding as vLLM's `--speculative-config` JSON spells it:
/// `{"method": "eagle"|"eagle3"|"mtp"|"deepseek_mtp"|"ngram"|"draft_model", "model": ..., "num_speculative_tokens": k}`,
/// plus moesim's `"acceptance_rate"`: one number (every draft token accepted with that probability, given the
/// ones before it were) or a list of k numbers (the conditional acceptance rate at each draft position, as vLLM's
/// per-position acceptance metrics report it).
///
/// Each decode step of a sequence proposes k draft tokens (k cheap draft forwards) and verifies them in one
/// target forward of k + 1 tokens; it keeps the accepted run of drafts plus one token of the target's own, so a
/// step emits 1...k + 1 tokens: on average (1 - a^(k+1)) / (1 - a) at a constant rate a.
public struct SpeculativeConfig: Sendable, Equatable {
    public enum Method: String, CaseIterable, Sendable { case eagle, eagle3, mtp, deepseek_mtp, ngram, draft_model }
    public var method: Method
    public var numSpeculativeTokens: Int
    /// Conditional acceptance rate of draft position 1...k.
    public var acceptance: [Double]
    /// The draft model's name (`draft_model`; informational for EAGLE heads).
    public var model: String?

    public init(method: Method, numSpeculativeTokens: Int, acceptance: [Double], model: String? = nil) {
        self.method = method; self.numSpeculativeTokens = numSpeculativeTokens; self.acceptance = acceptance; self.model = model
    }

    public static let maxTokens = 64

    public init(json text: String) throws {
        let node = try JSONNode.parse(data: Data(text.utf8), file: "--speculative-config")
        guard let objKeys = node.keys else { throw node.fail("expected a JSON object such as {\"method\": \"eagle\", \"num_speculative_tokens\": 3, \"acceptance_rate\": 0.7}") }
        let known: Set<String> = ["method", "model", "num_speculative_tokens", "acceptance_rate"]
        for k in objKeys.sorted() where !known.contains(k) {
            throw InputError.usage("--speculative-config: key '\(k)' is not read by moesim (it reads \(quotedChoices(known.sorted())))")
        }
        let model = try node.optional("model")?.string()
        let methodName = try node.optional("method")?.string() ?? (model != nil ? "draft_model" : "")
        guard let m = Method(rawValue: methodName) else {
            throw InputError.usage("--speculative-config: method '\(methodName)' is not one of \(quotedChoices(Method.allCases.map(\.rawValue)))")
        }
        if m == .draft_model && model == nil { throw InputError.usage("--speculative-config: method 'draft_model' needs \"model\" (a shipped model profile or a config.json)") }
        let k = try node.int("num_speculative_tokens", in: 1...SpeculativeConfig.maxTokens)
        guard let a = node.optional("acceptance_rate") else {
            throw InputError.usage("--speculative-config: give \"acceptance_rate\" (a number in 0...1, or a list of \(k) per-position rates); vLLM measures it, moesim cannot")
        }
        var rates: [Double]
        if a.isArray {
            rates = try a.array().map { try $0.double(in: 0...1) }
            guard rates.count == k else { throw a.fail("expected \(k) per-position rates (num_speculative_tokens), found \(rates.count)") }
        } else {
            rates = Array(repeating: try a.double(in: 0...1), count: k)
        }
        self.init(method: m, numSpeculativeTokens: k, acceptance: rates, model: model)
    }

    /// Expected tokens one verify step emits with `k` drafts: 1 + sum over i of the product of the first i rates
    /// (the closed form (1 - a^(k+1)) / (1 - a) at a constant rate a).
    public func expectedTokensPerStep(drafts k: Int? = nil) -> Double {
        var e = 1.0, p = 1.0
        for i in 0..<(k ?? numSpeculativeTokens) { p *= acceptance[i]; e += p }
        return e
    }

    /// Accepted drafts of one step with `k` drafts proposed (the run of accepted positions before the first reject).
    @inline(__always)
    func drawAccepted(_ k: Int, rng: inout Xoshiro256) -> Int {
        var m = 0
        while m < k && rng.nextDouble() < acceptance[m] { m += 1 }
        return m
    }

    public var description: String {
        let rates = Set(acceptance).count == 1 ? String(format: "%.2f", acceptance[0]) : acceptance.map { String(format: "%.2f", $0) }.joined(separator: "/")
        return "\(method.rawValue)\(model.map { " (\($0))" } ?? ""), \(numSpeculativeTokens) speculative tokens, acceptance \(rates)"
    }
}
