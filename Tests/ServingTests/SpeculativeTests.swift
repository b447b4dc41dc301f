import Foundation
import Testing
import SimKit
import Cluster
@testable import Serving

/// Speculative decoding (`--speculative-config`): tokens per verify step against the closed form.
@Suite struct SpeculativeTests {
    static func closedForm(_ a: Double, _ k: Int) -> Double { a == 1 ? Double(k + 1) : (1 - pow(a, Double(k + 1))) / (1 - a) }

    @Test(arguments: [(0.0, 3), (0.5, 1), (0.6, 3), (0.8, 5), (0.95, 8), (1.0, 4)])
    func expectedTokensIsClosedForm(_ c: (Double, Int)) throws {
        let sp = try SpeculativeConfig(json: "{\"method\": \"mtp\", \"num_speculative_tokens\": \(c.1), \"acceptance_rate\": \(c.0)}")
        #expect(abs(sp.expectedTokensPerStep() - Self.closedForm(c.0, c.1)) < 1e-12)
    }

    /// Simulated tokens per step converge on the closed form (long outputs, so few steps are cut short at the end).
    @Test(arguments: [(0.6, 3), (0.8, 4)])
    func simulatedTokensPerStep(_ c: (Double, Int)) throws {
        let d = try deployment("olmoe-1b-7b")
        let w = try randomWorkload(input: 64, output: 2000, prompts: 16, concurrency: 16, seed: 5)
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 5)
        sim.speculative = SpeculativeConfig(method: .eagle, numSpeculativeTokens: c.1, acceptance: Array(repeating: c.0, count: c.1))
        let r = try sim.run()
        let s = try #require(r.speculative)
        #expect(r.completed == 16 && r.totalOutputTokens == w.totalOutputTokens)
        // Every output token after the first comes from a verify step.
        #expect(s.verifySteps + s.acceptedDrafts == w.totalOutputTokens - 16)
        let expected = Self.closedForm(c.0, c.1)
        #expect(abs(s.tokensPerStep - expected) / expected < 0.02, "tokens per step \(s.tokensPerStep), closed form \(expected)")
        // Fewer engine steps than tokens: the point of speculation.
        let plain = try VLLMSimulator(deployment: d, workload: w, seed: 5).run()
        #expect(Double(r.steps) < Double(plain.steps) / (expected * 0.9))
    }

    /// Per-position rates: E = 1 + a1 + a1 a2 + ...
    @Test func perPositionRates() throws {
        let sp = try SpeculativeConfig(json: "{\"method\": \"eagle3\", \"num_speculative_tokens\": 3, \"acceptance_rate\": [0.9, 0.5, 0.2]}")
        #expect(abs(sp.expectedTokensPerStep() - (1 + 0.9 + 0.45 + 0.09)) < 1e-12)
    }

    /// Acceptance 0: one token per step, like no speculation, but every step pays for verifying k drafts.
    @Test func zeroAcceptanceOnlyCosts() throws {
        let d = try deployment("olmoe-1b-7b")
        let w = try randomWorkload(input: 128, output: 64, prompts: 8, concurrency: 8, seed: 1)
        var sim = VLLMSimulator(deployment: d, workload: w, seed: 1)
        sim.speculative = SpeculativeConfig(method: .eagle, numSpeculativeTokens: 3, acceptance: [0, 0, 0])
        let r = try sim.run()
        let plain = try VLLMSimulator(deployment: d, workload: w, seed: 1).run()
        #expect(r.speculative?.tokensPerStep == 1)
        #expect(r.steps == plain.steps)
        #expect(r.tpotMs.mean > plain.tpotMs.mean)
    }

    @Test func refusesBadConfigs() {
        for bad in ["{\"num_speculative_tokens\": 3, \"acceptance_rate\": 0.7}",           // no method, no model
                    "{\"method\": \"eagle\", \"num_speculative_tokens\": 3}",             // no acceptance rate
                    "{\"method\": \"eagle\", \"num_speculative_tokens\": 0, \"acceptance_rate\": 0.7}",
                    "{\"method\": \"eagle\", \"num_speculative_tokens\": 2, \"acceptance_rate\": [0.7]}",
                    "{\"method\": \"eagle\", \"num_speculative_tokens\": 2, \"acceptance_rate\": 1.5}",
                    "{\"method\": \"medusa2\", \"num_speculative_tokens\": 2, \"acceptance_rate\": 0.5}",
                    "{\"method\": \"eagle\", \"num_speculative_tokens\": 2, \"acceptance_rate\": 0.5, \"typo\": 1}",
                    "[1]", "not json"] {
            _ = inputError { _ = try SpeculativeConfig(json: bad) }
        }
    }
}
