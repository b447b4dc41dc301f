import Foundation
import SimKit
import Cluster
import Serving
import Studies

/// `plan --shard K/N` and the plan side of `moesim merge`, and the intervals `plan --seeds N` prints.
enum PlanShards {
    struct Line: Codable { var index: Int; var result: RunResult?; var error: String? }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// Flags a plan shard never records (it refuses the whole-plan outputs, and leaves out its own sharding flags).
    static let unrecorded = ["--shard", "--out", "--threads", "--svg", "--html", "--json", "--top"]

    /// The plan's flags as the shard records them for the merge: without --shard, --out and --threads.
    static func planArgs(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            if ["--shard", "--out", "--threads"].contains(args[i]) { i += 2; continue }
            if let eq = args[i].firstIndex(of: "="), ["--shard", "--out", "--threads"].contains(String(args[i][..<eq])) { i += 1; continue }
            out.append(args[i]); i += 1
        }
        return out
    }

    /// Simulates this shard's share of the search and writes <out>/results.jsonl and <out>/shard.json.
    static func runShard(_ search: inout PlanSearch, shard: Shard, out: String, args: [String], store: ProfileStore, threads: Int, ctx: Context) throws {
        let p = try search.prepare(store: store)
        let assignment = Sharding.assign(costs: p.configurations.map { Sharding.estimatedCost($0.args) }, shards: shard.count)
        let mine = p.configurations.indices.filter { assignment[$0] == shard.index }.map { p.configurations[$0] }
        let path = out + "/results.jsonl"
        let manifestPath = out + "/" + Sharding.Manifest.file
        for f in [path, manifestPath] { try OutputFiles.check(f, flag: "--out", inputs: OutputFiles.inputs(try ParsedArguments(args, options: PlanCommand.spec.options), except: nil), store: store).map(ctx.err) }
        let start = Date()
        RoutingDrawCache.shared.setCapacity(PlanSearch.drawCacheBytes)
        defer { RoutingDrawCache.shared.setCapacity(0) }
        let results = SweepRunner.run(mine, store: store, threads: threads)
        var text = ""
        for r in results {
            let data = try encoder.encode(Line(index: r.configuration.index, result: r.result, error: r.result == nil ? (r.error ?? "unknown") : nil))
            text += String(decoding: data, as: UTF8.self) + "\n"
        }
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        catch { throw InputError.data("\(out): cannot write results: \(error.localizedDescription)") }
        try OutputFiles.write(text, to: path, flag: "--out", what: "results")
        try OutputFiles.write(Sharding.Manifest(kind: "plan", args: planArgs(args), shard: shard, seeds: search.seeds, configurations: p.configurations.count,
                                                indexes: mine.map(\.index), seconds: Date().timeIntervalSince(start)).json,
                              to: manifestPath, flag: "--out", what: "the shard manifest")
        ctx.out(String(format: "plan shard %d of %d (from 0): %d of %d simulations (%d candidate plans after pruning, %d seed(s)) in %.2f s. Wrote %@\n",
                       shard.index, shard.count, mine.count, p.configurations.count, p.slots.count, search.seeds,
                       Date().timeIntervalSince(start), path))
    }

    /// Reads plan shards' results for `merge`: every configuration's result by index, and the shards' seconds.
    static func load(_ dirs: [String], _ manifests: [Sharding.Manifest]) throws -> [Int: Result<RunResult, PlanSearch.PlanRunError>] {
        var out: [Int: Result<RunResult, PlanSearch.PlanRunError>] = [:]
        for (d, m) in zip(dirs, manifests) {
            let path = d + "/results.jsonl"
            let text = try readInputText(path)
            var seen = Set<Int>()
            for line in text.split(separator: "\n") {
                guard line.utf8.count <= SweepRunner.maxLineBytes, let l = try? decoder.decode(Line.self, from: Data(line.utf8)) else { continue }
                seen.insert(l.index)
                out[l.index] = l.result.map { .success($0) } ?? .failure(PlanSearch.PlanRunError(message: l.error ?? "unknown"))
            }
            guard Set(m.indexes).isSubset(of: seen) else {
                throw InputError.data("\(d): plan shard \(m.shard.index) finished \(seen.intersection(m.indexes).count) of its \(m.indexes.count) simulations; run it again")
            }
        }
        return out
    }

    /// The 95% intervals of the top plans and whether the best one ties with the next (text).
    static func intervalsText(_ ranked: [PlanSearch.Evaluated], seeds: Int, top: Int) -> String {
        let sim = ranked.filter { $0.result != nil }
        guard seeds >= 2, !sim.isEmpty else {
            return "\nIntervals: one seed per plan; --seeds N (N >= 2) gives each plan's 95% confidence interval and says whether the top plans tie.\n"
        }
        func f(_ c: ConfidenceInterval, _ d: Int) -> String {
            String(format: "%.\(d)f ± %.\(d)f", c.mean, c.halfWidth ?? 0)
        }
        let w = max(44, sim.prefix(top).map(\.candidate.label.count).max() ?? 0)
        var s = "\n95% confidence intervals over \(seeds) seeds (mean ± half-width, Student's t):\n"
        s += "rank  " + "plan".rightPad(w) + "  tok/s/GPU            P99 TTFT ms            P99 TPOT ms\n"
        for (i, e) in sim.prefix(top).enumerated() {
            s += "\(String(i + 1).leftPad(4))  \(e.candidate.label.rightPad(w))  \(f(e.throughputPerGPU, 1).rightPad(19))  \(f(e.p99TTFTms, 1).rightPad(21))  \(f(e.p99TPOTms, 2))\n"
        }
        let tied = PlanSearch.tiedAtTop(ranked)
        let b = tied[0].throughputPerGPU
        if tied.count > 1 {
            s += String(format: "Tie: the best plan's interval of throughput per GPU [%.1f, %.1f] overlaps %d other plan(s)'s: ", b.low, b.high, tied.count - 1)
            s += tied.dropFirst().prefix(5).map { e in String(format: "%@ [%.1f, %.1f]", e.candidate.label, e.throughputPerGPU.low, e.throughputPerGPU.high) }.joined(separator: "; ")
            s += (tied.count > 6 ? "; ..." : "") + ". No winner at \(seeds) seeds: any of them, or more seeds.\n"
        } else if let next = sim.dropFirst().first {
            // A plan that misses the SLO wins nothing (`plan` recommends none then).
            s += String(format: "%@: %@ [%.1f, %.1f] tok/s/GPU lies above the runner-up %@ [%.1f, %.1f] at %d seeds.\n",
                        tied[0].meetsSLO ? "Winner" : "Top of the table (it misses the SLO)", tied[0].candidate.label, b.low, b.high, next.candidate.label, next.throughputPerGPU.low, next.throughputPerGPU.high, seeds)
        }
        return s
    }

    /// The same as JSON fields: seeds, each simulated plan's intervals, and the plans tied at the top.
    static func intervalsJSON(_ ranked: [PlanSearch.Evaluated], seeds: Int) -> [(String, Any)] {
        func ci(_ c: ConfidenceInterval) -> Any {
            [("mean", c.mean), ("ci95_low", c.halfWidth == nil ? NSNull() : c.low as Any), ("ci95_high", c.halfWidth == nil ? NSNull() : c.high as Any)] as [(String, Any)]
        }
        let sim = ranked.filter { $0.result != nil }
        return [("seeds", seeds),
                ("intervals", sim.map { e in [("plan", e.candidate.label), ("output_throughput_per_gpu", ci(e.throughputPerGPU)),
                                               ("p99_ttft_ms", ci(e.p99TTFTms)), ("p99_tpot_ms", ci(e.p99TPOTms))] as [(String, Any)] }),
                ("tied_at_top", seeds >= 2 ? PlanSearch.tiedAtTop(ranked).map(\.candidate.label) as Any : NSNull())]
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func rightPad(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
