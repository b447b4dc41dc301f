import Foundation
import Testing
import Cluster
@testable import MoESimCLI

/// The seeded fuzz, bounded for CI (150 hostile cases and 100 invariant configurations, about half a minute in
/// a debug build on two cores): hostile flags and malformed files of every input kind must end in a clean error
/// (exit 64/65) or a sound result, and random small deployments must keep the invariants. The release run
/// (`swift run -c release moesim-bench fuzz`: 20,000 hostile cases and 10,000 invariant configurations) is not
/// part of CI.
@Suite struct FuzzTests {
    @Test func hostileInputsEndCleanly() throws {
        let dir = NSTemporaryDirectory() + "moesim-fuzz-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Fuzz.hostileInputs(seed: 14, cases: 150, root: Repo.root, workDir: dir)
        #expect(r.failures.isEmpty, "\(r.summary)\n\(r.failures.prefix(10).joined(separator: "\n"))")
        // Both outcomes occur: the fuzz reaches the simulations, not only the argument parser.
        #expect((r.exits[0] ?? 0) > 10 && (r.exits[64] ?? 0) + (r.exits[65] ?? 0) > 40, "\(r.summary)")
    }

    @Test func invariantsHoldOnRandomDeployments() throws {
        let r = Fuzz.invariants(seed: 14, configs: 100, store: Repo.store)
        #expect(r.failures.isEmpty, "\(r.summary)\n\(r.failures.prefix(10).joined(separator: "\n"))")
        #expect(r.cases - r.skipped >= 60, "too few configurations ran: \(r.summary)")
    }

    @Test func smallLimitsStayInsideTheirTask() {
        let before = Limits.maxTotalTokens
        Limits.$work.withValue(Fuzz.smallLimits) { #expect(Limits.maxTotalTokens < before) }
        #expect(Limits.maxTotalTokens == before)
    }
}

extension Repo {
    static let store = ProfileStore(root: root + "/profiles")
}
