import Foundation
import SimKit
import Cluster
import Serving

extension Reproduction {
    static func f(_ x: Double?, _ digits: Int = 1) -> String {
        guard let x = x, x.isFinite else { return "-" }
        return String(format: "%.\(digits)f", x)
    }
    static func pct(_ x: Double?) -> String {
        guard let x = x, x.isFinite else { return "-" }
        return String(format: "%+.0f%%", x * 100)
    }

    /// A side-by-side table: for each row, paper | moesim | error per column; `*` marks in-sample numbers.
    public func sideBySide(_ title: String, _ cs: [Comparison], columns: [String], rows: [String], digits: Int = 1) -> String {
        var headers = [""]
        for c in columns { headers += ["\(c) paper", "moesim", "err"] }
        let body: [[String]] = rows.map { r in
            var cells = [r]
            for c in columns {
                let x = cs.first { $0.row == r && $0.column == c }
                cells += [Self.f(x?.paper, digits), Self.f(x?.moesim, digits) + (x?.inSample == true ? "*" : ""), Self.pct(x?.error)]
            }
            return cells
        }
        return "\(title)\n" + TextTable.render(headers, body, align: ["l"] + columns.flatMap { _ in ["r", "r", "r"] as [Character] }, indent: "  ")
    }

    public func allComparisons() -> [Comparison] { tableIV() + tableV() + tableVI() + tableVII() + namedPoints() }

    /// Mean absolute relative error of a set of comparisons.
    public static func mape(_ cs: [Comparison]) -> (Int, Double, Double) {
        let e = cs.compactMap { $0.error.map(abs) }
        guard !e.isEmpty else { return (0, .nan, .nan) }
        return (e.count, e.reduce(0, +) / Double(e.count), e.max()!)
    }

    /// The report; it holds no timings, so the same inputs give byte-identical text.
    public func report(extraFindings: [String]) -> String {
        var s = "Reproducing \(spec.name): \(spec.title)\n"
        let failed = results.filter { $0.result == nil }
        s += "Simulated \(results.count) configurations; \(results.count - failed.count) ran"
        s += failed.isEmpty ? ".\n" : ", \(failed.count) could not run (e.g. \(failed[0].configuration.labels.map { "\($0.axis)=\($0.label)" }.joined(separator: " ")): \(failed[0].error ?? "")).\n"
        s += "Numbers marked * are ones the engine profile was fitted on (in-sample); all others are predicted (held out).\n\n"
        let names = ["mixtral-8x7b", "olmoe-1b-7b", "qwen1.5-moe-a2.7b"]
        s += sideBySide("Table IV: mean output throughput (tok/s) over workloads and concurrency", tableIV(), columns: ["tp", "ep", "hybrid", "EP/TP %"], rows: names)
        s += "\n" + sideBySide("Table V: mean output throughput per GPU (tok/s/GPU)", tableV(), columns: ["tp", "ep", "hybrid"], rows: names)
        s += "\n" + sideBySide("Table VI: EP throughput as % of TP, by workload", tableVI(), columns: Self.workloads, rows: names)
        s += "\n" + sideBySide("Table VII: single-GPU diffusion throughput (tok/s), LLaDA-8B (dense) vs LLaDA-MoE", tableVII(), columns: ["dense", "moe", "ratio"], rows: Self.diffusionRows, digits: 1)
        s += "\nNamed points:\n"
        s += TextTable.render(["point", "metric", "paper", "moesim", "err"], namedPoints().map { c in
            [c.row, c.column, Self.f(c.paper), Self.f(c.moesim) + (c.inSample ? "*" : ""), Self.pct(c.error)]
        }, align: ["l", "l", "r", "r", "r"], indent: "  ")
        s += "\nOne-way ANOVA of throughput over the 189 multi-GPU configurations:\n"
        s += TextTable.render(["factor", "F (paper)", "F (moesim)", "p (moesim)", "share of variance (paper)", "(moesim)"], anova().map { a in
            [a.factor, Self.f(a.paperF, 2), Self.f(a.anova?.f, 2), a.anova.map { $0.pValue < 0.001 ? "<0.001" : String(format: "%.3f", $0.pValue) } ?? "-",
             Self.f(a.paperShare.map { $0 * 100 }) + "%", Self.f(a.anova.map { $0.etaSquared * 100 }) + "%"]
        }, align: ["l", "r", "r", "r", "r", "r"], indent: "  ")
        s += "\nScorecard of the paper's claims:\n"
        for c in claims() { s += "  [\(c.reproduced ? "reproduced" : "NOT reproduced")] \(c.text)\n      moesim: \(c.evidence)\n" }
        let all = allComparisons()
        let inS = Self.mape(all.filter(\.inSample)), out = Self.mape(all.filter { !$0.inSample && $0.table != "VII" || (!$0.inSample && $0.column == "ratio") })
        let tpHeld = Self.mape(tableIV().filter { $0.column == "tp" && !$0.inSample }), epHeld = Self.mape(tableIV().filter { $0.column == "ep" && !$0.inSample })
        s += "\nAccuracy against the paper:\n"
        s += String(format: "  in-sample (fitted) numbers: %d, mean |error| %.1f%%, max %.1f%%\n", inS.0, inS.1 * 100, inS.2 * 100)
        s += String(format: "  held-out numbers:           %d, mean |error| %.1f%%, max %.1f%%\n", out.0, out.1 * 100, out.2 * 100)
        s += String(format: "  held-out Table IV TP means: %d, mean |error| %.1f%% (goal <= 20%%); EP means: %d, mean |error| %.1f%%\n", tpHeld.0, tpHeld.1 * 100, epHeld.0, epHeld.1 * 100)
        if !extraFindings.isEmpty {
            s += "\nWhere the published numbers leave physics:\n"
            for x in extraFindings { s += "  - " + x + "\n" }
        }
        return s
    }
}
