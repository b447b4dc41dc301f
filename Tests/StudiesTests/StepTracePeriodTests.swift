import Foundation
import Testing
import Cluster
import Serving
@testable import Studies

/// A step's measured time is its period on the GPU's timeline (its span plus the idle gap before the next step), not
/// the host's interval between schedules: under async scheduling those alternate short and long around steps run
/// without CUDA graphs while the GPU runs them back to back (OLMoE's 16,384-token steps, 2026-12-04 traces).
@Suite struct StepTracePeriodTests {
    func write(_ columns: [String], _ steps: [[Any]], kind: String = "offline") throws -> String {
        let file = NSTemporaryDirectory() + "moesim-trace-\(UUID().uuidString).json"
        let doc: [String: Any] = ["kind": "vllm-step-trace", "run_kind": kind, "columns": columns, "steps": steps]
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: file))
        return file
    }

    let cols = ["t", "interval", "gpu", "gap", "cg", "tok", "dn", "dctx", "pn", "pt", "pre"]

    func row(_ interval: Double, gpu: Double, gap: Double) -> [Any] {
        [0.0, interval, gpu, gap, "NONE", 2048, 0, 0, 1, 2048, [[2048, 0]]]
    }

    @Test func periodsFollowTheGPUTimelineNotTheHostsIntervals() throws {
        // Intervals 49, 130, 50, 131 ms around GPU spans of 88 ms with 1-2 ms idle between them.
        let file = try write(cols, [row(49, gpu: 88, gap: 300), row(130, gpu: 88, gap: 2), row(50, gpu: 88, gap: 1),
                                    row(131, gpu: 88, gap: 2), row(90, gpu: 88, gap: 1)])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let t = try StepTrace.load(file: file)
        // The last step has no next one; each period is the span plus the next step's gap (the first gap, the idle
        // time before the run, belongs to no step).
        #expect(t.steps.map(\.measuredUs) == [90_000, 89_000, 90_000, 89_000])
        #expect(t.steps.map(\.recordedGPUUs) == [88_000, 88_000, 88_000, 88_000])
    }

    /// A step after which no request waited and that the next step does not continue ran the engine dry (a call of
    /// pairhost.py's rounds ended): its period is its GPU span, without the idle time before the next call. A busy
    /// engine's prompt-only steps (requests still waiting) keep the gap.
    @Test func aStepThatRanTheEngineDryIsItsGPUSpan() throws {
        let c = cols + ["wait"]
        func r(_ gpu: Double, gap: Double, dn: Int = 0, pre: [[Int]], waiting: Int) -> [Any] {
            [0.0, 40.0, gpu, gap, "NONE", dn + pre.reduce(0) { $0 + $1[0] }, dn, dn * 1025, pre.count,
             pre.reduce(0) { $0 + $1[0] }, pre, waiting]
        }
        let file = try write(c, [r(30, gap: 9, pre: [[1024, 0]], waiting: 0),       // a lone prompt: 4 ms idle after it
                                 r(31, gap: 4, pre: [[1024, 0]], waiting: 14),      // a batch's first step: 14 wait
                                 r(32, gap: 1.5, dn: 1, pre: [[1024, 0]], waiting: 13),
                                 r(33, gap: 1, dn: 2, pre: [[1024, 0]], waiting: 0),   // the next step continues it
                                 r(29, gap: 2, dn: 3, pre: [], waiting: 0),             // the last, then idle
                                 r(30, gap: 5, pre: [[1024, 0]], waiting: 0)])
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try StepTrace.load(file: file).steps.map(\.measuredUs) == [30_000, 32_500, 33_000, 35_000, 29_000])
    }

    @Test func tracesWithoutTheGPUColumnsKeepTheIntervals() throws {
        let plain = ["t", "interval", "cg", "tok", "dn", "dctx", "pn", "pt", "pre"]
        let r: [Any] = [0.0, 12.5, "FULL", 4, 4, 400, 0, 0, [[Int]]()]
        let file = try write(plain, [r, r, r])
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try StepTrace.load(file: file).steps.map(\.measuredUs) == [12_500, 12_500])
        // A step whose span was not recorded (null) keeps its interval too.
        let mixed = try write(cols, [[0.0, 20.0, NSNull(), 0.5, "FULL", 4, 4, 400, 0, 0, [[Int]]()],
                                     [0.0, 20.0, 18.0, 0.5, "FULL", 4, 4, 400, 0, 0, [[Int]]()],
                                     [0.0, 20.0, 18.0, 0.5, "FULL", 4, 4, 400, 0, 0, [[Int]]()]])
        defer { try? FileManager.default.removeItem(atPath: mixed) }
        #expect(try StepTrace.load(file: mixed).steps.map(\.measuredUs) == [20_000, 18_500])
    }

    /// The trace lists a step's first 64 prompt chunks (`pre`) and counts them all (`pn`): the chunks not listed share
    /// the tokens left, so 128 prompts of 128 tokens stay 128 short prompts, not 64 and one of 8,192 tokens (whose
    /// quadratic attention once added 64 ms to a 240 ms Qwen3-30B-A3B step).
    @Test func unlistedPromptChunksShareTheTokensLeft() throws {
        let pre = Array(repeating: [128, 0], count: 64)
        let r: [Any] = [0.0, 240.0, 238.0, 1.0, "NONE", 16384 + 4, 4, 520, 128, 16384, pre]
        let file = try write(cols, [r, r])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let b = try StepTrace.load(file: file).steps[0].batch
        var want = BatchShape()
        want.tokens = 4; want.sequences = 4; want.decodeSequences = 4; want.decodeContext = 520; want.logitsRows = 4
        for _ in 0..<128 { want.addPrefill(chunk: 128, prefix: 0, samples: true) }
        #expect(b == want)
        #expect(b.prefillSequences == 128)
        // Tokens left that do not divide evenly: 64 listed chunks of 100 and 3 more sharing 301 (101, 100, 100).
        let odd: [Any] = [0.0, 50.0, 49.0, 1.0, "NONE", 6701, 0, 0, 67, 6701, Array(repeating: [100, 0], count: 64)]
        let f2 = try write(cols, [odd, odd])
        defer { try? FileManager.default.removeItem(atPath: f2) }
        var w2 = BatchShape()
        for _ in 0..<64 { w2.addPrefill(chunk: 100, prefix: 0, samples: true) }
        for c in [101, 100, 100] { w2.addPrefill(chunk: c, prefix: 0, samples: true) }
        #expect(try StepTrace.load(file: f2).steps[0].batch == w2)
        // Tokens not listed with no chunk left to hold them: an error naming the step.
        let bad: [Any] = [0.0, 50.0, 49.0, 1.0, "NONE", 6701, 0, 0, 64, 6701, Array(repeating: [100, 0], count: 64)]
        let f3 = try write(cols, [bad, bad])
        defer { try? FileManager.default.removeItem(atPath: f3) }
        #expect(throws: (any Error).self) { try StepTrace.load(file: f3) }
    }

    /// A manifest's step-trace entry may say its run's requests shared a cached prefix (`decode_shared_prefix`): every
    /// decode of a step after the first re-reads that many tokens of one copy (`BatchShape.decodeSharedContext`).
    @Test func aSharedPrefixMarksEveryDecodeAfterTheFirst() throws {
        let r: [Any] = [0.0, 14.0, 13.0, 1.0, "FULL", 256, 256, 256 * 1200, 0, 0, [] as [Any]]
        let p: [Any] = [0.0, 60.0, 59.0, 1.0, "NONE", 2048, 0, 0, 2, 2048, [[1024, 1024], [1024, 1024]]]
        let file = try write(cols, [p, r, r])
        defer { try? FileManager.default.removeItem(atPath: file) }
        var t = try StepTrace.load(file: file)
        t.shareDecodePrefix(tokens: 1024)
        #expect(t.steps[0].batch.decodeSharedContext == 0)
        #expect(t.steps[1].batch.decodeSharedContext == 255 * 1024)
        #expect(t.steps[1].previous?.decodeSharedContext == 0)
        let dir = NSTemporaryDirectory() + "moesim-shared-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func manifest(_ shared: Any) throws -> Manifest {
            let m: [String: Any] = ["version": 1, "runs": [["id": "t/steps", "step_trace": file, "decode_shared_prefix": shared,
                                                           "args": ["--model", "olmoe-1b-7b", "--gpu", "h100-sxm-80gb"]]]]
            let f = dir + "/m.json"
            try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: f))
            return try Manifest(file: f)
        }
        #expect(try manifest(1024).entries[0].stepTrace?.steps[1].batch.decodeSharedContext == 255 * 1024)
        #expect(throws: InputError.self) { try manifest(-16) }
    }

    /// `validate --steps`: one CSV line a compared step, with the header's columns, the entry's id quoted where it holds
    /// a comma, and the error the line's own measured and predicted times give.
    @Test func stepTableWritesOneLineAStepWithTheHeadersColumns() throws {
        let file = try write(cols, [row(49, gpu: 88, gap: 300), row(130, gpu: 88, gap: 2), row(50, gpu: 88, gap: 1)])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let trace = try StepTrace.load(file: file)
        let store = StudiesRepo.store
        let d = try Deployment(model: try store.model("olmoe-1b-7b"), gpu: try store.gpu("h200-sxm-141gb"), interconnect: nil,
                               plan: ParallelPlan(tp: 1), engine: try store.engine("vllm"), routing: .uniform, overrides: [:])
        let c = try trace.compare(deployment: d, seed: 0)
        let lines = Validation.StepTable(steps: trace.steps, replayed: c.replayed).csvLines(id: "job,x/run", fit: false)
        #expect(lines.count == trace.steps.count)
        let header = Validation.StepTable.header.split(separator: ",")
        for (i, line) in lines.enumerated() {
            #expect(line.hasPrefix("\"job,x/run\",held_out,\(i),NONE,"))
            let f = line.dropFirst("\"job,x/run\",".count).split(separator: ",").map(String.init)
            #expect(f.count == header.count - 1)
            let measured = try #require(Double(f[9])), predicted = try #require(Double(f[10])), error = try #require(Double(f[13]))
            #expect(measured == trace.steps[i].measuredUs / 1e3)
            #expect(abs(predicted - c.predictedUs[i] / 1e3) < 1e-4)
            #expect(abs(error - (c.predictedUs[i] / trace.steps[i].measuredUs - 1)) < 1e-4)
        }
    }
}
