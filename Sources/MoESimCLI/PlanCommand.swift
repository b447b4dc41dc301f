import Foundation
import Cluster
import Serving
import Studies

/// `moesim plan`: search plans, GPU types and counts for a model and workload under SLOs and cost.
enum PlanCommand {
    static let spec = CommandSpec(
        name: "plan", abstract: "Search plans (TP, DP, EP, hybrids), GPU types and counts under SLOs and cost.",
        usage: "moesim plan --model <name> --gpu <g1[,g2...]> --max-gpus <n> [workload options] [--slo-ttft-p99-ms <x>] [--slo-tpot-p99-ms <y>] [--gpu-hour-usd <gpu=price> ...]",
        discussion: """
        Enumerates every valid plan up to --max-gpus (powers of two), prunes plans that cannot fit in memory or
        cannot meet an SLO by a lower bound (said with the reason), simulates the rest in parallel with the vLLM
        engine, and ranks them: SLO met first, then output throughput per GPU. Prints the table, the Pareto
        frontier of throughput per GPU against P99 TPOT (also as an SVG with --svg), and why the winner wins.
        """,
        arguments: [],
        options: [
            OptionSpec("--model", "<name|config.json>", "The model."),
            OptionSpec("--gpu", "<names>", "Comma-separated GPU profiles to consider.", default: "a100-sxm4-80gb"),
            OptionSpec("--max-gpus", "<n>", "Largest GPU count.", default: "8"),
            OptionSpec("--slo-ttft-p99-ms", "<x>", "P99 time-to-first-token objective."),
            OptionSpec("--slo-tpot-p99-ms", "<y>", "P99 time-per-output-token objective."),
            OptionSpec("--gpu-hour-usd", "<gpu=price>", "Price of one GPU-hour (repeatable), for $ per million output tokens."),
            OptionSpec("--engine-profile", "<name|file>", "vLLM engine profile.", default: "vllm"),
            OptionSpec("--top", "<n>", "Rows of the ranked table to print.", default: "15"),
            OptionSpec("--svg", "<file>", "Write the Pareto chart as SVG."),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
            OptionSpec("--json", nil, "Print the search as JSON."),
            OptionSpec("--include-disaggregated", nil, "Also search disaggregated prefill/decode (xPyD instances of each single-instance plan)."),
        ] + RunOptions.workload.filter { ["--dataset-name", "--random-input-len", "--random-output-len", "--random-range-ratio", "--num-prompts",
                                          "--max-concurrency", "--request-rate", "--burstiness", "--trace", "--trace-limit", "--trace-time-scale", "--seed"].contains($0.name) })

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options)
        guard let modelArg = a.string("--model") else { throw InputError.usage("Missing expected argument '--model <name|config.json>'") }
        let store = try ctx.store()
        let model = try store.model(modelArg)
        let gpus = (a.string("--gpu") ?? "a100-sxm4-80gb").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        guard !gpus.isEmpty, !gpus.contains(""), Set(gpus).count == gpus.count else {
            throw InputError.usage("The value '\(a.string("--gpu") ?? "")' is invalid for '--gpu <name,...>': expected GPU names separated by commas, each once")
        }
        for g in gpus { _ = try store.gpu(g) }
        let maxGPUs = try a.positiveInt("--max-gpus") ?? 8
        var prices: [String: Double] = [:]
        for p in a.repeated["--gpu-hour-usd"] ?? [] {
            let parts = p.split(separator: "=")
            guard parts.count == 2, let v = Double(parts[1]), v > 0, v <= 1e6, gpus.contains(String(parts[0])) else {
                throw InputError.usage("The value '\(p)' is invalid for '--gpu-hour-usd <gpu=price>': expected one of \(quotedChoices(gpus)) = a price in (0, 1000000], e.g. \(gpus[0])=1.80")
            }
            prices[String(parts[0])] = v
        }
        try RunOptions.refuseUnused(a, RunOptions.hfOnlyFlags + ["--generation"], because: "by 'plan', which searches vLLM deployments")
        // Pass the workload flags through to each simulated run.
        var workloadArgs: [String] = []
        for o in RunOptions.workload where a.has(o.name) {
            if o.value == nil { workloadArgs.append(o.name) } else { workloadArgs += [o.name, a.string(o.name)!] }
        }
        if let e = a.string("--engine-profile") { workloadArgs += ["--engine-profile", e] }
        let ttft = try a.double("--slo-ttft-p99-ms"), tpot = try a.double("--slo-tpot-p99-ms")
        for (n, v) in [("--slo-ttft-p99-ms", ttft), ("--slo-tpot-p99-ms", tpot)] where v != nil && !(v! > 0) {
            throw a.invalid(n, a.string(n)!, "must be positive")
        }
        var search = PlanSearch(model: model, modelArg: modelArg, gpus: gpus, maxGPUs: maxGPUs, workloadArgs: workloadArgs,
                                sloTTFTp99Ms: ttft, sloTPOTp99Ms: tpot, prices: prices)
        search.includeDisaggregated = a.has("--include-disaggregated")
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        let svgNote = try a.string("--svg").flatMap { try OutputFiles.check($0, flag: "--svg", inputs: OutputFiles.inputs(a, except: "--svg"), store: store) }
        let progress = ctx.progress("planning", afterSeconds: 0.5)
        let start = Date()
        let ranked = try search.run(store: store, threads: threads) { d, n in progress.update(Double(d) / Double(n), detail: "\(d)/\(n) plans simulated") }
        progress.finish()
        let elapsed = Date().timeIntervalSince(start)
        let frontier = PlanSearch.pareto(ranked)
        if let f = a.string("--svg") {
            if let n = svgNote { ctx.err(n) }
            do { try paretoSVG(ranked, frontier: frontier, model: model.name).write(toFile: f, atomically: true, encoding: .utf8) }
            catch { throw InputError.data("\(f): cannot write: \(error.localizedDescription)") }
        }
        if a.has("--json") { ctx.out(JSONWriter.write(json(ranked, frontier: frontier, elapsed: elapsed)) + "\n"); return }
        ctx.out(text(ranked, frontier: frontier, elapsed: elapsed, top: try a.positiveInt("--top") ?? 15, search: search))
    }

    static func row(_ e: PlanSearch.Evaluated) -> [(String, Any)] {
        var f: [(String, Any)] = [("plan", e.candidate.label), ("gpu", e.candidate.gpu), ("gpus", e.candidate.gpus), ("flags", e.candidate.args.joined(separator: " "))]
        switch e.verdict {
        case .simulated(let r):
            f += [("status", e.meetsSLO ? "meets SLO" : "misses SLO"), ("output_throughput", r.outputThroughput),
                  ("output_throughput_per_gpu", r.outputThroughput / Double(r.gpus)), ("p99_ttft_ms", r.ttftMs.p99), ("p99_tpot_ms", r.tpotMs.p99),
                  ("usd_per_million_output_tokens", e.usdPerMTok ?? NSNull())]
        case .doesNotFit(let why): f += [("status", "does not fit"), ("reason", why)]
        case .cannotMeetSLO(let why): f += [("status", "cannot meet SLO (pruned)"), ("reason", why)]
        case .failed(let why): f += [("status", "failed"), ("reason", why)]
        }
        return f
    }

    static func json(_ r: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], elapsed: Double) -> [(String, Any)] {
        [("candidates", r.count), ("simulated", r.filter { $0.result != nil }.count), ("seconds", elapsed),
         ("recommended", r.first.map { $0.result != nil ? row($0) as Any : NSNull() } ?? NSNull()),
         ("pareto", frontier.map(\.candidate.label)), ("plans", r.map(row))]
    }

    static func text(_ r: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], elapsed: Double, top: Int, search: PlanSearch) -> String {
        let sim = r.filter { $0.result != nil }
        var s = String(format: "%d candidate plans for %@: %d simulated, %d pruned, in %.1f s\n\n", r.count, search.model.name, sim.count, r.count - sim.count, elapsed)
        s += "rank  plan                                          tok/s  tok/s/GPU  P99 TTFT ms  P99 TPOT ms   $/Mtok  SLO\n"
        for (i, e) in sim.prefix(top).enumerated() {
            let x = e.result!
            s += String(format: "%4d  %-44@ %7.0f  %9.1f  %11.1f  %11.2f  %7@  %@\n", i + 1, e.candidate.label, x.outputThroughput, x.outputThroughput / Double(x.gpus),
                        x.ttftMs.p99, x.tpotMs.p99, e.usdPerMTok.map { String(format: "%.3f", $0) } ?? "-", e.meetsSLO ? "met" : "missed")
        }
        let pruned = r.filter { $0.result == nil }
        if !pruned.isEmpty {
            s += "\nNot simulated (\(pruned.count)):\n"
            var reasons: [String: [String]] = [:]
            var order: [String] = []
            for e in pruned {
                let why: String
                switch e.verdict {
                case .doesNotFit(let w): why = "does not fit: " + w
                case .cannotMeetSLO(let w): why = "cannot meet SLO: " + w
                case .failed(let w): why = "failed: " + w
                case .simulated: continue
                }
                if reasons[why] == nil { order.append(why) }
                reasons[why, default: []].append(e.candidate.label)
            }
            for w in order.prefix(12) { s += "  \(reasons[w]!.count) plan(s) \(w)  [e.g. \(reasons[w]![0])]\n" }
        }
        s += "\nPareto frontier (throughput per GPU vs P99 TPOT): " + frontier.map(\.candidate.label).joined(separator: "; ") + "\n"
        if let best = sim.first, let b = best.result {
            s += "\nRecommended: \(best.candidate.label)  (\(best.candidate.args.joined(separator: " ")))\n"
            if let second = sim.dropFirst().first(where: { $0.candidate.gpu != best.candidate.gpu || $0.candidate.tp != best.candidate.tp || $0.candidate.ep != best.candidate.ep || $0.candidate.dp != best.candidate.dp }), let r2 = second.result {
                s += String(format: "  vs runner-up %@: %.0f vs %.0f tok/s per GPU.\n", second.candidate.label, b.outputThroughput / Double(b.gpus), r2.outputThroughput / Double(r2.gpus))
                let parts: [(String, Double, Double)] = [("attention", b.breakdownUs.attention, r2.breakdownUs.attention), ("dense GEMMs", b.breakdownUs.denseGEMM, r2.breakdownUs.denseGEMM),
                                                         ("experts", b.breakdownUs.experts, r2.breakdownUs.experts), ("communication", b.breakdownUs.communication, r2.breakdownUs.communication),
                                                         ("engine overhead", b.breakdownUs.overhead, r2.breakdownUs.overhead)]
                s += String(format: "  mean step %.2f ms vs %.2f ms; tokens per step %.1f vs %.1f. Where the time goes (ms per step):\n", b.breakdownUs.total / 1e3, r2.breakdownUs.total / 1e3,
                            Double(b.totalOutputTokens + b.totalInputTokens) / Double(b.steps), Double(r2.totalOutputTokens + r2.totalInputTokens) / Double(r2.steps))
                for (n, x, y) in parts.sorted(by: { abs($0.1 - $0.2) > abs($1.1 - $1.2) }) {
                    s += String(format: "    %-16@ %8.3f vs %8.3f  (%+.3f)\n", n, x / 1e3, y / 1e3, (x - y) / 1e3)
                }
            }
        }
        return s
    }

    /// Scatter of every simulated plan (throughput per GPU against P99 TPOT) with the frontier drawn through.
    static func paretoSVG(_ r: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], model: String) -> String {
        let sim = r.filter { $0.result != nil }
        func pt(_ e: PlanSearch.Evaluated) -> (x: Double, y: Double) { (e.result!.tpotMs.p99, e.result!.outputThroughput / Double(e.result!.gpus)) }
        var series: [SVGChart.Series] = []
        var byGPU: [String: [(x: Double, y: Double)]] = [:]
        var order: [String] = []
        for e in sim {
            let k = "\(e.candidate.gpu) (\(e.candidate.ep ? "EP" : "TP/DP"))"
            if byGPU[k] == nil { order.append(k) }
            byGPU[k, default: []].append(pt(e))
        }
        series.append(SVGChart.Series(name: "Pareto frontier", points: frontier.map(pt)))
        for k in order { series.append(SVGChart.Series(name: k, points: byGPU[k]!.sorted { $0.x < $1.x }, dashed: true)) }
        return SVGChart.lines(title: "\(model): throughput per GPU vs P99 TPOT (every simulated plan)", series: series,
                              xLabel: "P99 TPOT (ms)", yLabel: "output tok/s per GPU", logX: false, width: 760, height: 460)
    }
}
