import Foundation
import SimKit
import Cluster
import Serving
import Studies

/// `moesim calibrate`: fit engine parameters to measured runs.
enum CalibrateCommand {
    static let spec = CommandSpec(
        name: "calibrate", abstract: "Fit engine parameters to measured runs (least squares, Nelder-Mead).",
        usage: "moesim calibrate <manifest.json> --engine-profile <name|file> --out <profile.json> [--name <name>] [--fit <p1,p2>]",
        discussion: """
        Fits the named parameters of an engine profile so that the runs of the manifest marked "fit": true are
        predicted as measured (least squares on the log of predicted / measured). Every run of the manifest that
        uses this engine kind is simulated with the candidate profile. Writes the fitted profile with the fit's
        provenance in its sources, then reports the error on the fit runs and on the held-out runs separately.
        Refuses to fit more parameters than the fit runs hold measured metrics (name fewer with --fit, or say
        --allow-underdetermined to fit them anyway with a warning), and warns when a fitted parameter ends at a bound of
        its range or more than 10x from its starting value.
        """,
        arguments: [("<manifest.json>", "Measured runs (see profiles/README.md), or one vLLM benchmark result file (--save-result) with --run-args=\"<deployment flags>\".")],
        options: [
            OptionSpec("--engine-profile", "<name|file>", "The starting engine profile."),
            OptionSpec("--run-args", "<flags>", "With a vLLM result file in place of the manifest: the moesim run flags it lacks (the deployment), written --run-args=\"--gpu h100-sxm-80gb -tp 2\"."),
            OptionSpec("--out", "<file>", "Where to write the fitted profile (never over the starting profile or the manifest; an existing file is replaced, with a note)."),
            OptionSpec("--name", "<name>", "Name of the fitted profile.", default: "the output file's name"),
            OptionSpec("--fit", "<params>", "Comma-separated parameters to fit.", default: "the profile's fit_parameters"),
            OptionSpec("--max-evaluations", "<n>", "Objective evaluations at most.", default: "150"),
            OptionSpec("--allow-underdetermined", nil, "Fit even when the fit split holds fewer measured values than parameters (a small published table), warning that the fit is underdetermined; the flag is recorded in the profile's provenance."),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 1)
        guard let file = a.positionals.first else { throw InputError.usage("Missing expected argument '<manifest.json>'") }
        guard let engineName = a.string("--engine-profile") else { throw InputError.usage("Missing expected argument '--engine-profile <name|file>'") }
        guard let out = a.string("--out") else { throw InputError.usage("Missing expected argument '--out <file>'") }
        let store = try ctx.store()
        let manifest = try Manifest(file: file, runArgs: (a.string("--run-args") ?? "").split(separator: " ").map(String.init), fitStandalone: true)
        // A fitted profile may be written into the profiles directory (that is where engine profiles live), but
        // never over the starting profile or anything else this command reads.
        let engine = try store.engine(engineName)
        // Every file the manifest's runs read (however named) is known before the output is claimed; a fitted profile
        // may be a new file in the profiles' engines folder, never one this command reads.
        RunOptions.preflight(manifest.entries.flatMap(\.runs), store: store)
        let outNote = try OutputFiles.check(out, flag: "--out", inputs: OutputFiles.inputs(a, except: nil, extra: manifest.inputFiles), store: store, profileKind: "engines")
        let params = a.string("--fit").map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? engine.fitParameters
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let maxEval = try a.positiveInt("--max-evaluations") ?? 150
        let name = a.string("--name") ?? URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent
        let progress = ctx.progress("calibrating", afterSeconds: 0.5)
        let fit = try Calibration.fit(manifest: manifest, engine: engine, parameters: params, store: store, threads: threads,
                                      maxEvaluations: maxEval, allowUnderdetermined: a.has("--allow-underdetermined")) { n, loss in progress.update(Double(n) / Double(maxEval), detail: String(format: "evaluation %d of at most %d, loss %.4f", n, maxEval, loss), etaIsBound: true) }
        progress.finish()
        let enginePath = try store.resolve("engines", engineName, flag: "--engine-profile")
        let command = "moesim calibrate \(file) --engine-profile \(engineName) --out \(out)" + (a.string("--fit").map { " --fit \($0)" } ?? "")
            + (a.has("--allow-underdetermined") ? " --allow-underdetermined" : "")
        let json = try Calibration.profileJSON(fit, base: try JSONNode.load(file: enginePath, kind: .profile), name: name, command: command, manifest: file,
                                               fitIDs: manifest.entries.filter(\.fit).map(\.id))
        if let n = outNote { ctx.err(n) }
        try OutputFiles.write(json, to: out, flag: "--out", what: "the profile")
        for w in fit.warnings { ctx.err(w + "\n") }
        for (id, why) in fit.skipped { ctx.out("left out of the fit (cannot be simulated with the starting profile): \(id): \(why)\n") }
        ctx.out("Fitted \(params.count) parameter(s) of \(engine.name) in \(fit.evaluations) evaluations (loss \(String(format: "%.5f", fit.loss))):\n")
        ctx.out(TextTable.render(["parameter", "fitted", "start"], zip(fit.parameters, fit.start).map { pv, st in
            [pv.0, String(format: "%.3f", pv.1), String(format: "%.3f", st.1)] }, indent: "  "))
        ctx.out("Wrote \(out).\n\n")
        var fitted = fit.profile
        fitted.name = name
        let rows = Validation.predict(manifest, store: store, engine: fitted, threads: threads)
        ctx.out(ValidateCommand.table(rows))
        let (failed, entries) = Validation.failedRuns(rows)
        if !failed.isEmpty { ctx.out(ValidateCommand.notPredicted(failed.count, of: entries, file) + " with the fitted profile\n") }
    }
}

