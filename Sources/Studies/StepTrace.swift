import Foundation
import SimKit
import Cluster
import Serving

/// A vLLM step trace: every engine step of a real run with what it ran and how long it took, as recorded inside
/// vLLM's engine core by `probe/vllm/steplog` and cut per run by `probe/vllm/summarize.py` (`"kind":
/// "vllm-step-trace"`).
///
/// A step's measured time is its period on the GPU's timeline: its GPU span (CUDA events at the start of
/// `execute_model` and the end of `sample_tokens`, including any wait of the GPU for the host's launches) plus the
/// GPU's idle gap before the next step, i.e. from this step's start on the GPU to the next one's. Where a trace lacks
/// those columns, the `interval` (the time from its scheduling to the next step's). The two agree for steps replayed
/// from CUDA graphs (median ratio 1.000 over 189 offline traces of the vLLM manifest), but under async scheduling the
/// host's intervals around steps without graphs alternate short and long while the GPU runs them back to back
/// (OLMoE's 16,384-token steps: intervals of 44-181 ms around GPU periods of 88-94 ms), so their median interval
/// misstated such steps by up to 40% (the GPU periods' median was 1.5-1.6 times it in three traces).
///
/// The steps compared are those of a busy engine: a step's period is its duration only when the next step follows
/// without the engine waiting for a request. Offline runs (every request submitted at once) qualify at every step but
/// the last; in serving runs a step qualifies when the next one continues a request that was already running (a
/// decode, or a prompt chunk after an earlier one). In an offline trace whose calls follow one another (probe/vllm/
/// pairhost.py's rounds: lone prompts, then a batch) a step with no request left waiting (the `wait` column 0) that the
/// next one does not continue ends a call, and the engine then waits for the next call's requests: such a step is
/// timed by its GPU span alone, without the idle gap.
public struct StepTrace: Sendable {
    public struct Step: Sendable {
        public var batch: BatchShape
        /// The measured step time (µs): its start on the GPU to the next step's (span plus the next idle gap), or
        /// schedule to the next step's schedule where the trace has no GPU columns.
        public var measuredUs: Double
        /// What vLLM's CUDA-graph dispatcher chose (FULL, PIECEWISE, NONE) and the GPU span it measured (µs).
        public var recordedMode: String
        public var recordedGPUUs: Double?
        /// The step just before it, where the engine ran it without waiting for a request in between (the replay
        /// credits this step with the launches the host made during it: `VLLMSimulator.replaySteps`).
        public var previous: BatchShape? = nil
    }

    public var file: String
    public var steps: [Step]
    /// Steps in the file, and the run's kind (offline or serve).
    public var recorded: Int
    public var runKind: String

