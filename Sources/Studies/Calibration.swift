import Foundation
import SimKit
import Cluster
import Serving

/// Fits an engine profile's free parameters to the manifest entries marked `fit`, by least squares on the
/// log of predicted / measured (relative error), with Nelder-Mead over the logs of the parameters.
public enum Calibration {
    public struct Fit: Sendable {
        public var profile: EngineProfile
        public var parameters: [(String, Double)]
        public var start: [(String, Double)]
        public var loss: Double
        public var evaluations: Int
        /// Fit runs left out because they could not be simulated with the starting profile: (id, reason).
        public var skipped: [(String, String)] = []
        /// Fitted parameters that ended at a bound of their search range or more than `Calibration.suspectMove` times
        /// away from their starting value (either way): one line each, for stderr.
        public var warnings: [String] = []
    }

    /// A fitted parameter this many times larger or smaller than where it started is warned about.
    public static let suspectMove = 10.0

    /// The measured values the fit entries hold for a profile of engine `kind` (entries whose runs all use another
    /// engine constrain none of its parameters): whole-run metrics, and the compared steps of step traces.
    public static func measuredValues(_ entries: [Manifest.Entry], kind: String) -> (metrics: Int, traceSteps: Int, runs: Int) {
        var metrics = 0, steps = 0, runs = 0
        for e in entries where e.runs.contains(where: { Simulation.engineKind($0) == kind }) {
            runs += 1
            if let t = e.stepTrace { steps += t.steps.count } else { metrics += e.measured.count }
        }
        return (metrics, steps, runs)
    }

    /// Refuses a fit with fewer measured values than parameters: Nelder-Mead would move the parameters the data do
    /// not pin down anywhere within their ranges, and the profile written would look fitted.
    /// With `allow`, the same finding comes back as a warning instead (`--allow-underdetermined`: a deliberate fit of a
    /// small published table, said so in the output).
    static func checkDetermined(_ entries: [Manifest.Entry], kind: String, parameters: [String], file: String, skipped: [(String, String)],
                                allow: Bool = false) throws -> String? {
        let (metrics, steps, runs) = measuredValues(entries, kind: kind)
        let n = metrics + steps
        guard n < parameters.count else { return nil }
        if allow {
            return "warning: \(file): \(parameters.count) parameters fitted to \(n) measured value\(n == 1 ? "" : "s") of the fit split (--allow-underdetermined): the fit is underdetermined, so some combination of the parameters is not pinned down by the measurements; read the fitted values as one of many that fit equally"
        }
        let held = "\(metrics) measured metric\(metrics == 1 ? "" : "s")" + (steps > 0 ? " and \(steps) step\(steps == 1 ? "" : "s") of step traces" : "")
        let left = skipped.isEmpty ? "" : " (after leaving out \(skipped.count) fit run\(skipped.count == 1 ? "" : "s") that could not be simulated: \(skipped.map { "\($0.0): \($0.1)" }.joined(separator: "; ")))"
        let hint = n > 0 ? "name at most \(n) of them with --fit (for example --fit \(parameters.prefix(n).prefix(2).joined(separator: ",")))" : "add measured metrics to the fit runs"
        throw InputError.usage("\(file): the fit split holds \(held) in \(runs) run\(runs == 1 ? "" : "s") marked \"fit\"\(left), fewer than the \(parameters.count) parameters to fit (\(parameters.joined(separator: ", "))): the fit would be underdetermined and move parameters the measurements do not pin down; \(hint), or mark more runs \"fit\": true")
    }