/// `moesim validate`: measured against predicted, metric by metric.
enum ValidateCommand {
    static let spec = CommandSpec(
        name: "validate", abstract: "Compare predictions with measured runs, metric by metric.",
        usage: "moesim validate <manifest.json> [--engine-profile <name|file>] [--json <file>] [--steps <file.csv>]",
        discussion: "Prints metric, measured, predicted and error per run, then MAPE and the largest error, for the fit runs (in-sample) and the held-out runs separately. A run that could not be predicted has its error printed once below the rows and makes the command exit 65.",
        arguments: [("<manifest.json>", "Measured runs (see profiles/README.md), or one vLLM benchmark result file (--save-result) with --run-args=\"<deployment flags>\".")],
        options: [
            OptionSpec("--engine-profile", "<name|file>", "Use this engine profile for every run of its engine kind.", default: "each run's own"),
            OptionSpec("--json", "<file>", "Also write the rows and summaries as JSON."),
            OptionSpec("--steps", "<file.csv>", "Also write every compared step of the manifest's step traces, one CSV line each: what it ran (tokens, decodes and their context, prompt chunks), vLLM's and moesim's CUDA-graph mode, measured and predicted time with the prediction's GPU and host parts."),
            OptionSpec("--run-args", "<flags>", "With a vLLM result file in place of the manifest: the moesim run flags it lacks (the deployment), written --run-args=\"--gpu h100-sxm-80gb -tp 2\"."),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 1)
        guard let file = a.positionals.first else { throw InputError.usage("Missing expected argument '<manifest.json>'") }
        let store = try ctx.store()
        let manifest = try Manifest(file: file, runArgs: (a.string("--run-args") ?? "").split(separator: " ").map(String.init))
        let engine = try a.string("--engine-profile").map { try store.engine($0) }
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        RunOptions.preflight(manifest.entries.flatMap(\.runs), store: store)
        let inputs = OutputFiles.inputs(a, except: nil, extra: manifest.inputFiles)
        let jsonNote = try a.string("--json").flatMap { try OutputFiles.check($0, flag: "--json", inputs: inputs, store: store) }
        let stepsNote = try a.string("--steps").flatMap { try OutputFiles.check($0, flag: "--steps", inputs: inputs, store: store) }
        let rows = Validation.predict(manifest, store: store, engine: engine, threads: threads)
        ctx.out(table(rows))
        // The notes on the files come after every file is written: a file that cannot be written is the error, and the
        // first thing on stderr.
        var notes: [String] = []
        if let f = a.string("--steps") {
            let lines = rows.flatMap { r in r.stepTable?.csvLines(id: r.id, fit: r.fit) ?? [] }
            try OutputFiles.write(([Validation.StepTable.header] + lines).joined(separator: "\n") + "\n", to: f, flag: "--steps", what: "the steps")
            if lines.isEmpty { notes.append("note: --steps: \(file) has no step trace that could be replayed; \(f) holds only the header\n") }
            if let n = stepsNote { notes.append(n) }
        }
        if let j = a.string("--json") {
            let fs: [(String, Any)] = [
                ("manifest", file),
                ("rows", rows.map { r -> [(String, Any)] in
                    var f: [(String, Any)] = [("id", r.id), ("fit", r.fit), ("metric", r.metric), ("measured", r.measured),
                     ("predicted", r.predicted ?? NSNull()), ("relative_error", r.relativeError ?? NSNull()), ("error", r.error ?? NSNull()),
                     ("run_failed", r.runFailed)]
                    if r.isStepTrace {
                        f.append(("steps_by_cuda_graph_mode", r.stepModes.map { m in
                            [("mode", m.mode), ("steps", m.steps), ("measured_ms", m.measuredMs), ("predicted_ms", m.predictedMs), ("median_error", m.medianError)] as [(String, Any)]
                        }))
                        f.append(("cuda_graph_mode_agreement", r.modeAgreement ?? NSNull()))
                    }
                    if !r.tags.isEmpty { f.append(("tags", r.tags)) }
                    return f
                }),
                ("runs_not_predicted", Validation.failedRuns(rows).failed.map { [("id", $0.id), ("error", $0.error)] as [(String, Any)] }),
                ("in_sample", summaryFields(Validation.summarize(rows.filter(\.fit)))),
                ("held_out", summaryFields(Validation.summarize(rows.filter { !$0.fit }))),
                ("step_traces", [("in_sample", stepFields(Validation.summarizeSteps(rows.filter(\.fit)))),
                                 ("held_out", stepFields(Validation.summarizeSteps(rows.filter { !$0.fit })))] as [(String, Any)]),
            ]
            try OutputFiles.write(JSONWriter.write(fs) + "\n", to: j, flag: "--json", what: "the rows")
            if let n = jsonNote { notes.append(n) }
        }
        for n in notes { ctx.err(n) }
        // A run that could not be predicted is a failed check (its error is printed above), not a silent gap.
        let (failed, entries) = Validation.failedRuns(rows)
        if !failed.isEmpty {
            throw InputError.data(notPredicted(failed.count, of: entries, file) + " (each one's error is printed below the rows)")
        }
    }

