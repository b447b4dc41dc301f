import Foundation
import Testing

/// The slow end-to-end tests (headless-Chromium reports, the README's vLLM figures, long simulations) run only with
/// MOESIM_FULL_TESTS=1, which `.ci/run` sets; without it `swift test` reports them as skipped, with this reason.
/// One switch for every test target: each target that has slow tests declares the same trait (`.fullTests`).
enum FullTests {
    static let enabled = ProcessInfo.processInfo.environment["MOESIM_FULL_TESTS"] == "1"
}

extension Trait where Self == ConditionTrait {
    /// Run only with MOESIM_FULL_TESTS=1 (otherwise skipped, saying so).
    static var fullTests: Self {
        .enabled(if: FullTests.enabled, "slow end-to-end test: set MOESIM_FULL_TESTS=1 to run it (.ci/run does)")
    }
}
