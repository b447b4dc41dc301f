import Foundation
import Cluster
import Serving
import Studies

/// `moesim sweep SPEC`: every configuration of an experiment spec, in parallel.
enum SweepCommand {
    static let spec = CommandSpec(
        name: "sweep", abstract: "Run an experiment spec over its grid, in parallel; CSV and JSON out.",
        usage: "moesim sweep <spec.json> [--out <dir>] [--threads <n>] [--grid <name>]",
        discussion: """
        A spec lists grids of 'moesim run' arguments; each grid is the cartesian product of its axes (see
        experiments/hegde2025/spec.json). Writes <out>/results.csv (one row per configuration) and
        <out>/results.jsonl (one JSON object per configuration). Results do not depend on --threads.
        Configurations that cannot run (a plan that does not fit, say) are reported with the reason.
        """,
        arguments: [("<spec.json>", "The experiment spec.")],
        options: [
            OptionSpec("--out", "<dir>", "Output directory.", default: "sweep-<name>"),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
            OptionSpec("--grid", "<name>", "Run only this grid of the spec."),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 1)
        guard let file = a.positionals.first else { throw InputError.usage("Missing expected argument '<spec.json>'") }
        let store = try ctx.store()
        let s = try SweepSpec(file: file)
        var configs = s.configurations()
        if let g = a.string("--grid") {
            guard s.grids.contains(where: { $0.name == g }) else {
                throw InputError.usage("The value '\(g)' is invalid for '--grid <name>'. Please provide one of \(quotedChoices(s.grids.map(\.name)))")
            }
            configs = configs.filter { $0.grid == g }
        }
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let out = a.string("--out") ?? "sweep-\(s.name)"
        let progress = ctx.progress("sweep \(s.name)", afterSeconds: 0.5)
        let start = Date()
        let results = SweepRunner.run(configs, store: store, threads: threads) { done, total in progress.update(Double(done) / Double(total), detail: "\(done)/\(total)") }
        progress.finish()
        try write(results, to: out)
        let failed = results.filter { $0.result == nil }
        ctx.out(String(format: "%d configurations in %.2f s on %d threads; %d ran, %d could not run. Wrote %@/results.csv and %@/results.jsonl\n",
                       results.count, Date().timeIntervalSince(start), threads, results.count - failed.count, failed.count, out, out))
        for f in failed.prefix(10) {
            ctx.out("  could not run [\(f.configuration.labels.map { "\($0.axis)=\($0.label)" }.joined(separator: " "))]: \(f.error ?? "")\n")
        }
    }

    static func write(_ results: [SweepResult], to dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try SweepRunner.csv(results).write(toFile: dir + "/results.csv", atomically: true, encoding: .utf8)
            try SweepRunner.jsonLines(results).write(toFile: dir + "/results.jsonl", atomically: true, encoding: .utf8)
        } catch { throw InputError.data("\(dir): cannot write results: \(error.localizedDescription)") }
    }
}
