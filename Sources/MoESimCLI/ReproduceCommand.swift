import Foundation
import Cluster
import Serving
import Studies

/// `moesim reproduce [study]`: re-run a shipped study and set it beside the paper.
enum ReproduceCommand {
    static let spec = CommandSpec(
        name: "reproduce", abstract: "Re-run the shipped study (hegde2025) and compare it with the paper, table by table.",
        usage: "moesim reproduce [<study>] [--out <dir>] [--threads <n>] [--no-physics]",
        discussion: """
        Runs experiments/<study>/spec.json (189 multi-GPU configurations, the single-GPU baselines and the 12
        diffusion configurations), prints Tables IV-VII beside the paper, the named points, the one-way ANOVA,
        and a scorecard of the paper's claims, with in-sample and held-out error reported apart. Exports CSV,
        SVG figures and a Jupyter notebook to notebooks-export/<study>/.
        """,
        arguments: [("<study>", "The study under experiments/ (default: hegde2025).")],
        options: [
            OptionSpec("--out", "<dir>", "Export directory.", default: "notebooks-export/<study>"),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
            OptionSpec("--html", "<file>", "Also write a self-contained HTML report: every table beside the paper, moesim/paper per number.", default: "<out>/report.html"),
            OptionSpec("--no-physics", nil, "Skip the search for what the published outliers would need (faster)."),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 1)
        let study = a.positionals.first ?? "hegde2025"
        let store = try ctx.store()
        let root = URL(fileURLWithPath: store.root).deletingLastPathComponent().path
        let dir = "\(root)/experiments/\(study)"
        guard FileManager.default.fileExists(atPath: dir + "/spec.json") else {
            let have = (try? FileManager.default.contentsOfDirectory(atPath: root + "/experiments")) ?? []
            throw InputError.usage("The value '\(study)' is invalid for '<study>'. Please provide one of \(quotedChoices(have.filter { FileManager.default.fileExists(atPath: "\(root)/experiments/\($0)/spec.json") }.sorted()))")
        }
        let spec = try SweepSpec(file: dir + "/spec.json")
        let published = try JSONNode.load(file: dir + "/published.json")
        var fitIDs = Set<String>()
        for m in ["calibration.json", "calibration-diffusion.json"] where FileManager.default.fileExists(atPath: "\(dir)/\(m)") {
            for e in try Manifest(file: "\(dir)/\(m)").entries where e.fit { fitIDs.insert(e.id) }
        }
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let configs = spec.configurations()
        let progress = ctx.progress("reproducing \(study)", afterSeconds: 0.3)
        let start = Date()
        let results = SweepRunner.run(configs, store: store, threads: threads) { d, n in progress.update(Double(d) / Double(n), detail: "\(d)/\(n) configurations") }
        progress.finish()
        let elapsed = Date().timeIntervalSince(start)
        let r = Reproduction(spec: spec, published: published, results: results, fitIDs: fitIDs)
        let findings = a.has("--no-physics") ? [] : r.physicsFindings(store: store, threads: threads)
        var text = r.report(extraFindings: findings)
        let out = a.string("--out") ?? "\(root)/notebooks-export/\(study)"
        var files = try ReproductionExport.write(r, report: text, to: out)
        let html = a.string("--html") ?? "\(out)/report.html"
        if a.has("--html"), let n = try OutputFiles.check(html, flag: "--html", inputs: OutputFiles.inputs(a, except: "--html"), store: store) { ctx.err(n) }
        try Reports.write(Reports.reproduce(r, text: text), to: html)
        files.append(a.has("--html") ? html : "report.html")
        text += "\nWrote \(files.joined(separator: ", ")) to \(out)\n"
        text += String(format: "Simulation %.2f s, total %.2f s.\n", elapsed, Date().timeIntervalSince(start))
        ctx.out(text)
    }
}
