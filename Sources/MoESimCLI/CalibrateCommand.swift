import Foundation
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
        """,
        arguments: [("<manifest.json>", "Measured runs (see profiles/README.md), or one vLLM benchmark result file (--save-result) with --run-args=\"<deployment flags>\".")],
        options: [
            OptionSpec("--engine-profile", "<name|file>", "The starting engine profile."),
            OptionSpec("--run-args", "<flags>", "With a vLLM result file in place of the manifest: the moesim run flags it lacks (the deployment), written --run-args=\"--gpu h100-sxm-80gb -tp 2\"."),
            OptionSpec("--out", "<file>", "Where to write the fitted profile (never over the starting profile or the manifest; an existing file is replaced, with a note)."),
            OptionSpec("--name", "<name>", "Name of the fitted profile.", default: "the output file's name"),
            OptionSpec("--fit", "<params>", "Comma-separated parameters to fit.", default: "the profile's fit_parameters"),
            OptionSpec("--max-evaluations", "<n>", "Objective evaluations at most.", default: "150"),
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
                                      maxEvaluations: maxEval) { n, loss in progress.update(Double(n) / Double(maxEval), detail: String(format: "evaluation %d of at most %d, loss %.4f", n, maxEval, loss), etaIsBound: true) }
        progress.finish()
        let enginePath = try store.resolve("engines", engineName, flag: "--engine-profile")
        let command = "moesim calibrate \(file) --engine-profile \(engineName) --out \(out)" + (a.string("--fit").map { " --fit \($0)" } ?? "")
        let json = try Calibration.profileJSON(fit, base: try JSONNode.load(file: enginePath, kind: .profile), name: name, command: command, manifest: file,
                                               fitIDs: manifest.entries.filter(\.fit).map(\.id))
        if let n = outNote { ctx.err(n) }
        try OutputFiles.write(json, to: out, flag: "--out", what: "the profile")
        for (id, why) in fit.skipped { ctx.out("left out of the fit (cannot be simulated with the starting profile): \(id): \(why)\n") }
        ctx.out("Fitted \(params.count) parameter(s) of \(engine.name) in \(fit.evaluations) evaluations (loss \(String(format: "%.5f", fit.loss))):\n")
        ctx.out(TextTable.render(["parameter", "fitted", "start"], zip(fit.parameters, fit.start).map { pv, st in
            [pv.0, String(format: "%.3f", pv.1), String(format: "%.3f", st.1)] }, indent: "  "))
        ctx.out("Wrote \(out).\n\n")
        var fitted = fit.profile
        fitted.name = name
        let rows = Validation.predict(manifest, store: store, engine: fitted, threads: threads)
        ctx.out(ValidateCommand.table(rows))
    }
}

/// `moesim validate`: measured against predicted, metric by metric.
enum ValidateCommand {
    static let spec = CommandSpec(
        name: "validate", abstract: "Compare predictions with measured runs, metric by metric.",
        usage: "moesim validate <manifest.json> [--engine-profile <name|file>] [--json <file>]",
        discussion: "Prints metric, measured, predicted and error per run, then MAPE and the largest error, for the fit runs (in-sample) and the held-out runs separately.",
        arguments: [("<manifest.json>", "Measured runs (see profiles/README.md), or one vLLM benchmark result file (--save-result) with --run-args=\"<deployment flags>\".")],
        options: [
            OptionSpec("--engine-profile", "<name|file>", "Use this engine profile for every run of its engine kind.", default: "each run's own"),
            OptionSpec("--json", "<file>", "Also write the rows and summaries as JSON."),
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
        let jsonNote = try a.string("--json").flatMap { try OutputFiles.check($0, flag: "--json", inputs: OutputFiles.inputs(a, except: nil, extra: manifest.inputFiles), store: store) }
        let rows = Validation.predict(manifest, store: store, engine: engine, threads: threads)
        ctx.out(table(rows))
        if let j = a.string("--json") {
            let fs: [(String, Any)] = [
                ("manifest", file),
                ("rows", rows.map { r -> [(String, Any)] in
                    [("id", r.id), ("fit", r.fit), ("metric", r.metric), ("measured", r.measured),
                     ("predicted", r.predicted ?? NSNull()), ("relative_error", r.relativeError ?? NSNull()), ("error", r.error ?? NSNull())]
                }),
                ("in_sample", summaryFields(Validation.summarize(rows.filter(\.fit)))),
                ("held_out", summaryFields(Validation.summarize(rows.filter { !$0.fit }))),
            ]
            if let n = jsonNote { ctx.err(n) }
            try OutputFiles.write(JSONWriter.write(fs) + "\n", to: j, flag: "--json", what: "the rows")
        }
    }

    static func summaryFields(_ s: Validation.Summary) -> [(String, Any)] {
        [("count", s.count), ("mape", s.mape), ("max_abs_error", s.maxAbs)]
    }

    static func table(_ rows: [Validation.Row]) -> String {
        var s = TextTable.render(["id", "set", "metric", "measured", "predicted", "error"], rows.map { r in
            [r.id, r.fit ? "fit" : "held-out", r.metric, String(format: "%.2f", r.measured), r.predicted.map { String(format: "%.2f", $0) } ?? "-",
             r.relativeError.map { String(format: "%+.1f%%", $0 * 100) } ?? "(\(r.error ?? "no prediction"))"]
        }, align: ["l", "l", "l", "r", "r", "r"])
        for (label, subset) in [("in-sample (fit)", rows.filter(\.fit)), ("held-out", rows.filter { !$0.fit })] {
            let sm = Validation.summarize(subset)
            if sm.count > 0 { s += String(format: "%@: %d metrics, MAPE %.1f%%, max |error| %.1f%%\n", label, sm.count, sm.mape * 100, sm.maxAbs * 100) }
        }
        return s
    }
}