    /// The lines warning about fitted parameters at a bound of their search range or far from their start.
    public static func warnings(parameters: [(String, Double)], start: [(String, Double)]) -> [String] {
        let advice = "check the profile against the runs before using it: the measurements may not pin this parameter down (add fit runs that measure it\(parameters.count > 1 ? ", or fit fewer parameters with --fit" : ""))"
        return zip(parameters, start).compactMap { pv, st in
            let (p, v) = pv, s = st.1
            let (r, _) = Limits.engineParameters[p] ?? (Limits.engineTimeUs, false)
            let f = { (x: Double) in String(format: "%.6g", x) }
            if v <= r.lowerBound || v >= r.upperBound {
                return "warning: \(p) ended at the \(v <= r.lowerBound ? "lower" : "upper") bound of its search range (\(f(v)); range \(f(r.lowerBound))...\(f(r.upperBound)), started at \(f(s))); \(advice)"
            }
            let ratio = v / s
            if ratio > suspectMove || ratio < 1 / suspectMove {
                return "warning: \(p) moved \(String(format: "%.3g", ratio >= 1 ? ratio : 1 / ratio))x from its starting value (\(f(s)) -> \(f(v))), more than \(Int(suspectMove))x; \(advice)"
            }
            return nil
        }
    }

    public static func fit(manifest: Manifest, engine: EngineProfile, parameters: [String], store: ProfileStore,
                           threads: Int, maxEvaluations: Int, allowUnderdetermined: Bool = false,
                           progress: ((Int, Double) -> Void)? = nil) throws -> Fit {
        var fitEntries = manifest.entries.filter(\.fit)
        guard !fitEntries.isEmpty else { throw InputError.data("\(manifest.file): no run is marked \"fit\": true") }
        guard !parameters.isEmpty else { throw InputError.usage("no parameters to fit: name them with --fit or in the engine profile's fit_parameters") }
        for p in parameters where EngineProfile.known[p] == nil {
            throw InputError.usage("The value '\(p)' is invalid for '--fit'. Known parameters: \(quotedChoices(EngineProfile.known.keys.sorted()))")
        }
        // Only runs of the profile's engine kind are simulated with the candidates: without one, no parameter moves the fit.
        let kinds = fitEntries.flatMap(\.runs).map(Simulation.engineKind)
        guard kinds.contains(engine.kind.rawValue) else {
            throw InputError.usage("no fit run of \(manifest.file) uses the \(engine.kind.rawValue) engine of '\(engine.name)' (they run \(quotedChoices(Array(Set(kinds)).sorted()))): its parameters would not change any prediction; calibrate against runs of that engine")
        }
        var underdetermined = try checkDetermined(fitEntries, kind: engine.kind.rawValue, parameters: parameters, file: manifest.file,
                                                  skipped: [], allow: allowUnderdetermined)
        let start = parameters.map { max(engine.value($0), 1e-3) }
        var evals = 0
        var skipped: [(String, String)] = []
        var firstError: String? = nil
        // Candidates stay inside each parameter's allowed range (whole numbers rounded), as a profile file must.
        func profile(_ logs: [Double]) -> EngineProfile {
            var e = engine
            for (i, p) in parameters.enumerated() {
                let (r, whole) = Limits.engineParameters[p] ?? (Limits.engineTimeUs, false)
                var v = min(max(exp(logs[i]), r.lowerBound), r.upperBound)
                if whole { v = min(max(v.rounded(), r.lowerBound), r.upperBound) }
                e.params[p] = v.isFinite ? v : r.lowerBound
            }
            return e
        }
        // A fit run that cannot be simulated even with the starting profile is left out of the fit (and said so),
        // rather than making every candidate fail.
        let startRows = Validation.predict(manifest, entries: fitEntries, store: store, engine: profile(start.map(log)), threads: threads)
        let failing = Set(startRows.filter { $0.predicted == nil }.map(\.id))
        if !failing.isEmpty {
            fitEntries = fitEntries.filter { !failing.contains($0.id) }
            skipped = startRows.filter { failing.contains($0.id) }.reduce(into: [(String, String)]()) { acc, r in
                if !acc.contains(where: { $0.0 == r.id }) { acc.append((r.id, r.error ?? "no prediction")) }
            }
            guard !fitEntries.isEmpty else {
                throw InputError.data("calibration could not simulate any fit run with the starting profile: \(skipped.map { "\($0.0): \($0.1)" }.joined(separator: "; "))")
            }
            underdetermined = try checkDetermined(fitEntries, kind: engine.kind.rawValue, parameters: parameters, file: manifest.file,
                                                  skipped: skipped, allow: allowUnderdetermined)
        }
        let objective: ([Double]) -> Double = { logs in
            evals += 1
            let rows = Validation.predict(manifest, entries: fitEntries, store: store, engine: profile(logs), threads: threads)
            var loss = 0.0
            for r in rows {
                guard let p = r.predicted, p > 0 else { firstError = firstError ?? r.error; return .infinity }
                if let l = r.stepLoss { loss += l; continue }
                let d = log(p / r.measured)
                loss += d * d
            }
            let l = loss / Double(rows.count)
            progress?(evals, l)
            return l
        }
        let res = NelderMead.minimize(objective, start: start.map(log), step: Array(repeating: 0.5, count: start.count),
                                      maxEvaluations: maxEvaluations, tolerance: 1e-6)
        guard res.value.isFinite else { throw InputError.data("calibration could not simulate the fit runs: \(firstError ?? "unknown error")") }
        let best = profile(res.x)
        let fitted = parameters.map { ($0, best.params[$0]!) }, started = zip(parameters, start).map { ($0, $1) }
        return Fit(profile: best, parameters: fitted, start: started, loss: res.value, evaluations: evals, skipped: skipped,
                   warnings: (underdetermined.map { [$0] } ?? []) + warnings(parameters: fitted, start: started))
    }

