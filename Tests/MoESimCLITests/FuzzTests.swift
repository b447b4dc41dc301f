import Foundation
import Testing
import Cluster
@testable import MoESimCLI

/// The seeded fuzz, bounded for CI (150 hostile cases, 100 invariant configurations and 56 cases of issue 25's
/// surfaces, under a minute in a debug build on two cores; with the slow tests, MOESIM_FULL_TESTS=1, as `.ci/run` runs them): hostile flags and malformed files of every input kind
/// must end in a clean error (exit 64/65) or a sound result, random small deployments must keep the invariants, and
/// outputs, oversized inputs and multi-instance result flags must behave (`Fuzz.surfaces`). The release run
/// (`swift run -c release moesim-bench fuzz`: 20,000 hostile cases, 10,000 invariant configurations and 2,000
/// surface cases) is not part of CI.
@Suite struct FuzzTests {
    @Test(.fullTests) func hostileInputsEndCleanly() throws {
        let dir = NSTemporaryDirectory() + "moesim-fuzz-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Fuzz.hostileInputs(seed: 14, cases: 150, root: Repo.root, workDir: dir)
        #expect(r.failures.isEmpty, "\(r.summary)\n\(r.failures.prefix(10).joined(separator: "\n"))")
        // Both outcomes occur: the fuzz reaches the simulations, not only the argument parser.
        #expect((r.exits[0] ?? 0) > 10 && (r.exits[64] ?? 0) + (r.exits[65] ?? 0) > 40, "\(r.summary)")
    }

    /// Issue 25's surfaces: outputs aimed at special files and at every kind of input, inputs over their size limit or
    /// the memory budget, replicas and disaggregated runs with every result flag (a bounded share; the release fuzz
    /// runs many more).
    @Test(.fullTests) func outputsLimitsAndInstancesHold() throws {
        let dir = NSTemporaryDirectory() + "moesim-fuzz-surfaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Fuzz.surfaces(seed: 25, cases: 56, root: Repo.root, workDir: dir)
        #expect(r.failures.isEmpty, "\(r.summary)\n\(r.failures.prefix(10).joined(separator: "\n"))")
        // Both outcomes occur: outputs are written where allowed and refused where not.
        #expect((r.exits[0] ?? 0) > 12 && (r.exits[64] ?? 0) > 5 && (r.exits[65] ?? 0) > 12, "\(r.summary)")
    }

    @Test(.fullTests) func invariantsHoldOnRandomDeployments() throws {
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
