import Foundation
import Cluster
import Serving
import Studies

/// `moesim merge SHARD-DIR...`: joins the shards of a `sweep --shard` into one sweep's results.
enum MergeCommand {
    static let spec = CommandSpec(
        name: "merge", abstract: "Join the shards of 'sweep --shard K/N' (or 'plan --shard K/N') into one result.",
        usage: "moesim merge <shard-dir> ... [--out <dir>] [--spec <spec.json>]",
        discussion: """
        Reads each directory's shard.json and results.jsonl, checks that the shards come from the same spec, grid,
        seeds and N, that every shard 0..N-1 is there once and that each finished all its configurations (a
        missing one is named; rerun that shard with --resume), and writes <out>/results.csv and
        <out>/results.jsonl (and summary.csv with --seeds) byte for byte as one unsharded 'moesim sweep' writes them.
        The spec is read again (from the path the shards recorded, or --spec) to check the configurations.
        Plan shards ('plan --shard K/N --out DIR') merge into what 'moesim plan' with the same flags prints; the
        time it reports is the shards' simulation time added up.
        """,
        arguments: [("<shard-dir> ...", "The --out directories of the shards, in any order.")],
        options: [
            OptionSpec("--out", "<dir>", "Output directory.", default: "sweep-<name>"),
            OptionSpec("--spec", "<spec.json>", "The spec, where the path in shard.json does not reach it from here."),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: Limits.shards.upperBound)
        guard !a.positionals.isEmpty else { throw InputError.usage("Missing expected argument '<shard-dir> ...'") }
        let manifests = try a.positionals.map { try Sharding.Manifest(directory: $0) }
        let m0 = manifests[0]
        for (d, m) in zip(a.positionals, manifests) {
            for (what, x, y) in [("spec name", m.name, m0.name), ("grid", m.grid ?? "(all)", m0.grid ?? "(all)"),
                                 ("seeds", String(m.seeds), String(m0.seeds)), ("shard count N", String(m.shard.count), String(m0.shard.count)),
                                 ("configuration count", String(m.configurations), String(m0.configurations))] where x != y {
                throw InputError.data("\(d)/shard.json: \(what) is \(x), but \(a.positionals[0]) has \(y): these shards are not of one sweep")
            }
        }
        if manifests.contains(where: { $0.kind != m0.kind }) { throw InputError.data("these directories mix sweep and plan shards") }
        if m0.kind == "plan", let d = zip(a.positionals, manifests).first(where: { $0.1.args != m0.args })?.0 {
            throw InputError.data("\(d)/shard.json: plan flags differ from \(a.positionals[0])'s: these shards are not of one plan")
        }
        let n = m0.shard.count
        var byShard: [Int: String] = [:]
        for (d, m) in zip(a.positionals, manifests) {
            if let other = byShard[m.shard.index] { throw InputError.data("shard \(m.shard.index) of \(n) given twice: \(other) and \(d)") }
            byShard[m.shard.index] = d
        }
        let missing = (0..<n).filter { byShard[$0] == nil }
        guard missing.isEmpty else {
            throw InputError.data("shard(s) \(missing.map(String.init).joined(separator: ", ")) of \(n) missing (shards are numbered from 0)")
        }
        if m0.kind == "plan" {
            for f in ["--out", "--spec"] where a.has(f) { throw InputError.usage("'\(f)' is for sweep shards; a merged plan prints like 'moesim plan'") }
            // The flags a plan shard records are the search's own: a shard file holding output or sharding flags was
            // not written by 'plan --shard' (which refuses them), and the merge would act on them.
            let stored = try ParsedArguments(m0.args, options: PlanCommand.spec.options)
            for f in PlanShards.unrecorded where stored.has(f) {
                throw InputError.data("\(a.positionals[0])/shard.json: its plan flags hold '\(f)', which 'plan --shard' never records; not merging a shard file that would make the merge \(f == "--svg" || f == "--html" || f == "--out" ? "write files" : "run differently")")
            }
            let results = try PlanShards.load(a.positionals, manifests)
            try PlanCommand.execute(m0.args, ctx, preloaded: (results, manifests.map(\.seconds).reduce(0, +), m0.configurations))
            return
        }
        let specPath = a.string("--spec") ?? m0.spec
        let s = try SweepSpec(file: specPath)
        guard s.name == m0.name else { throw InputError.data("\(specPath): spec '\(s.name)', but the shards ran '\(m0.name)'") }
        var configs = s.configurations()
        if let g = m0.grid { configs = configs.filter { $0.grid == g } }
        configs = Sharding.replicate(configs, seeds: m0.seeds)
        guard configs.count == m0.configurations else {
            throw InputError.data("\(specPath) now has \(configs.count) configurations; the shards ran \(m0.configurations): the spec changed")
        }
        let assignment = Sharding.assign(costs: configs.map { Sharding.estimatedCost($0.args) }, shards: n)
        let out = try OutputFiles.directory(a) ?? "sweep-\(s.name)"
        let csvPath = out + "/results.csv", jsonlPath = out + "/results.jsonl"
        let inputs = OutputFiles.inputs(a, except: "--out", extra: [specPath] + a.positionals.flatMap { [$0 + "/results.jsonl", $0 + "/results.csv", $0 + "/shard.json"] })
        let store = try ctx.store()
        for p in [csvPath, jsonlPath] + (m0.seeds > 1 ? [out + "/summary.csv"] : []) { try OutputFiles.check(p, flag: "--out", inputs: inputs, store: store) }
        var lines: [Int: String] = [:]
        for (d, m) in zip(a.positionals, manifests) {
            let mine = configs.indices.filter { assignment[$0] == m.shard.index }.map { configs[$0] }
            guard mine.map(\.index) == m.indexes else {
                throw InputError.data("\(d)/shard.json: shard \(m.shard.index) of \(n) lists other configurations than this moesim assigns it (another version?)")
            }
            let text = try readInputText(d + "/results.jsonl")
            let found = SweepRunner.finishedLines(text, configs: mine)
            guard found.count == mine.count else {
                throw InputError.data("\(d): shard \(m.shard.index) finished \(found.count) of its \(mine.count) configurations; rerun it with --resume")
            }
            lines.merge(found) { a, _ in a }
        }
        let axes = SweepRunner.axes(configs)
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        catch { throw InputError.data("\(out): cannot write results: \(error.localizedDescription)") }
        try OutputFiles.write(configs.map { lines[$0.index]! }.joined(), to: jsonlPath, flag: "--out", what: "results")
        try OutputFiles.write(SweepRunner.csvHeader(axes: axes) + configs.map { SweepRunner.csvLine(jsonLine: lines[$0.index]!, configuration: $0, axes: axes) }.joined(),
                              to: csvPath, flag: "--out", what: "results")
        if m0.seeds > 1 {
            try OutputFiles.write(Sharding.summaryCSV(configs, lines: lines, seeds: m0.seeds), to: out + "/summary.csv", flag: "--out", what: "the summary")
        }
        let failed = lines.values.filter { !$0.contains("\"result\":{") }.count
        ctx.out("merged \(n) shard(s): \(configs.count) configurations, \(configs.count - failed) ran, \(failed) could not run. Wrote \(csvPath) and \(jsonlPath)\(m0.seeds > 1 ? " and \(out)/summary.csv" : "")\n")
    }
}