    public static func load(file: String) throws -> StepTrace {
        let j = try JSONNode.load(file: file)
        guard (try? j.string("kind")) == "vllm-step-trace" else {
            throw InputError.data("\(file): not a vLLM step trace (expected \"kind\": \"vllm-step-trace\", written by probe/vllm/summarize.py)")
        }
        let cols = try j.require("columns").array().map { try $0.string() }
        var at: [String: Int] = [:]
        for (i, c) in cols.enumerated() { at[c] = i }
        for need in ["interval", "tok", "dn", "dctx", "pn", "pt", "pre", "cg"] where at[need] == nil {
            throw try j.require("columns").fail("has no column '\(need)'")
        }
        let runKind = try j.optional("run_kind")?.string() ?? "serve"
        let rows = try j.require("steps").array()
        try Limits.checkMemory(Double(rows.count) * 256, what: "\(rows.count) steps", flag: "the step trace \(file)")
        struct Raw { var batch: BatchShape; var interval: Double?; var mode: String; var gpu: Double?, gap: Double?; var dn: Int; var continuesPrefill: Bool; var waiting: Int? }
        var raw: [Raw] = []
        raw.reserveCapacity(rows.count)
        for (k, row) in rows.enumerated() {
            let r = try row.array()
            guard r.count == cols.count else { throw row.fail("step \(k + 1) has \(r.count) fields; the columns name \(cols.count)") }
            func int(_ c: String) throws -> Int { try r[at[c]!].int() }
            func num(_ c: String) -> Double? { try? r[at[c]!].double() }
            var b = BatchShape()
            let dn = try int("dn"), pn = try int("pn"), pt = try int("pt"), tok = try int("tok")
            guard dn >= 0, pn >= 0, pt >= 0, tok == dn + pt else {
                throw row.fail("step \(k + 1): \(tok) tokens are not its \(dn) decodes plus \(pt) prompt tokens")
            }
            if dn > 0 {
                let ctx = try r[at["dctx"]!].double()
                b.tokens += dn; b.sequences += dn; b.decodeSequences += dn; b.decodeContext += ctx; b.logitsRows += dn
            }
            var listed = 0, listedChunks = 0, continues = false
            for c in try r[at["pre"]!].array() {
                let pair = try c.array()
                guard pair.count == 2 else { throw c.fail("step \(k + 1): a prompt chunk is [tokens, prefix]") }
                let chunk = try pair[0].int(), prefix = try pair[1].int()
                guard chunk > 0, prefix >= 0 else { throw c.fail("step \(k + 1): prompt chunk [\(chunk), \(prefix)] is not positive") }
                b.addPrefill(chunk: chunk, prefix: prefix, samples: true)
                listed += chunk
                listedChunks += 1
                if prefix > 0 { continues = true }
            }
            // The trace lists at most 64 chunks (probe/vllm/steplog); the rest of the step's `pn` chunks share the
            // prompt tokens left, as evenly as whole tokens allow, without a cached prefix. (Until the thirty-ninth
            // session they counted as one chunk: 64 more 128-token prompts became one 8,186-token prompt, whose
            // quadratic attention added 64 ms to a 240 ms Qwen3-30B-A3B step.)
            if pt > listed {
                guard pn > listedChunks else {
                    throw row.fail("step \(k + 1): its \(listedChunks) listed prompt chunks hold \(listed) of its \(pt) prompt tokens, and `pn` (\(pn)) names no other chunk")
                }
                let rest = pn - listedChunks, left = pt - listed
                for i in 0..<rest {
                    let chunk = left / rest + (i < left % rest ? 1 : 0)
                    if chunk > 0 { b.addPrefill(chunk: chunk, prefix: 0, samples: true) }
                }
            }
            raw.append(Raw(batch: b, interval: num("interval"), mode: (try? r[at["cg"]!].string()) ?? "?",
                           gpu: at["gpu"].flatMap { num(cols[$0]) }, gap: at["gap"].flatMap { num(cols[$0]) }, dn: dn, continuesPrefill: continues,
                           waiting: at["wait"].flatMap { try? r[$0].int() }))
        }
        var steps: [Step] = []
        for k in 0..<raw.count {
            guard let iv = raw[k].interval, iv > 0, k + 1 < raw.count else { continue }
            let next = raw[k + 1]
            let continued = next.dn > 0 || next.continuesPrefill
            guard runKind == "offline" || continued else { continue }
            var period = iv
            if let g = raw[k].gpu, g > 0 {
                // A step after which nothing waited and that the next step does not continue ran the engine dry: the
                // GPU's idle time after it is the engine waiting for requests, not part of the step (pairhost.py's
                // lone prompts: 3.5-8 ms after a 30-90 ms step).
                if !continued && raw[k].waiting == 0 { period = g } else if let gap = next.gap, gap >= 0 { period = g + gap }
            }
            // The step before ran on a busy engine just ahead of this one when this one continues a request from it
            // or was already waiting during it.
            let busyBefore = k > 0 && (raw[k].dn > 0 || raw[k].continuesPrefill || (raw[k - 1].waiting ?? 0) > 0)
            steps.append(Step(batch: raw[k].batch, measuredUs: period * 1000, recordedMode: raw[k].mode, recordedGPUUs: raw[k].gpu.map { $0 * 1000 },
                              previous: busyBefore ? raw[k - 1].batch : nil))
        }
        guard !steps.isEmpty else { throw InputError.data("\(file): no step of a busy engine to compare (\(raw.count) steps recorded)") }
        return StepTrace(file: file, steps: steps, recorded: raw.count, runKind: runKind)
    }

