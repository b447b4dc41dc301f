import Foundation
import SimKit
import Cluster
import Serving

/// The HTML reports of `run`, `sweep`, `plan` and `reproduce` (`--html FILE`).
public enum Reports {
    static func f2(_ x: Double) -> String { String(format: "%.2f", x) }

    static let components = ["attention", "dense_gemm", "experts", "communication", "overhead"]
    static let componentNames = ["attention", "dense GEMMs", "experts", "communication", "engine overhead"]

    // MARK: run

    public static func run(_ o: Simulation.Outcome, command: String) -> String {
        let r = o.result, d = o.deployment
        var h = HTMLReport(title: "moesim run: \(d.model.name) on \(d.plan.gpuCount)x \(d.gpu.name)", subtitle: "\(d.summary) | workload: \(o.workload)")
        h.heading("Command")
        h.command(command)
        // The offline LLM class (vllm bench throughput / latency) is not a server: its result says so, as the text summary does.
        h.heading(d.usageContext == .offline ? "Offline benchmark result (predicted; LLM.generate)" : "Serving benchmark result (predicted)")
        h.table(["metric", "value"], [
            ["Successful requests", "\(r.completed)"], ["Benchmark duration (s)", f2(r.durationS)],
            ["Total input tokens", "\(r.totalInputTokens)"], ["Total generated tokens", "\(r.totalOutputTokens)"],
            ["Request throughput (req/s)", f2(r.requestThroughput)], ["Output token throughput (tok/s)", f2(r.outputThroughput)],
            ["Total token throughput (tok/s)", f2(r.totalTokenThroughput)], ["Output throughput per GPU (tok/s)", f2(r.outputThroughput / Double(r.gpus))],
            ["Engine steps", "\(r.steps)"], ["Preemptions", "\(r.preemptions)"], ["GPU busy", String(format: "%.1f%%", r.gpuBusyFraction * 100)],
            ["KV cache peak use", String(format: "%.1f%%", r.peakKVUsage * 100)], ["Seed", "\(r.seed)"],
        ])
        h.heading("Latency (ms)")
        let lat: [(String, Summary)] = [("TTFT", r.ttftMs), ("TPOT", r.tpotMs), ("ITL", r.itlMs), ("E2EL", r.e2elMs)]
        h.table(["metric", "mean", "median", "std", "P90", "P99", "max"], lat.map { n, s in [n, f2(s.mean), f2(s.median), f2(s.std), f2(s.p90), f2(s.p99), f2(s.max)] })
        // Per-request latencies (TTFT, E2EL) and per-token ones (TPOT, ITL) on their own scales.
        for group in [[lat[0], lat[3]], [lat[1], lat[2]]] {
            let ss: [Summary] = group.map { $0.1 }
            let medians: [Double] = ss.map { $0.median }
            let toP90: [Double] = ss.map { $0.p90 - $0.median }
            let toP99: [Double] = ss.map { $0.p99 - $0.p90 }
            let toMax: [Double] = ss.map { $0.max - $0.p99 }
            let comps: [(name: String, values: [Double])] = [("median", medians), ("median to P90", toP90), ("P90 to P99", toP99), ("P99 to max", toMax)]
            h.chart(ReportChart.stackedBars(title: "\(group.map(\.0).joined(separator: " and ")) percentiles (each segment: from the previous percentile)", unit: "ms",
                                            categories: group.map(\.0), components: comps))
        }
        if let pr = r.perRequest, !pr.sendMs.isEmpty {
            h.heading("Requests over the run")
            // At most 400 requests drawn, evenly by index (every one for smaller runs).
            let n = pr.sendMs.count, stride = max(1, (n + 399) / 400)
            let idx = Swift.stride(from: 0, to: n, by: stride).map { $0 }
            let pts = idx.map { i in
                ReportChart.Point(x: pr.sendMs[i] / 1e3, y: pr.ttftMs[i], tip: String(format: "request %d: sent at %.3f s, %d in / %d out\nTTFT %.1f ms, E2EL %.1f ms", i, pr.sendMs[i] / 1e3, pr.inputLens[i], pr.outputLens[i], pr.ttftMs[i], pr.e2elMs[i]))
            }
            let ends = idx.map { i in
                ReportChart.Point(x: (pr.sendMs[i] + pr.e2elMs[i]) / 1e3, y: pr.e2elMs[i], tip: String(format: "request %d: finished at %.3f s, E2EL %.1f ms", i, (pr.sendMs[i] + pr.e2elMs[i]) / 1e3, pr.e2elMs[i]))
            }
            h.chart(ReportChart.xy(title: "TTFT by send time" + (stride > 1 ? " (one request in \(stride))" : ""), xLabel: "send time (s, simulated)", yLabel: "TTFT (ms)",
                                   series: [ReportChart.Series(name: "TTFT", points: pts, connect: false)], height: 340))
            h.chart(ReportChart.xy(title: "End-to-end latency by finish time" + (stride > 1 ? " (one request in \(stride))" : ""), xLabel: "finish time (s, simulated)", yLabel: "E2EL (ms)",
                                   series: [ReportChart.Series(name: "E2EL", points: ends, connect: false)], height: 340))
        }
        let pp = d.plan.pipelineParallel
        h.heading(pp > 1 ? "Where a mean batch's time goes (through all \(pp) pipeline stages)" : "Where a mean engine step's time goes")
        let b = r.breakdownUs
        let vals = [b.attention, b.denseGEMM, b.experts, b.communication, b.overhead].map { $0 / 1e3 }
        h.chart(ReportChart.stackedBars(title: String(format: pp > 1 ? "Mean batch, all stages: %.3f ms" : "Mean engine step: %.3f ms", b.total / 1e3),
                                        unit: pp > 1 ? "ms per batch" : "ms per step",
                                        categories: [pp > 1 ? "mean batch" : "mean step"], components: zip(componentNames, vals).map { ($0, [$1]) }))
        if pp > 1 {
            h.note("With \(pp) stages up to \(pp) batches are in flight: a batch's time through every stage is not the time between batches (see 'moesim explain' for the stages and the interval bound).")
        }
        if !r.timeSources.isEmpty {
            h.table(["component", "kernel times from"], r.timeSources.keys.sorted().map { [$0, r.timeSources[$0]!] })
        }
        for n in r.notes { h.note("note: " + n) }
        return h.render()
    }

