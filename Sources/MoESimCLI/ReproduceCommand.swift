import Foundation
import Cluster
import Serving
import Studies
import SimKit

/// `moesim reproduce [study]`: re-run a shipped study and set it beside the paper.
enum ReproduceCommand {
    static let spec = CommandSpec(
        name: "reproduce", abstract: "Re-run the shipped study (hegde2025) and compare it with the paper, table by table.",
        usage: "moesim reproduce [<study>] [--out <dir>] [--threads <n>] [--no-physics] [--seeds <n>]",
        discussion: """
        Runs experiments/<study>/spec.json (189 multi-GPU configurations, the single-GPU baselines and the 12
        diffusion configurations), prints Tables IV-VII beside the paper, the named points, the one-way ANOVA,
        and a scorecard of the paper's claims, with in-sample and held-out error reported apart. Exports CSV,
        SVG figures and a Jupyter notebook to notebooks-export/<study>/. With --seeds N every configuration also
        runs with seeds 1..N-1 and each of moesim's numbers beside the paper gets its 95% confidence interval over the
        N seeds (the tables and exports stay those of seed 0).
        """,
        arguments: [("<study>", "The study under experiments/ (default: hegde2025).")],
        options: [
            OptionSpec("--out", "<dir>", "Export directory.", default: "notebooks-export/<study>"),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
            OptionSpec("--html", "<file>", "Also write a self-contained HTML report: every table beside the paper, moesim/paper per number.", default: "<out>/report.html"),
            OptionSpec("--no-physics", nil, "Skip the search for what the published outliers would need (faster)."),
            OptionSpec("--seeds", "<n>", "Replicates per configuration: 95% intervals of moesim's numbers.", default: "1"),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 1)
        let study = a.positionals.first ?? "hegde2025"
        let store = try ctx.store()
        let root = URL(fileURLWithPath: store.root).deletingLastPathComponent().path
        let dir = "\(root)/experiments/\(study)"
        guard OutputFiles.isPlainName(study) else { throw InputError.usage("The value '\(study)' is invalid for '<study>': a study's name, such as hegde2025 (it names the folders read and written)") }
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
        // Every file the study reads is known before its exports are claimed.
        RunOptions.preflight(configs.map(\.args), store: store)
        let out = try OutputFiles.directory(a) ?? "\(root)/notebooks-export/\(study)"
        let html = a.string("--html") ?? "\(out)/report.html"
        let inputs = OutputFiles.inputs(a, except: nil, extra: OutputFiles.files(inArgumentLists: configs.map(\.args)))
        for n in ReproductionExport.fileNames(spec: spec.name) { try OutputFiles.check("\(out)/\(n)", flag: "--out", inputs: inputs, store: store) }
        let htmlNote = try OutputFiles.check(html, flag: a.has("--html") ? "--html" : "--out", inputs: inputs, store: store)
        let seeds = try a.positiveInt("--seeds") ?? 1
        let progress = ctx.progress("reproducing \(study)", afterSeconds: 0.3)
        let start = Date()
        let all = SweepRunner.run(Sharding.replicate(configs, seeds: seeds), store: store, threads: threads) { d, n in progress.update(Double(d) / Double(n), detail: "\(d)/\(n) configurations") }
        progress.finish()
        let elapsed = Date().timeIntervalSince(start)
        // Seed r's results under the spec's own configurations (seed 0's make the report and the exports).
        let perSeed: [[SweepResult]] = (0..<seeds).map { r in
            all.filter { $0.configuration.index % seeds == r }.map { x in var y = x; y.configuration = configs[x.configuration.index / seeds]; return y }
        }
        let results = perSeed[0]
        let r = Reproduction(spec: spec, published: published, results: results, fitIDs: fitIDs)
        let findings = a.has("--no-physics") ? [] : r.physicsFindings(store: store, threads: threads)
        var text = r.report(extraFindings: findings)
        var files = try ReproductionExport.write(r, report: text, to: out)
        if a.has("--html"), let n = htmlNote { ctx.err(n) }
        try Reports.write(Reports.reproduce(r, text: text), to: html, flag: a.has("--html") ? "--html" : "--out")
        files.append(a.has("--html") ? html : "report.html")
        // After the export: the shipped report.txt is seed 0's, the same with or without --seeds.
        text += intervals(perSeed.map { Reproduction(spec: spec, published: published, results: $0, fitIDs: fitIDs) }, seeds: seeds)
        text += "\nWrote \(files.joined(separator: ", ")) to \(out)\n"
        text += String(format: "Simulation %.2f s, total %.2f s.\n", elapsed, Date().timeIntervalSince(start))
        ctx.out(text)
    }

    /// Each compared number's 95% interval over the seeds, and whether the paper's value lies inside it.
    static func intervals(_ rs: [Reproduction], seeds: Int) -> String {
        guard seeds >= 2 else {
            return "\nIntervals: one seed; --seeds N (N >= 2) gives each of moesim's numbers its 95% confidence interval.\n"
        }
        func all(_ r: Reproduction) -> [Reproduction.Comparison] { r.tableIV() + r.tableV() + r.tableVI() + r.tableVII() + r.namedPoints() }
        let per = rs.map(all)
        var s = "\n95% confidence intervals over \(seeds) seeds (moesim mean ± half-width, Student's t; 'inside': the paper's value lies in it):\n"
        s += "table  row                        column                 paper       moesim                  inside\n"
        var inside = 0, total = 0
        for (i, c) in per[0].enumerated() {
            let ci = ConfidenceInterval(per.compactMap { $0[i].moesim })
            guard ci.n == seeds else { continue }
            let inIt = c.paper.map { $0 >= ci.low && $0 <= ci.high }
            if let x = inIt { total += 1; if x { inside += 1 } }
            s += c.table.rightPad(5) + "  " + c.row.rightPad(25) + "  " + c.column.rightPad(20) + "  "
                + (c.paper.map { String(format: "%10.2f", $0) } ?? "         -") + "  "
                + String(format: "%10.2f ± %-9.2f", ci.mean, ci.halfWidth ?? 0) + "  " + (inIt.map { $0 ? "yes" : "no" } ?? "-") + "\n"
        }
        s += "The paper's value inside moesim's interval: \(inside) of \(total) (the intervals are seed noise only, not model error).\n"
        return s
    }
}