    /// The fitted profile as JSON, with the fit's provenance added to `sources`.
    public static func profileJSON(_ fit: Fit, base: JSONNode, name: String, command: String, manifest: String, fitIDs: [String]) throws -> String {
        guard let obj = base.object else { throw base.fail("expected an engine profile object") }
        var fields: [(String, Any)] = [("version", 1), ("name", name)]
        if let d = obj["display_name"] as? String { fields.append(("display_name", d)) }
        fields.append(("engine", fit.profile.kind.rawValue))
        if obj["experts_impl"] != nil { fields.append(("experts_impl", fit.profile.defaultExpertsImpl)) }
        if let b = fit.profile.defaultAll2AllBackend { fields.append(("default_all2all_backend", b.vllmName)) }
        if !fit.profile.removedAll2AllBackends.isEmpty { fields.append(("removed_all2all_backends", fit.profile.removedAll2AllBackends.map(\.vllmName))) }
        if let d = fit.profile.firstStepDraw {
            fields.append(("first_step_draw", [("requests", d.requests), ("probability", d.probability), ("beyond", d.beyond)] as [(String, Any)]))
        }
        let params = fit.profile.params.keys.sorted().map { k -> (String, Any) in
            let v = fit.profile.params[k]!
            return (k, fit.parameters.contains { $0.0 == k } ? (v * 1000).rounded() / 1000 : v)
        }
        fields.append(("parameters", params))
        // The parameters fitted earlier stay fit parameters (the profile's default set for the next calibrate).
        var fitNames = ((obj["fit_parameters"] as? [Any]) ?? []).compactMap { $0 as? String }
        for (p, _) in fit.parameters where !fitNames.contains(p) { fitNames.append(p) }
        fields.append(("fit_parameters", fitNames))
        var sources: [Any] = []
        if let ss = obj["sources"] as? [Any] {
            for s in ss {
                // An earlier fit stays in the provenance unless every parameter it fitted is refitted now.
                if let d = s as? [String: Any], (d["kind"] as? String) == "fit" {
                    let earlier = ((d["what"] as? String) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    if earlier.allSatisfy({ p in fit.parameters.contains { $0.0 == p } }) { continue }
                }
                if let d = s as? [String: Any] {
                    sources.append(d.keys.sorted().map { ($0, d[$0]! as Any) } as [(String, Any)])
                } else if let str = s as? String { sources.append(str) }
            }
        }
        sources.append([("kind", "fit"), ("what", fit.parameters.map(\.0).joined(separator: ", ")),
                        ("source", "\(command) — least squares on log(predicted/measured) over \(fitIDs.count) entries of \(manifest) marked fit: \(fitIDs.joined(separator: ", ")); loss \(String(format: "%.5f", fit.loss)) after \(fit.evaluations) evaluations")] as [(String, Any)])
        fields.append(("sources", sources))
        return JSONWriter.write(fields) + "\n"
    }
}