    // MARK: sweep

    /// From the sweep's JSON lines (so a resumed sweep's kept rows are drawn too).
    public static func sweep(name: String, title: String, lines: [String]) -> String {
        struct Row { var labels: [(String, String)]; var grid: String; var res: [String: Any]?; var error: String? }
        var rows: [Row] = []
        for l in lines {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(l.utf8))) as? [String: Any] else { continue }
            // Labels keep their order in the line: read them from the text.
            var labels: [(String, String)] = []
            if let lr = l.range(of: "\"labels\":{"), let end = l[lr.upperBound...].firstIndex(of: "}") {
                let body = "{" + l[lr.upperBound..<end] + "}"
                let keys = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
                var rest = Substring(body)
                while let q = rest.range(of: "\"") {
                    let after = rest[q.upperBound...]
                    guard let q2 = after.firstIndex(of: "\"") else { break }
                    let k = String(after[..<q2])
                    if let v = keys[k] as? String, !labels.contains(where: { $0.0 == k }) { labels.append((k, v)) }
                    rest = after[after.index(after: q2)...]
                    if let comma = rest.firstIndex(of: ",") { rest = rest[rest.index(after: comma)...] } else { break }
                }
            }
            rows.append(Row(labels: labels, grid: o["grid"] as? String ?? "", res: o["result"] as? [String: Any], error: o["error"] as? String))
        }
        func num(_ r: [String: Any], _ k: String) -> Double { (r[k] as? NSNumber)?.doubleValue ?? .nan }
        var h = HTMLReport(title: "moesim sweep: \(name)", subtitle: title)
        let ok = rows.filter { $0.res != nil }
        h.paragraph("\(rows.count) configurations, \(ok.count) ran, \(rows.count - ok.count) could not run.")
        var grids: [String] = []
        for r in rows where !grids.contains(r.grid) { grids.append(r.grid) }
        for g in grids {
            let gr = ok.filter { $0.grid == g }
            guard !gr.isEmpty else { continue }
            let axes = gr[0].labels.map(\.0)
            // The load axis (concurrency, request rate, batch) makes the curve; the other axes name it.
            let load = axes.first { a in
                a.lowercased().split(whereSeparator: { !$0.isLetter }).contains { ["concurrency", "rate", "batch", "qps", "prompts", "load", "users"].contains(String($0)) }
            } ?? axes.last
            // The other axes name the curves. Many curves become small multiples: one panel per value of the first
            // axes (as few as leave at most `perPanel` curves in each), every panel on the same scales.
            let others = axes.filter { $0 != load }
            func values(_ r: Row, _ names: ArraySlice<String>) -> [(String, String)] { names.compactMap { a in r.labels.first { $0.0 == a } } }
            let perPanel = 6
            var split = others.count
            for p in 0...others.count {
                var curves: [String: Set<String>] = [:]
                for r in gr {
                    let panel = values(r, others[..<p]).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                    curves[panel, default: []].insert(values(r, others[p...]).map { "\($0.0)=\($0.1)" }.joined(separator: " "))
                }
                if (curves.values.map(\.count).max() ?? 0) <= perPanel { split = p; break }
            }
            var panelOrder: [String] = []
            var order: [String: [String]] = [:]
            var byKey: [String: [Row]] = [:]
            for r in gr {
                let panel = values(r, others[..<split]).map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
                let k = values(r, others[split...]).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                if order[panel] == nil { panelOrder.append(panel); order[panel] = [] }
                if byKey[panel + "\u{1}" + k] == nil { order[panel]!.append(k) }
                byKey[panel + "\u{1}" + k, default: []].append(r)
            }
            h.heading("Grid \(g): throughput against latency" + (load.map { " (points: \($0))" } ?? ""))
            if panelOrder.count > 1 {
                h.note("\(panelOrder.count) panels, one per \(others[..<split].joined(separator: " and ")), on the same scales; each point is labelled with its \(load ?? "configuration") where the label fits (hover any point for its numbers).")
            }
            for (metric, label) in [("p99_tpot_ms", "P99 TPOT (ms)"), ("p99_ttft_ms", "P99 TTFT (ms)")] {
                let panels = panelOrder.map { panel in
                    ReportChart.Panel(title: panel, series: order[panel]!.map { k in
                        let name = k.isEmpty ? (panel.isEmpty ? g : panel) : k
                        return ReportChart.Series(name: name, points: byKey[panel + "\u{1}" + k]!.map { r in
                            let loadLabel = load.flatMap { l in r.labels.first { $0.0 == l }?.1 } ?? ""
                            let full = [panel, k].filter { !$0.isEmpty }.joined(separator: " ")
                            return ReportChart.Point(x: num(r.res!, "output_throughput"), y: num(r.res!, metric), label: loadLabel,
                                                     tip: "\(full) \(load ?? "")=\(loadLabel)\noutput \(ReportChart.fmt(num(r.res!, "output_throughput"))) tok/s, \(label) \(ReportChart.fmt(num(r.res!, metric)))")
                        }, connect: true, labelPoints: true)
                    })
                }
                let chartTitle = "\(g): \(label) against output throughput"
                h.chart(panels.count > 1
                        ? ReportChart.smallMultiples(title: chartTitle, xLabel: "output throughput (tok/s)", yLabel: label, panels: panels)
                        : ReportChart.xy(title: chartTitle, xLabel: "output throughput (tok/s)", yLabel: label, series: panels.first?.series ?? []))
            }
            // The step breakdown: one panel per group as above, one bar per configuration.
            var groups: [(title: String, rows: [Int])] = []
            for (i, r) in gr.enumerated() {
                let panel = values(r, others[..<split]).map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
                if let j = groups.firstIndex(where: { $0.title == panel }) { groups[j].rows.append(i) } else { groups.append((panel, [i])) }
            }
            let prefix = Set(others[..<split])
            h.chart(ReportChart.stackedBars(title: "\(g): mean engine step breakdown", unit: "ms per step",
                                            categories: gr.map { $0.labels.filter { !prefix.contains($0.0) }.map(\.1).joined(separator: " ") },
                                            components: zip(components, componentNames).map { c, nm in
                                                (nm, gr.map { (($0.res!["step_time_breakdown_ms"] as? [String: Any])?[c] as? NSNumber)?.doubleValue ?? 0 })
                                            }, groups: groups.count > 1 ? groups : nil, width: groups.count > 1 ? 1040 : 900))
        }
        h.heading("All configurations")
        // One table per grid, with that grid's axes; a configuration that could not run names its reason by number,
        // each reason written out once below the table.
        for g in grids {
            let gr = rows.filter { $0.grid == g }
            let axes = gr.reduce(into: [String]()) { acc, r in for (a, _) in r.labels where !acc.contains(a) { acc.append(a) } }
            if grids.count > 1 { h.paragraph("Grid \(g): \(gr.count) configurations, \(gr.filter { $0.res != nil }.count) ran.") }
            var reasons: [String] = []
            h.table(axes + ["status", "output tok/s", "tok/s per GPU", "P99 TTFT ms", "P99 TPOT ms", "mean E2EL ms"], gr.map { r in
                let labels = axes.map { a in r.labels.first { $0.0 == a }?.1 ?? "" }
                guard let x = r.res else {
                    let why = r.error ?? "no result"
                    if !reasons.contains(why) { reasons.append(why) }
                    return labels + ["could not run (\(reasons.firstIndex(of: why)! + 1))", "", "", "", "", ""]
                }
                return labels + ["ok", f2(num(x, "output_throughput")), f2(num(x, "output_throughput_per_gpu")), f2(num(x, "p99_ttft_ms")),
                                 f2(num(x, "p99_tpot_ms")), f2(num(x, "mean_e2el_ms"))]
            })
            for (i, why) in reasons.enumerated() {
                let count = gr.filter { $0.res == nil && ($0.error ?? "no result") == why }.count
                h.note("(\(i + 1)) \(count) configuration\(count == 1 ? "" : "s") could not run: \(why)")
            }
        }
        return h.render()
    }

    // MARK: plan

    public static func plan(_ ranked: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], search: PlanSearch, rankingKey: String, text: String) -> String {
        var h = HTMLReport(title: "moesim plan: \(search.model.name)", subtitle: "GPUs \(search.gpus.joined(separator: ", ")), up to \(search.maxGPUs); ranked by \(rankingKey)")
        h.chart(paretoChart(ranked, frontier: frontier, model: search.model.name))
        h.note("Every simulated plan is a point (hover for its numbers); the frontier (no other plan has both more throughput per GPU and a lower P99 TPOT) is joined, each point labelled by name where it fits, else F1, F2, ... as listed below.")
        h.table(["frontier point", "plan", "tok/s/GPU", "P99 TPOT ms", "$/Mtok"], frontier.enumerated().map { i, e in
            ["F\(i + 1)", e.candidate.label, String(format: "%.1f", e.result!.outputThroughput / Double(e.result!.gpus)), String(format: "%.2f", e.result!.tpotMs.p99),
             e.usdPerMTok.map { String(format: "%.3f", $0) } ?? "-"]
        })
        let sim = ranked.filter { $0.result != nil }
        h.heading("Ranked plans")
        h.table(["rank", "plan", "tok/s", "tok/s/GPU", "P99 TTFT ms", "P99 TPOT ms", "$/Mtok", "SLO"], sim.enumerated().map { i, e in
            let x = e.result!
            return ["\(i + 1)", e.candidate.label, String(format: "%.0f", e.meanOutputThroughput), String(format: "%.1f", e.meanOutputThroughput / Double(x.gpus)),
                    String(format: "%.1f", e.meanP99TTFTms), String(format: "%.2f", e.meanP99TPOTms), e.usdPerMTok.map { String(format: "%.3f", $0) } ?? "-",
                    search.sloTTFTp99Ms == nil && search.sloTPOTp99Ms == nil ? "no SLO" : e.meetsSLO ? "met" : "missed"]
        }, highlight: Set(sim.indices.filter { i in frontier.contains { $0.candidate == sim[i].candidate } }))
        h.note("Tinted rows are on the Pareto frontier.")
        if let best = sim.first, let b = best.result {
            h.heading("Step breakdown of the top plans")
            let top = Array(sim.prefix(8))
            h.chart(ReportChart.stackedBars(title: "Mean engine step, top plans", unit: "ms per step", categories: top.map(\.candidate.label),
                                            components: (0..<5).map { k in (componentNames[k], top.map { e -> Double in
                                                let x = e.result!.breakdownUs
                                                return [x.attention, x.denseGEMM, x.experts, x.communication, x.overhead][k] / 1e3 }) }))
            _ = b
        }
        h.heading("The command's text output")
        h.preformatted(text)
        return h.render()
    }

    /// Every simulated plan as a point (throughput per GPU against P99 TPOT), not joined; the frontier joined and labelled.
    public static func paretoChart(_ ranked: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], model: String) -> String {
        func pt(_ e: PlanSearch.Evaluated, label: Bool, index: Int = 0) -> ReportChart.Point {
            let r = e.result!
            let tput = r.outputThroughput / Double(r.gpus)
            return ReportChart.Point(x: r.tpotMs.p99, y: tput, label: label ? e.candidate.label : "", shortLabel: label ? "F\(index)" : "",
                                     tip: "\(e.candidate.label)\n\(ReportChart.fmt(tput)) tok/s per GPU, P99 TPOT \(ReportChart.fmt(r.tpotMs.p99)) ms, P99 TTFT \(ReportChart.fmt(r.ttftMs.p99)) ms" + (e.usdPerMTok.map { String(format: ", $%.3f/Mtok", $0) } ?? "") + (e.meetsSLO ? "" : ", SLO missed"))
        }
        var order: [String] = []
        var groups: [String: [PlanSearch.Evaluated]] = [:]
        for e in ranked where e.result != nil && !frontier.contains(where: { $0.candidate == e.candidate }) {
            let k = "\(e.candidate.gpu) \(e.candidate.ep ? "EP" : "TP/DP")"
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(e)
        }
        var series = [ReportChart.Series(name: "Pareto frontier", points: frontier.enumerated().map { pt($0.element, label: true, index: $0.offset + 1) }, connect: true, labelPoints: true)]
        for k in order { series.append(ReportChart.Series(name: k, points: groups[k]!.map { pt($0, label: false) }, connect: false)) }
        return ReportChart.xy(title: "\(model): throughput per GPU against P99 TPOT (every simulated plan; frontier labelled)",
                              xLabel: "P99 TPOT (ms)", yLabel: "output tok/s per GPU", series: series, height: 520)
    }

    // MARK: reproduce

    public static func reproduce(_ r: Reproduction, text: String) -> String {
        var h = HTMLReport(title: "moesim reproduce: \(r.spec.name)", subtitle: r.spec.title)
        for n in r.spec.notes { h.note(n) }
        for (title, cs) in [("Table IV", r.tableIV()), ("Table V", r.tableV()), ("Table VI", r.tableVI()), ("Table VII", r.tableVII()), ("Named points", r.namedPoints())] {
            guard !cs.isEmpty else { continue }
            h.heading("\(title): the paper beside moesim")
            h.table(["#", "row", "column", "paper", "moesim", "error", "fit"], cs.enumerated().map { i, c in
                ["\(i + 1)", c.row, c.column, Reproduction.f(c.paper), Reproduction.f(c.moesim), Reproduction.pct(c.error), c.inSample ? "in fit" : "held out"]
            })
            let pts = cs.enumerated().filter { $0.element.paper != nil && $0.element.moesim != nil && $0.element.paper! > 0 && $0.element.moesim! > 0 }
            if !pts.isEmpty {
                // moesim / paper per number, on one axis: 1 is exact. Each point is labelled with its row and column
                // where that fits, else with its number in the table above.
                func point(_ i: Int, _ c: Reproduction.Comparison) -> ReportChart.Point {
                    ReportChart.Point(x: Double(i + 1), y: c.moesim! / c.paper!, label: "\(c.row) \(c.column)", shortLabel: "#\(i + 1)",
                                      tip: "#\(i + 1) \(c.row) / \(c.column)\npaper \(Reproduction.f(c.paper)), moesim \(Reproduction.f(c.moesim)) (\(Reproduction.pct(c.error)))" + (c.inSample ? ", in the fit" : ""))
                }
                let series = [ReportChart.Series(name: "held out", points: pts.filter { !$0.element.inSample }.map { point($0.offset, $0.element) }, connect: false, labelPoints: true),
                              ReportChart.Series(name: "in the fit", points: pts.filter { $0.element.inSample }.map { point($0.offset, $0.element) }, connect: false, labelPoints: true)]
                h.chart(ReportChart.xy(title: "\(title): moesim / paper for each number (1 = exact)", xLabel: "number (# in the table above)", yLabel: "moesim / paper",
                                       series: series, height: 340, reference: ReportChart.Reference(y: 1, name: "moesim = paper")))
            }
        }
        h.heading("The full text report")
        h.preformatted(text)
        return h.render()
    }
}

extension Reports {
    /// Writes a report; a failure is a data error naming the file.
    public static func write(_ html: String, to path: String, flag: String = "--html") throws {
        try OutputFiles.write(html, to: path, flag: flag, what: "the HTML report")
    }
}
