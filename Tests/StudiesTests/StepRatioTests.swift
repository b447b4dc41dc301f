import Foundation
import Testing
import SimKit
import Cluster
import Serving
@testable import Studies

/// `step_ratio` entries: two step traces of the same rounds (engines timed in turn on one vCPU, probe/vllm/pairhost.py)
/// compared as the ratio of their median steps of a kind, which the vCPU's speed moves alike and so cancels.
@Suite struct StepRatioTests {
    let cols = ["t", "interval", "cg", "tok", "dn", "dctx", "pn", "pt", "pre"]

    /// A trace of `n` lone 1,024-token prompt steps of `promptMs` each without CUDA graphs, and as many two-sequence
    /// decode steps of 3 ms with full graphs (which no graphless kind counts).
    func trace(in dir: String, _ name: String, promptMs: Double, n: Int = 13) throws -> String {
        var steps: [[Any]] = []
        for _ in 0..<n {
            steps.append([0.0, promptMs, "NONE", 1024, 0, 0, 1, 1024, [[1024, 0]]])
            steps.append([0.0, 3.0, "FULL", 2, 2, 2050, 0, 0, [[Int]]()])
        }
        let file = dir + "/" + name + ".steps.json"
        let doc: [String: Any] = ["kind": "vllm-step-trace", "run_kind": "offline", "columns": cols, "steps": steps]
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: file))
        return name + ".steps.json"
    }

    func manifest(in dir: String, ratio: [String: Any], eagerArgs: Bool = true, promptsA: Int = 13) throws -> String {
        let base = ["--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--max-num-batched-tokens", "2048", "--usage-context", "offline"]
        let runs: [[String: Any]] = [
            ["id": "a/steps", "step_trace": try trace(in: dir, "a", promptMs: 20, n: promptsA), "args": base + (eagerArgs ? ["--enforce-eager"] : [])],
            ["id": "b/steps", "step_trace": try trace(in: dir, "b", promptMs: 25), "args": base],
            ["id": "a-over-b", "fit": true, "step_ratio": ratio]]
        let file = dir + "/manifest.json"
        try JSONSerialization.data(withJSONObject: ["version": 1, "runs": runs]).write(to: URL(fileURLWithPath: file))
        return file
    }

    @Test func theMeasuredRatioIsTheMediansOfTheKindAndThePredictedOneTheReplaysOfTheSame() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try Manifest(file: try manifest(in: dir, ratio: ["of": "a/steps", "over": "b/steps", "steps": "graphless_prompts"]))
        let e = try #require(m.entries.first { $0.id == "a-over-b" })
        #expect(e.measured.count == 1 && e.measured[0].0 == "step_time_ratio" && abs(e.measured[0].1 - 0.8) < 1e-12)
        let rows = Validation.predict(m, store: StudiesRepo.store, engine: nil, threads: 1)
        let r = try #require(rows.first { $0.id == "a-over-b" })
        // The replays' own ratio: --enforce-eager's graphless prompt step over the compiled one's, as the profile prices them.
        let a = try #require(rows.first { $0.id == "a/steps" }?.stepTable), b = try #require(rows.first { $0.id == "b/steps" }?.stepTable)
        let pa = a.steps.indices.filter { a.steps[$0].recordedMode == "NONE" }.map { a.replayed[$0].stepUs }
        let pb = b.steps.indices.filter { b.steps[$0].recordedMode == "NONE" }.map { b.replayed[$0].stepUs }
        let want = Statistics.percentile(pa, 50) / Statistics.percentile(pb, 50)
        #expect(want < 0.95)  // the shipped profile prices eager graphless steps below compiled ones
        #expect(abs(try #require(r.predicted) - want) < 1e-12 && r.metric == "step_time_ratio" && r.fit)
        // Asked for alone (as a fit asks for its fit entries), the ratio replays the traces it names.
        let alone = Validation.predict(m, entries: [e], store: StudiesRepo.store, engine: nil, threads: 1)
        #expect(alone.count == 1 && abs((alone[0].predicted ?? 0) - want) < 1e-12)
    }

    @Test func calibrateFitsAParameterToARatioAlone() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try Manifest(file: try manifest(in: dir, ratio: ["of": "a/steps", "over": "b/steps", "steps": "graphless_prompts"]))
        let store = StudiesRepo.store
        let fit = try Calibration.fit(manifest: m, engine: try store.engine("vllm"), parameters: ["enforce_eager_op_host_us"], store: store,
                                      threads: 1, maxEvaluations: 60)
        let rows = Validation.predict(m, entries: m.entries.filter(\.fit), store: store, engine: fit.profile, threads: 1)
        // The eager operation's cost moves until the replayed ratio is the measured 0.8; the traces' absolute times
        // (20 and 25 ms, whatever the profile says of them) do not enter.
        #expect(abs((rows[0].predicted ?? 0) / 0.8 - 1) < 0.01)
    }

    @Test func aRatioNamesTracesEarlierInTheManifestWithEnoughStepsOfItsKind() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func error(_ ratio: [String: Any], promptsA: Int = 13) throws -> String {
            do { _ = try Manifest(file: try manifest(in: dir, ratio: ratio, promptsA: promptsA)); return "" } catch { return "\(error)" }
        }
        let missing = try error(["of": "a/steps", "over": "c/steps"])
        #expect(missing.contains("'c/steps'") && missing.contains("step_ratio.over") && missing.contains("earlier in the manifest"))
        let kind = try error(["of": "a/steps", "over": "b/steps", "steps": "prompts"])
        #expect(kind.contains("'prompts'") && kind.contains("graphless_mixed"))
        // The traces hold no graphless step with decodes, and trace a only 5 prompt steps.
        let none = try error(["of": "a/steps", "over": "b/steps", "steps": "graphless_mixed"])
        #expect(none.contains("0 graphless_mixed steps") && none.contains("10 or more"))
        let few = try error(["of": "a/steps", "over": "b/steps"], promptsA: 5)
        #expect(few.contains("5 graphless steps"))
    }
}