    /// Marks every step's decodes as reading one shared copy of their first `tokens` tokens (a cached prefix all of
    /// the run's requests share): every decode after the first re-reads them (`BatchShape.decodeSharedContext`).
    public mutating func shareDecodePrefix(tokens: Int) {
        func shared(_ b: inout BatchShape) {
            b.decodeSharedReaders = max(0, b.decodeSequences - 1)
            b.decodeSharedContext = Double(b.decodeSharedReaders * tokens)
        }
        for i in steps.indices {
            shared(&steps[i].batch)
            if steps[i].previous != nil { shared(&steps[i].previous!) }
        }
    }

    /// Per step: predicted and measured time (µs), the model's and vLLM's CUDA-graph mode.
    public struct Comparison: Sendable {
        public var measuredUs: [Double]
        /// Each step as replayed: its GPU and host times (µs) and the CUDA-graph mode moesim chose.
        public var replayed: [VLLMSimulator.ReplayedStep]
        /// Each step's predicted time (µs): the replayed step's.
        public var predictedUs: [Double] { replayed.map(\.stepUs) }
        public var modeAgreement: Double
        /// Median over steps of predicted / measured - 1, of its absolute value, and the medians of the two times.
        public var medianError: Double, medianAbsError: Double, medianMeasuredMs: Double, medianPredictedMs: Double
        /// Mean over steps of log(predicted / measured)^2, each term at most 1 (a step off by e times counts as one):
        /// the calibration loss of this trace.
        public var meanSquaredLogError: Double
        /// Per CUDA-graph mode vLLM recorded (FULL, PIECEWISE, NONE): steps, median measured and predicted (ms),
        /// median signed error.
        public var byMode: [(mode: String, steps: Int, measuredMs: Double, predictedMs: Double, medianError: Double)]
    }

    public func compare(deployment d: Deployment, seed: UInt64) throws -> Comparison {
        let replayed = try VLLMSimulator.replaySteps(steps.map(\.batch), previous: steps.map(\.previous), deployment: d, seed: seed)
        var errs: [Double] = [], absErrs: [Double] = [], sq = 0.0, agree = 0
        for (s, p) in zip(steps, replayed) {
            let e = p.stepUs / s.measuredUs - 1
            errs.append(e); absErrs.append(abs(e))
            let l = log(max(p.stepUs, 1e-3) / s.measuredUs)
            sq += min(l * l, 1)
            if p.mode == s.recordedMode { agree += 1 }
        }
        let pred = replayed.map(\.stepUs), meas = steps.map(\.measuredUs)
        var byMode: [(mode: String, steps: Int, measuredMs: Double, predictedMs: Double, medianError: Double)] = []
        for mode in ["FULL", "PIECEWISE", "NONE"] {
            let idx = steps.indices.filter { steps[$0].recordedMode == mode }
            guard !idx.isEmpty else { continue }
            byMode.append((mode, idx.count, Statistics.percentile(idx.map { meas[$0] }, 50) / 1e3, Statistics.percentile(idx.map { pred[$0] }, 50) / 1e3,
                           Statistics.percentile(idx.map { errs[$0] }, 50)))
        }
        return Comparison(measuredUs: meas, replayed: replayed, modeAgreement: Double(agree) / Double(steps.count),
                          medianError: Statistics.percentile(errs, 50), medianAbsError: Statistics.percentile(absErrs, 50),
                          medianMeasuredMs: Statistics.percentile(meas, 50) / 1e3, medianPredictedMs: Statistics.percentile(pred, 50) / 1e3,
                          meanSquaredLogError: sq / Double(steps.count), byMode: byMode)
    }
}
