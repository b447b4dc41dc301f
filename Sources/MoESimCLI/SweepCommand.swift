import Foundation
import Cluster
import Serving
import Studies

/// `moesim sweep SPEC`: every configuration of an experiment spec, in parallel.
enum SweepCommand {
    static let spec = CommandSpec(
        name: "sweep", abstract: "Run an experiment spec over its grid, in parallel; CSV and JSON out.",
        usage: "moesim sweep <spec.json> [--out <dir>] [--threads <n>] [--grid <name>] [--seeds <n>] [--shard <K/N>]",
        discussion: """
        A spec lists grids of 'moesim run' arguments; each grid is the cartesian product of its axes (see
        experiments/hegde2025/spec.json). Writes <out>/results.csv (one row per configuration) and
        <out>/results.jsonl (one JSON object per configuration). Results do not depend on --threads.
        Configurations that cannot run (a plan that does not fit, say) become error rows with the reason; the
        others go on. Each finished configuration is appended to both files at once (in the order they finish; at
        the end both are rewritten in configuration order), so a killed sweep keeps its work and --resume runs
        only the rest; earlier results in <out> are otherwise replaced (said on stderr).
        results.csv follows RFC 4180 quoting.
        --seeds N runs each configuration N times (--seed base, base+1, ...; a 'seed' axis) and adds
        <out>/summary.csv: per configuration, each metric's mean and the half-width of its 95% confidence interval.
        --shard K/N runs only shard K (from 0) of N, the shards balanced by estimated cost, and writes
        <out>/shard.json beside the results; 'moesim merge' joins the shard directories into the same files, byte for
        byte, as one unsharded run. N alone takes K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.
        """,
        arguments: [("<spec.json>", "The experiment spec.")],
        options: [
            OptionSpec("--out", "<dir>", "Output directory.", default: "sweep-<name>"),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
            OptionSpec("--grid", "<name>", "Run only this grid of the spec."),
            OptionSpec("--html", "<file>", "Also write a self-contained HTML report: throughput-latency curves per grid, step-time breakdowns, every row."),
            OptionSpec("--seeds", "<n>", "Replicates per configuration, for means and 95% confidence intervals (summary.csv).", default: "1"),
            OptionSpec("--shard", "<K/N>", "Run shard K (0..N-1) of N; N alone: K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX."),
            OptionSpec("--resume", nil, "Keep the configurations an earlier run of this spec already finished in <out>/results.jsonl; run the rest."),
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
        let seeds = try a.positiveInt("--seeds") ?? 1
        guard let replicated = Limits.product([configs.count, seeds], limit: Limits.maxConfigurations) else {
            throw a.invalid("--seeds", a.string("--seeds")!, "\(configs.count) configurations x \(seeds) seeds is more than the limit of \(Limits.maxConfigurations)")
        }
        _ = replicated
        configs = Sharding.replicate(configs, seeds: seeds)
        let allConfigs = configs
        let shard = try a.string("--shard").map { try Shard.parse($0) }
        if let sh = shard {
            let costs = configs.map { Sharding.estimatedCost($0.args) }
            let assignment = Sharding.assign(costs: costs, shards: sh.count)
            configs = configs.indices.filter { assignment[$0] == sh.index }.map { configs[$0] }
        }
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let out = try OutputFiles.directory(a) ?? (shard.map { "sweep-\(s.name)/shard-\($0.index)-of-\($0.count)" } ?? "sweep-\(s.name)")
        let csvPath = out + "/results.csv", jsonlPath = out + "/results.jsonl"
        // Every file the configurations read (however named) is known before the outputs are claimed.
        RunOptions.preflight(configs.map(\.args), store: store)
        let inputs = OutputFiles.inputs(a, except: nil, extra: [file] + OutputFiles.files(inArgumentLists: configs.map(\.args)))
        let summaryPath = shard != nil ? out + "/" + Sharding.Manifest.file : seeds > 1 ? out + "/summary.csv" : nil
        for p in [csvPath, jsonlPath] + (summaryPath.map { [$0] } ?? []) { try OutputFiles.check(p, flag: "--out", inputs: inputs, store: store) }
        let htmlNote = try a.string("--html").flatMap { try OutputFiles.check($0, flag: "--html", inputs: inputs, store: store) }
        // Finished configurations of an earlier (perhaps killed) run of the same spec, kept with --resume.
        var kept: [Int: String] = [:]
        let existing = FileManager.default.fileExists(atPath: jsonlPath) || FileManager.default.fileExists(atPath: csvPath)
        if a.has("--resume"), let text = try? readInputText(jsonlPath, record: false) {
            kept = SweepRunner.finishedLines(text, configs: configs)
            ctx.err("resuming: \(kept.count) of \(configs.count) configurations already in \(jsonlPath); running the other \(configs.count - kept.count)\n")
        } else if existing {
            ctx.err("note: replacing the earlier results in \(out)/ (use --resume to keep finished configurations)\n")
        }
        let todo = configs.filter { kept[$0.index] == nil }
        // Each finished configuration is appended to results.jsonl at once, so a killed sweep keeps its work;
        // at the end both files are rewritten in configuration order (the same bytes for any --threads).
        // results.csv grows the same way (its header first), so neither file is left from an older run.
        let axes = SweepRunner.axes(allConfigs)   // a shard's header is the whole sweep's, for the merge
        var csvRows: [Int: String] = [:]
        for c in configs { if let l = kept[c.index] { csvRows[c.index] = SweepRunner.csvLine(jsonLine: l, configuration: c, axes: axes) } }
        let sink = try ResultSink(path: jsonlPath, lines: configs.compactMap { kept[$0.index] })
        let csvSink = try ResultSink(path: csvPath, lines: [SweepRunner.csvHeader(axes: axes)] + configs.compactMap { csvRows[$0.index] })
        let progress = ctx.progress("sweep \(s.name)", afterSeconds: 0.5)
        let start = Date()
        let results = SweepRunner.run(todo, store: store, threads: threads,
                                      progress: { done, total in progress.update(Double(done) / Double(total), detail: "\(done)/\(total)") },
                                      completed: { r in sink.append(SweepRunner.jsonLine(r)); csvSink.append(SweepRunner.csvLine(r, axes: axes)) })
        progress.finish()
        sink.close(); csvSink.close()
        var lines: [Int: String] = kept
        for r in results {
            lines[r.configuration.index] = SweepRunner.jsonLine(r)
            csvRows[r.configuration.index] = SweepRunner.csvLine(r, axes: axes)
        }
        try OutputFiles.write(configs.map { lines[$0.index]! }.joined(), to: jsonlPath, flag: "--out", what: "results")
        try OutputFiles.write(SweepRunner.csvHeader(axes: axes) + configs.map { csvRows[$0.index]! }.joined(), to: csvPath, flag: "--out", what: "results")
        if let sh = shard {
            try OutputFiles.write(Sharding.Manifest(spec: file, name: s.name, grid: a.string("--grid"), seeds: seeds, shard: sh,
                                                    configurations: allConfigs.count, indexes: configs.map(\.index)).json,
                                  to: out + "/" + Sharding.Manifest.file, flag: "--out", what: "the shard manifest")
        } else if seeds > 1 {
            try OutputFiles.write(Sharding.summaryCSV(configs, lines: lines, seeds: seeds), to: out + "/summary.csv", flag: "--out", what: "the summary")
        }
        if let f = a.string("--html") {
            if let n = htmlNote { ctx.err(n) }
            try Reports.write(Reports.sweep(name: s.name, title: s.title, lines: configs.map { lines[$0.index]! }), to: f)
        }
        let failed = results.filter { $0.result == nil }
        let keptFailed = configs.filter { kept[$0.index].map { !$0.contains("\"result\":{") } ?? false }.count
        if let sh = shard { ctx.out("shard \(sh.index) of \(sh.count) (from 0): \(configs.count) of \(allConfigs.count) configurations; ") }
        ctx.out(String(format: "%d configurations in %.2f s on %d threads; %d ran, %d could not run%@. Wrote %@ and %@\n",
                       configs.count, Date().timeIntervalSince(start), threads, results.count - failed.count, failed.count + keptFailed,
                       kept.isEmpty ? "" : ", \(kept.count) kept from the earlier run", csvPath, jsonlPath))
        for f in failed.prefix(10) {
            ctx.out("  could not run [\(f.configuration.labels.map { "\($0.axis)=\($0.label)" }.joined(separator: " "))]: \(f.error ?? "")\n")
        }
    }
}

/// Appends lines to a file as results come in (one writer at a time), flushed line by line.
/// (A character device or pipe gets nothing until the end, when the command writes the whole file once.)
final class ResultSink: @unchecked Sendable {
    let handle: FileHandle?
    let path: String
    let lock = NSLock()

    init(path: String, lines: [String]) throws {
        self.path = path
        do { try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true) }
        catch { throw InputError.data("\(path): cannot write results: \(error.localizedDescription)") }
        handle = try OutputFiles.openForAppending(path, flag: "--out", lines: lines.joined())
    }

    func append(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        handle?.write(Data(line.utf8))
    }

    func close() { lock.lock(); try? handle?.close(); lock.unlock() }
}