    /// The summary line of runs that failed: "N of M runs of FILE could not be predicted".
    static func notPredicted(_ n: Int, of m: Int, _ file: String) -> String {
        "\(n) of \(m) run\(m == 1 ? "" : "s") of \(file) could not be predicted"
    }

    static func stepFields(_ s: Validation.StepSummary) -> [(String, Any)] {
        [("traces", s.traces), ("steps", s.steps), ("median_abs_error", s.steps > 0 ? s.medianAbs : NSNull() as Any),
         ("p90_abs_error", s.steps > 0 ? s.p90Abs : NSNull() as Any)]
    }

    static func summaryFields(_ s: Validation.Summary) -> [(String, Any)] {
        [("count", s.count), ("mape", s.mape), ("max_abs_error", s.maxAbs)]
    }

    static func table(_ rows: [Validation.Row]) -> String {
        var s = TextTable.render(["id", "set", "metric", "measured", "predicted", "error"], rows.map { r in
            let err: String
            if let abs = r.stepAbsErrors, let med = r.stepMedianError, !abs.isEmpty {
                err = String(format: "%.1f%% (%+.1f%%)", Statistics.percentile(abs, 50) * 100, med * 100)
            } else if r.runFailed {
                err = "(not predicted)" // the run's error is printed once below the rows
            } else {
                err = r.relativeError.map { String(format: "%+.1f%%", $0 * 100) } ?? "(\(r.error ?? "no prediction"))"
            }
            return [r.id, r.fit ? "fit" : "held-out", r.isStepTrace ? "step_time_ms (median)" : r.metric, String(format: "%.2f", r.measured),
                    r.predicted.map { String(format: "%.2f", $0) } ?? "-", err]
        }, align: ["l", "l", "l", "r", "r", "r"])
        // Each run that failed, once (not on each of its metrics' rows).
        for f in Validation.failedRuns(rows).failed { s += "\(f.id): not predicted: \(f.error)\n" }
        for (label, subset) in [("in-sample (fit)", rows.filter(\.fit)), ("held-out", rows.filter { !$0.fit })] {
            let sm = Validation.summarize(subset)
            if sm.count > 0 { s += String(format: "%@: %d metrics, MAPE %.1f%%, max |error| %.1f%%\n", label, sm.count, sm.mape * 100, sm.maxAbs * 100) }
            let st = Validation.summarizeSteps(subset)
            if st.traces > 0 {
                s += String(format: "%@ step traces: %d traces, %d steps, median |error| %.1f%%, 90th percentile %.1f%%\n", label, st.traces, st.steps, st.medianAbs * 100, st.p90Abs * 100)
            }
        }
        // Held-out rows with and without each tag the manifest gives.
        let heldOut = rows.filter { !$0.fit }
        for tag in Set(rows.flatMap(\.tags)).sorted() {
            for (label, subset) in [("held-out, tagged \(tag)", heldOut.filter { $0.tags.contains(tag) }), ("held-out, not tagged \(tag)", heldOut.filter { !$0.tags.contains(tag) })] {
                let sm = Validation.summarize(subset), st = Validation.summarizeSteps(subset)
                if sm.count > 0 { s += String(format: "%@: %d metrics, MAPE %.1f%%, max |error| %.1f%%", label, sm.count, sm.mape * 100, sm.maxAbs * 100) }
                if st.traces > 0 { s += String(format: "%@%d step traces, median |error| %.1f%%", sm.count > 0 ? "; " : "\(label): ", st.traces, st.medianAbs * 100) }
                if sm.count > 0 || st.traces > 0 { s += "\n" }
            }
        }
        // A trace checked alone: where its steps' time goes wrong, by the CUDA-graph mode vLLM ran them in.
        if rows.count == 1, let r = rows.first, r.isStepTrace, !r.stepModes.isEmpty {
            s += TextTable.render(["CUDA graph", "steps", "measured ms (median)", "predicted ms (median)", "median error"], r.stepModes.map { m in
                [m.mode, String(m.steps), String(format: "%.3f", m.measuredMs), String(format: "%.3f", m.predictedMs), String(format: "%+.1f%%", m.medianError * 100)]
            }, align: ["l", "r", "r", "r", "r"])
            if let a = r.modeAgreement { s += String(format: "the model ran %.0f%% of the steps in the CUDA-graph mode vLLM recorded\n", a * 100) }
        }
        if rows.contains(where: \.isStepTrace) {
            s += "(a step trace's error is the median over its steps of |predicted / measured - 1|, with the median signed error in brackets)\n"
        }
        return s
    }
}
