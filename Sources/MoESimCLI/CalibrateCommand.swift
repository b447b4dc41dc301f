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
        arguments: [("<manifest.json>", "Measured runs (see profiles/README.md).")],
        options: [
            OptionSpec("--engine-profile", "<name|file>", "The starting engine profile."),
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
        let manifest = try Manifest(file: file)
        // A fitted profile may be written into the profiles directory (that is where engine profiles live), but
        // never over the starting profile or anything else this command reads.
        let enginePathIn = try store.resolve("engines", engineName, flag: "--engine-profile")
        let outNote = try OutputFiles.check(out, flag: "--out", inputs: OutputFiles.inputs(a, except: "--out", extra: [enginePathIn] + manifest.inputFiles))
        let engine = try store.engine(engineName)
        let params = a.string("--fit").map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? engine.fitParameters
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let maxEval = try a.positiveInt("--max-evaluations") ?? 150
        let name = a.string("--name") ?? URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent
        let progress = ctx.progress("calibrating", afterSeconds: 0.5)
        let fit = try Calibration.fit(manifest: manifest, engine: engine, parameters: params, store: store, threads: threads,
                                      maxEvaluations: maxEval) { n, loss in progress.update(Double(n) / Double(maxEval), detail: String(format: "loss %.4f", loss)) }
        progress.finish()
        let enginePath = try store.resolve("engines", engineName, flag: "--engine-profile")
        let command = "moesim calibrate \(file) --engine-profile \(engineName) --out \(out)" + (a.string("--fit").map { " --fit \($0)" } ?? "")
        let json = try Calibration.profileJSON(fit, base: try JSONNode.load(file: enginePath), name: name, command: command, manifest: file,
                                               fitIDs: manifest.entries.filter(\.fit).map(\.id))
        if let n = outNote { ctx.err(n) }
        do { try json.write(toFile: out, atomically: true, encoding: .utf8) }
        catch { throw InputError.data("\(out): cannot write the profile: \(error.localizedDescription)") }
        for (id, why) in fit.skipped { ctx.out("left out of the fit (cannot be simulated with the starting profile): \(id): \(why)\n") }
        ctx.out("Fitted \(params.count) parameter(s) of \(engine.name) in \(fit.evaluations) evaluations (loss \(String(format: "%.5f", fit.loss))):\n")
        for ((p, v), (_, s)) in zip(fit.parameters, fit.start) { ctx.out(String(format: "  %-28@ %12.3f  (start %.3f)\n", p, v, s)) }
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
        arguments: [("<manifest.json>", "Measured runs (see profiles/README.md).")],
        options: [
            OptionSpec("--engine-profile", "<name|file>", "Use this engine profile for every run of its engine kind.", default: "each run's own"),
            OptionSpec("--json", "<file>", "Also write the rows and summaries as JSON."),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 1)
        guard let file = a.positionals.first else { throw InputError.usage("Missing expected argument '<manifest.json>'") }
        let store = try ctx.store()
        let manifest = try Manifest(file: file)
        let engine = try a.string("--engine-profile").map { try store.engine($0) }
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let jsonNote = try a.string("--json").flatMap { try OutputFiles.check($0, flag: "--json", inputs: OutputFiles.inputs(a, except: "--json", extra: manifest.inputFiles), store: store) }
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
            do { try (JSONWriter.write(fs) + "\n").write(toFile: j, atomically: true, encoding: .utf8) }
            catch { throw InputError.data("\(j): cannot write: \(error.localizedDescription)") }
        }
    }

    static func summaryFields(_ s: Validation.Summary) -> [(String, Any)] {
        [("count", s.count), ("mape", s.mape), ("max_abs_error", s.maxAbs)]
    }

    static func table(_ rows: [Validation.Row]) -> String {
        var s = "id".padding(toLength: 34, withPad: " ", startingAt: 0) + " set       metric                  measured    predicted    error\n"
        for r in rows {
            let pred = r.predicted.map { String(format: "%12.2f", $0) } ?? "           -"
            let err = r.relativeError.map { String(format: "%+7.1f%%", $0 * 100) } ?? "  (\(r.error ?? "no prediction"))"
            s += r.id.padding(toLength: 34, withPad: " ", startingAt: 0) + " " + (r.fit ? "fit     " : "held-out") + "  "
                + r.metric.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %12.2f", r.measured) + pred + "  " + err + "\n"
        }
        for (label, subset) in [("in-sample (fit)", rows.filter(\.fit)), ("held-out", rows.filter { !$0.fit })] {
            let sm = Validation.summarize(subset)
            if sm.count > 0 { s += String(format: "%@: %d metrics, MAPE %.1f%%, max |error| %.1f%%\n", label, sm.count, sm.mape * 100, sm.maxAbs * 100) }
        }
        return s
    }
}
